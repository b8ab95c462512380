//! Client commands for the everyday work of the intake service against a running suite: register an
//! enterprise, submit a demand, show an enterprise's list (一企一清单), merge demands into a common
//! issue (合并同类项). Text output is for people (Chinese as it is stored), `-o json` for scripts.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use tingjian_proto::intake::v1 as pb;
use tingjian_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tingjian_runtime::telemetry::ClientContext;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Where and as whom a client command calls.
#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Address of the suite or service.
    #[arg(long, env = "TINGJIAN_ADDR", default_value = crate::DEFAULT_ADDR)]
    pub addr: String,
    /// Bearer token (see `tingjian token`).
    #[arg(long, env = "TINGJIAN_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Readable text.
    Text,
    /// JSON, for scripts.
    Json,
}

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
pub(crate) type Intake = IntakeServiceClient<InterceptedService<Channel, ClientContext>>;

/// Connects to `args.addr`.
pub async fn channel(args: &ClientArgs) -> BoxResult<Channel> {
    let endpoint = if args.addr.starts_with("http://") || args.addr.starts_with("https://") {
        args.addr.clone()
    } else {
        format!("http://{}", args.addr)
    };
    tonic::transport::Endpoint::from_shared(endpoint)?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| format!("cannot reach {}: {e}", args.addr).into())
}

pub(crate) async fn intake(args: &ClientArgs) -> BoxResult<Intake> {
    let token =
        args.token.as_deref().ok_or("a token is needed: pass --token or set TINGJIAN_TOKEN (see `tingjian token`)")?;
    let context = ClientContext::with_token(token).map_err(|_| "the token is not valid ASCII")?;
    Ok(IntakeServiceClient::with_interceptor(channel(args).await?, context))
}

/// The request id given, or a fresh one: the same command repeated with `--request-id` acts once.
pub(crate) fn request_id(given: String) -> String {
    if given.is_empty() { tingjian_runtime::wire::new_id() } else { given }
}

/// Turns a refused call into a readable error: the code, the message and each offending field.
pub(crate) fn explain(status: tonic::Status) -> Box<dyn std::error::Error + Send + Sync> {
    use tonic_types::StatusExt;
    match status.get_error_details().bad_request() {
        Some(bad) if !bad.field_violations.is_empty() => {
            let mut text = format!("{:?}:", status.code());
            for v in &bad.field_violations {
                text.push_str(&format!("\n  {}: {}", v.field, v.description));
            }
            text.into()
        }
        _ => format!("{:?}: {}", status.code(), status.message()).into(),
    }
}

/// `tingjian enterprise …`
#[derive(Debug, Subcommand)]
pub enum EnterpriseCommand {
    /// Register an enterprise.
    Register(RegisterArgs),
    /// List enterprises.
    List(ListEnterprisesArgs),
}

/// `tingjian enterprise register`
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// Registered name, e.g. 舟山市海之味远洋渔业有限公司.
    #[arg(long)]
    name: String,
    /// Unified social credit code (统一社会信用代码).
    #[arg(long)]
    credit_code: String,
    /// District code or name, e.g. putuo or 普陀区.
    #[arg(long)]
    district: String,
    /// Industry code or name, e.g. ocean_fishing or 远洋渔业.
    #[arg(long)]
    industry: String,
    /// Size class.
    #[arg(long, value_enum, default_value_t = Size::Small)]
    size: Size,
    /// A business-environment monitoring point (营商环境监测点).
    #[arg(long)]
    monitoring_point: bool,
    /// Address.
    #[arg(long, default_value = "")]
    address: String,
    /// Request id: repeating the command with the same id registers once (default: a new id).
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Size classes.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Size {
    Micro,
    Small,
    Medium,
    Large,
}

