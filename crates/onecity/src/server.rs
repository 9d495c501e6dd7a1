//! Wiring: open the store, migrate, build the services, assemble the router, serve, and
//! shut down gracefully (drain requests, then background work, then close the store).

use crate::config::Config;
use crate::ops::{self, OpsState};
use anyhow::Context;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::HeaderName;
use axum::response::IntoResponse;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use onecity_catalog::Catalog;
use onecity_core::{Error, ErrorCode};
use onecity_flow::Flow;
use onecity_geo::Geo;
use onecity_governance::Gov;
use onecity_iam::{Iam, IamConfig};
use onecity_store::audit::Auditor;
use onecity_store::bus::{EventBus, Handler};
use onecity_store::{Db, DbOptions};
use onecity_twin::Twin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::watch;
use tower::ServiceExt;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;

/// The services a running node holds.
#[derive(Clone)]
pub struct Services {
    /// The store.
    pub db: Db,
    /// Identity and organisation.
    pub iam: Iam,
    /// Geography.
    pub geo: Geo,
    /// Workflow engine.
    pub flow: Flow,
    /// Digital twin (NGSI-LD context broker).
    pub twin: Twin,
    /// Data catalog (数据目录).
    pub catalog: Catalog,
    /// Governance (一网统管): events, dispatch, alerts.
    pub gov: Gov,
    /// Citizen services (一网通办): service items, guides, forms, the assistant.
    pub hall: onecity_services::Hall,
    /// Datastore, sharing and exchange records (onecity-datastore).
    pub datastore: onecity_datastore::Datastore,
    /// NGSI-LD subscriptions and notifications.
    pub notifier: onecity_twin::notify::Notifier,
    /// Event bus.
    pub bus: EventBus,
    /// The platform's one job scheduler (built-in jobs in `crate::jobs`).
    pub jobs: onecity_store::jobs::Jobs,
    /// The metro forecaster (城市大脑 客流预测), when `<demo_data>/metro` holds the data.
    pub metro: Option<Arc<onecity_brain::MetroForecaster>>,
    /// City brain: room finding (找房) over the twin's lodging entities.
    pub rooms: onecity_brain::rooms::Rooms,
}

/// Opens the configured store (PostgreSQL when `database_url` is set, else SQLite).
pub async fn open_db(cfg: &Config) -> anyhow::Result<Db> {
    let opts = DbOptions {
        max_connections: cfg.db_max_connections,
        sqlite_durability: cfg
            .sqlite_synchronous
            .parse()
            .map_err(|e: onecity_core::Error| anyhow::anyhow!("{}", e.detail))?,
        ..Default::default()
    };
    Ok(match &cfg.database_url {
        Some(url) => Db::open_postgres(url, &opts).await?,
        None => Db::open_sqlite(&cfg.data_dir, &opts).await?,
    })
}

/// Runs every component's migrations.
pub async fn migrate(db: &Db) -> anyhow::Result<()> {
    onecity_store::migrate::run(db, "store", onecity_store::migrations()).await?;
    onecity_store::migrate::run(db, "iam", &onecity_iam::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "geo", &onecity_geo::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "flow", &onecity_flow::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "twin", &onecity_twin::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "catalog", &onecity_catalog::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "datastore", &onecity_datastore::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "twin_sub", &onecity_twin::subscription::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "ops", &ops::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "governance", &onecity_governance::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "services", &onecity_services::MIGRATIONS).await?;
    onecity_store::migrate::run(db, "brain", &onecity_brain::MIGRATIONS).await?;
    Ok(())
}

/// The second-factor, password and session settings. Errors: an unknown role in
/// `mfa_required_roles`, a password setting out of range.
pub fn security_policy(cfg: &Config) -> anyhow::Result<onecity_iam::mfa::SecurityPolicy> {
    let roles: Vec<String> = cfg
        .mfa_required_roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_string)
        .collect();
    for r in &roles {
        if onecity_iam::Role::parse(r).is_none() {
            anyhow::bail!("mfa_required_roles: {r:?} is not a role");
        }
    }
    if !(10..=256).contains(&cfg.password_min_length) {
        anyhow::bail!("password_min_length must be between 10 and 256");
    }
    if cfg.password_min_classes > 4 {
        anyhow::bail!("password_min_classes must be between 0 and 4");
    }
    let webauthn_origin = match &cfg.webauthn_origin {
        Some(o) if !o.is_empty() => Some(o.clone()),
        _ if cfg.demo => Some(format!("http://localhost:{}", cfg.listen.port())),
        _ => None,
    };
    Ok(onecity_iam::mfa::SecurityPolicy {
        mfa_required_roles: roles,
        password: onecity_iam::password::PasswordPolicy {
            min_length: cfg.password_min_length,
            min_classes: cfg.password_min_classes,
            history: cfg.password_history,
            max_age_days: cfg.password_max_age_days,
        },
        session_idle_timeout: Duration::from_secs(cfg.session_idle_timeout_secs),
        max_sessions_per_user: cfg.max_sessions_per_user,
        webauthn_origin,
        totp_issuer: cfg.totp_issuer.clone(),
    })
}

