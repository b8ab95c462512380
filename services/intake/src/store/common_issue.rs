//! Common issues (共性问题) in the intake store: the issue, its current members, its append-only
//! history, and the member demands' side of every change (their `common_issue_id`, revision and own
//! history), each change with its event in one transaction.
//!
//! Locks are always taken in the same order — demands (by id), then common issues (by id) — so two
//! staff actions on overlapping demands or issues wait for each other instead of deadlocking, and
//! every transaction's first statement is a write, so SQLite takes its write lock up front.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::storage::{Backend, Tx, create_once};
use tingjian_runtime::{ServiceError, on_tx};

use super::demand::append_history;
use super::{Arg, Conditions, SERVICE, Store, bump_version};
use crate::domain::common_issue::{
    CommonIssue, CommonIssueAction, CommonIssueFilter, CommonIssueHistoryEntry, CommonIssueStatus, IssueTitle,
    NewCommonIssue, Reason, Split, check_mergeable, distinct_in_order, join_ids, split_ids,
};
use crate::domain::demand::{DemandAction, DemandStatus, NewHistoryEntry};
use crate::domain::paging::{PageCursor, time_key};

/// Page-token tag of ListCommonIssues.
const ISSUES_TOKEN: &str = "common_issues/1";
/// Page-token tag of ListCommonIssueHistory.
const HISTORY_TOKEN: &str = "common_issue_history/1";

#[derive(sqlx::FromRow)]
struct IssueRow {
    id: String,
    title: String,
    description: String,
    category: String,
    status: i32,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_ISSUE: &str = "SELECT c.id, c.title, c.description, c.category, c.status, c.version, c.created_by, \
     c.create_time, c.update_time FROM common_issue c";

impl IssueRow {
    fn status(&self) -> Result<CommonIssueStatus, ServiceError> {
        CommonIssueStatus::from_i32(self.status)
            .ok_or_else(|| ServiceError::internal(format!("stored common issue {} has a bad status", self.id)))
    }

    /// `Ok` if staff may still change the issue, else FAILED_PRECONDITION naming its status.
    fn check_changeable(&self) -> Result<(), ServiceError> {
        let status = self.status()?;
        if status.accepts_changes() {
            Ok(())
        } else {
            Err(ServiceError::FailedPrecondition(format!(
                "common issue {} is {status}: it is kept as it ended and can no longer change",
                self.id
            )))
        }
    }

    /// `Ok` if the caller's etag names the revision before this transaction's bump.
    fn check_etag(&self, expected: Option<i64>) -> Result<(), ServiceError> {
        match expected {
            Some(expected) if expected != self.version - 1 => Err(ServiceError::Aborted(format!(
                "common issue {} has changed since it was read (its etag is now v{}); re-read it and retry",
                self.id,
                self.version - 1
            ))),
            _ => Ok(()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    common_issue_id: String,
    demand_id: String,
    enterprise_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    common_issue_id: String,
    sequence: i64,
    action: i32,
    demand_ids: String,
    other_common_issue_id: Option<String>,
    old_title: String,
    new_title: String,
    status: i32,
    reason: String,
    actor: String,
    time: DateTime<Utc>,
}

impl TryFrom<HistoryRow> for CommonIssueHistoryEntry {
    type Error = ServiceError;

    fn try_from(row: HistoryRow) -> Result<Self, Self::Error> {
        let action = CommonIssueAction::from_i32(row.action).ok_or_else(|| {
            ServiceError::internal(format!(
                "common issue {} history {} has a bad action",
                row.common_issue_id, row.sequence
            ))
        })?;
        Ok(Self {
            sequence: row.sequence,
            action,
            demand_ids: split_ids(&row.demand_ids),
            other_common_issue_id: row.other_common_issue_id,
            old_title: row.old_title,
            new_title: row.new_title,
            status: CommonIssueStatus::from_i32(row.status),
            reason: row.reason,
            actor: row.actor,
            time: row.time,
            common_issue_id: row.common_issue_id,
        })
    }
}

/// A demand's state as a common-issue operation found (and locked) it.
#[derive(sqlx::FromRow)]
struct DemandRef {
    status: i32,
    common_issue_id: Option<String>,
}

impl DemandRef {
    fn status(&self, id: &str) -> Result<DemandStatus, ServiceError> {
        DemandStatus::from_i32(self.status)
            .ok_or_else(|| ServiceError::internal(format!("stored demand {id} has a bad status")))
    }
}

/// An entry to append to a common issue's history; the store numbers it.
struct NewIssueHistory<'a> {
    common_issue_id: &'a str,
    action: CommonIssueAction,
    demand_ids: &'a [String],
    other_common_issue_id: Option<&'a str>,
    old_title: &'a str,
    new_title: &'a str,
    status: Option<CommonIssueStatus>,
    reason: &'a str,
    actor: &'a str,
    time: DateTime<Utc>,
}

impl<'a> NewIssueHistory<'a> {
    fn new(
        common_issue_id: &'a str,
        action: CommonIssueAction,
        reason: &'a str,
        actor: &'a str,
        time: DateTime<Utc>,
    ) -> Self {
        Self {
            common_issue_id,
            action,
            demand_ids: &[],
            other_common_issue_id: None,
            old_title: "",
            new_title: "",
            status: None,
            reason,
            actor,
            time,
        }
    }
}

/// The current instant, at the precision both backends store.
fn now() -> DateTime<Utc> {
    tingjian_runtime::clock::now().trunc_subsecs(6)
}

fn issue_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "common issue", id: id.to_owned() }
}

fn demand_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "demand", id: id.to_owned() }
}

