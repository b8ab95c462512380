//! Demands (诉求): what an enterprise needs, as it said it, and where the need stands. Pure rules: the
//! checked shape of a new demand, the status machine, triage changes, list filters and page tokens.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};

use super::enterprise::{checked_id, free_text, push_length_prefixed};
use super::paging::{from_hex, to_hex};

/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest text, in characters.
pub const MAX_TEXT_CHARS: usize = 5000;
/// Longest reason for a status change, a withdrawal or a triage change, in characters.
pub const MAX_REASON_CHARS: usize = 1000;
/// Longest client-chosen request id of a submission, in characters.
pub const MAX_REQUEST_ID_CHARS: usize = 64;
/// Most likely duplicates a submission may ask for.
pub const MAX_SIMILAR: usize = 20;
/// Demands per status group of an enterprise's list when the request says 0.
pub const DEFAULT_PER_GROUP: usize = 20;
/// Most demands per status group of an enterprise's list.
pub const MAX_PER_GROUP: usize = 200;

/// The channel a demand came in through (诉求来源渠道). Numbers are the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DemandChannel {
    /// An on-site visit (上门走访).
    Visit = 1,
    /// A phone call (电话联系).
    Phone = 2,
    /// An online exchange (线上沟通).
    Online = 3,
    /// A business-environment monitoring point (营商环境监测点).
    MonitoringPoint = 4,
    /// A monthly roundtable (一月一座谈).
    Roundtable = 5,
    /// A campaign post promoted into a demand (网上建言献策征集).
    Campaign = 6,
    /// The enterprise itself, through the app or the web.
    App = 7,
}

/// What kind of record a demand's `origin_id` names, by channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OriginKind {
    /// A logged contact (一周一联系): visits, calls, online exchanges.
    Contact,
    /// A monthly roundtable.
    Roundtable,
    /// A campaign post (checked by the campaigns area when it promotes one).
    CampaignPost,
    /// The channel has no origin record.
    None,
}

impl DemandChannel {
    /// Every channel, in contract order.
    pub const ALL: [Self; 7] =
        [Self::Visit, Self::Phone, Self::Online, Self::MonitoringPoint, Self::Roundtable, Self::Campaign, Self::App];

    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// From the contract's number; `None` for unspecified or unknown values.
    pub fn from_i32(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_i32() == n)
    }

    /// The record an `origin_id` on this channel names.
    pub fn origin_kind(self) -> OriginKind {
        match self {
            Self::Visit | Self::Phone | Self::Online => OriginKind::Contact,
            Self::Roundtable => OriginKind::Roundtable,
            Self::Campaign => OriginKind::CampaignPost,
            Self::MonitoringPoint | Self::App => OriginKind::None,
        }
    }

    /// The contract's name without prefix, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Visit => "VISIT",
            Self::Phone => "PHONE",
            Self::Online => "ONLINE",
            Self::MonitoringPoint => "MONITORING_POINT",
            Self::Roundtable => "ROUNDTABLE",
            Self::Campaign => "CAMPAIGN",
            Self::App => "APP",
        }
    }
}

/// Where a demand stands (诉求状态). Numbers are the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DemandStatus {
    /// 已提交: awaiting triage.
    Submitted = 1,
    /// 已受理: accepted for handling.
    Accepted = 2,
    /// 办理中: being consulted on or handled.
    InProgress = 3,
    /// 已答复: a handling unit replied.
    Replied = 4,
    /// 已解决: the problem is solved.
    Resolved = 5,
    /// 已办结: finished and archived. Final.
    Closed = 6,
    /// 不予受理: not accepted. Final.
    Rejected = 7,
    /// 已撤回: withdrawn. Final.
    Withdrawn = 8,
}

impl DemandStatus {
    /// Every status, in contract order.
    pub const ALL: [Self; 8] = [
        Self::Submitted,
        Self::Accepted,
        Self::InProgress,
        Self::Replied,
        Self::Resolved,
        Self::Closed,
        Self::Rejected,
        Self::Withdrawn,
    ];

