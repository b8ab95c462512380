//! Cases (交办单) through the supervision API, on SQLite and on PostgreSQL: creating and dispatching a case
//! with a deadline given as an instant or in working days (counted on the working calendar), its bad
//! inputs, idempotency on the request id and on the source (also under concurrent calls), its first
//! history entry and the CaseDispatched event written to the outbox with it, and ListCases' filters,
//! pagination and row scope.

use chrono::{DateTime, Datelike as _, Duration, SubsecRound as _, Utc};
use prost::Message as _;
use tingjian_proto::common::v1::{Date, Event, Period, PeriodKind};
use tingjian_proto::supervision::v1 as pb;
use tingjian_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{Role, on_pool};
use tingjian_supervision::domain::{WorkingCalendar, builtin};
use tingjian_tests::{Identity, StorageBackend, TestService, assert_field_violation, on_both_backends, spawn};
use tonic::Code;
use tonic::transport::Channel;

use super::fixtures::{TITLE, case_of, instant, jrb, jtj, jxj};

type Client = SupervisionServiceClient<Channel>;

async fn start(backend: StorageBackend) -> Option<(TestService, Client)> {
    let service = spawn(&tingjian_supervision::MODULE, backend).await?;
    let client = SupervisionServiceClient::new(service.channel.clone());
    Some((service, client))
}

fn request(case: pb::Case, request_id: &str, working_days: i32) -> pb::CreateCaseRequest {
    pb::CreateCaseRequest { case: Some(case), request_id: request_id.into(), deadline_working_days: working_days }
}

async fn create(
    service: &TestService,
    client: &mut Client,
    request: pb::CreateCaseRequest,
) -> Result<pb::CreateCaseResponse, tonic::Status> {
    client.create_case(service.request(request, &[Role::Staff])).await.map(tonic::Response::into_inner)
}

/// The shipped working calendar (2024–2026; later years count Monday–Friday).
fn shipped() -> WorkingCalendar {
    WorkingCalendar::new((2024..=2026).filter_map(builtin))
}

/// The outbox rows (subject, event type, envelope), oldest first.
async fn outbox(service: &TestService) -> Vec<(String, String, Event)> {
    let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&service.database.db, pool => {
        sqlx::query_as("SELECT subject, event_type, envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
    })
    .expect("outbox");
    rows.into_iter().map(|(s, t, e)| (s, t, Event::decode(e.as_slice()).expect("envelope"))).collect()
}

async fn dispatched_events(service: &TestService) -> Vec<(String, pb::CaseDispatched)> {
    outbox(service)
        .await
        .into_iter()
        .filter(|(_, t, _)| t == "tingjian.supervision.case_dispatched")
        .map(|(s, _, e)| {
            assert_eq!(e.data_schema, "tingjian.supervision.v1.CaseDispatched");
            assert_eq!(e.source, "/tingjian/supervision");
            (s, pb::CaseDispatched::decode(e.data.as_slice()).expect("payload"))
        })
        .collect()
}

async fn history(service: &TestService, client: &mut Client, id: &str) -> Vec<pb::CaseHistoryEntry> {
    let request = pb::ListCaseHistoryRequest { case_id: id.into(), ..Default::default() };
    client.list_case_history(service.request(request, &[Role::Supervisor])).await.expect("history").into_inner().entries
}

