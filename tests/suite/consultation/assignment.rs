//! Consultation: assignment to supervision (交办) — a submitted suggestion or a sent special report
//! becomes one case in supervision (checked there with ListCases by source), linked both ways; drafts
//! and compiled reports are refused; bad inputs are named; assigning the same source again, or many
//! times at once, returns the one assignment and never makes a second case; AssignedToSupervision is
//! written to the outbox once.

use prost::Message as _;
use prost_types::Timestamp;
use tingjian_proto::common::v1::{Date, OrganisationKind, OrganisationRef, PersonRef};
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::supervision::v1 as sv;
use tingjian_tests::suite::{member, staff};
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends};
use tonic::Code;

use crate::suggestions::{Setup, outbox, setup};

/// 舟山市地方金融监督管理局, the lead unit of the financing cases.
fn finance_bureau() -> OrganisationRef {
    OrganisationRef {
        id: "zs-jrb".into(),
        name: "舟山市地方金融监督管理局".into(),
        kind: OrganisationKind::HandlingUnit as i32,
    }
}

/// 舟山市海洋与渔业局, a co-unit.
fn fishery_bureau() -> OrganisationRef {
    OrganisationRef {
        id: "zs-hyj".into(),
        name: "舟山市海洋与渔业局".into(),
        kind: OrganisationKind::HandlingUnit as i32,
    }
}

/// The bureau's director, who answers for the case.
fn director() -> PersonRef {
    PersonRef {
        id: "zs-jrb-director".into(),
        display_name: "陈志明".into(),
        title: "局长".into(),
        organisation_id: "zs-jrb".into(),
    }
}

/// An assignment of `source_id` to the finance bureau, 15 working days.
fn assign_request(kind: pb::AssignmentSourceKind, source_id: &str) -> pb::AssignToSupervisionRequest {
    pb::AssignToSupervisionRequest {
        source_kind: kind as i32,
        source_id: source_id.into(),
        lead_unit: Some(finance_bureau()),
        co_units: vec![fishery_bureau()],
        responsible_head: Some(director()),
        deadline_working_days: 15,
        joint_supervision: true,
        requirements: "请于15个工作日内提出降低融资成本的具体措施并书面答复。".into(),
        ..Default::default()
    }
}

impl Setup {
    /// Assigns as staff.
    async fn assign(
        &mut self,
        request: pb::AssignToSupervisionRequest,
    ) -> Result<pb::AssignToSupervisionResponse, tonic::Status> {
        let request = self.suite.as_(&staff(), request);
        self.client.assign_to_supervision(request).await.map(tonic::Response::into_inner)
    }

    /// Supervision's cases of a source.
    async fn cases_of(&self, kind: sv::CaseSourceKind, source_id: &str) -> Vec<sv::Case> {
        let request =
            sv::ListCasesRequest { source_kind: kind as i32, source_id: source_id.into(), ..Default::default() };
        let mut client = self.suite.supervision_client();
        client.list_cases(self.suite.as_(&staff(), request)).await.expect("cases listed").into_inner().cases
    }
}

