//! `tingjian up` as a person runs it: one process, one address, four APIs, a development token, a
//! small footprint, and a clean stop on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

const APIS: [&str; 4] = [
    "tingjian.intake.v1.IntakeService",
    "tingjian.consultation.v1.ConsultationService",
    "tingjian.supervision.v1.SupervisionService",
    "tingjian.analytics.v1.AnalyticsService",
];

fn resident_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS")
}

#[test]
fn up_serves_the_suite_on_one_address_and_stops_cleanly() {
    let data = tempfile::tempdir().expect("data dir");
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tingjian"))
        .args(["up", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .env("TINGJIAN_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("tingjian starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line").expect("utf-8");

    let serving = next();
    let ready = started.elapsed();
    let addr = serving.rsplit(' ').next().expect("address").to_owned();
    assert!(serving.contains("intake, consultation, supervision and analytics"), "{serving}");
    let ready_line = next();
    assert!(ready_line.starts_with("ready in "), "{ready_line}");
    assert!(next().starts_with("development token"));
    let token = next();
    assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
    println!("tingjian up: ready {:.3} s after launch ({ready_line})", ready.as_secs_f64());
    for file in ["intake.db", "consultation.db", "supervision.db", "analytics.db", "bus.db", "dev-signing-key.pem"] {
        assert!(data.path().join(file).exists(), "{file} in the data directory");
    }

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connects");
        let mut health = HealthClient::new(channel);
        for api in APIS {
            let status = health
                .check(HealthCheckRequest { service: api.to_owned() })
                .await
                .expect("health answers")
                .into_inner()
                .status();
            assert_eq!(status, ServingStatus::Serving, "{api}");
        }
    });
    // Close the client's connection, as a finished client would.
    drop(rt);

    std::thread::sleep(Duration::from_millis(300));
    let rss = resident_kib(child.id());
    println!("tingjian up: idle resident memory {:.1} MB", rss as f64 / 1024.0);
    assert!(rss < 60 * 1024, "idle resident memory {rss} KiB is over 60 MB");

    let stopping = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let mut rest = Vec::new();
    for line in lines.by_ref() {
        rest.push(line.expect("utf-8"));
    }
    let status = child.wait().expect("exits");
    println!("tingjian up: stopped {:.3} s after SIGTERM", stopping.elapsed().as_secs_f64());
    assert!(status.success(), "exit status {status}");
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

#[test]
fn token_mints_a_token_for_the_asked_roles() {
    let data = tempfile::tempdir().expect("data dir");
    let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
        .args([
            "token",
            "--role",
            "handling_unit",
            "--subject",
            "unit-42",
            "--organisation",
            "舟山市经信局",
            "--data-dir",
        ])
        .arg(data.path())
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let token = String::from_utf8(output.stdout).expect("utf-8");
    let claims = token.trim().split('.').nth(1).expect("claims");
    assert!(!claims.is_empty());

    let bad = Command::new(env!("CARGO_BIN_EXE_tingjian"))
        .args(["token", "--role", "mayor", "--data-dir"])
        .arg(data.path())
        .output()
        .expect("runs");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown role"), "{}", String::from_utf8_lossy(&bad.stderr));
}

#[test]
fn migrate_prepares_the_embedded_databases() {
    let data = tempfile::tempdir().expect("data dir");
    let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
        .args(["migrate", "--data-dir"])
        .arg(data.path())
        .env_remove("TINGJIAN_DATABASE_URL")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("utf-8");
    for service in ["intake", "consultation", "supervision", "analytics"] {
        assert!(text.contains(&format!("{service}: migrated (sqlite)")), "{text}");
        assert!(data.path().join(format!("{service}.db")).exists());
    }
}

#[test]
fn migrate_prepares_a_postgres_schema_and_is_idempotent() {
    let Some(url) = tingjian_runtime::storage::testing::postgres_url() else { return };
    let schema = format!("test_cli_{}", std::process::id());
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_tingjian"))
            .args(["migrate", "--service", "supervision", "--schema", &schema, "--database-url", &url])
            .output()
            .expect("runs")
    };
    for _ in 0..2 {
        let output = run();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "supervision: migrated (postgres)");
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connects");
        let tables: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'supervision_case'",
        )
        .bind(&schema)
        .fetch_one(&mut conn)
        .await
        .expect("count");
        sqlx::query(&format!("DROP SCHEMA \"{schema}\" CASCADE")).execute(&mut conn).await.expect("cleanup");
        assert_eq!(tables, 1, "the service's tables are in its schema");
    });

    let refused = Command::new(env!("CARGO_BIN_EXE_tingjian"))
        .args(["migrate", "--schema", "shared", "--database-url", &url])
        .output()
        .expect("runs");
    assert!(!refused.status.success(), "one schema for all four services is refused");
}

#[test]
fn dead_letters_of_a_fresh_suite_are_none() {
    let data = tempfile::tempdir().expect("data dir");
    let output = Command::new(env!("CARGO_BIN_EXE_tingjian"))
        .args(["dead-letters", "-o", "json", "--data-dir"])
        .arg(data.path())
        .env_remove("TINGJIAN_NATS_URL")
        .output()
        .expect("runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "[]");
}
