//! The similar-demand part of the intake API (合并同类项): the demands and common issues most similar
//! to a text or a demand, clustering proposals over a scope of demands, and staff's decision on each
//! proposed group.
//!
//! Who may do what: staff, members, leaders, supervisors and analysts ask for similar items and read
//! proposals; staff ask for proposals and accept or reject their groups (nothing is merged until they
//! accept). An enterprise submitting a demand sees likely duplicates among its own demands only.

use std::sync::Arc;

use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::time::{Period, PeriodKind};
use tingjian_runtime::wire::{parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use super::common_issue::issue_to_proto;
use super::{EDITORS, IntakeApi, READERS, checked, gather};
use crate::domain::clustering::{
    Acceptance, ClusteringProposal, ClusteringScope, NewCluster, NewProposal, ProposedCluster, parse_min_cluster_size,
    parse_optional_reason, parse_scope_ids, parse_threshold, period_kind_number,
};
use crate::domain::common_issue::{IssueTitle, Reason, canonical_request, parse_demand_ids};
use crate::domain::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size};
use crate::domain::resolve_category;
use crate::domain::similarity::cluster::{self, ClusterOptions};
use crate::domain::similarity::{Hit, Index, ItemKind, SearchLimits, analyse};
use crate::engine::SimilarityEngine;

/// Longest text SuggestSimilar compares, in characters.
const MAX_QUERY_CHARS: usize = 5_000;
/// Matches returned when the request says 0.
const DEFAULT_MATCHES: usize = 10;
/// Most matches returned.
const MAX_MATCHES: usize = 50;
/// Neighbours each demand looks for when clustering.
const CLUSTER_NEIGHBOURS: usize = 10;
/// Longest cluster id accepted.
const MAX_CLUSTER_ID_CHARS: usize = 16;

fn kind_to_proto(kind: ItemKind) -> i32 {
    match kind {
        ItemKind::Demand => pb::SimilarTargetKind::Demand as i32,
        ItemKind::CommonIssue => pb::SimilarTargetKind::CommonIssue as i32,
    }
}

fn hit_to_proto(hit: Hit) -> pb::SimilarMatch {
    pb::SimilarMatch {
        kind: kind_to_proto(hit.item.kind),
        id: hit.item.id,
        title: hit.item.title,
        score: (hit.score * 1e6).round() / 1e6,
        shared_terms: hit.shared_terms,
        common_issue_id: hit.item.common_issue_id.unwrap_or_default(),
        enterprise_id: hit.item.enterprise_id.unwrap_or_default(),
    }
}

fn scope_to_proto(scope: &ClusteringScope) -> pb::ClusteringScope {
    pb::ClusteringScope {
        period: scope.period.map(|p| tingjian_proto::common::v1::Period {
            kind: period_kind_number(p.kind()),
            year: p.year(),
            number: i32::try_from(p.number()).unwrap_or(0),
        }),
        category: scope.category.clone().unwrap_or_default(),
        unmerged_only: scope.unmerged_only,
        demand_ids: scope.demand_ids.clone(),
    }
}

fn cluster_to_proto(c: ProposedCluster) -> pb::ProposedCluster {
    pb::ProposedCluster {
        id: c.id,
        representative_title: c.representative_title,
        demand_ids: c.demand_ids,
        shared_terms: c.shared_terms,
        cohesion: c.cohesion,
        suggested_common_issue_id: c.suggested_common_issue_id.unwrap_or_default(),
        status: c.status.as_i32(),
        common_issue_id: c.common_issue_id.unwrap_or_default(),
        decided_by: c.decided_by,
        decide_time: c.decide_time.map(timestamp),
        decision_reason: c.decision_reason,
    }
}

fn proposal_to_proto(p: ClusteringProposal) -> pb::ClusteringProposal {
    pb::ClusteringProposal {
        scope: Some(scope_to_proto(&p.scope)),
        threshold: p.threshold,
        demand_count: i32::try_from(p.demand_count).unwrap_or(i32::MAX),
        clusters: p.clusters.into_iter().map(cluster_to_proto).collect(),
        created_by: p.created_by,
        create_time: Some(timestamp(p.create_time)),
        id: p.id,
    }
}

