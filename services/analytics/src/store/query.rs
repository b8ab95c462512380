//! Figures of a period from the rollups: scorecard, series, breakdowns, rankings.
//!
//! The signatures the API and the exports rely on (proto types in and out):
//! - `Store::scorecard(&self, period: &Period, filter: &pb::ScorecardFilter) -> Result<pb::Scorecard, ServiceError>`
//! - `Store::series(&self, metric: pb::Metric, start: &Period, end: &Period, filter: &pb::ScorecardFilter)
//!   -> Result<pb::GetSeriesResponse, ServiceError>`
//! - `Store::breakdown(&self, metric: pb::Metric, period: &Period, dimension: pb::Dimension,
//!   filter: &pb::ScorecardFilter, limit: usize) -> Result<pb::GetBreakdownResponse, ServiceError>`
//! - `Store::rankings(&self, metric: pb::Metric, period: &Period, filter: &pb::ScorecardFilter,
//!   min_cases: i64) -> Result<Vec<pb::UnitRanking>, ServiceError>` (every ranked unit, best first; the
//!   API pages it), and `Store::enterprise_profile(...)` in `profile.rs`.
//!
//! Every figure is a formula over counters (see [`crate::domain::metric`]). A period's figures read the
//! rows of those counters whose key is the filter (a dimension the counter carries: the filtered value or
//! '*'; a dimension it does not carry: '*') and whose day bucket lies in the period — one index range per
//! counter, whatever the number of facts behind it. All the reads of a request go to the database as one
//! statement.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, Weekday};
use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::common::v1 as common;
use tingjian_proto::intake::v1::DemandChannel;
use tingjian_runtime::ServiceError;
use tingjian_runtime::on_pool;
use tingjian_runtime::time::{Period, PeriodKind};
use tingjian_runtime::wire::timestamp;

use super::Store;
use crate::domain::bucket::{self, ALL};
use crate::domain::metric::{self as m, Dim};

/// The five dimensions of a rollup key, in column order.
const DIMS: [Dim; 5] = [Dim::District, Dim::Industry, Dim::Category, Dim::Unit, Dim::Channel];

/// The column of a dimension.
fn column(dim: Dim) -> &'static str {
    match dim {
        Dim::District => "district",
        Dim::Industry => "industry",
        Dim::Category => "category",
        Dim::Unit => "unit",
        Dim::Channel => "channel",
    }
}

/// The rollup dimension of a contract dimension; `None` when unspecified.
pub fn dim_of(dimension: pb::Dimension) -> Option<Dim> {
    match dimension {
        pb::Dimension::Unspecified => None,
        pb::Dimension::District => Some(Dim::District),
        pb::Dimension::Industry => Some(Dim::Industry),
        pb::Dimension::Category => Some(Dim::Category),
        pb::Dimension::Unit => Some(Dim::Unit),
        pb::Dimension::Channel => Some(Dim::Channel),
    }
}

/// Every figure of the contract, in its order.
pub const METRICS: [pb::Metric; 35] = [
    pb::Metric::DemandsReceived,
    pb::Metric::DemandsMerged,
    pb::Metric::CommonIssuesFormed,
    pb::Metric::EnterprisesContacted,
    pb::Metric::ContactsLogged,
    pb::Metric::WeeklyContactCompliance,
    pb::Metric::PolicyBriefingPersonTimes,
    pb::Metric::CampaignParticipants,
    pb::Metric::CampaignPosts,
    pb::Metric::SessionsHeld,
    pb::Metric::SessionsFaceToFace,
    pb::Metric::SessionsInteractive,
    pb::Metric::SessionsOnline,
    pb::Metric::EntrepreneurSpeakers,
    pb::Metric::SuggestionsSubmitted,
    pb::Metric::SpecialReportsSent,
    pb::Metric::InstructionRate,
    pb::Metric::CasesAssigned,
    pb::Metric::ResponseRate,
    pb::Metric::OnTimeRate,
    pb::Metric::ResolutionRate,
    pb::Metric::SatisfactionRate,
    pb::Metric::ReopenRate,
    pb::Metric::HandlingTimeMedian,
    pb::Metric::HandlingTimeP90,
    pb::Metric::LongRunningCases,
    pb::Metric::FollowUpCompliance,
    pb::Metric::RectificationsIssued,
    pb::Metric::RectificationsVerified,
    pb::Metric::ProblemsSolved,
    pb::Metric::InterestReduced,
    pb::Metric::Subsidies,
    pb::Metric::FeesWaived,
    pb::Metric::OtherMoney,
    pb::Metric::TotalBenefits,
];

/// The figures units are ranked by.
pub const RANKED: [pb::Metric; 6] = [
    pb::Metric::ResponseRate,
    pb::Metric::OnTimeRate,
    pb::Metric::ResolutionRate,
    pb::Metric::SatisfactionRate,
    pb::Metric::ReopenRate,
    pb::Metric::HandlingTimeMedian,
];

const MONEY: [&str; 4] = [m::INTEREST_REDUCED, m::SUBSIDIES, m::FEES_WAIVED, m::OTHER_MONEY];
const SESSIONS: [&str; 3] = [m::SESSIONS_FACE_TO_FACE, m::SESSIONS_INTERACTIVE, m::SESSIONS_ONLINE];

