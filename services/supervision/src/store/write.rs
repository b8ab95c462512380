//! The one way a case changes after dispatch, shared by the verbs, the sweeps, follow-ups, benefits and
//! rectification: lock the case row (taking its write lock and bumping its revision, checking the
//! caller's etag), change the domain value, then [`commit_case_change`] writes every mutable column,
//! appends the history entries, and records the change on the discipline-inspection item list. Events
//! are recorded with [`record_case_event`] in the same transaction.

use chrono::{DateTime, Utc};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::storage::Tx;
use tingjian_runtime::{ServiceError, on_tx};

use super::SERVICE;
use super::case::load_case;
use crate::domain::{Case, CaseAction, CaseStatus, Unit};

/// The actor the sweeps act as, in history entries and events.
pub const SYSTEM_ACTOR: &str = "system";

/// An entry to append to a case's history; the store numbers it. Fields a step does not use stay at their
/// defaults (empty text, 0 for the enum numbers).
#[derive(Debug, Clone)]
pub struct HistoryNote {
    /// What happened.
    pub action: CaseAction,
    /// Status before (`None` only for the dispatch that created the case).
    pub from_status: Option<CaseStatus>,
    /// Status after.
    pub to_status: CaseStatus,
    /// Why, as the actor gave it.
    pub reason: String,
    /// Text of the step (progress, reply, evaluation comment, follow-up findings).
    pub text: String,
    /// Result class number, for a reply.
    pub result_class: i32,
    /// Evaluation number, for an evaluation.
    pub evaluation_result: i32,
    /// Warning level number, for a warning.
    pub warning_level: i32,
    /// Escalation rung number, for an escalation.
    pub escalation_level: i32,
    /// Who did it; [`SYSTEM_ACTOR`] for sweeps.
    pub actor: String,
    /// The actor's organisation.
    pub actor_organisation_id: String,
    /// When.
    pub time: DateTime<Utc>,
}

impl HistoryNote {
    /// A note of `action` by `actor` (of `organisation`) at `time`, moving the case from `from` to `to`.
    pub fn new(
        action: CaseAction,
        from: CaseStatus,
        to: CaseStatus,
        actor: &str,
        organisation: &str,
        time: DateTime<Utc>,
    ) -> Self {
        Self {
            action,
            from_status: Some(from),
            to_status: to,
            reason: String::new(),
            text: String::new(),
            result_class: 0,
            evaluation_result: 0,
            warning_level: 0,
            escalation_level: 0,
            actor: actor.to_owned(),
            actor_organisation_id: organisation.to_owned(),
            time,
        }
    }

    /// A note of a step that leaves the status as it is (warnings, follow-ups, benefits…).
    pub fn same_status(action: CaseAction, case: &Case, actor: &str, organisation: &str, time: DateTime<Utc>) -> Self {
        Self::new(action, case.status, case.status, actor, organisation, time)
    }

    /// With a reason.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }

    /// With a text.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.text = text.into();
        self
    }
}

/// Appends `note` to the history of `case_id`; returns its sequence number.
pub async fn append_history(tx: &mut Tx, case_id: &str, note: &HistoryNote) -> Result<i64, ServiceError> {
    let sequence: i64 = on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT COALESCE(MAX(sequence), 0) + 1 FROM supervision_case_history WHERE case_id = $1")
            .bind(case_id)
            .fetch_one(&mut **conn)
            .await
    })?;
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO supervision_case_history (case_id, sequence, action, from_status, to_status, reason, text, \
             result_class, evaluation_result, warning_level, escalation_level, actor, actor_organisation_id, time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(case_id)
        .bind(sequence)
        .bind(note.action.as_i32())
        .bind(note.from_status.map_or(0, CaseStatus::as_i32))
        .bind(note.to_status.as_i32())
        .bind(note.reason.as_str())
        .bind(note.text.as_str())
        .bind(note.result_class)
        .bind(note.evaluation_result)
        .bind(note.warning_level)
        .bind(note.escalation_level)
        .bind(note.actor.as_str())
        .bind(note.actor_organisation_id.as_str())
        .bind(note.time)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(sequence)
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "case", id: id.to_owned() }
}

