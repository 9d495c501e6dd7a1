//! The assistant's evaluation: questions as citizens write them
//! (`crates/onecity-services/eval/questions.jsonl`, one JSON object a line: `q`, `item` (the
//! item code that answers it, or `none`), `lang`, `split`: `heldout` or `tune`), the check
//! that a question shares at most one content word with its item's name, and hit@1 /
//! hit@3 per split beside a plain BM25 baseline. The held-out questions were written and
//! committed before anything was tuned and are never used for tuning. Run:
//!
//! ```text
//! cargo run -p onecity-services --example assistant_eval
//! ```

use super::text::{stem, Lexicon};
use super::{Assistant, GuideItem, Tuning};
use onecity_core::{Error, Result};
use onecity_search::is_cjk;
use serde::Deserialize;
use std::collections::BTreeSet;

/// The shipped questions.
pub const QUESTIONS_JSONL: &str = include_str!("../../eval/questions.jsonl");

/// The tenant the evaluation indexes the shipped items under.
pub const EVAL_TENANT: &str = "hangzhou";

/// One evaluation question.
#[derive(Debug, Clone, Deserialize)]
pub struct Question {
    /// The question as a citizen writes it.
    pub q: String,
    /// The item code that answers it, or `none`.
    pub item: String,
    /// `zh` or `en`.
    pub lang: String,
    /// `heldout` or `tune`.
    pub split: String,
}

impl Question {
    /// True for a question the catalog has no answer to.
    pub fn is_none(&self) -> bool {
        self.item == "none"
    }
}

/// Parses the shipped questions. Errors: `invalid_input` naming the line.
pub fn questions() -> Result<Vec<Question>> {
    QUESTIONS_JSONL
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| Error::invalid(format!("questions.jsonl line {}: {e}", i + 1)))
        })
        .collect()
}

fn bigrams(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut run: Vec<char> = Vec::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_cjk(c) {
            run.push(c);
        } else {
            for w in run.windows(2) {
                out.insert(format!("{}{}", w[0], w[1]));
            }
            run.clear();
        }
    }
    out
}

fn content_words(text: &str) -> BTreeSet<String> {
    let stop = &Lexicon::shipped().stop_en;
    text.to_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty() && !stop.iter().any(|s| s == w))
        .map(stem)
        .collect()
}

/// The content words `question` shares with `item`'s names: Chinese words counted as the
/// name's CJK bigrams (a shared word of three characters counts twice, so the check is
/// stricter than a segmenter's), English words lower-cased, plural-stemmed, stop words
/// out. The evaluation requires at most one.
pub fn shared_content_words(question: &str, item: &GuideItem) -> Vec<String> {
    let q_bigrams = bigrams(question);
    let q_words = content_words(question);
    let mut shared: BTreeSet<String> = bigrams(&item.name_zh)
        .intersection(&q_bigrams)
        .cloned()
        .collect();
    shared.extend(content_words(&item.name_en).intersection(&q_words).cloned());
    shared.into_iter().collect()
}

/// Scores of one configuration on one split.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scores {
    /// Questions with an answer.
    pub answerable: usize,
    /// Of those, the right item ranked first.
    pub hit1: usize,
    /// Of those, the right item among the first three.
    pub hit3: usize,
    /// Of those, the reply showed the right item among its answers (after the confidence
    /// and relative cuts).
    pub shown: usize,
    /// Of those, the reply was "not found" (a wrong hand-off).
    pub wrongly_handed_off: usize,
    /// Questions without an answer.
    pub unanswerable: usize,
    /// Of those, the reply was "not found" with the hand-off (right).
    pub handed_off: usize,
}

impl Scores {
    /// hit@1 as a share.
    pub fn hit1_rate(&self) -> f64 {
        self.hit1 as f64 / self.answerable.max(1) as f64
    }
    /// hit@3 as a share.
    pub fn hit3_rate(&self) -> f64 {
        self.hit3 as f64 / self.answerable.max(1) as f64
    }
    /// Share of unanswerable questions handed off.
    pub fn handoff_rate(&self) -> f64 {
        self.handed_off as f64 / self.unanswerable.max(1) as f64
    }
}

