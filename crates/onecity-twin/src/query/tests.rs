//! Table-driven tests of the query layer on real values, without a server: every q
//! operator, every geo relation with every geometry type, `orderBy`, paging, the typed
//! [`Query`] and each temporal aggregation method with aggregation periods.
//!
//! Places and values come from `../shared/data`: the Venice tide gauge at Punta della
//! Salute (45.4305 N, 12.3360 E; sea level 0.32 m, 0.30 m, 0.27 m at 00:00, 00:05, 00:10 on
//! 2022-08-10), the centres of four Hangzhou districts (上城区 120.171465,30.250236;
//! 下城区 120.172763,30.276271; 江干区 120.202633,30.266603; 拱墅区 120.150053,30.314697),
//! the five NYC boroughs, and the Beijing Dongsi station's hourly PM2.5 of 2013-03-01
//! (9, 4, 7, 3, 3, 4, 5, 3 µg/m³ from 00:00 to 07:00).

use super::geo::{self, GeoQuery};
use super::order::OrderBy;
use super::params::{self, Params};
use super::q;
use super::temporal::{self, aggregate};
use super::Query;
use crate::ld::context::Context;
use crate::ld::geometry::geometry_from_json;
use crate::ld::model::{parse_entity, Entity};
use serde_json::{json, Value};
use std::sync::Arc;

/// The Venice tide gauge as an NGSI-LD entity (real position and first reading).
pub(super) fn venice() -> Entity {
    parse_entity(
        &json!({
            "id": "urn:ngsi-ld:TideGauge:VE-PuntaSalute",
            "type": "TideGauge",
            "scope": "/Italy/Veneto/Venezia",
            "name": {"type": "Property", "value": "Punta della Salute"},
            "seaLevel": {"type": "Property", "value": 0.32, "unitCode": "MTR",
                         "observedAt": "2022-08-10T00:00:00Z",
                         "quality": {"type": "Property", "value": "validated"}},
            "waterTemperature": {"type": "Property", "value": 26.9, "unitCode": "CEL"},
            "location": {"type": "GeoProperty",
                         "value": {"type": "Point", "coordinates": [12.3360, 45.4305]}},
            "address": {"type": "Property",
                        "value": {"addressLocality": "Venezia", "sestiere": {"name": "Dorsoduro", "code": 4}}},
            "label": {"type": "LanguageProperty",
                      "languageMap": {"it": "Punta della Salute", "en": "Customs point"}},
            "refCity": {"type": "Relationship", "object": "urn:ngsi-ld:City:Venezia"},
            "installedOn": {"type": "Property", "value": {"@type": "Date", "@value": "2002-06-01"}},
            "lastCalibration": {"type": "Property",
                                "value": {"@type": "DateTime", "@value": "2022-07-01T08:30:00Z"}},
            "dailyCheck": {"type": "Property", "value": {"@type": "Time", "@value": "06:00:00"}},
            "tags": {"type": "Property", "value": ["tide", "lagoon", "acqua alta"]},
            "active": {"type": "Property", "value": true}
        }),
        &Context::core(),
        1,
    )
    .unwrap()
}

/// Beijing Dongsi air quality at 2013-03-01 00:00 (PM2.5 9, PM10 9, SO2 3, NO2 17).
fn dongsi() -> Entity {
    parse_entity(
        &json!({
            "id": "urn:ngsi-ld:AirQualityObserved:Beijing-Dongsi",
            "type": "AirQualityObserved",
            "scope": "/China/Beijing/Dongcheng",
            "pm25": {"type": "Property", "value": 9, "observedAt": "2013-03-01T00:00:00Z"},
            "pm10": {"type": "Property", "value": 9},
            "so2": {"type": "Property", "value": 3},
            "no2": {"type": "Property", "value": 17},
            "windDirection": {"type": "Property", "value": "NNW"},
            "location": {"type": "GeoProperty",
                         "value": {"type": "Point", "coordinates": [116.417, 39.929]}}
        }),
        &Context::core(),
        1,
    )
    .unwrap()
}

