//! `tingjian case …`: client commands for handling units and supervisors against a running suite — my
//! cases, one case with its history, accept, return, record progress, reply (with benefits), evaluate,
//! close, follow up a long-running case, what is due this quarter, compliance, and running the sweeps now.
//! Text output is for people (Chinese as stored, times in Beijing time), `-o json` for scripts.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use tingjian_proto::common::v1 as common;
use tingjian_proto::supervision::v1 as pb;
use tingjian_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tingjian_runtime::telemetry::ClientContext;
use tingjian_runtime::time::Period;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::client::{ClientArgs, Output, channel, explain, request_id};
use crate::consult::{beijing, parse_time};

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
type Supervision = SupervisionServiceClient<InterceptedService<Channel, ClientContext>>;

async fn supervision(args: &ClientArgs) -> BoxResult<Supervision> {
    let token =
        args.token.as_deref().ok_or("a token is needed: pass --token or set TINGJIAN_TOKEN (see `tingjian token`)")?;
    let context = ClientContext::with_token(token).map_err(|_| "the token is not valid ASCII")?;
    Ok(SupervisionServiceClient::with_interceptor(channel(args).await?, context))
}

/// `tingjian case …`
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// Dispatch a case (交办) to a lead unit, as staff or a supervisor.
    Dispatch(Box<DispatchArgs>),
    /// List cases: a handling unit's own (led or co-handled), or any unit's for staff and supervisors.
    Mine(MineArgs),
    /// Show a case with its history.
    Show(IdArgs),
    /// Accept a dispatched case (签收).
    Accept(NoteArgs),
    /// Return a dispatched case as wrongly assigned (退回), within 3 working days of dispatch.
    Return(ReasonArgs),
    /// Record progress (办理进展).
    Progress(TextArgs),
    /// Reply with a result class A/B/C/D (答复), optionally with benefits.
    Reply(ReplyArgs),
    /// Evaluate the reply as the enterprise or proposer (评价).
    Evaluate(EvaluateArgs),
    /// Close a replied or evaluated case (办结).
    Close(ReasonArgs),
    /// Record a follow-up of a case (跟踪监督).
    FollowUp(FollowUpArgs),
    /// What is due this quarter: open follow-up tasks of long-running cases and cases awaiting a reply.
    Due(DueArgs),
    /// Quarterly follow-up compliance of a case, a unit or all cases.
    Compliance(ComplianceArgs),
    /// Run the sweeps now: warnings, escalations, long-running cases, follow-up tasks and reminders.
    Sweep(SweepArgs),
}

/// What a case is created from, as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Source {
    /// A consultation suggestion (协商建议).
    Suggestion,
    /// A special report (专报).
    SpecialReport,
    /// A common issue (共性问题).
    CommonIssue,
    /// A single demand (诉求).
    Demand,
}

/// `tingjian case dispatch`
#[derive(Debug, Args)]
pub struct DispatchArgs {
    /// Title, e.g. 争取金融机构降低远洋渔业企业综合融资成本.
    #[arg(long)]
    title: String,
    /// What is assigned (交办内容).
    #[arg(long)]
    description: String,
    /// What it comes from.
    #[arg(long, value_enum)]
    source: Source,
    /// The source's id in its service.
    #[arg(long)]
    source_id: String,
    /// The lead unit as id:name, e.g. zs-jrb:舟山市人民政府金融工作办公室.
    #[arg(long, value_parser = parse_unit)]
    lead_unit: common::OrganisationRef,
    /// A co-handling unit as id:name; repeat for several.
    #[arg(long = "co-unit", value_parser = parse_unit)]
    co_units: Vec<common::OrganisationRef>,
    /// The unit head responsible (一把手) as id:name:title, e.g. zs-jrb-head:王建国:主任.
    #[arg(long, value_parser = parse_person)]
    head: common::PersonRef,
    /// Deadline in working days from dispatch.
    #[arg(long, default_value_t = 15)]
    working_days: i32,
    /// Planned completion date (YYYY-MM-DD); more than six months away makes it long-running.
    #[arg(long, value_parser = parse_date)]
    planned: Option<common::Date>,
    /// Subject of the enterprise user or proposer who evaluates the reply.
    #[arg(long, default_value = "")]
    evaluator: String,
    /// The enterprise concerned (intake id).
    #[arg(long, default_value = "")]
    enterprise: String,
    /// Flag it for discipline inspection (纪检监察).
    #[arg(long)]
    discipline_inspection: bool,
    /// Idempotency key.
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

fn parse_unit(raw: &str) -> Result<common::OrganisationRef, String> {
    let (id, name) = raw.split_once(':').ok_or_else(|| format!("{raw:?} is not id:name"))?;
    Ok(common::OrganisationRef {
        id: id.trim().into(),
        name: name.trim().into(),
        kind: common::OrganisationKind::HandlingUnit as i32,
    })
}

fn parse_person(raw: &str) -> Result<common::PersonRef, String> {
    let mut parts = raw.splitn(3, ':');
    let (Some(id), Some(name)) = (parts.next(), parts.next()) else {
        return Err(format!("{raw:?} is not id:name:title"));
    };
    Ok(common::PersonRef {
        id: id.trim().into(),
        display_name: name.trim().into(),
        title: parts.next().unwrap_or_default().trim().into(),
        organisation_id: String::new(),
    })
}

fn parse_date(raw: &str) -> Result<common::Date, String> {
    use chrono::Datelike as _;
    let d = chrono::NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| format!("{raw:?} is not YYYY-MM-DD"))?;
    Ok(common::Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 })
}

