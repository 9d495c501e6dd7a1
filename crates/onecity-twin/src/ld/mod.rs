//! The NGSI-LD data model (GS CIM 009 §4, §5.2): entities and the seven attribute kinds
//! ([`model`]: parsing of normalized and concise bodies, rendering, time values),
//! GeoJSON geometries ([`geometry`]), expiry and the NGSI-LD Null ([`expiry`]), `@context`
//! expansion and compaction ([`context`]) and the NGSI-LD problem details ([`error`]).
//! The bottom layer: imports nothing else of the crate.

pub mod context;
pub mod error;
pub mod expiry;
pub mod geometry;
pub mod model;
