//! Reference data through the intake API: the seeded lists, paginated; adding, renaming and
//! deactivating items; and what deactivation means for new enterprises.

use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::Role;
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends};
use tonic::Code;

use crate::enterprises::{enterprise, mask, start};

fn item(kind: pb::ReferenceKind, code: &str, name: &str) -> pb::ReferenceItem {
    pb::ReferenceItem { kind: kind as i32, code: code.into(), name: name.into(), sort_order: 60, ..Default::default() }
}

async fn listing(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let list = |kind: pb::ReferenceKind, page_size: i32, page_token: String| pb::ListReferenceItemsRequest {
        kind: kind as i32,
        include_inactive: false,
        page_size,
        page_token,
    };

    // The seeded districts, in display order, over three pages of two.
    let mut codes = Vec::new();
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_reference_items(service.request(list(pb::ReferenceKind::District, 2, token), &[Role::Netizen]))
            .await
            .expect("page")
            .into_inner();
        assert!(page.items.len() <= 2);
        codes.extend(page.items.iter().map(|i| i.code.clone()));
        names.extend(page.items.iter().map(|i| i.name.clone()));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(codes, ["dinghai", "putuo", "daishan", "shengsi", "xincheng"]);
    assert_eq!(names, ["定海区", "普陀区", "岱山县", "嵊泗县", "新城"]);

    let categories = client
        .list_reference_items(service.request(list(pb::ReferenceKind::Category, 0, String::new()), &[Role::Enterprise]))
        .await
        .expect("categories")
        .into_inner();
    assert!(categories.items.iter().any(|i| i.code == "finance_credit" && i.name == "金融信贷"));
    assert!(categories.next_page_token.is_empty());

    let status = client
        .list_reference_items(service.request(list(pb::ReferenceKind::Unspecified, 0, String::new()), &[Role::Staff]))
        .await
        .expect_err("no kind");
    assert_field_violation(&status, "kind");
    let status = client
        .list_reference_items(service.request(list(pb::ReferenceKind::District, 0, "xyz".into()), &[Role::Staff]))
        .await
        .expect_err("bad token");
    assert_field_violation(&status, "page_token");
    let first = client
        .list_reference_items(service.request(list(pb::ReferenceKind::District, 1, String::new()), &[Role::Staff]))
        .await
        .expect("page")
        .into_inner();
    let status = client
        .list_reference_items(
            service.request(list(pb::ReferenceKind::Industry, 1, first.next_page_token), &[Role::Staff]),
        )
        .await
        .expect_err("token of another kind");
    assert_field_violation(&status, "page_token");
    let status =
        client.list_reference_items(list(pb::ReferenceKind::District, 0, String::new())).await.expect_err("anon");
    assert_eq!(status.code(), Code::Unauthenticated);
    service.stop().await.expect("stops");
}

