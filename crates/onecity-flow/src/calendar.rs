//! Working-day calendars: which days are working days in a jurisdiction, which hours of
//! them count, and deadline arithmetic in working days and working hours.
//!
//! A [`WorkCalendar`] combines
//! - a time zone (an IANA zone, [`chrono_tz::Tz`]; all local reasoning happens there, so
//!   zones with summer time are handled correctly),
//! - a weekly pattern (the rest weekdays, Saturday and Sunday by default),
//! - public holidays (days off) and make-up working days (调休上班: rest weekdays that are
//!   working days) for the years it covers,
//! - regional holidays merged in on top ([`WorkCalendar::with_regional`]),
//! - the working hours of a working day (09:00–12:00 and 13:30–17:30 local by default,
//!   i.e. 7 hours).
//!
//! The mainland-China calendar for 2025 and 2026 is compiled in
//! ([`WorkCalendar::china_mainland`]); its facts come from the State Council General
//! Office's notices on the 2025 holiday arrangements (国办发明电〔2024〕12号, published
//! 2024-11-12) and on the 2026 holiday arrangements (published 2025-11-04).
//!
//! # Rules
//! - A date is a working day if it is a make-up working day; otherwise it is not if it is a
//!   holiday (national or regional); otherwise the weekly pattern decides.
//! - **Years that are not covered** (see [`WorkCalendar::covers`]) fall back to the weekly
//!   pattern alone: no holiday is known there, so every non-rest weekday counts as a
//!   working day. Callers that must not guess check `covers(year)` first.
//! - Working intervals are half-open, `[start, end)`, in local wall-clock time. When the
//!   local time does not exist (spring-forward gap) it is read with the offset in force
//!   before the gap, i.e. moved forward by the length of the gap; when it exists twice
//!   (fall-back overlap) an interval *start* takes the earlier instant and an interval
//!   *end* the later one, so the interval covers every instant the wall clock shows a time
//!   inside it.
//! - All arithmetic takes and returns `DateTime<Utc>`; it steps day by day, never minute
//!   by minute, and refuses spans longer than [`MAX_SPAN_DAYS`] days or instants outside
//!   the years 2–9998 with [`CalendarError::OutOfRange`] instead of panicking or looping.
#![warn(missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use chrono::{
    DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;
use serde_json::{Map, Value};

/// The mainland-China national calendar for 2025 and 2026, byte for byte the shared data
/// file `calendar/cn_public_holidays_2025_2026.json` (sha256
/// `0f38029f365c01faeb9422eb4185663a88d8302b123df09a22511c932ccc1c9a`), with its provenance
/// fields (`jurisdiction`, `source`, `note`). Facts from the State Council General Office's
/// notices on the 2025 (国办发明电〔2024〕12号, 2024-11-12) and 2026 (2025-11-04) holiday
/// arrangements.
pub const CHINA_MAINLAND_2025_2026_JSON: &str = include_str!("../calendars/cn_2025_2026.json");

/// The mainland-China national calendar for 2019 (`calendars/cn_2019.json`): facts from the
/// State Council General Office's notice on the 2019 holiday arrangements (国办发明电〔2018〕15号,
/// 2018-12-06; Labour Day as amended by 国办发明电〔2019〕2号, 2019-03-22). The 2019 New
/// Year's Day period starts in 2018 (2018-12-30 and 12-31 off, Saturday 2018-12-29 a make-up
/// working day), so the file also lists year 2018 with only those days: load it for 2019 data
/// (the Hangzhou metro tensor of January 2019), not as a 2018 calendar. `onecity-brain` reads
/// the same file for its holiday features.
pub const CHINA_MAINLAND_2019_JSON: &str = include_str!("../calendars/cn_2019.json");

/// One calendar text holding the mainland-China years of [`CHINA_MAINLAND_2019_JSON`]
/// (2018's New Year's Day days and 2019) and of [`CHINA_MAINLAND_2025_2026_JSON`], for a
/// tenant whose data lies in 2019 and whose work lies now: the Hangzhou demo tenant (its
/// metro data is of January 2019). Provenance: both files' `source` fields, joined.
pub fn china_mainland_2019_and_2025_2026_json() -> String {
    let parse = |t: &str| serde_json::from_str::<Map<String, Value>>(t).unwrap_or_default();
    let (a, b) = (
        parse(CHINA_MAINLAND_2019_JSON),
        parse(CHINA_MAINLAND_2025_2026_JSON),
    );
    let mut years = Map::new();
    let mut source = Map::new();
    for f in [&a, &b] {
        if let Some(Value::Object(y)) = f.get("years") {
            years.extend(y.clone());
        }
        if let Some(Value::Object(src)) = f.get("source") {
            source.extend(src.clone());
        }
    }
    serde_json::json!({
        "jurisdiction": "CN (mainland China, national): 2019 and 2025-2026",
        "time_zone": "Asia/Shanghai",
        "source": source,
        "years": years,
    })
    .to_string()
}

/// The longest span, in calendar days (400 Gregorian years), that one query may walk.
/// Longer spans are refused with [`CalendarError::OutOfRange`].
pub const MAX_SPAN_DAYS: i64 = 146_097;

/// Top-level keys [`WorkCalendar::from_json`] accepts besides the ones it reads
/// (provenance fields, kept in the file and ignored by the parser).
pub const PROVENANCE_KEYS: &[&str] = &["jurisdiction", "source", "note"];

/// One problem found while loading or configuring a calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarProblem {
    /// Where in the input: a JSON path such as `years.2025.holidays[1].days[3]`, or the
    /// name of the setting (`working_hours[0]`, `rest_weekdays`).
    pub path: String,
    /// What is wrong, in one English sentence.
    pub message: String,
}

impl fmt::Display for CalendarProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Errors of this module. No function here panics on bad input; it returns one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The calendar definition (JSON, regional JSON, weekly pattern or working hours) is
    /// invalid. Holds **every** problem found, not just the first.
    #[error("invalid calendar: {}", join_problems(.0))]
    Invalid(Vec<CalendarProblem>),
    /// An amount to add is negative, not finite or too large.
    #[error("invalid amount: {0}")]
    InvalidAmount(String),
    /// The instant is outside the supported years (2–9998 UTC), or the query would walk
    /// more than [`MAX_SPAN_DAYS`] days.
    #[error("out of range: {0}")]
    OutOfRange(String),
}

impl CalendarError {
    /// The problems of an [`CalendarError::Invalid`] error; empty for the other variants.
    pub fn problems(&self) -> &[CalendarProblem] {
        match self {
            Self::Invalid(p) => p,
            _ => &[],
        }
    }
}

fn join_problems(p: &[CalendarProblem]) -> String {
    p.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl From<CalendarError> for onecity_core::Error {
    /// Maps to the catalogue's `invalid_input` (422); an `Invalid` error carries its list in
    /// the problem-details extension member `problems` (`[{"path", "message"}]`).
    fn from(e: CalendarError) -> Self {
        let problems: Vec<Value> = e
            .problems()
            .iter()
            .map(|p| serde_json::json!({"path": p.path, "message": p.message}))
            .collect();
        let err = onecity_core::Error::invalid(e.to_string());
        if problems.is_empty() {
            err
        } else {
            err.with_extra("problems", Value::Array(problems))
        }
    }
}

/// A named day off: one day of a holiday period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// English name, e.g. `"Spring Festival"`.
    pub name: String,
    /// Chinese name, e.g. `"春节"`, when the source gives one.
    pub name_zh: Option<String>,
    /// `None` for a national holiday; the region's name for a regional one.
    pub region: Option<String>,
}

/// One working interval of a working day, in local wall-clock time, half-open
/// `[start, end)`; `start < end`, both on the same local day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkingInterval {
    /// Local time the interval begins (inclusive).
    pub start: NaiveTime,
    /// Local time the interval ends (exclusive).
    pub end: NaiveTime,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

/// The default working hours: 09:00–12:00 and 13:30–17:30 local, 7 hours a day.
pub fn default_working_hours() -> Vec<WorkingInterval> {
    vec![
        WorkingInterval {
            start: hm(9, 0),
            end: hm(12, 0),
        },
        WorkingInterval {
            start: hm(13, 30),
            end: hm(17, 30),
        },
    ]
}

/// A working-day calendar of one jurisdiction. See the [module docs](self) for the rules.
///
/// Build one with [`WorkCalendar::china_mainland`], [`WorkCalendar::from_json`] or
/// [`WorkCalendar::new`], then refine it with [`WorkCalendar::with_regional`],
/// [`WorkCalendar::with_rest_weekdays`] and [`WorkCalendar::with_working_hours`].
#[derive(Debug, Clone, PartialEq)]
pub struct WorkCalendar {
    tz: Tz,
    jurisdiction: Option<String>,
    /// Indexed by `Weekday::num_days_from_monday()`.
    rest: [bool; 7],
    hours: Vec<WorkingInterval>,
    holidays: BTreeMap<NaiveDate, Holiday>,
    workdays: BTreeSet<NaiveDate>,
    years: BTreeSet<i32>,
    regions: Vec<String>,
}

#[derive(Default)]
struct Problems(Vec<CalendarProblem>);

impl Problems {
    fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(CalendarProblem {
            path: path.into(),
            message: message.into(),
        });
    }
    fn into_result<T>(self, ok: T) -> Result<T, CalendarError> {
        if self.0.is_empty() {
            Ok(ok)
        } else {
            Err(CalendarError::Invalid(self.0))
        }
    }
}

fn one_problem(path: &str, message: impl Into<String>) -> CalendarError {
    CalendarError::Invalid(vec![CalendarProblem {
        path: path.into(),
        message: message.into(),
    }])
}

fn weekday_name(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}

const ALL_WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