/// `tingjian enterprise list`
#[derive(Debug, Args)]
pub struct ListEnterprisesArgs {
    /// District code or name.
    #[arg(long, default_value = "")]
    district: String,
    /// Industry code or name.
    #[arg(long, default_value = "")]
    industry: String,
    /// Part of the name, e.g. 渔业.
    #[arg(long, default_value = "")]
    name: String,
    /// Largest number of enterprises to show.
    #[arg(long, default_value_t = 50)]
    limit: i32,
    #[command(flatten)]
    client: ClientArgs,
}

/// Runs `tingjian enterprise …`.
pub async fn enterprise(command: EnterpriseCommand) -> BoxResult<()> {
    match command {
        EnterpriseCommand::Register(a) => {
            let mut client = intake(&a.client).await?;
            let size = match a.size {
                Size::Micro => pb::EnterpriseSize::Micro,
                Size::Small => pb::EnterpriseSize::Small,
                Size::Medium => pb::EnterpriseSize::Medium,
                Size::Large => pb::EnterpriseSize::Large,
            };
            let enterprise = client
                .create_enterprise(pb::CreateEnterpriseRequest {
                    enterprise: Some(pb::Enterprise {
                        name: a.name,
                        credit_code: a.credit_code,
                        district: a.district,
                        industry: a.industry,
                        size: size as i32,
                        monitoring_point: a.monitoring_point,
                        address: a.address,
                        ..Default::default()
                    }),
                    request_id: request_id(a.request_id),
                })
                .await
                .map_err(explain)?
                .into_inner()
                .enterprise
                .ok_or("the service answered without the enterprise")?;
            print_enterprises(a.client.output, &[enterprise]);
        }
        EnterpriseCommand::List(a) => {
            let mut client = intake(&a.client).await?;
            let page = client
                .list_enterprises(pb::ListEnterprisesRequest {
                    district: a.district,
                    industry: a.industry,
                    name_query: a.name,
                    page_size: a.limit,
                    ..Default::default()
                })
                .await
                .map_err(explain)?
                .into_inner();
            print_enterprises(a.client.output, &page.enterprises);
        }
    }
    Ok(())
}

fn enterprise_json(e: &pb::Enterprise) -> Value {
    json!({
        "id": e.id, "name": e.name, "credit_code": e.credit_code, "district": e.district,
        "industry": e.industry, "monitoring_point": e.monitoring_point, "etag": e.etag,
    })
}

fn print_enterprises(output: Output, enterprises: &[pb::Enterprise]) {
    match output {
        Output::Json => println!("{}", Value::Array(enterprises.iter().map(enterprise_json).collect())),
        Output::Text if enterprises.is_empty() => println!("（无）"),
        Output::Text => {
            for e in enterprises {
                let point = if e.monitoring_point { "  营商环境监测点" } else { "" };
                println!("{}  {}  {}  {} / {}{}", e.id, e.name, e.credit_code, e.district, e.industry, point);
            }
        }
    }
}

/// `tingjian demand …`
#[derive(Debug, Subcommand)]
pub enum DemandCommand {
    /// Submit a demand (诉求) of an enterprise.
    Submit(SubmitArgs),
}

/// `tingjian demand submit`
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The enterprise's id.
    #[arg(long)]
    enterprise: String,
    /// Short title, e.g. 远洋渔业企业综合融资成本偏高.
    #[arg(long)]
    title: String,
    /// Full text as the enterprise put it.
    #[arg(long)]
    text: String,
    /// Category code or name, e.g. finance_credit or 金融信贷.
    #[arg(long)]
    category: String,
    /// How it came in.
    #[arg(long, value_enum, default_value_t = ChannelArg::Visit)]
    channel: ChannelArg,
    /// Difficulty tag (高频事, 难心事, 操心事); repeat for several.
    #[arg(long = "tag", value_parser = parse_tag)]
    tags: Vec<pb::DifficultyTag>,
    /// Request id: repeating the command with the same id submits once (default: a new id).
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Demand channels.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum ChannelArg {
    Visit,
    Phone,
    Online,
    MonitoringPoint,
    Roundtable,
    Campaign,
    App,
}

