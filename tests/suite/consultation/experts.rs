//! Consultation: the think tank (智库), on SQLite and on PostgreSQL — experts with their fields of
//! expertise, created idempotently, read, listed by name with filters and pages, updated with etags,
//! retired (inactive), and attached to and detached from topics.

use prost_types::FieldMask;
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use tingjian_tests::suite::{Suite, leader, member, staff};
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;

use crate::topics::{create, plan, topic};

type Client = ConsultationServiceClient<Channel>;

fn expert(name: &str, fields: &[&str]) -> pb::Expert {
    pb::Expert {
        name: name.into(),
        fields: fields.iter().map(|f| (*f).to_owned()).collect(),
        organisation: "浙江海洋大学".into(),
        title: "教授".into(),
        bio: "长期从事海洋经济与金融研究。".into(),
        ..Default::default()
    }
}

async fn add(suite: &Suite, client: &mut Client, expert: pb::Expert) -> Result<pb::Expert, tonic::Status> {
    let request = pb::CreateExpertRequest { expert: Some(expert), request_id: String::new() };
    Ok(client.create_expert(suite.as_(&staff(), request)).await?.into_inner().expert.expect("expert"))
}

async fn names(suite: &Suite, client: &mut Client, request: pb::ListExpertsRequest) -> Vec<String> {
    let page = client.list_experts(suite.as_(&leader(), request)).await.expect("list").into_inner();
    page.experts.into_iter().map(|e| e.name).collect()
}

fn update(expert: pb::Expert, paths: &[&str]) -> pb::UpdateExpertRequest {
    pb::UpdateExpertRequest {
        expert: Some(expert),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    }
}

