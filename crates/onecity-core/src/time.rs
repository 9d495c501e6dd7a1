//! Time: stored as microseconds since the Unix epoch (UTC) in a 64-bit integer column on
//! both backends; shown as RFC 3339 UTC strings (`2026-11-29T20:53:10.123456Z`).

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Microseconds since 1970-01-01T00:00:00Z now.
pub fn now_micros() -> i64 {
    Utc::now().timestamp_micros()
}

/// RFC 3339 UTC text for a microsecond epoch value (`Z` suffix, microsecond precision).
pub fn rfc3339(micros: i64) -> String {
    to_datetime(micros).to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The chrono value for a microsecond epoch value (saturating at chrono's range).
pub fn to_datetime(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Parses RFC 3339 text (any offset) into microseconds since the epoch.
///
/// Errors: `invalid_input` naming `what` when the text is not RFC 3339.
pub fn parse_rfc3339(s: &str, what: &str) -> crate::Result<i64> {
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc).timestamp_micros())
        .map_err(|e| {
            crate::Error::new(
                crate::ErrorCode::InvalidInput,
                format!("{what} must be an RFC 3339 date-time: {e}"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn round_trip() {
        let t = parse_rfc3339("2026-01-02T03:04:05.000006+08:00", "t").unwrap();
        assert_eq!(rfc3339(t), "2026-01-01T19:04:05.000006Z");
        assert!(parse_rfc3339("yesterday", "t").is_err());
    }
}
