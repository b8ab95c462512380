//! Roundtables (一月一座谈) in the intake store, and the demands that name a contact or roundtable as
//! their origin.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::wire::{new_id, timestamp};
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::{Arg, Conditions, SERVICE, Store, UPDATE_ATTEMPTS, placeholders};
use crate::domain::{NewRoundtable, Roundtable, RoundtableFilter, to_micros};

#[derive(sqlx::FromRow)]
struct RoundtableRow {
    id: String,
    title: String,
    theme: String,
    held_time: DateTime<Utc>,
    venue: String,
    entrepreneur_count: i32,
    summary: String,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const ROUNDTABLE_COLUMNS: &str = "r.id, r.title, r.theme, r.held_time, r.venue, r.entrepreneur_count, r.summary, \
     r.version, r.created_by, r.create_time, r.update_time";

/// Writes the hosts and invitees of roundtable `id` (after removing the old ones when `replace`).
async fn write_participants(
    tx: &mut Tx,
    id: &str,
    fields: &NewRoundtable,
    hosts: bool,
    invitees: bool,
) -> Result<(), sqlx::Error> {
    if hosts {
        on_tx!(tx, conn => {
            sqlx::query("DELETE FROM roundtable_host WHERE roundtable_id = $1").bind(id).execute(&mut **conn).await.map(|done| done.rows_affected())
        })?;
        for (position, host) in fields.host_ids.iter().enumerate() {
            let position = i32::try_from(position).unwrap_or(i32::MAX);
            on_tx!(tx, conn => {
                sqlx::query("INSERT INTO roundtable_host (roundtable_id, position, host_id) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(position)
                    .bind(host)
                    .execute(&mut **conn)
                    .await
                    .map(|done| done.rows_affected())
            })?;
        }
    }
    if invitees {
        on_tx!(tx, conn => {
            sqlx::query("DELETE FROM roundtable_invitee WHERE roundtable_id = $1").bind(id).execute(&mut **conn).await.map(|done| done.rows_affected())
        })?;
        for (position, enterprise) in fields.invited_enterprise_ids.iter().enumerate() {
            let position = i32::try_from(position).unwrap_or(i32::MAX);
            on_tx!(tx, conn => {
                sqlx::query(
                    "INSERT INTO roundtable_invitee (roundtable_id, enterprise_id, position) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(enterprise)
                .bind(position)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
        }
    }
    Ok(())
}

impl Store {
    /// Records a roundtable with its hosts and invitees, and RoundtableHeld, in one transaction.
    /// Idempotent on `request_id`. The invitees must exist (checked by the caller; a vanished one is
    /// FAILED_PRECONDITION through the foreign key).
    pub async fn create_roundtable(
        &self,
        new: &NewRoundtable,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Roundtable, ServiceError> {
        let id = new_id();
        let now = to_micros(tingjian_runtime::clock::now());
        let fingerprint = new.fingerprint();
        let insert = async {
            let payload = pb::RoundtableHeld {
                roundtable_id: id.clone(),
                title: new.title.clone(),
                held_time: Some(timestamp(new.held_time)),
                entrepreneur_count: new.entrepreneur_count,
                invited_enterprise_ids: new.invited_enterprise_ids.clone(),
                actor: actor.to_owned(),
            };
            let mut tx = self.db.begin().await?;
            let event = NewEvent::new(
                "roundtable_held",
                format!("roundtables/{id}"),
                "tingjian.intake.v1.RoundtableHeld",
                &payload,
            );
            events::record(&mut tx, SERVICE, event).await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO roundtable (id, title, theme, held_time, venue, entrepreneur_count, summary, \
                     request_id, request_fingerprint, created_by, create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&id)
                .bind(&new.title)
                .bind(&new.theme)
                .bind(new.held_time)
                .bind(&new.venue)
                .bind(new.entrepreneur_count)
                .bind(&new.summary)
                .bind(request_id)
                .bind(&fingerprint)
                .bind(actor)
                .bind(now)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            write_participants(&mut tx, &id, new, true, true).await?;
            tx.commit().await?;
            self.get_roundtable(&id).await
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    match self.created_by_request("roundtable", &request_id, &fingerprint).await? {
                        Some(id) => self.get_roundtable(&id).await.map(Some),
                        None => Ok(None),
                    }
                }
            },
            insert,
            || ServiceError::internal("a roundtable insert collided without a request id"),
        )
        .await
    }

    /// A roundtable by id, with its hosts, invitees and the demands raised there.
    pub async fn get_roundtable(&self, id: &str) -> Result<Roundtable, ServiceError> {
        let sql = format!("SELECT {ROUNDTABLE_COLUMNS} FROM roundtable r WHERE r.id = $1");
        let row: Option<RoundtableRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        let row = row.ok_or_else(|| ServiceError::NotFound { resource: "roundtable", id: id.to_owned() })?;
        let mut roundtables = self.roundtables_with_children(vec![row]).await?;
        roundtables.pop().ok_or_else(|| ServiceError::internal("a loaded roundtable disappeared"))
    }

    /// Roundtables matching `filter`, newest first (held time, then id, descending), at most `limit`
    /// after the (time, id) cursor.
    pub async fn list_roundtables(
        &self,
        filter: &RoundtableFilter,
        limit: usize,
        after: Option<(DateTime<Utc>, String)>,
    ) -> Result<Vec<Roundtable>, ServiceError> {
        let mut c = Conditions::default();
        if let Some(start) = filter.start {
            let p = c.arg(Arg::Time(start));
            c.push(format!("r.held_time >= {p}"));
        }
        if let Some(end) = filter.end {
            let p = c.arg(Arg::Time(end));
            c.push(format!("r.held_time < {p}"));
        }
        if let Some(enterprise_id) = &filter.enterprise_id {
            let p = c.arg(Arg::Text(enterprise_id.clone()));
            c.push(format!(
                "EXISTS (SELECT 1 FROM roundtable_invitee i WHERE i.roundtable_id = r.id AND i.enterprise_id = {p})"
            ));
        }
        if let Some((time, id)) = after {
            c.after("r.held_time", Arg::Time(time), "r.id", &id, true);
        }
        let limit = c.arg(Arg::BigInt(i64::try_from(limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {ROUNDTABLE_COLUMNS} FROM roundtable r{} ORDER BY r.held_time DESC, r.id DESC LIMIT {limit}",
            c.where_sql()
        );
        let rows: Vec<RoundtableRow> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as(&sql), c.args()).fetch_all(pool).await)?;
        self.roundtables_with_children(rows).await
    }

    /// Changes a roundtable: `change` gets the current record and returns its new fields with the paths
    /// that changed (nothing to do when empty), or an error (e.g. ABORTED for a stale etag). Retried on
    /// the new record when another change won meanwhile.
    pub async fn update_roundtable<F>(&self, id: &str, change: F) -> Result<Roundtable, ServiceError>
    where
        F: Fn(&Roundtable) -> Result<(NewRoundtable, Vec<&'static str>), ServiceError>,
    {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_roundtable(id).await?;
            let (fields, changed) = change(&current)?;
            if changed.is_empty() {
                return Ok(current);
            }
            let now = to_micros(tingjian_runtime::clock::now()).max(current.update_time);
            let mut tx = self.db.begin().await?;
            let updated = on_tx!(&mut tx, conn => {
                sqlx::query(
                    "UPDATE roundtable SET title = $1, theme = $2, held_time = $3, venue = $4, \
                     entrepreneur_count = $5, summary = $6, version = version + 1, update_time = $7 \
                     WHERE id = $8 AND version = $9",
                )
                .bind(&fields.title)
                .bind(&fields.theme)
                .bind(fields.held_time)
                .bind(&fields.venue)
                .bind(fields.entrepreneur_count)
                .bind(&fields.summary)
                .bind(now)
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
            let hosts = changed.contains(&"host_ids");
            let invitees = changed.contains(&"invited_enterprise_ids");
            write_participants(&mut tx, id, &fields, hosts, invitees).await?;
            tx.commit().await?;
            return self.get_roundtable(id).await;
        }
        Err(ServiceError::Aborted(format!("roundtable {id} kept changing concurrently; re-read it and retry")))
    }

    async fn roundtable_children(
        &self,
        sql: &str,
        ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>, ServiceError> {
        let rows: Vec<(String, String)> = on_pool!(&self.db, pool => {
            let mut query = sqlx::query_as(sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (roundtable_id, value) in rows {
            out.entry(roundtable_id).or_default().push(value);
        }
        Ok(out)
    }

    async fn roundtables_with_children(&self, rows: Vec<RoundtableRow>) -> Result<Vec<Roundtable>, ServiceError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let list = placeholders(1, ids.len());
        let mut hosts = self
            .roundtable_children(
                &format!(
                    "SELECT roundtable_id, host_id FROM roundtable_host WHERE roundtable_id IN ({list}) \
                     ORDER BY roundtable_id, position"
                ),
                &ids,
            )
            .await?;
        let mut invitees = self
            .roundtable_children(
                &format!(
                    "SELECT roundtable_id, enterprise_id FROM roundtable_invitee WHERE roundtable_id IN ({list}) \
                     ORDER BY roundtable_id, position"
                ),
                &ids,
            )
            .await?;
        let mut demands = self.demand_ids_by_origin(&ids).await?;
        Ok(rows
            .into_iter()
            .map(|row| Roundtable {
                fields: NewRoundtable {
                    title: row.title,
                    theme: row.theme,
                    held_time: row.held_time,
                    venue: row.venue,
                    host_ids: hosts.remove(&row.id).unwrap_or_default(),
                    invited_enterprise_ids: invitees.remove(&row.id).unwrap_or_default(),
                    entrepreneur_count: row.entrepreneur_count,
                    summary: row.summary,
                },
                demand_ids: demands.remove(&row.id).unwrap_or_default(),
                version: row.version,
                created_by: row.created_by,
                create_time: row.create_time,
                update_time: row.update_time,
                id: row.id,
            })
            .collect())
    }

    /// The demands whose origin is one of `origin_ids` (contacts, roundtables), oldest first, by origin.
    pub(super) async fn demand_ids_by_origin(
        &self,
        origin_ids: &[String],
    ) -> Result<HashMap<String, Vec<String>>, ServiceError> {
        if origin_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!(
            "SELECT origin_id, id FROM demand WHERE origin_id IN ({}) ORDER BY create_time, id",
            placeholders(1, origin_ids.len())
        );
        let rows: Vec<(String, String)> = on_pool!(&self.db, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in origin_ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        let mut out: HashMap<String, Vec<String>> = HashMap::new();
        for (origin, id) in rows {
            out.entry(origin).or_default().push(id);
        }
        Ok(out)
    }
}
