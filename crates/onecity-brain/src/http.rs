//! HTTP API of the served metro forecasts under `/api/v1/brain/metro/…`: thin handlers
//! over [`crate::service::read`]. Both need `twin_read` (the forecasts are twin data) and
//! a tenant the caller sees: `?tenant=` or, without it, the caller's home tenant.

use axum::extract::{FromRef, State};
use chrono::Utc;
use onecity_core::{Error, ErrorCode, Problem};
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::{perm, Authorized};
use onecity_iam::{Iam, Principal};
use onecity_twin::Twin;
use serde::{Deserialize, Serialize};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::evacuation::{Advice, EvacuationParams};
use crate::service::read::{self, StationView};
use crate::service::HORIZONS;

/// State of the brain's API.
#[derive(Clone)]
pub struct BrainApi {
    /// The twin the forecasts live in.
    pub twin: Twin,
    /// Identity (for the extractors).
    pub iam: Iam,
    /// The forecaster over the metro data, when this server loaded it (the advice needs
    /// the station's history); `None` answers the advice with 404.
    pub metro: Option<std::sync::Arc<crate::service::MetroForecaster>>,
}

impl FromRef<BrainApi> for Iam {
    fn from_ref(b: &BrainApi) -> Iam {
        b.iam.clone()
    }
}

/// The router of the brain's API.
pub fn routes() -> OpenApiRouter<BrainApi> {
    OpenApiRouter::new()
        .routes(routes!(list_stations))
        .routes(routes!(station_forecast))
        .routes(routes!(station_advice))
}

/// The tenant of a request: `?tenant=` or the caller's home tenant; 400 without either,
/// 403 when the caller does not see it.
fn tenant_of(p: &Principal, asked: Option<String>) -> Result<String, Error> {
    let tenant = asked
        .filter(|t| !t.is_empty())
        .or_else(|| p.tenant.clone())
        .ok_or_else(|| {
            Error::new(
                ErrorCode::InvalidQuery,
                "name the tenant with ?tenant= (this caller has no home tenant)",
            )
        })?;
    if !p.sees_tenant(&tenant) {
        return Err(Error::forbidden(format!("you do not see tenant {tenant}")));
    }
    Ok(tenant)
}

/// Query of the station list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Tenant code [default: the caller's home tenant].
    pub tenant: Option<String>,
}

/// The station list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StationList {
    /// Tenant.
    pub tenant: String,
    /// Stations in row order, with their latest actual flow and forecasts.
    pub stations: Vec<StationView>,
}

/// The Hangzhou metro stations of a tenant (地铁站客流), each with its latest observed
/// inflow and its served forecasts (1–6 slots ahead, 80 %/95 % intervals, `stale` when
/// older than their horizon).
#[utoipa::path(get, path = "/api/v1/brain/metro/stations", tag = "brain",
    params(ListParams),
    responses((status = 200, body = StationList), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_stations(
    State(api): State<BrainApi>,
    caller: Authorized<perm::TwinRead>,
    Query(q): Query<ListParams>,
) -> ApiResult<Json<StationList>> {
    let tenant = tenant_of(&caller, q.tenant)?;
    let stations = read::stations(&api.twin, &tenant, Utc::now());
    Ok(Json(StationList { tenant, stations }))
}

/// Query of one station's forecast.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// Tenant code [default: the caller's home tenant].
    pub tenant: Option<String>,
    /// Only the forecast this many 10-minute slots ahead (1..=6) [default: all].
    pub horizon: Option<String>,
}

/// One station's forecast (客流预测), served from memory: `id` is `HZ-<row>` (0..79).
/// 400 for a malformed id or a horizon outside 1..=6; 404 for an unknown station.
#[utoipa::path(get, path = "/api/v1/brain/metro/stations/{id}/forecast", tag = "brain",
    params(("id" = String, Path, description = "station id, HZ-<row>, e.g. HZ-12"), ForecastParams),
    responses((status = 200, body = StationView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn station_forecast(
    State(api): State<BrainApi>,
    caller: Authorized<perm::TwinRead>,
    Path(id): Path<String>,
    Query(q): Query<ForecastParams>,
) -> ApiResult<Json<StationView>> {
    let tenant = tenant_of(&caller, q.tenant)?;
    let horizon = match q.horizon.as_deref() {
        None => None,
        Some(h) => Some(h.parse::<usize>().map_err(|_| {
            Error::new(
                ErrorCode::InvalidQuery,
                format!("horizon {h:?} is not a whole number of slots in 1..={HORIZONS}"),
            )
        })?),
    };
    Ok(Json(read::station(
        &api.twin,
        &tenant,
        &id,
        horizon,
        Utc::now(),
    )?))
}

/// Query of one station's evacuation advice.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AdviceParams {
    /// Tenant code [default: the caller's home tenant].
    pub tenant: Option<String>,
}

/// One station's evacuation advice (疏散建议) from its current forecasts: the target slot
/// in the next hour, its demand at the 90 % quantile against the station's regular
/// capacity, extra trains, buses and taxis with their dispatch times, whether it triggers a
/// transport work order, and the assumptions (docs/brain.md). 404 when the station has no
/// current forecast or this server has not loaded the metro data.
#[utoipa::path(get, path = "/api/v1/brain/metro/stations/{id}/advice", tag = "brain",
    params(("id" = String, Path, description = "station id, HZ-<row>, e.g. HZ-12"), AdviceParams),
    responses((status = 200, description = "the advice (see docs/brain.md for its fields)"), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn station_advice(
    State(api): State<BrainApi>,
    caller: Authorized<perm::TwinRead>,
    Path(id): Path<String>,
    Query(q): Query<AdviceParams>,
) -> ApiResult<Json<Advice>> {
    let tenant = tenant_of(&caller, q.tenant)?;
    let metro = api.metro.as_ref().ok_or_else(|| {
        Error::not_found("this server has not loaded the metro data (<demo_data>/metro): no advice")
    })?;
    Ok(Json(crate::service::advice::station_advice(
        metro,
        &tenant,
        &id,
        Utc::now(),
        &EvacuationParams::default(),
    )?))
}
