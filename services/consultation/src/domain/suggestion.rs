//! Consultation suggestions (协商建议): drafted from a session or a topic, submitted to the party
//! committee and/or government (报送), answered (反馈), and possibly assigned to supervision (交办).
//!
//! Lifecycle: DRAFT (editable) → SUBMITTED (SubmitSuggestion) → RESPONDED (RecordSuggestionFeedback; a
//! later response replaces the earlier one). Any other move is FAILED_PRECONDITION naming the status.

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::fields::{optional_text, push_length_prefixed, required_text};

/// Longest suggestion title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest suggestion text, in characters.
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Longest category code, in characters.
pub const MAX_CATEGORY_CHARS: usize = 64;
/// Longest response text, in characters.
pub const MAX_FEEDBACK_CHARS: usize = 10_000;
/// Most common issues one suggestion addresses.
pub const MAX_COMMON_ISSUES: usize = 50;
/// Longest name of an organisation or person, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// Longest identifier of an organisation or person from a directory, in characters.
pub const MAX_REF_ID_CHARS: usize = 128;
/// Highest OrganisationKind number of the contract.
const MAX_ORGANISATION_KIND: i32 = 8;

/// Where a suggestion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SuggestionStatus {
    /// Being drafted; editable (起草).
    Draft,
    /// Submitted to the party committee and/or government (已报送).
    Submitted,
    /// Their response is recorded (已反馈).
    Responded,
}

impl SuggestionStatus {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Draft => 1,
            Self::Submitted => 2,
            Self::Responded => 3,
        }
    }

    /// The status of a contract number; `None` for unspecified or unknown numbers.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Draft),
            2 => Some(Self::Submitted),
            3 => Some(Self::Responded),
            _ => None,
        }
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Draft => "DRAFT",
            Self::Submitted => "SUBMITTED",
            Self::Responded => "RESPONDED",
        }
    }
}

/// Who a suggestion is submitted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// The party committee (市委).
    PartyCommittee,
    /// The government (市政府).
    Government,
}

impl Recipient {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::PartyCommittee => 1,
            Self::Government => 2,
        }
    }

    /// The recipient of a contract number; `None` for unspecified or unknown numbers.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::PartyCommittee),
            2 => Some(Self::Government),
            _ => None,
        }
    }

    /// The recipients of a request: at least one, each known, duplicates dropped (first order kept);
    /// violations on `field` or `field[i]`.
    pub fn parse_list(raw: &[i32], field: &str) -> Result<Vec<Self>, ServiceError> {
        if raw.is_empty() {
            return Err(ServiceError::invalid(field, "name at least one recipient: PARTY_COMMITTEE or GOVERNMENT"));
        }
        let mut v = Violations::new();
        let mut out = Vec::new();
        for (i, n) in raw.iter().enumerate() {
            match Self::from_i32(*n) {
                Some(r) if !out.contains(&r) => out.push(r),
                Some(_) => {}
                None => v.add(format!("{field}[{i}]"), "must be PARTY_COMMITTEE or GOVERNMENT"),
            }
        }
        v.finish()?;
        Ok(out)
    }
}

/// A reference to an organisation (an OrganisationRef), its fields trimmed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organisation {
    /// Stable identifier (may be empty).
    pub id: String,
    /// Name shown to people.
    pub name: String,
    /// OrganisationKind number of the contract (0 when not given).
    pub kind: i32,
}

impl Organisation {
    /// Checks an organisation reference; `kind` must be a known OrganisationKind (0 allowed), and
    /// `need_id`/`need_name` make those fields required. Violations under `prefix.<field>`.
    pub fn parse(
        id: &str,
        name: &str,
        kind: i32,
        need_id: bool,
        need_name: bool,
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let field = |n: &str| format!("{prefix}.{n}");
        let mut v = Violations::new();
        let text = |raw: &str, max: usize, needed: bool, f: String| {
            if needed { required_text(raw, max, &f) } else { optional_text(raw, max, &f) }
        };
        let id = v.check(text(id, MAX_REF_ID_CHARS, need_id, field("id")));
        let name = v.check(text(name, MAX_NAME_CHARS, need_name, field("name")));
        if !(0..=MAX_ORGANISATION_KIND).contains(&kind) {
            v.add(field("kind"), "is not a known organisation kind");
        }
        v.finish()?;
        Ok(Self { id: id.unwrap_or_default(), name: name.unwrap_or_default(), kind })
    }
}

/// A reference to a person (a PersonRef), its fields trimmed; the display name is required.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Stable identifier (may be empty).
    pub id: String,
    /// Name shown to people, e.g. 张三.
    pub display_name: String,
    /// Position or title (职务), e.g. 市长.
    pub title: String,
    /// The organisation the person acts for (may be empty).
    pub organisation_id: String,
}

