//! Demands received and merged, common issues formed: by month, quarter and year, filtered, broken down
//! by district and channel, and not applicable to a dimension a figure does not carry.

use tingjian_proto::analytics::v1::{Dimension, Metric, ScorecardFilter};
use tingjian_proto::common::v1::Event;
use tingjian_proto::intake::v1::DemandChannel;
use tingjian_tests::{StorageBackend, on_both_backends};

use super::fixtures::*;

fn dims<'a>(enterprise: &'a str, district: &'a str, category: &'a str, channel: DemandChannel) -> DemandDims<'a> {
    let industry = if district == "dinghai" { "port_logistics" } else { "ocean_fishing" };
    DemandDims { enterprise, district, industry, category, channel }
}

/// Seven demands (six in 2024), one recategorised, merged into three common issues, one of them grown.
pub fn events() -> Vec<Event> {
    vec![
        demand_submitted(
            "d1",
            dims("ent-d1", "putuo", "finance_credit", DemandChannel::Visit),
            china(2024, 1, 10, 10, 0),
        ),
        demand_submitted(
            "d2",
            dims("ent-d1", "putuo", "finance_credit", DemandChannel::Phone),
            china(2024, 1, 20, 10, 0),
        ),
        // d2 is moved to logistics.
        demand_recategorised("d2", "finance_credit", "logistics", china(2024, 1, 25, 10, 0)),
        demand_submitted("d3", dims("ent-d3", "dinghai", "logistics", DemandChannel::Visit), china(2024, 2, 5, 10, 0)),
        // 23:30 on 31 March in China (15:30 UTC): March, Q1.
        demand_submitted(
            "d4",
            dims("ent-d3", "dinghai", "finance_credit", DemandChannel::App),
            china(2024, 3, 31, 23, 30),
        ),
        // 00:30 on 1 April in China (still 31 March in UTC): April, Q2.
        demand_submitted(
            "d5",
            dims("ent-d5", "daishan", "finance_credit", DemandChannel::Visit),
            china(2024, 4, 1, 0, 30),
        ),
        demand_submitted(
            "d6",
            dims("ent-d1", "putuo", "patent", DemandChannel::MonitoringPoint),
            china(2024, 11, 3, 10, 0),
        ),
        demand_submitted("d7", dims("ent-d1", "putuo", "patent", DemandChannel::Visit), china(2025, 1, 2, 10, 0)),
        common_issue_formed("ci1", "finance_credit", &["d1", "d2"], china(2024, 2, 1, 10, 0)),
        common_issue_formed("ci2", "finance_credit", &["d4", "d5"], china(2024, 4, 10, 10, 0)),
        common_issue_changed("ci2", &["d3"], &["d4", "d5", "d3"], china(2024, 5, 5, 10, 0)),
        // d1 joins a second issue: it was first merged in February.
        common_issue_formed("ci3", "patent", &["d6", "d1"], china(2024, 11, 20, 10, 0)),
    ]
}

/// (received, merged, issues) of a scorecard.
fn demand_figures(card: &tingjian_proto::analytics::v1::Scorecard) -> (i64, i64, i64) {
    (card.demands_received, card.demands_merged, card.common_issues_formed)
}

