//! Stored experts of the think tank (智库), their fields of expertise, and their attachment to topics.
//! Attaching and detaching take the topic's row lock first and move its revision on only when the
//! attachment really changed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tingjian_runtime::paging::{Page, PageRequest};
use tingjian_runtime::storage::{Backend, Tx, create_once};
use tingjian_runtime::{ServiceError, on_tx};

use super::Store;
use super::topic::{Bind, hold_topic, load_topic, now, placeholders};
use crate::domain::expert::{Expert, ExpertFilter, NewExpert};
use crate::domain::topic::Topic;

#[derive(sqlx::FromRow)]
struct ExpertRow {
    id: String,
    name: String,
    organisation: String,
    title: String,
    bio: String,
    active: bool,
    version: i64,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_EXPERT: &str = "SELECT e.id, e.name, e.organisation, e.title, e.bio, e.active, e.version, \
     e.create_time, e.update_time FROM expert e";

fn expert_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "expert", id: id.to_owned() }
}

/// Names compare by code point on both backends (PostgreSQL's locale collation would not).
fn name_order(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "e.name COLLATE \"C\"",
        Backend::Sqlite => "e.name",
    }
}

/// The experts of `rows` with their fields and topics.
async fn assemble(tx: &mut Tx, rows: Vec<ExpertRow>) -> Result<Vec<Expert>, ServiceError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let list = placeholders(1, ids.len());
    let fields_sql =
        format!("SELECT expert_id, field FROM expert_field WHERE expert_id IN ({list}) ORDER BY expert_id, position");
    let topics_sql = format!(
        "SELECT expert_id, topic_id FROM topic_expert WHERE expert_id IN ({list}) ORDER BY expert_id, attach_time, topic_id"
    );
    let mut grouped: [HashMap<String, Vec<String>>; 2] = [HashMap::new(), HashMap::new()];
    for (slot, sql) in [fields_sql, topics_sql].iter().enumerate() {
        let pairs: Vec<(String, String)> = on_tx!(tx, conn => {
            let mut query = sqlx::query_as::<_, (String, String)>(sql);
            for id in &ids {
                query = query.bind(*id);
            }
            query.fetch_all(&mut **conn).await
        })?;
        for (expert_id, value) in pairs {
            grouped[slot].entry(expert_id).or_default().push(value);
        }
    }
    let [mut fields, mut topics] = grouped;
    Ok(rows
        .into_iter()
        .map(|row| Expert {
            fields: NewExpert {
                name: row.name,
                fields: fields.remove(&row.id).unwrap_or_default(),
                organisation: row.organisation,
                title: row.title,
                bio: row.bio,
            },
            topic_ids: topics.remove(&row.id).unwrap_or_default(),
            active: row.active,
            version: row.version,
            create_time: row.create_time,
            update_time: row.update_time,
            id: row.id,
        })
        .collect())
}

async fn load_expert(tx: &mut Tx, id: &str) -> Result<Expert, ServiceError> {
    let sql = format!("{SELECT_EXPERT} WHERE e.id = $1");
    let row: Option<ExpertRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, ExpertRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    let row = row.ok_or_else(|| expert_not_found(id))?;
    assemble(tx, vec![row]).await?.pop().ok_or_else(|| expert_not_found(id))
}

