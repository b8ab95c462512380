//! The gRPC adapter of the consultation service: translates between the v1 contract and the domain,
//! checks the caller, and delegates to the store and to the peers it calls. One file per area; this
//! one routes the contract's methods to them.

mod assignment;
mod expert;
mod invitation;
mod plan;
mod report;
mod session;
mod suggestion;
mod team;
mod topic;

use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::consultation::v1::consultation_service_server::ConsultationService;
use tingjian_runtime::Role;
use tonic::{Request, Response, Status};

use crate::peers::{Intake, Supervision};
use crate::store::Store;

/// The consultation service's gRPC API.
#[derive(Debug, Clone)]
pub struct ConsultationApi {
    store: Store,
    intake: Intake,
    supervision: Supervision,
}

impl ConsultationApi {
    /// An API over `store`, calling `intake` and `supervision`.
    pub fn new(store: Store, intake: Intake, supervision: Supervision) -> Self {
        Self { store, intake, supervision }
    }
}

/// Roles that organise consultation: plans, topics, invitations, sessions, suggestions, reports.
const ORGANISERS: [Role; 1] = [Role::Staff];
/// Roles that read consultation records.
const READERS: [Role; 5] = [Role::Staff, Role::Member, Role::Leader, Role::Supervisor, Role::Analyst];

#[tonic::async_trait]
impl ConsultationService for ConsultationApi {
    async fn create_plan(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> Result<Response<pb::CreatePlanResponse>, Status> {
        self.create_plan_impl(request).await
    }

    async fn get_plan(&self, request: Request<pb::GetPlanRequest>) -> Result<Response<pb::GetPlanResponse>, Status> {
        self.get_plan_impl(request).await
    }

    async fn list_plans(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        self.list_plans_impl(request).await
    }

    async fn update_plan(
        &self,
        request: Request<pb::UpdatePlanRequest>,
    ) -> Result<Response<pb::UpdatePlanResponse>, Status> {
        self.update_plan_impl(request).await
    }

    async fn create_topic(
        &self,
        request: Request<pb::CreateTopicRequest>,
    ) -> Result<Response<pb::CreateTopicResponse>, Status> {
        self.create_topic_impl(request).await
    }

    async fn get_topic(&self, request: Request<pb::GetTopicRequest>) -> Result<Response<pb::GetTopicResponse>, Status> {
        self.get_topic_impl(request).await
    }

    async fn list_topics(
        &self,
        request: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        self.list_topics_impl(request).await
    }

    async fn update_topic(
        &self,
        request: Request<pb::UpdateTopicRequest>,
    ) -> Result<Response<pb::UpdateTopicResponse>, Status> {
        self.update_topic_impl(request).await
    }

    async fn adopt_topic(
        &self,
        request: Request<pb::AdoptTopicRequest>,
    ) -> Result<Response<pb::AdoptTopicResponse>, Status> {
        self.adopt_topic_impl(request).await
    }

    async fn withdraw_topic(
        &self,
        request: Request<pb::WithdrawTopicRequest>,
    ) -> Result<Response<pb::WithdrawTopicResponse>, Status> {
        self.withdraw_topic_impl(request).await
    }

    async fn propose_invitations(
        &self,
        request: Request<pb::ProposeInvitationsRequest>,
    ) -> Result<Response<pb::ProposeInvitationsResponse>, Status> {
        self.propose_invitations_impl(request).await
    }

    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        self.list_invitations_impl(request).await
    }

    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::AcceptInvitationResponse>, Status> {
        self.accept_invitation_impl(request).await
    }

    async fn drop_invitation(
        &self,
        request: Request<pb::DropInvitationRequest>,
    ) -> Result<Response<pb::DropInvitationResponse>, Status> {
        self.drop_invitation_impl(request).await
    }

    async fn add_invitation(
        &self,
        request: Request<pb::AddInvitationRequest>,
    ) -> Result<Response<pb::AddInvitationResponse>, Status> {
        self.add_invitation_impl(request).await
    }

