//! Load scenario of the digital twin (the service layer, no HTTP): seeds N entities,
//! then measures attribute updates/s with history, entity reads/s, q + geo query latency,
//! a 5,000-entity batch upsert, and reading one day of 10-minute history for 80 entities.
//!
//! ```text
//! cargo run --release -p onecity-twin --example twin_load -- [--entities 100000] [--secs 10]
//!     [--writers 64] [--pg postgres://postgres@127.0.0.1:5432/twin_bench]
//! ```
//!
//! SQLite runs in a temporary directory (WAL, synchronous=NORMAL, as `onecity serve`).
//! The load generator runs in the same process and shares the cores; the outbox relay runs
//! too, as in `onecity serve` (every write also writes one outbox event per entity, which
//! the relay fans out to one registered local consumer and marks published); `--relay 0`
//! leaves it out.

use onecity_store::{audit::Auditor, bus::EventBus, Db, DbOptions};
use onecity_twin::model::{self, AttrKind, Attribute, Entity};
use onecity_twin::{context::Context, EntityOp, Query, Twin, TwinConfig};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// A small deterministic PRNG (xorshift64*), so runs are repeatable without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn prop(v: serde_json::Value, observed: Option<String>, now: i64) -> Attribute {
    Attribute {
        kind: AttrKind::Property,
        value: v,
        dataset_id: None,
        observed_at: observed,
        unit_code: None,
        lang: None,
        created_at: now,
        modified_at: now,
        sub: BTreeMap::new(),
    }
}

