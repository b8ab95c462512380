//! The lifecycle of a case after dispatch, on SQLite and on PostgreSQL: accept, progress, reply, evaluate
//! and close with their history entries and events; every illegal move refused naming the status; the
//! return window counted on the working calendar (Mid-Autumn 2024); reassignment restarting the clock;
//! optimistic concurrency on the etag; dissatisfied twice escalating once; who may call each verb; bad
//! input naming its field; UpdateCase and manual escalation.

use chrono::Duration;
use prost_types::FieldMask;
use tingjian_proto::common::v1::Date;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::Role;
use tingjian_runtime::wire::timestamp;
use tingjian_tests::{Identity, StorageBackend, assert_field_violation, on_both_backends, outbox_payloads};
use tonic::Code;

use super::fixtures::{
    EVALUATOR, Harness, case_of, china, evaluator, inspector, instant, jrb_head, jrb_officer, jtj, monday_2024_01_15,
    staff, supervisor, unit, unit_officer,
};

const ACCEPTED: i32 = pb::CaseStatus::Accepted as i32;
const DISPATCHED: i32 = pb::CaseStatus::Dispatched as i32;
const RETURNED: i32 = pb::CaseStatus::Returned as i32;
const IN_PROGRESS: i32 = pb::CaseStatus::InProgress as i32;
const REPLIED: i32 = pb::CaseStatus::Replied as i32;
const EVALUATED: i32 = pb::CaseStatus::Evaluated as i32;
const CLOSED: i32 = pb::CaseStatus::Closed as i32;

/// A case from suggestion `source` dispatched with 15 working days.
async fn dispatched(h: &mut Harness, source: &str) -> pb::Case {
    h.dispatch(case_of(pb::CaseSourceKind::Suggestion, source), 15).await
}

async fn accept(h: &mut Harness, who: &Identity, id: &str, etag: &str) -> Result<pb::Case, tonic::Status> {
    let request =
        pb::AcceptCaseRequest { id: id.into(), note: "已签收，由信贷处承办".into(), etag: etag.into() };
    let response = h.client.accept_case(h.as_(who, request)).await?;
    Ok(response.into_inner().case.expect("case"))
}

async fn progress(h: &mut Harness, who: &Identity, id: &str) -> Result<pb::Case, tonic::Status> {
    let request = pb::RecordProgressRequest {
        id: id.into(),
        text: "已召集六家银行座谈，拟定优惠利率方案".into(),
        etag: String::new(),
    };
    Ok(h.client.record_progress(h.as_(who, request)).await?.into_inner().case.expect("case"))
}

fn reply_of(class: pb::ResultClass, reason: &str) -> pb::CaseReply {
    pb::CaseReply {
        result_class: class as i32,
        text: "经协调，辖区六家银行对远洋渔业企业贷款利率下调0.5个百分点。".into(),
        reason: reason.into(),
        ..Default::default()
    }
}

async fn reply(h: &mut Harness, who: &Identity, id: &str, class: pb::ResultClass) -> Result<pb::Case, tonic::Status> {
    let request = pb::ReplyToCaseRequest { id: id.into(), reply: Some(reply_of(class, "")), ..Default::default() };
    Ok(h.client.reply_to_case(h.as_(who, request)).await?.into_inner().case.expect("case"))
}

async fn evaluate(
    h: &mut Harness,
    who: &Identity,
    id: &str,
    result: pb::EvaluationResult,
    comment: &str,
) -> Result<pb::EvaluateCaseResponse, tonic::Status> {
    let evaluation = pb::CaseEvaluation { result: result as i32, comment: comment.into(), ..Default::default() };
    let request = pb::EvaluateCaseRequest { id: id.into(), evaluation: Some(evaluation), etag: String::new() };
    Ok(h.client.evaluate_case(h.as_(who, request)).await?.into_inner())
}

async fn close(h: &mut Harness, who: &Identity, id: &str, reason: &str) -> Result<pb::Case, tonic::Status> {
    let request = pb::CloseCaseRequest { id: id.into(), reason: reason.into(), etag: String::new() };
    Ok(h.client.close_case(h.as_(who, request)).await?.into_inner().case.expect("case"))
}

async fn return_(h: &mut Harness, id: &str, reason: &str) -> Result<pb::Case, tonic::Status> {
    let request = pb::ReturnCaseRequest {
        id: id.into(),
        reason: reason.into(),
        suggested_unit: Some(jtj()),
        etag: String::new(),
    };
    Ok(h.client.return_case(h.as_(&jrb_officer(), request)).await?.into_inner().case.expect("case"))
}

