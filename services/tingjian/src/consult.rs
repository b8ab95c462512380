//! `tingjian consult …`: client commands for the everyday work of consultation against a running suite —
//! plan a topic from common issues, propose and accept invitees by the stakeholder principle, run a
//! session and record what is said (问、答、辩), close it, and draft and submit suggestions. Text output is
//! for people (Chinese as stored), `-o json` for scripts.

use chrono::{DateTime, NaiveDateTime, TimeZone as _, Utc};
use clap::{Args, Subcommand, ValueEnum};
use serde_json::{Value, json};
use tingjian_proto::common::v1 as common;
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use tingjian_runtime::telemetry::ClientContext;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::client::{ClientArgs, Output, channel, explain, request_id};

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
type Consultation = ConsultationServiceClient<InterceptedService<Channel, ClientContext>>;

async fn consultation(args: &ClientArgs) -> BoxResult<Consultation> {
    let token =
        args.token.as_deref().ok_or("a token is needed: pass --token or set TINGJIAN_TOKEN (see `tingjian token`)")?;
    let context = ClientContext::with_token(token).map_err(|_| "the token is not valid ASCII")?;
    Ok(ConsultationServiceClient::with_interceptor(channel(args).await?, context))
}

/// `tingjian consult …`
#[derive(Debug, Subcommand)]
pub enum ConsultCommand {
    /// Create the year's plan of major consultations (年度重大协商计划).
    Plan(PlanArgs),
    /// Add a topic (议题) drawn from common issues to a plan, and optionally adopt it.
    Topic(TopicArgs),
    /// Propose invitees for a topic by the stakeholder principle (利益涉及谁就和谁商量) and show them.
    Invite(InviteArgs),
    /// Accept proposed invitations.
    Accept(AcceptArgs),
    /// Schedule a session (协商活动) on a topic, with the accepted invitees as participants.
    Session(SessionArgs),
    /// Add a participant to a session.
    Join(JoinArgs),
    /// Record what a participant said: a statement, question, answer or rebuttal (问、答、辩).
    Say(SayArgs),
    /// Show a session: participants, contributions in order and the share of questions, answers and
    /// rebuttals.
    Show(ShowArgs),
    /// Close a session with minutes, attendance and conclusions.
    Close(CloseArgs),
    /// Draft a suggestion (协商建议) from a session or topic, and optionally submit it.
    Suggest(SuggestArgs),
}

/// `tingjian consult plan`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The plan's year, e.g. 2026.
    #[arg(long)]
    year: i32,
    /// Title, e.g. 2026年度市委市政府市政协重大协商计划.
    #[arg(long)]
    title: String,
    /// Description.
    #[arg(long, default_value = "")]
    description: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// The three formats of consultation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Face-to-face (面对面) with the party secretary or the mayor.
    FaceToFace,
    /// Interactive (心贴心), in the members' living room.
    Interactive,
    /// Online (键对键), on a campaign.
    Online,
}

impl Format {
    fn proto(self) -> pb::SessionFormat {
        match self {
            Self::FaceToFace => pb::SessionFormat::FaceToFace,
            Self::Interactive => pb::SessionFormat::Interactive,
            Self::Online => pb::SessionFormat::Online,
        }
    }
}

fn format_name(format: i32) -> &'static str {
    match pb::SessionFormat::try_from(format) {
        Ok(pb::SessionFormat::FaceToFace) => "面对面",
        Ok(pb::SessionFormat::Interactive) => "心贴心",
        Ok(pb::SessionFormat::Online) => "键对键",
        _ => "未定",
    }
}

