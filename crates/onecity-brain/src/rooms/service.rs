//! The room-finding service [`Rooms`]: lodging entities in the twin (imported by
//! [`import_lodging`]), bookings in the store, and per tenant an in-memory [`RoomIndex`]
//! refreshed from both.
//!
//! Freshness: a booking made on this node updates the index's booked nights as soon as its
//! transaction commits (so a booked room is gone from the very next search); other nodes
//! read new bookings from the store every [`BOOKING_POLL`]. A change to a lodging entity
//! in the twin marks the tenant's index stale; it is rebuilt within [`REBUILD_EVERY`].

use super::availability::Availability;
use super::listing::{Boundary, Listing, RoomType};
use super::search::{
    check_stay, format_day, Booked, Hit, Room, RoomIndex, RoomParams, RoomQuery, ScoreWeights,
};
use crate::store_rooms::{self as store, BookingRow};
use onecity_core::{Error, ErrorCode, Result};
use onecity_iam::{Iam, Principal};
use onecity_store::Db;
use onecity_twin::context::Context;
use onecity_twin::{EntityOp, Twin};
use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// NGSI-LD entity type of a listing: schema.org `Accommodation` (a rentable place to stay;
/// Smart Data Models has no short-stay rental model), in the default `@context` vocabulary.
pub const ENTITY_TYPE: &str = "Accommodation";
/// Prefix of listing entity ids; the exact Inside Airbnb id follows.
pub const ENTITY_PREFIX: &str = "urn:ngsi-ld:Accommodation:airbnb-melbourne:";
/// How often other nodes' bookings are read from the store.
pub const BOOKING_POLL: Duration = Duration::from_millis(500);
/// How often a stale index (lodging entities changed) is rebuilt.
pub const REBUILD_EVERY: Duration = Duration::from_secs(1);

fn today() -> i64 {
    onecity_core::time::now_micros().div_euclid(86_400_000_000)
}

/// The NGSI-LD entity of a listing (normalized form, attribute names in the default
/// vocabulary; documented in `docs/brain.md`).
pub fn listing_entity(l: &Listing) -> Value {
    let mut e = json!({
        "id": format!("{ENTITY_PREFIX}{}", l.id),
        "type": ENTITY_TYPE,
        "name": {"type": "Property", "value": l.name},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [l.lon, l.lat]}},
        "listingId": {"type": "Property", "value": l.id},
        "hostId": {"type": "Property", "value": l.host_id},
        "neighbourhood": {"type": "Property", "value": l.neighbourhood},
        "roomType": {"type": "Property", "value": l.room_type.code()},
        "price": {"type": "Property", "value": l.price_aud, "currency": {"type": "Property", "value": "AUD"}},
        "pricePlaceholder": {"type": "Property", "value": l.price_placeholder},
        "minimumNights": {"type": "Property", "value": l.minimum_nights},
        "availability365": {"type": "Property", "value": l.availability_365},
        "numberOfReviews": {"type": "Property", "value": l.number_of_reviews},
        "isStudio": {"type": "Property", "value": l.studio},
        "calendarSource": {"type": "Property", "value": "synthetic"},
        "dataProvider": {"type": "Property", "value": "Inside Airbnb (Melbourne, 2023-10-05) via KatrinaaDing/Melbourne-City-Travel-Guide"},
    });
    let extra = [
        ("rating", l.rating.map(Value::from)),
        ("lastReview", l.last_review.clone().map(Value::from)),
        ("numberOfBedrooms", l.bedrooms.map(Value::from)),
        ("numberOfBeds", l.beds.map(Value::from)),
        ("numberOfBathroomsTotal", l.baths.map(Value::from)),
        ("bathroomKind", l.bath_kind.clone().map(Value::from)),
    ];
    for (name, value) in extra {
        if let Some(v) = value {
            e[name] = json!({"type": "Property", "value": v});
        }
    }
    e
}

/// What [`import_lodging`] did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Rows read from the file.
    pub read: usize,
    /// Rows inside the boundary (all rows without `--inside-boundary`).
    pub selected: usize,
    /// Entities written (created or replaced).
    pub written: usize,
    /// Listings with a placeholder price.
    pub placeholder_prices: usize,
    /// Listings with `availability_365 = 0` (stored, never returned by a search).
    pub never_available: usize,
}

