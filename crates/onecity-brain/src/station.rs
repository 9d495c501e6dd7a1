//! The Hangzhou metro stations as the twin knows them, and the clock of the flow data.
//! Pure: ids, graph neighbours and the mapping between data time indices and instants.
//!
//! - **Ids.** Tensor row `r` is the twin entity `urn:ngsi-ld:MetroStationFlow:HZ-<r>`, the
//!   id `onecity replay metro` already writes (`onecity_twin::replay`, mapping `metro`);
//!   the short form `HZ-<r>` is the station id of the brain's API.
//! - **Clock.** Time index `t = day · 108 + slot` is the slot starting at
//!   `2019-01-01 06:00 +08:00 + day days + 10 min · slot` (Asia/Shanghai has no daylight
//!   saving time), the same clock as the replay. The data has no slots between 24:00 and
//!   06:00, so index `t + 1` after the last slot of a day (23:50) is 06:00 the next day.
//! - **What the data gives.** Only the adjacency (`hangzhou_graph.csv`): no names, lines
//!   or positions. Names stay the ids; lines are not guessed.

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};

use crate::metro::MetroData;
use crate::model::SLOT_MINUTES;

/// The NGSI-LD entity type of a station's passenger flow (short name, core context).
pub const STATION_TYPE: &str = "MetroStationFlow";

/// The full entity id of tensor row `row`.
pub fn entity_id(row: usize) -> String {
    format!("urn:ngsi-ld:{STATION_TYPE}:{}", short_id(row))
}

/// The short station id of tensor row `row`: `HZ-<row>`.
pub fn short_id(row: usize) -> String {
    format!("HZ-{row}")
}

/// Why a station id was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StationIdError {
    /// Neither `HZ-<row>` nor `urn:ngsi-ld:MetroStationFlow:HZ-<row>` with a decimal row.
    #[error("station id {0:?} is not of the form HZ-<row> (e.g. HZ-12)")]
    Malformed(String),
    /// Well formed, but no such tensor row.
    #[error("no station {id:?}: rows are 0..{stations}")]
    Unknown {
        /// The id given.
        id: String,
        /// Number of stations.
        stations: usize,
    },
}

/// Parses a station id (`HZ-12` or `urn:ngsi-ld:MetroStationFlow:HZ-12`) into its tensor
/// row, checking it against `stations` rows.
///
/// # Errors
/// [`StationIdError::Malformed`] for another shape (also leading zeros, signs, spaces);
/// [`StationIdError::Unknown`] for a row `>= stations`.
pub fn parse_station_id(id: &str, stations: usize) -> Result<usize, StationIdError> {
    let short = id
        .strip_prefix("urn:ngsi-ld:MetroStationFlow:")
        .unwrap_or(id);
    let digits = short
        .strip_prefix("HZ-")
        .filter(|d| {
            !d.is_empty()
                && d.len() <= 6
                && d.bytes().all(|b| b.is_ascii_digit())
                && (d.len() == 1 || !d.starts_with('0'))
        })
        .ok_or_else(|| StationIdError::Malformed(id.to_string()))?;
    let row: usize = digits
        .parse()
        .map_err(|_| StationIdError::Malformed(id.to_string()))?;
    if row >= stations {
        return Err(StationIdError::Unknown {
            id: id.to_string(),
            stations,
        });
    }
    Ok(row)
}

/// One station of the network, as the importer writes it to the twin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Station {
    /// Tensor row (0..80).
    pub row: usize,
    /// Id in `hangzhou_graph.csv` (0..81; id 54 has no row, see `metro.rs`).
    pub graph_id: usize,
    /// Adjacent tensor rows on the network (id 54 contracted: rows 53 and 54 adjacent).
    pub neighbours: Vec<usize>,
}

/// The stations of a metro data set, in row order.
pub fn stations(data: &MetroData) -> Vec<Station> {
    data.graph
        .graph_id_of_row
        .iter()
        .enumerate()
        .map(|(row, &graph_id)| Station {
            row,
            graph_id,
            neighbours: data.graph.neighbours.rows[row].clone(),
        })
        .collect()
}