/// How a figure is computed from counters.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Formula {
    /// The sum of counters over the period.
    Sum(&'static [&'static str]),
    /// A distinct count: the counter of the period's kind (month, quarter, year).
    Distinct([&'static str; 3]),
    /// The sum of every `problems_solved:<category>` counter.
    ProblemsSolved,
    /// Numerator ÷ denominator counters over the period.
    Rate(&'static str, &'static str),
    /// Weekly-contact compliance (contact weeks ÷ weeks due).
    WeeklyContact,
    /// Long-running cases open at some instant of the period.
    LongRunning,
    /// A nearest-rank quantile of the handling-time histogram.
    Quantile(f64),
}

/// A figure's formula and the dimensions its counters carry.
fn formula(metric: pb::Metric) -> Option<(Formula, &'static [Dim])> {
    use Formula::*;
    use pb::Metric as M;
    Some(match metric {
        M::Unspecified => return None,
        M::DemandsReceived => (Sum(&[m::DEMANDS_RECEIVED]), m::DEMAND_DIMS),
        M::DemandsMerged => (Sum(&[m::DEMANDS_MERGED]), m::DEMAND_DIMS),
        M::CommonIssuesFormed => (Sum(&[m::COMMON_ISSUES_FORMED]), m::CATEGORY_DIMS),
        M::EnterprisesContacted => (
            Distinct([m::ENTERPRISES_CONTACTED_MONTH, m::ENTERPRISES_CONTACTED_QUARTER, m::ENTERPRISES_CONTACTED_YEAR]),
            m::ENTERPRISE_DIMS,
        ),
        M::ContactsLogged => (Sum(&[m::CONTACTS_LOGGED]), m::ENTERPRISE_DIMS),
        M::WeeklyContactCompliance => (WeeklyContact, m::ENTERPRISE_DIMS),
        M::PolicyBriefingPersonTimes => (Sum(&[m::BRIEFING_PERSON_TIMES]), m::ENTERPRISE_DIMS),
        M::CampaignParticipants => (
            Distinct([m::CAMPAIGN_PARTICIPANTS_MONTH, m::CAMPAIGN_PARTICIPANTS_QUARTER, m::CAMPAIGN_PARTICIPANTS_YEAR]),
            m::NO_DIMS,
        ),
        M::CampaignPosts => (Sum(&[m::CAMPAIGN_POSTS]), m::NO_DIMS),
        M::SessionsHeld => (Sum(&SESSIONS), m::NO_DIMS),
        M::SessionsFaceToFace => (Sum(&[m::SESSIONS_FACE_TO_FACE]), m::NO_DIMS),
        M::SessionsInteractive => (Sum(&[m::SESSIONS_INTERACTIVE]), m::NO_DIMS),
        M::SessionsOnline => (Sum(&[m::SESSIONS_ONLINE]), m::NO_DIMS),
        M::EntrepreneurSpeakers => (Sum(&[m::ENTREPRENEUR_SPEAKERS]), m::NO_DIMS),
        M::SuggestionsSubmitted => (Sum(&[m::SUGGESTIONS_SUBMITTED]), m::CATEGORY_DIMS),
        M::SpecialReportsSent => (Sum(&[m::SPECIAL_REPORTS_SENT]), m::CATEGORY_DIMS),
        M::InstructionRate => (Rate(m::SPECIAL_REPORTS_INSTRUCTED, m::SPECIAL_REPORTS_SENT), m::CATEGORY_DIMS),
        M::CasesAssigned => (Sum(&[m::CASES_ASSIGNED]), m::CASE_DIMS),
        M::ResponseRate => (Rate(m::CASES_REPLIED, m::CASES_ASSIGNED), m::CASE_DIMS),
        M::OnTimeRate => (Rate(m::CASES_ON_TIME, m::CASES_DUE), m::CASE_DIMS),
        M::ResolutionRate => (Rate(m::CASES_RESOLVED, m::CASES_REPLIED), m::CASE_DIMS),
        M::SatisfactionRate => (Rate(m::CASES_SATISFIED, m::CASES_EVALUATED), m::CASE_DIMS),
        M::ReopenRate => (Rate(m::CASES_REOPENED, m::CASES_EVALUATED), m::CASE_DIMS),
        M::HandlingTimeMedian => (Quantile(0.5), m::CASE_DIMS),
        M::HandlingTimeP90 => (Quantile(0.9), m::CASE_DIMS),
        M::LongRunningCases => (LongRunning, m::CASE_DIMS),
        M::FollowUpCompliance => (Rate(m::FOLLOW_UP_DONE, m::FOLLOW_UP_REQUIRED), m::CASE_DIMS),
        M::RectificationsIssued => (Sum(&[m::RECTIFICATIONS_ISSUED]), m::UNIT_DIMS),
        M::RectificationsVerified => (Sum(&[m::RECTIFICATIONS_VERIFIED]), m::UNIT_DIMS),
        M::ProblemsSolved => (ProblemsSolved, m::CASE_DIMS),
        M::InterestReduced => (Sum(&[m::INTEREST_REDUCED]), m::CASE_DIMS),
        M::Subsidies => (Sum(&[m::SUBSIDIES]), m::CASE_DIMS),
        M::FeesWaived => (Sum(&[m::FEES_WAIVED]), m::CASE_DIMS),
        M::OtherMoney => (Sum(&[m::OTHER_MONEY]), m::CASE_DIMS),
        M::TotalBenefits => (Sum(&MONEY), m::CASE_DIMS),
    })
}

/// The dimensions a figure carries (what it can be sliced and grouped by).
pub fn carried_dims(metric: pb::Metric) -> &'static [Dim] {
    formula(metric).map_or(m::NO_DIMS, |(_, dims)| dims)
}

/// Whether a figure can be grouped by `dimension`.
pub fn can_group(metric: pb::Metric, dimension: pb::Dimension) -> bool {
    dim_of(dimension).is_some_and(|d| carried_dims(metric).contains(&d))
}

/// A filter in rollup terms: the value of each of the five dimensions, `None` for any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slice([Option<String>; 5]);

impl Slice {
    /// The slice of a contract filter: empty texts and an unspecified channel do not restrict; the
    /// channel is keyed by its enum name. An unknown channel number is INVALID_ARGUMENT on
    /// `filter.channel`.
    pub fn of(filter: &pb::ScorecardFilter) -> Result<Self, ServiceError> {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let channel = match DemandChannel::try_from(filter.channel) {
            Ok(DemandChannel::Unspecified) => None,
            Ok(channel) => Some(channel.as_str_name().to_owned()),
            Err(_) => return Err(ServiceError::invalid("filter.channel", "is not a demand channel")),
        };
        Ok(Self([
            text(&filter.district),
            text(&filter.industry),
            text(&filter.category),
            text(&filter.unit_id),
            channel,
        ]))
    }

    fn get(&self, dim: Dim) -> Option<&str> {
        let i = DIMS.iter().position(|d| *d == dim).unwrap_or(0);
        self.0[i].as_deref()
    }

    /// The same slice without a value for `dim`.
    pub fn without(&self, dim: Dim) -> Self {
        let mut out = self.clone();
        if let Some(i) = DIMS.iter().position(|d| *d == dim) {
            out.0[i] = None;
        }
        out
    }

    /// Whether a figure carrying `dims` can be sliced by every restricted dimension.
    fn applies_to(&self, dims: &[Dim]) -> bool {
        DIMS.iter().all(|d| self.get(*d).is_none() || dims.contains(d))
    }
}

/// How one rollup column is matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Match {
    /// Equal to this key ('*' for every value).
    Is(String),
    /// Any value but '*' (the grouped dimension).
    Each,
}

/// One range read of rollup rows: some counters with the same key, over buckets `from..=to`.
#[derive(Debug, Clone)]
struct Read {
    counters: Vec<String>,
    /// Also every `problems_solved:<category>` counter.
    problems: bool,
    key: [Match; 5],
    /// The grouped dimension, if any (its column is returned as the group).
    group: Option<Dim>,
    from: Option<i64>,
    to: i64,
}

/// The rows of counters read for one group (one key of the grouped dimension, or the whole slice).
#[derive(Debug, Default, Clone)]
struct Counters {
    rows: HashMap<String, Vec<(i64, i64, i64)>>,
}

impl Counters {
    fn add(&mut self, counter: String, bucket: i64, slot: i64, value: i64) {
        self.rows.entry(counter).or_default().push((bucket, slot, value));
    }

    /// The sum of `counter` over buckets `from..=to`.
    fn sum(&self, counter: &str, from: i64, to: i64) -> i64 {
        self.rows
            .get(counter)
            .map_or(0, |rows| rows.iter().filter(|(b, _, _)| (from..=to).contains(b)).map(|(_, _, v)| v).sum())
    }

