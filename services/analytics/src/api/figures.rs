//! Scorecard, series, breakdowns, rankings and enterprise profiles.

use tingjian_proto::analytics::v1 as pb;
use tonic::{Request, Response, Status};

use super::AnalyticsApi;

pub(super) async fn get_scorecard(
    _api: &AnalyticsApi,
    _request: Request<pb::GetScorecardRequest>,
) -> Result<Response<pb::GetScorecardResponse>, Status> {
    Err(Status::unimplemented("GetScorecard"))
}

pub(super) async fn get_series(
    _api: &AnalyticsApi,
    _request: Request<pb::GetSeriesRequest>,
) -> Result<Response<pb::GetSeriesResponse>, Status> {
    Err(Status::unimplemented("GetSeries"))
}

pub(super) async fn get_breakdown(
    _api: &AnalyticsApi,
    _request: Request<pb::GetBreakdownRequest>,
) -> Result<Response<pb::GetBreakdownResponse>, Status> {
    Err(Status::unimplemented("GetBreakdown"))
}

pub(super) async fn list_unit_rankings(
    _api: &AnalyticsApi,
    _request: Request<pb::ListUnitRankingsRequest>,
) -> Result<Response<pb::ListUnitRankingsResponse>, Status> {
    Err(Status::unimplemented("ListUnitRankings"))
}

pub(super) async fn get_enterprise_profile(
    _api: &AnalyticsApi,
    _request: Request<pb::GetEnterpriseProfileRequest>,
) -> Result<Response<pb::GetEnterpriseProfileResponse>, Status> {
    Err(Status::unimplemented("GetEnterpriseProfile"))
}
