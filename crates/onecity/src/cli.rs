//! The command line.

use crate::config::{self, Config, Partial};
use crate::server;
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use onecity_iam::{NewApiKey, NewTenant, NewUser, Principal, RoleGrantInput};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// onecity: one binary that runs a digital city's shared platforms.
///
/// Quick start: `onecity serve --demo` serves the demo tenants (Hangzhou, New York City,
/// Melbourne) on the embedded store at http://127.0.0.1:8080/console/map; the first start
/// prints the one-time password of the user `admin` (or set ONECITY_ADMIN_PASSWORD).
#[derive(Parser)]
#[command(name = "onecity", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

/// Where the data lives (shared by every subcommand that opens the store).
#[derive(Args, Clone, Default)]
pub(crate) struct StoreArgs {
    /// TOML config file (also ONECITY_CONFIG).
    #[arg(long, global = true, env = "ONECITY_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of the embedded store [default: ./onecity-data].
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://user@host:5432/db); replaces the embedded store.
    #[arg(long, global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the platform (HTTP API, console, background work).
    Serve(ServeArgs),
    /// Import data into the store.
    Import {
        #[command(subcommand)]
        what: ImportCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Export data from the store.
    Export {
        #[command(subcommand)]
        what: ExportCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Validate the configuration and data files without changing anything.
    Check {
        /// GeoJSON files to validate as boundaries.
        files: Vec<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Administer tenants, users and app keys.
    Admin {
        #[command(subcommand)]
        what: AdminCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The audit trail.
    Audit {
        #[command(subcommand)]
        what: AuditCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// The key store's signing keys.
    Keys {
        #[command(subcommand)]
        what: KeysCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Stream a CSV time series to a running server as timed device measurements
    /// (POST /ngsi-ld/v1/ext/ingest), at `--speed` times real time.
    Replay(ReplayArgs),
    /// The city brain: forecasting models and their evaluation.
    Brain {
        #[command(subcommand)]
        what: BrainCmd,
    },
}

#[derive(Subcommand)]
enum BrainCmd {
    /// Evaluate a model on real data with a published protocol.
    Evaluate {
        #[command(subcommand)]
        what: EvaluateCmd,
    },
    /// Replay a decision model on the test week of real data.
    Replay {
        #[command(subcommand)]
        what: crate::brain_cli::ReplayCmd,
    },
    /// Make one round of served forecasts and write them to the twin.
    Forecast {
        #[command(subcommand)]
        what: ForecastCmd,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ForecastCmd {
    /// Hangzhou metro stations: from each station's latest `inflow` in the twin, forecasts
    /// 1–6 slots ahead with 80/95 % intervals, written as `inflowForecast` (see
    /// docs/brain.md). Prints the tick report as JSON. Writes the store directly: a running
    /// server sees the result after a restart.
    Metro {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// Directory holding hangzhou_flow.csv and hangzhou_graph.csv.
        #[arg(long, default_value = "../shared/data/metro")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum EvaluateCmd {
    /// Hangzhou metro passenger flow: transdim's rolling forecast of the last 7 days in
    /// windows of 2, 4 and 6 ten-minute slots. Prints one line per horizon
    /// (`horizon=2 mape=… rmse=… cover80=… cover95=…`), then the baselines
    /// (`baseline=<name> horizon=…`); the run time goes to standard error.
    Metro {
        /// Directory holding hangzhou_flow.csv and hangzhou_graph.csv.
        #[arg(long, default_value = "../shared/data/metro")]
        data: PathBuf,
        /// A published missing-data scenario applied to the input: `rm40` (40 % random
        /// cells) or `nm40` (40 % whole station-days), transdim's masks with numpy seed 1000.
        #[arg(long, conflicts_with = "mask")]
        scenario: Option<crate::brain_cli::Scenario>,
        /// A mask file (`station,day,observed`, see crates/onecity-brain/masks/) applied to
        /// the input.
        #[arg(long)]
        mask: Option<PathBuf>,
    },
}

/// Runs `onecity brain evaluate metro`.
fn evaluate_metro(
    data: &std::path::Path,
    mask: Option<onecity_brain::missing::Mask>,
) -> anyhow::Result<ExitCode> {
    let start = std::time::Instant::now();
    let metro = onecity_brain::load_hangzhou(data)?;
    let cfg = onecity_brain::EvalConfig::default();
    let methods = onecity_brain::Method::ALL;
    let scores = match &mask {
        None => onecity_brain::evaluate(&metro, &cfg, &methods)?,
        Some(m) => onecity_brain::missing::evaluate_masked(&metro, m, &cfg, &methods)?,
    };
    let mut out = std::io::stdout().lock();
    for score in scores {
        writeln!(out, "{score}")?;
    }
    eprintln!("evaluated in {:.2} s", start.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
struct ReplayArgs {
    /// The CSV file (one of the real series in ../shared/data).
    csv: PathBuf,
    /// Built-in mapping: air, metro, parking, tide, river, pedestrians.
    #[arg(long)]
    mapping: String,
    /// Data seconds per wall-clock second (0 = as fast as possible) [default: 600].
    #[arg(long, default_value_t = 600.0)]
    speed: f64,
    /// Base URL of the server [default: http://127.0.0.1:8080].
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Platform token or app key with twin:write (or env ONECITY_TOKEN); none when the
    /// NGSI-LD API is open.
    #[arg(long, env = "ONECITY_TOKEN")]
    token: Option<String>,
    /// NGSI-LD tenant (NGSILD-Tenant header).
    #[arg(long)]
    tenant: Option<String>,
    /// Most measurements to send [default: all].
    #[arg(long)]
    limit: Option<usize>,
}

/// Runs `onecity replay`: measurements of the same time go in one request (at most 1,000
/// each), sent when the scaled clock reaches their time.
async fn replay(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&a.csv)
        .with_context(|| format!("cannot read {}", a.csv.display()))?;
    let items = onecity_twin::replay::map_csv(&a.mapping, &text, a.limit.unwrap_or(usize::MAX))
        .map_err(|e| anyhow::anyhow!("{}: {e}", a.csv.display()))?;
    if !(a.speed >= 0.0 && a.speed.is_finite()) {
        anyhow::bail!("--speed must be 0 or a positive number");
    }
    let http = reqwest::Client::new();
    let endpoint = format!("{}/ngsi-ld/v1/ext/ingest", a.url.trim_end_matches('/'));
    let start = std::time::Instant::now();
    let t0 = items.first().map_or(0, |x| x.0);
    let (mut sent, mut failed) = (0usize, 0usize);
    let mut i = 0;
    while i < items.len() {
        let t = items[i].0;
        let mut j = i;
        while j < items.len() && items[j].0 == t && j - i < 1000 {
            j += 1;
        }
        if a.speed > 0.0 {
            let due = std::time::Duration::from_secs_f64((t - t0) as f64 / 1e6 / a.speed);
            if let Some(wait) = due.checked_sub(start.elapsed()) {
                tokio::time::sleep(wait).await;
            }
        }
        let batch: Vec<serde_json::Value> = items[i..j].iter().map(|x| x.1.clone()).collect();
        let mut req = http.post(&endpoint).json(&batch);
        if let Some(tok) = &a.token {
            req = req.bearer_auth(tok);
        }
        if let Some(tn) = &a.tenant {
            req = req.header("NGSILD-Tenant", tn);
        }
        let r = req
            .send()
            .await
            .with_context(|| format!("cannot reach {endpoint}"))?;
        let st = r.status();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        if !st.is_success() {
            anyhow::bail!("the server answered {st}: {body}");
        }
        sent += body["applied"].as_u64().unwrap_or(0) as usize;
        if let Some(errs) = body["errors"].as_array() {
            failed += errs.len();
            for e in errs.iter().take(3) {
                eprintln!("refused: {e}");
            }
        }
        i = j;
    }
    println!(
        "replayed {sent} measurements ({failed} refused) of {} in {:.1} s",
        a.csv.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// NATS URL (nats://127.0.0.1:4222): publish events through JetStream.
    #[arg(long)]
    nats_url: Option<String>,
    /// Load the demo tenants from --demo-data.
    #[arg(long)]
    demo: bool,
    /// Folder of the real demo data [default: ../shared/data].
    #[arg(long)]
    demo_data: Option<PathBuf>,
    /// Largest ordinary request body in bytes [default: 1048576].
    #[arg(long)]
    max_body_bytes: Option<usize>,
    /// Log lines as `text` or `json` [default: text].
    #[arg(long)]
    log_format: Option<String>,
}

#[derive(Subcommand)]
enum ImportCmd {
    /// The 80 Hangzhou metro stations as twin entities `urn:ngsi-ld:MetroStationFlow:HZ-<row>`
    /// (the ids `onecity replay metro` uses): graph id, neighbours, and a placed position
    /// marked `positionSource: "placed"` (the data has no coordinates).
    MetroStations {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// Directory holding hangzhou_flow.csv and hangzhou_graph.csv.
        #[arg(long, default_value = "../shared/data/metro")]
        data: PathBuf,
    },
    /// Boundaries from a GeoJSON FeatureCollection into a tenant's jurisdiction tree.
    Boundaries {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// The GeoJSON file.
        #[arg(long)]
        file: PathBuf,
        /// Level of new nodes [default: district].
        #[arg(long)]
        level: Option<String>,
        /// Code of the parent of new nodes [default: the root].
        #[arg(long)]
        parent_code: Option<String>,
        /// Property holding the code [default: code].
        #[arg(long)]
        code_property: Option<String>,
        /// Property holding the name [default: name].
        #[arg(long)]
        name_property: Option<String>,
        /// Property holding the English name.
        #[arg(long)]
        name_en_property: Option<String>,
    },
    /// Lodging listings (the Melbourne Airbnb file) as `Accommodation` entities in the
    /// tenant's digital twin, for room finding (找房); created or replaced, so a second run
    /// changes nothing. Restart running servers to see them.
    Lodging {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// The listings CSV.
        #[arg(
            long,
            default_value = "../shared/data/lodging/melbourne_airbnb_listings_clean.csv"
        )]
        file: PathBuf,
        /// Only listings inside the City of Melbourne municipal boundary (point in polygon).
        #[arg(long)]
        inside_boundary: bool,
        /// The boundary GeoJSON used by --inside-boundary.
        #[arg(
            long,
            default_value = "../shared/data/geo/melbourne_municipal_boundary.geojson"
        )]
        boundary: PathBuf,
    },
    /// A synthetic register (合成人口与法人库) for demos and benchmarks: deterministic
    /// persons (valid 身份证号) and companies (valid 统一社会信用代码) as two datastore tables
    /// of the tenant, every row flagged `synthetic`.
    SyntheticRegister {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// Persons to make; companies are a tenth of it [default: 10000].
        #[arg(long, default_value_t = 10_000)]
        rows: usize,
        /// Seed: the same seed and rows give the same tables [default: 1].
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Owning department code [default: the tenant's first department].
        #[arg(long)]
        department: Option<String>,
    },
}

#[derive(Subcommand)]
enum ExportCmd {
    /// A tenant's audit trail as JSON lines (`_system` for deployment-level records).
    Audit {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// Output file [default: stdout].
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A tenant's boundaries as a GeoJSON FeatureCollection (as stored).
    Boundaries {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// Output file [default: stdout].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Tenants.
    Tenant {
        #[command(subcommand)]
        what: TenantCmd,
    },
    /// Users.
    User {
        #[command(subcommand)]
        what: UserCmd,
    },
    /// App keys.
    Key {
        #[command(subcommand)]
        what: KeyCmd,
    },
}

#[derive(Subcommand)]
enum TenantCmd {
    /// Create a tenant and its root jurisdiction.
    Create {
        /// URL code, e.g. hangzhou.
        #[arg(long)]
        code: String,
        /// Local name, e.g. 杭州市.
        #[arg(long)]
        name: String,
        /// English name.
        #[arg(long)]
        name_en: Option<String>,
        /// Level of the root [default: city].
        #[arg(long)]
        root_level: Option<String>,
        /// Official code of the root, e.g. 330100.
        #[arg(long)]
        root_code: Option<String>,
    },
    /// List tenants.
    List,
}

#[derive(Subcommand)]
enum UserCmd {
    /// Create a user; prints the password when generated.
    Create {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// Login name.
        #[arg(long)]
        username: String,
        /// Display name [default: the login name].
        #[arg(long)]
        display_name: Option<String>,
        /// Password [default: generated and printed once].
        #[arg(long, env = "ONECITY_NEW_USER_PASSWORD")]
        password: Option<String>,
        /// Grant, as ROLE or ROLE@JURISDICTION_CODE (repeatable): tenant_admin, staff, auditor.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// E-mail address for notifications.
        #[arg(long)]
        email: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeyCmd {
    /// Create an app key and print it (shown once).
    Create {
        /// Tenant code.
        #[arg(long)]
        tenant: String,
        /// App name.
        #[arg(long)]
        name: String,
        /// Scope (repeatable), e.g. geo:read, jurisdiction:read.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Code of the jurisdiction subtree the key works in [default: the root].
        #[arg(long)]
        jurisdiction_code: Option<String>,
        /// Requests per minute [default: 600].
        #[arg(long)]
        rate_per_minute: Option<i64>,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Retire the active key of a purpose (still published for key_publish_grace_secs) and
    /// create a new one; prints the new key id. Running servers pick it up within a minute.
    Rotate {
        /// The purpose, e.g. `oidc`.
        #[arg(long, default_value = "oidc")]
        purpose: String,
    },
    /// List the signing keys (kid, purpose, state, created, retired).
    List,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Verify every tenant's hash chain; exit 0 when intact, 1 naming the first bad record.
    Verify,
    /// Anchor the chain heads now (a running server does it every minute).
    Anchor,
}

fn process_env() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(k, _)| k.starts_with("ONECITY_"))
        .collect()
}

fn load_config(store: &StoreArgs, extra: Partial) -> anyhow::Result<Config> {
    let mut flags = extra;
    if store.data_dir.is_some() {
        flags.data_dir = store.data_dir.clone();
    }
    if store.database_url.is_some() {
        flags.database_url = store.database_url.clone().map(Some);
    }
    let (cfg, warnings) = config::load(store.config.as_deref(), &process_env(), flags)
        .map_err(|e| anyhow::anyhow!(e.0))?;
    for w in warnings {
        tracing::warn!("{w}");
        eprintln!("warning: {w}");
    }
    Ok(cfg)
}

fn init_logging(cfg: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&cfg.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = if cfg.log_format == "json" {
        b.json().try_init()
    } else {
        b.try_init()
    };
}

pub(crate) async fn open(store: &StoreArgs) -> anyhow::Result<(Config, server::Services)> {
    let cfg = load_config(store, Partial::default())?;
    let db = server::open_db(&cfg).await?;
    server::migrate(&db).await?;
    let svc = server::build_services(&cfg, db).await?;
    svc.geo.refresh().await?;
    Ok((cfg, svc))
}

fn output(out: &Option<PathBuf>) -> anyhow::Result<Box<dyn Write>> {
    Ok(match out {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// Entry point: parses arguments and runs the subcommand on a Tokio runtime.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Serve(a) => {
            let extra = Partial {
                listen: a.listen,
                nats_url: a.nats_url.map(Some),
                demo: a.demo.then_some(true),
                demo_data: a.demo_data,
                max_body_bytes: a.max_body_bytes,
                log_format: a.log_format,
                ..Default::default()
            };
            let cfg = load_config(&a.store, extra)?;
            init_logging(&cfg);
            server::serve(cfg).await?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Import {
            what: ImportCmd::MetroStations { tenant, data },
            store,
        } => {
            let metro = onecity_brain::load_hangzhou(&data)?;
            let (_, svc) = open(&store).await?;
            svc.iam.tenant_unchecked(&tenant).await?;
            let r = onecity_brain::service::import::import_stations(&svc.twin, &tenant, &metro)
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Brain {
            what:
                BrainCmd::Forecast {
                    what: ForecastCmd::Metro { tenant, data },
                    store,
                },
        } => {
            let metro = onecity_brain::load_hangzhou(&data)?;
            let (_, svc) = open(&store).await?;
            let f = onecity_brain::MetroForecaster::new(svc.twin.clone(), metro);
            let r = f
                .tick(&tenant, chrono::Utc::now())
                .await
                .map_err(|e| anyhow::anyhow!("{}", e.detail))?;
            println!("{}", serde_json::to_string_pretty(&r)?);
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Import {
            what:
                ImportCmd::SyntheticRegister {
                    tenant,
                    rows,
                    seed,
                    department,
                },
            store,
        } => {
            let (_, svc) = open(&store).await?;
            let r = onecity_catalog::demo::synthetic_register(
                &svc.catalog,
                &svc.datastore,
                &tenant,
                department.as_deref(),
                rows,
                seed,
            )
            .await;
            match r {
                Ok(r) => {
                    println!("{}", serde_json::to_string_pretty(&r)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {}", e.detail);
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Cmd::Import {
            what:
                ImportCmd::Lodging {
                    tenant,
                    file,
                    inside_boundary,
                    boundary,
                },
            store,
        } => {
            let (_, svc) = open(&store).await?;
            svc.iam.tenant_unchecked(&tenant).await?;
            let boundary = if inside_boundary {
                Some(
                    onecity_brain::rooms::demo::boundary_file(&boundary)
                        .map_err(anyhow::Error::msg)?,
                )
            } else {
                None
            };
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let start = std::time::Instant::now();
            match onecity_brain::rooms::import_lodging(&svc.twin, &tenant, &text, boundary.as_ref())
                .await
            {
                Ok(r) => {
                    println!("{}", serde_json::to_string_pretty(&r)?);
                    eprintln!("imported in {:.2} s", start.elapsed().as_secs_f64());
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {}: {e}", file.display());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Cmd::Import {
            what:
                ImportCmd::Boundaries {
                    tenant,
                    file,
                    level,
                    parent_code,
                    code_property,
                    name_property,
                    name_en_property,
                },
            store,
        } => {
            let (_, svc) = open(&store).await?;
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let fc: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", file.display()))?;
            let o = onecity_geo::ImportOptions {
                parent_code,
                level,
                code_property,
                name_property,
                name_en_property,
                source: Some(file.display().to_string()),
            };
            match svc.geo.import(&Principal::system(), &tenant, &fc, &o).await {
                Ok(r) => {
                    println!("{}", serde_json::to_string_pretty(&r)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {}", e.detail);
                    if let Some(x) = &e.extra {
                        eprintln!("{}", serde_json::to_string_pretty(x)?);
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Cmd::Export { what, store } => {
            let (_, svc) = open(&store).await?;
            match what {
                ExportCmd::Audit { tenant, out } => {
                    if tenant != onecity_iam::SYSTEM_TENANT {
                        svc.iam.tenant_unchecked(&tenant).await?;
                    }
                    let mut w = output(&out)?;
                    let mut page = onecity_core::page::PageQuery {
                        limit: Some(500),
                        cursor: None,
                    };
                    let f = onecity_store::audit::AuditFilter {
                        tenant,
                        ..Default::default()
                    };
                    loop {
                        let p = svc.iam.auditor().query(&svc.db, &f, &page).await?;
                        for r in &p.items {
                            writeln!(w, "{}", serde_json::to_string(r)?)?;
                        }
                        match p.next_cursor {
                            Some(c) => page.cursor = Some(c),
                            None => break,
                        }
                    }
                    w.flush()?;
                }
                ExportCmd::Boundaries { tenant, out } => {
                    let fc = svc
                        .geo
                        .boundaries_geojson(&Principal::system(), &tenant, None, 0.0)
                        .await?;
                    let mut w = output(&out)?;
                    writeln!(w, "{fc}")?;
                    w.flush()?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Replay(a) => replay(a).await,
        Cmd::Brain {
            what:
                BrainCmd::Evaluate {
                    what:
                        EvaluateCmd::Metro {
                            data,
                            scenario,
                            mask,
                        },
                },
        } => evaluate_metro(&data, crate::brain_cli::mask(scenario, mask.as_deref())?),
        Cmd::Brain {
            what: BrainCmd::Replay { what },
        } => crate::brain_cli::replay(what).await,
        Cmd::Check { files, store } => {
            let cfg = load_config(&store, Partial::default())?;
            println!(
                "config: ok (store: {})",
                if cfg.database_url.is_some() {
                    "postgresql"
                } else {
                    "sqlite"
                }
            );
            let mut bad = 0;
            for f in files {
                let verdict = std::fs::read_to_string(&f)
                    .map_err(|e| e.to_string())
                    .and_then(|t| {
                        serde_json::from_str::<serde_json::Value>(&t)
                            .map_err(|e| format!("not JSON: {e}"))
                    });
                match verdict {
                    Err(e) => {
                        bad += 1;
                        println!("{}: {e}", f.display());
                    }
                    Ok(v) => {
                        let feats = v
                            .get("features")
                            .and_then(|x| x.as_array())
                            .cloned()
                            .unwrap_or_else(|| vec![v.clone()]);
                        let mut problems = Vec::new();
                        for (i, feat) in feats.iter().enumerate() {
                            if let Err(es) = onecity_geo::area::parse_area(feat) {
                                problems
                                    .extend(es.into_iter().map(|e| format!("feature {i}: {e}")));
                            }
                        }
                        if feats.len() > onecity_geo::service_limits::MAX_IMPORT_FEATURES {
                            problems.push(format!(
                                "{} features; one import takes at most {}",
                                feats.len(),
                                onecity_geo::service_limits::MAX_IMPORT_FEATURES
                            ));
                        }
                        if problems.is_empty() {
                            println!("{}: ok ({} feature(s))", f.display(), feats.len());
                        } else {
                            bad += 1;
                            println!("{}: {} problem(s)", f.display(), problems.len());
                            for p in problems.iter().take(20) {
                                println!("  {p}");
                            }
                        }
                    }
                }
            }
            Ok(if bad == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Admin { what, store } => {
            let (_, svc) = open(&store).await?;
            let sys = Principal::system();
            match what {
                AdminCmd::Tenant {
                    what:
                        TenantCmd::Create {
                            code,
                            name,
                            name_en,
                            root_level,
                            root_code,
                        },
                } => {
                    let t = svc
                        .iam
                        .create_tenant(
                            "system",
                            &NewTenant {
                                code,
                                name,
                                name_en,
                                root_level,
                                root_code,
                            },
                        )
                        .await?;
                    println!("{}", serde_json::to_string_pretty(&t)?);
                }
                AdminCmd::Tenant {
                    what: TenantCmd::List,
                } => {
                    let p = svc
                        .iam
                        .list_tenants(
                            &sys,
                            &onecity_core::page::PageQuery {
                                limit: Some(500),
                                cursor: None,
                            },
                        )
                        .await?;
                    for t in p.items {
                        println!("{}\t{}\t{}", t.code, t.name, t.name_en.unwrap_or_default());
                    }
                }
                AdminCmd::User {
                    what:
                        UserCmd::Create {
                            tenant,
                            username,
                            display_name,
                            password,
                            roles,
                            email,
                        },
                } => {
                    let mut grants = Vec::new();
                    for r in roles {
                        let (role, code) = r
                            .split_once('@')
                            .map(|(a, b)| (a.to_string(), Some(b.to_string())))
                            .unwrap_or((r.clone(), None));
                        let jurisdiction_id = match code {
                            Some(c) => Some(
                                svc.iam
                                    .jurisdiction_by_code(&tenant, &c)
                                    .await?
                                    .with_context(|| format!("no jurisdiction with code {c}"))?
                                    .id,
                            ),
                            None => None,
                        };
                        grants.push(RoleGrantInput {
                            role,
                            jurisdiction_id,
                            department_id: None,
                        });
                    }
                    let generated = password.is_none();
                    let pw = password.unwrap_or_else(|| onecity_iam::password::generate(20));
                    let u = svc
                        .iam
                        .create_user(
                            &sys,
                            &tenant,
                            &NewUser {
                                display_name: display_name.unwrap_or_else(|| username.clone()),
                                username,
                                password: pw.clone(),
                                kind: None,
                                department_id: None,
                                roles: grants,
                                email,
                            },
                        )
                        .await?;
                    println!("{}", serde_json::to_string_pretty(&u)?);
                    if generated {
                        println!("password (shown once): {pw}");
                    }
                }
                AdminCmd::Key {
                    what:
                        KeyCmd::Create {
                            tenant,
                            name,
                            scopes,
                            jurisdiction_code,
                            rate_per_minute,
                        },
                } => {
                    let jurisdiction_id = match jurisdiction_code {
                        Some(c) => Some(
                            svc.iam
                                .jurisdiction_by_code(&tenant, &c)
                                .await?
                                .with_context(|| format!("no jurisdiction with code {c}"))?
                                .id,
                        ),
                        None => None,
                    };
                    let k = svc
                        .iam
                        .create_key(
                            &sys,
                            &tenant,
                            &NewApiKey {
                                name,
                                scopes,
                                jurisdiction_id,
                                rate_per_minute,
                            },
                        )
                        .await?;
                    println!("{}", k.key);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Keys { what, store } => {
            let (_, svc) = open(&store).await?;
            let ks = svc.iam.keystore()?;
            match what {
                KeysCmd::Rotate { purpose } => {
                    let k = ks.rotate(&svc.iam, &purpose, "cli").await?;
                    println!("{} {} active since {}", k.kid, k.purpose, k.created_at);
                }
                KeysCmd::List => {
                    for k in ks.list(None) {
                        println!(
                            "{} {} {} created {} retired {}",
                            k.kid,
                            k.purpose,
                            k.state,
                            k.created_at,
                            k.retired_at.as_deref().unwrap_or("-")
                        );
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit {
            what: AuditCmd::Anchor,
            store,
        } => {
            let (_, svc) = open(&store).await?;
            let n = svc.iam.auditor().anchor(&svc.db).await?;
            println!("anchored {n} chain head(s)");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Audit {
            what: AuditCmd::Verify,
            store,
        } => {
            let cfg = load_config(&store, Partial::default())?;
            if cfg.database_url.is_none() && !cfg.data_dir.join("onecity.sqlite3").is_file() {
                bail!(
                    "no store at {}: pass --data-dir or --database-url",
                    cfg.data_dir.display()
                );
            }
            let db = server::open_db(&cfg).await?;
            server::migrate(&db).await?;
            let auditor = onecity_store::audit::Auditor::load(&db).await?;
            let report = auditor.verify(&db).await?;
            if report.problems.is_empty() {
                println!(
                    "audit chains intact: {} chain(s), {} record(s)",
                    report.chains, report.records
                );
                Ok(ExitCode::SUCCESS)
            } else {
                for p in &report.problems {
                    println!(
                        "BROKEN chain {:?} at record {}: {}",
                        p.tenant, p.seq, p.problem
                    );
                }
                Ok(ExitCode::from(1))
            }
        }
    }
}
