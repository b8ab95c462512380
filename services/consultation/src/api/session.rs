//! The API of sessions (协商活动), their participants and contributions (问、答、辩).

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::ServiceError;
use tonic::{Request, Response, Status};

use super::ConsultationApi;

impl ConsultationApi {
    pub(super) async fn schedule_session_impl(
        &self,
        request: Request<pb::ScheduleSessionRequest>,
    ) -> Result<Response<pb::ScheduleSessionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ScheduleSession is not available yet".into()).into())
    }

    pub(super) async fn get_session_impl(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("GetSession is not available yet".into()).into())
    }

    pub(super) async fn list_sessions_impl(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListSessions is not available yet".into()).into())
    }

    pub(super) async fn update_session_impl(
        &self,
        request: Request<pb::UpdateSessionRequest>,
    ) -> Result<Response<pb::UpdateSessionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("UpdateSession is not available yet".into()).into())
    }

    pub(super) async fn add_participants_impl(
        &self,
        request: Request<pb::AddParticipantsRequest>,
    ) -> Result<Response<pb::AddParticipantsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("AddParticipants is not available yet".into()).into())
    }

    pub(super) async fn remove_participant_impl(
        &self,
        request: Request<pb::RemoveParticipantRequest>,
    ) -> Result<Response<pb::RemoveParticipantResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("RemoveParticipant is not available yet".into()).into())
    }

    pub(super) async fn record_contribution_impl(
        &self,
        request: Request<pb::RecordContributionRequest>,
    ) -> Result<Response<pb::RecordContributionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("RecordContribution is not available yet".into()).into())
    }

    pub(super) async fn list_contributions_impl(
        &self,
        request: Request<pb::ListContributionsRequest>,
    ) -> Result<Response<pb::ListContributionsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListContributions is not available yet".into()).into())
    }

    pub(super) async fn close_session_impl(
        &self,
        request: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("CloseSession is not available yet".into()).into())
    }

    pub(super) async fn cancel_session_impl(
        &self,
        request: Request<pb::CancelSessionRequest>,
    ) -> Result<Response<pb::CancelSessionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("CancelSession is not available yet".into()).into())
    }
}
