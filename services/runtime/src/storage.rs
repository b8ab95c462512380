//! Storage on SQLite (the embedded default) or PostgreSQL (production), behind one type.
//!
//! A service writes its queries once against [`Database`] with the [`on_pool!`](crate::on_pool)
//! macro, which runs the same generic sqlx code on whichever pool is configured; where the dialects
//! differ it matches on [`Backend`]. Each service embeds two migration folders (one per backend),
//! applied at start and by `tingjian migrate`. On PostgreSQL each service owns a schema (default: its
//! name), so the four services can share one database without sharing tables.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, Executor, PgPool, SqlitePool};

use crate::error::ServiceError;
use crate::settings::DatabaseSettings;

/// Which database engine a [`Database`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite file (embedded mode).
    Sqlite,
    /// PostgreSQL server (production).
    Postgres,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        })
    }
}

/// A service's connection pool.
#[derive(Debug, Clone)]
pub enum Database {
    /// A pool of SQLite connections to one file.
    Sqlite(SqlitePool),
    /// A pool of PostgreSQL connections whose `search_path` is the service's schema.
    Postgres(PgPool),
}

/// The migrations of one service, one set per backend, embedded in the binary with
/// `sqlx::migrate!`.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// Migrations for SQLite.
    pub sqlite: &'static Migrator,
    /// Migrations for PostgreSQL.
    pub postgres: &'static Migrator,
}

/// Runs the same generic sqlx code on whichever pool a [`Database`] holds.
///
/// ```ignore
/// let n: i64 = on_pool!(&db, pool => sqlx::query_scalar("SELECT count(*) FROM enterprise").fetch_one(pool).await)?;
/// ```
#[macro_export]
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::storage::Database::Sqlite($pool) => $body,
            $crate::storage::Database::Postgres($pool) => $body,
        }
    };
}

/// A transaction on a [`Database`]: a service's change and the events it reports commit together.
#[derive(Debug)]
pub enum Tx {
    /// A SQLite transaction.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// A PostgreSQL transaction.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

/// Runs the same generic sqlx code on whichever transaction a [`Tx`] holds; `$conn` is the
/// transaction's connection (`&mut *conn` is an executor).
///
/// ```ignore
/// on_tx!(&mut tx, conn => sqlx::query("UPDATE demand SET status = $1 WHERE id = $2").bind(s).bind(id).execute(&mut **conn).await)?;
/// ```
#[macro_export]
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::storage::Tx::Sqlite($conn) => $body,
            $crate::storage::Tx::Postgres($conn) => $body,
        }
    };
}

impl Tx {
    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Makes every change of the transaction durable at once.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.commit().await,
            Self::Postgres(tx) => tx.commit().await,
        }
    }

    /// Discards every change of the transaction.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await,
            Self::Postgres(tx) => tx.rollback().await,
        }
    }
}

