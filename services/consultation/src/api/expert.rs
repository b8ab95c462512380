//! The API of the think tank (智库): experts and the topics they are attached to.
//!
//! Who may do what: staff write; staff, members, leaders, supervisors and analysts read.

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{etag_version, parse_update_mask, required_text};
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use super::topic::{first_violation, topic_to_proto};
use super::{ConsultationApi, ORGANISERS, READERS};
use crate::domain::expert::{Expert, ExpertFilter, ExpertInput, MAX_FIELD_CHARS, NewExpert, UPDATABLE};

fn expert_to_proto(expert: Expert) -> pb::Expert {
    pb::Expert {
        id: expert.id,
        name: expert.fields.name,
        fields: expert.fields.fields,
        organisation: expert.fields.organisation,
        title: expert.fields.title,
        bio: expert.fields.bio,
        topic_ids: expert.topic_ids,
        active: expert.active,
        etag: etag(expert.version),
        create_time: Some(timestamp(expert.create_time)),
        update_time: Some(timestamp(expert.update_time)),
    }
}

fn parse_expert(expert: &pb::Expert) -> Result<NewExpert, ServiceError> {
    let input = ExpertInput {
        name: &expert.name,
        fields: &expert.fields,
        organisation: &expert.organisation,
        title: &expert.title,
        bio: &expert.bio,
    };
    NewExpert::parse(&input, "expert")
}

/// The topic and expert ids of an attach or detach request.
fn parse_link(topic_id: &str, expert_id: &str) -> Result<(String, String), ServiceError> {
    let mut v = Violations::new();
    let topic_id = v.check(parse_id(topic_id, "topic_id").map_err(first_violation));
    let expert_id = v.check(parse_id(expert_id, "expert_id").map_err(first_violation));
    v.finish()?;
    match (topic_id, expert_id) {
        (Some(t), Some(e)) => Ok((t, e)),
        _ => Err(ServiceError::internal("a checked field is missing")),
    }
}

impl ConsultationApi {
    #[tracing::instrument(skip_all, fields(expert.id))]
    pub(super) async fn create_expert_impl(
        &self,
        request: Request<pb::CreateExpertRequest>,
    ) -> Result<Response<pb::CreateExpertResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let raw = body.expert.ok_or_else(|| ServiceError::invalid("expert", "is required"))?;
        let new = parse_expert(&raw)?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let created = self.store.create_expert(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("expert.id", created.id.as_str());
        Ok(Response::new(pb::CreateExpertResponse { expert: Some(expert_to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_expert_impl(
        &self,
        request: Request<pb::GetExpertRequest>,
    ) -> Result<Response<pb::GetExpertResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let expert = self.store.get_expert(&id).await?;
        Ok(Response::new(pb::GetExpertResponse { expert: Some(expert_to_proto(expert)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_experts_impl(
        &self,
        request: Request<pb::ListExpertsRequest>,
    ) -> Result<Response<pb::ListExpertsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let mut filter = ExpertFilter { include_inactive: body.include_inactive, ..Default::default() };
        if !body.field.trim().is_empty() {
            filter.field = v.check(required_text(&body.field, MAX_FIELD_CHARS, "field"));
        }
        if !body.topic_id.trim().is_empty() {
            filter.topic_id = v.check(parse_id(&body.topic_id, "topic_id").map_err(first_violation));
        }
        v.finish()?;
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, "experts", &digest, 2)?;
        let page = self.store.list_experts(&filter, &page).await?;
        let next_page_token = page.next_token("experts", &digest);
        Ok(Response::new(pb::ListExpertsResponse {
            experts: page.items.into_iter().map(expert_to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(expert.id))]
    pub(super) async fn update_expert_impl(
        &self,
        request: Request<pb::UpdateExpertRequest>,
    ) -> Result<Response<pb::UpdateExpertResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let raw = body.expert.ok_or_else(|| ServiceError::invalid("expert", "is required"))?;
        let id = parse_id(&raw.id, "expert.id")?;
        tracing::Span::current().record("expert.id", id.as_str());
        let mask = body.update_mask.map(|m| m.paths).unwrap_or_default();
        let paths = parse_update_mask(&mask, UPDATABLE)?;
        let current = expert_to_proto(self.store.get_expert(&id).await?);
        // The fields not named in the mask keep their stored values; the whole is checked as one.
        let pick = |path: &str, given: &String, stored: &String| {
            if paths.contains(&path) { given.clone() } else { stored.clone() }
        };
        let merged = pb::Expert {
            name: pick("name", &raw.name, &current.name),
            fields: if paths.contains(&"fields") { raw.fields.clone() } else { current.fields.clone() },
            organisation: pick("organisation", &raw.organisation, &current.organisation),
            title: pick("title", &raw.title, &current.title),
            bio: pick("bio", &raw.bio, &current.bio),
            ..Default::default()
        };
        let new = parse_expert(&merged)?;
        let active = if paths.contains(&"active") { raw.active } else { current.active };
        let expert = self.store.update_expert(&id, &new, active, &paths, etag_version(&raw.etag)).await?;
        Ok(Response::new(pb::UpdateExpertResponse { expert: Some(expert_to_proto(expert)) }))
    }

    #[tracing::instrument(skip_all, fields(topic.id, expert.id))]
    pub(super) async fn attach_expert_impl(
        &self,
        request: Request<pb::AttachExpertRequest>,
    ) -> Result<Response<pb::AttachExpertResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.get_ref();
        let (topic_id, expert_id) = parse_link(&body.topic_id, &body.expert_id)?;
        tracing::Span::current().record("topic.id", topic_id.as_str()).record("expert.id", expert_id.as_str());
        let topic = self.store.attach_expert(&topic_id, &expert_id, &caller.subject).await?;
        Ok(Response::new(pb::AttachExpertResponse { topic: Some(topic_to_proto(topic)) }))
    }

    #[tracing::instrument(skip_all, fields(topic.id, expert.id))]
    pub(super) async fn detach_expert_impl(
        &self,
        request: Request<pb::DetachExpertRequest>,
    ) -> Result<Response<pb::DetachExpertResponse>, Status> {
        Caller::of(&request)?.require_any(&ORGANISERS)?;
        let body = request.get_ref();
        let (topic_id, expert_id) = parse_link(&body.topic_id, &body.expert_id)?;
        tracing::Span::current().record("topic.id", topic_id.as_str()).record("expert.id", expert_id.as_str());
        let topic = self.store.detach_expert(&topic_id, &expert_id).await?;
        Ok(Response::new(pb::DetachExpertResponse { topic: Some(topic_to_proto(topic)) }))
    }
}
