//! Long-running cases and their quarterly follow-up (每季度至少跟踪监督1次), on SQLite and on PostgreSQL,
//! with the service's clock moved by hand: a case dispatched 2024-01-15 becomes long-running on
//! 2024-07-15 and gets its Q3 task once; the reminder 15 days before 2024-10-01 is sent once; a follow-up
//! marks its quarter's task DONE; a quarter without one is MISSED once and escalated once; a closed case
//! gets no new tasks; two replicas sweeping at once do everything once; RecordFollowUp's checks, roles and
//! idempotency; ListFollowUps and ListFollowUpTasks with their filters and pages; GetCompliance.

use chrono::{DateTime, Utc};
use tingjian_proto::common::v1::{OrganisationKind, OrganisationRef, Period, PeriodKind};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::settings::SupervisionSettings;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{Role, on_pool};
use tingjian_supervision::store::{FollowUpSweep, Store};
use tingjian_tests::{Identity, StorageBackend, assert_field_violation, on_both_backends, outbox_payloads};
use tonic::Code;

use super::fixtures::{
    Harness, TITLE, case_of, china, inspector, instant, jrb, jrb_officer, monday_2024_01_15, staff, supervisor,
    unit_officer,
};

/// A second handle on the service's database, as another replica's store would be.
fn replica(h: &Harness) -> Store {
    let settings = SupervisionSettings { sweep_interval: std::time::Duration::ZERO, ..Default::default() };
    Store::with(h.service.database.db.clone(), h.clock.clone(), settings)
}

/// Moves the clock to `at` and runs the follow-up sweep there.
async fn sweep_at(h: &Harness, at: DateTime<Utc>) -> FollowUpSweep {
    h.clock.set(at);
    replica(h).sweep_follow_ups(at).await.expect("follow-up sweep")
}

fn quarter(year: i32, number: i32) -> Period {
    Period { kind: PeriodKind::Quarter as i32, year, number }
}

fn follow_up(at: DateTime<Utc>, findings: &str) -> pb::FollowUp {
    pb::FollowUp {
        method: pb::FollowUpMethod::OnSite as i32,
        follow_time: Some(timestamp(at)),
        supervisor_ids: vec!["cppcc-member-chen".into(), "supervisor-zhao".into()],
        supervising_organisation: Some(OrganisationRef {
            id: "zs-zxjjw".into(),
            name: "市政协经济委".into(),
            kind: OrganisationKind::Cppcc as i32,
        }),
        findings: findings.into(),
        progress: "已召开银企对接会，两家银行承诺下调贷款利率。".into(),
        ..Default::default()
    }
}

async fn record(
    h: &mut Harness,
    who: &Identity,
    case_id: &str,
    follow_up: pb::FollowUp,
    request_id: &str,
) -> Result<pb::RecordFollowUpResponse, tonic::Status> {
    let request = pb::RecordFollowUpRequest {
        case_id: case_id.into(),
        follow_up: Some(follow_up),
        request_id: request_id.into(),
    };
    let request = h.as_(who, request);
    h.client.record_follow_up(request).await.map(tonic::Response::into_inner)
}

async fn tasks(
    h: &mut Harness,
    who: &Identity,
    request: pb::ListFollowUpTasksRequest,
) -> pb::ListFollowUpTasksResponse {
    let request = h.as_(who, request);
    h.client.list_follow_up_tasks(request).await.expect("tasks").into_inner()
}

async fn tasks_of(h: &mut Harness, case_id: &str) -> Vec<pb::FollowUpTask> {
    let request = pb::ListFollowUpTasksRequest { case_id: case_id.into(), ..Default::default() };
    tasks(h, &staff(), request).await.tasks
}

async fn compliance(h: &mut Harness, who: &Identity, request: pb::GetComplianceRequest) -> pb::GetComplianceResponse {
    let request = h.as_(who, request);
    h.client.get_compliance(request).await.expect("compliance").into_inner()
}