/// The period of a scope, if one is set: kind, year and number checked, errors under `scope.period`.
fn scope_period(period: Option<&tingjian_proto::common::v1::Period>) -> Result<Option<Period>, FieldViolation> {
    use tingjian_proto::common::v1 as common;
    let Some(period) = period else { return Ok(None) };
    let kind = match common::PeriodKind::try_from(period.kind) {
        Ok(common::PeriodKind::Unspecified) => return Ok(None),
        Ok(common::PeriodKind::Month) => PeriodKind::Month,
        Ok(common::PeriodKind::Quarter) => PeriodKind::Quarter,
        Ok(common::PeriodKind::Year) => PeriodKind::Year,
        Err(_) => return Err(FieldViolation::new("scope.period.kind", "must be MONTH, QUARTER or YEAR")),
    };
    let number =
        u32::try_from(period.number).map_err(|_| FieldViolation::new("scope.period.number", "must not be negative"))?;
    Period::new(kind, period.year, number, "scope.period").map(Some)
}

/// Which items a similarity search may return to a caller.
#[derive(Debug, Clone)]
struct Visible {
    demands: bool,
    issues: bool,
    category: Option<String>,
    /// Only demands of these enterprises (an enterprise caller's own), when set.
    enterprises: Option<Vec<String>>,
    /// Never this demand (the one asked about).
    except: Option<String>,
}

impl Visible {
    fn accepts(&self, item: &crate::domain::similarity::Item) -> bool {
        let kind_ok = match item.kind {
            ItemKind::Demand => self.demands,
            ItemKind::CommonIssue => self.issues && self.enterprises.is_none(),
        };
        kind_ok
            && self.category.as_deref().is_none_or(|c| c == item.category)
            && self.except.as_deref().is_none_or(|id| !(item.kind == ItemKind::Demand && item.id == id))
            && match (&self.enterprises, item.kind) {
                (Some(own), ItemKind::Demand) => item.enterprise_id.as_ref().is_some_and(|e| own.contains(e)),
                _ => true,
            }
    }
}

/// Searches `engine`'s index for `text` with what `visible` lets through.
async fn search(
    engine: &Arc<SimilarityEngine>,
    text: String,
    visible: Visible,
    limits: SearchLimits,
) -> Result<(Vec<Hit>, Vec<String>), ServiceError> {
    engine
        .read_blocking(move |index: &Index| {
            let analysis = analyse(&text);
            let probe = index.probe(&analysis);
            let hits = index.search(&probe, |item| visible.accepts(item), limits);
            (hits, analysis.words)
        })
        .await
}

impl IntakeApi {
    /// Likely duplicates of a demand just submitted, for the SubmitDemand response: up to `limit`,
    /// at least the configured match threshold; among `own` enterprises' demands only when set. Empty
    /// while the index is still being built (the submission itself never waits for it).
    pub(super) async fn similar_to_submitted(
        &self,
        demand_id: &str,
        text: String,
        limit: usize,
        own: Option<Vec<String>>,
    ) -> Vec<pb::SimilarMatch> {
        self.similar.refresh(&[demand_id.to_owned()], &[]).await;
        if limit == 0 || !self.similar.is_ready() {
            return Vec::new();
        }
        let visible = Visible {
            demands: true,
            issues: true,
            category: None,
            enterprises: own,
            except: Some(demand_id.to_owned()),
        };
        let limits = SearchLimits { limit, min_score: self.similar.settings().match_threshold };
        match search(&self.similar, text, visible, limits).await {
            Ok((hits, _)) => hits.into_iter().map(hit_to_proto).collect(),
            Err(e) => {
                tracing::warn!(error = %e, "finding likely duplicates of a submitted demand failed");
                Vec::new()
            }
        }
    }

