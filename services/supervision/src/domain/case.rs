//! Cases (交办单 / 督办事项): what is assigned, to whom, by when, and who may see it. Pure rules: the
//! checked request of CreateCase, the deadlines computed at dispatch, the statuses and history actions,
//! and the row scope of each reader.

use std::fmt;

use chrono::{DateTime, Months, NaiveDate, SubsecRound as _, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{optional_text, push_length_prefixed, required_text};
use tingjian_runtime::time::china_date;

use super::calendar::{WorkingCalendar, date_of};

/// Longest case title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest case description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 20_000;
/// Longest handling requirements, in characters.
pub const MAX_REQUIREMENTS_CHARS: usize = 5_000;
/// Longest identifier or code given by a caller (source id, unit id, enterprise id, category…).
pub const MAX_CODE_CHARS: usize = 128;
/// Longest display name (a unit's, a person's, a title), in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Most co-units of one case.
pub const MAX_CO_UNITS: usize = 50;
/// Longest client request id of CreateCase, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 64;
/// Allowed range of `deadline_working_days`.
pub const WORKING_DAYS: std::ops::RangeInclusive<i32> = 1..=365;
/// Working days after dispatch within which the lead unit may return a case (退回).
pub const RETURN_WINDOW_WORKING_DAYS: u32 = 3;
/// A planned span longer than this from dispatch makes a case long-running (办结时间跨度超过半年).
pub const LONG_RUNNING_MONTHS: u32 = 6;
/// Longest deadline accepted, in years after dispatch.
pub const MAX_DEADLINE_YEARS: u32 = 5;

/// Where a case stands in its lifecycle (the contract's `CaseStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStatus {
    /// Sent to the lead unit; the clock runs from here (已交办).
    Dispatched,
    /// The lead unit took it on (已签收).
    Accepted,
    /// Sent back as wrongly assigned (退回).
    Returned,
    /// Being handled (办理中).
    InProgress,
    /// The unit replied with a result class (已答复).
    Replied,
    /// The enterprise or proposer rated the reply (已评价).
    Evaluated,
    /// Done (已办结).
    Closed,
}

impl CaseStatus {
    /// Every status, in the contract's order.
    pub const ALL: [CaseStatus; 7] = [
        Self::Dispatched,
        Self::Accepted,
        Self::Returned,
        Self::InProgress,
        Self::Replied,
        Self::Evaluated,
        Self::Closed,
    ];

    /// The contract's enum number, also what is stored.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Dispatched => 1,
            Self::Accepted => 2,
            Self::Returned => 3,
            Self::InProgress => 4,
            Self::Replied => 5,
            Self::Evaluated => 6,
            Self::Closed => 7,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_i32() == n)
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Dispatched => "DISPATCHED",
            Self::Accepted => "ACCEPTED",
            Self::Returned => "RETURNED",
            Self::InProgress => "IN_PROGRESS",
            Self::Replied => "REPLIED",
            Self::Evaluated => "EVALUATED",
            Self::Closed => "CLOSED",
        }
    }

    /// Whether the unit still owes a reply: the deadline can pass in these statuses.
    pub fn awaits_reply(self) -> bool {
        matches!(self, Self::Dispatched | Self::Accepted | Self::Returned | Self::InProgress)
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a case was created from (the contract's `CaseSourceKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A consultation suggestion (协商建议).
    Suggestion,
    /// A special report (专报) with its leaders' instructions.
    SpecialReport,
    /// An intake common issue (共性问题).
    CommonIssue,
    /// A single intake demand (诉求).
    Demand,
    /// A referral from discipline inspection (纪检监察移交).
    DisciplineReferral,
}

impl SourceKind {
    /// The contract's enum number, also what is stored.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Suggestion => 1,
            Self::SpecialReport => 2,
            Self::CommonIssue => 3,
            Self::Demand => 4,
            Self::DisciplineReferral => 5,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Suggestion,
            2 => Self::SpecialReport,
            3 => Self::CommonIssue,
            4 => Self::Demand,
            5 => Self::DisciplineReferral,
            _ => return None,
        })
    }
}

