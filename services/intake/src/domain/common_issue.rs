//! Common issues (共性问题): similar demands merged into one matter (合并同类项) so it can be consulted on
//! and assigned once. Pure rules: the checked inputs, the statuses and what each allows, the history.

use std::fmt;

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};

use super::demand::{Category, DemandStatus, resolve_category};
use super::enterprise::{free_text, line_text};

/// Longest common-issue title, in characters.
pub const MAX_ISSUE_TITLE_CHARS: usize = 200;
/// Longest common-issue description, in characters.
pub const MAX_ISSUE_DESCRIPTION_CHARS: usize = 5_000;
/// Most demands one call may merge, move or split.
pub const MAX_DEMANDS_PER_CALL: usize = 500;

/// Where a common issue stands (the contract's `CommonIssueStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommonIssueStatus {
    /// Collecting demands; not yet taken up (待协商).
    Open,
    /// Taken up in a consultation topic (纳入协商议题).
    Adopted,
    /// Assigned to handling units as a case (已交办).
    Assigned,
    /// Its case closed (已办结).
    Closed,
    /// Every demand moved or split out of it; kept for its history (已解散).
    Dissolved,
}

impl CommonIssueStatus {
    /// The stored number (the contract's enum value).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Open => 1,
            Self::Adopted => 2,
            Self::Assigned => 3,
            Self::Closed => 4,
            Self::Dissolved => 5,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Open,
            2 => Self::Adopted,
            3 => Self::Assigned,
            4 => Self::Closed,
            5 => Self::Dissolved,
            _ => return None,
        })
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Open => "OPEN",
            Self::Adopted => "ADOPTED",
            Self::Assigned => "ASSIGNED",
            Self::Closed => "CLOSED",
            Self::Dissolved => "DISSOLVED",
        }
    }

    /// Whether staff may still change the issue (membership, title): not once its case closed or it
    /// was dissolved — those are kept as they ended, for the record.
    pub fn accepts_changes(self) -> bool {
        !matches!(self, Self::Closed | Self::Dissolved)
    }
}

impl fmt::Display for CommonIssueStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What happened to a common issue, in its history (the contract's `CommonIssueAction`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CommonIssueAction {
    /// Formed from demands.
    Created,
    /// Demands added (合并).
    DemandsAdded,
    /// A demand moved in from another common issue.
    DemandMovedIn,
    /// A demand moved out to another common issue.
    DemandMovedOut,
    /// Demands split out (拆分), unmerged or into a new common issue.
    DemandsSplitOut,
    /// Title changed.
    Renamed,
    /// Status changed.
    StatusChanged,
}

impl CommonIssueAction {
    /// The stored number (the contract's enum value).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Created => 1,
            Self::DemandsAdded => 2,
            Self::DemandMovedIn => 3,
            Self::DemandMovedOut => 4,
            Self::DemandsSplitOut => 5,
            Self::Renamed => 6,
            Self::StatusChanged => 7,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Created,
            2 => Self::DemandsAdded,
            3 => Self::DemandMovedIn,
            4 => Self::DemandMovedOut,
            5 => Self::DemandsSplitOut,
            6 => Self::Renamed,
            7 => Self::StatusChanged,
            _ => return None,
        })
    }
}

/// A common issue as stored, with its current members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonIssue {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description of the shared problem (may be empty).
    pub description: String,
    /// Category code.
    pub category: String,
    /// Where it stands.
    pub status: CommonIssueStatus,
    /// Member demands, in the order they joined.
    pub demand_ids: Vec<String>,
    /// Distinct enterprises behind the members, in order of first appearance.
    pub enterprise_ids: Vec<String>,
    /// Revision, incremented by every change (the etag).
    pub version: i64,
    /// Who formed it.
    pub created_by: String,
    /// When it was formed.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// The outcome of a split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// The source issue after the split.
    pub source: CommonIssue,
    /// The issue the split-out demands formed, if a new title was given.
    pub formed: Option<CommonIssue>,
}

/// One entry of a common issue's history. Append-only: entries are never changed or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommonIssueHistoryEntry {
    /// The common issue.
    pub common_issue_id: String,
    /// Position in its history, from 1, gap-free.
    pub sequence: i64,
    /// What happened.
    pub action: CommonIssueAction,
    /// The demands concerned.
    pub demand_ids: Vec<String>,
    /// The other common issue involved (destination of a move out, source of a move in, the new issue
    /// of a split, or the issue a split-formed issue came from).
    pub other_common_issue_id: Option<String>,
    /// Title before a rename.
    pub old_title: String,
    /// Title after a rename, or the title it was formed with.
    pub new_title: String,
    /// Status after the entry, when the status changed.
    pub status: Option<CommonIssueStatus>,
    /// Why, as the actor gave it.
    pub reason: String,
    /// Who did it.
    pub actor: String,
    /// When.
    pub time: DateTime<Utc>,
}

/// A checked common-issue title: 1–200 characters, trimmed, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueTitle(String);

