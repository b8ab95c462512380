//! Consultation: teams. Service teams (一企一团队) formed for intake enterprises, the service menu
//! (菜单式服务), an enterprise's open demands mapped to menu items and members — its demand list turned
//! into a service list (变“需求清单”为“服务清单”) — and deliveries with their ServiceItemDelivered event,
//! on SQLite and on PostgreSQL, with intake running beside consultation.

use chrono::{Duration, Utc};
use prost::Message as _;
use prost_types::FieldMask;
use tingjian_proto::common::v1::{Event, PersonRef};
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use tingjian_proto::intake::v1 as intake;
use tingjian_runtime::on_pool;
use tingjian_runtime::wire::{new_id, timestamp};
use tingjian_tests::suite::{Suite, leader, member, staff};
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;

type Client = ConsultationServiceClient<Channel>;

fn person(id: &str, name: &str, title: &str) -> PersonRef {
    PersonRef { id: id.into(), display_name: name.into(), title: title.into(), organisation_id: String::new() }
}

fn team_member(id: &str, name: &str, sector: &str, expertise: &str) -> pb::TeamMember {
    pb::TeamMember {
        member: Some(person(id, name, "政协委员")), sector: sector.into(), expertise: expertise.into()
    }
}

/// A team for `enterprise_id` led by 周某某 (member-zhou) of 经济委员会, with 李某某 (member-li, 金融界)
/// and 陈某某 (member-chen, 科技界).
fn team_of(enterprise_id: &str) -> pb::ServiceTeam {
    pb::ServiceTeam {
        enterprise_id: enterprise_id.into(),
        lead: Some(person("member-zhou", "周某某", "市政协副主席")),
        committee: "经济委员会".into(),
        members: vec![
            team_member("member-li", "李某某", "金融界", "融资对接"),
            team_member("member-chen", "陈某某", "科技界", "专利辅导"),
        ],
        plan: "每季度上门走访一次，帮助企业对接银行，降低综合融资成本。".into(),
        ..Default::default()
    }
}

fn mask(paths: &[&str]) -> Option<FieldMask> {
    Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
}

async fn create_team(suite: &Suite, client: &mut Client, team: pb::ServiceTeam, request_id: &str) -> pb::ServiceTeam {
    let request = pb::CreateServiceTeamRequest { team: Some(team), request_id: request_id.into() };
    client
        .create_service_team(suite.as_(&staff(), request))
        .await
        .expect("team formed")
        .into_inner()
        .team
        .expect("team")
}

async fn create_team_status(
    suite: &Suite,
    client: &mut Client,
    team: pb::ServiceTeam,
    request_id: &str,
) -> tonic::Status {
    let request = pb::CreateServiceTeamRequest { team: Some(team), request_id: request_id.into() };
    client.create_service_team(suite.as_(&staff(), request)).await.expect_err("refused")
}