/// What happened to a case, in its history (the contract's `CaseAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseAction {
    /// Dispatched (交办).
    Dispatched,
    /// Accepted by the lead unit (签收).
    Accepted,
    /// Returned as wrongly assigned (退回).
    Returned,
    /// Reassigned to another lead unit (改派).
    Reassigned,
    /// Fields changed by UpdateCase.
    Updated,
    /// Progress recorded (进展).
    ProgressRecorded,
    /// Replied (答复).
    Replied,
    /// Evaluated (评价).
    Evaluated,
    /// Reopened by a dissatisfied evaluation (重办).
    Reopened,
    /// A deadline warning raised (预警).
    Warned,
    /// Escalated (升级督办).
    Escalated,
    /// Became long-running (跨度超过半年).
    BecameLongRunning,
    /// A quarterly follow-up reminder sent.
    FollowUpReminded,
    /// Followed up (跟踪监督).
    FollowedUp,
    /// A quarter ended without a follow-up (漏督).
    QuarterMissed,
    /// A benefit recorded.
    BenefitRecorded,
    /// Closed (办结).
    Closed,
}

impl CaseAction {
    const ALL: [CaseAction; 17] = [
        Self::Dispatched,
        Self::Accepted,
        Self::Returned,
        Self::Reassigned,
        Self::Updated,
        Self::ProgressRecorded,
        Self::Replied,
        Self::Evaluated,
        Self::Reopened,
        Self::Warned,
        Self::Escalated,
        Self::BecameLongRunning,
        Self::FollowUpReminded,
        Self::FollowedUp,
        Self::QuarterMissed,
        Self::BenefitRecorded,
        Self::Closed,
    ];

    /// The contract's enum number, also what is stored (1–17 in the contract's order).
    pub fn as_i32(self) -> i32 {
        Self::ALL.iter().position(|a| *a == self).map_or(0, |i| i as i32 + 1)
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        usize::try_from(n).ok().and_then(|n| n.checked_sub(1)).and_then(|i| Self::ALL.get(i)).copied()
    }
}

/// The rung of the escalation ladder at which discipline inspection sees a case (the contract's
/// `ESCALATION_LEVEL_DISCIPLINE_INSPECTION`).
pub const ESCALATION_DISCIPLINE_INSPECTION: i32 = 3;

/// Where a case came from: one case per (kind, source id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseSource {
    /// What kind of source.
    pub kind: SourceKind,
    /// Its id in the owning service.
    pub source_id: String,
    /// Its title, copied for display.
    pub source_title: String,
}

/// An organisation as a case names it (lead unit, co-unit).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Unit {
    /// Stable identifier (the `organisation` claim of its users).
    pub id: String,
    /// Display name, e.g. "舟山市经济和信息化局".
    pub name: String,
    /// The contract's `OrganisationKind` number.
    pub kind: i32,
}

/// A person as a case names them (the unit head responsible, 一把手).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Person {
    /// Stable identifier; may be empty when only a name is known.
    pub id: String,
    /// Display name, e.g. "王建国".
    pub display_name: String,
    /// Position, e.g. "局长".
    pub title: String,
    /// The organisation they act for.
    pub organisation_id: String,
}

/// How the deadline of a new case is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineRequest {
    /// An instant, after dispatch.
    At(DateTime<Utc>),
    /// A number of working days after the dispatch day, ending 23:59:59 Asia/Shanghai.
    WorkingDays(u32),
}

/// CreateCase's case as the request gives it, before its checks.
#[derive(Debug, Clone, Default)]
pub struct CaseDraft {
    /// Title.
    pub title: String,
    /// What is assigned.
    pub description: String,
    /// The source's kind number, its id and title; `None` when the source is missing.
    pub source: Option<(i32, String, String)>,
    /// The lead unit; `None` when missing.
    pub lead_unit: Option<Unit>,
    /// Co-units.
    pub co_units: Vec<Unit>,
    /// The unit head; `None` when missing.
    pub responsible_head: Option<Person>,
    /// The deadline as an instant, if given.
    pub deadline_time: Option<DateTime<Utc>>,
    /// The deadline in working days (0 = not given).
    pub deadline_working_days: i32,
    /// Planned completion date as (year, month, day), if given.
    pub planned_completion_date: Option<(i32, i32, i32)>,
    /// Jointly supervised with the supervision offices.
    pub joint_supervision: bool,
    /// Flagged for discipline inspection.
    pub discipline_inspection: bool,
    /// Handling requirements.
    pub requirements: String,
    /// The enterprise concerned.
    pub enterprise_id: String,
    /// Who evaluates the reply.
    pub evaluator_id: String,
    /// Category code.
    pub category: String,
    /// District code.
    pub district: String,
    /// Industry code.
    pub industry: String,
}

