//! SQL of `twin_entities`: one row per entity (tenant, id, first type, the entity's JSON
//! in stored form, the bounding box of `location`, creation and modification times).

use crate::ld::model::Entity;
use onecity_core::Result;
use onecity_store::{args, Executor, Val};
use serde::Deserialize;

/// A stored entity, its body not yet parsed (an unreadable body is skipped by the caller,
/// not an error of the whole load).
#[derive(Debug, Deserialize)]
pub struct EntityRow {
    /// NGSI-LD tenant.
    pub tenant: String,
    /// The entity in stored form, JSON text.
    pub body: String,
}

/// An entity to write: tenant, id, the entity and its `location` bounding box.
pub type EntityPut<'a> = (&'a str, &'a str, &'a Entity, Option<(f64, f64, f64, f64)>);

/// Every stored entity of every tenant.
pub async fn load_all(mut ex: impl Executor) -> Result<Vec<EntityRow>> {
    ex.fetch_all_as("SELECT tenant, body FROM twin_entities", &[])
        .await
}

/// Inserts or replaces entities, in statements of up to 128 rows (power-of-two row
/// counts, so that a handful of statement shapes stay prepared).
pub async fn upsert(mut ex: impl Executor, puts: &[EntityPut<'_>]) -> Result<()> {
    let backend = ex.backend();
    for chunk in onecity_store::shaped_chunks(puts, 128) {
        let mut rows = Vec::with_capacity(chunk.len());
        let mut args: Vec<Val> = Vec::with_capacity(chunk.len() * 10);
        for (i, (tenant, id, e, bbox)) in chunk.iter().enumerate() {
            rows.push(format!(
                "({})",
                onecity_store::placeholders(backend, i * 10 + 1, 10)
            ));
            let body = serde_json::to_string(*e).map_err(onecity_core::Error::internal)?;
            args.extend([
                Val::from(*tenant),
                Val::from(*id),
                Val::from(e.main_type()),
                Val::from(body),
                Val::F64(bbox.map(|b| b.0)),
                Val::F64(bbox.map(|b| b.1)),
                Val::F64(bbox.map(|b| b.2)),
                Val::F64(bbox.map(|b| b.3)),
                Val::from(e.created_at),
                Val::from(e.modified_at),
            ]);
        }
        let sql = format!(
            "INSERT INTO twin_entities (tenant, id, etype, body, min_lon, min_lat, max_lon, max_lat, created_at, modified_at) VALUES {} \
             ON CONFLICT (tenant, id) DO UPDATE SET etype = excluded.etype, body = excluded.body, min_lon = excluded.min_lon, \
             min_lat = excluded.min_lat, max_lon = excluded.max_lon, max_lat = excluded.max_lat, created_at = excluded.created_at, \
             modified_at = excluded.modified_at",
            rows.join(", ")
        );
        ex.execute(&sql, &args).await?;
    }
    Ok(())
}

/// Deletes one entity row.
pub async fn delete(mut ex: impl Executor, tenant: &str, id: &str) -> Result<u64> {
    ex.execute(
        "DELETE FROM twin_entities WHERE tenant = $1 AND id = $2",
        args![tenant, id],
    )
    .await
}
