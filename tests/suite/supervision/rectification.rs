//! Rectification orders (整改) through both APIs, on SQLite and on PostgreSQL: the full cycle ISSUED →
//! REPORTED → ISSUED (failed verification) → REPORTED → VERIFIED for supervisors and for the
//! discipline-inspection commission, with their events and the item-list changes of the case they arise
//! from; who may do what; revoking; updates with etags; bad inputs named by field; idempotency on the
//! request id; list filters and pages; and the overdue sweep marking each order once.

use chrono::Duration;
use prost_types::FieldMask;
use tingjian_proto::common::v1::{OrganisationKind, Period, PeriodKind};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::on_pool;
use tingjian_runtime::wire::timestamp;
use tingjian_supervision::store::Store;
use tingjian_tests::{Identity, StorageBackend, assert_field_violation, on_both_backends, outbox_payloads};
use tonic::Code;

use super::fixtures::{
    Harness, case_of, inspector, instant, jrb, jtj, jxj, monday_2024_01_15, staff, supervisor, unit_officer,
};

const ISSUED: i32 = pb::RectificationStatus::Issued as i32;
const REPORTED: i32 = pb::RectificationStatus::Reported as i32;
const VERIFIED: i32 = pb::RectificationStatus::Verified as i32;
const REVOKED: i32 = pb::RectificationStatus::Revoked as i32;

/// The economy bureau's officer (the department of [`order`]).
fn jxj_officer() -> Identity {
    unit_officer("zs-jxj")
}

/// An order to the economy bureau due 30 days after the harness starts, arising from `case_id` (may be
/// empty).
fn order(case_id: &str) -> pb::RectificationOrder {
    pb::RectificationOrder {
        department: Some(jxj()),
        case_id: case_id.into(),
        title: "复工复产审批流程不畅问题整改".into(),
        problem: "企业反映复工复产审批环节多、材料重复提交，平均办理时限超过10个工作日。".into(),
        requirements: "精简审批材料，实行一窗受理，审批时限压缩至3个工作日以内，并书面报告整改情况。".into(),
        deadline_time: Some(timestamp(monday_2024_01_15() + Duration::days(30))),
        ..Default::default()
    }
}

async fn issue(
    h: &mut Harness,
    who: &Identity,
    order: pb::RectificationOrder,
    request_id: &str,
) -> pb::RectificationOrder {
    let request = pb::IssueRectificationOrderRequest { order: Some(order), request_id: request_id.into() };
    h.client.issue_rectification_order(h.as_(who, request)).await.expect("issued").into_inner().order.expect("order")
}

async fn issue_as_commission(h: &mut Harness, order: pb::RectificationOrder) -> pb::RectificationOrder {
    let request = pb::IssueDisciplineRectificationOrderRequest { order: Some(order), request_id: String::new() };
    let request = h.as_(&inspector(), request);
    h.inspection.issue_discipline_rectification_order(request).await.expect("issued").into_inner().order.expect("order")
}

async fn get(h: &mut Harness, who: &Identity, id: &str) -> Result<pb::RectificationOrder, tonic::Status> {
    let request = h.as_(who, pb::GetRectificationOrderRequest { id: id.into() });
    h.client.get_rectification_order(request).await.map(|r| r.into_inner().order.expect("order"))
}

async fn report(
    h: &mut Harness,
    who: &Identity,
    id: &str,
    text: &str,
    etag: &str,
) -> Result<pb::RectificationOrder, tonic::Status> {
    let request = pb::ReportRectificationRequest {
        id: id.into(),
        report: Some(pb::RectificationReport { text: text.into(), ..Default::default() }),
        etag: etag.into(),
    };
    let request = h.as_(who, request);
    h.client.report_rectification(request).await.map(|r| r.into_inner().order.expect("order"))
}

fn verification(passed: bool, comment: &str) -> Option<pb::RectificationVerification> {
    Some(pb::RectificationVerification { passed, comment: comment.into(), ..Default::default() })
}

async fn verify(
    h: &mut Harness,
    who: &Identity,
    id: &str,
    passed: bool,
    comment: &str,
) -> Result<pb::RectificationOrder, tonic::Status> {
    let request = pb::VerifyRectificationRequest {
        id: id.into(),
        verification: verification(passed, comment),
        etag: String::new(),
    };
    let request = h.as_(who, request);
    h.client.verify_rectification(request).await.map(|r| r.into_inner().order.expect("order"))
}

