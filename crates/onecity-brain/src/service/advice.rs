//! Evacuation advice (疏散建议) from the served forecasts, and the watch that turns a
//! triggered advice into a transport work order.
//!
//! [`station_advice`] reads a station's current (not stale) `inflowForecast` instances from
//! the twin, takes the station's regular capacity from the data file's slots before the
//! forecast origin ([`crate::evacuation::regular_capacity`]) and calls
//! [`crate::evacuation::advise`]. The advice is made at the origin: the start of the first
//! forecast slot (the end of the last observed one), in Hangzhou time (UTC+8), as in the
//! replay of [`crate::replay`].
//!
//! [`EvacuationWatch::round`] does that for every station of a tenant and opens a work order
//! ([`crate::workorder::open_work_order`]) for each triggered advice, at most once per
//! station and forecast origin. That memory is per process: after a restart within the
//! hour a still-triggered advice of the same origin opens a second order (the job runs
//! once per tick across replicas, so replicas do not duplicate one another).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use onecity_core::{Error, ErrorCode};
use onecity_governance::Gov;
use serde::Serialize;

use super::read;
use super::MetroForecaster;
use crate::evacuation::{advise, regular_capacity, Advice, EvacuationParams, SlotForecast};
use crate::model::{FlowShape, SLOT_MINUTES};
use crate::station::{parse_station_id, short_id};

/// Hangzhou's offset (UTC+8, no daylight saving).
fn hangzhou() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

fn parse_time(s: &str, what: &str) -> Result<DateTime<FixedOffset>, Error> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&hangzhou()))
        .map_err(|_| Error::internal(format!("stored forecast has a bad {what}: {s:?}")))
}

/// The advice for station `id` (`HZ-<row>`) of `tenant` from its current forecasts.
///
/// # Errors
/// `invalid_query` (400) for a malformed id; `not_found` (404) for an unknown station or one
/// without a current forecast (none yet, or all older than their horizon); `internal` when
/// a stored forecast is unreadable.
pub fn station_advice(
    f: &MetroForecaster,
    tenant: &str,
    id: &str,
    now: DateTime<Utc>,
    params: &EvacuationParams,
) -> Result<Advice, Error> {
    let view = read::station(f.twin(), tenant, id, None, now)?;
    let current: Vec<&read::ForecastPoint> = view.forecasts.iter().filter(|p| !p.stale).collect();
    let Some(first) = current.first() else {
        return Err(Error::not_found(format!(
            "station {} has no current forecast (the job brain.metro_forecast makes them)",
            view.id
        )));
    };
    let made_at = parse_time(&first.based_on, "basedOn")? + Duration::minutes(SLOT_MINUTES as i64);
    let mut slots = Vec::with_capacity(current.len());
    for p in &current {
        slots.push(SlotForecast {
            for_time: parse_time(&p.for_time, "observedAt")?,
            point: p.inflow,
            hi80: p.upper80,
            hi95: p.upper95,
        });
    }
    let row = parse_station_id(&view.id, FlowShape::HANGZHOU.stations)
        .map_err(|e| Error::internal(e.to_string()))?;
    let data = f.data();
    let shape = data.flow.shape();
    let origin = f
        .clock()
        .index_of(made_at.with_timezone(&Utc))
        .unwrap_or(shape.time_len())
        .min(shape.time_len());
    let past: Vec<f64> = (0..origin).filter_map(|t| data.flow.get(row, t)).collect();
    let capacity =
        regular_capacity(&past, shape.slots_per_day, params.capacity_days).ok_or_else(|| {
            Error::not_found(format!(
                "station {} has no history before {made_at}",
                view.id
            ))
        })?;
    advise(&short_id(row), made_at, &slots, capacity, params)
        .map_err(|e| Error::new(ErrorCode::Internal, format!("advice for {}: {e}", view.id)))
}

/// What one [`EvacuationWatch::round`] did.
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
pub struct WatchReport {
    /// Stations with a current forecast, advised.
    pub advised: usize,
    /// Advices over the trigger.
    pub triggered: usize,
    /// Work orders opened now.
    pub orders_opened: usize,
    /// Triggered advices whose order was already opened for the same origin.
    pub already_ordered: usize,
}

/// Advises every station of a tenant and opens the work orders due (see the module doc).
pub struct EvacuationWatch {
    forecaster: Arc<MetroForecaster>,
    gov: Gov,
    params: EvacuationParams,
    /// (tenant, station) → the `made_at` of the advice whose order was opened last.
    ordered: parking_lot::Mutex<HashMap<(String, String), String>>,
}

impl EvacuationWatch {
    /// A watch with the default parameters ([`EvacuationParams::default`]).
    pub fn new(forecaster: Arc<MetroForecaster>, gov: Gov) -> Self {
        Self {
            forecaster,
            gov,
            params: EvacuationParams::default(),
            ordered: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    /// The forecaster watched.
    pub fn forecaster(&self) -> &Arc<MetroForecaster> {
        &self.forecaster
    }

    /// One round over the stations of `tenant` at `now`.
    ///
    /// # Errors
    /// The governance service's errors when an order cannot be opened (e.g. `not_found`
    /// when the tenant has no `crowd-evacuation` category: install it with
    /// [`crate::workorder::install`]).
    pub async fn round(&self, tenant: &str, now: DateTime<Utc>) -> Result<WatchReport, Error> {
        let mut report = WatchReport::default();
        for view in read::stations(self.forecaster.twin(), tenant, now) {
            let advice = match station_advice(&self.forecaster, tenant, &view.id, now, &self.params)
            {
                Ok(a) => a,
                Err(e) if e.code == ErrorCode::NotFound => continue,
                Err(e) => return Err(e),
            };
            report.advised += 1;
            if !advice.triggered {
                continue;
            }
            report.triggered += 1;
            let key = (tenant.to_string(), view.id.clone());
            // Reserve the (station, origin) before the order is opened, so that two rounds
            // at once (a manual run beside the scheduled one) open it once.
            let previous = {
                let mut ordered = self.ordered.lock();
                if ordered.get(&key) == Some(&advice.made_at) {
                    report.already_ordered += 1;
                    continue;
                }
                ordered.insert(key.clone(), advice.made_at.clone())
            };
            let address = format!(
                "杭州地铁 {id} 站 · Hangzhou metro station {id}",
                id = view.id
            );
            if let Err(e) =
                crate::workorder::open_work_order(&self.gov, tenant, &advice, &address).await
            {
                let mut ordered = self.ordered.lock();
                match previous {
                    Some(p) => ordered.insert(key, p),
                    None => ordered.remove(&key),
                };
                return Err(e);
            }
            report.orders_opened += 1;
        }
        Ok(report)
    }
}
