//! Demo tenants from the real public data in `../shared/data/geo` (see its README):
//! Hangzhou (杭州市, its 13 pre-2021 districts, GB/T 2260 codes), New York City (its 5
//! boroughs, county FIPS codes) and Melbourne (the City of Melbourne outline and its 11
//! suburbs), with sample departments and generated grids (labelled as generated).
//! Loading is idempotent: a tenant that exists is left as it is.

use crate::server::Services;
use anyhow::{bail, Context};
use onecity_core::model::Tenant;
use onecity_geo::{demo_data, GridSpec};
use onecity_iam::{NewDepartment, NewTenant, Principal};
use std::path::Path;

/// Imports one real boundary file into `tenant`; returns the number of features.
async fn import(
    svc: &Services,
    tenant: &str,
    file: onecity_core::Result<demo_data::DemoFile>,
) -> anyhow::Result<usize> {
    let f = file?;
    Ok(svc
        .geo
        .import(&Principal::system(), tenant, &f.features, &f.options)
        .await?
        .features)
}

/// Creates tenant `code` with its root jurisdiction unless it exists; `None` when it did.
async fn new_tenant(
    svc: &Services,
    code: &str,
    name: &str,
    name_en: &str,
    root_code: &str,
) -> anyhow::Result<Option<Tenant>> {
    if svc.iam.tenant_unchecked(code).await.is_ok() {
        return Ok(None);
    }
    let t = NewTenant {
        code: code.into(),
        name: name.into(),
        name_en: Some(name_en.into()),
        root_level: Some("city".into()),
        root_code: Some(root_code.into()),
    };
    Ok(Some(svc.iam.create_tenant("system", &t).await?))
}

/// Creates departments `(jurisdiction code or None for the root, code, name, English name)`.
async fn departments(
    svc: &Services,
    t: &Tenant,
    list: &[(Option<&str>, &str, &str, &str)],
) -> anyhow::Result<()> {
    for (jcode, code, name, en) in list {
        let jurisdiction_id = match jcode {
            Some(c) => {
                svc.iam
                    .jurisdiction_by_code(&t.code, c)
                    .await?
                    .with_context(|| format!("jurisdiction {c}"))?
                    .id
            }
            None => t.root_jurisdiction_id,
        };
        let d = NewDepartment {
            jurisdiction_id,
            code: (*code).into(),
            name: (*name).into(),
            name_en: Some((*en).into()),
        };
        svc.iam
            .create_department(&Principal::system(), &t.code, &d)
            .await?;
    }
    Ok(())
}

/// Generates square grids of `cell_size_m` in the jurisdiction with official code `code`.
async fn grids(svc: &Services, tenant: &str, code: &str, cell_size_m: f64) -> anyhow::Result<()> {
    let j = svc
        .iam
        .jurisdiction_by_code(tenant, code)
        .await?
        .with_context(|| format!("jurisdiction {code}"))?;
    svc.geo
        .generate_grids(
            &Principal::system(),
            tenant,
            j.id,
            &GridSpec { cell_size_m },
        )
        .await?;
    Ok(())
}

