//! Ingesting event sequences into a real database, on both engines.

use chrono::{DateTime, NaiveDate, Utc};
use prost::Message;
use tingjian_proto::common::v1::{Event, Money, OrganisationRef};
use tingjian_proto::consultation::v1 as consultation;
use tingjian_proto::intake::v1 as intake;
use tingjian_proto::supervision::v1 as supervision;
use tingjian_runtime::on_pool;
use tingjian_runtime::storage::Backend;
use tingjian_runtime::storage::testing::TestDatabase;

use super::IngestError;
use crate::domain::bucket::{self, ALL};
use crate::domain::metric as m;
use crate::store::Store;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("instant").with_timezone(&Utc)
}

fn day(y: i32, mo: u32, d: u32) -> i64 {
    bucket::day_number(NaiveDate::from_ymd_opt(y, mo, d).expect("date"))
}

fn event(id: &str, kind: &str, at: &str, payload: &impl Message) -> Event {
    let (service, name) = kind.split_once('.').expect("service.name");
    Event {
        id: id.to_owned(),
        source: format!("/tingjian/{service}"),
        r#type: format!("tingjian.{service}.{name}"),
        subject: format!("things/{id}"),
        time: Some(tingjian_runtime::wire::timestamp(t(at))),
        data_content_type: "application/protobuf".to_owned(),
        data_schema: "test".to_owned(),
        data: payload.encode_to_vec(),
        spec_version: "1.0".to_owned(),
        ..Event::default()
    }
}

fn context(case_id: &str) -> supervision::CaseContext {
    supervision::CaseContext {
        case_id: case_id.to_owned(),
        lead_unit: Some(OrganisationRef {
            id: "zs-jxj".into(), name: "舟山市经济和信息化局".into(), kind: 0
        }),
        enterprise_id: "e1".into(),
        category: "finance".into(),
        district: "dinghai".into(),
        industry: "fishery".into(),
        dispatch_time: Some(tingjian_runtime::wire::timestamp(t("2024-07-10T00:00:00Z"))),
        deadline_time: Some(tingjian_runtime::wire::timestamp(t("2024-07-25T00:00:00Z"))),
        status: 1,
        ..supervision::CaseContext::default()
    }
}

/// A small programme: an enterprise registered and contacted, two demands merged into an issue, a case
/// dispatched, replied on time (class A), evaluated satisfied, with a benefit; a session; an event type
/// analytics does not count.
fn programme() -> Vec<Event> {
    vec![
        event(
            "01-registered",
            "intake.enterprise_registered",
            "2024-07-01T02:00:00Z",
            &intake::EnterpriseRegistered {
                enterprise_id: "e1".into(),
                name: "舟山远洋渔业有限公司".into(),
                district: "dinghai".into(),
                industry: "fishery".into(),
                ..Default::default()
            },
        ),
        event(
            "02-contact",
            "intake.contact_logged",
            "2024-07-10T08:00:00Z",
            &intake::ContactLogged {
                contact_id: "c1".into(),
                enterprise_id: "e1".into(),
                contact_time: Some(tingjian_runtime::wire::timestamp(t("2024-07-10T02:00:00Z"))),
                briefed_person_times: 5,
                district: "dinghai".into(),
                industry: "fishery".into(),
                ..Default::default()
            },
        ),
        event(
            "03-demand",
            "intake.demand_submitted",
            "2024-07-05T02:00:00Z",
            &intake::DemandSubmitted {
                demand_id: "d1".into(),
                enterprise_id: "e1".into(),
                category: "finance".into(),
                channel: intake::DemandChannel::Visit as i32,
                district: "dinghai".into(),
                industry: "fishery".into(),
                ..Default::default()
            },
        ),
        event(
            "04-demand",
            "intake.demand_submitted",
            "2024-07-06T02:00:00Z",
            &intake::DemandSubmitted {
                demand_id: "d2".into(),
                category: "finance".into(),
                district: "putuo".into(),
                ..Default::default()
            },
        ),
        event(
            "05-issue",
            "intake.common_issue_formed",
            "2024-08-02T02:00:00Z",
            &intake::CommonIssueFormed {
                common_issue_id: "i1".into(),
                category: "finance".into(),
                demand_ids: vec!["d1".into(), "d2".into()],
                ..Default::default()
            },
        ),
        event(
            "06-dispatched",
            "supervision.case_dispatched",
            "2024-07-10T00:00:00Z",
            &supervision::CaseDispatched { context: Some(context("k1")), ..Default::default() },
        ),
        event(
            "07-replied",
            "supervision.case_replied",
            "2024-07-12T00:00:00Z",
            &supervision::CaseReplied {
                context: Some(context("k1")),
                result_class: supervision::ResultClass::A as i32,
                first_reply: true,
                on_time: true,
                ..Default::default()
            },
        ),
        event(
            "08-evaluated",
            "supervision.case_evaluated",
            "2024-07-15T00:00:00Z",
            &supervision::CaseEvaluated {
                context: Some(context("k1")),
                result: supervision::EvaluationResult::Satisfied as i32,
                ..Default::default()
            },
        ),
        event(
            "09-benefit",
            "supervision.benefit_recorded",
            "2024-07-16T00:00:00Z",
            &supervision::BenefitRecorded {
                context: Some(context("k1")),
                benefit: Some(supervision::Benefit {
                    id: "b1".into(),
                    kind: supervision::BenefitKind::InterestReduced as i32,
                    amount: Some(Money { currency_code: "CNY".into(), minor_units: 100_000 }),
                    problems_solved: 1,
                    ..Default::default()
                }),
                ..Default::default()
            },
        ),
        event(
            "10-session",
            "consultation.session_closed",
            "2024-07-20T06:00:00Z",
            &consultation::SessionClosed {
                session_id: "s1".into(),
                format: consultation::SessionFormat::FaceToFace as i32,
                speaking_enterprise_ids: vec!["e1".into(), "e2".into(), "e1".into()],
                ..Default::default()
            },
        ),
        event(
            "11-roundtable",
            "intake.roundtable_held",
            "2024-07-21T06:00:00Z",
            &intake::RoundtableHeld { roundtable_id: "r1".into(), ..Default::default() },
        ),
    ]
}

