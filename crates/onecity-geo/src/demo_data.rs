//! Importers of the real public boundary files in `shared/data/geo` (see its README): they
//! read each file and map its own properties onto the import's `code`, `name` and
//! `name_en`, so that [`crate::Geo::import`] can load it. Used by `onecity serve --demo`
//! and by the lookup benchmark.
//!
//! - Hangzhou: `hangzhou_330100_districts.geojson`, 13 pre-2021 districts, `adcode` =
//!   GB/T 2260 code, pinyin English names added here.
//! - New York City: `nyc_boroughs.geojson`, 5 boroughs, `BoroCode` mapped to county FIPS.
//! - Melbourne: `melbourne_municipal_boundary.geojson` (the City of Melbourne, code
//!   `LGA24600`) and `melbourne_suburbs.geojson` (11 suburbs, `featurenam`).

use crate::ImportOptions;
use onecity_core::{Error, Result};
use serde_json::{Map, Value};
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

/// Official code of the City of Melbourne (ABS local government area 24600).
pub const MELBOURNE_CODE: &str = "LGA24600";

/// A file ready to import: the FeatureCollection and the options to import it with.
pub struct DemoFile {
    /// The normalised FeatureCollection.
    pub features: Value,
    /// Import options (level, parent, property names, source note).
    pub options: ImportOptions,
}

fn read(dir: &Path, rel: &str) -> Result<Value> {
    let p = dir.join(rel);
    let text = std::fs::read_to_string(&p)
        .map_err(|e| Error::invalid(format!("cannot read {}: {e}", p.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::invalid(format!("{} is not JSON: {e}", p.display())))
}

fn map_props(fc: &mut Value, f: impl Fn(&mut Map<String, Value>)) {
    if let Some(fs) = fc.get_mut("features").and_then(Value::as_array_mut) {
        for feat in fs {
            if let Some(p) = feat.get_mut("properties").and_then(Value::as_object_mut) {
                f(p);
            }
        }
    }
}

fn file(
    dir: &Path,
    rel: &str,
    level: &str,
    parent: Option<&str>,
    source: &str,
    f: impl Fn(&mut Map<String, Value>),
) -> Result<DemoFile> {
    let mut features = read(dir, rel)?;
    map_props(&mut features, f);
    let options = ImportOptions {
        parent_code: parent.map(str::to_string),
        level: Some(level.into()),
        code_property: Some("code".into()),
        name_property: Some("name".into()),
        name_en_property: Some("name_en".into()),
        source: Some(source.into()),
    };
    Ok(DemoFile { features, options })
}

/// Hangzhou's 13 districts (level `district`, under the tenant's root).
pub fn hangzhou_districts(dir: &Path) -> Result<DemoFile> {
    file(
        dir,
        "geo/hangzhou_330100_districts.geojson",
        "district",
        None,
        "geo/hangzhou_330100_districts.geojson (DataV, pre-2021 districts)",
        |p| {
            let code = p.get("adcode").map(|v| v.to_string()).unwrap_or_default();
            if let Some((_, en)) = HANGZHOU_EN.iter().find(|(c, _)| *c == code) {
                p.insert("name_en".into(), Value::from(format!("{en} District")));
            }
            p.insert("code".into(), Value::from(code));
        },
    )
}

/// New York City's 5 boroughs (level `borough`, county FIPS codes).
pub fn nyc_boroughs(dir: &Path) -> Result<DemoFile> {
    file(
        dir,
        "geo/nyc_boroughs.geojson",
        "borough",
        None,
        "geo/nyc_boroughs.geojson (NYC DCP nybb, ~2013)",
        |p| {
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
        },
    )
}

/// The City of Melbourne's outline (the root's own boundary, code [`MELBOURNE_CODE`]).
pub fn melbourne_outline(dir: &Path) -> Result<DemoFile> {
    file(
        dir,
        "geo/melbourne_municipal_boundary.geojson",
        "city",
        None,
        "geo/melbourne_municipal_boundary.geojson (City of Melbourne)",
        |p| {
            p.insert("code".into(), Value::from(MELBOURNE_CODE));
            p.insert("name".into(), Value::from("City of Melbourne"));
        },
    )
}

/// Melbourne's 11 suburbs (level `suburb`, codes `MEL-<NAME>`, under the city).
pub fn melbourne_suburbs(dir: &Path) -> Result<DemoFile> {
    file(
        dir,
        "geo/melbourne_suburbs.geojson",
        "suburb",
        Some(MELBOURNE_CODE),
        "geo/melbourne_suburbs.geojson (City of Melbourne small areas)",
        |p| {
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
        },
    )
}
