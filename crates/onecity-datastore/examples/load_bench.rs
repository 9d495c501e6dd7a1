//! Datastore load speed: `cargo run --release -p onecity-catalog --example load_bench -- <csv> [postgres-url]`.
//! Prints parse + infer + convert time, insert time and rows/s (best of 3 runs, each into a
//! fresh table). SQLite in a temporary directory unless a PostgreSQL URL is given.

use onecity_datastore::load::{self, Format};
use onecity_datastore::store::{self as store, CreateSpec, Field};
use onecity_store::{Db, DbOptions};
use std::collections::HashMap;
use std::time::Instant;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: load_bench <csv> [postgres-url]");
    let dir = tempfile::tempdir().unwrap();
    let db = match args.get(2) {
        Some(url) => Db::open_postgres(url, &DbOptions::default()).await.unwrap(),
        None => Db::open_sqlite(dir.path(), &DbOptions::default())
            .await
            .unwrap(),
    };
    onecity_store::migrate::run(&db, "datastore", &store::MIGRATIONS)
        .await
        .unwrap();
    let bytes = std::fs::read(path).unwrap();
    let mut best = f64::MAX;
    let mut best_parse = f64::MAX;
    let mut n = 0;
    for run in 0..3 {
        let t0 = Instant::now();
        let (raw, _) = load::parse(&bytes, Format::Csv).unwrap();
        let (types, rows) = load::convert(&raw, &HashMap::new()).unwrap();
        let parse = t0.elapsed().as_secs_f64();
        let spec = CreateSpec {
            resource_id: format!("bench-{run}"),
            tenant: "bench".into(),
            grade: "general".into(),
            fields: raw
                .headers
                .iter()
                .zip(types)
                .map(|(h, t)| Field {
                    id: h.clone(),
                    ty: t,
                    info: None,
                })
                .collect(),
            actor: "bench".into(),
            ..Default::default()
        };
        let mut tx = db.begin().await.unwrap();
        let m = store::create_table(&mut tx, &spec).await.unwrap();
        n = store::insert_rows(&mut tx, &m, &rows, false, |_| {})
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let total = t0.elapsed().as_secs_f64();
        println!(
            "run {run}: {n} rows x {} cols: parse+infer+convert {:.3} s, insert {:.3} s, total {:.3} s, {:.0} rows/s",
            spec.fields.len(),
            parse,
            total - parse,
            total,
            n as f64 / total
        );
        best = best.min(total);
        best_parse = best_parse.min(parse);
    }
    println!(
        "best: {n} rows in {best:.3} s = {:.0} rows/s (parse+infer+convert alone {:.0} rows/s)",
        n as f64 / best,
        n as f64 / best_parse
    );
}
