//! The CKAN Action API (CKAN 2.10 `/api/3/action/{action}`, also at `/api/action/{action}`
//! where `ckanapi` calls it), in CKAN's own envelope:
//!
//! ```json
//! {"help": "/api/3/action/help_show?name=package_show", "success": true, "result": {...}}
//! {"help": "...", "success": false, "error": {"__type": "Validation Error", "name": ["..."]}}
//! ```
//!
//! Parameters come from the query string (GET) or a JSON object body (POST). Every action
//! has a known parameter list: an unknown parameter (e.g. `offset` to `package_search`) is
//! a `Validation Error` naming it, never ignored. Errors: 409 `Validation Error`, 404
//! `Not Found Error`, 403 `Authorization Error`, 400 `Bad request` (unknown action,
//! malformed JSON), 429 `Rate Limit Error`, 500 `Internal Server Error`.
//!
//! Credentials: `Authorization: Bearer <token or app key>` or, the CKAN way, the bare app
//! key as the value of `Authorization` (or `X-CKAN-API-Key`). Anonymous callers read the
//! datasets opened to the public.
//!
//! Mapping: package = dataset, organization = owner department (name = lower-case
//! department code), group = topic, tag = tag. onecity's own fields (`domain`, `grade`,
//! `sensitivity`, `open_level`, `update_frequency`, `title_en`, `notes_en`, `fields`,
//! `publisher`, `source`, `tenant`) are top-level keys of the package dict; `private` is
//! `open_level == "not_open"`.

use crate::dataset::{Catalog, OwnerDept};
use crate::model::*;
use crate::search::SearchRequest;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use onecity_core::{Error, ErrorCode};
use onecity_iam::Principal;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

mod help;
mod org;
mod resource;

/// The CKAN version whose API this implements (reported by `status_show`).
pub const CKAN_VERSION: &str = "2.10.4";

/// Parameters of an action call.
pub type Params = Map<String, Value>;

/// A CKAN error: HTTP status and the `error` object.
#[derive(Debug, Clone)]
pub struct CkanError {
    /// HTTP status.
    pub status: StatusCode,
    /// The `error` object (`__type` and details).
    pub error: Value,
    /// Seconds after which a retry may succeed (sent as `Retry-After`; 429 and 503).
    pub retry_after: Option<u64>,
}

impl CkanError {
    /// A `Validation Error` with one message for `field`.
    pub fn validation(field: &str, msg: impl Into<String>) -> Self {
        let msg = msg.into();
        CkanError {
            status: StatusCode::CONFLICT,
            error: json!({"__type": "Validation Error", field: [msg], "message": msg}),
            retry_after: None,
        }
    }
}

impl From<Error> for CkanError {
    /// Maps by class (no wildcard: a new class must be decided here). CKAN answers
    /// validation problems with 409 `Validation Error`, as CKAN itself does.
    fn from(e: Error) -> Self {
        use onecity_core::ErrorClass as K;
        let (status, ty) = match e.code.class() {
            K::BadRequest
                if matches!(
                    e.code,
                    ErrorCode::MalformedBody | ErrorCode::MethodNotAllowed
                ) =>
            {
                (StatusCode::BAD_REQUEST, "Bad request")
            }
            K::BadRequest | K::Invalid | K::Conflict => (StatusCode::CONFLICT, "Validation Error"),
            K::NotFound => (StatusCode::NOT_FOUND, "Not Found Error"),
            K::Unauthenticated | K::Forbidden => (StatusCode::FORBIDDEN, "Authorization Error"),
            K::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "Rate Limit Error"),
            K::TooLarge | K::UnsupportedMedia => (StatusCode::BAD_REQUEST, "Bad request"),
            K::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable"),
            K::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "ckan action failed");
        }
        let msg = e.public_detail();
        let mut err = json!({"__type": ty, "message": msg});
        if ty == "Authorization Error" {
            // onecity's stable code beside CKAN's type (e.g. `assurance_too_low`, with the
            // level required), so clients can tell why.
            err["code"] = json!(e.code.code());
            if let Some(level) = e.extra.as_ref().and_then(|x| x.get("required_level")) {
                err["required_level"] = level.clone();
            }
        }
        if ty == "Validation Error" {
            let field = e
                .extra
                .as_ref()
                .and_then(|x| x.get("field"))
                .and_then(Value::as_str)
                .unwrap_or("message")
                .to_string();
            if field != "message" {
                err[field] = json!([msg]);
            }
        }
        CkanError {
            status,
            error: err,
            retry_after: e.retry_after,
        }
    }
}

type ActionResult = Result<Value, CkanError>;
/// The state of the CKAN routes: the catalog for the core actions and the datastore for
/// the `datastore_*` ones (dispatched by a static match, see [`run`]).
#[derive(Clone)]
pub struct CkanApi {
    /// Datasets, resources, organizations, groups, tags.
    pub catalog: Catalog,
    /// The `datastore_*` actions ([`onecity_datastore::ckan`]).
    pub datastore: onecity_datastore::Datastore,
}

