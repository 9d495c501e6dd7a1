//! Room finding (找房, the Haikou "10 seconds to find a room" case) on the Melbourne
//! Airbnb listings: parsing the real file ([`listing`]), the seeded synthetic availability
//! calendar ([`availability`]), the checked query, score and R-tree index ([`search`]) —
//! all pure — then the bookings' SQL (`crate::store_rooms`), the service with its importer and index
//! refresh ([`service`]), the HTTP API ([`http`]) and the demo's import ([`demo`]). See `docs/brain.md`.

pub mod availability;
pub mod demo;
pub mod http;
pub mod listing;
pub mod search;
pub mod service;

pub use listing::{Boundary, Listing, RoomType};
pub use search::{RoomIndex, RoomParams, RoomQuery, ScoreWeights};
pub use service::{import_lodging, Booking, BookingRequest, ImportReport, RoomResults, Rooms};
