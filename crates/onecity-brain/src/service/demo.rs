//! The brain's part of the demo (`onecity serve --demo`), called once by the binary's
//! demo loader after the twin's replay windows: the Hangzhou tenant gets its 80 stations,
//! a morning of real flow on a test-week day, and forecasts made from it.
//!
//! The twin's own demo window (2019-01-01 06:00–09:00) lies in the first week of the data,
//! before the model has the week of history its features need. So this loader also
//! replays [`DEMO_DAY`] 06:00–08:00 (12 slots × 80 stations, real counts from
//! `hangzhou_flow.csv`) into the same entities; their latest `inflow` is then 07:50 and
//! one tick forecasts 08:00–09:00, the morning peak.

use chrono::{DateTime, NaiveDate, Utc};
use onecity_core::Error;
use serde_json::json;

use super::{MetroForecaster, TickReport};
use crate::station::{short_id, STATION_TYPE};

/// The test-week day replayed for the demo: Tuesday 2019-01-22 (day index 21).
pub const DEMO_DAY: usize = 21;

/// Slots of [`DEMO_DAY`] replayed: 06:00 to 08:00.
pub const DEMO_SLOTS: usize = 12;

/// Replays slots `0..slots` of day index `day` (real counts) into the station entities of
/// `tenant` as `inflow` measurements; returns the number applied.
///
/// # Errors
/// `invalid_input` when the day or slots are outside the data or a measurement is refused.
pub async fn replay_day(
    forecaster: &MetroForecaster,
    tenant: &str,
    day: usize,
    slots: usize,
) -> Result<usize, Error> {
    let data = forecaster.data();
    let shape = data.flow.shape();
    if day >= shape.days || slots == 0 || slots > shape.slots_per_day {
        return Err(Error::invalid(format!(
            "day {day} slots 0..{slots} are outside the data ({} days × {} slots)",
            shape.days, shape.slots_per_day
        )));
    }
    let clock = forecaster.clock();
    let mut items = Vec::with_capacity(slots * shape.stations);
    for slot in 0..slots {
        let t = day * shape.slots_per_day + slot;
        let at = onecity_twin::model::format_micros(clock.time_of(t).timestamp_micros());
        for row in 0..shape.stations {
            let count = data.flow.get(row, t).unwrap_or(0.0);
            items.push(json!({
                "type": STATION_TYPE, "id": short_id(row), "observedAt": at,
                "values": {"inflow": count as i64},
            }));
        }
    }
    let (applied, errors) = onecity_twin::ingest::ingest(forecaster.twin(), tenant, &items).await;
    if let Some((i, id, detail)) = errors.first() {
        return Err(Error::invalid(format!("measurement {i} ({id}): {detail}")));
    }
    Ok(applied)
}

/// Imports the stations into `tenant`, replays [`DEMO_DAY`]'s morning and makes one round
/// of forecasts at `now`, with `forecaster` (the server's own, so the data is read and the
/// model fitted once).
///
/// # Errors
/// The import's, replay's and tick's errors.
pub async fn install(
    forecaster: &MetroForecaster,
    tenant: &str,
    now: DateTime<Utc>,
) -> Result<TickReport, Error> {
    debug_assert_eq!(
        forecaster.data().flow.date_of_day(DEMO_DAY),
        NaiveDate::from_ymd_opt(2019, 1, 22)
    );
    super::import::import_stations(forecaster.twin(), tenant, forecaster.data()).await?;
    replay_day(forecaster, tenant, DEMO_DAY, DEMO_SLOTS).await?;
    forecaster.tick(tenant, now).await
}