async fn verify_as_commission(
    h: &mut Harness,
    id: &str,
    passed: bool,
    comment: &str,
) -> Result<pb::RectificationOrder, tonic::Status> {
    let request = pb::VerifyDisciplineRectificationOrderRequest {
        id: id.into(),
        verification: verification(passed, comment),
        etag: String::new(),
    };
    let request = h.as_(&inspector(), request);
    h.inspection.verify_discipline_rectification_order(request).await.map(|r| r.into_inner().order.expect("order"))
}

async fn revoke(h: &mut Harness, id: &str, reason: &str, etag: &str) -> Result<pb::RectificationOrder, tonic::Status> {
    let request = pb::RevokeRectificationOrderRequest { id: id.into(), reason: reason.into(), etag: etag.into() };
    let request = h.as_(&supervisor(), request);
    h.client.revoke_rectification_order(request).await.map(|r| r.into_inner().order.expect("order"))
}

async fn update(
    h: &mut Harness,
    who: &Identity,
    order: pb::RectificationOrder,
    paths: &[&str],
) -> Result<pb::RectificationOrder, tonic::Status> {
    let request = pb::UpdateRectificationOrderRequest {
        order: Some(order),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let request = h.as_(who, request);
    h.client.update_rectification_order(request).await.map(|r| r.into_inner().order.expect("order"))
}

async fn list(
    h: &mut Harness,
    who: &Identity,
    request: pb::ListRectificationOrdersRequest,
) -> Vec<pb::RectificationOrder> {
    let request = h.as_(who, request);
    h.client.list_rectification_orders(request).await.expect("listed").into_inner().orders
}

/// The item-list changes recorded for case `id`.
async fn item_changes(h: &Harness, id: &str) -> i64 {
    on_pool!(&h.service.database.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM supervision_item_change WHERE case_id = $1")
            .bind(id)
            .fetch_one(pool)
            .await
    })
    .expect("item changes")
}

/// A case flagged for discipline inspection (visible to the commission).
async fn flagged_case(h: &mut Harness, source_id: &str) -> pb::Case {
    let mut case = case_of(pb::CaseSourceKind::Suggestion, source_id);
    case.discipline_inspection = true;
    h.dispatch(case, 15).await
}