/// A checked request to create and dispatch a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCase {
    /// Title, 1–200 characters.
    pub title: String,
    /// What is assigned, 1–20,000 characters.
    pub description: String,
    /// Where it came from.
    pub source: CaseSource,
    /// The lead unit.
    pub lead_unit: Unit,
    /// Distinct co-units, none of them the lead unit.
    pub co_units: Vec<Unit>,
    /// The unit head responsible.
    pub responsible_head: Person,
    /// The deadline as given.
    pub deadline: DeadlineRequest,
    /// Planned completion date (Asia/Shanghai).
    pub planned_completion_date: Option<NaiveDate>,
    /// Jointly supervised.
    pub joint_supervision: bool,
    /// Flagged for discipline inspection (always for a discipline referral).
    pub discipline_inspection: bool,
    /// Handling requirements (may be empty).
    pub requirements: String,
    /// The enterprise concerned (may be empty).
    pub enterprise_id: String,
    /// Who evaluates the reply (may be empty).
    pub evaluator_id: String,
    /// Category code (may be empty).
    pub category: String,
    /// District code (may be empty).
    pub district: String,
    /// Industry code (may be empty).
    pub industry: String,
}

fn code(v: &mut Violations, raw: &str, field: &str) -> String {
    v.check(optional_text(raw, MAX_CODE_CHARS, field)).unwrap_or_default()
}

fn unit(v: &mut Violations, raw: &Unit, field: &str) -> Unit {
    let id = v.check(required_text(&raw.id, MAX_CODE_CHARS, &format!("{field}.id"))).unwrap_or_default();
    let name = v.check(optional_text(&raw.name, MAX_NAME_CHARS, &format!("{field}.name"))).unwrap_or_default();
    if !(0..=8).contains(&raw.kind) {
        v.add(format!("{field}.kind"), "is not an OrganisationKind");
    }
    Unit { id, name, kind: raw.kind }
}

