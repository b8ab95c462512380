//! Benefits (成效), on SQLite and on PostgreSQL: recorded with the reply and later, with their history
//! entries and events; idempotent on the request id; ListBenefits' filters, pages, row scope and totals
//! over every matching benefit; bad input naming its field.

use chrono::Duration;
use tingjian_proto::common::v1::{Money, Period, PeriodKind};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::Role;
use tingjian_tests::{Identity, StorageBackend, assert_field_violation, on_both_backends, outbox_payloads};
use tonic::Code;

use super::fixtures::{Harness, case_of, instant, jrb_officer, monday_2024_01_15, staff, supervisor, unit_officer};

/// 1,971万元 of interest reduced, in fen.
const INTEREST_FEN: i64 = 19_710_000 * 100;
/// 300万元 of subsidies, in fen.
const SUBSIDY_FEN: i64 = 3_000_000 * 100;

fn money(kind: pb::BenefitKind, fen: i64, description: &str) -> pb::Benefit {
    pb::Benefit {
        kind: kind as i32,
        amount: Some(Money { currency_code: "CNY".into(), minor_units: fen }),
        description: description.into(),
        ..Default::default()
    }
}

fn problems(n: i32, category: &str) -> pb::Benefit {
    pb::Benefit {
        kind: pb::BenefitKind::ProblemSolved as i32,
        problems_solved: n,
        category: category.into(),
        description: "协调解决专利申请名额".into(),
        ..Default::default()
    }
}

/// A case from suggestion `source`, accepted and replied to by the finance office with `benefits`.
async fn replied(h: &mut Harness, source: &str, benefits: Vec<pb::Benefit>) -> (pb::Case, Vec<pb::Benefit>) {
    let case = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, source), 15).await;
    let accept = pb::AcceptCaseRequest { id: case.id.clone(), ..Default::default() };
    h.client.accept_case(h.as_(&jrb_officer(), accept)).await.expect("accepted");
    let reply = pb::ReplyToCaseRequest {
        id: case.id.clone(),
        reply: Some(pb::CaseReply {
            result_class: pb::ResultClass::A as i32,
            text: "已协调辖区银行下调远洋渔业企业贷款利率。".into(),
            ..Default::default()
        }),
        benefits,
        etag: String::new(),
    };
    let response = h.client.reply_to_case(h.as_(&jrb_officer(), reply)).await.expect("replied").into_inner();
    (response.case.expect("case"), response.benefits)
}

async fn record(
    h: &mut Harness,
    who: &Identity,
    case_id: &str,
    benefit: pb::Benefit,
    request_id: &str,
) -> Result<pb::Benefit, tonic::Status> {
    let request =
        pb::RecordBenefitRequest { case_id: case_id.into(), benefit: Some(benefit), request_id: request_id.into() };
    Ok(h.client.record_benefit(h.as_(who, request)).await?.into_inner().benefit.expect("benefit"))
}

async fn list(h: &mut Harness, who: &Identity, request: pb::ListBenefitsRequest) -> pb::ListBenefitsResponse {
    h.client.list_benefits(h.as_(who, request)).await.expect("listed").into_inner()
}