async fn create_item(suite: &Suite, client: &mut Client, title: &str, categories: &[&str]) -> pb::ServiceMenuItem {
    let request = pb::CreateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem {
            title: title.into(),
            description: format!("{title}：由服务团队成员上门提供。"),
            categories: categories.iter().map(|c| (*c).to_owned()).collect(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    client
        .create_service_menu_item(suite.as_(&staff(), request))
        .await
        .expect("menu item created")
        .into_inner()
        .item
        .expect("item")
}

async fn list_teams(suite: &Suite, client: &mut Client, request: pb::ListServiceTeamsRequest) -> Vec<String> {
    let response = client.list_service_teams(suite.as_(&member("member-li"), request)).await.expect("teams listed");
    response.into_inner().teams.into_iter().map(|t| t.id).collect()
}

async fn list_items(suite: &Suite, client: &mut Client, request: pb::ListServiceMenuItemsRequest) -> Vec<String> {
    let response = client.list_service_menu_items(suite.as_(&staff(), request)).await.expect("menu listed");
    response.into_inner().items.into_iter().map(|i| i.title).collect()
}

fn mapping(
    team_id: &str,
    demand_id: &str,
    item_id: &str,
    member_id: &str,
    request_id: &str,
) -> pb::MapDemandToServiceRequest {
    pb::MapDemandToServiceRequest {
        team_id: team_id.into(),
        entry: Some(pb::ServiceListEntry {
            demand_id: demand_id.into(),
            menu_item_id: item_id.into(),
            member_id: member_id.into(),
            note: "先摸清企业贷款需求，再约请三家银行座谈。".into(),
            ..Default::default()
        }),
        request_id: request_id.into(),
    }
}

async fn map(suite: &Suite, client: &mut Client, request: pb::MapDemandToServiceRequest) -> pb::ServiceListEntry {
    client
        .map_demand_to_service(suite.as_(&staff(), request))
        .await
        .expect("demand mapped")
        .into_inner()
        .entry
        .expect("entry")
}

async fn map_status(suite: &Suite, client: &mut Client, request: pb::MapDemandToServiceRequest) -> tonic::Status {
    client.map_demand_to_service(suite.as_(&staff(), request)).await.expect_err("mapping refused")
}

async fn service_list(suite: &Suite, client: &mut Client, request: pb::GetServiceListRequest) -> pb::ServiceList {
    let response = client.get_service_list(suite.as_(&member("member-chen"), request)).await.expect("service list");
    response.into_inner().service_list.expect("service list")
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Forming teams: every field kept, idempotent retries, one team per enterprise, an enterprise intake
/// must know, the bad inputs each named by field; reading, filtered and paged lists newest first; and
/// updates by field mask with the etag checked.
async fn teams_are_formed_listed_and_updated(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let haifeng = suite.enterprise(400, "舟山市海丰远洋渔业有限公司", "ocean_fishing", "putuo").await;
    let hongrun = suite.enterprise(401, "舟山市宏润远洋渔业有限公司", "ocean_fishing", "putuo").await;

    let first = create_team(&suite, &mut client, team_of(&haifeng), "team-haifeng").await;
    assert_eq!(first.enterprise_id, haifeng);
    assert_eq!(first.lead, Some(person("member-zhou", "周某某", "市政协副主席")));
    assert_eq!(first.committee, "经济委员会");
    let members: Vec<_> = first.members.iter().map(|m| m.member.clone().expect("member").id).collect();
    assert_eq!(members, ["member-li", "member-chen"]);
    assert_eq!(first.members[0].sector, "金融界");
    assert_eq!(first.members[1].expertise, "专利辅导");
    assert!(first.plan.starts_with("每季度上门走访一次"));
    assert_eq!(first.etag, "v1");
    assert_eq!(first.created_by, "staff-wang");
    assert!(first.create_time.is_some());

    // The same request again returns the first team; the same request id with other content does not.
    let again = create_team(&suite, &mut client, team_of(&haifeng), "team-haifeng").await;
    assert_eq!(again, first);
    let mut other = team_of(&haifeng);
    other.committee = "科技委员会".into();
    let status = create_team_status(&suite, &mut client, other, "team-haifeng").await;
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    // One team per enterprise.
    let status = create_team_status(&suite, &mut client, team_of(&haifeng), "team-haifeng-2").await;
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(status.message().contains(&haifeng), "{status:?}");

    // The enterprise must be known to intake.
    let status = create_team_status(&suite, &mut client, team_of(&new_id()), "").await;
    assert_field_violation(&status, "team.enterprise_id");
    let status = create_team_status(&suite, &mut client, team_of("海丰"), "").await;
    assert_field_violation(&status, "team.enterprise_id");

    // Bad inputs, each named by field.
    let mut bad = team_of(&hongrun);
    bad.members.clear();
    assert_field_violation(&create_team_status(&suite, &mut client, bad, "").await, "team.members");
    let mut bad = team_of(&hongrun);
    bad.members.push(team_member("member-li", "李某某", "经济界", "财务"));
    assert_field_violation(&create_team_status(&suite, &mut client, bad, "").await, "team.members[2].member.id");
    let mut bad = team_of(&hongrun);
    bad.members[1].member = Some(person("", "陈某某", "政协委员"));
    assert_field_violation(&create_team_status(&suite, &mut client, bad, "").await, "team.members[1].member.id");
    let mut bad = team_of(&hongrun);
    bad.lead = None;
    assert_field_violation(&create_team_status(&suite, &mut client, bad, "").await, "team.lead");
    let mut bad = team_of(&hongrun);
    bad.committee = "  ".into();
    assert_field_violation(&create_team_status(&suite, &mut client, bad, "").await, "team.committee");
    let mut bad = team_of(&hongrun);
    bad.plan = "方".repeat(10_001);
    assert_field_violation(&create_team_status(&suite, &mut client, bad, "").await, "team.plan");
    let status = client
        .create_service_team(
            suite.as_(&staff(), pb::CreateServiceTeamRequest { team: None, request_id: String::new() }),
        )
        .await
        .expect_err("no team");
    assert_field_violation(&status, "team");
    // Only staff form teams.
    let request = pb::CreateServiceTeamRequest { team: Some(team_of(&hongrun)), request_id: String::new() };
    let status = client.create_service_team(suite.as_(&member("member-li"), request)).await.expect_err("a member");
    assert_eq!(status.code(), Code::PermissionDenied);

    // A second team, led by 吴某某 with 李某某 only, for another committee.
    let mut second = team_of(&hongrun);
    second.lead = Some(person("member-wu", "吴某某", "市政协常委"));
    second.committee = "港航物流委员会".into();
    second.members.truncate(1);
    let second = create_team(&suite, &mut client, second, "").await;

    // Reading.
    let read = client
        .get_service_team(suite.as_(&member("member-chen"), pb::GetServiceTeamRequest { id: first.id.clone() }))
        .await
        .expect("team read")
        .into_inner()
        .team;
    assert_eq!(read, Some(first.clone()));
    let status = client
        .get_service_team(suite.as_(&staff(), pb::GetServiceTeamRequest { id: new_id() }))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .get_service_team(suite.as_(&staff(), pb::GetServiceTeamRequest { id: "第一队".into() }))
        .await
        .expect_err("malformed");
    assert_field_violation(&status, "id");

    // Lists, newest first, filtered by enterprise, member (lead or member) and committee.
    let all = list_teams(&suite, &mut client, pb::ListServiceTeamsRequest::default()).await;
    assert_eq!(all, [second.id.clone(), first.id.clone()]);
    let by = |enterprise_id: &str, member_id: &str, committee: &str| pb::ListServiceTeamsRequest {
        enterprise_id: enterprise_id.into(),
        member_id: member_id.into(),
        committee: committee.into(),
        ..Default::default()
    };
    assert_eq!(list_teams(&suite, &mut client, by(&haifeng, "", "")).await, std::slice::from_ref(&first.id));
    assert_eq!(list_teams(&suite, &mut client, by("", "member-li", "")).await, [second.id.clone(), first.id.clone()]);
    assert_eq!(list_teams(&suite, &mut client, by("", "member-chen", "")).await, std::slice::from_ref(&first.id));
    assert_eq!(list_teams(&suite, &mut client, by("", "member-wu", "")).await, std::slice::from_ref(&second.id));
    assert_eq!(list_teams(&suite, &mut client, by("", "", "港航物流委员会")).await, std::slice::from_ref(&second.id));
    assert!(list_teams(&suite, &mut client, by("", "member-zhao", "")).await.is_empty());
    let status =
        client.list_service_teams(suite.as_(&staff(), by("不是编号", "", ""))).await.expect_err("bad enterprise id");
    assert_field_violation(&status, "enterprise_id");

    // Paging: one team per page, the token bound to its filters.
    let page = pb::ListServiceTeamsRequest { page_size: 1, ..Default::default() };
    let one = client.list_service_teams(suite.as_(&staff(), page)).await.expect("page 1").into_inner();
    assert_eq!(one.teams.len(), 1);
    assert_eq!(one.teams[0].id, second.id);
    assert!(!one.next_page_token.is_empty());
    let page =
        pb::ListServiceTeamsRequest { page_size: 1, page_token: one.next_page_token.clone(), ..Default::default() };
    let two = client.list_service_teams(suite.as_(&staff(), page)).await.expect("page 2").into_inner();
    assert_eq!(two.teams.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(), [first.id.as_str()]);
    assert!(two.next_page_token.is_empty());
    let foreign = pb::ListServiceTeamsRequest {
        committee: "经济委员会".into(),
        page_token: one.next_page_token,
        ..Default::default()
    };
    let status = client.list_service_teams(suite.as_(&staff(), foreign)).await.expect_err("token of other filters");
    assert_field_violation(&status, "page_token");
    let negative = pb::ListServiceTeamsRequest { page_size: -1, ..Default::default() };
    let status = client.list_service_teams(suite.as_(&staff(), negative)).await.expect_err("negative size");
    assert_field_violation(&status, "page_size");

    // Updating the plan and the members, with the etag read.
    let mut change = first.clone();
    change.plan = "每月走访一次，重点解决渔船抵押贷款利率偏高的问题。".into();
    change.members = vec![
        team_member("member-li", "李某某", "金融界", "融资对接"),
        team_member("member-sun", "孙某某", "经济界", "港航物流"),
    ];
    change.committee = "不会被改".into();
    let request = pb::UpdateServiceTeamRequest { team: Some(change.clone()), update_mask: mask(&["plan", "members"]) };
    let updated = client
        .update_service_team(suite.as_(&staff(), request))
        .await
        .expect("updated")
        .into_inner()
        .team
        .expect("team");
    assert_eq!(updated.etag, "v2");
    assert_eq!(updated.plan, "每月走访一次，重点解决渔船抵押贷款利率偏高的问题。");
    assert_eq!(updated.committee, "经济委员会", "a field outside the mask is unchanged");
    let members: Vec<_> = updated.members.iter().map(|m| m.member.clone().expect("member").id).collect();
    assert_eq!(members, ["member-li", "member-sun"]);
    assert_eq!(list_teams(&suite, &mut client, by("", "member-chen", "")).await, Vec::<String>::new());
    assert_eq!(list_teams(&suite, &mut client, by("", "member-sun", "")).await, std::slice::from_ref(&first.id));

    // A stale etag is ABORTED and changes nothing.
    let request = pb::UpdateServiceTeamRequest { team: Some(change.clone()), update_mask: mask(&["committee"]) };
    let status = client.update_service_team(suite.as_(&staff(), request)).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let read = client
        .get_service_team(suite.as_(&staff(), pb::GetServiceTeamRequest { id: first.id.clone() }))
        .await
        .expect("read")
        .into_inner()
        .team
        .expect("team");
    assert_eq!(read.committee, "经济委员会");
    assert_eq!(read.etag, "v2");

    // Bad updates.
    let mut fresh = read.clone();
    fresh.members.clear();
    let request = pb::UpdateServiceTeamRequest { team: Some(fresh.clone()), update_mask: mask(&["members"]) };
    let status = client.update_service_team(suite.as_(&staff(), request)).await.expect_err("no members");
    assert_field_violation(&status, "team.members");
    let request = pb::UpdateServiceTeamRequest { team: Some(fresh.clone()), update_mask: mask(&["enterprise_id"]) };
    let status = client.update_service_team(suite.as_(&staff(), request)).await.expect_err("immutable");
    assert_field_violation(&status, "update_mask");
    let request = pb::UpdateServiceTeamRequest { team: Some(fresh.clone()), update_mask: None };
    let status = client.update_service_team(suite.as_(&staff(), request)).await.expect_err("no mask");
    assert_field_violation(&status, "update_mask");
    fresh.id = new_id();
    let request = pb::UpdateServiceTeamRequest { team: Some(fresh), update_mask: mask(&["plan"]) };
    let status = client.update_service_team(suite.as_(&staff(), request)).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

on_both_backends!(teams_are_formed_listed_and_updated, super::teams_are_formed_listed_and_updated);

/// The service menu: titles unique among active items, category codes checked, listed by title and
/// filtered by category, deactivated rather than deleted.
async fn the_service_menu(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();

    let financing = create_item(&suite, &mut client, "融资对接", &["finance_credit"]).await;
    assert!(financing.active);
    assert_eq!(financing.categories, ["finance_credit"]);
    assert_eq!(financing.description, "融资对接：由服务团队成员上门提供。");
    let policy = create_item(&suite, &mut client, "政策解读", &["policy", "subsidy"]).await;
    create_item(&suite, &mut client, "专利辅导", &["patent"]).await;

    // Idempotent on request id.
    let with_id = |title: &str, request_id: &str| pb::CreateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem {
            title: title.into(),
            categories: vec!["logistics".into()],
            ..Default::default()
        }),
        request_id: request_id.into(),
    };
    let logistics = client
        .create_service_menu_item(suite.as_(&staff(), with_id("物流协调", "item-logistics")))
        .await
        .expect("created")
        .into_inner()
        .item
        .expect("item");
    let again = client
        .create_service_menu_item(suite.as_(&staff(), with_id("物流协调", "item-logistics")))
        .await
        .expect("replayed")
        .into_inner()
        .item
        .expect("item");
    assert_eq!(again, logistics);
    let status = client
        .create_service_menu_item(suite.as_(&staff(), with_id("港口协调", "item-logistics")))
        .await
        .expect_err("other content");
    assert_eq!(status.code(), Code::AlreadyExists);

    // Bad inputs.
    let status =
        client.create_service_menu_item(suite.as_(&staff(), with_id("融资对接", ""))).await.expect_err("title taken");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(status.message().contains("融资对接"));
    let status = client.create_service_menu_item(suite.as_(&staff(), with_id("  ", ""))).await.expect_err("no title");
    assert_field_violation(&status, "item.title");
    let mut bad = with_id("人才引进", "");
    bad.item.as_mut().expect("item").categories = vec!["talent".into(), "金融".into()];
    let status = client.create_service_menu_item(suite.as_(&staff(), bad)).await.expect_err("bad code");
    assert_field_violation(&status, "item.categories[1]");
    let mut bad = with_id("人才引进", "");
    bad.item.as_mut().expect("item").categories = vec!["talent".into(), "talent".into()];
    let status = client.create_service_menu_item(suite.as_(&staff(), bad)).await.expect_err("twice");
    assert_field_violation(&status, "item.categories[1]");
    let status = client
        .create_service_menu_item(suite.as_(&member("member-li"), with_id("人才引进", "")))
        .await
        .expect_err("a member");
    assert_eq!(status.code(), Code::PermissionDenied);

    // By title (code point order), filtered by category.
    let all = list_items(&suite, &mut client, pb::ListServiceMenuItemsRequest::default()).await;
    assert_eq!(all, ["专利辅导", "政策解读", "物流协调", "融资对接"]);
    let subsidy = pb::ListServiceMenuItemsRequest { category: "subsidy".into(), ..Default::default() };
    assert_eq!(list_items(&suite, &mut client, subsidy).await, ["政策解读"]);
    let bad = pb::ListServiceMenuItemsRequest { category: "补助".into(), ..Default::default() };
    let status = client.list_service_menu_items(suite.as_(&staff(), bad)).await.expect_err("bad category");
    assert_field_violation(&status, "category");

    // Paging.
    let page = pb::ListServiceMenuItemsRequest { page_size: 3, ..Default::default() };
    let one = client.list_service_menu_items(suite.as_(&staff(), page)).await.expect("page 1").into_inner();
    assert_eq!(one.items.len(), 3);
    let page = pb::ListServiceMenuItemsRequest { page_size: 3, page_token: one.next_page_token, ..Default::default() };
    let two = client.list_service_menu_items(suite.as_(&staff(), page)).await.expect("page 2").into_inner();
    assert_eq!(two.items.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(), ["融资对接"]);
    assert!(two.next_page_token.is_empty());

    // Deactivating: gone from the default list, kept with include_inactive, its title free again.
    let request = pb::UpdateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem { id: policy.id.clone(), active: false, ..Default::default() }),
        update_mask: mask(&["active"]),
    };
    let inactive =
        client.update_service_menu_item(suite.as_(&staff(), request)).await.expect("deactivated").into_inner().item;
    let inactive = inactive.expect("item");
    assert!(!inactive.active);
    assert_eq!(inactive.title, "政策解读", "fields outside the mask are unchanged");
    assert_eq!(inactive.categories, ["policy", "subsidy"]);
    let all = list_items(&suite, &mut client, pb::ListServiceMenuItemsRequest::default()).await;
    assert_eq!(all, ["专利辅导", "物流协调", "融资对接"]);
    let everything = pb::ListServiceMenuItemsRequest { include_inactive: true, ..Default::default() };
    assert_eq!(list_items(&suite, &mut client, everything).await, ["专利辅导", "政策解读", "物流协调", "融资对接"]);
    let renewed = create_item(&suite, &mut client, "政策解读", &["policy"]).await;
    assert_ne!(renewed.id, policy.id);
    // Reactivating the old one would give two active items the same title.
    let request = pb::UpdateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem { id: policy.id.clone(), active: true, ..Default::default() }),
        update_mask: mask(&["active"]),
    };
    let status = client.update_service_menu_item(suite.as_(&staff(), request)).await.expect_err("title clash");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    // Renaming and recategorising.
    let request = pb::UpdateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem {
            id: financing.id.clone(),
            title: "融资对接与银企座谈".into(),
            categories: vec!["finance_credit".into(), "policy".into()],
            ..Default::default()
        }),
        update_mask: mask(&["title", "categories"]),
    };
    let renamed = client.update_service_menu_item(suite.as_(&staff(), request)).await.expect("renamed").into_inner();
    let renamed = renamed.item.expect("item");
    assert_eq!(renamed.title, "融资对接与银企座谈");
    assert_eq!(renamed.categories, ["finance_credit", "policy"]);
    assert!(renamed.active);
    let policy_items = pb::ListServiceMenuItemsRequest { category: "policy".into(), ..Default::default() };
    assert_eq!(list_items(&suite, &mut client, policy_items).await, ["政策解读", "融资对接与银企座谈"]);

    let request = pb::UpdateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem {
            id: financing.id.clone(), title: "物流协调".into(), ..Default::default()
        }),
        update_mask: mask(&["title"]),
    };
    let status = client.update_service_menu_item(suite.as_(&staff(), request)).await.expect_err("title taken");
    assert_eq!(status.code(), Code::AlreadyExists);
    let request = pb::UpdateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem { id: financing.id.clone(), ..Default::default() }),
        update_mask: mask(&["title"]),
    };
    let status = client.update_service_menu_item(suite.as_(&staff(), request)).await.expect_err("empty title");
    assert_field_violation(&status, "item.title");
    let request = pb::UpdateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem { id: new_id(), active: false, ..Default::default() }),
        update_mask: mask(&["active"]),
    };
    let status = client.update_service_menu_item(suite.as_(&staff(), request)).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

