//! Merging one event into the facts, contributions and rollups.
//!
//! An event is applied in one transaction: it is kept in `event_history` (a second delivery of the same
//! id stops there), merged into the fact tables of the entities it is about (see [`facts`] for the
//! order-independent merge rules), and for each entity it touched the contribution is recomputed from
//! the entity's facts alone ([`contribution`]); the difference with the stored contribution is added to
//! `rollup`. [`merge`] does the same without the history, for the rebuild.
//!
//! Events of a type analytics does not count are kept in the history and change no fact. A payload that
//! does not decode as its type's message (or an envelope without id or time) is a poison event: it is
//! refused with an error, so the consumer retries it and finally dead-letters it, and nothing of it is
//! kept.

pub mod contribution;
pub mod facts;

mod consultation;
mod intake;
mod supervision;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::SubsecRound as _;

use tingjian_proto::common::v1::Event;
use tingjian_runtime::events::consumer::{Handler, HandlerError};
use tingjian_runtime::on_tx;
use tingjian_runtime::storage::Tx;

use self::contribution::{Key, Rows};
use self::facts::{Stamp, Time, Value, execute};
use super::Store;

/// The tables every rollup is derived from (besides the history), emptied by the rebuild.
pub const DERIVED_TABLES: &[&str] = &[
    "enterprise_fact",
    "contact_fact",
    "demand_fact",
    "demand_membership",
    "common_issue_fact",
    "post_fact",
    "session_fact",
    "session_speaker",
    "suggestion_fact",
    "special_report_fact",
    "delivery_fact",
    "case_fact",
    "case_quarter",
    "rectification_fact",
    "benefit_fact",
    "unit_label",
    "contribution",
    "rollup",
    "rollup_meta",
];

/// Why an event could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The analytics database failed; the event may be applied again later.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The event cannot be read (a poison event): applying it again will fail again.
    #[error("unreadable event: {0}")]
    Unreadable(String),
}

impl From<IngestError> for HandlerError {
    fn from(e: IngestError) -> Self {
        HandlerError::new(e.to_string())
    }
}

impl Store {
    /// Ingests one event in its own transaction: true when applied, false when its id was already in the
    /// history (nothing done).
    pub async fn ingest(&self, event: &Event) -> Result<bool, IngestError> {
        let mut tx = self.db().begin().await?;
        match ingest_in(&mut tx, event).await {
            Ok(applied) => {
                if applied {
                    tx.commit().await?;
                } else {
                    tx.rollback().await?;
                }
                Ok(applied)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e)
            }
        }
    }

    /// The time of the latest event in the history, if any: the figures include every event up to it.
    pub async fn as_of_time(&self) -> Result<Option<Time>, sqlx::Error> {
        tingjian_runtime::on_pool!(self.db(), pool => sqlx::query_scalar(
            "SELECT event_time FROM event_history ORDER BY event_time DESC, id DESC LIMIT 1")
            .fetch_optional(pool)
            .await)
    }
}

/// Applies `event` inside `tx`: true when applied, false when its id was already in the history.
pub async fn apply(tx: &mut Tx, event: &Event) -> Result<bool, HandlerError> {
    ingest_in(tx, event).await.map_err(HandlerError::from)
}

async fn ingest_in(tx: &mut Tx, event: &Event) -> Result<bool, IngestError> {
    let stamp = stamp_of(event)?;
    let inserted = execute(
        tx,
        "INSERT INTO event_history (id, source, event_type, subject, event_time, data_schema, data) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        vec![
            event.id.as_str().into(),
            event.source.as_str().into(),
            event.r#type.as_str().into(),
            event.subject.as_str().into(),
            stamp.time.into(),
            event.data_schema.as_str().into(),
            Value::Bytes(event.data.clone()),
        ],
    )
    .await?;
    if inserted == 0 {
        return Ok(false);
    }
    merge_at(tx, event, stamp).await?;
    Ok(true)
}

/// Merges `event` into the facts and the rollups without recording it in the history (the rebuild
/// replays the history through it).
pub async fn merge(tx: &mut Tx, event: &Event) -> Result<(), IngestError> {
    let stamp = stamp_of(event)?;
    merge_at(tx, event, stamp).await
}

fn stamp_of(event: &Event) -> Result<Stamp, IngestError> {
    if event.id.is_empty() {
        return Err(IngestError::Unreadable("the event has no id".to_owned()));
    }
    let time = tingjian_runtime::wire::read_instant(event.time.as_ref(), "time")
        .map_err(|e| IngestError::Unreadable(format!("event {}: {e}", event.id)))?
        .ok_or_else(|| IngestError::Unreadable(format!("event {} has no time", event.id)))?;
    Ok(Stamp { time: time.trunc_subsecs(6), id: event.id.clone() })
}

