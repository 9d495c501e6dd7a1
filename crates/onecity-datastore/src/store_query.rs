//! Queries over a datastore table (CKAN `datastore_search`, extended): equality filters,
//! full text, sort, offset or keyset pagination, and aggregates with group-by.
//!
//! Limits: `limit` 1–[`MAX_LIMIT`] (default 100); `offset` at most [`MAX_OFFSET`] (use the
//! keyset `cursor` beyond that); keyset pagination with at most one sort field (ties and
//! the rest broken by `_id`); nulls sort last in both directions on both backends.

use crate::load::FieldType;
use crate::masking::MaskPolicy;
use crate::store::{quote, val_json, Field, TableMeta};
use onecity_core::{Error, Result};
use onecity_store::{Db, SqlBuilder, Val};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// Largest page.
pub const MAX_LIMIT: u32 = 1000;
/// Largest offset.
pub const MAX_OFFSET: u64 = 100_000;

/// One aggregate: `{"func": "sum", "field": "PM2.5"}` → output column `sum_PM2.5`
/// (`count` without a field counts rows and is named `count`).
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
pub struct Aggregate {
    /// `count`, `sum`, `avg`, `min` or `max`.
    pub func: String,
    /// Field (required except for `count`).
    #[serde(default)]
    pub field: Option<String>,
}

/// Search parameters (CKAN `datastore_search` plus `cursor`, `group_by`, `aggregates`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Resource id.
    pub resource_id: String,
    /// Full text: a string (any text field contains it, case-insensitive) or an object
    /// `{field: text}`.
    #[serde(default)]
    pub q: Option<Value>,
    /// Equality filters `{field: value | [values]}`.
    #[serde(default)]
    pub filters: Option<Map<String, Value>>,
    /// Fields to return (list or comma-separated string); default all.
    #[serde(default)]
    pub fields: Option<Value>,
    /// `"field asc, other desc"`.
    #[serde(default)]
    pub sort: Option<String>,
    /// Page size (default 100, max 1000).
    #[serde(default)]
    pub limit: Option<u32>,
    /// Rows to skip (max 100,000).
    #[serde(default)]
    pub offset: Option<u64>,
    /// Keyset cursor from a previous page's `_links.next`.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Whether to count matching rows (default true).
    #[serde(default)]
    pub include_total: Option<bool>,
    /// Group-by fields.
    #[serde(default)]
    pub group_by: Option<Vec<String>>,
    /// Aggregates.
    #[serde(default)]
    pub aggregates: Option<Vec<Aggregate>>,
    /// CKAN's `records_format`: only `objects` is supported.
    #[serde(default)]
    pub records_format: Option<String>,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResult {
    /// Resource id.
    pub resource_id: String,
    /// Returned fields (with `_id` first unless aggregating).
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<Value>,
    /// Records as objects.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Map<String, Value>>,
    /// Matching rows (or groups), when counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<i64>,
    /// Page size used.
    pub limit: u32,
    /// Offset used.
    pub offset: u64,
    /// `{"start": …, "next": …}` (next only when a further page may exist).
    #[schema(value_type = Object)]
    pub _links: Value,
    /// Cursor of the next page (keyset), when one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Who reads and how: fields hidden (negative list, grant), masks, and an extra row filter.
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    /// When set, only these fields may be read, filtered, sorted or searched.
    pub visible: Option<HashSet<String>>,
    /// Masks applied to returned values.
    pub masks: MaskPolicy,
    /// Salt for the `hash` rule.
    pub salt: String,
    /// Mandatory equality filters (a grant's row filter).
    pub row_filter: Map<String, Value>,
}

fn field<'a>(m: &'a TableMeta, scope: &ReadScope, name: &str) -> Result<&'a Field> {
    let f = m
        .fields
        .iter()
        .find(|f| f.id == name)
        .ok_or_else(|| Error::invalid(format!("field {name:?} does not exist")))?;
    if let Some(v) = &scope.visible {
        if !v.contains(name) {
            return Err(Error::invalid(format!("field {name:?} does not exist")));
        }
    }
    Ok(f)
}

