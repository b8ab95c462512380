//! Invitations to consult on a topic, by the stakeholder principle (利益涉及谁就和谁商量): enterprises
//! with demands in the topic's common issues first, then enterprises of the affected industries and
//! districts, then the named groups; staff accept, drop or add invitees.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::fields::{optional_text, required_text};

/// New proposals made by one ProposeInvitations call when the request says 0.
pub const DEFAULT_PROPOSALS: usize = 30;
/// Most new proposals made by one call.
pub const MAX_PROPOSALS: usize = 200;
/// Longest reason given when dropping or adding, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;
/// Longest invitee identifier, in characters.
pub const MAX_INVITEE_ID_CHARS: usize = 128;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 200;

/// Who an invitation is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InviteeKind {
    /// An enterprise (its entrepreneur), by intake id.
    Enterprise,
    /// Representatives of a group, by group code.
    Group,
    /// A CPPCC member, by subject.
    Member,
    /// A think-tank expert, by expert id.
    Expert,
    /// An official of a government unit, by organisation id.
    Official,
}

impl InviteeKind {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Enterprise => 1,
            Self::Group => 2,
            Self::Member => 3,
            Self::Expert => 4,
            Self::Official => 5,
        }
    }

    /// From the contract's number; `None` for unspecified or unknown.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Enterprise,
            2 => Self::Group,
            3 => Self::Member,
            4 => Self::Expert,
            5 => Self::Official,
            _ => return None,
        })
    }
}

/// Why an invitee was proposed, in the stakeholder principle's order of priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Basis {
    /// The enterprise has demands in the topic's common issues.
    DemandInCommonIssue,
    /// The enterprise is in an affected industry.
    AffectedIndustry,
    /// The enterprise is in an affected district.
    AffectedDistrict,
    /// The group is named among the stakeholders.
    NamedGroup,
    /// Added by staff by hand.
    AddedByStaff,
}

impl Basis {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::DemandInCommonIssue => 1,
            Self::AffectedIndustry => 2,
            Self::AffectedDistrict => 3,
            Self::NamedGroup => 4,
            Self::AddedByStaff => 5,
        }
    }

    /// From the contract's number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::DemandInCommonIssue,
            2 => Self::AffectedIndustry,
            3 => Self::AffectedDistrict,
            4 => Self::NamedGroup,
            5 => Self::AddedByStaff,
            _ => return None,
        })
    }
}

/// Decision state of an invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    /// Proposed by the service; awaiting staff.
    Proposed,
    /// Accepted by staff.
    Accepted,
    /// Dropped by staff, with a reason.
    Dropped,
}

impl InvitationStatus {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Proposed => 1,
            Self::Accepted => 2,
            Self::Dropped => 3,
        }
    }

    /// From the contract's number; `None` for unspecified or unknown.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Proposed,
            2 => Self::Accepted,
            3 => Self::Dropped,
            _ => return None,
        })
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Proposed => "PROPOSED",
            Self::Accepted => "ACCEPTED",
            Self::Dropped => "DROPPED",
        }
    }

    /// Accepting: a proposed or dropped invitation; FAILED_PRECONDITION naming the status otherwise.
    pub fn accept(self, id: &str) -> Result<Self, ServiceError> {
        match self {
            Self::Proposed | Self::Dropped => Ok(Self::Accepted),
            Self::Accepted => Err(ServiceError::FailedPrecondition(format!("invitation {id} is already ACCEPTED"))),
        }
    }

    /// Dropping: a proposed or accepted invitation; FAILED_PRECONDITION naming the status otherwise.
    pub fn drop_out(self, id: &str) -> Result<Self, ServiceError> {
        match self {
            Self::Proposed | Self::Accepted => Ok(Self::Dropped),
            Self::Dropped => Err(ServiceError::FailedPrecondition(format!("invitation {id} is already DROPPED"))),
        }
    }
}

impl fmt::Display for InvitationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A stored invitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// Identifier.
    pub id: String,
    /// The topic.
    pub topic_id: String,
    /// Who is invited.
    pub invitee_kind: InviteeKind,
    /// Identifier of the invitee.
    pub invitee_id: String,
    /// Display name.
    pub display_name: String,
    /// Why it was proposed.
    pub basis: Basis,
    /// The reason in words.
    pub reason: String,
    /// Rank among proposals (1 = strongest); 0 for staff additions.
    pub rank: i32,
    /// Decision state.
    pub status: InvitationStatus,
    /// Who accepted or dropped it.
    pub decided_by: String,
    /// Reason given when dropped or added.
    pub decision_reason: String,
    /// When it was proposed or added.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// An invitee the service proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// Who.
    pub invitee_kind: InviteeKind,
    /// Identifier of the invitee.
    pub invitee_id: String,
    /// Display name.
    pub display_name: String,
    /// Why.
    pub basis: Basis,
    /// The reason in words.
    pub reason: String,
}

