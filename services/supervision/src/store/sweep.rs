//! The sweeps: deadline warnings and overdue escalations (here), long-running follow-ups and overdue
//! rectification orders (in their own files), run periodically by every replica and on demand.
//!
//! A sweep touches only what is due: each case carries `next_due_time`, the next instant the deadline
//! rules have something to do for it, under a partial index. The sweep claims due cases in batches —
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL, so replicas share the work without waiting on each other; on
//! SQLite an immediate transaction holds the single write lock — and for each one raises every warning
//! and climbs every rung that fell due (all at once, in order, when the sweep ran late), then moves
//! `next_due_time` on. Each warning and escalation happens exactly once even with several replicas: the
//! row locks serialise the work on a case, the claim re-reads `next_due_time` under its lock, and the
//! UNIQUE keys of warnings (case, dispatch, level) and escalations (their cause key) refuse a second one.

use std::collections::HashSet;
use std::ops::RangeInclusive;
use std::time::Duration;

use chrono::{DateTime, Datelike as _, Utc};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::{Database, Tx};
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::write::{
    HistoryNote, NewEscalation, SYSTEM_ACTOR, commit_case_change, insert_escalation, lock_case, record_case_event,
};
use super::{Arg, Conditions, Store};
use crate::domain::deadline::{
    DeadlineState, DueStep, EscalationFilter, REASON_OVERDUE, WARNING_DUE, WarningFilter, overdue_cause_key,
    overdue_detail, warning_text,
};
use crate::domain::{Case, CaseAction, CaseStatus, ESCALATION_DISCIPLINE_INSPECTION, Scope, Unit, WorkingCalendar};

/// Cases claimed per transaction by the deadline sweep.
const BATCH: i64 = 200;

/// Which sweep to run (the contract's `SweepKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SweepKind {
    /// Deadline warnings and overdue escalations.
    Deadlines,
    /// Long-running marking, quarterly tasks, reminders and missed quarters.
    FollowUps,
    /// Rectification orders past their deadline.
    Rectifications,
}

impl SweepKind {
    /// Every sweep, in the order they run.
    pub const ALL: [SweepKind; 3] = [Self::Deadlines, Self::FollowUps, Self::Rectifications];

    /// From the contract's enum number.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Deadlines),
            2 => Some(Self::FollowUps),
            3 => Some(Self::Rectifications),
            _ => None,
        }
    }
}

/// What one run of the deadline sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeadlineSweep {
    /// Due cases examined.
    pub examined: i32,
    /// Warnings raised.
    pub warnings_raised: i32,
    /// Escalations made.
    pub escalations: i32,
}

/// What one run of the sweeps did on this replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    /// The instant due items were evaluated against.
    pub as_of: DateTime<Utc>,
    /// Due items examined (cases, tasks, orders).
    pub items_examined: i32,
    /// Deadline warnings raised.
    pub warnings_raised: i32,
    /// Escalations made (overdue and missed quarters).
    pub escalations: i32,
    /// Cases newly marked long-running.
    pub long_running_marked: i32,
    /// Quarterly tasks created.
    pub tasks_created: i32,
    /// Reminders sent.
    pub reminders_sent: i32,
    /// Missed quarters recorded.
    pub quarters_missed: i32,
    /// Rectification orders newly marked overdue.
    pub rectifications_overdue: i32,
    /// How long it took.
    pub duration: Duration,
}

impl SweepReport {
    fn empty(as_of: DateTime<Utc>) -> Self {
        Self {
            as_of,
            items_examined: 0,
            warnings_raised: 0,
            escalations: 0,
            long_running_marked: 0,
            tasks_created: 0,
            reminders_sent: 0,
            quarters_missed: 0,
            rectifications_overdue: 0,
            duration: Duration::ZERO,
        }
    }

    /// Whether it did anything.
    pub fn did_something(&self) -> bool {
        self.warnings_raised
            + self.escalations
            + self.long_running_marked
            + self.tasks_created
            + self.reminders_sent
            + self.quarters_missed
            + self.rectifications_overdue
            > 0
    }
}