/// A supervisor's order arising from a flagged case, through every step, with its events and the case's
/// item-list changes.
async fn supervisor_cycle(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = flagged_case(&mut h, "suggestion-r-0001").await;
    let changes = item_changes(&h, &case.id).await;

    let issued = issue(&mut h, &supervisor(), order(&case.id), "").await;
    assert_eq!(issued.status, ISSUED);
    assert_eq!(issued.issuer_kind, pb::RectificationIssuerKind::Supervisor as i32);
    assert_eq!(issued.issuer.as_ref().map(|o| o.id.as_str()), Some("zs-dcs"));
    assert_eq!(issued.department, Some(jxj()));
    assert_eq!(issued.case_id, case.id);
    assert_eq!(issued.created_by, "supervisor-zhao");
    assert_eq!(instant(issued.create_time.as_ref()), monday_2024_01_15());
    assert!(!issued.overdue && issued.reports.is_empty() && issued.verifications.is_empty());
    assert_eq!(item_changes(&h, &case.id).await, changes + 1, "the issue is a change of the case's item");
    assert_ne!(h.case(&case.id).await.etag, case.etag);

    h.clock.advance(Duration::days(3));
    let reported = report(&mut h, &jxj_officer(), &issued.id, "已精简审批材料，实行一窗受理。", &issued.etag)
        .await
        .expect("reported");
    assert_eq!(reported.status, REPORTED);
    assert_eq!(reported.reports.len(), 1);
    assert_eq!(reported.reports[0].reported_by, "officer-zs-jxj");
    assert_ne!(reported.etag, issued.etag);

    h.clock.advance(Duration::days(2));
    let failed = verify(&mut h, &supervisor(), &issued.id, false, "审批时限仍为5个工作日，未达到要求。")
        .await
        .expect("verified");
    assert_eq!(failed.status, ISSUED);
    let v = &failed.verifications[0];
    assert!(!v.passed);
    assert_eq!(v.verifier, "supervisor-zhao");
    assert_eq!(v.verifying_organisation.as_ref().map(|o| o.id.as_str()), Some("zs-dcs"));

    report(&mut h, &jxj_officer(), &issued.id, "审批时限已压缩至3个工作日。", "").await.expect("reported again");
    let verified = verify(&mut h, &supervisor(), &issued.id, true, "").await.expect("verified");
    assert_eq!(verified.status, VERIFIED);
    assert_eq!((verified.reports.len(), verified.verifications.len()), (2, 2));
    assert!(!verified.overdue);
    assert_eq!(item_changes(&h, &case.id).await, changes + 5, "issue, two reports, two verifications");

    // Final: nothing more happens to it.
    let status = report(&mut h, &jxj_officer(), &issued.id, "再次报告", "").await.expect_err("verified is final");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("VERIFIED"), "{status:?}");
    let status = revoke(&mut h, &issued.id, "不再需要", "").await.expect_err("verified is final");
    assert_eq!(status.code(), Code::FailedPrecondition);

    let events: Vec<(String, pb::RectificationOrderIssued)> =
        outbox_payloads(&h.service, "tingjian.supervision.rectification_order_issued").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, format!("rectification_orders/{}", issued.id));
    assert_eq!(events[0].1.case_id, case.id);
    assert_eq!(events[0].1.actor, "supervisor-zhao");
    let reports: Vec<(String, pb::RectificationReported)> =
        outbox_payloads(&h.service, "tingjian.supervision.rectification_reported").await;
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0].1.actor, "officer-zs-jxj");
    let verifications: Vec<(String, pb::RectificationVerified)> =
        outbox_payloads(&h.service, "tingjian.supervision.rectification_verified").await;
    assert_eq!(
        verifications.iter().map(|(_, v)| (v.passed, v.overdue)).collect::<Vec<_>>(),
        [(false, false), (true, false)]
    );

    // The case's record lists it with its whole trail.
    let store = Store::with(h.service.database.db.clone(), h.clock.clone(), Default::default());
    let of_case = store.rectifications_of_case(&case.id).await.expect("orders of the case");
    assert_eq!(of_case.len(), 1);
    assert_eq!(of_case[0].id, issued.id);
    assert_eq!((of_case[0].reports.len(), of_case[0].verifications.len()), (2, 2));
    assert_eq!(of_case[0].reports[1].text, "审批时限已压缩至3个工作日。");

    // Readers: the department and every supervisor see it; the commission sees it through the case.
    assert_eq!(get(&mut h, &jxj_officer(), &issued.id).await.expect("department reads").id, issued.id);
    assert_eq!(get(&mut h, &inspector(), &issued.id).await.expect("commission reads").status, VERIFIED);
}
on_both_backends!(supervisor_cycle, super::supervisor_cycle);

