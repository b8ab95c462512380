//! Demands (诉求) through the intake API, on SQLite and on PostgreSQL: submission from every channel and
//! its bad inputs, idempotent retries (also many at once), triage, the status machine and its history,
//! withdrawal, filtered and paginated lists, periods in China time, each enterprise's list
//! (一企一清单), and the events written to the outbox with each change.

use chrono::{DateTime, Duration, Utc};
use prost::Message as _;
use tingjian_proto::common::v1::{Event, Period, PeriodKind};
use tingjian_proto::intake::v1 as pb;
use tingjian_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tingjian_runtime::{Role, on_pool};
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends, spawn};
use tonic::Code;
use tonic::transport::Channel;

type Client = IntakeServiceClient<Channel>;

/// Characters of a unified social credit code, in value order (GB 32100-2015).
const CODE_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A valid unified social credit code of a Zhoushan (330900) enterprise, different for each `n`.
fn credit_code(n: u32) -> String {
    let org = format!("{:08}", 10_000_000 + n);
    let sum: u32 = org.bytes().zip([3, 7, 9, 10, 5, 8, 4, 2]).map(|(c, w)| u32::from(c - b'0') * w).sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from(b'0' + d as u8),
    };
    let first17 = format!("91330900{org}{org_check}");
    let mut weight = 1u32;
    let mut sum = 0u32;
    for c in first17.bytes() {
        let value = CODE_CHARS.iter().position(|&x| x == c).expect("code character") as u32;
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    let check = CODE_CHARS[((31 - sum % 31) % 31) as usize] as char;
    format!("{first17}{check}")
}

/// Title and text with characters that must survive storage byte for byte.
const TITLE: &str = "远洋渔业企业综合融资成本偏高（“贷款难、贷款贵”）";
const TEXT: &str =
    "我司为远洋捕捞企业，渔船抵押贷款利率5.8%，希望：\n1. 降低综合融资成本；\n2. 扩大渔船抵押范围。\t——舟山某公司\n";

async fn start(backend: StorageBackend) -> Option<(TestService, Client)> {
    let service = spawn(&tingjian_intake::MODULE, backend).await?;
    let client = IntakeServiceClient::new(service.channel.clone());
    Some((service, client))
}

async fn enterprise(service: &TestService, client: &mut Client, n: u32, name: &str) -> pb::Enterprise {
    let request = pb::CreateEnterpriseRequest {
        enterprise: Some(pb::Enterprise {
            name: name.into(),
            credit_code: credit_code(n),
            district: "putuo".into(),
            industry: "ocean_fishing".into(),
            size: pb::EnterpriseSize::Medium as i32,
            ..Default::default()
        }),
        request_id: format!("enterprise-{n}"),
    };
    client
        .create_enterprise(service.request(request, &[Role::Staff]))
        .await
        .expect("enterprise registered")
        .into_inner()
        .enterprise
        .expect("enterprise")
}

fn demand(enterprise_id: &str) -> pb::Demand {
    pb::Demand {
        enterprise_id: enterprise_id.into(),
        title: TITLE.into(),
        text: TEXT.into(),
        category: "finance_credit".into(),
        channel: pb::DemandChannel::App as i32,
        ..Default::default()
    }
}

fn submit_request(demand: pb::Demand, request_id: &str) -> pb::SubmitDemandRequest {
    pb::SubmitDemandRequest { demand: Some(demand), request_id: request_id.into(), similar_limit: 0 }
}

async fn submit(service: &TestService, client: &mut Client, demand: pb::Demand) -> pb::Demand {
    let request = submit_request(demand, &tingjian_runtime::wire::new_id());
    client
        .submit_demand(service.request(request, &[Role::Staff]))
        .await
        .expect("submitted")
        .into_inner()
        .demand
        .expect("demand")
}

async fn submit_err(service: &TestService, client: &mut Client, demand: pb::Demand, roles: &[Role]) -> tonic::Status {
    let request = submit_request(demand, &tingjian_runtime::wire::new_id());
    client.submit_demand(service.request(request, roles)).await.expect_err("refused")
}

async fn transition(
    service: &TestService,
    client: &mut Client,
    id: &str,
    to: pb::DemandStatus,
    reason: &str,
) -> Result<pb::Demand, tonic::Status> {
    let request =
        pb::TransitionDemandRequest { id: id.into(), to_status: to as i32, reason: reason.into(), etag: String::new() };
    client
        .transition_demand(service.request(request, &[Role::Staff]))
        .await
        .map(|r| r.into_inner().demand.expect("demand"))
}

async fn get(service: &TestService, client: &mut Client, id: &str) -> pb::Demand {
    client
        .get_demand(service.request(pb::GetDemandRequest { id: id.into() }, &[Role::Analyst]))
        .await
        .expect("found")
        .into_inner()
        .demand
        .expect("demand")
}

async fn history(service: &TestService, client: &mut Client, id: &str) -> Vec<pb::DemandHistoryEntry> {
    let request = pb::ListDemandHistoryRequest { demand_id: id.into(), ..Default::default() };
    client.list_demand_history(service.request(request, &[Role::Staff])).await.expect("history").into_inner().entries
}

async fn list(service: &TestService, client: &mut Client, request: pb::ListDemandsRequest) -> pb::ListDemandsResponse {
    client.list_demands(service.request(request, &[Role::Staff])).await.expect("listed").into_inner()
}

/// Ids of every demand a list request matches, following the pages.
async fn list_all(service: &TestService, client: &mut Client, mut request: pb::ListDemandsRequest) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let page = list(service, client, request.clone()).await;
        ids.extend(page.demands.into_iter().map(|d| d.id));
        if page.next_page_token.is_empty() {
            return ids;
        }
        request.page_token = page.next_page_token;
    }
}

/// The outbox rows (subject, event type, envelope), oldest first.
async fn outbox(service: &TestService) -> Vec<(String, String, Event)> {
    let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&service.database.db, pool => {
        sqlx::query_as("SELECT subject, event_type, envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
    })
    .expect("outbox");
    rows.into_iter().map(|(s, t, e)| (s, t, Event::decode(e.as_slice()).expect("envelope"))).collect()
}

async fn count(service: &TestService, sql: &str) -> i64 {
    on_pool!(&service.database.db, pool => sqlx::query_scalar(sql).fetch_one(pool).await).expect("count")
}

/// Moves a demand's submission time, as if it had been submitted then.
async fn backdate(service: &TestService, id: &str, time: DateTime<Utc>) {
    on_pool!(&service.database.db, pool => {
        sqlx::query("UPDATE demand SET create_time = $1 WHERE id = $2").bind(time).bind(id).execute(pool).await.map(|_| ())
    })
    .expect("backdated");
}

