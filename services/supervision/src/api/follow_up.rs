//! TODO(follow_up) module doc.

use tingjian_proto::supervision::v1 as pb;
use tonic::{Request, Response, Status};

use super::SupervisionApi;

impl SupervisionApi {
    pub(super) async fn list_follow_up_tasks_impl(
        &self,
        request: Request<pb::ListFollowUpTasksRequest>,
    ) -> Result<Response<pb::ListFollowUpTasksResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListFollowUpTasks is not built yet"))
    }
    pub(super) async fn record_follow_up_impl(
        &self,
        request: Request<pb::RecordFollowUpRequest>,
    ) -> Result<Response<pb::RecordFollowUpResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("RecordFollowUp is not built yet"))
    }
    pub(super) async fn list_follow_ups_impl(
        &self,
        request: Request<pb::ListFollowUpsRequest>,
    ) -> Result<Response<pb::ListFollowUpsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListFollowUps is not built yet"))
    }
    pub(super) async fn get_compliance_impl(
        &self,
        request: Request<pb::GetComplianceRequest>,
    ) -> Result<Response<pb::GetComplianceResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("GetCompliance is not built yet"))
    }
}
