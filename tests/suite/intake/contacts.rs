//! Contact people (personal data) and contacts (一周一联系) through the intake API, with the list of
//! enterprises overdue under the weekly cadence.

use chrono::{Duration, Utc};
use tingjian_proto::common::v1::TimeRange;
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{Role, on_pool};
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends};
use tonic::Code;

use crate::enterprises::{Client, UNKNOWN_ID, enterprise, events_of, mask, outbox, register, start};

fn person(enterprise_id: &str, name: &str, phone: &str, primary: bool) -> pb::ContactPerson {
    pb::ContactPerson {
        enterprise_id: enterprise_id.into(),
        name: name.into(),
        phone: phone.into(),
        position: "财务总监".into(),
        primary,
        ..Default::default()
    }
}

async fn add_person(service: &TestService, client: &mut Client, p: pb::ContactPerson) -> pb::ContactPerson {
    client
        .create_contact_person(service.request(
            pb::CreateContactPersonRequest { contact_person: Some(p), request_id: String::new() },
            &[Role::Staff],
        ))
        .await
        .expect("created")
        .into_inner()
        .contact_person
        .expect("person")
}

async fn people_of(
    service: &TestService,
    client: &mut Client,
    enterprise_id: &str,
    role: Role,
) -> Vec<pb::ContactPerson> {
    client
        .list_contact_persons(service.request(
            pb::ListContactPersonsRequest { enterprise_id: enterprise_id.into(), ..Default::default() },
            &[role],
        ))
        .await
        .expect("listed")
        .into_inner()
        .contact_persons
}