/// A database that could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The URL is neither `sqlite:` nor `postgres:`.
    #[error("unsupported database URL scheme (expected sqlite:// or postgres://)")]
    UnsupportedUrl,
    /// Connecting failed.
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        /// Which backend.
        backend: Backend,
        /// The cause.
        #[source]
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("migrating the {backend} database failed: {source}")]
    Migrate {
        /// Which backend.
        backend: Backend,
        /// The cause.
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// A data directory could not be created.
    #[error("cannot create {path}: {source}")]
    Directory {
        /// The directory.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl Database {
    /// Opens the database of `settings`; on PostgreSQL the schema is `settings.schema`, or
    /// `default_schema` when unset, created if missing.
    pub async fn connect(settings: &DatabaseSettings, default_schema: &str) -> Result<Self, StorageError> {
        let url = settings.url.expose();
        if url.starts_with("sqlite:") {
            Self::connect_sqlite(url, settings.max_connections, settings.connect_timeout).await
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let schema = settings.schema.as_deref().unwrap_or(default_schema);
            Self::connect_postgres(url, schema, settings.max_connections, settings.connect_timeout).await
        } else {
            Err(StorageError::UnsupportedUrl)
        }
    }

    async fn connect_sqlite(url: &str, max: u32, timeout: Duration) -> Result<Self, StorageError> {
        let err = |source| StorageError::Connect { backend: Backend::Sqlite, source };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(err)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        if let Some(parent) = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|source| StorageError::Directory { path: parent.display().to_string(), source })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .min_connections(0)
            .acquire_timeout(timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_with(options)
            .await
            .map_err(err)?;
        Ok(Self::Sqlite(pool))
    }

    async fn connect_postgres(url: &str, schema: &str, max: u32, timeout: Duration) -> Result<Self, StorageError> {
        let err = |source| StorageError::Connect { backend: Backend::Postgres, source };
        let options = PgConnectOptions::from_str(url).map_err(err)?;
        // The schema must exist before any pooled connection puts it on its search path.
        let mut conn = tokio::time::timeout(timeout, sqlx::PgConnection::connect_with(&options))
            .await
            .map_err(|_| err(sqlx::Error::PoolTimedOut))?
            .map_err(err)?;
        conn.execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str()).await.map_err(err)?;
        conn.close().await.map_err(err)?;

        let options = options.options([("search_path", schema)]);
        let pool = PgPoolOptions::new()
            .max_connections(max)
            .min_connections(0)
            .acquire_timeout(timeout)
            .idle_timeout(Some(Duration::from_secs(300)))
            .connect_with(options)
            .await
            .map_err(err)?;
        Ok(Self::Postgres(pool))
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        Ok(match self {
            Self::Sqlite(pool) => Tx::Sqlite(pool.begin().await?),
            Self::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Applies the service's pending migrations for this backend, together with the tables every
    /// service has for its events (the outbox and the record of consumed events).
    pub async fn migrate(&self, migrations: &Migrations) -> Result<(), StorageError> {
        let backend = self.backend();
        let own = match self {
            Self::Sqlite(_) => migrations.sqlite,
            Self::Postgres(_) => migrations.postgres,
        };
        let mut all: Vec<Migration> = own.iter().cloned().collect();
        all.extend(crate::events::migrations(backend));
        all.sort_by_key(|m| m.version);
        let migrator =
            Migrator::new(Combined(all)).await.map_err(|source| StorageError::Migrate { backend, source })?;
        let result = match self {
            Self::Sqlite(pool) => migrator.run(pool).await,
            Self::Postgres(pool) => migrator.run(pool).await,
        };
        result.map_err(|source| StorageError::Migrate { backend, source })
    }

    /// Checks that the database answers (used by readiness).
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        on_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|_| ()))
    }

    /// Closes every pooled connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

/// Creates a resource at most once per client request id.
///
/// With a `request_id` already seen, `replay` finds the first call's result and it is returned
/// unchanged. Otherwise `insert` runs; if it hits a uniqueness violation, either a concurrent retry
/// with the same request id won the race (its result is returned) or the resource's own identity is
/// taken, and `conflict` says so.
pub async fn create_once<T, R, RF, I>(
    request_id: Option<&str>,
    replay: R,
    insert: I,
    conflict: impl FnOnce() -> ServiceError,
) -> Result<T, ServiceError>
where
    R: Fn(String) -> RF,
    RF: std::future::Future<Output = Result<Option<T>, ServiceError>>,
    I: std::future::Future<Output = Result<T, ServiceError>>,
{
    if let Some(request_id) = request_id
        && let Some(existing) = replay(request_id.to_owned()).await?
    {
        return Ok(existing);
    }
    match insert.await {
        Err(ServiceError::AlreadyExists(_)) => {
            if let Some(request_id) = request_id
                && let Some(existing) = replay(request_id.to_owned()).await?
            {
                return Ok(existing);
            }
            Err(conflict())
        }
        other => other,
    }
}

/// A service's migrations and the shared event tables, as one migration source.
#[derive(Debug)]
struct Combined(Vec<Migration>);

impl<'s> sqlx::migrate::MigrationSource<'s> for Combined {
    fn resolve(self) -> futures::future::BoxFuture<'s, Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        Box::pin(async move { Ok(self.0) })
    }
}

/// Fresh, isolated databases for tests: a new SQLite file in a temporary directory, or a new schema
/// in the test PostgreSQL database, migrated and dropped when the value is dropped.
pub mod testing {
    use super::*;

    /// Environment variable with the PostgreSQL URL used by tests
    /// (default `postgres://postgres@127.0.0.1:5432/test`).
    pub const POSTGRES_URL_ENV: &str = "TINGJIAN_TEST_POSTGRES_URL";
    /// When set to `1` (and always when `CI=true`), tests fail instead of skipping PostgreSQL when it
    /// cannot be reached.
    pub const REQUIRE_POSTGRES_ENV: &str = "TINGJIAN_REQUIRE_POSTGRES";

