//! When a job is due: schedules and their ticks, pure functions of the time (no IO).
//!
//! A *tick* is one scheduled instant of a job. Every replica computes the same tick for
//! the same time, because interval schedules are aligned to the Unix epoch (`every 60 s`
//! is due at :00 of every minute, whatever time a node started) and daily schedules to
//! the wall clock of their time zone. The tick's key is its instant in RFC 3339 (UTC), so
//! that the replicas' claims on it meet on one row.

use chrono::{NaiveDate, NaiveTime, TimeZone};
use onecity_core::{Error, Result};
use serde::{Deserialize, Serialize};

const MICROS: i64 = 1_000_000;

/// When a job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    /// Every `secs` seconds, aligned to the Unix epoch (1..=31,622,400, a leap year).
    Every {
        /// Interval in seconds.
        secs: u64,
    },
    /// Once a day at the wall-clock time `at` (`HH:MM`, 24-hour) in the IANA time zone
    /// `tz` (e.g. `Asia/Shanghai`). On a daylight-saving gap the run is at the first valid
    /// instant after `at`; on an overlap at the earlier of the two.
    Daily {
        /// Time of day, `HH:MM`.
        at: String,
        /// IANA time zone name.
        tz: String,
    },
    /// Whenever an event of topic `topic` (e.g. `onecity.flow.case_created`, see
    /// `PlatformEvent::topic`) is delivered by the event bus; one run per event.
    OnEvent {
        /// Event topic.
        topic: String,
    },
    /// Only when run by hand (`POST /api/v1/jobs/{name}/run`).
    Manual,
}

impl Schedule {
    /// Checks the schedule's parameters. Errors: `invalid_input` naming the bad value.
    pub fn validate(&self) -> Result<()> {
        match self {
            Schedule::Every { secs } => {
                if !(1..=31_622_400).contains(secs) {
                    return Err(Error::invalid(format!(
                        "an interval must be 1 s to 366 days, not {secs} s"
                    )));
                }
            }
            Schedule::Daily { at, tz } => {
                parse_time(at)?;
                parse_tz(tz)?;
            }
            Schedule::OnEvent { topic } => {
                if topic.trim().is_empty() {
                    return Err(Error::invalid("an event trigger needs a topic"));
                }
            }
            Schedule::Manual => {}
        }
        Ok(())
    }

    /// True for the schedules that have ticks in time (`Every`, `Daily`).
    pub fn is_timed(&self) -> bool {
        matches!(self, Schedule::Every { .. } | Schedule::Daily { .. })
    }

    /// The latest tick at or before `now` (µs since the epoch), or `None` for untimed
    /// schedules and invalid parameters.
    pub fn last_tick(&self, now: i64) -> Option<i64> {
        match self {
            Schedule::Every { secs } => {
                let step = (*secs as i64).checked_mul(MICROS)?;
                Some(now.div_euclid(step) * step)
            }
            Schedule::Daily { at, tz } => {
                let (time, tz) = (parse_time(at).ok()?, parse_tz(tz).ok()?);
                let today = chrono::Utc
                    .timestamp_micros(now)
                    .single()?
                    .with_timezone(&tz)
                    .date_naive();
                let candidate = daily_instant(today, time, tz)?;
                if candidate <= now {
                    Some(candidate)
                } else {
                    daily_instant(today.pred_opt()?, time, tz)
                }
            }
            Schedule::OnEvent { .. } | Schedule::Manual => None,
        }
    }

    /// The first tick strictly after `now`, or `None` for untimed schedules.
    pub fn next_tick(&self, now: i64) -> Option<i64> {
        match self {
            Schedule::Every { secs } => Some(self.last_tick(now)? + *secs as i64 * MICROS),
            Schedule::Daily { at, tz } => {
                let (time, tz) = (parse_time(at).ok()?, parse_tz(tz).ok()?);
                let today = chrono::Utc
                    .timestamp_micros(now)
                    .single()?
                    .with_timezone(&tz)
                    .date_naive();
                let candidate = daily_instant(today, time, tz)?;
                if candidate > now {
                    Some(candidate)
                } else {
                    daily_instant(today.succ_opt()?, time, tz)
                }
            }
            Schedule::OnEvent { .. } | Schedule::Manual => None,
        }
    }

