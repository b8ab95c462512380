//! The supervision item list (监督事项清单) as discipline inspection reads it: the change log every change
//! to a visible case is recorded on, numbered in commit order.
//!
//! A change takes the next cursor from the single counter row with an UPDATE, which holds that row's
//! write lock until the transaction commits: the next change waits, so cursors commit in the order they
//! are numbered and a reader that has seen cursor n has seen every change before it.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prost::Message as _;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::storage::Tx;
use tingjian_runtime::{ServiceError, on_tx};

use crate::domain::{Case, CaseAction};

/// An item's cursor as the contract's opaque string (zero-padded, so cursors also sort as text).
pub fn cursor_text(cursor: i64) -> String {
    format!("{cursor:020}")
}

/// The cursor an opaque string names; `None` when it is not one this service gave out.
pub fn parse_cursor(raw: &str) -> Option<i64> {
    let raw = raw.trim();
    if raw.is_empty() || raw.len() > 20 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse().ok()
}

/// The ids of the rectification orders arising from case `id`, oldest first.
pub async fn rectification_ids(tx: &mut Tx, id: &str) -> Result<Vec<String>, ServiceError> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT id FROM supervision_rectification WHERE case_id = $1 ORDER BY create_time, id")
            .bind(id)
            .fetch_all(&mut **conn)
            .await
    })?)
}

/// When case `id` was last acknowledged and at which cursor, if ever.
pub async fn acknowledgement(tx: &mut Tx, id: &str) -> Result<Option<(i64, DateTime<Utc>)>, ServiceError> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as("SELECT cursor, acknowledge_time FROM supervision_item_ack WHERE case_id = $1")
            .bind(id)
            .fetch_optional(&mut **conn)
            .await
    })?)
}

/// The item of `case` as it stands inside `tx`, `overdue` as of `now`.
pub async fn item_of(tx: &mut Tx, case: &Case, now: DateTime<Utc>) -> Result<pb::SupervisionItem, ServiceError> {
    let orders = rectification_ids(tx, &case.id).await?;
    let ack = acknowledgement(tx, &case.id).await?;
    Ok(crate::convert::item(case, orders, ack, now))
}

/// The items of `cases` as they stand inside `tx`, `overdue` as of `now`: their rectification orders and
/// acknowledgements read in one query each.
pub async fn items_of(
    tx: &mut Tx,
    cases: &[Case],
    now: DateTime<Utc>,
) -> Result<Vec<pb::SupervisionItem>, ServiceError> {
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let mut c = super::Conditions::default();
    let ps = c.placeholders(cases.iter().map(|case| super::Arg::Text(case.id.clone())));
    let orders_sql =
        format!("SELECT case_id, id FROM supervision_rectification WHERE case_id IN ({ps}) ORDER BY create_time, id");
    let orders: Vec<(String, String)> = on_tx!(tx, conn => {
        bind_all!(sqlx::query_as::<_, (String, String)>(&orders_sql), c.args()).fetch_all(&mut **conn).await
    })?;
    let acks_sql =
        format!("SELECT case_id, cursor, acknowledge_time FROM supervision_item_ack WHERE case_id IN ({ps})");
    let acks: Vec<(String, i64, DateTime<Utc>)> = on_tx!(tx, conn => {
        bind_all!(sqlx::query_as::<_, (String, i64, DateTime<Utc>)>(&acks_sql), c.args()).fetch_all(&mut **conn).await
    })?;
    let mut orders_of: HashMap<String, Vec<String>> = HashMap::new();
    for (case_id, id) in orders {
        orders_of.entry(case_id).or_default().push(id);
    }
    let acks: HashMap<String, (i64, DateTime<Utc>)> = acks.into_iter().map(|(id, n, t)| (id, (n, t))).collect();
    Ok(cases
        .iter()
        .map(|case| {
            let ack = acks.get(&case.id).copied();
            crate::convert::item(case, orders_of.remove(&case.id).unwrap_or_default(), ack, now)
        })
        .collect())
}

/// Records a change of `case` (as just written and read back in `tx`) on the item list when the commission
/// sees it now or saw it before (`was_visible`); `action` is the step that caused it. Sets the case's item
/// cursor, in the table and in `case`.
pub async fn record_item_change(
    tx: &mut Tx,
    was_visible: bool,
    case: &mut Case,
    action: CaseAction,
    time: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let id = case.id.clone();
    let visible = case.visible_to_discipline_inspection();
    let kind = match (was_visible, visible) {
        (false, false) => return Ok(()),
        (false, true) => pb::SupervisionChangeKind::Added,
        (true, true) => pb::SupervisionChangeKind::Updated,
        (true, false) => pb::SupervisionChangeKind::Removed,
    };
    let cursor: i64 = on_tx!(tx, conn => {
        sqlx::query_scalar(
            "UPDATE supervision_item_counter SET last_cursor = last_cursor + 1 WHERE id = 1 RETURNING last_cursor",
        )
        .fetch_one(&mut **conn)
        .await
    })?;
    on_tx!(tx, conn => {
        sqlx::query("UPDATE supervision_case SET item_cursor = $2 WHERE id = $1")
            .bind(id.as_str())
            .bind(cursor)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    case.item_cursor = cursor;
    let mut item = if kind == pb::SupervisionChangeKind::Removed {
        pb::SupervisionItem { case_id: case.id.clone(), ..Default::default() }
    } else {
        let orders = rectification_ids(tx, &id).await?;
        crate::convert::item(case, orders, None, time)
    };
    item.cursor = cursor_text(cursor);
    item.update_time = Some(tingjian_runtime::wire::timestamp(time));
    let encoded = item.encode_to_vec();
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO supervision_item_change (cursor, case_id, kind, case_action, item, change_time) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(cursor)
        .bind(id.as_str())
        .bind(kind as i32)
        .bind(action.as_i32())
        .bind(encoded)
        .bind(time)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}
