//! Common issues (共性问题, 合并同类项) through the intake API, on SQLite and on PostgreSQL: forming an
//! issue from demands and its bad inputs, a demand in at most one issue (also under concurrency),
//! adding, moving and splitting demands with every earlier history entry — the issues' and the
//! demands' own — left untouched, renaming, counting the enterprises affected, filtered and paginated
//! lists, and the events written to the outbox in the same transaction as each change.

use chrono::Datelike as _;
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
    let org = format!("{:08}", 20_000_000 + n);
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

const TITLE: &str = "远洋渔业相关企业综合融资成本高";
const REASON: &str = "三家远洋渔业企业都反映贷款利率偏高、抵押难，属同类诉求（合并同类项）";

async fn start(backend: StorageBackend) -> Option<(TestService, Client)> {
    let service = spawn(&tingjian_intake::MODULE, backend).await?;
    let client = IntakeServiceClient::new(service.channel.clone());
    Some((service, client))
}

async fn enterprise(service: &TestService, client: &mut Client, n: u32) -> String {
    let request = pb::CreateEnterpriseRequest {
        enterprise: Some(pb::Enterprise {
            name: format!("舟山市第{n}远洋渔业有限公司"),
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
        .id
}

async fn submit(service: &TestService, client: &mut Client, enterprise_id: &str, title: &str) -> pb::Demand {
    let request = pb::SubmitDemandRequest {
        demand: Some(pb::Demand {
            enterprise_id: enterprise_id.into(),
            title: title.into(),
            text: format!("{title}：希望协调金融机构降低综合融资成本。"),
            category: "finance_credit".into(),
            channel: pb::DemandChannel::Visit as i32,
            ..Default::default()
        }),
        request_id: tingjian_runtime::wire::new_id(),
        similar_limit: 0,
    };
    client
        .submit_demand(service.request(request, &[Role::Member]))
        .await
        .expect("submitted")
        .into_inner()
        .demand
        .expect("demand")
}

async fn demand(service: &TestService, client: &mut Client, id: &str) -> pb::Demand {
    let request = pb::GetDemandRequest { id: id.into() };
    client.get_demand(service.request(request, &[Role::Staff])).await.expect("demand").into_inner().demand.expect("d")
}

async fn demand_history(service: &TestService, client: &mut Client, id: &str) -> Vec<pb::DemandHistoryEntry> {
    let request = pb::ListDemandHistoryRequest { demand_id: id.into(), ..Default::default() };
    client.list_demand_history(service.request(request, &[Role::Staff])).await.expect("history").into_inner().entries
}

fn create_request(title: &str, demand_ids: &[&str], reason: &str) -> pb::CreateCommonIssueRequest {
    pb::CreateCommonIssueRequest {
        common_issue: Some(pb::CommonIssue {
            title: title.into(),
            description: "企业普遍反映：渔船抵押贷款利率高于一般工商贷款。\n建议协调金融机构。".into(),
            category: "finance_credit".into(),
            ..Default::default()
        }),
        demand_ids: demand_ids.iter().map(|s| (*s).to_owned()).collect(),
        reason: reason.into(),
        request_id: String::new(),
    }
}

async fn create(
    service: &TestService,
    client: &mut Client,
    request: pb::CreateCommonIssueRequest,
) -> Result<pb::CommonIssue, tonic::Status> {
    client
        .create_common_issue(service.request(request, &[Role::Staff]))
        .await
        .map(|r| r.into_inner().common_issue.expect("common issue"))
}

async fn get(service: &TestService, client: &mut Client, id: &str) -> pb::CommonIssue {
    let request = pb::GetCommonIssueRequest { id: id.into() };
    client
        .get_common_issue(service.request(request, &[Role::Leader]))
        .await
        .expect("common issue")
        .into_inner()
        .common_issue
        .expect("common issue")
}

async fn issue_history(service: &TestService, client: &mut Client, id: &str) -> Vec<pb::CommonIssueHistoryEntry> {
    let request = pb::ListCommonIssueHistoryRequest { common_issue_id: id.into(), ..Default::default() };
    client
        .list_common_issue_history(service.request(request, &[Role::Analyst]))
        .await
        .expect("history")
        .into_inner()
        .entries
}

async fn add(
    service: &TestService,
    client: &mut Client,
    id: &str,
    demand_ids: &[&str],
    etag: &str,
) -> Result<pb::CommonIssue, tonic::Status> {
    let request = pb::AddDemandsToCommonIssueRequest {
        common_issue_id: id.into(),
        demand_ids: demand_ids.iter().map(|s| (*s).to_owned()).collect(),
        reason: "同属融资成本问题".into(),
        etag: etag.into(),
    };
    client
        .add_demands_to_common_issue(service.request(request, &[Role::Staff]))
        .await
        .map(|r| r.into_inner().common_issue.expect("common issue"))
}

async fn move_demand(
    service: &TestService,
    client: &mut Client,
    demand_id: &str,
    to: &str,
    reason: &str,
) -> Result<pb::MoveDemandResponse, tonic::Status> {
    let request =
        pb::MoveDemandRequest { demand_id: demand_id.into(), to_common_issue_id: to.into(), reason: reason.into() };
    client.move_demand(service.request(request, &[Role::Staff])).await.map(tonic::Response::into_inner)
}

async fn split(
    service: &TestService,
    client: &mut Client,
    id: &str,
    demand_ids: &[&str],
    new_title: &str,
    etag: &str,
) -> Result<pb::SplitOutDemandsResponse, tonic::Status> {
    let request = pb::SplitOutDemandsRequest {
        common_issue_id: id.into(),
        demand_ids: demand_ids.iter().map(|s| (*s).to_owned()).collect(),
        new_title: new_title.into(),
        reason: "该诉求实为物流问题，与融资无关".into(),
        etag: etag.into(),
    };
    client.split_out_demands(service.request(request, &[Role::Staff])).await.map(tonic::Response::into_inner)
}

async fn rename(
    service: &TestService,
    client: &mut Client,
    id: &str,
    title: &str,
    reason: &str,
    etag: &str,
) -> Result<pb::CommonIssue, tonic::Status> {
    let request =
        pb::RenameCommonIssueRequest { id: id.into(), title: title.into(), reason: reason.into(), etag: etag.into() };
    client
        .rename_common_issue(service.request(request, &[Role::Staff]))
        .await
        .map(|r| r.into_inner().common_issue.expect("common issue"))
}

async fn list(
    service: &TestService,
    client: &mut Client,
    request: pb::ListCommonIssuesRequest,
) -> Result<pb::ListCommonIssuesResponse, tonic::Status> {
    client.list_common_issues(service.request(request, &[Role::Staff])).await.map(tonic::Response::into_inner)
}

/// Ids of every common issue a list request matches, following the pages.
async fn list_all(service: &TestService, client: &mut Client, mut request: pb::ListCommonIssuesRequest) -> Vec<String> {
    let mut ids = Vec::new();
    loop {
        let page = list(service, client, request.clone()).await.expect("listed");
        ids.extend(page.common_issues.into_iter().map(|c| c.id));
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

/// The CommonIssueChanged payloads in the outbox, oldest first.
async fn changes(service: &TestService) -> Vec<(String, pb::CommonIssueChanged)> {
    outbox(service)
        .await
        .into_iter()
        .filter(|(_, t, _)| t == "tingjian.intake.common_issue_changed")
        .map(|(s, _, e)| (s, pb::CommonIssueChanged::decode(e.data.as_slice()).expect("payload")))
        .collect()
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// Forming a common issue: members in joining order, duplicates ignored, enterprises counted once,
/// each member demand linked with a MERGED entry appended to its own history (author, text and
/// earlier entries unchanged), the issue's first history entry, CommonIssueFormed in the outbox, and
/// idempotent retries.
async fn form_and_read(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let (a, b) = (enterprise(&service, &mut client, 1).await, enterprise(&service, &mut client, 2).await);
    let a1 = submit(&service, &mut client, &a, "渔船抵押贷款利率偏高").await;
    let a2 = submit(&service, &mut client, &a, "流动资金贷款难").await;
    let b1 = submit(&service, &mut client, &b, "远洋捕捞企业融资成本高").await;
    let before = demand_history(&service, &mut client, &b1.id).await;

    let mut request = create_request(TITLE, &[&a1.id, &b1.id, &a2.id, &a1.id], REASON);
    request.common_issue.as_mut().expect("issue").category = "金融信贷".into();
    request.request_id = "form-1".into();
    let issue = create(&service, &mut client, request.clone()).await.expect("formed");
    assert_eq!(issue.title, TITLE);
    assert_eq!(issue.category, "finance_credit", "a category name resolves to its code");
    assert_eq!(issue.status, pb::CommonIssueStatus::Open as i32);
    assert_eq!(issue.demand_ids, ids(&[&a1.id, &b1.id, &a2.id]), "request order, duplicates dropped");
    assert_eq!(issue.demand_count, 3);
    assert_eq!(issue.enterprise_count, 2, "two demands of one enterprise count it once");
    assert_eq!(issue.enterprise_ids, ids(&[&a, &b]));
    assert_eq!(issue.etag, "v1");
    assert_eq!(issue.created_by, "test-user");
    assert!(issue.description.contains('\n'), "the description keeps its line breaks");
    assert_eq!(get(&service, &mut client, &issue.id).await, issue);

    // Each member demand points at the issue, with a new revision and a MERGED entry appended.
    let merged = demand(&service, &mut client, &b1.id).await;
    assert_eq!(merged.common_issue_id, issue.id);
    assert_ne!(merged.etag, b1.etag, "the demand's revision moved on");
    assert_eq!(
        (merged.submitter.as_str(), merged.title.as_str(), merged.text.as_str()),
        (b1.submitter.as_str(), b1.title.as_str(), b1.text.as_str())
    );
    let after = demand_history(&service, &mut client, &b1.id).await;
    assert_eq!(after[..before.len()], before[..], "earlier demand history is untouched");
    let last = after.last().expect("entry");
    assert_eq!(last.action, pb::DemandAction::Merged as i32);
    assert_eq!(last.to_common_issue_id, issue.id);
    assert_eq!(last.reason, REASON);
    assert_eq!(last.from_status, last.to_status, "merging does not change the demand's status");
    assert_eq!(last.actor, "test-user");

    let history = issue_history(&service, &mut client, &issue.id).await;
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].sequence, 1);
    assert_eq!(history[0].action, pb::CommonIssueAction::Created as i32);
    assert_eq!(history[0].demand_ids, issue.demand_ids);
    assert_eq!(history[0].new_title, TITLE);
    assert_eq!(history[0].reason, REASON);
    assert_eq!(history[0].actor, "test-user");

    let formed: Vec<_> =
        outbox(&service).await.into_iter().filter(|(_, t, _)| t == "tingjian.intake.common_issue_formed").collect();
    assert_eq!(formed.len(), 1);
    let (subject, _, envelope) = &formed[0];
    assert_eq!(subject, &format!("common_issues/{}", issue.id));
    assert_eq!(envelope.data_schema, "tingjian.intake.v1.CommonIssueFormed");
    let payload = pb::CommonIssueFormed::decode(envelope.data.as_slice()).expect("payload");
    assert_eq!(payload.common_issue_id, issue.id);
    assert_eq!(payload.demand_ids, issue.demand_ids);
    assert_eq!(payload.enterprise_ids, issue.enterprise_ids);
    assert_eq!((payload.reason.as_str(), payload.actor.as_str()), (REASON, "test-user"));

    // A retry returns the first issue; the same request id for something else is ALREADY_EXISTS.
    assert_eq!(create(&service, &mut client, request.clone()).await.expect("retried"), issue);
    let mut other = request.clone();
    other.reason = "另一个理由".into();
    let status = create(&service, &mut client, other).await.expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    let total = list(&service, &mut client, pb::ListCommonIssuesRequest::default()).await.expect("list").total_size;
    assert_eq!(total, 1, "retries form nothing new");
}
on_both_backends!(forming_a_common_issue, super::form_and_read);

/// Bad requests name their field; unknown ids are NOT_FOUND; roles are checked; a refused call
/// changes nothing and records no event.
async fn bad_requests(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let a = enterprise(&service, &mut client, 1).await;
    let d = submit(&service, &mut client, &a, "专利申请名额不足").await;
    let events_before = outbox(&service).await.len();

    let cases: Vec<(pb::CreateCommonIssueRequest, &[&str])> = vec![
        (create_request(" ", &[&d.id], REASON), &["common_issue.title"]),
        (create_request(&"融".repeat(201), &[&d.id], REASON), &["common_issue.title"]),
        (create_request(TITLE, &[&d.id], ""), &["reason"]),
        (create_request(TITLE, &[&d.id], &"因".repeat(1001)), &["reason"]),
        (create_request(TITLE, &[], REASON), &["demand_ids"]),
        (create_request(TITLE, &[&d.id, "not-an-id"], REASON), &["demand_ids[1]"]),
        (create_request("", &[], ""), &["common_issue.title", "reason", "demand_ids"]),
    ];
    for (request, fields) in cases {
        let status = create(&service, &mut client, request).await.expect_err("invalid");
        for field in fields {
            assert_field_violation(&status, field);
        }
    }
    let mut long = create_request(TITLE, &[&d.id], REASON);
    long.common_issue.as_mut().expect("issue").description = "述".repeat(5001);
    assert_field_violation(&create(&service, &mut client, long).await.expect_err("long"), "common_issue.description");
    let mut unknown = create_request(TITLE, &[&d.id], REASON);
    unknown.common_issue.as_mut().expect("issue").category = "fishing_quota".into();
    assert_field_violation(
        &create(&service, &mut client, unknown).await.expect_err("category"),
        "common_issue.category",
    );
    let mut no_issue = create_request(TITLE, &[&d.id], REASON);
    no_issue.common_issue = None;
    assert_field_violation(&create(&service, &mut client, no_issue).await.expect_err("no issue"), "common_issue.title");

    // An unknown demand: NOT_FOUND, and the known one stays unmerged.
    let missing = tingjian_runtime::wire::new_id();
    let status =
        create(&service, &mut client, create_request(TITLE, &[&d.id, &missing], REASON)).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(status.message().contains(&missing));
    assert_eq!(demand(&service, &mut client, &d.id).await.common_issue_id, "");

    // Roles: members, enterprises and netizens do not merge; enterprises and netizens do not read.
    for roles in [&[Role::Member][..], &[Role::Enterprise], &[Role::Analyst]] {
        let request = service.request(create_request(TITLE, &[&d.id], REASON), roles);
        let status = client.create_common_issue(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{roles:?}");
    }
    let status = client
        .create_common_issue(tonic::Request::new(create_request(TITLE, &[&d.id], REASON)))
        .await
        .expect_err("no token");
    assert_eq!(status.code(), Code::Unauthenticated);
    for roles in [&[Role::Enterprise][..], &[Role::Netizen]] {
        let request = service.request(pb::ListCommonIssuesRequest::default(), roles);
        assert_eq!(client.list_common_issues(request).await.expect_err("refused").code(), Code::PermissionDenied);
    }

    assert_eq!(outbox(&service).await.len(), events_before, "refused calls record no event");

    // A withdrawn demand asks for nothing any more.
    let withdrawn = submit(&service, &mut client, &a, "已解决的诉求").await;
    let request =
        pb::WithdrawDemandRequest {
            id: withdrawn.id.clone(), reason: "企业已自行解决".into(), etag: String::new()
        };
    client.withdraw_demand(service.request(request, &[Role::Staff])).await.expect("withdrawn");
    let events_before_withdrawn = outbox(&service).await.len();
    let status =
        create(&service, &mut client, create_request(TITLE, &[&withdrawn.id], REASON)).await.expect_err("withdrawn");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("WITHDRAWN"), "{status:?}");
    assert_eq!(outbox(&service).await.len(), events_before_withdrawn);

    // Unknown and malformed issue ids, on every operation.
    let nobody = tingjian_runtime::wire::new_id();
    let request = pb::GetCommonIssueRequest { id: nobody.clone() };
    let status = client.get_common_issue(service.request(request, &[Role::Staff])).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let request = pb::GetCommonIssueRequest { id: "nope".into() };
    let status = client.get_common_issue(service.request(request, &[Role::Staff])).await.expect_err("bad id");
    assert_field_violation(&status, "id");
    assert_eq!(add(&service, &mut client, &nobody, &[&d.id], "").await.expect_err("unknown").code(), Code::NotFound);
    assert_eq!(demand(&service, &mut client, &d.id).await.common_issue_id, "", "nothing claimed for a missing issue");
    assert_field_violation(&add(&service, &mut client, "x", &[], "").await.expect_err("bad"), "common_issue_id");
    assert_field_violation(&add(&service, &mut client, &nobody, &[], "").await.expect_err("bad"), "demand_ids");
    assert_eq!(
        rename(&service, &mut client, &nobody, "新标题", "理由", "").await.expect_err("unknown").code(),
        Code::NotFound
    );
    assert_eq!(
        split(&service, &mut client, &nobody, &[&d.id], "", "").await.expect_err("unknown").code(),
        Code::NotFound
    );
    let request = pb::ListCommonIssueHistoryRequest { common_issue_id: nobody.clone(), ..Default::default() };
    let status = client.list_common_issue_history(service.request(request, &[Role::Staff])).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = move_demand(&service, &mut client, &nobody, &nobody, "理由").await.expect_err("unknown demand");
    assert_eq!(status.code(), Code::NotFound);
    let status = move_demand(&service, &mut client, &d.id, "bad", "").await.expect_err("bad");
    assert_field_violation(&status, "to_common_issue_id");
    assert_field_violation(&status, "reason");

    assert_eq!(outbox(&service).await.len(), events_before_withdrawn, "refused calls record no event");
}
on_both_backends!(bad_requests_are_refused, super::bad_requests);

/// A demand belongs to at most one common issue: merging it into another is FAILED_PRECONDITION
/// naming the first, and the whole call changes nothing; adding is idempotent for members; etags are
/// checked; two concurrent merges of one demand leave it in exactly one issue.
async fn one_issue_per_demand(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let (a, b, c) = (
        enterprise(&service, &mut client, 1).await,
        enterprise(&service, &mut client, 2).await,
        enterprise(&service, &mut client, 3).await,
    );
    let d1 = submit(&service, &mut client, &a, "融资难").await;
    let d2 = submit(&service, &mut client, &b, "融资贵").await;
    let d3 = submit(&service, &mut client, &c, "贷款利率高").await;
    let x = create(&service, &mut client, create_request("融资问题甲", &[&d1.id], REASON)).await.expect("x");
    let events = outbox(&service).await.len();

    let status = create(&service, &mut client, create_request("融资问题乙", &[&d2.id, &d1.id], REASON))
        .await
        .expect_err("already merged");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains(&x.id), "the message names the other issue: {status:?}");
    assert_eq!(demand(&service, &mut client, &d2.id).await.common_issue_id, "", "the call changed nothing");
    assert_eq!(outbox(&service).await.len(), events, "and recorded no event");
    assert_eq!(list(&service, &mut client, Default::default()).await.expect("list").total_size, 1);

    let y = create(&service, &mut client, create_request("融资问题乙", &[&d2.id], REASON)).await.expect("y");
    let status = add(&service, &mut client, &y.id, &[&d3.id, &d1.id], "").await.expect_err("already merged");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains(&x.id), "{status:?}");
    assert_eq!(demand(&service, &mut client, &d3.id).await.common_issue_id, "", "d3 was not added either");

    // Adding members again changes nothing.
    let same = add(&service, &mut client, &y.id, &[&d2.id], &y.etag).await.expect("no-op");
    assert_eq!(same, get(&service, &mut client, &y.id).await);
    assert_eq!(same.etag, y.etag);
    assert_eq!(issue_history(&service, &mut client, &y.id).await.len(), 1);

    // Stale etags are ABORTED; the current one passes.
    let status = add(&service, &mut client, &y.id, &[&d3.id], "v9").await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    assert_eq!(add(&service, &mut client, &y.id, &[&d3.id], "garbage").await.expect_err("bad").code(), Code::Aborted);
    let y2 = add(&service, &mut client, &y.id, &[&d3.id, &d2.id], &y.etag).await.expect("added");
    assert_eq!(y2.demand_ids, ids(&[&d2.id, &d3.id]));
    assert_eq!(y2.enterprise_count, 2);
    assert_eq!(y2.etag, "v2");
    let entry = issue_history(&service, &mut client, &y.id).await.pop().expect("entry");
    assert_eq!(entry.action, pb::CommonIssueAction::DemandsAdded as i32);
    assert_eq!(entry.demand_ids, ids(&[&d3.id]), "only the demands actually added");
    let (subject, added) = changes(&service).await.pop().expect("changed event");
    assert_eq!(subject, format!("common_issues/{}", y.id));
    assert_eq!(added.action, pb::CommonIssueAction::DemandsAdded as i32);
    assert_eq!(added.member_demand_ids, y2.demand_ids);
    assert_eq!(added.enterprise_count, 2);

    // Concurrent merges of one demand: exactly one wins.
    let e = submit(&service, &mut client, &a, "争抢的诉求").await;
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let mut client = client.clone();
            let request = service.request(create_request(&format!("并发{i}"), &[&e.id], REASON), &[Role::Staff]);
            tokio::spawn(async move { client.create_common_issue(request).await.map(|r| r.into_inner()) })
        })
        .collect();
    let mut won = Vec::new();
    for task in tasks {
        match task.await.expect("task") {
            Ok(response) => won.push(response.common_issue.expect("issue").id),
            Err(status) => assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one merge wins");
    assert_eq!(demand(&service, &mut client, &e.id).await.common_issue_id, won[0]);
    let members: i64 = on_pool!(&service.database.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM common_issue_member WHERE demand_id = $1").bind(&e.id).fetch_one(pool).await
    })
    .expect("count");
    assert_eq!(members, 1);
}
on_both_backends!(a_demand_is_in_at_most_one_issue, super::one_issue_per_demand);

/// Moving and splitting only change membership and append history: every earlier entry of every
/// history stays as it was, each demand keeps its author and text, enterprise counts follow, an issue
/// left empty is DISSOLVED (and then refuses changes), and each change reports its events.
async fn move_and_split(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let (a, b, c) = (
        enterprise(&service, &mut client, 1).await,
        enterprise(&service, &mut client, 2).await,
        enterprise(&service, &mut client, 3).await,
    );
    let a1 = submit(&service, &mut client, &a, "甲企业融资难").await;
    let b1 = submit(&service, &mut client, &b, "乙企业融资难").await;
    let c1 = submit(&service, &mut client, &c, "丙企业冷链物流成本高").await;
    let a2 = submit(&service, &mut client, &a, "甲企业第二项融资诉求").await;
    let unmerged = submit(&service, &mut client, &b, "未合并的诉求").await;
    let x =
        create(&service, &mut client, create_request("融资难", &[&a1.id, &b1.id, &c1.id], REASON)).await.expect("x");
    let y = create(&service, &mut client, create_request("甲企业融资", &[&a2.id], REASON)).await.expect("y");
    assert_eq!(x.enterprise_count, 3);

    let x_before = issue_history(&service, &mut client, &x.id).await;
    let y_before = issue_history(&service, &mut client, &y.id).await;
    let b1_before = demand_history(&service, &mut client, &b1.id).await;

    // Move b1 from X to Y.
    let moved = move_demand(&service, &mut client, &b1.id, &y.id, "乙企业诉求与甲企业更接近").await.expect("moved");
    let (from, to) = (moved.from_common_issue.expect("from"), moved.to_common_issue.expect("to"));
    assert_eq!(from.demand_ids, ids(&[&a1.id, &c1.id]));
    assert_eq!(from.enterprise_count, 2);
    assert_eq!(to.demand_ids, ids(&[&a2.id, &b1.id]), "a moved demand joins last");
    assert_eq!(to.enterprise_ids, ids(&[&a, &b]));
    assert_eq!(demand(&service, &mut client, &b1.id).await.common_issue_id, y.id);
    let x_after = issue_history(&service, &mut client, &x.id).await;
    assert_eq!(x_after[..x_before.len()], x_before[..], "X's earlier history is untouched");
    let out = &x_after[x_before.len()];
    assert_eq!(out.action, pb::CommonIssueAction::DemandMovedOut as i32);
    assert_eq!((out.demand_ids.clone(), out.other_common_issue_id.as_str()), (ids(&[&b1.id]), y.id.as_str()));
    assert_eq!(out.sequence, 2);
    let y_after = issue_history(&service, &mut client, &y.id).await;
    assert_eq!(y_after[..y_before.len()], y_before[..], "Y's earlier history is untouched");
    let into = &y_after[y_before.len()];
    assert_eq!(into.action, pb::CommonIssueAction::DemandMovedIn as i32);
    assert_eq!(into.other_common_issue_id, x.id);
    let b1_after = demand_history(&service, &mut client, &b1.id).await;
    assert_eq!(b1_after[..b1_before.len()], b1_before[..], "b1's earlier history is untouched");
    let entry = b1_after.last().expect("entry");
    assert_eq!(entry.action, pb::DemandAction::Moved as i32);
    assert_eq!(
        (entry.from_common_issue_id.as_str(), entry.to_common_issue_id.as_str()),
        (x.id.as_str(), y.id.as_str())
    );
    let events = changes(&service).await;
    let last_two: Vec<_> = events[events.len() - 2..].iter().map(|(s, e)| (s.clone(), e.action)).collect();
    assert_eq!(
        last_two,
        [
            (format!("common_issues/{}", x.id), pb::CommonIssueAction::DemandMovedOut as i32),
            (format!("common_issues/{}", y.id), pb::CommonIssueAction::DemandMovedIn as i32),
        ],
        "a move reports one event on each issue"
    );

    // Moves that make no sense.
    let status = move_demand(&service, &mut client, &b1.id, &y.id, "再移一次").await.expect_err("same issue");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = move_demand(&service, &mut client, &unmerged.id, &y.id, "移入").await.expect_err("unmerged");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("AddDemandsToCommonIssue"), "{status:?}");
    let nowhere = tingjian_runtime::wire::new_id();
    let status = move_demand(&service, &mut client, &b1.id, &nowhere, "移入").await.expect_err("unknown target");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(demand(&service, &mut client, &b1.id).await.common_issue_id, y.id, "failed moves change nothing");

    // Split c1 out of X into a new issue.
    let x_before = issue_history(&service, &mut client, &x.id).await;
    let c1_before = demand_history(&service, &mut client, &c1.id).await;
    let x_now = get(&service, &mut client, &x.id).await;
    let status = split(&service, &mut client, &x.id, &[&c1.id], "", "v1").await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let status = split(&service, &mut client, &x.id, &[&b1.id], "", "").await.expect_err("not a member");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains(&b1.id), "{status:?}");
    assert_field_violation(
        &split(&service, &mut client, &x.id, &[&c1.id], &"新".repeat(201), "").await.expect_err("long"),
        "new_title",
    );
    let done = split(&service, &mut client, &x.id, &[&c1.id], "冷链物流成本高", &x_now.etag).await.expect("split");
    let (source, formed) = (done.source_common_issue.expect("source"), done.new_common_issue.expect("new"));
    assert_eq!(source.demand_ids, ids(&[&a1.id]));
    assert_eq!(source.enterprise_count, 1);
    assert_eq!(formed.demand_ids, ids(&[&c1.id]));
    assert_eq!((formed.title.as_str(), formed.category.as_str()), ("冷链物流成本高", x.category.as_str()));
    assert_eq!(demand(&service, &mut client, &c1.id).await.common_issue_id, formed.id);
    let x_after = issue_history(&service, &mut client, &x.id).await;
    assert_eq!(x_after[..x_before.len()], x_before[..]);
    let entry = x_after.last().expect("entry");
    assert_eq!(entry.action, pb::CommonIssueAction::DemandsSplitOut as i32);
    assert_eq!(entry.other_common_issue_id, formed.id);
    let created = issue_history(&service, &mut client, &formed.id).await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].action, pb::CommonIssueAction::Created as i32);
    assert_eq!(created[0].other_common_issue_id, x.id, "the new issue remembers where it came from");
    let c1_after = demand_history(&service, &mut client, &c1.id).await;
    assert_eq!(c1_after[..c1_before.len()], c1_before[..]);
    let entry = c1_after.last().expect("entry");
    assert_eq!(entry.action, pb::DemandAction::SplitOut as i32);
    assert_eq!(
        (entry.from_common_issue_id.as_str(), entry.to_common_issue_id.as_str()),
        (x.id.as_str(), formed.id.as_str())
    );
    let formed_events: Vec<_> = outbox(&service)
        .await
        .into_iter()
        .filter(|(s, t, _)| t == "tingjian.intake.common_issue_formed" && s == &format!("common_issues/{}", formed.id))
        .collect();
    assert_eq!(formed_events.len(), 1);

    // Split the last demand out of X, unmerged: X is dissolved and keeps its history.
    let x_before = issue_history(&service, &mut client, &x.id).await;
    let done = split(&service, &mut client, &x.id, &[&a1.id], "", "").await.expect("split");
    let dissolved = done.source_common_issue.expect("source");
    assert!(done.new_common_issue.is_none());
    assert_eq!(dissolved.status, pb::CommonIssueStatus::Dissolved as i32);
    assert_eq!((dissolved.demand_count, dissolved.enterprise_count), (0, 0));
    assert_eq!(demand(&service, &mut client, &a1.id).await.common_issue_id, "");
    let x_after = issue_history(&service, &mut client, &x.id).await;
    assert_eq!(x_after[..x_before.len()], x_before[..]);
    let tail: Vec<_> = x_after[x_before.len()..].iter().map(|e| (e.action, e.status)).collect();
    assert_eq!(
        tail,
        [
            (pb::CommonIssueAction::DemandsSplitOut as i32, 0),
            (pb::CommonIssueAction::StatusChanged as i32, pb::CommonIssueStatus::Dissolved as i32)
        ]
    );
    let sequences: Vec<_> = x_after.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=x_after.len() as i64).collect::<Vec<_>>(), "gap-free");
    let (_, event) = changes(&service).await.pop().expect("event");
    assert_eq!(event.status, pb::CommonIssueStatus::Dissolved as i32);

    // A dissolved issue refuses changes; the unmerged demand can join another issue.
    let status = add(&service, &mut client, &x.id, &[&unmerged.id], "").await.expect_err("dissolved");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("DISSOLVED"), "{status:?}");
    let status = rename(&service, &mut client, &x.id, "新名", "理由", "").await.expect_err("dissolved");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = move_demand(&service, &mut client, &b1.id, &x.id, "移回").await.expect_err("dissolved");
    assert_eq!(status.code(), Code::FailedPrecondition);
    add(&service, &mut client, &y.id, &[&a1.id], "").await.expect("a1 joins Y");

    // Authors and texts never changed; every demand's history only grew.
    for (original, before) in [(&a1, 1usize), (&b1, 1), (&c1, 1)] {
        let now = demand(&service, &mut client, &original.id).await;
        assert_eq!(
            (now.submitter.as_str(), now.title.as_str(), now.text.as_str()),
            (original.submitter.as_str(), original.title.as_str(), original.text.as_str())
        );
        let history = demand_history(&service, &mut client, &original.id).await;
        assert!(history.len() > before);
        assert_eq!(history[0].action, pb::DemandAction::Submitted as i32, "the submission entry is still first");
    }

    // The histories are append-only in the database itself.
    let result = on_pool!(&service.database.db, pool => {
        sqlx::query("UPDATE common_issue_history SET reason = 'rewritten' WHERE common_issue_id = $1")
            .bind(&x.id)
            .execute(pool)
            .await
            .map(|_| ())
    });
    assert!(result.is_err(), "history rows cannot be rewritten");
    let result = on_pool!(&service.database.db, pool => {
        sqlx::query("DELETE FROM common_issue_history WHERE common_issue_id = $1").bind(&x.id).execute(pool).await.map(|_| ())
    });
    assert!(result.is_err(), "history rows cannot be deleted");
}
on_both_backends!(moves_and_splits_keep_every_history, super::move_and_split);