async fn close(h: &Harness, case_id: &str, at: DateTime<Utc>) {
    on_pool!(&h.service.database.db, pool => {
        sqlx::query("UPDATE supervision_case SET status = 7, close_time = $2 WHERE id = $1")
            .bind(case_id)
            .bind(at)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .expect("case closed");
}

fn actions(history: &[pb::CaseHistoryEntry], action: pb::CaseAction) -> Vec<&pb::CaseHistoryEntry> {
    history.iter().filter(|e| e.action == action as i32).collect()
}

/// The contract's example end to end: long-running on 2024-07-15, the Q3 task once, the reminder once, Q3
/// missed and escalated once, a Q4 follow-up marking Q4 DONE, and the compliance that follows.
async fn the_quarterly_cycle(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-lr-1"), 15).await;
    assert!(!case.long_running);

    // Not due before six months have passed.
    assert_eq!(sweep_at(&h, china(2024, 7, 15, 8, 59, 59)).await, FollowUpSweep::default());
    let first = sweep_at(&h, china(2024, 7, 15, 9, 0, 0)).await;
    assert_eq!((first.examined, first.long_running_marked, first.tasks_created), (1, 1, 1));
    assert_eq!((first.reminders_sent, first.quarters_missed, first.escalations), (0, 0, 0));
    assert_eq!(sweep_at(&h, china(2024, 7, 15, 9, 0, 0)).await, FollowUpSweep::default());
    assert_eq!(sweep_at(&h, china(2024, 8, 20, 10, 0, 0)).await, FollowUpSweep::default());

    let got = h.case(&case.id).await;
    assert!(got.long_running);
    assert_eq!(instant(got.long_running_since_time.as_ref()), china(2024, 7, 15, 9, 0, 0));
    assert_eq!(instant(got.next_follow_up_due_time.as_ref()), china(2024, 10, 1, 0, 0, 0));
    let listed = tasks_of(&mut h, &case.id).await;
    assert_eq!(listed.len(), 1);
    let q3 = &listed[0];
    assert_eq!(q3.quarter, Some(quarter(2024, 3)));
    assert_eq!(q3.status, pb::FollowUpTaskStatus::Open as i32);
    assert_eq!(instant(q3.due_time.as_ref()), china(2024, 10, 1, 0, 0, 0));
    assert_eq!((q3.case_title.as_str(), q3.lead_unit.clone()), (TITLE, Some(jrb())));
    let became =
        outbox_payloads::<pb::CaseBecameLongRunning>(&h.service, "tingjian.supervision.case_became_long_running").await;
    assert_eq!(became.len(), 1);
    assert_eq!(became[0].0, format!("cases/{}", case.id));
    assert_eq!(instant(became[0].1.since_time.as_ref()), china(2024, 7, 15, 9, 0, 0));
    assert_eq!(became[0].1.context.as_ref().map(|c| c.case_id.as_str()), Some(case.id.as_str()));

    // The reminder: 15 days before 2024-10-01, once.
    assert_eq!(sweep_at(&h, china(2024, 9, 15, 23, 59, 59)).await.reminders_sent, 0);
    let reminded = sweep_at(&h, china(2024, 9, 16, 0, 0, 0)).await;
    assert_eq!((reminded.examined, reminded.reminders_sent), (1, 1));
    assert_eq!(sweep_at(&h, china(2024, 9, 20, 0, 0, 0)).await, FollowUpSweep::default());
    let q3 = tasks_of(&mut h, &case.id).await.remove(0);
    assert_eq!(q3.status, pb::FollowUpTaskStatus::Reminded as i32);
    assert_eq!(instant(q3.remind_time.as_ref()), china(2024, 9, 16, 0, 0, 0));
    let sent =
        outbox_payloads::<pb::FollowUpReminderSent>(&h.service, "tingjian.supervision.follow_up_reminder_sent").await;
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].1.task_id.as_str(), sent[0].1.quarter), (q3.id.as_str(), Some(quarter(2024, 3))));

    // Q3 ends without a follow-up: missed once, escalated once; the Q4 task is created.
    assert_eq!(sweep_at(&h, china(2024, 9, 30, 23, 59, 59)).await, FollowUpSweep::default());
    let ended = sweep_at(&h, china(2024, 10, 1, 0, 0, 0)).await;
    assert_eq!((ended.quarters_missed, ended.escalations, ended.tasks_created), (1, 1, 1));
    assert_eq!(sweep_at(&h, china(2024, 10, 1, 0, 0, 0)).await, FollowUpSweep::default());
    assert_eq!(sweep_at(&h, china(2024, 10, 8, 0, 0, 0)).await, FollowUpSweep::default());
    let listed = tasks_of(&mut h, &case.id).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].status, pb::FollowUpTaskStatus::Missed as i32);
    assert_eq!(instant(listed[0].missed_time.as_ref()), china(2024, 10, 1, 0, 0, 0));
    assert_eq!(listed[1].quarter, Some(quarter(2024, 4)));
    assert_eq!(listed[1].status, pb::FollowUpTaskStatus::Open as i32);
    let got = h.case(&case.id).await;
    assert_eq!(got.escalation_level, pb::EscalationLevel::Unit as i32);
    assert_eq!(instant(got.next_follow_up_due_time.as_ref()), china(2025, 1, 1, 0, 0, 0));
    let missed = outbox_payloads::<pb::QuarterMissed>(&h.service, "tingjian.supervision.quarter_missed").await;
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].1.task_id, listed[0].id);
    let escalated = outbox_payloads::<pb::CaseEscalated>(&h.service, "tingjian.supervision.case_escalated").await;
    assert_eq!(escalated.len(), 1);
    assert_eq!(escalated[0].1.reason, pb::EscalationReason::QuarterMissed as i32);
    assert_eq!(escalated[0].1.level, pb::EscalationLevel::Unit as i32);
    assert_eq!(escalated[0].1.actor, "system");

    // A Q4 follow-up marks the Q4 task DONE; no reminder and no missed quarter follow.
    h.clock.set(china(2024, 11, 5, 16, 0, 0));
    let done = record(
        &mut h,
        &supervisor(),
        &case.id,
        follow_up(china(2024, 11, 5, 10, 0, 0), "实地督查：优惠利率已落实两家。"),
        "",
    )
    .await
    .expect("recorded");
    let task = done.task.expect("Q4 task satisfied");
    assert_eq!((task.id.as_str(), task.status), (listed[1].id.as_str(), pb::FollowUpTaskStatus::Done as i32));
    let recorded = done.follow_up.expect("follow-up");
    assert_eq!(task.follow_up_ids, vec![recorded.id.clone()]);
    assert_eq!(recorded.task_id, task.id);
    assert_eq!(recorded.quarter, Some(quarter(2024, 4)));
    assert_eq!(sweep_at(&h, china(2024, 12, 16, 0, 0, 0)).await, FollowUpSweep::default());
    let q1 = sweep_at(&h, china(2025, 1, 1, 0, 0, 0)).await;
    assert_eq!((q1.tasks_created, q1.quarters_missed, q1.escalations), (1, 0, 0));

    let history = h.history(&case.id).await;
    assert_eq!(actions(&history, pb::CaseAction::BecameLongRunning).len(), 1);
    assert_eq!(actions(&history, pb::CaseAction::FollowUpReminded).len(), 1);
    assert_eq!(actions(&history, pb::CaseAction::QuarterMissed).len(), 1);
    let escalations = actions(&history, pb::CaseAction::Escalated);
    assert_eq!(escalations.len(), 1);
    assert_eq!(escalations[0].escalation_level, pb::EscalationLevel::Unit as i32);
    let followed = actions(&history, pb::CaseAction::FollowedUp);
    assert_eq!(followed.len(), 1);
    assert_eq!(
        (followed[0].text.as_str(), followed[0].actor.as_str()),
        ("实地督查：优惠利率已落实两家。", "supervisor-zhao")
    );
    for pair in history.windows(2) {
        assert_eq!(pair[1].sequence, pair[0].sequence + 1);
    }

    // Compliance as of 2025-01-01: Q3 missed, Q4 followed, Q1 2025 pending.
    h.clock.set(china(2025, 1, 2, 9, 0, 0));
    let all =
        compliance(&mut h, &staff(), pb::GetComplianceRequest { case_id: case.id.clone(), ..Default::default() }).await;
    let summary = all.summary.expect("summary");
    assert_eq!(summary.case_count, 1);
    assert_eq!((summary.quarters_required, summary.quarters_followed), (2, 1));
    assert_eq!((summary.quarters_missed, summary.quarters_pending), (1, 1));
    let rate = summary.rate.expect("rate");
    assert_eq!((rate.numerator, rate.denominator, rate.value), (1, 2, 0.5));
    assert_eq!(all.cases.len(), 1);
    let line = &all.cases[0];
    assert_eq!(instant(line.long_running_since_time.as_ref()), china(2024, 7, 15, 9, 0, 0));
    let quarters: Vec<(Option<Period>, i32, i32)> =
        line.quarters.iter().map(|q| (q.quarter, q.status, q.follow_up_count)).collect();
    assert_eq!(
        quarters,
        vec![
            (Some(quarter(2024, 3)), pb::FollowUpTaskStatus::Missed as i32, 0),
            (Some(quarter(2024, 4)), pb::FollowUpTaskStatus::Done as i32, 1),
            (Some(quarter(2025, 1)), pb::FollowUpTaskStatus::Open as i32, 0),
        ]
    );
    let year = Period { kind: PeriodKind::Year as i32, year: 2024, number: 0 };
    let request = pb::GetComplianceRequest { unit_id: "zs-jrb".into(), period: Some(year), ..Default::default() };
    let in_2024 = compliance(&mut h, &jrb_officer(), request).await.summary.expect("summary");
    assert_eq!((in_2024.quarters_required, in_2024.quarters_followed, in_2024.quarters_pending), (2, 1, 0));
    let october = Period { kind: PeriodKind::Month as i32, year: 2024, number: 10 };
    let request = pb::GetComplianceRequest { period: Some(october), ..Default::default() };
    let in_october = compliance(&mut h, &supervisor(), request).await.summary.expect("summary");
    assert_eq!((in_october.quarters_required, in_october.quarters_followed), (1, 1));
    // Another unit sees none of it; discipline inspection does not see the case.
    let other = compliance(&mut h, &unit_officer("zs-jtj"), pb::GetComplianceRequest::default()).await;
    assert_eq!(other.summary.map(|s| s.quarters_required), Some(0));
    assert!(other.cases.is_empty());
    let request = h.as_(&inspector(), pb::GetComplianceRequest { case_id: case.id.clone(), ..Default::default() });
    let hidden = h.client.get_compliance(request).await.expect_err("not visible");
    assert_eq!(hidden.code(), Code::NotFound);
}

