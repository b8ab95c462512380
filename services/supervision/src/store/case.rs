//! Cases in the store: the case row, its co-units, its append-only history, and the CaseDispatched event,
//! each change with its event in one transaction. One case per source: a UNIQUE (source_kind, source_id)
//! index makes the second of two concurrent dispatches of the same source fail, and it is answered with
//! the case the first one created.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::Tx;
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::inspection::{ReferralWrite, write_referral};
use super::write::{HistoryNote, append_history, insert_co_units};
use super::{Arg, Conditions, SERVICE, Store};
use crate::domain::{
    Case, CaseAction, CaseFilter, CaseHistoryEntry, CaseSource, CaseStatus, ESCALATION_DISCIPLINE_INSPECTION,
    Evaluation, NewCase, Person, Reply, Schedule, Scope, SourceKind, Unit,
};

const CASE_COLUMNS: &str = "c.id, c.title, c.description, c.source_kind, c.source_id, c.source_title, c.lead_unit, \
     c.lead_unit_name, c.lead_unit_kind, c.head_id, c.head_name, c.head_title, c.head_organisation_id, c.status, \
     c.dispatch_time, c.deadline_time, c.planned_completion_date, c.joint_supervision, c.discipline_inspection, \
     c.requirements, c.enterprise_id, c.evaluator_id, c.category, c.district, c.industry, c.warning_level, \
     c.escalation_level, c.overdue, c.long_running, c.long_running_since_time, c.reopen_count, \
     c.last_progress_time, c.accept_time, c.return_deadline_time, c.return_reason, c.close_time, \
     c.next_follow_up_due_time, c.dispatched_by, c.version, c.create_time, c.update_time, c.result_class, \
     c.reply_text, c.reply_reason, c.reply_unit_id, c.reply_unit_name, c.reply_unit_kind, c.replied_by, \
     c.reply_time, c.reply_on_time, c.first_reply_time, c.evaluation_result, c.evaluation_comment, \
     c.evaluated_by, c.evaluate_time, c.returned_unit_id, c.next_due_time, c.follow_up_due_time, c.item_cursor";

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: String,
    title: String,
    description: String,
    source_kind: i32,
    source_id: String,
    source_title: String,
    lead_unit: String,
    lead_unit_name: String,
    lead_unit_kind: i32,
    head_id: String,
    head_name: String,
    head_title: String,
    head_organisation_id: String,
    status: i32,
    dispatch_time: DateTime<Utc>,
    deadline_time: DateTime<Utc>,
    planned_completion_date: Option<String>,
    joint_supervision: bool,
    discipline_inspection: bool,
    requirements: String,
    enterprise_id: String,
    evaluator_id: String,
    category: String,
    district: String,
    industry: String,
    warning_level: i32,
    escalation_level: i32,
    overdue: bool,
    long_running: bool,
    long_running_since_time: Option<DateTime<Utc>>,
    reopen_count: i32,
    last_progress_time: Option<DateTime<Utc>>,
    accept_time: Option<DateTime<Utc>>,
    return_deadline_time: Option<DateTime<Utc>>,
    return_reason: String,
    close_time: Option<DateTime<Utc>>,
    next_follow_up_due_time: Option<DateTime<Utc>>,
    dispatched_by: String,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    result_class: i32,
    reply_text: String,
    reply_reason: String,
    reply_unit_id: String,
    reply_unit_name: String,
    reply_unit_kind: i32,
    replied_by: String,
    reply_time: Option<DateTime<Utc>>,
    reply_on_time: bool,
    first_reply_time: Option<DateTime<Utc>>,
    evaluation_result: i32,
    evaluation_comment: String,
    evaluated_by: String,
    evaluate_time: Option<DateTime<Utc>>,
    returned_unit_id: String,
    next_due_time: Option<DateTime<Utc>>,
    follow_up_due_time: Option<DateTime<Utc>>,
    item_cursor: i64,
}