/// The commission's own order through DisciplineInspectionService: issue, update, report, a failed and a
/// passed verification; supervisors cannot verify it.
async fn commission_cycle(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = flagged_case(&mut h, "suggestion-r-0002").await;
    let changes = item_changes(&h, &case.id).await;
    let issued = issue_as_commission(&mut h, order(&case.id)).await;
    assert_eq!(issued.issuer_kind, pb::RectificationIssuerKind::DisciplineInspection as i32);
    let issuer = issued.issuer.clone().expect("issuer");
    assert_eq!((issuer.id.as_str(), issuer.kind), ("zs-jw", OrganisationKind::DisciplineInspection as i32));
    assert_eq!(item_changes(&h, &case.id).await, changes + 1);

    let mut changed = issued.clone();
    changed.title = "复工复产审批流程整改（第二轮）".into();
    let request = pb::UpdateDisciplineRectificationOrderRequest {
        order: Some(changed),
        update_mask: Some(FieldMask { paths: vec!["title".into()] }),
    };
    let updated = h
        .inspection
        .update_discipline_rectification_order(h.as_(&inspector(), request))
        .await
        .expect("updated")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(updated.title, "复工复产审批流程整改（第二轮）");
    assert_eq!(updated.problem, issued.problem);

    // Supervisors may neither update nor verify nor revoke it.
    let status = update(&mut h, &supervisor(), updated.clone(), &["title"]).await.expect_err("not theirs");
    assert_eq!(status.code(), Code::PermissionDenied);
    report(&mut h, &jxj_officer(), &issued.id, "已整改。", &updated.etag).await.expect("reported");
    let status = verify(&mut h, &supervisor(), &issued.id, true, "").await.expect_err("not theirs");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = revoke(&mut h, &issued.id, "撤销", "").await.expect_err("not theirs");
    assert_eq!(status.code(), Code::PermissionDenied);

    let failed = verify_as_commission(&mut h, &issued.id, false, "未提供佐证材料。").await.expect("verified");
    assert_eq!(failed.status, ISSUED);
    assert_eq!(
        failed.verifications[0].verifying_organisation.as_ref().map(|o| o.kind),
        Some(OrganisationKind::DisciplineInspection as i32)
    );
    report(&mut h, &jxj_officer(), &issued.id, "补充提交佐证材料。", "").await.expect("reported again");
    let verified = verify_as_commission(&mut h, &issued.id, true, "").await.expect("verified");
    assert_eq!(verified.status, VERIFIED);
    assert_eq!(item_changes(&h, &case.id).await, changes + 6);

    // Its list: its own orders only.
    issue(&mut h, &supervisor(), order(&case.id), "").await;
    let request = h.as_(&inspector(), pb::ListDisciplineRectificationOrdersRequest::default());
    let own = h.inspection.list_discipline_rectification_orders(request).await.expect("listed").into_inner().orders;
    assert_eq!(own.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), [issued.id.as_str()]);
    let request = pb::ListDisciplineRectificationOrdersRequest { statuses: vec![ISSUED], ..Default::default() };
    let request = h.as_(&inspector(), request);
    assert!(
        h.inspection
            .list_discipline_rectification_orders(request)
            .await
            .expect("listed")
            .into_inner()
            .orders
            .is_empty()
    );

    // A case the commission does not see, or none at all, is NOT_FOUND to it.
    let hidden = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-r-0003"), 15).await;
    for case_id in [hidden.id.clone(), "0190f000-0000-7000-8000-0000000000ff".to_owned()] {
        let request =
            pb::IssueDisciplineRectificationOrderRequest { order: Some(order(&case_id)), request_id: String::new() };
        let status =
            h.inspection.issue_discipline_rectification_order(h.as_(&inspector(), request)).await.expect_err("hidden");
        assert_eq!(status.code(), Code::NotFound, "{status:?}");
    }
}
on_both_backends!(commission_cycle, super::commission_cycle);

/// Who may do what: roles per API, the department only reports, row scope for readers.
async fn permissions(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let plain = h.dispatch(case_of(pb::CaseSourceKind::Suggestion, "suggestion-r-0010"), 15).await;
    let issued = issue(&mut h, &staff(), order(&plain.id), "").await;
    assert_eq!(issued.issuer.as_ref().map(|o| o.kind), Some(OrganisationKind::Cppcc as i32));
    assert_eq!(item_changes(&h, &plain.id).await, 0, "a case the commission does not see has no item");

    // Issuing needs the API's role.
    for who in [jxj_officer(), inspector(), Identity::new("e", "e", &[tingjian_runtime::Role::Enterprise])] {
        let request = pb::IssueRectificationOrderRequest { order: Some(order("")), request_id: String::new() };
        let status = h.client.issue_rectification_order(h.as_(&who, request)).await.expect_err("no role");
        assert_eq!(status.code(), Code::PermissionDenied);
    }
    let request = pb::IssueDisciplineRectificationOrderRequest { order: Some(order("")), request_id: String::new() };
    let status =
        h.inspection.issue_discipline_rectification_order(h.as_(&supervisor(), request)).await.expect_err("no");
    assert_eq!(status.code(), Code::PermissionDenied);

    // Only the department reports.
    let status =
        report(&mut h, &unit_officer("zs-jtj"), &issued.id, "代为报告", "").await.expect_err("other department");
    assert_eq!(status.code(), Code::NotFound);
    let status = report(&mut h, &supervisor(), &issued.id, "代为报告", "").await.expect_err("not a department");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = verify(&mut h, &jxj_officer(), &issued.id, true, "").await.expect_err("departments do not verify");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = verify(&mut h, &supervisor(), &issued.id, true, "").await.expect_err("not reported yet");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("ISSUED"), "{status:?}");

    // The commission neither sees nor verifies a supervisor's order on a case it does not see.
    let status = verify_as_commission(&mut h, &issued.id, true, "").await.expect_err("hidden");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(get(&mut h, &inspector(), &issued.id).await.expect_err("hidden").code(), Code::NotFound);
    // … and cannot verify one it sees through a flagged case either.
    let flagged = flagged_case(&mut h, "suggestion-r-0011").await;
    let seen = issue(&mut h, &supervisor(), order(&flagged.id), "").await;
    report(&mut h, &jxj_officer(), &seen.id, "已整改。", "").await.expect("reported");
    let status = verify_as_commission(&mut h, &seen.id, true, "").await.expect_err("not its order");
    assert_eq!(status.code(), Code::PermissionDenied);

    // Readers: another department does not see it; an enterprise may not read orders at all.
    assert_eq!(get(&mut h, &unit_officer("zs-jtj"), &issued.id).await.expect_err("hidden").code(), Code::NotFound);
    let enterprise = Identity::new("e", "e", &[tingjian_runtime::Role::Enterprise]);
    assert_eq!(get(&mut h, &enterprise, &issued.id).await.expect_err("no role").code(), Code::PermissionDenied);
    let leader = Identity::new("leader", "zs-sw", &[tingjian_runtime::Role::Leader]);
    assert_eq!(get(&mut h, &leader, &issued.id).await.expect("leaders read").id, issued.id);
    let unknown = "0190f000-0000-7000-8000-0000000000ee";
    assert_eq!(get(&mut h, &staff(), unknown).await.expect_err("unknown").code(), Code::NotFound);
}
on_both_backends!(permissions, super::permissions);

