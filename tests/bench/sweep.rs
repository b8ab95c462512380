//! The deadline sweep on a large case table: touching only what is due, next to scans that examine every
//! open case, measured in the same run on PostgreSQL.
//!
//! ```text
//! cargo run --release -p tingjian-tests --bin bench-sweep -- [--cases N] [--due D] [--replicas R] [--postgres URL]
//! ```
//!
//! 1. fills a schema of its own with N open cases (bulk `INSERT … SELECT generate_series`), of which D
//!    (spread over the table) have their first warning due;
//! 2. times finding the due cases through the sweep's predicate (`next_due_time <= as_of`, on its
//!    partial index) and the two ways of examining every open case instead: a sequential scan that
//!    computes in SQL what is due, and a scan that loads every open case and applies the deadline rules
//!    in the service (what a sweep without `next_due_time` would do);
//! 3. runs the sweep itself (R replicas at once) — claiming, warning, history, events — and a second
//!    sweep with nothing left to do.
//!
//! The schema is dropped at the end.

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone as _, Utc};
use sqlx::Connection;
use tingjian_runtime::clock::Clock;
use tingjian_runtime::settings::{DatabaseSettings, SupervisionSettings};
use tingjian_runtime::{Database, Secret};
use tingjian_supervision::domain::deadline::DeadlineState;
use tingjian_supervision::domain::{CaseStatus, WorkingCalendar, builtin};
use tingjian_supervision::store::{Store, SweepKind};
use tingjian_tests::events::unique_name;

#[derive(Debug)]
struct Args {
    cases: i64,
    due: i64,
    replicas: usize,
    postgres: String,
}

fn usage() -> ! {
    eprintln!("usage: bench-sweep [--cases N] [--due D] [--replicas R] [--postgres URL]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        cases: 1_000_000,
        due: 10_000,
        replicas: 1,
        postgres: std::env::var("TINGJIAN_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--cases" => args.cases = value.parse().unwrap_or_else(|_| usage()),
            "--due" => args.due = value.parse().unwrap_or_else(|_| usage()),
            "--replicas" => args.replicas = value.parse().unwrap_or_else(|_| usage()),
            "--postgres" => args.postgres = value,
            _ => usage(),
        }
    }
    if args.cases <= 0 || args.due <= 0 || args.due > args.cases || args.replicas == 0 {
        usage();
    }
    args
}

/// The instant the sweep evaluates against: Monday 2025-06-16 10:00 in Asia/Shanghai.
fn as_of() -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|z| z.with_ymd_and_hms(2025, 6, 16, 10, 0, 0).single())
        .map(|t| t.with_timezone(&Utc))
        .expect("valid instant")
}

/// One measured row of the table.
struct Row {
    what: String,
    examined: i64,
    found: i64,
    elapsed: Duration,
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(run(args));
}

fn settings(url: &str, schema: &str) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(url.to_owned()),
        schema: Some(schema.to_owned()),
        max_connections: 8,
        connect_timeout: Duration::from_secs(10),
    }
}

