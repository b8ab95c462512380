//! The follow-up part of the supervision API: quarterly follow-up tasks of long-running cases, recording
//! follow-ups (跟踪监督), and quarterly follow-up compliance (季度跟踪监督达标率).
//!
//! Who may do what: supervisors and staff record follow-ups of any open case, discipline inspection of the
//! open cases it sees. Staff, supervisors, leaders and analysts read everything; a handling unit reads the
//! tasks, follow-ups and compliance of the cases it leads or co-handles; discipline inspection those of the
//! cases flagged for it or escalated to it. A case outside the caller's scope is NOT_FOUND.

use std::cmp::Ordering;

use tingjian_proto::common::v1 as common;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::error::{Violations, gather};
use tingjian_runtime::fields::{optional_text, push_length_prefixed};
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::time::{Period, PeriodKind};
use tingjian_runtime::wire::{parse_id, parse_request_id, period_range, read_instant};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::SupervisionApi;
use super::case::scope_of;
use crate::convert;
use crate::domain::quarter::{
    ComplianceFilter, FOLLOW_UP_METHODS, FollowUpDraft, FollowUpFilter, NewFollowUp, QuarterLine, QuarterState,
    QuarterWindow, Tally, TaskFilter, TaskStatus, compare_compliance, long_running_since, quarter_key, quarter_of,
};
use crate::domain::{MAX_CODE_CHARS, MAX_REQUEST_ID_CHARS, Scope, Unit};
use crate::store::Actor;

/// Roles that record follow-ups of any case.
const RECORDERS: [Role; 2] = [Role::Supervisor, Role::Staff];
/// Page-token name of ListFollowUpTasks.
const TASKS_LIST: &str = "follow_up_tasks";
/// Page-token name of ListFollowUps.
const FOLLOW_UPS_LIST: &str = "follow_ups";
/// Page-token name of GetCompliance.
const COMPLIANCE_LIST: &str = "compliance";

/// A short digest of a list's filters, which binds a page token to them.
fn digest(parts: &[&str]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut text = String::new();
    for part in parts {
        push_length_prefixed(&mut text, part);
    }
    let hash = text.bytes().fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::All => "all".to_owned(),
        Scope::Unit(org) => format!("unit:{org}"),
        Scope::DisciplineInspection => "discipline_inspection".to_owned(),
    }
}

/// An optional code filter: trimmed, empty means none.
fn code_filter(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(optional_text(raw, MAX_CODE_CHARS, field)).filter(|s| !s.is_empty())
}

/// An optional case-id filter: empty means none.
fn case_filter(v: &mut Violations, raw: &str, field: &str) -> Result<Option<String>, ServiceError> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    gather(v, parse_id(raw, field))
}

/// The requested period as a checked [`Period`]; `None` for an unspecified kind.
fn period_of(raw: &common::Period, field: &str, v: &mut Violations) -> Option<Period> {
    let kind = match common::PeriodKind::try_from(raw.kind) {
        Ok(common::PeriodKind::Unspecified) => return None,
        Ok(common::PeriodKind::Month) => PeriodKind::Month,
        Ok(common::PeriodKind::Quarter) => PeriodKind::Quarter,
        Ok(common::PeriodKind::Year) => PeriodKind::Year,
        Err(_) => {
            v.add(format!("{field}.kind"), "must be MONTH, QUARTER or YEAR");
            return None;
        }
    };
    let Ok(number) = u32::try_from(raw.number) else {
        v.add(format!("{field}.number"), "must not be negative");
        return None;
    };
    v.check(Period::new(kind, raw.year, number, field))
}

fn rate(numerator: u32, denominator: u32) -> common::Rate {
    let value = if denominator == 0 { 0.0 } else { f64::from(numerator) / f64::from(denominator) };
    common::Rate { numerator: i64::from(numerator), denominator: i64::from(denominator), value }
}

fn to_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// One case's line of a compliance report, before paging.
struct Line {
    case: crate::domain::quarter::ComplianceCase,
    quarters: Vec<QuarterLine>,
    tally: Tally,
}

impl Line {
    fn key(&self) -> Vec<String> {
        vec![
            self.tally.followed.to_string(),
            self.tally.required.to_string(),
            self.tally.missed.to_string(),
            self.case.case_id.clone(),
        ]
    }

    fn into_pb(self, now: chrono::DateTime<chrono::Utc>) -> pb::CaseCompliance {
        let current = quarter_key(quarter_of(now));
        let current_task = self.case.current_task;
        let quarters = self
            .quarters
            .iter()
            .map(|q| pb::QuarterCompliance {
                quarter: Some(common::Period {
                    kind: common::PeriodKind::Quarter as i32,
                    year: q.quarter.year(),
                    number: i32::try_from(q.quarter.number()).unwrap_or(0),
                }),
                status: match q.state {
                    QuarterState::Followed => TaskStatus::Done.as_i32(),
                    QuarterState::Missed => TaskStatus::Missed.as_i32(),
                    QuarterState::Pending => current_task
                        .filter(|s| s.is_owed() && quarter_key(q.quarter) == current)
                        .unwrap_or(TaskStatus::Open)
                        .as_i32(),
                },
                follow_up_count: to_i32(q.follow_ups),
            })
            .collect();
        let since = long_running_since(self.case.create_time, self.case.long_running_since_time);
        pb::CaseCompliance {
            case_id: self.case.case_id,
            case_title: self.case.title,
            lead_unit: Some(convert::unit(&self.case.lead_unit)),
            long_running_since_time: Some(tingjian_runtime::wire::timestamp(since)),
            rate: Some(rate(self.tally.followed, self.tally.required)),
            quarters,
        }
    }
}

