//! Per-crate migrations on both backends.
//!
//! Each crate ships a list of [`Migration`]s under its own component name (`store`, `iam`,
//! `geo`, …), so versions never clash across crates. Applied migrations are recorded in
//! `onecity_migrations (component, version, name, checksum, applied_at)`; each runs in its
//! own transaction together with its record. On PostgreSQL a transaction-scoped advisory
//! lock serialises replicas that start at once. A migration whose text changed after it was
//! applied is refused (its checksum no longer matches).

use crate::{args, Backend, Db};
use onecity_core::{Error, Result};
use sha2::{Digest, Sha256};

/// One schema change, with its SQL for each backend (often the same text).
#[derive(Debug)]
pub struct Migration {
    /// Version, increasing within a component.
    pub version: i64,
    /// Human description.
    pub name: &'static str,
    /// Script for SQLite.
    pub sqlite: &'static str,
    /// Script for PostgreSQL.
    pub postgres: &'static str,
}

const LOCK_KEY: i64 = 0x006f_6e65_6369_7479; // "onecity"

/// Applies the component's migrations that are not yet applied; returns how many ran.
///
/// Errors: `internal` when an applied migration's checksum differs or a script fails.
pub async fn run(db: &Db, component: &str, migrations: &[Migration]) -> Result<usize> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS onecity_migrations (component TEXT NOT NULL, version BIGINT NOT NULL, \
         name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at BIGINT NOT NULL, PRIMARY KEY (component, version))",
        &[],
    )
    .await?;
    let mut applied = 0;
    for m in migrations {
        let script = match db.backend() {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        let checksum = hex::encode(Sha256::digest(script.as_bytes()));
        let mut tx = db.begin().await?;
        if db.backend() == Backend::Postgres {
            tx.execute("SELECT pg_advisory_xact_lock($1)", args![LOCK_KEY])
                .await?;
        }
        let done = tx
            .fetch_optional(
                "SELECT checksum FROM onecity_migrations WHERE component = $1 AND version = $2",
                args![component, m.version],
            )
            .await?;
        if let Some(row) = done {
            if row.text("checksum")? != checksum {
                return Err(Error::internal(format!(
                    "migration {component} v{} ({}) changed after it was applied",
                    m.version, m.name
                )));
            }
            continue;
        }
        Db::execute_script_in(&mut tx, script).await?;
        tx.execute(
            "INSERT INTO onecity_migrations (component, version, name, checksum, applied_at) VALUES ($1, $2, $3, $4, $5)",
            args![component, m.version, m.name, checksum, onecity_core::time::now_micros()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(
            component,
            version = m.version,
            name = m.name,
            "migration applied"
        );
        applied += 1;
    }
    Ok(applied)
}
