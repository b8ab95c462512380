//! The API of suggestions (协商建议清单) and the responses to them.

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::ServiceError;
use tonic::{Request, Response, Status};

use super::ConsultationApi;

impl ConsultationApi {
    pub(super) async fn draft_suggestion_impl(
        &self,
        request: Request<pb::DraftSuggestionRequest>,
    ) -> Result<Response<pb::DraftSuggestionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("DraftSuggestion is not available yet".into()).into())
    }

    pub(super) async fn get_suggestion_impl(
        &self,
        request: Request<pb::GetSuggestionRequest>,
    ) -> Result<Response<pb::GetSuggestionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("GetSuggestion is not available yet".into()).into())
    }

    pub(super) async fn list_suggestions_impl(
        &self,
        request: Request<pb::ListSuggestionsRequest>,
    ) -> Result<Response<pb::ListSuggestionsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListSuggestions is not available yet".into()).into())
    }

    pub(super) async fn update_suggestion_impl(
        &self,
        request: Request<pb::UpdateSuggestionRequest>,
    ) -> Result<Response<pb::UpdateSuggestionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("UpdateSuggestion is not available yet".into()).into())
    }

    pub(super) async fn submit_suggestion_impl(
        &self,
        request: Request<pb::SubmitSuggestionRequest>,
    ) -> Result<Response<pb::SubmitSuggestionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("SubmitSuggestion is not available yet".into()).into())
    }

    pub(super) async fn record_suggestion_feedback_impl(
        &self,
        request: Request<pb::RecordSuggestionFeedbackRequest>,
    ) -> Result<Response<pb::RecordSuggestionFeedbackResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("RecordSuggestionFeedback is not available yet".into()).into())
    }
}