/// Updates with etags, and revoking.
async fn update_and_revoke(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let issued = issue(&mut h, &supervisor(), order(""), "").await;

    let mut changed = issued.clone();
    changed.title = "复工复产审批流程整改".into();
    changed.problem = "ignored: not in the mask".into();
    let new_deadline = h.clock.now() + Duration::days(60);
    changed.deadline_time = Some(timestamp(new_deadline));
    let updated = update(&mut h, &staff(), changed.clone(), &["title", "deadline_time"]).await.expect("updated");
    assert_eq!(updated.title, "复工复产审批流程整改");
    assert_eq!(updated.problem, issued.problem);
    assert_eq!(instant(updated.deadline_time.as_ref()), new_deadline);
    assert_ne!(updated.etag, issued.etag);

    // The etag read before the update is stale now.
    let status = update(&mut h, &supervisor(), changed.clone(), &["title"]).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let status = revoke(&mut h, &issued.id, "问题已解决", &issued.etag).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let status = report(&mut h, &jxj_officer(), &issued.id, "已整改。", &issued.etag).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    // Without an etag the update is not checked.
    changed.etag = String::new();
    update(&mut h, &supervisor(), changed, &["title"]).await.expect("unchecked");

    let status = revoke(&mut h, &issued.id, "  ", "").await.expect_err("reason required");
    assert_field_violation(&status, "reason");
    let current = get(&mut h, &staff(), &issued.id).await.expect("read");
    let revoked =
        revoke(&mut h, &issued.id, "该问题已纳入市级专项整治，不再单独整改。", &current.etag).await.expect("revoked");
    assert_eq!(revoked.status, REVOKED);
    assert_eq!(revoked.revoke_reason, "该问题已纳入市级专项整治，不再单独整改。");
    let events: Vec<(String, pb::RectificationOrderRevoked)> =
        outbox_payloads(&h.service, "tingjian.supervision.rectification_order_revoked").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].1.reason, revoked.revoke_reason);
    assert_eq!(events[0].1.actor, "supervisor-zhao");

    for status in [
        update(&mut h, &supervisor(), revoked.clone(), &["title"]).await.expect_err("final"),
        report(&mut h, &jxj_officer(), &issued.id, "已整改。", "").await.expect_err("final"),
        revoke(&mut h, &issued.id, "再次撤销", "").await.expect_err("final"),
    ] {
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert!(status.message().contains("REVOKED"), "{status:?}");
    }
}
on_both_backends!(update_and_revoke, super::update_and_revoke);

