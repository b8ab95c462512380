//! Consultation topics (协商议题): drawn from intake common issues, naming the leader who answers, the
//! format of consultation and the stakeholders affected (利益涉及谁就和谁商量).

use std::fmt;

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{optional_text, required_text};

/// Longest topic title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest background, in characters.
pub const MAX_BACKGROUND_CHARS: usize = 10_000;
/// Longest name of the leading special committee, in characters.
pub const MAX_COMMITTEE_CHARS: usize = 100;
/// Most common issues one topic is drawn from.
pub const MAX_COMMON_ISSUES: usize = 50;
/// Most stakeholders one topic names.
pub const MAX_STAKEHOLDERS: usize = 50;
/// Longest leader name or title, in characters.
pub const MAX_PERSON_CHARS: usize = 100;
/// Longest identifier of a leader or their organisation, in characters.
pub const MAX_PERSON_ID_CHARS: usize = 128;
/// Longest stakeholder code, in characters.
pub const MAX_STAKEHOLDER_CODE_CHARS: usize = 64;
/// Longest stakeholder name, in characters.
pub const MAX_STAKEHOLDER_NAME_CHARS: usize = 100;
/// Longest withdrawal reason, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;

/// The format of consultation (协商形式) of a topic or a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Face-to-face (面对面): entrepreneurs with the party secretary or the mayor.
    FaceToFace,
    /// Interactive (心贴心): the members' living room (委员会客厅) or the 民生议事堂.
    Interactive,
    /// Online (键对键).
    Online,
}

impl Format {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::FaceToFace => 1,
            Self::Interactive => 2,
            Self::Online => 3,
        }
    }

    /// From the contract's number; `None` for unspecified or unknown.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::FaceToFace,
            2 => Self::Interactive,
            3 => Self::Online,
            _ => return None,
        })
    }
}

/// Where a topic stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopicStatus {
    /// Drafted, not yet adopted (拟定).
    Proposed,
    /// Adopted into the plan (纳入计划).
    Adopted,
    /// Withdrawn with a reason (撤销). Final.
    Withdrawn,
}

impl TopicStatus {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Proposed => 1,
            Self::Adopted => 2,
            Self::Withdrawn => 3,
        }
    }

    /// From the contract's number; `None` for unspecified or unknown.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Proposed,
            2 => Self::Adopted,
            3 => Self::Withdrawn,
            _ => return None,
        })
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Proposed => "PROPOSED",
            Self::Adopted => "ADOPTED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    /// Adopting (纳入计划): only a proposed topic; FAILED_PRECONDITION naming the status otherwise.
    pub fn adopt(self, id: &str) -> Result<Self, ServiceError> {
        match self {
            Self::Proposed => Ok(Self::Adopted),
            other => Err(ServiceError::FailedPrecondition(format!(
                "topic {id} is {other}: only a PROPOSED topic can be adopted"
            ))),
        }
    }

    /// Withdrawing (撤销): a proposed or adopted topic; a withdrawn one stays as it ended.
    pub fn withdraw(self, id: &str) -> Result<Self, ServiceError> {
        match self {
            Self::Proposed | Self::Adopted => Ok(Self::Withdrawn),
            Self::Withdrawn => Err(ServiceError::FailedPrecondition(format!("topic {id} is already WITHDRAWN"))),
        }
    }

    /// `Ok` while the topic may still change (fields, experts, invitations); a withdrawn topic is
    /// kept as it ended.
    pub fn check_open(self, id: &str) -> Result<(), ServiceError> {
        match self {
            Self::Withdrawn => {
                Err(ServiceError::FailedPrecondition(format!("topic {id} is WITHDRAWN: it can no longer change")))
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for TopicStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What kind of stakeholder a topic affects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StakeholderKind {
    /// An industry (intake industry code).
    Industry,
    /// A district (intake district code).
    District,
    /// A group of people, e.g. 产业工人 (industrial workers).
    Group,
    /// One enterprise (its intake id).
    Enterprise,
}

impl StakeholderKind {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Industry => 1,
            Self::District => 2,
            Self::Group => 3,
            Self::Enterprise => 4,
        }
    }

    /// From the contract's number; `None` for unspecified or unknown.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Industry,
            2 => Self::District,
            3 => Self::Group,
            4 => Self::Enterprise,
            _ => return None,
        })
    }
}

