//! The discipline-inspection API (纪检监察), on SQLite and on PostgreSQL: the change stream resuming from a
//! cursor after a disconnect with nothing missed or repeated, concurrent writers seen exactly once, the
//! item list's snapshot cursor, the supervision record, acknowledgements, referrals, and who may call.

use std::collections::HashSet;
use std::time::Duration;

use tingjian_proto::common::v1::{Period, PeriodKind, PersonRef};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::on_pool;
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends, outbox_payloads};
use tonic::{Code, Streaming};

use super::fixtures::{
    Harness, Inspection, case_of, china, inspector, jrb_head, jrb_officer, jtj, jxj, monday_2024_01_15, staff, unit,
};

/// How long a test waits for the next change before it fails.
const WAIT: Duration = Duration::from_secs(20);

/// A case from a suggestion, flagged for discipline inspection when `flagged`.
fn case(source_id: &str, flagged: bool) -> pb::Case {
    pb::Case { discipline_inspection: flagged, ..case_of(pb::CaseSourceKind::Suggestion, source_id) }
}

/// The change log as stored: (cursor, case id), in cursor order.
async fn change_log(h: &Harness) -> Vec<(i64, String)> {
    on_pool!(&h.service.database.db, pool => {
        sqlx::query_as("SELECT cursor, case_id FROM supervision_item_change ORDER BY cursor").fetch_all(pool).await
    })
    .expect("change log")
}

async fn subscribe(h: &mut Harness, after: &str) -> Streaming<pb::SubscribeSupervisionChangesResponse> {
    let request = h.as_(&inspector(), pb::SubscribeSupervisionChangesRequest { after_cursor: after.into() });
    h.inspection.subscribe_supervision_changes(request).await.expect("subscribed").into_inner()
}

/// The next change on `stream` (heartbeats skipped), its message's cursor equal to the change's.
async fn next_change(stream: &mut Streaming<pb::SubscribeSupervisionChangesResponse>) -> pb::SupervisionChange {
    loop {
        let message = tokio::time::timeout(WAIT, stream.message())
            .await
            .expect("a change arrives in time")
            .expect("the stream is healthy")
            .expect("the stream stays open");
        if let Some(change) = message.change {
            assert_eq!(message.cursor, change.cursor);
            return change;
        }
    }
}

/// Asserts nothing but heartbeats arrives on `stream` for a while.
async fn assert_quiet(stream: &mut Streaming<pb::SubscribeSupervisionChangesResponse>) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(900);
    while let Ok(message) = tokio::time::timeout_at(deadline, stream.message()).await {
        let message = message.expect("healthy").expect("open");
        assert!(message.change.is_none(), "unexpected change {:?}", message.change);
    }
}

async fn create_flagged(client: &mut super::fixtures::Client, h: &Harness, source_id: &str) -> pb::Case {
    let request = pb::CreateCaseRequest {
        case: Some(case(source_id, true)),
        request_id: String::new(),
        deadline_working_days: 10,
    };
    client.create_case(h.as_(&staff(), request)).await.expect("created").into_inner().case.expect("case")
}

fn referral(title: &str) -> pb::Referral {
    pb::Referral {
        title: title.into(),
        description: "企业反映其技改项目奖励申请提交后逾六个月未获答复，请督促主办单位限期办理并书面反馈。".into(),
        lead_unit: Some(jxj()),
        co_units: vec![jtj(), unit("zs-czj", "舟山市财政局")],
        responsible_head: Some(PersonRef {
            id: "zs-jxj-head".into(),
            display_name: "李明".into(),
            title: "局长".into(),
            organisation_id: "zs-jxj".into(),
        }),
        enterprise_id: "0193a1c2-0000-7000-8000-00000000e002".into(),
        category: "project_award".into(),
        deadline_working_days: 10,
        referring_officer: Some(PersonRef {
            id: "jw-officer-chen".into(),
            display_name: "陈立".into(),
            title: "第三监督检查室主任".into(),
            organisation_id: "zs-jw".into(),
        }),
        ..Default::default()
    }
}

async fn submit(
    inspection: &mut Inspection,
    h: &Harness,
    referral: pb::Referral,
    request_id: &str,
) -> Result<pb::SubmitReferralResponse, tonic::Status> {
    let request = pb::SubmitReferralRequest { referral: Some(referral), request_id: request_id.into() };
    inspection.submit_referral(h.as_(&inspector(), request)).await.map(tonic::Response::into_inner)
}