/// A submitted suggestion becomes one case with the suggestion's title, text and category, the lead
/// unit, co-unit, head, deadline and flags asked for; the suggestion carries the case id; assigning it
/// again returns the same assignment (newly_created = false) and supervision still has one case.
async fn assign_a_suggestion(backend: StorageBackend) {
    let Some(mut s) = setup(backend).await else { return };
    let draft = s.draft("争取金融机构降低符合条件的远洋渔业相关企业综合融资成本").await;
    let kind = pb::AssignmentSourceKind::Suggestion;

    let status = s.assign(assign_request(kind, &draft.id)).await.expect_err("a draft");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("DRAFT"), "{status:?}");
    let submitted = s.submit(&draft.id).await;

    let mut bad = assign_request(kind, &draft.id);
    bad.lead_unit = None;
    bad.responsible_head = None;
    bad.deadline_working_days = 0;
    let status = s.assign(bad).await.expect_err("incomplete");
    assert_field_violation(&status, "lead_unit");
    assert_field_violation(&status, "responsible_head");
    assert_field_violation(&status, "deadline_time");
    let mut bad = assign_request(pb::AssignmentSourceKind::Unspecified, "交办");
    bad.lead_unit = Some(OrganisationRef { id: String::new(), ..finance_bureau() });
    bad.responsible_head = Some(PersonRef { display_name: String::new(), ..director() });
    bad.deadline_time = Some(Timestamp { seconds: chrono::Utc::now().timestamp() + 86_400 * 30, nanos: 0 });
    let status = s.assign(bad).await.expect_err("bad fields");
    assert_field_violation(&status, "source_kind");
    assert_field_violation(&status, "source_id");
    assert_field_violation(&status, "lead_unit.id");
    assert_field_violation(&status, "responsible_head.display_name");
    assert_field_violation(&status, "deadline_working_days");
    let mut past = assign_request(kind, &draft.id);
    past.deadline_working_days = 0;
    past.deadline_time = Some(Timestamp { seconds: chrono::Utc::now().timestamp() - 60, nanos: 0 });
    let status = s.assign(past).await.expect_err("deadline in the past");
    assert_field_violation(&status, "deadline_time");
    let mut own = assign_request(kind, &draft.id);
    own.co_units = vec![finance_bureau()];
    let status = s.assign(own).await.expect_err("the lead unit as its own co-unit");
    assert_field_violation(&status, "co_units[0].id");
    let mut planned = assign_request(kind, &draft.id);
    planned.planned_completion_date = Some(Date { year: 2025, month: 13, day: 1 });
    let status = s.assign(planned).await.expect_err("bad date");
    assert_field_violation(&status, "planned_completion_date");
    let unknown = tingjian_runtime::wire::new_id();
    let status = s.assign(assign_request(kind, &unknown)).await.expect_err("unknown suggestion");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = s
        .client
        .assign_to_supervision(s.suite.as_(&member("member-li"), assign_request(kind, &draft.id)))
        .await
        .expect_err("members do not assign");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(s.cases_of(sv::CaseSourceKind::Suggestion, &draft.id).await.is_empty(), "nothing reached supervision");

    let first = s.assign(assign_request(kind, &draft.id)).await.expect("assigned");
    assert!(first.newly_created);
    let assignment = first.assignment.expect("assignment");
    assert_eq!(assignment.source_kind, kind as i32);
    assert_eq!(assignment.source_id, draft.id);
    assert!(!assignment.case_id.is_empty());
    assert_eq!(assignment.lead_unit, Some(finance_bureau()));
    assert_eq!(assignment.assigned_by, "staff-wang");
    assert!(assignment.assign_time.is_some());

    let linked = s.get(&draft.id).await;
    assert_eq!(linked.case_id, assignment.case_id, "the suggestion records its case");
    assert_eq!(linked.status, pb::SuggestionStatus::Submitted as i32);
    assert_ne!(linked.etag, submitted.etag);

    let again = s.assign(assign_request(kind, &draft.id)).await.expect("assigned again");
    assert!(!again.newly_created);
    assert_eq!(again.assignment, Some(assignment.clone()), "the existing assignment");

    let cases = s.cases_of(sv::CaseSourceKind::Suggestion, &draft.id).await;
    assert_eq!(cases.len(), 1, "one case per source");
    let case = &cases[0];
    assert_eq!(case.id, assignment.case_id);
    assert_eq!(case.title, draft.title);
    assert_eq!(case.description, draft.text);
    assert_eq!(case.category, "finance_credit");
    let source = case.source.clone().expect("source");
    assert_eq!(source.kind, sv::CaseSourceKind::Suggestion as i32);
    assert_eq!(source.source_id, draft.id);
    assert_eq!(source.source_title, draft.title);
    assert_eq!(case.lead_unit.as_ref().map(|u| u.id.as_str()), Some("zs-jrb"));
    assert_eq!(case.co_units.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), ["zs-hyj"]);
    assert_eq!(case.responsible_head.as_ref().map(|p| p.display_name.as_str()), Some("陈志明"));
    assert!(case.joint_supervision);
    assert!(!case.discipline_inspection);
    assert!(case.deadline_time.is_some(), "15 working days from dispatch");
    assert_eq!(case.status, sv::CaseStatus::Dispatched as i32);

    let events = outbox(&s.suite.consultation, "tingjian.consultation.assigned_to_supervision").await;
    assert_eq!(events.len(), 1, "one event for the one assignment");
    assert_eq!(events[0].0, format!("suggestions/{}", draft.id));
    let payload = pb::AssignedToSupervision::decode(events[0].1.data.as_slice()).expect("payload");
    assert_eq!(payload.source_kind, kind as i32);
    assert_eq!(payload.source_id, draft.id);
    assert_eq!(payload.case_id, assignment.case_id);
    assert_eq!(payload.lead_unit, Some(finance_bureau()));
    assert_eq!(payload.actor, "staff-wang");
}