impl axum::extract::FromRef<CkanApi> for onecity_iam::Iam {
    fn from_ref(api: &CkanApi) -> onecity_iam::Iam {
        api.catalog.iam().clone()
    }
}

/// The built-in actions and the parameters each accepts.
const ACTIONS: &[(&str, &[&str])] = &[
    ("status_show", &[]),
    (
        "package_list",
        &[
            "limit",
            "offset",
            "include_private",
            "include_drafts",
            "include_deleted",
        ],
    ),
    (
        "package_show",
        &[
            "id",
            "use_default_schema",
            "include_tracking",
            "include_datasets",
            "include_password_hash",
            "include_users",
            "include_plugin_data",
        ],
    ),
    (
        "package_search",
        &[
            "q",
            "fq",
            "rows",
            "start",
            "sort",
            "facet",
            "facet.field",
            "facet.limit",
            "facet.mincount",
            "include_private",
            "include_drafts",
        ],
    ),
    ("package_create", PACKAGE_KEYS),
    ("package_update", PACKAGE_KEYS),
    ("package_patch", PACKAGE_KEYS),
    ("package_delete", &["id"]),
    (
        "organization_list",
        &[
            "all_fields",
            "sort",
            "limit",
            "offset",
            "organizations",
            "include_dataset_count",
            "include_extras",
            "include_users",
            "include_groups",
            "include_tags",
        ],
    ),
    (
        "organization_show",
        &[
            "id",
            "include_datasets",
            "include_users",
            "include_password_hash",
            "include_extras",
            "include_groups",
            "include_tags",
            "include_followers",
        ],
    ),
    (
        "group_list",
        &[
            "all_fields",
            "sort",
            "limit",
            "offset",
            "groups",
            "include_dataset_count",
            "include_extras",
            "include_users",
            "include_groups",
            "include_tags",
        ],
    ),
    ("tag_list", &["query", "vocabulary_id", "all_fields"]),
    ("resource_show", &["id", "include_tracking"]),
    ("resource_create", resource::RESOURCE_KEYS),
    ("resource_update", resource::RESOURCE_KEYS),
    ("resource_patch", resource::RESOURCE_KEYS),
    ("resource_delete", &["id"]),
    // `update__<path>` keys are accepted too (see `unknown_param`).
    ("package_revise", &["match", "filter", "update", "include"]),
    (
        "current_package_list_with_resources",
        &["limit", "offset", "page"],
    ),
    ("organization_create", ORG_KEYS),
    ("organization_update", ORG_KEYS),
    ("group_create", ORG_KEYS),
    (
        "group_show",
        &[
            "id",
            "include_datasets",
            "include_dataset_count",
            "include_extras",
            "include_users",
            "include_groups",
            "include_tags",
            "include_followers",
        ],
    ),
    (
        "member_create",
        &["id", "object", "object_type", "capacity"],
    ),
    (
        "user_show",
        &[
            "id",
            "include_datasets",
            "include_num_followers",
            "include_password_hash",
            "include_plugin_extras",
        ],
    ),
    ("tag_show", &["id", "vocabulary_id", "include_datasets"]),
    ("help_show", &["name"]),
];

/// Keys an organization or group dict may carry on create/update: what `organization_show`
/// returns (so a shown dict can be sent back) and onecity's `title_en`, `tenant`,
/// `jurisdiction_id`. `description`, `image_url`, `extras`, `users` and `state` are
/// accepted and not kept for organizations (a department has none of them).
const ORG_KEYS: &[&str] = &[
    "id",
    "name",
    "title",
    "title_en",
    "display_name",
    "description",
    "type",
    "is_organization",
    "state",
    "approval_status",
    "image_url",
    "package_count",
    "created",
    "extras",
    "users",
    "tenant",
    "jurisdiction_id",
];

fn needs_key<'a>(p: Option<&'a Principal>, action: &str) -> Result<&'a Principal, CkanError> {
    p.ok_or_else(|| {
        Error::new(
            ErrorCode::Unauthenticated,
            format!("{action} needs an API key"),
        )
        .into()
    })
}

/// Keys a package dict may carry on create/update/patch: CKAN's own (as `package_show`
/// returns them, so that `ckanapi load` can send dumped records back) and onecity's.
const PACKAGE_KEYS: &[&str] = &[
    "id",
    "name",
    "title",
    "notes",
    "owner_org",
    "organization",
    "private",
    "state",
    "type",
    "license_id",
    "license_title",
    "license_url",
    "version",
    "metadata_created",
    "metadata_modified",
    "tags",
    "resources",
    "groups",
    "num_resources",
    "num_tags",
    "extras",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "url",
    "creator_user_id",
    "isopen",
    "relationships_as_object",
    "relationships_as_subject",
    "tracking_summary",
    "title_en",
    "notes_en",
    "domain",
    "grade",
    "sensitivity",
    "open_level",
    "update_frequency",
    "topic",
    "fields",
    "publisher",
    "source",
    "tenant",
    "revision",
    "data_updated_at",
];

