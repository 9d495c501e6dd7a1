//! Deadlines from spans on a working-day calendar.

use crate::calendar::{CalendarError, WorkCalendar};
use crate::definition::Span;
use chrono::{DateTime, Duration, Utc};
use onecity_core::{Error, Result};

fn cal_err(e: CalendarError) -> Error {
    Error::invalid(format!("deadline cannot be computed: {e}"))
}

/// The instant `span` after `start`: working days and hours count on `cal`; plain hours
/// on the wall clock. Errors: `invalid_input` when the calendar cannot reach it.
pub fn deadline(cal: &WorkCalendar, start: DateTime<Utc>, span: Span) -> Result<DateTime<Utc>> {
    match span {
        Span::WorkingDays(n) => cal.add_working_days(start, n).map_err(cal_err),
        Span::WorkingHours(h) => cal
            .add_working_minutes(start, (h * 60.0).round() as i64)
            .map_err(cal_err),
        Span::Hours(h) => Ok(start + Duration::seconds((h * 3600.0).round() as i64)),
    }
}

/// When to warn: `warn` before the deadline `due` that was computed from `start`.
/// Working spans are subtracted in working time (for "3 working days, warn 1 working day
/// before" the warning falls at the end of the 2nd working day); never before `start`.
pub fn warn_time(
    cal: &WorkCalendar,
    start: DateTime<Utc>,
    due: DateTime<Utc>,
    warn: Span,
) -> Result<DateTime<Utc>> {
    let t = match warn {
        Span::Hours(h) => due - Duration::seconds((h * 3600.0).round() as i64),
        Span::WorkingHours(_) | Span::WorkingDays(_) => {
            let total = cal.working_minutes_between(start, due).map_err(cal_err)?;
            let back = match warn {
                Span::WorkingHours(h) => (h * 60.0).round() as i64,
                Span::WorkingDays(d) => d as i64 * cal.working_time_per_day().num_minutes(),
                Span::Hours(_) => 0,
            };
            cal.add_working_minutes(start, (total - back).max(0))
                .map_err(cal_err)?
        }
    };
    Ok(t.max(start))
}
