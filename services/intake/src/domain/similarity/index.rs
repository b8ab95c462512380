//! The similarity index: every open demand and common issue, analysed once, in an inverted index
//! (term → the items containing it) with their term vectors, so the most similar items to a text are
//! found by reading a few short posting lists rather than comparing against everything.
//!
//! A search reads the posting lists of the query's rarer terms (rarest first, within a budget),
//! accumulates a TF-IDF dot product per item, keeps the best few hundred candidates and scores each
//! of them with the full pair model ([`super::score`]). Terms found in a large share of the items
//! (企业, 问题) are too common to find candidates with, but still count in the final score.
//!
//! Items are added, changed and removed as demands arrive and change. A removed or re-analysed
//! item leaves a tombstone in the posting lists; the lists are compacted once tombstones outnumber
//! half the live items.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use super::score::{self, FEATURES, Idf, Model, Side};
use super::text::{self, Analysis, TermKind};

/// What an indexed item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ItemKind {
    /// An open demand.
    Demand,
    /// A common issue still collecting demands or being handled.
    CommonIssue,
}

/// What the index keeps about an item besides its text, to filter and display results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// Demand or common issue.
    pub kind: ItemKind,
    /// Its identifier.
    pub id: String,
    /// Its title, for display.
    pub title: String,
    /// Its category code.
    pub category: String,
    /// For a demand: the common issue it belongs to.
    pub common_issue_id: Option<String>,
    /// For a demand: its enterprise.
    pub enterprise_id: Option<String>,
    /// The stored revision it reflects; an older revision never replaces a newer one.
    pub version: i64,
}

/// An indexed item: its description and its analysed text.
#[derive(Debug)]
struct Doc {
    item: Item,
    terms: Box<[(u32, TermKind, u16)]>,
    numbers: Box<[Box<str>]>,
    intents: u16,
    negated: bool,
    length: u32,
    /// Norm of its TF-IDF vector when it was indexed (to rank candidates; the final score recomputes).
    norm: f32,
    /// Hash of the text it was analysed from, to know whether a change needs re-analysis.
    text_hash: u64,
}

#[derive(Debug)]
struct Term {
    text: Box<str>,
    kind: TermKind,
    /// Live items containing it.
    df: u32,
    /// Slots of the items containing it (with tombstones until compaction).
    postings: Vec<u32>,
}

/// What an upsert needs (see [`Index::needs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing: the index already holds this revision or a newer one.
    Nothing,
    /// Only the item's description changes; the text is the one indexed.
    Item,
    /// The text must be analysed.
    Analysis,
}

/// A text ready to be indexed: its hash, and its analysis when it needs one.
#[derive(Debug, Clone)]
pub struct Prepared {
    hash: u64,
    analysis: Option<Analysis>,
}

impl Prepared {
    /// Analyses `text`.
    pub fn new(text: &str) -> Self {
        Self { hash: hash_text(text), analysis: Some(text::analyse(text)) }
    }

    /// A text the index already holds (only its hash is needed).
    pub fn unchanged(text: &str) -> Self {
        Self { hash: hash_text(text), analysis: None }
    }
}

/// A text (or an indexed item) prepared for comparison: term ids with kinds and counts, sorted by id.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    terms: Vec<(u32, TermKind, u16)>,
    numbers: Vec<Box<str>>,
    intents: u16,
    negated: bool,
    length: u32,
    /// Term ids of content words, to report shared key terms.
    words: Vec<u32>,
    /// Texts of terms the index does not know, by their provisional id.
    unknown: HashMap<u32, String>,
    /// The normalised text, to recognise an identical one.
    normalised: String,
}

impl Probe {
    fn side(&self) -> Side<'_> {
        Side {
            terms: &self.terms,
            numbers: &self.numbers,
            intents: self.intents,
            negated: self.negated,
            length: self.length,
        }
    }

    /// Whether the text had nothing to compare.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty() && self.numbers.is_empty()
    }
}

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// The item found.
    pub item: Item,
    /// Its similarity to the query, in [0, 1].
    pub score: f64,
    /// Content words both share, most informative first.
    pub shared_terms: Vec<String>,
}