impl IssueTitle {
    /// Checks a title, reporting a problem on `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldViolation> {
        line_text(raw, MAX_ISSUE_TITLE_CHARS, true).map(Self).map_err(|e| FieldViolation::new(field, e))
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A checked reason for a staff action: required, at most as long as a demand's reasons (it is
/// recorded in the member demands' histories too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// Checks a reason, reporting a problem on `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldViolation> {
        super::demand::parse_reason(raw, field).map(Self)
    }

    /// The reason.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a list of demand ids: 1–500 identifiers, duplicates dropped (first occurrence kept).
pub fn parse_demand_ids(raw: &[String], field: &str) -> Result<Vec<String>, ServiceError> {
    if raw.is_empty() {
        return Err(ServiceError::invalid(field, "at least one demand is required"));
    }
    let mut ids: Vec<String> = Vec::with_capacity(raw.len());
    let mut v = Violations::new();
    for (i, id) in raw.iter().enumerate() {
        match tingjian_runtime::wire::parse_id(id, &format!("{field}[{i}]")) {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(ServiceError::InvalidArgument(violations)) => {
                violations.into_iter().for_each(|x| v.add(x.field, x.description))
            }
            Err(other) => return Err(other),
        }
    }
    v.finish()?;
    if ids.len() > MAX_DEMANDS_PER_CALL {
        return Err(ServiceError::invalid(
            field,
            format!("{} demands given; at most {MAX_DEMANDS_PER_CALL} per call", ids.len()),
        ));
    }
    Ok(ids)
}

/// `Ok` if a demand in `status` may join a common issue: a withdrawn or rejected demand asks for
/// nothing any more, so it is FAILED_PRECONDITION (naming the status).
pub fn check_mergeable(demand_id: &str, status: DemandStatus) -> Result<(), ServiceError> {
    if matches!(status, DemandStatus::Withdrawn | DemandStatus::Rejected) {
        return Err(ServiceError::FailedPrecondition(format!(
            "demand {demand_id} is {status}: a withdrawn or rejected demand cannot be merged into a common issue"
        )));
    }
    Ok(())
}

/// The filters of ListCommonIssues, checked. They combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonIssueFilter {
    /// Only this category code.
    pub category: Option<String>,
    /// Only these statuses (any of).
    pub statuses: Vec<CommonIssueStatus>,
    /// Only issues formed in `[start, end)`.
    pub formed: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Only issues whose title contains this text (case-insensitive).
    pub title_query: Option<String>,
    /// Only issues holding a demand of this enterprise.
    pub enterprise_id: Option<String>,
}

/// A common issue to form, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCommonIssue {
    /// Title.
    pub title: IssueTitle,
    /// Description (may be empty).
    pub description: String,
    /// Category code of an active reference item.
    pub category: String,
    /// The demands to merge, in request order, without duplicates.
    pub demand_ids: Vec<String>,
    /// Why they belong together.
    pub reason: Reason,
}

/// The raw fields of CreateCommonIssue as a caller sent them.
#[derive(Debug, Clone, Default)]
pub struct CommonIssueInput<'a> {
    /// Title.
    pub title: &'a str,
    /// Description.
    pub description: &'a str,
    /// Category code or name.
    pub category: &'a str,
    /// Demand ids.
    pub demand_ids: &'a [String],
    /// Reason.
    pub reason: &'a str,
}

impl NewCommonIssue {
    /// Checks every field: the issue's under `common_issue.`, the others by their names; `categories`
    /// are the active demand categories.
    pub fn parse(input: &CommonIssueInput<'_>, categories: &[Category]) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let title = v.check(IssueTitle::parse(input.title, "common_issue.title"));
        let description = v.check(
            free_text(input.description, MAX_ISSUE_DESCRIPTION_CHARS, false)
                .map_err(|e| FieldViolation::new("common_issue.description", e)),
        );
        let category = v.check(resolve_category(input.category, categories, "common_issue.category"));
        let reason = v.check(Reason::parse(input.reason, "reason"));
        let demand_ids = match parse_demand_ids(input.demand_ids, "demand_ids") {
            Ok(ids) => Some(ids),
            Err(ServiceError::InvalidArgument(violations)) => {
                violations.into_iter().for_each(|x| v.add(x.field, x.description));
                None
            }
            Err(other) => return Err(other),
        };
        v.finish()?;
        match (title, description, category, demand_ids, reason) {
            (Some(title), Some(description), Some(category), Some(demand_ids), Some(reason)) => {
                Ok(Self { title, description, category, demand_ids, reason })
            }
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// A canonical text of the request, kept with its request id so a retry with a different payload
    /// is recognised.
    pub fn fingerprint(&self) -> String {
        canonical_request(&[
            self.title.as_str(),
            &self.description,
            &self.category,
            &self.demand_ids.join(","),
            self.reason.as_str(),
        ])
    }
}

/// Joins fields into one canonical text (unit separators between them).
pub fn canonical_request(fields: &[&str]) -> String {
    fields.join("\u{1f}")
}

pub use tingjian_runtime::fields::etag_version;

/// The distinct values of `items`, in order of first appearance.
pub fn distinct_in_order<'a>(items: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        if !item.is_empty() && !out.iter().any(|x| x == item) {
            out.push(item.to_owned());
        }
    }
    out
}

