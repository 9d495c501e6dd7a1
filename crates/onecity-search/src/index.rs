//! The inverted index over any [`Document`]: postings per term with a best-field weight
//! (the catalog's ranking) and per-field term counts (BM25F), documents by id, field
//! lengths, and a watermark its owner uses to refresh it from its database.

use crate::tokenize::for_each_token;
use std::collections::HashMap;
use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The most text fields a document type may declare ([`Document::FIELDS`]).
pub const MAX_FIELDS: usize = 8;

/// One text field of a document type: its name and weight (the catalog's title has 4,
/// its notes 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Field {
    /// Name, for documentation and tuning output.
    pub name: &'static str,
    /// Weight in both rankings: the best field a term occurs in gives the term's weight
    /// in [`Reader::match_all`]; BM25F multiplies the field's term count by it.
    pub weight: f32,
}

/// Who may find a document: its tenant, its place in the tenant's jurisdiction tree (the
/// `/`-joined ancestor ids, empty when the tenant as a whole owns it), whether anyone may
/// see it, and whether it is live (active, published) at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visibility<'a> {
    /// Tenant code.
    pub tenant: &'a str,
    /// Jurisdiction path of the owner.
    pub path: &'a str,
    /// Anyone, anonymous callers included, may see it when live.
    pub public: bool,
    /// Active or published: a document that is not live is found by no one.
    pub live: bool,
}

impl Visibility<'_> {
    /// True when a caller may see the document: it is live, and public or
    /// `may_see_restricted(tenant, path)` holds (e.g. the caller holds a read permission
    /// over that jurisdiction).
    pub fn allows(&self, may_see_restricted: impl Fn(&str, &str) -> bool) -> bool {
        self.live && (self.public || may_see_restricted(self.tenant, self.path))
    }
}

/// Something the engine indexes: a catalog dataset, a service guide, later an event.
pub trait Document: Send + Sync + 'static {
    /// The document's id.
    type Id: Copy + Eq + Hash + Ord + Debug + Send + Sync;
    /// The text fields of this type, in slot order (at most [`MAX_FIELDS`]).
    const FIELDS: &'static [Field];
    /// Its id.
    fn id(&self) -> Self::Id;
    /// Calls `out(slot, text)` for each text of each field (a field may give several texts,
    /// e.g. one per tag), slot indexing [`Document::FIELDS`]. The order matters for the
    /// catalog's ranking only where a term repeats (see [`Reader::match_all`]).
    fn text_fields(&self, out: &mut dyn FnMut(usize, &str));
    /// The values of a facet or filter field (e.g. `tags`, `res_format`); empty for an
    /// unknown field.
    fn facet_values(&self, facet: &str) -> Vec<String>;
    /// Who may find it.
    fn visibility(&self) -> Visibility<'_>;
}

/// One posting: the term's catalog weight in the document and its count per field slot
/// (saturating at 255).
#[derive(Debug, Clone, Copy)]
pub struct Posting {
    /// The best field weight the term occurs in, plus 0.1 for each further occurrence in
    /// a field of at most that weight.
    pub weight: f32,
    /// Occurrences per field slot.
    pub tf: [u8; MAX_FIELDS],
}

/// What the writer and BM25F keep per document beside it: its distinct terms (to remove
/// its postings) and its tokens per field slot.
#[derive(Default)]
pub(crate) struct Meta {
    terms: Vec<String>,
    /// Tokens per field slot.
    pub(crate) lens: [u32; MAX_FIELDS],
}

/// The index's data. Documents live in a dense vector addressed by a slot number (freed
/// slots are reused), and postings name slots, not ids: a query without text walks the
/// documents alone, contiguously, and a posting is a 4-byte key and 12 bytes of counts.
/// The per-document [`Meta`] sits in a vector of its own, so walking the documents does
/// not pull it into the cache.
pub(crate) struct State<D: Document> {
    watermark: i64,
    /// Slot of each indexed id.
    slots: HashMap<D::Id, u32>,
    /// Documents by slot; `None`: a free slot.
    pub(crate) docs: Vec<Option<D>>,
    /// Terms and field lengths by slot.
    pub(crate) meta: Vec<Meta>,
    /// Free slots.
    free: Vec<u32>,
    /// Term → slot → posting.
    pub(crate) postings: HashMap<String, HashMap<u32, Posting>>,
    /// Sum of field lengths over all documents, per slot.
    pub(crate) len_sum: [u64; MAX_FIELDS],
}

impl<D: Document> Default for State<D> {
    fn default() -> Self {
        Self {
            watermark: 0,
            slots: HashMap::new(),
            docs: Vec::new(),
            meta: Vec::new(),
            free: Vec::new(),
            postings: HashMap::new(),
            len_sum: [0; MAX_FIELDS],
        }
    }
}

impl<D: Document> State<D> {
    /// The document in `slot` (none for a free slot).
    pub(crate) fn doc(&self, slot: u32) -> Option<&D> {
        self.docs.get(slot as usize).and_then(Option::as_ref)
    }

