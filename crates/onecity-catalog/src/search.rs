//! Catalog full-text search with facets, on the shared engine `onecity-search` (its crate
//! doc holds the decision notes and measurements: why not tantivy + jieba-rs, the CJK
//! bigram tokens, the figures in BENCHMARKS.md). This module owns what is the catalog's:
//! a dataset as a [`Document`] ([`Doc`]), the index as a cache of the database, brought up
//! to date before each search by reading the datasets whose `updated_at` is at or after
//! the index's watermark (every change, deletion and negative-list entry bumps it), so
//! every replica converges without messages; and CKAN `package_search`'s parameters.
//!
//! Field weights: title 4, tags 3, name and organization 2, notes and schema 1, resource
//! descriptions 0.5 (a term weighs as the best field it occurs in, plus 0.1 for each
//! further occurrence); every query term must match.

use crate::dataset::{dataset_from_row, Catalog, Viewer};
use crate::model::*;
use crate::store::datasets::{self as store, DatasetRow, FieldRow, ResourceRow};
use crate::store::lists;
use onecity_core::{Error, Result};
use onecity_iam::Permission;
use onecity_search::rank;
use onecity_search::{Document, Field, Visibility};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use uuid::Uuid;

pub use onecity_search::{query_terms, tokenize};

/// Rows changed this recently are re-read on every refresh (see [`Catalog::refresh_index`]).
pub const LATE_COMMIT_SECS: i64 = 5;

/// The largest `rows` a search may ask for (CKAN's default limit is 1000).
pub const MAX_ROWS: usize = 1000;

/// Facet fields a search may ask for.
pub const FACET_FIELDS: &[&str] = &[
    "organization",
    "groups",
    "tags",
    "res_format",
    "license_id",
    "domain",
    "grade",
    "open_level",
];

/// One indexed dataset.
#[derive(Debug, Clone)]
pub struct Doc {
    /// The dataset.
    pub d: Arc<Dataset>,
    /// Owner's jurisdiction path.
    pub path: String,
    /// Whole dataset on the negative list.
    pub negative: bool,
    /// Owner department's organization name (lower-case code).
    pub org: String,
    /// `updated_at` of the indexed row (µs).
    pub updated_micros: i64,
}

/// Field slots of [`Doc`] (see [`Document::FIELDS`]).
const TITLE: usize = 0;
const TAGS: usize = 1;
const NAME: usize = 2;
const ORGANIZATION: usize = 3;
const NOTES: usize = 4;
const RESOURCE_DESCRIPTION: usize = 5;

impl Document for Doc {
    type Id = Uuid;

    const FIELDS: &'static [Field] = &[
        Field {
            name: "title",
            weight: 4.0,
        },
        Field {
            name: "tags",
            weight: 3.0,
        },
        Field {
            name: "name",
            weight: 2.0,
        },
        Field {
            name: "organization",
            weight: 2.0,
        },
        Field {
            name: "notes, publisher, topic, schema, resource names",
            weight: 1.0,
        },
        Field {
            name: "resource descriptions",
            weight: 0.5,
        },
    ];

    fn id(&self) -> Uuid {
        self.d.id
    }

    fn text_fields(&self, out: &mut dyn FnMut(usize, &str)) {
        let d = &self.d;
        out(TITLE, &d.title);
        if let Some(t) = &d.title_en {
            out(TITLE, t);
        }
        for t in &d.tags {
            out(TAGS, t);
        }
        out(NAME, &d.name);
        out(ORGANIZATION, &self.org);
        for x in [&d.notes, &d.notes_en, &d.publisher, &d.topic]
            .into_iter()
            .flatten()
        {
            out(NOTES, x);
        }
        for f in &d.fields {
            out(NOTES, &f.name);
            if let Some(t) = &f.title {
                out(NOTES, t);
            }
        }
        for r in &d.resources {
            out(NOTES, &r.name);
            if let Some(x) = &r.description {
                out(RESOURCE_DESCRIPTION, x);
            }
        }
    }

    fn facet_values(&self, field: &str) -> Vec<String> {
        doc_values(self, field)
    }

    /// Public: opened (unconditionally or on conditions) and not wholly on the negative
    /// list; live: active (deleted datasets are never found).
    fn visibility(&self) -> Visibility<'_> {
        Visibility {
            tenant: &self.d.tenant,
            path: &self.path,
            public: self.d.open_level != OpenLevel::NotOpen && !self.negative,
            live: self.d.state == "active",
        }
    }
}

