//! Replaying the evacuation advice on the test week (2019-01-19 … 01-25, the last 756 slots
//! of the Hangzhou matrix): at every slot of every station the advice is computed from a
//! forecast made only from the data before that slot, exactly as it would have run live,
//! and compared with what happened.
//!
//! # Definitions
//! - **Forecast**: the ridge model of [`crate::forecast`] with its calibrated intervals,
//!   refitted at the start of each test day on all data before it (as in the evaluation),
//!   for the next [`ReplayConfig::horizon`] slots of the same day (the data has no night
//!   slots, so a forecast never crosses midnight).
//! - **Regular capacity** `C₀` of a station on a day: its highest slot over the
//!   [`EvacuationParams::capacity_days`] days before that day.
//! - **Actual crowd slot**: a slot whose real inflow exceeds `C₀`, i.e. more passengers
//!   than the station had in any slot of the two weeks before (the trigger
//!   [`EvacuationParams::trigger_excess`] is a property of the decision, not of what
//!   happened, so it does not enter here); a **crowd** is a run of consecutive crowd slots
//!   of one station, its **peak** the slot of its highest inflow.
//! - **Triggered station-slot**: a (station, slot) whose advice is triggered.
//! - **Alarm**: a triggered station-slot that opens a work order. While an alarm's window
//!   (its `horizon` slots) runs, later triggers of the same station join it instead of
//!   opening another order.
//! - An alarm is a **hit** when its window contains an actual crowd slot; its minutes
//!   before the peak are from the alarm to the peak of the first crowd in its window
//!   (negative or 0 when the peak had begun). It **fired for nothing** when its window
//!   holds no actual crowd slot. The false-alarm rate is those alarms over all alarms.
//! - A crowd is **warned ahead** when an alarm made before its peak slot has a window
//!   overlapping the crowd.

use chrono::{DateTime, Duration, FixedOffset, NaiveTime};

use crate::evacuation::{advise, Advice, EvacuationParams, SlotForecast};
use crate::evaluate::EvalError;
use crate::forecast::{Calibrated, FeatureContext, RidgeConfig, RidgeForecaster};
use crate::metro::MetroData;

/// Settings of the replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayConfig {
    /// The advice parameters.
    pub params: EvacuationParams,
    /// Slots ahead the advice looks (6 = one hour).
    pub horizon: usize,
    /// Slots at the end of the matrix replayed (756 = the test week).
    pub test_slots: usize,
    /// Ridge settings.
    pub ridge: RidgeConfig,
    /// Days of residuals the intervals are calibrated on.
    pub calibration_days: usize,
    /// Local clock time of slot 0 (06:00 for Hangzhou; see `docs/brain.md`).
    pub first_slot: NaiveTime,
    /// Offset of local time from UTC in seconds (Asia/Shanghai: +8 h).
    pub utc_offset_secs: i32,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        Self {
            params: EvacuationParams::default(),
            horizon: 6,
            test_slots: 756,
            ridge: RidgeConfig::default(),
            calibration_days: 7,
            first_slot: NaiveTime::from_hms_opt(6, 0, 0).unwrap_or_default(),
            utc_offset_secs: 8 * 3600,
        }
    }
}

/// How an alarm turned out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A real crowd came inside the alarm's window.
    Hit,
    /// No real crowd inside the window: it fired for nothing.
    FalseAlarm,
}

/// One alarm (a work order the replay would have opened).
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    /// Tensor row of the station.
    pub station: usize,
    /// Time index of the forecast origin.
    pub t0: usize,
    /// The advice.
    pub advice: Advice,
    /// Hit or false alarm.
    pub outcome: Outcome,
    /// Time index and start of the peak of the first real crowd in the window (hits).
    pub peak: Option<(usize, DateTime<FixedOffset>)>,
    /// Minutes from the alarm to that peak (hits).
    pub minutes_before_peak: Option<i64>,
}

/// One real crowd.
#[derive(Debug, Clone, PartialEq)]
pub struct Crowd {
    /// Tensor row of the station.
    pub station: usize,
    /// First and last crowd slot (time indices, inclusive).
    pub span: (usize, usize),
    /// Slot of the highest inflow.
    pub peak_t: usize,
    /// Minutes from the earliest alarm before the peak to the peak, when warned ahead.
    pub warned_minutes: Option<i64>,
}

/// What the replay found.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    /// Triggered station-slots (before grouping into alarms).
    pub triggered_slots: usize,
    /// Alarms in time order per station.
    pub alarms: Vec<Alarm>,
    /// Real crowds.
    pub crowds: Vec<Crowd>,
}