async fn contact_people(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let firm = register(&service, &mut client, enterprise(1, "舟山市某远洋渔业有限公司")).await;
    let create = |p: pb::ContactPerson, request_id: &str| pb::CreateContactPersonRequest {
        contact_person: Some(p),
        request_id: request_id.into(),
    };

    let wang = client
        .create_contact_person(
            service.request(create(person(&firm.id, "王某某", "13800000000", true), "p-1"), &[Role::Member]),
        )
        .await
        .expect("created")
        .into_inner()
        .contact_person
        .expect("person");
    assert_eq!(
        (wang.name.as_str(), wang.phone.as_str(), wang.primary, wang.masked),
        ("王某某", "13800000000", true, false)
    );
    let retry = client
        .create_contact_person(
            service.request(create(person(&firm.id, "王某某", "13800000000", true), "p-1"), &[Role::Member]),
        )
        .await
        .expect("retry")
        .into_inner()
        .contact_person
        .expect("person");
    assert_eq!(retry, wang);
    let status = client
        .create_contact_person(
            service.request(create(person(&firm.id, "李某", "13900000000", false), "p-1"), &[Role::Staff]),
        )
        .await
        .expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists);
    let li = add_person(&service, &mut client, person(&firm.id, "李某", "0580-2021234", false)).await;
    let zhao = add_person(&service, &mut client, person(&firm.id, "赵某某", "", false)).await;

    // Primary first; unmasked for the office, masked for others.
    let listed = people_of(&service, &mut client, &firm.id, Role::Staff).await;
    let ids: Vec<_> = listed.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [wang.id.as_str(), li.id.as_str(), zhao.id.as_str()]);
    assert_eq!(listed[0], wang);
    let masked = people_of(&service, &mut client, &firm.id, Role::Analyst).await;
    assert_eq!((masked[0].name.as_str(), masked[0].phone.as_str(), masked[0].masked), ("王**", "138****0000", true));
    assert_eq!(masked[1].phone, "058*****1234");

    // Pages of one.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_contact_persons(service.request(
                pb::ListContactPersonsRequest { enterprise_id: firm.id.clone(), page_size: 1, page_token: token },
                &[Role::Staff],
            ))
            .await
            .expect("page")
            .into_inner();
        seen.extend(page.contact_persons.into_iter().map(|p| p.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, [wang.id.clone(), li.id.clone(), zhao.id.clone()]);

    // Making 李某 primary takes the flag from 王某某.
    let mut change = li.clone();
    change.primary = true;
    change.name = "李某某".into();
    change.phone = "ignored: not in the mask".into();
    let li = client
        .update_contact_person(service.request(
            pb::UpdateContactPersonRequest { contact_person: Some(change), update_mask: mask(&["primary", "name"]) },
            &[Role::Staff],
        ))
        .await
        .expect("updated")
        .into_inner()
        .contact_person
        .expect("person");
    assert_eq!((li.name.as_str(), li.phone.as_str(), li.primary), ("李某某", "0580-2021234", true));
    let listed = people_of(&service, &mut client, &firm.id, Role::Member).await;
    assert_eq!(listed.iter().filter(|p| p.primary).map(|p| p.id.as_str()).collect::<Vec<_>>(), [li.id.as_str()]);
    assert_eq!(listed[0].id, li.id);

    // Deleted: gone, and a second delete is NOT_FOUND.
    client
        .delete_contact_person(service.request(pb::DeleteContactPersonRequest { id: zhao.id.clone() }, &[Role::Staff]))
        .await
        .expect("deleted");
    assert_eq!(people_of(&service, &mut client, &firm.id, Role::Staff).await.len(), 2);
    let status = client
        .delete_contact_person(service.request(pb::DeleteContactPersonRequest { id: zhao.id.clone() }, &[Role::Staff]))
        .await
        .expect_err("gone");
    assert_eq!(status.code(), Code::NotFound);

    // Bad input, unknown ids, callers without the role.
    let bad = person(&firm.id, "", "call me maybe", false);
    let status = client.create_contact_person(service.request(create(bad, ""), &[Role::Staff])).await.expect_err("bad");
    assert_field_violation(&status, "contact_person.name");
    assert_field_violation(&status, "contact_person.phone");
    let long = person(&firm.id, &"王".repeat(51), &"1".repeat(21), false);
    let status =
        client.create_contact_person(service.request(create(long, ""), &[Role::Staff])).await.expect_err("long");
    assert_field_violation(&status, "contact_person.name");
    assert_field_violation(&status, "contact_person.phone");
    let status = client
        .create_contact_person(service.request(create(person("企业", "王某", "", false), ""), &[Role::Staff]))
        .await
        .expect_err("malformed enterprise");
    assert_field_violation(&status, "contact_person.enterprise_id");
    let status = client
        .create_contact_person(service.request(create(person(UNKNOWN_ID, "王某", "", false), ""), &[Role::Staff]))
        .await
        .expect_err("unknown enterprise");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .list_contact_persons(service.request(
            pb::ListContactPersonsRequest { enterprise_id: UNKNOWN_ID.into(), ..Default::default() },
            &[Role::Staff],
        ))
        .await
        .expect_err("unknown enterprise");
    assert_eq!(status.code(), Code::NotFound);
    let mut unknown = li.clone();
    unknown.id = UNKNOWN_ID.into();
    let status = client
        .update_contact_person(service.request(
            pb::UpdateContactPersonRequest { contact_person: Some(unknown), update_mask: mask(&["name"]) },
            &[Role::Staff],
        ))
        .await
        .expect_err("unknown person");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .update_contact_person(service.request(
            pb::UpdateContactPersonRequest { contact_person: Some(li.clone()), update_mask: mask(&["enterprise_id"]) },
            &[Role::Staff],
        ))
        .await
        .expect_err("bad mask");
    assert_field_violation(&status, "update_mask");
    let status = client
        .create_contact_person(service.request(create(person(&firm.id, "王某", "", false), ""), &[Role::Enterprise]))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = client
        .delete_contact_person(service.request(pb::DeleteContactPersonRequest { id: li.id.clone() }, &[Role::Analyst]))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    service.stop().await.expect("stops");
}

fn contact(enterprise_id: &str, days_ago: i64, channel: pb::ContactChannel) -> pb::Contact {
    pb::Contact {
        enterprise_id: enterprise_id.into(),
        channel: channel as i32,
        contact_time: Some(timestamp(Utc::now() - Duration::days(days_ago))),
        member_ids: vec!["member-zhang".into(), "staff-li".into()],
        summary: "走访企业，了解远洋捕捞船队融资需求；企业反映冷链物流成本高".into(),
        policies_briefed: vec!["增值税留抵退税".into(), "稳岗返还".into()],
        briefed_person_times: 12,
        ..Default::default()
    }
}

async fn log(service: &TestService, client: &mut Client, c: pb::Contact) -> pb::Contact {
    client
        .log_contact(
            service.request(pb::LogContactRequest { contact: Some(c), request_id: String::new() }, &[Role::Member]),
        )
        .await
        .expect("logged")
        .into_inner()
        .contact
        .expect("contact")
}

async fn get(service: &TestService, client: &mut Client, id: &str) -> pb::Enterprise {
    client
        .get_enterprise(service.request(pb::GetEnterpriseRequest { id: id.into() }, &[Role::Staff]))
        .await
        .expect("found")
        .into_inner()
        .enterprise
        .expect("enterprise")
}

