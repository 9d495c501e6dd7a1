//! Room search (找房): the checked query, the ranking score and the in-memory index. Pure:
//! the service builds a [`RoomIndex`] from the twin's lodging entities and hands it the
//! booked nights it read from the store.
//!
//! ## The score (tunable per query)
//!
//! `score = w_distance · 2^(−d / half_distance_m) + w_rating · r + w_price · p`, where
//! - `d` is the great-circle distance from the query point (metres, IUGG mean radius);
//!   the distance term halves every `half_distance_m` (default 1,000 m);
//! - `r = rating / 5`, and 0.5 for a listing with no rating (unknown, neither good nor bad);
//! - `p = price_ref / (price_ref + price)`: 1 for free, ½ at `price_ref` (default 150 AUD,
//!   near the median nightly price of the file, 149), falling toward 0 for dear rooms; a
//!   placeholder price ([`super::listing::is_placeholder_price`]) gets `p = 0`, so it is
//!   never ranked as a bargain, and such listings are left out of any query with a price
//!   band (their price is not a price).
//!
//! Defaults: `w_distance = 0.5`, `w_rating = 0.3`, `w_price = 0.2`. Ties go to the lower
//! listing id.

use super::availability::Availability;
use super::listing::RoomType;
use onecity_core::{Error, ErrorCode};
use rstar::primitives::GeomWithData;
use rstar::{RTree, AABB};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// The largest search radius, metres (a city, not a continent).
pub const MAX_RADIUS_M: f64 = 50_000.0;
/// The default search radius, metres.
pub const DEFAULT_RADIUS_M: f64 = 2_000.0;
/// The largest page of results.
pub const MAX_LIMIT: usize = 100;
/// The longest stay, nights.
pub const MAX_NIGHTS: u32 = 365;
/// How far ahead a check-in may be, days.
pub const MAX_DAYS_AHEAD: i64 = 365;

/// The weights and scales of the score (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScoreWeights {
    /// Weight of the distance term.
    pub w_distance: f64,
    /// Weight of the rating term.
    pub w_rating: f64,
    /// Weight of the price term.
    pub w_price: f64,
    /// Distance at which the distance term halves, metres.
    pub half_distance_m: f64,
    /// Price at which the price term is ½, AUD per night.
    pub price_ref_aud: f64,
}

impl Default for ScoreWeights {
    fn default() -> Self {
        ScoreWeights {
            w_distance: 0.5,
            w_rating: 0.3,
            w_price: 0.2,
            half_distance_m: 1_000.0,
            price_ref_aud: 150.0,
        }
    }
}

/// The query string of `GET /api/v1/brain/rooms`, as sent (checked by [`RoomQuery::parse`]).
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RoomParams {
    /// Tenant code, e.g. `melbourne`.
    pub tenant: String,
    /// Latitude of the point, WGS-84 degrees.
    pub lat: Option<f64>,
    /// Longitude of the point, WGS-84 degrees.
    pub lon: Option<f64>,
    /// Search radius, metres, 1–50,000 [default 2,000].
    pub radius_m: Option<f64>,
    /// Lowest nightly price, AUD.
    pub price_min: Option<f64>,
    /// Highest nightly price, AUD.
    pub price_max: Option<f64>,
    /// `entire_home`, `private_room`, `shared_room` or `hotel_room`.
    pub room_type: Option<String>,
    /// Lowest rating, 0–5 (listings without a rating are left out when set).
    pub min_rating: Option<f64>,
    /// Check-in date `YYYY-MM-DD` (UTC calendar), today … today + 365 [default tomorrow].
    pub checkin: Option<String>,
    /// Nights, 1–365 [default 1]; listings whose `minimum_nights` is larger are left out.
    pub nights: Option<u32>,
    /// Results, 1–100 [default 20].
    pub limit: Option<usize>,
    /// Score weight of distance [default 0.5].
    pub w_distance: Option<f64>,
    /// Score weight of rating [default 0.3].
    pub w_rating: Option<f64>,
    /// Score weight of price [default 0.2].
    pub w_price: Option<f64>,
    /// Distance at which the distance term halves, metres [default 1,000].
    pub half_distance_m: Option<f64>,
}

