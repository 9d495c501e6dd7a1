//! onecity-store: the database under every onecity module.
//!
//! Owns the two backends behind one code path ([`Db`]: embedded SQLite in WAL mode, or
//! PostgreSQL), runtime SQL with `$1`-style placeholders shared by both ([`Val`], [`Row`]),
//! transactions ([`Tx`]), one [`Executor`] trait over both so a store function is written
//! once, typed row decoding through serde ([`decode`], [`Row::decode`]), dynamic SQL with
//! bound arguments ([`SqlBuilder`]), per-crate migrations ([`migrate`]), server secrets
//! ([`secrets`]), the hash-chained audit trail ([`audit`]), the transactional outbox
//! with its event bus ([`outbox`], [`bus`]), and the content-addressed file store
//! ([`files`]: uploads on disk under the data directory, or in the database on PostgreSQL),
//! and the platform's one job scheduler ([`jobs`]: schedules, event triggers, run-once
//! leases across replicas, retries, run history).
//!
//! Why not sqlx's `Any` driver: it lacks the types and placeholders we need (see
//! DESIGN.md §4). Each crate writes runtime queries behind its own store functions, with
//! per-backend SQL only where the dialects differ ([`Db::backend`]).

pub mod audit;
mod build;
pub mod bus;
mod db;
pub mod decode;
mod exec;
pub mod files;
pub mod jobs;
pub mod migrate;
pub mod outbox;
pub mod secrets;

pub use build::{quote_ident, SqlBuilder};
pub use db::{
    numbered, placeholders, shaped_chunks, Backend, Db, DbOptions, Durability, Row, Tx, Val,
};
pub use exec::Executor;
/// The catalogue's result type, re-exported so store modules need one import.
pub use onecity_core::Result;

/// Migrations of the store's own tables (component `store`).
pub fn migrations() -> &'static [migrate::Migration] {
    &STORE_MIGRATIONS
}

static STORE_MIGRATIONS: [migrate::Migration; 4] = [migrate::Migration {
    version: 1,
    name: "secrets, audit chain, outbox, event inbox",
    sqlite: r#"
CREATE TABLE server_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE audit_log (
  tenant TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, at BIGINT NOT NULL,
  actor TEXT NOT NULL, action TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
  before_digest TEXT, after_digest TEXT, detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
  PRIMARY KEY (tenant, seq));
CREATE INDEX audit_log_at ON audit_log (tenant, at);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);
CREATE TABLE audit_heads (tenant TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, tenant TEXT, topic TEXT NOT NULL,
  payload TEXT NOT NULL, created_at BIGINT NOT NULL, published_at BIGINT);
CREATE INDEX outbox_unpublished ON outbox (published_at, seq);
CREATE TABLE event_consumers (name TEXT PRIMARY KEY, registered_at BIGINT NOT NULL);
CREATE TABLE event_inbox (
  consumer TEXT NOT NULL, event_id TEXT NOT NULL, seq BIGINT NOT NULL, payload TEXT NOT NULL,
  received_at BIGINT NOT NULL, done_at BIGINT, PRIMARY KEY (consumer, event_id));
CREATE INDEX event_inbox_pending ON event_inbox (consumer, done_at, seq);
"#,
    postgres: r#"
CREATE TABLE server_secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL, created_at BIGINT NOT NULL);
CREATE TABLE audit_log (
  tenant TEXT NOT NULL, seq BIGINT NOT NULL, id TEXT NOT NULL, at BIGINT NOT NULL,
  actor TEXT NOT NULL, action TEXT NOT NULL, resource_type TEXT NOT NULL, resource_id TEXT NOT NULL,
  before_digest TEXT, after_digest TEXT, detail TEXT, prev_hash TEXT NOT NULL, hash TEXT NOT NULL,
  PRIMARY KEY (tenant, seq));
CREATE INDEX audit_log_at ON audit_log (tenant, at);
CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id);
CREATE TABLE audit_heads (tenant TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL, updated_at BIGINT NOT NULL);
CREATE TABLE outbox (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id TEXT NOT NULL UNIQUE, tenant TEXT, topic TEXT NOT NULL,
  payload TEXT NOT NULL, created_at BIGINT NOT NULL, published_at BIGINT);
CREATE INDEX outbox_unpublished ON outbox (published_at, seq);
CREATE TABLE event_consumers (name TEXT PRIMARY KEY, registered_at BIGINT NOT NULL);
CREATE TABLE event_inbox (
  consumer TEXT NOT NULL, event_id TEXT NOT NULL, seq BIGINT NOT NULL, payload TEXT NOT NULL,
  received_at BIGINT NOT NULL, done_at BIGINT, PRIMARY KEY (consumer, event_id));
CREATE INDEX event_inbox_pending ON event_inbox (consumer, done_at, seq);
"#,
},
migrate::Migration {
    version: 2,
    name: "audit anchors",
    sqlite: "CREATE TABLE audit_anchors (tenant TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL, anchored_at BIGINT NOT NULL, PRIMARY KEY (tenant, seq));",
    postgres: "CREATE TABLE audit_anchors (tenant TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, signature TEXT NOT NULL, anchored_at BIGINT NOT NULL, PRIMARY KEY (tenant, seq));",
},
files::MIGRATION,
migrate::Migration {
    version: 4,
    name: "jobs layer: jobs, ticks (run-once leases), run history",
    sqlite: jobs::MIGRATION_SQL,
    postgres: jobs::MIGRATION_SQL,
}];
