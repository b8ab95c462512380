//! How similar two analysed texts are: a handful of comparisons (features) combined into a score in
//! [0, 1] — the share of the two that is the same request.
//!
//! The features weigh terms by their inverse document frequency in the indexed demands, so a term
//! every demand uses (企业, 希望) counts for little and a rare one (渔船, 抵押) for much:
//!
//! | feature | what it measures |
//! | --- | --- |
//! | `cosine` | TF-IDF cosine over every term (words, synonym classes, characters, bigrams) |
//! | `word_cosine` | TF-IDF cosine over content words and synonym classes only |
//! | `bigram_cosine` | TF-IDF cosine over character bigrams only |
//! | `containment` | the IDF share of the shorter text's words and bigrams found in the other |
//! | `unmatched` | the highest IDF among content words found in only one text, relative to the highest possible |
//! | `number_conflict` | both mention numbers and none in common (3号码头 / 5号码头), or one mentions one and the other none |
//! | `intent_conflict` | both ask something and never the same thing (怎么办理 / 为什么办理) |
//! | `negation_conflict` | one negates and the other does not |
//! | `length_gap` | the difference in length relative to the total |
//!
//! The score is a weighted mean of the four similarities, reduced by each conflict (see [`Model`]);
//! the weights and factors were chosen on labelled pairs (`eval-similarity --fit`, see the README).

use super::text::TermKind;

/// Number of features.
pub const FEATURES: usize = 9;

/// Names of the features, in order.
pub const FEATURE_NAMES: [&str; FEATURES] = [
    "cosine",
    "word_cosine",
    "bigram_cosine",
    "containment",
    "unmatched",
    "number_conflict",
    "intent_conflict",
    "negation_conflict",
    "length_gap",
];

/// Weight of each term kind in the overall cosine: words and bigrams carry the meaning, synonym
/// classes and single characters widen the match.
pub fn kind_weight(kind: TermKind) -> f32 {
    match kind {
        TermKind::Word => 1.0,
        TermKind::Synonym => 0.6,
        TermKind::Char => 0.35,
        TermKind::Bigram => 1.0,
    }
}

/// How the features make a score: a weighted mean of the four similarities (they agree on what is
/// alike), reduced by each conflict found. Identical texts score 1 and texts with nothing in common 0,
/// so the score reads as "how much of the two is the same request".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    /// Weights of `cosine`, `word_cosine`, `bigram_cosine` and `containment` in the base score; they
    /// sum to 1.
    pub mix: [f64; 4],
    /// Share of the score kept when the numbers conflict (its square root when only one text has any).
    pub number: f64,
    /// Share of the score kept when the texts ask different things.
    pub intent: f64,
    /// Share of the score kept when one text negates and the other does not.
    pub negation: f64,
    /// Share of the score lost when a content word of the highest possible IDF is in one text only
    /// (proportionally less for a more common word).
    pub unmatched: f64,
}

/// The model the service scores with: chosen on the tuning pairs by `eval-similarity --fit` (see the
/// README's evaluation).
pub const DEFAULT_MODEL: Model =
    Model { mix: [0.9, 0.0, 0.1, 0.0], number: 0.7, intent: 1.0, negation: 0.4, unmatched: 0.1 };

impl Model {
    /// The score of a feature vector, in [0, 1].
    pub fn score(&self, f: &[f64; FEATURES]) -> f64 {
        let base: f64 = self.mix.iter().zip(&f[..4]).map(|(w, x)| w * x).sum();
        let kept =
            self.number.powf(f[5]) * self.intent.powf(f[6]) * self.negation.powf(f[7]) * (1.0 - self.unmatched * f[4]);
        (base * kept).clamp(0.0, 1.0)
    }
}

/// The best F1 over every threshold of `scored` ("same" at or above it), with that threshold.
pub fn best_f1(scored: &mut [(f64, bool)]) -> (f64, f64) {
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = scored.iter().filter(|(_, y)| *y).count() as f64;
    let (mut tp, mut fp) = (0f64, 0f64);
    let (mut best, mut at) = (0f64, 1f64);
    let mut i = 0;
    while i < scored.len() {
        let t = scored[i].0;
        while i < scored.len() && scored[i].0 == t {
            if scored[i].1 {
                tp += 1.0
            } else {
                fp += 1.0
            }
            i += 1;
        }
        let precision = tp / (tp + fp);
        let recall = if positives > 0.0 { tp / positives } else { 0.0 };
        let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
        if f1 > best {
            best = f1;
            at = t;
        }
    }
    (best, at)
}