impl NewCase {
    /// Checks CreateCase's case (fields named as in the request: `case.title`, `deadline_working_days`…),
    /// reporting every problem at once.
    pub fn parse(draft: &CaseDraft) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let title = v.check(required_text(&draft.title, MAX_TITLE_CHARS, "case.title"));
        let description = v.check(required_text(&draft.description, MAX_DESCRIPTION_CHARS, "case.description"));
        let source = match &draft.source {
            None => {
                v.add("case.source", "is required: the kind and id of what the case is created from");
                None
            }
            Some((kind, id, title)) => {
                let kind = match SourceKind::from_i32(*kind) {
                    Some(kind) => Some(kind),
                    None => {
                        v.add(
                            "case.source.kind",
                            "must be SUGGESTION, SPECIAL_REPORT, COMMON_ISSUE, DEMAND or DISCIPLINE_REFERRAL",
                        );
                        None
                    }
                };
                let source_id = v.check(required_text(id, MAX_CODE_CHARS, "case.source.source_id"));
                let source_title = v.check(optional_text(title, MAX_NAME_CHARS, "case.source.source_title"));
                match (kind, source_id, source_title) {
                    (Some(kind), Some(source_id), Some(source_title)) => {
                        Some(CaseSource { kind, source_id, source_title })
                    }
                    _ => None,
                }
            }
        };
        let lead_unit = match &draft.lead_unit {
            None => {
                v.add("case.lead_unit", "is required: the lead handling unit (主办单位)");
                None
            }
            Some(raw) => Some(unit(&mut v, raw, "case.lead_unit")),
        };
        if draft.co_units.len() > MAX_CO_UNITS {
            v.add("case.co_units", format!("at most {MAX_CO_UNITS} co-units are allowed"));
        }
        let mut co_units: Vec<Unit> = Vec::new();
        for (i, raw) in draft.co_units.iter().enumerate() {
            let field = format!("case.co_units[{i}]");
            let u = unit(&mut v, raw, &field);
            if u.id.is_empty() {
                continue;
            }
            if lead_unit.as_ref().is_some_and(|l| l.id == u.id) {
                v.add(format!("{field}.id"), format!("{} is the lead unit; a co-unit must be another unit", u.id));
            } else if co_units.iter().any(|c| c.id == u.id) {
                v.add(format!("{field}.id"), format!("{} is listed twice", u.id));
            } else {
                co_units.push(u);
            }
        }
        let responsible_head = match &draft.responsible_head {
            None => {
                v.add("case.responsible_head", "is required: the unit head who answers for the case (一把手)");
                None
            }
            Some(raw) => {
                let f = |name: &str| format!("case.responsible_head.{name}");
                let display_name = v.check(required_text(&raw.display_name, MAX_NAME_CHARS, &f("display_name")));
                let id = v.check(optional_text(&raw.id, MAX_CODE_CHARS, &f("id")));
                let title = v.check(optional_text(&raw.title, MAX_NAME_CHARS, &f("title")));
                let org = v.check(optional_text(&raw.organisation_id, MAX_CODE_CHARS, &f("organisation_id")));
                match (display_name, id, title, org) {
                    (Some(display_name), Some(id), Some(title), Some(organisation_id)) => {
                        Some(Person { id, display_name, title, organisation_id })
                    }
                    _ => None,
                }
            }
        };
        let days = draft.deadline_working_days;
        if days != 0 && !WORKING_DAYS.contains(&days) {
            v.add(
                "deadline_working_days",
                format!("must be between {} and {} working days", WORKING_DAYS.start(), WORKING_DAYS.end()),
            );
        }
        let deadline = match (draft.deadline_time, days) {
            (Some(at), _) => Some(DeadlineRequest::At(at)),
            (None, 0) => {
                v.add("case.deadline_time", "is required, or give deadline_working_days");
                None
            }
            (None, n) => u32::try_from(n).ok().filter(|_| WORKING_DAYS.contains(&n)).map(DeadlineRequest::WorkingDays),
        };
        let planned_completion_date = match draft.planned_completion_date {
            None => Some(None),
            Some((y, m, d)) => match date_of(y, m, d) {
                Some(date) => Some(Some(date)),
                None => {
                    v.add("case.planned_completion_date", "is not a valid date");
                    None
                }
            },
        };
        let requirements = v.check(optional_text(&draft.requirements, MAX_REQUIREMENTS_CHARS, "case.requirements"));
        let enterprise_id = code(&mut v, &draft.enterprise_id, "case.enterprise_id");
        let evaluator_id = code(&mut v, &draft.evaluator_id, "case.evaluator_id");
        let category = code(&mut v, &draft.category, "case.category");
        let district = code(&mut v, &draft.district, "case.district");
        let industry = code(&mut v, &draft.industry, "case.industry");
        v.finish()?;
        let missing = || ServiceError::internal("a checked case field is missing without a violation");
        let source = source.ok_or_else(missing)?;
        let discipline_inspection = draft.discipline_inspection || source.kind == SourceKind::DisciplineReferral;
        Ok(Self {
            title: title.ok_or_else(missing)?,
            description: description.ok_or_else(missing)?,
            source,
            lead_unit: lead_unit.ok_or_else(missing)?,
            co_units,
            responsible_head: responsible_head.ok_or_else(missing)?,
            deadline: deadline.ok_or_else(missing)?,
            planned_completion_date: planned_completion_date.ok_or_else(missing)?,
            joint_supervision: draft.joint_supervision,
            discipline_inspection,
            requirements: requirements.ok_or_else(missing)?,
            enterprise_id,
            evaluator_id,
            category,
            district,
            industry,
        })
    }

    /// A canonical text of the request, kept with its request id so a retry with a different request
    /// is recognised.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        let deadline = match self.deadline {
            DeadlineRequest::At(t) => t.to_rfc3339(),
            DeadlineRequest::WorkingDays(n) => format!("{n} working days"),
        };
        let units: Vec<String> = self.co_units.iter().map(|u| format!("{}|{}|{}", u.id, u.name, u.kind)).collect();
        let head = &self.responsible_head;
        for part in [
            self.title.as_str(),
            &self.description,
            &self.source.kind.as_i32().to_string(),
            &self.source.source_id,
            &self.source.source_title,
            &self.lead_unit.id,
            &self.lead_unit.name,
            &self.lead_unit.kind.to_string(),
            &units.join(","),
            &head.id,
            &head.display_name,
            &head.title,
            &head.organisation_id,
            &deadline,
            &self.planned_completion_date.map(|d| d.to_string()).unwrap_or_default(),
            if self.joint_supervision { "1" } else { "0" },
            if self.discipline_inspection { "1" } else { "0" },
            &self.requirements,
            &self.enterprise_id,
            &self.evaluator_id,
            &self.category,
            &self.district,
            &self.industry,
        ] {
            push_length_prefixed(&mut text, part);
        }
        text
    }
}