/// `tingjian consult topic`
#[derive(Debug, Args)]
pub struct TopicArgs {
    /// The plan's id.
    #[arg(long)]
    plan: String,
    /// Title, e.g. 推进远洋渔业企业融资降本.
    #[arg(long)]
    title: String,
    /// Background (背景).
    #[arg(long, default_value = "")]
    background: String,
    /// Common issues it is drawn from (ids; repeat for several).
    #[arg(long = "issue", required = true)]
    issues: Vec<String>,
    /// The title of the leader who answers, e.g. 市长 or 市委书记.
    #[arg(long)]
    leader_title: String,
    /// The leader's name.
    #[arg(long, default_value = "")]
    leader_name: String,
    /// The format of consultation.
    #[arg(long, value_enum)]
    format: Format,
    /// An affected industry (intake code, e.g. ocean_fishing); repeat for several.
    #[arg(long = "industry")]
    industries: Vec<String>,
    /// An affected district (intake code, e.g. putuo); repeat for several.
    #[arg(long = "district")]
    districts: Vec<String>,
    /// An affected group as code:name, e.g. skilled_talent:高技能人才; repeat for several.
    #[arg(long = "group")]
    groups: Vec<String>,
    /// The special committee leading it, e.g. 经济委员会.
    #[arg(long, default_value = "")]
    committee: String,
    /// Adopt the topic into the plan at once.
    #[arg(long)]
    adopt: bool,
    /// Idempotency key: the same command with the same key acts once.
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian consult invite`
#[derive(Debug, Args)]
pub struct InviteArgs {
    /// The topic's id.
    #[arg(long)]
    topic: String,
    /// Most new proposals (0 = the service's default).
    #[arg(long, default_value_t = 0)]
    limit: i32,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian consult accept`
#[derive(Debug, Args)]
pub struct AcceptArgs {
    /// Ids of the invitations to accept.
    #[arg(required = true, num_args = 1..)]
    invitations: Vec<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian consult session`
#[derive(Debug, Args)]
pub struct SessionArgs {
    /// The topic's id.
    #[arg(long)]
    topic: String,
    /// Title, e.g. 远洋渔业融资降本面对面协商会.
    #[arg(long)]
    title: String,
    /// Venue, e.g. 舟山总商会政协委员会客厅 (not needed online).
    #[arg(long, default_value = "")]
    venue: String,
    /// Start, RFC 3339 or `YYYY-MM-DD HH:MM` in Beijing time.
    #[arg(long, value_parser = parse_time)]
    start: DateTime<Utc>,
    /// Format; the topic's when omitted.
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// The intake campaign of an online session.
    #[arg(long, default_value = "")]
    campaign: String,
    /// Do not add the topic's accepted invitees as participants.
    #[arg(long)]
    without_invitees: bool,
    /// Idempotency key.
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Participant roles in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ParticipantRole {
    /// An entrepreneur (企业家), for an enterprise.
    Entrepreneur,
    /// A leader who answers (党政领导).
    Leader,
    /// An official of a government unit.
    Official,
    /// A CPPCC member (政协委员).
    Member,
    /// A worker or skilled-talent representative.
    Worker,
    /// A think-tank expert.
    Expert,
    /// Office staff.
    Staff,
}

impl ParticipantRole {
    fn proto(self) -> pb::ParticipantRole {
        match self {
            Self::Entrepreneur => pb::ParticipantRole::Entrepreneur,
            Self::Leader => pb::ParticipantRole::Leader,
            Self::Official => pb::ParticipantRole::Official,
            Self::Member => pb::ParticipantRole::Member,
            Self::Worker => pb::ParticipantRole::Worker,
            Self::Expert => pb::ParticipantRole::Expert,
            Self::Staff => pb::ParticipantRole::Staff,
        }
    }
}

fn role_name(role: i32) -> &'static str {
    match pb::ParticipantRole::try_from(role) {
        Ok(pb::ParticipantRole::Entrepreneur) => "企业家",
        Ok(pb::ParticipantRole::Leader) => "领导",
        Ok(pb::ParticipantRole::Official) => "部门负责人",
        Ok(pb::ParticipantRole::Member) => "政协委员",
        Ok(pb::ParticipantRole::Worker) => "职工代表",
        Ok(pb::ParticipantRole::Expert) => "智库专家",
        Ok(pb::ParticipantRole::Staff) => "工作人员",
        _ => "其他",
    }
}

/// `tingjian consult join`
#[derive(Debug, Args)]
pub struct JoinArgs {
    /// The session's id.
    #[arg(long)]
    session: String,
    /// The participant's role.
    #[arg(long, value_enum)]
    role: ParticipantRole,
    /// Name shown in the minutes, e.g. 张某某.
    #[arg(long)]
    name: String,
    /// The enterprise an entrepreneur speaks for (intake id).
    #[arg(long, default_value = "")]
    enterprise: String,
    /// Organisation or title in words, e.g. 市经信局.
    #[arg(long, default_value = "")]
    affiliation: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Kinds of contribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// A statement (发言).
    Statement,
    /// A question (问).
    Question,
    /// An answer (答).
    Answer,
    /// A rebuttal (辩).
    Rebuttal,
}

impl Kind {
    fn proto(self) -> pb::ContributionKind {
        match self {
            Self::Statement => pb::ContributionKind::Statement,
            Self::Question => pb::ContributionKind::Question,
            Self::Answer => pb::ContributionKind::Answer,
            Self::Rebuttal => pb::ContributionKind::Rebuttal,
        }
    }
}

fn kind_name(kind: i32) -> &'static str {
    match pb::ContributionKind::try_from(kind) {
        Ok(pb::ContributionKind::Statement) => "发言",
        Ok(pb::ContributionKind::Question) => "问",
        Ok(pb::ContributionKind::Answer) => "答",
        Ok(pb::ContributionKind::Rebuttal) => "辩",
        _ => "？",
    }
}

/// `tingjian consult say`
#[derive(Debug, Args)]
pub struct SayArgs {
    /// The session's id.
    #[arg(long)]
    session: String,
    /// The speaker's participant id (see `tingjian consult show`).
    #[arg(long)]
    speaker: String,
    /// What kind of contribution.
    #[arg(long, value_enum, default_value_t = Kind::Statement)]
    kind: Kind,
    /// The contribution it answers or rebuts.
    #[arg(long, default_value = "")]
    reply_to: String,
    /// What was said.
    text: String,
    /// Idempotency key.
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian consult show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The session's id.
    session: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// `tingjian consult close`
#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The session's id.
    #[arg(long)]
    session: String,
    /// Minutes (纪要).
    #[arg(long)]
    minutes: String,
    /// A conclusion reached (协商共识); repeat for several.
    #[arg(long = "conclusion", required = true)]
    conclusions: Vec<String>,
    /// Participants who attended; every participant when omitted.
    #[arg(long = "attended")]
    attended: Vec<String>,
    #[command(flatten)]
    client: ClientArgs,
}

/// Who a suggestion goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Recipient {
    /// The party committee (市委).
    Party,
    /// The government (市政府).
    Government,
}

/// `tingjian consult suggest`
#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// The session it came out of.
    #[arg(long, default_value = "")]
    session: String,
    /// The topic (when not from a session).
    #[arg(long, default_value = "")]
    topic: String,
    /// Title.
    #[arg(long)]
    title: String,
    /// Full text.
    #[arg(long)]
    text: String,
    /// Category code, e.g. finance_credit.
    #[arg(long, default_value = "")]
    category: String,
    /// Submit at once to these recipients; repeat for both.
    #[arg(long = "submit-to", value_enum)]
    submit_to: Vec<Recipient>,
    /// Idempotency key.
    #[arg(long, default_value = "")]
    request_id: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Reads an instant: RFC 3339, or `YYYY-MM-DD HH:MM` in Beijing time (UTC+8).
pub(crate) fn parse_time(raw: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    let local = NaiveDateTime::parse_from_str(raw, "%Y-%m-%d %H:%M")
        .map_err(|_| format!("{raw:?} is neither RFC 3339 nor YYYY-MM-DD HH:MM"))?;
    tingjian_runtime::time::china()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("{raw:?} is not a valid Beijing time"))
}

pub(crate) fn beijing(t: Option<&prost_types::Timestamp>) -> String {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.with_timezone(&tingjian_runtime::time::china()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_default()
}

fn stats_line(stats: Option<&pb::ContributionStats>) -> String {
    let Some(s) = stats else { return String::new() };
    let share = s.interaction_share.as_ref().map(|r| r.value * 100.0).unwrap_or(0.0);
    format!(
        "发言 {} 条（陈述 {}、问 {}、答 {}、辩 {}），问答辩占比 {:.0}%，发言人 {} 位，其中企业家 {} 位",
        s.total_count,
        s.statement_count,
        s.question_count,
        s.answer_count,
        s.rebuttal_count,
        share,
        s.speaker_count,
        s.entrepreneur_speaker_count
    )
}

fn session_json(s: &pb::Session) -> Value {
    json!({
        "id": s.id, "topic_id": s.topic_id, "title": s.title, "format": format_name(s.format),
        "venue": s.venue, "status": s.status, "etag": s.etag,
        "participants": s.participants.iter().map(|p| json!({
            "id": p.id, "role": role_name(p.role), "display_name": p.display_name,
            "enterprise_id": p.enterprise_id, "attended": p.attended,
        })).collect::<Vec<_>>(),
        "stats": s.stats.as_ref().map(|st| json!({
            "total": st.total_count, "questions": st.question_count, "answers": st.answer_count,
            "rebuttals": st.rebuttal_count, "entrepreneur_speakers": st.entrepreneur_speaker_count,
        })),
    })
}

fn print_session(s: &pb::Session) {
    println!("协商活动 {}  {}（{}）", s.id, s.title, format_name(s.format));
    if !s.venue.is_empty() {
        println!("  地点：{}  时间：{}", s.venue, beijing(s.start_time.as_ref()));
    }
    for p in &s.participants {
        let affiliation = if p.affiliation.is_empty() { String::new() } else { format!("，{}", p.affiliation) };
        println!("  参加人 {}  {}（{}{}）", p.id, p.display_name, role_name(p.role), affiliation);
    }
    let stats = stats_line(s.stats.as_ref());
    if !stats.is_empty() {
        println!("  {stats}");
    }
}

/// Runs `tingjian consult …`.
pub async fn consult(command: ConsultCommand) -> BoxResult<()> {
    match command {
        ConsultCommand::Plan(a) => plan(a).await,
        ConsultCommand::Topic(a) => topic(a).await,
        ConsultCommand::Invite(a) => invite(a).await,
        ConsultCommand::Accept(a) => accept(a).await,
        ConsultCommand::Session(a) => session(a).await,
        ConsultCommand::Join(a) => join(a).await,
        ConsultCommand::Say(a) => say(a).await,
        ConsultCommand::Show(a) => show(a).await,
        ConsultCommand::Close(a) => close(a).await,
        ConsultCommand::Suggest(a) => suggest(a).await,
    }
}

async fn plan(a: PlanArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let plan = client
        .create_plan(pb::CreatePlanRequest {
            plan: Some(pb::Plan { year: a.year, title: a.title, description: a.description, ..Default::default() }),
            request_id: request_id(String::new()),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .plan
        .ok_or("the service answered without the plan")?;
    match a.client.output {
        Output::Json => println!("{}", json!({"id": plan.id, "year": plan.year, "title": plan.title})),
        Output::Text => println!("协商计划 {}  {}年：{}", plan.id, plan.year, plan.title),
    }
    Ok(())
}

fn stakeholders(a: &TopicArgs) -> BoxResult<Vec<pb::Stakeholder>> {
    let mut out = Vec::new();
    for code in &a.industries {
        out.push(pb::Stakeholder {
            kind: pb::StakeholderKind::Industry as i32,
            code: code.clone(),
            name: String::new(),
        });
    }
    for code in &a.districts {
        out.push(pb::Stakeholder {
            kind: pb::StakeholderKind::District as i32,
            code: code.clone(),
            name: String::new(),
        });
    }
    for group in &a.groups {
        let (code, name) = group
            .split_once(':')
            .ok_or_else(|| format!("--group {group:?}: expected code:name, e.g. skilled_talent:高技能人才"))?;
        out.push(pb::Stakeholder {
            kind: pb::StakeholderKind::Group as i32,
            code: code.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(out)
}

async fn topic(a: TopicArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let stakeholders = stakeholders(&a)?;
    let mut topic = client
        .create_topic(pb::CreateTopicRequest {
            topic: Some(pb::Topic {
                plan_id: a.plan.clone(),
                title: a.title.clone(),
                background: a.background.clone(),
                common_issue_ids: a.issues.clone(),
                leader: Some(common::PersonRef {
                    display_name: a.leader_name.clone(),
                    title: a.leader_title.clone(),
                    ..Default::default()
                }),
                format: a.format.proto() as i32,
                stakeholders,
                lead_committee: a.committee.clone(),
                ..Default::default()
            }),
            request_id: request_id(a.request_id.clone()),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .topic
        .ok_or("the service answered without the topic")?;
    if a.adopt && topic.status == pb::TopicStatus::Proposed as i32 {
        topic = client
            .adopt_topic(pb::AdoptTopicRequest { id: topic.id.clone(), etag: topic.etag.clone() })
            .await
            .map_err(explain)?
            .into_inner()
            .topic
            .ok_or("the service answered without the topic")?;
    }
    let status = if topic.status == pb::TopicStatus::Adopted as i32 { "已纳入计划" } else { "拟定" };
    match a.client.output {
        Output::Json => println!(
            "{}",
            json!({"id": topic.id, "title": topic.title, "status": status, "common_issue_ids": topic.common_issue_ids})
        ),
        Output::Text => println!(
            "议题 {}  {}（{}，{}）：来自 {} 个共性问题",
            topic.id,
            topic.title,
            format_name(topic.format),
            status,
            topic.common_issue_ids.len()
        ),
    }
    Ok(())
}

fn invitation_status(status: i32) -> &'static str {
    match pb::InvitationStatus::try_from(status) {
        Ok(pb::InvitationStatus::Proposed) => "建议邀请",
        Ok(pb::InvitationStatus::Accepted) => "已邀请",
        Ok(pb::InvitationStatus::Dropped) => "不邀请",
        _ => "？",
    }
}

async fn invite(a: InviteArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let invitations = client
        .propose_invitations(pb::ProposeInvitationsRequest { topic_id: a.topic, limit: a.limit })
        .await
        .map_err(explain)?
        .into_inner()
        .invitations;
    match a.client.output {
        Output::Json => {
            let rows: Vec<Value> = invitations
                .iter()
                .map(|i| {
                    json!({"id": i.id, "rank": i.rank, "display_name": i.display_name, "invitee_id": i.invitee_id,
                           "reason": i.reason, "status": invitation_status(i.status)})
                })
                .collect();
            println!("{}", Value::Array(rows));
        }
        Output::Text => {
            println!("按“利益涉及谁就和谁商量”建议邀请 {} 位：", invitations.len());
            for i in &invitations {
                println!(
                    "  {:>2}. {}  {}（{}）— {}",
                    i.rank,
                    i.id,
                    i.display_name,
                    invitation_status(i.status),
                    i.reason
                );
            }
        }
    }
    Ok(())
}

async fn accept(a: AcceptArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    for id in a.invitations {
        let invitation = client
            .accept_invitation(pb::AcceptInvitationRequest { id })
            .await
            .map_err(explain)?
            .into_inner()
            .invitation
            .ok_or("the service answered without the invitation")?;
        match a.client.output {
            Output::Json => println!("{}", json!({"id": invitation.id, "status": "accepted"})),
            Output::Text => println!("已邀请 {}  {}", invitation.id, invitation.display_name),
        }
    }
    Ok(())
}

async fn session(a: SessionArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let session = client
        .schedule_session(pb::ScheduleSessionRequest {
            session: Some(pb::Session {
                topic_id: a.topic,
                title: a.title,
                format: a.format.map(|f| f.proto() as i32).unwrap_or_default(),
                venue: a.venue,
                start_time: Some(tingjian_runtime::wire::timestamp(a.start)),
                campaign_id: a.campaign,
                ..Default::default()
            }),
            include_accepted_invitees: !a.without_invitees,
            request_id: request_id(a.request_id),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .session
        .ok_or("the service answered without the session")?;
    match a.client.output {
        Output::Json => println!("{}", session_json(&session)),
        Output::Text => print_session(&session),
    }
    Ok(())
}

async fn join(a: JoinArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let session = client
        .add_participants(pb::AddParticipantsRequest {
            session_id: a.session,
            participants: vec![pb::Participant {
                role: a.role.proto() as i32,
                display_name: a.name.clone(),
                enterprise_id: a.enterprise,
                affiliation: a.affiliation,
                ..Default::default()
            }],
        })
        .await
        .map_err(explain)?
        .into_inner()
        .session
        .ok_or("the service answered without the session")?;
    let added = session.participants.iter().rev().find(|p| p.display_name == a.name);
    match a.client.output {
        Output::Json => println!("{}", session_json(&session)),
        Output::Text => match added {
            Some(p) => println!("参加人 {}  {}（{}）", p.id, p.display_name, role_name(p.role)),
            None => print_session(&session),
        },
    }
    Ok(())
}

async fn say(a: SayArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let response = client
        .record_contribution(pb::RecordContributionRequest {
            session_id: a.session,
            contribution: Some(pb::Contribution {
                kind: a.kind.proto() as i32,
                speaker_participant_id: a.speaker,
                text: a.text,
                reply_to_contribution_id: a.reply_to,
                ..Default::default()
            }),
            request_id: request_id(a.request_id),
        })
        .await
        .map_err(explain)?
        .into_inner();
    let c = response.contribution.ok_or("the service answered without the contribution")?;
    match a.client.output {
        Output::Json => println!(
            "{}",
            json!({"id": c.id, "sequence": c.sequence, "kind": kind_name(c.kind), "speaker": c.speaker_display_name})
        ),
        Output::Text => {
            println!("第 {} 条 [{}] {}：{}", c.sequence, kind_name(c.kind), c.speaker_display_name, c.text);
            println!("  {}", stats_line(response.stats.as_ref()));
        }
    }
    Ok(())
}

async fn show(a: ShowArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let session = client
        .get_session(pb::GetSessionRequest { id: a.session.clone() })
        .await
        .map_err(explain)?
        .into_inner()
        .session
        .ok_or("the service answered without the session")?;
    let mut contributions = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_contributions(pb::ListContributionsRequest {
                session_id: a.session.clone(),
                page_size: 500,
                page_token: token,
                ..Default::default()
            })
            .await
            .map_err(explain)?
            .into_inner();
        contributions.extend(page.contributions);
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    match a.client.output {
        Output::Json => {
            let mut value = session_json(&session);
            value["contributions"] = contributions
                .iter()
                .map(|c| json!({"sequence": c.sequence, "kind": kind_name(c.kind), "speaker": c.speaker_display_name, "text": c.text}))
                .collect();
            println!("{value}");
        }
        Output::Text => {
            print_session(&session);
            for c in &contributions {
                println!("  {:>3}. [{}] {}：{}", c.sequence, kind_name(c.kind), c.speaker_display_name, c.text);
            }
        }
    }
    Ok(())
}

async fn close(a: CloseArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let attended = if a.attended.is_empty() {
        let session = client
            .get_session(pb::GetSessionRequest { id: a.session.clone() })
            .await
            .map_err(explain)?
            .into_inner()
            .session
            .ok_or("the service answered without the session")?;
        session.participants.into_iter().map(|p| p.id).collect()
    } else {
        a.attended
    };
    let session = client
        .close_session(pb::CloseSessionRequest {
            session_id: a.session,
            minutes: a.minutes,
            attended_participant_ids: attended,
            conclusions: a.conclusions,
            etag: String::new(),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .session
        .ok_or("the service answered without the session")?;
    match a.client.output {
        Output::Json => println!("{}", session_json(&session)),
        Output::Text => {
            println!(
                "协商活动 {} 已结束：出席 {} 人，达成共识 {} 条",
                session.id,
                session.attendee_count,
                session.conclusions.len()
            );
            println!("  {}", stats_line(session.stats.as_ref()));
        }
    }
    Ok(())
}

async fn suggest(a: SuggestArgs) -> BoxResult<()> {
    let mut client = consultation(&a.client).await?;
    let mut suggestion = client
        .draft_suggestion(pb::DraftSuggestionRequest {
            suggestion: Some(pb::Suggestion {
                session_id: a.session,
                topic_id: a.topic,
                title: a.title,
                text: a.text,
                category: a.category,
                ..Default::default()
            }),
            request_id: request_id(a.request_id),
        })
        .await
        .map_err(explain)?
        .into_inner()
        .suggestion
        .ok_or("the service answered without the suggestion")?;
    if !a.submit_to.is_empty() && suggestion.status == pb::SuggestionStatus::Draft as i32 {
        let recipients = a
            .submit_to
            .iter()
            .map(|r| match r {
                Recipient::Party => pb::SuggestionRecipient::PartyCommittee as i32,
                Recipient::Government => pb::SuggestionRecipient::Government as i32,
            })
            .collect();
        suggestion = client
            .submit_suggestion(pb::SubmitSuggestionRequest {
                id: suggestion.id.clone(),
                recipients,
                etag: suggestion.etag.clone(),
            })
            .await
            .map_err(explain)?
            .into_inner()
            .suggestion
            .ok_or("the service answered without the suggestion")?;
    }
    let status = match pb::SuggestionStatus::try_from(suggestion.status) {
        Ok(pb::SuggestionStatus::Draft) => "草稿",
        Ok(pb::SuggestionStatus::Submitted) => "已报送",
        Ok(pb::SuggestionStatus::Responded) => "已反馈",
        _ => "？",
    };
    match a.client.output {
        Output::Json => println!("{}", json!({"id": suggestion.id, "title": suggestion.title, "status": status})),
        Output::Text => println!("协商建议 {}  {}（{}）", suggestion.id, suggestion.title, status),
    }
    Ok(())
}
