//! The programme itself: an agenda of dated actions, each carried out through the public APIs after the
//! shifted clock has been set to its time. Actions plan further actions (a dispatched case is accepted a
//! few days later, replied, evaluated, closed), so the agenda runs until it is empty.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike, Duration, Months, Utc};
use tingjian_proto::analytics::v1 as apb;
use tingjian_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use tingjian_proto::common::v1::{Date, Money, OrganisationKind, OrganisationRef, PeriodKind, PersonRef};
use tingjian_proto::consultation::v1 as cpb;
use tingjian_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use tingjian_proto::intake::v1 as ipb;
use tingjian_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tingjian_proto::supervision::v1 as spb;
use tingjian_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tingjian_runtime::Role;
use tingjian_runtime::auth::{DevSigner, TokenRequest};
use tingjian_runtime::clock::Clock;
use tingjian_runtime::telemetry::ClientContext;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::data::{self, CATEGORIES, Rng, UNITS};
use super::{Scorecards, period, shanghai};
use crate::BoxResult;

/// Calls `$method` on `$client` with `$request`, retrying a few times when the service reports a
/// transient failure (a busy database, an unavailable peer); every write carries an idempotency key or
/// is a state change that a failed attempt left undone, so a retry acts once.
macro_rules! call {
    ($client:expr, $method:ident, $request:expr, $what:expr) => {{
        let request = $request;
        let mut attempt = 0u64;
        loop {
            match $client.$method(request.clone()).await {
                Ok(response) => break Ok::<_, Box<dyn std::error::Error + Send + Sync>>(response.into_inner()),
                Err(status)
                    if attempt < 5 && matches!(status.code(), tonic::Code::Internal | tonic::Code::Unavailable) =>
                {
                    attempt += 1;
                    tokio::time::sleep(StdDuration::from_millis(50 * attempt)).await;
                }
                Err(status) => {
                    break Err(format!("{}: {:?}: {}", $what, status.code(), status.message()).into());
                }
            }
        }
    }};
}

type Authed = InterceptedService<Channel, ClientContext>;

/// The four clients, calling as one identity.
#[derive(Clone)]
struct Clients {
    intake: IntakeServiceClient<Authed>,
    consultation: ConsultationServiceClient<Authed>,
    supervision: SupervisionServiceClient<Authed>,
    analytics: AnalyticsServiceClient<Authed>,
}

impl Clients {
    fn new(channel: &Channel, token: &str) -> BoxResult<Self> {
        let context = ClientContext::with_token(token).map_err(|_| "the token is not valid ASCII")?;
        Ok(Self {
            intake: IntakeServiceClient::with_interceptor(channel.clone(), context.clone()),
            consultation: ConsultationServiceClient::with_interceptor(channel.clone(), context.clone()),
            supervision: SupervisionServiceClient::with_interceptor(channel.clone(), context.clone()),
            analytics: AnalyticsServiceClient::with_interceptor(channel.clone(), context),
        })
    }
}

fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }
}

fn china_date(t: DateTime<Utc>) -> Date {
    let local = t + Duration::hours(8);
    Date { year: local.year(), month: local.month() as i32, day: local.day() as i32 }
}

fn unit_ref(unit: usize) -> OrganisationRef {
    let (id, name, _, _) = UNITS[unit];
    OrganisationRef { id: id.into(), name: name.into(), kind: OrganisationKind::HandlingUnit as i32 }
}

fn unit_head(unit: usize) -> PersonRef {
    let (id, _, head, title) = UNITS[unit];
    PersonRef { id: format!("{id}-head"), display_name: head.into(), title: title.into(), organisation_id: id.into() }
}

/// Number of enterprises registered; the first [`VISITED`] are the ones contacted.
const ENTERPRISES: usize = 96;
/// Enterprises visited (走访企业 89家).
const VISITED: usize = 89;
/// Person-times briefed in all contacts (宣讲 925人次).
const PERSON_TIMES: i64 = 925;
/// Common issues formed (167个).
const COMMON_ISSUES: usize = 167;
/// Campaign participants (420余名网民和委员).
const PARTICIPANTS: usize = 420;
/// Of them, CPPCC members; the rest are netizens.
const MEMBER_PARTICIPANTS: usize = 70;
/// Cases dispatched per quarter.
const CASES_PER_QUARTER: usize = 36;
/// Response rate aimed at for each quarter's cohort (答复反馈率 40 % → 92 %).
const RESPONSE_TARGETS: [f64; 8] = [0.40, 0.50, 0.58, 0.66, 0.74, 0.80, 0.86, 0.92];
/// Interest reduced, in fen (减免利息 1,971万元).
const INTEREST_FEN: i64 = 19_710_000 * 100;
/// Subsidies, in fen (补助 300万元).
const SUBSIDY_FEN: i64 = 3_000_000 * 100;
/// Rectification orders issued (整改问题 21个), one a month from 2023-04.
const RECTIFICATIONS: usize = 21;
/// Months (0 = 2023-01) in which a special report is sent: 18 in all.
const REPORT_MONTHS: [usize; 18] = [2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22];
/// Month (0 = 2023-01) in which each topic of [`data::TOPICS`] is consulted on.
const TOPIC_MONTHS: [usize; 14] = [5, 9, 2, 4, 7, 7, 10, 15, 17, 13, 16, 19, 20, 21];
/// Members of the CPPCC who visit, host and follow up.
const MEMBERS: usize = 20;

/// What the programme loaded, counted on its side.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub enterprises: usize,
    pub contacts: usize,
    pub demands: usize,
    pub common_issues: usize,
    pub posts: usize,
    pub sessions: usize,
    pub special_reports: usize,
    pub cases: usize,
    pub follow_ups: usize,
    pub rectifications: usize,
}

#[derive(Debug, Clone)]
struct Enterprise {
    id: String,
    short: String,
    district: &'static str,
    industry: &'static str,
}

#[derive(Debug, Clone)]
struct DemandPlan {
    enterprise: usize,
    category: usize,
    channel: ipb::DemandChannel,
    slot: Option<usize>,
    id: String,
    title: String,
}

#[derive(Debug, Clone, Default)]
struct IssueSlot {
    category: usize,
    demands: Vec<usize>,
    id: String,
    title: String,
}

#[derive(Debug, Clone, Copy)]
enum Source {
    Issue(usize),
    Demand(usize),
    Suggestion(usize),
    Report(usize),
}

#[derive(Debug, Clone)]
struct Paper {
    id: String,
    title: String,
    category: usize,
}

#[derive(Debug, Clone)]
struct CaseState {
    id: String,
    unit: usize,
    category: usize,
    /// From when the case is long-running (planned span over six months, or six months after dispatch).
    long_running_since: DateTime<Utc>,
    /// Planned to take long: replied near its planned completion.
    planned_long: bool,
    replied: bool,
    reopened: bool,
    closed: bool,
    /// When it is planned to close, once known.
    close_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
enum Action {
    Register,
    Month(usize),
    Quarter(usize),
    Sweep,
    Contact { enterprise: usize, channel: ipb::ContactChannel, briefed: i32 },
    Demand(usize),
    Roundtable { month: usize, demands: Vec<usize> },
    FormIssue(usize),
    Dispatch { reply: bool, planned_long: bool, give_up: DateTime<Utc> },
    Accept(usize),
    Progress(usize),
    Reply(usize),
    Evaluate(usize),
    Close(usize),
    FollowUp(usize),
    Plan(i32),
    Campaign(usize),
    Post { campaign: usize, author: usize },
    Schedule(usize),
    Hold(usize),
    Report(usize),
    Instruct(usize),
    Rectify(usize),
    RectificationReport(usize),
    Verify(usize),
    Finish,
}

/// Dated actions, earliest first; equal times keep their planning order.
#[derive(Default)]
struct Agenda {
    heap: BinaryHeap<Reverse<(DateTime<Utc>, u64)>>,
    items: HashMap<u64, Action>,
    next: u64,
}

impl Agenda {
    fn push(&mut self, at: DateTime<Utc>, action: Action) {
        self.next += 1;
        self.heap.push(Reverse((at, self.next)));
        self.items.insert(self.next, action);
    }