on_both_backends!(quarterly_cycle_of_a_long_running_case, super::the_quarterly_cycle);

/// A closed case gets no new task; a case closed mid-quarter without a follow-up still misses that
/// quarter, without an escalation; a follow-up before becoming long-running satisfies the first quarter.
async fn closed_cases(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let followed = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-lr-2"), 15).await;
    let unfollowed = h.dispatch(case_of(pb::CaseSourceKind::Demand, "demand-lr-3"), 15).await;
    h.clock.set(china(2024, 7, 10, 15, 0, 0));
    let early =
        record(&mut h, &staff(), &followed.id, follow_up(china(2024, 7, 10, 10, 0, 0), "电话督办：进展正常。"), "")
            .await
            .expect("recorded");
    assert!(early.task.is_none(), "not long-running yet");
    let first = sweep_at(&h, china(2024, 7, 15, 9, 0, 0)).await;
    assert_eq!((first.long_running_marked, first.tasks_created), (2, 2));
    let q3 = tasks_of(&mut h, &followed.id).await.remove(0);
    assert_eq!(q3.status, pb::FollowUpTaskStatus::Done as i32);
    assert_eq!(q3.follow_up_ids, vec![early.follow_up.expect("follow-up").id]);

    close(&h, &followed.id, china(2024, 8, 1, 10, 0, 0)).await;
    close(&h, &unfollowed.id, china(2024, 8, 10, 10, 0, 0)).await;
    h.clock.set(china(2024, 8, 20, 10, 0, 0));
    let refused = record(&mut h, &supervisor(), &followed.id, follow_up(china(2024, 8, 20, 9, 0, 0), "复查。"), "")
        .await
        .expect_err("closed");
    assert_eq!(refused.code(), Code::FailedPrecondition);
    assert!(refused.message().contains("CLOSED"), "{refused:?}");

    // The reminder of a closed case is not sent; its quarter still ends missed, without an escalation.
    assert_eq!(sweep_at(&h, china(2024, 9, 16, 0, 0, 0)).await.reminders_sent, 0);
    let ended = sweep_at(&h, china(2024, 10, 1, 0, 0, 0)).await;
    assert_eq!((ended.tasks_created, ended.quarters_missed, ended.escalations), (0, 1, 0));
    assert_eq!(sweep_at(&h, china(2025, 1, 1, 0, 0, 0)).await, FollowUpSweep::default());
    assert_eq!(tasks_of(&mut h, &followed.id).await.len(), 1);
    let listed = tasks_of(&mut h, &unfollowed.id).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, pb::FollowUpTaskStatus::Missed as i32);
    assert!(outbox_payloads::<pb::CaseEscalated>(&h.service, "tingjian.supervision.case_escalated").await.is_empty());

    let report = compliance(&mut h, &staff(), pb::GetComplianceRequest::default()).await;
    let summary = report.summary.expect("summary");
    assert_eq!(summary.case_count, 2);
    assert_eq!((summary.quarters_required, summary.quarters_followed, summary.quarters_missed), (2, 1, 1));
    assert_eq!(summary.quarters_pending, 0);
    // Lowest compliance first, one line per page.
    let request = pb::GetComplianceRequest { page_size: 1, ..Default::default() };
    let page = compliance(&mut h, &staff(), request).await;
    assert_eq!(page.cases.len(), 1);
    assert_eq!(page.cases[0].case_id, unfollowed.id);
    assert!(!page.next_page_token.is_empty());
    let request = pb::GetComplianceRequest { page_size: 1, page_token: page.next_page_token, ..Default::default() };
    let page = compliance(&mut h, &staff(), request).await;
    assert_eq!(page.cases.len(), 1);
    assert_eq!(page.cases[0].case_id, followed.id);
    assert!(page.next_page_token.is_empty());
    assert_eq!(page.summary.map(|s| s.quarters_required), Some(2));
}

