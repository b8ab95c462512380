//! Demands in the intake store: the demand, its tags, its append-only history, and the events each
//! change reports, written in one transaction.
//!
//! On SQLite every write transaction starts with a write, so it takes the database's write lock
//! before reading anything and never fails to upgrade a stale read; optimistic checks on `version`
//! make concurrent changes of one demand retry instead of overwriting each other.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::wire::{etag, new_id};
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::{Arg, Conditions, SERVICE, Store, UPDATE_ATTEMPTS};
use crate::domain::paging::trim_page;
use crate::domain::{
    Category, Demand, DemandAction, DemandChannel, DemandCursor, DemandFilter, DemandStatus, DifficultyTag,
    DifficultyTags, EnterpriseDemandList, HistoryEntry, NewDemand, NewHistoryEntry, OriginKind, StatusGroup,
    TriageChange,
};

const DEMAND_COLUMNS: &str = "d.id, d.enterprise_id, d.title, d.text, d.category, d.channel, d.status, \
     d.status_reason, d.submitter, d.origin_id, d.common_issue_id, d.district, d.industry, d.version, \
     d.create_time, d.update_time";

#[derive(sqlx::FromRow)]
struct DemandRow {
    id: String,
    enterprise_id: Option<String>,
    title: String,
    text: String,
    category: String,
    channel: i32,
    status: i32,
    status_reason: String,
    submitter: String,
    origin_id: Option<String>,
    common_issue_id: Option<String>,
    district: String,
    industry: String,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ReplayRow {
    #[sqlx(flatten)]
    demand: DemandRow,
    request_payload: Option<String>,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    demand_id: String,
    sequence: i64,
    action: i32,
    from_status: i32,
    to_status: i32,
    from_common_issue_id: Option<String>,
    to_common_issue_id: Option<String>,
    reason: String,
    detail: String,
    actor: String,
    time: DateTime<Utc>,
}

fn corrupt(what: &str, id: &str) -> ServiceError {
    ServiceError::internal(format!("stored demand {id} has a bad {what}"))
}

impl DemandRow {
    fn into_demand(self, tags: &[i32]) -> Result<Demand, ServiceError> {
        let channel = DemandChannel::from_i32(self.channel).ok_or_else(|| corrupt("channel", &self.id))?;
        let status = DemandStatus::from_i32(self.status).ok_or_else(|| corrupt("status", &self.id))?;
        let difficulty_tags = tags
            .iter()
            .map(|&n| DifficultyTag::from_i32(n).ok_or_else(|| corrupt("tag", &self.id)))
            .collect::<Result<DifficultyTags, _>>()?;
        Ok(Demand {
            fields: NewDemand {
                enterprise_id: self.enterprise_id,
                title: self.title,
                text: self.text,
                category: self.category,
                difficulty_tags,
                channel,
                origin_id: self.origin_id,
            },
            status,
            status_reason: self.status_reason,
            submitter: self.submitter,
            common_issue_id: self.common_issue_id,
            district: self.district,
            industry: self.industry,
            version: self.version,
            create_time: self.create_time,
            update_time: self.update_time,
            id: self.id,
        })
    }
}

impl TryFrom<HistoryRow> for HistoryEntry {
    type Error = ServiceError;

