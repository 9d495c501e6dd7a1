//! One executor trait over [`Db`] and [`Tx`], so a store function is written once.
//!
//! Before this trait, every read a service needed both inside and outside a transaction was
//! written twice (once over `Db`, once over `Tx`). A store function now takes
//! `mut ex: impl Executor` and is called with `&db` (autocommit, readers on SQLite) or
//! `&mut tx` (inside the caller's transaction):
//!
//! ```no_run
//! use onecity_store::{args, Db, Executor, Result};
//!
//! /// Name of the department `id`, if it exists.
//! async fn department_name(mut ex: impl Executor, id: &str) -> Result<Option<String>> {
//!     let row = ex
//!         .fetch_optional("SELECT name FROM departments WHERE id = $1", args![id])
//!         .await?;
//!     row.map(|r| r.text("name")).transpose()
//! }
//!
//! # async fn demo(db: Db) -> Result<()> {
//! department_name(&db, "d1").await?; // outside a transaction
//! let mut tx = db.begin().await?;
//! department_name(&mut tx, "d1").await?; // inside one
//! tx.commit().await
//! # }
//! ```
//!
//! A store function that calls another passes `&mut ex` on (the trait is implemented for
//! `&mut E` of any executor `E`).
//!
//! The methods return boxed futures, not `impl Future + Send` (return-position impl trait):
//! with the latter, handlers that call a store function through `&Db` fail the `Send`
//! check of axum's router (rust-lang/rust#100013, higher-ranked lifetimes of opaque
//! types). One small allocation per statement is noise beside the statement itself.

use crate::db::{Backend, Db, Row, Tx, Val};
use futures::future::BoxFuture;
use onecity_core::Result;
use serde::de::DeserializeOwned;

/// Runs SQL with `$1`-style placeholders on either backend: a [`Db`] handle (autocommit;
/// reads go to the reader pool on SQLite) or a [`Tx`] (the caller's transaction).
///
/// Errors are catalogue errors (see `Db::execute`): unique violations `conflict`,
/// foreign-key and check violations `invalid_input`, a busy pool `timeout`, anything else
/// `internal` (logged, never shown).
pub trait Executor: Send {
    /// The engine behind this executor.
    fn backend(&self) -> Backend;

    /// Runs a statement; returns the number of rows affected.
    fn execute<'a>(&'a mut self, sql: &'a str, args: &'a [Val]) -> BoxFuture<'a, Result<u64>>;

    /// Runs a query and returns every row.
    fn fetch_all<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Vec<Row>>>;

    /// Runs a query and returns its first row, if any.
    fn fetch_optional<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Option<Row>>>;

    /// Picks the dialect-specific SQL text.
    fn sql<'s>(&self, sqlite: &'s str, postgres: &'s str) -> &'s str {
        match self.backend() {
            Backend::Sqlite => sqlite,
            Backend::Postgres => postgres,
        }
    }

    /// Every row decoded into `T` by column name (see [`Row::decode`]).
    fn fetch_all_as<'a, T: DeserializeOwned + Send + 'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Vec<T>>> {
        Box::pin(async move {
            self.fetch_all(sql, args)
                .await?
                .iter()
                .map(Row::decode)
                .collect()
        })
    }

    /// The first row decoded into `T`, if any (see [`Row::decode`]).
    fn fetch_optional_as<'a, T: DeserializeOwned + Send + 'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Option<T>>> {
        Box::pin(async move {
            self.fetch_optional(sql, args)
                .await?
                .as_ref()
                .map(Row::decode)
                .transpose()
        })
    }
}

impl Executor for &Db {
    fn backend(&self) -> Backend {
        Db::backend(self)
    }
    fn execute<'a>(&'a mut self, sql: &'a str, args: &'a [Val]) -> BoxFuture<'a, Result<u64>> {
        Box::pin(Db::execute(self, sql, args))
    }
    fn fetch_all<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Vec<Row>>> {
        Box::pin(Db::fetch_all(self, sql, args))
    }
    fn fetch_optional<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Option<Row>>> {
        Box::pin(Db::fetch_optional(self, sql, args))
    }
}

impl Executor for Tx {
    fn backend(&self) -> Backend {
        Tx::backend(self)
    }
    fn execute<'a>(&'a mut self, sql: &'a str, args: &'a [Val]) -> BoxFuture<'a, Result<u64>> {
        Box::pin(Tx::execute(self, sql, args))
    }
    fn fetch_all<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Vec<Row>>> {
        Box::pin(Tx::fetch_all(self, sql, args))
    }
    fn fetch_optional<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Option<Row>>> {
        Box::pin(Tx::fetch_optional(self, sql, args))
    }
}

impl<E: Executor> Executor for &mut E {
    fn backend(&self) -> Backend {
        E::backend(self)
    }
    fn execute<'a>(&'a mut self, sql: &'a str, args: &'a [Val]) -> BoxFuture<'a, Result<u64>> {
        E::execute(self, sql, args)
    }
    fn fetch_all<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Vec<Row>>> {
        E::fetch_all(self, sql, args)
    }
    fn fetch_optional<'a>(
        &'a mut self,
        sql: &'a str,
        args: &'a [Val],
    ) -> BoxFuture<'a, Result<Option<Row>>> {
        E::fetch_optional(self, sql, args)
    }
}