/// A checked room query.
#[derive(Debug, Clone, PartialEq)]
pub struct RoomQuery {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Radius, metres.
    pub radius_m: f64,
    /// Lowest price, AUD.
    pub price_min: Option<f64>,
    /// Highest price, AUD.
    pub price_max: Option<f64>,
    /// Room type.
    pub room_type: Option<RoomType>,
    /// Lowest rating.
    pub min_rating: Option<f64>,
    /// First night, days since 1970-01-01.
    pub checkin_day: i64,
    /// Nights.
    pub nights: u32,
    /// Results wanted.
    pub limit: usize,
    /// Score weights.
    pub weights: ScoreWeights,
}

fn bad(detail: String) -> Error {
    Error::new(ErrorCode::InvalidQuery, detail)
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn parse_day(s: &str) -> Option<i64> {
    let d = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some((d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?).num_days())
}

/// `YYYY-MM-DD` of a day number.
pub fn format_day(day: i64) -> String {
    (chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
        + chrono::Days::new(day as u64))
    .format("%Y-%m-%d")
    .to_string()
}

/// Checks a stay (check-in and nights) against today (days since 1970-01-01).
pub fn check_stay(
    checkin: Option<&str>,
    nights: Option<u32>,
    today: i64,
) -> Result<(i64, u32), Error> {
    let checkin_day = match checkin {
        None => today + 1,
        Some(s) => parse_day(s)
            .ok_or_else(|| bad(format!("checkin must be a date YYYY-MM-DD (got {s:?})")))?,
    };
    if checkin_day < today || checkin_day > today + MAX_DAYS_AHEAD {
        return Err(bad(format!(
            "checkin must be between {} and {} (got {})",
            format_day(today),
            format_day(today + MAX_DAYS_AHEAD),
            format_day(checkin_day)
        )));
    }
    let nights = nights.unwrap_or(1);
    if !(1..=MAX_NIGHTS).contains(&nights) {
        return Err(bad(format!(
            "nights must be between 1 and {MAX_NIGHTS} (got {nights})"
        )));
    }
    Ok((checkin_day, nights))
}

impl RoomQuery {
    /// Checks the parameters; `today` is days since 1970-01-01 (UTC). Errors are 400
    /// `invalid_query` naming the parameter: a missing point, a radius of 0 or beyond
    /// 50 km, an inverted price band, an unknown room type, a rating outside 0–5,
    /// `nights` < 1, a check-in in the past, a bad weight.
    pub fn parse(p: &RoomParams, today: i64) -> Result<RoomQuery, Error> {
        let lat = p
            .lat
            .ok_or_else(|| bad("lat is required (degrees, WGS-84)".into()))?;
        let lon = p
            .lon
            .ok_or_else(|| bad("lon is required (degrees, WGS-84)".into()))?;
        if !(-90.0..=90.0).contains(&lat) {
            return Err(bad(format!("lat must be between -90 and 90 (got {lat})")));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(bad(format!("lon must be between -180 and 180 (got {lon})")));
        }
        let radius_m = p.radius_m.unwrap_or(DEFAULT_RADIUS_M);
        if !(1.0..=MAX_RADIUS_M).contains(&radius_m) {
            return Err(bad(format!(
                "radius_m must be between 1 and {MAX_RADIUS_M} metres (got {radius_m})"
            )));
        }
        for (name, v) in [("price_min", p.price_min), ("price_max", p.price_max)] {
            if let Some(v) = v {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(bad(format!("{name} must be a price ≥ 0 AUD (got {v})")));
                }
            }
        }
        if let (Some(lo), Some(hi)) = (p.price_min, p.price_max) {
            if lo > hi {
                return Err(bad(format!(
                    "the price band is inverted: price_min {lo} > price_max {hi}"
                )));
            }
        }
        let room_type = match p.room_type.as_deref() {
            None | Some("") => None,
            Some(s) => Some(RoomType::from_code(s).ok_or_else(|| {
                bad(format!(
                    "unknown room_type {s:?}: one of entire_home, private_room, shared_room, hotel_room"
                ))
            })?),
        };
        if let Some(r) = p.min_rating {
            if !(0.0..=5.0).contains(&r) {
                return Err(bad(format!("min_rating must be between 0 and 5 (got {r})")));
            }
        }
        let (checkin_day, nights) = check_stay(p.checkin.as_deref(), p.nights, today)?;
        let limit = p.limit.unwrap_or(20);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(bad(format!(
                "limit must be between 1 and {MAX_LIMIT} (got {limit})"
            )));
        }
        let mut weights = ScoreWeights::default();
        for (name, v, slot) in [
            ("w_distance", p.w_distance, &mut weights.w_distance),
            ("w_rating", p.w_rating, &mut weights.w_rating),
            ("w_price", p.w_price, &mut weights.w_price),
        ] {
            if let Some(v) = v {
                if !(v.is_finite() && (0.0..=100.0).contains(&v)) {
                    return Err(bad(format!("{name} must be between 0 and 100 (got {v})")));
                }
                *slot = v;
            }
        }
        if let Some(h) = p.half_distance_m {
            if !(h.is_finite() && (1.0..=MAX_RADIUS_M).contains(&h)) {
                return Err(bad(format!(
                    "half_distance_m must be between 1 and {MAX_RADIUS_M} (got {h})"
                )));
            }
            weights.half_distance_m = h;
        }
        Ok(RoomQuery {
            lat,
            lon,
            radius_m,
            price_min: p.price_min,
            price_max: p.price_max,
            room_type,
            min_rating: p.min_rating,
            checkin_day,
            nights,
            limit,
            weights,
        })
    }
}

