//! What the analytics tests share: the service with a store on its database, event envelopes of the
//! producers' payloads built at chosen instants, and readers of the figures as an analyst.

use chrono::{DateTime, TimeZone as _, Utc};
use prost::Message;
use tingjian_analytics::store::Store;
use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use tingjian_proto::common::v1::{Event, Money, OrganisationKind, OrganisationRef, Period, PeriodKind, Rate};
use tingjian_proto::consultation::v1 as consultation;
use tingjian_proto::intake::v1 as intake;
use tingjian_proto::supervision::v1 as supervision;
use tingjian_runtime::Role;
use tingjian_tests::{Identity, StorageBackend, TestService, spawn};
use tonic::transport::Channel;

/// The analytics API's client.
pub type Client = AnalyticsServiceClient<Channel>;

/// The analytics service with a store on the same database, to feed events directly.
pub struct Harness {
    /// The running service.
    pub service: TestService,
    /// The store the events are ingested through.
    pub store: Store,
    /// The API's client.
    pub client: Client,
}

/// An analyst (who reads figures).
pub fn analyst() -> Identity {
    Identity::new("analyst-chen", "zs-zxb", &[Role::Analyst])
}

/// A system administrator (who rebuilds rollups).
pub fn admin() -> Identity {
    Identity::new("admin-sun", "zs-zxb", &[Role::SystemAdmin])
}

/// An enterprise's own account.
pub fn enterprise_user() -> Identity {
    Identity::new("91330900MA28K1234X", "ent-haifeng", &[Role::Enterprise])
}

impl Harness {
    /// The service on a fresh database on `backend`; `None` when PostgreSQL is not reachable outside CI.
    pub async fn start(backend: StorageBackend) -> Option<Self> {
        let service = spawn(&tingjian_analytics::MODULE, backend).await?;
        let store = Store::new(service.database.db.clone());
        let client = AnalyticsServiceClient::new(service.channel.clone());
        Some(Self { service, store, client })
    }

    /// `message` as a request by `who`.
    pub fn as_<T>(&self, who: &Identity, message: T) -> tonic::Request<T> {
        self.service.request_as(message, who)
    }

