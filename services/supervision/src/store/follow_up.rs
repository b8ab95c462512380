//! Long-running cases in the store: quarterly follow-up tasks, follow-ups, and the follow-up sweep.
//!
//! The sweep touches only what is due, through two partial indexes: cases whose `follow_up_due_time` has
//! come (they become long-running, or a new quarter starts for them) and tasks whose `next_action_time`
//! has come (the reminder before quarter end, then the quarter's end). Each due row is claimed with
//! `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite has a single writer) and checked again inside the
//! transaction that changes it, and every task is unique per case and quarter and every escalation per
//! cause, so with several replicas each reminder, missed quarter and escalation happens exactly once.
//! A case's row is always locked before its tasks, by the sweep and by RecordFollowUp alike.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tingjian_proto::common::v1 as common;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::{Backend, Tx};
use tingjian_runtime::time::{Period, china};
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::case::{Actor, load_case};
use super::write::{
    HistoryNote, NewEscalation, SYSTEM_ACTOR, commit_case_change, insert_escalation, lock_case, record_case_event,
};
use super::{Arg, Conditions, Store};
use crate::domain::quarter::{
    ComplianceCase, ComplianceFilter, FollowUpFilter, NewFollowUp, TaskFilter, TaskStatus, TaskStep, case_step,
    long_running_since, next_rung, quarter_bounds, quarter_of, quarters_through, reminder_time, task_step,
};
use crate::domain::{Case, CaseAction, CaseStatus, ESCALATION_DISCIPLINE_INSPECTION, Scope};

/// Due rows claimed per transaction.
const SWEEP_BATCH: usize = 100;
/// The contract's `ESCALATION_REASON_QUARTER_MISSED`.
const REASON_QUARTER_MISSED: i32 = 3;

const TASK_COLUMNS: &str = "t.id, t.case_id, t.quarter_year, t.quarter_number, t.due_time, t.status, t.remind_time, \
     t.missed_time, t.next_action_time, t.create_time, t.update_time, c.title AS case_title, c.lead_unit, \
     c.lead_unit_name, c.lead_unit_kind";

const FOLLOW_UP_COLUMNS: &str = "f.id, f.case_id, f.task_id, f.method, f.follow_time, f.supervisor_ids, \
     f.organisation_id, f.organisation_name, f.organisation_kind, f.findings, f.progress, f.quarter_year, \
     f.quarter_number, f.recorded_by, f.create_time";

/// What one run of the follow-up sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpSweep {
    /// Due cases and tasks examined.
    pub examined: i32,
    /// Cases newly marked long-running.
    pub long_running_marked: i32,
    /// Quarterly tasks created.
    pub tasks_created: i32,
    /// Reminders sent.
    pub reminders_sent: i32,
    /// Missed quarters recorded.
    pub quarters_missed: i32,
    /// Escalations made for missed quarters.
    pub escalations: i32,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: String,
    case_id: String,
    quarter_year: i32,
    quarter_number: i32,
    due_time: DateTime<Utc>,
    status: i32,
    remind_time: Option<DateTime<Utc>>,
    missed_time: Option<DateTime<Utc>>,
    next_action_time: Option<DateTime<Utc>>,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    case_title: String,
    lead_unit: String,
    lead_unit_name: String,
    lead_unit_kind: i32,
}

impl TaskRow {
    fn status(&self) -> Result<TaskStatus, ServiceError> {
        TaskStatus::from_i32(self.status)
            .ok_or_else(|| ServiceError::internal(format!("stored follow-up task {} has a bad status", self.id)))
    }

    fn into_pb(self, follow_up_ids: Vec<String>) -> pb::FollowUpTask {
        pb::FollowUpTask {
            quarter: Some(quarter_pb(self.quarter_year, self.quarter_number)),
            due_time: Some(timestamp(self.due_time)),
            status: self.status,
            remind_time: self.remind_time.map(timestamp),
            follow_up_ids,
            missed_time: self.missed_time.map(timestamp),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
            lead_unit: Some(common::OrganisationRef {
                id: self.lead_unit,
                name: self.lead_unit_name,
                kind: self.lead_unit_kind,
            }),
            case_title: self.case_title,
            case_id: self.case_id,
            id: self.id,
        }
    }
}

#[derive(sqlx::FromRow)]
struct FollowUpRow {
    id: String,
    case_id: String,
    task_id: Option<String>,
    method: i32,
    follow_time: DateTime<Utc>,
    supervisor_ids: String,
    organisation_id: String,
    organisation_name: String,
    organisation_kind: i32,
    findings: String,
    progress: String,
    quarter_year: i32,
    quarter_number: i32,
    recorded_by: String,
    create_time: DateTime<Utc>,
}

