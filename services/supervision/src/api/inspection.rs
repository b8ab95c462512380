//! TODO(inspection) module doc.

use tingjian_proto::supervision::v1 as pb;
use tonic::{Request, Response, Status};

use super::DisciplineInspectionApi;

impl DisciplineInspectionApi {
    pub(super) async fn list_supervision_items_impl(
        &self,
        request: Request<pb::ListSupervisionItemsRequest>,
    ) -> Result<Response<pb::ListSupervisionItemsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListSupervisionItems is not built yet"))
    }
    pub(super) async fn subscribe_supervision_changes_impl(
        &self,
        request: Request<pb::SubscribeSupervisionChangesRequest>,
    ) -> Result<Response<super::ChangeStream>, Status> {
        let _ = request;
        Err(Status::unimplemented("SubscribeSupervisionChanges is not built yet"))
    }
    pub(super) async fn get_supervision_record_impl(
        &self,
        request: Request<pb::GetSupervisionRecordRequest>,
    ) -> Result<Response<pb::GetSupervisionRecordResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("GetSupervisionRecord is not built yet"))
    }
    pub(super) async fn acknowledge_supervision_item_impl(
        &self,
        request: Request<pb::AcknowledgeSupervisionItemRequest>,
    ) -> Result<Response<pb::AcknowledgeSupervisionItemResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("AcknowledgeSupervisionItem is not built yet"))
    }
    pub(super) async fn submit_referral_impl(
        &self,
        request: Request<pb::SubmitReferralRequest>,
    ) -> Result<Response<pb::SubmitReferralResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("SubmitReferral is not built yet"))
    }
    pub(super) async fn list_referrals_impl(
        &self,
        request: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListReferrals is not built yet"))
    }
}
