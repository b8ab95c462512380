//! Clustering proposals in the intake store: the demands a scope selects, the proposal with its
//! groups, and each group's decision. Accepting a group forms or extends its common issue through the
//! same steps as CreateCommonIssue and AddDemandsToCommonIssue, in the same transaction as the group's
//! new status, so a group is ACCEPTED exactly when its common issue changed.

use chrono::{DateTime, SubsecRound, Utc};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::common_issue::{add_demands_in, form_common_issue_in};
use super::{Arg, Conditions, Store, placeholders};
use crate::domain::clustering::{
    Acceptance, ClusterStatus, ClusteringProposal, ClusteringScope, MAX_SCOPE_DEMANDS, NewProposal, ProposedCluster,
    most_common_category, period_kind_number, stored_period, title_from_representative,
};
use crate::domain::common_issue::{CommonIssue, NewCommonIssue, join_ids, split_ids};
use crate::domain::demand::DemandStatus;
use crate::domain::paging::{PageCursor, time_key};

/// Page-token tag of ListClusteringProposals.
const PROPOSALS_TOKEN: &str = "clustering_proposals/1";
/// Separator of the stored shared terms.
const TERM_SEPARATOR: char = '\u{1f}';

#[derive(sqlx::FromRow)]
struct ProposalRow {
    id: String,
    period_kind: i32,
    period_year: i32,
    period_number: i32,
    category: String,
    unmerged_only: bool,
    scope_demand_ids: String,
    threshold: f64,
    min_cluster_size: i32,
    demand_count: i32,
    created_by: String,
    create_time: DateTime<Utc>,
}

const SELECT_PROPOSAL: &str = "SELECT p.id, p.period_kind, p.period_year, p.period_number, p.category, \
     p.unmerged_only, p.scope_demand_ids, p.threshold, p.min_cluster_size, p.demand_count, p.created_by, \
     p.create_time FROM clustering_proposal p";

#[derive(sqlx::FromRow)]
struct ClusterRow {
    id: String,
    representative_title: String,
    demand_ids: String,
    shared_terms: String,
    cohesion: f64,
    suggested_common_issue_id: Option<String>,
    status: i32,
    common_issue_id: Option<String>,
    decided_by: String,
    decide_time: Option<DateTime<Utc>>,
    decision_reason: String,
}

const SELECT_CLUSTER: &str = "SELECT id, representative_title, demand_ids, shared_terms, cohesion, \
     suggested_common_issue_id, status, common_issue_id, decided_by, decide_time, decision_reason FROM proposed_cluster";

impl TryFrom<ClusterRow> for ProposedCluster {
    type Error = ServiceError;

    fn try_from(row: ClusterRow) -> Result<Self, Self::Error> {
        let status = ClusterStatus::from_i32(row.status)
            .ok_or_else(|| ServiceError::internal(format!("stored cluster {} has a bad status", row.id)))?;
        Ok(Self {
            id: row.id,
            representative_title: row.representative_title,
            demand_ids: split_ids(&row.demand_ids),
            shared_terms: row.shared_terms.split(TERM_SEPARATOR).filter(|t| !t.is_empty()).map(str::to_owned).collect(),
            cohesion: row.cohesion,
            suggested_common_issue_id: row.suggested_common_issue_id,
            status,
            common_issue_id: row.common_issue_id,
            decided_by: row.decided_by,
            decide_time: row.decide_time,
            decision_reason: row.decision_reason,
        })
    }
}

impl ProposalRow {
    fn into_proposal(self, clusters: Vec<ProposedCluster>) -> ClusteringProposal {
        ClusteringProposal {
            scope: ClusteringScope {
                period: stored_period(self.period_kind, self.period_year, self.period_number),
                category: Some(self.category).filter(|c| !c.is_empty()),
                unmerged_only: self.unmerged_only,
                demand_ids: split_ids(&self.scope_demand_ids),
            },
            threshold: self.threshold,
            min_cluster_size: usize::try_from(self.min_cluster_size).unwrap_or(2),
            demand_count: usize::try_from(self.demand_count).unwrap_or(0),
            clusters,
            created_by: self.created_by,
            create_time: self.create_time,
            id: self.id,
        }
    }
}