/// Imports the listings file into tenant `tenant`'s twin as [`ENTITY_TYPE`] entities
/// (created or replaced, so a second run changes nothing); with `boundary`, only the
/// listings whose point lies inside it. Errors: a bad file names its line.
pub async fn import_lodging(
    twin: &Twin,
    tenant: &str,
    listings_csv: &str,
    boundary: Option<&Boundary>,
) -> std::result::Result<ImportReport, String> {
    let all = super::listing::parse_listings(listings_csv).map_err(|e| e.to_string())?;
    let read = all.len();
    let chosen: Vec<&Listing> = all
        .iter()
        .filter(|l| boundary.is_none_or(|b| b.contains(l.lon, l.lat)))
        .collect();
    let ctx = Context::core();
    let now = onecity_core::time::now_micros();
    let mut written = 0;
    for chunk in chosen.chunks(1000) {
        let mut ops = Vec::with_capacity(chunk.len());
        for l in chunk {
            let entity = onecity_twin::model::parse_entity(&listing_entity(l), &ctx, now)
                .map_err(|e| format!("listing {}: {e}", l.id))?;
            ops.push(EntityOp {
                tenant: tenant.to_string(),
                id: entity.id.clone(),
                f: onecity_twin::replace_op(entity, true),
            });
        }
        for (result, l) in twin.apply(ops).await.into_iter().zip(chunk) {
            result.map_err(|e| format!("listing {}: {e}", l.id))?;
            written += 1;
        }
    }
    Ok(ImportReport {
        read,
        selected: chosen.len(),
        written,
        placeholder_prices: chosen.iter().filter(|l| l.price_placeholder).count(),
        never_available: chosen.iter().filter(|l| l.availability_365 == 0).count(),
    })
}

/// Expanded attribute names read back from the entities.
struct Names {
    entity_type: String,
    location: String,
    name: String,
    listing_id: String,
    room_type: String,
    price: String,
    placeholder: String,
    minimum_nights: String,
    availability: String,
    rating: String,
    bedrooms: String,
    studio: String,
}

impl Names {
    fn new() -> Names {
        let ctx = Context::core();
        Names {
            entity_type: ctx.expand(ENTITY_TYPE),
            location: ctx.expand("location"),
            name: ctx.expand("name"),
            listing_id: ctx.expand("listingId"),
            room_type: ctx.expand("roomType"),
            price: ctx.expand("price"),
            placeholder: ctx.expand("pricePlaceholder"),
            minimum_nights: ctx.expand("minimumNights"),
            availability: ctx.expand("availability365"),
            rating: ctx.expand("rating"),
            bedrooms: ctx.expand("numberOfBedrooms"),
            studio: ctx.expand("isStudio"),
        }
    }

    /// The room of an entity; `None` when a needed attribute is missing or malformed.
    fn room(&self, e: &onecity_twin::model::Entity) -> Option<Room> {
        let get = |n: &str| {
            e.attrs
                .get(n)
                .and_then(|v| v.first())
                .map(|a| a.plain_value())
        };
        let coords = get(&self.location)?.get("coordinates")?.as_array()?;
        let listing_id = get(&self.listing_id)?.as_str()?.to_string();
        let availability_365 = get(&self.availability)?.as_u64()?.min(365) as u16;
        Some(Room {
            entity_id: e.id.clone(),
            name: get(&self.name)
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            lat: coords.get(1)?.as_f64()?,
            lon: coords.first()?.as_f64()?,
            room_type: RoomType::from_code(get(&self.room_type)?.as_str()?)?,
            price_aud: get(&self.price)?.as_f64()?,
            price_placeholder: get(&self.placeholder)
                .and_then(Value::as_bool)
                .unwrap_or(true),
            rating: get(&self.rating).and_then(Value::as_f64),
            minimum_nights: get(&self.minimum_nights)?
                .as_u64()?
                .min(u64::from(u32::MAX)) as u32,
            availability_365,
            bedrooms: get(&self.bedrooms)
                .and_then(Value::as_u64)
                .map(|b| b as u32),
            studio: get(&self.studio).and_then(Value::as_bool).unwrap_or(false),
            calendar: Availability::synthetic(&listing_id, availability_365),
            listing_id,
        })
    }
}

struct Inner {
    db: Db,
    twin: Twin,
    iam: Iam,
    names: Names,
    indexes: RwLock<HashMap<String, Arc<RoomIndex>>>,
    stale: RwLock<HashSet<String>>,
    booked: RwLock<HashMap<String, Booked>>,
}

/// The room-finding service (cheap to clone).
#[derive(Clone)]
pub struct Rooms {
    inner: Arc<Inner>,
}