fn utc(s: &str) -> DateTime<Utc> {
    s.parse().expect("timestamp")
}

fn ts(t: &prost_types::Timestamp) -> DateTime<Utc> {
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("timestamp")
}

/// A submitted demand keeps its text exactly, resolves its category, copies the enterprise's district
/// and industry, and reports DemandSubmitted in the outbox.
async fn submit_and_get(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 1, "舟山市海之味远洋渔业有限公司").await;
    let before = Utc::now();
    let mut input = demand(&company.id);
    input.category = "金融信贷".into();
    input.difficulty_tags = vec![pb::DifficultyTag::Worrying as i32, pb::DifficultyTag::HighFrequency as i32];
    input.status = pb::DemandStatus::Closed as i32; // output only: ignored
    input.submitter = "someone-else".into(); // output only: ignored
    let submitted = submit(&service, &mut client, input).await;

    assert_eq!(submitted.title, TITLE);
    assert_eq!(submitted.text, TEXT);
    assert_eq!(submitted.category, "finance_credit", "the name resolves to the code");
    assert_eq!(
        submitted.difficulty_tags,
        [pb::DifficultyTag::HighFrequency as i32, pb::DifficultyTag::Worrying as i32],
        "tags are a set, in contract order"
    );
    assert_eq!(submitted.status, pb::DemandStatus::Submitted as i32);
    assert_eq!(submitted.submitter, "test-user");
    assert_eq!(submitted.district, "putuo");
    assert_eq!(submitted.industry, "ocean_fishing");
    assert_eq!(submitted.channel, pb::DemandChannel::App as i32);
    assert_eq!(submitted.etag, "v1");
    assert!(submitted.common_issue_id.is_empty() && submitted.origin_id.is_empty());
    let created = ts(submitted.create_time.as_ref().expect("create time"));
    assert!(before - Duration::seconds(1) <= created && created <= Utc::now(), "{created}");
    assert_eq!(submitted.create_time, submitted.update_time);

    let got = get(&service, &mut client, &submitted.id).await;
    assert_eq!(got, submitted, "read back exactly as returned");

    let events = outbox(&service).await;
    let submitted_events: Vec<_> = events.iter().filter(|(_, t, _)| t == "tingjian.intake.demand_submitted").collect();
    assert_eq!(submitted_events.len(), 1);
    let (subject, _, envelope) = submitted_events[0];
    assert_eq!(subject, &format!("demands/{}", submitted.id));
    assert_eq!(envelope.data_schema, "tingjian.intake.v1.DemandSubmitted");
    let payload = pb::DemandSubmitted::decode(envelope.data.as_slice()).expect("payload");
    assert_eq!(payload.demand_id, submitted.id);
    assert_eq!(payload.enterprise_id, company.id);
    assert_eq!(payload.title, TITLE);
    assert_eq!(payload.category, "finance_credit");
    assert_eq!(payload.channel, pb::DemandChannel::App as i32);
    assert_eq!(payload.difficulty_tags, submitted.difficulty_tags);
    assert_eq!((payload.district.as_str(), payload.industry.as_str()), ("putuo", "ocean_fishing"));
    assert_eq!(payload.submitter, "test-user");

    // Every channel without an origin record is accepted; a member or an enterprise may submit too.
    for channel in [pb::DemandChannel::Visit, pb::DemandChannel::Phone, pb::DemandChannel::MonitoringPoint] {
        let d = submit(&service, &mut client, pb::Demand { channel: channel as i32, ..demand(&company.id) }).await;
        assert_eq!(d.channel, channel as i32);
    }
    let request = submit_request(demand(&company.id), "member-1");
    let by_member = client.submit_demand(service.request(request, &[Role::Member])).await.expect("member submits");
    assert_eq!(by_member.into_inner().demand.expect("demand").submitter, "test-user");

    // Unknown ids.
    let status = client
        .get_demand(service.request(pb::GetDemandRequest { id: tingjian_runtime::wire::new_id() }, &[Role::Staff]))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_demand(service.request(pb::GetDemandRequest { id: "诉求-1".into() }, &[Role::Staff]))
        .await
        .expect_err("malformed");
    assert_field_violation(&status, "id");
    // Outside the caller's row scope: this enterprise caller's org names no enterprise.
    let status = client
        .get_demand(service.request(pb::GetDemandRequest { id: submitted.id.clone() }, &[Role::Enterprise]))
        .await
        .expect_err("not its own");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = client
        .get_demand(service.request(pb::GetDemandRequest { id: submitted.id.clone() }, &[Role::Netizen]))
        .await
        .expect_err("no reading role");
    assert_eq!(status.code(), Code::PermissionDenied);
    service.stop().await.expect("stops");
}
on_both_backends!(submit_and_get_demands, super::submit_and_get);

