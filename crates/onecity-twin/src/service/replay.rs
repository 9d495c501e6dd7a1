//! Replay of real time series as device measurements (see [`crate::service::ingest`]): built-in
//! mappings from the CSV files in `../shared/data` to timed measurements, used by
//! `onecity replay` (which posts them to `/ngsi-ld/v1/ext/ingest` at a chosen speed).
//!
//! | mapping | file | entity type, id | attributes | time |
//! |---|---|---|---|---|
//! | `air` | `air/PRSA_Data_<station>_*.csv` | `AirQualityObserved`, `urn:ngsi-ld:AirQualityObserved:<station>` | `pm25 pm10 so2 no2 co o3` (µg/m³), `temperature` (°C) | hourly, Beijing time (UTC+8) |
//! | `metro` | `metro/hangzhou_flow.csv` | `MetroStationFlow`, `…:HZ-<row>` | `inflow` (passengers per 10 min) | 2019-01-`day` 06:00 + 10 min × `slot`, UTC+8 |
//! | `parking` | `parking/birmingham_occupancy.csv` | `OffStreetParking`, `…:BHM-<carpark>` | `occupiedSpotNumber` | 2016-10-04 + `day`−1, 08:00 + 30 min × `slot`, UK time |
//! | `tide` | `water/venice_punta_salute_tide.csv` | `WaterObserved`, `…:VenicePuntaSalute` | `waterLevel` (m), `temperature` (°C) | 5 min, Italian time |
//! | `river` | `water/pastas_nb5_river_level.csv` | `WaterObserved`, `…:PastasNB5` | `riverLevel` (m) | daily, 00:00 UTC |
//! | `pedestrians` | `pedestrians/akl_hourly_counts.csv` | `PedestrianCount`, `…:AKL-<n>` (column n) | `count`, `name` | hourly, NZ time |
//!
//! None of these files gives coordinates (the Auckland counters have them in
//! `akl_locations.csv`, not joined here), so every entity gets a **placed** position: a
//! fixed point on a grid inside central Hangzhou (a demo jurisdiction, 120.10–120.25 E,
//! 30.22–30.32 N), with `locationSource` = `"placed"` — never to be read as a surveyed
//! position. Missing values (`NA`, empty) are left out of a measurement.

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde_json::{json, Map, Value};

/// One timed measurement: time in µs since the epoch and the measurement body.
pub type Timed = (i64, Value);

/// Names of the built-in mappings.
pub const MAPPINGS: [&str; 6] = ["air", "metro", "parking", "tide", "river", "pedestrians"];

/// The placed position of series member `n` (deterministic, inside central Hangzhou).
pub fn placed(n: usize) -> [f64; 2] {
    let (col, row) = ((n * 7919) % 97, (n * 104_729) % 89);
    let lon = 120.10 + 0.15 * (col as f64 + 0.5) / 97.0;
    let lat = 30.22 + 0.10 * (row as f64 + 0.5) / 89.0;
    [(lon * 1e5).round() / 1e5, (lat * 1e5).round() / 1e5]
}

fn micros(local: NaiveDateTime, utc_offset_hours: i64) -> i64 {
    Utc.from_utc_datetime(&(local - Duration::hours(utc_offset_hours)))
        .timestamp_micros()
}

fn measurement(ty: &str, id: &str, n: usize, at: i64, values: Map<String, Value>) -> Value {
    json!({
        "type": ty, "id": id,
        "observedAt": crate::ld::model::format_micros(at),
        "values": values,
        "location": placed(n),
        "locationSource": "placed",
    })
}

fn num(s: &str) -> Option<Value> {
    let s = s.trim().trim_matches('"');
    let f: f64 = s.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    Some(if f.fract() == 0.0 && f.abs() < 1e15 {
        json!(f as i64)
    } else {
        json!(f)
    })
}