/// A case with a deadline given as an instant: every field as given, DISPATCHED at the server's clock, the
/// 3-working-day return window, its first history entry and CaseDispatched in the outbox.
async fn create_with_deadline_time(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let before = Utc::now();
    let deadline = before + Duration::days(30);
    let mut case = case_of(pb::CaseSourceKind::Suggestion, "suggestion-0001");
    case.deadline_time = Some(timestamp(deadline));
    case.joint_supervision = true;
    let created = create(&service, &mut client, request(case, "create-1", 0)).await.expect("created");
    assert!(created.newly_created);
    let case = created.case.expect("case");
    let after = Utc::now();
    assert_eq!(case.title, TITLE);
    assert_eq!(case.status, pb::CaseStatus::Dispatched as i32);
    assert_eq!(case.etag, "v1");
    assert_eq!(case.dispatched_by, "test-user");
    assert_eq!(case.lead_unit, Some(jrb()));
    assert_eq!(case.co_units, vec![jxj()]);
    assert_eq!(case.responsible_head.as_ref().map(|p| p.display_name.as_str()), Some("王建国"));
    let source = case.source.clone().expect("source");
    assert_eq!((source.kind, source.source_id.as_str()), (pb::CaseSourceKind::Suggestion as i32, "suggestion-0001"));
    assert!(case.joint_supervision);
    assert!(!case.discipline_inspection);
    assert!(!case.long_running && !case.overdue);
    assert_eq!((case.category.as_str(), case.district.as_str()), ("finance_credit", "putuo"));
    let dispatch = instant(case.dispatch_time.as_ref());
    assert!(before - Duration::seconds(1) <= dispatch && dispatch <= after, "{dispatch} not in [{before}, {after}]");
    assert_eq!(instant(case.deadline_time.as_ref()).timestamp(), deadline.timestamp());
    assert_eq!(instant(case.return_deadline_time.as_ref()), shipped().end_of_working_days(dispatch, 3));
    assert_eq!(case.create_time, case.dispatch_time);

    let got = client
        .get_case(service.request(pb::GetCaseRequest { id: case.id.clone() }, &[Role::Leader]))
        .await
        .expect("get")
        .into_inner()
        .case
        .expect("case");
    assert_eq!(got, case);

    let entries = history(&service, &mut client, &case.id).await;
    assert_eq!(entries.len(), 1);
    let first = &entries[0];
    assert_eq!(first.sequence, 1);
    assert_eq!(first.action, pb::CaseAction::Dispatched as i32);
    assert_eq!(first.from_status, pb::CaseStatus::Unspecified as i32);
    assert_eq!(first.to_status, pb::CaseStatus::Dispatched as i32);
    assert_eq!((first.actor.as_str(), first.actor_organisation_id.as_str()), ("test-user", "舟山市政协办公室"));
    assert_eq!(first.time, case.dispatch_time);

    let events = dispatched_events(&service).await;
    assert_eq!(events.len(), 1);
    let (subject, payload) = &events[0];
    assert_eq!(subject, &format!("cases/{}", case.id));
    assert_eq!(payload.title, TITLE);
    assert_eq!(payload.actor, "test-user");
    assert!(payload.joint_supervision);
    assert_eq!(payload.co_units, vec![jxj()]);
    assert_eq!(payload.responsible_head, case.responsible_head);
    let context = payload.context.clone().expect("context");
    assert_eq!(context.case_id, case.id);
    assert_eq!(context.source, case.source);
    assert_eq!(context.lead_unit, Some(jrb()));
    assert_eq!(context.status, pb::CaseStatus::Dispatched as i32);
    assert_eq!(context.deadline_time, case.deadline_time);
    assert_eq!(context.dispatch_time, case.dispatch_time);
    assert_eq!(
        (context.enterprise_id.as_str(), context.industry.as_str()),
        (case.enterprise_id.as_str(), "ocean_fishing")
    );

    let missing = client
        .get_case(
            service.request(pb::GetCaseRequest { id: "0193a1c2-0000-7000-8000-0000000000ff".into() }, &[Role::Staff]),
        )
        .await
        .expect_err("unknown");
    assert_eq!(missing.code(), Code::NotFound);
    let bad = client
        .get_case(service.request(pb::GetCaseRequest { id: "第一号".into() }, &[Role::Staff]))
        .await
        .expect_err("bad id");
    assert_field_violation(&bad, "id");
}

on_both_backends!(creates_with_a_deadline_time, super::create_with_deadline_time);

