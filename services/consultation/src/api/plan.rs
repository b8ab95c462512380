//! The API of annual plans (年度重大协商计划).

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use super::{ConsultationApi, ORGANISERS};
use crate::domain::plan::{NewPlan, Plan};

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

impl ConsultationApi {
    #[tracing::instrument(skip_all, fields(plan.id))]
    pub(super) async fn create_plan_impl(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> Result<Response<pb::CreatePlanResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let plan = body.plan.ok_or_else(|| ServiceError::invalid("plan", "is required"))?;
        let new = NewPlan::parse(plan.year, &plan.title, &plan.description, "plan")?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let created = self.store.create_plan(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("plan.id", created.id.as_str());
        Ok(Response::new(pb::CreatePlanResponse { plan: Some(to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_plan_impl(
        &self,
        request: Request<pb::GetPlanRequest>,
    ) -> Result<Response<pb::GetPlanResponse>, Status> {
        Caller::of(&request)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let plan = self.store.get_plan(&id).await?;
        Ok(Response::new(pb::GetPlanResponse { plan: Some(to_proto(plan)) }))
    }

    pub(super) async fn list_plans_impl(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("ListPlans is not available yet".into()).into())
    }

    pub(super) async fn update_plan_impl(
        &self,
        request: Request<pb::UpdatePlanRequest>,
    ) -> Result<Response<pb::UpdatePlanResponse>, Status> {
        let _ = request;
        Err(ServiceError::FailedPrecondition("UpdatePlan is not available yet".into()).into())
    }
}
