//! The similar-demand engine at scale: building its index, the top-10 most similar items to a text,
//! and clustering, each beside a brute-force baseline measured in the same run.
//!
//! ```text
//! cargo run --release -p tingjian-tests --bin bench-similarity -- \
//!     [--corpus ../shared/eval/afqmc_train.tsv] [--synthetic 1000000] [--queries 1000] [--brute 30] \
//!     [--scope 10000] [--pairs 2000] [--threads 2]
//! ```
//!
//! Two collections: the distinct sentences of a labelled pair file (about 68,000 in `afqmc_train.tsv`)
//! and N synthetic demands written from templates of the city's enterprises, places and problems. For
//! each:
//! 1. **build**: every text analysed and indexed, one thread, as the service does at start;
//! 2. **top-10**: `--queries` texts of the collection, reworded, each asking for its 10 most similar
//!    items: latency p50/p99 through the index, and for `--brute` of them the brute-force answer
//!    (scoring every item), with the share of the brute-force top 10 the index also returns;
//! 3. **clustering**: a proposal over `--scope` demands, and over `--pairs` of them both the proposal
//!    and the all-pairs comparison a proposal without the index would need.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use tingjian_intake::domain::similarity::cluster::{self, ClusterOptions};
use tingjian_intake::domain::similarity::{Index, Item, ItemKind, Probe, SearchLimits, analyse};
use tingjian_runtime::settings::SimilaritySettings;
use tingjian_tests::pairs::{Rng, load};

struct Args {
    corpus: Option<String>,
    synthetic: usize,
    queries: usize,
    brute: usize,
    scope: usize,
    pairs: usize,
    threads: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: bench-similarity [--corpus FILE.tsv|none] [--synthetic N] [--queries Q] [--brute B] [--scope S] \
         [--pairs P] [--threads T]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        corpus: Some("../shared/eval/afqmc_train.tsv".into()),
        synthetic: 1_000_000,
        queries: 1_000,
        brute: 30,
        scope: 10_000,
        pairs: 2_000,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        let number = || value.parse::<usize>().unwrap_or_else(|_| usage());
        match flag.as_str() {
            "--corpus" => args.corpus = if value == "none" { None } else { Some(value.clone()) },
            "--synthetic" => args.synthetic = number(),
            "--queries" => args.queries = number(),
            "--brute" => args.brute = number(),
            "--scope" => args.scope = number(),
            "--pairs" => args.pairs = number(),
            "--threads" => args.threads = number().max(1),
            _ => usage(),
        }
    }
    args
}

const PLACES: &[&str] =
    &["定海区", "普陀区", "岱山县", "嵊泗县", "新城", "沈家门", "六横岛", "金塘岛", "朱家尖", "长峙岛"];
const SUBJECTS: &[&str] = &[
    "远洋渔船",
    "水产加工厂",
    "冷链仓储",
    "港口码头",
    "船舶修造",
    "石化园区",
    "旅游民宿",
    "海岛物流",
    "集装箱运输",
    "餐饮门店",
    "电子商务",
    "跨境贸易",
    "海洋科技",
    "新材料",
    "汽车零部件",
    "绿色石化",
    "海水养殖",
    "船用设备",
    "港航服务",
    "文旅项目",
];
const PROBLEMS: &[&str] = &[
    "抵押贷款利率偏高",
    "融资难融资贵",
    "项目审批周期长",
    "工业用地指标紧张",
    "用电成本高",
    "旺季招工难",
    "人才住房难落实",
    "职工子女入学难",
    "发明专利申请慢",
    "税费减免政策不清楚",
    "出口退税到账慢",
    "物流运输成本高",
    "航线班次少",
    "进出道路拥堵",
    "停车位严重不足",
    "污水处理能力不足",
    "环评审批手续繁琐",
    "消防验收标准不统一",
    "证照办理跑多次",
    "技改补贴发放慢",
    "冷库用地审批难",
    "渔船燃油补贴减少",
    "码头泊位紧张",
    "网络信号差",
    "天然气供应不稳定",
    "厂房租金上涨",
    "海关查验时间长",
    "银行抽贷断贷",
    "担保费率高",
    "应收账款拖欠",
];
const DETAILS: &[&str] = &[
    "已影响正常生产经营",
    "今年以来情况更加突出",
    "多家企业都有反映",
    "企业资金周转压力很大",
    "已经持续半年以上",
    "去年曾经反映过但未解决",
    "对扩大产能造成制约",
    "员工意见比较大",
    "订单交付受到影响",
    "企业负担明显加重",
];
const REQUESTS: &[&str] = &[
    "希望有关部门协调解决",
    "建议出台针对性扶持政策",
    "希望简化办事流程",
    "请求加快审批进度",
    "希望加大资金支持力度",
    "建议建立常态化沟通机制",
    "希望尽快落实相关政策",
    "请求政府牵头协调",
    "建议优化服务",
    "希望给予适当补贴",
];
const OPENINGS: &[&str] = &["我们", "本企业", "我公司", "", "园区内", ""];

