//! The Q&A assistant over the guides (智能客服): a citizen asks in Chinese or English and
//! gets the guide sections that answer it (item code, title, which section, a snippet, a
//! link to the guide), or, when the question is not answered well enough, "not found"
//! and a hand-off to the 12345 hotline. It never writes an answer of its own: every
//! answer is a section of a published guide, retrieved as it stands (GOV.UK Chat's
//! lesson: hand off what it cannot answer, never invent).
//!
//! Retrieval runs on the shared engine `onecity-search`: each tenant's published guides
//! are [`GuideDoc`]s in one index, matched with BM25F over their fields (title, keywords,
//! conditions, materials, the practical sections, legal basis, department). A question is
//! analysed by [`text`]: stop phrases out, CJK bigrams (the engine's tokens), English
//! plurals stemmed, and colloquial phrases mapped to the guides' words from the data file
//! `assistant/lexicon.json` (生娃 → 出生, 上户口 → 户口登记). No model weights and no
//! dictionary segmenter: docs/services.md, "Assistant (智能客服)", has the measurements
//! behind that choice and the evaluation ([`eval`]).
//!
//! Visibility: only items given to [`Assistant::index_items`] as published are indexed,
//! per tenant; a question names its tenant and is answered from that tenant's index only,
//! and each hit is checked again against its document's visibility key before it is shown.

pub mod data;
pub mod eval;
pub mod http;
pub mod text;

use onecity_core::{Error, Result};
use onecity_search::rank;
use onecity_search::{Bm25, Document, Field, Index, QueryTerm, Visibility};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use text::{analyse, stem_text, AnalyseOptions, Analysed, Lexicon};

/// The hotline a citizen is handed to when the assistant does not know (12345 政务服务便民
/// 热线).
pub const HOTLINE: &str = "12345";

/// The longest question accepted, in characters.
pub const MAX_QUESTION_CHARS: usize = 500;

/// The most answers returned for one question.
pub const MAX_ANSWERS: usize = 3;

/// The most hits one item search returns.
pub const MAX_SEARCH_LIMIT: usize = 50;

/// A section of a guide (办事指南).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SectionKind {
    /// 受理条件: who may apply, on what conditions.
    Conditions,
    /// 申请材料: the materials to bring or upload.
    Materials,
    /// 收费标准: fees.
    Fees,
    /// 办理时限: legal and promised time limits.
    TimeLimits,
    /// 办理地点: where to go, channels.
    Where,
    /// 设定依据: the law and article.
    LegalBasis,
}

impl SectionKind {
    /// Every section, in the order a guide shows them.
    pub const ALL: [SectionKind; 6] = [
        SectionKind::Conditions,
        SectionKind::Materials,
        SectionKind::Fees,
        SectionKind::TimeLimits,
        SectionKind::Where,
        SectionKind::LegalBasis,
    ];

    /// The section's heading in `lang` (`en`, else Chinese).
    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SectionKind::Conditions, Lang::Zh) => "受理条件",
            (SectionKind::Materials, Lang::Zh) => "申请材料",
            (SectionKind::Fees, Lang::Zh) => "收费标准",
            (SectionKind::TimeLimits, Lang::Zh) => "办理时限",
            (SectionKind::Where, Lang::Zh) => "办理地点",
            (SectionKind::LegalBasis, Lang::Zh) => "设定依据",
            (SectionKind::Conditions, Lang::En) => "Conditions",
            (SectionKind::Materials, Lang::En) => "Materials",
            (SectionKind::Fees, Lang::En) => "Fees",
            (SectionKind::TimeLimits, Lang::En) => "Time limits",
            (SectionKind::Where, Lang::En) => "Where to go",
            (SectionKind::LegalBasis, Lang::En) => "Legal basis",
        }
    }

    /// The guide page's anchor of the section (`/hall/items/{code}#materials`).
    pub fn anchor(self) -> &'static str {
        match self {
            SectionKind::Conditions => "conditions",
            SectionKind::Materials => "materials",
            SectionKind::Fees => "fees",
            SectionKind::TimeLimits => "time-limits",
            SectionKind::Where => "where",
            SectionKind::LegalBasis => "legal-basis",
        }
    }
}