/// A stakeholder affected by a topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stakeholder {
    /// What kind.
    pub kind: StakeholderKind,
    /// Its code (see [`StakeholderKind`]).
    pub code: String,
    /// Display name, e.g. 产业工人 (may be empty).
    pub name: String,
}

impl Stakeholder {
    /// The name to show: the display name, else the code.
    pub fn label(&self) -> &str {
        if self.name.is_empty() { &self.code } else { &self.name }
    }
}

/// The leader who answers a topic (回应领导).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Leader {
    /// Stable identifier, when known.
    pub id: String,
    /// Name, e.g. 张三.
    pub display_name: String,
    /// Position, e.g. 市长.
    pub title: String,
    /// The organisation the leader acts for, when known.
    pub organisation_id: String,
}

/// A common issue a topic is drawn from, with its title as intake gave it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawnFrom {
    /// The intake common issue's id.
    pub common_issue_id: String,
    /// Its title, copied when the topic was written.
    pub title: String,
}

/// A topic's fields as a request gives them, before any check.
#[derive(Debug, Clone, Copy, Default)]
pub struct TopicInput<'a> {
    /// The plan's id.
    pub plan_id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Background.
    pub background: &'a str,
    /// Intake common-issue ids.
    pub common_issue_ids: &'a [String],
    /// The leader, if given: (id, display name, title, organisation id).
    pub leader: Option<(&'a str, &'a str, &'a str, &'a str)>,
    /// Format number.
    pub format: i32,
    /// Stakeholders: (kind number, code, name).
    pub stakeholders: &'a [(i32, &'a str, &'a str)],
    /// Leading special committee.
    pub lead_committee: &'a str,
}

/// A topic's fields, every one checked. The common issues' titles are filled in once intake has
/// confirmed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// The plan it belongs to.
    pub plan_id: String,
    /// Title, e.g. 推进临港先进制造业高质量发展.
    pub title: String,
    /// Background (may be empty).
    pub background: String,
    /// The common issues it is drawn from, in the order given, without duplicates.
    pub common_issues: Vec<DrawnFrom>,
    /// The leader who answers.
    pub leader: Leader,
    /// The format of consultation.
    pub format: Format,
    /// Stakeholders affected, in the order given, without duplicates.
    pub stakeholders: Vec<Stakeholder>,
    /// The leading special committee (may be empty).
    pub lead_committee: String,
}

/// A UUID as the services issue them, or a violation on `field`.
fn identifier(raw: &str, field: &str, v: &mut Violations) -> Option<String> {
    match tingjian_runtime::wire::parse_id(raw, field) {
        Ok(id) => Some(id),
        Err(ServiceError::InvalidArgument(found)) => {
            for f in found {
                v.add(f.field, f.description);
            }
            None
        }
        Err(_) => {
            v.add(field, "must be an identifier returned by the service (a UUID)");
            None
        }
    }
}

impl NewTopic {
    /// Checks every field, reporting each problem under `prefix.<field>` (e.g. `topic.leader`).
    pub fn parse(input: &TopicInput<'_>, prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let plan_id = if input.plan_id.trim().is_empty() {
            v.add(field("plan_id"), "is required");
            None
        } else {
            identifier(input.plan_id, &field("plan_id"), &mut v)
        };
        let title = v.check(required_text(input.title, MAX_TITLE_CHARS, &field("title")));
        let background = v.check(optional_text(input.background, MAX_BACKGROUND_CHARS, &field("background")));
        let common_issues = parse_common_issue_ids(input.common_issue_ids, &field("common_issue_ids"), &mut v);
        let leader = parse_leader(input.leader, &field("leader"), &mut v);
        let format = Format::from_i32(input.format);
        if format.is_none() {
            v.add(field("format"), "is required: FACE_TO_FACE (面对面), INTERACTIVE (心贴心) or ONLINE (键对键)");
        }
        let stakeholders = parse_stakeholders(input.stakeholders, &field("stakeholders"), &mut v);
        let lead_committee =
            v.check(optional_text(input.lead_committee, MAX_COMMITTEE_CHARS, &field("lead_committee")));
        v.finish()?;
        let missing = || ServiceError::internal("a checked topic field is missing");
        Ok(Self {
            plan_id: plan_id.ok_or_else(missing)?,
            title: title.ok_or_else(missing)?,
            background: background.ok_or_else(missing)?,
            common_issues,
            leader: leader.ok_or_else(missing)?,
            format: format.ok_or_else(missing)?,
            stakeholders,
            lead_committee: lead_committee.ok_or_else(missing)?,
        })
    }

    /// The common issues' ids, in order.
    pub fn common_issue_ids(&self) -> Vec<String> {
        self.common_issues.iter().map(|c| c.common_issue_id.clone()).collect()
    }

    /// What identifies the request that created the topic, for idempotent retries: the same
    /// request id with another fingerprint is a different request.
    pub fn fingerprint(&self) -> String {
        let mut parts = vec![
            self.plan_id.clone(),
            self.title.clone(),
            self.background.clone(),
            self.common_issue_ids().join(","),
            self.leader.id.clone(),
            self.leader.display_name.clone(),
            self.leader.title.clone(),
            self.leader.organisation_id.clone(),
            self.format.as_i32().to_string(),
            self.lead_committee.clone(),
        ];
        parts.extend(self.stakeholders.iter().map(|s| format!("{}:{}:{}", s.kind.as_i32(), s.code, s.name)));
        let mut out = String::new();
        for part in parts {
            tingjian_runtime::fields::push_length_prefixed(&mut out, &part);
        }
        out
    }
}

