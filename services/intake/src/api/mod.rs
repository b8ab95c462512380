//! The gRPC adapter of the intake service: translates between the v1 contract and the domain, checks
//! the caller, and delegates to the store. One file per area; this one routes the contract's methods
//! to them.

mod campaign;
mod common_issue;
mod contact;
mod demand;
mod enterprise;
mod reference;
mod roundtable;
mod similarity;

use tingjian_proto::intake::v1 as pb;
use tingjian_proto::intake::v1::intake_service_server::IntakeService;
use tingjian_runtime::{Caller, Role};
use tonic::{Request, Response, Status};

use tingjian_runtime::error::{checked, gather};
use tingjian_runtime::wire::{period_range, read_instant};

use std::sync::Arc;

use crate::engine::SimilarityEngine;
use crate::store::Store;

/// The intake service's gRPC API.
#[derive(Debug, Clone)]
pub struct IntakeApi {
    store: Store,
    similar: Arc<SimilarityEngine>,
}

impl IntakeApi {
    /// An API over `store`, finding similar demands with `similar`.
    pub fn new(store: Store, similar: Arc<SimilarityEngine>) -> Self {
        Self { store, similar }
    }
}

/// Roles that read every demand and common issue, and see who wrote every campaign post.
const READERS: [Role; 5] = [Role::Staff, Role::Member, Role::Leader, Role::Supervisor, Role::Analyst];
/// Roles that triage demands, edit common issues, and run campaigns and promote their posts.
const EDITORS: [Role; 1] = [Role::Staff];

/// Whether `caller` holds any of `roles`.
fn has_any(caller: &Caller, roles: &[Role]) -> bool {
    roles.iter().any(|r| caller.has(*r))
}

/// A count as the contract's int32, saturated.
fn saturating_i32(n: impl TryInto<i32>) -> i32 {
    n.try_into().unwrap_or(i32::MAX)
}

