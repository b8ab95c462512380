//! Sessions by format and their speakers, suggestions, special reports and the instruction rate,
//! campaign participants and posts, rectifications issued and verified, and benefits (money by kind in
//! fen, problems solved by category).

use tingjian_proto::analytics::v1::{Dimension, Metric};
use tingjian_proto::common::v1::Event;
use tingjian_proto::consultation::v1::SessionFormat;
use tingjian_proto::supervision::v1::BenefitKind;
use tingjian_tests::{StorageBackend, on_both_backends};

use super::fixtures::*;

/// 1,971万元 in fen.
const INTEREST: i64 = 19_710_000 * 100;
/// 300万元 in fen.
const SUBSIDY: i64 = 3_000_000 * 100;
/// 12,500元 in fen.
const FEES: i64 = 1_250_000;
/// 500元 in fen.
const OTHER: i64 = 50_000;
/// 10万元 in fen (Q4).
const INTEREST_Q4: i64 = 10_000_000;

/// Events of the consultation programme, the campaign, rectification and benefits, mostly in Q3 2024.
pub fn events() -> Vec<Event> {
    let kb1 = CaseFacts::new("kb1", "zs-jrb", ("putuo", "ocean_fishing", "finance_credit"), china(2024, 6, 1, 9, 0));
    let kb2 = CaseFacts::new("kb2", "zs-jxj", ("dinghai", "port_logistics", "logistics"), china(2024, 6, 2, 9, 0));
    vec![
        session_closed("s1", SessionFormat::FaceToFace, &["e1", "e2", "e3", "e2"], china(2024, 7, 10, 16, 0)),
        session_closed("s2", SessionFormat::Interactive, &["e1", "e4"], china(2024, 8, 5, 16, 0)),
        session_closed("s3", SessionFormat::Interactive, &["e5", "e6", "e7"], china(2024, 9, 12, 16, 0)),
        session_closed("s4", SessionFormat::Online, &[], china(2024, 9, 20, 16, 0)),
        session_closed("s5", SessionFormat::FaceToFace, &["e1"], china(2024, 10, 8, 16, 0)),
        suggestion("sg1", "finance_credit", china(2024, 7, 15, 9, 0)),
        suggestion("sg2", "logistics", china(2024, 8, 20, 9, 0)),
        suggestion("sg3", "finance_credit", china(2024, 9, 30, 23, 0)),
        suggestion("sg4", "finance_credit", china(2024, 10, 1, 1, 0)), // still 30 September in UTC
        special_report("r1", "finance_credit", china(2024, 7, 20, 9, 0)),
        instruction("r1", true, china(2024, 7, 25, 9, 0)),
        special_report("r2", "logistics", china(2024, 8, 10, 9, 0)),
        instruction("r2", true, china(2024, 8, 12, 9, 0)),
        instruction("r2", false, china(2024, 8, 15, 9, 0)),
        special_report("r3", "finance_credit", china(2024, 9, 5, 9, 0)),
        special_report("r4", "finance_credit", china(2024, 10, 9, 9, 0)),
        instruction("r4", true, china(2024, 10, 20, 9, 0)),
        special_report("r5", "patent", china(2024, 6, 28, 9, 0)),
        instruction("r5", true, china(2024, 7, 3, 9, 0)), // instructed in July, sent in June (Q2)
        post("p1", "netizen-a", china(2024, 7, 1, 9, 0)),
        post("p2", "netizen-a", china(2024, 7, 2, 9, 0)),
        post("p3", "member-li", china(2024, 7, 3, 9, 0)),
        post_promoted("p3", "d-from-p3", china(2024, 7, 4, 9, 0)),
        post("p4", "netizen-b", china(2024, 8, 10, 9, 0)),
        post("p5", "netizen-a", china(2024, 8, 11, 9, 0)),
        post("p6", "netizen-c", china(2024, 10, 2, 9, 0)),
        rectification_issued("o1", "zs-jtj", china(2024, 7, 5, 9, 0)),
        rectification_verified("o1", "zs-jtj", true, china(2024, 8, 20, 9, 0)),
        rectification_issued("o2", "zs-jtj", china(2024, 7, 8, 9, 0)),
        rectification_verified("o2", "zs-jtj", false, china(2024, 8, 1, 9, 0)),
        rectification_verified("o2", "zs-jtj", true, china(2024, 9, 25, 9, 0)),
        rectification_issued("o3", "zs-jxj", china(2024, 8, 15, 9, 0)),
        rectification_issued("o4", "zs-jrb", china(2024, 6, 10, 9, 0)),
        rectification_verified("o4", "zs-jrb", true, china(2024, 7, 12, 9, 0)),
        kb1.benefit(money(BenefitKind::InterestReduced, INTEREST), china(2024, 7, 20, 9, 0)),
        kb1.benefit(money(BenefitKind::Subsidy, SUBSIDY), china(2024, 8, 2, 9, 0)),
        kb2.benefit(money(BenefitKind::FeeWaived, FEES), china(2024, 8, 15, 9, 0)),
        kb2.benefit(problems(3, "patent"), china(2024, 9, 1, 9, 0)),
        kb1.benefit(problems(2, ""), china(2024, 9, 2, 9, 0)), // the case's category: finance_credit
        kb2.benefit(problems(4, "logistics"), china(2024, 9, 3, 9, 0)),
        kb2.benefit(money(BenefitKind::OtherMoney, OTHER), china(2024, 9, 10, 9, 0)),
        kb1.benefit(money(BenefitKind::InterestReduced, INTEREST_Q4), china(2024, 10, 10, 9, 0)),
    ]
}

