//! Exports of the scorecard and of breakdowns.

use tingjian_proto::analytics::v1 as pb;
use tonic::{Request, Response, Status};

use super::AnalyticsApi;

pub(super) async fn export_scorecard(
    _api: &AnalyticsApi,
    _request: Request<pb::ExportScorecardRequest>,
) -> Result<Response<pb::ExportScorecardResponse>, Status> {
    Err(Status::unimplemented("ExportScorecard"))
}

pub(super) async fn export_breakdown(
    _api: &AnalyticsApi,
    _request: Request<pb::ExportBreakdownRequest>,
) -> Result<Response<pb::ExportBreakdownResponse>, Status> {
    Err(Status::unimplemented("ExportBreakdown"))
}
