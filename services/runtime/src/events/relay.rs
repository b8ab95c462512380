//! The relay: publishes a service's outbox to the bus, in order, and marks rows sent once the bus
//! has stored them.
//!
//! Several replicas may run the relay against one database. On PostgreSQL the replica that wins a
//! transaction-scoped advisory lock publishes the batch it claimed with `FOR UPDATE SKIP LOCKED`; on
//! SQLite a lease row names the replica that may publish. One publisher at a time keeps the events
//! of an aggregate in order. Unsent rows are found by `sent_time IS NULL`, not by a cursor, so a
//! transaction that commits late with a lower sequence number is published on the next pass instead
//! of being skipped. A row published but not yet marked (a relay killed in between) is published
//! again; the bus drops the duplicate by its event id, and consumers would ignore it anyway.

use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};

use super::bus::{Bus, Outgoing};
use crate::on_pool;
use crate::shutdown::Shutdown;
use crate::storage::Database;

/// How a relay runs.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The service whose outbox this is.
    pub service: String,
    /// Rows published per pass.
    pub batch: usize,
    /// Pause between passes when the outbox is empty.
    pub idle_poll: Duration,
    /// Pause after a failure (the bus or the database unreachable), doubled up to 30 s.
    pub retry: Duration,
    /// How long a SQLite relay lease lasts without renewal.
    pub lease: Duration,
}