async fn rollup(store: &Store, metric: &str, dims: [&str; 5], bucket: i64, slot: i64) -> i64 {
    let [district, industry, category, unit, channel] = dims;
    let value: Option<i64> = on_pool!(store.db(), pool => sqlx::query_scalar(
        "SELECT value FROM rollup WHERE metric = $1 AND district = $2 AND industry = $3 AND category = $4 \
         AND unit = $5 AND channel = $6 AND bucket = $7 AND slot = $8")
        .bind(metric).bind(district).bind(industry).bind(category).bind(unit).bind(channel).bind(bucket).bind(slot)
        .fetch_optional(pool)
        .await)
    .expect("rollup read");
    value.unwrap_or(0)
}

async fn count(store: &Store, sql: &str) -> i64 {
    on_pool!(store.db(), pool => sqlx::query_scalar(sql).fetch_one(pool).await).expect("count")
}

const ALL5: [&str; 5] = [ALL, ALL, ALL, ALL, ALL];

async fn ingests_in_any_order_and_rebuilds_to_the_same_rollups(backend: Backend) {
    let Some(forward_db) = TestDatabase::fresh(backend, &crate::MODULE.migrations).await else { return };
    let Some(backward_db) = TestDatabase::fresh(backend, &crate::MODULE.migrations).await else { return };
    let forward = Store::new(forward_db.db.clone());
    let backward = Store::new(backward_db.db.clone());
    let events = programme();
    for e in &events {
        assert!(forward.ingest(e).await.expect("ingest"), "{} applied", e.id);
    }
    for e in events.iter().rev() {
        assert!(backward.ingest(e).await.expect("ingest"), "{} applied", e.id);
    }
    // A second delivery changes nothing.
    assert!(!forward.ingest(&events[6]).await.expect("duplicate"));
    let july = day(2024, 7, 1);
    let august = day(2024, 8, 1);
    for store in [&forward, &backward] {
        assert_eq!(rollup(store, m::CASES_ASSIGNED, ALL5, july, 0).await, 1);
        assert_eq!(rollup(store, m::CASES_ASSIGNED, [ALL, ALL, ALL, "zs-jxj", ALL], july, 0).await, 1);
        assert_eq!(
            rollup(store, m::CASES_ASSIGNED, ["dinghai", "fishery", "finance", "zs-jxj", ALL], july, 0).await,
            1
        );
        assert_eq!(rollup(store, m::CASES_REPLIED, ALL5, july, 0).await, 1);
        assert_eq!(rollup(store, m::CASES_ON_TIME, ALL5, july, 0).await, 1);
        assert_eq!(rollup(store, m::CASES_RESOLVED, ALL5, july, 0).await, 1);
        assert_eq!(rollup(store, m::CASES_SATISFIED, ALL5, july, 0).await, 1);
        assert_eq!(rollup(store, m::HANDLING_TIME, ALL5, july, bucket::handling_slot(48 * 3600)).await, 1);
        assert_eq!(rollup(store, m::DEMANDS_RECEIVED, ALL5, july, 0).await, 2);
        assert_eq!(rollup(store, m::DEMANDS_RECEIVED, [ALL, ALL, ALL, ALL, "DEMAND_CHANNEL_VISIT"], july, 0).await, 1);
        assert_eq!(rollup(store, m::DEMANDS_RECEIVED, [ALL, ALL, ALL, ALL, ""], july, 0).await, 1);
        assert_eq!(rollup(store, m::DEMANDS_MERGED, ["putuo", ALL, ALL, ALL, ALL], august, 0).await, 1);
        assert_eq!(rollup(store, m::DEMANDS_MERGED, ALL5, august, 0).await, 2);
        assert_eq!(rollup(store, m::COMMON_ISSUES_FORMED, [ALL, ALL, "finance", ALL, ALL], august, 0).await, 1);
        assert_eq!(
            rollup(store, m::ENTERPRISES_REGISTERED, ["dinghai", ALL, ALL, ALL, ALL], day(2024, 7, 1), 0).await,
            1
        );
        assert_eq!(rollup(store, m::CONTACT_WEEKS, ALL5, day(2024, 7, 14), 0).await, 1);
        assert_eq!(rollup(store, m::BRIEFING_PERSON_TIMES, ALL5, july, 0).await, 5);
        assert_eq!(rollup(store, m::SESSIONS_FACE_TO_FACE, ALL5, july, 0).await, 1);
        assert_eq!(rollup(store, m::ENTREPRENEUR_SPEAKERS, ALL5, july, 0).await, 2);
        assert_eq!(rollup(store, m::INTEREST_REDUCED, [ALL, ALL, ALL, "zs-jxj", ALL], july, 0).await, 100_000);
        assert_eq!(rollup(store, &m::problems_solved("finance"), ALL5, july, 0).await, 1);
        assert_eq!(count(store, "SELECT count(*) FROM rollup WHERE value = 0").await, 0);
        assert_eq!(count(store, "SELECT count(*) FROM event_history").await, events.len() as i64);
        assert_eq!(count(store, "SELECT count(*) FROM unit_label WHERE name = '舟山市经济和信息化局'").await, 1);
        assert_eq!(store.as_of_time().await.expect("as of"), Some(t("2024-08-02T02:00:00Z")));
    }
    let digest = forward.rollup_digest().await.expect("digest");
    assert_eq!(digest, backward.rollup_digest().await.expect("digest"), "delivery order does not matter");

    let dry = forward.rebuild(true).await.expect("dry run");
    assert!(dry.matches_previous && dry.dry_run);
    assert_eq!(dry.events_replayed, events.len() as i64);
    assert_eq!(dry.previous_digest, digest);
    let report = forward.rebuild(false).await.expect("rebuild");
    assert!(report.matches_previous, "the rebuild equals the incremental rollups");
    assert_eq!(report.rollup_digest, digest);
    assert_eq!(report.as_of_time, Some(t("2024-08-02T02:00:00Z")));
    assert_eq!(forward.rollup_digest().await.expect("digest"), digest);
    assert_eq!(
        count(&forward, "SELECT count(*) FROM event_outbox WHERE event_type = 'tingjian.analytics.rollups_rebuilt'")
            .await,
        2
    );
    // After the rebuild, a duplicate is still recognised and a new event still counts.
    assert!(!forward.ingest(&events[0]).await.expect("duplicate"));
    let reopened = event(
        "12-evaluated",
        "supervision.case_evaluated",
        "2024-07-18T00:00:00Z",
        &supervision::CaseEvaluated {
            context: Some(context("k1")),
            result: supervision::EvaluationResult::Dissatisfied as i32,
            reopened: true,
            ..Default::default()
        },
    );
    assert!(forward.ingest(&reopened).await.expect("ingest"));
    assert_eq!(rollup(&forward, m::CASES_SATISFIED, ALL5, july, 0).await, 0, "the latest evaluation counts");
    assert_eq!(rollup(&forward, m::CASES_REOPENED, ALL5, july, 0).await, 1);
    assert_eq!(count(&forward, "SELECT count(*) FROM rollup WHERE value = 0").await, 0, "zero rows are removed");
    assert!(forward.rebuild(true).await.expect("dry run").matches_previous);
}

