//! The supervision store: the service's own tables, on SQLite or PostgreSQL through the same queries.

use chrono::{DateTime, Utc};
use tingjian_runtime::{Database, ServiceError, on_pool};

use crate::domain::{Case, CaseStatus};

/// Reads and writes the supervision tables.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

#[derive(sqlx::FromRow)]
struct CaseRow {
    id: String,
    title: String,
    description: String,
    status: i32,
    lead_unit: String,
    dispatch_time: DateTime<Utc>,
    deadline_time: DateTime<Utc>,
    version: i64,
    dispatched_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

impl TryFrom<CaseRow> for Case {
    type Error = ServiceError;

    fn try_from(row: CaseRow) -> Result<Self, Self::Error> {
        let status = CaseStatus::from_i32(row.status).ok_or_else(|| {
            ServiceError::internal(format!("stored case {} has unknown status {}", row.id, row.status))
        })?;
        Ok(Case {
            id: row.id,
            title: row.title,
            description: row.description,
            status,
            lead_unit: row.lead_unit,
            dispatch_time: row.dispatch_time,
            deadline_time: row.deadline_time,
            version: row.version,
            dispatched_by: row.dispatched_by,
            create_time: row.create_time,
            update_time: row.update_time,
        })
    }
}

impl Store {
    /// A store on `db` (already migrated).
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// A case by id.
    pub async fn get_case(&self, id: &str) -> Result<Case, ServiceError> {
        let row: Option<CaseRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT id, title, description, status, lead_unit, dispatch_time, deadline_time, version, \
                 dispatched_by, create_time, update_time FROM supervision_case WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(pool)
            .await
        })?;
        row.ok_or_else(|| ServiceError::NotFound { resource: "case", id: id.to_owned() })?.try_into()
    }
}
