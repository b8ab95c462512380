//! The similar-demand engine (合并同类项) through the intake API, on SQLite and on PostgreSQL: a
//! submitted duplicate is suggested first, SuggestSimilar by text and by demand, clustering proposals
//! that staff accept (forming or extending a common issue with every member's history intact), edit
//! or reject (changing nothing), the index rebuilt from the store when the service starts again and
//! kept current across replicas, row scope, and bad input.

use std::time::Duration;

use tingjian_proto::intake::v1 as pb;
use tingjian_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tingjian_runtime::Role;
use tingjian_runtime::settings::SimilaritySettings;
use tingjian_tests::suite::credit_code;
use tingjian_tests::{
    Identity, SpawnOptions, StorageBackend, TestService, assert_field_violation, on_both_backends, outbox_payloads,
    spawn_replica, spawn_with,
};
use tonic::Code;
use tonic::transport::Channel;

type Client = IntakeServiceClient<Channel>;

/// Demands of different enterprises that ask for different things.
const OTHERS: &[(&str, &str, &str)] = &[
    ("港口集装箱运力不足", "旺季港口集装箱运力紧张，物流运输成本上涨，希望增加航线班次。", "logistics"),
    ("高层次人才子女入学难", "引进的高层次人才子女入学安排困难，希望开辟绿色通道。", "talent"),
    ("发明专利审查周期长", "发明专利从申请到授权周期太长，希望开通快速预审通道。", "patent"),
    ("工业用地指标紧张", "企业扩产需要新增工业用地，但用地指标紧张，审批时间长。", "land"),
    ("冷链仓储用电成本高", "冷库用电量大，电价偏高，希望落实峰谷电价优惠政策。", "subsidy"),
];

const FINANCE: (&str, &str) =
    ("渔船抵押贷款利率偏高", "远洋渔船抵押贷款利率偏高，审批周期长，希望协调金融机构降低融资成本。");
const FINANCE_AGAIN: (&str, &str) =
    ("渔船抵押贷款利息太高", "我们公司渔船抵押贷款的利息太高，审批也慢，希望金融机构降低融资成本。");
const FINANCE_THIRD: (&str, &str) =
    ("远洋渔船贷款利率高、融资成本高", "远洋渔船抵押贷款利率高，融资成本高，希望协调银行降低贷款利率。");
const LOGISTICS: (&str, &str) =
    ("集装箱运力紧张 物流成本上涨", "港口集装箱运力紧张，物流运输成本不断上涨，希望增加航线班次。");

struct Fixture {
    service: TestService,
    client: Client,
}

fn staff() -> Identity {
    Identity::new("staff-wang", "舟山市政协办公室", &[Role::Staff])
}

impl Fixture {
    async fn start(backend: StorageBackend) -> Option<Self> {
        Self::start_with(backend, SimilaritySettings::default()).await
    }

    async fn start_with(backend: StorageBackend, similarity: SimilaritySettings) -> Option<Self> {
        let options = SpawnOptions { similarity: Some(similarity), ..Default::default() };
        let service = spawn_with(&tingjian_intake::MODULE, backend, options).await?;
        let client = IntakeServiceClient::new(service.channel.clone());
        Some(Self { service, client })
    }

    fn as_staff<T>(&self, message: T) -> tonic::Request<T> {
        self.service.request_as(message, &staff())
    }

    async fn enterprise(&mut self, n: u32) -> String {
        let request = pb::CreateEnterpriseRequest {
            enterprise: Some(pb::Enterprise {
                name: format!("舟山市第{n}海洋科技有限公司"),
                credit_code: credit_code(n),
                district: "putuo".into(),
                industry: "ocean_fishing".into(),
                size: pb::EnterpriseSize::Medium as i32,
                ..Default::default()
            }),
            request_id: format!("enterprise-{n}"),
        };
        let request = self.as_staff(request);
        self.client.create_enterprise(request).await.expect("registered").into_inner().enterprise.expect("e").id
    }

    async fn submit_as(
        &mut self,
        who: &Identity,
        enterprise_id: &str,
        (title, text): (&str, &str),
        category: &str,
        similar_limit: i32,
    ) -> pb::SubmitDemandResponse {
        let request = pb::SubmitDemandRequest {
            demand: Some(pb::Demand {
                enterprise_id: enterprise_id.into(),
                title: title.into(),
                text: text.into(),
                category: category.into(),
                channel: pb::DemandChannel::Visit as i32,
                ..Default::default()
            }),
            request_id: tingjian_runtime::wire::new_id(),
            similar_limit,
        };
        let request = self.service.request_as(request, who);
        self.client.submit_demand(request).await.expect("submitted").into_inner()
    }

    async fn submit(&mut self, enterprise_id: &str, demand: (&str, &str), category: &str) -> String {
        let member = Identity::new("member-li", "舟山市政协经济委员会", &[Role::Member]);
        self.submit_as(&member, enterprise_id, demand, category, 0).await.demand.expect("demand").id
    }

