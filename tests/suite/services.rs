//! Each service started on 127.0.0.1:0 with a fresh database, called through its generated client:
//! health, bad input, missing credentials, its first operations, and a graceful shutdown.

use tingjian_proto::analytics::v1 as analytics;
use tingjian_proto::common::v1::{Period, PeriodKind};
use tingjian_proto::consultation::v1 as consultation;
use tingjian_proto::intake::v1 as intake;
use tingjian_proto::supervision::v1 as supervision;
use tingjian_runtime::{Role, ServiceModule};
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends, spawn};
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus};

async fn serving(service: &TestService, name: &str) -> ServingStatus {
    HealthClient::new(service.channel.clone())
        .check(HealthCheckRequest { service: name.to_owned() })
        .await
        .expect("health answers")
        .into_inner()
        .status()
}

/// Health reports SERVING for the service and the server; after a graceful stop nothing answers.
async fn health_and_shutdown(module: &ServiceModule, api: &str, backend: StorageBackend) {
    let Some(service) = spawn(module, backend).await else { return };
    assert_eq!(serving(&service, api).await, ServingStatus::Serving);
    assert_eq!(serving(&service, "").await, ServingStatus::Serving);
    let addr = service.addr;
    service.stop().await.expect("stops cleanly");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the listener is closed after shutdown");
}

fn valid_enterprise(code: &str) -> intake::Enterprise {
    intake::Enterprise {
        name: "舟山市海之味远洋渔业有限公司".into(),
        credit_code: code.into(),
        district: "普陀区".into(),
        industry: "远洋渔业".into(),
        size: intake::EnterpriseSize::Medium as i32,
        monitoring_point: true,
        address: "舟山市普陀区沈家门街道".into(),
        ..Default::default()
    }
}

/// The example code of GB 32100-2015.
const CODE: &str = "91350100M000100Y43";

async fn intake_calls(backend: StorageBackend) {
    let Some(service) = spawn(&tingjian_intake::MODULE, backend).await else { return };
    let mut client = intake::intake_service_client::IntakeServiceClient::new(service.channel.clone());

    // No token: refused before the handler runs.
    let status = client
        .create_enterprise(intake::CreateEnterpriseRequest {
            enterprise: Some(valid_enterprise(CODE)),
            request_id: String::new(),
        })
        .await
        .expect_err("unauthenticated");
    assert_eq!(status.code(), Code::Unauthenticated);

    // A credit code with a wrong check character names the field.
    let mut bad = valid_enterprise("91350100M000100Y44");
    bad.name = " ".into();
    let status = client
        .create_enterprise(service.request(
            intake::CreateEnterpriseRequest { enterprise: Some(bad), request_id: String::new() },
            &[Role::Staff],
        ))
        .await
        .expect_err("invalid");
    assert_field_violation(&status, "enterprise.credit_code");
    assert_field_violation(&status, "enterprise.name");

    // An enterprise may not register others.
    let status = client
        .create_enterprise(service.request(
            intake::CreateEnterpriseRequest { enterprise: Some(valid_enterprise(CODE)), request_id: String::new() },
            &[Role::Enterprise],
        ))
        .await
        .expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);

    // Registered once, with its Chinese text intact; a retry with the same request id returns it.
    let create =
        || intake::CreateEnterpriseRequest { enterprise: Some(valid_enterprise(CODE)), request_id: "登记-1".into() };
    let status = client.create_enterprise(service.request(create(), &[Role::Staff])).await.expect_err("bad id");
    assert_field_violation(&status, "request_id");
    let create = || intake::CreateEnterpriseRequest {
        enterprise: Some(valid_enterprise(&CODE.to_lowercase())),
        request_id: "register-1".into(),
    };
    let first = client
        .create_enterprise(service.request(create(), &[Role::Staff]))
        .await
        .expect("created")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(first.credit_code, CODE, "stored upper case");
    assert_eq!(first.name, "舟山市海之味远洋渔业有限公司");
    assert_eq!(first.created_by, "test-user");
    let retry = client.create_enterprise(service.request(create(), &[Role::Staff])).await.expect("retry").into_inner();
    assert_eq!(retry.enterprise.expect("enterprise").id, first.id, "a retry returns the first enterprise");

    // The same credit code under another request id is a duplicate.
    let status = client
        .create_enterprise(service.request(
            intake::CreateEnterpriseRequest {
                enterprise: Some(valid_enterprise(CODE)),
                request_id: "register-2".into(),
            },
            &[Role::Staff],
        ))
        .await
        .expect_err("duplicate");
    assert_eq!(status.code(), Code::AlreadyExists);
    assert!(status.message().contains(CODE), "{}", status.message());

    let got = client
        .get_enterprise(service.request(intake::GetEnterpriseRequest { id: first.id.clone() }, &[Role::Analyst]))
        .await
        .expect("found")
        .into_inner()
        .enterprise
        .expect("enterprise");
    assert_eq!(got, first);

    let status = client
        .get_enterprise(service.request(intake::GetEnterpriseRequest { id: "企业一".into() }, &[Role::Staff]))
        .await
        .expect_err("bad id");
    assert_field_violation(&status, "id");
    let status = client
        .get_enterprise(service.request(
            intake::GetEnterpriseRequest { id: "01930000-0000-7000-8000-000000000000".into() },
            &[Role::Staff],
        ))
        .await
        .expect_err("missing");
    assert_eq!(status.code(), Code::NotFound);

    // District and industry given by display name are stored as reference codes.
    assert_eq!((first.district.as_str(), first.industry.as_str()), ("putuo", "ocean_fishing"));

    // The similar-demand engine needs a text or a demand to compare.
    let status = client
        .suggest_similar(service.request(intake::SuggestSimilarRequest::default(), &[Role::Staff]))
        .await
        .expect_err("nothing to compare");
    assert_field_violation(&status, "text");
    service.stop().await.expect("stops");
}

