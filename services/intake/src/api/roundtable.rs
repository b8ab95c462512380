//! The roundtable part of the intake API.

use tingjian_proto::intake::v1 as pb;
use tonic::{Request, Response, Status};

use super::IntakeApi;

impl IntakeApi {
    pub(super) async fn create_roundtable_impl(
        &self,
        _request: Request<pb::CreateRoundtableRequest>,
    ) -> Result<Response<pb::CreateRoundtableResponse>, Status> {
        Err(Status::unimplemented("create_roundtable is not available yet"))
    }

    pub(super) async fn get_roundtable_impl(
        &self,
        _request: Request<pb::GetRoundtableRequest>,
    ) -> Result<Response<pb::GetRoundtableResponse>, Status> {
        Err(Status::unimplemented("get_roundtable is not available yet"))
    }

    pub(super) async fn list_roundtables_impl(
        &self,
        _request: Request<pb::ListRoundtablesRequest>,
    ) -> Result<Response<pb::ListRoundtablesResponse>, Status> {
        Err(Status::unimplemented("list_roundtables is not available yet"))
    }

    pub(super) async fn update_roundtable_impl(
        &self,
        _request: Request<pb::UpdateRoundtableRequest>,
    ) -> Result<Response<pb::UpdateRoundtableResponse>, Status> {
        Err(Status::unimplemented("update_roundtable is not available yet"))
    }
}