async fn contacts(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let firm = register(&service, &mut client, enterprise(1, "舟山市某远洋渔业有限公司")).await;
    let other = register(&service, &mut client, enterprise(2, "岱山县某船舶修造有限公司")).await;
    let wang = add_person(&service, &mut client, person(&firm.id, "王某某", "13800000000", true)).await;
    let stranger = add_person(&service, &mut client, person(&other.id, "陈某", "", false)).await;
    let events_before = outbox(&service).await.len();

    // A visit three days ago, with its participants, policies and person-times; the enterprise's last
    // contact time moves to it; ContactLogged is recorded with it.
    let mut visit = contact(&firm.id, 3, pb::ContactChannel::Visit);
    visit.contact_person_ids = vec![wang.id.clone()];
    let logged = client
        .log_contact(service.request(
            pb::LogContactRequest { contact: Some(visit.clone()), request_id: "visit-1".into() },
            &[Role::Member],
        ))
        .await
        .expect("logged")
        .into_inner()
        .contact
        .expect("contact");
    assert_eq!(logged.summary, visit.summary);
    assert_eq!(logged.member_ids, ["member-zhang", "staff-li"]);
    assert_eq!(logged.contact_person_ids, [wang.id.as_str()]);
    assert_eq!(logged.policies_briefed, ["增值税留抵退税", "稳岗返还"]);
    assert_eq!((logged.briefed_person_times, logged.created_by.as_str()), (12, "test-user"));
    assert!(logged.demand_ids.is_empty());
    let after = get(&service, &mut client, &firm.id).await;
    assert_eq!(after.last_contact_time, logged.contact_time);
    assert_eq!(after.etag, firm.etag, "a contact is not a change of the enterprise record");

    let logged_events: Vec<(String, pb::ContactLogged)> =
        events_of(&service, "contact_logged", "tingjian.intake.v1.ContactLogged").await;
    assert_eq!(logged_events.len(), 1);
    let (subject, payload) = &logged_events[0];
    assert_eq!(subject, &format!("enterprises/{}", firm.id));
    assert_eq!(payload.contact_id, logged.id);
    assert_eq!((payload.district.as_str(), payload.industry.as_str()), ("putuo", "ocean_fishing"));
    assert_eq!((payload.briefed_person_times, payload.policies_briefed_count), (12, 2));
    assert_eq!(payload.contact_time, logged.contact_time);

    // A retry returns it; another payload under the request id is refused.
    let retry = client
        .log_contact(service.request(
            pb::LogContactRequest { contact: Some(visit.clone()), request_id: "visit-1".into() },
            &[Role::Member],
        ))
        .await
        .expect("retry")
        .into_inner()
        .contact
        .expect("contact");
    assert_eq!(retry, logged);
    let mut changed = visit.clone();
    changed.briefed_person_times = 13;
    let status =
        client
            .log_contact(service.request(
                pb::LogContactRequest { contact: Some(changed), request_id: "visit-1".into() },
                &[Role::Member],
            ))
            .await
            .expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists);

    // An older contact does not move the last contact time back; a newer one does.
    let call = log(&service, &mut client, contact(&firm.id, 10, pb::ContactChannel::Phone)).await;
    assert_eq!(get(&service, &mut client, &firm.id).await.last_contact_time, logged.contact_time);
    let mut online = contact(&firm.id, 0, pb::ContactChannel::Online);
    online.member_ids = vec!["staff-li".into()];
    online.summary = "线上回访：融资对接进展".into();
    let online = log(&service, &mut client, online).await;
    assert_eq!(get(&service, &mut client, &firm.id).await.last_contact_time, online.contact_time);
    assert_eq!(outbox(&service).await.len(), events_before + 3);

    // Bad input, unknown enterprises, a stranger's contact person, callers without the role.
    let mut bad = contact("企业", -1, pb::ContactChannel::Unspecified);
    bad.member_ids = vec![];
    bad.summary = " ".into();
    bad.briefed_person_times = -1;
    bad.policies_briefed = vec![String::new()];
    let status = client
        .log_contact(
            service.request(pb::LogContactRequest { contact: Some(bad), request_id: String::new() }, &[Role::Staff]),
        )
        .await
        .expect_err("bad");
    for field in [
        "contact.enterprise_id",
        "contact.channel",
        "contact.contact_time",
        "contact.member_ids",
        "contact.summary",
        "contact.policies_briefed[0]",
        "contact.briefed_person_times",
    ] {
        assert_field_violation(&status, field);
    }
    let mut long = contact(&firm.id, 1, pb::ContactChannel::Visit);
    long.summary = "谈".repeat(5_001);
    long.contact_time = None;
    let status = client
        .log_contact(
            service.request(pb::LogContactRequest { contact: Some(long), request_id: String::new() }, &[Role::Staff]),
        )
        .await
        .expect_err("long");
    assert_field_violation(&status, "contact.summary");
    assert_field_violation(&status, "contact.contact_time");
    let status = client
        .log_contact(service.request(
            pb::LogContactRequest {
                contact: Some(contact(UNKNOWN_ID, 1, pb::ContactChannel::Visit)),
                request_id: String::new(),
            },
            &[Role::Staff],
        ))
        .await
        .expect_err("unknown enterprise");
    assert_eq!(status.code(), Code::NotFound);
    let mut foreign = contact(&firm.id, 1, pb::ContactChannel::Visit);
    foreign.contact_person_ids = vec![wang.id.clone(), stranger.id.clone()];
    let status = client
        .log_contact(
            service
                .request(pb::LogContactRequest { contact: Some(foreign), request_id: String::new() }, &[Role::Staff]),
        )
        .await
        .expect_err("stranger");
    assert_field_violation(&status, "contact.contact_person_ids[1]");
    let status = client
        .log_contact(service.request(
            pb::LogContactRequest {
                contact: Some(contact(&firm.id, 1, pb::ContactChannel::Visit)),
                request_id: String::new(),
            },
            &[Role::Analyst],
        ))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(outbox(&service).await.len(), events_before + 3, "refused calls record no event");

    // The enterprise's contacts, newest first, over pages of one; filters.
    let list = |r: pb::ListContactsRequest| {
        let mut client = client.clone();
        let request = service.request(r, &[Role::Analyst]);
        async move { client.list_contacts(request).await }
    };
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(pb::ListContactsRequest {
            enterprise_id: firm.id.clone(),
            page_size: 1,
            page_token: token,
            ..Default::default()
        })
        .await
        .expect("page")
        .into_inner();
        assert!(page.contacts.len() <= 1);
        ids.extend(page.contacts.into_iter().map(|c| c.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(ids, [online.id.clone(), logged.id.clone(), call.id.clone()]);
    let of_member = list(pb::ListContactsRequest { member_id: "member-zhang".into(), ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(
        of_member.contacts.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
        [logged.id.as_str(), call.id.as_str()]
    );
    let calls = list(pb::ListContactsRequest { channel: pb::ContactChannel::Phone as i32, ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(calls.contacts.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [call.id.as_str()]);
    let week = TimeRange {
        start_time: Some(timestamp(Utc::now() - Duration::days(7))),
        end_time: Some(timestamp(Utc::now() - Duration::days(1))),
    };
    let in_week = list(pb::ListContactsRequest { time_range: Some(week), ..Default::default() }).await.expect("ok");
    assert_eq!(in_week.into_inner().contacts.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [logged.id.as_str()]);
    let none =
        list(pb::ListContactsRequest { enterprise_id: other.id.clone(), ..Default::default() }).await.expect("ok");
    assert!(none.into_inner().contacts.is_empty());

    let status = list(pb::ListContactsRequest { enterprise_id: UNKNOWN_ID.into(), ..Default::default() })
        .await
        .expect_err("unknown enterprise");
    assert_eq!(status.code(), Code::NotFound);
    let status =
        list(pb::ListContactsRequest { page_token: "00".into(), ..Default::default() }).await.expect_err("token");
    assert_field_violation(&status, "page_token");
    let backwards = TimeRange {
        start_time: Some(timestamp(Utc::now())),
        end_time: Some(timestamp(Utc::now() - Duration::days(1))),
    };
    let status =
        list(pb::ListContactsRequest { time_range: Some(backwards), ..Default::default() }).await.expect_err("range");
    assert_field_violation(&status, "time_range");
    service.stop().await.expect("stops");
}

/// Moves an enterprise's registration back in time, as if registered `days` ago.
async fn registered_days_ago(service: &TestService, id: &str, days: i64) {
    let when = Utc::now() - Duration::days(days);
    on_pool!(&service.database.db, pool => {
        sqlx::query("UPDATE enterprise SET create_time = $1 WHERE id = $2").bind(when).bind(id).execute(pool).await.map(|_| ())
    })
    .expect("backdated");
}

async fn overdue(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    // 甲: never contacted, registered 30 days ago. 乙: contacted 10 days ago. 丙: contacted 3 days ago.
    // 丁: registered today, never contacted. 戊: in 岱山县, never contacted, registered 20 days ago.
    let jia = register(&service, &mut client, enterprise(1, "甲远洋渔业有限公司")).await;
    let yi = register(&service, &mut client, enterprise(2, "乙远洋渔业有限公司")).await;
    let bing = register(&service, &mut client, enterprise(3, "丙远洋渔业有限公司")).await;
    register(&service, &mut client, enterprise(4, "丁远洋渔业有限公司")).await;
    let mut wu = enterprise(5, "戊船舶修造有限公司");
    wu.district = "daishan".into();
    let wu = register(&service, &mut client, wu).await;
    for (id, days) in [(&jia.id, 30), (&yi.id, 40), (&bing.id, 40), (&wu.id, 20)] {
        registered_days_ago(&service, id, days).await;
    }
    let contacted = log(&service, &mut client, contact(&yi.id, 10, pb::ContactChannel::Visit)).await;
    log(&service, &mut client, contact(&bing.id, 3, pb::ContactChannel::Phone)).await;

    let overdue = |r: pb::ListOverdueEnterprisesRequest| {
        let mut client = client.clone();
        let request = service.request(r, &[Role::Analyst]);
        async move { client.list_overdue_enterprises(request).await }
    };
    let names = |r: &pb::ListOverdueEnterprisesResponse| {
        r.enterprises.iter().map(|o| o.enterprise.as_ref().expect("enterprise").name.clone()).collect::<Vec<_>>()
    };

    // The weekly cadence by default: longest overdue first.
    let weekly = overdue(pb::ListOverdueEnterprisesRequest::default()).await.expect("ok").into_inner();
    assert_eq!(names(&weekly), ["甲远洋渔业有限公司", "戊船舶修造有限公司", "乙远洋渔业有限公司"]);
    assert_eq!(weekly.total_size, 3);
    assert!(weekly.enterprises[0].last_contact_time.is_none(), "never contacted");
    assert_eq!(weekly.enterprises[0].days_since_contact, 30, "since registration");
    assert_eq!(weekly.enterprises[2].last_contact_time, contacted.contact_time);
    assert_eq!(weekly.enterprises[2].days_since_contact, 10);

    // A configurable number of days.
    let monthly = overdue(pb::ListOverdueEnterprisesRequest { overdue_days: 25, ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(names(&monthly), ["甲远洋渔业有限公司"]);
    let every_other_day = overdue(pb::ListOverdueEnterprisesRequest { overdue_days: 2, ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(every_other_day.total_size, 4);
    assert_eq!(names(&every_other_day).last().map(String::as_str), Some("丙远洋渔业有限公司"));

    // Filters and pages.
    let in_daishan = overdue(pb::ListOverdueEnterprisesRequest { district: "岱山县".into(), ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(names(&in_daishan), ["戊船舶修造有限公司"]);
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = overdue(pb::ListOverdueEnterprisesRequest {
            overdue_days: 2,
            page_size: 3,
            page_token: token,
            ..Default::default()
        })
        .await
        .expect("page")
        .into_inner();
        assert_eq!(page.total_size, 4);
        paged.extend(names(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, names(&every_other_day));
    let first = overdue(pb::ListOverdueEnterprisesRequest { overdue_days: 2, page_size: 1, ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    let status = overdue(pb::ListOverdueEnterprisesRequest {
        overdue_days: 3,
        page_size: 1,
        page_token: first.next_page_token,
        ..Default::default()
    })
    .await
    .expect_err("token of another threshold");
    assert_field_violation(&status, "page_token");

    let status = overdue(pb::ListOverdueEnterprisesRequest { overdue_days: -1, ..Default::default() })
        .await
        .expect_err("negative");
    assert_field_violation(&status, "overdue_days");
    let status = overdue(pb::ListOverdueEnterprisesRequest { industry: "不存在".into(), ..Default::default() })
        .await
        .expect_err("unknown industry");
    assert_field_violation(&status, "industry");
    service.stop().await.expect("stops");
}

on_both_backends!(contact_people, crate::contacts::contact_people);
on_both_backends!(contact_log, crate::contacts::contacts);
on_both_backends!(overdue_enterprises, crate::contacts::overdue);
