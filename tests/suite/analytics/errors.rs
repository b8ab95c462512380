//! Bad input and callers without the right: clear errors naming the field, never INTERNAL.

use tingjian_proto::analytics::v1::{self as pb, Dimension, Metric};
use tingjian_proto::common::v1::Period;
use tingjian_runtime::Role;
use tingjian_tests::{Identity, StorageBackend, on_both_backends};
use tonic::Code;
use tonic_types::StatusExt;

use super::fixtures::*;

/// Checks INVALID_ARGUMENT with a violation of `field` or of one of its sub-fields.
fn assert_violation(status: &tonic::Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let details = status.get_error_details();
    let bad = details.bad_request().unwrap_or_else(|| panic!("no BadRequest details in {status:?}"));
    assert!(
        bad.field_violations.iter().any(|v| v.field == field || v.field.starts_with(&format!("{field}."))),
        "no violation of {field} in {:?}",
        bad.field_violations
    );
}

async fn bad_input(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    h.feed(&super::demands::events()).await;

    // No period.
    let request = h.as_(&analyst(), pb::GetScorecardRequest { period: None, filter: None });
    let status = h.client.get_scorecard(request).await.expect_err("no period");
    assert_violation(&status, "period");
    let request = h.as_(&analyst(), pb::GetScorecardRequest { period: Some(Period::default()), filter: None });
    let status = h.client.get_scorecard(request).await.expect_err("period kind unspecified");
    assert_violation(&status, "period");
    // Month 13.
    let request = h.as_(&analyst(), pb::GetScorecardRequest { period: Some(month(2024, 13)), filter: None });
    let status = h.client.get_scorecard(request).await.expect_err("month 13");
    assert_violation(&status, "period");

    // Common issues carry only the category.
    let request = pb::GetBreakdownRequest {
        metric: Metric::CommonIssuesFormed as i32,
        period: Some(year(2024)),
        dimension: Dimension::District as i32,
        filter: None,
        limit: 0,
    };
    let status = h.client.get_breakdown(h.as_(&analyst(), request)).await.expect_err("not carried");
    assert_violation(&status, "dimension");
    // Contacts carry no channel.
    let request = pb::GetBreakdownRequest {
        metric: Metric::ContactsLogged as i32,
        period: Some(year(2024)),
        dimension: Dimension::Channel as i32,
        filter: None,
        limit: 0,
    };
    let status = h.client.get_breakdown(h.as_(&analyst(), request)).await.expect_err("not carried");
    assert_violation(&status, "dimension");
    // No metric.
    let request = pb::GetBreakdownRequest {
        metric: Metric::Unspecified as i32,
        period: Some(year(2024)),
        dimension: Dimension::District as i32,
        filter: None,
        limit: 0,
    };
    let status = h.client.get_breakdown(h.as_(&analyst(), request)).await.expect_err("no metric");
    assert_violation(&status, "metric");
    // A series ending before it starts.
    let request = pb::GetSeriesRequest {
        metric: Metric::DemandsReceived as i32,
        start_period: Some(month(2024, 5)),
        end_period: Some(month(2024, 1)),
        filter: None,
    };
    let status = h.client.get_series(h.as_(&analyst(), request)).await.expect_err("backwards");
    assert_violation(&status, "end_period");

    // An unknown enterprise.
    let request = pb::GetEnterpriseProfileRequest { enterprise_id: "ent-nobody".into(), period: None };
    let status = h.client.get_enterprise_profile(h.as_(&analyst(), request)).await.expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // An enterprise, a netizen and a handling unit read no figures.
    for who in [
        enterprise_user(),
        Identity::new("netizen-a", "public", &[Role::Netizen]),
        Identity::new("officer-zs-jrb", "zs-jrb", &[Role::HandlingUnit]),
    ] {
        let request = h.as_(&who, pb::GetScorecardRequest { period: Some(year(2024)), filter: None });
        let status = h.client.get_scorecard(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
    let request =
        h.as_(&enterprise_user(), pb::GetEnterpriseProfileRequest { enterprise_id: "ent-d1".into(), period: None });
    let status = h.client.get_enterprise_profile(request).await.expect_err("refused");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // No token at all.
    let status = h
        .client
        .get_scorecard(pb::GetScorecardRequest { period: Some(year(2024)), filter: None })
        .await
        .expect_err("anonymous");
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    // Staff and leaders read.
    for role in [Role::Staff, Role::Leader, Role::Analyst] {
        let who = Identity::new("reader", "zs-zxb", &[role]);
        let request = h.as_(&who, pb::GetScorecardRequest { period: Some(year(2024)), filter: None });
        let card = h.client.get_scorecard(request).await.expect("read").into_inner().scorecard.expect("set");
        assert_eq!(card.demands_received, 6);
    }
}
on_both_backends!(bad_input_and_callers_without_the_right, super::bad_input);
