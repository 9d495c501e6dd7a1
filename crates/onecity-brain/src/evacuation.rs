//! Crowd-evacuation advice (客流疏散建议) for a metro station: from the station's forecast
//! for the next slots and documented parameters of the transport modes, how many extra
//! vehicles of each mode to send and when. Pure logic: no IO, no database, no HTTP.
//!
//! # The crowd
//! The Hangzhou data counts **tap-in inflow** (进站客流) per station and 10-minute slot (see
//! `../shared/data/README.md`, metro section: the counts sum to the trips once, so they are
//! entries). Those passengers are the crowd that has to be carried away from the station:
//! they wait on the platform for a train. The data has no outflow (exits), so the advice
//! is computed on the inflow; a station with exit counts would use them the same way.
//!
//! # The rule
//! 1. **Demand** of a future slot = the forecast at a chosen level: the point forecast, or
//!    the upper bound of the 80 % interval (the 90 % quantile, the default) or of the 95 %
//!    interval (the 97.5 % quantile).
//! 2. **Regular capacity** `C₀` = what the scheduled service already clears at the
//!    station in one slot. The data has no timetable or line loads, so `C₀` is taken from
//!    the station's own past: the highest 10-minute inflow over the last
//!    [`EvacuationParams::capacity_days`] days (see [`regular_capacity`]). A crowd is
//!    therefore a flow larger than anything the station handled in that period.
//! 3. **Excess** of each slot = demand − `C₀`. The advice targets the slot with the
//!    largest excess (the forecast peak) and covers its excess.
//! 4. **Vehicles**: minimise `Σ cost_m · n_m` subject to `Σ capacity_m · n_m ≥ excess`,
//!    `0 ≤ n_m ≤ max_m`, `n_m` integer, and `n_m = 0` for a mode whose dispatch lead time
//!    is longer than the time to the target slot (it would arrive late). When even every
//!    available vehicle cannot cover the excess, the plan covers as much as it can first,
//!    then costs least. The problem has three bounded integer variables; [`plan_vehicles`]
//!    solves it **exactly** by enumerating the metro and bus counts (at most a few hundred
//!    pairs) and taking the smallest taxi count that covers the rest (for fixed other
//!    counts that is optimal, as every cost is positive), so no LP solver is needed.
//! 5. Each mode's **dispatch time** is the target slot's start minus its lead time.
//! 6. The advice is **triggered** when the excess is at least
//!    [`EvacuationParams::trigger_excess`] passengers; a triggered advice opens a governance
//!    event with a work order for the transport department (see `crate::workorder`).

use chrono::{DateTime, Duration, FixedOffset, NaiveTime, Timelike};
use serde::Serialize;

/// A transport mode that can clear a crowd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Extra metro trains inserted into the line (加开列车).
    Metro,
    /// Buses sent to the station (公交接驳).
    Bus,
    /// Taxis called to the station rank (出租车调度).
    Taxi,
}

impl Mode {
    /// The serialised name (`metro`, `bus`, `taxi`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Metro => "metro",
            Mode::Bus => "bus",
            Mode::Taxi => "taxi",
        }
    }

    /// The Chinese name (`地铁`, `公交`, `出租车`).
    pub fn name_zh(self) -> &'static str {
        match self {
            Mode::Metro => "地铁",
            Mode::Bus => "公交",
            Mode::Taxi => "出租车",
        }
    }
}

/// Documented parameters of one mode. All values are assumptions unless `source` says
/// otherwise; the operator's own figures replace them in a real deployment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeParams {
    /// The mode.
    pub mode: Mode,
    /// Passengers one vehicle carries away (per trip).
    pub capacity: u32,
    /// Minutes from the dispatch order until the vehicle is at the station.
    pub lead_minutes: u32,
    /// Most extra vehicles of this mode for one slot (for metro: see
    /// [`MetroTimetable::extra_trains`], which bounds it further by the headway).
    pub max_vehicles: u32,
    /// Relative cost of one vehicle trip (a bus trip = 1).
    pub cost: f64,
    /// Where the figures come from.
    pub source: &'static str,
}

