//! Deadline warnings (预警), the overdue escalation ladder (升级督办) and the sweeps, on SQLite and on
//! PostgreSQL, on a clock the tests move: warnings at 50 %, 75 % and 100 % of the allowed time each raised
//! once, the ladder climbed on working days past the deadline (also all at once when the sweep runs
//! late), replied cases left alone, a sweep that examines only due cases, ListWarnings and
//! ListEscalations with their filters, pages and row scope, and exactly-once with three replicas
//! sweeping the same database at the same time.

use chrono::{DateTime, Duration, Utc};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::clock::Clock;
use tingjian_runtime::settings::{EscalationRung, LadderStep, SupervisionSettings};
use tingjian_runtime::storage::testing::TestDatabase;
use tingjian_runtime::storage::{Backend, Database};
use tingjian_runtime::time::china_date;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{Role, on_pool};
use tingjian_supervision::domain::{WorkingCalendar, builtin, end_of_china_day};
use tingjian_supervision::store::{Store, SweepKind};
use tingjian_tests::{Identity, StorageBackend, assert_field_violation, on_both_backends, outbox_payloads};
use tonic::Code;

use super::fixtures::{Harness, case_of, china, inspector, instant, jrb_officer, monday_2024_01_15, staff, supervisor};

const WARNED: i32 = pb::CaseAction::Warned as i32;
const ESCALATED: i32 = pb::CaseAction::Escalated as i32;

/// The shipped working calendar (2024–2026).
fn shipped() -> WorkingCalendar {
    WorkingCalendar::new((2024..=2026).filter_map(builtin))
}

/// The end (23:59:59 China) of the `n`th working day after the deadline's China day.
fn working_days_past(deadline: DateTime<Utc>, n: u32) -> DateTime<Utc> {
    end_of_china_day(shipped().working_days_after(china_date(deadline), n))
}

fn ladder(steps: &[(EscalationRung, u32)]) -> SupervisionSettings {
    SupervisionSettings {
        sweep_interval: std::time::Duration::ZERO,
        escalation_ladder: steps
            .iter()
            .map(|&(rung, after_working_days)| LadderStep { rung, after_working_days })
            .collect(),
        ..Default::default()
    }
}

fn at(span_start: DateTime<Utc>, span_end: DateTime<Utc>, numerator: i32, denominator: i32) -> DateTime<Utc> {
    span_start + (span_end - span_start) * numerator / denominator
}

impl Harness {
    async fn warnings(
        &mut self,
        who: &Identity,
        request: pb::ListWarningsRequest,
    ) -> Result<Vec<pb::DeadlineWarning>, tonic::Status> {
        let request = self.as_(who, request);
        self.client.list_warnings(request).await.map(|r| r.into_inner().warnings)
    }

    async fn escalations(
        &mut self,
        who: &Identity,
        request: pb::ListEscalationsRequest,
    ) -> Result<Vec<pb::Escalation>, tonic::Status> {
        let request = self.as_(who, request);
        self.client.list_escalations(request).await.map(|r| r.into_inner().escalations)
    }

    async fn warnings_of(&mut self, case_id: &str) -> Vec<pb::DeadlineWarning> {
        let request = pb::ListWarningsRequest { case_id: case_id.into(), ..Default::default() };
        self.warnings(&staff(), request).await.expect("warnings")
    }

    async fn escalations_of(&mut self, case_id: &str) -> Vec<pb::Escalation> {
        let request = pb::ListEscalationsRequest { case_id: case_id.into(), ..Default::default() };
        self.escalations(&staff(), request).await.expect("escalations")
    }

    async fn sweep_at(&mut self, t: DateTime<Utc>) -> pb::SweepReport {
        self.clock.set(t);
        self.sweep().await
    }
}