/// Renaming keeps the old title in the history, checks its inputs and the etag, and reports an event.
async fn rename_issue(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let a = enterprise(&service, &mut client, 1).await;
    let d = submit(&service, &mut client, &a, "专利申请名额少").await;
    let issue = create(&service, &mut client, create_request("专利名额", &[&d.id], REASON)).await.expect("issue");

    assert_field_violation(
        &rename(&service, &mut client, &issue.id, " ", "理由", "").await.expect_err("empty"),
        "title",
    );
    assert_field_violation(
        &rename(&service, &mut client, &issue.id, &"专".repeat(201), "理由", "").await.expect_err("long"),
        "title",
    );
    assert_field_violation(
        &rename(&service, &mut client, &issue.id, "专利申请名额不足", "", "").await.expect_err("reason"),
        "reason",
    );
    let status = rename(&service, &mut client, &issue.id, "专利申请名额不足", "理由", "v7").await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);

    let renamed =
        rename(&service, &mut client, &issue.id, "专利申请名额不足", "标题更准确", &issue.etag).await.expect("renamed");
    assert_eq!(renamed.title, "专利申请名额不足");
    assert_eq!(renamed.etag, "v2");
    assert_eq!(renamed.demand_ids, issue.demand_ids);
    let entry = issue_history(&service, &mut client, &issue.id).await.pop().expect("entry");
    assert_eq!(entry.action, pb::CommonIssueAction::Renamed as i32);
    assert_eq!((entry.old_title.as_str(), entry.new_title.as_str()), ("专利名额", "专利申请名额不足"));
    assert_eq!(entry.reason, "标题更准确");
    let (subject, event) = changes(&service).await.pop().expect("event");
    assert_eq!(subject, format!("common_issues/{}", issue.id));
    assert_eq!((event.action, event.title.as_str()), (pb::CommonIssueAction::Renamed as i32, "专利申请名额不足"));

    let same = rename(&service, &mut client, &issue.id, "专利申请名额不足", "再改一次", "").await.expect("same title");
    assert_eq!(same.etag, "v2", "the same title changes nothing");
    assert_eq!(issue_history(&service, &mut client, &issue.id).await.len(), 2);
}
on_both_backends!(renaming_keeps_the_old_title, super::rename_issue);

