//! The API of special reports (专报) and leaders' instructions (批示).
//!
//! Staff compile and send reports; staff or the leader record an instruction; every reader of
//! consultation records reads them.

use chrono::Datelike;
use tingjian_proto::common::v1 as common;
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::etag_version;
use tingjian_runtime::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size};
use tingjian_runtime::time::china_date;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, period_range, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::{ConsultationApi, ORGANISERS, READERS};
use crate::domain::report::{Instruction, NewInstruction, NewReport, Report, ReportStatus, parse_leaders};
use crate::domain::suggestion::Person;

/// Roles that record a leader's instruction: staff, or the leader.
const INSTRUCTION_RECORDERS: [Role; 2] = [Role::Staff, Role::Leader];

pub(super) fn person_ref(p: &Person) -> common::PersonRef {
    common::PersonRef {
        id: p.id.clone(),
        display_name: p.display_name.clone(),
        title: p.title.clone(),
        organisation_id: p.organisation_id.clone(),
    }
}

/// A calendar date of the contract.
pub(super) fn date_of(d: chrono::NaiveDate) -> common::Date {
    common::Date {
        year: d.year(),
        month: i32::try_from(d.month()).unwrap_or_default(),
        day: i32::try_from(d.day()).unwrap_or_default(),
    }
}

fn instruction_to_proto(i: Instruction) -> pb::Instruction {
    pb::Instruction {
        leader: Some(person_ref(&i.leader)),
        instruction_date: Some(date_of(i.date)),
        id: i.id,
        text: i.text,
        recorded_by: i.recorded_by,
        record_time: Some(timestamp(i.record_time)),
    }
}

fn to_proto(r: Report) -> pb::SpecialReport {
    pb::SpecialReport {
        etag: etag(r.version),
        id: r.id,
        title: r.title,
        text: r.text,
        suggestion_ids: r.suggestion_ids,
        opinion_items: r.opinion_items,
        category: r.category,
        status: r.status.as_i32(),
        recipients: r.recipients.iter().map(person_ref).collect(),
        send_time: r.send_time.map(timestamp),
        instructions: r.instructions.into_iter().map(instruction_to_proto).collect(),
        case_id: r.case_id.unwrap_or_default(),
        created_by: r.created_by,
        create_time: Some(timestamp(r.create_time)),
        update_time: Some(timestamp(r.update_time)),
    }
}

impl ConsultationApi {
    #[tracing::instrument(skip_all, fields(special_report.id))]
    pub(super) async fn compile_special_report_impl(
        &self,
        request: Request<pb::CompileSpecialReportRequest>,
    ) -> Result<Response<pb::CompileSpecialReportResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let r = body.special_report.ok_or_else(|| ServiceError::invalid("special_report", "is required"))?;
        let new =
            NewReport::parse(&r.title, &r.text, &r.suggestion_ids, &r.opinion_items, &r.category, "special_report")?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let created = self.store.create_report(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("special_report.id", created.id.as_str());
        Ok(Response::new(pb::CompileSpecialReportResponse { special_report: Some(to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_special_report_impl(
        &self,
        request: Request<pb::GetSpecialReportRequest>,
    ) -> Result<Response<pb::GetSpecialReportResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let report = self.store.get_report(&id).await?;
        Ok(Response::new(pb::GetSpecialReportResponse { special_report: Some(to_proto(report)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_special_reports_impl(
        &self,
        request: Request<pb::ListSpecialReportsRequest>,
    ) -> Result<Response<pb::ListSpecialReportsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let mut statuses = Vec::new();
        for (i, raw) in body.statuses.iter().enumerate() {
            match ReportStatus::from_i32(*raw) {
                Some(status) if !statuses.contains(&status) => statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), "must be COMPILED, SENT or INSTRUCTED"),
            }
        }
        let sent = v.check(period_range(body.period.as_ref()));
        let size = v.check(page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
        v.finish()?;
        let size = size.unwrap_or(DEFAULT_PAGE_SIZE);
        let (reports, next_page_token) =
            self.store.list_reports(&statuses, sent.flatten(), size, &body.page_token).await?;
        Ok(Response::new(pb::ListSpecialReportsResponse {
            special_reports: reports.into_iter().map(to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(special_report.id))]
    pub(super) async fn send_special_report_impl(
        &self,
        request: Request<pb::SendSpecialReportRequest>,
    ) -> Result<Response<pb::SendSpecialReportResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let id = parse_id(&body.id, "id")?;
        tracing::Span::current().record("special_report.id", id.as_str());
        let raw: Vec<_> = body
            .leaders
            .iter()
            .map(|l| (l.id.clone(), l.display_name.clone(), l.title.clone(), l.organisation_id.clone()))
            .collect();
        let leaders = parse_leaders(&raw, "leaders")?;
        let sent = self.store.send_report(&id, &leaders, etag_version(&body.etag), &caller.subject).await?;
        Ok(Response::new(pb::SendSpecialReportResponse { special_report: Some(to_proto(sent)) }))
    }

    #[tracing::instrument(skip_all, fields(special_report.id))]
    pub(super) async fn record_instruction_impl(
        &self,
        request: Request<pb::RecordInstructionRequest>,
    ) -> Result<Response<pb::RecordInstructionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&INSTRUCTION_RECORDERS)?;
        let body = request.into_inner();
        let id = parse_id(&body.special_report_id, "special_report_id")?;
        tracing::Span::current().record("special_report.id", id.as_str());
        let instruction = body.instruction.ok_or_else(|| ServiceError::invalid("instruction", "is required"))?;
        let leader = instruction
            .leader
            .as_ref()
            .map(|l| Person::parse(&l.id, &l.display_name, &l.title, &l.organisation_id, "instruction.leader"));
        let date = instruction.instruction_date.as_ref().map(|d| (d.year, d.month, d.day));
        let new = NewInstruction::parse(
            leader,
            &instruction.text,
            date,
            china_date(tingjian_runtime::clock::now()),
            "instruction",
        )?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let report = self.store.record_instruction(&id, &new, request_id.as_deref(), &caller.subject).await?;
        Ok(Response::new(pb::RecordInstructionResponse { special_report: Some(to_proto(report)) }))
    }
}
