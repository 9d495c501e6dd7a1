//! Seeded property tests over GeoJSON area parsing: arbitrary coordinates (NaN, infinities,
//! out-of-range, open rings, nesting errors) give a valid area or a list of problems, never
//! a panic; an accepted area has only finite, in-range coordinates.

use crate::area::parse_area;
use geo::CoordsIter;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{json, Value};

fn config() -> Config {
    Config {
        cases: 512,
        rng_seed: RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..Config::default()
    }
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-200.0f64..200.0).prop_map(|x| json!(x)),
        Just(json!(1e308)),
        Just(json!(-0.0)),
        Just(Value::Null),
        Just(json!("120.15")),
        // Hangzhou's Xihu district corner and Manhattan's tip, as real anchors.
        Just(json!(120.13)),
        Just(json!(30.25)),
        Just(json!(-74.017)),
        Just(json!(40.7033)),
    ]
}

fn position() -> impl Strategy<Value = Value> {
    proptest::collection::vec(number(), 0..4).prop_map(Value::Array)
}

fn ring() -> impl Strategy<Value = Value> {
    proptest::collection::vec(position(), 0..8).prop_map(|mut pts| {
        // Half the rings are closed, so the deeper checks run too.
        if pts.len() > 2 && pts.len() % 2 == 0 {
            let first = pts[0].clone();
            pts.push(first);
        }
        Value::Array(pts)
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_polygons_are_parsed_or_refused(
        rings in proptest::collection::vec(ring(), 0..3),
        multi in any::<bool>(),
    ) {
        let geometry = if multi {
            json!({"type": "MultiPolygon", "coordinates": [rings]})
        } else {
            json!({"type": "Polygon", "coordinates": rings})
        };
        match parse_area(&geometry) {
            Ok(mp) => {
                for c in mp.coords_iter() {
                    prop_assert!(c.x.is_finite() && (-180.0..=180.0).contains(&c.x));
                    prop_assert!(c.y.is_finite() && (-90.0..=90.0).contains(&c.y));
                }
            }
            Err(problems) => prop_assert!(!problems.is_empty()),
        }
    }
}
