//! Catalog search over a large generated catalog on the embedded store (SQLite, WAL).
//!
//! ```text
//! cargo run --release -p onecity-catalog --example bench_search -- [datasets] [searches] [kind]
//! ```
//! defaults: 100000 datasets, 2000 searches per query kind, every kind (`kind`: only the
//! kinds whose name contains it, e.g. `everything`; for instruction counts under
//! `valgrind --tool=callgrind`). Titles combine Chinese and
//! English words from a fixed vocabulary (deterministic); each dataset has 3 tags and 2
//! resources. Prints the index build time and p50/p99/max per query kind (CKAN
//! `package_search` semantics: rows=10, facets organization, tags, res_format). Nothing
//! here runs in CI.

use onecity_catalog::search::SearchRequest;
use onecity_catalog::Catalog;
use onecity_iam::{Iam, IamConfig, NewDepartment, NewTenant, Principal};
use onecity_store::audit::Auditor;
use onecity_store::bus::EventBus;
use onecity_store::{Db, DbOptions, Val};
use std::time::Instant;

const ZH: &[&str] = &[
    "公交", "地铁", "水位", "河道", "人口", "医院", "学校", "停车", "路灯", "垃圾", "绿地", "空气",
    "噪声", "企业", "许可", "房屋", "道路", "桥梁", "消防", "气象",
];
const EN: &[&str] = &[
    "bus",
    "metro",
    "water",
    "river",
    "population",
    "hospital",
    "school",
    "parking",
    "lights",
    "waste",
    "parks",
    "air",
    "noise",
    "business",
    "licence",
    "housing",
    "roads",
    "bridges",
    "fire",
    "weather",
];
const FMT: &[&str] = &["CSV", "JSON", "XLSX", "API", "GEOJSON"];

