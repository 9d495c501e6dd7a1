//! Station passenger-flow forecasters: a global ridge regression on the square-root scale
//! (direct, one model per step ahead) and the three reference baselines, all with
//! empirical prediction intervals. Pure logic: no IO, no database, no HTTP.
//!
//! # The model
//! One linear model per step ahead `k = 0 … h-1` (the *direct* multi-step strategy, so no
//! forecast is fed back as an input), shared by all stations ("global"), fitted by ridge
//! regression (Hoerl & Kennard 1970) on `z = √count`. The square root stabilises the
//! variance of counts (for a Poisson count `Var(√y) ≈ 1/4` whatever the level, after
//! Anscombe 1948), so one model serves a station of 20 and one of 800 passengers per slot,
//! and squared errors on `z` weigh small stations more than on the raw scale, which is what
//! MAPE rewards. For origin `t0` (the first unobserved slot) and target `t = t0 + k`, with
//! `S` slots per day and `W = 7·S`, the [`N_FEATURES`] inputs are:
//!
//! | # | feature (all on the √ scale) |
//! |---|---|
//! | 0–5 | the last six observations `z[t0-1] … z[t0-6]` (closeness) |
//! | 6–8 | the target slot one week earlier and its two neighbours `z[t-W-1], z[t-W], z[t-W+1]` |
//! | 9–11 | the target slot one day earlier and its neighbours `z[t-S-1], z[t-S], z[t-S+1]` |
//! | 12–14 | one week before the origin `z[t0-W-1] … z[t0-W-3]` (today's deviation from last week in reach) |
//! | 15–17 | one day before the origin `z[t0-S-1] … z[t0-S-3]` |
//! | 18–20 | mean over the station's graph neighbours of `z[t0-1]`, `z[t0-W-1]`, `z[t-W]` |
//! | 21–22 | day-type change against last week (`rest(d) ≠ rest(d-7)`, e.g. a holiday then) and that flag × `z[t-W]` |
//! | 23–24 | day-type change against yesterday and that flag × `z[t-S]` |
//! | 25 | the target day is a rest day (weekend or holiday, 2019 calendar) |
//! | 26 | intercept (not penalised) |
//!
//! The forecast is `max(ẑ, 0)²` (a median rather than a mean forecast on the count scale).
//!
//! # Prediction intervals
//! Per step ahead, the 2.5 %, 10 %, 90 % and 97.5 % quantiles of the √-scale residuals
//! over the last `calibration_days` days before the fit (the same split conformal idea as
//! Lei et al. 2018, without the held-out split: for the ridge these residuals are in-sample,
//! which with 27 coefficients and ~10⁵ rows costs little) are added to `ẑ` and squared.
//! Baselines get their intervals the same way from their own residuals.

use nalgebra::{DMatrix, DVector};

use crate::metro::MetroData;
use crate::model::{Forecast, History};

/// The longest horizon a forecaster accepts, in slots (12 = two hours of 10-minute slots).
/// Features read the target slot one day earlier and the slot after it, so a horizon must
/// stay well inside one day.
pub const MAX_HORIZON: usize = 12;

/// Number of inputs of the ridge model (see the module doc).
pub const N_FEATURES: usize = 27;

/// Errors of fitting and forecasting. No function here panics on bad input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    /// The history is too short: the features need one week and three slots before the
    /// origin, and fitting needs at least one day of targets after that.
    #[error("not enough history: origin {origin}, at least {needed} slots are needed")]
    TooLittleHistory {
        /// The origin asked for.
        origin: usize,
        /// The least origin that works.
        needed: usize,
    },
    /// A horizon of 0 or longer than [`MAX_HORIZON`].
    #[error("horizon {horizon} is outside 1..={MAX_HORIZON} slots")]
    BadHorizon {
        /// The horizon asked for.
        horizon: usize,
    },
    /// The forecast would reach past the days the calendar features were built for.
    #[error("target time {target} is past the last day the features know ({days} days)")]
    PastCalendar {
        /// The first target time index that is not covered.
        target: usize,
        /// Days covered.
        days: usize,
    },
    /// The normal equations could not be solved (no data, or all-constant inputs).
    #[error("the ridge system is not positive definite")]
    Singular,
    /// The history's station count differs from the model's.
    #[error("history has {found} stations, the model {expected}")]
    Stations {
        /// Stations of the model.
        expected: usize,
        /// Stations of the history.
        found: usize,
    },
}

