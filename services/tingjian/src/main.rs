//! `tingjian`: the whole suite in one process (`tingjian up`), database migrations, development
//! tokens, and client commands for people and scripts.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use tingjian_runtime::auth::{DevSigner, TokenRequest};
use tingjian_runtime::clock::Clock;
use tingjian_runtime::events::bus::Bus;
use tingjian_runtime::events::relay::{Relay, RelayConfig};
use tingjian_runtime::peers::Peers;
use tingjian_runtime::server::GrpcServer;
use tingjian_runtime::settings::{DatabaseSettings, Settings};
use tingjian_runtime::shutdown::Shutdown;
use tingjian_runtime::{Authenticator, Database, Role, Secret, ServiceContext, ServiceModule};

mod client;
mod consult;
mod demo;
mod report;
mod similar;
mod supervise;

use client::{ClientArgs, Output};

/// The four services, in the order of the programme: hear, consult, supervise, prove.
const MODULES: [&ServiceModule; 4] = [
    &tingjian_intake::MODULE,
    &tingjian_consultation::MODULE,
    &tingjian_supervision::MODULE,
    &tingjian_analytics::MODULE,
];

/// Default address of the embedded suite.
pub(crate) const DEFAULT_ADDR: &str = "127.0.0.1:50050";
/// Name of the embedded bus in the data directory.
const BUS_FILE: &str = "bus.db";
/// Name of the development signing key in the data directory.
const DEV_KEY_FILE: &str = "dev-signing-key.pem";

#[derive(Debug, Parser)]
#[command(name = "tingjian", version, about = "Tingjian (听见): the government–enterprise consultation platform")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run all four services in one process on SQLite files, serving every API on one address.
    Up(UpArgs),
    /// Apply the services' database migrations and exit.
    Migrate(MigrateArgs),
    /// Mint a development token signed with the suite's development key.
    Token(TokenArgs),
    /// Ask a running suite (or one service) whether its APIs are serving.
    Health(ClientArgs),
    /// Enterprises: register, list.
    #[command(subcommand)]
    Enterprise(client::EnterpriseCommand),
    /// Demands (诉求): submit.
    #[command(subcommand)]
    Demand(client::DemandCommand),
    /// Show an enterprise's demands by status (一企一清单).
    List(client::EnterpriseListArgs),
    /// Merge demands into a new common issue (合并同类项).
    Merge(client::MergeArgs),
    /// The open demands and common issues most like a text or a demand (合并同类项).
    Similar(similar::SimilarArgs),
    /// Clustering proposals: groups of likely duplicates to accept or reject (合并同类项).
    #[command(subcommand)]
    Cluster(similar::ClusterCommand),
    /// Consultation: plans, topics, invitations, sessions, contributions, suggestions (见).
    #[command(subcommand)]
    Consult(consult::ConsultCommand),
    /// Supervision for units and supervisors: my cases, accept, reply, follow up, what is due (商).
    #[command(subcommand)]
    Case(supervise::CaseCommand),
    /// List the events consumers gave up on (the dead letters), with the reason.
    DeadLetters(DeadLetterArgs),
    /// The scorecard (成效看板) of a period, filtered, as text, CSV, Markdown or HTML.
    Report(report::ReportArgs),
}

#[derive(Debug, Args)]
struct DeadLetterArgs {
    /// NATS server of a cluster; without it, the embedded bus in `--data-dir` is read.
    #[arg(long, env = "TINGJIAN_NATS_URL", hide_env_values = true)]
    nats_url: Option<String>,
    /// Directory of the embedded suite.
    #[arg(long, env = "TINGJIAN_DATA_DIR", default_value = "tingjian-data")]
    data_dir: PathBuf,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(Debug, Args)]
