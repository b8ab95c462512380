//! Rebuilding the rollups from the event history.

use tingjian_proto::analytics::v1 as pb;
use tonic::{Request, Response, Status};

use super::AnalyticsApi;

pub(super) async fn rebuild_rollups(
    _api: &AnalyticsApi,
    _request: Request<pb::RebuildRollupsRequest>,
) -> Result<Response<pb::RebuildRollupsResponse>, Status> {
    Err(Status::unimplemented("RebuildRollups"))
}
