//! The gRPC adapter of the supervision service: translates between the v1 contract and the domain,
//! checks the caller, and delegates to the store. One file per area; this one routes the contract's
//! methods to them.

mod benefit;
mod calendar;
mod case;
mod follow_up;
mod inspection;
mod lifecycle;
mod rectification;
mod sweep;

use tingjian_proto::supervision::v1 as pb;
use tingjian_proto::supervision::v1::supervision_service_server::SupervisionService;
use tonic::{Request, Response, Status};

use crate::store::Store;

/// The supervision service's gRPC API.
#[derive(Debug, Clone)]
pub struct SupervisionApi {
    store: Store,
}

impl SupervisionApi {
    /// An API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl SupervisionService for SupervisionApi {
    async fn create_case(
        &self,
        request: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        self.create_case_impl(request).await
    }
    async fn get_case(&self, request: Request<pb::GetCaseRequest>) -> Result<Response<pb::GetCaseResponse>, Status> {
        self.get_case_impl(request).await
    }
    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        self.list_cases_impl(request).await
    }
    async fn list_case_history(
        &self,
        request: Request<pb::ListCaseHistoryRequest>,
    ) -> Result<Response<pb::ListCaseHistoryResponse>, Status> {
        self.list_case_history_impl(request).await
    }
    async fn get_calendar(
        &self,
        request: Request<pb::GetCalendarRequest>,
    ) -> Result<Response<pb::GetCalendarResponse>, Status> {
        self.get_calendar_impl(request).await
    }
    async fn replace_calendar(
        &self,
        request: Request<pb::ReplaceCalendarRequest>,
    ) -> Result<Response<pb::ReplaceCalendarResponse>, Status> {
        self.replace_calendar_impl(request).await
    }
    async fn update_case(
        &self,
        request: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        self.update_case_impl(request).await
    }
    async fn accept_case(
        &self,
        request: Request<pb::AcceptCaseRequest>,
    ) -> Result<Response<pb::AcceptCaseResponse>, Status> {
        self.accept_case_impl(request).await
    }
    async fn return_case(
        &self,
        request: Request<pb::ReturnCaseRequest>,
    ) -> Result<Response<pb::ReturnCaseResponse>, Status> {
        self.return_case_impl(request).await
    }
    async fn reassign_case(
        &self,
        request: Request<pb::ReassignCaseRequest>,
    ) -> Result<Response<pb::ReassignCaseResponse>, Status> {
        self.reassign_case_impl(request).await
    }
    async fn record_progress(
        &self,
        request: Request<pb::RecordProgressRequest>,
    ) -> Result<Response<pb::RecordProgressResponse>, Status> {
        self.record_progress_impl(request).await
    }
    async fn reply_to_case(
        &self,
        request: Request<pb::ReplyToCaseRequest>,
    ) -> Result<Response<pb::ReplyToCaseResponse>, Status> {
        self.reply_to_case_impl(request).await
    }
    async fn evaluate_case(
        &self,
        request: Request<pb::EvaluateCaseRequest>,
    ) -> Result<Response<pb::EvaluateCaseResponse>, Status> {
        self.evaluate_case_impl(request).await
    }
    async fn close_case(
        &self,
        request: Request<pb::CloseCaseRequest>,
    ) -> Result<Response<pb::CloseCaseResponse>, Status> {
        self.close_case_impl(request).await
    }
    async fn escalate_case(
        &self,
        request: Request<pb::EscalateCaseRequest>,
    ) -> Result<Response<pb::EscalateCaseResponse>, Status> {
        self.escalate_case_impl(request).await
    }
    async fn record_benefit(
        &self,
        request: Request<pb::RecordBenefitRequest>,
    ) -> Result<Response<pb::RecordBenefitResponse>, Status> {
        self.record_benefit_impl(request).await
    }
    async fn list_benefits(
        &self,
        request: Request<pb::ListBenefitsRequest>,
    ) -> Result<Response<pb::ListBenefitsResponse>, Status> {
        self.list_benefits_impl(request).await
    }
    async fn list_warnings(
        &self,
        request: Request<pb::ListWarningsRequest>,
    ) -> Result<Response<pb::ListWarningsResponse>, Status> {
        self.list_warnings_impl(request).await
    }
    async fn list_escalations(
        &self,
        request: Request<pb::ListEscalationsRequest>,
    ) -> Result<Response<pb::ListEscalationsResponse>, Status> {
        self.list_escalations_impl(request).await
    }
    async fn run_sweep(&self, request: Request<pb::RunSweepRequest>) -> Result<Response<pb::RunSweepResponse>, Status> {
        self.run_sweep_impl(request).await
    }
    async fn list_follow_up_tasks(
        &self,
        request: Request<pb::ListFollowUpTasksRequest>,
    ) -> Result<Response<pb::ListFollowUpTasksResponse>, Status> {
        self.list_follow_up_tasks_impl(request).await
    }
    async fn record_follow_up(
        &self,
        request: Request<pb::RecordFollowUpRequest>,
    ) -> Result<Response<pb::RecordFollowUpResponse>, Status> {
        self.record_follow_up_impl(request).await
    }
    async fn list_follow_ups(
        &self,
        request: Request<pb::ListFollowUpsRequest>,
    ) -> Result<Response<pb::ListFollowUpsResponse>, Status> {
        self.list_follow_ups_impl(request).await
    }
    async fn get_compliance(
        &self,
        request: Request<pb::GetComplianceRequest>,
    ) -> Result<Response<pb::GetComplianceResponse>, Status> {
        self.get_compliance_impl(request).await
    }
    async fn issue_rectification_order(
        &self,
        request: Request<pb::IssueRectificationOrderRequest>,
    ) -> Result<Response<pb::IssueRectificationOrderResponse>, Status> {
        self.issue_rectification_order_impl(request).await
    }
    async fn get_rectification_order(
        &self,
        request: Request<pb::GetRectificationOrderRequest>,
    ) -> Result<Response<pb::GetRectificationOrderResponse>, Status> {
        self.get_rectification_order_impl(request).await
    }
    async fn list_rectification_orders(
        &self,
        request: Request<pb::ListRectificationOrdersRequest>,
    ) -> Result<Response<pb::ListRectificationOrdersResponse>, Status> {
        self.list_rectification_orders_impl(request).await
    }
    async fn update_rectification_order(
        &self,
        request: Request<pb::UpdateRectificationOrderRequest>,
    ) -> Result<Response<pb::UpdateRectificationOrderResponse>, Status> {
        self.update_rectification_order_impl(request).await
    }
    async fn report_rectification(
        &self,
        request: Request<pb::ReportRectificationRequest>,
    ) -> Result<Response<pb::ReportRectificationResponse>, Status> {
        self.report_rectification_impl(request).await
    }
    async fn verify_rectification(
        &self,
        request: Request<pb::VerifyRectificationRequest>,
    ) -> Result<Response<pb::VerifyRectificationResponse>, Status> {
        self.verify_rectification_impl(request).await
    }
    async fn revoke_rectification_order(
        &self,
        request: Request<pb::RevokeRectificationOrderRequest>,
    ) -> Result<Response<pb::RevokeRectificationOrderResponse>, Status> {
        self.revoke_rectification_order_impl(request).await
    }
}

