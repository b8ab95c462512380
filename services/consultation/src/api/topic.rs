//! The API of consultation topics (议题): drawn from intake common issues, each confirmed with intake on
//! behalf of the caller; adopted into the plan or withdrawn.
//!
//! Who may do what: staff write; staff, members, leaders, supervisors and analysts read.

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{etag_version, parse_update_mask};
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::{ConsultationApi, ORGANISERS, READERS};
use crate::domain::topic::{
    Format, NewTopic, StakeholderKind, Topic, TopicFilter, TopicInput, TopicStatus, UPDATABLE, parse_reason,
};

/// A topic as the contract writes it.
pub(super) fn topic_to_proto(topic: Topic) -> pb::Topic {
    let fields = topic.fields;
    pb::Topic {
        id: topic.id,
        plan_id: fields.plan_id,
        title: fields.title,
        background: fields.background,
        common_issue_ids: fields.common_issues.into_iter().map(|c| c.common_issue_id).collect(),
        leader: Some(tingjian_proto::common::v1::PersonRef {
            id: fields.leader.id,
            display_name: fields.leader.display_name,
            title: fields.leader.title,
            organisation_id: fields.leader.organisation_id,
        }),
        format: fields.format.as_i32(),
        stakeholders: fields
            .stakeholders
            .into_iter()
            .map(|s| pb::Stakeholder { kind: s.kind.as_i32(), code: s.code, name: s.name })
            .collect(),
        status: topic.status.as_i32(),
        expert_ids: topic.expert_ids,
        lead_committee: fields.lead_committee,
        session_ids: topic.session_ids,
        status_reason: topic.status_reason,
        etag: etag(topic.version),
        created_by: topic.created_by,
        create_time: Some(timestamp(topic.create_time)),
        update_time: Some(timestamp(topic.update_time)),
    }
}

/// Parses a topic message's fields under `prefix`.
fn parse_topic(topic: &pb::Topic, prefix: &str) -> Result<NewTopic, ServiceError> {
    let stakeholders: Vec<(i32, &str, &str)> =
        topic.stakeholders.iter().map(|s| (s.kind, s.code.as_str(), s.name.as_str())).collect();
    let input = TopicInput {
        plan_id: &topic.plan_id,
        title: &topic.title,
        background: &topic.background,
        common_issue_ids: &topic.common_issue_ids,
        leader: topic
            .leader
            .as_ref()
            .map(|l| (l.id.as_str(), l.display_name.as_str(), l.title.as_str(), l.organisation_id.as_str())),
        format: topic.format,
        stakeholders: &stakeholders,
        lead_committee: &topic.lead_committee,
    };
    NewTopic::parse(&input, prefix)
}

/// The index in `raw` of the entry that names `id`.
fn index_of(raw: impl IntoIterator<Item = impl AsRef<str>>, id: &str) -> usize {
    raw.into_iter().position(|r| parse_id(r.as_ref(), "").is_ok_and(|p| p == id)).unwrap_or(0)
}

impl ConsultationApi {
    /// Confirms with intake, on behalf of the caller, the common issues a topic is drawn from (copying
    /// their titles) and the enterprises it names as stakeholders (filling in their names); an unknown
    /// one is INVALID_ARGUMENT on the field that names it (`raw` is the topic as the request gave it).
    async fn resolve_references(
        &self,
        md: &MetadataMap,
        new: &mut NewTopic,
        raw: &pb::Topic,
        resolve_issues: bool,
        resolve_stakeholders: bool,
    ) -> Result<(), ServiceError> {
        let mut v = Violations::new();
        if resolve_issues {
            for issue in &mut new.common_issues {
                match self.intake.common_issue(md, &issue.common_issue_id).await? {
                    Some(found) => issue.title = found.title,
                    None => {
                        let i = index_of(&raw.common_issue_ids, &issue.common_issue_id);
                        v.add(
                            format!("topic.common_issue_ids[{i}]"),
                            format!("common issue {} is not known to intake", issue.common_issue_id),
                        );
                    }
                }
            }
        }
        if resolve_stakeholders {
            for stakeholder in &mut new.stakeholders {
                if stakeholder.kind != StakeholderKind::Enterprise {
                    continue;
                }
                match self.intake.enterprise(md, &stakeholder.code).await? {
                    Some(found) if stakeholder.name.is_empty() => stakeholder.name = found.name,
                    Some(_) => {}
                    None => {
                        let i = raw
                            .stakeholders
                            .iter()
                            .position(|s| {
                                s.kind == StakeholderKind::Enterprise.as_i32()
                                    && parse_id(&s.code, "").is_ok_and(|p| p == stakeholder.code)
                            })
                            .unwrap_or(0);
                        v.add(
                            format!("topic.stakeholders[{i}].code"),
                            format!("enterprise {} is not known to intake", stakeholder.code),
                        );
                    }
                }
            }
        }
        v.finish()
    }