/// The language of a question and its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Chinese.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language of `question` when the asker does not say: Chinese when it holds any
    /// CJK character.
    pub fn guess(question: &str) -> Lang {
        if question.chars().any(onecity_search::is_cjk) {
            Lang::Zh
        } else {
            Lang::En
        }
    }
}

/// One section of a guide, in both languages (either may be empty).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuideSection {
    /// Which section.
    pub kind: SectionKind,
    /// Chinese text.
    pub zh: String,
    /// English text.
    pub en: String,
}

/// A guide as the assistant indexes it: one published service item (事项) with its
/// sections. Built from the item data ([`data`]) or from the live published items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuideItem {
    /// Item code (GB/T 39554.1 structure), the key of the guide page `/hall/items/{code}`.
    pub code: String,
    /// Name in Chinese.
    pub name_zh: String,
    /// Name in English.
    pub name_en: String,
    /// Owner department, Chinese.
    pub department_zh: String,
    /// Owner department, English.
    pub department_en: String,
    /// Life events, topics and other names the item is known by (both languages).
    pub keywords: Vec<String>,
    /// The guide's sections.
    pub sections: Vec<GuideSection>,
    /// Published: only published items are ever indexed (drafts and withdrawn items are
    /// not).
    pub published: bool,
}

impl GuideItem {
    /// The text of section `kind` in `lang`, falling back to the other language.
    pub fn section_text(&self, kind: SectionKind, lang: Lang) -> Option<&str> {
        let s = self.sections.iter().find(|s| s.kind == kind)?;
        let (first, second) = match lang {
            Lang::Zh => (&s.zh, &s.en),
            Lang::En => (&s.en, &s.zh),
        };
        [first, second]
            .into_iter()
            .find(|t| !t.trim().is_empty())
            .map(String::as_str)
    }

    /// The item's name in `lang` (falling back to Chinese).
    pub fn name(&self, lang: Lang) -> &str {
        match lang {
            Lang::En if !self.name_en.is_empty() => &self.name_en,
            _ => &self.name_zh,
        }
    }

    /// The department's name in `lang` (falling back to Chinese).
    pub fn department(&self, lang: Lang) -> &str {
        match lang {
            Lang::En if !self.department_en.is_empty() => &self.department_en,
            _ => &self.department_zh,
        }
    }
}

/// Field slots of [`GuideDoc`].
const F_TITLE: usize = 0;
const F_KEYWORDS: usize = 1;
const F_CONDITIONS: usize = 2;
const F_MATERIALS: usize = 3;
const F_PRACTICAL: usize = 4;
const F_LEGAL: usize = 5;
const F_DEPARTMENT: usize = 6;

/// A guide in the engine: the item, its tenant, and its texts as indexed (English
/// plurals stemmed, see [`text::stem_text`]).
pub struct GuideDoc {
    ordinal: u32,
    tenant: String,
    /// The item.
    pub item: Arc<GuideItem>,
    texts: Vec<(usize, String)>,
}

impl GuideDoc {
    fn new(ordinal: u32, tenant: &str, item: Arc<GuideItem>) -> Self {
        let mut texts = vec![
            (F_TITLE, stem_text(&item.name_zh)),
            (F_TITLE, stem_text(&item.name_en)),
            (F_DEPARTMENT, stem_text(&item.department_zh)),
            (F_DEPARTMENT, stem_text(&item.department_en)),
        ];
        for k in &item.keywords {
            texts.push((F_KEYWORDS, stem_text(k)));
        }
        for s in &item.sections {
            let slot = match s.kind {
                SectionKind::Conditions => F_CONDITIONS,
                SectionKind::Materials => F_MATERIALS,
                SectionKind::LegalBasis => F_LEGAL,
                SectionKind::Fees | SectionKind::TimeLimits | SectionKind::Where => F_PRACTICAL,
            };
            texts.push((slot, stem_text(&s.zh)));
            texts.push((slot, stem_text(&s.en)));
        }
        texts.retain(|(_, t)| !t.trim().is_empty());
        Self {
            ordinal,
            tenant: tenant.to_string(),
            item,
            texts,
        }
    }
}

impl Document for GuideDoc {
    type Id = u32;