/// Dispatched Monday 2024-01-15 09:00 with 10 working days (due Monday 2024-01-29 23:59:59): HALF at
/// 50 %, once; THREE_QUARTERS at 75 %; DUE at the deadline with the case overdue and the first rung; the
/// second rung 5 and the third 10 working days past the deadline day (the Spring Festival schedule
/// counted), after which the commission sees the case; then nothing more.
async fn warnings_then_the_ladder(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-sweep-1"), 10).await;
    let dispatch = instant(case.dispatch_time.as_ref());
    let deadline = instant(case.deadline_time.as_ref());
    assert_eq!(deadline, china(2024, 1, 29, 23, 59, 59));

    let half = at(dispatch, deadline, 1, 2);
    let report = h.sweep_at(half - Duration::seconds(1)).await;
    assert_eq!((report.items_examined, report.warnings_raised), (0, 0), "{report:?}");
    assert_eq!(h.case(&case.id).await.warning_level, 0);

    let report = h.sweep_at(half).await;
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (1, 1, 0), "{report:?}");
    assert_eq!(instant(report.as_of_time.as_ref()), half);
    let read = h.case(&case.id).await;
    assert_eq!(read.warning_level, pb::WarningLevel::Half as i32);
    assert!(!read.overdue);
    let report = h.sweep().await;
    assert_eq!((report.items_examined, report.warnings_raised), (0, 0), "a second sweep raises nothing: {report:?}");
    h.clock.advance(Duration::hours(1));
    let report = h.sweep().await;
    assert_eq!((report.items_examined, report.warnings_raised), (0, 0), "{report:?}");

    let report = h.sweep_at(at(dispatch, deadline, 3, 4)).await;
    assert_eq!((report.items_examined, report.warnings_raised), (1, 1), "{report:?}");
    assert_eq!(h.case(&case.id).await.warning_level, pb::WarningLevel::ThreeQuarters as i32);

    let report = h.sweep_at(deadline).await;
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (1, 1, 1), "{report:?}");
    let read = h.case(&case.id).await;
    assert_eq!(read.warning_level, pb::WarningLevel::Due as i32);
    assert!(read.overdue);
    assert_eq!(read.escalation_level, pb::EscalationLevel::Unit as i32);

    let second = working_days_past(deadline, 5);
    // 5 working days after Monday 29 January: 30, 31, 1, 2 and Sunday 4 February (春节调休上班).
    assert_eq!(second, china(2024, 2, 4, 23, 59, 59));
    let report = h.sweep_at(second - Duration::seconds(1)).await;
    assert_eq!((report.items_examined, report.escalations), (0, 0), "{report:?}");
    let report = h.sweep_at(second).await;
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (1, 0, 1), "{report:?}");
    assert_eq!(h.case(&case.id).await.escalation_level, pb::EscalationLevel::SupervisionOffice as i32);

    let get = |id: &str| pb::GetCaseRequest { id: id.into() };
    let hidden = h.client.get_case(h.as_(&inspector(), get(&case.id))).await.expect_err("not visible yet");
    assert_eq!(hidden.code(), Code::NotFound);

    let third = working_days_past(deadline, 10);
    let report = h.sweep_at(third).await;
    assert_eq!((report.items_examined, report.escalations), (1, 1), "{report:?}");
    assert_eq!(h.case(&case.id).await.escalation_level, pb::EscalationLevel::DisciplineInspection as i32);
    let seen = h.client.get_case(h.as_(&inspector(), get(&case.id))).await.expect("visible to the commission");
    assert_eq!(seen.into_inner().case.expect("case").id, case.id);

    let report = h.sweep_at(third + Duration::days(90)).await;
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (0, 0, 0), "{report:?}");

    // The record: three warnings and three escalations, newest first.
    let warnings = h.warnings_of(&case.id).await;
    let levels: Vec<i32> = warnings.iter().map(|w| w.level).collect();
    assert_eq!(levels, vec![3, 2, 1]);
    for w in &warnings {
        assert_eq!(w.case_title, case.title);
        assert_eq!(w.lead_unit.as_ref().map(|u| u.id.as_str()), Some("zs-jrb"));
        assert_eq!(instant(w.deadline_time.as_ref()), deadline);
    }
    assert_eq!(instant(warnings[2].raise_time.as_ref()), half);
    let escalations = h.escalations_of(&case.id).await;
    let summary: Vec<(i32, i32, &str, &str)> =
        escalations.iter().map(|e| (e.level, e.reason, e.detail.as_str(), e.actor.as_str())).collect();
    let overdue = pb::EscalationReason::Overdue as i32;
    assert_eq!(
        summary,
        vec![
            (3, overdue, "超期10个工作日未答复", "system"),
            (2, overdue, "超期5个工作日未答复", "system"),
            (1, overdue, "超过办理期限未答复", "system"),
        ]
    );
    assert_eq!(instant(escalations[0].escalate_time.as_ref()), third);

    // History: WARNED ×3 then ESCALATED ×3, in order, by the system, status unchanged.
    let history = h.history(&case.id).await;
    let steps: Vec<(i32, i32, i32)> = history
        .iter()
        .filter(|e| e.action == WARNED || e.action == ESCALATED)
        .map(|e| (e.action, e.warning_level, e.escalation_level))
        .collect();
    assert_eq!(
        steps,
        vec![(WARNED, 1, 0), (WARNED, 2, 0), (WARNED, 3, 0), (ESCALATED, 0, 1), (ESCALATED, 0, 2), (ESCALATED, 0, 3)]
    );
    for e in history.iter().filter(|e| e.action == WARNED || e.action == ESCALATED) {
        assert_eq!(e.actor, "system");
        assert_eq!(e.from_status, pb::CaseStatus::Dispatched as i32);
        assert_eq!(e.to_status, pb::CaseStatus::Dispatched as i32);
    }
    let sequences: Vec<i64> = history.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=history.len() as i64).collect::<Vec<_>>());

    // The events, one per warning and per escalation.
    let raised: Vec<(String, pb::CaseWarningRaised)> =
        outbox_payloads(&h.service, "tingjian.supervision.case_warning_raised").await;
    assert_eq!(raised.iter().map(|(_, p)| p.level).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert!(raised.iter().all(|(subject, p)| {
        *subject == format!("cases/{}", case.id) && p.context.as_ref().is_some_and(|c| c.case_id == case.id)
    }));
    let escalated: Vec<(String, pb::CaseEscalated)> =
        outbox_payloads(&h.service, "tingjian.supervision.case_escalated").await;
    let summary: Vec<(i32, i32, &str, &str)> =
        escalated.iter().map(|(_, p)| (p.level, p.reason, p.detail.as_str(), p.actor.as_str())).collect();
    assert_eq!(
        summary,
        vec![
            (1, overdue, "超过办理期限未答复", "system"),
            (2, overdue, "超期5个工作日未答复", "system"),
            (3, overdue, "超期10个工作日未答复", "system"),
        ]
    );
}
on_both_backends!(warnings_then_the_ladder, super::warnings_then_the_ladder);

