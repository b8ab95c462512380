//! Scores the similar-demand engine's same/different decision on labelled sentence pairs, beside the
//! plain character-bigram Jaccard baseline computed in the same run.
//!
//! ```sh
//! cargo run --release -p tingjian-tests --bin eval-similarity -- ../shared/eval/lcqmc_dev.tsv ../shared/eval/afqmc_dev.tsv
//! # refit the model's weights and the default threshold on a tuning file first:
//! cargo run --release -p tingjian-tests --bin eval-similarity -- --fit ../shared/eval/afqmc_train.tsv ../shared/eval/afqmc_dev.tsv
//! ```
//!
//! Each file holds one pair a line: `sentence1 <TAB> sentence2 <TAB> label` (1 = same meaning). The
//! engine indexes every distinct sentence of the file (as it indexes the stored demands: the IDF of a
//! term comes from the collection it searches), then scores each pair. Printed per file:
//! precision, recall and F1 of the engine at its configured threshold, of the engine at the
//! threshold best for that file, and of the baseline at the threshold best for that file.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Instant;

use tingjian_intake::domain::similarity::score::{self, FEATURE_NAMES, FEATURES, Model};
use tingjian_intake::domain::similarity::{DEFAULT_MATCH_THRESHOLD, Index, Item, ItemKind, Probe};

struct Pair {
    a: usize,
    b: usize,
    same: bool,
}

struct Corpus {
    name: String,
    sentences: Vec<String>,
    pairs: Vec<Pair>,
}

fn load(path: &str) -> Result<Corpus, String> {
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
    Ok(Corpus { name, sentences, pairs })
}

fn index_of(corpus: &Corpus, model: Model) -> Index {
    let mut index = Index::with_model(model);
    for (i, s) in corpus.sentences.iter().enumerate() {
        let item = Item {
            kind: ItemKind::Demand,
            id: i.to_string(),
            title: String::new(),
            category: String::new(),
            common_issue_id: None,
            enterprise_id: None,
            version: 1,
        };
        index.upsert(item, s);
    }
    index
}

fn probes(corpus: &Corpus, index: &Index) -> Vec<Probe> {
    (0..corpus.sentences.len())
        .map(|i| index.probe_item(ItemKind::Demand, &i.to_string()).unwrap_or_default())
        .collect()
}

/// The plain baseline: Jaccard similarity of the sets of character bigrams of the raw sentences.
fn bigram_jaccard(a: &str, b: &str) -> f64 {
    let grams = |s: &str| -> std::collections::HashSet<(char, char)> {
        let chars: Vec<char> = s.chars().collect();
        if chars.len() == 1 {
            return [(chars[0], '\0')].into_iter().collect();
        }
        chars.windows(2).map(|w| (w[0], w[1])).collect()
    };
    let (x, y) = (grams(a), grams(b));
    let union = x.union(&y).count();
    if union == 0 { 1.0 } else { x.intersection(&y).count() as f64 / union as f64 }
}

#[derive(Debug, Clone, Copy, Default)]
struct Outcome {
    precision: f64,
    recall: f64,
    f1: f64,
    threshold: f64,
}

fn at_threshold(scores: &[(f64, bool)], threshold: f64) -> Outcome {
    let tp = scores.iter().filter(|(s, y)| *s >= threshold && *y).count() as f64;
    let predicted = scores.iter().filter(|(s, _)| *s >= threshold).count() as f64;
    let positives = scores.iter().filter(|(_, y)| *y).count() as f64;
    let precision = if predicted > 0.0 { tp / predicted } else { 0.0 };
    let recall = if positives > 0.0 { tp / positives } else { 0.0 };
    let f1 = if precision + recall > 0.0 { 2.0 * precision * recall / (precision + recall) } else { 0.0 };
    Outcome { precision, recall, f1, threshold }
}

