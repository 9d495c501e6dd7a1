//! onecity-core: the vocabulary every onecity crate shares.
//!
//! Owns identifiers (UUIDv7), time helpers (RFC 3339 UTC, microsecond epoch integers in
//! storage), the one error catalogue ([`ErrorCode`], rendered as RFC 9457 problem details),
//! cursor pagination ([`page`]), the jurisdiction / department / grid model types
//! ([`model`]) and the typed platform events every module publishes ([`events`]).
//!
//! This crate has no HTTP framework and no SQL driver in it, so that every other crate
//! (and tools) can depend on it cheaply.

pub mod earth;
pub mod error;
pub mod events;
pub mod id;
pub mod model;
pub mod page;
pub mod time;
pub mod validate;

pub use error::{Error, ErrorClass, ErrorCode, Problem, Result, GENERIC_5XX_DETAIL};
pub use id::new_id;
