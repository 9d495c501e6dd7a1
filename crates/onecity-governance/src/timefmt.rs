//! Time in and out: UTC microseconds inside, W3C/RFC 3339 with the jurisdiction's offset
//! outside, and local wall-clock times of imported files resolved through the IANA zone
//! (summer-time gaps and repeats handled, see [`local_to_utc`]).

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Formats `micros` (UTC µs) as RFC 3339 in `tz` with its offset at that instant, whole
/// seconds, e.g. `2012-05-22T17:08:56-04:00` (the GeoReport v2 shape).
pub fn in_zone(micros: i64, tz: Tz) -> String {
    let t = onecity_core::time::to_datetime(micros).with_timezone(&tz);
    t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// Parses a GeoReport v2 / W3C date-time: RFC 3339 with an offset or `Z` and optional
/// fractional seconds (`2011-03-01T16:45:01.017Z`), or a bare date `YYYY-MM-DD` (midnight
/// UTC). Returns UTC µs; `None` when it is not one of these.
pub fn parse_w3c(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    // Offsets without a colon (`-0400`), as some clients send them.
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Some(t.with_timezone(&Utc).timestamp_micros());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros());
    }
    None
}

/// How a local wall-clock time was resolved to UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalFix {
    /// One instant matched.
    Exact,
    /// The time occurs twice (the hour repeated when summer time ends): the first
    /// (summer-time) instant was taken.
    Ambiguous,
    /// The time does not exist (the hour skipped when summer time starts): read as the
    /// same wall time in the offset before the change (i.e. one hour later on the clock).
    Gap,
}

/// Resolves a wall-clock time in `tz` to UTC µs.
pub fn local_to_utc(t: NaiveDateTime, tz: Tz) -> (i64, LocalFix) {
    match tz.from_local_datetime(&t) {
        LocalResult::Single(x) => (x.with_timezone(&Utc).timestamp_micros(), LocalFix::Exact),
        LocalResult::Ambiguous(a, _) => (
            a.with_timezone(&Utc).timestamp_micros(),
            LocalFix::Ambiguous,
        ),
        LocalResult::None => {
            // The offset in force just before the gap applies.
            let before = t - chrono::TimeDelta::hours(3);
            let off = match tz.from_local_datetime(&before) {
                LocalResult::Single(x) | LocalResult::Ambiguous(x, _) => {
                    x.offset().fix().local_minus_utc()
                }
                LocalResult::None => 0,
            };
            let utc = t - chrono::TimeDelta::seconds(off as i64);
            (utc.and_utc().timestamp_micros(), LocalFix::Gap)
        }
    }
}

use chrono::Offset;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractional_seconds_and_offsets_parse() {
        let a = parse_w3c("2011-03-01T16:45:01.017Z").unwrap();
        let b = parse_w3c("2011-03-01T11:45:01.017-05:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a % 1_000_000, 17_000);
        assert!(parse_w3c("2011-13-01").is_none());
        assert!(parse_w3c("yesterday").is_none());
        assert_eq!(
            parse_w3c("2011-03-01").unwrap(),
            parse_w3c("2011-03-01T00:00:00Z").unwrap()
        );
    }

    /// Synthetic (the real NYC rows have no summer-time change): New York moved to EDT on
    /// 2011-03-13 at 02:00 and back to EST on 2011-11-06 at 02:00.
    #[test]
    fn summer_time_changes_in_new_york() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let p = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let (before, f) = local_to_utc(p("2011-03-13 01:30:00"), tz);
        assert_eq!(f, LocalFix::Exact);
        assert_eq!(in_zone(before, tz), "2011-03-13T01:30:00-05:00");
        let (after, _) = local_to_utc(p("2011-03-13 03:30:00"), tz);
        assert_eq!(in_zone(after, tz), "2011-03-13T03:30:00-04:00");
        // One real hour apart although the clocks show two.
        assert_eq!(after - before, 3_600_000_000);
        let (gap, f) = local_to_utc(p("2011-03-13 02:30:00"), tz);
        assert_eq!(f, LocalFix::Gap);
        assert_eq!(in_zone(gap, tz), "2011-03-13T03:30:00-04:00");
        let (amb, f) = local_to_utc(p("2011-11-06 01:30:00"), tz);
        assert_eq!(f, LocalFix::Ambiguous);
        assert_eq!(in_zone(amb, tz), "2011-11-06T01:30:00-04:00");
        assert_eq!(
            in_zone(amb + 3_600_000_000, tz),
            "2011-11-06T01:30:00-05:00"
        );
    }
}