/// The times a dispatch sets: the deadline, the return window, the first warning, and whether the case
/// is long-running from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// When it is dispatched.
    pub dispatch_time: DateTime<Utc>,
    /// When the reply is due.
    pub deadline_time: DateTime<Utc>,
    /// End of the 3rd working day after dispatch: the last moment to return it.
    pub return_deadline_time: DateTime<Utc>,
    /// The first warning (50 % of the allowed time, to the microsecond): when the deadline sweep next looks
    /// at it.
    pub next_due_time: DateTime<Utc>,
    /// Since when it is long-running, if its planned completion is more than six months away.
    pub long_running_since: Option<DateTime<Utc>>,
    /// When the follow-up sweep first looks at it: at dispatch when planned long, else when it would
    /// become long-running (six months after dispatch).
    pub follow_up_due_time: DateTime<Utc>,
}

/// The instant six calendar months after `t` in China Standard Time (办结时间跨度超过半年): the same
/// wall-clock time on the same day of the month, or on the month's last day when it has no such day
/// (2023-08-31 → 2024-02-29, 2024-08-31 → 2025-02-28).
pub fn six_months_after(t: DateTime<Utc>) -> DateTime<Utc> {
    let local = t.with_timezone(&tingjian_runtime::time::china());
    local.checked_add_months(Months::new(LONG_RUNNING_MONTHS)).map_or(t, |l| l.with_timezone(&Utc))
}

impl Schedule {
    /// The schedule of a case dispatched at `dispatch` with `deadline` and `planned` completion, working
    /// days counted on `calendar`. A deadline not after dispatch, or more than five years away, and a
    /// planned completion before the dispatch day are INVALID_ARGUMENT.
    pub fn at_dispatch(
        dispatch: DateTime<Utc>,
        deadline: DeadlineRequest,
        planned: Option<NaiveDate>,
        calendar: &WorkingCalendar,
    ) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let dispatch_day = china_date(dispatch);
        let deadline_time = match deadline {
            DeadlineRequest::At(at) => at,
            DeadlineRequest::WorkingDays(n) => calendar.end_of_working_days(dispatch, n),
        };
        if deadline_time <= dispatch {
            v.add("case.deadline_time", format!("must be after dispatch ({})", dispatch.to_rfc3339()));
        }
        let latest = dispatch.checked_add_months(Months::new(12 * MAX_DEADLINE_YEARS));
        if latest.is_some_and(|latest| deadline_time > latest) {
            v.add("case.deadline_time", format!("must be within {MAX_DEADLINE_YEARS} years of dispatch"));
        }
        let long_running_since = match planned {
            Some(date) if date < dispatch_day => {
                v.add("case.planned_completion_date", format!("{date} is before the dispatch day {dispatch_day}"));
                None
            }
            Some(date) => {
                let limit = dispatch_day.checked_add_months(Months::new(LONG_RUNNING_MONTHS));
                limit.filter(|limit| date > *limit).map(|_| dispatch)
            }
            None => None,
        };
        v.finish()?;
        let half = (deadline_time - dispatch) / 2;
        Ok(Self {
            dispatch_time: dispatch,
            deadline_time,
            return_deadline_time: calendar.end_of_working_days(dispatch, RETURN_WINDOW_WORKING_DAYS),
            next_due_time: (dispatch + half).trunc_subsecs(6),
            follow_up_due_time: long_running_since.unwrap_or_else(|| six_months_after(dispatch)),
            long_running_since,
        })
    }
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// What is to be done.
    pub description: String,
    /// Where it came from.
    pub source: CaseSource,
    /// The lead handling unit (主办单位).
    pub lead_unit: Unit,
    /// Co-handling units (协办单位), in the order given.
    pub co_units: Vec<Unit>,
    /// The unit head responsible (一把手).
    pub responsible_head: Person,
    /// Where it stands.
    pub status: CaseStatus,
    /// When it was (last) dispatched.
    pub dispatch_time: DateTime<Utc>,
    /// When the reply is due.
    pub deadline_time: DateTime<Utc>,
    /// Planned completion date (Asia/Shanghai).
    pub planned_completion_date: Option<NaiveDate>,
    /// Jointly supervised.
    pub joint_supervision: bool,
    /// Flagged for discipline inspection.
    pub discipline_inspection: bool,
    /// Handling requirements.
    pub requirements: String,
    /// The enterprise concerned.
    pub enterprise_id: String,
    /// Who evaluates the reply.
    pub evaluator_id: String,
    /// Category code.
    pub category: String,
    /// District code.
    pub district: String,
    /// Industry code.
    pub industry: String,
    /// Highest warning raised (the contract's `WarningLevel` number).
    pub warning_level: i32,
    /// Current escalation rung (the contract's `EscalationLevel` number).
    pub escalation_level: i32,
    /// Whether a sweep marked it overdue.
    pub overdue: bool,
    /// Whether it is long-running.
    pub long_running: bool,
    /// Since when it is long-running.
    pub long_running_since_time: Option<DateTime<Utc>>,
    /// Times a dissatisfied evaluation reopened it.
    pub reopen_count: i32,
    /// When progress was last recorded.
    pub last_progress_time: Option<DateTime<Utc>>,
    /// When the lead unit accepted it.
    pub accept_time: Option<DateTime<Utc>>,
    /// End of the return window.
    pub return_deadline_time: Option<DateTime<Utc>>,
    /// Reason given when returned.
    pub return_reason: String,
    /// When it was closed.
    pub close_time: Option<DateTime<Utc>>,
    /// End of the current quarter's follow-up window.
    pub next_follow_up_due_time: Option<DateTime<Utc>>,
    /// The latest reply.
    pub reply: Option<Reply>,
    /// When the first reply after the (latest) dispatch came; the handling time ends here.
    pub first_reply_time: Option<DateTime<Utc>>,
    /// The latest evaluation.
    pub evaluation: Option<Evaluation>,
    /// The unit that returned it as wrongly assigned (empty unless returned).
    pub returned_unit_id: String,
    /// When the deadline sweep next has something to do for it (a warning or a rung of the ladder).
    pub next_due_time: Option<DateTime<Utc>>,
    /// When the follow-up sweep next has something to do for it (long-running marking or a new quarter).
    pub follow_up_due_time: Option<DateTime<Utc>>,
    /// Cursor of its latest change on the discipline-inspection item list (0 when never listed).
    pub item_cursor: i64,
    /// Who dispatched it.
    pub dispatched_by: String,
    /// Revision (the etag).
    pub version: i64,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