/// The catalog's index (see the module doc): the engine's index of [`Doc`]s and the lock
/// that lets one refresh read the database at a time.
#[derive(Default)]
pub struct SearchIndex {
    index: onecity_search::Index<Doc>,
    refresh: tokio::sync::Mutex<()>,
}

impl SearchIndex {
    /// Number of indexed datasets.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A parsed search request (CKAN `package_search` parameters).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Free text, with optional `field:value` filters.
    pub q: String,
    /// Filter query: space-separated `field:value` / `field:"value"` (all must hold).
    pub fq: String,
    /// Page size (≤ [`MAX_ROWS`]).
    pub rows: usize,
    /// Offset.
    pub start: usize,
    /// `score desc, metadata_modified desc` (default) or a list of `field asc|desc` with
    /// field one of `score`, `name`, `title`, `metadata_modified`, `metadata_created`.
    pub sort: Option<String>,
    /// Facet fields (subset of [`FACET_FIELDS`]).
    pub facet_fields: Vec<String>,
    /// Max values per facet (`-1` = all).
    pub facet_limit: i64,
    /// Include datasets not opened to the public that the caller may read.
    pub include_private: bool,
}

/// A search result page.
#[derive(Debug, Clone)]
pub struct SearchResult {
    /// Total matches.
    pub count: usize,
    /// The page.
    pub results: Vec<Doc>,
    /// Facet field → (value → count), values sorted by count then value.
    pub facets: BTreeMap<String, Vec<(String, usize)>>,
}

/// The filter fields `q` and `fq` understand.
const FILTER_FIELDS: &[&str] = &[
    "organization",
    "groups",
    "tags",
    "res_format",
    "license_id",
    "domain",
    "grade",
    "open_level",
    "name",
    "id",
    "owner_org",
    "tenant",
];

fn doc_values(doc: &Doc, field: &str) -> Vec<String> {
    let d = &doc.d;
    match field {
        "organization" => vec![doc.org.clone()],
        "owner_org" => vec![d.owner_department_id.to_string()],
        "groups" => d.topic.iter().cloned().collect(),
        "tags" => d.tags.clone(),
        "res_format" => d
            .resources
            .iter()
            .filter_map(|r| r.format.clone())
            .collect(),
        "license_id" => d.license_id.iter().cloned().collect(),
        "domain" => vec![d.domain.as_str().into()],
        "grade" => vec![d.grade.as_str().into()],
        "open_level" => vec![d.open_level.as_str().into()],
        "name" => vec![d.name.clone()],
        "id" => vec![d.id.to_string()],
        "tenant" => vec![d.tenant.clone()],
        _ => vec![],
    }
}