    /// Ingests `event`; whether it was applied (false for an id seen before).
    pub async fn ingest(&self, event: &Event) -> bool {
        self.store
            .ingest(event)
            .await
            .unwrap_or_else(|e| panic!("event {} ({}) ingested: {e:?}", event.id, event.r#type))
    }

    /// Ingests every event in order; each must be new.
    pub async fn feed(&self, events: &[Event]) {
        for event in events {
            assert!(self.ingest(event).await, "event {} ({}) is new", event.id, event.r#type);
        }
    }

    /// The scorecard of `period` filtered by `filter`, as an analyst.
    pub async fn scorecard(&mut self, period: Period, filter: pb::ScorecardFilter) -> pb::Scorecard {
        let request = pb::GetScorecardRequest { period: Some(period), filter: Some(filter) };
        let request = self.as_(&analyst(), request);
        self.client.get_scorecard(request).await.expect("scorecard").into_inner().scorecard.expect("scorecard set")
    }

    /// The unfiltered scorecard of `period`.
    pub async fn card(&mut self, period: Period) -> pb::Scorecard {
        self.scorecard(period, pb::ScorecardFilter::default()).await
    }

    /// A breakdown of `metric` in `period` by `dimension`.
    pub async fn breakdown(
        &mut self,
        metric: pb::Metric,
        period: Period,
        dimension: pb::Dimension,
        filter: pb::ScorecardFilter,
    ) -> pb::GetBreakdownResponse {
        let request = pb::GetBreakdownRequest {
            metric: metric as i32,
            period: Some(period),
            dimension: dimension as i32,
            filter: Some(filter),
            limit: 0,
        };
        let request = self.as_(&analyst(), request);
        self.client.get_breakdown(request).await.expect("breakdown").into_inner()
    }

    /// The ranking of units by `metric` in `period`: one page.
    pub async fn rankings(&mut self, request: pb::ListUnitRankingsRequest) -> pb::ListUnitRankingsResponse {
        let request = self.as_(&analyst(), request);
        self.client.list_unit_rankings(request).await.expect("rankings").into_inner()
    }

    /// `metric` over the periods from `start` to `end`.
    pub async fn series(&mut self, metric: pb::Metric, start: Period, end: Period) -> Vec<pb::SeriesPoint> {
        let request = pb::GetSeriesRequest {
            metric: metric as i32,
            start_period: Some(start),
            end_period: Some(end),
            filter: None,
        };
        let request = self.as_(&analyst(), request);
        self.client.get_series(request).await.expect("series").into_inner().points
    }

    /// Rebuilds the rollups as a system administrator.
    pub async fn rebuild(&mut self, dry_run: bool) -> pb::RebuildRollupsResponse {
        let request = self.as_(&admin(), pb::RebuildRollupsRequest { dry_run });
        self.client.rebuild_rollups(request).await.expect("rebuild").into_inner()
    }
}

/// A month of 2024 or another year.
pub fn month(year: i32, number: i32) -> Period {
    Period { kind: PeriodKind::Month as i32, year, number }
}

/// A quarter.
pub fn quarter(year: i32, number: i32) -> Period {
    Period { kind: PeriodKind::Quarter as i32, year, number }
}

/// A year.
pub fn year(year: i32) -> Period {
    Period { kind: PeriodKind::Year as i32, year, number: 0 }
}

/// No filter.
pub fn all() -> pb::ScorecardFilter {
    pb::ScorecardFilter::default()
}

/// Filter on a district.
pub fn district(code: &str) -> pb::ScorecardFilter {
    pb::ScorecardFilter { district: code.into(), ..Default::default() }
}

/// Filter on a category.
pub fn category(code: &str) -> pb::ScorecardFilter {
    pb::ScorecardFilter { category: code.into(), ..Default::default() }
}

/// Filter on a handling unit.
pub fn unit_filter(id: &str) -> pb::ScorecardFilter {
    pb::ScorecardFilter { unit_id: id.into(), ..Default::default() }
}

/// A rate's (numerator, denominator); (0, 0) when unset.
pub fn parts(rate: &Option<Rate>) -> (i64, i64) {
    rate.as_ref().map_or((0, 0), |r| (r.numerator, r.denominator))
}

/// A rate's (numerator, denominator), checking that its value is their quotient.
pub fn rate(rate: &Option<Rate>) -> (i64, i64) {
    let (n, d) = parts(rate);
    if let Some(r) = rate {
        let expected = if d == 0 { 0.0 } else { n as f64 / d as f64 };
        assert!((r.value - expected).abs() < 1e-9, "rate value {} is not {n}/{d}", r.value);
    }
    (n, d)
}

/// The (numerator, denominator) of a figure's rate, checking its value; (0, 0) when unset.
pub fn rate_of(value: Option<&pb::MetricValue>) -> (i64, i64) {
    let Some(value) = value else { return (0, 0) };
    let parts = rate(&value.rate);
    let expected = if parts.1 == 0 { 0.0 } else { parts.0 as f64 / parts.1 as f64 };
    assert!((value.value - expected).abs() < 1e-9, "value {} is not {}/{}", value.value, parts.0, parts.1);
    parts
}

/// The value of a figure; -1 when unset.
pub fn value_of(value: Option<&pb::MetricValue>) -> f64 {
    value.map_or(-1.0, |v| v.value)
}

/// An amount in fen; 0 when unset.
pub fn fen(money: &Option<Money>) -> i64 {
    money.as_ref().map_or(0, |m| m.minor_units)
}

/// Seconds of a duration; `None` when unset.
pub fn seconds(duration: &Option<prost_types::Duration>) -> Option<i64> {
    duration.as_ref().map(|d| d.seconds)
}

/// Whether `metric` is listed as not applicable.
pub fn not_applicable(card: &pb::Scorecard, metric: pb::Metric) -> bool {
    card.not_applicable.contains(&(metric as i32))
}

/// `y-m-d h:mi` in Asia/Shanghai as a UTC instant.
pub fn china(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|z| z.with_ymd_and_hms(y, m, d, h, mi, 0).single())
        .map(|t| t.with_timezone(&Utc))
        .expect("valid instant")
}

/// A protobuf timestamp.
pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: 0 }
}

