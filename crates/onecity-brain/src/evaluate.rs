//! The published rolling-forecast protocol on the Hangzhou metro matrix (xinychen/transdim,
//! `predictor/TRMF.ipynb`, `BTMF.ipynb`, `BTRMF.ipynb`, "Evaluation on Hangzhou Flow Data";
//! `../shared/data/README.md`, metro section), run the same way for the model and the
//! baselines.
//!
//! - The 80 × 2,700 matrix, time index `t = day · 108 + slot`.
//! - The last 7 days (756 slots, 2019-01-19 … 01-25) are forecast in consecutive windows of
//!   `h` = 2, 4 or 6 slots (378, 189 or 126 windows).
//! - Each window is forecast from a [`History`] that ends at the window's start: nothing at
//!   or after it can be read. Models are refitted at the start of each test day on all data
//!   before that day (refitting between windows is allowed by the protocol; transdim
//!   warm-starts TRMF before every window).
//! - MAPE = mean(|y − ŷ| / y) (a fraction) and RMSE, both over the non-zero true values;
//!   interval coverage (the share of those values inside the 80 % and 95 % intervals) is
//!   computed over the same values.

use std::fmt;

use crate::forecast::{
    Calibrated, FeatureContext, ForecastError, HistoricalAverage, LastWeek, Persistence,
    PointForecaster, RidgeConfig, RidgeForecaster,
};
use crate::metro::MetroData;
use crate::model::Forecast;

/// The forecasting methods the evaluation runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The global √-scale ridge model ([`RidgeForecaster`]).
    Ridge,
    /// Per station and slot mean over the days before the refit ([`HistoricalAverage`]).
    HistoricalAverage,
    /// The same slot one week earlier ([`LastWeek`]).
    LastWeek,
    /// The last observed value ([`Persistence`]).
    Persistence,
}

impl Method {
    /// The model and the three baselines, in report order.
    pub const ALL: [Method; 4] = [
        Method::Ridge,
        Method::HistoricalAverage,
        Method::LastWeek,
        Method::Persistence,
    ];

    /// The name printed after `baseline=` (`ridge` for the model).
    pub fn name(self) -> &'static str {
        match self {
            Method::Ridge => "ridge",
            Method::HistoricalAverage => "historical_average",
            Method::LastWeek => "last_week",
            Method::Persistence => "persistence",
        }
    }

    /// `true` for the reference baselines.
    pub fn is_baseline(self) -> bool {
        self != Method::Ridge
    }
}

/// Settings of the evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalConfig {
    /// Slots at the end of the matrix that are forecast (756 = the last 7 days).
    pub test_slots: usize,
    /// Window lengths in slots.
    pub horizons: Vec<usize>,
    /// Ridge settings.
    pub ridge: RidgeConfig,
    /// Days of residuals the intervals are calibrated on.
    pub calibration_days: usize,
}

impl Default for EvalConfig {
    /// The published protocol: 756 test slots, horizons 2, 4 and 6; 7 calibration days.
    fn default() -> Self {
        Self {
            test_slots: 756,
            horizons: vec![2, 4, 6],
            ridge: RidgeConfig::default(),
            calibration_days: 7,
        }
    }
}

/// Errors of the evaluation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The test period does not fit the matrix (too long, empty, or no horizon).
    #[error("bad protocol: {0}")]
    Protocol(String),
    /// A forecaster failed.
    #[error("{method}: {source}")]
    Forecast {
        /// The method's name.
        method: &'static str,
        /// What failed.
        source: ForecastError,
    },
}

/// Accuracy of one method at one horizon.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    /// The method.
    pub method: Method,
    /// Window length in slots.
    pub horizon: usize,
    /// Mean absolute percentage error over non-zero true values, as a fraction.
    pub mape: f64,
    /// Root mean squared error over non-zero true values, passengers per slot.
    pub rmse: f64,
    /// Share of non-zero true values inside the 80 % interval.
    pub cover80: f64,
    /// Share of non-zero true values inside the 95 % interval.
    pub cover95: f64,
    /// Number of non-zero true values scored.
    pub points: usize,
}

impl fmt::Display for Score {
    /// `horizon=2 mape=0.1234 rmse=12.34 cover80=0.81 cover95=0.95`, prefixed
    /// `baseline=<name> ` for baselines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.method.is_baseline() {
            write!(f, "baseline={} ", self.method.name())?;
        }
        write!(
            f,
            "horizon={} mape={:.4} rmse={:.2} cover80={:.2} cover95={:.2}",
            self.horizon, self.mape, self.rmse, self.cover80, self.cover95
        )
    }
}

