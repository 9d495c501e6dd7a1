//! The datastore's tables in the store itself (SQLite or PostgreSQL): one real table per
//! CKAN resource, with a generated safe name (`ds_` + 20 hex digits of SHA-256 of the
//! resource id), a `_id` row number and one column per field, quoted. Field names are
//! validated (1–63 bytes, no control characters, not starting with `_`), so quoting with
//! doubled `"` is enough to make any name safe.
//!
//! Storage types: `int` BIGINT, `numeric` DOUBLE PRECISION, `bool` BIGINT 0/1, `date` TEXT
//! `YYYY-MM-DD`, `timestamp` TEXT ISO 8601, `text` TEXT (so both backends compare and sort
//! alike).

use crate::load::{Cell, FieldType, MAX_FIELD_BYTES};
use onecity_core::{Error, Result};
use onecity_store::{args, placeholders, Backend, Db, Executor, SqlBuilder, Tx, Val};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One field of a datastore table (CKAN `fields` entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Field {
    /// Field name (column).
    pub id: String,
    /// Type (`int`, `numeric`, `bool`, `date`, `timestamp`, `text`).
    #[serde(rename = "type")]
    #[schema(value_type = String)]
    pub ty: FieldType,
    /// Data dictionary entry (CKAN `info`): `label`, `notes`, and onecity's `mask` (a
    /// [`crate::MaskRule`] name applied for readers other than the owner) and `personal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<serde_json::Value>,
}

/// Registry entry of a datastore table.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TableMeta {
    /// CKAN resource id.
    pub resource_id: String,
    /// Tenant code.
    pub tenant: String,
    /// Generated table name.
    #[serde(skip)]
    pub table: String,
    /// Owner department id, if any.
    pub owner_department: Option<String>,
    /// Readable by anyone (open data).
    pub public: bool,
    /// Grade per GB/T 43697-2024: `general`, `important` or `core`.
    pub grade: String,
    /// Fields in column order.
    pub fields: Vec<Field>,
    /// Primary key fields (for upsert), possibly empty.
    pub primary_key: Vec<String>,
    /// Rows stored.
    pub row_count: i64,
}

/// Checks a field name (see the module docs).
pub fn check_field_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_FIELD_BYTES {
        return Err(Error::invalid(format!(
            "field name {name:?} must be 1 to {MAX_FIELD_BYTES} bytes"
        )));
    }
    if name.starts_with('_') {
        return Err(Error::invalid(format!(
            "field name {name:?} must not start with '_' (reserved)"
        )));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(Error::invalid(format!(
            "field name {name:?} has a control character"
        )));
    }
    Ok(())
}

/// Quotes an identifier (doubling `"`); the store layer's one quoting function.
pub use onecity_store::quote_ident as quote;

/// The generated table name of a resource.
pub fn table_name(resource_id: &str) -> String {
    let h = Sha256::digest(resource_id.as_bytes());
    format!("ds_{}", &hex::encode(h)[..20])
}

fn sql_type(b: Backend, t: FieldType) -> &'static str {
    match t {
        FieldType::Int | FieldType::Bool => "BIGINT",
        FieldType::Numeric => "DOUBLE PRECISION",
        FieldType::Date | FieldType::Timestamp | FieldType::Text => {
            let _ = b;
            "TEXT"
        }
    }
}

pub(crate) fn cell_val(c: &Cell, t: FieldType) -> Val {
    match (c, t) {
        (Cell::Null, FieldType::Int | FieldType::Bool) => Val::I64(None),
        (Cell::Null, FieldType::Numeric) => Val::F64(None),
        (Cell::Null, _) => Val::Text(None),
        (Cell::Int(i), FieldType::Numeric) => Val::F64(Some(*i as f64)),
        (Cell::Int(i), _) => Val::I64(Some(*i)),
        (Cell::Num(f), _) => Val::F64(Some(*f)),
        (Cell::Text(s), _) => Val::Text(Some(s.clone())),
    }
}

