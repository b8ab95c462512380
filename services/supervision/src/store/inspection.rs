//! What discipline inspection reads and writes (纪检监察): the supervision item list as a snapshot with
//! its change cursor, the change log after a cursor, acknowledgements (已阅), a case's whole history,
//! and referrals (移交) with the cases created from them.
//!
//! A referral and its case are written in one transaction, through the one creation path of every case:
//! the referral's id is the case's source id and the case's request id is derived from the referral's,
//! so a retry of the same request, or a concurrent duplicate, answers with the pair the first attempt
//! committed; a failure leaves neither.

use chrono::{DateTime, Utc};
use prost::Message as _;
use tingjian_proto::common::v1 as common;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::Tx;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::case::{Actor, co_units_of, load_case, load_cases};
use super::item::{cursor_text, item_of, items_of};
use super::{Arg, Conditions, Store};
use crate::domain::inspection::{ItemFilter, NewReferral};
use crate::domain::{Case, CaseHistoryEntry, CaseStatus, ESCALATION_DISCIPLINE_INSPECTION, Unit};

/// Entries of a case's history read per query when reading all of them.
const HISTORY_BATCH: usize = 500;

/// A page of the supervision item list and the cursor of the snapshot it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemPage {
    /// The items, by case id, and the sort key of the last one when more follow.
    pub page: Page<pb::SupervisionItem>,
    /// The change cursor of the snapshot (that of the first page, kept across pages).
    pub change_cursor: i64,
}

#[derive(sqlx::FromRow)]
struct ChangeRow {
    cursor: i64,
    kind: i32,
    case_action: i32,
    item: Vec<u8>,
    change_time: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ReferralRow {
    id: String,
    case_id: String,
    title: String,
    description: String,
    enterprise_id: String,
    category: String,
    deadline_working_days: i32,
    officer_id: String,
    officer_name: String,
    officer_title: String,
    officer_organisation: String,
    create_time: DateTime<Utc>,
    lead_unit: String,
    lead_unit_name: String,
    lead_unit_kind: i32,
    head_id: String,
    head_name: String,
    head_title: String,
    head_organisation_id: String,
    deadline_time: DateTime<Utc>,
}

const REFERRAL_COLUMNS: &str = "r.id, r.case_id, r.title, r.description, r.enterprise_id, r.category, \
     r.deadline_working_days, r.officer_id, r.officer_name, r.officer_title, r.officer_organisation, \
     r.create_time, c.lead_unit, c.lead_unit_name, c.lead_unit_kind, c.head_id, c.head_name, \
     c.head_title, c.head_organisation_id, c.deadline_time";

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "case", id: id.to_owned() }
}

/// The case a request id of SubmitReferral creates through the case creation path.
fn case_request_id(request_id: &str) -> String {
    format!("referral:{request_id}")
}

/// Makes `tx` read one snapshot for all its statements (PostgreSQL reads a new one per statement by
/// default; a SQLite transaction reads one snapshot from its first read).
async fn one_snapshot(tx: &mut Tx) -> Result<(), ServiceError> {
    if let Tx::Postgres(conn) = tx {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ").execute(&mut **conn).await?;
    }
    Ok(())
}

/// The cursor of the latest change on the item list as `tx` sees it (0 before any).
async fn last_cursor_in(tx: &mut Tx) -> Result<i64, ServiceError> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT last_cursor FROM supervision_item_counter WHERE id = 1")
            .fetch_optional(&mut **conn)
            .await
    })?
    .unwrap_or(0))
}

/// A referral to write in the transaction that creates its case.
pub(super) struct ReferralWrite<'a> {
    /// The referral's id (the case's source id).
    pub id: &'a str,
    /// What was referred.
    pub new: &'a NewReferral,
    /// The caller's idempotency key.
    pub request_id: Option<&'a str>,
    /// What the request asked for, to recognise a retry.
    pub fingerprint: &'a str,
    /// Who referred it.
    pub actor: &'a str,
}

