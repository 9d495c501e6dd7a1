//! Served station forecasts: the brain's pure forecasting ([`crate::forecast`]) turned
//! into twin data. [`import`] writes the stations, [`MetroForecaster::tick`] fits the ridge
//! model and writes forecasts back to the twin as NGSI-LD properties, [`read`] serves them
//! from the twin's in-memory index, and [`demo`] loads the demo tenant's stations and
//! forecasts; [`advice`] turns them into evacuation advice and work orders. This is the only
//! module of the crate that knows the twin.
//!
//! # What a tick does
//! 1. For every station entity `urn:ngsi-ld:MetroStationFlow:HZ-<row>` of the tenant, the
//!    latest known slot is the `observedAt` of its `inflow` (written by the replay or by
//!    devices); the forecast origin is the slot after it.
//! 2. The ridge model is fitted on the **data files** (`hangzhou_flow.csv`, the 80 × 2,700
//!    matrix) up to the start of the origin's day, as in the evaluation protocol (refit
//!    once a day; one week and one day of history are needed, so origins before
//!    2019-01-09 07:30 get no forecast). The features of the origin are read from the same
//!    matrix, strictly before the origin, so a forecast never sees the slot it forecasts.
//!    The twin's own history holds the same real values (the replay copies that file), but
//!    only for the windows replayed; the file holds every slot before the origin.
//! 3. Horizons 1..=[`HORIZONS`] slots (10–60 min), with the 80 % and 95 % intervals of
//!    [`crate::forecast::Calibrated`] (residual quantiles over the 7 days before the fit),
//!    are written as instances of the Property `inflowForecast`, one `datasetId` per
//!    horizon (see [`forecast_attribute`]), through the twin's writer: state and history
//!    in one transaction, so the temporal API shows forecast against actual.
//! 4. A station that gets no new forecast keeps its old one; forecasts of it older than
//!    their horizon (made more than `horizon × 10 min` before `now`) get `stale: true`.
//!    Reads compute the same rule at read time ([`read`]).

pub mod advice;
pub mod demo;
pub mod import;
pub mod read;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use onecity_core::{Error, ErrorCode};
use onecity_twin::context::Context;
use onecity_twin::model::{format_micros, AttrKind, Attribute, Entity};
use onecity_twin::{ChangeKind, EntityOp, Outcome, Twin, UpdateReport};
use serde::Serialize;
use serde_json::{json, Value};

use crate::forecast::{Calibrated, FeatureContext, ForecastError, RidgeConfig, RidgeForecaster};
use crate::metro::MetroData;
use crate::model::{Forecast, SLOT_MINUTES};
use crate::station::{entity_id, short_id, SlotClock};

/// Horizons served, in slots: 1..=6 (10 to 60 minutes).
pub const HORIZONS: usize = 6;

/// Days of residuals behind the intervals (as in the evaluation).
pub const CALIBRATION_DAYS: usize = 7;

/// The name of the forecast Property (short name, core context).
pub const FORECAST_ATTR: &str = "inflowForecast";

/// The name of the observed flow Property written by the replay.
pub const ACTUAL_ATTR: &str = "inflow";

/// The model label written with each forecast.
pub const MODEL_NAME: &str = "ridge-sqrt-direct";

/// The `datasetId` of the forecast instance of horizon `h` slots.
pub fn dataset_id(horizon: usize) -> String {
    format!("urn:ngsi-ld:Dataset:inflowForecast:h{horizon}")
}

/// Whether a forecast of `horizon` slots made at `made_at` is stale at `now`: older than
/// its horizon (`now − made_at > horizon × 10 min`).
pub fn is_stale(made_at: DateTime<Utc>, horizon: usize, now: DateTime<Utc>) -> bool {
    now - made_at > Duration::minutes(i64::from(SLOT_MINUTES) * horizon as i64)
}

/// What one tick did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TickReport {
    /// Tenant.
    pub tenant: String,
    /// When the forecasts were made (the `now` of the tick), RFC 3339.
    pub made_at: String,
    /// Stations that got new forecasts.
    pub stations_forecast: usize,
    /// Forecast instances written (stations × horizons).
    pub forecasts_written: usize,
    /// Forecast instances newly marked stale.
    pub marked_stale: usize,
    /// Stations without a new forecast and why (`HZ-<row>` → reason).
    pub skipped: BTreeMap<String, String>,
    /// Where the model's training data ended (exclusive), RFC 3339, per origin day
    /// fitted in this tick.
    pub fitted_until: Vec<String>,
}