    fn pop(&mut self) -> Option<(DateTime<Utc>, Action)> {
        let Reverse((at, n)) = self.heap.pop()?;
        self.items.remove(&n).map(|a| (at, a))
    }
}

/// Start of month `m` (0 = 2023-01), Asia/Shanghai.
fn month_start(m: usize) -> DateTime<Utc> {
    shanghai(2023 + (m / 12) as i32, (m % 12) as u32 + 1, 1, 0, 0)
}

/// Start of quarter `q` (0 = 2023 Q1).
fn quarter_start(q: usize) -> DateTime<Utc> {
    month_start(q * 3)
}

/// The end of the programme's activity: 2024-12-31 18:00.
fn programme_end() -> DateTime<Utc> {
    shanghai(2024, 12, 31, 18, 0)
}

/// The loaded programme's driver.
pub struct Programme {
    clock: Clock,
    rng: Rng,
    seed: u64,
    staff: Clients,
    units: Vec<Clients>,
    authors: Vec<Clients>,
    agenda: Agenda,
    now: DateTime<Utc>,
    last_write: DateTime<Utc>,
    tally: Tally,
    enterprises: Vec<Enterprise>,
    demands: Vec<DemandPlan>,
    slots: Vec<IssueSlot>,
    pool: VecDeque<Source>,
    suggestions: Vec<Paper>,
    reports: Vec<Paper>,
    cases: Vec<CaseState>,
    orders: Vec<(String, usize)>,
    campaigns: Vec<String>,
    plans: HashMap<i32, String>,
    sessions: HashMap<usize, (String, Vec<String>)>,
    contact_plan: Vec<(usize, usize, ipb::ContactChannel, i32)>,
    interest: Vec<i64>,
    subsidies: Vec<i64>,
    /// Planned-long case slots left per quarter (the first three quarters).
    counter: u64,
}

impl Programme {
    /// Connects to the suite on `addr` with tokens minted by `signer`.
    pub async fn connect(addr: SocketAddr, clock: Clock, signer: &DevSigner, seed: u64) -> BoxResult<Self> {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(StdDuration::from_secs(5))
            .timeout(StdDuration::from_secs(60))
            .connect()
            .await?;
        let mint = |subject: &str, organisation: &str, roles: Vec<Role>, name: &str| {
            signer.mint(&TokenRequest {
                subject: subject.into(),
                organisation: organisation.into(),
                roles,
                name: Some(name.into()),
                ttl: StdDuration::from_secs(12 * 3600),
            })
        };
        let staff = Clients::new(&channel, &mint("demo-staff", "舟山市政协办公室", Role::ALL.to_vec(), "政协办公室")?)?;
        let units = UNITS
            .iter()
            .map(|(id, name, _, _)| {
                Clients::new(&channel, &mint(&format!("{id}-officer"), id, vec![Role::HandlingUnit], name)?)
            })
            .collect::<BoxResult<Vec<_>>>()?;
        let authors = (0..PARTICIPANTS)
            .map(|i| {
                let (subject, role) = if i < PARTICIPANTS - MEMBER_PARTICIPANTS {
                    (format!("netizen-{i:03}"), Role::Netizen)
                } else {
                    (format!("member-{:03}", i + 100), Role::Member)
                };
                Clients::new(&channel, &mint(&subject, "", vec![role], &subject)?)
            })
            .collect::<BoxResult<Vec<_>>>()?;
        let mut rng = Rng::new(seed);
        let interest = rng.split(INTEREST_FEN, 9);
        let subsidies = rng.split(SUBSIDY_FEN, 6);
        let start = super::first_day();
        clock.set(start);
        Ok(Self {
            clock,
            rng,
            seed,
            staff,
            units,
            authors,
            agenda: Agenda::default(),
            now: start,
            last_write: start,
            tally: Tally::default(),
            enterprises: Vec::new(),
            demands: Vec::new(),
            slots: Vec::new(),
            pool: VecDeque::new(),
            suggestions: Vec::new(),
            reports: Vec::new(),
            cases: Vec::new(),
            orders: Vec::new(),
            campaigns: Vec::new(),
            plans: HashMap::new(),
            sessions: HashMap::new(),
            contact_plan: Vec::new(),
            interest,
            subsidies,
            counter: 0,
        })
    }

    /// What was loaded.
    pub fn tally(&self) -> Tally {
        self.tally.clone()
    }

    /// Time of the programme's last write (every write emits an event).
    pub fn last_write(&self) -> DateTime<Utc> {
        self.last_write
    }

    /// A fresh idempotency key, stable for the seed.
    fn key(&mut self, what: &str) -> String {
        self.counter += 1;
        format!("demo{}-{what}-{}", self.seed, self.counter)
    }

    /// Runs every action of the agenda in time order.
    pub async fn run(&mut self) -> BoxResult<()> {
        let start = super::first_day();
        self.agenda.push(start, Action::Register);
        for m in 0..24 {
            let at = if m == 0 { start + Duration::minutes(30) } else { month_start(m) + Duration::minutes(5) };
            self.agenda.push(at, Action::Month(m));
            if m % 3 == 0 {
                self.agenda.push(at + Duration::minutes(5), Action::Quarter(m / 3));
            }
        }
        self.agenda.push(start + Duration::minutes(10), Action::Plan(2023));
        self.agenda.push(shanghai(2024, 1, 4, 9, 0), Action::Plan(2024));
        let mut monday = shanghai(2023, 1, 9, 1, 0);
        while monday < shanghai(2025, 1, 1, 0, 0) {
            self.agenda.push(monday, Action::Sweep);
            monday += Duration::days(7);
        }
        self.agenda.push(shanghai(2025, 1, 1, 0, 30), Action::Sweep);
        self.agenda.push(shanghai(2025, 1, 2, 9, 0), Action::Finish);
        self.plan_contacts();
        while let Some((at, action)) = self.agenda.pop() {
            if at > self.now {
                self.now = at;
                self.clock.set(at);
            }
            self.act(action).await?;
        }
        Ok(())
    }

    /// One contact per visited enterprise per quarter, with 925 person-times spread over the briefings.
    fn plan_contacts(&mut self) {
        let mut plan = Vec::new();
        for enterprise in 0..VISITED {
            for quarter in 0..8 {
                let channel = match self.rng.weighted(&[50, 30, 20]) {
                    0 => ipb::ContactChannel::Visit,
                    1 => ipb::ContactChannel::Phone,
                    _ => ipb::ContactChannel::Online,
                };
                plan.push((enterprise, quarter * 3 + self.rng.below(3), channel, 0));
            }
        }
        let briefings: Vec<usize> = (0..plan.len()).filter(|&i| plan[i].2 != ipb::ContactChannel::Phone).collect();
        for &i in &briefings {
            plan[i].3 = 1;
        }
        for _ in 0..(PERSON_TIMES as usize - briefings.len()) {
            let i = briefings[self.rng.below(briefings.len())];
            plan[i].3 += 1;
        }
        self.contact_plan = plan;
    }

    /// A time in month `m` between days `lo` and `hi`, in office hours.
    fn in_month(&mut self, m: usize, lo: i64, hi: i64) -> DateTime<Utc> {
        let lo = if m == 0 { lo.max(4) } else { lo };
        month_start(m)
            + Duration::days(self.rng.between(lo, hi.max(lo)) - 1)
            + Duration::minutes(self.rng.between(9 * 60, 17 * 60))
    }

