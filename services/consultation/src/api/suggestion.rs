//! The API of suggestions (协商建议清单) and the responses to them.
//!
//! Staff draft, edit, submit and record responses; every reader of consultation records reads them.

use tingjian_proto::common::v1 as common;
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::fields::{etag_version, parse_update_mask};
use tingjian_runtime::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size};
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, period_range, read_instant, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::{ConsultationApi, ORGANISERS, READERS};
use crate::domain::suggestion::{
    DraftInput, NewFeedback, NewSuggestion, Organisation, Recipient, SUGGESTION_UPDATE_FIELDS, Suggestion,
    SuggestionChanges, SuggestionDraft, SuggestionFilter, SuggestionStatus, category_code, common_issue_ids,
    suggestion_text, suggestion_title,
};

pub(super) fn organisation_ref(o: &Organisation) -> common::OrganisationRef {
    common::OrganisationRef { id: o.id.clone(), name: o.name.clone(), kind: o.kind }
}

fn to_proto(s: Suggestion) -> pb::Suggestion {
    pb::Suggestion {
        etag: etag(s.version),
        id: s.id,
        session_id: s.session_id.unwrap_or_default(),
        topic_id: s.topic_id,
        title: s.title,
        text: s.text,
        category: s.category,
        common_issue_ids: s.common_issue_ids,
        recipients: s.recipients.iter().map(|r| r.as_i32()).collect(),
        status: s.status.as_i32(),
        submit_time: s.submit_time.map(timestamp),
        feedback: s.feedback.map(|f| pb::SuggestionFeedback {
            text: f.text,
            responder: if f.responder == Organisation::default() { None } else { Some(organisation_ref(&f.responder)) },
            response_time: Some(timestamp(f.response_time)),
            recorded_by: f.recorded_by,
        }),
        case_id: s.case_id.unwrap_or_default(),
        created_by: s.created_by,
        create_time: Some(timestamp(s.create_time)),
        update_time: Some(timestamp(s.update_time)),
    }
}

/// An optional identifier filter: empty means none, otherwise a UUID (INVALID_ARGUMENT on `field`).
pub(super) fn optional_id(raw: &str, field: &str) -> Result<Option<String>, FieldViolation> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    parse_id(raw, field).map(Some).map_err(|_| FieldViolation::new(field, "must be an identifier (a UUID)"))
}

impl ConsultationApi {
    /// Checks that each common issue exists in intake (INVALID_ARGUMENT on `field[i]` otherwise).
    async fn check_common_issues(&self, md: &MetadataMap, ids: &[String], field: &str) -> Result<(), ServiceError> {
        let mut v = Violations::new();
        for (i, id) in ids.iter().enumerate() {
            if self.intake.common_issue(md, id).await?.is_none() {
                v.add(format!("{field}[{i}]"), format!("common issue {id} does not exist in intake"));
            }
        }
        v.finish()
    }

