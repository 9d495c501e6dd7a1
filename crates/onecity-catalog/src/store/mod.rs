//! Every SQL statement of the catalog tables, with typed rows decoded through serde:
//! [`datasets`] (datasets with their fields, resources, tags and change history) and
//! [`lists`] (the negative, demand and responsibility lists) and [`topics`] (topics, CKAN
//! groups).
//!
//! Each function takes any [`onecity_store::Executor`]: `&db` outside a transaction,
//! `&mut tx` inside one, so a read the service needs in both places (a dataset with its
//! fields and resources) is written once. Times are µs since the epoch (UTC). Departments
//! and jurisdictions are `onecity-iam`'s: the service asks `Iam`
//! (`Iam::department_with_path`, `Iam::departments_with_paths`), this module never reads
//! their tables. Errors are the store's catalogue errors (`conflict`, `invalid_input`,
//! `timeout`, `internal`).

pub(crate) mod datasets;
pub(crate) mod lists;
pub(crate) mod topics;
