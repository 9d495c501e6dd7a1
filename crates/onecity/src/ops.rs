//! Operational endpoints of the binary: health, readiness, Prometheus metrics, the OpenAPI
//! document; the request-metrics middleware; and the event-log consumer that records every
//! event this deployment delivered (`event_receipts`, one row per event with a delivery
//! count, so a duplicate delivery would show as a count above 1).

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use onecity_core::events::EventEnvelope;
use onecity_core::{Error, ErrorCode, Problem};
use onecity_store::bus::Handler;
use onecity_store::migrate::Migration;
use onecity_store::{Db, Tx};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use utoipa_axum::{router::OpenApiRouter, routes};

/// Migrations of the `ops` component.
pub static MIGRATIONS: [Migration; 1] = [Migration {
    version: 1,
    name: "event receipts",
    sqlite: "CREATE TABLE event_receipts (consumer TEXT NOT NULL, event_id TEXT NOT NULL, topic TEXT NOT NULL, deliveries BIGINT NOT NULL, first_at BIGINT NOT NULL, PRIMARY KEY (consumer, event_id));",
    postgres: "CREATE TABLE event_receipts (consumer TEXT NOT NULL, event_id TEXT NOT NULL, topic TEXT NOT NULL, deliveries BIGINT NOT NULL, first_at BIGINT NOT NULL, PRIMARY KEY (consumer, event_id));",
}];

/// State of the ops routes.
#[derive(Clone)]
pub struct OpsState {
    /// True once migrations ran and services started; false again during shutdown.
    pub ready: Arc<AtomicBool>,
    /// The database (for readiness).
    pub db: Option<Db>,
    /// Prometheus renderer.
    pub prom: PrometheusHandle,
    /// The OpenAPI document (set once the router is built).
    pub openapi: Arc<OnceLock<String>>,
}

/// The ops router.
pub fn routes() -> OpenApiRouter<OpsState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics_text))
        .routes(routes!(openapi_json))
}

/// Liveness.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: &'static str,
}

/// Liveness: 200 while the process runs.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, body = Health)))]
pub async fn healthz() -> axum::Json<Health> {
    axum::Json(Health { status: "ok" })
}

/// Readiness: 200 once migrations are done and the database answers; 503 before, during
/// shutdown, or when the database is unreachable.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses((status = 200, body = Health), (status = 503, body = Problem)))]
pub async fn readyz(State(s): State<OpsState>) -> Response {
    if !s.ready.load(Ordering::Acquire) {
        return onecity_http::problem_response(&Error::new(
            ErrorCode::NotReady,
            "starting (migrations running) or shutting down",
        ));
    }
    if let Some(db) = &s.db {
        if db.ping().await.is_err() {
            return onecity_http::problem_response(&Error::new(
                ErrorCode::NotReady,
                "the database does not answer",
            ));
        }
    }
    axum::Json(Health { status: "ok" }).into_response()
}

/// Prometheus metrics (text exposition format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics_text(State(s): State<OpsState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.prom.render(),
    )
}

/// The OpenAPI 3.1 document of every route.
#[utoipa::path(get, path = "/api/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(State(s): State<OpsState>) -> Response {
    match s.openapi.get() {
        Some(doc) => ([(header::CONTENT_TYPE, "application/json")], doc.clone()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response(),
    }
}

/// Records request count and latency per route template and status.
pub async fn track_metrics(req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().as_str().to_owned();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    metrics::counter!("onecity_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status).increment(1);
    metrics::histogram!("onecity_http_request_duration_seconds", "method" => method, "route" => route).record(start.elapsed().as_secs_f64());
    resp
}

/// The event-log consumer: one receipt row per delivered event, counting deliveries.
pub struct EventLog;

impl Handler for EventLog {
    fn name(&self) -> &str {
        "ops.event-log"
    }
    fn handle<'a>(
        &'a self,
        tx: &'a mut Tx,
        env: &'a EventEnvelope,
    ) -> BoxFuture<'a, onecity_core::Result<()>> {
        Box::pin(async move {
            crate::store::record_receipt(
                &mut *tx,
                self.name(),
                env.id,
                env.event.topic(),
                onecity_core::time::now_micros(),
            )
            .await?;
            metrics::counter!("onecity_events_consumed_total", "consumer" => "ops.event-log")
                .increment(1);
            Ok(())
        })
    }
}
