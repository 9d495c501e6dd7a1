//! CKAN's resource actions (`resource_create`, `resource_update`, `resource_patch`,
//! `resource_delete`), `package_revise`, `current_package_list_with_resources`, and the
//! `resource` dict of `datastore_create`.
//!
//! A resource is part of its dataset's record (CKAN does the same: its resource actions
//! run `package_update` underneath), so each action reads the package dict, changes its
//! `resources` list and writes the dataset through [`Catalog::update`]: one transaction,
//! one new revision, the same checks, audit record and event as a package update.
//! Semantics follow CKAN 2.10 `ckan.logic.action.{create,update,patch,delete}`.

use super::{
    needs_key, opt_list, opt_str, opt_usize, package_dict, parse_package, req_str, resource_dict,
    ActionResult, CkanError, Params,
};
use crate::dataset::Catalog;
use crate::model::Dataset;
use onecity_core::Error;
use onecity_iam::Principal;
use serde_json::{json, Map, Value};

/// The keys a resource dict may carry (CKAN's and onecity's `kind`).
pub(super) const RESOURCE_KEYS: &[&str] = &[
    "id",
    "package_id",
    "name",
    "description",
    "url",
    "format",
    "mimetype",
    "mimetype_inner",
    "size",
    "resource_type",
    "kind",
    "position",
    "state",
    "created",
    "last_modified",
    "metadata_modified",
    "url_type",
    "hash",
    "cache_url",
    "cache_last_updated",
    "datastore_active",
];

/// The dataset's package dict as a map, and its `resources` list.
async fn package_parts(c: &Catalog, d: &Dataset) -> Result<(Params, Vec<Value>), CkanError> {
    let Value::Object(mut m) = package_dict(c, d).await? else {
        return Err(Error::internal("a package dict is an object").into());
    };
    let resources = match m.remove("resources") {
        Some(Value::Array(a)) => a,
        _ => vec![],
    };
    Ok((m, resources))
}

/// Writes `pkg` with `resources` as the new record of `d` (a full `package_update`).
async fn write(
    c: &Catalog,
    p: &Principal,
    d: &Dataset,
    mut pkg: Params,
    resources: Vec<Value>,
) -> Result<Dataset, CkanError> {
    pkg.insert("resources".into(), Value::Array(resources));
    pkg.insert("id".into(), Value::String(d.id.to_string()));
    let (_, n) = parse_package(c, &pkg).await?;
    Ok(c.update(p, &d.id.to_string(), &n).await?)
}

/// Keeps the resource keys of `given` (unknown keys are a `Validation Error`, as for every
/// action here) and drops the read-only ones CKAN computes.
fn resource_fields(given: &Params) -> Result<Map<String, Value>, CkanError> {
    let mut out = Map::new();
    for (k, v) in given {
        if !RESOURCE_KEYS.contains(&k.as_str()) {
            return Err(CkanError::validation(
                k,
                format!("unknown resource key {k:?}"),
            ));
        }
        if !matches!(
            k.as_str(),
            "package_id" | "position" | "created" | "last_modified" | "metadata_modified" | "state"
        ) {
            out.insert(k.clone(), v.clone());
        }
    }
    Ok(out)
}

/// `resource_create`: adds a resource at the end of `package_id`'s list; returns its dict.
pub(super) async fn create(c: &Catalog, p: Option<&Principal>, params: &Params) -> ActionResult {
    let p = needs_key(p, "resource_create")?;
    let package_id = req_str(params, "package_id")?;
    let d = c.get(Some(p), &package_id).await?;
    let r = create_in(c, p, &d, params).await?;
    Ok(r)
}

async fn create_in(c: &Catalog, p: &Principal, d: &Dataset, params: &Params) -> ActionResult {
    let mut fields = resource_fields(params)?;
    if let Some(id) = opt_str(params, "id")?.filter(|s| !s.is_empty()) {
        if c.resource(Some(p), &id).await.is_ok() {
            return Err(CkanError::validation(
                "id",
                format!("resource id {id} is taken"),
            ));
        }
    }
    if !fields.contains_key("url") {
        fields.insert("url".into(), Value::String(String::new()));
    }
    let (pkg, mut resources) = package_parts(c, d).await?;
    let before = resources.len();
    resources.push(Value::Object(fields));
    let after = write(c, p, d, pkg, resources).await?;
    let r = after
        .resources
        .get(before)
        .ok_or_else(|| Error::internal("the new resource is missing after the update"))?;
    Ok(resource_dict(&after, r))
}

