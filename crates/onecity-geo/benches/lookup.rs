//! Point → jurisdiction lookup over the real demo boundaries (`../shared/data/geo`).
//!
//! The index under test is the server's own: a [`Geo`] over a temporary SQLite store,
//! loaded exactly as `onecity serve --demo` loads it (same files, same property mapping,
//! same generated grids, through `Geo::import` and `Geo::generate_grids`), then queried with
//! `Geo::lookup_unchecked` (R-tree of bounding boxes → exact `PreparedArea` test → the
//! jurisdiction chain and grid) and `Geo::lookup` (the HTTP handler's call: the tenant
//! check `Iam::tenant` first; it ran a SQLite query per call until tenants were cached in
//! commit 4701a47: ~64 µs mean and ~140-160 µs p99 here before, under 1 µs after).
//!
//! The demo's Hangzhou English district names are not set here (they do not change the
//! index). The harness is custom (`harness = false`, own `main`), so run it with
//! `cargo bench`, not `cargo test`.
//!
//! Run: `cargo bench -p onecity-geo --bench lookup` (from the repo root, so that
//! `../shared/data` resolves; or set `ONECITY_DEMO_DATA`). Before criterion runs, a plain
//! loop times 100,000 individual lookups per scenario (`Instant` around each call) and
//! prints p50/p90/p99/p99.9, since criterion reports means only. Under `cargo test
//! --benches` (no `--bench` flag) the percentile loop is skipped and criterion runs each
//! bench once.

use criterion::{black_box, Criterion};
use geo::{BoundingRect, Contains, MultiPolygon, Point};
use onecity_geo::area::parse_area;
use onecity_geo::pip::PreparedArea;
use onecity_geo::{demo_data, Geo, GridSpec};
use onecity_iam::{Iam, IamConfig, NewTenant, Principal};
use onecity_store::audit::Auditor;
use onecity_store::bus::EventBus;
use onecity_store::{Db, DbOptions};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Points per scenario (cycled through by criterion).
const POINTS: usize = 4096;
/// Individually timed lookups per scenario for the percentiles.
const TIMED: usize = 100_000;

/// SplitMix64: a fixed-seed generator so every run queries the same points.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn data_dir() -> PathBuf {
    if let Ok(d) = std::env::var("ONECITY_DEMO_DATA") {
        return PathBuf::from(d);
    }
    // cargo runs benches with the package directory as cwd: crates/onecity-geo.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.join("../../../shared/data")
}

/// Union bounding box of every feature of the collections: (min_x, min_y, max_x, max_y).
fn union_bbox(fcs: &[&Value]) -> (f64, f64, f64, f64) {
    let mut b = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for fc in fcs {
        for f in fc["features"].as_array().expect("features") {
            let mp = parse_area(f).expect("valid area");
            let r = mp.bounding_rect().expect("non-empty");
            b = (
                b.0.min(r.min().x),
                b.1.min(r.min().y),
                b.2.max(r.max().x),
                b.3.max(r.max().y),
            );
        }
    }
    b
}

fn points_in(b: (f64, f64, f64, f64), seed: u64, n: usize) -> Vec<(f64, f64)> {
    let mut r = Rng(seed);
    (0..n)
        .map(|_| {
            (
                b.0 + r.next_f64() * (b.2 - b.0),
                b.1 + r.next_f64() * (b.3 - b.1),
            )
        })
        .collect()
}

struct Scenario {
    name: &'static str,
    tenant: &'static str,
    points: Vec<(f64, f64)>,
}

struct Fixture {
    rt: tokio::runtime::Runtime,
    geo: Geo,
    scenarios: Vec<Scenario>,
    queens: MultiPolygon<f64>,
    queens_prepared: PreparedArea,
    _tmp: tempfile::TempDir,
}