/// A sweep that ran late (here: first run two weeks past the deadline, with a custom ladder of 1, 2 and 3
/// working days) raises every missed warning and climbs every missed rung at once, in order.
async fn a_late_sweep_catches_up_in_order(backend: StorageBackend) {
    let settings = ladder(&[
        (EscalationRung::Unit, 1),
        (EscalationRung::SupervisionOffice, 2),
        (EscalationRung::DisciplineInspection, 3),
    ]);
    let Some(mut h) = Harness::start_with(backend, monday_2024_01_15(), settings).await else { return };
    let case = h.dispatch(case_of(pb::CaseSourceKind::Demand, "demand-late-1"), 5).await;
    let deadline = instant(case.deadline_time.as_ref());

    // With the first rung a working day past the deadline, the deadline itself only brings DUE.
    let report = h.sweep_at(deadline).await;
    assert_eq!((report.warnings_raised, report.escalations), (3, 0), "{report:?}");
    let report = h.sweep_at(working_days_past(deadline, 1) - Duration::seconds(1)).await;
    assert_eq!((report.items_examined, report.escalations), (0, 0), "{report:?}");

    let other = h.dispatch(case_of(pb::CaseSourceKind::Demand, "demand-late-2"), 5).await;
    let report = h.sweep_at(instant(other.deadline_time.as_ref()) + Duration::days(14)).await;
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (2, 3, 6), "{report:?}");
    for id in [&case.id, &other.id] {
        let read = h.case(id).await;
        assert_eq!((read.warning_level, read.escalation_level, read.overdue), (3, 3, true));
        let steps: Vec<(i32, i32, i32)> = h
            .history(id)
            .await
            .iter()
            .filter(|e| e.action == WARNED || e.action == ESCALATED)
            .map(|e| (e.action, e.warning_level, e.escalation_level))
            .collect();
        assert_eq!(
            steps,
            vec![
                (WARNED, 1, 0),
                (WARNED, 2, 0),
                (WARNED, 3, 0),
                (ESCALATED, 0, 1),
                (ESCALATED, 0, 2),
                (ESCALATED, 0, 3)
            ]
        );
        let details: Vec<String> = h.escalations_of(id).await.into_iter().map(|e| e.detail).collect();
        assert_eq!(details, vec!["超期3个工作日未答复", "超期2个工作日未答复", "超期1个工作日未答复"]);
    }
    let report = h.sweep().await;
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (0, 0, 0), "{report:?}");
    // The commission now sees both (escalated to it).
    let request = pb::ListEscalationsRequest { level: 3, ..Default::default() };
    assert_eq!(h.escalations(&inspector(), request).await.expect("escalations").len(), 2);
}
on_both_backends!(a_late_sweep_catches_up_in_order, super::a_late_sweep_catches_up_in_order);

