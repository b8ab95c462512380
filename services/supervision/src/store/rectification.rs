//! Rectification orders (整改) in the store: the order row with its reports and verifications, each
//! change with its event in one transaction. A change takes the order row's write lock by bumping its
//! revision first, so concurrent changes queue and a stale etag is ABORTED. An order arising from a case
//! visible to discipline inspection is part of that case's record: issuing or changing it records an
//! item-list change of the case in the same transaction.
//!
//! The sweep marks open orders past their deadline overdue with `UPDATE … WHERE overdue = FALSE`, so each
//! is marked once however many replicas sweep; on PostgreSQL each batch is claimed with
//! `FOR UPDATE SKIP LOCKED`, so replicas share the work instead of waiting on each other.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::{Backend, Tx};
use tingjian_runtime::wire::{etag, timestamp};
use tingjian_runtime::{ServiceError, on_tx};

use super::case::load_case;
use super::write::{commit_case_change, lock_case};
use super::{Arg, Conditions, SERVICE, Store};
use crate::domain::Unit;
use crate::domain::rectification::{
    Issuer, IssuerKind, NewOrder, OrderFilter, OrderReport, OrderScope, OrderStatus, OrderVerification,
    RectificationOrder,
};

/// What one run of the rectification sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RectificationSweep {
    /// Due orders examined.
    pub examined: i32,
    /// Orders newly marked overdue.
    pub marked_overdue: i32,
}

/// Orders the sweep claims per transaction.
const SWEEP_BATCH: i64 = 200;

const ORDER_COLUMNS: &str = "r.id, r.issuer_kind, r.issuer_id, r.issuer_name, r.issuer_org_kind, r.department_id, \
     r.department_name, r.department_kind, r.case_id, r.title, r.problem, r.requirements, r.deadline_time, r.status, \
     r.overdue, r.revoke_reason, r.version, r.created_by, r.create_time, r.update_time";

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    issuer_kind: i32,
    issuer_id: String,
    issuer_name: String,
    issuer_org_kind: i32,
    department_id: String,
    department_name: String,
    department_kind: i32,
    case_id: String,
    title: String,
    problem: String,
    requirements: String,
    deadline_time: DateTime<Utc>,
    status: i32,
    overdue: bool,
    revoke_reason: String,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    order_id: String,
    text: String,
    reported_by: String,
    report_time: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct VerificationRow {
    order_id: String,
    passed: bool,
    comment: String,
    verifier: String,
    organisation_id: String,
    organisation_name: String,
    organisation_kind: i32,
    verify_time: DateTime<Utc>,
}

/// The reports and verifications of some orders, by order id.
#[derive(Default)]
struct Trail {
    reports: HashMap<String, Vec<OrderReport>>,
    verifications: HashMap<String, Vec<OrderVerification>>,
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "rectification order", id: id.to_owned() }
}

fn assemble(row: OrderRow, trail: &mut Trail) -> Result<RectificationOrder, ServiceError> {
    let bad = |what: &str| ServiceError::internal(format!("stored rectification order {} has a bad {what}", row.id));
    let issuer_kind = IssuerKind::from_i32(row.issuer_kind).ok_or_else(|| bad("issuer kind"))?;
    let status = OrderStatus::from_i32(row.status).ok_or_else(|| bad("status"))?;
    Ok(RectificationOrder {
        reports: trail.reports.remove(&row.id).unwrap_or_default(),
        verifications: trail.verifications.remove(&row.id).unwrap_or_default(),
        issuer_kind,
        issuer: Unit { id: row.issuer_id, name: row.issuer_name, kind: row.issuer_org_kind },
        department: Unit { id: row.department_id, name: row.department_name, kind: row.department_kind },
        status,
        id: row.id,
        case_id: row.case_id,
        title: row.title,
        problem: row.problem,
        requirements: row.requirements,
        deadline_time: row.deadline_time,
        overdue: row.overdue,
        revoke_reason: row.revoke_reason,
        version: row.version,
        created_by: row.created_by,
        create_time: row.create_time,
        update_time: row.update_time,
    })
}

