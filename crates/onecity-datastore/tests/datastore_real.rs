//! The datastore on the real files of `../shared/data`, on the store the test run uses
//! (`ONECITY_TEST_BACKEND=sqlite|postgres`): every CSV loads into a typed table with the
//! right row count, types and known cells; queries page, filter, search and aggregate.

use onecity_datastore::load::{self, Cell, FieldType, Format};
use onecity_datastore::store::{self as store, CreateSpec, Field, TableMeta};
use onecity_datastore::store_query::{self as query, Aggregate, ReadScope, SearchParams};
use onecity_store::{Db, DbOptions};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

async fn open() -> (Db, Option<tempfile::TempDir>) {
    let (db, dir) = match onecity_testkit::backend() {
        onecity_testkit::Backend::Postgres => {
            let url = onecity_testkit::fresh_pg_database().await.unwrap();
            (
                Db::open_postgres(&url, &DbOptions::default())
                    .await
                    .unwrap(),
                None,
            )
        }
        onecity_testkit::Backend::Sqlite => {
            let d = tempfile::tempdir().unwrap();
            (
                Db::open_sqlite(d.path(), &DbOptions::default())
                    .await
                    .unwrap(),
                Some(d),
            )
        }
    };
    onecity_store::migrate::run(&db, "datastore", &store::MIGRATIONS)
        .await
        .unwrap();
    (db, dir)
}

fn data_dir() -> PathBuf {
    onecity_testkit::repo_root().join("../shared/data")
}

async fn load(db: &Db, rid: &str, path: &Path) -> TableMeta {
    let bytes = std::fs::read(path).unwrap();
    let (raw, _) = load::parse(&bytes, Format::Csv).unwrap();
    let (types, rows) = load::convert(&raw, &HashMap::new())
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), e.detail));
    let spec = CreateSpec {
        resource_id: rid.into(),
        tenant: "t".into(),
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
        actor: "test".into(),
        ..Default::default()
    };
    let mut tx = db.begin().await.unwrap();
    let mut m = store::create_table(&mut tx, &spec).await.unwrap();
    let n = store::insert_rows(&mut tx, &m, &rows, false, |_| {})
        .await
        .unwrap();
    tx.commit().await.unwrap();
    m.row_count = n as i64;
    m
}

fn ty(m: &TableMeta, f: &str) -> FieldType {
    m.fields
        .iter()
        .find(|x| x.id == f)
        .unwrap_or_else(|| panic!("no field {f}"))
        .ty
}

async fn search(db: &Db, m: &TableMeta, p: Value) -> query::SearchResult {
    let mut p = p;
    p["resource_id"] = json!(m.resource_id);
    let params: SearchParams = serde_json::from_value(p).unwrap();
    query::search(db, m, &params, &ReadScope::default())
        .await
        .unwrap()
}