/// A deadline in working days ends 23:59:59 Asia/Shanghai of the Nth working day after the dispatch day;
/// a planned completion more than six months away makes the case long-running from dispatch; the first
/// warning is due at half the allowed time.
async fn create_with_working_days(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let mut case = case_of(pb::CaseSourceKind::SpecialReport, "special-report-0007");
    let planned = (Utc::now() + Duration::days(250)).date_naive();
    case.planned_completion_date =
        Some(Date { year: planned.year(), month: planned.month() as i32, day: planned.day() as i32 });
    let created = create(&service, &mut client, request(case, "", 15)).await.expect("created");
    let case = created.case.expect("case");
    let dispatch = instant(case.dispatch_time.as_ref());
    let deadline = instant(case.deadline_time.as_ref());
    assert_eq!(deadline, shipped().end_of_working_days(dispatch, 15));
    // 23:59:59 in China is 15:59:59 UTC.
    assert_eq!(deadline.format("%H:%M:%S").to_string(), "15:59:59");
    assert!(case.long_running);
    assert_eq!(case.long_running_since_time, case.dispatch_time);
    assert_eq!(case.planned_completion_date.as_ref().map(|d| d.year), Some(planned.year()));

    let next_due: DateTime<Utc> = on_pool!(&service.database.db, pool => {
        sqlx::query_scalar("SELECT next_due_time FROM supervision_case WHERE id = $1").bind(&case.id).fetch_one(pool).await
    })
    .expect("next due");
    assert_eq!(next_due, (dispatch + (deadline - dispatch) / 2).trunc_subsecs(6));

    // Within six months: not long-running.
    let mut short = case_of(pb::CaseSourceKind::CommonIssue, "common-issue-0042");
    let soon = (Utc::now() + Duration::days(60)).date_naive();
    short.planned_completion_date =
        Some(Date { year: soon.year(), month: soon.month() as i32, day: soon.day() as i32 });
    let short = create(&service, &mut client, request(short, "", 10)).await.expect("created").case.expect("case");
    assert!(!short.long_running);
    assert_eq!(short.long_running_since_time, None);
}

on_both_backends!(creates_with_working_days, super::create_with_working_days);

/// A change that spoils a request.
type Change = Box<dyn Fn(&mut pb::CreateCaseRequest)>;

/// Bad input is INVALID_ARGUMENT naming the field; callers without the right role are refused; nothing is
/// written by a refused call.
async fn bad_inputs(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let base = || case_of(pb::CaseSourceKind::Suggestion, "suggestion-0100");
    let future = Some(timestamp(Utc::now() + Duration::days(10)));
    let cases: Vec<(Change, &str)> = vec![
        (Box::new(|r| r.case.as_mut().expect("case").title = "   ".into()), "case.title"),
        (Box::new(|r| r.case.as_mut().expect("case").title = "长".repeat(201)), "case.title"),
        (Box::new(|r| r.case.as_mut().expect("case").description = String::new()), "case.description"),
        (Box::new(|r| r.case.as_mut().expect("case").source = None), "case.source"),
        (Box::new(|r| r.case.as_mut().expect("case").source.as_mut().expect("s").kind = 0), "case.source.kind"),
        (
            Box::new(|r| r.case.as_mut().expect("case").source.as_mut().expect("s").source_id = " ".into()),
            "case.source.source_id",
        ),
        (Box::new(|r| r.case.as_mut().expect("case").lead_unit = None), "case.lead_unit"),
        (
            Box::new(|r| r.case.as_mut().expect("case").lead_unit.as_mut().expect("u").id = String::new()),
            "case.lead_unit.id",
        ),
        (Box::new(|r| r.case.as_mut().expect("case").co_units = vec![jxj(), jrb()]), "case.co_units[1].id"),
        (Box::new(|r| r.case.as_mut().expect("case").co_units = vec![jxj(), jtj(), jxj()]), "case.co_units[2].id"),
        (Box::new(|r| r.case.as_mut().expect("case").responsible_head = None), "case.responsible_head"),
        (
            Box::new(|r| {
                r.case.as_mut().expect("case").responsible_head.as_mut().expect("p").display_name = String::new()
            }),
            "case.responsible_head.display_name",
        ),
        (Box::new(|r| r.deadline_working_days = 0), "case.deadline_time"),
        (Box::new(|r| r.deadline_working_days = 366), "deadline_working_days"),
        (Box::new(|r| r.deadline_working_days = -1), "deadline_working_days"),
        (
            Box::new(|r| {
                r.deadline_working_days = 0;
                r.case.as_mut().expect("case").deadline_time = Some(timestamp(Utc::now() - Duration::hours(1)));
            }),
            "case.deadline_time",
        ),
        (
            Box::new(|r| {
                r.case.as_mut().expect("case").planned_completion_date = Some(Date { year: 2027, month: 2, day: 29 })
            }),
            "case.planned_completion_date",
        ),
        (
            Box::new(|r| {
                r.case.as_mut().expect("case").planned_completion_date = Some(Date { year: 2020, month: 1, day: 1 })
            }),
            "case.planned_completion_date",
        ),
        (Box::new(|r| r.request_id = "x".repeat(65)), "request_id"),
        (Box::new(|r| r.request_id = "重试一次".into()), "request_id"),
    ];
    for (change, field) in cases {
        let mut r = request(base(), "", 15);
        change(&mut r);
        let status = create(&service, &mut client, r).await.expect_err(field);
        assert_field_violation(&status, field);
    }
    // deadline_time wins over deadline_working_days when both are given.
    let mut both = request(base(), "", 15);
    both.case.as_mut().expect("case").deadline_time = future;
    let both = create(&service, &mut client, both).await.expect("created").case.expect("case");
    assert_eq!(both.deadline_time.map(|t| t.seconds), future.map(|t| t.seconds));

    for roles in [&[Role::Enterprise][..], &[Role::HandlingUnit], &[Role::Leader], &[Role::Analyst]] {
        let r = request(case_of(pb::CaseSourceKind::Demand, "demand-0001"), "", 15);
        let status = client.create_case(service.request(r, roles)).await.expect_err("refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{roles:?}");
    }
    // Discipline inspection creates cases from its own referrals only; they are flagged for it.
    let r = request(case_of(pb::CaseSourceKind::Suggestion, "suggestion-0200"), "", 15);
    let status = client.create_case(service.request(r, &[Role::DisciplineInspection])).await.expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied);
    let r = request(case_of(pb::CaseSourceKind::DisciplineReferral, "referral-0001"), "", 20);
    let referral = client
        .create_case(service.request(r, &[Role::DisciplineInspection]))
        .await
        .expect("created")
        .into_inner()
        .case
        .expect("case");
    assert!(referral.discipline_inspection);
    // Supervisors create cases too.
    let r = request(case_of(pb::CaseSourceKind::Demand, "demand-0002"), "", 15);
    client.create_case(service.request(r, &[Role::Supervisor])).await.expect("supervisor creates");

    let count: i64 = on_pool!(&service.database.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM supervision_case").fetch_one(pool).await
    })
    .expect("count");
    assert_eq!(count, 3);
    assert_eq!(dispatched_events(&service).await.len(), 3);
}

