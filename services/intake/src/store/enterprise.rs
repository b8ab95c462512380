//! Enterprises in the intake store, and what the other areas share from it (the service name, update
//! attempts, the request-id lookup of idempotent creates). The query helpers are in the store module.
//!
//! Every write is one transaction that records its event in the outbox with the change. On SQLite each
//! write transaction starts with a write, so it takes the database's write lock before it reads and
//! never fails to upgrade a stale read; updates are optimistic on `version` and retried when another
//! change won.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::storage::create_once;
use tingjian_runtime::wire::new_id;
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::{Arg, Conditions, SERVICE, Store, UPDATE_ATTEMPTS, placeholders};
use crate::domain::{CreditCode, Enterprise, EnterpriseFilter, EnterpriseSize, NewEnterprise, OverdueQuery, to_micros};

#[derive(sqlx::FromRow)]
struct EnterpriseRow {
    id: String,
    name: String,
    credit_code: String,
    district: String,
    industry: String,
    size: i32,
    monitoring_point: bool,
    description: String,
    address: String,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
    last_contact_time: Option<DateTime<Utc>>,
}

impl TryFrom<EnterpriseRow> for Enterprise {
    type Error = ServiceError;

    fn try_from(row: EnterpriseRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str| ServiceError::internal(format!("stored enterprise {} has a bad {what}", row.id));
        let size = match row.size {
            0 => None,
            n => Some(EnterpriseSize::from_i32(n).ok_or_else(|| corrupt("size"))?),
        };
        Ok(Enterprise {
            fields: NewEnterprise {
                name: row.name,
                credit_code: CreditCode::parse(&row.credit_code).map_err(|_| corrupt("credit code"))?,
                district: row.district,
                industry: row.industry,
                size,
                monitoring_point: row.monitoring_point,
                description: row.description,
                address: row.address,
            },
            version: row.version,
            created_by: row.created_by,
            id: row.id,
            create_time: row.create_time,
            update_time: row.update_time,
            last_contact_time: row.last_contact_time,
        })
    }
}

const ENTERPRISE_COLUMNS: &str = "id, name, credit_code, district, industry, size, monitoring_point, description, \
     address, version, created_by, create_time, update_time, last_contact_time";

/// When an enterprise was last contacted, or registered if never: the overdue order.
const CONTACT_DUE: &str = "COALESCE(last_contact_time, create_time)";

fn subject(id: &str) -> String {
    format!("enterprises/{id}")
}

fn taken(code: &CreditCode) -> ServiceError {
    ServiceError::AlreadyExists(format!("an enterprise with credit code {code} is already registered"))
}

impl Store {
    /// Registers an enterprise and records EnterpriseRegistered in the same transaction. A repeated
    /// `request_id` with the same payload returns the enterprise the first call registered; with
    /// another payload it is ALREADY_EXISTS, as is a credit code already registered.
    pub async fn create_enterprise(
        &self,
        new: &NewEnterprise,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Enterprise, ServiceError> {
        let id = new_id();
        let now = to_micros(tingjian_runtime::clock::now());
        let fingerprint = new.fingerprint();
        let insert = async {
            let payload = pb::EnterpriseRegistered {
                enterprise_id: id.clone(),
                name: new.name.clone(),
                district: new.district.clone(),
                industry: new.industry.clone(),
                size: EnterpriseSize::optional_to_i32(new.size),
                monitoring_point: new.monitoring_point,
                actor: actor.to_owned(),
            };
            let mut tx = self.db.begin().await?;
            // The event first: if the insert is then refused, the rollback takes the event with it.
            let event = NewEvent::new(
                "enterprise_registered",
                subject(&id),
                "tingjian.intake.v1.EnterpriseRegistered",
                &payload,
            );
            events::record(&mut tx, SERVICE, event).await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO enterprise (id, name, credit_code, district, industry, size, monitoring_point, \
                     description, address, request_id, request_fingerprint, created_by, create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&id)
                .bind(&new.name)
                .bind(new.credit_code.as_str())
                .bind(&new.district)
                .bind(&new.industry)
                .bind(EnterpriseSize::optional_to_i32(new.size))
                .bind(new.monitoring_point)
                .bind(&new.description)
                .bind(&new.address)
                .bind(request_id)
                .bind(&fingerprint)
                .bind(actor)
                .bind(now)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            tx.commit().await?;
            self.get_enterprise(&id).await
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move { self.enterprise_by_request(&request_id, &fingerprint).await }
            },
            insert,
            || taken(&new.credit_code),
        )
        .await
    }

