//! Device ingestion: measurements from devices become entity updates (with history).
//!
//! The mapping (documented in docs/API.md), one **measurement** being
//!
//! ```json
//! {"id": "urn:ngsi-ld:AirQualityObserved:Dongsi", "type": "AirQualityObserved",
//!  "observedAt": "2013-03-01T00:00:00Z", "values": {"pm10": 9, "so2": 3},
//!  "unitCodes": {"pm10": "GQ"}, "location": [116.417, 39.929], "locationSource": "placed"}
//! ```
//!
//! - `id` (a URI; a bare name `x` becomes `urn:ngsi-ld:<type>:x`) and `type` (an NGSI-LD
//!   name, expanded with the core context) pick the entity; it is created when missing.
//! - each `values` member becomes a Property with that value, `observedAt` (RFC 3339,
//!   default: the time of arrival) and its `unitCodes` entry; other attributes are kept.
//! - `location` `[lon, lat]` (WGS-84) sets the `location` GeoProperty, and
//!   `locationSource` (e.g. `"placed"` for positions not surveyed) a Property of that name.
//!
//! Bindings: `POST /ngsi-ld/v1/ext/ingest` with an array of at most
//! `TwinConfig::max_batch` measurements (answer 200 `{"applied": n, "errors": [{"index",
//! "id", "detail"}]}`); and MQTT: with `ngsi_ld_ingest_mqtt = "mqtt://host:port/prefix"`, the
//! server subscribes to `prefix/#` and maps a message on `prefix/<type>/<id>` whose payload
//! is a measurement without `id`/`type` (or a plain object of attribute → value) to the same
//! update, in the default tenant.

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{self, AttrKind, Attribute, Entity};
use crate::service::{ChangeKind, EntityOp, OpFn, Outcome, Twin, UpdateReport};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// A parsed measurement.
#[derive(Debug, Clone)]
pub struct Measurement {
    /// Entity id.
    pub id: String,
    /// Expanded type.
    pub etype: String,
    /// (expanded name, attribute) to put.
    pub attrs: Vec<(String, Attribute)>,
}

/// Parses one measurement (see the module doc). Errors: 400 BadRequestData.
pub fn parse_measurement(v: &Value, now: i64) -> NgsiResult<Measurement> {
    let ctx = Context::core();
    let m = v
        .as_object()
        .ok_or_else(|| NgsiError::bad_data("a measurement is a JSON object"))?;
    let ty = m
        .get("type")
        .and_then(Value::as_str)
        .filter(|t| model::is_valid_name(t))
        .ok_or_else(|| NgsiError::bad_data("a measurement needs a valid \"type\""))?;
    let raw_id = m
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| NgsiError::bad_data("a measurement needs an \"id\""))?;
    let id = if model::is_uri(raw_id) {
        raw_id.to_string()
    } else {
        let id = format!("urn:ngsi-ld:{ty}:{raw_id}");
        if !model::is_uri(&id) {
            return Err(NgsiError::bad_data(format!(
                "id {raw_id:?} cannot make a URI"
            )));
        }
        id
    };
    let observed = match m.get("observedAt") {
        None => model::format_micros(now),
        Some(Value::String(s)) if model::parse_datetime(s).is_some() => s.clone(),
        Some(x) => {
            return Err(NgsiError::bad_data(format!(
                "observedAt {x} is not an RFC 3339 date-time"
            )))
        }
    };
    let units = m.get("unitCodes").and_then(Value::as_object);
    let values = m
        .get("values")
        .and_then(Value::as_object)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| NgsiError::bad_data("a measurement needs a non-empty \"values\" object"))?;
    let mk = |kind, value: Value, unit: Option<String>| Attribute {
        kind,
        value,
        dataset_id: None,
        observed_at: Some(observed.clone()),
        unit_code: unit,
        lang: None,
        created_at: now,
        modified_at: now,
        sub: BTreeMap::new(),
    };
    let mut attrs = Vec::new();
    for (k, val) in values {
        if !model::is_valid_name(k) || matches!(k.as_str(), "id" | "type" | "location") {
            return Err(NgsiError::bad_data(format!(
                "{k:?} is not a valid attribute name here"
            )));
        }
        if val.is_null() {
            return Err(NgsiError::bad_data(format!("value of {k} is null")));
        }
        let unit = units
            .and_then(|u| u.get(k))
            .and_then(Value::as_str)
            .map(str::to_string);
        attrs.push((ctx.expand(k), mk(AttrKind::Property, val.clone(), unit)));
    }
    if let Some(loc) = m.get("location") {
        let ok = loc.as_array().is_some_and(|a| {
            a.len() == 2
                && a[0].as_f64().is_some_and(|x| (-180.0..=180.0).contains(&x))
                && a[1].as_f64().is_some_and(|y| (-90.0..=90.0).contains(&y))
        });
        if !ok {
            return Err(NgsiError::bad_data(format!(
                "location {loc} must be [lon, lat] in degrees"
            )));
        }
        attrs.push((
            ctx.expand("location"),
            mk(
                AttrKind::GeoProperty,
                json!({"type": "Point", "coordinates": loc}),
                None,
            ),
        ));
    }
    if let Some(src) = m.get("locationSource") {
        let s = src
            .as_str()
            .ok_or_else(|| NgsiError::bad_data("locationSource must be a string"))?;
        let mut a = mk(AttrKind::Property, json!(s), None);
        a.observed_at = None;
        attrs.push((ctx.expand("locationSource"), a));
    }
    Ok(Measurement {
        id,
        etype: ctx.expand(ty),
        attrs,
    })
}

