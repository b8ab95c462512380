//! The demand part of the intake API.

use tingjian_proto::intake::v1 as pb;
use tonic::{Request, Response, Status};

use super::IntakeApi;

impl IntakeApi {
    pub(super) async fn submit_demand_impl(
        &self,
        _request: Request<pb::SubmitDemandRequest>,
    ) -> Result<Response<pb::SubmitDemandResponse>, Status> {
        Err(Status::unimplemented("submit_demand is not available yet"))
    }

    pub(super) async fn get_demand_impl(
        &self,
        _request: Request<pb::GetDemandRequest>,
    ) -> Result<Response<pb::GetDemandResponse>, Status> {
        Err(Status::unimplemented("get_demand is not available yet"))
    }

    pub(super) async fn list_demands_impl(
        &self,
        _request: Request<pb::ListDemandsRequest>,
    ) -> Result<Response<pb::ListDemandsResponse>, Status> {
        Err(Status::unimplemented("list_demands is not available yet"))
    }

    pub(super) async fn update_demand_impl(
        &self,
        _request: Request<pb::UpdateDemandRequest>,
    ) -> Result<Response<pb::UpdateDemandResponse>, Status> {
        Err(Status::unimplemented("update_demand is not available yet"))
    }

    pub(super) async fn transition_demand_impl(
        &self,
        _request: Request<pb::TransitionDemandRequest>,
    ) -> Result<Response<pb::TransitionDemandResponse>, Status> {
        Err(Status::unimplemented("transition_demand is not available yet"))
    }

    pub(super) async fn withdraw_demand_impl(
        &self,
        _request: Request<pb::WithdrawDemandRequest>,
    ) -> Result<Response<pb::WithdrawDemandResponse>, Status> {
        Err(Status::unimplemented("withdraw_demand is not available yet"))
    }

    pub(super) async fn list_demand_history_impl(
        &self,
        _request: Request<pb::ListDemandHistoryRequest>,
    ) -> Result<Response<pb::ListDemandHistoryResponse>, Status> {
        Err(Status::unimplemented("list_demand_history is not available yet"))
    }

    pub(super) async fn get_enterprise_demand_list_impl(
        &self,
        _request: Request<pb::GetEnterpriseDemandListRequest>,
    ) -> Result<Response<pb::GetEnterpriseDemandListResponse>, Status> {
        Err(Status::unimplemented("get_enterprise_demand_list is not available yet"))
    }
}