impl From<FollowUpRow> for pb::FollowUp {
    fn from(row: FollowUpRow) -> Self {
        let organisation =
            (!row.organisation_id.is_empty() || !row.organisation_name.is_empty()).then_some(common::OrganisationRef {
                id: row.organisation_id,
                name: row.organisation_name,
                kind: row.organisation_kind,
            });
        Self {
            id: row.id,
            case_id: row.case_id,
            method: row.method,
            follow_time: Some(timestamp(row.follow_time)),
            supervisor_ids: row.supervisor_ids.lines().map(str::to_owned).collect(),
            supervising_organisation: organisation,
            findings: row.findings,
            progress: row.progress,
            quarter: Some(quarter_pb(row.quarter_year, row.quarter_number)),
            task_id: row.task_id.unwrap_or_default(),
            recorded_by: row.recorded_by,
            create_time: Some(timestamp(row.create_time)),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ComplianceRow {
    id: String,
    title: String,
    lead_unit: String,
    lead_unit_name: String,
    lead_unit_kind: i32,
    create_time: DateTime<Utc>,
    long_running_since_time: Option<DateTime<Utc>>,
    status: i32,
    close_time: Option<DateTime<Utc>>,
}

/// A quarter as the contract's `Period`.
fn quarter_pb(year: i32, number: i32) -> common::Period {
    common::Period { kind: common::PeriodKind::Quarter as i32, year, number }
}

fn quarter_parts(quarter: Period) -> (i32, i32) {
    (quarter.year(), i32::try_from(quarter.number()).unwrap_or(0))
}

/// Restricts `c` to the cases (alias `c`) `scope` may see.
fn push_scope(c: &mut Conditions, scope: &Scope) {
    match scope {
        Scope::All => {}
        Scope::Unit(org) => {
            let p = c.arg(Arg::Text(org.clone()));
            c.push(format!(
                "(c.lead_unit = {p} OR EXISTS (SELECT 1 FROM supervision_case_co_unit u \
                 WHERE u.case_id = c.id AND u.unit_id = {p}))"
            ));
        }
        Scope::DisciplineInspection => {
            let p = c.arg(Arg::Int(ESCALATION_DISCIPLINE_INSPECTION));
            c.push(format!("(c.discipline_inspection OR c.escalation_level >= {p})"));
        }
    }
}

/// Restricts `c` to one case and/or the cases one unit leads.
fn push_case_and_unit(c: &mut Conditions, case_id: Option<&String>, unit_id: Option<&String>) {
    if let Some(case_id) = case_id {
        let p = c.arg(Arg::Text(case_id.clone()));
        c.push(format!("c.id = {p}"));
    }
    if let Some(unit_id) = unit_id {
        let p = c.arg(Arg::Text(unit_id.clone()));
        c.push(format!("c.lead_unit = {p}"));
    }
}

/// The task of `case_id` for `quarter`, if any.
async fn task_of_quarter(tx: &mut Tx, case_id: &str, quarter: Period) -> Result<Option<TaskRow>, ServiceError> {
    let (year, number) = quarter_parts(quarter);
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM supervision_follow_up_task t JOIN supervision_case c ON c.id = t.case_id \
         WHERE t.case_id = $1 AND t.quarter_year = $2 AND t.quarter_number = $3"
    );
    let row = on_tx!(tx, conn => {
        sqlx::query_as::<_, TaskRow>(&sql).bind(case_id).bind(year).bind(number).fetch_optional(&mut **conn).await
    })?;
    Ok(row)
}

/// A task by id.
async fn load_task(tx: &mut Tx, id: &str) -> Result<Option<TaskRow>, ServiceError> {
    let sql = format!(
        "SELECT {TASK_COLUMNS} FROM supervision_follow_up_task t JOIN supervision_case c ON c.id = t.case_id \
         WHERE t.id = $1"
    );
    let row = on_tx!(tx, conn => sqlx::query_as::<_, TaskRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row)
}

/// The ids of the follow-ups of `case_id` in `quarter`, oldest first.
async fn follow_up_ids_in(tx: &mut Tx, case_id: &str, year: i32, number: i32) -> Result<Vec<String>, ServiceError> {
    let ids = on_tx!(tx, conn => {
        sqlx::query_scalar::<_, String>(
            "SELECT id FROM supervision_follow_up WHERE case_id = $1 AND quarter_year = $2 AND quarter_number = $3 \
             ORDER BY follow_time, id",
        )
        .bind(case_id)
        .bind(year)
        .bind(number)
        .fetch_all(&mut **conn)
        .await
    })?;
    Ok(ids)
}

/// A task with its follow-ups, as the contract's `FollowUpTask`.
async fn task_pb(tx: &mut Tx, row: TaskRow) -> Result<pb::FollowUpTask, ServiceError> {
    let ids = follow_up_ids_in(tx, &row.case_id, row.quarter_year, row.quarter_number).await?;
    Ok(row.into_pb(ids))
}

/// Attaches the follow-ups of the task's case and quarter recorded before the task existed to it.
async fn attach_follow_ups(tx: &mut Tx, task_id: &str, case_id: &str, quarter: Period) -> Result<(), ServiceError> {
    let (year, number) = quarter_parts(quarter);
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE supervision_follow_up SET task_id = $1 WHERE case_id = $2 AND quarter_year = $3 \
             AND quarter_number = $4 AND task_id IS NULL",
        )
        .bind(task_id)
        .bind(case_id)
        .bind(year)
        .bind(number)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// Whether case `case_id` has a follow-up in `quarter`.
async fn followed_in(tx: &mut Tx, case_id: &str, quarter: Period) -> Result<bool, ServiceError> {
    let (year, number) = quarter_parts(quarter);
    let n: i64 = on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM supervision_follow_up WHERE case_id = $1 AND quarter_year = $2 \
             AND quarter_number = $3",
        )
        .bind(case_id)
        .bind(year)
        .bind(number)
        .fetch_one(&mut **conn)
        .await
    })?;
    Ok(n > 0)
}

