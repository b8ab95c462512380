//! Consultation: topics (协商议题) drawn from real intake common issues, on SQLite and on PostgreSQL —
//! creating and reading them with their bad inputs (unknown common issue, unknown plan, missing
//! fields), idempotent retries, lists with filters and pages, updates with their etags, adopting and
//! withdrawing with the events written to the outbox in the same transaction.

use prost::Message as _;
use prost_types::FieldMask;
use tingjian_proto::common::v1::{Event, PersonRef};
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use tingjian_runtime::on_pool;
use tingjian_tests::suite::{Suite, leader, member, staff};
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;

type Client = ConsultationServiceClient<Channel>;

const ISSUE_TITLE: &str = "远洋渔业相关企业综合融资成本高";

/// Creates the plan of `year` and returns its id.
pub async fn plan(suite: &Suite, client: &mut Client, year: i32) -> String {
    let request = pb::CreatePlanRequest {
        plan: Some(pb::Plan {
            year, title: format!("{year}年度市委市政府市政协重大协商计划"), ..Default::default()
        }),
        request_id: String::new(),
    };
    client.create_plan(suite.as_(&staff(), request)).await.expect("plan created").into_inner().plan.expect("plan").id
}

/// A valid topic of `plan_id` drawn from `issue_ids`, answered by the mayor, face to face.
pub fn topic(plan_id: &str, issue_ids: &[&str]) -> pb::Topic {
    pb::Topic {
        plan_id: plan_id.into(),
        title: "降低远洋渔业企业综合融资成本".into(),
        background: "远洋渔业企业普遍反映渔船抵押贷款利率偏高、抵押物认定难。".into(),
        common_issue_ids: issue_ids.iter().map(|s| (*s).to_owned()).collect(),
        leader: Some(PersonRef { display_name: "王市长".into(), title: "市长".into(), ..Default::default() }),
        format: pb::SessionFormat::FaceToFace as i32,
        stakeholders: vec![
            pb::Stakeholder {
                kind: pb::StakeholderKind::Industry as i32,
                code: "ocean_fishing".into(),
                name: "远洋渔业".into(),
            },
            pb::Stakeholder {
                kind: pb::StakeholderKind::Group as i32,
                code: "industrial_workers".into(),
                name: "产业工人".into(),
            },
        ],
        lead_committee: "经济委员会".into(),
        ..Default::default()
    }
}

/// Creates `topic` as staff.
pub async fn create(suite: &Suite, client: &mut Client, topic: pb::Topic) -> Result<pb::Topic, tonic::Status> {
    let request = pb::CreateTopicRequest { topic: Some(topic), request_id: String::new() };
    Ok(client.create_topic(suite.as_(&staff(), request)).await?.into_inner().topic.expect("topic"))
}

async fn get(suite: &Suite, client: &mut Client, id: &str) -> Result<pb::Topic, tonic::Status> {
    let request = pb::GetTopicRequest { id: id.into() };
    Ok(client.get_topic(suite.as_(&member("member-li"), request)).await?.into_inner().topic.expect("topic"))
}

/// The outbox rows (subject, event type, envelope), oldest first.
async fn outbox(service: &TestService) -> Vec<(String, String, Event)> {
    let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&service.database.db, pool => {
        sqlx::query_as("SELECT subject, event_type, envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
    })
    .expect("outbox");
    rows.into_iter().map(|(s, t, e)| (s, t, Event::decode(e.as_slice()).expect("envelope"))).collect()
}

