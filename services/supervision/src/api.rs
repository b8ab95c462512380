//! The gRPC adapter of the supervision service: translates between the v1 contract and the domain,
//! checks the caller, and delegates to the store.

use tingjian_proto::common::v1::OrganisationRef;
use tingjian_proto::supervision::v1 as pb;
use tingjian_proto::supervision::v1::supervision_service_server::SupervisionService;
use tingjian_runtime::Caller;
use tingjian_runtime::wire::{etag, parse_id, timestamp};
use tonic::{Request, Response, Status};

use crate::domain::Case;
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

fn to_proto(case: Case) -> pb::Case {
    pb::Case {
        id: case.id,
        title: case.title,
        description: case.description,
        status: case.status.as_i32(),
        lead_unit: Some(OrganisationRef { id: case.lead_unit, ..Default::default() }),
        dispatch_time: Some(timestamp(case.dispatch_time)),
        deadline_time: Some(timestamp(case.deadline_time)),
        dispatched_by: case.dispatched_by,
        etag: etag(case.version),
        create_time: Some(timestamp(case.create_time)),
        update_time: Some(timestamp(case.update_time)),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl SupervisionService for SupervisionApi {
    #[tracing::instrument(skip_all)]
    async fn get_case(&self, request: Request<pb::GetCaseRequest>) -> Result<Response<pb::GetCaseResponse>, Status> {
        Caller::of(&request)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let case = self.store.get_case(&id).await?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(to_proto(case)) }))
    }
}

/// The discipline-inspection commission's API (纪检监察): the supervision item list, the supervision
/// information database and rectification orders. Served beside the supervision API so reflection,
/// health and routing agree; its methods answer UNIMPLEMENTED until they are built.
#[derive(Debug, Clone)]
pub struct DisciplineInspectionApi {
    #[allow(dead_code)]
    store: Store,
}

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
}
