//! Case figures on the cohort of first dispatch: response, on-time (deadline reached through the 100 %
//! warning, or replied), resolution (latest reply class), satisfaction (latest evaluation), reopen rate,
//! median and p90 handling time; a reassignment keeps a case in its cohort; unit rankings with ties and
//! min_cases; an enterprise's profile.

use tingjian_proto::analytics::v1::{self as pb, Dimension, Metric, ScorecardFilter};
use tingjian_proto::common::v1::{Event, Period};
use tingjian_proto::intake::v1::DemandChannel;
use tingjian_proto::supervision::v1::{EvaluationResult as Eval, ResultClass, WarningLevel};
use tingjian_tests::{StorageBackend, on_both_backends};

use super::fixtures::*;

const PUTUO: (&str, &str, &str) = ("putuo", "ocean_fishing", "finance_credit");
const PUTUO_PATENT: (&str, &str, &str) = ("putuo", "ocean_fishing", "patent");
const DINGHAI: (&str, &str, &str) = ("dinghai", "port_logistics", "logistics");
const DINGHAI_PATENT: (&str, &str, &str) = ("dinghai", "port_logistics", "patent");
const DAISHAN: (&str, &str, &str) = ("daishan", "ocean_fishing", "finance_credit");

/// The enterprise of k1, k2 and k7.
pub const HAIFENG: &str = "ent-haifeng";

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// Ten cases dispatched in March 2024, one in February and one in April, with replies, evaluations,
/// warnings and a reassignment.
pub fn events() -> Vec<Event> {
    use ResultClass::{A, B, C, D};
    let k1 = CaseFacts::new("k1", "zs-jrb", PUTUO, china(2024, 3, 4, 9, 0)).of(HAIFENG);
    let k2 = CaseFacts::new("k2", "zs-jrb", PUTUO, china(2024, 3, 5, 9, 0)).of(HAIFENG);
    let k3 = CaseFacts::new("k3", "zs-jtj", DINGHAI, china(2024, 3, 6, 9, 0));
    let k4 = CaseFacts::new("k4", "zs-jtj", DINGHAI, china(2024, 3, 7, 9, 0));
    let k5 = CaseFacts::new("k5", "zs-jxj", DAISHAN, china(2024, 3, 28, 9, 0));
    // Returned by the economy bureau and reassigned to the finance office on 3 April: the clock
    // restarts for the unit, but the case stays in the March cohort.
    let k5_again = CaseFacts { unit: "zs-jrb".into(), dispatched: china(2024, 4, 3, 9, 0), ..k5.clone() };
    let k6 = CaseFacts::new("k6", "zs-sw", PUTUO_PATENT, china(2024, 3, 11, 9, 0));
    let k7 = CaseFacts::new("k7", "zs-jxj", PUTUO, china(2024, 3, 12, 9, 0)).of(HAIFENG);
    let k8 = CaseFacts::new("k8", "zs-jxj", DINGHAI_PATENT, china(2024, 3, 13, 9, 0));
    let k11 = CaseFacts::new("k11", "zs-sw", PUTUO_PATENT, china(2024, 3, 14, 9, 0));
    let k12 = CaseFacts::new("k12", "zs-sw", PUTUO_PATENT, china(2024, 3, 15, 9, 0));
    let k9 = CaseFacts::new("k9", "zs-jrb", PUTUO, china(2024, 4, 10, 9, 0));
    let k10 = CaseFacts::new("k10", "zs-jtj", DINGHAI, china(2024, 2, 20, 9, 0));
    vec![
        enterprise_registered(HAIFENG, "舟山市海丰远洋渔业有限公司", "putuo", "ocean_fishing", china(2023, 5, 1, 9, 0)),
        k10.dispatched(),
        k10.replied(A, true, true, china(2024, 2, 21, 9, 0)), // 24 h
        k1.dispatched(),
        k1.replied(A, true, true, china(2024, 3, 4, 12, 0)), // 3 h
        k1.evaluated(Eval::Satisfied, false, china(2024, 3, 10, 9, 0)),
        k2.dispatched(),
        k2.replied(B, true, true, china(2024, 3, 15, 9, 0)), // 10 days
        k2.evaluated(Eval::Dissatisfied, true, china(2024, 3, 20, 9, 0)),
        k2.replied(A, false, true, china(2024, 3, 25, 9, 0)),
        k2.evaluated(Eval::BasicallySatisfied, false, china(2024, 3, 28, 9, 0)),
        k3.dispatched(),
        k3.warning(WarningLevel::Half, china(2024, 3, 16, 9, 0)),
        k3.warning(WarningLevel::ThreeQuarters, china(2024, 3, 22, 9, 0)),
        k3.warning(WarningLevel::Due, china(2024, 3, 27, 9, 0)),
        k4.dispatched(),
        k4.replied(C, true, false, china(2024, 3, 29, 9, 0)), // 22 days, late
        k4.evaluated(Eval::Dissatisfied, true, china(2024, 4, 2, 9, 0)),
        k5.dispatched(),
        k5.returned(china(2024, 4, 1, 9, 0)),
        k5_again.reassigned("zs-jxj"),
        k5_again.replied(A, true, true, china(2024, 4, 3, 11, 0)), // 6 days 2 h after the first dispatch
        k6.dispatched(),
        k6.replied(A, true, true, china(2024, 3, 11, 9, 30)), // 30 min
        k6.evaluated(Eval::Satisfied, false, china(2024, 3, 12, 9, 0)),
        k7.dispatched(),
        k7.warning(WarningLevel::Half, china(2024, 3, 22, 9, 0)),
        k8.dispatched(),
        k8.replied(D, true, true, china(2024, 3, 21, 15, 0)), // 8 days 6 h
        k8.evaluated(Eval::Satisfied, false, china(2024, 3, 22, 9, 0)),
        k11.dispatched(),
        k12.dispatched(),
        k9.dispatched(),
        k9.replied(A, true, true, china(2024, 4, 11, 9, 0)), // 24 h
    ]
}

