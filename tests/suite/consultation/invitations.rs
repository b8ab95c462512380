//! Consultation: invitations by the stakeholder principle (利益涉及谁就和谁商量), on SQLite and on
//! PostgreSQL — proposals ranked demand holders first (with their reasons), then enterprises of the
//! affected industries and districts, then the named groups; no duplicates on a second call, earlier
//! decisions kept, the limit on new proposals; accepting, dropping (a reason required) and adding by
//! hand; lists by rank and status; a withdrawn topic refuses them all.

use std::collections::HashSet;

use tingjian_proto::consultation::v1 as pb;
use tingjian_tests::suite::{Suite, member, staff};
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends};
use tonic::Code;

use crate::topics::{create, plan, topic};

const ISSUE_TITLE: &str = "远洋渔业相关企业综合融资成本高";

fn stakeholder(kind: pb::StakeholderKind, code: &str, name: &str) -> pb::Stakeholder {
    pb::Stakeholder { kind: kind as i32, code: code.into(), name: name.into() }
}

/// The whole round: proposals, a second call, decisions, the limit, additions by hand, lists.
async fn propose_and_decide(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let plan_id = plan(&suite, &mut client, 2026).await;
    let (issue, holders) = suite.financing_issue(200).await;
    let fishing = suite.enterprise(210, "舟山市海星远洋渔业有限公司", "ocean_fishing", "dinghai").await;
    let in_putuo = suite.enterprise(211, "舟山市普陀船舶修造有限公司", "advanced_manufacturing", "putuo").await;
    let elsewhere = suite.enterprise(212, "舟山市新城智能装备有限公司", "advanced_manufacturing", "dinghai").await;

    let mut wanted = topic(&plan_id, &[&issue.id]);
    wanted.stakeholders = vec![
        stakeholder(pb::StakeholderKind::Industry, "ocean_fishing", "远洋渔业"),
        stakeholder(pb::StakeholderKind::District, "putuo", "普陀区"),
        stakeholder(pb::StakeholderKind::Group, "industrial_workers", "产业工人"),
    ];
    let topic_id = create(&suite, &mut client, wanted).await.expect("topic").id;

    let propose = |limit: i32| pb::ProposeInvitationsRequest { topic_id: topic_id.clone(), limit };
    let first =
        client.propose_invitations(suite.as_(&staff(), propose(0))).await.expect("proposed").into_inner().invitations;
    let invitees: Vec<&str> = first.iter().map(|i| i.invitee_id.as_str()).collect();
    assert_eq!(first.len(), 6, "{invitees:?}");
    assert_eq!(first.iter().map(|i| i.rank).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert!(first.iter().all(|i| i.status == pb::InvitationStatus::Proposed as i32 && i.topic_id == topic_id));

    // Demand holders first, the one with two demands ahead.
    assert_eq!(first[0].invitee_id, holders[0]);
    assert_eq!(first[0].invitee_kind, pb::InviteeKind::Enterprise as i32);
    assert_eq!(first[0].display_name, "舟山市海丰远洋渔业有限公司");
    assert_eq!(first[0].basis, pb::InvitationBasis::DemandInCommonIssue as i32);
    assert_eq!(first[0].reason, format!("该企业有2条诉求在共性问题「{ISSUE_TITLE}」中"));
    let next_two: HashSet<&str> = [first[1].invitee_id.as_str(), first[2].invitee_id.as_str()].into();
    assert_eq!(next_two, [holders[1].as_str(), holders[2].as_str()].into());
    for invitation in &first[1..3] {
        assert_eq!(invitation.basis, pb::InvitationBasis::DemandInCommonIssue as i32);
        assert_eq!(invitation.reason, format!("该企业有1条诉求在共性问题「{ISSUE_TITLE}」中"));
    }
    // Then the affected industry, the affected district, and the named group.
    assert_eq!(first[3].invitee_id, fishing);
    assert_eq!(first[3].display_name, "舟山市海星远洋渔业有限公司");
    assert_eq!(first[3].basis, pb::InvitationBasis::AffectedIndustry as i32);
    assert!(first[3].reason.contains("远洋渔业"), "{}", first[3].reason);
    assert_eq!(first[4].invitee_id, in_putuo);
    assert_eq!(first[4].basis, pb::InvitationBasis::AffectedDistrict as i32);
    assert!(first[4].reason.contains("普陀区"), "{}", first[4].reason);
    assert_eq!(first[5].invitee_kind, pb::InviteeKind::Group as i32);
    assert_eq!(first[5].invitee_id, "industrial_workers");
    assert_eq!(first[5].display_name, "产业工人代表");
    assert_eq!(first[5].basis, pb::InvitationBasis::NamedGroup as i32);
    assert!(!invitees.contains(&elsewhere.as_str()), "not a stakeholder");

    // A second call proposes nobody twice.
    let again = client
        .propose_invitations(suite.as_(&staff(), propose(0)))
        .await
        .expect("proposed again")
        .into_inner()
        .invitations;
    assert_eq!(again, first);

    // Decisions.
    let drop = |id: &str, reason: &str| pb::DropInvitationRequest { id: id.into(), reason: reason.into() };
    let status = client.drop_invitation(suite.as_(&staff(), drop(&first[1].id, " "))).await.expect_err("no reason");
    assert_field_violation(&status, "reason");
    let dropped = client
        .drop_invitation(suite.as_(&staff(), drop(&first[1].id, "该企业负责人近期出国，无法参加")))
        .await
        .expect("dropped")
        .into_inner()
        .invitation
        .expect("invitation");
    assert_eq!(dropped.status, pb::InvitationStatus::Dropped as i32);
    assert_eq!(dropped.decided_by, "staff-wang");
    assert_eq!(dropped.decision_reason, "该企业负责人近期出国，无法参加");
    let status =
        client.drop_invitation(suite.as_(&staff(), drop(&first[1].id, "再次"))).await.expect_err("dropped twice");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("DROPPED"), "{}", status.message());

    let accept = |id: &str| pb::AcceptInvitationRequest { id: id.into() };
    let accepted = client
        .accept_invitation(suite.as_(&staff(), accept(&first[0].id)))
        .await
        .expect("accepted")
        .into_inner()
        .invitation
        .expect("invitation");
    assert_eq!(accepted.status, pb::InvitationStatus::Accepted as i32);
    assert_eq!(accepted.decided_by, "staff-wang");
    let status = client.accept_invitation(suite.as_(&staff(), accept(&first[0].id))).await.expect_err("twice");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("ACCEPTED"), "{}", status.message());
    let status = client
        .accept_invitation(suite.as_(&staff(), accept(&tingjian_runtime::wire::new_id())))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
    let status =
        client.accept_invitation(suite.as_(&member("member-li"), accept(&first[2].id))).await.expect_err("member");
    assert_eq!(status.code(), Code::PermissionDenied);

    // Two newcomers, but a limit of one: the dropped invitee is not proposed again.
    let newcomer = suite.enterprise(213, "岱山县远洋渔业有限公司", "ocean_fishing", "daishan").await;
    suite.enterprise(214, "舟山市普陀水产加工有限公司", "aquatic_processing", "putuo").await;
    let third = client
        .propose_invitations(suite.as_(&staff(), propose(1)))
        .await
        .expect("proposed a third time")
        .into_inner()
        .invitations;
    assert_eq!(third.len(), 7);
    assert_eq!(third[6].invitee_id, newcomer);
    assert_eq!(third[6].rank, 7);
    assert_eq!(third[1].status, pb::InvitationStatus::Dropped as i32, "earlier decisions are kept");
    assert_eq!(third[0].status, pb::InvitationStatus::Accepted as i32);

    // Additions by hand.
    let add = |kind: pb::InviteeKind, id: &str, name: &str, reason: &str| pb::AddInvitationRequest {
        topic_id: topic_id.clone(),
        invitation: Some(pb::Invitation {
            invitee_kind: kind as i32,
            invitee_id: id.into(),
            display_name: name.into(),
            ..Default::default()
        }),
        reason: reason.into(),
    };
    let added = client
        .add_invitation(suite.as_(&staff(), add(pb::InviteeKind::Enterprise, &elsewhere, "", "该企业为行业龙头")))
        .await
        .expect("added")
        .into_inner()
        .invitation
        .expect("invitation");
    assert_eq!(added.status, pb::InvitationStatus::Accepted as i32);
    assert_eq!(added.basis, pb::InvitationBasis::AddedByStaff as i32);
    assert_eq!(added.rank, 0);
    assert_eq!(added.display_name, "舟山市新城智能装备有限公司", "filled in from intake");
    assert_eq!(added.decision_reason, "该企业为行业龙头");
    let member_added = client
        .add_invitation(suite.as_(&staff(), add(pb::InviteeKind::Member, "member-zhang", "张委员", "")))
        .await
        .expect("member added")
        .into_inner()
        .invitation
        .expect("invitation");
    assert_eq!(member_added.display_name, "张委员");
    let readded = client
        .add_invitation(suite.as_(&staff(), add(pb::InviteeKind::Enterprise, &first[1].invitee_id, "", "负责人已回国")))
        .await
        .expect("re-added")
        .into_inner()
        .invitation
        .expect("invitation");
    assert_eq!(readded.id, first[1].id, "the existing invitation is accepted instead of duplicated");
    assert_eq!(readded.status, pb::InvitationStatus::Accepted as i32);
    assert_eq!(readded.basis, pb::InvitationBasis::DemandInCommonIssue as i32);

    let unknown = tingjian_runtime::wire::new_id();
    let status = client
        .add_invitation(suite.as_(&staff(), add(pb::InviteeKind::Enterprise, &unknown, "", "")))
        .await
        .expect_err("unknown enterprise");
    assert_field_violation(&status, "invitation.invitee_id");
    let status = client
        .add_invitation(suite.as_(&staff(), add(pb::InviteeKind::Unspecified, "x", "", "")))
        .await
        .expect_err("no kind");
    assert_field_violation(&status, "invitation.invitee_kind");
    let status =
        client.add_invitation(suite.as_(&staff(), add(pb::InviteeKind::Group, " ", "", ""))).await.expect_err("no id");
    assert_field_violation(&status, "invitation.invitee_id");

    // Lists: by rank with staff additions last; by status; in pages.
    let list = |statuses: Vec<i32>, page_size: i32, page_token: String| pb::ListInvitationsRequest {
        topic_id: topic_id.clone(),
        statuses,
        page_size,
        page_token,
    };
    let all = client
        .list_invitations(suite.as_(&member("member-li"), list(vec![], 0, String::new())))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.invitations.iter().map(|i| i.rank).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6, 7, 0, 0]);
    assert_eq!(all.invitations[7].id, added.id);
    assert_eq!(all.invitations[8].id, member_added.id);
    let accepted_only = client
        .list_invitations(suite.as_(&staff(), list(vec![pb::InvitationStatus::Accepted as i32], 0, String::new())))
        .await
        .expect("accepted")
        .into_inner();
    let ids: Vec<&str> = accepted_only.invitations.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [first[0].id.as_str(), first[1].id.as_str(), added.id.as_str(), member_added.id.as_str()]);
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page =
            client.list_invitations(suite.as_(&staff(), list(vec![], 2, token))).await.expect("page").into_inner();
        assert!(page.invitations.len() <= 2);
        paged.extend(page.invitations);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(paged, all.invitations);
    let status =
        client.list_invitations(suite.as_(&staff(), list(vec![7], 0, String::new()))).await.expect_err("bad status");
    assert_field_violation(&status, "statuses[0]");
    let status = client
        .list_invitations(
            suite.as_(&staff(), pb::ListInvitationsRequest { topic_id: unknown.clone(), ..Default::default() }),
        )
        .await
        .expect_err("unknown topic");
    assert_eq!(status.code(), Code::NotFound);
}
on_both_backends!(proposing_and_deciding_invitations, super::propose_and_decide);