    /// A migrated database that disappears with this value.
    #[derive(Debug)]
    pub struct TestDatabase {
        /// The pool to hand to the code under test.
        pub db: Database,
        /// The database URL, for code that connects by itself.
        pub url: String,
        /// The PostgreSQL schema, if any.
        pub schema: Option<String>,
        _dir: Option<tempfile::TempDir>,
    }

    impl TestDatabase {
        /// A fresh database on `backend` with `migrations` applied.
        ///
        /// Returns `None` for PostgreSQL when no test server is reachable and it is not required.
        pub async fn fresh(backend: Backend, migrations: &Migrations) -> Option<Self> {
            let db = match backend {
                Backend::Sqlite => Self::sqlite().await,
                Backend::Postgres => Self::postgres().await?,
            };
            db.db.migrate(migrations).await.expect("migrations apply to a fresh database");
            Some(db)
        }

        async fn sqlite() -> Self {
            let dir = tempfile::tempdir().expect("temporary directory");
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            let settings = DatabaseSettings {
                url: crate::Secret::new(url.clone()),
                schema: None,
                max_connections: 4,
                connect_timeout: Duration::from_secs(10),
            };
            let db = Database::connect(&settings, "test").await.expect("SQLite opens");
            Self { db, url, schema: None, _dir: Some(dir) }
        }

        async fn postgres() -> Option<Self> {
            let url = postgres_url()?;
            let schema = format!("test_{}", uuid::Uuid::new_v4().simple());
            let settings = DatabaseSettings {
                url: crate::Secret::new(url.clone()),
                schema: Some(schema.clone()),
                max_connections: 4,
                connect_timeout: Duration::from_secs(10),
            };
            let db = Database::connect(&settings, &schema).await.expect("PostgreSQL test schema");
            Some(Self { db, url, schema: Some(schema), _dir: None })
        }

        /// The settings that open this same database.
        pub fn settings(&self) -> DatabaseSettings {
            DatabaseSettings {
                url: crate::Secret::new(self.url.clone()),
                schema: self.schema.clone(),
                max_connections: 4,
                connect_timeout: Duration::from_secs(10),
            }
        }
    }

    impl Drop for TestDatabase {
        fn drop(&mut self) {
            let Some(schema) = self.schema.take() else { return };
            let url = self.url.clone();
            // Drop the schema from a thread of its own: Drop cannot await, and the test's runtime
            // may already be shutting down.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                if let Ok(rt) = rt {
                    rt.block_on(async move {
                        if let Ok(options) = PgConnectOptions::from_str(&url)
                            && let Ok(mut conn) = sqlx::PgConnection::connect_with(&options).await
                        {
                            let _ = conn.execute(format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE").as_str()).await;
                            let _ = conn.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }

    /// The test PostgreSQL URL if a server answers there; panics when PostgreSQL is required (CI) but
    /// unreachable, so a CI run can never silently skip the PostgreSQL half of a suite.
    pub fn postgres_url() -> Option<String> {
        static PROBE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        PROBE
            .get_or_init(|| {
                let url = std::env::var(POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                let required = std::env::var("CI").is_ok_and(|v| v == "true")
                    || std::env::var(REQUIRE_POSTGRES_ENV).is_ok_and(|v| v == "1");
                let probe = std::thread::spawn({
                    let url = url.clone();
                    move || {
                        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                        rt.block_on(async move {
                            let options = PgConnectOptions::from_str(&url).ok()?;
                            let conn = tokio::time::timeout(
                                Duration::from_secs(5),
                                sqlx::PgConnection::connect_with(&options),
                            )
                            .await
                            .ok()?
                            .ok()?;
                            conn.close().await.ok()
                        })
                    }
                })
                .join()
                .ok()
                .flatten();
                match probe {
                    Some(()) => Some(url),
                    None if required => {
                        panic!("PostgreSQL is required for this run but {url} cannot be reached")
                    }
                    None => {
                        eprintln!(
                            "warning: PostgreSQL at {url} cannot be reached; the PostgreSQL half of the \
                             storage tests is skipped (set {POSTGRES_URL_ENV}, or {REQUIRE_POSTGRES_ENV}=1 to fail instead)"
                        );
                        None
                    }
                }
            })
            .clone()
    }
}