/// Loads the demo tenants from `dir` (the shared data folder).
pub async fn load(svc: &Services, dir: &Path) -> anyhow::Result<()> {
    if !dir.join("geo/hangzhou_330100_districts.geojson").is_file() {
        bail!(
            "demo data not found under {}: pass --demo-data DIR (or ONECITY_DEMO_DATA) naming the shared data folder \
             that holds geo/hangzhou_330100_districts.geojson, geo/nyc_boroughs.geojson and geo/melbourne_*.geojson",
            dir.display()
        );
    }

    if let Some(t) = new_tenant(svc, "hangzhou", "杭州市", "Hangzhou", "330100").await? {
        let n = import(svc, &t.code, demo_data::hangzhou_districts(dir)).await?;
        tracing::info!(tenant = "hangzhou", features = n, "demo boundaries loaded");
        let m = onecity_twin::replay::load_demo_windows(&svc.twin, "hangzhou", dir)
            .await
            .map_err(|e| anyhow::anyhow!("demo twin series: {e}"))?;
        tracing::info!(
            tenant = "hangzhou",
            measurements = m,
            "demo twin series loaded"
        );
        departments(
            svc,
            &t,
            &[
                (
                    None,
                    "HZ-CGJ",
                    "杭州市城市管理局",
                    "Hangzhou Urban Management Bureau",
                ),
                (
                    None,
                    "HZ-YJJ",
                    "杭州市应急管理局",
                    "Hangzhou Emergency Management Bureau",
                ),
                (
                    None,
                    "HZ-GAJ",
                    "杭州市公安局",
                    "Hangzhou Public Security Bureau",
                ),
                (
                    None,
                    "HZ-JTJ",
                    "杭州市交通运输局",
                    "Hangzhou Transport Bureau",
                ),
                (
                    None,
                    "HZ-SLJ",
                    "杭州市林业水利局",
                    "Hangzhou Forestry and Water Bureau",
                ),
                (
                    None,
                    "HZ-SJJ",
                    "杭州市数据资源管理局",
                    "Hangzhou Data Resources Bureau",
                ),
                (
                    Some("330106"),
                    "XH-CGJ",
                    "西湖区城市管理局",
                    "Xihu District Urban Management Bureau",
                ),
                (
                    Some("330102"),
                    "SC-CGJ",
                    "上城区城市管理局",
                    "Shangcheng District Urban Management Bureau",
                ),
            ],
        )
        .await?;
        grids(svc, &t.code, "330106", 2000.0).await?;
        svc.flow.install_shipped(&t.code).await?;
        grids(svc, &t.code, "330102", 800.0).await?;
    }

    if let Some(t) = new_tenant(svc, "nyc", "New York City", "New York City", "3651000").await? {
        let n = import(svc, &t.code, demo_data::nyc_boroughs(dir)).await?;
        tracing::info!(tenant = "nyc", features = n, "demo boundaries loaded");
        departments(
            svc,
            &t,
            &[
                (
                    None,
                    "NYC-DSNY",
                    "Department of Sanitation",
                    "Department of Sanitation",
                ),
                (None, "NYC-NYPD", "Police Department", "Police Department"),
                (
                    None,
                    "NYC-DOT",
                    "Department of Transportation",
                    "Department of Transportation",
                ),
                (
                    None,
                    "NYC-OEM",
                    "Emergency Management",
                    "Emergency Management",
                ),
                (
                    None,
                    "NYC-DEP",
                    "Department of Environmental Protection",
                    "Department of Environmental Protection",
                ),
            ],
        )
        .await?;
        grids(svc, &t.code, "36081", 3000.0).await?;
        svc.flow.install_shipped(&t.code).await?;
        grids(svc, &t.code, "36061", 1500.0).await?;
        svc.geo.refresh().await?;
        governance_nyc(svc, dir, &t).await?;
    }

    if let Some(t) = new_tenant(
        svc,
        "melbourne",
        "City of Melbourne",
        "City of Melbourne",
        "LGA24600",
    )
    .await?
    {
        import(svc, &t.code, demo_data::melbourne_outline(dir)).await?;
        let n = import(svc, &t.code, demo_data::melbourne_suburbs(dir)).await?;
        tracing::info!(tenant = "melbourne", features = n, "demo boundaries loaded");
        departments(
            svc,
            &t,
            &[
                (None, "MEL-CS", "City Services", "City Services"),
                (
                    None,
                    "MEL-EM",
                    "Emergency Management",
                    "Emergency Management",
                ),
                (None, "MEL-TR", "Transport", "Transport"),
            ],
        )
        .await?;
        grids(svc, &t.code, "MEL-CBD-HODDLE-GRID", 400.0).await?;
        svc.flow.install_shipped(&t.code).await?;
    }
    catalog(svc, dir).await?;
    Ok(())
}

/// The demo catalog (数据目录) of Hangzhou: the real ckanext-dcat and Birmingham catalogues
/// under `catalog/` harvested into the data resources bureau, and three of the city's own
/// datasets. Skipped when the data bureau is missing (a tenant made by an older version).
async fn catalog(svc: &Services, dir: &Path) -> anyhow::Result<()> {
    let dept =
        |code: &'static str| async move { svc.iam.department_by_code("hangzhou", code).await };
    let Some(bureau) = dept("HZ-SJJ").await? else {
        return Ok(());
    };
    let mut own = Vec::new();
    for code in ["HZ-JTJ", "HZ-SLJ", "HZ-GAJ"] {
        own.push(
            dept(code)
                .await?
                .with_context(|| format!("department {code}"))?
                .id,
        );
    }
    let n = svc.catalog.load_demo(dir, bureau.id, &own).await?;
    if n > 0 {
        tracing::info!(tenant = "hangzhou", datasets = n, "demo catalog loaded");
        datastore_tables(svc, dir, bureau.id).await?;
    }
    Ok(())
}