    /// The open statuses: the demand still waits for an answer.
    pub const OPEN: [Self; 4] = [Self::Submitted, Self::Accepted, Self::InProgress, Self::Replied];

    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// From the contract's number; `None` for unspecified or unknown values.
    pub fn from_i32(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_i32() == n)
    }

    /// Whether the demand still waits for an answer.
    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }

    /// The statuses TransitionDemand may move to from this one (WITHDRAWN is WithdrawDemand's).
    pub fn next(self) -> &'static [Self] {
        match self {
            Self::Submitted => &[Self::Accepted, Self::Rejected],
            Self::Accepted => &[Self::InProgress, Self::Resolved, Self::Rejected],
            Self::InProgress => &[Self::Replied, Self::Resolved],
            Self::Replied => &[Self::Resolved, Self::InProgress],
            Self::Resolved => &[Self::Closed],
            Self::Closed | Self::Rejected | Self::Withdrawn => &[],
        }
    }

    /// Checks a move by TransitionDemand; the error names the current status.
    pub fn transition_to(self, to: Self) -> Result<Self, ServiceError> {
        if self.next().contains(&to) {
            return Ok(to);
        }
        let allowed = if self.next().is_empty() {
            "it is final".to_owned()
        } else {
            format!(
                "it can move only to {}",
                self.next().iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            )
        };
        Err(ServiceError::FailedPrecondition(format!("the demand is {self}; it cannot move to {to}: {allowed}")))
    }

    /// Checks a withdrawal (撤回), allowed from any open status; the error names the current status.
    pub fn withdraw(self) -> Result<Self, ServiceError> {
        if self.is_open() {
            Ok(Self::Withdrawn)
        } else {
            Err(ServiceError::FailedPrecondition(format!(
                "the demand is {self}; only an open demand (SUBMITTED, ACCEPTED, IN_PROGRESS, REPLIED) can be withdrawn"
            )))
        }
    }

    /// The contract's name without prefix.
    pub fn name(self) -> &'static str {
        match self {
            Self::Submitted => "SUBMITTED",
            Self::Accepted => "ACCEPTED",
            Self::InProgress => "IN_PROGRESS",
            Self::Replied => "REPLIED",
            Self::Resolved => "RESOLVED",
            Self::Closed => "CLOSED",
            Self::Rejected => "REJECTED",
            Self::Withdrawn => "WITHDRAWN",
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Submitted => "已提交",
            Self::Accepted => "已受理",
            Self::InProgress => "办理中",
            Self::Replied => "已答复",
            Self::Resolved => "已解决",
            Self::Closed => "已办结",
            Self::Rejected => "不予受理",
            Self::Withdrawn => "已撤回",
        }
    }
}

impl fmt::Display for DemandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.label())
    }
}

/// A triage tag (一企一清单 screening). Numbers are the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DifficultyTag {
    /// 高频事: raised by many.
    HighFrequency = 1,
    /// 难心事: hard to solve.
    Difficult = 2,
    /// 操心事: a standing concern.
    Worrying = 3,
}

impl DifficultyTag {
    /// Every tag, in contract order.
    pub const ALL: [Self; 3] = [Self::HighFrequency, Self::Difficult, Self::Worrying];

    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// From the contract's number; `None` for unspecified or unknown values.
    pub fn from_i32(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_i32() == n)
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Self::HighFrequency => "高频事",
            Self::Difficult => "难心事",
            Self::Worrying => "操心事",
        }
    }
}

/// A demand's triage tags: a set, kept in contract order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DifficultyTags(BTreeSet<DifficultyTag>);