/// Builds the server's index the way `onecity serve --demo` does (crates/onecity/src/demo.rs).
fn fixture() -> Fixture {
    let dir = data_dir();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let tmp = tempfile::tempdir().expect("tempdir");
    let started = Instant::now();
    // The same importers `onecity serve --demo` uses.
    let hz = demo_data::hangzhou_districts(&dir).expect("Hangzhou file");
    let nyc = demo_data::nyc_boroughs(&dir).expect("NYC file");
    let mel_outline = demo_data::melbourne_outline(&dir).expect("Melbourne file");
    let mel = demo_data::melbourne_suburbs(&dir).expect("Melbourne suburbs file");

    let geo = rt.block_on(async {
        let db = Db::open_sqlite(tmp.path(), &DbOptions::default())
            .await
            .expect("db");
        onecity_store::migrate::run(&db, "store", onecity_store::migrations())
            .await
            .expect("migrate store");
        onecity_store::migrate::run(&db, "iam", &onecity_iam::MIGRATIONS)
            .await
            .expect("migrate iam");
        onecity_store::migrate::run(&db, "geo", &onecity_geo::MIGRATIONS)
            .await
            .expect("migrate geo");
        let auditor = Auditor::load(&db).await.expect("auditor");
        let bus = EventBus::local(db.clone());
        let iam = Iam::new(db, auditor, bus, IamConfig::default())
            .await
            .expect("iam");
        let geo = Geo::new(iam.clone());
        let sys = Principal::system();
        for (code, name, root) in [
            ("hangzhou", "杭州市", "330100"),
            ("nyc", "New York City", "3651000"),
            ("melbourne", "City of Melbourne", "LGA24600"),
        ] {
            iam.create_tenant(
                "system",
                &NewTenant {
                    code: code.into(),
                    name: name.into(),
                    name_en: Some(name.into()),
                    root_level: Some("city".into()),
                    root_code: Some(root.into()),
                },
            )
            .await
            .expect("tenant");
        }
        geo.import(&sys, "hangzhou", &hz.features, &hz.options)
            .await
            .expect("import hangzhou");
        geo.import(&sys, "nyc", &nyc.features, &nyc.options)
            .await
            .expect("import nyc");
        geo.import(
            &sys,
            "melbourne",
            &mel_outline.features,
            &mel_outline.options,
        )
        .await
        .expect("import melbourne outline");
        geo.import(&sys, "melbourne", &mel.features, &mel.options)
            .await
            .expect("import melbourne suburbs");
        // The demo's generated grids (cell sizes as in crates/onecity/src/demo.rs).
        for (tenant, code, cell) in [
            ("hangzhou", "330106", 2000.0),
            ("hangzhou", "330102", 800.0),
            ("nyc", "36081", 3000.0),
            ("nyc", "36061", 1500.0),
            ("melbourne", "MEL-CBD-HODDLE-GRID", 400.0),
        ] {
            let j = iam
                .jurisdiction_by_code(tenant, code)
                .await
                .expect("jurisdiction")
                .unwrap_or_else(|| panic!("{tenant} has no {code}"));
            geo.generate_grids(&sys, tenant, j.id, &GridSpec { cell_size_m: cell })
                .await
                .expect("grids");
        }
        geo.refresh().await.expect("refresh");
        geo
    });
    eprintln!(
        "fixture: demo boundaries and grids imported and indexed in {:.2} s",
        started.elapsed().as_secs_f64()
    );

    let queens_f = nyc.features["features"]
        .as_array()
        .expect("features")
        .iter()
        .find(|f| f["properties"]["name"] == "Queens")
        .expect("Queens");
    let queens = parse_area(queens_f).expect("Queens area");
    let qb = queens.bounding_rect().expect("bbox");
    let queens_prepared = PreparedArea::new(&queens).expect("prepared");
    let scenarios = vec![
        Scenario {
            name: "hangzhou_bbox",
            tenant: "hangzhou",
            points: points_in(union_bbox(&[&hz.features]), 1, POINTS),
        },
        Scenario {
            name: "nyc_bbox",
            tenant: "nyc",
            points: points_in(union_bbox(&[&nyc.features]), 2, POINTS),
        },
        Scenario {
            name: "melbourne_bbox",
            tenant: "melbourne",
            points: points_in(
                union_bbox(&[&mel_outline.features, &mel.features]),
                3,
                POINTS,
            ),
        },
        Scenario {
            name: "queens_bbox",
            tenant: "nyc",
            points: points_in((qb.min().x, qb.min().y, qb.max().x, qb.max().y), 4, POINTS),
        },
    ];
    Fixture {
        rt,
        geo,
        scenarios,
        queens,
        queens_prepared,
        _tmp: tmp,
    }
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Times `n` calls of `f(i)` one by one; prints mean and percentiles in µs.
fn timed(label: &str, n: usize, mut f: impl FnMut(usize)) {
    for i in 0..n.min(10_000) {
        f(i); // warm-up
    }
    let mut ns = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i);
        ns.push(t.elapsed().as_nanos() as u64);
    }
    let mean = ns.iter().sum::<u64>() as f64 / n as f64 / 1000.0;
    ns.sort_unstable();
    println!(
        "| {label:<38} | {n:>7} | {mean:>8.2} | {:>8.2} | {:>8.2} | {:>8.2} | {:>8.2} | {:>8.2} |",
        pct(&ns, 0.5),
        pct(&ns, 0.9),
        pct(&ns, 0.99),
        pct(&ns, 0.999),
        *ns.last().expect("samples") as f64 / 1000.0
    );
}

