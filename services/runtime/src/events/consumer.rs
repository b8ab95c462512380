//! Consumers: apply each event once.
//!
//! A delivery is handled in one transaction of the consumer's own database that both records the
//! event id (`event_consumed`) and makes the handler's effect, so an event delivered again — after a
//! crash, a lost acknowledgement, a relay that published twice — finds its id and has no second
//! effect. A handler that fails is retried with a growing delay; after `max_attempts` deliveries the
//! event goes to the dead-letter subject with the last error as the reason.

use std::time::Duration;

use chrono::Utc;

use super::Event;
use super::bus::{Bus, BusError, Delivery, Subscription};
use crate::on_tx;
use crate::shutdown::Shutdown;
use crate::storage::{Database, Tx};

/// Why a handler could not apply an event.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HandlerError(pub String);

impl HandlerError {
    /// A failure with its reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

impl From<sqlx::Error> for HandlerError {
    fn from(e: sqlx::Error) -> Self {
        Self(format!("database: {e}"))
    }
}

/// What a consumer does with an event, inside the transaction that records it as applied.
#[tonic::async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Applies `event`; every change must go through `tx`.
    async fn handle(&self, tx: &mut Tx, event: &Event) -> Result<(), HandlerError>;
}

/// How a consumer runs.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    /// Durable name, unique per consuming service and purpose, e.g. `analytics-rollups`.
    pub name: String,
    /// Services whose events it reads.
    pub sources: Vec<String>,
    /// Deliveries before an event goes to the dead letters.
    pub max_attempts: u32,
    /// Deliveries fetched at once.
    pub batch: usize,
    /// How long an unacknowledged delivery waits before it comes again.
    pub ack_wait: Duration,
    /// First retry delay after a failure, doubled per attempt up to a minute.
    pub retry_delay: Duration,
}

impl ConsumerConfig {
    /// Defaults for a consumer `name` of the events of `sources`.
    pub fn new(name: &str, sources: &[&str]) -> Self {
        Self {
            name: name.to_owned(),
            sources: sources.iter().map(|s| (*s).to_owned()).collect(),
            max_attempts: 5,
            batch: 128,
            ack_wait: Duration::from_secs(30),
            retry_delay: Duration::from_millis(200),
        }
    }
}

/// What happened to one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied now.
    Applied,
    /// Applied before: nothing done.
    Duplicate,
    /// Failed; it will come again.
    Retrying,
    /// Failed for the last time: kept as a dead letter.
    DeadLettered,
}

/// A consumer of events into `db`.
#[derive(Debug)]
pub struct Consumer<H> {
    db: Database,
    bus: Bus,
    config: ConsumerConfig,
    handler: H,
}

impl<H: Handler> Consumer<H> {
    /// A consumer applying events with `handler` to `db`.
    pub fn new(db: Database, bus: Bus, config: ConsumerConfig, handler: H) -> Self {
        Self { db, bus, config, handler }
    }