/// Builds the services over a migrated store.
pub async fn build_services(cfg: &Config, db: Db) -> anyhow::Result<Services> {
    let auditor = Auditor::load(&db).await?;
    let bus = match &cfg.nats_url {
        Some(url) => EventBus::nats(db.clone(), url, &cfg.nats_stream).await?,
        None => EventBus::local(db.clone()),
    }
    .with_relay_delay(Duration::from_millis(cfg.outbox_relay_delay_ms));
    let iam = Iam::new(
        db.clone(),
        auditor,
        bus.clone(),
        IamConfig {
            token_ttl_secs: cfg.token_ttl_secs,
            throttle_address_max_failures: cfg.login_address_max_failures.max(1),
            max_concurrent_hashes: cfg.login_max_concurrent_hashes,
            trusted_proxies: crate::config::ip_ranges("trusted_proxies", &cfg.trusted_proxies)?,
            security: security_policy(cfg)?,
            sms: cfg
                .sms_gateway_url
                .as_ref()
                .map(|url| onecity_iam::sms::SmsConfig {
                    url: url.clone(),
                    token: cfg.sms_gateway_token.clone(),
                    timeout: Duration::from_secs(cfg.sms_gateway_timeout_secs.max(1)),
                }),
            code_ttl: Duration::from_secs(cfg.code_ttl_secs.max(1)),
            code_max_attempts: cfg.code_max_attempts.max(1),
            code_send_max: cfg.code_send_max_per_hour.max(1),
            master_key: Some(master_key(cfg)?),
            keys: onecity_iam::keystore::KeyStoreConfig {
                publish_grace: Duration::from_secs(cfg.key_publish_grace_secs),
            },
            oidc: onecity_iam::oidc::ProviderConfig {
                issuer: issuer(cfg),
                id_token_ttl_secs: cfg.oidc_id_token_ttl_secs.clamp(60, 86_400),
                access_token_ttl_secs: cfg.oidc_access_token_ttl_secs.clamp(60, 86_400),
            },
            sso: sso_config(cfg)?,
            ..Default::default()
        },
    )
    .await?;
    let geo = Geo::new(iam.clone());
    let flow = Flow::new(iam.clone());
    let twin = Twin::new(iam.clone(), twin_config(cfg)?)
        .await
        .map_err(|e| anyhow::anyhow!("digital twin: {e}"))?;
    let catalog = Catalog::new(iam.clone());
    let gov = Gov::new(geo.clone(), flow.clone());
    let hall = onecity_services::Hall::new(iam.clone(), flow.clone());
    let mask_salt = onecity_store::secrets::get_or_create(&db, "datastore_mask_salt").await?;
    let datastore = onecity_datastore::Datastore::new(
        iam.clone(),
        hex::encode(mask_salt),
        std::sync::Arc::new(catalog.clone()),
    )
    .with_flow(flow.clone());
    wire_identity_verifier(cfg, &iam, &datastore, &catalog)?;
    let notifier = onecity_twin::notify::Notifier::new(twin.clone())
        .await
        .map_err(|e| anyhow::anyhow!("NGSI-LD subscriptions: {e}"))?;
    let metro = load_metro(cfg, &twin);
    let jobs = crate::jobs::register_builtin(
        cfg,
        crate::jobs::JobServices {
            db: &db,
            iam: &iam,
            flow: &flow,
            twin: &twin,
            catalog: &catalog,
            gov: &gov,
            metro: metro.clone(),
        },
    )
    .await?;
    let rooms = onecity_brain::rooms::Rooms::new(db.clone(), twin.clone(), iam.clone());
    Ok(Services {
        jobs,
        metro,
        rooms,
        catalog,
        db,
        iam,
        geo,
        flow,
        twin,
        gov,
        hall,
        datastore,
        notifier,
        bus,
    })
}