impl RelayConfig {
    /// Defaults for `service`.
    pub fn new(service: &str) -> Self {
        Self {
            service: service.to_owned(),
            batch: 256,
            idle_poll: Duration::from_millis(200),
            retry: Duration::from_millis(500),
            lease: Duration::from_secs(10),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    /// Published and marked this many rows.
    Published(usize),
    /// Nothing to publish.
    Idle,
    /// Another replica holds the relay.
    Standby,
}

/// A relay of one service's outbox.
#[derive(Debug, Clone)]
pub struct Relay {
    db: Database,
    bus: Bus,
    config: RelayConfig,
    holder: String,
}

type Row = (i64, String, String, Vec<u8>);

impl Relay {
    /// A relay publishing `db`'s outbox to `bus`.
    pub fn new(db: Database, bus: Bus, config: RelayConfig) -> Self {
        Self { db, bus, config, holder: crate::wire::new_id() }
    }

    /// Runs until `shutdown`, publishing as events appear and retrying when the bus is down.
    pub async fn run(self, shutdown: Shutdown) {
        let mut backoff = self.config.retry;
        let mut last_lag_log = tokio::time::Instant::now();
        let stop = shutdown.wait();
        tokio::pin!(stop);
        loop {
            let pause = match self.pass().await {
                Ok(Pass::Published(_)) => {
                    backoff = self.config.retry;
                    Duration::ZERO
                }
                Ok(Pass::Idle | Pass::Standby) => {
                    backoff = self.config.retry;
                    self.config.idle_poll
                }
                Err(e) => {
                    tracing::warn!(service = %self.config.service, error = %e, retry_in = ?backoff, "relay pass failed");
                    let pause = backoff;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                    pause
                }
            };
            if last_lag_log.elapsed() >= Duration::from_secs(30) {
                last_lag_log = tokio::time::Instant::now();
                if let Ok(Some(lag)) = self.lag().await {
                    crate::metrics::record_relay_lag(&self.config.service, lag);
                    tracing::info!(service = %self.config.service, lag_seconds = lag.as_secs_f64(), "relay lag");
                }
            }
            if pause.is_zero() {
                // Let other tasks run between busy passes.
                tokio::task::yield_now().await;
                if shutdown_requested(&mut stop).await {
                    break;
                }
                continue;
            }
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
        tracing::debug!(service = %self.config.service, "relay stopped");
    }

    /// One pass: publish up to a batch of unsent rows, in order.
    pub async fn pass(&self) -> Result<Pass, RelayError> {
        match &self.db {
            Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                let key = format!("tingjian.relay.{}", self.config.service);
                let leader: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock(hashtext($1))")
                    .bind(&key)
                    .fetch_one(&mut *tx)
                    .await?;
                if !leader {
                    tx.rollback().await?;
                    return Ok(Pass::Standby);
                }
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT seq, id, event_type, envelope FROM event_outbox WHERE sent_time IS NULL \
                     ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED",
                )
                .bind(self.config.batch as i64)
                .fetch_all(&mut *tx)
                .await?;
                if rows.is_empty() {
                    tx.rollback().await?;
                    return Ok(Pass::Idle);
                }
                self.bus.publish(&outgoing(&rows)).await?;
                let seqs: Vec<i64> = rows.iter().map(|r| r.0).collect();
                sqlx::query("UPDATE event_outbox SET sent_time = $1 WHERE seq = ANY($2)")
                    .bind(Utc::now())
                    .bind(&seqs)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(Pass::Published(rows.len()))
            }
            Database::Sqlite(pool) => {
                // Look before taking the lease: an idle relay then only reads.
                let unsent: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM event_outbox WHERE sent_time IS NULL)")
                        .fetch_one(pool)
                        .await?;
                if !unsent {
                    return Ok(Pass::Idle);
                }
                let now = Utc::now();
                let until =
                    now + chrono::Duration::from_std(self.config.lease).unwrap_or(chrono::Duration::seconds(10));
                let name = format!("relay.{}", self.config.service);
                let held = sqlx::query(
                    "INSERT INTO event_relay_lease (name, holder, until_time) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_time = excluded.until_time \
                     WHERE event_relay_lease.holder = excluded.holder OR event_relay_lease.until_time < $4",
                )
                .bind(&name)
                .bind(&self.holder)
                .bind(until)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
                if held == 0 {
                    return Ok(Pass::Standby);
                }
                let rows: Vec<Row> = sqlx::query_as(
                    "SELECT seq, id, event_type, envelope FROM event_outbox WHERE sent_time IS NULL \
                     ORDER BY seq LIMIT $1",
                )
                .bind(self.config.batch as i64)
                .fetch_all(pool)
                .await?;
                if rows.is_empty() {
                    return Ok(Pass::Idle);
                }
                self.bus.publish(&outgoing(&rows)).await?;
                let mut tx = pool.begin().await?;
                for (seq, ..) in &rows {
                    sqlx::query("UPDATE event_outbox SET sent_time = $1 WHERE seq = $2")
                        .bind(Utc::now())
                        .bind(seq)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(Pass::Published(rows.len()))
            }
        }
    }

    /// Age of the oldest unsent event, if any (the relay's lag).
    pub async fn lag(&self) -> Result<Option<Duration>, sqlx::Error> {
        oldest_unsent(&self.db).await
    }
}

/// Age of the oldest event of `db`'s outbox not yet published.
pub async fn oldest_unsent(db: &Database) -> Result<Option<Duration>, sqlx::Error> {
    let oldest: Option<DateTime<Utc>> = on_pool!(db, pool => {
        sqlx::query_scalar("SELECT MIN(create_time) FROM event_outbox WHERE sent_time IS NULL")
            .fetch_one(pool)
            .await
    })?;
    Ok(oldest.map(|t| (Utc::now() - t).to_std().unwrap_or_default()))
}

async fn shutdown_requested(stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>) -> bool {
    futures::poll!(stop.as_mut()).is_ready()
}

fn outgoing(rows: &[Row]) -> Vec<Outgoing> {
    rows.iter()
        .map(|(_, id, event_type, envelope)| Outgoing {
            id: id.clone(),
            subject: event_type.clone(),
            payload: Bytes::from(envelope.clone()),
        })
        .collect()
}

/// A pass that failed; the relay retries.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// The service's database.
    #[error("outbox: {0}")]
    Database(#[from] sqlx::Error),
    /// The bus.
    #[error("bus: {0}")]
    Bus(#[from] super::bus::BusError),
}