    /// Brings the similarity index up to date after a change of these demands and common issues.
    pub(super) async fn reindex(&self, demand_ids: &[String], issue_ids: &[String]) {
        self.similar.refresh(demand_ids, issue_ids).await;
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn suggest_similar_impl(
        &self,
        request: Request<pb::SuggestSimilarRequest>,
    ) -> Result<Response<pb::SuggestSimilarResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let text = body.text.trim();
        let demand_id = body.demand_id.trim();
        match (text.is_empty(), demand_id.is_empty()) {
            (true, true) => v.add("text", "give a text to match, or a demand_id"),
            (false, false) => v.add("demand_id", "give either a text or a demand_id, not both"),
            _ => {}
        }
        if text.chars().count() > MAX_QUERY_CHARS {
            v.add("text", format!("is longer than {MAX_QUERY_CHARS} characters"));
        }
        let demand_id = if demand_id.is_empty() { None } else { gather(&mut v, parse_id(demand_id, "demand_id"))? };
        let category = match body.category.trim() {
            "" => None,
            raw => {
                let categories = self.store.all_categories().await?;
                v.check(resolve_category(raw, &categories, "category"))
            }
        };
        let (mut demands, mut issues) = (body.kinds.is_empty(), body.kinds.is_empty());
        for (i, &k) in body.kinds.iter().enumerate() {
            match pb::SimilarTargetKind::try_from(k) {
                Ok(pb::SimilarTargetKind::Demand) => demands = true,
                Ok(pb::SimilarTargetKind::CommonIssue) => issues = true,
                _ => v.add(format!("kinds[{i}]"), format!("{k} is not DEMAND or COMMON_ISSUE")),
            }
        }
        let limit = match body.limit {
            n if n < 0 => {
                v.add("limit", "must not be negative");
                0
            }
            0 => DEFAULT_MATCHES,
            n => (n as usize).min(MAX_MATCHES),
        };
        let min_score = if body.min_score == 0.0 {
            Some(self.similar.settings().match_threshold)
        } else if body.min_score.is_finite() && (0.0..=1.0).contains(&body.min_score) {
            Some(body.min_score)
        } else {
            v.add("min_score", format!("{} is not in [0, 1] (0 means the configured default)", body.min_score));
            None
        };
        v.finish()?;
        let min_score = checked(min_score)?;
        let text = match &demand_id {
            Some(id) => {
                let demand = self.store.get_demand(id).await?;
                format!("{}。{}", demand.fields.title, demand.fields.text)
            }
            None => text.to_owned(),
        };
        self.similar.wait_ready().await?;
        let visible = Visible { demands, issues, category, enterprises: None, except: demand_id };
        let (hits, query_terms) = search(&self.similar, text, visible, SearchLimits { limit, min_score }).await?;
        Ok(Response::new(pb::SuggestSimilarResponse {
            matches: hits.into_iter().map(hit_to_proto).collect(),
            query_terms,
        }))
    }

