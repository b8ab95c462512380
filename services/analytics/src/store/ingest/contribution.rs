//! What each entity adds to the rollups, computed from its facts alone, and how a change of contribution
//! becomes a change of rollups.
//!
//! A contribution row carries the entity's values of the dimensions its counter carries ('' when a
//! value is unknown) and [`ALL`] for the others. In the rollups every row is counted once at each subset
//! of its carried dimensions replaced by [`ALL`], so any filter, and any breakdown by one dimension, is
//! a lookup of one key.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use tingjian_proto::consultation::v1::SessionFormat;
use tingjian_proto::supervision::v1::{BenefitKind, EvaluationResult, ResultClass};
use tingjian_runtime::time::{china_date, start_of_china_day};

use super::facts::{
    BenefitRow, CaseRow, ContactRow, DemandRow, EnterpriseRow, OrderRow, QuarterRow, ReportRow, SessionRow,
    SuggestionRow, Time,
};
use crate::domain::bucket::{self, ALL};
use crate::domain::metric as m;

/// The dimensions of a rollup key: district, industry, category, unit, channel.
pub type Dims = [String; 5];

/// A rollup key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    /// The counter.
    pub metric: String,
    /// District, industry, category, unit, channel.
    pub dims: Dims,
    /// Day bucket.
    pub bucket: i64,
    /// Handling-time slot (0 for other counters).
    pub slot: i64,
}

/// Rollup rows: key → value, without zero values.
pub type Rows = BTreeMap<Key, i64>;

fn all() -> String {
    ALL.to_owned()
}

fn value(v: Option<&String>) -> String {
    v.cloned().unwrap_or_default()
}

/// District and industry.
pub fn enterprise_dims(district: &str, industry: &str) -> Dims {
    [district.to_owned(), industry.to_owned(), all(), all(), all()]
}

/// District, industry, category and channel.
pub fn demand_dims(district: &str, industry: &str, category: &str, channel: &str) -> Dims {
    [district.to_owned(), industry.to_owned(), category.to_owned(), all(), channel.to_owned()]
}

/// District, industry, category and unit.
pub fn case_dims(district: &str, industry: &str, category: &str, unit: &str) -> Dims {
    [district.to_owned(), industry.to_owned(), category.to_owned(), unit.to_owned(), all()]
}

/// Category only.
pub fn category_dims(category: &str) -> Dims {
    [all(), all(), category.to_owned(), all(), all()]
}

/// Unit only.
pub fn unit_dims(unit: &str) -> Dims {
    [all(), all(), all(), unit.to_owned(), all()]
}

/// No dimension.
pub fn no_dims() -> Dims {
    [all(), all(), all(), all(), all()]
}

fn add(rows: &mut Rows, metric: &str, dims: &Dims, bucket: i64, slot: i64, value: i64) {
    if value == 0 {
        return;
    }
    let key = Key { metric: metric.to_owned(), dims: dims.clone(), bucket, slot };
    let entry = rows.entry(key).or_insert(0);
    *entry += value;
    if *entry == 0 {
        rows.retain(|_, v| *v != 0);
    }
}

/// An enterprise's facts: its row (if known) and its contacts.
pub fn enterprise(row: Option<&EnterpriseRow>, contacts: &[(String, ContactRow)]) -> Rows {
    let mut rows = Rows::new();
    let known = row.filter(|r| r.info_time.is_some());
    let dims = match (known, contacts.iter().max_by(|a, b| (a.1.contact_time, &a.0).cmp(&(b.1.contact_time, &b.0)))) {
        (Some(r), _) => enterprise_dims(&value(r.district.as_ref()), &value(r.industry.as_ref())),
        (None, Some((_, c))) => enterprise_dims(&c.district, &c.industry),
        (None, None) => enterprise_dims("", ""),
    };
    let registered = row.and_then(|r| r.registered_time);
    if let Some(t) = registered {
        add(&mut rows, m::ENTERPRISES_REGISTERED, &dims, bucket::day_of(t), 0, 1);
    }
    let mut mondays = BTreeSet::new();
    let (mut months, mut quarters, mut years) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for (_, c) in contacts {
        mondays.insert(bucket::week_monday(china_date(c.contact_time)));
        months.insert(bucket::month_of(c.contact_time));
        quarters.insert(bucket::quarter_of(c.contact_time));
        years.insert(bucket::year_of(c.contact_time));
    }
    if let Some(t) = registered {
        let registered_day = bucket::day_of(t);
        for monday in mondays {
            let monday = bucket::day_number(monday);
            if registered_day < monday {
                add(&mut rows, m::CONTACT_WEEKS, &dims, monday + 6, 0, 1);
            }
        }
    }
    for b in months {
        add(&mut rows, m::ENTERPRISES_CONTACTED_MONTH, &dims, b, 0, 1);
    }
    for b in quarters {
        add(&mut rows, m::ENTERPRISES_CONTACTED_QUARTER, &dims, b, 0, 1);
    }
    for b in years {
        add(&mut rows, m::ENTERPRISES_CONTACTED_YEAR, &dims, b, 0, 1);
    }
    rows
}