async fn a_payload_that_does_not_decode_is_refused_and_not_kept(backend: Backend) {
    let Some(test) = TestDatabase::fresh(backend, &crate::MODULE.migrations).await else { return };
    let store = Store::new(test.db.clone());
    let mut poison =
        event("p1", "supervision.case_replied", "2024-07-12T00:00:00Z", &supervision::CaseReplied::default());
    poison.data = vec![0xff, 0xff, 0xff];
    assert!(matches!(store.ingest(&poison).await, Err(IngestError::Unreadable(_))));
    assert_eq!(count(&store, "SELECT count(*) FROM event_history").await, 0);
    let mut no_time = programme().remove(0);
    no_time.time = None;
    assert!(matches!(store.ingest(&no_time).await, Err(IngestError::Unreadable(_))));
    assert_eq!(store.as_of_time().await.expect("as of"), None);
}

#[tokio::test]
async fn ingest_and_rebuild_on_sqlite() {
    ingests_in_any_order_and_rebuilds_to_the_same_rollups(Backend::Sqlite).await;
}

#[tokio::test]
async fn ingest_and_rebuild_on_postgres() {
    ingests_in_any_order_and_rebuilds_to_the_same_rollups(Backend::Postgres).await;
}

#[tokio::test]
async fn poison_events_on_sqlite() {
    a_payload_that_does_not_decode_is_refused_and_not_kept(Backend::Sqlite).await;
}