/// Every bad submission is refused with the field named, and leaves no demand and no event behind.
async fn bad_submissions(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 2, "舟山市某港航物流有限公司").await;
    let events_before = outbox(&service).await.len();

    let cases: Vec<(pb::Demand, &str)> = vec![
        (pb::Demand { category: "天气预报".into(), ..demand(&company.id) }, "demand.category"),
        (pb::Demand { category: String::new(), ..demand(&company.id) }, "demand.category"),
        (pb::Demand { title: String::new(), ..demand(&company.id) }, "demand.title"),
        (pb::Demand { title: "　 ".into(), ..demand(&company.id) }, "demand.title"),
        (pb::Demand { title: "题".repeat(201), ..demand(&company.id) }, "demand.title"),
        (pb::Demand { text: String::new(), ..demand(&company.id) }, "demand.text"),
        (pb::Demand { text: "字".repeat(5001), ..demand(&company.id) }, "demand.text"),
        (pb::Demand { channel: 0, ..demand(&company.id) }, "demand.channel"),
        (pb::Demand { channel: 42, ..demand(&company.id) }, "demand.channel"),
        (pb::Demand { difficulty_tags: vec![1, 2, 1], ..demand(&company.id) }, "demand.difficulty_tags"),
        (pb::Demand { difficulty_tags: vec![0], ..demand(&company.id) }, "demand.difficulty_tags"),
        (pb::Demand { enterprise_id: String::new(), ..demand("") }, "demand.enterprise_id"),
        (pb::Demand { enterprise_id: "企业".into(), ..demand("") }, "demand.enterprise_id"),
        (
            pb::Demand { origin_id: tingjian_runtime::wire::new_id(), ..demand(&company.id) },
            "demand.origin_id", // the app channel has no origin record
        ),
        (
            pb::Demand {
                channel: pb::DemandChannel::Roundtable as i32,
                origin_id: "座谈会".into(),
                ..demand(&company.id)
            },
            "demand.origin_id",
        ),
    ];
    for (bad, field) in cases {
        let status = submit_err(&service, &mut client, bad, &[Role::Staff]).await;
        assert_field_violation(&status, field);
    }
    // Every problem at once.
    let status = submit_err(
        &service,
        &mut client,
        pb::Demand { title: String::new(), text: String::new(), category: "x".into(), ..demand(&company.id) },
        &[Role::Staff],
    )
    .await;
    for field in ["demand.title", "demand.text", "demand.category"] {
        assert_field_violation(&status, field);
    }
    // The limits are inclusive.
    let longest = pb::Demand { title: "题".repeat(200), text: "字".repeat(5000), ..demand(&company.id) };
    let accepted = submit(&service, &mut client, longest).await;
    assert_eq!(accepted.title.chars().count(), 200);
    assert_eq!(accepted.text.chars().count(), 5000);
    let events_before = events_before + 1;

    // The request: no demand, a missing or oversized request id, a negative similar_limit.
    let status = client
        .submit_demand(service.request(
            pb::SubmitDemandRequest { demand: None, request_id: "r-1".into(), similar_limit: 0 },
            &[Role::Staff],
        ))
        .await
        .expect_err("no demand");
    assert_field_violation(&status, "demand");
    for request_id in [String::new(), "r".repeat(65), "重试-1".into()] {
        let status = client
            .submit_demand(service.request(submit_request(demand(&company.id), &request_id), &[Role::Staff]))
            .await
            .expect_err("bad request id");
        assert_field_violation(&status, "request_id");
    }
    let status = client
        .submit_demand(service.request(
            pb::SubmitDemandRequest { demand: Some(demand(&company.id)), request_id: "r-2".into(), similar_limit: -1 },
            &[Role::Staff],
        ))
        .await
        .expect_err("negative limit");
    assert_field_violation(&status, "similar_limit");

    // Unknown enterprise.
    let status = submit_err(&service, &mut client, demand(&tingjian_runtime::wire::new_id()), &[Role::Staff]).await;
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // Roles: a netizen or an analyst may not submit; an enterprise only for itself.
    for roles in [&[Role::Netizen][..], &[Role::Analyst], &[Role::Leader]] {
        let status = submit_err(&service, &mut client, demand(&company.id), roles).await;
        assert_eq!(status.code(), Code::PermissionDenied, "{roles:?}");
    }
    let status = submit_err(&service, &mut client, demand(&company.id), &[Role::Enterprise]).await;
    assert_eq!(status.code(), Code::PermissionDenied);

    assert_eq!(count(&service, "SELECT COUNT(*) FROM demand").await, 1, "only the valid one was stored");
    assert_eq!(outbox(&service).await.len(), events_before, "refused calls record no event");
    service.stop().await.expect("stops");
}
on_both_backends!(bad_submissions_are_refused, super::bad_submissions);

/// A retry with the same request id and payload returns the first demand; the same request id with
/// another payload is ALREADY_EXISTS.
async fn idempotent_retries(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 3, "舟山市某船舶修造有限公司").await;
    let mut first_input = demand(&company.id);
    first_input.difficulty_tags = vec![1, 3];
    let first = client
        .submit_demand(service.request(submit_request(first_input, "app-7f3a"), &[Role::Staff]))
        .await
        .expect("first")
        .into_inner()
        .demand
        .expect("demand");

    // The same request, spelled differently: the category by name, tags in another order.
    let mut same = demand(&company.id);
    same.category = "金融信贷".into();
    same.difficulty_tags = vec![3, 1];
    let retry = client
        .submit_demand(service.request(submit_request(same, "app-7f3a"), &[Role::Staff]))
        .await
        .expect("retry")
        .into_inner()
        .demand
        .expect("demand");
    assert_eq!(retry, first, "a retry returns the first demand unchanged");

    // The same request id with a different payload.
    let mut different = demand(&company.id);
    different.text = "另一件事：物流成本高。".into();
    let status = client
        .submit_demand(service.request(submit_request(different, "app-7f3a"), &[Role::Staff]))
        .await
        .expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains(&first.id), "{}", status.message());

    // A retry after the demand changed still returns it, as it is now.
    let accepted = transition(&service, &mut client, &first.id, pb::DemandStatus::Accepted, "受理").await.expect("ok");
    let mut again = demand(&company.id);
    again.difficulty_tags = vec![1, 3];
    let retry = client
        .submit_demand(service.request(submit_request(again, "app-7f3a"), &[Role::Staff]))
        .await
        .expect("late retry")
        .into_inner()
        .demand
        .expect("demand");
    assert_eq!(retry, accepted);

    assert_eq!(count(&service, "SELECT COUNT(*) FROM demand").await, 1);
    let submitted = outbox(&service).await.into_iter().filter(|(_, t, _)| t.ends_with("demand_submitted")).count();
    assert_eq!(submitted, 1, "one demand, one DemandSubmitted");
    service.stop().await.expect("stops");
}
on_both_backends!(idempotent_retries_return_the_first_demand, super::idempotent_retries);

/// The same request id sent by many tasks at once ends with exactly one demand, one history entry
/// and one event, and every task gets that demand.
async fn concurrent_submissions(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 4, "舟山市某水产加工有限公司").await;
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut client = client.clone();
        let request = service.request(submit_request(demand(&company.id), "same-request-id"), &[Role::Staff]);
        tasks.push(tokio::spawn(async move { client.submit_demand(request).await }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let response = task.await.expect("task").expect("every attempt succeeds");
        ids.push(response.into_inner().demand.expect("demand").id);
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "every task got the same demand: {ids:?}");
    assert_eq!(count(&service, "SELECT COUNT(*) FROM demand").await, 1);
    assert_eq!(count(&service, "SELECT COUNT(*) FROM demand_history").await, 1);
    assert_eq!(count(&service, "SELECT COUNT(*) FROM event_outbox WHERE event_type LIKE '%demand_submitted'").await, 1);
    service.stop().await.expect("stops");
}
on_both_backends!(concurrent_submissions_make_one_demand, super::concurrent_submissions);

