//! The API of special reports (专报) and leaders' instructions (批示).

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::ServiceError;
use tonic::{Request, Response, Status};

use super::ConsultationApi;

impl ConsultationApi {
    pub(super) async fn compile_special_report_impl(
        &self,
        request: Request<pb::CompileSpecialReportRequest>,
    ) -> Result<Response<pb::CompileSpecialReportResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("CompileSpecialReport is not available yet".into()).into())
    }

    pub(super) async fn get_special_report_impl(
        &self,
        request: Request<pb::GetSpecialReportRequest>,
    ) -> Result<Response<pb::GetSpecialReportResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("GetSpecialReport is not available yet".into()).into())
    }

    pub(super) async fn list_special_reports_impl(
        &self,
        request: Request<pb::ListSpecialReportsRequest>,
    ) -> Result<Response<pb::ListSpecialReportsResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListSpecialReports is not available yet".into()).into())
    }

    pub(super) async fn send_special_report_impl(
        &self,
        request: Request<pb::SendSpecialReportRequest>,
    ) -> Result<Response<pb::SendSpecialReportResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("SendSpecialReport is not available yet".into()).into())
    }

    pub(super) async fn record_instruction_impl(
        &self,
        request: Request<pb::RecordInstructionRequest>,
    ) -> Result<Response<pb::RecordInstructionResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("RecordInstruction is not available yet".into()).into())
    }
}
