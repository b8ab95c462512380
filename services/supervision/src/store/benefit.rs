//! Benefits of cases (成效) in the store: recorded on a replied, evaluated or closed case (or with its
//! reply) with a BENEFIT_RECORDED history entry and the BenefitRecorded event in the same transaction;
//! idempotent on the request id; listed newest first with the sums over every matching benefit.

use chrono::{DateTime, Utc};
use tingjian_proto::common::v1::Money;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::Tx;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{Caller, ServiceError, on_pool, on_tx};

use super::write::{HistoryNote, commit_case_change, lock_case, record_case_event};
use super::{Arg, Conditions, Store};
use crate::domain::benefit::{BenefitFilter, BenefitScope, CNY, NewBenefit};
use crate::domain::lifecycle::Verb;
use crate::domain::{Case, CaseAction};

const BENEFIT_COLUMNS: &str = "b.id, b.case_id, b.enterprise_id, b.kind, b.amount_fen, b.problems_solved, b.category, \
     b.description, b.recorded_by, b.create_time";

#[derive(sqlx::FromRow)]
struct BenefitRow {
    id: String,
    case_id: String,
    enterprise_id: String,
    kind: i32,
    amount_fen: i64,
    problems_solved: i32,
    category: String,
    description: String,
    recorded_by: String,
    create_time: DateTime<Utc>,
}

impl From<BenefitRow> for pb::Benefit {
    fn from(row: BenefitRow) -> Self {
        pb::Benefit {
            id: row.id,
            case_id: row.case_id,
            enterprise_id: row.enterprise_id,
            kind: row.kind,
            amount: Some(Money { currency_code: CNY.to_owned(), minor_units: row.amount_fen }),
            problems_solved: row.problems_solved,
            category: row.category,
            description: row.description,
            recorded_by: row.recorded_by,
            create_time: Some(timestamp(row.create_time)),
        }
    }
}