/// Converts a JSON filter value to a stored value of `ty`.
pub fn json_to_val(v: &Value, ty: FieldType, name: &str) -> Result<Val> {
    let bad = || {
        Error::invalid(format!(
            "filter value {v} does not fit field {name:?} ({})",
            ty.as_str()
        ))
    };
    Ok(match ty {
        FieldType::Int => Val::I64(Some(match v {
            Value::Number(n) => n.as_i64().ok_or_else(bad)?,
            Value::String(s) => s.trim().parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        })),
        FieldType::Numeric => Val::F64(Some(match v {
            Value::Number(n) => n.as_f64().ok_or_else(bad)?,
            Value::String(s) => s.trim().parse().map_err(|_| bad())?,
            _ => return Err(bad()),
        })),
        FieldType::Bool => Val::I64(Some(match v {
            Value::Bool(b) => *b as i64,
            Value::String(s) if s == "true" => 1,
            Value::String(s) if s == "false" => 0,
            _ => return Err(bad()),
        })),
        _ => Val::Text(Some(match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err(bad()),
        })),
    })
}

fn parse_sort(s: &str) -> Result<Vec<(String, bool)>> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        let (name, desc) = match p.rsplit_once(char::is_whitespace) {
            Some((n, d)) if d.eq_ignore_ascii_case("desc") => (n.trim(), true),
            Some((n, d)) if d.eq_ignore_ascii_case("asc") => (n.trim(), false),
            _ => (p, false),
        };
        let name = name.trim_matches('"').to_string();
        out.push((name, desc));
    }
    Ok(out)
}

fn like_pattern(t: &str) -> String {
    let esc = t
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{esc}%")
}

fn add_filters(
    m: &TableMeta,
    scope: &ReadScope,
    filters: &Map<String, Value>,
    sql: &mut SqlBuilder,
    wh: &mut Vec<String>,
    check_visible: bool,
) -> Result<()> {
    for (k, v) in filters {
        let f = if check_visible {
            field(m, scope, k)?
        } else {
            m.fields
                .iter()
                .find(|f| f.id == *k)
                .ok_or_else(|| Error::invalid(format!("field {k:?} does not exist")))?
        };
        match v {
            Value::Array(vs) => {
                if vs.is_empty() {
                    wh.push("1 = 0".into());
                    continue;
                }
                if vs.len() > 1000 {
                    return Err(Error::invalid("at most 1000 values per filter"));
                }
                let ps: Vec<String> = vs
                    .iter()
                    .map(|x| json_to_val(x, f.ty, k).map(|v| sql.bind(v)))
                    .collect::<Result<_>>()?;
                wh.push(format!("{} IN ({})", quote(k), ps.join(", ")));
            }
            Value::Null => wh.push(format!("{} IS NULL", quote(k))),
            _ => {
                let p = sql.bind(json_to_val(v, f.ty, k)?);
                wh.push(format!("{} = {p}", quote(k)));
            }
        }
    }
    Ok(())
}