/// Bad requests: unknown or malformed topic, negative limit, a member proposing, and a withdrawn
/// topic refusing proposals, acceptances and additions.
async fn refusals(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut client = suite.consultation_client();
    let plan_id = plan(&suite, &mut client, 2026).await;
    let (issue, _) = suite.financing_issue(220).await;
    let topic_id = create(&suite, &mut client, topic(&plan_id, &[&issue.id])).await.expect("topic").id;

    let propose = |topic_id: &str, limit: i32| pb::ProposeInvitationsRequest { topic_id: topic_id.into(), limit };
    let status = client
        .propose_invitations(suite.as_(&staff(), propose(&tingjian_runtime::wire::new_id(), 0)))
        .await
        .expect_err("unknown topic");
    assert_eq!(status.code(), Code::NotFound);
    let status =
        client.propose_invitations(suite.as_(&staff(), propose("议题", 0))).await.expect_err("malformed topic");
    assert_field_violation(&status, "topic_id");
    let status = client.propose_invitations(suite.as_(&staff(), propose(&topic_id, -1))).await.expect_err("limit");
    assert_field_violation(&status, "limit");
    let status =
        client.propose_invitations(suite.as_(&member("member-li"), propose(&topic_id, 0))).await.expect_err("member");
    assert_eq!(status.code(), Code::PermissionDenied);

    let proposed = client
        .propose_invitations(suite.as_(&staff(), propose(&topic_id, 2)))
        .await
        .expect("proposed")
        .into_inner()
        .invitations;
    assert_eq!(proposed.len(), 2, "the limit caps new proposals");

    let withdraw =
        pb::WithdrawTopicRequest { id: topic_id.clone(), reason: "议题调整".into(), etag: String::new() };
    client.withdraw_topic(suite.as_(&staff(), withdraw)).await.expect("withdrawn");
    let status = client.propose_invitations(suite.as_(&staff(), propose(&topic_id, 0))).await.expect_err("withdrawn");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("WITHDRAWN"), "{}", status.message());
    let status = client
        .accept_invitation(suite.as_(&staff(), pb::AcceptInvitationRequest { id: proposed[0].id.clone() }))
        .await
        .expect_err("withdrawn topic");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let add = pb::AddInvitationRequest {
        topic_id: topic_id.clone(),
        invitation: Some(pb::Invitation {
            invitee_kind: pb::InviteeKind::Group as i32,
            invitee_id: "skilled_talent".into(),
            ..Default::default()
        }),
        reason: String::new(),
    };
    let status = client.add_invitation(suite.as_(&staff(), add)).await.expect_err("withdrawn topic");
    assert_eq!(status.code(), Code::FailedPrecondition);
}
on_both_backends!(invitation_refusals, super::refusals);
