//! One code path over SQLite and PostgreSQL.
//!
//! Queries are runtime SQL with `$1`, `$2`, … placeholders (understood by both backends),
//! arguments are [`Val`]s and results are [`Row`]s of [`Val`]s. Storage types are kept to
//! what both backends share: `TEXT` (ids, codes, JSON), `BIGINT` (integers, flags as 0/1,
//! microsecond timestamps), `DOUBLE PRECISION`, and `BYTEA`/`BLOB` (per-backend DDL).
//!
//! SQLite runs in WAL mode with one writer connection (in-process writers queue on it
//! instead of failing with `SQLITE_BUSY`) and a pool of readers.

use onecity_core::{Error, ErrorCode, Result};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Column, Row as _, TypeInfo, ValueRef};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite (WAL).
    Sqlite,
    /// PostgreSQL (or a compatible engine).
    Postgres,
}

/// A typed SQL value. Nulls are typed (`I64(None)`), because PostgreSQL checks the type of
/// every bound parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// 64-bit integer (BIGINT / INTEGER).
    I64(Option<i64>),
    /// Double (DOUBLE PRECISION / REAL).
    F64(Option<f64>),
    /// Text (TEXT).
    Text(Option<String>),
    /// Bytes (BYTEA / BLOB).
    Bytes(Option<Vec<u8>>),
}