/// Chooses a model for labelled feature vectors: coordinate ascent on the best F1, moving weight
/// between the similarities in steps of 0.1 and trying a few values of each conflict factor. Returns
/// the model, its best F1 and the threshold reaching it.
pub fn fit(samples: &[([f64; FEATURES], bool)]) -> (Model, f64, f64) {
    let evaluate = |m: &Model| -> (f64, f64) {
        let mut scored: Vec<(f64, bool)> = samples.iter().map(|(f, y)| (m.score(f), *y)).collect();
        best_f1(&mut scored)
    };
    let mut model = Model { mix: [1.0, 0.0, 0.0, 0.0], number: 1.0, intent: 1.0, negation: 1.0, unmatched: 0.0 };
    let mut best = evaluate(&model);
    let factors = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
    let losses = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5];
    for _round in 0..4 {
        let mut improved = false;
        for from in 0..4 {
            for to in 0..4 {
                if from == to || model.mix[from] < 0.1 - 1e-9 {
                    continue;
                }
                let mut candidate = model;
                candidate.mix[from] = ((candidate.mix[from] - 0.1) * 10.0).round() / 10.0;
                candidate.mix[to] = ((candidate.mix[to] + 0.1) * 10.0).round() / 10.0;
                let result = evaluate(&candidate);
                if result.0 > best.0 + 1e-6 {
                    (model, best, improved) = (candidate, result, true);
                }
            }
        }
        for which in 0..4 {
            let values: &[f64] = if which == 3 { &losses } else { &factors };
            for &v in values {
                let mut candidate = model;
                match which {
                    0 => candidate.number = v,
                    1 => candidate.intent = v,
                    2 => candidate.negation = v,
                    _ => candidate.unmatched = v,
                }
                let result = evaluate(&candidate);
                if result.0 > best.0 + 1e-6 {
                    (model, best, improved) = (candidate, result, true);
                }
            }
        }
        if !improved {
            break;
        }
    }
    (model, best.0, best.1)
}

/// One side of a comparison: its terms (id, kind, count), sorted by id, and what is compared apart.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// Terms with their kind and count, sorted by term id. Terms the index has never seen use ids
    /// above every known one.
    pub terms: &'a [(u32, TermKind, u16)],
    /// Numbers mentioned, sorted.
    pub numbers: &'a [Box<str>],
    /// What it asks.
    pub intents: u16,
    /// Whether it negates.
    pub negated: bool,
    /// Length in characters.
    pub length: u32,
}

/// Collection statistics the features need: the IDF of a term id.
pub trait Idf {
    /// Inverse document frequency of term `id` (the largest value for a term never seen).
    fn idf(&self, id: u32) -> f32;
    /// The largest IDF a term can have in this collection.
    fn max_idf(&self) -> f32;
}

fn tf_weight(count: u16) -> f32 {
    1.0 + f32::from(count.max(1)).ln()
}