async fn issue_row(tx: &mut Tx, id: &str) -> Result<Option<IssueRow>, ServiceError> {
    let sql = format!("{SELECT_ISSUE} WHERE c.id = $1");
    let row: Option<IssueRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, IssueRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row)
}

/// The members of each of `ids`, in joining order, with their demands' enterprises.
async fn members_of(tx: &mut Tx, ids: &[&str]) -> Result<HashMap<String, Vec<MemberRow>>, ServiceError> {
    let mut out: HashMap<String, Vec<MemberRow>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT m.common_issue_id, m.demand_id, d.enterprise_id FROM common_issue_member m \
         JOIN demand d ON d.id = m.demand_id WHERE m.common_issue_id IN ({}) ORDER BY m.common_issue_id, m.position",
        placeholders.join(", ")
    );
    let args: Vec<Arg> = ids.iter().map(|id| Arg::Text((*id).to_owned())).collect();
    let rows: Vec<MemberRow> = on_tx!(tx, conn => {
        bind_all!(sqlx::query_as::<_, MemberRow>(&sql), &args).fetch_all(&mut **conn).await
    })?;
    for row in rows {
        out.entry(row.common_issue_id.clone()).or_default().push(row);
    }
    Ok(out)
}

fn assemble(row: IssueRow, members: Vec<MemberRow>) -> Result<CommonIssue, ServiceError> {
    let status = row.status()?;
    let enterprise_ids = distinct_in_order(members.iter().filter_map(|m| m.enterprise_id.as_deref()));
    Ok(CommonIssue {
        status,
        demand_ids: members.into_iter().map(|m| m.demand_id).collect(),
        enterprise_ids,
        id: row.id,
        title: row.title,
        description: row.description,
        category: row.category,
        version: row.version,
        created_by: row.created_by,
        create_time: row.create_time,
        update_time: row.update_time,
    })
}

async fn load_issue(tx: &mut Tx, id: &str) -> Result<CommonIssue, ServiceError> {
    let row = issue_row(tx, id).await?.ok_or_else(|| issue_not_found(id))?;
    let mut members = members_of(tx, &[id]).await?;
    assemble(row, members.remove(id).unwrap_or_default())
}

/// Bumps a common issue's revision (locking it) and returns it as it is now.
async fn bump_issue(tx: &mut Tx, id: &str, now: DateTime<Utc>) -> Result<IssueRow, ServiceError> {
    if !bump_version(tx, "common_issue", id, now).await? {
        return Err(issue_not_found(id));
    }
    issue_row(tx, id).await?.ok_or_else(|| issue_not_found(id))
}

async fn set_issue_status(tx: &mut Tx, id: &str, status: CommonIssueStatus) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE common_issue SET status = $2 WHERE id = $1")
            .bind(id)
            .bind(status.as_i32())
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

async fn append_issue_history(tx: &mut Tx, entry: &NewIssueHistory<'_>) -> Result<i64, ServiceError> {
    let sequence: i64 = on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT COALESCE(MAX(sequence), 0) + 1 FROM common_issue_history WHERE common_issue_id = $1")
            .bind(entry.common_issue_id)
            .fetch_one(&mut **conn)
            .await
    })?;
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO common_issue_history (common_issue_id, sequence, action, demand_ids, other_common_issue_id, \
             old_title, new_title, status, reason, actor, time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(entry.common_issue_id)
        .bind(sequence)
        .bind(entry.action.as_i32())
        .bind(join_ids(entry.demand_ids))
        .bind(entry.other_common_issue_id)
        .bind(entry.old_title)
        .bind(entry.new_title)
        .bind(entry.status.map_or(0, CommonIssueStatus::as_i32))
        .bind(entry.reason)
        .bind(entry.actor)
        .bind(entry.time)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(sequence)
}