async fn list_items(h: &mut Harness, request: pb::ListSupervisionItemsRequest) -> pb::ListSupervisionItemsResponse {
    h.inspection.list_supervision_items(h.as_(&inspector(), request)).await.expect("items").into_inner()
}

/// Subscribes from the start, reads some changes, disconnects, misses more changes made meanwhile
/// (cases created and referred; an acknowledgement, which is no change), and resumes from the last cursor
/// received: the changes of both streams together are exactly the change log, in order, once each, and
/// cases not flagged never appear.
async fn stream_resumes_after_a_disconnect(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let mut client = h.client.clone();
    let mut flagged = Vec::new();
    let mut unflagged = Vec::new();
    for i in 0..3 {
        flagged.push(create_flagged(&mut client, &h, &format!("suggestion-flagged-{i}")).await.id);
        unflagged.push(h.dispatch(case(&format!("suggestion-plain-{i}"), false), 10).await.id);
    }

    let mut stream = subscribe(&mut h, "").await;
    let mut received = vec![next_change(&mut stream).await, next_change(&mut stream).await];
    drop(stream);

    for i in 3..5 {
        flagged.push(create_flagged(&mut client, &h, &format!("suggestion-flagged-{i}")).await.id);
        unflagged.push(h.dispatch(case(&format!("suggestion-plain-{i}"), false), 10).await.id);
    }
    let mut inspection = h.inspection.clone();
    let referred = submit(&mut inspection, &h, referral("某企业项目奖励申请久拖未办"), "jw-referral-0001").await;
    flagged.push(referred.expect("referred").case.expect("case").id);
    let ack = pb::AcknowledgeSupervisionItemRequest { case_id: flagged[0].clone(), note: "已阅".into() };
    h.inspection.acknowledge_supervision_item(h.as_(&inspector(), ack)).await.expect("acknowledged");

    let last = received.last().expect("two received").cursor.clone();
    let mut stream = subscribe(&mut h, &last).await;
    let log = change_log(&h).await;
    assert_eq!(log.len(), flagged.len(), "one change per flagged case, none for the others: {log:?}");
    while received.len() < log.len() {
        received.push(next_change(&mut stream).await);
    }
    assert_quiet(&mut stream).await;

    let cursors: Vec<i64> = received.iter().map(|c| c.cursor.parse().expect("decimal cursor")).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "cursors strictly increase: {cursors:?}");
    let got: Vec<(i64, String)> = received
        .iter()
        .map(|c| (c.cursor.parse().expect("cursor"), c.item.as_ref().expect("item").case_id.clone()))
        .collect();
    assert_eq!(got, log, "the two streams together are the change log, nothing missed or repeated");
    let ids: Vec<&str> = received.iter().map(|c| c.item.as_ref().map_or("", |i| i.case_id.as_str())).collect();
    assert_eq!(ids, flagged.iter().map(String::as_str).collect::<Vec<_>>());
    for change in &received {
        assert_eq!(change.kind, pb::SupervisionChangeKind::Added as i32);
        assert_eq!(change.case_action, pb::CaseAction::Dispatched as i32);
        let item = change.item.as_ref().expect("item");
        assert!(!unflagged.contains(&item.case_id));
        assert_eq!(item.cursor, change.cursor);
        assert_eq!(item.status, pb::CaseStatus::Dispatched as i32);
        assert!(change.change_time.is_some());
    }
    let first = received[0].item.as_ref().expect("item");
    assert_eq!(first.title, super::fixtures::TITLE);
    assert_eq!(first.lead_unit.as_ref().map(|u| u.id.as_str()), Some("zs-jrb"));
    assert_eq!(first.co_units.len(), 1);
    assert_eq!(first.responsible_head.as_ref(), Some(&jrb_head()));

    // Resuming from the very last cursor waits for what comes next, and sends only that.
    let end = received.last().expect("changes").cursor.clone();
    let mut stream = subscribe(&mut h, &end).await;
    assert_quiet(&mut stream).await;
    let later = create_flagged(&mut client, &h, "suggestion-flagged-later").await;
    let change = next_change(&mut stream).await;
    assert_eq!(change.item.as_ref().map(|i| i.case_id.as_str()), Some(later.id.as_str()));
    assert!(change.cursor > end);
}

