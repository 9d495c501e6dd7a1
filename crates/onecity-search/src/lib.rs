//! onecity-search: the one full-text search engine of onecity. The data catalog's
//! datasets, the service hall's guides (办事指南) and its assistant (智能客服), and later
//! the governance events are indexed by it through the [`Document`] trait: a document
//! gives its id, its weighted text fields, its facet values and its visibility key.
//!
//! The engine is an in-memory inverted index ([`Index`]) with CJK bigram tokens
//! ([`tokenize`]), field weights, facets ([`rank::facets`]), page-only ordering
//! ([`rank::page`]) and two rankings: every-term matching scored by the best field a term
//! occurs in (the catalog's `package_search`, [`Reader::match_all`]), and BM25F or plain
//! BM25 over any term with weighted query terms (the assistant, [`Reader::bm25`]). It
//! holds no SQL and knows no owner: each owner keeps the index as a cache of its own
//! tables and refreshes it (the catalog reads the datasets changed since the index's
//! [`Index::watermark`] before each search; the hall re-indexes a tenant's published
//! items).
//!
//! ## Why not tantivy + jieba-rs (DESIGN.md)
//!
//! Both add minutes of compile time on the 2-core build machines for a catalog whose size
//! (≤ 10⁵–10⁶ entries) fits in memory, and a dictionary segmenter misses words it does not
//! know (place names, new terms), which bigrams find. The catalog's query syntax is a small
//! subset of CKAN's Solr one and has no error path: punctuation such as `:` `/` `-` `+` `&`
//! `[` `]` separates words. For the assistant, issue 14 measured jieba-rs again (licence
//! MIT; its dictionary is embedded compressed) against bigrams plus a hand-written table of
//! colloquial phrases: see docs/services.md, "Assistant (智能客服)".
//!
//! ## Measurements
//!
//! BENCHMARKS.md, "Catalog search (issue 5)": 100,000 generated datasets, CKAN
//! `package_search` with rows = 10, release build (`cargo run --release -p onecity-catalog
//! --example bench_search -- 100000 1000`): selective queries p99 under 10 ms; broad ones
//! with facets over thousands of matches not yet (facet counting allocates a string per
//! value and match). "issue 14: search and assistant" has the figures before and after the
//! move into this crate (same build, one session) and the guide search and assistant
//! figures over 1,000 items. The match-everything query was about 10 % slower after the
//! move (each entry carried its BM25F field lengths and term list beside the document);
//! documents now sit in a dense vector of their own, postings name slots, and the
//! per-document lengths and terms sit apart ([`index`]'s `State`), so that query walks the
//! documents alone.

pub mod index;
pub mod rank;
pub mod tokenize;

pub use index::{Document, Field, Index, Posting, Reader, Visibility, Writer, MAX_FIELDS};
pub use rank::{Bm25, QueryTerm};
pub use tokenize::{is_cjk, query_terms, tokenize};

#[cfg(test)]
mod tests {
    use super::*;

