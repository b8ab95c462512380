//! supervision — 商: the service that makes the answers happen.
//!
//! Layers: [`api`] (the gRPC adapter), [`domain`] (rules, no I/O), [`store`] (the service's own
//! tables on SQLite or PostgreSQL) and the migrations under `migrations/<backend>/`; [`convert`] turns
//! domain values into the contract's messages for the adapter and the events.

pub mod api;
pub mod convert;
pub mod domain;
pub mod store;

use sqlx::migrate::Migrator;
use tingjian_proto::supervision::v1::discipline_inspection_service_server::DisciplineInspectionServiceServer;
use tingjian_proto::supervision::v1::supervision_service_server::SupervisionServiceServer;
use tingjian_runtime::server::{GrpcServer, authenticated};
use tingjian_runtime::{Migrations, ServiceContext, ServiceModule};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The supervision service, as the standalone binary and the embedded suite run it.
pub static MODULE: ServiceModule = ServiceModule {
    name: "supervision",
    default_port: 50053,
    migrations: Migrations { sqlite: &SQLITE_MIGRATIONS, postgres: &POSTGRES_MIGRATIONS },
    register,
    consume: None,
};

fn register(server: &mut GrpcServer, context: ServiceContext) {
    let store = store::Store::with(context.db, context.clock, context.supervision);
    if !store.settings().sweep_interval.is_zero() {
        store.spawn_periodic_sweeps();
    }
    let api = api::SupervisionApi::new(store.clone());
    let limit = server.max_message_bytes();
    let service = SupervisionServiceServer::new(api).max_decoding_message_size(limit).max_encoding_message_size(limit);
    let service = authenticated(service, server.auth_interceptor());
    server.add_api(service, tingjian_proto::supervision::v1::FILE_DESCRIPTOR_SET);
    let inspection = DisciplineInspectionServiceServer::new(api::DisciplineInspectionApi::new(store))
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit);
    let inspection = authenticated(inspection, server.auth_interceptor());
    server.add_api(inspection, tingjian_proto::supervision::v1::FILE_DESCRIPTOR_SET);
}
