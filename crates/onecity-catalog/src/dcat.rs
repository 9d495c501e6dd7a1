//! DCAT-AP 3 export of the open catalog at `/catalog.ttl` (Turtle, via `oxttl`) and
//! `/catalog.jsonld` (JSON-LD 1.1), paged with Hydra (`hydra:PagedCollection`, as
//! ckanext-dcat does): `?page=N` (1-based) and `?per_page=` (1–1000, default 100).
//!
//! Only datasets opened to the public (unconditionally or on conditions) and not on the
//! negative list are exported; schema fields are not, so no negative-list field leaves here.
//! Classes and properties follow DCAT-AP 3.0.1 (SEMIC): `dcat:Catalog` (title, description,
//! publisher, dataset), `dcat:Dataset` (identifier, title, description, keyword, publisher,
//! issued, modified, accrualPeriodicity, accessRights, landingPage, distribution),
//! `dcat:Distribution` (accessURL, downloadURL, title, description, format, mediaType,
//! license, byteSize), `foaf:Agent` (name).

use crate::dataset::Catalog;
use crate::model::*;
use crate::search::Doc;
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use onecity_http::{ApiResult, Query};
use oxrdf::{Literal, NamedNode, NamedOrBlankNode as Subject, Term, Triple};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use utoipa_axum::{router::OpenApiRouter, routes};

/// Namespaces used in the export.
pub const PREFIXES: &[(&str, &str)] = &[
    ("dcat", "http://www.w3.org/ns/dcat#"),
    ("dct", "http://purl.org/dc/terms/"),
    ("foaf", "http://xmlns.com/foaf/0.1/"),
    ("rdf", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("hydra", "http://www.w3.org/ns/hydra/core#"),
    ("adms", "http://www.w3.org/ns/adms#"),
    ("vcard", "http://www.w3.org/2006/vcard/ns#"),
];

/// Default and largest page size.
pub const PER_PAGE: usize = 100;
/// Largest page size.
pub const MAX_PER_PAGE: usize = 1000;

fn iri(s: &str) -> NamedNode {
    NamedNode::new_unchecked(s)
}

fn term(prefix: &str, local: &str) -> NamedNode {
    let ns = PREFIXES
        .iter()
        .find(|(p, _)| *p == prefix)
        .map(|(_, n)| *n)
        .unwrap_or("");
    NamedNode::new_unchecked(format!("{ns}{local}"))
}

/// `s` as an absolute IRI when it is one (http/https), else `None`.
fn valid_iri(s: &str) -> Option<NamedNode> {
    let s = s.trim();
    if !(s.starts_with("http://") || s.starts_with("https://")) {
        return None;
    }
    NamedNode::new(s).ok()
}

/// Language tag for a text: `zh` when it holds CJK ideographs, else `en`.
pub fn lang_of(text: &str) -> &'static str {
    if text
        .chars()
        .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c) || ('\u{3400}'..='\u{4dbf}').contains(&c))
    {
        "zh"
    } else {
        "en"
    }
}

fn text(s: &str) -> Term {
    Literal::new_language_tagged_literal_unchecked(s, lang_of(s)).into()
}

fn lang_text(s: &str, lang: &str) -> Term {
    Literal::new_language_tagged_literal_unchecked(s, lang).into()
}

fn typed(v: impl Into<String>, dt: &str) -> Term {
    Literal::new_typed_literal(v, term("xsd", dt)).into()
}

/// The IRI of a licence id: an IRI stays, well-known ids map to their licence pages, other
/// ids get a page under the site.
pub fn license_iri(base: &str, id: &str) -> NamedNode {
    if let Some(i) = valid_iri(id) {
        return i;
    }
    let known = match id.to_ascii_lowercase().as_str() {
        "cc-by" | "cc-by-4.0" => Some("https://creativecommons.org/licenses/by/4.0/"),
        "cc-by-sa" | "cc-by-sa-4.0" => Some("https://creativecommons.org/licenses/by-sa/4.0/"),
        "cc-zero" | "cc0" | "cc0-1.0" => Some("https://creativecommons.org/publicdomain/zero/1.0/"),
        "odc-by" => Some("https://opendatacommons.org/licenses/by/1-0/"),
        "odc-odbl" | "odbl" => Some("https://opendatacommons.org/licenses/odbl/1-0/"),
        "odc-pddl" => Some("https://opendatacommons.org/licenses/pddl/1-0/"),
        "uk-ogl" | "ogl-uk-3.0" => {
            Some("https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/")
        }
        _ => None,
    };
    match known {
        Some(k) => iri(k),
        None => iri(&format!("{base}/license/{}", pct(id))),
    }
}