/// The answer of a room search.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomResults {
    /// Tenant code.
    pub tenant: String,
    /// Always `synthetic`: availability comes from the seeded calendar (see docs/brain.md).
    pub calendar: String,
    /// First night, `YYYY-MM-DD`.
    pub checkin: String,
    /// Nights.
    pub nights: u32,
    /// Rooms that matched in all (before `limit`).
    pub total: usize,
    /// Rooms in the tenant's index (bookable at all).
    pub indexed: usize,
    /// The score's weights used.
    pub weights: ScoreWeights,
    /// The best rooms, best first.
    pub items: Vec<Hit>,
}

/// A booking request.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookingRequest {
    /// Tenant code.
    pub tenant: String,
    /// First night, `YYYY-MM-DD` (today … today + 365).
    pub checkin: String,
    /// Nights, at least the room's minimum.
    pub nights: u32,
}

/// A booking.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Booking {
    /// Booking id (UUIDv7).
    pub id: String,
    /// Tenant code.
    pub tenant: String,
    /// Listing id.
    pub listing_id: String,
    /// The listing's entity id.
    pub entity_id: String,
    /// First night, `YYYY-MM-DD`.
    pub checkin: String,
    /// Check-out day, `YYYY-MM-DD`.
    pub checkout: String,
    /// Nights.
    pub nights: u32,
    /// Nightly price × nights, AUD; `null` for a placeholder price.
    pub total_aud: Option<f64>,
    /// Always `synthetic` (the calendar the booking was checked against).
    pub calendar: String,
}

impl Rooms {
    /// The service over the store, the twin and the identity service.
    pub fn new(db: Db, twin: Twin, iam: Iam) -> Rooms {
        Rooms {
            inner: Arc::new(Inner {
                db,
                twin,
                iam,
                names: Names::new(),
                indexes: RwLock::new(HashMap::new()),
                stale: RwLock::new(HashSet::new()),
                booked: RwLock::new(HashMap::new()),
            }),
        }
    }

    /// The identity service (for the HTTP extractors).
    pub fn iam(&self) -> &Iam {
        &self.inner.iam
    }

    /// Builds a tenant's index from its lodging entities in the twin and its bookings in
    /// the store (replacing both); returns the rooms indexed.
    pub async fn rebuild(&self, tenant: &str) -> Result<usize> {
        let query = onecity_twin::Query {
            types: vec![self.inner.names.entity_type.clone()],
            ..Default::default()
        };
        self.inner.stale.write().remove(tenant);
        let (entities, _) = self
            .inner
            .twin
            .query(tenant, &query, &Context::core(), 0, usize::MAX);
        let rooms: Vec<Room> = entities
            .iter()
            .filter_map(|e| self.inner.names.room(e))
            .collect();
        let index = Arc::new(RoomIndex::build(rooms));
        let mut booked = Booked::new();
        for b in store::bookings_of(&self.inner.db, tenant, today() - 1).await? {
            booked
                .entry(b.listing_id)
                .or_default()
                .extend(b.checkin_day..b.checkin_day + b.nights);
        }
        let n = index.len();
        self.inner.booked.write().insert(tenant.to_string(), booked);
        self.inner.indexes.write().insert(tenant.to_string(), index);
        Ok(n)
    }

    async fn index(&self, tenant: &str) -> Result<Arc<RoomIndex>> {
        if let Some(i) = self.inner.indexes.read().get(tenant) {
            return Ok(i.clone());
        }
        self.inner.iam.tenant_unchecked(tenant).await?;
        self.rebuild(tenant).await?;
        self.inner
            .indexes
            .read()
            .get(tenant)
            .cloned()
            .ok_or_else(|| Error::internal("room index missing after rebuild"))
    }

    /// Searches a tenant's free rooms (see [`RoomQuery::parse`] for the 400s; 404
    /// `tenant_not_found` for an unknown tenant).
    pub async fn search(&self, params: &RoomParams) -> Result<RoomResults> {
        let q = RoomQuery::parse(params, today())?;
        let index = self.index(&params.tenant).await?;
        let empty = Booked::new();
        let (items, total) = {
            let booked = self.inner.booked.read();
            index.search(&q, booked.get(&params.tenant).unwrap_or(&empty))
        };
        Ok(RoomResults {
            tenant: params.tenant.clone(),
            calendar: "synthetic".into(),
            checkin: format_day(q.checkin_day),
            nights: q.nights,
            total,
            indexed: index.len(),
            weights: q.weights,
            items,
        })
    }