    const FIELDS: &'static [Field] = &[
        Field {
            name: "title",
            weight: 8.0,
        },
        Field {
            name: "keywords",
            weight: 2.0,
        },
        Field {
            name: "conditions",
            weight: 1.0,
        },
        Field {
            name: "materials",
            weight: 0.7,
        },
        Field {
            name: "fees, time limits, where",
            weight: 0.3,
        },
        Field {
            name: "legal basis",
            weight: 0.5,
        },
        Field {
            name: "department",
            weight: 0.5,
        },
    ];

    fn id(&self) -> u32 {
        self.ordinal
    }

    fn text_fields(&self, out: &mut dyn FnMut(usize, &str)) {
        for (slot, text) in &self.texts {
            out(*slot, text);
        }
    }

    fn facet_values(&self, facet: &str) -> Vec<String> {
        match facet {
            "department" => vec![self.item.department_zh.clone()],
            "code" => vec![self.item.code.clone()],
            _ => vec![],
        }
    }

    /// Public and live when published: a guide is for everyone or for no one.
    fn visibility(&self) -> Visibility<'_> {
        Visibility {
            tenant: &self.tenant,
            path: "",
            public: true,
            live: self.item.published,
        }
    }
}

/// How questions are ranked and when the assistant says it does not know; the shipped
/// values were chosen on the tune split of the evaluation ([`eval`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Tuning {
    /// Question analysis.
    pub analyse: AnalyseOptions,
    /// Ranking.
    pub bm25: Bm25,
    /// Below this confidence (see [`Ranked::confidence`]) the answer is "not found".
    pub min_confidence: f32,
    /// Answers after the first are shown only when their score is at least this share of
    /// the first's.
    pub relative_cutoff: f32,
    /// Share of the rarest possible term's weight that a question's unknown terms (found
    /// in no guide) count in the confidence's denominator.
    pub unknown_term_share: f32,
    /// Score factor of a main item (sub-item element `000` of its code) over its
    /// variants (补发、换发, 注销 …): a question that does not name a variant's own words
    /// means the main item.
    pub main_item_boost: f32,
    /// How the ranking above is combined with the plain BM25 baseline's (no synonyms,
    /// no field weights); [`Fusion::None`]: not at all.
    pub fusion: Fusion,
}

/// Combining the tuned ranking (BM25F with synonyms) with the plain BM25 ranking of the
/// asker's own words. The lexicon lifts questions whose colloquial words it holds and
/// can pull a question it only half covers towards a wrong item; plain BM25 is steadier
/// on words the lexicon does not know. Fusing keeps an item that either ranking puts
/// high near the top.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fusion {
    /// The tuned ranking alone.
    None,
    /// Reciprocal rank fusion (Cormack, Clarke and Büttcher, "Reciprocal Rank Fusion
    /// outperforms Condorcet and individual Rank Learning Methods", SIGIR 2009): an item's
    /// score is `1/(k + rank)` in the tuned ranking plus `plain_weight/(k + rank)` in the
    /// plain one (ranks from 1; an item missing from a ranking gets nothing from it).
    Rrf {
        /// The rank offset `k` (60 in the paper).
        k: f32,
        /// Weight of the plain ranking (the tuned one weighs 1).
        plain_weight: f32,
    },
    /// Score sum: each ranking's scores divided by its first score, the plain ones
    /// multiplied by `plain_weight`, summed per item (CombSUM over max-normalised
    /// scores).
    Sum {
        /// Weight of the plain ranking (the tuned one weighs 1).
        plain_weight: f32,
    },
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            analyse: AnalyseOptions::default(),
            bm25: Bm25::fielded(),
            min_confidence: 0.2,
            relative_cutoff: 0.5,
            unknown_term_share: 0.25,
            main_item_boost: 1.1,
            fusion: Fusion::Sum { plain_weight: 0.5 },
        }
    }
}

impl Tuning {
    /// The baseline of the evaluation: the same tokens, plain BM25 over all fields as one
    /// text, no synonyms, no main-item preference.
    pub fn baseline() -> Self {
        Self {
            analyse: AnalyseOptions {
                synonyms: false,
                ..AnalyseOptions::default()
            },
            bm25: Bm25::plain(),
            main_item_boost: 1.0,
            fusion: Fusion::None,
            ..Self::default()
        }
    }
}