/// The clock of a flow matrix: first day at 06:00 local time, UTC+8, slots per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotClock {
    /// 06:00 local time of day 0, as a UTC instant.
    pub start: DateTime<Utc>,
    /// Slots per day (108).
    pub slots_per_day: usize,
}

impl SlotClock {
    /// The clock of a metro data set (06:00 Asia/Shanghai on its first day).
    pub fn of(data: &MetroData) -> Self {
        let local = data
            .flow
            .first_day()
            .and_time(NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default());
        Self {
            start: Utc.from_utc_datetime(&(local - Duration::hours(8))),
            slots_per_day: data.flow.shape().slots_per_day,
        }
    }

    /// The instant slot `t` starts.
    pub fn time_of(&self, t: usize) -> DateTime<Utc> {
        let (day, slot) = (t / self.slots_per_day, t % self.slots_per_day);
        self.start
            + Duration::days(day as i64)
            + Duration::minutes(i64::from(SLOT_MINUTES) * slot as i64)
    }

    /// The time index of the slot starting exactly at `at`, if `at` is on the grid.
    pub fn index_of(&self, at: DateTime<Utc>) -> Option<usize> {
        let since = at.signed_duration_since(self.start);
        if since < Duration::zero() {
            return None;
        }
        let day = since.num_days();
        let within = since - Duration::days(day);
        let step = Duration::minutes(i64::from(SLOT_MINUTES));
        if within.num_microseconds()? % step.num_microseconds()? != 0 {
            return None;
        }
        let slot = (within.num_minutes() / i64::from(SLOT_MINUTES)) as usize;
        (slot < self.slots_per_day).then_some(day as usize * self.slots_per_day + slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_and_refuse() {
        assert_eq!(parse_station_id("HZ-0", 80), Ok(0));
        assert_eq!(parse_station_id("HZ-79", 80), Ok(79));
        assert_eq!(
            parse_station_id("urn:ngsi-ld:MetroStationFlow:HZ-12", 80),
            Ok(12)
        );
        for bad in [
            "",
            "HZ-",
            "HZ-01",
            "HZ--1",
            "HZ-1a",
            "hz-1",
            "12",
            "HZ- 1",
            "HZ-9999999",
        ] {
            assert_eq!(
                parse_station_id(bad, 80),
                Err(StationIdError::Malformed(bad.into())),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_station_id("HZ-80", 80),
            Err(StationIdError::Unknown { .. })
        ));
        assert_eq!(entity_id(7), "urn:ngsi-ld:MetroStationFlow:HZ-7");
    }

    #[test]
    fn the_clock_matches_the_replay() {
        let clock = SlotClock {
            start: Utc.with_ymd_and_hms(2018, 12, 31, 22, 0, 0).unwrap(),
            slots_per_day: 108,
        };
        // Replay: day 2 slot 12 (index 120) is 2019-01-02 08:00 +08:00.
        let t = clock.time_of(120);
        assert_eq!(t, Utc.with_ymd_and_hms(2019, 1, 2, 0, 0, 0).unwrap());
        assert_eq!(clock.index_of(t), Some(120));
        // 23:50 is the last slot; 00:00 and 05:50 are off the grid, as is 08:05.
        assert_eq!(
            clock.time_of(107),
            Utc.with_ymd_and_hms(2019, 1, 1, 15, 50, 0).unwrap()
        );
        assert_eq!(
            clock.index_of(Utc.with_ymd_and_hms(2019, 1, 1, 16, 0, 0).unwrap()),
            None
        );
        assert_eq!(
            clock.index_of(Utc.with_ymd_and_hms(2019, 1, 1, 0, 5, 0).unwrap()),
            None
        );
        assert_eq!(
            clock.index_of(Utc.with_ymd_and_hms(2018, 12, 31, 21, 50, 0).unwrap()),
            None
        );
        assert_eq!(clock.index_of(clock.time_of(108)), Some(108));
    }
}