/// The station forecaster of one metro data set (cheap to share behind an `Arc`).
pub struct MetroForecaster {
    twin: Twin,
    data: Arc<MetroData>,
    clock: SlotClock,
    ctx: FeatureContext,
    /// The last fitted model and the end of its training data (a time index).
    model: tokio::sync::Mutex<Option<(usize, Arc<Calibrated<RidgeForecaster>>)>>,
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::internal(e)
}

impl MetroForecaster {
    /// A forecaster over `data` writing to `twin`.
    pub fn new(twin: Twin, data: MetroData) -> Self {
        let clock = SlotClock::of(&data);
        let ctx = FeatureContext::new(&data);
        Self {
            twin,
            data: Arc::new(data),
            clock,
            ctx,
            model: tokio::sync::Mutex::new(None),
        }
    }

    /// The data set.
    pub fn data(&self) -> &MetroData {
        &self.data
    }

    /// The clock of the data set.
    pub fn clock(&self) -> SlotClock {
        self.clock
    }

    /// The twin.
    pub fn twin(&self) -> &Twin {
        &self.twin
    }

    /// The time index of the latest `inflow` of station `row` in the twin, if it has one
    /// on the data's slot grid.
    fn latest_slot(&self, tenant: &str, row: usize) -> Result<usize, String> {
        let e = self
            .twin
            .get(tenant, &entity_id(row))
            .ok_or_else(|| "no station entity in the twin".to_string())?;
        let name = Context::core().expand(ACTUAL_ATTR);
        let at = e
            .instance(&name, None)
            .and_then(Attribute::observed_micros)
            .ok_or_else(|| format!("no {ACTUAL_ATTR} with observedAt yet"))?;
        let at = DateTime::from_timestamp_micros(at).ok_or("observedAt out of range")?;
        self.clock
            .index_of(at)
            .filter(|&t| t < self.data.flow.shape().time_len())
            .ok_or_else(|| format!("latest {ACTUAL_ATTR} at {at} is not a slot of the data"))
    }

    /// The calibrated model for origin `t0`: fitted on the data before the start of
    /// `t0`'s day, or before `t0` itself when the day start leaves too little history.
    async fn model_for(
        &self,
        t0: usize,
    ) -> Result<(usize, Arc<Calibrated<RidgeForecaster>>), ForecastError> {
        let s_day = self.clock.slots_per_day;
        let needed = self.ctx.min_origin() + s_day + HORIZONS;
        let day_start = t0 / s_day * s_day;
        let fit_end = if day_start >= needed { day_start } else { t0 };
        if fit_end < needed {
            return Err(ForecastError::TooLittleHistory { origin: t0, needed });
        }
        let mut cached = self.model.lock().await;
        if let Some((end, m)) = cached.as_ref() {
            if *end == fit_end {
                return Ok((fit_end, m.clone()));
            }
        }
        let data = self.data.clone();
        let ctx = self.ctx.clone();
        let min_origin = ctx.min_origin();
        let fitted = tokio::task::spawn_blocking(move || {
            let hist = data.flow.history(fit_end);
            let ridge = RidgeForecaster::fit(&ctx, &hist, HORIZONS, RidgeConfig::default())?;
            Calibrated::new(ridge, &hist, HORIZONS, CALIBRATION_DAYS, min_origin)
        })
        .await
        .map_err(|_| ForecastError::Singular)??;
        let fitted = Arc::new(fitted);
        *cached = Some((fit_end, fitted.clone()));
        Ok((fit_end, fitted))
    }