/// Posting lists of a part of the index (see [`Index::subset`]).
#[derive(Debug, Default)]
pub struct Subset {
    postings: HashMap<u32, Vec<u32>>,
    size: usize,
}

impl Subset {
    /// Number of items in it.
    pub fn len(&self) -> usize {
        self.size
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }
}

/// Limits of a search.
#[derive(Debug, Clone, Copy)]
pub struct SearchLimits {
    /// Results wanted.
    pub limit: usize,
    /// Lowest score returned.
    pub min_score: f64,
}

/// How much of the index a search may read: posting lists longer than this share of the items are
/// not read to find candidates.
const COMMON_TERM_SHARE: f64 = 0.05;
/// Posting lists at most this long are always read.
const ALWAYS_READ: usize = 2_000;
/// Postings a search reads at most to find candidates.
const POSTINGS_BUDGET: usize = 3_000_000;
/// Candidates scored with the full model, at least.
const MIN_CANDIDATES: usize = 200;

/// The inverted index of open demands and common issues, with their term vectors.
#[derive(Debug, Default)]
pub struct Index {
    vocabulary: HashMap<Box<str>, u32>,
    terms: Vec<Term>,
    docs: Vec<Option<Doc>>,
    by_key: HashMap<(ItemKind, Box<str>), u32>,
    /// Revisions of items removed while the index was live, so a late, older read cannot bring them
    /// back, with the epoch of their removal (see [`Index::advance_epoch`]).
    removed: HashMap<(ItemKind, Box<str>), (i64, u64)>,
    /// Advanced by the owner after each catch-up; removals two epochs old are forgotten.
    epoch: u64,
    live: usize,
    tombstones: usize,
    scratch: Mutex<Vec<Vec<f32>>>,
    model: Option<Model>,
}

/// Collection size below which the IDF is computed as if the collection had this many items: in a
/// handful of demands, a term found in all of them is not known to be common, and counting it as such
/// would make duplicates look unlike each other.
const MIN_COLLECTION: usize = 1_000;

/// BM25's inverse document frequency of a term found in `df` of `n` items (at least
/// [`MIN_COLLECTION`]).
fn idf_of(df: u32, n: usize) -> f32 {
    let n = n.max(MIN_COLLECTION) as f32;
    let df = df as f32;
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

struct Stats<'a> {
    index: &'a Index,
    unknown_from: u32,
}

impl Idf for Stats<'_> {
    fn idf(&self, id: u32) -> f32 {
        let df = if id < self.unknown_from { self.index.terms[id as usize].df } else { 0 };
        idf_of(df, self.index.live)
    }

    fn max_idf(&self) -> f32 {
        idf_of(0, self.index.live)
    }
}

