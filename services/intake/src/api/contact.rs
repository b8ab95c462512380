//! The contact part of the intake API.

use tingjian_proto::intake::v1 as pb;
use tonic::{Request, Response, Status};

use super::IntakeApi;

impl IntakeApi {
    pub(super) async fn log_contact_impl(
        &self,
        _request: Request<pb::LogContactRequest>,
    ) -> Result<Response<pb::LogContactResponse>, Status> {
        Err(Status::unimplemented("log_contact is not available yet"))
    }

    pub(super) async fn list_contacts_impl(
        &self,
        _request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        Err(Status::unimplemented("list_contacts is not available yet"))
    }

    pub(super) async fn list_overdue_enterprises_impl(
        &self,
        _request: Request<pb::ListOverdueEnterprisesRequest>,
    ) -> Result<Response<pb::ListOverdueEnterprisesResponse>, Status> {
        Err(Status::unimplemented("list_overdue_enterprises is not available yet"))
    }
}
