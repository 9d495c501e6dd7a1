//! Writes on one attribute of a Temporal Evolution (GS CIM 009 §5.6.13–§5.6.15; resources
//! §6.21 `/temporal/entities/{entityId}/attrs/{attrId}` and §6.22
//! `…/attrs/{attrId}/{instanceId}`): deleting an attribute's recorded instances, and
//! modifying or deleting one instance named by the `instanceId` the broker gave it when it
//! was recorded (§4.5.7; shown in temporal answers, see [`crate::http::temporal`]).
//!
//! These touch `twin_history` only: the current state of the entity (`/entities`) is a
//! separate representation and is left as it is.

use super::NgsiRequest;
use super::TwinState;
use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{self, Attribute};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

/// The expanded name of an attribute named in a request path.
///
/// Errors (400 BadRequestData, §5.6.13.4, §5.6.14.4, §5.6.15.4): not a valid name (§4.6.2),
/// or a relative-path dot segment (`.`, `..`) once every percent triplet is decoded (the
/// name may reach another endpoint inside a path, where RFC 3986 §5.2.4 would remove it).
pub fn path_attr_name(raw: &str, ctx: &Context) -> NgsiResult<String> {
    let mut folded = raw.to_string();
    for _ in 0..4 {
        let next = percent_encoding::percent_decode_str(&folded)
            .decode_utf8_lossy()
            .into_owned();
        if next == folded {
            break;
        }
        folded = next;
    }
    if folded == "." || folded == ".." {
        return Err(NgsiError::bad_data(format!(
            "attribute name {raw:?} is a relative-path dot segment, not a valid name"
        )));
    }
    model::attr_name(raw, ctx)
}

/// The entity id, attribute and instance id of an instance path, validated: 400
/// BadRequestData when the entity id or the instance id is not a URI or the attribute name
/// is not valid.
fn instance_path(id: &str, attr: &str, instance_id: &str, ctx: &Context) -> NgsiResult<String> {
    super::check_id(id)?;
    let name = path_attr_name(attr, ctx)?;
    if !model::is_uri(instance_id) {
        return Err(NgsiError::bad_data(format!(
            "instanceId {instance_id:?} is not a URI"
        )));
    }
    Ok(name)
}

fn instance_not_found(id: &str, attr: &str, instance_id: &str) -> NgsiError {
    NgsiError::not_found(format!(
        "entity {id} has no instance {instance_id} of attribute {attr} in its temporal evolution"
    ))
}

