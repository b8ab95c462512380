//! The API of assignment (交办) of suggestions and special reports to supervision.

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::ServiceError;
use tonic::{Request, Response, Status};

use super::ConsultationApi;

impl ConsultationApi {
    pub(super) async fn assign_to_supervision_impl(
        &self,
        request: Request<pb::AssignToSupervisionRequest>,
    ) -> Result<Response<pb::AssignToSupervisionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("AssignToSupervision is not available yet".into()).into())
    }
}