impl ReplayReport {
    /// Alarms followed by a real crowd within their horizon.
    pub fn hits(&self) -> usize {
        self.alarms
            .iter()
            .filter(|a| a.outcome == Outcome::Hit)
            .count()
    }

    /// Real crowds that an alarm warned of ahead of their peak.
    pub fn warned_crowds(&self) -> usize {
        self.crowds
            .iter()
            .filter(|c| c.warned_minutes.is_some())
            .count()
    }

    /// Alarms that fired for nothing over all alarms (0 without alarms).
    pub fn false_alarm_rate(&self) -> f64 {
        let f = self
            .alarms
            .iter()
            .filter(|a| a.outcome == Outcome::FalseAlarm)
            .count();
        f as f64 / self.alarms.len().max(1) as f64
    }

    /// Median minutes before the peak over the crowds warned ahead.
    pub fn median_warning_minutes(&self) -> Option<f64> {
        let mut v: Vec<i64> = self
            .crowds
            .iter()
            .filter_map(|c| c.warned_minutes)
            .collect();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let n = v.len();
        Some(if n % 2 == 1 {
            v[n / 2] as f64
        } else {
            (v[n / 2 - 1] + v[n / 2]) as f64 / 2.0
        })
    }
}

/// The local start time of time index `t` of `data`.
pub fn slot_time(data: &MetroData, cfg: &ReplayConfig, t: usize) -> Option<DateTime<FixedOffset>> {
    let s = data.flow.shape().slots_per_day;
    let tz = FixedOffset::east_opt(cfg.utc_offset_secs)?;
    let date = data.flow.date_of_day(t / s)?;
    let start = date
        .and_time(cfg.first_slot)
        .and_local_timezone(tz)
        .single()?;
    Some(start + Duration::minutes((t % s) as i64 * i64::from(cfg.params.slot_minutes)))
}

/// Replays the advice over the last `cfg.test_slots` slots for `stations` (tensor rows;
/// all when empty). See the module doc for the definitions.
///
/// # Errors
/// [`EvalError::Protocol`] when the period or a station does not fit the data;
/// [`EvalError::Forecast`] when the model cannot be fitted.
pub fn replay(
    data: &MetroData,
    cfg: &ReplayConfig,
    stations: &[usize],
) -> Result<ReplayReport, EvalError> {
    let shape = data.flow.shape();
    let (total, s_day, n) = (shape.time_len(), shape.slots_per_day, shape.stations);
    if cfg.test_slots == 0 || cfg.test_slots >= total || cfg.horizon == 0 {
        return Err(EvalError::Protocol(format!(
            "replay of {} slots, horizon {}, on a matrix of {total} slots",
            cfg.test_slots, cfg.horizon
        )));
    }
    if let Some(bad) = stations.iter().find(|&&s| s >= n) {
        return Err(EvalError::Protocol(format!(
            "station {bad} is not a tensor row (0..={})",
            n - 1
        )));
    }
    let chosen: Vec<usize> = if stations.is_empty() {
        (0..n).collect()
    } else {
        stations.to_vec()
    };
    let err = |source| EvalError::Forecast {
        method: "ridge",
        source,
    };
    let time = |t: usize| {
        slot_time(data, cfg, t)
            .ok_or_else(|| EvalError::Protocol(format!("time index {t} has no date")))
    };
    let ctx = FeatureContext::new(data);
    let start = total - cfg.test_slots;
    let p = &cfg.params;
    let mut report = ReplayReport {
        triggered_slots: 0,
        alarms: Vec::new(),
        crowds: Vec::new(),
    };
    let mut busy_until = vec![0usize; n];
    let mut day_start = start - start % s_day;
    while day_start < total {
        let day_end = day_start + s_day;
        let hist = data.flow.history(day_start.max(start));
        let model = RidgeForecaster::fit(&ctx, &hist, cfg.horizon, cfg.ridge).map_err(err)?;
        let model = Calibrated::new(
            model,
            &hist,
            cfg.horizon,
            cfg.calibration_days,
            ctx.min_origin(),
        )
        .map_err(err)?;
        // Regular capacity of each station on this day, from the days before it.
        let cap: Vec<f64> = (0..n)
            .map(|s| {
                let past: Vec<f64> = (0..day_start).filter_map(|t| data.flow.get(s, t)).collect();
                crate::evacuation::regular_capacity(&past, s_day, p.capacity_days).unwrap_or(0.0)
            })
            .collect();
        let crowd_at = |s: usize, t: usize| data.flow.get(s, t).is_some_and(|y| y > cap[s]);
        for t0 in day_start.max(start)..day_end {
            let len = cfg.horizon.min(day_end - t0);
            let f = model.forecast(&data.flow.history(t0), len).map_err(err)?;
            let made_at = time(t0)?;
            for &s in &chosen {
                let mut slots = Vec::with_capacity(len);
                for k in 0..len {
                    let i = k * n + s;
                    slots.push(SlotForecast {
                        for_time: time(t0 + k)?,
                        point: f.point[i],
                        hi80: f.hi80[i],
                        hi95: f.hi95[i],
                    });
                }
                let advice = advise(&crate::station::short_id(s), made_at, &slots, cap[s], p)
                    .map_err(|e| EvalError::Protocol(format!("station {s} at {t0}: {e}")))?;
                if !advice.triggered {
                    continue;
                }
                report.triggered_slots += 1;
                if t0 < busy_until[s] {
                    continue;
                }
                busy_until[s] = t0 + len;
                let first = (t0..t0 + len).find(|&t| crowd_at(s, t));
                let peak = match first {
                    Some(t) => {
                        let (a, b) = run_around(t, day_start, day_end, |u| crowd_at(s, u));
                        let pk = argmax(data, s, a, b);
                        Some((pk, time(pk)?))
                    }
                    None => None,
                };
                report.alarms.push(Alarm {
                    station: s,
                    t0,
                    outcome: if peak.is_some() {
                        Outcome::Hit
                    } else {
                        Outcome::FalseAlarm
                    },
                    minutes_before_peak: peak
                        .map(|(pk, _)| (pk as i64 - t0 as i64) * i64::from(p.slot_minutes)),
                    peak,
                    advice,
                });
            }
        }
        // The real crowds of this day.
        for &s in &chosen {
            let mut t = day_start.max(start);
            while t < day_end {
                if !crowd_at(s, t) {
                    t += 1;
                    continue;
                }
                let (a, b) = run_around(t, day_start, day_end, |u| crowd_at(s, u));
                let pk = argmax(data, s, a, b);
                let warned = report
                    .alarms
                    .iter()
                    .filter(|al| al.station == s && al.t0 < pk && al.t0 + cfg.horizon > a)
                    .map(|al| al.t0)
                    .min()
                    .map(|t0| (pk - t0) as i64 * i64::from(p.slot_minutes));
                report.crowds.push(Crowd {
                    station: s,
                    span: (a, b),
                    peak_t: pk,
                    warned_minutes: warned,
                });
                t = b + 1;
            }
        }
        day_start = day_end;
    }
    Ok(report)
}