async fn escalate(h: &mut Harness, who: &Identity, id: &str) -> Result<pb::EscalateCaseResponse, tonic::Status> {
    let request =
        pb::EscalateCaseRequest {
            id: id.into(), reason: "企业多次反映，督查室提级督办".into(), etag: String::new()
        };
    Ok(h.client.escalate_case(h.as_(who, request)).await?.into_inner())
}

fn update_request(case: &pb::Case, paths: &[&str], reason: &str) -> pb::UpdateCaseRequest {
    pb::UpdateCaseRequest {
        case: Some(case.clone()),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
        reason: reason.into(),
    }
}

fn assert_refused(result: Result<impl std::fmt::Debug, tonic::Status>, code: Code, words: &[&str]) {
    let status = result.expect_err("refused");
    assert_eq!(status.code(), code, "{status:?}");
    for word in words {
        assert!(status.message().contains(word), "{word} not in {:?}", status.message());
    }
}

/// Dispatch → accept → progress → reply → evaluate → close, each with its history entry and event.
async fn happy_path(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-happy").await;
    let id = case.id.clone();

    h.clock.advance(Duration::hours(2));
    let accepted = accept(&mut h, &jrb_officer(), &id, &case.etag).await.expect("accepted");
    assert_eq!(accepted.status, ACCEPTED);
    assert_eq!(instant(accepted.accept_time.as_ref()), monday_2024_01_15() + Duration::hours(2));
    assert_ne!(accepted.etag, case.etag);

    h.clock.advance(Duration::days(2));
    let in_progress = progress(&mut h, &jrb_officer(), &id).await.expect("progress");
    assert_eq!(in_progress.status, IN_PROGRESS);
    assert_eq!(instant(in_progress.last_progress_time.as_ref()), h.clock.now());
    let again = progress(&mut h, &jrb_officer(), &id).await.expect("more progress");
    assert_eq!(again.status, IN_PROGRESS);

    h.clock.advance(Duration::days(3));
    let replied = reply(&mut h, &jrb_officer(), &id, pb::ResultClass::A).await.expect("replied");
    assert_eq!(replied.status, REPLIED);
    let r = replied.reply.as_ref().expect("reply");
    assert_eq!(r.result_class, pb::ResultClass::A as i32);
    assert!(r.on_time);
    assert_eq!(r.replying_unit.as_ref().map(|u| u.id.as_str()), Some("zs-jrb"));
    assert_eq!(r.replied_by, jrb_officer().subject);
    assert!(!replied.overdue);

    h.clock.advance(Duration::days(1));
    let evaluated = evaluate(&mut h, &evaluator(), &id, pb::EvaluationResult::Satisfied, "满意，融资成本明显下降")
        .await
        .expect("evaluated");
    assert!(!evaluated.reopened && !evaluated.escalated);
    let evaluated = evaluated.case.expect("case");
    assert_eq!(evaluated.status, EVALUATED);
    assert_eq!(evaluated.evaluation.as_ref().map(|e| e.evaluator.as_str()), Some(EVALUATOR));

    let closed = close(&mut h, &supervisor(), &id, "").await.expect("closed");
    assert_eq!(closed.status, CLOSED);
    assert_eq!(instant(closed.close_time.as_ref()), h.clock.now());
    assert_eq!(h.case(&id).await, closed);

    let history = h.history(&id).await;
    let steps: Vec<(i32, i32, i32)> = history.iter().map(|e| (e.action, e.from_status, e.to_status)).collect();
    use pb::CaseAction as A;
    assert_eq!(
        steps,
        [
            (A::Dispatched as i32, 0, DISPATCHED),
            (A::Accepted as i32, DISPATCHED, ACCEPTED),
            (A::ProgressRecorded as i32, ACCEPTED, IN_PROGRESS),
            (A::ProgressRecorded as i32, IN_PROGRESS, IN_PROGRESS),
            (A::Replied as i32, IN_PROGRESS, REPLIED),
            (A::Evaluated as i32, REPLIED, EVALUATED),
            (A::Closed as i32, EVALUATED, CLOSED),
        ]
    );
    assert_eq!(history.iter().map(|e| e.sequence).collect::<Vec<_>>(), (1..=7).collect::<Vec<i64>>());
    assert_eq!(history[1].actor, jrb_officer().subject);
    assert_eq!(history[1].actor_organisation_id, "zs-jrb");
    assert_eq!(history[1].text, "已签收，由信贷处承办");
    assert_eq!(history[4].result_class, pb::ResultClass::A as i32);
    assert_eq!(history[5].evaluation_result, pb::EvaluationResult::Satisfied as i32);
    assert_eq!(history[6].actor, supervisor().subject);

    let subject = format!("cases/{id}");
    let accepted_events = outbox_payloads::<pb::CaseAccepted>(&h.service, "tingjian.supervision.case_accepted").await;
    assert_eq!(accepted_events.len(), 1);
    assert_eq!(accepted_events[0].0, subject);
    assert_eq!(accepted_events[0].1.context.as_ref().map(|c| c.status), Some(ACCEPTED));
    let progress_events =
        outbox_payloads::<pb::CaseProgressRecorded>(&h.service, "tingjian.supervision.case_progress_recorded").await;
    assert_eq!(progress_events.len(), 2);
    let replies = outbox_payloads::<pb::CaseReplied>(&h.service, "tingjian.supervision.case_replied").await;
    assert_eq!(replies.len(), 1);
    let replied_event = &replies[0].1;
    assert!(replied_event.first_reply && replied_event.on_time);
    assert_eq!(
        replied_event.handling_duration.as_ref().map(|d| d.seconds),
        Some((Duration::hours(2) + Duration::days(5)).num_seconds())
    );
    assert_eq!(replied_event.context.as_ref().map(|c| c.category.as_str()), Some("finance_credit"));
    let evaluations = outbox_payloads::<pb::CaseEvaluated>(&h.service, "tingjian.supervision.case_evaluated").await;
    assert_eq!(evaluations.len(), 1);
    assert_eq!(evaluations[0].1.result, pb::EvaluationResult::Satisfied as i32);
    let closings = outbox_payloads::<pb::CaseClosed>(&h.service, "tingjian.supervision.case_closed").await;
    assert_eq!(closings.len(), 1);
    assert_eq!(closings[0].1.result_class, pb::ResultClass::A as i32);
    assert_eq!(closings[0].1.evaluation_result, pb::EvaluationResult::Satisfied as i32);
    assert_eq!(closings[0].1.context.as_ref().map(|c| c.status), Some(CLOSED));
}
on_both_backends!(the_whole_happy_path, super::happy_path);

