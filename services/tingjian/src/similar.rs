//! Client commands of the similar-demand engine (合并同类项) for CPPCC office staff: the demands and
//! common issues most like a text, and clustering proposals to accept, edit or reject. Text output is
//! Chinese for people, `-o json` for scripts.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use tingjian_proto::intake::v1 as pb;

use crate::client::{ClientArgs, Output, explain, intake, request_id};

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// `tingjian similar`: the open demands and common issues most like a text or a demand.
#[derive(Debug, Args)]
pub struct SimilarArgs {
    /// The text to match, e.g. 渔业企业贷款利息太高.
    #[arg(required_unless_present = "demand", conflicts_with = "demand")]
    text: Option<String>,
    /// Match this demand's text instead (the demand itself is left out).
    #[arg(long)]
    demand: Option<String>,
    /// Only this category (code or name).
    #[arg(long, default_value = "")]
    category: String,
    /// Only demands or only common issues.
    #[arg(long, value_enum)]
    kind: Option<KindArg>,
    /// Most matches (at most 50).
    #[arg(long, default_value_t = 10)]
    limit: i32,
    /// Lowest score (0 means the service's default).
    #[arg(long, default_value_t = 0.0)]
    min_score: f64,
    #[command(flatten)]
    client: ClientArgs,
}

/// Kinds of matches.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    Demand,
    Issue,
}

/// `tingjian cluster …`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Propose groups of likely duplicates (nothing is merged until a group is accepted).
    Propose(ProposeArgs),
    /// Show a proposal with each group's demands and decision.
    Show(ShowArgs),
    /// Accept a group: form a new common issue, or extend one with --into.
    Accept(AcceptArgs),
    /// Reject a group; nothing else changes.
    Reject(RejectArgs),
}

/// `tingjian cluster propose`
#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// Only demands submitted in this period (Beijing time): 2024-Q3, 2024-09 or 2024.
    #[arg(long, value_parser = crate::report::parse_period)]
    period: Option<tingjian_proto::common::v1::Period>,
    /// Only demands of this category (code or name).
    #[arg(long, default_value = "")]
    category: String,
    /// Only demands in no common issue yet.
    #[arg(long)]
    unmerged: bool,
    /// Only these demands; repeat for several.
    #[arg(long = "demand")]
    demands: Vec<String>,
    /// Lowest similarity of two demands in a group (0 means the service's default).
    #[arg(long, default_value_t = 0.0)]
    threshold: f64,
    /// Smallest group proposed.
    #[arg(long, default_value_t = 2)]
    min_size: i32,
    /// Request id: repeating the command with the same id returns the first proposal.
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian cluster show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The proposal's id.
    proposal: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian cluster accept`
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// The proposal's id.
    proposal: String,
    /// The group's number within the proposal.
    cluster: String,
    /// Why these demands are one matter (kept in every history touched).
    #[arg(long)]
    reason: String,
    /// Extend this existing common issue instead of forming a new one.
    #[arg(long)]
    into: Option<String>,
    /// Title of the new common issue (default: the group's representative title).
    #[arg(long, default_value = "")]
    title: String,
    /// Category of the new common issue (default: the demands' most common one).
    #[arg(long, default_value = "")]
    category: String,
    /// Accept only these demands (edit the group); repeat for several.
    #[arg(long = "demand")]
    demands: Vec<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian cluster reject`
#[derive(Debug, Args)]
pub struct RejectArgs {
    /// The proposal's id.
    proposal: String,
    /// The group's number within the proposal.
    cluster: String,
    /// Why not.
    #[arg(long, default_value = "")]
    reason: String,
    #[command(flatten)]
    client: ClientArgs,
}

fn kind_name(kind: i32) -> &'static str {
    match pb::SimilarTargetKind::try_from(kind) {
        Ok(pb::SimilarTargetKind::Demand) => "诉求",
        Ok(pb::SimilarTargetKind::CommonIssue) => "共性问题",
        _ => "?",
    }
}

fn status_name(status: i32) -> &'static str {
    match pb::ClusterStatus::try_from(status) {
        Ok(pb::ClusterStatus::Pending) => "待定",
        Ok(pb::ClusterStatus::Accepted) => "已采纳",
        Ok(pb::ClusterStatus::Rejected) => "已驳回",
        _ => "?",
    }
}