/// Inserts the task of `case` for `quarter` unless it exists: DONE when the quarter already has a
/// follow-up, else OPEN with its reminder due `reminder_days` before the quarter ends. The new task's id,
/// or `None` when it existed.
async fn insert_task(
    tx: &mut Tx,
    case_id: &str,
    quarter: Period,
    now: DateTime<Utc>,
    reminder_days: u32,
) -> Result<Option<String>, ServiceError> {
    let (_, due) = quarter_bounds(quarter);
    let followed = followed_in(tx, case_id, quarter).await?;
    let (status, next_action) = if followed {
        (TaskStatus::Done, None)
    } else {
        (TaskStatus::Open, Some(reminder_time(due, reminder_days, now)))
    };
    let id = tingjian_runtime::wire::new_id();
    let (year, number) = quarter_parts(quarter);
    let sql = match tx.backend() {
        Backend::Postgres => {
            "INSERT INTO supervision_follow_up_task (id, case_id, quarter_year, quarter_number, due_time, status, \
             next_action_time, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
             ON CONFLICT (case_id, quarter_year, quarter_number) DO NOTHING"
        }
        Backend::Sqlite => {
            "INSERT OR IGNORE INTO supervision_follow_up_task (id, case_id, quarter_year, quarter_number, due_time, \
             status, next_action_time, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
        }
    };
    let inserted = on_tx!(tx, conn => {
        sqlx::query(sql)
            .bind(id.as_str())
            .bind(case_id)
            .bind(year)
            .bind(number)
            .bind(due)
            .bind(status.as_i32())
            .bind(next_action)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    if inserted == 0 {
        return Ok(None);
    }
    if followed {
        attach_follow_ups(tx, &id, case_id, quarter).await?;
    }
    Ok(Some(id))
}

/// Sets a task's status and times.
async fn update_task(
    tx: &mut Tx,
    id: &str,
    status: TaskStatus,
    next_action: Option<DateTime<Utc>>,
    remind_time: Option<DateTime<Utc>>,
    missed_time: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE supervision_follow_up_task SET status = $2, next_action_time = $3, \
             remind_time = COALESCE($4, remind_time), missed_time = COALESCE($5, missed_time), update_time = $6 \
             WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_i32())
        .bind(next_action)
        .bind(remind_time)
        .bind(missed_time)
        .bind(now)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// What the sweep looks at: due cases, or due tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    Case,
    Task,
}

/// A quarter and an instant in words, for history entries.
fn quarter_text(quarter: Period, due: DateTime<Utc>) -> String {
    format!("{quarter}跟踪监督截止 {}", due.with_timezone(&china()).format("%Y-%m-%d %H:%M:%S%:z"))
}

impl Store {
    /// Runs the follow-up sweep as of `as_of`: long-running marking, quarterly tasks, reminders and missed
    /// quarters, each exactly once across replicas.
    pub async fn sweep_follow_ups(&self, as_of: DateTime<Utc>) -> Result<FollowUpSweep, ServiceError> {
        let mut report = FollowUpSweep::default();
        self.follow_up_sweep_due(Due::Case, as_of, &mut report).await?;
        self.follow_up_sweep_due(Due::Task, as_of, &mut report).await?;
        Ok(report)
    }

    /// Claims and handles every due row of one kind, in batches.
    async fn follow_up_sweep_due(
        &self,
        due: Due,
        as_of: DateTime<Utc>,
        report: &mut FollowUpSweep,
    ) -> Result<(), ServiceError> {
        let mut seen: HashSet<String> = HashSet::new();
        loop {
            let mut done = FollowUpSweep::default();
            let (claimed, fresh) = match self.db.backend() {
                Backend::Postgres => {
                    let mut tx = self.db.begin().await?;
                    let ids = claim(&mut tx, due, as_of, true).await?;
                    let claimed = ids.len();
                    let fresh: Vec<(String, String)> =
                        ids.into_iter().filter(|(id, _)| seen.insert(id.clone())).collect();
                    for (id, case_id) in &fresh {
                        self.follow_up_sweep_one(&mut tx, due, id, case_id, as_of, &mut done).await?;
                    }
                    tx.commit().await?;
                    (claimed, fresh.len())
                }
                Backend::Sqlite => {
                    let mut tx = self.db.begin().await?;
                    let ids = claim(&mut tx, due, as_of, false).await?;
                    tx.rollback().await?;
                    let claimed = ids.len();
                    let fresh: Vec<(String, String)> =
                        ids.into_iter().filter(|(id, _)| seen.insert(id.clone())).collect();
                    for (id, case_id) in &fresh {
                        let mut tx = self.db.begin().await?;
                        let mut one = FollowUpSweep::default();
                        if self.follow_up_sweep_one(&mut tx, due, id, case_id, as_of, &mut one).await? {
                            tx.commit().await?;
                            add(&mut done, one);
                        } else {
                            tx.rollback().await?;
                        }
                    }
                    (claimed, fresh.len())
                }
            };
            add(report, done);
            if claimed < SWEEP_BATCH || fresh == 0 {
                return Ok(());
            }
        }
    }

    /// Handles one due case or task inside `tx`, checking again that it is due; whether it was.
    async fn follow_up_sweep_one(
        &self,
        tx: &mut Tx,
        due: Due,
        id: &str,
        case_id: &str,
        as_of: DateTime<Utc>,
        report: &mut FollowUpSweep,
    ) -> Result<bool, ServiceError> {
        match due {
            Due::Case => self.follow_up_sweep_case(tx, id, as_of, report).await,
            Due::Task => self.follow_up_sweep_task(tx, id, case_id, as_of, report).await,
        }
    }

    /// A case whose follow-up due time came: marks it long-running, creates its quarter's task, and
    /// schedules when it is next due.
    async fn follow_up_sweep_case(
        &self,
        tx: &mut Tx,
        id: &str,
        as_of: DateTime<Utc>,
        report: &mut FollowUpSweep,
    ) -> Result<bool, ServiceError> {
        // The first statement writes, so SQLite takes its write lock before anything is read.
        on_tx!(tx, conn => {
            sqlx::query("UPDATE supervision_case SET follow_up_due_time = follow_up_due_time WHERE id = $1")
                .bind(id)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        let Some(current) = load_case(tx, id).await? else { return Ok(false) };
        if current.follow_up_due_time.is_none_or(|t| t > as_of) {
            return Ok(false);
        }
        let before = lock_case(tx, id, None, as_of).await?;
        let step = case_step(
            before.status == CaseStatus::Closed,
            before.long_running,
            before.long_running_since_time,
            before.create_time,
            current.follow_up_due_time.unwrap_or(as_of),
            as_of,
        );
        let mut after = before.clone();
        let mut notes = Vec::new();
        if let Some(since) = step.mark_long_running {
            after.long_running = true;
            after.long_running_since_time = Some(since);
            notes.push(
                HistoryNote::same_status(CaseAction::BecameLongRunning, &before, SYSTEM_ACTOR, "", as_of)
                    .text(format!("自 {} 起办理时间跨度超过半年", since.with_timezone(&china()).format("%Y-%m-%d"))),
            );
        }
        if let Some(quarter) = step.task_quarter {
            for owed in quarters_through(step.first_task_quarter.unwrap_or(quarter), quarter) {
                if insert_task(tx, id, owed, as_of, self.settings.reminder_days).await?.is_some() {
                    report.tasks_created += 1;
                }
            }
            after.next_follow_up_due_time = Some(quarter_bounds(quarter).1);
        }
        after.follow_up_due_time = step.follow_up_due_time;
        let stored = commit_case_change(tx, &before, &after, &notes).await?;
        if let Some(since) = step.mark_long_running {
            let payload = pb::CaseBecameLongRunning {
                context: Some(crate::convert::context(&stored)),
                since_time: Some(timestamp(since)),
            };
            record_case_event(
                tx,
                "case_became_long_running",
                id,
                "tingjian.supervision.v1.CaseBecameLongRunning",
                &payload,
            )
            .await?;
            report.long_running_marked += 1;
        }
        report.examined += 1;
        Ok(true)
    }

    /// A task whose next action time came: its reminder, or its quarter's end.
    async fn follow_up_sweep_task(
        &self,
        tx: &mut Tx,
        id: &str,
        case_id: &str,
        as_of: DateTime<Utc>,
        report: &mut FollowUpSweep,
    ) -> Result<bool, ServiceError> {
        // The first statement writes, so SQLite takes its write lock before anything is read; on
        // PostgreSQL the case row is already locked by the claim.
        on_tx!(tx, conn => {
            sqlx::query("UPDATE supervision_follow_up_task SET next_action_time = next_action_time WHERE id = $1")
                .bind(id)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        let Some(task) = load_task(tx, id).await? else { return Ok(false) };
        if task.next_action_time.is_none_or(|t| t > as_of) {
            return Ok(false);
        }
        let status = task.status()?;
        let quarter = quarter_of(task.due_time - chrono::TimeDelta::seconds(1));
        let followed = followed_in(tx, case_id, quarter).await?;
        let case = load_case(tx, case_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound { resource: "case", id: case_id.to_owned() })?;
        let open = case.status != CaseStatus::Closed;
        report.examined += 1;
        match task_step(status, task.due_time, as_of, followed, open) {
            TaskStep::Settled => update_task(tx, id, status, None, None, None, as_of).await?,
            TaskStep::Wait(at) => update_task(tx, id, status, Some(at), None, None, as_of).await?,
            TaskStep::Done => {
                update_task(tx, id, TaskStatus::Done, None, None, None, as_of).await?;
                attach_follow_ups(tx, id, case_id, quarter).await?;
            }
            TaskStep::Remind => {
                let before = lock_case(tx, case_id, None, as_of).await?;
                update_task(tx, id, TaskStatus::Reminded, Some(task.due_time), Some(as_of), None, as_of).await?;
                let note = HistoryNote::same_status(CaseAction::FollowUpReminded, &before, SYSTEM_ACTOR, "", as_of)
                    .text(quarter_text(quarter, task.due_time));
                let stored = commit_case_change(tx, &before, &before, &[note]).await?;
                let payload = pb::FollowUpReminderSent {
                    context: Some(crate::convert::context(&stored)),
                    task_id: id.to_owned(),
                    quarter: Some(quarter_pb(task.quarter_year, task.quarter_number)),
                    due_time: Some(timestamp(task.due_time)),
                };
                record_case_event(
                    tx,
                    "follow_up_reminder_sent",
                    case_id,
                    "tingjian.supervision.v1.FollowUpReminderSent",
                    &payload,
                )
                .await?;
                report.reminders_sent += 1;
            }
            TaskStep::Miss { escalate } => {
                self.follow_up_miss_quarter(tx, &task, quarter, escalate, as_of, report).await?;
            }
        }
        Ok(true)
    }

    /// Records `task`'s quarter as missed (漏督) and, when `escalate`, escalates its case one rung up the
    /// configured ladder, once per task.
    async fn follow_up_miss_quarter(
        &self,
        tx: &mut Tx,
        task: &TaskRow,
        quarter: Period,
        escalate: bool,
        as_of: DateTime<Utc>,
        report: &mut FollowUpSweep,
    ) -> Result<(), ServiceError> {
        let before = lock_case(tx, &task.case_id, None, as_of).await?;
        update_task(tx, &task.id, TaskStatus::Missed, None, None, Some(as_of), as_of).await?;
        let mut after = before.clone();
        let mut notes = vec![
            HistoryNote::same_status(CaseAction::QuarterMissed, &before, SYSTEM_ACTOR, "", as_of)
                .text(format!("{quarter}未开展跟踪监督")),
        ];
        let mut escalation = None;
        if escalate {
            let ladder: Vec<i32> = self.settings.escalation_ladder.iter().map(|s| rung_number(s.rung)).collect();
            let level = next_rung(before.escalation_level, &ladder);
            let new = NewEscalation {
                level,
                reason: REASON_QUARTER_MISSED,
                detail: format!("{quarter}未按要求跟踪监督（漏督）"),
                actor: SYSTEM_ACTOR.to_owned(),
                time: as_of,
                cause_key: Some(format!("missed:{}", task.id)),
            };
            if let Some(made) = insert_escalation(tx, &before, &new).await? {
                after.escalation_level = after.escalation_level.max(level);
                let mut note = HistoryNote::same_status(CaseAction::Escalated, &before, SYSTEM_ACTOR, "", as_of)
                    .reason(new.detail.clone());
                note.escalation_level = level;
                notes.push(note);
                escalation = Some(made);
            }
        }
        let stored = commit_case_change(tx, &before, &after, &notes).await?;
        let missed = pb::QuarterMissed {
            context: Some(crate::convert::context(&stored)),
            task_id: task.id.clone(),
            quarter: Some(quarter_pb(task.quarter_year, task.quarter_number)),
        };
        record_case_event(tx, "quarter_missed", &task.case_id, "tingjian.supervision.v1.QuarterMissed", &missed)
            .await?;
        report.quarters_missed += 1;
        if let Some(made) = escalation {
            let payload = pb::CaseEscalated {
                context: Some(crate::convert::context(&stored)),
                level: made.level,
                reason: made.reason,
                detail: made.detail,
                actor: made.actor,
            };
            record_case_event(tx, "case_escalated", &task.case_id, "tingjian.supervision.v1.CaseEscalated", &payload)
                .await?;
            report.escalations += 1;
        }
        Ok(())
    }

    /// The follow-ups of case `case_id`, oldest first (for the supervision record).
    pub async fn follow_ups_of_case(&self, case_id: &str) -> Result<Vec<pb::FollowUp>, ServiceError> {
        let sql = format!(
            "SELECT {FOLLOW_UP_COLUMNS} FROM supervision_follow_up f WHERE f.case_id = $1 ORDER BY f.follow_time, f.id"
        );
        let rows: Vec<FollowUpRow> = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, FollowUpRow>(&sql).bind(case_id).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(pb::FollowUp::from).collect())
    }

    /// The quarterly tasks of case `case_id`, oldest first (for the supervision record).
    pub async fn follow_up_tasks_of_case(&self, case_id: &str) -> Result<Vec<pb::FollowUpTask>, ServiceError> {
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM supervision_follow_up_task t JOIN supervision_case c ON c.id = t.case_id \
             WHERE t.case_id = $1 ORDER BY t.due_time, t.id"
        );
        let mut tx = self.db.begin().await?;
        let rows: Vec<TaskRow> =
            on_tx!(&mut tx, conn => sqlx::query_as::<_, TaskRow>(&sql).bind(case_id).fetch_all(&mut **conn).await)?;
        let tasks = with_follow_up_ids(&mut tx, rows).await;
        tx.rollback().await?;
        tasks
    }

    /// Records a follow-up of case `case_id` by `actor` (the case must not be closed), satisfying the
    /// task of its quarter; idempotent on `request_id`. The follow-up and the task it satisfied.
    pub async fn record_follow_up(
        &self,
        case_id: &str,
        new: &NewFollowUp,
        request_id: Option<&str>,
        actor: Actor<'_>,
    ) -> Result<(pb::FollowUp, Option<pb::FollowUpTask>), ServiceError> {
        let fingerprint = new.fingerprint(case_id);
        if let Some(request_id) = request_id
            && let Some(found) = self.follow_up_of_request_id(request_id, &fingerprint).await?
        {
            return Ok(found);
        }
        match self.insert_follow_up_row(case_id, new, request_id.map(|r| (r, fingerprint.as_str())), actor).await {
            Err(ServiceError::AlreadyExists(message)) => match request_id {
                Some(request_id) => self
                    .follow_up_of_request_id(request_id, &fingerprint)
                    .await?
                    .ok_or(ServiceError::AlreadyExists(message)),
                None => Err(ServiceError::AlreadyExists(message)),
            },
            other => other,
        }
    }

    /// The follow-up `request_id` recorded, with its task, when the request is the same; ALREADY_EXISTS
    /// when the id was used for another request.
    async fn follow_up_of_request_id(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<(pb::FollowUp, Option<pb::FollowUpTask>)>, ServiceError> {
        let sql = format!("SELECT {FOLLOW_UP_COLUMNS} FROM supervision_follow_up f WHERE f.request_id = $1");
        let mut tx = self.db.begin().await?;
        let found: Option<(FollowUpRow, Option<String>)> = on_tx!(&mut tx, conn => {
            let row = sqlx::query_as::<_, FollowUpRow>(&sql).bind(request_id).fetch_optional(&mut **conn).await?;
            match row {
                None => Ok(None),
                Some(row) => sqlx::query_scalar::<_, Option<String>>(
                    "SELECT request_payload FROM supervision_follow_up WHERE request_id = $1",
                )
                .bind(request_id)
                .fetch_one(&mut **conn)
                .await
                .map(|payload| Some((row, payload))),
            }
        })?;
        let Some((row, payload)) = found else {
            tx.rollback().await?;
            return Ok(None);
        };
        if payload.as_deref() != Some(fingerprint) {
            tx.rollback().await?;
            return Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id} was already used to record follow-up {} from a different request",
                row.id
            )));
        }
        let task = match row.task_id.as_deref() {
            Some(task_id) => match load_task(&mut tx, task_id).await? {
                Some(task) => Some(task_pb(&mut tx, task).await?),
                None => None,
            },
            None => None,
        };
        tx.rollback().await?;
        Ok(Some((pb::FollowUp::from(row), task)))
    }

    async fn insert_follow_up_row(
        &self,
        case_id: &str,
        new: &NewFollowUp,
        request: Option<(&str, &str)>,
        actor: Actor<'_>,
    ) -> Result<(pb::FollowUp, Option<pb::FollowUpTask>), ServiceError> {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let before = lock_case(&mut tx, case_id, None, now).await?;
        if before.status == CaseStatus::Closed {
            return Err(ServiceError::FailedPrecondition(format!(
                "case {case_id} is CLOSED; follow-ups are recorded for open cases only"
            )));
        }
        if new.follow_time < before.create_time {
            return Err(ServiceError::invalid(
                "follow_up.follow_time",
                format!("must not be before the case was dispatched ({})", before.create_time.to_rfc3339()),
            ));
        }
        let quarter = quarter_of(new.follow_time);
        let task_id = satisfy_task(&mut tx, &before, quarter, now).await?;
        let id = tingjian_runtime::wire::new_id();
        let (year, number) = quarter_parts(quarter);
        let organisation = new.supervising_organisation.as_ref();
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO supervision_follow_up (id, case_id, task_id, method, follow_time, supervisor_ids, \
                 organisation_id, organisation_name, organisation_kind, findings, progress, quarter_year, \
                 quarter_number, recorded_by, request_id, request_payload, create_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            )
            .bind(id.as_str())
            .bind(case_id)
            .bind(task_id.as_deref())
            .bind(new.method)
            .bind(new.follow_time)
            .bind(new.supervisor_ids.join("\n"))
            .bind(organisation.map_or("", |o| o.id.as_str()))
            .bind(organisation.map_or("", |o| o.name.as_str()))
            .bind(organisation.map_or(0, |o| o.kind))
            .bind(new.findings.as_str())
            .bind(new.progress.as_str())
            .bind(year)
            .bind(number)
            .bind(actor.subject)
            .bind(request.map(|(r, _)| r))
            .bind(request.map(|(_, p)| p))
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
        let note = HistoryNote::same_status(CaseAction::FollowedUp, &before, actor.subject, actor.organisation, now)
            .text(new.findings.as_str());
        let stored = commit_case_change(&mut tx, &before, &before, &[note]).await?;
        let payload = pb::FollowUpRecorded {
            context: Some(crate::convert::context(&stored)),
            follow_up_id: id.clone(),
            method: new.method,
            follow_time: Some(timestamp(new.follow_time)),
            quarter: Some(quarter_pb(year, number)),
            task_id: task_id.clone().unwrap_or_default(),
            actor: actor.subject.to_owned(),
        };
        record_case_event(&mut tx, "follow_up_recorded", case_id, "tingjian.supervision.v1.FollowUpRecorded", &payload)
            .await?;
        let sql = format!("SELECT {FOLLOW_UP_COLUMNS} FROM supervision_follow_up f WHERE f.id = $1");
        let row: FollowUpRow = on_tx!(&mut tx, conn => sqlx::query_as::<_, FollowUpRow>(&sql).bind(id.as_str()).fetch_one(&mut **conn).await)?;
        let task = match task_id.as_deref() {
            Some(task_id) => match load_task(&mut tx, task_id).await? {
                Some(task) => Some(task_pb(&mut tx, task).await?),
                None => None,
            },
            None => None,
        };
        tx.commit().await?;
        Ok((pb::FollowUp::from(row), task))
    }

    /// Tasks matching `filter`, earliest due first, a page after `page`'s cursor.
    pub async fn list_follow_up_tasks(
        &self,
        filter: &TaskFilter,
        page: &PageRequest,
    ) -> Result<Page<pb::FollowUpTask>, ServiceError> {
        let mut c = Conditions::default();
        push_scope(&mut c, &filter.scope);
        push_case_and_unit(&mut c, filter.case_id.as_ref(), filter.unit_id.as_ref());
        if let Some((year, number)) = filter.quarter {
            let py = c.arg(Arg::Int(year));
            let pn = c.arg(Arg::Int(i32::try_from(number).unwrap_or(0)));
            c.push(format!("t.quarter_year = {py} AND t.quarter_number = {pn}"));
        }
        if !filter.statuses.is_empty() {
            let ps = c.placeholders(filter.statuses.iter().map(|s| Arg::Int(s.as_i32())));
            c.push(format!("t.status IN ({ps})"));
        }
        c.after_time_and_id(page, "t.due_time", "t.id", false)?;
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM supervision_follow_up_task t JOIN supervision_case c ON c.id = t.case_id{} \
             ORDER BY t.due_time, t.id LIMIT {limit}",
            c.where_sql()
        );
        let mut tx = self.db.begin().await?;
        let rows: Vec<TaskRow> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, TaskRow>(&sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.due_time), r.id.clone()]);
        let items = with_follow_up_ids(&mut tx, rows.items).await;
        tx.rollback().await?;
        Ok(Page { items: items?, next: rows.next })
    }

    /// Follow-ups matching `filter`, newest first, a page after `page`'s cursor.
    pub async fn list_follow_ups(
        &self,
        filter: &FollowUpFilter,
        page: &PageRequest,
    ) -> Result<Page<pb::FollowUp>, ServiceError> {
        let mut c = Conditions::default();
        push_scope(&mut c, &filter.scope);
        push_case_and_unit(&mut c, filter.case_id.as_ref(), filter.unit_id.as_ref());
        if let Some((start, end)) = filter.period {
            let (ps, pe) = (c.arg(Arg::Time(start)), c.arg(Arg::Time(end)));
            c.push(format!("f.follow_time >= {ps} AND f.follow_time < {pe}"));
        }
        if let Some(method) = filter.method {
            let p = c.arg(Arg::Int(method));
            c.push(format!("f.method = {p}"));
        }
        c.after_time_and_id(page, "f.follow_time", "f.id", true)?;
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {FOLLOW_UP_COLUMNS} FROM supervision_follow_up f JOIN supervision_case c ON c.id = f.case_id{} \
             ORDER BY f.follow_time DESC, f.id DESC LIMIT {limit}",
            c.where_sql()
        );
        let rows: Vec<FollowUpRow> = on_pool!(&self.db, pool => {
            bind_all!(sqlx::query_as::<_, FollowUpRow>(&sql), c.args()).fetch_all(pool).await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.follow_time), r.id.clone()]);
        Ok(Page { items: rows.items.into_iter().map(pb::FollowUp::from).collect(), next: rows.next })
    }

    /// The cases a compliance report over `filter` looks at as of `now`: every case that is, or by now
    /// may be, long-running, with the times of its follow-ups and its current quarter's task.
    pub async fn compliance_cases(
        &self,
        filter: &ComplianceFilter,
        now: DateTime<Utc>,
    ) -> Result<Vec<ComplianceCase>, ServiceError> {
        // Six calendar months are never shorter than 181 days.
        let cutoff = now - chrono::TimeDelta::days(180);
        let conditions = || {
            let mut c = Conditions::default();
            push_scope(&mut c, &filter.scope);
            push_case_and_unit(&mut c, filter.case_id.as_ref(), filter.unit_id.as_ref());
            let p = c.arg(Arg::Time(cutoff));
            c.push(format!("(c.long_running OR c.create_time <= {p})"));
            if let Some(start) = filter.open_since {
                let p = c.arg(Arg::Time(start));
                c.push(format!("(c.close_time IS NULL OR c.close_time > {p})"));
            }
            c
        };
        let c = conditions();
        let sql = format!(
            "SELECT c.id, c.title, c.lead_unit, c.lead_unit_name, c.lead_unit_kind, c.create_time, \
             c.long_running_since_time, c.status, c.close_time FROM supervision_case c{} ORDER BY c.id",
            c.where_sql()
        );
        let mut tx = self.db.begin().await?;
        let rows: Vec<ComplianceRow> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, ComplianceRow>(&sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let c = conditions();
        let sql = format!(
            "SELECT f.case_id, f.follow_time FROM supervision_follow_up f JOIN supervision_case c ON c.id = f.case_id{} \
             ORDER BY f.follow_time",
            c.where_sql()
        );
        let follow_ups: Vec<(String, DateTime<Utc>)> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, (String, DateTime<Utc>)>(&sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let mut c = conditions();
        let (year, number) = quarter_parts(quarter_of(now));
        let (py, pn) = (c.arg(Arg::Int(year)), c.arg(Arg::Int(number)));
        c.push(format!("t.quarter_year = {py} AND t.quarter_number = {pn}"));
        let sql = format!(
            "SELECT t.case_id, t.status FROM supervision_follow_up_task t JOIN supervision_case c ON c.id = t.case_id{}",
            c.where_sql()
        );
        let tasks: Vec<(String, i32)> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, (String, i32)>(&sql), c.args()).fetch_all(&mut **conn).await
        })?;
        tx.rollback().await?;
        let mut times: HashMap<String, Vec<DateTime<Utc>>> = HashMap::new();
        for (case_id, time) in follow_ups {
            times.entry(case_id).or_default().push(time);
        }
        let tasks: HashMap<String, TaskStatus> =
            tasks.into_iter().filter_map(|(id, s)| TaskStatus::from_i32(s).map(|s| (id, s))).collect();
        Ok(rows
            .into_iter()
            .filter(|row| long_running_since(row.create_time, row.long_running_since_time) <= now)
            .map(|row| ComplianceCase {
                follow_ups: times.remove(&row.id).unwrap_or_default(),
                current_task: tasks.get(&row.id).copied(),
                close_time: if row.status == CaseStatus::Closed.as_i32() { row.close_time } else { None },
                case_id: row.id,
                title: row.title,
                lead_unit: crate::domain::Unit {
                    id: row.lead_unit,
                    name: row.lead_unit_name,
                    kind: row.lead_unit_kind,
                },
                create_time: row.create_time,
                long_running_since_time: row.long_running_since_time,
            })
            .collect())
    }
}