/// Runs a search over `m` as `scope` allows.
pub async fn search(
    db: &Db,
    m: &TableMeta,
    p: &SearchParams,
    scope: &ReadScope,
) -> Result<SearchResult> {
    if let Some(f) = &p.records_format {
        if f != "objects" {
            return Err(Error::invalid(
                "records_format: only \"objects\" is supported",
            ));
        }
    }
    let limit = p.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::invalid(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let offset = p.offset.unwrap_or(0);
    if offset > MAX_OFFSET {
        return Err(Error::invalid(format!(
            "offset must be at most {MAX_OFFSET}; use the cursor"
        )));
    }
    let mut sql = SqlBuilder::default();
    let mut wh: Vec<String> = Vec::new();
    add_filters(m, scope, &scope.row_filter, &mut sql, &mut wh, false)?;
    if let Some(f) = &p.filters {
        add_filters(m, scope, f, &mut sql, &mut wh, true)?;
    }
    let visible = |f: &&Field| scope.visible.as_ref().is_none_or(|v| v.contains(&f.id));
    match &p.q {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if t.trim().is_empty() => {}
        Some(Value::String(t)) => {
            let pat = sql.bind(Val::Text(Some(like_pattern(t))));
            let ors: Vec<String> = m
                .fields
                .iter()
                .filter(visible)
                .map(|f| match f.ty {
                    FieldType::Text | FieldType::Date | FieldType::Timestamp => {
                        format!("LOWER({}) LIKE {pat} ESCAPE '\\'", quote(&f.id))
                    }
                    _ => format!("CAST({} AS TEXT) LIKE {pat} ESCAPE '\\'", quote(&f.id)),
                })
                .collect();
            wh.push(if ors.is_empty() {
                "1 = 0".into()
            } else {
                format!("({})", ors.join(" OR "))
            });
        }
        Some(Value::Object(o)) => {
            for (k, v) in o {
                let f = field(m, scope, k)?;
                let t = v
                    .as_str()
                    .ok_or_else(|| Error::invalid("q values must be strings"))?;
                let pat = sql.bind(Val::Text(Some(like_pattern(t))));
                let col = if matches!(
                    f.ty,
                    FieldType::Text | FieldType::Date | FieldType::Timestamp
                ) {
                    format!("LOWER({})", quote(k))
                } else {
                    format!("CAST({} AS TEXT)", quote(k))
                };
                wh.push(format!("{col} LIKE {pat} ESCAPE '\\'"));
            }
        }
        Some(_) => return Err(Error::invalid("q must be a string or an object")),
    }
    let aggregating = p.group_by.as_ref().is_some_and(|g| !g.is_empty())
        || p.aggregates.as_ref().is_some_and(|a| !a.is_empty());
    if aggregating {
        return aggregate(db, m, p, scope, sql, wh, limit, offset).await;
    }
    // fields
    let wanted: Vec<&Field> = match &p.fields {
        None | Some(Value::Null) => m.fields.iter().filter(visible).collect(),
        Some(v) => {
            let names: Vec<String> = match v {
                Value::String(s) => s
                    .split(',')
                    .map(|x| x.trim().to_string())
                    .filter(|x| !x.is_empty())
                    .collect(),
                Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .ok_or_else(|| Error::invalid("fields must be strings"))
                    })
                    .collect::<Result<_>>()?,
                _ => {
                    return Err(Error::invalid(
                        "fields must be a list or a comma-separated string",
                    ))
                }
            };
            names
                .iter()
                .filter(|n| n.as_str() != "_id")
                .map(|n| field(m, scope, n))
                .collect::<Result<_>>()?
        }
    };
    let sort = p
        .sort
        .as_deref()
        .map(parse_sort)
        .transpose()?
        .unwrap_or_default();
    let mut sort_fields: Vec<(&Field, bool)> = Vec::new();
    for (n, d) in &sort {
        if n == "_id" {
            continue;
        }
        sort_fields.push((field(m, scope, n)?, *d));
    }
    if p.cursor.is_some() {
        if offset > 0 {
            return Err(Error::invalid("give either offset or cursor, not both"));
        }
        if sort_fields.len() > 1 {
            return Err(Error::invalid("a cursor works with at most one sort field"));
        }
    }
    let base_where = wh.clone();
    let base_args = sql.args().to_vec();
    if let Some(c) = &p.cursor {
        let (last, last_id): (Value, i64) = onecity_core::page::decode_cursor(c)?;
        match sort_fields.first() {
            None => {
                let pi = sql.bind(Val::I64(Some(last_id)));
                wh.push(format!("_id > {pi}"));
            }
            Some((f, desc)) => {
                let col = quote(&f.id);
                let pi = sql.bind(Val::I64(Some(last_id)));
                if last.is_null() {
                    wh.push(format!("({col} IS NULL AND _id > {pi})"));
                } else {
                    let pv = sql.bind(json_to_val(
                        &last,
                        if f.ty == FieldType::Bool {
                            FieldType::Int
                        } else {
                            f.ty
                        },
                        &f.id,
                    )?);
                    let op = if *desc { "<" } else { ">" };
                    wh.push(format!(
                        "({col} {op} {pv} OR ({col} = {pv} AND _id > {pi}) OR {col} IS NULL)"
                    ));
                }
            }
        }
    }
    let where_sql = if wh.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", wh.join(" AND "))
    };
    let mut order: Vec<String> = sort_fields
        .iter()
        .map(|(f, d)| {
            format!(
                "{} {} NULLS LAST",
                quote(&f.id),
                if *d { "DESC" } else { "ASC" }
            )
        })
        .collect();
    order.push("_id ASC".into());
    let cols: Vec<String> = std::iter::once("_id".to_string())
        .chain(wanted.iter().map(|f| quote(&f.id)))
        .collect();
    let q = format!(
        "SELECT {} FROM {}{} ORDER BY {} LIMIT {} OFFSET {}",
        cols.join(", "),
        m.table,
        where_sql,
        order.join(", "),
        limit + 1,
        offset
    );
    let rows = db.fetch_all(&q, sql.args()).await?;
    let more = rows.len() > limit as usize;
    let mut records = Vec::with_capacity(rows.len().min(limit as usize));
    let mut last_key: Option<(Value, i64)> = None;
    for r in rows.iter().take(limit as usize) {
        let vals = r.values();
        let mut rec = Map::new();
        let id = match &vals[0] {
            Val::I64(Some(i)) => *i,
            Val::F64(Some(f)) => *f as i64,
            _ => 0,
        };
        rec.insert("_id".into(), Value::from(id));
        for (f, v) in wanted.iter().zip(&vals[1..]) {
            rec.insert(f.id.clone(), val_json(v, Some(f.ty)));
        }
        let key = sort_fields
            .first()
            .map(|(f, _)| {
                let v = rec.get(&f.id).cloned().unwrap_or(Value::Null);
                match v {
                    Value::Bool(b) => Value::from(b as i64),
                    v => v,
                }
            })
            .unwrap_or(Value::Null);
        last_key = Some((key, id));
        scope.masks.apply_record(&mut rec, &scope.salt);
        records.push(rec);
    }
    let total = if p.include_total.unwrap_or(true) {
        let w = if base_where.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", base_where.join(" AND "))
        };
        let r = db
            .fetch_optional(
                &format!("SELECT COUNT(*) AS n FROM {}{w}", m.table),
                &base_args,
            )
            .await?;
        Some(r.map(|r| r.i64("n")).transpose()?.unwrap_or(0))
    } else {
        None
    };
    let next_cursor = if more && sort_fields.len() <= 1 {
        last_key.map(|k| onecity_core::page::encode_cursor(&k))
    } else {
        None
    };
    let mut fields_out = vec![serde_json::json!({"id": "_id", "type": "int"})];
    fields_out.extend(
        wanted
            .iter()
            .map(|f| serde_json::json!({"id": f.id, "type": f.ty.as_str()})),
    );
    let start = format!(
        "/api/3/action/datastore_search?resource_id={}",
        m.resource_id
    );
    let mut links = serde_json::json!({"start": start});
    if more {
        links["next"] = Value::String(match &next_cursor {
            Some(c) if p.cursor.is_some() || offset == 0 => format!("{start}&cursor={c}"),
            _ => format!("{start}&offset={}", offset + limit as u64),
        });
    }
    Ok(SearchResult {
        resource_id: m.resource_id.clone(),
        fields: fields_out,
        records,
        total,
        limit,
        offset,
        _links: links,
        next_cursor,
    })
}