/// The features of a pair of texts.
pub fn features(a: &Side<'_>, b: &Side<'_>, idf: &impl Idf) -> [f64; FEATURES] {
    // Squared norms and dot products, overall and per group.
    let (mut all_a, mut all_b, mut all_ab) = (0f32, 0f32, 0f32);
    let (mut w_a, mut w_b, mut w_ab) = (0f32, 0f32, 0f32);
    let (mut g_a, mut g_b, mut g_ab) = (0f32, 0f32, 0f32);
    // IDF mass of words and bigrams: each side's, and the shared part.
    let (mut mass_a, mut mass_b, mut mass_shared) = (0f32, 0f32, 0f32);
    let mut unmatched = 0f32;

    let weight = |id: u32, count: u16| -> (f32, f32) {
        let i = idf.idf(id);
        (i, tf_weight(count) * i)
    };
    let mut add_one = |kind: TermKind, i: f32, w: f32, first: bool| {
        let k = kind_weight(kind);
        let (all, group_w, group_g, mass) = if first {
            (&mut all_a, &mut w_a, &mut g_a, &mut mass_a)
        } else {
            (&mut all_b, &mut w_b, &mut g_b, &mut mass_b)
        };
        *all += (w * k) * (w * k);
        match kind {
            TermKind::Word | TermKind::Synonym => *group_w += w * w,
            TermKind::Bigram => *group_g += w * w,
            TermKind::Char => {}
        }
        if matches!(kind, TermKind::Word | TermKind::Bigram) {
            *mass += i;
        }
    };

    let (mut i, mut j) = (0, 0);
    while i < a.terms.len() || j < b.terms.len() {
        let ta = a.terms.get(i);
        let tb = b.terms.get(j);
        match (ta, tb) {
            (Some(&(ida, ka, ca)), Some(&(idb, _, cb))) if ida == idb => {
                let (idf_t, wa) = weight(ida, ca);
                let (_, wb) = weight(idb, cb);
                add_one(ka, idf_t, wa, true);
                add_one(ka, idf_t, wb, false);
                let k = kind_weight(ka);
                all_ab += (wa * k) * (wb * k);
                match ka {
                    TermKind::Word | TermKind::Synonym => w_ab += wa * wb,
                    TermKind::Bigram => g_ab += wa * wb,
                    TermKind::Char => {}
                }
                if matches!(ka, TermKind::Word | TermKind::Bigram) {
                    mass_shared += idf_t;
                }
                i += 1;
                j += 1;
            }
            (Some(&(ida, ka, ca)), tb) if tb.is_none_or(|&(idb, _, _)| ida < idb) => {
                let (idf_t, wa) = weight(ida, ca);
                add_one(ka, idf_t, wa, true);
                if ka == TermKind::Word {
                    unmatched = unmatched.max(idf_t);
                }
                i += 1;
            }
            (_, Some(&(idb, kb, cb))) => {
                let (idf_t, wb) = weight(idb, cb);
                add_one(kb, idf_t, wb, false);
                if kb == TermKind::Word {
                    unmatched = unmatched.max(idf_t);
                }
                j += 1;
            }
            _ => break,
        }
    }
    let cos =
        |ab: f32, x: f32, y: f32| if x > 0.0 && y > 0.0 { f64::from(ab / (x.sqrt() * y.sqrt())).min(1.0) } else { 0.0 };
    let smaller = mass_a.min(mass_b);
    let containment = if smaller > 0.0 { f64::from(mass_shared / smaller).min(1.0) } else { 0.0 };
    let max_idf = idf.max_idf().max(1e-6);

    let number_conflict = match (a.numbers.is_empty(), b.numbers.is_empty()) {
        (false, false) if !a.numbers.iter().any(|n| b.numbers.contains(n)) => 1.0,
        (false, false) => 0.0,
        (true, true) => 0.0,
        _ => 0.5,
    };
    let intent_conflict = if a.intents != 0 && b.intents != 0 && a.intents & b.intents == 0 { 1.0 } else { 0.0 };
    let negation_conflict = if a.negated != b.negated { 1.0 } else { 0.0 };
    let total = f64::from(a.length) + f64::from(b.length);
    let length_gap = if total > 0.0 { (f64::from(a.length) - f64::from(b.length)).abs() / total } else { 0.0 };
    [
        cos(all_ab, all_a, all_b),
        cos(w_ab, w_a, w_b),
        cos(g_ab, g_a, g_b),
        containment,
        f64::from(unmatched / max_idf).min(1.0),
        number_conflict,
        intent_conflict,
        negation_conflict,
        length_gap,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Flat;
    impl Idf for Flat {
        fn idf(&self, _: u32) -> f32 {
            2.0
        }
        fn max_idf(&self) -> f32 {
            4.0
        }
    }

    fn side<'a>(terms: &'a [(u32, TermKind, u16)], numbers: &'a [Box<str>]) -> Side<'a> {
        Side { terms, numbers, intents: 0, negated: false, length: terms.len() as u32 }
    }

    #[test]
    fn identical_sides_have_full_cosines_and_no_conflicts() {
        let t = [(1, TermKind::Word, 1), (2, TermKind::Bigram, 1), (3, TermKind::Char, 2)];
        let f = features(&side(&t, &[]), &side(&t, &[]), &Flat);
        assert!((f[0] - 1.0).abs() < 1e-6 && (f[1] - 1.0).abs() < 1e-6 && (f[2] - 1.0).abs() < 1e-6, "{f:?}");
        assert!((f[3] - 1.0).abs() < 1e-6);
        assert_eq!(&f[4..], &[0.0; 5]);
    }

    #[test]
    fn disjoint_sides_share_nothing() {
        let a = [(1, TermKind::Word, 1)];
        let b = [(2, TermKind::Word, 1)];
        let f = features(&side(&a, &[]), &side(&b, &[]), &Flat);
        assert_eq!(f[0], 0.0);
        assert_eq!(f[3], 0.0);
        assert!((f[4] - 0.5).abs() < 1e-6, "unmatched word of idf 2 of at most 4");
    }

    #[test]
    fn numbers_conflict_when_none_is_shared() {
        let t = [(1, TermKind::Word, 1)];
        let three: [Box<str>; 1] = ["3".into()];
        let five: [Box<str>; 1] = ["5".into()];
        assert_eq!(features(&side(&t, &three), &side(&t, &five), &Flat)[5], 1.0);
        assert_eq!(features(&side(&t, &three), &side(&t, &three), &Flat)[5], 0.0);
        assert_eq!(features(&side(&t, &three), &side(&t, &[]), &Flat)[5], 0.5);
    }

    #[test]
    fn scores_run_from_zero_to_one_and_conflicts_reduce_them() {
        let m = DEFAULT_MODEL;
        let mut same = [0f64; FEATURES];
        same[..4].copy_from_slice(&[1.0, 1.0, 1.0, 1.0]);
        assert!((m.score(&same) - 1.0).abs() < 1e-9);
        assert_eq!(m.score(&[0f64; FEATURES]), 0.0);
        let mut numbers = same;
        numbers[5] = 1.0;
        assert!(m.score(&numbers) < m.score(&same));
        let mut one_sided = same;
        one_sided[5] = 0.5;
        assert!(m.score(&numbers) < m.score(&one_sided) && m.score(&one_sided) < 1.0);
    }

    #[test]
    fn fitting_finds_the_feature_that_separates() {
        let mut samples = Vec::new();
        for i in 0..200 {
            let x = f64::from(i) / 200.0;
            let mut f = [0f64; FEATURES];
            f[3] = x;
            f[0] = 0.5;
            samples.push((f, x > 0.5));
        }
        let (model, f1, threshold) = fit(&samples);
        assert!(model.mix[3] > 0.0, "{model:?}");
        assert!(f1 > 0.99, "{f1}");
        assert!(threshold > 0.0 && threshold < 1.0);
    }
}
