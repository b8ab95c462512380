//! Test support: each service started on `127.0.0.1:0` with a fresh database (SQLite or PostgreSQL)
//! and its own development key, reached through the generated clients.

pub mod events;
pub mod pairs;
pub mod suite;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tingjian_runtime::auth::{DevSigner, TokenRequest};
use tingjian_runtime::clock::Clock;
use tingjian_runtime::peers::Peers;
use tingjian_runtime::server::{GrpcServer, ServeError};
use tingjian_runtime::settings::{Settings, SimilaritySettings, SupervisionSettings};
use tingjian_runtime::shutdown::Shutdown;
use tingjian_runtime::storage::Backend;
use tingjian_runtime::storage::testing::TestDatabase;
use tingjian_runtime::{Authenticator, Role, ServiceContext, ServiceModule};
use tonic::transport::Channel;

pub use tingjian_runtime::storage::Backend as StorageBackend;

/// A service running in the test's runtime.
#[derive(Debug)]
pub struct TestService {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A connected channel.
    pub channel: Channel,
    /// The database it runs on.
    pub database: TestDatabase,
    signer: DevSigner,
    shutdown: Shutdown,
    handle: tokio::task::JoinHandle<Result<(), ServeError>>,
    _keys: Arc<tempfile::TempDir>,
}

/// How to start a service beside others: the key directory they share (so one token is accepted by
/// all of them) and where its peers listen.
#[derive(Debug, Clone, Default)]
pub struct SpawnOptions {
    /// Key directory shared with other services; a fresh one when `None`.
    pub keys: Option<Arc<tempfile::TempDir>>,
    /// Address of the intake service it calls.
    pub intake: Option<SocketAddr>,
    /// Address of the supervision service it calls.
    pub supervision: Option<SocketAddr>,
    /// Supervision's sweep settings; by default the periodic sweep is off.
    pub supervision_settings: Option<SupervisionSettings>,
    /// The clock the service reads; by default the system clock.
    pub clock: Option<Clock>,
    /// Intake's similar-demand engine settings; by default the built-in ones.
    pub similarity: Option<SimilaritySettings>,
}

/// Starts `module` on a fresh database on `backend`; `None` when PostgreSQL is asked for but not
/// reachable outside CI.
pub async fn spawn(module: &ServiceModule, backend: Backend) -> Option<TestService> {
    spawn_with(module, backend, SpawnOptions::default()).await
}

/// Starts `module` on a fresh database on `backend` with `options`.
pub async fn spawn_with(module: &ServiceModule, backend: Backend, options: SpawnOptions) -> Option<TestService> {
    let database = TestDatabase::fresh(backend, &module.migrations).await?;
    let keys = options.keys.clone().unwrap_or_else(|| Arc::new(tempfile::tempdir().expect("key directory")));
    // The signer creates the development key the server then trusts.
    let signer =
        DevSigner::load_or_create(&keys.path().join("dev.pem"), &auth_settings(module, &keys)).expect("signer");
    let Running { addr, channel, shutdown, handle } = serve(module, database.db.clone(), &keys, options).await;
    Some(TestService { addr, channel, database, signer, shutdown, handle, _keys: keys })
}

fn auth_settings(module: &ServiceModule, keys: &tempfile::TempDir) -> tingjian_runtime::settings::AuthSettings {
    let mut auth = Settings::defaults(module.name, 0).auth;
    auth.dev_key = Some(keys.path().join("dev.pem"));
    auth
}

/// A server started by [`serve`].
struct Running {
    addr: SocketAddr,
    channel: Channel,
    shutdown: Shutdown,
    handle: tokio::task::JoinHandle<Result<(), ServeError>>,
}

/// Serves `module` on `db` at `127.0.0.1:0`, trusting the development key in `keys`, and connects to it.
async fn serve(
    module: &ServiceModule,
    db: tingjian_runtime::Database,
    keys: &tempfile::TempDir,
    options: SpawnOptions,
) -> Running {
    let mut settings = Settings::defaults(module.name, 0);
    settings.auth = auth_settings(module, keys);
    // Peers not given point at a closed port: a call to them fails as UNAVAILABLE.
    let closed = SocketAddr::from(([127, 0, 0, 1], 9));
    settings.peers.intake_url = format!("http://{}", options.intake.unwrap_or(closed));
    settings.peers.supervision_url = format!("http://{}", options.supervision.unwrap_or(closed));
    settings.peers.timeout = Duration::from_secs(5);
    let authenticator = Authenticator::from_settings(&settings.auth).expect("development key");
    let mut server = GrpcServer::new(&settings.server, authenticator);
    let peers = Peers::connect_lazy(&settings.peers).expect("peer URLs");
    // Sweeps run when a test asks (RunSweep), not on a timer, so what a test sees does not depend on timing.
    let supervision = options
        .supervision_settings
        .unwrap_or(SupervisionSettings { sweep_interval: Duration::ZERO, ..Default::default() });
    let clock = options.clock.unwrap_or_default();
    let similarity = options.similarity.unwrap_or_default();
    (module.register)(&mut server, ServiceContext { db, peers, supervision, similarity, clock });

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local address");
    let shutdown = Shutdown::new();
    let handle = tokio::spawn(server.serve(listener, shutdown.wait()));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connects");
    Running { addr, channel, shutdown, handle }
}