/// Creating a topic from a real common issue and reading it back: every field, the copied common-issue
/// title, PROPOSED with an etag, the plan's topic count, and idempotent retries.
async fn create_and_get(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let plan_id = plan(&suite, &mut client, 2026).await;
    let (issue, _) = suite.financing_issue(100).await;

    let mut wanted = topic(&plan_id, &[&issue.id, &issue.id]);
    wanted.title = "  降低远洋渔业企业综合融资成本  ".into();
    let request = pb::CreateTopicRequest { topic: Some(wanted.clone()), request_id: "topic-1".into() };
    let created = client.create_topic(suite.as_(&staff(), request.clone())).await.expect("created").into_inner();
    let created = created.topic.expect("topic");
    assert_eq!(created.plan_id, plan_id);
    assert_eq!(created.title, "降低远洋渔业企业综合融资成本", "trimmed");
    assert_eq!(created.common_issue_ids, [issue.id.as_str()], "duplicates dropped");
    assert_eq!(created.status, pb::TopicStatus::Proposed as i32);
    assert_eq!(created.format, pb::SessionFormat::FaceToFace as i32);
    assert_eq!(created.leader.as_ref().expect("leader").title, "市长");
    assert_eq!(created.stakeholders.len(), 2);
    assert_eq!(created.stakeholders[1].name, "产业工人");
    assert_eq!(created.lead_committee, "经济委员会");
    assert_eq!(created.created_by, "staff-wang");
    assert_eq!(created.etag, "v1");
    assert!(created.expert_ids.is_empty() && created.session_ids.is_empty());

    let read = get(&suite, &mut client, &created.id).await.expect("read");
    assert_eq!(read, created);

    let title: String = on_pool!(&suite.consultation.database.db, pool => {
        sqlx::query_scalar("SELECT title FROM topic_common_issue WHERE topic_id = $1")
            .bind(&created.id)
            .fetch_one(pool)
            .await
    })
    .expect("copied title");
    assert_eq!(title, ISSUE_TITLE);

    // A retry with the same request id returns the first topic; with another request it is refused.
    let again = client.create_topic(suite.as_(&staff(), request.clone())).await.expect("retry").into_inner();
    assert_eq!(again.topic.expect("topic").id, created.id);
    let mut other = request.clone();
    other.topic.as_mut().expect("topic").title = "另一个议题".into();
    let status = client.create_topic(suite.as_(&staff(), other)).await.expect_err("different request");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    let plan = client
        .get_plan(suite.as_(&leader(), pb::GetPlanRequest { id: plan_id.clone() }))
        .await
        .expect("plan")
        .into_inner()
        .plan
        .expect("plan");
    assert_eq!(plan.topic_count, 1);

    let status = get(&suite, &mut client, &tingjian_runtime::wire::new_id()).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = get(&suite, &mut client, "不是标识").await.expect_err("malformed");
    assert_field_violation(&status, "id");
}
on_both_backends!(creating_and_reading_a_topic, super::create_and_get);

/// Bad inputs of CreateTopic: unknown common issue and plan, missing fields, and who may create.
async fn create_bad_inputs(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let plan_id = plan(&suite, &mut client, 2026).await;
    let (issue, _) = suite.financing_issue(110).await;
    let unknown = tingjian_runtime::wire::new_id();

    let status = create(&suite, &mut client, topic(&plan_id, &[&issue.id, &unknown])).await.expect_err("unknown issue");
    assert_field_violation(&status, "topic.common_issue_ids[1]");
    let status = create(&suite, &mut client, topic(&unknown, &[&issue.id])).await.expect_err("unknown plan");
    assert_field_violation(&status, "topic.plan_id");
    let status = create(&suite, &mut client, topic(&plan_id, &[])).await.expect_err("no issue");
    assert_field_violation(&status, "topic.common_issue_ids");

    let mut bad = topic(&plan_id, &[&issue.id]);
    bad.title = "   ".into();
    bad.leader = Some(PersonRef::default());
    bad.format = 0;
    bad.stakeholders.push(pb::Stakeholder { kind: 0, code: String::new(), name: String::new() });
    let status = create(&suite, &mut client, bad).await.expect_err("missing fields");
    for field in
        ["topic.title", "topic.leader", "topic.format", "topic.stakeholders[2].kind", "topic.stakeholders[2].code"]
    {
        assert_field_violation(&status, field);
    }
    let mut no_leader = topic(&plan_id, &[&issue.id]);
    no_leader.leader = None;
    let status = create(&suite, &mut client, no_leader).await.expect_err("no leader");
    assert_field_violation(&status, "topic.leader");
    let mut unknown_enterprise = topic(&plan_id, &[&issue.id]);
    unknown_enterprise.stakeholders.push(pb::Stakeholder {
        kind: pb::StakeholderKind::Enterprise as i32,
        code: unknown.clone(),
        name: String::new(),
    });
    let status = create(&suite, &mut client, unknown_enterprise).await.expect_err("unknown enterprise");
    assert_field_violation(&status, "topic.stakeholders[2].code");
    let status = client
        .create_topic(suite.as_(&staff(), pb::CreateTopicRequest { topic: None, request_id: String::new() }))
        .await
        .expect_err("no topic");
    assert_field_violation(&status, "topic");

    let request = pb::CreateTopicRequest { topic: Some(topic(&plan_id, &[&issue.id])), request_id: String::new() };
    let status = client.create_topic(suite.as_(&member("member-li"), request)).await.expect_err("a member");
    assert_eq!(status.code(), Code::PermissionDenied);

    let topics: i64 = on_pool!(&suite.consultation.database.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM topic").fetch_one(pool).await
    })
    .expect("count");
    assert_eq!(topics, 0, "nothing written by a refused request");
}
on_both_backends!(bad_topics_are_refused, super::create_bad_inputs);