/// Creating, reading, listing and updating experts, with their bad inputs.
async fn think_tank(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();

    let request = pb::CreateExpertRequest {
        expert: Some(expert(" 李明 ", &["金融", "海洋经济", "金融"])),
        request_id: "expert-li".into(),
    };
    let li = client.create_expert(suite.as_(&staff(), request.clone())).await.expect("created").into_inner();
    let li = li.expert.expect("expert");
    assert_eq!(li.name, "李明");
    assert_eq!(li.fields, ["金融", "海洋经济"], "duplicates dropped");
    assert_eq!(li.organisation, "浙江海洋大学");
    assert!(li.active, "a new expert is active");
    assert_eq!(li.etag, "v1");
    assert!(li.topic_ids.is_empty());
    let again = client.create_expert(suite.as_(&staff(), request.clone())).await.expect("retry").into_inner();
    assert_eq!(again.expert.expect("expert").id, li.id);
    let mut different = request.clone();
    different.expert.as_mut().expect("expert").title = "研究员".into();
    let status = client.create_expert(suite.as_(&staff(), different)).await.expect_err("different request");
    assert_eq!(status.code(), Code::AlreadyExists);

    let wang = add(&suite, &mut client, expert("王芳", &["港航物流"])).await.expect("wang");
    let chen = add(&suite, &mut client, expert("陈刚", &["金融"])).await.expect("chen");

    let read = client
        .get_expert(suite.as_(&member("member-li"), pb::GetExpertRequest { id: li.id.clone() }))
        .await
        .expect("read")
        .into_inner()
        .expert
        .expect("expert");
    assert_eq!(read, li);
    let status = client
        .get_expert(suite.as_(&staff(), pb::GetExpertRequest { id: tingjian_runtime::wire::new_id() }))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    // Bad inputs.
    let status = add(&suite, &mut client, expert(" ", &[])).await.expect_err("no name, no field");
    assert_field_violation(&status, "expert.name");
    assert_field_violation(&status, "expert.fields");
    let status = add(&suite, &mut client, expert("赵强", &["金融", " "])).await.expect_err("empty field");
    assert_field_violation(&status, "expert.fields[1]");
    let status = add(&suite, &mut client, expert(&"专".repeat(51), &["金融"])).await.expect_err("long name");
    assert_field_violation(&status, "expert.name");
    let status = client
        .create_expert(suite.as_(&staff(), pb::CreateExpertRequest { expert: None, request_id: String::new() }))
        .await
        .expect_err("no expert");
    assert_field_violation(&status, "expert");
    let request = pb::CreateExpertRequest { expert: Some(expert("赵强", &["金融"])), request_id: String::new() };
    let status = client.create_expert(suite.as_(&member("member-li"), request)).await.expect_err("a member");
    assert_eq!(status.code(), Code::PermissionDenied);

    // Lists, by name (code point order), filtered and paged.
    assert_eq!(names(&suite, &mut client, pb::ListExpertsRequest::default()).await, ["李明", "王芳", "陈刚"]);
    let finance = pb::ListExpertsRequest { field: "金融".into(), ..Default::default() };
    assert_eq!(names(&suite, &mut client, finance).await, ["李明", "陈刚"]);
    let mut seen = Vec::new();
    let mut request = pb::ListExpertsRequest { page_size: 1, ..Default::default() };
    loop {
        let page = client.list_experts(suite.as_(&leader(), request.clone())).await.expect("page").into_inner();
        assert!(page.experts.len() <= 1);
        seen.extend(page.experts.into_iter().map(|e| e.id));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(seen, [li.id.clone(), wang.id.clone(), chen.id.clone()]);
    let status = client
        .list_experts(suite.as_(&leader(), pb::ListExpertsRequest { topic_id: "议题".into(), ..Default::default() }))
        .await
        .expect_err("bad topic");
    assert_field_violation(&status, "topic_id");

    // Updates.
    let edit = pb::Expert {
        id: wang.id.clone(),
        title: "研究员".into(),
        organisation: "不应被写入".into(),
        etag: wang.etag.clone(),
        ..Default::default()
    };
    let updated = client
        .update_expert(suite.as_(&staff(), update(edit.clone(), &["title"])))
        .await
        .expect("updated")
        .into_inner()
        .expert
        .expect("expert");
    assert_eq!(updated.title, "研究员");
    assert_eq!(updated.organisation, "浙江海洋大学", "not in the mask");
    assert_eq!(updated.fields, ["港航物流"]);
    assert_eq!(updated.etag, "v2");
    let status = client.update_expert(suite.as_(&staff(), update(edit, &["title"]))).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let fields =
        pb::Expert {
            id: wang.id.clone(), fields: vec!["港航物流".into(), "海洋经济".into()], ..Default::default()
        };
    let updated = client
        .update_expert(suite.as_(&staff(), update(fields, &["fields"])))
        .await
        .expect("fields")
        .into_inner()
        .expert
        .expect("expert");
    assert_eq!(updated.fields, ["港航物流", "海洋经济"]);
    let blank = pb::Expert { id: wang.id.clone(), ..Default::default() };
    let status =
        client.update_expert(suite.as_(&staff(), update(blank.clone(), &["fields"]))).await.expect_err("no field");
    assert_field_violation(&status, "expert.fields");
    let status =
        client.update_expert(suite.as_(&staff(), update(blank.clone(), &["topic_ids"]))).await.expect_err("path");
    assert_field_violation(&status, "update_mask");
    let missing = pb::Expert { id: tingjian_runtime::wire::new_id(), ..Default::default() };
    let status = client.update_expert(suite.as_(&staff(), update(missing, &["active"]))).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);

    // Retiring: an inactive expert leaves the default list.
    let retired = client
        .update_expert(suite.as_(&staff(), update(blank, &["active"])))
        .await
        .expect("retired")
        .into_inner()
        .expert
        .expect("expert");
    assert!(!retired.active);
    assert_eq!(names(&suite, &mut client, pb::ListExpertsRequest::default()).await, ["李明", "陈刚"]);
    let everyone = pb::ListExpertsRequest { include_inactive: true, ..Default::default() };
    assert_eq!(names(&suite, &mut client, everyone).await, ["李明", "王芳", "陈刚"]);
}
on_both_backends!(the_think_tank, super::think_tank);