/// The routes (state: [`CkanApi`]).
pub fn routes() -> OpenApiRouter<CkanApi> {
    OpenApiRouter::new()
        .routes(routes!(action_get, action_post))
        .routes(routes!(legacy_get, legacy_post))
}

/// A CKAN action by GET (parameters in the query string; JSON-encoded lists allowed).
#[utoipa::path(get, path = "/api/3/action/{action}", tag = "catalog",
    params(("action" = String, Path, description = "action name, e.g. package_search")),
    responses((status = 200, description = "CKAN envelope with success true"), (status = 400, description = "unknown action"),
              (status = 403, description = "Authorization Error"), (status = 404, description = "Not Found Error"),
              (status = 409, description = "Validation Error")))]
async fn action_get(
    State(api): State<CkanApi>,
    headers: HeaderMap,
    Path(action): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    call(api, &headers, &action, query_params(q.as_deref())).await
}

/// A CKAN action by POST (JSON object body).
#[utoipa::path(post, path = "/api/3/action/{action}", tag = "catalog",
    params(("action" = String, Path, description = "action name, e.g. package_create")),
    request_body(content = Object, description = "the action's parameters"),
    responses((status = 200, description = "CKAN envelope with success true"), (status = 400, description = "unknown action or malformed JSON"),
              (status = 403, description = "Authorization Error"), (status = 404, description = "Not Found Error"),
              (status = 409, description = "Validation Error")))]
async fn action_post(
    State(api): State<CkanApi>,
    headers: HeaderMap,
    Path(action): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    post(api, headers, action, q, body).await
}

/// The same actions at the unversioned path `ckanapi` uses.
#[utoipa::path(get, path = "/api/action/{action}", tag = "catalog",
    params(("action" = String, Path, description = "action name")),
    responses((status = 200, description = "CKAN envelope")))]
async fn legacy_get(
    State(api): State<CkanApi>,
    headers: HeaderMap,
    Path(action): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    call(api, &headers, &action, query_params(q.as_deref())).await
}

/// The same actions at the unversioned path `ckanapi` uses (POST).
#[utoipa::path(post, path = "/api/action/{action}", tag = "catalog",
    params(("action" = String, Path, description = "action name")),
    request_body(content = Object, description = "the action's parameters"),
    responses((status = 200, description = "CKAN envelope")))]
async fn legacy_post(
    State(api): State<CkanApi>,
    headers: HeaderMap,
    Path(action): Path<String>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    post(api, headers, action, q, body).await
}

async fn post(
    api: CkanApi,
    headers: HeaderMap,
    action: String,
    q: Option<String>,
    body: Bytes,
) -> Response {
    let mut params = query_params(q.as_deref());
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if is_form {
        params.extend(query_params(std::str::from_utf8(&body).ok()));
    } else if !body.iter().all(u8::is_ascii_whitespace) {
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(m)) => params.extend(m),
            _ => {
                return envelope(
                    &action,
                    Err(CkanError {
                        status: StatusCode::BAD_REQUEST,
                        error: json!({"__type": "Bad request", "message": "Bad request - JSON Error: the body must be a JSON object"}),
                        retry_after: None,
                    }),
                )
            }
        }
    }
    call(api, &headers, &action, params).await
}

