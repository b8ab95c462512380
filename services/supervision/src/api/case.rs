//! The case part of the supervision API (交办单): creating and dispatching a case, reading one, listing
//! them with their filters, and a case's history.
//!
//! Who may do what: staff and supervisors create cases from any source, discipline inspection from its
//! own referrals. Staff, supervisors, leaders and analysts read every case; a handling unit reads the
//! cases it leads or co-handles; discipline inspection reads the cases flagged for it or escalated to it.
//! A case outside the caller's scope is NOT_FOUND, as if it did not exist.

use chrono::SubsecRound as _;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::error::{Violations, gather};
use tingjian_runtime::fields::optional_text;
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{parse_id, parse_request_id, period_range, read_instant};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::SupervisionApi;
use crate::convert;
use crate::domain::{
    Case, CaseDraft, CaseFilter, CaseStatus, MAX_CODE_CHARS, MAX_REQUEST_ID_CHARS, NewCase, Person, Scope, SourceKind,
    Unit,
};
use crate::store::Actor;

/// Roles that create cases from any source.
const CREATORS: [Role; 2] = [Role::Staff, Role::Supervisor];
/// Roles that read every case.
const READERS: [Role; 4] = [Role::Staff, Role::Supervisor, Role::Leader, Role::Analyst];
/// Page-token name of ListCases.
const CASES_LIST: &str = "cases";
/// Page-token name of ListCaseHistory.
const HISTORY_LIST: &str = "case_history";

/// Which cases `caller` may see — and so their warnings, escalations, follow-ups and compliance — or
/// PERMISSION_DENIED.
pub(super) fn scope_of(caller: &Caller) -> Result<Scope, ServiceError> {
    if READERS.iter().any(|r| caller.has(*r)) {
        Ok(Scope::All)
    } else if caller.has(Role::HandlingUnit) {
        Ok(Scope::Unit(caller.organisation.clone()))
    } else if caller.has(Role::DisciplineInspection) {
        Ok(Scope::DisciplineInspection)
    } else {
        let mut roles: Vec<Role> = READERS.to_vec();
        roles.extend([Role::HandlingUnit, Role::DisciplineInspection]);
        caller.require_any(&roles).map(|()| Scope::All)
    }
}

fn missing() -> ServiceError {
    ServiceError::internal("a checked field is missing without a violation")
}

fn draft_of(raw: pb::Case, deadline_working_days: i32, v: &mut Violations) -> CaseDraft {
    let unit = |u: tingjian_proto::common::v1::OrganisationRef| Unit { id: u.id, name: u.name, kind: u.kind };
    // Kept at the precision both backends store, so what is answered now is what is read later.
    let deadline_time =
        v.check(read_instant(raw.deadline_time.as_ref(), "case.deadline_time")).flatten().map(|t| t.trunc_subsecs(6));
    CaseDraft {
        title: raw.title,
        description: raw.description,
        source: raw.source.map(|s| (s.kind, s.source_id, s.source_title)),
        lead_unit: raw.lead_unit.map(unit),
        co_units: raw.co_units.into_iter().map(unit).collect(),
        responsible_head: raw.responsible_head.map(|p| Person {
            id: p.id,
            display_name: p.display_name,
            title: p.title,
            organisation_id: p.organisation_id,
        }),
        deadline_time,
        deadline_working_days,
        planned_completion_date: raw.planned_completion_date.map(|d| (d.year, d.month, d.day)),
        joint_supervision: raw.joint_supervision,
        discipline_inspection: raw.discipline_inspection,
        requirements: raw.requirements,
        enterprise_id: raw.enterprise_id,
        evaluator_id: raw.evaluator_id,
        category: raw.category,
        district: raw.district,
        industry: raw.industry,
    }
}

/// The case statuses a list asks for, each once; a number that is no status is a violation of
/// `statuses[i]`.
pub(super) fn case_statuses(v: &mut Violations, raw: &[i32]) -> Vec<CaseStatus> {
    let mut statuses = Vec::new();
    for (i, raw) in raw.iter().enumerate() {
        match CaseStatus::from_i32(*raw) {
            Some(status) if !statuses.contains(&status) => statuses.push(status),
            Some(_) => {}
            None => v.add(
                format!("statuses[{i}]"),
                "must be DISPATCHED, ACCEPTED, RETURNED, IN_PROGRESS, REPLIED, EVALUATED or CLOSED",
            ),
        }
    }
    statuses
}

/// An optional code filter: trimmed, empty means none.
fn code_filter(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(optional_text(raw, MAX_CODE_CHARS, field)).filter(|s| !s.is_empty())
}

impl SupervisionApi {
    /// A case `scope` may see; NOT_FOUND otherwise.
    async fn visible_case(&self, id: &str, scope: &Scope) -> Result<Case, ServiceError> {
        let case = self.store.get_case(id).await?;
        if case.visible_to(scope) {
            Ok(case)
        } else {
            Err(ServiceError::NotFound { resource: "case", id: id.to_owned() })
        }
    }

