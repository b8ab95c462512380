//! Events: facts a service reports for the others to react to — nothing lost, nothing doubled.
//!
//! A service records an event in its **outbox** in the same transaction as the change it reports
//! ([`record`]): if the transaction rolls back, the event never existed. A **relay** ([`relay`])
//! publishes outbox rows in order to the **bus** ([`bus`]) — NATS JetStream in a cluster, a durable
//! SQLite log in the embedded mode — and marks them sent once the bus acknowledged them. **Consumers**
//! ([`consumer`]) apply each event in a transaction of their own database that also records the
//! event's id, so an event delivered again has no second effect; an event that keeps failing goes to
//! the dead-letter subject with the reason.
//!
//! Every event travels in the protobuf envelope `tingjian.common.v1.Event`: CloudEvents attributes
//! (id, source, type, subject, time, data content type) and the W3C trace context of the change.

pub mod bus;
pub mod consumer;
pub mod relay;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use prost::Message as _;
use sqlx::migrate::{Migration, MigrationType};
pub use tingjian_proto::common::v1::Event;

use crate::on_tx;
use crate::storage::{Backend, Tx};

/// Version of the first shared event-table migration; far above any service's own versions so the
/// two never collide in a schema's migration history.
const EVENTS_MIGRATION_BASE: i64 = 9_000_000_000;

const SQLITE_TABLES: &str = r"
-- Events recorded with the changes they report, until the relay has published them.
CREATE TABLE event_outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    id          TEXT NOT NULL UNIQUE,
    subject     TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    envelope    BLOB NOT NULL,
    create_time TEXT NOT NULL,
    sent_time   TEXT
);
CREATE INDEX event_outbox_unsent_idx ON event_outbox (seq) WHERE sent_time IS NULL;

-- Which relay may publish (one at a time, so events of an aggregate leave in order).
CREATE TABLE event_relay_lease (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    until_time  TEXT NOT NULL
);

-- Events a consumer of this service has applied: a redelivered event finds its row here.
CREATE TABLE event_consumed (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    applied_time TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
";

const POSTGRES_TABLES: &str = r"
-- Events recorded with the changes they report, until the relay has published them.
CREATE TABLE event_outbox (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    subject     TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    envelope    BYTEA NOT NULL,
    create_time TIMESTAMPTZ NOT NULL,
    sent_time   TIMESTAMPTZ
);
CREATE INDEX event_outbox_unsent_idx ON event_outbox (seq) WHERE sent_time IS NULL;

-- Which relay may publish (one at a time, so events of an aggregate leave in order).
CREATE TABLE event_relay_lease (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    until_time  TIMESTAMPTZ NOT NULL
);

-- Events a consumer of this service has applied: a redelivered event finds its row here.
CREATE TABLE event_consumed (
    consumer     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    applied_time TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
";

/// The shared event tables' migrations for `backend`, applied with every service's own.
pub fn migrations(backend: Backend) -> Vec<Migration> {
    let sql = match backend {
        Backend::Sqlite => SQLITE_TABLES,
        Backend::Postgres => POSTGRES_TABLES,
    };
    vec![Migration::new(
        EVENTS_MIGRATION_BASE + 1,
        Cow::Borrowed("event tables"),
        MigrationType::Simple,
        Cow::Borrowed(sql),
        false,
    )]
}

/// An event to record: what happened (`name`, e.g. `demand_submitted`), to which aggregate
/// (`subject`, e.g. `demands/<id>`; events of one subject are delivered in order), and the encoded
/// protobuf payload with its message name.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Event name in lower snake case; the type becomes `tingjian.<service>.<name>`.
    pub name: &'static str,
    /// The aggregate the event is about, `<collection>/<id>`.
    pub subject: String,
    /// The protobuf payload.
    pub data: Vec<u8>,
    /// Full name of the payload message, e.g. `tingjian.intake.v1.DemandSubmitted`.
    pub data_schema: &'static str,
}

impl NewEvent {
    /// An event whose payload is the protobuf message `payload`, of full name `data_schema`.
    pub fn new(
        name: &'static str,
        subject: impl Into<String>,
        data_schema: &'static str,
        payload: &impl prost::Message,
    ) -> Self {
        Self { name, subject: subject.into(), data: payload.encode_to_vec(), data_schema }
    }
}

/// The bus subject (and CloudEvents type) of a service's event: `tingjian.<service>.<name>`.
pub fn event_type(service: &str, name: &str) -> String {
    format!("tingjian.{service}.{name}")
}

/// Builds the envelope of an event of `service`, carrying the current trace context.
pub fn envelope(service: &str, event: &NewEvent, id: String, time: DateTime<Utc>) -> Event {
    let (traceparent, tracestate) = crate::telemetry::current_trace_headers();
    Event {
        id,
        source: format!("/tingjian/{service}"),
        r#type: event_type(service, event.name),
        subject: event.subject.clone(),
        time: Some(crate::wire::timestamp(time)),
        data_content_type: "application/protobuf".to_owned(),
        data_schema: event.data_schema.to_owned(),
        data: event.data.clone(),
        traceparent,
        tracestate,
        spec_version: "1.0".to_owned(),
    }
}

/// Records `event` of `service` in the outbox, inside the transaction that makes the change it
/// reports; returns the event's id. Commit the transaction and the event exists; roll it back and it
/// never did.
pub async fn record(tx: &mut Tx, service: &str, event: NewEvent) -> Result<String, sqlx::Error> {
    let id = crate::wire::new_id();
    let now = crate::clock::now();
    let envelope = envelope(service, &event, id.clone(), now);
    let event_type = envelope.r#type.clone();
    let bytes = envelope.encode_to_vec();
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO event_outbox (id, subject, event_type, envelope, create_time) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&id)
        .bind(&event.subject)
        .bind(&event_type)
        .bind(&bytes)
        .bind(now)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(id)
}

/// Decodes an envelope received from the bus.
pub fn decode(bytes: &[u8]) -> Result<Event, prost::DecodeError> {
    Event::decode(bytes)
}
