//! CKAN's organization, group, member, user and tag actions beyond the lists:
//! `organization_create`, `organization_update`, `group_create`, `group_show`,
//! `member_create`, `user_show`, `tag_show`.
//!
//! Mapping (see the module above): an organization is a department of `onecity-iam` (its
//! CKAN name is the lower-case department code, its title the department's name); a group
//! is a topic of the catalog ([`crate::topic`]), and a dataset is in at most one group;
//! users are `onecity-iam` principals. Roles are granted through `/api/v1`, so
//! `member_create` takes `object_type` `package` only.

use super::{
    find_org, needs_key, opt_bool, opt_str, org_dict, org_name, package_dict, parse_package,
    req_str, ActionResult, CkanError, Params,
};
use crate::dataset::Catalog;
use crate::topic::{NewTopic, Topic};
use onecity_core::{Error, ErrorCode};
use onecity_iam::{NewDepartment, Permission, Principal};
use serde_json::{json, Value};
use uuid::Uuid;

/// The tenant an action works in: onecity's `tenant` parameter, else the caller's own.
fn tenant_of(p: &Principal, params: &Params) -> Result<String, CkanError> {
    match opt_str(params, "tenant")?.filter(|s| !s.is_empty()) {
        Some(t) => Ok(t),
        None => p.tenant.clone().ok_or_else(|| {
            CkanError::validation(
                "tenant",
                "Missing value: a deployment-level account names the tenant",
            )
        }),
    }
}

/// `organization_create`: a department named `name` (becomes its upper-case code) with
/// `title` (local name) and onecity's `title_en`, under the tenant's root jurisdiction or
/// onecity's `jurisdiction_id`. Needs `department_write` there.
pub(super) async fn organization_create(
    c: &Catalog,
    p: Option<&Principal>,
    params: &Params,
) -> ActionResult {
    let p = needs_key(p, "organization_create")?;
    let name = req_str(params, "name")?;
    crate::slug::check(&name).map_err(|e| CkanError::validation("name", e.detail))?;
    let tenant = tenant_of(p, params)?;
    let t = c.iam().tenant(p, &tenant).await?;
    let jurisdiction_id = match opt_str(params, "jurisdiction_id")?.filter(|s| !s.is_empty()) {
        Some(j) => Uuid::parse_str(&j)
            .map_err(|_| CkanError::validation("jurisdiction_id", "must be a UUID"))?,
        None => t.root_jurisdiction_id,
    };
    let title = opt_str(params, "title")?
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| name.clone());
    // Checked here so that the error names CKAN's fields (the department's are `name`, `name_en`).
    onecity_core::validate::text("title", &title, 200)
        .map_err(|e| CkanError::validation("title", e.detail))?;
    if let Some(t) = opt_str(params, "title_en")?.filter(|s| !s.is_empty()) {
        onecity_core::validate::text("title_en", &t, 200)
            .map_err(|e| CkanError::validation("title_en", e.detail))?;
    }
    let n = NewDepartment {
        jurisdiction_id,
        code: name.to_uppercase(),
        name: title,
        name_en: opt_str(params, "title_en")?.filter(|s| !s.is_empty()),
    };
    let d = c
        .iam()
        .create_department(p, &tenant, &n)
        .await
        .map_err(|e| {
            if e.code == ErrorCode::Conflict {
                CkanError::validation("name", "Group name already exists in database")
            } else {
                e.into()
            }
        })?;
    let od = c.owner_dept(d.id).await?;
    Ok(org_dict(&od, 0))
}