/// The metro timetable assumptions that bound how many trains can be inserted.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetroTimetable {
    /// Scheduled headway in the peaks, minutes.
    pub peak_headway_min: f64,
    /// Scheduled headway outside the peaks, minutes.
    pub offpeak_headway_min: f64,
    /// Shortest headway the signalling allows, minutes.
    pub min_headway_min: f64,
    /// Peak periods, local time `[start, end)` as `HH:MM`.
    pub peaks: [(&'static str, &'static str); 2],
}

impl MetroTimetable {
    /// Whether local time `t` falls in a peak.
    pub fn is_peak(&self, t: NaiveTime) -> bool {
        self.peaks.iter().any(|(a, b)| {
            match (
                NaiveTime::parse_from_str(a, "%H:%M"),
                NaiveTime::parse_from_str(b, "%H:%M"),
            ) {
                (Ok(a), Ok(b)) => a <= t && t < b,
                _ => false,
            }
        })
    }

    /// Extra trains that fit into one slot of `slot_minutes` at local time `t`: the train
    /// paths at the shortest headway minus the scheduled ones, rounded down.
    pub fn extra_trains(&self, t: NaiveTime, slot_minutes: u32) -> u32 {
        let scheduled = if self.is_peak(t) {
            self.peak_headway_min
        } else {
            self.offpeak_headway_min
        };
        let m = f64::from(slot_minutes);
        let free = m / self.min_headway_min - m / scheduled;
        if free.is_finite() && free > 0.0 {
            free.floor() as u32
        } else {
            0
        }
    }
}

/// Which forecast value counts as the demand of a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandLevel {
    /// The point forecast (a median on the count scale).
    Point,
    /// The upper bound of the 80 % interval: the 90 % quantile.
    Q90,
    /// The upper bound of the 95 % interval: the 97.5 % quantile.
    Q975,
}

impl DemandLevel {
    /// The quantile as a fraction (0.5 for the point forecast).
    pub fn quantile(self) -> f64 {
        match self {
            DemandLevel::Point => 0.5,
            DemandLevel::Q90 => 0.9,
            DemandLevel::Q975 => 0.975,
        }
    }
}

/// All parameters of the advice. [`Default`] holds the documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvacuationParams {
    /// Metro, bus and taxi, in that order.
    pub modes: [ModeParams; 3],
    /// Timetable bounds on extra trains.
    pub metro: MetroTimetable,
    /// Which forecast value is the demand.
    pub demand: DemandLevel,
    /// Days of the station's past whose highest slot is its regular capacity.
    pub capacity_days: usize,
    /// Least excess (passengers in one slot) that triggers a work order.
    pub trigger_excess: f64,
    /// Minutes per slot.
    pub slot_minutes: u32,
}

impl Default for EvacuationParams {
    /// Defaults (the assumptions are written down in `docs/brain.md`):
    /// - metro: a 6-car Type B train (杭州地铁 lines 1, 2 and 4 ran 6-car B trains in 2019)
    ///   at its rated load of about 1,460 passengers (≈ 243 per car at 6 standing
    ///   passengers per m², the rated-load density of GB 50157-2013 地铁设计规范), sent
    ///   empty to the station; 20 minutes to get a standby train and crew there; at most
    ///   what the headways allow (scheduled 4 min in the peaks 07:00–09:30 and
    ///   16:30–19:00, 8 min otherwise; shortest 2 min); cost 10 bus trips;
    /// - bus: a 12 m city bus of about 80 passengers (seats and standing), 20 minutes from
    ///   the nearest depot, at most 20 per slot, cost 1;
    /// - taxi: 4 passengers, 10 minutes through the dispatch platform, at most 60 per
    ///   slot, cost 0.4;
    /// - demand at the 90 % quantile, regular capacity from the last 14 days, trigger at
    ///   an excess of 50 passengers in one slot (chosen on the validation week, see `docs/brain.md`), 10-minute slots.
    fn default() -> Self {
        Self {
            modes: [
                ModeParams {
                    mode: Mode::Metro,
                    capacity: 1460,
                    lead_minutes: 20,
                    max_vehicles: 3,
                    cost: 10.0,
                    source: "6-car Type B train at rated load (6 standing/m², GB 50157-2013); lead time and cost assumed",
                },
                ModeParams {
                    mode: Mode::Bus,
                    capacity: 80,
                    lead_minutes: 20,
                    max_vehicles: 20,
                    cost: 1.0,
                    source: "12 m city bus, seats and standing; lead time, fleet share and cost assumed",
                },
                ModeParams {
                    mode: Mode::Taxi,
                    capacity: 4,
                    lead_minutes: 10,
                    max_vehicles: 60,
                    cost: 0.4,
                    source: "passenger car; lead time, fleet share and cost assumed",
                },
            ],
            metro: MetroTimetable {
                peak_headway_min: 4.0,
                offpeak_headway_min: 8.0,
                min_headway_min: 2.0,
                peaks: [("07:00", "09:30"), ("16:30", "19:00")],
            },
            demand: DemandLevel::Q90,
            capacity_days: 14,
            trigger_excess: 50.0,
            slot_minutes: 10,
        }
    }
}

