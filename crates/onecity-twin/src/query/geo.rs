//! Geo-queries (GS CIM 009 §4.10): `georel` (near;maxDistance==d / near;minDistance==d,
//! within, contains, intersects, equals, disjoint, overlaps), `geometry` (Point,
//! LineString, Polygon, MultiPolygon; MultiPoint and MultiLineString too), `coordinates`
//! (a GeoJSON coordinate array) and `geoproperty` (default `location`), evaluated on one
//! entity in memory with the `geo` crate.
//!
//! Distances are great-circle metres (`onecity_core::earth::haversine_m`, mean Earth radius 6,371,008.8 m). For a
//! non-point entity geometry, `near` measures to its closest point.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{AttrKind, Entity};
use geo::{BoundingRect, Closest, ClosestPoint, Contains, Intersects, Relate};
use geo::{Coord, Geometry, Point, Rect};
use serde_json::Value;

/// The spatial relation of a geo-query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GeoRel {
    /// `near;maxDistance==d`: within `d` metres.
    NearMax(f64),
    /// `near;minDistance==d`: at least `d` metres away.
    NearMin(f64),
    /// The entity geometry lies within the query geometry.
    Within,
    /// The entity geometry contains the query geometry.
    Contains,
    /// They share at least one point.
    Intersects,
    /// Topologically equal.
    Equals,
    /// They share no point.
    Disjoint,
    /// They overlap (same dimension, neither within the other).
    Overlaps,
}

/// A parsed geo-query.
#[derive(Debug, Clone)]
pub struct GeoQuery {
    /// The relation.
    pub rel: GeoRel,
    /// The query geometry.
    pub geometry: Geometry<f64>,
    /// Its bounding box (expanded by the distance for `near;maxDistance`), for prefilters.
    pub bbox: Rect<f64>,
    /// Expanded name of the GeoProperty to test (default `location`).
    pub geoproperty: String,
}

pub use crate::ld::geometry::{bbox_of, geometry_from_json, geometry_from_parts};

/// Parses `georel`, `geometry`, `coordinates` and `geoproperty`. Errors: 400
/// BadRequestData naming the wrong parameter.
pub fn parse(
    georel: &str,
    geometry: Option<&str>,
    coordinates: Option<&Value>,
    geoproperty: Option<&str>,
    ctx: &Context,
) -> NgsiResult<GeoQuery> {
    let mut parts = georel.split(';');
    let head = parts.next().unwrap_or("");
    let rel = match head {
        "near" => {
            let p = parts.next().ok_or_else(|| {
                NgsiError::bad_data("georel near needs ;maxDistance==<metres> or ;minDistance==<metres>")
            })?;
            if parts.next().is_some() {
                return Err(NgsiError::bad_data(
                    "georel near takes one distance modifier (maxDistance or minDistance), not two",
                ));
            }
            let (k, v) = p
                .split_once("==")
                .ok_or_else(|| NgsiError::bad_data(format!("georel modifier {p:?} must be maxDistance==<metres>")))?;
            let d: f64 = v
                .parse()
                .ok()
                .filter(|d: &f64| d.is_finite() && *d >= 0.0)
                .ok_or_else(|| NgsiError::bad_data(format!("georel distance {v:?} is not a non-negative number")))?;
            match k {
                // §4.10: maxDistance is a positive distance; 0 would only match the point itself.
                "maxDistance" if d > 0.0 => GeoRel::NearMax(d),
                "maxDistance" => return Err(NgsiError::bad_data("maxDistance must be greater than 0")),
                "minDistance" => GeoRel::NearMin(d),
                _ => return Err(NgsiError::bad_data(format!("georel modifier {k:?} is not maxDistance or minDistance"))),
            }
        }
        "within" => GeoRel::Within,
        "contains" => GeoRel::Contains,
        "intersects" => GeoRel::Intersects,
        "equals" => GeoRel::Equals,
        "disjoint" => GeoRel::Disjoint,
        "overlaps" => GeoRel::Overlaps,
        other => return Err(NgsiError::bad_data(format!("georel {other:?} is not one of near, within, contains, intersects, equals, disjoint, overlaps"))),
    };
    let kind = geometry.ok_or_else(|| NgsiError::bad_data("a geo-query needs geometry"))?;
    let c = coordinates.ok_or_else(|| NgsiError::bad_data("a geo-query needs coordinates"))?;
    let g = geometry_from_parts(kind, c)
        .map_err(|e| NgsiError::bad_data(format!("geo-query geometry: {e}")))?;
    let mut bbox = g
        .bounding_rect()
        .ok_or_else(|| NgsiError::bad_data("the geo-query geometry is empty"))?;
    if let GeoRel::NearMax(d) = rel {
        let dlat = d / 111_000.0;
        let coslat = bbox.min().y.to_radians().cos().abs().max(0.01);
        let dlon = d / (111_000.0 * coslat);
        bbox = Rect::new(
            Coord {
                x: bbox.min().x - dlon,
                y: bbox.min().y - dlat,
            },
            Coord {
                x: bbox.max().x + dlon,
                y: bbox.max().y + dlat,
            },
        );
    }
    Ok(GeoQuery {
        rel,
        geometry: g,
        bbox,
        geoproperty: ctx.expand(geoproperty.unwrap_or("location")),
    })
}

