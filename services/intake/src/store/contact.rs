//! Contact people (personal data, in their own table) and contacts (一周一联系) in the intake store.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::wire::{new_id, timestamp};
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::{Arg, Conditions, SERVICE, Store, placeholders};
use crate::domain::{
    Contact, ContactChannel, ContactFilter, ContactPerson, ContactPersonFields, Enterprise, NewContact, to_micros,
};

#[derive(sqlx::FromRow)]
struct ContactPersonRow {
    id: String,
    enterprise_id: String,
    name: String,
    phone: String,
    position: String,
    is_primary: bool,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

impl From<ContactPersonRow> for ContactPerson {
    fn from(row: ContactPersonRow) -> Self {
        Self {
            id: row.id,
            enterprise_id: row.enterprise_id,
            fields: ContactPersonFields {
                name: row.name,
                phone: row.phone,
                position: row.position,
                primary: row.is_primary,
            },
            create_time: row.create_time,
            update_time: row.update_time,
        }
    }
}

const PERSON_COLUMNS: &str = "id, enterprise_id, name, phone, position, is_primary, create_time, update_time";
/// Primary contacts sort first.
const PERSON_RANK: &str = "(CASE WHEN is_primary THEN 0 ELSE 1 END)";

/// Makes `keep` the enterprise's only primary contact (the others lose the flag), inside `tx`.
async fn demote_other_primaries(
    tx: &mut Tx,
    enterprise_id: &str,
    keep: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE contact_person SET is_primary = FALSE, update_time = $1 \
             WHERE enterprise_id = $2 AND is_primary = TRUE AND id <> $3",
        )
        .bind(now)
        .bind(enterprise_id)
        .bind(keep)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: String,
    enterprise_id: String,
    channel: i32,
    contact_time: DateTime<Utc>,
    summary: String,
    briefed_person_times: i32,
    created_by: String,
    create_time: DateTime<Utc>,
}

const CONTACT_COLUMNS: &str =
    "id, enterprise_id, channel, contact_time, summary, briefed_person_times, created_by, create_time";

/// The ordered values of a contact's child table, by contact id.
type Children = HashMap<String, Vec<String>>;

