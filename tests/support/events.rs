//! Support for the events backbone's tests and benchmark: a tiny producer/consumer schema, a test
//! payload and handler, the NATS probe, a private `nats-server`, and clean-up of JetStream streams.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use sqlx::migrate::Migrator;
use tingjian_runtime::events::consumer::{Handler, HandlerError};
use tingjian_runtime::events::{self, Event, NewEvent};
use tingjian_runtime::storage::{Database, Tx};
use tingjian_runtime::{Migrations, on_pool, on_tx};

static SQLITE: Migrator = sqlx::migrate!("migrations/events/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/events/postgres");

/// The test schema: `ledger` (the producer's change) and `effect` (the consumer's, with no uniqueness
/// on the event id so that a doubled effect shows as two rows).
pub const MIGRATIONS: Migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };

/// The name of the test event.
pub const EVENT_NAME: &str = "entry_posted";
/// The full name of its payload message.
pub const DATA_SCHEMA: &str = "tingjian.test.v1.Entry";

/// Environment variable with the NATS URL used by tests (default `nats://127.0.0.1:4222`).
pub const NATS_URL_ENV: &str = "TINGJIAN_TEST_NATS_URL";
/// When set to `1` (and always when `CI=true`), tests fail instead of skipping JetStream when NATS
/// cannot be reached.
pub const REQUIRE_NATS_ENV: &str = "TINGJIAN_REQUIRE_NATS";
/// Environment variable with the `nats-server` binary the tests may start privately.
pub const NATS_SERVER_ENV: &str = "TINGJIAN_TEST_NATS_SERVER";

/// The first line of the test handler's error for a poison entry.
pub fn poison_reason(ledger_id: &str) -> String {
    format!("poison entry {ledger_id}: refused by the test handler")
}

/// The second line of that error.
pub const POISON_REASON_LINE_2: &str = "毒性事件：第二行";

/// The payload of the test event.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entry {
    /// The ledger row the event reports.
    #[prost(string, tag = "1")]
    pub ledger_id: String,
    /// Its amount.
    #[prost(int64, tag = "2")]
    pub amount: i64,
    /// Position of the event among its subject's events (1, 2, …), or 0 when order is not checked.
    #[prost(uint64, tag = "3")]
    pub counter: u64,
    /// The handler refuses this event, always.
    #[prost(bool, tag = "4")]
    pub poison: bool,
}

/// A unique lower-case name: `prefix` and 12 random hex digits.
pub fn unique_name(prefix: &str) -> String {
    let id = tingjian_runtime::wire::new_id().replace('-', "");
    // A v7 uuid starts with the time; its tail is random.
    format!("{prefix}{}", &id[id.len() - 12..])
}