    /// Five unrelated demands of five enterprises; their ids.
    async fn background(&mut self, first: u32) -> Vec<String> {
        let mut ids = Vec::new();
        for (i, (title, text, category)) in OTHERS.iter().enumerate() {
            let e = self.enterprise(first + i as u32).await;
            ids.push(self.submit(&e, (title, text), category).await);
        }
        ids
    }

    async fn suggest(
        &mut self,
        request: pb::SuggestSimilarRequest,
    ) -> Result<pb::SuggestSimilarResponse, tonic::Status> {
        let request = self.as_staff(request);
        self.client.suggest_similar(request).await.map(tonic::Response::into_inner)
    }

    async fn propose(&mut self, request: pb::ProposeClustersRequest) -> Result<pb::ClusteringProposal, tonic::Status> {
        let request = self.as_staff(request);
        self.client.propose_clusters(request).await.map(|r| r.into_inner().proposal.expect("proposal"))
    }

    async fn accept(
        &mut self,
        request: pb::AcceptProposedClusterRequest,
    ) -> Result<pb::AcceptProposedClusterResponse, tonic::Status> {
        let request = self.as_staff(request);
        self.client.accept_proposed_cluster(request).await.map(tonic::Response::into_inner)
    }

    async fn reject(&mut self, proposal_id: &str, cluster_id: &str) -> Result<pb::ProposedCluster, tonic::Status> {
        let request = self.as_staff(pb::RejectProposedClusterRequest {
            proposal_id: proposal_id.into(),
            cluster_id: cluster_id.into(),
            reason: "不是同一诉求".into(),
        });
        self.client.reject_proposed_cluster(request).await.map(|r| r.into_inner().cluster.expect("cluster"))
    }

    async fn demand(&mut self, id: &str) -> pb::Demand {
        let request = self.as_staff(pb::GetDemandRequest { id: id.into() });
        self.client.get_demand(request).await.expect("demand").into_inner().demand.expect("d")
    }

    async fn history(&mut self, id: &str) -> Vec<pb::DemandHistoryEntry> {
        let request = self.as_staff(pb::ListDemandHistoryRequest { demand_id: id.into(), ..Default::default() });
        self.client.list_demand_history(request).await.expect("history").into_inner().entries
    }

    async fn issues(&mut self) -> Vec<pb::CommonIssue> {
        let request = self.as_staff(pb::ListCommonIssuesRequest::default());
        self.client.list_common_issues(request).await.expect("issues").into_inner().common_issues
    }

    async fn proposal(&mut self, id: &str) -> pb::ClusteringProposal {
        let request = self.as_staff(pb::GetClusteringProposalRequest { id: id.into() });
        self.client.get_clustering_proposal(request).await.expect("proposal").into_inner().proposal.expect("p")
    }
}

fn text_query(text: &str) -> pb::SuggestSimilarRequest {
    pb::SuggestSimilarRequest { text: text.into(), ..Default::default() }
}

fn unmerged_scope() -> pb::ProposeClustersRequest {
    pb::ProposeClustersRequest {
        scope: Some(pb::ClusteringScope { unmerged_only: true, ..Default::default() }),
        ..Default::default()
    }
}

/// The group of `proposal` holding `demand_id`.
fn group_of<'a>(proposal: &'a pb::ClusteringProposal, demand_id: &str) -> &'a pb::ProposedCluster {
    proposal
        .clusters
        .iter()
        .find(|c| c.demand_ids.iter().any(|d| d == demand_id))
        .unwrap_or_else(|| panic!("no group holds {demand_id}: {proposal:#?}"))
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