    async fn schedule_session(
        &self,
        request: Request<pb::ScheduleSessionRequest>,
    ) -> Result<Response<pb::ScheduleSessionResponse>, Status> {
        self.schedule_session_impl(request).await
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        self.get_session_impl(request).await
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        self.list_sessions_impl(request).await
    }

    async fn update_session(
        &self,
        request: Request<pb::UpdateSessionRequest>,
    ) -> Result<Response<pb::UpdateSessionResponse>, Status> {
        self.update_session_impl(request).await
    }

    async fn add_participants(
        &self,
        request: Request<pb::AddParticipantsRequest>,
    ) -> Result<Response<pb::AddParticipantsResponse>, Status> {
        self.add_participants_impl(request).await
    }

    async fn remove_participant(
        &self,
        request: Request<pb::RemoveParticipantRequest>,
    ) -> Result<Response<pb::RemoveParticipantResponse>, Status> {
        self.remove_participant_impl(request).await
    }

    async fn record_contribution(
        &self,
        request: Request<pb::RecordContributionRequest>,
    ) -> Result<Response<pb::RecordContributionResponse>, Status> {
        self.record_contribution_impl(request).await
    }

    async fn list_contributions(
        &self,
        request: Request<pb::ListContributionsRequest>,
    ) -> Result<Response<pb::ListContributionsResponse>, Status> {
        self.list_contributions_impl(request).await
    }

    async fn close_session(
        &self,
        request: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        self.close_session_impl(request).await
    }

    async fn cancel_session(
        &self,
        request: Request<pb::CancelSessionRequest>,
    ) -> Result<Response<pb::CancelSessionResponse>, Status> {
        self.cancel_session_impl(request).await
    }

    async fn draft_suggestion(
        &self,
        request: Request<pb::DraftSuggestionRequest>,
    ) -> Result<Response<pb::DraftSuggestionResponse>, Status> {
        self.draft_suggestion_impl(request).await
    }

    async fn get_suggestion(
        &self,
        request: Request<pb::GetSuggestionRequest>,
    ) -> Result<Response<pb::GetSuggestionResponse>, Status> {
        self.get_suggestion_impl(request).await
    }

    async fn list_suggestions(
        &self,
        request: Request<pb::ListSuggestionsRequest>,
    ) -> Result<Response<pb::ListSuggestionsResponse>, Status> {
        self.list_suggestions_impl(request).await
    }

    async fn update_suggestion(
        &self,
        request: Request<pb::UpdateSuggestionRequest>,
    ) -> Result<Response<pb::UpdateSuggestionResponse>, Status> {
        self.update_suggestion_impl(request).await
    }

    async fn submit_suggestion(
        &self,
        request: Request<pb::SubmitSuggestionRequest>,
    ) -> Result<Response<pb::SubmitSuggestionResponse>, Status> {
        self.submit_suggestion_impl(request).await
    }

    async fn record_suggestion_feedback(
        &self,
        request: Request<pb::RecordSuggestionFeedbackRequest>,
    ) -> Result<Response<pb::RecordSuggestionFeedbackResponse>, Status> {
        self.record_suggestion_feedback_impl(request).await
    }

    async fn compile_special_report(
        &self,
        request: Request<pb::CompileSpecialReportRequest>,
    ) -> Result<Response<pb::CompileSpecialReportResponse>, Status> {
        self.compile_special_report_impl(request).await
    }

    async fn get_special_report(
        &self,
        request: Request<pb::GetSpecialReportRequest>,
    ) -> Result<Response<pb::GetSpecialReportResponse>, Status> {
        self.get_special_report_impl(request).await
    }

    async fn list_special_reports(
        &self,
        request: Request<pb::ListSpecialReportsRequest>,
    ) -> Result<Response<pb::ListSpecialReportsResponse>, Status> {
        self.list_special_reports_impl(request).await
    }

    async fn send_special_report(
        &self,
        request: Request<pb::SendSpecialReportRequest>,
    ) -> Result<Response<pb::SendSpecialReportResponse>, Status> {
        self.send_special_report_impl(request).await
    }