struct UpArgs {
    /// Directory for the SQLite databases and the development signing key.
    #[arg(long, env = "TINGJIAN_DATA_DIR", default_value = "tingjian-data")]
    data_dir: PathBuf,
    /// Address to serve on (also `TINGJIAN_LISTEN_ADDR`).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Load the demonstration programme (2023–2024, modelled on the seed) through the APIs once serving;
    /// the suite then runs on a clock shifted to just after the programme. Use a fresh data directory.
    #[arg(long)]
    demo: bool,
    /// Seed of the demonstration programme: the same seed loads the same programme.
    #[arg(long, default_value_t = 1, requires = "demo")]
    seed: u64,
}

#[derive(Debug, Args)]
struct MigrateArgs {
    /// Which service to migrate; all four when omitted.
    #[arg(long, value_parser = ["intake", "consultation", "supervision", "analytics"])]
    service: Option<String>,
    /// Database URL (`postgres://…` or `sqlite://…`); without it, the embedded suite's SQLite files in
    /// `--data-dir` are migrated.
    #[arg(long, env = "TINGJIAN_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// PostgreSQL schema of the service's tables (needs `--service`); defaults to the service's name.
    #[arg(long, env = "TINGJIAN_DATABASE_SCHEMA", requires = "service")]
    schema: Option<String>,
    /// Directory of the embedded suite's databases.
    #[arg(long, env = "TINGJIAN_DATA_DIR", default_value = "tingjian-data")]
    data_dir: PathBuf,
}

#[derive(Debug, Args)]
struct TokenArgs {
    /// Role to grant; repeat for several. Default: every role.
    #[arg(long = "role", value_parser = parse_role)]
    roles: Vec<Role>,
    /// The token's subject (`sub`).
    #[arg(long, default_value = "dev")]
    subject: String,
    /// The organisation the bearer acts for (`org`).
    #[arg(long, default_value = "舟山市政协办公室")]
    organisation: String,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Lifetime, e.g. 12h or 30m.
    #[arg(long, default_value = "12h", value_parser = humantime::parse_duration)]
    ttl: Duration,
    /// Directory holding the development signing key.
    #[arg(long, env = "TINGJIAN_DATA_DIR", default_value = "tingjian-data")]
    data_dir: PathBuf,
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse()
}

fn main() -> ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tingjian: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Up(args) => up(args, started).await,
            Command::Migrate(args) => migrate(args).await,
            Command::Token(args) => token(args),
            Command::Health(args) => health(args).await,
            Command::DeadLetters(args) => dead_letters(args).await,
            Command::Enterprise(command) => client::enterprise(command).await.map(|()| ExitCode::SUCCESS),
            Command::Demand(command) => client::demand(command).await.map(|()| ExitCode::SUCCESS),
            Command::List(args) => client::enterprise_list(args).await.map(|()| ExitCode::SUCCESS),
            Command::Merge(args) => client::merge(args).await.map(|()| ExitCode::SUCCESS),
            Command::Similar(args) => similar::similar(args).await.map(|()| ExitCode::SUCCESS),
            Command::Cluster(command) => similar::cluster(command).await.map(|()| ExitCode::SUCCESS),
            Command::Consult(command) => consult::consult(command).await.map(|()| ExitCode::SUCCESS),
            Command::Case(command) => supervise::case(command).await.map(|()| ExitCode::SUCCESS),
            Command::Report(args) => report::report(args).await.map(|()| ExitCode::SUCCESS),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("tingjian: {e}");
            ExitCode::FAILURE
        }
    }
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn sqlite_settings(data_dir: &Path, service: &str) -> DatabaseSettings {
    DatabaseSettings {
        url: Secret::new(format!("sqlite://{}", data_dir.join(format!("{service}.db")).display())),
        schema: None,
        max_connections: 4,
        connect_timeout: Duration::from_secs(10),
    }
}