/// What the claim reads of a due case: enough to know whether anything is due without locking it.
#[derive(sqlx::FromRow)]
struct DueRow {
    id: String,
    status: i32,
    dispatch_time: DateTime<Utc>,
    deadline_time: DateTime<Utc>,
    warning_level: i32,
    escalation_level: i32,
}

#[derive(sqlx::FromRow)]
struct WarningRow {
    id: String,
    case_id: String,
    case_title: String,
    level: i32,
    lead_unit: String,
    lead_unit_name: String,
    lead_unit_kind: i32,
    deadline_time: DateTime<Utc>,
    raise_time: DateTime<Utc>,
}

impl From<WarningRow> for pb::DeadlineWarning {
    fn from(r: WarningRow) -> Self {
        let unit = Unit { id: r.lead_unit, name: r.lead_unit_name, kind: r.lead_unit_kind };
        Self {
            id: r.id,
            case_id: r.case_id,
            case_title: r.case_title,
            level: r.level,
            lead_unit: Some(crate::convert::unit(&unit)),
            deadline_time: Some(tingjian_runtime::wire::timestamp(r.deadline_time)),
            raise_time: Some(tingjian_runtime::wire::timestamp(r.raise_time)),
        }
    }
}

#[derive(sqlx::FromRow)]
struct EscalationRow {
    id: String,
    case_id: String,
    case_title: String,
    level: i32,
    reason: i32,
    detail: String,
    lead_unit: String,
    lead_unit_name: String,
    lead_unit_kind: i32,
    actor: String,
    escalate_time: DateTime<Utc>,
}

impl From<EscalationRow> for pb::Escalation {
    fn from(r: EscalationRow) -> Self {
        let unit = Unit { id: r.lead_unit, name: r.lead_unit_name, kind: r.lead_unit_kind };
        Self {
            id: r.id,
            case_id: r.case_id,
            case_title: r.case_title,
            level: r.level,
            reason: r.reason,
            detail: r.detail,
            lead_unit: Some(crate::convert::unit(&unit)),
            actor: r.actor,
            escalate_time: Some(tingjian_runtime::wire::timestamp(r.escalate_time)),
        }
    }
}

const WARNING_SELECT: &str = "SELECT w.id, w.case_id, c.title AS case_title, w.level, w.lead_unit, w.lead_unit_name, \
     w.lead_unit_kind, w.deadline_time, w.raise_time FROM supervision_warning w \
     JOIN supervision_case c ON c.id = w.case_id";

const ESCALATION_SELECT: &str = "SELECT e.id, e.case_id, c.title AS case_title, e.level, e.reason, e.detail, \
     e.lead_unit, e.lead_unit_name, e.lead_unit_kind, e.actor, e.escalate_time FROM supervision_escalation e \
     JOIN supervision_case c ON c.id = e.case_id";

/// The working calendar the sweep counts rungs on, loaded for the years the due cases need.
#[derive(Default)]
struct CalendarCache {
    years: Option<RangeInclusive<i32>>,
    calendar: WorkingCalendar,
}

impl CalendarCache {
    /// The calendar, covering at least `years`.
    async fn covering(&mut self, store: &Store, years: RangeInclusive<i32>) -> Result<&WorkingCalendar, ServiceError> {
        let covered =
            self.years.as_ref().is_some_and(|have| have.contains(years.start()) && have.contains(years.end()));
        if !covered {
            let wanted = match &self.years {
                Some(have) => *have.start().min(years.start())..=*have.end().max(years.end()),
                None => years,
            };
            self.calendar = store.working_calendar(wanted.clone()).await?;
            self.years = Some(wanted);
        }
        Ok(&self.calendar)
    }
}

/// Starts a transaction that claims due cases: on SQLite it takes the write lock at once, so the read of
/// what is due and the writes that follow see the same state.
async fn begin_claim(db: &Database) -> Result<Tx, ServiceError> {
    Ok(match db {
        Database::Sqlite(pool) => Tx::Sqlite(pool.begin_with("BEGIN IMMEDIATE").await?),
        Database::Postgres(pool) => Tx::Postgres(pool.begin().await?),
    })
}

