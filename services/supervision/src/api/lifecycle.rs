//! TODO(lifecycle) module doc.

use tingjian_proto::supervision::v1 as pb;
use tonic::{Request, Response, Status};

use super::SupervisionApi;

impl SupervisionApi {
    pub(super) async fn update_case_impl(
        &self,
        request: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("UpdateCase is not built yet"))
    }
    pub(super) async fn accept_case_impl(
        &self,
        request: Request<pb::AcceptCaseRequest>,
    ) -> Result<Response<pb::AcceptCaseResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("AcceptCase is not built yet"))
    }
    pub(super) async fn return_case_impl(
        &self,
        request: Request<pb::ReturnCaseRequest>,
    ) -> Result<Response<pb::ReturnCaseResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ReturnCase is not built yet"))
    }
    pub(super) async fn reassign_case_impl(
        &self,
        request: Request<pb::ReassignCaseRequest>,
    ) -> Result<Response<pb::ReassignCaseResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ReassignCase is not built yet"))
    }
    pub(super) async fn record_progress_impl(
        &self,
        request: Request<pb::RecordProgressRequest>,
    ) -> Result<Response<pb::RecordProgressResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("RecordProgress is not built yet"))
    }
    pub(super) async fn reply_to_case_impl(
        &self,
        request: Request<pb::ReplyToCaseRequest>,
    ) -> Result<Response<pb::ReplyToCaseResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ReplyToCase is not built yet"))
    }
    pub(super) async fn evaluate_case_impl(
        &self,
        request: Request<pb::EvaluateCaseRequest>,
    ) -> Result<Response<pb::EvaluateCaseResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("EvaluateCase is not built yet"))
    }
    pub(super) async fn close_case_impl(
        &self,
        request: Request<pb::CloseCaseRequest>,
    ) -> Result<Response<pb::CloseCaseResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("CloseCase is not built yet"))
    }
    pub(super) async fn escalate_case_impl(
        &self,
        request: Request<pb::EscalateCaseRequest>,
    ) -> Result<Response<pb::EscalateCaseResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("EscalateCase is not built yet"))
    }
}
