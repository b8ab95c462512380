//! Clustering proposals (合并同类项): groups of likely duplicates the engine proposes over a scope of
//! demands, and the decision staff take on each group. A group changes nothing until a person
//! accepts it — forming a new common issue or extending one, with the membership as proposed or as
//! edited — or rejects it.

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::time::{Period, PeriodKind};

use super::common_issue::{IssueTitle, MAX_DEMANDS_PER_CALL, Reason, canonical_request};

/// Most demands a proposal considers: beyond this a scope is too wide for people to review its groups.
pub const MAX_SCOPE_DEMANDS: usize = 100_000;
/// Most demand ids an explicit scope may list.
pub const MAX_SCOPE_IDS: usize = 10_000;
/// Longest decision reason, in characters.
pub const MAX_DECISION_REASON_CHARS: usize = 1_000;

/// Where a proposed group stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterStatus {
    /// Awaiting a person's decision.
    Pending,
    /// Accepted: a common issue was formed or extended.
    Accepted,
    /// Rejected: nothing changed.
    Rejected,
}

impl ClusterStatus {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Pending => 1,
            Self::Accepted => 2,
            Self::Rejected => 3,
        }
    }

    /// The status of a contract number.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Pending),
            2 => Some(Self::Accepted),
            3 => Some(Self::Rejected),
            _ => None,
        }
    }

    /// Its name in the contract.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Accepted => "ACCEPTED",
            Self::Rejected => "REJECTED",
        }
    }
}

impl std::fmt::Display for ClusterStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which demands a proposal considers, checked. Conditions combine with AND.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusteringScope {
    /// Only demands submitted in this period (Asia/Shanghai).
    pub period: Option<Period>,
    /// Only demands of this category code.
    pub category: Option<String>,
    /// Only demands in no common issue yet.
    pub unmerged_only: bool,
    /// Only these demands.
    pub demand_ids: Vec<String>,
}

impl ClusteringScope {
    /// The period's instants, `[start, end)` in UTC.
    pub fn submitted(&self) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.period.map(|p| p.utc_range())
    }

    /// A canonical text of the scope, for request fingerprints.
    pub fn canonical(&self) -> String {
        let period = self.period.map(|p| format!("{:?}:{}:{}", p.kind(), p.year(), p.number())).unwrap_or_default();
        canonical_request(&[
            &period,
            self.category.as_deref().unwrap_or(""),
            if self.unmerged_only { "unmerged" } else { "" },
            &self.demand_ids.join(","),
        ])
    }
}

/// Checks the explicit demand ids of a scope: UUIDs, at most [`MAX_SCOPE_IDS`], duplicates dropped.
pub fn parse_scope_ids(raw: &[String], field: &str) -> Result<Vec<String>, ServiceError> {
    if raw.len() > MAX_SCOPE_IDS {
        return Err(ServiceError::invalid(field, format!("{} ids given; at most {MAX_SCOPE_IDS}", raw.len())));
    }
    let mut v = Violations::new();
    let mut ids = Vec::with_capacity(raw.len());
    let mut seen = std::collections::HashSet::new();
    for (i, id) in raw.iter().enumerate() {
        if let Some(id) =
            v.check(tingjian_runtime::wire::parse_id(id, &format!("{field}[{i}]")).map_err(first_violation))
            && seen.insert(id.clone())
        {
            ids.push(id);
        }
    }
    v.finish()?;
    Ok(ids)
}

fn first_violation(e: ServiceError) -> FieldViolation {
    match e {
        ServiceError::InvalidArgument(mut list) if !list.is_empty() => list.remove(0),
        other => FieldViolation::new("", other.to_string()),
    }
}

/// Checks a similarity threshold from a request: 0 means the configured default, else (0, 1].
pub fn parse_threshold(raw: f64, default: f64, field: &str) -> Result<f64, FieldViolation> {
    if raw == 0.0 {
        Ok(default)
    } else if raw.is_finite() && raw > 0.0 && raw <= 1.0 {
        Ok(raw)
    } else {
        Err(FieldViolation::new(field, format!("{raw} is not in [0, 1] (0 means the configured default)")))
    }
}

/// Checks the smallest group size: 0 means 2; otherwise 2 up to [`MAX_DEMANDS_PER_CALL`].
pub fn parse_min_cluster_size(raw: i32, field: &str) -> Result<usize, FieldViolation> {
    match raw {
        0 => Ok(2),
        n if n >= 2 && (n as usize) <= MAX_DEMANDS_PER_CALL => Ok(n as usize),
        n => Err(FieldViolation::new(field, format!("{n} is not 0 (meaning 2) or from 2 to {MAX_DEMANDS_PER_CALL}"))),
    }
}

/// Checks an optional decision reason (rejections): at most [`MAX_DECISION_REASON_CHARS`].
pub fn parse_optional_reason(raw: &str, field: &str) -> Result<String, FieldViolation> {
    let trimmed = raw.trim();
    if trimmed.chars().count() > MAX_DECISION_REASON_CHARS {
        return Err(FieldViolation::new(field, format!("is longer than {MAX_DECISION_REASON_CHARS} characters")));
    }
    if trimmed.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(FieldViolation::new(field, "contains control characters"));
    }
    Ok(trimmed.to_owned())
}

/// A group as the engine proposed it, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCluster {
    /// The most central demand's title.
    pub representative_title: String,
    /// Its demands, most central first.
    pub demand_ids: Vec<String>,
    /// Key terms most of them share.
    pub shared_terms: Vec<String>,
    /// Mean pairwise similarity.
    pub cohesion: f64,
    /// The open common issue it most resembles.
    pub suggested_common_issue_id: Option<String>,
}

