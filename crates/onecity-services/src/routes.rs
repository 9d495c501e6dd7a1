//! HTTP API of the service hall under `/api/v1/tenants/{tenant}/services/…`.

use crate::Hall;
use utoipa_axum::router::OpenApiRouter;

/// The router of the service hall's API.
pub fn routes() -> OpenApiRouter<Hall> {
    OpenApiRouter::new().merge(crate::forms::http::routes())
}