#[derive(sqlx::FromRow)]
struct CoUnitRow {
    case_id: String,
    unit_id: String,
    unit_name: String,
    unit_kind: i32,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    case_id: String,
    sequence: i64,
    action: i32,
    from_status: i32,
    to_status: i32,
    reason: String,
    text: String,
    result_class: i32,
    evaluation_result: i32,
    warning_level: i32,
    escalation_level: i32,
    actor: String,
    actor_organisation_id: String,
    time: DateTime<Utc>,
}

fn bad_row(id: &str, what: &str) -> ServiceError {
    ServiceError::internal(format!("stored case {id} has a bad {what}"))
}

fn assemble(row: CaseRow, co_units: Vec<Unit>) -> Result<Case, ServiceError> {
    let status = CaseStatus::from_i32(row.status).ok_or_else(|| bad_row(&row.id, "status"))?;
    let kind = SourceKind::from_i32(row.source_kind).ok_or_else(|| bad_row(&row.id, "source kind"))?;
    let planned_completion_date = match &row.planned_completion_date {
        None => None,
        Some(raw) => {
            Some(NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| bad_row(&row.id, "planned completion date"))?)
        }
    };
    Ok(Case {
        source: CaseSource { kind, source_id: row.source_id, source_title: row.source_title },
        lead_unit: Unit { id: row.lead_unit, name: row.lead_unit_name, kind: row.lead_unit_kind },
        co_units,
        responsible_head: Person {
            id: row.head_id,
            display_name: row.head_name,
            title: row.head_title,
            organisation_id: row.head_organisation_id,
        },
        status,
        id: row.id,
        title: row.title,
        description: row.description,
        dispatch_time: row.dispatch_time,
        deadline_time: row.deadline_time,
        planned_completion_date,
        joint_supervision: row.joint_supervision,
        discipline_inspection: row.discipline_inspection,
        requirements: row.requirements,
        enterprise_id: row.enterprise_id,
        evaluator_id: row.evaluator_id,
        category: row.category,
        district: row.district,
        industry: row.industry,
        warning_level: row.warning_level,
        escalation_level: row.escalation_level,
        overdue: row.overdue,
        long_running: row.long_running,
        long_running_since_time: row.long_running_since_time,
        reopen_count: row.reopen_count,
        last_progress_time: row.last_progress_time,
        accept_time: row.accept_time,
        return_deadline_time: row.return_deadline_time,
        return_reason: row.return_reason,
        close_time: row.close_time,
        next_follow_up_due_time: row.next_follow_up_due_time,
        reply: row.reply_time.map(|reply_time| Reply {
            result_class: row.result_class,
            text: row.reply_text,
            reason: row.reply_reason,
            unit: Unit { id: row.reply_unit_id, name: row.reply_unit_name, kind: row.reply_unit_kind },
            replied_by: row.replied_by,
            reply_time,
            on_time: row.reply_on_time,
        }),
        first_reply_time: row.first_reply_time,
        evaluation: row.evaluate_time.map(|evaluate_time| Evaluation {
            result: row.evaluation_result,
            comment: row.evaluation_comment,
            evaluator: row.evaluated_by,
            evaluate_time,
        }),
        returned_unit_id: row.returned_unit_id,
        next_due_time: row.next_due_time,
        follow_up_due_time: row.follow_up_due_time,
        item_cursor: row.item_cursor,
        dispatched_by: row.dispatched_by,
        version: row.version,
        create_time: row.create_time,
        update_time: row.update_time,
    })
}

impl TryFrom<HistoryRow> for CaseHistoryEntry {
    type Error = ServiceError;

    fn try_from(row: HistoryRow) -> Result<Self, Self::Error> {
        let bad = |what: &str| {
            ServiceError::internal(format!("case {} history {} has a bad {what}", row.case_id, row.sequence))
        };
        Ok(Self {
            action: CaseAction::from_i32(row.action).ok_or_else(|| bad("action"))?,
            from_status: CaseStatus::from_i32(row.from_status),
            to_status: CaseStatus::from_i32(row.to_status).ok_or_else(|| bad("status"))?,
            case_id: row.case_id,
            sequence: row.sequence,
            reason: row.reason,
            text: row.text,
            result_class: row.result_class,
            evaluation_result: row.evaluation_result,
            warning_level: row.warning_level,
            escalation_level: row.escalation_level,
            actor: row.actor,
            actor_organisation_id: row.actor_organisation_id,
            time: row.time,
        })
    }
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "case", id: id.to_owned() }
}