    fn try_from(row: HistoryRow) -> Result<Self, Self::Error> {
        let bad = |what: &str| corrupt(&format!("history entry {} {what}", row.sequence), &row.demand_id);
        Ok(HistoryEntry {
            action: DemandAction::from_i32(row.action).ok_or_else(|| bad("action"))?,
            from_status: DemandStatus::from_i32(row.from_status),
            to_status: DemandStatus::from_i32(row.to_status).ok_or_else(|| bad("status"))?,
            demand_id: row.demand_id,
            sequence: row.sequence,
            from_common_issue_id: row.from_common_issue_id,
            to_common_issue_id: row.to_common_issue_id,
            reason: row.reason,
            detail: row.detail,
            actor: row.actor,
            time: row.time,
        })
    }
}

impl Conditions {
    /// The conditions of `filter`.
    fn of(filter: &DemandFilter) -> Self {
        let mut c = Self::default();
        if let Some(ids) = &filter.enterprise_ids {
            if ids.is_empty() {
                c.clauses.push("1 = 0".into());
            } else {
                let list = c.placeholders(ids.iter().cloned().map(Arg::Text));
                c.clauses.push(format!("d.enterprise_id IN ({list})"));
            }
        }
        if !filter.statuses.is_empty() {
            let list = c.placeholders(filter.statuses.iter().map(|s| Arg::Int(s.as_i32())));
            c.clauses.push(format!("d.status IN ({list})"));
        }
        if let Some(category) = &filter.category {
            let p = c.arg(Arg::Text(category.clone()));
            c.clauses.push(format!("d.category = {p}"));
        }
        if let Some(channel) = filter.channel {
            let p = c.arg(Arg::Int(channel.as_i32()));
            c.clauses.push(format!("d.channel = {p}"));
        }
        if let Some(tag) = filter.difficulty_tag {
            let p = c.arg(Arg::Int(tag.as_i32()));
            c.clauses.push(format!("EXISTS (SELECT 1 FROM demand_tag t WHERE t.demand_id = d.id AND t.tag = {p})"));
        }
        if let Some((start, end)) = filter.submitted {
            let start = c.arg(Arg::Time(start));
            let end = c.arg(Arg::Time(end));
            c.clauses.push(format!("d.create_time >= {start} AND d.create_time < {end}"));
        }
        if let Some(issue) = &filter.common_issue_id {
            let p = c.arg(Arg::Text(issue.clone()));
            c.clauses.push(format!("d.common_issue_id = {p}"));
        }
        if filter.unmerged_only {
            c.clauses.push("d.common_issue_id IS NULL".into());
        }
        if let Some(district) = &filter.district {
            let p = c.arg(Arg::Text(district.clone()));
            c.clauses.push(format!("d.district = {p}"));
        }
        if let Some(industry) = &filter.industry {
            let p = c.arg(Arg::Text(industry.clone()));
            c.clauses.push(format!("d.industry = {p}"));
        }
        c
    }
}

/// What a planned change of a demand writes.
struct Change {
    status: DemandStatus,
    status_reason: String,
    fields: NewDemand,
    history: NewHistoryEntry,
    event: NewEvent,
}

/// The current time, at the microsecond precision both backends keep.
fn now() -> DateTime<Utc> {
    tingjian_runtime::clock::now().trunc_subsecs(6)
}

impl Store {
    /// The active demand categories (reference items of kind 3).
    pub async fn active_categories(&self) -> Result<Vec<Category>, ServiceError> {
        self.categories(true).await
    }

    /// Every demand category, deactivated ones included (old demands keep theirs).
    pub async fn all_categories(&self) -> Result<Vec<Category>, ServiceError> {
        self.categories(false).await
    }

    async fn categories(&self, active_only: bool) -> Result<Vec<Category>, ServiceError> {
        let sql = if active_only {
            "SELECT code, name FROM reference_item WHERE kind = 3 AND active = TRUE ORDER BY sort_order, code"
        } else {
            "SELECT code, name FROM reference_item WHERE kind = 3 ORDER BY sort_order, code"
        };
        let rows: Vec<(String, String)> = on_pool!(&self.db, pool => sqlx::query_as(sql).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(code, name)| Category { code, name }).collect())
    }

