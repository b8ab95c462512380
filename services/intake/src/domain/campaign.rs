//! Online campaigns (网上建言献策征集 / 掌上主题议政): a topic open for a window, to which netizens,
//! members and enterprises post suggestions (建言), some of which staff promote into demands. Pure
//! rules: the checked inputs, the window and what it allows.

use std::fmt;

use chrono::{DateTime, Datelike, SubsecRound, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};

use super::common_issue::canonical_request;
use super::demand::DifficultyTags;
use super::enterprise::{free_text, line_text};

/// Longest campaign title, in characters.
pub const MAX_CAMPAIGN_TITLE_CHARS: usize = 200;
/// Longest campaign description, in characters.
pub const MAX_CAMPAIGN_DESCRIPTION_CHARS: usize = 5_000;
/// Longest reason for closing a campaign early, in characters.
pub const MAX_CLOSE_REASON_CHARS: usize = 2_000;
/// Longest post title, in characters.
pub const MAX_POST_TITLE_CHARS: usize = 200;
/// Longest post text, in characters.
pub const MAX_POST_TEXT_CHARS: usize = 5_000;
/// Longest name shown with a post, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 50;
/// Characters of a post's text used as a promoted demand's title when neither the request nor the
/// post gives one.
pub const DERIVED_TITLE_CHARS: usize = 50;

/// The kind of a campaign (the contract's `CampaignKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignKind {
    /// An online call for suggestions (网上建言献策征集).
    Solicitation,
    /// A themed discussion on the phone (掌上主题议政).
    ThemedDiscussion,
}

impl CampaignKind {
    /// The stored number (the contract's enum value).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Solicitation => 1,
            Self::ThemedDiscussion => 2,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Solicitation,
            2 => Self::ThemedDiscussion,
            _ => return None,
        })
    }
}

/// Where a campaign stands at an instant (the contract's `CampaignStatus`), derived from its window
/// and an early close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CampaignStatus {
    /// Its window has not started.
    Scheduled,
    /// Open for posts.
    Open,
    /// Its window ended or it was closed early.
    Closed,
}

impl CampaignStatus {
    /// The stored number (the contract's enum value).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Scheduled => 1,
            Self::Open => 2,
            Self::Closed => 3,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Scheduled,
            2 => Self::Open,
            3 => Self::Closed,
            _ => return None,
        })
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Open => "OPEN",
            Self::Closed => "CLOSED",
        }
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Who wrote a post (the contract's `PostAuthorKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostAuthorKind {
    /// A member of the public (网民).
    Netizen,
    /// A CPPCC committee member (政协委员).
    Member,
    /// An enterprise (企业).
    Enterprise,
    /// CPPCC office staff.
    Staff,
}

impl PostAuthorKind {
    /// The stored number (the contract's enum value).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Netizen => 1,
            Self::Member => 2,
            Self::Enterprise => 3,
            Self::Staff => 4,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Netizen,
            2 => Self::Member,
            3 => Self::Enterprise,
            4 => Self::Staff,
            _ => return None,
        })
    }
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    /// Identifier.
    pub id: String,
    /// Kind.
    pub kind: CampaignKind,
    /// Title.
    pub title: String,
    /// What participants are asked (may be empty).
    pub description: String,
    /// Opening of the window.
    pub start_time: DateTime<Utc>,
    /// End of the window, exclusive.
    pub end_time: DateTime<Utc>,
    /// When it was closed early, if it was.
    pub close_time: Option<DateTime<Utc>>,
    /// Distinct post authors.
    pub participant_count: i64,
    /// Posts.
    pub post_count: i64,
    /// Revision of the campaign itself (the etag); posts do not change it.
    pub version: i64,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

