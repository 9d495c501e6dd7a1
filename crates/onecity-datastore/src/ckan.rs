//! The CKAN DataStore actions (`datastore_create`, `datastore_upsert`, `datastore_delete`,
//! `datastore_info`, `datastore_search`, `datastore_search_sql`) as plain functions over
//! [`Datastore`]; `onecity-catalog`'s CKAN dispatcher calls [`dispatch`] for the names in
//! [`ACTIONS`] (a static match, no registry).

use crate::service::{CreateRequest, Datastore};
use crate::store_query::SearchParams;
use onecity_core::{Error, ErrorCode, Result};
use onecity_iam::Principal;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// The CKAN DataStore actions (CKAN 2.10 `ckanext.datastore.logic.action`), which the
/// catalog's CKAN dispatcher (`onecity_catalog::ckan`) answers at `/api/3/action/{action}`
/// and at `/api/action/{action}` (the path `ckanapi` uses) with CKAN's envelope and errors.
pub const ACTIONS: [&str; 6] = [
    "datastore_create",
    "datastore_upsert",
    "datastore_delete",
    "datastore_info",
    "datastore_search",
    "datastore_search_sql",
];

/// Runs the CKAN DataStore action `action` (one of [`ACTIONS`]) for caller `p` (anonymous
/// when `None`) with the action's parameters (a JSON body or GET parameters as text).
///
/// Errors: catalogue errors (the dispatcher renders them in CKAN's shape): `unauthenticated`
/// for writes without credentials, `invalid_input` for bad parameters, `not_found`,
/// `forbidden`, and whatever the [`Datastore`] operation returns; an action name outside
/// [`ACTIONS`] is `invalid_input`.
pub async fn dispatch(
    ds: &Datastore,
    action: &str,
    p: Option<Arc<Principal>>,
    params: Map<String, Value>,
) -> Result<Value> {
    let v = normalize(params);
    let required = || -> Result<&Principal> {
        p.as_deref().ok_or_else(|| {
            Error::new(
                ErrorCode::Unauthenticated,
                "send Authorization: <app key> or Bearer <token>",
            )
        })
    };
    match action {
        "datastore_create" => {
            let req: CreateRequest = parse(v)?;
            ds.create(required()?, req).await
        }
        "datastore_upsert" => {
            let b: UpsertBody = parse(v)?;
            if b.records.len() > 100_000 {
                return Err(Error::invalid("at most 100,000 records per call"));
            }
            ds.upsert(
                required()?,
                &b.resource_id,
                &b.records,
                b.method.as_deref().unwrap_or("upsert"),
            )
            .await
        }
        "datastore_delete" => {
            let b: DeleteBody = parse(v)?;
            ds.delete(required()?, &b.resource_id, b.filters.as_ref())
                .await
        }
        "datastore_info" => {
            let b: InfoBody = parse(v)?;
            ds.info(p.as_deref(), &b.resource_id).await
        }
        "datastore_search" => {
            let params: SearchParams = parse(v)?;
            let r = ds.search(p.as_deref(), &params).await?;
            serde_json::to_value(r).map_err(Error::internal)
        }
        "datastore_search_sql" => {
            let b: SqlBody = parse(v)?;
            ds.search_sql(p.as_deref(), &b.sql).await
        }
        other => Err(Error::invalid(format!(
            "unknown datastore action {other:?}"
        ))),
    }
}

/// GET parameters arrive as text: values that parse as JSON become JSON (e.g. `filters`,
/// `limit`), except the text parameters; a `q` that is a JSON object is parsed too.
fn normalize(params: Map<String, Value>) -> Value {
    let mut o = Map::new();
    for (k, v) in params {
        let v = match v {
            Value::String(s) => match k.as_str() {
                "q" if s.starts_with('{') => serde_json::from_str(&s).unwrap_or(Value::String(s)),
                "q" | "sort" | "resource_id" | "id" | "cursor" | "sql" | "records_format"
                | "method" => Value::String(s),
                _ => serde_json::from_str(&s).unwrap_or(Value::String(s)),
            },
            v => v,
        };
        o.insert(k, v);
    }
    Value::Object(o)
}

fn parse<T: serde::de::DeserializeOwned>(v: Value) -> Result<T> {
    serde_json::from_value(v).map_err(|e| Error::invalid(format!("{e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpsertBody {
    resource_id: String,
    #[serde(default)]
    records: Vec<Value>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    #[allow(dead_code)]
    force: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteBody {
    resource_id: String,
    #[serde(default)]
    filters: Option<Map<String, Value>>,
    #[serde(default)]
    #[allow(dead_code)]
    force: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InfoBody {
    #[serde(alias = "id")]
    resource_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SqlBody {
    sql: String,
}