impl Person {
    /// Checks a person reference, reporting problems under `prefix.<field>`.
    pub fn parse(
        id: &str,
        display_name: &str,
        title: &str,
        organisation_id: &str,
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let field = |n: &str| format!("{prefix}.{n}");
        let mut v = Violations::new();
        let id = v.check(optional_text(id, MAX_REF_ID_CHARS, &field("id")));
        let display_name = v.check(required_text(display_name, MAX_NAME_CHARS, &field("display_name")));
        let title = v.check(optional_text(title, MAX_NAME_CHARS, &field("title")));
        let organisation_id = v.check(optional_text(organisation_id, MAX_REF_ID_CHARS, &field("organisation_id")));
        v.finish()?;
        Ok(Self {
            id: id.unwrap_or_default(),
            display_name: display_name.unwrap_or_default(),
            title: title.unwrap_or_default(),
            organisation_id: organisation_id.unwrap_or_default(),
        })
    }

    /// A canonical text of the reference, for fingerprints.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        for part in [&self.id, &self.display_name, &self.title, &self.organisation_id] {
            push_length_prefixed(&mut out, part);
        }
        out
    }
}

/// Checks a suggestion title.
pub fn suggestion_title(raw: &str, field: &str) -> Result<String, FieldViolation> {
    let title = required_text(raw, MAX_TITLE_CHARS, field)?;
    if title.contains(['\n', '\r']) {
        return Err(FieldViolation::new(field, "must be a single line"));
    }
    Ok(title)
}

/// Checks a suggestion text.
pub fn suggestion_text(raw: &str, field: &str) -> Result<String, FieldViolation> {
    required_text(raw, MAX_TEXT_CHARS, field)
}

/// Checks an optional category code (intake reference data).
pub fn category_code(raw: &str, field: &str) -> Result<String, FieldViolation> {
    let code = optional_text(raw, MAX_CATEGORY_CHARS, field)?;
    if code.chars().any(char::is_whitespace) {
        return Err(FieldViolation::new(field, "must be a category code, without spaces (e.g. finance_credit)"));
    }
    Ok(code)
}

/// Checks a list of common-issue identifiers (each a UUID, at most [`MAX_COMMON_ISSUES`]), dropping
/// duplicates; violations on `field` or `field[i]`.
pub fn common_issue_ids(raw: &[String], field: &str) -> Result<Vec<String>, ServiceError> {
    if raw.len() > MAX_COMMON_ISSUES {
        return Err(ServiceError::invalid(field, format!("at most {MAX_COMMON_ISSUES} common issues are allowed")));
    }
    let mut v = Violations::new();
    let mut out: Vec<String> = Vec::new();
    for (i, id) in raw.iter().enumerate() {
        match tingjian_runtime::wire::parse_id(id, &format!("{field}[{i}]")) {
            Ok(id) if !out.contains(&id) => out.push(id),
            Ok(_) => {}
            Err(ServiceError::InvalidArgument(violations)) => {
                violations.into_iter().for_each(|x| v.add(x.field, x.description));
            }
            Err(other) => return Err(other),
        }
    }
    v.finish()?;
    Ok(out)
}

/// What DraftSuggestion asks for, every field checked; the topic and common issues are resolved
/// against the session and topic afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuggestionDraft {
    /// The session it came out of, if given.
    pub session_id: Option<String>,
    /// The topic, if given.
    pub topic_id: Option<String>,
    /// Title.
    pub title: String,
    /// Full text.
    pub text: String,
    /// Category code (may be empty).
    pub category: String,
    /// Common issues named by the caller (empty: the topic's).
    pub common_issue_ids: Vec<String>,
}

/// The raw fields of a suggestion to draft.
#[derive(Debug, Clone, Copy, Default)]
pub struct DraftInput<'a> {
    /// Session id as sent.
    pub session_id: &'a str,
    /// Topic id as sent.
    pub topic_id: &'a str,
    /// Title as sent.
    pub title: &'a str,
    /// Text as sent.
    pub text: &'a str,
    /// Category as sent.
    pub category: &'a str,
    /// Common issues as sent.
    pub common_issue_ids: &'a [String],
}