fn fitted(
    method: Method,
    ctx: &FeatureContext,
    hist: &crate::model::History<'_>,
    cfg: &EvalConfig,
    max_h: usize,
) -> Result<Box<dyn PointForecaster>, ForecastError> {
    Ok(match method {
        Method::Ridge => Box::new(RidgeForecaster::fit(ctx, hist, max_h, cfg.ridge)?),
        Method::HistoricalAverage => Box::new(HistoricalAverage::fit(hist)?),
        Method::LastWeek => Box::new(LastWeek),
        Method::Persistence => Box::new(Persistence),
    })
}

/// Rolling forecasts of `method` over the test period for each of `horizons`: element `i`
/// of the result holds the windows of `horizons[i]`, in time order. The model is refitted
/// at the start of each test day (or at the test start) on the data before it, and each
/// window is forecast from the data before its own start only.
///
/// # Errors
/// [`EvalError::Protocol`] when the test period or horizons do not fit the matrix;
/// [`EvalError::Forecast`] when fitting or forecasting fails.
pub fn rolling_forecasts(
    data: &MetroData,
    method: Method,
    cfg: &EvalConfig,
    horizons: &[usize],
) -> Result<Vec<Vec<Forecast>>, EvalError> {
    let shape = data.flow.shape();
    let total = shape.time_len();
    let s_day = shape.slots_per_day;
    let max_h = horizons.iter().copied().max().unwrap_or(0);
    if cfg.test_slots == 0 || cfg.test_slots >= total || max_h == 0 || horizons.contains(&0) {
        return Err(EvalError::Protocol(format!(
            "test of {} slots with horizons {horizons:?} on a matrix of {total} slots",
            cfg.test_slots
        )));
    }
    let err = |source| EvalError::Forecast {
        method: method.name(),
        source,
    };
    let ctx = FeatureContext::new(data);
    let test_start = total - cfg.test_slots;
    let mut out: Vec<Vec<Forecast>> = vec![Vec::new(); horizons.len()];
    let mut refit_at = test_start;
    while refit_at < total {
        let next_refit = (refit_at / s_day + 1) * s_day;
        let hist = data.flow.history(refit_at);
        let model = fitted(method, &ctx, &hist, cfg, max_h).map_err(err)?;
        let model = Calibrated::new(model, &hist, max_h, cfg.calibration_days, ctx.min_origin())
            .map_err(err)?;
        for (i, &h) in horizons.iter().enumerate() {
            // Windows of this horizon that start in [refit_at, next_refit).
            let first = test_start + (refit_at - test_start).div_ceil(h) * h;
            let mut t0 = first;
            while t0 < next_refit.min(total) {
                let len = h.min(total - t0);
                let f = model.forecast(&data.flow.history(t0), len).map_err(err)?;
                out[i].push(f);
                t0 += h;
            }
        }
        refit_at = next_refit;
    }
    Ok(out)
}

/// Scores forecasts against the matrix (see the module doc for the definitions).
pub fn score(data: &MetroData, method: Method, horizon: usize, forecasts: &[Forecast]) -> Score {
    let (mut ape, mut se, mut in80, mut in95, mut n) = (0.0, 0.0, 0usize, 0usize, 0usize);
    for f in forecasts {
        for step in 0..f.horizon {
            for station in 0..f.stations {
                let Some(y) = data.flow.get(station, f.t0 + step) else {
                    continue;
                };
                if y == 0.0 {
                    continue;
                }
                let i = step * f.stations + station;
                let e = y - f.point[i];
                ape += e.abs() / y;
                se += e * e;
                in80 += usize::from(f.lo80[i] <= y && y <= f.hi80[i]);
                in95 += usize::from(f.lo95[i] <= y && y <= f.hi95[i]);
                n += 1;
            }
        }
    }
    let nf = n.max(1) as f64;
    Score {
        method,
        horizon,
        mape: ape / nf,
        rmse: (se / nf).sqrt(),
        cover80: in80 as f64 / nf,
        cover95: in95 as f64 / nf,
        points: n,
    }
}

