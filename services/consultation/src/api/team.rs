//! The API of service teams (一企一团队), the service menu (菜单式服务) and service lists (服务清单).

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::ServiceError;
use tonic::{Request, Response, Status};

use super::ConsultationApi;

impl ConsultationApi {
    pub(super) async fn create_service_team_impl(
        &self,
        request: Request<pb::CreateServiceTeamRequest>,
    ) -> Result<Response<pb::CreateServiceTeamResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("CreateServiceTeam is not available yet".into()).into())
    }

    pub(super) async fn get_service_team_impl(
        &self,
        request: Request<pb::GetServiceTeamRequest>,
    ) -> Result<Response<pb::GetServiceTeamResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("GetServiceTeam is not available yet".into()).into())
    }

    pub(super) async fn list_service_teams_impl(
        &self,
        request: Request<pb::ListServiceTeamsRequest>,
    ) -> Result<Response<pb::ListServiceTeamsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListServiceTeams is not available yet".into()).into())
    }

    pub(super) async fn update_service_team_impl(
        &self,
        request: Request<pb::UpdateServiceTeamRequest>,
    ) -> Result<Response<pb::UpdateServiceTeamResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("UpdateServiceTeam is not available yet".into()).into())
    }

    pub(super) async fn create_service_menu_item_impl(
        &self,
        request: Request<pb::CreateServiceMenuItemRequest>,
    ) -> Result<Response<pb::CreateServiceMenuItemResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("CreateServiceMenuItem is not available yet".into()).into())
    }

    pub(super) async fn list_service_menu_items_impl(
        &self,
        request: Request<pb::ListServiceMenuItemsRequest>,
    ) -> Result<Response<pb::ListServiceMenuItemsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListServiceMenuItems is not available yet".into()).into())
    }

    pub(super) async fn update_service_menu_item_impl(
        &self,
        request: Request<pb::UpdateServiceMenuItemRequest>,
    ) -> Result<Response<pb::UpdateServiceMenuItemResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("UpdateServiceMenuItem is not available yet".into()).into())
    }

    pub(super) async fn map_demand_to_service_impl(
        &self,
        request: Request<pb::MapDemandToServiceRequest>,
    ) -> Result<Response<pb::MapDemandToServiceResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("MapDemandToService is not available yet".into()).into())
    }

    pub(super) async fn get_service_list_impl(
        &self,
        request: Request<pb::GetServiceListRequest>,
    ) -> Result<Response<pb::GetServiceListResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("GetServiceList is not available yet".into()).into())
    }

    pub(super) async fn deliver_service_impl(
        &self,
        request: Request<pb::DeliverServiceRequest>,
    ) -> Result<Response<pb::DeliverServiceResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("DeliverService is not available yet".into()).into())
    }
}
