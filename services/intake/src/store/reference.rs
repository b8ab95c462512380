//! Reference data in the intake store: districts, industries and demand categories.

use chrono::{DateTime, Utc};
use tingjian_runtime::storage::create_once;
use tingjian_runtime::{ServiceError, on_pool};

use super::{Arg, Conditions, Store};
use crate::domain::{NewReferenceItem, ReferenceCatalog, ReferenceChange, ReferenceItem, ReferenceKind, to_micros};

#[derive(sqlx::FromRow)]
struct ReferenceRow {
    kind: i32,
    code: String,
    name: String,
    name_en: String,
    active: bool,
    sort_order: i32,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

impl TryFrom<ReferenceRow> for ReferenceItem {
    type Error = ServiceError;

    fn try_from(row: ReferenceRow) -> Result<Self, Self::Error> {
        let kind = ReferenceKind::from_i32(row.kind)
            .ok_or_else(|| ServiceError::internal(format!("reference item {} has kind {}", row.code, row.kind)))?;
        Ok(Self {
            kind,
            code: row.code,
            name: row.name,
            name_en: row.name_en,
            active: row.active,
            sort_order: row.sort_order,
            create_time: row.create_time,
            update_time: row.update_time,
        })
    }
}

const REFERENCE_COLUMNS: &str = "kind, code, name, name_en, active, sort_order, create_time, update_time";

impl Store {
    /// Every item (active or not) of `kinds`, to resolve codes and display names.
    pub async fn reference_catalog(&self, kinds: &[ReferenceKind]) -> Result<ReferenceCatalog, ServiceError> {
        let mut c = Conditions::default();
        let list = kinds.iter().map(|k| c.arg(Arg::Int(k.as_i32()))).collect::<Vec<_>>().join(", ");
        c.push(format!("kind IN ({list})"));
        let sql =
            format!("SELECT {REFERENCE_COLUMNS} FROM reference_item{} ORDER BY kind, sort_order, code", c.where_sql());
        let rows: Vec<ReferenceRow> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as(&sql), c.args()).fetch_all(pool).await)?;
        Ok(ReferenceCatalog::new(rows.into_iter().map(ReferenceItem::try_from).collect::<Result<_, _>>()?))
    }

    /// Items of `kind` (only active ones unless `include_inactive`) by sort order then code, at most
    /// `limit` after the (sort order, code) cursor.
    pub async fn list_reference_items(
        &self,
        kind: ReferenceKind,
        include_inactive: bool,
        limit: usize,
        after: Option<(i32, String)>,
    ) -> Result<Vec<ReferenceItem>, ServiceError> {
        let mut c = Conditions::default();
        let k = c.arg(Arg::Int(kind.as_i32()));
        c.push(format!("kind = {k}"));
        if !include_inactive {
            c.push("active = TRUE");
        }
        if let Some((sort_order, code)) = after {
            c.after("sort_order", Arg::Int(sort_order), "code", &code, false);
        }
        let limit = c.arg(Arg::BigInt(i64::try_from(limit).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT {REFERENCE_COLUMNS} FROM reference_item{} ORDER BY sort_order, code LIMIT {limit}",
            c.where_sql()
        );
        let rows: Vec<ReferenceRow> =
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as(&sql), c.args()).fetch_all(pool).await)?;
        rows.into_iter().map(ReferenceItem::try_from).collect()
    }

    /// A reference item by kind and code.
    pub async fn get_reference_item(&self, kind: ReferenceKind, code: &str) -> Result<ReferenceItem, ServiceError> {
        let sql = format!("SELECT {REFERENCE_COLUMNS} FROM reference_item WHERE kind = $1 AND code = $2");
        let row: Option<ReferenceRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(kind.as_i32()).bind(code).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| ServiceError::NotFound { resource: "reference item", id: format!("{}/{code}", kind.noun()) })?
            .try_into()
    }

    /// Why creating or renaming an item of `kind` to `code`/`name` collides with an existing item.
    async fn reference_conflict(&self, kind: ReferenceKind, code: &str, name: &str) -> ServiceError {
        let taken: Result<Option<String>, sqlx::Error> = on_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT code FROM reference_item WHERE kind = $1 AND name = $2 AND code <> $3")
                .bind(kind.as_i32())
                .bind(name)
                .bind(code)
                .fetch_optional(pool)
                .await
        });
        match taken {
            Ok(Some(other)) => {
                ServiceError::AlreadyExists(format!("the {} {other} is already named {name:?}", kind.noun()))
            }
            _ => ServiceError::AlreadyExists(format!("a {} with code {code} already exists", kind.noun())),
        }
    }

    /// Adds an active item. A code or display name already used in its kind is ALREADY_EXISTS; a
    /// repeated `request_id` returns the item the first call created (ALREADY_EXISTS if it asked for
    /// another).
    pub async fn create_reference_item(
        &self,
        new: &NewReferenceItem,
        request_id: Option<&str>,
    ) -> Result<ReferenceItem, ServiceError> {
        let now = to_micros(tingjian_runtime::clock::now());
        let fingerprint = new.fingerprint();
        let insert = async {
            on_pool!(&self.db, pool => {
                sqlx::query(
                    "INSERT INTO reference_item (kind, code, name, name_en, active, sort_order, request_id, \
                     request_fingerprint, create_time, update_time) VALUES ($1, $2, $3, $4, TRUE, $5, $6, $7, $8, $9)",
                )
                .bind(new.kind.as_i32())
                .bind(new.code.as_str())
                .bind(&new.name)
                .bind(&new.name_en)
                .bind(new.sort_order)
                .bind(request_id)
                .bind(&fingerprint)
                .bind(now)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            })?;
            self.get_reference_item(new.kind, new.code.as_str()).await
        };
        let created = create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move { self.reference_item_by_request(&request_id, &fingerprint).await }
            },
            insert,
            || ServiceError::AlreadyExists(String::new()),
        )
        .await;
        match created {
            Err(ServiceError::AlreadyExists(m)) if m.is_empty() => {
                Err(self.reference_conflict(new.kind, new.code.as_str(), &new.name).await)
            }
            other => other,
        }
    }

    async fn reference_item_by_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<ReferenceItem>, ServiceError> {
        let row: Option<(i32, String, Option<String>)> = on_pool!(&self.db, pool => {
            sqlx::query_as("SELECT kind, code, request_fingerprint FROM reference_item WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(pool)
                .await
        })?;
        match row {
            None => Ok(None),
            Some((kind, code, stored)) if stored.as_deref().is_none_or(|s| s == fingerprint) => {
                let kind = ReferenceKind::from_i32(kind)
                    .ok_or_else(|| ServiceError::internal(format!("reference item {code} has kind {kind}")))?;
                self.get_reference_item(kind, &code).await.map(Some)
            }
            Some(_) => Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id:?} was already used to create a different reference item; use a new request id"
            ))),
        }
    }

    /// Applies `change` to the item of `kind` and `code`. Unknown items are NOT_FOUND; a display name
    /// already used in the kind is ALREADY_EXISTS.
    pub async fn update_reference_item(
        &self,
        kind: ReferenceKind,
        code: &str,
        change: &ReferenceChange,
    ) -> Result<ReferenceItem, ServiceError> {
        let current = self.get_reference_item(kind, code).await?;
        let now = to_micros(tingjian_runtime::clock::now()).max(current.update_time);
        let updated = on_pool!(&self.db, pool => {
            sqlx::query(
                "UPDATE reference_item SET name = COALESCE($1, name), name_en = COALESCE($2, name_en), \
                 active = COALESCE($3, active), sort_order = COALESCE($4, sort_order), update_time = $5 \
                 WHERE kind = $6 AND code = $7",
            )
            .bind(change.name.as_deref())
            .bind(change.name_en.as_deref())
            .bind(change.active)
            .bind(change.sort_order)
            .bind(now)
            .bind(kind.as_i32())
            .bind(code)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        });
        match updated.map_err(ServiceError::from) {
            Ok(1) => {}
            Ok(_) => {
                return Err(ServiceError::NotFound {
                    resource: "reference item",
                    id: format!("{}/{code}", kind.noun()),
                });
            }
            Err(ServiceError::AlreadyExists(_)) => {
                return Err(self.reference_conflict(kind, code, change.name.as_deref().unwrap_or_default()).await);
            }
            Err(other) => return Err(other),
        }
        self.get_reference_item(kind, code).await
    }
}