/// The hand-computed figures of [`events`].
pub async fn check(h: &mut Harness) {
    // January: d1, d2 received; nothing merged yet.
    assert_eq!(demand_figures(&h.card(month(2024, 1)).await), (2, 0, 0));
    // February: d3; d1 and d2 merged into ci1.
    assert_eq!(demand_figures(&h.card(month(2024, 2)).await), (1, 2, 1));
    // March: d4 (23:30 China time on the 31st).
    assert_eq!(demand_figures(&h.card(month(2024, 3)).await), (1, 0, 0));
    // April: d5 (00:30 China time on the 1st); d4, d5 merged into ci2.
    assert_eq!(demand_figures(&h.card(month(2024, 4)).await), (1, 2, 1));
    // May: d3 added to ci2.
    assert_eq!(demand_figures(&h.card(month(2024, 5)).await), (0, 1, 0));
    // Q1: d1..d4 = 4; d1, d2 merged = 2; ci1.
    assert_eq!(demand_figures(&h.card(quarter(2024, 1)).await), (4, 2, 1));
    // Q2: d5; d4, d5, d3 merged = 3; ci2.
    assert_eq!(demand_figures(&h.card(quarter(2024, 2)).await), (1, 3, 1));
    // Q4: d6; d6 merged (d1 joining ci3 is not a first merge); ci3.
    assert_eq!(demand_figures(&h.card(quarter(2024, 4)).await), (1, 1, 1));
    // 2024: d1..d6 = 6; all six merged once; three issues. 2025: d7.
    assert_eq!(demand_figures(&h.card(year(2024)).await), (6, 6, 3));
    assert_eq!(demand_figures(&h.card(year(2025)).await), (1, 0, 0));

    // Putuo: d1, d2, d6 received and merged; common issues carry no district.
    let card = h.scorecard(year(2024), district("putuo")).await;
    assert_eq!((card.demands_received, card.demands_merged), (3, 3));
    assert_eq!(card.common_issues_formed, 0);
    assert!(not_applicable(&card, Metric::CommonIssuesFormed), "{:?}", card.not_applicable);
    assert!(not_applicable(&card, Metric::CampaignPosts), "{:?}", card.not_applicable);
    assert!(not_applicable(&card, Metric::SuggestionsSubmitted), "{:?}", card.not_applicable);
    assert!(not_applicable(&card, Metric::RectificationsIssued), "{:?}", card.not_applicable);
    assert!(!not_applicable(&card, Metric::DemandsReceived), "{:?}", card.not_applicable);
    assert!(!not_applicable(&card, Metric::DemandsMerged), "{:?}", card.not_applicable);
    assert!(!not_applicable(&card, Metric::ResponseRate), "cases carry the district");

    // finance_credit (d2 moved to logistics): d1, d4, d5 received and merged; ci1, ci2.
    let card = h.scorecard(year(2024), category("finance_credit")).await;
    assert_eq!(demand_figures(&card), (3, 3, 2));
    assert!(!not_applicable(&card, Metric::CommonIssuesFormed));
    // logistics: d2, d3.
    assert_eq!(demand_figures(&h.scorecard(year(2024), category("logistics")).await).0, 2);

    // Visits: d1, d3, d5 received and merged.
    let visits = ScorecardFilter { channel: DemandChannel::Visit as i32, ..Default::default() };
    let card = h.scorecard(year(2024), visits).await;
    assert_eq!((card.demands_received, card.demands_merged), (3, 3));
    assert!(not_applicable(&card, Metric::CommonIssuesFormed));
    assert!(not_applicable(&card, Metric::ContactsLogged), "contacts carry no channel");

    // Dinghai and finance_credit: d4 only (merged in April, Q2).
    let both = ScorecardFilter { district: "dinghai".into(), category: "finance_credit".into(), ..Default::default() };
    let card = h.scorecard(year(2024), both.clone()).await;
    assert_eq!((card.demands_received, card.demands_merged), (1, 1));
    let card = h.scorecard(quarter(2024, 1), district("dinghai")).await;
    // Q1 in Dinghai: d3, d4 received; neither merged before April.
    assert_eq!((card.demands_received, card.demands_merged), (2, 0));

    // Received by district in 2024: putuo 3 (d1, d2, d6), dinghai 2 (d3, d4), daishan 1 (d5).
    let breakdown = h.breakdown(Metric::DemandsReceived, year(2024), Dimension::District, all()).await;
    let rows: Vec<(&str, f64)> =
        breakdown.rows.iter().map(|r| (r.key.as_str(), r.value.as_ref().map_or(-1.0, |v| v.value))).collect();
    assert_eq!(rows, [("putuo", 3.0), ("dinghai", 2.0), ("daishan", 1.0)]);
    assert_eq!(breakdown.total.as_ref().map(|v| v.value), Some(6.0));

    // By channel: visits 3; app, monitoring point and phone 1 each (ties by key).
    let breakdown = h.breakdown(Metric::DemandsReceived, year(2024), Dimension::Channel, all()).await;
    let rows: Vec<(&str, f64)> =
        breakdown.rows.iter().map(|r| (r.key.as_str(), r.value.as_ref().map_or(-1.0, |v| v.value))).collect();
    assert_eq!(
        rows,
        [
            ("DEMAND_CHANNEL_VISIT", 3.0),
            ("DEMAND_CHANNEL_APP", 1.0),
            ("DEMAND_CHANNEL_MONITORING_POINT", 1.0),
            ("DEMAND_CHANNEL_PHONE", 1.0)
        ]
    );

    // Merged by category within Putuo: finance_credit d1, logistics d2, patent d6.
    let breakdown = h.breakdown(Metric::DemandsMerged, year(2024), Dimension::Category, district("putuo")).await;
    let mut rows: Vec<(String, f64)> =
        breakdown.rows.iter().map(|r| (r.key.clone(), r.value.as_ref().map_or(-1.0, |v| v.value))).collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(rows, [("finance_credit".into(), 1.0), ("logistics".into(), 1.0), ("patent".into(), 1.0)]);
    assert_eq!(breakdown.total.as_ref().map(|v| v.value), Some(3.0));

    // A series of months, zeros included: January 2, February 1, March 1, April 1, May 0.
    let points = h.series(Metric::DemandsReceived, month(2024, 1), month(2024, 5)).await;
    let values: Vec<f64> = points.iter().map(|p| p.value.as_ref().map_or(-1.0, |v| v.value)).collect();
    assert_eq!(values, [2.0, 1.0, 1.0, 1.0, 0.0]);
    assert_eq!(points.last().and_then(|p| p.period), Some(month(2024, 5)));
}

async fn demand_figures_by_period(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    h.feed(&events()).await;
    check(&mut h).await;
}
on_both_backends!(demand_figures_by_period_filter_and_breakdown, super::demand_figures_by_period);
