//! onecity-services: one network for citizen services (一网通办), part I (issue 14).
//!
//! Owns the service item catalog (事项, coded after GB/T 39554.1-2020) as versioned data
//! with history and audit ([`item`]); the guide (办事指南) generated from an item
//! ([`guide`]); forms as data: JSON Schema 2020-12 plus UI hints, validated on the server
//! with every problem listed by JSON pointer ([`forms`]); the Q&A assistant (智能客服)
//! over the guides ([`assistant`]); its HTTP API ([`routes`]) and its demo ([`demo`]).
//! Every SQL statement of its tables is in `store/`.
//!
//! Migrations run under the component name `services` ([`MIGRATIONS`]).

pub mod assistant;
pub mod demo;
pub mod forms;
pub mod guide;
pub mod item;
pub mod routes;
mod store;

pub use item::Hall;

use onecity_store::migrate::Migration;

/// Migrations of the component `services`: v1 service items and their versions (`item`),
/// v2 forms and their versions (`forms`).
pub static MIGRATIONS: [Migration; 2] = [store::migrations::ITEMS, store::forms::MIGRATION];