/// The metro forecaster over `<demo_data>/metro`, or `None` (logged) when the files are
/// not there or do not load: forecasting and advice are then off on this server.
fn load_metro(cfg: &Config, twin: &Twin) -> Option<Arc<onecity_brain::MetroForecaster>> {
    let dir = cfg.demo_data.join("metro");
    if !dir.join("hangzhou_flow.csv").exists() {
        tracing::info!(dir = %dir.display(), "no metro data: the job brain.metro_forecast is not registered");
        return None;
    }
    match onecity_brain::load_hangzhou(&dir) {
        Ok(data) => Some(Arc::new(onecity_brain::MetroForecaster::new(
            twin.clone(),
            data,
        ))),
        Err(e) => {
            tracing::warn!(dir = %dir.display(), error = %e, "metro data does not load: forecasting is off");
            None
        }
    }
}

/// Wires the real-name check: the HTTP verification service when
/// `identity_verifier_url` is set, else the synthetic register when
/// `identity_verifier_synthetic` names its datastore resource, else (with `--demo`) the
/// demo's synthetic register of the caller's tenant, found by its catalog name
/// (`onecity_catalog::demo::SYNTHETIC_PERSONS`), else none.
fn wire_identity_verifier(
    cfg: &Config,
    iam: &Iam,
    datastore: &onecity_datastore::Datastore,
    catalog: &Catalog,
) -> anyhow::Result<()> {
    use onecity_iam::assurance::{BoxFuture, HttpIdentityVerifier, SyntheticRegisterVerifier};
    if let Some(url) = &cfg.identity_verifier_url {
        let v = HttpIdentityVerifier::new(
            url,
            cfg.identity_verifier_token.clone(),
            Duration::from_secs(10),
        )
        .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
        iam.set_identity_verifier(std::sync::Arc::new(v));
    } else if cfg.identity_verifier_synthetic.is_some() || cfg.demo {
        let ds = datastore.clone();
        let rid = cfg.identity_verifier_synthetic.clone();
        let catalog = catalog.clone();
        fn lookup<'a>(
            ds: &'a onecity_datastore::Datastore,
            rid: &'a str,
            name: &'a str,
            id_number: &'a str,
        ) -> BoxFuture<'a, onecity_core::Result<bool>> {
            Box::pin(async move {
                let mut filters = serde_json::Map::new();
                filters.insert("id_number".into(), id_number.into());
                let params = onecity_datastore::store_query::SearchParams {
                    resource_id: rid.to_string(),
                    filters: Some(filters),
                    limit: Some(5),
                    ..Default::default()
                };
                let r = ds
                    .search(Some(&onecity_iam::Principal::system()), &params)
                    .await?;
                Ok(r.records
                    .iter()
                    .any(|rec| rec.get("name").and_then(|v| v.as_str()) == Some(name)))
            })
        }
        let f: onecity_iam::assurance::RegisterLookup =
            std::sync::Arc::new(move |tenant, name, id_number| {
                let ds = ds.clone();
                let rid = rid.clone();
                let catalog = catalog.clone();
                let tenant = tenant.to_string();
                let name = name.to_string();
                let id_number = id_number.to_string();
                Box::pin(async move {
                    let rid = match rid {
                        Some(r) => r,
                        None => {
                            let system = onecity_iam::Principal::system();
                            let d = catalog
                                .get(Some(&system), onecity_catalog::demo::SYNTHETIC_PERSONS)
                                .await?;
                            if d.tenant != tenant {
                                return Ok(false);
                            }
                            match d.resources.first() {
                                Some(r) => r.id.to_string(),
                                None => return Ok(false),
                            }
                        }
                    };
                    lookup(&ds, &rid, &name, &id_number).await
                })
            });
        iam.set_identity_verifier(std::sync::Arc::new(SyntheticRegisterVerifier::new(f)));
    }
    Ok(())
}