    #[tracing::instrument(skip_all, fields(case.id, newly_created))]
    pub(super) async fn create_case_impl(
        &self,
        request: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let body = request.into_inner();
        let raw = body.case.unwrap_or_default();
        let referral = raw.source.as_ref().is_some_and(|s| s.kind == pb::CaseSourceKind::DisciplineReferral as i32);
        if !CREATORS.iter().any(|r| caller.has(*r)) {
            if caller.has(Role::DisciplineInspection) && !referral {
                return Err(ServiceError::PermissionDenied(
                    "discipline inspection creates cases from its own referrals (DISCIPLINE_REFERRAL) only".into(),
                )
                .into());
            }
            caller.require_any(&[Role::Staff, Role::Supervisor, Role::DisciplineInspection])?;
        }
        let mut v = Violations::new();
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?.flatten();
        if request_id.as_ref().is_some_and(|r| r.chars().count() > MAX_REQUEST_ID_CHARS) {
            v.add("request_id", format!("must be at most {MAX_REQUEST_ID_CHARS} characters"));
        }
        let draft = draft_of(raw, body.deadline_working_days, &mut v);
        let new = gather(&mut v, NewCase::parse(&draft))?;
        v.finish()?;
        let new = new.ok_or_else(missing)?;
        let actor = Actor { subject: &caller.subject, organisation: &caller.organisation };
        let (case, newly_created) = self.store.create_case(&new, request_id.as_deref(), actor).await?;
        tracing::Span::current().record("case.id", case.id.as_str()).record("newly_created", newly_created);
        Ok(Response::new(pb::CreateCaseResponse { case: Some(convert::case(&case, self.store.now())), newly_created }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn get_case_impl(
        &self,
        request: Request<pb::GetCaseRequest>,
    ) -> Result<Response<pb::GetCaseResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        tracing::Span::current().record("case.id", id.as_str());
        let case = self.visible_case(&id, &scope).await?;
        Ok(Response::new(pb::GetCaseResponse { case: Some(convert::case(&case, self.store.now())) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_cases_impl(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let statuses = case_statuses(&mut v, &body.statuses);
        let unit_id = code_filter(&mut v, &body.unit_id, "unit_id");
        if body.include_co_units && unit_id.is_none() {
            v.add("include_co_units", "needs unit_id: the unit whose co-handled cases to include");
        }
        let source_kind = match body.source_kind {
            0 => None,
            n => {
                let kind = SourceKind::from_i32(n);
                if kind.is_none() {
                    v.add("source_kind", "is not a CaseSourceKind");
                }
                kind
            }
        };
        let source_id = code_filter(&mut v, &body.source_id, "source_id");
        let enterprise_id = code_filter(&mut v, &body.enterprise_id, "enterprise_id");
        let category = code_filter(&mut v, &body.category, "category");
        let dispatched = v.check(period_range(body.period.as_ref())).flatten();
        if !(0..=3).contains(&body.min_escalation_level) {
            v.add("min_escalation_level", "is not an EscalationLevel");
        }
        v.finish()?;
        let filter = CaseFilter {
            scope,
            statuses,
            unit_id,
            include_co_units: body.include_co_units,
            source_kind,
            source_id,
            enterprise_id,
            category,
            dispatched,
            overdue_only: body.overdue_only,
            long_running_only: body.long_running_only,
            joint_supervision_only: body.joint_supervision_only,
            discipline_inspection_only: body.discipline_inspection_only,
            min_escalation_level: body.min_escalation_level,
        };
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, CASES_LIST, &digest, 2)?;
        let (result, total) = self.store.list_cases(&filter, &page, self.store.now()).await?;
        Ok(Response::new(pb::ListCasesResponse {
            next_page_token: result.next_token(CASES_LIST, &digest),
            cases: result.items.iter().map(|c| convert::case(c, self.store.now())).collect(),
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn list_case_history_impl(
        &self,
        request: Request<pb::ListCaseHistoryRequest>,
    ) -> Result<Response<pb::ListCaseHistoryResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let body = request.into_inner();
        let id = parse_id(&body.case_id, "case_id")?;
        tracing::Span::current().record("case.id", id.as_str());
        let page = PageRequest::parse(body.page_size, &body.page_token, HISTORY_LIST, &id, 1)?;
        self.visible_case(&id, &scope).await?;
        let result = self.store.list_case_history(&id, &page).await?;
        Ok(Response::new(pb::ListCaseHistoryResponse {
            next_page_token: result.next_token(HISTORY_LIST, &id),
            entries: result.items.iter().map(convert::history_entry).collect(),
        }))
    }
}