/// A case whose reply is recorded is no longer watched: the sweep examines it once (its next check was
/// set before the reply), raises nothing, and leaves it alone afterwards.
async fn a_replied_case_gets_no_warnings(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-replied"), 10).await;
    let open = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-open"), 10).await;
    on_pool!(&h.service.database.db, pool => {
        sqlx::query("UPDATE supervision_case SET status = $2, reply_time = $3, first_reply_time = $3 WHERE id = $1")
            .bind(case.id.as_str())
            .bind(pb::CaseStatus::Replied as i32)
            .bind(china(2024, 1, 16, 10, 0, 0))
            .execute(pool)
            .await
            .map(|_| ())
    })
    .expect("reply recorded");
    let deadline = instant(case.deadline_time.as_ref());
    let report = h.sweep_at(deadline + Duration::days(30)).await;
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (2, 3, 3), "{report:?}");
    assert!(h.warnings_of(&case.id).await.is_empty());
    assert!(h.escalations_of(&case.id).await.is_empty());
    let read = h.case(&case.id).await;
    assert_eq!((read.warning_level, read.escalation_level, read.overdue), (0, 0, false));
    assert_eq!(h.warnings_of(&open.id).await.len(), 3);
    let report = h.sweep_at(deadline + Duration::days(60)).await;
    assert_eq!((report.items_examined, report.warnings_raised), (0, 0), "{report:?}");
}
on_both_backends!(a_replied_case_gets_no_warnings, super::a_replied_case_gets_no_warnings);

/// Of 50 open cases only the 3 whose half-time passed are examined; the sweeps can be chosen by kind.
async fn the_sweep_examines_only_due_cases(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let mut short = Vec::new();
    for i in 0..50 {
        let days = if i % 17 == 0 { 2 } else { 30 };
        let case = h.dispatch(case_of(pb::CaseSourceKind::Demand, &format!("demand-{i:03}")), days).await;
        if days == 2 {
            short.push(case);
        }
    }
    assert_eq!(short.len(), 3);
    let deadline = instant(short[0].deadline_time.as_ref());
    h.clock.set(at(monday_2024_01_15(), deadline, 3, 5));
    let request = pb::RunSweepRequest { kinds: vec![pb::SweepKind::Deadlines as i32] };
    let report =
        h.client.run_sweep(h.as_(&staff(), request)).await.expect("sweep").into_inner().report.expect("report");
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (3, 3, 0), "{report:?}");
    assert!(report.duration.is_some());
    let request = pb::ListWarningsRequest { level: pb::WarningLevel::Half as i32, ..Default::default() };
    let mut warned: Vec<String> =
        h.warnings(&staff(), request).await.expect("warnings").into_iter().map(|w| w.case_id).collect();
    let mut expected: Vec<String> = short.iter().map(|c| c.id.clone()).collect();
    warned.sort();
    expected.sort();
    assert_eq!(warned, expected);
    // Only the follow-up and rectification sweeps: the deadline work is left for later.
    h.clock.set(deadline);
    let request =
        pb::RunSweepRequest { kinds: vec![pb::SweepKind::FollowUps as i32, pb::SweepKind::Rectifications as i32] };
    let report =
        h.client.run_sweep(h.as_(&supervisor(), request)).await.expect("sweep").into_inner().report.expect("report");
    assert_eq!(report.warnings_raised, 0, "{report:?}");
    let report = h.sweep().await;
    assert_eq!((report.items_examined, report.warnings_raised, report.escalations), (3, 6, 3), "{report:?}");
}
on_both_backends!(the_sweep_examines_only_due_cases, super::the_sweep_examines_only_due_cases);

/// RunSweep: staff, supervisors and system administrators only; kinds checked.
async fn run_sweep_roles_and_inputs(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let admin = Identity::new("admin-qian", "zs-xxzx", &[Role::SystemAdmin]);
    let report = h.client.run_sweep(h.as_(&admin, pb::RunSweepRequest::default())).await.expect("admin sweeps");
    assert_eq!(report.into_inner().report.expect("report").items_examined, 0);
    for who in [jrb_officer(), inspector(), Identity::new("leader-zhou", "zs-swb", &[Role::Leader])] {
        let denied = h.client.run_sweep(h.as_(&who, pb::RunSweepRequest::default())).await.expect_err("denied");
        assert_eq!(denied.code(), Code::PermissionDenied, "{who:?}");
    }
    let bad = pb::RunSweepRequest { kinds: vec![pb::SweepKind::Deadlines as i32, 9] };
    let status = h.client.run_sweep(h.as_(&staff(), bad)).await.expect_err("bad kind");
    assert_field_violation(&status, "kinds[1]");
    let unspecified = pb::RunSweepRequest { kinds: vec![0] };
    let status = h.client.run_sweep(h.as_(&staff(), unspecified)).await.expect_err("unspecified kind");
    assert_field_violation(&status, "kinds[0]");
}
on_both_backends!(run_sweep_roles_and_inputs, super::run_sweep_roles_and_inputs);