    /// The enterprises an enterprise caller acts for: those whose id or credit code is its
    /// organisation.
    pub async fn enterprises_of_organisation(&self, organisation: &str) -> Result<Vec<String>, ServiceError> {
        let organisation = organisation.trim();
        if organisation.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = on_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT id FROM enterprise WHERE id = $1 OR credit_code = $2 ORDER BY id")
                .bind(organisation)
                .bind(organisation.to_ascii_uppercase())
                .fetch_all(pool)
                .await
        })?;
        Ok(ids)
    }

    /// Whether the origin record a demand names exists: NOT_FOUND when it does not. Campaign posts
    /// are checked by the campaigns area, which promotes them.
    pub async fn check_origin(&self, kind: OriginKind, id: &str) -> Result<(), ServiceError> {
        let (table, resource) = match kind {
            OriginKind::Contact => ("contact", "contact"),
            OriginKind::Roundtable => ("roundtable", "roundtable"),
            OriginKind::CampaignPost | OriginKind::None => return Ok(()),
        };
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1");
        let n: i64 = on_pool!(&self.db, pool => sqlx::query_scalar(&sql).bind(id).fetch_one(pool).await)?;
        if n == 0 { Err(ServiceError::NotFound { resource, id: id.to_owned() }) } else { Ok(()) }
    }

    /// Submits a demand with the enterprise's district and industry, once per request id: a retry
    /// with the same request id and the same canonical payload returns the first demand; a different
    /// payload under the same request id is ALREADY_EXISTS.
    pub async fn submit_demand(
        &self,
        new: &NewDemand,
        request_id: &str,
        submitter: &str,
        district: &str,
        industry: &str,
    ) -> Result<Demand, ServiceError> {
        let payload = new.fingerprint(submitter);
        let insert = async {
            let mut tx = self.db.begin().await?;
            let demand =
                insert_demand(&mut tx, new, Some((request_id, &payload)), submitter, district, industry).await?;
            tx.commit().await?;
            Ok(demand)
        };
        create_once(
            Some(request_id),
            |request_id| {
                let payload = payload.clone();
                async move {
                    let Some((demand, stored)) = self.demand_by_request(&request_id).await? else { return Ok(None) };
                    if stored.as_deref() == Some(payload.as_str()) {
                        Ok(Some(demand))
                    } else {
                        Err(ServiceError::AlreadyExists(format!(
                            "request_id {request_id:?} was already used for another submission (demand {}); \
                             use a new request id for a new demand",
                            demand.id
                        )))
                    }
                }
            },
            insert,
            || ServiceError::AlreadyExists("the demand was submitted concurrently; retry".into()),
        )
        .await
    }

    async fn demand_by_request(&self, request_id: &str) -> Result<Option<(Demand, Option<String>)>, ServiceError> {
        let sql = format!("SELECT {DEMAND_COLUMNS}, d.request_payload FROM demand d WHERE d.request_id = $1");
        let row: Option<ReplayRow> =
            on_pool!(&self.db, pool => sqlx::query_as(&sql).bind(request_id).fetch_optional(pool).await)?;
        let Some(row) = row else { return Ok(None) };
        let mut demands = self.with_tags(vec![row.demand]).await?;
        let demand = demands.pop().ok_or_else(|| ServiceError::internal("a replayed demand vanished"))?;
        Ok(Some((demand, row.request_payload)))
    }

    /// A demand by id.
    pub async fn get_demand(&self, id: &str) -> Result<Demand, ServiceError> {
        let sql = format!("SELECT {DEMAND_COLUMNS} FROM demand d WHERE d.id = $1");
        let row: Option<DemandRow> =
            on_pool!(&self.db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        let row = row.ok_or_else(|| ServiceError::NotFound { resource: "demand", id: id.to_owned() })?;
        let tags = self.tags_of(std::slice::from_ref(&row.id)).await?;
        let tags = tags.get(id).map(Vec::as_slice).unwrap_or_default();
        row.into_demand(tags)
    }

    async fn tags_of(&self, ids: &[String]) -> Result<HashMap<String, Vec<i32>>, ServiceError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let mut c = Conditions::default();
        let list = c.placeholders(ids.iter().cloned().map(Arg::Text));
        let sql = format!("SELECT demand_id, tag FROM demand_tag WHERE demand_id IN ({list}) ORDER BY demand_id, tag");
        let rows: Vec<(String, i32)> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as(&sql), &c.args).fetch_all(pool).await)?;
        let mut tags: HashMap<String, Vec<i32>> = HashMap::new();
        for (id, tag) in rows {
            tags.entry(id).or_default().push(tag);
        }
        Ok(tags)
    }

    async fn with_tags(&self, rows: Vec<DemandRow>) -> Result<Vec<Demand>, ServiceError> {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let tags = self.tags_of(&ids).await?;
        rows.into_iter()
            .map(|r| {
                let t = tags.get(&r.id).cloned().unwrap_or_default();
                r.into_demand(&t)
            })
            .collect()
    }

    /// A page of demands matching `filter`, newest first, after `cursor`; with the cursor of the next
    /// page (if any) and the number of matches across all pages.
    pub async fn list_demands(
        &self,
        filter: &DemandFilter,
        cursor: Option<&DemandCursor>,
        page_size: usize,
    ) -> Result<(Vec<Demand>, Option<DemandCursor>, i64), ServiceError> {
        let counted = Conditions::of(filter);
        let count_sql = format!("SELECT COUNT(*) FROM demand d{}", counted.where_sql());
        let total: i64 =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_scalar(&count_sql), &counted.args).fetch_one(pool).await)?;

        let mut c = Conditions::of(filter);
        if let Some(cursor) = cursor {
            let t = c.arg(Arg::Time(cursor.create_time));
            let id = c.arg(Arg::Text(cursor.id.clone()));
            c.clauses.push(format!("(d.create_time < {t} OR (d.create_time = {t} AND d.id < {id}))"));
        }
        let limit = c.arg(Arg::BigInt(page_size as i64 + 1));
        let sql = format!(
            "SELECT {DEMAND_COLUMNS} FROM demand d{} ORDER BY d.create_time DESC, d.id DESC LIMIT {limit}",
            c.where_sql()
        );
        let mut rows: Vec<DemandRow> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as(&sql), &c.args).fetch_all(pool).await)?;
        let next =
            trim_page(&mut rows, page_size).map(|r| DemandCursor { create_time: r.create_time, id: r.id.clone() });
        Ok((self.with_tags(rows).await?, next, total))
    }

    /// Changes a demand's triage fields with a reason; a change that changes nothing writes nothing.
    pub async fn update_demand(
        &self,
        id: &str,
        expected_etag: Option<&str>,
        change: &TriageChange,
        reason: &str,
        actor: &str,
    ) -> Result<Demand, ServiceError> {
        self.change_demand(
            id,
            expected_etag,
            |current| {
                let mut fields = current.fields.clone();
                let Some(detail) = change.apply(&mut fields) else { return Ok(None) };
                let event = NewEvent::new(
                    "demand_updated",
                    subject(id),
                    "tingjian.intake.v1.DemandUpdated",
                    &pb::DemandUpdated {
                        demand_id: id.to_owned(),
                        category: fields.category.clone(),
                        previous_category: current.fields.category.clone(),
                        difficulty_tags: fields.difficulty_tags.numbers(),
                        reason: reason.to_owned(),
                        actor: actor.to_owned(),
                    },
                );
                Ok(Some(Change {
                    status: current.status,
                    status_reason: current.status_reason.clone(),
                    fields,
                    history: NewHistoryEntry {
                        action: DemandAction::Updated,
                        from_status: Some(current.status),
                        to_status: current.status,
                        from_common_issue_id: None,
                        to_common_issue_id: None,
                        reason: reason.to_owned(),
                        detail,
                    },
                    event,
                }))
            },
            actor,
        )
        .await
    }

    /// Moves a demand to another status (TransitionDemand) or withdraws it (`to` = WITHDRAWN through
    /// [`DemandStatus::withdraw`]), with a reason.
    pub async fn change_status(
        &self,
        id: &str,
        expected_etag: Option<&str>,
        to: DemandStatus,
        reason: &str,
        actor: &str,
    ) -> Result<Demand, ServiceError> {
        self.change_demand(
            id,
            expected_etag,
            |current| {
                let (to, action) = if to == DemandStatus::Withdrawn {
                    (current.status.withdraw()?, DemandAction::Withdrawn)
                } else {
                    (current.status.transition_to(to)?, DemandAction::StatusChanged)
                };
                let event = NewEvent::new(
                    "demand_status_changed",
                    subject(id),
                    "tingjian.intake.v1.DemandStatusChanged",
                    &pb::DemandStatusChanged {
                        demand_id: id.to_owned(),
                        enterprise_id: current.fields.enterprise_id.clone().unwrap_or_default(),
                        from_status: current.status.as_i32(),
                        to_status: to.as_i32(),
                        reason: reason.to_owned(),
                        category: current.fields.category.clone(),
                        channel: current.fields.channel.as_i32(),
                        district: current.district.clone(),
                        industry: current.industry.clone(),
                        actor: actor.to_owned(),
                    },
                );
                Ok(Some(Change {
                    status: to,
                    status_reason: reason.to_owned(),
                    fields: current.fields.clone(),
                    history: NewHistoryEntry {
                        action,
                        from_status: Some(current.status),
                        to_status: to,
                        from_common_issue_id: None,
                        to_common_issue_id: None,
                        reason: reason.to_owned(),
                        detail: format!("status: {} → {to}", current.status),
                    },
                    event,
                }))
            },
            actor,
        )
        .await
    }

    /// Applies the change `plan` makes of the demand's current state, optimistically: when another
    /// change won in between, the demand is read again and the plan redone (or ABORTED when the caller
    /// gave an etag, which is then stale).
    async fn change_demand(
        &self,
        id: &str,
        expected_etag: Option<&str>,
        plan: impl Fn(&Demand) -> Result<Option<Change>, ServiceError>,
        actor: &str,
    ) -> Result<Demand, ServiceError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_demand(id).await?;
            if let Some(expected) = expected_etag
                && expected != etag(current.version)
            {
                return Err(ServiceError::Aborted(format!(
                    "the demand changed since it was read (etag {expected:?}, now {:?}); read it again and retry",
                    etag(current.version)
                )));
            }
            let Some(change) = plan(&current)? else { return Ok(current) };
            let time = now();
            let mut tx = self.db.begin().await?;
            let updated = on_tx!(&mut tx, conn => {
                sqlx::query(
                    "UPDATE demand SET status = $1, status_reason = $2, category = $3, version = version + 1, \
                     update_time = $4 WHERE id = $5 AND version = $6",
                )
                .bind(change.status.as_i32())
                .bind(&change.status_reason)
                .bind(&change.fields.category)
                .bind(time)
                .bind(id)
                .bind(current.version)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            if updated == 0 {
                tx.rollback().await?;
                continue;
            }
            if change.fields.difficulty_tags != current.fields.difficulty_tags {
                on_tx!(&mut tx, conn => {
                    sqlx::query("DELETE FROM demand_tag WHERE demand_id = $1")
                        .bind(id)
                        .execute(&mut **conn)
                        .await
                        .map(|_| ())
                })?;
                insert_tags(&mut tx, id, &change.fields.difficulty_tags).await?;
            }
            append_history(&mut tx, id, &change.history, actor, time).await?;
            events::record(&mut tx, SERVICE, change.event).await?;
            tx.commit().await?;
            return Ok(Demand {
                fields: change.fields,
                status: change.status,
                status_reason: change.status_reason,
                version: current.version + 1,
                update_time: time,
                ..current
            });
        }
        Err(ServiceError::Aborted("the demand kept changing concurrently; read it again and retry".into()))
    }

    /// A page of a demand's history, oldest first, after entry `after`; with the sequence the next
    /// page starts after, if any.
    pub async fn demand_history(
        &self,
        id: &str,
        after: i64,
        page_size: usize,
    ) -> Result<(Vec<HistoryEntry>, Option<i64>), ServiceError> {
        let mut rows: Vec<HistoryRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT demand_id, sequence, action, from_status, to_status, from_common_issue_id, \
                 to_common_issue_id, reason, detail, actor, time FROM demand_history \
                 WHERE demand_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
            )
            .bind(id)
            .bind(after)
            .bind(page_size as i64 + 1)
            .fetch_all(pool)
            .await
        })?;
        let next = trim_page(&mut rows, page_size).map(|r| r.sequence);
        let entries = rows.into_iter().map(HistoryEntry::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok((entries, next))
    }

    /// An enterprise's list (一企一清单): counts by status, the newest `per_group` demands of each
    /// status, and the oldest open demand's submission time.
    pub async fn enterprise_demand_list(
        &self,
        enterprise_id: &str,
        enterprise_name: &str,
        per_group: usize,
    ) -> Result<EnterpriseDemandList, ServiceError> {
        let counts: Vec<(i32, i64)> = on_pool!(&self.db, pool => {
            sqlx::query_as("SELECT status, COUNT(*) FROM demand WHERE enterprise_id = $1 GROUP BY status ORDER BY status")
                .bind(enterprise_id)
                .fetch_all(pool)
                .await
        })?;
        let mut groups = Vec::new();
        for (status, count) in counts {
            let status = DemandStatus::from_i32(status)
                .ok_or_else(|| ServiceError::internal(format!("a demand of {enterprise_id} has status {status}")))?;
            let sql = format!(
                "SELECT {DEMAND_COLUMNS} FROM demand d WHERE d.enterprise_id = $1 AND d.status = $2 \
                 ORDER BY d.create_time DESC, d.id DESC LIMIT $3"
            );
            let rows: Vec<DemandRow> = on_pool!(&self.db, pool => {
                sqlx::query_as(&sql)
                    .bind(enterprise_id)
                    .bind(status.as_i32())
                    .bind(per_group as i64)
                    .fetch_all(pool)
                    .await
            })?;
            groups.push(StatusGroup { status, count, demands: self.with_tags(rows).await? });
        }
        let mut open = Conditions::default();
        let enterprise = open.arg(Arg::Text(enterprise_id.to_owned()));
        let statuses = open.placeholders(DemandStatus::OPEN.iter().map(|s| Arg::Int(s.as_i32())));
        let sql = format!(
            "SELECT create_time FROM demand WHERE enterprise_id = {enterprise} AND status IN ({statuses}) \
             ORDER BY create_time LIMIT 1"
        );
        let oldest_open: Option<DateTime<Utc>> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_scalar(&sql), &open.args).fetch_optional(pool).await)?;
        Ok(EnterpriseDemandList {
            enterprise_id: enterprise_id.to_owned(),
            enterprise_name: enterprise_name.to_owned(),
            groups,
            oldest_open,
        })
    }
}