/// Bad inputs are INVALID_ARGUMENT naming the field.
async fn bad_input(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let good = order("");
    let long_request_id = "r".repeat(65);
    let cases: Vec<(pb::RectificationOrder, &str, &str)> = vec![
        (pb::RectificationOrder { department: None, ..good.clone() }, "", "order.department"),
        (
            pb::RectificationOrder {
                department: Some(tingjian_proto::common::v1::OrganisationRef::default()),
                ..good.clone()
            },
            "",
            "order.department.id",
        ),
        (pb::RectificationOrder { title: " ".into(), ..good.clone() }, "", "order.title"),
        (pb::RectificationOrder { title: "题".repeat(201), ..good.clone() }, "", "order.title"),
        (pb::RectificationOrder { problem: String::new(), ..good.clone() }, "", "order.problem"),
        (pb::RectificationOrder { requirements: "要".repeat(20_001), ..good.clone() }, "", "order.requirements"),
        (pb::RectificationOrder { deadline_time: None, ..good.clone() }, "", "order.deadline_time"),
        (
            pb::RectificationOrder {
                deadline_time: Some(timestamp(h.clock.now() - Duration::hours(1))),
                ..good.clone()
            },
            "",
            "order.deadline_time",
        ),
        (
            pb::RectificationOrder {
                deadline_time: Some(timestamp(h.clock.now() + Duration::days(6 * 366))),
                ..good.clone()
            },
            "",
            "order.deadline_time",
        ),
        (pb::RectificationOrder { case_id: "not-a-case".into(), ..good.clone() }, "", "order.case_id"),
        (good.clone(), long_request_id.as_str(), "request_id"),
    ];
    for (order, request_id, field) in cases {
        let request = pb::IssueRectificationOrderRequest { order: Some(order), request_id: request_id.into() };
        let status = h.client.issue_rectification_order(h.as_(&supervisor(), request)).await.expect_err(field);
        assert_field_violation(&status, field);
    }
    let status = h
        .client
        .issue_rectification_order(h.as_(&supervisor(), pb::IssueRectificationOrderRequest::default()))
        .await
        .expect_err("empty");
    for field in ["order.department", "order.title", "order.problem", "order.requirements", "order.deadline_time"] {
        assert_field_violation(&status, field);
    }

    let issued = issue(&mut h, &supervisor(), good, "").await;
    assert_field_violation(&update(&mut h, &supervisor(), issued.clone(), &[]).await.expect_err("mask"), "update_mask");
    assert_field_violation(
        &update(&mut h, &supervisor(), issued.clone(), &["status"]).await.expect_err("mask"),
        "update_mask",
    );
    let blank = pb::RectificationOrder { title: String::new(), ..issued.clone() };
    assert_field_violation(&update(&mut h, &supervisor(), blank, &["title"]).await.expect_err("title"), "order.title");
    let no_id = pb::RectificationOrder { id: String::new(), ..issued.clone() };
    assert_field_violation(&update(&mut h, &supervisor(), no_id, &["title"]).await.expect_err("id"), "order.id");
    assert_field_violation(
        &report(&mut h, &jxj_officer(), &issued.id, " ", "").await.expect_err("text"),
        "report.text",
    );
    assert_field_violation(&report(&mut h, &jxj_officer(), "x", "已整改。", "").await.expect_err("id"), "id");
    report(&mut h, &jxj_officer(), &issued.id, "已整改。", "").await.expect("reported");
    assert_field_violation(
        &verify(&mut h, &supervisor(), &issued.id, false, "").await.expect_err("comment"),
        "verification.comment",
    );
    assert_field_violation(&get(&mut h, &staff(), "nope").await.expect_err("id"), "id");

    for (request, field) in [
        (pb::ListRectificationOrdersRequest { statuses: vec![9], ..Default::default() }, "statuses[0]"),
        (pb::ListRectificationOrdersRequest { issuer_kind: 7, ..Default::default() }, "issuer_kind"),
        (pb::ListRectificationOrdersRequest { case_id: "x".into(), ..Default::default() }, "case_id"),
        (pb::ListRectificationOrdersRequest { page_size: -1, ..Default::default() }, "page_size"),
        (pb::ListRectificationOrdersRequest { page_token: "zz".into(), ..Default::default() }, "page_token"),
        (
            pb::ListRectificationOrdersRequest {
                period: Some(Period { kind: PeriodKind::Quarter as i32, year: 2024, number: 5 }),
                ..Default::default()
            },
            "period.number",
        ),
    ] {
        let status = h.client.list_rectification_orders(h.as_(&staff(), request)).await.expect_err(field);
        assert_field_violation(&status, field);
    }
}
on_both_backends!(bad_input, super::bad_input);

