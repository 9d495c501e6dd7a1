//! SQL of `twin_history`: one row per recorded attribute instance (tenant, entity, first
//! type, attribute, datasetId, time axis — observedAt, else the commit time —, commit
//! time, numeric value for aggregations, the instance as JSON, its `instanceId`).

use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use crate::ld::model::Attribute;
use crate::query::temporal::{HistRow, TimeFilter};
use onecity_core::Result;
use onecity_store::{args, Executor, Val};
use serde::Deserialize;

/// Largest number of history rows one temporal request reads.
pub const MAX_HISTORY_ROWS: usize = 1_000_000;

/// Columns of one history row to insert, in the order of [`insert`].
pub const COLS: usize = 10;

/// A history row as read.
#[derive(Deserialize)]
struct Row {
    entity_id: String,
    attr: String,
    observed_at: i64,
    num: Option<f64>,
    instance: String,
    instance_id: Option<String>,
}

/// Reads history rows of entities (ordered by entity, attribute, time), at most
/// [`MAX_HISTORY_ROWS`] (else 403 TooManyResults). Rows whose instance does not parse
/// are skipped.
pub async fn read(
    mut ex: impl Executor,
    tenant: &str,
    ids: &[String],
    attrs: &[String],
    tf: TimeFilter,
) -> NgsiResult<Vec<HistRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let mut sql = String::from("SELECT entity_id, attr, observed_at, num, instance, instance_id FROM twin_history WHERE tenant = $1");
        let mut a: Vec<Val> = vec![tenant.into()];
        sql.push_str(&format!(
            " AND entity_id IN ({})",
            onecity_store::numbered(2, chunk.len())
        ));
        a.extend(chunk.iter().map(|s| Val::from(s.as_str())));
        if !attrs.is_empty() {
            sql.push_str(&format!(
                " AND attr IN ({})",
                onecity_store::numbered(a.len() + 1, attrs.len())
            ));
            a.extend(attrs.iter().map(|s| Val::from(s.as_str())));
        }
        if let Some(f) = tf.from {
            sql.push_str(&format!(" AND observed_at >= ${}", a.len() + 1));
            a.push(f.into());
        }
        if let Some(t) = tf.to {
            sql.push_str(&format!(" AND observed_at < ${}", a.len() + 1));
            a.push(t.into());
        }
        sql.push_str(&format!(
            " ORDER BY entity_id, attr, observed_at LIMIT {}",
            MAX_HISTORY_ROWS + 1
        ));
        for r in ex.fetch_all_as::<Row>(&sql, &a).await? {
            let inst: Attribute = match serde_json::from_str(&r.instance) {
                Ok(x) => x,
                Err(_) => continue,
            };
            out.push(HistRow {
                entity_id: r.entity_id,
                attr: r.attr,
                at: r.observed_at,
                num: r.num,
                instance: inst,
                instance_id: r.instance_id,
            });
            if out.len() > MAX_HISTORY_ROWS {
                return Err(NgsiError::new(
                    ProblemKind::TooManyResults,
                    format!("more than {MAX_HISTORY_ROWS} history rows; narrow the time range"),
                ));
            }
        }
    }
    Ok(out)
}

/// Inserts history rows ([`COLS`] values each: tenant, entity_id, etype, attr,
/// dataset_id, observed_at, recorded_at, num, instance, instance_id) in statements of
/// power-of-two row counts, so that a handful of statement shapes stay prepared.
pub async fn insert(mut ex: impl Executor, hist: Vec<[Val; COLS]>) -> Result<()> {
    let backend = ex.backend();
    let sizes: Vec<usize> = onecity_store::shaped_chunks(&hist, 256)
        .map(<[_]>::len)
        .collect();
    let mut hist = hist.into_iter();
    for n in sizes {
        let rows: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "({})",
                    onecity_store::placeholders(backend, i * COLS + 1, COLS)
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO twin_history (tenant, entity_id, etype, attr, dataset_id, observed_at, recorded_at, num, instance, instance_id) VALUES {}",
            rows.join(", ")
        );
        let args: Vec<Val> = hist.by_ref().take(n).flatten().collect();
        ex.execute(&sql, &args).await?;
    }
    Ok(())
}