async fn consultation_calls(backend: StorageBackend) {
    let Some(service) = spawn(&tingjian_consultation::MODULE, backend).await else { return };
    let mut client = consultation::consultation_service_client::ConsultationServiceClient::new(service.channel.clone());
    let plan = |year: i32| consultation::CreatePlanRequest {
        plan: Some(consultation::Plan { year, title: format!("{year}年度政企协商计划"), ..Default::default() }),
        request_id: String::new(),
    };

    let status = client.create_plan(plan(2026)).await.expect_err("unauthenticated");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client.create_plan(service.request(plan(1900), &[Role::Staff])).await.expect_err("invalid");
    assert_field_violation(&status, "plan.year");
    let status = client.create_plan(service.request(plan(2026), &[Role::Enterprise])).await.expect_err("denied");
    assert_eq!(status.code(), Code::PermissionDenied);

    let created = client
        .create_plan(service.request(plan(2026), &[Role::Staff]))
        .await
        .expect("created")
        .into_inner()
        .plan
        .expect("plan");
    assert_eq!(created.title, "2026年度政企协商计划");
    let status = client.create_plan(service.request(plan(2026), &[Role::Staff])).await.expect_err("one plan a year");
    assert_eq!(status.code(), Code::AlreadyExists);
    let got = client
        .get_plan(service.request(consultation::GetPlanRequest { id: created.id.clone() }, &[Role::Member]))
        .await
        .expect("found")
        .into_inner()
        .plan
        .expect("plan");
    assert_eq!(got, created);
    service.stop().await.expect("stops");
}

async fn supervision_calls(backend: StorageBackend) {
    let Some(service) = spawn(&tingjian_supervision::MODULE, backend).await else { return };
    let mut client = supervision::supervision_service_client::SupervisionServiceClient::new(service.channel.clone());
    let status = client.get_case(supervision::GetCaseRequest { id: "x".into() }).await.expect_err("unauthenticated");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .get_case(service.request(supervision::GetCaseRequest { id: "交办单-1".into() }, &[Role::Supervisor]))
        .await
        .expect_err("invalid");
    assert_field_violation(&status, "id");
    let status = client
        .get_case(service.request(
            supervision::GetCaseRequest { id: "01930000-0000-7000-8000-000000000000".into() },
            &[Role::Supervisor],
        ))
        .await
        .expect_err("missing");
    assert_eq!(status.code(), Code::NotFound);
    service.stop().await.expect("stops");
}

async fn analytics_calls(backend: StorageBackend) {
    let Some(service) = spawn(&tingjian_analytics::MODULE, backend).await else { return };
    let mut client = analytics::analytics_service_client::AnalyticsServiceClient::new(service.channel.clone());
    let request = |kind: PeriodKind, number: i32| analytics::GetScorecardRequest {
        period: Some(Period { kind: kind as i32, year: 2026, number }),
        filter: None,
    };
    let status = client.get_scorecard(request(PeriodKind::Month, 13)).await.expect_err("unauthenticated");
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .get_scorecard(service.request(request(PeriodKind::Month, 13), &[Role::Analyst]))
        .await
        .expect_err("invalid");
    assert_field_violation(&status, "period.number");
    let status = client
        .get_scorecard(service.request(analytics::GetScorecardRequest::default(), &[Role::Analyst]))
        .await
        .expect_err("missing period");
    assert_field_violation(&status, "period");
    service.stop().await.expect("stops");
}

async fn intake_health(backend: StorageBackend) {
    health_and_shutdown(&tingjian_intake::MODULE, "tingjian.intake.v1.IntakeService", backend).await;
}
async fn consultation_health(backend: StorageBackend) {
    health_and_shutdown(&tingjian_consultation::MODULE, "tingjian.consultation.v1.ConsultationService", backend).await;
}
async fn supervision_health(backend: StorageBackend) {
    health_and_shutdown(&tingjian_supervision::MODULE, "tingjian.supervision.v1.SupervisionService", backend).await;
}
async fn analytics_health(backend: StorageBackend) {
    health_and_shutdown(&tingjian_analytics::MODULE, "tingjian.analytics.v1.AnalyticsService", backend).await;
}

on_both_backends!(intake_health_and_graceful_shutdown, crate::intake_health);
on_both_backends!(consultation_health_and_graceful_shutdown, crate::consultation_health);
on_both_backends!(supervision_health_and_graceful_shutdown, crate::supervision_health);
on_both_backends!(analytics_health_and_graceful_shutdown, crate::analytics_health);
on_both_backends!(intake_enterprises, crate::intake_calls);
on_both_backends!(consultation_plans, crate::consultation_calls);
on_both_backends!(supervision_cases, crate::supervision_calls);
on_both_backends!(analytics_scorecard_input, crate::analytics_calls);
