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

/// What [`synthetic_register`] loaded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SyntheticRegister {
    /// Tenant code.
    pub tenant: String,
    /// Datastore resource id of the persons table (合成人口库).
    pub persons_resource_id: String,
    /// Rows in it.
    pub persons: i64,
    /// Datastore resource id of the companies table (合成法人库).
    pub companies_resource_id: String,
    /// Rows in it.
    pub companies: i64,
    /// The seed used: the same seed, rows and jurisdictions give the same tables.
    pub seed: u64,
}

/// Catalog name of the synthetic persons dataset.
pub const SYNTHETIC_PERSONS: &str = "synthetic-register-persons";
/// Catalog name of the synthetic companies dataset.
pub const SYNTHETIC_COMPANIES: &str = "synthetic-register-companies";

/// Loads a synthetic register (合成人口与法人库, see `onecity_iam::synthetic`) into two
/// datastore tables of `tenant`, owned by `department` (a department code; default: the
/// tenant's first department): `rows` persons living in the tenant's jurisdictions and
/// `rows / 10` companies (at least 1), every row flagged `synthetic`. The datasets are not
/// opened (不予开放), graded important (重要数据), and their personal fields are masked for
/// everyone but the owner (name, id number, phone, address). Loading again with the same
/// arguments replaces the tables with the same rows.
///
/// Errors: `not_found` (tenant or department), `invalid` (`rows` is 0 or above
/// `onecity_iam::synthetic::MAX_ROWS`), and what loading a table can answer.
pub async fn synthetic_register(
    catalog: &Catalog,
    datastore: &Datastore,
    tenant: &str,
    department: Option<&str>,
    rows: usize,
    seed: u64,
) -> Result<SyntheticRegister> {
    use onecity_datastore::masking::MaskRule;
    use onecity_iam::synthetic::{self, Place};
    if rows == 0 || rows > synthetic::MAX_ROWS {
        return Err(Error::invalid(format!(
            "rows must be between 1 and {}",
            synthetic::MAX_ROWS
        )));
    }
    let iam = catalog.iam();
    iam.tenant_unchecked(tenant).await?;
    let system = Principal::system();
    let owner = match department {
        Some(code) => iam
            .department_by_code(tenant, code)
            .await?
            .ok_or_else(|| Error::not_found(format!("no department {code:?} in {tenant:?}")))?,
        None => iam
            .list_departments(
                &system,
                tenant,
                None,
                &onecity_core::page::PageQuery {
                    limit: Some(1),
                    cursor: None,
                },
            )
            .await?
            .items
            .into_iter()
            .next()
            .ok_or_else(|| Error::not_found(format!("tenant {tenant:?} has no department")))?,
    };
    let places: Vec<Place> = iam
        .all_jurisdictions(tenant)
        .await?
        .into_iter()
        .filter(|j| j.parent_id.is_some())
        .map(|j| Place {
            code: j.code,
            name: j.name,
        })
        .collect();
    let persons = synthetic::persons(seed, rows, &places);
    let companies = synthetic::companies(seed, (rows / 10).max(1), &places, &persons);
    let p_rid = register_table(
        catalog,
        datastore,
        tenant,
        owner.id,
        SYNTHETIC_PERSONS,
        (
            "合成人口库（合成数据）",
            "Synthetic person register (synthetic data)",
        ),
        &persons,
        &[
            ("name", MaskRule::Name),
            ("id_number", MaskRule::IdCard),
            ("phone", MaskRule::Mobile),
            ("address", MaskRule::Address),
            ("household_address", MaskRule::Address),
        ],
    )
    .await?;
    let c_rid = register_table(
        catalog,
        datastore,
        tenant,
        owner.id,
        SYNTHETIC_COMPANIES,
        (
            "合成法人库（合成数据）",
            "Synthetic company register (synthetic data)",
        ),
        &companies,
        &[
            ("legal_representative", MaskRule::Name),
            ("legal_representative_id", MaskRule::IdCard),
        ],
    )
    .await?;
    Ok(SyntheticRegister {
        tenant: tenant.to_string(),
        persons_resource_id: p_rid.0,
        persons: p_rid.1,
        companies_resource_id: c_rid.0,
        companies: c_rid.1,
        seed,
    })
}

/// Creates (or finds) the dataset `name` with one resource and loads `records` as CSV into
/// its table; returns the resource id and the rows loaded.
#[allow(clippy::too_many_arguments)]
async fn register_table<T: serde::Serialize>(
    catalog: &Catalog,
    datastore: &Datastore,
    tenant: &str,
    owner: uuid::Uuid,
    name: &str,
    (title, title_en): (&str, &str),
    records: &[T],
    masks: &[(&str, onecity_datastore::masking::MaskRule)],
) -> Result<(String, i64)> {
    let system = Principal::system();
    let rid = match catalog.get(Some(&system), name).await {
        Ok(d) if d.tenant == tenant => d
            .resources
            .first()
            .map(|r| r.id)
            .ok_or_else(|| Error::conflict(format!("dataset {name:?} has no resource")))?,
        Ok(_) => {
            return Err(Error::conflict(format!(
                "dataset name {name:?} is taken in another tenant"
            )))
        }
        Err(e) if e.code == onecity_core::ErrorCode::NotFound => {
            let rid = onecity_core::new_id();
            let n = NewDataset {
                name: Some(name.into()),
                title: title.into(),
                title_en: Some(title_en.into()),
                notes: Some(
                    "合成数据，仅供演示与基准测试：所有人员与法人均不存在，证件号码的校验位有效。"
                        .into(),
                ),
                notes_en: Some(
                    "Synthetic data for demos and benchmarks: none of these people or companies \
                     exist; identity numbers and credit codes carry valid check characters."
                        .into(),
                ),
                owner_department_id: owner,
                domain: Some(Domain::S),
                topic: Some("identity".into()),
                grade: Some(crate::model::Grade::Important),
                open_level: Some(OpenLevel::NotOpen),
                update_frequency: Some(Frequency::Never),
                tags: vec!["synthetic".into(), "demo".into(), "datastore".into()],
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
            rid
        }
        Err(e) => return Err(e),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in records {
        w.serialize(r).map_err(Error::internal)?;
    }
    let body = w.into_inner().map_err(Error::internal)?;
    let opts = LoadOptions {
        tenant: Some(tenant.into()),
        owner_department: Some(owner.to_string()),
        masks: masks
            .iter()
            .map(|(f, m)| (f.to_string(), m.clone()))
            .collect(),
        ..Default::default()
    };
    let m = datastore
        .load_file(&system, &rid.to_string(), &body, Format::Csv, &opts, None)
        .await?;
    tracing::info!(
        dataset = name,
        rows = m.row_count,
        "synthetic register table loaded"
    );
    Ok((rid.to_string(), m.row_count))
}