/// An envelope of `service`'s `event` about `subject` that happened at `time`, carrying `data` of the
/// message `schema`.
pub fn envelope(
    service: &str,
    event: &str,
    subject: &str,
    time: DateTime<Utc>,
    schema: &str,
    data: &impl Message,
) -> Event {
    Event {
        id: tingjian_runtime::wire::new_id(),
        source: format!("/tingjian/{service}"),
        r#type: format!("tingjian.{service}.{event}"),
        subject: subject.into(),
        time: Some(ts(time)),
        data_content_type: "application/protobuf".into(),
        data_schema: schema.into(),
        data: data.encode_to_vec(),
        spec_version: "1.0".into(),
        ..Default::default()
    }
}

// ---- intake ----

/// EnterpriseRegistered.
pub fn enterprise_registered(id: &str, name: &str, district: &str, industry: &str, at: DateTime<Utc>) -> Event {
    let payload = intake::EnterpriseRegistered {
        enterprise_id: id.into(),
        name: name.into(),
        district: district.into(),
        industry: industry.into(),
        size: intake::EnterpriseSize::Medium as i32,
        monitoring_point: false,
        actor: "staff-wang".into(),
    };
    envelope(
        "intake",
        "enterprise_registered",
        &format!("enterprises/{id}"),
        at,
        "tingjian.intake.v1.EnterpriseRegistered",
        &payload,
    )
}

/// ContactLogged: a visit that took place at `at` (logged an hour later).
pub fn contact(
    id: &str,
    enterprise: &str,
    district: &str,
    industry: &str,
    at: DateTime<Utc>,
    person_times: i32,
) -> Event {
    let payload = intake::ContactLogged {
        contact_id: id.into(),
        enterprise_id: enterprise.into(),
        channel: intake::ContactChannel::Visit as i32,
        contact_time: Some(ts(at)),
        briefed_person_times: person_times,
        policies_briefed_count: 1,
        member_ids: vec!["member-li".into()],
        district: district.into(),
        industry: industry.into(),
        actor: "member-li".into(),
    };
    let logged = at + chrono::Duration::hours(1);
    envelope(
        "intake",
        "contact_logged",
        &format!("enterprises/{enterprise}"),
        logged,
        "tingjian.intake.v1.ContactLogged",
        &payload,
    )
}

/// The dimensions of a demand.
#[derive(Debug, Clone, Copy)]
pub struct DemandDims<'a> {
    /// Its enterprise.
    pub enterprise: &'a str,
    /// District code.
    pub district: &'a str,
    /// Industry code.
    pub industry: &'a str,
    /// Category code.
    pub category: &'a str,
    /// Channel.
    pub channel: intake::DemandChannel,
}

/// DemandSubmitted.
pub fn demand_submitted(id: &str, dims: DemandDims<'_>, at: DateTime<Utc>) -> Event {
    let payload = intake::DemandSubmitted {
        demand_id: id.into(),
        enterprise_id: dims.enterprise.into(),
        title: format!("诉求{id}"),
        category: dims.category.into(),
        channel: dims.channel as i32,
        district: dims.district.into(),
        industry: dims.industry.into(),
        submitter: "member-li".into(),
        ..Default::default()
    };
    envelope("intake", "demand_submitted", &format!("demands/{id}"), at, "tingjian.intake.v1.DemandSubmitted", &payload)
}