/// The compliance order of a line against a page cursor (followed, required, missed, case id).
fn after_cursor(line: &Line, cursor: &[String]) -> Result<bool, ServiceError> {
    let bad = || ServiceError::invalid("page_token", "is not a token of this list");
    let number = |i: usize| cursor.get(i).and_then(|k| k.parse::<u32>().ok()).ok_or_else(bad);
    let tally = Tally { followed: number(0)?, required: number(1)?, missed: number(2)?, pending: 0 };
    let id = cursor.get(3).ok_or_else(bad)?;
    Ok(compare_compliance((&line.tally, &line.case.case_id), (&tally, id)) == Ordering::Greater)
}

impl SupervisionApi {
    #[tracing::instrument(skip_all)]
    pub(super) async fn list_follow_up_tasks_impl(
        &self,
        request: Request<pb::ListFollowUpTasksRequest>,
    ) -> Result<Response<pb::ListFollowUpTasksResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let quarter = match body.quarter.as_ref() {
            Some(q) if q.kind == common::PeriodKind::Quarter as i32 => {
                period_of(q, "quarter", &mut v).map(|p| (p.year(), p.number()))
            }
            Some(q) if q.kind == common::PeriodKind::Unspecified as i32 => None,
            Some(_) => {
                v.add("quarter.kind", "must be QUARTER (or unspecified for any quarter)");
                None
            }
            None => None,
        };
        let mut statuses = Vec::new();
        for (i, raw) in body.statuses.iter().enumerate() {
            match TaskStatus::from_i32(*raw) {
                Some(status) if !statuses.contains(&status) => statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), "must be OPEN, REMINDED, DONE or MISSED"),
            }
        }
        let unit_id = code_filter(&mut v, &body.unit_id, "unit_id");
        let case_id = case_filter(&mut v, &body.case_id, "case_id")?;
        v.finish()?;
        let filter = TaskFilter { scope, quarter, statuses, unit_id, case_id };
        let statuses: Vec<String> = filter.statuses.iter().map(|s| s.as_i32().to_string()).collect();
        let digest = digest(&[
            &scope_text(&filter.scope),
            &filter.quarter.map(|(y, n)| format!("{y}Q{n}")).unwrap_or_default(),
            &statuses.join(","),
            filter.unit_id.as_deref().unwrap_or(""),
            filter.case_id.as_deref().unwrap_or(""),
        ]);
        let page = PageRequest::parse(body.page_size, &body.page_token, TASKS_LIST, &digest, 2)?;
        let result = self.store.list_follow_up_tasks(&filter, &page).await?;
        Ok(Response::new(pb::ListFollowUpTasksResponse {
            next_page_token: result.next_token(TASKS_LIST, &digest),
            tasks: result.items,
        }))
    }

    #[tracing::instrument(skip_all, fields(case.id, follow_up.id))]
    pub(super) async fn record_follow_up_impl(
        &self,
        request: Request<pb::RecordFollowUpRequest>,
    ) -> Result<Response<pb::RecordFollowUpResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let inspector_only = !RECORDERS.iter().any(|r| caller.has(*r));
        if inspector_only {
            caller.require_any(&[Role::Supervisor, Role::Staff, Role::DisciplineInspection])?;
        }
        let body = request.into_inner();
        let now = self.store.now();
        let mut v = Violations::new();
        let case_id = gather(&mut v, parse_id(&body.case_id, "case_id"))?;
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?.flatten();
        if request_id.as_ref().is_some_and(|r| r.chars().count() > MAX_REQUEST_ID_CHARS) {
            v.add("request_id", format!("must be at most {MAX_REQUEST_ID_CHARS} characters"));
        }
        let new = match body.follow_up {
            None => {
                v.add("follow_up", "is required");
                None
            }
            Some(raw) => {
                let follow_time = v.check(read_instant(raw.follow_time.as_ref(), "follow_up.follow_time"));
                let draft = FollowUpDraft {
                    method: raw.method,
                    follow_time: follow_time.flatten(),
                    supervisor_ids: raw.supervisor_ids,
                    supervising_organisation: raw.supervising_organisation.map(|o| Unit {
                        id: o.id,
                        name: o.name,
                        kind: o.kind,
                    }),
                    findings: raw.findings,
                    progress: raw.progress,
                };
                gather(&mut v, NewFollowUp::parse(&draft, now, follow_time.is_some()))?
            }
        };
        v.finish()?;
        let (Some(case_id), Some(new)) = (case_id, new) else {
            return Err(ServiceError::internal("a checked field is missing without a violation").into());
        };
        tracing::Span::current().record("case.id", case_id.as_str());
        let case = self.store.get_case(&case_id).await?;
        if inspector_only && !case.visible_to(&Scope::DisciplineInspection) {
            return Err(ServiceError::NotFound { resource: "case", id: case_id }.into());
        }
        let actor = Actor { subject: &caller.subject, organisation: &caller.organisation };
        let (follow_up, task) = self.store.record_follow_up(&case_id, &new, request_id.as_deref(), actor).await?;
        tracing::Span::current().record("follow_up.id", follow_up.id.as_str());
        Ok(Response::new(pb::RecordFollowUpResponse { follow_up: Some(follow_up), task }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_follow_ups_impl(
        &self,
        request: Request<pb::ListFollowUpsRequest>,
    ) -> Result<Response<pb::ListFollowUpsResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let case_id = case_filter(&mut v, &body.case_id, "case_id")?;
        let unit_id = code_filter(&mut v, &body.unit_id, "unit_id");
        let period = v.check(period_range(body.period.as_ref())).flatten();
        let method = match body.method {
            0 => None,
            m if FOLLOW_UP_METHODS.contains(&m) => Some(m),
            _ => {
                v.add("method", "must be ON_SITE, MEETING, DOCUMENT or PHONE (or unspecified for any)");
                None
            }
        };
        v.finish()?;
        let filter = FollowUpFilter { scope, case_id, unit_id, period, method };
        let digest = digest(&[
            &scope_text(&filter.scope),
            filter.case_id.as_deref().unwrap_or(""),
            filter.unit_id.as_deref().unwrap_or(""),
            &filter.period.map(|(s, e)| format!("{}/{}", s.to_rfc3339(), e.to_rfc3339())).unwrap_or_default(),
            &filter.method.unwrap_or(0).to_string(),
        ]);
        let page = PageRequest::parse(body.page_size, &body.page_token, FOLLOW_UPS_LIST, &digest, 2)?;
        let result = self.store.list_follow_ups(&filter, &page).await?;
        Ok(Response::new(pb::ListFollowUpsResponse {
            next_page_token: result.next_token(FOLLOW_UPS_LIST, &digest),
            follow_ups: result.items,
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_compliance_impl(
        &self,
        request: Request<pb::GetComplianceRequest>,
    ) -> Result<Response<pb::GetComplianceResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let case_id = case_filter(&mut v, &body.case_id, "case_id")?;
        let unit_id = code_filter(&mut v, &body.unit_id, "unit_id");
        let period = body.period.as_ref().and_then(|p| period_of(p, "period", &mut v));
        v.finish()?;
        let window = period.map(QuarterWindow::of);
        if let Some(id) = &case_id {
            let case = self.store.get_case(id).await?;
            if !case.visible_to(&scope) {
                return Err(ServiceError::NotFound { resource: "case", id: id.clone() }.into());
            }
        }
        let digest = digest(&[
            &scope_text(&scope),
            case_id.as_deref().unwrap_or(""),
            unit_id.as_deref().unwrap_or(""),
            &period.map(|p| format!("{:?}:{}:{}", p.kind(), p.year(), p.number())).unwrap_or_default(),
        ]);
        let page = PageRequest::parse(body.page_size, &body.page_token, COMPLIANCE_LIST, &digest, 4)?;
        let now = self.store.now();
        let filter = ComplianceFilter { scope, case_id, unit_id, open_since: window.map(|w| w.start) };
        let cases = self.store.compliance_cases(&filter, now).await?;
        let mut summary = Tally::default();
        let mut case_count = 0_u32;
        let mut lines: Vec<Line> = Vec::new();
        for case in cases {
            let quarters = case.quarters(now, window.as_ref());
            if quarters.is_empty() {
                continue;
            }
            let tally = Tally::of(&quarters);
            summary.merge(tally);
            if tally.required > 0 {
                case_count += 1;
            }
            lines.push(Line { case, quarters, tally });
        }
        lines.sort_by(|a, b| compare_compliance((&a.tally, &a.case.case_id), (&b.tally, &b.case.case_id)));
        if let Some(cursor) = &page.after {
            let mut kept = Vec::with_capacity(lines.len());
            for line in lines {
                if after_cursor(&line, cursor)? {
                    kept.push(line);
                }
            }
            lines = kept;
        }
        let next = if lines.len() > page.size {
            lines.truncate(page.size);
            lines.last().map(Line::key)
        } else {
            None
        };
        let result = tingjian_runtime::paging::Page { items: Vec::<()>::new(), next };
        Ok(Response::new(pb::GetComplianceResponse {
            summary: Some(pb::Compliance {
                case_count: to_i32(case_count),
                quarters_required: to_i32(summary.required),
                quarters_followed: to_i32(summary.followed),
                quarters_missed: to_i32(summary.missed),
                quarters_pending: to_i32(summary.pending),
                rate: Some(rate(summary.followed, summary.required)),
            }),
            next_page_token: result.next_token(COMPLIANCE_LIST, &digest),
            cases: lines.into_iter().map(|l| l.into_pb(now)).collect(),
        }))
    }
}