    async fn act(&mut self, action: Action) -> BoxResult<()> {
        match action {
            Action::Register => self.register().await,
            Action::Month(m) => {
                self.plan_month(m);
                Ok(())
            }
            Action::Quarter(q) => {
                self.plan_quarter(q);
                Ok(())
            }
            Action::Sweep => {
                call!(self.staff.supervision, run_sweep, spb::RunSweepRequest { kinds: Vec::new() }, "RunSweep")?;
                Ok(())
            }
            Action::Contact { enterprise, channel, briefed } => {
                self.log_contact(enterprise, channel, briefed).await.map(|_| ())
            }
            Action::Demand(d) => self.submit_demand(d, String::new()).await,
            Action::Roundtable { month, demands } => self.roundtable(month, demands).await,
            Action::FormIssue(slot) => self.form_issue(slot).await,
            Action::Dispatch { reply, planned_long, give_up } => self.dispatch(reply, planned_long, give_up).await,
            Action::Accept(c) => self.accept(c).await,
            Action::Progress(c) => self.progress(c).await,
            Action::Reply(c) => self.reply(c).await,
            Action::Evaluate(c) => self.evaluate(c).await,
            Action::Close(c) => self.close(c).await,
            Action::FollowUp(c) => self.follow_up(c).await,
            Action::Plan(year) => self.plan(year).await,
            Action::Campaign(n) => self.campaign(n).await,
            Action::Post { campaign, author } => self.post(campaign, author).await,
            Action::Schedule(t) => self.schedule(t).await,
            Action::Hold(t) => self.hold(t).await,
            Action::Report(n) => self.report(n).await,
            Action::Instruct(n) => self.instruct(n).await,
            Action::Rectify(n) => self.rectify(n).await,
            Action::RectificationReport(n) => self.rectification_report(n).await,
            Action::Verify(n) => self.verify(n).await,
            Action::Finish => self.finish().await,
        }
    }

    async fn register(&mut self) -> BoxResult<()> {
        for i in 0..ENTERPRISES {
            let (district, place) = *self.rng.pick(&data::DISTRICTS);
            let (industry, business) = *self.rng.pick(&data::INDUSTRIES);
            let trade = data::TRADE_NAMES[i % data::TRADE_NAMES.len()];
            let short = format!("{trade}{business}");
            let name =
                format!("舟山市{place}{short}{}有限公司", if i >= data::TRADE_NAMES.len() { "股份" } else { "" });
            let monitoring = (80..92).contains(&i);
            let size = 1 + self.rng.below(4) as i32;
            let key = self.key("enterprise");
            let created = call!(
                self.staff.intake,
                create_enterprise,
                ipb::CreateEnterpriseRequest {
                    enterprise: Some(ipb::Enterprise {
                        name,
                        credit_code: data::credit_code(self.seed.wrapping_mul(131) % 997 * 100 + i as u64),
                        district: district.into(),
                        industry: industry.into(),
                        size,
                        monitoring_point: monitoring,
                        description: format!("主营{business}"),
                        address: format!("舟山市{place}"),
                        ..Default::default()
                    }),
                    request_id: key,
                },
                "CreateEnterprise"
            )?;
            let id = created.enterprise.map(|e| e.id).unwrap_or_default();
            self.enterprises.push(Enterprise { id, short, district, industry });
            self.tally.enterprises += 1;
        }
        self.last_write = self.now;
        Ok(())
    }

    /// Plans month `m`: contacts, demands and their common issues, the roundtable, campaigns, sessions,
    /// special reports and a rectification order.
    fn plan_month(&mut self, m: usize) {
        for i in 0..self.contact_plan.len() {
            let (enterprise, month, channel, briefed) = self.contact_plan[i];
            if month == m {
                let at = self.in_month(m, 1, 27);
                self.agenda.push(at, Action::Contact { enterprise, channel, briefed });
            }
        }
        let issues = if m == 23 { COMMON_ISSUES - 23 * 7 } else { 7 };
        let mut roundtable = Vec::new();
        for _ in 0..issues {
            let category = self.rng.weighted(&CATEGORIES.map(|c| c.weight));
            let size = 1 + self.rng.weighted(&[25, 40, 25, 10]);
            let slot = self.slots.len();
            self.slots.push(IssueSlot { category, ..Default::default() });
            for _ in 0..size {
                self.plan_demand(m, category, Some(slot), &mut roundtable);
            }
            let at = self.in_month(m, 22, 27);
            self.agenda.push(at, Action::FormIssue(slot));
        }
        for _ in 0..4 {
            let category = self.rng.weighted(&CATEGORIES.map(|c| c.weight));
            self.plan_demand(m, category, None, &mut roundtable);
        }
        let at = self.in_month(m, 8, 12);
        self.agenda.push(at, Action::Roundtable { month: m, demands: roundtable });
        if m == 3 || m == 7 {
            let n = usize::from(m == 7);
            self.agenda.push(month_start(m) + Duration::hours(8), Action::Campaign(n));
        }
        for (t, &month) in TOPIC_MONTHS.iter().enumerate() {
            if month == m {
                let at = self.in_month(m, 3, 10);
                self.agenda.push(at, Action::Schedule(t));
            }
        }
        for (n, &month) in REPORT_MONTHS.iter().enumerate() {
            if month == m {
                let at = self.in_month(m, 12, 20);
                self.agenda.push(at, Action::Report(n));
            }
        }
        if (3..3 + RECTIFICATIONS).contains(&m) {
            let at = self.in_month(m, 3, 25);
            self.agenda.push(at, Action::Rectify(m - 3));
        }
    }

    fn plan_demand(&mut self, m: usize, category: usize, slot: Option<usize>, roundtable: &mut Vec<usize>) {
        let channel = match self.rng.weighted(&[30, 15, 10, 12, 18, 15]) {
            0 => ipb::DemandChannel::Visit,
            1 => ipb::DemandChannel::Phone,
            2 => ipb::DemandChannel::Online,
            3 => ipb::DemandChannel::MonitoringPoint,
            4 => ipb::DemandChannel::Roundtable,
            _ => ipb::DemandChannel::App,
        };
        let enterprise = match channel {
            ipb::DemandChannel::MonitoringPoint => 80 + self.rng.below(12),
            ipb::DemandChannel::App => self.rng.below(ENTERPRISES),
            _ => self.rng.below(VISITED),
        };
        let titles = data::DEMAND_TITLES[category];
        let title = (*self.rng.pick(titles)).to_owned();
        let d = self.demands.len();
        self.demands.push(DemandPlan { enterprise, category, channel, slot, id: String::new(), title });
        if let Some(slot) = slot {
            self.slots[slot].demands.push(d);
        }
        if channel == ipb::DemandChannel::Roundtable {
            roundtable.push(d);
        } else {
            let at = self.in_month(m, 1, 20);
            self.agenda.push(at, Action::Demand(d));
        }
    }

    /// Plans quarter `q`: the dispatch of its cohort of cases, a fixed share of which will be answered,
    /// and the quarterly follow-ups of long-running cases (a few forgotten).
    fn plan_quarter(&mut self, q: usize) {
        let start = quarter_start(q);
        let end = quarter_start(q + 1);
        let replies = (CASES_PER_QUARTER as f64 * RESPONSE_TARGETS[q]).round() as usize;
        let mut flags: Vec<bool> = (0..CASES_PER_QUARTER).map(|i| i < replies).collect();
        self.rng.shuffle(&mut flags);
        let mut long_left = if q < 3 { 4 } else { 0 };
        for reply in flags {
            let planned_long = reply && long_left > 0 && self.rng.chance(0.3);
            if planned_long {
                long_left -= 1;
            }
            let at =
                start + Duration::days(self.rng.between(20, 78)) + Duration::minutes(self.rng.between(9 * 60, 17 * 60));
            self.agenda.push(at, Action::Dispatch { reply, planned_long, give_up: start + Duration::days(86) });
        }
        for c in 0..self.cases.len() {
            let case = &self.cases[c];
            if case.closed || case.long_running_since >= end - Duration::days(4) {
                continue;
            }
            let from = case.long_running_since.max(start) + Duration::days(1);
            let until = case.close_at.map_or(end, |t| t.min(end)) - Duration::days(2);
            if from >= until || self.rng.chance(0.06) {
                continue;
            }
            let span = (until - from).num_hours().max(1);
            let at = from + Duration::hours(self.rng.between(0, span.min(60 * 24)));
            self.agenda.push(at, Action::FollowUp(c));
        }
    }