/// The key store's master key: `master_key` (ONECITY_MASTER_KEY), else `master_key_file`,
/// else the development key file `<data_dir>.master-key` (read, or created with a warning).
pub fn master_key(cfg: &Config) -> anyhow::Result<onecity_iam::keystore::MasterKey> {
    use onecity_iam::keystore::MasterKey;
    if let Some(text) = &cfg.master_key {
        return MasterKey::parse(text)
            .map_err(|e| anyhow::anyhow!("ONECITY_MASTER_KEY / master_key: {}", e.detail));
    }
    if let Some(path) = &cfg.master_key_file {
        return MasterKey::from_file(path).map_err(|e| anyhow::anyhow!("{}", e.detail));
    }
    let mut name = cfg.data_dir.clone().into_os_string();
    name.push(".master-key");
    let path = std::path::PathBuf::from(name);
    let (key, created) =
        MasterKey::load_or_create_file(&path).map_err(|e| anyhow::anyhow!("{}", e.detail))?;
    tracing::warn!(
        file = %path.display(),
        created,
        "no master key configured: the signing keys are sealed with a development key file; \
         set ONECITY_MASTER_KEY (32 bytes, hex or base64) or master_key_file in production"
    );
    Ok(key)
}

/// The OpenID Connect issuer: `oidc_issuer`, else `http://<listen>`.
pub fn issuer(cfg: &Config) -> String {
    match &cfg.oidc_issuer {
        Some(i) => i.trim_end_matches('/').to_string(),
        None => format!("http://{}", cfg.listen),
    }
}

/// Staff single sign-on settings (`sso_*` keys); `None` when `sso_issuer` is unset.
pub fn sso_config(cfg: &Config) -> anyhow::Result<Option<onecity_iam::sso::SsoConfig>> {
    let Some(iss) = &cfg.sso_issuer else {
        return Ok(None);
    };
    let need = |v: &Option<String>, key: &str| {
        v.clone()
            .ok_or_else(|| anyhow::anyhow!("sso_issuer is set, so {key} must be set too"))
    };
    Ok(Some(onecity_iam::sso::SsoConfig {
        issuer: iss.trim_end_matches('/').to_string(),
        client_id: need(&cfg.sso_client_id, "sso_client_id")?,
        client_secret: cfg.sso_client_secret.clone(),
        redirect_url: cfg
            .sso_redirect_url
            .clone()
            .unwrap_or_else(|| format!("{}/auth/oidc/callback", issuer(cfg))),
        tenant: need(&cfg.sso_tenant, "sso_tenant")?,
        username_claim: cfg.sso_username_claim.clone(),
        role_claim: cfg.sso_role_claim.clone(),
        role_map: onecity_iam::sso::parse_role_map(&cfg.sso_role_map)
            .map_err(|e| anyhow::anyhow!("{}", e.detail))?,
        label: cfg.sso_label.clone(),
    }))
}

/// The twin's settings from the config (`ngsi_ld_*` keys).
pub fn twin_config(cfg: &Config) -> anyhow::Result<onecity_twin::TwinConfig> {
    let mut files = std::collections::HashMap::new();
    if let Some(map) = &cfg.ngsi_ld_context_map {
        let text = std::fs::read_to_string(map)
            .with_context(|| format!("cannot read ngsi_ld_context_map {}", map.display()))?;
        let m: std::collections::BTreeMap<String, String> = serde_json::from_str(&text)
            .with_context(|| {
                format!(
                    "ngsi_ld_context_map {} must be a JSON object of URL -> file",
                    map.display()
                )
            })?;
        let base = map.parent().unwrap_or(std::path::Path::new("."));
        for (url, file) in m {
            files.insert(url, base.join(file));
        }
    }
    Ok(onecity_twin::TwinConfig {
        max_limit: cfg.ngsi_ld_max_limit.max(1),
        temporal_page: cfg.ngsi_ld_temporal_page.max(1),
        context_files: files,
        fetch_contexts: cfg.ngsi_ld_fetch_contexts,
        context_limits: onecity_twin::context::ContextLimits {
            max_document_bytes: cfg.ngsi_ld_context_max_bytes.max(1),
            cache_bytes: cfg.ngsi_ld_context_cache_bytes,
            timeout: std::time::Duration::from_secs(cfg.ngsi_ld_context_timeout_secs.max(1)),
            allow: onecity_twin::context::AllowList::parse(&cfg.ngsi_ld_context_allow)
                .map_err(|e| anyhow::anyhow!("ngsi_ld_context_allow: {e}"))?,
        },
        ..Default::default()
    })
}

/// The global Prometheus recorder (installed once per process).
pub fn prometheus() -> PrometheusHandle {
    static H: OnceLock<PrometheusHandle> = OnceLock::new();
    H.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
    .clone()
}

