//! Demo tenants from the real public data in `../shared/data/geo` (see its README):
//! Hangzhou (杭州市, its 13 pre-2021 districts, GB/T 2260 codes), New York City (its 5
//! boroughs, county FIPS codes) and Melbourne (the City of Melbourne outline and its 11
//! suburbs), with sample departments and generated grids (labelled as generated).
//! Loading is idempotent: a tenant that exists is left as it is.

use crate::server::Services;
use anyhow::{bail, Context};
use onecity_core::model::Tenant;
use onecity_geo::{GridSpec, ImportOptions};
use onecity_iam::{NewDepartment, NewTenant, Principal};
use serde_json::Value;
use std::path::Path;

/// English names of Hangzhou's districts by GB/T 2260 code (pinyin).
const HANGZHOU_EN: &[(&str, &str)] = &[
    ("330102", "Shangcheng"),
    ("330103", "Xiacheng"),
    ("330104", "Jianggan"),
    ("330105", "Gongshu"),
    ("330106", "Xihu"),
    ("330108", "Binjiang"),
    ("330109", "Xiaoshan"),
    ("330110", "Yuhang"),
    ("330111", "Fuyang"),
    ("330112", "Lin'an"),
    ("330122", "Tonglu"),
    ("330127", "Chun'an"),
    ("330182", "Jiande"),
];

/// NYC BoroCode → county FIPS code.
const NYC_FIPS: &[(i64, &str)] = &[
    (1, "36061"),
    (2, "36005"),
    (3, "36047"),
    (4, "36081"),
    (5, "36085"),
];

fn read_fc(dir: &Path, rel: &str) -> anyhow::Result<Value> {
    let p = dir.join(rel);
    let text =
        std::fs::read_to_string(&p).with_context(|| format!("cannot read {}", p.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", p.display()))
}

fn map_props(fc: &mut Value, f: impl Fn(&mut serde_json::Map<String, Value>)) {
    if let Some(fs) = fc.get_mut("features").and_then(Value::as_array_mut) {
        for feat in fs {
            if let Some(p) = feat.get_mut("properties").and_then(Value::as_object_mut) {
                f(p);
            }
        }
    }
}

fn opts(level: &str, parent: Option<&str>, source: &str) -> ImportOptions {
    ImportOptions {
        parent_code: parent.map(str::to_string),
        level: Some(level.into()),
        code_property: Some("code".into()),
        name_property: Some("name".into()),
        name_en_property: Some("name_en".into()),
        source: Some(source.into()),
    }
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
    let sys = Principal::system();
    let geo = &svc.geo;

    if let Some(t) = new_tenant(svc, "hangzhou", "杭州市", "Hangzhou", "330100").await? {
        let mut fc = read_fc(dir, "geo/hangzhou_330100_districts.geojson")?;
        map_props(&mut fc, |p| {
            let code = p.get("adcode").map(|v| v.to_string()).unwrap_or_default();
            if let Some((_, en)) = HANGZHOU_EN.iter().find(|(c, _)| *c == code) {
                p.insert("name_en".into(), Value::from(format!("{en} District")));
            }
            p.insert("code".into(), Value::from(code));
        });
        let r = geo
            .import(
                &sys,
                &t.code,
                &fc,
                &opts(
                    "district",
                    None,
                    "geo/hangzhou_330100_districts.geojson (DataV, pre-2021 districts)",
                ),
            )
            .await?;
        tracing::info!(
            tenant = "hangzhou",
            features = r.features,
            "demo boundaries loaded"
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
        let mut fc = read_fc(dir, "geo/nyc_boroughs.geojson")?;
        map_props(&mut fc, |p| {
            let boro = p
                .get("BoroCode")
                .and_then(|v| {
                    v.as_i64()
                        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                })
                .unwrap_or(0);
            let fips = NYC_FIPS
                .iter()
                .find(|(b, _)| *b == boro)
                .map(|(_, f)| *f)
                .unwrap_or("0");
            let name = p.get("BoroName").cloned().unwrap_or(Value::Null);
            p.insert("code".into(), Value::from(fips));
            p.insert("name".into(), name.clone());
            p.insert("name_en".into(), name);
        });
        let r = geo
            .import(
                &sys,
                &t.code,
                &fc,
                &opts(
                    "borough",
                    None,
                    "geo/nyc_boroughs.geojson (NYC DCP nybb, ~2013)",
                ),
            )
            .await?;
        tracing::info!(
            tenant = "nyc",
            features = r.features,
            "demo boundaries loaded"
        );
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
        let mut outline = read_fc(dir, "geo/melbourne_municipal_boundary.geojson")?;
        map_props(&mut outline, |p| {
            p.insert("code".into(), Value::from("LGA24600"));
            p.insert("name".into(), Value::from("City of Melbourne"));
        });
        geo.import(
            &sys,
            &t.code,
            &outline,
            &opts(
                "city",
                None,
                "geo/melbourne_municipal_boundary.geojson (City of Melbourne)",
            ),
        )
        .await?;
        let mut suburbs = read_fc(dir, "geo/melbourne_suburbs.geojson")?;
        map_props(&mut suburbs, |p| {
            let name = p
                .get("featurenam")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let slug: String = name
                .to_ascii_uppercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            p.insert("code".into(), Value::from(format!("MEL-{slug}")));
            p.insert("name".into(), Value::from(name.clone()));
            p.insert("name_en".into(), Value::from(name));
        });
        let r = geo
            .import(
                &sys,
                &t.code,
                &suburbs,
                &opts(
                    "suburb",
                    Some("LGA24600"),
                    "geo/melbourne_suburbs.geojson (City of Melbourne small areas)",
                ),
            )
            .await?;
        tracing::info!(
            tenant = "melbourne",
            features = r.features,
            "demo boundaries loaded"
        );
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
    Ok(())
}