fn query_params(q: Option<&str>) -> Params {
    let mut m = Params::new();
    for (k, v) in form_pairs(q.unwrap_or("")) {
        m.insert(k, Value::String(v));
    }
    m
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte, bad UTF-8
/// replaced), decoded by the `form_urlencoded` crate as the Open311 API does.
fn form_pairs(s: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}

fn envelope(action: &str, r: ActionResult) -> Response {
    let help = format!("/api/3/action/help_show?name={action}");
    let (status, body, retry_after) = match r {
        Ok(result) => (
            StatusCode::OK,
            json!({"help": help, "success": true, "result": result}),
            None,
        ),
        Err(e) => (
            e.status,
            json!({"help": help, "success": false, "error": e.error}),
            e.retry_after,
        ),
    };
    let mut resp = (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body.to_string(),
    )
        .into_response();
    if let Some(secs) = retry_after {
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    resp
}

async fn call(api: CkanApi, headers: &HeaderMap, action: &str, params: Params) -> Response {
    let r = run(api, headers, action, params).await;
    envelope(action, r)
}

async fn caller(c: &Catalog, headers: &HeaderMap) -> Result<Option<Arc<Principal>>, CkanError> {
    let cred = onecity_iam::http::credential(headers)
        .filter(|s| !s.is_empty())
        .or_else(|| {
            headers
                .get("x-ckan-api-key")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|s| !s.is_empty())
        });
    match cred {
        None => Ok(None),
        Some(cred) => Ok(Some(c.iam.authenticate(cred).await?)),
    }
}

/// Runs one action: the catalog's own ([`ACTIONS`]) or the datastore's
/// ([`onecity_datastore::ckan::ACTIONS`]); any other name is CKAN's 400 "Action name not
/// known".
async fn run(api: CkanApi, headers: &HeaderMap, action: &str, params: Params) -> ActionResult {
    let c = api.catalog;
    let Some((_, known)) = ACTIONS.iter().find(|(a, _)| *a == action) else {
        if onecity_datastore::ckan::ACTIONS.contains(&action) {
            let p = caller(&c, headers).await?;
            let params = if action == "datastore_create" {
                resource::datastore_create_resource(&c, p.as_deref(), params).await?
            } else {
                params
            };
            return onecity_datastore::ckan::dispatch(&api.datastore, action, p, params)
                .await
                .map_err(CkanError::from);
        }
        return Err(CkanError {
            status: StatusCode::BAD_REQUEST,
            error: json!({"__type": "Bad request", "message": format!("Bad request - Action name not known: {action}")}),
            retry_after: None,
        });
    };
    for k in params.keys() {
        let revise_path = action == "package_revise" && k.starts_with("update__");
        if !known.contains(&k.as_str()) && !revise_path {
            return Err(CkanError::validation(
                k,
                format!(
                    "unknown parameter {k:?}: {action} takes {}",
                    if known.is_empty() {
                        "no parameters".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    let p = caller(&c, headers).await?;
    let viewer = p.as_deref();
    match action {
        "status_show" => Ok(json!({
            "ckan_version": CKAN_VERSION,
            "site_title": "onecity 开放数据 open data",
            "site_description": "onecity data rail catalog (数据高铁)",
            "site_url": "",
            "locale_default": "zh_Hans_CN",
            "extensions": ["onecity", "datastore", "dcat"],
        })),
        "package_list" => {
            let limit = opt_usize(&params, "limit")?;
            let offset = opt_usize(&params, "offset")?.unwrap_or(0);
            let docs = c
                .visible_docs(
                    viewer,
                    opt_bool(&params, "include_private")?.unwrap_or(false),
                )
                .await?;
            let names: Vec<Value> = docs
                .iter()
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .map(|d| Value::String(d.d.name.clone()))
                .collect();
            Ok(Value::Array(names))
        }
        "package_show" => {
            let id = req_str(&params, "id")?;
            let d = c.get(viewer, &id).await?;
            Ok(package_dict(&c, &d).await?)
        }
        "package_search" => package_search(&c, viewer, &params).await,
        "package_create" => {
            let p = p.ok_or_else(|| {
                Error::new(
                    ErrorCode::Unauthenticated,
                    "package_create needs an API key",
                )
            })?;
            let (id, n) = parse_package(&c, &params).await?;
            let d = c.create(&p, id, &n).await?;
            Ok(package_dict(&c, &d).await?)
        }
        "package_update" | "package_patch" => {
            let p = p.ok_or_else(|| {
                Error::new(ErrorCode::Unauthenticated, "this action needs an API key")
            })?;
            let key = params
                .get("id")
                .or_else(|| params.get("name"))
                .and_then(Value::as_str)
                .ok_or_else(|| CkanError::validation("id", "Missing value"))?
                .to_string();
            let cur = c.get(Some(&p), &key).await?;
            let merged = if action == "package_patch" {
                let mut m = match package_dict(&c, &cur).await? {
                    Value::Object(m) => m,
                    _ => Params::new(),
                };
                m.extend(params.clone());
                m
            } else {
                params.clone()
            };
            let mut merged = merged;
            merged.insert("id".into(), Value::String(cur.id.to_string()));
            let (_, n) = parse_package(&c, &merged).await?;
            let d = c.update(&p, &cur.id.to_string(), &n).await?;
            Ok(package_dict(&c, &d).await?)
        }
        "package_delete" => {
            let p = p.ok_or_else(|| {
                Error::new(
                    ErrorCode::Unauthenticated,
                    "package_delete needs an API key",
                )
            })?;
            c.delete(&p, &req_str(&params, "id")?).await?;
            Ok(Value::Null)
        }
        "organization_list" => organization_list(&c, viewer, &params).await,
        "organization_show" => {
            let id = req_str(&params, "id")?;
            let d = find_org(&c, &id)
                .await?
                .ok_or_else(|| Error::not_found(format!("organization {id:?} does not exist")))?;
            let docs = c.visible_docs(viewer, true).await?;
            let mine: Vec<&crate::search::Doc> = docs
                .iter()
                .filter(|x| x.d.owner_department_id == d.id)
                .collect();
            let mut o = org_dict(&d, mine.len());
            if opt_bool(&params, "include_datasets")?.unwrap_or(false) {
                let mut pk = Vec::new();
                for x in mine.iter().take(1000) {
                    pk.push(package_dict(&c, &x.d).await?);
                }
                o["packages"] = Value::Array(pk);
            }
            Ok(o)
        }
        "group_list" => {
            let docs = c.visible_docs(viewer, false).await?;
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for t in c.topics().await? {
                counts.entry(t.name).or_default();
            }
            for d in &docs {
                if let Some(t) = &d.d.topic {
                    *counts.entry(t.clone()).or_default() += 1;
                }
            }
            let all = opt_bool(&params, "all_fields")?.unwrap_or(false);
            let offset = opt_usize(&params, "offset")?.unwrap_or(0);
            let limit = opt_usize(&params, "limit")?.unwrap_or(1000);
            Ok(Value::Array(
                counts
                    .into_iter()
                    .skip(offset)
                    .take(limit)
                    .map(|(n, k)| if all { json!({"name": n, "title": n, "display_name": n, "type": "group", "is_organization": false, "state": "active", "package_count": k}) } else { Value::String(n) })
                    .collect(),
            ))
        }
        "tag_list" => {
            let q = opt_str(&params, "query")?.map(|s| s.to_lowercase());
            let docs = c.visible_docs(viewer, false).await?;
            let mut tags: BTreeMap<String, usize> = BTreeMap::new();
            for d in &docs {
                for t in &d.d.tags {
                    if q.as_deref().is_none_or(|q| t.to_lowercase().contains(q)) {
                        *tags.entry(t.clone()).or_default() += 1;
                    }
                }
            }
            let all = opt_bool(&params, "all_fields")?.unwrap_or(false);
            Ok(Value::Array(
                tags.into_keys()
                    .map(|t| {
                        if all {
                            json!({"name": t, "display_name": t, "vocabulary_id": null})
                        } else {
                            Value::String(t)
                        }
                    })
                    .collect(),
            ))
        }
        "resource_show" => {
            let (r, d) = c.resource(viewer, &req_str(&params, "id")?).await?;
            Ok(resource_dict(&d, &r))
        }
        "resource_create" => resource::create(&c, viewer, &params).await,
        "resource_update" => resource::update(&c, viewer, &params, false).await,
        "resource_patch" => resource::update(&c, viewer, &params, true).await,
        "resource_delete" => resource::delete(&c, &api.datastore, viewer, &params).await,
        "package_revise" => resource::revise(&c, viewer, &params).await,
        "current_package_list_with_resources" => resource::current_list(&c, viewer, &params).await,
        "organization_create" => org::organization_create(&c, viewer, &params).await,
        "organization_update" => org::organization_update(&c, viewer, &params).await,
        "group_create" => org::group_create(&c, viewer, &params).await,
        "group_show" => org::group_show(&c, viewer, &params).await,
        "member_create" => org::member_create(&c, viewer, &params).await,
        "user_show" => org::user_show(&c, viewer, &params).await,
        "tag_show" => org::tag_show(&c, viewer, &params).await,
        "help_show" => help::show(&req_str(&params, "name")?),
        _ => unreachable!("every listed action is handled"),
    }
}

fn opt_str(p: &Params, k: &str) -> Result<Option<String>, CkanError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(CkanError::validation(k, "must be a string")),
    }
}

fn req_str(p: &Params, k: &str) -> Result<String, CkanError> {
    opt_str(p, k)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| CkanError::validation(k, "Missing value"))
}

fn opt_usize(p: &Params, k: &str) -> Result<Option<usize>, CkanError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(|x| Some(x as usize))
            .ok_or_else(|| CkanError::validation(k, "Must be a natural number")),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s
            .trim()
            .parse::<usize>()
            .map(Some)
            .map_err(|_| CkanError::validation(k, "Must be a natural number")),
        Some(_) => Err(CkanError::validation(k, "Must be a natural number")),
    }
}

fn opt_bool(p: &Params, k: &str) -> Result<Option<bool>, CkanError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Some(true)),
            "false" | "0" | "no" | "off" | "" => Ok(Some(false)),
            _ => Err(CkanError::validation(k, "must be true or false")),
        },
        Some(Value::Number(n)) => Ok(Some(n.as_i64() != Some(0))),
        Some(_) => Err(CkanError::validation(k, "must be true or false")),
    }
}

