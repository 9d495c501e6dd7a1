//! Catalog full-text search with facets: an in-memory inverted index that is a cache of
//! the database, brought up to date before each search by reading the datasets whose
//! `updated_at` is at or after the index's watermark (every change, deletion and
//! negative-list entry bumps it), so every replica converges without messages.
//!
//! Tokens: runs of CJK ideographs are indexed as single characters and overlapping
//! bigrams (the CJK bigram method of Lucene's `CJKAnalyzer`), so any Chinese word is found
//! without a dictionary (a query `公交线路` must contain the bigrams 公交, 交线, 线路); other
//! words are split on anything not alphanumeric, folded to ASCII lower case (`Århus` →
//! `arhus`). Field weights: title 4, tags 3, name and organization 2, notes and schema 1.
//!
//! Why not tantivy + jieba-rs (DESIGN.md): both add minutes of compile time on the 2-core
//! build machines for a catalog whose size (≤ 10⁵–10⁶ entries) fits in memory, and a
//! dictionary segmenter misses words it does not know (place names, new terms), which
//! bigrams find. The query syntax is a small subset of CKAN's Solr one and has no error
//! path: punctuation such as `:` `/` `-` `+` `&` `[` `]` separates words.

use crate::dataset::{dataset_from_row, Catalog, Viewer};
use crate::model::*;
use crate::store::datasets::{self as store, DatasetRow, FieldRow, ResourceRow};
use crate::store::lists;
use onecity_core::{Error, Result};
use onecity_iam::Permission;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};
use uuid::Uuid;

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
    terms: Vec<String>,
}

#[derive(Default)]
struct State {
    watermark: i64,
    docs: HashMap<Uuid, Doc>,
    postings: HashMap<String, HashMap<Uuid, f32>>,
}

/// The index (see the module doc).
#[derive(Default)]
pub struct SearchIndex {
    state: RwLock<State>,
    refresh: tokio::sync::Mutex<()>,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

/// The index terms of `text`: CJK unigrams and bigrams, folded ASCII words.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let flush_word = |w: &mut String, out: &mut Vec<String>| {
        if !w.is_empty() {
            let folded: String = deunicode::deunicode(w)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect();
            if !folded.is_empty() {
                out.push(folded);
            }
            w.clear();
        }
    };
    let flush_cjk = |run: &mut Vec<char>, out: &mut Vec<String>| {
        for (i, c) in run.iter().enumerate() {
            out.push(c.to_string());
            if let Some(n) = run.get(i + 1) {
                out.push(format!("{c}{n}"));
            }
        }
        run.clear();
    };
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut out);
            cjk.push(c);
        } else if c.is_alphanumeric() || is_combining(c) {
            flush_cjk(&mut cjk, &mut out);
            word.push(c);
        } else {
            flush_word(&mut word, &mut out);
            flush_cjk(&mut cjk, &mut out);
        }
    }
    flush_word(&mut word, &mut out);
    flush_cjk(&mut cjk, &mut out);
    out
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F)
}