    /// The sum of every `problems_solved:` counter over `from..=to`, by benefit category.
    fn problems(&self, from: i64, to: i64) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for (counter, rows) in &self.rows {
            if let Some(category) = counter.strip_prefix(m::PROBLEMS_SOLVED_PREFIX) {
                let n: i64 = rows.iter().filter(|(b, _, _)| (from..=to).contains(b)).map(|(_, _, v)| v).sum();
                if n != 0 {
                    *out.entry(category.to_owned()).or_default() += n;
                }
            }
        }
        out
    }

    /// The histogram (slot, count) of `counter` over `from..=to`.
    fn histogram(&self, counter: &str, from: i64, to: i64) -> Vec<(i64, i64)> {
        let mut slots: BTreeMap<i64, i64> = BTreeMap::new();
        for (b, slot, v) in self.rows.get(counter).into_iter().flatten() {
            if (from..=to).contains(b) {
                *slots.entry(*slot).or_default() += v;
            }
        }
        slots.into_iter().collect()
    }

    /// The rows of `counter` as (bucket, value), sorted by bucket.
    fn by_bucket(&self, counter: &str) -> Vec<(i64, i64)> {
        let mut rows: Vec<(i64, i64)> =
            self.rows.get(counter).into_iter().flatten().map(|(b, _, v)| (*b, *v)).collect();
        rows.sort_unstable();
        rows
    }
}

/// A rate with its value; 0 when the denominator is 0.
pub fn rate(numerator: i64, denominator: i64) -> common::Rate {
    let value = if denominator == 0 { 0.0 } else { numerator as f64 / denominator as f64 };
    common::Rate { numerator, denominator, value }
}

/// An amount of CNY fen.
pub fn money(fen: i64) -> common::Money {
    common::Money { currency_code: "CNY".to_owned(), minor_units: fen }
}

/// Seconds as a protobuf duration.
fn duration(seconds: i64) -> prost_types::Duration {
    prost_types::Duration { seconds, nanos: 0 }
}

/// A period as the contract writes it.
pub fn period_message(period: &Period) -> common::Period {
    let kind = match period.kind() {
        PeriodKind::Month => common::PeriodKind::Month,
        PeriodKind::Quarter => common::PeriodKind::Quarter,
        PeriodKind::Year => common::PeriodKind::Year,
    };
    common::Period { kind: kind as i32, year: period.year(), number: period.number() as i32 }
}

/// The period after `period`, of the same kind.
pub fn next_period(period: &Period) -> Option<Period> {
    let (year, number) = match period.kind() {
        PeriodKind::Month if period.number() == 12 => (period.year() + 1, 1),
        PeriodKind::Quarter if period.number() == 4 => (period.year() + 1, 1),
        PeriodKind::Year => (period.year() + 1, 0),
        _ => (period.year(), period.number() + 1),
    };
    Period::new(period.kind(), year, number, "").ok()
}

/// The periods from `start` to `end` inclusive (same kind); empty when `end` is before `start`.
pub fn periods_between(start: &Period, end: &Period) -> Vec<Period> {
    let mut out = Vec::new();
    let mut current = Some(*start);
    while let Some(p) = current {
        if p.kind() != end.kind() || p.first_day() > end.first_day() {
            break;
        }
        out.push(p);
        current = next_period(&p);
    }
    out
}

/// The denominator of weekly-contact compliance: over the weeks whose Sunday lies in `from..=to`, the
/// enterprises registered before the week's Monday. `registered` is (day bucket, count), sorted.
pub fn weeks_due(registered: &[(i64, i64)], from: i64, to: i64) -> i64 {
    let mut total = 0;
    let (mut i, mut before) = (0, 0);
    for sunday in (from..=to).filter(|d| bucket::date_of(*d).weekday() == Weekday::Sun) {
        let monday = sunday - 6;
        while i < registered.len() && registered[i].0 < monday {
            before += registered[i].1;
            i += 1;
        }
        total += before;
    }
    total
}

/// The value of a figure over buckets `from..=to` of a period of `kind`, from its counters.
fn evaluate(metric: pb::Metric, counters: &Counters, from: i64, to: i64, kind: PeriodKind) -> pb::MetricValue {
    let with = |value: f64, rate: Option<common::Rate>| pb::MetricValue { metric: metric as i32, value, rate };
    let Some((formula, _)) = formula(metric) else { return with(0.0, None) };
    match formula {
        Formula::Sum(names) => with(names.iter().map(|n| counters.sum(n, from, to)).sum::<i64>() as f64, None),
        Formula::Distinct([month, quarter, year]) => {
            let name = match kind {
                PeriodKind::Month => month,
                PeriodKind::Quarter => quarter,
                PeriodKind::Year => year,
            };
            with(counters.sum(name, from, to) as f64, None)
        }
        Formula::ProblemsSolved => with(counters.problems(from, to).values().sum::<i64>() as f64, None),
        Formula::Rate(numerator, denominator) => {
            let r = rate(counters.sum(numerator, from, to), counters.sum(denominator, from, to));
            with(r.value, Some(r))
        }
        Formula::WeeklyContact => {
            let weeks = counters.sum(m::CONTACT_WEEKS, from, to);
            let r = rate(weeks, weeks_due(&counters.by_bucket(m::ENTERPRISES_REGISTERED), from, to));
            with(r.value, Some(r))
        }
        Formula::LongRunning => {
            let started = counters.sum(m::LONG_RUNNING_STARTED, i64::MIN, to);
            let ended = counters.sum(m::LONG_RUNNING_ENDED, i64::MIN, from - 1);
            with((started - ended).max(0) as f64, None)
        }
        Formula::Quantile(p) => {
            let seconds = bucket::quantile_seconds(&counters.histogram(m::HANDLING_TIME, from, to), p);
            with(seconds.unwrap_or(0) as f64, None)
        }
    }
}

/// The counters a formula reads over the period, and those it reads from the beginning.
fn counters_of(formula: Formula) -> (Vec<&'static str>, Vec<&'static str>, bool) {
    match formula {
        Formula::Sum(names) => (names.to_vec(), vec![], false),
        Formula::Distinct(names) => (names.to_vec(), vec![], false),
        Formula::ProblemsSolved => (vec![], vec![], true),
        Formula::Rate(n, d) => (vec![n, d], vec![], false),
        Formula::WeeklyContact => (vec![m::CONTACT_WEEKS], vec![m::ENTERPRISES_REGISTERED], false),
        Formula::LongRunning => (vec![], vec![m::LONG_RUNNING_STARTED, m::LONG_RUNNING_ENDED], false),
        Formula::Quantile(_) => (vec![m::HANDLING_TIME], vec![], false),
    }
}

/// The reads that compute `metrics` (all applicable to `slice`, all carrying `group` if set) over buckets
/// `from..=to`: per set of carried dimensions, one read over the period and one from the beginning.
fn plan(metrics: &[pb::Metric], slice: &Slice, group: Option<Dim>, from: i64, to: i64) -> Vec<Read> {
    let mut reads: Vec<Read> = Vec::new();
    for metric in metrics {
        let Some((formula, dims)) = formula(*metric) else { continue };
        let key: [Match; 5] = DIMS.map(|d| {
            if Some(d) == group && dims.contains(&d) && slice.get(d).is_none() {
                Match::Each
            } else if dims.contains(&d) {
                Match::Is(slice.get(d).unwrap_or(ALL).to_owned())
            } else {
                Match::Is(ALL.to_owned())
            }
        });
        let (period, history, problems) = counters_of(formula);
        for (names, from) in [(period, Some(from)), (history, None)] {
            if names.is_empty() && !(problems && from.is_some()) {
                continue;
            }
            let read = match reads.iter_mut().find(|r| r.key == key && r.from == from) {
                Some(read) => read,
                None => {
                    reads.push(Read { counters: vec![], problems: false, key: key.clone(), group, from, to });
                    let last = reads.len() - 1;
                    &mut reads[last]
                }
            };
            for name in names {
                if !read.counters.iter().any(|c| c == name) {
                    read.counters.push(name.to_owned());
                }
            }
            read.problems |= problems && from.is_some();
        }
    }
    reads
}