/// The reports and verifications of orders `ids`, oldest first.
async fn trail_of(tx: &mut Tx, ids: &[&str]) -> Result<Trail, ServiceError> {
    let mut trail = Trail::default();
    if ids.is_empty() {
        return Ok(trail);
    }
    let mut c = Conditions::default();
    let ps = c.placeholders(ids.iter().map(|id| Arg::Text((*id).to_owned())));
    let sql = format!(
        "SELECT order_id, text, reported_by, report_time FROM supervision_rectification_report \
         WHERE order_id IN ({ps}) ORDER BY order_id, sequence"
    );
    let reports: Vec<ReportRow> =
        on_tx!(tx, conn => bind_all!(sqlx::query_as::<_, ReportRow>(&sql), c.args()).fetch_all(&mut **conn).await)?;
    for r in reports {
        trail.reports.entry(r.order_id).or_default().push(OrderReport {
            text: r.text,
            reported_by: r.reported_by,
            report_time: r.report_time,
        });
    }
    let sql = format!(
        "SELECT order_id, passed, comment, verifier, organisation_id, organisation_name, organisation_kind, \
         verify_time FROM supervision_rectification_verification WHERE order_id IN ({ps}) \
         ORDER BY order_id, sequence"
    );
    let verifications: Vec<VerificationRow> = on_tx!(tx, conn => {
        bind_all!(sqlx::query_as::<_, VerificationRow>(&sql), c.args()).fetch_all(&mut **conn).await
    })?;
    for v in verifications {
        trail.verifications.entry(v.order_id).or_default().push(OrderVerification {
            passed: v.passed,
            comment: v.comment,
            verifier: v.verifier,
            organisation: Unit { id: v.organisation_id, name: v.organisation_name, kind: v.organisation_kind },
            verify_time: v.verify_time,
        });
    }
    Ok(trail)
}

/// Orders from their rows, with their reports and verifications.
async fn assemble_all(tx: &mut Tx, rows: Vec<OrderRow>) -> Result<Vec<RectificationOrder>, ServiceError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut trail = trail_of(tx, &ids).await?;
    rows.into_iter().map(|row| assemble(row, &mut trail)).collect()
}

/// An order by id inside `tx`, if it exists.
async fn load_order(tx: &mut Tx, id: &str) -> Result<Option<RectificationOrder>, ServiceError> {
    let sql = format!("SELECT {ORDER_COLUMNS} FROM supervision_rectification r WHERE r.id = $1");
    let row: Option<OrderRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, OrderRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    let Some(row) = row else { return Ok(None) };
    assemble_all(tx, vec![row]).await.map(|mut orders| orders.pop())
}

/// Whether `scope` may read `order` (looking up its case when that decides).
async fn visible(tx: &mut Tx, order: &RectificationOrder, scope: &OrderScope) -> Result<bool, ServiceError> {
    let case_visible = match scope {
        OrderScope::Commission(org) if !order.issued_by_commission(org) && !order.case_id.is_empty() => {
            load_case(tx, &order.case_id).await?.is_some_and(|c| c.visible_to_discipline_inspection())
        }
        _ => false,
    };
    Ok(order.visible_to(scope, case_visible))
}

/// Records a change of an order arising from case `case_id` on the discipline-inspection item list, when
/// the commission sees the case: the case's revision moves and the item is UPDATED.
async fn touch_case(tx: &mut Tx, case_id: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
    if case_id.is_empty() {
        return Ok(());
    }
    let seen = load_case(tx, case_id).await?.is_some_and(|c| c.visible_to_discipline_inspection());
    if seen {
        let case = lock_case(tx, case_id, None, now).await?;
        commit_case_change(tx, &case, &case, &[]).await?;
    }
    Ok(())
}

