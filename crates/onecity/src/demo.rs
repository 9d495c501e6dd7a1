//! Demo tenants from the real public data in `../shared/data/geo` (see its README):
//! Hangzhou (杭州市, its 13 pre-2021 districts, GB/T 2260 codes), New York City (its 5
//! boroughs, county FIPS codes) and Melbourne (the City of Melbourne outline and its 11
//! suburbs), with sample departments and generated grids (labelled as generated).
//! Loading is idempotent: a tenant that exists is left as it is.
//!
//! Convention: this file creates the tenants, departments and grids (the city itself) and
//! then calls each domain crate's own demo loader (`onecity_catalog::demo::install`,
//! `onecity_governance::demo::install_nyc`, `onecity_twin::replay::load_demo_windows`).
//! A new crate adds its `demo` module and one call here, never its data set-up.

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

    let hz = new_tenant(svc, "hangzhou", "杭州市", "Hangzhou", "330100").await?;
    let hangzhou_is_new = hz.is_some();
    if let Some(t) = hz {
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
        // The server's forecaster (loaded from the same folder at start), or one made here.
        let forecaster = match &svc.metro {
            Some(f) => f.clone(),
            None => {
                let data = onecity_brain::load_hangzhou(&dir.join("metro"))
                    .map_err(|e| anyhow::anyhow!("demo metro data: {e}"))?;
                std::sync::Arc::new(onecity_brain::MetroForecaster::new(svc.twin.clone(), data))
            }
        };
        let r = onecity_brain::service::demo::install(&forecaster, "hangzhou", chrono::Utc::now())
            .await
            .map_err(|e| anyhow::anyhow!("demo metro forecasts: {}", e.detail))?;
        tracing::info!(
            tenant = "hangzhou",
            stations = r.stations_forecast,
            forecasts = r.forecasts_written,
            "demo metro stations and forecasts loaded"
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
        // Crowd evacuation (客流疏散) from the city brain goes to 杭州市交通运输局.
        onecity_brain::workorder::install(&svc.gov, &t.code, "HZ-JTJ").await?;
        // Hangzhou's data lies in January 2019 (the metro tensor): its working-day calendar
        // holds the 2019 notice beside the 2025-2026 ones, so deadlines on replayed 2019
        // events skip 2019's rest days.
        svc.flow
            .put_calendar(
                &Principal::system(),
                &t.code,
                None,
                &onecity_flow::calendar::china_mainland_2019_and_2025_2026_json(),
            )
            .await?;
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
        onecity_governance::demo::install_nyc(&svc.gov, &t.code, dir).await?;
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
        // Room finding (找房): the 7,279 Airbnb listings inside the municipal boundary.
        let started = std::time::Instant::now();
        let r = onecity_brain::rooms::demo::install_melbourne(&svc.twin, &t.code, dir)
            .await
            .map_err(|e| anyhow::anyhow!("demo lodging: {e}"))?;
        tracing::info!(
            tenant = "melbourne",
            listings = r.written,
            ms = started.elapsed().as_millis() as u64,
            "demo lodging loaded"
        );
    }
    onecity_catalog::demo::install(&svc.catalog, &svc.datastore, dir).await?;
    onecity_services::demo::install(&svc.hall).await?;
    // The demo forms (表单), built in the designer's format (`onecity-services/forms/`).
    onecity_services::forms::install_forms(&svc.hall, "hangzhou").await?;
    // The assistant's guide index is in memory: built from the published items at start
    // (and again by each question once older than `assistant::REINDEX_AFTER`).
    let guides = svc.hall.reindex_guides("hangzhou").await?;
    tracing::info!(tenant = "hangzhou", guides, "assistant guides indexed");
    if hangzhou_is_new {
        // The demo's citizens and companies (合成数据, labelled synthetic): the person
        // register belongs to the public security bureau, as a real one would.
        let r = onecity_catalog::demo::synthetic_register(
            &svc.catalog,
            &svc.datastore,
            "hangzhou",
            Some("HZ-GAJ"),
            DEMO_SYNTHETIC_PERSONS,
            1,
        )
        .await?;
        tracing::info!(
            persons = r.persons,
            companies = r.companies,
            "demo synthetic register loaded"
        );
    }
    Ok(())
}

/// Persons in the demo's synthetic register (companies: a tenth of it).
const DEMO_SYNTHETIC_PERSONS: usize = 10_000;