impl Case {
    /// Whether the deadline passed without a reply at `now`: marked by a sweep, or the deadline is behind
    /// a case that still awaits its reply.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.overdue || (self.status.awaits_reply() && self.deadline_time < now)
    }

    /// Whether `scope` may see the case.
    pub fn visible_to(&self, scope: &Scope) -> bool {
        match scope {
            Scope::All => true,
            Scope::Unit(org) => self.lead_unit.id == *org || self.co_units.iter().any(|u| u.id == *org),
            Scope::DisciplineInspection => self.visible_to_discipline_inspection(),
        }
    }
}

/// A handling unit's reply to a case (答复).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Result class number (the contract's `ResultClass`: 1 A … 4 D).
    pub result_class: i32,
    /// The reply's text.
    pub text: String,
    /// Why it cannot be solved (D) or the plan (B, C).
    pub reason: String,
    /// The unit that replied.
    pub unit: Unit,
    /// Who replied.
    pub replied_by: String,
    /// When.
    pub reply_time: DateTime<Utc>,
    /// Whether the first reply came at or before the deadline.
    pub on_time: bool,
}

/// The evaluation of the latest reply (评价).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    /// Evaluation number (the contract's `EvaluationResult`: 1 satisfied, 2 basically, 3 dissatisfied).
    pub result: i32,
    /// Comment.
    pub comment: String,
    /// Who evaluated.
    pub evaluator: String,
    /// When.
    pub evaluate_time: DateTime<Utc>,
}

impl Case {
    /// Whether discipline inspection sees the case: flagged for it, or escalated to it.
    pub fn visible_to_discipline_inspection(&self) -> bool {
        self.discipline_inspection || self.escalation_level >= ESCALATION_DISCIPLINE_INSPECTION
    }
}

/// Which cases a reader may see (row scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every case (staff, supervisors, leaders, analysts).
    All,
    /// Cases where this organisation is the lead or a co-unit (a handling unit).
    Unit(String),
    /// Cases flagged for discipline inspection or escalated to it.
    DisciplineInspection,
}

/// One entry of a case's history: who, when, what and why. Append-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseHistoryEntry {
    /// The case.
    pub case_id: String,
    /// Position in the case's history, from 1, gap-free.
    pub sequence: i64,
    /// What happened.
    pub action: CaseAction,
    /// Status before (`None` for the dispatch that created it).
    pub from_status: Option<CaseStatus>,
    /// Status after.
    pub to_status: CaseStatus,
    /// Why, as the actor gave it.
    pub reason: String,
    /// Text of the step.
    pub text: String,
    /// Result class number, for a reply.
    pub result_class: i32,
    /// Evaluation result number, for an evaluation.
    pub evaluation_result: i32,
    /// Warning level number, for a warning.
    pub warning_level: i32,
    /// Escalation rung number, for an escalation.
    pub escalation_level: i32,
    /// Who did it; "system" for sweeps.
    pub actor: String,
    /// The actor's organisation.
    pub actor_organisation_id: String,
    /// When.
    pub time: DateTime<Utc>,
}