/// Records the event of `entry` on `subject` and its ledger row in one transaction of `db`, then
/// commits it (`commit`) or rolls it back; returns the event id.
pub async fn write_entry(
    db: &Database,
    service: &str,
    subject: &str,
    entry: &Entry,
    commit: bool,
) -> Result<String, sqlx::Error> {
    let mut tx = db.begin().await?;
    let id = events::record(&mut tx, service, NewEvent::new(EVENT_NAME, subject, DATA_SCHEMA, entry)).await?;
    on_tx!(&mut tx, conn => {
        sqlx::query("INSERT INTO ledger (id, amount, event_id) VALUES ($1, $2, $3)")
            .bind(&entry.ledger_id)
            .bind(entry.amount)
            .bind(&id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    if commit {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(id)
}

/// [`write_entry`], retried a few times when SQLite reports a busy database.
pub async fn write_entry_retrying(
    db: &Database,
    service: &str,
    subject: &str,
    entry: &Entry,
    commit: bool,
) -> Result<String, sqlx::Error> {
    let mut attempt = 0;
    loop {
        match write_entry(db, service, subject, entry, commit).await {
            Err(e) if attempt < 5 && e.to_string().contains("database is locked") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            result => return result,
        }
    }
}

/// `SELECT COUNT(*) …` on `db`.
pub async fn count(db: &Database, sql: &str) -> i64 {
    on_pool!(db, pool => sqlx::query_scalar::<_, i64>(sql).fetch_one(pool).await).expect("count query")
}

/// What the test handler saw.
#[derive(Debug, Default)]
pub struct Observed {
    /// Envelopes that were not as recorded.
    pub violations: Vec<String>,
    /// Deliveries of each poison entry (by ledger id).
    pub poison_attempts: HashMap<String, u32>,
}

/// The test handler: inserts an `effect` row per event through the consumer's transaction; refuses
/// poison entries; checks the envelope's CloudEvents attributes.
#[derive(Debug, Clone)]
pub struct Recorder {
    service: String,
    observed: Arc<Mutex<Observed>>,
}

impl Recorder {
    /// A handler of the events of `service`.
    pub fn new(service: &str) -> Self {
        Self { service: service.to_owned(), observed: Arc::default() }
    }

    /// What it saw so far.
    pub fn observed(&self) -> MutexGuard<'_, Observed> {
        self.observed.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[tonic::async_trait]
impl Handler for Recorder {
    async fn handle(&self, tx: &mut Tx, event: &Event) -> Result<(), HandlerError> {
        let entry = <Entry as prost::Message>::decode(event.data.as_slice())
            .map_err(|e| HandlerError::new(format!("undecodable entry: {e}")))?;
        let mut problems = Vec::new();
        if event.r#type != events::event_type(&self.service, EVENT_NAME) {
            problems.push(format!("type {}", event.r#type));
        }
        if event.source != format!("/tingjian/{}", self.service) {
            problems.push(format!("source {}", event.source));
        }
        if event.data_content_type != "application/protobuf" || event.data_schema != DATA_SCHEMA {
            problems.push(format!("content {} {}", event.data_content_type, event.data_schema));
        }
        if event.spec_version != "1.0" || event.time.is_none() || event.id.is_empty() || event.subject.is_empty() {
            problems.push(format!("attributes of {:?}", event.id));
        }
        if !problems.is_empty() {
            self.observed().violations.push(format!("event {}: {}", event.id, problems.join(", ")));
        }
        if entry.poison {
            *self.observed().poison_attempts.entry(entry.ledger_id.clone()).or_default() += 1;
            return Err(HandlerError::new(format!("{}\n{POISON_REASON_LINE_2}", poison_reason(&entry.ledger_id))));
        }
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO effect (event_id, subject, ledger_id, counter) VALUES ($1, $2, $3, $4)")
                .bind(&event.id)
                .bind(&event.subject)
                .bind(&entry.ledger_id)
                .bind(entry.counter as i64)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }
}

/// The test NATS URL if a JetStream-enabled server answers there; panics when NATS is required (CI)
/// but unreachable, so a CI run never silently skips the JetStream half of the events suite.
pub fn nats_url() -> Option<String> {
    static PROBE: OnceLock<Option<String>> = OnceLock::new();
    PROBE
        .get_or_init(|| {
            let url = std::env::var(NATS_URL_ENV).unwrap_or_else(|_| "nats://127.0.0.1:4222".to_owned());
            let probe = std::thread::spawn({
                let url = url.clone();
                move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                    rt.block_on(async move {
                        let client = tokio::time::timeout(Duration::from_secs(5), async_nats::connect(url.as_str()))
                            .await
                            .ok()?
                            .ok()?;
                        // JetStream answers its account-info request (the typed `query_account` of
                        // async-nats does not decode a 2.9 server's answer).
                        let info = client.request("$JS.API.INFO", bytes::Bytes::new());
                        let reply = tokio::time::timeout(Duration::from_secs(5), info).await.ok()?.ok()?;
                        std::str::from_utf8(&reply.payload).ok()?.contains("account_info_response").then_some(())
                    })
                }
            })
            .join()
            .ok()
            .flatten();
            match probe {
                Some(()) => Some(url),
                None if required(REQUIRE_NATS_ENV) => {
                    panic!("NATS JetStream is required for this run but {url} cannot be reached")
                }
                None => {
                    eprintln!(
                        "warning: NATS JetStream at {url} cannot be reached; the JetStream half of the events \
                         tests is skipped (set {NATS_URL_ENV}, or {REQUIRE_NATS_ENV}=1 to fail instead)"
                    );
                    None
                }
            }
        })
        .clone()
}

fn required(env: &str) -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true") || std::env::var(env).is_ok_and(|v| v == "1")
}

/// A port on the loopback interface nobody listens on (bound then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("local address").port()
}

/// The `nats-server` binary tests may start, if there is one.
pub fn nats_server_binary() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let candidates = std::env::var_os(NATS_SERVER_ENV)
                .map(PathBuf::from)
                .into_iter()
                .chain(
                    std::env::var_os("PATH")
                        .into_iter()
                        .flat_map(|p| std::env::split_paths(&p).map(|d| d.join("nats-server")).collect::<Vec<_>>()),
                )
                .chain([PathBuf::from("/usr/sbin/nats-server"), PathBuf::from("/usr/local/bin/nats-server")]);
            let found = candidates.into_iter().find(|p| p.is_file());
            match found {
                Some(path) => Some(path),
                None if required(REQUIRE_NATS_ENV) => {
                    panic!("NATS is required for this run but no nats-server binary was found (set {NATS_SERVER_ENV})")
                }
                None => {
                    eprintln!("warning: no nats-server binary found; tests that stop and restart NATS are skipped");
                    None
                }
            }
        })
        .clone()
}