    async fn log_contact(
        &mut self,
        enterprise: usize,
        channel: ipb::ContactChannel,
        briefed: i32,
    ) -> BoxResult<String> {
        let member = format!("member-{:03}", self.rng.below(MEMBERS));
        let policies = if briefed > 0 {
            let a = self.rng.below(data::POLICIES.len());
            vec![data::POLICIES[a].to_owned(), data::POLICIES[(a + 3) % data::POLICIES.len()].to_owned()]
        } else {
            Vec::new()
        };
        let how = match channel {
            ipb::ContactChannel::Visit => "上门走访",
            ipb::ContactChannel::Phone => "电话联系",
            _ => "线上沟通",
        };
        let summary = format!("{how}{}，了解生产经营情况和现实诉求。", self.enterprises[enterprise].short);
        let key = self.key("contact");
        let logged = call!(
            self.staff.intake,
            log_contact,
            ipb::LogContactRequest {
                contact: Some(ipb::Contact {
                    enterprise_id: self.enterprises[enterprise].id.clone(),
                    channel: channel as i32,
                    contact_time: Some(ts(self.now)),
                    member_ids: vec![member],
                    summary,
                    policies_briefed: policies,
                    briefed_person_times: briefed,
                    ..Default::default()
                }),
                request_id: key,
            },
            "LogContact"
        )?;
        self.tally.contacts += 1;
        self.last_write = self.now;
        Ok(logged.contact.map(|c| c.id).unwrap_or_default())
    }

    async fn submit_demand(&mut self, d: usize, origin: String) -> BoxResult<()> {
        let plan = self.demands[d].clone();
        let origin_id = match plan.channel {
            ipb::DemandChannel::Visit => self.log_contact(plan.enterprise, ipb::ContactChannel::Visit, 0).await?,
            ipb::DemandChannel::Phone => self.log_contact(plan.enterprise, ipb::ContactChannel::Phone, 0).await?,
            ipb::DemandChannel::Online => self.log_contact(plan.enterprise, ipb::ContactChannel::Online, 0).await?,
            _ => origin,
        };
        let enterprise = self.enterprises[plan.enterprise].clone();
        let detail = *self.rng.pick(&data::DEMAND_DETAILS);
        let text = format!("{}反映：{}。{detail}", enterprise.short, plan.title);
        let tag = 1 + self.rng.below(3) as i32;
        let key = self.key("demand");
        let submitted = call!(
            self.staff.intake,
            submit_demand,
            ipb::SubmitDemandRequest {
                demand: Some(ipb::Demand {
                    enterprise_id: enterprise.id.clone(),
                    title: plan.title.clone(),
                    text,
                    category: CATEGORIES[plan.category].code.into(),
                    difficulty_tags: vec![tag],
                    channel: plan.channel as i32,
                    origin_id,
                    ..Default::default()
                }),
                request_id: key,
                similar_limit: 0,
            },
            "SubmitDemand"
        )?;
        self.demands[d].id = submitted.demand.map(|x| x.id).unwrap_or_default();
        if plan.slot.is_none() {
            self.pool.push_back(Source::Demand(d));
        }
        self.tally.demands += 1;
        self.last_write = self.now;
        Ok(())
    }

    async fn roundtable(&mut self, month: usize, demands: Vec<usize>) -> BoxResult<()> {
        let mut invited: Vec<String> =
            demands.iter().map(|&d| self.enterprises[self.demands[d].enterprise].id.clone()).collect();
        let special = month == 2;
        let count = if special { 15 } else { 8 + self.rng.below(5) };
        while invited.len() < count {
            let e = self.rng.below(VISITED);
            let id = self.enterprises[e].id.clone();
            if !invited.contains(&id) {
                invited.push(id);
            }
        }
        let (year, mon) = (2023 + month / 12, month % 12 + 1);
        let title = if special {
            "市企业综合服务中心知晓度提升座谈会".to_owned()
        } else {
            format!("{year}年{mon}月助企恳谈会")
        };
        let key = self.key("roundtable");
        let held = call!(
            self.staff.intake,
            create_roundtable,
            ipb::CreateRoundtableRequest {
                roundtable: Some(ipb::Roundtable {
                    title,
                    theme: "了解企业发展现状和现实诉求，宣讲助企惠企政策".into(),
                    held_time: Some(ts(self.now)),
                    venue: "舟山总商会政协委员会客厅".into(),
                    host_ids: vec![format!("member-{:03}", self.rng.below(MEMBERS))],
                    entrepreneur_count: invited.len() as i32,
                    invited_enterprise_ids: invited,
                    summary: "企业家围绕融资、物流、用工、审批等方面反映问题和建议。".into(),
                    ..Default::default()
                }),
                request_id: key,
            },
            "CreateRoundtable"
        )?;
        self.last_write = self.now;
        let id = held.roundtable.map(|r| r.id).unwrap_or_default();
        for d in demands {
            self.submit_demand(d, id.clone()).await?;
        }
        Ok(())
    }

    async fn form_issue(&mut self, slot: usize) -> BoxResult<()> {
        let s = self.slots[slot].clone();
        let ids: Vec<String> =
            s.demands.iter().map(|&d| self.demands[d].id.clone()).filter(|id| !id.is_empty()).collect();
        if ids.is_empty() {
            return Err(format!("common issue {slot} has no submitted demand").into());
        }
        let first = &self.demands[s.demands[0]];
        let title = format!("{}（{}）", first.title, CATEGORIES[s.category].name);
        let key = self.key("issue");
        let formed = call!(
            self.staff.intake,
            create_common_issue,
            ipb::CreateCommonIssueRequest {
                common_issue: Some(ipb::CommonIssue {
                    title: title.clone(),
                    category: CATEGORIES[s.category].code.into(),
                    description: format!("{}家企业反映同类问题，合并为共性问题统筹协调。", ids.len()),
                    ..Default::default()
                }),
                demand_ids: ids,
                reason: "同类诉求，合并同类项".into(),
                request_id: key,
            },
            "CreateCommonIssue"
        )?;
        self.slots[slot].id = formed.common_issue.map(|c| c.id).unwrap_or_default();
        self.slots[slot].title = title;
        self.pool.push_back(Source::Issue(slot));
        self.tally.common_issues += 1;
        self.last_write = self.now;
        Ok(())
    }

    /// Takes the next source to dispatch: mostly common issues, some demands, suggestions and reports.
    fn take_source(&mut self) -> Option<Source> {
        let wanted = self.rng.weighted(&[60, 20, 12, 8]);
        let position = self
            .pool
            .iter()
            .position(|s| {
                matches!(
                    (wanted, s),
                    (0, Source::Issue(_))
                        | (1, Source::Demand(_))
                        | (2, Source::Suggestion(_))
                        | (3, Source::Report(_))
                )
            })
            .or(if self.pool.is_empty() { None } else { Some(0) })?;
        self.pool.remove(position)
    }

