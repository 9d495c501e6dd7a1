//! Parsing and validating GeoJSON areas (Polygon / MultiPolygon, RFC 7946 §3.1.6–3.1.7).
//!
//! Checked on the raw positions, before any library closes rings for us: every ring closed
//! (first position equals last), at least 4 positions, finite longitude in [-180, 180] and
//! latitude in [-90, 90]; then, on the geometry, no self-intersections and holes inside
//! their shells (OGC Simple Features validity, via `geo`'s validation).

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::Value;

/// Parses a GeoJSON geometry (or a Feature's geometry) into a valid MultiPolygon.
///
/// Errors: every problem found, as human-readable strings.
pub fn parse_area(v: &Value) -> Result<MultiPolygon<f64>, Vec<String>> {
    let geom = if v.get("type").and_then(Value::as_str) == Some("Feature") {
        v.get("geometry")
            .ok_or_else(|| vec!["feature has no geometry".to_string()])?
    } else {
        v
    };
    let ty = geom.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = geom
        .get("coordinates")
        .ok_or_else(|| vec!["geometry has no coordinates".to_string()])?;
    let mut problems = Vec::new();
    let polys: Vec<&Value> = match ty {
        "Polygon" => vec![coords],
        "MultiPolygon" => coords
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default(),
        other => {
            return Err(vec![format!(
                "geometry type must be Polygon or MultiPolygon, got {other:?}"
            )])
        }
    };
    if polys.is_empty() {
        return Err(vec!["geometry has no polygons".into()]);
    }
    let mut out = Vec::new();
    for (pi, p) in polys.iter().enumerate() {
        let Some(rings) = p.as_array().filter(|r| !r.is_empty()) else {
            problems.push(format!("polygon {pi} has no rings"));
            continue;
        };
        let mut parsed = Vec::new();
        for (ri, ring) in rings.iter().enumerate() {
            match parse_ring(ring) {
                Ok(r) => parsed.push(r),
                Err(e) => problems.push(format!("polygon {pi} ring {ri}: {e}")),
            }
        }
        if parsed.len() == rings.len() {
            let mut it = parsed.into_iter();
            let ext = it.next().expect("non-empty");
            out.push(Polygon::new(ext, it.collect()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mp = MultiPolygon(out);
    let errs = crate::validity::problems(&mp);
    if !errs.is_empty() {
        return Err(errs);
    }
    Ok(mp)
}

fn parse_ring(v: &Value) -> Result<LineString<f64>, String> {
    let pts = v.as_array().ok_or("ring is not an array of positions")?;
    if pts.len() < 4 {
        return Err(format!(
            "ring has {} positions; a closed ring needs at least 4",
            pts.len()
        ));
    }
    let mut cs = Vec::with_capacity(pts.len());
    for (i, p) in pts.iter().enumerate() {
        let a = p
            .as_array()
            .ok_or_else(|| format!("position {i} is not an array"))?;
        let (x, y) = match (
            a.first().and_then(Value::as_f64),
            a.get(1).and_then(Value::as_f64),
        ) {
            (Some(x), Some(y)) => (x, y),
            _ => return Err(format!("position {i} is not [longitude, latitude]")),
        };
        if !x.is_finite() || !(-180.0..=180.0).contains(&x) {
            return Err(format!(
                "position {i}: longitude {x} is outside [-180, 180]"
            ));
        }
        if !y.is_finite() || !(-90.0..=90.0).contains(&y) {
            return Err(format!("position {i}: latitude {y} is outside [-90, 90]"));
        }
        cs.push(Coord { x, y });
    }
    if cs.first() != cs.last() {
        return Err("ring is not closed: its first and last positions differ".into());
    }
    Ok(LineString(cs))
}

/// The GeoJSON geometry object of a MultiPolygon.
pub fn to_geojson(mp: &MultiPolygon<f64>) -> Value {
    let polys: Vec<Value> =
        mp.0.iter()
            .map(|p| {
                let ring = |l: &LineString<f64>| {
                    Value::from(
                        l.0.iter()
                            .map(|c| Value::from(vec![c.x, c.y]))
                            .collect::<Vec<_>>(),
                    )
                };
                let mut rings = vec![ring(p.exterior())];
                rings.extend(p.interiors().iter().map(ring));
                Value::from(rings)
            })
            .collect();
    serde_json::json!({"type": "MultiPolygon", "coordinates": polys})
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_a_square_and_rejects_bad_rings() {
        let ok = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]});
        assert_eq!(parse_area(&ok).unwrap().0.len(), 1);
        let open = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]});
        assert!(parse_area(&open).unwrap_err()[0].contains("not closed"));
        let bowtie = json!({"type":"Polygon","coordinates":[[[0,0],[1,1],[1,0],[0,1],[0,0]]]});
        assert!(parse_area(&bowtie).unwrap_err()[0].contains("self-intersection"));
        let lat = json!({"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]});
        assert!(parse_area(&lat).unwrap_err()[0].contains("latitude 91"));
        let pt = json!({"type":"Point","coordinates":[0,0]});
        assert!(parse_area(&pt).is_err());
    }
}