/// Guides ranked for a question.
#[derive(Debug, Clone)]
pub struct Ranked {
    /// Items by score, highest first (ties by code).
    pub hits: Vec<(Arc<GuideItem>, f32)>,
    /// The first hit's score over the most a guide could score for the question's terms
    /// (each term's weight × idf; terms in no guide count [`Tuning::unknown_term_share`]
    /// of the highest idf): about the share of the question the best guide answers.
    pub confidence: f32,
    /// The analysed question.
    pub analysed: Analysed,
}

/// One answer: a section of a guide.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AnswerSection {
    /// Item code.
    pub code: String,
    /// Item name in the answer's language.
    pub title: String,
    /// Owner department in the answer's language.
    pub department: String,
    /// The section that answers.
    pub section: SectionKind,
    /// The section's heading in the answer's language.
    pub section_title: String,
    /// The section's text, or the part of it around the question's words (at most about
    /// 160 characters; `…` marks a cut).
    pub snippet: String,
    /// The guide page, with the section's anchor: `/hall/items/{code}#{section}`.
    pub link: String,
    /// Ranking score (relative; for ordering only).
    pub score: f32,
}

/// The hand-off when the assistant does not know.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Handoff {
    /// The hotline to call: `12345`.
    pub hotline: String,
    /// What to tell the asker, in the answer's language.
    pub message: String,
}

/// The assistant's reply.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Reply {
    /// True when `answers` holds at least one guide section.
    pub found: bool,
    /// The language of the reply.
    pub lang: Lang,
    /// Guide sections, best first (at most [`MAX_ANSWERS`]); empty when not found.
    pub answers: Vec<AnswerSection>,
    /// Present when not found: whom to ask instead.
    pub handoff: Option<Handoff>,
    /// The confidence of the first answer (see [`Ranked::confidence`]), 0–1.
    pub confidence: f32,
}

/// One hit of the hall's item search.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ItemHit {
    /// Item code.
    pub code: String,
    /// Item name in the requested language.
    pub title: String,
    /// Owner department in the requested language.
    pub department: String,
    /// The guide page: `/hall/items/{code}`.
    pub link: String,
    /// Ranking score (relative).
    pub score: f32,
}

struct TenantGuides {
    index: Index<GuideDoc>,
    indexed_at: std::time::Instant,
}

/// The assistant: one guide index per tenant; cheap to clone.
#[derive(Clone, Default)]
pub struct Assistant {
    tenants: Arc<RwLock<HashMap<String, Arc<TenantGuides>>>>,
    tuning: Arc<Tuning>,
}

impl Assistant {
    /// An assistant with the shipped tuning and no guides.
    pub fn new() -> Self {
        Self::default()
    }

    /// An assistant with `tuning` (evaluation and experiments).
    pub fn with_tuning(tuning: Tuning) -> Self {
        Self {
            tenants: Arc::default(),
            tuning: Arc::new(tuning),
        }
    }