impl From<i64> for Val {
    fn from(v: i64) -> Self {
        Val::I64(Some(v))
    }
}
impl From<Option<i64>> for Val {
    fn from(v: Option<i64>) -> Self {
        Val::I64(v)
    }
}
impl From<bool> for Val {
    fn from(v: bool) -> Self {
        Val::I64(Some(v as i64))
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Self {
        Val::F64(Some(v))
    }
}
impl From<&str> for Val {
    fn from(v: &str) -> Self {
        Val::Text(Some(v.to_string()))
    }
}
impl From<String> for Val {
    fn from(v: String) -> Self {
        Val::Text(Some(v))
    }
}
impl From<&String> for Val {
    fn from(v: &String) -> Self {
        Val::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Val {
    fn from(v: Option<String>) -> Self {
        Val::Text(v)
    }
}
impl From<Option<&str>> for Val {
    fn from(v: Option<&str>) -> Self {
        Val::Text(v.map(str::to_string))
    }
}
impl From<Uuid> for Val {
    fn from(v: Uuid) -> Self {
        Val::Text(Some(v.to_string()))
    }
}
impl From<Option<Uuid>> for Val {
    fn from(v: Option<Uuid>) -> Self {
        Val::Text(v.map(|u| u.to_string()))
    }
}
impl From<Vec<u8>> for Val {
    fn from(v: Vec<u8>) -> Self {
        Val::Bytes(Some(v))
    }
}

/// Builds a `&[Val]` argument list: `args![id, name, 3_i64]`.
#[macro_export]
macro_rules! args {
    ($($v:expr),* $(,)?) => { &[$($crate::Val::from($v)),*][..] };
}

/// `$start, $start+1, …`: `n` numbered placeholders (both backends).
pub fn numbered(start: usize, n: usize) -> String {
    (start..start + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `n` placeholders for a large multi-row or `IN (…)` statement: `$start, …` on
/// PostgreSQL, anonymous `?` on SQLite.
///
/// Only for statements whose parameters all come from this function, in textual order
/// (sqlx binds anonymous SQLite parameters by a counter of its own). Reason: SQLite finds
/// a named parameter (`$n`) by a linear scan, so binding thousands of them is quadratic
/// (measured: 37 % of the SLA scanner's time was `sqlite3_bind_parameter_name`).
pub fn placeholders(backend: Backend, start: usize, n: usize) -> String {
    match backend {
        Backend::Postgres => numbered(start, n),
        Backend::Sqlite => vec!["?"; n].join(", "),
    }
}

/// Splits `rows` into chunks whose lengths are powers of two, largest first, none above
/// `max` (rounded down to a power of two), for multi-row statements.
///
/// Reason: each row count is a different SQL text, hence a different prepared statement.
/// With any count from 1 to `max` the connection's statement cache keeps evicting and
/// re-preparing them; with powers of two there are at most log2(`max`) + 1 shapes per
/// statement, all of which stay cached, at the price of at most that many statements.
pub fn shaped_chunks<T>(rows: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    let cap = if max <= 1 {
        1
    } else {
        1usize << (usize::BITS - 1 - max.leading_zeros())
    };
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let n = rest.len().min(cap);
        let n = 1usize << (usize::BITS - 1 - n.leading_zeros());
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Some(head)
    })
}

/// One result row: column names and values.
#[derive(Debug, Clone)]
pub struct Row {
    cols: Arc<[String]>,
    vals: Vec<Val>,
}

impl Row {
    /// A row from column names and values (tests and in-memory rows).
    pub fn from_parts(cols: Arc<[String]>, vals: Vec<Val>) -> Row {
        debug_assert_eq!(cols.len(), vals.len());
        Row { cols, vals }
    }
    /// Column names in select order.
    pub fn columns(&self) -> &[String] {
        &self.cols
    }
    /// Values in select order.
    pub fn values(&self) -> &[Val] {
        &self.vals
    }
    fn get(&self, name: &str) -> Result<&Val> {
        self.cols
            .iter()
            .position(|c| c == name)
            .map(|i| &self.vals[i])
            .ok_or_else(|| Error::internal(format!("no column {name} in row")))
    }
    /// Integer column (NULL is an error).
    pub fn i64(&self, name: &str) -> Result<i64> {
        self.opt_i64(name)?
            .ok_or_else(|| Error::internal(format!("column {name} is null")))
    }
    /// Nullable integer column.
    pub fn opt_i64(&self, name: &str) -> Result<Option<i64>> {
        match self.get(name)? {
            Val::I64(v) => Ok(*v),
            Val::F64(Some(f)) => Ok(Some(*f as i64)),
            Val::Text(Some(s)) => s
                .parse()
                .map(Some)
                .map_err(|_| Error::internal(format!("column {name} is not an integer"))),
            Val::F64(None) | Val::Text(None) | Val::Bytes(None) => Ok(None),
            Val::Bytes(Some(_)) => Err(Error::internal(format!("column {name} is bytes"))),
        }
    }
    /// Flag column stored as 0/1.
    pub fn bool(&self, name: &str) -> Result<bool> {
        Ok(self.i64(name)? != 0)
    }
    /// Double column (NULL is an error).
    pub fn f64(&self, name: &str) -> Result<f64> {
        match self.get(name)? {
            Val::F64(Some(v)) => Ok(*v),
            Val::I64(Some(v)) => Ok(*v as f64),
            _ => Err(Error::internal(format!("column {name} is not a number"))),
        }
    }
    /// Text column (NULL is an error).
    pub fn text(&self, name: &str) -> Result<String> {
        self.opt_text(name)?
            .ok_or_else(|| Error::internal(format!("column {name} is null")))
    }
    /// Nullable text column.
    pub fn opt_text(&self, name: &str) -> Result<Option<String>> {
        match self.get(name)? {
            Val::Text(v) => Ok(v.clone()),
            Val::I64(v) => Ok(v.map(|i| i.to_string())),
            Val::F64(v) => Ok(v.map(|f| f.to_string())),
            Val::Bytes(None) => Ok(None),
            Val::Bytes(Some(b)) => String::from_utf8(b.clone())
                .map(Some)
                .map_err(|_| Error::internal(format!("column {name} is not UTF-8"))),
        }
    }
    /// Bytes column (NULL is an error).
    pub fn bytes(&self, name: &str) -> Result<Vec<u8>> {
        match self.get(name)? {
            Val::Bytes(Some(b)) => Ok(b.clone()),
            Val::Text(Some(s)) => Ok(s.as_bytes().to_vec()),
            _ => Err(Error::internal(format!("column {name} is not bytes"))),
        }
    }
    /// UUID stored as text (NULL is an error).
    pub fn uuid(&self, name: &str) -> Result<Uuid> {
        let s = self.text(name)?;
        Uuid::parse_str(&s).map_err(|_| Error::internal(format!("column {name} is not a UUID")))
    }
    /// Nullable UUID stored as text.
    pub fn opt_uuid(&self, name: &str) -> Result<Option<Uuid>> {
        self.opt_text(name)?
            .map(|s| {
                Uuid::parse_str(&s)
                    .map_err(|_| Error::internal(format!("column {name} is not a UUID")))
            })
            .transpose()
    }
}

/// Maps a driver error to the catalogue: unique violations are `conflict`, foreign-key
/// violations `invalid_input`, everything else `internal` (logged, never shown).
pub(crate) fn map_err(e: sqlx::Error) -> Error {
    if let Some(d) = e.as_database_error() {
        if d.is_unique_violation() {
            return Error::conflict("a record with the same key already exists");
        }
        if d.is_foreign_key_violation() {
            return Error::invalid("the request refers to a record that does not exist");
        }
        if d.is_check_violation() {
            return Error::invalid("the request violates a constraint");
        }
    }
    if matches!(e, sqlx::Error::PoolTimedOut) {
        return Error::new(
            ErrorCode::Timeout,
            "the server is busy; try again in a moment",
        );
    }
    tracing::error!(error = %e, "database error");
    Error::internal(e)
}

macro_rules! bind_all {
    ($db:ty, $sql:expr, $args:expr) => {{
        let mut q = sqlx::query::<$db>($sql);
        for a in $args {
            q = match a {
                Val::I64(v) => q.bind(*v),
                Val::F64(v) => q.bind(*v),
                Val::Text(v) => q.bind(v.as_deref()),
                Val::Bytes(v) => q.bind(v.as_deref()),
            };
        }
        q
    }};
}

fn sqlite_row(r: &sqlx::sqlite::SqliteRow) -> Result<Row> {
    let cols: Arc<[String]> = r.columns().iter().map(|c| c.name().to_string()).collect();
    let mut vals = Vec::with_capacity(cols.len());
    for i in 0..cols.len() {
        let raw = r.try_get_raw(i).map_err(map_err)?;
        let v = if raw.is_null() {
            Val::Text(None)
        } else {
            match raw.type_info().name() {
                "INTEGER" | "BIGINT" | "INT" | "BOOLEAN" => {
                    Val::I64(r.try_get_unchecked(i).map_err(map_err)?)
                }
                "REAL" | "DOUBLE" | "FLOAT" | "NUMERIC" => {
                    Val::F64(r.try_get_unchecked(i).map_err(map_err)?)
                }
                "BLOB" => Val::Bytes(r.try_get_unchecked(i).map_err(map_err)?),
                _ => Val::Text(r.try_get_unchecked(i).map_err(map_err)?),
            }
        };
        vals.push(v);
    }
    Ok(Row { cols, vals })
}

fn pg_row(r: &sqlx::postgres::PgRow) -> Result<Row> {
    let cols: Arc<[String]> = r.columns().iter().map(|c| c.name().to_string()).collect();
    let mut vals = Vec::with_capacity(cols.len());
    for i in 0..cols.len() {
        let raw = r.try_get_raw(i).map_err(map_err)?;
        let v = if raw.is_null() {
            Val::Text(None)
        } else {
            match raw.type_info().name() {
                "INT8" => Val::I64(r.try_get_unchecked(i).map_err(map_err)?),
                "INT4" => Val::I64(
                    r.try_get_unchecked::<Option<i32>, _>(i)
                        .map_err(map_err)?
                        .map(i64::from),
                ),
                "INT2" => Val::I64(
                    r.try_get_unchecked::<Option<i16>, _>(i)
                        .map_err(map_err)?
                        .map(i64::from),
                ),
                "BOOL" => Val::I64(
                    r.try_get_unchecked::<Option<bool>, _>(i)
                        .map_err(map_err)?
                        .map(i64::from),
                ),
                "FLOAT8" => Val::F64(r.try_get_unchecked(i).map_err(map_err)?),
                "FLOAT4" => Val::F64(
                    r.try_get_unchecked::<Option<f32>, _>(i)
                        .map_err(map_err)?
                        .map(f64::from),
                ),
                "BYTEA" => Val::Bytes(r.try_get_unchecked(i).map_err(map_err)?),
                _ => Val::Text(r.try_get_unchecked(i).map_err(map_err)?),
            }
        };
        vals.push(v);
    }
    Ok(Row { cols, vals })
}

/// What an acknowledged commit survives on the embedded store (SQLite `synchronous` in WAL
/// mode; see <https://www.sqlite.org/pragma.html#pragma_synchronous> and
/// <https://www.sqlite.org/wal.html>). PostgreSQL keeps its own `synchronous_commit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL` (default): the WAL is synced at every commit, so an acknowledged
    /// write survives a power cut or an OS crash, not only a process kill.
    #[default]
    Full,
    /// `synchronous=NORMAL`: the WAL is synced at checkpoints only; a power cut or OS crash
    /// can lose the last commits although they were acknowledged (a process kill cannot).
    /// Faster on slow disks; choose it only knowingly.
    Normal,
}

impl std::str::FromStr for Durability {
    type Err = Error;
    /// `full` or `normal` (any case). Errors: `invalid_input` naming both.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "full" => Ok(Durability::Full),
            "normal" => Ok(Durability::Normal),
            other => Err(Error::invalid(format!(
                "sqlite_synchronous must be full or normal, not {other:?}"
            ))),
        }
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Max connections (PostgreSQL pool, or SQLite readers).
    pub max_connections: u32,
    /// How long to wait for a connection or a lock.
    pub acquire_timeout: Duration,
    /// Embedded store durability (default [`Durability::Full`]).
    pub sqlite_durability: Durability,
}

impl Default for DbOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(10),
            sqlite_durability: Durability::Full,
        }
    }
}