on_both_backends!(closed_cases_owe_no_new_quarters, super::closed_cases);

/// Two replicas sweeping at the same instant: every task, reminder, missed quarter and escalation once.
async fn replicas_sweep_once(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    for i in 0..6 {
        h.dispatch(case_of(pb::CaseSourceKind::Suggestion, &format!("suggestion-replica-{i}")), 15).await;
    }
    let total = |a: FollowUpSweep, b: FollowUpSweep| {
        (
            a.long_running_marked + b.long_running_marked,
            a.tasks_created + b.tasks_created,
            a.reminders_sent + b.reminders_sent,
            a.quarters_missed + b.quarters_missed,
            a.escalations + b.escalations,
        )
    };
    let (one, two) = (replica(&h), replica(&h));
    for (at, expected) in [
        (china(2024, 7, 15, 9, 0, 0), (6, 6, 0, 0, 0)),
        (china(2024, 9, 16, 0, 0, 0), (0, 0, 6, 0, 0)),
        (china(2024, 10, 1, 0, 0, 0), (0, 6, 0, 6, 6)),
    ] {
        h.clock.set(at);
        let (a, b) = tokio::join!(one.sweep_follow_ups(at), two.sweep_follow_ups(at));
        assert_eq!(total(a.expect("sweep"), b.expect("sweep")), expected, "at {at}");
    }
    assert_eq!(outbox_payloads::<pb::CaseEscalated>(&h.service, "tingjian.supervision.case_escalated").await.len(), 6);
    assert_eq!(outbox_payloads::<pb::QuarterMissed>(&h.service, "tingjian.supervision.quarter_missed").await.len(), 6);
    let request = pb::ListFollowUpTasksRequest {
        quarter: Some(quarter(2024, 3)),
        statuses: vec![pb::FollowUpTaskStatus::Missed as i32],
        page_size: 4,
        ..Default::default()
    };
    let first = tasks(&mut h, &supervisor(), request.clone()).await;
    assert_eq!(first.tasks.len(), 4);
    let next = pb::ListFollowUpTasksRequest { page_token: first.next_page_token, ..request };
    let second = tasks(&mut h, &supervisor(), next).await;
    assert_eq!(second.tasks.len(), 2);
    assert!(second.next_page_token.is_empty());
    let mut ids: Vec<String> = first.tasks.iter().chain(&second.tasks).map(|t| t.case_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 6);
    let open = pb::ListFollowUpTasksRequest {
        statuses: vec![pb::FollowUpTaskStatus::Open as i32, pb::FollowUpTaskStatus::Reminded as i32],
        ..Default::default()
    };
    let due = tasks(&mut h, &staff(), open).await.tasks;
    assert_eq!(due.len(), 6);
    assert!(due.iter().all(|t| t.quarter == Some(quarter(2024, 4))));
}

