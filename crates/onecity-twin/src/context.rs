//! `@context` handling: term expansion and compaction (GS CIM 009 §5.5.7, JSON-LD 1.1
//! term definitions restricted to what NGSI-LD payloads use).
//!
//! A [`Context`] is a flat map term → IRI plus an optional `@vocab`, built from the
//! caller's `@context` (a URL, an inline object, or an array of both) with the NGSI-LD
//! core context applied last (it is `@protected`, so user contexts cannot redefine core
//! terms). Expansion of a term: a term of the map → its IRI; `prefix:suffix` with a known
//! prefix → prefix IRI + suffix; any other string holding `:` → itself (an absolute IRI);
//! else `@vocab` + term (`https://uri.etsi.org/ngsi-ld/default-context/` from the core).
//! Compaction is the reverse (the first term mapping to the IRI, else the IRI minus
//! `@vocab`, else the IRI).
//!
//! [`ContextStore`] resolves contexts: the published core contexts v1.6 to v1.9 are
//! compiled in and recognised by their URLs without any fetch; other URLs are read from a
//! configured map URL → local file (air-gapped cities), else fetched over HTTP(S) once and
//! cached. Resolved contexts are cached by their JSON text.

use crate::error::{NgsiError, NgsiResult, ProblemKind};
use parking_lot::RwLock;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The NGSI-LD namespace.
pub const NGSI_LD: &str = "https://uri.etsi.org/ngsi-ld/";
/// The default `@vocab` of the core context.
pub const DEFAULT_VOCAB: &str = "https://uri.etsi.org/ngsi-ld/default-context/";
/// The URL of the core context this broker answers with (v1.8, as its API level).
pub const CORE_CONTEXT_URL: &str =
    "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld";

/// The compiled-in core contexts: (URL, JSON text).
pub const CORE_CONTEXTS: &[(&str, &str)] = &[
    (
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
        include_str!("../contexts/ngsi-ld-core-context-v1.6.jsonld"),
    ),
    (
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
        include_str!("../contexts/ngsi-ld-core-context-v1.7.jsonld"),
    ),
    (
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
        include_str!("../contexts/ngsi-ld-core-context-v1.8.jsonld"),
    ),
    (
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
        include_str!("../contexts/ngsi-ld-core-context-v1.9.jsonld"),
    ),
];

/// Whether `url` names an NGSI-LD core context (any version, http or https, and the
/// unversioned `ngsi-ld-core-context.jsonld`).
pub fn is_core_url(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let Some(tail) = rest
        .strip_prefix("uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context")
        .or_else(|| rest.strip_prefix("uri.etsi.org/ngsi-ld/ngsi-ld-core-context"))
    else {
        return false;
    };
    // Only the published names: `…core-context.jsonld` and `…core-context-v1.N.jsonld`;
    // any other file under that prefix is an ordinary remote context (and, when it cannot
    // be retrieved, 504 LdContextNotAvailable, GS CIM 009 §5.5.6).
    match tail.strip_suffix(".jsonld") {
        Some("") => true,
        Some(v) => v
            .strip_prefix("-v")
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '.')),
        None => false,
    }
}

/// A resolved context: term → IRI, and `@vocab`.
#[derive(Debug, Clone, Default)]
pub struct Context {
    terms: HashMap<String, String>,
    reverse: HashMap<String, String>,
    vocab: Option<String>,
    /// The caller's `@context` as given (echoed in `application/ld+json` responses);
    /// `None` = the core context only.
    pub source: Option<Value>,
}

impl Context {
    /// The core context alone (v1.9 terms).
    pub fn core() -> Arc<Context> {
        static CORE: std::sync::OnceLock<Arc<Context>> = std::sync::OnceLock::new();
        CORE.get_or_init(|| {
            let mut b = Builder::default();
            // Older versions first, so that v1.9 wins where they differ.
            for (_, text) in CORE_CONTEXTS {
                if let Ok(v) = serde_json::from_str::<Value>(text) {
                    b.add_object(v.get("@context").unwrap_or(&Value::Null));
                }
            }
            let mut c = b.finish(None);
            c.vocab = Some(DEFAULT_VOCAB.to_string());
            Arc::new(c)
        })
        .clone()
    }

