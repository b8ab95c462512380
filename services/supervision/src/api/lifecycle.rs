//! The lifecycle verbs of the supervision API (办理流程): UpdateCase, AcceptCase, ReturnCase,
//! ReassignCase, RecordProgress, ReplyToCase, EvaluateCase, CloseCase and EscalateCase.
//!
//! Each checks its input (INVALID_ARGUMENT naming the field), then the store locks the case and checks
//! who calls (the lead unit's officers accept, return, record progress and reply; staff and supervisors
//! update, reassign, close and escalate; the case's evaluator, or staff on their behalf, evaluates), the
//! etag (ABORTED when stale) and the status (FAILED_PRECONDITION naming it). A caller who may not see the
//! case gets NOT_FOUND.

use chrono::SubsecRound as _;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::error::{Violations, checked, gather};
use tingjian_runtime::fields::{etag_version, parse_update_mask, required_text};
use tingjian_runtime::wire::{parse_id, read_instant};
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use super::SupervisionApi;
use super::benefit::benefit_drafts;
use crate::convert;
use crate::domain::lifecycle::{
    CaseChanges, EvaluationInput, MAX_NOTE_CHARS, MAX_PROGRESS_CHARS, ReassignDraft, ReplyInput, UPDATE_FIELDS, Verb,
    optional_reason, reason,
};
use crate::domain::{MAX_CODE_CHARS, MAX_NAME_CHARS, Person, Unit};

/// A unit as the request names it.
fn unit(u: tingjian_proto::common::v1::OrganisationRef) -> Unit {
    Unit { id: u.id, name: u.name, kind: u.kind }
}

/// A person as the request names them.
fn person(p: tingjian_proto::common::v1::PersonRef) -> Person {
    Person { id: p.id, display_name: p.display_name, title: p.title, organisation_id: p.organisation_id }
}

/// The caller of `request`, allowed to call `verb` at all (PERMISSION_DENIED otherwise).
fn gated<T>(request: &Request<T>, verb: Verb) -> Result<Caller, Status> {
    let caller = Caller::of(request)?.clone();
    verb.gate(&caller)?;
    Ok(caller)
}