/// The forecast of one future slot of one station, passengers per slot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotForecast {
    /// Start of the slot (local time with offset).
    pub for_time: DateTime<FixedOffset>,
    /// Point forecast.
    pub point: f64,
    /// Upper bound of the 80 % interval (90 % quantile).
    pub hi80: f64,
    /// Upper bound of the 95 % interval (97.5 % quantile).
    pub hi95: f64,
}

impl SlotForecast {
    fn demand(&self, level: DemandLevel) -> f64 {
        match level {
            DemandLevel::Point => self.point,
            DemandLevel::Q90 => self.hi80,
            DemandLevel::Q975 => self.hi95,
        }
    }
}

/// One mode's part of the advice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModeAdvice {
    /// `metro`, `bus` or `taxi`.
    pub mode: Mode,
    /// Extra vehicles to send (0 when the mode is not needed or would arrive late).
    pub extra_vehicles: u32,
    /// When to dispatch them (RFC 3339): the target slot's start minus the lead time.
    pub dispatch_at: String,
}

/// What the advice assumed and derived, beside the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumptions {
    /// Which flow is the crowd.
    pub crowd: &'static str,
    /// Quantile of the forecast taken as demand.
    pub demand_quantile: f64,
    /// The station's regular capacity per slot `C₀` (passengers).
    pub regular_capacity: f64,
    /// How `C₀` was obtained.
    pub regular_capacity_rule: String,
    /// Demand − `C₀` in the target slot (passengers; ≤ 0 means no crowd).
    pub excess: f64,
    /// Passengers the plan cannot carry (the modes in time are not enough).
    pub unmet: f64,
    /// Relative cost of the plan (a bus trip = 1).
    pub cost: f64,
    /// Least excess that triggers a work order.
    pub trigger_excess: f64,
    /// The mode parameters used.
    pub modes: Vec<ModeParams>,
}

/// The evacuation advice for one station (the body of
/// `GET /api/v1/brain/metro/stations/{id}/advice`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// Station id.
    pub station: String,
    /// When the advice was made: the forecast origin (RFC 3339).
    pub made_at: String,
    /// Start of the target slot (RFC 3339).
    pub for_time: String,
    /// Demand in the target slot, passengers per slot at the chosen quantile.
    pub demand: f64,
    /// Whether the excess reaches the trigger (a work order is due).
    pub triggered: bool,
    /// Minutes from `made_at` to `for_time`.
    pub lead_minutes: i64,
    /// Extra vehicles per mode.
    pub modes: Vec<ModeAdvice>,
    /// What was assumed and derived.
    pub assumptions: Assumptions,
}

/// Errors of the advice: bad input, never a panic.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdviceError {
    /// No forecast slots were given.
    #[error("the forecast has no slots")]
    NoSlots,
    /// A forecast or capacity value is negative, NaN or infinite.
    #[error("{0} is not a finite non-negative number")]
    BadValue(&'static str),
    /// A forecast slot starts before the advice is made.
    #[error("forecast slot {0} starts before the advice is made")]
    SlotBeforeOrigin(String),
}

/// A station's regular capacity `C₀`: its highest count over the last `days` days of
/// `past` (the counts of that station, oldest first, `slots_per_day` per day), or over
/// all of `past` when it is shorter. `None` when `past` is empty.
pub fn regular_capacity(past: &[f64], slots_per_day: usize, days: usize) -> Option<f64> {
    let n = days.saturating_mul(slots_per_day).min(past.len());
    past[past.len() - n..]
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .reduce(f64::max)
}

