//! Deadline warnings (预警) and the overdue escalation ladder (升级督办): pure rules.
//!
//! The clock of a case runs from its (latest) dispatch to its deadline while it awaits a reply. Warnings
//! are raised at 50 %, 75 % and 100 % of that time, each once per dispatch; at 100 % the case is overdue.
//! Past the deadline it climbs the configured ladder: a step is reached at the end of its
//! `after_working_days`-th working day after the deadline's China day (0: at the deadline itself). A
//! returned case waits for its reassignment, which restarts the clock, so it is not watched meanwhile.

use chrono::{DateTime, SubsecRound as _, Utc};
use tingjian_runtime::fields::push_length_prefixed;
use tingjian_runtime::settings::{EscalationRung, LadderStep};
use tingjian_runtime::time::china_date;

use super::calendar::{WorkingCalendar, end_of_china_day};
use super::case::{Case, CaseStatus, Scope};

/// The contract's `WARNING_LEVEL_HALF`: 50 % of the allowed time elapsed (黄灯).
pub const WARNING_HALF: i32 = 1;
/// The contract's `WARNING_LEVEL_THREE_QUARTERS`: 75 % elapsed (橙灯).
pub const WARNING_THREE_QUARTERS: i32 = 2;
/// The contract's `WARNING_LEVEL_DUE`: the deadline is reached without a reply (红灯).
pub const WARNING_DUE: i32 = 3;
/// The contract's `ESCALATION_REASON_OVERDUE`.
pub const REASON_OVERDUE: i32 = 1;

/// The contract's `EscalationLevel` number of a rung of the ladder.
pub fn rung_level(rung: EscalationRung) -> i32 {
    match rung {
        EscalationRung::Unit => 1,
        EscalationRung::SupervisionOffice => 2,
        EscalationRung::DisciplineInspection => 3,
    }
}

/// What the deadline rules read of a case: enough to know when it next has something due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineState {
    /// Where it stands.
    pub status: CaseStatus,
    /// When it was (last) dispatched: the clock starts here.
    pub dispatch_time: DateTime<Utc>,
    /// When the reply is due.
    pub deadline_time: DateTime<Utc>,
    /// Highest warning raised so far.
    pub warning_level: i32,
    /// Current rung of the ladder.
    pub escalation_level: i32,
}

impl DeadlineState {
    /// The deadline state of `case`.
    pub fn of(case: &Case) -> Self {
        Self {
            status: case.status,
            dispatch_time: case.dispatch_time,
            deadline_time: case.deadline_time,
            warning_level: case.warning_level,
            escalation_level: case.escalation_level,
        }
    }

    /// Whether the deadline is being watched: the unit owes a reply and the case is not waiting to be
    /// reassigned.
    pub fn watched(&self) -> bool {
        self.status.awaits_reply() && self.status != CaseStatus::Returned
    }

    /// When warning `level` (1–3) falls due: that share of the time from dispatch to the deadline, to the
    /// microsecond both backends store.
    pub fn warning_time(&self, level: i32) -> DateTime<Utc> {
        let span = self.deadline_time - self.dispatch_time;
        match level {
            WARNING_HALF => (self.dispatch_time + span / 2).trunc_subsecs(6),
            WARNING_THREE_QUARTERS => (self.dispatch_time + span * 3 / 4).trunc_subsecs(6),
            _ => self.deadline_time,
        }
    }

    /// When ladder `step` is reached: at the deadline for 0 working days, else at the end (23:59:59
    /// Asia/Shanghai) of the `after_working_days`-th working day after the deadline's day.
    pub fn rung_time(&self, step: &LadderStep, calendar: &WorkingCalendar) -> DateTime<Utc> {
        if step.after_working_days == 0 {
            return self.deadline_time;
        }
        end_of_china_day(calendar.working_days_after(china_date(self.deadline_time), step.after_working_days))
    }

