//! The lifecycle of a case after dispatch (办理流程): which verb moves a case from which status, who may
//! call it, the checks of each verb's input, and how each verb changes the case. Pure rules: the store
//! applies them to a case it holds locked, inside one transaction.
//!
//! Moves: DISPATCHED → ACCEPTED (AcceptCase) | RETURNED (ReturnCase, within the return window);
//! RETURNED → DISPATCHED (ReassignCase, the clock restarts); ACCEPTED | IN_PROGRESS → IN_PROGRESS
//! (RecordProgress); ACCEPTED | IN_PROGRESS → REPLIED (ReplyToCase); REPLIED → EVALUATED | IN_PROGRESS
//! (EvaluateCase; dissatisfied reopens, from the second time also escalates); REPLIED | EVALUATED → CLOSED
//! (CloseCase). Anything else is FAILED_PRECONDITION naming the current status.

use chrono::{DateTime, Months, SubsecRound as _, TimeDelta, Utc};
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::fields::{optional_text, required_text};
use tingjian_runtime::settings::{EscalationRung, LadderStep};
use tingjian_runtime::time::china_date;
use tingjian_runtime::{Caller, Role, ServiceError};

use super::calendar::WorkingCalendar;
use super::case::{
    Case, CaseDraft, CaseStatus, DeadlineRequest, LONG_RUNNING_MONTHS, MAX_CODE_CHARS, MAX_DEADLINE_YEARS, NewCase,
    Person, Schedule, Scope, Unit,
};
use super::deadline::next_deadline_check;

/// Longest reason (return, reassignment, update, close, escalation), in characters.
pub const MAX_REASON_CHARS: usize = 5_000;
/// Longest note of a unit accepting a case, in characters.
pub const MAX_NOTE_CHARS: usize = 5_000;
/// Longest progress text, in characters.
pub const MAX_PROGRESS_CHARS: usize = 10_000;
/// Longest reply text, in characters.
pub const MAX_REPLY_CHARS: usize = 20_000;
/// Longest evaluation comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 5_000;

/// Result class D (因条件限制暂不能解决): the reply needs a reason.
pub const RESULT_CLASS_D: i32 = 4;
/// Evaluation: satisfied (满意).
pub const EVALUATION_SATISFIED: i32 = 1;
/// Evaluation: basically satisfied (基本满意).
pub const EVALUATION_BASICALLY_SATISFIED: i32 = 2;
/// Evaluation: dissatisfied (不满意); reopens the case.
pub const EVALUATION_DISSATISFIED: i32 = 3;
/// Escalation reason: evaluated dissatisfied a second time (the contract's `EscalationReason`).
pub const ESCALATION_REASON_DISSATISFIED_AGAIN: i32 = 2;
/// Escalation reason: escalated by hand (the contract's `EscalationReason`).
pub const ESCALATION_REASON_MANUAL: i32 = 4;

/// The verbs that change a case after dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verb {
    /// UpdateCase.
    Update,
    /// AcceptCase (签收).
    Accept,
    /// ReturnCase (退回).
    Return,
    /// ReassignCase (改派).
    Reassign,
    /// RecordProgress (办理进展).
    RecordProgress,
    /// ReplyToCase (答复).
    Reply,
    /// EvaluateCase (评价).
    Evaluate,
    /// CloseCase (办结).
    Close,
    /// EscalateCase (升级督办).
    Escalate,
    /// RecordBenefit (成效).
    RecordBenefit,
}