/// A contact.
pub fn contact(c: &ContactRow) -> Rows {
    let mut rows = Rows::new();
    let dims = enterprise_dims(&c.district, &c.industry);
    let month = bucket::month_of(c.contact_time);
    add(&mut rows, m::CONTACTS_LOGGED, &dims, month, 0, 1);
    add(&mut rows, m::BRIEFING_PERSON_TIMES, &dims, month, 0, c.person_times);
    rows
}

/// A demand (nothing until it is known to be submitted).
pub fn demand(d: &DemandRow) -> Rows {
    let mut rows = Rows::new();
    let Some(submitted) = d.submit_time else { return rows };
    let dims = demand_dims(
        &value(d.district.as_ref()),
        &value(d.industry.as_ref()),
        &value(d.category.as_ref()),
        &value(d.channel.as_ref()),
    );
    add(&mut rows, m::DEMANDS_RECEIVED, &dims, bucket::month_of(submitted), 0, 1);
    if let Some(merged) = d.first_merged_time {
        add(&mut rows, m::DEMANDS_MERGED, &dims, bucket::month_of(merged), 0, 1);
    }
    rows
}

/// A common issue (nothing until it is known to be formed).
pub fn common_issue(category: Option<&String>, formed_time: Option<Time>) -> Rows {
    let mut rows = Rows::new();
    if let Some(t) = formed_time {
        add(&mut rows, m::COMMON_ISSUES_FORMED, &category_dims(&value(category)), bucket::month_of(t), 0, 1);
    }
    rows
}

/// A campaign post.
pub fn post(post_time: Time) -> Rows {
    let mut rows = Rows::new();
    add(&mut rows, m::CAMPAIGN_POSTS, &no_dims(), bucket::month_of(post_time), 0, 1);
    rows
}

/// A campaign post author: once per month, quarter and year with a post.
pub fn author(post_times: &[Time]) -> Rows {
    let mut rows = Rows::new();
    let dims = no_dims();
    let months: BTreeSet<i64> = post_times.iter().map(|t| bucket::month_of(*t)).collect();
    let quarters: BTreeSet<i64> = post_times.iter().map(|t| bucket::quarter_of(*t)).collect();
    let years: BTreeSet<i64> = post_times.iter().map(|t| bucket::year_of(*t)).collect();
    for b in months {
        add(&mut rows, m::CAMPAIGN_PARTICIPANTS_MONTH, &dims, b, 0, 1);
    }
    for b in quarters {
        add(&mut rows, m::CAMPAIGN_PARTICIPANTS_QUARTER, &dims, b, 0, 1);
    }
    for b in years {
        add(&mut rows, m::CAMPAIGN_PARTICIPANTS_YEAR, &dims, b, 0, 1);
    }
    rows
}

/// A closed session.
pub fn session(s: &SessionRow) -> Rows {
    let mut rows = Rows::new();
    let month = bucket::month_of(s.close_time);
    let counter = match SessionFormat::try_from(s.format) {
        Ok(SessionFormat::FaceToFace) => Some(m::SESSIONS_FACE_TO_FACE),
        Ok(SessionFormat::Interactive) => Some(m::SESSIONS_INTERACTIVE),
        Ok(SessionFormat::Online) => Some(m::SESSIONS_ONLINE),
        _ => None,
    };
    if let Some(counter) = counter {
        add(&mut rows, counter, &no_dims(), month, 0, 1);
    }
    add(&mut rows, m::ENTREPRENEUR_SPEAKERS, &no_dims(), month, 0, s.speaker_count);
    rows
}

