//! Migrations of the `brain` component. Versions increase; a later version is appended to
//! [`MIGRATIONS`] (its array length grows by one).

use onecity_store::migrate::Migration;

/// v1: room bookings (找房 预订). One row per booking, and one row per booked night whose
/// primary key makes a double booking of a night impossible on both engines (the second
/// insert fails with a unique violation, answered as 409).
const V1: &str = r#"
CREATE TABLE brain_room_bookings (
  id TEXT PRIMARY KEY, tenant TEXT NOT NULL, listing_id TEXT NOT NULL,
  checkin_day BIGINT NOT NULL, nights BIGINT NOT NULL, booked_by TEXT NOT NULL,
  created_at BIGINT NOT NULL);
CREATE INDEX brain_room_bookings_created ON brain_room_bookings (created_at);
CREATE INDEX brain_room_bookings_tenant ON brain_room_bookings (tenant, listing_id);
CREATE TABLE brain_room_nights (
  tenant TEXT NOT NULL, listing_id TEXT NOT NULL, night BIGINT NOT NULL,
  booking_id TEXT NOT NULL REFERENCES brain_room_bookings(id),
  PRIMARY KEY (tenant, listing_id, night));
"#;

/// Migrations of the `brain` component (run by the binary as component `brain`).
pub static MIGRATIONS: [Migration; 1] = [Migration {
    version: 1,
    name: "room bookings",
    sqlite: V1,
    postgres: V1,
}];