/// The entity operation of a measurement: create, or put the attributes (keeping the
/// others and each attribute's createdAt).
pub fn measurement_op(m: Measurement) -> OpFn {
    Box::new(move |cur: Option<&Entity>, now| {
        let names: Vec<String> = m.attrs.iter().map(|(n, _)| n.clone()).collect();
        let (mut e, kind) = match cur {
            Some(c) => {
                if !c.types.contains(&m.etype) {
                    return Err(NgsiError::bad_data(format!(
                        "entity {} exists with another type",
                        m.id
                    )));
                }
                (c.clone(), ChangeKind::Updated)
            }
            None => (
                Entity {
                    id: m.id.clone(),
                    types: vec![m.etype.clone()],
                    scope: vec![],
                    created_at: now,
                    modified_at: now,
                    attrs: BTreeMap::new(),
                },
                ChangeKind::Created,
            ),
        };
        for (name, mut a) in m.attrs {
            if let Some(old) = e.instance(&name, None) {
                a.created_at = old.created_at;
            } else {
                a.created_at = now;
            }
            a.modified_at = now;
            e.put_instance(&name, a);
        }
        e.modified_at = now;
        Ok(Outcome::Put {
            entity: e,
            kind,
            changed: names.clone(),
            report: UpdateReport {
                updated: names,
                not_updated: vec![],
            },
        })
    })
}

/// Applies measurements; returns (applied, errors as (index, id, detail)).
pub async fn ingest(
    twin: &Twin,
    tenant: &str,
    items: &[Value],
) -> (usize, Vec<(usize, String, String)>) {
    let now = onecity_core::time::now_micros();
    let mut errors = Vec::new();
    let mut ops = Vec::new();
    let mut idx = Vec::new();
    for (i, v) in items.iter().enumerate() {
        match parse_measurement(v, now) {
            Ok(m) => {
                idx.push((i, m.id.clone()));
                ops.push(EntityOp {
                    tenant: tenant.to_string(),
                    id: m.id.clone(),
                    f: measurement_op(m),
                });
            }
            Err(e) => errors.push((
                i,
                v.get("id")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                e.detail,
            )),
        }
    }
    let mut applied = 0;
    for ((i, id), r) in idx.into_iter().zip(twin.apply(ops).await) {
        match r {
            Ok(_) => applied += 1,
            Err(e) => errors.push((i, id, e.detail)),
        }
    }
    errors.sort_by_key(|e| e.0);
    (applied, errors)
}

/// Maps an MQTT message on `prefix/<type>/<id>` to a measurement value.
pub fn mqtt_measurement(prefix: &str, topic: &str, payload: &[u8]) -> NgsiResult<Value> {
    let rest = topic
        .strip_prefix(prefix)
        .map(|r| r.trim_start_matches('/'))
        .ok_or_else(|| NgsiError::bad_data("topic outside the ingestion prefix"))?;
    let (ty, id) = rest
        .split_once('/')
        .ok_or_else(|| NgsiError::bad_data("the topic must be <prefix>/<type>/<id>"))?;
    let v: Value = serde_json::from_slice(payload)
        .map_err(|e| NgsiError::bad_data(format!("the payload is not JSON: {e}")))?;
    let mut m: Map<String, Value> = v
        .as_object()
        .cloned()
        .ok_or_else(|| NgsiError::bad_data("the payload is a JSON object"))?;
    if !m.contains_key("values") {
        m = {
            let mut w = Map::new();
            w.insert("values".into(), Value::Object(m));
            w
        };
    }
    m.insert("type".into(), json!(ty));
    m.insert("id".into(), json!(id));
    Ok(Value::Object(m))
}

/// Runs MQTT ingestion from `mqtt://host:port/prefix` until `shutdown`; reconnects after
/// errors (every second).
pub async fn run_mqtt(twin: Twin, url: String, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let Ok(u) = reqwest::Url::parse(&url) else {
        tracing::error!(%url, "ngsi_ld_ingest_mqtt is not a URL");
        return;
    };
    let (Some(host), "mqtt") = (u.host_str(), u.scheme()) else {
        tracing::error!(%url, "ngsi_ld_ingest_mqtt must be mqtt://host:port/prefix");
        return;
    };
    let prefix = u.path().trim_matches('/').to_string();
    let mut o = rumqttc::MqttOptions::new(
        format!("onecity-ingest-{}", uuid::Uuid::new_v4().simple()),
        host,
        u.port().unwrap_or(1883),
    );
    o.set_keep_alive(Duration::from_secs(30));
    if !u.username().is_empty() {
        o.set_credentials(u.username(), u.password().unwrap_or(""));
    }
    let (client, mut ev) = rumqttc::AsyncClient::new(o, 1024);
    let filter = if prefix.is_empty() {
        "#".to_string()
    } else {
        format!("{prefix}/#")
    };
    loop {
        tokio::select! {
            r = ev.poll() => match r {
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(_))) => {
                    if let Err(e) = client.subscribe(filter.clone(), rumqttc::QoS::AtLeastOnce).await {
                        tracing::warn!(error = %e, "MQTT ingestion subscribe");
                    }
                }
                Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) => {
                    match mqtt_measurement(&prefix, &p.topic, &p.payload) {
                        Ok(v) => {
                            let (_, errs) = ingest(&twin, "", &[v]).await;
                            for (_, id, d) in errs {
                                tracing::warn!(topic = %p.topic, %id, detail = %d, "MQTT measurement refused");
                            }
                        }
                        Err(e) => tracing::warn!(topic = %p.topic, detail = %e.detail, "MQTT measurement refused"),
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "MQTT ingestion connection");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
    }
}
