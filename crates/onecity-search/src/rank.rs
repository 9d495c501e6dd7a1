//! Rankings over a [`Reader`]: every-term matching with the catalog's field weights
//! ([`Reader::match_all`]), and BM25F or plain BM25 with any-term matching
//! ([`Reader::bm25`]); then facet counts ([`facet_counts`]) and the requested page
//! ([`page`]) over the scored documents.

use crate::index::{Document, Reader, MAX_FIELDS};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

/// A query term with its weight (1 for what the asker typed; less for an expansion such
/// as a synonym).
#[derive(Debug, Clone, PartialEq)]
pub struct QueryTerm {
    /// The index term (see [`crate::tokenize`]).
    pub term: String,
    /// Multiplies the term's score.
    pub weight: f32,
}

impl QueryTerm {
    /// A term of weight `weight`.
    pub fn new(term: impl Into<String>, weight: f32) -> Self {
        Self {
            term: term.into(),
            weight,
        }
    }
}

/// BM25 parameters (Robertson and Zaragoza, "The Probabilistic Relevance Framework: BM25
/// and Beyond", 2009, §3.5 for BM25F).
#[derive(Debug, Clone, PartialEq)]
pub struct Bm25 {
    /// Term-frequency saturation (1.2 is the usual default).
    pub k1: f32,
    /// Length normalisation, 0 (none) to 1 (full); 0.75 is the usual default.
    pub b: f32,
    /// `Some(weights)`: BM25F, each field's count normalised by the field's own average
    /// length and multiplied by its weight (a missing weight counts as the field's
    /// declared [`crate::Field::weight`]). `None`: plain BM25 over all fields as one text.
    pub field_weights: Option<Vec<f32>>,
}

impl Bm25 {
    /// Plain BM25 (k1 1.2, b 0.75) over the concatenated fields: the baseline.
    pub fn plain() -> Self {
        Self {
            k1: 1.2,
            b: 0.75,
            field_weights: None,
        }
    }

    /// BM25F with the document type's declared field weights (k1 1.2, b 0.75).
    pub fn fielded() -> Self {
        Self {
            k1: 1.2,
            b: 0.75,
            field_weights: Some(Vec::new()),
        }
    }
}