async fn merge_at(tx: &mut Tx, event: &Event, stamp: Stamp) -> Result<(), IngestError> {
    let mut merge = Merge { stamp, touched: BTreeSet::new() };
    let kind = event.r#type.as_str();
    if let Some(name) = kind.strip_prefix("tingjian.intake.") {
        intake::merge(tx, &mut merge, name, event).await?;
    } else if let Some(name) = kind.strip_prefix("tingjian.consultation.") {
        consultation::merge(tx, &mut merge, name, event).await?;
    } else if let Some(name) = kind.strip_prefix("tingjian.supervision.") {
        supervision::merge(tx, &mut merge, name, event).await?;
    }
    for entity in &merge.touched {
        recompute(tx, entity).await?;
    }
    Ok(())
}

/// What one event's merge knows and touched.
pub(crate) struct Merge {
    /// The event's place in time.
    pub stamp: Stamp,
    /// The entities whose facts may have changed.
    pub touched: BTreeSet<Entity>,
}

impl Merge {
    pub fn touch(&mut self, entity: Entity) {
        self.touched.insert(entity);
    }
}

/// Decodes an event's payload as `M`, or refuses it as a poison event.
pub(crate) fn decode<M: prost::Message + Default>(event: &Event) -> Result<M, IngestError> {
    M::decode(event.data.as_slice()).map_err(|e| {
        IngestError::Unreadable(format!("event {} ({}): undecodable payload: {e}", event.id, event.r#type))
    })
}

/// A payload timestamp (to the microsecond, as both engines store it), or refuses the event when it is out of range.
pub(crate) fn instant(
    event: &Event,
    raw: Option<&prost_types::Timestamp>,
    field: &str,
) -> Result<Option<Time>, IngestError> {
    tingjian_runtime::wire::read_instant(raw, field)
        .map(|t| t.map(|t| t.trunc_subsecs(6)))
        .map_err(|e| IngestError::Unreadable(format!("event {}: {e}", event.id)))
}

/// Something that contributes to the rollups.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Entity {
    Enterprise(String),
    Contact(String),
    Demand(String),
    CommonIssue(String),
    Post(String),
    Author(String),
    Session(String),
    Suggestion(String),
    Report(String),
    Case(String),
    Order(String),
    Benefit(String),
}

impl Entity {
    /// The key of its stored contribution, e.g. `case:<id>`.
    fn key(&self) -> String {
        let (kind, id) = match self {
            Self::Enterprise(id) => ("enterprise", id),
            Self::Contact(id) => ("contact", id),
            Self::Demand(id) => ("demand", id),
            Self::CommonIssue(id) => ("issue", id),
            Self::Post(id) => ("post", id),
            Self::Author(id) => ("author", id),
            Self::Session(id) => ("session", id),
            Self::Suggestion(id) => ("suggestion", id),
            Self::Report(id) => ("report", id),
            Self::Case(id) => ("case", id),
            Self::Order(id) => ("order", id),
            Self::Benefit(id) => ("benefit", id),
        };
        format!("{kind}:{id}")
    }
}

/// The contribution of an entity, from its facts.
async fn contribution_of(tx: &mut Tx, entity: &Entity) -> Result<Rows, sqlx::Error> {
    use contribution as c;
    Ok(match entity {
        Entity::Enterprise(id) => {
            let row = facts::load_enterprise(tx, id).await?;
            let contacts = facts::load_contacts_of(tx, id).await?;
            c::enterprise(row.as_ref(), &contacts)
        }
        Entity::Contact(id) => facts::load_contact(tx, id).await?.map(|r| c::contact(&r)).unwrap_or_default(),
        Entity::Demand(id) => facts::load_demand(tx, id).await?.map(|r| c::demand(&r)).unwrap_or_default(),
        Entity::CommonIssue(id) => facts::load_common_issue(tx, id)
            .await?
            .map(|r| c::common_issue(r.category.as_ref(), r.formed_time))
            .unwrap_or_default(),
        Entity::Post(id) => facts::load_post_time(tx, id).await?.map(c::post).unwrap_or_default(),
        Entity::Author(author) => c::author(&facts::load_author_post_times(tx, author).await?),
        Entity::Session(id) => facts::load_session(tx, id).await?.map(|r| c::session(&r)).unwrap_or_default(),
        Entity::Suggestion(id) => facts::load_suggestion(tx, id).await?.map(|r| c::suggestion(&r)).unwrap_or_default(),
        Entity::Report(id) => facts::load_report(tx, id).await?.map(|r| c::report(&r)).unwrap_or_default(),
        Entity::Case(id) => match facts::load_case(tx, id).await? {
            Some(row) => c::case(&row, &facts::load_quarters(tx, id).await?),
            None => Rows::new(),
        },
        Entity::Order(id) => facts::load_order(tx, id).await?.map(|r| c::order(&r)).unwrap_or_default(),
        Entity::Benefit(id) => facts::load_benefit(tx, id).await?.map(|r| c::benefit(&r)).unwrap_or_default(),
    })
}

type RollupTuple = (String, String, String, String, String, String, i64, i64, i64);

fn rows_from(tuples: Vec<RollupTuple>) -> Rows {
    tuples
        .into_iter()
        .map(|(metric, district, industry, category, unit, channel, bucket, slot, value)| {
            (Key { metric, dims: [district, industry, category, unit, channel], bucket, slot }, value)
        })
        .collect()
}

/// Rows per multi-row statement (nine or ten values each; well under both engines' parameter limits).
const BATCH: usize = 500;

/// Recomputes an entity's contribution and moves the rollups by the difference.
async fn recompute(tx: &mut Tx, entity: &Entity) -> Result<(), sqlx::Error> {
    let key = entity.key();
    let new = contribution_of(tx, entity).await?;
    let old: Vec<RollupTuple> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT metric, district, industry, category, unit, channel, bucket, slot, value FROM contribution \
         WHERE entity = $1")
        .bind(&key)
        .fetch_all(&mut **conn)
        .await)?;
    let old = rows_from(old);
    if old == new {
        return Ok(());
    }
    if !old.is_empty() {
        execute(tx, "DELETE FROM contribution WHERE entity = $1", vec![key.as_str().into()]).await?;
    }
    let rows: Vec<(&Key, &i64)> = new.iter().collect();
    for chunk in rows.chunks(BATCH) {
        let mut sql = String::from(
            "INSERT INTO contribution (entity, metric, district, industry, category, unit, channel, bucket, slot, value) \
             VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 10);
        for (i, (k, v)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&placeholders(i * 10, 10));
            values.push(key.as_str().into());
            push_key(&mut values, k);
            values.push((**v).into());
        }
        execute(tx, &sql, values).await?;
    }
    add_to_rollups(tx, &contribution::expand(&contribution::difference(&old, &new))).await
}