/// Encodes a list of demand ids for the history (identifiers never contain commas).
pub fn join_ids(ids: &[String]) -> String {
    ids.join(",")
}

/// Decodes [`join_ids`].
pub fn split_ids(joined: &str) -> Vec<String> {
    joined.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::paging::{PageCursor, time_key};

    fn id(n: u8) -> String {
        format!("0190f0a0-0000-7000-8000-0000000000{n:02x}")
    }

    #[test]
    fn statuses_and_actions_round_trip() {
        for n in 1..=5 {
            assert_eq!(CommonIssueStatus::from_i32(n).expect("status").as_i32(), n);
        }
        for n in 1..=7 {
            assert_eq!(CommonIssueAction::from_i32(n).expect("action").as_i32(), n);
        }
        assert!(CommonIssueStatus::from_i32(0).is_none());
        assert!(CommonIssueStatus::Open.accepts_changes());
        assert!(CommonIssueStatus::Assigned.accepts_changes());
        assert!(!CommonIssueStatus::Dissolved.accepts_changes());
        assert!(!CommonIssueStatus::Closed.accepts_changes());
    }

    #[test]
    fn a_new_issue_reports_every_bad_field() {
        let ids = vec!["nope".to_owned()];
        let input = CommonIssueInput {
            title: " ",
            description: &"述".repeat(MAX_ISSUE_DESCRIPTION_CHARS + 1),
            category: "金融",
            demand_ids: &ids,
            reason: "",
        };
        let categories = [Category { code: "finance_credit".into(), name: "金融信贷".into() }];
        let ServiceError::InvalidArgument(violations) = NewCommonIssue::parse(&input, &categories).expect_err("bad")
        else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["common_issue.title", "common_issue.description", "common_issue.category", "reason", "demand_ids[0]"]
        );
    }

    #[test]
    fn demand_ids_are_deduplicated_and_bounded() {
        let ids = vec![id(1), id(2), id(1)];
        assert_eq!(parse_demand_ids(&ids, "demand_ids").expect("valid"), vec![id(1), id(2)]);
        assert!(parse_demand_ids(&[], "demand_ids").is_err());
        let many: Vec<String> =
            (0..=MAX_DEMANDS_PER_CALL).map(|n| format!("0190f0a0-0000-7000-8000-{n:012x}")).collect();
        assert!(parse_demand_ids(&many, "demand_ids").is_err());
    }

    #[test]
    fn titles_are_bounded_in_characters_not_bytes() {
        assert!(IssueTitle::parse(&"融".repeat(200), "title").is_ok());
        assert!(IssueTitle::parse(&"融".repeat(201), "title").is_err());
        assert!(IssueTitle::parse("a\u{7}b", "title").is_err());
        assert_eq!(IssueTitle::parse("  远洋渔业融资难 ", "title").expect("valid").as_str(), "远洋渔业融资难");
        assert!(Reason::parse("第一行\n第二行", "reason").is_ok());
    }

    #[test]
    fn etags_name_versions() {
        assert_eq!(etag_version(""), None);
        assert_eq!(etag_version("v3"), Some(3));
        assert_eq!(etag_version("3"), Some(-1));
        assert_eq!(etag_version("v-1"), Some(-1));
    }

    #[test]
    fn enterprises_are_counted_once_in_order() {
        assert_eq!(distinct_in_order(["b", "a", "", "b", "c", "a"]), vec!["b", "a", "c"]);
        assert_eq!(split_ids(&join_ids(&[id(1), id(2)])), vec![id(1), id(2)]);
        assert!(split_ids("").is_empty());
    }
    #[test]
    fn page_tokens_round_trip_and_refuse_foreign_ones() {
        let t: DateTime<Utc> = "2024-05-01T08:00:00.123456Z".parse().expect("time");
        let token = PageCursor::encode("issues", &[&time_key(t), "abc"]);
        let cursor = PageCursor::decode(&token, "issues", 2, "page_token").expect("valid").expect("some");
        assert_eq!(cursor.time(0, "page_token").expect("time"), t);
        assert_eq!(cursor.keys[1], "abc");
        assert!(PageCursor::decode("", "issues", 2, "page_token").expect("empty").is_none());
        assert!(PageCursor::decode(&token, "posts", 2, "page_token").is_err());
        assert!(PageCursor::decode("zz", "issues", 2, "page_token").is_err());
        assert!(PageCursor::decode("abc", "issues", 2, "page_token").is_err());
        assert!(PageCursor::decode("e98e", "issues", 2, "page_token").is_err());
    }
}
