//! The scorecard and a breakdown over millions of cases, answered from the rollups, next to the same
//! figures computed by a GROUP BY over the raw case table, measured in the same run on PostgreSQL.
//!
//! ```text
//! cargo run --release -p tingjian-tests --bin bench-analytics -- [--cases N] [--runs R] [--postgres URL]
//! ```
//!
//! 1. generates N cases deterministically (dispatched over three years, 5 districts, 6 industries,
//!    10 categories, 40 units; replies, on-time replies, resolutions, evaluations and reopenings in
//!    realistic shares) and COPYs them into `case_fact` of a fresh schema migrated for analytics;
//! 2. adds up every case's contribution with the ingest's own contribution function, expands it to every
//!    subset of dimensions as the ingest does, and COPYs the rollup rows;
//! 3. times the store's scorecard of one quarter (without a filter and with a district filter) and the
//!    response-rate breakdown by unit (R runs each, p50 and p99), and the equivalent GROUP BY queries over
//!    `case_fact` (a few runs, median), checking that both give the same figures.
//!
//! The schema is dropped at the end.

use std::collections::HashMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone as _, Utc};
use sqlx::Connection;
use tingjian_analytics::domain::bucket::ALL;
use tingjian_analytics::store::Store;
use tingjian_analytics::store::ingest::contribution;
use tingjian_analytics::store::ingest::facts::CaseRow;
use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::supervision::v1::{EvaluationResult, ResultClass};
use tingjian_runtime::settings::DatabaseSettings;
use tingjian_runtime::time::{Period, PeriodKind};
use tingjian_runtime::{Database, Secret};
use tingjian_tests::events::unique_name;

const DISTRICTS: [&str; 5] = ["dinghai", "putuo", "daishan", "shengsi", "xinchengqu"];
const INDUSTRIES: [&str; 6] =
    ["ocean_fishing", "shipbuilding", "petrochemical", "port_logistics", "tourism", "aquatic_processing"];
const CATEGORIES: [&str; 10] = [
    "finance_credit",
    "land_planning",
    "talent",
    "tax",
    "approval",
    "infrastructure",
    "market",
    "technology",
    "labour",
    "environment",
];
const UNITS: usize = 40;

#[derive(Debug)]
struct Args {
    cases: u64,
    runs: usize,
    postgres: String,
}

fn usage() -> ! {
    eprintln!("usage: bench-analytics [--cases N] [--runs R] [--postgres URL]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        cases: 10_000_000,
        runs: 200,
        postgres: std::env::var("TINGJIAN_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--cases" => args.cases = value.parse().unwrap_or_else(|_| usage()),
            "--runs" => args.runs = value.parse().unwrap_or_else(|_| usage()),
            "--postgres" => args.postgres = value,
            _ => usage(),
        }
    }
    if args.cases == 0 || args.runs == 0 {
        usage();
    }
    args
}

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// 2022-01-01 00:00 in Asia/Shanghai: the first dispatch.
fn start() -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|z| z.with_ymd_and_hms(2022, 1, 1, 0, 0, 0).single())
        .map(|t| t.with_timezone(&Utc))
        .expect("valid instant")
}

const SPAN_SECONDS: u64 = 3 * 365 * 86_400;