/// The contract's `EscalationLevel` number of a configured rung.
fn rung_number(rung: tingjian_runtime::settings::EscalationRung) -> i32 {
    use tingjian_runtime::settings::EscalationRung;
    match rung {
        EscalationRung::Unit => 1,
        EscalationRung::SupervisionOffice => 2,
        EscalationRung::DisciplineInspection => 3,
    }
}

fn add(total: &mut FollowUpSweep, one: FollowUpSweep) {
    total.examined += one.examined;
    total.long_running_marked += one.long_running_marked;
    total.tasks_created += one.tasks_created;
    total.reminders_sent += one.reminders_sent;
    total.quarters_missed += one.quarters_missed;
    total.escalations += one.escalations;
}

/// Claims up to [`SWEEP_BATCH`] due rows of one kind: (row id, case id). With `lock` (PostgreSQL), the
/// rows' cases are locked for the transaction and rows other replicas hold are skipped.
async fn claim(tx: &mut Tx, due: Due, as_of: DateTime<Utc>, lock: bool) -> Result<Vec<(String, String)>, ServiceError> {
    let lock_clause = |of: &str| if lock { format!(" FOR UPDATE{of} SKIP LOCKED") } else { String::new() };
    let sql = match due {
        Due::Case => format!(
            "SELECT id, id FROM supervision_case WHERE follow_up_due_time IS NOT NULL AND follow_up_due_time <= $1 \
             ORDER BY follow_up_due_time, id LIMIT {SWEEP_BATCH}{}",
            lock_clause("")
        ),
        Due::Task => format!(
            "SELECT t.id, t.case_id FROM supervision_follow_up_task t JOIN supervision_case c ON c.id = t.case_id \
             WHERE t.next_action_time IS NOT NULL AND t.next_action_time <= $1 \
             ORDER BY t.next_action_time, t.id LIMIT {SWEEP_BATCH}{}",
            lock_clause(" OF c")
        ),
    };
    let rows = on_tx!(tx, conn => {
        sqlx::query_as::<_, (String, String)>(&sql).bind(as_of).fetch_all(&mut **conn).await
    })?;
    Ok(rows)
}

