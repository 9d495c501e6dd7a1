//! Geometry validity for big boundaries in near-linear time.
//!
//! `geo`'s validation compares every segment of a ring with every other (O(n²)): minutes
//! for New York's Queens (~27k vertices, measured: the demo import did not finish in 60 s).
//! This module checks the same OGC Simple Features rules with a uniform grid of segment
//! buckets, so only segments that are near each other are compared:
//! - no ring crosses itself or another ring (proper crossings and collinear overlaps;
//!   touching at a shared vertex is allowed, as OGC allows for holes touching shells);
//! - every hole lies inside its shell;
//! - no two polygons of a MultiPolygon overlap (neither lies inside the other).

use geo::{Coord, LineString, MultiPolygon};
use std::collections::HashMap;

fn orient(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

fn on_segment(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> bool {
    p.x >= a.x.min(b.x) && p.x <= a.x.max(b.x) && p.y >= a.y.min(b.y) && p.y <= a.y.max(b.y)
}

/// True when segments ab and cd cross or overlap in more than a shared endpoint.
fn bad_intersection(a: Coord<f64>, b: Coord<f64>, c: Coord<f64>, d: Coord<f64>) -> bool {
    let (o1, o2, o3, o4) = (
        orient(a, b, c),
        orient(a, b, d),
        orient(c, d, a),
        orient(c, d, b),
    );
    if ((o1 > 0.0 && o2 < 0.0) || (o1 < 0.0 && o2 > 0.0))
        && ((o3 > 0.0 && o4 < 0.0) || (o3 < 0.0 && o4 > 0.0))
    {
        return true;
    }
    if o1 == 0.0 && o2 == 0.0 {
        // Collinear: overlapping by more than a point is bad.
        let key = |p: Coord<f64>| {
            if (b.x - a.x).abs() >= (b.y - a.y).abs() {
                p.x
            } else {
                p.y
            }
        };
        let (s1, e1) = (key(a).min(key(b)), key(a).max(key(b)));
        let (s2, e2) = (key(c).min(key(d)), key(c).max(key(d)));
        return s1.max(s2) < e1.min(e2);
    }
    // A vertex of one segment lying inside the other (a T-touch) is a self-intersection
    // unless it is a shared endpoint.
    let shared = a == c || a == d || b == c || b == d;
    if shared {
        return false;
    }
    (o1 == 0.0 && on_segment(a, b, c))
        || (o2 == 0.0 && on_segment(a, b, d))
        || (o3 == 0.0 && on_segment(c, d, a))
        || (o4 == 0.0 && on_segment(c, d, b))
}

struct Seg {
    ring: usize,
    idx: usize,
    a: Coord<f64>,
    b: Coord<f64>,
}

fn ring_crossings(rings: &[(&LineString<f64>, String)]) -> Option<String> {
    let mut segs = Vec::new();
    let (mut minx, mut miny, mut maxx, mut maxy) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for (ri, (ring, _)) in rings.iter().enumerate() {
        for (i, l) in ring.lines().enumerate() {
            if l.start == l.end {
                continue;
            }
            minx = minx.min(l.start.x.min(l.end.x));
            maxx = maxx.max(l.start.x.max(l.end.x));
            miny = miny.min(l.start.y.min(l.end.y));
            maxy = maxy.max(l.start.y.max(l.end.y));
            segs.push(Seg {
                ring: ri,
                idx: i,
                a: l.start,
                b: l.end,
            });
        }
    }
    if segs.is_empty() {
        return None;
    }
    let g = ((segs.len() as f64 / 4.0).sqrt().ceil() as usize).clamp(1, 2048);
    let cw = ((maxx - minx) / g as f64).max(f64::MIN_POSITIVE);
    let ch = ((maxy - miny) / g as f64).max(f64::MIN_POSITIVE);
    let cell = |v: f64, lo: f64, w: f64| {
        (((v - lo) / w).floor() as isize).clamp(0, g as isize - 1) as usize
    };
    let mut buckets: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    for (si, s) in segs.iter().enumerate() {
        let (x0, x1) = (
            cell(s.a.x.min(s.b.x), minx, cw),
            cell(s.a.x.max(s.b.x), minx, cw),
        );
        let (y0, y1) = (
            cell(s.a.y.min(s.b.y), miny, ch),
            cell(s.a.y.max(s.b.y), miny, ch),
        );
        for x in x0..=x1 {
            for y in y0..=y1 {
                buckets.entry((x, y)).or_default().push(si);
            }
        }
    }
    let ring_len: Vec<usize> = rings
        .iter()
        .map(|(r, _)| r.0.len().saturating_sub(1))
        .collect();
    for list in buckets.values() {
        for (k, &i) in list.iter().enumerate() {
            for &j in &list[k + 1..] {
                let (s, t) = (&segs[i], &segs[j]);
                if s.ring == t.ring {
                    let n = ring_len[s.ring];
                    let d = s.idx.abs_diff(t.idx);
                    if d == 1 || d + 1 == n {
                        // Neighbours share a vertex; only a fold-back overlap is bad.
                        let (o1, o2) = (orient(s.a, s.b, t.a), orient(s.a, s.b, t.b));
                        if o1 == 0.0 && o2 == 0.0 && bad_intersection(s.a, s.b, t.a, t.b) {
                            return Some(format!(
                                "{} folds back on itself near ({}, {})",
                                rings[s.ring].1, s.b.x, s.b.y
                            ));
                        }
                        continue;
                    }
                }
                if bad_intersection(s.a, s.b, t.a, t.b) {
                    return Some(if s.ring == t.ring {
                        format!(
                            "{} has a self-intersection near ({}, {})",
                            rings[s.ring].1, s.a.x, s.a.y
                        )
                    } else {
                        format!(
                            "{} and {} intersect near ({}, {})",
                            rings[s.ring].1, rings[t.ring].1, s.a.x, s.a.y
                        )
                    });
                }
            }
        }
    }
    None
}

fn ring_contains(ring: &LineString<f64>, p: Coord<f64>) -> bool {
    let mut inside = false;
    for l in ring.lines() {
        let (a, b) = (l.start, l.end);
        if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y) {
            inside = !inside;
        }
    }
    inside
}

/// Checks validity; returns the problems found (empty when valid).
pub fn problems(mp: &MultiPolygon<f64>) -> Vec<String> {
    let mut rings = Vec::new();
    for (pi, p) in mp.0.iter().enumerate() {
        rings.push((p.exterior(), format!("polygon {pi} exterior ring")));
        for (hi, h) in p.interiors().iter().enumerate() {
            rings.push((h, format!("polygon {pi} interior ring {hi}")));
        }
    }
    if let Some(e) = ring_crossings(&rings) {
        return vec![e];
    }
    for (ring, name) in &rings {
        if geo::Area::unsigned_area(&geo::Polygon::new((*ring).clone(), vec![])) == 0.0 {
            return vec![format!("{name} has zero area")];
        }
    }
    let mut out = Vec::new();
    for (pi, p) in mp.0.iter().enumerate() {
        for (hi, h) in p.interiors().iter().enumerate() {
            if let Some(c) = h.0.iter().find(|c| !p.exterior().0.contains(c)) {
                if !ring_contains(p.exterior(), *c) {
                    out.push(format!(
                        "polygon {pi} interior ring {hi} lies outside its exterior ring"
                    ));
                }
            }
        }
    }
    // With no crossings, two polygons overlap only if one lies inside the other.
    let boxes: Vec<_> =
        mp.0.iter()
            .map(|p| geo::BoundingRect::bounding_rect(p.exterior()))
            .collect();
    for (i, p) in mp.0.iter().enumerate() {
        let Some(c) = p.exterior().0.first().copied() else {
            continue;
        };
        for (j, q) in mp.0.iter().enumerate() {
            if i == j || q.exterior().0.contains(&c) {
                continue;
            }
            let Some(b) = boxes[j] else { continue };
            if c.x < b.min().x || c.x > b.max().x || c.y < b.min().y || c.y > b.max().y {
                continue;
            }
            if ring_contains(q.exterior(), c) && !q.interiors().iter().any(|h| ring_contains(h, c))
            {
                out.push(format!("polygons {i} and {j} overlap"));
                return out;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn finds_bowtie_overlap_and_accepts_valid() {
        let ok = MultiPolygon(vec![
            polygon![(x: 0., y: 0.), (x: 2., y: 0.), (x: 2., y: 2.), (x: 0., y: 2.)],
        ]);
        assert!(problems(&ok).is_empty());
        let bow = MultiPolygon(vec![
            polygon![(x: 0., y: 0.), (x: 2., y: 2.), (x: 2., y: 0.), (x: 0., y: 2.)],
        ]);
        assert!(problems(&bow)[0].contains("self-intersection"));
        let two = MultiPolygon(vec![
            polygon![(x: 0., y: 0.), (x: 4., y: 0.), (x: 4., y: 4.), (x: 0., y: 4.)],
            polygon![(x: 1., y: 1.), (x: 2., y: 1.), (x: 2., y: 2.), (x: 1., y: 2.)],
        ]);
        assert!(problems(&two)[0].contains("overlap"));
        let hole_out = MultiPolygon(vec![geo::Polygon::new(
            LineString::from(vec![(0., 0.), (4., 0.), (4., 4.), (0., 4.), (0., 0.)]),
            vec![LineString::from(vec![
                (5., 5.),
                (6., 5.),
                (6., 6.),
                (5., 6.),
                (5., 5.),
            ])],
        )]);
        assert!(problems(&hole_out)[0].contains("outside"));
        let spike = MultiPolygon(vec![
            polygon![(x: 0., y: 0.), (x: 2., y: 0.), (x: 3., y: 0.), (x: 2., y: 0.), (x: 2., y: 2.), (x: 0., y: 2.)],
        ]);
        assert!(!problems(&spike).is_empty());
    }
}