/// A list parameter: a JSON array, or a string holding one (GET), or one plain string.
fn opt_list(p: &Params, k: &str) -> Result<Vec<String>, CkanError> {
    match p.get(k) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| CkanError::validation(k, "must be a list of strings"))
            })
            .collect(),
        Some(Value::String(s)) if s.trim_start().starts_with('[') => {
            match serde_json::from_str::<Vec<String>>(s) {
                Ok(v) => Ok(v),
                Err(_) => Err(CkanError::validation(k, "must be a JSON list of strings")),
            }
        }
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(_) => Err(CkanError::validation(k, "must be a list of strings")),
    }
}

async fn package_search(c: &Catalog, viewer: Option<&Principal>, p: &Params) -> ActionResult {
    let rows = opt_usize(p, "rows")?.unwrap_or(10);
    let facet = opt_bool(p, "facet")?.unwrap_or(true);
    let facet_limit = match p.get("facet.limit") {
        None | Some(Value::Null) => 50,
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| CkanError::validation("facet.limit", "must be an integer"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| CkanError::validation("facet.limit", "must be an integer"))?,
        Some(_) => return Err(CkanError::validation("facet.limit", "must be an integer")),
    };
    let mincount = opt_usize(p, "facet.mincount")?.unwrap_or(1);
    let req = SearchRequest {
        q: opt_str(p, "q")?.unwrap_or_default(),
        fq: opt_str(p, "fq")?.unwrap_or_default(),
        rows,
        start: opt_usize(p, "start")?.unwrap_or(0),
        sort: opt_str(p, "sort")?,
        facet_fields: if facet {
            opt_list(p, "facet.field")?
        } else {
            vec![]
        },
        facet_limit,
        include_private: opt_bool(p, "include_private")?.unwrap_or(false),
    };
    let r = c.search(viewer, &req).await?;
    let mut results = Vec::with_capacity(r.results.len());
    for d in &r.results {
        results.push(package_dict_with_org(&d.d, d.org.clone(), None));
    }
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for (f, vals) in &r.facets {
        let vals: Vec<&(String, usize)> = vals.iter().filter(|(_, n)| *n >= mincount).collect();
        facets.insert(
            f.clone(),
            Value::Object(vals.iter().map(|(v, n)| (v.clone(), json!(n))).collect()),
        );
        search_facets.insert(
            f.clone(),
            json!({"title": f, "items": vals.iter().map(|(v, n)| json!({"name": v, "display_name": v, "count": n})).collect::<Vec<_>>()}),
        );
    }
    Ok(json!({
        "count": r.count,
        "results": results,
        "facets": facets,
        "search_facets": search_facets,
        "sort": req.sort.unwrap_or_else(|| "score desc, metadata_modified desc".into()),
    }))
}

