//! The intake store: the service's own tables, on SQLite or PostgreSQL through the same queries. One
//! file per area; this one holds the query helpers they share (bind values, WHERE clauses, request-id
//! lookups, revision bumps).

/// Binds every [`Arg`] of a list to a sqlx query (`query`, `query_as` or `query_scalar`, on either
/// backend), in order.
macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::store::Arg::Text(v) => query.bind(v.as_str()),
                $crate::store::Arg::Int(v) => query.bind(*v),
                $crate::store::Arg::BigInt(v) => query.bind(*v),
                $crate::store::Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

mod campaign;
mod clustering;
mod common_issue;
mod contact;
mod demand;
mod enterprise;
mod reference;
mod roundtable;
mod similarity;

pub use similarity::{IndexedDemand, IndexedIssue};

use chrono::{DateTime, Utc};
use tingjian_runtime::storage::Tx;
use tingjian_runtime::{Database, ServiceError, on_pool, on_tx};

/// The service name events are recorded under.
const SERVICE: &str = "intake";
/// How often an optimistic update is tried before giving up with ABORTED.
const UPDATE_ATTEMPTS: usize = 5;

/// Reads and writes the intake tables.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
}

impl Store {
    /// A store on `db` (already migrated).
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    /// The id of the row of `table` that `request_id` created, with what `column` kept of that request
    /// (its fingerprint), if any row was.
    async fn created_with(
        &self,
        table: &str,
        column: &str,
        request_id: &str,
    ) -> Result<Option<(String, Option<String>)>, ServiceError> {
        let sql = format!("SELECT id, {column} FROM {table} WHERE request_id = $1");
        Ok(on_pool!(&self.db, pool => sqlx::query_as(&sql).bind(request_id).fetch_optional(pool).await)?)
    }
}

/// Bumps the revision of row `id` of `table` (locking it) at `now`; whether the row exists.
async fn bump_version(tx: &mut Tx, table: &str, id: &str, now: DateTime<Utc>) -> Result<bool, ServiceError> {
    let sql = format!("UPDATE {table} SET version = version + 1, update_time = $2 WHERE id = $1");
    let changed = on_tx!(tx, conn => {
        sqlx::query(&sql).bind(id).bind(now).execute(&mut **conn).await.map(|done| done.rows_affected())
    })?;
    Ok(changed > 0)
}

/// A value bound to a query assembled at run time.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i32),
    BigInt(i64),
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

    /// Adds the keyset condition "strictly after (`key`, `id`)" for an order by `key_sql`, `id_sql`
    /// ascending (or descending when `descending`).
    fn after(&mut self, key_sql: &str, key: Arg, id_sql: &str, id: &str, descending: bool) {
        let op = if descending { "<" } else { ">" };
        let k = self.arg(key);
        let i = self.arg(Arg::Text(id.to_owned()));
        self.push(format!("({key_sql} {op} {k} OR ({key_sql} = {k} AND {id_sql} {op} {i}))"));
    }

    /// ` WHERE …` (or nothing).
    fn where_sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!(" WHERE {}", self.clauses.join(" AND ")) }
    }

    /// Binds each of `args`; their placeholders, comma-separated.
    fn placeholders(&mut self, args: impl IntoIterator<Item = Arg>) -> String {
        args.into_iter().map(|a| self.arg(a)).collect::<Vec<_>>().join(", ")
    }

    /// The bind values, in placeholder order.
    fn args(&self) -> &[Arg] {
        &self.args
    }
}

/// `$from, $from+1, …` for `n` values bound from position `from`.
fn placeholders(from: usize, n: usize) -> String {
    (from..from + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}
