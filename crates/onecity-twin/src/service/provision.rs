//! Attribute-level provision semantics shared by append, update and merge (GS CIM 009
//! §5.6.2, §5.6.3, §5.6.4, §5.6.17): request fragments with entity-level members (`type`,
//! `scope`), the NGSI-LD Null as a deletion marker (§4.5.x, §5.5.4), and the `type`
//! selector of operations on one entity (§4.17).

use crate::ld::context::Context;
use crate::ld::error::{NgsiError, NgsiResult};
use crate::ld::model::{self, Attribute, Entity};
use crate::service::{updated_outcome, OpFn, Twin, UpdateReport};
use serde_json::Value;

pub use crate::ld::expiry::{
    contains_null, expired, live_view, null_instance, valid_expires_at, EXPIRES_AT, NGSI_LD_NULL,
};

/// A parsed append/update/merge body (GS CIM 009 §5.6.2, §5.6.3, §5.6.17): attribute
/// instances to put, instances to delete (NGSI-LD Null), entity types to add and a
/// `scope` to write.
#[derive(Debug, Default)]
pub struct Fragment {
    /// Instances to write: (expanded name, instance).
    pub attrs: Vec<(String, Attribute)>,
    /// Instances to delete: (expanded name, datasetId; `None` = the default instance).
    pub deletions: Vec<(String, Option<String>)>,
    /// Expanded entity types to add (empty: none given).
    pub types: Vec<String>,
    /// The `scope` given, if any.
    pub scope: Option<Vec<String>>,
}

impl Fragment {
    /// The fragment of a batch entity (GS CIM 009 §5.6.10, §5.6.20): its attributes,
    /// types and scope (when it has one).
    pub fn of_entity(e: Entity) -> Fragment {
        Fragment {
            attrs: e
                .attrs
                .into_iter()
                .flat_map(|(k, l)| l.into_iter().map(move |a| (k.clone(), a)))
                .collect(),
            deletions: Vec::new(),
            types: e.types,
            scope: (!e.scope.is_empty()).then_some(e.scope),
        }
    }
}

/// Parses an append/update/merge body (GS CIM 009 §5.6.2, §5.6.3, §5.6.17). An instance
/// whose value member is the NGSI-LD Null is a deletion; the null anywhere else (inside a
/// compound value) is 400 BadRequestData, as are invalid attributes, types or scope —
/// except in a merge (`merge`), where a null inside a JSON object value removes that key
/// (§5.5.12, RFC 7396; see [`merge_patch`]).
pub fn parse_fragment(v: &Value, ctx: &Context, now: i64, merge: bool) -> NgsiResult<Fragment> {
    let m = v
        .as_object()
        .ok_or_else(|| NgsiError::bad_data("the body must be an object of attributes"))?;
    let mut f = Fragment::default();
    for (k, x) in m {
        match k.as_str() {
            "@context" | "id" | "@id" => continue,
            "type" | "@type" => {
                f.types = model::parse_types(Some(x), ctx)?.unwrap_or_default();
                continue;
            }
            "scope" => {
                f.scope = Some(model::parse_scope(Some(x))?);
                continue;
            }
            _ => {}
        }
        let name = model::attr_name(k, ctx)?;
        let mut items = Vec::new();
        for item in model::instance_items(x) {
            if let Some(ds) = null_instance(item) {
                f.deletions.push((name.clone(), ds));
            } else {
                items.push(item);
            }
        }
        if items.is_empty() {
            continue;
        }
        let mut rest = if items.len() == 1 && std::ptr::eq(items[0], x) {
            x.clone()
        } else {
            Value::Array(items.into_iter().cloned().collect())
        };
        if merge {
            nulls_to_patch_markers(&mut rest);
        }
        for a in model::parse_attribute_list(k, &rest, ctx, now)? {
            f.attrs.push((name.clone(), a));
        }
    }
    Ok(f)
}

/// In a merge fragment, turns the NGSI-LD Null inside a JSON object `value` into the JSON
/// null of an RFC 7396 merge patch (§5.5.12).
fn nulls_to_patch_markers(v: &mut Value) {
    fn inner(v: &mut Value) {
        match v {
            Value::String(s) if s == NGSI_LD_NULL => *v = Value::Null,
            Value::Object(m) => m.values_mut().for_each(inner),
            _ => {}
        }
    }
    match v {
        Value::Array(a) => a.iter_mut().for_each(nulls_to_patch_markers),
        Value::Object(m) => {
            if let Some(val @ Value::Object(_)) = m.get_mut("value") {
                inner(val);
            }
        }
        _ => {}
    }
}

/// RFC 7396 merge patch of `patch` into `target`: objects merge key by key, a null removes
/// the key, anything else replaces (GS CIM 009 §5.5.12, merge of JSON object values).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    if let Value::Object(t) = target {
        for (k, v) in p {
            if v.is_null() {
                t.remove(k);
            } else {
                merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
    }
}

/// How a [`Fragment`] is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Append (§5.6.3): new instances added, existing ones overwritten unless
    /// `no_overwrite`; `scope` replaced (or, with `no_overwrite`, extended).
    Append {
        /// `options=noOverwrite`.
        no_overwrite: bool,
    },
    /// Update (§5.6.2): only existing instances are written; the others, and a `scope`
    /// on an entity without one, are reported as not updated (207).
    Update,
    /// Merge (§5.6.17): instances added or merged member by member into the existing
    /// ones (members not given are kept); `scope` replaced.
    Merge,
    /// Delete of the entity's `scope` (§4.18, §5.6.5 `DELETE …/attrs/scope`); an entity
    /// without a scope is reported as not updated.
    DeleteScope,
}

