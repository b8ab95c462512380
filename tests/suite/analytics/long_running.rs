//! Long-running cases (open at some instant of the period) and quarterly follow-up compliance across
//! quarters: followed, missed, closed mid-period, followed before becoming long-running, followed
//! without ever being long-running.

use tingjian_proto::analytics::v1::Metric;
use tingjian_proto::common::v1::Event;
use tingjian_tests::{StorageBackend, on_both_backends};

use super::fixtures::*;

const PUTUO: (&str, &str, &str) = ("putuo", "ocean_fishing", "finance_credit");
const DINGHAI: (&str, &str, &str) = ("dinghai", "port_logistics", "logistics");

/// Five cases dispatched in 2023; four become long-running between December 2023 and August 2024.
pub fn events() -> Vec<Event> {
    let l1 = CaseFacts::new("l1", "zs-jrb", PUTUO, china(2023, 6, 1, 9, 0));
    let l2 = CaseFacts::new("l2", "zs-jtj", DINGHAI, china(2023, 9, 1, 9, 0));
    let l3 = CaseFacts::new("l3", "zs-jrb", PUTUO, china(2023, 11, 10, 9, 0));
    let l4 = CaseFacts::new("l4", "zs-jxj", PUTUO, china(2023, 12, 20, 9, 0));
    let l5 = CaseFacts::new("l5", "zs-jxj", PUTUO, china(2023, 10, 10, 9, 0));
    vec![
        l1.dispatched(),
        l1.long_running(china(2023, 12, 1, 9, 0)),
        l1.followed(2023, 4, china(2023, 12, 15, 9, 0)),
        l1.followed(2024, 1, china(2024, 2, 10, 9, 0)),
        l1.missed(2024, 2, china(2024, 7, 1, 0, 5)),
        l1.followed(2024, 3, china(2024, 8, 5, 9, 0)),
        l1.closed(true, china(2024, 9, 20, 9, 0)),
        l2.dispatched(),
        l2.long_running(china(2024, 3, 1, 9, 0)),
        l2.followed(2024, 1, china(2024, 3, 20, 9, 0)),
        l2.followed(2024, 2, china(2024, 5, 10, 9, 0)),
        l2.followed(2024, 2, china(2024, 6, 10, 9, 0)), // a second follow-up in the same quarter
        l2.missed(2024, 3, china(2024, 10, 1, 0, 5)),
        l2.missed(2024, 4, china(2025, 1, 1, 0, 5)),
        l3.dispatched(),
        l3.long_running(china(2024, 5, 15, 9, 0)),
        l3.followed(2024, 2, china(2024, 6, 1, 9, 0)),
        l3.closed(true, china(2024, 6, 20, 9, 0)),
        l4.dispatched(),
        l4.followed(2024, 2, china(2024, 5, 5, 9, 0)), // before it became long-running: not required
        l4.long_running(china(2024, 8, 10, 9, 0)),
        l4.followed(2024, 3, china(2024, 9, 1, 9, 0)),
        l4.missed(2024, 4, china(2025, 1, 1, 0, 5)),
        l5.dispatched(),
        l5.followed(2024, 2, china(2024, 5, 6, 9, 0)), // never long-running: not required
        l5.closed(false, china(2024, 6, 1, 9, 0)),
    ]
}

fn long(card: &tingjian_proto::analytics::v1::Scorecard) -> (i64, (i64, i64)) {
    (card.long_running_cases, rate(&card.follow_up_compliance))
}

/// The hand-computed figures of [`events`].
pub async fn check(h: &mut Harness) {
    // Long-running: l1 since Dec 2023 (closed 20 Sep 2024), l2 since Mar 2024, l3 May–20 Jun 2024,
    // l4 since Aug 2024. Required quarters: l1 2023-Q4 ✓, 2024-Q1 ✓, Q2 ✗ (missed), Q3 ✓; l2 Q1 ✓, Q2 ✓,
    // Q3 ✗, Q4 ✗; l3 Q2 ✓; l4 Q3 ✓ (its Q2 follow-up came before it was long-running), Q4 ✗; l5 never.
    // 2023-Q4: l1; 1/1.
    assert_eq!(long(&h.card(quarter(2023, 4)).await), (1, (1, 1)));
    // 2024-Q1: l1, l2; 2/2.
    assert_eq!(long(&h.card(quarter(2024, 1)).await), (2, (2, 2)));
    // Q2: l1, l2, l3 (closed in June, open before); l1 missed, l2 and l3 followed: 2/3.
    assert_eq!(long(&h.card(quarter(2024, 2)).await), (3, (2, 3)));
    // Q3: started l1..l4 − ended before July (l3) = 3 (l1 closed in September counts); l1 and l4
    // followed, l2 missed: 2/3.
    assert_eq!(long(&h.card(quarter(2024, 3)).await), (3, (2, 3)));
    // Q4: l2, l4 still open, both missed: 0/2.
    assert_eq!(long(&h.card(quarter(2024, 4)).await), (2, (0, 2)));
    // 2024: l1..l4 all long-running in the year; 2 + 2 + 2 + 0 of 2 + 3 + 3 + 2 required quarters.
    assert_eq!(long(&h.card(year(2024)).await), (4, (6, 10)));
    // June (the last month of Q2 carries the quarter's pairs): l1, l2, l3; 2/3. May: l1, l2, l3; none.
    assert_eq!(long(&h.card(month(2024, 6)).await), (3, (2, 3)));
    assert_eq!(long(&h.card(month(2024, 5)).await), (3, (0, 0)));
    // July: l1, l2 (l3 closed in June).
    assert_eq!(long(&h.card(month(2024, 7)).await).0, 2);

    // The finance office in Q2: l1 (missed) and l3 (followed).
    assert_eq!(long(&h.scorecard(quarter(2024, 2), unit_filter("zs-jrb")).await), (2, (1, 2)));
    // Dinghai in Q2: l2, followed (twice: one pair).
    assert_eq!(long(&h.scorecard(quarter(2024, 2), district("dinghai")).await), (1, (1, 1)));
    // The cohort of 2023: five cases dispatched.
    assert_eq!(h.card(year(2023)).await.cases_assigned, 5);
    let card = h.scorecard(year(2024), category("patent")).await;
    assert_eq!(long(&card), (0, (0, 0)));
    assert!(!not_applicable(&card, Metric::LongRunningCases));
}

async fn long_running_and_follow_ups(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    h.feed(&events()).await;
    check(&mut h).await;
}
on_both_backends!(long_running_cases_and_follow_up_compliance, super::long_running_and_follow_ups);
