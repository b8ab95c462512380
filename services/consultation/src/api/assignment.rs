//! The API of assignment (交办) of suggestions and special reports to supervision.
//!
//! Staff assign a submitted suggestion or a sent report: supervision's CreateCase is called on their
//! behalf with a request id derived from the source, so a retry after any failure finds the case the
//! first attempt made; then the assignment, the case id on the source and the AssignedToSupervision
//! event are stored together. A source already assigned returns its assignment and creates nothing;
//! the source, not the request's request_id (checked, then not needed), is what makes the call
//! idempotent.

use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::supervision::v1 as supervision;
use tingjian_runtime::error::{Violations, gather};
use tingjian_runtime::fields::optional_text;
use tingjian_runtime::time::china_date;
use tingjian_runtime::wire::{parse_id, parse_request_id, read_instant, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use super::report::{date_of, person_ref};
use super::suggestion::organisation_ref;
use super::{ConsultationApi, ORGANISERS};
use crate::domain::report::{
    AssignableSource, Assignment, AssignmentOrder, Deadline, MAX_CO_UNITS, MAX_REQUIREMENTS_CHARS, SourceKind,
    calendar_date, planned_completion,
};
use crate::domain::suggestion::{Organisation, Person};

fn to_proto(a: Assignment) -> pb::Assignment {
    pb::Assignment {
        source_kind: a.kind.as_i32(),
        source_id: a.source_id,
        case_id: a.case_id,
        lead_unit: Some(organisation_ref(&a.lead_unit)),
        assigned_by: a.assigned_by,
        assign_time: Some(timestamp(a.assign_time)),
    }
}

/// Checks every field of an AssignToSupervision request.
fn parse_order(body: &pb::AssignToSupervisionRequest) -> Result<AssignmentOrder, ServiceError> {
    let now = tingjian_runtime::clock::now();
    let mut v = Violations::new();
    let kind = SourceKind::from_i32(body.source_kind);
    if kind.is_none() {
        v.add("source_kind", "must be SUGGESTION or SPECIAL_REPORT");
    }
    let source_id = gather(&mut v, parse_id(&body.source_id, "source_id"))?;
    let lead_unit = match &body.lead_unit {
        None => {
            v.add("lead_unit", "is required");
            None
        }
        Some(u) => gather(&mut v, Organisation::parse(&u.id, &u.name, u.kind, true, true, "lead_unit"))?,
    };
    if body.co_units.len() > MAX_CO_UNITS {
        v.add("co_units", format!("at most {MAX_CO_UNITS} co-units are allowed"));
    }
    let mut co_units: Vec<Organisation> = Vec::new();
    for (i, u) in body.co_units.iter().enumerate() {
        let field = format!("co_units[{i}]");
        if let Some(unit) = gather(&mut v, Organisation::parse(&u.id, &u.name, u.kind, true, false, &field))? {
            if lead_unit.as_ref().is_some_and(|lead| lead.id == unit.id) {
                v.add(format!("{field}.id"), "is the lead unit; a unit cannot also be its own co-unit");
            } else if !co_units.iter().any(|c| c.id == unit.id) {
                co_units.push(unit);
            }
        }
    }
    let responsible_head = match &body.responsible_head {
        None => {
            v.add("responsible_head", "is required");
            None
        }
        Some(p) => {
            gather(&mut v, Person::parse(&p.id, &p.display_name, &p.title, &p.organisation_id, "responsible_head"))?
        }
    };
    let deadline_time = v.check(read_instant(body.deadline_time.as_ref(), "deadline_time")).flatten();
    let deadline = v.check(Deadline::parse(deadline_time, body.deadline_working_days, now));
    let planned_completion_date = match &body.planned_completion_date {
        None => Some(None),
        Some(d) => v
            .check(
                calendar_date(d.year, d.month, d.day, "planned_completion_date")
                    .and_then(|date| planned_completion(date, china_date(now), "planned_completion_date")),
            )
            .map(Some),
    };
    let requirements = v.check(optional_text(&body.requirements, MAX_REQUIREMENTS_CHARS, "requirements"));
    gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
    v.finish()?;
    match (kind, source_id, lead_unit, responsible_head, deadline, planned_completion_date, requirements) {
        (
            Some(kind),
            Some(source_id),
            Some(lead_unit),
            Some(responsible_head),
            Some(deadline),
            Some(planned_completion_date),
            Some(requirements),
        ) => Ok(AssignmentOrder {
            kind,
            source_id,
            lead_unit,
            co_units,
            responsible_head,
            deadline,
            planned_completion_date,
            joint_supervision: body.joint_supervision,
            discipline_inspection: body.discipline_inspection,
            requirements,
        }),
        _ => Err(ServiceError::internal("a checked field is missing without a violation")),
    }
}

/// The CreateCase request of `order` for `source`.
fn case_request(order: &AssignmentOrder, source: &AssignableSource) -> supervision::CreateCaseRequest {
    let (deadline_time, deadline_working_days) = match order.deadline {
        Deadline::At(t) => (Some(timestamp(t)), 0),
        Deadline::WorkingDays(n) => (None, n),
    };
    let source_kind = match order.kind {
        SourceKind::Suggestion => supervision::CaseSourceKind::Suggestion,
        SourceKind::SpecialReport => supervision::CaseSourceKind::SpecialReport,
    };
    supervision::CreateCaseRequest {
        case: Some(supervision::Case {
            title: source.title.clone(),
            description: source.description(),
            source: Some(supervision::CaseSource {
                kind: source_kind as i32,
                source_id: order.source_id.clone(),
                source_title: source.title.clone(),
            }),
            lead_unit: Some(organisation_ref(&order.lead_unit)),
            co_units: order.co_units.iter().map(organisation_ref).collect(),
            responsible_head: Some(person_ref(&order.responsible_head)),
            deadline_time,
            planned_completion_date: order.planned_completion_date.map(date_of),
            joint_supervision: order.joint_supervision,
            discipline_inspection: order.discipline_inspection,
            requirements: order.requirements.clone(),
            evaluator_id: source.created_by.clone(),
            category: source.category.clone(),
            ..Default::default()
        }),
        request_id: order.kind.case_request_id(&order.source_id),
        deadline_working_days,
    }
}

impl ConsultationApi {
    #[tracing::instrument(skip_all, fields(source.id, case.id))]
    pub(super) async fn assign_to_supervision_impl(
        &self,
        request: Request<pb::AssignToSupervisionRequest>,
    ) -> Result<Response<pb::AssignToSupervisionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let order = parse_order(request.get_ref())?;
        tracing::Span::current().record("source.id", order.source_id.as_str());
        if let Some(existing) = self.store.assignment(order.kind, &order.source_id).await? {
            return Ok(Response::new(pb::AssignToSupervisionResponse {
                assignment: Some(to_proto(existing)),
                newly_created: false,
            }));
        }
        let source = self.store.assignable_source(order.kind, &order.source_id).await?;
        let created = self.supervision.create_case(&md, case_request(&order, &source)).await?;
        let case = created
            .case
            .filter(|c| !c.id.is_empty())
            .ok_or_else(|| ServiceError::internal("supervision answered CreateCase without a case id"))?;
        tracing::Span::current().record("case.id", case.id.as_str());
        // The case found for the source may predate this call (a retry, a concurrent call): its own lead
        // unit is the one recorded.
        let lead_unit = case
            .lead_unit
            .map(|u| Organisation { id: u.id, name: u.name, kind: u.kind })
            .unwrap_or_else(|| order.lead_unit.clone());
        let (assignment, newly_created) =
            self.store.record_assignment(order.kind, &order.source_id, &case.id, &lead_unit, &caller.subject).await?;
        Ok(Response::new(pb::AssignToSupervisionResponse { assignment: Some(to_proto(assignment)), newly_created }))
    }
}