/// One line per likely duplicate: rank, score, kind, id, title, shared key terms and where it stands.
pub(crate) fn match_lines(matches: &[pb::SimilarMatch]) -> Vec<String> {
    matches
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let terms = if m.shared_terms.is_empty() {
                String::new()
            } else {
                format!("  共同关键词：{}", m.shared_terms.join("、"))
            };
            let issue = if m.common_issue_id.is_empty() {
                String::new()
            } else {
                format!("  → 已并入共性问题 {}", m.common_issue_id)
            };
            format!("{:>2}. {:.2}  {}  {}  {}{}{}", i + 1, m.score, kind_name(m.kind), m.id, m.title, terms, issue)
        })
        .collect()
}

pub(crate) fn match_json(m: &pb::SimilarMatch) -> Value {
    json!({
        "kind": pb::SimilarTargetKind::try_from(m.kind).map(|k| k.as_str_name()).unwrap_or("?"),
        "id": m.id, "title": m.title, "score": m.score, "shared_terms": m.shared_terms,
        "common_issue_id": m.common_issue_id, "enterprise_id": m.enterprise_id,
    })
}

/// Runs `tingjian similar`.
pub async fn similar(a: SimilarArgs) -> BoxResult<()> {
    let mut client = intake(&a.client).await?;
    let kinds = match a.kind {
        None => Vec::new(),
        Some(KindArg::Demand) => vec![pb::SimilarTargetKind::Demand as i32],
        Some(KindArg::Issue) => vec![pb::SimilarTargetKind::CommonIssue as i32],
    };
    let asked = a.text.clone().unwrap_or_default();
    let response = client
        .suggest_similar(pb::SuggestSimilarRequest {
            text: asked.clone(),
            demand_id: a.demand.clone().unwrap_or_default(),
            category: a.category,
            kinds,
            limit: a.limit,
            min_score: a.min_score,
        })
        .await
        .map_err(explain)?
        .into_inner();
    match a.client.output {
        Output::Json => println!(
            "{}",
            json!({
                "query_terms": response.query_terms,
                "matches": response.matches.iter().map(match_json).collect::<Vec<_>>(),
            })
        ),
        Output::Text => {
            let subject = match &a.demand {
                Some(id) => format!("诉求 {id}"),
                None => format!("「{asked}」"),
            };
            if response.matches.is_empty() {
                println!("没有与{subject}相似的诉求或共性问题");
            } else {
                println!("与{subject}相似的诉求和共性问题（{} 项，按相似度排序）：", response.matches.len());
                for line in match_lines(&response.matches) {
                    println!("{line}");
                }
            }
            if !response.query_terms.is_empty() {
                println!("关键词：{}", response.query_terms.join("、"));
            }
        }
    }
    Ok(())
}

