//! Every SQL statement of the services tables, one module per table group:
//! [`items`] (service items and their versions), [`forms`] (forms, their versions and
//! submissions) and the component's migrations
//! ([`migrations`]).
//!
//! Each function takes any [`onecity_store::Executor`]: `&db` outside a transaction,
//! `&mut tx` inside one. Times are µs since the epoch (UTC). Departments and
//! jurisdictions are `onecity-iam`'s: the service asks `Iam`, this module never reads
//! their tables.

pub(crate) mod forms;
pub(crate) mod items;
pub(crate) mod migrations;