/// CKAN's timestamp format: `2024-01-31T12:00:00.000000` (UTC, no zone).
fn ckan_time(rfc: &str) -> String {
    let t = rfc.trim_end_matches('Z');
    match t.split_once('.') {
        Some((a, frac)) => format!("{a}.{:0<6}", &frac[..frac.len().min(6)]),
        None => format!("{t}.000000"),
    }
}

fn org_name(d: &OwnerDept) -> String {
    d.code.to_lowercase()
}

fn org_dict(d: &OwnerDept, count: usize) -> Value {
    json!({
        "id": d.id, "name": org_name(d), "title": d.name, "display_name": d.name,
        "title_en": d.name_en, "description": "", "type": "organization", "is_organization": true,
        "state": "active", "approval_status": "approved", "image_url": "", "package_count": count,
        "tenant": d.tenant, "jurisdiction_id": d.jurisdiction_id,
    })
}

async fn organization_list(c: &Catalog, viewer: Option<&Principal>, p: &Params) -> ActionResult {
    let all = opt_bool(p, "all_fields")?.unwrap_or(false);
    let offset = opt_usize(p, "offset")?.unwrap_or(0);
    let limit = opt_usize(p, "limit")?.unwrap_or(1000);
    let only = opt_list(p, "organizations")?;
    let docs = c.visible_docs(viewer, false).await?;
    let mut counts: HashMap<Uuid, usize> = HashMap::new();
    for d in &docs {
        *counts.entry(d.d.owner_department_id).or_default() += 1;
    }
    let mut depts = c.departments().await?;
    depts.retain(|d| only.is_empty() || only.contains(&org_name(d)));
    depts.sort_by_key(org_name);
    Ok(Value::Array(
        depts
            .iter()
            .skip(offset)
            .take(limit)
            .map(|d| {
                if all {
                    org_dict(d, counts.get(&d.id).copied().unwrap_or(0))
                } else {
                    Value::String(org_name(d))
                }
            })
            .collect(),
    ))
}

/// The organization named by `id`: a department id, or a lower-case department code.
async fn find_org(c: &Catalog, id: &str) -> Result<Option<OwnerDept>, CkanError> {
    if let Ok(u) = Uuid::parse_str(id) {
        return match c.owner_dept(u).await {
            Ok(d) => Ok(Some(d)),
            Err(_) => Ok(None),
        };
    }
    let all = c.departments().await?;
    let hits: Vec<OwnerDept> = all
        .into_iter()
        .filter(|d| org_name(d) == id.to_lowercase())
        .collect();
    match hits.len() {
        0 => Ok(None),
        1 => Ok(hits.into_iter().next()),
        _ => Err(CkanError::validation(
            "owner_org",
            format!("organization name {id:?} is ambiguous across tenants: use the department id"),
        )),
    }
}

fn resource_dict(d: &Dataset, r: &Resource) -> Value {
    json!({
        "id": r.id, "package_id": d.id, "name": r.name, "description": r.description.clone().unwrap_or_default(),
        "url": r.url.clone().unwrap_or_default(), "format": r.format.clone().unwrap_or_default(),
        "mimetype": r.mimetype, "size": r.size, "position": r.position, "state": "active",
        "created": ckan_time(&r.created_at), "last_modified": ckan_time(&r.updated_at),
        "url_type": null, "resource_type": r.kind.as_str(), "kind": r.kind.as_str(),
        "datastore_active": r.kind == ResourceKind::Datastore,
    })
}