#[derive(Debug, PartialEq)]
struct CaseFigures {
    assigned: i64,
    response: (i64, i64),
    on_time: (i64, i64),
    resolution: (i64, i64),
    satisfaction: (i64, i64),
    reopen: (i64, i64),
    median: Option<i64>,
    p90: Option<i64>,
}

fn figures(card: &pb::Scorecard) -> CaseFigures {
    CaseFigures {
        assigned: card.cases_assigned,
        response: rate(&card.response_rate),
        on_time: rate(&card.on_time_rate),
        resolution: rate(&card.resolution_rate),
        satisfaction: rate(&card.satisfaction_rate),
        reopen: rate(&card.reopen_rate),
        median: seconds(&card.handling_time_median),
        p90: seconds(&card.handling_time_p90),
    }
}

async fn ranks(
    h: &mut Harness,
    metric: Metric,
    min_cases: i32,
    page_size: i32,
    token: &str,
) -> pb::ListUnitRankingsResponse {
    h.rankings(pb::ListUnitRankingsRequest {
        period: Some(month(2024, 3)),
        metric: metric as i32,
        filter: None,
        min_cases,
        page_size,
        page_token: token.into(),
    })
    .await
}

fn lines(response: &pb::ListUnitRankingsResponse) -> Vec<(i32, String)> {
    response.rankings.iter().map(|r| (r.rank, r.unit.as_ref().map(|u| u.id.clone()).unwrap_or_default())).collect()
}

