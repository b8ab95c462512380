//! The consultation store: the service's own tables, on SQLite or PostgreSQL through the same queries.
//! One file per area.

mod plan;

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
