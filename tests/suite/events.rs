//! The events backbone end to end — outbox → relay → bus → consumer — on pairings of storage
//! (SQLite, PostgreSQL) and bus (the embedded SQLite log, NATS JetStream): nothing lost, nothing
//! doubled, nothing from a rolled-back transaction, order kept per subject, poison events
//! dead-lettered.
//!
//! | scenario                                   | PG+JetStream | SQLite+embedded | SQLite+JetStream | PG+embedded |
//! |--------------------------------------------|:---:|:---:|:---:|:---:|
//! | a: concurrent transactions (10,000 / 2,000) |  x  |  x  |  x  |  x  |
//! | a: late commit behind a sequence gap        |  x  |     |     |  x  |
//! | b: relay and consumer killed, restarted     |  x  |  x  |     |     |
//! | b: published but not marked sent            |  x  |  x  |  x  |  x  |
//! | b: consumer's database connections cut      |  x  |     |     |  x  |
//! | c: NATS killed and restarted, down at start, back empty, shutdown while down | x | | | |
//! | d: two relays running; passes racing        |  x  |  x  |  x  |  x  |
//! | d: two consumer replicas                    |  x  |  x  |     |     |
//! | e: poison event dead-lettered               |  x  |  x  |  x  |  x  |
//!
//! Each test has its own producer and consumer databases, its own service name (hence its own
//! JetStream stream, deleted at the end) and its own consumer name. JetStream tests use the server of
//! `TINGJIAN_TEST_NATS_URL` (default `nats://127.0.0.1:4222`) and are skipped with a warning when it
//! cannot be reached outside CI (`CI=true` or `TINGJIAN_REQUIRE_NATS=1` make it required); the (c)
//! tests start a private `nats-server` on a free loopback port.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tingjian_runtime::Database;
use tingjian_runtime::events::bus::{Bus, EmbeddedBus, Outgoing};
use tingjian_runtime::events::consumer::{Consumer, ConsumerConfig};
use tingjian_runtime::events::relay::{self, Pass, Relay, RelayConfig};
use tingjian_runtime::events::{self, event_type};
use tingjian_runtime::on_pool;
use tingjian_runtime::shutdown::Shutdown;
use tingjian_runtime::storage::testing::TestDatabase;
use tingjian_tests::StorageBackend;
use tingjian_tests::events::{
    DATA_SCHEMA, EVENT_NAME, Entry, JetStreamCleanup, MIGRATIONS, NatsServer, POISON_REASON_LINE_2, Recorder, count,
    nats_url, poison_reason, unique_name, write_entry_retrying,
};
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BusKind {
    Embedded,
    JetStream,
}

/// One test's world: a producer service with its outbox, a consuming service, and the bus between.
#[derive(Debug)]
struct Env {
    backend: StorageBackend,
    kind: BusKind,
    service: String,
    producer: TestDatabase,
    consumer: TestDatabase,
    producer_bus: Bus,
    consumer_bus: Bus,
    nats: Option<String>,
    nats_client: Option<async_nats::Client>,
    bus_path: std::path::PathBuf,
    cleanup: JetStreamCleanup,
    _dir: tempfile::TempDir,
}

impl Env {
    /// `None` (skip) when PostgreSQL or NATS is asked for but not reachable outside CI.
    async fn new(backend: StorageBackend, kind: BusKind) -> Option<Self> {
        let nats = match kind {
            BusKind::JetStream => Some(nats_url()?),
            BusKind::Embedded => None,
        };
        Self::build(backend, nats, true).await
    }

    /// On the JetStream server at `url` (a private one: nothing to clean up there).
    async fn on_private_server(backend: StorageBackend, url: String) -> Option<Self> {
        Self::build(backend, Some(url), false).await
    }

    async fn build(backend: StorageBackend, nats: Option<String>, clean: bool) -> Option<Self> {
        let producer = TestDatabase::fresh(backend, &MIGRATIONS).await?;
        let consumer = TestDatabase::fresh(backend, &MIGRATIONS).await?;
        let dir = tempfile::tempdir().expect("temporary directory");
        let bus_path = dir.path().join("bus.db");
        let service = unique_name("t");
        let mut cleanup = JetStreamCleanup::new(if clean { nats.as_deref() } else { None });
        cleanup.service(&service);
        let env = Self {
            backend,
            kind: if nats.is_some() { BusKind::JetStream } else { BusKind::Embedded },
            producer_bus: open_bus(nats.as_deref(), &bus_path).await,
            consumer_bus: open_bus(nats.as_deref(), &bus_path).await,
            service,
            producer,
            consumer,
            nats_client: match &nats {
                Some(url) => Some(
                    async_nats::ConnectOptions::new()
                        .retry_on_initial_connect()
                        .connect(url.as_str())
                        .await
                        .expect("NATS client for checks"),
                ),
                None => None,
            },
            nats,
            bus_path,
            cleanup,
            _dir: dir,
        };
        Some(env)
    }

    fn label(&self) -> String {
        format!("{}+{:?}", self.backend, self.kind)
    }

    fn relay_config(&self) -> RelayConfig {
        let mut config = RelayConfig::new(&self.service);
        // A killed relay's SQLite lease runs out quickly, so its successor takes over within the test.
        config.lease = Duration::from_secs(1);
        config.idle_poll = Duration::from_millis(50);
        config
    }

    fn relay(&self) -> Relay {
        Relay::new(self.producer.db.clone(), self.producer_bus.clone(), self.relay_config())
    }

    fn consumer_config(&mut self, name: &str) -> ConsumerConfig {
        self.cleanup.dead_letters_of(name);
        ConsumerConfig::new(name, &[&self.service])
    }