/// Writes the mutable columns of `order` (its revision and update time were set by the lock) and appends
/// the reports and verifications it has beyond `before`'s.
async fn save_order(tx: &mut Tx, before: &RectificationOrder, order: &RectificationOrder) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE supervision_rectification SET title = $2, problem = $3, requirements = $4, deadline_time = $5, \
             status = $6, overdue = $7, revoke_reason = $8 WHERE id = $1",
        )
        .bind(order.id.as_str())
        .bind(order.title.as_str())
        .bind(order.problem.as_str())
        .bind(order.requirements.as_str())
        .bind(order.deadline_time)
        .bind(order.status.as_i32())
        .bind(order.overdue)
        .bind(order.revoke_reason.as_str())
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    for (i, report) in order.reports.iter().enumerate().skip(before.reports.len()) {
        let sequence = i32::try_from(i + 1).unwrap_or(i32::MAX);
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO supervision_rectification_report (order_id, sequence, text, reported_by, report_time) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(order.id.as_str())
            .bind(sequence)
            .bind(report.text.as_str())
            .bind(report.reported_by.as_str())
            .bind(report.report_time)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
    }
    for (i, v) in order.verifications.iter().enumerate().skip(before.verifications.len()) {
        let sequence = i32::try_from(i + 1).unwrap_or(i32::MAX);
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO supervision_rectification_verification (order_id, sequence, passed, comment, verifier, \
                 organisation_id, organisation_name, organisation_kind, verify_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(order.id.as_str())
            .bind(sequence)
            .bind(v.passed)
            .bind(v.comment.as_str())
            .bind(v.verifier.as_str())
            .bind(v.organisation.id.as_str())
            .bind(v.organisation.name.as_str())
            .bind(v.organisation.kind)
            .bind(v.verify_time)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
    }
    Ok(())
}

impl RectificationOrder {
    /// The order as the contract's `RectificationOrder`, `overdue` as of `now`.
    pub fn to_message(&self, now: DateTime<Utc>) -> pb::RectificationOrder {
        let unit = crate::convert::unit;
        pb::RectificationOrder {
            id: self.id.clone(),
            issuer_kind: self.issuer_kind.as_i32(),
            issuer: Some(unit(&self.issuer)),
            department: Some(unit(&self.department)),
            case_id: self.case_id.clone(),
            title: self.title.clone(),
            problem: self.problem.clone(),
            requirements: self.requirements.clone(),
            deadline_time: Some(timestamp(self.deadline_time)),
            status: self.status.as_i32(),
            reports: self
                .reports
                .iter()
                .map(|r| pb::RectificationReport {
                    text: r.text.clone(),
                    reported_by: r.reported_by.clone(),
                    report_time: Some(timestamp(r.report_time)),
                })
                .collect(),
            verifications: self
                .verifications
                .iter()
                .map(|v| pb::RectificationVerification {
                    passed: v.passed,
                    comment: v.comment.clone(),
                    verifier: v.verifier.clone(),
                    verifying_organisation: Some(unit(&v.organisation)),
                    verify_time: Some(timestamp(v.verify_time)),
                })
                .collect(),
            overdue: self.is_overdue(now),
            revoke_reason: self.revoke_reason.clone(),
            etag: etag(self.version),
            created_by: self.created_by.clone(),
            create_time: Some(timestamp(self.create_time)),
            update_time: Some(timestamp(self.update_time)),
        }
    }

    /// Event `name` about the order, with `payload` of full name `message_type`.
    pub fn event(&self, name: &'static str, message_type: &'static str, payload: &impl prost::Message) -> NewEvent {
        NewEvent::new(name, format!("rectification_orders/{}", self.id), message_type, payload)
    }
}

impl Store {
    /// Issues an order, or finds the one a request already issued: the same request again (same
    /// `request_id`, same payload, same issuer) returns its order; a different request under the same id
    /// is ALREADY_EXISTS. The case it arises from must exist, and for the commission (`commission`) be
    /// visible to discipline inspection; NOT_FOUND otherwise.
    pub async fn issue_rectification(
        &self,
        new: &NewOrder,
        issuer: &Issuer,
        request_id: Option<&str>,
        commission: bool,
    ) -> Result<RectificationOrder, ServiceError> {
        let fingerprint = new.fingerprint(issuer.kind, &issuer.organisation.id);
        if let Some(request_id) = request_id
            && let Some(found) = self.order_by_request(request_id, &fingerprint).await?
        {
            return Ok(found);
        }
        let request = request_id.map(|r| (r, fingerprint.as_str()));
        match self.insert_order(new, issuer, request, commission).await {
            Ok(order) => Ok(order),
            Err(ServiceError::AlreadyExists(message)) => match request_id {
                Some(request_id) => match self.order_by_request(request_id, &fingerprint).await? {
                    Some(found) => Ok(found),
                    None => Err(ServiceError::AlreadyExists(message)),
                },
                None => Err(ServiceError::AlreadyExists(message)),
            },
            Err(e) => Err(e),
        }
    }

