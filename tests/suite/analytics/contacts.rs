//! Enterprises contacted (distinct per period), contacts and person-times, and weekly-contact compliance
//! over June 2024 with enterprises registered mid-month.
//!
//! June 2024 starts on a Saturday; the weeks ending in June are those of Sundays 2, 9, 16, 23 and 30.

use tingjian_proto::analytics::v1::{Dimension, Metric};
use tingjian_proto::common::v1::Event;
use tingjian_tests::{StorageBackend, on_both_backends};

use super::fixtures::*;

const PUTUO: (&str, &str) = ("putuo", "ocean_fishing");
const DINGHAI: (&str, &str) = ("dinghai", "port_logistics");

fn visit(id: &str, enterprise: &str, (d, i): (&str, &str), at: chrono::DateTime<chrono::Utc>, pt: i32) -> Event {
    contact(id, enterprise, d, i, at, pt)
}

/// Four enterprises (two registered in June, one on a Monday) and ten contacts from May to July.
pub fn events() -> Vec<Event> {
    vec![
        enterprise_registered("e1", "舟山市海丰远洋渔业有限公司", PUTUO.0, PUTUO.1, china(2024, 1, 10, 9, 0)),
        enterprise_registered("e2", "舟山港口物流有限公司", DINGHAI.0, DINGHAI.1, china(2024, 3, 5, 9, 0)),
        // Wednesday 12 June: due from the week of Monday 17 June.
        enterprise_registered("e3", "浙江普陀远洋捕捞有限公司", PUTUO.0, PUTUO.1, china(2024, 6, 12, 9, 0)),
        // Monday 17 June: that week began with its registration day, so it is due from 24 June only.
        enterprise_registered("e4", "定海冷链物流有限公司", DINGHAI.0, DINGHAI.1, china(2024, 6, 17, 9, 0)),
        visit("c1", "e1", PUTUO, china(2024, 6, 1, 10, 0), 10), // Sat: week of Sun 2 June
        visit("c2", "e1", PUTUO, china(2024, 6, 4, 10, 0), 5),  // week of Sun 9 June
        visit("c3", "e1", PUTUO, china(2024, 6, 5, 10, 0), 0),  // same week again
        visit("c4", "e2", DINGHAI, china(2024, 5, 28, 10, 0), 3), // May, but the week of Sun 2 June
        visit("c5", "e2", DINGHAI, china(2024, 6, 20, 10, 0), 8), // week of Sun 23 June
        visit("c6", "e3", PUTUO, china(2024, 6, 13, 10, 0), 2), // week of 10 June: before e3 was due
        visit("c7", "e3", PUTUO, china(2024, 6, 25, 10, 0), 4), // week of Sun 30 June
        visit("c8", "e4", DINGHAI, china(2024, 6, 18, 10, 0), 1), // week of 17 June: not due for e4
        visit("c9", "e1", PUTUO, china(2024, 7, 2, 10, 0), 6),  // July
        visit("c10", "e2", DINGHAI, china(2024, 6, 30, 23, 30), 2), // Sunday 30 June, 23:30 China time
    ]
}

