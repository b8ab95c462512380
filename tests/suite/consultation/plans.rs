//! Consultation: annual plans (年度重大协商计划), on SQLite and on PostgreSQL — one per year, listed
//! newest year first in pages, updated with etags, counting their topics.

use prost_types::FieldMask;
use tingjian_proto::consultation::v1 as pb;
use tingjian_tests::suite::{Suite, enterprise_user, leader, member, staff};
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends};
use tonic::Code;

use crate::topics::{create, plan, topic};

fn update(plan: pb::Plan, paths: &[&str]) -> pb::UpdatePlanRequest {
    pb::UpdatePlanRequest {
        plan: Some(plan),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    }
}

/// Listing plans newest year first, by year, in pages; the topic count; who may read.
async fn list(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let mut ids = Vec::new();
    for year in [2025, 2027, 2026] {
        ids.push(plan(&suite, &mut client, year).await);
    }
    let (issue, _) = suite.financing_issue(400).await;
    for _ in 0..2 {
        create(&suite, &mut client, topic(&ids[2], &[&issue.id])).await.expect("topic");
    }

    let all =
        client.list_plans(suite.as_(&leader(), pb::ListPlansRequest::default())).await.expect("plans").into_inner();
    assert_eq!(all.plans.iter().map(|p| p.year).collect::<Vec<_>>(), [2027, 2026, 2025]);
    assert_eq!(all.plans.iter().map(|p| p.topic_count).collect::<Vec<_>>(), [0, 2, 0]);
    assert_eq!(all.plans[1].title, "2026年度市委市政府市政协重大协商计划");
    assert!(all.next_page_token.is_empty());

    let of_year = client
        .list_plans(suite.as_(&member("member-li"), pb::ListPlansRequest { year: 2026, ..Default::default() }))
        .await
        .expect("one year")
        .into_inner();
    assert_eq!(of_year.plans.len(), 1);
    assert_eq!(of_year.plans[0].id, ids[2]);

    let mut years = Vec::new();
    let mut request = pb::ListPlansRequest { page_size: 2, ..Default::default() };
    loop {
        let page = client.list_plans(suite.as_(&staff(), request.clone())).await.expect("page").into_inner();
        assert!(page.plans.len() <= 2);
        years.extend(page.plans.iter().map(|p| p.year));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(years, [2027, 2026, 2025]);

    let status = client
        .list_plans(suite.as_(&staff(), pb::ListPlansRequest { year: 1900, ..Default::default() }))
        .await
        .expect_err("year");
    assert_field_violation(&status, "year");
    let status = client
        .list_plans(suite.as_(&staff(), pb::ListPlansRequest { page_token: "不是令牌".into(), ..Default::default() }))
        .await
        .expect_err("token");
    assert_field_violation(&status, "page_token");
    let status = client
        .list_plans(suite.as_(&enterprise_user("e-1"), pb::ListPlansRequest::default()))
        .await
        .expect_err("an enterprise");
    assert_eq!(status.code(), Code::PermissionDenied);
}
on_both_backends!(listing_plans, super::list);

/// Updating a plan: masked fields only, etags, bad inputs.
async fn update_plan(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let id = plan(&suite, &mut client, 2026).await;

    let edit = pb::Plan {
        id: id.clone(),
        year: 2030,
        title: "不应被写入".into(),
        description: "围绕企业反映集中的融资、用地、物流问题开展重大协商。".into(),
        etag: "v1".into(),
        ..Default::default()
    };
    let updated = client
        .update_plan(suite.as_(&staff(), update(edit.clone(), &["description"])))
        .await
        .expect("updated")
        .into_inner()
        .plan
        .expect("plan");
    assert_eq!(updated.description, "围绕企业反映集中的融资、用地、物流问题开展重大协商。");
    assert_eq!(updated.title, "2026年度市委市政府市政协重大协商计划", "not in the mask");
    assert_eq!(updated.year, 2026, "the year does not change");
    assert_eq!(updated.etag, "v2");
    let status = client.update_plan(suite.as_(&staff(), update(edit, &["title"]))).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);

    let blank = pb::Plan { id: id.clone(), ..Default::default() };
    let status = client.update_plan(suite.as_(&staff(), update(blank.clone(), &["title"]))).await.expect_err("title");
    assert_field_violation(&status, "plan.title");
    let status = client.update_plan(suite.as_(&staff(), update(blank.clone(), &["year"]))).await.expect_err("year");
    assert_field_violation(&status, "update_mask");
    let status = client
        .update_plan(suite.as_(&member("member-li"), update(blank.clone(), &["title"])))
        .await
        .expect_err("member");
    assert_eq!(status.code(), Code::PermissionDenied);
    let missing = pb::Plan { id: tingjian_runtime::wire::new_id(), title: "某计划".into(), ..Default::default() };
    let status = client.update_plan(suite.as_(&staff(), update(missing, &["title"]))).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .update_plan(suite.as_(&staff(), pb::UpdatePlanRequest { plan: None, update_mask: None }))
        .await
        .expect_err("no plan");
    assert_field_violation(&status, "plan");

    let renamed = pb::Plan { id, title: "2026年度政企重大协商计划".into(), ..Default::default() };
    let updated = client
        .update_plan(suite.as_(&staff(), update(renamed, &["title"])))
        .await
        .expect("renamed")
        .into_inner()
        .plan
        .expect("plan");
    assert_eq!(updated.title, "2026年度政企重大协商计划");
    assert_eq!(updated.description, "围绕企业反映集中的融资、用地、物流问题开展重大协商。");
    assert_eq!(updated.etag, "v3");
}
on_both_backends!(updating_a_plan, super::update_plan);