/// Benefits recorded with the reply and later, defaulted from the case, with history and events.
async fn recorded_on_reply_and_later(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let with_reply = vec![
        money(pb::BenefitKind::InterestReduced, INTEREST_FEN, "为远洋渔业相关企业减免利息"),
        problems(3, "patent"),
    ];
    let (case, benefits) = replied(&mut h, "suggestion-benefit-reply", with_reply).await;
    assert_eq!(benefits.len(), 2);
    assert!(benefits.iter().all(|b| b.case_id == case.id && !b.id.is_empty()));
    assert_eq!(benefits[0].enterprise_id, case.enterprise_id, "defaults to the case's enterprise");
    assert_eq!(benefits[0].category, "finance_credit", "defaults to the case's category");
    assert_eq!(benefits[0].amount.as_ref().map(|m| m.minor_units), Some(INTEREST_FEN));
    assert_eq!(benefits[0].recorded_by, jrb_officer().subject);
    assert_eq!((benefits[1].category.as_str(), benefits[1].problems_solved), ("patent", 3));

    h.clock.advance(Duration::days(20));
    let later = record(
        &mut h,
        &staff(),
        &case.id,
        money(pb::BenefitKind::Subsidy, SUBSIDY_FEN, "协助企业争取远洋渔业补助"),
        "benefit-subsidy-1",
    )
    .await
    .expect("recorded later");
    assert_eq!(later.recorded_by, staff().subject);
    assert_eq!(later.amount.as_ref().map(|m| m.currency_code.as_str()), Some("CNY"));

    let history = h.history(&case.id).await;
    let recorded: Vec<_> = history.iter().filter(|e| e.action == pb::CaseAction::BenefitRecorded as i32).collect();
    assert_eq!(recorded.len(), 3);
    assert!(recorded.iter().all(|e| e.from_status == pb::CaseStatus::Replied as i32));
    assert_eq!(recorded[0].text, "为远洋渔业相关企业减免利息");
    let events = outbox_payloads::<pb::BenefitRecorded>(&h.service, "tingjian.supervision.benefit_recorded").await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].1.benefit.as_ref(), Some(&later));
    assert_eq!(events[2].1.context.as_ref().map(|c| c.case_id.as_str()), Some(case.id.as_str()));
    assert_eq!(events[0].0, format!("cases/{}", case.id));

    // The lead unit records after closing too; a co-unit may not.
    let close =
        pb::CloseCaseRequest { id: case.id.clone(), reason: "企业确认问题解决".into(), etag: String::new() };
    h.client.close_case(h.as_(&supervisor(), close)).await.expect("closed");
    record(&mut h, &jrb_officer(), &case.id, problems(1, "logistics"), "").await.expect("after closing");
    let status = record(&mut h, &unit_officer("zs-jxj"), &case.id, problems(1, "logistics"), "").await.expect_err("co");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = record(&mut h, &unit_officer("zs-jtj"), &case.id, problems(1, "logistics"), "").await.expect_err("x");
    assert_eq!(status.code(), Code::NotFound);
}
on_both_backends!(benefits_recorded_on_reply_and_later, super::recorded_on_reply_and_later);

/// The same request again returns the benefit it recorded; another benefit under its id is refused.
async fn idempotency(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let (case, _) = replied(&mut h, "suggestion-benefit-idempotent", vec![]).await;
    let benefit = money(pb::BenefitKind::FeeWaived, 1_250_000, "减免港口作业费用");
    let first = record(&mut h, &staff(), &case.id, benefit.clone(), "benefit-fee-1").await.expect("first");
    h.clock.advance(Duration::minutes(5));
    let again = record(&mut h, &staff(), &case.id, benefit.clone(), "benefit-fee-1").await.expect("again");
    assert_eq!(again, first);
    let mut other = benefit.clone();
    other.amount = Some(Money { currency_code: String::new(), minor_units: 1_250_001 });
    let status = record(&mut h, &staff(), &case.id, other, "benefit-fee-1").await.expect_err("another benefit");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let listed =
        list(&mut h, &staff(), pb::ListBenefitsRequest { case_id: case.id.clone(), ..Default::default() }).await;
    assert_eq!(listed.benefits, [first]);
    let history = h.history(&case.id).await;
    assert_eq!(history.iter().filter(|e| e.action == pb::CaseAction::BenefitRecorded as i32).count(), 1);
}
on_both_backends!(benefits_are_idempotent_on_the_request_id, super::idempotency);

