//! Domain types of station passenger-flow forecasting: the flow matrix and its prefixes, the
//! station graph, forecasts with prediction intervals. No IO here.

use chrono::{Days, NaiveDate};

/// Length of one time slot of the Hangzhou metro data, in minutes.
pub const SLOT_MINUTES: u32 = 10;

/// Days in a week: the seasonal period of metro flow, in days.
pub const DAYS_PER_WEEK: usize = 7;

/// The dimensions of a station × day × slot flow tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowShape {
    /// Number of stations (tensor rows).
    pub stations: usize,
    /// Number of consecutive days.
    pub days: usize,
    /// Time slots per day.
    pub slots_per_day: usize,
}

impl FlowShape {
    /// The Hangzhou metro tensor of January 2019 (transdim `tensor.mat`): 80 stations ×
    /// 25 days × 108 ten-minute slots.
    pub const HANGZHOU: FlowShape = FlowShape {
        stations: 80,
        days: 25,
        slots_per_day: 108,
    };

    /// Number of time steps, `days × slots_per_day` (2,700 for Hangzhou).
    pub fn time_len(&self) -> usize {
        self.days * self.slots_per_day
    }

    /// Time steps in one week, `7 × slots_per_day` (756 for Hangzhou).
    pub fn week_len(&self) -> usize {
        DAYS_PER_WEEK * self.slots_per_day
    }
}

/// Passenger counts per station and time slot: the station × time matrix of the
/// transdim protocol (time index `t = day · slots_per_day + slot`, day 0 = `first_day`).
///
/// Stored time-major (`values[t · stations + station]`), so that the data before a time
/// `t` is one contiguous prefix: [`FlowMatrix::history`] hands forecasters exactly that
/// prefix and nothing after it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowMatrix {
    shape: FlowShape,
    first_day: NaiveDate,
    values: Vec<f64>,
}

impl FlowMatrix {
    /// Builds a matrix from time-major values (`values[t · stations + station]`, counts in
    /// passengers per slot). Returns `None` when the length is not
    /// `stations × days × slots_per_day` or the shape has a zero dimension.
    pub fn from_time_major(
        shape: FlowShape,
        first_day: NaiveDate,
        values: Vec<f64>,
    ) -> Option<Self> {
        let ok = shape.stations > 0
            && shape.days > 0
            && shape.slots_per_day > 0
            && values.len() == shape.stations * shape.time_len();
        ok.then_some(Self {
            shape,
            first_day,
            values,
        })
    }

    /// The shape (stations, days, slots per day).
    pub fn shape(&self) -> FlowShape {
        self.shape
    }

    /// The calendar date of day 0 (local time, Asia/Shanghai for Hangzhou).
    pub fn first_day(&self) -> NaiveDate {
        self.first_day
    }

    /// The count of `station` at time `t`, or `None` outside the matrix.
    pub fn get(&self, station: usize, t: usize) -> Option<f64> {
        if station >= self.shape.stations {
            return None;
        }
        self.values.get(t * self.shape.stations + station).copied()
    }

    /// Sets one count (used to build variants of real data in tests and what-if runs).
    /// Returns `false` (and changes nothing) outside the matrix.
    pub fn set(&mut self, station: usize, t: usize, count: f64) -> bool {
        if station >= self.shape.stations {
            return false;
        }
        match self.values.get_mut(t * self.shape.stations + station) {
            Some(v) => {
                *v = count;
                true
            }
            None => false,
        }
    }

    /// Sum of all counts, in passengers.
    pub fn total(&self) -> f64 {
        self.values.iter().sum()
    }

    /// Sum over all stations and slots of day `day` (0-based), or `None` past the end.
    pub fn day_total(&self, day: usize) -> Option<f64> {
        let per_day = self.shape.stations * self.shape.slots_per_day;
        self.values
            .get(day * per_day..(day + 1) * per_day)
            .map(|d| d.iter().sum())
    }

    /// The calendar date of day index `day`.
    pub fn date_of_day(&self, day: usize) -> Option<NaiveDate> {
        self.first_day.checked_add_days(Days::new(day as u64))
    }

    /// The first `days` days only (a shorter matrix, e.g. to validate on a week that
    /// precedes the test week). `None` for 0 days or more days than the matrix has.
    pub fn first_days(&self, days: usize) -> Option<FlowMatrix> {
        if days == 0 || days > self.shape.days {
            return None;
        }
        let shape = FlowShape { days, ..self.shape };
        let values = self.values[..shape.stations * shape.time_len()].to_vec();
        Self::from_time_major(shape, self.first_day, values)
    }

    /// The data strictly before time `end` (clamped to the matrix length).
    pub fn history(&self, end: usize) -> History<'_> {
        let end = end.min(self.shape.time_len());
        History {
            stations: self.shape.stations,
            slots_per_day: self.shape.slots_per_day,
            values: &self.values[..end * self.shape.stations],
        }
    }
}

/// The observed past: a prefix of a [`FlowMatrix`], times `0 .. end()`. A forecast made
/// from a `History` cannot read a value at or after `end()`; this is what makes the rolling
/// evaluation free of look-ahead (leakage) by construction.
#[derive(Debug, Clone, Copy)]
pub struct History<'a> {
    stations: usize,
    slots_per_day: usize,
    values: &'a [f64],
}

impl<'a> History<'a> {
    /// One past the last observed time index: the forecast origin `t0`.
    pub fn end(&self) -> usize {
        self.values.len() / self.stations
    }

    /// Number of stations.
    pub fn stations(&self) -> usize {
        self.stations
    }

    /// Time slots per day.
    pub fn slots_per_day(&self) -> usize {
        self.slots_per_day
    }

    /// The counts of every station at time `t`, or `None` when `t >= end()`.
    pub fn at(&self, t: usize) -> Option<&'a [f64]> {
        self.values.get(t * self.stations..(t + 1) * self.stations)
    }

    /// A shorter prefix, times `0 .. end` (clamped to this history).
    pub fn prefix(&self, end: usize) -> History<'a> {
        let end = end.min(self.end());
        History {
            stations: self.stations,
            slots_per_day: self.slots_per_day,
            values: &self.values[..end * self.stations],
        }
    }
}

/// The undirected station graph over tensor rows: `neighbours[row]` lists the rows adjacent
/// to `row` on the metro network (see [`crate::metro::StationGraph`] for how graph ids map
/// to rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbours {
    /// For each tensor row, the adjacent tensor rows, ascending.
    pub rows: Vec<Vec<usize>>,
}

/// A forecast of every station for `horizon` slots from origin `t0`, in passengers per
/// slot, with central prediction intervals. Arrays are step-major:
/// `point[step · stations + station]` is the forecast for time `t0 + step`.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    /// Forecast origin: the first forecast time index; only data before it was used.
    pub t0: usize,
    /// Number of slots forecast.
    pub horizon: usize,
    /// Number of stations.
    pub stations: usize,
    /// Point forecasts (≥ 0).
    pub point: Vec<f64>,
    /// Lower and upper bounds of the 80 % interval (10 % and 90 % quantiles).
    pub lo80: Vec<f64>,
    /// Upper bound of the 80 % interval.
    pub hi80: Vec<f64>,
    /// Lower bound of the 95 % interval (2.5 % quantile).
    pub lo95: Vec<f64>,
    /// Upper bound of the 95 % interval (97.5 % quantile).
    pub hi95: Vec<f64>,
}