/// ListWarnings and ListEscalations: filters, newest first, pages, row scope, bad inputs.
async fn listing_warnings_and_escalations(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let first = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-list-1"), 10).await;
    let mut other = case_of(pb::CaseSourceKind::Suggestion, "suggestion-list-2");
    other.lead_unit = Some(super::fixtures::jtj());
    other.co_units = vec![];
    let second = h.dispatch(other, 20).await;
    let deadline = instant(first.deadline_time.as_ref());
    h.sweep_at(deadline).await;

    let all = h.warnings(&supervisor(), pb::ListWarningsRequest::default()).await.expect("warnings");
    assert_eq!(all.len(), 4, "3 of the first case, HALF of the second");
    let times: Vec<DateTime<Utc>> = all.iter().map(|w| instant(w.raise_time.as_ref())).collect();
    assert!(times.windows(2).all(|p| p[0] >= p[1]), "newest first");

    // Pages of one, the same four in the same order.
    let mut token = String::new();
    let mut paged = Vec::new();
    loop {
        let request = pb::ListWarningsRequest { page_size: 1, page_token: token.clone(), ..Default::default() };
        let response = h.client.list_warnings(h.as_(&staff(), request)).await.expect("page").into_inner();
        assert!(response.warnings.len() <= 1);
        paged.extend(response.warnings);
        if response.next_page_token.is_empty() {
            break;
        }
        token = response.next_page_token;
    }
    assert_eq!(
        paged.iter().map(|w| w.id.clone()).collect::<Vec<_>>(),
        all.iter().map(|w| w.id.clone()).collect::<Vec<_>>()
    );
    // A token of another filter is refused.
    let request = pb::ListWarningsRequest { page_size: 1, ..Default::default() };
    let token = h.client.list_warnings(h.as_(&staff(), request)).await.expect("page").into_inner().next_page_token;
    let request = pb::ListWarningsRequest { page_size: 1, page_token: token, level: 1, ..Default::default() };
    let status = h.client.list_warnings(h.as_(&staff(), request)).await.expect_err("token of another filter");
    assert_field_violation(&status, "page_token");

    let by_unit = pb::ListWarningsRequest { unit_id: "zs-jtj".into(), ..Default::default() };
    let found = h.warnings(&staff(), by_unit).await.expect("warnings");
    assert_eq!(found.iter().map(|w| (w.case_id.as_str(), w.level)).collect::<Vec<_>>(), vec![(second.id.as_str(), 1)]);
    let due = pb::ListWarningsRequest { level: pb::WarningLevel::Due as i32, ..Default::default() };
    assert_eq!(h.warnings(&staff(), due).await.expect("warnings").len(), 1);
    let range = tingjian_proto::common::v1::TimeRange {
        start_time: Some(timestamp(deadline - Duration::seconds(1))),
        end_time: Some(timestamp(deadline + Duration::seconds(1))),
    };
    let in_range = pb::ListWarningsRequest { time_range: Some(range), ..Default::default() };
    assert_eq!(h.warnings(&staff(), in_range).await.expect("warnings").len(), 4, "all raised by the one sweep");
    let before = tingjian_proto::common::v1::TimeRange { start_time: None, end_time: Some(timestamp(deadline)) };
    let none = pb::ListWarningsRequest { time_range: Some(before), ..Default::default() };
    assert!(h.warnings(&staff(), none).await.expect("warnings").is_empty());

    // Row scope: the lead unit sees its own; another unit none; the commission none until escalated to it.
    let own = h.warnings(&jrb_officer(), pb::ListWarningsRequest::default()).await.expect("warnings");
    assert_eq!(own.len(), 3);
    assert!(own.iter().all(|w| w.case_id == first.id));
    let officer = super::fixtures::unit_officer("zs-other");
    assert!(h.warnings(&officer, pb::ListWarningsRequest::default()).await.expect("warnings").is_empty());
    assert!(h.warnings(&inspector(), pb::ListWarningsRequest::default()).await.expect("warnings").is_empty());
    let enterprise = super::fixtures::evaluator();
    let denied = h.warnings(&enterprise, pb::ListWarningsRequest::default()).await.expect_err("enterprise");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let denied = h.escalations(&enterprise, pb::ListEscalationsRequest::default()).await.expect_err("enterprise");
    assert_eq!(denied.code(), Code::PermissionDenied);

    let escalations = h.escalations(&staff(), pb::ListEscalationsRequest::default()).await.expect("escalations");
    assert_eq!(escalations.len(), 1);
    let manual = pb::ListEscalationsRequest { reason: pb::EscalationReason::Manual as i32, ..Default::default() };
    assert!(h.escalations(&staff(), manual).await.expect("escalations").is_empty());
    let jtj = super::fixtures::unit_officer("zs-jtj");
    assert!(h.escalations(&jtj, pb::ListEscalationsRequest::default()).await.expect("escalations").is_empty());
    assert_eq!(
        h.escalations(&jrb_officer(), pb::ListEscalationsRequest::default()).await.expect("escalations").len(),
        1
    );

    // Bad inputs name their fields.
    let bad = pb::ListWarningsRequest { level: 7, ..Default::default() };
    assert_field_violation(&h.warnings(&staff(), bad).await.expect_err("level"), "level");
    let bad = pb::ListWarningsRequest { case_id: "不是编号".into(), ..Default::default() };
    assert_field_violation(&h.warnings(&staff(), bad).await.expect_err("case_id"), "case_id");
    let backwards = tingjian_proto::common::v1::TimeRange {
        start_time: Some(timestamp(deadline)),
        end_time: Some(timestamp(deadline - Duration::days(1))),
    };
    let bad = pb::ListWarningsRequest { time_range: Some(backwards), ..Default::default() };
    assert_field_violation(&h.warnings(&staff(), bad).await.expect_err("range"), "time_range.end_time");
    let bad = pb::ListWarningsRequest { page_size: -1, ..Default::default() };
    assert_field_violation(&h.warnings(&staff(), bad).await.expect_err("page_size"), "page_size");
    let bad = pb::ListEscalationsRequest { level: 4, reason: 9, ..Default::default() };
    let status = h.escalations(&staff(), bad).await.expect_err("level and reason");
    assert_field_violation(&status, "level");
    assert_field_violation(&status, "reason");
    let unknown = pb::ListEscalationsRequest { case_id: tingjian_runtime::wire::new_id(), ..Default::default() };
    assert!(h.escalations(&staff(), unknown).await.expect("escalations").is_empty());
}
on_both_backends!(listing_warnings_and_escalations, super::listing_warnings_and_escalations);