/// Deletes the instances of one attribute and datasetId recorded at the given times.
pub async fn delete_at_times(
    mut ex: impl Executor,
    tenant: &str,
    entity_id: &str,
    attr: &str,
    dataset_id: &str,
    times: &[i64],
) -> Result<()> {
    for chunk in times.chunks(200) {
        let sql = format!(
            "DELETE FROM twin_history WHERE tenant = $1 AND entity_id = $2 AND attr = $3 AND dataset_id = $4 AND observed_at IN ({})",
            onecity_store::numbered(5, chunk.len())
        );
        let mut args: Vec<Val> = vec![
            tenant.into(),
            entity_id.into(),
            attr.into(),
            dataset_id.into(),
        ];
        args.extend(chunk.iter().map(|t| Val::from(*t)));
        ex.execute(&sql, &args).await?;
    }
    Ok(())
}

/// The type recorded with the entity's history, if it has any.
pub async fn entity_type(mut ex: impl Executor, tenant: &str, id: &str) -> Result<Option<String>> {
    let r = ex
        .fetch_optional(
            "SELECT etype FROM twin_history WHERE tenant = $1 AND entity_id = $2 LIMIT 1",
            args![tenant, id],
        )
        .await?;
    r.map(|r| r.text("etype")).transpose()
}

/// Deletes the whole history of an entity; the number of rows deleted.
pub async fn delete_entity(mut ex: impl Executor, tenant: &str, id: &str) -> Result<u64> {
    ex.execute(
        "DELETE FROM twin_history WHERE tenant = $1 AND entity_id = $2",
        args![tenant, id],
    )
    .await
}

/// Deletes the history of one attribute of an entity: every instance (`dataset_id`
/// `None`) or those of one datasetId (`""` = the default instance).
pub async fn delete_attr(
    mut ex: impl Executor,
    tenant: &str,
    id: &str,
    attr: &str,
    dataset_id: Option<&str>,
) -> Result<u64> {
    match dataset_id {
        None => {
            ex.execute(
                "DELETE FROM twin_history WHERE tenant = $1 AND entity_id = $2 AND attr = $3",
                args![tenant, id, attr],
            )
            .await
        }
        Some(ds) => {
            ex.execute(
                "DELETE FROM twin_history WHERE tenant = $1 AND entity_id = $2 AND attr = $3 AND dataset_id = $4",
                args![tenant, id, attr, ds],
            )
            .await
        }
    }
}

/// Deletes one recorded instance by `instanceId`; the number of rows deleted.
pub async fn delete_instance(
    mut ex: impl Executor,
    tenant: &str,
    id: &str,
    attr: &str,
    instance_id: &str,
) -> Result<u64> {
    ex.execute(
        "DELETE FROM twin_history WHERE tenant = $1 AND entity_id = $2 AND attr = $3 AND instance_id = $4",
        args![tenant, id, attr, instance_id],
    )
    .await
}

/// One recorded instance: its JSON text and its time axis value.
#[derive(Debug, Deserialize)]
pub struct InstanceRow {
    /// The instance, JSON text.
    pub instance: String,
    /// Time axis (µs).
    pub observed_at: i64,
}

/// One recorded instance by `instanceId`.
pub async fn instance(
    mut ex: impl Executor,
    tenant: &str,
    id: &str,
    attr: &str,
    instance_id: &str,
) -> Result<Option<InstanceRow>> {
    let r = ex
        .fetch_optional(
            "SELECT instance, observed_at FROM twin_history WHERE tenant = $1 AND entity_id = $2 AND attr = $3 AND instance_id = $4",
            args![tenant, id, attr, instance_id],
        )
        .await?;
    r.map(|r| r.decode()).transpose()
}

/// Rewrites one recorded instance (it keeps its `instanceId`).
#[allow(clippy::too_many_arguments)]
pub async fn update_instance(
    mut ex: impl Executor,
    tenant: &str,
    id: &str,
    attr: &str,
    instance_id: &str,
    instance: &str,
    num: Option<f64>,
    observed_at: i64,
    dataset_id: &str,
) -> Result<u64> {
    let set: Vec<Val> = vec![
        instance.into(),
        Val::F64(num),
        observed_at.into(),
        dataset_id.into(),
        tenant.into(),
        id.into(),
        attr.into(),
        instance_id.into(),
    ];
    ex.execute(
        "UPDATE twin_history SET instance = $1, num = $2, observed_at = $3, dataset_id = $4 \
         WHERE tenant = $5 AND entity_id = $6 AND attr = $7 AND instance_id = $8",
        &set,
    )
    .await
}

/// Deletes the history of a tenant's entity type older than `cutoff` (µs).
pub async fn delete_older(
    mut ex: impl Executor,
    tenant: &str,
    etype: &str,
    cutoff: i64,
) -> Result<u64> {
    ex.execute(
        "DELETE FROM twin_history WHERE tenant = $1 AND etype = $2 AND observed_at < $3",
        args![tenant, etype, cutoff],
    )
    .await
}