/// Filters, newest first, pages, totals over all matching benefits, and the row scope of units.
async fn listing(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let (jrb_case, _) = replied(
        &mut h,
        "suggestion-benefit-list-1",
        vec![money(pb::BenefitKind::InterestReduced, INTEREST_FEN, "减免利息"), problems(2, "patent")],
    )
    .await;
    // A second case led by the transport bureau, in the next quarter.
    h.clock.advance(Duration::days(90));
    let mut other = case_of(pb::CaseSourceKind::Suggestion, "suggestion-benefit-list-2");
    other.lead_unit = Some(super::fixtures::jtj());
    other.co_units = vec![];
    other.enterprise_id = "enterprise-logistics".into();
    other.category = "logistics".into();
    let case = h.dispatch(other, 15).await;
    let jtj = unit_officer("zs-jtj");
    let accept = pb::AcceptCaseRequest { id: case.id.clone(), ..Default::default() };
    h.client.accept_case(h.as_(&jtj, accept)).await.expect("accepted");
    let reply = pb::ReplyToCaseRequest {
        id: case.id.clone(),
        reply: Some(pb::CaseReply {
            result_class: 1, text: "已开通冷链物流绿色通道。".into(), ..Default::default()
        }),
        benefits: vec![problems(5, ""), money(pb::BenefitKind::Subsidy, SUBSIDY_FEN, "物流补助")],
        etag: String::new(),
    };
    h.client.reply_to_case(h.as_(&jtj, reply)).await.expect("replied");

    let all = list(&mut h, &supervisor(), pb::ListBenefitsRequest::default()).await;
    assert_eq!(all.benefits.len(), 4);
    assert_eq!(all.total_amount, Some(Money { currency_code: "CNY".into(), minor_units: INTEREST_FEN + SUBSIDY_FEN }));
    assert_eq!(all.total_problems_solved, 7);
    assert!(all.next_page_token.is_empty());
    assert!(
        instant(all.benefits[0].create_time.as_ref()) > instant(all.benefits[3].create_time.as_ref()),
        "newest first"
    );
    assert_eq!(all.benefits[3].case_id, jrb_case.id);

    // Pages of one: the totals cover every page.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(
            &mut h,
            &staff(),
            pb::ListBenefitsRequest { page_size: 1, page_token: token.clone(), ..Default::default() },
        )
        .await;
        assert_eq!(page.total_problems_solved, 7);
        assert_eq!(page.total_amount.as_ref().map(|m| m.minor_units), Some(INTEREST_FEN + SUBSIDY_FEN));
        seen.extend(page.benefits.into_iter().map(|b| b.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, all.benefits.iter().map(|b| b.id.clone()).collect::<Vec<_>>());

    let by_kind = list(
        &mut h,
        &staff(),
        pb::ListBenefitsRequest { kind: pb::BenefitKind::ProblemSolved as i32, ..Default::default() },
    )
    .await;
    assert_eq!((by_kind.benefits.len(), by_kind.total_problems_solved), (2, 7));
    assert_eq!(by_kind.total_amount.as_ref().map(|m| m.minor_units), Some(0));
    let by_category =
        list(&mut h, &staff(), pb::ListBenefitsRequest { category: "logistics".into(), ..Default::default() }).await;
    assert_eq!(by_category.benefits.len(), 2, "defaulted to the case's category");
    let by_enterprise = list(
        &mut h,
        &staff(),
        pb::ListBenefitsRequest { enterprise_id: "enterprise-logistics".into(), ..Default::default() },
    )
    .await;
    assert_eq!(by_enterprise.benefits.len(), 2);
    let by_case =
        list(&mut h, &staff(), pb::ListBenefitsRequest { case_id: jrb_case.id.clone(), ..Default::default() }).await;
    assert_eq!(by_case.total_amount.as_ref().map(|m| m.minor_units), Some(INTEREST_FEN));
    let first_quarter = Period { kind: PeriodKind::Quarter as i32, year: 2024, number: 1 };
    let q1 =
        list(&mut h, &staff(), pb::ListBenefitsRequest { period: Some(first_quarter), ..Default::default() }).await;
    assert_eq!(q1.benefits.len(), 2);
    assert!(q1.benefits.iter().all(|b| b.case_id == jrb_case.id));

    // Units see the benefits of their own cases only (the economy bureau co-handles the first case).
    let mine = list(&mut h, &jtj, pb::ListBenefitsRequest::default()).await;
    assert_eq!(mine.benefits.len(), 2);
    assert!(mine.benefits.iter().all(|b| b.case_id == case.id));
    assert_eq!(mine.total_problems_solved, 5);
    let co = list(&mut h, &unit_officer("zs-jxj"), pb::ListBenefitsRequest::default()).await;
    assert!(co.benefits.iter().all(|b| b.case_id == jrb_case.id) && co.benefits.len() == 2);
    let nobody = list(&mut h, &unit_officer("zs-none"), pb::ListBenefitsRequest::default()).await;
    assert!(nobody.benefits.is_empty());
    assert_eq!(nobody.total_amount.as_ref().map(|m| m.minor_units), Some(0));
    let enterprise = Identity::new("91330900MA28K1234X", "enterprise", &[Role::Enterprise]);
    let status = h.client.list_benefits(h.as_(&enterprise, pb::ListBenefitsRequest::default())).await.expect_err("no");
    assert_eq!(status.code(), Code::PermissionDenied);
    let analyst = Identity::new("analyst-wu", "zs-tjj", &[Role::Analyst]);
    assert_eq!(list(&mut h, &analyst, pb::ListBenefitsRequest::default()).await.benefits.len(), 4);

    // A token is bound to its filters.
    let page = list(&mut h, &staff(), pb::ListBenefitsRequest { page_size: 1, ..Default::default() }).await;
    let request = pb::ListBenefitsRequest {
        page_size: 1,
        page_token: page.next_page_token,
        category: "patent".into(),
        ..Default::default()
    };
    let status = h.client.list_benefits(h.as_(&staff(), request)).await.expect_err("other filters");
    assert_field_violation(&status, "page_token");
}
on_both_backends!(benefits_are_listed_with_totals, super::listing);