impl<D: Document> Reader<'_, D> {
    /// The documents holding every term, each scored by the sum of its postings' weights
    /// (the catalog's ranking: a term weighs as the best field it occurs in, title 4 …
    /// notes 1, plus 0.1 per further occurrence). No terms: nothing. Unordered.
    pub fn match_all(&self, terms: &[String]) -> Vec<(&D, f32)> {
        let st = &self.st;
        let mut lists = Vec::with_capacity(terms.len());
        for t in terms {
            match st.postings.get(t) {
                Some(p) => lists.push(p),
                None => return Vec::new(),
            }
        }
        if lists.is_empty() {
            return Vec::new();
        }
        lists.sort_by_key(|l| l.len());
        let mut scored = Vec::new();
        for (slot, p) in lists[0] {
            let mut s = p.weight;
            if lists[1..].iter().all(|l| match l.get(slot) {
                Some(x) => {
                    s += x.weight;
                    true
                }
                None => false,
            }) {
                if let Some(d) = st.doc(*slot) {
                    scored.push((d, s));
                }
            }
        }
        scored
    }

    /// Every document with score `score` (for a query without text): a walk over the
    /// documents alone (no postings, no field lengths). Unordered.
    pub fn all(&self, score: f32) -> Vec<(&D, f32)> {
        let mut out = Vec::with_capacity(self.st.len());
        out.extend(self.st.docs.iter().flatten().map(|d| (d, score)));
        out
    }

    /// The documents holding any of `terms`, scored by BM25F or BM25 (see [`Bm25`]);
    /// `idf = ln(1 + (N − df + 0.5)/(df + 0.5))` over all indexed documents. Unordered.
    pub fn bm25(&self, terms: &[QueryTerm], params: &Bm25) -> Vec<(&D, f32)> {
        let st = &self.st;
        let n = st.len() as f32;
        if n == 0.0 {
            return Vec::new();
        }
        let mut avg = [0f32; MAX_FIELDS];
        for (slot, sum) in st.len_sum.iter().enumerate() {
            avg[slot] = (*sum as f32 / n).max(1.0);
        }
        let avg_total = (st.len_sum.iter().sum::<u64>() as f32 / n).max(1.0);
        let weights: Option<[f32; MAX_FIELDS]> = params.field_weights.as_ref().map(|w| {
            let mut out = [0f32; MAX_FIELDS];
            for (slot, f) in D::FIELDS.iter().enumerate() {
                out[slot] = w.get(slot).copied().unwrap_or(f.weight);
            }
            out
        });
        let mut acc: HashMap<u32, f32> = HashMap::new();
        for qt in terms {
            let Some(list) = st.postings.get(&qt.term) else {
                continue;
            };
            let df = list.len() as f32;
            let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
            for (doc_slot, p) in list {
                let lens = &st.meta[*doc_slot as usize].lens;
                let tf = match &weights {
                    Some(w) => {
                        let mut t = 0.0;
                        for slot in 0..D::FIELDS.len() {
                            if p.tf[slot] > 0 {
                                let norm =
                                    1.0 - params.b + params.b * lens[slot] as f32 / avg[slot];
                                t += w[slot] * f32::from(p.tf[slot]) / norm;
                            }
                        }
                        t
                    }
                    None => {
                        let count: u32 = p.tf.iter().map(|c| u32::from(*c)).sum();
                        let len: u32 = lens.iter().sum();
                        let norm = 1.0 - params.b + params.b * len as f32 / avg_total;
                        count as f32 / norm
                    }
                };
                *acc.entry(*doc_slot).or_default() += qt.weight * idf * tf / (params.k1 + tf);
            }
        }
        acc.into_iter()
            .filter_map(|(slot, s)| st.doc(slot).map(|d| (d, s)))
            .collect()
    }
}

/// Counts the values of facet `field` over `scored` (each document counted once per
/// distinct value), sorted by count, then value; at most `limit` values (`None`: all).
pub fn facet_counts<D: Document>(
    scored: &[(&D, f32)],
    field: &str,
    limit: Option<usize>,
) -> Vec<(String, usize)> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for (doc, _) in scored {
        let mut vals = doc.facet_values(field);
        vals.sort();
        vals.dedup();
        for v in vals {
            *counts.entry(v).or_default() += 1;
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if let Some(limit) = limit {
        v.truncate(limit);
    }
    v
}

/// Facet counts for several fields (see [`facet_counts`]).
pub fn facets<D: Document>(
    scored: &[(&D, f32)],
    fields: &[String],
    limit: Option<usize>,
) -> BTreeMap<String, Vec<(String, usize)>> {
    fields
        .iter()
        .map(|f| (f.clone(), facet_counts(scored, f, limit)))
        .collect()
}

/// Orders `scored` by `cmp` and keeps the page `start .. start + rows`. Only the first
/// `start + rows` are sorted (a partition first), so a page of 10 out of 100,000 matches
/// costs a linear pass, not a full sort.
pub fn page<'a, D>(
    mut scored: Vec<(&'a D, f32)>,
    start: usize,
    rows: usize,
    mut cmp: impl FnMut(&(&'a D, f32), &(&'a D, f32)) -> Ordering,
) -> Vec<(&'a D, f32)> {
    let k = start.saturating_add(rows).min(scored.len());
    if k == 0 {
        return Vec::new();
    }
    if k < scored.len() {
        scored.select_nth_unstable_by(k - 1, &mut cmp);
        scored.truncate(k);
    }
    scored.sort_by(cmp);
    scored.into_iter().skip(start).take(rows).collect()
}

/// Orders by score, highest first, then by `tie` (for a stable order among equal scores).
pub fn by_score_then<'a, D, K: Ord>(
    tie: impl Fn(&D) -> K,
) -> impl FnMut(&(&'a D, f32), &(&'a D, f32)) -> Ordering {
    move |a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| tie(a.0).cmp(&tie(b.0)))
    }
}