/// Synthetic demand number `n`: a title and a text. Demands of one (subject, problem) pair are worded
/// differently but ask for the same thing, so the collection has duplicates to find and group.
fn synthetic_demand(rng: &mut Rng) -> (String, String) {
    let place = rng.pick(PLACES);
    let subject = rng.pick(SUBJECTS);
    let problem = rng.pick(PROBLEMS);
    let detail = rng.pick(DETAILS);
    let request = rng.pick(REQUESTS);
    let opening = rng.pick(OPENINGS);
    let number = rng.below(50) + 1;
    let title = match rng.below(3) {
        0 => format!("{subject}{problem}"),
        1 => format!("{place}{subject}企业{problem}"),
        _ => format!("关于{subject}{problem}的诉求"),
    };
    let text = match rng.below(3) {
        0 => format!("{opening}{place}{subject}企业反映{problem}，{detail}，{request}。"),
        1 => format!("{place}{number}家{subject}企业{problem}，{detail}。{request}。"),
        _ => format!("{opening}是{place}的{subject}企业，{problem}，{request}，{detail}。"),
    };
    (title, text)
}

/// Rewords a text the way a person asking again would: another opening, a particle, punctuation.
fn reworded(text: &str, rng: &mut Rng) -> String {
    let openings = ["请问", "你好，", "反映一下：", "", "我想咨询，"];
    let closings = ["", "。", "，谢谢", "！", "吗"];
    format!("{}{}{}", rng.pick(&openings), text.trim_end_matches('。'), rng.pick(&closings))
}