    fn spawn_relay(&self, relay: Relay, shutdown: &Shutdown) -> JoinHandle<()> {
        tokio::spawn(relay.run(shutdown.clone()))
    }

    fn spawn_consumer(&self, config: ConsumerConfig, recorder: &Recorder, shutdown: &Shutdown) -> JoinHandle<()> {
        let consumer = Consumer::new(self.consumer.db.clone(), self.consumer_bus.clone(), config, recorder.clone());
        tokio::spawn(consumer.run(shutdown.clone()))
    }

    fn entry(&self, ledger_id: String, counter: u64) -> Entry {
        Entry { ledger_id, amount: 100, counter, poison: false }
    }

    async fn effects(&self) -> i64 {
        count(&self.consumer.db, "SELECT COUNT(*) FROM effect").await
    }

    async fn sent(&self) -> i64 {
        count(&self.producer.db, "SELECT COUNT(*) FROM event_outbox WHERE sent_time IS NOT NULL").await
    }

    async fn unsent(&self) -> i64 {
        count(&self.producer.db, "SELECT COUNT(*) FROM event_outbox WHERE sent_time IS NULL").await
    }

    /// Events published but not yet acknowledged by `config`'s consumer (`u64::MAX` when JetStream has
    /// no such consumer). On JetStream this only reads: subscribing would create the stream and the
    /// durable consumer, and hide a relay or consumer that fails to.
    async fn pending(&self, config: &ConsumerConfig) -> u64 {
        if let Some(client) = &self.nats_client {
            let js = async_nats::jetstream::new(client.clone());
            let Ok(stream) = js.get_stream(format!("TINGJIAN_{}", self.service.to_ascii_uppercase())).await else {
                return u64::MAX;
            };
            let Ok(mut consumer) =
                stream.get_consumer::<async_nats::jetstream::consumer::pull::Config>(&config.name).await
            else {
                return u64::MAX;
            };
            let Ok(info) = consumer.info().await else { return u64::MAX };
            return info.num_pending + info.num_ack_pending as u64;
        }
        let mut subscription = self
            .consumer_bus
            .subscribe(&config.name, &[&self.service], config.ack_wait)
            .await
            .expect("subscription for its lag");
        subscription.pending().await.expect("pending count")
    }