    /// Replaces `tenant`'s guides with the published ones of `items` (drafts and
    /// withdrawn items are skipped); returns how many were indexed. Call it whenever the
    /// tenant's published items change.
    pub fn index_items(&self, tenant: &str, items: impl IntoIterator<Item = GuideItem>) -> usize {
        let index = Index::new();
        {
            let mut w = index.write();
            for (ordinal, item) in (0u32..).zip(items.into_iter().filter(|i| i.published)) {
                w.put(GuideDoc::new(ordinal, tenant, Arc::new(item)));
            }
        }
        let n = index.len();
        self.tenants
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                tenant.to_string(),
                Arc::new(TenantGuides {
                    index,
                    indexed_at: std::time::Instant::now(),
                }),
            );
        n
    }

    /// How long ago `tenant`'s guides were indexed (`None`: never).
    pub fn indexed_age(&self, tenant: &str) -> Option<std::time::Duration> {
        self.guides(tenant).map(|g| g.indexed_at.elapsed())
    }

    /// Number of guides indexed for `tenant`.
    pub fn guide_count(&self, tenant: &str) -> usize {
        self.guides(tenant).map_or(0, |g| g.index.len())
    }

    fn guides(&self, tenant: &str) -> Option<Arc<TenantGuides>> {
        self.tenants
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
            .cloned()
    }

    /// Ranks `tenant`'s visible guides for `question` with this assistant's tuning.
    pub fn rank(&self, tenant: &str, question: &str) -> Ranked {
        self.rank_with(tenant, question, Lexicon::shipped())
    }

    /// Ranks as [`Assistant::rank`] with `lexicon` in place of the shipped one (the
    /// evaluation's leave-one-out check, [`eval::evaluate_leave_one_out`]).
    pub fn rank_with(&self, tenant: &str, question: &str, lexicon: &Lexicon) -> Ranked {
        let tuning = &*self.tuning;
        let analysed = analyse(question, lexicon, &tuning.analyse);
        let Some(guides) = self.guides(tenant) else {
            return Ranked {
                hits: Vec::new(),
                confidence: 0.0,
                analysed,
            };
        };
        let reader = guides.index.read();
        let n = reader.len() as f32;
        let idf = |df: usize| (1.0 + (n - df as f32 + 0.5) / (df as f32 + 0.5)).ln();
        let mut most = 0.0f32;
        for t in &analysed.terms {
            let df = reader.doc_freq(&t.term);
            most += if df == 0 {
                tuning.unknown_term_share * t.weight * idf(0)
            } else {
                t.weight * idf(df)
            };
        }
        let scored = ranked_guides(
            &reader,
            tenant,
            &analysed.terms,
            &tuning.bm25,
            tuning.main_item_boost,
        );
        let confidence = match scored.first() {
            Some((_, s)) if most > 0.0 => (s / most).min(1.0),
            _ => 0.0,
        };
        let hits = match tuning.fusion {
            Fusion::None => scored,
            fusion => {
                let plain_terms = analyse(
                    question,
                    lexicon,
                    &AnalyseOptions {
                        synonyms: false,
                        ..tuning.analyse
                    },
                )
                .terms;
                let plain = ranked_guides(&reader, tenant, &plain_terms, &Bm25::plain(), 1.0);
                fuse(scored, plain, fusion)
            }
        };
        Ranked {
            hits: hits.into_iter().map(|(d, s)| (d.item.clone(), s)).collect(),
            confidence,
            analysed,
        }
    }

    /// Answers `question` for `tenant` in `lang` (guessed from the question when `None`):
    /// up to [`MAX_ANSWERS`] guide sections, or not found with the 12345 hand-off when
    /// the confidence is below [`Tuning::min_confidence`] or nothing matches. A tenant with
    /// no guides indexed gets "not found".
    ///
    /// Errors: `invalid_input` (field `question`) for an empty question or one longer than
    /// [`MAX_QUESTION_CHARS`] characters.
    pub fn ask(&self, tenant: &str, question: &str, lang: Option<Lang>) -> Result<Reply> {
        let question = check_text(question, "question")?;
        let lang = lang.unwrap_or_else(|| Lang::guess(question));
        let ranked = self.rank(tenant, question);
        let tuning = &*self.tuning;
        let top = ranked.hits.first().map_or(0.0, |(_, s)| *s);
        if ranked.hits.is_empty() || ranked.confidence < tuning.min_confidence {
            return Ok(Reply {
                found: false,
                lang,
                answers: Vec::new(),
                handoff: Some(handoff(lang)),
                confidence: ranked.confidence,
            });
        }
        let answers = ranked
            .hits
            .iter()
            .take(MAX_ANSWERS)
            .filter(|(_, s)| *s >= tuning.relative_cutoff * top)
            .map(|(item, s)| answer_section(item, &ranked.analysed, lang, *s))
            .collect();
        Ok(Reply {
            found: true,
            lang,
            answers,
            handoff: None,
            confidence: ranked.confidence,
        })
    }

    /// The hall's item search: `tenant`'s published items ranked for `q` with the
    /// assistant's analysis (synonyms included), at most `limit` (1–[`MAX_SEARCH_LIMIT`]).
    /// Unlike [`Assistant::ask`] it has no confidence cut: whatever matches is listed.
    ///
    /// Errors: `invalid_input` for an empty or over-long `q` (field `q`) or a `limit`
    /// outside 1–50 (field `limit`).
    pub fn search_items(
        &self,
        tenant: &str,
        q: &str,
        limit: usize,
        lang: Lang,
    ) -> Result<Vec<ItemHit>> {
        let q = check_text(q, "q")?;
        if !(1..=MAX_SEARCH_LIMIT).contains(&limit) {
            return Err(
                Error::invalid(format!("limit must be between 1 and {MAX_SEARCH_LIMIT}"))
                    .with_extra("field", "limit".into()),
            );
        }
        Ok(self
            .rank(tenant, q)
            .hits
            .into_iter()
            .take(limit)
            .map(|(item, score)| ItemHit {
                link: format!("/hall/items/{}", item.code),
                code: item.code.clone(),
                title: item.name(lang).to_string(),
                department: item.department(lang).to_string(),
                score,
            })
            .collect())
    }
}