    /// Every step not taken yet that falls due at or before `as_of`, in the order they fell due (a
    /// warning before a rung reached at the same instant).
    pub fn due_steps(&self, ladder: &[LadderStep], calendar: &WorkingCalendar, as_of: DateTime<Utc>) -> Vec<DueStep> {
        if !self.watched() {
            return Vec::new();
        }
        let mut steps: Vec<(DateTime<Utc>, DueStep)> = Vec::new();
        for level in (self.warning_level + 1).max(WARNING_HALF)..=WARNING_DUE {
            let at = self.warning_time(level);
            if at <= as_of {
                steps.push((at, DueStep::Warning { level }));
            }
        }
        for step in ladder {
            let level = rung_level(step.rung);
            let at = self.rung_time(step, calendar);
            if level > self.escalation_level && at <= as_of {
                steps.push((at, DueStep::Escalation { level, after_working_days: step.after_working_days }));
            }
        }
        // Stable: warnings stay ahead of rungs reached at the same instant, and rungs stay in ladder order.
        steps.sort_by_key(|(at, _)| *at);
        let mut highest = self.escalation_level;
        steps
            .into_iter()
            .map(|(_, step)| step)
            .filter(|step| match step {
                DueStep::Warning { .. } => true,
                DueStep::Escalation { level, .. } => {
                    let climbs = *level > highest;
                    highest = highest.max(*level);
                    climbs
                }
            })
            .collect()
    }

    /// The next instant the deadline sweep has something to do: the next warning not raised yet, or the
    /// next rung above the current one; `None` when the deadline is not watched or the ladder is done.
    pub fn next_check(&self, ladder: &[LadderStep], calendar: &WorkingCalendar) -> Option<DateTime<Utc>> {
        if !self.watched() {
            return None;
        }
        let warning =
            (self.warning_level < WARNING_DUE).then(|| self.warning_time((self.warning_level + 1).max(WARNING_HALF)));
        let rung = ladder
            .iter()
            .filter(|step| rung_level(step.rung) > self.escalation_level)
            .map(|step| self.rung_time(step, calendar))
            .min();
        match (warning, rung) {
            (Some(w), Some(r)) => Some(w.min(r)),
            (w, r) => w.or(r),
        }
    }
}

/// A step of the deadline rules that fell due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueStep {
    /// Raise warning `level`.
    Warning {
        /// The contract's `WarningLevel` number.
        level: i32,
    },
    /// Escalate to rung `level`, reached `after_working_days` working days past the deadline.
    Escalation {
        /// The contract's `EscalationLevel` number.
        level: i32,
        /// Working days past the deadline of the ladder step.
        after_working_days: u32,
    },
}

/// The next instant the deadline sweep has work for `case` (its next warning not raised yet, else its
/// next rung of `ladder`, working days counted on `calendar`); `None` when the case no longer awaits a
/// reply (or was returned and waits for reassignment) or has climbed the whole ladder.
pub fn next_deadline_check(case: &Case, ladder: &[LadderStep], calendar: &WorkingCalendar) -> Option<DateTime<Utc>> {
    DeadlineState::of(case).next_check(ladder, calendar)
}

/// The detail of an overdue escalation, e.g. "超期3个工作日未答复".
pub fn overdue_detail(after_working_days: u32) -> String {
    if after_working_days == 0 {
        "超过办理期限未答复".to_owned()
    } else {
        format!("超期{after_working_days}个工作日未答复")
    }
}

/// The key of the escalation of `case_id` to rung `level` for being overdue after its dispatch at
/// `dispatch_time`: one escalation per rung and dispatch.
pub fn overdue_cause_key(case_id: &str, dispatch_time: DateTime<Utc>, level: i32) -> String {
    format!("overdue:{case_id}:{}:{level}", dispatch_time.to_rfc3339())
}

/// The warning level a history note or a message names, in words.
pub fn warning_text(level: i32) -> &'static str {
    match level {
        WARNING_HALF => "办理时限已过半（黄灯预警）",
        WARNING_THREE_QUARTERS => "办理时限已过四分之三（橙灯预警）",
        _ => "已到办理期限未答复（红灯预警）",
    }
}

/// A half-open range `[start, end)` where either end may be open.
pub type OpenRange = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The filters of ListWarnings, checked; they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningFilter {
    /// Row scope of the reader.
    pub scope: Scope,
    /// Only warnings of this case.
    pub case_id: Option<String>,
    /// Only warnings to this lead unit.
    pub unit_id: Option<String>,
    /// Only this level (0 = any).
    pub level: i32,
    /// Only warnings raised in this range.
    pub raised: OpenRange,
}

/// The filters of ListEscalations, checked; they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationFilter {
    /// Row scope of the reader.
    pub scope: Scope,
    /// Only escalations of this case.
    pub case_id: Option<String>,
    /// Only escalations of cases led by this unit (at the time).
    pub unit_id: Option<String>,
    /// Only this rung (0 = any).
    pub level: i32,
    /// Only this reason (0 = any).
    pub reason: i32,
    /// Only escalations made in this range.
    pub escalated: OpenRange,
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::All => "all".to_owned(),
        Scope::Unit(org) => format!("unit:{org}"),
        Scope::DisciplineInspection => "discipline_inspection".to_owned(),
    }
}