/// Updating a topic: only the masked fields change, the etag moves on, a stale etag is ABORTED, an
/// unknown common issue or field is refused, and a withdrawn topic no longer changes.
async fn update(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let plan_id = plan(&suite, &mut client, 2026).await;
    let (issue, _) = suite.financing_issue(120).await;
    let created = create(&suite, &mut client, topic(&plan_id, &[&issue.id])).await.expect("created");

    let change = |topic: pb::Topic, paths: &[&str]| pb::UpdateTopicRequest {
        topic: Some(topic),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let edit = pb::Topic {
        id: created.id.clone(),
        title: "推进远洋渔业企业融资降本".into(),
        background: "不应被写入".into(),
        format: pb::SessionFormat::Interactive as i32,
        leader: Some(PersonRef {
            display_name: "李书记".into(), title: "市委书记".into(), ..Default::default()
        }),
        etag: created.etag.clone(),
        ..Default::default()
    };
    let updated = client
        .update_topic(suite.as_(&staff(), change(edit.clone(), &["title", "format", "leader"])))
        .await
        .expect("updated")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(updated.title, "推进远洋渔业企业融资降本");
    assert_eq!(updated.format, pb::SessionFormat::Interactive as i32);
    assert_eq!(updated.leader.as_ref().expect("leader").title, "市委书记");
    assert_eq!(updated.background, created.background, "not in the mask");
    assert_eq!(updated.common_issue_ids, created.common_issue_ids);
    assert_eq!(updated.stakeholders, created.stakeholders);
    assert_eq!(updated.etag, "v2");

    let status =
        client.update_topic(suite.as_(&staff(), change(edit.clone(), &["title"]))).await.expect_err("stale etag");
    assert_eq!(status.code(), Code::Aborted, "{status:?}");

    let unknown = tingjian_runtime::wire::new_id();
    let mut issues = pb::Topic { id: created.id.clone(), ..Default::default() };
    issues.common_issue_ids = vec![issue.id.clone(), unknown];
    let status = client
        .update_topic(suite.as_(&staff(), change(issues, &["common_issue_ids"])))
        .await
        .expect_err("unknown issue");
    assert_field_violation(&status, "topic.common_issue_ids[1]");
    let blank = pb::Topic { id: created.id.clone(), ..Default::default() };
    let status =
        client.update_topic(suite.as_(&staff(), change(blank.clone(), &["title"]))).await.expect_err("empty title");
    assert_field_violation(&status, "topic.title");
    let status =
        client.update_topic(suite.as_(&staff(), change(blank.clone(), &["plan_id"]))).await.expect_err("immutable");
    assert_field_violation(&status, "update_mask");
    let status = client.update_topic(suite.as_(&staff(), change(blank.clone(), &[]))).await.expect_err("no mask");
    assert_field_violation(&status, "update_mask");
    let missing = pb::Topic { id: tingjian_runtime::wire::new_id(), title: "某议题".into(), ..Default::default() };
    let status = client.update_topic(suite.as_(&staff(), change(missing, &["title"]))).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    let stakeholders = pb::Topic {
        id: created.id.clone(),
        stakeholders: vec![pb::Stakeholder {
            kind: pb::StakeholderKind::District as i32,
            code: "putuo".into(),
            name: "普陀区".into(),
        }],
        ..Default::default()
    };
    let updated = client
        .update_topic(suite.as_(&staff(), change(stakeholders, &["stakeholders"])))
        .await
        .expect("stakeholders")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(updated.stakeholders.len(), 1);
    assert_eq!(updated.stakeholders[0].code, "putuo");
    assert_eq!(updated.title, "推进远洋渔业企业融资降本");

    let request =
        pb::WithdrawTopicRequest { id: created.id.clone(), reason: "并入其他议题".into(), etag: String::new() };
    client.withdraw_topic(suite.as_(&staff(), request)).await.expect("withdrawn");
    let mut late = blank;
    late.title = "撤销后修改".into();
    let status = client.update_topic(suite.as_(&staff(), change(late, &["title"]))).await.expect_err("withdrawn");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("WITHDRAWN"), "{}", status.message());
}
on_both_backends!(updating_a_topic, super::update);

