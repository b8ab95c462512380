//! The bus events travel on: NATS JetStream in a cluster, or — with the same behaviour — a durable
//! log in a SQLite file in the embedded mode (several processes on one host may share the file).
//!
//! Both deduplicate publishes by the event id, acknowledge a publish only once it is stored,
//! redeliver what a consumer did not acknowledge, count deliveries, and keep dead letters with their
//! reason.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::AckKind;
use async_nats::jetstream::consumer::PullConsumer;
use bytes::Bytes;
use chrono::Utc;
use futures::StreamExt;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use tokio::sync::Mutex;

/// Stream holding dead letters.
const DEAD_LETTER_STREAM: &str = "TINGJIAN_DEAD_LETTERS";
/// Subject prefix of dead letters: `tingjian.dead_letter.<consumer>`.
const DEAD_LETTER_PREFIX: &str = "tingjian.dead_letter";
/// How long JetStream remembers message ids to drop duplicate publishes.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(30 * 60);

/// A bus that could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The embedded log failed.
    #[error("embedded bus: {0}")]
    Embedded(#[from] sqlx::Error),
    /// NATS or JetStream failed.
    #[error("JetStream: {0}")]
    JetStream(String),
}

fn js_err(e: impl std::fmt::Display) -> BusError {
    BusError::JetStream(e.to_string())
}

/// An event on its way to the bus.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// The event id: the bus drops a second publish with the same id.
    pub id: String,
    /// The subject: the event type, `tingjian.<service>.<event>`.
    pub subject: String,
    /// The encoded envelope.
    pub payload: Bytes,
}

/// An event delivered to a consumer.
#[derive(Debug)]
pub struct Delivery {
    /// The event id.
    pub id: String,
    /// The subject it was published on.
    pub subject: String,
    /// The encoded envelope.
    pub payload: Bytes,
    /// How many times it has been delivered to this consumer, this time included.
    pub attempt: u32,
    handle: Handle,
}

#[derive(Debug)]
enum Handle {
    Embedded { seq: i64 },
    JetStream(Box<jetstream::Message>),
}

/// A message kept after a consumer gave up on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The consumer that gave up.
    pub consumer: String,
    /// The event id.
    pub event_id: String,
    /// The subject it was published on.
    pub subject: String,
    /// Why the consumer gave up (the last error).
    pub reason: String,
    /// Deliveries made.
    pub attempts: u32,
    /// The encoded envelope.
    pub payload: Bytes,
}

/// The bus: JetStream or the embedded log.
// One per process, cloned into a few long-lived tasks: the size of the JetStream variant is no cost.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Bus {
    /// The durable log in a SQLite file.
    Embedded(EmbeddedBus),
    /// NATS JetStream.
    JetStream(JetStreamBus),
}

impl Bus {
    /// JetStream at `url` when given, else the embedded log in the SQLite file `embedded_path`.
    pub async fn connect(nats_url: Option<&str>, embedded_path: &std::path::Path) -> Result<Self, BusError> {
        match nats_url {
            Some(url) => Ok(Self::JetStream(JetStreamBus::connect(url).await?)),
            None => Ok(Self::Embedded(EmbeddedBus::open(embedded_path).await?)),
        }
    }

    /// Which kind of bus this is, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Embedded(_) => "embedded",
            Self::JetStream(_) => "jetstream",
        }
    }

    /// Publishes `messages` in order and returns once the bus has stored every one (a message whose id
    /// it has seen before counts as stored).
    pub async fn publish(&self, messages: &[Outgoing]) -> Result<(), BusError> {
        match self {
            Self::Embedded(bus) => bus.publish(messages).await,
            Self::JetStream(bus) => bus.publish(messages).await,
        }
    }

    /// A durable subscription `consumer` to the events of the `sources` services; undelivered and
    /// unacknowledged events survive restarts. Unacknowledged deliveries come again after `ack_wait`.
    pub async fn subscribe(
        &self,
        consumer: &str,
        sources: &[&str],
        ack_wait: Duration,
    ) -> Result<Subscription, BusError> {
        let inner = match self {
            Self::Embedded(bus) => SubscriptionInner::Embedded(bus.subscribe(consumer, sources, ack_wait).await?),
            Self::JetStream(bus) => SubscriptionInner::JetStream(bus.subscribe(consumer, sources, ack_wait).await?),
        };
        Ok(Subscription { consumer: consumer.to_owned(), bus: self.clone(), inner })
    }

    /// Every dead letter kept, oldest first.
    pub async fn dead_letters(&self) -> Result<Vec<DeadLetter>, BusError> {
        match self {
            Self::Embedded(bus) => bus.dead_letters().await,
            Self::JetStream(bus) => bus.dead_letters().await,
        }
    }
}

