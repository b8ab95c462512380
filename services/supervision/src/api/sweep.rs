//! Deadline warnings (预警), escalations (升级督办) and the sweeps through the supervision API.
//!
//! Who may do what: staff, supervisors, leaders and analysts read every warning and escalation; a handling
//! unit reads those of the cases it led when they were raised; discipline inspection reads those of the
//! cases visible to it (flagged for it or escalated to it). Staff, supervisors and system administrators
//! run the sweeps on demand (they also run periodically on every replica).

use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::optional_text;
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{parse_id, read_instant};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::SupervisionApi;
use super::case::scope_of;
use crate::domain::MAX_CODE_CHARS;
use crate::domain::deadline::{EscalationFilter, OpenRange, WarningFilter};
use crate::store::SweepKind;

/// Roles that run the sweeps on demand.
const SWEEPERS: [Role; 3] = [Role::Supervisor, Role::Staff, Role::SystemAdmin];
/// Page-token name of ListWarnings.
const WARNINGS_LIST: &str = "warnings";
/// Page-token name of ListEscalations.
const ESCALATIONS_LIST: &str = "escalations";

/// An optional case id filter: empty means none.
fn case_filter(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    if raw.trim().is_empty() {
        return None;
    }
    match parse_id(raw, field) {
        Ok(id) => Some(id),
        Err(ServiceError::InvalidArgument(violations)) => {
            violations.into_iter().for_each(|x| v.add(x.field, x.description));
            None
        }
        Err(_) => None,
    }
}

/// An optional code filter: trimmed, empty means none.
fn code_filter(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(optional_text(raw, MAX_CODE_CHARS, field)).filter(|s| !s.is_empty())
}

/// A checked time range (start inclusive, end exclusive, either open).
fn time_range(v: &mut Violations, raw: Option<&tingjian_proto::common::v1::TimeRange>, field: &str) -> OpenRange {
    let Some(raw) = raw else { return (None, None) };
    let start = v.check(read_instant(raw.start_time.as_ref(), &format!("{field}.start_time"))).flatten();
    let end = v.check(read_instant(raw.end_time.as_ref(), &format!("{field}.end_time"))).flatten();
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        v.add(format!("{field}.end_time"), "must be after time_range.start_time");
    }
    (start, end)
}

/// A checked enum filter: 0 (any) or a number in `range`.
fn enum_filter(v: &mut Violations, raw: i32, range: std::ops::RangeInclusive<i32>, field: &str, what: &str) -> i32 {
    if raw != 0 && !range.contains(&raw) {
        v.add(field, format!("is not {what}"));
    }
    raw
}

impl SupervisionApi {
    #[tracing::instrument(skip_all)]
    pub(super) async fn list_warnings_impl(
        &self,
        request: Request<pb::ListWarningsRequest>,
    ) -> Result<Response<pb::ListWarningsResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let case_id = case_filter(&mut v, &body.case_id, "case_id");
        let unit_id = code_filter(&mut v, &body.unit_id, "unit_id");
        let level = enum_filter(&mut v, body.level, 1..=3, "level", "a WarningLevel");
        let raised = time_range(&mut v, body.time_range.as_ref(), "time_range");
        v.finish()?;
        let filter = WarningFilter { scope, case_id, unit_id, level, raised };
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, WARNINGS_LIST, &digest, 2)?;
        let result = self.store.list_warnings(&filter, &page).await?;
        Ok(Response::new(pb::ListWarningsResponse {
            next_page_token: result.next_token(WARNINGS_LIST, &digest),
            warnings: result.items,
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_escalations_impl(
        &self,
        request: Request<pb::ListEscalationsRequest>,
    ) -> Result<Response<pb::ListEscalationsResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let case_id = case_filter(&mut v, &body.case_id, "case_id");
        let unit_id = code_filter(&mut v, &body.unit_id, "unit_id");
        let level = enum_filter(&mut v, body.level, 1..=3, "level", "an EscalationLevel");
        let reason = enum_filter(&mut v, body.reason, 1..=4, "reason", "an EscalationReason");
        let escalated = time_range(&mut v, body.time_range.as_ref(), "time_range");
        v.finish()?;
        let filter = EscalationFilter { scope, case_id, unit_id, level, reason, escalated };
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, ESCALATIONS_LIST, &digest, 2)?;
        let result = self.store.list_escalations(&filter, &page).await?;
        Ok(Response::new(pb::ListEscalationsResponse {
            next_page_token: result.next_token(ESCALATIONS_LIST, &digest),
            escalations: result.items,
        }))
    }

    #[tracing::instrument(skip_all, fields(items_examined, warnings, escalations))]
    pub(super) async fn run_sweep_impl(
        &self,
        request: Request<pb::RunSweepRequest>,
    ) -> Result<Response<pb::RunSweepResponse>, Status> {
        Caller::of(&request)?.require_any(&SWEEPERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let mut kinds: Vec<SweepKind> = Vec::new();
        for (i, raw) in body.kinds.iter().enumerate() {
            match SweepKind::from_i32(*raw) {
                Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                Some(_) => {}
                None => v.add(format!("kinds[{i}]"), "must be DEADLINES, FOLLOW_UPS or RECTIFICATIONS"),
            }
        }
        v.finish()?;
        let report = self.store.run_sweeps(&kinds, self.store.now()).await?;
        tracing::Span::current()
            .record("items_examined", report.items_examined)
            .record("warnings", report.warnings_raised)
            .record("escalations", report.escalations);
        let duration = prost_types::Duration {
            seconds: i64::try_from(report.duration.as_secs()).unwrap_or(i64::MAX),
            nanos: i32::try_from(report.duration.subsec_nanos()).unwrap_or(0),
        };
        Ok(Response::new(pb::RunSweepResponse {
            report: Some(pb::SweepReport {
                as_of_time: Some(tingjian_runtime::wire::timestamp(report.as_of)),
                items_examined: report.items_examined,
                warnings_raised: report.warnings_raised,
                escalations: report.escalations,
                long_running_marked: report.long_running_marked,
                tasks_created: report.tasks_created,
                reminders_sent: report.reminders_sent,
                quarters_missed: report.quarters_missed,
                rectifications_overdue: report.rectifications_overdue,
                duration: Some(duration),
            }),
        }))
    }
}