/// Tasks with the ids of their follow-ups.
async fn with_follow_up_ids(tx: &mut Tx, rows: Vec<TaskRow>) -> Result<Vec<pb::FollowUpTask>, ServiceError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut cases: Vec<&str> = rows.iter().map(|r| r.case_id.as_str()).collect();
    cases.sort_unstable();
    cases.dedup();
    let mut c = Conditions::default();
    let ps = c.placeholders(cases.iter().map(|id| Arg::Text((*id).to_owned())));
    let sql = format!(
        "SELECT id, case_id, quarter_year, quarter_number FROM supervision_follow_up WHERE case_id IN ({ps}) \
         ORDER BY follow_time, id"
    );
    let found: Vec<(String, String, i32, i32)> = on_tx!(tx, conn => {
        bind_all!(sqlx::query_as::<_, (String, String, i32, i32)>(&sql), c.args()).fetch_all(&mut **conn).await
    })?;
    let mut ids: HashMap<(String, i32, i32), Vec<String>> = HashMap::new();
    for (id, case_id, year, number) in found {
        ids.entry((case_id, year, number)).or_default().push(id);
    }
    Ok(rows
        .into_iter()
        .map(|row| {
            let key = (row.case_id.clone(), row.quarter_year, row.quarter_number);
            let follow_up_ids = ids.remove(&key).unwrap_or_default();
            row.into_pb(follow_up_ids)
        })
        .collect())
}