/// A proposal to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProposal {
    /// The scope considered.
    pub scope: ClusteringScope,
    /// Threshold used.
    pub threshold: f64,
    /// Smallest group proposed.
    pub min_cluster_size: usize,
    /// Demands considered.
    pub demand_count: usize,
    /// The groups, largest first.
    pub clusters: Vec<NewCluster>,
}

/// A stored group with its decision.
#[derive(Debug, Clone, PartialEq)]
pub struct ProposedCluster {
    /// 1, 2, 3… within the proposal.
    pub id: String,
    /// The most central demand's title.
    pub representative_title: String,
    /// Its demands (as accepted, once accepted).
    pub demand_ids: Vec<String>,
    /// Key terms most of them share.
    pub shared_terms: Vec<String>,
    /// Mean pairwise similarity.
    pub cohesion: f64,
    /// The open common issue it most resembles.
    pub suggested_common_issue_id: Option<String>,
    /// Where it stands.
    pub status: ClusterStatus,
    /// The common issue formed or extended.
    pub common_issue_id: Option<String>,
    /// Who decided.
    pub decided_by: String,
    /// When.
    pub decide_time: Option<DateTime<Utc>>,
    /// Why.
    pub decision_reason: String,
}

/// A stored proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusteringProposal {
    /// Identifier.
    pub id: String,
    /// The scope considered.
    pub scope: ClusteringScope,
    /// Threshold used.
    pub threshold: f64,
    /// Smallest group proposed.
    pub min_cluster_size: usize,
    /// Demands considered.
    pub demand_count: usize,
    /// Its groups, largest first.
    pub clusters: Vec<ProposedCluster>,
    /// Who asked for it.
    pub created_by: String,
    /// When.
    pub create_time: DateTime<Utc>,
}

/// What accepting a group does, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    /// Edited membership; `None` means the group as proposed.
    pub demand_ids: Option<Vec<String>>,
    /// Extend this common issue instead of forming a new one.
    pub target_common_issue_id: Option<String>,
    /// Title of a new common issue; `None` means the representative title.
    pub title: Option<IssueTitle>,
    /// Category of a new common issue; `None` means the most common among the demands.
    pub category: Option<String>,
    /// Why.
    pub reason: Reason,
}

/// The representative title as a common-issue title: cut to the longest title allowed.
pub fn title_from_representative(representative: &str) -> Result<IssueTitle, FieldViolation> {
    let cut: String = representative.chars().take(super::common_issue::MAX_ISSUE_TITLE_CHARS).collect();
    IssueTitle::parse(&cut, "title")
}

/// The most frequent category of `categories` (ties: the first to appear).
pub fn most_common_category(categories: &[String]) -> Option<String> {
    let mut counts: Vec<(&String, usize)> = Vec::new();
    for c in categories {
        match counts.iter_mut().find(|(k, _)| *k == c) {
            Some(entry) => entry.1 += 1,
            None => counts.push((c, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(c, _)| c.clone())
}

/// A period from the contract's kind, year and number, for stored scopes.
pub fn stored_period(kind: i32, year: i32, number: i32) -> Option<Period> {
    let kind = match kind {
        1 => PeriodKind::Month,
        2 => PeriodKind::Quarter,
        3 => PeriodKind::Year,
        _ => return None,
    };
    Period::new(kind, year, u32::try_from(number).ok()?, "period").ok()
}

/// The contract's number of a period kind.
pub fn period_kind_number(kind: PeriodKind) -> i32 {
    match kind {
        PeriodKind::Month => 1,
        PeriodKind::Quarter => 2,
        PeriodKind::Year => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_sizes_and_reasons_are_checked() {
        assert_eq!(parse_threshold(0.0, 0.6, "threshold"), Ok(0.6));
        assert_eq!(parse_threshold(0.75, 0.6, "threshold"), Ok(0.75));
        for bad in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            assert!(parse_threshold(bad, 0.6, "threshold").is_err(), "{bad}");
        }
        assert_eq!(parse_min_cluster_size(0, "m"), Ok(2));
        assert_eq!(parse_min_cluster_size(5, "m"), Ok(5));
        assert!(parse_min_cluster_size(1, "m").is_err());
        assert!(parse_min_cluster_size(-3, "m").is_err());
        assert!(parse_min_cluster_size(501, "m").is_err());
        assert_eq!(parse_optional_reason("  重复诉求 ", "reason"), Ok("重复诉求".to_owned()));
        assert!(parse_optional_reason(&"长".repeat(1001), "reason").is_err());
    }

    #[test]
    fn scope_ids_are_checked_and_deduplicated() {
        let id = tingjian_runtime::wire::new_id();
        let expected = vec![id.clone()];
        assert_eq!(parse_scope_ids(&[id.clone(), id.clone()], "ids").expect("valid"), expected);
        let err = parse_scope_ids(&[id, "nope".into()], "scope.demand_ids").expect_err("bad id");
        let ServiceError::InvalidArgument(v) = err else { panic!("invalid argument") };
        assert_eq!(v[0].field, "scope.demand_ids[1]");
        let many: Vec<String> = (0..=MAX_SCOPE_IDS).map(|_| tingjian_runtime::wire::new_id()).collect();
        assert!(parse_scope_ids(&many, "ids").is_err());
    }

    #[test]
    fn the_most_common_category_wins_ties_by_first_appearance() {
        let c = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(most_common_category(&c(&["a", "b", "b"])), Some("b".into()));
        assert_eq!(most_common_category(&c(&["a", "b"])), Some("a".into()));
        assert_eq!(most_common_category(&[]), None);
    }

    #[test]
    fn representative_titles_are_cut_to_a_title() {
        let long = "融".repeat(300);
        assert_eq!(title_from_representative(&long).expect("title").as_str().chars().count(), 200);
        assert!(title_from_representative("").is_err());
    }
}