/// Splits `s` on whitespace outside double quotes.
fn split_clauses(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A `field:value` clause with a known field, else `None`.
fn as_filter(clause: &str) -> Option<(String, String)> {
    let c = clause.trim_start_matches('+');
    let (f, v) = c.split_once(':')?;
    if !FILTER_FIELDS.contains(&f) {
        return None;
    }
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    if v.is_empty() {
        return None;
    }
    Some((f.to_string(), v.to_string()))
}

fn parse_sort(s: Option<&str>) -> Result<Vec<(String, bool)>> {
    let s = s
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("score desc, metadata_modified desc");
    let mut out = Vec::new();
    for part in s.split(',') {
        let mut it = part.split_whitespace();
        let f = it.next().unwrap_or("");
        let dir = it.next().unwrap_or("asc");
        if ![
            "score",
            "name",
            "title",
            "title_string",
            "metadata_modified",
            "metadata_created",
        ]
        .contains(&f)
            || !["asc", "desc"].contains(&dir)
            || it.next().is_some()
        {
            return Err(Error::invalid(format!(
                "sort {part:?}: use `field asc|desc` with field score, name, title, metadata_modified or metadata_created"
            ))
            .with_extra("field", "sort".into()));
        }
        out.push((f.replace("title_string", "title"), dir == "desc"));
    }
    Ok(out)
}

impl Catalog {
    /// Brings the search index up to date with the database (see the module doc): reads
    /// the rows changed since the watermark, and those changed in the last
    /// [`LATE_COMMIT_SECS`] seconds (a transaction that took its timestamp before another
    /// but committed after it), and re-indexes the ones whose revision or time differ.
    pub async fn refresh_index(&self) -> Result<usize> {
        let idx = self.search.clone();
        let _g = idx.refresh.lock().await;
        let wm = idx.index.watermark();
        let now = onecity_core::time::now_micros();
        let lower = (wm + 1).min(now - LATE_COMMIT_SECS * 1_000_000);
        let db = self.iam.db();
        let rows = store::datasets_updated_since(db, lower).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut max = wm;
        let mut changed = Vec::new();
        {
            let reader = idx.index.read();
            for r in rows {
                let at = r.updated_at;
                max = max.max(at);
                let same = reader
                    .get(r.id)
                    .is_some_and(|d| d.updated_micros == at && d.d.revision == r.revision);
                if !same {
                    changed.push(r);
                }
            }
        }
        let docs = self.load_docs(&changed).await?;
        let mut writer = idx.index.write();
        let n = docs.len();
        for doc in docs {
            writer.put(doc);
        }
        writer.advance_watermark(max);
        Ok(n)
    }

    /// Reads the datasets of `rows` in bulk (tags, fields, resources, organizations and
    /// negative flags in a few queries per 500 datasets).
    pub(crate) async fn load_docs(&self, rows: &[DatasetRow]) -> Result<Vec<Doc>> {
        let db = self.iam.db();
        let mut out = Vec::with_capacity(rows.len());
        let orgs: HashMap<Uuid, String> = self
            .iam
            .departments_with_paths()
            .await?
            .into_iter()
            .map(|(d, _)| (d.id, d.code.to_lowercase()))
            .collect();
        for chunk in rows.chunks(500) {
            let ids: Vec<Uuid> = chunk.iter().map(|r| r.id).collect();
            let mut tags: HashMap<Uuid, Vec<String>> = HashMap::new();
            for (id, tag) in store::tags_in(db, &ids).await? {
                tags.entry(id).or_default().push(tag);
            }
            let mut fields: HashMap<Uuid, Vec<FieldRow>> = HashMap::new();
            for f in store::fields_in(db, &ids).await? {
                fields.entry(f.dataset_id).or_default().push(f);
            }
            let mut res: HashMap<Uuid, Vec<ResourceRow>> = HashMap::new();
            for r in store::resources_in(db, &ids).await? {
                res.entry(r.dataset_id).or_default().push(r);
            }
            let neg: HashSet<Uuid> = lists::wholly_negative_in(db, &ids)
                .await?
                .into_iter()
                .collect();
            for r in chunk {
                let id = r.id;
                let d = dataset_from_row(
                    r,
                    tags.remove(&id).unwrap_or_default(),
                    fields.remove(&id).unwrap_or_default(),
                    res.remove(&id).unwrap_or_default(),
                )?;
                out.push(Doc {
                    updated_micros: r.updated_at,
                    org: orgs
                        .get(&d.owner_department_id)
                        .cloned()
                        .unwrap_or_default(),
                    path: r.jurisdiction_path.clone(),
                    negative: neg.contains(&id),
                    d: Arc::new(d),
                });
            }
        }
        Ok(out)
    }

    /// Searches the catalog as `viewer` may see it (CKAN `package_search` semantics: see
    /// [`SearchRequest`]). Deleted datasets are never found. Errors: `invalid_input` for a
    /// bad `sort`, an unknown facet field or `fq` field, `rows` above [`MAX_ROWS`].
    pub async fn search(&self, viewer: Viewer<'_>, req: &SearchRequest) -> Result<SearchResult> {
        if req.rows > MAX_ROWS {
            return Err(Error::invalid(format!("rows must be at most {MAX_ROWS}"))
                .with_extra("field", "rows".into()));
        }
        for f in &req.facet_fields {
            if !FACET_FIELDS.contains(&f.as_str()) {
                return Err(Error::invalid(format!(
                    "facet field {f:?} is not one of {}",
                    FACET_FIELDS.join(", ")
                ))
                .with_extra("field", "facet.field".into()));
            }
        }
        let sort = parse_sort(req.sort.as_deref())?;
        let mut filters = Vec::new();
        for c in split_clauses(&req.fq) {
            match as_filter(&c) {
                Some(f) => filters.push(f),
                None => {
                    return Err(Error::invalid(format!(
                        "fq clause {c:?}: use field:value with field one of {}",
                        FILTER_FIELDS.join(", ")
                    ))
                    .with_extra("field", "fq".into()))
                }
            }
        }
        let mut text = String::new();
        for c in split_clauses(&req.q) {
            if c == "*:*" || c == "*" {
                continue;
            }
            match as_filter(&c) {
                Some(f) => filters.push(f),
                None => {
                    text.push_str(&c);
                    text.push(' ');
                }
            }
        }
        self.refresh_index().await?;
        let terms = query_terms(&text);
        let reader = self.search.index.read();
        let mut scored = if terms.is_empty() {
            reader.all(1.0)
        } else {
            reader.match_all(&terms)
        };
        scored.retain(|(doc, _)| {
            doc.visibility().allows(|tenant, path| {
                req.include_private
                    && viewer.is_some_and(|p| p.can_at(Permission::CatalogRead, tenant, path))
            }) && filters.iter().all(|(f, v)| {
                doc_values(doc, f).iter().any(|x| {
                    x == v
                        || (f == "res_format" || f == "organization") && x.eq_ignore_ascii_case(v)
                })
            })
        });
        let count = scored.len();
        let facet_limit = usize::try_from(req.facet_limit).ok();
        let facets = rank::facets(&scored, &req.facet_fields, facet_limit);
        let cmp = |a: &(&Doc, f32), b: &(&Doc, f32)| {
            for (f, desc) in &sort {
                let o = match f.as_str() {
                    "score" => a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal),
                    "name" => a.0.d.name.cmp(&b.0.d.name),
                    "title" => a.0.d.title.cmp(&b.0.d.title),
                    "metadata_created" => a.0.d.created_at.cmp(&b.0.d.created_at),
                    _ => a.0.updated_micros.cmp(&b.0.updated_micros),
                };
                let o = if *desc { o.reverse() } else { o };
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            a.0.d.name.cmp(&b.0.d.name)
        };
        let results = rank::page(scored, req.start, req.rows, cmp)
            .into_iter()
            .map(|(d, _)| d.clone())
            .collect();
        Ok(SearchResult {
            count,
            results,
            facets,
        })
    }

    /// Every dataset `viewer` may see in the index (active only), name order: for
    /// `package_list`, DCAT export and the portal. Refreshes the index first.
    pub async fn visible_docs(
        &self,
        viewer: Viewer<'_>,
        include_private: bool,
    ) -> Result<Vec<Doc>> {
        self.refresh_index().await?;
        let reader = self.search.index.read();
        let mut v: Vec<Doc> = reader
            .docs()
            .filter(|doc| {
                doc.visibility().allows(|tenant, path| {
                    include_private
                        && viewer.is_some_and(|p| p.can_at(Permission::CatalogRead, tenant, path))
                })
            })
            .cloned()
            .collect();
        v.sort_by(|a, b| a.d.name.cmp(&b.d.name));
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_tokens_are_the_engines() {
        assert_eq!(
            tokenize("公交线路"),
            vec!["公", "公交", "交", "交线", "线", "线路", "路"]
        );
        assert_eq!(query_terms("线路"), vec!["线路"]);
    }

    #[test]
    fn filters_and_sort_parse() {
        assert_eq!(
            as_filter("tags:\"公交\""),
            Some(("tags".into(), "公交".into()))
        );
        assert_eq!(
            as_filter("+res_format:CSV"),
            Some(("res_format".into(), "CSV".into()))
        );
        assert_eq!(as_filter("http://x"), None);
        assert_eq!(
            split_clauses("tags:\"a b\" domain:G"),
            vec!["tags:\"a b\"", "domain:G"]
        );
        assert!(parse_sort(Some("name asc")).is_ok());
        assert!(parse_sort(Some("bogus desc")).is_err());
    }
}
