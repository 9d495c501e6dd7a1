//! `help_show`: the documentation of each action, as CKAN returns an action's docstring.
//! Written for onecity (what the action does here, its parameters and its limits); every
//! action the dispatcher answers has an entry (checked by a test).

use super::{ActionResult, CkanError};
use serde_json::Value;

/// `(action, documentation)` for every action of the dispatcher.
const HELP: &[(&str, &str)] = &[
    ("status_show", "Return the site's status: CKAN version, title, locale and extensions."),
    ("package_list", "Return the names of the datasets the caller may see.\n\n:param limit: most names (optional)\n:param offset: names to skip (optional)\n:param include_private: also the caller's unpublished datasets"),
    ("package_show", "Return a dataset (package) by id or name, with its resources, tags, group and onecity's fields (domain, grade, sensitivity, open_level, fields, …)."),
    ("package_search", "Search datasets.\n\n:param q: words (Chinese and English; every word must match)\n:param fq: filters such as tags:x, organization:y, res_format:CSV\n:param rows: page size (default 10, at most 1000)\n:param start: offset\n:param sort: e.g. metadata_modified desc\n:param facet.field: JSON list of fields to count"),
    ("package_create", "Create a dataset. Needs an API key with catalog:write over the owner organization (owner_org: a department id or lower-case code)."),
    ("package_update", "Replace a dataset's metadata; keys left out take their defaults, resources keep their ids when given."),
    ("package_patch", "Change the given keys of a dataset and keep the others."),
    ("package_delete", "Mark a dataset deleted (still readable by its owners)."),
    ("package_revise", "Change a dataset in place.\n\n:param match: dict naming the dataset by id or name; every other key must equal the current value\n:param filter: list of -key or -resources__<i>__<key> to remove (+key keeps)\n:param update: dict merged into the dataset\n:param update__resources__extend: list of resources to append\n:param update__resources__<index or id prefix>: dict merged into one resource\n:param include: list of keys to return\n:returns: {\"package\": the dataset}"),
    ("current_package_list_with_resources", "Return the datasets the caller may see with their resources, most recently changed first.\n\n:param limit: default 10, at most 1000\n:param offset: or page (1-based)"),
    ("resource_show", "Return a resource by id."),
    ("resource_create", "Add a resource at the end of a dataset's list.\n\n:param package_id: the dataset's id or name\n:param url, name, description, format, mimetype, size: the resource\n:param kind: file, api, link or datastore (onecity)\n:returns: the new resource"),
    ("resource_update", "Replace a resource's fields (the id and position stay; fields left out are cleared)."),
    ("resource_patch", "Change the given fields of a resource and keep the others."),
    ("resource_delete", "Remove a resource from its dataset; a datastore resource's table is dropped with it."),
    ("organization_list", "Return the organizations (departments) as names, or dicts with all_fields=true."),
    ("organization_show", "Return an organization (a department) by id or lower-case code; include_datasets adds its datasets."),
    ("organization_create", "Create an organization: a department whose code is the upper-case name, named by title (and onecity's title_en), under the tenant's root jurisdiction or jurisdiction_id. Needs department:write. description, image_url and extras are accepted and not kept."),
    ("organization_update", "Rename an organization (title, title_en); its name is its department code and cannot change."),
    ("group_list", "Return the groups (catalog topics) as names, or dicts with all_fields=true."),
    ("group_show", "Return a group (a catalog topic) with its dataset count; include_datasets adds the datasets."),
    ("group_create", "Create a group (a catalog topic) in the caller's tenant or onecity's tenant. Needs catalog:write over the whole tenant."),
    ("member_create", "Put a dataset into a group or an organization. A dataset is in one group (its topic) and one organization (its owner), so this replaces the one it had.\n\n:param id: the group or organization\n:param object: the dataset's id or name\n:param object_type: package (users get roles through onecity's /api/v1)\n:param capacity: kept in the answer only"),
    ("tag_list", "Return the tags of the datasets the caller may see."),
    ("tag_show", "Return a tag; include_datasets adds the datasets carrying it."),
    ("user_show", "Return a user by id or user name: the caller, or anyone of a tenant where the caller holds user:read."),
    ("help_show", "Return the documentation of an action.\n\n:param name: the action's name"),
    ("datastore_create", "Create (or add records to) the datastore table of a resource.\n\n:param resource_id: the resource, or\n:param resource: a resource dict with package_id, which creates a datastore resource first\n:param fields: [{id, type, info}]\n:param records: rows to insert\n:param primary_key: fields of the key"),
    ("datastore_upsert", "Insert, update or upsert records (method: upsert, insert or update; at most 100,000 per call)."),
    ("datastore_delete", "Delete the records matching filters, or the whole table without filters."),
    ("datastore_info", "Return a datastore table's fields and record count."),
    ("datastore_search", "Search a datastore table: filters, q (full text), fields, sort, limit, offset, distinct, include_total."),
    ("datastore_search_sql", "Run one read-only SELECT over datastore tables the caller may read (masking and grants apply)."),
];

/// The documentation of `name`. Errors: CKAN's `Not Found Error` for an unknown action.
pub(super) fn show(name: &str) -> ActionResult {
    HELP.iter()
        .find(|(a, _)| *a == name)
        .map(|(_, doc)| Value::String((*doc).to_string()))
        .ok_or_else(|| {
            CkanError::from(onecity_core::Error::not_found(format!(
                "Action name not known: {name}"
            )))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_has_help() {
        for (a, _) in super::super::ACTIONS {
            assert!(show(a).is_ok(), "no help for {a}");
        }
        for a in onecity_datastore::ckan::ACTIONS {
            assert!(show(a).is_ok(), "no help for {a}");
        }
        assert!(show("no_such_action").is_err());
        assert_eq!(
            HELP.len(),
            super::super::ACTIONS.len() + onecity_datastore::ckan::ACTIONS.len()
        );
    }
}