    /// Subscribes (durably) and runs until `shutdown`, retrying when the bus is unreachable.
    pub async fn run(self, shutdown: Shutdown) {
        let mut backoff = Duration::from_millis(500);
        let stop = shutdown.wait();
        tokio::pin!(stop);
        let mut subscription = loop {
            let sources: Vec<&str> = self.config.sources.iter().map(String::as_str).collect();
            match self.bus.subscribe(&self.config.name, &sources, self.config.ack_wait).await {
                Ok(s) => break s,
                Err(e) => {
                    tracing::warn!(consumer = %self.config.name, error = %e, "cannot subscribe yet");
                    tokio::select! {
                        () = &mut stop => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        };
        let mut last_lag_log = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = &mut stop => break,
                result = self.poll(&mut subscription, Duration::from_secs(1)) => {
                    if let Err(e) = result {
                        tracing::warn!(consumer = %self.config.name, error = %e, "consumer pass failed");
                        tokio::select! {
                            () = &mut stop => break,
                            () = tokio::time::sleep(backoff) => {}
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        if matches!(e, ConsumerError::Bus(_)) {
                            // The durable subscription may be gone with the bus's state (NATS restarted
                            // without its storage): subscribing again creates it anew if so.
                            let sources: Vec<&str> = self.config.sources.iter().map(String::as_str).collect();
                            tokio::select! {
                                () = &mut stop => break,
                                again = self.bus.subscribe(&self.config.name, &sources, self.config.ack_wait) => {
                                    if let Ok(s) = again {
                                        subscription = s;
                                    }
                                }
                            }
                        }
                    } else {
                        backoff = Duration::from_millis(500);
                    }
                }
            }
            if last_lag_log.elapsed() >= Duration::from_secs(30) {
                last_lag_log = tokio::time::Instant::now();
                if let Ok(pending) = subscription.pending().await {
                    crate::metrics::record_consumer_lag(&self.config.name, pending);
                    tracing::info!(consumer = %self.config.name, pending, "consumer lag");
                }
            }
        }
        tracing::debug!(consumer = %self.config.name, "consumer stopped");
    }

    /// Fetches and handles one batch; returns how many deliveries it handled.
    pub async fn poll(&self, subscription: &mut Subscription, wait: Duration) -> Result<usize, ConsumerError> {
        let deliveries = subscription.fetch(self.config.batch, wait).await?;
        for (i, delivery) in deliveries.iter().enumerate() {
            if let Err(e) = self.deliver(subscription, delivery).await {
                // Hand back the rest of the batch (this delivery included) to come again at once and in
                // order: left unacknowledged, it would only come back after `ack_wait`, behind the
                // events that follow it.
                for rest in &deliveries[i..] {
                    if subscription.retry_later(rest, Duration::ZERO).await.is_err() {
                        break;
                    }
                }
                return Err(e);
            }
        }
        Ok(deliveries.len())
    }

    /// Handles one delivery and acknowledges it, schedules its retry, or dead-letters it.
    pub async fn deliver(&self, subscription: &Subscription, delivery: &Delivery) -> Result<Outcome, ConsumerError> {
        let outcome = match self.apply(delivery).await {
            Ok(true) => Outcome::Applied,
            Ok(false) => Outcome::Duplicate,
            Err(ApplyError::Handler(reason)) if delivery.attempt >= self.config.max_attempts => {
                tracing::error!(
                    consumer = %self.config.name,
                    event.id = %delivery.id,
                    attempts = delivery.attempt,
                    %reason,
                    "event dead-lettered"
                );
                subscription.dead_letter(delivery, &reason).await?;
                return Ok(Outcome::DeadLettered);
            }
            Err(ApplyError::Handler(reason)) => {
                let delay = self.config.retry_delay * 2u32.saturating_pow(delivery.attempt.saturating_sub(1).min(8));
                tracing::warn!(
                    consumer = %self.config.name,
                    event.id = %delivery.id,
                    attempt = delivery.attempt,
                    %reason,
                    "event handling failed; retrying"
                );
                subscription.retry_later(delivery, delay.min(Duration::from_secs(60))).await?;
                return Ok(Outcome::Retrying);
            }
            Err(ApplyError::Database(e)) => return Err(ConsumerError::Database(e)),
        };
        subscription.ack(delivery).await?;
        Ok(outcome)
    }

    /// Applies a delivery in one transaction with its record; `Ok(false)` if it was applied before.
    async fn apply(&self, delivery: &Delivery) -> Result<bool, ApplyError> {
        let event =
            super::decode(&delivery.payload).map_err(|e| ApplyError::Handler(format!("undecodable envelope: {e}")))?;
        let span = tracing::info_span!("event", event.id = %event.id, event.kind = %event.r#type, consumer = %self.config.name);
        adopt_event_parent(&span, &event);
        // The span is attached to the future, not entered: a guard held across an await would leave it
        // entered on whichever thread the task moves to.
        tracing::Instrument::instrument(self.apply_in_span(&event), span).await
    }

    /// The body of [`apply`](Self::apply), run inside the event's span.
    async fn apply_in_span(&self, event: &super::Event) -> Result<bool, ApplyError> {
        let mut tx = self.db.begin().await?;
        let inserted = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO event_consumed (consumer, event_id, applied_time) VALUES ($1, $2, $3) \
                 ON CONFLICT (consumer, event_id) DO NOTHING",
            )
            .bind(&self.config.name)
            .bind(&event.id)
            .bind(Utc::now())
            .execute(&mut **conn)
            .await
            .map(|r| r.rows_affected())
        })?;
        if inserted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        match self.handler.handle(&mut tx, event).await {
            Ok(()) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(ApplyError::Handler(e.0))
            }
        }
    }
}

fn adopt_event_parent(span: &tracing::Span, event: &Event) {
    let mut headers = http::HeaderMap::new();
    if let Ok(v) = event.traceparent.parse() {
        headers.insert("traceparent", v);
    }
    if let Ok(v) = event.tracestate.parse() {
        headers.insert("tracestate", v);
    }
    crate::telemetry::adopt_remote_parent(span, &headers);
}

enum ApplyError {
    Handler(String),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

/// A consumer pass that failed; the consumer retries.
#[derive(Debug, thiserror::Error)]
pub enum ConsumerError {
    /// The consumer's database.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The bus.
    #[error("bus: {0}")]
    Bus(#[from] BusError),
}
