//! The supervision store: the service's own tables, on SQLite or PostgreSQL through the same queries.
//! One file per area; this one holds what they share (bind values, WHERE clauses, the clock).

/// Binds every [`Arg`] of a list to a sqlx query (`query`, `query_as` or `query_scalar`, on either
/// backend), in order.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::store::Arg::Text(v) => query.bind(v.as_str()),
                $crate::store::Arg::Int(v) => query.bind(*v),
                $crate::store::Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

mod benefit;
mod calendar;
mod case;
mod follow_up;
mod inspection;
mod item;
mod lifecycle;
mod rectification;
mod sweep;
mod write;

pub use case::Actor;
pub use follow_up::FollowUpSweep;
pub use item::{cursor_text, parse_cursor};
pub use rectification::RectificationSweep;
use std::sync::Arc;
pub use sweep::{DeadlineSweep, SweepKind, SweepReport};
pub use write::SYSTEM_ACTOR;

use chrono::{DateTime, Utc};
use tingjian_runtime::clock::Clock;
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::settings::SupervisionSettings;
use tingjian_runtime::{Database, ServiceError};

/// The service name events are recorded under.
const SERVICE: &str = "supervision";

/// Reads and writes the supervision tables.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    clock: Clock,
    settings: Arc<SupervisionSettings>,
}

impl Store {
    /// A store on `db` (already migrated), on the system clock with the default settings.
    pub fn new(db: Database) -> Self {
        Self::with(db, Clock::system(), SupervisionSettings::default())
    }

    /// A store on `db` reading `clock`, with `settings` for its sweeps.
    pub fn with(db: Database, clock: Clock, settings: SupervisionSettings) -> Self {
        Self { db, clock, settings: Arc::new(settings) }
    }

    /// The current instant, at the precision both backends store.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The clock the store reads.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The sweep and escalation settings.
    pub fn settings(&self) -> &SupervisionSettings {
        &self.settings
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }
}

/// A value bound to a query assembled at run time.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i32),
    Time(DateTime<Utc>),
}

/// The WHERE clause of a query being assembled, with its bind values (`$1`, `$2`… in order, which
/// both backends number the same way).
#[derive(Debug, Default)]
struct Conditions {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    /// Binds `arg` and returns its placeholder.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Adds a clause (ANDed with the others).
    fn push(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// ` WHERE …` (or nothing).
    fn where_sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!(" WHERE {}", self.clauses.join(" AND ")) }
    }

    /// Binds each of `args`; their placeholders, comma-separated.
    fn placeholders(&mut self, args: impl IntoIterator<Item = Arg>) -> String {
        args.into_iter().map(|a| self.arg(a)).collect::<Vec<_>>().join(", ")
    }

    /// The keyset clause of a list ordered by (`time_column`, `id_column`): the rows after the (time, id)
    /// key of `page`'s cursor, if any; `newest_first` for a list in descending order.
    fn after_time_and_id(
        &mut self,
        page: &PageRequest,
        time_column: &str,
        id_column: &str,
        newest_first: bool,
    ) -> Result<(), ServiceError> {
        if let Some(after) = &page.after {
            let time = PageRequest::time_key(after, 0)?;
            let id = PageRequest::text_key(after, 1)?;
            let (pt, pi) = (self.arg(Arg::Time(time)), self.arg(Arg::Text(id)));
            let op = if newest_first { "<" } else { ">" };
            self.push(format!("({time_column} {op} {pt} OR ({time_column} = {pt} AND {id_column} {op} {pi}))"));
        }
        Ok(())
    }

    /// The bind values, in placeholder order.
    fn args(&self) -> &[Arg] {
        &self.args
    }
}