impl Verb {
    /// The contract's method name, for messages.
    pub fn rpc(self) -> &'static str {
        match self {
            Self::Update => "UpdateCase",
            Self::Accept => "AcceptCase",
            Self::Return => "ReturnCase",
            Self::Reassign => "ReassignCase",
            Self::RecordProgress => "RecordProgress",
            Self::Reply => "ReplyToCase",
            Self::Evaluate => "EvaluateCase",
            Self::Close => "CloseCase",
            Self::Escalate => "EscalateCase",
            Self::RecordBenefit => "RecordBenefit",
        }
    }

    /// Whether the verb may act on a case in `status`.
    pub fn allowed(self, status: CaseStatus) -> bool {
        use CaseStatus as S;
        match self {
            Self::Update | Self::Escalate => status != S::Closed,
            Self::Accept | Self::Return => status == S::Dispatched,
            Self::Reassign => status == S::Returned,
            Self::RecordProgress | Self::Reply => matches!(status, S::Accepted | S::InProgress),
            Self::Evaluate => status == S::Replied,
            Self::Close => matches!(status, S::Replied | S::Evaluated),
            Self::RecordBenefit => matches!(status, S::Replied | S::Evaluated | S::Closed),
        }
    }

    /// The statuses the verb needs, in words.
    fn needs(self) -> String {
        if matches!(self, Self::Update | Self::Escalate) {
            return "a case that is not CLOSED".to_owned();
        }
        let allowed: Vec<&str> = CaseStatus::ALL.iter().filter(|s| self.allowed(**s)).map(|s| s.name()).collect();
        match allowed.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            Some((last, _)) => (*last).to_owned(),
            None => "no status".to_owned(),
        }
    }

    /// `Ok` when the verb may act on `case` as it stands; FAILED_PRECONDITION naming its status otherwise.
    pub fn check_status(self, case: &Case) -> Result<(), ServiceError> {
        if self.allowed(case.status) {
            Ok(())
        } else {
            Err(ServiceError::FailedPrecondition(format!(
                "case {} is {}; {} needs {}",
                case.id,
                case.status,
                self.rpc(),
                self.needs()
            )))
        }
    }

    /// The roles that may call the verb at all (empty: any caller, as for the evaluator of a case).
    pub fn roles(self) -> &'static [Role] {
        match self {
            Self::Accept | Self::Return | Self::RecordProgress | Self::Reply => &[Role::HandlingUnit],
            Self::Update | Self::Reassign | Self::Close | Self::Escalate => &[Role::Staff, Role::Supervisor],
            Self::Evaluate => &[],
            Self::RecordBenefit => &[Role::HandlingUnit, Role::Staff, Role::Supervisor],
        }
    }

    /// PERMISSION_DENIED when `caller` holds none of the verb's [`roles`](Self::roles).
    pub fn gate(self, caller: &Caller) -> Result<(), ServiceError> {
        if self.roles().is_empty() { Ok(()) } else { caller.require_any(self.roles()) }
    }

    /// `Ok` when `caller` may call the verb on `case`: the lead unit's officers accept, return, record
    /// progress and reply; staff and supervisors update, reassign, close and escalate; the case's evaluator
    /// (or staff on their behalf) evaluates; the lead unit, staff and supervisors record benefits. A caller
    /// who may not even see the case gets NOT_FOUND, as if it did not exist; one who sees it but may not
    /// act gets PERMISSION_DENIED.
    pub fn authorize(self, case: &Case, caller: &Caller) -> Result<(), ServiceError> {
        let lead = caller.has(Role::HandlingUnit) && caller.organisation == case.lead_unit.id;
        let office = caller.has(Role::Staff) || caller.has(Role::Supervisor);
        let allowed = match self {
            Self::Accept | Self::Return | Self::RecordProgress | Self::Reply => lead,
            Self::Update | Self::Reassign | Self::Close | Self::Escalate => office,
            Self::Evaluate => {
                caller.has(Role::Staff) || (!case.evaluator_id.is_empty() && caller.subject == case.evaluator_id)
            }
            Self::RecordBenefit => lead || office,
        };
        if allowed {
            return Ok(());
        }
        if !sees(case, caller) {
            return Err(ServiceError::NotFound { resource: "case", id: case.id.clone() });
        }
        let who = match self {
            Self::Accept | Self::Return | Self::RecordProgress | Self::Reply => {
                format!("the lead unit's officers ({})", case.lead_unit.id)
            }
            Self::Update | Self::Reassign | Self::Close | Self::Escalate => "staff and supervisors".to_owned(),
            Self::Evaluate => "the case's evaluator, or staff on their behalf".to_owned(),
            Self::RecordBenefit => format!("the lead unit's officers ({}), staff and supervisors", case.lead_unit.id),
        };
        Err(ServiceError::PermissionDenied(format!("{} on case {} is for {who} only", self.rpc(), case.id)))
    }
}

/// Whether `caller` may read `case` (its row scope).
pub fn sees(case: &Case, caller: &Caller) -> bool {
    [Role::Staff, Role::Supervisor, Role::Leader, Role::Analyst].iter().any(|r| caller.has(*r))
        || (caller.has(Role::HandlingUnit) && case.visible_to(&Scope::Unit(caller.organisation.clone())))
        || (caller.has(Role::DisciplineInspection) && case.visible_to_discipline_inspection())
        || (!case.evaluator_id.is_empty() && caller.subject == case.evaluator_id)
}

/// ABORTED when `expected` (the revision of the caller's etag, if given) is not the revision `case` had
/// before the change now being made (`case.version - 1`, since locking bumps it).
pub fn check_etag(case: &Case, expected: Option<i64>) -> Result<(), ServiceError> {
    match expected {
        Some(expected) if case.version - 1 != expected => Err(ServiceError::Aborted(format!(
            "case {} changed since it was read (its etag is now {}); read it again and retry",
            case.id,
            tingjian_runtime::wire::etag(case.version - 1)
        ))),
        _ => Ok(()),
    }
}

/// A required reason of up to [`MAX_REASON_CHARS`], named `field`.
pub fn reason(raw: &str, field: &str) -> Result<String, FieldViolation> {
    required_text(raw, MAX_REASON_CHARS, field)
}

/// An optional reason or note of up to [`MAX_REASON_CHARS`], named `field`.
pub fn optional_reason(raw: &str, field: &str) -> Result<String, FieldViolation> {
    optional_text(raw, MAX_REASON_CHARS, field)
}

/// The escalation rung number (the contract's `EscalationLevel`) of a configured rung.
pub fn rung_number(rung: EscalationRung) -> i32 {
    match rung {
        EscalationRung::Unit => 1,
        EscalationRung::SupervisionOffice => 2,
        EscalationRung::DisciplineInspection => 3,
    }
}

/// The next rung of `ladder` above `current`; `None` when the case is already at the top.
pub fn next_rung(current: i32, ladder: &[LadderStep]) -> Option<i32> {
    ladder.iter().map(|s| rung_number(s.rung)).filter(|r| *r > current).min()
}

/// The contract's name of an escalation rung, for messages.
pub fn rung_name(level: i32) -> &'static str {
    match level {
        1 => "UNIT",
        2 => "SUPERVISION_OFFICE",
        3 => "DISCIPLINE_INSPECTION",
        _ => "UNSPECIFIED",
    }
}

/// DISPATCHED → ACCEPTED.
pub fn accept(case: &mut Case, now: DateTime<Utc>) {
    case.status = CaseStatus::Accepted;
    case.accept_time = Some(now);
}

/// DISPATCHED → RETURNED by its lead unit, within the return window (up to the end of the 3rd working
/// day after dispatch); later is FAILED_PRECONDITION. The deadline clock stops until reassignment.
pub fn return_case(case: &mut Case, reason: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
    if let Some(end) = case.return_deadline_time
        && now > end
    {
        return Err(ServiceError::FailedPrecondition(format!(
            "case {} can no longer be returned: its return window (3 working days after dispatch) ended at {}",
            case.id,
            end.to_rfc3339()
        )));
    }
    case.status = CaseStatus::Returned;
    case.return_reason = reason.to_owned();
    case.returned_unit_id = case.lead_unit.id.clone();
    case.next_due_time = None;
    Ok(())
}

