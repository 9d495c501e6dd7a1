//! Harvesting: DCAT (Turtle, RDF/XML, JSON-LD) and CKAN (`package_search` or
//! `package_show` JSON) catalogues imported as datasets of one owner department.
//!
//! A harvested dataset keeps where it came from in `source` (its RDF subject IRI, else its
//! landing page, or `urn:ckan:<package id>`); harvesting the same source again into the
//! same tenant updates it in place. Mapping:
//! `dct:title`/`dct:description` (Chinese or untagged text first, then English, as
//! `title`/`title_en`), `dcat:keyword` (every language), `dct:publisher`/`foaf:name`,
//! `dcat:landingPage`, `dct:accrualPeriodicity` (EU frequency IRIs), distributions
//! (`dcat:accessURL`/`downloadURL`, `dct:title`, `dct:description`, `dct:format`,
//! `dcat:mediaType`, `dcat:byteSize`) and `dct:license` (distribution or dataset). Harvested
//! datasets are open data (`open_level` unconditional, domain S) unless the caller changes
//! them later. Limits: 10 MiB of input, 5,000 datasets per call.

use crate::dataset::Catalog;
use crate::model::*;
use crate::store::datasets as store;
use onecity_core::{Error, Result};
use onecity_iam::Principal;
use oxrdf::{NamedOrBlankNode, Term, Triple};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

/// Max input size.
pub const MAX_INPUT: usize = 10 * 1024 * 1024;
/// Max datasets per harvest.
pub const MAX_DATASETS: usize = 5000;

/// Input format of a harvest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HarvestFormat {
    /// DCAT in Turtle.
    Turtle,
    /// DCAT in RDF/XML.
    Rdfxml,
    /// DCAT in JSON-LD (inline contexts only: remote contexts are not fetched).
    Jsonld,
    /// CKAN Action API JSON: a `package_search` envelope or result, a package list, or one package.
    Ckan,
}

/// What a harvest did.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct HarvestReport {
    /// Datasets created.
    pub created: usize,
    /// Datasets updated (same source harvested before).
    pub updated: usize,
    /// Names of the datasets written, in input order.
    pub names: Vec<String>,
    /// Records that could not be imported, with the reason.
    pub skipped: Vec<String>,
}

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
const DCAT: &str = "http://www.w3.org/ns/dcat#";
const DCT: &str = "http://purl.org/dc/terms/";
const FOAF_NAME: &str = "http://xmlns.com/foaf/0.1/name";

struct Graph {
    by_subject: HashMap<String, Vec<(String, Term)>>,
    order: Vec<String>,
}

fn key_of(s: &NamedOrBlankNode) -> String {
    s.to_string()
}