fn parse_weekday(s: &str) -> Option<Weekday> {
    let l = s.trim().to_ascii_lowercase();
    ALL_WEEKDAYS.into_iter().find(|w| {
        let full = weekday_name(*w).to_ascii_lowercase();
        l == full || l == full[..3]
    })
}

/// Strict `YYYY-MM-DD`.
fn parse_date(s: &str) -> Result<NaiveDate, String> {
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(format!("{s:?} is not a date in the form YYYY-MM-DD"));
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (y, m, d) = (num(0..4), num(5..7), num(8..10));
    i32::try_from(y)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, m, d))
        .ok_or_else(|| format!("{s:?} is not a real calendar date"))
}

/// Strict `HH:MM` or `HH:MM:SS`.
fn parse_time(s: &str) -> Option<NaiveTime> {
    let ok_shape = matches!(s.len(), 5 | 8);
    if !ok_shape {
        return None;
    }
    NaiveTime::parse_from_str(s, "%H:%M:%S")
        .or_else(|_| NaiveTime::parse_from_str(s, "%H:%M"))
        .ok()
}

fn check_hours(hours: &[WorkingInterval], path: &str, p: &mut Problems) {
    if hours.is_empty() {
        p.push(path, "at least one working interval is needed");
    }
    for (i, h) in hours.iter().enumerate() {
        if h.start >= h.end {
            p.push(
                format!("{path}[{i}]"),
                format!(
                    "interval {}–{} does not end after it starts (intervals lie within one day)",
                    h.start, h.end
                ),
            );
        }
        if i > 0 && hours[i - 1].end > h.start {
            p.push(
                format!("{path}[{i}]"),
                format!(
                    "interval {}–{} overlaps or precedes the previous interval {}–{} (list them in order, without overlap)",
                    h.start,
                    h.end,
                    hours[i - 1].start,
                    hours[i - 1].end
                ),
            );
        }
    }
}

fn check_rest(rest: &[bool; 7], path: &str, p: &mut Problems) {
    if rest.iter().all(|r| *r) {
        p.push(
            path,
            "every weekday is a rest day; at least one must be a working day",
        );
    }
}

fn rest_names(rest: &[bool; 7]) -> String {
    let names: Vec<&str> = ALL_WEEKDAYS
        .into_iter()
        .filter(|w| rest[w.num_days_from_monday() as usize])
        .map(|w| &weekday_name(w)[..3])
        .collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

fn check_keys(obj: &Map<String, Value>, allowed: &[&str], path: &str, p: &mut Problems) {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            p.push(
                at,
                format!("unknown key (expected one of: {})", allowed.join(", ")),
            );
        }
    }
}

/// Parses a list of holiday periods `[{"name", "name_zh"?, "days": [..]}]`; returns
/// `(path of the day, date, holiday)` for every well-formed day.
fn parse_holiday_periods(
    v: &Value,
    path: &str,
    region: Option<&str>,
    p: &mut Problems,
) -> Vec<(String, NaiveDate, Holiday)> {
    let mut out = Vec::new();
    let Some(list) = v.as_array() else {
        p.push(path, "must be an array of holiday periods");
        return out;
    };
    for (i, period) in list.iter().enumerate() {
        let ppath = format!("{path}[{i}]");
        let Some(obj) = period.as_object() else {
            p.push(ppath, "must be an object {\"name\", \"name_zh\", \"days\"}");
            continue;
        };
        check_keys(obj, &["name", "name_zh", "days"], &ppath, p);
        let name = match obj.get("name") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            Some(Value::String(_)) => {
                p.push(format!("{ppath}.name"), "must not be empty");
                String::new()
            }
            Some(_) => {
                p.push(format!("{ppath}.name"), "must be a string");
                String::new()
            }
            None => {
                p.push(format!("{ppath}.name"), "missing");
                String::new()
            }
        };
        let name_zh = match obj.get("name_zh") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                p.push(format!("{ppath}.name_zh"), "must be a string");
                None
            }
        };
        let holiday = Holiday {
            name,
            name_zh,
            region: region.map(str::to_owned),
        };
        match obj.get("days") {
            Some(Value::Array(days)) => {
                if days.is_empty() {
                    p.push(format!("{ppath}.days"), "must list at least one day");
                }
                for (j, d) in days.iter().enumerate() {
                    let dpath = format!("{ppath}.days[{j}]");
                    match d.as_str().map(parse_date) {
                        Some(Ok(date)) => out.push((dpath, date, holiday.clone())),
                        Some(Err(msg)) => p.push(dpath, msg),
                        None => p.push(dpath, "must be a date string YYYY-MM-DD"),
                    }
                }
            }
            Some(_) => p.push(format!("{ppath}.days"), "must be an array of dates"),
            None => p.push(format!("{ppath}.days"), "missing"),
        }
    }
    out
}

fn parse_hours_json(v: &Value, p: &mut Problems) -> Option<Vec<WorkingInterval>> {
    let Some(list) = v.as_array() else {
        p.push(
            "working_hours",
            "must be an array of [\"HH:MM\", \"HH:MM\"] pairs",
        );
        return None;
    };
    let mut hours = Vec::new();
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        let path = format!("working_hours[{i}]");
        let pair = item.as_array().filter(|a| a.len() == 2);
        let times = pair.map(|a| {
            (
                a[0].as_str().and_then(parse_time),
                a[1].as_str().and_then(parse_time),
            )
        });
        match times {
            Some((Some(start), Some(end))) => hours.push(WorkingInterval { start, end }),
            _ => {
                ok = false;
                p.push(
                    path,
                    "must be a pair of local times [\"HH:MM\", \"HH:MM\"] (HH:MM:SS also accepted)",
                );
            }
        }
    }
    if !ok {
        return None;
    }
    let before = p.0.len();
    check_hours(&hours, "working_hours", p);
    (p.0.len() == before).then_some(hours)
}

fn parse_rest_json(v: &Value, p: &mut Problems) -> Option<[bool; 7]> {
    let Some(list) = v.as_array() else {
        p.push(
            "rest_weekdays",
            "must be an array of weekday names such as [\"Sat\", \"Sun\"]",
        );
        return None;
    };
    let mut rest = [false; 7];
    let mut ok = true;
    for (i, item) in list.iter().enumerate() {
        match item.as_str().and_then(parse_weekday) {
            Some(w) => rest[w.num_days_from_monday() as usize] = true,
            None => {
                ok = false;
                p.push(
                    format!("rest_weekdays[{i}]"),
                    "must be a weekday name (Mon … Sun or Monday … Sunday)",
                );
            }
        }
    }
    let before = p.0.len();
    check_rest(&rest, "rest_weekdays", p);
    (ok && p.0.len() == before).then_some(rest)
}

impl WorkCalendar {
    /// A calendar in `tz` with only the weekly pattern: Saturday and Sunday off, the default
    /// working hours ([`default_working_hours`]), no holidays and no covered years (so every
    /// year uses the weekly-pattern fallback).
    pub fn new(tz: Tz) -> Self {
        let mut rest = [false; 7];
        rest[Weekday::Sat.num_days_from_monday() as usize] = true;
        rest[Weekday::Sun.num_days_from_monday() as usize] = true;
        Self {
            tz,
            jurisdiction: None,
            rest,
            hours: default_working_hours(),
            holidays: BTreeMap::new(),
            workdays: BTreeSet::new(),
            years: BTreeSet::new(),
            regions: Vec::new(),
        }
    }

    /// The compiled-in mainland-China national calendar for 2025 and 2026
    /// ([`CHINA_MAINLAND_2025_2026_JSON`], from the State Council General Office's holiday
    /// notices), zone `Asia/Shanghai`, Saturday and Sunday off, 09:00–12:00 and 13:30–17:30.
    /// Regional holidays are not included; add them with [`WorkCalendar::with_regional`].
    ///
    /// The embedded file is validated by this module's tests, so this does not fail; should
    /// it ever not parse, the result is the plain weekly-pattern calendar in `Asia/Shanghai`
    /// covering no year (visible through [`WorkCalendar::covers`]).
    pub fn china_mainland() -> Self {
        static CN: OnceLock<WorkCalendar> = OnceLock::new();
        CN.get_or_init(|| {
            Self::from_json(CHINA_MAINLAND_2025_2026_JSON)
                .unwrap_or_else(|_| Self::new(chrono_tz::Asia::Shanghai))
        })
        .clone()
    }