impl DifficultyTags {
    /// Checks the contract's numbers: each a known tag, none twice.
    pub fn parse(raw: &[i32], field: &str) -> Result<Self, FieldViolation> {
        let mut tags = BTreeSet::new();
        for &n in raw {
            let tag = DifficultyTag::from_i32(n).ok_or_else(|| {
                FieldViolation::new(field, format!("{n} is not a difficulty tag (HIGH_FREQUENCY, DIFFICULT, WORRYING)"))
            })?;
            if !tags.insert(tag) {
                return Err(FieldViolation::new(field, format!("{} ({}) is given twice", tag.label(), n)));
            }
        }
        Ok(Self(tags))
    }

    /// The tags, in contract order.
    pub fn iter(&self) -> impl Iterator<Item = DifficultyTag> + '_ {
        self.0.iter().copied()
    }

    /// The contract's numbers, in contract order.
    pub fn numbers(&self) -> Vec<i32> {
        self.iter().map(DifficultyTag::as_i32).collect()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<DifficultyTag> for DifficultyTags {
    fn from_iter<I: IntoIterator<Item = DifficultyTag>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl fmt::Display for DifficultyTags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<_> = self.iter().map(DifficultyTag::label).collect();
        write!(f, "[{}]", labels.join(", "))
    }
}

/// A demand category of the reference data (kind 3), as the service knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    /// Stable code, e.g. `finance_credit`.
    pub code: String,
    /// Chinese name, e.g. 金融信贷.
    pub name: String,
}

/// Resolves a category given by code or by Chinese name against the active categories; the code.
pub fn resolve_category(raw: &str, active: &[Category], field: &str) -> Result<String, FieldViolation> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(FieldViolation::new(field, "is required: a demand category code (e.g. finance_credit) or name"));
    }
    active.iter().find(|c| c.code == raw || c.name == raw).map(|c| c.code.clone()).ok_or_else(|| {
        FieldViolation::new(field, format!("{raw:?} is not an active demand category; see ListReferenceItems"))
    })
}

/// A reason given by a person for a change: required, at most [`MAX_REASON_CHARS`].
pub fn parse_reason(raw: &str, field: &str) -> Result<String, FieldViolation> {
    free_text(raw, MAX_REASON_CHARS, true).map_err(|e| FieldViolation::new(field, e))
}

/// Free text kept exactly as written (surrounding blank lines included): not blank, at most `max`
/// characters, no control characters other than line breaks and tabs.
fn verbatim_text(raw: &str, max: usize) -> Result<String, String> {
    free_text(raw, max, true)?;
    let n = raw.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; at most {max} are allowed"));
    }
    Ok(raw.to_owned())
}

/// A submission's idempotency key (request_id): required, 1–64 printable ASCII characters.
pub fn submission_request_id(raw: &str, field: &str) -> Result<String, FieldViolation> {
    let value = raw.trim();
    if value.is_empty() {
        return Err(FieldViolation::new(field, "is required: a client-chosen idempotency key (e.g. a UUID)"));
    }
    if value.len() > MAX_REQUEST_ID_CHARS || !value.chars().all(|c| c.is_ascii_graphic()) {
        return Err(FieldViolation::new(
            field,
            format!("must be 1 to {MAX_REQUEST_ID_CHARS} printable ASCII characters (e.g. a UUID)"),
        ));
    }
    Ok(value.to_owned())
}

/// The raw fields of a demand as a caller sent them.
#[derive(Debug, Clone, Default)]
pub struct DemandInput<'a> {
    /// Enterprise id (empty allowed only on the campaign channel).
    pub enterprise_id: &'a str,
    /// Title.
    pub title: &'a str,
    /// Text.
    pub text: &'a str,
    /// Category code or name.
    pub category: &'a str,
    /// Tags as the contract's numbers.
    pub difficulty_tags: &'a [i32],
    /// Channel as the contract's number.
    pub channel: i32,
    /// Origin record id (may be empty).
    pub origin_id: &'a str,
}