async fn a_submitted_duplicate_is_suggested_first(backend: StorageBackend) {
    let Some(mut f) = Fixture::start(backend).await else { return };
    f.background(1).await;
    let first = f.enterprise(10).await;
    let original = f.submit(&first, FINANCE, "finance_credit").await;
    let second = f.enterprise(11).await;
    let member = Identity::new("member-li", "舟山市政协经济委员会", &[Role::Member]);
    let response = f.submit_as(&member, &second, FINANCE_AGAIN, "finance_credit", 5).await;
    let duplicate = response.demand.expect("demand").id;
    let top = response.similar.first().unwrap_or_else(|| panic!("no likely duplicate: {:?}", response.similar));
    assert_eq!(top.id, original, "{:#?}", response.similar);
    assert_eq!(top.kind, pb::SimilarTargetKind::Demand as i32);
    assert_eq!(top.title, FINANCE.0);
    assert_eq!(top.enterprise_id, first);
    assert!(top.score >= SimilaritySettings::default().match_threshold && top.score <= 1.0, "{top:?}");
    assert!(top.shared_terms.iter().any(|t| t == "渔船" || t == "抵押贷款" || t == "贷款"), "{:?}", top.shared_terms);
    assert!(response.similar.iter().all(|m| m.id != duplicate), "a demand is not its own duplicate");
    assert!(response.similar.windows(2).all(|w| w[0].score >= w[1].score));

    // By text, the original and the duplicate come before anything else.
    let found = f.suggest(text_query("渔船贷款利率太高，融资成本高")).await.expect("suggested");
    let ids: Vec<&str> = found.matches.iter().map(|m| m.id.as_str()).collect();
    assert!(
        ids.len() >= 2 && ids[..2].contains(&original.as_str()) && ids[..2].contains(&duplicate.as_str()),
        "{found:#?}"
    );
    assert!(found.query_terms.iter().any(|t| t == "渔船"), "{:?}", found.query_terms);

    // By demand: the other one first, never itself.
    let by_demand = f.suggest(pb::SuggestSimilarRequest { demand_id: duplicate.clone(), ..Default::default() }).await;
    let by_demand = by_demand.expect("suggested");
    assert_eq!(by_demand.matches[0].id, original);
    assert!(by_demand.matches.iter().all(|m| m.id != duplicate));

    // Filters: another category finds none of them; a limit of 1 returns one.
    let other_category =
        pb::SuggestSimilarRequest { category: "logistics".into(), ..text_query("渔船贷款利率太高") };
    let found = f.suggest(other_category).await.expect("suggested");
    assert!(found.matches.iter().all(|m| m.id != original && m.id != duplicate), "{found:#?}");
    let one = f.suggest(pb::SuggestSimilarRequest { limit: 1, ..text_query("渔船贷款利率太高") }).await.expect("one");
    assert_eq!(one.matches.len(), 1);
    // Full-width and traditional forms match the same demands.
    let folded = f.suggest(text_query("漁船貸款利率太高，融資成本高！")).await.expect("suggested");
    assert!(folded.matches.iter().take(2).any(|m| m.id == original), "{folded:#?}");
}
on_both_backends!(a_submitted_duplicate_is_suggested_first, super::a_submitted_duplicate_is_suggested_first);

async fn common_issues_are_suggested_and_merged_demands_name_their_issue(backend: StorageBackend) {
    let Some(mut f) = Fixture::start(backend).await else { return };
    f.background(20).await;
    let a = f.enterprise(30).await;
    let b = f.enterprise(31).await;
    let d1 = f.submit(&a, FINANCE, "finance_credit").await;
    let d2 = f.submit(&b, FINANCE_AGAIN, "finance_credit").await;
    let request = f.as_staff(pb::CreateCommonIssueRequest {
        common_issue: Some(pb::CommonIssue {
            title: "远洋渔业企业融资成本偏高".into(),
            category: "finance_credit".into(),
            ..Default::default()
        }),
        demand_ids: vec![d1.clone(), d2.clone()],
        reason: "同一融资成本问题".into(),
        request_id: String::new(),
    });
    let issue = f.client.create_common_issue(request).await.expect("formed").into_inner().common_issue.expect("issue");

    let only_issues = pb::SuggestSimilarRequest {
        kinds: vec![pb::SimilarTargetKind::CommonIssue as i32],
        ..text_query("渔船抵押贷款利率偏高，融资成本高")
    };
    let found = f.suggest(only_issues).await.expect("suggested");
    assert_eq!(found.matches.first().map(|m| m.id.as_str()), Some(issue.id.as_str()), "{found:#?}");
    assert_eq!(found.matches[0].kind, pb::SimilarTargetKind::CommonIssue as i32);

    let demands = pb::SuggestSimilarRequest {
        kinds: vec![pb::SimilarTargetKind::Demand as i32],
        ..text_query("渔船抵押贷款利率偏高，融资成本高")
    };
    let found = f.suggest(demands).await.expect("suggested");
    let merged = found.matches.iter().find(|m| m.id == d1).expect("the merged demand is still suggested");
    assert_eq!(merged.common_issue_id, issue.id, "a merged demand names its common issue");

    // A withdrawn demand is no longer suggested.
    let request =
        f.as_staff(pb::WithdrawDemandRequest { id: d2.clone(), reason: "企业撤回".into(), etag: String::new() });
    f.client.withdraw_demand(request).await.expect("withdrawn");
    let found = f.suggest(text_query("渔船抵押贷款的利息太高，审批也慢")).await.expect("suggested");
    assert!(found.matches.iter().all(|m| m.id != d2), "{found:#?}");
}
on_both_backends!(common_issues_are_suggested, super::common_issues_are_suggested_and_merged_demands_name_their_issue);