/// Inserts `benefit` (already defaulted from its case) of case `case_id`, recorded by `recorded_by` at
/// `now`, under `request` (request id, fingerprint) when given; the benefit as stored.
pub(super) async fn insert_benefit(
    tx: &mut Tx,
    case_id: &str,
    benefit: &NewBenefit,
    recorded_by: &str,
    request: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> Result<pb::Benefit, ServiceError> {
    let id = tingjian_runtime::wire::new_id();
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO supervision_benefit (id, case_id, enterprise_id, kind, amount_fen, problems_solved, \
             category, description, recorded_by, request_id, request_payload, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(id.as_str())
        .bind(case_id)
        .bind(benefit.enterprise_id.as_str())
        .bind(benefit.kind.as_i32())
        .bind(benefit.amount_fen)
        .bind(benefit.problems_solved)
        .bind(benefit.category.as_str())
        .bind(benefit.description.as_str())
        .bind(recorded_by)
        .bind(request.map(|(r, _)| r))
        .bind(request.map(|(_, p)| p))
        .bind(now)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(pb::Benefit::from(BenefitRow {
        id,
        case_id: case_id.to_owned(),
        enterprise_id: benefit.enterprise_id.clone(),
        kind: benefit.kind.as_i32(),
        amount_fen: benefit.amount_fen,
        problems_solved: benefit.problems_solved,
        category: benefit.category.clone(),
        description: benefit.description.clone(),
        recorded_by: recorded_by.to_owned(),
        create_time: now,
    }))
}

/// The history note of recording `benefit` on `case`.
pub(super) fn benefit_note(case: &Case, benefit: &NewBenefit, caller: &Caller, now: DateTime<Utc>) -> HistoryNote {
    HistoryNote::same_status(CaseAction::BenefitRecorded, case, &caller.subject, &caller.organisation, now)
        .text(benefit.description.as_str())
}

/// Records BenefitRecorded for `benefit` of `case`.
pub(super) async fn record_benefit_event(
    tx: &mut Tx,
    case: &Case,
    benefit: &pb::Benefit,
    actor: &str,
) -> Result<(), ServiceError> {
    let payload = pb::BenefitRecorded {
        context: Some(crate::convert::context(case)),
        benefit: Some(benefit.clone()),
        actor: actor.to_owned(),
    };
    record_case_event(tx, "benefit_recorded", &case.id, "tingjian.supervision.v1.BenefitRecorded", &payload).await
}

impl Store {
    /// The benefits of case `case_id`, oldest first (for the supervision record).
    pub async fn benefits_of_case(&self, case_id: &str) -> Result<Vec<pb::Benefit>, ServiceError> {
        let sql = format!(
            "SELECT {BENEFIT_COLUMNS} FROM supervision_benefit b WHERE b.case_id = $1 ORDER BY b.create_time, b.id"
        );
        let rows: Vec<BenefitRow> = on_pool!(self.database(), pool => {
            sqlx::query_as::<_, BenefitRow>(&sql).bind(case_id).fetch_all(pool).await
        })?;
        Ok(rows.into_iter().map(pb::Benefit::from).collect())
    }

    /// RecordBenefit: records `benefit` of case `case_id` by `caller` (the lead unit, staff or a
    /// supervisor) on a replied, evaluated or closed case. The same request again (same `request_id`,
    /// same benefit) returns the benefit it recorded; another benefit under the same id is ALREADY_EXISTS.
    pub async fn record_benefit(
        &self,
        case_id: &str,
        benefit: &NewBenefit,
        request_id: Option<&str>,
        caller: &Caller,
    ) -> Result<pb::Benefit, ServiceError> {
        Verb::RecordBenefit.authorize(&self.get_case(case_id).await?, caller)?;
        let fingerprint = benefit.fingerprint(case_id);
        if let Some(request_id) = request_id
            && let Some(found) = self.benefit_of_request(request_id, &fingerprint).await?
        {
            return Ok(found);
        }
        let request = request_id.map(|r| (r, fingerprint.as_str()));
        match self.insert_recorded_benefit(case_id, benefit, request, caller).await {
            Err(ServiceError::AlreadyExists(message)) => match request_id {
                Some(request_id) => {
                    self.benefit_of_request(request_id, &fingerprint).await?.ok_or(ServiceError::AlreadyExists(message))
                }
                None => Err(ServiceError::AlreadyExists(message)),
            },
            other => other,
        }
    }

    /// The benefit recorded under `request_id`, if any: ALREADY_EXISTS when it was another request.
    async fn benefit_of_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<pb::Benefit>, ServiceError> {
        let found: Option<(String, Option<String>)> = on_pool!(self.database(), pool => {
            sqlx::query_as("SELECT id, request_payload FROM supervision_benefit WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(pool)
                .await
        })?;
        let Some((id, payload)) = found else { return Ok(None) };
        if payload.as_deref() != Some(fingerprint) {
            return Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id} was already used to record benefit {id} with different values"
            )));
        }
        let sql = format!("SELECT {BENEFIT_COLUMNS} FROM supervision_benefit b WHERE b.id = $1");
        let row: Option<BenefitRow> = on_pool!(self.database(), pool => {
            sqlx::query_as::<_, BenefitRow>(&sql).bind(id.as_str()).fetch_optional(pool).await
        })?;
        Ok(row.map(pb::Benefit::from))
    }

    async fn insert_recorded_benefit(
        &self,
        case_id: &str,
        benefit: &NewBenefit,
        request: Option<(&str, &str)>,
        caller: &Caller,
    ) -> Result<pb::Benefit, ServiceError> {
        let now = self.now();
        let mut tx = self.database().begin().await?;
        let before = lock_case(&mut tx, case_id, None, now).await?;
        Verb::RecordBenefit.authorize(&before, caller)?;
        Verb::RecordBenefit.check_status(&before)?;
        let benefit = benefit.clone().defaulted(&before);
        let notes = [benefit_note(&before, &benefit, caller, now)];
        let case = commit_case_change(&mut tx, &before, &before, &notes).await?;
        let stored = insert_benefit(&mut tx, &case.id, &benefit, &caller.subject, request, now).await?;
        record_benefit_event(&mut tx, &case, &stored, &caller.subject).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Benefits matching `filter`, newest first, a page after `page`'s cursor; with the sums of the amounts
    /// (fen) and of the problems solved over every matching benefit.
    pub async fn list_benefits(
        &self,
        filter: &BenefitFilter,
        page: &PageRequest,
    ) -> Result<(Page<pb::Benefit>, i64, i64), ServiceError> {
        let mut c = Conditions::default();
        if let BenefitScope::Unit(org) = &filter.scope {
            let p = c.arg(Arg::Text(org.clone()));
            c.push(format!(
                "b.case_id IN (SELECT c.id FROM supervision_case c WHERE c.lead_unit = {p} OR EXISTS \
                 (SELECT 1 FROM supervision_case_co_unit u WHERE u.case_id = c.id AND u.unit_id = {p}))"
            ));
        }
        for (column, value) in [
            ("b.case_id", &filter.case_id),
            ("b.enterprise_id", &filter.enterprise_id),
            ("b.category", &filter.category),
        ] {
            if let Some(value) = value {
                let p = c.arg(Arg::Text(value.clone()));
                c.push(format!("{column} = {p}"));
            }
        }
        if let Some(kind) = filter.kind {
            let p = c.arg(Arg::Int(kind.as_i32()));
            c.push(format!("b.kind = {p}"));
        }
        if let Some((start, end)) = filter.recorded {
            let (ps, pe) = (c.arg(Arg::Time(start)), c.arg(Arg::Time(end)));
            c.push(format!("b.create_time >= {ps} AND b.create_time < {pe}"));
        }
        let totals_sql = format!(
            "SELECT COALESCE(CAST(SUM(b.amount_fen) AS BIGINT), 0), COALESCE(CAST(SUM(b.problems_solved) AS BIGINT), 0) \
             FROM supervision_benefit b{}",
            c.where_sql()
        );
        let totals_args = c.args().len();
        c.after_time_and_id(page, "b.create_time", "b.id", true)?;
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let page_sql = format!(
            "SELECT {BENEFIT_COLUMNS} FROM supervision_benefit b{} ORDER BY b.create_time DESC, b.id DESC LIMIT {limit}",
            c.where_sql()
        );
        let mut tx = self.database().begin().await?;
        let (amount, problems): (i64, i64) = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, (i64, i64)>(&totals_sql), &c.args()[..totals_args]).fetch_one(&mut **conn).await
        })?;
        let rows: Vec<BenefitRow> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, BenefitRow>(&page_sql), c.args()).fetch_all(&mut **conn).await
        })?;
        tx.rollback().await?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.create_time), r.id.clone()]);
        Ok((Page { items: rows.items.into_iter().map(pb::Benefit::from).collect(), next: rows.next }, amount, problems))
    }
}