on_both_backends!(refuses_bad_input, super::bad_inputs);

/// The same request id returns the first result; another request under it is ALREADY_EXISTS; a second
/// case for the same source is never created — the existing one comes back with newly_created false,
/// also when eight calls race.
async fn idempotency(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let first = create(&service, &mut client, request(case_of(pb::CaseSourceKind::Suggestion, "s-1"), "req-1", 15))
        .await
        .expect("created");
    assert!(first.newly_created);
    let again = create(&service, &mut client, request(case_of(pb::CaseSourceKind::Suggestion, "s-1"), "req-1", 15))
        .await
        .expect("replayed");
    assert_eq!(again.case, first.case);
    assert!(again.newly_created, "a retry answers as the first call did");

    let mut other = case_of(pb::CaseSourceKind::Suggestion, "s-2");
    other.title = "协调解决远洋渔船冷链物流运输难题".into();
    let status = create(&service, &mut client, request(other, "req-1", 15)).await.expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists);

    // Another request for the same source under the same id: the source's case, not newly created.
    let mut changed = case_of(pb::CaseSourceKind::Suggestion, "s-1");
    changed.requirements = "请于十五个工作日内答复。".into();
    let found = create(&service, &mut client, request(changed, "req-1", 20)).await.expect("the source's case");
    assert!(!found.newly_created);
    assert_eq!(found.case, first.case);

    let mut same_source = case_of(pb::CaseSourceKind::Suggestion, "s-1");
    same_source.title = "另一标题：同一建议再次交办".into();
    let existing = create(&service, &mut client, request(same_source, "req-2", 5)).await.expect("existing");
    assert!(!existing.newly_created);
    assert_eq!(existing.case, first.case);
    // The same source id under another kind is another source.
    let demand = create(&service, &mut client, request(case_of(pb::CaseSourceKind::Demand, "s-1"), "", 15))
        .await
        .expect("created");
    assert!(demand.newly_created);

    // Eight concurrent dispatches of one source: one case.
    let mut calls = Vec::new();
    for i in 0..8 {
        let mut client = client.clone();
        let r = request(case_of(pb::CaseSourceKind::CommonIssue, "common-issue-race"), &format!("race-{i}"), 15);
        let r = service.request(r, &[Role::Staff]);
        calls.push(tokio::spawn(async move { client.create_case(r).await.map(tonic::Response::into_inner) }));
    }
    let mut results = Vec::new();
    for call in calls {
        results.push(call.await.expect("task").expect("created or found"));
    }
    assert_eq!(results.iter().filter(|r| r.newly_created).count(), 1);
    let id = results[0].case.as_ref().expect("case").id.clone();
    assert!(results.iter().all(|r| r.case.as_ref().expect("case").id == id));
    let count: i64 = on_pool!(&service.database.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM supervision_case WHERE source_id = $1")
            .bind("common-issue-race")
            .fetch_one(pool)
            .await
    })
    .expect("count");
    assert_eq!(count, 1);
    let events = dispatched_events(&service).await;
    assert_eq!(events.len(), 3);
    assert_eq!(events.iter().filter(|(s, _)| *s == format!("cases/{id}")).count(), 1);
    assert_eq!(history(&service, &mut client, &id).await.len(), 1);
}