/// An enterprise with demands in a topic's common issues: how many, and in which issues (titles).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandHolder {
    /// The intake enterprise id.
    pub enterprise_id: String,
    /// Number of its demands in the topic's common issues.
    pub demands: usize,
    /// Titles of the common issues holding them, in the topic's order.
    pub issue_titles: Vec<String>,
}

/// The enterprises behind the demands of a topic's common issues, most demands first (ties in order of
/// first appearance). `issues` are (common-issue title, the enterprise id of each of its demands).
pub fn demand_holders(issues: &[(String, Vec<String>)]) -> Vec<DemandHolder> {
    let mut holders: Vec<DemandHolder> = Vec::new();
    for (title, enterprises) in issues {
        for enterprise_id in enterprises {
            let at = match holders.iter().position(|h| &h.enterprise_id == enterprise_id) {
                Some(at) => at,
                None => {
                    holders.push(DemandHolder {
                        enterprise_id: enterprise_id.clone(),
                        demands: 0,
                        issue_titles: Vec::new(),
                    });
                    holders.len() - 1
                }
            };
            let holder = &mut holders[at];
            holder.demands += 1;
            if !holder.issue_titles.contains(title) {
                holder.issue_titles.push(title.clone());
            }
        }
    }
    // A stable sort keeps the order of first appearance among equals.
    holders.sort_by_key(|h| std::cmp::Reverse(h.demands));
    holders
}

/// The reason given for a demand holder, e.g. 该企业有2条诉求在共性问题「远洋渔业相关企业综合融资成本高」中.
pub fn demand_reason(holder: &DemandHolder) -> String {
    let titles: String = holder.issue_titles.iter().map(|t| format!("「{t}」")).collect();
    format!("该企业有{}条诉求在共性问题{titles}中", holder.demands)
}

/// The reason given for an enterprise of an affected industry (its name or code).
pub fn industry_reason(industry: &str) -> String {
    format!("该企业属于议题涉及的行业「{industry}」")
}

/// The reason given for an enterprise of an affected district (its name or code).
pub fn district_reason(district: &str) -> String {
    format!("该企业位于议题涉及的区域「{district}」")
}

/// The reason given for a named group.
pub fn group_reason(group: &str) -> String {
    format!("议题涉及群体「{group}」，邀请其代表参加")
}

/// The display name of a group's invitation, e.g. 产业工人代表.
pub fn group_display_name(group: &str) -> String {
    format!("{group}代表")
}

/// Collects proposals in priority order, skipping invitees already invited (whatever the decision)
/// or already proposed in this round, up to a limit of new ones.
#[derive(Debug)]
pub struct Proposals {
    taken: HashSet<(InviteeKind, String)>,
    limit: usize,
    /// The new proposals, in priority order.
    pub items: Vec<Proposal>,
}

impl Proposals {
    /// A round that may add `limit` proposals beside the `existing` invitees.
    pub fn new(existing: impl IntoIterator<Item = (InviteeKind, String)>, limit: usize) -> Self {
        Self { taken: existing.into_iter().collect(), limit, items: Vec::new() }
    }

    /// Whether no more proposals fit.
    pub fn is_full(&self) -> bool {
        self.items.len() >= self.limit
    }

    /// Whether `kind`/`id` is already invited or proposed.
    pub fn has(&self, kind: InviteeKind, id: &str) -> bool {
        self.taken.contains(&(kind, id.to_owned()))
    }

    /// Adds a proposal unless the invitee is taken or the round is full; whether it was added.
    pub fn offer(&mut self, proposal: Proposal) -> bool {
        if self.is_full() || !self.taken.insert((proposal.invitee_kind, proposal.invitee_id.clone())) {
            return false;
        }
        self.items.push(proposal);
        true
    }
}

/// The number of new proposals a request asks for: 0 means [`DEFAULT_PROPOSALS`], larger than
/// [`MAX_PROPOSALS`] is capped, negative is INVALID_ARGUMENT on `field`.
pub fn proposal_limit(raw: i32, field: &str) -> Result<usize, ServiceError> {
    match raw {
        n if n < 0 => Err(ServiceError::invalid(field, "must not be negative")),
        0 => Ok(DEFAULT_PROPOSALS),
        n => Ok(usize::try_from(n).unwrap_or(MAX_PROPOSALS).min(MAX_PROPOSALS)),
    }
}