/// What the features know besides the observations: the graph and the day types. The
/// calendar is known in advance, so rest-day flags of future days are not look-ahead.
#[derive(Debug, Clone)]
pub struct FeatureContext {
    neighbours: Vec<Vec<usize>>,
    rest: Vec<bool>,
    slots_per_day: usize,
}

impl FeatureContext {
    /// Builds the context of a metro data set: neighbours per tensor row and the rest-day
    /// flag of each day of the flow matrix.
    pub fn new(data: &MetroData) -> Self {
        let shape = data.flow.shape();
        let rest = (0..shape.days)
            .map(|d| {
                data.flow
                    .date_of_day(d)
                    .is_some_and(|date| data.calendar.is_rest_day(date))
            })
            .collect();
        Self {
            neighbours: data.graph.neighbours.rows.clone(),
            rest,
            slots_per_day: shape.slots_per_day,
        }
    }

    /// Slots in a week.
    fn week(&self) -> usize {
        7 * self.slots_per_day
    }

    /// The time-of-day band (0 .. bands) of time index `t`: equal shares of the day.
    fn band(&self, t: usize, bands: usize) -> usize {
        (t % self.slots_per_day) * bands / self.slots_per_day
    }

    /// The earliest origin the features can be computed for: one week and three slots.
    pub fn min_origin(&self) -> usize {
        self.week() + 3
    }

    fn check(&self, hist: &History<'_>, horizon: usize) -> Result<(), ForecastError> {
        if horizon == 0 || horizon > MAX_HORIZON {
            return Err(ForecastError::BadHorizon { horizon });
        }
        if hist.stations() != self.neighbours.len() {
            return Err(ForecastError::Stations {
                expected: self.neighbours.len(),
                found: hist.stations(),
            });
        }
        let t0 = hist.end();
        if t0 < self.min_origin() {
            return Err(ForecastError::TooLittleHistory {
                origin: t0,
                needed: self.min_origin(),
            });
        }
        let last = t0 + horizon - 1;
        if last / self.slots_per_day >= self.rest.len() {
            return Err(ForecastError::PastCalendar {
                target: last,
                days: self.rest.len(),
            });
        }
        Ok(())
    }

    /// The inputs for `station`, origin `hist.end()`, target `hist.end() + step`. Callers
    /// have run [`FeatureContext::check`]; every index read is then before the origin.
    fn features(&self, hist: &History<'_>, step: usize, station: usize, x: &mut [f64; N_FEATURES]) {
        let (s_day, week) = (self.slots_per_day, self.week());
        let t0 = hist.end();
        let t = t0 + step;
        let z = |time: usize, st: usize| root(hist, time, st);
        let nb_mean = |time: usize| {
            let nb = &self.neighbours[station];
            if nb.is_empty() {
                return z(time, station);
            }
            nb.iter().map(|&n| z(time, n)).sum::<f64>() / nb.len() as f64
        };
        for lag in 1..=6 {
            x[lag - 1] = z(t0 - lag, station);
        }
        for (i, time) in [t - week - 1, t - week, t - week + 1]
            .into_iter()
            .enumerate()
        {
            x[6 + i] = z(time, station);
        }
        for (i, time) in [t - s_day - 1, t - s_day, t - s_day + 1]
            .into_iter()
            .enumerate()
        {
            x[9 + i] = z(time, station);
        }
        for lag in 1..=3 {
            x[11 + lag] = z(t0 - week - lag, station);
            x[14 + lag] = z(t0 - s_day - lag, station);
        }
        x[18] = nb_mean(t0 - 1);
        x[19] = nb_mean(t0 - week - 1);
        x[20] = nb_mean(t - week);
        let day = t / s_day;
        let rest_target = self.rest[day];
        let week_change = flag(rest_target != self.rest[day - 7]);
        let day_change = flag(rest_target != self.rest[day - 1]);
        x[21] = week_change;
        x[22] = week_change * x[7];
        x[23] = day_change;
        x[24] = day_change * x[10];
        x[25] = flag(rest_target);
        x[26] = 1.0;
    }
}