/// Case `i`: its dimensions and its facts.
fn case(rng: &mut Rng, i: u64) -> (usize, usize, usize, usize, CaseRow) {
    let (d, n, c, u) = (
        rng.below(DISTRICTS.len() as u64) as usize,
        rng.below(INDUSTRIES.len() as u64) as usize,
        rng.below(CATEGORIES.len() as u64) as usize,
        rng.below(UNITS as u64) as usize,
    );
    let dispatch = start() + chrono::Duration::seconds(rng.below(SPAN_SECONDS) as i64);
    let mut row = CaseRow {
        enterprise_id: Some(format!("e{}", i % 200_000)),
        district: Some(DISTRICTS[d].to_owned()),
        industry: Some(INDUSTRIES[n].to_owned()),
        category: Some(CATEGORIES[c].to_owned()),
        unit_id: Some(format!("unit-{u:02}")),
        dispatch_time: Some(dispatch),
        ..Default::default()
    };
    // 92 % replied: a third within a week (to the hour), the others within 7–45 days.
    if rng.chance(92) {
        let seconds = if rng.chance(33) { rng.below(7 * 86_400) } else { 7 * 86_400 + rng.below(38 * 86_400) };
        let reply = dispatch + chrono::Duration::seconds(seconds as i64);
        row.first_reply_time = Some(reply);
        row.last_reply_time = Some(reply);
        row.first_reply_on_time = Some(rng.chance(85));
        row.last_reply_class = Some(if rng.chance(70) { ResultClass::A } else { ResultClass::B } as i32);
        if rng.chance(60) {
            row.last_eval_time = Some(reply + chrono::Duration::days(3));
            let result = match rng.below(100) {
                0..=69 => EvaluationResult::Satisfied,
                70..=89 => EvaluationResult::BasicallySatisfied,
                _ => EvaluationResult::Dissatisfied,
            };
            row.last_eval_result = Some(result as i32);
            row.reopened = rng.chance(6);
        }
    } else {
        row.deadline_reached = rng.chance(50);
    }
    (d, n, c, u, row)
}

/// Interned rollup keys: a counter and four dimension indexes (ALL = the last index), a day bucket and
/// a slot, packed in 64 bits so that tens of millions of rows fit in memory.
struct Interner {
    metrics: Vec<String>,
    by_name: HashMap<String, u64>,
}

const ALL_INDEX: u64 = 63;

impl Interner {
    fn metric(&mut self, name: &str) -> u64 {
        if let Some(i) = self.by_name.get(name) {
            return *i;
        }
        let i = self.metrics.len() as u64;
        self.metrics.push(name.to_owned());
        self.by_name.insert(name.to_owned(), i);
        i
    }
}

fn dim_index(value: &str, names: &[String]) -> u64 {
    if value == ALL { ALL_INDEX } else { names.iter().position(|n| n == value).expect("a known value") as u64 }
}

fn pack(metric: u64, dims: [u64; 4], bucket: i64, slot: i64) -> u64 {
    let bucket = u64::try_from(bucket).expect("a bucket after 1970") & 0xffff;
    (metric << 58)
        | (dims[0] << 52)
        | (dims[1] << 46)
        | (dims[2] << 40)
        | (dims[3] << 34)
        | (bucket << 16)
        | slot as u64
}

fn unpack(key: u64) -> (usize, [u64; 4], i64, i64) {
    let six = |shift: u32| (key >> shift) & 63;
    ((key >> 58) as usize, [six(52), six(46), six(40), six(34)], ((key >> 16) & 0xffff) as i64, (key & 0xffff) as i64)
}

fn settings(url: &str, schema: &str) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(url.to_owned()),
        schema: Some(schema.to_owned()),
        max_connections: 4,
        connect_timeout: Duration::from_secs(10),
    }
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(args));
}