async fn up(args: UpArgs, started: Instant) -> BoxResult<ExitCode> {
    let mut settings = Settings::defaults("tingjian", 50050).load_from_process_env()?;
    if let Some(listen) = args.listen {
        settings.listen_addr = listen;
    }
    settings.auth.dev_key = Some(args.data_dir.join(DEV_KEY_FILE));
    settings.events.bus_path = args.data_dir.join(BUS_FILE);
    let _telemetry = tingjian_runtime::telemetry::init("tingjian", &settings.telemetry)?;

    std::fs::create_dir_all(&args.data_dir)
        .map_err(|e| format!("cannot create the data directory {}: {e}", args.data_dir.display()))?;
    if args.demo && MODULES.iter().any(|m| args.data_dir.join(format!("{}.db", m.name)).exists()) {
        return Err(format!(
            "the demonstration programme loads into a fresh data directory; {} already holds the suite's data \
             (choose another with --data-dir)",
            args.data_dir.display()
        )
        .into());
    }
    let listener = tingjian_runtime::server::bind(settings.listen_addr).await?;
    let addr = listener.local_addr()?;
    // The services of the suite call each other on the suite's own address.
    let own = if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    settings.peers.intake_url = format!("http://{own}");
    settings.peers.supervision_url = format!("http://{own}");
    let peers = Peers::connect_lazy(&settings.peers)?;
    let authenticator = Authenticator::from_settings(&settings.auth)?;
    let mut server = GrpcServer::new(&settings.server, authenticator);
    // The demonstration programme replays 2023–2024: every service, record and event reads one clock
    // shifted to the programme's first day, which the programme then moves forward.
    let clock = if args.demo { Clock::shifted(demo::first_day()) } else { Clock::system() };
    if args.demo {
        clock.install();
    }
    let mut databases = Vec::new();
    let mut contexts = Vec::new();
    for module in MODULES {
        let db = Database::connect(&sqlite_settings(&args.data_dir, module.name), module.name).await?;
        db.migrate(&module.migrations).await?;
        let context = ServiceContext {
            db: db.clone(),
            peers: peers.clone(),
            supervision: settings.supervision.clone(),
            similarity: settings.similarity,
            clock: clock.clone(),
        };
        (module.register)(&mut server, context.clone());
        contexts.push(context);
        databases.push(db);
    }

    let bus = tingjian_runtime::service::connect_bus(&settings).await?;
    let signer = DevSigner::load_or_create(&args.data_dir.join(DEV_KEY_FILE), &settings.auth)?;
    let dev_token = signer.mint(&TokenRequest {
        subject: "dev".into(),
        organisation: "舟山市政协办公室".into(),
        roles: Role::ALL.to_vec(),
        name: Some("开发者".into()),
        ttl: Duration::from_secs(12 * 3600),
    })?;
    let ready = started.elapsed();
    tracing::info!(%addr, ready_ms = ready.as_millis() as u64, "tingjian suite serving");
    println!("Tingjian (听见) is serving intake, consultation, supervision and analytics on {addr}");
    println!("ready in {:.2} s; data in {}", ready.as_secs_f64(), args.data_dir.display());
    println!("development token (every role, valid 12 h; `tingjian token --role staff` mints others):");
    println!("{dev_token}");
    println!("press Ctrl-C to stop");

    let shutdown = Shutdown::new();
    shutdown.on_signal();
    let relays: Vec<_> = MODULES
        .iter()
        .zip(&databases)
        .map(|(module, db)| {
            let relay = Relay::new(db.clone(), bus.clone(), RelayConfig::new(module.name));
            tokio::spawn(relay.run(shutdown.clone()))
        })
        .collect();
    let consumers: Vec<_> = MODULES
        .iter()
        .zip(contexts)
        .flat_map(|(module, context)| match module.consume {
            Some(start) => start(context, bus.clone(), shutdown.clone()),
            None => Vec::new(),
        })
        .collect();
    let programme = args.demo.then(|| {
        let (clock, seed, shutdown) = (clock.clone(), args.seed, shutdown.clone());
        tokio::spawn(async move {
            let result = demo::run(own, clock, &signer, seed).await;
            if let Err(e) = &result {
                eprintln!("tingjian: the demonstration programme failed: {e}");
                shutdown.trigger();
            }
            result.is_ok()
        })
    });
    server.serve(listener, shutdown.wait()).await?;
    shutdown.trigger();
    let mut demo_failed = false;
    if let Some(programme) = programme {
        if programme.is_finished() {
            demo_failed = !programme.await.unwrap_or(false);
        } else {
            programme.abort();
        }
    }
    for task in relays.into_iter().chain(consumers) {
        let _ = task.await;
    }
    for db in databases {
        db.close().await;
    }
    println!("stopped");
    Ok(if demo_failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

async fn migrate(args: MigrateArgs) -> BoxResult<ExitCode> {
    let selected: Vec<&ServiceModule> =
        MODULES.into_iter().filter(|m| args.service.as_deref().is_none_or(|s| s == m.name)).collect();
    for module in selected {
        let settings = match &args.database_url {
            Some(url) => DatabaseSettings {
                url: Secret::new(url.clone()),
                schema: args.schema.clone(),
                max_connections: 2,
                connect_timeout: Duration::from_secs(10),
            },
            None => sqlite_settings(&args.data_dir, module.name),
        };
        let db = Database::connect(&settings, module.name).await?;
        db.migrate(&module.migrations).await?;
        db.close().await;
        println!("{}: migrated ({})", module.name, db.backend());
    }
    Ok(ExitCode::SUCCESS)
}

fn token(args: TokenArgs) -> BoxResult<ExitCode> {
    let settings = Settings::defaults("tingjian", 50050).load_from_process_env()?;
    let key = args.data_dir.join(DEV_KEY_FILE);
    let signer = DevSigner::load_or_create(&key, &settings.auth)?;
    let roles = if args.roles.is_empty() { Role::ALL.to_vec() } else { args.roles };
    let token = signer.mint(&TokenRequest {
        subject: args.subject,
        organisation: args.organisation,
        roles,
        name: args.name,
        ttl: args.ttl,
    })?;
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

async fn health(args: ClientArgs) -> BoxResult<ExitCode> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;

    let channel = client::channel(&args).await?;
    let mut client = HealthClient::new(channel);
    let _ = args.token; // Health is public; the flag is shared by every client command.
    let names: Vec<&str> = [
        "tingjian.intake.v1.IntakeService",
        "tingjian.consultation.v1.ConsultationService",
        "tingjian.supervision.v1.SupervisionService",
        "tingjian.analytics.v1.AnalyticsService",
    ]
    .into();
    let mut all_serving = true;
    let mut report = serde_json::Map::new();
    for name in names {
        let status = match client.check(HealthCheckRequest { service: name.to_owned() }).await {
            Ok(r) => format!("{:?}", r.into_inner().status()).to_uppercase(),
            Err(s) if s.code() == tonic::Code::NotFound => "NOT_SERVED_HERE".to_owned(),
            Err(s) => return Err(format!("health check of {name} failed: {}", s.message()).into()),
        };
        all_serving &= status == "SERVING";
        report.insert(name.to_owned(), serde_json::Value::String(status));
    }
    match args.output {
        Output::Json => println!("{}", serde_json::Value::Object(report)),
        Output::Text => {
            for (name, status) in &report {
                println!("{:<48} {}", name, status.as_str().unwrap_or_default());
            }
        }
    }
    Ok(if all_serving { ExitCode::SUCCESS } else { ExitCode::from(3) })
}

async fn dead_letters(args: DeadLetterArgs) -> BoxResult<ExitCode> {
    let bus = Bus::connect(args.nats_url.as_deref(), &args.data_dir.join(BUS_FILE)).await?;
    let letters = bus.dead_letters().await?;
    match args.output {
        Output::Json => {
            let rows: Vec<serde_json::Value> = letters
                .iter()
                .map(|l| {
                    serde_json::json!({
                        "consumer": l.consumer,
                        "event_id": l.event_id,
                        "subject": l.subject,
                        "attempts": l.attempts,
                        "reason": l.reason,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(rows));
        }
        Output::Text if letters.is_empty() => println!("no dead letters"),
        Output::Text => {
            for l in &letters {
                println!("{}  {}  {}  after {} attempts: {}", l.consumer, l.subject, l.event_id, l.attempts, l.reason);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
