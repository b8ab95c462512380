//! Long-running cases and their quarterly follow-up (办结时间跨度超过半年的事项，每季度至少跟踪监督1次).
//! Pure rules: since when a case is long-running, the calendar quarters (Asia/Shanghai) it owes a
//! follow-up in, what the follow-up sweep does for a due case or a due task, the checked request of
//! RecordFollowUp, and the per-quarter compliance of one case.
//!
//! A case is long-running from six months after its first dispatch (or from dispatch when planned to take
//! longer) until it closes. It owes a quarter when it was long-running and open at some instant of it; an
//! owed quarter is required once it has ended or already has a follow-up, and followed when at least one
//! follow-up happened in it. Example: dispatched 2024-01-15, long-running from 2024-07-15, it owes Q3 2024
//! (due 2024-10-01T00:00:00+08:00, exclusive), then Q4 2024, and so on until it closes.

use chrono::{DateTime, TimeDelta, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{optional_text, required_text};
use tingjian_runtime::time::{Period, PeriodKind};

use super::case::{MAX_CODE_CHARS, MAX_NAME_CHARS, Scope, Unit, six_months_after};

/// Most supervisors named on one follow-up.
pub const MAX_SUPERVISORS: usize = 20;
/// Longest supervisor subject, in characters.
pub const MAX_SUPERVISOR_CHARS: usize = 128;
/// Longest findings or progress text, in characters.
pub const MAX_FOLLOW_UP_TEXT_CHARS: usize = 10_000;
/// How far in the future a follow-up time may lie (clock skew between the caller and the service).
pub const FOLLOW_TIME_TOLERANCE: TimeDelta = TimeDelta::minutes(1);

/// Where a quarterly follow-up task stands (the contract's `FollowUpTaskStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TaskStatus {
    /// Owed; no follow-up and no reminder yet.
    Open,
    /// Owed; the reminder before quarter end was sent.
    Reminded,
    /// Satisfied by at least one follow-up in the quarter.
    Done,
    /// The quarter ended without a follow-up (漏督).
    Missed,
}

impl TaskStatus {
    /// Every status, in the contract's order.
    pub const ALL: [TaskStatus; 4] = [Self::Open, Self::Reminded, Self::Done, Self::Missed];

    /// The contract's enum number, also what is stored.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Open => 1,
            Self::Reminded => 2,
            Self::Done => 3,
            Self::Missed => 4,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_i32() == n)
    }

    /// Whether a follow-up is still owed (OPEN or REMINDED).
    pub fn is_owed(self) -> bool {
        matches!(self, Self::Open | Self::Reminded)
    }

    /// The status's name in the contract, without the prefix.
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Reminded => "REMINDED",
            Self::Done => "DONE",
            Self::Missed => "MISSED",
        }
    }
}

/// How a follow-up was done (the contract's `FollowUpMethod`, 1–4: on site, meeting, document, phone).
pub const FOLLOW_UP_METHODS: std::ops::RangeInclusive<i32> = 1..=4;

/// The quarter (Asia/Shanghai) containing `t`.
pub fn quarter_of(t: DateTime<Utc>) -> Period {
    Period::quarter_of(t)
}

/// The first instant of `quarter` and the first instant after it (00:00:00 +08:00 both).
pub fn quarter_bounds(quarter: Period) -> (DateTime<Utc>, DateTime<Utc>) {
    quarter.utc_range()
}

/// The quarter after `quarter`.
pub fn next_quarter(quarter: Period) -> Period {
    Period::quarter_of(quarter.utc_range().1)
}

/// A quarter as a sortable key (year, number).
pub fn quarter_key(quarter: Period) -> (i32, u32) {
    (quarter.year(), quarter.number())
}

/// Since when a case created at `create_time` is long-running: as marked (at dispatch when planned to
/// take longer than six months, or by the sweep), else six months after its first dispatch.
pub fn long_running_since(create_time: DateTime<Utc>, marked: Option<DateTime<Utc>>) -> DateTime<Utc> {
    marked.unwrap_or_else(|| six_months_after(create_time))
}

/// When the reminder of a quarter due at `due_time` is sent: `reminder_days` days before, or `now` when
/// that has already passed.
pub fn reminder_time(due_time: DateTime<Utc>, reminder_days: u32, now: DateTime<Utc>) -> DateTime<Utc> {
    let at = due_time - TimeDelta::days(i64::from(reminder_days));
    if at < now { now.min(due_time) } else { at }
}

/// The rung a missed quarter escalates a case at `current` to: the first rung of the configured `ladder`
/// (rung numbers in order) above `current`; the top rung when none is above.
pub fn next_rung(current: i32, ladder: &[i32]) -> i32 {
    ladder.iter().copied().find(|r| *r > current).unwrap_or_else(|| ladder.iter().copied().fold(current, i32::max))
}

/// What the follow-up sweep does for a case whose follow-up due time has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseStep {
    /// Mark the case long-running since this instant (it was not yet).
    pub mark_long_running: Option<DateTime<Utc>>,
    /// Create this quarter's task (if it does not exist yet): the quarter of `as_of`.
    pub task_quarter: Option<Period>,
    /// The first quarter whose task to create, when sweeps did not run for a while: every quarter from this
    /// one to `task_quarter` gets its task (the past ones are then found missed or done by the task sweep).
    pub first_task_quarter: Option<Period>,
    /// When the sweep next looks at the case; `None` when never again.
    pub follow_up_due_time: Option<DateTime<Utc>>,
}