/// Writes `referral` for `case` inside `tx` (the transaction that created the case).
pub(super) async fn write_referral(tx: &mut Tx, referral: &ReferralWrite<'_>, case: &Case) -> Result<(), ServiceError> {
    let new = referral.new;
    let o = &new.officer;
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO supervision_referral (id, case_id, title, description, enterprise_id, category, \
             deadline_working_days, officer_id, officer_name, officer_title, officer_organisation, \
             referred_by, request_id, request_payload, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(referral.id)
        .bind(case.id.as_str())
        .bind(new.title())
        .bind(new.description())
        .bind(new.enterprise_id())
        .bind(new.category())
        .bind(new.deadline_working_days)
        .bind(o.id.as_str())
        .bind(o.display_name.as_str())
        .bind(o.title.as_str())
        .bind(o.organisation_id.as_str())
        .bind(referral.actor)
        .bind(referral.request_id)
        .bind(referral.request_id.map(|_| referral.fingerprint))
        .bind(case.create_time)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

fn referral_of(row: ReferralRow, co_units: Vec<Unit>) -> pb::Referral {
    let officer = [&row.officer_id, &row.officer_name, &row.officer_title, &row.officer_organisation]
        .iter()
        .any(|s| !s.is_empty())
        .then(|| common::PersonRef {
            id: row.officer_id.clone(),
            display_name: row.officer_name.clone(),
            title: row.officer_title.clone(),
            organisation_id: row.officer_organisation.clone(),
        });
    pb::Referral {
        id: row.id,
        title: row.title,
        description: row.description,
        lead_unit: Some(common::OrganisationRef {
            id: row.lead_unit,
            name: row.lead_unit_name,
            kind: row.lead_unit_kind,
        }),
        co_units: co_units.iter().map(crate::convert::unit).collect(),
        responsible_head: Some(common::PersonRef {
            id: row.head_id,
            display_name: row.head_name,
            title: row.head_title,
            organisation_id: row.head_organisation_id,
        }),
        enterprise_id: row.enterprise_id,
        category: row.category,
        deadline_time: Some(timestamp(row.deadline_time)),
        deadline_working_days: row.deadline_working_days,
        referring_officer: officer,
        case_id: row.case_id,
        create_time: Some(timestamp(row.create_time)),
    }
}

impl Store {
    /// The cursor of the latest change on the supervision item list (0 before any).
    pub async fn last_item_cursor(&self) -> Result<i64, ServiceError> {
        let mut tx = self.database().begin().await?;
        let cursor = last_cursor_in(&mut tx).await;
        tx.rollback().await?;
        cursor
    }

    /// A case discipline inspection sees; NOT_FOUND for any other id.
    pub async fn inspection_case(&self, id: &str) -> Result<Case, ServiceError> {
        let case = self.get_case(id).await?;
        if case.visible_to_discipline_inspection() { Ok(case) } else { Err(not_found(id)) }
    }

    /// The supervision item list matching `filter`, by case id, a page after `page`'s cursor. The first
    /// page and the change cursor are read from one snapshot, so subscribing after the cursor receives
    /// every change the page does not show; later pages keep the first page's cursor (a change they
    /// already show may then also arrive on the stream).
    pub async fn list_supervision_items(
        &self,
        filter: &ItemFilter,
        page: &PageRequest,
    ) -> Result<ItemPage, ServiceError> {
        let now = self.now();
        let mut c = Conditions::default();
        let p = c.arg(Arg::Int(ESCALATION_DISCIPLINE_INSPECTION));
        c.push(format!("(c.discipline_inspection OR c.escalation_level >= {p})"));
        if !filter.statuses.is_empty() {
            let ps = c.placeholders(filter.statuses.iter().map(|s| Arg::Int(s.as_i32())));
            c.push(format!("c.status IN ({ps})"));
        }
        if let Some(unit) = &filter.unit_id {
            let p = c.arg(Arg::Text(unit.clone()));
            c.push(format!("c.lead_unit = {p}"));
        }
        if filter.overdue_only {
            let p = c.arg(Arg::Time(now));
            let open = CaseStatus::ALL.iter().filter(|s| s.awaits_reply()).map(|s| s.as_i32().to_string());
            c.push(format!(
                "(c.overdue OR (c.deadline_time < {p} AND c.status IN ({})))",
                open.collect::<Vec<_>>().join(", ")
            ));
        }
        if filter.unacknowledged_only {
            c.push(
                "NOT EXISTS (SELECT 1 FROM supervision_item_ack a WHERE a.case_id = c.id \
                 AND a.cursor >= c.item_cursor AND c.item_cursor > 0)",
            );
        }
        let snapshot = match &page.after {
            None => None,
            Some(after) => {
                let cursor = PageRequest::int_key(after, 0)?;
                let id = PageRequest::text_key(after, 1)?;
                let p = c.arg(Arg::Text(id));
                c.push(format!("c.id > {p}"));
                Some(cursor)
            }
        };
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let sql = format!("SELECT c.id FROM supervision_case c{} ORDER BY c.id LIMIT {limit}", c.where_sql());
        let mut tx = self.database().begin().await?;
        one_snapshot(&mut tx).await?;
        let change_cursor = match snapshot {
            Some(cursor) => cursor,
            None => last_cursor_in(&mut tx).await?,
        };
        let ids: Vec<String> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_scalar::<_, String>(&sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let ids = Page::from_rows(ids, page.size, |id| vec![change_cursor.to_string(), id.clone()]);
        let wanted: Vec<&str> = ids.items.iter().map(String::as_str).collect();
        let cases = load_cases(&mut tx, &wanted).await?;
        let items = items_of(&mut tx, &cases, now).await?;
        tx.rollback().await?;
        Ok(ItemPage { page: Page { items, next: ids.next }, change_cursor })
    }

    /// Up to `limit` changes of the item list after cursor `after`, in cursor order, each with its cursor.
    pub async fn item_changes_after(
        &self,
        after: i64,
        limit: i64,
    ) -> Result<Vec<(i64, pb::SupervisionChange)>, ServiceError> {
        let rows: Vec<ChangeRow> = on_pool!(self.database(), pool => {
            sqlx::query_as::<_, ChangeRow>(
                "SELECT cursor, kind, case_action, item, change_time FROM supervision_item_change \
                 WHERE cursor > $1 ORDER BY cursor LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?;
        rows.into_iter()
            .map(|row| {
                let item = pb::SupervisionItem::decode(row.item.as_slice()).map_err(|e| {
                    ServiceError::internal(format!("item change {} cannot be decoded: {e}", row.cursor))
                })?;
                let change = pb::SupervisionChange {
                    cursor: cursor_text(row.cursor),
                    kind: row.kind,
                    case_action: row.case_action,
                    item: Some(item),
                    change_time: Some(timestamp(row.change_time)),
                };
                Ok((row.cursor, change))
            })
            .collect()
    }

    /// Acknowledges the item of case `id` (visible to discipline inspection, else NOT_FOUND) at its latest
    /// change, with `note`, by `actor`; the item, acknowledged. Acknowledging again what is already
    /// acknowledged with the same note changes nothing. Records no change on the item list.
    pub async fn acknowledge_item(
        &self,
        id: &str,
        note: &str,
        actor: &str,
    ) -> Result<pb::SupervisionItem, ServiceError> {
        let now = self.now();
        let mut tx = self.database().begin().await?;
        // Written first, with the cursor read by the same statement: the acknowledgement covers the
        // latest change committed when it is taken, and a change after it makes the item unacknowledged.
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO supervision_item_ack (case_id, cursor, note, acknowledged_by, acknowledge_time) \
                 SELECT c.id, c.item_cursor, $2, $3, $4 FROM supervision_case c \
                 WHERE c.id = $1 AND (c.discipline_inspection OR c.escalation_level >= $5) \
                 ON CONFLICT (case_id) DO UPDATE SET cursor = excluded.cursor, note = excluded.note, \
                 acknowledged_by = excluded.acknowledged_by, acknowledge_time = excluded.acknowledge_time \
                 WHERE supervision_item_ack.cursor < excluded.cursor OR supervision_item_ack.note <> excluded.note",
            )
            .bind(id)
            .bind(note)
            .bind(actor)
            .bind(now)
            .bind(ESCALATION_DISCIPLINE_INSPECTION)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
        let case = load_case(&mut tx, id).await?.filter(Case::visible_to_discipline_inspection);
        let Some(case) = case else {
            tx.rollback().await?;
            return Err(not_found(id));
        };
        let item = item_of(&mut tx, &case, now).await?;
        tx.commit().await?;
        Ok(item)
    }

    /// The whole history of case `id`, oldest first.
    pub async fn history_of_case(&self, id: &str) -> Result<Vec<CaseHistoryEntry>, ServiceError> {
        let mut all = Vec::new();
        let mut page = PageRequest { size: HISTORY_BATCH, after: None };
        loop {
            let result = self.list_case_history(id, &page).await?;
            all.extend(result.items);
            match result.next {
                Some(next) => page.after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// Refers a matter in: creates its case (DISPATCHED, source DISCIPLINE_REFERRAL naming the referral,
    /// flagged for discipline inspection) and the referral. With a `request_id`, the same referral again
    /// answers with the referral and case first created; a different one under the same id is
    /// ALREADY_EXISTS.
    pub async fn submit_referral(
        &self,
        new: &NewReferral,
        request_id: Option<&str>,
        actor: Actor<'_>,
    ) -> Result<(pb::Referral, Case), ServiceError> {
        let fingerprint = new.fingerprint();
        if let Some(request_id) = request_id
            && let Some(found) = self.referral_of_request(request_id, &fingerprint).await?
        {
            return Ok(found);
        }
        let referral_id = tingjian_runtime::wire::new_id();
        let case_request = request_id.map(case_request_id);
        let write =
            ReferralWrite { id: &referral_id, new, request_id, fingerprint: &fingerprint, actor: actor.subject };
        let created =
            self.create_referred_case(&new.case_for(&referral_id), case_request.as_deref(), actor, &write).await;
        match created {
            Ok((case, true)) => Ok((self.referral(&referral_id).await?, case)),
            // Another attempt of the same request wrote its case and referral first: answer with them.
            Ok((_, false)) | Err(ServiceError::AlreadyExists(_)) => match request_id {
                Some(request_id) => self
                    .referral_of_request(request_id, &fingerprint)
                    .await?
                    .ok_or_else(|| ServiceError::AlreadyExists("the referral conflicts with an existing one".into())),
                None => Err(ServiceError::AlreadyExists("the referral conflicts with an existing one".into())),
            },
            Err(e) => Err(e),
        }
    }

    /// The referral a request already made, with its case, when the request is the same; ALREADY_EXISTS
    /// when the request id was used for another referral.
    async fn referral_of_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<(pb::Referral, Case)>, ServiceError> {
        let found: Option<(String, Option<String>)> = on_pool!(self.database(), pool => {
            sqlx::query_as("SELECT id, request_payload FROM supervision_referral WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(pool)
                .await
        })?;
        let Some((id, payload)) = found else { return Ok(None) };
        if payload.as_deref() != Some(fingerprint) {
            return Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id} was already used to refer another matter (referral {id})"
            )));
        }
        let referral = self.referral(&id).await?;
        let case = self.get_case(&referral.case_id).await?;
        Ok(Some((referral, case)))
    }

    /// A referral by id.
    async fn referral(&self, id: &str) -> Result<pb::Referral, ServiceError> {
        let sql = format!(
            "SELECT {REFERRAL_COLUMNS} FROM supervision_referral r JOIN supervision_case c ON c.id = r.case_id \
             WHERE r.id = $1"
        );
        let mut tx = self.database().begin().await?;
        let row: Option<ReferralRow> =
            on_tx!(&mut tx, conn => sqlx::query_as::<_, ReferralRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Err(ServiceError::NotFound { resource: "referral", id: id.to_owned() });
        };
        let mut units = co_units_of(&mut tx, &[row.case_id.as_str()]).await?;
        tx.rollback().await?;
        let co = units.remove(&row.case_id).unwrap_or_default();
        Ok(referral_of(row, co))
    }

    /// Referrals made in `[start, end)` (any time when `None`), newest first, a page after `page`'s
    /// cursor.
    pub async fn list_referrals(
        &self,
        made: Option<(DateTime<Utc>, DateTime<Utc>)>,
        page: &PageRequest,
    ) -> Result<Page<pb::Referral>, ServiceError> {
        let mut c = Conditions::default();
        if let Some((start, end)) = made {
            let (ps, pe) = (c.arg(Arg::Time(start)), c.arg(Arg::Time(end)));
            c.push(format!("r.create_time >= {ps} AND r.create_time < {pe}"));
        }
        c.after_time_and_id(page, "r.create_time", "r.id", true)?;
        let limit = i64::try_from(page.size + 1).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT {REFERRAL_COLUMNS} FROM supervision_referral r JOIN supervision_case c ON c.id = r.case_id{} \
             ORDER BY r.create_time DESC, r.id DESC LIMIT {limit}",
            c.where_sql()
        );
        let mut tx = self.database().begin().await?;
        let rows: Vec<ReferralRow> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, ReferralRow>(&sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.create_time), r.id.clone()]);
        let ids: Vec<&str> = rows.items.iter().map(|r| r.case_id.as_str()).collect();
        let mut units = co_units_of(&mut tx, &ids).await?;
        tx.rollback().await?;
        let items = rows
            .items
            .into_iter()
            .map(|row| {
                let co = units.remove(&row.case_id).unwrap_or_default();
                referral_of(row, co)
            })
            .collect();
        Ok(Page { items, next: rows.next })
    }
}