/// The same request again returns the same order; another request under the same id is ALREADY_EXISTS.
async fn idempotency(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let request = order("");
    let first = issue(&mut h, &supervisor(), request.clone(), "rect-2024-0001").await;
    h.clock.advance(Duration::minutes(5));
    let again = issue(&mut h, &supervisor(), request.clone(), "rect-2024-0001").await;
    assert_eq!(again.id, first.id);
    assert_eq!(again.etag, first.etag);
    let events: Vec<(String, pb::RectificationOrderIssued)> =
        outbox_payloads(&h.service, "tingjian.supervision.rectification_order_issued").await;
    assert_eq!(events.len(), 1);

    let other = pb::RectificationOrder { title: "另一项整改".into(), ..request.clone() };
    let r = pb::IssueRectificationOrderRequest { order: Some(other), request_id: "rect-2024-0001".into() };
    let status = h.client.issue_rectification_order(h.as_(&supervisor(), r)).await.expect_err("different request");
    assert_eq!(status.code(), Code::AlreadyExists);
    // The commission reusing a supervisor's request id is a different request too.
    let r = pb::IssueDisciplineRectificationOrderRequest { order: Some(request), request_id: "rect-2024-0001".into() };
    let status = h.inspection.issue_discipline_rectification_order(h.as_(&inspector(), r)).await.expect_err("other");
    assert_eq!(status.code(), Code::AlreadyExists);
}
on_both_backends!(idempotency, super::idempotency);