/// Common-issue ids: at least one, each a UUID, duplicates dropped (first kept).
fn parse_common_issue_ids(raw: &[String], field: &str, v: &mut Violations) -> Vec<DrawnFrom> {
    if raw.is_empty() {
        v.add(field, "at least one common issue (共性问题) is required");
        return Vec::new();
    }
    if raw.len() > MAX_COMMON_ISSUES {
        v.add(field, format!("at most {MAX_COMMON_ISSUES} common issues are allowed"));
        return Vec::new();
    }
    let mut out: Vec<DrawnFrom> = Vec::new();
    for (i, id) in raw.iter().enumerate() {
        if let Some(id) = identifier(id, &format!("{field}[{i}]"), v)
            && !out.iter().any(|c| c.common_issue_id == id)
        {
            out.push(DrawnFrom { common_issue_id: id, title: String::new() });
        }
    }
    out
}

fn parse_leader(raw: Option<(&str, &str, &str, &str)>, field: &str, v: &mut Violations) -> Option<Leader> {
    let Some((id, display_name, title, organisation_id)) = raw else {
        v.add(field, "is required: name the leader who answers (display_name or title, e.g. 市长)");
        return None;
    };
    let id = v.check(optional_text(id, MAX_PERSON_ID_CHARS, &format!("{field}.id")));
    let display_name = v.check(optional_text(display_name, MAX_PERSON_CHARS, &format!("{field}.display_name")));
    let title = v.check(optional_text(title, MAX_PERSON_CHARS, &format!("{field}.title")));
    let organisation_id =
        v.check(optional_text(organisation_id, MAX_PERSON_ID_CHARS, &format!("{field}.organisation_id")));
    let leader = Leader { id: id?, display_name: display_name?, title: title?, organisation_id: organisation_id? };
    if leader.display_name.is_empty() && leader.title.is_empty() {
        v.add(field, "is required: name the leader who answers (display_name or title, e.g. 市长)");
        return None;
    }
    Some(leader)
}

fn parse_stakeholders(raw: &[(i32, &str, &str)], field: &str, v: &mut Violations) -> Vec<Stakeholder> {
    if raw.len() > MAX_STAKEHOLDERS {
        v.add(field, format!("at most {MAX_STAKEHOLDERS} stakeholders are allowed"));
        return Vec::new();
    }
    let mut out: Vec<Stakeholder> = Vec::new();
    for (i, (kind, code, name)) in raw.iter().enumerate() {
        let at = |name: &str| format!("{field}[{i}].{name}");
        let kind = StakeholderKind::from_i32(*kind);
        if kind.is_none() {
            v.add(at("kind"), "is required: INDUSTRY, DISTRICT, GROUP or ENTERPRISE");
        }
        let code = v.check(required_text(code, MAX_STAKEHOLDER_CODE_CHARS, &at("code")));
        let code = match (kind, code) {
            (Some(StakeholderKind::Enterprise), Some(code)) => identifier(&code, &at("code"), v),
            (_, code) => code,
        };
        let name = v.check(optional_text(name, MAX_STAKEHOLDER_NAME_CHARS, &at("name")));
        if let (Some(kind), Some(code), Some(name)) = (kind, code, name)
            && !out.iter().any(|s| s.kind == kind && s.code == code)
        {
            out.push(Stakeholder { kind, code, name });
        }
    }
    out
}