fn placeholders(offset: usize, n: usize) -> String {
    let list: Vec<String> = (1..=n).map(|i| format!("${}", offset + i)).collect();
    format!("({})", list.join(", "))
}

fn push_key(values: &mut Vec<Value>, k: &Key) {
    values.push(k.metric.as_str().into());
    for d in &k.dims {
        values.push(d.as_str().into());
    }
    values.push(k.bucket.into());
    values.push(k.slot.into());
}

/// Adds `delta` to the rollups and removes the rows it brought to zero.
async fn add_to_rollups(tx: &mut Tx, delta: &Rows) -> Result<(), sqlx::Error> {
    let rows: Vec<(&Key, &i64)> = delta.iter().collect();
    for chunk in rows.chunks(BATCH) {
        let mut sql = String::from(
            "INSERT INTO rollup (metric, district, industry, category, unit, channel, bucket, slot, value) VALUES ",
        );
        let mut values = Vec::with_capacity(chunk.len() * 9);
        for (i, (k, v)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&placeholders(i * 9, 9));
            push_key(&mut values, k);
            values.push((**v).into());
        }
        sql.push_str(
            " ON CONFLICT (metric, district, industry, category, unit, channel, bucket, slot) \
             DO UPDATE SET value = rollup.value + excluded.value \
             RETURNING metric, district, industry, category, unit, channel, bucket, slot, value",
        );
        let after: Vec<RollupTuple> = on_tx!(tx, conn => {
            let query = facts::bind_values!(sqlx::query_as(&sql), values);
            query.fetch_all(&mut **conn).await
        })?;
        for (k, _) in rows_from(after).into_iter().filter(|(_, v)| *v == 0) {
            let mut values = Vec::with_capacity(8);
            push_key(&mut values, &k);
            execute(
                tx,
                "DELETE FROM rollup WHERE metric = $1 AND district = $2 AND industry = $3 AND category = $4 \
                 AND unit = $5 AND channel = $6 AND bucket = $7 AND slot = $8 AND value = 0",
                values,
            )
            .await?;
        }
    }
    Ok(())
}

/// The consumer of the producers' events into the rollups.
#[derive(Debug, Clone, Copy, Default)]
pub struct RollupHandler;

#[tonic::async_trait]
impl Handler for RollupHandler {
    async fn handle(&self, tx: &mut Tx, event: &Event) -> Result<(), HandlerError> {
        apply(tx, event).await.map(|_| ())
    }
}
