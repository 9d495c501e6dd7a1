//! The in-memory entity index of one NGSI-LD tenant: entities in id order plus an R-tree
//! over the bounding boxes of their `location` GeoProperty, so that geo-queries
//! (GS CIM 009 §4.10) pick their candidates without scanning every entity.
//!
//! The R-tree holds `(bounding box, entity id)` pairs and is kept in step with the map on
//! every insert and removal; an entity without a usable `location` is only in the map.

use crate::ld::model::Entity;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A bounding box: (min lon, min lat, max lon, max lat).
pub type BBox = (f64, f64, f64, f64);

/// An entity in the index with its `location` bounding box.
#[derive(Clone)]
pub struct Slot {
    /// The entity.
    pub entity: Arc<Entity>,
    /// Bounding box of `location` (min lon, min lat, max lon, max lat).
    pub bbox: Option<BBox>,
}

type Boxed = GeomWithData<Rectangle<[f64; 2]>, String>;

fn boxed(b: BBox, id: String) -> Boxed {
    GeomWithData::new(Rectangle::from_corners([b.0, b.1], [b.2, b.3]), id)
}

/// The entities of one tenant (GS CIM 009 §5.7.2 queries run over it).
#[derive(Default)]
pub struct TenantIndex {
    ents: BTreeMap<String, Slot>,
    boxes: RTree<Boxed>,
}

impl TenantIndex {
    /// Builds the index of a tenant in one go (bulk-loaded R-tree).
    pub fn from_slots(ents: BTreeMap<String, Slot>) -> Self {
        let boxes = ents
            .iter()
            .filter_map(|(id, s)| s.bbox.map(|b| boxed(b, id.clone())))
            .collect();
        TenantIndex {
            ents,
            boxes: RTree::bulk_load(boxes),
        }
    }

    /// One entity.
    pub fn get(&self, id: &str) -> Option<&Slot> {
        self.ents.get(id)
    }

    /// Number of entities.
    pub fn len(&self) -> usize {
        self.ents.len()
    }

    /// Whether there is no entity.
    pub fn is_empty(&self) -> bool {
        self.ents.is_empty()
    }

    /// Every entity, in id order.
    pub fn values(&self) -> impl Iterator<Item = &Slot> {
        self.ents.values()
    }

    /// Inserts or replaces an entity; the R-tree entry moves only when the box changed.
    pub fn insert(&mut self, id: String, slot: Slot) {
        let new_box = slot.bbox;
        let old_box = self.ents.get(&id).and_then(|s| s.bbox);
        if old_box != new_box {
            if let Some(b) = old_box {
                self.boxes.remove(&boxed(b, id.clone()));
            }
            if let Some(b) = new_box {
                self.boxes.insert(boxed(b, id.clone()));
            }
        }
        self.ents.insert(id, slot);
    }

    /// Removes an entity.
    pub fn remove(&mut self, id: &str) {
        if let Some(Slot { bbox: Some(b), .. }) = self.ents.remove(id) {
            self.boxes.remove(&boxed(b, id.to_string()));
        }
    }

    /// The entities whose `location` box intersects `b` (borders included), in id order:
    /// the candidates of a geo-query whose matches must lie in `b`.
    pub fn in_box(&self, b: BBox) -> Vec<&Slot> {
        let env = AABB::from_corners([b.0, b.1], [b.2, b.3]);
        let mut ids: Vec<&String> = self
            .boxes
            .locate_in_envelope_intersecting(&env)
            .map(|x| &x.data)
            .collect();
        ids.sort_unstable();
        ids.into_iter().filter_map(|id| self.ents.get(id)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(id: &str, bbox: Option<BBox>) -> Slot {
        Slot {
            entity: Arc::new(Entity {
                id: id.into(),
                types: vec![],
                scope: vec![],
                created_at: 0,
                modified_at: 0,
                attrs: BTreeMap::new(),
            }),
            bbox,
        }
    }

    fn ids(v: Vec<&Slot>) -> Vec<String> {
        v.into_iter().map(|s| s.entity.id.clone()).collect()
    }

    #[test]
    fn the_rtree_follows_inserts_moves_and_removals() {
        let mut ix = TenantIndex::default();
        ix.insert("b".into(), slot("b", Some((1.0, 1.0, 1.0, 1.0))));
        ix.insert("a".into(), slot("a", Some((2.0, 2.0, 3.0, 3.0))));
        ix.insert("c".into(), slot("c", None));
        assert_eq!(ids(ix.in_box((0.0, 0.0, 5.0, 5.0))), ["a", "b"]);
        // Borders count: a box touching the query box is a candidate.
        assert_eq!(ids(ix.in_box((3.0, 3.0, 4.0, 4.0))), ["a"]);
        // Moving b away takes its old box out of the tree.
        ix.insert("b".into(), slot("b", Some((10.0, 10.0, 10.0, 10.0))));
        assert_eq!(ids(ix.in_box((0.0, 0.0, 5.0, 5.0))), ["a"]);
        assert_eq!(ids(ix.in_box((9.0, 9.0, 11.0, 11.0))), ["b"]);
        // Losing the location takes it out too; gaining one puts it in.
        ix.insert("a".into(), slot("a", None));
        ix.insert("c".into(), slot("c", Some((2.5, 2.5, 2.5, 2.5))));
        assert_eq!(ids(ix.in_box((0.0, 0.0, 5.0, 5.0))), ["c"]);
        ix.remove("c");
        ix.remove("missing");
        assert!(ix.in_box((0.0, 0.0, 5.0, 5.0)).is_empty());
        assert_eq!(ix.len(), 2);
        let bulk = TenantIndex::from_slots(
            ix.values()
                .map(|s| (s.entity.id.clone(), s.clone()))
                .collect(),
        );
        assert_eq!(ids(bulk.in_box((9.0, 9.0, 11.0, 11.0))), ["b"]);
    }
}
