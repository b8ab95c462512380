//! The campaign part of the intake API.

use tingjian_proto::intake::v1 as pb;
use tonic::{Request, Response, Status};

use super::IntakeApi;

impl IntakeApi {
    pub(super) async fn create_campaign_impl(
        &self,
        _request: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        Err(Status::unimplemented("create_campaign is not available yet"))
    }

    pub(super) async fn get_campaign_impl(
        &self,
        _request: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::GetCampaignResponse>, Status> {
        Err(Status::unimplemented("get_campaign is not available yet"))
    }

    pub(super) async fn list_campaigns_impl(
        &self,
        _request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        Err(Status::unimplemented("list_campaigns is not available yet"))
    }

    pub(super) async fn update_campaign_impl(
        &self,
        _request: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::UpdateCampaignResponse>, Status> {
        Err(Status::unimplemented("update_campaign is not available yet"))
    }

    pub(super) async fn close_campaign_impl(
        &self,
        _request: Request<pb::CloseCampaignRequest>,
    ) -> Result<Response<pb::CloseCampaignResponse>, Status> {
        Err(Status::unimplemented("close_campaign is not available yet"))
    }

    pub(super) async fn create_campaign_post_impl(
        &self,
        _request: Request<pb::CreateCampaignPostRequest>,
    ) -> Result<Response<pb::CreateCampaignPostResponse>, Status> {
        Err(Status::unimplemented("create_campaign_post is not available yet"))
    }

    pub(super) async fn list_campaign_posts_impl(
        &self,
        _request: Request<pb::ListCampaignPostsRequest>,
    ) -> Result<Response<pb::ListCampaignPostsResponse>, Status> {
        Err(Status::unimplemented("list_campaign_posts is not available yet"))
    }

    pub(super) async fn promote_post_to_demand_impl(
        &self,
        _request: Request<pb::PromotePostToDemandRequest>,
    ) -> Result<Response<pb::PromotePostToDemandResponse>, Status> {
        Err(Status::unimplemented("promote_post_to_demand is not available yet"))
    }
}