/// Maps a CSV text with a built-in mapping; measurements sorted by time (stable), at
/// most `limit` of them. Errors: the mapping name or a malformed row (with its line).
pub fn map_csv(mapping: &str, text: &str, limit: usize) -> Result<Vec<Timed>, String> {
    let mut out: Vec<Timed> = Vec::new();
    let mut lines = text.lines();
    let header = lines.next().ok_or("the file is empty")?;
    let bad = |i: usize, what: &str| format!("line {}: {what}", i + 2);
    match mapping {
        "air" => {
            let cols: Vec<String> = header
                .split(',')
                .map(|c| c.trim_matches('"').to_string())
                .collect();
            let want = [
                ("PM2.5", "pm25"),
                ("PM10", "pm10"),
                ("SO2", "so2"),
                ("NO2", "no2"),
                ("CO", "co"),
                ("O3", "o3"),
                ("TEMP", "temperature"),
            ];
            let idx = |name: &str| cols.iter().position(|c| c == name);
            let st = idx("station").ok_or("no station column: not a PRSA file")?;
            for (i, l) in lines.enumerate() {
                let f: Vec<&str> = l.split(',').collect();
                if f.len() != cols.len() {
                    return Err(bad(i, "wrong number of fields"));
                }
                let p = |k: usize| f[k].parse::<u32>().map_err(|_| bad(i, "bad date field"));
                let hour = p(4)?;
                let d = NaiveDate::from_ymd_opt(p(1)? as i32, p(2)?, p(3)?)
                    .and_then(|d| d.and_hms_opt(hour, 0, 0))
                    .ok_or_else(|| bad(i, "bad date"))?;
                let mut v = Map::new();
                for (c, name) in want {
                    if let Some(x) = idx(c).and_then(|k| num(f[k])) {
                        v.insert(name.into(), x);
                    }
                }
                if v.is_empty() {
                    continue;
                }
                let station = f[st].trim_matches('"');
                out.push((
                    micros(d, 8),
                    measurement("AirQualityObserved", station, 0, micros(d, 8), v),
                ));
            }
        }
        "metro" | "parking" => {
            let (ty, prefix, base, step, off) = if mapping == "metro" {
                (
                    "MetroStationFlow",
                    "HZ",
                    NaiveDate::from_ymd_opt(2019, 1, 1)
                        .unwrap()
                        .and_hms_opt(6, 0, 0)
                        .unwrap(),
                    10,
                    100,
                )
            } else {
                (
                    "OffStreetParking",
                    "BHM",
                    NaiveDate::from_ymd_opt(2016, 10, 4)
                        .unwrap()
                        .and_hms_opt(8, 0, 0)
                        .unwrap(),
                    30,
                    200,
                )
            };
            let attr = if mapping == "metro" {
                "inflow"
            } else {
                "occupiedSpotNumber"
            };
            for (i, l) in lines.enumerate() {
                let f: Vec<i64> = l
                    .split(',')
                    .map(|x| x.trim().parse::<i64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad(i, "expected four integers"))?;
                if f.len() != 4 {
                    return Err(bad(i, "expected four integers"));
                }
                let local = base + Duration::days(f[1] - 1) + Duration::minutes(step * f[2]);
                // UK: BST (UTC+1) until 2016-10-30, then GMT.
                let tz = if mapping == "metro" {
                    8
                } else if local
                    < NaiveDate::from_ymd_opt(2016, 10, 30)
                        .unwrap()
                        .and_hms_opt(1, 0, 0)
                        .unwrap()
                {
                    1
                } else {
                    0
                };
                let at = micros(local, tz);
                let mut v = Map::new();
                v.insert(attr.into(), json!(f[3]));
                out.push((
                    at,
                    measurement(
                        ty,
                        &format!("{prefix}-{}", f[0]),
                        off + f[0] as usize,
                        at,
                        v,
                    ),
                ));
            }
        }
        "tide" => {
            for (i, l) in lines.enumerate() {
                let f: Vec<&str> = l.split(';').collect();
                if f.len() < 2 {
                    return Err(bad(i, "expected date;level;temperature"));
                }
                let d = NaiveDateTime::parse_from_str(f[0].trim(), "%Y-%m-%d %H:%M:%S")
                    .map_err(|_| bad(i, "bad date"))?;
                // Italian time: CEST (UTC+2) from the last Sunday of March to the last of October.
                let summer = (4..=9).contains(&chrono::Datelike::month(&d))
                    || (chrono::Datelike::month(&d) == 10 && chrono::Datelike::day(&d) < 25)
                    || (chrono::Datelike::month(&d) == 3 && chrono::Datelike::day(&d) > 25);
                let at = micros(d, if summer { 2 } else { 1 });
                let mut v = Map::new();
                if let Some(x) = num(f[1]) {
                    v.insert("waterLevel".into(), x);
                }
                if let Some(x) = f.get(2).and_then(|s| num(s)) {
                    v.insert("temperature".into(), x);
                }
                if !v.is_empty() {
                    out.push((
                        at,
                        measurement("WaterObserved", "VenicePuntaSalute", 300, at, v),
                    ));
                }
            }
        }
        "river" => {
            for (i, l) in lines.enumerate() {
                let (d, x) = l
                    .split_once(',')
                    .ok_or_else(|| bad(i, "expected Date,River"))?;
                let d = NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d")
                    .map_err(|_| bad(i, "bad date"))?
                    .and_hms_opt(0, 0, 0)
                    .unwrap();
                let at = micros(d, 0);
                if let Some(x) = num(x) {
                    let mut v = Map::new();
                    v.insert("riverLevel".into(), x);
                    out.push((at, measurement("WaterObserved", "PastasNB5", 301, at, v)));
                }
            }
        }
        "pedestrians" => {
            let cols: Vec<&str> = header.split(',').collect();
            if cols.len() < 4 || cols[0] != "date" {
                return Err("not an akl_hourly_counts file".into());
            }
            for (i, l) in lines.enumerate() {
                let f: Vec<&str> = l.split(',').collect();
                let d =
                    NaiveDate::parse_from_str(f[0], "%Y-%m-%d").map_err(|_| bad(i, "bad date"))?;
                let h: u32 = f[1]
                    .split(':')
                    .next()
                    .and_then(|x| x.parse().ok())
                    .ok_or_else(|| bad(i, "bad hour"))?;
                let local = d.and_hms_opt(h, 0, 0).ok_or_else(|| bad(i, "bad hour"))?;
                // New Zealand: NZDT (UTC+13) from late September to early April, else NZST.
                let m = chrono::Datelike::month(&d);
                let at = micros(local, if (4..=9).contains(&m) { 12 } else { 13 });
                for (k, c) in cols.iter().enumerate().skip(3) {
                    if let Some(x) = f.get(k).and_then(|s| num(s)) {
                        let mut v = Map::new();
                        v.insert("count".into(), x);
                        v.insert("name".into(), json!(c));
                        out.push((
                            at,
                            measurement(
                                "PedestrianCount",
                                &format!("AKL-{}", k - 3),
                                400 + k,
                                at,
                                v,
                            ),
                        ));
                    }
                }
                if out.len() >= limit {
                    break;
                }
            }
        }
        m => {
            return Err(format!(
                "unknown mapping {m:?}: one of {}",
                MAPPINGS.join(", ")
            ))
        }
    }
    out.sort_by_key(|x| x.0);
    out.truncate(limit);
    Ok(out)
}

