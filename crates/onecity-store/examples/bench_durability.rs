//! The cost of `synchronous=FULL` against `NORMAL` on the embedded store, in one run.
//!
//! ```sh
//! cargo run --release -p onecity-store --example bench_durability -- 3000
//! ```
//!
//! Two write shapes, each a transaction as the platform commits it, run by 8 concurrent
//! writers (they queue on SQLite's one writer connection, as in `onecity serve`):
//! - `twin`: one entity row updated and one history row appended (an NGSI-LD attribute
//!   update with history);
//! - `open311`: an event row, an audit row and an outbox row inserted (a 311 service
//!   request with its audit record and platform event).
//!
//! Prints commits per second and the ratio for each shape. The argument is the number of
//! commits per shape and setting (default 3000). The data directory is a fresh temporary
//! folder on the same disk as `/tmp`.

use onecity_store::{args, Db, DbOptions, Durability};
use std::time::Instant;

const WRITERS: usize = 8;

async fn open(durability: Durability) -> (Db, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open_sqlite(
        dir.path(),
        &DbOptions {
            sqlite_durability: durability,
            ..Default::default()
        },
    )
    .await
    .expect("open");
    for ddl in [
        "CREATE TABLE entities (id TEXT PRIMARY KEY, body TEXT NOT NULL, modified_at BIGINT NOT NULL)",
        "CREATE TABLE history (entity_id TEXT NOT NULL, attr TEXT NOT NULL, observed_at BIGINT NOT NULL, num DOUBLE PRECISION, body TEXT NOT NULL)",
        "CREATE TABLE events (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, service_code TEXT NOT NULL, lat DOUBLE PRECISION, lon DOUBLE PRECISION, description TEXT, created_at BIGINT NOT NULL)",
        "CREATE TABLE audit (seq INTEGER PRIMARY KEY, actor TEXT NOT NULL, action TEXT NOT NULL, hash TEXT NOT NULL)",
        "CREATE TABLE outbox (seq INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL)",
    ] {
        db.execute(ddl, &[]).await.expect("ddl");
    }
    for i in 0..1000 {
        db.execute(
            "INSERT INTO entities (id, body, modified_at) VALUES ($1, $2, 0)",
            args![
                format!("urn:ngsi-ld:AirQualityObserved:{i}"),
                "{\"pm10\":42}"
            ],
        )
        .await
        .expect("seed");
    }
    (db, dir)
}

async fn twin_commit(db: &Db, i: usize) {
    let mut tx = db.begin().await.expect("begin");
    let id = format!("urn:ngsi-ld:AirQualityObserved:{}", i % 1000);
    let now = i as i64;
    tx.execute(
        "UPDATE entities SET body = $1, modified_at = $2 WHERE id = $3",
        args![format!("{{\"pm10\":{}}}", i % 300), now, id.clone()],
    )
    .await
    .expect("update");
    tx.execute(
        "INSERT INTO history (entity_id, attr, observed_at, num, body) VALUES ($1, 'pm10', $2, $3, $4)",
        args![id, now, (i % 300) as f64, "{\"type\":\"Property\"}"],
    )
    .await
    .expect("history");
    tx.commit().await.expect("commit");
}

async fn open311_commit(db: &Db, i: usize) {
    let mut tx = db.begin().await.expect("begin");
    let id = onecity_core::new_id().to_string();
    tx.execute(
        "INSERT INTO events (id, tenant, service_code, lat, lon, description, created_at) VALUES ($1, 'nyc', 'pothole', $2, $3, $4, $5)",
        args![id.clone(), 40.7033, -74.017, "Pothole on Broadway", i as i64],
    )
    .await
    .expect("event");
    tx.execute(
        "INSERT INTO audit (actor, action, hash) VALUES ('app:311', 'event.create', $1)",
        args![format!("{i:064x}")],
    )
    .await
    .expect("audit");
    tx.execute(
        "INSERT INTO outbox (topic, payload) VALUES ('gov.event.created', $1)",
        args![format!("{{\"id\":\"{id}\"}}")],
    )
    .await
    .expect("outbox");
    tx.commit().await.expect("commit");
}

async fn run(shape: &str, durability: Durability, n: usize) -> f64 {
    let (db, _dir) = open(durability).await;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        let db = db.clone();
        let shape = shape.to_string();
        tasks.push(tokio::spawn(async move {
            let mut i = w;
            while i < n {
                if shape == "twin" {
                    twin_commit(&db, i).await;
                } else {
                    open311_commit(&db, i).await;
                }
                i += WRITERS;
            }
        }));
    }
    for t in tasks {
        t.await.expect("writer");
    }
    let rate = n as f64 / start.elapsed().as_secs_f64();
    db.close().await;
    rate
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3000);
    println!("commits per shape and setting: {n}, writers: {WRITERS}");
    for shape in ["twin", "open311"] {
        // Interleaved twice so a burst of other load does not favour one setting.
        let mut full = Vec::new();
        let mut normal = Vec::new();
        for _ in 0..2 {
            normal.push(run(shape, Durability::Normal, n).await);
            full.push(run(shape, Durability::Full, n).await);
        }
        let best = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
        let (f, nm) = (best(&full), best(&normal));
        println!(
            "shape={shape} normal={nm:.0}/s full={f:.0}/s full/normal={:.2}",
            f / nm
        );
    }
}