async fn configuration(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let create = |item: pb::ReferenceItem, request_id: &str| pb::CreateReferenceItemRequest {
        item: Some(item),
        request_id: request_id.into(),
    };
    let district = pb::ReferenceKind::District;

    // Added by staff; active; Chinese name intact; a retry returns it, another payload under the same
    // request id is refused.
    let port = item(district, "free_trade_zone", "舟山自贸试验区");
    let created = client
        .create_reference_item(service.request(create(port.clone(), "ref-1"), &[Role::Staff]))
        .await
        .expect("created")
        .into_inner()
        .item
        .expect("item");
    assert_eq!(
        (created.code.as_str(), created.name.as_str(), created.active),
        ("free_trade_zone", "舟山自贸试验区", true)
    );
    let retry = client
        .create_reference_item(service.request(create(port.clone(), "ref-1"), &[Role::SystemAdmin]))
        .await
        .expect("retry")
        .into_inner()
        .item
        .expect("item");
    assert_eq!(retry, created);
    let status = client
        .create_reference_item(service.request(create(item(district, "other_zone", "别的区"), "ref-1"), &[Role::Staff]))
        .await
        .expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists);

    // Duplicates, bad input, callers without the role.
    let status = client
        .create_reference_item(service.request(create(item(district, "putuo", "另一个普陀"), ""), &[Role::Staff]))
        .await
        .expect_err("duplicate code");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains("putuo"), "{}", status.message());
    let status = client
        .create_reference_item(service.request(create(item(district, "putuo_2", "普陀区"), ""), &[Role::Staff]))
        .await
        .expect_err("duplicate name");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains("普陀区"), "{}", status.message());
    let same_name_other_kind = client
        .create_reference_item(
            service.request(create(item(pb::ReferenceKind::Category, "putuo_tourism", "普陀区"), ""), &[Role::Staff]),
        )
        .await;
    assert!(same_name_other_kind.is_ok(), "names are unique per kind only");
    let mut bad = item(pb::ReferenceKind::Unspecified, "Bad-Code", "");
    bad.name_en = "x".repeat(101);
    let status = client.create_reference_item(service.request(create(bad, ""), &[Role::Staff])).await.expect_err("bad");
    for field in ["item.kind", "item.code", "item.name", "item.name_en"] {
        assert_field_violation(&status, field);
    }
    let status = client
        .create_reference_item(
            service.request(create(item(district, "long_name", &"区".repeat(101)), ""), &[Role::Staff]),
        )
        .await
        .expect_err("long name");
    assert_field_violation(&status, "item.name");
    for role in [Role::Member, Role::Enterprise, Role::Analyst] {
        let status = client
            .create_reference_item(service.request(create(item(district, "x", "某区"), ""), &[role]))
            .await
            .expect_err("denied");
        assert_eq!(status.code(), Code::PermissionDenied);
    }

    // Renamed, then deactivated: gone from the default list, kept with include_inactive.
    let update = |item: pb::ReferenceItem, paths: &[&str]| pb::UpdateReferenceItemRequest {
        item: Some(item),
        update_mask: mask(paths),
    };
    let mut renamed = created.clone();
    renamed.name = "中国（浙江）自由贸易试验区舟山片区".into();
    renamed.name_en = "Zhoushan Area, Zhejiang FTZ".into();
    renamed.sort_order = 5;
    renamed.active = false;
    let after = client
        .update_reference_item(service.request(update(renamed.clone(), &["name", "name_en"]), &[Role::SystemAdmin]))
        .await
        .expect("renamed")
        .into_inner()
        .item
        .expect("item");
    assert_eq!(after.name, "中国（浙江）自由贸易试验区舟山片区");
    assert_eq!(after.name_en, "Zhoushan Area, Zhejiang FTZ");
    assert_eq!((after.sort_order, after.active), (60, true), "fields outside the mask keep their value");
    let deactivated = client
        .update_reference_item(service.request(update(renamed.clone(), &["active", "sort_order"]), &[Role::Staff]))
        .await
        .expect("deactivated")
        .into_inner()
        .item
        .expect("item");
    assert_eq!((deactivated.active, deactivated.sort_order), (false, 5));
    let listed = |include_inactive| pb::ListReferenceItemsRequest {
        kind: district as i32,
        include_inactive,
        ..Default::default()
    };
    let active = client.list_reference_items(service.request(listed(false), &[Role::Staff])).await.expect("ok");
    assert!(!active.into_inner().items.iter().any(|i| i.code == "free_trade_zone"));
    let everything = client.list_reference_items(service.request(listed(true), &[Role::Staff])).await.expect("ok");
    assert_eq!(everything.into_inner().items.first().map(|i| i.code.as_str()), Some("free_trade_zone"));

    // A deactivated district is refused on new enterprises, by code or by name.
    for given in ["free_trade_zone", "中国（浙江）自由贸易试验区舟山片区"] {
        let mut e = enterprise(1, "舟山自贸区某油品贸易有限公司");
        e.district = given.into();
        let status = client
            .create_enterprise(service.request(
                pb::CreateEnterpriseRequest { enterprise: Some(e), request_id: String::new() },
                &[Role::Staff],
            ))
            .await
            .expect_err("inactive district");
        assert_field_violation(&status, "enterprise.district");
    }

    // Unknown items, bad masks, taken names, callers without the role.
    let status = client
        .update_reference_item(service.request(update(item(district, "nowhere", "无"), &["name"]), &[Role::Staff]))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .update_reference_item(service.request(update(renamed.clone(), &["code"]), &[Role::Staff]))
        .await
        .expect_err("immutable code");
    assert_field_violation(&status, "update_mask");
    let status = client
        .update_reference_item(service.request(update(renamed.clone(), &[]), &[Role::Staff]))
        .await
        .expect_err("no mask");
    assert_field_violation(&status, "update_mask");
    let mut clash = renamed.clone();
    clash.name = "定海区".into();
    let status = client
        .update_reference_item(service.request(update(clash, &["name"]), &[Role::Staff]))
        .await
        .expect_err("name taken");
    assert_eq!(status.code(), Code::AlreadyExists);
    let status = client
        .update_reference_item(service.request(update(item(district, "BAD", "x"), &["name"]), &[Role::Staff]))
        .await
        .expect_err("bad code");
    assert_field_violation(&status, "item.code");
    let status = client
        .update_reference_item(service.request(update(renamed, &["name"]), &[Role::Member]))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);
    service.stop().await.expect("stops");
}

on_both_backends!(reference_listing, crate::reference::listing);
on_both_backends!(reference_configuration, crate::reference::configuration);
