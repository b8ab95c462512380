//! analytics: the service that proves the results with figures.
//!
//! Layers: [`api`] (the gRPC adapter), [`domain`] (rules, no I/O), [`store`] (the service's own
//! tables on SQLite or PostgreSQL) and the migrations under `migrations/<backend>/`.

pub mod api;
pub mod domain;
pub mod export;
pub mod store;

use sqlx::migrate::Migrator;
use tingjian_proto::analytics::v1::analytics_service_server::AnalyticsServiceServer;
use tingjian_runtime::events::bus::Bus;
use tingjian_runtime::events::consumer::{Consumer, ConsumerConfig};
use tingjian_runtime::server::{GrpcServer, authenticated};
use tingjian_runtime::shutdown::Shutdown;
use tingjian_runtime::{Migrations, ServiceContext, ServiceModule};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The analytics service, as the standalone binary and the embedded suite run it.
pub static MODULE: ServiceModule = ServiceModule {
    name: "analytics",
    default_port: 50054,
    migrations: Migrations { sqlite: &SQLITE_MIGRATIONS, postgres: &POSTGRES_MIGRATIONS },
    register,
    consume: Some(start_consumers),
};

fn register(server: &mut GrpcServer, context: ServiceContext) {
    let api = api::AnalyticsApi::new(store::Store::with(context.db, context.clock));
    let limit = server.max_message_bytes();
    let service = AnalyticsServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    let service = authenticated(service, server.auth_interceptor());
    server.add_api(service, tingjian_proto::analytics::v1::FILE_DESCRIPTOR_SET);
}

/// Durable name of the consumer that merges the producers' events into the rollups.
pub const ROLLUP_CONSUMER: &str = "analytics-rollups";

/// The services whose events analytics counts.
pub const SOURCES: &[&str] = &["intake", "consultation", "supervision"];

fn start_consumers(context: ServiceContext, bus: Bus, shutdown: Shutdown) -> Vec<tokio::task::JoinHandle<()>> {
    let config = ConsumerConfig::new(ROLLUP_CONSUMER, SOURCES);
    let consumer = Consumer::new(context.db, bus, config, store::ingest::RollupHandler);
    vec![tokio::spawn(consumer.run(shutdown))]
}