/// Builds the i-th request of a query kind.
type MakeRequest = Box<dyn Fn(usize) -> SearchRequest>;

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let searches: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let only: Option<&str> = args.get(3).map(String::as_str);
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_sqlite(dir.path(), &DbOptions::default())
        .await
        .unwrap();
    for (c, m) in [
        ("store", onecity_store::migrations()),
        ("iam", &onecity_iam::MIGRATIONS[..]),
        ("catalog", &onecity_catalog::MIGRATIONS[..]),
    ] {
        onecity_store::migrate::run(&db, c, m).await.unwrap();
    }
    let iam = Iam::new(
        db.clone(),
        Auditor::load(&db).await.unwrap(),
        EventBus::local(db.clone()),
        IamConfig::default(),
    )
    .await
    .unwrap();
    let t = iam
        .create_tenant(
            "system",
            &NewTenant {
                code: "b".into(),
                name: "Bench".into(),
                name_en: None,
                root_level: None,
                root_code: None,
            },
        )
        .await
        .unwrap();
    let mut depts = Vec::new();
    for i in 0..20 {
        let d = iam
            .create_department(
                &Principal::system(),
                "b",
                &NewDepartment {
                    jurisdiction_id: t.root_jurisdiction_id,
                    code: format!("D{i:02}"),
                    name: format!("部门{i}"),
                    name_en: None,
                },
            )
            .await
            .unwrap();
        depts.push(d.id);
    }
    let path: String = db
        .fetch_optional(
            "SELECT path FROM jurisdictions WHERE id = $1",
            &[t.root_jurisdiction_id.into()],
        )
        .await
        .unwrap()
        .unwrap()
        .text("path")
        .unwrap();
    // Bulk rows (bypassing the per-dataset audit path, which is not what is measured here).
    let started = Instant::now();
    let now = onecity_core::time::now_micros() - 60_000_000;
    for chunk in (0..n).collect::<Vec<_>>().chunks(500) {
        let mut tx = db.begin().await.unwrap();
        for &i in chunk {
            let id = onecity_core::new_id();
            let (a, b, c) = (i % 20, (i / 20) % 20, (i / 400) % 20);
            let title = format!("{}{}数据 {} {} dataset {i}", ZH[a], ZH[b], EN[a], EN[c]);
            tx.execute(
                "INSERT INTO catalog_datasets (id, tenant, name, title, notes, owner_department_id, jurisdiction_id, jurisdiction_path, domain, grade, sensitivity, open_level, update_frequency, revision, state, created_at, updated_at) VALUES ($1, 'b', $2, $3, $4, $5, $6, $7, 'S', 'general', 1, 'unconditional', 'monthly', 1, 'active', $8, $8)",
                &[id.into(), format!("ds-{i}").into(), title.into(), format!("关于{}的{}记录 records of {}", ZH[c], ZH[a], EN[b]).into(), depts[i % 20].into(), t.root_jurisdiction_id.into(), path.clone().into(), Val::from(now + i as i64)],
            )
            .await
            .unwrap();
            for tag in [ZH[a], ZH[b], EN[c]] {
                tx.execute("INSERT INTO catalog_tags (dataset_id, tag) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[id.into(), tag.into()]).await.unwrap();
            }
            for (k, f) in [FMT[i % 5], FMT[(i + 2) % 5]].iter().enumerate() {
                tx.execute(
                    "INSERT INTO catalog_resources (id, dataset_id, tenant, position, name, format, kind, created_at, updated_at) VALUES ($1, $2, 'b', $3, $4, $5, 'file', $6, $6)",
                    &[onecity_core::new_id().into(), id.into(), (k as i64).into(), format!("r{k}").into(), (*f).into(), Val::from(now)],
                )
                .await
                .unwrap();
            }
        }
        tx.commit().await.unwrap();
    }
    println!(
        "rows: {n} datasets written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let cat = Catalog::new(iam);
    let started = Instant::now();
    let indexed = cat.refresh_index().await.unwrap();
    println!(
        "index: {indexed} datasets built in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    let facets: Vec<String> = ["organization", "tags", "res_format"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let kinds: Vec<(&str, MakeRequest)> = vec![
        (
            "one Chinese word (q=公交, ~5% match)",
            Box::new(|_| SearchRequest {
                q: "公交".into(),
                rows: 10,
                facet_limit: 50,
                ..Default::default()
            }),
        ),
        (
            "two words zh+en (q=水位 river)",
            Box::new(|_| SearchRequest {
                q: "水位 river".into(),
                rows: 10,
                facet_limit: 50,
                ..Default::default()
            }),
        ),
        (
            "word + fq + 3 facets",
            Box::new({
                let f = facets.clone();
                move |i| SearchRequest {
                    q: ZH[i % 20].into(),
                    fq: format!("res_format:{}", FMT[i % 5]),
                    rows: 10,
                    facet_fields: f.clone(),
                    facet_limit: 50,
                    ..Default::default()
                }
            }),
        ),
        (
            "rare title (q=dataset 4242)",
            Box::new(|i| SearchRequest {
                q: format!("dataset {}", (i * 7919) % 100_000),
                rows: 10,
                facet_limit: 50,
                ..Default::default()
            }),
        ),
        (
            "everything + 3 facets (q empty)",
            Box::new({
                let f = facets.clone();
                move |_| SearchRequest {
                    rows: 10,
                    facet_fields: f.clone(),
                    facet_limit: 50,
                    ..Default::default()
                }
            }),
        ),
    ];
    for (name, mk) in kinds {
        if only.is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let mut ms = Vec::with_capacity(searches);
        let mut count = 0;
        let runs = if name.starts_with("everything") {
            searches / 10
        } else {
            searches
        };
        for i in 0..runs {
            let req = mk(i);
            let t0 = Instant::now();
            let r = cat.search(None, &req).await.unwrap();
            ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            count = r.count;
        }
        let max = ms.iter().cloned().fold(0.0, f64::max);
        println!(
            "{name}: {runs} searches, last count {count}, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            pct(&mut ms, 0.5),
            pct(&mut ms, 0.99),
            max
        );
    }
}