    /// A checked draft with its topic and common issues resolved: the session's topic (which a given
    /// topic_id must match), the topic's common issues unless some are named.
    async fn resolve_draft(&self, md: &MetadataMap, draft: &SuggestionDraft) -> Result<NewSuggestion, ServiceError> {
        let session_id = draft.session_id.clone();
        let topic_id = match &session_id {
            Some(session_id) => {
                let (topic_id, cancelled) = self.store.session_topic(session_id).await?.ok_or_else(|| {
                    ServiceError::invalid("suggestion.session_id", format!("session {session_id} does not exist"))
                })?;
                if cancelled {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "session {session_id} is CANCELLED: no suggestion can be drafted from it"
                    )));
                }
                if let Some(given) = &draft.topic_id
                    && *given != topic_id
                {
                    return Err(ServiceError::invalid(
                        "suggestion.topic_id",
                        format!("does not match the session's topic {topic_id}; leave it empty or give that topic"),
                    ));
                }
                topic_id
            }
            None => draft.topic_id.clone().ok_or_else(|| {
                ServiceError::invalid("suggestion.session_id", "either session_id or topic_id is required")
            })?,
        };
        let basis =
            self.store.topic_basis(&topic_id).await?.ok_or_else(|| {
                ServiceError::invalid("suggestion.topic_id", format!("topic {topic_id} does not exist"))
            })?;
        if basis.withdrawn() {
            return Err(ServiceError::FailedPrecondition(format!(
                "topic {topic_id} is WITHDRAWN: no suggestion can be drafted on it"
            )));
        }
        let common_issue_ids = if draft.common_issue_ids.is_empty() {
            basis.common_issue_ids
        } else {
            self.check_common_issues(md, &draft.common_issue_ids, "suggestion.common_issue_ids").await?;
            draft.common_issue_ids.clone()
        };
        Ok(NewSuggestion {
            session_id,
            topic_id,
            title: draft.title.clone(),
            text: draft.text.clone(),
            category: draft.category.clone(),
            common_issue_ids,
        })
    }

    #[tracing::instrument(skip_all, fields(suggestion.id))]
    pub(super) async fn draft_suggestion_impl(
        &self,
        request: Request<pb::DraftSuggestionRequest>,
    ) -> Result<Response<pb::DraftSuggestionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let s = body.suggestion.ok_or_else(|| ServiceError::invalid("suggestion", "is required"))?;
        let draft = SuggestionDraft::parse(
            &DraftInput {
                session_id: &s.session_id,
                topic_id: &s.topic_id,
                title: &s.title,
                text: &s.text,
                category: &s.category,
                common_issue_ids: &s.common_issue_ids,
            },
            "suggestion",
        )?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let fingerprint = draft.fingerprint(&caller.subject);
        if let Some(request_id) = request_id.as_deref()
            && let Some(existing) = self.store.suggestion_by_request(request_id, &fingerprint).await?
        {
            return Ok(Response::new(pb::DraftSuggestionResponse { suggestion: Some(to_proto(existing)) }));
        }
        let new = self.resolve_draft(&md, &draft).await?;
        let created = self.store.create_suggestion(&new, &fingerprint, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("suggestion.id", created.id.as_str());
        Ok(Response::new(pb::DraftSuggestionResponse { suggestion: Some(to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_suggestion_impl(
        &self,
        request: Request<pb::GetSuggestionRequest>,
    ) -> Result<Response<pb::GetSuggestionResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let suggestion = self.store.get_suggestion(&id).await?;
        Ok(Response::new(pb::GetSuggestionResponse { suggestion: Some(to_proto(suggestion)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_suggestions_impl(
        &self,
        request: Request<pb::ListSuggestionsRequest>,
    ) -> Result<Response<pb::ListSuggestionsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let session_id = v.check(optional_id(&body.session_id, "session_id"));
        let topic_id = v.check(optional_id(&body.topic_id, "topic_id"));
        let submitted = v.check(period_range(body.period.as_ref()));
        let mut statuses = Vec::new();
        for (i, raw) in body.statuses.iter().enumerate() {
            match SuggestionStatus::from_i32(*raw) {
                Some(status) if !statuses.contains(&status) => statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), "must be DRAFT, SUBMITTED or RESPONDED"),
            }
        }
        let size = v.check(page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
        v.finish()?;
        let filter = SuggestionFilter {
            session_id: session_id.flatten(),
            topic_id: topic_id.flatten(),
            submitted: submitted.flatten(),
            statuses,
        };
        let size = size.unwrap_or(DEFAULT_PAGE_SIZE);
        let (suggestions, next_page_token) = self.store.list_suggestions(&filter, size, &body.page_token).await?;
        Ok(Response::new(pb::ListSuggestionsResponse {
            suggestions: suggestions.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(suggestion.id))]
    pub(super) async fn update_suggestion_impl(
        &self,
        request: Request<pb::UpdateSuggestionRequest>,
    ) -> Result<Response<pb::UpdateSuggestionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let s = body.suggestion.ok_or_else(|| ServiceError::invalid("suggestion", "is required"))?;
        let id = parse_id(&s.id, "suggestion.id")?;
        tracing::Span::current().record("suggestion.id", id.as_str());
        let paths: Vec<String> = body
            .update_mask
            .map(|m| m.paths)
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.trim().strip_prefix("suggestion.").unwrap_or(p.trim()).to_owned())
            .collect();
        let paths = parse_update_mask(&paths, &SUGGESTION_UPDATE_FIELDS)?;
        let mut v = Violations::new();
        let mut changes = SuggestionChanges::default();
        for path in paths {
            match path {
                "title" => changes.title = v.check(suggestion_title(&s.title, "suggestion.title")),
                "text" => changes.text = v.check(suggestion_text(&s.text, "suggestion.text")),
                "category" => changes.category = v.check(category_code(&s.category, "suggestion.category")),
                _ => match common_issue_ids(&s.common_issue_ids, "suggestion.common_issue_ids") {
                    Ok(ids) => changes.common_issue_ids = Some(ids),
                    Err(ServiceError::InvalidArgument(violations)) => {
                        violations.into_iter().for_each(|x| v.add(x.field, x.description));
                    }
                    Err(other) => return Err(other.into()),
                },
            }
        }
        v.finish()?;
        if let Some(ids) = &changes.common_issue_ids {
            self.check_common_issues(&md, ids, "suggestion.common_issue_ids").await?;
        }
        let updated = self.store.update_suggestion(&id, &changes, etag_version(&s.etag)).await?;
        Ok(Response::new(pb::UpdateSuggestionResponse { suggestion: Some(to_proto(updated)) }))
    }

    #[tracing::instrument(skip_all, fields(suggestion.id))]
    pub(super) async fn submit_suggestion_impl(
        &self,
        request: Request<pb::SubmitSuggestionRequest>,
    ) -> Result<Response<pb::SubmitSuggestionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = match parse_id(&body.id, "id") {
            Ok(id) => Some(id),
            Err(_) => {
                v.add("id", "must be an identifier returned by the service (a UUID)");
                None
            }
        };
        let recipients = match Recipient::parse_list(&body.recipients, "recipients") {
            Ok(r) => Some(r),
            Err(ServiceError::InvalidArgument(violations)) => {
                violations.into_iter().for_each(|x| v.add(x.field, x.description));
                None
            }
            Err(other) => return Err(other.into()),
        };
        v.finish()?;
        let (Some(id), Some(recipients)) = (id, recipients) else {
            return Err(ServiceError::internal("a checked field is missing without a violation").into());
        };
        tracing::Span::current().record("suggestion.id", id.as_str());
        let submitted =
            self.store.submit_suggestion(&id, &recipients, etag_version(&body.etag), &caller.subject).await?;
        Ok(Response::new(pb::SubmitSuggestionResponse { suggestion: Some(to_proto(submitted)) }))
    }

    #[tracing::instrument(skip_all, fields(suggestion.id))]
    pub(super) async fn record_suggestion_feedback_impl(
        &self,
        request: Request<pb::RecordSuggestionFeedbackRequest>,
    ) -> Result<Response<pb::RecordSuggestionFeedbackResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let id = parse_id(&body.id, "id")?;
        tracing::Span::current().record("suggestion.id", id.as_str());
        let feedback = body.feedback.ok_or_else(|| ServiceError::invalid("feedback", "is required"))?;
        let mut v = Violations::new();
        let responder = match &feedback.responder {
            None => Some(None),
            Some(r) => match Organisation::parse(&r.id, &r.name, r.kind, false, false, "feedback.responder") {
                Ok(o) => Some(Some(o)),
                Err(ServiceError::InvalidArgument(violations)) => {
                    violations.into_iter().for_each(|x| v.add(x.field, x.description));
                    None
                }
                Err(other) => return Err(other.into()),
            },
        };
        let response_time = v.check(read_instant(feedback.response_time.as_ref(), "feedback.response_time"));
        v.finish()?;
        let new = NewFeedback::parse(
            &feedback.text,
            responder.flatten(),
            response_time.flatten(),
            tingjian_runtime::clock::now(),
            "feedback",
        )?;
        let responded =
            self.store.record_suggestion_feedback(&id, &new, etag_version(&body.etag), &caller.subject).await?;
        Ok(Response::new(pb::RecordSuggestionFeedbackResponse { suggestion: Some(to_proto(responded)) }))
    }
}