/// A late reply is not on time, and a case closed without an evaluation needs a reason.
async fn late_reply_and_close_without_evaluation(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-late").await;
    accept(&mut h, &jrb_officer(), &case.id, "").await.expect("accepted");
    h.clock.set(instant(case.deadline_time.as_ref()) + Duration::hours(1));
    assert!(h.case(&case.id).await.overdue);
    let replied = reply(&mut h, &jrb_officer(), &case.id, pb::ResultClass::B).await.expect("replied");
    assert!(!replied.reply.expect("reply").on_time);
    let events = outbox_payloads::<pb::CaseReplied>(&h.service, "tingjian.supervision.case_replied").await;
    assert!(events[0].1.first_reply && !events[0].1.on_time);
    let status = close(&mut h, &staff(), &case.id, "").await.expect_err("needs a reason");
    assert_field_violation(&status, "reason");
    let closed = close(&mut h, &staff(), &case.id, "企业逾期未评价，按已答复办结").await.expect("closed");
    assert_eq!(closed.status, CLOSED);
    let history = h.history(&case.id).await;
    let last = history.last().expect("entry");
    assert_eq!((last.from_status, last.to_status), (REPLIED, CLOSED));
    assert_eq!(last.reason, "企业逾期未评价，按已答复办结");
}
on_both_backends!(late_reply_and_close_without_evaluation, super::late_reply_and_close_without_evaluation);

