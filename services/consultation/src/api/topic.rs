//! The API of consultation topics (议题).

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::ServiceError;
use tonic::{Request, Response, Status};

use super::ConsultationApi;

impl ConsultationApi {
    pub(super) async fn create_topic_impl(
        &self,
        request: Request<pb::CreateTopicRequest>,
    ) -> Result<Response<pb::CreateTopicResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("CreateTopic is not available yet".into()).into())
    }

    pub(super) async fn get_topic_impl(
        &self,
        request: Request<pb::GetTopicRequest>,
    ) -> Result<Response<pb::GetTopicResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("GetTopic is not available yet".into()).into())
    }

    pub(super) async fn list_topics_impl(
        &self,
        request: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListTopics is not available yet".into()).into())
    }

    pub(super) async fn update_topic_impl(
        &self,
        request: Request<pb::UpdateTopicRequest>,
    ) -> Result<Response<pb::UpdateTopicResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("UpdateTopic is not available yet".into()).into())
    }

    pub(super) async fn adopt_topic_impl(
        &self,
        request: Request<pb::AdoptTopicRequest>,
    ) -> Result<Response<pb::AdoptTopicResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("AdoptTopic is not available yet".into()).into())
    }

    pub(super) async fn withdraw_topic_impl(
        &self,
        request: Request<pb::WithdrawTopicRequest>,
    ) -> Result<Response<pb::WithdrawTopicResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("WithdrawTopic is not available yet".into()).into())
    }
}