/// Satisfies the task of `case`'s `quarter` with a follow-up being recorded: an owed task becomes DONE;
/// a long-running case without a task for a quarter it owes gets one, DONE. The task the follow-up
/// counts for, if any (a MISSED task stays missed and is not linked).
async fn satisfy_task(
    tx: &mut Tx,
    case: &Case,
    quarter: Period,
    now: DateTime<Utc>,
) -> Result<Option<String>, ServiceError> {
    match task_of_quarter(tx, &case.id, quarter).await? {
        Some(task) => match task.status()? {
            TaskStatus::Open | TaskStatus::Reminded => {
                update_task(tx, &task.id, TaskStatus::Done, None, None, None, now).await?;
                attach_follow_ups(tx, &task.id, &case.id, quarter).await?;
                Ok(Some(task.id))
            }
            TaskStatus::Done => Ok(Some(task.id)),
            TaskStatus::Missed => Ok(None),
        },
        None => {
            let since = long_running_since(case.create_time, case.long_running_since_time);
            let (_, end) = quarter_bounds(quarter);
            if !case.long_running || since >= end {
                return Ok(None);
            }
            let id = tingjian_runtime::wire::new_id();
            let (year, number) = quarter_parts(quarter);
            on_tx!(tx, conn => {
                sqlx::query(
                    "INSERT INTO supervision_follow_up_task (id, case_id, quarter_year, quarter_number, due_time, \
                     status, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                )
                .bind(id.as_str())
                .bind(case.id.as_str())
                .bind(year)
                .bind(number)
                .bind(end)
                .bind(TaskStatus::Done.as_i32())
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            attach_follow_ups(tx, &id, &case.id, quarter).await?;
            Ok(Some(id))
        }
    }
}