fn range_text((start, end): &OpenRange) -> String {
    format!("{}/{}", start.map(|t| t.to_rfc3339()).unwrap_or_default(), end.map(|t| t.to_rfc3339()).unwrap_or_default())
}

/// A short digest (FNV-1a, hex) of filter parts, binding page tokens to their filters.
fn digest_of(parts: &[&str]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut text = String::new();
    for part in parts {
        push_length_prefixed(&mut text, part);
    }
    let hash = text.bytes().fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

impl WarningFilter {
    /// A digest of the filters, binding page tokens to them.
    pub fn digest(&self) -> String {
        digest_of(&[
            &scope_text(&self.scope),
            self.case_id.as_deref().unwrap_or(""),
            self.unit_id.as_deref().unwrap_or(""),
            &self.level.to_string(),
            &range_text(&self.raised),
        ])
    }
}

impl EscalationFilter {
    /// A digest of the filters, binding page tokens to them.
    pub fn digest(&self) -> String {
        digest_of(&[
            &scope_text(&self.scope),
            self.case_id.as_deref().unwrap_or(""),
            self.unit_id.as_deref().unwrap_or(""),
            &self.level.to_string(),
            &self.reason.to_string(),
            &range_text(&self.escalated),
        ])
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;
    use crate::domain::calendar::builtin;

    fn china(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        chrono::FixedOffset::east_opt(8 * 3600)
            .and_then(|z| z.with_ymd_and_hms(y, m, d, h, mi, s).single())
            .map(|t| t.with_timezone(&Utc))
            .expect("valid instant")
    }

    fn calendar() -> WorkingCalendar {
        WorkingCalendar::new((2024..=2026).filter_map(builtin))
    }

    fn ladder() -> Vec<LadderStep> {
        vec![
            LadderStep { rung: EscalationRung::Unit, after_working_days: 0 },
            LadderStep { rung: EscalationRung::SupervisionOffice, after_working_days: 5 },
            LadderStep { rung: EscalationRung::DisciplineInspection, after_working_days: 10 },
        ]
    }

    /// Dispatched Monday 2024-01-15 09:00, due Friday 2024-01-26 23:59:59 (China).
    fn state() -> DeadlineState {
        DeadlineState {
            status: CaseStatus::Dispatched,
            dispatch_time: china(2024, 1, 15, 9, 0, 0),
            deadline_time: china(2024, 1, 26, 23, 59, 59),
            warning_level: 0,
            escalation_level: 0,
        }
    }

    #[test]
    fn warnings_fall_at_half_three_quarters_and_the_deadline() {
        let s = state();
        let span = s.deadline_time - s.dispatch_time;
        assert_eq!(s.warning_time(WARNING_HALF), s.dispatch_time + span / 2);
        assert_eq!(s.warning_time(WARNING_THREE_QUARTERS), s.dispatch_time + span * 3 / 4);
        assert_eq!(s.warning_time(WARNING_DUE), s.deadline_time);
    }

    #[test]
    fn rungs_count_working_days_after_the_deadline_day() {
        let s = state();
        let steps = ladder();
        assert_eq!(s.rung_time(&steps[0], &calendar()), s.deadline_time);
        // 5 working days after Friday 2024-01-26: Mon 29 … Fri 2 February.
        assert_eq!(s.rung_time(&steps[1], &calendar()), china(2024, 2, 2, 23, 59, 59));
        // 10 working days: Mon 5 … Fri 9 February falls in the Spring Festival (10–17 February holidays;
        // Sunday 4 and Sunday 18 February are make-up working days): 4, 5, 6, 7, 8 → the 10th is Feb 8.
        assert_eq!(s.rung_time(&steps[2], &calendar()), china(2024, 2, 8, 23, 59, 59));
    }

    #[test]
    fn due_steps_come_in_order_and_only_once() {
        let s = state();
        let cal = calendar();
        assert!(s.due_steps(&ladder(), &cal, s.dispatch_time).is_empty());
        let half = s.due_steps(&ladder(), &cal, s.warning_time(WARNING_HALF));
        assert_eq!(half, vec![DueStep::Warning { level: WARNING_HALF }]);
        let late = s.due_steps(&ladder(), &cal, china(2024, 2, 3, 0, 0, 0));
        assert_eq!(
            late,
            vec![
                DueStep::Warning { level: WARNING_HALF },
                DueStep::Warning { level: WARNING_THREE_QUARTERS },
                DueStep::Warning { level: WARNING_DUE },
                DueStep::Escalation { level: 1, after_working_days: 0 },
                DueStep::Escalation { level: 2, after_working_days: 5 },
            ]
        );
        let raised = DeadlineState { warning_level: WARNING_DUE, escalation_level: 2, ..s };
        assert!(raised.due_steps(&ladder(), &cal, china(2024, 2, 3, 0, 0, 0)).is_empty());
        let all = raised.due_steps(&ladder(), &cal, china(2024, 3, 1, 0, 0, 0));
        assert_eq!(all, vec![DueStep::Escalation { level: 3, after_working_days: 10 }]);
    }

    #[test]
    fn a_manual_escalation_skips_lower_rungs() {
        let s = DeadlineState { warning_level: WARNING_THREE_QUARTERS, escalation_level: 2, ..state() };
        let steps = s.due_steps(&ladder(), &calendar(), china(2024, 1, 30, 0, 0, 0));
        assert_eq!(steps, vec![DueStep::Warning { level: WARNING_DUE }]);
    }

    #[test]
    fn next_check_walks_warnings_then_rungs_then_stops() {
        let cal = calendar();
        let mut s = state();
        assert_eq!(s.next_check(&ladder(), &cal), Some(s.warning_time(WARNING_HALF)));
        s.warning_level = WARNING_HALF;
        assert_eq!(s.next_check(&ladder(), &cal), Some(s.warning_time(WARNING_THREE_QUARTERS)));
        s.warning_level = WARNING_DUE;
        assert_eq!(s.next_check(&ladder(), &cal), Some(s.deadline_time));
        s.escalation_level = 1;
        assert_eq!(s.next_check(&ladder(), &cal), Some(china(2024, 2, 2, 23, 59, 59)));
        s.escalation_level = 3;
        assert_eq!(s.next_check(&ladder(), &cal), None);
    }

    #[test]
    fn replied_closed_and_returned_cases_are_not_watched() {
        let cal = calendar();
        for status in [CaseStatus::Replied, CaseStatus::Evaluated, CaseStatus::Closed, CaseStatus::Returned] {
            let s = DeadlineState { status, ..state() };
            assert_eq!(s.next_check(&ladder(), &cal), None, "{status}");
            assert!(s.due_steps(&ladder(), &cal, s.deadline_time + Duration::days(60)).is_empty(), "{status}");
        }
        for status in [CaseStatus::Dispatched, CaseStatus::Accepted, CaseStatus::InProgress] {
            assert!(DeadlineState { status, ..state() }.watched(), "{status}");
        }
    }

    #[test]
    fn the_next_check_is_never_already_due_after_the_due_steps() {
        let cal = calendar();
        let ladder = ladder();
        let mut at = state().dispatch_time;
        let mut s = state();
        while let Some(next) = s.next_check(&ladder, &cal) {
            assert!(next > at || s.due_steps(&ladder, &cal, at).is_empty());
            at = next;
            for step in s.due_steps(&ladder, &cal, at) {
                match step {
                    DueStep::Warning { level } => s.warning_level = level,
                    DueStep::Escalation { level, .. } => s.escalation_level = level,
                }
            }
            assert!(s.next_check(&ladder, &cal).is_none_or(|n| n > at));
        }
        assert_eq!((s.warning_level, s.escalation_level), (WARNING_DUE, 3));
    }

    #[test]
    fn details_and_keys() {
        assert_eq!(overdue_detail(3), "超期3个工作日未答复");
        assert_eq!(overdue_detail(0), "超过办理期限未答复");
        let key = overdue_cause_key("c1", china(2024, 1, 15, 9, 0, 0), 2);
        assert_eq!(key, "overdue:c1:2024-01-15T01:00:00+00:00:2");
    }

    #[test]
    fn digests_change_with_the_filters() {
        let base = WarningFilter { scope: Scope::All, case_id: None, unit_id: None, level: 0, raised: (None, None) };
        let other = WarningFilter { level: 1, ..base.clone() };
        assert_ne!(base.digest(), other.digest());
        assert_eq!(base.digest(), base.clone().digest());
    }
}