/// A demand to submit, every field checked (the enterprise's and origin's existence excepted: those
/// need the store).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDemand {
    /// The enterprise; `None` only for a netizen's promoted campaign post.
    pub enterprise_id: Option<String>,
    /// Title, 1–200 characters.
    pub title: String,
    /// Text, 1–5,000 characters, exactly as written.
    pub text: String,
    /// Category code of an active reference item.
    pub category: String,
    /// Triage tags.
    pub difficulty_tags: DifficultyTags,
    /// The channel.
    pub channel: DemandChannel,
    /// The record it came from, if any.
    pub origin_id: Option<String>,
}

impl NewDemand {
    /// Checks every field against the contract, reporting each problem under `prefix.<field>`;
    /// `categories` are the active demand categories.
    pub fn parse(input: &DemandInput<'_>, categories: &[Category], prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let channel = v.check(DemandChannel::from_i32(input.channel).ok_or_else(|| {
            FieldViolation::new(
                field("channel"),
                "is required: VISIT, PHONE, ONLINE, MONITORING_POINT, ROUNDTABLE, CAMPAIGN or APP",
            )
        }));
        let enterprise_id = v.check(match input.enterprise_id.trim() {
            "" if channel == Some(DemandChannel::Campaign) => Ok(None),
            "" => Err(FieldViolation::new(field("enterprise_id"), "is required")),
            raw => checked_id(raw, field("enterprise_id")).map(Some),
        });
        let title =
            v.check(free_text(input.title, MAX_TITLE_CHARS, true).map_err(|e| FieldViolation::new(field("title"), e)));
        let text =
            v.check(verbatim_text(input.text, MAX_TEXT_CHARS).map_err(|e| FieldViolation::new(field("text"), e)));
        let category = v.check(resolve_category(input.category, categories, &field("category")));
        let difficulty_tags = v.check(DifficultyTags::parse(input.difficulty_tags, &field("difficulty_tags")));
        let origin_id = v.check(match (input.origin_id.trim(), channel) {
            ("", _) => Ok(None),
            (_, None) => Ok(None),
            (raw, Some(channel)) if channel.origin_kind() == OriginKind::None => Err(FieldViolation::new(
                field("origin_id"),
                format!("must be empty: a demand from channel {} has no origin record ({raw:?} given)", channel.name()),
            )),
            (raw, Some(_)) => checked_id(raw, field("origin_id")).map(Some),
        });
        v.finish()?;
        match (channel, enterprise_id, title, text, category, difficulty_tags, origin_id) {
            (
                Some(channel),
                Some(enterprise_id),
                Some(title),
                Some(text),
                Some(category),
                Some(difficulty_tags),
                Some(origin_id),
            ) => Ok(Self { enterprise_id, title, text, category, difficulty_tags, channel, origin_id }),
            _ => Err(ServiceError::internal("a checked demand field is missing without a violation")),
        }
    }

    /// The canonical encoding of this submission by `submitter`, stored with its request id: a retry
    /// is the same submission when its encoding is equal. Category is the resolved code and tags are a
    /// set, so "金融信贷" and "finance_credit", or tags in another order, are the same request.
    pub fn fingerprint(&self, submitter: &str) -> String {
        let mut out = String::from("demand/1");
        let mut put = |name: &str, value: &str| {
            out.push_str(&format!("\n{name}:"));
            push_length_prefixed(&mut out, value);
        };
        put("enterprise_id", self.enterprise_id.as_deref().unwrap_or(""));
        put("title", &self.title);
        put("text", &self.text);
        put("category", &self.category);
        put(
            "difficulty_tags",
            &self.difficulty_tags.numbers().iter().map(i32::to_string).collect::<Vec<_>>().join(","),
        );
        put("channel", &self.channel.as_i32().to_string());
        put("origin_id", self.origin_id.as_deref().unwrap_or(""));
        put("submitter", submitter);
        out
    }
}