    async fn enterprise_by_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<Enterprise>, ServiceError> {
        match self.created_by_request("enterprise", request_id, fingerprint).await? {
            Some(id) => self.get_enterprise(&id).await.map(Some),
            None => Ok(None),
        }
    }

    /// The id of the row of `table` a request id created, if any; ALREADY_EXISTS when that request
    /// asked for something else (its stored fingerprint differs).
    pub(super) async fn created_by_request(
        &self,
        table: &'static str,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<String>, ServiceError> {
        match self.created_with(table, "request_fingerprint", request_id).await? {
            None => Ok(None),
            // Rows created before fingerprints were kept match any payload.
            Some((id, stored)) if stored.as_deref().is_none_or(|s| s == fingerprint) => Ok(Some(id)),
            Some(_) => Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id:?} was already used to create a different {}; use a new request id",
                table.replace('_', " ")
            ))),
        }
    }

    /// An enterprise by id.
    pub async fn get_enterprise(&self, id: &str) -> Result<Enterprise, ServiceError> {
        let sql = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprise WHERE id = $1");
        let row: Option<EnterpriseRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| ServiceError::NotFound { resource: "enterprise", id: id.to_owned() })?.try_into()
    }

    /// The enterprises among `ids` that exist, by id.
    pub async fn enterprises_by_id(&self, ids: &[String]) -> Result<HashMap<String, Enterprise>, ServiceError> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let sql = format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprise WHERE id IN ({})", placeholders(1, ids.len()));
        let rows: Vec<EnterpriseRow> = on_pool!(&self.db, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in ids {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        rows.into_iter().map(|row| Enterprise::try_from(row).map(|e| (e.id.clone(), e))).collect()
    }

    /// Changes an enterprise: `change` gets the current record and returns its new fields with the
    /// paths that changed (nothing to do when empty), or an error (e.g. ABORTED for a stale etag). The
    /// update and its EnterpriseUpdated event commit together; if another change won meanwhile, the
    /// whole step is tried again on the new record.
    pub async fn update_enterprise<F>(&self, id: &str, actor: &str, change: F) -> Result<Enterprise, ServiceError>
    where
        F: Fn(&Enterprise) -> Result<(NewEnterprise, Vec<&'static str>), ServiceError>,
    {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.get_enterprise(id).await?;
            let (fields, changed) = change(&current)?;
            if changed.is_empty() {
                return Ok(current);
            }
            let now = to_micros(tingjian_runtime::clock::now()).max(current.update_time);
            let mut tx = self.db.begin().await?;
            let updated = on_tx!(&mut tx, conn => {
                sqlx::query(
                    "UPDATE enterprise SET name = $1, credit_code = $2, district = $3, industry = $4, size = $5, \
                     monitoring_point = $6, description = $7, address = $8, version = version + 1, \
                     update_time = $9 WHERE id = $10 AND version = $11",
                )
                .bind(&fields.name)
                .bind(fields.credit_code.as_str())
                .bind(&fields.district)
                .bind(&fields.industry)
                .bind(EnterpriseSize::optional_to_i32(fields.size))
                .bind(fields.monitoring_point)
                .bind(&fields.description)
                .bind(&fields.address)
                .bind(now)
                .bind(id)
                .bind(current.version)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            });
            let updated = match updated {
                Ok(n) => n,
                Err(e) => {
                    return Err(match ServiceError::from(e) {
                        ServiceError::AlreadyExists(_) => taken(&fields.credit_code),
                        other => other,
                    });
                }
            };
            if updated == 0 {
                tx.rollback().await?;
                continue;
            }
            let payload = pb::EnterpriseUpdated {
                enterprise_id: id.to_owned(),
                name: fields.name.clone(),
                district: fields.district.clone(),
                industry: fields.industry.clone(),
                size: EnterpriseSize::optional_to_i32(fields.size),
                monitoring_point: fields.monitoring_point,
                changed_fields: changed.iter().map(|p| (*p).to_owned()).collect(),
                actor: actor.to_owned(),
            };
            let event =
                NewEvent::new("enterprise_updated", subject(id), "tingjian.intake.v1.EnterpriseUpdated", &payload);
            events::record(&mut tx, SERVICE, event).await?;
            tx.commit().await?;
            return self.get_enterprise(id).await;
        }
        Err(ServiceError::Aborted(format!("enterprise {id} kept changing concurrently; re-read it and retry")))
    }

    fn enterprise_conditions(filter: &EnterpriseFilter) -> Conditions {
        let mut c = Conditions::default();
        if let Some(district) = &filter.district {
            let p = c.arg(Arg::Text(district.clone()));
            c.push(format!("district = {p}"));
        }
        if let Some(industry) = &filter.industry {
            let p = c.arg(Arg::Text(industry.clone()));
            c.push(format!("industry = {p}"));
        }
        if filter.monitoring_points_only {
            c.push("monitoring_point = TRUE");
        }
        if let Some(query) = &filter.name_query {
            let escaped = query.to_ascii_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let p = c.arg(Arg::Text(format!("%{escaped}%")));
            c.push(format!("lower(name) LIKE {p} ESCAPE '\\'"));
        }
        if let Some(size) = filter.size {
            let p = c.arg(Arg::Int(size.as_i32()));
            c.push(format!("size = {p}"));
        }
        c
    }

    async fn count(&self, sql: &str, args: &[Arg]) -> Result<i64, ServiceError> {
        let (n,): (i64,) = on_pool!(&self.db, pool => bind_all!(sqlx::query_as(sql), args).fetch_one(pool).await)?;
        Ok(n)
    }

    async fn enterprises_where(&self, sql: &str, args: &[Arg]) -> Result<Vec<Enterprise>, ServiceError> {
        let rows: Vec<EnterpriseRow> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as(sql), args).fetch_all(pool).await)?;
        rows.into_iter().map(Enterprise::try_from).collect()
    }

    /// Enterprises matching `filter`, ordered by name then id, at most `limit` after the (name, id)
    /// cursor; and how many match in all.
    pub async fn list_enterprises(
        &self,
        filter: &EnterpriseFilter,
        limit: usize,
        after: Option<(String, String)>,
    ) -> Result<(Vec<Enterprise>, i64), ServiceError> {
        let mut c = Self::enterprise_conditions(filter);
        let total = self.count(&format!("SELECT COUNT(*) FROM enterprise{}", c.where_sql()), c.args()).await?;
        if let Some((name, id)) = after {
            c.after("name", Arg::Text(name), "id", &id, false);
        }
        let limit = c.arg(Arg::BigInt(i64::try_from(limit).unwrap_or(i64::MAX)));
        let sql =
            format!("SELECT {ENTERPRISE_COLUMNS} FROM enterprise{} ORDER BY name, id LIMIT {limit}", c.where_sql());
        Ok((self.enterprises_where(&sql, c.args()).await?, total))
    }

    /// Enterprises of `query` whose latest contact (or registration, if never contacted) is before
    /// `cutoff`, longest overdue first, at most `limit` after the (time, id) cursor; and how many in all.
    pub async fn list_overdue_enterprises(
        &self,
        query: &OverdueQuery,
        cutoff: DateTime<Utc>,
        limit: usize,
        after: Option<(DateTime<Utc>, String)>,
    ) -> Result<(Vec<Enterprise>, i64), ServiceError> {
        let mut c = Self::enterprise_conditions(&query.enterprises);
        let p = c.arg(Arg::Time(cutoff));
        c.push(format!("{CONTACT_DUE} < {p}"));
        let total = self.count(&format!("SELECT COUNT(*) FROM enterprise{}", c.where_sql()), c.args()).await?;
        if let Some((time, id)) = after {
            c.after(CONTACT_DUE, Arg::Time(time), "id", &id, false);
        }
        let limit = c.arg(Arg::BigInt(i64::try_from(limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {ENTERPRISE_COLUMNS} FROM enterprise{} ORDER BY {CONTACT_DUE}, id LIMIT {limit}",
            c.where_sql()
        );
        Ok((self.enterprises_where(&sql, c.args()).await?, total))
    }
}