/// Guides older than this are read again from the hall's published items before a
/// question is answered (so a publication or withdrawal on any replica reaches the
/// assistant within this time).
pub const REINDEX_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

impl crate::Hall {
    /// Re-indexes `tenant`'s guides from its published items ([`crate::Hall::published_items`]);
    /// returns how many. Errors: `tenant_not_found`; a store error.
    pub async fn reindex_guides(&self, tenant: &str) -> Result<usize> {
        let mut guides = Vec::new();
        for item in self.published_items(tenant).await? {
            let json = serde_json::to_value(&item)
                .map_err(|e| Error::internal(format!("published item: {e}")))?;
            guides.push(data::guide_from_item_json(json)?);
        }
        Ok(self.assistant.index_items(tenant, guides))
    }

    /// Re-indexes `tenant`'s guides when they were never indexed or are older than
    /// [`REINDEX_AFTER`].
    pub async fn fresh_guides(&self, tenant: &str) -> Result<()> {
        if self
            .assistant
            .indexed_age(tenant)
            .is_none_or(|age| age > REINDEX_AFTER)
        {
            self.reindex_guides(tenant).await?;
        }
        Ok(())
    }
}

/// `tenant`'s visible guides holding any of `terms`, scored with `params` (main items ×
/// `main_item_boost`), highest first, ties by code.
fn ranked_guides<'r>(
    reader: &'r onecity_search::Reader<'_, GuideDoc>,
    tenant: &str,
    terms: &[QueryTerm],
    params: &Bm25,
    main_item_boost: f32,
) -> Vec<(&'r GuideDoc, f32)> {
    let mut scored: Vec<(&GuideDoc, f32)> = reader
        .bm25(terms, params)
        .into_iter()
        .filter(|(doc, _)| {
            let v = doc.visibility();
            v.tenant == tenant && v.allows(|_, _| false)
        })
        .map(|(doc, s)| {
            if doc.item.code.ends_with("-000") {
                (doc, s * main_item_boost)
            } else {
                (doc, s)
            }
        })
        .collect();
    scored.sort_by(rank::by_score_then(|d: &GuideDoc| d.item.code.clone()));
    scored
}

/// Combines two rankings (each highest first) as `fusion` says; highest first, ties by
/// code.
fn fuse<'r>(
    tuned: Vec<(&'r GuideDoc, f32)>,
    plain: Vec<(&'r GuideDoc, f32)>,
    fusion: Fusion,
) -> Vec<(&'r GuideDoc, f32)> {
    let mut acc: HashMap<u32, (&GuideDoc, f32)> = HashMap::new();
    let mut add = |list: Vec<(&'r GuideDoc, f32)>, weight: f32| {
        let top = list.first().map_or(0.0, |(_, s)| *s);
        for (i, (doc, s)) in list.into_iter().enumerate() {
            let part = match fusion {
                Fusion::None => s,
                Fusion::Rrf { k, .. } => weight / (k + i as f32 + 1.0),
                Fusion::Sum { .. } if top > 0.0 => weight * s / top,
                Fusion::Sum { .. } => 0.0,
            };
            acc.entry(doc.ordinal).or_insert((doc, 0.0)).1 += part;
        }
    };
    let plain_weight = match fusion {
        Fusion::None => 0.0,
        Fusion::Rrf { plain_weight, .. } | Fusion::Sum { plain_weight } => plain_weight,
    };
    add(tuned, 1.0);
    add(plain, plain_weight);
    let mut out: Vec<(&GuideDoc, f32)> = acc.into_values().collect();
    out.sort_by(rank::by_score_then(|d: &GuideDoc| d.item.code.clone()));
    out
}

fn check_text<'a>(text: &'a str, field: &str) -> Result<&'a str> {
    let t = text.trim();
    if t.is_empty() {
        return Err(Error::invalid(format!("{field} is empty")).with_extra("field", field.into()));
    }
    if t.chars().count() > MAX_QUESTION_CHARS {
        return Err(Error::invalid(format!(
            "{field} is longer than {MAX_QUESTION_CHARS} characters"
        ))
        .with_extra("field", field.into()));
    }
    Ok(t)
}

