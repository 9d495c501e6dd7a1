//! Context source identity: `GET /ngsi-ld/v1/info/sourceIdentity` (GS CIM 009 §5.15.1,
//! §6.33; data type ContextSourceIdentity, Table 5.2.40-1).

use crate::http::{respond, NgsiRequest};
use crate::ld::context::Context;
use crate::ld::error::NgsiResult;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use std::sync::OnceLock;
use std::time::Instant;

/// When this broker started and the UUID naming it for the life of the process.
struct Started {
    at: Instant,
    uuid: uuid::Uuid,
}

static STARTED: OnceLock<Started> = OnceLock::new();

fn started() -> &'static Started {
    STARTED.get_or_init(|| Started {
        at: Instant::now(),
        uuid: uuid::Uuid::new_v4(),
    })
}

/// Starts the uptime clock of [`source_identity`] (called when the router is built).
pub fn mark_started() {
    started();
}

/// The alias of this context source for one tenant (Table 5.2.40-1: in the multi-tenancy
/// case it identifies a specific tenant): a URN of the broker's UUID, with the tenant's
/// name appended for a named tenant. It is stable for the life of the process.
pub fn source_alias(tenant: &str) -> String {
    let base = format!("urn:ngsi-ld:ContextSource:{}", started().uuid);
    if tenant.is_empty() {
        base
    } else {
        format!("{base}:{tenant}")
    }
}

/// ISO 8601 duration of `secs` seconds (`PT3725.5S` style, whole hours and minutes split
/// out: `PT1H2M5.5S`).
pub fn iso_duration(secs: f64) -> String {
    let total = secs.max(0.0);
    let h = (total / 3600.0).floor();
    let m = ((total - h * 3600.0) / 60.0).floor();
    let s = total - h * 3600.0 - m * 60.0;
    let mut out = String::from("PT");
    if h > 0.0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0.0 {
        out.push_str(&format!("{m}M"));
    }
    out.push_str(&format!("{:.3}S", s));
    out
}

/// GET /info/sourceIdentity (GS CIM 009 §5.15.1, §6.33.3.1): 200 with a
/// ContextSourceIdentity: `id` (a URN), `type`, `contextSourceAlias` (per tenant),
/// `contextSourceUptime` (ISO 8601 duration) and `contextSourceTimeAt` (UTC DateTime).
pub async fn source_identity(r: NgsiRequest) -> NgsiResult<Response> {
    let acc = r.accept()?;
    let s = started();
    let body = json!({
        "id": format!("urn:ngsi-ld:ContextSourceIdentity:{}", s.uuid),
        "type": "ContextSourceIdentity",
        "contextSourceAlias": source_alias(&r.tenant),
        "contextSourceUptime": iso_duration(s.at.elapsed().as_secs_f64()),
        "contextSourceTimeAt": crate::ld::model::format_micros(onecity_core::time::now_micros()),
    });
    Ok(respond(StatusCode::OK, body, &Context::core(), acc, vec![]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_aliases() {
        assert_eq!(iso_duration(3725.5), "PT1H2M5.500S");
        assert_eq!(iso_duration(0.25), "PT0.250S");
        assert_ne!(source_alias(""), source_alias("a"));
        assert_ne!(source_alias("a"), source_alias("b"));
        assert_eq!(source_alias("a"), source_alias("a"));
    }
}