/// The follow-up sweep's step for a case at `as_of`: `closed`, `long_running` (since `since`) as stored,
/// first dispatched at `create_time`, due for the sweep since `due`.
pub fn case_step(
    closed: bool,
    long_running: bool,
    since: Option<DateTime<Utc>>,
    create_time: DateTime<Utc>,
    due: DateTime<Utc>,
    as_of: DateTime<Utc>,
) -> CaseStep {
    let wait = |until: Option<DateTime<Utc>>, mark: Option<DateTime<Utc>>| CaseStep {
        mark_long_running: mark,
        task_quarter: None,
        first_task_quarter: None,
        follow_up_due_time: until,
    };
    if closed {
        return wait(None, None);
    }
    let (since, mark) = if long_running {
        (since.unwrap_or(create_time), None)
    } else {
        let since = six_months_after(create_time);
        if as_of < since {
            return wait(Some(since), None);
        }
        (since, Some(since))
    };
    if as_of < since {
        return wait(Some(since), mark);
    }
    let quarter = quarter_of(as_of);
    CaseStep {
        mark_long_running: mark,
        task_quarter: Some(quarter),
        first_task_quarter: Some(quarter_of(due.max(since).min(as_of))),
        follow_up_due_time: Some(quarter_bounds(quarter).1),
    }
}

/// The quarters from `first` to `last`, both included, in order.
pub fn quarters_through(first: Period, last: Period) -> Vec<Period> {
    let mut quarters = vec![first];
    let mut current = first;
    while current != last && quarter_bounds(current).1 <= quarter_bounds(last).0 {
        current = quarter_of(quarter_bounds(current).1);
        quarters.push(current);
    }
    quarters
}

/// What the follow-up sweep does for a task whose next action time has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStep {
    /// Send the reminder; the task is next looked at when the quarter ends.
    Remind,
    /// Nothing to send now; look again at this instant.
    Wait(DateTime<Utc>),
    /// A follow-up happened in the quarter: the task is done.
    Done,
    /// The quarter ended without a follow-up: record it missed, escalating when the case is open.
    Miss {
        /// Whether to escalate (the case is still open).
        escalate: bool,
    },
    /// Nothing more to do for the task.
    Settled,
}

/// The follow-up sweep's step for a task in `status` due at `due_time`, at `as_of`; `followed` when the
/// case has a follow-up in the quarter, `case_open` while the case is not closed.
pub fn task_step(
    status: TaskStatus,
    due_time: DateTime<Utc>,
    as_of: DateTime<Utc>,
    followed: bool,
    case_open: bool,
) -> TaskStep {
    if !status.is_owed() {
        return TaskStep::Settled;
    }
    if followed {
        return TaskStep::Done;
    }
    if as_of >= due_time {
        return TaskStep::Miss { escalate: case_open };
    }
    if status == TaskStatus::Open && case_open { TaskStep::Remind } else { TaskStep::Wait(due_time) }
}

/// The quarters a compliance report counts: whole quarters within a requested month, quarter or year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarterWindow {
    /// First instant counted.
    pub start: DateTime<Utc>,
    /// First instant after.
    pub end: DateTime<Utc>,
    /// Count only quarters that have ended (a month counts its quarter's status only once it ended).
    pub ended_only: bool,
}

impl QuarterWindow {
    /// The window of a requested `period`: its quarters for a quarter or a year; for a month, the quarter
    /// containing it once that quarter has ended.
    pub fn of(period: Period) -> Self {
        match period.kind() {
            PeriodKind::Month => {
                let (start, end) = quarter_bounds(quarter_of(period.utc_range().0));
                Self { start, end, ended_only: true }
            }
            PeriodKind::Quarter | PeriodKind::Year => {
                let (start, end) = period.utc_range();
                Self { start, end, ended_only: false }
            }
        }
    }

    fn counts(&self, quarter: Period, ended: bool) -> bool {
        let (start, end) = quarter_bounds(quarter);
        self.start <= start && end <= self.end && (ended || !self.ended_only)
    }
}

/// Where an owed quarter stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuarterState {
    /// At least one follow-up happened in it (required and followed).
    Followed,
    /// It ended without a follow-up (required, not followed).
    Missed,
    /// The current quarter, still without a follow-up (not yet required).
    Pending,
}

/// One owed quarter of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuarterLine {
    /// The quarter.
    pub quarter: Period,
    /// Where it stands.
    pub state: QuarterState,
    /// Follow-ups in it.
    pub follow_ups: u32,
}

/// Compliance counts over owed quarters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// Required quarters (followed or missed).
    pub required: u32,
    /// Required quarters with at least one follow-up.
    pub followed: u32,
    /// Ended quarters without a follow-up.
    pub missed: u32,
    /// Current quarters still owed.
    pub pending: u32,
}

impl Tally {
    /// The counts of `lines`.
    pub fn of(lines: &[QuarterLine]) -> Self {
        let mut tally = Self::default();
        for line in lines {
            tally.add(line.state);
        }
        tally
    }