on_both_backends!(the_service_menu, super::the_service_menu);

/// The demand list becomes the service list: open demands of the team's enterprise mapped to active
/// menu items and the team's members, one entry per demand, with every refusal; the list by team or
/// by enterprise, its entries oldest first and the open demands still unmapped.
async fn demands_become_a_service_list(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let haifeng = suite.enterprise(402, "舟山市海丰远洋渔业有限公司", "ocean_fishing", "putuo").await;
    let xinya = suite.enterprise(403, "舟山新亚港航物流有限公司", "port_logistics", "dinghai").await;
    let loan = suite.demand(&haifeng, "渔船抵押贷款利率偏高", "finance_credit").await;
    let cold_chain = suite.demand(&haifeng, "冷链运输车辆进港通行难", "logistics").await;
    let patent = suite.demand(&haifeng, "远洋捕捞装备专利申请周期长", "patent").await;
    let withdrawn = suite.demand(&haifeng, "船员社保补贴申领手续繁琐", "subsidy").await;
    let other = suite.demand(&xinya, "集装箱堆场用地审批慢", "land").await;
    let team = create_team(&suite, &mut client, team_of(&haifeng), "").await;
    let financing = create_item(&suite, &mut client, "融资对接", &["finance_credit"]).await;
    let logistics = create_item(&suite, &mut client, "物流协调", &["logistics"]).await;
    let retired = create_item(&suite, &mut client, "政策解读", &["policy"]).await;
    let request = pb::UpdateServiceMenuItemRequest {
        item: Some(pb::ServiceMenuItem { id: retired.id.clone(), active: false, ..Default::default() }),
        update_mask: mask(&["active"]),
    };
    client.update_service_menu_item(suite.as_(&staff(), request)).await.expect("deactivated");

    // Before any mapping every open demand is unmapped.
    let by_enterprise = pb::GetServiceListRequest { enterprise_id: haifeng.clone(), ..Default::default() };
    let list = service_list(&suite, &mut client, by_enterprise.clone()).await;
    assert_eq!(list.team_id, team.id);
    assert_eq!(list.enterprise_id, haifeng);
    assert!(list.entries.is_empty());
    let all_four = sorted(vec![loan.id.clone(), cold_chain.id.clone(), patent.id.clone(), withdrawn.id.clone()]);
    assert_eq!(sorted(list.unmapped_demand_ids), all_four);

    // Mapping the loan demand to 融资对接, delivered by 李某某.
    let first = map(&suite, &mut client, mapping(&team.id, &loan.id, &financing.id, "member-li", "map-loan")).await;
    assert_eq!(first.team_id, team.id);
    assert_eq!(first.enterprise_id, haifeng);
    assert_eq!(first.demand_id, loan.id);
    assert_eq!(first.menu_item_id, financing.id);
    assert_eq!(first.member_id, "member-li");
    assert_eq!(first.status, pb::ServiceEntryStatus::Planned as i32);
    assert_eq!(first.note, "先摸清企业贷款需求，再约请三家银行座谈。");
    assert!(first.delivery_note.is_empty());
    assert!(first.deliver_time.is_none());

    // The same request, and the same mapping under another request id, return the entry.
    let again = map(&suite, &mut client, mapping(&team.id, &loan.id, &financing.id, "member-li", "map-loan")).await;
    assert_eq!(again, first);
    let same = map(&suite, &mut client, mapping(&team.id, &loan.id, &financing.id, "member-li", "")).await;
    assert_eq!(same, first);
    // A different mapping of a mapped demand is ALREADY_EXISTS, and so is reusing the request id.
    let status = map_status(&suite, &mut client, mapping(&team.id, &loan.id, &financing.id, "member-chen", "")).await;
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");
    assert!(status.message().contains(&first.id), "{status:?}");
    let status =
        map_status(&suite, &mut client, mapping(&team.id, &cold_chain.id, &logistics.id, "member-li", "map-loan"))
            .await;
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    // Refusals.
    let status = map_status(&suite, &mut client, mapping(&team.id, &other.id, &logistics.id, "member-li", "")).await;
    assert_field_violation(&status, "entry.demand_id");
    let status = map_status(&suite, &mut client, mapping(&team.id, &new_id(), &logistics.id, "member-li", "")).await;
    assert_field_violation(&status, "entry.demand_id");
    let status = map_status(&suite, &mut client, mapping(&team.id, &cold_chain.id, &retired.id, "member-li", "")).await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("inactive"), "{status:?}");
    let status = map_status(&suite, &mut client, mapping(&team.id, &cold_chain.id, &new_id(), "member-li", "")).await;
    assert_field_violation(&status, "entry.menu_item_id");
    let status =
        map_status(&suite, &mut client, mapping(&team.id, &cold_chain.id, &logistics.id, "member-wu", "")).await;
    assert_field_violation(&status, "entry.member_id");
    let status =
        map_status(&suite, &mut client, mapping(&new_id(), &cold_chain.id, &logistics.id, "member-li", "")).await;
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = map_status(&suite, &mut client, mapping(&team.id, "", "", "", "")).await;
    assert_field_violation(&status, "entry.demand_id");
    assert_field_violation(&status, "entry.menu_item_id");
    assert_field_violation(&status, "entry.member_id");
    let request = mapping(&team.id, &cold_chain.id, &logistics.id, "member-li", "");
    let status = client.map_demand_to_service(suite.as_(&member("member-li"), request)).await.expect_err("a member");
    assert_eq!(status.code(), Code::PermissionDenied);

    // A withdrawn demand is no longer open.
    let request = intake::WithdrawDemandRequest {
        id: withdrawn.id.clone(),
        reason: "企业已自行办结".into(),
        etag: String::new(),
    };
    suite.intake_client().withdraw_demand(suite.as_(&staff(), request)).await.expect("withdrawn");
    let status =
        map_status(&suite, &mut client, mapping(&team.id, &withdrawn.id, &logistics.id, "member-li", "")).await;
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("WITHDRAWN"), "{status:?}");

    // The lead may deliver too.
    let second = map(&suite, &mut client, mapping(&team.id, &cold_chain.id, &logistics.id, "member-zhou", "")).await;
    assert_eq!(second.member_id, "member-zhou");

    // The list: entries oldest first, the one open demand left unmapped (the withdrawn one is gone).
    let by_team = pb::GetServiceListRequest { team_id: team.id.clone(), ..Default::default() };
    let list = service_list(&suite, &mut client, by_team).await;
    assert_eq!(list.entries, [first.clone(), second.clone()]);
    assert_eq!(list.unmapped_demand_ids, std::slice::from_ref(&patent.id));
    assert_eq!(service_list(&suite, &mut client, by_enterprise).await, list);
    let both = pb::GetServiceListRequest { team_id: team.id.clone(), enterprise_id: haifeng.clone() };
    assert_eq!(service_list(&suite, &mut client, both).await, list);

    let status =
        client.get_service_list(suite.as_(&staff(), pb::GetServiceListRequest::default())).await.expect_err("neither");
    assert_field_violation(&status, "team_id");
    let mismatch = pb::GetServiceListRequest { team_id: team.id.clone(), enterprise_id: xinya.clone() };
    let status = client.get_service_list(suite.as_(&staff(), mismatch)).await.expect_err("another enterprise");
    assert_field_violation(&status, "enterprise_id");
    let no_team = pb::GetServiceListRequest { enterprise_id: xinya.clone(), ..Default::default() };
    let status = client.get_service_list(suite.as_(&staff(), no_team)).await.expect_err("no team");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let unknown = pb::GetServiceListRequest { team_id: new_id(), ..Default::default() };
    let status = client.get_service_list(suite.as_(&staff(), unknown)).await.expect_err("unknown team");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
}