impl SuggestionDraft {
    /// Checks every field, reporting each problem under `prefix.<field>`: session_id or topic_id is
    /// required, title and text too.
    pub fn parse(input: &DraftInput<'_>, prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let optional_id = |raw: &str, name: &str, v: &mut Violations| {
            if raw.trim().is_empty() {
                return None;
            }
            match tingjian_runtime::wire::parse_id(raw, &field(name)) {
                Ok(id) => Some(id),
                Err(_) => {
                    v.add(field(name), "must be an identifier returned by the service (a UUID)");
                    None
                }
            }
        };
        let session_id = optional_id(input.session_id, "session_id", &mut v);
        let topic_id = optional_id(input.topic_id, "topic_id", &mut v);
        if input.session_id.trim().is_empty() && input.topic_id.trim().is_empty() {
            v.add(field("session_id"), "either session_id or topic_id is required");
        }
        let title = v.check(suggestion_title(input.title, &field("title")));
        let text = v.check(suggestion_text(input.text, &field("text")));
        let category = v.check(category_code(input.category, &field("category")));
        let issues = match common_issue_ids(input.common_issue_ids, &field("common_issue_ids")) {
            Ok(ids) => Some(ids),
            Err(ServiceError::InvalidArgument(violations)) => {
                violations.into_iter().for_each(|x| v.add(x.field, x.description));
                None
            }
            Err(other) => return Err(other),
        };
        v.finish()?;
        match (title, text, category, issues) {
            (Some(title), Some(text), Some(category), Some(common_issue_ids)) => {
                Ok(Self { session_id, topic_id, title, text, category, common_issue_ids })
            }
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// A canonical text of the request by `actor`, kept with its request id.
    pub fn fingerprint(&self, actor: &str) -> String {
        let mut out = String::new();
        let parts = [
            actor,
            self.session_id.as_deref().unwrap_or_default(),
            self.topic_id.as_deref().unwrap_or_default(),
            &self.title,
            &self.text,
            &self.category,
        ];
        for part in parts {
            push_length_prefixed(&mut out, part);
        }
        for id in &self.common_issue_ids {
            push_length_prefixed(&mut out, id);
        }
        out
    }
}

/// A suggestion ready to store: the draft with its topic and common issues resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSuggestion {
    /// The session it came out of, if any.
    pub session_id: Option<String>,
    /// The topic.
    pub topic_id: String,
    /// Title.
    pub title: String,
    /// Full text.
    pub text: String,
    /// Category code (may be empty).
    pub category: String,
    /// Common issues it addresses.
    pub common_issue_ids: Vec<String>,
}

/// The response to a suggestion (反馈).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// What they answered.
    pub text: String,
    /// Who answered.
    pub responder: Organisation,
    /// When they answered.
    pub response_time: DateTime<Utc>,
    /// Subject of who recorded it.
    pub recorded_by: String,
}

/// A suggestion as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// Identifier.
    pub id: String,
    /// The session it came out of, if any.
    pub session_id: Option<String>,
    /// The topic.
    pub topic_id: String,
    /// Title.
    pub title: String,
    /// Full text.
    pub text: String,
    /// Category code (may be empty).
    pub category: String,
    /// Common issues it addresses, in order.
    pub common_issue_ids: Vec<String>,
    /// Who it was submitted to, in order.
    pub recipients: Vec<Recipient>,
    /// Where it stands.
    pub status: SuggestionStatus,
    /// When it was submitted.
    pub submit_time: Option<DateTime<Utc>>,
    /// The latest response, once RESPONDED.
    pub feedback: Option<Feedback>,
    /// The supervision case it was assigned as, if any.
    pub case_id: Option<String>,
    /// Revision (the etag).
    pub version: i64,
    /// Subject of who drafted it.
    pub created_by: String,
    /// When it was drafted.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

impl Suggestion {
    fn refuse(&self, what: &str) -> ServiceError {
        ServiceError::FailedPrecondition(format!("suggestion {} is {}: {what}", self.id, self.status.name()))
    }

    /// `Ok` when the suggestion may still be edited or submitted (DRAFT).
    pub fn check_draft(&self, what: &str) -> Result<(), ServiceError> {
        if self.status == SuggestionStatus::Draft { Ok(()) } else { Err(self.refuse(what)) }
    }

    /// `Ok` when a response may be recorded (SUBMITTED or RESPONDED).
    pub fn check_can_respond(&self) -> Result<(), ServiceError> {
        match self.status {
            SuggestionStatus::Submitted | SuggestionStatus::Responded => Ok(()),
            SuggestionStatus::Draft => {
                Err(self.refuse("only a SUBMITTED or RESPONDED suggestion can have a response recorded"))
            }
        }
    }

    /// `Ok` when it may be assigned to supervision (SUBMITTED or RESPONDED).
    pub fn check_assignable(&self) -> Result<(), ServiceError> {
        match self.status {
            SuggestionStatus::Submitted | SuggestionStatus::Responded => Ok(()),
            SuggestionStatus::Draft => {
                Err(self.refuse("only a SUBMITTED or RESPONDED suggestion can be assigned to supervision"))
            }
        }
    }
}

/// The fields an update mask of UpdateSuggestion may name.
pub const SUGGESTION_UPDATE_FIELDS: [&str; 4] = ["title", "text", "category", "common_issue_ids"];