fn pct(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

struct G(Vec<Triple>);

impl G {
    fn add(&mut self, s: &NamedNode, p: NamedNode, o: impl Into<Term>) {
        self.0
            .push(Triple::new(Subject::NamedNode(s.clone()), p, o.into()));
    }
    fn a(&mut self, s: &NamedNode, class: NamedNode) {
        self.add(s, term("rdf", "type"), class);
    }
}

/// The triples of one page of the catalog. `base` is the site's origin
/// (`https://data.example.cn`), `orgs` maps department ids to (organization name, title).
pub fn catalog_triples(
    base: &str,
    docs: &[Doc],
    total: usize,
    page: usize,
    per_page: usize,
    orgs: &HashMap<uuid::Uuid, (String, String)>,
) -> Vec<Triple> {
    let mut g = G(Vec::new());
    let cat = iri(&format!("{base}/catalog"));
    g.a(&cat, term("dcat", "Catalog"));
    g.add(
        &cat,
        term("dct", "title"),
        lang_text("onecity 开放数据目录", "zh"),
    );
    g.add(
        &cat,
        term("dct", "title"),
        lang_text("onecity open data catalog", "en"),
    );
    g.add(
        &cat,
        term("dct", "description"),
        lang_text("政府部门向社会开放的数据资源目录", "zh"),
    );
    g.add(
        &cat,
        term("dct", "description"),
        lang_text("Datasets that city departments open to the public.", "en"),
    );
    let site = iri(&format!("{base}/#publisher"));
    g.a(&site, term("foaf", "Agent"));
    g.add(&site, term("foaf", "name"), lang_text("onecity", "en"));
    g.add(&cat, term("dct", "publisher"), site);
    let home = iri(&format!("{base}/portal"));
    g.add(&cat, term("foaf", "homepage"), home.clone());
    g.a(&home, term("foaf", "Document"));
    // Hydra paging (the collection is this page's URL).
    let last = total.div_ceil(per_page).max(1);
    let pageurl = |n: usize| iri(&format!("{base}/catalog.ttl?page={n}&per_page={per_page}"));
    let coll = pageurl(page);
    g.a(&coll, term("hydra", "PagedCollection"));
    g.add(
        &coll,
        term("hydra", "totalItems"),
        typed(total.to_string(), "integer"),
    );
    g.add(
        &coll,
        term("hydra", "itemsPerPage"),
        typed(per_page.to_string(), "integer"),
    );
    g.add(&coll, term("hydra", "firstPage"), pageurl(1));
    g.add(&coll, term("hydra", "lastPage"), pageurl(last));
    if page < last {
        g.add(&coll, term("hydra", "nextPage"), pageurl(page + 1));
    }
    if page > 1 {
        g.add(&coll, term("hydra", "previousPage"), pageurl(page - 1));
    }
    let mut agents = BTreeMap::new();
    for doc in docs {
        let d = &doc.d;
        let ds = iri(&format!("{base}/dataset/{}", d.name));
        g.add(&cat, term("dcat", "dataset"), ds.clone());
        g.a(&ds, term("dcat", "Dataset"));
        g.add(
            &ds,
            term("dct", "identifier"),
            Literal::new_simple_literal(d.id.to_string()),
        );
        g.add(&ds, term("dct", "title"), text(&d.title));
        if let Some(t) = &d.title_en {
            g.add(&ds, term("dct", "title"), lang_text(t, "en"));
        }
        let desc = d
            .notes
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| d.title.clone());
        g.add(&ds, term("dct", "description"), text(&desc));
        if let Some(t) = &d.notes_en {
            g.add(&ds, term("dct", "description"), lang_text(t, "en"));
        }
        for t in &d.tags {
            g.add(&ds, term("dcat", "keyword"), text(t));
        }
        let (org, org_title) = orgs
            .get(&d.owner_department_id)
            .cloned()
            .unwrap_or_else(|| (doc.org.clone(), doc.org.clone()));
        let agent = iri(&format!("{base}/organization/{}", pct(&org)));
        let name = d.publisher.clone().unwrap_or(org_title);
        agents.entry(agent.clone()).or_insert(name);
        g.add(&ds, term("dct", "publisher"), agent);
        g.add(
            &ds,
            term("dct", "issued"),
            typed(d.created_at.clone(), "dateTime"),
        );
        g.add(
            &ds,
            term("dct", "modified"),
            typed(d.updated_at.clone(), "dateTime"),
        );
        let f = iri(d.update_frequency.eu_iri());
        g.add(&ds, term("dct", "accrualPeriodicity"), f.clone());
        g.a(&f, term("dct", "Frequency"));
        let rights = iri(match d.open_level {
            OpenLevel::Unconditional => {
                "http://publications.europa.eu/resource/authority/access-right/PUBLIC"
            }
            _ => "http://publications.europa.eu/resource/authority/access-right/RESTRICTED",
        });
        g.add(&ds, term("dct", "accessRights"), rights.clone());
        g.a(&rights, term("dct", "RightsStatement"));
        if let Some(lp) = d.source.as_deref().and_then(valid_iri) {
            g.add(&ds, term("dcat", "landingPage"), lp.clone());
            g.a(&lp, term("foaf", "Document"));
        }
        let lic = d.license_id.as_deref().map(|l| license_iri(base, l));
        if let Some(l) = &lic {
            g.a(l, term("dct", "LicenseDocument"));
        }
        for r in &d.resources {
            let dist = iri(&format!("{base}/dataset/{}/resource/{}", d.name, r.id));
            g.add(&ds, term("dcat", "distribution"), dist.clone());
            g.a(&dist, term("dcat", "Distribution"));
            let url = r.url.as_deref().and_then(valid_iri);
            g.add(
                &dist,
                term("dcat", "accessURL"),
                url.clone().unwrap_or_else(|| ds.clone()),
            );
            if r.kind == ResourceKind::File {
                if let Some(u) = url {
                    g.add(&dist, term("dcat", "downloadURL"), u);
                }
            }
            g.add(&dist, term("dct", "title"), text(&r.name));
            if let Some(x) = &r.description {
                g.add(&dist, term("dct", "description"), text(x));
            }
            if let Some(f) = &r.format {
                let clean: String = f
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect::<String>()
                    .to_uppercase();
                if !clean.is_empty() {
                    let ft = iri(&format!(
                        "http://publications.europa.eu/resource/authority/file-type/{clean}"
                    ));
                    g.add(&dist, term("dct", "format"), ft.clone());
                    g.a(&ft, term("dct", "MediaTypeOrExtent"));
                }
            }
            if let Some(m) = r.mimetype.as_deref().and_then(|m| {
                valid_iri(&format!(
                    "https://www.iana.org/assignments/media-types/{}",
                    m.trim()
                ))
            }) {
                g.add(&dist, term("dcat", "mediaType"), m.clone());
                g.a(&m, term("dct", "MediaType"));
            }
            if let Some(l) = &lic {
                g.add(&dist, term("dct", "license"), l.clone());
            }
            if let Some(sz) = r.size {
                g.add(
                    &dist,
                    term("dcat", "byteSize"),
                    typed(sz.to_string(), "nonNegativeInteger"),
                );
            }
        }
    }
    for (a, name) in agents {
        g.a(&a, term("foaf", "Agent"));
        g.add(&a, term("foaf", "name"), text(&name));
    }
    g.0
}