/// A submitted demand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Demand {
    /// Identifier.
    pub id: String,
    /// The fields as submitted (category and tags as triaged since).
    pub fields: NewDemand,
    /// Where it stands.
    pub status: DemandStatus,
    /// Reason of the latest status change.
    pub status_reason: String,
    /// Who submitted it.
    pub submitter: String,
    /// Its common issue, if any.
    pub common_issue_id: Option<String>,
    /// The enterprise's district at submission.
    pub district: String,
    /// The enterprise's industry at submission.
    pub industry: String,
    /// Revision, incremented by every change (the etag).
    pub version: i64,
    /// When it was submitted.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// What happened to a demand, in its history. Numbers are the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemandAction {
    /// Submitted.
    Submitted = 1,
    /// Status changed.
    StatusChanged = 2,
    /// Triage fields changed.
    Updated = 3,
    /// Put into a common issue.
    Merged = 4,
    /// Moved between common issues.
    Moved = 5,
    /// Split out of its common issue.
    SplitOut = 6,
    /// Withdrawn.
    Withdrawn = 7,
}

impl DemandAction {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        self as i32
    }

    /// From the contract's number.
    pub fn from_i32(n: i32) -> Option<Self> {
        [
            Self::Submitted,
            Self::StatusChanged,
            Self::Updated,
            Self::Merged,
            Self::Moved,
            Self::SplitOut,
            Self::Withdrawn,
        ]
        .into_iter()
        .find(|a| a.as_i32() == n)
    }
}

/// One entry of a demand's history, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    /// The demand.
    pub demand_id: String,
    /// Position in the demand's history, from 1.
    pub sequence: i64,
    /// What happened.
    pub action: DemandAction,
    /// Status before (`None` for the submission).
    pub from_status: Option<DemandStatus>,
    /// Status after.
    pub to_status: DemandStatus,
    /// Common issue left.
    pub from_common_issue_id: Option<String>,
    /// Common issue joined.
    pub to_common_issue_id: Option<String>,
    /// Why.
    pub reason: String,
    /// What changed, for people.
    pub detail: String,
    /// Who.
    pub actor: String,
    /// When.
    pub time: DateTime<Utc>,
}

/// A history entry to append; the store numbers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHistoryEntry {
    /// What happened.
    pub action: DemandAction,
    /// Status before (`None` for the submission).
    pub from_status: Option<DemandStatus>,
    /// Status after.
    pub to_status: DemandStatus,
    /// Common issue left (MOVED, SPLIT_OUT).
    pub from_common_issue_id: Option<String>,
    /// Common issue joined (MERGED, MOVED).
    pub to_common_issue_id: Option<String>,
    /// Why.
    pub reason: String,
    /// What changed, for people.
    pub detail: String,
}

/// A change of triage fields asked by UpdateDemand: only what the update mask names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TriageChange {
    /// New category code, when the mask names `category`.
    pub category: Option<String>,
    /// New tags, when the mask names `difficulty_tags`.
    pub difficulty_tags: Option<DifficultyTags>,
}

/// Update-mask paths UpdateDemand accepts.
pub const UPDATABLE_FIELDS: [&str; 2] = ["category", "difficulty_tags"];

impl TriageChange {
    /// Checks the mask and the values it names; `categories` are the active demand categories.
    pub fn parse(
        paths: &[String],
        category: &str,
        tags: &[i32],
        categories: &[Category],
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        if paths.is_empty() {
            v.add("update_mask", format!("is required: name the fields to change ({})", UPDATABLE_FIELDS.join(", ")));
        }
        let mut change = Self::default();
        for path in paths {
            let path = path.trim();
            let name = path.strip_prefix(&format!("{prefix}.")).unwrap_or(path);
            match name {
                "category" => {
                    change.category = v.check(resolve_category(category, categories, &format!("{prefix}.category")))
                }
                "difficulty_tags" => {
                    change.difficulty_tags = v.check(DifficultyTags::parse(tags, &format!("{prefix}.difficulty_tags")))
                }
                "title" | "text" => v.add("update_mask", format!("{name} is immutable after submission")),
                other => v.add(
                    "update_mask",
                    format!("{other:?} cannot be changed; updatable fields: {}", UPDATABLE_FIELDS.join(", ")),
                ),
            }
        }
        v.finish()?;
        Ok(change)
    }