/// Every move the lifecycle does not allow is FAILED_PRECONDITION naming the current status.
async fn illegal_transitions(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-illegal").await;
    let id = case.id.clone();
    let dispatched_words = ["DISPATCHED", id.as_str()];
    assert_refused(progress(&mut h, &jrb_officer(), &id).await, Code::FailedPrecondition, &dispatched_words);
    assert_refused(
        reply(&mut h, &jrb_officer(), &id, pb::ResultClass::A).await,
        Code::FailedPrecondition,
        &["is DISPATCHED; ReplyToCase needs ACCEPTED or IN_PROGRESS"],
    );
    assert_refused(
        evaluate(&mut h, &evaluator(), &id, pb::EvaluationResult::Satisfied, "").await,
        Code::FailedPrecondition,
        &["is DISPATCHED; EvaluateCase needs REPLIED"],
    );
    assert_refused(close(&mut h, &staff(), &id, "x").await, Code::FailedPrecondition, &dispatched_words);
    let reassign = pb::ReassignCaseRequest {
        id: id.clone(),
        lead_unit: Some(jtj()),
        responsible_head: Some(jrb_head()),
        deadline_working_days: 10,
        reason: "改派".into(),
        ..Default::default()
    };
    assert_refused(
        h.client.reassign_case(h.as_(&staff(), reassign)).await,
        Code::FailedPrecondition,
        &["is DISPATCHED; ReassignCase needs RETURNED"],
    );
    let benefit = pb::RecordBenefitRequest {
        case_id: id.clone(),
        benefit: Some(pb::Benefit {
            kind: pb::BenefitKind::ProblemSolved as i32,
            problems_solved: 1,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    assert_refused(
        h.client.record_benefit(h.as_(&staff(), benefit)).await,
        Code::FailedPrecondition,
        &["is DISPATCHED; RecordBenefit needs REPLIED, EVALUATED or CLOSED"],
    );

    accept(&mut h, &jrb_officer(), &id, "").await.expect("accepted");
    assert_refused(
        accept(&mut h, &jrb_officer(), &id, "").await,
        Code::FailedPrecondition,
        &["is ACCEPTED; AcceptCase needs DISPATCHED"],
    );
    assert_refused(return_(&mut h, &id, "不属于本单位职责").await, Code::FailedPrecondition, &["ACCEPTED"]);
    assert_refused(close(&mut h, &staff(), &id, "x").await, Code::FailedPrecondition, &["ACCEPTED"]);

    reply(&mut h, &jrb_officer(), &id, pb::ResultClass::A).await.expect("replied");
    assert_refused(
        reply(&mut h, &jrb_officer(), &id, pb::ResultClass::A).await,
        Code::FailedPrecondition,
        &["is REPLIED"],
    );
    assert_refused(progress(&mut h, &jrb_officer(), &id).await, Code::FailedPrecondition, &["REPLIED"]);
    evaluate(&mut h, &evaluator(), &id, pb::EvaluationResult::BasicallySatisfied, "").await.expect("evaluated");
    assert_refused(
        evaluate(&mut h, &evaluator(), &id, pb::EvaluationResult::Satisfied, "").await,
        Code::FailedPrecondition,
        &["is EVALUATED"],
    );
    let closed = close(&mut h, &staff(), &id, "").await.expect("closed");
    assert_refused(close(&mut h, &staff(), &id, "x").await, Code::FailedPrecondition, &["is CLOSED"]);
    assert_refused(escalate(&mut h, &supervisor(), &id).await, Code::FailedPrecondition, &["is CLOSED"]);
    let update = update_request(&closed, &["title"], "更正标题");
    assert_refused(
        h.client.update_case(h.as_(&staff(), update)).await,
        Code::FailedPrecondition,
        &["is CLOSED; UpdateCase"],
    );
    // Nothing refused left a trace.
    assert_eq!(h.history(&id).await.len(), 5);
}
on_both_backends!(illegal_transitions_name_the_status, super::illegal_transitions);

/// Dispatched on Friday 2024-09-13: Saturday 14th is a make-up working day, 15th–17th the Mid-Autumn
/// holiday, so the 3rd working day is Thursday 19th; returning is allowed until 23:59:59 that day.
async fn return_window(backend: StorageBackend) {
    let friday = china(2024, 9, 13, 10, 0, 0);
    let Some(mut h) = Harness::start(backend, friday).await else { return };
    let early = dispatched(&mut h, "suggestion-return-1").await;
    let late = dispatched(&mut h, "suggestion-return-2").await;
    let window_end = china(2024, 9, 19, 23, 59, 59);
    assert_eq!(instant(early.return_deadline_time.as_ref()), window_end);

    h.clock.set(china(2024, 9, 19, 23, 59, 59));
    let returned = return_(&mut h, &early.id, "不属于本单位职责，建议交市交通运输局").await.expect("returned in time");
    assert_eq!(returned.status, RETURNED);
    assert_eq!(returned.return_reason, "不属于本单位职责，建议交市交通运输局");

    h.clock.set(china(2024, 9, 20, 0, 0, 0));
    assert_refused(return_(&mut h, &late.id, "不属于本单位职责").await, Code::FailedPrecondition, &["return window"]);
    assert_eq!(h.case(&late.id).await.status, DISPATCHED);

    // Reassigned: not to the unit that returned it; the clock restarts now.
    let mut request = pb::ReassignCaseRequest {
        id: early.id.clone(),
        lead_unit: Some(super::fixtures::jrb()),
        co_units: vec![],
        responsible_head: Some(jrb_head()),
        deadline_time: None,
        deadline_working_days: 10,
        reason: "按退回意见改交市交通运输局".into(),
        etag: returned.etag.clone(),
    };
    let status = h.client.reassign_case(h.as_(&staff(), request.clone())).await.expect_err("same unit");
    assert_field_violation(&status, "lead_unit.id");
    request.lead_unit = Some(jtj());
    let reassigned = h.client.reassign_case(h.as_(&staff(), request)).await.expect("reassigned").into_inner();
    let reassigned = reassigned.case.expect("case");
    assert_eq!(reassigned.status, DISPATCHED);
    assert_eq!(reassigned.lead_unit.as_ref().map(|u| u.id.as_str()), Some("zs-jtj"));
    assert!(reassigned.co_units.is_empty());
    assert_eq!(instant(reassigned.dispatch_time.as_ref()), h.clock.now());
    assert_eq!(reassigned.warning_level, 0);
    assert!(!reassigned.overdue);
    // 10 working days from Friday 20th: 23rd–27th, 29th (make-up Sunday), 30th, then the National Day
    // holiday 1st–7th October, so 8th–9th October.
    assert!(instant(reassigned.deadline_time.as_ref()) > china(2024, 10, 1, 0, 0, 0));
    assert_eq!(instant(reassigned.return_deadline_time.as_ref()), china(2024, 9, 25, 23, 59, 59));
    // The new unit accepts it; the old one no longer sees it.
    assert_refused(accept(&mut h, &jrb_officer(), &early.id, "").await, Code::NotFound, &[]);
    accept(&mut h, &unit_officer("zs-jtj"), &early.id, "").await.expect("accepted by the new unit");

    let returns = outbox_payloads::<pb::CaseReturned>(&h.service, "tingjian.supervision.case_returned").await;
    assert_eq!(returns.len(), 1);
    assert_eq!(returns[0].1.context.as_ref().and_then(|c| c.lead_unit.as_ref()).map(|u| u.id.as_str()), Some("zs-jrb"));
    let reassigns = outbox_payloads::<pb::CaseReassigned>(&h.service, "tingjian.supervision.case_reassigned").await;
    assert_eq!(reassigns.len(), 1);
    assert_eq!(reassigns[0].1.previous_lead_unit.as_ref().map(|u| u.id.as_str()), Some("zs-jrb"));
    assert_eq!(
        reassigns[0].1.context.as_ref().and_then(|c| c.lead_unit.as_ref()).map(|u| u.id.as_str()),
        Some("zs-jtj")
    );
    let history = h.history(&early.id).await;
    use pb::CaseAction as A;
    let actions: Vec<i32> = history.iter().map(|e| e.action).collect();
    assert_eq!(actions, [A::Dispatched as i32, A::Returned as i32, A::Reassigned as i32, A::Accepted as i32]);
    assert_eq!(history[1].reason, "不属于本单位职责，建议交市交通运输局");
    assert!(history[1].text.contains("zs-jtj"));
    assert_eq!((history[2].from_status, history[2].to_status), (RETURNED, DISPATCHED));
}
on_both_backends!(the_return_window_follows_the_working_calendar, super::return_window);

/// Two updates with the same etag: one wins, the other is ABORTED, and the retry after a fresh read
/// keeps both changes.
async fn optimistic_concurrency(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-etag").await;
    let mut a = case.clone();
    a.title = "争取金融机构降低远洋渔业企业综合融资成本（调整）".into();
    let mut b = case.clone();
    b.requirements = "请于每月5日前报送进展。".into();
    let (mut c1, mut c2) = (h.client.clone(), h.client.clone());
    let r1 = h.as_(&staff(), update_request(&a, &["title"], "标题更准确"));
    let r2 = h.as_(&supervisor(), update_request(&b, &["requirements"], "补充要求"));
    let (first, second) = tokio::join!(c1.update_case(r1), c2.update_case(r2));
    let outcomes = [first.is_ok(), second.is_ok()];
    assert_eq!(outcomes.iter().filter(|ok| **ok).count(), 1, "exactly one wins: {first:?} {second:?}");
    let loser = if first.is_ok() { second.expect_err("lost") } else { first.expect_err("lost") };
    assert_eq!(loser.code(), Code::Aborted, "{loser:?}");

    // The loser reads again and retries: both changes are kept.
    let fresh = h.case(&case.id).await;
    let paths = if fresh.title == a.title { ["requirements"] } else { ["title"] };
    let mut retry = fresh.clone();
    retry.title = a.title.clone();
    retry.requirements = b.requirements.clone();
    h.client.update_case(h.as_(&staff(), update_request(&retry, &paths, "重试"))).await.expect("retry");
    let done = h.case(&case.id).await;
    assert_eq!((done.title.as_str(), done.requirements.as_str()), (a.title.as_str(), b.requirements.as_str()));
    // A stale etag is refused on every verb too.
    assert_refused(accept(&mut h, &jrb_officer(), &case.id, &case.etag).await, Code::Aborted, &[]);
    let updates = outbox_payloads::<pb::CaseUpdated>(&h.service, "tingjian.supervision.case_updated").await;
    assert_eq!(updates.len(), 2);
    assert_eq!(h.history(&case.id).await.len(), 3);
}
on_both_backends!(optimistic_concurrency_loses_nothing, super::optimistic_concurrency);

/// The first dissatisfied evaluation reopens the case; the second also escalates it, once.
async fn dissatisfied_twice(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-dissatisfied").await;
    let id = case.id.clone();
    accept(&mut h, &jrb_officer(), &id, "").await.expect("accepted");
    reply(&mut h, &jrb_officer(), &id, pb::ResultClass::B).await.expect("replied");
    let status =
        evaluate(&mut h, &evaluator(), &id, pb::EvaluationResult::Dissatisfied, "").await.expect_err("comment");
    assert_field_violation(&status, "evaluation.comment");
    let first =
        evaluate(&mut h, &evaluator(), &id, pb::EvaluationResult::Dissatisfied, "利率仍未下调").await.expect("first");
    assert!(first.reopened && !first.escalated);
    let reopened = first.case.expect("case");
    assert_eq!((reopened.status, reopened.reopen_count, reopened.escalation_level), (IN_PROGRESS, 1, 0));

    reply(&mut h, &jrb_officer(), &id, pb::ResultClass::B).await.expect("replied again");
    let second =
        evaluate(&mut h, &evaluator(), &id, pb::EvaluationResult::Dissatisfied, "仍未落实").await.expect("second");
    assert!(second.reopened && second.escalated);
    let escalated = second.case.expect("case");
    assert_eq!((escalated.status, escalated.reopen_count), (IN_PROGRESS, 2));
    assert_eq!(escalated.escalation_level, pb::EscalationLevel::Unit as i32);

    let history = h.history(&id).await;
    use pb::CaseAction as A;
    let reopens = history.iter().filter(|e| e.action == A::Reopened as i32).count();
    let escalations: Vec<_> = history.iter().filter(|e| e.action == A::Escalated as i32).collect();
    assert_eq!(reopens, 2);
    assert_eq!(escalations.len(), 1);
    assert_eq!(escalations[0].escalation_level, pb::EscalationLevel::Unit as i32);
    let reopen = history.iter().find(|e| e.action == A::Reopened as i32).expect("reopened");
    assert_eq!((reopen.from_status, reopen.to_status), (REPLIED, IN_PROGRESS));
    assert_eq!(reopen.evaluation_result, pb::EvaluationResult::Dissatisfied as i32);
    assert_eq!(reopen.text, "利率仍未下调");
    let events = outbox_payloads::<pb::CaseEscalated>(&h.service, "tingjian.supervision.case_escalated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1.reason, pb::EscalationReason::DissatisfiedAgain as i32);
    assert_eq!(events[0].1.level, pb::EscalationLevel::Unit as i32);
    let evaluated = outbox_payloads::<pb::CaseEvaluated>(&h.service, "tingjian.supervision.case_evaluated").await;
    assert_eq!(
        evaluated.iter().map(|(_, e)| (e.reopened, e.escalated, e.reopen_count)).collect::<Vec<_>>(),
        [(true, false, 1), (true, true, 2)]
    );

    // A third time climbs one more rung.
    reply(&mut h, &jrb_officer(), &id, pb::ResultClass::C).await.expect("replied a third time");
    let third = evaluate(&mut h, &staff(), &id, pb::EvaluationResult::Dissatisfied, "代企业评价：仍不满意")
        .await
        .expect("third");
    assert!(third.escalated);
    assert_eq!(third.case.expect("case").escalation_level, pb::EscalationLevel::SupervisionOffice as i32);
}
on_both_backends!(dissatisfied_twice_escalates_once, super::dissatisfied_twice);

/// Only the right callers act; a unit outside the case does not even see it.
async fn permissions(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-permissions").await;
    let id = case.id.clone();
    let co_unit = unit_officer("zs-jxj");
    let stranger = unit_officer("zs-jtj");
    assert_refused(accept(&mut h, &co_unit, &id, "").await, Code::PermissionDenied, &[]);
    assert_refused(accept(&mut h, &stranger, &id, "").await, Code::NotFound, &[]);
    assert_refused(accept(&mut h, &staff(), &id, "").await, Code::PermissionDenied, &[]);
    assert_refused(accept(&mut h, &inspector(), &id, "").await, Code::PermissionDenied, &[]);
    accept(&mut h, &jrb_officer(), &id, "").await.expect("the lead unit accepts");
    assert_refused(progress(&mut h, &supervisor(), &id).await, Code::PermissionDenied, &[]);
    assert_refused(reply(&mut h, &co_unit, &id, pb::ResultClass::A).await, Code::PermissionDenied, &[]);
    reply(&mut h, &jrb_officer(), &id, pb::ResultClass::A).await.expect("the lead unit replies");
    assert_refused(
        evaluate(&mut h, &supervisor(), &id, pb::EvaluationResult::Satisfied, "").await,
        Code::PermissionDenied,
        &[],
    );
    let other = Identity::new("91330900MA28K9999Y", "other-enterprise", &[Role::Enterprise]);
    assert_refused(evaluate(&mut h, &other, &id, pb::EvaluationResult::Satisfied, "").await, Code::NotFound, &[]);
    assert_refused(close(&mut h, &jrb_officer(), &id, "x").await, Code::PermissionDenied, &[]);
    assert_refused(escalate(&mut h, &jrb_officer(), &id).await, Code::PermissionDenied, &[]);
    let update = update_request(&h.case(&id).await, &["title"], "x");
    assert_refused(h.client.update_case(h.as_(&jrb_officer(), update)).await, Code::PermissionDenied, &[]);
    evaluate(&mut h, &staff(), &id, pb::EvaluationResult::Satisfied, "电话回访企业，满意")
        .await
        .expect("staff on behalf");
    close(&mut h, &staff(), &id, "").await.expect("staff close");
}
on_both_backends!(only_the_right_callers_act, super::permissions);

/// Bad input is INVALID_ARGUMENT naming the field.
async fn bad_input(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-bad-input").await;
    let id = case.id.clone();
    let status = accept(&mut h, &jrb_officer(), "not-an-id", "").await.expect_err("bad id");
    assert_field_violation(&status, "id");
    let status = return_(&mut h, &id, "  ").await.expect_err("no reason");
    assert_field_violation(&status, "reason");
    accept(&mut h, &jrb_officer(), &id, "").await.expect("accepted");
    let request = pb::RecordProgressRequest { id: id.clone(), text: String::new(), etag: String::new() };
    assert_field_violation(&h.client.record_progress(h.as_(&jrb_officer(), request)).await.expect_err("text"), "text");
    let request = pb::ReplyToCaseRequest {
        id: id.clone(),
        reply: Some(pb::CaseReply { text: String::new(), ..Default::default() }),
        ..Default::default()
    };
    let status = h.client.reply_to_case(h.as_(&jrb_officer(), request)).await.expect_err("empty reply");
    assert_field_violation(&status, "reply.result_class");
    assert_field_violation(&status, "reply.text");
    let request =
        pb::ReplyToCaseRequest { id: id.clone(), reply: Some(reply_of(pb::ResultClass::D, "")), ..Default::default() };
    let status = h.client.reply_to_case(h.as_(&jrb_officer(), request)).await.expect_err("D needs a reason");
    assert_field_violation(&status, "reply.reason");
    let request = pb::ReplyToCaseRequest {
        id: id.clone(),
        reply: Some(reply_of(pb::ResultClass::A, "")),
        benefits: vec![pb::Benefit { kind: pb::BenefitKind::Subsidy as i32, ..Default::default() }],
        etag: String::new(),
    };
    let status = h.client.reply_to_case(h.as_(&jrb_officer(), request)).await.expect_err("benefit amount");
    assert_field_violation(&status, "benefits[0].amount");
    let request = pb::EscalateCaseRequest { id: id.clone(), reason: String::new(), etag: String::new() };
    assert_field_violation(&h.client.escalate_case(h.as_(&supervisor(), request)).await.expect_err("reason"), "reason");

    let current = h.case(&id).await;
    let status = h.client.update_case(h.as_(&staff(), update_request(&current, &[], "x"))).await.expect_err("mask");
    assert_field_violation(&status, "update_mask");
    let status =
        h.client.update_case(h.as_(&staff(), update_request(&current, &["status"], "x"))).await.expect_err("mask");
    assert_field_violation(&status, "update_mask");
    let status =
        h.client.update_case(h.as_(&staff(), update_request(&current, &["title"], ""))).await.expect_err("why");
    assert_field_violation(&status, "reason");
    let mut bad = current.clone();
    bad.title = String::new();
    bad.deadline_time = Some(timestamp(monday_2024_01_15() - Duration::days(1)));
    bad.co_units = vec![super::fixtures::jrb()];
    let request = update_request(&bad, &["title", "deadline_time", "co_units"], "调整");
    let status = h.client.update_case(h.as_(&staff(), request)).await.expect_err("bad values");
    assert_field_violation(&status, "case.title");
    assert_field_violation(&status, "case.deadline_time");
    assert_field_violation(&status, "case.co_units[0].id");

    let other = dispatched(&mut h, "suggestion-bad-reassign").await;
    return_(&mut h, &other.id, "不属于本单位职责").await.expect("returned");
    let request = pb::ReassignCaseRequest { id: other.id.clone(), ..Default::default() };
    let status = h.client.reassign_case(h.as_(&staff(), request)).await.expect_err("empty reassignment");
    for field in ["lead_unit", "responsible_head", "deadline_time", "reason"] {
        assert_field_violation(&status, field);
    }
    let request = pb::ReassignCaseRequest {
        id: other.id.clone(),
        lead_unit: Some(unit("", "")),
        responsible_head: Some(jrb_head()),
        deadline_working_days: 400,
        reason: "改派".into(),
        ..Default::default()
    };
    let status = h.client.reassign_case(h.as_(&staff(), request)).await.expect_err("bad reassignment");
    assert_field_violation(&status, "lead_unit.id");
    assert_field_violation(&status, "deadline_working_days");
    assert_eq!(h.case(&id).await.etag, current.etag, "refused calls change nothing");
}
on_both_backends!(bad_input_names_the_field, super::bad_input);

/// UpdateCase extends the deadline, makes the case long-running by its planned completion, and flags it
/// for discipline inspection, which then sees it.
async fn updates(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-update").await;
    assert_refused(
        h.client.get_case(h.as_(&inspector(), pb::GetCaseRequest { id: case.id.clone() })).await,
        Code::NotFound,
        &[],
    );
    let mut changed = case.clone();
    let deadline = instant(case.deadline_time.as_ref()) + Duration::days(30);
    changed.deadline_time = Some(timestamp(deadline));
    changed.planned_completion_date = Some(Date { year: 2024, month: 12, day: 31 });
    changed.discipline_inspection = true;
    changed.title = "不会改变的标题".into();
    let request = update_request(
        &changed,
        &["deadline_time", "planned_completion_date", "discipline_inspection"],
        "企业融资方案需金融监管部门审批，延期30天",
    );
    let updated =
        h.client.update_case(h.as_(&supervisor(), request)).await.expect("updated").into_inner().case.expect("case");
    assert_eq!(instant(updated.deadline_time.as_ref()), deadline);
    assert_eq!(updated.title, case.title);
    assert!(updated.long_running);
    assert_eq!(updated.long_running_since_time, case.dispatch_time);
    assert!(updated.discipline_inspection);
    let seen = h.client.get_case(h.as_(&inspector(), pb::GetCaseRequest { id: case.id.clone() })).await;
    assert!(seen.is_ok(), "{seen:?}");

    let events = outbox_payloads::<pb::CaseUpdated>(&h.service, "tingjian.supervision.case_updated").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1.changed_fields, ["deadline_time", "planned_completion_date", "discipline_inspection"]);
    assert_eq!(events[0].1.reason, "企业融资方案需金融监管部门审批，延期30天");
    let long =
        outbox_payloads::<pb::CaseBecameLongRunning>(&h.service, "tingjian.supervision.case_became_long_running").await;
    assert_eq!(long.len(), 1);
    let history = h.history(&case.id).await;
    use pb::CaseAction as A;
    assert_eq!(
        history.iter().map(|e| e.action).collect::<Vec<_>>(),
        [A::Dispatched as i32, A::Updated as i32, A::BecameLongRunning as i32]
    );
    assert_eq!(history[1].reason, "企业融资方案需金融监管部门审批，延期30天");
}
on_both_backends!(updates_extend_flag_and_mark_long_running, super::updates);

/// A supervisor escalates by hand one rung at a time up to discipline inspection, which then sees the
/// case; beyond the top it is refused.
async fn manual_escalation(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = dispatched(&mut h, "suggestion-escalate").await;
    for level in
        [pb::EscalationLevel::Unit, pb::EscalationLevel::SupervisionOffice, pb::EscalationLevel::DisciplineInspection]
    {
        let done = escalate(&mut h, &supervisor(), &case.id).await.expect("escalated");
        assert_eq!(done.case.expect("case").escalation_level, level as i32);
        let escalation = done.escalation.expect("escalation");
        assert_eq!(escalation.level, level as i32);
        assert_eq!(escalation.reason, pb::EscalationReason::Manual as i32);
        assert_eq!(escalation.actor, supervisor().subject);
        assert_eq!(escalation.lead_unit.as_ref().map(|u| u.id.as_str()), Some("zs-jrb"));
    }
    assert_refused(escalate(&mut h, &staff(), &case.id).await, Code::FailedPrecondition, &["top rung"]);
    let seen = h.client.get_case(h.as_(&inspector(), pb::GetCaseRequest { id: case.id.clone() })).await;
    assert!(seen.is_ok(), "{seen:?}");
    let events = outbox_payloads::<pb::CaseEscalated>(&h.service, "tingjian.supervision.case_escalated").await;
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|(_, e)| e.detail == "企业多次反映，督查室提级督办"));
    let history = h.history(&case.id).await;
    assert_eq!(history.iter().filter(|e| e.action == pb::CaseAction::Escalated as i32).count(), 3);
}
on_both_backends!(manual_escalation_climbs_the_ladder, super::manual_escalation);
