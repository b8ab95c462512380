//! The reference part of the intake API.

use tingjian_proto::intake::v1 as pb;
use tonic::{Request, Response, Status};

use super::IntakeApi;

impl IntakeApi {
    pub(super) async fn list_reference_items_impl(
        &self,
        _request: Request<pb::ListReferenceItemsRequest>,
    ) -> Result<Response<pb::ListReferenceItemsResponse>, Status> {
        Err(Status::unimplemented("list_reference_items is not available yet"))
    }

    pub(super) async fn create_reference_item_impl(
        &self,
        _request: Request<pb::CreateReferenceItemRequest>,
    ) -> Result<Response<pb::CreateReferenceItemResponse>, Status> {
        Err(Status::unimplemented("create_reference_item is not available yet"))
    }

    pub(super) async fn update_reference_item_impl(
        &self,
        _request: Request<pb::UpdateReferenceItemRequest>,
    ) -> Result<Response<pb::UpdateReferenceItemResponse>, Status> {
        Err(Status::unimplemented("update_reference_item is not available yet"))
    }
}