impl Campaign {
    /// Where it stands at `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> CampaignStatus {
        if self.close_time.is_some() || now >= self.end_time {
            CampaignStatus::Closed
        } else if now < self.start_time {
            CampaignStatus::Scheduled
        } else {
            CampaignStatus::Open
        }
    }

    /// `Ok` if it takes posts at `now`, else FAILED_PRECONDITION saying why not.
    pub fn check_open(&self, now: DateTime<Utc>) -> Result<(), ServiceError> {
        let when = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match (self.status_at(now), self.close_time) {
            (CampaignStatus::Open, _) => Ok(()),
            (CampaignStatus::Scheduled, _) => Err(ServiceError::FailedPrecondition(format!(
                "campaign {} is SCHEDULED: it opens for posts at {}",
                self.id,
                when(self.start_time)
            ))),
            (CampaignStatus::Closed, Some(closed)) => Err(ServiceError::FailedPrecondition(format!(
                "campaign {} is CLOSED: it was closed early at {}",
                self.id,
                when(closed)
            ))),
            (CampaignStatus::Closed, None) => Err(ServiceError::FailedPrecondition(format!(
                "campaign {} is CLOSED: its window ended at {}",
                self.id,
                when(self.end_time)
            ))),
        }
    }

    /// A canonical text of the fields a create request sets, to recognise a retry with a different
    /// payload.
    pub fn creation_fingerprint(
        kind: CampaignKind,
        title: &str,
        description: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> String {
        canonical_request(&[
            &kind.as_i32().to_string(),
            title,
            description,
            &start.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            &end.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        ])
    }
}

/// A campaign to create, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    /// Kind.
    pub kind: CampaignKind,
    /// Title, 1–200 characters.
    pub title: String,
    /// Description, up to 5,000 characters.
    pub description: String,
    /// Opening of the window (microsecond precision).
    pub start_time: DateTime<Utc>,
    /// End of the window (exclusive), after the start.
    pub end_time: DateTime<Utc>,
}

/// The raw fields of a campaign as a caller sent them; times already converted (`None` when unset).
#[derive(Debug, Clone, Default)]
pub struct CampaignInput<'a> {
    /// Kind as the contract's enum number.
    pub kind: i32,
    /// Title.
    pub title: &'a str,
    /// Description.
    pub description: &'a str,
    /// Opening of the window.
    pub start_time: Option<DateTime<Utc>>,
    /// End of the window.
    pub end_time: Option<DateTime<Utc>>,
}

/// Checks a campaign title.
pub fn campaign_title(raw: &str, field: &str) -> Result<String, FieldViolation> {
    line_text(raw, MAX_CAMPAIGN_TITLE_CHARS, true).map_err(|e| FieldViolation::new(field, e))
}

/// Checks a campaign description.
pub fn campaign_description(raw: &str, field: &str) -> Result<String, FieldViolation> {
    free_text(raw, MAX_CAMPAIGN_DESCRIPTION_CHARS, false).map_err(|e| FieldViolation::new(field, e))
}

/// Checks a window instant: set, within the years the platform accepts; kept to microseconds (what
/// both storage backends hold).
pub fn window_time(raw: Option<DateTime<Utc>>, field: &str) -> Result<DateTime<Utc>, FieldViolation> {
    let t = raw.ok_or_else(|| FieldViolation::new(field, "is required"))?;
    if !tingjian_runtime::time::YEARS.contains(&t.year()) {
        let years = &tingjian_runtime::time::YEARS;
        return Err(FieldViolation::new(
            field,
            format!("must fall between the years {} and {}", years.start(), years.end()),
        ));
    }
    Ok(t.trunc_subsecs(6))
}