/// The status machine: allowed moves with reasons, refused moves naming the current status, stale
/// etags, and a full history with DemandStatusChanged events.
async fn transitions_and_history(backend: StorageBackend) {
    use pb::DemandStatus as S;
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 5, "舟山市某绿色石化有限公司").await;
    let submitted = submit(&service, &mut client, demand(&company.id)).await;
    let id = submitted.id.clone();
    let events_before = outbox(&service).await.len();

    // Bad requests.
    let bad = |to: i32, reason: &str| pb::TransitionDemandRequest {
        id: id.clone(),
        to_status: to,
        reason: reason.into(),
        etag: String::new(),
    };
    for (request, field) in [
        (bad(S::Accepted as i32, ""), "reason"),
        (bad(S::Accepted as i32, &"理".repeat(1001)), "reason"),
        (bad(S::Withdrawn as i32, "撤回"), "to_status"),
        (bad(S::Unspecified as i32, "原因"), "to_status"),
        (pb::TransitionDemandRequest { id: "x".into(), ..bad(S::Accepted as i32, "原因") }, "id"),
    ] {
        let status = client.transition_demand(service.request(request, &[Role::Staff])).await.expect_err("bad");
        assert_field_violation(&status, field);
    }
    let status = client
        .transition_demand(service.request(bad(S::Accepted as i32, "受理"), &[Role::Member]))
        .await
        .expect_err("staff only");
    assert_eq!(status.code(), Code::PermissionDenied);
    let unknown =
        pb::TransitionDemandRequest { id: tingjian_runtime::wire::new_id(), ..bad(S::Accepted as i32, "受理") };
    let status = client.transition_demand(service.request(unknown, &[Role::Staff])).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    // Illegal from SUBMITTED.
    let status = transition(&service, &mut client, &id, S::Closed, "直接办结").await.expect_err("illegal");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("SUBMITTED"), "{}", status.message());

    // Accept, then a stale etag is ABORTED.
    let accepted = client
        .transition_demand(service.request(
            pb::TransitionDemandRequest { etag: "v1".into(), ..bad(S::Accepted as i32, "材料齐全，予以受理") },
            &[Role::Staff],
        ))
        .await
        .expect("accepted")
        .into_inner()
        .demand
        .expect("demand");
    assert_eq!(accepted.status, S::Accepted as i32);
    assert_eq!(accepted.status_reason, "材料齐全，予以受理");
    assert_eq!(accepted.etag, "v2");
    assert_eq!(accepted.title, TITLE, "the original is untouched");
    let status = client
        .transition_demand(service.request(
            pb::TransitionDemandRequest { etag: "v1".into(), ..bad(S::InProgress as i32, "办理") },
            &[Role::Staff],
        ))
        .await
        .expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let status = transition(&service, &mut client, &id, S::Replied, "跳过办理").await.expect_err("illegal");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("ACCEPTED"), "{}", status.message());

    // The rest of the way, with a reply sent back to handling once.
    let path = [
        (S::InProgress, "已列入协商议题"),
        (S::Replied, "市金融办已答复"),
        (S::InProgress, "企业不满意，重新办理"),
        (S::Replied, "再次答复"),
        (S::Resolved, "利率下调至4.2%"),
        (S::Closed, "办结归档"),
    ];
    for (to, reason) in path {
        let moved = transition(&service, &mut client, &id, to, reason).await.expect("allowed");
        assert_eq!(moved.status, to as i32);
    }
    let closed = get(&service, &mut client, &id).await;
    assert_eq!(closed.etag, "v8");
    for to in [S::Accepted, S::Resolved, S::Closed, S::Submitted] {
        let status = transition(&service, &mut client, &id, to, "再改").await.expect_err("final");
        assert_eq!(status.code(), Code::FailedPrecondition);
        assert!(status.message().contains("CLOSED"), "{}", status.message());
    }

    // History: who, when, from, to, why — in order, gap-free.
    let entries = history(&service, &mut client, &id).await;
    assert_eq!(entries.len(), 8);
    let expected: Vec<(S, S, &str)> = [(S::Unspecified, S::Submitted, "")]
        .into_iter()
        .chain([(S::Submitted, S::Accepted, "材料齐全，予以受理"), (S::Accepted, S::InProgress, "已列入协商议题")])
        .chain([
            (S::InProgress, S::Replied, "市金融办已答复"),
            (S::Replied, S::InProgress, "企业不满意，重新办理"),
            (S::InProgress, S::Replied, "再次答复"),
            (S::Replied, S::Resolved, "利率下调至4.2%"),
            (S::Resolved, S::Closed, "办结归档"),
        ])
        .collect();
    let mut previous_time = None;
    for (i, (entry, (from, to, reason))) in entries.iter().zip(&expected).enumerate() {
        assert_eq!(entry.demand_id, id);
        assert_eq!(entry.sequence, i as i64 + 1);
        let action = if i == 0 { pb::DemandAction::Submitted } else { pb::DemandAction::StatusChanged };
        assert_eq!(entry.action, action as i32, "entry {i}");
        assert_eq!((entry.from_status, entry.to_status), (*from as i32, *to as i32), "entry {i}");
        assert_eq!(entry.reason, *reason);
        assert_eq!(entry.actor, "test-user");
        let time = ts(entry.time.as_ref().expect("time"));
        assert!(previous_time.is_none_or(|p| p <= time), "times do not go back");
        previous_time = Some(time);
    }
    assert_eq!(entries[0].time, submitted.create_time);
    assert_eq!(entries[7].time, closed.update_time);

    // The history is append-only, even for a direct write to the database.
    for sql in ["UPDATE demand_history SET reason = 'rewritten'", "DELETE FROM demand_history"] {
        let result = on_pool!(&service.database.db, pool => sqlx::query(sql).execute(pool).await.map(|_| ()));
        assert!(result.is_err(), "{sql} must be refused");
    }

    // Pages of the history, and a bad token.
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let request = pb::ListDemandHistoryRequest { demand_id: id.clone(), page_size: 3, page_token: token };
        let page = client.list_demand_history(service.request(request, &[Role::Member])).await.expect("page");
        let page = page.into_inner();
        pages.push(page.entries.iter().map(|e| e.sequence).collect::<Vec<_>>());
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, [vec![1, 2, 3], vec![4, 5, 6], vec![7, 8]]);
    let request =
        pb::ListDemandHistoryRequest { demand_id: id.clone(), page_size: 3, page_token: "不是令牌".into() };
    let status = client.list_demand_history(service.request(request, &[Role::Staff])).await.expect_err("bad token");
    assert_field_violation(&status, "page_token");
    let request = pb::ListDemandHistoryRequest { demand_id: tingjian_runtime::wire::new_id(), ..Default::default() };
    let status = client.list_demand_history(service.request(request, &[Role::Staff])).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    // One DemandStatusChanged per move, none for the refused calls.
    let events = outbox(&service).await;
    assert_eq!(events.len(), events_before + 7);
    let changes: Vec<_> = events
        .iter()
        .filter(|(_, t, _)| t == "tingjian.intake.demand_status_changed")
        .map(|(subject, _, e)| {
            assert_eq!(subject, &format!("demands/{id}"));
            pb::DemandStatusChanged::decode(e.data.as_slice()).expect("payload")
        })
        .collect();
    assert_eq!(changes.len(), 7);
    let first = &changes[0];
    assert_eq!((first.from_status, first.to_status), (S::Submitted as i32, S::Accepted as i32));
    assert_eq!(first.reason, "材料齐全，予以受理");
    assert_eq!(first.enterprise_id, company.id);
    assert_eq!((first.category.as_str(), first.district.as_str()), ("finance_credit", "putuo"));
    assert_eq!(first.actor, "test-user");
    assert_eq!(changes[6].to_status, S::Closed as i32);
    service.stop().await.expect("stops");
}
on_both_backends!(transitions_follow_the_status_machine, super::transitions_and_history);