/// Inserts `n` open cases dispatched Monday 2024-01-15 09:00 and due Friday 2024-01-26 23:59:59 (China),
/// led by one of three units, each waiting for its first warning.
async fn insert_cases(db: &Database, n: usize) -> Vec<String> {
    let dispatch = monday_2024_01_15();
    let deadline = china(2024, 1, 26, 23, 59, 59);
    let half = at(dispatch, deadline, 1, 2);
    let units = [
        ("zs-jrb", "舟山市人民政府金融工作办公室"),
        ("zs-jxj", "舟山市经济和信息化局"),
        ("zs-jtj", "舟山市交通运输局"),
    ];
    let ids: Vec<String> = (0..n).map(|_| tingjian_runtime::wire::new_id()).collect();
    let mut tx = db.begin().await.expect("transaction");
    for (i, id) in ids.iter().enumerate() {
        let (unit, name) = units[i % units.len()];
        tingjian_runtime::on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO supervision_case (id, title, status, lead_unit, lead_unit_name, lead_unit_kind, \
                 dispatch_time, deadline_time, dispatched_by, create_time, update_time, source_kind, source_id, \
                 next_due_time) VALUES ($1, $2, 1, $3, $4, 3, $5, $6, 'staff-li', $5, $5, 4, $1, $7)",
            )
            .bind(id.as_str())
            .bind(format!("企业诉求督办事项第{i}号"))
            .bind(unit)
            .bind(name)
            .bind(dispatch)
            .bind(deadline)
            .bind(half)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })
        .expect("case inserted");
    }
    tx.commit().await.expect("commit");
    ids
}

async fn count(db: &Database, sql: &str) -> i64 {
    on_pool!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).expect(sql)
}

