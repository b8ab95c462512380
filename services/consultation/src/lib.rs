//! consultation — 见 and 舟: the service that brings enterprises face to face with the city, and serves them.
//!
//! Layers: [`api`] (the gRPC adapter), [`domain`] (rules, no I/O), [`store`] (the service's own
//! tables on SQLite or PostgreSQL) and the migrations under `migrations/<backend>/`.

pub mod api;
pub mod domain;
pub mod peers;
pub mod store;

use sqlx::migrate::Migrator;
use tingjian_proto::consultation::v1::consultation_service_server::ConsultationServiceServer;
use tingjian_runtime::server::{GrpcServer, authenticated};
use tingjian_runtime::{Migrations, ServiceContext, ServiceModule};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The consultation service, as the standalone binary and the embedded suite run it.
pub static MODULE: ServiceModule = ServiceModule {
    name: "consultation",
    default_port: 50052,
    migrations: Migrations { sqlite: &SQLITE_MIGRATIONS, postgres: &POSTGRES_MIGRATIONS },
    register,
    consume: None,
};

fn register(server: &mut GrpcServer, context: ServiceContext) {
    let api = api::ConsultationApi::new(
        store::Store::new(context.db),
        peers::Intake::new(&context.peers),
        peers::Supervision::new(&context.peers),
    );
    let limit = server.max_message_bytes();
    let service = ConsultationServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    let service = authenticated(service, server.auth_interceptor());
    server.add_api(service, tingjian_proto::consultation::v1::FILE_DESCRIPTOR_SET);
}
