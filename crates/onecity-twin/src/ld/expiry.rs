//! Expiry and the NGSI-LD Null: transient entities and attributes (`expiresAt`, GS CIM 009
//! §4.22) and the null that deletes an instance in updates (§5.5.4). Pure functions on the
//! model, used by parsing (`model`), queries and the service.

use crate::ld::model::{self, Attribute, Entity};
use serde_json::{json, Value};

/// The NGSI-LD Null (GS CIM 009 §5.5.4): in an update, partial update or merge it deletes
/// the attribute instance it stands for; anywhere in a create it is a 400 BadRequestData.
pub const NGSI_LD_NULL: &str = "urn:ngsi-ld:null";

/// `expiresAt` of a transient entity (GS CIM 009 §4.22), as an expanded name.
pub const EXPIRES_AT: &str = "https://uri.etsi.org/ngsi-ld/expiresAt";

/// Whether `v` is a valid `expiresAt`: a UTC DateTime ending in `Z` (§4.6.3, §4.22), bare
/// or as the Property it is stored as.
pub fn valid_expires_at(v: &Value) -> bool {
    let v = match v {
        Value::Object(m) => m.get("value").unwrap_or(&Value::Null),
        v => v,
    };
    v.as_str()
        .is_some_and(|s| s.ends_with('Z') && model::parse_datetime(s).is_some())
}

fn attr_expired(a: &Attribute, now: i64) -> bool {
    a.sub
        .get(EXPIRES_AT)
        .and_then(|x| x.value.as_str())
        .and_then(model::parse_datetime)
        .is_some_and(|t| t <= now)
}

/// The entity as served at `now` (GS CIM 009 §4.22): `None` when it has expired, else
/// without its expired attribute instances (the same `Arc` when none has expired).
pub fn live_view(e: &std::sync::Arc<Entity>, now: i64) -> Option<std::sync::Arc<Entity>> {
    if expired(e, now) {
        return None;
    }
    if !e.attrs.values().flatten().any(|a| attr_expired(a, now)) {
        return Some(e.clone());
    }
    let mut v = (**e).clone();
    for list in v.attrs.values_mut() {
        list.retain(|a| !attr_expired(a, now));
    }
    v.attrs.retain(|_, l| !l.is_empty());
    Some(std::sync::Arc::new(v))
}

/// Whether a transient entity has expired at `now` (µs): its `expiresAt` lies in the past
/// (GS CIM 009 §4.22). An expired entity is no longer served, and its id may be created
/// again; it is removed lazily (hidden from retrieval and queries, overwritten by a create).
pub fn expired(e: &Entity, now: i64) -> bool {
    e.instance(EXPIRES_AT, None)
        .and_then(|a| a.value.as_str())
        .and_then(model::parse_datetime)
        .is_some_and(|t| t <= now)
}

/// Whether `v` holds the NGSI-LD Null as a string at any depth (GS CIM 009 §5.5.4).
pub fn contains_null(v: &Value) -> bool {
    match v {
        Value::String(s) => s == NGSI_LD_NULL,
        Value::Array(a) => a.iter().any(contains_null),
        Value::Object(m) => m.values().any(contains_null),
        _ => false,
    }
}

/// Whether a value member is the NGSI-LD Null in the encoding of its attribute type
/// (GS CIM 009 §4.5.x, §4.6.5): `"urn:ngsi-ld:null"` (`value`, `object`, `vocab`, `json`),
/// `{"@none": "urn:ngsi-ld:null"}` (`languageMap`), `["urn:ngsi-ld:null"]` (`valueList`,
/// `objectList`, also as `[{"object": …}]`). A JSON null value member is no deletion but
/// an invalid value (400).
fn is_null_member(v: &Value) -> bool {
    let null = json!(NGSI_LD_NULL);
    *v == null
        || *v == json!({"@none": NGSI_LD_NULL})
        || *v == json!([NGSI_LD_NULL])
        || *v == json!([{"object": NGSI_LD_NULL}])
}

/// When an attribute instance of a request fragment is the NGSI-LD Null (GS CIM 009
/// §5.5.4: JSON null, the bare null URI, or an attribute whose value member is the null
/// in its type's encoding), the datasetId of the instance it deletes (`Some(None)` = the
/// default instance); `None` for any other fragment.
pub fn null_instance(v: &Value) -> Option<Option<String>> {
    match v {
        Value::Null => Some(None),
        Value::String(s) if s == NGSI_LD_NULL => Some(None),
        Value::Object(m) => {
            let null = model::VALUE_KEYS
                .iter()
                .any(|k| m.get(*k).is_some_and(is_null_member));
            null.then(|| {
                m.get("datasetId")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        }
        _ => None,
    }
}