/// Three replicas (three stores on pools of their own) sweep the same database at the same time, twice:
/// every case gets exactly one warning per level and one escalation per rung, its history no step twice
/// (and gap-free), and the outbox exactly one event per warning and per escalation.
async fn exactly_once_across_replicas(backend: Backend, cases: usize) {
    let Some(database) = TestDatabase::fresh(backend, &tingjian_supervision::MODULE.migrations).await else { return };
    let ids = insert_cases(&database.db, cases).await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let db = Database::connect(&database.settings(), "supervision").await.expect("a replica's own pool");
        let settings = SupervisionSettings { sweep_interval: std::time::Duration::ZERO, ..Default::default() };
        replicas.push(Store::with(db, Clock::manual(monday_2024_01_15()), settings));
    }
    let n = i64::try_from(cases).expect("count");
    // Round 1: only the HALF warnings are due; round 2, long after the deadline: everything else.
    for (round, as_of, warnings, escalations) in
        [(1, china(2024, 1, 22, 12, 0, 0), n, 0), (2, china(2024, 3, 1, 9, 0, 0), 2 * n, 3 * n)]
    {
        let sweeps = replicas.iter().map(|store| {
            let store = store.clone();
            tokio::spawn(async move { store.run_sweeps(&[SweepKind::Deadlines], as_of).await })
        });
        let mut examined = Vec::new();
        let (mut raised, mut escalated) = (0_i64, 0_i64);
        for sweep in sweeps.collect::<Vec<_>>() {
            let report = sweep.await.expect("sweep task").expect("sweep");
            examined.push(report.items_examined);
            raised += i64::from(report.warnings_raised);
            escalated += i64::from(report.escalations);
        }
        eprintln!("{backend} round {round}: cases examined per replica {examined:?}");
        assert_eq!(examined.iter().map(|e| i64::from(*e)).sum::<i64>(), n, "each due case examined once");
        assert_eq!((raised, escalated), (warnings, escalations), "round {round}");
    }
    let db = &database.db;
    assert_eq!(count(db, "SELECT COUNT(*) FROM supervision_warning").await, 3 * n);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM (SELECT DISTINCT case_id, level FROM supervision_warning) d").await,
        3 * n
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM supervision_escalation").await, 3 * n);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM (SELECT DISTINCT case_id, level FROM supervision_escalation) d").await,
        3 * n
    );
    let steps = format!("SELECT COUNT(*) FROM supervision_case_history WHERE action IN ({WARNED}, {ESCALATED})");
    assert_eq!(count(db, &steps).await, 6 * n);
    let distinct = format!(
        "SELECT COUNT(*) FROM (SELECT DISTINCT case_id, action, warning_level, escalation_level \
         FROM supervision_case_history WHERE action IN ({WARNED}, {ESCALATED})) d"
    );
    assert_eq!(count(db, &distinct).await, 6 * n, "no step twice in a history");
    let gaps = "SELECT COUNT(*) FROM (SELECT case_id FROM supervision_case_history GROUP BY case_id \
                HAVING MAX(sequence) <> COUNT(*) OR MIN(sequence) <> 1) g";
    assert_eq!(count(db, gaps).await, 0, "histories gap-free");
    let events =
        |kind: &str| format!("SELECT COUNT(*) FROM event_outbox WHERE event_type = 'tingjian.supervision.{kind}'");
    assert_eq!(count(db, &events("case_warning_raised")).await, 3 * n);
    assert_eq!(count(db, &events("case_escalated")).await, 3 * n);
    let finished = "SELECT COUNT(*) FROM supervision_case WHERE warning_level = 3 AND escalation_level = 3 \
                    AND overdue AND next_due_time IS NULL";
    assert_eq!(count(db, finished).await, n);
    // Every case became visible to the commission once: one ADDED item change each.
    assert_eq!(count(db, "SELECT COUNT(*) FROM supervision_item_change").await, n);
    assert_eq!(ids.len(), cases);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_once_across_three_replicas_on_postgres() {
    exactly_once_across_replicas(Backend::Postgres, 3_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_once_across_three_replicas_on_sqlite() {
    exactly_once_across_replicas(Backend::Sqlite, 300).await;
}

/// Inserts `n` accepted cases dispatched Monday 2024-01-15 09:00, due far later (no deadline work), whose
/// follow-up sweep first looks at them when they become long-running on 2024-07-15 09:00.
async fn insert_long_running_cases(db: &Database, n: usize) {
    let dispatch = monday_2024_01_15();
    let deadline = china(2026, 12, 31, 23, 59, 59);
    let since = tingjian_supervision::domain::six_months_after(dispatch);
    let mut tx = db.begin().await.expect("transaction");
    for i in 0..n {
        let id = tingjian_runtime::wire::new_id();
        tingjian_runtime::on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO supervision_case (id, title, status, lead_unit, lead_unit_name, lead_unit_kind, \
                 dispatch_time, deadline_time, dispatched_by, create_time, update_time, source_kind, source_id, \
                 follow_up_due_time) VALUES ($1, $2, 2, 'zs-jxj', '舟山市经济和信息化局', 3, $3, $4, 'staff-li', \
                 $3, $3, 3, $1, $5)",
            )
            .bind(id.as_str())
            .bind(format!("长期督办事项第{i}号"))
            .bind(dispatch)
            .bind(deadline)
            .bind(since)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })
        .expect("case inserted");
    }
    tx.commit().await.expect("commit");
}