/// `organization_update`: renames the department (`title`, `title_en`); its name (code)
/// cannot change, since other systems key on it.
pub(super) async fn organization_update(
    c: &Catalog,
    p: Option<&Principal>,
    params: &Params,
) -> ActionResult {
    let p = needs_key(p, "organization_update")?;
    let id = req_str(params, "id")?;
    let cur = find_org(c, &id)
        .await?
        .ok_or_else(|| Error::not_found(format!("organization {id:?} does not exist")))?;
    if let Some(name) = opt_str(params, "name")?.filter(|s| !s.is_empty()) {
        if name != org_name(&cur) {
            return Err(CkanError::validation(
                "name",
                "an organization's name is its department code and cannot change",
            ));
        }
    }
    let title = opt_str(params, "title")?
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| cur.name.clone());
    let title_en = match params.get("title_en") {
        None => cur.name_en.clone(),
        Some(_) => opt_str(params, "title_en")?.filter(|s| !s.is_empty()),
    };
    onecity_core::validate::text("title", &title, 200)
        .map_err(|e| CkanError::validation("title", e.detail))?;
    if let Some(t) = &title_en {
        onecity_core::validate::text("title_en", t, 200)
            .map_err(|e| CkanError::validation("title_en", e.detail))?;
    }
    c.iam()
        .rename_department(p, &cur.tenant, cur.id, &title, title_en.as_deref())
        .await?;
    let od = c.owner_dept(cur.id).await?;
    let count = c
        .visible_docs(Some(p), true)
        .await?
        .iter()
        .filter(|x| x.d.owner_department_id == od.id)
        .count();
    Ok(org_dict(&od, count))
}

fn group_dict(t: &Topic, count: usize) -> Value {
    json!({
        "id": t.name, "name": t.name, "title": t.title, "display_name": t.title,
        "title_en": t.title_en, "description": t.description.clone().unwrap_or_default(),
        "type": "group", "is_organization": false, "state": "active", "approval_status": "approved",
        "image_url": "", "package_count": count, "created": super::ckan_time(&t.created_at),
        "tenant": t.tenant,
    })
}

/// `group_create`: a topic of the caller's tenant (or onecity's `tenant`).
pub(super) async fn group_create(
    c: &Catalog,
    p: Option<&Principal>,
    params: &Params,
) -> ActionResult {
    let p = needs_key(p, "group_create")?;
    let tenant = tenant_of(p, params)?;
    let n = NewTopic {
        name: req_str(params, "name")?,
        title: opt_str(params, "title")?,
        title_en: opt_str(params, "title_en")?.filter(|s| !s.is_empty()),
        description: opt_str(params, "description")?.filter(|s| !s.is_empty()),
    };
    let t = c.create_topic(p, &tenant, &n).await?;
    Ok(group_dict(&t, 0))
}

/// The topic `name` as a CKAN group: a created topic (the caller's tenant first), or a
/// topic named only by the datasets the caller can see.
async fn find_group(
    c: &Catalog,
    viewer: Option<&Principal>,
    name: &str,
    tenant: Option<&str>,
) -> Result<Option<Topic>, CkanError> {
    let created: Vec<Topic> = c
        .topics()
        .await?
        .into_iter()
        .filter(|t| t.name == name && tenant.is_none_or(|x| x == t.tenant))
        .collect();
    let home = viewer.and_then(|p| p.tenant.as_deref());
    if let Some(t) = created
        .iter()
        .find(|t| Some(t.tenant.as_str()) == home)
        .or(created.first())
    {
        return Ok(Some(t.clone()));
    }
    let docs = c.visible_docs(viewer, true).await?;
    Ok(docs
        .iter()
        .find(|x| x.d.topic.as_deref() == Some(name) && tenant.is_none_or(|t| t == x.d.tenant))
        .map(|x| Topic {
            tenant: x.d.tenant.clone(),
            name: name.to_string(),
            title: name.to_string(),
            title_en: None,
            description: None,
            created_at: x.d.created_at.clone(),
        }))
}

/// `group_show`: the group with its dataset count (and, with `include_datasets`, up to
/// 1,000 package dicts).
pub(super) async fn group_show(
    c: &Catalog,
    viewer: Option<&Principal>,
    params: &Params,
) -> ActionResult {
    let id = req_str(params, "id")?;
    let g = find_group(c, viewer, &id, None)
        .await?
        .ok_or_else(|| Error::not_found(format!("group {id:?} does not exist")))?;
    let docs = c.visible_docs(viewer, false).await?;
    let mine: Vec<_> = docs
        .iter()
        .filter(|x| x.d.tenant == g.tenant && x.d.topic.as_deref() == Some(g.name.as_str()))
        .collect();
    let mut out = group_dict(&g, mine.len());
    if opt_bool(params, "include_datasets")?.unwrap_or(false) {
        let mut pk = Vec::new();
        for x in mine.iter().take(1000) {
            pk.push(package_dict(c, &x.d).await?);
        }
        out["packages"] = Value::Array(pk);
    }
    Ok(out)
}