/// Changes to a draft suggestion, each `Some` when named in the update mask, already checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuggestionChanges {
    /// New title.
    pub title: Option<String>,
    /// New text.
    pub text: Option<String>,
    /// New category code.
    pub category: Option<String>,
    /// New common issues.
    pub common_issue_ids: Option<Vec<String>>,
}

impl SuggestionChanges {
    /// The suggestion after the changes, or FAILED_PRECONDITION when it is no longer a draft.
    pub fn apply(&self, current: &Suggestion) -> Result<Suggestion, ServiceError> {
        current.check_draft("only a DRAFT suggestion can be updated")?;
        let mut next = current.clone();
        if let Some(title) = &self.title {
            next.title.clone_from(title);
        }
        if let Some(text) = &self.text {
            next.text.clone_from(text);
        }
        if let Some(category) = &self.category {
            next.category.clone_from(category);
        }
        if let Some(ids) = &self.common_issue_ids {
            next.common_issue_ids.clone_from(ids);
        }
        Ok(next)
    }
}

/// A half-open UTC interval `[start, end)`.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// Filters of ListSuggestions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SuggestionFilter {
    /// Only this session's.
    pub session_id: Option<String>,
    /// Only this topic's.
    pub topic_id: Option<String>,
    /// Only those submitted in `[start, end)`.
    pub submitted: Option<Interval>,
    /// Only these statuses (any when empty).
    pub statuses: Vec<SuggestionStatus>,
}

/// A response to record, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFeedback {
    /// What they answered.
    pub text: String,
    /// Who answered.
    pub responder: Organisation,
    /// When they answered.
    pub response_time: DateTime<Utc>,
}

/// How far in the future a response time may lie (clock skew between systems).
const RESPONSE_TIME_SKEW_SECONDS: i64 = 300;

impl NewFeedback {
    /// Checks a response at `now`: text and response time required, the time not in the future;
    /// violations under `prefix.<field>`.
    pub fn parse(
        text: &str,
        responder: Option<Organisation>,
        response_time: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let text = v.check(required_text(text, MAX_FEEDBACK_CHARS, &field("text")));
        let response_time = match response_time {
            None => {
                v.add(field("response_time"), "is required");
                None
            }
            Some(t) if t > now + chrono::Duration::seconds(RESPONSE_TIME_SKEW_SECONDS) => {
                v.add(field("response_time"), "must not be in the future");
                None
            }
            Some(t) => Some(chrono::SubsecRound::trunc_subsecs(t, 6)),
        };
        v.finish()?;
        match (text, response_time) {
            (Some(text), Some(response_time)) => {
                Ok(Self { text, responder: responder.unwrap_or_default(), response_time })
            }
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn a_draft_needs_a_session_or_topic_a_title_and_a_text() {
        let input =
            DraftInput { title: "降低远洋渔业企业融资成本", text: "建议……", ..Default::default() };
        assert_eq!(fields(SuggestionDraft::parse(&input, "suggestion").expect_err("bad")), ["suggestion.session_id"]);
        let bad = DraftInput { topic_id: "x", title: " ", text: "", category: "金融 信贷", ..Default::default() };
        assert_eq!(
            fields(SuggestionDraft::parse(&bad, "suggestion").expect_err("bad")),
            ["suggestion.topic_id", "suggestion.title", "suggestion.text", "suggestion.category"]
        );
        let topic = tingjian_runtime::wire::new_id();
        let ok = DraftInput { topic_id: &topic, ..input };
        let draft = SuggestionDraft::parse(&ok, "suggestion").expect("valid");
        assert_eq!(draft.topic_id.as_deref(), Some(topic.as_str()));
        assert!(draft.common_issue_ids.is_empty());
    }

    #[test]
    fn recipients_are_checked_and_deduplicated() {
        assert_eq!(fields(Recipient::parse_list(&[], "recipients").expect_err("empty")), ["recipients"]);
        assert_eq!(fields(Recipient::parse_list(&[2, 0], "recipients").expect_err("bad")), ["recipients[1]"]);
        assert_eq!(
            Recipient::parse_list(&[2, 1, 2], "recipients").expect("valid"),
            [Recipient::Government, Recipient::PartyCommittee]
        );
    }

    #[test]
    fn feedback_needs_text_and_a_past_time() {
        let now: DateTime<Utc> = "2025-06-01T00:00:00Z".parse().expect("time");
        let e = NewFeedback::parse("", None, None, now, "feedback").expect_err("bad");
        assert_eq!(fields(e), ["feedback.text", "feedback.response_time"]);
        let future = now + chrono::Duration::days(1);
        let e = NewFeedback::parse("已研究", None, Some(future), now, "feedback").expect_err("future");
        assert_eq!(fields(e), ["feedback.response_time"]);
        assert!(NewFeedback::parse("已研究", None, Some(now), now, "feedback").is_ok());
    }
}
