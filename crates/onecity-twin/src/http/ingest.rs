//! `POST /ext/ingest` (onecity's own route under `/ngsi-ld/v1`, `twin:write`): device
//! measurements to entity updates through [`crate::service::ingest`].

use super::{NgsiRequest, RawBody, TwinState};
use crate::ld::error::{NgsiError, NgsiResult};
use crate::service::ingest::ingest;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// POST /ext/ingest: 200 `{"applied": n, "errors": [...]}`; 400 when the body is not an
/// array or holds more than `max_batch` measurements.
pub(super) async fn ingest_http(
    State(st): State<TwinState>,
    r: NgsiRequest,
    b: RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    let items = body
        .value
        .as_array()
        .ok_or_else(|| NgsiError::bad_data("the body is an array of measurements"))?;
    let max = st.twin.config().max_batch;
    if items.len() > max {
        return Err(NgsiError::bad_data(format!(
            "at most {max} measurements in one request"
        )));
    }
    let (applied, errors) = ingest(&st.twin, &r.tenant, items).await;
    let errs: Vec<Value> = errors
        .into_iter()
        .map(|(i, id, d)| json!({"index": i, "id": id, "detail": d}))
        .collect();
    Ok(axum::Json(json!({"applied": applied, "errors": errs})).into_response())
}