/// Adopting and withdrawing: PROPOSED → ADOPTED → WITHDRAWN, each with its event in the outbox;
/// illegal transitions name the current status; stale etags are ABORTED; a reason is required.
async fn adopt_and_withdraw(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let plan_id = plan(&suite, &mut client, 2026).await;
    let (issue, _) = suite.financing_issue(130).await;
    let created = create(&suite, &mut client, topic(&plan_id, &[&issue.id])).await.expect("created");

    let adopt = |id: &str, etag: &str| pb::AdoptTopicRequest { id: id.into(), etag: etag.into() };
    let status = client.adopt_topic(suite.as_(&staff(), adopt(&created.id, "v7"))).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let status =
        client.adopt_topic(suite.as_(&member("member-li"), adopt(&created.id, ""))).await.expect_err("a member");
    assert_eq!(status.code(), Code::PermissionDenied);
    let adopted = client
        .adopt_topic(suite.as_(&staff(), adopt(&created.id, &created.etag)))
        .await
        .expect("adopted")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(adopted.status, pb::TopicStatus::Adopted as i32);
    assert_eq!(adopted.etag, "v2");
    let status = client.adopt_topic(suite.as_(&staff(), adopt(&created.id, ""))).await.expect_err("again");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("ADOPTED"), "{}", status.message());
    let status = client
        .adopt_topic(suite.as_(&staff(), adopt(&tingjian_runtime::wire::new_id(), "")))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    let withdraw = |reason: &str, etag: &str| pb::WithdrawTopicRequest {
        id: created.id.clone(),
        reason: reason.into(),
        etag: etag.into(),
    };
    let status = client.withdraw_topic(suite.as_(&staff(), withdraw("  ", ""))).await.expect_err("no reason");
    assert_field_violation(&status, "reason");
    let status = client.withdraw_topic(suite.as_(&staff(), withdraw("重复", "v1"))).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let withdrawn = client
        .withdraw_topic(suite.as_(&staff(), withdraw("与2026年第二季度议题重复，予以撤销", "v2")))
        .await
        .expect("withdrawn")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(withdrawn.status, pb::TopicStatus::Withdrawn as i32);
    assert_eq!(withdrawn.status_reason, "与2026年第二季度议题重复，予以撤销");
    let status = client.withdraw_topic(suite.as_(&staff(), withdraw("再次撤销", ""))).await.expect_err("final");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("WITHDRAWN"), "{}", status.message());
    let status = client.adopt_topic(suite.as_(&staff(), adopt(&created.id, ""))).await.expect_err("withdrawn");
    assert!(status.message().contains("WITHDRAWN"), "{}", status.message());

    let events = outbox(&suite.consultation).await;
    let types: Vec<&str> = events.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(types, ["tingjian.consultation.topic_adopted", "tingjian.consultation.topic_withdrawn"]);
    let subject = format!("topics/{}", created.id);
    assert!(events.iter().all(|(s, _, e)| *s == subject && e.subject == subject));
    let adopted_event = pb::TopicAdopted::decode(events[0].2.data.as_slice()).expect("payload");
    assert_eq!(adopted_event.topic_id, created.id);
    assert_eq!(adopted_event.plan_id, plan_id);
    assert_eq!(adopted_event.year, 2026);
    assert_eq!(adopted_event.title, created.title);
    assert_eq!(adopted_event.common_issue_ids, [issue.id.as_str()]);
    assert_eq!(adopted_event.format, pb::SessionFormat::FaceToFace as i32);
    assert_eq!(adopted_event.leader.expect("leader").title, "市长");
    assert_eq!(adopted_event.actor, "staff-wang");
    assert_eq!(events[0].2.data_schema, "tingjian.consultation.v1.TopicAdopted");
    let withdrawn_event = pb::TopicWithdrawn::decode(events[1].2.data.as_slice()).expect("payload");
    assert_eq!(withdrawn_event.reason, "与2026年第二季度议题重复，予以撤销");
    assert_eq!(withdrawn_event.common_issue_ids, [issue.id.as_str()]);
    assert_eq!(withdrawn_event.actor, "staff-wang");
}
on_both_backends!(adopting_and_withdrawing_a_topic, super::adopt_and_withdraw);