/// An assistant with `tuning` over the shipped items (tenant [`EVAL_TENANT`]).
pub fn assistant(tuning: Tuning) -> Result<Assistant> {
    let a = Assistant::with_tuning(tuning);
    a.index_items(EVAL_TENANT, super::data::shipped_items()?);
    Ok(a)
}

/// Scores `assistant` on the questions of `split` (`None`: all).
pub fn evaluate(assistant: &Assistant, questions: &[Question], split: Option<&str>) -> Scores {
    let mut s = Scores::default();
    for q in questions
        .iter()
        .filter(|q| split.is_none_or(|sp| q.split == sp))
    {
        let ranked = assistant.rank(EVAL_TENANT, &q.q);
        let reply = assistant.ask(EVAL_TENANT, &q.q, None);
        let found = reply.as_ref().is_ok_and(|r| r.found);
        if q.is_none() {
            s.unanswerable += 1;
            if !found {
                s.handed_off += 1;
            }
            continue;
        }
        s.answerable += 1;
        let pos = ranked.hits.iter().position(|(i, _)| i.code == q.item);
        if pos == Some(0) {
            s.hit1 += 1;
        }
        if pos.is_some_and(|p| p < 3) {
            s.hit3 += 1;
        }
        if !found {
            s.wrongly_handed_off += 1;
        } else if reply
            .as_ref()
            .is_ok_and(|r| r.answers.iter().any(|a| a.code == q.item))
        {
            s.shown += 1;
        }
    }
    s
}

/// The lexicon without the synonym phrases that occur in `question` and in no other tune
/// question: as if the lexicon had been written without that question.
pub fn lexicon_without(question: &Question, questions: &[Question], lexicon: &Lexicon) -> Lexicon {
    let occurs = |phrase: &str, q: &Question| q.q.to_lowercase().contains(&phrase.to_lowercase());
    let mut out = lexicon.clone();
    for s in &mut out.synonyms {
        s.ask.retain(|p| {
            !occurs(p, question)
                || questions.iter().any(|o| {
                    o.split == "tune"
                        && !std::ptr::eq(o, question)
                        && o.q != question.q
                        && occurs(p, o)
                })
        });
    }
    out.synonyms.retain(|s| !s.ask.is_empty());
    out
}

/// hit@1 and hit@3 on the tune split, each question ranked with the lexicon written
/// without it ([`lexicon_without`]): a leave-one-out estimate, from tune questions only,
/// of how the ranking fares on questions whose own phrases the lexicon does not hold
/// (as the held-out ones). Only `answerable`, `hit1` and `hit3` are filled.
pub fn evaluate_leave_one_out(assistant: &Assistant, questions: &[Question]) -> Scores {
    let mut s = Scores::default();
    let shipped = Lexicon::shipped();
    for q in questions
        .iter()
        .filter(|q| q.split == "tune" && !q.is_none())
    {
        let lexicon = lexicon_without(q, questions, shipped);
        let ranked = assistant.rank_with(EVAL_TENANT, &q.q, &lexicon);
        s.answerable += 1;
        let pos = ranked.hits.iter().position(|(i, _)| i.code == q.item);
        if pos == Some(0) {
            s.hit1 += 1;
        }
        if pos.is_some_and(|p| p < 3) {
            s.hit3 += 1;
        }
    }
    s
}

/// The configurations the report compares, by name.
pub fn configurations() -> Vec<(&'static str, Tuning)> {
    let full = Tuning::default();
    let no_synonyms = Tuning {
        analyse: super::text::AnalyseOptions {
            synonyms: false,
            ..full.analyse
        },
        ..full.clone()
    };
    vec![
        (
            "BM25 (baseline: same tokens, no field weights, no synonyms)",
            Tuning::baseline(),
        ),
        (
            "BM25F (field weights, no synonyms, no fusion)",
            Tuning {
                fusion: super::Fusion::None,
                ..no_synonyms
            },
        ),
        (
            "BM25F + synonyms (shipped until this change)",
            Tuning {
                fusion: super::Fusion::None,
                ..full.clone()
            },
        ),
        (
            "BM25F + synonyms, fused with BM25 (score sum, BM25 × 0.5; shipped)",
            full,
        ),
    ]
}