impl NewCampaign {
    /// Checks every field, reporting each problem under `prefix.<field>`.
    pub fn parse(input: &CampaignInput<'_>, prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let kind = v.check(
            CampaignKind::from_i32(input.kind)
                .ok_or_else(|| FieldViolation::new(field("kind"), "must be SOLICITATION or THEMED_DISCUSSION")),
        );
        let title = v.check(campaign_title(input.title, &field("title")));
        let description = v.check(campaign_description(input.description, &field("description")));
        let start_time = v.check(window_time(input.start_time, &field("start_time")));
        let end_time = v.check(window_time(input.end_time, &field("end_time")));
        if let (Some(start), Some(end)) = (start_time, end_time)
            && end <= start
        {
            v.add(field("end_time"), "must be after start_time");
        }
        v.finish()?;
        match (kind, title, description, start_time, end_time) {
            (Some(kind), Some(title), Some(description), Some(start_time), Some(end_time)) => {
                Ok(Self { kind, title, description, start_time, end_time })
            }
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// A canonical text of the request, kept with its request id.
    pub fn fingerprint(&self) -> String {
        Campaign::creation_fingerprint(self.kind, &self.title, &self.description, self.start_time, self.end_time)
    }
}

/// Changes to a campaign (UpdateCampaign), each `Some` when named in the update mask, already checked
/// on their own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CampaignChanges {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New opening of the window.
    pub start_time: Option<DateTime<Utc>>,
    /// New end of the window.
    pub end_time: Option<DateTime<Utc>>,
}

/// The fields an update mask may name.
pub const CAMPAIGN_UPDATE_FIELDS: [&str; 4] = ["title", "description", "start_time", "end_time"];

impl CampaignChanges {
    /// Whether nothing changes.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }

    /// The campaign after the changes at `now`, or why they are refused: a closed campaign does not
    /// change (FAILED_PRECONDITION); an opened window's start stays put, posts were made under it
    /// (FAILED_PRECONDITION); the window must stay well-formed, and an open campaign's end in the
    /// future — CloseCampaign closes it (INVALID_ARGUMENT on `prefix.end_time`).
    pub fn apply(&self, campaign: &Campaign, now: DateTime<Utc>, prefix: &str) -> Result<Campaign, ServiceError> {
        let status = campaign.status_at(now);
        if status == CampaignStatus::Closed {
            return Err(ServiceError::FailedPrecondition(format!(
                "campaign {} is CLOSED and can no longer change",
                campaign.id
            )));
        }
        if status == CampaignStatus::Open
            && let Some(start) = self.start_time
            && start != campaign.start_time
        {
            return Err(ServiceError::FailedPrecondition(format!(
                "campaign {} is OPEN: its start_time can no longer change",
                campaign.id
            )));
        }
        let mut next = campaign.clone();
        if let Some(title) = &self.title {
            next.title.clone_from(title);
        }
        if let Some(description) = &self.description {
            next.description.clone_from(description);
        }
        if let Some(start) = self.start_time {
            next.start_time = start;
        }
        if let Some(end) = self.end_time {
            next.end_time = end;
        }
        if next.end_time <= next.start_time {
            return Err(ServiceError::invalid(format!("{prefix}.end_time"), "must be after start_time"));
        }
        if self.end_time.is_some() && next.end_time <= now {
            return Err(ServiceError::invalid(
                format!("{prefix}.end_time"),
                "must be in the future; close the campaign with CloseCampaign instead",
            ));
        }
        Ok(next)
    }
}

/// A post to make, every field checked (its author comes from the caller's identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPost {
    /// Name shown with the post (may be empty).
    pub author_display_name: String,
    /// Title (may be empty).
    pub title: String,
    /// The suggestion, 1–5,000 characters.
    pub text: String,
}