fn term_key(t: &Term) -> Option<String> {
    match t {
        Term::NamedNode(n) => Some(n.to_string()),
        Term::BlankNode(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Graph {
    fn new(triples: Vec<Triple>) -> Graph {
        let mut by_subject: HashMap<String, Vec<(String, Term)>> = HashMap::new();
        let mut order = Vec::new();
        for t in triples {
            let k = key_of(&t.subject);
            let e = by_subject.entry(k.clone()).or_insert_with(|| {
                order.push(k.clone());
                vec![]
            });
            e.push((t.predicate.as_str().to_string(), t.object));
        }
        Graph { by_subject, order }
    }
    fn objects(&self, s: &str, p: &str) -> Vec<&Term> {
        self.by_subject
            .get(s)
            .map(|v| v.iter().filter(|(q, _)| q == p).map(|(_, o)| o).collect())
            .unwrap_or_default()
    }
    /// Literal values of `p` on `s` as (value, language).
    fn literals(&self, s: &str, p: &str) -> Vec<(String, Option<String>)> {
        self.objects(s, p)
            .into_iter()
            .filter_map(|o| match o {
                Term::Literal(l) => Some((
                    l.value().trim().to_string(),
                    l.language().map(|x| x.to_ascii_lowercase()),
                )),
                _ => None,
            })
            .filter(|(v, _)| !v.is_empty())
            .collect()
    }
    /// The preferred text: Chinese, then untagged, then English, then any; and the
    /// English one when it differs.
    fn text(&self, s: &str, p: &str) -> (Option<String>, Option<String>) {
        let lits = self.literals(s, p);
        let pick = |f: &dyn Fn(&Option<String>) -> bool| {
            lits.iter().find(|(_, l)| f(l)).map(|(v, _)| v.clone())
        };
        let main = pick(&|l| l.as_deref().is_some_and(|x| x.starts_with("zh")))
            .or_else(|| pick(&|l| l.is_none()))
            .or_else(|| {
                pick(&|l| {
                    l.as_deref() == Some("en") || l.as_deref().is_some_and(|x| x.starts_with("en-"))
                })
            })
            .or_else(|| lits.first().map(|(v, _)| v.clone()));
        let en = pick(&|l| {
            l.as_deref()
                .is_some_and(|x| x == "en" || x.starts_with("en-"))
        })
        .filter(|e| Some(e) != main.as_ref());
        (main, en)
    }
    /// First IRI or literal value of `p` on `s`.
    fn iri_or_text(&self, s: &str, p: &str) -> Option<String> {
        self.objects(s, p).into_iter().find_map(|o| match o {
            Term::NamedNode(n) => Some(n.as_str().to_string()),
            Term::Literal(l) if !l.value().trim().is_empty() => Some(l.value().trim().to_string()),
            _ => None,
        })
    }
}

fn parse_rdf(format: HarvestFormat, body: &[u8]) -> Result<Vec<Triple>> {
    let bad = |e: String| Error::invalid(format!("the {format:?} input does not parse: {e}"));
    match format {
        HarvestFormat::Turtle => oxttl::TurtleParser::new()
            .for_slice(body)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string())),
        HarvestFormat::Rdfxml => oxrdfxml::RdfXmlParser::new()
            .for_slice(body)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string())),
        HarvestFormat::Jsonld => oxjsonld::JsonLdParser::new()
            .for_slice(body)
            .map(|q| q.map(Triple::from))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string())),
        HarvestFormat::Ckan => Err(Error::invalid("not an RDF format")),
    }
}

fn last_segment(s: &str) -> String {
    s.trim_end_matches('/')
        .rsplit(['/', '#'])
        .next()
        .unwrap_or(s)
        .to_string()
}

fn frequency_of(iri: &str) -> Frequency {
    let l = last_segment(iri).to_ascii_uppercase();
    match l.as_str() {
        "DAILY" | "R/P1D" => Frequency::Daily,
        "WEEKLY" | "R/P1W" => Frequency::Weekly,
        "MONTHLY" | "R/P1M" => Frequency::Monthly,
        "QUARTERLY" | "R/P3M" => Frequency::Quarterly,
        "ANNUAL" | "R/P1Y" => Frequency::Yearly,
        "UPDATE_CONT" | "CONT" | "CONTINUOUS" => Frequency::Realtime,
        "NEVER" => Frequency::Never,
        _ => Frequency::Irregular,
    }
}

/// A harvested record before it is written.
struct Record {
    source: String,
    name: Option<String>,
    n: NewDataset,
}

