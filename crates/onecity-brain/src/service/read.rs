//! Reading served forecasts: straight from the twin's in-memory index (no database round
//! trip), so one station's forecast answers in microseconds. Staleness is decided at read
//! time with the rule of [`super::is_stale`], whether or not a tick has flagged it yet.

use chrono::{DateTime, Utc};
use onecity_core::{Error, ErrorCode};
use onecity_twin::context::Context;
use onecity_twin::model::{Attribute, Entity};
use onecity_twin::Twin;
use serde::Serialize;

use super::{forecast_meta, is_stale, ACTUAL_ATTR, FORECAST_ATTR, HORIZONS};
use crate::model::FlowShape;
use crate::station::{entity_id, parse_station_id, short_id, StationIdError};

/// The latest observed flow of a station.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Actual {
    /// Start of the slot, RFC 3339.
    pub at: String,
    /// Passengers entering in that 10-minute slot.
    pub inflow: f64,
}

/// One served forecast.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ForecastPoint {
    /// Slots ahead of the last observation used (1..=6).
    pub horizon: usize,
    /// Minutes ahead (10 × horizon).
    pub horizon_minutes: usize,
    /// The slot it is for (its start), RFC 3339.
    pub for_time: String,
    /// When it was made (wall clock), RFC 3339.
    pub made_at: String,
    /// The last observed slot it used, RFC 3339.
    pub based_on: String,
    /// Point forecast (median), passengers per 10 minutes.
    pub inflow: f64,
    /// 80 % interval, lower bound.
    pub lower80: f64,
    /// 80 % interval, upper bound.
    pub upper80: f64,
    /// 95 % interval, lower bound.
    pub lower95: f64,
    /// 95 % interval, upper bound.
    pub upper95: f64,
    /// Older than its horizon: made more than `horizon × 10 min` ago.
    pub stale: bool,
}

/// A station with its latest actual flow and its forecasts.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StationView {
    /// Station id, `HZ-<row>`.
    pub id: String,
    /// NGSI-LD entity id.
    pub entity_id: String,
    /// Name (the id: the data has no names).
    pub name: String,
    /// Id in `hangzhou_graph.csv`, when imported.
    pub graph_id: Option<u64>,
    /// Neighbours (`HZ-<row>`), when imported.
    pub neighbours: Vec<String>,
    /// `[lon, lat]` (WGS-84), a **placed** position when `position_source` says so.
    pub location: Option<[f64; 2]>,
    /// `placed` (not surveyed) or absent.
    pub position_source: Option<String>,
    /// The latest observed flow.
    pub latest: Option<Actual>,
    /// Forecasts by horizon (ascending).
    pub forecasts: Vec<ForecastPoint>,
}

fn sub_f64(a: &Attribute, name: &str) -> f64 {
    a.sub
        .get(&Context::core().expand(name))
        .and_then(|s| s.plain_value().as_f64())
        .unwrap_or(f64::NAN)
}

fn sub_str(a: &Attribute, name: &str) -> String {
    a.sub
        .get(&Context::core().expand(name))
        .and_then(|s| s.plain_value().as_str().map(str::to_string))
        .unwrap_or_default()
}

fn view(e: &Entity, row: usize, now: DateTime<Utc>) -> StationView {
    let ctx = Context::core();
    let get = |n: &str| e.instance(&ctx.expand(n), None);
    let latest = get(ACTUAL_ATTR).and_then(|a| {
        Some(Actual {
            at: a.observed_at.clone()?,
            inflow: a.plain_value().as_f64()?,
        })
    });
    let mut forecasts: Vec<ForecastPoint> = e
        .attrs
        .get(&ctx.expand(FORECAST_ATTR))
        .map(|list| {
            list.iter()
                .filter_map(|a| {
                    let (made, horizon, flagged) = forecast_meta(a)?;
                    Some(ForecastPoint {
                        horizon,
                        horizon_minutes: horizon * 10,
                        for_time: a.observed_at.clone()?,
                        made_at: sub_str(a, "generatedAt"),
                        based_on: sub_str(a, "basedOn"),
                        inflow: a.plain_value().as_f64()?,
                        lower80: sub_f64(a, "lower80"),
                        upper80: sub_f64(a, "upper80"),
                        lower95: sub_f64(a, "lower95"),
                        upper95: sub_f64(a, "upper95"),
                        stale: flagged || is_stale(made, horizon, now),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    forecasts.sort_by_key(|f| f.horizon);
    let location = get("location").and_then(|a| {
        let c = a.value.get("coordinates")?.as_array()?;
        Some([c.first()?.as_f64()?, c.get(1)?.as_f64()?])
    });
    let neighbours = get("adjacentStation")
        .and_then(|a| a.value.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.as_str())
        .filter_map(|id| parse_station_id(id, usize::MAX).ok())
        .map(short_id)
        .collect();
    StationView {
        id: short_id(row),
        entity_id: e.id.clone(),
        name: get("name")
            .and_then(|a| a.plain_value().as_str().map(str::to_string))
            .unwrap_or_else(|| short_id(row)),
        graph_id: get("graphId").and_then(|a| a.plain_value().as_u64()),
        neighbours,
        location,
        position_source: get("positionSource")
            .or_else(|| get("locationSource"))
            .and_then(|a| a.plain_value().as_str().map(str::to_string)),
        latest,
        forecasts,
    }
}

/// Every station entity of `tenant` (rows 0..80 that exist in the twin), in row order.
pub fn stations(twin: &Twin, tenant: &str, now: DateTime<Utc>) -> Vec<StationView> {
    (0..FlowShape::HANGZHOU.stations)
        .filter_map(|row| {
            twin.get(tenant, &entity_id(row))
                .map(|e| view(&e, row, now))
        })
        .collect()
}

/// One station's view; with `horizon`, only the forecast of that many slots ahead.
///
/// # Errors
/// `invalid_query` (400) for a malformed id or a horizon outside 1..=6; `not_found` (404)
/// for a row that does not exist or has no entity in the tenant.
pub fn station(
    twin: &Twin,
    tenant: &str,
    id: &str,
    horizon: Option<usize>,
    now: DateTime<Utc>,
) -> Result<StationView, Error> {
    if let Some(h) = horizon {
        if h == 0 || h > HORIZONS {
            return Err(Error::new(
                ErrorCode::InvalidQuery,
                format!("horizon {h} is outside 1..={HORIZONS} slots (10 to 60 minutes)"),
            ));
        }
    }
    let row = parse_station_id(id, FlowShape::HANGZHOU.stations).map_err(|e| match e {
        StationIdError::Malformed(_) => Error::new(ErrorCode::InvalidQuery, e.to_string()),
        StationIdError::Unknown { .. } => Error::not_found(e.to_string()),
    })?;
    let e = twin.get(tenant, &entity_id(row)).ok_or_else(|| {
        Error::not_found(format!(
            "station {} has no entity in tenant {tenant}",
            short_id(row)
        ))
    })?;
    let mut v = view(&e, row, now);
    if let Some(h) = horizon {
        v.forecasts.retain(|f| f.horizon == h);
    }
    Ok(v)
}