impl NewPost {
    /// Checks every field, reporting each problem under `prefix.<field>`.
    pub fn parse(display_name: &str, title: &str, text: &str, prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let author_display_name = v.check(
            line_text(display_name, MAX_DISPLAY_NAME_CHARS, false)
                .map_err(|e| FieldViolation::new(field("author_display_name"), e)),
        );
        let title =
            v.check(line_text(title, MAX_POST_TITLE_CHARS, false).map_err(|e| FieldViolation::new(field("title"), e)));
        let text =
            v.check(free_text(text, MAX_POST_TEXT_CHARS, true).map_err(|e| FieldViolation::new(field("text"), e)));
        v.finish()?;
        match (author_display_name, title, text) {
            (Some(author_display_name), Some(title), Some(text)) => Ok(Self { author_display_name, title, text }),
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// A canonical text of the request by `author` to `campaign_id`, kept with its request id.
    pub fn fingerprint(&self, campaign_id: &str, author: &str) -> String {
        canonical_request(&[campaign_id, author, &self.author_display_name, &self.title, &self.text])
    }
}

/// A post as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignPost {
    /// Identifier.
    pub id: String,
    /// The campaign.
    pub campaign_id: String,
    /// Subject of the author.
    pub author: String,
    /// What kind of participant the author is.
    pub author_kind: PostAuthorKind,
    /// Name shown with the post.
    pub author_display_name: String,
    /// The author's enterprise, when the author is one.
    pub enterprise_id: Option<String>,
    /// Title (may be empty).
    pub title: String,
    /// The suggestion.
    pub text: String,
    /// The demand it was promoted into, if any.
    pub promoted_demand_id: Option<String>,
    /// When it was posted.
    pub create_time: DateTime<Utc>,
}

impl CampaignPost {
    /// The title of a demand promoted from this post: the requested one, else the post's title, else
    /// the start of its first line of text (cut at 50 characters, marked with "…").
    pub fn demand_title(&self, requested: &str) -> String {
        let requested = requested.trim();
        if !requested.is_empty() {
            return requested.to_owned();
        }
        if !self.title.trim().is_empty() {
            return self.title.trim().to_owned();
        }
        let line = self.text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
        if line.chars().count() > DERIVED_TITLE_CHARS {
            let mut cut: String = line.chars().take(DERIVED_TITLE_CHARS - 1).collect();
            cut.push('…');
            cut
        } else {
            line.to_owned()
        }
    }
}

/// A post's author as the caller's identity says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostAuthor {
    /// The caller's subject.
    pub subject: String,
    /// What kind of participant the caller is.
    pub kind: PostAuthorKind,
    /// The caller's enterprise, when it posts as one.
    pub enterprise_id: Option<String>,
}

