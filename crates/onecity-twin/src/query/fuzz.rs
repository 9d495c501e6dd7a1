//! Seeded property tests (fixed seed, fixed budget, the same every run) over the two query
//! languages the public writes: `q` and geo-queries. Any text is parsed or refused with a
//! 400 problem, never a panic, and what parses evaluates on a real entity without panicking.

use super::tests::venice;
use super::{geo, q};
use crate::ld::context::Context;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};

fn config() -> Config {
    Config {
        cases: 1024,
        rng_seed: RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..Config::default()
    }
}

/// Pieces of the q grammar (GS CIM 009 §4.9), glued at random.
fn q_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("seaLevel".to_string()),
        Just("name".to_string()),
        Just("seaLevel.quality".to_string()),
        Just("location".to_string()),
        Just("a[b][c]".to_string()),
        Just("label[*]".to_string()),
        Just("==".to_string()),
        Just("!=".to_string()),
        Just(">=".to_string()),
        Just("<".to_string()),
        Just("~=".to_string()),
        Just("!".to_string()),
        Just(";".to_string()),
        Just("|".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("..".to_string()),
        Just(",".to_string()),
        Just("\"Punta della Salute\"".to_string()),
        Just("0.32".to_string()),
        Just("2022-08-10T00:00:00Z".to_string()),
        Just("\"(?i)punta.*\"".to_string()),
        "[\\PC]{0,4}",
    ];
    proptest::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn coordinate_value() -> impl Strategy<Value = Value> {
    let num = prop_oneof![
        (-200.0f64..200.0).prop_map(|x| json!(x)),
        Just(json!(12.336)),
        Just(json!(45.4305))
    ];
    prop_oneof![
        proptest::collection::vec(num.clone(), 0..3).prop_map(Value::Array),
        proptest::collection::vec(
            proptest::collection::vec(num.clone(), 0..3).prop_map(Value::Array),
            0..5
        )
        .prop_map(Value::Array),
        proptest::collection::vec(
            proptest::collection::vec(
                proptest::collection::vec(num, 2..3).prop_map(Value::Array),
                0..6
            )
            .prop_map(Value::Array),
            0..2,
        )
        .prop_map(Value::Array),
        Just(Value::Null),
        Just(json!("12.336,45.4305")),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn q_parses_or_is_refused_with_400(text in q_text()) {
        match q::parse(&text) {
            Ok(expr) => {
                let _ = expr.matches(&venice(), &Context::core());
            }
            Err(e) => prop_assert_eq!(e.kind.status(), 400, "{}: {}", text, e.detail),
        }
    }

    #[test]
    fn geo_queries_parse_or_are_refused_with_400(
        rel in prop_oneof![Just("near;maxDistance==1000"), Just("near;minDistance==-5"), Just("near"),
                           Just("within"), Just("contains"), Just("intersects"), Just("equals"),
                           Just("disjoint"), Just("overlaps"), Just("near;maxDistance==1e999"), Just("nearby")],
        geometry in prop_oneof![Just("Point"), Just("LineString"), Just("Polygon"), Just("MultiPoint"),
                                Just("MultiLineString"), Just("MultiPolygon"), Just("Circle")],
        coordinates in coordinate_value(),
    ) {
        let ctx = Context::core();
        match geo::parse(rel, Some(geometry), Some(&coordinates), None, &ctx) {
            Ok(g) => {
                let _ = g.matches(&venice());
            }
            Err(e) => prop_assert_eq!(e.kind.status(), 400, "{} {} {}: {}", rel, geometry, coordinates, e.detail),
        }
    }
}
