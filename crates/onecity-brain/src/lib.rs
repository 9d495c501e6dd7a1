//! The city brain (城市大脑) of onecity: models that turn the platform's data into decisions.
//! This crate owns station passenger-flow forecasting for the Hangzhou metro (the
//! Zhengzhou-East crowd-evacuation case of the specification): loading the real data
//! ([`metro`]), the 2019 rest-day calendar ([`calendar`]), the forecasters with prediction
//! intervals ([`forecast`]) and their evaluation on the published transdim protocol against
//! three baselines ([`evaluate`]), the published missing-data scenarios ([`missing`]), the
//! crowd-evacuation advice ([`evacuation`]), its replay on the test week ([`replay`]) and
//! the transport work order it opens through governance ([`workorder`]).
//!
//! The model modules ([`metro`], [`calendar`], [`forecast`], [`evaluate`], [`model`],
//! [`station`], [`missing`], [`evacuation`], [`replay`]) are pure Rust with no database and
//! no HTTP. [`service`] serves the forecasts: it imports the stations into the digital
//! twin, writes forecasts back to it as NGSI-LD properties
//! ([`service::MetroForecaster::tick`]) and reads them for [`http`], the
//! `/api/v1/brain/metro/…` API; [`workorder`] opens the transport work order through
//! governance. Room finding ([`rooms`], the Haikou case) keeps its pure parts (parsing, the
//! synthetic calendar, the score and index) apart from its store, service and HTTP modules.
#![warn(missing_docs)]

pub mod calendar;
pub mod evacuation;
pub mod evaluate;
pub mod forecast;
pub mod http;
pub mod metro;
mod migrations;
pub mod missing;
pub mod model;
pub mod replay;
pub mod rooms;
pub mod service;
pub mod station;
mod store_rooms;
pub mod workorder;

pub use evaluate::{evaluate, EvalConfig, EvalError, Method, Score};
pub use metro::{load_hangzhou, LoadError, MetroData};
pub use migrations::MIGRATIONS;
pub use model::{FlowMatrix, FlowShape, Forecast, History};
pub use service::{MetroForecaster, TickReport};
