//! Throughput of the events backbone, next to raw JetStream publishing measured in the same run.
//!
//! ```text
//! cargo run --release -p tingjian-tests --bin bench-events -- [--events N] [--nats URL] [--postgres URL]
//! ```
//!
//! 1. raw JetStream: N envelopes published to a fresh stream in batches of the relay's size, every
//!    batch pipelined and its acks awaited (what the relay does, without the database);
//! 2. end to end on PostgreSQL + JetStream: N events recorded by 16 concurrent transactions in an
//!    outbox → relay → JetStream → consumer applying each into PostgreSQL, from the first write to the
//!    last effect;
//! 3. the same on the embedded bus with SQLite.
//!
//! Streams and schemas it creates are deleted at the end.

use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::Connection;
use tingjian_runtime::events::bus::{Bus, EmbeddedBus, Outgoing};
use tingjian_runtime::events::consumer::{Consumer, ConsumerConfig};
use tingjian_runtime::events::relay::{Relay, RelayConfig};
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::settings::DatabaseSettings;
use tingjian_runtime::shutdown::Shutdown;
use tingjian_runtime::{Database, Secret};
use tingjian_tests::events::{DATA_SCHEMA, EVENT_NAME, Entry, MIGRATIONS, Recorder, count, unique_name, write_entry};

const WRITERS: usize = 16;

#[derive(Debug)]
struct Args {
    events: usize,
    nats: String,
    postgres: String,
}