/// DELETE /temporal/entities/{entityId}/attrs/{attrId} (§5.6.13, §6.21.3.1): deletes the
/// recorded instances of the attribute: those of the default instance (no `datasetId`),
/// those of `datasetId=…`, or with `deleteAll=true` every one. 204; 400 for an invalid
/// id, name, `datasetId` or `deleteAll`; 404 ResourceNotFound when nothing matched.
pub async fn delete_attr(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path((id, attr)): Path<(String, String)>,
) -> NgsiResult<Response> {
    super::check_id(&id)?;
    let p = &r.params;
    let ctx = r.context(&st.twin).await?;
    let name = path_attr_name(&attr, &ctx)?;
    let all = match p.get("deleteAll") {
        None | Some("false") => false,
        Some("true") => true,
        Some(x) => {
            return Err(NgsiError::bad_data(format!(
                "deleteAll {x:?} is not true or false"
            )))
        }
    };
    let dataset = p.get("datasetId").unwrap_or("");
    if !dataset.is_empty() && !model::is_uri(dataset) {
        return Err(NgsiError::bad_data(format!(
            "datasetId {dataset:?} is not a URI"
        )));
    }
    let tenant = r.tenant.clone();
    let n = crate::store::history::delete_attr(
        st.twin.db(),
        &tenant,
        &id,
        &name,
        (!all).then_some(dataset),
    )
    .await?;
    if n == 0 {
        let which = if all {
            String::new()
        } else if dataset.is_empty() {
            " (default instance)".to_string()
        } else {
            format!(" with datasetId {dataset}")
        };
        return Err(NgsiError::not_found(format!(
            "entity {id} has no attribute {attr}{which} in its temporal evolution"
        )));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// DELETE /temporal/entities/{entityId}/attrs/{attrId}/{instanceId} (§5.6.15, §6.22.3.2):
/// deletes that one recorded instance. 204; 400 for an invalid id, name or instanceId;
/// 404 ResourceNotFound when the entity, attribute or instance is unknown.
pub async fn delete_instance(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path((id, attr, instance_id)): Path<(String, String, String)>,
) -> NgsiResult<Response> {
    let ctx = r.context(&st.twin).await?;
    let name = instance_path(&id, &attr, &instance_id, &ctx)?;
    let n =
        crate::store::history::delete_instance(st.twin.db(), &r.tenant, &id, &name, &instance_id)
            .await?;
    if n == 0 {
        return Err(instance_not_found(&id, &attr, &instance_id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// PATCH /temporal/entities/{entityId}/attrs/{attrId}/{instanceId} (§5.6.14, §6.22.3.1):
/// modifies one recorded instance; it keeps its `instanceId`. The body is the instance
/// (`{"type": "Property", "value": …, "observedAt": …}`) or a fragment holding it under the
/// attribute's name. Members the body leaves out (the value, `observedAt`, `datasetId`,
/// `unitCode`, `lang`, sub-attributes) keep their recorded value. 204; 400 for an invalid
/// id, name, instanceId or instance; 404 ResourceNotFound when the entity, attribute or
/// instance is unknown.
pub async fn patch_instance(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path((id, attr, instance_id)): Path<(String, String, String)>,
    b: super::RawBody,
) -> NgsiResult<Response> {
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let name = instance_path(&id, &attr, &instance_id, &ctx)?;
    let tenant = r.tenant.clone();
    let row = crate::store::history::instance(st.twin.db(), &tenant, &id, &name, &instance_id)
        .await?
        .ok_or_else(|| instance_not_found(&id, &attr, &instance_id))?;
    let old: Attribute = serde_json::from_str(&row.instance)
        .map_err(|e| NgsiError::internal(format!("recorded instance {instance_id}: {e}")))?;
    let now = onecity_core::time::now_micros();
    let new = patched_instance(&old, &attr, &body.value, &ctx, now)?;
    let observed = new.observed_micros().unwrap_or(row.observed_at);
    let instance = serde_json::to_string(&new).map_err(onecity_core::Error::internal)?;
    crate::store::history::update_instance(
        st.twin.db(),
        &tenant,
        &id,
        &name,
        &instance_id,
        &instance,
        crate::service::num_of(&new),
        observed,
        new.dataset_id.as_deref().unwrap_or_default(),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `old` with the members of the body applied (see [`patch_instance`]).
fn patched_instance(
    old: &Attribute,
    attr: &str,
    body: &Value,
    ctx: &Context,
    now: i64,
) -> NgsiResult<Attribute> {
    let bad = || NgsiError::bad_data("the body must be an attribute instance (a JSON object)");
    let m = body.as_object().ok_or_else(bad)?;
    let is_instance =
        m.contains_key("type") || model::VALUE_KEYS.iter().any(|k| m.contains_key(*k));
    let mut frag = if is_instance {
        m.clone()
    } else {
        match m.get(attr) {
            Some(Value::Object(inner)) => inner.clone(),
            _ => return Err(bad()),
        }
    };
    frag.remove("@context");
    frag.remove("instanceId");
    if !model::VALUE_KEYS.iter().any(|k| frag.contains_key(*k)) {
        frag.insert(old.kind.value_key().into(), old.value.clone());
        frag.entry("type")
            .or_insert_with(|| Value::String(old.kind.as_str().into()));
    }
    let mut new = model::parse_temporal_attribute(attr, &Value::Object(frag), ctx, now)?;
    new.dataset_id = new.dataset_id.or_else(|| old.dataset_id.clone());
    new.observed_at = new.observed_at.or_else(|| old.observed_at.clone());
    new.unit_code = new.unit_code.or_else(|| old.unit_code.clone());
    new.lang = new.lang.or_else(|| old.lang.clone());
    let mut sub = old.sub.clone();
    sub.append(&mut new.sub);
    new.sub = sub;
    new.created_at = old.created_at;
    new.modified_at = now;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dot_segments_are_not_names() {
        let ctx = Context::core();
        for bad in [".", "..", "%2e%2e", "%2E", "%252e%252e", "invalid(Name", ""] {
            assert!(path_attr_name(bad, &ctx).is_err(), "{bad}");
        }
        assert_eq!(path_attr_name("speed", &ctx).unwrap(), ctx.expand("speed"));
    }

    #[test]
    fn patch_keeps_what_the_body_leaves_out() {
        let ctx = Context::core();
        let old = model::parse_attribute(
            "speed",
            &json!({"type": "Property", "value": 120, "observedAt": "2020-09-01T12:03:00Z",
                    "unitCode": "KMH", "datasetId": "urn:ngsi-ld:ds:1"}),
            &ctx,
            1,
        )
        .unwrap();
        let new = patched_instance(&old, "speed", &json!({"value": 129}), &ctx, 5).unwrap();
        assert_eq!(new.value, json!(129));
        assert_eq!(new.observed_at.as_deref(), Some("2020-09-01T12:03:00Z"));
        assert_eq!(new.unit_code.as_deref(), Some("KMH"));
        assert_eq!(new.dataset_id.as_deref(), Some("urn:ngsi-ld:ds:1"));
        assert_eq!((new.created_at, new.modified_at), (1, 5));
        let wrapped = json!({"speed": {"type": "Property", "value": 7,
                                       "observedAt": "2020-09-01T13:00:00Z"}});
        let new = patched_instance(&old, "speed", &wrapped, &ctx, 6).unwrap();
        assert_eq!(new.value, json!(7));
        assert_eq!(new.observed_at.as_deref(), Some("2020-09-01T13:00:00Z"));
        assert!(patched_instance(&old, "speed", &json!([1]), &ctx, 6).is_err());
        assert!(patched_instance(&old, "speed", &json!({"other": 1}), &ctx, 6).is_err());
    }
}