fn flag(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// `√count` at (`time`, `station`); NaN (never silently 0) if the index is unobserved.
fn root(hist: &History<'_>, time: usize, station: usize) -> f64 {
    hist.at(time)
        .and_then(|row| row.get(station))
        .map_or(f64::NAN, |v| v.max(0.0).sqrt())
}

/// Something that forecasts all stations for one step ahead of `hist.end()`.
pub trait PointForecaster {
    /// Writes the point forecasts (passengers per slot, ≥ 0) of every station for time
    /// `hist.end() + step` into `out` (one value per station).
    ///
    /// # Errors
    /// A [`ForecastError`] when the history or step does not fit the model.
    fn predict_step(
        &self,
        hist: &History<'_>,
        step: usize,
        out: &mut [f64],
    ) -> Result<(), ForecastError>;
}

impl<M: PointForecaster + ?Sized> PointForecaster for Box<M> {
    fn predict_step(
        &self,
        hist: &History<'_>,
        step: usize,
        out: &mut [f64],
    ) -> Result<(), ForecastError> {
        (**self).predict_step(hist, step, out)
    }
}

/// Settings of the ridge forecaster.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RidgeConfig {
    /// Ridge penalty per training row: the system solved is
    /// `(XᵀX + λ·n·I′) β = Xᵀy` with `I′` the identity without the intercept.
    pub lambda: f64,
    /// Number of equal time-of-day bands with their own coefficients (1 = one model for
    /// the whole day). Rush-hour dynamics differ from the evening's; a band per few hours
    /// lets a linear model follow that.
    pub slot_bands: usize,
}

impl Default for RidgeConfig {
    /// `λ = 10⁻³` and one band. Chosen on a validation week before the test week
    /// (2019-01-12 … 01-18, the same protocol on days 1–18 only): 4 to 18 bands were worse
    /// there (MAPE at 2 slots 0.211–0.218 against 0.205), so the test week was not used
    /// to choose.
    fn default() -> Self {
        Self {
            lambda: 1e-3,
            slot_bands: 1,
        }
    }
}

/// The fitted ridge model: coefficients per step ahead and time-of-day band, √ scale.
#[derive(Debug, Clone)]
pub struct RidgeForecaster {
    ctx: FeatureContext,
    bands: usize,
    /// `coef[step · bands + band]`.
    coef: Vec<[f64; N_FEATURES]>,
}

impl RidgeForecaster {
    /// Fits one model per step `0 .. horizon` and time-of-day band of the target slot, on
    /// every origin of `hist` whose target is observed (targets before `hist.end()`).
    ///
    /// # Errors
    /// [`ForecastError::TooLittleHistory`] with less than one day of usable targets,
    /// [`ForecastError::BadHorizon`], [`ForecastError::Singular`] (also for `slot_bands`
    /// of 0 or more bands than slots in a day).
    pub fn fit(
        ctx: &FeatureContext,
        hist: &History<'_>,
        horizon: usize,
        cfg: RidgeConfig,
    ) -> Result<Self, ForecastError> {
        if horizon == 0 || horizon > MAX_HORIZON {
            return Err(ForecastError::BadHorizon { horizon });
        }
        let bands = cfg.slot_bands;
        if bands == 0 || bands > ctx.slots_per_day {
            return Err(ForecastError::Singular);
        }
        let first = ctx.min_origin();
        let needed = first + ctx.slots_per_day + horizon;
        if hist.end() < needed {
            return Err(ForecastError::TooLittleHistory {
                origin: hist.end(),
                needed,
            });
        }
        let stations = hist.stations();
        let mut coef = Vec::with_capacity(horizon * bands);
        let mut x = [0.0; N_FEATURES];
        for step in 0..horizon {
            // Upper triangles of XᵀX and Xᵀy per band, as plain arrays (the hot loop).
            let mut gram = vec![[[0.0f64; N_FEATURES]; N_FEATURES]; bands];
            let mut rhs = vec![[0.0f64; N_FEATURES]; bands];
            let mut rows = vec![0usize; bands];
            for t0 in first..hist.end() - step {
                let past = hist.prefix(t0);
                let band = ctx.band(t0 + step, bands);
                let (g, r) = (&mut gram[band], &mut rhs[band]);
                for station in 0..stations {
                    ctx.features(&past, step, station, &mut x);
                    let y = root(hist, t0 + step, station);
                    for i in 0..N_FEATURES {
                        r[i] += x[i] * y;
                        let xi = x[i];
                        for (gij, xj) in g[i][i..].iter_mut().zip(&x[i..]) {
                            *gij += xi * xj;
                        }
                    }
                }
                rows[band] += stations;
            }
            for band in 0..bands {
                let g = &gram[band];
                let mut m = DMatrix::<f64>::from_fn(N_FEATURES, N_FEATURES, |i, j| {
                    if i <= j {
                        g[i][j]
                    } else {
                        g[j][i]
                    }
                });
                for i in 0..N_FEATURES - 1 {
                    m[(i, i)] += cfg.lambda * rows[band] as f64;
                }
                let beta = m
                    .cholesky()
                    .ok_or(ForecastError::Singular)?
                    .solve(&DVector::from_column_slice(&rhs[band]));
                let mut c = [0.0; N_FEATURES];
                for (dst, src) in c.iter_mut().zip(beta.iter()) {
                    *dst = *src;
                }
                if c.iter().any(|v| !v.is_finite()) {
                    return Err(ForecastError::Singular);
                }
                coef.push(c);
            }
        }
        Ok(Self {
            ctx: ctx.clone(),
            bands,
            coef,
        })
    }