on_both_backends!(is_idempotent_on_request_and_source, super::idempotency);

async fn list(
    service: &TestService,
    client: &mut Client,
    r: pb::ListCasesRequest,
    who: &Identity,
) -> pb::ListCasesResponse {
    client.list_cases(service.request_as(r, who)).await.expect("listed").into_inner()
}

fn titles(r: &pb::ListCasesResponse) -> Vec<String> {
    r.cases.iter().map(|c| c.title.clone()).collect()
}

/// ListCases: most recently dispatched first, each filter, pagination with the total, and row scope — a
/// handling unit sees the cases it leads or co-handles, discipline inspection the cases flagged for it.
async fn list_cases(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let staff = Identity::new("staff-1", "舟山市政协办公室", &[Role::Staff]);
    // A: led by 金融办 with 经信局; B: led by 经信局, joint supervision; C: led by 交通局, flagged for
    // discipline inspection, long-running; D: led by 交通局, due in two seconds.
    let a = case_of(pb::CaseSourceKind::Suggestion, "s-a");
    let mut b = case_of(pb::CaseSourceKind::CommonIssue, "ci-b");
    b.title = "远洋渔船冷链物流运输成本高".into();
    b.lead_unit = Some(jxj());
    b.co_units = vec![];
    b.joint_supervision = true;
    b.category = "logistics".into();
    let mut c = case_of(pb::CaseSourceKind::Demand, "d-c");
    c.title = "渔业企业专利申请周期长".into();
    c.lead_unit = Some(jtj());
    c.co_units = vec![];
    c.discipline_inspection = true;
    let far = (Utc::now() + Duration::days(300)).date_naive();
    c.planned_completion_date = Some(Date { year: far.year(), month: far.month() as i32, day: far.day() as i32 });
    let mut d = case_of(pb::CaseSourceKind::Demand, "d-d");
    d.title = "港口通关审批时限过长".into();
    d.lead_unit = Some(jtj());
    d.co_units = vec![jrb()];
    d.deadline_time = Some(timestamp(Utc::now() + Duration::seconds(2)));
    let mut ids = Vec::new();
    for (case, days) in [(a, 15), (b, 15), (c, 30), (d, 0)] {
        ids.push(create(&service, &mut client, request(case, "", days)).await.expect("created").case.expect("c").id);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;

    let all = list(&service, &mut client, pb::ListCasesRequest::default(), &staff).await;
    assert_eq!(all.total_size, 4);
    assert_eq!(titles(&all), ["港口通关审批时限过长", "渔业企业专利申请周期长", "远洋渔船冷链物流运输成本高", TITLE]);
    assert!(all.next_page_token.is_empty());

    // Pages of two, with the total on each.
    let first = list(&service, &mut client, pb::ListCasesRequest { page_size: 2, ..Default::default() }, &staff).await;
    assert_eq!((first.cases.len(), first.total_size), (2, 4));
    assert!(!first.next_page_token.is_empty());
    let second = list(
        &service,
        &mut client,
        pb::ListCasesRequest { page_size: 2, page_token: first.next_page_token.clone(), ..Default::default() },
        &staff,
    )
    .await;
    assert_eq!(titles(&second), ["远洋渔船冷链物流运输成本高", TITLE]);
    assert!(second.next_page_token.is_empty());
    // A token is bound to its filters.
    let status = client
        .list_cases(service.request_as(
            pb::ListCasesRequest {
                page_token: first.next_page_token.clone(),
                overdue_only: true,
                ..Default::default()
            },
            &staff,
        ))
        .await
        .expect_err("foreign token");
    assert_field_violation(&status, "page_token");

    let by = |r: pb::ListCasesRequest| r;
    let checks: Vec<(pb::ListCasesRequest, Vec<&str>)> = vec![
        (
            by(pb::ListCasesRequest { unit_id: "zs-jxj".into(), ..Default::default() }),
            vec!["远洋渔船冷链物流运输成本高"],
        ),
        (
            by(pb::ListCasesRequest { unit_id: "zs-jxj".into(), include_co_units: true, ..Default::default() }),
            vec!["远洋渔船冷链物流运输成本高", TITLE],
        ),
        (
            by(pb::ListCasesRequest { source_kind: pb::CaseSourceKind::Demand as i32, ..Default::default() }),
            vec!["港口通关审批时限过长", "渔业企业专利申请周期长"],
        ),
        (
            by(pb::ListCasesRequest {
                source_kind: pb::CaseSourceKind::Demand as i32,
                source_id: "d-c".into(),
                ..Default::default()
            }),
            vec!["渔业企业专利申请周期长"],
        ),
        (
            by(pb::ListCasesRequest { category: "logistics".into(), ..Default::default() }),
            vec!["远洋渔船冷链物流运输成本高"],
        ),
        (
            by(pb::ListCasesRequest { joint_supervision_only: true, ..Default::default() }),
            vec!["远洋渔船冷链物流运输成本高"],
        ),
        (
            by(pb::ListCasesRequest { discipline_inspection_only: true, ..Default::default() }),
            vec!["渔业企业专利申请周期长"],
        ),
        (by(pb::ListCasesRequest { long_running_only: true, ..Default::default() }), vec!["渔业企业专利申请周期长"]),
        (by(pb::ListCasesRequest { overdue_only: true, ..Default::default() }), vec!["港口通关审批时限过长"]),
        (by(pb::ListCasesRequest { statuses: vec![pb::CaseStatus::Closed as i32], ..Default::default() }), vec![]),
        (
            by(pb::ListCasesRequest {
                statuses: vec![pb::CaseStatus::Dispatched as i32],
                enterprise_id: "0193a1c2-0000-7000-8000-00000000e001".into(),
                unit_id: "zs-jrb".into(),
                ..Default::default()
            }),
            vec![TITLE],
        ),
        (
            by(pb::ListCasesRequest { min_escalation_level: pb::EscalationLevel::Unit as i32, ..Default::default() }),
            vec![],
        ),
    ];
    for (r, expected) in checks {
        let got = list(&service, &mut client, r.clone(), &staff).await;
        assert_eq!(titles(&got), expected, "{r:?}");
        assert_eq!(got.total_size as usize, expected.len());
    }
    // The period filter, in Asia/Shanghai: this year has all four, the previous year none.
    let year = tingjian_runtime::time::china_date(Utc::now()).year();
    let this_year = Period { kind: PeriodKind::Year as i32, year, number: 0 };
    let got =
        list(&service, &mut client, pb::ListCasesRequest { period: Some(this_year), ..Default::default() }, &staff)
            .await;
    assert_eq!(got.total_size, 4);
    let last_year = Period { kind: PeriodKind::Year as i32, year: year - 1, number: 0 };
    let got =
        list(&service, &mut client, pb::ListCasesRequest { period: Some(last_year), ..Default::default() }, &staff)
            .await;
    assert_eq!(got.total_size, 0);
    let overdue =
        list(&service, &mut client, pb::ListCasesRequest { overdue_only: true, ..Default::default() }, &staff).await;
    assert!(overdue.cases[0].overdue);

    // Bad filters.
    for (r, field) in [
        (pb::ListCasesRequest { statuses: vec![9], ..Default::default() }, "statuses[0]"),
        (pb::ListCasesRequest { source_kind: 9, ..Default::default() }, "source_kind"),
        (pb::ListCasesRequest { include_co_units: true, ..Default::default() }, "include_co_units"),
        (pb::ListCasesRequest { page_size: -1, ..Default::default() }, "page_size"),
        (pb::ListCasesRequest { page_token: "不是令牌".into(), ..Default::default() }, "page_token"),
        (
            pb::ListCasesRequest {
                period: Some(Period { kind: PeriodKind::Quarter as i32, year: 2026, number: 5 }),
                ..Default::default()
            },
            "period.number",
        ),
        (pb::ListCasesRequest { min_escalation_level: 7, ..Default::default() }, "min_escalation_level"),
    ] {
        let status = client.list_cases(service.request_as(r, &staff)).await.expect_err(field);
        assert_field_violation(&status, field);
    }

    // Row scope: 经信局 leads B and co-handles A; 金融办 leads A and co-handles D.
    let jxj_user = Identity::new("jxj-clerk", "zs-jxj", &[Role::HandlingUnit]);
    let got = list(&service, &mut client, pb::ListCasesRequest::default(), &jxj_user).await;
    assert_eq!(titles(&got), ["远洋渔船冷链物流运输成本高", TITLE]);
    assert_eq!(got.total_size, 2);
    let jrb_user = Identity::new("jrb-clerk", "zs-jrb", &[Role::HandlingUnit]);
    let got = list(&service, &mut client, pb::ListCasesRequest::default(), &jrb_user).await;
    assert_eq!(titles(&got), ["港口通关审批时限过长", TITLE]);
    // Filters narrow the scope, never widen it.
    let got =
        list(&service, &mut client, pb::ListCasesRequest { unit_id: "zs-jtj".into(), ..Default::default() }, &jxj_user)
            .await;
    assert!(got.cases.is_empty());
    // A case outside the scope does not exist for the caller, nor does its history.
    let (b_id, c_id) = (ids[1].clone(), ids[2].clone());
    let hidden = client
        .get_case(service.request_as(pb::GetCaseRequest { id: c_id.clone() }, &jxj_user))
        .await
        .expect_err("out of scope");
    assert_eq!(hidden.code(), Code::NotFound);
    let hidden = client
        .list_case_history(
            service.request_as(pb::ListCaseHistoryRequest { case_id: c_id.clone(), ..Default::default() }, &jxj_user),
        )
        .await
        .expect_err("out of scope");
    assert_eq!(hidden.code(), Code::NotFound);
    let seen =
        client.get_case(service.request_as(pb::GetCaseRequest { id: b_id.clone() }, &jxj_user)).await.expect("own");
    assert_eq!(seen.into_inner().case.expect("case").title, "远洋渔船冷链物流运输成本高");

    let inspector = Identity::new("jw-system", "zs-jw", &[Role::DisciplineInspection]);
    let got = list(&service, &mut client, pb::ListCasesRequest::default(), &inspector).await;
    assert_eq!(titles(&got), ["渔业企业专利申请周期长"]);
    let hidden =
        client.get_case(service.request_as(pb::GetCaseRequest { id: b_id }, &inspector)).await.expect_err("unflagged");
    assert_eq!(hidden.code(), Code::NotFound);
    client.get_case(service.request_as(pb::GetCaseRequest { id: c_id }, &inspector)).await.expect("flagged");

    let enterprise = Identity::new("91330900MA28K1234X", "91330900MA28K1234X", &[Role::Enterprise]);
    let status =
        client.list_cases(service.request_as(pb::ListCasesRequest::default(), &enterprise)).await.expect_err("no role");
    assert_eq!(status.code(), Code::PermissionDenied);
}

on_both_backends!(lists_cases_with_filters_and_row_scope, super::list_cases);

/// History pages: oldest first, resumed with the token.
async fn history_pages(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let case = create(&service, &mut client, request(case_of(pb::CaseSourceKind::Suggestion, "s-h"), "", 15))
        .await
        .expect("created")
        .case
        .expect("case");
    let r = pb::ListCaseHistoryRequest { case_id: case.id.clone(), page_size: 1, ..Default::default() };
    let page = client.list_case_history(service.request(r, &[Role::Analyst])).await.expect("page").into_inner();
    assert_eq!(page.entries.len(), 1);
    assert!(page.next_page_token.is_empty());
    let r = pb::ListCaseHistoryRequest { case_id: "0193a1c2-0000-7000-8000-0000000000ff".into(), ..Default::default() };
    let status = client.list_case_history(service.request(r, &[Role::Staff])).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let r = pb::ListCaseHistoryRequest { case_id: "案件".into(), ..Default::default() };
    let status = client.list_case_history(service.request(r, &[Role::Staff])).await.expect_err("bad id");
    assert_field_violation(&status, "case_id");
}

on_both_backends!(lists_history, super::history_pages);
