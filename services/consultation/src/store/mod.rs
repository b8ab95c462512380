//! The consultation store: the service's own tables, on SQLite or PostgreSQL through the same queries.
//! One file per area.

mod expert;
mod invitation;
mod plan;
mod report;
mod session;
mod suggestion;
mod team;
mod topic;

use tingjian_runtime::{Database, ServiceError, on_pool};

/// Reads and writes the consultation tables.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

impl Store {
    /// A store on `db` (already migrated).
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The id of the `table` row created for the client's `request_id`, `None` when there is none. The
    /// same request id used for a different request (another `fingerprint`) is ALREADY_EXISTS, saying it
    /// was already used to `action` (e.g. "create topic") that row.
    async fn created_for_request(
        &self,
        table: &'static str,
        action: &str,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<String>, ServiceError> {
        let sql = format!("SELECT id, request_payload FROM {table} WHERE request_id = $1");
        let found: Option<(String, Option<String>)> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(request_id).fetch_optional(pool).await
        })?;
        match found {
            None => Ok(None),
            Some((id, payload)) if payload.as_deref() == Some(fingerprint) => Ok(Some(id)),
            Some((id, _)) => Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id} was already used to {action} {id} from a different request"
            ))),
        }
    }
}