impl SupervisionApi {
    /// The case as the contract's message, `overdue` as of now.
    fn wire(&self, case: &crate::domain::Case) -> Option<pb::Case> {
        Some(convert::case(case, self.store.now()))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn update_case_impl(
        &self,
        request: Request<pb::UpdateCaseRequest>,
    ) -> Result<Response<pb::UpdateCaseResponse>, Status> {
        let caller = gated(&request, Verb::Update)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let Some(raw) = body.case else {
            return Err(ServiceError::invalid("case", "is required: the case with its id and the new values").into());
        };
        let id = gather(&mut v, parse_id(&raw.id, "case.id"))?;
        let paths = body.update_mask.map(|m| m.paths).unwrap_or_default();
        let fields = gather(&mut v, parse_update_mask(&paths, UPDATE_FIELDS))?;
        let why = v.check(reason(&body.reason, "reason"));
        let deadline_time = v.check(read_instant(raw.deadline_time.as_ref(), "case.deadline_time")).flatten();
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let changes = CaseChanges {
            fields: checked(fields)?,
            title: raw.title,
            description: raw.description,
            co_units: raw.co_units.into_iter().map(unit).collect(),
            responsible_head: raw.responsible_head.map(person),
            deadline_time: deadline_time.map(|t| t.trunc_subsecs(6)),
            planned_completion_date: raw.planned_completion_date.map(|d| (d.year, d.month, d.day)),
            joint_supervision: raw.joint_supervision,
            discipline_inspection: raw.discipline_inspection,
            requirements: raw.requirements,
            evaluator_id: raw.evaluator_id,
        };
        let case = self.store.update_case(&id, etag_version(&raw.etag), &changes, &checked(why)?, &caller).await?;
        Ok(Response::new(pb::UpdateCaseResponse { case: self.wire(&case) }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn accept_case_impl(
        &self,
        request: Request<pb::AcceptCaseRequest>,
    ) -> Result<Response<pb::AcceptCaseResponse>, Status> {
        let caller = gated(&request, Verb::Accept)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let note = v.check(tingjian_runtime::fields::optional_text(&body.note, MAX_NOTE_CHARS, "note"));
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let case = self.store.accept_case(&id, etag_version(&body.etag), &checked(note)?, &caller).await?;
        Ok(Response::new(pb::AcceptCaseResponse { case: self.wire(&case) }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn return_case_impl(
        &self,
        request: Request<pb::ReturnCaseRequest>,
    ) -> Result<Response<pb::ReturnCaseResponse>, Status> {
        let caller = gated(&request, Verb::Return)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let why = v.check(reason(&body.reason, "reason"));
        let suggested = body.suggested_unit.map(|u| {
            let id = v.check(required_text(&u.id, MAX_CODE_CHARS, "suggested_unit.id")).unwrap_or_default();
            let name = v
                .check(tingjian_runtime::fields::optional_text(&u.name, MAX_NAME_CHARS, "suggested_unit.name"))
                .unwrap_or_default();
            Unit { id, name, kind: u.kind }
        });
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let case =
            self.store.return_case(&id, etag_version(&body.etag), &checked(why)?, suggested.as_ref(), &caller).await?;
        Ok(Response::new(pb::ReturnCaseResponse { case: self.wire(&case) }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn reassign_case_impl(
        &self,
        request: Request<pb::ReassignCaseRequest>,
    ) -> Result<Response<pb::ReassignCaseResponse>, Status> {
        let caller = gated(&request, Verb::Reassign)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let deadline_time = v.check(read_instant(body.deadline_time.as_ref(), "deadline_time")).flatten();
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let draft = ReassignDraft {
            lead_unit: body.lead_unit.map(unit),
            co_units: body.co_units.into_iter().map(unit).collect(),
            responsible_head: body.responsible_head.map(person),
            deadline_time: deadline_time.map(|t| t.trunc_subsecs(6)),
            deadline_working_days: body.deadline_working_days,
            reason: body.reason,
        };
        let case = self.store.reassign_case(&id, etag_version(&body.etag), &draft, &caller).await?;
        Ok(Response::new(pb::ReassignCaseResponse { case: self.wire(&case) }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn record_progress_impl(
        &self,
        request: Request<pb::RecordProgressRequest>,
    ) -> Result<Response<pb::RecordProgressResponse>, Status> {
        let caller = gated(&request, Verb::RecordProgress)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let text = v.check(required_text(&body.text, MAX_PROGRESS_CHARS, "text"));
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let case = self.store.record_progress(&id, etag_version(&body.etag), &checked(text)?, &caller).await?;
        Ok(Response::new(pb::RecordProgressResponse { case: self.wire(&case) }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn reply_to_case_impl(
        &self,
        request: Request<pb::ReplyToCaseRequest>,
    ) -> Result<Response<pb::ReplyToCaseResponse>, Status> {
        let caller = gated(&request, Verb::Reply)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let reply = body.reply.unwrap_or_default();
        let input = ReplyInput::parse(reply.result_class, &reply.text, &reply.reason, &mut v);
        let benefits = benefit_drafts(&body.benefits, &mut v)?;
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let (case, benefits) =
            self.store.reply_to_case(&id, etag_version(&body.etag), &checked(input)?, &benefits, &caller).await?;
        Ok(Response::new(pb::ReplyToCaseResponse { case: self.wire(&case), benefits }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn evaluate_case_impl(
        &self,
        request: Request<pb::EvaluateCaseRequest>,
    ) -> Result<Response<pb::EvaluateCaseResponse>, Status> {
        let caller = gated(&request, Verb::Evaluate)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let evaluation = body.evaluation.unwrap_or_default();
        let input = EvaluationInput::parse(evaluation.result, &evaluation.comment, &mut v);
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let done = self.store.evaluate_case(&id, etag_version(&body.etag), &checked(input)?, &caller).await?;
        Ok(Response::new(pb::EvaluateCaseResponse {
            case: self.wire(&done.case),
            reopened: done.reopened,
            escalated: done.escalated,
        }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn close_case_impl(
        &self,
        request: Request<pb::CloseCaseRequest>,
    ) -> Result<Response<pb::CloseCaseResponse>, Status> {
        let caller = gated(&request, Verb::Close)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let why = v.check(optional_reason(&body.reason, "reason"));
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let case = self.store.close_case(&id, etag_version(&body.etag), &checked(why)?, &caller).await?;
        Ok(Response::new(pb::CloseCaseResponse { case: self.wire(&case) }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn escalate_case_impl(
        &self,
        request: Request<pb::EscalateCaseRequest>,
    ) -> Result<Response<pb::EscalateCaseResponse>, Status> {
        let caller = gated(&request, Verb::Escalate)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let why = v.check(reason(&body.reason, "reason"));
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("case.id", id.as_str());
        let (case, escalation) =
            self.store.escalate_case(&id, etag_version(&body.etag), &checked(why)?, &caller).await?;
        Ok(Response::new(pb::EscalateCaseResponse { case: self.wire(&case), escalation: Some(escalation) }))
    }
}