/// The filters of ListCases, checked; they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFilter {
    /// Row scope of the reader.
    pub scope: Scope,
    /// Only these statuses (any when empty).
    pub statuses: Vec<CaseStatus>,
    /// Only cases led by this unit.
    pub unit_id: Option<String>,
    /// With `unit_id`: also where it is a co-unit.
    pub include_co_units: bool,
    /// Only this source kind.
    pub source_kind: Option<SourceKind>,
    /// Only this source id.
    pub source_id: Option<String>,
    /// Only cases concerning this enterprise.
    pub enterprise_id: Option<String>,
    /// Only this category.
    pub category: Option<String>,
    /// Only cases dispatched in `[start, end)`.
    pub dispatched: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Only overdue cases.
    pub overdue_only: bool,
    /// Only long-running cases.
    pub long_running_only: bool,
    /// Only jointly supervised cases.
    pub joint_supervision_only: bool,
    /// Only cases flagged for discipline inspection.
    pub discipline_inspection_only: bool,
    /// Only cases escalated to at least this rung (0 = any).
    pub min_escalation_level: i32,
}

impl CaseFilter {
    /// A short digest of the filters, which binds a page token to them.
    pub fn digest(&self) -> String {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut text = String::new();
        let scope = match &self.scope {
            Scope::All => "all".to_owned(),
            Scope::Unit(org) => format!("unit:{org}"),
            Scope::DisciplineInspection => "discipline_inspection".to_owned(),
        };
        let statuses: Vec<String> = self.statuses.iter().map(|s| s.as_i32().to_string()).collect();
        let dispatched = self.dispatched.map(|(s, e)| format!("{}/{}", s.to_rfc3339(), e.to_rfc3339()));
        let flags = [
            self.include_co_units,
            self.overdue_only,
            self.long_running_only,
            self.joint_supervision_only,
            self.discipline_inspection_only,
        ]
        .map(|b| if b { '1' } else { '0' })
        .iter()
        .collect::<String>();
        for part in [
            scope.as_str(),
            &statuses.join(","),
            self.unit_id.as_deref().unwrap_or(""),
            &self.source_kind.map_or(0, SourceKind::as_i32).to_string(),
            self.source_id.as_deref().unwrap_or(""),
            self.enterprise_id.as_deref().unwrap_or(""),
            self.category.as_deref().unwrap_or(""),
            dispatched.as_deref().unwrap_or(""),
            &flags,
            &self.min_escalation_level.to_string(),
        ] {
            push_length_prefixed(&mut text, part);
        }
        let hash = text.bytes().fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME));
        format!("{hash:016x}")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::domain::calendar::{builtin, builtin_years};

    fn draft() -> CaseDraft {
        CaseDraft {
            title: "争取金融机构降低符合条件的远洋渔业相关企业综合融资成本".into(),
            description: "协调辖区金融机构对远洋渔业企业实行优惠利率。".into(),
            source: Some((1, "5d9a3c1e-0000-7000-8000-000000000001".into(), "关于降低远洋渔业融资成本的建议".into())),
            lead_unit: Some(Unit { id: "zs-jrb".into(), name: "舟山市金融办".into(), kind: 2 }),
            co_units: vec![Unit { id: "zs-jxj".into(), name: "舟山市经济和信息化局".into(), kind: 2 }],
            responsible_head: Some(Person {
                display_name: "王建国".into(),
                title: "主任".into(),
                ..Default::default()
            }),
            deadline_working_days: 15,
            ..Default::default()
        }
    }

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|x| x.field).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn calendar() -> WorkingCalendar {
        WorkingCalendar::new(builtin_years().filter_map(builtin))
    }

    #[test]
    fn statuses_and_actions_round_trip_through_their_numbers() {
        for n in 1..=7 {
            assert_eq!(CaseStatus::from_i32(n).map(CaseStatus::as_i32), Some(n));
        }
        assert_eq!(CaseStatus::from_i32(0), None);
        for n in 1..=17 {
            assert_eq!(CaseAction::from_i32(n).map(CaseAction::as_i32), Some(n));
        }
        assert_eq!(CaseAction::Closed.as_i32(), 17);
        assert_eq!(CaseAction::from_i32(18), None);
        assert_eq!(CaseAction::from_i32(0), None);
    }

    #[test]
    fn a_complete_draft_parses() {
        let case = NewCase::parse(&draft()).expect("valid");
        assert_eq!(case.deadline, DeadlineRequest::WorkingDays(15));
        assert_eq!(case.source.kind, SourceKind::Suggestion);
        assert!(!case.discipline_inspection);
        let mut referral = draft();
        referral.source = Some((5, "referral-1".into(), String::new()));
        assert!(NewCase::parse(&referral).expect("valid").discipline_inspection);
    }

    #[test]
    fn every_problem_is_named() {
        let mut bad = draft();
        bad.title = "  ".into();
        bad.source = Some((0, String::new(), String::new()));
        bad.co_units = vec![
            Unit { id: "zs-jrb".into(), ..Default::default() },
            Unit { id: "zs-jxj".into(), ..Default::default() },
            Unit { id: "zs-jxj".into(), ..Default::default() },
        ];
        bad.responsible_head = None;
        bad.deadline_working_days = 400;
        bad.planned_completion_date = Some((2026, 2, 30));
        assert_eq!(
            fields(NewCase::parse(&bad).expect_err("invalid")),
            [
                "case.title",
                "case.source.kind",
                "case.source.source_id",
                "case.co_units[0].id",
                "case.co_units[2].id",
                "case.responsible_head",
                "deadline_working_days",
                "case.planned_completion_date",
            ]
        );
        let mut none = draft();
        none.deadline_working_days = 0;
        none.lead_unit = None;
        none.source = None;
        assert_eq!(
            fields(NewCase::parse(&none).expect_err("invalid")),
            ["case.source", "case.lead_unit", "case.deadline_time"]
        );
    }

    #[test]
    fn working_day_deadlines_end_at_the_close_of_a_china_day() {
        // Dispatched 2026-09-30 10:00 CST (02:00 UTC).
        let dispatch = Utc.with_ymd_and_hms(2026, 9, 30, 2, 0, 0).single().expect("instant");
        let s = Schedule::at_dispatch(dispatch, DeadlineRequest::WorkingDays(5), None, &calendar()).expect("ok");
        // 10-08, 10-09, 10-10 (make-up), 10-12, 10-13.
        assert_eq!(s.deadline_time.to_rfc3339(), "2026-10-13T15:59:59+00:00");
        assert_eq!(s.return_deadline_time.to_rfc3339(), "2026-10-10T15:59:59+00:00");
        assert_eq!(s.next_due_time, dispatch + (s.deadline_time - dispatch) / 2);
        assert_eq!(s.long_running_since, None);
    }

    #[test]
    fn planned_completion_beyond_six_months_is_long_running_from_dispatch() {
        let dispatch = Utc.with_ymd_and_hms(2026, 3, 10, 1, 0, 0).single().expect("instant");
        let cal = calendar();
        let at = DeadlineRequest::At(dispatch + chrono::Duration::days(30));
        let six = NaiveDate::from_ymd_opt(2026, 9, 10);
        let later = NaiveDate::from_ymd_opt(2026, 9, 11);
        assert_eq!(Schedule::at_dispatch(dispatch, at, six, &cal).expect("ok").long_running_since, None);
        assert_eq!(Schedule::at_dispatch(dispatch, at, later, &cal).expect("ok").long_running_since, Some(dispatch));
        let before = NaiveDate::from_ymd_opt(2026, 3, 9);
        assert_eq!(
            fields(Schedule::at_dispatch(dispatch, at, before, &cal).expect_err("before dispatch")),
            ["case.planned_completion_date"]
        );
        let past = DeadlineRequest::At(dispatch - chrono::Duration::hours(1));
        assert_eq!(
            fields(Schedule::at_dispatch(dispatch, past, None, &cal).expect_err("past")),
            ["case.deadline_time"]
        );
    }

    #[test]
    fn filter_digests_differ_by_filter() {
        let base = CaseFilter {
            scope: Scope::All,
            statuses: vec![],
            unit_id: None,
            include_co_units: false,
            source_kind: None,
            source_id: None,
            enterprise_id: None,
            category: None,
            dispatched: None,
            overdue_only: false,
            long_running_only: false,
            joint_supervision_only: false,
            discipline_inspection_only: false,
            min_escalation_level: 0,
        };
        let mut other = base.clone();
        other.scope = Scope::Unit("zs-jxj".into());
        assert_ne!(base.digest(), other.digest());
        assert_eq!(base.digest(), base.clone().digest());
    }
}
