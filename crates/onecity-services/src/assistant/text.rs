//! Question analysis for the assistant: normalisation (full-width forms, case, a light
//! English stemmer applied to questions and guides alike), the section a question asks
//! about (its intent), colloquial phrases mapped to the words guides use (synonyms), and
//! stop phrases removed before the CJK bigrams are made. The tables are data, in
//! `crates/onecity-services/assistant/lexicon.json`, so they can be read and corrected
//! without reading code.

use super::SectionKind;
use onecity_search::{is_cjk, QueryTerm};
use serde::Deserialize;
use std::collections::HashSet;
use std::sync::OnceLock;

/// The lexicon as shipped (see the module doc).
pub const LEXICON_JSON: &str = include_str!("../../assistant/lexicon.json");

/// A colloquial phrase group and what it means in the guides' words.
#[derive(Debug, Clone, Deserialize)]
pub struct Synonym {
    /// Phrases a citizen writes (Chinese matched as substrings, English as whole words).
    pub ask: Vec<String>,
    /// The guides' words they stand for (added to the query).
    pub means: String,
}

/// Phrases that show which section a question wants.
#[derive(Debug, Clone, Deserialize)]
pub struct Intent {
    /// The section.
    pub section: SectionKind,
    /// Phrases (as for [`Synonym::ask`]).
    pub ask: Vec<String>,
}

/// The assistant's lexicon (see the module doc).
#[derive(Debug, Clone, Deserialize)]
pub struct Lexicon {
    /// Chinese stop phrases (question words, fillers), removed longest first.
    pub stop_zh: Vec<String>,
    /// English stop words.
    pub stop_en: Vec<String>,
    /// Colloquial phrases → guide words.
    pub synonyms: Vec<Synonym>,
    /// Section intents.
    pub intents: Vec<Intent>,
}

impl Lexicon {
    /// The shipped lexicon, parsed once. Panics only if the shipped file is malformed,
    /// which the unit tests rule out.
    pub fn shipped() -> &'static Lexicon {
        static LEXICON: OnceLock<Lexicon> = OnceLock::new();
        LEXICON.get_or_init(|| {
            let mut l: Lexicon =
                serde_json::from_str(LEXICON_JSON).expect("assistant/lexicon.json parses");
            l.stop_zh
                .sort_by_key(|s| std::cmp::Reverse(s.chars().count()));
            l
        })
    }
}

/// How a question is turned into query terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnalyseOptions {
    /// Add the guide words of matched synonym phrases.
    pub synonyms: bool,
    /// Weight of a synonym's terms.
    pub synonym_weight: f32,
    /// Weight of a single CJK character left alone between stop phrases.
    pub unigram_weight: f32,
    /// Weight of every character of a longer CJK run, beside its bigrams (0: none): lets
    /// 驾照 meet 驾驶证 through 驾 when no bigram matches.
    pub char_weight: f32,
}

impl Default for AnalyseOptions {
    fn default() -> Self {
        Self {
            synonyms: true,
            synonym_weight: 1.0,
            unigram_weight: 0.3,
            char_weight: 0.2,
        }
    }
}

/// A question as query terms, with the section it asks about.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysed {
    /// Weighted terms, each once.
    pub terms: Vec<QueryTerm>,
    /// The section the question asks about, when a phrase says so.
    pub intent: Option<SectionKind>,
}

/// Full-width ASCII forms (Ｕ+FF01–FF5E) and the ideographic space to ASCII, then lower
/// case.
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// A light English stemmer for plurals only ("certificates" → "certificate", "copies" →
/// "copy"; "address", "status" and "basis" stay): verb endings are left alone because
/// stripping them without a dictionary breaks more words than it joins.
pub fn stem(word: &str) -> String {
    let n = word.len();
    if n > 4 && word.ends_with("ies") {
        return format!("{}y", &word[..n - 3]);
    }
    if n > 3 && word.ends_with('s') && !["ss", "us", "is"].iter().any(|s| word.ends_with(s)) {
        return word[..n - 1].to_string();
    }
    word.to_string()
}

/// `text` with each ASCII word lower-cased and stemmed (CJK and other text unchanged):
/// what the index holds for a guide's English text and what a question is matched with.
pub fn stem_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    for c in normalise(text).chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            if !word.is_empty() {
                out.push_str(&stem(&word));
                word.clear();
            }
            out.push(c);
        }
    }
    if !word.is_empty() {
        out.push_str(&stem(&word));
    }
    out
}

fn english_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// True when `phrase` occurs in the normalised question: as a substring for CJK, as a
/// run of whole words for English.
fn contains_phrase(question: &str, words: &[String], phrase: &str) -> bool {
    let phrase = normalise(phrase);
    if phrase.chars().any(is_cjk) {
        return question.contains(&phrase);
    }
    let want = english_words(&phrase);
    !want.is_empty() && words.windows(want.len()).any(|w| w == want.as_slice())
}