    /// The coefficients of step `step` and time-of-day band `band` (√ scale, in the order
    /// of the module doc's table).
    pub fn coefficients(&self, step: usize, band: usize) -> Option<&[f64; N_FEATURES]> {
        if band >= self.bands {
            return None;
        }
        self.coef.get(step * self.bands + band)
    }
}

impl PointForecaster for RidgeForecaster {
    fn predict_step(
        &self,
        hist: &History<'_>,
        step: usize,
        out: &mut [f64],
    ) -> Result<(), ForecastError> {
        self.ctx.check(hist, step + 1)?;
        let band = self.ctx.band(hist.end() + step, self.bands);
        let beta = self
            .coefficients(step, band)
            .ok_or(ForecastError::BadHorizon { horizon: step + 1 })?;
        let mut x = [0.0; N_FEATURES];
        for (station, slot) in out.iter_mut().enumerate().take(hist.stations()) {
            self.ctx.features(hist, step, station, &mut x);
            let z: f64 = x.iter().zip(beta).map(|(a, b)| a * b).sum();
            *slot = z.max(0.0).powi(2);
        }
        Ok(())
    }
}

/// Baseline: the mean count of each station and slot of the day over the full days of the
/// fitting history (transdim's "historical average").
#[derive(Debug, Clone)]
pub struct HistoricalAverage {
    slots_per_day: usize,
    mean: Vec<f64>,
}

impl HistoricalAverage {
    /// Averages the full days of `hist` (station-major `mean[slot · stations + station]`).
    ///
    /// # Errors
    /// [`ForecastError::TooLittleHistory`] when `hist` holds no full day.
    pub fn fit(hist: &History<'_>) -> Result<Self, ForecastError> {
        let s_day = hist.slots_per_day();
        let days = hist.end() / s_day;
        if days == 0 {
            return Err(ForecastError::TooLittleHistory {
                origin: hist.end(),
                needed: s_day,
            });
        }
        let n = hist.stations();
        let mut mean = vec![0.0; s_day * n];
        for t in 0..days * s_day {
            if let Some(row) = hist.at(t) {
                let slot = t % s_day;
                for (m, v) in mean[slot * n..(slot + 1) * n].iter_mut().zip(row) {
                    *m += v / days as f64;
                }
            }
        }
        Ok(Self {
            slots_per_day: s_day,
            mean,
        })
    }
}

impl PointForecaster for HistoricalAverage {
    fn predict_step(
        &self,
        hist: &History<'_>,
        step: usize,
        out: &mut [f64],
    ) -> Result<(), ForecastError> {
        let n = hist.stations();
        let slot = (hist.end() + step) % self.slots_per_day;
        let means = self
            .mean
            .get(slot * n..(slot + 1) * n)
            .ok_or(ForecastError::Stations {
                expected: self.mean.len() / self.slots_per_day,
                found: n,
            })?;
        out.iter_mut().zip(means).for_each(|(o, m)| *o = *m);
        Ok(())
    }
}

/// Baseline: the same slot one week (`7 · slots_per_day`) earlier.
#[derive(Debug, Clone, Copy, Default)]
pub struct LastWeek;

impl PointForecaster for LastWeek {
    fn predict_step(
        &self,
        hist: &History<'_>,
        step: usize,
        out: &mut [f64],
    ) -> Result<(), ForecastError> {
        let week = 7 * hist.slots_per_day();
        let t = hist.end() + step;
        let row = t
            .checked_sub(week)
            .filter(|&past| past < hist.end())
            .and_then(|past| hist.at(past))
            .ok_or(ForecastError::TooLittleHistory {
                origin: hist.end(),
                needed: week,
            })?;
        out.iter_mut().zip(row).for_each(|(o, v)| *o = *v);
        Ok(())
    }
}

/// Baseline: persistence, the last observed value for every step ahead.
#[derive(Debug, Clone, Copy, Default)]
pub struct Persistence;