on_both_backends!(two_replicas_sweep_each_item_once, super::replicas_sweep_once);

/// RecordFollowUp's checks, roles, scope and idempotency; ListFollowUps' order, filters and pages.
async fn recording_follow_ups(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-fu-1"), 15).await;
    h.clock.set(china(2024, 3, 1, 10, 0, 0));

    let bad = pb::FollowUp {
        method: 0,
        follow_time: None,
        supervisor_ids: vec!["a\nb".into()],
        findings: " ".into(),
        ..Default::default()
    };
    let status = record(&mut h, &supervisor(), &case.id, bad, "").await.expect_err("invalid");
    for field in ["follow_up.method", "follow_up.follow_time", "follow_up.supervisor_ids[0]", "follow_up.findings"] {
        assert_field_violation(&status, field);
    }
    let future = follow_up(china(2024, 3, 1, 10, 5, 0), "未来。");
    let status = record(&mut h, &supervisor(), &case.id, future, "").await.expect_err("future");
    assert_field_violation(&status, "follow_up.follow_time");
    let before_dispatch = follow_up(china(2024, 1, 10, 10, 0, 0), "交办前。");
    let status = record(&mut h, &supervisor(), &case.id, before_dispatch, "").await.expect_err("before dispatch");
    assert_field_violation(&status, "follow_up.follow_time");
    let status = record(&mut h, &supervisor(), "not-an-id", follow_up(china(2024, 2, 1, 9, 0, 0), "x"), "")
        .await
        .expect_err("bad id");
    assert_field_violation(&status, "case_id");
    let unknown = "0193a1c2-0000-7000-8000-0000000000ff";
    let status =
        record(&mut h, &supervisor(), unknown, follow_up(china(2024, 2, 1, 9, 0, 0), "x"), "").await.expect_err("none");
    assert_eq!(status.code(), Code::NotFound);
    let status = record(&mut h, &jrb_officer(), &case.id, follow_up(china(2024, 2, 1, 9, 0, 0), "x"), "")
        .await
        .expect_err("unit");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = record(&mut h, &inspector(), &case.id, follow_up(china(2024, 2, 1, 9, 0, 0), "x"), "")
        .await
        .expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);

    // Idempotent on the request id; a different request under it is ALREADY_EXISTS.
    let body = follow_up(china(2024, 2, 20, 9, 30, 0), "书面督办：已收到阶段性报告。");
    let once = record(&mut h, &staff(), &case.id, body.clone(), "fu-req-1").await.expect("recorded");
    let again = record(&mut h, &staff(), &case.id, body.clone(), "fu-req-1").await.expect("replayed");
    assert_eq!(once, again);
    let first = once.follow_up.expect("follow-up");
    assert!(once.task.is_none());
    assert_eq!(first.recorded_by, "staff-li");
    assert_eq!(first.quarter, Some(quarter(2024, 1)));
    assert_eq!(first.supervisor_ids, vec!["cppcc-member-chen".to_owned(), "supervisor-zhao".to_owned()]);
    assert_eq!(first.supervising_organisation.as_ref().map(|o| o.name.as_str()), Some("市政协经济委"));
    let changed = pb::FollowUp { findings: "另一份记录。".into(), ..body };
    let status = record(&mut h, &staff(), &case.id, changed, "fu-req-1").await.expect_err("reused id");
    assert_eq!(status.code(), Code::AlreadyExists);
    let events = outbox_payloads::<pb::FollowUpRecorded>(&h.service, "tingjian.supervision.follow_up_recorded").await;
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].1.follow_up_id.as_str(), events[0].1.actor.as_str()), (first.id.as_str(), "staff-li"));
    assert_eq!(events[0].1.quarter, Some(quarter(2024, 1)));

    let mut phone = follow_up(china(2024, 2, 28, 15, 0, 0), "电话督办：对接会已排期。");
    phone.method = pb::FollowUpMethod::Phone as i32;
    phone.supervising_organisation = None;
    let second = record(&mut h, &supervisor(), &case.id, phone, "").await.expect("recorded").follow_up.expect("f");
    assert_eq!(second.supervising_organisation, None);

    // Newest first, one per page; filters by method, period and unit; scope of a unit.
    let list = |request: pb::ListFollowUpsRequest, who: Identity| {
        let request = h.as_(&who, request);
        let mut client = h.client.clone();
        async move { client.list_follow_ups(request).await.map(tonic::Response::into_inner) }
    };
    let page = list(pb::ListFollowUpsRequest { case_id: case.id.clone(), page_size: 1, ..Default::default() }, staff())
        .await
        .expect("page");
    assert_eq!(page.follow_ups.iter().map(|f| f.id.clone()).collect::<Vec<_>>(), vec![second.id.clone()]);
    let request = pb::ListFollowUpsRequest {
        case_id: case.id.clone(),
        page_size: 1,
        page_token: page.next_page_token,
        ..Default::default()
    };
    let page = list(request, staff()).await.expect("page");
    assert_eq!(page.follow_ups.iter().map(|f| f.id.clone()).collect::<Vec<_>>(), vec![first.id.clone()]);
    assert!(page.next_page_token.is_empty());
    let phone_only = pb::ListFollowUpsRequest { method: pb::FollowUpMethod::Phone as i32, ..Default::default() };
    let got = list(phone_only, jrb_officer()).await.expect("list").follow_ups;
    assert_eq!(got.iter().map(|f| f.id.clone()).collect::<Vec<_>>(), vec![second.id.clone()]);
    let march = Period { kind: PeriodKind::Month as i32, year: 2024, number: 3 };
    let got = list(pb::ListFollowUpsRequest { period: Some(march), ..Default::default() }, staff()).await.expect("l");
    assert!(got.follow_ups.is_empty());
    let got = list(pb::ListFollowUpsRequest::default(), unit_officer("zs-jtj")).await.expect("list");
    assert!(got.follow_ups.is_empty());
    let status = list(pb::ListFollowUpsRequest { method: 9, ..Default::default() }, staff()).await.expect_err("bad");
    assert_field_violation(&status, "method");
    let bad_quarter = pb::ListFollowUpTasksRequest {
        quarter: Some(Period { kind: PeriodKind::Month as i32, year: 2024, number: 3 }),
        statuses: vec![7],
        ..Default::default()
    };
    let request = h.as_(&staff(), bad_quarter);
    let status = h.client.list_follow_up_tasks(request).await.expect_err("bad filters");
    assert_field_violation(&status, "quarter.kind");
    assert_field_violation(&status, "statuses[0]");
    let request = h.as_(&Identity::new("someone", "zs-qy", &[Role::Enterprise]), pb::GetComplianceRequest::default());
    let status = h.client.get_compliance(request).await.expect_err("enterprise");
    assert_eq!(status.code(), Code::PermissionDenied);
}