async fn accepting_a_proposal_forms_a_common_issue_with_every_history_intact(backend: StorageBackend) {
    let Some(mut f) = Fixture::start(backend).await else { return };
    f.background(40).await;
    let mut finance = Vec::new();
    for (i, demand) in [FINANCE, FINANCE_AGAIN, FINANCE_THIRD].into_iter().enumerate() {
        let e = f.enterprise(50 + i as u32).await;
        finance.push(f.submit(&e, demand, "finance_credit").await);
    }
    // One of them has been accepted for handling: its history has two entries before the merge.
    let request = f.as_staff(pb::TransitionDemandRequest {
        id: finance[0].clone(),
        to_status: pb::DemandStatus::Accepted as i32,
        reason: "已受理".into(),
        etag: String::new(),
    });
    f.client.transition_demand(request).await.expect("accepted");
    let mut before = Vec::new();
    for id in &finance {
        before.push(f.history(id).await);
    }

    let proposal = f.propose(unmerged_scope()).await.expect("proposed");
    assert!(proposal.demand_count >= 8, "{proposal:#?}");
    assert_eq!(proposal.threshold, SimilaritySettings::default().cluster_threshold);
    let group = group_of(&proposal, &finance[0]).clone();
    assert_eq!(sorted(&group.demand_ids), sorted(&finance), "{proposal:#?}");
    assert_eq!(group.status, pb::ClusterStatus::Pending as i32);
    assert!(group.cohesion > 0.0 && group.cohesion <= 1.0);
    assert!([FINANCE.0, FINANCE_AGAIN.0, FINANCE_THIRD.0].contains(&group.representative_title.as_str()));
    assert!(!group.shared_terms.is_empty(), "{group:?}");
    assert!(proposal.clusters.windows(2).all(|w| w[0].demand_ids.len() >= w[1].demand_ids.len()), "largest first");
    // Nothing is merged by proposing.
    for id in &finance {
        assert!(f.demand(id).await.common_issue_id.is_empty());
    }
    assert!(f.issues().await.is_empty());

    let accepted = f
        .accept(pb::AcceptProposedClusterRequest {
            proposal_id: proposal.id.clone(),
            cluster_id: group.id.clone(),
            reason: "三家企业反映同一融资成本问题".into(),
            ..Default::default()
        })
        .await
        .expect("accepted");
    let issue = accepted.common_issue.expect("issue");
    let cluster = accepted.cluster.expect("cluster");
    assert_eq!(sorted(&issue.demand_ids), sorted(&finance));
    assert_eq!(issue.title, group.representative_title);
    assert_eq!(issue.category, "finance_credit", "the demands' category");
    assert_eq!(issue.enterprise_count, 3);
    assert_eq!(cluster.status, pb::ClusterStatus::Accepted as i32);
    assert_eq!(cluster.common_issue_id, issue.id);
    assert_eq!(cluster.decided_by, "staff-wang");
    assert!(cluster.decide_time.is_some());

    // Every member keeps its whole history, with the merge appended.
    for (id, earlier) in finance.iter().zip(&before) {
        let now = f.history(id).await;
        assert_eq!(&now[..earlier.len()], &earlier[..], "earlier history untouched");
        assert_eq!(now.len(), earlier.len() + 1);
        let merged = now.last().expect("merge entry");
        assert_eq!(merged.action, pb::DemandAction::Merged as i32);
        assert_eq!(merged.to_common_issue_id, issue.id);
        assert_eq!(merged.reason, "三家企业反映同一融资成本问题");
        let d = f.demand(id).await;
        assert_eq!(d.common_issue_id, issue.id);
        assert!(d.title == FINANCE.0 || d.title == FINANCE_AGAIN.0 || d.title == FINANCE_THIRD.0, "original kept");
    }
    let formed: Vec<(String, pb::CommonIssueFormed)> =
        outbox_payloads(&f.service, "tingjian.intake.common_issue_formed").await;
    assert_eq!(formed.len(), 1);
    assert_eq!(formed[0].1.proposal_id, proposal.id, "the event names the proposal it came from");

    // The proposal shows the decision; a decided group cannot be decided again.
    let stored = f.proposal(&proposal.id).await;
    assert_eq!(group_of(&stored, &finance[0]).status, pb::ClusterStatus::Accepted as i32);
    let again = f
        .accept(pb::AcceptProposedClusterRequest {
            proposal_id: proposal.id.clone(),
            cluster_id: group.id.clone(),
            reason: "再次".into(),
            ..Default::default()
        })
        .await
        .expect_err("already accepted");
    assert_eq!(again.code(), Code::FailedPrecondition, "{again:?}");
    assert_eq!(f.reject(&proposal.id, &group.id).await.expect_err("decided").code(), Code::FailedPrecondition);

    // Pending proposals: this one still has groups to decide only if the engine proposed others.
    let request = f.as_staff(pb::ListClusteringProposalsRequest { pending_only: false, ..Default::default() });
    let listed = f.client.list_clustering_proposals(request).await.expect("listed").into_inner();
    assert_eq!(listed.proposals.len(), 1);
}
on_both_backends!(
    accepting_a_proposal_forms,
    super::accepting_a_proposal_forms_a_common_issue_with_every_history_intact
);