/// Claims up to [`BATCH`] cases whose deadline work is due at `as_of`, earliest first, locking them on
/// PostgreSQL (rows another replica holds are skipped).
async fn claim_due(tx: &mut Tx, as_of: DateTime<Utc>) -> Result<Vec<DueRow>, ServiceError> {
    const COLUMNS: &str = "SELECT id, status, dispatch_time, deadline_time, warning_level, escalation_level \
         FROM supervision_case WHERE next_due_time <= $1 ORDER BY next_due_time";
    let rows = match tx {
        Tx::Postgres(conn) => {
            sqlx::query_as::<_, DueRow>(&format!("{COLUMNS} LIMIT {BATCH} FOR UPDATE SKIP LOCKED"))
                .bind(as_of)
                .fetch_all(&mut **conn)
                .await?
        }
        Tx::Sqlite(conn) => {
            sqlx::query_as::<_, DueRow>(&format!("{COLUMNS} LIMIT {BATCH}")).bind(as_of).fetch_all(&mut **conn).await?
        }
    };
    Ok(rows)
}

/// Sets when the deadline sweep next looks at case `id`, leaving everything else (its revision too) as
/// it is: nothing about the case changed.
async fn reschedule(tx: &mut Tx, id: &str, next: Option<DateTime<Utc>>) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE supervision_case SET next_due_time = $2 WHERE id = $1")
            .bind(id)
            .bind(next)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Inserts warning `level` of `case`'s current dispatch raised at `now`; `false` when it was already