/// A value bound to a statement.
enum Bind {
    Text(String),
    Int(i64),
}

/// The one statement of `reads`: a `UNION ALL` of index range reads, each row tagged with its read.
fn statement(reads: &[Read]) -> (String, Vec<Bind>) {
    let mut binds: Vec<Bind> = Vec::new();
    fn param(binds: &mut Vec<Bind>, b: Bind) -> String {
        binds.push(b);
        format!("${}", binds.len())
    }
    let problems = reads.iter().any(|r| r.problems);
    let mut sql = String::new();
    if problems {
        // The benefit categories' counters, found by walking the primary key from the prefix (one index
        // probe per category), so no scan of other counters is needed whatever the collation.
        let prefix = param(&mut binds, Bind::Text(m::PROBLEMS_SOLVED_PREFIX.to_owned()));
        let len = m::PROBLEMS_SOLVED_PREFIX.len();
        sql.push_str(&format!(
            "WITH RECURSIVE problems(metric) AS (\
               SELECT MIN(metric) FROM rollup WHERE metric > {prefix} \
               UNION ALL \
               SELECT (SELECT MIN(r.metric) FROM rollup r WHERE r.metric > p.metric) FROM problems p \
               WHERE substr(p.metric, 1, {len}) = {prefix}) "
        ));
    }
    let mut parts = Vec::new();
    for (i, read) in reads.iter().enumerate() {
        let group = read.group.map_or_else(|| "CAST('*' AS TEXT)".to_owned(), |d| column(d).to_owned());
        let mut metric_conditions = Vec::new();
        if !read.counters.is_empty() {
            let list: Vec<String> = read.counters.iter().map(|c| param(&mut binds, Bind::Text(c.clone()))).collect();
            metric_conditions.push(format!("metric IN ({})", list.join(", ")));
        }
        let mut conditions = Vec::new();
        for (d, matched) in DIMS.iter().zip(&read.key) {
            match matched {
                Match::Is(v) => {
                    let p = param(&mut binds, Bind::Text(v.clone()));
                    conditions.push(format!("{} = {p}", column(*d)));
                }
                Match::Each => conditions.push(format!("{} <> '*'", column(*d))),
            }
        }
        if let Some(from) = read.from {
            let p = param(&mut binds, Bind::Int(from));
            conditions.push(format!("bucket >= {p}"));
        }
        let p = param(&mut binds, Bind::Int(read.to));
        conditions.push(format!("bucket <= {p}"));
        let select = format!("SELECT CAST({i} AS BIGINT) AS r, metric, {group} AS g, bucket, slot, value FROM rollup");
        let rest = conditions.join(" AND ");
        if let Some(metrics) = metric_conditions.first() {
            parts.push(format!("{select} WHERE {metrics} AND {rest}"));
        }
        if read.problems {
            let len = m::PROBLEMS_SOLVED_PREFIX.len();
            let prefix = "$1";
            parts.push(format!(
                "{select} WHERE metric IN (SELECT metric FROM problems WHERE metric IS NOT NULL \
                 AND substr(metric, 1, {len}) = {prefix}) AND {rest}"
            ));
        }
    }
    sql.push_str(&parts.join(" UNION ALL "));
    (sql, binds)
}

impl Store {
    /// Runs `reads` as one statement; the counters of each read, by group key.
    async fn read(&self, reads: &[Read]) -> Result<Vec<BTreeMap<String, Counters>>, ServiceError> {
        let mut out: Vec<BTreeMap<String, Counters>> = vec![BTreeMap::new(); reads.len()];
        if reads.is_empty() {
            return Ok(out);
        }
        let (sql, binds) = statement(reads);
        let rows: Vec<(i64, String, String, i64, i64, i64)> = on_pool!(self.db(), pool => {
            let mut query = sqlx::query_as(&sql);
            for bind in binds {
                query = match bind {
                    Bind::Text(s) => query.bind(s),
                    Bind::Int(i) => query.bind(i),
                };
            }
            query.fetch_all(pool).await
        })?;
        for (r, counter, group, bucket, slot, value) in rows {
            if let Some(groups) = usize::try_from(r).ok().and_then(|r| out.get_mut(r)) {
                groups.entry(group).or_default().add(counter, bucket, slot, value);
            }
        }
        Ok(out)
    }

    /// Reads `metrics` for `slice` over buckets `from..=to`, merged over the reads, by group key ('*' when
    /// not grouped).
    async fn counters(
        &self,
        metrics: &[pb::Metric],
        slice: &Slice,
        group: Option<Dim>,
        from: i64,
        to: i64,
    ) -> Result<BTreeMap<String, Counters>, ServiceError> {
        let reads = plan(metrics, slice, group, from, to);
        let mut merged: BTreeMap<String, Counters> = BTreeMap::new();
        for groups in self.read(&reads).await? {
            for (key, counters) in groups {
                let target = merged.entry(key).or_default();
                for (name, rows) in counters.rows {
                    target.rows.entry(name).or_default().extend(rows);
                }
            }
        }
        Ok(merged)
    }

    async fn as_of(&self) -> Result<Option<prost_types::Timestamp>, ServiceError> {
        Ok(self.as_of_time().await?.map(timestamp))
    }

