//! Stored topics (协商议题): the topic row, the common issues it is drawn from, its stakeholders, and
//! what it gathers from elsewhere (attached experts, sessions). Each change commits with its event in
//! one transaction, and every writing transaction starts with a write, so SQLite takes its write lock
//! up front.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::{ServiceError, on_tx};

use super::Store;
use crate::domain::topic::{
    DrawnFrom, Format, Leader, NewTopic, Stakeholder, StakeholderKind, Topic, TopicFilter, TopicStatus,
};

/// The service name events are recorded under.
pub(super) const SERVICE: &str = "consultation";

/// The current instant, at the precision both backends store.
pub(super) fn now() -> DateTime<Utc> {
    tingjian_runtime::clock::now().trunc_subsecs(6)
}

/// NOT_FOUND for topic `id`.
pub(super) fn topic_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "topic", id: id.to_owned() }
}

/// `$from, $from+1, …` for `n` values bound from position `from`.
pub(super) fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

#[derive(sqlx::FromRow)]
pub(super) struct TopicRow {
    pub(super) id: String,
    plan_id: String,
    title: String,
    background: String,
    leader_id: String,
    leader_name: String,
    leader_title: String,
    leader_organisation_id: String,
    format: i32,
    lead_committee: String,
    status: i32,
    status_reason: String,
    pub(super) version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_TOPIC: &str = "SELECT t.id, t.plan_id, t.title, t.background, t.leader_id, t.leader_name, \
     t.leader_title, t.leader_organisation_id, t.format, t.lead_committee, t.status, t.status_reason, t.version, \
     t.created_by, t.create_time, t.update_time FROM topic t";

impl TopicRow {
    /// Where it stands.
    pub(super) fn status(&self) -> Result<TopicStatus, ServiceError> {
        TopicStatus::from_i32(self.status)
            .ok_or_else(|| ServiceError::internal(format!("stored topic {} has a bad status", self.id)))
    }