/// ReassignCase's request as given, before its checks.
#[derive(Debug, Clone, Default)]
pub struct ReassignDraft {
    /// The new lead unit; `None` when missing.
    pub lead_unit: Option<Unit>,
    /// The new co-units (replace the list).
    pub co_units: Vec<Unit>,
    /// The new unit head; `None` when missing.
    pub responsible_head: Option<Person>,
    /// The new deadline as an instant, if given.
    pub deadline_time: Option<DateTime<Utc>>,
    /// The new deadline in working days from the new dispatch (0 = not given).
    pub deadline_working_days: i32,
    /// Why.
    pub reason: String,
}

/// A checked reassignment of a returned case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reassignment {
    /// The new lead unit.
    pub lead_unit: Unit,
    /// The new co-units.
    pub co_units: Vec<Unit>,
    /// The new unit head.
    pub responsible_head: Person,
    /// The new deadline.
    pub deadline: DeadlineRequest,
    /// Why.
    pub reason: String,
}

/// The draft of a case as it stands, for checking changed fields with CreateCase's rules.
fn draft_of(case: &Case) -> CaseDraft {
    CaseDraft {
        title: case.title.clone(),
        description: case.description.clone(),
        source: Some((case.source.kind.as_i32(), case.source.source_id.clone(), case.source.source_title.clone())),
        lead_unit: Some(case.lead_unit.clone()),
        co_units: case.co_units.clone(),
        responsible_head: Some(case.responsible_head.clone()),
        deadline_time: Some(case.deadline_time),
        deadline_working_days: 0,
        planned_completion_date: None,
        joint_supervision: case.joint_supervision,
        discipline_inspection: case.discipline_inspection,
        requirements: case.requirements.clone(),
        enterprise_id: case.enterprise_id.clone(),
        evaluator_id: case.evaluator_id.clone(),
        category: case.category.clone(),
        district: case.district.clone(),
        industry: case.industry.clone(),
    }
}

/// The violations of `error` with their field names passed through `rename`; other errors pass through.
fn renamed(error: ServiceError, rename: impl Fn(&str) -> String) -> ServiceError {
    match error {
        ServiceError::InvalidArgument(violations) => ServiceError::InvalidArgument(
            violations.into_iter().map(|v| FieldViolation::new(rename(&v.field), v.description)).collect(),
        ),
        other => other,
    }
}

impl Reassignment {
    /// Checks ReassignCase's request against the returned `case` (fields named as in the request:
    /// `lead_unit.id`, `co_units[0].id`, `responsible_head.display_name`, `deadline_time`,
    /// `deadline_working_days`, `reason`), reporting every problem at once. The new lead unit must differ
    /// from the unit that returned the case.
    pub fn parse(case: &Case, draft: &ReassignDraft) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let reason = v.check(reason(&draft.reason, "reason"));
        if draft.lead_unit.as_ref().is_some_and(|u| !u.id.trim().is_empty() && u.id.trim() == case.returned_unit_id) {
            v.add("lead_unit.id", format!("{} returned the case; reassign it to another unit", case.returned_unit_id));
        }
        let mut checked = draft_of(case);
        checked.lead_unit = draft.lead_unit.clone();
        checked.co_units = draft.co_units.clone();
        checked.responsible_head = draft.responsible_head.clone();
        checked.deadline_time = draft.deadline_time;
        checked.deadline_working_days = draft.deadline_working_days;
        let parsed = match NewCase::parse(&checked) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                let e = renamed(e, |f| f.strip_prefix("case.").unwrap_or(f).to_owned());
                tingjian_runtime::error::gather::<()>(&mut v, Err(e))?;
                None
            }
        };
        v.finish()?;
        let missing = || ServiceError::internal("a checked reassignment field is missing without a violation");
        let parsed = parsed.ok_or_else(missing)?;
        Ok(Self {
            lead_unit: parsed.lead_unit,
            co_units: parsed.co_units,
            responsible_head: parsed.responsible_head,
            deadline: parsed.deadline,
            reason: reason.ok_or_else(missing)?,
        })
    }
}

/// The schedule of a reassignment at `now`, its deadline fields named as in ReassignCase.
pub fn reassignment_schedule(
    reassignment: &Reassignment,
    now: DateTime<Utc>,
    calendar: &WorkingCalendar,
) -> Result<Schedule, ServiceError> {
    Schedule::at_dispatch(now, reassignment.deadline, None, calendar)
        .map_err(|e| renamed(e, |f| f.strip_prefix("case.").unwrap_or(f).to_owned()))
}

/// RETURNED → DISPATCHED to the new lead unit: the clock restarts at `schedule.dispatch_time` (a new
/// return window, no warning raised, not overdue). Returns the unit that returned it.
pub fn reassign(case: &mut Case, reassignment: &Reassignment, schedule: &Schedule) -> Unit {
    let previous = std::mem::replace(&mut case.lead_unit, reassignment.lead_unit.clone());
    case.co_units = reassignment.co_units.clone();
    case.responsible_head = reassignment.responsible_head.clone();
    case.status = CaseStatus::Dispatched;
    case.dispatch_time = schedule.dispatch_time;
    case.deadline_time = schedule.deadline_time;
    case.return_deadline_time = Some(schedule.return_deadline_time);
    case.next_due_time = Some(schedule.next_due_time);
    case.warning_level = 0;
    case.overdue = false;
    case.accept_time = None;
    case.first_reply_time = None;
    previous
}