    /// The scorecard of `period` for `filter`.
    pub async fn scorecard(
        &self,
        period: &Period,
        filter: &pb::ScorecardFilter,
    ) -> Result<pb::Scorecard, ServiceError> {
        let slice = Slice::of(filter)?;
        let (from, to) = bucket::period_days(period);
        let (applicable, not_applicable): (Vec<pb::Metric>, Vec<pb::Metric>) =
            METRICS.iter().partition(|metric| slice.applies_to(carried_dims(**metric)));
        let groups = self.counters(&applicable, &slice, None, from, to).await?;
        let empty = Counters::default();
        let counters = groups.get(ALL).unwrap_or(&empty);
        let as_of_time = self.as_of().await?;
        let value = |metric: pb::Metric| -> pb::MetricValue {
            if applicable.contains(&metric) {
                evaluate(metric, counters, from, to, period.kind())
            } else {
                pb::MetricValue { metric: metric as i32, value: 0.0, rate: Some(rate(0, 0)) }
            }
        };
        let count = |metric: pb::Metric| value(metric).value as i64;
        let rate_of = |metric: pb::Metric| value(metric).rate.or_else(|| Some(rate(0, 0)));
        let fen = |metric: pb::Metric| Some(money(count(metric)));
        let quantile = |metric: pb::Metric| {
            let p = match metric {
                pb::Metric::HandlingTimeP90 => 0.9,
                _ => 0.5,
            };
            applicable
                .contains(&metric)
                .then(|| bucket::quantile_seconds(&counters.histogram(m::HANDLING_TIME, from, to), p))
                .flatten()
                .map(duration)
        };
        let problems = if applicable.contains(&pb::Metric::ProblemsSolved) {
            counters.problems(from, to)
        } else {
            BTreeMap::new()
        };
        let mut problems_solved: Vec<pb::CategoryCount> = problems
            .iter()
            .map(|(category, count)| pb::CategoryCount {
                category: category.clone(),
                label: key_label(pb::Dimension::Category, category),
                count: *count,
            })
            .collect();
        problems_solved.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.category.cmp(&b.category)));
        Ok(pb::Scorecard {
            period: Some(period_message(period)),
            filter: Some(filter.clone()),
            as_of_time,
            demands_received: count(pb::Metric::DemandsReceived),
            demands_merged: count(pb::Metric::DemandsMerged),
            common_issues_formed: count(pb::Metric::CommonIssuesFormed),
            enterprises_contacted: count(pb::Metric::EnterprisesContacted),
            contacts_logged: count(pb::Metric::ContactsLogged),
            weekly_contact_compliance: rate_of(pb::Metric::WeeklyContactCompliance),
            policy_briefing_person_times: count(pb::Metric::PolicyBriefingPersonTimes),
            campaign_participants: count(pb::Metric::CampaignParticipants),
            campaign_posts: count(pb::Metric::CampaignPosts),
            sessions_held: Some(pb::SessionCounts {
                face_to_face: count(pb::Metric::SessionsFaceToFace),
                interactive: count(pb::Metric::SessionsInteractive),
                online: count(pb::Metric::SessionsOnline),
                total: count(pb::Metric::SessionsHeld),
            }),
            entrepreneur_speakers: count(pb::Metric::EntrepreneurSpeakers),
            suggestions_submitted: count(pb::Metric::SuggestionsSubmitted),
            special_reports_sent: count(pb::Metric::SpecialReportsSent),
            instruction_rate: rate_of(pb::Metric::InstructionRate),
            cases_assigned: count(pb::Metric::CasesAssigned),
            response_rate: rate_of(pb::Metric::ResponseRate),
            on_time_rate: rate_of(pb::Metric::OnTimeRate),
            resolution_rate: rate_of(pb::Metric::ResolutionRate),
            satisfaction_rate: rate_of(pb::Metric::SatisfactionRate),
            reopen_rate: rate_of(pb::Metric::ReopenRate),
            handling_time_median: quantile(pb::Metric::HandlingTimeMedian),
            handling_time_p90: quantile(pb::Metric::HandlingTimeP90),
            long_running_cases: count(pb::Metric::LongRunningCases),
            follow_up_compliance: rate_of(pb::Metric::FollowUpCompliance),
            rectifications_issued: count(pb::Metric::RectificationsIssued),
            rectifications_verified: count(pb::Metric::RectificationsVerified),
            problems_solved,
            problems_solved_total: count(pb::Metric::ProblemsSolved),
            interest_reduced: fen(pb::Metric::InterestReduced),
            subsidies: fen(pb::Metric::Subsidies),
            fees_waived: fen(pb::Metric::FeesWaived),
            other_money: fen(pb::Metric::OtherMoney),
            total_benefits: fen(pb::Metric::TotalBenefits),
            not_applicable: not_applicable.iter().map(|m| *m as i32).collect(),
        })
    }

    /// One figure over the consecutive periods `start..=end` (same kind), oldest first.
    pub async fn series(
        &self,
        metric: pb::Metric,
        start: &Period,
        end: &Period,
        filter: &pb::ScorecardFilter,
    ) -> Result<pb::GetSeriesResponse, ServiceError> {
        let slice = Slice::of(filter)?;
        let periods = periods_between(start, end);
        let (Some(first), Some(last)) = (periods.first(), periods.last()) else {
            return Err(ServiceError::invalid("end_period", "must not be before start_period"));
        };
        let from = bucket::period_days(first).0;
        let to = bucket::period_days(last).1;
        let applicable = slice.applies_to(carried_dims(metric));
        let groups = if applicable { self.counters(&[metric], &slice, None, from, to).await? } else { BTreeMap::new() };
        let empty = Counters::default();
        let counters = groups.get(ALL).unwrap_or(&empty);
        let points = periods
            .iter()
            .map(|p| {
                let (from, to) = bucket::period_days(p);
                pb::SeriesPoint {
                    period: Some(period_message(p)),
                    value: Some(evaluate(metric, counters, from, to, p.kind())),
                }
            })
            .collect();
        Ok(pb::GetSeriesResponse { points, as_of_time: self.as_of().await? })
    }

    /// One figure of `period` grouped by `dimension`: rows largest first (ties by key), at most `limit`
    /// (0 = all), and the figure over the whole slice.
    pub async fn breakdown(
        &self,
        metric: pb::Metric,
        period: &Period,
        dimension: pb::Dimension,
        filter: &pb::ScorecardFilter,
        limit: usize,
    ) -> Result<pb::GetBreakdownResponse, ServiceError> {
        let slice = Slice::of(filter)?;
        let Some(dim) = dim_of(dimension).filter(|_| can_group(metric, dimension)) else {
            return Err(ServiceError::invalid("dimension", "the figure cannot be grouped by this dimension"));
        };
        let (from, to) = bucket::period_days(period);
        let applicable = slice.applies_to(carried_dims(metric));
        let (groups, totals) = if applicable {
            let mut reads = plan(&[metric], &slice, Some(dim), from, to);
            let n = reads.len();
            reads.extend(plan(&[metric], &slice, None, from, to));
            let mut read = self.read(&reads).await?;
            let totals = read.split_off(n);
            let merge = |parts: Vec<BTreeMap<String, Counters>>| {
                let mut merged: BTreeMap<String, Counters> = BTreeMap::new();
                for groups in parts {
                    for (key, counters) in groups {
                        let target = merged.entry(key).or_default();
                        for (name, rows) in counters.rows {
                            target.rows.entry(name).or_default().extend(rows);
                        }
                    }
                }
                merged
            };
            (merge(read), merge(totals))
        } else {
            (BTreeMap::new(), BTreeMap::new())
        };
        let empty = Counters::default();
        let total = evaluate(metric, totals.get(ALL).unwrap_or(&empty), from, to, period.kind());
        let units = if dim == Dim::Unit { self.unit_names(groups.keys()).await? } else { HashMap::new() };
        let mut rows: Vec<pb::BreakdownRow> = groups
            .iter()
            .map(|(key, counters)| (key, evaluate(metric, counters, from, to, period.kind())))
            .filter(|(_, value)| value.value != 0.0 || value.rate.as_ref().is_some_and(|r| r.denominator != 0))
            .map(|(key, value)| pb::BreakdownRow {
                key: key.clone(),
                label: units.get(key).cloned().unwrap_or_else(|| key_label(dimension, key)),
                value: Some(value),
            })
            .collect();
        rows.sort_by(|a, b| {
            let va = a.value.as_ref().map_or(0.0, |v| v.value);
            let vb = b.value.as_ref().map_or(0.0, |v| v.value);
            vb.partial_cmp(&va).unwrap_or(Ordering::Equal).then_with(|| a.key.cmp(&b.key))
        });
        if limit > 0 {
            rows.truncate(limit);
        }
        Ok(pb::GetBreakdownResponse { rows, total: Some(total), as_of_time: self.as_of().await? })
    }

    /// The handling units ranked by `metric` in `period` (the filter's unit ignored), best first; units
    /// whose denominator of the figure is below `min_cases` are left out. Ties share a rank.
    pub async fn rankings(
        &self,
        metric: pb::Metric,
        period: &Period,
        filter: &pb::ScorecardFilter,
        min_cases: i64,
    ) -> Result<Vec<pb::UnitRanking>, ServiceError> {
        if !RANKED.contains(&metric) {
            return Err(ServiceError::invalid("metric", "units are ranked by a case rate or the median handling time"));
        }
        let slice = Slice::of(filter)?.without(Dim::Unit);
        let (from, to) = bucket::period_days(period);
        let figures = [
            pb::Metric::CasesAssigned,
            pb::Metric::ResponseRate,
            pb::Metric::OnTimeRate,
            pb::Metric::ResolutionRate,
            pb::Metric::SatisfactionRate,
            pb::Metric::ReopenRate,
            pb::Metric::HandlingTimeMedian,
        ];
        let groups = if slice.applies_to(m::CASE_DIMS) {
            self.counters(&figures, &slice, Some(Dim::Unit), from, to).await?
        } else {
            BTreeMap::new()
        };
        let kind = period.kind();
        let mut lines: Vec<(Ranked, pb::UnitRanking)> = Vec::new();
        for (unit, counters) in groups.iter().filter(|(unit, _)| !unit.is_empty()) {
            let value = |metric| evaluate(metric, counters, from, to, kind);
            let score = value(metric);
            let denominator = match metric {
                pb::Metric::HandlingTimeMedian => counters.sum(m::CASES_REPLIED, from, to),
                _ => score.rate.as_ref().map_or(0, |r| r.denominator),
            };
            if denominator < min_cases.max(1) {
                continue;
            }
            let ranked = match &score.rate {
                Some(r) => Ranked::Rate(r.numerator, r.denominator),
                None => Ranked::Seconds(score.value as i64),
            };
            let median = bucket::quantile_seconds(&counters.histogram(m::HANDLING_TIME, from, to), 0.5);
            lines.push((
                ranked,
                pb::UnitRanking {
                    rank: 0,
                    unit: Some(common::OrganisationRef {
                        id: unit.clone(),
                        name: String::new(),
                        kind: common::OrganisationKind::HandlingUnit as i32,
                    }),
                    score: Some(score),
                    cases_assigned: counters.sum(m::CASES_ASSIGNED, from, to),
                    response_rate: value(pb::Metric::ResponseRate).rate,
                    on_time_rate: value(pb::Metric::OnTimeRate).rate,
                    resolution_rate: value(pb::Metric::ResolutionRate).rate,
                    satisfaction_rate: value(pb::Metric::SatisfactionRate).rate,
                    handling_time_median: median.map(duration),
                },
            ));
        }
        let lower_is_better = matches!(metric, pb::Metric::ReopenRate | pb::Metric::HandlingTimeMedian);
        let unit_id = |r: &pb::UnitRanking| r.unit.as_ref().map(|u| u.id.clone()).unwrap_or_default();
        lines.sort_by(|(a, ra), (b, rb)| {
            let better = if lower_is_better { a.compare(b) } else { b.compare(a) };
            better.then_with(|| unit_id(ra).cmp(&unit_id(rb)))
        });
        let names = self.unit_names(lines.iter().filter_map(|(_, r)| r.unit.as_ref().map(|u| &u.id))).await?;
        let ranks = competition_ranks(&lines.iter().map(|(score, _)| *score).collect::<Vec<_>>());
        Ok(lines
            .into_iter()
            .zip(ranks)
            .map(|((_, mut line), rank)| {
                line.rank = rank;
                if let Some(unit) = line.unit.as_mut()
                    && let Some(name) = names.get(&unit.id)
                {
                    unit.name = name.clone();
                }
                line
            })
            .collect())
    }

    /// The latest names of handling units.
    async fn unit_names<'a>(
        &self,
        ids: impl Iterator<Item = &'a String>,
    ) -> Result<HashMap<String, String>, ServiceError> {
        let ids: Vec<String> = ids.filter(|id| !id.is_empty() && id.as_str() != ALL).cloned().collect();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let list: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!("SELECT unit_id, name FROM unit_label WHERE unit_id IN ({})", list.join(", "));
        let rows: Vec<(String, String)> = on_pool!(self.db(), pool => {
            let mut query = sqlx::query_as(&sql);
            for id in &ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(rows.into_iter().collect())
    }
}

/// A ranked score, compared exactly (rates by cross-multiplication).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ranked {
    Rate(i64, i64),
    Seconds(i64),
}