fn parse_tag(s: &str) -> Result<pb::DifficultyTag, String> {
    match s {
        "高频事" | "high_frequency" => Ok(pb::DifficultyTag::HighFrequency),
        "难心事" | "difficult" => Ok(pb::DifficultyTag::Difficult),
        "操心事" | "worrying" => Ok(pb::DifficultyTag::Worrying),
        _ => Err(format!("unknown tag {s:?}: expected 高频事, 难心事 or 操心事")),
    }
}

fn tag_name(tag: i32) -> &'static str {
    match pb::DifficultyTag::try_from(tag) {
        Ok(pb::DifficultyTag::HighFrequency) => "高频事",
        Ok(pb::DifficultyTag::Difficult) => "难心事",
        Ok(pb::DifficultyTag::Worrying) => "操心事",
        _ => "?",
    }
}

fn status_name(status: i32) -> &'static str {
    match pb::DemandStatus::try_from(status) {
        Ok(pb::DemandStatus::Submitted) => "已提交",
        Ok(pb::DemandStatus::Accepted) => "已受理",
        Ok(pb::DemandStatus::InProgress) => "办理中",
        Ok(pb::DemandStatus::Replied) => "已答复",
        Ok(pb::DemandStatus::Resolved) => "已解决",
        Ok(pb::DemandStatus::Closed) => "已办结",
        Ok(pb::DemandStatus::Rejected) => "不予受理",
        Ok(pb::DemandStatus::Withdrawn) => "已撤回",
        _ => "?",
    }
}

fn demand_json(d: &pb::Demand) -> Value {
    json!({
        "id": d.id, "enterprise_id": d.enterprise_id, "title": d.title, "category": d.category,
        "status": pb::DemandStatus::try_from(d.status).map(|s| s.as_str_name()).unwrap_or("?"),
        "tags": d.difficulty_tags.iter().map(|t| tag_name(*t)).collect::<Vec<_>>(),
        "common_issue_id": d.common_issue_id, "etag": d.etag,
    })
}

fn demand_line(d: &pb::Demand) -> String {
    let tags: Vec<&str> = d.difficulty_tags.iter().map(|t| tag_name(*t)).collect();
    let tags = if tags.is_empty() { String::new() } else { format!("  [{}]", tags.join("、")) };
    let merged =
        if d.common_issue_id.is_empty() { String::new() } else { format!("  → 共性问题 {}", d.common_issue_id) };
    format!("{}  {}  {}  {}{}{}", d.id, status_name(d.status), d.category, d.title, tags, merged)
}