/// `resource_update` (all fields replaced by the given ones, the id and position kept) or
/// `resource_patch` (the given fields merged into the current ones).
pub(super) async fn update(
    c: &Catalog,
    p: Option<&Principal>,
    params: &Params,
    patch: bool,
) -> ActionResult {
    let p = needs_key(
        p,
        if patch {
            "resource_patch"
        } else {
            "resource_update"
        },
    )?;
    let id = req_str(params, "id")?;
    let (_, d) = c.resource(Some(p), &id).await?;
    let given = resource_fields(params)?;
    let (pkg, mut resources) = package_parts(c, &d).await?;
    let at = position_of(&resources, &id)
        .ok_or_else(|| Error::not_found(format!("resource {id:?} does not exist")))?;
    let mut next = if patch {
        resources[at].as_object().cloned().unwrap_or_default()
    } else {
        Map::new()
    };
    next.extend(given);
    next.insert("id".into(), Value::String(id.clone()));
    if !patch {
        // CKAN keeps the kind of a datastore resource when a client that does not know
        // onecity's `kind` replaces the other fields.
        if let Some(kind) = resources[at].get("kind") {
            next.entry("kind").or_insert(kind.clone());
        }
    }
    resources[at] = Value::Object(next);
    let after = write(c, p, &d, pkg, resources).await?;
    let r = after
        .resources
        .iter()
        .find(|r| r.id.to_string() == id)
        .ok_or_else(|| Error::internal("the resource is missing after the update"))?;
    Ok(resource_dict(&after, r))
}

fn position_of(resources: &[Value], id: &str) -> Option<usize> {
    resources
        .iter()
        .position(|r| r.get("id").and_then(Value::as_str) == Some(id))
}

/// `resource_delete`: removes the resource from its dataset and, when it has a datastore
/// table, drops the table (CKAN's datastore plugin does the same after a delete).
pub(super) async fn delete(
    c: &Catalog,
    ds: &onecity_datastore::Datastore,
    p: Option<&Principal>,
    params: &Params,
) -> ActionResult {
    let p = needs_key(p, "resource_delete")?;
    let id = req_str(params, "id")?;
    let (r, d) = c.resource(Some(p), &id).await?;
    let (pkg, mut resources) = package_parts(c, &d).await?;
    let at = position_of(&resources, &id)
        .ok_or_else(|| Error::not_found(format!("resource {id:?} does not exist")))?;
    resources.remove(at);
    write(c, p, &d, pkg, resources).await?;
    if r.kind == crate::model::ResourceKind::Datastore {
        match ds.delete(p, &id, None).await {
            Ok(_) => {}
            Err(e) if e.code.class() == onecity_core::ErrorClass::NotFound => {}
            Err(e) => {
                tracing::error!(resource = %id, error = %e, "resource deleted, its datastore table was not dropped");
                return Err(e.into());
            }
        }
    }
    Ok(Value::Null)
}

/// The `resource` dict of `datastore_create`: when it names a `package_id`, the resource is
/// created first (as a datastore resource) and `resource_id` set to it, as CKAN does.
/// Returns the parameters to pass on to the datastore.
pub(super) async fn datastore_create_resource(
    c: &Catalog,
    p: Option<&Principal>,
    mut params: Params,
) -> Result<Params, CkanError> {
    let Some(Value::Object(res)) = params.get("resource").cloned() else {
        return Ok(params);
    };
    if !res.contains_key("package_id") {
        return Ok(params);
    }
    if params.contains_key("resource_id") {
        return Err(CkanError::validation(
            "resource",
            "give either resource_id or a resource dict, not both",
        ));
    }
    let p = needs_key(p, "datastore_create")?;
    let package_id = res
        .get("package_id")
        .and_then(Value::as_str)
        .ok_or_else(|| CkanError::validation("resource", "package_id must be a string"))?;
    let d = c.get(Some(p), package_id).await?;
    let mut fields = res.clone();
    fields.remove("package_id");
    fields.entry("kind").or_insert(json!("datastore"));
    fields.entry("format").or_insert(json!("CSV"));
    let made = create_in(c, p, &d, &fields).await?;
    params.remove("resource");
    params.insert("resource_id".into(), made["id"].clone());
    Ok(params)
}

/// `current_package_list_with_resources`: the package dicts the caller may see, most
/// recently changed first (`limit` default 10, `offset`, or `page` of `limit`).
pub(super) async fn current_list(
    c: &Catalog,
    viewer: Option<&Principal>,
    params: &Params,
) -> ActionResult {
    let limit = opt_usize(params, "limit")?.unwrap_or(10).min(1000);
    let offset = match opt_usize(params, "page")? {
        Some(0) => return Err(CkanError::validation("page", "Must be a positive integer")),
        Some(page) => (page - 1) * limit,
        None => opt_usize(params, "offset")?.unwrap_or(0),
    };
    let mut docs = c.visible_docs(viewer, false).await?;
    docs.sort_by(|a, b| {
        b.d.updated_at
            .cmp(&a.d.updated_at)
            .then(a.d.name.cmp(&b.d.name))
    });
    let mut out = Vec::new();
    for x in docs.iter().skip(offset).take(limit) {
        out.push(package_dict(c, &x.d).await?);
    }
    Ok(Value::Array(out))
}

