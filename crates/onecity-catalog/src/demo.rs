//! The catalog part of the demo (演示数据): Hangzhou's catalog harvested from the real
//! catalogues under `../shared/data/catalog`, and demo datastore tables from real CSVs. The
//! binary's demo loader creates the tenants and departments, then calls [`install`].

use crate::model::{Domain, Frequency, NewDataset, NewResource, OpenLevel};
use crate::Catalog;
use onecity_core::{Error, Result};
use onecity_datastore::load::Format;
use onecity_datastore::{Datastore, LoadOptions};
use onecity_iam::Principal;
use std::path::Path;

/// Installs the demo catalog (数据目录) of Hangzhou: the real ckanext-dcat and Birmingham catalogues
/// under `catalog/` harvested into the data resources bureau, and three of the city's own
/// datasets. Skipped when the data bureau is missing (a tenant made by an older version).
pub async fn install(catalog: &Catalog, datastore: &Datastore, dir: &Path) -> Result<()> {
    let dept = |code: &'static str| async move {
        catalog.iam().department_by_code("hangzhou", code).await
    };
    let Some(bureau) = dept("HZ-SJJ").await? else {
        return Ok(());
    };
    let mut own = Vec::new();
    for code in ["HZ-JTJ", "HZ-SLJ", "HZ-GAJ"] {
        own.push(
            dept(code)
                .await?
                .ok_or_else(|| Error::not_found(format!("demo department {code} is missing")))?
                .id,
        );
    }
    let n = catalog.load_demo(dir, bureau.id, &own).await?;
    if n > 0 {
        tracing::info!(tenant = "hangzhou", datasets = n, "demo catalog loaded");
        datastore_tables(catalog, datastore, dir, bureau.id).await?;
    }
    Ok(())
}

/// Rows loaded at most from one demo CSV (the rest is left out to keep start-up fast; the
/// dataset's description says so).
pub const DEMO_TABLE_ROW_CAP: usize = 5_000;

/// Demo datastore tables (数据表): real CSVs from the shared data, each the table of the
/// resource of an open demo dataset of the Hangzhou data bureau. Small files load fully,
/// big ones up to [`DEMO_TABLE_ROW_CAP`] rows.
async fn datastore_tables(
    catalog: &Catalog,
    datastore: &Datastore,
    dir: &Path,
    bureau: uuid::Uuid,
) -> Result<()> {
    let sets: [(&str, &str, &str, &str, &str); 4] = [
        (
            "nyc-covid-by-modzcta",
            "纽约新冠病例（按邮编区）",
            "NYC COVID-19 cases by ZIP code tabulation area",
            "catalog/nyc-covid/data-by-modzcta.csv",
            "health",
        ),
        (
            "beijing-air-dongsi",
            "北京东四站空气质量",
            "Beijing air quality, Dongsi station (2013–2017)",
            "air/PRSA_Data_Dongsi_20130301-20170228.csv",
            "environment",
        ),
        (
            "birmingham-parking-occupancy",
            "伯明翰停车场占用",
            "Birmingham car park occupancy",
            "parking/birmingham_occupancy.csv",
            "transport",
        ),
        (
            "hangzhou-metro-flows",
            "杭州地铁进站客流",
            "Hangzhou metro station entry flows",
            "metro/hangzhou_flow.csv",
            "transport",
        ),
    ];
    let system = Principal::system();
    for (name, title, title_en, rel, topic) in sets {
        let path = dir.join(rel);
        let Ok(bytes) = std::fs::read(&path) else {
            tracing::warn!(path = %path.display(), "demo CSV missing; table skipped");
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let total = text.lines().count().saturating_sub(1);
        let (body, note_zh, note_en) = if total > DEMO_TABLE_ROW_CAP {
            let cut: String = text
                .lines()
                .take(DEMO_TABLE_ROW_CAP + 1)
                .flat_map(|l| [l, "\n"])
                .collect();
            (
                cut.into_bytes(),
                format!("演示数据表仅含前 {DEMO_TABLE_ROW_CAP} 行（原文件 {total} 行）。"),
                format!("The demo table holds the first {DEMO_TABLE_ROW_CAP} of the file's {total} rows."),
            )
        } else {
            (
                bytes.clone(),
                format!("演示数据表含原文件全部 {total} 行。"),
                format!("The demo table holds all {total} rows of the file."),
            )
        };
        let rid = onecity_core::new_id();
        let n = NewDataset {
            name: Some(name.into()),
            title: title.into(),
            title_en: Some(title_en.into()),
            notes: Some(format!("来源：../shared/data/{rel}。{note_zh}")),
            notes_en: Some(format!("Source: ../shared/data/{rel}. {note_en}")),
            owner_department_id: bureau,
            domain: Some(Domain::S),
            topic: Some(topic.into()),
            open_level: Some(OpenLevel::Unconditional),
            update_frequency: Some(Frequency::Never),
            tags: vec!["demo".into(), "datastore".into()],
            resources: vec![NewResource {
                id: Some(rid),
                name: Some(format!("{title_en} (CSV)")),
                format: Some("CSV".into()),
                url: Some(format!("/api/3/action/datastore_search?resource_id={rid}")),
                ..Default::default()
            }],
            ..Default::default()
        };
        catalog.create(&system, None, &n).await?;
        let opts = LoadOptions {
            tenant: Some("hangzhou".into()),
            public: true,
            ..Default::default()
        };
        let m = datastore
            .load_file(&system, &rid.to_string(), &body, Format::Csv, &opts, None)
            .await?;
        tracing::info!(
            dataset = name,
            rows = m.row_count,
            "demo datastore table loaded"
        );
    }
    Ok(())
}