/// The discipline-inspection commission's API (纪检监察): the supervision item list, the supervision
/// information database and rectification orders. Served beside the supervision API so reflection,
/// health and routing agree.
#[derive(Debug, Clone)]
pub struct DisciplineInspectionApi {
    store: Store,
}

/// The stream of SubscribeSupervisionChanges.
pub type ChangeStream = std::pin::Pin<
    Box<dyn futures::Stream<Item = Result<pb::SubscribeSupervisionChangesResponse, Status>> + Send + 'static>,
>;

impl DisciplineInspectionApi {
    /// An API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl tingjian_proto::supervision::v1::discipline_inspection_service_server::DisciplineInspectionService
    for DisciplineInspectionApi
{
    async fn subscribe_supervision_changes(
        &self,
        request: Request<pb::SubscribeSupervisionChangesRequest>,
    ) -> Result<Response<ChangeStream>, Status> {
        self.subscribe_supervision_changes_impl(request).await
    }
    async fn list_supervision_items(
        &self,
        request: Request<pb::ListSupervisionItemsRequest>,
    ) -> Result<Response<pb::ListSupervisionItemsResponse>, Status> {
        self.list_supervision_items_impl(request).await
    }
    async fn get_supervision_record(
        &self,
        request: Request<pb::GetSupervisionRecordRequest>,
    ) -> Result<Response<pb::GetSupervisionRecordResponse>, Status> {
        self.get_supervision_record_impl(request).await
    }
    async fn acknowledge_supervision_item(
        &self,
        request: Request<pb::AcknowledgeSupervisionItemRequest>,
    ) -> Result<Response<pb::AcknowledgeSupervisionItemResponse>, Status> {
        self.acknowledge_supervision_item_impl(request).await
    }
    async fn submit_referral(
        &self,
        request: Request<pb::SubmitReferralRequest>,
    ) -> Result<Response<pb::SubmitReferralResponse>, Status> {
        self.submit_referral_impl(request).await
    }
    async fn list_referrals(
        &self,
        request: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        self.list_referrals_impl(request).await
    }
    async fn issue_discipline_rectification_order(
        &self,
        request: Request<pb::IssueDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::IssueDisciplineRectificationOrderResponse>, Status> {
        self.issue_discipline_rectification_order_impl(request).await
    }
    async fn update_discipline_rectification_order(
        &self,
        request: Request<pb::UpdateDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::UpdateDisciplineRectificationOrderResponse>, Status> {
        self.update_discipline_rectification_order_impl(request).await
    }
    async fn verify_discipline_rectification_order(
        &self,
        request: Request<pb::VerifyDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::VerifyDisciplineRectificationOrderResponse>, Status> {
        self.verify_discipline_rectification_order_impl(request).await
    }
    async fn list_discipline_rectification_orders(
        &self,
        request: Request<pb::ListDisciplineRectificationOrdersRequest>,
    ) -> Result<Response<pb::ListDisciplineRectificationOrdersResponse>, Status> {
        self.list_discipline_rectification_orders_impl(request).await
    }
}