fn item(id: usize, title: &str) -> Item {
    Item {
        kind: ItemKind::Demand,
        id: id.to_string(),
        title: title.to_owned(),
        category: String::new(),
        common_issue_id: None,
        enterprise_id: None,
        version: 1,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    let v = d.as_secs_f64() * 1000.0;
    if v >= 100.0 {
        format!("{v:.0} ms")
    } else if v >= 1.0 {
        format!("{v:.1} ms")
    } else {
        format!("{v:.2} ms")
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// One collection measured.
fn measure(name: &str, docs: &[(String, String)], args: &Args) {
    let settings = SimilaritySettings::default();
    println!("\n## {name}: {} texts", docs.len());
    let memory_before = resident_mb();
    let started = Instant::now();
    let mut index = Index::new();
    for (i, (title, text)) in docs.iter().enumerate() {
        index.upsert(item(i, title), &format!("{title}。{text}"));
    }
    let build = started.elapsed();
    let memory = match (memory_before, resident_mb()) {
        (Some(a), Some(b)) => format!(", about {:.0} MB resident", b - a),
        _ => String::new(),
    };
    println!(
        "build: {} texts in {} = {:.0} texts/s (one thread), {} distinct terms{memory}",
        docs.len(),
        secs(build),
        docs.len() as f64 / build.as_secs_f64(),
        index.term_count()
    );

    // Top 10 through the index, for reworded texts of the collection.
    let mut rng = Rng::new(0x5eed_1234_abcd);
    let queries: Vec<(usize, Probe)> = (0..args.queries)
        .map(|_| {
            let i = rng.below(docs.len());
            let (title, text) = &docs[i];
            (i, index.probe(&analyse(&reworded(&format!("{title}。{text}"), &mut rng))))
        })
        .collect();
    let limits = SearchLimits { limit: 10, min_score: 0.0 };
    let mut latencies = Vec::with_capacity(queries.len());
    let mut found_self = 0usize;
    let mut answers = Vec::with_capacity(queries.len());
    for (i, probe) in &queries {
        let t = Instant::now();
        let hits = index.search(probe, |_| true, limits);
        latencies.push(t.elapsed());
        let own = i.to_string();
        if hits.iter().any(|h| h.item.id == own) {
            found_self += 1;
        }
        answers.push(hits);
    }
    latencies.sort();
    // The brute-force baseline: every item scored, for a sample of the same queries.
    let brute_n = args.brute.min(queries.len());
    let mut brute = Vec::with_capacity(brute_n);
    let mut agreement = 0usize;
    let mut compared = 0usize;
    let (mut mean_fast, mut mean_exact) = (0f64, 0f64);
    for (k, (_, probe)) in queries.iter().take(brute_n).enumerate() {
        let t = Instant::now();
        let exact = index.search_exhaustive(probe, |_| true, limits);
        brute.push(t.elapsed());
        let fast: HashSet<&str> = answers[k].iter().map(|h| h.item.id.as_str()).collect();
        mean_fast += answers[k].iter().map(|h| h.score).sum::<f64>() / answers[k].len().max(1) as f64;
        mean_exact += exact.iter().map(|h| h.score).sum::<f64>() / exact.len().max(1) as f64;
        // Ties at the tenth score may be broken differently; count the exact answers scoring above it.
        let tenth = exact.last().map_or(0.0, |h| h.score);
        for hit in exact.iter().filter(|h| h.score > tenth || exact.len() < 10) {
            compared += 1;
            agreement += usize::from(fast.contains(hit.item.id.as_str()));
        }
    }
    brute.sort();
    let p50 = percentile(&latencies, 50.0);
    let brute_p50 = percentile(&brute, 50.0);
    println!(
        "top-10 through the index ({} queries): p50 {}, p99 {}, max {}; the reworded text's own demand found in {:.1} %",
        queries.len(),
        ms(p50),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default()),
        100.0 * found_self as f64 / queries.len().max(1) as f64
    );
    println!(
        "top-10 by brute force ({} of the same queries, every item scored): p50 {}, p99 {} — the index is {:.0}× faster at p50; it returns {:.1} % of the brute-force top 10 (mean score of its top 10 {:.3}, brute force {:.3})",
        brute_n,
        ms(brute_p50),
        ms(percentile(&brute, 99.0)),
        brute_p50.as_secs_f64() / p50.as_secs_f64().max(1e-9),
        100.0 * agreement as f64 / compared.max(1) as f64,
        mean_fast / brute_n.max(1) as f64,
        mean_exact / brute_n.max(1) as f64
    );

    // Clustering: a proposal over a scope, and over a sample beside all pairs.
    let options =
        ClusterOptions { threshold: settings.cluster_threshold, min_size: 2, neighbours: 10, threads: args.threads };
    let scope: Vec<String> = (0..args.scope.min(docs.len()))
        .map(|i| (i * docs.len() / args.scope.min(docs.len()).max(1)).to_string())
        .collect();
    let t = Instant::now();
    let groups = cluster::propose(&index, &scope, options);
    let cluster_time = t.elapsed();
    let grouped: usize = groups.iter().map(|g| g.demand_ids.len()).sum();
    println!(
        "clustering {} demands ({} threads, threshold {}): {} — {} groups holding {} demands, the largest {}",
        scope.len(),
        args.threads,
        settings.cluster_threshold,
        secs(cluster_time),
        groups.len(),
        grouped,
        groups.first().map_or(0, |g| g.demand_ids.len())
    );
    let sample: Vec<String> = scope.iter().take(args.pairs).cloned().collect();
    let t = Instant::now();
    let _ = cluster::propose(&index, &sample, options);
    let sample_time = t.elapsed();
    let probes: Vec<Probe> = sample.iter().filter_map(|id| index.probe_item(ItemKind::Demand, id)).collect();
    let t = Instant::now();
    let mut above = 0usize;
    for (a, pa) in probes.iter().enumerate() {
        for pb in &probes[a + 1..] {
            if index.pair_score(pa, pb) >= settings.cluster_threshold {
                above += 1;
            }
        }
    }
    let all_pairs = t.elapsed();
    let n = scope.len() as f64;
    let m = probes.len() as f64;
    let extrapolated = all_pairs.as_secs_f64() * (n * (n - 1.0)) / (m * (m - 1.0)).max(1.0);
    println!(
        "clustering {} of them: {} through the index; all {} pairs compared: {} ({} pairs above the threshold) — {:.0}× slower; for all {} demands the pairs alone would take about {:.0} s",
        probes.len(),
        secs(sample_time),
        probes.len() * probes.len().saturating_sub(1) / 2,
        secs(all_pairs),
        above,
        all_pairs.as_secs_f64() / sample_time.as_secs_f64().max(1e-9),
        scope.len(),
        extrapolated
    );
}

fn main() -> ExitCode {
    let args = parse_args();
    println!("# bench-similarity ({} threads for clustering)", args.threads);
    if let Some(path) = &args.corpus {
        match load(path) {
            Ok(file) => {
                let docs: Vec<(String, String)> = file.sentences.into_iter().map(|s| (s, String::new())).collect();
                measure(&format!("distinct sentences of {}", file.name), &docs, &args);
            }
            Err(e) => {
                eprintln!("bench-similarity: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if args.synthetic > 0 {
        let mut rng = Rng::new(0x7a6f_7573_6861_6e21);
        let docs: Vec<(String, String)> = (0..args.synthetic).map(|_| synthetic_demand(&mut rng)).collect();
        measure("synthetic demands", &docs, &args);
    }
    ExitCode::SUCCESS
}
