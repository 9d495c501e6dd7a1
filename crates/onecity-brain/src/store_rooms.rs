//! Every SQL statement of the room tables of [`crate::rooms`] (`brain_room_bookings`, `brain_room_nights`).

use onecity_core::Result;
use onecity_store::{args, Executor};
use serde::Deserialize;

/// A `brain_room_bookings` row.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct BookingRow {
    pub id: String,
    pub tenant: String,
    pub listing_id: String,
    pub checkin_day: i64,
    pub nights: i64,
    pub created_at: i64,
}

const BOOKING_COLUMNS: &str = "id, tenant, listing_id, checkin_day, nights, created_at";

/// Inserts a booking and its nights (call inside a transaction: a night already booked
/// fails the insert with `conflict`).
pub(crate) async fn insert_booking(
    mut ex: impl Executor,
    row: &BookingRow,
    booked_by: &str,
) -> Result<()> {
    ex.execute(
        "INSERT INTO brain_room_bookings (id, tenant, listing_id, checkin_day, nights, booked_by, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        args![
            row.id.as_str(),
            row.tenant.as_str(),
            row.listing_id.as_str(),
            row.checkin_day,
            row.nights,
            booked_by,
            row.created_at
        ],
    )
    .await?;
    for night in row.checkin_day..row.checkin_day + row.nights {
        ex.execute(
            "INSERT INTO brain_room_nights (tenant, listing_id, night, booking_id) \
             VALUES ($1, $2, $3, $4)",
            args![
                row.tenant.as_str(),
                row.listing_id.as_str(),
                night,
                row.id.as_str()
            ],
        )
        .await?;
    }
    Ok(())
}

/// A tenant's bookings whose last night is on or after `from_day`.
pub(crate) async fn bookings_of(
    mut ex: impl Executor,
    tenant: &str,
    from_day: i64,
) -> Result<Vec<BookingRow>> {
    let sql = format!(
        "SELECT {BOOKING_COLUMNS} FROM brain_room_bookings \
         WHERE tenant = $1 AND checkin_day + nights > $2"
    );
    ex.fetch_all_as(&sql, args![tenant, from_day]).await
}

/// Bookings created at or after `since` (µs), oldest first (for other nodes' indexes).
pub(crate) async fn bookings_since(mut ex: impl Executor, since: i64) -> Result<Vec<BookingRow>> {
    let sql = format!(
        "SELECT {BOOKING_COLUMNS} FROM brain_room_bookings WHERE created_at >= $1 \
         ORDER BY created_at LIMIT 10000"
    );
    ex.fetch_all_as(&sql, args![since]).await
}