/// Bad input is INVALID_ARGUMENT naming the field; a case not yet replied is FAILED_PRECONDITION.
async fn bad_input(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let (case, _) = replied(&mut h, "suggestion-benefit-bad", vec![]).await;
    let id = case.id.clone();
    let status = record(&mut h, &staff(), &id, pb::Benefit::default(), "").await.expect_err("kind");
    assert_field_violation(&status, "benefit.kind");
    let status = record(&mut h, &staff(), &id, money(pb::BenefitKind::Subsidy, 0, ""), "").await.expect_err("amount");
    assert_field_violation(&status, "benefit.amount.minor_units");
    let mut usd = money(pb::BenefitKind::OtherMoney, 100, "");
    usd.amount = Some(Money { currency_code: "USD".into(), minor_units: 100 });
    let status = record(&mut h, &staff(), &id, usd, "").await.expect_err("currency");
    assert_field_violation(&status, "benefit.amount.currency_code");
    let status = record(&mut h, &staff(), &id, problems(0, ""), "").await.expect_err("problems");
    assert_field_violation(&status, "benefit.problems_solved");
    let long = money(pb::BenefitKind::Subsidy, 100, &"成效".repeat(1_001));
    let status = record(&mut h, &staff(), &id, long, "").await.expect_err("description");
    assert_field_violation(&status, "benefit.description");
    let request = pb::RecordBenefitRequest { case_id: "nope".into(), benefit: None, request_id: String::new() };
    let status = h.client.record_benefit(h.as_(&staff(), request)).await.expect_err("bad request");
    assert_field_violation(&status, "case_id");
    assert_field_violation(&status, "benefit");
    let unknown = "0193a1c2-0000-7000-8000-000000000000";
    let status = record(&mut h, &staff(), unknown, problems(1, ""), "").await.expect_err("unknown case");
    assert_eq!(status.code(), Code::NotFound);
    let status = h
        .client
        .list_benefits(h.as_(&staff(), pb::ListBenefitsRequest { kind: 9, page_size: -1, ..Default::default() }))
        .await
        .expect_err("bad filters");
    assert_field_violation(&status, "kind");

    let fresh = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-benefit-early"), 15).await;
    let status = record(&mut h, &staff(), &fresh.id, problems(1, ""), "").await.expect_err("not replied");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("DISPATCHED"), "{status:?}");
    assert!(h.history(&id).await.iter().all(|e| e.action != pb::CaseAction::BenefitRecorded as i32));
}
on_both_backends!(benefit_bad_input_names_the_field, super::bad_input);