fn handoff(lang: Lang) -> Handoff {
    Handoff {
        hotline: HOTLINE.to_string(),
        message: match lang {
            Lang::Zh => "没有找到能回答这个问题的办事指南。请拨打 12345 政务服务便民热线，由人工客服为您解答。".to_string(),
            Lang::En => "No service guide answers this question. Please call the 12345 government service hotline, where a person will help you.".to_string(),
        },
    }
}

/// The section of `item` that best answers: the one holding most of the question's
/// terms (weighted), the asked-for section ([`Analysed::intent`]) first when it has text;
/// conditions when nothing else says.
fn answer_section(item: &GuideItem, analysed: &Analysed, lang: Lang, score: f32) -> AnswerSection {
    let mut best: Option<(SectionKind, f32)> = None;
    for kind in SectionKind::ALL {
        let Some(text) = item.section_text(kind, lang) else {
            continue;
        };
        let stemmed = stem_text(text);
        let mut s: f32 = analysed
            .terms
            .iter()
            .filter(|t| stemmed.contains(t.term.as_str()))
            .map(|t| t.weight)
            .sum();
        if analysed.intent == Some(kind) {
            s += 100.0;
        }
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((kind, s));
        }
    }
    let kind = best.map_or(SectionKind::Conditions, |(k, _)| k);
    let text = item.section_text(kind, lang).unwrap_or_default();
    AnswerSection {
        code: item.code.clone(),
        title: item.name(lang).to_string(),
        department: item.department(lang).to_string(),
        section: kind,
        section_title: kind.label(lang).to_string(),
        snippet: snippet(text, &analysed.terms, 160),
        link: format!("/hall/items/{}#{}", item.code, kind.anchor()),
        score,
    }
}

/// At most about `max` characters of `text`, starting a little before the first place a
/// query term occurs (`…` where cut).
fn snippet(text: &str, terms: &[QueryTerm], max: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= max {
        return text.to_string();
    }
    let lower = stem_text(text);
    let first = terms
        .iter()
        .filter_map(|t| lower.find(t.term.as_str()))
        .min()
        .map(|byte| lower[..byte].chars().count())
        .unwrap_or(0);
    let mut start = first
        .saturating_sub(20)
        .min(chars.len().saturating_sub(max));
    // Start at a word's beginning in Latin text (up to 20 more characters back).
    let floor = start.saturating_sub(20);
    while start > floor
        && chars[start - 1].is_alphanumeric()
        && !onecity_search::is_cjk(chars[start - 1])
    {
        start -= 1;
    }
    let end = (start + max).min(chars.len());
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    out.extend(&chars[start..end]);
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod snippet_tests {
    use super::*;

    #[test]
    fn snippets_start_at_a_word_and_mark_cuts() {
        let text = format!(
            "{} obstetrics department of that hospital",
            "word ".repeat(60)
        );
        let s = snippet(&text, &[QueryTerm::new("obstetric", 1.0)], 40);
        let cut = s.strip_prefix('…').expect("cut at the start");
        assert!(cut.starts_with("word") || cut.starts_with(' '), "{s}");
        assert!(s.contains("obstetrics"), "{s}");
        assert_eq!(snippet("短文本", &[], 40), "短文本");
    }
}