    /// Applies the change to `demand`'s fields; `None` when nothing would change, else a description
    /// of what changed for the history.
    pub fn apply(&self, fields: &mut NewDemand) -> Option<String> {
        let mut details = Vec::new();
        if let Some(category) = &self.category
            && *category != fields.category
        {
            details.push(format!("category: {} → {category}", fields.category));
            fields.category = category.clone();
        }
        if let Some(tags) = &self.difficulty_tags
            && *tags != fields.difficulty_tags
        {
            details.push(format!("difficulty_tags: {} → {tags}", fields.difficulty_tags));
            fields.difficulty_tags = tags.clone();
        }
        if details.is_empty() { None } else { Some(details.join("; ")) }
    }
}

/// The filters of ListDemands, checked. They combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DemandFilter {
    /// Only these enterprises (an enterprise caller's scope, or the request's one).
    pub enterprise_ids: Option<Vec<String>>,
    /// Only these statuses (any of).
    pub statuses: Vec<DemandStatus>,
    /// Only this category code.
    pub category: Option<String>,
    /// Only this channel.
    pub channel: Option<DemandChannel>,
    /// Only demands carrying this tag.
    pub difficulty_tag: Option<DifficultyTag>,
    /// Only demands submitted in `[start, end)`.
    pub submitted: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Only demands of this common issue.
    pub common_issue_id: Option<String>,
    /// Only demands in no common issue.
    pub unmerged_only: bool,
    /// Only demands of enterprises in this district code.
    pub district: Option<String>,
    /// Only demands of enterprises in this industry code.
    pub industry: Option<String>,
}

/// Where a page of demands (newest first) resumes: after the demand submitted at `create_time` with
/// id `id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandCursor {
    /// Submission time of the last demand of the previous page.
    pub create_time: DateTime<Utc>,
    /// Its id.
    pub id: String,
}

impl DemandCursor {
    /// The opaque token of this cursor.
    pub fn token(&self) -> String {
        to_hex(&format!("d1|{}|{}", self.create_time.timestamp_micros(), self.id))
    }

    /// Reads a token; empty means the first page.
    pub fn parse(token: &str, field: &str) -> Result<Option<Self>, FieldViolation> {
        if token.is_empty() {
            return Ok(None);
        }
        let bad = || FieldViolation::new(field, "is not a page token returned by this list");
        let text = from_hex(token).ok_or_else(bad)?;
        let mut parts = text.split('|');
        let (Some("d1"), Some(micros), Some(id), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let create_time = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        let id = checked_id(id, field).map_err(|_| bad())?;
        Ok(Some(Self { create_time, id }))
    }
}

/// Where a page of a demand's history resumes: after entry `sequence`.
pub fn history_token(sequence: i64) -> String {
    to_hex(&format!("h1|{sequence}"))
}

/// Reads a history page token; empty means the first page (after sequence 0).
pub fn parse_history_token(token: &str, field: &str) -> Result<i64, FieldViolation> {
    if token.is_empty() {
        return Ok(0);
    }
    let bad = || FieldViolation::new(field, "is not a page token returned by this list");
    let text = from_hex(token).ok_or_else(bad)?;
    let sequence = text.strip_prefix("h1|").ok_or_else(bad)?.parse::<i64>().map_err(|_| bad())?;
    if sequence < 1 { Err(bad()) } else { Ok(sequence) }
}

/// Whole days from `since` to `now` (0 when `since` is later).
pub fn age_in_days(since: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
    i32::try_from((now - since).num_days().max(0)).unwrap_or(i32::MAX)
}

/// One status group of an enterprise's list (一企一清单).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusGroup {
    /// The status.
    pub status: DemandStatus,
    /// How many of the enterprise's demands are in it.
    pub count: i64,
    /// The newest of them, up to the requested number.
    pub demands: Vec<Demand>,
}

