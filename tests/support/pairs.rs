//! Labelled sentence-pair files (`sentence1 <TAB> sentence2 <TAB> 0|1`) and a small deterministic
//! generator, shared by the similar-demand evaluation and benchmark commands.

use std::collections::HashMap;

/// A labelled pair, by sentence number.
#[derive(Debug, Clone, Copy)]
pub struct Pair {
    /// The first sentence.
    pub a: usize,
    /// The second sentence.
    pub b: usize,
    /// Whether they mean the same (label 1).
    pub same: bool,
}

/// A pair file: its distinct sentences, in order of first appearance, and its pairs.
#[derive(Debug, Clone)]
pub struct PairFile {
    /// The file's name, for display.
    pub name: String,
    /// Distinct sentences.
    pub sentences: Vec<String>,
    /// Labelled pairs.
    pub pairs: Vec<Pair>,
}

/// Reads a pair file; a malformed line or label is an error naming the line.
pub fn load(path: &str) -> Result<PairFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut sentences = Vec::new();
    let mut pairs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        let [a, b, label] = fields[..] else {
            if line.trim().is_empty() {
                continue;
            }
            return Err(format!("{path}:{}: expected sentence1<TAB>sentence2<TAB>label", n + 1));
        };
        let same = match label.trim() {
            "1" => true,
            "0" => false,
            other => return Err(format!("{path}:{}: label {other:?} is neither 0 nor 1", n + 1)),
        };
        let mut id = |s: &str| {
            *ids.entry(s.to_owned()).or_insert_with(|| {
                sentences.push(s.to_owned());
                sentences.len() - 1
            })
        };
        let (a, b) = (id(a), id(b));
        pairs.push(Pair { a, b, same });
    }
    let name = std::path::Path::new(path).file_name().map_or(path.to_owned(), |f| f.to_string_lossy().into_owned());
    Ok(PairFile { name, sentences, pairs })
}

/// A small deterministic generator (xorshift): the same seed gives the same sequence, so a fit or a
/// benchmark is repeatable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