/// `tingjian case mine`
#[derive(Debug, Args)]
pub struct MineArgs {
    /// Only cases led (or co-handled) by this unit (organisation id); a handling unit sees only its own.
    #[arg(long, default_value = "")]
    unit: String,
    /// Only cases in this status; repeat for several.
    #[arg(long = "status", value_enum)]
    statuses: Vec<Status>,
    /// Only overdue cases.
    #[arg(long)]
    overdue: bool,
    /// Only long-running cases.
    #[arg(long)]
    long_running: bool,
    /// Most cases to show.
    #[arg(long, default_value_t = 50)]
    limit: i32,
    #[command(flatten)]
    client: ClientArgs,
}

/// Case statuses, as typed on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Status {
    /// 已交办.
    Dispatched,
    /// 已签收.
    Accepted,
    /// 已退回.
    Returned,
    /// 办理中.
    InProgress,
    /// 已答复.
    Replied,
    /// 已评价.
    Evaluated,
    /// 已办结.
    Closed,
}

impl Status {
    fn proto(self) -> pb::CaseStatus {
        match self {
            Self::Dispatched => pb::CaseStatus::Dispatched,
            Self::Accepted => pb::CaseStatus::Accepted,
            Self::Returned => pb::CaseStatus::Returned,
            Self::InProgress => pb::CaseStatus::InProgress,
            Self::Replied => pb::CaseStatus::Replied,
            Self::Evaluated => pb::CaseStatus::Evaluated,
            Self::Closed => pb::CaseStatus::Closed,
        }
    }
}

