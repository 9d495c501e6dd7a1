//! onecity-flow: the shared workflow engine (一体办公) every module uses.
//!
//! Owns flow definitions as validated, versioned data ([`definition`]; DIGIT's PGR flow
//! ships as an example), cases moving through them by role-checked actions with optimistic
//! concurrency ([`Flow`]), working-day calendars with China's holidays and make-up working
//! days ([`calendar`]), deadline arithmetic ([`sla`]), the SLA scheduler that fires
//! warnings, breaches and escalations exactly once ([`scheduler`]), the staff to-do inbox,
//! in-app notifications and per-flow metrics ([`inbox`]), and their HTTP API ([`routes`]).

pub mod calendar;
pub mod definition;
mod engine;
pub mod inbox;
mod migrations;
pub mod model;
pub mod notify;
pub mod routes;
pub mod scheduler;
pub mod sla;
mod store;

pub use engine::{DefinitionInfo, DefinitionValidation, Flow};
pub use migrations::MIGRATIONS;