async fn run(args: Args) {
    let schema = unique_name("bench_sweep_");
    let db = match Database::connect(&settings(&args.postgres, &schema), &schema).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("bench-sweep: PostgreSQL unreachable at {}: {e}", args.postgres);
            std::process::exit(1);
        }
    };
    db.migrate(&tingjian_supervision::MODULE.migrations).await.expect("migrations");
    let Database::Postgres(pool) = &db else {
        eprintln!("bench-sweep: {} is not a PostgreSQL URL", args.postgres);
        std::process::exit(2);
    };

    eprintln!("filling {} open cases, {} of them due…", args.cases, args.due);
    let started = Instant::now();
    fill(pool, args.cases, args.due).await;
    let fill_time = started.elapsed();
    eprintln!("filled in {:.1} s", fill_time.as_secs_f64());

    let plan: Vec<String> = sqlx::query_scalar(
        "EXPLAIN SELECT id FROM supervision_case WHERE next_due_time <= $1 ORDER BY next_due_time LIMIT 200 \
         FOR UPDATE SKIP LOCKED",
    )
    .bind(as_of())
    .fetch_all(pool)
    .await
    .expect("plan");

    let mut rows = Vec::new();
    rows.push(best_of(3, || find_due_by_index(pool)).await);
    rows.push(best_of(3, || scan_in_sql(pool)).await);
    rows.push(best_of(3, || scan_in_service(pool)).await);

    eprintln!("sweeping with {} replica(s)…", args.replicas);
    let mut stores = Vec::new();
    for _ in 0..args.replicas {
        let db = Database::connect(&settings(&args.postgres, &schema), &schema).await.expect("replica pool");
        let settings = SupervisionSettings { sweep_interval: Duration::ZERO, ..Default::default() };
        stores.push(Store::with(db, Clock::manual(as_of()), settings));
    }
    let (sweep, warnings) = sweep_all(&stores).await;
    let (idle, _) = sweep_all(&stores).await;
    let stored: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM supervision_warning").fetch_one(pool).await.expect("count");
    assert_eq!(stored, args.due, "one warning per due case");
    assert_eq!(warnings, args.due, "the sweep raised one warning per due case");

    for store in &stores {
        store.database().close().await;
    }
    db.close().await;
    if let Ok(options) = sqlx::postgres::PgConnectOptions::from_str(&args.postgres)
        && let Ok(mut conn) = sqlx::PgConnection::connect_with(&options).await
    {
        let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&mut conn).await;
        let _ = conn.close().await;
    }

    let [by_index, in_sql, in_service] = [&rows[0], &rows[1], &rows[2]];
    println!();
    println!(
        "deadline sweep on PostgreSQL: {} open cases, {} due, {} replica(s); filled in {:.1} s",
        args.cases,
        args.due,
        args.replicas,
        fill_time.as_secs_f64()
    );
    println!(
        "sweep claim plan: {}",
        plan.iter().find(|l| l.contains("Scan")).or(plan.first()).map_or("?", String::as_str).trim()
    );
    println!();
    println!("{:<58} {:>10} {:>8} {:>10}", "what", "examined", "due", "ms");
    println!("{}", "-".repeat(90));
    for row in [by_index, in_sql, in_service, &sweep, &idle] {
        println!("{:<58} {:>10} {:>8} {:>10.1}", row.what, row.examined, row.found, ms(row.elapsed));
    }
    println!();
    let ratio = |slow: &Row, fast: &Row| slow.elapsed.as_secs_f64() / fast.elapsed.as_secs_f64().max(1e-9);
    println!("finding the due cases: the full SQL scan takes {:.0}× the index lookup", ratio(in_sql, by_index));
    println!(
        "finding the due cases: loading every open case into the service takes {:.0}× the index lookup",
        ratio(in_service, by_index)
    );
    println!(
        "a sweep with nothing due: {:.1} ms, against {:.1} ms ({:.0}×) for a full SQL scan that finds nothing new",
        ms(idle.elapsed),
        ms(in_sql.elapsed),
        ratio(in_sql, &idle)
    );
    println!(
        "the sweep raised {} warnings in {:.2} s ({:.0} cases/s, with history, events and item list)",
        warnings,
        sweep.elapsed.as_secs_f64(),
        warnings as f64 / sweep.elapsed.as_secs_f64().max(1e-9)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `n` open cases dispatched 2025-06-06; every (n / due)-th has its first warning due before `as_of`
/// (a 20-day span whose half passed), the others a 60-day span whose half lies ahead.
async fn fill(pool: &sqlx::PgPool, n: i64, due: i64) {
    let every = (n / due).max(1);
    let dispatch = as_of() - chrono::Duration::days(10) - chrono::Duration::hours(1);
    let done = sqlx::query(
        "INSERT INTO supervision_case (id, title, status, lead_unit, lead_unit_name, lead_unit_kind, dispatch_time, \
         deadline_time, dispatched_by, create_time, update_time, source_kind, source_id, next_due_time, \
         follow_up_due_time) \
         SELECT md5(g::text)::uuid::text, '企业诉求督办事项第' || g || '号', CASE g % 3 WHEN 0 THEN 1 WHEN 1 THEN 2 ELSE 4 END, \
                'unit-' || (g % 40), '承办单位' || (g % 40), 3, $1::timestamptz, \
                CASE WHEN g % $3 = 0 AND g / $3 <= $4 THEN $1::timestamptz + interval '20 days' \
                     ELSE $1::timestamptz + interval '60 days' END, \
                'staff-li', $1::timestamptz, $1::timestamptz, 4, 'demand-' || g, \
                CASE WHEN g % $3 = 0 AND g / $3 <= $4 THEN $1::timestamptz + interval '10 days' \
                     ELSE $1::timestamptz + interval '30 days' END, \
                $1::timestamptz + interval '6 months' \
         FROM generate_series(1, $2::bigint) g",
    )
    .bind(dispatch)
    .bind(n)
    .bind(every)
    .bind(due)
    .execute(pool)
    .await
    .expect("cases inserted");
    assert_eq!(i64::try_from(done.rows_affected()).unwrap_or(-1), n);
    sqlx::query("VACUUM ANALYZE supervision_case").execute(pool).await.expect("analyze");
    let found: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM supervision_case WHERE next_due_time <= $1")
        .bind(as_of())
        .fetch_one(pool)
        .await
        .expect("count");
    assert_eq!(found, due, "due cases as filled");
}

async fn best_of<F, Fut>(times: usize, mut f: F) -> Row
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Row>,
{
    let mut best: Option<Row> = None;
    for _ in 0..times {
        let row = f().await;
        if best.as_ref().is_none_or(|b| row.elapsed < b.elapsed) {
            best = Some(row);
        }
    }
    best.expect("at least one run")
}

/// What the sweep's claim reads: the due cases only, through the partial index on `next_due_time`.
async fn find_due_by_index(pool: &sqlx::PgPool) -> Row {
    let started = Instant::now();
    let ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM supervision_case WHERE next_due_time <= $1 ORDER BY next_due_time")
            .bind(as_of())
            .fetch_all(pool)
            .await
            .expect("due by index");
    let elapsed = started.elapsed();
    let found = ids.len() as i64;
    Row { what: "find due: next_due_time <= as_of (partial index)".into(), examined: found, found, elapsed }
}

/// A sequential scan of every open case computing in SQL whether a warning or the first rung is due.
async fn scan_in_sql(pool: &sqlx::PgPool) -> Row {
    let started = Instant::now();
    let (examined, found): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*), COUNT(*) FILTER (WHERE \
            (warning_level < 1 AND dispatch_time + (deadline_time - dispatch_time) / 2 <= $1) \
         OR (warning_level < 2 AND dispatch_time + (deadline_time - dispatch_time) * 3 / 4 <= $1) \
         OR ((warning_level < 3 OR escalation_level < 3) AND deadline_time <= $1)) \
         FROM supervision_case WHERE status IN (1, 2, 4)",
    )
    .bind(as_of())
    .fetch_one(pool)
    .await
    .expect("full scan");
    Row { what: "full scan: every open case, due computed in SQL".into(), examined, found, elapsed: started.elapsed() }
}