enum Inner {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        /// The folder of the database file (the data directory): the file store keeps
        /// its content-addressed files under it.
        dir: PathBuf,
    },
    Postgres(PgPool),
}

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

impl Db {
    /// Opens (creating if missing) the SQLite file `onecity.sqlite3` under `data_dir`.
    pub async fn open_sqlite(data_dir: &Path, opts: &DbOptions) -> Result<Db> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            Error::internal(format!(
                "cannot create data dir {}: {e}",
                data_dir.display()
            ))
        })?;
        Self::open_sqlite_file(&data_dir.join("onecity.sqlite3"), opts).await
    }

    /// Opens (creating if missing) one SQLite database file.
    pub async fn open_sqlite_file(file: &Path, opts: &DbOptions) -> Result<Db> {
        let co = SqliteConnectOptions::from_str(&format!("sqlite://{}", file.display()))
            .map_err(map_err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match opts.sqlite_durability {
                Durability::Full => SqliteSynchronous::Full,
                Durability::Normal => SqliteSynchronous::Normal,
            })
            .foreign_keys(true)
            .busy_timeout(opts.acquire_timeout);
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(co.clone())
            .await
            .map_err(map_err)?;
        let read = SqlitePoolOptions::new()
            .max_connections(opts.max_connections.max(1))
            .acquire_timeout(opts.acquire_timeout)
            .connect_with(co.read_only(true))
            .await
            .map_err(map_err)?;
        let dir = match file.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        Ok(Db {
            inner: Arc::new(Inner::Sqlite { read, write, dir }),
        })
    }

    /// Connects to PostgreSQL (`postgres://user@host:port/db`).
    pub async fn open_postgres(url: &str, opts: &DbOptions) -> Result<Db> {
        let pool = PgPoolOptions::new()
            .max_connections(opts.max_connections.max(2))
            .acquire_timeout(opts.acquire_timeout)
            .connect(url)
            .await
            .map_err(|e| {
                Error::new(
                    ErrorCode::NotReady,
                    format!("cannot connect to PostgreSQL: {e}"),
                )
            })?;
        Ok(Db {
            inner: Arc::new(Inner::Postgres(pool)),
        })
    }

    /// The engine behind this handle.
    pub fn backend(&self) -> Backend {
        match &*self.inner {
            Inner::Sqlite { .. } => Backend::Sqlite,
            Inner::Postgres(_) => Backend::Postgres,
        }
    }

    /// The data directory of an embedded (SQLite) store, the folder holding its database
    /// file; `None` on PostgreSQL, whose replicas share nothing but the database.
    pub fn data_dir(&self) -> Option<&Path> {
        match &*self.inner {
            Inner::Sqlite { dir, .. } => Some(dir),
            Inner::Postgres(_) => None,
        }
    }

    /// Picks the dialect-specific SQL text.
    pub fn sql<'a>(&self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self.backend() {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// Runs a statement outside a transaction (autocommit); returns rows affected.
    pub async fn execute(&self, sql: &str, args: &[Val]) -> Result<u64> {
        match &*self.inner {
            Inner::Sqlite { write, .. } => bind_all!(sqlx::Sqlite, sql, args)
                .execute(write)
                .await
                .map(|r| r.rows_affected())
                .map_err(map_err),
            Inner::Postgres(p) => bind_all!(sqlx::Postgres, sql, args)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
                .map_err(map_err),
        }
    }

    /// Runs a read query and returns every row.
    pub async fn fetch_all(&self, sql: &str, args: &[Val]) -> Result<Vec<Row>> {
        match &*self.inner {
            Inner::Sqlite { read, .. } => bind_all!(sqlx::Sqlite, sql, args)
                .fetch_all(read)
                .await
                .map_err(map_err)?
                .iter()
                .map(sqlite_row)
                .collect(),
            Inner::Postgres(p) => bind_all!(sqlx::Postgres, sql, args)
                .fetch_all(p)
                .await
                .map_err(map_err)?
                .iter()
                .map(pg_row)
                .collect(),
        }
    }

    /// Runs a read query and returns its first row, if any.
    pub async fn fetch_optional(&self, sql: &str, args: &[Val]) -> Result<Option<Row>> {
        match &*self.inner {
            Inner::Sqlite { read, .. } => bind_all!(sqlx::Sqlite, sql, args)
                .fetch_optional(read)
                .await
                .map_err(map_err)?
                .as_ref()
                .map(sqlite_row)
                .transpose(),
            Inner::Postgres(p) => bind_all!(sqlx::Postgres, sql, args)
                .fetch_optional(p)
                .await
                .map_err(map_err)?
                .as_ref()
                .map(pg_row)
                .transpose(),
        }
    }

    /// Runs a script of several statements (migrations); no arguments.
    pub(crate) async fn execute_script_in(tx: &mut Tx, script: &str) -> Result<()> {
        use sqlx::Executor;
        match &mut tx.inner {
            TxInner::Sqlite(t) => {
                let _ = (&mut **t).execute(script).await.map_err(map_err)?;
            }
            TxInner::Postgres(t) => {
                let _ = (&mut **t).execute(script).await.map_err(map_err)?;
            }
        }
        Ok(())
    }

    /// Starts a write transaction. On SQLite it holds the single writer connection.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &*self.inner {
            Inner::Sqlite { write, .. } => TxInner::Sqlite(write.begin().await.map_err(map_err)?),
            Inner::Postgres(p) => TxInner::Postgres(p.begin().await.map_err(map_err)?),
        };
        Ok(Tx {
            inner,
            backend: self.backend(),
        })
    }

    /// Health probe: `SELECT 1`.
    pub async fn ping(&self) -> Result<()> {
        self.fetch_optional("SELECT 1 AS one", &[])
            .await
            .map(|_| ())
    }

    /// Closes every connection (at shutdown, after background work has drained).
    pub async fn close(&self) {
        match &*self.inner {
            Inner::Sqlite { read, write, .. } => {
                read.close().await;
                write.close().await;
            }
            Inner::Postgres(p) => p.close().await,
        }
    }
}

enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// A database transaction; dropped without [`Tx::commit`] it rolls back.
pub struct Tx {
    inner: TxInner,
    backend: Backend,
}

impl Tx {
    /// The engine behind this transaction.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Picks the dialect-specific SQL text.
    pub fn sql<'a>(&self, sqlite: &'a str, postgres: &'a str) -> &'a str {
        match self.backend {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// `" FOR UPDATE"` on PostgreSQL, nothing on SQLite (whose writer lock already
    /// serialises transactions).
    pub fn for_update(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// Runs a statement; returns rows affected.
    pub async fn execute(&mut self, sql: &str, args: &[Val]) -> Result<u64> {
        match &mut self.inner {
            TxInner::Sqlite(t) => bind_all!(sqlx::Sqlite, sql, args)
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected())
                .map_err(map_err),
            TxInner::Postgres(t) => bind_all!(sqlx::Postgres, sql, args)
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected())
                .map_err(map_err),
        }
    }

    /// Runs a query and returns every row.
    pub async fn fetch_all(&mut self, sql: &str, args: &[Val]) -> Result<Vec<Row>> {
        match &mut self.inner {
            TxInner::Sqlite(t) => bind_all!(sqlx::Sqlite, sql, args)
                .fetch_all(&mut **t)
                .await
                .map_err(map_err)?
                .iter()
                .map(sqlite_row)
                .collect(),
            TxInner::Postgres(t) => bind_all!(sqlx::Postgres, sql, args)
                .fetch_all(&mut **t)
                .await
                .map_err(map_err)?
                .iter()
                .map(pg_row)
                .collect(),
        }
    }

    /// Runs a query and returns its first row, if any.
    pub async fn fetch_optional(&mut self, sql: &str, args: &[Val]) -> Result<Option<Row>> {
        Ok(self.fetch_all(sql, args).await?.into_iter().next())
    }

    /// Commits.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await.map_err(map_err),
            TxInner::Postgres(t) => t.commit().await.map_err(map_err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shaped_chunks_are_powers_of_two_up_to_max() {
        let v: Vec<u32> = (0..300).collect();
        let sizes = |n: usize, max: usize| -> Vec<usize> {
            shaped_chunks(&v[..n], max).map(<[u32]>::len).collect()
        };
        assert_eq!(sizes(0, 64), Vec::<usize>::new());
        assert_eq!(sizes(1, 64), [1]);
        assert_eq!(sizes(63, 64), [32, 16, 8, 4, 2, 1]);
        assert_eq!(sizes(64, 64), [64]);
        assert_eq!(sizes(300, 200), [128, 128, 32, 8, 4]);
        assert_eq!(sizes(3, 0), [1, 1, 1]);
        let back: Vec<u32> = shaped_chunks(&v, 100).flatten().copied().collect();
        assert_eq!(back, v, "every row once, in order");
    }

    #[tokio::test]
    async fn sqlite_round_trip_with_dollar_placeholders() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_sqlite(dir.path(), &DbOptions::default())
            .await
            .unwrap();
        db.execute(
            "CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT, f DOUBLE PRECISION, note TEXT)",
            &[],
        )
        .await
        .unwrap();
        db.execute(
            "INSERT INTO t VALUES ($1, $2, $3, $4)",
            args!["a", 7_i64, 1.5, Option::<String>::None],
        )
        .await
        .unwrap();
        let r = db
            .fetch_optional("SELECT * FROM t WHERE id = $1", args!["a"])
            .await
            .unwrap()
            .unwrap();
        assert_eq!(r.i64("n").unwrap(), 7);
        assert_eq!(r.f64("f").unwrap(), 1.5);
        assert_eq!(r.opt_text("note").unwrap(), None);
        let e = db
            .execute(
                "INSERT INTO t VALUES ($1, $2, $3, $4)",
                args!["a", 1_i64, 0.0, "x"],
            )
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Conflict);
        let mut tx = db.begin().await.unwrap();
        tx.execute("INSERT INTO t (id, n) VALUES ($1, $2)", args!["b", 2_i64])
            .await
            .unwrap();
        drop(tx);
        let n = db
            .fetch_all("SELECT COUNT(*) AS n FROM t", &[])
            .await
            .unwrap();
        assert_eq!(n[0].i64("n").unwrap(), 1, "dropped transaction rolled back");
    }
}
