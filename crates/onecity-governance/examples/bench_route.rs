//! Routing decision (派单决策) latency over every boundary of every tenant.
//!
//! ```text
//! cargo run --release -p onecity-governance --example bench_route -- <data-dir> [points-per-boundary] [service-code]
//! ```
//!
//! `<data-dir>` is a SQLite data directory written by `onecity serve --demo` (stop the
//! server first, or copy the directory): the real demo boundaries, grids, departments,
//! settings and dispatch rules. `benches/governance.sh` keeps one with `KEEP_DATA=1`.
//! A routing decision is what `Gov::create_event` does before it writes anything: the
//! placement (`Gov::place`: the spatial-index lookup of the point plus 8 border probes at
//! the tenant's `border_distance_m`) and the dispatch decision (`Gov::decide`: the
//! jurisdiction's chain from the store, then the `gov_rules` query and ranking).
//!
//! For every boundary in `boundaries`, `points-per-boundary` (default 200) fixed-seed
//! uniform points in its bounding box are routed, each call timed on its own
//! (`Instant` around it). Points that no jurisdiction covers are refused by `place`
//! (`outside`) and timed separately. Prints p50/p90/p99/p99.9/max in µs per tenant and in
//! total, for `place` alone, `decide` alone and the whole decision. Nothing here runs in CI.

use onecity_flow::Flow;
use onecity_geo::Geo;
use onecity_governance::Gov;
use onecity_iam::{Iam, IamConfig};
use onecity_store::audit::Auditor;
use onecity_store::bus::EventBus;
use onecity_store::{Db, DbOptions};
use std::collections::BTreeMap;
use std::time::Instant;

/// SplitMix64 with a fixed seed, so every run routes the same points.
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

/// Timings in µs of one group of calls.
#[derive(Default)]
struct Times {
    place: Vec<f64>,
    decide: Vec<f64>,
    total: Vec<f64>,
    outside: Vec<f64>,
}

fn line(name: &str, v: &mut [f64]) {
    if v.is_empty() {
        return;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "  {name:<28} n={:>7}  mean {mean:>8.1}  p50 {:>8.1}  p90 {:>8.1}  p99 {:>8.1}  p99.9 {:>8.1}  max {:>9.1}",
        v.len(),
        p(0.5),
        p(0.9),
        p(0.99),
        p(0.999),
        v[v.len() - 1]
    );
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .expect("usage: bench_route <data-dir> [points-per-boundary] [service-code]");
    let per: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200);
    let code = args.get(3).cloned().unwrap_or_else(|| "pothole".into());
    let db = Db::open_sqlite(std::path::Path::new(dir), &DbOptions::default())
        .await
        .expect("open the data dir");
    let iam = Iam::new(
        db.clone(),
        Auditor::load(&db).await.unwrap(),
        EventBus::local(db.clone()),
        IamConfig::default(),
    )
    .await
    .unwrap();
    let geo = Geo::new(iam.clone());
    let t0 = Instant::now();
    let n = geo.refresh().await.unwrap();
    println!(
        "index: {n} tenants loaded in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    let gov = Gov::new(geo, Flow::new(iam));
    let boundaries = db
        .fetch_all(
            "SELECT tenant, min_lon, min_lat, max_lon, max_lat FROM boundaries ORDER BY tenant, jurisdiction_id",
            &[],
        )
        .await
        .unwrap();
    let mut rules: BTreeMap<String, i64> = BTreeMap::new();
    for r in db
        .fetch_all(
            "SELECT tenant, count(*) AS n FROM gov_rules GROUP BY tenant",
            &[],
        )
        .await
        .unwrap()
    {
        rules.insert(r.text("tenant").unwrap(), r.i64("n").unwrap());
    }
    let mut by_tenant: BTreeMap<String, (usize, Times)> = BTreeMap::new();
    let mut rng = Rng(0x5EED_0311);
    let mut routed_to_rule = 0usize;
    for b in &boundaries {
        let tenant = b.text("tenant").unwrap();
        let (x0, y0, x1, y1) = (
            b.f64("min_lon").unwrap(),
            b.f64("min_lat").unwrap(),
            b.f64("max_lon").unwrap(),
            b.f64("max_lat").unwrap(),
        );
        let border = gov.settings(&tenant).await.unwrap().border_distance_m;
        let e = by_tenant.entry(tenant.clone()).or_default();
        e.0 += 1;
        for _ in 0..per {
            let lon = x0 + (x1 - x0) * rng.next_f64();
            let lat = y0 + (y1 - y0) * rng.next_f64();
            let t = Instant::now();
            let placed = gov.place(&tenant, lat, lon, border);
            let tp = t.elapsed();
            match placed {
                Err(_) => e.1.outside.push(tp.as_secs_f64() * 1e6),
                Ok(place) => {
                    let t2 = Instant::now();
                    let d = gov.decide(&tenant, &code, &place).await.unwrap();
                    let td = t2.elapsed();
                    let all = t.elapsed();
                    routed_to_rule += d.department_id.is_some() as usize;
                    e.1.place.push(tp.as_secs_f64() * 1e6);
                    e.1.decide.push(td.as_secs_f64() * 1e6);
                    e.1.total.push(all.as_secs_f64() * 1e6);
                }
            }
        }
    }
    println!(
        "{} boundaries, {per} points each, service code {code:?}; {routed_to_rule} decisions named a department; times in µs",
        boundaries.len()
    );
    let mut all = Times::default();
    for (tenant, (nb, mut t)) in by_tenant {
        println!(
            "{tenant}: {nb} boundaries, {} dispatch rules",
            rules.get(&tenant).copied().unwrap_or(0)
        );
        line("place (9 index lookups)", &mut t.place);
        line("decide (chain + rules)", &mut t.decide);
        line("routing decision", &mut t.total);
        line("outside (refused)", &mut t.outside);
        all.place.extend(t.place);
        all.decide.extend(t.decide);
        all.total.extend(t.total);
        all.outside.extend(t.outside);
    }
    println!("all tenants:");
    line("place (9 index lookups)", &mut all.place);
    line("decide (chain + rules)", &mut all.decide);
    line("routing decision", &mut all.total);
    line("outside (refused)", &mut all.outside);
}
