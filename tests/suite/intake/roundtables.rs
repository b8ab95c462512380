//! Roundtables (一月一座谈) through the intake API: recorded with their invitees and event, read,
//! listed newest first with filters and pages, and updated with a field mask and an etag.

use chrono::{Duration, Utc};
use tingjian_proto::common::v1::TimeRange;
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::Role;
use tingjian_runtime::wire::timestamp;
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends};
use tonic::Code;

use crate::enterprises::{Client, UNKNOWN_ID, enterprise, events_of, mask, outbox, register, start};

fn roundtable(title: &str, days_ago: i64, invited: &[&str]) -> pb::Roundtable {
    pb::Roundtable {
        title: title.into(),
        theme: "企业综合服务中心如何让更多企业知道、用好".into(),
        held_time: Some(timestamp(Utc::now() - Duration::days(days_ago))),
        venue: "舟山总商会政协委员会客厅".into(),
        host_ids: vec!["member-zhang".into()],
        invited_enterprise_ids: invited.iter().map(|s| (*s).to_owned()).collect(),
        entrepreneur_count: 15,
        summary: "企业家反映：融资难、物流成本高、专利申请周期长".into(),
        ..Default::default()
    }
}

async fn record(service: &TestService, client: &mut Client, r: pb::Roundtable) -> pb::Roundtable {
    client
        .create_roundtable(
            service.request(
                pb::CreateRoundtableRequest { roundtable: Some(r), request_id: String::new() },
                &[Role::Staff],
            ),
        )
        .await
        .expect("recorded")
        .into_inner()
        .roundtable
        .expect("roundtable")
}

async fn recording(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let a = register(&service, &mut client, enterprise(1, "舟山市某远洋渔业有限公司")).await;
    let b = register(&service, &mut client, enterprise(2, "舟山市某港航物流有限公司")).await;
    let events_before = outbox(&service).await.len();
    let create = |r: pb::Roundtable, request_id: &str| pb::CreateRoundtableRequest {
        roundtable: Some(r),
        request_id: request_id.into(),
    };

    let mut asked = roundtable("市企业综合服务中心知晓度提升座谈会", 2, &[&a.id, &b.id, &a.id]);
    asked.host_ids = vec!["member-zhang".into(), "staff-li".into()];
    let created = client
        .create_roundtable(service.request(create(asked.clone(), "rt-1"), &[Role::Member]))
        .await
        .expect("recorded")
        .into_inner()
        .roundtable
        .expect("roundtable");
    assert_eq!(created.title, "市企业综合服务中心知晓度提升座谈会");
    assert_eq!(created.invited_enterprise_ids, [a.id.clone(), b.id.clone()], "duplicates dropped, order kept");
    assert_eq!(created.host_ids, ["member-zhang", "staff-li"]);
    assert_eq!((created.entrepreneur_count, created.etag.as_str()), (15, "v1"));
    assert_eq!(created.summary, "企业家反映：融资难、物流成本高、专利申请周期长");
    assert!(created.demand_ids.is_empty());
    assert_eq!(created.created_by, "test-user");

    let held: Vec<(String, pb::RoundtableHeld)> =
        events_of(&service, "roundtable_held", "tingjian.intake.v1.RoundtableHeld").await;
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].0, format!("roundtables/{}", created.id));
    assert_eq!(held[0].1.invited_enterprise_ids, created.invited_enterprise_ids);
    assert_eq!(held[0].1.held_time, created.held_time);
    assert_eq!(held[0].1.entrepreneur_count, 15);

    // Retry and reused request id.
    let retry = client
        .create_roundtable(service.request(create(asked.clone(), "rt-1"), &[Role::Member]))
        .await
        .expect("retry")
        .into_inner()
        .roundtable
        .expect("roundtable");
    assert_eq!(retry, created);
    let mut other = asked.clone();
    other.title = "另一场座谈会".into();
    let status = client
        .create_roundtable(service.request(create(other, "rt-1"), &[Role::Member]))
        .await
        .expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists);

    // Get.
    let got = client
        .get_roundtable(service.request(pb::GetRoundtableRequest { id: created.id.clone() }, &[Role::Enterprise]))
        .await
        .expect("found")
        .into_inner()
        .roundtable
        .expect("roundtable");
    assert_eq!(got, created);
    let status = client
        .get_roundtable(service.request(pb::GetRoundtableRequest { id: UNKNOWN_ID.into() }, &[Role::Staff]))
        .await
        .expect_err("missing");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_roundtable(service.request(pb::GetRoundtableRequest { id: "座谈会".into() }, &[Role::Staff]))
        .await
        .expect_err("malformed");
    assert_field_violation(&status, "id");

    // Bad input, unknown invitees, callers without the role; nothing recorded.
    let mut bad = roundtable("", -1, &[&a.id, "企业"]);
    bad.summary = "谈".repeat(10_001);
    bad.entrepreneur_count = -1;
    bad.theme = "题".repeat(2_001);
    let status = client.create_roundtable(service.request(create(bad, ""), &[Role::Staff])).await.expect_err("bad");
    for field in [
        "roundtable.title",
        "roundtable.held_time",
        "roundtable.invited_enterprise_ids[1]",
        "roundtable.entrepreneur_count",
        "roundtable.summary",
        "roundtable.theme",
    ] {
        assert_field_violation(&status, field);
    }
    let status = client
        .create_roundtable(service.request(create(roundtable("座谈会", 1, &[&a.id, UNKNOWN_ID]), ""), &[Role::Staff]))
        .await
        .expect_err("unknown invitee");
    assert_field_violation(&status, "roundtable.invited_enterprise_ids[1]");
    let mut untimed = roundtable("座谈会", 1, &[]);
    untimed.held_time = None;
    let status =
        client.create_roundtable(service.request(create(untimed, ""), &[Role::Staff])).await.expect_err("no time");
    assert_field_violation(&status, "roundtable.held_time");
    let status = client
        .create_roundtable(service.request(create(roundtable("座谈会", 1, &[]), ""), &[Role::Analyst]))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(outbox(&service).await.len(), events_before + 1, "refused calls record no event");
    service.stop().await.expect("stops");
}