/// Takes the write lock of case `id` inside `tx`, bumping its revision and update time to `now`, and
/// returns it as it is now (with the new revision). NOT_FOUND when it does not exist; ABORTED when
/// `expected` (the revision of the caller's etag) is not the revision before this change.
pub async fn lock_case(tx: &mut Tx, id: &str, expected: Option<i64>, now: DateTime<Utc>) -> Result<Case, ServiceError> {
    let changed = on_tx!(tx, conn => {
        sqlx::query("UPDATE supervision_case SET version = version + 1, update_time = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    if changed == 0 {
        return Err(not_found(id));
    }
    let case = load_case(tx, id).await?.ok_or_else(|| not_found(id))?;
    if let Some(expected) = expected
        && case.version - 1 != expected
    {
        return Err(ServiceError::Aborted(format!(
            "case {id} changed since it was read (its etag is now {}); read it again and retry",
            tingjian_runtime::wire::etag(case.version - 1)
        )));
    }
    Ok(case)
}

/// Writes every mutable column of `case` (its id, source and creation stay), replacing its co-units when
/// `co_units_changed`.
async fn save_case(tx: &mut Tx, case: &Case, co_units_changed: bool) -> Result<(), ServiceError> {
    let head = &case.responsible_head;
    let reply = case.reply.as_ref();
    let evaluation = case.evaluation.as_ref();
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE supervision_case SET title = $2, description = $3, status = $4, lead_unit = $5, \
             lead_unit_name = $6, lead_unit_kind = $7, head_id = $8, head_name = $9, head_title = $10, \
             head_organisation_id = $11, dispatch_time = $12, deadline_time = $13, planned_completion_date = $14, \
             joint_supervision = $15, discipline_inspection = $16, requirements = $17, evaluator_id = $18, \
             warning_level = $19, escalation_level = $20, overdue = $21, long_running = $22, \
             long_running_since_time = $23, reopen_count = $24, last_progress_time = $25, accept_time = $26, \
             return_deadline_time = $27, return_reason = $28, close_time = $29, next_follow_up_due_time = $30, \
             result_class = $31, reply_text = $32, reply_reason = $33, reply_unit_id = $34, reply_unit_name = $35, \
             reply_unit_kind = $36, replied_by = $37, reply_time = $38, reply_on_time = $39, first_reply_time = $40, \
             evaluation_result = $41, evaluation_comment = $42, evaluated_by = $43, evaluate_time = $44, \
             returned_unit_id = $45, next_due_time = $46, follow_up_due_time = $47, item_cursor = $48 \
             WHERE id = $1",
        )
        .bind(case.id.as_str())
        .bind(case.title.as_str())
        .bind(case.description.as_str())
        .bind(case.status.as_i32())
        .bind(case.lead_unit.id.as_str())
        .bind(case.lead_unit.name.as_str())
        .bind(case.lead_unit.kind)
        .bind(head.id.as_str())
        .bind(head.display_name.as_str())
        .bind(head.title.as_str())
        .bind(head.organisation_id.as_str())
        .bind(case.dispatch_time)
        .bind(case.deadline_time)
        .bind(case.planned_completion_date.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(case.joint_supervision)
        .bind(case.discipline_inspection)
        .bind(case.requirements.as_str())
        .bind(case.evaluator_id.as_str())
        .bind(case.warning_level)
        .bind(case.escalation_level)
        .bind(case.overdue)
        .bind(case.long_running)
        .bind(case.long_running_since_time)
        .bind(case.reopen_count)
        .bind(case.last_progress_time)
        .bind(case.accept_time)
        .bind(case.return_deadline_time)
        .bind(case.return_reason.as_str())
        .bind(case.close_time)
        .bind(case.next_follow_up_due_time)
        .bind(reply.map_or(0, |r| r.result_class))
        .bind(reply.map_or("", |r| r.text.as_str()))
        .bind(reply.map_or("", |r| r.reason.as_str()))
        .bind(reply.map_or("", |r| r.unit.id.as_str()))
        .bind(reply.map_or("", |r| r.unit.name.as_str()))
        .bind(reply.map_or(0, |r| r.unit.kind))
        .bind(reply.map_or("", |r| r.replied_by.as_str()))
        .bind(reply.map(|r| r.reply_time))
        .bind(reply.is_some_and(|r| r.on_time))
        .bind(case.first_reply_time)
        .bind(evaluation.map_or(0, |e| e.result))
        .bind(evaluation.map_or("", |e| e.comment.as_str()))
        .bind(evaluation.map_or("", |e| e.evaluator.as_str()))
        .bind(evaluation.map(|e| e.evaluate_time))
        .bind(case.returned_unit_id.as_str())
        .bind(case.next_due_time)
        .bind(case.follow_up_due_time)
        .bind(case.item_cursor)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    if co_units_changed {
        replace_co_units(tx, &case.id, &case.co_units).await?;
    }
    Ok(())
}

/// Replaces the co-units of case `id` with `units`, in order.
async fn replace_co_units(tx: &mut Tx, id: &str, units: &[Unit]) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM supervision_case_co_unit WHERE case_id = $1")
            .bind(id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    insert_co_units(tx, id, units).await
}

/// Inserts the co-units of case `id`, numbered in the order of `units`.
pub(super) async fn insert_co_units(tx: &mut Tx, id: &str, units: &[Unit]) -> Result<(), ServiceError> {
    for (position, unit) in units.iter().enumerate() {
        let position = i32::try_from(position + 1).unwrap_or(i32::MAX);
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO supervision_case_co_unit (case_id, position, unit_id, unit_name, unit_kind) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(position)
            .bind(unit.id.as_str())
            .bind(unit.name.as_str())
            .bind(unit.kind)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
    }
    Ok(())
}

/// Finishes a change of a case locked with [`lock_case`]: writes `after` (as changed from `before`),
/// appends `notes` to its history in order, and records the change on the discipline-inspection item list
/// (ADDED when it became visible to the commission, UPDATED while visible, REMOVED when it stopped being
/// visible; the last note's action names the step). Returns the case as stored.
pub async fn commit_case_change(
    tx: &mut Tx,
    before: &Case,
    after: &Case,
    notes: &[HistoryNote],
) -> Result<Case, ServiceError> {
    save_case(tx, after, before.co_units != after.co_units).await?;
    for note in notes {
        append_history(tx, &after.id, note).await?;
    }
    let action = notes.last().map_or(CaseAction::Updated, |n| n.action);
    let time = notes.last().map_or(after.update_time, |n| n.time);
    let mut stored = load_case(tx, &after.id).await?.ok_or_else(|| not_found(&after.id))?;
    super::item::record_item_change(tx, before.visible_to_discipline_inspection(), &mut stored, action, time).await?;
    Ok(stored)
}

/// Records event `name` (e.g. `case_accepted`) about case `case_id` with `payload`, whose full protobuf
/// name is `message_type` (e.g. `tingjian.supervision.v1.CaseAccepted`), inside `tx`.
pub async fn record_case_event(
    tx: &mut Tx,
    name: &'static str,
    case_id: &str,
    message_type: &'static str,
    payload: &impl prost::Message,
) -> Result<(), ServiceError> {
    events::record(tx, SERVICE, NewEvent::new(name, format!("cases/{case_id}"), message_type, payload)).await?;
    Ok(())
}

/// An escalation to insert (升级督办).
#[derive(Debug, Clone)]
pub struct NewEscalation {
    /// The rung reached (the contract's `EscalationLevel` number).
    pub level: i32,
    /// Why (the contract's `EscalationReason` number).
    pub reason: i32,
    /// Detail in words.
    pub detail: String,
    /// Who escalated; [`SYSTEM_ACTOR`] for sweeps.
    pub actor: String,
    /// When.
    pub time: DateTime<Utc>,
    /// What caused it, for escalations the service makes itself (e.g. `overdue:<dispatch>:<rung>`,
    /// `missed:<task id>`, `dissatisfied:<n>`): a second escalation with the same key is not made.
    /// `None` for a supervisor's own (EscalateCase).
    pub cause_key: Option<String>,
}

/// Inserts an escalation of `case` (with its lead unit as it is now); `None` when its cause key was
/// already used (the escalation already happened).
pub async fn insert_escalation(
    tx: &mut Tx,
    case: &Case,
    new: &NewEscalation,
) -> Result<Option<pb::Escalation>, ServiceError> {
    let id = tingjian_runtime::wire::new_id();
    let sql = match tx.backend() {
        tingjian_runtime::storage::Backend::Postgres => {
            "INSERT INTO supervision_escalation (id, case_id, level, reason, detail, lead_unit, lead_unit_name, \
             lead_unit_kind, actor, escalate_time, cause_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (cause_key) DO NOTHING"
        }
        tingjian_runtime::storage::Backend::Sqlite => {
            "INSERT OR IGNORE INTO supervision_escalation (id, case_id, level, reason, detail, lead_unit, \
             lead_unit_name, lead_unit_kind, actor, escalate_time, cause_key) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        }
    };
    let inserted = on_tx!(tx, conn => {
        sqlx::query(sql)
            .bind(id.as_str())
            .bind(case.id.as_str())
            .bind(new.level)
            .bind(new.reason)
            .bind(new.detail.as_str())
            .bind(case.lead_unit.id.as_str())
            .bind(case.lead_unit.name.as_str())
            .bind(case.lead_unit.kind)
            .bind(new.actor.as_str())
            .bind(new.time)
            .bind(new.cause_key.as_deref())
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    if inserted == 0 {
        return Ok(None);
    }
    Ok(Some(pb::Escalation {
        id,
        case_id: case.id.clone(),
        case_title: case.title.clone(),
        level: new.level,
        reason: new.reason,
        detail: new.detail.clone(),
        lead_unit: Some(crate::convert::unit(&case.lead_unit)),
        actor: new.actor.clone(),
        escalate_time: Some(tingjian_runtime::wire::timestamp(new.time)),
    }))
}