/// Withdrawal: from an open status only, with a reason, recorded and reported.
async fn withdraw(backend: StorageBackend) {
    use pb::DemandStatus as S;
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 6, "舟山市某旅游开发有限公司").await;
    let open = submit(&service, &mut client, demand(&company.id)).await;
    let request = |reason: &str, etag: &str| pb::WithdrawDemandRequest {
        id: open.id.clone(),
        reason: reason.into(),
        etag: etag.into(),
    };

    let status = client.withdraw_demand(service.request(request("", ""), &[Role::Staff])).await.expect_err("reason");
    assert_field_violation(&status, "reason");
    let status =
        client.withdraw_demand(service.request(request("撤回", "v9"), &[Role::Staff])).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let status =
        client.withdraw_demand(service.request(request("撤回", ""), &[Role::Netizen])).await.expect_err("netizen");
    assert_eq!(status.code(), Code::PermissionDenied);
    let unknown = pb::WithdrawDemandRequest { id: tingjian_runtime::wire::new_id(), ..request("撤回", "") };
    let status = client.withdraw_demand(service.request(unknown, &[Role::Staff])).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    // The submitter (a member here) withdraws it.
    let withdrawn = client
        .withdraw_demand(service.request(request("问题已自行解决，撤回诉求", "v1"), &[Role::Member]))
        .await
        .expect("withdrawn")
        .into_inner()
        .demand
        .expect("demand");
    assert_eq!(withdrawn.status, S::Withdrawn as i32);
    assert_eq!(withdrawn.status_reason, "问题已自行解决，撤回诉求");
    assert_eq!(withdrawn.etag, "v2");
    let status = client.withdraw_demand(service.request(request("再撤", ""), &[Role::Staff])).await.expect_err("twice");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("WITHDRAWN"), "{}", status.message());
    let status = transition(&service, &mut client, &open.id, S::Accepted, "受理").await.expect_err("final");
    assert_eq!(status.code(), Code::FailedPrecondition);

    let entries = history(&service, &mut client, &open.id).await;
    let last = entries.last().expect("entries");
    assert_eq!(last.action, pb::DemandAction::Withdrawn as i32);
    assert_eq!((last.from_status, last.to_status), (S::Submitted as i32, S::Withdrawn as i32));
    assert_eq!(last.reason, "问题已自行解决，撤回诉求");
    assert_eq!(last.actor, "test-user");

    // A demand in a final status other than WITHDRAWN cannot be withdrawn either.
    let rejected = submit(&service, &mut client, demand(&company.id)).await;
    transition(&service, &mut client, &rejected.id, S::Rejected, "不属于受理范围").await.expect("rejected");
    let status = client
        .withdraw_demand(service.request(
            pb::WithdrawDemandRequest { id: rejected.id.clone(), reason: "撤回".into(), etag: String::new() },
            &[Role::Staff],
        ))
        .await
        .expect_err("final");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("REJECTED"), "{}", status.message());

    let changes: Vec<_> = outbox(&service)
        .await
        .into_iter()
        .filter(|(_, t, _)| t.ends_with("demand_status_changed"))
        .map(|(_, _, e)| pb::DemandStatusChanged::decode(e.data.as_slice()).expect("payload"))
        .collect();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].to_status, S::Withdrawn as i32);
    assert_eq!(changes[0].reason, "问题已自行解决，撤回诉求");
    service.stop().await.expect("stops");
}
on_both_backends!(withdrawing_a_demand, super::withdraw);