/// A suggestion.
pub fn suggestion(s: &SuggestionRow) -> Rows {
    let mut rows = Rows::new();
    add(&mut rows, m::SUGGESTIONS_SUBMITTED, &category_dims(&s.category), bucket::month_of(s.submit_time), 0, 1);
    rows
}

/// A special report (nothing until it is known to be sent).
pub fn report(r: &ReportRow) -> Rows {
    let mut rows = Rows::new();
    let Some(sent) = r.sent_time else { return rows };
    let dims = category_dims(&value(r.category.as_ref()));
    let month = bucket::month_of(sent);
    add(&mut rows, m::SPECIAL_REPORTS_SENT, &dims, month, 0, 1);
    if r.instructed {
        add(&mut rows, m::SPECIAL_REPORTS_INSTRUCTED, &dims, month, 0, 1);
    }
    rows
}

/// A quarter `YYYY-Qn`: its year and number.
pub fn parse_quarter(quarter: &str) -> Option<(i32, u32)> {
    let (year, number) = quarter.split_once("-Q")?;
    let year: i32 = year.parse().ok()?;
    let number: u32 = number.parse().ok()?;
    (1..=4).contains(&number).then_some((year, number))
}

/// A case: its cohort counters once dispatched, long-running and follow-up counters independently.
pub fn case(k: &CaseRow, quarters: &[QuarterRow]) -> Rows {
    let mut rows = Rows::new();
    let dims = case_dims(
        &value(k.district.as_ref()),
        &value(k.industry.as_ref()),
        &value(k.category.as_ref()),
        &value(k.unit_id.as_ref()),
    );
    if let Some(dispatched) = k.dispatch_time {
        let cohort = bucket::month_of(dispatched);
        let mut count = |metric: &str, yes: bool| {
            if yes {
                add(&mut rows, metric, &dims, cohort, 0, 1);
            }
        };
        let replied = k.first_reply_time.is_some();
        let evaluated = k.last_eval_time.is_some();
        let satisfied = matches!(
            k.last_eval_result.map(EvaluationResult::try_from),
            Some(Ok(EvaluationResult::Satisfied | EvaluationResult::BasicallySatisfied))
        );
        count(m::CASES_ASSIGNED, true);
        count(m::CASES_REPLIED, replied);
        count(m::CASES_DUE, replied || k.deadline_reached);
        count(m::CASES_ON_TIME, replied && k.first_reply_on_time == Some(true));
        count(m::CASES_RESOLVED, k.last_reply_class == Some(ResultClass::A as i32));
        count(m::CASES_EVALUATED, evaluated);
        count(m::CASES_SATISFIED, evaluated && satisfied);
        count(m::CASES_REOPENED, evaluated && k.reopened);
        if let Some(first_reply) = k.first_reply_time {
            let slot = bucket::handling_slot((first_reply - dispatched).num_seconds());
            add(&mut rows, m::HANDLING_TIME, &dims, cohort, slot, 1);
        }
    }
    if let Some(since) = k.long_running_since {
        add(&mut rows, m::LONG_RUNNING_STARTED, &dims, bucket::month_of(since), 0, 1);
        if let Some(closed) = k.closed_time {
            add(&mut rows, m::LONG_RUNNING_ENDED, &dims, bucket::month_of(closed), 0, 1);
        }
    }
    for q in quarters {
        let Some((year, number)) = parse_quarter(&q.quarter) else { continue };
        let Some(last_month) = NaiveDate::from_ymd_opt(year, number * 3, 1) else { continue };
        let Some(end_day) = last_month.checked_add_months(chrono::Months::new(1)) else { continue };
        let end = start_of_china_day(end_day);
        let required = q.missed || (q.followed && k.long_running_since.is_some_and(|since| since < end));
        if required {
            let at = bucket::day_number(last_month);
            add(&mut rows, m::FOLLOW_UP_REQUIRED, &dims, at, 0, 1);
            if q.followed {
                add(&mut rows, m::FOLLOW_UP_DONE, &dims, at, 0, 1);
            }
        }
    }
    rows
}

/// A rectification order.
pub fn order(o: &OrderRow) -> Rows {
    let mut rows = Rows::new();
    let dims = unit_dims(&value(o.unit_id.as_ref()));
    if let Some(t) = o.issue_time {
        add(&mut rows, m::RECTIFICATIONS_ISSUED, &dims, bucket::month_of(t), 0, 1);
    }
    if let Some(t) = o.verified_time {
        add(&mut rows, m::RECTIFICATIONS_VERIFIED, &dims, bucket::month_of(t), 0, 1);
    }
    rows
}