#[allow(clippy::too_many_arguments)]
async fn aggregate(
    db: &Db,
    m: &TableMeta,
    p: &SearchParams,
    scope: &ReadScope,
    sql: SqlBuilder,
    wh: Vec<String>,
    limit: u32,
    offset: u64,
) -> Result<SearchResult> {
    if p.cursor.is_some() {
        return Err(Error::invalid("aggregates page with offset, not cursor"));
    }
    let groups: Vec<&Field> = p
        .group_by
        .iter()
        .flatten()
        .map(|g| field(m, scope, g))
        .collect::<Result<_>>()?;
    let mut sel: Vec<String> = groups.iter().map(|f| quote(&f.id)).collect();
    let mut out_fields: Vec<(String, Option<FieldType>)> =
        groups.iter().map(|f| (f.id.clone(), Some(f.ty))).collect();
    for a in p.aggregates.iter().flatten() {
        let func = a.func.to_ascii_lowercase();
        let (expr, name, ty) = match (func.as_str(), a.field.as_deref()) {
            ("count", None) => (
                "COUNT(*)".to_string(),
                "count".to_string(),
                Some(FieldType::Int),
            ),
            ("count", Some(f)) => {
                field(m, scope, f)?;
                (
                    format!("COUNT({})", quote(f)),
                    format!("count_{f}"),
                    Some(FieldType::Int),
                )
            }
            ("sum" | "avg", Some(f)) => {
                let fd = field(m, scope, f)?;
                if !matches!(fd.ty, FieldType::Int | FieldType::Numeric) {
                    return Err(Error::invalid(format!(
                        "{func} needs a numeric field; {f:?} is {}",
                        fd.ty.as_str()
                    )));
                }
                (
                    format!(
                        "CAST({}({}) AS DOUBLE PRECISION)",
                        func.to_uppercase(),
                        quote(f)
                    ),
                    format!("{func}_{f}"),
                    Some(FieldType::Numeric),
                )
            }
            ("min" | "max", Some(f)) => {
                let fd = field(m, scope, f)?;
                (
                    format!("{}({})", func.to_uppercase(), quote(f)),
                    format!("{func}_{f}"),
                    Some(fd.ty),
                )
            }
            _ => {
                return Err(Error::invalid(format!(
                    "aggregate {:?} needs one of count, sum, avg, min, max and a field",
                    a.func
                )))
            }
        };
        sel.push(expr);
        out_fields.push((name, ty));
    }
    if sel.is_empty() {
        return Err(Error::invalid("nothing to select"));
    }
    let where_sql = if wh.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", wh.join(" AND "))
    };
    let group_sql = if groups.is_empty() {
        String::new()
    } else {
        let g: Vec<String> = groups.iter().map(|f| quote(&f.id)).collect();
        format!(
            " GROUP BY {} ORDER BY {}",
            g.join(", "),
            g.iter()
                .map(|c| format!("{c} ASC NULLS LAST"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let q = format!(
        "SELECT {} FROM {}{}{} LIMIT {} OFFSET {}",
        sel.join(", "),
        m.table,
        where_sql,
        group_sql,
        limit + 1,
        offset
    );
    let rows = db.fetch_all(&q, sql.args()).await?;
    let more = rows.len() > limit as usize;
    let mut records = Vec::new();
    for r in rows.iter().take(limit as usize) {
        let mut rec = Map::new();
        for ((name, ty), v) in out_fields.iter().zip(r.values()) {
            rec.insert(name.clone(), val_json(v, *ty));
        }
        // masks apply to grouped fields too (aggregates are not personal values)
        for f in &groups {
            if let Some(v) = rec.get_mut(&f.id) {
                *v = scope.masks.apply_json(&f.id, v, &scope.salt);
            }
        }
        records.push(rec);
    }
    let total = if p.include_total.unwrap_or(true) && !groups.is_empty() {
        let g: Vec<String> = groups.iter().map(|f| quote(&f.id)).collect();
        let r = db
            .fetch_optional(
                &format!(
                    "SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM {}{} GROUP BY {}) g",
                    m.table,
                    where_sql,
                    g.join(", ")
                ),
                sql.args(),
            )
            .await?;
        Some(r.map(|r| r.i64("n")).transpose()?.unwrap_or(0))
    } else if groups.is_empty() {
        Some(records.len() as i64)
    } else {
        None
    };
    let start = format!(
        "/api/3/action/datastore_search?resource_id={}",
        m.resource_id
    );
    let mut links = serde_json::json!({"start": start});
    if more {
        links["next"] = Value::String(format!("{start}&offset={}", offset + limit as u64));
    }
    Ok(SearchResult {
        resource_id: m.resource_id.clone(),
        fields: out_fields
            .iter()
            .map(|(n, t)| serde_json::json!({"id": n, "type": t.map(|t| t.as_str()).unwrap_or("text")}))
            .collect(),
        records,
        total,
        limit,
        offset,
        _links: links,
        next_cursor: None,
    })
}

/// Runs a checked read-only query (`datastore_search_sql`, after [`crate::sql`] has parsed
/// it and replaced resource ids by table subqueries) and returns at most `max_rows` rows.
/// PostgreSQL runs it in a read-only transaction with a `statement_timeout`; SQLite (whose
/// readers cannot write) under a tokio timeout, which gives `timeout`.
pub async fn run_read_only(
    db: &Db,
    sql: &str,
    args: &[Val],
    max_rows: usize,
    timeout: std::time::Duration,
) -> Result<Vec<onecity_store::Row>> {
    let wrapped = format!("SELECT * FROM ({sql}) AS _q LIMIT {max_rows}");
    match db.backend() {
        onecity_store::Backend::Postgres => {
            let mut tx = db.begin().await?;
            tx.execute("SET TRANSACTION READ ONLY", &[]).await?;
            tx.execute(
                &format!("SET LOCAL statement_timeout = {}", timeout.as_millis()),
                &[],
            )
            .await?;
            let r = tx.fetch_all(&wrapped, args).await;
            drop(tx);
            r
        }
        onecity_store::Backend::Sqlite => {
            match tokio::time::timeout(timeout, db.fetch_all(&wrapped, args)).await {
                Ok(r) => r,
                Err(_) => Err(Error::new(
                    onecity_core::ErrorCode::Timeout,
                    "the query ran out of time",
                )),
            }
        }
    }
}

/// The subquery that stands for `m`'s table in a read-only query of a reader who is not
/// the owner: `_id` and the fields `scope` lets them see, restricted by the grant's row
/// filter (`{field: value}` or `{field: [values]}`; an empty list matches nothing). The
/// filter values are appended to `args`, whose placeholders continue their numbering.
pub fn scoped_table_sql(m: &TableMeta, scope: &ReadScope, args: &mut Vec<Val>) -> Result<String> {
    let cols: Vec<String> = std::iter::once("_id".to_string())
        .chain(
            m.fields
                .iter()
                .filter(|f| scope.visible.as_ref().is_none_or(|v| v.contains(&f.id)))
                .map(|f| quote(&f.id)),
        )
        .collect();
    let mut wh = Vec::new();
    for (k, v) in &scope.row_filter {
        let fd = m
            .fields
            .iter()
            .find(|f| &f.id == k)
            .ok_or_else(|| Error::internal("grant filter on a missing field"))?;
        match v {
            Value::Array(vs) => {
                let mut ps = Vec::new();
                for x in vs {
                    args.push(json_to_val(x, fd.ty, k)?);
                    ps.push(format!("${}", args.len()));
                }
                wh.push(format!(
                    "{} IN ({})",
                    quote(k),
                    if ps.is_empty() {
                        "NULL".into()
                    } else {
                        ps.join(", ")
                    }
                ));
            }
            _ => {
                args.push(json_to_val(v, fd.ty, k)?);
                wh.push(format!("{} = ${}", quote(k), args.len()));
            }
        }
    }
    let w = if wh.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", wh.join(" AND "))
    };
    Ok(format!("(SELECT {} FROM {}{w})", cols.join(", "), m.table))
}
