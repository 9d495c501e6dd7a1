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
//!
//! Remote fetching is guarded ([`ContextLimits`]): only `http` and `https`; a size limit
//! per document (1 MiB by default) enforced while reading; a time limit; no redirects;
//! addresses in [`denied_by_default`] ranges refused unless re-permitted by the
//! [`AllowList`], checked on the addresses the host resolves to (the connection uses only
//! those, through a guarded resolver, and never a proxy); one error text,
//! [`FETCH_FAILED`], for every failure. Both caches share one budget in bytes with
//! oldest-first eviction.

use crate::ld::error::{NgsiError, NgsiResult, ProblemKind};
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
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
        include_str!("../../contexts/ngsi-ld-core-context-v1.6.jsonld"),
    ),
    (
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
        include_str!("../../contexts/ngsi-ld-core-context-v1.7.jsonld"),
    ),
    (
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
        include_str!("../../contexts/ngsi-ld-core-context-v1.8.jsonld"),
    ),
    (
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
        include_str!("../../contexts/ngsi-ld-core-context-v1.9.jsonld"),
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

/// Limits of the remote `@context` loader.
#[derive(Debug, Clone)]
pub struct ContextLimits {
    /// Largest remote document in bytes (default 1 MiB); a larger one is a fetch failure.
    pub max_document_bytes: usize,
    /// Memory budget of the document and resolved-context caches together, in bytes
    /// (estimated sizes, see [`ContextStore::cached_bytes`]; default 16 MiB). The oldest
    /// entries are evicted beyond it; an entry larger than the budget is not cached.
    pub cache_bytes: usize,
    /// Time limit of one fetch, connection and body included (default 5 s).
    pub timeout: Duration,
    /// Hosts and address ranges re-permitted although [`denied_by_default`] denies them.
    pub allow: AllowList,
}

impl Default for ContextLimits {
    fn default() -> Self {
        Self {
            max_document_bytes: 1024 * 1024,
            cache_bytes: 16 * 1024 * 1024,
            timeout: Duration::from_secs(5),
            allow: AllowList::default(),
        }
    }
}

/// Hosts (exact names, any case) and address ranges that remote `@context` fetches may
/// reach although their addresses are denied by default.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    hosts: Vec<String>,
    ranges: Vec<ipnet::IpNet>,
}

impl AllowList {
    /// Parses a comma-separated list of host names, addresses and CIDR ranges
    /// (`127.0.0.1, 10.1.0.0/16, contexts.city.internal`). Error: the entry that is none.
    pub fn parse(list: &str) -> Result<AllowList, String> {
        let mut allow = AllowList::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if let Ok(net) = entry.parse::<ipnet::IpNet>() {
                allow.ranges.push(net);
            } else if let Ok(ip) = entry.parse::<IpAddr>() {
                allow.ranges.push(ip.into());
            } else if entry
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                allow.hosts.push(entry.to_ascii_lowercase());
            } else {
                return Err(format!(
                    "{entry:?} is not a host name, an address or a CIDR range"
                ));
            }
        }
        Ok(allow)
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| h.eq_ignore_ascii_case(host))
    }

    /// Whether a fetch of `host` may connect to `ip`: the host or the address is allowed,
    /// or the address is not [`denied_by_default`].
    pub fn permits(&self, host: &str, ip: IpAddr) -> bool {
        self.host_allowed(host)
            || self.ranges.iter().any(|n| n.contains(&ip))
            || !denied_by_default(ip)
    }
}

/// Addresses a remote `@context` fetch never reaches unless allowed: unspecified,
/// loopback, private (RFC 1918), shared (100.64/10), link-local (169.254/16, with the
/// cloud metadata address 169.254.169.254), benchmarking, documentation, multicast and
/// reserved IPv4; and for IPv6 unspecified, loopback, unique-local (fc00::/7),
/// link-local (fe80::/10), site-local, multicast, documentation, and IPv4-mapped or
/// NAT64 forms of denied IPv4 addresses.
pub fn denied_by_default(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_unspecified()
                || v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
                || (a == 192 && b == 0 && v4.octets()[2] == 0)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return denied_by_default(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2..6] == [0, 0, 0, 0] {
                let [a, b] = seg[6].to_be_bytes();
                let [c, d] = seg[7].to_be_bytes();
                return denied_by_default(IpAddr::V4(std::net::Ipv4Addr::new(a, b, c, d)));
            }
            v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xffc0) == 0xfec0
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
                || seg[0..6] == [0, 0, 0, 0, 0, 0]
        }
    }
}

/// The one text of every remote `@context` retrieval failure (504 LdContextNotAvailable):
/// a refused address, a connection that fails, a timeout, a redirect, an error status, a
/// document too large. The same words whatever answered, so that the broker cannot be used
/// to probe its own network; the reason is logged (debug level) for operators.
pub const FETCH_FAILED: &str =
    "the remote @context could not be retrieved (it must be an http or https URL of an allowed host answering with at most the permitted size)";