struct SecurityAddon;

impl utoipa::Modify for SecurityAddon {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or oc_ app key")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "onecity API", description = "onecity: the open platform of a digital city. Errors are RFC 9457 problem details with a stable `code`.", version = "0.1.0"),
    modifiers(&SecurityAddon),
    tags((name = "auth", description = "login and session"), (name = "org", description = "tenants, jurisdictions 行政区划, departments 部门"),
         (name = "iam", description = "users and app keys"),
         (name = "citizens", description = "citizens 公众 (code registration, real-name 实名认证, assurance levels), companies 法人 and mandates 授权"), (name = "audit", description = "hash-chained audit trail"),
         (name = "geo", description = "boundaries, grids 网格, point lookup"),
         (name = "flow", description = "workflows, cases, SLA, the to-do inbox 一体办公"),
         (name = "catalog", description = "data catalog 数据目录: CKAN Action API, DCAT, the three lists 三清单"), (name = "ops", description = "health, readiness, metrics"),
         (name = "governance", description = "one network for city governance 一网统管: events, dispatch, work orders, plans 预案, CAP alerts"),
         (name = "open311", description = "Open311 GeoReport v2 (standard error lists)"),
         (name = "datastore", description = "datastore 数据存储 (CKAN datastore_* actions), sharing 共享 and exchange records 交换记录"),
         (name = "services", description = "citizen services 一网通办: service items 事项, guides 办事指南, forms 表单, the assistant 智能客服"),
         (name = "jobs", description = "the jobs layer 作业: scheduled and event-triggered jobs, their run history, run now"),
         (name = "brain", description = "city brain 城市大脑: served forecasts of metro station passenger flow 地铁客流预测, evacuation advice 疏散建议, room finding 找房 and bookings"),
         (name = "web", description = "console pages 控制台"))
)]
struct ApiDoc;

/// Assembles the full application router and its OpenAPI document.
pub fn app(svc: &Services, cfg: &Config, ops_state: OpsState) -> Router {
    let (api, mut doc) = OpenApiRouter::with_openapi(<ApiDoc as utoipa::OpenApi>::openapi())
        .merge(onecity_iam::routes::routes().with_state(svc.iam.clone()))
        .merge(onecity_geo::routes::routes().with_state(svc.geo.clone()))
        .merge(onecity_flow::routes::routes().with_state(svc.flow.clone()))
        .merge(
            onecity_catalog::ckan::routes().with_state(onecity_catalog::ckan::CkanApi {
                catalog: svc.catalog.clone(),
                datastore: svc.datastore.clone(),
            }),
        )
        .merge(onecity_catalog::dcat::routes().with_state(svc.catalog.clone()))
        .merge(onecity_catalog::dataset_routes::routes().with_state(svc.catalog.clone()))
        .merge(onecity_governance::routes::routes().with_state(svc.gov.clone()))
        .merge(onecity_services::routes::routes().with_state(svc.hall.clone()))
        .merge(
            onecity_brain::http::routes().with_state(onecity_brain::http::BrainApi {
                twin: svc.twin.clone(),
                iam: svc.iam.clone(),
                metro: svc.metro.clone(),
            }),
        )
        .merge(onecity_datastore::http::routes().with_state(svc.datastore.clone()))
        .merge(onecity_brain::rooms::http::routes().with_state(svc.rooms.clone()))
        .merge(ops::routes().with_state(ops_state.clone()))
        .merge(onecity_iam::oidc_http::api_routes().with_state(svc.iam.clone()))
        .merge(
            crate::jobs_http::routes().with_state(crate::jobs_http::JobsApi {
                iam: svc.iam.clone(),
                jobs: svc.jobs.clone(),
            }),
        )
        .split_for_parts();
    crate::webdoc::add_web_paths(&mut doc);
    crate::webdoc::fix_error_responses(&mut doc);
    let _ = ops_state.openapi.set(doc.to_json().unwrap_or_default());
    let twin_state = onecity_twin::http::TwinState {
        twin: svc.twin.clone(),
        open: cfg.ngsi_ld_open,
    };
    api.nest(
        "/ngsi-ld/v1",
        onecity_twin::http::router(twin_state, svc.notifier.clone(), cfg.ngsi_ld_max_body_bytes),
    )
    .merge(onecity_web::router())
    .merge(onecity_iam::oidc_http::router(svc.iam.clone()))
    .fallback(|req: Request| async move {
        if req.uri().path().starts_with("/ngsi-ld/") {
            onecity_twin::http::not_found(req.uri().clone())
                .await
                .into_response()
        } else {
            onecity_http::fallback(req.uri().clone())
                .await
                .into_response()
        }
    })
    .layer(axum::middleware::map_response(onecity_http::problemize))
    .layer(axum::middleware::from_fn(ops::track_metrics))
    .layer(DefaultBodyLimit::max(cfg.max_body_bytes))
    .layer(TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        Duration::from_secs(cfg.request_timeout_secs),
    ))
    .layer(CatchPanicLayer::custom(|_| {
        onecity_http::problem_response(&Error::internal("handler panicked"))
    }))
}

