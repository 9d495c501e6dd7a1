//! The Melbourne Airbnb listings file (`lodging/melbourne_airbnb_listings_clean.csv`, Inside
//! Airbnb via KatrinaaDing/Melbourne-City-Travel-Guide): parsing rows into [`Listing`]s with
//! their quirks handled, the placeholder-price rule, and the City of Melbourne boundary test
//! ([`Boundary`]). Pure: no database, no HTTP.

use onecity_geo::pip::PreparedArea;
use serde::Serialize;
use serde_json::Value;

/// The room type of a listing (Inside Airbnb's `room_type`), with a stable query code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomType {
    /// `Entire home/apt` (整套房源).
    EntireHome,
    /// `Private room` (独立房间).
    PrivateRoom,
    /// `Shared room` (合住房间).
    SharedRoom,
    /// `Hotel room` (酒店客房).
    HotelRoom,
}

impl RoomType {
    /// Every room type.
    pub const ALL: [RoomType; 4] = [
        RoomType::EntireHome,
        RoomType::PrivateRoom,
        RoomType::SharedRoom,
        RoomType::HotelRoom,
    ];

    /// The query code: `entire_home`, `private_room`, `shared_room`, `hotel_room`.
    pub fn code(self) -> &'static str {
        match self {
            RoomType::EntireHome => "entire_home",
            RoomType::PrivateRoom => "private_room",
            RoomType::SharedRoom => "shared_room",
            RoomType::HotelRoom => "hotel_room",
        }
    }

    /// Inside Airbnb's label, as in the file.
    pub fn label(self) -> &'static str {
        match self {
            RoomType::EntireHome => "Entire home/apt",
            RoomType::PrivateRoom => "Private room",
            RoomType::SharedRoom => "Shared room",
            RoomType::HotelRoom => "Hotel room",
        }
    }

    /// From a query code.
    pub fn from_code(s: &str) -> Option<RoomType> {
        RoomType::ALL.into_iter().find(|t| t.code() == s)
    }

    /// From the file's label.
    pub fn from_label(s: &str) -> Option<RoomType> {
        RoomType::ALL.into_iter().find(|t| t.label() == s)
    }
}

/// One listing of the file. Ids stay the exact decimal strings of the file (10,046 of them
/// are above 2^53, so an `f64` would change them).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listing {
    /// Inside Airbnb listing id, exact.
    pub id: String,
    /// Host id, exact.
    pub host_id: String,
    /// Listing title, e.g. `Rental unit in Brunswick East`.
    pub name: String,
    /// The LGA the source names (`neighbourhood`), e.g. `Melbourne`, `Port Phillip`.
    pub neighbourhood: String,
    /// WGS-84 latitude, degrees.
    pub lat: f64,
    /// WGS-84 longitude, degrees.
    pub lon: f64,
    /// Room type.
    pub room_type: RoomType,
    /// Price per night, AUD, as listed.
    pub price_aud: f64,
    /// The price is a placeholder ([`is_placeholder_price`]): never a bargain.
    pub price_placeholder: bool,
    /// Minimum nights per stay.
    pub minimum_nights: u32,
    /// Nights available in the next 365 days (0 = never returned by a search).
    pub availability_365: u16,
    /// Review score 0–5; `None` when the cell is empty (no rating, not zero).
    pub rating: Option<f64>,
    /// Number of reviews.
    pub number_of_reviews: u32,
    /// Last review date (`YYYY-MM-DD`), if any.
    pub last_review: Option<String>,
    /// Bedrooms; `Studio` is 0 with `studio` set; `None` when the cell is empty.
    pub bedrooms: Option<u32>,
    /// The source says `Studio`.
    pub studio: bool,
    /// Beds; `None` when empty.
    pub beds: Option<u32>,
    /// Bathrooms; `Half-bath` is 0.5; `None` when empty or only a kind (`Shared`, `Private`).
    pub baths: Option<f64>,
    /// `shared` or `private` when the source gives a bathroom kind instead of a number.
    pub bath_kind: Option<String>,
}