/// The hand-computed figures of [`events`].
pub async fn check(h: &mut Harness) {
    // March cohort: k1..k8, k11, k12 = 10 (k5 reassigned in April stays here).
    // Replied: k1, k2, k4, k5, k6, k8 = 6. Due: the 6 replied + k3 (100 % warning) = 7; on time: all but
    // k4 = 5 (k7 had only the 50 % warning). Latest reply A: k1, k2 (B then A), k5, k6 = 4 of 6.
    // Evaluated: k1, k2, k4, k6, k8 = 5; latest satisfied or basically: k1, k2, k6, k8 = 4; reopened:
    // k2, k4 = 2. Handling: k6 0 (30 min → hour 0), k1 3 h, k5 146 h, k8 8 d (8 d 6 h → day 8), k2 10 d,
    // k4 22 d; median = 3rd of 6 = 146 h, p90 = 6th of 6 (⌈5.4⌉) = 22 d.
    let march = CaseFigures {
        assigned: 10,
        response: (6, 10),
        on_time: (5, 7),
        resolution: (4, 6),
        satisfaction: (4, 5),
        reopen: (2, 5),
        median: Some(146 * HOUR),
        p90: Some(22 * DAY),
    };
    assert_eq!(figures(&h.card(month(2024, 3)).await), march);
    // Q1 adds k10 (February, replied A on time after 24 h): 11; 7/11; 7 + 1 due, 6 on time; 5/7
    // resolved; median = 4th of 7 = 146 h; p90 = 7th of 7 = 22 d.
    let q1 = CaseFigures {
        assigned: 11,
        response: (7, 11),
        on_time: (6, 8),
        resolution: (5, 7),
        satisfaction: (4, 5),
        reopen: (2, 5),
        median: Some(146 * HOUR),
        p90: Some(22 * DAY),
    };
    assert_eq!(figures(&h.card(quarter(2024, 1)).await), q1);
    // April: k9 alone (k5's reply in April counts for its March cohort); 24 h.
    let april = CaseFigures {
        assigned: 1,
        response: (1, 1),
        on_time: (1, 1),
        resolution: (1, 1),
        satisfaction: (0, 0),
        reopen: (0, 0),
        median: Some(24 * HOUR),
        p90: Some(24 * HOUR),
    };
    assert_eq!(figures(&h.card(month(2024, 4)).await), april);
    assert_eq!(figures(&h.card(quarter(2024, 2)).await), april);

    // The finance office in March: k1, k2 and k5 (its unit after the reassignment): all replied on time,
    // all A at last; evaluated k1, k2, both satisfied at last, k2 reopened; handling 3 h, 146 h, 10 d:
    // median 2nd = 146 h, p90 3rd = 10 d.
    let jrb = CaseFigures {
        assigned: 3,
        response: (3, 3),
        on_time: (3, 3),
        resolution: (3, 3),
        satisfaction: (2, 2),
        reopen: (1, 2),
        median: Some(146 * HOUR),
        p90: Some(10 * DAY),
    };
    assert_eq!(figures(&h.scorecard(month(2024, 3), unit_filter("zs-jrb")).await), jrb);
    // The economy bureau: k7 (no reply, only the 50 % warning) and k8 (D on time, satisfied).
    let card = h.scorecard(month(2024, 3), unit_filter("zs-jxj")).await;
    assert_eq!(
        (card.cases_assigned, rate(&card.response_rate), rate(&card.on_time_rate), rate(&card.resolution_rate)),
        (2, (1, 2), (1, 1), (0, 1))
    );
    // Dinghai: k3 (deadline reached), k4 (C late, dissatisfied, reopened), k8 (D, satisfied): handling
    // 8 d, 22 d: median 1st = 8 d, p90 2nd = 22 d.
    let dinghai = CaseFigures {
        assigned: 3,
        response: (2, 3),
        on_time: (1, 3),
        resolution: (0, 2),
        satisfaction: (1, 2),
        reopen: (1, 2),
        median: Some(8 * DAY),
        p90: Some(22 * DAY),
    };
    assert_eq!(figures(&h.scorecard(month(2024, 3), district("dinghai")).await), dinghai);
    // Patent cases: k6, k8, k11, k12; replied k6, k8.
    let card = h.scorecard(month(2024, 3), category("patent")).await;
    assert_eq!((card.cases_assigned, rate(&card.response_rate)), (4, (2, 4)));
    // Cases carry no channel.
    let visits = ScorecardFilter { channel: DemandChannel::Visit as i32, ..Default::default() };
    let card = h.scorecard(month(2024, 3), visits).await;
    assert_eq!((card.cases_assigned, parts(&card.response_rate)), (0, (0, 0)));
    assert!(not_applicable(&card, Metric::CasesAssigned), "{:?}", card.not_applicable);
    assert!(not_applicable(&card, Metric::ResponseRate), "{:?}", card.not_applicable);
    assert!(not_applicable(&card, Metric::HandlingTimeMedian), "{:?}", card.not_applicable);

    // Response rate by unit: jrb 3/3, jtj 1/2 (k3, k4), jxj 1/2 (k7, k8), sw 1/3 (k6, k11, k12); ties by
    // key; the total is 6/10.
    let breakdown = h.breakdown(Metric::ResponseRate, month(2024, 3), Dimension::Unit, all()).await;
    let rows: Vec<(&str, (i64, i64))> =
        breakdown.rows.iter().map(|r| (r.key.as_str(), rate_of(r.value.as_ref()))).collect();
    assert_eq!(rows, [("zs-jrb", (3, 3)), ("zs-jtj", (1, 2)), ("zs-jxj", (1, 2)), ("zs-sw", (1, 3))]);
    assert_eq!(breakdown.rows[0].label, "舟山市人民政府金融工作办公室");
    assert_eq!(rate_of(breakdown.total.as_ref()), (6, 10));
    // On-time rate by district: putuo k1, k2, k6 3/3; dinghai k3, k4, k8 1/3; daishan k5 1/1.
    let breakdown = h.breakdown(Metric::OnTimeRate, month(2024, 3), Dimension::District, all()).await;
    let mut rows: Vec<(String, (i64, i64))> =
        breakdown.rows.iter().map(|r| (r.key.clone(), rate_of(r.value.as_ref()))).collect();
    rows.sort();
    assert_eq!(rows, [("daishan".into(), (1, 1)), ("dinghai".into(), (1, 3)), ("putuo".into(), (3, 3))]);
    assert_eq!(rate_of(breakdown.total.as_ref()), (5, 7));

    // Ranking by response rate: jrb 1.0 first; jtj and jxj share 2nd at 0.5; sw 4th at 1/3.
    let ranking = ranks(h, Metric::ResponseRate, 0, 0, "").await;
    let got = lines(&ranking);
    assert_eq!(got.iter().map(|(rank, _)| *rank).collect::<Vec<_>>(), [1, 2, 2, 4]);
    assert_eq!(got[0].1, "zs-jrb");
    let mut second = vec![got[1].1.clone(), got[2].1.clone()];
    second.sort();
    assert_eq!(second, ["zs-jtj", "zs-jxj"]);
    assert_eq!(got[3].1, "zs-sw");
    assert!(ranking.next_page_token.is_empty());
    let first = &ranking.rankings[0];
    assert_eq!(first.unit.as_ref().map(|u| u.name.as_str()), Some("舟山市人民政府金融工作办公室"));
    assert_eq!((first.cases_assigned, rate(&first.response_rate)), (3, (3, 3)));
    assert_eq!(rate(&first.satisfaction_rate), (2, 2));
    assert_eq!(seconds(&first.handling_time_median), Some(146 * HOUR));
    assert_eq!(value_of(first.score.as_ref()), 1.0);
    let last = &ranking.rankings[3];
    assert_eq!((last.cases_assigned, rate(&last.response_rate)), (3, (1, 3)));
    // At least 3 cases: jrb and sw.
    assert_eq!(lines(&ranks(h, Metric::ResponseRate, 3, 0, "").await), [(1, "zs-jrb".into()), (2, "zs-sw".into())]);
    // Pages of two keep the ranks.
    let page1 = ranks(h, Metric::ResponseRate, 0, 2, "").await;
    assert_eq!(lines(&page1).iter().map(|(r, _)| *r).collect::<Vec<_>>(), [1, 2]);
    assert!(!page1.next_page_token.is_empty());
    let page2 = ranks(h, Metric::ResponseRate, 0, 2, &page1.next_page_token).await;
    assert_eq!(lines(&page2).iter().map(|(r, _)| *r).collect::<Vec<_>>(), [2, 4]);
    assert!(page2.next_page_token.is_empty());
    let mut units: Vec<String> = lines(&page1).into_iter().chain(lines(&page2)).map(|(_, u)| u).collect();
    units.sort();
    assert_eq!(units, ["zs-jrb", "zs-jtj", "zs-jxj", "zs-sw"]);
    // Median handling time, lower first: sw 0, jrb 146 h, jxj 8 d, jtj 22 d.
    let by_time = ranks(h, Metric::HandlingTimeMedian, 0, 0, "").await;
    assert_eq!(
        lines(&by_time),
        [(1, "zs-sw".into()), (2, "zs-jrb".into()), (3, "zs-jxj".into()), (4, "zs-jtj".into())]
    );
    assert_eq!(
        by_time.rankings.iter().map(|r| value_of(r.score.as_ref())).collect::<Vec<_>>(),
        [0.0, (146 * HOUR) as f64, (8 * DAY) as f64, (22 * DAY) as f64]
    );

    // The profile of 海丰 in March: k1, k2, k7, none closed; 2 of 3 replied; 2 of 2 evaluated satisfied.
    let request = pb::GetEnterpriseProfileRequest { enterprise_id: HAIFENG.into(), period: Some(month(2024, 3)) };
    let request = h.as_(&analyst(), request);
    let profile = h.client.get_enterprise_profile(request).await.expect("profile").into_inner().profile.expect("set");
    assert_eq!((profile.name.as_str(), profile.district.as_str()), ("舟山市海丰远洋渔业有限公司", "putuo"));
    assert_eq!((profile.cases_total, profile.cases_open), (3, 3));
    assert_eq!((rate(&profile.response_rate), rate(&profile.satisfaction_rate)), ((2, 3), (2, 2)));
    // All time (no period): the same three cases.
    let request = pb::GetEnterpriseProfileRequest { enterprise_id: HAIFENG.into(), period: Some(Period::default()) };
    let request = h.as_(&analyst(), request);
    let profile = h.client.get_enterprise_profile(request).await.expect("profile").into_inner().profile.expect("set");
    assert_eq!(profile.cases_total, 3);
}

async fn case_figures(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    h.feed(&events()).await;
    check(&mut h).await;
}
on_both_backends!(case_figures_on_the_cohort_with_rankings, super::case_figures);