    /// Waits until the consumer applied `expected` events and acknowledged everything, then a little
    /// longer for anything extra to show.
    async fn settle(&self, config: &ConsumerConfig, expected: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let (effects, pending) = (self.effects().await, self.pending(config).await);
            if effects >= expected as i64 && pending == 0 {
                break;
            }
            if Instant::now() > deadline {
                panic!(
                    "{}: timed out after {timeout:?} waiting for {expected} effects and nothing pending: {effects} \
                     effects, {} unsent in the outbox, {pending} pending for the consumer",
                    self.label(),
                    self.unsent().await
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Every committed ledger row has exactly one effect with its event id (except `no_effect`); no
    /// effect of a rolled-back transaction; the outbox holds exactly the committed events, all sent.
    async fn assert_exactly_once(&self, rolled_back: &[String], no_effect: &HashSet<String>, recorder: &Recorder) {
        let label = self.label();
        let committed: Vec<(String, String)> = on_pool!(&self.producer.db, pool => {
            sqlx::query_as("SELECT id, event_id FROM ledger").fetch_all(pool).await
        })
        .expect("ledger");
        let outbox: Vec<(String, Option<String>)> = on_pool!(&self.producer.db, pool => {
            sqlx::query_as("SELECT id, event_type FROM event_outbox").fetch_all(pool).await
        })
        .expect("outbox");
        let committed_ids: HashSet<&str> = committed.iter().map(|(_, e)| e.as_str()).collect();
        let outbox_ids: HashSet<&str> = outbox.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(committed_ids.len(), committed.len(), "{label}: one event per ledger row");
        assert_eq!(outbox_ids, committed_ids, "{label}: the outbox holds exactly the committed transactions' events");
        assert_eq!(self.unsent().await, 0, "{label}: every outbox row is marked sent");
        assert_eq!(relay::oldest_unsent(&self.producer.db).await.expect("lag"), None, "{label}: no relay lag");
        for id in rolled_back {
            assert!(!committed_ids.contains(id.as_str()), "{label}: rolled-back event {id} is not in the outbox");
        }

        let effects: Vec<(String, String)> = on_pool!(&self.consumer.db, pool => {
            sqlx::query_as("SELECT event_id, ledger_id FROM effect").fetch_all(pool).await
        })
        .expect("effects");
        let mut per_event: HashMap<&str, (usize, &str)> = HashMap::new();
        for (event_id, ledger_id) in &effects {
            per_event.entry(event_id.as_str()).or_insert((0, ledger_id.as_str())).0 += 1;
        }
        let doubled: Vec<_> = per_event.iter().filter(|(_, (n, _))| *n > 1).collect();
        assert!(doubled.is_empty(), "{label}: {} events applied more than once: {doubled:?}", doubled.len());
        let mut missing = Vec::new();
        for (ledger_id, event_id) in &committed {
            match per_event.get(event_id.as_str()) {
                None if no_effect.contains(event_id) => {}
                None => missing.push(event_id.as_str()),
                Some(_) if no_effect.contains(event_id) => panic!("{label}: event {event_id} should have no effect"),
                Some((_, applied_to)) => assert_eq!(applied_to, ledger_id, "{label}: effect of {event_id}"),
            }
        }
        assert!(
            missing.is_empty(),
            "{label}: {} committed events never applied, e.g. {:?}",
            missing.len(),
            &missing[..missing.len().min(5)]
        );
        let stray: Vec<_> = per_event.keys().filter(|id| !committed_ids.contains(**id)).collect();
        assert!(stray.is_empty(), "{label}: effects of events never committed: {stray:?}");
        assert_eq!(effects.len(), committed.len() - no_effect.len(), "{label}: one effect per committed event");
        let violations = recorder.observed().violations.clone();
        assert!(violations.is_empty(), "{label}: envelopes not as recorded: {violations:?}");
        let consumed = count(&self.consumer.db, "SELECT COUNT(*) FROM event_consumed").await;
        assert_eq!(
            consumed as usize,
            committed.len() - no_effect.len(),
            "{label}: one consumed-event record per effect"
        );
    }

    /// Per subject, effects were made in counter order 1, 2, 3, … with no gap and no repeat.
    async fn assert_subject_order(&self, expected_per_subject: &HashMap<String, u64>) {
        let rows: Vec<(String, i64)> = on_pool!(&self.consumer.db, pool => {
            sqlx::query_as("SELECT subject, counter FROM effect ORDER BY row_id").fetch_all(pool).await
        })
        .expect("effects");
        let mut seen: HashMap<String, Vec<u64>> = HashMap::new();
        for (subject, counter) in rows {
            seen.entry(subject).or_default().push(counter as u64);
        }
        for (subject, last) in expected_per_subject {
            let counters = seen.remove(subject).unwrap_or_default();
            let expected: Vec<u64> = (1..=*last).collect();
            if counters != expected {
                let out_of_order: Vec<_> = counters.windows(2).filter(|w| w[1] != w[0] + 1).take(10).collect();
                panic!(
                    "{}: subject {subject}: {} effects, expected counters 1..={last} in order; breaks: {out_of_order:?}",
                    self.label(),
                    counters.len()
                );
            }
        }
        assert!(seen.is_empty(), "{}: effects on unexpected subjects {:?}", self.label(), seen.keys());
    }
}

async fn open_bus(nats: Option<&str>, path: &std::path::Path) -> Bus {
    match nats {
        Some(url) => Bus::connect(Some(url), path).await.expect("JetStream bus"),
        None => Bus::Embedded(EmbeddedBus::open(path).await.expect("embedded bus")),
    }
}

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Stops `tasks` through `shutdown` and checks that they stop promptly.
async fn stop(shutdown: &Shutdown, tasks: Vec<JoinHandle<()>>) {
    shutdown.trigger();
    for task in tasks {
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("relay and consumer stop soon after the shutdown")
            .expect("relay and consumer do not panic");
    }
}

/// What writers did: committed `(ledger id, event id)` and rolled-back event ids.
#[derive(Debug, Default)]
struct Written {
    committed: Vec<(String, String)>,
    rolled_back: Vec<String>,
}

impl Written {
    fn merge(&mut self, other: Written) {
        self.committed.extend(other.committed);
        self.rolled_back.extend(other.rolled_back);
    }
}

/// Writes entries `indexes` of `env`'s producer, each on its own subject, rolling back every tenth.
fn spawn_writer(env: &Env, indexes: impl Iterator<Item = usize> + Send + 'static) -> JoinHandle<Written> {
    let db = env.producer.db.clone();
    let service = env.service.clone();
    tokio::spawn(async move {
        let mut written = Written::default();
        for i in indexes {
            let entry = Entry { ledger_id: format!("L{i:06}"), amount: i as i64, counter: 0, poison: false };
            let commit = i % 10 != 7;
            let id = write_entry_retrying(&db, &service, &format!("ledger/{i}"), &entry, commit)
                .await
                .expect("the outbox write commits or rolls back");
            if commit {
                written.committed.push((entry.ledger_id, id));
            } else {
                written.rolled_back.push(id);
            }
        }
        written
    })
}

/// A writer that keeps writing (paced) until `stop`, counting its commits in `progress`.
fn spawn_paced_writer(
    env: &Env,
    stop: Arc<AtomicBool>,
    progress: Arc<AtomicUsize>,
    pace: Duration,
) -> JoinHandle<Written> {
    let db = env.producer.db.clone();
    let service = env.service.clone();
    tokio::spawn(async move {
        let mut written = Written::default();
        let mut i = 0usize;
        while !stop.load(Ordering::SeqCst) {
            let entry = Entry { ledger_id: format!("P{i:06}"), amount: i as i64, counter: 0, poison: false };
            let commit = i % 10 != 7;
            let id = write_entry_retrying(&db, &service, &format!("ledger/{i}"), &entry, commit)
                .await
                .expect("the outbox write commits or rolls back, whatever the bus does");
            if commit {
                written.committed.push((entry.ledger_id, id));
                progress.fetch_add(1, Ordering::SeqCst);
            } else {
                written.rolled_back.push(id);
            }
            i += 1;
            tokio::time::sleep(pace).await;
        }
        written
    })
}

// ---------------------------------------------------------------------------------------------------
// (a) Many concurrent transactions, some rolled back: each committed event applied exactly once.
// ---------------------------------------------------------------------------------------------------

/// Events written in scenario (a): 10,000 on the cluster's pairing (PostgreSQL + JetStream) and the
/// embedded suite's (SQLite + embedded bus); fewer on the two mixed pairings, to keep the suite quick.
fn concurrent_events(backend: StorageBackend, kind: BusKind) -> usize {
    match (backend, kind) {
        (StorageBackend::Postgres, BusKind::JetStream) | (StorageBackend::Sqlite, BusKind::Embedded) => 10_000,
        _ => 2_000,
    }
}

const WRITERS: usize = 16;

async fn concurrent_transactions(backend: StorageBackend, kind: BusKind) {
    let Some(mut env) = Env::new(backend, kind).await else { return };
    let total = concurrent_events(backend, kind);
    let started = Instant::now();
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let config = env.consumer_config(&unique_name("c"));

    // An event written while no relay runs is lag.
    let relay = env.relay();
    assert_eq!(relay.lag().await.expect("lag"), None, "an empty outbox has no lag");
    let mut written = spawn_writer(&env, 0..1).await.expect("first writer");
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(relay.lag().await.expect("lag").is_some_and(|l| l > Duration::ZERO), "an unsent event is lag");

    let tasks = vec![env.spawn_consumer(config.clone(), &recorder, &shutdown), env.spawn_relay(relay, &shutdown)];
    let writers: Vec<_> = (0..WRITERS).map(|w| spawn_writer(&env, (1 + w..total).step_by(WRITERS))).collect();
    for writer in writers {
        written.merge(writer.await.expect("writer"));
    }
    let wrote = started.elapsed();
    assert_eq!(written.committed.len() + written.rolled_back.len(), total);
    assert!(written.rolled_back.len() >= total / 11, "about a tenth rolled back");

    env.settle(&config, written.committed.len(), Duration::from_secs(120)).await;
    let applied = started.elapsed();
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    stop(&shutdown, tasks).await;
    eprintln!(
        "{}: {} events ({} committed) written by {WRITERS} tasks in {:.1?}, all applied after {:.1?} ({:.0} events/s)",
        env.label(),
        total,
        written.committed.len(),
        wrote,
        applied,
        written.committed.len() as f64 / applied.as_secs_f64()
    );
}

/// A transaction that took its outbox sequence number first but commits after later ones (a gap in the
/// sequence while the relay runs): its event is published on a later pass, not skipped.
async fn late_commit(kind: BusKind) {
    let Some(mut env) = Env::new(StorageBackend::Postgres, kind).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let config = env.consumer_config(&unique_name("c"));
    let consumer = env.spawn_consumer(config.clone(), &recorder, &shutdown);
    let relay = env.relay();

    let late = env.entry("LATE".into(), 0);
    let mut tx = env.producer.db.begin().await.expect("transaction");
    let late_id =
        events::record(&mut tx, &env.service, events::NewEvent::new(EVENT_NAME, "ledger/late", DATA_SCHEMA, &late))
            .await
            .expect("recorded");
    tingjian_runtime::on_tx!(&mut tx, conn => {
        sqlx::query("INSERT INTO ledger (id, amount, event_id) VALUES ($1, $2, $3)")
            .bind(&late.ledger_id)
            .bind(late.amount)
            .bind(&late_id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })
    .expect("ledger row");
    let mut written = spawn_writer(&env, 0..20).await.expect("writer");
    let mut published = 0;
    while let Pass::Published(n) = relay.pass().await.expect("pass") {
        published += n;
    }
    assert_eq!(published, written.committed.len(), "the committed events behind the open transaction are published");
    assert_eq!(relay.lag().await.expect("lag"), None, "an uncommitted event is not lag");

    tx.commit().await.expect("late commit");
    written.committed.push((late.ledger_id.clone(), late_id.clone()));
    assert!(relay.lag().await.expect("lag").is_some(), "the late event is now lag");
    assert_eq!(relay.pass().await.expect("pass"), Pass::Published(1), "the late event is published on the next pass");
    assert_eq!(relay.pass().await.expect("pass"), Pass::Idle);
    env.settle(&config, written.committed.len(), Duration::from_secs(30)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    stop(&shutdown, vec![consumer]).await;
}

// ---------------------------------------------------------------------------------------------------
// (b) Relay and consumer killed mid-stream and restarted; a relay that published but died before
//     marking its rows sent.
// ---------------------------------------------------------------------------------------------------

async fn killed_mid_stream(backend: StorageBackend, kind: BusKind) {
    let Some(mut env) = Env::new(backend, kind).await else { return };
    let started = Instant::now();
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let name = unique_name("c");
    let mut config = env.consumer_config(&name);
    // Deliveries of a killed consumer come again soon.
    config.ack_wait = Duration::from_secs(1);
    config.batch = 32;
    let mut relay_config = env.relay_config();
    relay_config.batch = 32;

    let stop_writing = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let writer = spawn_paced_writer(&env, stop_writing.clone(), progress.clone(), Duration::from_millis(1));
    for round in 0..3 {
        let relay = Relay::new(env.producer.db.clone(), env.producer_bus.clone(), relay_config.clone());
        let relay_task = env.spawn_relay(relay, &shutdown);
        let consumer_task = env.spawn_consumer(config.clone(), &recorder, &shutdown);
        let (sent, applied) = (env.sent().await, env.effects().await);
        wait_until("the relay and the consumer make progress", Duration::from_secs(60), || async {
            env.sent().await >= sent + 150 && env.effects().await >= applied + 100
        })
        .await;
        // Kill both mid-stream, in either order, as a crash would: no shutdown, no clean-up.
        let (first, second) = if round % 2 == 0 { (relay_task, consumer_task) } else { (consumer_task, relay_task) };
        first.abort();
        tokio::time::sleep(Duration::from_millis(3 * round)).await;
        second.abort();
        assert!(first.await.is_err_and(|e| e.is_cancelled()));
        assert!(second.await.is_err_and(|e| e.is_cancelled()));
        // With no relay running, what is written now stays in the outbox: the relay lags.
        let unsent = env.unsent().await;
        wait_until("a write while the relay is down", Duration::from_secs(10), || async {
            env.unsent().await > unsent
        })
        .await;
        assert!(env.relay().lag().await.expect("lag").is_some(), "unsent events are lag");
    }
    stop_writing.store(true, Ordering::SeqCst);
    let written = writer.await.expect("writer");
    assert!(written.committed.len() >= 450, "the writer kept writing through the kills");

    let tasks = vec![env.spawn_consumer(config.clone(), &recorder, &shutdown), env.spawn_relay(env.relay(), &shutdown)];
    env.settle(&config, written.committed.len(), Duration::from_secs(60)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    stop(&shutdown, tasks).await;
    eprintln!(
        "{}: {} events through 3 relay and consumer kills in {:.1?}",
        env.label(),
        written.committed.len(),
        started.elapsed()
    );
}

/// A relay that published rows and died before marking them sent; some events even on the bus twice
/// under different message ids (as after the bus's duplicate window): the consumer applies each once.
async fn published_but_not_marked(backend: StorageBackend, kind: BusKind) {
    let Some(mut env) = Env::new(backend, kind).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let config = env.consumer_config(&unique_name("c"));
    let written = spawn_writer(&env, 0..400).await.expect("writer");

    // What a relay publishes before it dies: the first rows, in order, not marked sent.
    let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&env.producer.db, pool => {
        sqlx::query_as("SELECT id, event_type, envelope FROM event_outbox ORDER BY seq LIMIT 250").fetch_all(pool).await
    })
    .expect("outbox rows");
    let outgoing: Vec<Outgoing> = rows
        .iter()
        .map(|(id, subject, envelope)| Outgoing {
            id: id.clone(),
            subject: subject.clone(),
            payload: envelope.clone().into(),
        })
        .collect();
    env.producer_bus.publish(&outgoing).await.expect("published");
    // The same events again under other message ids: the bus cannot drop these.
    let again: Vec<Outgoing> =
        outgoing.iter().take(100).map(|m| Outgoing { id: format!("{}.again", m.id), ..m.clone() }).collect();
    env.producer_bus.publish(&again).await.expect("published again");
    assert_eq!(env.unsent().await as usize, written.committed.len(), "nothing marked sent");
    assert!(env.relay().lag().await.expect("lag").is_some());

    let consumer = env.spawn_consumer(config.clone(), &recorder, &shutdown);
    wait_until("the published events applied", Duration::from_secs(30), || async { env.effects().await >= 250 }).await;
    // The successor relay publishes everything, the first 250 for the second (or third) time.
    let relay = env.spawn_relay(env.relay(), &shutdown);
    env.settle(&config, written.committed.len(), Duration::from_secs(30)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;

    // The bus dropped the relay's republished ids, and kept the 100 under other ids.
    let on_bus = bus_messages(&env).await;
    assert_eq!(on_bus, written.committed.len() + 100, "{}: messages stored on the bus", env.label());
    stop(&shutdown, vec![consumer, relay]).await;
}

/// Messages the bus holds for `env`'s service.
async fn bus_messages(env: &Env) -> usize {
    match env.kind {
        BusKind::JetStream => {
            let url = env.nats.as_deref().expect("NATS URL");
            let js = async_nats::jetstream::new(async_nats::connect(url).await.expect("NATS"));
            let mut stream =
                js.get_stream(format!("TINGJIAN_{}", env.service.to_ascii_uppercase())).await.expect("stream");
            stream.info().await.expect("stream info").state.messages as usize
        }
        BusKind::Embedded => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&env.bus_path).read_only(true);
            let pool = sqlx::SqlitePool::connect_with(options).await.expect("bus file");
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM bus_message WHERE subject LIKE $1")
                .bind(format!("tingjian.{}.%", env.service))
                .fetch_one(&pool)
                .await
                .expect("count");
            pool.close().await;
            n as usize
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// (c) NATS stopped while events are written, then started again.
// ---------------------------------------------------------------------------------------------------

async fn nats_restarted(backend: StorageBackend) {
    let Some(mut server) = NatsServer::start().await else { return };
    let Some(mut env) = Env::on_private_server(backend, server.url()).await else { return };
    let started = Instant::now();
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let mut config = env.consumer_config(&unique_name("c"));
    config.ack_wait = Duration::from_secs(3);
    let mut relay_config = env.relay_config();
    relay_config.retry = Duration::from_millis(200);
    let relay = Relay::new(env.producer.db.clone(), env.producer_bus.clone(), relay_config);
    let tasks = vec![env.spawn_consumer(config.clone(), &recorder, &shutdown), env.spawn_relay(relay, &shutdown)];

    let stop_writing = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let writer = spawn_paced_writer(&env, stop_writing.clone(), progress.clone(), Duration::from_millis(2));
    wait_until("events flowing", Duration::from_secs(30), || async { env.effects().await >= 200 }).await;

    server.kill();
    let at_kill = progress.load(Ordering::SeqCst);
    let applied_at_kill = env.effects().await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = progress.load(Ordering::SeqCst) - at_kill;
    assert!(during >= 50, "writes commit while NATS is down ({during} in 2 s)");
    assert!(
        env.relay().lag().await.expect("lag").is_some_and(|l| l > Duration::from_millis(500)),
        "the outbox holds them"
    );
    assert!(env.effects().await - applied_at_kill < during as i64, "events wait for NATS");

    server.start_again().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop_writing.store(true, Ordering::SeqCst);
    let written = writer.await.expect("writer");
    env.settle(&config, written.committed.len(), Duration::from_secs(60)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    stop(&shutdown, tasks).await;
    eprintln!(
        "{}: {} events ({during} written while NATS was down) all applied once, {:.1?}",
        env.label(),
        written.committed.len(),
        started.elapsed()
    );
}

/// NATS not running when the services start: writes commit, and everything arrives once it starts.
async fn nats_down_at_start(backend: StorageBackend) {
    let Some(mut server) = NatsServer::not_started() else { return };
    let Some(mut env) = Env::on_private_server(backend, server.url()).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let config = env.consumer_config(&unique_name("c"));
    let tasks = vec![env.spawn_consumer(config.clone(), &recorder, &shutdown), env.spawn_relay(env.relay(), &shutdown)];
    let written = spawn_writer(&env, 0..300).await.expect("writes commit with NATS down");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(env.unsent().await as usize, written.committed.len(), "nothing could be sent");
    assert!(env.relay().lag().await.expect("lag").is_some());
    assert_eq!(env.effects().await, 0);

    server.start_again().await;
    env.settle(&config, written.committed.len(), Duration::from_secs(60)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    stop(&shutdown, tasks).await;
}

/// NATS restarted without its storage (no stream, no consumer any more): events written while it was
/// down still arrive once it is back, without restarting the services.
async fn nats_returns_empty(backend: StorageBackend) {
    let Some(mut server) = NatsServer::start().await else { return };
    let Some(mut env) = Env::on_private_server(backend, server.url()).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let mut config = env.consumer_config(&unique_name("c"));
    config.ack_wait = Duration::from_secs(3);
    let mut relay_config = env.relay_config();
    relay_config.retry = Duration::from_millis(200);
    let relay = Relay::new(env.producer.db.clone(), env.producer_bus.clone(), relay_config);
    let tasks = vec![env.spawn_consumer(config.clone(), &recorder, &shutdown), env.spawn_relay(relay, &shutdown)];
    let mut written = spawn_writer(&env, 0..200).await.expect("writer");
    env.settle(&config, written.committed.len(), Duration::from_secs(30)).await;

    server.kill_and_wipe();
    written.merge(spawn_writer(&env, 200..400).await.expect("writes commit with NATS down"));
    server.start_again().await;
    env.settle(&config, written.committed.len(), Duration::from_secs(30)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    stop(&shutdown, tasks).await;
}

/// A shutdown while NATS is down stops the relay and the consumer promptly.
async fn shutdown_while_nats_down(backend: StorageBackend) {
    let Some(mut server) = NatsServer::start().await else { return };
    let Some(mut env) = Env::on_private_server(backend, server.url()).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let config = env.consumer_config(&unique_name("c"));
    let tasks = vec![env.spawn_consumer(config.clone(), &recorder, &shutdown), env.spawn_relay(env.relay(), &shutdown)];
    let written = spawn_writer(&env, 0..50).await.expect("writer");
    env.settle(&config, written.committed.len(), Duration::from_secs(30)).await;
    server.kill();
    spawn_writer(&env, 50..250).await.expect("writes commit with NATS down");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let asked = Instant::now();
    stop(&shutdown, tasks).await;
    eprintln!("{}: relay and consumer stopped {:.1?} after the shutdown, NATS down", env.label(), asked.elapsed());
}

// ---------------------------------------------------------------------------------------------------
// (d) Two relays on one outbox: each effect once, order kept per subject.
// ---------------------------------------------------------------------------------------------------

const SUBJECTS: usize = 5;

/// Writers, one per subject, each writing `per_subject` transactions (a tenth rolled back) with a
/// counter that advances on commit; returns what they wrote and each subject's last counter.
async fn write_subjects(env: &Env, per_subject: usize) -> (Written, HashMap<String, u64>) {
    let writers: Vec<_> = (0..SUBJECTS)
        .map(|s| {
            let db = env.producer.db.clone();
            let service = env.service.clone();
            tokio::spawn(async move {
                let subject = format!("accounts/{s}");
                let mut written = Written::default();
                let mut counter = 0;
                for i in 0..per_subject {
                    let commit = (i + s) % 10 != 3;
                    let entry = Entry {
                        ledger_id: format!("S{s}-{i:05}"),
                        amount: i as i64,
                        counter: if commit { counter + 1 } else { 0 },
                        poison: false,
                    };
                    let id = write_entry_retrying(&db, &service, &subject, &entry, commit).await.expect("write");
                    if commit {
                        counter += 1;
                        written.committed.push((entry.ledger_id, id));
                    } else {
                        written.rolled_back.push(id);
                    }
                }
                (subject, counter, written)
            })
        })
        .collect();
    let mut all = Written::default();
    let mut last = HashMap::new();
    for writer in writers {
        let (subject, counter, written) = writer.await.expect("writer");
        all.merge(written);
        last.insert(subject, counter);
    }
    (all, last)
}

/// A second replica of the producer: its own pool on the same database, its own bus connection.
async fn replica(env: &Env) -> (Database, Bus) {
    let db = Database::connect(&env.producer.settings(), env.producer.schema.as_deref().unwrap_or("unused"))
        .await
        .expect("second pool");
    (db, open_bus(env.nats.as_deref(), &env.bus_path).await)
}

async fn two_relays_running(backend: StorageBackend, kind: BusKind) {
    let Some(mut env) = Env::new(backend, kind).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let config = env.consumer_config(&unique_name("c"));
    let (db2, bus2) = replica(&env).await;
    let mut small = env.relay_config();
    small.batch = 16;
    let tasks = vec![
        env.spawn_relay(Relay::new(env.producer.db.clone(), env.producer_bus.clone(), small.clone()), &shutdown),
        env.spawn_relay(Relay::new(db2.clone(), bus2, small), &shutdown),
        env.spawn_consumer(config.clone(), &recorder, &shutdown),
    ];
    let (written, last) = write_subjects(&env, 200).await;
    env.settle(&config, written.committed.len(), Duration::from_secs(60)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    env.assert_subject_order(&last).await;
    stop(&shutdown, tasks).await;
    db2.close().await;
}

/// Two relays' passes racing one another while transactions commit: no row is published by both,
/// and order holds per subject.
async fn relays_racing_passes(backend: StorageBackend, kind: BusKind) {
    let Some(mut env) = Env::new(backend, kind).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let config = env.consumer_config(&unique_name("c"));
    let consumer = env.spawn_consumer(config.clone(), &recorder, &shutdown);
    let (db2, bus2) = replica(&env).await;
    let mut small = env.relay_config();
    small.batch = 8;
    let a = Relay::new(env.producer.db.clone(), env.producer_bus.clone(), small.clone());
    let b = Relay::new(db2.clone(), bus2, small);

    let writing = {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let env = &env;
        let writers = async move {
            let out = write_subjects(env, 200).await;
            flag.store(true, Ordering::SeqCst);
            out
        };
        let racing = async {
            let (mut published, mut standby, mut idle_rounds) = ([0usize; 2], 0usize, 0usize);
            loop {
                let finished = done.load(Ordering::SeqCst);
                let (ra, rb) = tokio::join!(a.pass(), b.pass());
                let mut busy = false;
                for (i, pass) in [ra, rb].into_iter().enumerate() {
                    match pass.expect("pass") {
                        Pass::Published(n) => {
                            published[i] += n;
                            busy = true;
                        }
                        Pass::Standby => standby += 1,
                        Pass::Idle => {}
                    }
                }
                idle_rounds = if busy { 0 } else { idle_rounds + 1 };
                if finished && idle_rounds >= 3 {
                    return (published, standby);
                }
                tokio::task::yield_now().await;
            }
        };
        tokio::join!(writers, racing)
    };
    let ((written, last), (published, standby)) = writing;
    assert_eq!(
        published[0] + published[1],
        written.committed.len(),
        "{}: each row published by exactly one relay (published {published:?}, {standby} standbys)",
        env.label()
    );
    env.settle(&config, written.committed.len(), Duration::from_secs(60)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    env.assert_subject_order(&last).await;
    stop(&shutdown, vec![consumer]).await;
    db2.close().await;
    eprintln!("{}: racing relays published {published:?}, {standby} standby passes", env.label());
}

/// Two replicas of the consuming service share the durable consumer: each effect still happens once.
async fn two_consumer_replicas(backend: StorageBackend, kind: BusKind) {
    let Some(mut env) = Env::new(backend, kind).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let mut config = env.consumer_config(&unique_name("c"));
    config.batch = 16;
    let other_bus = open_bus(env.nats.as_deref(), &env.bus_path).await;
    let other = Consumer::new(env.consumer.db.clone(), other_bus, config.clone(), recorder.clone());
    let tasks = vec![
        env.spawn_consumer(config.clone(), &recorder, &shutdown),
        tokio::spawn(other.run(shutdown.clone())),
        env.spawn_relay(env.relay(), &shutdown),
    ];
    let writers: Vec<_> = (0..4).map(|w| spawn_writer(&env, (w..1200).step_by(4))).collect();
    let mut written = Written::default();
    for writer in writers {
        written.merge(writer.await.expect("writer"));
    }
    env.settle(&config, written.committed.len(), Duration::from_secs(60)).await;
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    stop(&shutdown, tasks).await;
}

/// The consumer's database connections dropped mid-stream (a PostgreSQL restart or fail-over): every
/// event is still applied once, in order per subject, without waiting for the bus to redeliver
/// (`ack_wait`, 30 s by default) what the consumer had fetched.
async fn consumer_database_outage(kind: BusKind) {
    let Some(mut env) = Env::new(StorageBackend::Postgres, kind).await else { return };
    let started = Instant::now();
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let config = env.consumer_config(&unique_name("c"));
    let (written, last) = write_subjects(&env, 200).await;

    // The consumer's own pool, named so that its connections can be told apart and cut.
    let application = unique_name("tjconsumer");
    let options = sqlx::postgres::PgConnectOptions::from_str(&env.consumer.url)
        .expect("URL")
        .options([("search_path", env.consumer.schema.as_deref().expect("schema"))])
        .application_name(&application);
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(4).connect_with(options).await.expect("pool");
    let consumer = Consumer::new(Database::Postgres(pool), env.consumer_bus.clone(), config.clone(), recorder.clone());
    let tasks = vec![tokio::spawn(consumer.run(shutdown.clone())), env.spawn_relay(env.relay(), &shutdown)];
    let mut cut = 0;
    for round in 1..=3 {
        wait_until("the consumer makes progress", Duration::from_secs(30), || async {
            env.effects().await >= round * 200
        })
        .await;
        cut += on_pool!(&env.consumer.db, pool => {
            sqlx::query_scalar::<_, i64>(
                "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t",
            )
            .bind(&application)
            .fetch_one(pool)
            .await
        })
        .expect("connections cut");
    }
    assert!(cut >= 3, "the consumer's connections were cut");
    env.settle(&config, written.committed.len(), Duration::from_secs(20)).await;
    let settled = started.elapsed();
    env.assert_exactly_once(&written.rolled_back, &HashSet::new(), &recorder).await;
    env.assert_subject_order(&last).await;
    stop(&shutdown, tasks).await;
    eprintln!(
        "{}: {} events through 3 consumer database outages in {settled:.1?}",
        env.label(),
        written.committed.len()
    );
}

// ---------------------------------------------------------------------------------------------------
// (e) A poison event goes to the dead letters after the configured attempts.
// ---------------------------------------------------------------------------------------------------

async fn poison_event(backend: StorageBackend, kind: BusKind) {
    let Some(mut env) = Env::new(backend, kind).await else { return };
    let shutdown = Shutdown::new();
    let recorder = Recorder::new(&env.service);
    let name = unique_name("c");
    let mut config = env.consumer_config(&name);
    config.max_attempts = 3;
    config.retry_delay = Duration::from_millis(50);

    let mut written = Written::default();
    let mut poison_id = String::new();
    for i in 0..60 {
        let mut entry = env.entry(format!("E{i:03}"), 0);
        entry.poison = i == 30;
        let id = write_entry_retrying(&env.producer.db, &env.service, &format!("ledger/{i}"), &entry, true)
            .await
            .expect("write");
        if entry.poison {
            poison_id = id.clone();
        }
        written.committed.push((entry.ledger_id, id));
    }
    let tasks = vec![env.spawn_relay(env.relay(), &shutdown), env.spawn_consumer(config.clone(), &recorder, &shutdown)];
    let letters_of = |letters: Vec<events::bus::DeadLetter>| -> Vec<events::bus::DeadLetter> {
        letters.into_iter().filter(|l| l.consumer == name).collect()
    };
    wait_until("the poison event dead-lettered", Duration::from_secs(30), || async {
        !letters_of(env.consumer_bus.dead_letters().await.expect("dead letters")).is_empty()
    })
    .await;
    env.settle(&config, written.committed.len() - 1, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let letters = letters_of(env.consumer_bus.dead_letters().await.expect("dead letters"));
    assert_eq!(letters.len(), 1, "{}: one dead letter: {letters:?}", env.label());
    let letter = &letters[0];
    assert_eq!(letter.event_id, poison_id);
    assert_eq!(letter.subject, event_type(&env.service, EVENT_NAME));
    assert_eq!(letter.attempts, 3, "{}: dead-lettered after max_attempts deliveries", env.label());
    // The handler's error, on one line (it is listed by a command, and travels in a NATS header).
    assert_eq!(
        letter.reason,
        format!("{} {POISON_REASON_LINE_2}", poison_reason("E030")),
        "{}: the reason is the handler's error",
        env.label()
    );
    assert_eq!(events::decode(&letter.payload).expect("the envelope is kept").id, poison_id);
    assert_eq!(recorder.observed().poison_attempts.get("E030"), Some(&3), "handled exactly max_attempts times");
    env.assert_exactly_once(&[], &HashSet::from([poison_id]), &recorder).await;
    stop(&shutdown, tasks).await;
}

// ---------------------------------------------------------------------------------------------------
// The matrix.
// ---------------------------------------------------------------------------------------------------

/// `matrix!(name, body)`: `name::{postgres_jetstream, sqlite_embedded, sqlite_jetstream,
/// postgres_embedded}`, each calling `body(backend, bus)`.
macro_rules! matrix {
    ($name:ident, $body:path) => {
        mod $name {
            use super::{BusKind, StorageBackend};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_jetstream() {
                $body(StorageBackend::Postgres, BusKind::JetStream).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_embedded() {
                $body(StorageBackend::Sqlite, BusKind::Embedded).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_jetstream() {
                $body(StorageBackend::Sqlite, BusKind::JetStream).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_embedded() {
                $body(StorageBackend::Postgres, BusKind::Embedded).await;
            }
        }
    };
}

matrix!(a_concurrent_transactions, crate::concurrent_transactions);
matrix!(b_published_but_not_marked, crate::published_but_not_marked);
matrix!(d_two_relays_running, crate::two_relays_running);
matrix!(d_relays_racing_passes, crate::relays_racing_passes);
matrix!(e_poison_event, crate::poison_event);

/// `pairings!(name, body)`: `name::{postgres_jetstream, sqlite_embedded}` only, the cluster's and the
/// embedded suite's pairings.
macro_rules! pairings {
    ($name:ident, $body:path) => {
        mod $name {
            use super::{BusKind, StorageBackend};

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres_jetstream() {
                $body(StorageBackend::Postgres, BusKind::JetStream).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite_embedded() {
                $body(StorageBackend::Sqlite, BusKind::Embedded).await;
            }
        }
    };
}

pairings!(b_killed_mid_stream, crate::killed_mid_stream);
pairings!(d_two_consumer_replicas, crate::two_consumer_replicas);

mod c_nats {
    use super::StorageBackend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn restarted_postgres_jetstream() {
        super::nats_restarted(StorageBackend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn down_at_start_postgres_jetstream() {
        super::nats_down_at_start(StorageBackend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn returns_empty_postgres_jetstream() {
        super::nats_returns_empty(StorageBackend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_while_down_postgres_jetstream() {
        super::shutdown_while_nats_down(StorageBackend::Postgres).await;
    }
}

mod a_late_commit {
    use super::BusKind;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_jetstream() {
        super::late_commit(BusKind::JetStream).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_embedded() {
        super::late_commit(BusKind::Embedded).await;
    }
}

mod b_consumer_database_outage {
    use super::BusKind;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_jetstream() {
        super::consumer_database_outage(BusKind::JetStream).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_embedded() {
        super::consumer_database_outage(BusKind::Embedded).await;
    }
}