/// Merge of one attribute instance (GS CIM 009 §5.6.17): the members given replace those
/// of `old`; `observedAt`, `unitCode`, `lang` and sub-attributes not given are kept, unless
/// the attribute changes type.
fn merge_instance(old: &Attribute, mut new: Attribute) -> Attribute {
    if old.kind != new.kind {
        return new;
    }
    new.observed_at = new.observed_at.or_else(|| old.observed_at.clone());
    new.unit_code = new.unit_code.or_else(|| old.unit_code.clone());
    new.lang = new.lang.or_else(|| old.lang.clone());
    if new.kind == model::AttrKind::Property && old.value.is_object() && new.value.is_object() {
        let patch = std::mem::take(&mut new.value);
        new.value = old.value.clone();
        merge_patch(&mut new.value, &patch);
    }
    for (k, s) in &old.sub {
        new.sub.entry(k.clone()).or_insert_with(|| s.clone());
    }
    new
}

/// The operation applying a [`Fragment`] to an existing entity (404 when it does not
/// exist): deletions first, then types, scope and instances, per `mode`.
pub fn fragment_op(f: Fragment, mode: Mode) -> OpFn {
    Box::new(move |cur, now| {
        let cur = cur.ok_or_else(|| NgsiError::not_found("no such entity"))?;
        let mut e = cur.clone();
        let mut report = UpdateReport::default();
        let mut touched = false;
        let mark = |report: &mut UpdateReport, name: &str| {
            if !report.updated.iter().any(|u| u == name) {
                report.updated.push(name.to_string());
            }
        };
        for (name, ds) in f.deletions {
            let Some(list) = e.attrs.get_mut(&name) else {
                if mode == Mode::Update {
                    report
                        .not_updated
                        .push((name, "the attribute does not exist".into()));
                }
                continue;
            };
            let before = list.len();
            list.retain(|a| a.dataset_id != ds);
            let gone = list.len() != before;
            if list.is_empty() {
                e.attrs.remove(&name);
            }
            if gone {
                mark(&mut report, &name);
            } else if mode == Mode::Update {
                report.not_updated.push((
                    name,
                    "the attribute has no instance with this datasetId".into(),
                ));
            }
        }
        if mode == Mode::DeleteScope {
            if e.scope.is_empty() {
                report
                    .not_updated
                    .push(("scope".into(), "the entity has no scope".into()));
            } else {
                e.scope.clear();
                touched = true;
            }
        }
        for t in f.types {
            if !e.types.contains(&t) {
                e.types.push(t);
                touched = true;
            }
        }
        if let Some(scope) = f.scope {
            match mode {
                Mode::Update if e.scope.is_empty() => report
                    .not_updated
                    .push(("scope".into(), "the entity has no scope to update".into())),
                Mode::Append { no_overwrite: true } => {
                    for s in scope {
                        if !e.scope.contains(&s) {
                            e.scope.push(s);
                            touched = true;
                        }
                    }
                }
                _ => {
                    touched |= e.scope != scope;
                    e.scope = scope;
                }
            }
        }
        for (name, mut a) in f.attrs {
            let old = e.instance(&name, a.dataset_id.as_deref()).cloned();
            match (&old, mode) {
                // §5.6.2: a new datasetId of an existing attribute is added.
                (None, Mode::Update) if !e.attrs.contains_key(&name) => {
                    report.not_updated.push((
                        name,
                        "the attribute (with this datasetId) does not exist".into(),
                    ));
                    continue;
                }
                (Some(_), Mode::Append { no_overwrite: true }) => {
                    report
                        .not_updated
                        .push((name, "the attribute exists and noOverwrite is set".into()));
                    continue;
                }
                (Some(o), Mode::Merge) => a = merge_instance(o, a),
                _ => {}
            }
            a.created_at = old.map_or(now, |o| o.created_at);
            a.modified_at = now;
            e.put_instance(&name, a);
            mark(&mut report, &name);
        }
        Ok(updated_outcome(e, report, now, touched))
    })
}

/// The `type` selector of an operation on one entity (GS CIM 009 §4.17, §5.6.x: `?type=`
/// on delete, append, update, partial update and attribute delete): 404 ResourceNotFound
/// when the entity does not exist or has none of the listed types.
pub fn check_type_selector(
    twin: &Twin,
    tenant: &str,
    id: &str,
    types: Option<&str>,
    ctx: &Context,
) -> NgsiResult<()> {
    let Some(ty) = types else { return Ok(()) };
    let e = twin
        .get(tenant, id)
        .ok_or_else(|| NgsiError::not_found(format!("entity {id} does not exist")))?;
    let want: Vec<String> = ty.split(',').map(|x| ctx.expand(x.trim())).collect();
    if e.types.iter().any(|x| want.contains(x)) {
        Ok(())
    } else {
        Err(NgsiError::not_found(format!(
            "entity {id} is not of type {ty}"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_encodings_mark_deletions() {
        assert_eq!(null_instance(&json!(null)), Some(None));
        assert_eq!(
            null_instance(&json!({"type": "GeoProperty", "value": NGSI_LD_NULL})),
            Some(None)
        );
        assert_eq!(
            null_instance(&json!({"languageMap": {"@none": NGSI_LD_NULL}, "datasetId": "urn:d:1"})),
            Some(Some("urn:d:1".to_string()))
        );
        assert_eq!(null_instance(&json!({"value": {"a": NGSI_LD_NULL}})), None);
        assert!(contains_null(&json!({"value": {"a": [NGSI_LD_NULL]}})));
        assert!(!contains_null(&json!({"value": "urn:ngsi-ld:nullish"})));
    }
}