/// A benefit.
pub fn benefit(b: &BenefitRow) -> Rows {
    let mut rows = Rows::new();
    let dims = case_dims(&b.district, &b.industry, &b.category, &b.unit_id);
    let month = bucket::month_of(b.record_time);
    if b.problems_solved > 0 {
        add(&mut rows, &m::problems_solved(&b.benefit_category), &dims, month, 0, b.problems_solved);
    }
    let money = match BenefitKind::try_from(b.kind) {
        Ok(BenefitKind::InterestReduced) => Some(m::INTEREST_REDUCED),
        Ok(BenefitKind::Subsidy) => Some(m::SUBSIDIES),
        Ok(BenefitKind::FeeWaived) => Some(m::FEES_WAIVED),
        Ok(BenefitKind::OtherMoney) => Some(m::OTHER_MONEY),
        _ => None,
    };
    if let Some(metric) = money {
        add(&mut rows, metric, &dims, month, 0, b.amount_fen);
    }
    rows
}

/// The change from the `old` contribution to the `new` one.
pub fn difference(old: &Rows, new: &Rows) -> Rows {
    let mut delta = new.clone();
    for (key, v) in old {
        *delta.entry(key.clone()).or_insert(0) -= v;
    }
    delta.retain(|_, v| *v != 0);
    delta
}