/// A withdrawal reason: required, at most [`MAX_REASON_CHARS`] characters.
pub fn parse_reason(raw: &str, field: &str) -> Result<String, ServiceError> {
    required_text(raw, MAX_REASON_CHARS, field).map_err(|v| ServiceError::InvalidArgument(vec![v]))
}

/// A stored topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic {
    /// Identifier.
    pub id: String,
    /// The checked fields, with the common issues' titles.
    pub fields: NewTopic,
    /// Where it stands.
    pub status: TopicStatus,
    /// Reason given when withdrawn.
    pub status_reason: String,
    /// Think-tank experts attached, in attaching order.
    pub expert_ids: Vec<String>,
    /// Sessions on it, by start time.
    pub session_ids: Vec<String>,
    /// Revision (the etag).
    pub version: i64,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// What a list of topics is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicFilter {
    /// Only topics of this plan.
    pub plan_id: Option<String>,
    /// Only topics in one of these statuses (empty: any).
    pub statuses: Vec<TopicStatus>,
    /// Only topics of this format.
    pub format: Option<Format>,
    /// Only topics drawn from this common issue.
    pub common_issue_id: Option<String>,
}

impl TopicFilter {
    /// A digest of the filter, binding page tokens to it.
    pub fn digest(&self) -> String {
        let statuses: Vec<String> = self.statuses.iter().map(|s| s.as_i32().to_string()).collect();
        format!(
            "{}|{}|{}|{}",
            self.plan_id.as_deref().unwrap_or(""),
            statuses.join(","),
            self.format.map_or(0, Format::as_i32),
            self.common_issue_id.as_deref().unwrap_or("")
        )
    }
}

/// Fields UpdateTopic may change.
pub const UPDATABLE: &[&str] =
    &["title", "background", "common_issue_ids", "leader", "format", "stakeholders", "lead_committee"];

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE: &str = "0190a0b0-0000-7000-8000-000000000001";
    const PLAN: &str = "0190a0b0-0000-7000-8000-000000000002";

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn a_topic_needs_a_plan_issues_a_leader_and_a_format() {
        let issues = vec![ISSUE.to_owned(), ISSUE.to_owned()];
        let groups = [(3, "industrial_workers", "产业工人"), (3, "industrial_workers", "")];
        let input = TopicInput {
            plan_id: PLAN,
            title: " 远洋渔业企业融资成本协商 ",
            common_issue_ids: &issues,
            leader: Some(("", "", "市长", "")),
            format: 1,
            stakeholders: &groups,
            ..Default::default()
        };
        let topic = NewTopic::parse(&input, "topic").expect("valid");
        assert_eq!(topic.title, "远洋渔业企业融资成本协商");
        assert_eq!(topic.common_issue_ids(), [ISSUE], "duplicates dropped");
        assert_eq!(topic.stakeholders.len(), 1);

        let bad = ["not-an-id".to_owned()];
        let stake = [(0, "", "")];
        let input = TopicInput {
            common_issue_ids: &bad,
            leader: Some(("", " ", "", "")),
            stakeholders: &stake,
            ..Default::default()
        };
        assert_eq!(
            fields(NewTopic::parse(&input, "topic").expect_err("invalid")),
            [
                "topic.plan_id",
                "topic.title",
                "topic.common_issue_ids[0]",
                "topic.leader",
                "topic.format",
                "topic.stakeholders[0].kind",
                "topic.stakeholders[0].code"
            ]
        );
    }

    #[test]
    fn only_a_proposed_topic_is_adopted_and_a_withdrawn_one_is_final() {
        assert_eq!(TopicStatus::Proposed.adopt("t").expect("adopt"), TopicStatus::Adopted);
        assert!(TopicStatus::Adopted.adopt("t").is_err());
        assert_eq!(TopicStatus::Adopted.withdraw("t").expect("withdraw"), TopicStatus::Withdrawn);
        let ServiceError::FailedPrecondition(message) = TopicStatus::Withdrawn.withdraw("t").expect_err("final") else {
            panic!("expected failed precondition")
        };
        assert!(message.contains("WITHDRAWN"));
        assert!(TopicStatus::Withdrawn.check_open("t").is_err());
    }
}