/// ACCEPTED | IN_PROGRESS → IN_PROGRESS.
pub fn record_progress(case: &mut Case, now: DateTime<Utc>) {
    case.status = CaseStatus::InProgress;
    case.last_progress_time = Some(now);
}

/// ReplyToCase's reply, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyInput {
    /// Result class 1 A … 4 D.
    pub result_class: i32,
    /// The reply's text.
    pub text: String,
    /// Why it cannot be solved (D), or the plan (B, C).
    pub reason: String,
}

impl ReplyInput {
    /// Checks a reply (fields `reply.result_class`, `reply.text`, `reply.reason`), adding problems to `v`.
    pub fn parse(result_class: i32, text: &str, reason: &str, v: &mut Violations) -> Option<Self> {
        if !(1..=4).contains(&result_class) {
            v.add("reply.result_class", "is required: A, B, C or D");
        }
        let text = v.check(required_text(text, MAX_REPLY_CHARS, "reply.text"));
        let reason = if result_class == RESULT_CLASS_D {
            v.check(required_text(reason, MAX_REASON_CHARS, "reply.reason").map_err(|e| {
                FieldViolation::new(e.field, format!("{} (class D: why it cannot be solved for now)", e.description))
            }))
        } else {
            v.check(optional_text(reason, MAX_REASON_CHARS, "reply.reason"))
        };
        Some(Self { result_class, text: text?, reason: reason? }).filter(|r| (1..=4).contains(&r.result_class))
    }
}

/// What a reply means for the figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyOutcome {
    /// The case's first reply since its (latest) dispatch.
    pub first_reply: bool,
    /// Whether the first reply came at or before the deadline.
    pub on_time: bool,
    /// Time from dispatch to this reply.
    pub handling_duration: TimeDelta,
}

/// ACCEPTED | IN_PROGRESS → REPLIED by `unit` (`by` replying at `now`). The deadline clock stops.
pub fn reply(case: &mut Case, input: &ReplyInput, unit: Unit, by: &str, now: DateTime<Utc>) -> ReplyOutcome {
    let first_reply = case.first_reply_time.is_none();
    let first = *case.first_reply_time.get_or_insert(now);
    let on_time = first <= case.deadline_time;
    case.status = CaseStatus::Replied;
    case.reply = Some(super::case::Reply {
        result_class: input.result_class,
        text: input.text.clone(),
        reason: input.reason.clone(),
        unit,
        replied_by: by.to_owned(),
        reply_time: now,
        on_time,
    });
    case.next_due_time = None;
    ReplyOutcome { first_reply, on_time, handling_duration: now - case.dispatch_time }
}

/// EvaluateCase's evaluation, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvaluationInput {
    /// 1 satisfied, 2 basically satisfied, 3 dissatisfied.
    pub result: i32,
    /// Comment (required when dissatisfied).
    pub comment: String,
}

impl EvaluationInput {
    /// Checks an evaluation (fields `evaluation.result`, `evaluation.comment`), adding problems to `v`.
    pub fn parse(result: i32, comment: &str, v: &mut Violations) -> Option<Self> {
        let known = (EVALUATION_SATISFIED..=EVALUATION_DISSATISFIED).contains(&result);
        if !known {
            v.add("evaluation.result", "is required: SATISFIED, BASICALLY_SATISFIED or DISSATISFIED");
        }
        let comment = if result == EVALUATION_DISSATISFIED {
            v.check(required_text(comment, MAX_COMMENT_CHARS, "evaluation.comment").map_err(|e| {
                FieldViolation::new(e.field, format!("{} when dissatisfied: say what is still wrong", e.description))
            }))
        } else {
            v.check(optional_text(comment, MAX_COMMENT_CHARS, "evaluation.comment"))
        };
        Some(Self { result, comment: comment? }).filter(|_| known)
    }
}

/// What an evaluation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationOutcome {
    /// Dissatisfied: the case is IN_PROGRESS again.
    pub reopened: bool,
    /// The rung the case is escalated to (a second or later dissatisfied evaluation, not yet at the top).
    pub escalate_to: Option<i32>,
}

/// REPLIED → EVALUATED (satisfied, basically satisfied) or → IN_PROGRESS (dissatisfied: reopened, and
/// from the second time escalated one rung up `ladder`, when not already at its top; the deadline sweep
/// watches it again, working days counted on `calendar`).
pub fn evaluate(
    case: &mut Case,
    input: &EvaluationInput,
    by: &str,
    now: DateTime<Utc>,
    ladder: &[LadderStep],
    calendar: &WorkingCalendar,
) -> EvaluationOutcome {
    case.evaluation = Some(super::case::Evaluation {
        result: input.result,
        comment: input.comment.clone(),
        evaluator: by.to_owned(),
        evaluate_time: now,
    });
    if input.result != EVALUATION_DISSATISFIED {
        case.status = CaseStatus::Evaluated;
        return EvaluationOutcome { reopened: false, escalate_to: None };
    }
    case.status = CaseStatus::InProgress;
    case.reopen_count = case.reopen_count.saturating_add(1);
    let escalate_to = if case.reopen_count >= 2 { next_rung(case.escalation_level, ladder) } else { None };
    if let Some(rung) = escalate_to {
        case.escalation_level = rung;
    }
    case.next_due_time = next_deadline_check(case, ladder, calendar);
    EvaluationOutcome { reopened: true, escalate_to }
}

/// REPLIED | EVALUATED → CLOSED; a REPLIED case (no evaluation) needs a reason. The sweeps stop looking
/// at it.
pub fn close(case: &mut Case, reason: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
    if case.status == CaseStatus::Replied && reason.trim().is_empty() {
        return Err(ServiceError::invalid(
            "reason",
            format!("is required to close case {} without an evaluation (it is REPLIED)", case.id),
        ));
    }
    case.status = CaseStatus::Closed;
    case.close_time = Some(now);
    case.follow_up_due_time = None;
    case.next_due_time = None;
    Ok(())
}