fn sessions(card: &tingjian_proto::analytics::v1::Scorecard) -> (i64, i64, i64, i64, i64) {
    let s = card.sessions_held.unwrap_or_default();
    (s.face_to_face, s.interactive, s.online, s.total, card.entrepreneur_speakers)
}

fn money_figures(card: &tingjian_proto::analytics::v1::Scorecard) -> [i64; 5] {
    [
        fen(&card.interest_reduced),
        fen(&card.subsidies),
        fen(&card.fees_waived),
        fen(&card.other_money),
        fen(&card.total_benefits),
    ]
}

fn solved(card: &tingjian_proto::analytics::v1::Scorecard) -> Vec<(String, i64)> {
    card.problems_solved.iter().map(|c| (c.category.clone(), c.count)).collect()
}

/// The hand-computed figures of [`events`].
pub async fn check(h: &mut Harness) {
    let q3 = h.card(quarter(2024, 3)).await;
    // Sessions closed in Q3: s1 face to face (e1, e2, e3: 3 distinct), s2 and s3 interactive (2 + 3),
    // s4 online (none): 1, 2, 1, total 4; speakers 3 + 2 + 3 + 0 = 8.
    assert_eq!(sessions(&q3), (1, 2, 1, 4, 8));
    // Suggestions: sg1, sg2, sg3 (23:00 on 30 Sep); sg4 is Q4 in China time.
    assert_eq!(q3.suggestions_submitted, 3);
    // Special reports sent: r1, r2, r3; instructed r1, r2 (twice: once): 2/3. r5 (June) is Q2's.
    assert_eq!((q3.special_reports_sent, rate(&q3.instruction_rate)), (3, (2, 3)));
    // Posts p1..p5 by netizen-a, member-li, netizen-b: 5 posts, 3 participants.
    assert_eq!((q3.campaign_posts, q3.campaign_participants), (5, 3));
    // Issued o1, o2, o3; verified o1 (Aug), o4 (Jul), o2 (Sep, after a failed check in Aug).
    assert_eq!((q3.rectifications_issued, q3.rectifications_verified), (3, 3));
    // Money: 1,971万元 interest, 300万元 subsidy, 12,500元 fees, 500元 other.
    assert_eq!(money_figures(&q3), [INTEREST, SUBSIDY, FEES, OTHER, INTEREST + SUBSIDY + FEES + OTHER]);
    // Problems solved: logistics 4, patent 3, finance_credit 2 (defaulted from the case); 9.
    assert_eq!(solved(&q3), [("logistics".into(), 4), ("patent".into(), 3), ("finance_credit".into(), 2)]);
    assert_eq!(q3.problems_solved_total, 9);

    // Months: July 3 posts by 2 authors (netizen-a, member-li); August 2 posts by 2 (netizen-b, netizen-a).
    let july = h.card(month(2024, 7)).await;
    assert_eq!((july.campaign_posts, july.campaign_participants), (3, 2));
    assert_eq!((july.rectifications_issued, july.rectifications_verified), (2, 1));
    let august = h.card(month(2024, 8)).await;
    assert_eq!((august.campaign_posts, august.campaign_participants), (2, 2));
    assert_eq!((august.rectifications_issued, august.rectifications_verified), (1, 1));
    assert_eq!(sessions(&august), (0, 1, 0, 1, 2));
    // Q2: r5, instructed in July.
    let q2 = h.card(quarter(2024, 2)).await;
    assert_eq!((q2.special_reports_sent, rate(&q2.instruction_rate)), (1, (1, 1)));
    assert_eq!((q2.rectifications_issued, q2.rectifications_verified), (1, 0));
    // Q4: s5, sg4, r4 (instructed), p6, 10万元 interest.
    let q4 = h.card(quarter(2024, 4)).await;
    assert_eq!(sessions(&q4), (1, 0, 0, 1, 1));
    assert_eq!((q4.suggestions_submitted, q4.special_reports_sent, rate(&q4.instruction_rate)), (1, 1, (1, 1)));
    assert_eq!((q4.campaign_posts, q4.campaign_participants), (1, 1));
    assert_eq!(money_figures(&q4), [INTEREST_Q4, 0, 0, 0, INTEREST_Q4]);
    // 2024: 5 sessions (2 face to face), 9 speakers; 4 suggestions; 5 reports, 4 instructed; 6 posts by
    // 4 authors; 4 orders issued, 3 verified.
    let y = h.card(year(2024)).await;
    assert_eq!(sessions(&y), (2, 2, 1, 5, 9));
    assert_eq!((y.suggestions_submitted, y.special_reports_sent, rate(&y.instruction_rate)), (4, 5, (4, 5)));
    assert_eq!((y.campaign_posts, y.campaign_participants), (6, 4));
    assert_eq!((y.rectifications_issued, y.rectifications_verified), (4, 3));
    assert_eq!(fen(&y.interest_reduced), INTEREST + INTEREST_Q4);

    // finance_credit: sg1, sg3; r1 (instructed), r3.
    let card = h.scorecard(quarter(2024, 3), category("finance_credit")).await;
    assert_eq!((card.suggestions_submitted, card.special_reports_sent, rate(&card.instruction_rate)), (2, 2, (1, 2)));
    assert!(not_applicable(&card, Metric::CampaignPosts), "{:?}", card.not_applicable);
    assert!(not_applicable(&card, Metric::RectificationsIssued), "{:?}", card.not_applicable);
    // The transport bureau: o1, o2 issued and verified.
    let card = h.scorecard(quarter(2024, 3), unit_filter("zs-jtj")).await;
    assert_eq!((card.rectifications_issued, card.rectifications_verified), (2, 2));
    assert!(not_applicable(&card, Metric::SuggestionsSubmitted), "{:?}", card.not_applicable);
    // The economy bureau's case kb2: fees and other money, problems in logistics 4 and patent 3.
    let card = h.scorecard(quarter(2024, 3), unit_filter("zs-jxj")).await;
    assert_eq!(money_figures(&card), [0, 0, FEES, OTHER, FEES + OTHER]);
    assert_eq!(solved(&card), [("logistics".into(), 4), ("patent".into(), 3)]);
    assert_eq!(card.problems_solved_total, 7);
    assert_eq!(card.rectifications_issued, 1, "o3 was issued to the economy bureau");
    // Putuo (kb1): the interest and the subsidy, 2 problems in finance_credit.
    let card = h.scorecard(quarter(2024, 3), district("putuo")).await;
    assert_eq!(money_figures(&card), [INTEREST, SUBSIDY, 0, 0, INTEREST + SUBSIDY]);
    assert_eq!(card.problems_solved_total, 2);
    assert!(not_applicable(&card, Metric::SessionsHeld), "{:?}", card.not_applicable);
    assert!(not_applicable(&card, Metric::RectificationsIssued), "{:?}", card.not_applicable);

    // Problems solved by unit: jxj 7, jrb 2. Total benefits by district: putuo, dinghai.
    let breakdown = h.breakdown(Metric::ProblemsSolved, quarter(2024, 3), Dimension::Unit, all()).await;
    let rows: Vec<(&str, f64)> = breakdown.rows.iter().map(|r| (r.key.as_str(), value_of(r.value.as_ref()))).collect();
    assert_eq!(rows, [("zs-jxj", 7.0), ("zs-jrb", 2.0)]);
    let breakdown = h.breakdown(Metric::TotalBenefits, quarter(2024, 3), Dimension::District, all()).await;
    let rows: Vec<(&str, f64)> = breakdown.rows.iter().map(|r| (r.key.as_str(), value_of(r.value.as_ref()))).collect();
    assert_eq!(rows, [("putuo", (INTEREST + SUBSIDY) as f64), ("dinghai", (FEES + OTHER) as f64)]);
    // Instruction rate by category: finance_credit 1/2, logistics 1/1.
    let breakdown = h.breakdown(Metric::InstructionRate, quarter(2024, 3), Dimension::Category, all()).await;
    let mut rows: Vec<(String, (i64, i64))> =
        breakdown.rows.iter().map(|r| (r.key.clone(), rate_of(r.value.as_ref()))).collect();
    rows.sort();
    assert_eq!(rows, [("finance_credit".into(), (1, 2)), ("logistics".into(), (1, 1))]);
    assert_eq!(rate_of(breakdown.total.as_ref()), (2, 3));
}

async fn programme_figures(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    h.feed(&events()).await;
    check(&mut h).await;
}
on_both_backends!(sessions_reports_campaign_rectifications_and_benefits, super::programme_figures);