    struct Note {
        id: u32,
        title: &'static str,
        body: &'static str,
        tags: &'static [&'static str],
        tenant: &'static str,
        public: bool,
    }

    impl Document for Note {
        type Id = u32;
        const FIELDS: &'static [Field] = &[
            Field {
                name: "title",
                weight: 4.0,
            },
            Field {
                name: "body",
                weight: 1.0,
            },
        ];
        fn id(&self) -> u32 {
            self.id
        }
        fn text_fields(&self, out: &mut dyn FnMut(usize, &str)) {
            out(0, self.title);
            out(1, self.body);
        }
        fn facet_values(&self, facet: &str) -> Vec<String> {
            match facet {
                "tags" => self.tags.iter().map(|t| t.to_string()).collect(),
                _ => vec![],
            }
        }
        fn visibility(&self) -> Visibility<'_> {
            Visibility {
                tenant: self.tenant,
                path: "",
                public: self.public,
                live: true,
            }
        }
    }

    fn notes() -> Index<Note> {
        let idx = Index::new();
        let mut w = idx.write();
        w.put(Note {
            id: 1,
            title: "出生医学证明",
            body: "新生儿出生后由助产机构签发",
            tags: &["出生", "卫健"],
            tenant: "hz",
            public: true,
        });
        w.put(Note {
            id: 2,
            title: "户口登记",
            body: "新生儿出生登记 需出生医学证明",
            tags: &["户籍"],
            tenant: "hz",
            public: true,
        });
        w.put(Note {
            id: 3,
            title: "内部事项",
            body: "出生",
            tags: &["出生"],
            tenant: "hz",
            public: false,
        });
        w.advance_watermark(7);
        drop(w);
        idx
    }

    #[test]
    fn every_term_matching_scores_by_best_field() {
        let idx = notes();
        let r = idx.read();
        let mut hits = r.match_all(&query_terms("出生证明"));
        hits.sort_by_key(|(d, _)| d.id);
        // 出生 in both; 生证 only where 出生 is directly followed by 证明: none; so nothing.
        assert!(hits.is_empty());
        let mut hits = r.match_all(&query_terms("医学证明"));
        hits.sort_by_key(|(d, _)| d.id);
        let ids: Vec<u32> = hits.iter().map(|(d, _)| d.id).collect();
        assert_eq!(ids, vec![1, 2]);
        // 医学, 学证, 证明 each in the title of 1 (weight 4) and the body of 2 (1).
        assert!((hits[0].1 - 12.0).abs() < 1e-4, "{}", hits[0].1);
        assert!((hits[1].1 - 3.0).abs() < 1e-4, "{}", hits[1].1);
        assert_eq!(idx.watermark(), 7);
    }

    #[test]
    fn bm25f_prefers_the_title_and_plain_bm25_does_not_weigh_fields() {
        let idx = notes();
        let r = idx.read();
        let q = vec![QueryTerm::new("登记", 1.0)];
        let f = r.bm25(&q, &Bm25::fielded());
        let p = r.bm25(&q, &Bm25::plain());
        let score = |v: &[(&Note, f32)], id| v.iter().find(|(d, _)| d.id == id).unwrap().1;
        assert_eq!(f.len(), 1);
        assert!(score(&f, 2) > score(&p, 2));
        // Any-term matching: 出生 is in every note, 户口 only in 2.
        let q = vec![QueryTerm::new("出生", 1.0), QueryTerm::new("户口", 1.0)];
        let mut f = r.bm25(&q, &Bm25::fielded());
        f.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap());
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].0.id, 2);
    }

    #[test]
    fn replacing_and_removing_keeps_postings_and_lengths_exact() {
        let idx = notes();
        {
            let mut w = idx.write();
            w.put(Note {
                id: 2,
                title: "婚姻登记",
                body: "结婚",
                tags: &[],
                tenant: "hz",
                public: true,
            });
        }
        let r = idx.read();
        assert_eq!(r.doc_freq("户口"), 0);
        assert_eq!(r.doc_freq("婚姻"), 1);
        assert_eq!(r.posting("登记", 2).unwrap().tf, [1, 0, 0, 0, 0, 0, 0, 0]);
        drop(r);
        idx.write().remove(2);
        idx.write().remove(2);
        let r = idx.read();
        assert_eq!(r.len(), 2);
        assert_eq!(r.doc_freq("登记"), 0);
        assert_eq!(r.st.len_sum, {
            let mut s = [0u64; MAX_FIELDS];
            // Titles 出生医学证明 (6 unigrams + 5 bigrams) and 内部事项 (4 + 3); bodies
            // 新生儿出生后由助产机构签发 (13 + 12) and 出生 (2 + 1).
            s[0] = 18;
            s[1] = 28;
            s
        });
    }

    #[test]
    fn freed_slots_are_reused_and_every_view_sees_only_live_documents() {
        let idx = notes();
        idx.write().remove(1);
        idx.write().put(Note {
            id: 9,
            title: "社会保障卡",
            body: "出生",
            tags: &[],
            tenant: "hz",
            public: true,
        });
        let r = idx.read();
        // Three slots: 9 took the one 1 left.
        assert_eq!(r.st.docs.len(), 3);
        assert_eq!(r.len(), 3);
        let mut all: Vec<u32> = r.all(1.0).iter().map(|(d, _)| d.id).collect();
        all.sort();
        assert_eq!(all, vec![2, 3, 9]);
        let mut docs: Vec<u32> = r.docs().map(|d| d.id).collect();
        docs.sort();
        assert_eq!(docs, vec![2, 3, 9]);
        assert!(r.get(1).is_none());
        assert_eq!(r.get(9).unwrap().title, "社会保障卡");
        assert_eq!(r.doc_freq("助产"), 0);
        assert_eq!(r.posting("出生", 9).unwrap().tf, [0, 1, 0, 0, 0, 0, 0, 0]);
        let ids: Vec<u32> = r
            .match_all(&query_terms("保障"))
            .iter()
            .map(|(d, _)| d.id)
            .collect();
        assert_eq!(ids, vec![9]);
        let mut ids: Vec<u32> = r
            .bm25(&[QueryTerm::new("出生", 1.0)], &Bm25::plain())
            .iter()
            .map(|(d, _)| d.id)
            .collect();
        ids.sort();
        assert_eq!(ids, vec![2, 3, 9]);
    }

    #[test]
    fn facets_visibility_and_page() {
        let idx = notes();
        let r = idx.read();
        let all = r.all(1.0);
        let visible: Vec<_> = all
            .iter()
            .copied()
            .filter(|(d, _)| d.visibility().allows(|_, _| false))
            .collect();
        assert_eq!(visible.len(), 2);
        assert_eq!(
            rank::facet_counts(&all, "tags", None),
            vec![
                ("出生".to_string(), 2),
                ("卫健".to_string(), 1),
                ("户籍".to_string(), 1)
            ]
        );
        assert_eq!(rank::facet_counts(&all, "tags", Some(1)).len(), 1);
        let mut by_id: Vec<(&Note, f32)> = all.iter().map(|(d, _)| (*d, d.id as f32)).collect();
        by_id.reverse();
        let p = rank::page(by_id, 1, 1, rank::by_score_then(|d: &Note| d.id));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0.id, 2);
    }
}