async fn an_edited_group_extends_an_existing_issue(backend: StorageBackend) {
    let Some(mut f) = Fixture::start(backend).await else { return };
    f.background(60).await;
    let a = f.enterprise(70).await;
    let b = f.enterprise(71).await;
    let c = f.enterprise(72).await;
    let d1 = f.submit(&a, FINANCE, "finance_credit").await;
    let d2 = f.submit(&b, FINANCE_AGAIN, "finance_credit").await;
    let d3 = f.submit(&c, FINANCE_THIRD, "finance_credit").await;
    let l1 = f.submit(&a, LOGISTICS, "logistics").await;
    let request = f.as_staff(pb::CreateCommonIssueRequest {
        common_issue: Some(pb::CommonIssue {
            title: "远洋渔业企业融资成本偏高".into(),
            category: "finance_credit".into(),
            ..Default::default()
        }),
        demand_ids: vec![d1.clone()],
        reason: "首件".into(),
        request_id: String::new(),
    });
    let issue = f.client.create_common_issue(request).await.expect("formed").into_inner().common_issue.expect("i");

    let proposal = f.propose(unmerged_scope()).await.expect("proposed");
    let group = group_of(&proposal, &d2).clone();
    assert!(group.demand_ids.contains(&d3), "{proposal:#?}");
    assert!(!group.demand_ids.contains(&d1), "merged demands are out of an unmerged-only scope");
    assert_eq!(group.suggested_common_issue_id, issue.id, "the group resembles the existing issue");
    // The logistics demand and its twin among the background demands form their own group.
    assert!(group_of(&proposal, &l1).id != group.id);

    // Staff keep only d2 and extend the existing issue.
    let accepted = f
        .accept(pb::AcceptProposedClusterRequest {
            proposal_id: proposal.id.clone(),
            cluster_id: group.id.clone(),
            demand_ids: vec![d2.clone()],
            target_common_issue_id: issue.id.clone(),
            reason: "与已有共性问题相同".into(),
            ..Default::default()
        })
        .await
        .expect("accepted");
    let extended = accepted.common_issue.expect("issue");
    assert_eq!(extended.id, issue.id);
    assert_eq!(extended.demand_ids, [d1.clone(), d2.clone()]);
    assert_eq!(accepted.cluster.expect("cluster").demand_ids, std::slice::from_ref(&d2), "the membership accepted");
    assert!(f.demand(&d3).await.common_issue_id.is_empty(), "left out by staff, left alone");
    let changed: Vec<(String, pb::CommonIssueChanged)> =
        outbox_payloads(&f.service, "tingjian.intake.common_issue_changed").await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].1.demand_ids, [d2]);

    // A group whose demand joined another issue meanwhile is refused whole.
    let other = group_of(&proposal, &l1).clone();
    let request = f.as_staff(pb::CreateCommonIssueRequest {
        common_issue: Some(pb::CommonIssue {
            title: "物流运输成本上涨".into(),
            category: "logistics".into(),
            ..Default::default()
        }),
        demand_ids: vec![l1.clone()],
        reason: "先行合并".into(),
        request_id: String::new(),
    });
    f.client.create_common_issue(request).await.expect("formed");
    let refused = f
        .accept(pb::AcceptProposedClusterRequest {
            proposal_id: proposal.id.clone(),
            cluster_id: other.id.clone(),
            reason: "同类".into(),
            ..Default::default()
        })
        .await
        .expect_err("a member is already in an issue");
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains(&l1));
    let stored = f.proposal(&proposal.id).await;
    assert_eq!(group_of(&stored, &l1).status, pb::ClusterStatus::Pending as i32, "still to decide");
}
on_both_backends!(an_edited_group_extends, super::an_edited_group_extends_an_existing_issue);

async fn rejecting_a_group_changes_nothing_else(backend: StorageBackend) {
    let Some(mut f) = Fixture::start(backend).await else { return };
    f.background(80).await;
    let mut finance = Vec::new();
    for (i, demand) in [FINANCE, FINANCE_AGAIN].into_iter().enumerate() {
        let e = f.enterprise(90 + i as u32).await;
        finance.push(f.submit(&e, demand, "finance_credit").await);
    }
    let proposal = f.propose(unmerged_scope()).await.expect("proposed");
    let group = group_of(&proposal, &finance[0]).clone();

    let demands_before = [f.demand(&finance[0]).await, f.demand(&finance[1]).await];
    let histories_before = [f.history(&finance[0]).await, f.history(&finance[1]).await];
    let outbox_before = tingjian_tests::outbox(&f.service).await.len();

    let rejected = f.reject(&proposal.id, &group.id).await.expect("rejected");
    assert_eq!(rejected.status, pb::ClusterStatus::Rejected as i32);
    assert_eq!(rejected.decision_reason, "不是同一诉求");
    assert_eq!(rejected.decided_by, "staff-wang");
    assert!(rejected.common_issue_id.is_empty());
    assert_eq!(sorted(&rejected.demand_ids), sorted(&group.demand_ids));

    assert_eq!([f.demand(&finance[0]).await, f.demand(&finance[1]).await], demands_before, "demands untouched");
    assert_eq!([f.history(&finance[0]).await, f.history(&finance[1]).await], histories_before);
    assert!(f.issues().await.is_empty(), "no common issue formed");
    assert_eq!(tingjian_tests::outbox(&f.service).await.len(), outbox_before, "no event");
    let stored = f.proposal(&proposal.id).await;
    let others: Vec<&pb::ProposedCluster> = stored.clusters.iter().filter(|c| c.id != group.id).collect();
    assert!(others.iter().all(|c| c.status == pb::ClusterStatus::Pending as i32), "other groups still pending");
    assert_eq!(f.reject(&proposal.id, &group.id).await.expect_err("decided").code(), Code::FailedPrecondition);
    let accept_after = f
        .accept(pb::AcceptProposedClusterRequest {
            proposal_id: proposal.id.clone(),
            cluster_id: group.id.clone(),
            reason: "改变主意".into(),
            ..Default::default()
        })
        .await
        .expect_err("rejected groups stay rejected");
    assert_eq!(accept_after.code(), Code::FailedPrecondition);

    // Once every group is decided, the proposal leaves the pending list.
    for c in others {
        f.reject(&proposal.id, &c.id).await.expect("rejected");
    }
    let request = f.as_staff(pb::ListClusteringProposalsRequest { pending_only: true, ..Default::default() });
    let pending = f.client.list_clustering_proposals(request).await.expect("listed").into_inner();
    assert!(pending.proposals.is_empty(), "{pending:#?}");
}
on_both_backends!(rejecting_a_group_changes_nothing, super::rejecting_a_group_changes_nothing_else);