/// What a restart pays per tenant to rebuild the index from stored GeoJSON
/// (`Geo::reload`: JSON parse → `parse_area`, which re-runs the validity check → `PreparedArea::new`).
fn index_build(dir: &Path) {
    println!("\nIndex rebuild cost per file (what `Geo::reload` does per stored boundary), ms, best of 5\n");
    println!("| file | JSON parse | parse_area (incl. validity) | validity::problems alone | PreparedArea::new |");
    println!("|---|---|---|---|---|");
    for rel in [
        "geo/hangzhou_330100_districts.geojson",
        "geo/nyc_boroughs.geojson",
        "geo/melbourne_suburbs.geojson",
    ] {
        let text = std::fs::read_to_string(dir.join(rel)).expect("read");
        let best = |f: &mut dyn FnMut()| {
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    f();
                    t.elapsed().as_secs_f64() * 1000.0
                })
                .fold(f64::MAX, f64::min)
        };
        let fc: Value = serde_json::from_str(&text).expect("json");
        let feats = fc["features"].as_array().expect("features");
        let areas: Vec<MultiPolygon<f64>> =
            feats.iter().map(|f| parse_area(f).expect("area")).collect();
        let t_json = best(&mut || {
            black_box(serde_json::from_str::<Value>(&text).expect("json"));
        });
        let t_parse = best(&mut || {
            for f in feats {
                black_box(parse_area(f).expect("area"));
            }
        });
        let t_valid = best(&mut || {
            for a in &areas {
                black_box(onecity_geo::validity::problems(a));
            }
        });
        let t_prep = best(&mut || {
            for a in &areas {
                black_box(PreparedArea::new(a));
            }
        });
        println!("| {rel} | {t_json:.1} | {t_parse:.1} | {t_valid:.1} | {t_prep:.1} |");
    }
    println!();
}

fn percentiles(fx: &Fixture) {
    // Overhead of the timing itself (two Instant::now calls).
    println!(
        "\nIndividually timed calls, µs (each includes ~Instant::now overhead; see first row)\n"
    );
    println!(
        "| {:<38} | {:>7} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} | {:>8} |",
        "scenario", "calls", "mean", "p50", "p90", "p99", "p99.9", "max"
    );
    println!("|{}", "---|".repeat(8));
    timed("timer overhead (empty call)", TIMED, |i| {
        black_box(i);
    });
    for s in &fx.scenarios {
        timed(&format!("lookup_unchecked {}", s.name), TIMED, |i| {
            let (x, y) = s.points[i % POINTS];
            black_box(fx.geo.lookup_unchecked(s.tenant, x, y));
        });
    }
    let q = &fx.scenarios[3];
    timed("PreparedArea::contains queens_bbox", TIMED, |i| {
        let (x, y) = q.points[i % POINTS];
        black_box(fx.queens_prepared.contains(x, y));
    });
    timed("geo::Contains (unprepared) queens", 2_000, |i| {
        let (x, y) = q.points[i % POINTS];
        black_box(fx.queens.contains(&Point::new(x, y)));
    });
    let sys = Principal::system();
    timed("Geo::lookup nyc_bbox (+tenant check)", 20_000, |i| {
        let (x, y) = fx.scenarios[1].points[i % POINTS];
        black_box(
            fx.rt
                .block_on(fx.geo.lookup(&sys, "nyc", x, y))
                .expect("lookup"),
        );
    });
    println!();
    // Hit rates, so the numbers can be read against how much of each box is land.
    for s in &fx.scenarios {
        let mut inside = 0;
        let mut grid = 0;
        for &(x, y) in &s.points {
            let r = fx.geo.lookup_unchecked(s.tenant, x, y);
            inside += usize::from(r.jurisdictions.len() > 1);
            grid += usize::from(r.grid.is_some());
        }
        println!(
            "{:<15} {} points: {:.1}% inside a district/borough/suburb, {:.1}% inside a grid cell",
            s.name,
            POINTS,
            100.0 * inside as f64 / POINTS as f64,
            100.0 * grid as f64 / POINTS as f64
        );
    }
    println!();
}

fn benches(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("lookup_unchecked");
    for s in &fx.scenarios {
        let mut i = 0usize;
        g.bench_function(s.name, |b| {
            b.iter(|| {
                i = (i + 1) % POINTS;
                let (x, y) = s.points[i];
                fx.geo
                    .lookup_unchecked(black_box(s.tenant), black_box(x), black_box(y))
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("pip");
    let q = &fx.scenarios[3];
    let mut i = 0usize;
    g.bench_function("prepared_queens_bbox", |b| {
        b.iter(|| {
            i = (i + 1) % POINTS;
            let (x, y) = q.points[i];
            fx.queens_prepared.contains(black_box(x), black_box(y))
        })
    });
    g.finish();

    let mut g = c.benchmark_group("lookup_checked");
    let sys = Principal::system();
    let mut i = 0usize;
    g.bench_function("nyc_bbox", |b| {
        b.iter(|| {
            i = (i + 1) % POINTS;
            let (x, y) = fx.scenarios[1].points[i];
            fx.rt
                .block_on(fx.geo.lookup(&sys, "nyc", x, y))
                .expect("lookup")
        })
    });
    g.finish();
}

fn main() {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let fx = fixture();
    if bench_mode && std::env::var_os("ONECITY_BENCH_SKIP_PERCENTILES").is_none() {
        percentiles(&fx);
        index_build(&data_dir());
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    benches(&mut c, &fx);
    c.final_summary();
}