#[tokio::test]
async fn every_csv_under_shared_data_loads_typed() {
    let (db, _dir) = open().await;
    let expected: HashMap<&str, usize> = HashMap::from([
        ("air/PRSA_Data_Dongsi_20130301-20170228.csv", 35064),
        ("air/PRSA_Data_Tiantan_20130301-20170228.csv", 35064),
        ("catalog/nyc-covid/by-group.csv", 27),
        ("catalog/nyc-covid/data-by-modzcta.csv", 177),
        ("catalog/nyc-covid/deaths-by-race-age.csv", 4),
        ("catalog/nyc-covid/group-data-by-boro.csv", 18),
        ("catalog/nyc-covid/summary.csv", 4),
        ("geo/nyc_zcta_to_modzcta.csv", 215),
        ("lodging/melbourne_airbnb_listings_clean.csv", 23185),
        ("lodging/melbourne_hotels_with_suburb.csv", 5028),
        ("metro/hangzhou_flow.csv", 216000),
        ("metro/hangzhou_graph.csv", 81),
        ("metro/transdim_hangzhou_prediction_results.csv", 36),
        ("parking/birmingham_occupancy.csv", 41580),
        ("pedestrians/akl_hourly_counts.csv", 61367),
        ("pedestrians/akl_locations.csv", 21),
        ("requests311/311_nyc_sample.csv", 999),
        ("requests311/311_zip_dirty_sample.csv", 98814),
        ("water/pastas_nb5_river_level.csv", 10893),
        ("water/venice_punta_salute_tide.csv", 52990),
    ]);
    let mut found = Vec::new();
    let mut stack = vec![data_dir()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "csv") {
                found.push(p);
            }
        }
    }
    found.sort();
    assert!(found.len() >= expected.len(), "found {} CSVs", found.len());
    let mut tables = HashMap::new();
    for p in &found {
        let rel = p
            .strip_prefix(data_dir())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let m = load(&db, &rel, p).await;
        if let Some(n) = expected.get(rel.as_str()) {
            assert_eq!(m.row_count as usize, *n, "{rel}");
        }
        let r = search(&db, &m, json!({"limit": 1})).await;
        assert_eq!(r.total, Some(m.row_count), "{rel}");
        tables.insert(rel, m);
    }

    // Beijing air quality: numbers with NA cells are numeric; a known row.
    let air = &tables["air/PRSA_Data_Dongsi_20130301-20170228.csv"];
    assert_eq!(ty(air, "No"), FieldType::Int);
    assert_eq!(ty(air, "PM2.5"), FieldType::Numeric);
    assert_eq!(ty(air, "wd"), FieldType::Text);
    let r = search(&db, air, json!({"filters": {"No": 1}})).await;
    assert_eq!(r.records[0]["PM2.5"], json!(9.0));
    assert_eq!(r.records[0]["station"], json!("Dongsi"));
    assert_eq!(r.records[0]["TEMP"], json!(-0.5));
    let nulls = search(&db, air, json!({"filters": {"PM2.5": null}, "limit": 1})).await;
    assert!(nulls.total.unwrap() > 0, "NA cells are null");

    // New York COVID by ZCTA: ZIP codes as integers, a known neighbourhood.
    let nyc = &tables["catalog/nyc-covid/data-by-modzcta.csv"];
    assert_eq!(ty(nyc, "MODIFIED_ZCTA"), FieldType::Int);
    assert_eq!(ty(nyc, "label"), FieldType::Text);
    assert_eq!(ty(nyc, "COVID_CASE_RATE"), FieldType::Numeric);
    let r = search(&db, nyc, json!({"filters": {"MODIFIED_ZCTA": "10001"}})).await;
    assert_eq!(
        r.records[0]["NEIGHBORHOOD_NAME"],
        json!("Chelsea/NoMad/West Chelsea")
    );
    assert_eq!(r.records[0]["COVID_CASE_COUNT"], json!(12391));
    assert_eq!(r.records[0]["label"], json!("10001, 10118"));

    // Auckland pedestrians: columns with thousands of blank cells stay numeric.
    let akl = &tables["pedestrians/akl_hourly_counts.csv"];
    assert!(matches!(
        ty(akl, "188 Quay Street Lower Albert (EW)"),
        FieldType::Int | FieldType::Numeric
    ));
    assert_eq!(ty(akl, "hour"), FieldType::Text);
    let blanks = search(
        &db,
        akl,
        json!({"filters": {"188 Quay Street Lower Albert (EW)": null}, "limit": 1}),
    )
    .await;
    assert!(blanks.total.unwrap() > 1000);

    // Birmingham parking, semicolon-separated Venice tide, dated river levels.
    let park = &tables["parking/birmingham_occupancy.csv"];
    assert_eq!(ty(park, "occupancy"), FieldType::Int);
    let venice = &tables["water/venice_punta_salute_tide.csv"];
    assert_eq!(ty(venice, "Data"), FieldType::Timestamp);
    assert_eq!(
        ty(venice, "P. Salute Liv.Idrom. medio 1m"),
        FieldType::Numeric
    );
    let r = search(&db, venice, json!({"limit": 1, "sort": "Data asc"})).await;
    assert_eq!(r.records[0]["Data"], json!("2022-08-10T00:00:00"));
    let river = &tables["water/pastas_nb5_river_level.csv"];
    assert_eq!(ty(river, "Date"), FieldType::Date);
    // The metro graph's blank first header gets a name; dirty ZIPs stay text.
    assert_eq!(tables["metro/hangzhou_graph.csv"].fields[0].id, "column_1");
    assert_eq!(
        ty(
            &tables["requests311/311_zip_dirty_sample.csv"],
            "Incident Zip"
        ),
        FieldType::Text
    );
    let nyc311 = &tables["requests311/311_nyc_sample.csv"];
    assert_eq!(ty(nyc311, "Unique Key"), FieldType::Int);
}