on_both_backends!(follow_ups_are_checked_and_listed, super::recording_follow_ups);

/// When no sweep ran for several quarters (the service was down), the next one creates every owed quarter's
/// task, records each ended one as missed once — escalating up the ladder once per missed quarter — and
/// leaves the current quarter open; a follow-up done in one of those quarters keeps it from being missed.
async fn a_sweep_after_a_long_pause(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-pause-1"), 15).await;
    h.clock.set(china(2024, 11, 20, 10, 0, 0));
    record(&mut h, &supervisor(), &case.id, follow_up(china(2024, 11, 20, 9, 0, 0), "实地查看项目进度。"), "pause-1")
        .await
        .expect("a follow-up in Q4 2024");
    let swept = sweep_at(&h, china(2025, 5, 6, 10, 0, 0)).await;
    assert_eq!((swept.long_running_marked, swept.tasks_created), (1, 4), "{swept:?}");
    assert_eq!((swept.quarters_missed, swept.escalations), (2, 2), "Q3 2024 and Q1 2025 were missed: {swept:?}");
    let statuses: Vec<(Option<Period>, i32)> =
        tasks_of(&mut h, &case.id).await.into_iter().map(|t| (t.quarter, t.status)).collect();
    assert_eq!(
        statuses,
        [
            (Some(quarter(2024, 3)), pb::FollowUpTaskStatus::Missed as i32),
            (Some(quarter(2024, 4)), pb::FollowUpTaskStatus::Done as i32),
            (Some(quarter(2025, 1)), pb::FollowUpTaskStatus::Missed as i32),
            (Some(quarter(2025, 2)), pb::FollowUpTaskStatus::Open as i32),
        ]
    );
    assert_eq!(h.case(&case.id).await.escalation_level, pb::EscalationLevel::SupervisionOffice as i32);
    assert_eq!(sweep_at(&h, china(2025, 5, 6, 10, 0, 0)).await, FollowUpSweep::default(), "nothing twice");
}
on_both_backends!(a_sweep_after_a_long_pause, super::a_sweep_after_a_long_pause);