/// Cases created concurrently while a subscriber streams: each flagged one arrives exactly once, in
/// cursor order; the unflagged ones never.
async fn concurrent_writers_are_streamed_once(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let mut stream = subscribe(&mut h, "").await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let mut client = h.client.clone();
        let flagged = i % 3 != 2;
        let request = pb::CreateCaseRequest {
            case: Some(case(&format!("suggestion-concurrent-{i}"), flagged)),
            request_id: format!("concurrent-{i}"),
            deadline_working_days: 10,
        };
        let request = h.as_(&staff(), request);
        tasks.push(tokio::spawn(async move {
            let created = client.create_case(request).await.expect("created").into_inner();
            (flagged, created.case.expect("case").id)
        }));
    }
    let mut expected = HashSet::new();
    let mut unflagged = HashSet::new();
    for task in tasks {
        let (flagged, id) = task.await.expect("task");
        if flagged {
            expected.insert(id);
        } else {
            unflagged.insert(id);
        }
    }
    let mut received = Vec::new();
    while received.len() < expected.len() {
        received.push(next_change(&mut stream).await);
    }
    assert_quiet(&mut stream).await;
    let cursors: Vec<i64> = received.iter().map(|c| c.cursor.parse().expect("cursor")).collect();
    assert!(cursors.windows(2).all(|w| w[0] < w[1]), "{cursors:?}");
    let ids: Vec<String> = received.iter().map(|c| c.item.as_ref().expect("item").case_id.clone()).collect();
    let distinct: HashSet<String> = ids.iter().cloned().collect();
    assert_eq!(distinct.len(), ids.len(), "no change twice");
    assert_eq!(distinct, expected);
    assert!(distinct.is_disjoint(&unflagged));
    let log: Vec<i64> = change_log(&h).await.into_iter().map(|(c, _)| c).collect();
    assert_eq!(cursors, log);
}