/// A consumer's durable subscription.
#[derive(Debug)]
pub struct Subscription {
    consumer: String,
    bus: Bus,
    inner: SubscriptionInner,
}

#[derive(Debug)]
enum SubscriptionInner {
    Embedded(EmbeddedSubscription),
    JetStream(Vec<PullConsumer>),
}

impl Subscription {
    /// The consumer's name.
    pub fn consumer(&self) -> &str {
        &self.consumer
    }

    /// Up to `max` deliveries, waiting up to `wait` when none is ready.
    pub async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        match &mut self.inner {
            SubscriptionInner::Embedded(sub) => sub.fetch(max, wait).await,
            SubscriptionInner::JetStream(consumers) => {
                let mut out = Vec::new();
                let share = wait / consumers.len().max(1) as u32;
                for consumer in consumers.iter() {
                    let remaining = max.saturating_sub(out.len());
                    if remaining == 0 {
                        break;
                    }
                    let expires = share.max(Duration::from_millis(10));
                    let started = tokio::time::Instant::now();
                    let mut batch =
                        consumer.batch().max_messages(remaining).expires(expires).messages().await.map_err(js_err)?;
                    while let Some(message) = batch.next().await {
                        let message = message.map_err(js_err)?;
                        let attempt = message.info().map(|i| i.delivered.max(1) as u32).unwrap_or(1);
                        let id = message
                            .headers
                            .as_ref()
                            .and_then(|h| h.get(async_nats::header::NATS_MESSAGE_ID))
                            .map(|v| v.as_str().to_owned())
                            .unwrap_or_default();
                        out.push(Delivery {
                            id,
                            subject: message.subject.to_string(),
                            payload: message.payload.clone(),
                            attempt,
                            handle: Handle::JetStream(Box::new(message)),
                        });
                    }
                    // JetStream ends a pull request at its expiry; a batch that only ended on the
                    // client's own timeout, seconds later, was never answered: NATS restarted, or it
                    // no longer has the durable consumer (restarted without its storage) and would stay
                    // silent for ever. Report it, so the consumer subscribes again.
                    if out.is_empty() && started.elapsed() >= expires + Duration::from_secs(4) {
                        let info = consumer.cached_info();
                        return Err(BusError::JetStream(format!(
                            "no answer to a pull request of consumer {} on stream {}",
                            info.name, info.stream_name
                        )));
                    }
                }
                Ok(out)
            }
        }
    }

    /// The delivery was handled: it will not come again.
    pub async fn ack(&self, delivery: &Delivery) -> Result<(), BusError> {
        match (&self.inner, &delivery.handle) {
            (SubscriptionInner::Embedded(sub), Handle::Embedded { seq }) => sub.ack(*seq).await,
            (_, Handle::JetStream(message)) => message.ack_with(AckKind::Ack).await.map_err(js_err),
            _ => Err(BusError::JetStream("delivery from another bus".into())),
        }
    }

    /// The delivery failed: deliver it again after `delay`.
    pub async fn retry_later(&self, delivery: &Delivery, delay: Duration) -> Result<(), BusError> {
        match (&self.inner, &delivery.handle) {
            (SubscriptionInner::Embedded(sub), Handle::Embedded { seq }) => sub.retry_later(*seq, delay).await,
            (_, Handle::JetStream(message)) => message.ack_with(AckKind::Nak(Some(delay))).await.map_err(js_err),
            _ => Err(BusError::JetStream("delivery from another bus".into())),
        }
    }

    /// Gives up on a delivery: keeps it as a dead letter with `reason` (on one line, at most 1,000
    /// characters, on either bus), then never delivers it again.
    pub async fn dead_letter(&self, delivery: &Delivery, reason: &str) -> Result<(), BusError> {
        let letter = DeadLetter {
            consumer: self.consumer.clone(),
            event_id: delivery.id.clone(),
            subject: delivery.subject.clone(),
            // The same text on both buses: a NATS header holds a single line.
            reason: one_line(reason),
            attempts: delivery.attempt,
            payload: delivery.payload.clone(),
        };
        match (&self.bus, &self.inner, &delivery.handle) {
            (Bus::Embedded(bus), SubscriptionInner::Embedded(sub), Handle::Embedded { seq }) => {
                bus.add_dead_letter(&letter).await?;
                sub.ack(*seq).await
            }
            (Bus::JetStream(bus), _, Handle::JetStream(message)) => {
                bus.add_dead_letter(&letter).await?;
                message.ack_with(AckKind::Term).await.map_err(js_err)
            }
            _ => Err(BusError::JetStream("delivery from another bus".into())),
        }
    }

    /// Events published but not yet acknowledged by this consumer (its lag).
    pub async fn pending(&mut self) -> Result<u64, BusError> {
        match &mut self.inner {
            SubscriptionInner::Embedded(sub) => sub.pending().await,
            SubscriptionInner::JetStream(consumers) => {
                let mut total = 0u64;
                for consumer in consumers.iter_mut() {
                    let info = consumer.info().await.map_err(js_err)?;
                    total += info.num_pending + info.num_ack_pending as u64;
                }
                Ok(total)
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Embedded: a durable log in SQLite.
// ---------------------------------------------------------------------------------------------------

/// The embedded bus: messages, consumers' progress and dead letters in one SQLite file.
#[derive(Debug, Clone)]
pub struct EmbeddedBus {
    pool: SqlitePool,
    notify: Arc<tokio::sync::Notify>,
}

const EMBEDDED_SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS bus_message (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    subject      TEXT NOT NULL,
    payload      BLOB NOT NULL,
    publish_time TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bus_consumer (
    name  TEXT PRIMARY KEY,
    floor INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bus_delivery (
    consumer   TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    deliveries INTEGER NOT NULL,
    next_ms    INTEGER NOT NULL,
    done       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (consumer, seq)
);
CREATE TABLE IF NOT EXISTS bus_dead_letter (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    consumer    TEXT NOT NULL,
    event_id    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    reason      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    payload     BLOB NOT NULL,
    create_time TEXT NOT NULL,
    UNIQUE (consumer, event_id)
);
";

impl EmbeddedBus {
    /// Opens (creating if needed) the log in the SQLite file at `path`.
    pub async fn open(path: &std::path::Path) -> Result<Self, BusError> {
        if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| BusError::Embedded(sqlx::Error::Io(e)))?;
        }
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new().max_connections(4).min_connections(0).connect_with(options).await?;
        sqlx::raw_sql(EMBEDDED_SCHEMA).execute(&pool).await?;
        Ok(Self { pool, notify: Arc::new(tokio::sync::Notify::new()) })
    }

    async fn publish(&self, messages: &[Outgoing]) -> Result<(), BusError> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        let now = Utc::now();
        for m in messages {
            sqlx::query(
                "INSERT INTO bus_message (id, subject, payload, publish_time) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&m.id)
            .bind(&m.subject)
            .bind(m.payload.as_ref())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.notify.notify_waiters();
        Ok(())
    }

    async fn subscribe(
        &self,
        consumer: &str,
        sources: &[&str],
        ack_wait: Duration,
    ) -> Result<EmbeddedSubscription, BusError> {
        sqlx::query("INSERT INTO bus_consumer (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(consumer)
            .execute(&self.pool)
            .await?;
        let prefixes: Vec<String> = sources.iter().map(|s| format!("tingjian.{s}.%")).collect();
        Ok(EmbeddedSubscription { bus: self.clone(), consumer: consumer.to_owned(), prefixes, ack_wait })
    }

    async fn add_dead_letter(&self, letter: &DeadLetter) -> Result<(), BusError> {
        sqlx::query(
            "INSERT INTO bus_dead_letter (consumer, event_id, subject, reason, attempts, payload, create_time) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (consumer, event_id) DO NOTHING",
        )
        .bind(&letter.consumer)
        .bind(&letter.event_id)
        .bind(&letter.subject)
        .bind(&letter.reason)
        .bind(letter.attempts as i64)
        .bind(letter.payload.as_ref())
        .bind(Utc::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, BusError> {
        let rows: Vec<(String, String, String, String, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT consumer, event_id, subject, reason, attempts, payload FROM bus_dead_letter ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(consumer, event_id, subject, reason, attempts, payload)| DeadLetter {
                consumer,
                event_id,
                subject,
                reason,
                attempts: attempts as u32,
                payload: Bytes::from(payload),
            })
            .collect())
    }
}

/// A consumer's position in the embedded log: a floor below which everything is done, and a row per
/// delivered message above it.
#[derive(Debug)]
struct EmbeddedSubscription {
    bus: EmbeddedBus,
    consumer: String,
    prefixes: Vec<String>,
    ack_wait: Duration,
}

impl EmbeddedSubscription {
    /// `(m.subject LIKE $n OR …)` for the subscription's sources, binds starting at `first`.
    fn subject_filter(&self, first: usize) -> String {
        let parts: Vec<String> = (0..self.prefixes.len()).map(|i| format!("m.subject LIKE ${}", first + i)).collect();
        format!("({})", parts.join(" OR "))
    }

    async fn fetch(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivery>, BusError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.bus.notify.notified();
            let batch = self.try_fetch(max).await?;
            if !batch.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(batch);
            }
            // Wake on a publish in this process, or poll again shortly (another process may publish).
            let _ = tokio::time::timeout_at(
                deadline.min(tokio::time::Instant::now() + Duration::from_millis(100)),
                notified,
            )
            .await;
        }
    }

    async fn try_fetch(&self, max: usize) -> Result<Vec<Delivery>, BusError> {
        let now_ms = Utc::now().timestamp_millis();
        let mut tx = self.bus.pool.begin().await?;
        // Writing first takes the database's write lock, so concurrent fetchers of one consumer take
        // turns instead of both delivering the same messages.
        let floor: i64 = sqlx::query_scalar("UPDATE bus_consumer SET floor = floor WHERE name = $1 RETURNING floor")
            .bind(&self.consumer)
            .fetch_one(&mut *tx)
            .await?;
        let sql = format!(
            "SELECT m.seq, m.id, m.subject, m.payload, COALESCE(d.deliveries, 0) \
             FROM bus_message m LEFT JOIN bus_delivery d ON d.consumer = $1 AND d.seq = m.seq \
             WHERE m.seq > $2 AND {} AND (d.seq IS NULL OR (d.done = 0 AND d.next_ms <= $3)) \
             ORDER BY m.seq LIMIT $4",
            self.subject_filter(5)
        );
        let mut query = sqlx::query_as::<_, (i64, String, String, Vec<u8>, i64)>(&sql)
            .bind(&self.consumer)
            .bind(floor)
            .bind(now_ms)
            .bind(max as i64);
        for prefix in &self.prefixes {
            query = query.bind(prefix);
        }
        let rows = query.fetch_all(&mut *tx).await?;
        let next_ms = now_ms + self.ack_wait.as_millis() as i64;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, id, subject, payload, deliveries) in rows {
            sqlx::query(
                "INSERT INTO bus_delivery (consumer, seq, deliveries, next_ms) VALUES ($1, $2, 1, $3) \
                 ON CONFLICT (consumer, seq) DO UPDATE SET deliveries = bus_delivery.deliveries + 1, next_ms = $3",
            )
            .bind(&self.consumer)
            .bind(seq)
            .bind(next_ms)
            .execute(&mut *tx)
            .await?;
            out.push(Delivery {
                id,
                subject,
                payload: Bytes::from(payload),
                attempt: deliveries as u32 + 1,
                handle: Handle::Embedded { seq },
            });
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn ack(&self, seq: i64) -> Result<(), BusError> {
        let mut tx = self.bus.pool.begin().await?;
        sqlx::query("UPDATE bus_delivery SET done = 1 WHERE consumer = $1 AND seq = $2")
            .bind(&self.consumer)
            .bind(seq)
            .execute(&mut *tx)
            .await?;
        // Advance the floor past every message now done, and forget their delivery rows.
        let sql = format!(
            "UPDATE bus_consumer SET floor = COALESCE(( \
                 SELECT MIN(m.seq) - 1 FROM bus_message m \
                 LEFT JOIN bus_delivery d ON d.consumer = $1 AND d.seq = m.seq \
                 WHERE m.seq > bus_consumer.floor AND {} AND (d.done IS NULL OR d.done = 0)), \
                 (SELECT COALESCE(MAX(seq), 0) FROM bus_message)) \
             WHERE name = $1 RETURNING floor",
            self.subject_filter(2)
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(&self.consumer);
        for prefix in &self.prefixes {
            query = query.bind(prefix);
        }
        let floor = query.fetch_one(&mut *tx).await?;
        sqlx::query("DELETE FROM bus_delivery WHERE consumer = $1 AND seq <= $2")
            .bind(&self.consumer)
            .bind(floor)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn retry_later(&self, seq: i64, delay: Duration) -> Result<(), BusError> {
        sqlx::query("UPDATE bus_delivery SET next_ms = $3 WHERE consumer = $1 AND seq = $2")
            .bind(&self.consumer)
            .bind(seq)
            .bind(Utc::now().timestamp_millis() + delay.as_millis() as i64)
            .execute(&self.bus.pool)
            .await?;
        Ok(())
    }

    async fn pending(&self) -> Result<u64, BusError> {
        let sql = format!(
            "SELECT COUNT(*) FROM bus_message m \
             LEFT JOIN bus_delivery d ON d.consumer = $1 AND d.seq = m.seq \
             WHERE m.seq > (SELECT floor FROM bus_consumer WHERE name = $1) AND {} \
             AND (d.done IS NULL OR d.done = 0)",
            self.subject_filter(2)
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql).bind(&self.consumer);
        for prefix in &self.prefixes {
            query = query.bind(prefix);
        }
        Ok(query.fetch_one(&self.bus.pool).await? as u64)
    }
}

// ---------------------------------------------------------------------------------------------------
// JetStream.
// ---------------------------------------------------------------------------------------------------

/// The JetStream bus: a stream per service (`TINGJIAN_<SERVICE>`, subjects `tingjian.<service>.>`),
/// durable pull consumers, and a dead-letter stream.
#[derive(Debug, Clone)]
pub struct JetStreamBus {
    context: jetstream::Context,
    ready: Arc<Mutex<HashSet<String>>>,
}

/// The stream of a service's events.
fn stream_name(service: &str) -> String {
    format!("TINGJIAN_{}", service.to_ascii_uppercase())
}

/// The service whose stream holds `subject` (`tingjian.<service>.<event>`).
fn service_of(subject: &str) -> Option<&str> {
    subject.strip_prefix("tingjian.")?.split('.').next()
}

impl JetStreamBus {
    /// Connects to NATS at `url`. The connection is retried in the background, so a service starts
    /// (and keeps recording events in its outbox) while NATS is down.
    pub async fn connect(url: &str) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connection_timeout(Duration::from_secs(5))
            .name("tingjian")
            .connect(url)
            .await
            .map_err(js_err)?;
        let mut context = jetstream::new(client);
        context.set_timeout(Duration::from_secs(5));
        Ok(Self { context, ready: Arc::new(Mutex::new(HashSet::new())) })
    }

    async fn ensure_stream(&self, name: &str, subjects: Vec<String>) -> Result<jetstream::stream::Stream, BusError> {
        let stream = self
            .context
            .get_or_create_stream(jetstream::stream::Config {
                name: name.to_owned(),
                subjects,
                storage: jetstream::stream::StorageType::File,
                duplicate_window: DUPLICATE_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(js_err)?;
        Ok(stream)
    }

    async fn ensure_service_stream(&self, service: &str) -> Result<jetstream::stream::Stream, BusError> {
        self.ensure_stream(&stream_name(service), vec![format!("tingjian.{service}.>")]).await
    }

    async fn publish(&self, messages: &[Outgoing]) -> Result<(), BusError> {
        let result = self.publish_to_streams(messages).await;
        if result.is_err() {
            // The stream may be gone (NATS restarted without its storage, a stream deleted): make sure
            // of it again on the next attempt rather than publishing into nothing for ever.
            let mut ready = self.ready.lock().await;
            for m in messages {
                if let Some(service) = service_of(&m.subject) {
                    ready.remove(service);
                }
            }
        }
        result
    }

    async fn publish_to_streams(&self, messages: &[Outgoing]) -> Result<(), BusError> {
        for m in messages {
            let Some(service) = service_of(&m.subject) else {
                return Err(BusError::JetStream(format!("subject {} is not tingjian.<service>.<event>", m.subject)));
            };
            let known = self.ready.lock().await.contains(service);
            if !known {
                self.ensure_service_stream(service).await?;
                self.ready.lock().await.insert(service.to_owned());
            }
        }
        let mut acks = Vec::with_capacity(messages.len());
        for m in messages {
            let mut headers = async_nats::HeaderMap::new();
            headers.insert(async_nats::header::NATS_MESSAGE_ID, m.id.as_str());
            let ack = self
                .context
                .publish_with_headers(m.subject.clone(), headers, m.payload.clone())
                .await
                .map_err(js_err)?;
            acks.push(ack);
        }
        for ack in acks {
            ack.await.map_err(js_err)?;
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        consumer: &str,
        sources: &[&str],
        ack_wait: Duration,
    ) -> Result<Vec<PullConsumer>, BusError> {
        let mut consumers = Vec::new();
        for source in sources {
            let stream = self.ensure_service_stream(source).await?;
            let pull = stream
                .get_or_create_consumer(
                    consumer,
                    jetstream::consumer::pull::Config {
                        durable_name: Some(consumer.to_owned()),
                        ack_policy: jetstream::consumer::AckPolicy::Explicit,
                        ack_wait,
                        ..Default::default()
                    },
                )
                .await
                .map_err(js_err)?;
            consumers.push(pull);
        }
        Ok(consumers)
    }

    async fn add_dead_letter(&self, letter: &DeadLetter) -> Result<(), BusError> {
        self.ensure_stream(DEAD_LETTER_STREAM, vec![format!("{DEAD_LETTER_PREFIX}.>")]).await?;
        let mut headers = async_nats::HeaderMap::new();
        headers
            .insert(async_nats::header::NATS_MESSAGE_ID, format!("{}/{}", letter.consumer, letter.event_id).as_str());
        headers.insert("Tingjian-Event-Id", letter.event_id.as_str());
        headers.insert("Tingjian-Subject", letter.subject.as_str());
        headers.insert("Tingjian-Reason", one_line(&letter.reason).as_str());
        headers.insert("Tingjian-Attempts", letter.attempts.to_string().as_str());
        self.context
            .publish_with_headers(format!("{DEAD_LETTER_PREFIX}.{}", letter.consumer), headers, letter.payload.clone())
            .await
            .map_err(js_err)?
            .await
            .map_err(js_err)?;
        Ok(())
    }

    async fn dead_letters(&self) -> Result<Vec<DeadLetter>, BusError> {
        let mut stream = match self.context.get_stream(DEAD_LETTER_STREAM).await {
            Ok(stream) => stream,
            Err(e) if matches!(e.kind(), jetstream::context::GetStreamErrorKind::JetStream(_)) => return Ok(Vec::new()),
            Err(e) => return Err(js_err(e)),
        };
        let info = stream.info().await.map_err(js_err)?;
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        let mut out = Vec::new();
        for seq in first.max(1)..=last {
            let Ok(message) = stream.get_raw_message(seq).await else { continue };
            let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned()).unwrap_or_default();
            out.push(DeadLetter {
                consumer: message.subject.as_str().trim_start_matches(&format!("{DEAD_LETTER_PREFIX}.")).to_owned(),
                event_id: header("Tingjian-Event-Id"),
                subject: header("Tingjian-Subject"),
                reason: header("Tingjian-Reason"),
                attempts: header("Tingjian-Attempts").parse().unwrap_or(0),
                payload: message.payload.clone(),
            });
        }
        Ok(out)
    }
}

/// Header values are single lines.
fn one_line(text: &str) -> String {
    let line: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    line.chars().take(1000).collect()
}