    /// The order `request_id` issued, if any; ALREADY_EXISTS when it issued one for another request.
    async fn order_by_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<RectificationOrder>, ServiceError> {
        let mut tx = self.db.begin().await?;
        let found: Option<(String, Option<String>)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id, request_payload FROM supervision_rectification WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(&mut **conn)
                .await
        })?;
        let result = match found {
            None => Ok(None),
            Some((id, payload)) if payload.as_deref() == Some(fingerprint) => {
                load_order(&mut tx, &id).await?.map(Some).ok_or_else(|| not_found(&id))
            }
            Some((id, _)) => Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id} was already used to issue rectification order {id} from a different request"
            ))),
        };
        tx.rollback().await?;
        result
    }

    async fn insert_order(
        &self,
        new: &NewOrder,
        issuer: &Issuer,
        request: Option<(&str, &str)>,
        commission: bool,
    ) -> Result<RectificationOrder, ServiceError> {
        let now = self.now();
        let id = tingjian_runtime::wire::new_id();
        let mut tx = self.db.begin().await?;
        if let Some(case_id) = &new.case_id {
            let case = load_case(&mut tx, case_id).await?;
            if !case.is_some_and(|c| !commission || c.visible_to_discipline_inspection()) {
                return Err(ServiceError::NotFound { resource: "case", id: case_id.clone() });
            }
        }
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO supervision_rectification (id, issuer_kind, issuer_id, issuer_name, issuer_org_kind, \
                 department_id, department_name, department_kind, case_id, title, problem, requirements, \
                 deadline_time, status, overdue, revoke_reason, version, created_by, request_id, request_payload, \
                 create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 FALSE, '', 1, $15, $16, $17, $18, $18)",
            )
            .bind(id.as_str())
            .bind(issuer.kind.as_i32())
            .bind(issuer.organisation.id.as_str())
            .bind(issuer.organisation.name.as_str())
            .bind(issuer.organisation.kind)
            .bind(new.department.id.as_str())
            .bind(new.department.name.as_str())
            .bind(new.department.kind)
            .bind(new.case_id.as_deref().unwrap_or(""))
            .bind(new.title.as_str())
            .bind(new.problem.as_str())
            .bind(new.requirements.as_str())
            .bind(new.deadline_time)
            .bind(OrderStatus::Issued.as_i32())
            .bind(issuer.subject.as_str())
            .bind(request.map(|(r, _)| r))
            .bind(request.map(|(_, p)| p))
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
        let order = load_order(&mut tx, &id).await?.ok_or_else(|| not_found(&id))?;
        let payload = pb::RectificationOrderIssued {
            order_id: order.id.clone(),
            issuer_kind: order.issuer_kind.as_i32(),
            department: Some(crate::convert::unit(&order.department)),
            case_id: order.case_id.clone(),
            deadline_time: Some(timestamp(order.deadline_time)),
            actor: issuer.subject.clone(),
        };
        let event =
            order.event("rectification_order_issued", "tingjian.supervision.v1.RectificationOrderIssued", &payload);
        events::record(&mut tx, SERVICE, event).await?;
        touch_case(&mut tx, &order.case_id, now).await?;
        tx.commit().await?;
        Ok(order)
    }

    /// Order `id` as `scope` may read it; NOT_FOUND when it does not exist or is out of scope.
    pub async fn get_rectification(&self, id: &str, scope: &OrderScope) -> Result<RectificationOrder, ServiceError> {
        let mut tx = self.db.begin().await?;
        let result = match load_order(&mut tx, id).await? {
            Some(order) if visible(&mut tx, &order, scope).await? => Ok(order),
            _ => Err(not_found(id)),
        };
        tx.rollback().await?;
        result
    }

    /// Changes order `id` in one transaction: takes its write lock, checks that `scope` sees it (NOT_FOUND),
    /// that it was issued by `issuer` when given (PERMISSION_DENIED) and that `expected` (the revision of
    /// the caller's etag, if any) is current (ABORTED); then `change` applies the domain step and names
    /// the event to record. The new reports and verifications are appended, and the change is recorded on
    /// the case's item when the commission sees the case. Returns the order as stored.
    pub async fn change_rectification<F>(
        &self,
        id: &str,
        expected: Option<i64>,
        scope: &OrderScope,
        issuer: Option<IssuerKind>,
        change: F,
    ) -> Result<RectificationOrder, ServiceError>
    where
        F: FnOnce(&mut RectificationOrder, DateTime<Utc>) -> Result<Option<NewEvent>, ServiceError>,
    {
        let now = self.now();
        let mut tx = self.db.begin().await?;
        let changed = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE supervision_rectification SET version = version + 1, update_time = $2 WHERE id = $1")
                .bind(id)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
        })?;
        if changed == 0 {
            return Err(not_found(id));
        }
        let before = load_order(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        if !visible(&mut tx, &before, scope).await? {
            return Err(not_found(id));
        }
        if let Some(kind) = issuer {
            before.require_issuer(kind)?;
        }
        if let Some(expected) = expected
            && before.version - 1 != expected
        {
            return Err(ServiceError::Aborted(format!(
                "rectification order {id} changed since it was read (its etag is now {}); read it again and retry",
                etag(before.version - 1)
            )));
        }
        let mut after = before.clone();
        let event = change(&mut after, now)?;
        save_order(&mut tx, &before, &after).await?;
        if let Some(event) = event {
            events::record(&mut tx, SERVICE, event).await?;
        }
        touch_case(&mut tx, &after.case_id, now).await?;
        let stored = load_order(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Orders matching `filter`, newest first, a page after `page`'s cursor.
    pub async fn list_rectifications(
        &self,
        filter: &OrderFilter,
        page: &PageRequest,
        now: DateTime<Utc>,
    ) -> Result<Page<RectificationOrder>, ServiceError> {
        let mut c = Conditions::default();
        match &filter.scope {
            OrderScope::All => {}
            OrderScope::Department(org) => {
                let p = c.arg(Arg::Text(org.clone()));
                c.push(format!("r.department_id = {p}"));
            }
            OrderScope::Commission(org) => {
                let (pk, po) =
                    (c.arg(Arg::Int(IssuerKind::DisciplineInspection.as_i32())), c.arg(Arg::Text(org.clone())));
                let pl = c.arg(Arg::Int(crate::domain::ESCALATION_DISCIPLINE_INSPECTION));
                c.push(format!(
                    "((r.issuer_kind = {pk} AND r.issuer_id = {po}) OR EXISTS (SELECT 1 FROM supervision_case c \
                     WHERE c.id = r.case_id AND (c.discipline_inspection OR c.escalation_level >= {pl})))"
                ));
            }
        }
        if let Some(org) = &filter.issued_by_commission {
            let (pk, po) = (c.arg(Arg::Int(IssuerKind::DisciplineInspection.as_i32())), c.arg(Arg::Text(org.clone())));
            c.push(format!("r.issuer_kind = {pk} AND r.issuer_id = {po}"));
        }
        if !filter.statuses.is_empty() {
            let ps = c.placeholders(filter.statuses.iter().map(|s| Arg::Int(s.as_i32())));
            c.push(format!("r.status IN ({ps})"));
        }
        if let Some(kind) = filter.issuer_kind {
            let p = c.arg(Arg::Int(kind.as_i32()));
            c.push(format!("r.issuer_kind = {p}"));
        }
        if let Some(department) = &filter.department_id {
            let p = c.arg(Arg::Text(department.clone()));
            c.push(format!("r.department_id = {p}"));
        }
        if let Some(case_id) = &filter.case_id {
            let p = c.arg(Arg::Text(case_id.clone()));
            c.push(format!("r.case_id = {p}"));
        }
        if let Some((start, end)) = filter.issued {
            let (ps, pe) = (c.arg(Arg::Time(start)), c.arg(Arg::Time(end)));
            c.push(format!("r.create_time >= {ps} AND r.create_time < {pe}"));
        }
        if filter.overdue_only {
            let p = c.arg(Arg::Time(now));
            let (p1, p2) =
                (c.arg(Arg::Int(OrderStatus::Issued.as_i32())), c.arg(Arg::Int(OrderStatus::Reported.as_i32())));
            c.push(format!("(r.overdue OR (r.deadline_time <= {p} AND r.status IN ({p1}, {p2})))"));
        }
        c.after_time_and_id(page, "r.create_time", "r.id", true)?;
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM supervision_rectification r{} ORDER BY r.create_time DESC, r.id DESC \
             LIMIT {limit}",
            c.where_sql()
        );
        let mut tx = self.db.begin().await?;
        let rows: Vec<OrderRow> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, OrderRow>(&sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.create_time), r.id.clone()]);
        let items = assemble_all(&mut tx, rows.items).await;
        tx.rollback().await?;
        Ok(Page { items: items?, next: rows.next })
    }

    /// Marks open orders past their deadline as of `as_of` overdue, each once across replicas.
    pub async fn sweep_rectifications(&self, as_of: DateTime<Utc>) -> Result<RectificationSweep, ServiceError> {
        let mut report = RectificationSweep::default();
        loop {
            let mut tx = self.db.begin().await?;
            let claim = match tx.backend() {
                Backend::Postgres => {
                    "SELECT id FROM supervision_rectification WHERE overdue = FALSE AND status IN (1, 2) \
                     AND deadline_time <= $1 ORDER BY deadline_time, id LIMIT $2 FOR UPDATE SKIP LOCKED"
                }
                Backend::Sqlite => {
                    "SELECT id FROM supervision_rectification WHERE overdue = FALSE AND status IN (1, 2) \
                     AND deadline_time <= $1 ORDER BY deadline_time, id LIMIT $2"
                }
            };
            // The open statuses (ISSUED, REPORTED) are written out so the partial index
            // supervision_rectification_open_deadline_idx matches the query under any plan.
            let ids: Vec<String> = on_tx!(&mut tx, conn => {
                sqlx::query_scalar(claim)
                    .bind(as_of)
                    .bind(SWEEP_BATCH)
                    .fetch_all(&mut **conn)
                    .await
            })?;
            if ids.is_empty() {
                tx.rollback().await?;
                break;
            }
            let mut c = Conditions::default();
            let pa = c.arg(Arg::Time(as_of));
            let ps = c.placeholders(ids.iter().map(|id| Arg::Text(id.clone())));
            let sql = format!(
                "UPDATE supervision_rectification SET overdue = TRUE, version = version + 1, update_time = {pa} \
                 WHERE id IN ({ps}) AND overdue = FALSE"
            );
            let marked = on_tx!(&mut tx, conn => {
                bind_all!(sqlx::query(&sql), c.args()).execute(&mut **conn).await.map(|done| done.rows_affected())
            })?;
            tx.commit().await?;
            let claimed = ids.len();
            report.examined = report.examined.saturating_add(i32::try_from(claimed).unwrap_or(i32::MAX));
            report.marked_overdue = report.marked_overdue.saturating_add(i32::try_from(marked).unwrap_or(i32::MAX));
            if i64::try_from(claimed).unwrap_or(i64::MAX) < SWEEP_BATCH || marked == 0 {
                break;
            }
        }
        Ok(report)
    }

    /// The rectification orders arising from case `case_id`, oldest first (for the supervision record).
    pub async fn rectifications_of_case(&self, case_id: &str) -> Result<Vec<pb::RectificationOrder>, ServiceError> {
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM supervision_rectification r WHERE r.case_id = $1 \
             ORDER BY r.create_time, r.id"
        );
        let mut tx = self.db.begin().await?;
        let rows: Vec<OrderRow> =
            on_tx!(&mut tx, conn => sqlx::query_as::<_, OrderRow>(&sql).bind(case_id).fetch_all(&mut **conn).await)?;
        let orders = assemble_all(&mut tx, rows).await;
        tx.rollback().await?;
        let now = self.now();
        Ok(orders?.iter().map(|o| o.to_message(now)).collect())
    }
}