/// DemandUpdated: the category changed.
pub fn demand_recategorised(id: &str, from: &str, to: &str, at: DateTime<Utc>) -> Event {
    let payload = intake::DemandUpdated {
        demand_id: id.into(),
        category: to.into(),
        previous_category: from.into(),
        reason: "重新分类".into(),
        actor: "staff-wang".into(),
        ..Default::default()
    };
    envelope("intake", "demand_updated", &format!("demands/{id}"), at, "tingjian.intake.v1.DemandUpdated", &payload)
}

/// CommonIssueFormed.
pub fn common_issue_formed(id: &str, category: &str, demands: &[&str], at: DateTime<Utc>) -> Event {
    let payload = intake::CommonIssueFormed {
        common_issue_id: id.into(),
        title: format!("共性问题{id}"),
        category: category.into(),
        demand_ids: demands.iter().map(|d| (*d).to_owned()).collect(),
        reason: "合并同类项".into(),
        actor: "staff-wang".into(),
        ..Default::default()
    };
    envelope(
        "intake",
        "common_issue_formed",
        &format!("common_issues/{id}"),
        at,
        "tingjian.intake.v1.CommonIssueFormed",
        &payload,
    )
}

/// CommonIssueChanged: `added` joined; `members` are all members after.
pub fn common_issue_changed(id: &str, added: &[&str], members: &[&str], at: DateTime<Utc>) -> Event {
    let payload = intake::CommonIssueChanged {
        common_issue_id: id.into(),
        action: intake::CommonIssueAction::DemandsAdded as i32,
        demand_ids: added.iter().map(|d| (*d).to_owned()).collect(),
        member_demand_ids: members.iter().map(|d| (*d).to_owned()).collect(),
        reason: "补充同类诉求".into(),
        actor: "staff-wang".into(),
        ..Default::default()
    };
    envelope(
        "intake",
        "common_issue_changed",
        &format!("common_issues/{id}"),
        at,
        "tingjian.intake.v1.CommonIssueChanged",
        &payload,
    )
}

/// CampaignPostCreated.
pub fn post(id: &str, author: &str, at: DateTime<Utc>) -> Event {
    let payload = intake::CampaignPostCreated {
        post_id: id.into(),
        campaign_id: "campaign-2024".into(),
        author: author.into(),
        author_kind: intake::PostAuthorKind::Netizen as i32,
        enterprise_id: String::new(),
    };
    envelope(
        "intake",
        "campaign_post_created",
        "campaigns/campaign-2024",
        at,
        "tingjian.intake.v1.CampaignPostCreated",
        &payload,
    )
}

/// CampaignPostPromoted.
pub fn post_promoted(id: &str, demand: &str, at: DateTime<Utc>) -> Event {
    let payload = intake::CampaignPostPromoted {
        post_id: id.into(),
        campaign_id: "campaign-2024".into(),
        demand_id: demand.into(),
        actor: "staff-wang".into(),
    };
    envelope(
        "intake",
        "campaign_post_promoted",
        "campaigns/campaign-2024",
        at,
        "tingjian.intake.v1.CampaignPostPromoted",
        &payload,
    )
}

// ---- consultation ----

/// SessionClosed with these speaking enterprises (repeats allowed).
pub fn session_closed(id: &str, format: consultation::SessionFormat, speakers: &[&str], at: DateTime<Utc>) -> Event {
    let payload = consultation::SessionClosed {
        session_id: id.into(),
        topic_id: "topic-financing".into(),
        format: format as i32,
        attendee_count: 20,
        speaking_enterprise_ids: speakers.iter().map(|s| (*s).to_owned()).collect(),
        actor: "staff-wang".into(),
        ..Default::default()
    };
    envelope(
        "consultation",
        "session_closed",
        &format!("sessions/{id}"),
        at,
        "tingjian.consultation.v1.SessionClosed",
        &payload,
    )
}