async fn package_dict(c: &Catalog, d: &Dataset) -> Result<Value, CkanError> {
    let dept = c.owner_dept(d.owner_department_id).await.ok();
    Ok(package_dict_with_org(
        d,
        dept.as_ref().map(org_name).unwrap_or_default(),
        dept.as_ref(),
    ))
}

/// The CKAN package dict of a dataset.
pub fn package_dict_with_org(d: &Dataset, org: String, dept: Option<&OwnerDept>) -> Value {
    let organization = match dept {
        Some(x) => org_dict(x, 0),
        None => {
            json!({"id": d.owner_department_id, "name": org, "title": org, "type": "organization", "is_organization": true, "state": "active"})
        }
    };
    json!({
        "id": d.id, "name": d.name, "title": d.title, "notes": d.notes.clone().unwrap_or_default(),
        "type": "dataset", "state": d.state, "private": d.open_level == OpenLevel::NotOpen,
        "owner_org": d.owner_department_id, "organization": organization,
        "license_id": d.license_id, "license_title": d.license_id, "version": d.version,
        "author": d.publisher, "url": d.source,
        "metadata_created": ckan_time(&d.created_at), "metadata_modified": ckan_time(&d.updated_at),
        "isopen": d.open_level == OpenLevel::Unconditional,
        "tags": d.tags.iter().map(|t| json!({"name": t, "display_name": t, "state": "active", "vocabulary_id": null})).collect::<Vec<_>>(),
        "num_tags": d.tags.len(),
        "groups": d.topic.iter().map(|t| json!({"name": t, "title": t, "display_name": t})).collect::<Vec<_>>(),
        "resources": d.resources.iter().map(|r| resource_dict(d, r)).collect::<Vec<_>>(),
        "num_resources": d.resources.len(),
        "extras": [],
        "tenant": d.tenant, "title_en": d.title_en, "notes_en": d.notes_en,
        "domain": d.domain, "topic": d.topic, "grade": d.grade, "sensitivity": d.sensitivity,
        "open_level": d.open_level, "update_frequency": d.update_frequency,
        "fields": d.fields, "publisher": d.publisher, "source": d.source,
        "revision": d.revision, "data_updated_at": d.data_updated_at,
    })
}

fn enum_param<T>(
    p: &Params,
    k: &str,
    parse: fn(&str) -> onecity_core::Result<T>,
) -> Result<Option<T>, CkanError> {
    match opt_str(p, k)? {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => parse(&s)
            .map(Some)
            .map_err(|e| CkanError::validation(k, e.detail)),
    }
}