/// The one text of a retrieved remote `@context` that is not a JSON-LD context document
/// (400 BadRequestData, GS CIM 009 §5.5.6).
pub const NOT_A_CONTEXT: &str =
    "the remote @context is not a JSON document with an \"@context\" member";

/// A DNS resolver that drops the addresses a fetch may not reach, so that the connection
/// is pinned to checked addresses (no second lookup can return another one).
struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(permitted_addresses(
            self.allow.clone(),
            name.as_str().to_string(),
        ))
    }
}

/// The addresses `host` resolves to that `allow` permits; an error when there is none.
async fn permitted_addresses(
    allow: Arc<AllowList>,
    host: String,
) -> Result<reqwest::dns::Addrs, Box<dyn std::error::Error + Send + Sync>> {
    let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
    let permitted: Vec<SocketAddr> = found.filter(|a| allow.permits(&host, a.ip())).collect();
    if permitted.is_empty() {
        return Err("no permitted address".into());
    }
    Ok(Box::new(permitted.into_iter()))
}

/// One cached value with its estimated size.
#[derive(Clone)]
enum Cached {
    Document(Arc<Value>),
    Resolved(Arc<Context>),
}

/// The document and resolved-context caches under one byte budget, evicting the oldest
/// insertions first.
#[derive(Default)]
struct ByteCache {
    entries: HashMap<String, (Cached, usize)>,
    order: VecDeque<String>,
    bytes: usize,
}

impl ByteCache {
    fn get(&self, key: &str) -> Option<Cached> {
        self.entries.get(key).map(|(v, _)| v.clone())
    }

    fn insert(&mut self, key: String, value: Cached, size: usize, budget: usize) {
        if size > budget {
            return;
        }
        if let Some((_, old)) = self.entries.remove(&key) {
            self.bytes -= old;
            self.order.retain(|k| *k != key);
        }
        while self.bytes + size > budget {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, old)) = self.entries.remove(&oldest) {
                self.bytes -= old;
            }
        }
        self.bytes += size;
        self.order.push_back(key.clone());
        self.entries.insert(key, (value, size));
    }
}

/// Estimated heap bytes of a JSON value (node overhead plus text).
fn value_bytes(v: &Value) -> usize {
    const NODE: usize = 48;
    NODE + match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(value_bytes).sum(),
        Value::Object(m) => m.iter().map(|(k, x)| k.len() + NODE + value_bytes(x)).sum(),
        _ => 0,
    }
}

/// Estimated heap bytes of a resolved context (its two maps, vocab and source).
fn context_bytes(c: &Context) -> usize {
    const ENTRY: usize = 64;
    let map = |m: &HashMap<String, String>| -> usize {
        m.iter().map(|(k, v)| k.len() + v.len() + ENTRY).sum()
    };
    map(&c.terms)
        + map(&c.reverse)
        + c.vocab.as_ref().map_or(0, String::len)
        + c.source.as_ref().map_or(0, value_bytes)
}

/// Resolves `@context` values to [`Context`]s, with the core contexts built in, a map of
/// URL → local file, a guarded HTTP fetch for the rest ([`ContextLimits`]), and one
/// byte-budgeted cache.
pub struct ContextStore {
    files: HashMap<String, PathBuf>,
    fetch: bool,
    http: reqwest::Client,
    limits: ContextLimits,
    allow: Arc<AllowList>,
    cache: Mutex<ByteCache>,
}

impl ContextStore {
    /// A store with a URL → local file map; `fetch` allows HTTP(S) retrieval of other URLs
    /// (with the default [`ContextLimits`]).
    pub fn new(files: HashMap<String, PathBuf>, fetch: bool) -> Self {
        Self::with_limits(files, fetch, ContextLimits::default())
    }