/// SuggestionSubmitted.
pub fn suggestion(id: &str, category: &str, at: DateTime<Utc>) -> Event {
    let payload = consultation::SuggestionSubmitted {
        suggestion_id: id.into(),
        title: format!("建议{id}"),
        category: category.into(),
        actor: "member-li".into(),
        ..Default::default()
    };
    envelope(
        "consultation",
        "suggestion_submitted",
        &format!("suggestions/{id}"),
        at,
        "tingjian.consultation.v1.SuggestionSubmitted",
        &payload,
    )
}

/// SpecialReportSent.
pub fn special_report(id: &str, category: &str, at: DateTime<Utc>) -> Event {
    let payload = consultation::SpecialReportSent {
        special_report_id: id.into(),
        title: format!("专报{id}"),
        category: category.into(),
        actor: "staff-wang".into(),
        ..Default::default()
    };
    envelope(
        "consultation",
        "special_report_sent",
        &format!("special_reports/{id}"),
        at,
        "tingjian.consultation.v1.SpecialReportSent",
        &payload,
    )
}

/// InstructionRecorded.
pub fn instruction(report: &str, first: bool, at: DateTime<Utc>) -> Event {
    let payload = consultation::InstructionRecorded {
        special_report_id: report.into(),
        instruction_id: tingjian_runtime::wire::new_id(),
        first_instruction: first,
        actor: "leader-mayor".into(),
        ..Default::default()
    };
    envelope(
        "consultation",
        "instruction_recorded",
        &format!("special_reports/{report}"),
        at,
        "tingjian.consultation.v1.InstructionRecorded",
        &payload,
    )
}

// ---- supervision ----

/// A handling unit.
pub fn unit(id: &str) -> OrganisationRef {
    let name = match id {
        "zs-jrb" => "舟山市人民政府金融工作办公室",
        "zs-jtj" => "舟山市交通运输局",
        "zs-jxj" => "舟山市经济和信息化局",
        "zs-sw" => "舟山市商务局",
        other => other,
    };
    OrganisationRef { id: id.into(), name: name.into(), kind: OrganisationKind::HandlingUnit as i32 }
}

/// What a case is about: its lead unit, enterprise and dimensions, and when it was (last) dispatched.
#[derive(Debug, Clone)]
pub struct CaseFacts {
    /// The case's id.
    pub id: String,
    /// The lead unit's id.
    pub unit: String,
    /// The enterprise.
    pub enterprise: String,
    /// District code.
    pub district: String,
    /// Industry code.
    pub industry: String,
    /// Category code.
    pub category: String,
    /// The (last) dispatch.
    pub dispatched: DateTime<Utc>,
}

impl CaseFacts {
    /// A case led by `unit` dispatched at `dispatched`.
    pub fn new(id: &str, unit: &str, dims: (&str, &str, &str), dispatched: DateTime<Utc>) -> Self {
        Self {
            id: id.into(),
            unit: unit.into(),
            enterprise: format!("ent-{id}"),
            district: dims.0.into(),
            industry: dims.1.into(),
            category: dims.2.into(),
            dispatched,
        }
    }

    /// The case of `enterprise`.
    pub fn of(mut self, enterprise: &str) -> Self {
        self.enterprise = enterprise.into();
        self
    }

    /// The context as it stands with `status`.
    pub fn context(&self, status: supervision::CaseStatus) -> supervision::CaseContext {
        supervision::CaseContext {
            case_id: self.id.clone(),
            source: Some(supervision::CaseSource {
                kind: supervision::CaseSourceKind::Demand as i32,
                source_id: format!("demand-of-{}", self.id),
                source_title: "企业诉求".into(),
            }),
            lead_unit: Some(unit(&self.unit)),
            enterprise_id: self.enterprise.clone(),
            category: self.category.clone(),
            district: self.district.clone(),
            industry: self.industry.clone(),
            dispatch_time: Some(ts(self.dispatched)),
            deadline_time: Some(ts(self.dispatched + chrono::Duration::days(21))),
            status: status as i32,
            discipline_inspection: false,
        }
    }

    fn event(&self, name: &str, message: &str, at: DateTime<Utc>, data: &impl Message) -> Event {
        envelope(
            "supervision",
            name,
            &format!("cases/{}", self.id),
            at,
            &format!("tingjian.supervision.v1.{message}"),
            data,
        )
    }

