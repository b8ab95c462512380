//! Recomputing every rollup from the retained event history.
//!
//! In one transaction: the digest of the current rollups, then every fact table, contribution and
//! rollup emptied and every event of the history merged again in (time, id) order — the merges do not
//! depend on the order, so the result equals the incrementally maintained one — then the digest of the
//! result. A dry run rolls the transaction back and keeps the current rollups. Either way the rebuild
//! is reported as a `tingjian.analytics.rollups_rebuilt` event.

use std::time::{Duration, Instant};

use prost::Message as _;
use sha2::{Digest as _, Sha256};
use tingjian_proto::analytics::v1::RollupsRebuilt;
use tingjian_proto::common::v1::Event;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::on_tx;
use tingjian_runtime::storage::Tx;

use super::Store;
use super::ingest::contribution::{Key, Rows};
use super::ingest::facts::{Time, execute};
use super::ingest::{DERIVED_TABLES, IngestError, merge};

/// Events read from the history at once.
const PAGE: i64 = 500;

/// What a rebuild found.
#[derive(Debug, Clone, PartialEq)]
pub struct RebuildReport {
    /// Events replayed from the history.
    pub events_replayed: i64,
    /// Digest of the rebuilt rollups.
    pub rollup_digest: String,
    /// Digest of the rollups before the rebuild.
    pub previous_digest: String,
    /// Whether the two are equal.
    pub matches_previous: bool,
    /// Time of the latest event replayed.
    pub as_of_time: Option<Time>,
    /// How long it took.
    pub duration: Duration,
    /// Whether the current rollups were kept.
    pub dry_run: bool,
}

impl Store {
    /// Rebuilds the rollups from the history (or, with `dry_run`, only compares the result with them).
    pub async fn rebuild(&self, dry_run: bool) -> Result<RebuildReport, IngestError> {
        self.rebuild_as(dry_run, "").await
    }

    /// [`Store::rebuild`] asked for by `actor` (recorded on the event reporting it).
    pub async fn rebuild_as(&self, dry_run: bool, actor: &str) -> Result<RebuildReport, IngestError> {
        let started = Instant::now();
        let mut tx = self.db().begin().await?;
        let result = replay(&mut tx).await;
        let (events_replayed, previous_digest, rollup_digest, as_of_time) = match result {
            Ok(r) => r,
            Err(e) => {
                tx.rollback().await?;
                return Err(e);
            }
        };
        let matches_previous = previous_digest == rollup_digest;
        let payload = RollupsRebuilt {
            events_replayed,
            rollup_digest: rollup_digest.clone(),
            previous_digest: previous_digest.clone(),
            matches_previous,
            dry_run,
            actor: actor.to_owned(),
        };
        if dry_run {
            tx.rollback().await?;
            tx = self.db().begin().await?;
        }
        record_rebuilt(&mut tx, &payload).await?;
        tx.commit().await?;
        let report = RebuildReport {
            events_replayed,
            rollup_digest,
            previous_digest,
            matches_previous,
            as_of_time,
            duration: started.elapsed(),
            dry_run,
        };
        tracing::info!(
            events = report.events_replayed,
            matches = report.matches_previous,
            dry_run,
            duration_ms = report.duration.as_millis() as u64,
            "rollups rebuilt"
        );
        Ok(report)
    }

    /// Hex SHA-256 of the canonical text of the current rollups.
    pub async fn rollup_digest(&self) -> Result<String, sqlx::Error> {
        let mut tx = self.db().begin().await?;
        let d = digest(&mut tx).await;
        tx.rollback().await?;
        d
    }
}

async fn record_rebuilt(tx: &mut Tx, payload: &RollupsRebuilt) -> Result<(), sqlx::Error> {
    let event = NewEvent {
        name: "rollups_rebuilt",
        subject: "rollups".to_owned(),
        data: payload.encode_to_vec(),
        data_schema: "tingjian.analytics.v1.RollupsRebuilt",
    };
    events::record(tx, "analytics", event).await.map(|_| ())
}

type HistoryRow = (String, String, String, String, Time, String, Vec<u8>);