    /// One forecasting round for `tenant` at wall-clock time `now` (see the module doc).
    /// Stations that cannot be forecast are listed in the report, not errors.
    ///
    /// # Errors
    /// `tenant_not_found` when the twin has no entity of the tenant at all; `internal`
    /// when the twin's writer fails.
    pub async fn tick(&self, tenant: &str, now: DateTime<Utc>) -> Result<TickReport, Error> {
        if !self.twin.has_tenant(tenant) {
            return Err(Error::new(
                ErrorCode::TenantNotFound,
                format!("the twin has no entities in tenant {tenant}"),
            ));
        }
        let stations = self.data.flow.shape().stations;
        let total = self.data.flow.shape().time_len();
        let mut report = TickReport {
            tenant: tenant.into(),
            made_at: format_micros(now.timestamp_micros()),
            stations_forecast: 0,
            forecasts_written: 0,
            marked_stale: 0,
            skipped: BTreeMap::new(),
            fitted_until: Vec::new(),
        };
        // Stations grouped by origin (the slot after their latest observation).
        let mut by_origin: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for row in 0..stations {
            match self.latest_slot(tenant, row) {
                Ok(t) if t + 1 >= total => {
                    report
                        .skipped
                        .insert(short_id(row), "the data ends at its latest slot".into());
                }
                Ok(t) => by_origin.entry(t + 1).or_default().push(row),
                Err(reason) => {
                    report.skipped.insert(short_id(row), reason);
                }
            }
        }
        let mut ops = Vec::new();
        for (t0, rows) in by_origin {
            let horizon = HORIZONS.min(total - t0);
            let made = self.model_for(t0).await.and_then(|(fit_end, model)| {
                let f = model.forecast(&self.data.flow.history(t0), horizon)?;
                Ok((fit_end, f))
            });
            let (fit_end, f) = match made {
                Ok(x) => x,
                Err(e) => {
                    for row in rows {
                        report.skipped.insert(short_id(row), e.to_string());
                    }
                    continue;
                }
            };
            let fitted = format_micros(self.clock.time_of(fit_end).timestamp_micros());
            if !report.fitted_until.contains(&fitted) {
                report.fitted_until.push(fitted);
            }
            for row in rows {
                let attrs: Vec<Attribute> = (0..f.horizon)
                    .map(|step| forecast_attribute(&self.clock, &f, row, step, now))
                    .collect();
                report.forecasts_written += attrs.len();
                report.stations_forecast += 1;
                ops.push(EntityOp {
                    tenant: tenant.into(),
                    id: entity_id(row),
                    f: put_forecasts_op(attrs),
                });
            }
        }
        let mut stale_rows = Vec::new();
        for id in report.skipped.keys() {
            let row = crate::station::parse_station_id(id, stations).map_err(internal)?;
            if let Some(e) = self.twin.get(tenant, &entity_id(row)) {
                let n = stale_instances(&e, now);
                if n > 0 {
                    stale_rows.push(row);
                    report.marked_stale += n;
                }
            }
        }
        for row in stale_rows {
            ops.push(EntityOp {
                tenant: tenant.into(),
                id: entity_id(row),
                f: mark_stale_op(now),
            });
        }
        for r in self.twin.apply(ops).await {
            r.map_err(internal)?;
        }
        Ok(report)
    }
}

/// The `inflowForecast` instance of station `row`, step `step` of `f`, made at `made_at`:
///
/// ```json
/// {"type": "Property", "value": 412.3, "datasetId": "urn:ngsi-ld:Dataset:inflowForecast:h2",
///  "observedAt": "<the slot it is for>",
///  "generatedAt": {"type": "Property", "value": "<when it was made>"},
///  "basedOn": {"type": "Property", "value": "<the last observed slot used>"},
///  "horizon": {"type": "Property", "value": 2}, "horizonMinutes": {"type": "Property", "value": 20},
///  "lower80": …, "upper80": …, "lower95": …, "upper95": …,
///  "model": {"type": "Property", "value": "ridge-sqrt-direct"},
///  "stale": {"type": "Property", "value": false}}
/// ```
///
/// Values are passengers entering per 10-minute slot, rounded to 0.1.
pub fn forecast_attribute(
    clock: &SlotClock,
    f: &Forecast,
    row: usize,
    step: usize,
    made_at: DateTime<Utc>,
) -> Attribute {
    let i = step * f.stations + row;
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let ctx = Context::core();
    let made = made_at.timestamp_micros();
    let prop = |value: Value| Attribute {
        kind: AttrKind::Property,
        value,
        dataset_id: None,
        observed_at: None,
        unit_code: None,
        lang: None,
        created_at: made,
        modified_at: made,
        sub: BTreeMap::new(),
    };
    let horizon = step + 1;
    let mut sub = BTreeMap::new();
    let mut put = |name: &str, v: Value| {
        sub.insert(ctx.expand(name), prop(v));
    };
    put("generatedAt", json!(format_micros(made)));
    put(
        "basedOn",
        json!(format_micros(clock.time_of(f.t0 - 1).timestamp_micros())),
    );
    put("horizon", json!(horizon));
    put("horizonMinutes", json!(horizon * SLOT_MINUTES as usize));
    put("lower80", json!(round(f.lo80[i])));
    put("upper80", json!(round(f.hi80[i])));
    put("lower95", json!(round(f.lo95[i])));
    put("upper95", json!(round(f.hi95[i])));
    put("model", json!(MODEL_NAME));
    put("stale", json!(false));
    Attribute {
        dataset_id: Some(dataset_id(horizon)),
        observed_at: Some(format_micros(clock.time_of(f.t0 + step).timestamp_micros())),
        sub,
        ..prop(json!(round(f.point[i])))
    }
}

