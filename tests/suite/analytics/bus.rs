//! End to end over the embedded bus: the producers' envelopes published (some twice, out of order) and
//! consumed by the analytics service's own consumers into the figures.

use std::time::Duration;

use prost::Message as _;
use tingjian_proto::common::v1::Event;
use tingjian_runtime::ServiceContext;
use tingjian_runtime::clock::Clock;
use tingjian_runtime::events::bus::{Bus, EmbeddedBus, Outgoing};
use tingjian_runtime::peers::Peers;
use tingjian_runtime::settings::Settings;
use tingjian_runtime::shutdown::Shutdown;
use tingjian_tests::{StorageBackend, on_both_backends};

use super::fixtures::*;

fn outgoing(event: &Event, id: String) -> Outgoing {
    Outgoing { id, subject: event.r#type.clone(), payload: event.encode_to_vec().into() }
}

async fn consumed_from_the_bus(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    let dir = tempfile::tempdir().expect("bus directory");
    let bus = Bus::Embedded(EmbeddedBus::open(&dir.path().join("bus.sqlite")).await.expect("embedded bus"));

    // Demands and cases, the cases' events published newest first, and everything published again under
    // other message ids (a relay that published twice).
    let demands = super::demands::events();
    let mut cases = super::cases::events();
    cases.reverse();
    let events: Vec<Event> = [demands, cases].concat();
    let first: Vec<Outgoing> = events.iter().map(|e| outgoing(e, e.id.clone())).collect();
    let again: Vec<Outgoing> = events.iter().map(|e| outgoing(e, format!("{}.again", e.id))).collect();
    bus.publish(&first).await.expect("published");
    bus.publish(&again).await.expect("published again");

    let start = tingjian_analytics::MODULE.consume.expect("the analytics service consumes events");
    let settings = Settings::defaults("analytics", 0);
    let context = ServiceContext {
        db: h.service.database.db.clone(),
        peers: Peers::connect_lazy(&settings.peers).expect("peers"),
        supervision: Default::default(),
        similarity: Default::default(),
        clock: Clock::system(),
    };
    let shutdown = Shutdown::new();
    let consumers = start(context, bus.clone(), shutdown.clone());

    // Wait until the last event's figure shows (the consumers apply in the background).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let card = h.card(month(2024, 3)).await;
        let done = h.card(year(2025)).await.demands_received == 1 && card.cases_assigned == 10;
        if done && card.response_rate.is_some_and(|r| r.denominator == 10 && r.numerator == 6) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "events not consumed in time: {card:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Let the duplicates pass too, then check every figure.
    tokio::time::sleep(Duration::from_millis(500)).await;
    super::demands::check(&mut h).await;
    super::cases::check(&mut h).await;
    assert!(bus.dead_letters().await.expect("dead letters").is_empty(), "no event refused");
    let rebuilt = h.rebuild(true).await;
    assert!(rebuilt.matches_previous, "{rebuilt:?}");
    assert_eq!(rebuilt.events_replayed, events.len() as i64);

    shutdown.trigger();
    for consumer in consumers {
        tokio::time::timeout(Duration::from_secs(30), consumer).await.expect("consumer stops").expect("no panic");
    }
}
on_both_backends!(events_consumed_from_the_embedded_bus, super::consumed_from_the_bus);