fn now() -> DateTime<Utc> {
    tingjian_runtime::clock::now().trunc_subsecs(6)
}

fn proposal_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "clustering proposal", id: id.to_owned() }
}

async fn load_clusters(tx: &mut Tx, proposal_id: &str) -> Result<Vec<ProposedCluster>, ServiceError> {
    let sql = format!("{SELECT_CLUSTER} WHERE proposal_id = $1 ORDER BY position");
    let rows: Vec<ClusterRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, ClusterRow>(&sql).bind(proposal_id).fetch_all(&mut **conn).await)?;
    rows.into_iter().map(ProposedCluster::try_from).collect()
}

async fn load_proposal(tx: &mut Tx, id: &str) -> Result<ClusteringProposal, ServiceError> {
    let sql = format!("{SELECT_PROPOSAL} WHERE p.id = $1");
    let row: Option<ProposalRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, ProposalRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    let row = row.ok_or_else(|| proposal_not_found(id))?;
    let clusters = load_clusters(tx, id).await?;
    Ok(row.into_proposal(clusters))
}

/// Claims a PENDING group for a decision (locking it): its row as it stands, NOT_FOUND for an unknown
/// proposal or group, FAILED_PRECONDITION naming the status of a group already decided.
async fn claim_pending(tx: &mut Tx, proposal_id: &str, cluster_id: &str) -> Result<ProposedCluster, ServiceError> {
    // The first statement writes, so SQLite takes its write lock before anything is read.
    let touched = on_tx!(tx, conn => {
        sqlx::query("UPDATE clustering_proposal SET pending_count = pending_count WHERE id = $1")
            .bind(proposal_id)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    if touched == 0 {
        return Err(proposal_not_found(proposal_id));
    }
    let cluster = load_cluster(tx, proposal_id, cluster_id).await?;
    if cluster.status != ClusterStatus::Pending {
        return Err(ServiceError::FailedPrecondition(format!(
            "cluster {cluster_id} of proposal {proposal_id} is {}: it was already decided",
            cluster.status
        )));
    }
    Ok(cluster)
}

/// One group of a proposal; NOT_FOUND when the proposal has no such group.
async fn load_cluster(tx: &mut Tx, proposal_id: &str, cluster_id: &str) -> Result<ProposedCluster, ServiceError> {
    let sql = format!("{SELECT_CLUSTER} WHERE proposal_id = $1 AND id = $2");
    let row: Option<ClusterRow> = on_tx!(tx, conn => {
        sqlx::query_as::<_, ClusterRow>(&sql).bind(proposal_id).bind(cluster_id).fetch_optional(&mut **conn).await
    })?;
    ProposedCluster::try_from(row.ok_or_else(|| ServiceError::NotFound {
        resource: "proposed cluster",
        id: format!("{proposal_id}/{cluster_id}"),
    })?)
}

struct Decision<'a> {
    status: ClusterStatus,
    demand_ids: &'a [String],
    common_issue_id: Option<&'a str>,
    actor: &'a str,
    reason: &'a str,
    time: DateTime<Utc>,
}

async fn record_decision(
    tx: &mut Tx,
    proposal_id: &str,
    cluster_id: &str,
    d: &Decision<'_>,
) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE proposed_cluster SET status = $3, demand_ids = $4, common_issue_id = $5, decided_by = $6, \
             decide_time = $7, decision_reason = $8 WHERE proposal_id = $1 AND id = $2",
        )
        .bind(proposal_id)
        .bind(cluster_id)
        .bind(d.status.as_i32())
        .bind(join_ids(d.demand_ids))
        .bind(d.common_issue_id)
        .bind(d.actor)
        .bind(d.time)
        .bind(d.reason)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    on_tx!(tx, conn => {
        sqlx::query("UPDATE clustering_proposal SET pending_count = pending_count - 1 WHERE id = $1")
            .bind(proposal_id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// Records the decision on a claimed group, commits `tx`, and returns the group as decided.
async fn decide(
    mut tx: Tx,
    proposal_id: &str,
    cluster_id: &str,
    d: &Decision<'_>,
) -> Result<ProposedCluster, ServiceError> {
    record_decision(&mut tx, proposal_id, cluster_id, d).await?;
    let cluster = load_cluster(&mut tx, proposal_id, cluster_id).await?;
    tx.commit().await?;
    Ok(cluster)
}

impl Store {
    /// The open demands a clustering scope selects, oldest first: at most [`MAX_SCOPE_DEMANDS`] (a
    /// wider scope is INVALID_ARGUMENT on `scope`, asking to narrow it).
    pub async fn scope_demand_ids(&self, scope: &ClusteringScope) -> Result<Vec<String>, ServiceError> {
        let mut c = Conditions::default();
        let open = c.placeholders(DemandStatus::OPEN.iter().map(|s| Arg::Int(s.as_i32())));
        c.push(format!("d.status IN ({open})"));
        if let Some((start, end)) = scope.submitted() {
            let (ps, pe) = (c.arg(Arg::Time(start)), c.arg(Arg::Time(end)));
            c.push(format!("d.create_time >= {ps} AND d.create_time < {pe}"));
        }
        if let Some(category) = &scope.category {
            let p = c.arg(Arg::Text(category.clone()));
            c.push(format!("d.category = {p}"));
        }
        if scope.unmerged_only {
            c.push("d.common_issue_id IS NULL");
        }
        let base = c.clauses.clone();
        let base_args = c.args.clone();
        let limit = MAX_SCOPE_DEMANDS + 1;
        let mut ids: Vec<String> = Vec::new();
        if scope.demand_ids.is_empty() {
            let sql = format!("SELECT d.id FROM demand d{} ORDER BY d.create_time, d.id LIMIT {limit}", c.where_sql());
            ids = on_pool!(&self.db, pool => bind_all!(sqlx::query_scalar::<_, String>(&sql), c.args()).fetch_all(pool).await)?;
        } else {
            for chunk in scope.demand_ids.chunks(500) {
                let mut c = Conditions { clauses: base.clone(), args: base_args.clone() };
                let list = c.placeholders(chunk.iter().map(|id| Arg::Text(id.clone())));
                c.push(format!("d.id IN ({list})"));
                let sql = format!("SELECT d.id FROM demand d{}", c.where_sql());
                let found: Vec<String> = on_pool!(&self.db, pool => bind_all!(sqlx::query_scalar::<_, String>(&sql), c.args()).fetch_all(pool).await)?;
                ids.extend(found);
            }
            // Keep the order the caller gave.
            let position: std::collections::HashMap<&str, usize> =
                scope.demand_ids.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
            ids.sort_by_key(|id| position.get(id.as_str()).copied().unwrap_or(usize::MAX));
        }
        if ids.len() > MAX_SCOPE_DEMANDS {
            return Err(ServiceError::invalid(
                "scope",
                format!(
                    "selects more than {MAX_SCOPE_DEMANDS} open demands; narrow it by period, category or unmerged_only"
                ),
            ));
        }
        Ok(ids)
    }

    /// Stores a proposal with every group PENDING. A repeated `request_id` with the same request
    /// returns the first proposal; with a different request it is ALREADY_EXISTS.
    pub async fn create_proposal(
        &self,
        new: &NewProposal,
        request: Option<(&str, &str)>,
        actor: &str,
    ) -> Result<ClusteringProposal, ServiceError> {
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            let (kind, year, number) = match new.scope.period {
                Some(p) => (period_kind_number(p.kind()), p.year(), i32::try_from(p.number()).unwrap_or(0)),
                None => (0, 0, 0),
            };
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO clustering_proposal (id, period_kind, period_year, period_number, category, \
                     unmerged_only, scope_demand_ids, threshold, min_cluster_size, demand_count, pending_count, \
                     request_id, request_payload, created_by, create_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&id)
                .bind(kind)
                .bind(year)
                .bind(number)
                .bind(new.scope.category.as_deref().unwrap_or(""))
                .bind(new.scope.unmerged_only)
                .bind(join_ids(&new.scope.demand_ids))
                .bind(new.threshold)
                .bind(i32::try_from(new.min_cluster_size).unwrap_or(i32::MAX))
                .bind(i32::try_from(new.demand_count).unwrap_or(i32::MAX))
                .bind(i32::try_from(new.clusters.len()).unwrap_or(i32::MAX))
                .bind(request.map(|(r, _)| r))
                .bind(request.map(|(_, p)| p))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            for (i, cluster) in new.clusters.iter().enumerate() {
                let terms: Vec<&str> = cluster.shared_terms.iter().map(String::as_str).collect();
                on_tx!(&mut tx, conn => {
                    sqlx::query(
                        "INSERT INTO proposed_cluster (proposal_id, id, position, representative_title, demand_ids, \
                         shared_terms, cohesion, suggested_common_issue_id, status) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    )
                    .bind(&id)
                    .bind((i + 1).to_string())
                    .bind(i32::try_from(i + 1).unwrap_or(i32::MAX))
                    .bind(&cluster.representative_title)
                    .bind(join_ids(&cluster.demand_ids))
                    .bind(terms.join(&TERM_SEPARATOR.to_string()))
                    .bind(cluster.cohesion)
                    .bind(cluster.suggested_common_issue_id.as_deref())
                    .bind(ClusterStatus::Pending.as_i32())
                    .execute(&mut **conn)
                    .await
                    .map(|_| ())
                })?;
            }
            let proposal = load_proposal(&mut tx, &id).await?;
            tx.commit().await?;
            Ok(proposal)
        };
        create_once(
            request.map(|(r, _)| r),
            |request_id| async move { self.proposal_by_request(&request_id, request.map_or("", |(_, p)| p)).await },
            insert,
            || ServiceError::AlreadyExists("the clustering proposal conflicts with an existing one".into()),
        )
        .await
    }

    /// The proposal `request_id` created, if any; ALREADY_EXISTS if it was created from another request.
    pub async fn proposal_by_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<ClusteringProposal>, ServiceError> {
        let Some((id, payload)) = self.created_with("clustering_proposal", "request_payload", request_id).await? else {
            return Ok(None);
        };
        if payload.as_deref() != Some(fingerprint) {
            return Err(ServiceError::AlreadyExists(format!(
                "request_id {request_id} was already used for clustering proposal {id} from a different request"
            )));
        }
        self.get_proposal(&id).await.map(Some)
    }

    /// A proposal with its groups.
    pub async fn get_proposal(&self, id: &str) -> Result<ClusteringProposal, ServiceError> {
        let mut tx = self.db.begin().await?;
        let proposal = load_proposal(&mut tx, id).await;
        tx.rollback().await?;
        proposal
    }

    /// Proposals, newest first (only those with PENDING groups when `pending_only`), one page.
    pub async fn list_proposals(
        &self,
        pending_only: bool,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<ClusteringProposal>, String), ServiceError> {
        let cursor = PageCursor::decode(page_token, PROPOSALS_TOKEN, 2, "page_token")
            .map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
        let mut c = Conditions::default();
        if pending_only {
            c.push("p.pending_count > 0");
        }
        if let Some(cursor) = &cursor {
            let time = cursor.time(0, "page_token").map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
            c.after("p.create_time", Arg::Time(time), "p.id", &cursor.keys[1], true);
        }
        let limit = i64::try_from(page_size + 1).unwrap_or(i64::MAX);
        let sql = format!("{SELECT_PROPOSAL}{} ORDER BY p.create_time DESC, p.id DESC LIMIT {limit}", c.where_sql());
        let mut tx = self.db.begin().await?;
        let mut rows: Vec<ProposalRow> = on_tx!(&mut tx, conn => {
            bind_all!(sqlx::query_as::<_, ProposalRow>(&sql), c.args()).fetch_all(&mut **conn).await
        })?;
        let next = PageCursor::next_page(&mut rows, page_size, PROPOSALS_TOKEN, |r| {
            vec![time_key(r.create_time), r.id.clone()]
        });
        let mut proposals = Vec::with_capacity(rows.len());
        for row in rows {
            let clusters = load_clusters(&mut tx, &row.id).await?;
            proposals.push(row.into_proposal(clusters));
        }
        tx.rollback().await?;
        Ok((proposals, next))
    }

    /// Accepts a PENDING group: forms a new common issue from its demands (or the edited ones) or
    /// extends `target`, and marks the group ACCEPTED, in one transaction. Returns the common issue and
    /// the group after the change.
    pub async fn accept_cluster(
        &self,
        proposal_id: &str,
        cluster_id: &str,
        acceptance: &Acceptance,
        actor: &str,
    ) -> Result<(CommonIssue, ProposedCluster), ServiceError> {
        let mut tx = self.db.begin().await?;
        let cluster = claim_pending(&mut tx, proposal_id, cluster_id).await?;
        let demand_ids = acceptance.demand_ids.clone().unwrap_or_else(|| cluster.demand_ids.clone());
        let (tx, issue) = match &acceptance.target_common_issue_id {
            Some(target) => {
                match add_demands_in(&mut tx, target, &demand_ids, None, &acceptance.reason, actor).await? {
                    Some(issue) => (tx, issue),
                    None => {
                        // Every demand already belongs to the target: nothing to merge (the issue's bumped
                        // revision is rolled back), and the group is accepted as it stands.
                        tx.rollback().await?;
                        let mut tx = self.db.begin().await?;
                        claim_pending(&mut tx, proposal_id, cluster_id).await?;
                        let issue = self.get_common_issue(target).await?;
                        (tx, issue)
                    }
                }
            }
            None => {
                let title = match &acceptance.title {
                    Some(title) => title.clone(),
                    None => title_from_representative(&cluster.representative_title).map_err(|v| {
                        ServiceError::invalid(
                            "title",
                            format!("the representative title cannot be used ({}); give a title", v.description),
                        )
                    })?,
                };
                let category = match &acceptance.category {
                    Some(category) => category.clone(),
                    None => {
                        let categories = self.categories_of(&mut tx, &demand_ids).await?;
                        most_common_category(&categories).ok_or_else(|| ServiceError::NotFound {
                            resource: "demand",
                            id: demand_ids.first().cloned().unwrap_or_default(),
                        })?
                    }
                };
                let new = NewCommonIssue {
                    title,
                    description: String::new(),
                    category,
                    demand_ids: demand_ids.clone(),
                    reason: acceptance.reason.clone(),
                };
                let issue = form_common_issue_in(&mut tx, &new, None, Some(proposal_id), actor).await?;
                (tx, issue)
            }
        };
        let decision = Decision {
            status: ClusterStatus::Accepted,
            demand_ids: &demand_ids,
            common_issue_id: Some(&issue.id),
            actor,
            reason: acceptance.reason.as_str(),
            time: now(),
        };
        let cluster = decide(tx, proposal_id, cluster_id, &decision).await?;
        Ok((issue, cluster))
    }

    /// Rejects a PENDING group; nothing else changes.
    pub async fn reject_cluster(
        &self,
        proposal_id: &str,
        cluster_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<ProposedCluster, ServiceError> {
        let mut tx = self.db.begin().await?;
        let cluster = claim_pending(&mut tx, proposal_id, cluster_id).await?;
        let decision = Decision {
            status: ClusterStatus::Rejected,
            demand_ids: &cluster.demand_ids,
            common_issue_id: None,
            actor,
            reason,
            time: now(),
        };
        decide(tx, proposal_id, cluster_id, &decision).await
    }

    /// The categories of the demands among `ids` that exist.
    async fn categories_of(&self, tx: &mut Tx, ids: &[String]) -> Result<Vec<String>, ServiceError> {
        let mut out = Vec::new();
        for chunk in ids.chunks(500) {
            let sql = format!("SELECT id, category FROM demand WHERE id IN ({})", placeholders(1, chunk.len()));
            let args: Vec<Arg> = chunk.iter().map(|id| Arg::Text(id.clone())).collect();
            let rows: Vec<(String, String)> = on_tx!(tx, conn => {
                bind_all!(sqlx::query_as::<_, (String, String)>(&sql), &args).fetch_all(&mut **conn).await
            })?;
            // In the order given, so ties go to the first demand.
            for id in chunk {
                if let Some((_, category)) = rows.iter().find(|(found, _)| found == id) {
                    out.push(category.clone());
                }
            }
        }
        Ok(out)
    }
}