on_both_backends!(demands_become_a_service_list, super::demands_become_a_service_list);

/// The ServiceItemDelivered payloads in consultation's outbox, with their subjects, oldest first.
async fn delivered_events(suite: &Suite) -> Vec<(String, pb::ServiceItemDelivered)> {
    let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&suite.consultation.database.db, pool => {
        sqlx::query_as("SELECT subject, event_type, envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
    })
    .expect("outbox");
    rows.into_iter()
        .filter(|(_, t, _)| t == "tingjian.consultation.service_item_delivered")
        .map(|(s, _, e)| {
            let event = Event::decode(e.as_slice()).expect("envelope");
            assert_eq!(event.data_schema, "tingjian.consultation.v1.ServiceItemDelivered");
            (s, pb::ServiceItemDelivered::decode(event.data.as_slice()).expect("payload"))
        })
        .collect()
}

/// Delivering: the entry's own member (or staff) records it once, with a note and a time not in the
/// future; ServiceItemDelivered goes to the outbox with it.
async fn services_are_delivered(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let haifeng = suite.enterprise(404, "舟山市海丰远洋渔业有限公司", "ocean_fishing", "putuo").await;
    let loan = suite.demand(&haifeng, "渔船抵押贷款利率偏高", "finance_credit").await;
    let patent = suite.demand(&haifeng, "远洋捕捞装备专利申请周期长", "patent").await;
    let team = create_team(&suite, &mut client, team_of(&haifeng), "").await;
    let financing = create_item(&suite, &mut client, "融资对接", &["finance_credit"]).await;
    let coaching = create_item(&suite, &mut client, "专利辅导", &["patent"]).await;
    let entry = map(&suite, &mut client, mapping(&team.id, &loan.id, &financing.id, "member-li", "")).await;
    let other = map(&suite, &mut client, mapping(&team.id, &patent.id, &coaching.id, "member-chen", "")).await;

    let deliver = |entry_id: &str, note: &str, at: Option<chrono::DateTime<Utc>>| pb::DeliverServiceRequest {
        entry_id: entry_id.into(),
        delivery_note: note.into(),
        deliver_time: at.map(timestamp),
    };
    let note = "已组织三家银行座谈，企业获得授信5000万元，利率下降0.8个百分点。";

    // Another member, or a leader, may not record it.
    let status = client
        .deliver_service(suite.as_(&member("member-chen"), deliver(&entry.id, note, None)))
        .await
        .expect_err("someone else's entry");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status =
        client.deliver_service(suite.as_(&leader(), deliver(&entry.id, note, None))).await.expect_err("a leader");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // Bad inputs.
    let status = client
        .deliver_service(suite.as_(&member("member-li"), deliver(&entry.id, "  ", None)))
        .await
        .expect_err("no note");
    assert_field_violation(&status, "delivery_note");
    let status = client
        .deliver_service(
            suite.as_(&member("member-li"), deliver(&entry.id, note, Some(Utc::now() + Duration::days(2)))),
        )
        .await
        .expect_err("in the future");
    assert_field_violation(&status, "deliver_time");
    let status = client
        .deliver_service(suite.as_(&member("member-li"), deliver(&new_id(), note, None)))
        .await
        .expect_err("unknown entry");
    assert_eq!(status.code(), Code::NotFound);
    let status = client
        .deliver_service(suite.as_(&member("member-li"), deliver("第一条", note, None)))
        .await
        .expect_err("malformed id");
    assert_field_violation(&status, "entry_id");
    assert!(delivered_events(&suite).await.is_empty(), "a refused delivery leaves no event");

    // The entry's own member records it, as of yesterday.
    let yesterday = Utc::now() - Duration::days(1);
    let delivered = client
        .deliver_service(suite.as_(&member("member-li"), deliver(&entry.id, note, Some(yesterday))))
        .await
        .expect("delivered")
        .into_inner()
        .entry
        .expect("entry");
    assert_eq!(delivered.id, entry.id);
    assert_eq!(delivered.status, pb::ServiceEntryStatus::Delivered as i32);
    assert_eq!(delivered.delivery_note, note);
    assert_eq!(delivered.deliver_time.expect("deliver time").seconds, yesterday.timestamp());
    assert_eq!(delivered.demand_id, loan.id);

    // Only once.
    let status = client
        .deliver_service(suite.as_(&staff(), deliver(&entry.id, "再次记录", None)))
        .await
        .expect_err("second delivery");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("DELIVERED"), "{status:?}");

    // Staff may record any entry's delivery; the time defaults to now.
    let before = Utc::now().timestamp();
    let by_staff = client
        .deliver_service(suite.as_(&staff(), deliver(&other.id, "已上门讲解专利快速预审通道。", None)))
        .await
        .expect("delivered by staff")
        .into_inner()
        .entry
        .expect("entry");
    let at = by_staff.deliver_time.expect("deliver time").seconds;
    assert!(at >= before - 1 && at <= Utc::now().timestamp() + 1, "{at} is now");

    // The list shows both delivered, and the outbox holds one event per delivery.
    let by_team = pb::GetServiceListRequest { team_id: team.id.clone(), ..Default::default() };
    let list = service_list(&suite, &mut client, by_team).await;
    assert_eq!(list.entries, [delivered.clone(), by_staff.clone()]);
    assert!(list.unmapped_demand_ids.is_empty());

    let events = delivered_events(&suite).await;
    assert_eq!(events.len(), 2);
    let (subject, payload) = &events[0];
    assert_eq!(subject, &format!("service_teams/{}", team.id));
    assert_eq!(
        payload,
        &pb::ServiceItemDelivered {
            entry_id: entry.id.clone(),
            team_id: team.id.clone(),
            enterprise_id: haifeng.clone(),
            demand_id: loan.id.clone(),
            menu_item_id: financing.id.clone(),
            member_id: "member-li".into(),
            actor: "member-li".into(),
        }
    );
    assert_eq!(events[1].1.entry_id, other.id);
    assert_eq!(events[1].1.member_id, "member-chen");
    assert_eq!(events[1].1.actor, "staff-wang");
}

on_both_backends!(services_are_delivered, super::services_are_delivered);
