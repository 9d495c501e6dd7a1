//! The store layer: every SQL statement of the twin's tables — entities
//! (`twin_entities`), attribute history (`twin_history`), retention policies
//! (`twin_retention`) and subscriptions (`twin_subscriptions`) — and the migrations of the
//! components `twin` and `twin_sub`. Each function takes any [`onecity_store::Executor`]:
//! `&db` outside a transaction, `&mut tx` inside one. Imports only `crate::query` and
//! `crate::ld`.

pub mod entities;
pub mod history;
pub mod migrations;
pub mod retention;
pub mod subscriptions;