/// `member_create` with `object_type` `package`: puts the dataset into a group (its topic)
/// or an organization (its owner department; the caller must be able to write both).
pub(super) async fn member_create(
    c: &Catalog,
    p: Option<&Principal>,
    params: &Params,
) -> ActionResult {
    let p = needs_key(p, "member_create")?;
    let id = req_str(params, "id")?;
    let object = req_str(params, "object")?;
    let object_type = req_str(params, "object_type")?;
    let capacity = opt_str(params, "capacity")?.unwrap_or_else(|| "public".into());
    if object_type != "package" {
        return Err(CkanError::validation(
            "object_type",
            "onecity grants roles through /api/v1/tenants/{tenant}/users; member_create takes object_type \"package\"",
        ));
    }
    let d = c.get(Some(p), &object).await?;
    let Value::Object(mut pkg) = package_dict(c, &d).await? else {
        return Err(Error::internal("a package dict is an object").into());
    };
    let group = find_group(c, Some(p), &id, Some(&d.tenant)).await?;
    let org = if group.is_none() {
        find_org(c, &id).await?
    } else {
        None
    };
    let table = match (&group, &org) {
        (Some(g), _) => {
            pkg.insert("topic".into(), json!(g.name));
            pkg.remove("groups");
            g.name.clone()
        }
        (None, Some(o)) => {
            pkg.insert("owner_org".into(), json!(o.id));
            pkg.remove("organization");
            o.id.to_string()
        }
        (None, None) => {
            return Err(
                Error::not_found(format!("group or organization {id:?} does not exist")).into(),
            )
        }
    };
    let (_, n) = parse_package(c, &pkg).await?;
    let after = c.update(p, &d.id.to_string(), &n).await?;
    Ok(json!({
        "id": format!("{table}:{}", after.id), "group_id": table, "table_name": "package",
        "table_id": after.id, "capacity": capacity, "state": "active",
    }))
}

/// `user_show`: a person by id or user name; a caller sees themself, and staff holding
/// `user_read` in the person's tenant see others (CKAN hides users from the anonymous).
pub(super) async fn user_show(c: &Catalog, p: Option<&Principal>, params: &Params) -> ActionResult {
    let p = needs_key(p, "user_show")?;
    let id = req_str(params, "id")?;
    let nf = || CkanError::from(Error::not_found(format!("user {id:?} does not exist")));
    let target = match Uuid::parse_str(&id) {
        Ok(u) => c.iam().principal_by_id(u).await.map_err(|_| nf())?,
        Err(_) => c.iam().principal_by_username(&id).await?.ok_or_else(nf)?,
    };
    let allowed = target.id == p.id
        || p.is_platform_admin()
        || target.tenant.as_deref().is_some_and(|t| {
            p.subtrees(Permission::UserRead, t)
                .is_none_or(|r| !r.is_empty())
        });
    if !allowed {
        return Err(nf());
    }
    Ok(json!({
        "id": target.id, "name": target.username, "fullname": target.display_name,
        "display_name": target.display_name, "about": "", "state": "active",
        "sysadmin": target.is_platform_admin(), "email_hash": "", "image_display_url": "",
        "kind": target.kind, "tenant": target.tenant,
    }))
}

/// `tag_show`: a tag some visible dataset carries, with up to 1,000 of those datasets when
/// `include_datasets` is true.
pub(super) async fn tag_show(
    c: &Catalog,
    viewer: Option<&Principal>,
    params: &Params,
) -> ActionResult {
    let id = req_str(params, "id")?;
    let docs = c.visible_docs(viewer, false).await?;
    let tagged: Vec<_> = docs.iter().filter(|x| x.d.tags.contains(&id)).collect();
    if tagged.is_empty() {
        return Err(Error::not_found(format!("tag {id:?} does not exist")).into());
    }
    let mut out = json!({"id": id, "name": id, "display_name": id, "vocabulary_id": null});
    if opt_bool(params, "include_datasets")?.unwrap_or(false) {
        let mut pk = Vec::new();
        for x in tagged.iter().take(1000) {
            pk.push(package_dict(c, &x.d).await?);
        }
        out["packages"] = Value::Array(pk);
    }
    Ok(out)
}
