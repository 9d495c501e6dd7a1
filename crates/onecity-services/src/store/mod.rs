//! Every SQL statement of the services tables, one module per table group.

pub(crate) mod forms;