/// The outer router: health and readiness answer at once; everything else waits for the
/// full application (503 `not_ready` until migrations are done).
fn gate(ops_state: OpsState, full: Arc<OnceLock<Router>>) -> Router {
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", axum::routing::get(ops::healthz))
        .route("/readyz", axum::routing::get(ops::readyz))
        .with_state(ops_state)
        .fallback(move |req: Request| {
            let full = full.clone();
            let req = onecity_twin::http::strip_trailing_slash(req);
            async move {
                match full.get() {
                    Some(r) => r.clone().oneshot(req).await.unwrap_or_else(|e| match e {}),
                    None => onecity_http::problem_response(&Error::new(ErrorCode::NotReady, "the server is starting")),
                }
            }
        })
        .layer(TraceLayer::new_for_http().on_failure(tower_http::trace::DefaultOnFailure::new().level(tracing::Level::WARN)).make_span_with(|req: &Request| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
        }))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
}

/// Starts the background tasks of a node: relay, consumers, the job scheduler (audit
/// anchoring, SLA scan, retention, …: `crate::jobs`), and the per-process loops
/// (metrics upkeep, spatial index refresh) and queue drainers (plans, notifications).
pub fn spawn_background(
    svc: &Services,
    cfg: &Config,
    shutdown: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = vec![tokio::spawn(svc.bus.clone().run_relay(shutdown.clone()))];
    let log: Arc<dyn Handler> = Arc::new(ops::EventLog);
    tasks.push(tokio::spawn(
        svc.bus.clone().run_consumer(log, shutdown.clone()),
    ));
    let gov_consumer: Arc<dyn Handler> = Arc::new(onecity_governance::consumer::GovConsumer);
    tasks.push(tokio::spawn(
        svc.bus.clone().run_consumer(gov_consumer, shutdown.clone()),
    ));
    let gov = svc.gov.clone();
    let mut sd = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = sd.changed() => break,
            }
            match gov.run_pending_plans().await {
                Ok(n) if n > 0 => tracing::info!(alerts = n, "linkage plans opened work orders"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "linkage plan runner failed"),
            }
        }
    }));
    // The Prometheus recorder keeps raw histogram samples until upkeep folds them in; without
    // it, memory grows by ~20 bytes a request whenever /metrics is not scraped (measured).
    let mut sd = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        let prom = prometheus();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = sd.changed() => break,
            }
            prom.run_upkeep();
        }
    }));
    // The one job scheduler (SLA scan, audit anchoring, twin retention, catalog
    // freshness, …: see `crate::jobs`) and the bus consumers of event-triggered jobs.
    tasks.push(tokio::spawn(svc.jobs.clone().run(shutdown.clone())));
    for trigger in svc.jobs.event_handlers() {
        tasks.push(tokio::spawn(
            svc.bus.clone().run_consumer(trigger, shutdown.clone()),
        ));
    }
    let notify_cfg = onecity_flow::notify::NotifyConfig {
        smtp_url: cfg.smtp_url.clone(),
        smtp_from: cfg.smtp_from.clone(),
        webhook_url: cfg.notify_webhook_url.clone(),
        webhook_secret: cfg.notify_webhook_secret.clone(),
    };
    match onecity_flow::notify::Notifier::new(svc.iam.clone(), notify_cfg) {
        Ok(Some(notifier)) => {
            let mut sd = shutdown.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                        _ = sd.changed() => break,
                    }
                    if let Err(e) = notifier.deliver_once().await {
                        tracing::warn!(error = %e, "notification delivery failed");
                    }
                }
            }));
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "notifications by e-mail and webhook are off"),
    }
    tasks.extend(svc.notifier.start(shutdown.clone()));
    if let Some(url) = &cfg.ngsi_ld_ingest_mqtt {
        tasks.push(tokio::spawn(onecity_twin::ingest::run_mqtt(
            svc.twin.clone(),
            url.clone(),
            shutdown.clone(),
        )));
    }
    // The room indexes: lodging changes in the twin and other nodes' bookings.
    let rooms = svc.rooms.clone().run_refresh();
    let mut sd = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        tokio::select! {
            _ = rooms => {}
            _ = sd.changed() => {}
        }
    }));
    let geo = svc.geo.clone();
    let mut sd = shutdown;
    tasks.push(tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                _ = sd.changed() => break,
            }
            if let Err(e) = geo.refresh().await {
                tracing::warn!(error = %e, "spatial index refresh failed");
            }
        }
    }));
    tasks
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Returns memory freed by start-up work (demo import, index build) to the system: glibc
/// keeps it in per-thread arenas otherwise (measured: 77 MB idle after a first demo start).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the OS; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `onecity serve`: listens at once (health answers, readiness 503), migrates, starts the
/// services, then serves until SIGINT/SIGTERM.
pub async fn serve(cfg: Config) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let prom = prometheus();
    let ready = Arc::new(AtomicBool::new(false));
    let full: Arc<OnceLock<Router>> = Arc::new(OnceLock::new());
    let listener = tokio::net::TcpListener::bind(cfg.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cfg.listen))?;
    let local = listener.local_addr()?;
    let db = open_db(&cfg).await?;
    let ops_state = OpsState {
        ready: ready.clone(),
        db: Some(db.clone()),
        prom,
        openapi: Arc::new(OnceLock::new()),
    };
    let outer = gate(ops_state.clone(), full.clone());
    let (sd_tx, sd_rx) = watch::channel(false);
    let server = tokio::spawn({
        let ready = ready.clone();
        let grace = Duration::from_secs(cfg.shutdown_grace_secs);
        async move {
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let serve = axum::serve(
                listener,
                outer.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                tracing::info!("shutdown requested: draining requests");
                ready.store(false, Ordering::Release);
                let _ = stop_tx.send(());
            });
            let mut serve = std::pin::pin!(std::future::IntoFuture::into_future(serve));
            tokio::select! {
                r = &mut serve => r.map_err(anyhow::Error::from),
                _ = async { let _ = stop_rx.await; tokio::time::sleep(grace).await } => {
                    tracing::warn!("in-flight requests did not finish within the grace period");
                    Ok(())
                }
            }
        }
    });

    migrate(&db).await?;
    // The issuer defaults to the address actually bound (`--listen 127.0.0.1:0` in tests).
    let mut cfg = cfg;
    cfg.listen = local;
    let svc = build_services(&cfg, db.clone()).await?;
    if cfg.demo {
        crate::demo::load(&svc, &cfg.demo_data).await?;
    }
    svc.geo.refresh().await?;
    // The first admin is created (and its one-time password printed) only after the rest of
    // the start, the demo included, has succeeded: a failed first start consumes nothing.
    let pw = std::env::var("ONECITY_ADMIN_PASSWORD").ok();
    if let Some(generated) = svc.iam.bootstrap_admin(pw.as_deref()).await? {
        eprintln!("\n  ┌──────────────────────────────────────────────────────────────┐");
        eprintln!("  │ First start: created user 'admin' with the one-time password │");
        eprintln!("  │     {generated:<56} │");
        eprintln!("  │ It is shown only now. Set ONECITY_ADMIN_PASSWORD to choose.  │");
        eprintln!("  └──────────────────────────────────────────────────────────────┘\n");
    }
    release_freed_memory();
    let tasks = spawn_background(&svc, &cfg, sd_rx);
    let _ = full.set(app(&svc, &cfg, ops_state));
    ready.store(true, Ordering::Release);
    tracing::info!(listen = %local, store = ?db.backend(), bus = svc.bus.kind(), ready_ms = started.elapsed().as_millis() as u64, "onecity ready");
    eprintln!("onecity listening on http://{local} (console: http://{local}/console/map)");

    server.await??;
    tracing::info!("requests drained; stopping background work");
    let _ = sd_tx.send(true);
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    for t in tasks {
        let _ = tokio::time::timeout(grace, t).await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}