/// The terms a query needs (AND): for a CJK run of one character the character, else its
/// bigrams; folded words otherwise.
pub fn query_terms(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut run: Vec<char> = Vec::new();
    let mut rest = String::new();
    let flush = |run: &mut Vec<char>, out: &mut Vec<String>| {
        if run.len() == 1 {
            out.push(run[0].to_string());
        } else {
            for w in run.windows(2) {
                out.push(format!("{}{}", w[0], w[1]));
            }
        }
        run.clear();
    };
    for c in q.chars() {
        if is_cjk(c) {
            run.push(c);
            rest.push(' ');
        } else {
            flush(&mut run, &mut out);
            rest.push(c);
        }
    }
    flush(&mut run, &mut out);
    out.extend(tokenize(&rest));
    let mut seen = HashSet::new();
    out.retain(|t| seen.insert(t.clone()));
    out
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

impl SearchIndex {
    fn put(st: &mut State, doc: Doc) {
        Self::remove(st, doc.d.id);
        let d = doc.d.clone();
        let mut weights: HashMap<String, f32> = HashMap::new();
        let mut add = |text: &str, w: f32| {
            for t in tokenize(text) {
                let e = weights.entry(t).or_insert(0.0);
                if *e < w {
                    *e = w;
                } else {
                    *e += 0.1;
                }
            }
        };
        add(&d.title, 4.0);
        if let Some(t) = &d.title_en {
            add(t, 4.0);
        }
        for t in &d.tags {
            add(t, 3.0);
        }
        add(&d.name, 2.0);
        add(&doc.org, 2.0);
        for x in [&d.notes, &d.notes_en, &d.publisher, &d.topic]
            .into_iter()
            .flatten()
        {
            add(x, 1.0);
        }
        for f in &d.fields {
            add(&f.name, 1.0);
            if let Some(t) = &f.title {
                add(t, 1.0);
            }
        }
        for r in &d.resources {
            add(&r.name, 1.0);
            if let Some(x) = &r.description {
                add(x, 0.5);
            }
        }
        let mut doc = doc;
        doc.terms = weights.keys().cloned().collect();
        for (t, w) in weights {
            st.postings.entry(t).or_default().insert(d.id, w);
        }
        st.docs.insert(d.id, doc);
    }

    fn remove(st: &mut State, id: Uuid) {
        if let Some(old) = st.docs.remove(&id) {
            for t in old.terms {
                if let Some(p) = st.postings.get_mut(&t) {
                    p.remove(&id);
                    if p.is_empty() {
                        st.postings.remove(&t);
                    }
                }
            }
        }
    }

    /// Number of indexed datasets.
    pub fn len(&self) -> usize {
        self.state.read().expect("index lock").docs.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Catalog {
    /// Brings the search index up to date with the database (see the module doc): reads
    /// the rows changed since the watermark, and those changed in the last
    /// [`LATE_COMMIT_SECS`] seconds (a transaction that took its timestamp before another
    /// but committed after it), and re-indexes the ones whose revision or time differ.
    pub async fn refresh_index(&self) -> Result<usize> {
        let idx = self.search.clone();
        let _g = idx.refresh.lock().await;
        let wm = idx.state.read().expect("index lock").watermark;
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
            let st = idx.state.read().expect("index lock");
            for r in rows {
                let at = r.updated_at;
                max = max.max(at);
                let same = st
                    .docs
                    .get(&r.id)
                    .is_some_and(|d| d.updated_micros == at && d.d.revision == r.revision);
                if !same {
                    changed.push(r);
                }
            }
        }
        let docs = self.load_docs(&changed).await?;
        let mut st = idx.state.write().expect("index lock");
        let n = docs.len();
        for doc in docs {
            SearchIndex::put(&mut st, doc);
        }
        st.watermark = st.watermark.max(max);
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
                    terms: vec![],
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
        let st = self.search.state.read().expect("index lock");
        // Candidate scores.
        let mut scored: Vec<(&Doc, f32)> = Vec::new();
        if terms.is_empty() {
            scored.extend(st.docs.values().map(|d| (d, 1.0)));
        } else {
            let mut lists: Vec<&HashMap<Uuid, f32>> = Vec::new();
            for t in &terms {
                match st.postings.get(t) {
                    Some(p) => lists.push(p),
                    None => {
                        lists.clear();
                        break;
                    }
                }
            }
            if lists.len() == terms.len() {
                lists.sort_by_key(|l| l.len());
                for (id, w) in lists[0] {
                    let mut s = *w;
                    if lists[1..].iter().all(|l| match l.get(id) {
                        Some(x) => {
                            s += x;
                            true
                        }
                        None => false,
                    }) {
                        if let Some(d) = st.docs.get(id) {
                            scored.push((d, s));
                        }
                    }
                }
            }
        }
        scored.retain(|(doc, _)| {
            let d = &doc.d;
            if d.state != "active" {
                return false;
            }
            let public = d.open_level != OpenLevel::NotOpen && !doc.negative;
            let visible = public
                || (req.include_private
                    && viewer
                        .is_some_and(|p| p.can_at(Permission::CatalogRead, &d.tenant, &doc.path)));
            visible
                && filters.iter().all(|(f, v)| {
                    doc_values(doc, f).iter().any(|x| {
                        x == v
                            || (f == "res_format" || f == "organization")
                                && x.eq_ignore_ascii_case(v)
                    })
                })
        });
        let count_matches = scored.len();
        let mut facets = BTreeMap::new();
        for f in &req.facet_fields {
            let mut counts: HashMap<String, usize> = HashMap::new();
            for (doc, _) in &scored {
                let mut vals = doc_values(doc, f);
                vals.sort();
                vals.dedup();
                for v in vals {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let mut v: Vec<(String, usize)> = counts.into_iter().collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            if req.facet_limit >= 0 {
                v.truncate(req.facet_limit as usize);
            }
            facets.insert(f.clone(), v);
        }
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
        // Only the first `start + rows` need ordering: partition, then sort that head.
        let k = req.start.saturating_add(req.rows).min(scored.len());
        if k > 0 && k < scored.len() {
            scored.select_nth_unstable_by(k - 1, cmp);
            scored.truncate(k);
        }
        let count_before_truncate = count_matches;
        if k == 0 {
            scored.clear();
        }
        scored.sort_by(cmp);
        let count = count_before_truncate;
        let results = scored
            .into_iter()
            .skip(req.start)
            .take(req.rows)
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
        let st = self.search.state.read().expect("index lock");
        let mut v: Vec<Doc> = st
            .docs
            .values()
            .filter(|doc| {
                let d = &doc.d;
                d.state == "active"
                    && ((d.open_level != OpenLevel::NotOpen && !doc.negative)
                        || (include_private
                            && viewer.is_some_and(|p| {
                                p.can_at(Permission::CatalogRead, &d.tenant, &doc.path)
                            })))
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
    fn chinese_is_indexed_as_unigrams_and_bigrams() {
        assert_eq!(
            tokenize("公交线路"),
            vec!["公", "公交", "交", "交线", "线", "线路", "路"]
        );
        assert_eq!(query_terms("线路"), vec!["线路"]);
        assert_eq!(query_terms("路"), vec!["路"]);
    }

    #[test]
    fn latin_words_fold_to_ascii() {
        assert_eq!(
            tokenize("Århus Straße-2024"),
            vec!["arhus", "strasse", "2024"]
        );
        assert_eq!(tokenize("A\u{30a}rhus"), vec!["arhus"]);
    }

    #[test]
    fn punctuation_only_separates() {
        assert_eq!(
            query_terms("a:b/c-d+e&f[g]"),
            vec!["a", "b", "c", "d", "e", "f", "g"]
        );
        assert!(query_terms(":/-+&[]").is_empty());
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