/// The item list is a snapshot with the cursor to subscribe after: a change after the listing arrives
/// on the stream, none before it does; pages keep the first page's cursor; the filters.
async fn list_then_subscribe(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let mut client = h.client.clone();
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create_flagged(&mut client, &h, &format!("suggestion-list-{i}")).await.id);
    }
    let mut other_unit = case("suggestion-list-jtj", true);
    other_unit.lead_unit = Some(jtj());
    other_unit.co_units.clear();
    let other_unit = h.dispatch(other_unit, 10).await.id;
    ids.push(other_unit.clone());
    h.dispatch(case("suggestion-list-plain", false), 10).await;
    ids.sort();

    let listed = list_items(&mut h, pb::ListSupervisionItemsRequest::default()).await;
    let listed_ids: Vec<&str> = listed.items.iter().map(|i| i.case_id.as_str()).collect();
    assert_eq!(listed_ids, ids.iter().map(String::as_str).collect::<Vec<_>>(), "flagged only, by case id");
    assert!(listed.next_page_token.is_empty());
    let log = change_log(&h).await;
    assert_eq!(listed.change_cursor.parse::<i64>().expect("cursor"), log.last().expect("changes").0);
    for item in &listed.items {
        assert!(!item.acknowledged);
        assert!(!item.overdue);
        assert!(item.cursor <= listed.change_cursor);
    }

    // Pages of one snapshot share its cursor, even when a change comes between them.
    let first = list_items(&mut h, pb::ListSupervisionItemsRequest { page_size: 2, ..Default::default() }).await;
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.change_cursor, listed.change_cursor);
    let after_listing = create_flagged(&mut client, &h, "suggestion-list-after").await.id;
    let second = list_items(
        &mut h,
        pb::ListSupervisionItemsRequest {
            page_size: 2,
            page_token: first.next_page_token.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(second.change_cursor, listed.change_cursor);
    let paged: Vec<&str> = first.items.iter().chain(&second.items).map(|i| i.case_id.as_str()).collect();
    assert_eq!(&paged[..4], &ids.iter().map(String::as_str).collect::<Vec<_>>()[..]);

    // Subscribing after the snapshot's cursor gets exactly the change made after it.
    let mut stream = subscribe(&mut h, &listed.change_cursor).await;
    let change = next_change(&mut stream).await;
    assert_eq!(change.item.as_ref().map(|i| i.case_id.as_str()), Some(after_listing.as_str()));
    assert_quiet(&mut stream).await;

    // Filters.
    let by_unit =
        list_items(&mut h, pb::ListSupervisionItemsRequest { unit_id: "zs-jtj".into(), ..Default::default() }).await;
    assert_eq!(by_unit.items.iter().map(|i| i.case_id.as_str()).collect::<Vec<_>>(), vec![other_unit.as_str()]);
    let replied = list_items(
        &mut h,
        pb::ListSupervisionItemsRequest { statuses: vec![pb::CaseStatus::Replied as i32], ..Default::default() },
    )
    .await;
    assert!(replied.items.is_empty());
    let dispatched = list_items(
        &mut h,
        pb::ListSupervisionItemsRequest { statuses: vec![pb::CaseStatus::Dispatched as i32], ..Default::default() },
    )
    .await;
    assert_eq!(dispatched.items.len(), 5);
    let overdue = pb::ListSupervisionItemsRequest { overdue_only: true, ..Default::default() };
    assert!(list_items(&mut h, overdue.clone()).await.items.is_empty());
    h.clock.set(china(2024, 3, 1, 9, 0, 0));
    let late = list_items(&mut h, overdue).await;
    assert_eq!(late.items.len(), 5);
    assert!(late.items.iter().all(|i| i.overdue));

    // Bad filters and tokens.
    let bad = pb::ListSupervisionItemsRequest { statuses: vec![99], ..Default::default() };
    let status = h.inspection.list_supervision_items(h.as_(&inspector(), bad)).await.expect_err("bad status");
    assert_field_violation(&status, "statuses[0]");
    let bad = pb::ListSupervisionItemsRequest {
        page_token: first.next_page_token.clone(),
        unit_id: "zs-jtj".into(),
        ..Default::default()
    };
    let status = h.inspection.list_supervision_items(h.as_(&inspector(), bad)).await.expect_err("other filters");
    assert_field_violation(&status, "page_token");
    let bad = pb::ListSupervisionItemsRequest { page_size: -1, ..Default::default() };
    let status = h.inspection.list_supervision_items(h.as_(&inspector(), bad)).await.expect_err("negative");
    assert_field_violation(&status, "page_size");
}

/// Acknowledging an item: acknowledged at its latest change, with the time; idempotent; no change on the
/// list; the unacknowledged filter; an acknowledgement of an earlier change does not count.
async fn acknowledgements(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let mut client = h.client.clone();
    let a = create_flagged(&mut client, &h, "suggestion-ack-a").await.id;
    let b = create_flagged(&mut client, &h, "suggestion-ack-b").await.id;
    let plain = h.dispatch(case("suggestion-ack-plain", false), 10).await.id;
    let before = change_log(&h).await;

    h.clock.set(china(2024, 1, 16, 10, 30, 0));
    let ack = |id: &str, note: &str| pb::AcknowledgeSupervisionItemRequest { case_id: id.into(), note: note.into() };
    let item = h
        .inspection
        .acknowledge_supervision_item(h.as_(&inspector(), ack(&a, " 已阅，请主办单位按期答复。 ")))
        .await
        .expect("acknowledged")
        .into_inner()
        .item
        .expect("item");
    assert_eq!(item.case_id, a);
    assert!(item.acknowledged);
    assert_eq!(super::fixtures::instant(item.acknowledge_time.as_ref()), china(2024, 1, 16, 10, 30, 0));
    let note: String = on_pool!(&h.service.database.db, pool => {
        sqlx::query_scalar("SELECT note FROM supervision_item_ack WHERE case_id = $1").bind(&a).fetch_one(pool).await
    })
    .expect("note");
    assert_eq!(note, "已阅，请主办单位按期答复。");

    // Again, later, with the same note: nothing changes.
    h.clock.set(china(2024, 1, 17, 10, 30, 0));
    let again = h
        .inspection
        .acknowledge_supervision_item(h.as_(&inspector(), ack(&a, "已阅，请主办单位按期答复。")))
        .await
        .expect("again")
        .into_inner()
        .item
        .expect("item");
    assert_eq!(again, item);
    assert_eq!(change_log(&h).await, before, "acknowledging makes no change on the list");

    let unacknowledged = pb::ListSupervisionItemsRequest { unacknowledged_only: true, ..Default::default() };
    let listed = list_items(&mut h, unacknowledged.clone()).await;
    assert_eq!(listed.items.iter().map(|i| i.case_id.as_str()).collect::<Vec<_>>(), vec![b.as_str()]);
    let all = list_items(&mut h, pb::ListSupervisionItemsRequest::default()).await;
    let listed_a = all.items.iter().find(|i| i.case_id == a).expect("a listed");
    assert!(listed_a.acknowledged);
    assert!(listed_a.acknowledge_time.is_some());

    // A later step of the case is a change: streamed as UPDATED, and the item is unacknowledged again.
    let mut stream = subscribe(&mut h, &before.last().expect("changes").0.to_string()).await;
    let accept = pb::AcceptCaseRequest { id: a.clone(), ..Default::default() };
    h.client.accept_case(h.as_(&jrb_officer(), accept)).await.expect("accepted");
    let change = next_change(&mut stream).await;
    assert_eq!(change.kind, pb::SupervisionChangeKind::Updated as i32);
    assert_eq!(change.case_action, pb::CaseAction::Accepted as i32);
    let changed = change.item.expect("item");
    assert_eq!((changed.case_id.as_str(), changed.status), (a.as_str(), pb::CaseStatus::Accepted as i32));
    let listed = list_items(&mut h, unacknowledged.clone()).await;
    assert_eq!(listed.items.len(), 2);
    let again = h
        .inspection
        .acknowledge_supervision_item(h.as_(&inspector(), ack(&a, "已阅")))
        .await
        .expect("acknowledged")
        .into_inner()
        .item
        .expect("item");
    assert!(again.acknowledged);
    assert_eq!(again.cursor, changed.cursor);
    assert_eq!(list_items(&mut h, unacknowledged.clone()).await.items.len(), 1);

    // An acknowledgement taken before the item's latest change does not cover it.
    on_pool!(&h.service.database.db, pool => {
        sqlx::query("UPDATE supervision_item_ack SET cursor = cursor - 1 WHERE case_id = $1")
            .bind(&a)
            .execute(pool)
            .await
            .map(|_| ())
    })
    .expect("older acknowledgement");
    let listed = list_items(&mut h, unacknowledged).await;
    assert_eq!(listed.items.len(), 2);
    assert!(listed.items.iter().all(|i| !i.acknowledged));

    // Mistakes.
    let status =
        h.inspection.acknowledge_supervision_item(h.as_(&inspector(), ack(&plain, ""))).await.expect_err("not visible");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = h
        .inspection
        .acknowledge_supervision_item(h.as_(&inspector(), ack("0193a1c2-0000-7000-8000-000000000000", "")))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = h
        .inspection
        .acknowledge_supervision_item(h.as_(&inspector(), ack("不是编号", &"阅".repeat(2_001))))
        .await
        .expect_err("bad");
    assert_field_violation(&status, "case_id");
    assert_field_violation(&status, "note");
    let status =
        h.inspection.acknowledge_supervision_item(h.as_(&staff(), ack(&b, ""))).await.expect_err("not the commission");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
}

/// A case's record: the case, its history from the dispatch; other cases are NOT_FOUND.
async fn supervision_record(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let mut client = h.client.clone();
    let flagged = create_flagged(&mut client, &h, "suggestion-record").await;
    let plain = h.dispatch(case("suggestion-record-plain", false), 10).await.id;
    let request = |id: &str| pb::GetSupervisionRecordRequest { case_id: id.into() };
    let record = h
        .inspection
        .get_supervision_record(h.as_(&inspector(), request(&flagged.id)))
        .await
        .expect("record")
        .into_inner()
        .record
        .expect("record");
    assert_eq!(record.case.as_ref(), Some(&flagged));
    assert_eq!(record.history, h.history(&flagged.id).await);
    assert_eq!(record.history.first().map(|e| e.action), Some(pb::CaseAction::Dispatched as i32));

    let status =
        h.inspection.get_supervision_record(h.as_(&inspector(), request(&plain))).await.expect_err("not flagged");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = h.inspection.get_supervision_record(h.as_(&inspector(), request("x"))).await.expect_err("bad id");
    assert_field_violation(&status, "case_id");
    let status = h.inspection.get_supervision_record(h.as_(&staff(), request(&flagged.id))).await.expect_err("staff");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
}

/// Referring a matter in: the referral and its case (DISPATCHED, DISCIPLINE_REFERRAL naming the referral,
/// flagged), idempotent on the request id (also under concurrent retries), its bad inputs, and the list of
/// referrals, newest first, by period, in pages.
async fn referrals(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let mut inspection = h.inspection.clone();
    let mut given = referral("某企业项目奖励申请久拖未办");
    given.deadline_working_days = 0;
    given.deadline_time = Some(tingjian_runtime::wire::timestamp(china(2024, 2, 29, 17, 30, 0)));
    let first = submit(&mut inspection, &h, given.clone(), "jw-2024-001").await.expect("referred");
    let r = first.referral.clone().expect("referral");
    let c = first.case.clone().expect("case");
    assert_eq!(r.case_id, c.id);
    assert_eq!(r.title, given.title);
    assert_eq!(r.description, given.description);
    assert_eq!(r.lead_unit, given.lead_unit);
    assert_eq!(r.co_units, given.co_units);
    assert_eq!(r.responsible_head, given.responsible_head);
    assert_eq!(r.referring_officer, given.referring_officer);
    assert_eq!(r.enterprise_id, given.enterprise_id);
    assert_eq!(r.category, given.category);
    assert_eq!(r.deadline_time, given.deadline_time);
    assert_eq!(super::fixtures::instant(r.create_time.as_ref()), monday_2024_01_15());
    assert_eq!(c.status, pb::CaseStatus::Dispatched as i32);
    assert!(c.discipline_inspection);
    let source = c.source.clone().expect("source");
    assert_eq!(source.kind, pb::CaseSourceKind::DisciplineReferral as i32);
    assert_eq!(source.source_id, r.id);
    assert_eq!(source.source_title, given.title);
    assert_eq!(c.deadline_time, given.deadline_time);
    assert_eq!(h.case(&c.id).await, c);
    let dispatched = outbox_payloads::<pb::CaseDispatched>(&h.service, "tingjian.supervision.case_dispatched").await;
    assert_eq!(dispatched.len(), 1);

    // The same request again, also concurrently: the same referral and case.
    let mut retries = Vec::new();
    for _ in 0..4 {
        let mut inspection = h.inspection.clone();
        let request = pb::SubmitReferralRequest { referral: Some(given.clone()), request_id: "jw-2024-001".into() };
        let request = h.as_(&inspector(), request);
        retries.push(tokio::spawn(async move { inspection.submit_referral(request).await }));
    }
    for retry in retries {
        let again = retry.await.expect("task").expect("same referral").into_inner();
        assert_eq!(again, first);
    }
    // Concurrent first attempts of one new request: one referral, one case.
    let mut racers = Vec::new();
    for _ in 0..4 {
        let mut inspection = h.inspection.clone();
        let request = pb::SubmitReferralRequest {
            referral: Some(referral("某港区项目用地审批推诿")),
            request_id: "jw-2024-002".into(),
        };
        let request = h.as_(&inspector(), request);
        racers.push(tokio::spawn(async move { inspection.submit_referral(request).await }));
    }
    let mut answers = Vec::new();
    for racer in racers {
        answers.push(racer.await.expect("task").expect("referred").into_inner());
    }
    assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    let cases: i64 = on_pool!(&h.service.database.db, pool => {
        sqlx::query_scalar("SELECT COUNT(*) FROM supervision_case").fetch_one(pool).await
    })
    .expect("count");
    assert_eq!(cases, 2);

    let mut changed = given.clone();
    changed.description.push_str("另请抄送市纪委监委。");
    let status = submit(&mut inspection, &h, changed, "jw-2024-001").await.expect_err("another referral");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    // A third one later, without a request id.
    h.clock.set(china(2024, 4, 2, 9, 0, 0));
    let third = submit(&mut inspection, &h, referral("某企业出口退税办理缓慢"), "").await.expect("referred");
    let third = third.referral.expect("referral");

    let list = |period: Option<Period>, page_size: i32, page_token: String| pb::ListReferralsRequest {
        period,
        page_size,
        page_token,
    };
    let page = h
        .inspection
        .list_referrals(h.as_(&inspector(), list(None, 2, String::new())))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.referrals.len(), 2);
    assert_eq!(page.referrals[0], third);
    let rest = h
        .inspection
        .list_referrals(h.as_(&inspector(), list(None, 2, page.next_page_token.clone())))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(rest.referrals.len(), 1);
    assert!(rest.next_page_token.is_empty());
    assert_eq!(rest.referrals[0].id, r.id, "newest first: the first referral comes last");
    assert_eq!(rest.referrals[0], r);
    let q1 = Period { kind: PeriodKind::Quarter as i32, year: 2024, number: 1 };
    let in_q1 = h
        .inspection
        .list_referrals(h.as_(&inspector(), list(Some(q1), 0, String::new())))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(in_q1.referrals.len(), 2);
    assert!(in_q1.referrals.iter().all(|x| x.id != third.id));
    let bad = Period { kind: PeriodKind::Quarter as i32, year: 2024, number: 5 };
    let status =
        h.inspection.list_referrals(h.as_(&inspector(), list(Some(bad), 0, String::new()))).await.expect_err("bad");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // Bad input and the wrong caller.
    let status = submit(&mut inspection, &h, pb::Referral::default(), "jw-2024-003").await.expect_err("empty");
    for field in [
        "referral.title",
        "referral.description",
        "referral.lead_unit",
        "referral.responsible_head",
        "referral.deadline_time",
    ] {
        assert_field_violation(&status, field);
    }
    let mut long = referral("久".repeat(201).as_str());
    long.deadline_working_days = 366;
    let status = submit(&mut inspection, &h, long, "").await.expect_err("too long");
    assert_field_violation(&status, "referral.title");
    assert_field_violation(&status, "referral.deadline_working_days");
    let request = pb::SubmitReferralRequest { referral: Some(referral("某事项")), request_id: String::new() };
    let status = h.inspection.submit_referral(h.as_(&staff(), request)).await.expect_err("staff");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = h.inspection.list_referrals(h.as_(&staff(), list(None, 0, String::new()))).await.expect_err("staff");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
}

