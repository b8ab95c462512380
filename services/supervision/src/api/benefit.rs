//! TODO(benefit) module doc.

use tingjian_proto::supervision::v1 as pb;
use tonic::{Request, Response, Status};

use super::SupervisionApi;

impl SupervisionApi {
    pub(super) async fn record_benefit_impl(
        &self,
        request: Request<pb::RecordBenefitRequest>,
    ) -> Result<Response<pb::RecordBenefitResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("RecordBenefit is not built yet"))
    }
    pub(super) async fn list_benefits_impl(
        &self,
        request: Request<pb::ListBenefitsRequest>,
    ) -> Result<Response<pb::ListBenefitsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListBenefits is not built yet"))
    }
}