    /// Counts one quarter in `state`.
    pub fn add(&mut self, state: QuarterState) {
        match state {
            QuarterState::Followed => {
                self.required += 1;
                self.followed += 1;
            }
            QuarterState::Missed => {
                self.required += 1;
                self.missed += 1;
            }
            QuarterState::Pending => self.pending += 1,
        }
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: Tally) {
        self.required += other.required;
        self.followed += other.followed;
        self.missed += other.missed;
        self.pending += other.pending;
    }
}

/// The owed quarters of one case, oldest first, as of `now`: long-running from `since`, closed at
/// `close_time` (if closed), followed up at `follow_ups`; only quarters within `window` when given.
///
/// A quarter is owed when the case was long-running and open at some instant of it up to `now` (open
/// means before `close_time`). An owed quarter with a follow-up is followed; an ended one without is
/// missed; the current one without is pending.
pub fn quarter_compliance(
    since: DateTime<Utc>,
    close_time: Option<DateTime<Utc>>,
    follow_ups: &[DateTime<Utc>],
    now: DateTime<Utc>,
    window: Option<&QuarterWindow>,
) -> Vec<QuarterLine> {
    let mut lines = Vec::new();
    if since > now || close_time.is_some_and(|c| c <= since) {
        return lines;
    }
    let mut quarter = quarter_of(since);
    loop {
        let (start, end) = quarter_bounds(quarter);
        let first = since.max(start);
        if first > now || close_time.is_some_and(|c| c <= first) {
            break;
        }
        let ended = end <= now;
        if window.is_none_or(|w| w.counts(quarter, ended)) {
            let count = follow_ups.iter().filter(|t| start <= **t && **t < end).count();
            let follow_ups = u32::try_from(count).unwrap_or(u32::MAX);
            let state = if follow_ups > 0 {
                QuarterState::Followed
            } else if ended {
                QuarterState::Missed
            } else {
                QuarterState::Pending
            };
            lines.push(QuarterLine { quarter, state, follow_ups });
        }
        quarter = next_quarter(quarter);
    }
    lines
}

/// The filters of ListFollowUpTasks, checked; they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskFilter {
    /// Row scope of the reader.
    pub scope: Scope,
    /// Only this quarter (year, number).
    pub quarter: Option<(i32, u32)>,
    /// Only these statuses (any when empty).
    pub statuses: Vec<TaskStatus>,
    /// Only tasks of cases led by this unit.
    pub unit_id: Option<String>,
    /// Only tasks of this case.
    pub case_id: Option<String>,
}

/// The filters of ListFollowUps, checked; they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUpFilter {
    /// Row scope of the reader.
    pub scope: Scope,
    /// Only follow-ups of this case.
    pub case_id: Option<String>,
    /// Only follow-ups of cases led by this unit.
    pub unit_id: Option<String>,
    /// Only follow-ups done in `[start, end)`.
    pub period: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Only this method (the contract's number).
    pub method: Option<i32>,
}

/// Which cases a compliance report covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceFilter {
    /// Row scope of the reader.
    pub scope: Scope,
    /// Only this case.
    pub case_id: Option<String>,
    /// Only cases led by this unit.
    pub unit_id: Option<String>,
    /// Only cases open at some instant at or after this one (the start of the requested period).
    pub open_since: Option<DateTime<Utc>>,
}

/// What compliance needs to know of one case that is or may be long-running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceCase {
    /// The case.
    pub case_id: String,
    /// Its title.
    pub title: String,
    /// Its lead unit.
    pub lead_unit: Unit,
    /// Its first dispatch.
    pub create_time: DateTime<Utc>,
    /// Since when it is long-running, when marked.
    pub long_running_since_time: Option<DateTime<Utc>>,
    /// When it closed, if it is closed.
    pub close_time: Option<DateTime<Utc>>,
    /// When its follow-ups happened.
    pub follow_ups: Vec<DateTime<Utc>>,
    /// The status of its task of the current quarter, if any.
    pub current_task: Option<TaskStatus>,
}

impl ComplianceCase {
    /// Its owed quarters as of `now`, within `window` when given.
    pub fn quarters(&self, now: DateTime<Utc>, window: Option<&QuarterWindow>) -> Vec<QuarterLine> {
        let since = long_running_since(self.create_time, self.long_running_since_time);
        quarter_compliance(since, self.close_time, &self.follow_ups, now, window)
    }
}

/// The order of per-case compliance lines, lowest compliance first: cases with required quarters by
/// followed/required ascending, then more missed quarters first; then cases with only a pending quarter;
/// ties by case id.
pub fn compare_compliance(a: (&Tally, &str), b: (&Tally, &str)) -> std::cmp::Ordering {
    let (ta, ia) = a;
    let (tb, ib) = b;
    let bucket = |t: &Tally| u8::from(t.required == 0);
    bucket(ta)
        .cmp(&bucket(tb))
        .then_with(|| {
            // followed_a / required_a against followed_b / required_b, without division.
            (u64::from(ta.followed) * u64::from(tb.required)).cmp(&(u64::from(tb.followed) * u64::from(ta.required)))
        })
        .then_with(|| tb.missed.cmp(&ta.missed))
        .then_with(|| ia.cmp(ib))
}