/// The threshold with the best F1 (deciding "same" at or above it).
fn best(scores: &[(f64, bool)]) -> Outcome {
    let mut sorted: Vec<(f64, bool)> = scores.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = sorted.iter().filter(|(_, y)| *y).count() as f64;
    let (mut tp, mut fp) = (0f64, 0f64);
    let mut out = Outcome::default();
    let mut i = 0;
    while i < sorted.len() {
        let t = sorted[i].0;
        while i < sorted.len() && sorted[i].0 == t {
            if sorted[i].1 { tp += 1.0 } else { fp += 1.0 }
            i += 1;
        }
        let p = tp / (tp + fp);
        let r = if positives > 0.0 { tp / positives } else { 0.0 };
        let f1 = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
        if f1 > out.f1 {
            out = Outcome { precision: p, recall: r, f1, threshold: t };
        }
    }
    out
}

struct Args {
    dump: Option<String>,
    fit: Option<String>,
    model: Option<Model>,
    threshold: Option<f64>,
    files: Vec<String>,
    errors: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { dump: None, fit: None, model: None, threshold: None, files: Vec::new(), errors: 0 };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dump-features" => args.dump = Some(it.next().ok_or("--dump-features needs a directory")?),
            "--fit" => args.fit = Some(it.next().ok_or("--fit needs a file")?),
            "--model" => {
                let v = it.next().ok_or("--model needs bias,w1,…")?;
                let numbers: Vec<f64> =
                    v.split(',').map(|x| x.trim().parse::<f64>()).collect::<Result<_, _>>().map_err(|_| format!("--model {v}: not numbers"))?;
                if numbers.len() != FEATURES + 1 {
                    return Err(format!("--model needs {} numbers: the bias and one weight per feature", FEATURES + 1));
                }
                let mut weights = [0f64; FEATURES];
                weights.copy_from_slice(&numbers[1..]);
                args.model = Some(Model { bias: numbers[0], weights });
            }
            "--threshold" => {
                let v = it.next().ok_or("--threshold needs a value")?;
                args.threshold = Some(v.parse().map_err(|_| format!("--threshold {v}: not a number"))?);
            }
            "--show-errors" => {
                let v = it.next().ok_or("--show-errors needs a count")?;
                args.errors = v.parse().map_err(|_| format!("--show-errors {v}: not a count"))?;
            }
            "-h" | "--help" => {
                println!(
                    "eval-similarity [--fit TRAIN.tsv] [--threshold T] [--show-errors N] FILE.tsv…\n\
                     Scores the engine's same/different decision on labelled pairs beside the character-bigram Jaccard baseline."
                );
                std::process::exit(0);
            }
            other if other.starts_with("--") => return Err(format!("unknown option {other}")),
            _ => args.files.push(a),
        }
    }
    if args.files.is_empty() && args.fit.is_none() {
        return Err("give at least one labelled file (sentence1<TAB>sentence2<TAB>label)".into());
    }
    Ok(args)
}

