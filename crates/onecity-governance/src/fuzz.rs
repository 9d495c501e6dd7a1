//! Seeded property tests over the two texts the public sends governance: CAP 1.2 alerts and
//! Open311 POST forms. Whatever arrives is parsed or refused with a message, never a panic,
//! and an accepted area is on this planet.

use crate::cap::{parse_cap, MAX_CIRCLE_RADIUS_KM};
use crate::open311::new_event_of;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

fn config() -> Config {
    Config {
        cases: 512,
        rng_seed: RngSeed::Fixed(20_261_207),
        failure_persistence: None,
        ..Config::default()
    }
}

/// A CAP 1.2 alert whose area is the given text (circle or polygon element).
fn cap_with_area(area: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>NYC-OEM-2026-0412</identifier><sender>oem@nyc.gov</sender>
  <sent>2026-04-12T08:00:00-04:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
  <info><category>Met</category><event>Coastal flood</event><urgency>Immediate</urgency>
    <severity>Severe</severity><certainty>Observed</certainty><headline>Flooding at The Battery</headline>
    <area><areaDesc>Lower Manhattan</areaDesc>{area}</area></info>
</alert>"#
    )
}

proptest! {
    #![proptest_config(config())]

    /// Arbitrary text is refused with a message (or, by chance, parsed), never a panic.
    #[test]
    fn arbitrary_text_as_cap(xml in "\\PC{0,400}") {
        let _ = parse_cap(&xml);
    }

    /// Circles with arbitrary centres and radii (huge, negative, NaN, inf): an accepted one
    /// has its centre on Earth and its radius at most half the circumference.
    #[test]
    fn cap_circles_are_on_this_planet(
        lat in prop_oneof![-100.0f64..100.0, Just(f64::NAN), Just(40.7033)],
        lon in prop_oneof![-200.0f64..200.0, Just(-74.017)],
        radius in prop_oneof![Just("1e308".to_string()), Just("inf".to_string()), Just("NaN".to_string()),
                              (-10.0f64..30_000.0).prop_map(|r| r.to_string())],
    ) {
        let xml = cap_with_area(&format!("<circle>{lat},{lon} {radius}</circle>"));
        if let Ok(a) = parse_cap(&xml) {
            for [la, lo, r] in a.circles {
                prop_assert!((-90.0..=90.0).contains(&la) && (-180.0..=180.0).contains(&lo));
                prop_assert!(r.is_finite() && (0.0..=MAX_CIRCLE_RADIUS_KM).contains(&r));
            }
        }
    }

    /// Polygons of arbitrary points: accepted ones are closed rings of at least 4 points.
    #[test]
    fn cap_polygons_are_closed_valid_rings(
        pts in proptest::collection::vec((40.6f64..40.8, -74.1f64..-73.9), 0..7),
        close in any::<bool>(),
    ) {
        let mut text: Vec<String> = pts.iter().map(|(la, lo)| format!("{la},{lo}")).collect();
        if close && !text.is_empty() {
            text.push(text[0].clone());
        }
        let xml = cap_with_area(&format!("<polygon>{}</polygon>", text.join(" ")));
        if let Ok(a) = parse_cap(&xml) {
            for ring in a.polygons {
                prop_assert!(ring.len() >= 4);
                prop_assert_eq!(ring.first(), ring.last());
            }
        }
    }

    /// Open311 POST forms with arbitrary field names and values: parsed or refused with a
    /// message; accepted coordinates are finite numbers.
    #[test]
    fn open311_forms(
        fields in proptest::collection::vec(
            (prop_oneof![Just("service_code".to_string()), Just("lat".to_string()), Just("long".to_string()),
                         Just("description".to_string()), Just("attribute[size]".to_string()),
                         Just("attribute[hazards][]".to_string()), Just("attribute[".to_string()),
                         "\\PC{0,12}"],
             prop_oneof![Just("pothole".to_string()), Just("40.7033".to_string()), Just("NaN".to_string()),
                         Just("inf".to_string()), Just("1e999".to_string()), "\\PC{0,20}"]),
            0..8),
    ) {
        if let Ok(e) = new_event_of(&fields) {
            prop_assert!(e.lat.is_none_or(f64::is_finite));
            prop_assert!(e.long.is_none_or(f64::is_finite));
            prop_assert!(!e.service_code.is_empty());
        }
    }
}
