//! The common issue part of the intake API.

use tingjian_proto::intake::v1 as pb;
use tonic::{Request, Response, Status};

use super::IntakeApi;

impl IntakeApi {
    pub(super) async fn create_common_issue_impl(
        &self,
        _request: Request<pb::CreateCommonIssueRequest>,
    ) -> Result<Response<pb::CreateCommonIssueResponse>, Status> {
        Err(Status::unimplemented("create_common_issue is not available yet"))
    }

    pub(super) async fn get_common_issue_impl(
        &self,
        _request: Request<pb::GetCommonIssueRequest>,
    ) -> Result<Response<pb::GetCommonIssueResponse>, Status> {
        Err(Status::unimplemented("get_common_issue is not available yet"))
    }

    pub(super) async fn list_common_issues_impl(
        &self,
        _request: Request<pb::ListCommonIssuesRequest>,
    ) -> Result<Response<pb::ListCommonIssuesResponse>, Status> {
        Err(Status::unimplemented("list_common_issues is not available yet"))
    }

    pub(super) async fn add_demands_to_common_issue_impl(
        &self,
        _request: Request<pb::AddDemandsToCommonIssueRequest>,
    ) -> Result<Response<pb::AddDemandsToCommonIssueResponse>, Status> {
        Err(Status::unimplemented("add_demands_to_common_issue is not available yet"))
    }

    pub(super) async fn move_demand_impl(
        &self,
        _request: Request<pb::MoveDemandRequest>,
    ) -> Result<Response<pb::MoveDemandResponse>, Status> {
        Err(Status::unimplemented("move_demand is not available yet"))
    }

    pub(super) async fn split_out_demands_impl(
        &self,
        _request: Request<pb::SplitOutDemandsRequest>,
    ) -> Result<Response<pb::SplitOutDemandsResponse>, Status> {
        Err(Status::unimplemented("split_out_demands is not available yet"))
    }

    pub(super) async fn rename_common_issue_impl(
        &self,
        _request: Request<pb::RenameCommonIssueRequest>,
    ) -> Result<Response<pb::RenameCommonIssueResponse>, Status> {
        Err(Status::unimplemented("rename_common_issue is not available yet"))
    }

    pub(super) async fn list_common_issue_history_impl(
        &self,
        _request: Request<pb::ListCommonIssueHistoryRequest>,
    ) -> Result<Response<pb::ListCommonIssueHistoryResponse>, Status> {
        Err(Status::unimplemented("list_common_issue_history is not available yet"))
    }
}
