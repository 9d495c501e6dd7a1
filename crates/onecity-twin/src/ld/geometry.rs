//! GeoJSON geometries (GS CIM 009 §4.7): parsing a GeoProperty value into a `geo`
//! geometry with range checks, and its bounding box. Used by attribute parsing (`model`),
//! the index and geo-queries.

use geo::{
    BoundingRect, Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point,
    Polygon,
};
use serde_json::Value;

/// Parses a coordinate `[lon, lat]` with range checks.
fn coord(v: &Value) -> Result<Coord<f64>, String> {
    let a = v
        .as_array()
        .ok_or_else(|| format!("{v} is not a position"))?;
    if a.len() < 2 || a.len() > 3 {
        return Err(format!("position {v} must have 2 or 3 numbers"));
    }
    let x = a[0]
        .as_f64()
        .ok_or_else(|| format!("{v}: longitude is not a number"))?;
    let y = a[1]
        .as_f64()
        .ok_or_else(|| format!("{v}: latitude is not a number"))?;
    if !(-180.0..=180.0).contains(&x) || !(-90.0..=90.0).contains(&y) {
        return Err(format!(
            "position {v} is out of range (GeoJSON is [longitude, latitude])"
        ));
    }
    Ok(Coord { x, y })
}

fn coords(v: &Value) -> Result<Vec<Coord<f64>>, String> {
    v.as_array()
        .ok_or_else(|| format!("{v} is not an array of positions"))?
        .iter()
        .map(coord)
        .collect()
}

fn ring(v: &Value) -> Result<LineString<f64>, String> {
    let c = coords(v)?;
    if c.len() < 4 || c.first() != c.last() {
        return Err("a polygon ring needs at least 4 positions and must be closed".into());
    }
    Ok(LineString(c))
}

fn polygon(v: &Value) -> Result<Polygon<f64>, String> {
    let rings = v
        .as_array()
        .ok_or("a Polygon's coordinates must be an array of rings")?;
    let mut it = rings.iter();
    let outer = ring(it.next().ok_or("a Polygon needs at least one ring")?)?;
    let inner = it.map(ring).collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(outer, inner))
}

/// Builds a geometry from `type` and `coordinates`.
pub fn geometry_from_parts(kind: &str, c: &Value) -> Result<Geometry<f64>, String> {
    Ok(match kind {
        "Point" => Geometry::Point(Point(coord(c)?)),
        "MultiPoint" => {
            Geometry::MultiPoint(MultiPoint(coords(c)?.into_iter().map(Point).collect()))
        }
        "LineString" => {
            let l = coords(c)?;
            if l.len() < 2 {
                return Err("a LineString needs at least 2 positions".into());
            }
            Geometry::LineString(LineString(l))
        }
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            c.as_array()
                .ok_or("MultiLineString coordinates must be an array")?
                .iter()
                .map(|l| coords(l).map(LineString))
                .collect::<Result<_, _>>()?,
        )),
        "Polygon" => Geometry::Polygon(polygon(c)?),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            c.as_array()
                .ok_or("MultiPolygon coordinates must be an array")?
                .iter()
                .map(polygon)
                .collect::<Result<_, _>>()?,
        )),
        other => return Err(format!("geometry type {other:?} is not supported")),
    })
}

/// Builds a geometry from a GeoJSON geometry object.
pub fn geometry_from_json(v: &Value) -> Result<Geometry<f64>, String> {
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or("a GeoJSON geometry needs a \"type\"")?;
    let c = v
        .get("coordinates")
        .ok_or("a GeoJSON geometry needs \"coordinates\"")?;
    geometry_from_parts(kind, c)
}

/// The bounding box `(min_lon, min_lat, max_lon, max_lat)` of a GeoJSON geometry.
pub fn bbox_of(v: &Value) -> Option<(f64, f64, f64, f64)> {
    let g = geometry_from_json(v).ok()?;
    let r = g.bounding_rect()?;
    Some((r.min().x, r.min().y, r.max().x, r.max().y))
}