/// The co-units of each of `ids`, in the order given at dispatch.
pub(super) async fn co_units_of(tx: &mut Tx, ids: &[&str]) -> Result<HashMap<String, Vec<Unit>>, ServiceError> {
    let mut out: HashMap<String, Vec<Unit>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut c = Conditions::default();
    let ps = c.placeholders(ids.iter().map(|id| Arg::Text((*id).to_owned())));
    let sql = format!(
        "SELECT case_id, unit_id, unit_name, unit_kind FROM supervision_case_co_unit WHERE case_id IN ({ps}) \
         ORDER BY case_id, position"
    );
    let rows: Vec<CoUnitRow> =
        on_tx!(tx, conn => bind_all!(sqlx::query_as::<_, CoUnitRow>(&sql), c.args()).fetch_all(&mut **conn).await)?;
    for row in rows {
        out.entry(row.case_id).or_default().push(Unit { id: row.unit_id, name: row.unit_name, kind: row.unit_kind });
    }
    Ok(out)
}

/// A case by id inside `tx`, if it exists.
pub(super) async fn load_case(tx: &mut Tx, id: &str) -> Result<Option<Case>, ServiceError> {
    let sql = format!("SELECT {CASE_COLUMNS} FROM supervision_case c WHERE c.id = $1");
    let row: Option<CaseRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, CaseRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    let Some(row) = row else { return Ok(None) };
    let mut units = co_units_of(tx, &[id]).await?;
    assemble(row, units.remove(id).unwrap_or_default()).map(Some)
}

/// The cases of `ids` inside `tx`, in the order of `ids`; ids that do not exist are left out.
pub(super) async fn load_cases(tx: &mut Tx, ids: &[&str]) -> Result<Vec<Case>, ServiceError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = Conditions::default();
    let ps = c.placeholders(ids.iter().map(|id| Arg::Text((*id).to_owned())));
    let sql = format!("SELECT {CASE_COLUMNS} FROM supervision_case c WHERE c.id IN ({ps})");
    let rows: Vec<CaseRow> =
        on_tx!(tx, conn => bind_all!(sqlx::query_as::<_, CaseRow>(&sql), c.args()).fetch_all(&mut **conn).await)?;
    let mut units = co_units_of(tx, ids).await?;
    let mut by_id: HashMap<String, Case> = HashMap::with_capacity(rows.len());
    for row in rows {
        let id = row.id.clone();
        let co_units = units.remove(&id).unwrap_or_default();
        by_id.insert(id, assemble(row, co_units)?);
    }
    Ok(ids.iter().filter_map(|id| by_id.remove(*id)).collect())
}

/// Who creates a case: the token's subject and organisation.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// Subject.
    pub subject: &'a str,
    /// Organisation.
    pub organisation: &'a str,
}