fn dcat_records(g: &Graph, owner: Uuid) -> Vec<Record> {
    let mut out = Vec::new();
    for s in &g.order {
        let is_dataset = g
            .objects(s, RDF_TYPE)
            .iter()
            .any(|t| matches!(t, Term::NamedNode(n) if n.as_str() == format!("{DCAT}Dataset")));
        if !is_dataset {
            continue;
        }
        let (title, title_en) = g.text(s, &format!("{DCT}title"));
        let Some(title) = title else { continue };
        let (notes, notes_en) = g.text(s, &format!("{DCT}description"));
        let mut tags: Vec<String> = Vec::new();
        for (k, _) in g.literals(s, &format!("{DCAT}keyword")) {
            let k: String = k.chars().take(100).collect();
            if !tags.contains(&k) {
                tags.push(k);
            }
        }
        tags.truncate(crate::dataset::MAX_TAGS);
        let publisher = g
            .objects(s, &format!("{DCT}publisher"))
            .into_iter()
            .find_map(|p| match p {
                Term::Literal(l) => Some(l.value().to_string()),
                other => term_key(other).and_then(|k| g.text(&k, FOAF_NAME).0),
            });
        let landing = g.iri_or_text(s, &format!("{DCAT}landingPage"));
        let freq = g
            .iri_or_text(s, &format!("{DCT}accrualPeriodicity"))
            .map(|f| frequency_of(&f));
        let mut license = g.iri_or_text(s, &format!("{DCT}license"));
        let mut resources = Vec::new();
        for d in g.objects(s, &format!("{DCAT}distribution")) {
            let Some(dk) = term_key(d) else { continue };
            let url = g
                .iri_or_text(&dk, &format!("{DCAT}downloadURL"))
                .or_else(|| g.iri_or_text(&dk, &format!("{DCAT}accessURL")));
            let format = g
                .objects(&dk, &format!("{DCT}format"))
                .into_iter()
                .find_map(|f| match f {
                    Term::NamedNode(n) => Some(last_segment(n.as_str())),
                    Term::Literal(l) => Some(l.value().to_string()),
                    Term::BlankNode(b) => g
                        .iri_or_text(
                            &b.to_string(),
                            "http://www.w3.org/1999/02/22-rdf-syntax-ns#value",
                        )
                        .or_else(|| {
                            g.iri_or_text(
                                &b.to_string(),
                                "http://www.w3.org/2000/01/rdf-schema#label",
                            )
                        }),
                    #[allow(unreachable_patterns)]
                    _ => None,
                });
            let mimetype = g.iri_or_text(&dk, &format!("{DCAT}mediaType")).map(|m| {
                m.strip_prefix("https://www.iana.org/assignments/media-types/")
                    .or_else(|| m.strip_prefix("http://www.iana.org/assignments/media-types/"))
                    .unwrap_or(&m)
                    .to_string()
            });
            if license.is_none() {
                license = g.iri_or_text(&dk, &format!("{DCT}license"));
            }
            let size = g
                .literals(&dk, &format!("{DCAT}byteSize"))
                .first()
                .and_then(|(v, _)| v.parse::<f64>().ok())
                .map(|x| x as i64);
            resources.push(NewResource {
                id: None,
                name: g
                    .text(&dk, &format!("{DCT}title"))
                    .0
                    .map(|t| t.chars().take(200).collect()),
                description: g.text(&dk, &format!("{DCT}description")).0,
                url: url.filter(|u| u.len() <= 2000),
                format: format.map(|f| f.chars().take(50).collect()),
                mimetype,
                kind: Some(ResourceKind::File),
                size,
            });
        }
        resources.truncate(crate::dataset::MAX_RESOURCES);
        let source = if s.starts_with('<') {
            s.trim_matches(['<', '>']).to_string()
        } else {
            landing
                .clone()
                .unwrap_or_else(|| format!("urn:dcat:{title}"))
        };
        out.push(Record {
            source: source.clone(),
            name: None,
            n: NewDataset {
                name: None,
                title: title.chars().take(500).collect(),
                title_en: title_en.map(|t| t.chars().take(500).collect()),
                notes,
                notes_en,
                owner_department_id: owner,
                domain: Some(Domain::S),
                open_level: Some(OpenLevel::Unconditional),
                update_frequency: freq,
                license_id: license.map(|l| l.chars().take(200).collect()),
                publisher: publisher.map(|p| p.chars().take(500).collect()),
                source: Some(landing.unwrap_or(source)).filter(|x| x.len() <= 2000),
                tags,
                resources,
                ..Default::default()
            },
        });
    }
    out
}