    /// `Ok` if the caller's etag names the revision before this transaction's bump.
    fn check_etag(&self, expected: Option<i64>) -> Result<(), ServiceError> {
        match expected {
            Some(expected) if expected != self.version - 1 => Err(ServiceError::Aborted(format!(
                "topic {} has changed since it was read (its etag is now v{}); re-read it and retry",
                self.id,
                self.version - 1
            ))),
            _ => Ok(()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct IssueRow {
    topic_id: String,
    common_issue_id: String,
    title: String,
}

#[derive(sqlx::FromRow)]
struct StakeholderRow {
    topic_id: String,
    kind: i32,
    code: String,
    name: String,
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    topic_id: String,
    id: String,
}

async fn topic_row(tx: &mut Tx, id: &str) -> Result<Option<TopicRow>, ServiceError> {
    let sql = format!("{SELECT_TOPIC} WHERE t.id = $1");
    Ok(on_tx!(tx, conn => sqlx::query_as::<_, TopicRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?)
}

/// Rows of `sql` (with `{ids}` standing for the placeholders of `ids`) grouped by topic.
async fn children<R>(tx: &mut Tx, sql: &str, ids: &[&str]) -> Result<Vec<R>, ServiceError>
where
    R: Send
        + Unpin
        + for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let sql = sql.replace("{ids}", &placeholders(1, ids.len()));
    let rows: Vec<R> = on_tx!(tx, conn => {
        let mut query = sqlx::query_as::<_, R>(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&mut **conn).await
    })?;
    Ok(rows)
}

fn group<R, T>(rows: Vec<R>, split: impl Fn(R) -> (String, T)) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for row in rows {
        let (topic_id, item) = split(row);
        out.entry(topic_id).or_default().push(item);
    }
    out
}

/// The topics of `rows`, each with its common issues, stakeholders, experts and sessions.
async fn assemble(tx: &mut Tx, rows: Vec<TopicRow>) -> Result<Vec<Topic>, ServiceError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let issues: Vec<IssueRow> = children(
        tx,
        "SELECT topic_id, common_issue_id, title FROM topic_common_issue WHERE topic_id IN ({ids}) \
         ORDER BY topic_id, position",
        &ids,
    )
    .await?;
    let stakeholders: Vec<StakeholderRow> = children(
        tx,
        "SELECT topic_id, kind, code, name FROM topic_stakeholder WHERE topic_id IN ({ids}) ORDER BY topic_id, position",
        &ids,
    )
    .await?;
    let experts: Vec<LinkRow> = children(
        tx,
        "SELECT topic_id, expert_id AS id FROM topic_expert WHERE topic_id IN ({ids}) \
         ORDER BY topic_id, attach_time, expert_id",
        &ids,
    )
    .await?;
    let sessions: Vec<LinkRow> = children(
        tx,
        "SELECT topic_id, id FROM session WHERE topic_id IN ({ids}) ORDER BY topic_id, start_time, id",
        &ids,
    )
    .await?;
    let mut issues = group(issues, |r| (r.topic_id, DrawnFrom { common_issue_id: r.common_issue_id, title: r.title }));
    let mut stakeholders = group(stakeholders, |r| (r.topic_id, (r.kind, r.code, r.name)));
    let mut experts = group(experts, |r| (r.topic_id, r.id));
    let mut sessions = group(sessions, |r| (r.topic_id, r.id));
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let status = row.status()?;
        let format = Format::from_i32(row.format)
            .ok_or_else(|| ServiceError::internal(format!("stored topic {} has a bad format", row.id)))?;
        let mut named = Vec::new();
        for (kind, code, name) in stakeholders.remove(&row.id).unwrap_or_default() {
            let kind = StakeholderKind::from_i32(kind)
                .ok_or_else(|| ServiceError::internal(format!("stored topic {} has a bad stakeholder", row.id)))?;
            named.push(Stakeholder { kind, code, name });
        }
        out.push(Topic {
            fields: NewTopic {
                plan_id: row.plan_id,
                title: row.title,
                background: row.background,
                common_issues: issues.remove(&row.id).unwrap_or_default(),
                leader: Leader {
                    id: row.leader_id,
                    display_name: row.leader_name,
                    title: row.leader_title,
                    organisation_id: row.leader_organisation_id,
                },
                format,
                stakeholders: named,
                lead_committee: row.lead_committee,
            },
            status,
            status_reason: row.status_reason,
            expert_ids: experts.remove(&row.id).unwrap_or_default(),
            session_ids: sessions.remove(&row.id).unwrap_or_default(),
            version: row.version,
            created_by: row.created_by,
            create_time: row.create_time,
            update_time: row.update_time,
            id: row.id,
        });
    }
    Ok(out)
}

/// A topic with everything it gathers, inside `tx`.
pub(super) async fn load_topic(tx: &mut Tx, id: &str) -> Result<Topic, ServiceError> {
    let row = topic_row(tx, id).await?.ok_or_else(|| topic_not_found(id))?;
    assemble(tx, vec![row]).await?.pop().ok_or_else(|| topic_not_found(id))
}

/// Bumps a topic's revision (locking it) and returns it as it is now; ABORTED when `expected` (the
/// revision the caller read) is stale.
pub(super) async fn lock_topic(
    tx: &mut Tx,
    id: &str,
    expected: Option<i64>,
    now: DateTime<Utc>,
) -> Result<TopicRow, ServiceError> {
    let changed = on_tx!(tx, conn => {
        sqlx::query("UPDATE topic SET version = version + 1, update_time = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    if changed == 0 {
        return Err(topic_not_found(id));
    }
    let row = topic_row(tx, id).await?.ok_or_else(|| topic_not_found(id))?;
    row.check_etag(expected)?;
    Ok(row)
}

/// Takes a topic's row lock without changing its revision, and returns its status: for changes that
/// hang off the topic (invitations) and must not race with its withdrawal.
pub(super) async fn hold_topic(tx: &mut Tx, id: &str) -> Result<TopicStatus, ServiceError> {
    let status: Option<i32> = on_tx!(tx, conn => {
        sqlx::query_scalar("UPDATE topic SET status = status WHERE id = $1 RETURNING status")
            .bind(id)
            .fetch_optional(&mut **conn)
            .await
    })?;
    let status = status.ok_or_else(|| topic_not_found(id))?;
    TopicStatus::from_i32(status).ok_or_else(|| ServiceError::internal(format!("stored topic {id} has a bad status")))
}

async fn put_common_issues(tx: &mut Tx, id: &str, issues: &[DrawnFrom]) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM topic_common_issue WHERE topic_id = $1").bind(id).execute(&mut **conn).await.map(|_| ())
    })?;
    for (position, issue) in issues.iter().enumerate() {
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO topic_common_issue (topic_id, common_issue_id, position, title) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(&issue.common_issue_id)
            .bind(i32::try_from(position).unwrap_or(i32::MAX))
            .bind(&issue.title)
            .execute(&mut **conn)
            .await.map(|_| ())
        })?;
    }
    Ok(())
}