/// Puts forecast instances on an existing station entity (404 when it is gone).
fn put_forecasts_op(attrs: Vec<Attribute>) -> onecity_twin::OpFn {
    Box::new(move |cur: Option<&Entity>, now| {
        let cur = cur.ok_or_else(|| onecity_twin::NgsiError::not_found("no such entity"))?;
        let name = Context::core().expand(FORECAST_ATTR);
        let mut e = cur.clone();
        for mut a in attrs {
            a.created_at = e
                .instance(&name, a.dataset_id.as_deref())
                .map_or(now, |old| old.created_at);
            a.modified_at = now;
            for s in a.sub.values_mut() {
                s.created_at = now;
                s.modified_at = now;
            }
            e.put_instance(&name, a);
        }
        e.modified_at = now;
        Ok(Outcome::Put {
            entity: e,
            kind: ChangeKind::Updated,
            changed: vec![name.clone()],
            report: UpdateReport {
                updated: vec![name],
                not_updated: vec![],
            },
        })
    })
}

/// `(made_at, horizon, stale flag)` of a forecast instance, if it is one.
pub(crate) fn forecast_meta(a: &Attribute) -> Option<(DateTime<Utc>, usize, bool)> {
    let ctx = Context::core();
    let sub = |n: &str| a.sub.get(&ctx.expand(n)).map(|s| s.plain_value().clone());
    let made = sub("generatedAt")?
        .as_str()
        .and_then(onecity_twin::model::parse_datetime)
        .and_then(DateTime::from_timestamp_micros)?;
    let horizon = sub("horizon")?.as_u64()? as usize;
    let flagged = sub("stale").and_then(|v| v.as_bool()).unwrap_or(false);
    Some((made, horizon, flagged))
}

/// Forecast instances of `e` that are older than their horizon at `now` and not yet
/// flagged.
fn stale_instances(e: &Entity, now: DateTime<Utc>) -> usize {
    let name = Context::core().expand(FORECAST_ATTR);
    e.attrs.get(&name).map_or(0, |list| {
        list.iter()
            .filter_map(forecast_meta)
            .filter(|(made, h, flagged)| !flagged && is_stale(*made, *h, now))
            .count()
    })
}

/// Sets `stale: true` on the forecast instances of an entity that are older than their
/// horizon at `at` (recorded in the history too).
fn mark_stale_op(at: DateTime<Utc>) -> onecity_twin::OpFn {
    Box::new(move |cur: Option<&Entity>, now| {
        let cur = cur.ok_or_else(|| onecity_twin::NgsiError::not_found("no such entity"))?;
        let ctx = Context::core();
        let name = ctx.expand(FORECAST_ATTR);
        let stale_name = ctx.expand("stale");
        let mut e = cur.clone();
        let mut flagged = 0usize;
        if let Some(list) = e.attrs.get_mut(&name) {
            for a in list.iter_mut() {
                let Some((made, h, was)) = forecast_meta(a) else {
                    continue;
                };
                if was || !is_stale(made, h, at) {
                    continue;
                }
                if let Some(s) = a.sub.get_mut(&stale_name) {
                    s.value = json!(true);
                    s.modified_at = now;
                }
                a.modified_at = now;
                flagged += 1;
            }
        }
        if flagged == 0 {
            return Ok(Outcome::Nothing(UpdateReport {
                updated: vec![],
                not_updated: vec![],
            }));
        }
        e.modified_at = now;
        Ok(Outcome::Put {
            entity: e,
            kind: ChangeKind::Updated,
            changed: vec![name.clone()],
            report: UpdateReport {
                updated: vec![name],
                not_updated: vec![],
            },
        })
    })
}