/// The vehicle plan of [`plan_vehicles`].
#[derive(Debug, Clone, PartialEq)]
pub struct VehiclePlan {
    /// Vehicles per mode, in the order of [`EvacuationParams::modes`].
    pub vehicles: [u32; 3],
    /// Passengers the plan carries.
    pub capacity: f64,
    /// Passengers left over (0 when the plan covers the excess).
    pub unmet: f64,
    /// Relative cost.
    pub cost: f64,
}

/// The least-cost integer vehicle plan covering `excess` passengers with at most
/// `max[m]` vehicles of mode `m` (see the module doc, step 4). Exact: the metro and bus
/// counts are enumerated and the taxi count is the smallest that covers the rest. Ties
/// go to fewer vehicles, then to the earlier plan in enumeration order.
pub fn plan_vehicles(modes: &[ModeParams; 3], max: [u32; 3], excess: f64) -> VehiclePlan {
    let cap: [f64; 3] = std::array::from_fn(|i| f64::from(modes[i].capacity));
    let mut best: Option<(VehiclePlan, u32)> = None;
    for a in 0..=max[0] {
        for b in 0..=max[1] {
            let rest = excess - cap[0] * f64::from(a) - cap[1] * f64::from(b);
            let c = if rest <= 0.0 || cap[2] <= 0.0 {
                0
            } else {
                ((rest / cap[2]).ceil() as u32).min(max[2])
            };
            let v = [a, b, c];
            let capacity: f64 = v.iter().zip(cap).map(|(n, k)| f64::from(*n) * k).sum();
            let unmet = (excess - capacity).max(0.0);
            let cost: f64 = v
                .iter()
                .zip(modes)
                .map(|(n, m)| f64::from(*n) * m.cost)
                .sum();
            let count = a + b + c;
            let better = match &best {
                None => true,
                Some((p, n)) => {
                    (unmet, cost, count).partial_cmp(&(p.unmet, p.cost, *n))
                        == Some(std::cmp::Ordering::Less)
                }
            };
            if better {
                best = Some((
                    VehiclePlan {
                        vehicles: v,
                        capacity,
                        unmet,
                        cost,
                    },
                    count,
                ));
            }
        }
    }
    best.map(|(p, _)| p).unwrap_or(VehiclePlan {
        vehicles: [0; 3],
        capacity: 0.0,
        unmet: excess.max(0.0),
        cost: 0.0,
    })
}

