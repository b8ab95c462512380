//! The gRPC adapter of the consultation service: translates between the v1 contract and the domain,
//! checks the caller, and delegates to the store.

use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::consultation::v1::consultation_service_server::ConsultationService;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use crate::domain::{NewPlan, Plan};
use crate::store::Store;

/// The consultation service's gRPC API.
#[derive(Debug, Clone)]
pub struct ConsultationApi {
    store: Store,
}

impl ConsultationApi {
    /// An API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

fn to_proto(plan: Plan) -> pb::Plan {
    pb::Plan {
        id: plan.id,
        year: plan.fields.year,
        title: plan.fields.title,
        description: plan.fields.description,
        create_time: Some(timestamp(plan.create_time)),
        update_time: Some(timestamp(plan.update_time)),
        etag: etag(plan.version),
        created_by: plan.created_by,
        ..Default::default()
    }
}

#[tonic::async_trait]
impl ConsultationService for ConsultationApi {
    #[tracing::instrument(skip_all, fields(plan.id))]
    async fn create_plan(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> Result<Response<pb::CreatePlanResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&[Role::Staff, Role::SystemAdmin])?;
        let body = request.into_inner();
        let plan = body.plan.ok_or_else(|| ServiceError::invalid("plan", "is required"))?;
        let new = NewPlan::parse(plan.year, &plan.title, &plan.description, "plan")?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let created = self.store.create_plan(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("plan.id", created.id.as_str());
        Ok(Response::new(pb::CreatePlanResponse { plan: Some(to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_plan(&self, request: Request<pb::GetPlanRequest>) -> Result<Response<pb::GetPlanResponse>, Status> {
        Caller::of(&request)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let plan = self.store.get_plan(&id).await?;
        Ok(Response::new(pb::GetPlanResponse { plan: Some(to_proto(plan)) }))
    }
}