    /// Loads a calendar from JSON in the format of the shared file
    /// `calendar/cn_public_holidays_2025_2026.json`:
    ///
    /// ```json
    /// {
    ///   "time_zone": "Asia/Shanghai",
    ///   "years": {
    ///     "2025": {
    ///       "holidays": [{"name": "Spring Festival", "name_zh": "春节",
    ///                     "days": ["2025-01-28", "2025-01-29"]}],
    ///       "workdays": ["2025-01-26", "2025-02-08"]
    ///     }
    ///   }
    /// }
    /// ```
    ///
    /// - `time_zone` (required): an IANA zone name.
    /// - `years` (required): an object keyed by four-digit year; each year's `holidays`
    ///   (periods of days off, `name` required, `name_zh` optional) and `workdays` (make-up
    ///   working days) are optional and default to empty. Every listed year counts as
    ///   covered ([`WorkCalendar::covers`]), even with no holiday.
    /// - `rest_weekdays` (optional, default `["Sat", "Sun"]`): the weekly rest days.
    /// - `working_hours` (optional, default `[["09:00","12:00"],["13:30","17:30"]]`): local
    ///   working intervals, in order, not overlapping.
    /// - `jurisdiction`, `source`, `note` (optional): provenance, ignored except that
    ///   `jurisdiction` is kept ([`WorkCalendar::jurisdiction`]). Other keys are refused.
    ///
    /// # Errors
    /// [`CalendarError::Invalid`] listing every problem: JSON that does not parse, a missing
    /// or unknown time zone, a date that is not a real `YYYY-MM-DD` date, a date filed under
    /// another year, a day listed twice, a day that is both a holiday and a make-up workday,
    /// a make-up workday that is not a rest weekday, bad weekly pattern or working hours,
    /// unknown keys.
    pub fn from_json(json: &str) -> Result<Self, CalendarError> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| one_problem("$", format!("not valid JSON: {e}")))?;
        let Some(obj) = v.as_object() else {
            return Err(one_problem("$", "the calendar must be a JSON object"));
        };
        let mut p = Problems::default();
        let mut allowed = vec!["time_zone", "years", "rest_weekdays", "working_hours"];
        allowed.extend_from_slice(PROVENANCE_KEYS);
        check_keys(obj, &allowed, "", &mut p);

        let tz = match obj.get("time_zone") {
            Some(Value::String(s)) => match s.parse::<Tz>() {
                Ok(tz) => Some(tz),
                Err(_) => {
                    p.push("time_zone", format!("unknown time zone {s:?} (expected an IANA name such as \"Asia/Shanghai\")"));
                    None
                }
            },
            Some(_) => {
                p.push("time_zone", "must be a string");
                None
            }
            None => {
                p.push(
                    "time_zone",
                    "missing (an IANA name such as \"Asia/Shanghai\")",
                );
                None
            }
        };
        let mut cal = Self::new(tz.unwrap_or(Tz::UTC));
        cal.jurisdiction = obj
            .get("jurisdiction")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let rest_ok = match obj.get("rest_weekdays") {
            Some(v) => match parse_rest_json(v, &mut p) {
                Some(rest) => {
                    cal.rest = rest;
                    true
                }
                None => false,
            },
            None => true,
        };
        if let Some(v) = obj.get("working_hours") {
            if let Some(hours) = parse_hours_json(v, &mut p) {
                cal.hours = hours;
            }
        }

        let years = match obj.get("years") {
            Some(Value::Object(years)) => Some(years),
            Some(_) => {
                p.push("years", "must be an object keyed by year (\"2025\": {...})");
                None
            }
            None => {
                p.push("years", "missing");
                None
            }
        };
        // (path, date) of every holiday and workday seen, to report duplicates and clashes.
        let mut holiday_at: BTreeMap<NaiveDate, String> = BTreeMap::new();
        let mut workday_at: BTreeMap<NaiveDate, String> = BTreeMap::new();
        for (key, yv) in years.into_iter().flatten() {
            let ypath = format!("years.{key}");
            let year = match key.parse::<i32>() {
                Ok(y) if key.len() == 4 && key.bytes().all(|b| b.is_ascii_digit()) => Some(y),
                _ => {
                    p.push(ypath.clone(), "the key must be a four-digit year");
                    None
                }
            };
            if let Some(y) = year {
                cal.years.insert(y);
            }
            let Some(yobj) = yv.as_object() else {
                p.push(
                    ypath,
                    "must be an object {\"holidays\": [...], \"workdays\": [...]}",
                );
                continue;
            };
            check_keys(yobj, &["holidays", "workdays"], &ypath, &mut p);
            let in_year = |dpath: &str, date: NaiveDate, p: &mut Problems| {
                if let Some(y) = year {
                    if date.year() != y {
                        p.push(dpath, format!("{date} is not in year {y}"));
                        return false;
                    }
                }
                true
            };
            if let Some(hv) = yobj.get("holidays") {
                for (dpath, date, h) in
                    parse_holiday_periods(hv, &format!("{ypath}.holidays"), None, &mut p)
                {
                    if !in_year(&dpath, date, &mut p) {
                        continue;
                    }
                    if let Some(prev) = holiday_at.get(&date) {
                        p.push(dpath, format!("{date} is already listed at {prev}"));
                        continue;
                    }
                    holiday_at.insert(date, dpath);
                    cal.holidays.insert(date, h);
                }
            }
            match yobj.get("workdays") {
                None => {}
                Some(Value::Array(days)) => {
                    for (j, d) in days.iter().enumerate() {
                        let dpath = format!("{ypath}.workdays[{j}]");
                        let date = match d.as_str().map(parse_date) {
                            Some(Ok(date)) => date,
                            Some(Err(msg)) => {
                                p.push(dpath, msg);
                                continue;
                            }
                            None => {
                                p.push(dpath, "must be a date string YYYY-MM-DD");
                                continue;
                            }
                        };
                        if !in_year(&dpath, date, &mut p) {
                            continue;
                        }
                        if let Some(prev) = workday_at.get(&date) {
                            p.push(dpath, format!("{date} is already listed at {prev}"));
                            continue;
                        }
                        if rest_ok && !cal.is_rest_weekday(date.weekday()) {
                            p.push(
                                dpath.clone(),
                                format!(
                                    "{date} is a {}, already a working day; a make-up workday must fall on a rest weekday ({})",
                                    weekday_name(date.weekday()),
                                    rest_names(&cal.rest)
                                ),
                            );
                        }
                        workday_at.insert(date, dpath);
                        cal.workdays.insert(date);
                    }
                }
                Some(_) => p.push(format!("{ypath}.workdays"), "must be an array of dates"),
            }
        }
        for (date, wpath) in &workday_at {
            if let Some(hpath) = holiday_at.get(date) {
                p.push(
                    wpath.clone(),
                    format!("{date} is both a make-up workday and a holiday (at {hpath})"),
                );
            }
        }
        p.into_result(cal)
    }

    /// Merges regional holidays (days off in one region on top of the national calendar),
    /// given as JSON in this format:
    ///
    /// ```json
    /// {
    ///   "region": "Example Autonomous Region",
    ///   "holidays": [
    ///     {"name": "Example Festival", "name_zh": "示例节", "days": ["2025-04-01"]}
    ///   ]
    /// }
    /// ```
    ///
    /// `region` (non-empty string) and `holidays` (periods as in [`WorkCalendar::from_json`]:
    /// `name` required, `name_zh` optional, `days` non-empty) are required; no other key is
    /// accepted. A regional day that is already a national holiday stays one and keeps its
    /// national name. Several regions may be merged by chaining calls.
    ///
    /// # Errors
    /// [`CalendarError::Invalid`] listing every problem: unparsable JSON, a missing or empty
    /// region, a region merged already, a bad date, a day listed twice, a day in a year the
    /// calendar does not cover (load that year's national calendar first), a day that is a
    /// national make-up workday, unknown keys. Nothing is merged on error; the calendar
    /// passed in is consumed either way, so clone it first if it must survive a failure.
    pub fn with_regional(mut self, json: &str) -> Result<Self, CalendarError> {
        let v: Value = serde_json::from_str(json)
            .map_err(|e| one_problem("$", format!("not valid JSON: {e}")))?;
        let Some(obj) = v.as_object() else {
            return Err(one_problem(
                "$",
                "the regional calendar must be a JSON object",
            ));
        };
        let mut p = Problems::default();
        check_keys(obj, &["region", "holidays"], "", &mut p);
        let region = match obj.get("region") {
            Some(Value::String(s)) if !s.trim().is_empty() => {
                if self.regions.iter().any(|r| r == s) {
                    p.push("region", format!("region {s:?} is already merged"));
                }
                s.clone()
            }
            Some(Value::String(_)) => {
                p.push("region", "must not be empty");
                String::new()
            }
            Some(_) => {
                p.push("region", "must be a string");
                String::new()
            }
            None => {
                p.push("region", "missing");
                String::new()
            }
        };
        let days = match obj.get("holidays") {
            Some(hv) => parse_holiday_periods(hv, "holidays", Some(&region), &mut p),
            None => {
                p.push("holidays", "missing");
                Vec::new()
            }
        };
        let mut seen: BTreeMap<NaiveDate, String> = BTreeMap::new();
        let mut add = Vec::new();
        for (dpath, date, h) in days {
            if let Some(prev) = seen.get(&date) {
                p.push(dpath, format!("{date} is already listed at {prev}"));
                continue;
            }
            if !self.covers(date.year()) {
                p.push(
                    dpath.clone(),
                    format!(
                        "year {} is not covered by this calendar (covered: {}); load its national calendar first",
                        date.year(),
                        self.years_list()
                    ),
                );
            } else if self.workdays.contains(&date) {
                p.push(
                    dpath.clone(),
                    format!("{date} is a national make-up workday; a regional holiday cannot fall on it"),
                );
            }
            seen.insert(date, dpath);
            add.push((date, h));
        }
        p.into_result(())?;
        for (date, h) in add {
            self.holidays.entry(date).or_insert(h);
        }
        self.regions.push(region);
        Ok(self)
    }

    /// Replaces the weekly rest days (default Saturday and Sunday).
    ///
    /// # Errors
    /// [`CalendarError::Invalid`] if every weekday would be a rest day, or if a make-up
    /// workday already loaded would no longer fall on a rest day.
    pub fn with_rest_weekdays(mut self, rest: &[Weekday]) -> Result<Self, CalendarError> {
        let mut r = [false; 7];
        for w in rest {
            r[w.num_days_from_monday() as usize] = true;
        }
        let mut p = Problems::default();
        check_rest(&r, "rest_weekdays", &mut p);
        for d in &self.workdays {
            if !r[d.weekday().num_days_from_monday() as usize] {
                p.push(
                    "rest_weekdays",
                    format!(
                        "make-up workday {d} ({}) would not fall on a rest day",
                        weekday_name(d.weekday())
                    ),
                );
            }
        }
        p.into_result(())?;
        self.rest = r;
        Ok(self)
    }

    /// Replaces the working hours of every working day with `hours`: local
    /// `(start, end)` pairs, half-open, in order, not overlapping, each within one day.
    ///
    /// # Errors
    /// [`CalendarError::Invalid`] listing every empty, backwards or overlapping interval, or
    /// an empty list.
    pub fn with_working_hours(
        mut self,
        hours: &[(NaiveTime, NaiveTime)],
    ) -> Result<Self, CalendarError> {
        let hours: Vec<WorkingInterval> = hours
            .iter()
            .map(|&(start, end)| WorkingInterval { start, end })
            .collect();
        let mut p = Problems::default();
        check_hours(&hours, "working_hours", &mut p);
        p.into_result(())?;
        self.hours = hours;
        Ok(self)
    }

    /// The calendar's time zone; every local date and time is read in it.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The `jurisdiction` provenance field of the loaded JSON, if any.
    pub fn jurisdiction(&self) -> Option<&str> {
        self.jurisdiction.as_deref()
    }

    /// Whether holidays and make-up workdays are loaded for `year` (a key of the loaded
    /// JSON's `years`). Dates in other years use the weekly pattern alone.
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The covered years, ascending.
    pub fn covered_years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    fn years_list(&self) -> String {
        if self.years.is_empty() {
            return "none".into();
        }
        self.years
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The regions merged with [`WorkCalendar::with_regional`], in merge order.
    pub fn regions(&self) -> &[String] {
        &self.regions
    }

    /// The weekly rest days, Monday first.
    pub fn rest_weekdays(&self) -> Vec<Weekday> {
        ALL_WEEKDAYS
            .into_iter()
            .filter(|w| self.is_rest_weekday(*w))
            .collect()
    }

    fn is_rest_weekday(&self, w: Weekday) -> bool {
        self.rest[w.num_days_from_monday() as usize]
    }

    /// The working intervals of a working day, local time, in order.
    pub fn working_hours(&self) -> &[WorkingInterval] {
        &self.hours
    }

    /// The nominal working time of one working day (the sum of the intervals; a day with a
    /// summer-time change can have more or less, see [`WorkCalendar::working_intervals`]).
    pub fn working_time_per_day(&self) -> TimeDelta {
        self.hours
            .iter()
            .map(|h| h.end - h.start)
            .fold(TimeDelta::zero(), |a, b| a + b)
    }

    /// The holiday (day off) on `date`, national or regional, if any.
    pub fn holiday(&self, date: NaiveDate) -> Option<&Holiday> {
        self.holidays.get(&date)
    }

    /// Whether `date` is a make-up working day (调休上班: a rest weekday worked).
    pub fn is_makeup_workday(&self, date: NaiveDate) -> bool {
        self.workdays.contains(&date)
    }

    /// Whether the local calendar date `date` is a working day: a make-up workday is;
    /// otherwise a holiday is not; otherwise the weekly pattern decides. For years the
    /// calendar does not cover this is the weekly pattern alone (see
    /// [`WorkCalendar::covers`]).
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            return true;
        }
        if self.holidays.contains_key(&date) {
            return false;
        }
        !self.is_rest_weekday(date.weekday())
    }

    /// The first working day strictly after `date`; `None` if there is none within
    /// [`MAX_SPAN_DAYS`] days or before the end of chrono's date range.
    pub fn next_working_day(&self, date: NaiveDate) -> Option<NaiveDate> {
        let mut d = date;
        for _ in 0..MAX_SPAN_DAYS {
            d = d.succ_opt()?;
            if self.is_working_day(d) {
                return Some(d);
            }
        }
        None
    }

    fn local_to_utc(&self, ndt: NaiveDateTime, late: bool) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&ndt) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                Some(if late { hi } else { lo }.with_timezone(&Utc))
            }
            LocalResult::None => {
                // A spring-forward gap: read the wall time with the offset in force a day
                // earlier, i.e. before the gap, which moves it forward by the gap's length.
                let probe = ndt.checked_sub_signed(TimeDelta::days(1))?;
                let off = self.tz.offset_from_utc_datetime(&probe).fix();
                let utc =
                    ndt.checked_sub_signed(TimeDelta::seconds(i64::from(off.local_minus_utc())))?;
                Some(Utc.from_utc_datetime(&utc))
            }
        }
    }

    /// The working intervals of the local date `date` as UTC instants `[start, end)`, in
    /// order; empty when `date` is not a working day. On a summer-time change day these
    /// follow the rules in the [module docs](self) and may be shorter or longer than the
    /// nominal hours.
    pub fn working_intervals(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(self.hours.len());
        if !self.is_working_day(date) {
            return out;
        }
        for h in &self.hours {
            let (Some(s), Some(e)) = (
                self.local_to_utc(date.and_time(h.start), false),
                self.local_to_utc(date.and_time(h.end), true),
            ) else {
                continue;
            };
            // Keep the list ordered and disjoint even when a summer-time change makes
            // neighbouring intervals touch or overlap.
            let s = out.last().map_or(s, |&(_, prev_end)| s.max(prev_end));
            if e > s {
                out.push((s, e));
            }
        }
        out
    }

    fn local_date(&self, t: DateTime<Utc>) -> Result<NaiveDate, CalendarError> {
        if !(2..=9998).contains(&t.year()) {
            return Err(CalendarError::OutOfRange(format!(
                "{t} is outside the supported years 2–9998"
            )));
        }
        Ok(t.with_timezone(&self.tz).date_naive())
    }

    fn too_far(what: &str) -> CalendarError {
        CalendarError::OutOfRange(format!("{what} would span more than {MAX_SPAN_DAYS} days"))
    }

    /// Whether `t` falls inside a working interval.
    pub fn is_working_time(&self, t: DateTime<Utc>) -> bool {
        let Ok(d) = self.local_date(t) else {
            return false;
        };
        // Neighbouring dates too: a gap-shifted interval may cross local midnight.
        [d.pred_opt(), Some(d), d.succ_opt()]
            .into_iter()
            .flatten()
            .flat_map(|d| self.working_intervals(d))
            .any(|(s, e)| s <= t && t < e)
    }

    /// The first working instant at or after `t` together with the local date whose
    /// interval contains it.
    fn next_working_instant(
        &self,
        t: DateTime<Utc>,
    ) -> Result<(DateTime<Utc>, NaiveDate), CalendarError> {
        let first = self.local_date(t)?;
        let mut d = first.pred_opt().unwrap_or(first);
        for _ in 0..MAX_SPAN_DAYS {
            if let Some(&(s, _)) = self.working_intervals(d).iter().find(|(_, e)| *e > t) {
                return Ok((s.max(t), d));
            }
            d = d
                .succ_opt()
                .ok_or_else(|| Self::too_far("finding the next working time"))?;
        }
        Err(Self::too_far("finding the next working time"))
    }

    /// The first working instant at or after `t`: `t` itself when it is inside working
    /// hours, otherwise the start of the next working interval (after lunch, the next
    /// morning, or the next working day).
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] for an instant outside the years 2–9998.
    pub fn next_working_time(&self, t: DateTime<Utc>) -> Result<DateTime<Utc>, CalendarError> {
        self.next_working_instant(t).map(|(t, _)| t)
    }

    /// The deadline `n` working days after `start`: the end of the working hours (the end
    /// of the last interval, local time) of the `n`-th working day after the start day.
    ///
    /// **Start day.** When `start` is inside working hours, the start day is its local date.
    /// When it is outside (before opening, during a break, after closing, or on a day off),
    /// `start` is first moved to the next working time ([`WorkCalendar::next_working_time`])
    /// and the start day is that day — matching the rule that something received after
    /// hours counts as received the next working day. Counting begins the day after the
    /// start day; `n = 0` gives the end of the start day itself.
    ///
    /// Examples with the mainland-China calendar: Friday 15:00 + 3 → Wednesday 17:30;
    /// Friday 18:00 + 3 → Thursday 17:30 (start day Monday).
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] for a start outside the years 2–9998 or a deadline more
    /// than [`MAX_SPAN_DAYS`] days away.
    pub fn add_working_days(
        &self,
        start: DateTime<Utc>,
        n: u32,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let (_, mut day) = self.next_working_instant(start)?;
        let mut remaining = n;
        let mut intervals = self.working_intervals(day);
        let mut walked: i64 = 0;
        while remaining > 0 {
            day = day
                .succ_opt()
                .ok_or_else(|| Self::too_far("adding working days"))?;
            walked += 1;
            if walked > MAX_SPAN_DAYS {
                return Err(Self::too_far("adding working days"));
            }
            let iv = self.working_intervals(day);
            if !iv.is_empty() {
                remaining -= 1;
                intervals = iv;
            }
        }
        intervals
            .last()
            .map(|&(_, e)| e)
            .ok_or_else(|| Self::too_far("adding working days"))
    }

    /// `start` plus `amount` of working time: the earliest instant by which `amount` of
    /// working time (time inside working intervals) has passed since `start`. Time outside
    /// working hours does not count; a result that lands exactly on the end of an interval
    /// is that end (e.g. 09:00 + 3 h = 12:00, not 13:30). A zero amount returns `start`.
    ///
    /// # Errors
    /// [`CalendarError::InvalidAmount`] for a negative amount; [`CalendarError::OutOfRange`]
    /// for a start outside the years 2–9998 or a result more than [`MAX_SPAN_DAYS`] days
    /// away.
    pub fn add_working_time(
        &self,
        start: DateTime<Utc>,
        amount: TimeDelta,
    ) -> Result<DateTime<Utc>, CalendarError> {
        if amount < TimeDelta::zero() {
            return Err(CalendarError::InvalidAmount(format!(
                "working time to add must not be negative (got {amount})"
            )));
        }
        let first = self.local_date(start)?;
        if amount.is_zero() {
            return Ok(start);
        }
        let mut remaining = amount;
        let mut d = first.pred_opt().unwrap_or(first);
        for _ in 0..MAX_SPAN_DAYS {
            for (s, e) in self.working_intervals(d) {
                if e <= start {
                    continue;
                }
                let s = s.max(start);
                let available = e - s;
                if remaining <= available {
                    return Ok(s + remaining);
                }
                remaining -= available;
            }
            d = d
                .succ_opt()
                .ok_or_else(|| Self::too_far("adding working time"))?;
        }
        Err(Self::too_far("adding working time"))
    }

    /// `start` plus `minutes` working minutes; see [`WorkCalendar::add_working_time`].
    ///
    /// # Errors
    /// As [`WorkCalendar::add_working_time`]; a negative count is
    /// [`CalendarError::InvalidAmount`].
    pub fn add_working_minutes(
        &self,
        start: DateTime<Utc>,
        minutes: i64,
    ) -> Result<DateTime<Utc>, CalendarError> {
        let amount = TimeDelta::try_minutes(minutes).ok_or_else(|| {
            CalendarError::InvalidAmount(format!("{minutes} minutes is out of range"))
        })?;
        self.add_working_time(start, amount)
    }

    /// `start` plus `hours` working hours (fractions allowed, rounded to the millisecond);
    /// see [`WorkCalendar::add_working_time`].
    ///
    /// # Errors
    /// [`CalendarError::InvalidAmount`] for a negative, NaN, infinite or absurdly large
    /// (over 10⁹ hours) amount; otherwise as [`WorkCalendar::add_working_time`].
    pub fn add_working_hours(
        &self,
        start: DateTime<Utc>,
        hours: f64,
    ) -> Result<DateTime<Utc>, CalendarError> {
        if !hours.is_finite() || !(0.0..=1e9).contains(&hours) {
            return Err(CalendarError::InvalidAmount(format!(
                "working hours to add must be a finite number from 0 to 1e9 (got {hours})"
            )));
        }
        // In range by the check above: at most 3.6e15 ms, well inside i64.
        #[allow(clippy::cast_possible_truncation)]
        let ms = (hours * 3_600_000.0).round() as i64;
        let amount = TimeDelta::try_milliseconds(ms).ok_or_else(|| {
            CalendarError::InvalidAmount(format!("{hours} hours is out of range"))
        })?;
        self.add_working_time(start, amount)
    }

    /// The working time between `a` and `b`: the length of the part of `[a, b)` inside
    /// working intervals. Negative when `b` is before `a`.
    ///
    /// # Errors
    /// [`CalendarError::OutOfRange`] for an instant outside the years 2–9998 or a span of
    /// more than [`MAX_SPAN_DAYS`] days.
    pub fn working_time_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<TimeDelta, CalendarError> {
        if b < a {
            return self.working_time_between(b, a).map(|d| -d);
        }
        let (da, db) = (self.local_date(a)?, self.local_date(b)?);
        if (db - da).num_days() > MAX_SPAN_DAYS {
            return Err(Self::too_far("the interval"));
        }
        let mut total = TimeDelta::zero();
        let mut d = da.pred_opt().unwrap_or(da);
        let last = db.succ_opt().unwrap_or(db);
        while d <= last {
            for (s, e) in self.working_intervals(d) {
                let (s, e) = (s.max(a), e.min(b));
                if e > s {
                    total += e - s;
                }
            }
            match d.succ_opt() {
                Some(n) => d = n,
                None => break,
            }
        }
        Ok(total)
    }

    /// Whole working minutes between `a` and `b` (see
    /// [`WorkCalendar::working_time_between`]), truncated toward zero.
    ///
    /// # Errors
    /// As [`WorkCalendar::working_time_between`].
    pub fn working_minutes_between(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> Result<i64, CalendarError> {
        self.working_time_between(a, b).map(|d| d.num_minutes())
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_2019_and_2025_2026_calendar_holds_both_notices() {
        let c = WorkCalendar::from_json(&china_mainland_2019_and_2025_2026_json()).unwrap();
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        // 2019 New Year's Day: 2018-12-30 to 2019-01-01 off, Saturday 2018-12-29 worked.
        assert!(!c.is_working_day(d(2018, 12, 31)));
        assert!(!c.is_working_day(d(2019, 1, 1)));
        assert!(c.is_working_day(d(2018, 12, 29)));
        assert!(c.is_working_day(d(2019, 1, 2)));
        // The Spring Festival of 2019 (02-04 to 02-10 off) and the 2025-2026 years as shipped.
        assert!(!c.is_working_day(d(2019, 2, 5)));
        assert!(c.covers(2019) && c.covers(2025) && c.covers(2026));
        let shipped = WorkCalendar::china_mainland();
        for day in [
            d(2025, 10, 1),
            d(2025, 9, 28),
            d(2026, 2, 17),
            d(2026, 3, 2),
        ] {
            assert_eq!(c.is_working_day(day), shipped.is_working_day(day), "{day}");
        }
    }

    use super::*;
    use chrono::Timelike;

    fn date(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    fn cn() -> WorkCalendar {
        WorkCalendar::china_mainland()
    }

    /// A Beijing local time ("YYYY-MM-DD HH:MM") as UTC (China has no summer time: UTC+8).
    fn bj(s: &str) -> DateTime<Utc> {
        let ndt = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::Asia::Shanghai
            .from_local_datetime(&ndt)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ny(s: &str) -> DateTime<Utc> {
        let ndt = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono_tz::America::New_York
            .from_local_datetime(&ndt)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    fn utc(s: &str) -> DateTime<Utc> {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
    }

    // ---- the embedded data -------------------------------------------------------------

    #[test]
    fn china_2019_calendar_loads_with_the_new_year_bridge() {
        let cal = WorkCalendar::from_json(CHINA_MAINLAND_2019_JSON).expect("2019 calendar");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert!(cal.covers(2019));
        assert!(!cal.is_working_day(d("2018-12-30")));
        assert!(!cal.is_working_day(d("2018-12-31")));
        assert!(!cal.is_working_day(d("2019-01-01")));
        assert!(
            cal.is_working_day(d("2018-12-29")),
            "Saturday make-up working day"
        );
        assert!(cal.is_working_day(d("2019-01-02")));
        assert!(!cal.is_working_day(d("2019-01-05")), "a plain Saturday");
        assert_eq!(
            cal.holiday(d("2019-01-01")).map(|h| h.name.as_str()),
            Some("New Year's Day")
        );
    }

    #[test]
    fn embedded_file_is_the_shared_file_and_parses() {
        // Byte-for-byte copy of ../shared/data/calendar/cn_public_holidays_2025_2026.json.
        assert_eq!(CHINA_MAINLAND_2025_2026_JSON.len(), 3375);
        assert!(CHINA_MAINLAND_2025_2026_JSON.contains("国办发明电〔2024〕12号"));
        let cal = WorkCalendar::from_json(CHINA_MAINLAND_2025_2026_JSON).expect("valid");
        assert_eq!(cal, cn());
        assert_eq!(cal.time_zone(), chrono_tz::Asia::Shanghai);
        assert_eq!(cal.jurisdiction(), Some("CN (mainland China, national)"));
        assert_eq!(cal.covered_years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert_eq!(cal.rest_weekdays(), vec![Weekday::Sat, Weekday::Sun]);
        assert_eq!(cal.working_time_per_day(), TimeDelta::hours(7));
        // 2025: 1 + 8 + 3 + 5 + 3 + 8 = 28 days off; 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7 = 33.
        assert_eq!(cal.holidays.len(), 28 + 33);
        // 2025: 5 make-up days; 2026: 6.
        assert_eq!(cal.workdays.len(), 11);
    }

    #[test]
    fn day_classification_2025_and_2026() {
        let cal = cn();
        // 2025-01-26 is a Sunday and 2025-02-08 a Saturday: make-up workdays.
        assert_eq!(date("2025-01-26").weekday(), Weekday::Sun);
        assert_eq!(date("2025-02-08").weekday(), Weekday::Sat);
        assert!(cal.is_working_day(date("2025-01-26")));
        assert!(cal.is_makeup_workday(date("2025-02-08")));
        assert!(cal.is_working_day(date("2025-02-08")));
        // Spring Festival 2025-01-28 … 02-04 off, weekdays included.
        let mut d = date("2025-01-28");
        while d <= date("2025-02-04") {
            assert!(!cal.is_working_day(d), "{d}");
            assert_eq!(cal.holiday(d).unwrap().name_zh.as_deref(), Some("春节"));
            d = d.succ_opt().unwrap();
        }
        assert!(cal.is_working_day(date("2025-01-27"))); // Monday
        assert!(cal.is_working_day(date("2025-02-05"))); // Wednesday
                                                         // An ordinary weekend and weekday.
        assert!(!cal.is_working_day(date("2025-03-15"))); // Saturday
        assert!(cal.is_working_day(date("2025-03-14"))); // Friday
                                                         // 2026: New Year 01-01..03 off, Sunday 01-04 worked; Spring Festival 02-15..23 off,
                                                         // Saturdays 02-14 and 02-28 worked.
        assert!(!cal.is_working_day(date("2026-01-02"))); // Friday, holiday
        assert!(cal.is_working_day(date("2026-01-04"))); // Sunday, make-up
        assert!(!cal.is_working_day(date("2026-02-23"))); // Monday, holiday
        assert!(cal.is_working_day(date("2026-02-14")));
        assert!(cal.is_working_day(date("2026-02-28")));
        assert!(cal.is_working_day(date("2026-10-10"))); // Saturday, make-up
        assert!(!cal.is_working_day(date("2026-10-07")));
    }

    #[test]
    fn uncovered_year_falls_back_to_weekly_pattern() {
        let cal = cn();
        assert!(cal.covers(2025) && cal.covers(2026));
        assert!(!cal.covers(2027) && !cal.covers(2024));
        // 2027-01-01 is a Friday: with no 2027 data it is (documented fallback) a working day.
        assert_eq!(date("2027-01-01").weekday(), Weekday::Fri);
        assert!(cal.is_working_day(date("2027-01-01")));
        assert!(!cal.is_working_day(date("2027-01-02"))); // Saturday
        assert!(cal.holiday(date("2027-10-01")).is_none());
    }

    #[test]
    fn next_working_day_skips_rest_days_and_holidays() {
        let cal = cn();
        // Fri 2025-03-14 → Sat, Sun rest → Mon 03-17.
        assert_eq!(
            cal.next_working_day(date("2025-03-14")),
            Some(date("2025-03-17"))
        );
        // Fri 2025-01-24 → Sat 25 rest → Sun 26 make-up workday.
        assert_eq!(
            cal.next_working_day(date("2025-01-24")),
            Some(date("2025-01-26"))
        );
        // Mon 2025-01-27 → 01-28 … 02-04 holiday → Wed 02-05.
        assert_eq!(
            cal.next_working_day(date("2025-01-27")),
            Some(date("2025-02-05"))
        );
        // Tue 2025-09-30 → 10-01 … 10-08 holiday → Thu 10-09.
        assert_eq!(
            cal.next_working_day(date("2025-09-30")),
            Some(date("2025-10-09"))
        );
        assert_eq!(cal.next_working_day(NaiveDate::MAX), None);
    }

    // ---- working days --------------------------------------------------------------------

    #[test]
    fn working_days_across_a_weekend() {
        // Thu 2025-03-13 10:00, in hours → start day Thu 13.
        // Fri 14 = 1; Sat 15, Sun 16 rest; Mon 17 = 2 → Mon 2025-03-17 17:30 (09:30 UTC).
        let due = cn().add_working_days(bj("2025-03-13 10:00"), 2).unwrap();
        assert_eq!(due, bj("2025-03-17 17:30"));
        assert_eq!(due, utc("2025-03-17 09:30"));
    }

    #[test]
    fn working_days_across_a_public_holiday() {
        // Qingming 2025: Fri 04-04, Sat 05, Sun 06 off.
        // Wed 2025-04-02 11:00 → start day Wed 2. Thu 3 = 1; Fri 4, Sat 5, Sun 6 off;
        // Mon 7 = 2; Tue 8 = 3 → Tue 2025-04-08 17:30.
        let due = cn().add_working_days(bj("2025-04-02 11:00"), 3).unwrap();
        assert_eq!(due, bj("2025-04-08 17:30"));
    }

    #[test]
    fn working_days_across_a_makeup_workday() {
        // Fri 2025-01-24 10:00 → start day Fri 24. Sat 25 rest; Sun 26 make-up = 1;
        // Mon 27 = 2; Tue 28 … Tue 02-04 Spring Festival off; Wed 02-05 = 3.
        let cal = cn();
        assert_eq!(
            cal.add_working_days(bj("2025-01-24 10:00"), 1).unwrap(),
            bj("2025-01-26 17:30")
        );
        assert_eq!(
            cal.add_working_days(bj("2025-01-24 10:00"), 3).unwrap(),
            bj("2025-02-05 17:30")
        );
        // … Thu 02-06 = 4, Fri 02-07 = 5, Sat 02-08 make-up = 6 → Saturday 2025-02-08 17:30.
        assert_eq!(
            cal.add_working_days(bj("2025-01-24 10:00"), 6).unwrap(),
            bj("2025-02-08 17:30")
        );
    }

    #[test]
    fn working_days_across_weekend_holiday_and_makeup_day_together() {
        // The issue's case. Thu 2025-01-23 09:00 → start day Thu 23.
        // Fri 24 = 1; Sat 25 rest (weekend); Sun 26 make-up = 2; Mon 27 = 3;
        // Tue 28 … Tue 02-04 off (public holiday); Wed 02-05 = 4; Thu 02-06 = 5.
        // → Thu 2025-02-06 17:30 Beijing = 09:30 UTC.
        let due = cn().add_working_days(bj("2025-01-23 09:00"), 5).unwrap();
        assert_eq!(due, utc("2025-02-06 09:30"));
    }

    #[test]
    fn three_working_days_from_friday_afternoon() {
        let cal = cn();
        // Fri 2025-03-14 15:00 is in hours → start day Fri. Mon 17 = 1, Tue 18 = 2,
        // Wed 19 = 3 → Wed 2025-03-19 17:30.
        assert_eq!(
            cal.add_working_days(bj("2025-03-14 15:00"), 3).unwrap(),
            bj("2025-03-19 17:30")
        );
        // Fri 18:00 is after hours → moved to Mon 17 09:00, start day Mon.
        // Tue 18 = 1, Wed 19 = 2, Thu 20 = 3 → Thu 2025-03-20 17:30.
        assert_eq!(
            cal.add_working_days(bj("2025-03-14 18:00"), 3).unwrap(),
            bj("2025-03-20 17:30")
        );
        // Exactly 17:30 is already outside ([09:00, 17:30) half-open) → same as 18:00.
        assert_eq!(
            cal.add_working_days(bj("2025-03-14 17:30"), 3).unwrap(),
            bj("2025-03-20 17:30")
        );
        // Fri 12:45 (lunch) → 13:30 the same Friday, start day Fri → Wed 17:30.
        assert_eq!(
            cal.add_working_days(bj("2025-03-14 12:45"), 3).unwrap(),
            bj("2025-03-19 17:30")
        );
        // Fri 07:00 (before opening) → Fri 09:00, start day Fri → Wed 17:30.
        assert_eq!(
            cal.add_working_days(bj("2025-03-14 07:00"), 3).unwrap(),
            bj("2025-03-19 17:30")
        );
        // Sat 10:00 (rest day) → Mon 09:00, start day Mon → Thu 17:30.
        assert_eq!(
            cal.add_working_days(bj("2025-03-15 10:00"), 3).unwrap(),
            bj("2025-03-20 17:30")
        );
        // n = 0: end of the start day.
        assert_eq!(
            cal.add_working_days(bj("2025-03-14 15:00"), 0).unwrap(),
            bj("2025-03-14 17:30")
        );
        assert_eq!(
            cal.add_working_days(bj("2025-03-14 18:00"), 0).unwrap(),
            bj("2025-03-17 17:30")
        );
    }

    #[test]
    fn thirteen_working_days_across_national_day_2025() {
        let cal = cn();
        // From the file: 2025-10-01 … 10-08 off; Sun 09-28 and Sat 10-11 are make-up days.
        assert_eq!(date("2025-09-28").weekday(), Weekday::Sun);
        assert_eq!(date("2025-10-11").weekday(), Weekday::Sat);
        assert!(cal.is_makeup_workday(date("2025-09-28")));
        assert!(cal.is_makeup_workday(date("2025-10-11")));
        // Thu 2025-09-25 10:00 → start day Thu 25.
        // Fri 26 = 1; Sat 27 rest; Sun 28 make-up = 2; Mon 29 = 3; Tue 30 = 4;
        // Wed 10-01 … Wed 10-08 off; Thu 09 = 5; Fri 10 = 6; Sat 11 make-up = 7; Sun 12 rest;
        // Mon 13 = 8; Tue 14 = 9; Wed 15 = 10; Thu 16 = 11; Fri 17 = 12; Sat 18, Sun 19 rest;
        // Mon 20 = 13 → Mon 2025-10-20 17:30 Beijing = 09:30 UTC.
        let due = cal.add_working_days(bj("2025-09-25 10:00"), 13).unwrap();
        assert_eq!(due, utc("2025-10-20 09:30"));
        // The working time in between: what is left of the start day from 10:00
        // (10:00–12:00 = 2 h, 13:30–17:30 = 4 h → 360 min) plus 13 full days of 7 h
        // → 13 × 420 + 360 = 5820 minutes.
        assert_eq!(
            cal.working_minutes_between(bj("2025-09-25 10:00"), due)
                .unwrap(),
            13 * 420 + 360
        );
    }

    #[test]
    fn working_days_in_2026_spring_festival_and_new_year() {
        let cal = cn();
        // Fri 2026-02-13 10:00 → start day Fri 13. Sat 14 make-up = 1;
        // Sun 15 … Mon 23 off; Tue 24 = 2 → 2026-02-24 17:30.
        assert_eq!(
            cal.add_working_days(bj("2026-02-13 10:00"), 2).unwrap(),
            bj("2026-02-24 17:30")
        );
        // … Wed 25 = 3, Thu 26 = 4, Fri 27 = 5, Sat 28 make-up = 6 → Sat 2026-02-28 17:30.
        assert_eq!(
            cal.add_working_days(bj("2026-02-13 10:00"), 6).unwrap(),
            bj("2026-02-28 17:30")
        );
        // Across the year boundary: Wed 2025-12-31 16:00 → start day Wed 31.
        // Thu 01-01, Fri 02, Sat 03 off; Sun 2026-01-04 make-up = 1 → Sun 01-04 17:30.
        assert_eq!(
            cal.add_working_days(bj("2025-12-31 16:00"), 1).unwrap(),
            bj("2026-01-04 17:30")
        );
    }

    // ---- working hours -------------------------------------------------------------------

    #[test]
    fn working_hours_across_lunch_and_overnight() {
        let cal = cn();
        // Mon 2025-03-17 11:00 + 2 h: 11:00–12:00 = 1 h; lunch skipped; 13:30–14:30 = 1 h.
        assert_eq!(
            cal.add_working_hours(bj("2025-03-17 11:00"), 2.0).unwrap(),
            bj("2025-03-17 14:30")
        );
        // Mon 17:00 + 2 h: 17:00–17:30 = 30 min; overnight; Tue 09:00–10:30 = 90 min.
        assert_eq!(
            cal.add_working_hours(bj("2025-03-17 17:00"), 2.0).unwrap(),
            bj("2025-03-18 10:30")
        );
        // Same in minutes, and 1.5 h from 11:30: 11:30–12:00 = 30, 13:30–14:30 = 60.
        assert_eq!(
            cal.add_working_minutes(bj("2025-03-17 17:00"), 120)
                .unwrap(),
            bj("2025-03-18 10:30")
        );
        assert_eq!(
            cal.add_working_hours(bj("2025-03-17 11:30"), 1.5).unwrap(),
            bj("2025-03-17 14:30")
        );
        // Landing exactly on the end of the morning gives 12:00, not 13:30.
        assert_eq!(
            cal.add_working_hours(bj("2025-03-17 09:00"), 3.0).unwrap(),
            bj("2025-03-17 12:00")
        );
        // A whole day: 09:00 + 7 h = 17:30 the same day.
        assert_eq!(
            cal.add_working_hours(bj("2025-03-17 09:00"), 7.0).unwrap(),
            bj("2025-03-17 17:30")
        );
        // From lunch: 12:15 + 1 h → counting starts at 13:30 → 14:30.
        assert_eq!(
            cal.add_working_hours(bj("2025-03-17 12:15"), 1.0).unwrap(),
            bj("2025-03-17 14:30")
        );
        // Zero is the start itself.
        assert_eq!(
            cal.add_working_minutes(bj("2025-03-17 12:15"), 0).unwrap(),
            bj("2025-03-17 12:15")
        );
        // Between: Mon 11:00 → Tue 10:30 = 60 + 240 (13:30–17:30) + 90 = 390 min.
        assert_eq!(
            cal.working_minutes_between(bj("2025-03-17 11:00"), bj("2025-03-18 10:30"))
                .unwrap(),
            390
        );
        // Reversed order gives the negative.
        assert_eq!(
            cal.working_minutes_between(bj("2025-03-18 10:30"), bj("2025-03-17 11:00"))
                .unwrap(),
            -390
        );
        assert!(cal.is_working_time(bj("2025-03-17 09:00")));
        assert!(!cal.is_working_time(bj("2025-03-17 12:00")));
        assert!(!cal.is_working_time(bj("2025-03-17 17:30")));
        assert_eq!(
            cal.next_working_time(bj("2025-03-17 12:00")).unwrap(),
            bj("2025-03-17 13:30")
        );
    }

    #[test]
    fn working_hours_across_national_day() {
        let cal = cn();
        // Tue 2025-09-30 16:30 + 3 h: 16:30–17:30 = 1 h; 10-01 … 10-08 off;
        // Thu 10-09 09:00–11:00 = 2 h → Thu 2025-10-09 11:00.
        let due = cal.add_working_hours(bj("2025-09-30 16:30"), 3.0).unwrap();
        assert_eq!(due, bj("2025-10-09 11:00"));
        assert_eq!(
            cal.working_minutes_between(bj("2025-09-30 16:30"), due)
                .unwrap(),
            180
        );
        // Sat 2025-09-27 is a rest day, Sun 09-28 a make-up day: Sat 10:00 + 1 h → Sun 10:00.
        assert_eq!(
            cal.add_working_hours(bj("2025-09-27 10:00"), 1.0).unwrap(),
            bj("2025-09-28 10:00")
        );
    }

    #[test]
    fn working_time_over_whole_months_matches_day_count() {
        let cal = cn();
        // January 2025: 23 weekdays (Jan 1 Wed … 31 Fri) minus Jan 1 and Jan 28–31 (5 days
        // off on weekdays) plus Sun Jan 26 (make-up) = 19 working days × 7 h.
        let a = bj("2025-01-01 00:00");
        let b = bj("2025-02-01 00:00");
        assert_eq!(cal.working_minutes_between(a, b).unwrap(), 19 * 420);
        // October 2025: 23 weekdays minus Oct 1–3 and 6–8 (6 weekday holidays) plus Sat
        // Oct 11 = 18 working days.
        let a = bj("2025-10-01 00:00");
        let b = bj("2025-11-01 00:00");
        assert_eq!(cal.working_minutes_between(a, b).unwrap(), 18 * 420);
    }

    // ---- summer time ---------------------------------------------------------------------

    /// A US-style calendar built from JSON: New York, Saturday and Sunday off, 09:00–17:00,
    /// some 2025 federal holidays, no make-up days.
    fn us() -> WorkCalendar {
        WorkCalendar::from_json(
            r#"{
              "jurisdiction": "US federal (test)",
              "time_zone": "America/New_York",
              "working_hours": [["09:00", "17:00"]],
              "years": {
                "2025": {
                  "holidays": [
                    {"name": "Martin Luther King Jr. Day", "days": ["2025-01-20"]},
                    {"name": "Memorial Day", "days": ["2025-05-26"]},
                    {"name": "Independence Day", "days": ["2025-07-04"]},
                    {"name": "Veterans Day", "days": ["2025-11-11"]},
                    {"name": "Thanksgiving Day", "days": ["2025-11-27"]},
                    {"name": "Christmas Day", "days": ["2025-12-25"]}
                  ],
                  "workdays": []
                }
              }
            }"#,
        )
        .unwrap()
    }

    #[test]
    fn dst_spring_forward_new_york() {
        let cal = us();
        // 2025-03-09 (Sunday) 02:00 EST → 03:00 EDT. Before: UTC−5; after: UTC−4.
        // Fri 03-07 16:00 EST = 21:00 UTC. + 2 working hours: Fri 16:00–17:00 = 1 h;
        // weekend; Mon 03-10 09:00–10:00 EDT = 1 h → 10:00 EDT = 14:00 UTC (a fixed −5
        // offset would wrongly give 15:00 UTC).
        let start = ny("2025-03-07 16:00");
        assert_eq!(start, utc("2025-03-07 21:00"));
        let due = cal.add_working_hours(start, 2.0).unwrap();
        assert_eq!(due, utc("2025-03-10 14:00"));
        assert_eq!(cal.working_minutes_between(start, due).unwrap(), 120);
        // Fri 10:00 EST + 1 working day → Mon 03-10 17:00 EDT = 21:00 UTC.
        assert_eq!(
            cal.add_working_days(ny("2025-03-07 10:00"), 1).unwrap(),
            utc("2025-03-10 21:00")
        );
    }

    #[test]
    fn dst_fall_back_new_york_and_holiday() {
        let cal = us();
        // 2025-11-02 (Sunday) 02:00 EDT → 01:00 EST. Fri 10-31 10:00 EDT + 1 working day →
        // Mon 11-03 17:00 EST = 22:00 UTC.
        assert_eq!(
            cal.add_working_days(ny("2025-10-31 10:00"), 1).unwrap(),
            utc("2025-11-03 22:00")
        );
        // Fri 10-31 10:00 + 7 days: Mon 11-03 = 1, Tue 04 = 2, Wed 05 = 3, Thu 06 = 4,
        // Fri 07 = 5, Mon 10 = 6, Tue 11 Veterans Day off, Wed 12 = 7 → 17:00 EST = 22:00 UTC.
        assert_eq!(
            cal.add_working_days(ny("2025-10-31 10:00"), 7).unwrap(),
            utc("2025-11-12 22:00")
        );
        // Working time Fri 16:00 EDT (20:00 UTC) → Mon 10:00 EST (15:00 UTC): 1 h + 1 h.
        assert_eq!(
            cal.working_minutes_between(ny("2025-10-31 16:00"), ny("2025-11-03 10:00"))
                .unwrap(),
            120
        );
    }

    #[test]
    fn dst_change_inside_working_hours() {
        // Every day a working day, hours 01:00–04:00 local in New York.
        let cal = WorkCalendar::new(chrono_tz::America::New_York)
            .with_rest_weekdays(&[])
            .unwrap()
            .with_working_hours(&[(hm(1, 0), hm(4, 0))])
            .unwrap();
        // 2025-03-09: 01:00 EST (06:00 UTC) → 04:00 EDT (08:00 UTC): only 2 real hours.
        assert_eq!(
            cal.working_intervals(date("2025-03-09")),
            vec![(utc("2025-03-09 06:00"), utc("2025-03-09 08:00"))]
        );
        // 2025-11-02: 01:00 first (EDT, 05:00 UTC) → 04:00 EST (09:00 UTC): 4 real hours.
        assert_eq!(
            cal.working_intervals(date("2025-11-02")),
            vec![(utc("2025-11-02 05:00"), utc("2025-11-02 09:00"))]
        );
        // A start inside the gap: 02:30 does not exist on 03-09 → read as 02:30 EST =
        // 07:30 UTC = 03:30 EDT; 02:30–05:00 is then 03:30–05:00 EDT = 90 min.
        let gap = WorkCalendar::new(chrono_tz::America::New_York)
            .with_rest_weekdays(&[])
            .unwrap()
            .with_working_hours(&[(hm(2, 30), hm(5, 0))])
            .unwrap();
        assert_eq!(
            gap.working_intervals(date("2025-03-09")),
            vec![(utc("2025-03-09 07:30"), utc("2025-03-09 09:00"))]
        );
        // Adding 3 working hours from Sat 03-08 01:00 EST (06:00 UTC): Sat 01:00–04:00 = 3 h
        // → Sat 04:00 EST = 09:00 UTC; adding 4 h goes on to Sun 01:00 EST (06:00 UTC) + 1 h
        // = 07:00 UTC (03:00 EDT).
        assert_eq!(
            cal.add_working_hours(utc("2025-03-08 06:00"), 3.0).unwrap(),
            utc("2025-03-08 09:00")
        );
        assert_eq!(
            cal.add_working_hours(utc("2025-03-08 06:00"), 4.0).unwrap(),
            utc("2025-03-09 07:00")
        );
    }

    // ---- regional holidays ---------------------------------------------------------------

    const REGION: &str = r#"{
        "region": "Example Autonomous Region (invented test data)",
        "holidays": [
            {"name": "Example Festival", "name_zh": "示例节", "days": ["2025-03-31", "2025-04-01"]},
            {"name": "Overlap with Labour Day", "days": ["2025-05-05"]}
        ]
    }"#;

    #[test]
    fn regional_holidays_are_merged() {
        let cal = cn().with_regional(REGION).unwrap();
        assert_eq!(cal.regions().len(), 1);
        // Mon 2025-03-31 and Tue 04-01 are now off in the region.
        assert!(!cal.is_working_day(date("2025-03-31")));
        assert_eq!(
            cal.holiday(date("2025-04-01")).unwrap().region.as_deref(),
            Some("Example Autonomous Region (invented test data)")
        );
        // A day already a national holiday keeps its national name.
        assert_eq!(cal.holiday(date("2025-05-05")).unwrap().name, "Labour Day");
        assert!(cal.holiday(date("2025-05-05")).unwrap().region.is_none());
        // Fri 2025-03-28 10:00 + 3: Sat 29, Sun 30 rest; Mon 31, Tue 04-01 regional; Wed 02
        // = 1; Thu 03 = 2; Fri 04 … Sun 06 Qingming; Mon 07 = 3 → Mon 2025-04-07 17:30.
        assert_eq!(
            cal.add_working_days(bj("2025-03-28 10:00"), 3).unwrap(),
            bj("2025-04-07 17:30")
        );
        // Nationally the same start gives Mon 31 = 1, Tue 01 = 2, Wed 02 = 3.
        assert_eq!(
            cn().add_working_days(bj("2025-03-28 10:00"), 3).unwrap(),
            bj("2025-04-02 17:30")
        );
        // Merging the same region twice is refused.
        let err = cal.with_regional(REGION).unwrap_err();
        assert_eq!(err.problems().len(), 1);
        assert_eq!(err.problems()[0].path, "region");
    }

    #[test]
    fn invalid_regional_file_lists_every_problem() {
        let err = cn()
            .with_regional(
                r#"{
                "region": "",
                "holidays": [
                    {"name": "A", "days": ["2025-02-30", "2027-05-01", "2025-09-28"]},
                    {"days": ["2025-04-01", "2025-04-01"]},
                    {"name": "B", "days": []}
                ],
                "extra": 1
            }"#,
            )
            .unwrap_err();
        let paths: Vec<&str> = err.problems().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "extra",               // unknown key
                "region",              // empty
                "holidays[0].days[0]", // 2025-02-30 is not a date
                "holidays[1].name",    // missing
                "holidays[2].days",    // empty list
                "holidays[0].days[1]", // 2027 not covered
                "holidays[0].days[2]", // 2025-09-28 is a make-up workday
                "holidays[1].days[1]", // listed twice
            ],
            "{err}"
        );
        assert!(cn().with_regional("not json").is_err());
        assert!(cn().with_regional("[]").is_err());
    }

    // ---- invalid calendars ---------------------------------------------------------------

    #[test]
    fn invalid_calendar_lists_every_problem() {
        let err = WorkCalendar::from_json(
            r#"{
              "time_zone": "Asia/Shang_hai",
              "years": {
                "2025": {
                  "holidays": [
                    {"name": "Bad", "days": ["2025-02-30", "2025/03/01", 7, "2026-01-01"]},
                    {"name": "Clash", "days": ["2025-01-26", "2025-05-01"]},
                    {"name": "Dup", "days": ["2025-05-01"]}
                  ],
                  "workdays": ["2025-01-26", "2025-01-22"],
                  "workday": []
                },
                "20x5": {}
              },
              "working_hours": [["09:00", "12:00"], ["11:00", "10:00"]]
            }"#,
        )
        .unwrap_err();
        let got: Vec<String> = err.problems().iter().map(ToString::to_string).collect();
        let text = got.join("\n");
        let has = |path: &str, needle: &str| {
            assert!(
                err.problems()
                    .iter()
                    .any(|p| p.path == path && p.message.contains(needle)),
                "missing {path}: {needle} in\n{text}"
            );
        };
        has("time_zone", "unknown time zone \"Asia/Shang_hai\"");
        has("working_hours[1]", "does not end after it starts");
        has("working_hours[1]", "overlaps");
        has("years.2025.holidays[0].days[0]", "not a real calendar date");
        has("years.2025.holidays[0].days[1]", "YYYY-MM-DD");
        has("years.2025.holidays[0].days[2]", "date string");
        has("years.2025.holidays[0].days[3]", "not in year 2025");
        has("years.2025.holidays[2].days[0]", "already listed");
        has("years.2025.workday", "unknown key");
        // A make-up workday that is also a holiday.
        has(
            "years.2025.workdays[0]",
            "both a make-up workday and a holiday",
        );
        // 2025-01-22 is a Wednesday: not a rest day, so it cannot be a make-up workday.
        has(
            "years.2025.workdays[1]",
            "is a Wednesday, already a working day",
        );
        has("years.20x5", "four-digit year");
        assert_eq!(err.problems().len(), 12, "{text}");
        assert!(err.to_string().starts_with("invalid calendar: "));
    }

    #[test]
    fn makeup_workday_not_on_weekend_is_refused() {
        let err = WorkCalendar::from_json(
            r#"{"time_zone": "Asia/Shanghai",
                "years": {"2025": {"holidays": [], "workdays": ["2025-01-22", "2025-01-26"]}}}"#,
        )
        .unwrap_err();
        // 2025-01-22 is a Wednesday; 2025-01-26 (Sunday) is fine.
        assert_eq!(err.problems().len(), 1, "{err}");
        assert_eq!(err.problems()[0].path, "years.2025.workdays[0]");
        assert!(err.problems()[0].message.contains("Wednesday"));
    }

    #[test]
    fn structural_errors() {
        let e = WorkCalendar::from_json("{").unwrap_err();
        assert_eq!(e.problems()[0].path, "$");
        assert!(WorkCalendar::from_json("[1]").is_err());
        let e = WorkCalendar::from_json("{}").unwrap_err();
        let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, vec!["time_zone", "years"]);
        let e = WorkCalendar::from_json(
            r#"{"time_zone": 8, "years": {"2025": []}, "rest_weekdays": ["Mon","Tue","Wed","Thu","Fri","Sat","Sun"], "working_hours": []}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            vec!["time_zone", "rest_weekdays", "working_hours", "years.2025"]
        );
        // A misspelt weekday is reported, and the make-up-day weekday check is skipped
        // while the weekly pattern is unknown.
        let e = WorkCalendar::from_json(
            r#"{"time_zone": "UTC", "rest_weekdays": ["Sat", "Sunday", "Funday"],
                "years": {"2025": {"workdays": ["2025-01-22"]}}}"#,
        )
        .unwrap_err();
        let paths: Vec<&str> = e.problems().iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, vec!["rest_weekdays[2]"]);
        // Builders validate too.
        assert!(WorkCalendar::new(Tz::UTC)
            .with_working_hours(&[(hm(13, 0), hm(9, 0))])
            .is_err());
        assert!(WorkCalendar::new(Tz::UTC)
            .with_rest_weekdays(&ALL_WEEKDAYS)
            .is_err());
        // Moving the rest days under loaded make-up workdays is refused.
        let e = cn().with_rest_weekdays(&[Weekday::Sun]).unwrap_err();
        assert!(e.problems().iter().all(|p| p.message.contains("Saturday")));
        // A minimal valid file: defaults apply, the year is covered.
        let ok =
            WorkCalendar::from_json(r#"{"time_zone": "Europe/Berlin", "years": {"2030": {}}}"#)
                .unwrap();
        assert!(ok.covers(2030));
        assert_eq!(ok.working_hours(), default_working_hours().as_slice());
    }

    #[test]
    fn bad_amounts_and_ranges_are_errors_not_panics() {
        let cal = cn();
        let t = bj("2025-03-17 10:00");
        for h in [-1.0, f64::NAN, f64::INFINITY, 1e12] {
            assert!(matches!(
                cal.add_working_hours(t, h),
                Err(CalendarError::InvalidAmount(_))
            ));
        }
        assert!(matches!(
            cal.add_working_minutes(t, -5),
            Err(CalendarError::InvalidAmount(_))
        ));
        assert!(matches!(
            cal.add_working_minutes(t, i64::MAX),
            Err(CalendarError::InvalidAmount(_))
        ));
        // Far beyond 400 years of working time.
        assert!(matches!(
            cal.add_working_hours(t, 1e8),
            Err(CalendarError::OutOfRange(_))
        ));
        assert!(matches!(
            cal.add_working_days(t, u32::MAX),
            Err(CalendarError::OutOfRange(_))
        ));
        for extreme in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
            assert!(cal.add_working_days(extreme, 1).is_err());
            assert!(cal.add_working_minutes(extreme, 1).is_err());
            assert!(cal.working_minutes_between(extreme, t).is_err());
            assert!(cal.next_working_time(extreme).is_err());
            assert!(!cal.is_working_time(extreme));
        }
        assert!(cal
            .working_minutes_between(utc("1900-01-01 00:00"), utc("2400-01-01 00:00"))
            .is_err());
        for d in [NaiveDate::MIN, NaiveDate::MAX] {
            let _ = cal.working_intervals(d);
            let _ = us().working_intervals(d);
        }
        // Converted to the platform error with the problem list attached.
        let err: onecity_core::Error = WorkCalendar::from_json("{}").unwrap_err().into();
        assert_eq!(err.code, onecity_core::ErrorCode::InvalidInput);
        assert_eq!(err.extra.unwrap()["problems"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn long_spans_step_by_day_and_stay_fast() {
        let cal = cn();
        let t = bj("2025-03-17 10:00");
        let start = std::time::Instant::now();
        // ~40 years of working days: about 15,000 day steps, no minute loop.
        let due = cal.add_working_days(t, 10_000).unwrap();
        assert!(due.year() > 2060);
        let minutes = cal.working_minutes_between(t, due).unwrap();
        // 10,000 full days after the start day plus the 6 h left on the start day.
        assert_eq!(minutes, 10_000 * 420 + 360);
        assert_eq!(
            cal.add_working_minutes(t, minutes).unwrap(),
            due,
            "add and between agree"
        );
        assert!(start.elapsed().as_secs() < 5);
        assert_eq!(due.with_timezone(&chrono_tz::Asia::Shanghai).hour(), 17);
    }
}