async fn listing_and_update(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let a = register(&service, &mut client, enterprise(1, "舟山市某远洋渔业有限公司")).await;
    let b = register(&service, &mut client, enterprise(2, "舟山市某港航物流有限公司")).await;
    let january = record(&service, &mut client, roundtable("一月座谈会", 90, &[&a.id])).await;
    let february = record(&service, &mut client, roundtable("二月座谈会", 60, &[&a.id, &b.id])).await;
    let march = record(&service, &mut client, roundtable("三月座谈会", 30, &[&b.id])).await;
    let lister = client.clone();
    let list = |r: pb::ListRoundtablesRequest| {
        let mut client = lister.clone();
        let request = service.request(r, &[Role::Analyst]);
        async move { client.list_roundtables(request).await }
    };
    let titles = |r: &pb::ListRoundtablesResponse| r.roundtables.iter().map(|t| t.title.clone()).collect::<Vec<_>>();

    // Newest first, over pages of two.
    let first = list(pb::ListRoundtablesRequest { page_size: 2, ..Default::default() }).await.expect("ok").into_inner();
    assert_eq!(titles(&first), ["三月座谈会", "二月座谈会"]);
    let second = list(pb::ListRoundtablesRequest {
        page_size: 2,
        page_token: first.next_page_token.clone(),
        ..Default::default()
    })
    .await
    .expect("ok")
    .into_inner();
    assert_eq!(titles(&second), ["一月座谈会"]);
    assert!(second.next_page_token.is_empty());

    // Filters: an invited enterprise, a time range.
    let of_a =
        list(pb::ListRoundtablesRequest { enterprise_id: a.id.clone(), ..Default::default() }).await.expect("ok");
    assert_eq!(titles(&of_a.into_inner()), ["二月座谈会", "一月座谈会"]);
    let range = TimeRange {
        start_time: Some(timestamp(Utc::now() - Duration::days(70))),
        end_time: Some(timestamp(Utc::now() - Duration::days(20))),
    };
    let in_range =
        list(pb::ListRoundtablesRequest { time_range: Some(range), ..Default::default() }).await.expect("ok");
    assert_eq!(titles(&in_range.into_inner()), ["三月座谈会", "二月座谈会"]);
    let status = list(pb::ListRoundtablesRequest { page_token: "abcd".into(), ..Default::default() })
        .await
        .expect_err("bad token");
    assert_field_violation(&status, "page_token");
    let status = list(pb::ListRoundtablesRequest {
        enterprise_id: a.id.clone(),
        page_token: first.next_page_token,
        ..Default::default()
    })
    .await
    .expect_err("token of other filters");
    assert_field_violation(&status, "page_token");

    // Update: masked fields only, invitees replaced, etag checked.
    let update = |r: pb::Roundtable, paths: &[&str]| pb::UpdateRoundtableRequest {
        roundtable: Some(r),
        update_mask: mask(paths),
    };
    let mut change = february.clone();
    change.summary = "补记：企业家提出港口物流降本需求".into();
    change.invited_enterprise_ids = vec![b.id.clone()];
    change.title = "ignored: not in the mask".into();
    change.entrepreneur_count = 18;
    let updated = client
        .update_roundtable(service.request(
            update(change.clone(), &["summary", "invited_enterprise_ids", "entrepreneur_count"]),
            &[Role::Staff],
        ))
        .await
        .expect("updated")
        .into_inner()
        .roundtable
        .expect("roundtable");
    assert_eq!(updated.summary, "补记：企业家提出港口物流降本需求");
    assert_eq!(updated.invited_enterprise_ids, [b.id.as_str()]);
    assert_eq!((updated.entrepreneur_count, updated.title.as_str(), updated.etag.as_str()), (18, "二月座谈会", "v2"));
    assert_eq!(updated.host_ids, february.host_ids);
    let of_a =
        list(pb::ListRoundtablesRequest { enterprise_id: a.id.clone(), ..Default::default() }).await.expect("ok");
    assert_eq!(titles(&of_a.into_inner()), ["一月座谈会"]);

    let status = client
        .update_roundtable(service.request(update(change.clone(), &["summary"]), &[Role::Staff]))
        .await
        .expect_err("stale etag");
    assert_eq!(status.code(), Code::Aborted);
    for paths in [&[][..], &["demand_ids"][..]] {
        let status = client
            .update_roundtable(service.request(update(updated.clone(), paths), &[Role::Staff]))
            .await
            .expect_err("bad mask");
        assert_field_violation(&status, "update_mask");
    }
    let mut unknown_invitee = updated.clone();
    unknown_invitee.invited_enterprise_ids = vec![UNKNOWN_ID.into()];
    let status = client
        .update_roundtable(service.request(update(unknown_invitee, &["invited_enterprise_ids"]), &[Role::Staff]))
        .await
        .expect_err("unknown invitee");
    assert_field_violation(&status, "roundtable.invited_enterprise_ids[0]");
    let mut untitled = updated.clone();
    untitled.title = String::new();
    let status = client
        .update_roundtable(service.request(update(untitled, &["title"]), &[Role::Staff]))
        .await
        .expect_err("empty title");
    assert_field_violation(&status, "roundtable.title");
    let mut unknown = march.clone();
    unknown.id = UNKNOWN_ID.into();
    let status = client
        .update_roundtable(service.request(update(unknown, &["title"]), &[Role::Staff]))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .update_roundtable(service.request(update(january.clone(), &["title"]), &[Role::Enterprise]))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    let mut retitled = january.clone();
    retitled.etag = String::new();
    retitled.title = "一月座谈会（助企恳谈）".into();
    let retitled = client
        .update_roundtable(service.request(update(retitled, &["title"]), &[Role::Member]))
        .await
        .expect("no etag")
        .into_inner()
        .roundtable
        .expect("roundtable");
    assert_eq!((retitled.title.as_str(), retitled.etag.as_str()), ("一月座谈会（助企恳谈）", "v2"));
    service.stop().await.expect("stops");
}

on_both_backends!(roundtable_recording, crate::roundtables::recording);
on_both_backends!(roundtable_listing_and_update, crate::roundtables::listing_and_update);
