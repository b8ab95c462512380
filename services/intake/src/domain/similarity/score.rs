//! How similar two analysed texts are: a handful of comparisons (features) combined by a logistic
//! model into a score in [0, 1] — the engine's estimate that the two ask for the same thing.
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
//! The weights were fitted by logistic regression on labelled pairs (`eval-similarity --fit`, see the
//! README); identical texts score 1.

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

/// A logistic model over the features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Model {
    /// Intercept.
    pub bias: f64,
    /// One weight per feature, in [`FEATURE_NAMES`] order.
    pub weights: [f64; FEATURES],
}

/// The fitted model (see the module documentation).
pub const DEFAULT_MODEL: Model = Model {
    bias: -0.2579,
    weights: [0.6118, 0.4092, 0.9748, -0.3098, 0.2213, -0.0397, -0.0888, -0.4079, -0.6556],
};

impl Model {
    /// The score of a feature vector: the logistic function of the weighted sum.
    pub fn score(&self, features: &[f64; FEATURES]) -> f64 {
        let z = self.bias + self.weights.iter().zip(features).map(|(w, f)| w * f).sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }
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
    let cos = |ab: f32, x: f32, y: f32| if x > 0.0 && y > 0.0 { f64::from(ab / (x.sqrt() * y.sqrt())).min(1.0) } else { 0.0 };
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

/// Fits a logistic model to labelled feature vectors by Newton's method with a small ridge
/// penalty `l2`; positives and negatives weigh the same in total (`balanced`) or as they come.
pub fn fit(samples: &[([f64; FEATURES], bool)], l2: f64, balanced: bool) -> Model {
    const N: usize = FEATURES + 1;
    let positives = samples.iter().filter(|(_, y)| *y).count().max(1) as f64;
    let negatives = (samples.len() as f64 - positives).max(1.0);
    let (wp, wn) = if balanced {
        (samples.len() as f64 / (2.0 * positives), samples.len() as f64 / (2.0 * negatives))
    } else {
        (1.0, 1.0)
    };
    let mut beta = [0f64; N];
    for _ in 0..50 {
        let mut grad = [0f64; N];
        let mut hess = [[0f64; N]; N];
        for (x, y) in samples {
            let mut row = [1f64; N];
            row[1..].copy_from_slice(x);
            let z: f64 = row.iter().zip(&beta).map(|(a, b)| a * b).sum();
            let p = 1.0 / (1.0 + (-z).exp());
            let weight = if *y { wp } else { wn };
            let target = if *y { 1.0 } else { 0.0 };
            for r in 0..N {
                grad[r] += weight * (p - target) * row[r];
                for c in 0..N {
                    hess[r][c] += weight * p * (1.0 - p) * row[r] * row[c];
                }
            }
        }
        for r in 1..N {
            grad[r] += l2 * beta[r];
            hess[r][r] += l2;
        }
        let Some(step) = solve(hess, grad) else { break };
        let mut change = 0f64;
        for r in 0..N {
            beta[r] -= step[r];
            change = change.max(step[r].abs());
        }
        if change < 1e-8 {
            break;
        }
    }
    let mut weights = [0f64; FEATURES];
    weights.copy_from_slice(&beta[1..]);
    Model { bias: beta[0], weights }
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting; `None` if `a` is singular.
fn solve<const N: usize>(mut a: [[f64; N]; N], mut b: [f64; N]) -> Option<[f64; N]> {
    for col in 0..N {
        let pivot = (col..N).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        for row in col + 1..N {
            let f = a[row][col] / a[col][col];
            for k in col..N {
                a[row][k] -= f * a[col][k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0f64; N];
    for row in (0..N).rev() {
        let s: f64 = (row + 1..N).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    Some(x)
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
    fn fitting_separates_a_separable_feature() {
        let mut samples = Vec::new();
        for i in 0..200 {
            let x = f64::from(i) / 200.0;
            let mut f = [0f64; FEATURES];
            f[0] = x;
            samples.push((f, x > 0.5));
        }
        let model = fit(&samples, 0.1, true);
        assert!(model.weights[0] > 5.0, "{model:?}");
        let mut high = [0f64; FEATURES];
        high[0] = 0.9;
        let mut low = [0f64; FEATURES];
        low[0] = 0.1;
        assert!(model.score(&high) > 0.8 && model.score(&low) < 0.2);
    }
}