impl PointForecaster for Persistence {
    fn predict_step(
        &self,
        hist: &History<'_>,
        _step: usize,
        out: &mut [f64],
    ) -> Result<(), ForecastError> {
        let row = hist.end().checked_sub(1).and_then(|t| hist.at(t)).ok_or(
            ForecastError::TooLittleHistory {
                origin: 0,
                needed: 1,
            },
        )?;
        out.iter_mut().zip(row).for_each(|(o, v)| *o = *v);
        Ok(())
    }
}

/// A point forecaster with empirical √-scale residual quantiles per step ahead:
/// `[q2.5, q10, q90, q97.5]`.
pub struct Calibrated<M> {
    model: M,
    quantiles: Vec<[f64; 4]>,
}

/// Quantile levels of [`Calibrated`]'s intervals: the central 95 % and 80 % intervals.
pub const INTERVAL_LEVELS: [f64; 4] = [0.025, 0.10, 0.90, 0.975];

impl<M: PointForecaster> Calibrated<M> {
    /// Computes residual quantiles of `model` for steps `0 .. horizon` over the origins of
    /// the last `days` days of `hist` whose targets are observed.
    ///
    /// # Errors
    /// The model's errors, or [`ForecastError::TooLittleHistory`] if no residual exists.
    pub fn new(
        model: M,
        hist: &History<'_>,
        horizon: usize,
        days: usize,
        min_origin: usize,
    ) -> Result<Self, ForecastError> {
        let n = hist.stations();
        let start = hist
            .end()
            .saturating_sub(days * hist.slots_per_day())
            .max(min_origin);
        let mut out = vec![0.0; n];
        let mut quantiles = Vec::with_capacity(horizon);
        for step in 0..horizon {
            let mut residuals = Vec::new();
            for t0 in start..hist.end().saturating_sub(step) {
                let past = hist.prefix(t0);
                model.predict_step(&past, step, &mut out)?;
                let truth = hist.at(t0 + step).ok_or(ForecastError::TooLittleHistory {
                    origin: t0,
                    needed: t0 + step + 1,
                })?;
                residuals.extend(
                    truth
                        .iter()
                        .zip(&out)
                        .map(|(y, p)| y.max(0.0).sqrt() - p.max(0.0).sqrt()),
                );
            }
            if residuals.is_empty() {
                return Err(ForecastError::TooLittleHistory {
                    origin: hist.end(),
                    needed: start + step + 1,
                });
            }
            residuals.sort_by(f64::total_cmp);
            quantiles.push(INTERVAL_LEVELS.map(|p| quantile_sorted(&residuals, p)));
        }
        Ok(Self { model, quantiles })
    }

    /// Forecasts `horizon` slots from `hist.end()` with 80 % and 95 % intervals.
    ///
    /// # Errors
    /// The model's errors; [`ForecastError::BadHorizon`] past the calibrated horizon.
    pub fn forecast(&self, hist: &History<'_>, horizon: usize) -> Result<Forecast, ForecastError> {
        if horizon == 0 || horizon > self.quantiles.len() {
            return Err(ForecastError::BadHorizon { horizon });
        }
        let n = hist.stations();
        let mut f = Forecast {
            t0: hist.end(),
            horizon,
            stations: n,
            point: vec![0.0; horizon * n],
            lo80: vec![0.0; horizon * n],
            hi80: vec![0.0; horizon * n],
            lo95: vec![0.0; horizon * n],
            hi95: vec![0.0; horizon * n],
        };
        for step in 0..horizon {
            let range = step * n..(step + 1) * n;
            self.model
                .predict_step(hist, step, &mut f.point[range.clone()])?;
            let [q025, q10, q90, q975] = self.quantiles[step];
            for i in range {
                let z = f.point[i].sqrt();
                let sq = |v: f64| v.max(0.0).powi(2);
                f.lo95[i] = sq(z + q025);
                f.lo80[i] = sq(z + q10);
                f.hi80[i] = sq(z + q90);
                f.hi95[i] = sq(z + q975);
            }
        }
        Ok(f)
    }
}

/// Linear-interpolation quantile (Hyndman & Fan 1996, type 7) of ascending `sorted`.
fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let h = (sorted.len() - 1) as f64 * p.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&v, 0.5), 3.0);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 5.0);
        assert!((quantile_sorted(&v, 0.1) - 1.4).abs() < 1e-12);
        assert!(quantile_sorted(&[], 0.5).is_nan());
    }
}