/// Rows loaded at most from one demo CSV (the rest is left out to keep start-up fast; the
/// dataset's description says so).
pub const DEMO_TABLE_ROW_CAP: usize = 5_000;

/// Demo datastore tables (数据表): real CSVs from the shared data, each the table of the
/// resource of an open demo dataset of the Hangzhou data bureau. Small files load fully,
/// big ones up to [`DEMO_TABLE_ROW_CAP`] rows.
async fn datastore_tables(svc: &Services, dir: &Path, bureau: uuid::Uuid) -> anyhow::Result<()> {
    use onecity_catalog::model::{Domain, Frequency, NewDataset, NewResource, OpenLevel};
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
        svc.catalog.create(&system, None, &n).await?;
        let opts = onecity_catalog::datastore::LoadOptions {
            tenant: Some("hangzhou".into()),
            public: true,
            ..Default::default()
        };
        let m = svc
            .datastore
            .load_file(
                &system,
                &rid.to_string(),
                &body,
                onecity_catalog::datastore_load::Format::Csv,
                &opts,
                None,
            )
            .await?;
        tracing::info!(
            dataset = name,
            rows = m.row_count,
            "demo datastore table loaded"
        );
    }
    Ok(())
}

/// The flood gauge of the NYC demo: a placed position (the source data gives none) at The
/// Battery, inside Manhattan (FIPS 36061). Twin updates of this entity's `waterLevel`
/// raise flood alerts through the demo alert rule.
pub const NYC_DEMO_GAUGE: (&str, f64, f64) = (
    "urn:ngsi-ld:WaterObserved:nyc-demo-gauge-battery",
    40.7033,
    -74.0170,
);

