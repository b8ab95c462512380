//! The gRPC adapter of the analytics service: translates between the v1 contract and the domain,
//! checks the caller, and delegates to the store. One file per group of methods.

mod export;
mod figures;
mod rebuild;

use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::analytics::v1::analytics_service_server::AnalyticsService;
use tonic::{Request, Response, Status};

use tingjian_runtime::Role;

use crate::store::Store;

/// Who may read figures, rankings, profiles and exports.
pub(crate) const READERS: &[Role] =
    &[Role::Analyst, Role::Staff, Role::Leader, Role::Supervisor, Role::DisciplineInspection, Role::SystemAdmin];
/// Who may rebuild the rollups.
pub(crate) const REBUILDERS: &[Role] = &[Role::SystemAdmin];

/// The analytics service's gRPC API.
#[derive(Debug, Clone)]
pub struct AnalyticsApi {
    store: Store,
}

impl AnalyticsApi {
    /// An API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }

    /// The store.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }
}

#[tonic::async_trait]
impl AnalyticsService for AnalyticsApi {
    #[tracing::instrument(skip_all)]
    async fn get_scorecard(
        &self,
        request: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        figures::get_scorecard(self, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn get_series(
        &self,
        request: Request<pb::GetSeriesRequest>,
    ) -> Result<Response<pb::GetSeriesResponse>, Status> {
        figures::get_series(self, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn get_breakdown(
        &self,
        request: Request<pb::GetBreakdownRequest>,
    ) -> Result<Response<pb::GetBreakdownResponse>, Status> {
        figures::get_breakdown(self, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_unit_rankings(
        &self,
        request: Request<pb::ListUnitRankingsRequest>,
    ) -> Result<Response<pb::ListUnitRankingsResponse>, Status> {
        figures::list_unit_rankings(self, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn get_enterprise_profile(
        &self,
        request: Request<pb::GetEnterpriseProfileRequest>,
    ) -> Result<Response<pb::GetEnterpriseProfileResponse>, Status> {
        figures::get_enterprise_profile(self, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn export_scorecard(
        &self,
        request: Request<pb::ExportScorecardRequest>,
    ) -> Result<Response<pb::ExportScorecardResponse>, Status> {
        export::export_scorecard(self, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn export_breakdown(
        &self,
        request: Request<pb::ExportBreakdownRequest>,
    ) -> Result<Response<pb::ExportBreakdownResponse>, Status> {
        export::export_breakdown(self, request).await
    }

    #[tracing::instrument(skip_all)]
    async fn rebuild_rollups(
        &self,
        request: Request<pb::RebuildRollupsRequest>,
    ) -> Result<Response<pb::RebuildRollupsResponse>, Status> {
        rebuild::rebuild_rollups(self, request).await
    }
}
