//! TODO(sweep) module doc.

use tingjian_proto::supervision::v1 as pb;
use tonic::{Request, Response, Status};

use super::SupervisionApi;

impl SupervisionApi {
    pub(super) async fn list_warnings_impl(
        &self,
        request: Request<pb::ListWarningsRequest>,
    ) -> Result<Response<pb::ListWarningsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListWarnings is not built yet"))
    }
    pub(super) async fn list_escalations_impl(
        &self,
        request: Request<pb::ListEscalationsRequest>,
    ) -> Result<Response<pb::ListEscalationsResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("ListEscalations is not built yet"))
    }
    pub(super) async fn run_sweep_impl(
        &self,
        request: Request<pb::RunSweepRequest>,
    ) -> Result<Response<pb::RunSweepResponse>, Status> {
        let _ = request;
        Err(Status::unimplemented("RunSweep is not built yet"))
    }
}