impl Ranked {
    fn compare(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Self::Rate(a, b), Self::Rate(c, d)) => {
                let left = if *b == 0 { 0 } else { i128::from(*a) * i128::from(*d.max(&1)) };
                let right = if *d == 0 { 0 } else { i128::from(*c) * i128::from(*b.max(&1)) };
                left.cmp(&right)
            }
            (Self::Seconds(a), Self::Seconds(b)) => a.cmp(b),
            (Self::Rate(..), Self::Seconds(_)) => Ordering::Less,
            (Self::Seconds(_), Self::Rate(..)) => Ordering::Greater,
        }
    }
}

/// Standard competition ranks (1, 2, 2, 4) of scores already sorted best first.
fn competition_ranks(scores: &[Ranked]) -> Vec<i32> {
    let mut ranks = Vec::with_capacity(scores.len());
    for (i, score) in scores.iter().enumerate() {
        let rank = match i {
            0 => 1,
            _ if score.compare(&scores[i - 1]) == Ordering::Equal => ranks[i - 1],
            _ => i32::try_from(i + 1).unwrap_or(i32::MAX),
        };
        ranks.push(rank);
    }
    ranks
}

/// The display label of a key of `dimension` (a code, a channel name); units are labelled by name.
pub fn key_label(dimension: pb::Dimension, key: &str) -> String {
    crate::domain::labels::label(dimension, key, crate::domain::labels::Lang::Zh)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Utc};

    fn day(y: i32, mo: u32, d: u32) -> i64 {
        bucket::day_number(NaiveDate::from_ymd_opt(y, mo, d).expect("date"))
    }

    fn quarter(year: i32, n: u32) -> Period {
        Period::new(PeriodKind::Quarter, year, n, "period").expect("period")
    }

    #[test]
    fn figures_group_by_the_dimensions_the_contract_slices_them_by() {
        assert!(can_group(pb::Metric::DemandsReceived, pb::Dimension::Channel));
        assert!(!can_group(pb::Metric::CasesAssigned, pb::Dimension::Channel));
        assert!(can_group(pb::Metric::RectificationsIssued, pb::Dimension::Unit));
        for d in [pb::Dimension::District, pb::Dimension::Industry, pb::Dimension::Category, pb::Dimension::Channel] {
            assert!(!can_group(pb::Metric::RectificationsIssued, d), "{d:?}");
        }
        for d in [
            pb::Dimension::District,
            pb::Dimension::Industry,
            pb::Dimension::Category,
            pb::Dimension::Unit,
            pb::Dimension::Channel,
        ] {
            assert!(!can_group(pb::Metric::CampaignPosts, d), "{d:?}");
        }
    }

    #[test]
    fn rates_keep_numerator_and_denominator_and_are_zero_without_a_denominator() {
        let r = rate(23, 25);
        assert_eq!((r.numerator, r.denominator), (23, 25));
        assert!((r.value - 0.92).abs() < 1e-12);
        assert_eq!(rate(0, 0).value, 0.0);
        assert_eq!(rate(3, 0).value, 0.0);
        assert_eq!(money(123).currency_code, "CNY");
    }

    #[test]
    fn weeks_due_count_enterprises_registered_before_each_monday_of_weeks_ending_in_the_period() {
        // September 2024: Sundays 1, 8, 15, 22, 29 (Mondays Aug 26, Sep 2, 9, 16, 23).
        let (from, to) = (day(2024, 9, 1), day(2024, 9, 30));
        // One enterprise registered long before, one on Monday Sep 2 (not due that week), one on Sep 20.
        let registered = vec![(day(2024, 1, 5), 1), (day(2024, 9, 2), 1), (day(2024, 9, 20), 1)];
        // Week of Sep 1: 1; Sep 8: 1 (the Sep 2 one registered on its Monday); Sep 15: 2; Sep 22: 2;
        // Sep 29: 3.
        assert_eq!(weeks_due(&registered, from, to), 1 + 1 + 2 + 2 + 3);
        assert_eq!(weeks_due(&[], from, to), 0);
        // A period without a Sunday has no week due.
        assert_eq!(weeks_due(&registered, day(2024, 9, 2), day(2024, 9, 7)), 0);
    }

    #[test]
    fn figures_are_evaluated_from_counters() {
        let q = quarter(2024, 3);
        let (from, to) = bucket::period_days(&q);
        let mut c = Counters::default();
        c.add(m::CASES_ASSIGNED.into(), day(2024, 7, 1), 0, 20);
        c.add(m::CASES_ASSIGNED.into(), day(2024, 9, 1), 0, 5);
        c.add(m::CASES_ASSIGNED.into(), day(2024, 10, 1), 0, 100);
        c.add(m::CASES_REPLIED.into(), day(2024, 7, 1), 0, 18);
        c.add(m::CASES_REPLIED.into(), day(2024, 9, 1), 0, 5);
        let response = evaluate(pb::Metric::ResponseRate, &c, from, to, q.kind());
        let r = response.rate.expect("a rate");
        assert_eq!((r.numerator, r.denominator), (23, 25));
        assert_eq!(response.value, r.value);
        assert_eq!(evaluate(pb::Metric::CasesAssigned, &c, from, to, q.kind()).value, 25.0);

        // Long-running: started up to the period's end minus ended before its start.
        c.add(m::LONG_RUNNING_STARTED.into(), day(2023, 1, 1), 0, 4);
        c.add(m::LONG_RUNNING_STARTED.into(), day(2024, 8, 1), 0, 2);
        c.add(m::LONG_RUNNING_STARTED.into(), day(2024, 11, 1), 0, 7);
        c.add(m::LONG_RUNNING_ENDED.into(), day(2024, 3, 1), 0, 1);
        c.add(m::LONG_RUNNING_ENDED.into(), day(2024, 8, 1), 0, 1);
        assert_eq!(evaluate(pb::Metric::LongRunningCases, &c, from, to, q.kind()).value, 5.0);

        // Handling time: nearest rank over the slots of the period.
        c.add(m::HANDLING_TIME.into(), day(2024, 7, 1), bucket::handling_slot(3_600), 1);
        c.add(m::HANDLING_TIME.into(), day(2024, 8, 1), bucket::handling_slot(7_200), 1);
        c.add(m::HANDLING_TIME.into(), day(2024, 9, 1), bucket::handling_slot(10 * 86_400), 2);
        c.add(m::HANDLING_TIME.into(), day(2024, 10, 1), bucket::handling_slot(3_600), 50);
        assert_eq!(evaluate(pb::Metric::HandlingTimeMedian, &c, from, to, q.kind()).value, 7_200.0);
        assert_eq!(evaluate(pb::Metric::HandlingTimeP90, &c, from, to, q.kind()).value, 864_000.0);

        // Distinct counts use the counter of the period's kind.
        c.add(m::ENTERPRISES_CONTACTED_QUARTER.into(), day(2024, 7, 1), 0, 9);
        c.add(m::ENTERPRISES_CONTACTED_MONTH.into(), day(2024, 7, 1), 0, 4);
        c.add(m::ENTERPRISES_CONTACTED_MONTH.into(), day(2024, 8, 1), 0, 6);
        assert_eq!(evaluate(pb::Metric::EnterprisesContacted, &c, from, to, q.kind()).value, 9.0);

        // Problems solved: every benefit category.
        c.add(m::problems_solved("patent"), day(2024, 7, 1), 0, 2);
        c.add(m::problems_solved("approval"), day(2024, 8, 1), 0, 3);
        assert_eq!(evaluate(pb::Metric::ProblemsSolved, &c, from, to, q.kind()).value, 5.0);
    }

    #[test]
    fn filters_decide_which_figures_apply() {
        let slice =
            Slice::of(&pb::ScorecardFilter { district: "dinghai".into(), ..Default::default() }).expect("valid");
        assert!(slice.applies_to(carried_dims(pb::Metric::ResponseRate)));
        assert!(!slice.applies_to(carried_dims(pb::Metric::CampaignPosts)));
        assert!(!slice.applies_to(carried_dims(pb::Metric::RectificationsIssued)));
        let bad = Slice::of(&pb::ScorecardFilter { channel: 99, ..Default::default() }).expect_err("channel");
        assert!(bad.to_string().contains("filter.channel"));
        assert!(can_group(pb::Metric::ResponseRate, pb::Dimension::Unit));
        assert!(!can_group(pb::Metric::ResponseRate, pb::Dimension::Channel));
        assert!(!can_group(pb::Metric::CampaignPosts, pb::Dimension::District));
    }

    #[test]
    fn ties_share_a_rank() {
        let scores = [Ranked::Rate(9, 10), Ranked::Rate(18, 20), Ranked::Rate(4, 5), Ranked::Rate(0, 3)];
        assert_eq!(competition_ranks(&scores), vec![1, 1, 3, 4]);
        assert_eq!(Ranked::Rate(1, 3).compare(&Ranked::Rate(2, 6)), Ordering::Equal);
        assert_eq!(Ranked::Rate(1, 2).compare(&Ranked::Rate(2, 3)), Ordering::Less);
    }

    #[test]
    fn series_periods_are_consecutive() {
        let periods = periods_between(&quarter(2023, 3), &quarter(2024, 2));
        let labels: Vec<String> = periods.iter().map(ToString::to_string).collect();
        assert_eq!(labels, ["2023年第3季度", "2023年第4季度", "2024年第1季度", "2024年第2季度"]);
        assert!(periods_between(&quarter(2024, 2), &quarter(2024, 1)).is_empty());
    }

    #[test]
    fn reads_are_grouped_by_key_and_range() {
        let slice = Slice::default();
        let reads = plan(
            &[
                pb::Metric::ResponseRate,
                pb::Metric::LongRunningCases,
                pb::Metric::ProblemsSolved,
                pb::Metric::CampaignPosts,
            ],
            &slice,
            None,
            10,
            20,
        );
        // Without a filter every counter's key is all '*': one read over the period (with the problems
        // solved) and one from the beginning (the long-running counters).
        assert_eq!(reads.len(), 2);
        assert!(reads[0].problems && reads[0].counters.contains(&m::CASES_REPLIED.to_owned()));
        assert!(reads[0].counters.contains(&m::CAMPAIGN_POSTS.to_owned()));
        assert_eq!((reads[1].from, reads[1].counters.len()), (None, 2));
        let (sql, _) = statement(&reads);
        assert!(sql.starts_with("WITH RECURSIVE"));
        // With a district filter, the campaign posts do not apply and the case counters are keyed by it.
        let slice =
            Slice::of(&pb::ScorecardFilter { district: "dinghai".into(), ..Default::default() }).expect("valid");
        let reads = plan(&[pb::Metric::ResponseRate, pb::Metric::ContactsLogged], &slice, Some(Dim::Unit), 10, 20);
        assert_eq!(reads.len(), 2);
        assert_eq!(reads[0].key[0], Match::Is("dinghai".into()));
        assert_eq!(reads[0].key[3], Match::Each);
        assert_eq!(reads[1].key[3], Match::Is(ALL.into()));
    }

    /// Rollup rows as the ingest writes them: each contribution at every subset of its dims.
    async fn insert(store: &Store, metric: &str, dims: [&str; 5], bucket: i64, slot: i64, value: i64) {
        on_pool!(store.db(), pool => {
            sqlx::query(
                "INSERT INTO rollup (metric, district, industry, category, unit, channel, bucket, slot, value) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (metric, district, industry, category, unit, channel, bucket, slot) \
                 DO UPDATE SET value = rollup.value + excluded.value",
            )
            .bind(metric).bind(dims[0]).bind(dims[1]).bind(dims[2]).bind(dims[3]).bind(dims[4])
            .bind(bucket).bind(slot).bind(value)
            .execute(pool)
            .await
            .map(|_| ())
        })
        .expect("rollup row");
    }

    async fn contribute(store: &Store, metric: &str, district: &str, unit: &str, bucket: i64, slot: i64, value: i64) {
        for d in [district, ALL] {
            for u in [unit, ALL] {
                for (i, c) in [("", ""), (ALL, ALL)] {
                    insert(store, metric, [d, i, c, u, ALL], bucket, slot, value).await;
                }
            }
        }
    }

    async fn figures_on(backend: tingjian_runtime::storage::Backend) {
        use tingjian_runtime::storage::testing::TestDatabase;
        let Some(test) = TestDatabase::fresh(backend, &crate::MODULE.migrations).await else { return };
        let store = Store::new(test.db.clone());
        let q = quarter(2024, 3);
        let july = day(2024, 7, 1);
        // Unit a: 10 cases, 9 replied; unit b: 10 cases, 9 replied; unit c: 4 cases, 4 replied, in
        // another district.
        for (district, unit, n, replied) in [("dinghai", "a", 10, 9), ("dinghai", "b", 10, 9), ("putuo", "c", 4, 4)] {
            contribute(&store, m::CASES_ASSIGNED, district, unit, july, 0, n).await;
            contribute(&store, m::CASES_REPLIED, district, unit, july, 0, replied).await;
            contribute(&store, m::HANDLING_TIME, district, unit, july, bucket::handling_slot(7_200), replied).await;
        }
        contribute(&store, m::CASES_ASSIGNED, "dinghai", "a", day(2024, 10, 1), 0, 50).await;
        contribute(&store, &m::problems_solved("patent"), "dinghai", "a", july, 0, 3).await;
        insert(&store, m::CAMPAIGN_POSTS, [ALL; 5], july, 0, 7).await;
        on_pool!(store.db(), pool => {
            sqlx::query("INSERT INTO unit_label (unit_id, name, label_time) VALUES ('a', '市经信局', $1)")
                .bind(Utc::now())
                .execute(pool)
                .await
                .map(|_| ())
        })
        .expect("label");

        let all = store.scorecard(&q, &pb::ScorecardFilter::default()).await.expect("scorecard");
        assert_eq!(all.cases_assigned, 24);
        let response = all.response_rate.expect("rate");
        assert_eq!((response.numerator, response.denominator), (22, 24));
        assert_eq!(all.campaign_posts, 7);
        assert_eq!(all.problems_solved_total, 3);
        assert_eq!(all.problems_solved[0].category, "patent");
        assert_eq!(all.handling_time_median, Some(duration(7_200)));
        assert!(all.not_applicable.is_empty());

        let filter = pb::ScorecardFilter { district: "dinghai".into(), ..Default::default() };
        let dinghai = store.scorecard(&q, &filter).await.expect("scorecard");
        assert_eq!(dinghai.cases_assigned, 20);
        assert_eq!(dinghai.campaign_posts, 0);
        assert!(dinghai.not_applicable.contains(&(pb::Metric::CampaignPosts as i32)));

        let by_unit = store
            .breakdown(pb::Metric::ResponseRate, &q, pb::Dimension::Unit, &pb::ScorecardFilter::default(), 0)
            .await
            .expect("breakdown");
        let keys: Vec<&str> = by_unit.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["c", "a", "b"]);
        assert_eq!(by_unit.rows[1].label, "市经信局");
        let total = by_unit.total.and_then(|t| t.rate).expect("total rate");
        assert_eq!((total.numerator, total.denominator), (22, 24));

        let ranks =
            store.rankings(pb::Metric::ResponseRate, &q, &pb::ScorecardFilter::default(), 5).await.expect("rankings");
        let lines: Vec<(i32, String)> =
            ranks.iter().map(|r| (r.rank, r.unit.as_ref().map(|u| u.id.clone()).unwrap_or_default())).collect();
        assert_eq!(lines, [(1, "a".to_owned()), (1, "b".to_owned())], "c has fewer than 5 cases");

        let series = store
            .series(pb::Metric::CasesAssigned, &quarter(2024, 2), &quarter(2024, 4), &filter)
            .await
            .expect("series");
        let values: Vec<f64> = series.points.iter().filter_map(|p| p.value.as_ref().map(|v| v.value)).collect();
        assert_eq!(values, [0.0, 20.0, 50.0]);
    }

    #[tokio::test]
    async fn figures_are_read_from_rollups_on_sqlite() {
        figures_on(tingjian_runtime::storage::Backend::Sqlite).await;
    }

    #[tokio::test]
    async fn figures_are_read_from_rollups_on_postgres() {
        figures_on(tingjian_runtime::storage::Backend::Postgres).await;
    }
}