/// Inserts the case row and its co-units.
async fn insert_case(
    tx: &mut Tx,
    id: &str,
    new: &NewCase,
    schedule: &Schedule,
    request: Option<(&str, &str)>,
    actor: &str,
) -> Result<(), ServiceError> {
    let now = schedule.dispatch_time;
    let head = &new.responsible_head;
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO supervision_case (id, title, description, status, lead_unit, dispatch_time, deadline_time, \
             version, request_id, dispatched_by, create_time, update_time, source_kind, source_id, source_title, \
             lead_unit_name, lead_unit_kind, head_id, head_name, head_title, head_organisation_id, \
             planned_completion_date, joint_supervision, discipline_inspection, requirements, enterprise_id, \
             evaluator_id, category, district, industry, long_running, long_running_since_time, \
             return_deadline_time, next_due_time, request_payload, follow_up_due_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $6, $6, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
             $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33)",
        )
        .bind(id)
        .bind(new.title.as_str())
        .bind(new.description.as_str())
        .bind(CaseStatus::Dispatched.as_i32())
        .bind(new.lead_unit.id.as_str())
        .bind(now)
        .bind(schedule.deadline_time)
        .bind(request.map(|(r, _)| r))
        .bind(actor)
        .bind(new.source.kind.as_i32())
        .bind(new.source.source_id.as_str())
        .bind(new.source.source_title.as_str())
        .bind(new.lead_unit.name.as_str())
        .bind(new.lead_unit.kind)
        .bind(head.id.as_str())
        .bind(head.display_name.as_str())
        .bind(head.title.as_str())
        .bind(head.organisation_id.as_str())
        .bind(new.planned_completion_date.map(|d| d.format("%Y-%m-%d").to_string()))
        .bind(new.joint_supervision)
        .bind(new.discipline_inspection)
        .bind(new.requirements.as_str())
        .bind(new.enterprise_id.as_str())
        .bind(new.evaluator_id.as_str())
        .bind(new.category.as_str())
        .bind(new.district.as_str())
        .bind(new.industry.as_str())
        .bind(schedule.long_running_since.is_some())
        .bind(schedule.long_running_since)
        .bind(schedule.return_deadline_time)
        .bind(schedule.next_due_time)
        .bind(request.map(|(_, p)| p))
        .bind(schedule.follow_up_due_time)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    insert_co_units(tx, id, &new.co_units).await
}

async fn record_dispatched(tx: &mut Tx, case: &Case, actor: &str) -> Result<(), ServiceError> {
    let payload = pb::CaseDispatched {
        context: Some(crate::convert::context(case)),
        title: case.title.clone(),
        co_units: case.co_units.iter().map(crate::convert::unit).collect(),
        responsible_head: Some(crate::convert::person(&case.responsible_head)),
        planned_completion_date: case.planned_completion_date.map(crate::convert::date),
        joint_supervision: case.joint_supervision,
        actor: actor.to_owned(),
    };
    let event = NewEvent::new(
        "case_dispatched",
        format!("cases/{}", case.id),
        "tingjian.supervision.v1.CaseDispatched",
        &payload,
    );
    events::record(tx, SERVICE, event).await?;
    Ok(())
}

impl Store {
    /// Creates and dispatches a case, or finds the one already created: by `request_id` (the same request
    /// again returns its case as created; a different request under the same id is ALREADY_EXISTS unless
    /// it names the same source), or by the source (its case, `false` for "not newly created"). Concurrent creations for one source leave
    /// one case; the others answer with it.
    pub async fn create_case(
        &self,
        new: &NewCase,
        request_id: Option<&str>,
        actor: Actor<'_>,
    ) -> Result<(Case, bool), ServiceError> {
        self.create_case_and(new, request_id, actor, None).await
    }

    /// Creates the case of a referral as [`Store::create_case`] does, writing `referral` in the same
    /// transaction when the case is new.
    pub(super) async fn create_referred_case(
        &self,
        new: &NewCase,
        request_id: Option<&str>,
        actor: Actor<'_>,
        referral: &ReferralWrite<'_>,
    ) -> Result<(Case, bool), ServiceError> {
        self.create_case_and(new, request_id, actor, Some(referral)).await
    }

    async fn create_case_and(
        &self,
        new: &NewCase,
        request_id: Option<&str>,
        actor: Actor<'_>,
        referral: Option<&ReferralWrite<'_>>,
    ) -> Result<(Case, bool), ServiceError> {
        let fingerprint = new.fingerprint();
        if let Some(found) = self.existing_case(new, request_id, &fingerprint).await? {
            return Ok(found);
        }
        let dispatch = self.now();
        let first_year = dispatch.year();
        let calendar = self.working_calendar(first_year..=first_year + 2).await?;
        let schedule = Schedule::at_dispatch(dispatch, new.deadline, new.planned_completion_date, &calendar)?;
        let request = request_id.map(|r| (r, fingerprint.as_str()));
        match self.insert_dispatched(new, &schedule, request, actor, referral).await {
            Ok(case) => Ok((case, true)),
            Err(ServiceError::AlreadyExists(_)) => match self.existing_case(new, request_id, &fingerprint).await? {
                Some(found) => Ok(found),
                None => Err(ServiceError::AlreadyExists("the case conflicts with an existing one".into())),
            },
            Err(e) => Err(e),
        }
    }