    /// CaseDispatched at the dispatch time.
    pub fn dispatched(&self) -> Event {
        let payload = supervision::CaseDispatched {
            context: Some(self.context(supervision::CaseStatus::Dispatched)),
            title: format!("案件{}", self.id),
            actor: "staff-li".into(),
            ..Default::default()
        };
        self.event("case_dispatched", "CaseDispatched", self.dispatched, &payload)
    }

    /// CaseReturned by the current unit at `at`.
    pub fn returned(&self, at: DateTime<Utc>) -> Event {
        let payload = supervision::CaseReturned {
            context: Some(self.context(supervision::CaseStatus::Returned)),
            reason: "非本单位职责".into(),
            actor: format!("officer-{}", self.unit),
        };
        self.event("case_returned", "CaseReturned", at, &payload)
    }

    /// CaseReassigned: this case (with its new unit and dispatch time) from `previous`.
    pub fn reassigned(&self, previous: &str) -> Event {
        let payload = supervision::CaseReassigned {
            context: Some(self.context(supervision::CaseStatus::Dispatched)),
            previous_lead_unit: Some(unit(previous)),
            reason: "改派".into(),
            actor: "staff-li".into(),
        };
        self.event("case_reassigned", "CaseReassigned", self.dispatched, &payload)
    }

    /// CaseReplied at `at`.
    pub fn replied(&self, class: supervision::ResultClass, first: bool, on_time: bool, at: DateTime<Utc>) -> Event {
        let handling = (at - self.dispatched).num_seconds();
        let payload = supervision::CaseReplied {
            context: Some(self.context(supervision::CaseStatus::Replied)),
            result_class: class as i32,
            reason: if class == supervision::ResultClass::D { "条件所限".into() } else { String::new() },
            first_reply: first,
            on_time,
            handling_duration: Some(prost_types::Duration { seconds: handling, nanos: 0 }),
            actor: format!("officer-{}", self.unit),
        };
        self.event("case_replied", "CaseReplied", at, &payload)
    }

    /// CaseEvaluated at `at`.
    pub fn evaluated(&self, result: supervision::EvaluationResult, reopened: bool, at: DateTime<Utc>) -> Event {
        let status = if reopened { supervision::CaseStatus::InProgress } else { supervision::CaseStatus::Evaluated };
        let payload = supervision::CaseEvaluated {
            context: Some(self.context(status)),
            result: result as i32,
            reopened,
            escalated: false,
            reopen_count: i32::from(reopened),
            actor: "91330900MA28K1234X".into(),
        };
        self.event("case_evaluated", "CaseEvaluated", at, &payload)
    }

    /// CaseWarningRaised at `at`.
    pub fn warning(&self, level: supervision::WarningLevel, at: DateTime<Utc>) -> Event {
        let payload = supervision::CaseWarningRaised {
            context: Some(self.context(supervision::CaseStatus::InProgress)),
            level: level as i32,
        };
        self.event("case_warning_raised", "CaseWarningRaised", at, &payload)
    }

    /// CaseBecameLongRunning since `since` (reported then).
    pub fn long_running(&self, since: DateTime<Utc>) -> Event {
        let payload = supervision::CaseBecameLongRunning {
            context: Some(self.context(supervision::CaseStatus::InProgress)),
            since_time: Some(ts(since)),
        };
        self.event("case_became_long_running", "CaseBecameLongRunning", since, &payload)
    }

    /// CaseClosed at `at`.
    pub fn closed(&self, long_running: bool, at: DateTime<Utc>) -> Event {
        let payload = supervision::CaseClosed {
            context: Some(self.context(supervision::CaseStatus::Closed)),
            result_class: supervision::ResultClass::A as i32,
            long_running,
            reason: "办结".into(),
            actor: "supervisor-zhao".into(),
            ..Default::default()
        };
        self.event("case_closed", "CaseClosed", at, &payload)
    }