/// A listing as the index holds it (what a search reads and returns).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Room {
    /// NGSI-LD entity id, `urn:ngsi-ld:Accommodation:airbnb-melbourne:<listing id>`.
    pub entity_id: String,
    /// Inside Airbnb listing id (exact decimal string).
    pub listing_id: String,
    /// Title.
    pub name: String,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Room type code.
    #[schema(value_type = String)]
    pub room_type: RoomType,
    /// Nightly price, AUD.
    pub price_aud: f64,
    /// The price is a placeholder: shown as "price on request", never as a bargain.
    pub price_placeholder: bool,
    /// Rating 0–5, `null` when unrated.
    pub rating: Option<f64>,
    /// Minimum nights.
    pub minimum_nights: u32,
    /// Nights free per 365 days.
    pub availability_365: u16,
    /// Bedrooms (0 for a studio).
    pub bedrooms: Option<u32>,
    /// The listing is a studio.
    pub studio: bool,
    /// The synthetic calendar.
    #[serde(skip)]
    pub calendar: Availability,
}

/// One search result.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Hit {
    /// The room.
    #[serde(flatten)]
    pub room: Room,
    /// Distance from the query point, metres.
    pub distance_m: f64,
    /// The score (see the module docs); higher is better.
    pub score: f64,
}

/// Booked nights per listing id (days since 1970-01-01).
pub type Booked = HashMap<String, BTreeSet<i64>>;

/// The in-memory index of one tenant's rooms: an R-tree of their points (lon, lat).
pub struct RoomIndex {
    rooms: Vec<Room>,
    tree: RTree<GeomWithData<[f64; 2], u32>>,
    by_listing: HashMap<String, u32>,
}

/// Metres per degree of latitude on the IUGG mean sphere.
const M_PER_DEG: f64 = onecity_core::earth::MEAN_EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

impl RoomIndex {
    /// Builds the index (rooms with `availability_365 = 0` are kept out: never returned).
    pub fn build(rooms: Vec<Room>) -> RoomIndex {
        let rooms: Vec<Room> = rooms
            .into_iter()
            .filter(|r| r.availability_365 > 0)
            .collect();
        let points = rooms
            .iter()
            .enumerate()
            .map(|(i, r)| GeomWithData::new([r.lon, r.lat], i as u32))
            .collect();
        let by_listing = rooms
            .iter()
            .enumerate()
            .map(|(i, r)| (r.listing_id.clone(), i as u32))
            .collect();
        RoomIndex {
            rooms,
            tree: RTree::bulk_load(points),
            by_listing,
        }
    }