fn ckan_packages(v: &Value) -> Result<Vec<&Value>> {
    let v = if v.get("success").is_some() {
        v.get("result").unwrap_or(&Value::Null)
    } else {
        v
    };
    if let Some(a) = v.get("results").and_then(Value::as_array) {
        return Ok(a.iter().collect());
    }
    if let Some(a) = v.as_array() {
        return Ok(a.iter().collect());
    }
    if v.get("name").is_some() || v.get("title").is_some() {
        return Ok(vec![v]);
    }
    Err(Error::invalid("CKAN input must be a package_search envelope or result, a list of packages, or one package"))
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

fn ckan_records(v: &Value, owner: Uuid) -> Result<Vec<Record>> {
    let mut out = Vec::new();
    for p in ckan_packages(v)? {
        let Some(title) = s(p, "title").or_else(|| s(p, "name")) else {
            continue;
        };
        let tags = p
            .get("tags")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|t| t.get("name").and_then(Value::as_str).or(t.as_str()))
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .take(crate::dataset::MAX_TAGS)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let resources = p
            .get("resources")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .take(crate::dataset::MAX_RESOURCES)
                    .map(|r| NewResource {
                        id: None,
                        name: s(r, "name").map(|t| t.chars().take(200).collect()),
                        description: s(r, "description"),
                        url: s(r, "url").filter(|u| u.len() <= 2000),
                        format: s(r, "format"),
                        mimetype: s(r, "mimetype"),
                        kind: Some(ResourceKind::File),
                        size: r.get("size").and_then(Value::as_i64).filter(|x| *x >= 0),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let publisher = p
            .get("organization")
            .and_then(|o| s(o, "title"))
            .or_else(|| s(p, "author"))
            .or_else(|| s(p, "maintainer"));
        let id = s(p, "id").unwrap_or_else(|| title.clone());
        let name = s(p, "name").filter(|n| crate::slug::check(n).is_ok());
        out.push(Record {
            source: format!("urn:ckan:{id}"),
            name,
            n: NewDataset {
                name: None,
                title: title.chars().take(500).collect(),
                notes: s(p, "notes"),
                owner_department_id: owner,
                domain: Some(Domain::S),
                open_level: Some(if p.get("private").and_then(Value::as_bool) == Some(true) {
                    OpenLevel::NotOpen
                } else {
                    OpenLevel::Unconditional
                }),
                license_id: s(p, "license_id")
                    .or_else(|| s(p, "license_title"))
                    .map(|l| l.chars().take(200).collect()),
                version: s(p, "version").map(|l| l.chars().take(100).collect()),
                publisher,
                source: s(p, "url").filter(|u| u.len() <= 2000),
                tags,
                resources,
                ..Default::default()
            },
        });
    }
    Ok(out)
}

impl Catalog {
    /// Harvests `body` in `format` into datasets owned by department `owner`. Each record
    /// is written in its own transaction (audited like any change); records that fail
    /// validation are listed in `skipped`. Errors: `invalid_input` (input does not parse,
    /// too large, too many datasets), `forbidden`.
    pub async fn harvest(
        &self,
        p: &Principal,
        owner: Uuid,
        format: HarvestFormat,
        body: &[u8],
    ) -> Result<HarvestReport> {
        if body.len() > MAX_INPUT {
            return Err(Error::invalid(format!(
                "harvest input is larger than {MAX_INPUT} bytes"
            )));
        }
        let dept = self.owner_dept(owner).await?;
        let records = match format {
            HarvestFormat::Ckan => {
                let v: Value = serde_json::from_slice(body)
                    .map_err(|e| Error::invalid(format!("CKAN input is not JSON: {e}")))?;
                ckan_records(&v, owner)?
            }
            f => dcat_records(&Graph::new(parse_rdf(f, body)?), owner),
        };
        if records.len() > MAX_DATASETS {
            return Err(Error::invalid(format!(
                "at most {MAX_DATASETS} datasets per harvest"
            )));
        }
        let mut rep = HarvestReport::default();
        for mut r in records {
            r.n.source = Some(r.source.clone()).filter(|x| x.len() <= 2000);
            let existing =
                store::active_dataset_by_source(self.iam.db(), &dept.tenant, &r.source).await?;
            let res = match existing {
                Some(id) => self
                    .update(p, &id.to_string(), &r.n)
                    .await
                    .map(|d| (d, false)),
                None => {
                    if let Some(name) = &r.name {
                        let taken = store::dataset_id_by_name(self.iam.db(), name)
                            .await?
                            .is_some();
                        if !taken {
                            r.n.name = Some(name.clone());
                        }
                    }
                    self.create(p, None, &r.n).await.map(|d| (d, true))
                }
            };
            match res {
                Ok((d, created)) => {
                    if created {
                        rep.created += 1;
                    } else {
                        rep.updated += 1;
                    }
                    rep.names.push(d.name);
                }
                Err(e) if e.code == onecity_core::ErrorCode::Forbidden => return Err(e),
                Err(e) => rep.skipped.push(format!("{}: {}", r.source, e.detail)),
            }
        }
        Ok(rep)
    }
}

/// The real catalogue fixtures of the shared data folder that the demo harvests:
/// (path under `catalog/`, format).
pub const DEMO_FILES: &[(&str, HarvestFormat)] = &[
    ("ckanext-dcat/dcat/catalog.rdf", HarvestFormat::Rdfxml),
    (
        "ckanext-dcat/dcat/dataset_gov_de.rdf",
        HarvestFormat::Rdfxml,
    ),
    (
        "ckanext-dcat/dcat/dataset_sweden.rdf",
        HarvestFormat::Rdfxml,
    ),
    ("ckanext-dcat/dcat/dataset_deri.ttl", HarvestFormat::Turtle),
    ("ckanext-dcat/dcat/dataset_afs.ttl", HarvestFormat::Turtle),
    (
        "ckanext-dcat/dcat/dataset_health_no_blank.ttl",
        HarvestFormat::Turtle,
    ),
    (
        "ckanext-dcat/dcat/dataset_gob_es.ttl",
        HarvestFormat::Turtle,
    ),
    (
        "ckanext-dcat/dcat/dataset_multilingual.ttl",
        HarvestFormat::Turtle,
    ),
    (
        "ckanext-dcat/dcat/catalog_with_at_graph.jsonld",
        HarvestFormat::Jsonld,
    ),
    ("birmingham_package_search.json", HarvestFormat::Ckan),
];

impl Catalog {
    /// Demo catalog: harvests [`DEMO_FILES`] from `<data_dir>/catalog` into department
    /// `harvest_owner`, and describes a few of a city's own datasets (Chinese and English
    /// text, P/G/S, grades, personal fields) owned by `own` (department ids in order:
    /// transport, water, police). Skips itself when the tenant already has datasets.
    /// Returns the number of datasets written.
    pub async fn load_demo(
        &self,
        data_dir: &std::path::Path,
        harvest_owner: Uuid,
        own: &[Uuid],
    ) -> Result<usize> {
        let dept = self.owner_dept(harvest_owner).await?;
        let n = store::count_datasets(self.iam.db(), &dept.tenant).await?;
        if n > 0 {
            return Ok(0);
        }
        let system = Principal::system();
        let mut written = 0;
        for (rel, fmt) in DEMO_FILES {
            let path = data_dir.join("catalog").join(rel);
            let body = std::fs::read(&path)
                .map_err(|e| Error::invalid(format!("{}: {e}", path.display())))?;
            let rep = self.harvest(&system, harvest_owner, *fmt, &body).await?;
            written += rep.created + rep.updated;
        }
        let f = |name: &str, t: FieldType, personal: bool, title: &str| Field {
            name: name.into(),
            title: Some(title.into()),
            field_type: t,
            unit: None,
            code_table: None,
            personal,
            description: None,
        };
        let own_sets: Vec<(usize, NewDataset)> = vec![
            (
                0,
                NewDataset {
                    name: None,
                    title: "杭州市公交线路与站点".into(),
                    title_en: Some("Hangzhou bus routes and stops".into()),
                    notes: Some("全市公交线路、站点位置与首末班时间，每月更新。".into()),
                    notes_en: Some(
                        "Bus routes, stop locations and first/last departures, updated monthly."
                            .into(),
                    ),
                    domain: Some(Domain::S),
                    topic: Some("transport".into()),
                    open_level: Some(OpenLevel::Unconditional),
                    update_frequency: Some(Frequency::Monthly),
                    license_id: Some("cc-by-4.0".into()),
                    tags: vec!["公交".into(), "交通".into(), "bus".into()],
                    fields: vec![
                        f("line", FieldType::Text, false, "线路"),
                        f("stop", FieldType::Text, false, "站点"),
                        f("lon", FieldType::Number, false, "经度"),
                        f("lat", FieldType::Number, false, "纬度"),
                    ],
                    resources: vec![NewResource {
                        name: Some("线路与站点 CSV".into()),
                        format: Some("CSV".into()),
                        kind: Some(ResourceKind::Datastore),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ),
            (
                1,
                NewDataset {
                    name: None,
                    title: "河道水位实时监测".into(),
                    title_en: Some("River water levels (real time)".into()),
                    notes: Some("主要河道水位站的实时水位，用于防汛预警。".into()),
                    domain: Some(Domain::G),
                    topic: Some("environment".into()),
                    open_level: Some(OpenLevel::Conditional),
                    update_frequency: Some(Frequency::Realtime),
                    grade: Some(Grade::Important),
                    sensitivity: Some(2),
                    tags: vec!["水位".into(), "防汛".into()],
                    fields: vec![
                        f("station", FieldType::Text, false, "测站"),
                        Field {
                            unit: Some("m".into()),
                            ..f("level", FieldType::Number, false, "水位")
                        },
                        f("observed_at", FieldType::Datetime, false, "观测时间"),
                    ],
                    resources: vec![NewResource {
                        name: Some("水位接口 API".into()),
                        format: Some("API".into()),
                        kind: Some(ResourceKind::Api),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ),
            (
                2,
                NewDataset {
                    name: None,
                    title: "常住人口基础信息".into(),
                    title_en: Some("Resident population register".into()),
                    notes: Some("人口基础库（公共基础数据），仅按授权共享，个人信息脱敏。".into()),
                    domain: Some(Domain::P),
                    topic: Some("population".into()),
                    open_level: Some(OpenLevel::NotOpen),
                    update_frequency: Some(Frequency::Daily),
                    grade: Some(Grade::Important),
                    sensitivity: Some(4),
                    tags: vec!["人口".into()],
                    fields: vec![
                        f("name", FieldType::Text, true, "姓名"),
                        Field {
                            code_table: Some("GB 11643".into()),
                            ..f("id_number", FieldType::Text, true, "公民身份号码")
                        },
                        f("phone", FieldType::Text, true, "手机号码"),
                        Field {
                            code_table: Some("GB/T 2260".into()),
                            ..f("district", FieldType::Text, false, "所属区县")
                        },
                    ],
                    resources: vec![NewResource {
                        name: Some("人口表".into()),
                        kind: Some(ResourceKind::Datastore),
                        ..Default::default()
                    }],
                    ..Default::default()
                },
            ),
        ];
        for (i, mut n) in own_sets {
            let Some(owner) = own.get(i) else { continue };
            n.owner_department_id = *owner;
            self.create(&system, None, &n).await?;
            written += 1;
        }
        Ok(written)
    }
}