    async fn insert_dispatched(
        &self,
        new: &NewCase,
        schedule: &Schedule,
        request: Option<(&str, &str)>,
        actor: Actor<'_>,
        referral: Option<&ReferralWrite<'_>>,
    ) -> Result<Case, ServiceError> {
        let id = tingjian_runtime::wire::new_id();
        let mut tx = self.db.begin().await?;
        insert_case(&mut tx, &id, new, schedule, request, actor.subject).await?;
        let note = HistoryNote {
            from_status: None,
            ..HistoryNote::new(
                CaseAction::Dispatched,
                CaseStatus::Dispatched,
                CaseStatus::Dispatched,
                actor.subject,
                actor.organisation,
                schedule.dispatch_time,
            )
        };
        append_history(&mut tx, &id, &note).await?;
        let mut case = load_case(&mut tx, &id).await?.ok_or_else(|| not_found(&id))?;
        super::item::record_item_change(&mut tx, false, &mut case, CaseAction::Dispatched, schedule.dispatch_time)
            .await?;
        record_dispatched(&mut tx, &case, actor.subject).await?;
        if let Some(referral) = referral {
            write_referral(&mut tx, referral, &case).await?;
        }
        tx.commit().await?;
        Ok(case)
    }

    /// The case a request already created (`true`) or its source already has (`false`), if any.
    async fn existing_case(
        &self,
        new: &NewCase,
        request_id: Option<&str>,
        fingerprint: &str,
    ) -> Result<Option<(Case, bool)>, ServiceError> {
        if let Some(request_id) = request_id {
            let found: Option<(String, Option<String>)> = on_pool!(&self.db, pool => {
                sqlx::query_as("SELECT id, request_payload FROM supervision_case WHERE request_id = $1")
                    .bind(request_id)
                    .fetch_optional(pool)
                    .await
            })?;
            if let Some((id, payload)) = found {
                let case = self.get_case(&id).await?;
                if payload.as_deref() == Some(fingerprint) {
                    return Ok(Some((case, true)));
                }
                // Another request under the same id: still the source's case when it names the same
                // source (one case per source), else a misuse of the id.
                if case.source.kind == new.source.kind && case.source.source_id == new.source.source_id {
                    return Ok(Some((case, false)));
                }
                return Err(ServiceError::AlreadyExists(format!(
                    "request_id {request_id} was already used to create case {id} from a different request"
                )));
            }
        }
        let found: Option<String> = on_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT id FROM supervision_case WHERE source_kind = $1 AND source_id = $2")
                .bind(new.source.kind.as_i32())
                .bind(new.source.source_id.as_str())
                .fetch_optional(pool)
                .await
        })?;
        match found {
            Some(id) => Ok(Some((self.get_case(&id).await?, false))),
            None => Ok(None),
        }
    }

    /// A case by id.
    pub async fn get_case(&self, id: &str) -> Result<Case, ServiceError> {
        let mut tx = self.db.begin().await?;
        let case = load_case(&mut tx, id).await;
        tx.rollback().await?;
        case?.ok_or_else(|| not_found(id))
    }

    /// Cases matching `filter`, most recently dispatched first, a page after `page`'s cursor; with the
    /// number matching in all.
    pub async fn list_cases(
        &self,
        filter: &CaseFilter,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<(Page<Case>, i64), ServiceError> {
        let mut c = Conditions::default();
        match &filter.scope {
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
        if !filter.statuses.is_empty() {
            let ps = c.placeholders(filter.statuses.iter().map(|s| Arg::Int(s.as_i32())));
            c.push(format!("c.status IN ({ps})"));
        }
        if let Some(unit) = &filter.unit_id {
            let p = c.arg(Arg::Text(unit.clone()));
            if filter.include_co_units {
                c.push(format!(
                    "(c.lead_unit = {p} OR EXISTS (SELECT 1 FROM supervision_case_co_unit u \
                     WHERE u.case_id = c.id AND u.unit_id = {p}))"
                ));
            } else {
                c.push(format!("c.lead_unit = {p}"));
            }
        }
        if let Some(kind) = filter.source_kind {
            let p = c.arg(Arg::Int(kind.as_i32()));
            c.push(format!("c.source_kind = {p}"));
        }
        for (column, value) in [
            ("c.source_id", &filter.source_id),
            ("c.enterprise_id", &filter.enterprise_id),
            ("c.category", &filter.category),
        ] {
            if let Some(value) = value {
                let p = c.arg(Arg::Text(value.clone()));
                c.push(format!("{column} = {p}"));
            }
        }
        if let Some((start, end)) = filter.dispatched {
            let (ps, pe) = (c.arg(Arg::Time(start)), c.arg(Arg::Time(end)));
            c.push(format!("c.dispatch_time >= {ps} AND c.dispatch_time < {pe}"));
        }
        if filter.overdue_only {
            let p = c.arg(Arg::Time(now));
            let open = CaseStatus::ALL.iter().filter(|s| s.awaits_reply()).map(|s| s.as_i32().to_string());
            c.push(format!(
                "(c.overdue OR (c.deadline_time < {p} AND c.status IN ({})))",
                open.collect::<Vec<_>>().join(", ")
            ));
        }
        if filter.long_running_only {
            c.push("c.long_running");
        }
        if filter.joint_supervision_only {
            c.push("c.joint_supervision");
        }
        if filter.discipline_inspection_only {
            c.push("c.discipline_inspection");
        }
        if filter.min_escalation_level > 0 {
            let p = c.arg(Arg::Int(filter.min_escalation_level));
            c.push(format!("c.escalation_level >= {p}"));
        }
        let count_sql = format!("SELECT COUNT(*) FROM supervision_case c{}", c.where_sql());
        let count_args = c.args().len();
        c.after_time_and_id(page, "c.dispatch_time", "c.id", true)?;
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let page_sql = format!(
            "SELECT {CASE_COLUMNS} FROM supervision_case c{} ORDER BY c.dispatch_time DESC, c.id DESC LIMIT {limit}",
            c.where_sql()
        );
        let mut tx = self.db.begin().await?;
        let total: i64 = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_scalar::<_, i64>(&count_sql), &c.args()[..count_args]).fetch_one(&mut **conn).await
        })?;
        let rows: Vec<CaseRow> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, CaseRow>(&page_sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.dispatch_time), r.id.clone()]);
        let ids: Vec<&str> = rows.items.iter().map(|r| r.id.as_str()).collect();
        let mut units = co_units_of(&mut tx, &ids).await?;
        tx.rollback().await?;
        let items = rows
            .items
            .into_iter()
            .map(|row| {
                let u = units.remove(&row.id).unwrap_or_default();
                assemble(row, u)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((Page { items, next: rows.next }, total))
    }

    /// A case's history, oldest first, a page after `page`'s cursor.
    pub async fn list_case_history(
        &self,
        case_id: &str,
        page: &PageRequest,
    ) -> Result<Page<CaseHistoryEntry>, ServiceError> {
        let after = match &page.after {
            None => 0,
            Some(keys) => PageRequest::int_key(keys, 0)?,
        };
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let rows: Vec<HistoryRow> = on_pool!(&self.db, pool => {
            sqlx::query_as::<_, HistoryRow>(
                "SELECT case_id, sequence, action, from_status, to_status, reason, text, result_class, \
                 evaluation_result, warning_level, escalation_level, actor, actor_organisation_id, time \
                 FROM supervision_case_history WHERE case_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
            )
            .bind(case_id)
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![r.sequence.to_string()]);
        let items = rows.items.into_iter().map(CaseHistoryEntry::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next: rows.next })
    }
}
