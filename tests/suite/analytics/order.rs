//! Delivery does not change the figures: every event delivered twice, and everything in reverse (a reply
//! before its dispatch, an evaluation before the reply, a common issue before its demands, contacts
//! before their enterprise's registration, intake, consultation and supervision interleaved) gives the
//! hand-computed figures; RebuildRollups then finds the same rollups, a dry run changes nothing, and a
//! real rebuild repairs rollups that were damaged.

use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::common::v1::Event;
use tingjian_tests::{StorageBackend, on_both_backends};
use tonic::Code;

use super::fixtures::*;
use super::{cases, contacts, demands, long_running, programme};

/// `events` in reverse, each third one delivered again right away and every one again at the end.
async fn deliver_backwards_twice(h: &Harness, events: &[Event]) {
    for (i, event) in events.iter().rev().enumerate() {
        assert!(h.ingest(event).await, "event {} ({}) is new", event.id, event.r#type);
        if i % 3 == 0 {
            assert!(!h.ingest(event).await, "event {} again is a duplicate", event.id);
        }
    }
    for event in events {
        assert!(!h.ingest(event).await, "event {} again is a duplicate", event.id);
    }
}

async fn check_all(h: &mut Harness) {
    demands::check(h).await;
    cases::check(h).await;
    long_running::check(h).await;
    programme::check(h).await;
}

async fn out_of_order_and_duplicates(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    let events: Vec<Event> = [demands::events(), cases::events(), long_running::events(), programme::events()].concat();
    deliver_backwards_twice(&h, &events).await;
    check_all(&mut h).await;

    // The history replayed in (time, id) order gives the same rollups.
    let dry = h.rebuild(true).await;
    assert!(dry.matches_previous, "{dry:?}");
    assert_eq!(dry.rollup_digest, dry.previous_digest);
    assert_eq!(dry.rollup_digest.len(), 64, "a hex SHA-256: {dry:?}");
    assert_eq!(dry.events_replayed, events.len() as i64);
    // The latest event: d7's submission on 2 January 2025.
    assert_eq!(dry.as_of_time.map(|t| t.seconds), Some(china(2025, 1, 2, 10, 0).timestamp()));
    let rebuilt = h.rebuild(false).await;
    assert!(rebuilt.matches_previous, "{rebuilt:?}");
    assert_eq!(rebuilt.rollup_digest, dry.rollup_digest);
    check_all(&mut h).await;

    // Damaged rollups: a dry run reports the difference and leaves them as they are; a rebuild repairs them.
    tingjian_runtime::on_pool!(&h.service.database.db, pool => {
        sqlx::query("DELETE FROM rollup WHERE metric = 'demands_received'").execute(pool).await.map(|_| ())
    })
    .expect("rollups damaged");
    assert_eq!(h.card(year(2024)).await.demands_received, 0);
    let dry = h.rebuild(true).await;
    assert!(!dry.matches_previous, "{dry:?}");
    assert_eq!(dry.rollup_digest, rebuilt.rollup_digest);
    assert_ne!(dry.previous_digest, dry.rollup_digest);
    assert_eq!(h.card(year(2024)).await.demands_received, 0, "a dry run changes nothing");
    let repaired = h.rebuild(false).await;
    assert!(!repaired.matches_previous);
    assert_eq!(repaired.rollup_digest, rebuilt.rollup_digest);
    assert_eq!(h.card(year(2024)).await.demands_received, 6);
    assert!(h.rebuild(true).await.matches_previous);
    check_all(&mut h).await;

    // Only a system administrator rebuilds.
    for who in [
        analyst(),
        enterprise_user(),
        tingjian_tests::Identity::new("staff-wang", "zs-zxb", &[tingjian_runtime::Role::Staff]),
    ] {
        let request = h.as_(&who, pb::RebuildRollupsRequest { dry_run: true });
        let status = h.client.rebuild_rollups(request).await.expect_err("refused");
        assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    }
}
on_both_backends!(duplicates_and_out_of_order_delivery_give_the_same_figures, super::out_of_order_and_duplicates);

async fn contacts_out_of_order(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    let events = contacts::events();
    deliver_backwards_twice(&h, &events).await;
    contacts::check(&mut h).await;
    let rebuilt = h.rebuild(false).await;
    assert!(rebuilt.matches_previous, "{rebuilt:?}");
    assert_eq!(rebuilt.events_replayed, events.len() as i64);
    contacts::check(&mut h).await;
}
on_both_backends!(contacts_before_registrations_give_the_same_compliance, super::contacts_out_of_order);