/// Listing topics: newest first, filtered by plan, status, format and common issue, in pages that
/// join up without gaps or repeats; bad filters and tokens are refused.
async fn list(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let plan_2026 = plan(&suite, &mut client, 2026).await;
    let plan_2027 = plan(&suite, &mut client, 2027).await;
    let (issue, _) = suite.financing_issue(140).await;
    let other = suite
        .demand(
            &suite.enterprise(150, "舟山市定海船舶修造有限公司", "advanced_manufacturing", "dinghai").await,
            "船舶修造用地紧张",
            "land",
        )
        .await;
    let other = suite.common_issue("船舶修造企业用地紧张", "land", &[other.id]).await;

    let mut ids = Vec::new();
    for i in 0..5 {
        let mut t = topic(if i < 4 { &plan_2026 } else { &plan_2027 }, &[if i == 2 { &other.id } else { &issue.id }]);
        t.title = format!("议题{i}");
        if i == 1 {
            t.format = pb::SessionFormat::Online as i32;
        }
        ids.push(create(&suite, &mut client, t).await.expect("created").id);
    }
    client
        .adopt_topic(suite.as_(&staff(), pb::AdoptTopicRequest { id: ids[3].clone(), etag: String::new() }))
        .await
        .expect("adopted");

    let list = |request: pb::ListTopicsRequest| {
        let mut client = client.clone();
        let request = suite.as_(&leader(), request);
        async move { client.list_topics(request).await.map(|r| r.into_inner()) }
    };
    let titles = |r: &pb::ListTopicsResponse| r.topics.iter().map(|t| t.title.clone()).collect::<Vec<_>>();

    let all = list(pb::ListTopicsRequest::default()).await.expect("all");
    assert_eq!(titles(&all), ["议题4", "议题3", "议题2", "议题1", "议题0"], "newest first");
    let of_plan = list(pb::ListTopicsRequest { plan_id: plan_2027.clone(), ..Default::default() }).await.expect("plan");
    assert_eq!(titles(&of_plan), ["议题4"]);
    let adopted = list(pb::ListTopicsRequest { statuses: vec![pb::TopicStatus::Adopted as i32], ..Default::default() })
        .await
        .expect("adopted");
    assert_eq!(titles(&adopted), ["议题3"]);
    let online = list(pb::ListTopicsRequest { format: pb::SessionFormat::Online as i32, ..Default::default() })
        .await
        .expect("online");
    assert_eq!(titles(&online), ["议题1"]);
    let of_issue =
        list(pb::ListTopicsRequest { common_issue_id: other.id.clone(), ..Default::default() }).await.expect("issue");
    assert_eq!(titles(&of_issue), ["议题2"]);

    let mut seen = Vec::new();
    let mut request = pb::ListTopicsRequest { plan_id: plan_2026.clone(), page_size: 3, ..Default::default() };
    loop {
        let page = list(request.clone()).await.expect("page");
        assert!(page.topics.len() <= 3);
        seen.extend(titles(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(seen, ["议题3", "议题2", "议题1", "议题0"]);

    let status = list(pb::ListTopicsRequest { statuses: vec![9], ..Default::default() }).await.expect_err("status");
    assert_field_violation(&status, "statuses[0]");
    let status =
        list(pb::ListTopicsRequest { plan_id: "某计划".into(), ..Default::default() }).await.expect_err("plan");
    assert_field_violation(&status, "plan_id");
    let status =
        list(pb::ListTopicsRequest { page_token: "zz".into(), ..Default::default() }).await.expect_err("token");
    assert_field_violation(&status, "page_token");
    let status = list(pb::ListTopicsRequest { page_size: -1, ..Default::default() }).await.expect_err("size");
    assert_field_violation(&status, "page_size");
    let first = list(pb::ListTopicsRequest { page_size: 1, ..Default::default() }).await.expect("first page");
    let status =
        list(pb::ListTopicsRequest { plan_id: plan_2026, page_token: first.next_page_token, ..Default::default() })
            .await
            .expect_err("token of other filters");
    assert_field_violation(&status, "page_token");
}
on_both_backends!(listing_topics, super::list);
