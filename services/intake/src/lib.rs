//! intake — 听: the service that hears enterprises.
//!
//! Layers: [`api`] (the gRPC adapter), [`domain`] (rules, no I/O), [`store`] (the service's own
//! tables on SQLite or PostgreSQL) and the migrations under `migrations/<backend>/`.

pub mod api;
pub mod domain;
pub mod engine;
pub mod store;

use sqlx::migrate::Migrator;
use tingjian_proto::intake::v1::intake_service_server::IntakeServiceServer;
use tingjian_runtime::server::{GrpcServer, authenticated};
use tingjian_runtime::{Migrations, ServiceContext, ServiceModule};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The intake service, as the standalone binary and the embedded suite run it.
pub static MODULE: ServiceModule = ServiceModule {
    name: "intake",
    default_port: 50051,
    migrations: Migrations { sqlite: &SQLITE_MIGRATIONS, postgres: &POSTGRES_MIGRATIONS },
    register,
    consume: None,
};

fn register(server: &mut GrpcServer, context: ServiceContext) {
    let store = store::Store::new(context.db);
    let engine = engine::SimilarityEngine::start(store.clone(), context.similarity);
    let api = api::IntakeApi::new(store, engine);
    let limit = server.max_message_bytes();
    let service = IntakeServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    let service = authenticated(service, server.auth_interceptor());
    server.add_api(service, tingjian_proto::intake::v1::FILE_DESCRIPTOR_SET);
}