fn ts(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(|| "\\N".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S+00").to_string())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "\\N".to_owned(), |v| v.to_string())
}

async fn run(args: Args) {
    let schema = unique_name("bench_analytics_");
    let db = match Database::connect(&settings(&args.postgres, &schema), &schema).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("bench-analytics: PostgreSQL unreachable at {}: {e}", args.postgres);
            std::process::exit(1);
        }
    };
    db.migrate(&tingjian_analytics::MODULE.migrations).await.expect("migrations");
    let Database::Postgres(pool) = &db else {
        eprintln!("bench-analytics: {} is not a PostgreSQL URL", args.postgres);
        std::process::exit(2);
    };

    let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let dims: [Vec<String>; 4] = [
        names(&DISTRICTS),
        names(&INDUSTRIES),
        names(&CATEGORIES),
        (0..UNITS).map(|u| format!("unit-{u:02}")).collect(),
    ];
    let mut interner = Interner { metrics: Vec::new(), by_name: HashMap::new() };

    // 1. Cases into case_fact, and their contributions added up by full key.
    eprintln!("generating and copying {} cases…", args.cases);
    let started = Instant::now();
    let mut full: HashMap<u64, i64> = HashMap::new();
    let mut rng = Rng(7);
    let mut conn = pool.acquire().await.expect("connection");
    let mut copy = conn
        .copy_in_raw(
            "COPY case_fact (case_id, enterprise_id, district, industry, category, unit_id, status, dispatch_time, \
             deadline_reached, first_reply_time, first_reply_on_time, last_reply_time, last_reply_class, \
             last_eval_time, last_eval_result, reopened) FROM STDIN",
        )
        .await
        .expect("copy cases");
    let mut buffer = String::with_capacity(1 << 21);
    for i in 0..args.cases {
        let (d, n, c, _, row) = case(&mut rng, i);
        use std::fmt::Write as _;
        let _ = writeln!(
            buffer,
            "c{i:010}\t{}\t{}\t{}\t{}\t{}\t2\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            row.enterprise_id.as_deref().unwrap_or_default(),
            DISTRICTS[d],
            INDUSTRIES[n],
            CATEGORIES[c],
            row.unit_id.as_deref().unwrap_or_default(),
            ts(row.dispatch_time),
            row.deadline_reached,
            ts(row.first_reply_time),
            opt(row.first_reply_on_time),
            ts(row.last_reply_time),
            opt(row.last_reply_class),
            ts(row.last_eval_time),
            opt(row.last_eval_result),
            row.reopened,
        );
        if buffer.len() > (1 << 20) {
            copy.send(buffer.as_bytes()).await.expect("copy chunk");
            buffer.clear();
        }
        for (key, value) in contribution::case(&row, &[]) {
            let metric = interner.metric(&key.metric);
            let idx = [
                dim_index(&key.dims[0], &dims[0]),
                dim_index(&key.dims[1], &dims[1]),
                dim_index(&key.dims[2], &dims[2]),
                dim_index(&key.dims[3], &dims[3]),
            ];
            *full.entry(pack(metric, idx, key.bucket, key.slot)).or_default() += value;
        }
    }
    copy.send(buffer.as_bytes()).await.expect("copy chunk");
    buffer.clear();
    copy.finish().await.expect("copy cases done");
    drop(conn);
    let cases_time = started.elapsed();
    eprintln!("cases copied in {:.1} s; {} contribution keys", cases_time.as_secs_f64(), full.len());

    // 2. Every subset of dimensions, as the ingest expands a contribution, then COPY the rollups.
    let started = Instant::now();
    let mut rollup: HashMap<u64, i64> = HashMap::with_capacity(full.len() * 4);
    for (key, value) in &full {
        let (metric, idx, bucket, slot) = unpack(*key);
        for mask in 0..16_u32 {
            let mut subset = idx;
            for (bit, v) in subset.iter_mut().enumerate() {
                if mask & (1 << bit) != 0 {
                    *v = ALL_INDEX;
                }
            }
            *rollup.entry(pack(metric as u64, subset, bucket, slot)).or_default() += value;
        }
    }
    drop(full);
    let rollup_rows = rollup.len();
    eprintln!("copying {rollup_rows} rollup rows…");
    sqlx::query("ALTER TABLE rollup DROP CONSTRAINT rollup_pkey").execute(pool).await.expect("drop key");
    let mut conn = pool.acquire().await.expect("connection");
    let mut copy = conn
        .copy_in_raw(
            "COPY rollup (metric, district, industry, category, unit, channel, bucket, slot, value) FROM STDIN",
        )
        .await
        .expect("copy rollups");
    let name = |d: usize, v: u64| if v == ALL_INDEX { ALL } else { dims[d][v as usize].as_str() };
    for (key, value) in &rollup {
        use std::fmt::Write as _;
        let (metric, idx, bucket, slot) = unpack(*key);
        let _ = writeln!(
            buffer,
            "{}\t{}\t{}\t{}\t{}\t*\t{bucket}\t{slot}\t{value}",
            interner.metrics[metric],
            name(0, idx[0]),
            name(1, idx[1]),
            name(2, idx[2]),
            name(3, idx[3]),
        );
        if buffer.len() > (1 << 20) {
            copy.send(buffer.as_bytes()).await.expect("copy chunk");
            buffer.clear();
        }
    }
    copy.send(buffer.as_bytes()).await.expect("copy chunk");
    copy.finish().await.expect("copy rollups done");
    drop(conn);
    drop(rollup);
    sqlx::query(
        "ALTER TABLE rollup ADD PRIMARY KEY (metric, district, industry, category, unit, channel, bucket, slot)",
    )
    .execute(pool)
    .await
    .expect("primary key");
    sqlx::query("VACUUM ANALYZE rollup").execute(pool).await.expect("analyze");
    sqlx::query("VACUUM ANALYZE case_fact").execute(pool).await.expect("analyze");
    let rollup_time = started.elapsed();
    eprintln!("rollups copied and indexed in {:.1} s", rollup_time.as_secs_f64());

    // 3. Timings.
    let store = Store::new(db.clone());
    let quarter = Period::new(PeriodKind::Quarter, 2023, 3, "period").expect("period");
    let (from, to) = quarter.utc_range();
    let none = pb::ScorecardFilter::default();
    let dinghai = pb::ScorecardFilter { district: "dinghai".into(), ..Default::default() };

    let mut lines = Vec::new();
    let (card, t) = timed(args.runs, || store.scorecard(&quarter, &none)).await;
    lines.push(("scorecard, 2023-Q3, no filter".to_owned(), t));
    let (card_d, t) = timed(args.runs, || store.scorecard(&quarter, &dinghai)).await;
    lines.push(("scorecard, 2023-Q3, district = dinghai".to_owned(), t));
    let (by_unit, t) =
        timed(args.runs, || store.breakdown(pb::Metric::ResponseRate, &quarter, pb::Dimension::Unit, &none, 0)).await;
    lines.push(("breakdown: response rate by unit, 2023-Q3".to_owned(), t));

    let raw_runs = 5;
    let raw_sql = |filter: &str, group: &str| {
        format!(
            "SELECT {group}, COUNT(*), COUNT(first_reply_time), \
             COUNT(*) FILTER (WHERE first_reply_time IS NOT NULL OR deadline_reached), \
             COUNT(*) FILTER (WHERE first_reply_time IS NOT NULL AND first_reply_on_time), \
             COUNT(*) FILTER (WHERE last_reply_class = {a}), COUNT(last_eval_time), \
             COUNT(*) FILTER (WHERE last_eval_time IS NOT NULL AND last_eval_result IN ({s}, {b})), \
             COUNT(*) FILTER (WHERE last_eval_time IS NOT NULL AND reopened) \
             FROM case_fact WHERE dispatch_time >= $1 AND dispatch_time < $2 {filter} GROUP BY {group}",
            a = ResultClass::A as i32,
            s = EvaluationResult::Satisfied as i32,
            b = EvaluationResult::BasicallySatisfied as i32,
        )
    };
    type Raw = (String, i64, i64, i64, i64, i64, i64, i64, i64);
    let raw = |sql: String| {
        let pool = pool.clone();
        async move {
            let mut times = Vec::new();
            let mut rows: Vec<Raw> = Vec::new();
            for _ in 0..raw_runs {
                let started = Instant::now();
                rows = sqlx::query_as(&sql).bind(from).bind(to).fetch_all(&pool).await.expect("raw query");
                times.push(started.elapsed());
            }
            times.sort();
            (rows, times[times.len() / 2])
        }
    };
    let (raw_all, raw_all_t) = raw(raw_sql("", "'*'::text")).await;
    let (raw_d, raw_d_t) = raw(raw_sql("AND district = 'dinghai'", "'*'::text")).await;
    let (raw_units, raw_units_t) = raw(raw_sql("", "unit_id")).await;

    // The figures agree.
    let check = |card: &pb::Scorecard, raw: &Raw| {
        let rate =
            |r: &Option<tingjian_proto::common::v1::Rate>| r.as_ref().map_or((0, 0), |r| (r.numerator, r.denominator));
        assert_eq!(card.cases_assigned, raw.1, "cases assigned");
        assert_eq!(rate(&card.response_rate), (raw.2, raw.1), "response rate");
        assert_eq!(rate(&card.on_time_rate), (raw.4, raw.3), "on-time rate");
        assert_eq!(rate(&card.resolution_rate), (raw.5, raw.2), "resolution rate");
        assert_eq!(rate(&card.satisfaction_rate), (raw.7, raw.6), "satisfaction rate");
        assert_eq!(rate(&card.reopen_rate), (raw.8, raw.6), "reopen rate");
    };
    check(&card, &raw_all[0]);
    check(&card_d, &raw_d[0]);
    assert_eq!(by_unit.rows.len(), raw_units.len(), "one breakdown row per unit");
    for row in &by_unit.rows {
        let r = row.value.as_ref().and_then(|v| v.rate.as_ref()).expect("a rate");
        let raw = raw_units.iter().find(|u| u.0 == row.key).expect("the unit in the raw query");
        assert_eq!((r.numerator, r.denominator), (raw.2, raw.1), "response rate of {}", row.key);
    }

    db.close().await;
    if let Ok(options) = sqlx::postgres::PgConnectOptions::from_str(&args.postgres)
        && let Ok(mut conn) = sqlx::PgConnection::connect_with(&options).await
    {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&mut conn).await;
        let _ = conn.close().await;
    }

    println!();
    println!(
        "analytics on PostgreSQL: {} cases ({} in 2023-Q3), {} rollup rows; cases copied in {:.1} s, rollups in {:.1} s",
        args.cases,
        card.cases_assigned,
        rollup_rows,
        cases_time.as_secs_f64(),
        rollup_time.as_secs_f64()
    );
    println!(
        "figures checked equal: rollups vs GROUP BY over case_fact (assigned, replied, due, on time, resolved, evaluated, satisfied, reopened)"
    );
    println!();
    println!("{:<46} {:>10} {:>10} {:>14} {:>10}", "what", "p50 ms", "p99 ms", "raw GROUP BY", "raw / p99");
    println!("{}", "-".repeat(94));
    for ((what, (p50, p99)), raw) in lines.iter().zip([raw_all_t, raw_d_t, raw_units_t]) {
        println!(
            "{:<46} {:>10.2} {:>10.2} {:>11.1} ms {:>9.0}×",
            what,
            ms(*p50),
            ms(*p99),
            ms(raw),
            raw.as_secs_f64() / p99.as_secs_f64().max(1e-9)
        );
    }
    println!();
    println!(
        "{} runs each from the rollups (p50, p99); the raw GROUP BY over case_fact is the median of {raw_runs} runs",
        args.runs
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `f` `runs` times; its last result and the p50 and p99 latencies.
async fn timed<T, F, Fut>(runs: usize, mut f: F) -> (T, (Duration, Duration))
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, tingjian_runtime::ServiceError>>,
{
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        let value = f().await.expect("figures");
        times.push(started.elapsed());
        last = Some(value);
    }
    times.sort();
    let at = |q: f64| times[((q * runs as f64).ceil() as usize).clamp(1, runs) - 1];
    (last.expect("at least one run"), (at(0.5), at(0.99)))
}