/// `package_revise` (CKAN 2.9+): `match` names the dataset (by `id` or `name`) and must
/// agree with its current values; `filter` removes keys (`-key`, `-resources__0__url`;
/// `+key` keeps it, the first matching pattern wins); `update` is merged in (objects
/// recursively, other values replaced); `update__resources__extend` appends resources,
/// `update__resources__<index or id prefix>` merges into one resource, `update__<key>`
/// merges into one top-level key; `include` limits the returned keys. Returns
/// `{"package": …}`.
pub(super) async fn revise(c: &Catalog, p: Option<&Principal>, params: &Params) -> ActionResult {
    let p = needs_key(p, "package_revise")?;
    let matched = json_object(params, "match")?
        .ok_or_else(|| CkanError::validation("match", "Missing value"))?;
    let key = matched
        .get("id")
        .or_else(|| matched.get("name"))
        .and_then(Value::as_str)
        .ok_or_else(|| CkanError::validation("match", "match must name the dataset by id or name"))?
        .to_string();
    let d = c.get(Some(p), &key).await?;
    let Value::Object(mut pkg) = package_dict(c, &d).await? else {
        return Err(Error::internal("a package dict is an object").into());
    };
    for (k, want) in &matched {
        if pkg.get(k) != Some(want) {
            return Err(CkanError::validation(
                "match",
                format!(
                    "^{k} does not match: the dataset has {}",
                    pkg.get(k).unwrap_or(&Value::Null)
                ),
            ));
        }
    }
    for pattern in opt_list(params, "filter")? {
        apply_filter(&mut pkg, &pattern)?;
    }
    if let Some(update) = json_object(params, "update")? {
        merge(&mut pkg, update);
    }
    let mut keys: Vec<&String> = params
        .keys()
        .filter(|k| k.starts_with("update__"))
        .collect();
    keys.sort();
    for k in keys {
        let path: Vec<&str> = k["update__".len()..].split("__").collect();
        let v = parse_json_value(&params[k]);
        apply_update_path(&mut pkg, &path, v, k)?;
    }
    // A dataset's group is its one topic: a revised `groups` list names it (the first
    // group, or none for an empty list), as `topic` would.
    let groups_changed = params.keys().any(|k| k == "update__groups")
        || json_object(params, "update")?.is_some_and(|u| u.contains_key("groups"));
    if groups_changed {
        let first = match pkg.get("groups") {
            Some(Value::Array(g)) => g
                .first()
                .and_then(|x| x.get("name").or(Some(x)))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        };
        if let Some(name) = &first {
            if c.topic(&d.tenant, name).await?.is_none()
                && !c
                    .visible_docs(Some(p), true)
                    .await?
                    .iter()
                    .any(|x| x.d.tenant == d.tenant && x.d.topic.as_deref() == Some(name))
            {
                return Err(CkanError::validation(
                    "groups",
                    format!("group {name:?} does not exist: create it with group_create"),
                ));
            }
        }
        pkg.insert("topic".into(), first.map_or(Value::Null, Value::String));
    }
    pkg.insert("id".into(), Value::String(d.id.to_string()));
    let (_, n) = parse_package(c, &pkg).await?;
    let after = c.update(p, &d.id.to_string(), &n).await?;
    let mut out = package_dict(c, &after).await?;
    let include = opt_list(params, "include")?;
    if !include.is_empty() {
        if let Value::Object(m) = &mut out {
            m.retain(|k, _| include.iter().any(|i| i == k));
        }
    }
    Ok(json!({"package": out}))
}

/// A parameter that is a JSON object, or a string holding one (form posts, GET).
fn json_object(params: &Params, k: &str) -> Result<Option<Map<String, Value>>, CkanError> {
    match params.get(k).map(parse_json_value) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(CkanError::validation(k, "must be a JSON object")),
    }
}

fn parse_json_value(v: &Value) -> Value {
    match v {
        Value::String(s) if s.trim_start().starts_with(['{', '[']) => {
            serde_json::from_str(s).unwrap_or_else(|_| v.clone())
        }
        _ => v.clone(),
    }
}