/// Routes each method of the contract to the area that implements it.
#[tonic::async_trait]
impl IntakeService for IntakeApi {
    // reference
    async fn list_reference_items(
        &self,
        request: Request<pb::ListReferenceItemsRequest>,
    ) -> Result<Response<pb::ListReferenceItemsResponse>, Status> {
        self.list_reference_items_impl(request).await
    }
    async fn create_reference_item(
        &self,
        request: Request<pb::CreateReferenceItemRequest>,
    ) -> Result<Response<pb::CreateReferenceItemResponse>, Status> {
        self.create_reference_item_impl(request).await
    }
    async fn update_reference_item(
        &self,
        request: Request<pb::UpdateReferenceItemRequest>,
    ) -> Result<Response<pb::UpdateReferenceItemResponse>, Status> {
        self.update_reference_item_impl(request).await
    }
    // enterprise
    async fn create_enterprise(
        &self,
        request: Request<pb::CreateEnterpriseRequest>,
    ) -> Result<Response<pb::CreateEnterpriseResponse>, Status> {
        self.create_enterprise_impl(request).await
    }
    async fn get_enterprise(
        &self,
        request: Request<pb::GetEnterpriseRequest>,
    ) -> Result<Response<pb::GetEnterpriseResponse>, Status> {
        self.get_enterprise_impl(request).await
    }
    async fn batch_get_enterprises(
        &self,
        request: Request<pb::BatchGetEnterprisesRequest>,
    ) -> Result<Response<pb::BatchGetEnterprisesResponse>, Status> {
        self.batch_get_enterprises_impl(request).await
    }
    async fn update_enterprise(
        &self,
        request: Request<pb::UpdateEnterpriseRequest>,
    ) -> Result<Response<pb::UpdateEnterpriseResponse>, Status> {
        self.update_enterprise_impl(request).await
    }
    async fn list_enterprises(
        &self,
        request: Request<pb::ListEnterprisesRequest>,
    ) -> Result<Response<pb::ListEnterprisesResponse>, Status> {
        self.list_enterprises_impl(request).await
    }
    async fn create_contact_person(
        &self,
        request: Request<pb::CreateContactPersonRequest>,
    ) -> Result<Response<pb::CreateContactPersonResponse>, Status> {
        self.create_contact_person_impl(request).await
    }
    async fn list_contact_persons(
        &self,
        request: Request<pb::ListContactPersonsRequest>,
    ) -> Result<Response<pb::ListContactPersonsResponse>, Status> {
        self.list_contact_persons_impl(request).await
    }
    async fn update_contact_person(
        &self,
        request: Request<pb::UpdateContactPersonRequest>,
    ) -> Result<Response<pb::UpdateContactPersonResponse>, Status> {
        self.update_contact_person_impl(request).await
    }
    async fn delete_contact_person(
        &self,
        request: Request<pb::DeleteContactPersonRequest>,
    ) -> Result<Response<pb::DeleteContactPersonResponse>, Status> {
        self.delete_contact_person_impl(request).await
    }
    // contact
    async fn log_contact(
        &self,
        request: Request<pb::LogContactRequest>,
    ) -> Result<Response<pb::LogContactResponse>, Status> {
        self.log_contact_impl(request).await
    }
    async fn list_contacts(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        self.list_contacts_impl(request).await
    }
    async fn list_overdue_enterprises(
        &self,
        request: Request<pb::ListOverdueEnterprisesRequest>,
    ) -> Result<Response<pb::ListOverdueEnterprisesResponse>, Status> {
        self.list_overdue_enterprises_impl(request).await
    }
    // roundtable
    async fn create_roundtable(
        &self,
        request: Request<pb::CreateRoundtableRequest>,
    ) -> Result<Response<pb::CreateRoundtableResponse>, Status> {
        self.create_roundtable_impl(request).await
    }
    async fn get_roundtable(
        &self,
        request: Request<pb::GetRoundtableRequest>,
    ) -> Result<Response<pb::GetRoundtableResponse>, Status> {
        self.get_roundtable_impl(request).await
    }
    async fn list_roundtables(
        &self,
        request: Request<pb::ListRoundtablesRequest>,
    ) -> Result<Response<pb::ListRoundtablesResponse>, Status> {
        self.list_roundtables_impl(request).await
    }
    async fn update_roundtable(
        &self,
        request: Request<pb::UpdateRoundtableRequest>,
    ) -> Result<Response<pb::UpdateRoundtableResponse>, Status> {
        self.update_roundtable_impl(request).await
    }
    // demand
    async fn submit_demand(
        &self,
        request: Request<pb::SubmitDemandRequest>,
    ) -> Result<Response<pb::SubmitDemandResponse>, Status> {
        self.submit_demand_impl(request).await
    }
    async fn get_demand(
        &self,
        request: Request<pb::GetDemandRequest>,
    ) -> Result<Response<pb::GetDemandResponse>, Status> {
        self.get_demand_impl(request).await
    }
    async fn list_demands(
        &self,
        request: Request<pb::ListDemandsRequest>,
    ) -> Result<Response<pb::ListDemandsResponse>, Status> {
        self.list_demands_impl(request).await
    }
    async fn update_demand(
        &self,
        request: Request<pb::UpdateDemandRequest>,
    ) -> Result<Response<pb::UpdateDemandResponse>, Status> {
        self.update_demand_impl(request).await
    }
    async fn transition_demand(
        &self,
        request: Request<pb::TransitionDemandRequest>,
    ) -> Result<Response<pb::TransitionDemandResponse>, Status> {
        self.transition_demand_impl(request).await
    }
    async fn withdraw_demand(
        &self,
        request: Request<pb::WithdrawDemandRequest>,
    ) -> Result<Response<pb::WithdrawDemandResponse>, Status> {
        self.withdraw_demand_impl(request).await
    }
    async fn list_demand_history(
        &self,
        request: Request<pb::ListDemandHistoryRequest>,
    ) -> Result<Response<pb::ListDemandHistoryResponse>, Status> {
        self.list_demand_history_impl(request).await
    }
    async fn get_enterprise_demand_list(
        &self,
        request: Request<pb::GetEnterpriseDemandListRequest>,
    ) -> Result<Response<pb::GetEnterpriseDemandListResponse>, Status> {
        self.get_enterprise_demand_list_impl(request).await
    }
    // common issue
    async fn create_common_issue(
        &self,
        request: Request<pb::CreateCommonIssueRequest>,
    ) -> Result<Response<pb::CreateCommonIssueResponse>, Status> {
        self.create_common_issue_impl(request).await
    }
    async fn get_common_issue(
        &self,
        request: Request<pb::GetCommonIssueRequest>,
    ) -> Result<Response<pb::GetCommonIssueResponse>, Status> {
        self.get_common_issue_impl(request).await
    }
    async fn list_common_issues(
        &self,
        request: Request<pb::ListCommonIssuesRequest>,
    ) -> Result<Response<pb::ListCommonIssuesResponse>, Status> {
        self.list_common_issues_impl(request).await
    }
    async fn add_demands_to_common_issue(
        &self,
        request: Request<pb::AddDemandsToCommonIssueRequest>,
    ) -> Result<Response<pb::AddDemandsToCommonIssueResponse>, Status> {
        self.add_demands_to_common_issue_impl(request).await
    }
    async fn move_demand(
        &self,
        request: Request<pb::MoveDemandRequest>,
    ) -> Result<Response<pb::MoveDemandResponse>, Status> {
        self.move_demand_impl(request).await
    }
    async fn split_out_demands(
        &self,
        request: Request<pb::SplitOutDemandsRequest>,
    ) -> Result<Response<pb::SplitOutDemandsResponse>, Status> {
        self.split_out_demands_impl(request).await
    }
    async fn rename_common_issue(
        &self,
        request: Request<pb::RenameCommonIssueRequest>,
    ) -> Result<Response<pb::RenameCommonIssueResponse>, Status> {
        self.rename_common_issue_impl(request).await
    }
    async fn list_common_issue_history(
        &self,
        request: Request<pb::ListCommonIssueHistoryRequest>,
    ) -> Result<Response<pb::ListCommonIssueHistoryResponse>, Status> {
        self.list_common_issue_history_impl(request).await
    }
    // similar demands
    async fn suggest_similar(
        &self,
        request: Request<pb::SuggestSimilarRequest>,
    ) -> Result<Response<pb::SuggestSimilarResponse>, Status> {
        self.suggest_similar_impl(request).await
    }
    async fn propose_clusters(
        &self,
        request: Request<pb::ProposeClustersRequest>,
    ) -> Result<Response<pb::ProposeClustersResponse>, Status> {
        self.propose_clusters_impl(request).await
    }
    async fn get_clustering_proposal(
        &self,
        request: Request<pb::GetClusteringProposalRequest>,
    ) -> Result<Response<pb::GetClusteringProposalResponse>, Status> {
        self.get_clustering_proposal_impl(request).await
    }
    async fn list_clustering_proposals(
        &self,
        request: Request<pb::ListClusteringProposalsRequest>,
    ) -> Result<Response<pb::ListClusteringProposalsResponse>, Status> {
        self.list_clustering_proposals_impl(request).await
    }
    async fn accept_proposed_cluster(
        &self,
        request: Request<pb::AcceptProposedClusterRequest>,
    ) -> Result<Response<pb::AcceptProposedClusterResponse>, Status> {
        self.accept_proposed_cluster_impl(request).await
    }
    async fn reject_proposed_cluster(
        &self,
        request: Request<pb::RejectProposedClusterRequest>,
    ) -> Result<Response<pb::RejectProposedClusterResponse>, Status> {
        self.reject_proposed_cluster_impl(request).await
    }
    // campaign
    async fn create_campaign(
        &self,
        request: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        self.create_campaign_impl(request).await
    }
    async fn get_campaign(
        &self,
        request: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::GetCampaignResponse>, Status> {
        self.get_campaign_impl(request).await
    }
    async fn list_campaigns(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        self.list_campaigns_impl(request).await
    }
    async fn update_campaign(
        &self,
        request: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::UpdateCampaignResponse>, Status> {
        self.update_campaign_impl(request).await
    }
    async fn close_campaign(
        &self,
        request: Request<pb::CloseCampaignRequest>,
    ) -> Result<Response<pb::CloseCampaignResponse>, Status> {
        self.close_campaign_impl(request).await
    }
    async fn create_campaign_post(
        &self,
        request: Request<pb::CreateCampaignPostRequest>,
    ) -> Result<Response<pb::CreateCampaignPostResponse>, Status> {
        self.create_campaign_post_impl(request).await
    }
    async fn list_campaign_posts(
        &self,
        request: Request<pb::ListCampaignPostsRequest>,
    ) -> Result<Response<pb::ListCampaignPostsResponse>, Status> {
        self.list_campaign_posts_impl(request).await
    }
    async fn promote_post_to_demand(
        &self,
        request: Request<pb::PromotePostToDemandRequest>,
    ) -> Result<Response<pb::PromotePostToDemandResponse>, Status> {
        self.promote_post_to_demand_impl(request).await
    }
}