    /// A store with explicit limits for remote fetches and the cache.
    pub fn with_limits(
        files: HashMap<String, PathBuf>,
        fetch: bool,
        limits: ContextLimits,
    ) -> Self {
        let allow = Arc::new(limits.allow.clone());
        let http = reqwest::Client::builder()
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow: allow.clone(),
            }))
            .build()
            .unwrap_or_default();
        Self {
            files,
            fetch,
            http,
            limits,
            allow,
            cache: Mutex::new(ByteCache::default()),
        }
    }

    /// Estimated bytes held by the caches now (never above `ContextLimits::cache_bytes`);
    /// also published as the gauge `onecity_twin_context_cache_bytes`.
    pub fn cached_bytes(&self) -> usize {
        self.cache.lock().bytes
    }

    fn cache_get(&self, key: &str) -> Option<Cached> {
        self.cache.lock().get(key)
    }

    fn cache_put(&self, key: String, value: Cached, size: usize) {
        let bytes = {
            let mut cache = self.cache.lock();
            cache.insert(key, value, size, self.limits.cache_bytes);
            cache.bytes
        };
        metrics::gauge!("onecity_twin_context_cache_bytes").set(bytes as f64);
    }

    /// Resolves a `@context` value (`None` = core only). Errors: 400 BadRequestData for a
    /// malformed context (a remote document that is not JSON or has no `@context`
    /// member, §5.5.6); 504 LdContextNotAvailable when a URL cannot be retrieved (one
    /// text for every reason, [`FETCH_FAILED`]).
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
        let key = format!("r:{ctx}");
        if let Some(Cached::Resolved(c)) = self.cache_get(&key) {
            return Ok(c);
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
        let size = key.len() + context_bytes(&c);
        self.cache_put(key, Cached::Resolved(c.clone()), size);
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
                    let inner = doc
                        .get("@context")
                        .cloned()
                        .ok_or_else(|| NgsiError::bad_data(NOT_A_CONTEXT))?;
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
        let key = format!("d:{url}");
        if let Some(Cached::Document(d)) = self.cache_get(&key) {
            return Ok(d);
        }
        let doc: Value = if let Some(path) = self.files.get(url) {
            let text = tokio::fs::read_to_string(path).await.map_err(|e| {
                NgsiError::new(
                    ProblemKind::LdContextNotAvailable,
                    format!(
                        "@context {url} maps to {} which cannot be read: {e}",
                        path.display()
                    ),
                )
            })?;
            serde_json::from_str(&text)
                .map_err(|e| NgsiError::bad_data(format!("@context {url} is not JSON: {e}")))?
        } else if self.fetch {
            let bytes = self.fetch(url).await.map_err(|reason| {
                tracing::debug!(url, %reason, "@context fetch failed");
                NgsiError::new(ProblemKind::LdContextNotAvailable, FETCH_FAILED)
            })?;
            serde_json::from_slice(&bytes).map_err(|_| NgsiError::bad_data(NOT_A_CONTEXT))?
        } else {
            return Err(NgsiError::new(
                ProblemKind::LdContextNotAvailable,
                format!("@context {url} is not known locally and remote fetching is off"),
            ));
        };
        let doc = Arc::new(doc);
        let size = key.len() + value_bytes(&doc);
        self.cache_put(key, Cached::Document(doc.clone()), size);
        Ok(doc)
    }

    /// Fetches `url` within the limits; the error is the reason, for the log only.
    async fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!("scheme {} is not http or https", parsed.scheme()));
        }
        let host = parsed.host_str().ok_or("no host")?;
        // Addresses written as such (the URL parser normalises 0x7f.1, 2130706433, …)
        // bypass the resolver: check them here.
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            if !self.allow.permits(bare, ip) {
                return Err(format!("address {ip} is denied"));
            }
        }
        let max = self.limits.max_document_bytes;
        let mut response = self
            .http
            .get(parsed)
            .header("Accept", "application/ld+json, application/json")
            .send()
            .await
            .map_err(|e| format!("request: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        if response.content_length().is_some_and(|n| n > max as u64) {
            return Err("declared length over the limit".into());
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| format!("body: {e}"))? {
            if body.len() + chunk.len() > max {
                return Err("body over the limit".into());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
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

    #[test]
    fn default_deny_list_and_allow_list() {
        for denied in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(denied_by_default(denied.parse().unwrap()), "{denied}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!denied_by_default(public.parse().unwrap()), "{public}");
        }
        let allow = AllowList::parse(" 127.0.0.1, 10.1.0.0/16, Contexts.City.internal ").unwrap();
        assert!(allow.permits("x", "127.0.0.1".parse().unwrap()));
        assert!(allow.permits("x", "10.1.9.9".parse().unwrap()));
        assert!(!allow.permits("x", "10.2.0.1".parse().unwrap()));
        assert!(allow.permits("contexts.city.internal", "10.2.0.1".parse().unwrap()));
        assert!(!allow.permits("x", "169.254.169.254".parse().unwrap()));
        assert!(AllowList::parse("not a host!").is_err());
    }

    #[test]
    fn cache_stays_within_its_byte_budget() {
        let mut cache = ByteCache::default();
        let doc = Cached::Document(Arc::new(json!({})));
        for i in 0..1000 {
            cache.insert(format!("d:{i}"), doc.clone(), 300, 10_000);
            assert!(cache.bytes <= 10_000);
        }
        assert_eq!(cache.entries.len(), 33);
        assert!(cache.get("d:999").is_some(), "the newest stays");
        assert!(cache.get("d:0").is_none(), "the oldest went");
        cache.insert("huge".into(), doc, 20_000, 10_000);
        assert!(
            cache.get("huge").is_none(),
            "larger than the budget: not cached"
        );
    }

    #[tokio::test]
    async fn fetch_failures_share_one_text() {
        let store = ContextStore::new(HashMap::new(), true);
        for url in [
            "http://127.0.0.1:1/ctx.jsonld",
            "http://169.254.169.254/latest",
            "file:///etc/passwd",
            "http://[::1]/x",
            "http://localhost:5432/",
        ] {
            let e = store.resolve(Some(&json!(url))).await.unwrap_err();
            assert_eq!(e.kind, ProblemKind::LdContextNotAvailable, "{url}");
            assert_eq!(e.detail, FETCH_FAILED, "{url}");
        }
    }
}
