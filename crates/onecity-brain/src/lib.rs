//! The city brain (城市大脑) of onecity: models that turn the platform's data into decisions.
//! This crate owns station passenger-flow forecasting for the Hangzhou metro (the
//! Zhengzhou-East crowd-evacuation case of the specification): loading the real data
//! ([`metro`]), the 2019 rest-day calendar ([`calendar`]), the forecasters with prediction
//! intervals ([`forecast`]) and their evaluation on the published transdim protocol against
//! three baselines ([`evaluate`]).
//!
//! The forecasting modules are pure Rust with no database and no HTTP. Room finding
//! ([`rooms`], the Haikou case) keeps its pure parts (parsing, the synthetic calendar, the
//! score and index) apart from its store, service and HTTP modules. The jobs layer, twin
//! write-back and evacuation advice of issue 15 come later (see `docs/brain.md`).
#![warn(missing_docs)]

pub mod calendar;
pub mod evaluate;
pub mod forecast;
pub mod metro;
mod migrations;
pub mod model;
pub mod rooms;
mod store_rooms;

pub use evaluate::{evaluate, EvalConfig, EvalError, Method, Score};
pub use metro::{load_hangzhou, LoadError, MetroData};
pub use migrations::MIGRATIONS;
pub use model::{FlowMatrix, FlowShape, Forecast, History};
