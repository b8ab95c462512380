//! The demonstration programme (`tingjian up --demo`): two years (2023–2024) of a programme modelled on
//! the seed, loaded through the services' public gRPC APIs on a shifted clock that the programme moves
//! from one action to the next, so every record and event carries the time it would have had.
//!
//! 89 enterprises visited with 925 person-times briefed, monthly roundtables, hundreds of demands merged
//! into 167 common issues, a campaign with 420 participants, face-to-face, interactive and online
//! sessions, suggestions, 18 special reports, cases whose response rate rises from about 40 % to about
//! 92 %, long-running cases followed up every quarter (a few quarters missed), 21 rectification orders
//! and the seed's benefits (1,971万元 interest reduced, 300万元 subsidies). The same seed loads the same
//! programme.

mod data;
mod programme;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use tingjian_proto::analytics::v1 as apb;
use tingjian_proto::common::v1::{Period, PeriodKind, Rate};
use tingjian_runtime::auth::DevSigner;
use tingjian_runtime::clock::Clock;

use crate::BoxResult;

pub use programme::Programme;

/// The programme's first instant: Tuesday 2023-01-03 09:00 in 舟山 (UTC+8).
pub fn first_day() -> DateTime<Utc> {
    shanghai(2023, 1, 3, 9, 0)
}

/// An instant given in Asia/Shanghai wall time.
fn shanghai(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    let offset = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"));
    offset.with_ymd_and_hms(year, month, day, hour, minute, 0).single().map_or_else(Utc::now, |t| t.with_timezone(&Utc))
}

/// Runs the programme with `seed` against the suite serving on `addr`, moving `clock`; then waits until
/// the analytics service has consumed everything and prints a short summary.
pub async fn run(addr: SocketAddr, clock: Clock, signer: &DevSigner, seed: u64) -> BoxResult<()> {
    let started = Instant::now();
    println!("loading the demonstration programme (seed {seed}): 2023-01 to 2024-12 …");
    // The clock stands still between the programme's steps, so its times are the same on every run.
    clock.hold();
    let mut programme = Programme::connect(addr, clock.clone(), signer, seed).await?;
    let ran = programme.run().await;
    clock.release();
    ran?;
    let tally = programme.tally();
    let last_write = programme.last_write();
    println!(
        "programme loaded in {:.1} s: {} enterprises, {} contacts, {} demands, {} common issues, {} campaign posts, \
         {} sessions, {} special reports, {} cases, {} follow-ups, {} rectification orders",
        started.elapsed().as_secs_f64(),
        tally.enterprises,
        tally.contacts,
        tally.demands,
        tally.common_issues,
        tally.posts,
        tally.sessions,
        tally.special_reports,
        tally.cases,
        tally.follow_ups,
        tally.rectifications,
    );
    match programme.settled_scorecards(last_write).await {
        Ok(Some(cards)) => print_summary(&cards),
        Ok(None) => println!("analytics has no scorecard to show yet; the figures appear as it consumes the events"),
        Err(e) => println!("analytics could not be read: {e}"),
    }
    println!("demo loaded");
    Ok(())
}

/// The scorecards the summary shows.
#[derive(Debug)]
pub struct Scorecards {
    /// Year 2023.
    pub y2023: apb::Scorecard,
    /// Year 2024.
    pub y2024: apb::Scorecard,
    /// First quarter of 2023.
    pub first_quarter: apb::Scorecard,
    /// Fourth quarter of 2024.
    pub last_quarter: apb::Scorecard,
}

/// A period of `kind`.
pub fn period(kind: PeriodKind, year: i32, number: i32) -> Period {
    Period { kind: kind as i32, year, number }
}

fn percent(rate: Option<&Rate>) -> String {
    rate.map_or_else(|| "–".to_owned(), |r| format!("{:.1} % ({}/{})", r.value * 100.0, r.numerator, r.denominator))
}

fn wan(money: Option<&tingjian_proto::common::v1::Money>) -> String {
    let fen = money.map_or(0, |m| m.minor_units);
    format!("{:.2}万元", fen as f64 / 1_000_000.0)
}

fn print_summary(cards: &Scorecards) {
    let (a, b) = (&cards.y2023, &cards.y2024);
    let sum = |f: fn(&apb::Scorecard) -> i64| f(a) + f(b);
    let money = |f: fn(&apb::Scorecard) -> Option<&tingjian_proto::common::v1::Money>| {
        let fen = f(a).map_or(0, |m| m.minor_units) + f(b).map_or(0, |m| m.minor_units);
        wan(Some(&tingjian_proto::common::v1::Money { currency_code: "CNY".into(), minor_units: fen }))
    };
    println!("成效 (2023–2024, from analytics):");
    println!(
        "  走访企业 enterprises contacted: {} (2023), {} (2024)",
        a.enterprises_contacted, b.enterprises_contacted
    );
    println!("  宣讲人次 person-times briefed: {}", sum(|s| s.policy_briefing_person_times));
    println!(
        "  诉求 demands received: {}; 共性问题 common issues formed: {}",
        sum(|s| s.demands_received),
        sum(|s| s.common_issues_formed)
    );
    println!(
        "  网上建言 campaign participants: {}; posts: {}",
        sum(|s| s.campaign_participants),
        sum(|s| s.campaign_posts)
    );
    println!("  专报 special reports sent: {}", sum(|s| s.special_reports_sent));
    println!("  交办 cases assigned: {}", sum(|s| s.cases_assigned));
    println!(
        "  答复反馈率 response rate: {} in 2023 Q1 → {} in 2024 Q4",
        percent(cards.first_quarter.response_rate.as_ref()),
        percent(cards.last_quarter.response_rate.as_ref())
    );
    println!(
        "  跟踪监督 follow-up compliance: {} (2023), {} (2024)",
        percent(a.follow_up_compliance.as_ref()),
        percent(b.follow_up_compliance.as_ref())
    );
    println!(
        "  整改 rectification orders issued: {}, verified: {}",
        sum(|s| s.rectifications_issued),
        sum(|s| s.rectifications_verified)
    );
    println!("  解决问题 problems solved: {}", sum(|s| s.problems_solved_total));
    println!(
        "  减免利息 interest reduced: {}; 补助 subsidies: {}",
        money(|s| s.interest_reduced.as_ref()),
        money(|s| s.subsidies.as_ref())
    );
}

/// How long the programme waits for analytics to catch up before giving up.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(90);
/// Pause between two polls of analytics.
const SETTLE_POLL: Duration = Duration::from_millis(400);