/// Who may read the list and subscribe, and which cursors are refused.
async fn permissions_and_cursors(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend, monday_2024_01_15()).await else { return };
    let mut client = h.client.clone();
    create_flagged(&mut client, &h, "suggestion-cursor").await;
    let status = h
        .inspection
        .list_supervision_items(h.as_(&staff(), pb::ListSupervisionItemsRequest::default()))
        .await
        .expect_err("staff");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let request = pb::SubscribeSupervisionChangesRequest::default();
    let status = h.inspection.subscribe_supervision_changes(h.as_(&staff(), request)).await.expect_err("staff");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    for garbage in ["abc", "-1", "1.5", "123456789012345678901"] {
        let request = pb::SubscribeSupervisionChangesRequest { after_cursor: garbage.into() };
        let status = h.inspection.subscribe_supervision_changes(h.as_(&inspector(), request)).await.expect_err(garbage);
        assert_field_violation(&status, "after_cursor");
    }
    // A cursor past the latest change was never given out.
    let request = pb::SubscribeSupervisionChangesRequest { after_cursor: "00000000000000000002".into() };
    let status = h.inspection.subscribe_supervision_changes(h.as_(&inspector(), request)).await.expect_err("future");
    assert_field_violation(&status, "after_cursor");
    // The latest one is fine; unpadded digits too.
    let mut stream = subscribe(&mut h, "1").await;
    assert_quiet(&mut stream).await;
}

on_both_backends!(
    stream_resumes_after_a_disconnect_with_nothing_missed_or_repeated,
    super::stream_resumes_after_a_disconnect
);
on_both_backends!(concurrent_writers_are_streamed_exactly_once, super::concurrent_writers_are_streamed_once);
on_both_backends!(listing_then_subscribing_misses_nothing, super::list_then_subscribe);
on_both_backends!(acknowledging_items, super::acknowledgements);
on_both_backends!(reading_a_supervision_record, super::supervision_record);
on_both_backends!(referring_matters_in, super::referrals);
on_both_backends!(permissions_and_cursors_are_checked, super::permissions_and_cursors);
