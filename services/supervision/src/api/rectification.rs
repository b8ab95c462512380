//! TODO(rectification) module doc.

use tingjian_proto::supervision::v1 as pb;
use tonic::{Request, Response, Status};

use super::SupervisionApi;

impl SupervisionApi {
    pub(super) async fn issue_rectification_order_impl(
        &self,
        request: Request<pb::IssueRectificationOrderRequest>,
    ) -> Result<Response<pb::IssueRectificationOrderResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("IssueRectificationOrder is not built yet"))
    }
    pub(super) async fn get_rectification_order_impl(
        &self,
        request: Request<pb::GetRectificationOrderRequest>,
    ) -> Result<Response<pb::GetRectificationOrderResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("GetRectificationOrder is not built yet"))
    }
    pub(super) async fn list_rectification_orders_impl(
        &self,
        request: Request<pb::ListRectificationOrdersRequest>,
    ) -> Result<Response<pb::ListRectificationOrdersResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListRectificationOrders is not built yet"))
    }
    pub(super) async fn update_rectification_order_impl(
        &self,
        request: Request<pb::UpdateRectificationOrderRequest>,
    ) -> Result<Response<pb::UpdateRectificationOrderResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("UpdateRectificationOrder is not built yet"))
    }
    pub(super) async fn report_rectification_impl(
        &self,
        request: Request<pb::ReportRectificationRequest>,
    ) -> Result<Response<pb::ReportRectificationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ReportRectification is not built yet"))
    }
    pub(super) async fn verify_rectification_impl(
        &self,
        request: Request<pb::VerifyRectificationRequest>,
    ) -> Result<Response<pb::VerifyRectificationResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("VerifyRectification is not built yet"))
    }
    pub(super) async fn revoke_rectification_order_impl(
        &self,
        request: Request<pb::RevokeRectificationOrderRequest>,
    ) -> Result<Response<pb::RevokeRectificationOrderResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("RevokeRectificationOrder is not built yet"))
    }
}

impl super::DisciplineInspectionApi {
    pub(super) async fn issue_discipline_rectification_order_impl(
        &self,
        request: Request<pb::IssueDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::IssueDisciplineRectificationOrderResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("IssueDisciplineRectificationOrder is not built yet"))
    }
    pub(super) async fn update_discipline_rectification_order_impl(
        &self,
        request: Request<pb::UpdateDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::UpdateDisciplineRectificationOrderResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("UpdateDisciplineRectificationOrder is not built yet"))
    }
    pub(super) async fn verify_discipline_rectification_order_impl(
        &self,
        request: Request<pb::VerifyDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::VerifyDisciplineRectificationOrderResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("VerifyDisciplineRectificationOrder is not built yet"))
    }
    pub(super) async fn list_discipline_rectification_orders_impl(
        &self,
        request: Request<pb::ListDisciplineRectificationOrdersRequest>,
    ) -> Result<Response<pb::ListDisciplineRectificationOrdersResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListDisciplineRectificationOrders is not built yet"))
    }
}