/// An enterprise's list (一企一清单): its demands by status, with the oldest open one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterpriseDemandList {
    /// The enterprise.
    pub enterprise_id: String,
    /// Its name.
    pub enterprise_name: String,
    /// Non-empty groups, in status order.
    pub groups: Vec<StatusGroup>,
    /// Submission time of the oldest open demand.
    pub oldest_open: Option<DateTime<Utc>>,
}

impl EnterpriseDemandList {
    /// Demands in all statuses.
    pub fn total_count(&self) -> i64 {
        self.groups.iter().map(|g| g.count).sum()
    }

    /// Open demands.
    pub fn open_count(&self) -> i64 {
        self.groups.iter().filter(|g| g.status.is_open()).map(|g| g.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories() -> Vec<Category> {
        vec![
            Category { code: "finance_credit".into(), name: "金融信贷".into() },
            Category { code: "logistics".into(), name: "物流运输".into() },
        ]
    }

    fn input<'a>() -> DemandInput<'a> {
        DemandInput {
            enterprise_id: "0190a0c8-0000-7000-8000-000000000001",
            title: "远洋渔业企业综合融资成本偏高",
            text: "希望银行降低贷款利率。",
            category: "金融信贷",
            difficulty_tags: &[3, 1],
            channel: DemandChannel::App.as_i32(),
            origin_id: "",
        }
    }

    #[test]
    fn the_status_machine_allows_only_the_documented_moves() {
        use DemandStatus::*;
        let allowed = [
            (Submitted, Accepted),
            (Submitted, Rejected),
            (Accepted, InProgress),
            (Accepted, Resolved),
            (Accepted, Rejected),
            (InProgress, Replied),
            (InProgress, Resolved),
            (Replied, Resolved),
            (Replied, InProgress),
            (Resolved, Closed),
        ];
        for from in DemandStatus::ALL {
            for to in DemandStatus::ALL {
                let ok = from.transition_to(to).is_ok();
                assert_eq!(ok, allowed.contains(&(from, to)), "{from} → {to}");
            }
        }
        let err = Closed.transition_to(Accepted).expect_err("final");
        assert!(err.to_string().contains("CLOSED (已办结)"), "{err}");
        assert!(matches!(err, ServiceError::FailedPrecondition(_)));
    }

    #[test]
    fn only_open_demands_can_be_withdrawn() {
        for status in DemandStatus::ALL {
            assert_eq!(status.withdraw().is_ok(), status.is_open(), "{status}");
        }
        assert!(DemandStatus::Rejected.withdraw().expect_err("final").to_string().contains("REJECTED"));
    }

    #[test]
    fn a_demand_is_checked_and_its_category_resolved() {
        let demand = NewDemand::parse(&input(), &categories(), "demand").expect("valid");
        assert_eq!(demand.category, "finance_credit");
        assert_eq!(demand.difficulty_tags.numbers(), [1, 3]);
        assert_eq!(demand.title, "远洋渔业企业综合融资成本偏高");
    }

    #[test]
    fn every_bad_field_is_reported() {
        let long = "长".repeat(MAX_TITLE_CHARS + 1);
        let bad = DemandInput {
            enterprise_id: "",
            title: &long,
            text: "  ",
            category: "天气",
            difficulty_tags: &[1, 1],
            channel: DemandChannel::App.as_i32(),
            origin_id: "0190a0c8-0000-7000-8000-000000000001",
        };
        let ServiceError::InvalidArgument(violations) =
            NewDemand::parse(&bad, &categories(), "demand").expect_err("bad")
        else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "demand.enterprise_id",
                "demand.title",
                "demand.text",
                "demand.category",
                "demand.difficulty_tags",
                "demand.origin_id"
            ]
        );
    }

    #[test]
    fn the_title_and_text_limits_are_inclusive() {
        let title = "题".repeat(MAX_TITLE_CHARS);
        let text = "字".repeat(MAX_TEXT_CHARS);
        let ok = DemandInput { title: &title, text: &text, ..input() };
        assert!(NewDemand::parse(&ok, &categories(), "demand").is_ok());
        let text = "字".repeat(MAX_TEXT_CHARS + 1);
        let long = DemandInput { text: &text, ..input() };
        assert!(NewDemand::parse(&long, &categories(), "demand").is_err());
    }