/// Attaching and detaching experts: idempotent both ways, the topic's expert_ids and etag, the
/// expert's topic_ids, the topic filter of the list, and the refusals (inactive expert, unknown ids,
/// withdrawn topic). An expert can also be invited by hand.
async fn attach_and_detach(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let plan_id = plan(&suite, &mut client, 2026).await;
    let (issue, _) = suite.financing_issue(300).await;
    let created = create(&suite, &mut client, topic(&plan_id, &[&issue.id])).await.expect("topic");
    let li = add(&suite, &mut client, expert("李明", &["金融"])).await.expect("li");
    let wang = add(&suite, &mut client, expert("王芳", &["港航物流"])).await.expect("wang");

    let attach =
        |expert_id: &str| pb::AttachExpertRequest { topic_id: created.id.clone(), expert_id: expert_id.into() };
    let attached = client
        .attach_expert(suite.as_(&staff(), attach(&li.id)))
        .await
        .expect("attached")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(attached.expert_ids, [li.id.as_str()]);
    assert_eq!(attached.etag, "v2");
    let again = client
        .attach_expert(suite.as_(&staff(), attach(&li.id)))
        .await
        .expect("attached again")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(again.expert_ids, [li.id.as_str()], "attached once");
    assert_eq!(again.etag, "v2", "nothing changed");

    let read = client
        .get_expert(suite.as_(&staff(), pb::GetExpertRequest { id: li.id.clone() }))
        .await
        .expect("expert")
        .into_inner()
        .expert
        .expect("expert");
    assert_eq!(read.topic_ids, [created.id.as_str()]);
    let of_topic = pb::ListExpertsRequest { topic_id: created.id.clone(), ..Default::default() };
    assert_eq!(names(&suite, &mut client, of_topic.clone()).await, ["李明"]);

    // Refusals.
    let retire = pb::Expert { id: wang.id.clone(), active: false, ..Default::default() };
    client.update_expert(suite.as_(&staff(), update(retire, &["active"]))).await.expect("retired");
    let status = client.attach_expert(suite.as_(&staff(), attach(&wang.id))).await.expect_err("inactive");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("inactive"), "{}", status.message());
    let status = client
        .attach_expert(suite.as_(&staff(), attach(&tingjian_runtime::wire::new_id())))
        .await
        .expect_err("unknown expert");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .attach_expert(suite.as_(
            &staff(),
            pb::AttachExpertRequest { topic_id: tingjian_runtime::wire::new_id(), expert_id: li.id.clone() },
        ))
        .await
        .expect_err("unknown topic");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .attach_expert(
            suite.as_(&staff(), pb::AttachExpertRequest { topic_id: "议题".into(), expert_id: "专家".into() }),
        )
        .await
        .expect_err("malformed");
    assert_field_violation(&status, "topic_id");
    assert_field_violation(&status, "expert_id");
    let status = client.attach_expert(suite.as_(&member("member-li"), attach(&li.id))).await.expect_err("member");
    assert_eq!(status.code(), Code::PermissionDenied);

    // An expert invited by hand gets their name.
    let invite = pb::AddInvitationRequest {
        topic_id: created.id.clone(),
        invitation: Some(pb::Invitation {
            invitee_kind: pb::InviteeKind::Expert as i32,
            invitee_id: li.id.clone(),
            ..Default::default()
        }),
        reason: "智库专家".into(),
    };
    let invited = client
        .add_invitation(suite.as_(&staff(), invite))
        .await
        .expect("invited")
        .into_inner()
        .invitation
        .expect("invitation");
    assert_eq!(invited.display_name, "李明");

    let detach =
        |expert_id: &str| pb::DetachExpertRequest { topic_id: created.id.clone(), expert_id: expert_id.into() };
    let detached = client
        .detach_expert(suite.as_(&staff(), detach(&li.id)))
        .await
        .expect("detached")
        .into_inner()
        .topic
        .expect("topic");
    assert!(detached.expert_ids.is_empty());
    assert_eq!(detached.etag, "v3");
    let again = client
        .detach_expert(suite.as_(&staff(), detach(&li.id)))
        .await
        .expect("detached again")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(again.etag, "v3", "nothing changed");
    assert!(names(&suite, &mut client, of_topic).await.is_empty());

    let withdraw =
        pb::WithdrawTopicRequest { id: created.id.clone(), reason: "议题调整".into(), etag: String::new() };
    client.withdraw_topic(suite.as_(&staff(), withdraw)).await.expect("withdrawn");
    let status = client.attach_expert(suite.as_(&staff(), attach(&li.id))).await.expect_err("withdrawn");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("WITHDRAWN"), "{}", status.message());
}
on_both_backends!(attaching_experts_to_topics, super::attach_and_detach);
