//! Rest days for the forecasting features: which dates are public holidays or weekends
//! that are not make-up working days (调休上班).
//!
//! The facts are data, not code: the 2019 mainland calendar is the file
//! `crates/onecity-flow/calendars/cn_2019.json` (State Council General Office notice
//! 国办发明电〔2018〕15号), in the same JSON format as the workflow engine's 2025–2026
//! calendar, so `onecity_flow::calendar::WorkCalendar::from_json` loads the same bytes. This
//! module reads only what the forecaster needs (holiday days and make-up working days) so
//! that the brain does not depend on the workflow engine.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use serde_json::Value;

/// The 2019 mainland-China national calendar (including the 2019 New Year's Day days that
/// fall in December 2018), byte for byte `onecity-flow`'s `calendars/cn_2019.json`.
pub const CHINA_MAINLAND_2019_JSON: &str =
    include_str!("../../onecity-flow/calendars/cn_2019.json");

/// Errors reading a calendar file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The JSON does not parse or lacks the expected structure; the text says where.
    #[error("calendar: {0}")]
    Invalid(String),
}

/// Holidays and make-up working days of the years a calendar file lists; Saturday and
/// Sunday are rest days unless listed as make-up working days.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RestDays {
    holidays: BTreeSet<NaiveDate>,
    workdays: BTreeSet<NaiveDate>,
}

impl RestDays {
    /// The 2019 mainland calendar ([`CHINA_MAINLAND_2019_JSON`]).
    ///
    /// # Errors
    /// Only if the embedded file were malformed; this crate's tests load it.
    pub fn china_2019() -> Result<Self, CalendarError> {
        Self::from_json(CHINA_MAINLAND_2019_JSON)
    }

    /// Reads `years.<YYYY>.holidays[].days[]` and `years.<YYYY>.workdays[]` of a calendar
    /// in the workflow engine's format (see `onecity_flow::calendar::WorkCalendar::from_json`).
    ///
    /// # Errors
    /// [`CalendarError::Invalid`] naming the JSON path of the first problem: unparsable JSON,
    /// a missing `years` object, a day that is not a `YYYY-MM-DD` date.
    pub fn from_json(json: &str) -> Result<Self, CalendarError> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| CalendarError::Invalid(format!("not valid JSON: {e}")))?;
        let years = v
            .get("years")
            .and_then(Value::as_object)
            .ok_or_else(|| CalendarError::Invalid("years: missing or not an object".into()))?;
        let mut out = Self::default();
        let date = |path: String, d: &Value| -> Result<NaiveDate, CalendarError> {
            d.as_str()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
                .ok_or_else(|| CalendarError::Invalid(format!("{path}: not a YYYY-MM-DD date")))
        };
        for (year, body) in years {
            let periods = body.get("holidays").and_then(Value::as_array);
            for (i, period) in periods.into_iter().flatten().enumerate() {
                let days = period.get("days").and_then(Value::as_array);
                for (j, d) in days.into_iter().flatten().enumerate() {
                    let day = date(format!("years.{year}.holidays[{i}].days[{j}]"), d)?;
                    out.holidays.insert(day);
                }
            }
            let workdays = body.get("workdays").and_then(Value::as_array);
            for (j, d) in workdays.into_iter().flatten().enumerate() {
                out.workdays
                    .insert(date(format!("years.{year}.workdays[{j}]"), d)?);
            }
        }
        Ok(out)
    }

    /// `true` when `date` is a public holiday.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.holidays.contains(&date)
    }

    /// `true` when `date` is not a working day: a holiday, or a Saturday or Sunday that is
    /// not a make-up working day. Years the file does not list follow the weekly pattern.
    pub fn is_rest_day(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            return false;
        }
        self.holidays.contains(&date) || matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn the_2019_new_year_arrangement() {
        let cal = RestDays::china_2019().expect("embedded calendar");
        assert!(cal.is_rest_day(d("2018-12-30")));
        assert!(cal.is_rest_day(d("2018-12-31")));
        assert!(cal.is_rest_day(d("2019-01-01")));
        assert!(cal.is_holiday(d("2019-01-01")));
        assert!(
            !cal.is_rest_day(d("2018-12-29")),
            "make-up working Saturday"
        );
        assert!(!cal.is_rest_day(d("2019-01-02")));
        assert!(cal.is_rest_day(d("2019-01-05")), "plain Saturday");
        assert!(!cal.is_holiday(d("2019-01-05")));
        assert!(
            !cal.is_rest_day(d("2019-02-02")),
            "Spring Festival make-up Saturday"
        );
    }

    #[test]
    fn bad_calendar_names_the_path() {
        let err = RestDays::from_json(r#"{"years":{"2019":{"workdays":["2019-02-30"]}}}"#)
            .expect_err("invalid date");
        assert_eq!(
            err,
            CalendarError::Invalid("years.2019.workdays[0]: not a YYYY-MM-DD date".into())
        );
        assert!(RestDays::from_json("{}").is_err());
        assert!(RestDays::from_json("not json").is_err());
    }
}