#[tokio::test]
async fn keyset_pagination_filters_full_text_and_aggregates() {
    let (db, _dir) = open().await;
    let park = load(
        &db,
        "parking",
        &data_dir().join("parking/birmingham_occupancy.csv"),
    )
    .await;
    // Walk the whole table by cursor, sorted by occupancy descending.
    let mut seen = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    let mut last_occ = i64::MAX;
    let mut pages = 0;
    loop {
        let mut p = json!({"sort": "occupancy desc", "limit": 1000, "include_total": false});
        if let Some(c) = &cursor {
            p["cursor"] = json!(c);
        }
        let r = search(&db, &park, p).await;
        for rec in &r.records {
            let occ = rec["occupancy"].as_i64().unwrap();
            assert!(occ <= last_occ, "sorted");
            last_occ = occ;
            assert!(seen.insert(rec["_id"].as_i64().unwrap()), "no row twice");
        }
        pages += 1;
        match r.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 41580);
    assert_eq!(pages, 42);

    // Aggregates: car parks' mean occupancy, grouped.
    let r = search(
        &db,
        &park,
        json!({"group_by": ["carpark"], "aggregates": [{"func": "count"}, {"func": "max", "field": "occupancy"}, {"func": "avg", "field": "occupancy"}], "limit": 100}),
    )
    .await;
    let total: i64 = r.records.iter().map(|x| x["count"].as_i64().unwrap()).sum();
    assert_eq!(total, 41580);
    assert_eq!(r.total, Some(r.records.len() as i64));
    assert!(r.records[0]["avg_occupancy"].as_f64().unwrap() > 0.0);

    // Full text over the 311 sample (case-insensitive), and a field-scoped q.
    let s311 = load(
        &db,
        "311",
        &data_dir().join("requests311/311_nyc_sample.csv"),
    )
    .await;
    let all = search(&db, &s311, json!({"q": "noise", "limit": 5})).await;
    let n = all.total.unwrap();
    assert!(n > 0);
    let scoped = search(
        &db,
        &s311,
        json!({"q": {"Complaint Type": "NOISE"}, "limit": 5}),
    )
    .await;
    assert!(scoped.total.unwrap() > 0 && scoped.total.unwrap() <= n);
    for rec in &scoped.records {
        assert!(rec["Complaint Type"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("noise"));
    }
    // Odd characters in q never error.
    for q in [":", "/", "-", "+", "&", "[", "]", "%", "_", "'", "\\"] {
        search(&db, &s311, json!({"q": q, "limit": 1})).await;
    }
    // Unknown fields and bad values are validation errors.
    let bad: SearchParams =
        serde_json::from_value(json!({"resource_id": "311", "filters": {"nope": 1}})).unwrap();
    let e = query::search(&db, &s311, &bad, &ReadScope::default())
        .await
        .unwrap_err();
    assert_eq!(e.code.status(), 422, "{}", e.detail);
    assert!(
        serde_json::from_value::<SearchParams>(json!({"resource_id": "x", "bogus": 1})).is_err()
    );
    let _ = Aggregate {
        func: "count".into(),
        field: None,
    };
}

#[tokio::test]
async fn upsert_by_primary_key_and_typed_cells() {
    let (db, _dir) = open().await;
    let spec = CreateSpec {
        resource_id: "people".into(),
        tenant: "t".into(),
        grade: "important".into(),
        fields: vec![
            Field {
                id: "身份证号".into(),
                ty: FieldType::Text,
                info: None,
            },
            Field {
                id: "姓名".into(),
                ty: FieldType::Text,
                info: None,
            },
            Field {
                id: "age".into(),
                ty: FieldType::Int,
                info: None,
            },
        ],
        primary_key: vec!["身份证号".into()],
        actor: "test".into(),
        ..Default::default()
    };
    let mut tx = db.begin().await.unwrap();
    let m = store::create_table(&mut tx, &spec).await.unwrap();
    let row =
        |id: &str, n: &str, a: i64| vec![Cell::Text(id.into()), Cell::Text(n.into()), Cell::Int(a)];
    store::insert_rows(
        &mut tx,
        &m,
        &[row("11010519491231002X", "张三丰", 70)],
        false,
        |_| {},
    )
    .await
    .unwrap();
    store::insert_rows(
        &mut tx,
        &m,
        &[
            row("11010519491231002X", "张三丰", 71),
            row("110105199001010011", "李四", 30),
        ],
        true,
        |_| {},
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let r = search(&db, &m, json!({"sort": "age desc"})).await;
    assert_eq!(r.total, Some(2));
    assert_eq!(r.records[0]["age"], json!(71));
    assert_eq!(r.records[0]["姓名"], json!("张三丰"));
    // Masked read of the same rows.
    let scope = ReadScope {
        masks: serde_json::from_value(json!({"身份证号": "id_card", "姓名": "name"})).unwrap(),
        ..Default::default()
    };
    let params: SearchParams =
        serde_json::from_value(json!({"resource_id": "people", "sort": "age desc"})).unwrap();
    let r = query::search(&db, &m, &params, &scope).await.unwrap();
    assert_eq!(r.records[0]["身份证号"], json!("110105********002X"));
    assert_eq!(r.records[0]["姓名"], json!("张**"));
}