/// Claims a demand for `issue_id` when it is in no common issue and may be merged: sets its
/// `common_issue_id` and bumps its revision in one conditional update, so two concurrent merges of
/// the same demand cannot both win. `Ok(Err(current))` when it already belongs to `current`.
async fn claim_demand(
    tx: &mut Tx,
    demand_id: &str,
    issue_id: &str,
    now: DateTime<Utc>,
) -> Result<Result<DemandRef, String>, ServiceError> {
    let claimed: Option<DemandRef> = on_tx!(tx, conn => {
        sqlx::query_as::<_, DemandRef>(
            "UPDATE demand SET common_issue_id = $2, version = version + 1, update_time = $3 \
             WHERE id = $1 AND common_issue_id IS NULL AND status <> $4 AND status <> $5 \
             RETURNING status, common_issue_id",
        )
        .bind(demand_id)
        .bind(issue_id)
        .bind(now)
        .bind(DemandStatus::Withdrawn.as_i32())
        .bind(DemandStatus::Rejected.as_i32())
        .fetch_optional(&mut **conn)
        .await
    })?;
    if let Some(claimed) = claimed {
        return Ok(Ok(claimed));
    }
    let found: Option<DemandRef> = on_tx!(tx, conn => {
        sqlx::query_as::<_, DemandRef>("SELECT status, common_issue_id FROM demand WHERE id = $1")
            .bind(demand_id)
            .fetch_optional(&mut **conn)
            .await
    })?;
    let found = found.ok_or_else(|| demand_not_found(demand_id))?;
    if let Some(current) = found.common_issue_id.clone() {
        return Ok(Err(current));
    }
    check_mergeable(demand_id, found.status(demand_id)?)?;
    Err(ServiceError::internal(format!("demand {demand_id} could not be claimed for common issue {issue_id}")))
}

/// Bumps a demand's revision (locking it) and returns its state; `member_of` restricts it to the
/// members of one common issue (`None` returned for a demand outside it).
async fn touch_demand(
    tx: &mut Tx,
    demand_id: &str,
    member_of: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<DemandRef>, ServiceError> {
    let row: Option<DemandRef> = on_tx!(tx, conn => {
        sqlx::query_as::<_, DemandRef>(
            "UPDATE demand SET version = version + 1, update_time = $2 \
             WHERE id = $1 AND ($3 IS NULL OR common_issue_id = $3) \
             RETURNING status, common_issue_id",
        )
        .bind(demand_id)
        .bind(now)
        .bind(member_of)
        .fetch_optional(&mut **conn)
        .await
    })?;
    Ok(row)
}

async fn set_demand_issue(tx: &mut Tx, demand_id: &str, issue_id: Option<&str>) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("UPDATE demand SET common_issue_id = $2 WHERE id = $1")
            .bind(demand_id)
            .bind(issue_id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Makes `demand_id` the newest member of `issue_id` (joining, or moving from another issue).
async fn put_member(tx: &mut Tx, demand_id: &str, issue_id: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO common_issue_member (demand_id, common_issue_id, position, join_time) \
             VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM common_issue_member WHERE common_issue_id = $2), $3) \
             ON CONFLICT (demand_id) DO UPDATE SET common_issue_id = excluded.common_issue_id, \
             position = excluded.position, join_time = excluded.join_time",
        )
        .bind(demand_id)
        .bind(issue_id)
        .bind(now)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

async fn remove_member(tx: &mut Tx, demand_id: &str) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM common_issue_member WHERE demand_id = $1")
            .bind(demand_id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// The member demands' side of a change, appended to each one's own history.
struct DemandHistoryNote<'a> {
    action: DemandAction,
    from_common_issue_id: Option<&'a str>,
    to_common_issue_id: Option<&'a str>,
    reason: &'a str,
    actor: &'a str,
    time: DateTime<Utc>,
}

/// Appends the change of membership to a demand's history (its status unchanged).
async fn append_demand_history(
    tx: &mut Tx,
    demand_id: &str,
    status: DemandStatus,
    note: &DemandHistoryNote<'_>,
) -> Result<(), ServiceError> {
    let entry = NewHistoryEntry {
        action: note.action,
        from_status: Some(status),
        to_status: status,
        from_common_issue_id: note.from_common_issue_id.map(str::to_owned),
        to_common_issue_id: note.to_common_issue_id.map(str::to_owned),
        reason: note.reason.to_owned(),
        detail: format!(
            "common_issue: {} → {}",
            note.from_common_issue_id.unwrap_or("(none)"),
            note.to_common_issue_id.unwrap_or("(none)")
        ),
    };
    append_history(tx, demand_id, &entry, note.actor, note.time).await?;
    Ok(())
}