/// A second server of a service on the same database as a running one (another replica, or the
/// service started again after a stop): it opens its own connections and accepts the same tokens.
#[derive(Debug)]
pub struct Replica {
    /// Where it listens.
    pub addr: SocketAddr,
    /// A connected channel.
    pub channel: Channel,
    shutdown: Shutdown,
    handle: tokio::task::JoinHandle<Result<(), ServeError>>,
}

impl Replica {
    /// Triggers a graceful shutdown and waits for the server to stop.
    pub async fn stop(self) -> Result<(), ServeError> {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("the server stops after a shutdown")
            .expect("the server task does not panic")
    }
}

/// Starts another server of `module` on `of`'s database, with `options` (its key directory is `of`'s).
pub async fn spawn_replica(module: &ServiceModule, of: &TestService, options: SpawnOptions) -> Replica {
    let db = tingjian_runtime::Database::connect(&of.database.settings(), module.name).await.expect("database opens");
    let Running { addr, channel, shutdown, handle } = serve(module, db, &of._keys, options).await;
    Replica { addr, channel, shutdown, handle }
}

/// Who a test call is made as.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The token's subject.
    pub subject: String,
    /// The caller's organisation.
    pub organisation: String,
    /// The caller's roles.
    pub roles: Vec<Role>,
}

impl Identity {
    /// `subject` of `organisation` holding `roles`.
    pub fn new(subject: &str, organisation: &str, roles: &[Role]) -> Self {
        Self { subject: subject.into(), organisation: organisation.into(), roles: roles.to_vec() }
    }
}

impl TestService {
    /// The key directory, to share with services started beside this one.
    pub fn keys(&self) -> Arc<tempfile::TempDir> {
        self._keys.clone()
    }

    /// A token for a caller holding `roles`.
    pub fn token(&self, roles: &[Role]) -> String {
        self.token_as(&Identity::new("test-user", "舟山市政协办公室", roles))
    }

    /// A token for `who`.
    pub fn token_as(&self, who: &Identity) -> String {
        self.signer
            .mint(&TokenRequest {
                subject: who.subject.clone(),
                organisation: who.organisation.clone(),
                roles: who.roles.clone(),
                name: Some("测试员".into()),
                ttl: Duration::from_secs(600),
            })
            .expect("token")
    }

    /// `message` as a request bearing a token for `roles`.
    pub fn request<T>(&self, message: T, roles: &[Role]) -> tonic::Request<T> {
        self.request_as(message, &Identity::new("test-user", "舟山市政协办公室", roles))
    }

    /// `message` as a request bearing a token for `who`.
    pub fn request_as<T>(&self, message: T, who: &Identity) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let bearer = format!("Bearer {}", self.token_as(who)).parse().expect("ascii token");
        request.metadata_mut().insert("authorization", bearer);
        request
    }

    /// Triggers a graceful shutdown and waits for the server to stop.
    pub async fn stop(self) -> Result<(), ServeError> {
        self.shutdown.trigger();
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("the server stops after a shutdown")
            .expect("the server task does not panic")
    }
}

/// Checks that `status` is INVALID_ARGUMENT with a BadRequest violation of `field`.
pub fn assert_field_violation(status: &tonic::Status, field: &str) {
    use tonic_types::StatusExt;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let bad = details.bad_request().unwrap_or_else(|| panic!("no BadRequest details in {status:?}"));
    assert!(
        bad.field_violations.iter().any(|v| v.field == field),
        "no violation of {field} in {:?}",
        bad.field_violations
    );
}

/// Declares a conformance test that runs on SQLite and on PostgreSQL: `backends!(name, body_fn)`
/// generates `name::sqlite` and `name::postgres`, each calling `body_fn(backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                $body($crate::StorageBackend::Sqlite).await;
            }

            #[tokio::test]
            async fn postgres() {
                $body($crate::StorageBackend::Postgres).await;
            }
        }
    };
}

/// The events a service wrote to its outbox, oldest first: (subject, event type, envelope).
pub async fn outbox(service: &TestService) -> Vec<(String, String, tingjian_proto::common::v1::Event)> {
    use prost::Message as _;
    let rows: Vec<(String, String, Vec<u8>)> = tingjian_runtime::on_pool!(&service.database.db, pool => {
        sqlx::query_as("SELECT subject, event_type, envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
    })
    .expect("outbox");
    rows.into_iter()
        .map(|(subject, kind, envelope)| {
            (subject, kind, tingjian_proto::common::v1::Event::decode(envelope.as_slice()).expect("envelope"))
        })
        .collect()
}

/// The payloads of the events of `event_type` in a service's outbox, oldest first, with their subjects.
pub async fn outbox_payloads<M: prost::Message + Default>(service: &TestService, event_type: &str) -> Vec<(String, M)> {
    outbox(service)
        .await
        .into_iter()
        .filter(|(_, kind, _)| kind == event_type)
        .map(|(subject, _, event)| (subject, M::decode(event.data.as_slice()).expect("payload")))
        .collect()
}
