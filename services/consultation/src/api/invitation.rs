//! The API of invitations by the stakeholder principle (利益涉及谁就和谁商量).

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::ServiceError;
use tonic::{Request, Response, Status};

use super::ConsultationApi;

impl ConsultationApi {
    pub(super) async fn propose_invitations_impl(
        &self,
        request: Request<pb::ProposeInvitationsRequest>,
    ) -> Result<Response<pb::ProposeInvitationsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ProposeInvitations is not available yet".into()).into())
    }

    pub(super) async fn list_invitations_impl(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListInvitations is not available yet".into()).into())
    }

    pub(super) async fn accept_invitation_impl(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::AcceptInvitationResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("AcceptInvitation is not available yet".into()).into())
    }

    pub(super) async fn drop_invitation_impl(
        &self,
        request: Request<pb::DropInvitationRequest>,
    ) -> Result<Response<pb::DropInvitationResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("DropInvitation is not available yet".into()).into())
    }

    pub(super) async fn add_invitation_impl(
        &self,
        request: Request<pb::AddInvitationRequest>,
    ) -> Result<Response<pb::AddInvitationResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("AddInvitation is not available yet".into()).into())
    }
}