async fn record_formed(
    tx: &mut Tx,
    issue: &CommonIssue,
    proposal_id: Option<&str>,
    reason: &str,
    actor: &str,
) -> Result<(), ServiceError> {
    let payload = pb::CommonIssueFormed {
        common_issue_id: issue.id.clone(),
        title: issue.title.clone(),
        category: issue.category.clone(),
        demand_ids: issue.demand_ids.clone(),
        enterprise_ids: issue.enterprise_ids.clone(),
        proposal_id: proposal_id.unwrap_or_default().to_owned(),
        reason: reason.to_owned(),
        actor: actor.to_owned(),
    };
    let event = NewEvent::new(
        "common_issue_formed",
        format!("common_issues/{}", issue.id),
        "tingjian.intake.v1.CommonIssueFormed",
        &payload,
    );
    events::record(tx, SERVICE, event).await?;
    Ok(())
}

async fn record_changed(
    tx: &mut Tx,
    issue: &CommonIssue,
    action: CommonIssueAction,
    demand_ids: &[String],
    other: Option<&str>,
    reason: &str,
    actor: &str,
) -> Result<(), ServiceError> {
    let payload = pb::CommonIssueChanged {
        common_issue_id: issue.id.clone(),
        action: action.as_i32(),
        demand_ids: demand_ids.to_vec(),
        other_common_issue_id: other.unwrap_or_default().to_owned(),
        title: issue.title.clone(),
        status: issue.status.as_i32(),
        member_demand_ids: issue.demand_ids.clone(),
        enterprise_count: i32::try_from(issue.enterprise_ids.len()).unwrap_or(i32::MAX),
        reason: reason.to_owned(),
        actor: actor.to_owned(),
    };
    let event = NewEvent::new(
        "common_issue_changed",
        format!("common_issues/{}", issue.id),
        "tingjian.intake.v1.CommonIssueChanged",
        &payload,
    );
    events::record(tx, SERVICE, event).await?;
    Ok(())
}

/// Dissolves `issue_id` when its last member left, recording it in its history.
async fn dissolve_if_empty(
    tx: &mut Tx,
    issue_id: &str,
    reason: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let left: i64 = on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT COUNT(*) FROM common_issue_member WHERE common_issue_id = $1")
            .bind(issue_id)
            .fetch_one(&mut **conn)
            .await
    })?;
    if left == 0 {
        set_issue_status(tx, issue_id, CommonIssueStatus::Dissolved).await?;
        let mut entry = NewIssueHistory::new(issue_id, CommonIssueAction::StatusChanged, reason, actor, now);
        entry.status = Some(CommonIssueStatus::Dissolved);
        append_issue_history(tx, &entry).await?;
    }
    Ok(())
}

/// Inserts a new OPEN common issue row.
#[allow(clippy::too_many_arguments)]
async fn insert_issue(
    tx: &mut Tx,
    id: &str,
    title: &str,
    description: &str,
    category: &str,
    request: Option<(&str, &str)>,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "INSERT INTO common_issue (id, title, description, category, status, version, request_id, \
             request_payload, created_by, create_time, update_time) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $9)",
        )
        .bind(id)
        .bind(title)
        .bind(description)
        .bind(category)
        .bind(CommonIssueStatus::Open.as_i32())
        .bind(request.map(|(request_id, _)| request_id))
        .bind(request.map(|(_, payload)| payload))
        .bind(actor)
        .bind(now)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// Forms a common issue from demands inside `tx`: the issue, its members (each claimed atomically;
/// one already in another issue is FAILED_PRECONDITION naming it), its first history entry, each
/// demand's MERGED entry and the CommonIssueFormed event. `proposal_id` names the clustering proposal
/// it was accepted from, if any. Shared with the similar-demand engine's AcceptProposedCluster.
pub(crate) async fn form_common_issue_in(
    tx: &mut Tx,
    new: &NewCommonIssue,
    request: Option<(&str, &str)>,
    proposal_id: Option<&str>,
    actor: &str,
) -> Result<CommonIssue, ServiceError> {
    let id = tingjian_runtime::wire::new_id();
    let now = now();
    insert_issue(tx, &id, new.title.as_str(), &new.description, &new.category, request, actor, now).await?;
    let mut sorted: Vec<&String> = new.demand_ids.iter().collect();
    sorted.sort();
    let mut statuses = HashMap::new();
    for demand_id in sorted {
        match claim_demand(tx, demand_id, &id, now).await? {
            Ok(claimed) => {
                statuses.insert(demand_id.clone(), claimed.status(demand_id)?);
            }
            Err(current) => {
                return Err(ServiceError::FailedPrecondition(format!(
                    "demand {demand_id} already belongs to common issue {current}; move it with MoveDemand instead"
                )));
            }
        }
    }
    let note = DemandHistoryNote {
        action: DemandAction::Merged,
        from_common_issue_id: None,
        to_common_issue_id: Some(&id),
        reason: new.reason.as_str(),
        actor,
        time: now,
    };
    for demand_id in &new.demand_ids {
        put_member(tx, demand_id, &id, now).await?;
        let status = statuses.get(demand_id).copied().ok_or_else(|| ServiceError::internal("unclaimed demand"))?;
        append_demand_history(tx, demand_id, status, &note).await?;
    }
    let mut entry = NewIssueHistory::new(&id, CommonIssueAction::Created, new.reason.as_str(), actor, now);
    entry.demand_ids = &new.demand_ids;
    entry.new_title = new.title.as_str();
    append_issue_history(tx, &entry).await?;
    let issue = load_issue(tx, &id).await?;
    record_formed(tx, &issue, proposal_id, new.reason.as_str(), actor).await?;
    Ok(issue)
}