    /// A short human description: `every 60 s`, `daily 03:00 Asia/Shanghai`,
    /// `on event onecity.flow.case_created`, `manual`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Every { secs } => format!("every {secs} s"),
            Schedule::Daily { at, tz } => format!("daily {at} {tz}"),
            Schedule::OnEvent { topic } => format!("on event {topic}"),
            Schedule::Manual => "manual".into(),
        }
    }
}

/// The key of the tick at `instant` (µs): RFC 3339 UTC with microseconds.
pub fn tick_key(instant: i64) -> String {
    onecity_core::time::to_datetime(instant)
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

fn parse_time(at: &str) -> Result<NaiveTime> {
    NaiveTime::parse_from_str(at, "%H:%M")
        .map_err(|_| Error::invalid(format!("a daily time must be HH:MM, not {at:?}")))
}

fn parse_tz(tz: &str) -> Result<chrono_tz::Tz> {
    tz.parse::<chrono_tz::Tz>()
        .map_err(|_| Error::invalid(format!("{tz:?} is not an IANA time zone")))
}

/// The instant of wall-clock `time` on `date` in `tz`: the earlier one on an overlap,
/// the first valid minute after it on a gap.
fn daily_instant(date: NaiveDate, time: NaiveTime, tz: chrono_tz::Tz) -> Option<i64> {
    let mut local = date.and_time(time);
    for _ in 0..=180 {
        if let Some(dt) = tz.from_local_datetime(&local).earliest() {
            return Some(dt.timestamp_micros());
        }
        local += chrono::Duration::minutes(1);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> i64 {
        onecity_core::time::parse_rfc3339(s, "t").unwrap()
    }

    #[test]
    fn intervals_are_aligned_to_the_epoch() {
        let every = Schedule::Every { secs: 60 };
        let now = at("2026-12-08T00:10:42.5Z");
        assert_eq!(every.last_tick(now), Some(at("2026-12-08T00:10:00Z")));
        assert_eq!(every.next_tick(now), Some(at("2026-12-08T00:11:00Z")));
        let exact = at("2026-12-08T00:11:00Z");
        assert_eq!(
            every.last_tick(exact),
            Some(exact),
            "a tick is due at its instant"
        );
        assert_eq!(tick_key(exact), "2026-12-08T00:11:00.000000Z");
    }

    #[test]
    fn daily_ticks_follow_the_zone_wall_clock() {
        let daily = Schedule::Daily {
            at: "03:00".into(),
            tz: "Asia/Shanghai".into(),
        };
        // 03:00 in Shanghai (UTC+8) is 19:00 UTC of the day before.
        let now = at("2026-12-08T00:10:00Z"); // 08:10 in Shanghai
        assert_eq!(daily.last_tick(now), Some(at("2026-12-07T19:00:00Z")));
        assert_eq!(daily.next_tick(now), Some(at("2026-12-08T19:00:00Z")));
        let before = at("2026-12-07T18:59:59Z"); // 02:59:59 in Shanghai
        assert_eq!(daily.last_tick(before), Some(at("2026-12-06T19:00:00Z")));
    }

    #[test]
    fn daily_ticks_across_daylight_saving_changes() {
        // Europe/Berlin skips 02:00–03:00 on 2026-03-29 and repeats 02:00–03:00 on 2026-10-25.
        let daily = Schedule::Daily {
            at: "02:30".into(),
            tz: "Europe/Berlin".into(),
        };
        let gap_day = at("2026-03-29T12:00:00Z");
        assert_eq!(
            daily.last_tick(gap_day),
            Some(at("2026-03-29T01:00:00Z")),
            "03:00 CEST"
        );
        let overlap_day = at("2026-10-25T12:00:00Z");
        assert_eq!(
            daily.last_tick(overlap_day),
            Some(at("2026-10-25T00:30:00Z")),
            "the earlier 02:30 (CEST)"
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let e = Schedule::Every { secs: 0 }.validate().unwrap_err();
        assert!(e.detail.contains("0 s"), "{}", e.detail);
        let e = Schedule::Daily {
            at: "25:00".into(),
            tz: "UTC".into(),
        }
        .validate()
        .unwrap_err();
        assert!(e.detail.contains("25:00"), "{}", e.detail);
        let e = Schedule::Daily {
            at: "03:00".into(),
            tz: "Mars/Olympus".into(),
        }
        .validate()
        .unwrap_err();
        assert!(e.detail.contains("Mars/Olympus"), "{}", e.detail);
        assert!(Schedule::OnEvent { topic: " ".into() }.validate().is_err());
        assert_eq!(Schedule::Manual.last_tick(0), None);
    }
}