/// The hand-computed figures of [`events`].
pub async fn check(h: &mut Harness) {
    // June: contacts c1, c2, c3, c5, c6, c7, c8, c10 = 8 of e1..e4 = 4 enterprises;
    // person-times 10 + 5 + 0 + 8 + 2 + 4 + 1 + 2 = 32.
    // Compliance: due weeks e1 5 + e2 5 + e3 2 (17, 24 June) + e4 1 (24 June) = 13; weeks with a contact
    // e1 2 (2, 9 June) + e2 3 (2, 23, 30 June) + e3 1 (30 June) + e4 0 = 6.
    let card = h.card(month(2024, 6)).await;
    assert_eq!((card.enterprises_contacted, card.contacts_logged, card.policy_briefing_person_times), (4, 8, 32));
    assert_eq!(rate(&card.weekly_contact_compliance), (6, 13));
    // May: c4 of e2, 3 person-times. Weeks ending 5, 12, 19, 26 May: e1 and e2 due 4 each, none contacted
    // (c4's week ends on 2 June).
    let card = h.card(month(2024, 5)).await;
    assert_eq!((card.enterprises_contacted, card.contacts_logged, card.policy_briefing_person_times), (1, 1, 3));
    assert_eq!(rate(&card.weekly_contact_compliance), (0, 8));
    // July: c9 of e1.
    let card = h.card(month(2024, 7)).await;
    assert_eq!((card.enterprises_contacted, card.contacts_logged, card.policy_briefing_person_times), (1, 1, 6));
    // Q2: 9 contacts of 4 distinct enterprises (not May's 1 + June's 4), 35 person-times.
    let card = h.card(quarter(2024, 2)).await;
    assert_eq!((card.enterprises_contacted, card.contacts_logged, card.policy_briefing_person_times), (4, 9, 35));
    // Q3: c9 only.
    let card = h.card(quarter(2024, 3)).await;
    assert_eq!((card.enterprises_contacted, card.contacts_logged), (1, 1));
    // 2024: 10 contacts of 4 enterprises, 41 person-times.
    let card = h.card(year(2024)).await;
    assert_eq!((card.enterprises_contacted, card.contacts_logged, card.policy_briefing_person_times), (4, 10, 41));

    // Putuo in June: e1, e3; c1, c2, c3, c6, c7; 10 + 5 + 0 + 2 + 4 = 21; compliance (2 + 1) / (5 + 2).
    let card = h.scorecard(month(2024, 6), district("putuo")).await;
    assert_eq!((card.enterprises_contacted, card.contacts_logged, card.policy_briefing_person_times), (2, 5, 21));
    assert_eq!(rate(&card.weekly_contact_compliance), (3, 7));
    assert!(!not_applicable(&card, Metric::WeeklyContactCompliance));
    // Dinghai in June: e2, e4; c5, c8, c10; 8 + 1 + 2 = 11; compliance (3 + 0) / (5 + 1).
    let card = h.scorecard(month(2024, 6), district("dinghai")).await;
    assert_eq!((card.enterprises_contacted, card.contacts_logged, card.policy_briefing_person_times), (2, 3, 11));
    assert_eq!(rate(&card.weekly_contact_compliance), (3, 6));
    // Contacts carry no category.
    let card = h.scorecard(month(2024, 6), category("finance_credit")).await;
    assert_eq!(card.contacts_logged, 0);
    assert!(not_applicable(&card, Metric::ContactsLogged), "{:?}", card.not_applicable);
    assert!(not_applicable(&card, Metric::WeeklyContactCompliance), "{:?}", card.not_applicable);

    // Enterprises contacted in June by district: dinghai 2, putuo 2 (ties by key).
    let breakdown = h.breakdown(Metric::EnterprisesContacted, month(2024, 6), Dimension::District, all()).await;
    let rows: Vec<(&str, f64)> =
        breakdown.rows.iter().map(|r| (r.key.as_str(), r.value.as_ref().map_or(-1.0, |v| v.value))).collect();
    assert_eq!(rows, [("dinghai", 2.0), ("putuo", 2.0)]);
    assert_eq!(breakdown.total.as_ref().map(|v| v.value), Some(4.0));
    // Compliance by district: a rate per row from its own parts; the total is 6/13, not a sum of rates.
    let breakdown = h.breakdown(Metric::WeeklyContactCompliance, month(2024, 6), Dimension::District, all()).await;
    let mut rows: Vec<(String, (i64, i64))> =
        breakdown.rows.iter().map(|r| (r.key.clone(), rate_of(r.value.as_ref()))).collect();
    rows.sort();
    assert_eq!(rows, [("dinghai".into(), (3, 6)), ("putuo".into(), (3, 7))]);
    assert_eq!(rate_of(breakdown.total.as_ref()), (6, 13));
}

async fn contacts_and_weekly_compliance(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    h.feed(&events()).await;
    check(&mut h).await;
}
on_both_backends!(contacts_and_weekly_contact_compliance, super::contacts_and_weekly_compliance);