/// Serialises triples as Turtle with the export's prefixes.
pub fn to_turtle(triples: &[Triple]) -> std::io::Result<String> {
    let mut s = oxttl::TurtleSerializer::new();
    for (p, n) in PREFIXES {
        s = s.with_prefix(*p, *n).map_err(std::io::Error::other)?;
    }
    let mut w = s.for_writer(Vec::new());
    for t in triples {
        w.serialize_triple(t)?;
    }
    String::from_utf8(w.finish()?).map_err(std::io::Error::other)
}

fn compact(iri: &str) -> String {
    for (p, n) in PREFIXES {
        if let Some(local) = iri.strip_prefix(n) {
            if !local.is_empty() && local.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return format!("{p}:{local}");
            }
        }
    }
    iri.to_string()
}

/// Serialises triples as JSON-LD 1.1: `{"@context": prefixes, "@graph": [node objects]}`,
/// with property names and types as compact IRIs.
pub fn to_jsonld(triples: &[Triple]) -> Value {
    let mut nodes: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    let mut order: Vec<String> = Vec::new();
    for t in triples {
        let s = match &t.subject {
            Subject::NamedNode(n) => n.as_str().to_string(),
            Subject::BlankNode(b) => format!("_:{}", b.as_str()),
        };
        let node = nodes.entry(s.clone()).or_insert_with(|| {
            order.push(s.clone());
            let mut m = Map::new();
            m.insert("@id".into(), Value::String(s.clone()));
            m
        });
        let p = t.predicate.as_str();
        if p == "http://www.w3.org/1999/02/22-rdf-syntax-ns#type" {
            if let Term::NamedNode(o) = &t.object {
                let types = node.entry("@type").or_insert_with(|| json!([]));
                if let Value::Array(a) = types {
                    a.push(Value::String(compact(o.as_str())));
                }
            }
            continue;
        }
        let v = match &t.object {
            Term::NamedNode(o) => json!({"@id": o.as_str()}),
            Term::BlankNode(b) => json!({"@id": format!("_:{}", b.as_str())}),
            Term::Literal(l) => match (l.language(), l.datatype().as_str()) {
                (Some(lang), _) => json!({"@value": l.value(), "@language": lang}),
                (None, "http://www.w3.org/2001/XMLSchema#string") => json!(l.value()),
                (None, dt) => json!({"@value": l.value(), "@type": compact(dt)}),
            },
        };
        let e = node.entry(compact(p)).or_insert_with(|| json!([]));
        if let Value::Array(a) = e {
            a.push(v);
        }
    }
    let ctx: Map<String, Value> = PREFIXES
        .iter()
        .map(|(p, n)| (p.to_string(), Value::String(n.to_string())))
        .collect();
    let graph: Vec<Value> = order
        .into_iter()
        .filter_map(|s| nodes.remove(&s))
        .map(Value::Object)
        .collect();
    json!({"@context": ctx, "@graph": graph})
}