    /// Rooms in the index.
    pub fn len(&self) -> usize {
        self.rooms.len()
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.rooms.is_empty()
    }

    /// A room by listing id.
    pub fn room(&self, listing_id: &str) -> Option<&Room> {
        self.by_listing
            .get(listing_id)
            .map(|i| &self.rooms[*i as usize])
    }

    /// The best free rooms for `q`, best first, and how many matched in all.
    pub fn search(&self, q: &RoomQuery, booked: &Booked) -> (Vec<Hit>, usize) {
        let dlat = q.radius_m / M_PER_DEG;
        let dlon = dlat / q.lat.to_radians().cos().max(1e-6);
        let envelope =
            AABB::from_corners([q.lon - dlon, q.lat - dlat], [q.lon + dlon, q.lat + dlat]);
        let w = &q.weights;
        let mut hits: Vec<(f64, u32, f64)> = Vec::new();
        for p in self.tree.locate_in_envelope(&envelope) {
            let r = &self.rooms[p.data as usize];
            if q.room_type.is_some_and(|t| t != r.room_type)
                || r.minimum_nights > q.nights
                || q.min_rating.is_some_and(|m| r.rating.is_none_or(|x| x < m))
            {
                continue;
            }
            let banded = q.price_min.is_some() || q.price_max.is_some();
            if banded
                && (r.price_placeholder
                    || q.price_min.is_some_and(|lo| r.price_aud < lo)
                    || q.price_max.is_some_and(|hi| r.price_aud > hi))
            {
                continue;
            }
            let d = onecity_core::earth::haversine_m(q.lat, q.lon, r.lat, r.lon);
            if d > q.radius_m || !r.calendar.all_free(q.checkin_day, q.nights) {
                continue;
            }
            if let Some(nights) = booked.get(&r.listing_id) {
                let last = q.checkin_day + i64::from(q.nights) - 1;
                if nights.range(q.checkin_day..=last).next().is_some() {
                    continue;
                }
            }
            let distance = (-d / w.half_distance_m).exp2();
            let rating = r.rating.map_or(0.5, |x| x / 5.0);
            let price = if r.price_placeholder {
                0.0
            } else {
                w.price_ref_aud / (w.price_ref_aud + r.price_aud)
            };
            let score = w.w_distance * distance + w.w_rating * rating + w.w_price * price;
            hits.push((score, p.data, d));
        }
        let total = hits.len();
        let order = |a: &(f64, u32, f64), b: &(f64, u32, f64)| {
            b.0.total_cmp(&a.0).then_with(|| {
                let (x, y) = (&self.rooms[a.1 as usize], &self.rooms[b.1 as usize]);
                (x.listing_id.len(), &x.listing_id).cmp(&(y.listing_id.len(), &y.listing_id))
            })
        };
        if hits.len() > q.limit {
            hits.select_nth_unstable_by(q.limit - 1, order);
            hits.truncate(q.limit);
        }
        hits.sort_by(order);
        let out = hits
            .into_iter()
            .map(|(score, i, d)| Hit {
                room: self.rooms[i as usize].clone(),
                distance_m: (d * 10.0).round() / 10.0,
                score,
            })
            .collect();
        (out, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: i64 = 20_430;

    fn room(id: &str, lat: f64, lon: f64, price: f64, rating: Option<f64>, avail: u16) -> Room {
        Room {
            entity_id: format!("urn:ngsi-ld:Accommodation:airbnb-melbourne:{id}"),
            listing_id: id.into(),
            name: format!("listing {id}"),
            lat,
            lon,
            room_type: RoomType::EntireHome,
            price_aud: price,
            price_placeholder: super::super::listing::is_placeholder_price(price),
            rating,
            minimum_nights: 1,
            availability_365: avail,
            bedrooms: Some(1),
            studio: false,
            calendar: Availability::synthetic(id, avail),
        }
    }

    fn params() -> RoomParams {
        RoomParams {
            tenant: "melbourne".into(),
            lat: Some(-37.8136),
            lon: Some(144.9631),
            ..Default::default()
        }
    }

    #[test]
    fn bad_queries_are_named() {
        let cases: [(RoomParams, &str); 9] = [
            (
                RoomParams {
                    lat: None,
                    ..params()
                },
                "lat is required",
            ),
            (
                RoomParams {
                    radius_m: Some(0.0),
                    ..params()
                },
                "radius_m",
            ),
            (
                RoomParams {
                    radius_m: Some(1e10),
                    ..params()
                },
                "radius_m",
            ),
            (
                RoomParams {
                    price_min: Some(300.0),
                    price_max: Some(100.0),
                    ..params()
                },
                "inverted",
            ),
            (
                RoomParams {
                    room_type: Some("castle".into()),
                    ..params()
                },
                "unknown room_type",
            ),
            (
                RoomParams {
                    nights: Some(0),
                    ..params()
                },
                "nights",
            ),
            (
                RoomParams {
                    min_rating: Some(6.0),
                    ..params()
                },
                "min_rating",
            ),
            (
                RoomParams {
                    checkin: Some("2020-01-01".into()),
                    ..params()
                },
                "checkin",
            ),
            (
                RoomParams {
                    checkin: Some("tomorrow".into()),
                    ..params()
                },
                "checkin",
            ),
        ];
        for (p, want) in cases {
            let e = RoomQuery::parse(&p, TODAY).unwrap_err();
            assert_eq!(e.code, ErrorCode::InvalidQuery);
            assert!(e.detail.contains(want), "{} lacks {want}", e.detail);
        }
        let q = RoomQuery::parse(&params(), TODAY).unwrap();
        assert_eq!((q.checkin_day, q.nights, q.limit), (TODAY + 1, 1, 20));
    }

    #[test]
    fn ranks_by_distance_rating_and_price_and_hides_booked_and_placeholders() {
        let centre = (-37.8136, 144.9631);
        let rooms = vec![
            room("1", centre.0, centre.1, 150.0, Some(4.0), 365),
            room("2", centre.0 + 0.005, centre.1, 150.0, Some(4.0), 365),
            room("3", centre.0 + 0.001, centre.1, 99_999.0, Some(5.0), 365),
            room("4", centre.0, centre.1, 100.0, Some(5.0), 0),
            room("5", centre.0 + 0.5, centre.1, 50.0, Some(5.0), 365),
        ];
        let index = RoomIndex::build(rooms);
        assert_eq!(index.len(), 4, "availability 0 is never indexed");
        let q = RoomQuery::parse(&params(), TODAY).unwrap();
        let (hits, total) = index.search(&q, &Booked::new());
        let ids: Vec<&str> = hits.iter().map(|h| h.room.listing_id.as_str()).collect();
        assert_eq!(total, 3);
        assert_eq!(ids, ["1", "3", "2"]);
        // Same place and rating: the nearer one first; the placeholder scores no price.
        let expect1 = 0.5 + 0.3 * 0.8 + 0.2 * 0.5;
        assert!((hits[0].score - expect1).abs() < 1e-9);
        // With a price band the placeholder is gone.
        let band = RoomQuery::parse(
            &RoomParams {
                price_max: Some(100_000.0),
                ..params()
            },
            TODAY,
        )
        .unwrap();
        let (hits, _) = index.search(&band, &Booked::new());
        assert!(hits.iter().all(|h| !h.room.price_placeholder));
        // A booked night hides the room.
        let mut booked = Booked::new();
        booked.entry("1".into()).or_default().insert(TODAY + 1);
        let (hits, _) = index.search(&q, &booked);
        assert!(hits.iter().all(|h| h.room.listing_id != "1"));
    }
}