impl Store {
    /// Adds a contact person to an existing enterprise (NOT_FOUND otherwise); a primary one becomes
    /// the enterprise's only primary contact. Idempotent on `request_id`.
    pub async fn create_contact_person(
        &self,
        enterprise_id: &str,
        fields: &ContactPersonFields,
        request_id: Option<&str>,
    ) -> Result<ContactPerson, ServiceError> {
        let fingerprint = fields.fingerprint(enterprise_id);
        self.get_enterprise(enterprise_id).await?;
        let id = new_id();
        let now = to_micros(tingjian_runtime::clock::now());
        let insert = async {
            let mut tx = self.db.begin().await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO contact_person (id, enterprise_id, name, phone, position, is_primary, request_id, \
                     request_fingerprint, create_time, update_time) VALUES ($1, $2, $3, $4, $5, FALSE, $6, $7, $8, $9)",
                )
                .bind(&id)
                .bind(enterprise_id)
                .bind(&fields.name)
                .bind(&fields.phone)
                .bind(&fields.position)
                .bind(request_id)
                .bind(&fingerprint)
                .bind(now)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            if fields.primary {
                demote_other_primaries(&mut tx, enterprise_id, &id, now).await?;
                on_tx!(&mut tx, conn => {
                    sqlx::query("UPDATE contact_person SET is_primary = TRUE WHERE id = $1")
                        .bind(&id)
                        .execute(&mut **conn)
                        .await
                        .map(|done| done.rows_affected())
                })?;
            }
            tx.commit().await?;
            self.get_contact_person(&id).await
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    match self.created_by_request("contact_person", &request_id, &fingerprint).await? {
                        Some(id) => self.get_contact_person(&id).await.map(Some),
                        None => Ok(None),
                    }
                }
            },
            insert,
            || ServiceError::Aborted("another primary contact was set at the same time; retry".into()),
        )
        .await
    }

    /// A contact person by id.
    pub async fn get_contact_person(&self, id: &str) -> Result<ContactPerson, ServiceError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM contact_person WHERE id = $1");
        let row: Option<ContactPersonRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        row.map(ContactPerson::from)
            .ok_or_else(|| ServiceError::NotFound { resource: "contact person", id: id.to_owned() })
    }

    /// An enterprise's contact people, primary first then by creation, at most `limit` after the
    /// (rank, id) cursor.
    pub async fn list_contact_persons(
        &self,
        enterprise_id: &str,
        limit: usize,
        after: Option<(i64, String)>,
    ) -> Result<Vec<ContactPerson>, ServiceError> {
        let mut c = Conditions::default();
        let e = c.arg(Arg::Text(enterprise_id.to_owned()));
        c.push(format!("enterprise_id = {e}"));
        if let Some((rank, id)) = after {
            c.after(PERSON_RANK, Arg::BigInt(rank), "id", &id, false);
        }
        let limit = c.arg(Arg::BigInt(i64::try_from(limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM contact_person{} ORDER BY {PERSON_RANK}, id LIMIT {limit}",
            c.where_sql()
        );
        let rows: Vec<ContactPersonRow> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as(&sql), c.args()).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(ContactPerson::from).collect())
    }

    /// Changes a contact person: `change` gets the current record and returns its new fields.
    pub async fn update_contact_person<F>(&self, id: &str, change: F) -> Result<ContactPerson, ServiceError>
    where
        F: Fn(&ContactPerson) -> Result<ContactPersonFields, ServiceError>,
    {
        let current = self.get_contact_person(id).await?;
        let fields = change(&current)?;
        if fields == current.fields {
            return Ok(current);
        }
        let now = to_micros(tingjian_runtime::clock::now()).max(current.update_time);
        let mut tx = self.db.begin().await?;
        let updated = on_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE contact_person SET name = $1, phone = $2, position = $3, is_primary = FALSE, update_time = $4 \
                 WHERE id = $5",
            )
            .bind(&fields.name)
            .bind(&fields.phone)
            .bind(&fields.position)
            .bind(now)
            .bind(id)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
        })?;
        if updated == 0 {
            return Err(ServiceError::NotFound { resource: "contact person", id: id.to_owned() });
        }
        if fields.primary {
            demote_other_primaries(&mut tx, &current.enterprise_id, id, now).await?;
            on_tx!(&mut tx, conn => {
                sqlx::query("UPDATE contact_person SET is_primary = TRUE WHERE id = $1").bind(id).execute(&mut **conn).await.map(|done| done.rows_affected())
            })?;
        }
        tx.commit().await?;
        self.get_contact_person(id).await
    }

    /// Erases a contact person (NOT_FOUND if unknown). Contacts keep the id alone.
    pub async fn delete_contact_person(&self, id: &str) -> Result<(), ServiceError> {
        let deleted = on_pool!(&self.db, pool => {
            sqlx::query("DELETE FROM contact_person WHERE id = $1").bind(id).execute(pool).await.map(|done| done.rows_affected())
        })?;
        if deleted == 0 {
            return Err(ServiceError::NotFound { resource: "contact person", id: id.to_owned() });
        }
        Ok(())
    }

    /// Which of `ids` are contact people of `enterprise_id`.
    pub async fn contact_persons_of(
        &self,
        enterprise_id: &str,
        ids: &[String],
    ) -> Result<HashSet<String>, ServiceError> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let sql = format!(
            "SELECT id FROM contact_person WHERE enterprise_id = $1 AND id IN ({})",
            placeholders(2, ids.len())
        );
        let found: Vec<String> = on_pool!(&self.db, pool => {
            let mut query = sqlx::query_scalar(&sql).bind(enterprise_id);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        Ok(found.into_iter().collect())
    }

    /// Logs a contact with `enterprise`, moves its last contact time forward if this one is later, and
    /// records ContactLogged, all in one transaction. Idempotent on `request_id`.
    pub async fn log_contact(
        &self,
        new: &NewContact,
        enterprise: &Enterprise,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Contact, ServiceError> {
        let id = new_id();
        let now = to_micros(tingjian_runtime::clock::now());
        let fingerprint = new.fingerprint();
        let insert = async {
            let payload = pb::ContactLogged {
                contact_id: id.clone(),
                enterprise_id: new.enterprise_id.clone(),
                channel: new.channel.as_i32(),
                contact_time: Some(timestamp(new.contact_time)),
                briefed_person_times: new.briefed_person_times,
                policies_briefed_count: i32::try_from(new.policies_briefed.len()).unwrap_or(i32::MAX),
                member_ids: new.member_ids.clone(),
                district: enterprise.fields.district.clone(),
                industry: enterprise.fields.industry.clone(),
                actor: actor.to_owned(),
            };
            let mut tx = self.db.begin().await?;
            let event = NewEvent::new(
                "contact_logged",
                format!("enterprises/{}", new.enterprise_id),
                "tingjian.intake.v1.ContactLogged",
                &payload,
            );
            events::record(&mut tx, SERVICE, event).await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO contact (id, enterprise_id, channel, contact_time, summary, briefed_person_times, \
                     request_id, request_fingerprint, created_by, create_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&id)
                .bind(&new.enterprise_id)
                .bind(new.channel.as_i32())
                .bind(new.contact_time)
                .bind(&new.summary)
                .bind(new.briefed_person_times)
                .bind(request_id)
                .bind(&fingerprint)
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            for (table, column, values) in [
                ("contact_member", "member_id", &new.member_ids),
                ("contact_participant", "contact_person_id", &new.contact_person_ids),
                ("contact_policy", "title", &new.policies_briefed),
            ] {
                let sql = format!("INSERT INTO {table} (contact_id, position, {column}) VALUES ($1, $2, $3)");
                for (position, value) in values.iter().enumerate() {
                    let position = i32::try_from(position).unwrap_or(i32::MAX);
                    on_tx!(&mut tx, conn => {
                        sqlx::query(&sql).bind(&id).bind(position).bind(value).execute(&mut **conn).await.map(|done| done.rows_affected())
                    })?;
                }
            }
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "UPDATE enterprise SET last_contact_time = $1 \
                     WHERE id = $2 AND (last_contact_time IS NULL OR last_contact_time < $1)",
                )
                .bind(new.contact_time)
                .bind(&new.enterprise_id)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            tx.commit().await?;
            self.get_contact(&id).await
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    match self.created_by_request("contact", &request_id, &fingerprint).await? {
                        Some(id) => self.get_contact(&id).await.map(Some),
                        None => Ok(None),
                    }
                }
            },
            insert,
            || ServiceError::internal("a contact insert collided without a request id"),
        )
        .await
    }

    /// A contact by id.
    pub async fn get_contact(&self, id: &str) -> Result<Contact, ServiceError> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contact WHERE id = $1");
        let row: Option<ContactRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        let row = row.ok_or_else(|| ServiceError::NotFound { resource: "contact", id: id.to_owned() })?;
        let mut contacts = self.contacts_with_children(vec![row]).await?;
        contacts.pop().ok_or_else(|| ServiceError::internal("a loaded contact disappeared"))
    }

    /// Contacts matching `filter`, newest first (contact time, then id, descending), at most `limit`
    /// after the (time, id) cursor.
    pub async fn list_contacts(
        &self,
        filter: &ContactFilter,
        limit: usize,
        after: Option<(DateTime<Utc>, String)>,
    ) -> Result<Vec<Contact>, ServiceError> {
        let mut c = Conditions::default();
        if let Some(enterprise_id) = &filter.enterprise_id {
            let p = c.arg(Arg::Text(enterprise_id.clone()));
            c.push(format!("c.enterprise_id = {p}"));
        }
        if let Some(member_id) = &filter.member_id {
            let p = c.arg(Arg::Text(member_id.clone()));
            c.push(format!("EXISTS (SELECT 1 FROM contact_member m WHERE m.contact_id = c.id AND m.member_id = {p})"));
        }
        if let Some(channel) = filter.channel {
            let p = c.arg(Arg::Int(channel.as_i32()));
            c.push(format!("c.channel = {p}"));
        }
        if let Some(start) = filter.start {
            let p = c.arg(Arg::Time(start));
            c.push(format!("c.contact_time >= {p}"));
        }
        if let Some(end) = filter.end {
            let p = c.arg(Arg::Time(end));
            c.push(format!("c.contact_time < {p}"));
        }
        if let Some((time, id)) = after {
            c.after("c.contact_time", Arg::Time(time), "c.id", &id, true);
        }
        let limit = c.arg(Arg::BigInt(i64::try_from(limit).unwrap_or(i64::MAX)));
        let columns = CONTACT_COLUMNS.split(", ").map(|col| format!("c.{col}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {columns} FROM contact c{} ORDER BY c.contact_time DESC, c.id DESC LIMIT {limit}",
            c.where_sql()
        );
        let rows: Vec<ContactRow> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as(&sql), c.args()).fetch_all(pool).await)?;
        self.contacts_with_children(rows).await
    }

    async fn child_values(&self, table: &str, column: &str, ids: &[String]) -> Result<Children, ServiceError> {
        let sql = format!(
            "SELECT contact_id, {column} FROM {table} WHERE contact_id IN ({}) ORDER BY contact_id, position",
            placeholders(1, ids.len())
        );
        let rows: Vec<(String, String)> = on_pool!(&self.db, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        let mut out = Children::new();
        for (contact_id, value) in rows {
            out.entry(contact_id).or_default().push(value);
        }
        Ok(out)
    }

    async fn contacts_with_children(&self, rows: Vec<ContactRow>) -> Result<Vec<Contact>, ServiceError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut members = self.child_values("contact_member", "member_id", &ids).await?;
        let mut persons = self.child_values("contact_participant", "contact_person_id", &ids).await?;
        let mut policies = self.child_values("contact_policy", "title", &ids).await?;
        let mut demands = self.demand_ids_by_origin(&ids).await?;
        rows.into_iter()
            .map(|row| {
                let channel = ContactChannel::from_i32(row.channel)
                    .ok_or_else(|| ServiceError::internal(format!("contact {} has channel {}", row.id, row.channel)))?;
                Ok(Contact {
                    fields: NewContact {
                        enterprise_id: row.enterprise_id,
                        channel,
                        contact_time: row.contact_time,
                        member_ids: members.remove(&row.id).unwrap_or_default(),
                        contact_person_ids: persons.remove(&row.id).unwrap_or_default(),
                        summary: row.summary,
                        policies_briefed: policies.remove(&row.id).unwrap_or_default(),
                        briefed_person_times: row.briefed_person_times,
                    },
                    created_by: row.created_by,
                    create_time: row.create_time,
                    demand_ids: demands.remove(&row.id).unwrap_or_default(),
                    id: row.id,
                })
            })
            .collect()
    }
}