/// Converts a stored value back to JSON for `ty`.
pub fn val_json(v: &Val, ty: Option<FieldType>) -> serde_json::Value {
    use serde_json::Value as J;
    match (v, ty) {
        (Val::I64(Some(i)), Some(FieldType::Bool)) => J::Bool(*i != 0),
        (Val::I64(Some(i)), _) => J::from(*i),
        (Val::F64(Some(f)), Some(FieldType::Int)) => J::from(*f as i64),
        (Val::F64(Some(f)), _) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        (Val::Text(Some(s)), _) => J::String(s.clone()),
        (Val::Bytes(Some(b)), _) => J::String(String::from_utf8_lossy(b).into_owned()),
        _ => J::Null,
    }
}

/// Migrations of component `datastore`.
pub static MIGRATIONS: [onecity_store::migrate::Migration; 2] = [
    onecity_store::migrate::Migration {
        version: 1,
        name: "datastore registry, load jobs, sharing, exchange records",
        sqlite: MIG1,
        postgres: MIG1,
    },
    onecity_store::migrate::Migration {
        version: 2,
        name: "row ids from the database (identity on PostgreSQL)",
        // SQLite: `_id INTEGER PRIMARY KEY` is the rowid, assigned on insert already.
        sqlite: "SELECT 1;",
        postgres: MIG2_PG,
    },
];

/// Existing tables get an identity `_id` continuing after their highest id, so concurrent
/// writers never compute the same next id (`MAX(_id) + 1` made 12 of 40 parallel upserts
/// fail with a false "same key" conflict).
const MIG2_PG: &str = r#"
DO $$
DECLARE t text;
BEGIN
  FOR t IN SELECT table_name FROM datastore_tables LOOP
    EXECUTE format('ALTER TABLE %I ALTER COLUMN _id ADD GENERATED BY DEFAULT AS IDENTITY', t);
    EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), COALESCE((SELECT MAX(_id) FROM %I), 0) + 1, false)', t, '_id', t);
  END LOOP;
END $$;
"#;