async fn put_fields(tx: &mut Tx, id: &str, fields: &[String]) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM expert_field WHERE expert_id = $1").bind(id).execute(&mut **conn).await.map(|_| ())
    })?;
    for (position, field) in fields.iter().enumerate() {
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO expert_field (expert_id, field, position) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(field)
                .bind(i32::try_from(position).unwrap_or(i32::MAX))
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

/// Moves a topic's revision on (its attached experts changed).
async fn touch_topic(tx: &mut Tx, topic_id: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE topic SET version = version + 1, update_time = $2 WHERE id = $1")
            .bind(topic_id)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

impl Store {
    /// Adds an active expert to the think tank. A repeated `request_id` with the same request returns
    /// the first call's expert; with a different request it is ALREADY_EXISTS.
    pub async fn create_expert(
        &self,
        new: &NewExpert,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Expert, ServiceError> {
        let fingerprint = new.fingerprint();
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO expert (id, name, organisation, title, bio, active, version, request_id, \
                     request_payload, created_by, create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, TRUE, 1, $6, $7, $8, $9, $9)",
                )
                .bind(&id)
                .bind(&new.name)
                .bind(&new.organisation)
                .bind(&new.title)
                .bind(&new.bio)
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            put_fields(&mut tx, &id, &new.fields).await?;
            let expert = load_expert(&mut tx, &id).await?;
            tx.commit().await?;
            Ok(expert)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move { self.expert_by_request(&request_id, &fingerprint).await }
            },
            insert,
            || ServiceError::AlreadyExists("the expert conflicts with an existing one".into()),
        )
        .await
    }

    async fn expert_by_request(&self, request_id: &str, fingerprint: &str) -> Result<Option<Expert>, ServiceError> {
        match self.created_for_request("expert", "create expert", request_id, fingerprint).await? {
            Some(id) => self.get_expert(&id).await.map(Some),
            None => Ok(None),
        }
    }

    /// An expert by id, with fields and topics.
    pub async fn get_expert(&self, id: &str) -> Result<Expert, ServiceError> {
        let mut tx = self.db.begin().await?;
        let expert = load_expert(&mut tx, id).await;
        tx.rollback().await?;
        expert
    }

    /// Experts matching `filter`, by name, one page.
    pub async fn list_experts(&self, filter: &ExpertFilter, page: &PageRequest) -> Result<Page<Expert>, ServiceError> {
        let order = name_order(self.db.backend());
        let mut binds: Vec<Bind> = Vec::new();
        let mut clauses: Vec<String> = Vec::new();
        if !filter.include_inactive {
            clauses.push("e.active = TRUE".into());
        }
        if let Some(field) = &filter.field {
            binds.push(Bind::Text(field.clone()));
            clauses.push(format!(
                "EXISTS (SELECT 1 FROM expert_field f WHERE f.expert_id = e.id AND f.field = ${})",
                binds.len()
            ));
        }
        if let Some(topic_id) = &filter.topic_id {
            binds.push(Bind::Text(topic_id.clone()));
            clauses.push(format!(
                "EXISTS (SELECT 1 FROM topic_expert x WHERE x.expert_id = e.id AND x.topic_id = ${})",
                binds.len()
            ));
        }
        if let Some(after) = &page.after {
            binds.push(Bind::Text(PageRequest::text_key(after, 0)?));
            let k = binds.len();
            binds.push(Bind::Text(PageRequest::text_key(after, 1)?));
            let i = binds.len();
            let key = match self.db.backend() {
                Backend::Postgres => format!("${k} COLLATE \"C\""),
                Backend::Sqlite => format!("${k}"),
            };
            clauses.push(format!("({order} > {key} OR ({order} = {key} AND e.id > ${i}))"));
        }
        let where_sql = if clauses.is_empty() { String::new() } else { format!(" WHERE {}", clauses.join(" AND ")) };
        let sql = format!("{SELECT_EXPERT}{where_sql} ORDER BY {order}, e.id LIMIT {}", page.size + 1);
        let mut tx = self.db.begin().await?;
        let rows: Vec<ExpertRow> = on_tx!(&mut tx, conn => {
            let mut query = sqlx::query_as::<_, ExpertRow>(&sql);
            for bind in &binds {
                query = match bind {
                    Bind::Text(v) => query.bind(v.as_str()),
                    Bind::Int(v) => query.bind(*v),
                    Bind::Time(v) => query.bind(*v),
                };
            }
            query.fetch_all(&mut **conn).await
        })?;
        let page = Page::from_rows(rows, page.size, |r| vec![r.name.clone(), r.id.clone()]);
        let items = assemble(&mut tx, page.items).await;
        tx.rollback().await?;
        Ok(Page { items: items?, next: page.next })
    }

    /// Changes the fields of `paths` to their values in `new` and `active`; ABORTED when `expected`
    /// is stale.
    pub async fn update_expert(
        &self,
        id: &str,
        new: &NewExpert,
        active: bool,
        paths: &[&str],
        expected: Option<i64>,
    ) -> Result<Expert, ServiceError> {
        let mut tx = self.db.begin().await?;
        let version: Option<i64> = on_tx!(&mut tx, conn => {
            sqlx::query_scalar(
                "UPDATE expert SET version = version + 1, update_time = $2 WHERE id = $1 RETURNING version",
            )
            .bind(id)
            .bind(now())
            .fetch_optional(&mut **conn)
            .await
        })?;
        let version = version.ok_or_else(|| expert_not_found(id))?;
        if let Some(expected) = expected
            && expected != version - 1
        {
            return Err(ServiceError::Aborted(format!(
                "expert {id} has changed since it was read (its etag is now v{}); re-read it and retry",
                version - 1
            )));
        }
        for path in paths {
            let (sql, value) = match *path {
                "name" => ("UPDATE expert SET name = $2 WHERE id = $1", &new.name),
                "organisation" => ("UPDATE expert SET organisation = $2 WHERE id = $1", &new.organisation),
                "title" => ("UPDATE expert SET title = $2 WHERE id = $1", &new.title),
                "bio" => ("UPDATE expert SET bio = $2 WHERE id = $1", &new.bio),
                "fields" => {
                    put_fields(&mut tx, id, &new.fields).await?;
                    continue;
                }
                "active" => {
                    on_tx!(&mut tx, conn => {
                        sqlx::query("UPDATE expert SET active = $2 WHERE id = $1")
                            .bind(id)
                            .bind(active)
                            .execute(&mut **conn)
                            .await
                            .map(|_| ())
                    })?;
                    continue;
                }
                other => return Err(ServiceError::internal(format!("expert field {other} cannot be updated"))),
            };
            on_tx!(&mut tx, conn => {
                sqlx::query(sql).bind(id).bind(value).execute(&mut **conn).await.map(|_| ())
            })?;
        }
        let expert = load_expert(&mut tx, id).await?;
        tx.commit().await?;
        Ok(expert)
    }

    /// Attaches an active expert to a topic that is not withdrawn; attaching twice changes nothing.
    pub async fn attach_expert(&self, topic_id: &str, expert_id: &str, actor: &str) -> Result<Topic, ServiceError> {
        let mut tx = self.db.begin().await?;
        hold_topic(&mut tx, topic_id).await?.check_open(topic_id)?;
        load_expert(&mut tx, expert_id).await?.check_attachable()?;
        let now = now();
        let attached = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO topic_expert (topic_id, expert_id, attached_by, attach_time) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (topic_id, expert_id) DO NOTHING",
            )
            .bind(topic_id)
            .bind(expert_id)
            .bind(actor)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
        })?;
        if attached > 0 {
            touch_topic(&mut tx, topic_id, now).await?;
        }
        let topic = load_topic(&mut tx, topic_id).await?;
        tx.commit().await?;
        Ok(topic)
    }

    /// Detaches an expert from a topic that is not withdrawn; detaching one not attached changes
    /// nothing. NOT_FOUND for an unknown topic or expert.
    pub async fn detach_expert(&self, topic_id: &str, expert_id: &str) -> Result<Topic, ServiceError> {
        let mut tx = self.db.begin().await?;
        hold_topic(&mut tx, topic_id).await?.check_open(topic_id)?;
        load_expert(&mut tx, expert_id).await?;
        let detached = on_tx!(&mut tx, conn => {
            sqlx::query("DELETE FROM topic_expert WHERE topic_id = $1 AND expert_id = $2")
                .bind(topic_id)
                .bind(expert_id)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
        })?;
        if detached > 0 {
            touch_topic(&mut tx, topic_id, now()).await?;
        }
        let topic = load_topic(&mut tx, topic_id).await?;
        tx.commit().await?;
        Ok(topic)
    }
}