/// A follow-up to record, checked (RecordFollowUp).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollowUp {
    /// How (the contract's `FollowUpMethod` number).
    pub method: i32,
    /// When it was done.
    pub follow_time: DateTime<Utc>,
    /// Subjects of the supervisors, in the order given, without repeats.
    pub supervisor_ids: Vec<String>,
    /// The supervising organisation, if given.
    pub supervising_organisation: Option<Unit>,
    /// What was found.
    pub findings: String,
    /// Progress observed.
    pub progress: String,
}

/// The fields of a RecordFollowUp request as sent, before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowUpDraft {
    /// Method number.
    pub method: i32,
    /// Follow time, `None` when unset (an invalid timestamp is reported by the caller).
    pub follow_time: Option<DateTime<Utc>>,
    /// Supervisor subjects.
    pub supervisor_ids: Vec<String>,
    /// Supervising organisation (id, name, kind), if sent.
    pub supervising_organisation: Option<Unit>,
    /// Findings.
    pub findings: String,
    /// Progress.
    pub progress: String,
}

impl NewFollowUp {
    /// Checks `draft` at `now` (fields under `follow_up.`); every violation at once. `follow_time_valid`
    /// is false when the sent timestamp was already reported invalid.
    pub fn parse(draft: &FollowUpDraft, now: DateTime<Utc>, follow_time_valid: bool) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        if !FOLLOW_UP_METHODS.contains(&draft.method) {
            v.add("follow_up.method", "is required: ON_SITE, MEETING, DOCUMENT or PHONE");
        }
        let follow_time = match draft.follow_time {
            Some(t) if t > now + FOLLOW_TIME_TOLERANCE => {
                v.add("follow_up.follow_time", format!("must not be in the future (now is {})", now.to_rfc3339()));
                None
            }
            Some(t) => Some(t),
            None => {
                if follow_time_valid {
                    v.add("follow_up.follow_time", "is required");
                }
                None
            }
        };
        let mut supervisor_ids: Vec<String> = Vec::new();
        if draft.supervisor_ids.is_empty() {
            v.add("follow_up.supervisor_ids", "needs at least one supervisor");
        } else if draft.supervisor_ids.len() > MAX_SUPERVISORS {
            v.add("follow_up.supervisor_ids", format!("at most {MAX_SUPERVISORS} supervisors are allowed"));
        }
        for (i, raw) in draft.supervisor_ids.iter().enumerate() {
            let field = format!("follow_up.supervisor_ids[{i}]");
            if raw.contains(['\n', '\r']) {
                v.add(field, "must not contain line breaks");
                continue;
            }
            if let Some(id) = v.check(required_text(raw, MAX_SUPERVISOR_CHARS, &field))
                && !supervisor_ids.contains(&id)
            {
                supervisor_ids.push(id);
            }
        }
        let supervising_organisation = draft.supervising_organisation.as_ref().and_then(|o| {
            let id = v.check(optional_text(&o.id, MAX_CODE_CHARS, "follow_up.supervising_organisation.id"));
            let name = v.check(optional_text(&o.name, MAX_NAME_CHARS, "follow_up.supervising_organisation.name"));
            if !(0..=8).contains(&o.kind) {
                v.add("follow_up.supervising_organisation.kind", "is not an OrganisationKind");
            }
            match (id, name) {
                (Some(id), Some(name)) if id.is_empty() && name.is_empty() => None,
                (Some(id), Some(name)) => Some(Unit { id, name, kind: o.kind }),
                _ => None,
            }
        });
        let findings = v.check(required_text(&draft.findings, MAX_FOLLOW_UP_TEXT_CHARS, "follow_up.findings"));
        let progress = v.check(optional_text(&draft.progress, MAX_FOLLOW_UP_TEXT_CHARS, "follow_up.progress"));
        v.finish()?;
        match (follow_time, findings, progress) {
            (Some(follow_time), Some(findings), Some(progress)) => Ok(Self {
                method: draft.method,
                follow_time,
                supervisor_ids,
                supervising_organisation,
                findings,
                progress,
            }),
            _ => Err(ServiceError::internal("a checked follow-up field is missing without a violation")),
        }
    }

    /// The request's fingerprint, which tells a retry from a different request under the same id.
    pub fn fingerprint(&self, case_id: &str) -> String {
        let mut text = String::new();
        let organisation = self.supervising_organisation.as_ref();
        for part in [
            case_id,
            &self.method.to_string(),
            &self.follow_time.timestamp_micros().to_string(),
            &self.supervisor_ids.join("\n"),
            organisation.map_or("", |o| o.id.as_str()),
            organisation.map_or("", |o| o.name.as_str()),
            &organisation.map_or(0, |o| o.kind).to_string(),
            &self.findings,
            &self.progress,
        ] {
            tingjian_runtime::fields::push_length_prefixed(&mut text, part);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{Duration, TimeZone as _};
    use proptest::prelude::*;
    use tingjian_runtime::time::{china, start_of_china_day};

    use super::*;

    fn china_at(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        china().with_ymd_and_hms(y, m, d, h, mi, s).single().map(|t| t.with_timezone(&Utc)).expect("valid instant")
    }

    fn q(year: i32, number: u32) -> Period {
        Period::new(PeriodKind::Quarter, year, number, "").expect("valid quarter")
    }

    fn states(lines: &[QuarterLine]) -> Vec<((i32, u32), QuarterState, u32)> {
        lines.iter().map(|l| (quarter_key(l.quarter), l.state, l.follow_ups)).collect()
    }

    #[test]
    fn a_case_dispatched_mid_january_owes_q3_then_q4() {
        let dispatch = china_at(2024, 1, 15, 9, 0, 0);
        let since = long_running_since(dispatch, None);
        assert_eq!(since, china_at(2024, 7, 15, 9, 0, 0));
        let q3 = quarter_of(since);
        assert_eq!(quarter_key(q3), (2024, 3));
        let (_, due) = quarter_bounds(q3);
        assert_eq!(due, china_at(2024, 10, 1, 0, 0, 0));
        assert_eq!(due - Duration::seconds(1), china_at(2024, 9, 30, 23, 59, 59));
        assert_eq!(quarter_key(next_quarter(q3)), (2024, 4));
        assert_eq!(quarter_key(next_quarter(q(2024, 4))), (2025, 1));

        // Before: nothing owed; in Q3: pending; after Q3 without a follow-up: missed, Q4 pending.
        assert!(quarter_compliance(since, None, &[], china_at(2024, 7, 15, 8, 59, 59), None).is_empty());
        let now = china_at(2024, 8, 1, 0, 0, 0);
        assert_eq!(states(&quarter_compliance(since, None, &[], now, None)), [((2024, 3), QuarterState::Pending, 0)]);
        let now = china_at(2024, 10, 1, 0, 0, 0);
        assert_eq!(
            states(&quarter_compliance(since, None, &[], now, None)),
            [((2024, 3), QuarterState::Missed, 0), ((2024, 4), QuarterState::Pending, 0)]
        );
        let follow = [china_at(2024, 9, 2, 10, 0, 0), china_at(2024, 12, 20, 15, 0, 0)];
        let now = china_at(2025, 1, 2, 0, 0, 0);
        let lines = quarter_compliance(since, None, &follow, now, None);
        assert_eq!(
            states(&lines),
            [
                ((2024, 3), QuarterState::Followed, 1),
                ((2024, 4), QuarterState::Followed, 1),
                ((2025, 1), QuarterState::Pending, 0)
            ]
        );
        assert_eq!(Tally::of(&lines), Tally { required: 2, followed: 2, missed: 0, pending: 1 });
    }

    #[test]
    fn a_follow_up_in_the_current_quarter_makes_it_required_and_followed() {
        let since = china_at(2024, 7, 15, 9, 0, 0);
        let lines =
            quarter_compliance(since, None, &[china_at(2024, 8, 5, 9, 0, 0)], china_at(2024, 8, 6, 0, 0, 0), None);
        assert_eq!(states(&lines), [((2024, 3), QuarterState::Followed, 1)]);
        assert_eq!(Tally::of(&lines), Tally { required: 1, followed: 1, missed: 0, pending: 0 });
    }

    #[test]
    fn a_case_closing_mid_quarter_still_owes_that_quarter() {
        let since = china_at(2024, 7, 15, 9, 0, 0);
        let close = china_at(2024, 11, 10, 16, 0, 0);
        let now = china_at(2025, 3, 1, 0, 0, 0);
        // Without a follow-up in Q4 the quarter is missed; nothing is owed after the close.
        let lines = quarter_compliance(since, Some(close), &[china_at(2024, 9, 1, 9, 0, 0)], now, None);
        assert_eq!(states(&lines), [((2024, 3), QuarterState::Followed, 1), ((2024, 4), QuarterState::Missed, 0)]);
        // A follow-up before the close satisfies it.
        let follow = [china_at(2024, 9, 1, 9, 0, 0), china_at(2024, 11, 8, 9, 0, 0)];
        let lines = quarter_compliance(since, Some(close), &follow, now, None);
        assert_eq!(states(&lines), [((2024, 3), QuarterState::Followed, 1), ((2024, 4), QuarterState::Followed, 1)]);
        // Before Q4 ends it is still pending.
        let lines = quarter_compliance(since, Some(close), &follow[..1], china_at(2024, 11, 20, 0, 0, 0), None);
        assert_eq!(states(&lines), [((2024, 3), QuarterState::Followed, 1), ((2024, 4), QuarterState::Pending, 0)]);
        // Closed exactly when Q4 starts: Q4 is not owed.
        let lines = quarter_compliance(since, Some(china_at(2024, 10, 1, 0, 0, 0)), &[], now, None);
        assert_eq!(states(&lines), [((2024, 3), QuarterState::Missed, 0)]);
    }

    #[test]
    fn a_case_closed_before_it_became_long_running_owes_nothing() {
        let dispatch = china_at(2024, 1, 15, 9, 0, 0);
        let since = long_running_since(dispatch, None);
        let close = china_at(2024, 7, 15, 8, 0, 0);
        assert!(quarter_compliance(since, Some(close), &[], china_at(2025, 1, 1, 0, 0, 0), None).is_empty());
        let at = china_at(2024, 7, 15, 9, 0, 0);
        assert_eq!(case_step(true, false, None, dispatch, at, at).follow_up_due_time, None);
    }

    #[test]
    fn six_months_lands_on_the_last_day_of_short_months() {
        let since = long_running_since(china_at(2023, 8, 31, 10, 0, 0), None);
        assert_eq!(since, china_at(2024, 2, 29, 10, 0, 0));
        assert_eq!(quarter_key(quarter_of(since)), (2024, 1));
        let since = long_running_since(china_at(2024, 2, 29, 10, 0, 0), None);
        assert_eq!(since, china_at(2024, 8, 29, 10, 0, 0));
        assert_eq!(quarter_key(quarter_of(since)), (2024, 3));
        // Marked at dispatch (planned longer): long-running from dispatch.
        let dispatch = china_at(2024, 2, 29, 10, 0, 0);
        assert_eq!(long_running_since(dispatch, Some(dispatch)), dispatch);
    }

    #[test]
    fn quarters_turn_at_midnight_china_time() {
        let since = china_at(2024, 7, 15, 9, 0, 0);
        let now = china_at(2025, 1, 5, 0, 0, 0);
        let last_second_of_q3 = china_at(2024, 9, 30, 23, 59, 59);
        let first_instant_of_q4 = china_at(2024, 10, 1, 0, 0, 0);
        let lines = quarter_compliance(since, None, &[last_second_of_q3], now, None);
        assert_eq!(states(&lines)[..2], [((2024, 3), QuarterState::Followed, 1), ((2024, 4), QuarterState::Missed, 0)]);
        let lines = quarter_compliance(since, None, &[first_instant_of_q4], now, None);
        assert_eq!(states(&lines)[..2], [((2024, 3), QuarterState::Missed, 0), ((2024, 4), QuarterState::Followed, 1)]);
        // Q3 ends at its due time exactly: at 23:59:59 it is pending, at 00:00:00 missed.
        let lines = quarter_compliance(since, None, &[], last_second_of_q3, None);
        assert_eq!(states(&lines), [((2024, 3), QuarterState::Pending, 0)]);
        let lines = quarter_compliance(since, None, &[], first_instant_of_q4, None);
        assert_eq!(states(&lines), [((2024, 3), QuarterState::Missed, 0), ((2024, 4), QuarterState::Pending, 0)]);
        // Long-running from exactly a quarter's first instant: that quarter is owed, the one before is not.
        let lines = quarter_compliance(first_instant_of_q4, None, &[], now, None);
        assert_eq!(states(&lines), [((2024, 4), QuarterState::Missed, 0), ((2025, 1), QuarterState::Pending, 0)]);
    }

    #[test]
    fn windows_count_whole_quarters_and_months_only_once_ended() {
        let since = china_at(2024, 7, 15, 9, 0, 0);
        let now = china_at(2025, 2, 10, 0, 0, 0);
        let follow = [china_at(2024, 12, 1, 9, 0, 0)];
        let year = Period::new(PeriodKind::Year, 2024, 0, "").expect("valid");
        let lines = quarter_compliance(since, None, &follow, now, Some(&QuarterWindow::of(year)));
        assert_eq!(states(&lines), [((2024, 3), QuarterState::Missed, 0), ((2024, 4), QuarterState::Followed, 1)]);
        let lines = quarter_compliance(since, None, &follow, now, Some(&QuarterWindow::of(q(2024, 4))));
        assert_eq!(states(&lines), [((2024, 4), QuarterState::Followed, 1)]);
        let november = Period::new(PeriodKind::Month, 2024, 11, "").expect("valid");
        let lines = quarter_compliance(since, None, &follow, now, Some(&QuarterWindow::of(november)));
        assert_eq!(states(&lines), [((2024, 4), QuarterState::Followed, 1)]);
        // The current quarter's month does not count until the quarter ends.
        let february = Period::new(PeriodKind::Month, 2025, 2, "").expect("valid");
        assert!(quarter_compliance(since, None, &follow, now, Some(&QuarterWindow::of(february))).is_empty());
    }

    #[test]
    fn the_sweep_marks_then_creates_the_current_quarters_task() {
        let dispatch = china_at(2024, 1, 15, 9, 0, 0);
        let since = china_at(2024, 7, 15, 9, 0, 0);
        let early = case_step(false, false, None, dispatch, since, china_at(2024, 7, 1, 0, 0, 0));
        let waiting = CaseStep {
            mark_long_running: None,
            task_quarter: None,
            first_task_quarter: None,
            follow_up_due_time: Some(since),
        };
        assert_eq!(early, waiting);
        let step = case_step(false, false, None, dispatch, since, since);
        assert_eq!(step.mark_long_running, Some(since));
        assert_eq!(step.task_quarter.map(quarter_key), Some((2024, 3)));
        assert_eq!(step.follow_up_due_time, Some(china_at(2024, 10, 1, 0, 0, 0)));
        let q4 = china_at(2024, 10, 1, 0, 0, 0);
        let step = case_step(false, true, Some(since), dispatch, q4, q4);
        assert_eq!(step.mark_long_running, None);
        assert_eq!(step.task_quarter.map(quarter_key), Some((2024, 4)));
        assert_eq!(step.first_task_quarter.map(quarter_key), Some((2024, 4)));
        assert_eq!(step.follow_up_due_time, Some(china_at(2025, 1, 1, 0, 0, 0)));
    }

    #[test]
    fn a_sweep_after_a_long_pause_creates_every_quarter_it_missed() {
        let dispatch = china_at(2024, 1, 15, 9, 0, 0);
        let since = china_at(2024, 7, 15, 9, 0, 0);
        // Due since the case became long-running; the next sweep runs only in May 2025.
        let step = case_step(false, false, None, dispatch, since, china_at(2025, 5, 6, 10, 0, 0));
        assert_eq!(step.mark_long_running, Some(since));
        let (first, last) = (step.first_task_quarter.expect("first"), step.task_quarter.expect("last"));
        let quarters: Vec<(i32, u32)> = quarters_through(first, last).into_iter().map(quarter_key).collect();
        assert_eq!(quarters, [(2024, 3), (2024, 4), (2025, 1), (2025, 2)]);
        assert_eq!(step.follow_up_due_time, Some(china_at(2025, 7, 1, 0, 0, 0)));
        assert_eq!(quarters_through(last, last), [last]);
    }

    #[test]
    fn reminders_and_missed_quarters() {
        let due = china_at(2024, 10, 1, 0, 0, 0);
        assert_eq!(reminder_time(due, 15, china_at(2024, 7, 15, 9, 0, 0)), china_at(2024, 9, 16, 0, 0, 0));
        let late = china_at(2024, 9, 25, 9, 0, 0);
        assert_eq!(reminder_time(due, 15, late), late);
        assert_eq!(reminder_time(due, 0, late), due);
        let reminded_at = china_at(2024, 9, 16, 0, 0, 0);
        assert_eq!(task_step(TaskStatus::Open, due, reminded_at, false, true), TaskStep::Remind);
        assert_eq!(task_step(TaskStatus::Open, due, reminded_at, false, false), TaskStep::Wait(due));
        assert_eq!(task_step(TaskStatus::Reminded, due, reminded_at, false, true), TaskStep::Wait(due));
        assert_eq!(task_step(TaskStatus::Reminded, due, due, false, true), TaskStep::Miss { escalate: true });
        assert_eq!(task_step(TaskStatus::Open, due, due, false, false), TaskStep::Miss { escalate: false });
        assert_eq!(task_step(TaskStatus::Reminded, due, due, true, true), TaskStep::Done);
        assert_eq!(task_step(TaskStatus::Missed, due, due, false, true), TaskStep::Settled);
        assert_eq!(task_step(TaskStatus::Done, due, due, true, true), TaskStep::Settled);
    }

    #[test]
    fn missed_quarters_climb_the_configured_ladder() {
        assert_eq!(next_rung(0, &[1, 2, 3]), 1);
        assert_eq!(next_rung(1, &[1, 2, 3]), 2);
        assert_eq!(next_rung(2, &[1, 3]), 3);
        assert_eq!(next_rung(3, &[1, 2, 3]), 3);
        assert_eq!(next_rung(0, &[2]), 2);
        assert_eq!(next_rung(1, &[]), 1);
    }

    #[test]
    fn task_statuses_round_trip() {
        for status in TaskStatus::ALL {
            assert_eq!(TaskStatus::from_i32(status.as_i32()), Some(status));
        }
        assert_eq!(TaskStatus::from_i32(0), None);
        assert_eq!(TaskStatus::from_i32(5), None);
    }

    fn draft() -> FollowUpDraft {
        FollowUpDraft {
            method: 1,
            follow_time: Some(china_at(2024, 8, 1, 10, 0, 0)),
            supervisor_ids: vec!["cppcc-member-chen".into(), "supervisor-zhao".into()],
            supervising_organisation: Some(Unit { id: "zs-dcs".into(), name: "市委督查室".into(), kind: 3 }),
            findings: "企业融资成本已下降0.5个百分点，仍有两家银行未落实优惠利率。".into(),
            progress: "已召开银企对接会。".into(),
        }
    }

    fn fields(err: ServiceError) -> Vec<String> {
        match err {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn follow_ups_are_checked_field_by_field() {
        let now = china_at(2024, 8, 1, 12, 0, 0);
        let ok = NewFollowUp::parse(&draft(), now, true).expect("valid");
        assert_eq!(ok.supervisor_ids.len(), 2);
        assert_eq!(ok.fingerprint("c"), NewFollowUp::parse(&draft(), now, true).expect("valid").fingerprint("c"));
        // A minute of clock skew is accepted; more is the future.
        let mut skewed = draft();
        skewed.follow_time = Some(now + Duration::seconds(59));
        assert!(NewFollowUp::parse(&skewed, now, true).is_ok());
        let bad = FollowUpDraft {
            method: 9,
            follow_time: Some(now + Duration::minutes(5)),
            supervisor_ids: vec!["a\nb".into(), " ".into(), "x".repeat(129)],
            supervising_organisation: None,
            findings: "  ".into(),
            progress: "进".repeat(10_001),
        };
        let got = fields(NewFollowUp::parse(&bad, now, true).expect_err("invalid"));
        for field in [
            "follow_up.method",
            "follow_up.follow_time",
            "follow_up.supervisor_ids[0]",
            "follow_up.supervisor_ids[1]",
            "follow_up.supervisor_ids[2]",
            "follow_up.findings",
            "follow_up.progress",
        ] {
            assert!(got.iter().any(|f| f == field), "{field} missing from {got:?}");
        }
        let none = FollowUpDraft { supervisor_ids: Vec::new(), follow_time: None, ..draft() };
        let got = fields(NewFollowUp::parse(&none, now, true).expect_err("invalid"));
        assert!(
            got.contains(&"follow_up.supervisor_ids".to_owned()) && got.contains(&"follow_up.follow_time".to_owned())
        );
        let many = FollowUpDraft { supervisor_ids: (0..21).map(|i| format!("s{i}")).collect(), ..draft() };
        assert_eq!(fields(NewFollowUp::parse(&many, now, true).expect_err("invalid")), ["follow_up.supervisor_ids"]);
    }

    /// Compliance computed the slow way: every China day boundary from the long-running start to `now`,
    /// plus the exact instants, decides per quarter whether the case was long-running and open then.
    fn brute_force(
        since: DateTime<Utc>,
        close_time: Option<DateTime<Utc>>,
        follow_ups: &[DateTime<Utc>],
        now: DateTime<Utc>,
        window: Option<Period>,
    ) -> Vec<((i32, u32), QuarterState, u32)> {
        let active = |t: DateTime<Utc>| since <= t && close_time.is_none_or(|c| t < c) && t <= now;
        let mut points = vec![since, now];
        let mut day = start_of_china_day(tingjian_runtime::time::china_date(since));
        while day <= now {
            points.push(day);
            day += Duration::days(1);
        }
        let mut owed: BTreeMap<(i32, u32), u32> = BTreeMap::new();
        for t in points.into_iter().filter(|t| active(*t)) {
            owed.insert(quarter_key(Period::quarter_of(t)), 0);
        }
        for f in follow_ups {
            if let Some(count) = owed.get_mut(&quarter_key(Period::quarter_of(*f))) {
                *count += 1;
            }
        }
        let current = quarter_key(Period::quarter_of(now));
        owed.into_iter()
            .filter_map(|(key, count)| {
                let ended = key < current;
                let included = match window {
                    None => true,
                    Some(p) => match p.kind() {
                        PeriodKind::Year => key.0 == p.year(),
                        PeriodKind::Quarter => key == (p.year(), p.number()),
                        PeriodKind::Month => ended && key == (p.year(), (p.number() - 1) / 3 + 1),
                    },
                };
                let state = if count > 0 {
                    QuarterState::Followed
                } else if ended {
                    QuarterState::Missed
                } else {
                    QuarterState::Pending
                };
                included.then_some((key, state, count))
            })
            .collect()
    }

    /// Instants 2023–2027, often exactly on or next to a quarter boundary.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        let base = china_at(2023, 1, 1, 0, 0, 0);
        let span = 4 * 366 * 86_400_i64;
        prop_oneof![
            (0..span).prop_map(move |s| base + Duration::seconds(s)),
            (2023..2027_i32, 1..=4_u32, -1..=1_i64).prop_map(|(y, n, d)| {
                let (start, _) = quarter_bounds(Period::new(PeriodKind::Quarter, y, n, "").expect("valid"));
                start + Duration::seconds(d)
            }),
        ]
    }

    fn window() -> impl Strategy<Value = Option<Period>> {
        prop_oneof![
            Just(None),
            (2023..2027_i32).prop_map(|y| Period::new(PeriodKind::Year, y, 0, "").ok()),
            (2023..2027_i32, 1..=4_u32).prop_map(|(y, n)| Period::new(PeriodKind::Quarter, y, n, "").ok()),
            (2023..2027_i32, 1..=12_u32).prop_map(|(y, n)| Period::new(PeriodKind::Month, y, n, "").ok()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn compliance_matches_a_walk_of_the_timeline(
            since in instant(),
            close in proptest::option::of(instant()),
            follow_ups in proptest::collection::vec(instant(), 0..12),
            now in instant(),
            window in window(),
        ) {
            // A case closes after it was dispatched and before now; follow-ups happen before now.
            let close = close.filter(|c| *c <= now);
            let follow_ups: Vec<DateTime<Utc>> = follow_ups.into_iter().filter(|f| *f <= now).collect();
            let lines = quarter_compliance(since, close, &follow_ups, now, window.map(QuarterWindow::of).as_ref());
            let expected = brute_force(since, close, &follow_ups, now, window);
            prop_assert_eq!(states(&lines), expected.clone());
            let tally = Tally::of(&lines);
            let followed = expected.iter().filter(|e| e.1 == QuarterState::Followed).count() as u32;
            let missed = expected.iter().filter(|e| e.1 == QuarterState::Missed).count() as u32;
            let pending = expected.iter().filter(|e| e.1 == QuarterState::Pending).count() as u32;
            prop_assert_eq!(tally, Tally { required: followed + missed, followed, missed, pending });
        }
    }
}