    #[tracing::instrument(skip_all, fields(proposal.id))]
    pub(super) async fn propose_clusters_impl(
        &self,
        request: Request<pb::ProposeClustersRequest>,
    ) -> Result<Response<pb::ProposeClustersResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let raw_scope = body.scope.unwrap_or_default();
        let mut v = Violations::new();
        let period = v.check(scope_period(raw_scope.period.as_ref()));
        let category = match raw_scope.category.trim() {
            "" => None,
            raw => {
                let categories = self.store.all_categories().await?;
                v.check(resolve_category(raw, &categories, "scope.category"))
            }
        };
        let demand_ids = gather(&mut v, parse_scope_ids(&raw_scope.demand_ids, "scope.demand_ids"))?;
        let threshold =
            v.check(parse_threshold(body.threshold, self.similar.settings().cluster_threshold, "threshold"));
        let min_size = v.check(parse_min_cluster_size(body.min_cluster_size, "min_cluster_size"));
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
        v.finish()?;
        let (period, demand_ids, threshold, min_size, request_id) =
            (checked(period)?, checked(demand_ids)?, checked(threshold)?, checked(min_size)?, checked(request_id)?);
        let scope = ClusteringScope { period, category, unmerged_only: raw_scope.unmerged_only, demand_ids };
        let fingerprint = canonical_request(&[&scope.canonical(), &threshold.to_string(), &min_size.to_string()]);
        if let Some(request_id) = &request_id
            && let Some(existing) = self.store.proposal_by_request(request_id, &fingerprint).await?
        {
            return Ok(Response::new(pb::ProposeClustersResponse { proposal: Some(proposal_to_proto(existing)) }));
        }
        self.similar.wait_ready().await?;
        let ids = self.store.scope_demand_ids(&scope).await?;
        let demand_count = ids.len();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let options = ClusterOptions { threshold, min_size, neighbours: CLUSTER_NEIGHBOURS, threads };
        let groups = self.similar.read_blocking(move |index| cluster::propose(index, &ids, options)).await?;
        let new = NewProposal {
            scope,
            threshold,
            min_cluster_size: min_size,
            demand_count,
            clusters: groups
                .into_iter()
                .map(|g| NewCluster {
                    representative_title: g.representative_title,
                    demand_ids: g.demand_ids,
                    shared_terms: g.shared_terms,
                    cohesion: g.cohesion,
                    suggested_common_issue_id: g.suggested_common_issue_id,
                })
                .collect(),
        };
        let request = request_id.as_deref().map(|r| (r, fingerprint.as_str()));
        let proposal = self.store.create_proposal(&new, request, &caller.subject).await?;
        tracing::Span::current().record("proposal.id", proposal.id.as_str());
        tracing::info!(demands = demand_count, clusters = proposal.clusters.len(), "clustering proposed");
        Ok(Response::new(pb::ProposeClustersResponse { proposal: Some(proposal_to_proto(proposal)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_clustering_proposal_impl(
        &self,
        request: Request<pb::GetClusteringProposalRequest>,
    ) -> Result<Response<pb::GetClusteringProposalResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let proposal = self.store.get_proposal(&id).await?;
        Ok(Response::new(pb::GetClusteringProposalResponse { proposal: Some(proposal_to_proto(proposal)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_clustering_proposals_impl(
        &self,
        request: Request<pb::ListClusteringProposalsRequest>,
    ) -> Result<Response<pb::ListClusteringProposalsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let size = page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size")
            .map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
        let (proposals, next_page_token) = self.store.list_proposals(body.pending_only, size, &body.page_token).await?;
        Ok(Response::new(pb::ListClusteringProposalsResponse {
            proposals: proposals.into_iter().map(proposal_to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(common_issue.id))]
    pub(super) async fn accept_proposed_cluster_impl(
        &self,
        request: Request<pb::AcceptProposedClusterRequest>,
    ) -> Result<Response<pb::AcceptProposedClusterResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let proposal_id = gather(&mut v, parse_id(&body.proposal_id, "proposal_id"))?;
        let cluster_id = v.check(cluster_id(&body.cluster_id));
        let demand_ids = if body.demand_ids.is_empty() {
            None
        } else {
            gather(&mut v, parse_demand_ids(&body.demand_ids, "demand_ids"))?
        };
        let target = match body.target_common_issue_id.trim() {
            "" => None,
            raw => gather(&mut v, parse_id(raw, "target_common_issue_id"))?,
        };
        let extending = !body.target_common_issue_id.trim().is_empty();
        let title = match body.title.trim() {
            "" => None,
            _ if extending => None,
            raw => v.check(IssueTitle::parse(raw, "title")),
        };
        let category = match body.category.trim() {
            "" => None,
            _ if extending => None,
            raw => {
                let categories = self.store.active_categories().await?;
                v.check(resolve_category(raw, &categories, "category"))
            }
        };
        let reason = v.check(Reason::parse(&body.reason, "reason"));
        v.finish()?;
        let (proposal_id, cluster_id, reason) = (checked(proposal_id)?, checked(cluster_id)?, checked(reason)?);
        let acceptance = Acceptance { demand_ids, target_common_issue_id: target, title, category, reason };
        let (issue, cluster) =
            self.store.accept_cluster(&proposal_id, &cluster_id, &acceptance, &caller.subject).await?;
        tracing::Span::current().record("common_issue.id", issue.id.as_str());
        self.reindex(&cluster.demand_ids, std::slice::from_ref(&issue.id)).await;
        Ok(Response::new(pb::AcceptProposedClusterResponse {
            common_issue: Some(issue_to_proto(issue)),
            cluster: Some(cluster_to_proto(cluster)),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn reject_proposed_cluster_impl(
        &self,
        request: Request<pb::RejectProposedClusterRequest>,
    ) -> Result<Response<pb::RejectProposedClusterResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let proposal_id = gather(&mut v, parse_id(&body.proposal_id, "proposal_id"))?;
        let cluster_id = v.check(cluster_id(&body.cluster_id));
        let reason = v.check(parse_optional_reason(&body.reason, "reason"));
        v.finish()?;
        let (proposal_id, cluster_id, reason) = (checked(proposal_id)?, checked(cluster_id)?, checked(reason)?);
        let cluster = self.store.reject_cluster(&proposal_id, &cluster_id, &reason, &caller.subject).await?;
        Ok(Response::new(pb::RejectProposedClusterResponse { cluster: Some(cluster_to_proto(cluster)) }))
    }
}

/// Checks a cluster id: required, short, printable.
fn cluster_id(raw: &str) -> Result<String, FieldViolation> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(FieldViolation::new("cluster_id", "is required"));
    }
    if id.chars().count() > MAX_CLUSTER_ID_CHARS || !id.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FieldViolation::new("cluster_id", "is not a cluster id of this proposal (e.g. \"1\")"));
    }
    Ok(id.to_owned())
}