async fn print_proposal(
    client: &mut crate::client::Intake,
    proposal: &pb::ClusteringProposal,
    output: Output,
) -> BoxResult<()> {
    if output == Output::Json {
        let clusters: Vec<Value> = proposal
            .clusters
            .iter()
            .map(|c| {
                json!({
                    "id": c.id, "representative_title": c.representative_title, "demand_ids": c.demand_ids,
                    "shared_terms": c.shared_terms, "cohesion": c.cohesion,
                    "suggested_common_issue_id": c.suggested_common_issue_id,
                    "status": pb::ClusterStatus::try_from(c.status).map(|s| s.as_str_name()).unwrap_or("?"),
                    "common_issue_id": c.common_issue_id, "decided_by": c.decided_by, "decision_reason": c.decision_reason,
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "id": proposal.id, "threshold": proposal.threshold, "demand_count": proposal.demand_count,
                "created_by": proposal.created_by, "clusters": clusters,
            })
        );
        return Ok(());
    }
    let pending = proposal.clusters.iter().filter(|c| c.status == pb::ClusterStatus::Pending as i32).count();
    println!(
        "聚类建议 {}：考虑 {} 件诉求，相似度阈值 {:.2}，提出 {} 组（待定 {} 组）",
        proposal.id,
        proposal.demand_count,
        proposal.threshold,
        proposal.clusters.len(),
        pending
    );
    for c in &proposal.clusters {
        println!(
            "\n第 {} 组（{} 件诉求，凝聚度 {:.2}，{}）：{}",
            c.id,
            c.demand_ids.len(),
            c.cohesion,
            status_name(c.status),
            c.representative_title
        );
        if !c.shared_terms.is_empty() {
            println!("  共同关键词：{}", c.shared_terms.join("、"));
        }
        if !c.suggested_common_issue_id.is_empty() && c.status == pb::ClusterStatus::Pending as i32 {
            println!("  与已有共性问题 {} 相近，可用 --into 并入", c.suggested_common_issue_id);
        }
        if !c.common_issue_id.is_empty() {
            println!("  → 共性问题 {}（{}：{}）", c.common_issue_id, c.decided_by, c.decision_reason);
        } else if c.status == pb::ClusterStatus::Rejected as i32 {
            println!("  {} 驳回：{}", c.decided_by, c.decision_reason);
        }
        for id in &c.demand_ids {
            let title = match client.get_demand(pb::GetDemandRequest { id: id.clone() }).await {
                Ok(r) => r.into_inner().demand.map(|d| d.title).unwrap_or_default(),
                Err(_) => "（无法读取）".to_owned(),
            };
            println!("  - {id}  {title}");
        }
    }
    Ok(())
}

/// Runs `tingjian cluster …`.
pub async fn cluster(command: ClusterCommand) -> BoxResult<()> {
    match command {
        ClusterCommand::Propose(a) => {
            let mut client = intake(&a.client).await?;
            let proposal = client
                .propose_clusters(pb::ProposeClustersRequest {
                    scope: Some(pb::ClusteringScope {
                        period: a.period,
                        category: a.category,
                        unmerged_only: a.unmerged,
                        demand_ids: a.demands,
                    }),
                    threshold: a.threshold,
                    min_cluster_size: a.min_size,
                    request_id: request_id(a.request_id),
                })
                .await
                .map_err(explain)?
                .into_inner()
                .proposal
                .ok_or("the service answered without the proposal")?;
            print_proposal(&mut client, &proposal, a.client.output).await?;
        }
        ClusterCommand::Show(a) => {
            let mut client = intake(&a.client).await?;
            let proposal = client
                .get_clustering_proposal(pb::GetClusteringProposalRequest { id: a.proposal })
                .await
                .map_err(explain)?
                .into_inner()
                .proposal
                .ok_or("the service answered without the proposal")?;
            print_proposal(&mut client, &proposal, a.client.output).await?;
        }
        ClusterCommand::Accept(a) => {
            let mut client = intake(&a.client).await?;
            let response = client
                .accept_proposed_cluster(pb::AcceptProposedClusterRequest {
                    proposal_id: a.proposal,
                    cluster_id: a.cluster,
                    demand_ids: a.demands,
                    target_common_issue_id: a.into.unwrap_or_default(),
                    title: a.title,
                    category: a.category,
                    reason: a.reason,
                })
                .await
                .map_err(explain)?
                .into_inner();
            let issue = response.common_issue.ok_or("the service answered without the common issue")?;
            let cluster = response.cluster.ok_or("the service answered without the group")?;
            match a.client.output {
                Output::Json => println!(
                    "{}",
                    json!({
                        "common_issue": {"id": issue.id, "title": issue.title, "demand_ids": issue.demand_ids,
                                         "enterprise_count": issue.enterprise_count},
                        "cluster": {"id": cluster.id, "status": "CLUSTER_STATUS_ACCEPTED", "demand_ids": cluster.demand_ids},
                    })
                ),
                Output::Text => println!(
                    "第 {} 组已采纳 → 共性问题 {}  {}：{} 件诉求，涉及 {} 家企业",
                    cluster.id, issue.id, issue.title, issue.demand_count, issue.enterprise_count
                ),
            }
        }
        ClusterCommand::Reject(a) => {
            let mut client = intake(&a.client).await?;
            let cluster = client
                .reject_proposed_cluster(pb::RejectProposedClusterRequest {
                    proposal_id: a.proposal,
                    cluster_id: a.cluster,
                    reason: a.reason,
                })
                .await
                .map_err(explain)?
                .into_inner()
                .cluster
                .ok_or("the service answered without the group")?;
            match a.client.output {
                Output::Json => println!("{}", json!({"id": cluster.id, "status": "CLUSTER_STATUS_REJECTED"})),
                Output::Text => println!("第 {} 组已驳回，未合并任何诉求", cluster.id),
            }
        }
    }
    Ok(())
}