/// The run of consecutive indices around `t` (inside `[lo, hi)`) where `pred` holds.
fn run_around(t: usize, lo: usize, hi: usize, pred: impl Fn(usize) -> bool) -> (usize, usize) {
    let mut a = t;
    while a > lo && pred(a - 1) {
        a -= 1;
    }
    let mut b = t;
    while b + 1 < hi && pred(b + 1) {
        b += 1;
    }
    (a, b)
}

/// The time index of the largest count of `station` in `[a, b]` (the first on ties).
fn argmax(data: &MetroData, station: usize, a: usize, b: usize) -> usize {
    (a..=b).fold(a, |best, t| {
        if data.flow.get(station, t) > data.flow.get(station, best) {
            t
        } else {
            best
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metro::load_hangzhou;

    #[test]
    fn station_9_is_warned_before_its_sunday_crowd() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/metro");
        let data = load_hangzhou(&dir).expect("real data");
        let cfg = ReplayConfig::default();
        let r = replay(&data, &cfg, &[9]).expect("replay");
        assert!(r.alarms.iter().all(|a| a.station == 9));
        // 2019-01-20 15:40: the forecast's 90 % quantile for 16:20 breaks the station's
        // two-week record (1,365) by more than 50; the real flow peaks at 16:20.
        let first = r
            .alarms
            .iter()
            .find(|a| a.advice.made_at == "2019-01-20T15:40:00+08:00")
            .expect("the 15:40 alarm");
        assert_eq!(first.outcome, Outcome::Hit);
        assert_eq!(first.minutes_before_peak, Some(40));
        assert_eq!(first.advice.for_time, "2019-01-20T16:20:00+08:00");
        assert_eq!(first.advice.assumptions.regular_capacity, 1365.0);
        let (peak_t, _) = first.peak.expect("peak");
        assert!(data.flow.get(9, peak_t).expect("count") > 1365.0);
        assert!(r.crowds.iter().any(|c| c.warned_minutes == Some(40)));
        assert!(replay(&data, &cfg, &[80]).is_err());
    }
}
