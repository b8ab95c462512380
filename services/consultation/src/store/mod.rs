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

use tingjian_runtime::Database;

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
}
