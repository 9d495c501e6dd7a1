//! Point-in-polygon with an edge band index.
//!
//! Big boundaries are slow to test with a plain ray cast (New York's Queens has ~27k
//! vertices). [`PreparedArea`] splits the area's bounding box into horizontal bands and
//! keeps, per band, the edges that cross it; a query casts its ray only against the edges
//! of the point's band. Rings of all parts and holes are treated alike under the even-odd
//! rule, which is exact for valid (non-overlapping) MultiPolygons.

use geo::{BoundingRect, Coord, MultiPolygon, Rect};

/// A MultiPolygon prepared for fast point-in-polygon tests.
#[derive(Debug, Clone)]
pub struct PreparedArea {
    bbox: Rect<f64>,
    band_h: f64,
    bands: Vec<Vec<(Coord<f64>, Coord<f64>)>>,
}

impl PreparedArea {
    /// Prepares `mp`; `None` when it is empty.
    pub fn new(mp: &MultiPolygon<f64>) -> Option<Self> {
        let bbox = mp.bounding_rect()?;
        let mut edges = Vec::new();
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for l in ring.lines() {
                    if l.start.y != l.end.y {
                        edges.push((l.start, l.end));
                    }
                }
            }
        }
        let n = (edges.len() / 8).clamp(1, 4096);
        let height = (bbox.max().y - bbox.min().y).max(f64::MIN_POSITIVE);
        let band_h = height / n as f64;
        let mut bands = vec![Vec::new(); n];
        for (a, b) in edges {
            let (lo, hi) = if a.y < b.y { (a.y, b.y) } else { (b.y, a.y) };
            let i0 =
                (((lo - bbox.min().y) / band_h).floor() as isize).clamp(0, n as isize - 1) as usize;
            let i1 =
                (((hi - bbox.min().y) / band_h).floor() as isize).clamp(0, n as isize - 1) as usize;
            for band in &mut bands[i0..=i1] {
                band.push((a, b));
            }
        }
        Some(PreparedArea {
            bbox,
            band_h,
            bands,
        })
    }

    /// The bounding box.
    pub fn bbox(&self) -> Rect<f64> {
        self.bbox
    }

    /// Whether the point (x = lon, y = lat) lies inside (points exactly on an edge may go
    /// either way).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        let (min, max) = (self.bbox.min(), self.bbox.max());
        if x < min.x || x > max.x || y < min.y || y > max.y {
            return false;
        }
        let i = (((y - min.y) / self.band_h).floor() as usize).min(self.bands.len() - 1);
        let mut inside = false;
        for (a, b) in &self.bands[i] {
            if (a.y > y) != (b.y > y) {
                let xi = a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y);
                if x < xi {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, Contains, Point};

    #[test]
    fn agrees_with_geo_on_a_square_with_a_hole() {
        let p = polygon!(
            exterior: [(x: 0., y: 0.), (x: 10., y: 0.), (x: 10., y: 10.), (x: 0., y: 10.), (x: 0., y: 0.)],
            interiors: [[(x: 4., y: 4.), (x: 6., y: 4.), (x: 6., y: 6.), (x: 4., y: 6.), (x: 4., y: 4.)]],
        );
        let mp = MultiPolygon(vec![p]);
        let prep = PreparedArea::new(&mp).unwrap();
        for i in 0..200 {
            for j in 0..200 {
                let (x, y) = (-1.0 + i as f64 * 0.0613, -1.0 + j as f64 * 0.0617);
                assert_eq!(
                    prep.contains(x, y),
                    mp.contains(&Point::new(x, y)),
                    "({x},{y})"
                );
            }
        }
    }
}
