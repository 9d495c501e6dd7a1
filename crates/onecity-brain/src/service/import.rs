//! `onecity import metro-stations`: the 80 Hangzhou metro stations as twin entities.
//!
//! Each tensor row becomes (or, when the replay made it already, gains attributes on) the
//! entity `urn:ngsi-ld:MetroStationFlow:HZ-<row>`:
//!
//! | attribute | kind | value |
//! |---|---|---|
//! | `name` | Property | `HZ-<row>`: the data has no station names (see the data README) |
//! | `tensorRow` | Property | the row in `hangzhou_flow.csv` |
//! | `graphId` | Property | the id in `hangzhou_graph.csv` (id 54 has no row) |
//! | `adjacentStation` | Relationship | the neighbours' entity ids (id 54 contracted) |
//! | `location` | GeoProperty | a **placed** point, not a surveyed one (below) |
//! | `positionSource`, `locationSource` | Property | `"placed"` |
//!
//! **Placement.** The data has no coordinates. A station is put at
//! `onecity_twin::replay::placed(100 + row)`, the deterministic point inside central
//! Hangzhou (120.10–120.25 E, 30.22–30.32 N) that `onecity replay metro` also gives the
//! same entity, so a later replay does not move it. The points show the stations on the
//! map; their distances and their order along a line mean nothing. Lines are not written:
//! the graph has three lines and a branch, but nothing says which is which.

use std::collections::BTreeMap;

use onecity_core::{Error, ErrorCode};
use onecity_twin::context::Context;
use onecity_twin::model::{AttrKind, Attribute, Entity};
use onecity_twin::{ChangeKind, EntityOp, Outcome, Twin, UpdateReport};
use serde::Serialize;
use serde_json::{json, Value};

use crate::metro::MetroData;
use crate::station::{entity_id, short_id, stations, STATION_TYPE};

/// The value of `positionSource` / `locationSource`: the position was placed, not surveyed.
pub const PLACED: &str = "placed";

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Tenant.
    pub tenant: String,
    /// Entities created.
    pub created: usize,
    /// Entities that existed (e.g. from the replay) and were updated.
    pub updated: usize,
}

fn attr(kind: AttrKind, value: Value, now: i64) -> Attribute {
    Attribute {
        kind,
        value,
        dataset_id: None,
        observed_at: None,
        unit_code: None,
        lang: None,
        created_at: now,
        modified_at: now,
        sub: BTreeMap::new(),
    }
}

/// The station attributes of tensor row `row` (see the module doc), expanded names.
fn station_attrs(row: usize, graph_id: usize, neighbours: &[usize]) -> Vec<(String, Attribute)> {
    let ctx = Context::core();
    let [lon, lat] = onecity_twin::replay::placed(100 + row);
    let p = |v: Value| attr(AttrKind::Property, v, 0);
    let mut out = vec![
        (ctx.expand("name"), p(json!(short_id(row)))),
        (ctx.expand("tensorRow"), p(json!(row))),
        (ctx.expand("graphId"), p(json!(graph_id))),
        (
            ctx.expand("location"),
            attr(
                AttrKind::GeoProperty,
                json!({"type": "Point", "coordinates": [lon, lat]}),
                0,
            ),
        ),
        (ctx.expand("positionSource"), p(json!(PLACED))),
        (ctx.expand("locationSource"), p(json!(PLACED))),
    ];
    if !neighbours.is_empty() {
        let ids: Vec<String> = neighbours.iter().map(|&n| entity_id(n)).collect();
        out.push((
            ctx.expand("adjacentStation"),
            attr(AttrKind::Relationship, json!(ids), 0),
        ));
    }
    out
}

/// Creates or updates the station entities of `data` in `tenant` (idempotent: a second
/// run rewrites the same values).
///
/// # Errors
/// `invalid_input` when an entity of that id exists with another type; `internal` when
/// the twin's writer fails.
pub async fn import_stations(
    twin: &Twin,
    tenant: &str,
    data: &MetroData,
) -> Result<ImportReport, Error> {
    let etype = Context::core().expand(STATION_TYPE);
    let mut ops = Vec::new();
    let mut existed = 0;
    for s in stations(data) {
        let id = entity_id(s.row);
        if twin.get(tenant, &id).is_some() {
            existed += 1;
        }
        let attrs = station_attrs(s.row, s.graph_id, &s.neighbours);
        let etype = etype.clone();
        let eid = id.clone();
        ops.push(EntityOp {
            tenant: tenant.into(),
            id,
            f: Box::new(move |cur: Option<&Entity>, now| {
                let (mut e, kind) = match cur {
                    Some(c) if !c.types.contains(&etype) => {
                        return Err(onecity_twin::NgsiError::bad_data(format!(
                            "entity {eid} exists with another type"
                        )))
                    }
                    Some(c) => (c.clone(), ChangeKind::Updated),
                    None => (
                        Entity {
                            id: eid,
                            types: vec![etype],
                            scope: vec![],
                            created_at: now,
                            modified_at: now,
                            attrs: BTreeMap::new(),
                        },
                        ChangeKind::Created,
                    ),
                };
                let names: Vec<String> = attrs.iter().map(|(n, _)| n.clone()).collect();
                for (name, mut a) in attrs {
                    a.created_at = e.instance(&name, None).map_or(now, |o| o.created_at);
                    a.modified_at = now;
                    e.put_instance(&name, a);
                }
                e.modified_at = now;
                Ok(Outcome::Put {
                    entity: e,
                    kind,
                    changed: names.clone(),
                    report: UpdateReport {
                        updated: names,
                        not_updated: vec![],
                    },
                })
            }),
        });
    }
    let n = ops.len();
    for r in twin.apply(ops).await {
        r.map_err(|e| Error::new(ErrorCode::InvalidInput, e.to_string()))?;
    }
    Ok(ImportReport {
        tenant: tenant.into(),
        created: n - existed,
        updated: existed,
    })
}