/// A required reason (dropping).
pub fn required_reason(raw: &str, field: &str) -> Result<String, ServiceError> {
    required_text(raw, MAX_REASON_CHARS, field).map_err(|v| ServiceError::InvalidArgument(vec![v]))
}

/// An optional reason (adding).
pub fn optional_reason(raw: &str, field: &str) -> Result<String, ServiceError> {
    optional_text(raw, MAX_REASON_CHARS, field).map_err(|v| ServiceError::InvalidArgument(vec![v]))
}

/// An invitee staff add by hand, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvitee {
    /// Who.
    pub kind: InviteeKind,
    /// Identifier.
    pub id: String,
    /// Display name (may be empty until filled in).
    pub display_name: String,
}

impl NewInvitee {
    /// Checks kind, id and display name, reporting problems under `prefix.<field>`.
    pub fn parse(kind: i32, id: &str, display_name: &str, prefix: &str) -> Result<Self, ServiceError> {
        let mut v = tingjian_runtime::error::Violations::new();
        let kind = InviteeKind::from_i32(kind);
        if kind.is_none() {
            v.add(format!("{prefix}.invitee_kind"), "is required: ENTERPRISE, GROUP, MEMBER, EXPERT or OFFICIAL");
        }
        let id = v.check(required_text(id, MAX_INVITEE_ID_CHARS, &format!("{prefix}.invitee_id")));
        let id = match (kind, id) {
            (Some(InviteeKind::Enterprise | InviteeKind::Expert), Some(id)) => {
                match tingjian_runtime::wire::parse_id(&id, &format!("{prefix}.invitee_id")) {
                    Ok(id) => Some(id),
                    Err(_) => {
                        v.add(format!("{prefix}.invitee_id"), "must be an identifier returned by the service (a UUID)");
                        None
                    }
                }
            }
            (_, id) => id,
        };
        let display_name =
            v.check(optional_text(display_name, MAX_DISPLAY_NAME_CHARS, &format!("{prefix}.display_name")));
        v.finish()?;
        match (kind, id, display_name) {
            (Some(kind), Some(id), Some(display_name)) => Ok(Self { kind, id, display_name }),
            _ => Err(ServiceError::internal("a checked invitee field is missing")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn demand_holders_come_most_demands_first_with_their_issues() {
        let issues = vec![("融资成本高".to_owned(), ids(&["b", "a", "a"])), ("用地紧张".to_owned(), ids(&["c", "b"]))];
        let holders = demand_holders(&issues);
        let order: Vec<(&str, usize)> = holders.iter().map(|h| (h.enterprise_id.as_str(), h.demands)).collect();
        assert_eq!(order, [("b", 2), ("a", 2), ("c", 1)]);
        assert_eq!(demand_reason(&holders[0]), "该企业有2条诉求在共性问题「融资成本高」「用地紧张」中");
        assert_eq!(demand_reason(&holders[1]), "该企业有2条诉求在共性问题「融资成本高」中");
    }

    #[test]
    fn a_round_skips_taken_invitees_and_stops_at_its_limit() {
        let mut round = Proposals::new([(InviteeKind::Enterprise, "a".to_owned())], 2);
        let proposal = |id: &str| Proposal {
            invitee_kind: InviteeKind::Enterprise,
            invitee_id: id.into(),
            display_name: String::new(),
            basis: Basis::AffectedIndustry,
            reason: String::new(),
        };
        assert!(!round.offer(proposal("a")), "already invited");
        assert!(round.offer(proposal("b")));
        assert!(!round.offer(proposal("b")), "already proposed");
        assert!(round.offer(proposal("c")));
        assert!(!round.offer(proposal("d")), "full");
        assert_eq!(round.items.len(), 2);
    }

    #[test]
    fn decisions_follow_the_status() {
        assert_eq!(InvitationStatus::Dropped.accept("i").expect("accept"), InvitationStatus::Accepted);
        assert!(InvitationStatus::Accepted.accept("i").is_err());
        assert!(InvitationStatus::Dropped.drop_out("i").is_err());
        assert_eq!(proposal_limit(0, "limit").expect("default"), DEFAULT_PROPOSALS);
        assert_eq!(proposal_limit(1000, "limit").expect("capped"), MAX_PROPOSALS);
        assert!(proposal_limit(-1, "limit").is_err());
    }
}