fn sensor(i: usize, rng: &mut Rng, ctx: &Context) -> Entity {
    // Beijing's urban area: lon 116.20–116.60, lat 39.80–40.05.
    let lon = 116.2 + rng.f() * 0.4;
    let lat = 39.8 + rng.f() * 0.25;
    let mut attrs = BTreeMap::new();
    attrs.insert(
        ctx.expand("pm10"),
        vec![prop(json!((rng.f() * 150.0).round()), None, 0)],
    );
    attrs.insert(ctx.expand("status"), vec![prop(json!("ok"), None, 0)]);
    attrs.insert(
        ctx.expand("location"),
        vec![Attribute {
            kind: AttrKind::GeoProperty,
            ..prop(json!({"type": "Point", "coordinates": [lon, lat]}), None, 0)
        }],
    );
    Entity {
        id: format!("urn:ngsi-ld:AirQualityObserved:s{i:06}"),
        types: vec![ctx.expand("AirQualityObserved")],
        scope: vec![],
        created_at: 0,
        modified_at: 0,
        attrs,
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let n: usize = arg("--entities", "100000").parse()?;
    let secs: u64 = arg("--secs", "10").parse()?;
    let writers: usize = arg("--writers", "64").parse()?;
    let pg = arg("--pg", "");
    let dir = tempfile::tempdir()?;
    let db = if pg.is_empty() {
        Db::open_sqlite(dir.path(), &DbOptions::default()).await?
    } else {
        Db::open_postgres(&pg, &DbOptions::default()).await?
    };
    onecity_store::migrate::run(&db, "store", onecity_store::migrations()).await?;
    onecity_store::migrate::run(&db, "iam", &onecity_iam::MIGRATIONS).await?;
    onecity_store::migrate::run(&db, "twin", &onecity_twin::MIGRATIONS).await?;
    let auditor = Auditor::load(&db).await?;
    let iam = onecity_iam::Iam::new(
        db.clone(),
        auditor,
        EventBus::local(db.clone()),
        Default::default(),
    )
    .await?;
    let (_stop_relay, relay_stop) = tokio::sync::watch::channel(false);
    if arg("--relay", "1") != "0" {
        let bus = iam.bus().clone();
        bus.register("bench.sink").await?;
        tokio::spawn(bus.run_relay(relay_stop));
    }
    let twin = Twin::new(iam, TwinConfig::default())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ctx = Context::core();
    let tenant = "bench";
    println!(
        "store: {}",
        if pg.is_empty() {
            "SQLite (WAL)"
        } else {
            "PostgreSQL"
        }
    );

    // 1. Seed with batches of 5,000 (the batch-upsert measurement).
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let t0 = Instant::now();
    let mut batch_ms = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(5000) {
        let ops: Vec<EntityOp> = chunk
            .iter()
            .map(|&i| {
                let e = sensor(i, &mut rng, &ctx);
                EntityOp {
                    tenant: tenant.into(),
                    id: e.id.clone(),
                    f: onecity_twin::replace_op(e, true),
                }
            })
            .collect();
        let tb = Instant::now();
        let res = twin.apply(ops).await;
        batch_ms.push(tb.elapsed().as_secs_f64() * 1000.0);
        assert!(res.iter().all(|r| r.is_ok()));
    }
    println!(
        "seed: {n} entities in {:.2} s; batch upsert of 5,000 entities (with history): median {:.0} ms, max {:.0} ms",
        t0.elapsed().as_secs_f64(),
        pct(&mut batch_ms.clone(), 0.5),
        pct(&mut batch_ms, 1.0)
    );

    // 2. Attribute updates with history: `writers` concurrent callers, one attribute each.
    let done = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(secs);
    let pm10 = ctx.expand("pm10");
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (twin, done, pm10) = (twin.clone(), done.clone(), pm10.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(w as u64 * 7919 + 1);
            let mut k = 0u64;
            while Instant::now() < stop {
                let i = (rng.next() as usize) % n;
                let obs = model::format_micros(onecity_core::time::now_micros());
                let a = prop(json!((rng.f() * 150.0).round()), Some(obs), 0);
                let id = format!("urn:ngsi-ld:AirQualityObserved:s{i:06}");
                let r = twin
                    .update_attrs("bench", &id, vec![(pm10.clone(), a)])
                    .await;
                if r.is_ok() {
                    k += 1;
                }
            }
            done.fetch_add(k, Ordering::Relaxed);
        }));
    }
    let tu = Instant::now();
    for t in tasks {
        t.await?;
    }
    let upd = done.load(Ordering::Relaxed) as f64 / tu.elapsed().as_secs_f64();
    println!("attribute updates with history: {upd:.0}/s ({writers} concurrent writers, {secs} s)");

    // 3. Entity reads (get + normalized rendering), 2 tasks.
    let reads = Arc::new(AtomicU64::new(0));
    let stop = Instant::now() + Duration::from_secs(secs.min(5));
    let mut tasks = Vec::new();
    for w in 0..2u64 {
        let (twin, reads, ctx) = (twin.clone(), reads.clone(), ctx.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng(w + 99);
            let mut k = 0u64;
            let o = model::RenderOpts::default();
            while Instant::now() < stop {
                for _ in 0..256 {
                    let i = (rng.next() as usize) % n;
                    let e = twin
                        .get("bench", &format!("urn:ngsi-ld:AirQualityObserved:s{i:06}"))
                        .expect("exists");
                    let body = model::render_entity(&e, &ctx, &o).to_string();
                    k += (!body.is_empty()) as u64;
                }
                tokio::task::yield_now().await;
            }
            reads.fetch_add(k, Ordering::Relaxed);
        }));
    }
    let tr = Instant::now();
    for t in tasks {
        t.await?;
    }
    println!(
        "entity GETs (lookup + normalized JSON): {:.0}/s",
        reads.load(Ordering::Relaxed) as f64 / tr.elapsed().as_secs_f64()
    );

    // 4. q + geo over all entities: type, q=pm10>50, near 1 km of a random point, limit 100.
    let mut lat_ms = Vec::new();
    let q = onecity_twin::q::parse("pm10>50;status==\"ok\"").map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut matched = 0usize;
    for _ in 0..1000 {
        let (lon, lat) = (116.2 + rng.f() * 0.4, 39.8 + rng.f() * 0.25);
        let geo = onecity_twin::geoq::parse(
            "near;maxDistance==1000",
            Some("Point"),
            Some(&json!([lon, lat])),
            None,
            &ctx,
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let query = Query {
            types: vec![ctx.expand("AirQualityObserved")],
            q: Some(q.clone()),
            geo: Some(geo),
            ..Default::default()
        };
        let t = Instant::now();
        let (page, total) = twin.query("bench", &query, &ctx, 0, 100);
        let _body: Vec<_> = page
            .iter()
            .map(|e| model::render_entity(e, &ctx, &Default::default()))
            .collect();
        lat_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        matched += total;
    }
    println!(
        "q + geo over {n} entities (near 1 km, pm10>50): p50 {:.2} ms, p99 {:.2} ms, mean matches {:.1}",
        pct(&mut lat_ms.clone(), 0.5),
        pct(&mut lat_ms, 0.99),
        matched as f64 / 1000.0
    );

    // 5. One day of 10-minute history for 80 entities, read back.
    let day0 = model::parse_datetime("2024-05-01T00:00:00Z").unwrap_or(0);
    for i in 0..80 {
        let inst: Vec<(String, Attribute)> = (0..144)
            .map(|k| {
                (
                    pm10.clone(),
                    prop(
                        json!(k as f64),
                        Some(model::format_micros(day0 + k * 600_000_000)),
                        0,
                    ),
                )
            })
            .collect();
        twin.append_history(
            "bench",
            &format!("urn:ngsi-ld:AirQualityObserved:s{i:06}"),
            vec![],
            inst,
            false,
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let ids: Vec<String> = (0..80)
        .map(|i| format!("urn:ngsi-ld:AirQualityObserved:s{i:06}"))
        .collect();
    let tf = onecity_twin::temporal::TimeFilter {
        from: Some(day0),
        to: Some(day0 + 86_400_000_000),
    };
    let mut ms = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let rows =
            onecity_twin::temporal::history(&twin, "bench", &ids, std::slice::from_ref(&pm10), tf)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(rows.len(), 80 * 144);
    }
    println!(
        "one day of 10-minute history for 80 entities (11,520 rows): median {:.1} ms, max {:.1} ms",
        pct(&mut ms.clone(), 0.5),
        pct(&mut ms, 1.0)
    );
    Ok(())
}