/// raised.
async fn insert_warning(tx: &mut Tx, case: &Case, level: i32, now: DateTime<Utc>) -> Result<bool, ServiceError> {
    let sql = match tx.backend() {
        tingjian_runtime::storage::Backend::Postgres => {
            "INSERT INTO supervision_warning (id, case_id, level, dispatch_time, lead_unit, lead_unit_name, \
             lead_unit_kind, deadline_time, raise_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
             ON CONFLICT (case_id, dispatch_time, level) DO NOTHING"
        }
        tingjian_runtime::storage::Backend::Sqlite => {
            "INSERT OR IGNORE INTO supervision_warning (id, case_id, level, dispatch_time, lead_unit, \
             lead_unit_name, lead_unit_kind, deadline_time, raise_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        }
    };
    let id = tingjian_runtime::wire::new_id();
    let inserted = on_tx!(tx, conn => {
        sqlx::query(sql)
            .bind(id.as_str())
            .bind(case.id.as_str())
            .bind(level)
            .bind(case.dispatch_time)
            .bind(case.lead_unit.id.as_str())
            .bind(case.lead_unit.name.as_str())
            .bind(case.lead_unit.kind)
            .bind(case.deadline_time)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(inserted > 0)
}

/// An event to record once the case is written.
enum Raised {
    Warning(i32),
    Escalation(NewEscalation),
}

/// The row-scope clause of a reader over the case joined as `c`.
fn scope_clause(c: &mut Conditions, scope: &Scope, unit_column: &str) {
    match scope {
        Scope::All => {}
        Scope::Unit(org) => {
            let p = c.arg(Arg::Text(org.clone()));
            c.push(format!("{unit_column} = {p}"));
        }
        Scope::DisciplineInspection => {
            let p = c.arg(Arg::Int(ESCALATION_DISCIPLINE_INSPECTION));
            c.push(format!("(c.discipline_inspection OR c.escalation_level >= {p})"));
        }
    }
}

/// Clauses of an open time range over `column`.
fn range_clause(c: &mut Conditions, column: &str, (start, end): (Option<DateTime<Utc>>, Option<DateTime<Utc>>)) {
    if let Some(start) = start {
        let p = c.arg(Arg::Time(start));
        c.push(format!("{column} >= {p}"));
    }
    if let Some(end) = end {
        let p = c.arg(Arg::Time(end));
        c.push(format!("{column} < {p}"));
    }
}

impl Store {
    /// Runs the sweeps of `kinds` (every one when empty) as of `as_of`; what this replica did.
    pub async fn run_sweeps(&self, kinds: &[SweepKind], as_of: DateTime<Utc>) -> Result<SweepReport, ServiceError> {
        let started = std::time::Instant::now();
        let wanted = |kind: SweepKind| kinds.is_empty() || kinds.contains(&kind);
        let mut report = SweepReport::empty(as_of);
        if wanted(SweepKind::Deadlines) {
            let done = self.sweep_deadlines(as_of).await?;
            report.items_examined += done.examined;
            report.warnings_raised += done.warnings_raised;
            report.escalations += done.escalations;
        }
        if wanted(SweepKind::FollowUps) {
            let done = self.sweep_follow_ups(as_of).await?;
            report.items_examined += done.examined;
            report.escalations += done.escalations;
            report.long_running_marked += done.long_running_marked;
            report.tasks_created += done.tasks_created;
            report.reminders_sent += done.reminders_sent;
            report.quarters_missed += done.quarters_missed;
        }
        if wanted(SweepKind::Rectifications) {
            let done = self.sweep_rectifications(as_of).await?;
            report.items_examined += done.examined;
            report.rectifications_overdue += done.marked_overdue;
        }
        report.duration = started.elapsed();
        Ok(report)
    }

    /// Raises the deadline warnings and climbs the overdue ladder of every case due at `as_of`, each
    /// warning and rung exactly once across replicas, until no due case is left.
    pub async fn sweep_deadlines(&self, as_of: DateTime<Utc>) -> Result<DeadlineSweep, ServiceError> {
        let mut done = DeadlineSweep::default();
        let mut seen: HashSet<String> = HashSet::new();
        let mut calendars = CalendarCache::default();
        loop {
            let mut tx = begin_claim(&self.db).await?;
            let rows = claim_due(&mut tx, as_of).await?;
            let fresh: Vec<DueRow> = rows.into_iter().filter(|r| !seen.contains(&r.id)).collect();
            if fresh.is_empty() {
                tx.rollback().await?;
                break;
            }
            let first = fresh.iter().map(|r| r.deadline_time.year()).min().unwrap_or_else(|| as_of.year());
            let last = fresh.iter().map(|r| r.deadline_time.year()).max().unwrap_or_else(|| as_of.year());
            let calendar = calendars.covering(self, first..=last + 1).await?;
            for row in fresh {
                done.examined += 1;
                seen.insert(row.id.clone());
                self.sweep_case(&mut tx, row, calendar, as_of, &mut done).await?;
            }
            tx.commit().await?;
        }
        Ok(done)
    }

    /// Does what is due at `as_of` for the claimed case of `row` inside `tx`.
    async fn sweep_case(
        &self,
        tx: &mut Tx,
        row: DueRow,
        calendar: &WorkingCalendar,
        as_of: DateTime<Utc>,
        done: &mut DeadlineSweep,
    ) -> Result<(), ServiceError> {
        let ladder = &self.settings().escalation_ladder;
        let Some(status) = CaseStatus::from_i32(row.status) else {
            return Err(ServiceError::internal(format!("stored case {} has a bad status", row.id)));
        };
        let claimed = DeadlineState {
            status,
            dispatch_time: row.dispatch_time,
            deadline_time: row.deadline_time,
            warning_level: row.warning_level,
            escalation_level: row.escalation_level,
        };
        if claimed.due_steps(ladder, calendar, as_of).is_empty() {
            // Nothing is due after all (e.g. the case was replied to): only look again when there is.
            return reschedule(tx, &row.id, claimed.next_check(ladder, calendar)).await;
        }
        let before = lock_case(tx, &row.id, None, as_of).await?;
        let mut after = before.clone();
        let mut notes: Vec<HistoryNote> = Vec::new();
        let mut raised: Vec<Raised> = Vec::new();
        for step in DeadlineState::of(&before).due_steps(ladder, calendar, as_of) {
            match step {
                DueStep::Warning { level } => {
                    after.warning_level = after.warning_level.max(level);
                    if level >= WARNING_DUE {
                        after.overdue = true;
                    }
                    if insert_warning(tx, &after, level, as_of).await? {
                        let mut note = HistoryNote::same_status(CaseAction::Warned, &after, SYSTEM_ACTOR, "", as_of)
                            .text(warning_text(level));
                        note.warning_level = level;
                        notes.push(note);
                        raised.push(Raised::Warning(level));
                    }
                }
                DueStep::Escalation { level, after_working_days } => {
                    after.escalation_level = after.escalation_level.max(level);
                    let detail = overdue_detail(after_working_days);
                    let new = NewEscalation {
                        level,
                        reason: REASON_OVERDUE,
                        detail: detail.clone(),
                        actor: SYSTEM_ACTOR.to_owned(),
                        time: as_of,
                        cause_key: Some(overdue_cause_key(&after.id, after.dispatch_time, level)),
                    };
                    if insert_escalation(tx, &after, &new).await?.is_some() {
                        let mut note = HistoryNote::same_status(CaseAction::Escalated, &after, SYSTEM_ACTOR, "", as_of)
                            .reason(detail.as_str())
                            .text(detail);
                        note.escalation_level = level;
                        notes.push(note);
                        raised.push(Raised::Escalation(new));
                    }
                }
            }
        }
        after.next_due_time = DeadlineState::of(&after).next_check(ladder, calendar);
        let stored = commit_case_change(tx, &before, &after, &notes).await?;
        for event in raised {
            let context = Some(crate::convert::context(&stored));
            match event {
                Raised::Warning(level) => {
                    done.warnings_raised += 1;
                    let payload = pb::CaseWarningRaised { context, level };
                    let kind = "tingjian.supervision.v1.CaseWarningRaised";
                    record_case_event(tx, "case_warning_raised", &stored.id, kind, &payload).await?;
                }
                Raised::Escalation(new) => {
                    done.escalations += 1;
                    let payload = pb::CaseEscalated {
                        context,
                        level: new.level,
                        reason: new.reason,
                        detail: new.detail,
                        actor: new.actor,
                    };
                    let kind = "tingjian.supervision.v1.CaseEscalated";
                    record_case_event(tx, "case_escalated", &stored.id, kind, &payload).await?;
                }
            }
        }
        Ok(())
    }

    /// Starts running every sweep each `sweep_interval` of the settings on the current runtime (nothing
    /// when the interval is zero). What each run did is logged; a failed run is logged and retried at the
    /// next tick.
    pub fn spawn_periodic_sweeps(&self) -> Option<tokio::task::JoinHandle<()>> {
        let every = self.settings().sweep_interval;
        if every.is_zero() {
            return None;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::error!("no async runtime to run the periodic sweeps on; they stay off");
            return None;
        };
        let store = self.clone();
        Some(runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                match store.run_sweeps(&SweepKind::ALL, store.now()).await {
                    Ok(report) if report.did_something() => tracing::info!(
                        as_of = %report.as_of,
                        examined = report.items_examined,
                        warnings = report.warnings_raised,
                        escalations = report.escalations,
                        long_running = report.long_running_marked,
                        tasks = report.tasks_created,
                        reminders = report.reminders_sent,
                        quarters_missed = report.quarters_missed,
                        rectifications_overdue = report.rectifications_overdue,
                        duration_ms = report.duration.as_millis() as u64,
                        "sweep done"
                    ),
                    Ok(report) => tracing::debug!(
                        examined = report.items_examined,
                        duration_ms = report.duration.as_millis() as u64,
                        "sweep found nothing to do"
                    ),
                    Err(error) => tracing::error!(%error, "sweep failed; it runs again at the next tick"),
                }
            }
        }))
    }

    /// The deadline warnings of case `case_id`, oldest first (for the supervision record).
    pub async fn warnings_of_case(&self, case_id: &str) -> Result<Vec<pb::DeadlineWarning>, ServiceError> {
        let sql = format!("{WARNING_SELECT} WHERE w.case_id = $1 ORDER BY w.raise_time, w.level, w.id");
        let rows: Vec<WarningRow> = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, WarningRow>(&sql).bind(case_id).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// The escalations of case `case_id`, oldest first (for the supervision record).
    pub async fn escalations_of_case(&self, case_id: &str) -> Result<Vec<pb::Escalation>, ServiceError> {
        let sql = format!("{ESCALATION_SELECT} WHERE e.case_id = $1 ORDER BY e.escalate_time, e.level, e.id");
        let rows: Vec<EscalationRow> = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, EscalationRow>(&sql).bind(case_id).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(Into::into).collect())
    }

    /// Warnings matching `filter`, newest first, a page after `page`'s cursor.
    pub async fn list_warnings(
        &self,
        filter: &WarningFilter,
        page: &PageRequest,
    ) -> Result<Page<pb::DeadlineWarning>, ServiceError> {
        let mut c = Conditions::default();
        scope_clause(&mut c, &filter.scope, "w.lead_unit");
        if let Some(case_id) = &filter.case_id {
            let p = c.arg(Arg::Text(case_id.clone()));
            c.push(format!("w.case_id = {p}"));
        }
        if let Some(unit_id) = &filter.unit_id {
            let p = c.arg(Arg::Text(unit_id.clone()));
            c.push(format!("w.lead_unit = {p}"));
        }
        if filter.level != 0 {
            let p = c.arg(Arg::Int(filter.level));
            c.push(format!("w.level = {p}"));
        }
        range_clause(&mut c, "w.raise_time", filter.raised);
        c.after_time_and_id(page, "w.raise_time", "w.id", true)?;
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let sql = format!("{WARNING_SELECT}{} ORDER BY w.raise_time DESC, w.id DESC LIMIT {limit}", c.where_sql());
        let rows: Vec<WarningRow> = on_pool!(&self.db, pool => {
            bind_all!(sqlx::query_as::<_, WarningRow>(&sql), c.args()).fetch_all(pool).await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.raise_time), r.id.clone()]);
        Ok(Page { items: rows.items.into_iter().map(Into::into).collect(), next: rows.next })
    }

    /// Escalations matching `filter`, newest first, a page after `page`'s cursor.
    pub async fn list_escalations(
        &self,
        filter: &EscalationFilter,
        page: &PageRequest,
    ) -> Result<Page<pb::Escalation>, ServiceError> {
        let mut c = Conditions::default();
        scope_clause(&mut c, &filter.scope, "e.lead_unit");
        if let Some(case_id) = &filter.case_id {
            let p = c.arg(Arg::Text(case_id.clone()));
            c.push(format!("e.case_id = {p}"));
        }
        if let Some(unit_id) = &filter.unit_id {
            let p = c.arg(Arg::Text(unit_id.clone()));
            c.push(format!("e.lead_unit = {p}"));
        }
        if filter.level != 0 {
            let p = c.arg(Arg::Int(filter.level));
            c.push(format!("e.level = {p}"));
        }
        if filter.reason != 0 {
            let p = c.arg(Arg::Int(filter.reason));
            c.push(format!("e.reason = {p}"));
        }
        range_clause(&mut c, "e.escalate_time", filter.escalated);
        c.after_time_and_id(page, "e.escalate_time", "e.id", true)?;
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let sql =
            format!("{ESCALATION_SELECT}{} ORDER BY e.escalate_time DESC, e.id DESC LIMIT {limit}", c.where_sql());
        let rows: Vec<EscalationRow> = on_pool!(&self.db, pool => {
            bind_all!(sqlx::query_as::<_, EscalationRow>(&sql), c.args()).fetch_all(pool).await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.escalate_time), r.id.clone()]);
        Ok(Page { items: rows.items.into_iter().map(Into::into).collect(), next: rows.next })
    }
}