/// Adds demands to a common issue inside `tx` (already members are ignored; one in another issue is
/// FAILED_PRECONDITION naming it), with the history entries and the CommonIssueChanged event.
/// `Ok(None)` when every demand was already a member: nothing changed, and the caller should roll
/// back. Shared with the similar-demand engine's AcceptProposedCluster.
pub(crate) async fn add_demands_in(
    tx: &mut Tx,
    issue_id: &str,
    demand_ids: &[String],
    expected_version: Option<i64>,
    reason: &Reason,
    actor: &str,
) -> Result<Option<CommonIssue>, ServiceError> {
    let now = now();
    let mut sorted: Vec<&String> = demand_ids.iter().collect();
    sorted.sort();
    let mut claimed = HashMap::new();
    let mut refusal = None;
    for demand_id in sorted {
        match claim_demand(tx, demand_id, issue_id, now).await {
            Ok(Ok(found)) => {
                claimed.insert(demand_id.clone(), found.status(demand_id)?);
            }
            Ok(Err(current)) if current == issue_id => {}
            Ok(Err(current)) => {
                refusal.get_or_insert(ServiceError::FailedPrecondition(format!(
                    "demand {demand_id} already belongs to common issue {current}; move it with MoveDemand instead"
                )));
            }
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    // The issue's own state is reported before any demand's.
    let row = bump_issue(tx, issue_id, now).await?;
    row.check_etag(expected_version)?;
    row.check_changeable()?;
    if let Some(refusal) = refusal {
        return Err(refusal);
    }
    let added: Vec<String> = demand_ids.iter().filter(|id| claimed.contains_key(*id)).cloned().collect();
    if added.is_empty() {
        return Ok(None);
    }
    let note = DemandHistoryNote {
        action: DemandAction::Merged,
        from_common_issue_id: None,
        to_common_issue_id: Some(issue_id),
        reason: reason.as_str(),
        actor,
        time: now,
    };
    for demand_id in &added {
        put_member(tx, demand_id, issue_id, now).await?;
        let status = claimed.get(demand_id).copied().ok_or_else(|| ServiceError::internal("unclaimed demand"))?;
        append_demand_history(tx, demand_id, status, &note).await?;
    }
    let mut entry = NewIssueHistory::new(issue_id, CommonIssueAction::DemandsAdded, reason.as_str(), actor, now);
    entry.demand_ids = &added;
    append_issue_history(tx, &entry).await?;
    let issue = load_issue(tx, issue_id).await?;
    record_changed(tx, &issue, CommonIssueAction::DemandsAdded, &added, None, reason.as_str(), actor).await?;
    Ok(Some(issue))
}

impl Store {
    /// Forms a common issue from demands. A repeated `request_id` with the same request returns the
    /// issue the first call formed; with a different request it is ALREADY_EXISTS.
    pub async fn create_common_issue(
        &self,
        new: &NewCommonIssue,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<CommonIssue, ServiceError> {
        let fingerprint = new.fingerprint();
        let insert = async {
            let mut tx = self.db.begin().await?;
            let request = request_id.map(|r| (r, fingerprint.as_str()));
            let issue = form_common_issue_in(&mut tx, new, request, None, actor).await?;
            tx.commit().await?;
            Ok(issue)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move { self.common_issue_by_request(&request_id, &fingerprint).await }
            },
            insert,
            || ServiceError::AlreadyExists("the common issue conflicts with an existing one".into()),
        )
        .await
    }

    async fn common_issue_by_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<CommonIssue>, ServiceError> {
        let mut tx = self.db.begin().await?;
        let found: Option<(String, Option<String>)> = on_tx!(&mut tx, conn => {
            sqlx::query_as("SELECT id, request_payload FROM common_issue WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(&mut **conn)
                .await
        })?;
        let Some((id, payload)) = found else {
            tx.rollback().await?;
            return Ok(None);
        };
        if payload.as_deref() != Some(fingerprint) {
            tx.rollback().await?;
            return Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id} was already used to form common issue {id} from a different request"
            )));
        }
        let issue = load_issue(&mut tx, &id).await?;
        tx.rollback().await?;
        Ok(Some(issue))
    }

    /// A common issue by id, with its members.
    pub async fn get_common_issue(&self, id: &str) -> Result<CommonIssue, ServiceError> {
        let mut tx = self.db.begin().await?;
        let issue = load_issue(&mut tx, id).await;
        tx.rollback().await?;
        issue
    }

    /// Adds demands to a common issue (see [`add_demands_in`]); returns the issue after the change.
    pub async fn add_demands_to_common_issue(
        &self,
        issue_id: &str,
        demand_ids: &[String],
        expected_version: Option<i64>,
        reason: &Reason,
        actor: &str,
    ) -> Result<CommonIssue, ServiceError> {
        let mut tx = self.db.begin().await?;
        match add_demands_in(&mut tx, issue_id, demand_ids, expected_version, reason, actor).await? {
            Some(issue) => {
                tx.commit().await?;
                Ok(issue)
            }
            None => {
                tx.rollback().await?;
                self.get_common_issue(issue_id).await
            }
        }
    }

    /// Moves a demand from its common issue to another; returns both issues after the change (the
    /// source DISSOLVED when it became empty).
    pub async fn move_demand(
        &self,
        demand_id: &str,
        to_issue_id: &str,
        reason: &Reason,
        actor: &str,
    ) -> Result<(CommonIssue, CommonIssue), ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let demand = touch_demand(&mut tx, demand_id, None, now).await?.ok_or_else(|| demand_not_found(demand_id))?;
        let status = demand.status(demand_id)?;
        let from_issue_id = demand.common_issue_id.clone().ok_or_else(|| {
            ServiceError::FailedPrecondition(format!(
                "demand {demand_id} is in no common issue; add it with AddDemandsToCommonIssue instead"
            ))
        })?;
        if from_issue_id == to_issue_id {
            return Err(ServiceError::FailedPrecondition(format!(
                "demand {demand_id} is already in common issue {to_issue_id}"
            )));
        }
        let mut ids = [from_issue_id.as_str(), to_issue_id];
        ids.sort_unstable();
        for id in ids {
            bump_issue(&mut tx, id, now).await?.check_changeable()?;
        }
        set_demand_issue(&mut tx, demand_id, Some(to_issue_id)).await?;
        put_member(&mut tx, demand_id, to_issue_id, now).await?;
        let moved = [demand_id.to_owned()];
        let note = DemandHistoryNote {
            action: DemandAction::Moved,
            from_common_issue_id: Some(&from_issue_id),
            to_common_issue_id: Some(to_issue_id),
            reason: reason.as_str(),
            actor,
            time: now,
        };
        append_demand_history(&mut tx, demand_id, status, &note).await?;
        let mut out =
            NewIssueHistory::new(&from_issue_id, CommonIssueAction::DemandMovedOut, reason.as_str(), actor, now);
        out.demand_ids = &moved;
        out.other_common_issue_id = Some(to_issue_id);
        append_issue_history(&mut tx, &out).await?;
        dissolve_if_empty(&mut tx, &from_issue_id, reason.as_str(), actor, now).await?;
        let mut into = NewIssueHistory::new(to_issue_id, CommonIssueAction::DemandMovedIn, reason.as_str(), actor, now);
        into.demand_ids = &moved;
        into.other_common_issue_id = Some(&from_issue_id);
        append_issue_history(&mut tx, &into).await?;
        let from = load_issue(&mut tx, &from_issue_id).await?;
        let to = load_issue(&mut tx, to_issue_id).await?;
        let (r, a) = (reason.as_str(), actor);
        record_changed(&mut tx, &from, CommonIssueAction::DemandMovedOut, &moved, Some(to_issue_id), r, a).await?;
        record_changed(&mut tx, &to, CommonIssueAction::DemandMovedIn, &moved, Some(&from_issue_id), r, a).await?;
        tx.commit().await?;
        Ok((from, to))
    }

    /// Splits demands out of a common issue (拆分): unmerged, or into a new common issue titled
    /// `new_title` (with the source's category).
    pub async fn split_out_demands(
        &self,
        issue_id: &str,
        demand_ids: &[String],
        new_title: Option<&IssueTitle>,
        expected_version: Option<i64>,
        reason: &Reason,
        actor: &str,
    ) -> Result<Split, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let mut sorted: Vec<&String> = demand_ids.iter().collect();
        sorted.sort();
        let mut statuses = HashMap::new();
        let mut refusal = None;
        for demand_id in sorted {
            match touch_demand(&mut tx, demand_id, Some(issue_id), now).await? {
                Some(found) => {
                    statuses.insert(demand_id.clone(), found.status(demand_id)?);
                }
                None => {
                    let exists: Option<(Option<String>,)> = on_tx!(&mut tx, conn => {
                        sqlx::query_as("SELECT common_issue_id FROM demand WHERE id = $1")
                            .bind(demand_id.as_str())
                            .fetch_optional(&mut **conn)
                            .await
                    })?;
                    refusal.get_or_insert(match exists {
                        None => demand_not_found(demand_id),
                        Some(_) => ServiceError::FailedPrecondition(format!(
                            "demand {demand_id} is not a member of common issue {issue_id}"
                        )),
                    });
                }
            }
        }
        let source_row = bump_issue(&mut tx, issue_id, now).await?;
        source_row.check_etag(expected_version)?;
        source_row.check_changeable()?;
        if let Some(refusal) = refusal {
            return Err(refusal);
        }
        let formed_id = match new_title {
            Some(title) => {
                let id = tingjian_runtime::wire::new_id();
                insert_issue(&mut tx, &id, title.as_str(), "", &source_row.category, None, actor, now).await?;
                Some(id)
            }
            None => None,
        };
        let note = DemandHistoryNote {
            action: DemandAction::SplitOut,
            from_common_issue_id: Some(issue_id),
            to_common_issue_id: formed_id.as_deref(),
            reason: reason.as_str(),
            actor,
            time: now,
        };
        for demand_id in demand_ids {
            set_demand_issue(&mut tx, demand_id, formed_id.as_deref()).await?;
            match &formed_id {
                Some(formed) => put_member(&mut tx, demand_id, formed, now).await?,
                None => remove_member(&mut tx, demand_id).await?,
            }
            let status = statuses.get(demand_id).copied().ok_or_else(|| ServiceError::internal("untouched demand"))?;
            append_demand_history(&mut tx, demand_id, status, &note).await?;
        }
        let mut entry = NewIssueHistory::new(issue_id, CommonIssueAction::DemandsSplitOut, reason.as_str(), actor, now);
        entry.demand_ids = demand_ids;
        entry.other_common_issue_id = formed_id.as_deref();
        append_issue_history(&mut tx, &entry).await?;
        dissolve_if_empty(&mut tx, issue_id, reason.as_str(), actor, now).await?;
        let formed = match (&formed_id, new_title) {
            (Some(formed_id), Some(title)) => {
                let mut created =
                    NewIssueHistory::new(formed_id, CommonIssueAction::Created, reason.as_str(), actor, now);
                created.demand_ids = demand_ids;
                created.other_common_issue_id = Some(issue_id);
                created.new_title = title.as_str();
                append_issue_history(&mut tx, &created).await?;
                let formed = load_issue(&mut tx, formed_id).await?;
                record_formed(&mut tx, &formed, None, reason.as_str(), actor).await?;
                Some(formed)
            }
            _ => None,
        };
        let source = load_issue(&mut tx, issue_id).await?;
        let action = CommonIssueAction::DemandsSplitOut;
        record_changed(&mut tx, &source, action, demand_ids, formed_id.as_deref(), reason.as_str(), actor).await?;
        tx.commit().await?;
        Ok(Split { source, formed })
    }

    /// Renames a common issue; the same title again changes nothing.
    pub async fn rename_common_issue(
        &self,
        issue_id: &str,
        title: &IssueTitle,
        expected_version: Option<i64>,
        reason: &Reason,
        actor: &str,
    ) -> Result<CommonIssue, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let row = bump_issue(&mut tx, issue_id, now).await?;
        row.check_etag(expected_version)?;
        row.check_changeable()?;
        if row.title == title.as_str() {
            tx.rollback().await?;
            return self.get_common_issue(issue_id).await;
        }
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE common_issue SET title = $2 WHERE id = $1")
                .bind(issue_id)
                .bind(title.as_str())
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        let mut entry = NewIssueHistory::new(issue_id, CommonIssueAction::Renamed, reason.as_str(), actor, now);
        entry.old_title = &row.title;
        entry.new_title = title.as_str();
        append_issue_history(&mut tx, &entry).await?;
        let issue = load_issue(&mut tx, issue_id).await?;
        record_changed(&mut tx, &issue, CommonIssueAction::Renamed, &[], None, reason.as_str(), actor).await?;
        tx.commit().await?;
        Ok(issue)
    }

    /// Common issues matching `filter`, newest first, a page of at most `page_size` after `page_token`;
    /// with the next page's token (empty on the last page) and the number matching in all.
    pub async fn list_common_issues(
        &self,
        filter: &CommonIssueFilter,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<CommonIssue>, String, i64), ServiceError> {
        let cursor = PageCursor::decode(page_token, ISSUES_TOKEN, 2, "page_token")
            .map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
        let backend = self.db.backend();
        let mut c = Conditions::default();
        if let Some(category) = &filter.category {
            let p = c.arg(Arg::Text(category.clone()));
            c.push(format!("c.category = {p}"));
        }
        if !filter.statuses.is_empty() {
            let ps = c.placeholders(filter.statuses.iter().map(|s| Arg::Int(s.as_i32())));
            c.push(format!("c.status IN ({ps})"));
        }
        if let Some((start, end)) = filter.formed {
            let (ps, pe) = (c.arg(Arg::Time(start)), c.arg(Arg::Time(end)));
            c.push(format!("c.create_time >= {ps} AND c.create_time < {pe}"));
        }
        if let Some(query) = &filter.title_query {
            let p = c.arg(Arg::Text(query.clone()));
            c.push(match backend {
                Backend::Sqlite => format!("instr(lower(c.title), lower({p})) > 0"),
                Backend::Postgres => format!("strpos(lower(c.title), lower({p})) > 0"),
            });
        }
        if let Some(enterprise_id) = &filter.enterprise_id {
            let p = c.arg(Arg::Text(enterprise_id.clone()));
            c.push(format!(
                "EXISTS (SELECT 1 FROM common_issue_member m JOIN demand d ON d.id = m.demand_id \
                 WHERE m.common_issue_id = c.id AND d.enterprise_id = {p})"
            ));
        }
        let count_sql = format!("SELECT COUNT(*) FROM common_issue c{}", c.where_sql());
        let count_args = c.args().len();
        if let Some(cursor) = &cursor {
            let time = cursor.time(0, "page_token").map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
            c.after("c.create_time", Arg::Time(time), "c.id", &cursor.keys[1], true);
        }
        let limit = i64::try_from(page_size + 1).unwrap_or(i64::MAX);
        let page_sql = format!("{SELECT_ISSUE}{} ORDER BY c.create_time DESC, c.id DESC LIMIT {limit}", c.where_sql());

        let mut tx = self.db.begin().await?;
        let total: i64 = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_scalar::<_, i64>(&count_sql), &c.args()[..count_args]).fetch_one(&mut **conn).await
        })?;
        let mut rows: Vec<IssueRow> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, IssueRow>(&page_sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let next_token =
            PageCursor::next_page(&mut rows, page_size, ISSUES_TOKEN, |r| vec![time_key(r.create_time), r.id.clone()]);
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let mut members = members_of(&mut tx, &ids).await?;
        tx.rollback().await?;
        let issues = rows
            .into_iter()
            .map(|row| {
                let m = members.remove(&row.id).unwrap_or_default();
                assemble(row, m)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((issues, next_token, total))
    }

    /// A common issue's history, oldest first, a page of at most `page_size` after `page_token`; with
    /// the next page's token (empty on the last page).
    pub async fn list_common_issue_history(
        &self,
        issue_id: &str,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<CommonIssueHistoryEntry>, String), ServiceError> {
        let after = match PageCursor::decode(page_token, HISTORY_TOKEN, 1, "page_token") {
            Ok(None) => 0,
            Ok(Some(cursor)) => cursor.integer(0, "page_token").map_err(|v| ServiceError::InvalidArgument(vec![v]))?,
            Err(v) => return Err(ServiceError::InvalidArgument(vec![v])),
        };
        let limit = i64::try_from(page_size + 1).unwrap_or(i64::MAX);
        let mut tx = self.db.begin().await?;
        if issue_row(&mut tx, issue_id).await?.is_none() {
            tx.rollback().await?;
            return Err(issue_not_found(issue_id));
        }
        let mut rows: Vec<HistoryRow> = on_tx!(&mut tx, conn => {
            sqlx::query_as::<_, HistoryRow>(
                "SELECT common_issue_id, sequence, action, demand_ids, other_common_issue_id, old_title, new_title, \
                 status, reason, actor, time FROM common_issue_history WHERE common_issue_id = $1 AND sequence > $2 \
                 ORDER BY sequence LIMIT $3",
            )
            .bind(issue_id)
            .bind(after)
            .bind(limit)
            .fetch_all(&mut **conn)
            .await
        })?;
        tx.rollback().await?;
        let next_token = PageCursor::next_page(&mut rows, page_size, HISTORY_TOKEN, |r| vec![r.sequence.to_string()]);
        let entries = rows.into_iter().map(CommonIssueHistoryEntry::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok((entries, next_token))
    }
}