fn subject(id: &str) -> String {
    format!("demands/{id}")
}

/// Inserts a submitted demand, its tags, its first history entry and its DemandSubmitted event in
/// `tx` (the first statement is a write). Also the way other areas (campaign posts) create demands.
pub(crate) async fn insert_demand(
    tx: &mut Tx,
    new: &NewDemand,
    request: Option<(&str, &str)>,
    submitter: &str,
    district: &str,
    industry: &str,
) -> Result<Demand, ServiceError> {
    let id = new_id();
    let time = now();
    let (request_id, payload) = request.map_or((None, None), |(r, p)| (Some(r), Some(p)));
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO demand (id, enterprise_id, title, text, category, channel, status, status_reason, \
             submitter, origin_id, district, industry, version, request_id, request_payload, create_time, \
             update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $9, $10, $11, 1, $12, $13, $14, $14)",
        )
        .bind(&id)
        .bind(new.enterprise_id.as_deref())
        .bind(&new.title)
        .bind(&new.text)
        .bind(&new.category)
        .bind(new.channel.as_i32())
        .bind(DemandStatus::Submitted.as_i32())
        .bind(submitter)
        .bind(new.origin_id.as_deref())
        .bind(district)
        .bind(industry)
        .bind(request_id)
        .bind(payload)
        .bind(time)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    insert_tags(tx, &id, &new.difficulty_tags).await?;
    let history = NewHistoryEntry {
        action: DemandAction::Submitted,
        from_status: None,
        to_status: DemandStatus::Submitted,
        from_common_issue_id: None,
        to_common_issue_id: None,
        reason: String::new(),
        detail: format!(
            "channel: {}; category: {}; difficulty_tags: {}",
            new.channel.name(),
            new.category,
            new.difficulty_tags
        ),
    };
    append_history(tx, &id, &history, submitter, time).await?;
    let payload = pb::DemandSubmitted {
        demand_id: id.clone(),
        enterprise_id: new.enterprise_id.clone().unwrap_or_default(),
        title: new.title.clone(),
        category: new.category.clone(),
        channel: new.channel.as_i32(),
        difficulty_tags: new.difficulty_tags.numbers(),
        district: district.to_owned(),
        industry: industry.to_owned(),
        origin_id: new.origin_id.clone().unwrap_or_default(),
        submitter: submitter.to_owned(),
    };
    events::record(
        tx,
        SERVICE,
        NewEvent::new("demand_submitted", subject(&id), "tingjian.intake.v1.DemandSubmitted", &payload),
    )
    .await?;
    Ok(Demand {
        id,
        fields: new.clone(),
        status: DemandStatus::Submitted,
        status_reason: String::new(),
        submitter: submitter.to_owned(),
        common_issue_id: None,
        district: district.to_owned(),
        industry: industry.to_owned(),
        version: 1,
        create_time: time,
        update_time: time,
    })
}