/// Great-circle distance in metres.
pub fn haversine(a: Coord<f64>, b: Coord<f64>) -> f64 {
    onecity_core::earth::haversine_m(a.y, a.x, b.y, b.x)
}

/// Metres from `p` to the closest point of `g`. The closest point is searched in a local
/// equirectangular projection around `p` (longitudes scaled by cos(latitude)), so that it
/// is the metrically closest one also far from the equator.
fn distance_to(g: &Geometry<f64>, p: Point<f64>) -> f64 {
    use geo::MapCoords;
    if let Geometry::Point(q) = g {
        return haversine(q.0, p.0);
    }
    if g.intersects(&p) {
        return 0.0;
    }
    let k = p.y().to_radians().cos().abs().max(1e-6);
    let local = g.map_coords(|c| Coord {
        x: (c.x - p.x()) * k,
        y: c.y - p.y(),
    });
    match local.closest_point(&Point::new(0.0, 0.0)) {
        Closest::Intersection(q) | Closest::SinglePoint(q) => haversine(
            Coord {
                x: q.x() / k + p.x(),
                y: q.y() + p.y(),
            },
            p.0,
        ),
        Closest::Indeterminate => f64::INFINITY,
    }
}

/// Metres between two geometries: 0 when they intersect, else the shortest distance from
/// a vertex of one to the other (§4.10: `near` measures from the closest points).
fn distance_between(a: &Geometry<f64>, b: &Geometry<f64>) -> f64 {
    use geo::CoordsIter;
    match (a, b) {
        (_, Geometry::Point(p)) => distance_to(a, *p),
        (Geometry::Point(p), _) => distance_to(b, *p),
        _ if a.intersects(b) => 0.0,
        _ => {
            let one = a
                .coords_iter()
                .map(|c| distance_to(b, Point(c)))
                .fold(f64::INFINITY, f64::min);
            let two = b
                .coords_iter()
                .map(|c| distance_to(a, Point(c)))
                .fold(f64::INFINITY, f64::min);
            one.min(two)
        }
    }
}

/// Metres from the point `(lon, lat)` to the closest point of the GeoJSON geometry `v`
/// (ordering by distance, GS CIM 009 §4.23.3); `None` when `v` is not a geometry.
pub fn distance_from(v: &Value, lon: f64, lat: f64) -> Option<f64> {
    let g = geometry_from_json(v).ok()?;
    std::panic::catch_unwind(|| distance_to(&g, Point::new(lon, lat))).ok()
}

