//! What a service crate provides to be run, standalone or inside the embedded suite, and the
//! standalone runner used by each service's thin `main`.

use std::time::Instant;

use crate::auth::Authenticator;
use crate::events::bus::Bus;
use crate::events::relay::{Relay, RelayConfig};
use crate::peers::Peers;
use crate::server::GrpcServer;
use crate::settings::Settings;
use crate::shutdown::Shutdown;
use crate::storage::{Database, Migrations};

/// A service of the suite: its name, its default port, its migrations and how it adds its APIs to a
/// server.
#[derive(Debug, Clone, Copy)]
pub struct ServiceModule {
    /// Short name: `intake`, `consultation`, `supervision` or `analytics`; also the PostgreSQL schema.
    pub name: &'static str,
    /// Port of the standalone binary's default address.
    pub default_port: u16,
    /// Embedded migrations, one set per backend.
    pub migrations: Migrations,
    /// Adds the service's APIs, backed by the context's database, to `server`.
    pub register: fn(&mut GrpcServer, ServiceContext),
    /// Starts the service's event consumers on `bus`, if it has any; they run until the shutdown.
    pub consume: Option<StartConsumers>,
}

/// Starts a service's consumers of other services' events on a bus, until the shutdown.
pub type StartConsumers = fn(ServiceContext, Bus, Shutdown) -> Vec<tokio::task::JoinHandle<()>>;

/// What a service's APIs are built on: its own database and channels to the other services.
#[derive(Debug, Clone)]
pub struct ServiceContext {
    /// The service's own (migrated) database.
    pub db: Database,
    /// The other services it calls.
    pub peers: Peers,
    /// Supervision's sweeps and escalation ladder (other services ignore them).
    pub supervision: crate::settings::SupervisionSettings,
    /// Intake's similar-demand engine (other services ignore it).
    pub similarity: crate::settings::SimilaritySettings,
    /// The time the service reads (the system clock except in tests).
    pub clock: crate::clock::Clock,
}

impl ServiceModule {
    /// Default settings of the standalone binary.
    pub fn default_settings(&self) -> Settings {
        Settings::defaults(self.name, self.default_port)
    }

    /// Opens and migrates the service's database.
    pub async fn open_database(&self, settings: &Settings) -> BoxResult<Database> {
        let db = Database::connect(&settings.database, self.name).await?;
        db.migrate(&self.migrations).await?;
        Ok(db)
    }
}

/// Runs one service as its own process: settings from the environment, telemetry, database and
/// migrations, then the gRPC server until SIGTERM or Ctrl-C.
pub fn run_standalone(module: ServiceModule) -> std::process::ExitCode {
    let started = Instant::now();
    let settings = match module.default_settings().load_from_process_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tingjian-{}: {e}", module.name);
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tingjian-{}: cannot start the async runtime: {e}", module.name);
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let _telemetry = match crate::telemetry::init(module.name, &settings.telemetry) {
            Ok(guard) => guard,
            Err(e) => {
                eprintln!("tingjian-{}: {e}", module.name);
                return std::process::ExitCode::FAILURE;
            }
        };
        match serve(module, settings, started).await {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!(error = %e, "service failed");
                eprintln!("tingjian-{}: {e}", module.name);
                std::process::ExitCode::FAILURE
            }
        }
    })
}

async fn serve(module: ServiceModule, settings: Settings, started: Instant) -> BoxResult<()> {
    let authenticator = Authenticator::from_settings(&settings.auth)?;
    let db = module.open_database(&settings).await?;
    let mut server = GrpcServer::new(&settings.server, authenticator);
    let peers = Peers::connect_lazy(&settings.peers)?;
    let context = ServiceContext {
        db: db.clone(),
        peers,
        supervision: settings.supervision.clone(),
        similarity: settings.similarity,
        clock: crate::clock::Clock::system(),
    };
    (module.register)(&mut server, context.clone());
    let listener = crate::server::bind(settings.listen_addr).await?;
    let addr = listener.local_addr()?;
    tracing::info!(
        service = module.name,
        %addr,
        backend = %db.backend(),
        ready_ms = started.elapsed().as_millis() as u64,
        "serving"
    );
    let shutdown = Shutdown::new();
    shutdown.on_signal();
    let bus = connect_bus(&settings).await?;
    let relay = tokio::spawn(Relay::new(db.clone(), bus.clone(), RelayConfig::new(module.name)).run(shutdown.clone()));
    tracing::info!(service = module.name, bus = bus.kind(), "relaying events");
    let consumers = match module.consume {
        Some(start) => start(context, bus.clone(), shutdown.clone()),
        None => Vec::new(),
    };
    server.serve(listener, shutdown.wait()).await?;
    shutdown.trigger();
    let _ = relay.await;
    for consumer in consumers {
        let _ = consumer.await;
    }
    db.close().await;
    Ok(())
}

/// The bus of `settings`: JetStream when a NATS URL is set, else the embedded bus file.
pub async fn connect_bus(settings: &Settings) -> BoxResult<Bus> {
    let url = settings.events.nats_url.as_ref().map(|u| u.expose().as_str());
    Ok(Bus::connect(url, &settings.events.bus_path).await?)
}

/// Any error, for start-up paths that only report and exit.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// A result with any error.
pub type BoxResult<T> = std::result::Result<T, BoxError>;
