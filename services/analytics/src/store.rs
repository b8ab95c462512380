//! The analytics store: the rollups kept from every service's events, on SQLite or PostgreSQL.

use tingjian_runtime::Database;

/// Reads and writes the analytics tables.
#[derive(Debug, Clone)]
pub struct Store {
    #[allow(dead_code)]
    db: Database,
}

impl Store {
    /// A store on `db` (already migrated).
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}