/// NYC governance demo: settings (America/New_York), categories with deadlines and
/// attributes, dispatch rules, the 999 real 311 requests, and a flood plan with its
/// alert rule (gauge: [`NYC_DEMO_GAUGE`], a placed position).
async fn governance_nyc(svc: &Services, dir: &Path, t: &Tenant) -> anyhow::Result<()> {
    use onecity_governance::model::{AlertRule, NewRule, Plan, PlanTask, ServiceDef, Settings};
    let sys = Principal::system();
    let gov = &svc.gov;
    gov.put_settings(
        &sys,
        &t.code,
        &Settings {
            time_zone: Some("America/New_York".into()),
            ..Default::default()
        },
    )
    .await?;
    // Working days of the city: US federal holidays (observed dates), New York time.
    let calendar = serde_json::json!({
        "time_zone": "America/New_York",
        "source": "US federal holidays, observed dates (OPM)",
        "years": {
            "2026": {"holidays": [
                {"name": "New Year's Day", "days": ["2026-01-01"]}, {"name": "Martin Luther King Jr. Day", "days": ["2026-01-19"]},
                {"name": "Presidents' Day", "days": ["2026-02-16"]}, {"name": "Memorial Day", "days": ["2026-05-25"]},
                {"name": "Juneteenth", "days": ["2026-06-19"]}, {"name": "Independence Day (observed)", "days": ["2026-07-03"]},
                {"name": "Labor Day", "days": ["2026-09-07"]}, {"name": "Columbus Day", "days": ["2026-10-12"]},
                {"name": "Veterans Day", "days": ["2026-11-11"]}, {"name": "Thanksgiving Day", "days": ["2026-11-26"]},
                {"name": "Christmas Day", "days": ["2026-12-25"]}]},
            "2027": {"holidays": [
                {"name": "New Year's Day", "days": ["2027-01-01"]}, {"name": "Martin Luther King Jr. Day", "days": ["2027-01-18"]},
                {"name": "Presidents' Day", "days": ["2027-02-15"]}, {"name": "Memorial Day", "days": ["2027-05-31"]},
                {"name": "Juneteenth (observed)", "days": ["2027-06-18"]}, {"name": "Independence Day (observed)", "days": ["2027-07-05"]},
                {"name": "Labor Day", "days": ["2027-09-06"]}, {"name": "Columbus Day", "days": ["2027-10-11"]},
                {"name": "Veterans Day", "days": ["2027-11-11"]}, {"name": "Thanksgiving Day", "days": ["2027-11-25"]},
                {"name": "Christmas Day (observed)", "days": ["2027-12-24"]}]}
        }
    });
    svc.flow
        .put_calendar(&sys, &t.code, None, &calendar.to_string())
        .await?;
    let services: Vec<ServiceDef> = serde_json::from_value(serde_json::json!([
        {"code": "pothole", "name": "Pothole", "name_zh": "路面坑洼", "group": "DOT", "deadline_working_days": 3,
         "description": "A hole in the road surface (help request: 3 working days)",
         "attributes": [
           {"code": "size", "datatype": "singlevaluelist", "required": true, "description": "How big is it?", "order": 1,
            "values": [{"key": "small", "name": "smaller than a plate"}, {"key": "large", "name": "larger than a plate"}]},
           {"code": "hazards", "datatype": "multivaluelist", "description": "What else is there?", "order": 2,
            "values": [{"key": "water", "name": "standing water"}, {"key": "glass", "name": "broken glass"}, {"key": "traffic", "name": "heavy traffic"}]}
         ]},
        {"code": "street-flooding", "name": "Street flooding", "name_zh": "道路积水", "group": "DEP", "deadline_working_days": 0,
         "description": "Water on the street (emergency: the same working day)"},
        {"code": "service-complaint", "name": "Complaint about a service", "name_zh": "服务投诉", "group": "311", "deadline_working_days": 13,
         "description": "A complaint about a city service (13 working days)"}
    ]))?;
    for s in &services {
        gov.put_service(&sys, &t.code, s).await?;
    }
    let dept = |code: &str| {
        let code = code.to_string();
        async move {
            svc.iam
                .department_by_code(&t.code, &code)
                .await?
                .with_context(|| format!("department {code}"))
        }
    };
    for (code, d, prio) in [
        (Some("pothole"), "NYC-DOT", 10),
        (Some("street-flooding"), "NYC-DEP", 10),
        (None, "NYC-DSNY", 0),
    ] {
        gov.add_rule(
            &sys,
            &t.code,
            &NewRule {
                service_code: code.map(str::to_string),
                jurisdiction_id: None,
                department_id: dept(d).await?.id,
                co_departments: vec![],
                priority: prio,
            },
        )
        .await?;
    }
    let csv = std::fs::read(dir.join("requests311/311_nyc_sample.csv"))
        .context("requests311/311_nyc_sample.csv")?;
    let rep = gov.import_nyc311(&sys, &t.code, &csv).await?;
    tracing::info!(
        tenant = "nyc",
        inserted = rep.inserted,
        clamped = rep.clamped,
        "demo 311 requests loaded"
    );
    let task = |d: &str, title: &str, h: u32| PlanTask {
        department_code: d.into(),
        title: title.into(),
        deadline_hours: h,
    };
    for (level, name) in [
        ("red", "Flood response level I"),
        ("orange", "Flood response level II"),
    ] {
        gov.put_plan(
            &sys,
            &t.code,
            &Plan {
                alert_type: "flood".into(),
                level: level.into(),
                name: name.into(),
                tasks: vec![
                    task(
                        "NYC-OEM",
                        "Open the emergency operations centre 启动应急指挥",
                        1,
                    ),
                    task("NYC-NYPD", "Close flooded underpasses 封闭积水路段", 2),
                    task(
                        "NYC-DOT",
                        "Detour traffic and pump streets 交通疏导与排水",
                        4,
                    ),
                ],
            },
        )
        .await?;
    }
    gov.add_alert_rule(
        &sys,
        &t.code,
        &AlertRule {
            entity_type: "WaterObserved".into(),
            attribute: "waterLevel".into(),
            alert_type: "flood".into(),
            thresholds: serde_json::from_value(
                serde_json::json!({"blue": 1.5, "yellow": 2.0, "orange": 2.5, "red": 3.0}),
            )?,
        },
    )
    .await?;
    let _ = NYC_DEMO_GAUGE;
    Ok(())
}
