//! Discovery (GS CIM 009 §5.7.5 to §5.7.8, §6.25 to §6.28): `/types`, `/types/{type}`,
//! `/attributes`, `/attributes/{attr}`.

use super::NgsiRequest;
use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::service::{self};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{json, Value};

use super::render::respond;
use super::TwinState;

/// GET /types (§6.25): an `EntityTypeList`, or with `details=true` an array of
/// `EntityType`; a key scoped to types (`twin:read:<Type>`) sees only those types.
pub(crate) async fn list_types(
    State(st): State<TwinState>,
    r: NgsiRequest,
) -> NgsiResult<Response> {
    let p = &r.params;
    let acc = r.accept()?;
    let ctx = r.context(&st.twin).await?;
    let limit = r.types.clone();
    let types = st
        .twin
        .types(&r.tenant, limit.as_deref().map(Vec::as_slice));
    let body = if p.get("details") == Some("true") {
        Value::Array(
            types
                .iter()
                .map(|(ty, (_, attrs))| {
                    json!({"id": ty, "type": "EntityType", "typeName": ctx.compact(ty),
                           "attributeNames": attrs.iter().map(|a| ctx.compact(a)).collect::<Vec<_>>()})
                })
                .collect(),
        )
    } else {
        json!({"id": format!("urn:ngsi-ld:EntityTypeList:{}", uuid_like(&r.tenant)), "type": "EntityTypeList",
               "typeList": types.keys().map(|k| ctx.compact(k)).collect::<Vec<_>>()})
    };
    Ok(respond(StatusCode::OK, body, &ctx, acc, vec![]))
}

pub(crate) fn uuid_like(s: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    s.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// GET /types/{type} (§6.26): `EntityTypeInfo`; 404 when no entity has the type (or, for a
/// key scoped to types, no entity of an allowed type has it).
pub(crate) async fn type_info(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(ty): Path<String>,
) -> NgsiResult<Response> {
    let acc = r.accept()?;
    let ctx = r.context(&st.twin).await?;
    let iri = ctx.expand(&ty);
    let tenant = r.tenant.clone();
    let type_scope = r.types.clone();
    let limit = type_scope.as_deref().map(Vec::as_slice);
    let types = st.twin.types(&tenant, limit);
    let (count, attrs) = types
        .get(&iri)
        .ok_or_else(|| NgsiError::not_found(format!("no entity has type {ty}")))?;
    let infos = st.twin.attributes(&tenant, limit);
    let details: Vec<Value> = attrs
        .iter()
        .map(|a| {
            let kinds: Vec<&str> = infos.get(a).map(|i| i.kinds.iter().copied().collect()).unwrap_or_default();
            json!({"id": a, "type": "Attribute", "attributeName": ctx.compact(a), "attributeTypes": kinds})
        })
        .collect();
    let body = json!({"id": iri, "type": "EntityTypeInfo", "typeName": ctx.compact(&iri), "entityCount": count, "attributeDetails": details});
    Ok(respond(StatusCode::OK, body, &ctx, acc, vec![]))
}

/// GET /attributes (§6.27): an `AttributeList`, or with `details=true` an array of
/// `Attribute`; a key scoped to types reads only the entities of its types.
pub(crate) async fn list_attributes(
    State(st): State<TwinState>,
    r: NgsiRequest,
) -> NgsiResult<Response> {
    let p = &r.params;
    let acc = r.accept()?;
    let ctx = r.context(&st.twin).await?;
    let limit = r.types.clone();
    let infos = st
        .twin
        .attributes(&r.tenant, limit.as_deref().map(Vec::as_slice));
    let body = if p.get("details") == Some("true") {
        // §5.7.9: the detailed list names each attribute and its entity types; counts
        // and attribute types are for GET /attributes/{attr} (§5.7.10).
        Value::Array(
            infos
                .iter()
                .map(|(a, i)| {
                    let mut v = attr_json(a, i, &ctx);
                    if let Some(m) = v.as_object_mut() {
                        m.remove("attributeCount");
                        m.remove("attributeTypes");
                    }
                    v
                })
                .collect(),
        )
    } else {
        json!({"id": format!("urn:ngsi-ld:AttributeList:{}", uuid_like(&r.tenant)), "type": "AttributeList",
               "attributeList": infos.keys().map(|k| ctx.compact(k)).collect::<Vec<_>>()})
    };
    Ok(respond(StatusCode::OK, body, &ctx, acc, vec![]))
}

pub(crate) fn attr_json(a: &str, i: &service::AttrInfo, ctx: &Context) -> Value {
    json!({"id": a, "type": "Attribute", "attributeName": ctx.compact(a), "attributeCount": i.count,
           "attributeTypes": i.kinds.iter().collect::<Vec<_>>(),
           "typeNames": i.types.iter().map(|t| ctx.compact(t)).collect::<Vec<_>>()})
}

/// GET /attributes/{attr} (§6.28): `Attribute`; 404 when no entity has it.
pub(crate) async fn attribute_info(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(attr): Path<String>,
) -> NgsiResult<Response> {
    let acc = r.accept()?;
    let ctx = r.context(&st.twin).await?;
    let iri = ctx.expand(&attr);
    let limit = r.types.clone();
    let infos = st
        .twin
        .attributes(&r.tenant, limit.as_deref().map(Vec::as_slice));
    let i = infos
        .get(&iri)
        .ok_or_else(|| NgsiError::not_found(format!("no entity has attribute {attr}")))?;
    Ok(respond(
        StatusCode::OK,
        attr_json(&iri, i, &ctx),
        &ctx,
        acc,
        vec![],
    ))
}