    /// Expands a term (attribute name, entity type) to an IRI.
    pub fn expand(&self, term: &str) -> String {
        if let Some(iri) = self.terms.get(term) {
            return iri.clone();
        }
        if let Some((prefix, suffix)) = term.split_once(':') {
            if !suffix.starts_with("//") {
                if let Some(base) = self.terms.get(prefix) {
                    return format!("{base}{suffix}");
                }
            }
            return term.to_string();
        }
        format!("{}{term}", self.vocab.as_deref().unwrap_or(DEFAULT_VOCAB))
    }

    /// Compacts an IRI to the caller's term.
    pub fn compact(&self, iri: &str) -> String {
        if let Some(t) = self.reverse.get(iri) {
            return t.clone();
        }
        let core = Context::core();
        if let Some(t) = core.reverse.get(iri) {
            return t.clone();
        }
        if let Some(v) = &self.vocab {
            if let Some(rest) = iri.strip_prefix(v.as_str()) {
                if !rest.is_empty() && !rest.contains(':') {
                    return rest.to_string();
                }
            }
        }
        if let Some(rest) = iri.strip_prefix(DEFAULT_VOCAB) {
            if !rest.is_empty() && !rest.contains(':') && !self.terms.contains_key(rest) {
                return rest.to_string();
            }
        }
        iri.to_string()
    }

    /// The `@context` to echo in `application/ld+json` responses.
    pub fn echo(&self) -> Value {
        self.source
            .clone()
            .unwrap_or_else(|| Value::String(CORE_CONTEXT_URL.into()))
    }

    /// The URL for a `Link` header in `application/json` responses: the caller's context
    /// when it was one URL, else the core context.
    pub fn link_url(&self) -> String {
        match &self.source {
            Some(Value::String(s)) => s.clone(),
            _ => CORE_CONTEXT_URL.to_string(),
        }
    }
}

#[derive(Default)]
struct Builder {
    raw: Vec<(String, String)>,
    vocab: Option<String>,
}