async fn put_stakeholders(tx: &mut Tx, id: &str, stakeholders: &[Stakeholder]) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM topic_stakeholder WHERE topic_id = $1").bind(id).execute(&mut **conn).await.map(|_| ())
    })?;
    for (position, s) in stakeholders.iter().enumerate() {
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO topic_stakeholder (topic_id, kind, code, name, position) VALUES ($1, $2, $3, $4, $5)")
                .bind(id)
                .bind(s.kind.as_i32())
                .bind(&s.code)
                .bind(&s.name)
                .bind(i32::try_from(position).unwrap_or(i32::MAX))
                .execute(&mut **conn)
                .await.map(|_| ())
        })?;
    }
    Ok(())
}

/// The leader as the contract writes it.
fn person(leader: &Leader) -> tingjian_proto::common::v1::PersonRef {
    tingjian_proto::common::v1::PersonRef {
        id: leader.id.clone(),
        display_name: leader.display_name.clone(),
        title: leader.title.clone(),
        organisation_id: leader.organisation_id.clone(),
    }
}

impl Store {
    /// Creates a PROPOSED topic. A repeated `request_id` with the same request returns the topic the
    /// first call created; with a different request it is ALREADY_EXISTS.
    pub async fn create_topic(
        &self,
        new: &NewTopic,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Topic, ServiceError> {
        let fingerprint = new.fingerprint();
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO topic (id, plan_id, title, background, leader_id, leader_name, leader_title, \
                     leader_organisation_id, format, lead_committee, status, version, request_id, request_payload, \
                     created_by, create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, $15, $15)",
                )
                .bind(&id)
                .bind(&new.plan_id)
                .bind(&new.title)
                .bind(&new.background)
                .bind(&new.leader.id)
                .bind(&new.leader.display_name)
                .bind(&new.leader.title)
                .bind(&new.leader.organisation_id)
                .bind(new.format.as_i32())
                .bind(&new.lead_committee)
                .bind(TopicStatus::Proposed.as_i32())
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await.map(|_| ())
            })?;
            put_common_issues(&mut tx, &id, &new.common_issues).await?;
            put_stakeholders(&mut tx, &id, &new.stakeholders).await?;
            let topic = load_topic(&mut tx, &id).await?;
            tx.commit().await?;
            Ok(topic)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move { self.topic_by_request(&request_id, &fingerprint).await }
            },
            insert,
            || ServiceError::AlreadyExists("the topic conflicts with an existing one".into()),
        )
        .await
    }

    async fn topic_by_request(&self, request_id: &str, fingerprint: &str) -> Result<Option<Topic>, ServiceError> {
        match self.created_for_request("topic", "create topic", request_id, fingerprint).await? {
            Some(id) => self.get_topic(&id).await.map(Some),
            None => Ok(None),
        }
    }

    /// A topic by id, with its common issues, stakeholders, experts and sessions.
    pub async fn get_topic(&self, id: &str) -> Result<Topic, ServiceError> {
        let mut tx = self.db.begin().await?;
        let topic = load_topic(&mut tx, id).await;
        tx.rollback().await?;
        topic
    }

    /// Topics matching `filter`, newest first, one page.
    pub async fn list_topics(&self, filter: &TopicFilter, page: &PageRequest) -> Result<Page<Topic>, ServiceError> {
        let mut clauses: Vec<String> = Vec::new();
        let mut n = 0usize;
        let mut next = || {
            n += 1;
            n
        };
        // Placeholders are numbered in bind order.
        let mut binds: Vec<Bind> = Vec::new();
        if let Some(plan_id) = &filter.plan_id {
            clauses.push(format!("t.plan_id = ${}", next()));
            binds.push(Bind::Text(plan_id.clone()));
        }
        if !filter.statuses.is_empty() {
            let list: Vec<String> = filter
                .statuses
                .iter()
                .map(|s| {
                    binds.push(Bind::Int(s.as_i32()));
                    format!("${}", next())
                })
                .collect();
            clauses.push(format!("t.status IN ({})", list.join(", ")));
        }
        if let Some(format) = filter.format {
            clauses.push(format!("t.format = ${}", next()));
            binds.push(Bind::Int(format.as_i32()));
        }
        if let Some(issue) = &filter.common_issue_id {
            clauses.push(format!(
                "EXISTS (SELECT 1 FROM topic_common_issue c WHERE c.topic_id = t.id AND c.common_issue_id = ${})",
                next()
            ));
            binds.push(Bind::Text(issue.clone()));
        }
        if let Some(after) = &page.after {
            let at = PageRequest::time_key(after, 0)?;
            let id = PageRequest::text_key(after, 1)?;
            let (k, i) = (next(), next());
            clauses.push(format!("(t.create_time < ${k} OR (t.create_time = ${k} AND t.id < ${i}))"));
            binds.push(Bind::Time(at));
            binds.push(Bind::Text(id));
        }
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let sql = format!("{SELECT_TOPIC}{where_sql} ORDER BY t.create_time DESC, t.id DESC LIMIT {}", page.size + 1);
        let mut tx = self.db.begin().await?;
        let rows: Vec<TopicRow> = on_tx!(&mut tx, conn => {
            let mut query = sqlx::query_as::<_, TopicRow>(&sql);
            for bind in &binds {
                query = match bind {
                    Bind::Text(v) => query.bind(v.as_str()),
                    Bind::Int(v) => query.bind(*v),
                    Bind::Time(v) => query.bind(*v),
                };
            }
            query.fetch_all(&mut **conn).await
        })?;
        let page = Page::from_rows(rows, page.size, |r| vec![time_key(r.create_time), r.id.clone()]);
        let items = assemble(&mut tx, page.items).await;
        tx.rollback().await?;
        Ok(Page { items: items?, next: page.next })
    }

    /// Changes the fields of `paths` to their values in `new` (the rest is left as stored); ABORTED
    /// when `expected` is stale, FAILED_PRECONDITION when the topic is withdrawn.
    pub async fn update_topic(
        &self,
        id: &str,
        new: &NewTopic,
        paths: &[&str],
        expected: Option<i64>,
    ) -> Result<Topic, ServiceError> {
        let mut tx = self.db.begin().await?;
        let row = lock_topic(&mut tx, id, expected, now()).await?;
        row.status()?.check_open(id)?;
        for path in paths {
            let (sql, value): (&str, Option<&str>) = match *path {
                "title" => ("UPDATE topic SET title = $2 WHERE id = $1", Some(&new.title)),
                "background" => ("UPDATE topic SET background = $2 WHERE id = $1", Some(&new.background)),
                "lead_committee" => ("UPDATE topic SET lead_committee = $2 WHERE id = $1", Some(&new.lead_committee)),
                "format" => ("UPDATE topic SET format = $2 WHERE id = $1", None),
                "leader" => (
                    "UPDATE topic SET leader_id = $2, leader_name = $3, leader_title = $4, \
                     leader_organisation_id = $5 WHERE id = $1",
                    None,
                ),
                "common_issue_ids" => {
                    put_common_issues(&mut tx, id, &new.common_issues).await?;
                    continue;
                }
                "stakeholders" => {
                    put_stakeholders(&mut tx, id, &new.stakeholders).await?;
                    continue;
                }
                other => return Err(ServiceError::internal(format!("topic field {other} cannot be updated"))),
            };
            on_tx!(&mut tx, conn => {
                let query = sqlx::query(sql).bind(id);
                let query = match (*path, value) {
                    (_, Some(value)) => query.bind(value),
                    ("format", None) => query.bind(new.format.as_i32()),
                    _ => query
                        .bind(&new.leader.id)
                        .bind(&new.leader.display_name)
                        .bind(&new.leader.title)
                        .bind(&new.leader.organisation_id),
                };
                query.execute(&mut **conn).await.map(|_| ())
            })?;
        }
        let topic = load_topic(&mut tx, id).await?;
        tx.commit().await?;
        Ok(topic)
    }

    /// Adopts a PROPOSED topic into its plan (纳入计划), with TopicAdopted in the same transaction.
    pub async fn adopt_topic(&self, id: &str, expected: Option<i64>, actor: &str) -> Result<Topic, ServiceError> {
        let mut tx = self.db.begin().await?;
        let row = lock_topic(&mut tx, id, expected, now()).await?;
        let status = row.status()?.adopt(id)?;
        set_status(&mut tx, id, status, "").await?;
        let topic = load_topic(&mut tx, id).await?;
        let year: i32 = on_tx!(&mut tx, conn => {
            sqlx::query_scalar("SELECT year FROM plan WHERE id = $1").bind(&topic.fields.plan_id).fetch_one(&mut **conn).await
        })?;
        let payload = pb::TopicAdopted {
            topic_id: topic.id.clone(),
            plan_id: topic.fields.plan_id.clone(),
            year,
            title: topic.fields.title.clone(),
            common_issue_ids: topic.fields.common_issue_ids(),
            format: topic.fields.format.as_i32(),
            leader: Some(person(&topic.fields.leader)),
            actor: actor.to_owned(),
        };
        let event =
            NewEvent::new("topic_adopted", format!("topics/{id}"), "tingjian.consultation.v1.TopicAdopted", &payload);
        events::record(&mut tx, SERVICE, event).await?;
        tx.commit().await?;
        Ok(topic)
    }

    /// Withdraws a topic with a reason (撤销), with TopicWithdrawn in the same transaction.
    pub async fn withdraw_topic(
        &self,
        id: &str,
        reason: &str,
        expected: Option<i64>,
        actor: &str,
    ) -> Result<Topic, ServiceError> {
        let mut tx = self.db.begin().await?;
        let row = lock_topic(&mut tx, id, expected, now()).await?;
        let status = row.status()?.withdraw(id)?;
        set_status(&mut tx, id, status, reason).await?;
        let topic = load_topic(&mut tx, id).await?;
        let payload = pb::TopicWithdrawn {
            topic_id: topic.id.clone(),
            common_issue_ids: topic.fields.common_issue_ids(),
            reason: reason.to_owned(),
            actor: actor.to_owned(),
        };
        let event = NewEvent::new(
            "topic_withdrawn",
            format!("topics/{id}"),
            "tingjian.consultation.v1.TopicWithdrawn",
            &payload,
        );
        events::record(&mut tx, SERVICE, event).await?;
        tx.commit().await?;
        Ok(topic)
    }
}

async fn set_status(tx: &mut Tx, id: &str, status: TopicStatus, reason: &str) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE topic SET status = $2, status_reason = $3 WHERE id = $1")
            .bind(id)
            .bind(status.as_i32())
            .bind(reason)
            .execute(&mut **conn)
            .await.map(|_| ())
    })?;
    Ok(())
}

/// A value bound to a query assembled at run time.
pub(super) enum Bind {
    /// Text.
    Text(String),
    /// A 32-bit integer.
    Int(i32),
    /// An instant.
    Time(DateTime<Utc>),
}