/// Triage: only category and tags change, through the update mask, with a reason, an etag check, a
/// history entry and a DemandUpdated event.
async fn update_triage(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 7, "舟山市某先进制造有限公司").await;
    let submitted = submit(&service, &mut client, demand(&company.id)).await;
    let update = |demand: pb::Demand, paths: &[&str], reason: &str| pb::UpdateDemandRequest {
        demand: Some(demand),
        update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|p| p.to_string()).collect() }),
        reason: reason.into(),
    };
    let changed = pb::Demand {
        category: "物流运输".into(),
        difficulty_tags: vec![pb::DifficultyTag::Difficult as i32],
        title: "改过的标题".into(),
        ..submitted.clone()
    };

    for (request, field) in [
        (update(changed.clone(), &["category"], ""), "reason"),
        (update(changed.clone(), &[], "重新分类"), "update_mask"),
        (update(changed.clone(), &["title"], "改标题"), "update_mask"),
        (update(changed.clone(), &["status"], "改状态"), "update_mask"),
        (
            update(pb::Demand { category: "未知类别".into(), ..changed.clone() }, &["category"], "重新分类"),
            "demand.category",
        ),
        (
            update(pb::Demand { difficulty_tags: vec![2, 2], ..changed.clone() }, &["difficulty_tags"], "标签"),
            "demand.difficulty_tags",
        ),
        (update(pb::Demand { id: "x".into(), ..changed.clone() }, &["category"], "重新分类"), "demand.id"),
    ] {
        let status = client.update_demand(service.request(request, &[Role::Staff])).await.expect_err("bad");
        assert_field_violation(&status, field);
    }
    let status = client
        .update_demand(service.request(update(changed.clone(), &["category"], "重新分类"), &[Role::Member]))
        .await
        .expect_err("staff only");
    assert_eq!(status.code(), Code::PermissionDenied);
    let unknown = pb::Demand { id: tingjian_runtime::wire::new_id(), ..changed.clone() };
    let status = client
        .update_demand(service.request(update(unknown, &["category"], "重新分类"), &[Role::Staff]))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    // The category only; the title in the message is ignored (not in the mask).
    let recategorised = client
        .update_demand(service.request(update(changed.clone(), &["category"], "属于物流问题"), &[Role::Staff]))
        .await
        .expect("updated")
        .into_inner()
        .demand
        .expect("demand");
    assert_eq!(recategorised.category, "logistics");
    assert!(recategorised.difficulty_tags.is_empty(), "tags not in the mask");
    assert_eq!(recategorised.title, TITLE);
    assert_eq!(recategorised.etag, "v2");
    // The old etag is stale now.
    let status = client
        .update_demand(service.request(update(changed.clone(), &["difficulty_tags"], "标记难点"), &[Role::Staff]))
        .await
        .expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let tagged = client
        .update_demand(service.request(
            update(pb::Demand { etag: String::new(), ..changed.clone() }, &["difficulty_tags"], "标记难点"),
            &[Role::Staff],
        ))
        .await
        .expect("tagged")
        .into_inner()
        .demand
        .expect("demand");
    assert_eq!(tagged.difficulty_tags, [pb::DifficultyTag::Difficult as i32]);
    assert_eq!(get(&service, &mut client, &submitted.id).await, tagged);
    // The same values again change nothing.
    let same = client
        .update_demand(service.request(
            update(pb::Demand { etag: String::new(), ..changed.clone() }, &["category", "difficulty_tags"], "重复"),
            &[Role::Staff],
        ))
        .await
        .expect("no-op")
        .into_inner()
        .demand
        .expect("demand");
    assert_eq!(same, tagged);

    let entries = history(&service, &mut client, &submitted.id).await;
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[1].action, pb::DemandAction::Updated as i32);
    assert_eq!(entries[1].detail, "category: finance_credit → logistics");
    assert_eq!(entries[1].reason, "属于物流问题");
    assert_eq!((entries[1].from_status, entries[1].to_status), (1, 1));
    assert_eq!(entries[2].detail, "difficulty_tags: [] → [难心事]");

    let updates: Vec<_> = outbox(&service)
        .await
        .into_iter()
        .filter(|(_, t, _)| t == "tingjian.intake.demand_updated")
        .map(|(_, _, e)| pb::DemandUpdated::decode(e.data.as_slice()).expect("payload"))
        .collect();
    assert_eq!(updates.len(), 2);
    assert_eq!((updates[0].previous_category.as_str(), updates[0].category.as_str()), ("finance_credit", "logistics"));
    assert_eq!(updates[0].reason, "属于物流问题");
    assert_eq!(updates[1].difficulty_tags, [pb::DifficultyTag::Difficult as i32]);
    service.stop().await.expect("stops");
}
on_both_backends!(updating_triage_fields, super::update_triage);

/// Filters combine with AND; pages follow each other without gaps or repeats, newest first, also
/// when several demands share a submission time.
async fn filters_and_pages(backend: StorageBackend) {
    use pb::DemandStatus as S;
    let Some((service, mut client)) = start(backend).await else { return };
    let a = enterprise(&service, &mut client, 8, "舟山市甲远洋渔业有限公司").await;
    let b = enterprise(&service, &mut client, 9, "舟山市乙港航物流有限公司").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let mut d = demand(if i < 4 { &a.id } else { &b.id });
        d.title = format!("诉求{i}");
        d.category = if i % 2 == 0 { "finance_credit".into() } else { "logistics".into() };
        d.channel = if i < 2 { pb::DemandChannel::Phone as i32 } else { pb::DemandChannel::App as i32 };
        d.difficulty_tags = if i % 3 == 0 { vec![pb::DifficultyTag::HighFrequency as i32] } else { vec![] };
        ids.push(submit(&service, &mut client, d).await.id);
    }
    transition(&service, &mut client, &ids[1], S::Accepted, "受理").await.expect("accepted");
    transition(&service, &mut client, &ids[5], S::Rejected, "不予受理").await.expect("rejected");

    // Everything, three at a time, newest first.
    let first = list(&service, &mut client, pb::ListDemandsRequest { page_size: 3, ..Default::default() }).await;
    assert_eq!(first.total_size, 7);
    assert_eq!(first.demands.len(), 3);
    assert_eq!(first.demands[0].title, "诉求6", "newest first");
    assert!(!first.next_page_token.is_empty());
    let all = list_all(&service, &mut client, pb::ListDemandsRequest { page_size: 3, ..Default::default() }).await;
    let newest_first: Vec<_> = ids.iter().rev().cloned().collect();
    assert_eq!(all, newest_first);
    // page_size 0 means 50; above 500 is capped.
    let page = list(&service, &mut client, pb::ListDemandsRequest::default()).await;
    assert_eq!((page.demands.len(), page.next_page_token.as_str()), (7, ""));
    let page = list(&service, &mut client, pb::ListDemandsRequest { page_size: 10_000, ..Default::default() }).await;
    assert_eq!(page.demands.len(), 7);

    // Same submission time for all: the id breaks the tie, pages still cover everything once.
    let same_time = utc("2026-02-03T04:05:06.789Z");
    for id in &ids {
        backdate(&service, id, same_time).await;
    }
    let mut tied = list_all(&service, &mut client, pb::ListDemandsRequest { page_size: 2, ..Default::default() }).await;
    assert_eq!(tied.len(), 7);
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(tied, sorted, "ties are ordered by id, descending");
    tied.sort();
    tied.dedup();
    assert_eq!(tied.len(), 7, "no repeats");

    // Filters.
    let by = |request: pb::ListDemandsRequest| pb::ListDemandsRequest { page_size: 2, ..request };
    let matched = |picked: &[usize]| {
        let mut v: Vec<String> = picked.iter().map(|&i| ids[i].clone()).collect();
        v.sort();
        v
    };
    let cases = [
        (pb::ListDemandsRequest { enterprise_id: a.id.clone(), ..Default::default() }, vec![0, 1, 2, 3]),
        (pb::ListDemandsRequest { statuses: vec![S::Submitted as i32], ..Default::default() }, vec![0, 2, 3, 4, 6]),
        (
            pb::ListDemandsRequest { statuses: vec![S::Accepted as i32, S::Rejected as i32], ..Default::default() },
            vec![1, 5],
        ),
        (pb::ListDemandsRequest { category: "logistics".into(), ..Default::default() }, vec![1, 3, 5]),
        (pb::ListDemandsRequest { category: "物流运输".into(), ..Default::default() }, vec![1, 3, 5]),
        (pb::ListDemandsRequest { channel: pb::DemandChannel::Phone as i32, ..Default::default() }, vec![0, 1]),
        (
            pb::ListDemandsRequest { difficulty_tag: pb::DifficultyTag::HighFrequency as i32, ..Default::default() },
            vec![0, 3, 6],
        ),
        (
            pb::ListDemandsRequest {
                enterprise_id: b.id.clone(),
                category: "finance_credit".into(),
                statuses: vec![S::Submitted as i32],
                ..Default::default()
            },
            vec![4, 6],
        ),
        (pb::ListDemandsRequest { district: "putuo".into(), ..Default::default() }, vec![0, 1, 2, 3, 4, 5, 6]),
        (pb::ListDemandsRequest { district: "dinghai".into(), ..Default::default() }, vec![]),
        (pb::ListDemandsRequest { industry: "ocean_fishing".into(), ..Default::default() }, vec![0, 1, 2, 3, 4, 5, 6]),
        (pb::ListDemandsRequest { unmerged_only: true, ..Default::default() }, vec![0, 1, 2, 3, 4, 5, 6]),
        (pb::ListDemandsRequest { common_issue_id: tingjian_runtime::wire::new_id(), ..Default::default() }, vec![]),
    ];
    for (request, expected) in cases {
        let total = list(&service, &mut client, request.clone()).await.total_size;
        let mut got = list_all(&service, &mut client, by(request.clone())).await;
        got.sort();
        assert_eq!(got, matched(&expected), "{request:?}");
        assert_eq!(total as usize, expected.len(), "total_size of {request:?}");
    }

    // Bad filters and tokens.
    for (request, field) in [
        (pb::ListDemandsRequest { page_token: "不是令牌".into(), ..Default::default() }, "page_token"),
        (pb::ListDemandsRequest { page_token: "abcd".into(), ..Default::default() }, "page_token"),
        (pb::ListDemandsRequest { page_size: -1, ..Default::default() }, "page_size"),
        (pb::ListDemandsRequest { statuses: vec![99], ..Default::default() }, "statuses[0]"),
        (pb::ListDemandsRequest { category: "天气".into(), ..Default::default() }, "category"),
        (pb::ListDemandsRequest { channel: 42, ..Default::default() }, "channel"),
        (pb::ListDemandsRequest { difficulty_tag: 9, ..Default::default() }, "difficulty_tag"),
        (pb::ListDemandsRequest { enterprise_id: "甲".into(), ..Default::default() }, "enterprise_id"),
    ] {
        let status = client.list_demands(service.request(request, &[Role::Staff])).await.expect_err("bad");
        assert_field_violation(&status, field);
    }
    // An enterprise caller whose org names no enterprise sees nothing.
    let status = client
        .list_demands(service.request(pb::ListDemandsRequest::default(), &[Role::Enterprise]))
        .await
        .expect_err("no scope");
    assert_eq!(status.code(), Code::PermissionDenied);
    service.stop().await.expect("stops");
}
on_both_backends!(listing_with_filters_and_pages, super::filters_and_pages);

