//! The storage conformance suite: the same tests on SQLite and on PostgreSQL, against each service's
//! store and migrations.

use std::collections::HashSet;

use tingjian_consultation::domain::plan::NewPlan;
use tingjian_intake::domain::{EnterpriseInput, NewEnterprise, ReferenceKind};
use tingjian_intake::store::Store;
use tingjian_runtime::storage::testing::TestDatabase;
use tingjian_runtime::{Database, ServiceError, ServiceModule, on_pool};
use tingjian_tests::{StorageBackend, on_both_backends};

const MODULES: [&ServiceModule; 4] = [
    &tingjian_intake::MODULE,
    &tingjian_consultation::MODULE,
    &tingjian_supervision::MODULE,
    &tingjian_analytics::MODULE,
];

/// An enterprise in 岱山县, 先进制造, resolved against the store's reference data.
async fn enterprise(store: &Store, code: &str, name: &str) -> NewEnterprise {
    let catalog =
        store.reference_catalog(&[ReferenceKind::District, ReferenceKind::Industry]).await.expect("reference data");
    NewEnterprise::parse(
        &EnterpriseInput {
            name,
            credit_code: code,
            district: "岱山县",
            industry: "先进制造",
            size: 2,
            monitoring_point: false,
            description: "船舶修造，出口订单为主",
            address: "",
        },
        "enterprise",
        &catalog,
    )
    .expect("valid enterprise")
}

async fn table_count(db: &Database, table: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM {table}");
    on_pool!(db, pool => sqlx::query_scalar::<_, i64>(&sql).fetch_one(pool).await).expect("count")
}

/// Every service's migrations apply to a fresh database and applying them again changes nothing.
async fn migrations_apply_and_are_idempotent(backend: StorageBackend) {
    for module in MODULES {
        let Some(test) = TestDatabase::fresh(backend, &module.migrations).await else { return };
        test.db.ping().await.expect("answers");
        test.db.migrate(&module.migrations).await.expect("second run is a no-op");
        let applied = on_pool!(&test.db, pool => {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM _sqlx_migrations").fetch_one(pool).await
        })
        .expect("migration table");
        let own = match backend {
            StorageBackend::Sqlite => module.migrations.sqlite.iter().count(),
            StorageBackend::Postgres => module.migrations.postgres.iter().count(),
        };
        let shared = tingjian_runtime::events::migrations(backend).len();
        assert_eq!(applied as usize, own + shared, "{}: every migration recorded once", module.name);
        for table in ["event_outbox", "event_consumed", "event_relay_lease"] {
            assert_eq!(table_count(&test.db, table).await, 0, "{}: {table} exists", module.name);
        }
        assert_eq!(
            module.migrations.sqlite.iter().map(|m| m.version).collect::<Vec<_>>(),
            module.migrations.postgres.iter().map(|m| m.version).collect::<Vec<_>>(),
            "{}: both backends have the same migration versions",
            module.name
        );
    }
}

/// Enterprises round-trip with their Chinese text; duplicates are refused; nothing half-written.
async fn enterprise_round_trip(backend: StorageBackend) {
    let Some(test) = TestDatabase::fresh(backend, &tingjian_intake::MODULE.migrations).await else { return };
    let store = Store::new(test.db.clone());
    let new = enterprise(&store, "91350100M000100Y43", "岱山县某某船舶修造有限公司").await;
    assert_eq!((new.district.as_str(), new.industry.as_str()), ("daishan", "advanced_manufacturing"));
    let created = store.create_enterprise(&new, None, "staff-1").await.expect("created");
    assert_eq!(created.fields, new);
    assert_eq!(created.version, 1);
    let got = store.get_enterprise(&created.id).await.expect("found");
    assert_eq!(got, created, "what is read is what was written");

    let duplicate = enterprise(&store, "91350100M000100Y43", "另一家公司").await;
    let err = store.create_enterprise(&duplicate, None, "staff-1").await.expect_err("duplicate");
    assert!(matches!(err, ServiceError::AlreadyExists(_)), "{err:?}");
    assert_eq!(table_count(&test.db, "enterprise").await, 1, "the refused insert left nothing behind");
    assert_eq!(table_count(&test.db, "event_outbox").await, 1, "nor an event: one registration, one event");

    let missing = store.get_enterprise("01930000-0000-7000-8000-000000000000").await.expect_err("missing");
    assert!(matches!(missing, ServiceError::NotFound { resource: "enterprise", .. }));
}

/// Concurrent retries with one request id register one enterprise, and all see the same one.
async fn idempotent_create_under_concurrency(backend: StorageBackend) {
    let Some(test) = TestDatabase::fresh(backend, &tingjian_intake::MODULE.migrations).await else { return };
    let store = Store::new(test.db.clone());
    let new = enterprise(&store, "91350100M000100Y43", "舟山市某港航物流有限公司").await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let new = new.clone();
            tokio::spawn(async move { store.create_enterprise(&new, Some("retry-key"), "staff-1").await })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.expect("task").expect("created or replayed").id);
    }
    assert_eq!(ids.len(), 1, "every retry returns the same enterprise");
    assert_eq!(table_count(&test.db, "enterprise").await, 1);
    assert_eq!(table_count(&test.db, "event_outbox").await, 1, "one registration, one event");
}

/// One plan per year; the request id replays; the plan round-trips.
async fn plan_round_trip(backend: StorageBackend) {
    let Some(test) = TestDatabase::fresh(backend, &tingjian_consultation::MODULE.migrations).await else { return };
    let store = tingjian_consultation::store::Store::new(test.db.clone());
    let new = NewPlan::parse(2026, "2026年度重大协商计划", "围绕临港先进制造业高质量发展", "plan").expect("valid");
    let created = store.create_plan(&new, Some("plan-2026"), "staff-1").await.expect("created");
    assert_eq!(store.get_plan(&created.id).await.expect("found"), created);
    let replay = store.create_plan(&new, Some("plan-2026"), "staff-1").await.expect("replayed");
    assert_eq!(replay.id, created.id);
    let err = store.create_plan(&new, Some("plan-2026-b"), "staff-1").await.expect_err("second plan");
    assert!(matches!(err, ServiceError::AlreadyExists(ref m) if m.contains("2026")), "{err:?}");
    assert_eq!(table_count(&test.db, "plan").await, 1);
}

/// An unknown case is NOT_FOUND, not an error of the store.
async fn unknown_case_is_not_found(backend: StorageBackend) {
    let Some(test) = TestDatabase::fresh(backend, &tingjian_supervision::MODULE.migrations).await else { return };
    let store = tingjian_supervision::store::Store::new(test.db.clone());
    let err = store.get_case("01930000-0000-7000-8000-000000000000").await.expect_err("missing");
    assert!(matches!(err, ServiceError::NotFound { resource: "case", .. }), "{err:?}");
}

on_both_backends!(migrations, crate::migrations_apply_and_are_idempotent);
on_both_backends!(enterprises, crate::enterprise_round_trip);
on_both_backends!(idempotent_creates, crate::idempotent_create_under_concurrency);
on_both_backends!(plans, crate::plan_round_trip);
on_both_backends!(cases, crate::unknown_case_is_not_found);