/// Reads a package dict (CKAN's keys and onecity's) into a dataset body. Values in
/// `extras` (`[{key, value}]`) fill onecity keys not given at the top level.
async fn parse_package(
    c: &Catalog,
    given: &Params,
) -> Result<(Option<Uuid>, NewDataset), CkanError> {
    if Value::Object(given.clone()).to_string().contains("\\u0000") {
        return Err(CkanError::validation(
            "message",
            "text must not contain NUL characters",
        ));
    }
    let mut p = given.clone();
    if let Some(Value::Array(ex)) = given.get("extras") {
        for e in ex {
            if let (Some(k), Some(v)) = (e.get("key").and_then(Value::as_str), e.get("value")) {
                if PACKAGE_KEYS.contains(&k) && !p.contains_key(k) {
                    p.insert(k.to_string(), v.clone());
                }
            }
        }
    }
    let id = match opt_str(&p, "id")? {
        Some(s) if !s.is_empty() => {
            Some(Uuid::parse_str(&s).map_err(|_| CkanError::validation("id", "must be a UUID"))?)
        }
        _ => None,
    };
    let owner = req_str(&p, "owner_org").map_err(|_| {
        CkanError::validation(
            "owner_org",
            "Missing value: name the organization (department id or name)",
        )
    })?;
    let dept = find_org(c, &owner).await?.ok_or_else(|| {
        CkanError::validation("owner_org", format!("Organization does not exist: {owner}"))
    })?;
    let name = opt_str(&p, "name")?.filter(|s| !s.is_empty());
    let title = opt_str(&p, "title")?
        .filter(|s| !s.trim().is_empty())
        .or_else(|| name.clone())
        .ok_or_else(|| CkanError::validation("title", "Missing value"))?;
    let tags = match p.get("tags") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| match t {
                Value::String(s) => Ok(s.clone()),
                Value::Object(o) => o
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .ok_or_else(|| CkanError::validation("tags", "each tag needs a name")),
                _ => Err(CkanError::validation(
                    "tags",
                    "tags must be [{\"name\": ...}]",
                )),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(CkanError::validation("tags", "tags must be a list")),
    };
    let topic = match (opt_str(&p, "topic")?, p.get("groups")) {
        (Some(t), _) if !t.is_empty() => Some(t),
        (_, Some(Value::Array(g))) => g
            .first()
            .and_then(|x| x.get("name").or(Some(x)))
            .and_then(Value::as_str)
            .map(str::to_string),
        _ => None,
    };
    let fields: Vec<Field> = match p.get("fields") {
        None | Some(Value::Null) => vec![],
        Some(Value::String(s)) => {
            serde_json::from_str(s).map_err(|e| CkanError::validation("fields", e.to_string()))?
        }
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| CkanError::validation("fields", e.to_string()))?,
    };
    let resources = match p.get("resources") {
        None | Some(Value::Null) => vec![],
        Some(Value::Array(a)) => {
            let mut out = Vec::new();
            for (i, r) in a.iter().enumerate() {
                let o = r.as_object().ok_or_else(|| {
                    CkanError::validation("resources", format!("resource {i} must be an object"))
                })?;
                let s = |k: &str| {
                    o.get(k)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .filter(|x| !x.is_empty())
                };
                let rid = match s("id") {
                    Some(x) => Some(Uuid::parse_str(&x).map_err(|_| {
                        CkanError::validation(
                            "resources",
                            format!("resource {i}: id must be a UUID"),
                        )
                    })?),
                    None => None,
                };
                let kind = match s("kind").or_else(|| s("resource_type")) {
                    Some(k) => ResourceKind::parse(&k).ok(),
                    None => None,
                }
                .or(
                    if o.get("datastore_active").and_then(Value::as_bool) == Some(true) {
                        Some(ResourceKind::Datastore)
                    } else {
                        None
                    },
                );
                out.push(NewResource {
                    id: rid,
                    name: s("name"),
                    description: s("description"),
                    url: s("url"),
                    format: s("format"),
                    mimetype: s("mimetype"),
                    kind,
                    size: o.get("size").and_then(|v| {
                        v.as_i64()
                            .or_else(|| v.as_str().and_then(|x| x.parse().ok()))
                    }),
                });
            }
            out
        }
        Some(_) => return Err(CkanError::validation("resources", "must be a list")),
    };
    let sensitivity = match p.get("sensitivity") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                .ok_or_else(|| CkanError::validation("sensitivity", "must be 1-4"))?,
        ),
    };
    let private = opt_bool(&p, "private")?;
    let open_level = enum_param(&p, "open_level", OpenLevel::parse)?.or(match private {
        Some(true) => Some(OpenLevel::NotOpen),
        Some(false) => Some(OpenLevel::Unconditional),
        None => None,
    });
    let n = NewDataset {
        name,
        title,
        title_en: opt_str(&p, "title_en")?,
        notes: opt_str(&p, "notes")?,
        notes_en: opt_str(&p, "notes_en")?,
        owner_department_id: dept.id,
        domain: enum_param(&p, "domain", Domain::parse)?,
        topic,
        grade: enum_param(&p, "grade", Grade::parse)?,
        sensitivity,
        open_level,
        update_frequency: enum_param(&p, "update_frequency", Frequency::parse)?,
        license_id: opt_str(&p, "license_id")?,
        version: opt_str(&p, "version")?,
        publisher: opt_str(&p, "publisher")?.or(opt_str(&p, "author")?),
        source: opt_str(&p, "source")?.or(opt_str(&p, "url")?),
        tags,
        fields,
        resources,
    };
    crate::dataset::validate(&n).map_err(CkanError::from)?;
    Ok((id, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_decode() {
        let p = query_params(Some("q=%E5%85%AC%E4%BA%A4+a%3Ab&fq=tags:%22x%22&rows=5"));
        assert_eq!(p["q"], "公交 a:b");
        assert_eq!(p["fq"], "tags:\"x\"");
        assert_eq!(opt_usize(&p, "rows").unwrap(), Some(5));
        // A stray `%` is kept as it is, as CKAN (Python's parse_qsl) does.
        let odd = query_params(Some("q=100%&x=%zz"));
        assert_eq!(odd["q"], "100%");
        assert_eq!(odd["x"], "%zz");
    }

    #[test]
    fn facet_fields_accept_json_lists() {
        let mut p = Params::new();
        p.insert("facet.field".into(), json!("[\"tags\",\"organization\"]"));
        assert_eq!(
            opt_list(&p, "facet.field").unwrap(),
            vec!["tags", "organization"]
        );
    }

    #[test]
    fn ckan_times_have_six_fraction_digits() {
        assert_eq!(
            ckan_time("2026-01-02T03:04:05.123Z"),
            "2026-01-02T03:04:05.123000"
        );
        assert_eq!(
            ckan_time("2026-01-02T03:04:05Z"),
            "2026-01-02T03:04:05.000000"
        );
    }

    #[test]
    fn core_errors_map_to_ckan_types() {
        let e: CkanError = Error::not_found("x").into();
        assert_eq!(e.status, StatusCode::NOT_FOUND);
        assert_eq!(e.error["__type"], "Not Found Error");
        let e: CkanError = Error::invalid("bad")
            .with_extra("field", "name".into())
            .into();
        assert_eq!(e.status, StatusCode::CONFLICT);
        assert_eq!(e.error["name"][0], "bad");
    }
}