/// A row that cannot be read: its 1-based line number in the file and why.
#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ListingError {
    /// Line in the file (the header is line 1).
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// The placeholder-price rule. A nightly price is a placeholder, not a price, when it is
/// 0, when it is a repeated digit of four or more places (9999, 88888, 99999: hosts'
/// "do not book" values), or when it is at least [`PLACEHOLDER_MIN_AUD`]. On the real file
/// the rule flags 7 of 23,185 listings (0, 9,999, 35,713, 85,000, 88,888, 99,999, 104,983).
pub fn is_placeholder_price(price_aud: f64) -> bool {
    if price_aud.is_nan() || price_aud <= 0.0 || price_aud >= PLACEHOLDER_MIN_AUD {
        return true;
    }
    if price_aud.fract() != 0.0 || price_aud < 1000.0 {
        return false;
    }
    let digits = format!("{}", price_aud as u64);
    let first = digits.as_bytes()[0];
    digits.bytes().all(|d| d == first)
}

/// Nightly prices at or above this (AUD) are placeholders: above every plausible nightly
/// rate in Greater Melbourne (the listed prices below it stop at 20,000).
pub const PLACEHOLDER_MIN_AUD: f64 = 25_000.0;

fn column(headers: &csv::StringRecord, name: &str) -> Result<usize, ListingError> {
    headers
        .iter()
        .position(|h| h == name)
        .ok_or_else(|| ListingError {
            line: 1,
            message: format!("the header has no column `{name}`"),
        })
}

/// Parses the listings file. Errors name the line and the cell.
pub fn parse_listings(text: &str) -> Result<Vec<Listing>, ListingError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ListingError {
            line: 1,
            message: e.to_string(),
        })?
        .clone();
    let names = [
        "id",
        "host_id",
        "name",
        "neighbourhood",
        "latitude",
        "longitude",
        "room_type",
        "price",
        "minimum_nights",
        "availability_365",
        "rating",
        "number_of_reviews",
        "last_review",
        "number_of_bedrooms",
        "number_of_beds",
        "number_of_baths",
    ];
    let mut idx = [0usize; 16];
    for (slot, name) in idx.iter_mut().zip(names) {
        *slot = column(&headers, name)?;
    }
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let record = record.map_err(|e| ListingError {
            line,
            message: e.to_string(),
        })?;
        let cell = |k: usize| record.get(idx[k]).unwrap_or("").trim();
        let bad = |name: &str, v: &str| ListingError {
            line,
            message: format!("`{name}` is not valid: {v:?}"),
        };
        let id = cell(0);
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("id", id));
        }
        let host_id = cell(1);
        let lat: f64 = cell(4).parse().map_err(|_| bad("latitude", cell(4)))?;
        let lon: f64 = cell(5).parse().map_err(|_| bad("longitude", cell(5)))?;
        if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
            return Err(bad("latitude/longitude", &format!("{lat},{lon}")));
        }
        let room_type = RoomType::from_label(cell(6)).ok_or_else(|| bad("room_type", cell(6)))?;
        let price_aud: f64 = cell(7).parse().map_err(|_| bad("price", cell(7)))?;
        if !price_aud.is_finite() || price_aud < 0.0 {
            return Err(bad("price", cell(7)));
        }
        let minimum_nights: u32 = cell(8)
            .parse()
            .map_err(|_| bad("minimum_nights", cell(8)))?;
        let availability_365: u16 = cell(9)
            .parse()
            .ok()
            .filter(|a| *a <= 365)
            .ok_or_else(|| bad("availability_365", cell(9)))?;
        let rating = match cell(10) {
            "" => None,
            v => Some(
                v.parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=5.0).contains(r))
                    .ok_or_else(|| bad("rating", v))?,
            ),
        };
        let number_of_reviews = cell(11)
            .parse()
            .map_err(|_| bad("number_of_reviews", cell(11)))?;
        let last_review = Some(cell(12).to_string()).filter(|s| !s.is_empty());
        let (bedrooms, studio) = match cell(13) {
            "" => (None, false),
            "Studio" => (Some(0), true),
            v => (
                Some(v.parse().map_err(|_| bad("number_of_bedrooms", v))?),
                false,
            ),
        };
        let beds = match cell(14) {
            "" => None,
            v => Some(v.parse().map_err(|_| bad("number_of_beds", v))?),
        };
        let (baths, bath_kind) = match cell(15) {
            "" => (None, None),
            "Half-bath" => (Some(0.5), None),
            "Shared" => (None, Some("shared".to_string())),
            "Private" => (None, Some("private".to_string())),
            v => (
                Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|b| b.is_finite() && *b >= 0.0)
                        .ok_or_else(|| bad("number_of_baths", v))?,
                ),
                None,
            ),
        };
        out.push(Listing {
            id: id.to_string(),
            host_id: host_id.to_string(),
            name: cell(2).to_string(),
            neighbourhood: cell(3).to_string(),
            lat,
            lon,
            room_type,
            price_aud,
            price_placeholder: is_placeholder_price(price_aud),
            minimum_nights,
            availability_365,
            rating,
            number_of_reviews,
            last_review,
            bedrooms,
            studio,
            beds,
            baths,
            bath_kind,
        });
    }
    Ok(out)
}