/// The advice for `station` from its forecast `slots` (the next slots, in time order),
/// made at `made_at`, given its regular capacity (see [`regular_capacity`]).
///
/// # Errors
/// [`AdviceError::NoSlots`] for an empty forecast, [`AdviceError::BadValue`] for a
/// negative or non-finite value, [`AdviceError::SlotBeforeOrigin`] for a slot that starts
/// before `made_at`.
pub fn advise(
    station: &str,
    made_at: DateTime<FixedOffset>,
    slots: &[SlotForecast],
    regular_capacity: f64,
    params: &EvacuationParams,
) -> Result<Advice, AdviceError> {
    if slots.is_empty() {
        return Err(AdviceError::NoSlots);
    }
    let ok = |v: f64| v.is_finite() && v >= 0.0;
    if !ok(regular_capacity) {
        return Err(AdviceError::BadValue("regular capacity"));
    }
    for s in slots {
        if !(ok(s.point) && ok(s.hi80) && ok(s.hi95)) {
            return Err(AdviceError::BadValue("a forecast value"));
        }
        if s.for_time < made_at {
            return Err(AdviceError::SlotBeforeOrigin(s.for_time.to_rfc3339()));
        }
    }
    // The target: the slot of the largest demand (= largest excess), the first on ties.
    let target = slots
        .iter()
        .copied()
        .reduce(|a, b| {
            if b.demand(params.demand) > a.demand(params.demand) {
                b
            } else {
                a
            }
        })
        .unwrap_or(slots[0]);
    let demand = target.demand(params.demand);
    let excess = demand - regular_capacity;
    let lead_minutes = (target.for_time - made_at).num_minutes();
    let max = std::array::from_fn(|i| {
        let m = &params.modes[i];
        if i64::from(m.lead_minutes) > lead_minutes {
            return 0;
        }
        match m.mode {
            Mode::Metro => m.max_vehicles.min(
                params
                    .metro
                    .extra_trains(target.for_time.time(), params.slot_minutes),
            ),
            _ => m.max_vehicles,
        }
    });
    let plan = if excess > 0.0 {
        plan_vehicles(&params.modes, max, excess)
    } else {
        plan_vehicles(&params.modes, [0; 3], 0.0)
    };
    let modes = params
        .modes
        .iter()
        .zip(plan.vehicles)
        .map(|(m, n)| ModeAdvice {
            mode: m.mode,
            extra_vehicles: n,
            dispatch_at: rfc3339(
                (target.for_time - Duration::minutes(i64::from(m.lead_minutes))).max(made_at),
            ),
        })
        .collect();
    Ok(Advice {
        station: station.to_owned(),
        made_at: rfc3339(made_at),
        for_time: rfc3339(target.for_time),
        demand: round1(demand),
        triggered: excess >= params.trigger_excess,
        lead_minutes,
        modes,
        assumptions: Assumptions {
            crowd: "tap-in inflow (进站客流) per slot: the passengers to be carried away from the station",
            demand_quantile: params.demand.quantile(),
            regular_capacity,
            regular_capacity_rule: format!(
                "the station's highest {}-minute inflow over the last {} days",
                params.slot_minutes, params.capacity_days
            ),
            excess: round1(excess),
            unmet: round1(plan.unmet),
            cost: plan.cost,
            trigger_excess: params.trigger_excess,
            modes: params.modes.to_vec(),
        },
    })
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// RFC 3339 to the minute (seconds are always 0 for slot times).
pub fn rfc3339(t: DateTime<FixedOffset>) -> String {
    t.with_second(0)
        .unwrap_or(t)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> DateTime<FixedOffset> {
        let tz = FixedOffset::east_opt(8 * 3600).expect("offset");
        chrono::NaiveDate::from_ymd_opt(2019, 1, 21)
            .and_then(|d| d.and_hms_opt(h, m, 0))
            .and_then(|t| t.and_local_timezone(tz).single())
            .expect("time")
    }

    fn slots(start: DateTime<FixedOffset>, hi80: &[f64]) -> Vec<SlotForecast> {
        hi80.iter()
            .enumerate()
            .map(|(k, &v)| SlotForecast {
                for_time: start + Duration::minutes(10 * k as i64),
                point: v * 0.8,
                hi80: v,
                hi95: v * 1.2,
            })
            .collect()
    }

    #[test]
    fn extra_trains_follow_the_headways() {
        let p = EvacuationParams::default();
        // Peak: 10/2 − 10/4 = 2.5 → 2; off-peak: 10/2 − 10/8 = 3.75 → 3.
        assert_eq!(p.metro.extra_trains(at(8, 0).time(), 10), 2);
        assert_eq!(p.metro.extra_trains(at(12, 0).time(), 10), 3);
        assert_eq!(p.metro.extra_trains(at(9, 30).time(), 10), 3);
    }

    #[test]
    fn the_plan_is_the_cheapest_that_covers() {
        let p = EvacuationParams::default();
        // 300 passengers: 1 train (cost 10) against 4 buses (4) — 4 buses (320 places).
        let plan = plan_vehicles(&p.modes, [2, 20, 60], 300.0);
        assert_eq!(plan.vehicles, [0, 4, 0]);
        assert_eq!(plan.cost, 4.0);
        // 1,500: 1 train + 1 bus (1,540, cost 11) beats 2 trains (20) and 19 buses + taxis.
        let plan = plan_vehicles(&p.modes, [2, 20, 60], 1500.0);
        assert_eq!(plan.vehicles, [1, 1, 0]);
        // 70: a bus (1) beats 18 taxis (7.2).
        assert_eq!(
            plan_vehicles(&p.modes, [2, 20, 60], 70.0).vehicles,
            [0, 1, 0]
        );
        // 6: 2 taxis (0.8) beat a bus (1).
        assert_eq!(
            plan_vehicles(&p.modes, [2, 20, 60], 6.0).vehicles,
            [0, 0, 2]
        );
        // Only taxis in time, not enough of them: all 60, 60 passengers unmet.
        let plan = plan_vehicles(&p.modes, [0, 0, 60], 300.0);
        assert_eq!(plan.vehicles, [0, 0, 60]);
        assert_eq!(plan.unmet, 60.0);
    }

    #[test]
    fn the_plan_matches_brute_force_on_a_grid() {
        // Exhaustive check of optimality over all three counts on small bounds.
        let p = EvacuationParams::default();
        for excess in (0..4000).step_by(37).map(f64::from) {
            let max = [2, 6, 30];
            let plan = plan_vehicles(&p.modes, max, excess);
            let mut best = (f64::INFINITY, f64::INFINITY);
            for a in 0..=max[0] {
                for b in 0..=max[1] {
                    for c in 0..=max[2] {
                        let cap = 1460.0 * f64::from(a) + 80.0 * f64::from(b) + 4.0 * f64::from(c);
                        let unmet = (excess - cap).max(0.0);
                        let cost = 10.0 * f64::from(a) + f64::from(b) + 0.4 * f64::from(c);
                        if (unmet, cost) < best {
                            best = (unmet, cost);
                        }
                    }
                }
            }
            assert_eq!((plan.unmet, plan.cost), best, "excess {excess}");
        }
    }

    #[test]
    fn advice_targets_the_peak_and_respects_lead_times() {
        let p = EvacuationParams::default();
        let made = at(7, 30);
        // Peak forecast 40 minutes ahead (08:10, a peak slot): 1,900 vs capacity 1,000.
        let f = slots(made, &[900.0, 1200.0, 1500.0, 1700.0, 1900.0, 1600.0]);
        let a = advise("15", made, &f, 1000.0, &p).expect("advice");
        assert_eq!(a.for_time, "2019-01-21T08:10:00+08:00");
        assert_eq!(a.lead_minutes, 40);
        assert_eq!(a.demand, 1900.0);
        assert!(a.triggered);
        assert_eq!(a.assumptions.excess, 900.0);
        // 900: 1 train (10) vs 12 buses (12) vs 11 buses + 5 taxis (13): one train.
        let n: Vec<u32> = a.modes.iter().map(|m| m.extra_vehicles).collect();
        assert_eq!(n, vec![1, 0, 0]);
        assert_eq!(a.modes[0].dispatch_at, "2019-01-21T07:50:00+08:00");
        assert_eq!(a.modes[2].dispatch_at, "2019-01-21T08:00:00+08:00");
        let json = serde_json::to_value(&a).expect("json");
        for key in [
            "station",
            "made_at",
            "for_time",
            "demand",
            "triggered",
            "lead_minutes",
            "modes",
            "assumptions",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        assert_eq!(json["modes"][0]["mode"], "metro");

        // The same peak only 10 minutes ahead: trains and buses cannot arrive in time.
        let f = slots(made, &[900.0, 1900.0]);
        let a = advise("15", made, &f, 1000.0, &p).expect("advice");
        let n: Vec<u32> = a.modes.iter().map(|m| m.extra_vehicles).collect();
        assert_eq!(n, vec![0, 0, 60]);
        assert_eq!(a.assumptions.unmet, 660.0);

        // Below the trigger: no work order, no vehicles.
        let f = slots(made, &[900.0, 1040.0]);
        let a = advise("15", made, &f, 1000.0, &p).expect("advice");
        assert!(!a.triggered);
        let f = slots(made, &[900.0, 950.0]);
        let a = advise("15", made, &f, 1000.0, &p).expect("advice");
        assert!(a.modes.iter().all(|m| m.extra_vehicles == 0));
    }

    #[test]
    fn bad_input_is_an_error() {
        let p = EvacuationParams::default();
        let made = at(7, 30);
        assert_eq!(advise("1", made, &[], 10.0, &p), Err(AdviceError::NoSlots));
        let mut f = slots(made, &[10.0]);
        f[0].hi80 = f64::NAN;
        assert!(matches!(
            advise("1", made, &f, 10.0, &p),
            Err(AdviceError::BadValue(_))
        ));
        let f = slots(made - Duration::minutes(10), &[10.0]);
        assert!(matches!(
            advise("1", made, &f, 10.0, &p),
            Err(AdviceError::SlotBeforeOrigin(_))
        ));
        assert!(advise("1", made, &slots(made, &[1.0]), -1.0, &p).is_err());
    }

    #[test]
    fn regular_capacity_is_the_recent_maximum() {
        let past = [5.0, 9.0, 1.0, 2.0, 3.0, 4.0];
        assert_eq!(regular_capacity(&past, 2, 2), Some(4.0));
        assert_eq!(regular_capacity(&past, 2, 10), Some(9.0));
        assert_eq!(regular_capacity(&[], 2, 2), None);
    }
}