#[tokio::test]
async fn poison_events_on_postgres() {
    a_payload_that_does_not_decode_is_refused_and_not_kept(Backend::Postgres).await;
}

/// The consumer applies each event once through [`super::RollupHandler`] and dead-letters a poison event.
async fn the_consumer_applies_events_once(backend: Backend) {
    use std::time::Duration;
    use tingjian_runtime::events::bus::{Bus, Outgoing};
    use tingjian_runtime::events::consumer::{Consumer, ConsumerConfig, Outcome};

    let Some(test) = TestDatabase::fresh(backend, &crate::MODULE.migrations).await else { return };
    let store = Store::new(test.db.clone());
    let path = std::env::temp_dir().join(format!("analytics-consumer-{}.db", tingjian_runtime::wire::new_id()));
    let bus = Bus::connect(None, &path).await.expect("embedded bus");
    let mut poison =
        event("p1", "supervision.case_replied", "2024-07-12T00:00:00Z", &supervision::CaseReplied::default());
    poison.data = vec![0xff, 0xff, 0xff];
    let mut events = programme();
    events.insert(3, poison);
    let outgoing: Vec<Outgoing> = events
        .iter()
        .map(|e| Outgoing { id: e.id.clone(), subject: e.r#type.clone(), payload: e.encode_to_vec().into() })
        .collect();
    bus.publish(&outgoing).await.expect("publish");
    let mut config = ConsumerConfig::new(crate::ROLLUP_CONSUMER, crate::SOURCES);
    config.max_attempts = 1;
    let consumer = Consumer::new(test.db.clone(), bus.clone(), config.clone(), super::RollupHandler);
    let mut subscription = bus.subscribe(&config.name, crate::SOURCES, config.ack_wait).await.expect("subscribe");
    let deliveries = subscription.fetch(100, Duration::from_secs(1)).await.expect("fetch");
    assert_eq!(deliveries.len(), events.len());
    let mut outcomes = Vec::new();
    for d in &deliveries {
        outcomes.push(consumer.deliver(&subscription, d).await.expect("deliver"));
    }
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::DeadLettered).count(), 1);
    assert_eq!(outcomes.iter().filter(|o| **o == Outcome::Applied).count(), events.len() - 1);
    let dead = bus.dead_letters().await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].event_id, "p1");
    assert_eq!(count(&store, "SELECT count(*) FROM event_history").await, events.len() as i64 - 1);
    assert_eq!(rollup(&store, m::CASES_ASSIGNED, ALL5, day(2024, 7, 1), 0).await, 1);
    drop(subscription);
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.clone().into_os_string();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}

#[tokio::test]
async fn consumer_on_sqlite() {
    the_consumer_applies_events_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn consumer_on_postgres() {
    the_consumer_applies_events_once(Backend::Postgres).await;
}