/// A municipal boundary prepared for point-in-polygon tests (even-odd rule on every ring,
/// see [`onecity_geo::pip`]), with the distance to its edges for the near-border check.
pub struct Boundary {
    area: PreparedArea,
    edges: Vec<([f64; 2], [f64; 2])>,
}

impl Boundary {
    /// From a GeoJSON FeatureCollection (its first feature), a Feature or a geometry.
    pub fn from_geojson(v: &Value) -> Result<Boundary, String> {
        let geometry = match v.get("features").and_then(Value::as_array) {
            Some(features) => features
                .first()
                .ok_or("the FeatureCollection has no feature")?,
            None => v,
        };
        let mp = onecity_geo::area::parse_area(geometry).map_err(|p| p.join("; "))?;
        let mut edges = Vec::new();
        for poly in &mp.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for l in ring.lines() {
                    edges.push(([l.start.x, l.start.y], [l.end.x, l.end.y]));
                }
            }
        }
        let area = PreparedArea::new(&mp).ok_or("the boundary is empty")?;
        Ok(Boundary { area, edges })
    }

    /// Whether (lon, lat) lies inside.
    pub fn contains(&self, lon: f64, lat: f64) -> bool {
        self.area.contains(lon, lat)
    }

    /// Distance in metres from (lon, lat) to the nearest boundary edge (local
    /// equirectangular projection around the point on the IUGG mean sphere; within 1 cm of
    /// the WGS-84 ellipsoid's figure for the few metres this is used for).
    pub fn distance_m(&self, lon: f64, lat: f64) -> f64 {
        let m_per_deg_lat = onecity_core::earth::MEAN_EARTH_RADIUS_M.to_radians();
        let m_per_deg_lon = m_per_deg_lat * lat.to_radians().cos();
        let project = |p: [f64; 2]| [(p[0] - lon) * m_per_deg_lon, (p[1] - lat) * m_per_deg_lat];
        self.edges
            .iter()
            .map(|(a, b)| {
                let (a, b) = (project(*a), project(*b));
                let d = [b[0] - a[0], b[1] - a[1]];
                let len2 = d[0] * d[0] + d[1] * d[1];
                let t = if len2 > 0.0 {
                    (-(a[0] * d[0] + a[1] * d[1]) / len2).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let (x, y) = (a[0] + t * d[0], a[1] + t * d[1]);
                (x * x + y * y).sqrt()
            })
            .fold(f64::INFINITY, f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATA: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/lodging/melbourne_airbnb_listings_clean.csv"
    );
    const BOUNDARY: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/geo/melbourne_municipal_boundary.geojson"
    );

    fn real() -> Vec<Listing> {
        parse_listings(&std::fs::read_to_string(DATA).expect("lodging data")).expect("parses")
    }

    fn boundary() -> Boundary {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(BOUNDARY).expect("boundary")).unwrap();
        Boundary::from_geojson(&v).unwrap()
    }

    #[test]
    fn placeholder_rule() {
        for p in [0.0, 9999.0, 88888.0, 99999.0, 25_000.0, 104_983.0] {
            assert!(is_placeholder_price(p), "{p}");
        }
        for p in [13.0, 149.0, 999.0, 1111.5, 5000.0, 9990.0, 20_000.0] {
            assert!(!is_placeholder_price(p), "{p}");
        }
    }

    #[test]
    fn real_file_quirks() {
        let all = real();
        assert_eq!(all.len(), 23_185);
        // Ids above 2^53 stay exact.
        let big: Vec<&Listing> = all
            .iter()
            .filter(|l| l.id.parse::<u64>().unwrap() > (1u64 << 53))
            .collect();
        assert_eq!(big.len(), 10_046);
        assert!(all.iter().any(|l| l.id == "503340821600471373"));
        // The first row, field by field.
        let first = &all[0];
        assert_eq!(first.id, "10803");
        assert_eq!(first.neighbourhood, "Moreland");
        assert_eq!((first.lat, first.lon), (-37.76606, 144.97951));
        assert_eq!(first.room_type, RoomType::PrivateRoom);
        assert_eq!(first.price_aud, 49.0);
        assert_eq!((first.minimum_nights, first.availability_365), (5, 201));
        assert_eq!(first.rating, Some(4.49));
        // Studios, half baths, shared baths, empty ratings.
        assert_eq!(all.iter().filter(|l| l.studio).count(), 703);
        assert!(all
            .iter()
            .filter(|l| l.studio)
            .all(|l| l.bedrooms == Some(0)));
        assert_eq!(all.iter().filter(|l| l.baths == Some(0.5)).count(), 51);
        let shared = all
            .iter()
            .filter(|l| l.bath_kind.as_deref() == Some("shared"))
            .count();
        assert_eq!(shared, 36);
        assert_eq!(all.iter().filter(|l| l.rating.is_none()).count(), 8_148);
        // The placeholder rule on the real prices.
        let mut flagged: Vec<f64> = all
            .iter()
            .filter(|l| l.price_placeholder)
            .map(|l| l.price_aud)
            .collect();
        flagged.sort_by(f64::total_cmp);
        assert_eq!(
            flagged,
            [0.0, 9999.0, 35_713.0, 85_000.0, 88_888.0, 99_999.0, 104_983.0]
        );
        assert_eq!(
            all.iter().filter(|l| l.availability_365 == 0).count(),
            6_557
        );
    }

    #[test]
    fn inside_the_city_of_melbourne_boundary() {
        let all = real();
        let b = boundary();
        let inside: Vec<&Listing> = all.iter().filter(|l| b.contains(l.lon, l.lat)).collect();
        assert_eq!(inside.len(), 7_279);
        let named = all
            .iter()
            .filter(|l| l.neighbourhood == "Melbourne")
            .count();
        assert_eq!(named, 7_280);
        // Where the point test and the `neighbourhood` column disagree (7 listings), the
        // point lies within about 2 m of the boundary: 0.34 m … 2.02 m (listing 40065891;
        // the issue rounds this to "within 2 m").
        let mut disagree: Vec<(String, f64)> = all
            .iter()
            .filter(|l| b.contains(l.lon, l.lat) != (l.neighbourhood == "Melbourne"))
            .map(|l| (l.id.clone(), b.distance_m(l.lon, l.lat)))
            .collect();
        assert_eq!(disagree.len(), 7);
        disagree.sort_by(|x, y| x.1.total_cmp(&y.1));
        assert_eq!(disagree[0].0, "22641331");
        assert!((disagree[0].1 - 0.343).abs() < 0.005, "{disagree:?}");
        assert_eq!(disagree[6].0, "40065891");
        assert!((disagree[6].1 - 2.02).abs() < 0.005, "{disagree:?}");
    }

    #[test]
    fn bad_rows_name_their_line() {
        let head = "id,host_id,host_name,neighbourhood,latitude,longitude,room_type,price,minimum_nights,number_of_reviews,last_review,reviews_per_month,calculated_host_listings_count,availability_365,number_of_reviews_ltm,name,rating,number_of_bedrooms,number_of_beds,number_of_baths\n";
        let ok = "1,2,h,Melbourne,-37.8,144.9,Private room,50,1,0,,,1,10,0,x,,Studio,1,Half-bath\n";
        let parsed = parse_listings(&format!("{head}{ok}")).unwrap();
        assert_eq!(parsed[0].bedrooms, Some(0));
        let bad_type = ok.replace("Private room", "Castle");
        let e = parse_listings(&format!("{head}{ok}{bad_type}")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("room_type"));
        let float_id = ok.replacen('1', "7.66154534532e+17", 1);
        assert!(parse_listings(&format!("{head}{float_id}")).is_err());
        assert!(parse_listings("a,b\n1,2\n")
            .unwrap_err()
            .message
            .contains("id"));
    }
}
