//! The attributes of one entity (GS CIM 009 §5.6.2 to §5.6.5, §6.6, §6.7):
//! `/entities/{id}/attrs` and `/entities/{id}/attrs/{attr}`.

use super::NgsiRequest;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{self};
use crate::service::provision;
use crate::service::{EntityOp, UpdateReport};
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{json, Value};

use super::render::{no_content, report_response};
use super::request::RawBody;
use super::{check_id, TwinState};

/// Applies an append/update/merge fragment to one entity (see [`provision::fragment_op`]).
pub(crate) async fn apply_fragment(
    st: &TwinState,
    tenant: &str,
    id: &str,
    f: provision::Fragment,
    mode: provision::Mode,
) -> NgsiResult<UpdateReport> {
    st.twin
        .apply(vec![EntityOp {
            tenant: tenant.to_string(),
            id: id.to_string(),
            f: provision::fragment_op(f, mode),
        }])
        .await
        .pop()
        .unwrap_or_else(|| Err(NgsiError::internal("no result")))
}

/// POST /entities/{id}/attrs (§6.6.3.1, append; `options=noOverwrite`): 204, or 207 with
/// the attributes not appended.
pub(crate) async fn append_attrs(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = &r.params;
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let f = provision::parse_fragment(&body.value, &ctx, onecity_core::time::now_micros(), false)?;
    let tenant = r.tenant.clone();
    provision::check_type_selector(&st.twin, &tenant, &id, p.get("type"), &ctx)?;
    let mode = provision::Mode::Append {
        no_overwrite: p.option("noOverwrite"),
    };
    let report = apply_fragment(&st, &tenant, &id, f, mode).await?;
    Ok(report_response(&report, &ctx))
}

/// PATCH /entities/{id}/attrs (§6.6.3.2, update §5.6.2): 204, or 207 with the attributes
/// that do not exist; NGSI-LD Null instances are deleted, types added, `scope` replaced.
pub(crate) async fn update_attrs(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path(id): Path<String>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = &r.params;
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let f = provision::parse_fragment(&body.value, &ctx, onecity_core::time::now_micros(), false)?;
    let tenant = r.tenant.clone();
    provision::check_type_selector(&st.twin, &tenant, &id, p.get("type"), &ctx)?;
    let report = apply_fragment(&st, &tenant, &id, f, provision::Mode::Update).await?;
    Ok(report_response(&report, &ctx))
}

/// PATCH /entities/{id}/attrs/{attr} (§6.7.3.1, partial update §5.6.4): 204; 404 when the
/// entity or attribute (datasetId) does not exist; 400 for a malformed fragment or `scope`
/// (nothing changes). A fragment whose value is the NGSI-LD Null deletes the instance.
pub(crate) async fn partial_attr(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path((id, attr)): Path<(String, String)>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    not_scope(&attr)?;
    let p = &r.params;
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let Value::Object(mut m) = body.value else {
        return Err(NgsiError::bad_data(
            "the attribute fragment must be an object",
        ));
    };
    m.remove("@context");
    if m.is_empty() {
        return Err(NgsiError::bad_data("the attribute fragment is empty"));
    }
    let name = model::attr_name(&attr, &ctx)?;
    if m.get("datasetId") == Some(&json!(provision::NGSI_LD_NULL)) {
        return Err(NgsiError::bad_data(
            "a datasetId cannot be deleted with the NGSI-LD Null (GS CIM 009 §5.5.8)",
        ));
    }
    let tenant = r.tenant.clone();
    provision::check_type_selector(&st.twin, &tenant, &id, p.get("type"), &ctx)?;
    if let Some(ds) = provision::null_instance(&Value::Object(m.clone())) {
        st.twin.delete_attr(&tenant, &id, &name, ds, false).await?;
        return Ok(no_content());
    }
    st.twin
        .partial_update_attr(&tenant, &id, &name, m, ctx)
        .await?;
    Ok(no_content())
}

/// `scope` is an entity member, not an attribute: it cannot be addressed as
/// `/attrs/scope` (GS CIM 009 §4.18, §5.6.4): 400 BadRequestData.
pub(crate) fn not_scope(attr: &str) -> NgsiResult<()> {
    if attr == "scope" {
        return Err(NgsiError::bad_data(
            "scope is not an attribute; change it with an update or merge of the entity",
        ));
    }
    Ok(())
}

/// PUT /entities/{id}/attrs/{attr} (§6.7.3.3, replace attribute): 204; 404.
pub(crate) async fn replace_attr(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path((id, attr)): Path<(String, String)>,
    b: RawBody,
) -> NgsiResult<Response> {
    check_id(&id)?;
    not_scope(&attr)?;
    let body = r.body(b)?;
    let ctx = r.body_context(&st.twin, &body, &body.value).await?;
    let mut v = body.value;
    if let Value::Object(m) = &mut v {
        m.remove("@context");
    }
    let name = model::attr_name(&attr, &ctx)?;
    let list = model::parse_attribute_list(&attr, &v, &ctx, onecity_core::time::now_micros())?;
    let attrs: Vec<(String, model::Attribute)> =
        list.into_iter().map(|a| (name.clone(), a)).collect();
    let report = st.twin.update_attrs(&r.tenant, &id, attrs).await?;
    if !report.not_updated.is_empty() {
        return Err(NgsiError::not_found(format!(
            "entity {id} has no attribute {attr}"
        )));
    }
    Ok(no_content())
}

/// DELETE /entities/{id}/attrs/{attr}?datasetId=…&deleteAll=true (§6.7.3.2): 204; 404.
pub(crate) async fn delete_attr(
    State(st): State<TwinState>,
    r: NgsiRequest,
    Path((id, attr)): Path<(String, String)>,
) -> NgsiResult<Response> {
    check_id(&id)?;
    let p = &r.params;
    let ctx = r.context(&st.twin).await?;
    provision::check_type_selector(&st.twin, &r.tenant, &id, p.get("type"), &ctx)?;
    if attr == "scope" {
        let report = apply_fragment(
            &st,
            &r.tenant,
            &id,
            provision::Fragment::default(),
            provision::Mode::DeleteScope,
        )
        .await?;
        if !report.not_updated.is_empty() {
            return Err(NgsiError::not_found(format!("entity {id} has no scope")));
        }
        return Ok(no_content());
    }
    let name = model::attr_name(&attr, &ctx)?;
    let ds = p.get("datasetId").map(str::to_string);
    st.twin
        .delete_attr(
            &r.tenant,
            &id,
            &name,
            ds,
            p.get("deleteAll") == Some("true"),
        )
        .await?;
    Ok(no_content())
}
