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

use std::process::ExitCode;
use std::time::Instant;

use tingjian_intake::domain::similarity::score::{self, FEATURES, Model};
use tingjian_intake::domain::similarity::{Index, Item, ItemKind, Probe};
use tingjian_runtime::settings::SimilaritySettings;
use tingjian_tests::pairs::{Pair, PairFile, Rng, load};

fn index_of(corpus: &PairFile, model: Model) -> Index {
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

fn probes(corpus: &PairFile, index: &Index) -> Vec<Probe> {
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
            if sorted[i].1 {
                tp += 1.0
            } else {
                fp += 1.0
            }
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

/// The lowest threshold whose precision reaches `precision`.
fn strict(scores: &[(f64, bool)], precision: f64) -> Outcome {
    let mut thresholds: Vec<f64> = scores.iter().map(|(s, _)| *s).collect();
    thresholds.sort_by(f64::total_cmp);
    thresholds.dedup();
    for t in thresholds {
        let o = at_threshold(scores, t);
        if o.precision >= precision {
            return o;
        }
    }
    at_threshold(scores, 1.0)
}

struct Args {
    sweep: Vec<f64>,
    synthetic: usize,
    dump: Option<String>,
    fit: Option<String>,
    model: Option<Model>,
    threshold: Option<f64>,
    files: Vec<String>,
    errors: usize,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        sweep: Vec::new(),
        synthetic: 0,
        dump: None,
        fit: None,
        model: None,
        threshold: None,
        files: Vec::new(),
        errors: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--dump-features" => args.dump = Some(it.next().ok_or("--dump-features needs a directory")?),
            "--sweep" => {
                let v = it.next().ok_or("--sweep needs thresholds, e.g. 0.1,0.2,0.3")?;
                args.sweep = v
                    .split(',')
                    .map(|x| x.trim().parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--sweep {v}: not numbers"))?;
            }
            "--synthetic" => {
                let v = it.next().ok_or("--synthetic needs a count")?;
                args.synthetic = v.parse().map_err(|_| format!("--synthetic {v}: not a count"))?;
            }
            "--fit" => args.fit = Some(it.next().ok_or("--fit needs a file")?),
            "--model" => {
                let v = it.next().ok_or("--model needs eight numbers")?;
                let n: Vec<f64> = v
                    .split(',')
                    .map(|x| x.trim().parse::<f64>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| format!("--model {v}: not numbers"))?;
                let [c, w, b, t, number, intent, negation, unmatched] = n[..] else {
                    return Err("--model needs cosine,word,bigram,containment,number,intent,negation,unmatched".into());
                };
                args.model = Some(Model { mix: [c, w, b, t], number, intent, negation, unmatched });
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
                    "eval-similarity [--fit TRAIN.tsv [--synthetic N]] [--model …] [--threshold T] [--sweep T1,T2…] \
                     [--show-errors N] [--dump-features DIR] FILE.tsv…\n\
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

/// Pairs made from unlabelled sentences of the tuning file, added to its labelled pairs when fitting,
/// so the model also learns what the labelled pairs barely show:
/// - a rewording (a polite opening or closing, another question word of the same intent, a synonym
///   of the domain list, a dropped particle) is the same request;
/// - the same sentence about another thing (one content word replaced by another from the corpus, or
///   another number) or asking another question (为什么 instead of 怎么) is a different request;
/// - two sentences drawn at random are different requests.
fn synthetic_pairs(corpus: &PairFile, per_kind: usize, seed: u64) -> PairFile {
    use tingjian_intake::domain::similarity::text;
    let mut rng = Rng::new(seed);
    let segmented: Vec<Vec<(String, bool)>> = corpus.sentences.iter().map(|s| text::words(s)).collect();
    let content_words: Vec<&str> =
        segmented.iter().flat_map(|w| w.iter().filter(|(_, c)| *c).map(|(w, _)| w.as_str())).collect();
    let openings = ["请问", "你好，", "您好，请问", "我想问一下，", "咨询一下，"];
    let closings = ["吗", "呢", "？", "，谢谢", "。"];
    let particles = ["的", "了", "我", "一下", "呢", "吗", "啊"];
    let mut out = PairFile { name: format!("{} (synthetic)", corpus.name), sentences: Vec::new(), pairs: Vec::new() };
    let push = |out: &mut PairFile, a: String, b: String, same: bool| {
        if a != b {
            out.sentences.push(a);
            out.sentences.push(b);
            let n = out.sentences.len();
            out.pairs.push(Pair { a: n - 2, b: n - 1, same });
        }
    };
    let n = corpus.sentences.len();
    let mut made = [0usize; 3];
    let mut attempts = 0;
    while made.iter().any(|&m| m < per_kind) && attempts < per_kind * 40 {
        attempts += 1;
        let i = rng.below(n);
        let words = &segmented[i];
        let original: String = words.iter().map(|(w, _)| w.as_str()).collect();
        let kind = rng.below(3);
        if made[kind] >= per_kind {
            continue;
        }
        match kind {
            // A rewording.
            0 => {
                let mut edited: Vec<String> = words.iter().map(|(w, _)| w.clone()).collect();
                match rng.below(4) {
                    0 => edited.insert(0, (*rng.pick(&openings)).to_owned()),
                    1 => edited.push((*rng.pick(&closings)).to_owned()),
                    2 => {
                        let swappable: Vec<(usize, Vec<&str>)> = edited
                            .iter()
                            .enumerate()
                            .filter_map(|(k, w)| {
                                let mut alternatives = text::same_intent(w);
                                if let Some(class) = text::synonym_class(w) {
                                    alternatives.extend(class.iter().filter(|c| *c != w));
                                }
                                (!alternatives.is_empty()).then_some((k, alternatives))
                            })
                            .collect();
                        if swappable.is_empty() {
                            continue;
                        }
                        let (k, alternatives) = rng.pick(&swappable);
                        edited[*k] = (*rng.pick(alternatives)).to_owned();
                    }
                    _ => {
                        let droppable: Vec<usize> =
                            (0..edited.len()).filter(|&k| particles.contains(&edited[k].as_str())).collect();
                        if droppable.is_empty() {
                            continue;
                        }
                        edited.remove(*rng.pick(&droppable));
                    }
                }
                push(&mut out, original, edited.concat(), true);
            }
            // The same sentence about another thing, or asking another question.
            1 => {
                let mut edited: Vec<String> = words.iter().map(|(w, _)| w.clone()).collect();
                let content: Vec<usize> = (0..words.len()).filter(|&k| words[k].1).collect();
                let numbers: Vec<usize> =
                    (0..words.len()).filter(|&k| words[k].0.chars().all(|c| c.is_ascii_digit())).collect();
                let questions: Vec<usize> =
                    (0..words.len()).filter(|&k| !text::other_intents(&words[k].0).is_empty()).collect();
                match rng.below(3) {
                    0 if !numbers.is_empty() => {
                        let k = *rng.pick(&numbers);
                        let value: u64 = edited[k].parse().unwrap_or(1);
                        edited[k] = (value + 1 + rng.below(9) as u64).to_string();
                    }
                    1 if !questions.is_empty() => {
                        let k = *rng.pick(&questions);
                        edited[k] = (*rng.pick(&text::other_intents(&words[k].0))).to_owned();
                    }
                    _ if !content.is_empty() && !content_words.is_empty() => {
                        let k = *rng.pick(&content);
                        let replacement = *rng.pick(&content_words);
                        if replacement == edited[k]
                            || text::synonym_class(replacement).is_some_and(|c| c.contains(&edited[k].as_str()))
                        {
                            continue;
                        }
                        edited[k] = replacement.to_owned();
                    }
                    _ => continue,
                }
                push(&mut out, original, edited.concat(), false);
            }
            // Two sentences at random.
            _ => {
                let j = rng.below(n);
                if i == j {
                    continue;
                }
                push(&mut out, corpus.sentences[i].clone(), corpus.sentences[j].clone(), false);
            }
        }
        made[kind] += 1;
    }
    out
}

fn features_of(corpus: &PairFile, index: &Index) -> Vec<([f64; FEATURES], bool)> {
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
    let mut threshold = args.threshold.unwrap_or(SimilaritySettings::default().match_threshold);
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
        let (fitted, f1, at) = score::fit(&samples);
        model = fitted;
        println!(
            "chosen on the {} labelled pairs of {} in {:.1} s:",
            samples.len(),
            corpus.name,
            started.elapsed().as_secs_f64()
        );
        println!(
            "pub const DEFAULT_MODEL: Model = Model {{ mix: [{:.1}, {:.1}, {:.1}, {:.1}], number: {:.2}, intent: {:.2}, negation: {:.2}, unmatched: {:.2} }};",
            model.mix[0],
            model.mix[1],
            model.mix[2],
            model.mix[3],
            model.number,
            model.intent,
            model.negation,
            model.unmatched
        );
        println!("best F1 on {}: {f1:.3} at {at:.3}", corpus.name);
        if args.synthetic > 0 {
            // Thresholds for the service come from the task it does: telling a rewording of a request
            // from the same sentence about another thing and from an unrelated one.
            let synthetic = synthetic_pairs(&corpus, args.synthetic, 20_261_208);
            let mut with_synthetic = index_of(&corpus, model);
            for (k, s) in synthetic.sentences.iter().enumerate() {
                let item = Item {
                    kind: ItemKind::Demand,
                    id: format!("s{k}"),
                    title: String::new(),
                    category: String::new(),
                    common_issue_id: None,
                    enterprise_id: None,
                    version: 1,
                };
                with_synthetic.upsert(item, s);
            }
            let probes: Vec<Probe> = (0..synthetic.sentences.len())
                .map(|k| with_synthetic.probe_item(ItemKind::Demand, &format!("s{k}")).unwrap_or_default())
                .collect();
            let scored: Vec<(f64, bool)> = synthetic
                .pairs
                .iter()
                .map(|p| (with_synthetic.pair_score(&probes[p.a], &probes[p.b]), p.same))
                .collect();
            let match_at = best(&scored);
            let precise = strict(&scored, 0.95);
            println!(
                "synthetic pairs from {} ({} rewordings, {} edits of the subject or question, {} unrelated):",
                corpus.name,
                synthetic.pairs.iter().filter(|p| p.same).count(),
                args.synthetic,
                args.synthetic
            );
            println!(
                "  match threshold (best F1):          {:.3}  (F1 {:.3}, precision {:.3}, recall {:.3})",
                match_at.threshold, match_at.f1, match_at.precision, match_at.recall
            );
            println!(
                "  cluster threshold (precision 0.95): {:.3}  (F1 {:.3}, precision {:.3}, recall {:.3})",
                precise.threshold, precise.f1, precise.precision, precise.recall
            );
            if args.threshold.is_none() {
                threshold = (match_at.threshold * 100.0).floor() / 100.0;
            }
        }
        println!();
    }

    println!(
        "{:<18} {:>6} | {:^26} | {:^33} | {:^33}",
        "file",
        "pairs",
        format!("engine @ {threshold:.3}"),
        "engine, best threshold",
        "bigram Jaccard, best threshold"
    );
    println!(
        "{:<18} {:>6} | {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} {:>6} | {:>8} {:>8} {:>8} {:>6}",
        "", "", "P", "R", "F1", "P", "R", "F1", "at", "P", "R", "F1", "at"
    );
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
        for &t in &args.sweep {
            let o = at_threshold(&scores, t);
            println!("{:<18} at {t:.2}: precision {:.3}, recall {:.3}, F1 {:.3}", "", o.precision, o.recall, o.f1);
        }
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
    ExitCode::SUCCESS
}