/// Runs `tingjian demand …`.
pub async fn demand(command: DemandCommand) -> BoxResult<()> {
    match command {
        DemandCommand::Submit(a) => {
            let mut client = intake(&a.client).await?;
            let channel = match a.channel {
                ChannelArg::Visit => pb::DemandChannel::Visit,
                ChannelArg::Phone => pb::DemandChannel::Phone,
                ChannelArg::Online => pb::DemandChannel::Online,
                ChannelArg::MonitoringPoint => pb::DemandChannel::MonitoringPoint,
                ChannelArg::Roundtable => pb::DemandChannel::Roundtable,
                ChannelArg::Campaign => pb::DemandChannel::Campaign,
                ChannelArg::App => pb::DemandChannel::App,
            };
            let response = client
                .submit_demand(pb::SubmitDemandRequest {
                    demand: Some(pb::Demand {
                        enterprise_id: a.enterprise,
                        title: a.title,
                        text: a.text,
                        category: a.category,
                        channel: channel as i32,
                        difficulty_tags: a.tags.iter().map(|t| *t as i32).collect(),
                        ..Default::default()
                    }),
                    request_id: request_id(a.request_id),
                    similar_limit: 5,
                })
                .await
                .map_err(explain)?
                .into_inner();
            let demand = response.demand.ok_or("the service answered without the demand")?;
            match a.client.output {
                Output::Json => {
                    let mut value = demand_json(&demand);
                    value["similar"] = Value::Array(response.similar.iter().map(crate::similar::match_json).collect());
                    println!("{value}");
                }
                Output::Text => {
                    println!("{}", demand_line(&demand));
                    if !response.similar.is_empty() {
                        println!("可能重复的诉求和共性问题（可用 tingjian merge 或 tingjian cluster 合并同类项）：");
                        for line in crate::similar::match_lines(&response.similar) {
                            println!("  {line}");
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// `tingjian list`: one enterprise, one list (一企一清单).
#[derive(Debug, Args)]
pub struct EnterpriseListArgs {
    /// The enterprise's id.
    enterprise: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Runs `tingjian list`.
pub async fn enterprise_list(a: EnterpriseListArgs) -> BoxResult<()> {
    let mut client = intake(&a.client).await?;
    let list = client
        .get_enterprise_demand_list(pb::GetEnterpriseDemandListRequest {
            enterprise_id: a.enterprise,
            max_per_group: 0,
        })
        .await
        .map_err(explain)?
        .into_inner()
        .demand_list
        .ok_or("the service answered without the list")?;
    match a.client.output {
        Output::Json => {
            let groups: Vec<Value> = list
                .groups
                .iter()
                .map(|g| {
                    json!({
                        "status": pb::DemandStatus::try_from(g.status).map(|s| s.as_str_name()).unwrap_or("?"),
                        "count": g.count,
                        "demands": g.demands.iter().map(demand_json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            println!(
                "{}",
                json!({
                    "enterprise_id": list.enterprise_id, "enterprise_name": list.enterprise_name,
                    "total_count": list.total_count, "open_count": list.open_count,
                    "oldest_open_age_days": list.oldest_open_age_days, "groups": groups,
                })
            );
        }
        Output::Text => {
            println!(
                "一企一清单：{}（共 {} 件，未办结 {} 件）",
                list.enterprise_name, list.total_count, list.open_count
            );
            if list.open_count > 0 {
                println!("最早未办结诉求已 {} 天", list.oldest_open_age_days);
            }
            for group in &list.groups {
                println!("\n{}（{}）", status_name(group.status), group.count);
                for d in &group.demands {
                    println!("  {}", demand_line(d));
                }
            }
        }
    }
    Ok(())
}

/// `tingjian merge`: merge demands into a new common issue (合并同类项).
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Title of the common issue, e.g. 远洋渔业企业融资成本偏高.
    #[arg(long)]
    title: String,
    /// Why these demands are the same issue (kept in the history).
    #[arg(long)]
    reason: String,
    /// Category code or name of the issue, e.g. finance_credit or 金融信贷.
    #[arg(long)]
    category: String,
    /// Description.
    #[arg(long, default_value = "")]
    description: String,
    /// Ids of the demands to merge.
    #[arg(required = true, num_args = 1..)]
    demands: Vec<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// Runs `tingjian merge`.
pub async fn merge(a: MergeArgs) -> BoxResult<()> {
    let mut client = intake(&a.client).await?;
    let issue = client
        .create_common_issue(pb::CreateCommonIssueRequest {
            common_issue: Some(pb::CommonIssue {
                title: a.title,
                description: a.description,
                category: a.category,
                ..Default::default()
            }),
            demand_ids: a.demands,
            reason: a.reason,
            request_id: request_id(String::new()),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .common_issue
        .ok_or("the service answered without the common issue")?;
    match a.client.output {
        Output::Json => println!(
            "{}",
            json!({
                "id": issue.id, "title": issue.title, "demand_ids": issue.demand_ids,
                "demand_count": issue.demand_count, "enterprise_count": issue.enterprise_count,
            })
        ),
        Output::Text => println!(
            "共性问题 {}  {}：{} 件诉求，涉及 {} 家企业",
            issue.id, issue.title, issue.demand_count, issue.enterprise_count
        ),
    }
    Ok(())
}