impl Builder {
    fn add_object(&mut self, v: &Value) {
        match v {
            Value::Object(m) => {
                for (k, d) in m {
                    if k == "@vocab" {
                        if let Some(s) = d.as_str() {
                            self.vocab = Some(s.to_string());
                        }
                        continue;
                    }
                    if k.starts_with('@') {
                        continue;
                    }
                    let iri = match d {
                        Value::String(s) => Some(s.clone()),
                        Value::Object(o) => {
                            o.get("@id").and_then(Value::as_str).map(str::to_string)
                        }
                        _ => None,
                    };
                    if let Some(iri) = iri {
                        if !iri.starts_with('@') {
                            self.raw.push((k.clone(), iri));
                        }
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| self.add_object(x)),
            _ => {}
        }
    }

    fn finish(self, source: Option<Value>) -> Context {
        let mut terms: HashMap<String, String> = HashMap::new();
        for (k, v) in &self.raw {
            terms.insert(k.clone(), v.clone());
        }
        // Resolve compact IRIs (`prefix:suffix`) against the terms, twice for chains.
        for _ in 0..2 {
            let snapshot = terms.clone();
            for v in terms.values_mut() {
                if let Some((p, s)) = v.split_once(':') {
                    if !s.starts_with("//") {
                        if let Some(base) = snapshot.get(p) {
                            if base.contains("://") {
                                *v = format!("{base}{s}");
                            }
                        }
                    }
                }
            }
        }
        let mut reverse: HashMap<String, String> = HashMap::new();
        let mut keys: Vec<&String> = terms.keys().collect();
        // Deterministic compaction: shortest term, then alphabetical.
        keys.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        for k in keys {
            let iri = &terms[k];
            // A prefix definition (IRI ending with / or #) is not a term for compaction.
            if iri.ends_with('/') || iri.ends_with('#') {
                continue;
            }
            reverse.entry(iri.clone()).or_insert_with(|| k.clone());
        }
        Context {
            terms,
            reverse,
            vocab: self.vocab,
            source,
        }
    }
}

/// GS CIM 009 §5.5.7: a user @context shall not hold JSON-LD scoped contexts. Checks the
/// inline objects of a request's `@context` (a term definition with its own `@context` is
/// 400 BadRequestData); referenced documents are not inspected.
pub fn check_no_scoped_context(v: &Value) -> NgsiResult<()> {
    match v {
        Value::Array(a) => a.iter().try_for_each(check_no_scoped_context),
        Value::Object(m) => {
            for (k, d) in m {
                if d.get("@context").is_some() {
                    return Err(NgsiError::bad_data(format!(
                        "the @context term {k:?} holds a scoped @context, which a user @context shall not (GS CIM 009 §5.5.7)"
                    )));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Resolves `@context` values to [`Context`]s, with the core contexts built in, a map of
/// URL → local file, an HTTP fetch for the rest, and caches.
pub struct ContextStore {
    files: HashMap<String, PathBuf>,
    fetch: bool,
    http: reqwest::Client,
    docs: RwLock<HashMap<String, Arc<Value>>>,
    resolved: RwLock<HashMap<String, Arc<Context>>>,
}

/// Largest number of cached resolved contexts (the cache is cleared when full).
pub const MAX_CACHED_CONTEXTS: usize = 1024;

impl ContextStore {
    /// A store with a URL → local file map; `fetch` allows HTTP(S) retrieval of other URLs.
    pub fn new(files: HashMap<String, PathBuf>, fetch: bool) -> Self {
        Self {
            files,
            fetch,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default(),
            docs: RwLock::new(HashMap::new()),
            resolved: RwLock::new(HashMap::new()),
        }
    }

    /// Resolves a `@context` value (`None` = core only). Errors: 400 BadRequestData for a
    /// malformed context (a remote document that is not JSON or has no `@context`
    /// member, §5.5.6); 504 LdContextNotAvailable when a URL cannot be retrieved.
    pub async fn resolve(&self, ctx: Option<&Value>) -> NgsiResult<Arc<Context>> {
        let Some(ctx) = ctx else {
            return Ok(Context::core());
        };
        if let Value::String(s) = ctx {
            if is_core_url(s) {
                let mut c = (*Context::core()).clone();
                c.source = Some(ctx.clone());
                return Ok(Arc::new(c));
            }
        }
        let key = ctx.to_string();
        if let Some(c) = self.resolved.read().get(&key) {
            return Ok(c.clone());
        }
        let mut b = Builder::default();
        self.collect(ctx, &mut b, 0).await?;
        // The core context last: its terms are protected.
        let core = Context::core();
        let mut c = b.finish(Some(ctx.clone()));
        for (k, v) in &core.terms {
            c.terms.insert(k.clone(), v.clone());
        }
        if c.vocab.is_none() {
            c.vocab = Some(DEFAULT_VOCAB.to_string());
        }
        let c = Arc::new(c);
        let mut cache = self.resolved.write();
        if cache.len() >= MAX_CACHED_CONTEXTS {
            cache.clear();
        }
        cache.insert(key, c.clone());
        Ok(c)
    }

    fn collect<'a>(
        &'a self,
        v: &'a Value,
        b: &'a mut Builder,
        depth: usize,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = NgsiResult<()>> + Send + 'a>> {
        Box::pin(async move {
            if depth > 8 {
                return Err(NgsiError::bad_data(
                    "@context nests more than 8 levels of remote contexts",
                ));
            }
            match v {
                Value::Null => Ok(()),
                Value::String(url) => {
                    if is_core_url(url) {
                        return Ok(());
                    }
                    let doc = self.document(url).await?;
                    let inner = doc.get("@context").cloned().ok_or_else(|| {
                        NgsiError::bad_data(format!(
                            "the remote @context {url} has no \"@context\" member"
                        ))
                    })?;
                    self.collect(&inner, b, depth + 1).await
                }
                Value::Object(_) => {
                    b.add_object(v);
                    Ok(())
                }
                Value::Array(a) => {
                    for x in a {
                        self.collect(x, b, depth).await?;
                    }
                    Ok(())
                }
                _ => Err(NgsiError::bad_data(
                    "@context must be a URL, an object or an array of them",
                )),
            }
        })
    }

    /// The JSON document at `url`: compiled-in core, mapped local file, cache, or fetch.
    pub async fn document(&self, url: &str) -> NgsiResult<Arc<Value>> {
        if let Some((_, text)) = CORE_CONTEXTS.iter().find(|(u, _)| *u == url) {
            return serde_json::from_str(text)
                .map(Arc::new)
                .map_err(NgsiError::internal);
        }
        if let Some(d) = self.docs.read().get(url) {
            return Ok(d.clone());
        }
        let text = if let Some(path) = self.files.get(url) {
            tokio::fs::read_to_string(path).await.map_err(|e| {
                NgsiError::new(
                    ProblemKind::LdContextNotAvailable,
                    format!(
                        "@context {url} maps to {} which cannot be read: {e}",
                        path.display()
                    ),
                )
            })?
        } else if self.fetch && (url.starts_with("http://") || url.starts_with("https://")) {
            let r = self
                .http
                .get(url)
                .header("Accept", "application/ld+json, application/json")
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| {
                    NgsiError::new(
                        ProblemKind::LdContextNotAvailable,
                        format!("@context {url} cannot be retrieved: {e}"),
                    )
                })?;
            r.text().await.map_err(|e| {
                NgsiError::new(
                    ProblemKind::LdContextNotAvailable,
                    format!("@context {url} cannot be read: {e}"),
                )
            })?
        } else {
            return Err(NgsiError::new(
                ProblemKind::LdContextNotAvailable,
                format!("@context {url} is not known locally and remote fetching is off"),
            ));
        };
        let doc: Value = serde_json::from_str(&text)
            .map_err(|e| NgsiError::bad_data(format!("@context {url} is not JSON: {e}")))?;
        let doc = Arc::new(doc);
        let mut docs = self.docs.write();
        if docs.len() >= MAX_CACHED_CONTEXTS {
            docs.clear();
        }
        docs.insert(url.to_string(), doc.clone());
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn core_terms_expand_and_compact() {
        let c = Context::core();
        assert_eq!(
            c.expand("location"),
            "https://uri.etsi.org/ngsi-ld/location"
        );
        assert_eq!(
            c.expand("temperature"),
            format!("{DEFAULT_VOCAB}temperature")
        );
        assert_eq!(c.expand("http://example.org/x"), "http://example.org/x");
        assert_eq!(
            c.compact("https://uri.etsi.org/ngsi-ld/location"),
            "location"
        );
        assert_eq!(
            c.compact(&format!("{DEFAULT_VOCAB}temperature")),
            "temperature"
        );
    }

    #[tokio::test]
    async fn user_context_and_local_file_map() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ctx.jsonld");
        std::fs::write(
            &f,
            r#"{"@context":{"sdm":"https://smartdatamodels.org/","pm10":"sdm:dataModel.Environment/pm10","location":"http://evil/loc"}}"#,
        )
        .unwrap();
        let store = ContextStore::new(
            [("https://example.org/ctx.jsonld".to_string(), f)].into(),
            false,
        );
        let c = store
            .resolve(Some(&json!([
                "https://example.org/ctx.jsonld",
                CORE_CONTEXT_URL
            ])))
            .await
            .unwrap();
        assert_eq!(
            c.expand("pm10"),
            "https://smartdatamodels.org/dataModel.Environment/pm10"
        );
        assert_eq!(
            c.compact("https://smartdatamodels.org/dataModel.Environment/pm10"),
            "pm10"
        );
        // Core terms are protected.
        assert_eq!(
            c.expand("location"),
            "https://uri.etsi.org/ngsi-ld/location"
        );
        let e = store
            .resolve(Some(&json!("https://example.org/unknown.jsonld")))
            .await
            .unwrap_err();
        assert_eq!(e.kind, ProblemKind::LdContextNotAvailable);
    }
}