/// What PromotePostToDemand asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promotion {
    /// The enterprise the demand is for; `None` means the post's own (if any).
    pub enterprise_id: Option<String>,
    /// Category code of an active reference item.
    pub category: String,
    /// Title; empty means derived from the post.
    pub title: String,
    /// Triage tags.
    pub difficulty_tags: DifficultyTags,
    /// Idempotency key of the demand created.
    pub request_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().expect("timestamp")
    }

    fn campaign() -> Campaign {
        Campaign {
            id: "c1".into(),
            kind: CampaignKind::Solicitation,
            title: "助力民营经济高质量发展网上建言献策征集".into(),
            description: String::new(),
            start_time: at("2024-03-01T00:00:00Z"),
            end_time: at("2024-04-01T00:00:00Z"),
            close_time: None,
            participant_count: 0,
            post_count: 0,
            version: 1,
            created_by: "staff".into(),
            create_time: at("2024-02-20T00:00:00Z"),
            update_time: at("2024-02-20T00:00:00Z"),
        }
    }

    #[test]
    fn the_window_decides_the_status() {
        let c = campaign();
        assert_eq!(c.status_at(at("2024-02-29T23:59:59Z")), CampaignStatus::Scheduled);
        assert_eq!(c.status_at(at("2024-03-01T00:00:00Z")), CampaignStatus::Open);
        assert_eq!(c.status_at(at("2024-03-31T23:59:59Z")), CampaignStatus::Open);
        assert_eq!(c.status_at(at("2024-04-01T00:00:00Z")), CampaignStatus::Closed, "the end is exclusive");
        let closed = Campaign { close_time: Some(at("2024-03-10T00:00:00Z")), ..c.clone() };
        assert_eq!(closed.status_at(at("2024-03-11T00:00:00Z")), CampaignStatus::Closed);
        let msg = |r: Result<(), ServiceError>| r.expect_err("refused").to_string();
        assert!(msg(c.check_open(at("2024-02-01T00:00:00Z"))).contains("SCHEDULED"));
        assert!(msg(c.check_open(at("2024-05-01T00:00:00Z"))).contains("window ended"));
        assert!(msg(closed.check_open(at("2024-03-11T00:00:00Z"))).contains("closed early"));
        assert!(c.check_open(at("2024-03-02T00:00:00Z")).is_ok());
    }

    #[test]
    fn a_new_campaign_reports_every_bad_field() {
        let input = CampaignInput {
            kind: 0,
            title: "",
            description: "",
            start_time: Some(at("2024-03-01T00:00:00Z")),
            end_time: Some(at("2024-03-01T00:00:00Z")),
        };
        let ServiceError::InvalidArgument(violations) = NewCampaign::parse(&input, "campaign").expect_err("bad") else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["campaign.kind", "campaign.title", "campaign.end_time"]);
        let missing = CampaignInput { kind: 1, title: "征集", ..Default::default() };
        let ServiceError::InvalidArgument(violations) = NewCampaign::parse(&missing, "campaign").expect_err("bad")
        else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["campaign.start_time", "campaign.end_time"]);
    }

    #[test]
    fn updates_respect_the_window() {
        let c = campaign();
        let now = at("2024-03-05T00:00:00Z");
        let later_start = CampaignChanges { start_time: Some(at("2024-03-10T00:00:00Z")), ..Default::default() };
        assert!(matches!(later_start.apply(&c, now, "campaign"), Err(ServiceError::FailedPrecondition(_))));
        let past_end = CampaignChanges { end_time: Some(at("2024-03-04T00:00:00Z")), ..Default::default() };
        assert!(matches!(past_end.apply(&c, now, "campaign"), Err(ServiceError::InvalidArgument(_))));
        let extend = CampaignChanges { end_time: Some(at("2024-05-01T00:00:00Z")), ..Default::default() };
        assert_eq!(extend.apply(&c, now, "campaign").expect("extended").end_time, at("2024-05-01T00:00:00Z"));
        let rename = CampaignChanges { title: Some("新标题".into()), ..Default::default() };
        assert!(matches!(
            rename.apply(&c, at("2024-06-01T00:00:00Z"), "campaign"),
            Err(ServiceError::FailedPrecondition(_))
        ));
        let before = at("2024-02-25T00:00:00Z");
        let inverted = CampaignChanges { start_time: Some(at("2024-04-02T00:00:00Z")), ..Default::default() };
        assert!(matches!(inverted.apply(&c, before, "campaign"), Err(ServiceError::InvalidArgument(_))));
    }

    #[test]
    fn a_promoted_demand_gets_a_title() {
        let post = CampaignPost {
            id: "p".into(),
            campaign_id: "c".into(),
            author: "netizen-1".into(),
            author_kind: PostAuthorKind::Netizen,
            author_display_name: String::new(),
            enterprise_id: None,
            title: String::new(),
            text: format!("\n  {}\n第二行", "景".repeat(60)),
            promoted_demand_id: None,
            create_time: at("2024-03-02T00:00:00Z"),
        };
        let derived = post.demand_title("");
        assert_eq!(derived.chars().count(), DERIVED_TITLE_CHARS);
        assert!(derived.ends_with('…'));
        assert_eq!(post.demand_title(" 旅游厕所太少 "), "旅游厕所太少");
        let titled = CampaignPost { title: "景区停车难".into(), ..post };
        assert_eq!(titled.demand_title(""), "景区停车难");
    }

    #[test]
    fn posts_are_checked() {
        assert!(NewPost::parse("", "", "建议增加公厕", "post").is_ok());
        let ServiceError::InvalidArgument(violations) =
            NewPost::parse(&"名".repeat(51), &"题".repeat(201), " ", "post").expect_err("bad")
        else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["post.author_display_name", "post.title", "post.text"]);
        assert!(NewPost::parse("", "", &"字".repeat(MAX_POST_TEXT_CHARS + 1), "post").is_err());
    }
}