impl GeoQuery {
    /// Whether the relation holds for geometry `g` (the entity's). A geometry the `geo`
    /// crate cannot relate (it panics on some degenerate inputs) does not match.
    pub fn matches_geometry(&self, g: &Geometry<f64>) -> bool {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.relate(g))).unwrap_or(false)
    }

    fn relate(&self, g: &Geometry<f64>) -> bool {
        let q = &self.geometry;
        match self.rel {
            GeoRel::NearMax(d) => distance_between(g, q) <= d,
            GeoRel::NearMin(d) => distance_between(g, q) >= d,
            GeoRel::Within => match (g, q) {
                (Geometry::Point(p), Geometry::Polygon(poly)) => poly.contains(p),
                (Geometry::Point(p), Geometry::MultiPolygon(mp)) => mp.contains(p),
                _ => g.relate(q).is_within(),
            },
            GeoRel::Contains => match (g, q) {
                (Geometry::Polygon(poly), Geometry::Point(p)) => poly.contains(p),
                _ => g.relate(q).is_contains(),
            },
            GeoRel::Intersects => g.intersects(q),
            GeoRel::Disjoint => !g.intersects(q),
            // The same coordinates are equal even when the geometry is not valid (a
            // self-crossing ring, which topological relations cannot judge).
            GeoRel::Equals => g == q || g.relate(q).is_equal_topo(),
            GeoRel::Overlaps => g.relate(q).is_overlaps(),
        }
    }

    /// Whether the entity matches: any instance of the geoproperty that is a GeoProperty
    /// and satisfies the relation.
    pub fn matches(&self, e: &Entity) -> bool {
        let Some(list) = e.attrs.get(&self.geoproperty) else {
            return false;
        };
        list.iter().any(|a| {
            a.kind == AttrKind::GeoProperty
                && geometry_from_json(&a.value).is_ok_and(|g| self.matches_geometry(&g))
        })
    }

    /// Whether every match lies in [`GeoQuery::bbox`], so that a bounding-box test can
    /// prefilter candidates: false for `disjoint` and `near;minDistance`.
    pub fn bbox_prefilters(&self) -> bool {
        !matches!(self.rel, GeoRel::Disjoint | GeoRel::NearMin(_))
    }

    /// Whether a bounding box can hold a match (prefilter; `disjoint` and `near;minDistance`
    /// cannot be prefiltered and always pass).
    pub fn bbox_may_match(&self, b: (f64, f64, f64, f64)) -> bool {
        if !self.bbox_prefilters() {
            return true;
        }
        let r = &self.bbox;
        !(b.2 < r.min().x || b.0 > r.max().x || b.3 < r.min().y || b.1 > r.max().y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn near_within_and_intersects() {
        let ctx = Context::core();
        // Punta della Salute, Venice.
        let venice =
            geometry_from_json(&json!({"type":"Point","coordinates":[12.3364,45.4306]})).unwrap();
        let q = parse(
            "near;maxDistance==1000",
            Some("Point"),
            Some(&json!([12.3300, 45.4340])),
            None,
            &ctx,
        )
        .unwrap();
        assert!(q.matches_geometry(&venice));
        let q = parse(
            "near;maxDistance==100",
            Some("Point"),
            Some(&json!([12.3300, 45.4340])),
            None,
            &ctx,
        )
        .unwrap();
        assert!(!q.matches_geometry(&venice));
        let q = parse(
            "near;minDistance==100",
            Some("Point"),
            Some(&json!([12.3300, 45.4340])),
            None,
            &ctx,
        )
        .unwrap();
        assert!(q.matches_geometry(&venice));
        let lagoon = json!([[
            [12.2, 45.3],
            [12.5, 45.3],
            [12.5, 45.6],
            [12.2, 45.6],
            [12.2, 45.3]
        ]]);
        let q = parse("within", Some("Polygon"), Some(&lagoon), None, &ctx).unwrap();
        assert!(q.matches_geometry(&venice));
        let q = parse("disjoint", Some("Polygon"), Some(&lagoon), None, &ctx).unwrap();
        assert!(!q.matches_geometry(&venice));
        let road = geometry_from_json(
            &json!({"type":"LineString","coordinates":[[12.1,45.4],[12.6,45.45]]}),
        )
        .unwrap();
        let q = parse("intersects", Some("Polygon"), Some(&lagoon), None, &ctx).unwrap();
        assert!(q.matches_geometry(&road));
        assert!(parse("near", Some("Point"), Some(&json!([0, 0])), None, &ctx).is_err());
        let bowtie = json!([[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]);
        let eq = parse("equals", Some("Polygon"), Some(&bowtie), None, &ctx).unwrap();
        let g = geometry_from_json(&json!({"type": "Polygon", "coordinates": bowtie})).unwrap();
        assert!(eq.matches_geometry(&g));
        assert!(parse(
            "within",
            Some("Polygon"),
            Some(&json!([[[0, 0], [1, 1]]])),
            None,
            &ctx
        )
        .is_err());
        assert!(geometry_from_json(&json!({"type":"Point","coordinates":[7.19, 93.6]})).is_err());
    }
}