/// Each row counted at every subset of its carried dimensions replaced by [`ALL`].
pub fn expand(rows: &Rows) -> Rows {
    let mut out = Rows::new();
    for (key, v) in rows {
        let carried: Vec<usize> = (0..key.dims.len()).filter(|i| key.dims[*i] != ALL).collect();
        for mask in 0u32..(1 << carried.len()) {
            let mut dims = key.dims.clone();
            for (bit, i) in carried.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    dims[*i] = all();
                }
            }
            let k = Key { metric: key.metric.clone(), dims, bucket: key.bucket, slot: key.slot };
            *out.entry(k).or_insert(0) += v;
        }
    }
    out.retain(|_, v| *v != 0);
    out
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Datelike, Utc};

    use super::*;

    fn t(s: &str) -> Time {
        DateTime::parse_from_rfc3339(s).expect("instant").with_timezone(&Utc)
    }

    fn day(y: i32, mo: u32, d: u32) -> i64 {
        bucket::day_number(NaiveDate::from_ymd_opt(y, mo, d).expect("date"))
    }

    fn get(rows: &Rows, metric: &str, dims: &Dims, bucket: i64, slot: i64) -> i64 {
        rows.get(&Key { metric: metric.to_owned(), dims: dims.clone(), bucket, slot }).copied().unwrap_or(0)
    }

    fn dispatched_case() -> CaseRow {
        CaseRow {
            district: Some("dh".into()),
            industry: Some("fish".into()),
            category: Some("finance".into()),
            unit_id: Some("zs-jxj".into()),
            dispatch_time: Some(t("2024-03-31T17:00:00Z")), // 2024-04-01 01:00 in China
            ..CaseRow::default()
        }
    }

    #[test]
    fn a_reply_known_before_its_dispatch_counts_nothing_until_the_dispatch_arrives() {
        let mut k = CaseRow::default();
        k.replied(t("2024-04-03T01:00:00Z"), true, ResultClass::A as i32);
        assert!(case(&k, &[]).is_empty(), "no dispatch, no cohort");
        k.dispatched(t("2024-03-31T17:00:00Z"));
        k.district = Some("dh".into());
        let rows = case(&k, &[]);
        let dims = case_dims("dh", "", "", "");
        let april = day(2024, 4, 1);
        for metric in [m::CASES_ASSIGNED, m::CASES_REPLIED, m::CASES_DUE, m::CASES_ON_TIME, m::CASES_RESOLVED] {
            assert_eq!(get(&rows, metric, &dims, april, 0), 1, "{metric}");
        }
        assert_eq!(get(&rows, m::CASES_EVALUATED, &dims, april, 0), 0);
        // 2 days and 8 hours = 56 hours: hourly slot 56.
        assert_eq!(get(&rows, m::HANDLING_TIME, &dims, april, 56), 1);
    }

    #[test]
    fn case_cohort_rates_follow_the_facts() {
        let mut k = dispatched_case();
        k.deadline_reached = true;
        k.evaluated(t("2024-05-01T00:00:00Z"), EvaluationResult::Dissatisfied as i32, true);
        let rows = case(&k, &[]);
        let dims = case_dims("dh", "fish", "finance", "zs-jxj");
        let april = day(2024, 4, 1);
        assert_eq!(get(&rows, m::CASES_DUE, &dims, april, 0), 1, "deadline reached without a reply is due");
        assert_eq!(get(&rows, m::CASES_REPLIED, &dims, april, 0), 0);
        assert_eq!(get(&rows, m::CASES_EVALUATED, &dims, april, 0), 1);
        assert_eq!(get(&rows, m::CASES_SATISFIED, &dims, april, 0), 0);
        assert_eq!(get(&rows, m::CASES_REOPENED, &dims, april, 0), 1);
    }

    #[test]
    fn expansion_counts_a_row_at_every_subset_of_its_carried_dims() {
        let k = dispatched_case();
        let rows = case(&k, &[]);
        assert_eq!(rows.len(), 1, "dispatched only: assigned");
        let expanded = expand(&rows);
        // Four carried dims (channel is not carried): 2^4 keys per row.
        assert_eq!(expanded.len(), rows.len() * 16);
        let april = day(2024, 4, 1);
        let everything = no_dims();
        assert_eq!(get(&expanded, m::CASES_ASSIGNED, &everything, april, 0), 1);
        let by_unit = unit_dims("zs-jxj");
        assert_eq!(get(&expanded, m::CASES_ASSIGNED, &by_unit, april, 0), 1);
        let district_and_category =
            ["dh".to_owned(), ALL.to_owned(), "finance".to_owned(), ALL.to_owned(), ALL.to_owned()];
        assert_eq!(get(&expanded, m::CASES_ASSIGNED, &district_and_category, april, 0), 1);
        // An unknown value is a key of its own, not '*'.
        let mut unknown = CaseRow { unit_id: None, ..k };
        unknown.district = Some(String::new());
        let expanded = expand(&case(&unknown, &[]));
        let empty_district = [String::new(), ALL.to_owned(), ALL.to_owned(), ALL.to_owned(), ALL.to_owned()];
        assert_eq!(get(&expanded, m::CASES_ASSIGNED, &empty_district, april, 0), 1);
    }

    #[test]
    fn weekly_contacts_count_weeks_starting_after_registration() {
        let row = EnterpriseRow {
            district: Some("dh".into()),
            industry: Some("fish".into()),
            registered_time: Some(t("2024-09-03T02:00:00Z")), // Tuesday 2024-09-03
            info_time: Some(t("2024-09-03T02:00:00Z")),
            ..EnterpriseRow::default()
        };
        let contact = |id: &str, at: &str| {
            (
                id.to_owned(),
                ContactRow {
                    enterprise_id: "e".into(),
                    contact_time: t(at),
                    person_times: 3,
                    district: "old".into(),
                    industry: "old".into(),
                },
            )
        };
        let contacts = vec![
            contact("c1", "2024-09-04T02:00:00Z"), // week of registration: not due
            contact("c2", "2024-09-10T02:00:00Z"), // week of Monday 09-09
            contact("c3", "2024-09-12T02:00:00Z"), // same week, counted once
            contact("c4", "2024-10-02T02:00:00Z"), // week of Monday 09-30, Sunday 10-06
        ];
        let rows = enterprise(Some(&row), &contacts);
        let dims = enterprise_dims("dh", "fish");
        assert_eq!(get(&rows, m::ENTERPRISES_REGISTERED, &dims, day(2024, 9, 3), 0), 1);
        assert_eq!(get(&rows, m::CONTACT_WEEKS, &dims, day(2024, 9, 8), 0), 0);
        assert_eq!(get(&rows, m::CONTACT_WEEKS, &dims, day(2024, 9, 15), 0), 1);
        assert_eq!(get(&rows, m::CONTACT_WEEKS, &dims, day(2024, 10, 6), 0), 1);
        assert_eq!(bucket::date_of(day(2024, 10, 6)).weekday(), chrono::Weekday::Sun);
        assert_eq!(get(&rows, m::ENTERPRISES_CONTACTED_MONTH, &dims, day(2024, 9, 1), 0), 1);
        assert_eq!(get(&rows, m::ENTERPRISES_CONTACTED_MONTH, &dims, day(2024, 10, 1), 0), 1);
        assert_eq!(get(&rows, m::ENTERPRISES_CONTACTED_QUARTER, &dims, day(2024, 7, 1), 0), 1);
        assert_eq!(get(&rows, m::ENTERPRISES_CONTACTED_QUARTER, &dims, day(2024, 10, 1), 0), 1);
        assert_eq!(get(&rows, m::ENTERPRISES_CONTACTED_YEAR, &dims, day(2024, 1, 1), 0), 1);
        // Not registered yet: contacts count for "contacted", the dims come from the latest contact.
        let rows = enterprise(None, &contacts);
        let old = enterprise_dims("old", "old");
        assert_eq!(get(&rows, m::CONTACT_WEEKS, &old, day(2024, 9, 15), 0), 0);
        assert_eq!(get(&rows, m::ENTERPRISES_CONTACTED_YEAR, &old, day(2024, 1, 1), 0), 1);
    }

    #[test]
    fn follow_ups_are_required_for_long_running_quarters_or_missed_ones() {
        let mut k = dispatched_case();
        k.long_running(t("2024-08-15T00:00:00Z"));
        let quarters = vec![
            QuarterRow { quarter: "2024-Q3".into(), followed: true, missed: false },
            QuarterRow { quarter: "2024-Q4".into(), followed: false, missed: true },
            // Followed before the case became long-running: not required.
            QuarterRow { quarter: "2024-Q2".into(), followed: true, missed: false },
        ];
        let rows = case(&k, &quarters);
        let dims = case_dims("dh", "fish", "finance", "zs-jxj");
        assert_eq!(get(&rows, m::FOLLOW_UP_REQUIRED, &dims, day(2024, 9, 1), 0), 1);
        assert_eq!(get(&rows, m::FOLLOW_UP_DONE, &dims, day(2024, 9, 1), 0), 1);
        assert_eq!(get(&rows, m::FOLLOW_UP_REQUIRED, &dims, day(2024, 12, 1), 0), 1);
        assert_eq!(get(&rows, m::FOLLOW_UP_DONE, &dims, day(2024, 12, 1), 0), 0);
        assert_eq!(get(&rows, m::FOLLOW_UP_REQUIRED, &dims, day(2024, 6, 1), 0), 0);
        assert_eq!(get(&rows, m::LONG_RUNNING_STARTED, &dims, day(2024, 8, 1), 0), 1);
        assert_eq!(get(&rows, m::LONG_RUNNING_ENDED, &dims, day(2024, 8, 1), 0), 0);
    }

    #[test]
    fn a_changed_contribution_moves_counts_between_keys() {
        let mut k = dispatched_case();
        let before = case(&k, &[]);
        k.unit_id = Some("zs-zjj".into());
        let after = case(&k, &[]);
        let delta = expand(&difference(&before, &after));
        let april = day(2024, 4, 1);
        assert_eq!(get(&delta, m::CASES_ASSIGNED, &unit_dims("zs-jxj"), april, 0), -1);
        assert_eq!(get(&delta, m::CASES_ASSIGNED, &unit_dims("zs-zjj"), april, 0), 1);
        assert_eq!(get(&delta, m::CASES_ASSIGNED, &no_dims(), april, 0), 0, "the total does not move");
        assert!(difference(&after, &after).is_empty());
    }

    #[test]
    fn benefits_count_money_by_kind_and_problems_by_category() {
        let b = BenefitRow {
            district: "dh".into(),
            category: "finance".into(),
            unit_id: "bank".into(),
            kind: BenefitKind::InterestReduced as i32,
            benefit_category: "finance_credit".into(),
            problems_solved: 2,
            amount_fen: 1_971_000_000,
            record_time: t("2024-06-10T00:00:00Z"),
            ..BenefitRow::default()
        };
        let rows = benefit(&b);
        let dims = case_dims("dh", "", "finance", "bank");
        let june = day(2024, 6, 1);
        assert_eq!(get(&rows, m::INTEREST_REDUCED, &dims, june, 0), 1_971_000_000);
        assert_eq!(get(&rows, &m::problems_solved("finance_credit"), &dims, june, 0), 2);
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn quarters_parse() {
        assert_eq!(parse_quarter("2024-Q3"), Some((2024, 3)));
        assert_eq!(parse_quarter("2024-Q5"), None);
        assert_eq!(parse_quarter("junk"), None);
    }
}
