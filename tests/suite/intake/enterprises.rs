//! Enterprises through the intake API: registration (checked, idempotent, with its event), get, batch
//! get, update with a field mask and an etag, and the filtered, paginated list. Also the helpers the
//! other intake modules share.

use prost::Message;
use prost_types::FieldMask;
use tingjian_proto::intake::v1 as pb;
use tingjian_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tingjian_runtime::events::Event;
use tingjian_runtime::{Role, on_pool};
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends, spawn};
use tonic::Code;
use tonic::transport::Channel;

pub(crate) type Client = IntakeServiceClient<Channel>;

/// The intake service on a fresh database of `backend`, with a client; `None` when PostgreSQL is asked
/// for but unreachable outside CI.
pub(crate) async fn start(backend: StorageBackend) -> Option<(TestService, Client)> {
    let service = spawn(&tingjian_intake::MODULE, backend).await?;
    let client = IntakeServiceClient::new(service.channel.clone());
    Some((service, client))
}

/// A valid unified social credit code, distinct for each `n`: market regulation (9), enterprise (1),
/// 舟山市 (330900), an organisation code built from `n`, both check characters computed.
pub(crate) fn credit_code(n: u32) -> String {
    const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let body = format!("{:08}", 10_000_000 + n);
    let sum: u32 = body.bytes().zip(ORG_WEIGHTS).map(|(c, w)| u32::from(c - b'0') * w).sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from_digit(d, 10).expect("digit"),
    };
    let first17 = format!("91330900{body}{org_check}");
    let check = tingjian_intake::domain::CreditCode::check_character(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

/// An enterprise to register: a valid one in 普陀区, 远洋渔业.
pub(crate) fn enterprise(n: u32, name: &str) -> pb::Enterprise {
    pb::Enterprise {
        name: name.into(),
        credit_code: credit_code(n),
        district: "普陀区".into(),
        industry: "远洋渔业".into(),
        size: pb::EnterpriseSize::Medium as i32,
        monitoring_point: false,
        description: "远洋捕捞、水产品冷链加工".into(),
        address: "舟山市普陀区沈家门街道".into(),
        ..Default::default()
    }
}

/// Registers `enterprise` as staff.
pub(crate) async fn register(service: &TestService, client: &mut Client, enterprise: pb::Enterprise) -> pb::Enterprise {
    client
        .create_enterprise(service.request(
            pb::CreateEnterpriseRequest { enterprise: Some(enterprise), request_id: String::new() },
            &[Role::Staff],
        ))
        .await
        .expect("registered")
        .into_inner()
        .enterprise
        .expect("enterprise")
}

/// Every event in the service's outbox, oldest first.
pub(crate) async fn outbox(service: &TestService) -> Vec<Event> {
    let rows: Vec<Vec<u8>> = on_pool!(&service.database.db, pool => {
        sqlx::query_scalar("SELECT envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
    })
    .expect("outbox");
    rows.iter().map(|bytes| tingjian_runtime::events::decode(bytes).expect("an envelope")).collect()
}

/// The payloads of the outbox's events of type `tingjian.intake.<name>`, checking their envelope.
pub(crate) async fn events_of<M: Message + Default>(
    service: &TestService,
    name: &str,
    schema: &str,
) -> Vec<(String, M)> {
    outbox(service)
        .await
        .into_iter()
        .filter(|e| e.r#type == format!("tingjian.intake.{name}"))
        .map(|e| {
            assert_eq!(e.source, "/tingjian/intake");
            assert_eq!(e.data_schema, schema);
            (e.subject.clone(), M::decode(e.data.as_slice()).expect("payload"))
        })
        .collect()
}

/// A field mask of `paths`.
pub(crate) fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

/// An id no resource has.
pub(crate) const UNKNOWN_ID: &str = "01930000-0000-7000-8000-000000000000";

async fn registration(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let create = |e: pb::Enterprise, request_id: &str| pb::CreateEnterpriseRequest {
        enterprise: Some(e),
        request_id: request_id.into(),
    };

    // Bad input, each naming its field; nothing is recorded.
    let mut bad = enterprise(1, "");
    bad.credit_code = "91330900100000001X".into();
    bad.district = "杭州市".into();
    bad.industry = "unknown_industry".into();
    bad.description = "业".repeat(1_001);
    bad.address = "址".repeat(201);
    let status = client.create_enterprise(service.request(create(bad, ""), &[Role::Staff])).await.expect_err("bad");
    for field in [
        "enterprise.name",
        "enterprise.credit_code",
        "enterprise.district",
        "enterprise.industry",
        "enterprise.description",
        "enterprise.address",
    ] {
        assert_field_violation(&status, field);
    }
    let long = enterprise(1, &"舟".repeat(201));
    let status = client.create_enterprise(service.request(create(long, ""), &[Role::Staff])).await.expect_err("long");
    assert_field_violation(&status, "enterprise.name");
    let status = client
        .create_enterprise(service.request(pb::CreateEnterpriseRequest::default(), &[Role::Staff]))
        .await
        .expect_err("missing");
    assert_field_violation(&status, "enterprise");
    let status = client
        .create_enterprise(service.request(create(enterprise(1, "某公司"), &"k".repeat(65)), &[Role::Staff]))
        .await
        .expect_err("long request id");
    assert_field_violation(&status, "request_id");
    let status = client
        .create_enterprise(service.request(create(enterprise(1, "某公司"), ""), &[Role::Analyst]))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert!(outbox(&service).await.is_empty(), "refused calls record no event");

    // District and industry by display name or code; stored as codes; Chinese text intact.
    let mut by_code = enterprise(1, "舟山市海之味远洋渔业有限公司");
    by_code.district = "daishan".into();
    by_code.industry = "port_logistics".into();
    by_code.size = 0;
    let first = client
        .create_enterprise(service.request(create(by_code.clone(), "register-1"), &[Role::Member]))
        .await
        .expect("created")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!((first.district.as_str(), first.industry.as_str()), ("daishan", "port_logistics"));
    assert_eq!(first.size, 0, "size is optional");
    assert_eq!(first.name, "舟山市海之味远洋渔业有限公司");
    assert_eq!(first.description, "远洋捕捞、水产品冷链加工");
    assert_eq!(first.etag, "v1");
    assert!(first.last_contact_time.is_none());
    let second = register(&service, &mut client, enterprise(2, "舟山市普陀区某水产有限公司")).await;
    assert_eq!((second.district.as_str(), second.industry.as_str()), ("putuo", "ocean_fishing"));

    // A retry returns the first enterprise; the same request id with another payload is refused.
    let retry = client
        .create_enterprise(service.request(create(by_code.clone(), "register-1"), &[Role::Member]))
        .await
        .expect("retry")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(retry, first);
    let mut other = by_code.clone();
    other.name = "另一家公司".into();
    let status = client
        .create_enterprise(service.request(create(other, "register-1"), &[Role::Member]))
        .await
        .expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains("request_id"), "{}", status.message());

    // The credit code is unique: the refused insert takes its event with it.
    let status = client
        .create_enterprise(service.request(create(by_code, "register-2"), &[Role::Staff]))
        .await
        .expect_err("duplicate code");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains(&credit_code(1)), "{}", status.message());

    let registered: Vec<(String, pb::EnterpriseRegistered)> =
        events_of(&service, "enterprise_registered", "tingjian.intake.v1.EnterpriseRegistered").await;
    assert_eq!(registered.len(), 2, "one event per registration, none for retries or refusals");
    let (subject, payload) = &registered[0];
    assert_eq!(subject, &format!("enterprises/{}", first.id));
    assert_eq!(payload.enterprise_id, first.id);
    assert_eq!(payload.name, "舟山市海之味远洋渔业有限公司");
    assert_eq!((payload.district.as_str(), payload.industry.as_str()), ("daishan", "port_logistics"));
    assert_eq!(payload.actor, "test-user");
    assert_eq!(outbox(&service).await.len(), 2);

    // Get and batch get.
    let got = client
        .get_enterprise(service.request(pb::GetEnterpriseRequest { id: first.id.clone() }, &[Role::Enterprise]))
        .await
        .expect("found")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(got, first);
    let status = client
        .get_enterprise(service.request(pb::GetEnterpriseRequest { id: UNKNOWN_ID.into() }, &[Role::Staff]))
        .await
        .expect_err("missing");
    assert_eq!(status.code(), Code::NotFound);
    let status = client.get_enterprise(pb::GetEnterpriseRequest { id: first.id.clone() }).await.expect_err("anon");
    assert_eq!(status.code(), Code::Unauthenticated);

    let batch = client
        .batch_get_enterprises(service.request(
            pb::BatchGetEnterprisesRequest {
                ids: vec![second.id.clone(), UNKNOWN_ID.into(), first.id.to_uppercase(), second.id.clone()],
            },
            &[Role::Analyst],
        ))
        .await
        .expect("batch")
        .into_inner();
    let names: Vec<_> = batch.enterprises.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(names, [second.id.as_str(), first.id.as_str()], "request order, duplicates ignored");
    assert_eq!(batch.missing_ids, [UNKNOWN_ID]);
    let status = client
        .batch_get_enterprises(
            service
                .request(pb::BatchGetEnterprisesRequest { ids: vec![first.id.clone(), "企业".into()] }, &[Role::Staff]),
        )
        .await
        .expect_err("malformed");
    assert_field_violation(&status, "ids[1]");
    let status = client
        .batch_get_enterprises(service.request(pb::BatchGetEnterprisesRequest::default(), &[Role::Staff]))
        .await
        .expect_err("empty");
    assert_field_violation(&status, "ids");
    let too_many = (0..501).map(|n| format!("01930000-0000-7000-8000-{n:012}")).collect();
    let status = client
        .batch_get_enterprises(service.request(pb::BatchGetEnterprisesRequest { ids: too_many }, &[Role::Staff]))
        .await
        .expect_err("too many");
    assert_field_violation(&status, "ids");
    service.stop().await.expect("stops");
}

async fn update(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let first = register(&service, &mut client, enterprise(1, "舟山市某船舶修造有限公司")).await;
    let second = register(&service, &mut client, enterprise(2, "岱山县某船舶修造有限公司")).await;
    let update = |e: pb::Enterprise, paths: &[&str]| pb::UpdateEnterpriseRequest {
        enterprise: Some(e),
        update_mask: mask(paths),
    };

    let mut change = first.clone();
    change.name = "舟山市某船舶修造股份有限公司".into();
    change.district = "定海区".into();
    change.industry = "rename ignored: not in the mask".into();
    change.monitoring_point = true;
    let updated = client
        .update_enterprise(
            service.request(update(change.clone(), &["name", "district", "monitoring_point"]), &[Role::Staff]),
        )
        .await
        .expect("updated")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(updated.name, "舟山市某船舶修造股份有限公司");
    assert_eq!(updated.district, "dinghai");
    assert_eq!(updated.industry, "ocean_fishing", "fields outside the mask keep their value");
    assert!(updated.monitoring_point);
    assert_eq!(updated.etag, "v2");
    assert_eq!(updated.create_time, first.create_time);

    let changed: Vec<(String, pb::EnterpriseUpdated)> =
        events_of(&service, "enterprise_updated", "tingjian.intake.v1.EnterpriseUpdated").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].0, format!("enterprises/{}", first.id));
    assert_eq!(changed[0].1.changed_fields, ["name", "district", "monitoring_point"]);
    assert_eq!(changed[0].1.name, "舟山市某船舶修造股份有限公司");
    assert_eq!(changed[0].1.district, "dinghai");

    // The etag read before the change is stale now; the current one works; none skips the check.
    let status = client
        .update_enterprise(service.request(update(change.clone(), &["name"]), &[Role::Staff]))
        .await
        .expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let mut fresh = updated.clone();
    fresh.size = pb::EnterpriseSize::Large as i32;
    let larger = client
        .update_enterprise(service.request(update(fresh.clone(), &["size"]), &[Role::Member]))
        .await
        .expect("current etag")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!((larger.size, larger.etag.as_str()), (pb::EnterpriseSize::Large as i32, "v3"));
    fresh.etag = String::new();
    fresh.address = "舟山市定海区临城街道".into();
    let moved = client
        .update_enterprise(service.request(update(fresh.clone(), &["address"]), &[Role::SystemAdmin]))
        .await
        .expect("no etag")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(moved.address, "舟山市定海区临城街道");

    // Setting fields to their values changes nothing: same etag, no event.
    let same = client
        .update_enterprise(service.request(update(moved.clone(), &["address", "name"]), &[Role::Staff]))
        .await
        .expect("no-op")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(same, moved);
    let before = outbox(&service).await.len();

    // Bad masks, bad values, unknown ids, a taken credit code, a caller without the role.
    for paths in [&[][..], &["etag"][..], &["name", "credit"][..]] {
        let status = client
            .update_enterprise(service.request(update(moved.clone(), paths), &[Role::Staff]))
            .await
            .expect_err("bad mask");
        assert_field_violation(&status, "update_mask");
    }
    let mut bad = moved.clone();
    bad.credit_code = "91330900100000002Y".into();
    bad.industry = "远洋".into();
    bad.name = String::new();
    let status = client
        .update_enterprise(service.request(update(bad, &["credit_code", "industry", "name"]), &[Role::Staff]))
        .await
        .expect_err("bad values");
    assert_field_violation(&status, "enterprise.credit_code");
    assert_field_violation(&status, "enterprise.industry");
    assert_field_violation(&status, "enterprise.name");
    let mut taken = moved.clone();
    taken.credit_code = second.credit_code.clone();
    let status = client
        .update_enterprise(service.request(update(taken, &["credit_code"]), &[Role::Staff]))
        .await
        .expect_err("taken");
    assert_eq!(status.code(), Code::AlreadyExists);
    let mut unknown = moved.clone();
    unknown.id = UNKNOWN_ID.into();
    unknown.etag = String::new();
    let status = client
        .update_enterprise(service.request(update(unknown, &["name"]), &[Role::Staff]))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .update_enterprise(service.request(update(moved.clone(), &["name"]), &[Role::Enterprise]))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(outbox(&service).await.len(), before, "refused updates record no event");

    // A new valid credit code is accepted.
    let mut recoded = moved.clone();
    recoded.credit_code = credit_code(3).to_lowercase();
    let recoded = client
        .update_enterprise(service.request(update(recoded, &["credit_code"]), &[Role::Staff]))
        .await
        .expect("new code")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(recoded.credit_code, credit_code(3));
    service.stop().await.expect("stops");
}