fn hash_text(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

impl Index {
    /// An empty index scoring with the default model.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty index scoring with `model`.
    pub fn with_model(model: Model) -> Self {
        Self { model: Some(model), ..Self::default() }
    }

    /// The model scores are computed with.
    pub fn model(&self) -> Model {
        self.model.unwrap_or(score::DEFAULT_MODEL)
    }

    /// Number of items indexed.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of distinct terms seen.
    pub fn term_count(&self) -> usize {
        self.terms.len()
    }

    /// The item with this kind and id, if indexed.
    pub fn get(&self, kind: ItemKind, id: &str) -> Option<&Item> {
        let slot = *self.by_key.get(&(kind, Box::from(id)))?;
        self.docs[slot as usize].as_ref().map(|d| &d.item)
    }

    /// Adds an item or brings it up to date: a newer revision replaces the indexed one (its text is
    /// analysed again only if it changed); an older or equal one is ignored, as is one older than its
    /// removal. Whether the index changed.
    pub fn upsert(&mut self, item: Item, text: &str) -> bool {
        match self.needs(&item, text) {
            Needs::Nothing => false,
            Needs::Item => self.upsert_prepared(item, Prepared::unchanged(text)),
            Needs::Analysis => self.upsert_prepared(item, Prepared::new(text)),
        }
    }

    /// What an upsert of `item` with `text` would need: nothing (stale), a new description only,
    /// or an analysis of the text.
    pub fn needs(&self, item: &Item, text: &str) -> Needs {
        let key = (item.kind, Box::<str>::from(item.id.as_str()));
        if self.removed.get(&key).is_some_and(|&(v, _)| v >= item.version) {
            return Needs::Nothing;
        }
        match self.by_key.get(&key).and_then(|&slot| self.docs[slot as usize].as_ref()) {
            Some(doc) if doc.item.version >= item.version => Needs::Nothing,
            Some(doc) if doc.text_hash == hash_text(text) => Needs::Item,
            _ => Needs::Analysis,
        }
    }

    /// [`Index::upsert`] with the text already analysed (outside any lock held on the index).
    pub fn upsert_prepared(&mut self, item: Item, prepared: Prepared) -> bool {
        let key = (item.kind, Box::<str>::from(item.id.as_str()));
        if self.removed.get(&key).is_some_and(|&(v, _)| v >= item.version) {
            return false;
        }
        if let Some(&slot) = self.by_key.get(&key) {
            let Some(doc) = self.docs[slot as usize].as_mut() else { return false };
            if doc.item.version >= item.version {
                return false;
            }
            if doc.text_hash == prepared.hash {
                doc.item = item;
                return true;
            }
            self.remove_slot(slot);
        }
        let Some(analysis) = prepared.analysis else { return false };
        self.removed.remove(&key);
        self.insert(item, &analysis, prepared.hash);
        true
    }

    /// Removes an item at `version` (an item closed, withdrawn or merged away); an older revision
    /// arriving later is ignored.
    pub fn remove(&mut self, kind: ItemKind, id: &str, version: i64) {
        let key = (kind, Box::<str>::from(id));
        if let Some(&slot) = self.by_key.get(&key) {
            if self.docs[slot as usize].as_ref().is_some_and(|d| d.item.version > version) {
                return;
            }
            self.remove_slot(slot);
        }
        let epoch = self.epoch;
        let entry = self.removed.entry(key).or_insert((version, epoch));
        *entry = (entry.0.max(version), epoch);
    }

    /// Starts a new epoch and forgets the removals of the epochs before the last one: a read older
    /// than a removal arrives within moments of it, not epochs later, and the record of removals must
    /// not grow with every demand ever closed.
    pub fn advance_epoch(&mut self) {
        self.epoch += 1;
        let keep_from = self.epoch.saturating_sub(1);
        self.removed.retain(|_, (_, epoch)| *epoch >= keep_from);
    }

    fn remove_slot(&mut self, slot: u32) {
        let Some(doc) = self.docs[slot as usize].take() else { return };
        for &(id, _, _) in doc.terms.iter() {
            let term = &mut self.terms[id as usize];
            term.df = term.df.saturating_sub(1);
        }
        self.by_key.remove(&(doc.item.kind, Box::from(doc.item.id.as_str())));
        self.live -= 1;
        self.tombstones += 1;
        if self.tombstones > 1_000 && self.tombstones > self.live / 2 {
            self.compact();
        }
    }

    fn term_id(&mut self, term: &str) -> u32 {
        if let Some(&id) = self.vocabulary.get(term) {
            return id;
        }
        let id = u32::try_from(self.terms.len()).unwrap_or(u32::MAX);
        let kind = TermKind::of(term).unwrap_or(TermKind::Word);
        self.terms.push(Term { text: Box::from(text::term_text(term)), kind, df: 0, postings: Vec::new() });
        self.vocabulary.insert(Box::from(term), id);
        id
    }

    fn insert(&mut self, item: Item, analysis: &Analysis, text_hash: u64) {
        let slot = u32::try_from(self.docs.len()).unwrap_or(u32::MAX);
        let mut terms: Vec<(u32, TermKind, u16)> = Vec::with_capacity(analysis.terms.len());
        for (term, count) in &analysis.terms {
            let id = self.term_id(term);
            terms.push((id, self.terms[id as usize].kind, *count));
        }
        terms.sort_unstable_by_key(|t| t.0);
        let mut norm2 = 0f32;
        for &(id, kind, count) in &terms {
            let t = &mut self.terms[id as usize];
            t.df += 1;
            t.postings.push(slot);
            let w = (1.0 + f32::from(count).ln()) * idf_of(t.df, self.live + 1) * score::kind_weight(kind);
            norm2 += w * w;
        }
        self.by_key.insert((item.kind, Box::from(item.id.as_str())), slot);
        self.docs.push(Some(Doc {
            item,
            terms: terms.into_boxed_slice(),
            numbers: analysis.numbers.iter().map(|n| Box::from(n.as_str())).collect(),
            intents: analysis.intents,
            negated: analysis.negated,
            length: analysis.length,
            norm: norm2.sqrt().max(1e-6),
            text_hash,
        }));
        self.live += 1;
    }

    /// Drops the tombstones: live items get new, dense slots and every posting list is rewritten.
    pub fn compact(&mut self) {
        let mut map = vec![u32::MAX; self.docs.len()];
        let mut docs = Vec::with_capacity(self.live);
        for (old, doc) in std::mem::take(&mut self.docs).into_iter().enumerate() {
            if let Some(doc) = doc {
                map[old] = u32::try_from(docs.len()).unwrap_or(u32::MAX);
                docs.push(Some(doc));
            }
        }
        for term in &mut self.terms {
            term.postings.retain_mut(|slot| {
                let new = map[*slot as usize];
                *slot = new;
                new != u32::MAX
            });
            term.postings.shrink_to_fit();
        }
        for slot in self.by_key.values_mut() {
            *slot = map[*slot as usize];
        }
        self.docs = docs;
        self.tombstones = 0;
        self.scratch.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }

    fn stats(&self) -> Stats<'_> {
        Stats { index: self, unknown_from: u32::try_from(self.terms.len()).unwrap_or(u32::MAX) }
    }

    /// Prepares a text for comparison with the indexed items.
    pub fn probe(&self, analysis: &Analysis) -> Probe {
        let mut next_unknown = u32::try_from(self.terms.len()).unwrap_or(u32::MAX);
        let mut unknown = HashMap::new();
        let mut terms = Vec::with_capacity(analysis.terms.len());
        let mut words = Vec::new();
        for (term, count) in &analysis.terms {
            let kind = TermKind::of(term).unwrap_or(TermKind::Word);
            let id = match self.vocabulary.get(term.as_str()) {
                Some(&id) => id,
                None => {
                    let id = next_unknown;
                    next_unknown = next_unknown.saturating_add(1);
                    unknown.insert(id, text::term_text(term).to_owned());
                    id
                }
            };
            if kind == TermKind::Word {
                words.push(id);
            }
            terms.push((id, kind, *count));
        }
        terms.sort_unstable_by_key(|t| t.0);
        Probe {
            terms,
            numbers: analysis.numbers.iter().map(|n| Box::from(n.as_str())).collect(),
            intents: analysis.intents,
            negated: analysis.negated,
            length: analysis.length,
            words,
            unknown,
            normalised: analysis.normalised.clone(),
        }
    }

    /// Prepares an indexed item for comparison with the others.
    pub fn probe_item(&self, kind: ItemKind, id: &str) -> Option<Probe> {
        let slot = *self.by_key.get(&(kind, Box::from(id)))?;
        self.probe_slot(slot)
    }

    fn probe_slot(&self, slot: u32) -> Option<Probe> {
        let doc = self.docs.get(slot as usize)?.as_ref()?;
        Some(Probe {
            terms: doc.terms.to_vec(),
            numbers: doc.numbers.to_vec(),
            intents: doc.intents,
            negated: doc.negated,
            length: doc.length,
            words: doc.terms.iter().filter(|t| t.1 == TermKind::Word).map(|t| t.0).collect(),
            unknown: HashMap::new(),
            normalised: String::new(),
        })
    }

    fn doc_side(doc: &Doc) -> Side<'_> {
        Side {
            terms: &doc.terms,
            numbers: &doc.numbers,
            intents: doc.intents,
            negated: doc.negated,
            length: doc.length,
        }
    }

    /// The features of a probe against an indexed item.
    fn features_with(&self, probe: &Probe, doc: &Doc) -> [f64; FEATURES] {
        score::features(&probe.side(), &Self::doc_side(doc), &self.stats())
    }

    /// The features of two probes, with this index's statistics.
    pub fn pair_features(&self, a: &Probe, b: &Probe) -> [f64; FEATURES] {
        score::features(&a.side(), &b.side(), &self.stats())
    }

    /// The similarity of two probes, in [0, 1]; identical normalised texts score 1.
    pub fn pair_score(&self, a: &Probe, b: &Probe) -> f64 {
        if !a.normalised.is_empty() && a.normalised == b.normalised {
            return 1.0;
        }
        if a.is_empty() || b.is_empty() {
            return 0.0;
        }
        if a.terms == b.terms && a.numbers == b.numbers && a.intents == b.intents && a.negated == b.negated {
            return 1.0;
        }
        self.model().score(&self.pair_features(a, b))
    }

    fn score_doc(&self, probe: &Probe, doc: &Doc) -> f64 {
        if probe.is_empty() {
            return 0.0;
        }
        if probe.terms == *doc.terms && *probe.numbers == *doc.numbers && probe.intents == doc.intents {
            return 1.0;
        }
        self.model().score(&self.features_with(probe, doc))
    }

    /// The slot of an indexed item (a handle valid until the index next changes).
    pub fn slot(&self, kind: ItemKind, id: &str) -> Option<u32> {
        self.by_key.get(&(kind, Box::from(id))).copied()
    }

    /// The item in a slot.
    pub fn item_at(&self, slot: u32) -> Option<&Item> {
        self.docs.get(slot as usize)?.as_ref().map(|d| &d.item)
    }

    /// Prepares the item in a slot for comparison.
    pub fn probe_at(&self, slot: u32) -> Option<Probe> {
        self.probe_slot(slot)
    }

    /// The similarity of a probe to the item in a slot (0 for an empty slot).
    pub fn score_at(&self, probe: &Probe, slot: u32) -> f64 {
        self.docs.get(slot as usize).and_then(Option::as_ref).map_or(0.0, |doc| self.score_doc(probe, doc))
    }

    /// Ids of the content words of the item in a slot.
    pub fn words_at(&self, slot: u32) -> Vec<u32> {
        self.docs
            .get(slot as usize)
            .and_then(Option::as_ref)
            .map(|d| d.terms.iter().filter(|t| t.1 == TermKind::Word).map(|t| t.0).collect())
            .unwrap_or_default()
    }

    /// The similarity of two indexed items (clustering).
    pub fn item_score(&self, a: &Probe, kind: ItemKind, id: &str) -> Option<f64> {
        let slot = *self.by_key.get(&(kind, Box::from(id)))?;
        let doc = self.docs[slot as usize].as_ref()?;
        Some(self.score_doc(a, doc))
    }

    /// Content words both sides share, most informative (highest IDF) first, at most `max`.
    pub fn shared_terms(&self, probe: &Probe, other: &Probe, max: usize) -> Vec<String> {
        self.shared_words(probe, other.terms.iter().filter(|t| t.1 == TermKind::Word).map(|t| t.0), max)
    }

    fn shared_words(&self, probe: &Probe, other_words: impl Iterator<Item = u32>, max: usize) -> Vec<String> {
        let stats = self.stats();
        let mut shared: Vec<(f32, u32)> =
            other_words.filter(|id| probe.words.contains(id)).map(|id| (stats.idf(id), id)).collect();
        shared.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        shared.dedup_by_key(|s| s.1);
        shared.into_iter().take(max).filter_map(|(_, id)| self.term_text(id, probe)).collect()
    }

    fn term_text(&self, id: u32, probe: &Probe) -> Option<String> {
        match self.terms.get(id as usize) {
            Some(term) => Some(term.text.to_string()),
            None => probe.unknown.get(&id).cloned(),
        }
    }

    /// The text of an indexed term id (content words shared by a group).
    pub fn word_text(&self, id: u32) -> Option<&str> {
        self.terms.get(id as usize).map(|t| &*t.text)
    }

    /// The IDF of a term id.
    pub fn idf(&self, id: u32) -> f32 {
        self.stats().idf(id)
    }

    /// Ids of the content words of an indexed item.
    pub fn item_words(&self, kind: ItemKind, id: &str) -> Vec<u32> {
        self.by_key
            .get(&(kind, Box::from(id)))
            .and_then(|&slot| self.docs[slot as usize].as_ref())
            .map(|d| d.terms.iter().filter(|t| t.1 == TermKind::Word).map(|t| t.0).collect())
            .unwrap_or_default()
    }

    /// The items most similar to `probe` that `accept` lets through, best first, each scoring at
    /// least `limits.min_score`.
    pub fn search(&self, probe: &Probe, accept: impl Fn(&Item) -> bool, limits: SearchLimits) -> Vec<Hit> {
        if probe.is_empty() || limits.limit == 0 || self.live == 0 {
            return Vec::new();
        }
        let candidates = self.candidates(probe, &accept, limits.limit);
        self.finish(probe, candidates, limits)
    }

    /// Slots of the items worth scoring: the best by a TF-IDF dot product accumulated over the
    /// posting lists of the probe's rarer terms.
    fn candidates(&self, probe: &Probe, accept: &impl Fn(&Item) -> bool, limit: usize) -> Vec<u32> {
        self.candidates_from(probe, accept, limit, self.live, |id| Some(&self.terms[id as usize].postings[..]))
    }

    /// [`Index::candidates`] reading the posting lists `postings` gives, over a collection of
    /// `population` items.
    fn candidates_from<'p>(
        &self,
        probe: &Probe,
        accept: &impl Fn(&Item) -> bool,
        limit: usize,
        population: usize,
        postings: impl Fn(u32) -> Option<&'p [u32]>,
    ) -> Vec<u32> {
        let stats = self.stats();
        let known: Vec<(&'p [u32], f32, u32)> = probe
            .terms
            .iter()
            .filter(|t| (t.0 as usize) < self.terms.len() && self.terms[t.0 as usize].df > 0)
            .filter_map(|&(id, kind, count)| {
                let list = postings(id)?;
                let idf = stats.idf(id);
                let weight = (1.0 + f32::from(count.max(1)).ln()) * idf * score::kind_weight(kind);
                Some((list, weight * idf * score::kind_weight(kind), id))
            })
            .collect();
        let mut order: Vec<usize> = (0..known.len()).collect();
        order.sort_by_key(|&i| (known[i].0.len(), known[i].2));
        let common = ((population as f64 * COMMON_TERM_SHARE) as usize).max(ALWAYS_READ);

        let mut acc = self.take_scratch();
        let mut touched: Vec<u32> = Vec::new();
        let mut budget = POSTINGS_BUDGET;
        for (rank, &i) in order.iter().enumerate() {
            let (list, contribution, _) = known[i];
            // The two rarest terms are always read, so a query of common words still finds something.
            if (list.len() > common && rank >= 2) || budget == 0 {
                continue;
            }
            let take = list.len().min(budget);
            budget -= take;
            for &slot in &list[..take] {
                let a = &mut acc[slot as usize];
                if *a == 0.0 {
                    touched.push(slot);
                }
                *a += contribution;
            }
        }
        let want = (limit * 4).max(MIN_CANDIDATES);
        let mut ranked: Vec<(f32, u32)> = Vec::with_capacity(touched.len().min(want * 4));
        for &slot in &touched {
            let value = acc[slot as usize];
            acc[slot as usize] = 0.0;
            if let Some(doc) = self.docs[slot as usize].as_ref()
                && accept(&doc.item)
            {
                ranked.push((value / doc.norm, slot));
            }
        }
        self.return_scratch(acc);
        if ranked.len() > want {
            ranked.select_nth_unstable_by(want, |a, b| b.0.total_cmp(&a.0));
            ranked.truncate(want);
        }
        ranked.into_iter().map(|(_, slot)| slot).collect()
    }

    /// A part of the index to search within (the demands of a clustering scope): posting lists holding
    /// only its items, so a search reads no more than the part holds.
    pub fn subset<'a>(&self, items: impl IntoIterator<Item = (ItemKind, &'a str)>) -> Subset {
        let mut postings: HashMap<u32, Vec<u32>> = HashMap::new();
        let mut size = 0;
        for (kind, id) in items {
            let Some(&slot) = self.by_key.get(&(kind, Box::from(id))) else { continue };
            let Some(doc) = self.docs[slot as usize].as_ref() else { continue };
            size += 1;
            for &(term, _, _) in doc.terms.iter() {
                postings.entry(term).or_default().push(slot);
            }
        }
        Subset { postings, size }
    }

    /// [`Index::search`] among the items of `subset` only.
    pub fn search_in(
        &self,
        probe: &Probe,
        subset: &Subset,
        accept: impl Fn(&Item) -> bool,
        limits: SearchLimits,
    ) -> Vec<Hit> {
        if probe.is_empty() || limits.limit == 0 || subset.size == 0 {
            return Vec::new();
        }
        let candidates = self.candidates_from(probe, &accept, limits.limit, subset.size, |id| {
            subset.postings.get(&id).map(Vec::as_slice)
        });
        self.finish(probe, candidates, limits)
    }

    /// Scores candidates with the full comparison and keeps the best.
    fn finish(&self, probe: &Probe, candidates: Vec<u32>, limits: SearchLimits) -> Vec<Hit> {
        let mut hits: Vec<(f64, u32)> = candidates
            .into_iter()
            .filter_map(|slot| {
                let doc = self.docs[slot as usize].as_ref()?;
                let score = self.score_doc(probe, doc);
                (score >= limits.min_score).then_some((score, slot))
            })
            .collect();
        hits.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        hits.truncate(limits.limit);
        hits.into_iter()
            .filter_map(|(score, slot)| {
                let doc = self.docs[slot as usize].as_ref()?;
                let words = doc.terms.iter().filter(|t| t.1 == TermKind::Word).map(|t| t.0);
                Some(Hit { item: doc.item.clone(), score, shared_terms: self.shared_words(probe, words, 8) })
            })
            .collect()
    }

    fn take_scratch(&self) -> Vec<f32> {
        let mut pool = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        let mut acc = pool.pop().unwrap_or_default();
        if acc.len() < self.docs.len() {
            acc.resize(self.docs.len(), 0.0);
        }
        acc
    }

    fn return_scratch(&self, acc: Vec<f32>) {
        let mut pool = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 8 {
            pool.push(acc);
        }
    }

    /// Every indexed item, in slot order (for tests and brute-force comparisons).
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.docs.iter().flatten().map(|d| &d.item)
    }

    /// Scores `probe` against every accepted item (the brute-force baseline the index is measured
    /// against), best first.
    pub fn search_exhaustive(&self, probe: &Probe, accept: impl Fn(&Item) -> bool, limits: SearchLimits) -> Vec<Hit> {
        let mut hits: Vec<(f64, u32)> = self
            .docs
            .iter()
            .enumerate()
            .filter_map(|(slot, doc)| {
                let doc = doc.as_ref()?;
                if !accept(&doc.item) {
                    return None;
                }
                let score = self.score_doc(probe, doc);
                (score >= limits.min_score).then_some((score, slot as u32))
            })
            .collect();
        hits.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        hits.truncate(limits.limit);
        hits.into_iter()
            .filter_map(|(score, slot)| {
                let doc = self.docs[slot as usize].as_ref()?;
                Some(Hit { item: doc.item.clone(), score, shared_terms: Vec::new() })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(id: &str, title: &str, version: i64) -> Item {
        Item {
            kind: ItemKind::Demand,
            id: id.into(),
            title: title.into(),
            category: "finance_credit".into(),
            common_issue_id: None,
            enterprise_id: Some("e1".into()),
            version,
        }
    }

    fn index_of(texts: &[&str]) -> Index {
        let mut index = Index::new();
        for (i, t) in texts.iter().enumerate() {
            index.upsert(demand(&format!("d{i}"), t, 1), t);
        }
        index
    }

    const LIMITS: SearchLimits = SearchLimits { limit: 5, min_score: 0.0 };

    #[test]
    fn the_most_similar_demand_comes_first() {
        let index = index_of(&[
            "渔船抵押贷款利率偏高，审批周期长",
            "港口物流运输成本高，集装箱运力不足",
            "高层次人才住房补贴申请手续繁琐",
            "专利申请周期长，希望开通快速审查通道",
        ]);
        let probe = index.probe(&text::analyse("渔船贷款利息太高，审批太慢"));
        let hits = index.search(&probe, |_| true, LIMITS);
        assert_eq!(hits[0].item.id, "d0", "{hits:?}");
        assert!(hits[0].shared_terms.contains(&"渔船".to_owned()), "{:?}", hits[0].shared_terms);
        assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
    }

    #[test]
    fn identical_text_scores_one_and_filters_apply() {
        let index = index_of(&["远洋渔业企业综合融资成本偏高", "远洋渔业企业综合融资成本偏高"]);
        let probe = index.probe(&text::analyse("远洋渔业企业综合融资成本偏高"));
        let hits = index.search(&probe, |item| item.id != "d0", LIMITS);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].item.id, "d1");
        assert!((hits[0].score - 1.0).abs() < 1e-9);
    }

    #[test]
    fn versions_guard_against_stale_reads_and_removal_sticks() {
        let mut index = Index::new();
        assert!(index.upsert(demand("d1", "a", 2), "渔船贷款利率高"));
        assert!(!index.upsert(demand("d1", "a", 1), "渔船贷款利率高"), "older revision ignored");
        let mut newer = demand("d1", "a", 3);
        newer.common_issue_id = Some("c1".into());
        assert!(index.upsert(newer, "渔船贷款利率高"));
        assert_eq!(index.get(ItemKind::Demand, "d1").and_then(|i| i.common_issue_id.clone()), Some("c1".into()));
        index.remove(ItemKind::Demand, "d1", 4);
        assert!(index.is_empty());
        assert!(!index.upsert(demand("d1", "a", 3), "渔船贷款利率高"), "a stale read does not resurrect it");
        assert!(index.upsert(demand("d1", "a", 5), "渔船贷款利率高"), "a newer revision does");
        assert_eq!(index.len(), 1);
        index.remove(ItemKind::Demand, "d1", 6);
        index.advance_epoch();
        assert!(!index.upsert(demand("d1", "a", 5), "渔船贷款利率高"), "remembered through the next epoch");
        index.advance_epoch();
        assert!(index.removed.is_empty(), "then forgotten");
    }

    #[test]
    fn compaction_keeps_every_live_item_findable() {
        let mut index = Index::new();
        for i in 0..3_000 {
            let text = format!("第{i}号码头 渔船 停泊 费用 偏高 {i}");
            index.upsert(demand(&format!("d{i}"), &text, 1), &text);
        }
        for i in 0..2_500 {
            index.remove(ItemKind::Demand, &format!("d{i}"), 2);
        }
        assert_eq!(index.len(), 500);
        assert!(index.docs.len() < 3_000, "tombstones were compacted");
        let probe = index.probe(&text::analyse("第2999号码头 渔船 停泊 费用 偏高 2999"));
        let hits = index.search(&probe, |_| true, LIMITS);
        assert_eq!(hits[0].item.id, "d2999");
    }

    #[test]
    fn the_index_finds_what_exhaustive_search_finds() {
        let mut texts = Vec::new();
        let subjects = ["渔船", "港口", "码头", "冷链", "专利", "人才", "用地", "电费", "物流", "补贴"];
        let problems = ["成本高", "审批慢", "手续繁琐", "资金紧张", "政策不清楚", "缺少人手"];
        for (i, s) in subjects.iter().enumerate() {
            for (j, p) in problems.iter().enumerate() {
                texts.push(format!("{s}{p}，希望有关部门协调解决（{i}-{j}）"));
            }
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let index = index_of(&refs);
        for query in ["渔船审批慢", "港口资金紧张怎么办", "专利政策不清楚"] {
            let probe = index.probe(&text::analyse(query));
            let fast: Vec<String> = index.search(&probe, |_| true, LIMITS).into_iter().map(|h| h.item.id).collect();
            let slow: Vec<String> =
                index.search_exhaustive(&probe, |_| true, LIMITS).into_iter().map(|h| h.item.id).collect();
            assert_eq!(fast, slow, "{query}");
        }
    }
}
