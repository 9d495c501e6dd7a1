//! The per-tenant spatial index.

use crate::pip::PreparedArea;
use geo::MultiPolygon;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// A named node in a lookup answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NamedRef {
    /// Id.
    pub id: Uuid,
    /// Code.
    pub code: String,
    /// Local name.
    pub name: String,
    /// English name.
    pub name_en: Option<String>,
    /// Level (jurisdictions) or `grid`.
    pub level: String,
}

/// Where a point is: the jurisdiction chain (root first, deepest last) and its grid.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LookupResult {
    /// Jurisdictions containing the point, root first; empty when outside every boundary.
    pub jurisdictions: Vec<NamedRef>,
    /// The grid containing the point, if any.
    pub grid: Option<NamedRef>,
}

pub(crate) struct Node {
    pub r: NamedRef,
    pub parent: Option<Uuid>,
    pub depth: usize,
    pub path: String,
}

pub(crate) enum AreaOf {
    Jurisdiction(Uuid),
    Grid(NamedRef),
}

pub(crate) struct TenantIndex {
    pub nodes: HashMap<Uuid, Node>,
    areas: Vec<(AreaOf, PreparedArea)>,
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, usize>>,
}

impl TenantIndex {
    pub fn build(nodes: HashMap<Uuid, Node>, shapes: Vec<(AreaOf, MultiPolygon<f64>)>) -> Self {
        let mut areas = Vec::new();
        let mut boxes = Vec::new();
        for (of, mp) in shapes {
            if let Some(p) = PreparedArea::new(&mp) {
                let b = p.bbox();
                boxes.push(GeomWithData::new(
                    Rectangle::from_corners([b.min().x, b.min().y], [b.max().x, b.max().y]),
                    areas.len(),
                ));
                areas.push((of, p));
            }
        }
        TenantIndex {
            nodes,
            areas,
            tree: RTree::bulk_load(boxes),
        }
    }

    pub fn lookup(&self, lon: f64, lat: f64) -> LookupResult {
        let mut deepest: Option<(usize, Uuid)> = None;
        let mut grid = None;
        for cand in self.tree.locate_all_at_point(&[lon, lat]) {
            let (of, area) = &self.areas[cand.data];
            if !area.contains(lon, lat) {
                continue;
            }
            match of {
                AreaOf::Jurisdiction(id) => {
                    let d = self.nodes.get(id).map(|n| n.depth).unwrap_or(0);
                    if deepest.is_none_or(|(bd, _)| d > bd) {
                        deepest = Some((d, *id));
                    }
                }
                AreaOf::Grid(g) => grid = Some(g.clone()),
            }
        }
        let mut chain = Vec::new();
        let mut cur = deepest.map(|(_, id)| id);
        while let Some(id) = cur {
            match self.nodes.get(&id) {
                Some(n) => {
                    chain.push(n.r.clone());
                    cur = n.parent;
                }
                None => break,
            }
            if chain.len() > 64 {
                break;
            }
        }
        chain.reverse();
        LookupResult {
            jurisdictions: chain,
            grid,
        }
    }

    pub fn area_count(&self) -> usize {
        self.areas.len()
    }
}