    async fn dispatch(&mut self, reply: bool, planned_long: bool, give_up: DateTime<Utc>) -> BoxResult<()> {
        let Some(source) = self.take_source() else {
            if self.now + Duration::days(2) < give_up {
                self.agenda.push(self.now + Duration::days(2), Action::Dispatch { reply, planned_long, give_up });
            }
            return Ok(());
        };
        let planned = planned_long.then(|| self.now + Duration::days(self.rng.between(240, 380)));
        let (kind, source_id, title, category, enterprise) = match source {
            Source::Issue(s) => {
                let slot = &self.slots[s];
                let single = slot
                    .demands
                    .iter()
                    .all(|&d| self.demands[d].enterprise == self.demands[slot.demands[0]].enterprise);
                let e = single.then_some(self.demands[slot.demands[0]].enterprise);
                (spb::CaseSourceKind::CommonIssue, slot.id.clone(), slot.title.clone(), slot.category, e)
            }
            Source::Demand(d) => {
                let dm = &self.demands[d];
                (spb::CaseSourceKind::Demand, dm.id.clone(), dm.title.clone(), dm.category, Some(dm.enterprise))
            }
            Source::Suggestion(n) => {
                let p = &self.suggestions[n];
                (spb::CaseSourceKind::Suggestion, p.id.clone(), p.title.clone(), p.category, None)
            }
            Source::Report(n) => {
                let p = &self.reports[n];
                (spb::CaseSourceKind::SpecialReport, p.id.clone(), p.title.clone(), p.category, None)
            }
        };
        let unit = CATEGORIES[category].unit;
        let key = self.key("case");
        let case_id = match kind {
            spb::CaseSourceKind::Suggestion | spb::CaseSourceKind::SpecialReport => {
                let source_kind = if kind == spb::CaseSourceKind::Suggestion {
                    cpb::AssignmentSourceKind::Suggestion
                } else {
                    cpb::AssignmentSourceKind::SpecialReport
                };
                let assigned = call!(
                    self.staff.consultation,
                    assign_to_supervision,
                    cpb::AssignToSupervisionRequest {
                        source_kind: source_kind as i32,
                        source_id,
                        lead_unit: Some(unit_ref(unit)),
                        responsible_head: Some(unit_head(unit)),
                        deadline_working_days: 15,
                        planned_completion_date: planned.map(china_date),
                        joint_supervision: self.rng.chance(0.3),
                        requirements: "请按时限办理并书面答复".into(),
                        request_id: key,
                        ..Default::default()
                    },
                    "AssignToSupervision"
                )?;
                assigned.assignment.map(|a| a.case_id).unwrap_or_default()
            }
            _ => {
                let (district, industry, enterprise_id, evaluator) = match enterprise {
                    Some(e) => {
                        let ent = &self.enterprises[e];
                        (ent.district.to_owned(), ent.industry.to_owned(), ent.id.clone(), format!("enterprise-{e:03}"))
                    }
                    None => (String::new(), String::new(), String::new(), String::new()),
                };
                let created = call!(
                    self.staff.supervision,
                    create_case,
                    spb::CreateCaseRequest {
                        r#case: Some(spb::Case {
                            title: title.clone(),
                            description: format!("交办事项：{title}。请牵头研究解决并答复企业。"),
                            source: Some(spb::CaseSource { kind: kind as i32, source_id, source_title: title.clone() }),
                            lead_unit: Some(unit_ref(unit)),
                            responsible_head: Some(unit_head(unit)),
                            planned_completion_date: planned.map(china_date),
                            joint_supervision: self.rng.chance(0.3),
                            requirements: "请按时限办理并书面答复".into(),
                            enterprise_id,
                            evaluator_id: evaluator,
                            category: CATEGORIES[category].code.into(),
                            district,
                            industry,
                            ..Default::default()
                        }),
                        request_id: key,
                        deadline_working_days: 15,
                    },
                    "CreateCase"
                )?;
                created.r#case.map(|c| c.id).unwrap_or_default()
            }
        };
        self.last_write = self.now;
        self.tally.cases += 1;
        let c = self.cases.len();
        let long_running_since = if planned_long {
            self.now
        } else {
            self.now.checked_add_months(Months::new(6)).unwrap_or(self.now) + Duration::days(2)
        };
        self.cases.push(CaseState {
            id: case_id,
            unit,
            category,
            long_running_since,
            planned_long,
            replied: false,
            reopened: false,
            closed: false,
            close_at: None,
        });
        let day = |rng: &mut Rng, lo: i64, hi: i64| Duration::hours(rng.between(lo * 24, hi * 24));
        if reply {
            self.agenda.push(self.now + day(&mut self.rng, 1, 3), Action::Accept(c));
            if self.rng.chance(0.5) {
                self.agenda.push(self.now + day(&mut self.rng, 4, 6), Action::Progress(c));
            }
            let at = match planned {
                Some(p) => p - Duration::days(10),
                None => self.now + day(&mut self.rng, 7, 24),
            };
            let at = at.min(programme_end() - Duration::days(4));
            self.cases[c].close_at = Some(at + Duration::days(3));
            self.agenda.push(at, Action::Reply(c));
            if planned_long {
                let end = quarter_start((self.now - super::first_day()).num_days() as usize / 91 + 1);
                let room = (end - self.now).num_hours() - 48;
                if room > 24 {
                    self.agenda.push(self.now + Duration::hours(self.rng.between(24, room)), Action::FollowUp(c));
                }
            }
        } else if self.rng.chance(0.5) {
            self.agenda.push(self.now + day(&mut self.rng, 2, 5), Action::Accept(c));
        }
        Ok(())
    }

    async fn accept(&mut self, c: usize) -> BoxResult<()> {
        let case = &self.cases[c];
        let mut client = self.units[case.unit].supervision.clone();
        call!(
            client,
            accept_case,
            spb::AcceptCaseRequest {
                id: case.id.clone(), note: "已签收，抓紧办理".into(), etag: String::new()
            },
            "AcceptCase"
        )?;
        self.last_write = self.now;
        Ok(())
    }

    async fn progress(&mut self, c: usize) -> BoxResult<()> {
        let case = &self.cases[c];
        let mut client = self.units[case.unit].supervision.clone();
        call!(
            client,
            record_progress,
            spb::RecordProgressRequest {
                id: case.id.clone(),
                text: "已召开专题会议研究，正在与相关企业和部门对接。".into(),
                etag: String::new(),
            },
            "RecordProgress"
        )?;
        self.last_write = self.now;
        Ok(())
    }

    async fn reply(&mut self, c: usize) -> BoxResult<()> {
        let case = self.cases[c].clone();
        let class = if case.planned_long || case.reopened {
            spb::ResultClass::A
        } else {
            match self.rng.weighted(&[62, 20, 11, 7]) {
                0 => spb::ResultClass::A,
                1 => spb::ResultClass::B,
                2 => spb::ResultClass::C,
                _ => spb::ResultClass::D,
            }
        };
        let code = CATEGORIES[case.category].code;
        let mut benefits = Vec::new();
        if !case.reopened {
            if class == spb::ResultClass::A {
                let headline = matches!(code, "finance_credit" | "logistics" | "patent");
                let solved = if headline && self.rng.chance(0.25) { 2 } else { 1 };
                benefits.push(spb::Benefit {
                    kind: spb::BenefitKind::ProblemSolved as i32,
                    problems_solved: solved,
                    description: "协调解决企业反映的问题".into(),
                    ..Default::default()
                });
            }
            let paying = matches!(class, spb::ResultClass::A | spb::ResultClass::B) && self.now > month_start(3);
            let tranche = match code {
                "finance_credit" if paying => self.interest.pop().map(|f| (spb::BenefitKind::InterestReduced, f)),
                "subsidy" | "project_award" if paying => self.subsidies.pop().map(|f| (spb::BenefitKind::Subsidy, f)),
                _ => None,
            };
            if let Some((kind, fen)) = tranche {
                let description = if kind == spb::BenefitKind::InterestReduced {
                    "推动金融机构为相关企业减免利息"
                } else {
                    "帮助企业获得补助资金"
                };
                benefits.push(money(kind, fen, description));
            }
        }
        let text = match class {
            spb::ResultClass::A => "经协调，企业反映的问题已解决。",
            spb::ResultClass::B => "已制定工作方案，问题正在解决中。",
            spb::ResultClass::C => "已列入明年工作计划，将分步解决。",
            _ => "受现行政策限制，暂不能解决，已向企业做好解释。",
        };
        let mut client = self.units[case.unit].supervision.clone();
        call!(
            client,
            reply_to_case,
            spb::ReplyToCaseRequest {
                id: case.id.clone(),
                reply: Some(spb::CaseReply {
                    result_class: class as i32,
                    text: text.into(),
                    reason: if class == spb::ResultClass::A {
                        String::new()
                    } else {
                        "受条件限制，需分步推进".into()
                    },
                    ..Default::default()
                }),
                benefits,
                etag: String::new(),
            },
            "ReplyToCase"
        )?;
        self.last_write = self.now;
        self.cases[c].replied = true;
        let at = self.now + Duration::hours(self.rng.between(48, 6 * 24));
        self.agenda.push(at, Action::Evaluate(c));
        Ok(())
    }

    async fn evaluate(&mut self, c: usize) -> BoxResult<()> {
        let case = self.cases[c].clone();
        let dissatisfied = !case.reopened
            && !case.planned_long
            && self.now < programme_end() - Duration::days(20)
            && self.rng.chance(0.06);
        let (result, comment) = if dissatisfied {
            (spb::EvaluationResult::Dissatisfied, "问题尚未实质解决，希望进一步协调。")
        } else if self.rng.chance(0.8) {
            (spb::EvaluationResult::Satisfied, "感谢有关部门的帮助。")
        } else {
            (spb::EvaluationResult::BasicallySatisfied, "基本满意，希望持续跟进。")
        };
        call!(
            self.staff.supervision,
            evaluate_case,
            spb::EvaluateCaseRequest {
                id: case.id.clone(),
                evaluation: Some(spb::CaseEvaluation {
                    result: result as i32,
                    comment: comment.into(),
                    ..Default::default()
                }),
                etag: String::new(),
            },
            "EvaluateCase"
        )?;
        self.last_write = self.now;
        if dissatisfied {
            self.cases[c].reopened = true;
            let at = self.now + Duration::days(self.rng.between(7, 12));
            self.cases[c].close_at = Some(at + Duration::days(8));
            self.agenda.push(at, Action::Reply(c));
        } else {
            let at = self.now + Duration::hours(self.rng.between(24, 72));
            self.agenda.push(at, Action::Close(c));
        }
        Ok(())
    }

    async fn close(&mut self, c: usize) -> BoxResult<()> {
        let id = self.cases[c].id.clone();
        call!(
            self.staff.supervision,
            close_case,
            spb::CloseCaseRequest { id, reason: "已答复并评价，予以办结".into(), etag: String::new() },
            "CloseCase"
        )?;
        self.last_write = self.now;
        self.cases[c].closed = true;
        Ok(())
    }

    async fn follow_up(&mut self, c: usize) -> BoxResult<()> {
        if self.cases[c].closed {
            return Ok(());
        }
        let method = 1 + self.rng.below(4) as i32;
        let supervisor = format!("member-{:03}", self.rng.below(MEMBERS));
        let organisation =
            if self.rng.chance(0.5) { ("zs-dcs", "市委督查室") } else { ("zs-zxjjw", "市政协经济委员会") };
        let key = self.key("follow-up");
        call!(
            self.staff.supervision,
            record_follow_up,
            spb::RecordFollowUpRequest {
                case_id: self.cases[c].id.clone(),
                follow_up: Some(spb::FollowUp {
                    method,
                    follow_time: Some(ts(self.now)),
                    supervisor_ids: vec![supervisor],
                    supervising_organisation: Some(OrganisationRef {
                        id: organisation.0.into(),
                        name: organisation.1.into(),
                        kind: OrganisationKind::SupervisionOffice as i32,
                    }),
                    findings: "承办单位正在推进，已明确时间表和责任人。".into(),
                    progress: "按计划推进中".into(),
                    ..Default::default()
                }),
                request_id: key,
            },
            "RecordFollowUp"
        )?;
        self.tally.follow_ups += 1;
        self.last_write = self.now;
        Ok(())
    }

    async fn plan(&mut self, year: i32) -> BoxResult<()> {
        let key = self.key("plan");
        let created = call!(
            self.staff.consultation,
            create_plan,
            cpb::CreatePlanRequest {
                plan: Some(cpb::Plan {
                    year,
                    title: format!("{year}年度市委市政府市政协重大协商计划"),
                    description: "将政企协商议题纳入年度重大协商计划，协商形式与协商内容相匹配。".into(),
                    ..Default::default()
                }),
                request_id: key,
            },
            "CreatePlan"
        )?;
        self.plans.insert(year, created.plan.map(|p| p.id).unwrap_or_default());
        self.last_write = self.now;
        Ok(())
    }

    async fn campaign(&mut self, n: usize) -> BoxResult<()> {
        let (kind, title, days, posts) = if n == 0 {
            (ipb::CampaignKind::Solicitation, "助力民营经济高质量发展网上建言献策征集", 91, PARTICIPANTS + 20)
        } else {
            (ipb::CampaignKind::ThemedDiscussion, "助力改善和优化我市旅游环境掌上主题议政", 31, 60)
        };
        let end = self.now + Duration::days(days);
        let key = self.key("campaign");
        let created = call!(
            self.staff.intake,
            create_campaign,
            ipb::CreateCampaignRequest {
                campaign: Some(ipb::Campaign {
                    kind: kind as i32,
                    title: title.into(),
                    description: "欢迎广大网民和政协委员在线建言献策。".into(),
                    start_time: Some(ts(self.now)),
                    end_time: Some(ts(end)),
                    ..Default::default()
                }),
                request_id: key,
            },
            "CreateCampaign"
        )?;
        self.campaigns.push(created.campaign.map(|c| c.id).unwrap_or_default());
        self.last_write = self.now;
        for i in 0..posts {
            let author = if n == 0 && i < PARTICIPANTS { i } else { self.rng.below(PARTICIPANTS) };
            let at = self.now + Duration::minutes(self.rng.between(30, (days - 2) * 24 * 60));
            self.agenda.push(at, Action::Post { campaign: n, author });
        }
        Ok(())
    }

    async fn post(&mut self, campaign: usize, author: usize) -> BoxResult<()> {
        let text = (*self.rng.pick(&data::POST_TEXTS)).to_owned();
        let key = self.key("post");
        let surname = *self.rng.pick(&data::SURNAMES);
        let mut client = self.authors[author].intake.clone();
        call!(
            client,
            create_campaign_post,
            ipb::CreateCampaignPostRequest {
                campaign_id: self.campaigns[campaign].clone(),
                post: Some(ipb::CampaignPost {
                    author_display_name: format!("{surname}网友{author}"),
                    title: "建言".into(),
                    text,
                    ..Default::default()
                }),
                request_id: key,
            },
            "CreateCampaignPost"
        )?;
        self.tally.posts += 1;
        self.last_write = self.now;
        Ok(())
    }

    /// Drafts topic `t` into its year's plan, adopts it and schedules its session a week later.
    async fn schedule(&mut self, t: usize) -> BoxResult<()> {
        let (title, format, leader, venue) = data::TOPICS[t];
        let year = if t < 7 { 2023 } else { 2024 };
        let plan_id = self.plans.get(&year).cloned().unwrap_or_default();
        let formed: Vec<&IssueSlot> = self.slots.iter().filter(|s| !s.id.is_empty()).collect();
        let issues: Vec<String> = formed.iter().rev().take(2 + t % 2).map(|s| s.id.clone()).collect();
        let key = self.key("topic");
        let topic = call!(
            self.staff.consultation,
            create_topic,
            cpb::CreateTopicRequest {
                topic: Some(cpb::Topic {
                    plan_id,
                    title: title.into(),
                    background: "企业反映集中的共性问题，纳入年度重大协商计划。".into(),
                    common_issue_ids: issues.clone(),
                    leader: Some(PersonRef { display_name: leader.into(), title: leader.into(), ..Default::default() }),
                    format,
                    lead_committee: "经济委员会".into(),
                    ..Default::default()
                }),
                request_id: key,
            },
            "CreateTopic"
        )?
        .topic
        .unwrap_or_default();
        call!(
            self.staff.consultation,
            adopt_topic,
            cpb::AdoptTopicRequest { id: topic.id.clone(), etag: String::new() },
            "AdoptTopic"
        )?;
        let start = self.now + Duration::days(7);
        let campaign_id = if format == cpb::SessionFormat::Online as i32 {
            self.campaigns.get(1).cloned().unwrap_or_default()
        } else {
            String::new()
        };
        let key = self.key("session");
        let session = call!(
            self.staff.consultation,
            schedule_session,
            cpb::ScheduleSessionRequest {
                session: Some(cpb::Session {
                    topic_id: topic.id.clone(),
                    title: format!("“{title}”专题协商"),
                    format,
                    venue: venue.into(),
                    start_time: Some(ts(start)),
                    end_time: Some(ts(start + Duration::hours(3))),
                    campaign_id,
                    ..Default::default()
                }),
                include_accepted_invitees: false,
                request_id: key,
            },
            "ScheduleSession"
        )?
        .session
        .unwrap_or_default();
        self.sessions.insert(t, (session.id, issues));
        self.last_write = self.now;
        self.agenda.push(start + Duration::minutes(30), Action::Hold(t));
        Ok(())
    }

    /// Holds topic `t`'s session: participants, the exchange (问、答、辩), minutes, and its suggestions.
    async fn hold(&mut self, t: usize) -> BoxResult<()> {
        let (title, format, leader, _) = data::TOPICS[t];
        let Some((session_id, issues)) = self.sessions.get(&t).cloned() else { return Ok(()) };
        let entrepreneurs = match format {
            1 => 10,
            2 => 4 + self.rng.below(3),
            _ => 0,
        };
        let mut participants = vec![
            cpb::Participant {
                role: cpb::ParticipantRole::Leader as i32,
                display_name: leader.into(),
                ..Default::default()
            },
            cpb::Participant {
                role: cpb::ParticipantRole::Member as i32,
                display_name: format!("{}委员", data::SURNAMES[t % 16]),
                person_id: format!("member-{:03}", t % MEMBERS),
                ..Default::default()
            },
        ];
        let unit = self.rng.below(UNITS.len());
        participants.push(cpb::Participant {
            role: cpb::ParticipantRole::Official as i32,
            display_name: UNITS[unit].2.into(),
            affiliation: UNITS[unit].1.into(),
            ..Default::default()
        });
        if t == 1 {
            for name in ["产业工人代表", "高技能人才代表"] {
                participants.push(cpb::Participant {
                    role: cpb::ParticipantRole::Worker as i32,
                    display_name: name.into(),
                    ..Default::default()
                });
            }
        }
        let mut chosen: Vec<usize> = Vec::new();
        while chosen.len() < entrepreneurs {
            let e = self.rng.below(VISITED);
            if !chosen.contains(&e) {
                chosen.push(e);
            }
        }
        for &e in &chosen {
            participants.push(cpb::Participant {
                role: cpb::ParticipantRole::Entrepreneur as i32,
                display_name: format!("{}负责人", self.enterprises[e].short),
                enterprise_id: self.enterprises[e].id.clone(),
                ..Default::default()
            });
        }
        let session = call!(
            self.staff.consultation,
            add_participants,
            cpb::AddParticipantsRequest { session_id: session_id.clone(), participants },
            "AddParticipants"
        )?
        .session
        .unwrap_or_default();
        let by_role = |role: cpb::ParticipantRole| -> Vec<String> {
            session.participants.iter().filter(|p| p.role == role as i32).map(|p| p.id.clone()).collect()
        };
        let leaders = by_role(cpb::ParticipantRole::Leader);
        let officials = by_role(cpb::ParticipantRole::Official);
        let members = by_role(cpb::ParticipantRole::Member);
        let speakers: Vec<String> =
            by_role(cpb::ParticipantRole::Entrepreneur).into_iter().take(if format == 1 { 4 } else { 3 }).collect();
        let mut exchange: Vec<(cpb::ContributionKind, String, String)> = Vec::new();
        if speakers.is_empty() {
            exchange.push((
                cpb::ContributionKind::Statement,
                members[0].clone(),
                "汇总网上建言献策情况，提出意见建议。".into(),
            ));
            exchange.push((
                cpb::ContributionKind::Answer,
                officials[0].clone(),
                "相关部门将认真研究吸收网民建议。".into(),
            ));
        }
        for (i, s) in speakers.iter().enumerate() {
            let kind = if i == 0 { cpb::ContributionKind::Statement } else { cpb::ContributionKind::Question };
            exchange.push((kind, s.clone(), format!("就“{title}”反映企业面临的实际困难，提出具体建议。")));
            let answerer = if i % 2 == 0 { &leaders[0] } else { &officials[0] };
            exchange.push((
                cpb::ContributionKind::Answer,
                answerer.clone(),
                "针对企业提出的问题，现场作出回应并明确责任部门。".into(),
            ));
            if format == 2 && i == 1 {
                exchange.push((
                    cpb::ContributionKind::Rebuttal,
                    s.clone(),
                    "希望进一步明确办理时限和具体措施。".into(),
                ));
            }
        }
        for (kind, speaker, text) in exchange {
            let key = self.key("contribution");
            call!(
                self.staff.consultation,
                record_contribution,
                cpb::RecordContributionRequest {
                    session_id: session_id.clone(),
                    contribution: Some(cpb::Contribution {
                        kind: kind as i32,
                        speaker_participant_id: speaker,
                        text,
                        ..Default::default()
                    }),
                    request_id: key,
                },
                "RecordContribution"
            )?;
        }
        call!(
            self.staff.consultation,
            close_session,
            cpb::CloseSessionRequest {
                session_id: session_id.clone(),
                minutes: format!("围绕“{title}”开展协商，企业家畅所欲言，有关领导和部门现场回应。"),
                attended_participant_ids: session.participants.iter().map(|p| p.id.clone()).collect(),
                conclusions: vec!["形成协商建议清单，报送党委政府".into(), "明确责任部门，会后跟踪督办".into()],
                etag: String::new(),
            },
            "CloseSession"
        )?;
        self.tally.sessions += 1;
        let category = match t % 5 {
            0 => 0,
            1 => 8,
            2 => 9,
            3 => 0,
            _ => 1,
        };
        for i in 0..(2 + self.rng.below(2)) {
            let key = self.key("suggestion");
            let suggestion_title = format!("关于{title}的建议（{}）", i + 1);
            let drafted = call!(
                self.staff.consultation,
                draft_suggestion,
                cpb::DraftSuggestionRequest {
                    suggestion: Some(cpb::Suggestion {
                        session_id: session_id.clone(),
                        title: suggestion_title.clone(),
                        text: "建议有关部门加强统筹协调，完善政策措施，切实解决企业反映的共性问题。".into(),
                        category: CATEGORIES[category].code.into(),
                        common_issue_ids: issues.clone(),
                        ..Default::default()
                    }),
                    request_id: key,
                },
                "DraftSuggestion"
            )?
            .suggestion
            .unwrap_or_default();
            call!(
                self.staff.consultation,
                submit_suggestion,
                cpb::SubmitSuggestionRequest {
                    id: drafted.id.clone(),
                    recipients: vec![
                        cpb::SuggestionRecipient::PartyCommittee as i32,
                        cpb::SuggestionRecipient::Government as i32,
                    ],
                    etag: String::new(),
                },
                "SubmitSuggestion"
            )?;
            self.pool.push_back(Source::Suggestion(self.suggestions.len()));
            self.suggestions.push(Paper { id: drafted.id, title: suggestion_title, category });
        }
        self.last_write = self.now;
        Ok(())
    }

    async fn report(&mut self, n: usize) -> BoxResult<()> {
        let title = data::REPORT_TITLES[n];
        let category = match n % 6 {
            0 | 2 => 0,
            1 => 9,
            3 => 1,
            4 => 2,
            _ => 3,
        };
        let suggestion_ids: Vec<String> = self.suggestions.iter().rev().take(2).map(|s| s.id.clone()).collect();
        let opinion_items = if suggestion_ids.is_empty() {
            vec!["社情民意：企业反映融资成本偏高".to_owned()]
        } else {
            Vec::new()
        };
        let key = self.key("report");
        let compiled = call!(
            self.staff.consultation,
            compile_special_report,
            cpb::CompileSpecialReportRequest {
                special_report: Some(cpb::SpecialReport {
                    title: title.into(),
                    text: format!("《{title}》：根据调研和企业反映，提出如下意见建议。"),
                    suggestion_ids,
                    opinion_items,
                    category: CATEGORIES[category].code.into(),
                    ..Default::default()
                }),
                request_id: key,
            },
            "CompileSpecialReport"
        )?
        .special_report
        .unwrap_or_default();
        let leaders = vec![
            PersonRef { display_name: "市委书记".into(), title: "市委书记".into(), ..Default::default() },
            PersonRef { display_name: "市长".into(), title: "市长".into(), ..Default::default() },
        ];
        call!(
            self.staff.consultation,
            send_special_report,
            cpb::SendSpecialReportRequest { id: compiled.id.clone(), leaders, etag: String::new() },
            "SendSpecialReport"
        )?;
        self.tally.special_reports += 1;
        self.last_write = self.now;
        let r = self.reports.len();
        self.reports.push(Paper { id: compiled.id, title: title.into(), category });
        if n % 6 != 5 {
            let at = self.now + Duration::days(self.rng.between(4, 10));
            self.agenda.push(at, Action::Instruct(r));
        }
        if n.is_multiple_of(2) {
            self.pool.push_back(Source::Report(r));
        }
        Ok(())
    }

    async fn instruct(&mut self, r: usize) -> BoxResult<()> {
        let key = self.key("instruction");
        let leader = if r.is_multiple_of(2) { "市委书记" } else { "市长" };
        call!(
            self.staff.consultation,
            record_instruction,
            cpb::RecordInstructionRequest {
                special_report_id: self.reports[r].id.clone(),
                instruction: Some(cpb::Instruction {
                    leader: Some(PersonRef { display_name: leader.into(), title: leader.into(), ..Default::default() }),
                    text: "请有关部门认真研究，提出具体措施，抓好落实。".into(),
                    instruction_date: Some(china_date(self.now)),
                    ..Default::default()
                }),
                request_id: key,
            },
            "RecordInstruction"
        )?;
        self.last_write = self.now;
        Ok(())
    }

    async fn rectify(&mut self, n: usize) -> BoxResult<()> {
        let unit = self.rng.below(UNITS.len());
        let case_id =
            self.cases.iter().rev().find(|c| c.unit == unit && !c.replied).map(|c| c.id.clone()).unwrap_or_default();
        let problems = [
            "复工复产审批流程不畅",
            "惠企政策兑现不及时",
            "涉企收费不规范",
            "企业诉求办理推诿扯皮",
            "项目奖励资金拨付滞后",
        ];
        let problem = problems[n % problems.len()];
        let key = self.key("rectification");
        let issued = call!(
            self.staff.supervision,
            issue_rectification_order,
            spb::IssueRectificationOrderRequest {
                order: Some(spb::RectificationOrder {
                    department: Some(unit_ref(unit)),
                    case_id,
                    title: format!("{problem}问题整改"),
                    problem: format!("监督发现：{problem}，影响营商环境。"),
                    requirements: "限期整改到位，并书面报告整改情况。".into(),
                    deadline_time: Some(ts(self.now + Duration::days(45))),
                    ..Default::default()
                }),
                request_id: key,
            },
            "IssueRectificationOrder"
        )?;
        self.tally.rectifications += 1;
        self.last_write = self.now;
        let o = self.orders.len();
        self.orders.push((issued.order.map(|x| x.id).unwrap_or_default(), unit));
        if n < 19 {
            let at = self.now + Duration::days(self.rng.between(12, 30));
            self.agenda.push(at.min(programme_end() - Duration::days(3)), Action::RectificationReport(o));
        }
        Ok(())
    }

    async fn rectification_report(&mut self, o: usize) -> BoxResult<()> {
        let (id, unit) = self.orders[o].clone();
        let mut client = self.units[unit].supervision.clone();
        call!(
            client,
            report_rectification,
            spb::ReportRectificationRequest {
                id,
                report: Some(spb::RectificationReport {
                    text: "已完成整改，建立长效机制。".into(),
                    ..Default::default()
                }),
                etag: String::new(),
            },
            "ReportRectification"
        )?;
        self.last_write = self.now;
        if o < 16 {
            let at = self.now + Duration::days(self.rng.between(3, 8));
            self.agenda.push(at.min(programme_end()), Action::Verify(o));
        }
        Ok(())
    }

    async fn verify(&mut self, o: usize) -> BoxResult<()> {
        let id = self.orders[o].0.clone();
        call!(
            self.staff.supervision,
            verify_rectification,
            spb::VerifyRectificationRequest {
                id,
                verification: Some(spb::RectificationVerification {
                    passed: true,
                    comment: "经核查，整改到位，予以销号。".into(),
                    ..Default::default()
                }),
                etag: String::new(),
            },
            "VerifyRectification"
        )?;
        self.last_write = self.now;
        Ok(())
    }

    /// Records the benefits not yet handed out with a reply on replied cases of their category, so the
    /// totals are the seed's.
    async fn finish(&mut self) -> BoxResult<()> {
        let pending: Vec<(spb::BenefitKind, i64)> = self
            .interest
            .drain(..)
            .map(|f| (spb::BenefitKind::InterestReduced, f))
            .chain(self.subsidies.drain(..).map(|f| (spb::BenefitKind::Subsidy, f)))
            .collect();
        for (kind, fen) in pending {
            let wanted: &[&str] = if kind == spb::BenefitKind::InterestReduced {
                &["finance_credit"]
            } else {
                &["subsidy", "project_award"]
            };
            let case = self
                .cases
                .iter()
                .rev()
                .find(|c| c.replied && wanted.contains(&CATEGORIES[c.category].code))
                .or_else(|| self.cases.iter().rev().find(|c| c.replied))
                .map(|c| c.id.clone())
                .ok_or("no replied case to record a benefit on")?;
            let key = self.key("benefit");
            let description = if kind == spb::BenefitKind::InterestReduced {
                "推动金融机构为相关企业减免利息"
            } else {
                "帮助企业获得补助资金"
            };
            let mut benefit = money(kind, fen, description);
            benefit.category = wanted[0].into();
            call!(
                self.staff.supervision,
                record_benefit,
                spb::RecordBenefitRequest { case_id: case, benefit: Some(benefit), request_id: key },
                "RecordBenefit"
            )?;
            self.last_write = self.now;
        }
        Ok(())
    }

    /// The scorecards once analytics has consumed the programme: polled until their `as_of_time` is at
    /// or after `last_write` and no longer moves. `None` when analytics does not serve scorecards.
    pub async fn settled_scorecards(&mut self, last_write: DateTime<Utc>) -> BoxResult<Option<Scorecards>> {
        let deadline = std::time::Instant::now() + super::SETTLE_TIMEOUT;
        let mut previous: Option<prost_types::Timestamp> = None;
        loop {
            let card = match self.scorecard(PeriodKind::Year, 2024, 1).await {
                Ok(card) => card,
                Err(status) if status.code() == tonic::Code::Unimplemented => return Ok(None),
                Err(status) => return Err(format!("GetScorecard: {}", status.message()).into()),
            };
            let as_of = card.as_of_time;
            let caught_up = as_of.as_ref().is_some_and(|t| t.seconds >= last_write.timestamp());
            if caught_up && as_of == previous {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err("analytics did not catch up with the programme in time".into());
            }
            previous = as_of;
            tokio::time::sleep(super::SETTLE_POLL).await;
        }
        let fetch = |r: Result<apb::Scorecard, tonic::Status>| r.map_err(|s| format!("GetScorecard: {}", s.message()));
        Ok(Some(Scorecards {
            y2023: fetch(self.scorecard(PeriodKind::Year, 2023, 1).await)?,
            y2024: fetch(self.scorecard(PeriodKind::Year, 2024, 1).await)?,
            first_quarter: fetch(self.scorecard(PeriodKind::Quarter, 2023, 1).await)?,
            last_quarter: fetch(self.scorecard(PeriodKind::Quarter, 2024, 4).await)?,
        }))
    }

    async fn scorecard(&mut self, kind: PeriodKind, year: i32, number: i32) -> Result<apb::Scorecard, tonic::Status> {
        let number = if kind == PeriodKind::Year { 0 } else { number };
        let response = self
            .staff
            .analytics
            .get_scorecard(apb::GetScorecardRequest { period: Some(period(kind, year, number)), filter: None })
            .await?;
        Ok(response.into_inner().scorecard.unwrap_or_default())
    }
}

fn money(kind: spb::BenefitKind, fen: i64, description: &str) -> spb::Benefit {
    spb::Benefit {
        kind: kind as i32,
        amount: Some(Money { currency_code: "CNY".into(), minor_units: fen }),
        description: description.into(),
        ..Default::default()
    }
}