/// Paging of the export.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageParams {
    /// Page number, from 1 (default 1).
    #[param(minimum = 1)]
    pub page: Option<usize>,
    /// Datasets per page, 1–1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub per_page: Option<usize>,
}

/// The routes (state: [`Catalog`]).
pub fn routes() -> OpenApiRouter<Catalog> {
    OpenApiRouter::new()
        .routes(routes!(catalog_ttl))
        .routes(routes!(catalog_jsonld))
}

fn base_of(h: &HeaderMap) -> String {
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let proto = h
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|p| *p == "https")
        .unwrap_or("http");
    format!("{proto}://{host}")
}

async fn page_triples(
    c: &Catalog,
    h: &HeaderMap,
    q: &PageParams,
) -> onecity_core::Result<Vec<Triple>> {
    let per_page = q.per_page.unwrap_or(PER_PAGE);
    if !(1..=MAX_PER_PAGE).contains(&per_page) {
        return Err(onecity_core::Error::new(
            onecity_core::ErrorCode::InvalidQuery,
            format!("per_page must be 1-{MAX_PER_PAGE}"),
        ));
    }
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return Err(onecity_core::Error::new(
            onecity_core::ErrorCode::InvalidQuery,
            "page starts at 1",
        ));
    }
    let docs = c.visible_docs(None, false).await?;
    let total = docs.len();
    let slice: Vec<Doc> = docs
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let orgs = c
        .departments()
        .await?
        .into_iter()
        .map(|d| (d.id, (d.code.to_lowercase(), d.name)))
        .collect();
    Ok(catalog_triples(
        &base_of(h),
        &slice,
        total,
        page,
        per_page,
        &orgs,
    ))
}

/// The open catalog as DCAT-AP 3 Turtle, paged (hydra).
#[utoipa::path(get, path = "/catalog.ttl", tag = "catalog", params(PageParams),
    responses((status = 200, description = "text/turtle"), (status = 400, body = onecity_core::Problem)))]
async fn catalog_ttl(
    State(c): State<Catalog>,
    h: HeaderMap,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let t = page_triples(&c, &h, &q).await?;
    let body = to_turtle(&t).map_err(onecity_core::Error::internal)?;
    Ok(([(header::CONTENT_TYPE, "text/turtle; charset=utf-8")], body).into_response())
}

/// The open catalog as DCAT-AP 3 JSON-LD, paged (hydra).
#[utoipa::path(get, path = "/catalog.jsonld", tag = "catalog", params(PageParams),
    responses((status = 200, description = "application/ld+json"), (status = 400, body = onecity_core::Problem)))]
async fn catalog_jsonld(
    State(c): State<Catalog>,
    h: HeaderMap,
    Query(q): Query<PageParams>,
) -> ApiResult<Response> {
    let t = page_triples(&c, &h, &q).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/ld+json")],
        to_jsonld(&t).to_string(),
    )
        .into_response())
}