fn usage() -> ! {
    eprintln!("usage: bench-events [--events N] [--nats URL] [--postgres URL]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        events: 20_000,
        nats: std::env::var("TINGJIAN_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
        postgres: std::env::var("TINGJIAN_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--events" => args.events = value.parse().unwrap_or_else(|_| usage()),
            "--nats" => args.nats = value,
            "--postgres" => args.postgres = value,
            _ => usage(),
        }
    }
    if args.events == 0 {
        usage();
    }
    args
}

/// One measured row of the table.
#[derive(Debug)]
struct Row {
    what: &'static str,
    events: usize,
    elapsed: Option<Duration>,
    note: String,
}

impl Row {
    fn rate(&self) -> Option<f64> {
        self.elapsed.map(|e| self.events as f64 / e.as_secs_f64())
    }
}

fn main() {
    let args = parse_args();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let rows = runtime.block_on(run(&args));
    print_table(&args, &rows);
}

async fn run(args: &Args) -> Vec<Row> {
    let nats_ok = nats_reachable(&args.nats).await;
    let pg_ok = postgres_reachable(&args.postgres).await;
    let mut rows = Vec::new();
    eprintln!("measuring raw JetStream publishing…");
    rows.push(match nats_ok {
        true => raw_jetstream(args).await,
        false => skipped("raw JetStream publish", args.events, &format!("NATS unreachable at {}", args.nats)),
    });
    eprintln!("measuring PostgreSQL → JetStream → PostgreSQL…");
    rows.push(match (nats_ok, pg_ok) {
        (true, true) => end_to_end_postgres_jetstream(args).await,
        (false, _) => skipped("outbox → JetStream → consumer", args.events, "NATS unreachable"),
        (_, false) => skipped("outbox → JetStream → consumer", args.events, "PostgreSQL unreachable"),
    });
    eprintln!("measuring SQLite → embedded bus → SQLite…");
    rows.push(end_to_end_sqlite_embedded(args).await);
    rows
}

fn skipped(what: &'static str, events: usize, why: &str) -> Row {
    Row { what, events, elapsed: None, note: format!("skipped: {why}") }
}

async fn nats_reachable(url: &str) -> bool {
    matches!(tokio::time::timeout(Duration::from_secs(5), async_nats::connect(url)).await, Ok(Ok(_)))
}

async fn postgres_reachable(url: &str) -> bool {
    let Ok(options) = sqlx::postgres::PgConnectOptions::from_str(url) else { return false };
    matches!(tokio::time::timeout(Duration::from_secs(5), sqlx::PgConnection::connect_with(&options)).await, Ok(Ok(_)))
}

/// An encoded envelope of the size the end-to-end runs carry.
fn sample_envelope(service: &str, i: usize) -> (String, Vec<u8>) {
    let entry = Entry { ledger_id: format!("L{i:08}"), amount: i as i64, counter: 0, poison: false };
    let event = NewEvent::new(EVENT_NAME, format!("ledger/{i}"), DATA_SCHEMA, &entry);
    let id = tingjian_runtime::wire::new_id();
    let envelope = events::envelope(service, &event, id.clone(), chrono::Utc::now());
    (id, prost::Message::encode_to_vec(&envelope))
}

async fn raw_jetstream(args: &Args) -> Row {
    let service = unique_name("benchraw");
    let bus = Bus::connect(Some(&args.nats), std::path::Path::new("unused")).await.expect("JetStream");
    let subject = events::event_type(&service, EVENT_NAME);
    let messages: Vec<Outgoing> = (0..args.events)
        .map(|i| {
            let (id, payload) = sample_envelope(&service, i);
            Outgoing { id, subject: subject.clone(), payload: payload.into() }
        })
        .collect();
    let size = messages.first().map_or(0, |m| m.payload.len());
    // The stream exists before the clock starts, as it does for a running relay.
    bus.publish(&messages[..1]).await.expect("first publish");
    let batch = RelayConfig::new(&service).batch;
    let started = Instant::now();
    for chunk in messages[1..].chunks(batch) {
        bus.publish(chunk).await.expect("publish");
    }
    let elapsed = started.elapsed();
    delete_stream(&args.nats, &service).await;
    Row {
        what: "raw JetStream publish",
        events: args.events - 1,
        elapsed: Some(elapsed),
        note: format!("batches of {batch}, {size}-byte envelopes, acks awaited"),
    }
}

async fn delete_stream(url: &str, service: &str) {
    if let Ok(client) = async_nats::connect(url).await {
        let _ = async_nats::jetstream::new(client)
            .delete_stream(format!("TINGJIAN_{}", service.to_ascii_uppercase()))
            .await;
    }
}

fn settings(url: String, schema: Option<String>) -> DatabaseSettings {
    DatabaseSettings { url: Secret::new(url), schema, max_connections: 8, connect_timeout: Duration::from_secs(10) }
}

async fn end_to_end_postgres_jetstream(args: &Args) -> Row {
    let service = unique_name("bench");
    let producer_schema = format!("{service}_producer");
    let consumer_schema = format!("{service}_consumer");
    let producer = Database::connect(&settings(args.postgres.clone(), Some(producer_schema.clone())), &producer_schema)
        .await
        .expect("producer schema");
    let consumer = Database::connect(&settings(args.postgres.clone(), Some(consumer_schema.clone())), &consumer_schema)
        .await
        .expect("consumer schema");
    producer.migrate(&MIGRATIONS).await.expect("migrations");
    consumer.migrate(&MIGRATIONS).await.expect("migrations");
    let relay_bus = Bus::connect(Some(&args.nats), std::path::Path::new("unused")).await.expect("JetStream");
    let consumer_bus = Bus::connect(Some(&args.nats), std::path::Path::new("unused")).await.expect("JetStream");
    let result = end_to_end(args.events, &service, &producer, &consumer, relay_bus, consumer_bus).await;
    producer.close().await;
    consumer.close().await;
    delete_stream(&args.nats, &service).await;
    if let Ok(options) = sqlx::postgres::PgConnectOptions::from_str(&args.postgres)
        && let Ok(mut conn) = sqlx::PgConnection::connect_with(&options).await
    {
        for schema in [producer_schema, consumer_schema] {
            let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE")).execute(&mut conn).await;
        }
        let _ = conn.close().await;
    }
    let (elapsed, wrote) = result;
    Row {
        what: "outbox → JetStream → consumer",
        events: args.events,
        elapsed: Some(elapsed),
        note: format!("PostgreSQL both ends; writes alone {:.0}/s", args.events as f64 / wrote.as_secs_f64()),
    }
}

async fn end_to_end_sqlite_embedded(args: &Args) -> Row {
    let dir = tempfile::tempdir().expect("temporary directory");
    let sqlite = |name: &str| settings(format!("sqlite://{}", dir.path().join(name).display()), None);
    let producer = Database::connect(&sqlite("producer.db"), "unused").await.expect("producer database");
    let consumer = Database::connect(&sqlite("consumer.db"), "unused").await.expect("consumer database");
    producer.migrate(&MIGRATIONS).await.expect("migrations");
    consumer.migrate(&MIGRATIONS).await.expect("migrations");
    let bus_path = dir.path().join("bus.db");
    let relay_bus = Bus::Embedded(EmbeddedBus::open(&bus_path).await.expect("embedded bus"));
    let consumer_bus = Bus::Embedded(EmbeddedBus::open(&bus_path).await.expect("embedded bus"));
    let service = unique_name("bench");
    let (elapsed, wrote) = end_to_end(args.events, &service, &producer, &consumer, relay_bus, consumer_bus).await;
    producer.close().await;
    consumer.close().await;
    Row {
        what: "outbox → embedded bus → consumer",
        events: args.events,
        elapsed: Some(elapsed),
        note: format!("SQLite both ends; writes alone {:.0}/s", args.events as f64 / wrote.as_secs_f64()),
    }
}

/// Runs a relay and a consumer while 16 tasks record `events` events; returns the time from the first
/// write to the last effect, and the time the writes alone took.
async fn end_to_end(
    events: usize,
    service: &str,
    producer: &Database,
    consumer: &Database,
    relay_bus: Bus,
    consumer_bus: Bus,
) -> (Duration, Duration) {
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(service);
    let config = ConsumerConfig::new(&unique_name("benchc"), &[service]);
    let relay = tokio::spawn(Relay::new(producer.clone(), relay_bus, RelayConfig::new(service)).run(shutdown.clone()));
    let consumer_task =
        tokio::spawn(Consumer::new(consumer.clone(), consumer_bus, config, recorder).run(shutdown.clone()));
    // Let the consumer subscribe before the clock starts.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = producer.clone();
            let service = service.to_owned();
            tokio::spawn(async move {
                for i in (w..events).step_by(WRITERS) {
                    let entry = Entry { ledger_id: format!("L{i:08}"), amount: i as i64, counter: 0, poison: false };
                    let mut attempt = 0;
                    while let Err(e) = write_entry(&db, &service, &format!("ledger/{i}"), &entry, true).await {
                        attempt += 1;
                        assert!(attempt < 10, "write failed: {e}");
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }
    let wrote = started.elapsed();
    loop {
        let applied = count(consumer, "SELECT COUNT(*) FROM effect").await;
        if applied as usize >= events {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = started.elapsed();
    shutdown.trigger();
    let _ = relay.await;
    let _ = consumer_task.await;
    let applied = count(consumer, "SELECT COUNT(*) FROM effect").await;
    assert_eq!(applied as usize, events, "every event applied exactly once");
    (elapsed, wrote)
}

fn print_table(args: &Args, rows: &[Row]) {
    println!();
    println!("events backbone throughput, {} events", args.events);
    println!();
    println!("{:<34} {:>8} {:>10} {:>12}  notes", "path", "events", "seconds", "events/s");
    println!("{}", "-".repeat(100));
    for row in rows {
        match (row.elapsed, row.rate()) {
            (Some(elapsed), Some(rate)) => println!(
                "{:<34} {:>8} {:>10.2} {:>12.0}  {}",
                row.what,
                row.events,
                elapsed.as_secs_f64(),
                rate,
                row.note
            ),
            _ => println!("{:<34} {:>8} {:>10} {:>12}  {}", row.what, row.events, "-", "-", row.note),
        }
    }
    println!();
    let raw = rows[0].rate();
    for row in &rows[1..] {
        if let (Some(raw), Some(rate)) = (raw, row.rate()) {
            println!("{:<34} {:>6.1} % of raw JetStream publish throughput", row.what, 100.0 * rate / raw);
        }
    }
}