async fn proposals_are_idempotent_scoped_and_paginated(backend: StorageBackend) {
    let Some(mut f) = Fixture::start(backend).await else { return };
    f.background(100).await;
    let a = f.enterprise(110).await;
    let b = f.enterprise(111).await;
    let d1 = f.submit(&a, FINANCE, "finance_credit").await;
    let d2 = f.submit(&b, FINANCE_AGAIN, "finance_credit").await;

    let request = pb::ProposeClustersRequest { request_id: "propose-1".into(), ..unmerged_scope() };
    let first = f.propose(request.clone()).await.expect("proposed");
    let again = f.propose(request.clone()).await.expect("replayed");
    assert_eq!(first, again, "a retry returns the first proposal");
    let different = pb::ProposeClustersRequest { threshold: 0.9, ..request };
    assert_eq!(f.propose(different).await.expect_err("reused").code(), Code::AlreadyExists);

    // A category scope considers that category only; explicit ids only those.
    let finance_only = pb::ProposeClustersRequest {
        scope: Some(pb::ClusteringScope { category: "金融信贷".into(), ..Default::default() }),
        ..Default::default()
    };
    let proposal = f.propose(finance_only).await.expect("proposed");
    assert_eq!(proposal.demand_count, 2);
    assert_eq!(proposal.scope.as_ref().map(|s| s.category.as_str()), Some("finance_credit"));
    assert_eq!(sorted(&proposal.clusters[0].demand_ids), sorted(&[d1.clone(), d2.clone()]));
    let by_ids = pb::ProposeClustersRequest {
        scope: Some(pb::ClusteringScope { demand_ids: vec![d1.clone()], ..Default::default() }),
        ..Default::default()
    };
    let proposal = f.propose(by_ids).await.expect("proposed");
    assert_eq!(proposal.demand_count, 1);
    assert!(proposal.clusters.is_empty(), "one demand makes no group");
    // A period with no demands proposes nothing.
    let empty_period = pb::ProposeClustersRequest {
        scope: Some(pb::ClusteringScope {
            period: Some(tingjian_proto::common::v1::Period {
                kind: tingjian_proto::common::v1::PeriodKind::Year as i32,
                year: 2001,
                number: 0,
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(f.propose(empty_period).await.expect("proposed").demand_count, 0);
    // A high threshold with a large minimum size proposes nothing either.
    let strict = pb::ProposeClustersRequest { threshold: 0.99, min_cluster_size: 5, ..unmerged_scope() };
    assert!(f.propose(strict).await.expect("proposed").clusters.is_empty());

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let request =
            f.as_staff(pb::ListClusteringProposalsRequest { page_size: 2, page_token: token, ..Default::default() });
        let page = f.client.list_clustering_proposals(request).await.expect("listed").into_inner();
        seen.extend(page.proposals.into_iter().map(|p| p.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 5, "every proposal once, newest first");
    assert_eq!(seen.last(), Some(&first.id));
}
on_both_backends!(proposals_are_idempotent, super::proposals_are_idempotent_scoped_and_paginated);

async fn the_index_is_rebuilt_from_the_store_and_kept_current_across_replicas(backend: StorageBackend) {
    let fast = SimilaritySettings { refresh_interval: Duration::from_millis(100), ..Default::default() };
    let Some(mut f) = Fixture::start_with(backend, fast).await else { return };
    f.background(120).await;
    let a = f.enterprise(130).await;
    let original = f.submit(&a, FINANCE, "finance_credit").await;

    // A second replica on the same database builds its index from the store.
    let options = SpawnOptions { similarity: Some(fast), ..Default::default() };
    let replica = spawn_replica(&tingjian_intake::MODULE, &f.service, options).await;
    let mut other = IntakeServiceClient::new(replica.channel.clone());
    let request = f.as_staff(text_query("渔船抵押贷款的利息太高"));
    let found = other.suggest_similar(request).await.expect("suggested").into_inner();
    assert_eq!(found.matches.first().map(|m| m.id.as_str()), Some(original.as_str()), "{found:#?}");

    // A demand submitted through the first replica reaches the second within its refresh interval.
    let b = f.enterprise(131).await;
    let newer = f.submit(&b, FINANCE_AGAIN, "finance_credit").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let request = f.as_staff(pb::SuggestSimilarRequest { demand_id: original.clone(), ..Default::default() });
        let found = other.suggest_similar(request).await.expect("suggested").into_inner();
        if found.matches.iter().any(|m| m.id == newer) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the replica never saw the new demand");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Withdrawn through the second replica, it leaves the first one's index too.
    let request =
        f.as_staff(pb::WithdrawDemandRequest { id: newer.clone(), reason: "撤回".into(), etag: String::new() });
    other.withdraw_demand(request).await.expect("withdrawn");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = f.suggest(pb::SuggestSimilarRequest { demand_id: original.clone(), ..Default::default() }).await;
        if found.expect("suggested").matches.iter().all(|m| m.id != newer) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the withdrawal never reached the first replica");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    replica.stop().await.expect("stops");
}
on_both_backends!(the_index_is_rebuilt, super::the_index_is_rebuilt_from_the_store_and_kept_current_across_replicas);

async fn an_enterprise_sees_only_its_own_likely_duplicates(backend: StorageBackend) {
    let Some(mut f) = Fixture::start(backend).await else { return };
    let mine = f.enterprise(140).await;
    let theirs = f.enterprise(141).await;
    let their_demand = f.submit(&theirs, FINANCE, "finance_credit").await;
    let my_first = f.submit(&mine, FINANCE_THIRD, "finance_credit").await;
    let me = Identity::new("enterprise-user", &mine, &[Role::Enterprise]);
    let response = f.submit_as(&me, &mine, FINANCE_AGAIN, "finance_credit", 5).await;
    let ids: Vec<&str> = response.similar.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, [my_first.as_str()], "its own demand only, never {their_demand}");

    let request = f.service.request_as(text_query("渔船贷款"), &me);
    let refused = f.client.suggest_similar(request).await.expect_err("enterprises do not search all demands");
    assert_eq!(refused.code(), Code::PermissionDenied);
}
on_both_backends!(an_enterprise_sees_only_its_own, super::an_enterprise_sees_only_its_own_likely_duplicates);

async fn bad_input_and_permissions_are_refused(backend: StorageBackend) {
    let Some(mut f) = Fixture::start(backend).await else { return };
    let e = f.enterprise(150).await;
    let d = f.submit(&e, FINANCE, "finance_credit").await;

    let cases: Vec<(pb::SuggestSimilarRequest, &str)> = vec![
        (pb::SuggestSimilarRequest::default(), "text"),
        (pb::SuggestSimilarRequest { demand_id: d.clone(), ..text_query("贷款") }, "demand_id"),
        (pb::SuggestSimilarRequest { demand_id: "not-an-id".into(), ..Default::default() }, "demand_id"),
        (text_query(&"长".repeat(5_001)), "text"),
        (pb::SuggestSimilarRequest { category: "火箭".into(), ..text_query("贷款") }, "category"),
        (pb::SuggestSimilarRequest { kinds: vec![0, 9], ..text_query("贷款") }, "kinds[0]"),
        (pb::SuggestSimilarRequest { limit: -1, ..text_query("贷款") }, "limit"),
        (pb::SuggestSimilarRequest { min_score: 1.5, ..text_query("贷款") }, "min_score"),
        (pb::SuggestSimilarRequest { min_score: f64::NAN, ..text_query("贷款") }, "min_score"),
    ];
    for (request, field) in cases {
        let status = f.suggest(request).await.expect_err("refused");
        assert_field_violation(&status, field);
    }
    let unknown = pb::SuggestSimilarRequest { demand_id: tingjian_runtime::wire::new_id(), ..Default::default() };
    assert_eq!(f.suggest(unknown).await.expect_err("unknown").code(), Code::NotFound);
    // Punctuation only: nothing to compare, nothing found.
    let nothing = f.suggest(text_query("？！。")).await.expect("answered");
    assert!(nothing.matches.is_empty() && nothing.query_terms.is_empty());

    let proposals: Vec<(pb::ProposeClustersRequest, &str)> = vec![
        (pb::ProposeClustersRequest { threshold: 1.5, ..Default::default() }, "threshold"),
        (pb::ProposeClustersRequest { threshold: -0.5, ..Default::default() }, "threshold"),
        (pb::ProposeClustersRequest { min_cluster_size: 1, ..Default::default() }, "min_cluster_size"),
        (
            pb::ProposeClustersRequest {
                scope: Some(pb::ClusteringScope { demand_ids: vec![d.clone(), "x".into()], ..Default::default() }),
                ..Default::default()
            },
            "scope.demand_ids[1]",
        ),
        (
            pb::ProposeClustersRequest {
                scope: Some(pb::ClusteringScope {
                    period: Some(tingjian_proto::common::v1::Period {
                        kind: tingjian_proto::common::v1::PeriodKind::Month as i32,
                        year: 2024,
                        number: 13,
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            },
            "scope.period.number",
        ),
        (
            pb::ProposeClustersRequest {
                scope: Some(pb::ClusteringScope { category: "火箭".into(), ..Default::default() }),
                ..Default::default()
            },
            "scope.category",
        ),
        (pb::ProposeClustersRequest { request_id: "重试".into(), ..Default::default() }, "request_id"),
    ];
    for (request, field) in proposals {
        let status = f.propose(request).await.expect_err("refused");
        assert_field_violation(&status, field);
    }

    let proposal = f.propose(unmerged_scope()).await.expect("proposed");
    let accepts: Vec<(pb::AcceptProposedClusterRequest, &str)> = vec![
        (
            pb::AcceptProposedClusterRequest {
                proposal_id: proposal.id.clone(),
                cluster_id: "1".into(),
                ..Default::default()
            },
            "reason",
        ),
        (
            pb::AcceptProposedClusterRequest {
                proposal_id: "p".into(),
                cluster_id: "1".into(),
                reason: "r".into(),
                ..Default::default()
            },
            "proposal_id",
        ),
        (
            pb::AcceptProposedClusterRequest {
                proposal_id: proposal.id.clone(),
                reason: "r".into(),
                ..Default::default()
            },
            "cluster_id",
        ),
        (
            pb::AcceptProposedClusterRequest {
                proposal_id: proposal.id.clone(),
                cluster_id: "1".into(),
                demand_ids: vec!["nope".into()],
                reason: "r".into(),
                ..Default::default()
            },
            "demand_ids[0]",
        ),
        (
            pb::AcceptProposedClusterRequest {
                proposal_id: proposal.id.clone(),
                cluster_id: "1".into(),
                target_common_issue_id: "nope".into(),
                reason: "r".into(),
                ..Default::default()
            },
            "target_common_issue_id",
        ),
        (
            pb::AcceptProposedClusterRequest {
                proposal_id: proposal.id.clone(),
                cluster_id: "1".into(),
                title: "\u{7}".into(),
                reason: "r".into(),
                ..Default::default()
            },
            "title",
        ),
        (
            pb::AcceptProposedClusterRequest {
                proposal_id: proposal.id.clone(),
                cluster_id: "1".into(),
                category: "火箭".into(),
                reason: "r".into(),
                ..Default::default()
            },
            "category",
        ),
    ];
    for (request, field) in accepts {
        let status = f.accept(request).await.expect_err("refused");
        assert_field_violation(&status, field);
    }
    let unknown_proposal = pb::AcceptProposedClusterRequest {
        proposal_id: tingjian_runtime::wire::new_id(),
        cluster_id: "1".into(),
        reason: "r".into(),
        ..Default::default()
    };
    assert_eq!(f.accept(unknown_proposal).await.expect_err("unknown").code(), Code::NotFound);
    let unknown_cluster = pb::AcceptProposedClusterRequest {
        proposal_id: proposal.id.clone(),
        cluster_id: "999".into(),
        reason: "r".into(),
        ..Default::default()
    };
    assert_eq!(f.accept(unknown_cluster).await.expect_err("unknown").code(), Code::NotFound);
    assert_eq!(f.reject(&proposal.id, "999").await.expect_err("unknown").code(), Code::NotFound);
    let request = f.as_staff(pb::GetClusteringProposalRequest { id: tingjian_runtime::wire::new_id() });
    assert_eq!(f.client.get_clustering_proposal(request).await.expect_err("unknown").code(), Code::NotFound);

    // Members read but do not propose or decide; netizens do neither.
    let member = Identity::new("member-li", "舟山市政协经济委员会", &[Role::Member]);
    let request = f.service.request_as(unmerged_scope(), &member);
    assert_eq!(f.client.propose_clusters(request).await.expect_err("staff only").code(), Code::PermissionDenied);
    let request = f.service.request_as(
        pb::RejectProposedClusterRequest {
            proposal_id: proposal.id.clone(),
            cluster_id: "1".into(),
            reason: String::new(),
        },
        &member,
    );
    assert_eq!(f.client.reject_proposed_cluster(request).await.expect_err("staff only").code(), Code::PermissionDenied);
    let request = f.service.request_as(pb::GetClusteringProposalRequest { id: proposal.id.clone() }, &member);
    f.client.get_clustering_proposal(request).await.expect("members read proposals");
    let netizen = Identity::new("netizen-1", "", &[Role::Netizen]);
    let request = f.service.request_as(text_query("贷款"), &netizen);
    assert_eq!(f.client.suggest_similar(request).await.expect_err("not a reader").code(), Code::PermissionDenied);
    // SubmitDemand refuses a negative similar_limit.
    let request = f.as_staff(pb::SubmitDemandRequest {
        demand: Some(pb::Demand {
            enterprise_id: e.clone(),
            title: "t".into(),
            text: "x".into(),
            category: "finance_credit".into(),
            channel: pb::DemandChannel::Visit as i32,
            ..Default::default()
        }),
        request_id: "negative-limit".into(),
        similar_limit: -1,
    });
    assert_field_violation(&f.client.submit_demand(request).await.expect_err("refused"), "similar_limit");
}
on_both_backends!(bad_input_and_permissions_are_refused, super::bad_input_and_permissions_are_refused);