async fn listing(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let spec: [(&str, &str, &str, bool, pb::EnterpriseSize); 7] = [
        ("舟山市甲远洋渔业有限公司", "putuo", "ocean_fishing", true, pb::EnterpriseSize::Large),
        ("舟山市乙远洋渔业有限公司", "putuo", "ocean_fishing", false, pb::EnterpriseSize::Small),
        ("岱山县丙船舶修造有限公司", "daishan", "shipbuilding", true, pb::EnterpriseSize::Medium),
        ("嵊泗县丁旅游开发有限公司", "shengsi", "tourism", false, pb::EnterpriseSize::Micro),
        ("定海区戊港航物流有限公司", "dinghai", "port_logistics", true, pb::EnterpriseSize::Medium),
        ("Zhoushan ABC Seafood Co.", "dinghai", "aquatic_processing", false, pb::EnterpriseSize::Small),
        ("新城己远洋渔业科技有限公司", "xincheng", "ocean_fishing", false, pb::EnterpriseSize::Medium),
    ];
    for (n, (name, district, industry, monitoring, size)) in spec.iter().enumerate() {
        let mut e = enterprise(u32::try_from(n).expect("small") + 10, name);
        e.district = (*district).into();
        e.industry = (*industry).into();
        e.monitoring_point = *monitoring;
        e.size = *size as i32;
        register(&service, &mut client, e).await;
    }
    let list = |r: pb::ListEnterprisesRequest| {
        let mut client = client.clone();
        let request = service.request(r, &[Role::Analyst]);
        async move { client.list_enterprises(request).await }
    };
    let names = |r: &pb::ListEnterprisesResponse| r.enterprises.iter().map(|e| e.name.clone()).collect::<Vec<_>>();

    // Every enterprise, by name, over three pages of three.
    let mut all = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = list(pb::ListEnterprisesRequest { page_size: 3, page_token: token.clone(), ..Default::default() })
            .await
            .expect("page")
            .into_inner();
        assert_eq!(page.total_size, 7);
        assert!(page.enterprises.len() <= 3);
        all.extend(names(&page));
        pages += 1;
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    // The pages put together are the one-page list (ordered by name in the database's collation), with
    // every enterprise once.
    let whole = list(pb::ListEnterprisesRequest { page_size: 500, ..Default::default() }).await.expect("all");
    assert_eq!(all, names(&whole.into_inner()));
    let mut expected: Vec<String> = spec.iter().map(|s| s.0.to_owned()).collect();
    let mut listed = all.clone();
    expected.sort();
    listed.sort();
    assert_eq!(listed, expected);

    // Filters: district (by code or name), industry, monitoring points, size, name search.
    let by_district = list(pb::ListEnterprisesRequest { district: "普陀区".into(), ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    let mut in_putuo = names(&by_district);
    in_putuo.sort();
    assert_eq!(in_putuo, ["舟山市乙远洋渔业有限公司", "舟山市甲远洋渔业有限公司"]);
    assert_eq!(by_district.total_size, 2);
    let fishing = list(pb::ListEnterprisesRequest { industry: "ocean_fishing".into(), ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(fishing.total_size, 3);
    let monitored = list(pb::ListEnterprisesRequest {
        monitoring_points_only: true,
        industry: "远洋渔业".into(),
        ..Default::default()
    })
    .await
    .expect("ok")
    .into_inner();
    assert_eq!(names(&monitored), ["舟山市甲远洋渔业有限公司"]);
    let medium = list(pb::ListEnterprisesRequest { size: pb::EnterpriseSize::Medium as i32, ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(medium.total_size, 3);
    let searched = list(pb::ListEnterprisesRequest { name_query: "远洋".into(), ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(searched.total_size, 3, "substring search works on Chinese names");
    let ascii = list(pb::ListEnterprisesRequest { name_query: "abc seafood".into(), ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(names(&ascii), ["Zhoushan ABC Seafood Co."], "ASCII case is ignored");
    let literal = list(pb::ListEnterprisesRequest { name_query: "%".into(), ..Default::default() })
        .await
        .expect("ok")
        .into_inner();
    assert_eq!(literal.total_size, 0, "LIKE wildcards are matched literally");
    let paged_filter =
        list(pb::ListEnterprisesRequest { name_query: "远洋".into(), page_size: 2, ..Default::default() })
            .await
            .expect("ok")
            .into_inner();
    assert_eq!(paged_filter.enterprises.len(), 2);
    let rest = list(pb::ListEnterprisesRequest {
        name_query: "远洋".into(),
        page_size: 2,
        page_token: paged_filter.next_page_token.clone(),
        ..Default::default()
    })
    .await
    .expect("ok")
    .into_inner();
    assert_eq!(rest.enterprises.len(), 1);
    assert!(rest.next_page_token.is_empty());

    // Bad requests.
    let status = list(pb::ListEnterprisesRequest { page_token: "not-a-token".into(), ..Default::default() })
        .await
        .expect_err("bad token");
    assert_field_violation(&status, "page_token");
    let status = list(pb::ListEnterprisesRequest {
        name_query: "船舶".into(),
        page_token: paged_filter.next_page_token,
        ..Default::default()
    })
    .await
    .expect_err("token of other filters");
    assert_field_violation(&status, "page_token");
    let status =
        list(pb::ListEnterprisesRequest { page_size: -1, ..Default::default() }).await.expect_err("negative size");
    assert_field_violation(&status, "page_size");
    let status =
        list(pb::ListEnterprisesRequest { district: "杭州".into(), industry: "x".into(), ..Default::default() })
            .await
            .expect_err("unknown district");
    assert_field_violation(&status, "district");
    assert_field_violation(&status, "industry");
    let status = list(pb::ListEnterprisesRequest { name_query: "名".repeat(201), ..Default::default() })
        .await
        .expect_err("long query");
    assert_field_violation(&status, "name_query");
    let big = list(pb::ListEnterprisesRequest { page_size: 10_000, ..Default::default() }).await.expect("capped");
    assert_eq!(big.into_inner().enterprises.len(), 7);
    service.stop().await.expect("stops");
}

on_both_backends!(enterprise_registration, crate::enterprises::registration);
on_both_backends!(enterprise_update, crate::enterprises::update);
on_both_backends!(enterprise_listing, crate::enterprises::listing);