/// ListRectificationOrders: newest first, each filter, keyset pages, and the department's scope.
async fn lists(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let case = flagged_case(&mut h, "suggestion-r-0020").await;
    let mut ids = Vec::new();
    for (i, department) in [jxj(), jtj(), jxj(), jrb(), jxj()].into_iter().enumerate() {
        h.clock.advance(Duration::minutes(10));
        let mut o = order(if i % 2 == 0 { &case.id } else { "" });
        o.department = Some(department);
        o.title = format!("整改事项{}", i + 1);
        ids.push(issue(&mut h, &supervisor(), o, "").await.id);
    }
    h.clock.advance(Duration::minutes(10));
    let commission = issue_as_commission(&mut h, order(&case.id)).await;
    ids.push(commission.id.clone());
    report(&mut h, &jxj_officer(), &ids[0], "已整改。", "").await.expect("reported");
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();

    let all = list(&mut h, &staff(), pb::ListRectificationOrdersRequest::default()).await;
    assert_eq!(all.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), newest_first);

    // Pages of 2 walk the same list.
    let mut walked = Vec::new();
    let mut token = String::new();
    loop {
        let request = pb::ListRectificationOrdersRequest { page_size: 2, page_token: token, ..Default::default() };
        let page = h.client.list_rectification_orders(h.as_(&staff(), request)).await.expect("page").into_inner();
        assert!(page.orders.len() <= 2);
        walked.extend(page.orders.into_iter().map(|o| o.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(walked, newest_first);
    // A token is bound to its filters.
    let request = pb::ListRectificationOrdersRequest { page_size: 2, ..Default::default() };
    let token =
        h.client.list_rectification_orders(h.as_(&staff(), request)).await.expect("page").into_inner().next_page_token;
    let request = pb::ListRectificationOrdersRequest {
        page_size: 2,
        page_token: token,
        overdue_only: true,
        ..Default::default()
    };
    let status = h.client.list_rectification_orders(h.as_(&staff(), request)).await.expect_err("other filters");
    assert_field_violation(&status, "page_token");

    let ids_of = |orders: Vec<pb::RectificationOrder>| orders.into_iter().map(|o| o.id).collect::<Vec<_>>();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let request = pb::ListRectificationOrdersRequest { department_id: "zs-jxj".into(), ..Default::default() };
    assert_eq!(ids_of(list(&mut h, &staff(), request).await), [ids[5], ids[4], ids[2], ids[0]]);
    let request = pb::ListRectificationOrdersRequest { statuses: vec![REPORTED], ..Default::default() };
    assert_eq!(ids_of(list(&mut h, &staff(), request).await), [ids[0]]);
    let request = pb::ListRectificationOrdersRequest {
        issuer_kind: pb::RectificationIssuerKind::DisciplineInspection as i32,
        ..Default::default()
    };
    assert_eq!(ids_of(list(&mut h, &staff(), request).await), [ids[5]]);
    let request = pb::ListRectificationOrdersRequest { case_id: case.id.clone(), ..Default::default() };
    assert_eq!(ids_of(list(&mut h, &staff(), request).await), [ids[5], ids[4], ids[2], ids[0]]);
    let q1 = Period { kind: PeriodKind::Quarter as i32, year: 2024, number: 1 };
    let request = pb::ListRectificationOrdersRequest { period: Some(q1), ..Default::default() };
    assert_eq!(list(&mut h, &staff(), request).await.len(), 6);
    let q2 = Period { kind: PeriodKind::Quarter as i32, year: 2024, number: 2 };
    let request = pb::ListRectificationOrdersRequest { period: Some(q2), ..Default::default() };
    assert!(list(&mut h, &staff(), request).await.is_empty());
    let request = pb::ListRectificationOrdersRequest { overdue_only: true, ..Default::default() };
    assert!(list(&mut h, &staff(), request).await.is_empty());

    // Row scope: a department sees its own; the commission its own and those of cases it sees.
    let mine = list(&mut h, &unit_officer("zs-jtj"), pb::ListRectificationOrdersRequest::default()).await;
    assert_eq!(ids_of(mine), [ids[1]]);
    let request = pb::ListRectificationOrdersRequest { department_id: "zs-jxj".into(), ..Default::default() };
    assert!(list(&mut h, &unit_officer("zs-jtj"), request).await.is_empty());
    let seen = list(&mut h, &inspector(), pb::ListRectificationOrdersRequest::default()).await;
    assert_eq!(ids_of(seen), [ids[5], ids[4], ids[2], ids[0]]);
}
on_both_backends!(lists, super::lists);

/// The sweep marks an open order past its deadline overdue, once; a later deadline clears it; verifying
/// after the deadline reports it.
async fn overdue_sweep(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let store = Store::with(h.service.database.db.clone(), h.clock.clone(), Default::default());
    let mut o = order("");
    o.deadline_time = Some(timestamp(h.clock.now() + Duration::days(3)));
    let late = issue(&mut h, &supervisor(), o.clone(), "").await;
    let mut later = o.clone();
    later.deadline_time = Some(timestamp(h.clock.now() + Duration::days(10)));
    let on_time = issue(&mut h, &supervisor(), later, "").await;
    let revoked = issue(&mut h, &supervisor(), o, "").await;
    revoke(&mut h, &revoked.id, "重复下发", "").await.expect("revoked");

    let sweep = store.sweep_rectifications(h.clock.now()).await.expect("sweep");
    assert_eq!((sweep.examined, sweep.marked_overdue), (0, 0));

    h.clock.advance(Duration::days(4));
    let sweep = store.sweep_rectifications(h.clock.now()).await.expect("sweep");
    assert_eq!((sweep.examined, sweep.marked_overdue), (1, 1));
    let sweep = store.sweep_rectifications(h.clock.now()).await.expect("sweep again");
    assert_eq!((sweep.examined, sweep.marked_overdue), (0, 0), "marked once");

    let marked = get(&mut h, &staff(), &late.id).await.expect("read");
    assert!(marked.overdue);
    assert_ne!(marked.etag, late.etag);
    assert!(!get(&mut h, &staff(), &on_time.id).await.expect("read").overdue);
    assert!(!get(&mut h, &staff(), &revoked.id).await.expect("read").overdue);
    let request = pb::ListRectificationOrdersRequest { overdue_only: true, ..Default::default() };
    assert_eq!(list(&mut h, &staff(), request).await.into_iter().map(|o| o.id).collect::<Vec<_>>(), [late.id.as_str()]);

    // Verified after its deadline: the event says so.
    report(&mut h, &jxj_officer(), &late.id, "已整改。", "").await.expect("reported");
    let verified = verify(&mut h, &supervisor(), &late.id, true, "").await.expect("verified");
    assert!(verified.overdue);
    let events: Vec<(String, pb::RectificationVerified)> =
        outbox_payloads(&h.service, "tingjian.supervision.rectification_verified").await;
    assert!(events.last().is_some_and(|(_, v)| v.passed && v.overdue));

    // A deadline moved into the future clears the mark.
    h.clock.advance(Duration::days(7));
    assert_eq!(store.sweep_rectifications(h.clock.now()).await.expect("sweep").marked_overdue, 1);
    let current = get(&mut h, &staff(), &on_time.id).await.expect("read");
    assert!(current.overdue);
    let extended =
        pb::RectificationOrder { deadline_time: Some(timestamp(h.clock.now() + Duration::days(14))), ..current };
    let extended = update(&mut h, &supervisor(), extended, &["deadline_time"]).await.expect("extended");
    assert!(!extended.overdue);
    assert_eq!(store.sweep_rectifications(h.clock.now()).await.expect("sweep").marked_overdue, 0);
}
on_both_backends!(overdue_sweep, super::overdue_sweep);