    #[test]
    fn a_campaign_demand_may_have_no_enterprise() {
        let campaign = DemandInput { enterprise_id: "", channel: DemandChannel::Campaign.as_i32(), ..input() };
        assert_eq!(NewDemand::parse(&campaign, &categories(), "demand").expect("valid").enterprise_id, None);
    }

    #[test]
    fn the_fingerprint_ignores_spelling_but_not_content() {
        let a = NewDemand::parse(&input(), &categories(), "demand").expect("valid");
        let b = NewDemand::parse(
            &DemandInput { category: "finance_credit", difficulty_tags: &[1, 3], ..input() },
            &categories(),
            "demand",
        )
        .expect("valid");
        assert_eq!(a.fingerprint("u"), b.fingerprint("u"));
        assert_ne!(a.fingerprint("u"), a.fingerprint("v"));
        let c = NewDemand::parse(&DemandInput { text: "另一件事", ..input() }, &categories(), "demand").expect("valid");
        assert_ne!(a.fingerprint("u"), c.fingerprint("u"));
    }

    #[test]
    fn triage_changes_follow_the_mask() {
        let mut fields = NewDemand::parse(&input(), &categories(), "demand").expect("valid");
        let change =
            TriageChange::parse(&["category".into()], "物流运输", &[], &categories(), "demand").expect("valid");
        assert_eq!(change.apply(&mut fields).as_deref(), Some("category: finance_credit → logistics"));
        assert_eq!(fields.difficulty_tags.numbers(), [1, 3], "tags untouched");
        assert_eq!(change.apply(&mut fields), None, "a second time changes nothing");
        let ServiceError::InvalidArgument(v) =
            TriageChange::parse(&["title".into()], "", &[], &categories(), "demand").expect_err("immutable")
        else {
            panic!("expected invalid argument")
        };
        assert_eq!(v[0].field, "update_mask");
        assert!(TriageChange::parse(&[], "", &[], &categories(), "demand").is_err());
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_garbage() {
        let cursor = DemandCursor {
            create_time: DateTime::from_timestamp_micros(1_767_225_600_123_456).expect("time"),
            id: "0190a0c8-0000-7000-8000-000000000001".into(),
        };
        assert_eq!(DemandCursor::parse(&cursor.token(), "page_token").expect("valid"), Some(cursor));
        assert!(DemandCursor::parse("zz", "page_token").is_err());
        assert!(DemandCursor::parse(&to_hex("d1|x|y"), "page_token").is_err());
        assert!(DemandCursor::parse(&history_token(3), "page_token").is_err());
        assert_eq!(parse_history_token(&history_token(3), "page_token").expect("valid"), 3);
        assert!(parse_history_token("abc", "page_token").is_err());
    }

    #[test]
    fn request_ids_are_required_short_ascii() {
        assert_eq!(submission_request_id(" app-7f3a ", "request_id").expect("valid"), "app-7f3a");
        for bad in ["", "  ", "重试-1", "a b", &"r".repeat(MAX_REQUEST_ID_CHARS + 1)] {
            assert!(submission_request_id(bad, "request_id").is_err(), "{bad:?}");
        }
        assert!(submission_request_id(&"r".repeat(MAX_REQUEST_ID_CHARS), "request_id").is_ok());
    }

    #[test]
    fn ages_are_whole_days() {
        let now: DateTime<Utc> = "2026-01-10T12:00:00Z".parse().expect("time");
        assert_eq!(age_in_days("2026-01-01T12:00:01Z".parse().expect("time"), now), 8);
        assert_eq!(age_in_days("2026-01-01T12:00:00Z".parse().expect("time"), now), 9);
        assert_eq!(age_in_days(now + chrono::Duration::hours(1), now), 0);
    }
}