on_both_backends!(a_suggestion_becomes_one_case, super::assign_a_suggestion);

/// A special report is assigned once sent (a compiled one is refused), with a deadline instant and a
/// planned completion date; the report carries the case id.
async fn assign_a_report(backend: StorageBackend) {
    let Some(mut s) = setup(backend).await else { return };
    let suggestion = s.submitted("降低渔船抵押贷款利率").await;
    let report = s.compile("金融信贷需求弱化，我市实体经济高质量发展面临困境亟须引起重视", &[suggestion.id]).await;
    let kind = pb::AssignmentSourceKind::SpecialReport;

    let status = s.assign(assign_request(kind, &report.id)).await.expect_err("a compiled report");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("COMPILED"), "{status:?}");
    s.send(&report.id).await;

    let deadline = chrono::Utc::now() + chrono::Duration::days(30);
    let planned = (chrono::Utc::now() + chrono::Duration::days(90)).with_timezone(&tingjian_runtime::time::china());
    let planned = Date {
        year: chrono::Datelike::year(&planned),
        month: i32::try_from(chrono::Datelike::month(&planned)).expect("month"),
        day: i32::try_from(chrono::Datelike::day(&planned)).expect("day"),
    };
    let mut request = assign_request(kind, &report.id);
    request.deadline_working_days = 0;
    request.deadline_time = Some(Timestamp { seconds: deadline.timestamp(), nanos: 0 });
    request.planned_completion_date = Some(planned);
    request.discipline_inspection = true;
    request.co_units.clear();
    let response = s.assign(request).await.expect("assigned");
    assert!(response.newly_created);
    let assignment = response.assignment.expect("assignment");
    assert_eq!(assignment.source_kind, kind as i32);

    let read = s
        .client
        .get_special_report(s.suite.as_(&staff(), pb::GetSpecialReportRequest { id: report.id.clone() }))
        .await
        .expect("read")
        .into_inner()
        .special_report
        .expect("report");
    assert_eq!(read.case_id, assignment.case_id);
    assert_eq!(read.status, pb::SpecialReportStatus::Sent as i32);

    let cases = s.cases_of(sv::CaseSourceKind::SpecialReport, &report.id).await;
    assert_eq!(cases.len(), 1);
    let case = &cases[0];
    assert_eq!(case.id, assignment.case_id);
    assert_eq!(case.title, report.title);
    assert_eq!(case.deadline_time.as_ref().map(|t| t.seconds), Some(deadline.timestamp()));
    assert_eq!(case.planned_completion_date, Some(planned));
    assert!(case.discipline_inspection);
    assert!(case.co_units.is_empty());
    let events = outbox(&s.suite.consultation, "tingjian.consultation.assigned_to_supervision").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, format!("special_reports/{}", report.id));
}

on_both_backends!(a_sent_report_becomes_one_case, super::assign_a_report);

/// Several assignments of one source at once: every call answers with the same case, exactly one says
/// it created it, supervision has one case and the outbox one event.
async fn concurrent_assignment(backend: StorageBackend) {
    let Some(mut s) = setup(backend).await else { return };
    let suggestion = s.submitted("设立远洋渔业企业应急转贷资金池").await;
    let kind = pb::AssignmentSourceKind::Suggestion;
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let mut client = s.client.clone();
            let request = s.suite.as_(&staff(), assign_request(kind, &suggestion.id));
            tokio::spawn(async move { client.assign_to_supervision(request).await })
        })
        .collect();
    let mut responses = Vec::new();
    for call in calls {
        responses.push(call.await.expect("the call completes").expect("assigned").into_inner());
    }
    let case_ids: Vec<_> = responses.iter().map(|r| r.assignment.clone().expect("assignment").case_id).collect();
    assert!(case_ids.iter().all(|id| *id == case_ids[0] && !id.is_empty()), "{case_ids:?}");
    assert_eq!(responses.iter().filter(|r| r.newly_created).count(), 1, "exactly one call created it");
    let cases = s.cases_of(sv::CaseSourceKind::Suggestion, &suggestion.id).await;
    assert_eq!(cases.len(), 1, "one case however many calls race");
    assert_eq!(cases[0].id, case_ids[0]);
    let events = outbox(&s.suite.consultation, "tingjian.consultation.assigned_to_supervision").await;
    assert_eq!(events.len(), 1);
    assert_eq!(s.get(&suggestion.id).await.case_id, case_ids[0]);
}

on_both_backends!(concurrent_assignments_make_one_case, super::concurrent_assignment);
