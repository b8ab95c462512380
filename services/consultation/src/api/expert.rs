//! The API of the think tank (智库): experts and the topics they are attached to.

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::ServiceError;
use tonic::{Request, Response, Status};

use super::ConsultationApi;

impl ConsultationApi {
    pub(super) async fn create_expert_impl(
        &self,
        request: Request<pb::CreateExpertRequest>,
    ) -> Result<Response<pb::CreateExpertResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("CreateExpert is not available yet".into()).into())
    }

    pub(super) async fn get_expert_impl(
        &self,
        request: Request<pb::GetExpertRequest>,
    ) -> Result<Response<pb::GetExpertResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("GetExpert is not available yet".into()).into())
    }

    pub(super) async fn list_experts_impl(
        &self,
        request: Request<pb::ListExpertsRequest>,
    ) -> Result<Response<pb::ListExpertsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListExperts is not available yet".into()).into())
    }

    pub(super) async fn update_expert_impl(
        &self,
        request: Request<pb::UpdateExpertRequest>,
    ) -> Result<Response<pb::UpdateExpertResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("UpdateExpert is not available yet".into()).into())
    }

    pub(super) async fn attach_expert_impl(
        &self,
        request: Request<pb::AttachExpertRequest>,
    ) -> Result<Response<pb::AttachExpertResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("AttachExpert is not available yet".into()).into())
    }

    pub(super) async fn detach_expert_impl(
        &self,
        request: Request<pb::DetachExpertRequest>,
    ) -> Result<Response<pb::DetachExpertResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("DetachExpert is not available yet".into()).into())
    }
}