/// Evaluates a q expression on the Venice gauge.
fn qv(expr: &str) -> bool {
    q::parse(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .matches(&venice(), &Context::core())
}

/// Evaluates a q expression on the Dongsi station.
fn qd(expr: &str) -> bool {
    q::parse(expr)
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .matches(&dongsi(), &Context::core())
}

/// One `#[test]` per row: `name: expression => expected`.
macro_rules! table {
    ($f:ident; $($name:ident: $arg:expr => $want:expr,)*) => {
        $(#[test] fn $name() { assert_eq!($f($arg), $want, "{:?}", $arg); })*
    };
}

mod q_operators {
    use super::*;
    table! { qv;
        eq_number: "seaLevel==0.32" => true,
        eq_number_other: "seaLevel==0.30" => false,
        ne_number: "seaLevel!=0.27" => true,
        ne_number_same: "seaLevel!=0.32" => false,
        gt_true: "waterTemperature>26.5" => true,
        gt_equal_false: "waterTemperature>26.9" => false,
        ge_equal_true: "waterTemperature>=26.9" => true,
        ge_false: "waterTemperature>=27.8" => false,
        lt_true: "seaLevel<0.5" => true,
        lt_false: "seaLevel<0.27" => false,
        le_equal_true: "seaLevel<=0.32" => true,
        le_false: "seaLevel<=0.30" => false,
        eq_string: "name==\"Punta della Salute\"" => true,
        eq_string_other: "name==\"Lido\"" => false,
        ne_string: "name!=\"Lido\"" => true,
        gt_string: "name>\"Lido\"" => true,
        lt_string: "name<\"Lido\"" => false,
        eq_bool: "active==true" => true,
        eq_bool_false: "active==false" => false,
        pattern_anchor: "name~=^Punta" => true,
        pattern_miss: "name~=^Lido" => false,
        not_pattern: "name!~=^Lido" => true,
        not_pattern_hit: "name!~=Salute$" => false,
        range_in: "seaLevel==0.27..0.32" => true,
        range_out: "seaLevel==0.33..0.40" => false,
        range_ne: "seaLevel!=0.33..0.40" => true,
        range_ne_in: "seaLevel!=0.30..0.35" => false,
        range_strings: "name==\"P\"..\"Q\"" => true,
        list_hit: "seaLevel==0.27,0.30,0.32" => true,
        list_miss: "seaLevel==0.27,0.30" => false,
        list_ne: "seaLevel!=0.27,0.30" => true,
        list_strings: "name==\"Lido\",\"Punta della Salute\"" => true,
        array_value_any_element: "tags==\"lagoon\"" => true,
        array_value_none: "tags==\"bora\"" => false,
        and_both: "seaLevel>0.3;waterTemperature<27" => true,
        and_one_fails: "seaLevel>0.3;waterTemperature>27" => false,
        or_one: "seaLevel>1|waterTemperature<27" => true,
        or_none: "seaLevel>1|waterTemperature>27" => false,
        and_binds_tighter: "seaLevel>1;active==true|name~=Salute" => true,
        parens_change_grouping: "seaLevel>1;(active==true|name~=Salute)" => false,
        parens_nested: "((seaLevel==0.32);(active==true))" => true,
        exists: "seaLevel" => true,
        exists_missing: "salinity" => false,
        not_exists: "!salinity" => true,
        not_exists_present: "!seaLevel" => false,
        not_exists_and: "!salinity;seaLevel==0.32" => true,
        sub_attribute: "seaLevel.quality==\"validated\"" => true,
        sub_attribute_miss: "seaLevel.quality==\"raw\"" => false,
        unit_code: "seaLevel.unitCode==\"MTR\"" => true,
        observed_at_after: "seaLevel.observedAt>=2022-08-10T00:00:00Z" => true,
        observed_at_before: "seaLevel.observedAt<2022-08-10T00:00:00Z" => false,
        compound_member: "address[addressLocality]==\"Venezia\"" => true,
        compound_nested: "address[sestiere.name]==\"Dorsoduro\"" => true,
        compound_nested_number: "address[sestiere.code]>=4" => true,
        compound_miss: "address[sestiere.name]==\"Cannaregio\"" => false,
        language_key: "label[en]==\"Customs point\"" => true,
        language_key_other: "label[it]==\"Customs point\"" => false,
        language_any: "label[*]==\"Punta della Salute\"" => true,
        language_any_miss: "label[*]==\"Dogana\"" => false,
        relationship_uri: "refCity==urn:ngsi-ld:City:Venezia" => true,
        relationship_quoted: "refCity==\"urn:ngsi-ld:City:Venezia\"" => true,
        relationship_other: "refCity==urn:ngsi-ld:City:Roma" => false,
        datetime_value_gt: "lastCalibration>2022-06-30T00:00:00Z" => true,
        datetime_value_lt: "lastCalibration<2022-06-30T00:00:00Z" => false,
        datetime_range: "lastCalibration==2022-07-01T00:00:00Z..2022-07-02T00:00:00Z" => true,
        date_value: "installedOn==2002-06-01" => true,
        date_value_gt: "installedOn>2001-12-31" => true,
        time_value: "dailyCheck==\"06:00:00\"" => true,
    }
    table! { qd;
        dongsi_pm25_eq: "pm25==9" => true,
        dongsi_pm25_gt_who: "pm25>15" => false,
        dongsi_pm25_range: "pm25==0..35" => true,
        dongsi_ratio: "pm25==9;pm10==9;so2<5;no2>=17" => true,
        dongsi_wind: "windDirection==\"NNW\"" => true,
        dongsi_wind_pattern: "windDirection~=^N" => true,
        dongsi_or_missing_attr: "o3>100|pm25<10" => true,
    }

    /// A single `=`, an empty term and an unclosed parenthesis are errors (400).
    #[test]
    fn invalid_expressions() {
        for bad in ["pm25=9", "(pm25==9"] {
            assert!(q::parse(bad).is_err(), "{bad}");
        }
    }

    /// `linked_depth` counts the `{…}` levels of a q on linked entities.
    #[test]
    fn linked_depth() {
        assert_eq!(q::linked_depth("refCity{population>100000}"), 1);
        assert_eq!(q::linked_depth("seaLevel>0"), 0);
    }

    /// scopeQ: exact, prefix (`/#`), one-level wildcard (`/+`), OR with `,`.
    #[test]
    fn scope_queries() {
        let v = venice();
        let m = |s: &str| q::parse_scope_q(s).unwrap().matches(&v);
        assert!(m("/Italy/Veneto/Venezia"));
        assert!(m("/Italy/#"));
        assert!(m("/Italy/+/Venezia"));
        assert!(!m("/China/#"));
        assert!(m("/China/#,/Italy/Veneto/#"));
    }
}

/// Evaluates `georel` with query geometry `geometry`/`coordinates` on an entity geometry.
fn georel(rel: &str, geometry: &str, coords: Value, entity: Value) -> bool {
    let g: GeoQuery = geo::parse(rel, Some(geometry), Some(&coords), None, &Context::core())
        .unwrap_or_else(|e| panic!("{rel} {geometry}: {e}"));
    g.matches_geometry(&geometry_from_json(&entity).unwrap())
}

fn point(lon: f64, lat: f64) -> Value {
    json!({"type": "Point", "coordinates": [lon, lat]})
}

// Real places.
const VENICE: [f64; 2] = [12.3360, 45.4305];
const SHANGCHENG: [f64; 2] = [120.171465, 30.250236];
const XIACHENG: [f64; 2] = [120.172763, 30.276271];
const JIANGGAN: [f64; 2] = [120.202633, 30.266603];
const GONGSHU: [f64; 2] = [120.150053, 30.314697];
const MANHATTAN: [f64; 2] = [-73.9654, 40.7829];
const BROOKLYN: [f64; 2] = [-73.9442, 40.6782];
const QUEENS: [f64; 2] = [-73.7949, 40.7282];
const BRONX: [f64; 2] = [-73.8648, 40.8448];
const STATEN_ISLAND: [f64; 2] = [-74.1502, 40.5795];

/// A polygon around the four Hangzhou district centres.
fn hangzhou_poly() -> Value {
    json!([[
        [120.14, 30.24],
        [120.21, 30.24],
        [120.21, 30.32],
        [120.14, 30.32],
        [120.14, 30.24]
    ]])
}

/// A polygon around Manhattan, the Bronx and Queens (not Brooklyn's centre, not Staten
/// Island).
fn nyc_north_poly() -> Value {
    json!([[
        [-74.02, 40.70],
        [-73.75, 40.70],
        [-73.75, 40.90],
        [-74.02, 40.90],
        [-74.02, 40.70]
    ]])
}

macro_rules! geo_table {
    ($($name:ident: ($rel:expr, $geom:expr, $coords:expr, $entity:expr) => $want:expr,)*) => {
        $(#[test] fn $name() { assert_eq!(georel($rel, $geom, $coords, $entity), $want); })*
    };
}

mod geo_relations {
    use super::*;
    geo_table! {
        // near: Venice gauge to Piazza San Marco (12.3397, 45.4341) is about 490 m.
        near_max_point_hit: ("near;maxDistance==1000", "Point", json!(VENICE), point(12.3397, 45.4341)) => true,
        near_max_point_miss: ("near;maxDistance==300", "Point", json!(VENICE), point(12.3397, 45.4341)) => false,
        near_min_point_hit: ("near;minDistance==300", "Point", json!(VENICE), point(12.3397, 45.4341)) => true,
        near_min_point_miss: ("near;minDistance==1000", "Point", json!(VENICE), point(12.3397, 45.4341)) => false,
        // Shangcheng to Xiacheng centres: about 2.9 km.
        near_max_hangzhou: ("near;maxDistance==3500", "Point", json!(SHANGCHENG), point(XIACHENG[0], XIACHENG[1])) => true,
        near_max_hangzhou_short: ("near;maxDistance==2000", "Point", json!(SHANGCHENG), point(XIACHENG[0], XIACHENG[1])) => false,
        near_line: ("near;maxDistance==100", "LineString", json!([SHANGCHENG, XIACHENG]), point(120.1721, 30.2632)) => true,
        near_polygon_inside: ("near;maxDistance==1", "Polygon", hangzhou_poly(), point(JIANGGAN[0], JIANGGAN[1])) => true,
        near_multipoint: ("near;maxDistance==5000", "MultiPoint", json!([MANHATTAN, BRONX]), point(QUEENS[0], QUEENS[1])) => false,
        near_multipoint_hit: ("near;maxDistance==15000", "MultiPoint", json!([MANHATTAN, BRONX]), point(QUEENS[0], QUEENS[1])) => true,
        near_multiline: ("near;maxDistance==1000", "MultiLineString", json!([[MANHATTAN, BRONX], [BROOKLYN, QUEENS]]), point(MANHATTAN[0], MANHATTAN[1])) => true,
        near_multipolygon: ("near;minDistance==100000", "MultiPolygon", json!([hangzhou_poly()]), point(VENICE[0], VENICE[1])) => true,

        within_polygon_hit: ("within", "Polygon", hangzhou_poly(), point(GONGSHU[0], GONGSHU[1])) => true,
        within_polygon_miss: ("within", "Polygon", hangzhou_poly(), point(VENICE[0], VENICE[1])) => false,
        within_polygon_line: ("within", "Polygon", hangzhou_poly(), json!({"type": "LineString", "coordinates": [SHANGCHENG, XIACHENG]})) => true,
        within_nyc_manhattan: ("within", "Polygon", nyc_north_poly(), point(MANHATTAN[0], MANHATTAN[1])) => true,
        within_nyc_staten: ("within", "Polygon", nyc_north_poly(), point(STATEN_ISLAND[0], STATEN_ISLAND[1])) => false,
        within_nyc_brooklyn: ("within", "Polygon", nyc_north_poly(), point(BROOKLYN[0], BROOKLYN[1])) => false,
        within_multipolygon: ("within", "MultiPolygon", json!([hangzhou_poly(), nyc_north_poly()]), point(QUEENS[0], QUEENS[1])) => true,
        within_multipolygon_miss: ("within", "MultiPolygon", json!([hangzhou_poly(), nyc_north_poly()]), point(VENICE[0], VENICE[1])) => false,
        within_multipoint_entity: ("within", "Polygon", nyc_north_poly(), json!({"type": "MultiPoint", "coordinates": [MANHATTAN, BRONX, QUEENS]})) => true,
        within_multiline_entity: ("within", "Polygon", nyc_north_poly(), json!({"type": "MultiLineString", "coordinates": [[MANHATTAN, BRONX], [BROOKLYN, QUEENS]]})) => false,

        contains_point_in_polygon_entity: ("contains", "Point", json!(JIANGGAN), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,
        contains_point_outside: ("contains", "Point", json!(VENICE), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => false,
        contains_line: ("contains", "LineString", json!([SHANGCHENG, GONGSHU]), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,
        contains_multipoint: ("contains", "MultiPoint", json!([SHANGCHENG, XIACHENG, JIANGGAN, GONGSHU]), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,
        contains_multipoint_partly: ("contains", "MultiPoint", json!([SHANGCHENG, VENICE]), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => false,
        contains_polygon_by_multipolygon: ("contains", "Polygon", json!([[[120.16, 30.26], [120.18, 30.26], [120.18, 30.28], [120.16, 30.26]]]), json!({"type": "MultiPolygon", "coordinates": [hangzhou_poly()]})) => true,
        contains_multilinestring: ("contains", "MultiLineString", json!([[SHANGCHENG, XIACHENG], [JIANGGAN, GONGSHU]]), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,
        contains_multipolygon: ("contains", "MultiPolygon", json!([[[[120.16, 30.26], [120.18, 30.26], [120.18, 30.28], [120.16, 30.26]]]]), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,

        intersects_point_in_polygon: ("intersects", "Polygon", nyc_north_poly(), point(BRONX[0], BRONX[1])) => true,
        intersects_point_outside: ("intersects", "Polygon", nyc_north_poly(), point(STATEN_ISLAND[0], STATEN_ISLAND[1])) => false,
        intersects_crossing_lines: ("intersects", "LineString", json!([MANHATTAN, BROOKLYN]), json!({"type": "LineString", "coordinates": [[-74.0, 40.73], [-73.9, 40.73]]})) => true,
        intersects_parallel_lines: ("intersects", "LineString", json!([MANHATTAN, BROOKLYN]), json!({"type": "LineString", "coordinates": [[-73.7, 40.6], [-73.7, 40.8]]})) => false,
        intersects_line_polygon: ("intersects", "LineString", json!([STATEN_ISLAND, BRONX]), json!({"type": "Polygon", "coordinates": nyc_north_poly()})) => true,
        intersects_multipoint: ("intersects", "MultiPoint", json!([STATEN_ISLAND, BRONX]), json!({"type": "Polygon", "coordinates": nyc_north_poly()})) => true,
        intersects_multiline: ("intersects", "MultiLineString", json!([[STATEN_ISLAND, [-74.1, 40.6]]]), json!({"type": "Polygon", "coordinates": nyc_north_poly()})) => false,
        intersects_multipolygon: ("intersects", "MultiPolygon", json!([nyc_north_poly()]), point(QUEENS[0], QUEENS[1])) => true,
        intersects_point_query: ("intersects", "Point", json!(VENICE), point(VENICE[0], VENICE[1])) => true,

        equals_point: ("equals", "Point", json!(VENICE), point(VENICE[0], VENICE[1])) => true,
        equals_point_other: ("equals", "Point", json!(VENICE), point(12.3397, 45.4341)) => false,
        equals_line: ("equals", "LineString", json!([MANHATTAN, BRONX]), json!({"type": "LineString", "coordinates": [MANHATTAN, BRONX]})) => true,
        equals_polygon: ("equals", "Polygon", hangzhou_poly(), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,
        equals_polygon_other: ("equals", "Polygon", hangzhou_poly(), json!({"type": "Polygon", "coordinates": nyc_north_poly()})) => false,
        equals_multipoint: ("equals", "MultiPoint", json!([MANHATTAN, BRONX]), json!({"type": "MultiPoint", "coordinates": [MANHATTAN, BRONX]})) => true,
        equals_multiline: ("equals", "MultiLineString", json!([[MANHATTAN, BRONX]]), json!({"type": "MultiLineString", "coordinates": [[MANHATTAN, BRONX]]})) => true,
        equals_multipolygon: ("equals", "MultiPolygon", json!([hangzhou_poly()]), json!({"type": "MultiPolygon", "coordinates": [hangzhou_poly()]})) => true,

        disjoint_point: ("disjoint", "Polygon", hangzhou_poly(), point(VENICE[0], VENICE[1])) => true,
        disjoint_point_inside: ("disjoint", "Polygon", hangzhou_poly(), point(SHANGCHENG[0], SHANGCHENG[1])) => false,
        disjoint_line: ("disjoint", "LineString", json!([MANHATTAN, BRONX]), point(STATEN_ISLAND[0], STATEN_ISLAND[1])) => true,
        disjoint_multipoint: ("disjoint", "MultiPoint", json!([MANHATTAN, BRONX]), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,
        disjoint_multiline: ("disjoint", "MultiLineString", json!([[MANHATTAN, BRONX]]), json!({"type": "Polygon", "coordinates": nyc_north_poly()})) => false,
        disjoint_multipolygon: ("disjoint", "MultiPolygon", json!([nyc_north_poly()]), point(STATEN_ISLAND[0], STATEN_ISLAND[1])) => true,
        disjoint_point_query: ("disjoint", "Point", json!(VENICE), point(VENICE[0], VENICE[1])) => false,

        overlaps_polygons: ("overlaps", "Polygon", json!([[[120.20, 30.30], [120.25, 30.30], [120.25, 30.35], [120.20, 30.35], [120.20, 30.30]]]), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,
        overlaps_disjoint_polygons: ("overlaps", "Polygon", nyc_north_poly(), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => false,
        overlaps_lines: ("overlaps", "LineString", json!([[120.15, 30.25], [120.17, 30.25]]), json!({"type": "LineString", "coordinates": [[120.16, 30.25], [120.18, 30.25]]})) => true,
        overlaps_multipoints: ("overlaps", "MultiPoint", json!([MANHATTAN, BRONX]), json!({"type": "MultiPoint", "coordinates": [BRONX, QUEENS]})) => true,
        overlaps_multipolygon: ("overlaps", "MultiPolygon", json!([[[[120.20, 30.30], [120.25, 30.30], [120.25, 30.35], [120.20, 30.35], [120.20, 30.30]]]]), json!({"type": "Polygon", "coordinates": hangzhou_poly()})) => true,
        overlaps_multiline: ("overlaps", "MultiLineString", json!([[[120.15, 30.25], [120.17, 30.25]]]), json!({"type": "LineString", "coordinates": [[120.16, 30.25], [120.18, 30.25]]})) => true,
    }

    /// Wrong georels, geometries and coordinates are 400.
    #[test]
    fn invalid_geo_queries() {
        let ctx = Context::core();
        let c = json!(VENICE);
        assert!(geo::parse("near", Some("Point"), Some(&c), None, &ctx).is_err());
        assert!(geo::parse("touches", Some("Point"), Some(&c), None, &ctx).is_err());
        assert!(geo::parse("within", Some("Circle"), Some(&c), None, &ctx).is_err());
        assert!(geo::parse(
            "within",
            Some("Point"),
            Some(&json!([45.4305, 192.0])),
            None,
            &ctx
        )
        .is_err());
        assert!(geo::parse(
            "within",
            Some("Polygon"),
            Some(&json!([[VENICE, VENICE]])),
            None,
            &ctx
        )
        .is_err());
    }

    /// Great-circle distance Venice → Hangzhou (Shangcheng): about 8,900 km.
    #[test]
    fn haversine_venice_hangzhou() {
        let d = geo::haversine(
            ::geo::Coord {
                x: VENICE[0],
                y: VENICE[1],
            },
            ::geo::Coord {
                x: SHANGCHENG[0],
                y: SHANGCHENG[1],
            },
        );
        assert!((8_850_000.0..8_950_000.0).contains(&d), "{d}");
    }

    /// The bounding box of the Hangzhou polygon.
    #[test]
    fn bbox_of_polygon() {
        let b = geo::bbox_of(&json!({"type": "Polygon", "coordinates": hangzhou_poly()})).unwrap();
        assert_eq!(b, (120.14, 30.24, 120.21, 30.32));
    }
}

/// A NYC borough as an entity with its population (2020 census).
fn borough(code: u8, name: &str, pop: i64, at: [f64; 2]) -> Arc<Entity> {
    Arc::new(
        parse_entity(
            &json!({
                "id": format!("urn:ngsi-ld:Borough:{code}"),
                "type": "Borough",
                "name": {"type": "Property", "value": name},
                "population": {"type": "Property", "value": pop},
                "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": at}}
            }),
            &Context::core(),
            1,
        )
        .unwrap(),
    )
}

fn boroughs() -> Vec<Arc<Entity>> {
    vec![
        borough(1, "Manhattan", 1_694_251, MANHATTAN),
        borough(2, "Bronx", 1_472_654, BRONX),
        borough(3, "Brooklyn", 2_736_074, BROOKLYN),
        borough(4, "Queens", 2_405_464, QUEENS),
        borough(5, "Staten Island", 495_747, STATEN_ISLAND),
    ]
}

/// The names of the boroughs in the order `orderBy` (with `orderFrom`) gives.
fn ordered(order_by: &str, from: Option<&str>) -> Vec<String> {
    let o = OrderBy::parse(order_by, from, None).unwrap();
    let mut l = boroughs();
    let ctx = Context::core();
    o.sort(&mut l, &ctx);
    l.iter()
        .map(|e| {
            e.attrs[&ctx.expand("name")][0]
                .value
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

macro_rules! order_table {
    ($($name:ident: ($by:expr, $from:expr) => [$($want:expr),*],)*) => {
        $(#[test] fn $name() { assert_eq!(ordered($by, $from), vec![$($want.to_string()),*]); })*
    };
}

mod order_by {
    use super::*;
    order_table! {
        by_name_asc: ("name", None) => ["Bronx", "Brooklyn", "Manhattan", "Queens", "Staten Island"],
        by_name_desc: ("name;desc", None) => ["Staten Island", "Queens", "Manhattan", "Brooklyn", "Bronx"],
        by_population_asc: ("population;asc", None) => ["Staten Island", "Bronx", "Manhattan", "Queens", "Brooklyn"],
        by_population_desc: ("population;desc", None) => ["Brooklyn", "Queens", "Manhattan", "Bronx", "Staten Island"],
        by_id_desc: ("id;desc", None) => ["Staten Island", "Queens", "Brooklyn", "Bronx", "Manhattan"],
        by_distance_from_times_square: ("location;dist-asc", Some("[-73.9855,40.7580]")) => ["Manhattan", "Brooklyn", "Bronx", "Queens", "Staten Island"],
        by_distance_desc: ("location;dist-desc", Some("[-73.9855,40.7580]")) => ["Staten Island", "Queens", "Bronx", "Brooklyn", "Manhattan"],
    }

    /// Unknown directions and distance ordering without `orderFrom` are 400.
    #[test]
    fn invalid_order() {
        assert!(OrderBy::parse("name;up", None, None).is_err());
        assert!(OrderBy::parse("location;dist-asc", None, None).is_err());
        assert!(OrderBy::parse("", None, None).is_err());
    }
}

fn params(qs: &str) -> Params {
    Params::parse(Some(qs))
}

mod paging {
    use super::*;

    fn page(qs: &str) -> Result<(usize, usize), String> {
        params::paging(&params(qs), 20, 1000).map_err(|e| e.to_string())
    }

    table! { page;
        defaults: "" => Ok((20, 0)),
        limit_and_offset: "limit=5&offset=10" => Ok((5, 10)),
        limit_zero_counts_only: "limit=0&count=true" => Ok((0, 0)),
        limit_at_max: "limit=1000" => Ok((1000, 0)),
    }

    #[test]
    fn limit_above_max_is_too_many_results() {
        assert!(page("limit=1001").is_err());
    }

    #[test]
    fn negative_or_text_limits_are_bad_data() {
        assert!(page("limit=-1").is_err());
        assert!(page("offset=ten").is_err());
    }

    fn links(offset: usize, limit: usize, total: usize) -> Vec<String> {
        super::super::paging::prev_next_links(offset, limit, total, "application/json", |o| {
            format!("/e?offset={o}")
        })
        .into_iter()
        .map(|(_, v)| v)
        .collect()
    }

    #[test]
    fn first_page_has_next_only() {
        assert_eq!(
            links(0, 2, 5),
            vec!["</e?offset=2>; rel=\"next\"; type=\"application/json\""]
        );
    }

    #[test]
    fn middle_page_has_prev_and_next() {
        assert_eq!(links(2, 2, 5).len(), 2);
    }

    #[test]
    fn last_page_has_prev_only() {
        assert_eq!(
            links(4, 2, 5),
            vec!["</e?offset=2>; rel=\"prev\"; type=\"application/json\""]
        );
    }

    #[test]
    fn limit_zero_has_no_links() {
        assert!(links(0, 0, 5).is_empty());
    }

    #[test]
    fn page_links_sorted_and_escaped() {
        let p = params("type=Borough&q=population%3E1000000&limit=2");
        let l = super::super::paging::page_links(
            "/ngsi-ld/v1/entities",
            &p,
            0,
            2,
            5,
            "application/json",
        );
        assert_eq!(
            l[0].1,
            "</ngsi-ld/v1/entities?limit=2&offset=2&q=population%3E1000000&type=Borough>; rel=\"next\"; type=\"application/json\""
        );
    }

    #[test]
    fn params_form_decoding() {
        let p = params("q=name==%22Staten+Island%22&attrs=name,population");
        assert_eq!(p.get("q"), Some("name==\"Staten Island\""));
        assert_eq!(p.list("attrs"), vec!["name", "population"]);
        assert!(params("options=keyValues,sysAttrs").option("sysAttrs"));
    }
}

mod typed_query {
    use super::*;

    /// Which boroughs a query string selects (names, in id order).
    fn select(qs: &str) -> Vec<String> {
        let ctx = Context::core();
        let q: Query = params::build_query(&params(qs), &ctx).unwrap();
        boroughs()
            .iter()
            .filter(|e| q.matches(e, &ctx))
            .map(|e| {
                e.attrs[&ctx.expand("name")][0]
                    .value
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    macro_rules! select_table {
        ($($name:ident: $qs:expr => [$($want:expr),*],)*) => {
            $(#[test] fn $name() { assert_eq!(select($qs), vec![$($want.to_string()),*] as Vec<String>); })*
        };
    }

    select_table! {
        by_type: "type=Borough" => ["Manhattan", "Bronx", "Brooklyn", "Queens", "Staten Island"],
        by_other_type: "type=TideGauge" => [],
        by_q: "type=Borough&q=population>2000000" => ["Brooklyn", "Queens"],
        by_id_pattern: "idPattern=^urn:ngsi-ld:Borough:[12]$" => ["Manhattan", "Bronx"],
        by_attrs: "attrs=population" => ["Manhattan", "Bronx", "Brooklyn", "Queens", "Staten Island"],
        by_missing_attr: "attrs=elevation" => [],
        by_geo_within: "georel=within&geometry=Polygon&coordinates=[[[-74.02,40.70],[-73.75,40.70],[-73.75,40.90],[-74.02,40.90],[-74.02,40.70]]]" => ["Manhattan", "Bronx", "Queens"],
        by_geo_near: "georel=near;maxDistance==10000&geometry=Point&coordinates=[-73.9855,40.7580]" => ["Manhattan", "Brooklyn"],
        by_q_and_geo: "q=population<1600000&georel=within&geometry=Polygon&coordinates=[[[-74.02,40.70],[-73.75,40.70],[-73.75,40.90],[-74.02,40.90],[-74.02,40.70]]]" => ["Bronx"],
        by_type_groups: "type=(Borough;City)" => [],
    }

    #[test]
    fn allowed_types_limit() {
        let ctx = Context::core();
        let mut q = params::build_query(&params("type=Borough"), &ctx).unwrap();
        q.allowed_types = Some(Arc::new(vec!["Borough".to_string()]));
        assert!(q.matches(&boroughs()[0], &ctx));
        q.allowed_types = Some(Arc::new(vec!["TideGauge".to_string()]));
        assert!(!q.matches(&boroughs()[0], &ctx));
    }

    #[test]
    fn modified_since() {
        let ctx = Context::core();
        let later = Query {
            modified_since: Some(2),
            ..Default::default()
        };
        assert!(!later.matches(&boroughs()[0], &ctx));
        let same = Query {
            modified_since: Some(1),
            ..Default::default()
        };
        assert!(same.matches(&boroughs()[0], &ctx));
    }

    #[test]
    fn type_matches_short_names_and_iris() {
        let l = vec!["Borough".to_string()];
        assert!(params::type_matches(&l, "Borough"));
        assert!(params::type_matches(
            &l,
            "https://uri.etsi.org/ngsi-ld/default-context/Borough"
        ));
        assert!(!params::type_matches(&l, "https://example.org/NotABorough"));
    }

    #[test]
    fn too_wide_queries_are_refused() {
        assert!(params::check_query_scope(&params("limit=5")).is_err());
        assert!(params::check_query_scope(&params("q=id==x")).is_err());
        assert!(params::check_query_scope(&params("type=Borough")).is_ok());
        assert!(params::check_query_scope(&params("q=population>1")).is_ok());
    }

    #[test]
    fn invalid_id_pattern() {
        assert!(params::check_pattern("a**").is_err());
        assert!(params::check_pattern("^urn:.*?$").is_ok());
    }
}

/// Dongsi PM2.5 of 2013-03-01, 00:00 to 07:00 UTC, one sample an hour.
fn dongsi_samples() -> Vec<(i64, Option<f64>, Value)> {
    let base = crate::ld::model::parse_datetime("2013-03-01T00:00:00Z").unwrap();
    [9, 4, 7, 3, 3, 4, 5, 3]
        .iter()
        .enumerate()
        .map(|(h, v)| (base + h as i64 * 3_600_000_000, Some(*v as f64), json!(v)))
        .collect()
}

/// The aggregated values of one method over 4-hour periods (`PT4H`), as `[value, …]`.
fn aggr(method: &str, period: &str) -> Vec<Value> {
    let base = crate::ld::model::parse_datetime("2013-03-01T00:00:00Z").unwrap();
    let period = temporal::parse_duration(period).unwrap();
    let out = aggregate(
        &dongsi_samples(),
        &[method.to_string()],
        base,
        Some(period),
        base + 8 * 3_600_000_000,
    );
    out[method]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x[0].clone())
        .collect()
}

macro_rules! aggr_table {
    ($($name:ident: ($m:expr, $p:expr) => [$($want:expr),*],)*) => {
        $(#[test] fn $name() { assert_eq!(aggr($m, $p), vec![$(json!($want)),*]); })*
    };
}

mod aggregation {
    use super::*;
    aggr_table! {
        total_count_4h: ("totalCount", "PT4H") => [4, 4],
        total_count_1d: ("totalCount", "P1D") => [8],
        distinct_count_4h: ("distinctCount", "PT4H") => [4, 3],
        distinct_count_1d: ("distinctCount", "P1D") => [5],
        sum_4h: ("sum", "PT4H") => [23.0, 15.0],
        sum_2h: ("sum", "PT2H") => [13.0, 10.0, 7.0, 8.0],
        avg_4h: ("avg", "PT4H") => [5.75, 3.75],
        avg_1d: ("avg", "P1D") => [4.75],
        min_4h: ("min", "PT4H") => [3.0, 3.0],
        min_2h: ("min", "PT2H") => [4.0, 3.0, 3.0, 3.0],
        max_4h: ("max", "PT4H") => [9.0, 5.0],
        max_1h: ("max", "PT1H") => [9.0, 4.0, 7.0, 3.0, 3.0, 4.0, 5.0, 3.0],
        sumsq_4h: ("sumsq", "PT4H") => [155.0, 59.0],
        sumsq_1d: ("sumsq", "P1D") => [214.0],
        stddev_2h: ("stddev", "PT2H") => [2.5, 2.0, 0.5, 1.0],
    }

    #[test]
    fn stddev_4h() {
        let v = aggr("stddev", "PT4H");
        let first = v[0].as_f64().unwrap();
        // population standard deviation of 9, 4, 7, 3 (mean 5.75)
        assert!((first - 2.384848003542364).abs() < 1e-12, "{first}");
        let second = v[1].as_f64().unwrap();
        assert!((second - 0.82915619758885).abs() < 1e-12, "{second}");
    }

    #[test]
    fn period_bounds() {
        let base = crate::ld::model::parse_datetime("2013-03-01T00:00:00Z").unwrap();
        let out = aggregate(
            &dongsi_samples(),
            &["max".to_string()],
            base,
            Some(4 * 3_600_000_000),
            base,
        );
        assert_eq!(
            out["max"],
            json!([
                [9.0, "2013-03-01T00:00:00Z", "2013-03-01T04:00:00Z"],
                [5.0, "2013-03-01T04:00:00Z", "2013-03-01T08:00:00Z"]
            ])
        );
    }

    #[test]
    fn whole_interval_without_period() {
        let base = crate::ld::model::parse_datetime("2013-03-01T00:00:00Z").unwrap();
        let end = base + 8 * 3_600_000_000;
        let out = aggregate(&dongsi_samples(), &["avg".to_string()], base, None, end);
        assert_eq!(
            out["avg"],
            json!([[4.75, "2013-03-01T00:00:00Z", "2013-03-01T08:00:00Z"]])
        );
    }

    #[test]
    fn non_numeric_values_give_null_sums() {
        let s = vec![(0, None, json!("NNW")), (1, None, json!("NW"))];
        let out = aggregate(
            &s,
            &["sum".to_string(), "distinctCount".to_string()],
            0,
            None,
            10,
        );
        assert_eq!(out["sum"][0][0], Value::Null);
        assert_eq!(out["distinctCount"][0][0], json!(2));
    }

    fn dur(s: &str) -> Option<i64> {
        temporal::parse_duration(s)
    }

    table! { dur;
        duration_hours: "PT4H" => Some(4 * 3_600_000_000),
        duration_day: "P1D" => Some(86_400_000_000),
        duration_week: "P1W" => Some(7 * 86_400_000_000),
        duration_mixed: "P1DT2H" => Some(26 * 3_600_000_000),
        duration_minutes: "PT10M" => Some(600_000_000),
        duration_fraction: "PT0.5S" => Some(500_000),
        duration_zero: "PT0S" => Some(0),
        duration_garbage: "4 hours" => None,
    }

    fn tf(qs: &str) -> Result<(Option<i64>, Option<i64>), String> {
        temporal::time_filter(&params(qs))
            .map(|t| (t.from, t.to))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn timerel_before_after_between() {
        let t0 = crate::ld::model::parse_datetime("2022-08-10T00:00:00Z").unwrap();
        let t1 = crate::ld::model::parse_datetime("2022-08-10T00:10:00Z").unwrap();
        assert_eq!(
            tf("timerel=before&timeAt=2022-08-10T00:00:00Z"),
            Ok((None, Some(t0)))
        );
        assert_eq!(
            tf("timerel=after&timeAt=2022-08-10T00:00:00Z"),
            Ok((Some(t0), None))
        );
        assert_eq!(
            tf("timerel=between&timeAt=2022-08-10T00:00:00Z&endTimeAt=2022-08-10T00:10:00Z"),
            Ok((Some(t0), Some(t1)))
        );
        assert!(
            tf("timerel=between&timeAt=2022-08-10T00:10:00Z&endTimeAt=2022-08-10T00:00:00Z")
                .is_err()
        );
        assert!(tf("timerel=after&timeAt=2022-08-10").is_err());
        assert!(tf("timerel=during&timeAt=2022-08-10T00:00:00Z").is_err());
    }

    #[test]
    fn every_method_is_known() {
        assert_eq!(temporal::AGGR_METHODS.len(), 8);
        assert!(
            temporal::temporal_opts(&params("options=aggregatedValues&aggrMethods=median"))
                .is_err()
        );
        assert!(temporal::temporal_opts(&params("options=aggregatedValues")).is_err());
        assert!(temporal::temporal_opts(&params(
            "options=aggregatedValues&aggrMethods=sum,avg&aggrPeriodDuration=PT1H"
        ))
        .is_ok());
    }
}