/// A period filter follows Asia/Shanghai: a quarter starts at 00:00 +08:00, eight hours before UTC
/// midnight.
async fn period_filter(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 10, "舟山市某餐饮商贸有限公司").await;
    let mut at = Vec::new();
    for time in [
        "2025-09-30T15:59:59Z",        // 2025-09-30 23:59:59 in China: Q3 2025
        "2025-12-31T15:59:59.999999Z", // 2025-12-31 23:59:59.999999 in China: Q4 2025
        "2025-12-31T16:00:00Z",        // 2026-01-01 00:00 in China: Q1 2026 (still 2025 in UTC)
        "2026-03-31T16:00:00Z",        // 2026-04-01 00:00 in China: Q2 2026
    ] {
        let d = submit(&service, &mut client, demand(&company.id)).await;
        backdate(&service, &d.id, utc(time)).await;
        at.push(d.id);
    }
    let period = |kind: PeriodKind, year: i32, number: i32| pb::ListDemandsRequest {
        period: Some(Period { kind: kind as i32, year, number }),
        ..Default::default()
    };
    let cases = [
        (period(PeriodKind::Quarter, 2025, 3), vec![0]),
        (period(PeriodKind::Quarter, 2025, 4), vec![1]),
        (period(PeriodKind::Quarter, 2026, 1), vec![2]),
        (period(PeriodKind::Quarter, 2026, 2), vec![3]),
        (period(PeriodKind::Month, 2026, 1), vec![2]),
        (period(PeriodKind::Month, 2025, 12), vec![1]),
        (period(PeriodKind::Year, 2025, 0), vec![1, 0]),
        (period(PeriodKind::Year, 2026, 0), vec![3, 2]),
        (period(PeriodKind::Unspecified, 0, 0), vec![3, 2, 1, 0]),
    ];
    for (request, expected) in cases {
        let got = list_all(&service, &mut client, request.clone()).await;
        let expected: Vec<_> = expected.into_iter().map(|i| at[i].clone()).collect();
        assert_eq!(got, expected, "{:?}", request.period);
    }
    let returned = list(&service, &mut client, period(PeriodKind::Quarter, 2026, 1)).await;
    assert_eq!(
        returned.demands[0].create_time.as_ref().map(ts),
        Some(utc("2025-12-31T16:00:00Z")),
        "the stored instant is returned as is"
    );
    for (request, field) in [
        (period(PeriodKind::Quarter, 2026, 5), "period.number"),
        (period(PeriodKind::Month, 2026, 0), "period.number"),
        (period(PeriodKind::Year, 1999, 0), "period.year"),
        (period(PeriodKind::Quarter, 2026, -1), "period.number"),
    ] {
        let status = client.list_demands(service.request(request, &[Role::Staff])).await.expect_err("bad period");
        assert_field_violation(&status, field);
    }
    service.stop().await.expect("stops");
}
on_both_backends!(period_filter_uses_china_time, super::period_filter);