/// Runs the protocol for every method of `methods` and every horizon of `cfg`, in that
/// order (methods outer).
///
/// # Errors
/// The errors of [`rolling_forecasts`].
pub fn evaluate(
    data: &MetroData,
    cfg: &EvalConfig,
    methods: &[Method],
) -> Result<Vec<Score>, EvalError> {
    let mut scores = Vec::new();
    for &method in methods {
        let all = rolling_forecasts(data, method, cfg, &cfg.horizons)?;
        for (h, forecasts) in cfg.horizons.iter().zip(&all) {
            scores.push(score(data, method, *h, forecasts));
        }
    }
    Ok(scores)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metro::load_hangzhou;

    fn data() -> MetroData {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/metro");
        load_hangzhou(&dir).expect("real data")
    }

    #[test]
    fn baselines_match_the_reference_computation() {
        // Reference values computed independently with numpy on the same protocol.
        let data = data();
        let cfg = EvalConfig::default();
        let last_week = rolling_forecasts(&data, Method::LastWeek, &cfg, &[2]).expect("run");
        assert_eq!(last_week[0].len(), 378);
        let s = score(&data, Method::LastWeek, 2, &last_week[0]);
        assert!((s.mape - 0.224_176).abs() < 1e-5, "{s}");
        assert!((s.rmse - 34.747_06).abs() < 1e-3, "{s}");
        let persistence =
            rolling_forecasts(&data, Method::Persistence, &cfg, &[2, 6]).expect("run");
        let s2 = score(&data, Method::Persistence, 2, &persistence[0]);
        let s6 = score(&data, Method::Persistence, 6, &persistence[1]);
        assert!((s2.mape - 0.336_254).abs() < 1e-5, "{s2}");
        assert!((s2.rmse - 53.786_36).abs() < 1e-3, "{s2}");
        assert!((s6.rmse - 82.803_59).abs() < 1e-3, "{s6}");
        assert_eq!(persistence[1].len(), 126);
    }

    #[test]
    fn a_window_does_not_see_values_at_or_after_its_start() {
        let data = data();
        let cfg = EvalConfig {
            test_slots: 2 * 108,
            ..EvalConfig::default()
        };
        let clean = rolling_forecasts(&data, Method::Ridge, &cfg, &[2, 6]).expect("run");
        // Corrupt everything from the middle of the first test day on.
        let cut = 2700 - 2 * 108 + 54;
        let mut corrupted = data.clone();
        for t in cut..2700 {
            for s in 0..80 {
                corrupted.flow.set(s, t, 1e6 + (s * t) as f64);
            }
        }
        let dirty = rolling_forecasts(&corrupted, Method::Ridge, &cfg, &[2, 6]).expect("run");
        for (clean_h, dirty_h) in clean.iter().zip(&dirty) {
            let mut compared = 0;
            for (a, b) in clean_h.iter().zip(dirty_h) {
                if a.t0 <= cut {
                    assert_eq!(a, b, "window at {} changed", a.t0);
                    compared += 1;
                } else if a.t0 >= 2700 - 108 + 6 {
                    // After the cut the inputs differ, so the forecasts must too.
                    assert_ne!(a.point, b.point, "window at {} ignored its inputs", a.t0);
                }
            }
            assert!(compared >= 9);
        }
    }

    #[test]
    fn ridge_beats_trmf_on_the_published_protocol() {
        let data = data();
        let scores = evaluate(&data, &EvalConfig::default(), &[Method::Ridge]).expect("run");
        // TRMF, transdim's published results on the complete data (MAPE, RMSE).
        let trmf = [(0.2247, 30.58), (0.2414, 32.63), (0.2541, 33.91)];
        for (s, (mape, rmse)) in scores.iter().zip(trmf) {
            assert!(s.mape < mape && s.rmse < rmse, "{s} vs TRMF {mape} {rmse}");
            assert!(s.cover80 > 0.6 && s.cover95 > 0.8, "{s}");
        }
    }

    #[test]
    fn bad_protocols_are_refused() {
        let data = data();
        let too_long = EvalConfig {
            test_slots: 2700,
            ..EvalConfig::default()
        };
        assert!(matches!(
            evaluate(&data, &too_long, &[Method::Persistence]),
            Err(EvalError::Protocol(_))
        ));
        let too_early = EvalConfig {
            test_slots: 2700 - 100,
            ..EvalConfig::default()
        };
        assert!(matches!(
            evaluate(&data, &too_early, &[Method::Ridge]),
            Err(EvalError::Forecast { .. })
        ));
        let zero_h = EvalConfig {
            horizons: vec![0],
            ..EvalConfig::default()
        };
        assert!(evaluate(&data, &zero_h, &[Method::Persistence]).is_err());
    }
}