/// The first window of each real series loaded by the demo: (file under the data folder,
/// mapping, measurements): 48 h of two air stations, 3 h of the 80 metro stations, 9 h of
/// the 30 car parks, one day of tide, one year of river levels, two days of pedestrians.
pub const DEMO_WINDOWS: [(&str, &str, usize); 7] = [
    ("air/PRSA_Data_Dongsi_20130301-20170228.csv", "air", 48),
    ("air/PRSA_Data_Tiantan_20130301-20170228.csv", "air", 48),
    ("metro/hangzhou_flow.csv", "metro", 80 * 18),
    ("parking/birmingham_occupancy.csv", "parking", 30 * 18),
    ("water/venice_punta_salute_tide.csv", "tide", 288),
    ("water/pastas_nb5_river_level.csv", "river", 365),
    ("pedestrians/akl_hourly_counts.csv", "pedestrians", 21 * 48),
];

/// Loads [`DEMO_WINDOWS`] from `dir` into an NGSI-LD tenant as live entities with their
/// history (each measurement in time order). Returns the number of measurements applied;
/// a missing file is skipped with a warning.
pub async fn load_demo_windows(
    twin: &crate::service::Twin,
    tenant: &str,
    dir: &std::path::Path,
) -> Result<usize, String> {
    let mut n = 0;
    for (file, mapping, limit) in DEMO_WINDOWS {
        let path = dir.join(file);
        let Ok(text) = std::fs::read_to_string(&path) else {
            tracing::warn!(file = %path.display(), "demo series missing; skipped");
            continue;
        };
        let items: Vec<Value> = map_csv(mapping, &text, limit)?
            .into_iter()
            .map(|x| x.1)
            .collect();
        let (applied, errors) = crate::service::ingest::ingest(twin, tenant, &items).await;
        if let Some((i, id, d)) = errors.first() {
            return Err(format!("{file}: measurement {i} ({id}): {d}"));
        }
        n += applied;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placed_points_are_inside_central_hangzhou() {
        for n in 0..500 {
            let [lon, lat] = placed(n);
            assert!((120.10..=120.25).contains(&lon) && (30.22..=30.32).contains(&lat));
        }
    }

    #[test]
    fn metro_slot_times_and_tide_rows() {
        let m = map_csv(
            "metro",
            "station,day,slot,count\n0,1,0,17\n3,2,12,250\n",
            10,
        )
        .unwrap();
        assert_eq!(m[0].1["observedAt"], "2018-12-31T22:00:00.000Z");
        assert_eq!(m[1].1["values"]["inflow"], 250);
        assert_eq!(m[1].1["observedAt"], "2019-01-02T00:00:00.000Z");
        assert_eq!(m[1].1["locationSource"], "placed");
        let t = map_csv("tide", "Data;L;T\n2022-08-10 00:05:00;0.30;27.8\n", 10).unwrap();
        assert_eq!(t[0].1["observedAt"], "2022-08-09T22:05:00.000Z");
        assert_eq!(t[0].1["values"]["waterLevel"], 0.3);
        assert!(map_csv("nope", "a\n", 1).is_err());
        assert!(map_csv("metro", "h\n1,2\n", 1)
            .unwrap_err()
            .contains("line 2"));
    }
}
