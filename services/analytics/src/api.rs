//! The gRPC adapter of the analytics service: translates between the v1 contract and the domain,
//! checks the caller, and delegates to the store.

use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::analytics::v1::analytics_service_server::AnalyticsService;
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use crate::domain::parse_period;
use crate::store::Store;

/// The analytics service's gRPC API.
#[derive(Debug, Clone)]
pub struct AnalyticsApi {
    #[allow(dead_code)]
    store: Store,
}

impl AnalyticsApi {
    /// An API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl AnalyticsService for AnalyticsApi {
    #[tracing::instrument(skip_all)]
    async fn get_scorecard(
        &self,
        request: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        Caller::of(&request)?;
        let period = request.get_ref().period.as_ref().ok_or_else(|| ServiceError::invalid("period", "is required"))?;
        let period = parse_period(period.kind, period.year, period.number, "period")
            .map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
        tracing::debug!(%period, "scorecard asked for");
        // The rollups that feed the scorecard are built from the event consumers; until they are in
        // place the figures are not served rather than served as zeros.
        Err(Status::unimplemented(format!("scorecard figures for {period} are not available in this release")))
    }
}