/// Empties the derived tables and replays the history; returns the events replayed, the digests before
/// and after, and the latest event time.
async fn replay(tx: &mut Tx) -> Result<(i64, String, String, Option<Time>), IngestError> {
    let previous = digest(tx).await?;
    for table in DERIVED_TABLES {
        execute(tx, &format!("DELETE FROM {table}"), Vec::new()).await?;
    }
    let mut replayed = 0i64;
    let mut after: Option<(Time, String)> = None;
    loop {
        let page: Vec<HistoryRow> = match &after {
            None => on_tx!(&mut *tx, conn => sqlx::query_as(
                "SELECT id, source, event_type, subject, event_time, data_schema, data FROM event_history \
                 ORDER BY event_time, id LIMIT $1")
                .bind(PAGE)
                .fetch_all(&mut **conn)
                .await)?,
            Some((time, id)) => on_tx!(&mut *tx, conn => sqlx::query_as(
                "SELECT id, source, event_type, subject, event_time, data_schema, data FROM event_history \
                 WHERE event_time > $1 OR (event_time = $1 AND id > $2) ORDER BY event_time, id LIMIT $3")
                .bind(*time)
                .bind(id)
                .bind(PAGE)
                .fetch_all(&mut **conn)
                .await)?,
        };
        let full = page.len() as i64 == PAGE;
        for (id, source, event_type, subject, time, data_schema, data) in page {
            let event = Event {
                id: id.clone(),
                source,
                r#type: event_type,
                subject,
                time: Some(tingjian_runtime::wire::timestamp(time)),
                data_content_type: "application/protobuf".to_owned(),
                data_schema,
                data,
                spec_version: "1.0".to_owned(),
                ..Event::default()
            };
            merge(tx, &event).await?;
            replayed += 1;
            after = Some((time, id));
        }
        if !full {
            break;
        }
    }
    let rebuilt = digest(tx).await?;
    Ok((replayed, previous, rebuilt, after.map(|(t, _)| t)))
}

/// Hex SHA-256 over one line per rollup row with a value, in key order:
/// `metric\tdistrict\tindustry\tcategory\tunit\tchannel\tbucket\tslot\tvalue\n`.
async fn digest(tx: &mut Tx) -> Result<String, sqlx::Error> {
    type Row = (String, String, String, String, String, String, i64, i64, i64);
    let rows: Vec<Row> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT metric, district, industry, category, unit, channel, bucket, slot, value FROM rollup WHERE value <> 0")
        .fetch_all(&mut **conn)
        .await)?;
    // Ordered here rather than by the database, so both engines order text the same way (by bytes).
    let rows: Rows = rows
        .into_iter()
        .map(|(metric, district, industry, category, unit, channel, bucket, slot, value)| {
            (Key { metric, dims: [district, industry, category, unit, channel], bucket, slot }, value)
        })
        .collect();
    Ok(digest_rows(&rows))
}

/// The digest of rollup rows (see [`Store::rollup_digest`]).
pub fn digest_rows(rows: &Rows) -> String {
    let mut hasher = Sha256::new();
    for (k, v) in rows.iter().filter(|(_, v)| **v != 0) {
        let [district, industry, category, unit, channel] = &k.dims;
        hasher.update(format!(
            "{}\t{district}\t{industry}\t{category}\t{unit}\t{channel}\t{}\t{}\t{v}\n",
            k.metric, k.bucket, k.slot
        ));
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_ignore_zero_rows_and_see_every_value() {
        let key = |metric: &str| Key {
            metric: metric.to_owned(),
            dims: std::array::from_fn(|_| "*".to_owned()),
            bucket: 19_800,
            slot: 0,
        };
        let mut rows = Rows::new();
        rows.insert(key("cases_assigned"), 3);
        let base = digest_rows(&rows);
        assert_eq!(base.len(), 64);
        rows.insert(key("cases_replied"), 0);
        assert_eq!(digest_rows(&rows), base);
        rows.insert(key("cases_assigned"), 4);
        assert_ne!(digest_rows(&rows), base);
        assert_eq!(digest_rows(&Rows::new()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