/// Lists: newest first, keyset pages without gaps or repeats, total size, every filter, bad page
/// tokens and sizes; the history pages too.
async fn lists_and_pages(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let (a, b) = (enterprise(&service, &mut client, 1).await, enterprise(&service, &mut client, 2).await);
    let mut formed = Vec::new();
    for i in 0..7 {
        let owner = if i % 3 == 0 { &b } else { &a };
        let d = submit(&service, &mut client, owner, &format!("诉求{i}")).await;
        let mut request = create_request(&format!("共性问题{i}：融资"), &[&d.id], REASON);
        if i >= 5 {
            let issue = request.common_issue.as_mut().expect("issue");
            issue.category = "logistics".into();
            issue.title = format!("共性问题{i}：物流");
        }
        formed.push(create(&service, &mut client, request).await.expect("formed"));
    }
    let newest_first: Vec<String> = formed.iter().rev().map(|c| c.id.clone()).collect();

    let page = list(&service, &mut client, pb::ListCommonIssuesRequest { page_size: 3, ..Default::default() })
        .await
        .expect("page");
    assert_eq!(page.common_issues.len(), 3);
    assert_eq!(page.total_size, 7);
    assert!(!page.next_page_token.is_empty());
    let all = list_all(&service, &mut client, pb::ListCommonIssuesRequest { page_size: 3, ..Default::default() }).await;
    assert_eq!(all, newest_first, "newest first, no gaps, no repeats");
    let one_by_one =
        list_all(&service, &mut client, pb::ListCommonIssuesRequest { page_size: 1, ..Default::default() }).await;
    assert_eq!(one_by_one, newest_first);
    let big = list(&service, &mut client, pb::ListCommonIssuesRequest { page_size: 10_000, ..Default::default() })
        .await
        .expect("capped");
    assert_eq!(big.common_issues.len(), 7);
    assert!(big.next_page_token.is_empty());

    let logistics = list_all(
        &service,
        &mut client,
        pb::ListCommonIssuesRequest { category: "logistics".into(), ..Default::default() },
    )
    .await;
    assert_eq!(logistics, newest_first[..2].to_vec());
    let by_name = list_all(
        &service,
        &mut client,
        pb::ListCommonIssuesRequest { category: "物流运输".into(), ..Default::default() },
    )
    .await;
    assert_eq!(by_name, logistics, "a category name filters like its code");
    let titled = list_all(
        &service,
        &mut client,
        pb::ListCommonIssuesRequest { title_query: "物流".into(), ..Default::default() },
    )
    .await;
    assert_eq!(titled, logistics);
    let of_b =
        list_all(&service, &mut client, pb::ListCommonIssuesRequest { enterprise_id: b.clone(), ..Default::default() })
            .await;
    assert_eq!(of_b, vec![formed[6].id.clone(), formed[3].id.clone(), formed[0].id.clone()]);
    let open = list_all(
        &service,
        &mut client,
        pb::ListCommonIssuesRequest { statuses: vec![pb::CommonIssueStatus::Open as i32], ..Default::default() },
    )
    .await;
    assert_eq!(open.len(), 7);
    let dissolved = list_all(
        &service,
        &mut client,
        pb::ListCommonIssuesRequest { statuses: vec![pb::CommonIssueStatus::Dissolved as i32], ..Default::default() },
    )
    .await;
    assert!(dissolved.is_empty());
    let this_year = chrono::Utc::now().with_timezone(&tingjian_runtime::time::china());
    let period = |year: i32| Some(Period { kind: PeriodKind::Year as i32, year, number: 0 });
    let now = list_all(
        &service,
        &mut client,
        pb::ListCommonIssuesRequest { period: period(this_year.year()), ..Default::default() },
    )
    .await;
    assert_eq!(now.len(), 7);
    let then = list(&service, &mut client, pb::ListCommonIssuesRequest { period: period(2020), ..Default::default() })
        .await
        .expect("2020");
    assert_eq!((then.common_issues.len(), then.total_size), (0, 0));

    // Bad requests.
    let status =
        list(&service, &mut client, pb::ListCommonIssuesRequest { page_token: "garbage".into(), ..Default::default() })
            .await
            .expect_err("bad token");
    assert_field_violation(&status, "page_token");
    let status = list(&service, &mut client, pb::ListCommonIssuesRequest { page_size: -1, ..Default::default() })
        .await
        .expect_err("negative");
    assert_field_violation(&status, "page_size");
    let status = list(
        &service,
        &mut client,
        pb::ListCommonIssuesRequest { statuses: vec![42], enterprise_id: "x".into(), ..Default::default() },
    )
    .await
    .expect_err("bad filters");
    assert_field_violation(&status, "statuses[0]");
    assert_field_violation(&status, "enterprise_id");
    let status = list(
        &service,
        &mut client,
        pb::ListCommonIssuesRequest {
            period: Some(Period { kind: PeriodKind::Month as i32, year: 2024, number: 13 }),
            ..Default::default()
        },
    )
    .await
    .expect_err("bad period");
    assert_field_violation(&status, "period.number");

    // History pages, oldest first.
    let issue = &formed[1];
    rename(&service, &mut client, &issue.id, "改名一", "理由一", "").await.expect("renamed");
    rename(&service, &mut client, &issue.id, "改名二", "理由二", "").await.expect("renamed");
    let mut request = pb::ListCommonIssueHistoryRequest {
        common_issue_id: issue.id.clone(),
        page_size: 2,
        page_token: String::new(),
    };
    let mut sequences = Vec::new();
    loop {
        let page = client
            .list_common_issue_history(service.request(request.clone(), &[Role::Staff]))
            .await
            .expect("page")
            .into_inner();
        sequences.extend(page.entries.iter().map(|e| e.sequence));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(sequences, [1, 2, 3]);
    request.page_token = "zz".into();
    let status =
        client.list_common_issue_history(service.request(request, &[Role::Staff])).await.expect_err("bad token");
    assert_field_violation(&status, "page_token");
    let history_token = {
        let request = pb::ListCommonIssueHistoryRequest {
            common_issue_id: formed[1].id.clone(),
            page_size: 1,
            page_token: String::new(),
        };
        client
            .list_common_issue_history(service.request(request, &[Role::Staff]))
            .await
            .expect("history")
            .into_inner()
            .next_page_token
    };
    let foreign = pb::ListCommonIssuesRequest { page_token: history_token, ..Default::default() };
    assert_field_violation(&list(&service, &mut client, foreign).await.expect_err("foreign token"), "page_token");
}
on_both_backends!(lists_filter_and_paginate, super::lists_and_pages);