/// A case id.
#[derive(Debug, Args)]
pub struct IdArgs {
    /// The case's id.
    id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// A case id and an optional note.
#[derive(Debug, Args)]
pub struct NoteArgs {
    /// The case's id.
    id: String,
    /// Note.
    #[arg(long, default_value = "")]
    note: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// A case id and a reason.
#[derive(Debug, Args)]
pub struct ReasonArgs {
    /// The case's id.
    id: String,
    /// Why, e.g. 不属于本单位职责，建议交市交通运输局.
    #[arg(long, default_value = "")]
    reason: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// A case id and a text.
#[derive(Debug, Args)]
pub struct TextArgs {
    /// The case's id.
    id: String,
    /// What was done.
    #[arg(long)]
    text: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Result classes of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Class {
    /// A — solved (已解决).
    A,
    /// B — being solved (正在解决).
    B,
    /// C — planned (列入计划解决).
    C,
    /// D — cannot be solved for now (因条件限制暂不能解决); needs a reason.
    D,
}

/// `tingjian case reply`
#[derive(Debug, Args)]
pub struct ReplyArgs {
    /// The case's id.
    id: String,
    /// Result class.
    #[arg(long, value_enum)]
    class: Class,
    /// The reply's text (答复内容).
    #[arg(long)]
    text: String,
    /// Why it cannot be solved (class D), or the plan (B, C).
    #[arg(long, default_value = "")]
    reason: String,
    /// Interest reduced for the enterprise, in yuan (元), e.g. 19710000.
    #[arg(long)]
    interest_reduced: Option<f64>,
    /// Subsidy obtained, in yuan.
    #[arg(long)]
    subsidy: Option<f64>,
    /// Fees waived, in yuan.
    #[arg(long)]
    fee_waived: Option<f64>,
    /// Problems solved.
    #[arg(long)]
    problems_solved: Option<i32>,
    #[command(flatten)]
    client: ClientArgs,
}

/// Evaluations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Evaluation {
    /// 满意.
    Satisfied,
    /// 基本满意.
    Basically,
    /// 不满意 (reopens the case).
    Dissatisfied,
}

/// `tingjian case evaluate`
#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The case's id.
    id: String,
    /// The evaluation.
    #[arg(long, value_enum)]
    result: Evaluation,
    /// Comment (required when dissatisfied).
    #[arg(long, default_value = "")]
    comment: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// How a follow-up was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// 实地督查.
    OnSite,
    /// 会议督办.
    Meeting,
    /// 书面督办.
    Document,
    /// 电话督办.
    Phone,
}

/// `tingjian case follow-up`
#[derive(Debug, Args)]
pub struct FollowUpArgs {
    /// The case's id.
    id: String,
    /// How.
    #[arg(long, value_enum)]
    method: Method,
    /// What was found (督查发现).
    #[arg(long)]
    findings: String,
    /// Progress observed.
    #[arg(long, default_value = "")]
    progress: String,
    /// When, RFC 3339 or `YYYY-MM-DD HH:MM` in Beijing time; now when omitted.
    #[arg(long, value_parser = parse_time)]
    at: Option<DateTime<Utc>>,
    /// Supervisors who took part (their subjects); repeat for several.
    #[arg(long = "supervisor", required = true)]
    supervisors: Vec<String>,
    /// Idempotency key.
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian case due`
#[derive(Debug, Args)]
pub struct DueArgs {
    /// The quarter, e.g. 2026Q4; the current one (Beijing time) when omitted.
    #[arg(long, value_parser = parse_quarter)]
    quarter: Option<(i32, u32)>,
    /// Only cases led by this unit.
    #[arg(long, default_value = "")]
    unit: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian case compliance`
#[derive(Debug, Args)]
pub struct ComplianceArgs {
    /// One case.
    #[arg(long, default_value = "")]
    case: String,
    /// Cases led by this unit.
    #[arg(long, default_value = "")]
    unit: String,
    /// A quarter (2026Q3) or a year (2026); every quarter up to now when omitted.
    #[arg(long, value_parser = parse_period)]
    period: Option<common::Period>,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian case sweep`
#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(flatten)]
    client: ClientArgs,
}

/// `2026Q4` as (2026, 4).
fn parse_quarter(raw: &str) -> Result<(i32, u32), String> {
    let (year, quarter) = raw.split_once(['Q', 'q']).ok_or_else(|| format!("{raw:?} is not a quarter like 2026Q4"))?;
    let year: i32 = year.parse().map_err(|_| format!("{raw:?} is not a quarter like 2026Q4"))?;
    match quarter.parse::<u32>() {
        Ok(q @ 1..=4) => Ok((year, q)),
        _ => Err(format!("{raw:?} is not a quarter like 2026Q4")),
    }
}

/// `2026Q3` as a quarter, `2026` as a year.
fn parse_period(raw: &str) -> Result<common::Period, String> {
    if let Ok((year, number)) = parse_quarter(raw) {
        return Ok(common::Period { kind: common::PeriodKind::Quarter as i32, year, number: number as i32 });
    }
    match raw.parse::<i32>() {
        Ok(year) => Ok(common::Period { kind: common::PeriodKind::Year as i32, year, number: 0 }),
        Err(_) => Err(format!("{raw:?} is neither a quarter like 2026Q3 nor a year like 2026")),
    }
}

fn status_name(status: i32) -> &'static str {
    match pb::CaseStatus::try_from(status) {
        Ok(pb::CaseStatus::Dispatched) => "已交办",
        Ok(pb::CaseStatus::Accepted) => "已签收",
        Ok(pb::CaseStatus::Returned) => "已退回",
        Ok(pb::CaseStatus::InProgress) => "办理中",
        Ok(pb::CaseStatus::Replied) => "已答复",
        Ok(pb::CaseStatus::Evaluated) => "已评价",
        Ok(pb::CaseStatus::Closed) => "已办结",
        _ => "未知",
    }
}

fn class_name(class: i32) -> &'static str {
    match pb::ResultClass::try_from(class) {
        Ok(pb::ResultClass::A) => "A 已解决",
        Ok(pb::ResultClass::B) => "B 正在解决",
        Ok(pb::ResultClass::C) => "C 列入计划解决",
        Ok(pb::ResultClass::D) => "D 因条件限制暂不能解决",
        _ => "",
    }
}

fn warning_name(level: i32) -> &'static str {
    match pb::WarningLevel::try_from(level) {
        Ok(pb::WarningLevel::Half) => "黄灯",
        Ok(pb::WarningLevel::ThreeQuarters) => "橙灯",
        Ok(pb::WarningLevel::Due) => "红灯",
        _ => "",
    }
}

fn escalation_name(level: i32) -> &'static str {
    match pb::EscalationLevel::try_from(level) {
        Ok(pb::EscalationLevel::Unit) => "升级至一把手",
        Ok(pb::EscalationLevel::SupervisionOffice) => "升级至督查室",
        Ok(pb::EscalationLevel::DisciplineInspection) => "升级至纪检监察",
        _ => "",
    }
}

fn action_name(action: i32) -> &'static str {
    match pb::CaseAction::try_from(action) {
        Ok(pb::CaseAction::Dispatched) => "交办",
        Ok(pb::CaseAction::Accepted) => "签收",
        Ok(pb::CaseAction::Returned) => "退回",
        Ok(pb::CaseAction::Reassigned) => "改派",
        Ok(pb::CaseAction::Updated) => "修改",
        Ok(pb::CaseAction::ProgressRecorded) => "进展",
        Ok(pb::CaseAction::Replied) => "答复",
        Ok(pb::CaseAction::Evaluated) => "评价",
        Ok(pb::CaseAction::Reopened) => "重办",
        Ok(pb::CaseAction::Warned) => "预警",
        Ok(pb::CaseAction::Escalated) => "升级督办",
        Ok(pb::CaseAction::BecameLongRunning) => "跨度超过半年",
        Ok(pb::CaseAction::FollowUpReminded) => "跟踪提醒",
        Ok(pb::CaseAction::FollowedUp) => "跟踪监督",
        Ok(pb::CaseAction::QuarterMissed) => "漏督",
        Ok(pb::CaseAction::BenefitRecorded) => "成效",
        Ok(pb::CaseAction::Closed) => "办结",
        _ => "",
    }
}

fn task_status_name(status: i32) -> &'static str {
    match pb::FollowUpTaskStatus::try_from(status) {
        Ok(pb::FollowUpTaskStatus::Open) => "待跟踪",
        Ok(pb::FollowUpTaskStatus::Reminded) => "已提醒",
        Ok(pb::FollowUpTaskStatus::Done) => "已跟踪",
        Ok(pb::FollowUpTaskStatus::Missed) => "漏督",
        _ => "",
    }
}

fn case_json(c: &pb::Case) -> Value {
    json!({
        "id": c.id,
        "title": c.title,
        "status": pb::CaseStatus::try_from(c.status).map(|s| s.as_str_name()).unwrap_or_default(),
        "lead_unit": c.lead_unit.as_ref().map(|u| u.name.clone()).unwrap_or_default(),
        "dispatch_time": beijing(c.dispatch_time.as_ref()),
        "deadline_time": beijing(c.deadline_time.as_ref()),
        "overdue": c.overdue,
        "warning_level": c.warning_level,
        "escalation_level": c.escalation_level,
        "long_running": c.long_running,
        "result_class": c.reply.as_ref().map(|r| r.result_class).unwrap_or_default(),
        "etag": c.etag,
    })
}

/// One line of a case for people.
fn case_line(c: &pb::Case) -> String {
    let unit = c.lead_unit.as_ref().map(|u| u.name.as_str()).unwrap_or_default();
    let mut marks = Vec::new();
    if c.overdue {
        marks.push("超期".to_owned());
    }
    for mark in [warning_name(c.warning_level), escalation_name(c.escalation_level)] {
        if !mark.is_empty() {
            marks.push(mark.to_owned());
        }
    }
    if c.long_running {
        marks.push("跨度超半年".to_owned());
    }
    let marks = if marks.is_empty() { String::new() } else { format!("  [{}]", marks.join("，")) };
    format!(
        "{}  {}  {}  时限 {}  {}{}",
        c.id,
        status_name(c.status),
        c.title,
        beijing(c.deadline_time.as_ref()),
        unit,
        marks
    )
}

fn print_case(output: Output, verb: &str, c: &pb::Case) {
    match output {
        Output::Json => println!("{}", case_json(c)),
        Output::Text => println!("{verb}：{}", case_line(c)),
    }
}

/// Runs a `tingjian case` command.
pub async fn case(command: CaseCommand) -> BoxResult<()> {
    match command {
        CaseCommand::Dispatch(a) => dispatch(*a).await,
        CaseCommand::Mine(a) => mine(a).await,
        CaseCommand::Show(a) => show(a).await,
        CaseCommand::Accept(a) => {
            let mut client = supervision(&a.client).await?;
            let request = pb::AcceptCaseRequest { id: a.id, note: a.note, etag: String::new() };
            let case = client.accept_case(request).await.map_err(explain)?.into_inner().case.ok_or("no case")?;
            print_case(a.client.output, "已签收", &case);
            Ok(())
        }
        CaseCommand::Return(a) => {
            let mut client = supervision(&a.client).await?;
            let request = pb::ReturnCaseRequest { id: a.id, reason: a.reason, ..Default::default() };
            let case = client.return_case(request).await.map_err(explain)?.into_inner().case.ok_or("no case")?;
            print_case(a.client.output, "已退回", &case);
            Ok(())
        }
        CaseCommand::Progress(a) => {
            let mut client = supervision(&a.client).await?;
            let request = pb::RecordProgressRequest { id: a.id, text: a.text, etag: String::new() };
            let case = client.record_progress(request).await.map_err(explain)?.into_inner().case.ok_or("no case")?;
            print_case(a.client.output, "已记录进展", &case);
            Ok(())
        }
        CaseCommand::Reply(a) => reply(a).await,
        CaseCommand::Evaluate(a) => evaluate(a).await,
        CaseCommand::Close(a) => {
            let mut client = supervision(&a.client).await?;
            let request = pb::CloseCaseRequest { id: a.id, reason: a.reason, etag: String::new() };
            let case = client.close_case(request).await.map_err(explain)?.into_inner().case.ok_or("no case")?;
            print_case(a.client.output, "已办结", &case);
            Ok(())
        }
        CaseCommand::FollowUp(a) => follow_up(a).await,
        CaseCommand::Due(a) => due(a).await,
        CaseCommand::Compliance(a) => compliance(a).await,
        CaseCommand::Sweep(a) => sweep(a).await,
    }
}

async fn dispatch(a: DispatchArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let kind = match a.source {
        Source::Suggestion => pb::CaseSourceKind::Suggestion,
        Source::SpecialReport => pb::CaseSourceKind::SpecialReport,
        Source::CommonIssue => pb::CaseSourceKind::CommonIssue,
        Source::Demand => pb::CaseSourceKind::Demand,
    };
    let mut head = a.head;
    head.organisation_id = a.lead_unit.id.clone();
    let case = pb::Case {
        title: a.title.clone(),
        description: a.description,
        source: Some(pb::CaseSource { kind: kind as i32, source_id: a.source_id, source_title: a.title }),
        lead_unit: Some(a.lead_unit),
        co_units: a.co_units,
        responsible_head: Some(head),
        planned_completion_date: a.planned,
        discipline_inspection: a.discipline_inspection,
        evaluator_id: a.evaluator,
        enterprise_id: a.enterprise,
        ..Default::default()
    };
    let request = pb::CreateCaseRequest {
        case: Some(case),
        request_id: request_id(a.request_id),
        deadline_working_days: a.working_days,
    };
    let response = client.create_case(request).await.map_err(explain)?.into_inner();
    let case = response.case.ok_or("the service answered without the case")?;
    let verb = if response.newly_created { "已交办" } else { "该来源已有交办单" };
    print_case(a.client.output, verb, &case);
    Ok(())
}

async fn mine(a: MineArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let request = pb::ListCasesRequest {
        statuses: a.statuses.iter().map(|s| s.proto() as i32).collect(),
        include_co_units: !a.unit.is_empty(),
        unit_id: a.unit,
        overdue_only: a.overdue,
        long_running_only: a.long_running,
        page_size: a.limit.clamp(1, 500),
        ..Default::default()
    };
    let response = client.list_cases(request).await.map_err(explain)?.into_inner();
    match a.client.output {
        Output::Json => {
            let cases: Vec<Value> = response.cases.iter().map(case_json).collect();
            println!("{}", json!({"total": response.total_size, "cases": cases}));
        }
        Output::Text => {
            println!("共 {} 件", response.total_size);
            for c in &response.cases {
                println!("{}", case_line(c));
            }
        }
    }
    Ok(())
}

async fn show(a: IdArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let case = client
        .get_case(pb::GetCaseRequest { id: a.id.clone() })
        .await
        .map_err(explain)?
        .into_inner()
        .case
        .ok_or("the service answered without the case")?;
    let request = pb::ListCaseHistoryRequest { case_id: a.id, page_size: 500, page_token: String::new() };
    let history = client.list_case_history(request).await.map_err(explain)?.into_inner().entries;
    match a.client.output {
        Output::Json => {
            let entries: Vec<Value> = history
                .iter()
                .map(|e| {
                    json!({
                        "sequence": e.sequence,
                        "action": pb::CaseAction::try_from(e.action).map(|x| x.as_str_name()).unwrap_or_default(),
                        "actor": e.actor,
                        "time": beijing(e.time.as_ref()),
                        "reason": e.reason,
                        "text": e.text,
                    })
                })
                .collect();
            println!("{}", json!({"case": case_json(&case), "history": entries}));
        }
        Output::Text => {
            println!("{}", case_line(&case));
            println!(
                "交办 {}  退回期限 {}",
                beijing(case.dispatch_time.as_ref()),
                beijing(case.return_deadline_time.as_ref())
            );
            if let Some(reply) = &case.reply {
                println!("答复（{}）：{}", class_name(reply.result_class), reply.text);
            }
            for e in &history {
                let detail =
                    [e.reason.as_str(), e.text.as_str()].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>();
                println!(
                    "  {:>3}. {}  {}  {}  {}",
                    e.sequence,
                    beijing(e.time.as_ref()),
                    action_name(e.action),
                    e.actor,
                    detail.join("；")
                );
            }
        }
    }
    Ok(())
}

/// Yuan as integer fen; `None` when not given.
fn fen(yuan: Option<f64>) -> BoxResult<Option<i64>> {
    match yuan {
        None => Ok(None),
        Some(y) if y.is_finite() && y > 0.0 && y < 1e15 => Ok(Some((y * 100.0).round() as i64)),
        Some(y) => Err(format!("{y} is not a positive amount of yuan").into()),
    }
}

async fn reply(a: ReplyArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let class = match a.class {
        Class::A => pb::ResultClass::A,
        Class::B => pb::ResultClass::B,
        Class::C => pb::ResultClass::C,
        Class::D => pb::ResultClass::D,
    };
    let money = |kind: pb::BenefitKind, fen: i64| pb::Benefit {
        kind: kind as i32,
        amount: Some(common::Money { currency_code: "CNY".into(), minor_units: fen }),
        ..Default::default()
    };
    let mut benefits = Vec::new();
    if let Some(f) = fen(a.interest_reduced)? {
        benefits.push(money(pb::BenefitKind::InterestReduced, f));
    }
    if let Some(f) = fen(a.subsidy)? {
        benefits.push(money(pb::BenefitKind::Subsidy, f));
    }
    if let Some(f) = fen(a.fee_waived)? {
        benefits.push(money(pb::BenefitKind::FeeWaived, f));
    }
    if let Some(n) = a.problems_solved {
        benefits.push(pb::Benefit {
            kind: pb::BenefitKind::ProblemSolved as i32,
            problems_solved: n,
            ..Default::default()
        });
    }
    let request = pb::ReplyToCaseRequest {
        id: a.id,
        reply: Some(pb::CaseReply { result_class: class as i32, text: a.text, reason: a.reason, ..Default::default() }),
        benefits,
        etag: String::new(),
    };
    let response = client.reply_to_case(request).await.map_err(explain)?.into_inner();
    let case = response.case.ok_or("the service answered without the case")?;
    match a.client.output {
        Output::Json => println!("{}", json!({"case": case_json(&case), "benefits": response.benefits.len()})),
        Output::Text => {
            let on_time = if case.reply.as_ref().is_some_and(|r| r.on_time) { "按期" } else { "超期" };
            println!("已答复（{}，{on_time}）：{}", class_name(class as i32), case_line(&case));
            for b in &response.benefits {
                let amount = b.amount.as_ref().map_or(0, |m| m.minor_units);
                println!("  成效 {}  {:.2} 元  解决问题 {} 个", b.id, amount as f64 / 100.0, b.problems_solved);
            }
        }
    }
    Ok(())
}

async fn evaluate(a: EvaluateArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let result = match a.result {
        Evaluation::Satisfied => pb::EvaluationResult::Satisfied,
        Evaluation::Basically => pb::EvaluationResult::BasicallySatisfied,
        Evaluation::Dissatisfied => pb::EvaluationResult::Dissatisfied,
    };
    let request = pb::EvaluateCaseRequest {
        id: a.id,
        evaluation: Some(pb::CaseEvaluation { result: result as i32, comment: a.comment, ..Default::default() }),
        etag: String::new(),
    };
    let response = client.evaluate_case(request).await.map_err(explain)?.into_inner();
    let case = response.case.ok_or("the service answered without the case")?;
    match a.client.output {
        Output::Json => {
            println!(
                "{}",
                json!({"case": case_json(&case), "reopened": response.reopened, "escalated": response.escalated})
            )
        }
        Output::Text => {
            let verb = match (response.reopened, response.escalated) {
                (true, true) => "不满意，已重办并升级督办",
                (true, false) => "不满意，已重办",
                _ => "已评价",
            };
            print_case(Output::Text, verb, &case);
        }
    }
    Ok(())
}

async fn follow_up(a: FollowUpArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let method = match a.method {
        Method::OnSite => pb::FollowUpMethod::OnSite,
        Method::Meeting => pb::FollowUpMethod::Meeting,
        Method::Document => pb::FollowUpMethod::Document,
        Method::Phone => pb::FollowUpMethod::Phone,
    };
    let at = a.at.unwrap_or_else(Utc::now);
    let request = pb::RecordFollowUpRequest {
        case_id: a.id,
        follow_up: Some(pb::FollowUp {
            method: method as i32,
            follow_time: Some(tingjian_runtime::wire::timestamp(at)),
            supervisor_ids: a.supervisors,
            findings: a.findings,
            progress: a.progress,
            ..Default::default()
        }),
        request_id: request_id(a.request_id),
    };
    let response = client.record_follow_up(request).await.map_err(explain)?.into_inner();
    let follow = response.follow_up.ok_or("the service answered without the follow-up")?;
    match a.client.output {
        Output::Json => println!(
            "{}",
            json!({"id": follow.id, "case_id": follow.case_id, "task": response.task.map(|t| t.id).unwrap_or_default()})
        ),
        Output::Text => {
            let quarter = follow.quarter.map(|q| format!("{}年第{}季度", q.year, q.number)).unwrap_or_default();
            println!("已记录跟踪监督 {}（{quarter}，{}）", follow.id, beijing(follow.follow_time.as_ref()));
            if let Some(task) = response.task {
                println!("  本季度跟踪任务 {}：{}", task.id, task_status_name(task.status));
            }
        }
    }
    Ok(())
}

async fn due(a: DueArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let (year, number) = match a.quarter {
        Some(q) => q,
        None => {
            let current = Period::quarter_of(Utc::now());
            (current.year(), current.number())
        }
    };
    let quarter = common::Period { kind: common::PeriodKind::Quarter as i32, year, number: number as i32 };
    let tasks = client
        .list_follow_up_tasks(pb::ListFollowUpTasksRequest {
            quarter: Some(quarter),
            statuses: vec![pb::FollowUpTaskStatus::Open as i32, pb::FollowUpTaskStatus::Reminded as i32],
            unit_id: a.unit.clone(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .map_err(explain)?
        .into_inner()
        .tasks;
    let awaiting = [pb::CaseStatus::Dispatched, pb::CaseStatus::Accepted, pb::CaseStatus::InProgress];
    let quarter_end = Period::new(tingjian_runtime::time::PeriodKind::Quarter, year, number, "quarter")
        .map_err(|v| v.description)?
        .utc_range()
        .1;
    let cases = client
        .list_cases(pb::ListCasesRequest {
            statuses: awaiting.iter().map(|s| *s as i32).collect(),
            unit_id: a.unit,
            page_size: 500,
            ..Default::default()
        })
        .await
        .map_err(explain)?
        .into_inner()
        .cases;
    let due_cases: Vec<&pb::Case> = cases
        .iter()
        .filter(|c| c.deadline_time.as_ref().is_some_and(|t| t.seconds < quarter_end.timestamp()))
        .collect();
    match a.client.output {
        Output::Json => {
            let tasks: Vec<Value> = tasks
                .iter()
                .map(|t| json!({"id": t.id, "case_id": t.case_id, "case_title": t.case_title, "status": t.status, "due_time": beijing(t.due_time.as_ref())}))
                .collect();
            let cases: Vec<Value> = due_cases.iter().map(|c| case_json(c)).collect();
            println!("{}", json!({"year": year, "quarter": number, "follow_up_tasks": tasks, "cases_due": cases}));
        }
        Output::Text => {
            println!("{year}年第{number}季度");
            println!("待跟踪监督的长期事项（{} 件）：", tasks.len());
            for t in &tasks {
                let unit = t.lead_unit.as_ref().map(|u| u.name.as_str()).unwrap_or_default();
                println!(
                    "  {}  {}  截止 {}  {}  {}",
                    t.case_id,
                    task_status_name(t.status),
                    beijing(t.due_time.as_ref()),
                    t.case_title,
                    unit
                );
            }
            println!("本季度到期待答复的事项（{} 件）：", due_cases.len());
            for c in due_cases {
                println!("  {}", case_line(c));
            }
        }
    }
    Ok(())
}

async fn compliance(a: ComplianceArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let request = pb::GetComplianceRequest {
        case_id: a.case,
        unit_id: a.unit,
        period: a.period,
        page_size: 50,
        page_token: String::new(),
    };
    let response = client.get_compliance(request).await.map_err(explain)?.into_inner();
    let summary = response.summary.unwrap_or_default();
    let rate = summary.rate.unwrap_or_default();
    match a.client.output {
        Output::Json => println!(
            "{}",
            json!({
                "case_count": summary.case_count,
                "quarters_required": summary.quarters_required,
                "quarters_followed": summary.quarters_followed,
                "quarters_missed": summary.quarters_missed,
                "quarters_pending": summary.quarters_pending,
                "rate": rate.value,
            })
        ),
        Output::Text => {
            println!(
                "季度跟踪监督达标率 {:.1}%（{}/{}），长期事项 {} 件，漏督 {} 个季度，本季度待跟踪 {} 个",
                rate.value * 100.0,
                rate.numerator,
                rate.denominator,
                summary.case_count,
                summary.quarters_missed,
                summary.quarters_pending
            );
            for c in &response.cases {
                let r = c.rate.unwrap_or_default();
                println!(
                    "  {}  {:.1}%（{}/{}）  {}",
                    c.case_id,
                    r.value * 100.0,
                    r.numerator,
                    r.denominator,
                    c.case_title
                );
            }
        }
    }
    Ok(())
}

async fn sweep(a: SweepArgs) -> BoxResult<()> {
    let mut client = supervision(&a.client).await?;
    let report = client
        .run_sweep(pb::RunSweepRequest::default())
        .await
        .map_err(explain)?
        .into_inner()
        .report
        .ok_or("the service answered without a report")?;
    match a.client.output {
        Output::Json => println!(
            "{}",
            json!({
                "items_examined": report.items_examined,
                "warnings_raised": report.warnings_raised,
                "escalations": report.escalations,
                "long_running_marked": report.long_running_marked,
                "tasks_created": report.tasks_created,
                "reminders_sent": report.reminders_sent,
                "quarters_missed": report.quarters_missed,
                "rectifications_overdue": report.rectifications_overdue,
            })
        ),
        Output::Text => println!(
            "检查到期事项 {} 件：预警 {}，升级 {}，新增长期事项 {}，跟踪任务 {}，提醒 {}，漏督 {}，整改超期 {}",
            report.items_examined,
            report.warnings_raised,
            report.escalations,
            report.long_running_marked,
            report.tasks_created,
            report.reminders_sent,
            report.quarters_missed,
            report.rectifications_overdue
        ),
    }
    Ok(())
}