    #[tracing::instrument(skip_all, fields(topic.id))]
    pub(super) async fn create_topic_impl(
        &self,
        request: Request<pb::CreateTopicRequest>,
    ) -> Result<Response<pb::CreateTopicResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let raw = body.topic.ok_or_else(|| ServiceError::invalid("topic", "is required"))?;
        let mut new = parse_topic(&raw, "topic")?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        match self.store.get_plan(&new.plan_id).await {
            Ok(_) => {}
            Err(ServiceError::NotFound { .. }) => {
                return Err(
                    ServiceError::invalid("topic.plan_id", format!("plan {} does not exist", new.plan_id)).into()
                );
            }
            Err(e) => return Err(e.into()),
        }
        self.resolve_references(&md, &mut new, &raw, true, true).await?;
        let created = self.store.create_topic(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("topic.id", created.id.as_str());
        Ok(Response::new(pb::CreateTopicResponse { topic: Some(topic_to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_topic_impl(
        &self,
        request: Request<pb::GetTopicRequest>,
    ) -> Result<Response<pb::GetTopicResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let topic = self.store.get_topic(&id).await?;
        Ok(Response::new(pb::GetTopicResponse { topic: Some(topic_to_proto(topic)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_topics_impl(
        &self,
        request: Request<pb::ListTopicsRequest>,
    ) -> Result<Response<pb::ListTopicsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let mut filter = TopicFilter::default();
        if !body.plan_id.trim().is_empty() {
            filter.plan_id = v.check(parse_id(&body.plan_id, "plan_id").map_err(first_violation));
        }
        for (i, raw) in body.statuses.iter().enumerate() {
            match TopicStatus::from_i32(*raw) {
                Some(status) if !filter.statuses.contains(&status) => filter.statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), "must be PROPOSED, ADOPTED or WITHDRAWN"),
            }
        }
        if body.format != 0 {
            filter.format = Format::from_i32(body.format);
            if filter.format.is_none() {
                v.add("format", "must be FACE_TO_FACE, INTERACTIVE or ONLINE");
            }
        }
        if !body.common_issue_id.trim().is_empty() {
            filter.common_issue_id =
                v.check(parse_id(&body.common_issue_id, "common_issue_id").map_err(first_violation));
        }
        v.finish()?;
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, "topics", &digest, 2)?;
        let page = self.store.list_topics(&filter, &page).await?;
        let next_page_token = page.next_token("topics", &digest);
        Ok(Response::new(pb::ListTopicsResponse {
            topics: page.items.into_iter().map(topic_to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(topic.id))]
    pub(super) async fn update_topic_impl(
        &self,
        request: Request<pb::UpdateTopicRequest>,
    ) -> Result<Response<pb::UpdateTopicResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let raw = body.topic.ok_or_else(|| ServiceError::invalid("topic", "is required"))?;
        let id = parse_id(&raw.id, "topic.id")?;
        tracing::Span::current().record("topic.id", id.as_str());
        let mask = body.update_mask.map(|m| m.paths).unwrap_or_default();
        let paths = parse_update_mask(&mask, UPDATABLE)?;
        let current = self.store.get_topic(&id).await?;
        current.status.check_open(&id)?;
        // The fields not named in the mask keep their stored values; the whole is checked as one.
        let stored = topic_to_proto(current.clone());
        let merged = pb::Topic {
            plan_id: stored.plan_id.clone(),
            title: if paths.contains(&"title") { raw.title.clone() } else { stored.title },
            background: if paths.contains(&"background") { raw.background.clone() } else { stored.background },
            common_issue_ids: if paths.contains(&"common_issue_ids") {
                raw.common_issue_ids.clone()
            } else {
                stored.common_issue_ids
            },
            leader: if paths.contains(&"leader") { raw.leader.clone() } else { stored.leader },
            format: if paths.contains(&"format") { raw.format } else { stored.format },
            stakeholders: if paths.contains(&"stakeholders") { raw.stakeholders.clone() } else { stored.stakeholders },
            lead_committee: if paths.contains(&"lead_committee") {
                raw.lead_committee.clone()
            } else {
                stored.lead_committee
            },
            ..Default::default()
        };
        let mut new = parse_topic(&merged, "topic")?;
        if !paths.contains(&"common_issue_ids") {
            new.common_issues = current.fields.common_issues.clone();
        }
        self.resolve_references(
            &md,
            &mut new,
            &merged,
            paths.contains(&"common_issue_ids"),
            paths.contains(&"stakeholders"),
        )
        .await?;
        let topic = self.store.update_topic(&id, &new, &paths, etag_version(&raw.etag)).await?;
        Ok(Response::new(pb::UpdateTopicResponse { topic: Some(topic_to_proto(topic)) }))
    }

    #[tracing::instrument(skip_all, fields(topic.id))]
    pub(super) async fn adopt_topic_impl(
        &self,
        request: Request<pb::AdoptTopicRequest>,
    ) -> Result<Response<pb::AdoptTopicResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let id = parse_id(&body.id, "id")?;
        tracing::Span::current().record("topic.id", id.as_str());
        let topic = self.store.adopt_topic(&id, etag_version(&body.etag), &caller.subject).await?;
        Ok(Response::new(pb::AdoptTopicResponse { topic: Some(topic_to_proto(topic)) }))
    }

    #[tracing::instrument(skip_all, fields(topic.id))]
    pub(super) async fn withdraw_topic_impl(
        &self,
        request: Request<pb::WithdrawTopicRequest>,
    ) -> Result<Response<pb::WithdrawTopicResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = v.check(parse_id(&body.id, "id").map_err(first_violation));
        let reason = v.check(parse_reason(&body.reason, "reason").map_err(first_violation));
        v.finish()?;
        let (Some(id), Some(reason)) = (id, reason) else {
            return Err(ServiceError::internal("a checked field is missing").into());
        };
        tracing::Span::current().record("topic.id", id.as_str());
        let topic = self.store.withdraw_topic(&id, &reason, etag_version(&body.etag), &caller.subject).await?;
        Ok(Response::new(pb::WithdrawTopicResponse { topic: Some(topic_to_proto(topic)) }))
    }
}

/// The first field violation of an INVALID_ARGUMENT (to gather several checks into one answer).
pub(super) fn first_violation(error: ServiceError) -> tingjian_runtime::FieldViolation {
    match error {
        ServiceError::InvalidArgument(mut v) if !v.is_empty() => v.remove(0),
        other => tingjian_runtime::FieldViolation::new("request", other.to_string()),
    }
}
