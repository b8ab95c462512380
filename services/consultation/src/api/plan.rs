//! The API of annual plans (年度重大协商计划).

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::fields::{etag_version, parse_update_mask};
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::time::YEARS;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use super::{ConsultationApi, ORGANISERS, READERS};
use crate::domain::plan::{NewPlan, Plan, UPDATABLE};

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
        topic_count: i32::try_from(plan.topic_count).unwrap_or(i32::MAX),
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
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let plan = self.store.get_plan(&id).await?;
        Ok(Response::new(pb::GetPlanResponse { plan: Some(to_proto(plan)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_plans_impl(
        &self,
        request: Request<pb::ListPlansRequest>,
    ) -> Result<Response<pb::ListPlansResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let year = match body.year {
            0 => None,
            y if YEARS.contains(&y) => Some(y),
            _ => {
                return Err(ServiceError::invalid(
                    "year",
                    format!("must be 0 (any year) or between {} and {}", YEARS.start(), YEARS.end()),
                )
                .into());
            }
        };
        let digest = year.map_or_else(String::new, |y| y.to_string());
        let page = PageRequest::parse(body.page_size, &body.page_token, "plans", &digest, 1)?;
        let page = self.store.list_plans(year, &page).await?;
        let next_page_token = page.next_token("plans", &digest);
        Ok(Response::new(pb::ListPlansResponse {
            plans: page.items.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(plan.id))]
    pub(super) async fn update_plan_impl(
        &self,
        request: Request<pb::UpdatePlanRequest>,
    ) -> Result<Response<pb::UpdatePlanResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let plan = body.plan.ok_or_else(|| ServiceError::invalid("plan", "is required"))?;
        let id = parse_id(&plan.id, "plan.id")?;
        tracing::Span::current().record("plan.id", id.as_str());
        let mask = body.update_mask.map(|m| m.paths).unwrap_or_default();
        let paths = parse_update_mask(&mask, UPDATABLE)?;
        let current = self.store.get_plan(&id).await?;
        // The fields not named in the mask keep their stored values; the whole is checked as one.
        let title = if paths.contains(&"title") { plan.title.as_str() } else { current.fields.title.as_str() };
        let description = if paths.contains(&"description") {
            plan.description.as_str()
        } else {
            current.fields.description.as_str()
        };
        let new = NewPlan::parse(current.fields.year, title, description, "plan")?;
        let updated = self.store.update_plan(&id, &new, &paths, etag_version(&plan.etag)).await?;
        Ok(Response::new(pb::UpdatePlanResponse { plan: Some(to_proto(updated)) }))
    }
}