/// Escalates `case` by hand one rung up `ladder`; FAILED_PRECONDITION when it is already at the top.
/// Returns the rung reached.
pub fn escalate(case: &mut Case, ladder: &[LadderStep]) -> Result<i32, ServiceError> {
    let rung = next_rung(case.escalation_level, ladder).ok_or_else(|| {
        ServiceError::FailedPrecondition(format!(
            "case {} is already at the top rung of the escalation ladder ({})",
            case.id,
            rung_name(case.escalation_level)
        ))
    })?;
    case.escalation_level = rung;
    Ok(rung)
}

/// The fields UpdateCase may change, as named in its update mask.
pub const UPDATE_FIELDS: &[&str] = &[
    "title",
    "description",
    "co_units",
    "responsible_head",
    "deadline_time",
    "planned_completion_date",
    "joint_supervision",
    "discipline_inspection",
    "requirements",
    "evaluator_id",
];

/// UpdateCase's new values as given (only those named in `fields` are used), before their checks.
#[derive(Debug, Clone, Default)]
pub struct CaseChanges {
    /// The fields to change, from [`UPDATE_FIELDS`].
    pub fields: Vec<&'static str>,
    /// New title.
    pub title: String,
    /// New description.
    pub description: String,
    /// New co-units (replace the list).
    pub co_units: Vec<Unit>,
    /// New unit head; `None` when missing.
    pub responsible_head: Option<Person>,
    /// New deadline; `None` when missing.
    pub deadline_time: Option<DateTime<Utc>>,
    /// New planned completion date as (year, month, day); `None` clears it.
    pub planned_completion_date: Option<(i32, i32, i32)>,
    /// Jointly supervised.
    pub joint_supervision: bool,
    /// Flagged for discipline inspection.
    pub discipline_inspection: bool,
    /// New handling requirements.
    pub requirements: String,
    /// New evaluator.
    pub evaluator_id: String,
}

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// The fields whose values changed, as named in the update mask.
    pub changed_fields: Vec<&'static str>,
    /// The new planned completion date made the case long-running (from dispatch).
    pub became_long_running: bool,
}

impl CaseChanges {
    fn has(&self, field: &str) -> bool {
        self.fields.contains(&field)
    }
}

/// Applies UpdateCase's `changes` to `case` at `now`, with CreateCase's checks (fields named
/// `case.title`, `case.co_units[0].id`…), the deadline after dispatch and within five years of it, and
/// the planned completion not before the dispatch day. A new deadline reschedules the deadline sweep for
/// the warnings and rungs not yet reached (and clears `overdue` when it lies ahead); a planned completion more than six months after
/// dispatch makes the case long-running from dispatch.
pub fn apply_update(
    case: &mut Case,
    changes: &CaseChanges,
    now: DateTime<Utc>,
    ladder: &[LadderStep],
    calendar: &WorkingCalendar,
) -> Result<UpdateOutcome, ServiceError> {
    let mut draft = draft_of(case);
    if changes.has("title") {
        draft.title = changes.title.clone();
    }
    if changes.has("description") {
        draft.description = changes.description.clone();
    }
    if changes.has("co_units") {
        draft.co_units = changes.co_units.clone();
    }
    if changes.has("responsible_head") {
        draft.responsible_head = changes.responsible_head.clone();
    }
    if changes.has("deadline_time") {
        draft.deadline_time = changes.deadline_time;
    }
    if changes.has("planned_completion_date") {
        draft.planned_completion_date = changes.planned_completion_date;
    }
    if changes.has("requirements") {
        draft.requirements = changes.requirements.clone();
    }
    if changes.has("evaluator_id") {
        draft.evaluator_id = changes.evaluator_id.clone();
    }
    let mut v = Violations::new();
    let parsed = tingjian_runtime::error::gather(&mut v, NewCase::parse(&draft))?;
    if changes.has("deadline_time")
        && let Some(deadline) = changes.deadline_time
    {
        if deadline <= case.dispatch_time {
            v.add("case.deadline_time", format!("must be after dispatch ({})", case.dispatch_time.to_rfc3339()));
        }
        let latest = case.dispatch_time.checked_add_months(Months::new(12 * MAX_DEADLINE_YEARS));
        if latest.is_some_and(|latest| deadline > latest) {
            v.add("case.deadline_time", format!("must be within {MAX_DEADLINE_YEARS} years of dispatch"));
        }
    }
    let dispatch_day = china_date(case.dispatch_time);
    let planned = parsed.as_ref().and_then(|p| p.planned_completion_date);
    if changes.has("planned_completion_date")
        && let Some(date) = planned
        && date < dispatch_day
    {
        v.add("case.planned_completion_date", format!("{date} is before the dispatch day {dispatch_day}"));
    }
    v.finish()?;
    let parsed = parsed.ok_or_else(|| ServiceError::internal("a checked update is missing without a violation"))?;
    let before = case.clone();
    for field in &changes.fields {
        match *field {
            "title" => case.title = parsed.title.clone(),
            "description" => case.description = parsed.description.clone(),
            "co_units" => case.co_units = parsed.co_units.clone(),
            "responsible_head" => case.responsible_head = parsed.responsible_head.clone(),
            "deadline_time" => {
                if let DeadlineRequest::At(at) = parsed.deadline {
                    case.deadline_time = at.trunc_subsecs(6);
                }
            }
            "planned_completion_date" => case.planned_completion_date = parsed.planned_completion_date,
            "joint_supervision" => case.joint_supervision = changes.joint_supervision,
            "discipline_inspection" => {
                case.discipline_inspection =
                    changes.discipline_inspection || case.source.kind == super::case::SourceKind::DisciplineReferral;
            }
            "requirements" => case.requirements = parsed.requirements.clone(),
            "evaluator_id" => case.evaluator_id = parsed.evaluator_id.clone(),
            _ => {}
        }
    }
    if case.deadline_time != before.deadline_time && case.status.awaits_reply() {
        case.next_due_time = next_deadline_check(case, ladder, calendar);
        if case.deadline_time > now {
            case.overdue = false;
        }
    }
    let mut became_long_running = false;
    if !case.long_running
        && let Some(date) = case.planned_completion_date
        && dispatch_day.checked_add_months(Months::new(LONG_RUNNING_MONTHS)).is_some_and(|limit| date > limit)
    {
        case.long_running = true;
        case.long_running_since_time = Some(case.dispatch_time);
        case.follow_up_due_time = Some(now);
        became_long_running = true;
    }
    let changed_fields = changes
        .fields
        .iter()
        .copied()
        .filter(|field| match *field {
            "title" => case.title != before.title,
            "description" => case.description != before.description,
            "co_units" => case.co_units != before.co_units,
            "responsible_head" => case.responsible_head != before.responsible_head,
            "deadline_time" => case.deadline_time != before.deadline_time,
            "planned_completion_date" => case.planned_completion_date != before.planned_completion_date,
            "joint_supervision" => case.joint_supervision != before.joint_supervision,
            "discipline_inspection" => case.discipline_inspection != before.discipline_inspection,
            "requirements" => case.requirements != before.requirements,
            "evaluator_id" => case.evaluator_id != before.evaluator_id,
            _ => false,
        })
        .collect();
    Ok(UpdateOutcome { changed_fields, became_long_running })
}