const MIG1: &str = r#"
CREATE TABLE datastore_tables (
  resource_id TEXT PRIMARY KEY, tenant TEXT NOT NULL, table_name TEXT NOT NULL UNIQUE,
  owner_department TEXT, public BIGINT NOT NULL DEFAULT 0, grade TEXT NOT NULL DEFAULT 'general',
  fields TEXT NOT NULL, primary_key TEXT NOT NULL DEFAULT '[]', row_count BIGINT NOT NULL DEFAULT 0,
  created_by TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE INDEX datastore_tables_tenant ON datastore_tables (tenant);
CREATE TABLE datastore_jobs (
  id TEXT PRIMARY KEY, resource_id TEXT NOT NULL, tenant TEXT NOT NULL, state TEXT NOT NULL,
  rows_total BIGINT, rows_done BIGINT NOT NULL DEFAULT 0, encoding TEXT, error TEXT,
  created_by TEXT NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE share_requests (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, resource_id TEXT NOT NULL,
  consumer_department TEXT NOT NULL, provider_department TEXT, fields TEXT NOT NULL,
  row_filter TEXT NOT NULL, purpose TEXT NOT NULL, expires_at BIGINT NOT NULL,
  quota_per_day BIGINT NOT NULL, state TEXT NOT NULL, case_id TEXT,
  requested_by TEXT NOT NULL, created_at BIGINT NOT NULL, decided_at BIGINT);
CREATE INDEX share_requests_resource ON share_requests (tenant, resource_id);
CREATE TABLE share_grants (
  id TEXT PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, tenant TEXT NOT NULL, resource_id TEXT NOT NULL,
  consumer_department TEXT NOT NULL, provider_department TEXT, fields TEXT NOT NULL,
  row_filter TEXT NOT NULL, masks TEXT NOT NULL, purpose TEXT NOT NULL, expires_at BIGINT NOT NULL,
  quota_per_day BIGINT NOT NULL, revoked_at BIGINT, created_at BIGINT NOT NULL);
CREATE INDEX share_grants_consumer ON share_grants (tenant, consumer_department, resource_id);
CREATE TABLE exchange_records (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, at BIGINT NOT NULL, day TEXT NOT NULL,
  consumer TEXT NOT NULL, consumer_department TEXT, provider_department TEXT,
  resource_id TEXT NOT NULL, grant_id TEXT, channel TEXT NOT NULL, query_digest TEXT NOT NULL,
  row_count BIGINT NOT NULL, bytes BIGINT NOT NULL, duration_us BIGINT NOT NULL, outcome TEXT NOT NULL);
CREATE INDEX exchange_records_day ON exchange_records (tenant, day, resource_id);
CREATE INDEX exchange_records_grant ON exchange_records (grant_id, day);
"#;

/// Loads a table's registry entry.
pub async fn meta(db: &Db, resource_id: &str) -> Result<Option<TableMeta>> {
    let Some(r) = db
        .fetch_optional(
            "SELECT resource_id, tenant, table_name, owner_department, public, grade, fields, primary_key, row_count FROM datastore_tables WHERE resource_id = $1",
            args![resource_id],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some(TableMeta {
        resource_id: r.text("resource_id")?,
        tenant: r.text("tenant")?,
        table: r.text("table_name")?,
        owner_department: r.opt_text("owner_department")?,
        public: r.bool("public")?,
        grade: r.text("grade")?,
        fields: serde_json::from_str(&r.text("fields")?).map_err(Error::internal)?,
        primary_key: serde_json::from_str(&r.text("primary_key")?).map_err(Error::internal)?,
        row_count: r.i64("row_count")?,
    }))
}

/// Options of [`create_table`].
#[derive(Debug, Clone, Default)]
pub struct CreateSpec {
    /// Resource id.
    pub resource_id: String,
    /// Tenant code.
    pub tenant: String,
    /// Owner department.
    pub owner_department: Option<String>,
    /// Open data.
    pub public: bool,
    /// Grade.
    pub grade: String,
    /// Fields.
    pub fields: Vec<Field>,
    /// Primary key.
    pub primary_key: Vec<String>,
    /// Who creates it (audit actor).
    pub actor: String,
}

/// Creates (or replaces, when it exists) a resource's table inside `tx`.
pub async fn create_table(tx: &mut Tx, spec: &CreateSpec) -> Result<TableMeta> {
    if spec.fields.is_empty() {
        return Err(Error::invalid("a datastore table needs at least one field"));
    }
    let mut seen = std::collections::HashSet::new();
    for f in &spec.fields {
        check_field_name(&f.id)?;
        if !seen.insert(f.id.as_str()) {
            return Err(Error::invalid(format!("field {:?} is given twice", f.id)));
        }
    }
    for k in &spec.primary_key {
        if !seen.contains(k.as_str()) {
            return Err(Error::invalid(format!(
                "primary key field {k:?} is not a field"
            )));
        }
    }
    if !["general", "important", "core"].contains(&spec.grade.as_str()) {
        return Err(Error::invalid("grade must be general, important or core"));
    }
    let b = tx.backend();
    let table = table_name(&spec.resource_id);
    tx.execute(&format!("DROP TABLE IF EXISTS {table}"), &[])
        .await?;
    tx.execute(
        "DELETE FROM datastore_tables WHERE resource_id = $1",
        args![spec.resource_id.clone()],
    )
    .await?;
    // Row ids come from the database, never from `MAX(_id) + 1`, so any number of
    // concurrent writers can insert (SQLite: the rowid; PostgreSQL: an identity column).
    let id_col = match b {
        Backend::Sqlite => "_id INTEGER PRIMARY KEY",
        Backend::Postgres => "_id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    };
    let cols: Vec<String> = spec
        .fields
        .iter()
        .map(|f| format!("{} {}", quote(&f.id), sql_type(b, f.ty)))
        .collect();
    tx.execute(
        &format!("CREATE TABLE {table} ({id_col}, {})", cols.join(", ")),
        &[],
    )
    .await?;
    if !spec.primary_key.is_empty() {
        let pk: Vec<String> = spec.primary_key.iter().map(|k| quote(k)).collect();
        tx.execute(
            &format!(
                "CREATE UNIQUE INDEX {table}_pk ON {table} ({})",
                pk.join(", ")
            ),
            &[],
        )
        .await?;
    }
    let now = onecity_core::time::now_micros();
    tx.execute(
        "INSERT INTO datastore_tables (resource_id, tenant, table_name, owner_department, public, grade, fields, primary_key, row_count, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $10, $10)",
        args![
            spec.resource_id.clone(),
            spec.tenant.clone(),
            table.clone(),
            spec.owner_department.clone(),
            spec.public,
            spec.grade.clone(),
            serde_json::to_string(&spec.fields).map_err(Error::internal)?,
            serde_json::to_string(&spec.primary_key).map_err(Error::internal)?,
            spec.actor.clone(),
            now
        ],
    )
    .await?;
    Ok(TableMeta {
        resource_id: spec.resource_id.clone(),
        tenant: spec.tenant.clone(),
        table,
        owner_department: spec.owner_department.clone(),
        public: spec.public,
        grade: spec.grade.clone(),
        fields: spec.fields.clone(),
        primary_key: spec.primary_key.clone(),
        row_count: 0,
    })
}

/// Most bound parameters per INSERT statement (under SQLite's 32,766 and PostgreSQL's 65,535).
const MAX_PARAMS: usize = 30_000;

/// Inserts typed rows (cells in field order) into `m`'s table inside `tx`; with `upsert`,
/// rows whose primary key exists replace the stored row. Returns rows written. `progress`
/// is called after each statement with the rows written so far.
pub async fn insert_rows(
    tx: &mut Tx,
    m: &TableMeta,
    rows: &[Vec<Cell>],
    upsert: bool,
    mut progress: impl FnMut(usize),
) -> Result<usize> {
    if upsert && m.primary_key.is_empty() {
        return Err(Error::invalid(
            "upsert needs a table with a primary_key (give one to datastore_create)",
        ));
    }
    let b = tx.backend();
    // `_id` is left to the database (rowid / identity), in insertion order.
    let ncol = m.fields.len();
    let per = (MAX_PARAMS / ncol.max(1)).clamp(1, 2000);
    let cols: Vec<String> = m.fields.iter().map(|f| quote(&f.id)).collect();
    let conflict = if upsert {
        let pk: Vec<String> = m.primary_key.iter().map(|k| quote(k)).collect();
        let set: Vec<String> = m
            .fields
            .iter()
            .filter(|f| !m.primary_key.contains(&f.id))
            .map(|f| format!("{q} = excluded.{q}", q = quote(&f.id)))
            .collect();
        if set.is_empty() {
            format!(" ON CONFLICT ({}) DO NOTHING", pk.join(", "))
        } else {
            format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                pk.join(", "),
                set.join(", ")
            )
        }
    } else {
        String::new()
    };
    let mut done = 0usize;
    for chunk in rows.chunks(per) {
        let mut a: Vec<Val> = Vec::with_capacity(chunk.len() * ncol);
        let mut groups = Vec::with_capacity(chunk.len());
        for (i, row) in chunk.iter().enumerate() {
            if row.len() != m.fields.len() {
                return Err(Error::invalid(format!(
                    "row {} has {} values for {} fields",
                    done + i + 1,
                    row.len(),
                    m.fields.len()
                )));
            }
            for (c, f) in row.iter().zip(&m.fields) {
                a.push(cell_val(c, f.ty));
            }
            groups.push(format!("({})", placeholders(b, i * ncol + 1, ncol)));
        }
        let sql = format!(
            "INSERT INTO {} ({}) VALUES {}{}",
            m.table,
            cols.join(", "),
            groups.join(", "),
            conflict
        );
        tx.execute(&sql, &a).await?;
        done += chunk.len();
        progress(done);
    }
    let n = tx
        .fetch_optional(&format!("SELECT COUNT(*) AS n FROM {}", m.table), &[])
        .await?
        .map(|r| r.i64("n"))
        .transpose()?
        .unwrap_or(0);
    tx.execute(
        "UPDATE datastore_tables SET row_count = $1, updated_at = $2 WHERE resource_id = $3",
        args![n, onecity_core::time::now_micros(), m.resource_id.clone()],
    )
    .await?;
    Ok(done)
}

/// Drops a resource's table (or, with `filters`, deletes matching rows) inside `tx`.
pub async fn drop_table(tx: &mut Tx, m: &TableMeta) -> Result<()> {
    tx.execute(&format!("DROP TABLE IF EXISTS {}", m.table), &[])
        .await?;
    tx.execute(
        "DELETE FROM datastore_tables WHERE resource_id = $1",
        args![m.resource_id.clone()],
    )
    .await?;
    Ok(())
}

/// Deletes the rows of `m`'s table whose fields equal the given values (every row when
/// `filters` is empty) and brings the registry's row count up to date. The field names
/// must have been checked against `m.fields`.
pub async fn delete_rows(
    mut ex: impl Executor,
    m: &TableMeta,
    filters: &[(&str, Val)],
) -> Result<()> {
    let mut q = SqlBuilder::new(&format!("DELETE FROM {}", m.table));
    for (i, (k, v)) in filters.iter().enumerate() {
        q.push(if i == 0 { " WHERE " } else { " AND " });
        q.push(&format!("{} = ", quote(k))).push_bind(v.clone());
    }
    ex.execute(q.sql(), q.args()).await?;
    ex.execute(
        &format!(
            "UPDATE datastore_tables SET row_count = (SELECT COUNT(*) FROM {}) \
             WHERE resource_id = $1",
            m.table
        ),
        args![m.resource_id.clone()],
    )
    .await?;
    Ok(())
}

/// Records a new load job (state `parsing`).
pub async fn insert_job(
    mut ex: impl Executor,
    id: &str,
    resource_id: &str,
    tenant: &str,
    created_by: &str,
    now: i64,
) -> Result<()> {
    ex.execute(
        "INSERT INTO datastore_jobs (id, resource_id, tenant, state, rows_done, created_by, \
         created_at, updated_at) VALUES ($1, $2, $3, 'parsing', 0, $4, $5, $5)",
        args![id, resource_id, tenant, created_by, now],
    )
    .await?;
    Ok(())
}

/// A load job's new state; `rows_total` and `encoding` keep their value when `None`.
pub struct JobUpdate<'a> {
    /// `parsing`, `loading`, `done` or `failed`.
    pub state: &'a str,
    /// Rows in the file.
    pub rows_total: Option<i64>,
    /// Rows written.
    pub rows_done: i64,
    /// Encoding detected.
    pub encoding: Option<&'a str>,
    /// Why it failed.
    pub error: Option<&'a str>,
    /// Time of the update.
    pub now: i64,
}

/// Updates a load job.
pub async fn update_job(mut ex: impl Executor, id: &str, u: &JobUpdate<'_>) -> Result<()> {
    ex.execute(
        "UPDATE datastore_jobs SET state = $1, rows_total = COALESCE($2, rows_total), \
         rows_done = $3, encoding = COALESCE($4, encoding), error = $5, updated_at = $6 \
         WHERE id = $7",
        args![
            u.state,
            u.rows_total,
            u.rows_done,
            u.encoding,
            u.error,
            u.now,
            id
        ],
    )
    .await?;
    Ok(())
}

/// A load job as stored.
#[derive(Debug, Clone, Deserialize)]
pub struct JobRow {
    /// Job id.
    pub id: String,
    /// Resource id.
    pub resource_id: String,
    /// Tenant.
    pub tenant: String,
    /// `parsing`, `loading`, `done` or `failed`.
    pub state: String,
    /// Rows in the file.
    pub rows_total: Option<i64>,
    /// Rows written (at the last update).
    pub rows_done: i64,
    /// Encoding detected.
    pub encoding: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// A load job by id.
pub async fn job(mut ex: impl Executor, id: &str) -> Result<Option<JobRow>> {
    ex.fetch_optional_as(
        "SELECT id, resource_id, tenant, state, rows_total, rows_done, encoding, error \
         FROM datastore_jobs WHERE id = $1",
        args![id],
    )
    .await
}