/// What the deadline rules read of an open case: status, dispatch, deadline, warning and escalation levels.
type OpenCase = (i32, DateTime<Utc>, DateTime<Utc>, i32, i32);

/// Every open case loaded into the service and run through the deadline rules (with the working
/// calendar for the ladder): what a sweep without `next_due_time` has to do before any work.
async fn scan_in_service(pool: &sqlx::PgPool) -> Row {
    let calendar = WorkingCalendar::new((2025..=2026).filter_map(builtin));
    let ladder = SupervisionSettings::default().escalation_ladder;
    let started = Instant::now();
    let rows: Vec<OpenCase> = sqlx::query_as(
        "SELECT status, dispatch_time, deadline_time, warning_level, escalation_level FROM supervision_case \
         WHERE status IN (1, 2, 4)",
    )
    .fetch_all(pool)
    .await
    .expect("open cases");
    let examined = rows.len() as i64;
    let found = rows
        .into_iter()
        .filter(|&(status, dispatch_time, deadline_time, warning_level, escalation_level)| {
            let Some(status) = CaseStatus::from_i32(status) else { return false };
            let state = DeadlineState { status, dispatch_time, deadline_time, warning_level, escalation_level };
            !state.due_steps(&ladder, &calendar, as_of()).is_empty()
        })
        .count() as i64;
    Row {
        what: "full scan: every open case loaded, rules in the service".into(),
        examined,
        found,
        elapsed: started.elapsed(),
    }
}

/// Runs the deadline sweep on every store at once; the row and the warnings raised.
async fn sweep_all(stores: &[Store]) -> (Row, i64) {
    let started = Instant::now();
    let tasks: Vec<_> = stores
        .iter()
        .map(|store| {
            let store = store.clone();
            tokio::spawn(async move { store.run_sweeps(&[SweepKind::Deadlines], as_of()).await })
        })
        .collect();
    let (mut examined, mut warnings) = (0_i64, 0_i64);
    for task in tasks {
        let report = task.await.expect("sweep task").expect("sweep");
        examined += i64::from(report.items_examined);
        warnings += i64::from(report.warnings_raised);
    }
    let elapsed = started.elapsed();
    let what =
        if warnings > 0 { "sweep: claim, warn, history, events (due cases only)" } else { "sweep again: nothing due" };
    (Row { what: what.into(), examined, found: warnings, elapsed }, warnings)
}