    /// Books `nights` nights of listing `listing_id` (or its entity id) from `checkin`.
    /// Errors: 422 `invalid_input` for a bad date or a stay shorter than the room's minimum;
    /// 404 `not_found` for no such bookable room (or a caller of another tenant); 409
    /// `conflict` when a night is not free (synthetic calendar or an earlier booking).
    pub async fn book(
        &self,
        who: &Principal,
        listing_id: &str,
        req: &BookingRequest,
    ) -> Result<Booking> {
        let listing_id = listing_id.strip_prefix(ENTITY_PREFIX).unwrap_or(listing_id);
        let (checkin_day, nights) = check_stay(Some(&req.checkin), Some(req.nights), today())
            .map_err(|e| Error::new(ErrorCode::InvalidInput, e.detail))?;
        if who.tenant.as_deref().is_some_and(|t| t != req.tenant) {
            return Err(Error::not_found(format!("no bookable room {listing_id}")));
        }
        let index = self.index(&req.tenant).await?;
        let room = index
            .room(listing_id)
            .ok_or_else(|| Error::not_found(format!("no bookable room {listing_id}")))?
            .clone();
        if nights < room.minimum_nights {
            return Err(Error::new(
                ErrorCode::InvalidInput,
                format!(
                    "this room's minimum stay is {} nights (asked {nights})",
                    room.minimum_nights
                ),
            ));
        }
        if let Some(night) =
            (checkin_day..checkin_day + i64::from(nights)).find(|d| !room.calendar.is_free(*d))
        {
            return Err(Error::new(
                ErrorCode::Conflict,
                format!("the night of {} is not free", format_day(night)),
            ));
        }
        let row = BookingRow {
            id: onecity_core::id::new_id().to_string(),
            tenant: req.tenant.clone(),
            listing_id: listing_id.to_string(),
            checkin_day,
            nights: i64::from(nights),
            created_at: onecity_core::time::now_micros(),
        };
        let mut tx = self.inner.db.begin().await?;
        store::insert_booking(&mut tx, &row, &who.actor())
            .await
            .map_err(|e| match e.code {
                ErrorCode::Conflict => Error::new(
                    ErrorCode::Conflict,
                    format!("room {listing_id} is already booked for some of these nights"),
                ),
                _ => e,
            })?;
        tx.commit().await?;
        self.note_booking(&row);
        Ok(Booking {
            id: row.id,
            tenant: row.tenant,
            listing_id: row.listing_id,
            entity_id: room.entity_id,
            checkin: format_day(checkin_day),
            checkout: format_day(checkin_day + i64::from(nights)),
            nights,
            total_aud: (!room.price_placeholder).then(|| room.price_aud * f64::from(nights)),
            calendar: "synthetic".into(),
        })
    }

    fn note_booking(&self, b: &BookingRow) {
        self.inner
            .booked
            .write()
            .entry(b.tenant.clone())
            .or_default()
            .entry(b.listing_id.clone())
            .or_default()
            .extend(b.checkin_day..b.checkin_day + b.nights);
    }

    /// Keeps the indexes fresh until the task is dropped: marks a tenant stale when one of
    /// its lodging entities changes in the twin, rebuilds stale indexes every
    /// [`REBUILD_EVERY`], and reads other nodes' bookings every [`BOOKING_POLL`].
    pub async fn run_refresh(self) {
        let mut changes = self.inner.twin.changes();
        let mut poll = tokio::time::interval(BOOKING_POLL);
        let mut rebuild = tokio::time::interval(REBUILD_EVERY);
        let mut since = onecity_core::time::now_micros() - 60_000_000;
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Ok(c) => {
                        if c.entity_types.contains(&self.inner.names.entity_type) {
                            self.inner.stale.write().insert(c.tenant.clone());
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let all: Vec<String> = self.inner.indexes.read().keys().cloned().collect();
                        self.inner.stale.write().extend(all);
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
                _ = poll.tick() => {
                    // A little overlap: a transaction may commit after a later one began.
                    match store::bookings_since(&self.inner.db, since - 2_000_000).await {
                        Ok(rows) => {
                            for b in &rows {
                                since = since.max(b.created_at);
                                self.note_booking(b);
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "rooms: reading new bookings failed"),
                    }
                },
                _ = rebuild.tick() => {
                    let stale: Vec<String> = self.inner.stale.read().iter().cloned().collect();
                    for tenant in stale {
                        if !self.inner.indexes.read().contains_key(&tenant) {
                            self.inner.stale.write().remove(&tenant);
                            continue;
                        }
                        match self.rebuild(&tenant).await {
                            Ok(n) => tracing::info!(tenant, rooms = n, "room index rebuilt"),
                            Err(e) => tracing::warn!(tenant, error = %e, "room index rebuild failed"),
                        }
                    }
                },
            }
        }
    }
}
