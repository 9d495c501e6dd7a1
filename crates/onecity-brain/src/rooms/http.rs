//! HTTP API of room finding under `/api/v1/brain/rooms`: thin handlers over [`Rooms`].
//!
//! Searching is public (a tourist need not sign in); booking needs any signed-in caller
//! of the tenant (or a deployment-level one).

use super::search::RoomParams;
use super::service::{Booking, BookingRequest, RoomResults, Rooms};
use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use onecity_core::Problem;
use onecity_http::{ApiResult, Json, Path, Query};
use onecity_iam::http::Auth;
use onecity_iam::Iam;
use utoipa_axum::{router::OpenApiRouter, routes};

impl FromRef<Rooms> for Iam {
    fn from_ref(r: &Rooms) -> Iam {
        r.iam().clone()
    }
}

/// The router of the room API.
pub fn routes() -> OpenApiRouter<Rooms> {
    OpenApiRouter::new()
        .routes(routes!(search_rooms))
        .routes(routes!(book_room))
}

/// Find free rooms (找房): the best rooms within `radius_m` of the point that are free for
/// `nights` nights from `checkin`, ranked by the documented score (distance decay, rating,
/// price). 400 `invalid_query` names the bad parameter (missing point, radius 0 or beyond
/// 50 km, inverted price band, unknown room type, nights < 1, …); 404 unknown tenant.
#[utoipa::path(get, path = "/api/v1/brain/rooms", tag = "brain",
    params(RoomParams),
    responses((status = 200, body = RoomResults), (status = 400, body = Problem),
        (status = 404, body = Problem)))]
async fn search_rooms(
    State(rooms): State<Rooms>,
    Query(params): Query<RoomParams>,
) -> ApiResult<Json<RoomResults>> {
    Ok(Json(rooms.search(&params).await?))
}

/// Book a room for `nights` nights from `checkin`: 201 with the booking; the room leaves
/// search results at once on this node (within 0.5 s on the others). 409 `conflict` when
/// a night is taken or not free in the (synthetic) calendar; 422 for a bad date or a
/// stay below the room's minimum nights; 404 for no such bookable room.
#[utoipa::path(post, path = "/api/v1/brain/rooms/{id}/bookings", tag = "brain",
    params(("id" = String, Path, description = "listing id (exact decimal) or its entity id")),
    request_body = BookingRequest,
    responses((status = 201, body = Booking), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
async fn book_room(
    State(rooms): State<Rooms>,
    Auth(who): Auth,
    Path(id): Path<String>,
    Json(body): Json<BookingRequest>,
) -> ApiResult<(StatusCode, Json<Booking>)> {
    Ok((
        StatusCode::CREATED,
        Json(rooms.book(&who, &id, &body).await?),
    ))
}