/// A private `nats-server` with JetStream on a free loopback port and a temporary storage directory,
/// which a test may kill and start again on the same port and storage.
#[derive(Debug)]
pub struct NatsServer {
    binary: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<std::process::Child>,
}

impl NatsServer {
    /// Starts a server; `None` when there is no `nats-server` binary (and NATS is not required).
    pub async fn start() -> Option<Self> {
        let mut server = Self::not_started()?;
        server.start_again().await;
        Some(server)
    }

    /// A server with its port and storage chosen but not running yet (see [`Self::start_again`]).
    pub fn not_started() -> Option<Self> {
        let binary = nats_server_binary()?;
        let dir = tempfile::tempdir().expect("storage directory");
        Some(Self { binary, port: free_port(), dir, child: None })
    }

    /// Kills the server and deletes its storage: started again, it has no stream and no consumer (as
    /// a server without persistent storage after a restart).
    pub fn kill_and_wipe(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(self.dir.path().join("jetstream"));
    }

    /// Its client URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server process (SIGKILL) and waits for it to exit.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on the same port and storage directory, and waits until it accepts
    /// connections.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "the private nats-server is already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("nats-server.log"))
            .expect("log file");
        let child = std::process::Command::new(&self.binary)
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string(), "-js", "-sd"])
            .arg(self.dir.path().join("jetstream"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_ok() {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("the private nats-server exited with {status}: see {}", self.dir.path().display());
            }
            assert!(tokio::time::Instant::now() < deadline, "the private nats-server does not accept connections");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Deletes JetStream streams and purges dead-letter subjects of a test when dropped, so a failing test
/// leaves nothing behind on the shared server either.
#[derive(Debug)]
pub struct JetStreamCleanup {
    url: Option<String>,
    streams: Vec<String>,
    dead_letter_consumers: Vec<String>,
}

impl JetStreamCleanup {
    /// Clean-up on the server at `url` (none when `None`).
    pub fn new(url: Option<&str>) -> Self {
        Self { url: url.map(str::to_owned), streams: Vec::new(), dead_letter_consumers: Vec::new() }
    }

    /// Deletes the stream of `service`'s events.
    pub fn service(&mut self, service: &str) {
        self.streams.push(format!("TINGJIAN_{}", service.to_ascii_uppercase()));
    }

    /// Deletes the stream `name`.
    pub fn stream(&mut self, name: &str) {
        self.streams.push(name.to_owned());
    }

    /// Purges the dead letters of `consumer`.
    pub fn dead_letters_of(&mut self, consumer: &str) {
        self.dead_letter_consumers.push(consumer.to_owned());
    }
}

impl Drop for JetStreamCleanup {
    fn drop(&mut self) {
        let Some(url) = self.url.take() else { return };
        let streams = std::mem::take(&mut self.streams);
        let consumers = std::mem::take(&mut self.dead_letter_consumers);
        // From a thread of its own: Drop cannot await, and the test's runtime may be shutting down.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                let connect = tokio::time::timeout(Duration::from_secs(3), async_nats::connect(url.as_str()));
                let Ok(Ok(client)) = connect.await else { return };
                let js = async_nats::jetstream::new(client);
                for stream in streams {
                    let _ = js.delete_stream(&stream).await;
                }
                if !consumers.is_empty()
                    && let Ok(stream) = js.get_stream("TINGJIAN_DEAD_LETTERS").await
                {
                    for consumer in consumers {
                        let _ = stream.purge().filter(format!("tingjian.dead_letter.{consumer}")).await;
                    }
                }
            });
        })
        .join();
    }
}