    async fn record_instruction(
        &self,
        request: Request<pb::RecordInstructionRequest>,
    ) -> Result<Response<pb::RecordInstructionResponse>, Status> {
        self.record_instruction_impl(request).await
    }

    async fn assign_to_supervision(
        &self,
        request: Request<pb::AssignToSupervisionRequest>,
    ) -> Result<Response<pb::AssignToSupervisionResponse>, Status> {
        self.assign_to_supervision_impl(request).await
    }

    async fn create_service_team(
        &self,
        request: Request<pb::CreateServiceTeamRequest>,
    ) -> Result<Response<pb::CreateServiceTeamResponse>, Status> {
        self.create_service_team_impl(request).await
    }

    async fn get_service_team(
        &self,
        request: Request<pb::GetServiceTeamRequest>,
    ) -> Result<Response<pb::GetServiceTeamResponse>, Status> {
        self.get_service_team_impl(request).await
    }

    async fn list_service_teams(
        &self,
        request: Request<pb::ListServiceTeamsRequest>,
    ) -> Result<Response<pb::ListServiceTeamsResponse>, Status> {
        self.list_service_teams_impl(request).await
    }

    async fn update_service_team(
        &self,
        request: Request<pb::UpdateServiceTeamRequest>,
    ) -> Result<Response<pb::UpdateServiceTeamResponse>, Status> {
        self.update_service_team_impl(request).await
    }

    async fn create_service_menu_item(
        &self,
        request: Request<pb::CreateServiceMenuItemRequest>,
    ) -> Result<Response<pb::CreateServiceMenuItemResponse>, Status> {
        self.create_service_menu_item_impl(request).await
    }

    async fn list_service_menu_items(
        &self,
        request: Request<pb::ListServiceMenuItemsRequest>,
    ) -> Result<Response<pb::ListServiceMenuItemsResponse>, Status> {
        self.list_service_menu_items_impl(request).await
    }

    async fn update_service_menu_item(
        &self,
        request: Request<pb::UpdateServiceMenuItemRequest>,
    ) -> Result<Response<pb::UpdateServiceMenuItemResponse>, Status> {
        self.update_service_menu_item_impl(request).await
    }

    async fn map_demand_to_service(
        &self,
        request: Request<pb::MapDemandToServiceRequest>,
    ) -> Result<Response<pb::MapDemandToServiceResponse>, Status> {
        self.map_demand_to_service_impl(request).await
    }

    async fn get_service_list(
        &self,
        request: Request<pb::GetServiceListRequest>,
    ) -> Result<Response<pb::GetServiceListResponse>, Status> {
        self.get_service_list_impl(request).await
    }

    async fn deliver_service(
        &self,
        request: Request<pb::DeliverServiceRequest>,
    ) -> Result<Response<pb::DeliverServiceResponse>, Status> {
        self.deliver_service_impl(request).await
    }

    async fn create_expert(
        &self,
        request: Request<pb::CreateExpertRequest>,
    ) -> Result<Response<pb::CreateExpertResponse>, Status> {
        self.create_expert_impl(request).await
    }

    async fn get_expert(
        &self,
        request: Request<pb::GetExpertRequest>,
    ) -> Result<Response<pb::GetExpertResponse>, Status> {
        self.get_expert_impl(request).await
    }

    async fn list_experts(
        &self,
        request: Request<pb::ListExpertsRequest>,
    ) -> Result<Response<pb::ListExpertsResponse>, Status> {
        self.list_experts_impl(request).await
    }

    async fn update_expert(
        &self,
        request: Request<pb::UpdateExpertRequest>,
    ) -> Result<Response<pb::UpdateExpertResponse>, Status> {
        self.update_expert_impl(request).await
    }

    async fn attach_expert(
        &self,
        request: Request<pb::AttachExpertRequest>,
    ) -> Result<Response<pb::AttachExpertResponse>, Status> {
        self.attach_expert_impl(request).await
    }

    async fn detach_expert(
        &self,
        request: Request<pb::DetachExpertRequest>,
    ) -> Result<Response<pb::DetachExpertResponse>, Status> {
        self.detach_expert_impl(request).await
    }
}