    /// FollowUpRecorded at `at` for quarter `q` of `y`.
    pub fn followed(&self, y: i32, q: i32, at: DateTime<Utc>) -> Event {
        let payload = supervision::FollowUpRecorded {
            context: Some(self.context(supervision::CaseStatus::InProgress)),
            follow_up_id: tingjian_runtime::wire::new_id(),
            method: supervision::FollowUpMethod::OnSite as i32,
            follow_time: Some(ts(at)),
            quarter: Some(quarter(y, q)),
            task_id: format!("task-{}-{y}-{q}", self.id),
            actor: "supervisor-zhao".into(),
        };
        self.event("follow_up_recorded", "FollowUpRecorded", at, &payload)
    }

    /// QuarterMissed for quarter `q` of `y`, recorded at `at`.
    pub fn missed(&self, y: i32, q: i32, at: DateTime<Utc>) -> Event {
        let payload = supervision::QuarterMissed {
            context: Some(self.context(supervision::CaseStatus::InProgress)),
            task_id: format!("task-{}-{y}-{q}", self.id),
            quarter: Some(quarter(y, q)),
        };
        self.event("quarter_missed", "QuarterMissed", at, &payload)
    }

    /// BenefitRecorded at `at`.
    pub fn benefit(&self, benefit: supervision::Benefit, at: DateTime<Utc>) -> Event {
        let benefit = supervision::Benefit {
            id: tingjian_runtime::wire::new_id(),
            case_id: self.id.clone(),
            create_time: Some(ts(at)),
            recorded_by: format!("officer-{}", self.unit),
            ..benefit
        };
        let payload = supervision::BenefitRecorded {
            context: Some(self.context(supervision::CaseStatus::Replied)),
            benefit: Some(benefit),
            actor: format!("officer-{}", self.unit),
        };
        self.event("benefit_recorded", "BenefitRecorded", at, &payload)
    }
}

/// A money benefit of `kind` of `fen`.
pub fn money(kind: supervision::BenefitKind, fen: i64) -> supervision::Benefit {
    supervision::Benefit {
        kind: kind as i32,
        amount: Some(Money { currency_code: "CNY".into(), minor_units: fen }),
        description: "减免融资成本".into(),
        ..Default::default()
    }
}

/// Problems solved in `category` ("" = the case's).
pub fn problems(n: i32, category: &str) -> supervision::Benefit {
    supervision::Benefit {
        kind: supervision::BenefitKind::ProblemSolved as i32,
        problems_solved: n,
        category: category.into(),
        description: "协调解决".into(),
        ..Default::default()
    }
}

/// RectificationOrderIssued to `department` at `at`.
pub fn rectification_issued(id: &str, department: &str, at: DateTime<Utc>) -> Event {
    let payload = supervision::RectificationOrderIssued {
        order_id: id.into(),
        issuer_kind: supervision::RectificationIssuerKind::DisciplineInspection as i32,
        department: Some(unit(department)),
        deadline_time: Some(ts(at + chrono::Duration::days(30))),
        actor: "jw-system".into(),
        ..Default::default()
    };
    envelope(
        "supervision",
        "rectification_order_issued",
        &format!("rectification_orders/{id}"),
        at,
        "tingjian.supervision.v1.RectificationOrderIssued",
        &payload,
    )
}

/// RectificationVerified, passed or not, at `at`.
pub fn rectification_verified(id: &str, department: &str, passed: bool, at: DateTime<Utc>) -> Event {
    let payload = supervision::RectificationVerified {
        order_id: id.into(),
        issuer_kind: supervision::RectificationIssuerKind::DisciplineInspection as i32,
        department: Some(unit(department)),
        passed,
        overdue: false,
        actor: "jw-system".into(),
    };
    envelope(
        "supervision",
        "rectification_verified",
        &format!("rectification_orders/{id}"),
        at,
        "tingjian.supervision.v1.RectificationVerified",
        &payload,
    )
}