/// Three replicas run every sweep at once over thousands of long-running cases through a quarter: each
/// case becomes long-running once, gets its Q3 2024 task once, is reminded once before the quarter ends,
/// and when Q3 ends without a follow-up, records the missed quarter once and is escalated once — in the
/// tables, the histories and the outbox alike.
async fn follow_ups_exactly_once_across_replicas(backend: Backend, cases: usize) {
    let Some(database) = TestDatabase::fresh(backend, &tingjian_supervision::MODULE.migrations).await else { return };
    insert_long_running_cases(&database.db, cases).await;
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let db = Database::connect(&database.settings(), "supervision").await.expect("a replica's own pool");
        let settings = SupervisionSettings { sweep_interval: std::time::Duration::ZERO, ..Default::default() };
        replicas.push(Store::with(db, Clock::manual(monday_2024_01_15()), settings));
    }
    let n = i64::try_from(cases).expect("count");
    // (as of, long-running marked, tasks created, reminders, missed quarters, escalations)
    let rounds = [
        (china(2024, 7, 20, 12, 0, 0), n, n, 0, 0, 0),
        (china(2024, 9, 20, 12, 0, 0), 0, 0, n, 0, 0),
        (china(2024, 10, 2, 9, 0, 0), 0, n, 0, n, n),
    ];
    for (as_of, marked, created, reminded, missed, escalated) in rounds {
        let sweeps: Vec<_> = replicas
            .iter()
            .map(|store| {
                let store = store.clone();
                tokio::spawn(async move { store.run_sweeps(&[], as_of).await })
            })
            .collect();
        let mut totals = [0_i64; 5];
        for sweep in sweeps {
            let r = sweep.await.expect("sweep task").expect("sweep");
            for (total, value) in totals.iter_mut().zip([
                r.long_running_marked,
                r.tasks_created,
                r.reminders_sent,
                r.quarters_missed,
                r.escalations,
            ]) {
                *total += i64::from(value);
            }
        }
        assert_eq!(totals, [marked, created, reminded, missed, escalated], "as of {as_of}");
    }
    let db = &database.db;
    assert_eq!(count(db, "SELECT COUNT(*) FROM supervision_case WHERE long_running").await, n);
    assert_eq!(count(db, "SELECT COUNT(*) FROM supervision_follow_up_task").await, 2 * n);
    let per_quarter = "SELECT COUNT(*) FROM (SELECT DISTINCT case_id, quarter_year, quarter_number \
                       FROM supervision_follow_up_task) d";
    assert_eq!(count(db, per_quarter).await, 2 * n);
    let status = |s: pb::FollowUpTaskStatus| {
        format!("SELECT COUNT(*) FROM supervision_follow_up_task WHERE status = {}", s as i32)
    };
    assert_eq!(count(db, &status(pb::FollowUpTaskStatus::Missed)).await, n);
    assert_eq!(count(db, &status(pb::FollowUpTaskStatus::Open)).await, n);
    assert_eq!(count(db, "SELECT COUNT(*) FROM supervision_follow_up_task WHERE remind_time IS NOT NULL").await, n);
    assert_eq!(count(db, "SELECT COUNT(*) FROM supervision_escalation").await, n);
    assert_eq!(count(db, "SELECT COUNT(*) FROM (SELECT DISTINCT case_id FROM supervision_escalation) d").await, n);
    for action in [
        pb::CaseAction::BecameLongRunning,
        pb::CaseAction::FollowUpReminded,
        pb::CaseAction::QuarterMissed,
        pb::CaseAction::Escalated,
    ] {
        let sql = format!("SELECT COUNT(*) FROM supervision_case_history WHERE action = {}", action as i32);
        assert_eq!(count(db, &sql).await, n, "{action:?} once per case");
    }
    let gaps = "SELECT COUNT(*) FROM (SELECT case_id FROM supervision_case_history GROUP BY case_id \
                HAVING MAX(sequence) <> COUNT(*) OR MIN(sequence) <> 1) g";
    assert_eq!(count(db, gaps).await, 0, "histories gap-free");
    for kind in ["case_became_long_running", "follow_up_reminder_sent", "quarter_missed", "case_escalated"] {
        let sql = format!("SELECT COUNT(*) FROM event_outbox WHERE event_type = 'tingjian.supervision.{kind}'");
        assert_eq!(count(db, &sql).await, n, "{kind} once per case");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follow_ups_exactly_once_across_three_replicas_on_postgres() {
    follow_ups_exactly_once_across_replicas(Backend::Postgres, 2_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn follow_ups_exactly_once_across_three_replicas_on_sqlite() {
    follow_ups_exactly_once_across_replicas(Backend::Sqlite, 200).await;
}