/// Query terms in first-seen order, each once with its highest weight.
#[derive(Default)]
struct Terms(Vec<QueryTerm>);

impl Terms {
    fn push(&mut self, term: String, weight: f32) {
        match self.0.iter_mut().find(|x| x.term == term) {
            Some(existing) => existing.weight = existing.weight.max(weight),
            None => self.0.push(QueryTerm::new(term, weight)),
        }
    }

    /// A CJK run: its bigrams (and its characters at `char_weight` when above 0), or a
    /// lone character at `unigram_weight`.
    fn push_run(&mut self, run: &[char], unigram_weight: f32, char_weight: f32) {
        match run.len() {
            0 => {}
            1 => self.push(run[0].to_string(), unigram_weight),
            _ => {
                for w in run.windows(2) {
                    self.push(format!("{}{}", w[0], w[1]), 1.0);
                }
                if char_weight > 0.0 {
                    for c in run {
                        self.push(c.to_string(), char_weight);
                    }
                }
            }
        }
    }
}

/// Turns a question into weighted query terms (see the module doc).
pub fn analyse(question: &str, lexicon: &Lexicon, opts: &AnalyseOptions) -> Analysed {
    let q = normalise(question);
    let words = english_words(&q);
    let intent = lexicon
        .intents
        .iter()
        .find(|i| i.ask.iter().any(|p| contains_phrase(&q, &words, p)))
        .map(|i| i.section);
    let mut terms = Terms::default();
    // The asker's own words: stop phrases out, CJK runs to bigrams (a lone character to a
    // light unigram), English words stemmed.
    let mut text = q.clone();
    for s in &lexicon.stop_zh {
        if text.contains(s.as_str()) {
            text = text.replace(s.as_str(), " ");
        }
    }
    let stop_en: HashSet<&str> = lexicon.stop_en.iter().map(String::as_str).collect();
    let mut run: Vec<char> = Vec::new();
    let mut word = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if is_cjk(c) {
            run.push(c);
        } else {
            terms.push_run(&run, opts.unigram_weight, opts.char_weight);
            run.clear();
        }
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else if !word.is_empty() {
            if !stop_en.contains(word.as_str()) {
                terms.push(stem(&word), 1.0);
            }
            word.clear();
        }
    }
    if opts.synonyms {
        for s in &lexicon.synonyms {
            if s.ask.iter().any(|p| contains_phrase(&q, &words, p)) {
                for t in onecity_search::query_terms(&stem_text(&s.means)) {
                    terms.push(t, opts.synonym_weight);
                }
            }
        }
    }
    let terms = terms.0;
    Analysed { terms, intent }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(a: &Analysed) -> Vec<&str> {
        a.terms.iter().map(|t| t.term.as_str()).collect()
    }

    #[test]
    fn stop_phrases_go_before_the_bigrams_are_made() {
        let lex = Lexicon::shipped();
        let plain = AnalyseOptions {
            synonyms: false,
            char_weight: 0.0,
            ..Default::default()
        };
        let a = analyse("请问怎么办理出生证明？", lex, &plain);
        assert_eq!(terms(&a), vec!["出生", "生证", "证明"]);
    }

    #[test]
    fn synonyms_add_the_guides_words() {
        let lex = Lexicon::shipped();
        let a = analyse("生娃以后要上户口", lex, &AnalyseOptions::default());
        let t = terms(&a);
        for want in ["出生", "户口", "登记"] {
            assert!(t.contains(&want), "{want} missing from {t:?}");
        }
    }

    #[test]
    fn english_is_stemmed_and_stop_words_dropped() {
        let lex = Lexicon::shipped();
        let a = analyse(
            "How do I get the Certificates?",
            lex,
            &AnalyseOptions::default(),
        );
        assert!(terms(&a).contains(&"certificate"));
        assert!(!terms(&a).contains(&"how"));
        assert_eq!(stem_text("Registering Births"), "registering birth");
        assert_eq!(stem("address"), "address");
        assert_eq!(stem("copies"), "copy");
        assert_eq!(normalise("ＡＢＣ　１２"), "abc 12");
    }

    #[test]
    fn intents_name_the_section() {
        let lex = Lexicon::shipped();
        let a = analyse("要带什么材料", lex, &AnalyseOptions::default());
        assert_eq!(a.intent, Some(SectionKind::Materials));
        let a = analyse("how much does it cost", lex, &AnalyseOptions::default());
        assert_eq!(a.intent, Some(SectionKind::Fees));
    }
}