async fn insert_tags(tx: &mut Tx, id: &str, tags: &DifficultyTags) -> Result<(), ServiceError> {
    for tag in tags.iter() {
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO demand_tag (demand_id, tag) VALUES ($1, $2)")
                .bind(id)
                .bind(tag.as_i32())
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

/// Appends an entry to a demand's history, numbered after the last one. Runs after the demand's row
/// was written in `tx`, so concurrent appends to one demand are serialised by its row lock.
pub(crate) async fn append_history(
    tx: &mut Tx,
    id: &str,
    entry: &NewHistoryEntry,
    actor: &str,
    time: DateTime<Utc>,
) -> Result<i64, ServiceError> {
    let last: Option<i64> = on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT MAX(sequence) FROM demand_history WHERE demand_id = $1")
            .bind(id)
            .fetch_one(&mut **conn)
            .await
    })?;
    let sequence = last.unwrap_or(0) + 1;
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO demand_history (demand_id, sequence, action, from_status, to_status, \
             from_common_issue_id, to_common_issue_id, reason, detail, actor, time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id)
        .bind(sequence)
        .bind(entry.action.as_i32())
        .bind(entry.from_status.map_or(0, DemandStatus::as_i32))
        .bind(entry.to_status.as_i32())
        .bind(entry.from_common_issue_id.as_deref())
        .bind(entry.to_common_issue_id.as_deref())
        .bind(&entry.reason)
        .bind(&entry.detail)
        .bind(actor)
        .bind(time)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(sequence)
}