    /// Number of indexed documents.
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

/// The index: thread-safe, many readers or one writer at a time.
pub struct Index<D: Document> {
    state: RwLock<State<D>>,
}

impl<D: Document> Default for Index<D> {
    fn default() -> Self {
        assert!(
            D::FIELDS.len() <= MAX_FIELDS,
            "a document type declares at most {MAX_FIELDS} fields"
        );
        Self {
            state: RwLock::new(State::default()),
        }
    }
}

impl<D: Document> Index<D> {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// A read view: searches run on it while writers wait.
    pub fn read(&self) -> Reader<'_, D> {
        Reader {
            st: self.state.read().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// A write view: puts, removals and the watermark change together.
    pub fn write(&self) -> Writer<'_, D> {
        Writer {
            st: self.state.write().unwrap_or_else(|e| e.into_inner()),
        }
    }

    /// Number of indexed documents.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The watermark its owner last stored (0 at first): e.g. the highest `updated_at`
    /// (µs) it has indexed.
    pub fn watermark(&self) -> i64 {
        self.read().st.watermark
    }
}

/// Write access (see [`Index::write`]).
pub struct Writer<'a, D: Document> {
    st: RwLockWriteGuard<'a, State<D>>,
}

impl<D: Document> Writer<'_, D> {
    /// Indexes `doc`, replacing the document with its id.
    pub fn put(&mut self, doc: D) {
        let id = doc.id();
        self.remove(id);
        let mut postings: HashMap<String, Posting> = HashMap::new();
        let mut lens = [0u32; MAX_FIELDS];
        doc.text_fields(&mut |slot, text| {
            let Some(field) = D::FIELDS.get(slot) else {
                debug_assert!(false, "field slot {slot} is not declared");
                return;
            };
            let w = field.weight;
            for_each_token(text, |t| {
                lens[slot] += 1;
                let p = match postings.get_mut(t) {
                    Some(p) => p,
                    None => postings.entry(t.to_string()).or_insert(Posting {
                        weight: 0.0,
                        tf: [0; MAX_FIELDS],
                    }),
                };
                if p.weight < w {
                    p.weight = w;
                } else {
                    p.weight += 0.1;
                }
                p.tf[slot] = p.tf[slot].saturating_add(1);
            });
        });
        let st = &mut *self.st;
        for (slot, n) in lens.iter().enumerate() {
            st.len_sum[slot] += u64::from(*n);
        }
        let slot = match st.free.pop() {
            Some(s) => s,
            None => {
                st.docs.push(None);
                st.meta.push(Meta::default());
                u32::try_from(st.docs.len() - 1).expect("fewer than 2^32 documents")
            }
        };
        let mut terms = Vec::with_capacity(postings.len());
        for (t, p) in postings {
            match st.postings.get_mut(&t) {
                Some(list) => {
                    list.insert(slot, p);
                }
                None => {
                    st.postings.insert(t.clone(), HashMap::from([(slot, p)]));
                }
            }
            terms.push(t);
        }
        st.slots.insert(id, slot);
        st.docs[slot as usize] = Some(doc);
        st.meta[slot as usize] = Meta { terms, lens };
    }

    /// Removes the document `id` (nothing when absent).
    pub fn remove(&mut self, id: D::Id) {
        let st = &mut *self.st;
        let Some(slot) = st.slots.remove(&id) else {
            return;
        };
        st.docs[slot as usize] = None;
        let old = std::mem::take(&mut st.meta[slot as usize]);
        for (s, n) in old.lens.iter().enumerate() {
            st.len_sum[s] -= u64::from(*n);
        }
        for t in old.terms {
            if let Some(p) = st.postings.get_mut(&t) {
                p.remove(&slot);
                if p.is_empty() {
                    st.postings.remove(&t);
                }
            }
        }
        st.free.push(slot);
    }

    /// Removes every document.
    pub fn clear(&mut self) {
        let wm = self.st.watermark;
        *self.st = State::default();
        self.st.watermark = wm;
    }

    /// The document `id`, if indexed.
    pub fn get(&self, id: D::Id) -> Option<&D> {
        self.st.doc(*self.st.slots.get(&id)?)
    }

    /// Raises the watermark to `at` (never lowers it).
    pub fn advance_watermark(&mut self, at: i64) {
        self.st.watermark = self.st.watermark.max(at);
    }

    /// The stored watermark.
    pub fn watermark(&self) -> i64 {
        self.st.watermark
    }
}

/// Read access (see [`Index::read`]); the rankings are in [`crate::rank`].
pub struct Reader<'a, D: Document> {
    pub(crate) st: RwLockReadGuard<'a, State<D>>,
}

impl<D: Document> Reader<'_, D> {
    /// Number of indexed documents.
    pub fn len(&self) -> usize {
        self.st.len()
    }

    /// True when nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.st.len() == 0
    }

    /// The document `id`, if indexed.
    pub fn get(&self, id: D::Id) -> Option<&D> {
        self.st.doc(*self.st.slots.get(&id)?)
    }

    /// Every indexed document, in no particular order.
    pub fn docs(&self) -> impl Iterator<Item = &D> {
        self.st.docs.iter().flatten()
    }

    /// Number of documents holding `term`.
    pub fn doc_freq(&self, term: &str) -> usize {
        self.st.postings.get(term).map_or(0, HashMap::len)
    }

    /// The posting of `term` in document `id`.
    pub fn posting(&self, term: &str, id: D::Id) -> Option<Posting> {
        let slot = self.st.slots.get(&id)?;
        self.st.postings.get(term)?.get(slot).copied()
    }
}
