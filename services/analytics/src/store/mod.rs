//! The analytics store: the retained event history, the facts merged from it, each entity's
//! contribution and the rollups the figures are read from, on SQLite or PostgreSQL.
//!
//! [`ingest`] merges one event (from the consumer, or replayed by [`rebuild`]); [`query`] and
//! [`profile`] read the figures.

pub mod ingest;
pub mod profile;
pub mod query;
pub mod rebuild;

use tingjian_runtime::Database;
use tingjian_runtime::clock::Clock;

/// Reads and writes the analytics tables.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    clock: Clock,
}

impl Store {
    /// A store on `db` (already migrated), on the system clock.
    pub fn new(db: Database) -> Self {
        Self::with(db, Clock::system())
    }

    /// A store on `db` reading `clock`.
    pub fn with(db: Database, clock: Clock) -> Self {
        Self { db, clock }
    }

    /// The database.
    pub fn db(&self) -> &Database {
        &self.db
    }

    /// The current instant.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}
