//! Rebuilding the rollups from the event history.

use tingjian_proto::analytics::v1 as pb;
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use super::{AnalyticsApi, REBUILDERS};
use crate::store::ingest::IngestError;

pub(super) async fn rebuild_rollups(
    api: &AnalyticsApi,
    request: Request<pb::RebuildRollupsRequest>,
) -> Result<Response<pb::RebuildRollupsResponse>, Status> {
    let caller = Caller::of(&request)?;
    caller.require_any(REBUILDERS)?;
    let actor = caller.subject.clone();
    let report = api.store().rebuild_as(request.get_ref().dry_run, &actor).await.map_err(|e| match e {
        IngestError::Database(e) => ServiceError::from(e),
        IngestError::Unreadable(reason) => ServiceError::internal(reason),
    })?;
    Ok(Response::new(pb::RebuildRollupsResponse {
        events_replayed: report.events_replayed,
        rollup_digest: report.rollup_digest,
        previous_digest: report.previous_digest,
        matches_previous: report.matches_previous,
        as_of_time: report.as_of_time.map(tingjian_runtime::wire::timestamp),
        duration: prost_types::Duration::try_from(report.duration).ok(),
    }))
}