fn features_of(corpus: &Corpus, index: &Index) -> Vec<([f64; FEATURES], bool)> {
    let probes = probes(corpus, index);
    corpus.pairs.iter().map(|p| (index.pair_features(&probes[p.a], &probes[p.b]), p.same)).collect()
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("eval-similarity: {e}");
            return ExitCode::from(2);
        }
    };
    let mut model = args.model.unwrap_or(score::DEFAULT_MODEL);
    let mut threshold = args.threshold.unwrap_or(DEFAULT_MATCH_THRESHOLD);
    if let Some(path) = &args.fit {
        let corpus = match load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("eval-similarity: {e}");
                return ExitCode::from(2);
            }
        };
        let started = Instant::now();
        let index = index_of(&corpus, model);
        let samples = features_of(&corpus, &index);
        model = score::fit(&samples, 1.0, true);
        let scored: Vec<(f64, bool)> = samples.iter().map(|(f, y)| (model.score(f), *y)).collect();
        let chosen = best(&scored);
        if args.threshold.is_none() {
            threshold = (chosen.threshold * 1000.0).floor() / 1000.0;
        }
        println!("fitted on {} ({} pairs) in {:.1} s:", corpus.name, corpus.pairs.len(), started.elapsed().as_secs_f64());
        println!("pub const DEFAULT_MODEL: Model = Model {{");
        println!("    bias: {:.4},", model.bias);
        let weights: Vec<String> = model.weights.iter().map(|w| format!("{w:.4}")).collect();
        println!("    weights: [{}],", weights.join(", "));
        println!("}};");
        for (name, w) in FEATURE_NAMES.iter().zip(model.weights) {
            println!("  {name:<18} {w:>8.4}");
        }
        println!(
            "best threshold on {}: {:.3} (F1 {:.3}, precision {:.3}, recall {:.3})\n",
            corpus.name, chosen.threshold, chosen.f1, chosen.precision, chosen.recall
        );
    }

    println!(
        "{:<18} {:>6} | {:^26} | {:^33} | {:^33}",
        "file",
        "pairs",
        format!("engine @ {threshold:.3}"),
        "engine, best threshold",
        "bigram Jaccard, best threshold"
    );
    println!("{:<18} {:>6} | {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} {:>6} | {:>8} {:>8} {:>8} {:>6}", "", "", "P", "R", "F1", "P", "R", "F1", "at", "P", "R", "F1", "at");
    let mut worse = false;
    for path in &args.files {
        let corpus = match load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("eval-similarity: {e}");
                return ExitCode::from(2);
            }
        };
        let started = Instant::now();
        let index = index_of(&corpus, model);
        let probes = probes(&corpus, &index);
        let scores: Vec<(f64, bool)> =
            corpus.pairs.iter().map(|p| (index.pair_score(&probes[p.a], &probes[p.b]), p.same)).collect();
        let elapsed = started.elapsed();
        if let Some(dir) = &args.dump {
            let mut out = String::new();
            for (f, y) in features_of(&corpus, &index) {
                let row: Vec<String> = f.iter().map(|x| format!("{x:.5}")).collect();
                out.push_str(&format!("{},{}\n", row.join(","), u8::from(y)));
            }
            let file = format!("{dir}/{}.csv", corpus.name);
            if let Err(e) = std::fs::write(&file, out) {
                eprintln!("eval-similarity: cannot write {file}: {e}");
                return ExitCode::FAILURE;
            }
        }
        let baseline: Vec<(f64, bool)> = corpus
            .pairs
            .iter()
            .map(|p| (bigram_jaccard(&corpus.sentences[p.a], &corpus.sentences[p.b]), p.same))
            .collect();
        let fixed = at_threshold(&scores, threshold);
        let engine_best = best(&scores);
        let base = best(&baseline);
        println!(
            "{:<18} {:>6} | {:>8.3} {:>8.3} {:>8.3} | {:>8.3} {:>8.3} {:>8.3} {:>6.3} | {:>8.3} {:>8.3} {:>8.3} {:>6.3}",
            corpus.name,
            corpus.pairs.len(),
            fixed.precision,
            fixed.recall,
            fixed.f1,
            engine_best.precision,
            engine_best.recall,
            engine_best.f1,
            engine_best.threshold,
            base.precision,
            base.recall,
            base.f1,
            base.threshold
        );
        println!(
            "{:<18} F1 against the baseline's best: {:+.3} at the configured threshold, {:+.3} at the best ({} sentences indexed and {} pairs scored in {:.2} s)",
            "",
            fixed.f1 - base.f1,
            engine_best.f1 - base.f1,
            corpus.sentences.len(),
            corpus.pairs.len(),
            elapsed.as_secs_f64()
        );
        worse |= fixed.f1 < base.f1;
        if args.errors > 0 {
            let mut wrong: Vec<(f64, &Pair)> = scores
                .iter()
                .zip(&corpus.pairs)
                .filter(|((s, y), _)| (*s >= threshold) != *y)
                .map(|((s, _), p)| (*s, p))
                .collect();
            wrong.sort_by(|a, b| (b.0 - threshold).abs().total_cmp(&(a.0 - threshold).abs()));
            for (s, p) in wrong.into_iter().take(args.errors) {
                let kind = if p.same { "missed" } else { "wrong" };
                println!("  {kind} {s:.3}  {}  |  {}", corpus.sentences[p.a], corpus.sentences[p.b]);
            }
        }
    }
    if worse { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