/// An optional code (an enterprise id, a category), named `field`.
pub fn code(raw: &str, field: &str) -> Result<String, FieldViolation> {
    optional_text(raw, MAX_CODE_CHARS, field)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use chrono::{NaiveDate, TimeZone as _};
    use tingjian_runtime::settings::SupervisionSettings;

    use super::*;
    use crate::domain::{CaseSource, SourceKind, WorkingCalendar, builtin};

    fn china(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        tingjian_runtime::time::china().with_ymd_and_hms(y, m, d, h, mi, 0).single().unwrap().with_timezone(&Utc)
    }

    fn calendar() -> WorkingCalendar {
        WorkingCalendar::new((2024..=2026).filter_map(builtin))
    }

    fn caller(subject: &str, org: &str, roles: &[Role]) -> Caller {
        Caller {
            subject: subject.into(),
            organisation: org.into(),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            issuer: "test".into(),
            name: None,
        }
    }

    fn unit(id: &str) -> Unit {
        Unit { id: id.into(), name: format!("{id} 单位"), kind: 3 }
    }

    fn head() -> Person {
        Person {
            id: "head".into(), display_name: "王建国".into(), title: "主任".into(), organisation_id: "jrb".into()
        }
    }

    fn case(status: CaseStatus) -> Case {
        let dispatch = china(2024, 1, 15, 9, 0);
        let schedule =
            Schedule::at_dispatch(dispatch, DeadlineRequest::WorkingDays(15), None, &calendar()).expect("schedule");
        Case {
            id: "case-1".into(),
            title: "降低远洋渔业企业融资成本".into(),
            description: "协调金融机构实行优惠利率。".into(),
            source: CaseSource { kind: SourceKind::Suggestion, source_id: "s-1".into(), source_title: String::new() },
            lead_unit: unit("jrb"),
            co_units: vec![unit("jxj")],
            responsible_head: head(),
            status,
            dispatch_time: dispatch,
            deadline_time: schedule.deadline_time,
            planned_completion_date: None,
            joint_supervision: false,
            discipline_inspection: false,
            requirements: String::new(),
            enterprise_id: "e-1".into(),
            evaluator_id: "evaluator".into(),
            category: "finance_credit".into(),
            district: String::new(),
            industry: String::new(),
            warning_level: 0,
            escalation_level: 0,
            overdue: false,
            long_running: false,
            long_running_since_time: None,
            reopen_count: 0,
            last_progress_time: None,
            accept_time: None,
            return_deadline_time: Some(schedule.return_deadline_time),
            return_reason: String::new(),
            close_time: None,
            next_follow_up_due_time: None,
            reply: None,
            first_reply_time: None,
            evaluation: None,
            returned_unit_id: String::new(),
            next_due_time: Some(schedule.next_due_time),
            follow_up_due_time: Some(schedule.follow_up_due_time),
            item_cursor: 0,
            dispatched_by: "staff".into(),
            version: 2,
            create_time: dispatch,
            update_time: dispatch,
        }
    }

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn every_status_admits_only_its_verbs() {
        use CaseStatus as S;
        let table = [
            (Verb::Accept, vec![S::Dispatched]),
            (Verb::Return, vec![S::Dispatched]),
            (Verb::Reassign, vec![S::Returned]),
            (Verb::RecordProgress, vec![S::Accepted, S::InProgress]),
            (Verb::Reply, vec![S::Accepted, S::InProgress]),
            (Verb::Evaluate, vec![S::Replied]),
            (Verb::Close, vec![S::Replied, S::Evaluated]),
            (Verb::RecordBenefit, vec![S::Replied, S::Evaluated, S::Closed]),
            (Verb::Escalate, S::ALL.iter().copied().filter(|s| *s != S::Closed).collect()),
            (Verb::Update, S::ALL.iter().copied().filter(|s| *s != S::Closed).collect()),
        ];
        for (verb, allowed) in table {
            for status in S::ALL {
                let result = verb.check_status(&case(status));
                if allowed.contains(&status) {
                    assert!(result.is_ok(), "{verb:?} from {status}");
                } else {
                    let Err(ServiceError::FailedPrecondition(message)) = result else {
                        panic!("{verb:?} from {status} should be FAILED_PRECONDITION")
                    };
                    assert!(message.contains(status.name()), "{message}");
                    assert!(message.contains(verb.rpc()), "{message}");
                }
            }
        }
        let Err(ServiceError::FailedPrecondition(message)) = Verb::Accept.check_status(&case(S::Replied)) else {
            panic!("refused")
        };
        assert_eq!(message, "case case-1 is REPLIED; AcceptCase needs DISPATCHED");
        let Err(ServiceError::FailedPrecondition(message)) = Verb::Reply.check_status(&case(S::Closed)) else {
            panic!("refused")
        };
        assert!(message.ends_with("ReplyToCase needs ACCEPTED or IN_PROGRESS"), "{message}");
        let Err(ServiceError::FailedPrecondition(message)) = Verb::Escalate.check_status(&case(S::Closed)) else {
            panic!("refused")
        };
        assert!(message.ends_with("EscalateCase needs a case that is not CLOSED"), "{message}");
    }

    #[test]
    fn only_the_right_callers_may_act() {
        let c = case(CaseStatus::Dispatched);
        let lead = caller("officer", "jrb", &[Role::HandlingUnit]);
        let co = caller("officer", "jxj", &[Role::HandlingUnit]);
        let stranger = caller("officer", "jtj", &[Role::HandlingUnit]);
        let staff = caller("li", "zxb", &[Role::Staff]);
        let supervisor = caller("zhao", "dcs", &[Role::Supervisor]);
        let evaluator = caller("evaluator", "e-1", &[Role::Enterprise]);
        let other_enterprise = caller("someone", "e-2", &[Role::Enterprise]);
        assert!(Verb::Accept.authorize(&c, &lead).is_ok());
        assert!(matches!(Verb::Accept.authorize(&c, &co), Err(ServiceError::PermissionDenied(_))));
        assert!(matches!(Verb::Accept.authorize(&c, &staff), Err(ServiceError::PermissionDenied(_))));
        assert!(matches!(Verb::Accept.authorize(&c, &stranger), Err(ServiceError::NotFound { .. })));
        assert!(Verb::Close.authorize(&c, &supervisor).is_ok());
        assert!(matches!(Verb::Close.authorize(&c, &lead), Err(ServiceError::PermissionDenied(_))));
        assert!(Verb::Evaluate.authorize(&c, &evaluator).is_ok());
        assert!(Verb::Evaluate.authorize(&c, &staff).is_ok());
        assert!(matches!(Verb::Evaluate.authorize(&c, &supervisor), Err(ServiceError::PermissionDenied(_))));
        assert!(matches!(Verb::Evaluate.authorize(&c, &other_enterprise), Err(ServiceError::NotFound { .. })));
        assert!(Verb::RecordBenefit.authorize(&c, &lead).is_ok());
        assert!(Verb::RecordBenefit.authorize(&c, &staff).is_ok());
        assert!(matches!(Verb::RecordBenefit.authorize(&c, &co), Err(ServiceError::PermissionDenied(_))));
    }

    #[test]
    fn returning_is_allowed_until_the_end_of_the_window() {
        let mut c = case(CaseStatus::Dispatched);
        let end = c.return_deadline_time.unwrap();
        assert!(return_case(&mut c.clone(), "不属于本单位职责", end + TimeDelta::seconds(1)).is_err());
        return_case(&mut c, "不属于本单位职责", end).unwrap();
        assert_eq!(c.status, CaseStatus::Returned);
        assert_eq!(c.returned_unit_id, "jrb");
        assert_eq!(c.next_due_time, None);
    }

    #[test]
    fn reassignment_restarts_the_clock_for_another_unit() {
        let mut c = case(CaseStatus::Dispatched);
        c.warning_level = 2;
        c.overdue = true;
        let dispatch = c.dispatch_time;
        return_case(&mut c, "不属于本单位职责", dispatch).unwrap();
        let same = ReassignDraft {
            lead_unit: Some(unit("jrb")),
            responsible_head: Some(head()),
            deadline_working_days: 10,
            reason: "改派".into(),
            ..Default::default()
        };
        assert_eq!(fields(Reassignment::parse(&c, &same).unwrap_err()), ["lead_unit.id"]);
        let empty = ReassignDraft::default();
        let mut missing = fields(Reassignment::parse(&c, &empty).unwrap_err());
        missing.sort();
        assert_eq!(missing, ["deadline_time", "lead_unit", "reason", "responsible_head"]);
        let draft = ReassignDraft { lead_unit: Some(unit("jtj")), ..same };
        let r = Reassignment::parse(&c, &draft).unwrap();
        let now = china(2024, 1, 17, 10, 0);
        let schedule = reassignment_schedule(&r, now, &calendar()).unwrap();
        let previous = reassign(&mut c, &r, &schedule);
        assert_eq!(previous.id, "jrb");
        assert_eq!(c.status, CaseStatus::Dispatched);
        assert_eq!(c.dispatch_time, now);
        assert_eq!((c.warning_level, c.overdue), (0, false));
        assert!(c.co_units.is_empty());
        assert_eq!(c.next_due_time, Some(schedule.next_due_time));
        assert_eq!(c.return_deadline_time, Some(calendar().end_of_working_days(now, 3)));
    }

    #[test]
    fn replies_stop_the_clock_and_know_whether_they_were_on_time() {
        let mut c = case(CaseStatus::Accepted);
        let mut v = Violations::new();
        assert!(ReplyInput::parse(4, "无法解决", "", &mut v).is_none());
        assert!(ReplyInput::parse(0, "", "", &mut v).is_none());
        assert_eq!(
            fields(v.finish().unwrap_err()),
            ["reply.reason", "reply.result_class", "reply.text"],
            "class D needs a reason; class and text are required"
        );
        let mut v = Violations::new();
        let input = ReplyInput::parse(1, "已协调降息", "", &mut v).unwrap();
        let late = c.deadline_time + TimeDelta::hours(1);
        let outcome = reply(&mut c, &input, unit("jrb"), "officer", late);
        assert!(outcome.first_reply && !outcome.on_time);
        assert_eq!(c.next_due_time, None);
        assert_eq!(c.first_reply_time, Some(late));
        c.status = CaseStatus::InProgress;
        let again = reply(&mut c, &input, unit("jrb"), "officer", late + TimeDelta::days(1));
        assert!(!again.first_reply && !again.on_time);
        assert_eq!(c.first_reply_time, Some(late));
    }

    #[test]
    fn a_second_dissatisfied_evaluation_escalates_one_rung() {
        let ladder = SupervisionSettings::default().escalation_ladder;
        let mut c = case(CaseStatus::Replied);
        let mut v = Violations::new();
        assert!(EvaluationInput::parse(3, "", &mut v).is_none());
        assert_eq!(fields(v.finish().unwrap_err()), ["evaluation.comment"]);
        let mut v = Violations::new();
        let bad = EvaluationInput::parse(3, "利率仍未下降", &mut v).unwrap();
        let now = c.dispatch_time + TimeDelta::days(3);
        let first = evaluate(&mut c, &bad, "evaluator", now, &ladder, &calendar());
        assert_eq!(first, EvaluationOutcome { reopened: true, escalate_to: None });
        assert_eq!((c.status, c.reopen_count), (CaseStatus::InProgress, 1));
        assert!(c.next_due_time.is_some());
        c.status = CaseStatus::Replied;
        let second = evaluate(&mut c, &bad, "evaluator", now, &ladder, &calendar());
        assert_eq!(second, EvaluationOutcome { reopened: true, escalate_to: Some(1) });
        assert_eq!(c.escalation_level, 1);
        c.status = CaseStatus::Replied;
        c.escalation_level = 3;
        assert_eq!(evaluate(&mut c, &bad, "evaluator", now, &ladder, &calendar()).escalate_to, None);
        c.status = CaseStatus::Replied;
        let good = EvaluationInput { result: EVALUATION_SATISFIED, comment: String::new() };
        assert!(!evaluate(&mut c, &good, "evaluator", now, &ladder, &calendar()).reopened);
        assert_eq!(c.status, CaseStatus::Evaluated);
    }

    #[test]
    fn the_ladder_maps_to_rungs() {
        let ladder = SupervisionSettings::default().escalation_ladder;
        assert_eq!(next_rung(0, &ladder), Some(1));
        assert_eq!(next_rung(1, &ladder), Some(2));
        assert_eq!(next_rung(3, &ladder), None);
        let short = [LadderStep { rung: EscalationRung::SupervisionOffice, after_working_days: 0 }];
        assert_eq!(next_rung(0, &short), Some(2));
        assert_eq!(next_rung(2, &short), None);
        let mut c = case(CaseStatus::InProgress);
        c.escalation_level = 2;
        assert_eq!(escalate(&mut c, &short).map_err(|e| e.code()), Err(tonic::Code::FailedPrecondition));
    }

    #[test]
    fn closing_a_replied_case_needs_a_reason() {
        let mut c = case(CaseStatus::Replied);
        let now = c.dispatch_time;
        assert_eq!(fields(close(&mut c, " ", now).unwrap_err()), ["reason"]);
        close(&mut c, "企业未在期限内评价", now).unwrap();
        assert_eq!(c.status, CaseStatus::Closed);
        assert_eq!((c.next_due_time, c.follow_up_due_time), (None, None));
        let mut e = case(CaseStatus::Evaluated);
        close(&mut e, "", now).unwrap();
    }

    #[test]
    fn updates_check_their_fields_and_reschedule() {
        let ladder = SupervisionSettings::default().escalation_ladder;
        let mut c = case(CaseStatus::InProgress);
        c.warning_level = 1;
        c.overdue = true;
        let now = c.dispatch_time + TimeDelta::days(1);
        let bad = CaseChanges {
            fields: vec!["title", "deadline_time", "co_units"],
            title: String::new(),
            deadline_time: Some(c.dispatch_time - TimeDelta::days(1)),
            co_units: vec![unit("jrb")],
            ..Default::default()
        };
        let mut found = fields(apply_update(&mut c.clone(), &bad, now, &ladder, &calendar()).unwrap_err());
        found.sort();
        assert_eq!(found, ["case.co_units[0].id", "case.deadline_time", "case.title"]);
        let deadline = c.deadline_time + TimeDelta::days(10);
        let changes = CaseChanges {
            fields: vec!["deadline_time", "title", "planned_completion_date"],
            title: c.title.clone(),
            deadline_time: Some(deadline),
            planned_completion_date: Some((2024, 12, 31)),
            ..Default::default()
        };
        let outcome = apply_update(&mut c, &changes, now, &ladder, &calendar()).unwrap();
        assert_eq!(outcome.changed_fields, ["deadline_time", "planned_completion_date"]);
        assert!(outcome.became_long_running);
        assert_eq!(c.deadline_time, deadline);
        assert!(!c.overdue);
        assert_eq!(c.next_due_time, Some(crate::domain::deadline::DeadlineState::of(&c).warning_time(2)));
        assert_eq!(c.long_running_since_time, Some(c.dispatch_time));
        assert_eq!(c.follow_up_due_time, Some(now));
        assert_eq!(c.planned_completion_date, NaiveDate::from_ymd_opt(2024, 12, 31));
    }
}