/// One enterprise, one list (一企一清单): groups by status with complete counts, newest first, and the
/// age of the oldest open demand.
async fn enterprise_list(backend: StorageBackend) {
    use pb::DemandStatus as S;
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 11, "舟山市某远洋渔业集团有限公司").await;
    let other = enterprise(&service, &mut client, 12, "舟山市另一家企业有限公司").await;
    submit(&service, &mut client, demand(&other.id)).await;

    let mut ids = Vec::new();
    for i in 0..6 {
        let d = submit(&service, &mut client, pb::Demand { title: format!("清单{i}"), ..demand(&company.id) }).await;
        ids.push(d.id);
    }
    transition(&service, &mut client, &ids[3], S::Accepted, "受理").await.expect("accepted");
    transition(&service, &mut client, &ids[4], S::Rejected, "不予受理").await.expect("rejected");
    let request = pb::WithdrawDemandRequest { id: ids[5].clone(), reason: "撤回".into(), etag: String::new() };
    client.withdraw_demand(service.request(request, &[Role::Staff])).await.expect("withdrawn");
    // The oldest open one was submitted ten days and an hour ago; a closed one is older still.
    backdate(&service, &ids[1], Utc::now() - Duration::days(10) - Duration::hours(1)).await;
    backdate(&service, &ids[4], Utc::now() - Duration::days(30)).await;

    let get_list =
        |max_per_group: i32| pb::GetEnterpriseDemandListRequest { enterprise_id: company.id.clone(), max_per_group };
    let list = client
        .get_enterprise_demand_list(service.request(get_list(2), &[Role::Member]))
        .await
        .expect("list")
        .into_inner()
        .demand_list
        .expect("list");
    assert_eq!(list.enterprise_id, company.id);
    assert_eq!(list.enterprise_name, "舟山市某远洋渔业集团有限公司");
    assert_eq!((list.total_count, list.open_count), (6, 4));
    assert_eq!(list.oldest_open_age_days, 10);
    let oldest = ts(list.oldest_open_create_time.as_ref().expect("oldest open"));
    assert!((Utc::now() - oldest - Duration::days(10) - Duration::hours(1)).num_seconds().abs() < 60);
    let groups: Vec<_> = list.groups.iter().map(|g| (g.status, g.count, g.demands.len())).collect();
    assert_eq!(
        groups,
        [
            (S::Submitted as i32, 3, 2),
            (S::Accepted as i32, 1, 1),
            (S::Rejected as i32, 1, 1),
            (S::Withdrawn as i32, 1, 1)
        ],
        "in status order, counts complete, demands capped per group"
    );
    let submitted_titles: Vec<_> = list.groups[0].demands.iter().map(|d| d.title.as_str()).collect();
    assert_eq!(submitted_titles, ["清单2", "清单0"], "newest first (清单1 was backdated)");

    // Everything closed or withdrawn: no oldest open one.
    let quiet = enterprise(&service, &mut client, 13, "舟山市无诉求企业有限公司").await;
    let empty = client
        .get_enterprise_demand_list(service.request(
            pb::GetEnterpriseDemandListRequest { enterprise_id: quiet.id.clone(), max_per_group: 0 },
            &[Role::Staff],
        ))
        .await
        .expect("empty list")
        .into_inner()
        .demand_list
        .expect("list");
    assert!(empty.groups.is_empty());
    assert_eq!((empty.total_count, empty.open_count, empty.oldest_open_age_days), (0, 0, 0));
    assert!(empty.oldest_open_create_time.is_none());

    let unknown =
        pb::GetEnterpriseDemandListRequest { enterprise_id: tingjian_runtime::wire::new_id(), max_per_group: 0 };
    let status =
        client.get_enterprise_demand_list(service.request(unknown, &[Role::Staff])).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let bad = pb::GetEnterpriseDemandListRequest { enterprise_id: "企业".into(), max_per_group: -1 };
    let status = client.get_enterprise_demand_list(service.request(bad, &[Role::Staff])).await.expect_err("bad");
    assert_field_violation(&status, "enterprise_id");
    assert_field_violation(&status, "max_per_group");
    let status =
        client.get_enterprise_demand_list(service.request(get_list(0), &[Role::Enterprise])).await.expect_err("scope");
    assert_eq!(status.code(), Code::PermissionDenied);
    service.stop().await.expect("stops");
}
on_both_backends!(one_enterprise_one_list, super::enterprise_list);

/// A demand from a visit or a roundtable may name the contact or roundtable it came from, which must
/// exist.
async fn origins(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let company = enterprise(&service, &mut client, 14, "舟山市某渔业合作社有限公司").await;
    let contact = client
        .log_contact(service.request(
            pb::LogContactRequest {
                contact: Some(pb::Contact {
                    enterprise_id: company.id.clone(),
                    channel: pb::ContactChannel::Visit as i32,
                    contact_time: Some(tingjian_runtime::wire::timestamp(Utc::now() - Duration::hours(2))),
                    member_ids: vec!["member-1".into()],
                    summary: "走访企业，了解融资需求".into(),
                    ..Default::default()
                }),
                request_id: "contact-1".into(),
            },
            &[Role::Member],
        ))
        .await
        .expect("contact logged")
        .into_inner()
        .contact
        .expect("contact");
    let roundtable = client
        .create_roundtable(service.request(
            pb::CreateRoundtableRequest {
                roundtable: Some(pb::Roundtable {
                    title: "市企业综合服务中心知晓度提升座谈会".into(),
                    held_time: Some(tingjian_runtime::wire::timestamp(Utc::now() - Duration::days(1))),
                    invited_enterprise_ids: vec![company.id.clone()],
                    entrepreneur_count: 15,
                    ..Default::default()
                }),
                request_id: "roundtable-1".into(),
            },
            &[Role::Staff],
        ))
        .await
        .expect("roundtable recorded")
        .into_inner()
        .roundtable
        .expect("roundtable");

    let from_visit =
        pb::Demand { channel: pb::DemandChannel::Visit as i32, origin_id: contact.id.clone(), ..demand(&company.id) };
    let visit = submit(&service, &mut client, from_visit).await;
    assert_eq!(visit.origin_id, contact.id);
    let from_roundtable = pb::Demand {
        channel: pb::DemandChannel::Roundtable as i32,
        origin_id: roundtable.id.clone(),
        ..demand(&company.id)
    };
    let raised = submit(&service, &mut client, from_roundtable).await;
    assert_eq!(raised.origin_id, roundtable.id);
    let payload = outbox(&service)
        .await
        .into_iter()
        .filter(|(s, _, _)| s == &format!("demands/{}", raised.id))
        .map(|(_, _, e)| pb::DemandSubmitted::decode(e.data.as_slice()).expect("payload"))
        .next()
        .expect("event");
    assert_eq!(payload.origin_id, roundtable.id);

    // The origin must exist, in the table of its channel.
    let events_before = outbox(&service).await.len();
    for (channel, origin) in [
        (pb::DemandChannel::Visit, tingjian_runtime::wire::new_id()),
        (pb::DemandChannel::Phone, roundtable.id.clone()),
        (pb::DemandChannel::Roundtable, contact.id.clone()),
    ] {
        let bad = pb::Demand { channel: channel as i32, origin_id: origin, ..demand(&company.id) };
        let status = submit_err(&service, &mut client, bad, &[Role::Staff]).await;
        assert_eq!(status.code(), Code::NotFound, "{channel:?}: {status:?}");
    }
    assert_eq!(outbox(&service).await.len(), events_before);
    service.stop().await.expect("stops");
}
on_both_backends!(origins_must_exist, super::origins);