fn merge(into: &mut Map<String, Value>, from: Map<String, Value>) {
    for (k, v) in from {
        match (into.get_mut(&k), v) {
            (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
            (_, v) => {
                into.insert(k, v);
            }
        }
    }
}

/// Removes what `-path` names (a top-level key, or `resources__<i>__<key>`); `+path` keeps.
fn apply_filter(pkg: &mut Map<String, Value>, pattern: &str) -> Result<(), CkanError> {
    if pattern.starts_with('+') {
        return Ok(());
    }
    let path = pattern.strip_prefix('-').ok_or_else(|| {
        CkanError::validation("filter", format!("{pattern:?} must start with - or +"))
    })?;
    let parts: Vec<&str> = path.split("__").collect();
    match parts.as_slice() {
        [key] => {
            pkg.remove(*key);
        }
        ["resources", i, key] => {
            if let Some(Value::Array(rs)) = pkg.get_mut("resources") {
                let at = resource_index(rs, i)
                    .ok_or_else(|| CkanError::validation("filter", format!("no resource {i:?}")))?;
                if let Some(Value::Object(r)) = rs.get_mut(at) {
                    r.remove(*key);
                }
            }
        }
        _ => {
            return Err(CkanError::validation(
                "filter",
                format!(
                    "{pattern:?}: only top-level keys and resources__<i>__<key> can be filtered"
                ),
            ))
        }
    }
    Ok(())
}

/// A resource by list index (negative counts from the end) or by id prefix.
fn resource_index(rs: &[Value], sel: &str) -> Option<usize> {
    if let Ok(i) = sel.parse::<i64>() {
        let n = rs.len() as i64;
        let i = if i < 0 { n + i } else { i };
        return (0..n).contains(&i).then_some(i as usize);
    }
    let hits: Vec<usize> = rs
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.get("id")
                .and_then(Value::as_str)
                .is_some_and(|id| id.starts_with(sel))
        })
        .map(|(i, _)| i)
        .collect();
    (hits.len() == 1).then(|| hits[0])
}

fn apply_update_path(
    pkg: &mut Map<String, Value>,
    path: &[&str],
    v: Value,
    key: &str,
) -> Result<(), CkanError> {
    match path {
        ["resources", "extend"] => {
            let Value::Array(add) = v else {
                return Err(CkanError::validation(
                    key,
                    "must be a list of resource dicts",
                ));
            };
            let rs = pkg
                .entry("resources")
                .or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(rs) = rs {
                rs.extend(add);
            }
            Ok(())
        }
        ["resources", sel] => {
            let Value::Object(patch) = v else {
                return Err(CkanError::validation(key, "must be a resource dict"));
            };
            let Some(Value::Array(rs)) = pkg.get_mut("resources") else {
                return Err(CkanError::validation(key, "the dataset has no resources"));
            };
            let at = resource_index(rs, sel).ok_or_else(|| {
                CkanError::validation(key, format!("no single resource matches {sel:?}"))
            })?;
            if let Value::Object(r) = &mut rs[at] {
                merge(r, patch);
            }
            Ok(())
        }
        [top] => {
            match (pkg.get_mut(*top), v) {
                (Some(Value::Object(a)), Value::Object(b)) => merge(a, b),
                (_, v) => {
                    pkg.insert((*top).to_string(), v);
                }
            }
            Ok(())
        }
        _ => Err(CkanError::validation(
            key,
            "update__ takes a top-level key, resources__extend or resources__<index or id prefix>",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs() -> Vec<Value> {
        vec![
            json!({"id": "0192aaaa-0000-7000-8000-000000000001", "name": "a"}),
            json!({"id": "0192bbbb-0000-7000-8000-000000000002", "name": "b"}),
        ]
    }

    #[test]
    fn resources_are_chosen_by_index_or_unique_id_prefix() {
        let r = rs();
        assert_eq!(resource_index(&r, "0"), Some(0));
        assert_eq!(resource_index(&r, "-1"), Some(1));
        assert_eq!(resource_index(&r, "2"), None);
        assert_eq!(resource_index(&r, "0192b"), Some(1));
        assert_eq!(resource_index(&r, "0192"), None, "ambiguous prefix");
    }

    #[test]
    fn revise_paths_merge_extend_and_filter() {
        let mut pkg: Map<String, Value> = serde_json::from_value(json!({
            "title": "t", "notes": "n", "resources": rs()
        }))
        .unwrap();
        apply_update_path(&mut pkg, &["resources", "0192b"], json!({"url": "u"}), "k").unwrap();
        apply_update_path(
            &mut pkg,
            &["resources", "extend"],
            json!([{"name": "c"}]),
            "k",
        )
        .unwrap();
        apply_filter(&mut pkg, "-notes").unwrap();
        apply_filter(&mut pkg, "-resources__0__name").unwrap();
        assert_eq!(pkg["resources"][1]["url"], "u");
        assert_eq!(pkg["resources"][2]["name"], "c");
        assert!(pkg.get("notes").is_none());
        assert!(pkg["resources"][0].get("name").is_none());
        assert!(apply_filter(&mut pkg, "notes").is_err());
        assert!(apply_update_path(&mut pkg, &["resources", "9"], json!({}), "k").is_err());
    }
}
