//! Sessions (协商活动) in three formats — face-to-face (面对面), interactive (心贴心) and online (键对键) —
//! with their participants, the contributions made in them (问、答、辩) and the rules for closing them.

use std::collections::HashSet;
use std::fmt;

use chrono::{DateTime, Utc};
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::fields::{optional_text, push_length_prefixed, required_text};
use tingjian_runtime::time::china;
use tingjian_runtime::{ServiceError, wire};

/// Longest session title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest venue, in characters.
pub const MAX_VENUE_CHARS: usize = 200;
/// Longest participant name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 50;
/// Longest participant affiliation, in characters.
pub const MAX_AFFILIATION_CHARS: usize = 100;
/// Longest participant subject, in characters.
pub const MAX_PERSON_ID_CHARS: usize = 128;
/// Longest contribution text, in characters.
pub const MAX_CONTRIBUTION_CHARS: usize = 10_000;
/// Longest minutes, in characters.
pub const MAX_MINUTES_CHARS: usize = 50_000;
/// Longest conclusion, in characters.
pub const MAX_CONCLUSION_CHARS: usize = 2_000;
/// Most conclusions recorded at closing.
pub const MAX_CONCLUSIONS: usize = 100;
/// Longest cancellation reason, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;
/// Most participants added by one request.
pub const MAX_PARTICIPANTS_PER_REQUEST: usize = 500;
/// Entrepreneur speakers an interactive session (心贴心) needs before it may close.
pub const MIN_INTERACTIVE_ENTREPRENEUR_SPEAKERS: i64 = 2;
/// The fields UpdateSession may change.
pub const SESSION_UPDATE_FIELDS: [&str; 5] = ["title", "venue", "start_time", "end_time", "campaign_id"];

/// The TopicStatus number of a withdrawn topic (撤销), on which no session may be scheduled.
pub const TOPIC_WITHDRAWN: i32 = 3;
/// The InvitationStatus number of an accepted invitation.
pub const INVITATION_ACCEPTED: i32 = 2;

/// The format of a session (协商形式).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionFormat {
    /// Face-to-face (面对面): entrepreneurs with the party secretary or the mayor.
    FaceToFace,
    /// Interactive (心贴心): the members' living room or the 民生议事堂; at least 2 entrepreneur speakers.
    Interactive,
    /// Online (键对键): over the network, on an intake campaign.
    Online,
}

impl SessionFormat {
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
        match n {
            1 => Some(Self::FaceToFace),
            2 => Some(Self::Interactive),
            3 => Some(Self::Online),
            _ => None,
        }
    }
}

impl fmt::Display for SessionFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::FaceToFace => "FACE_TO_FACE",
            Self::Interactive => "INTERACTIVE",
            Self::Online => "ONLINE",
        })
    }
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionStatus {
    /// Scheduled; nothing said yet.
    Scheduled,
    /// At least one contribution recorded.
    InProgress,
    /// Closed with minutes, attendance and conclusions. Final.
    Closed,
    /// Cancelled with a reason. Final.
    Cancelled,
}

impl SessionStatus {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Scheduled => 1,
            Self::InProgress => 2,
            Self::Closed => 3,
            Self::Cancelled => 4,
        }
    }

    /// From the contract's number; `None` for unspecified or unknown.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Scheduled),
            2 => Some(Self::InProgress),
            3 => Some(Self::Closed),
            4 => Some(Self::Cancelled),
            _ => None,
        }
    }

    /// Whether the session is still open: it may change, take contributions, close or be cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Scheduled | Self::InProgress)
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Scheduled => "SCHEDULED",
            Self::InProgress => "IN_PROGRESS",
            Self::Closed => "CLOSED",
            Self::Cancelled => "CANCELLED",
        })
    }
}

/// `Ok` when a session in `status` may still `action` (e.g. "take contributions"), else
/// FAILED_PRECONDITION naming the status.
pub fn require_open(session_id: &str, status: SessionStatus, action: &str) -> Result<(), ServiceError> {
    if status.is_open() {
        Ok(())
    } else {
        Err(ServiceError::FailedPrecondition(format!(
            "session {session_id} is {status}: it can no longer {action}; only a SCHEDULED or IN_PROGRESS session can"
        )))
    }
}

/// The role a participant plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParticipantRole {
    /// An entrepreneur (企业家) speaking for an enterprise.
    Entrepreneur,
    /// A leader who answers (党政领导).
    Leader,
    /// An official of a government unit (部门负责人).
    Official,
    /// A CPPCC member (政协委员).
    Member,
    /// A worker or skilled-talent representative (产业工人, 高技能人才代表).
    Worker,
    /// A think-tank expert (智库专家).
    Expert,
    /// CPPCC office staff (工作人员).
    Staff,
}

impl ParticipantRole {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Entrepreneur => 1,
            Self::Leader => 2,
            Self::Official => 3,
            Self::Member => 4,
            Self::Worker => 5,
            Self::Expert => 6,
            Self::Staff => 7,
        }
    }

    /// From the contract's number; `None` for unspecified or unknown.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Entrepreneur),
            2 => Some(Self::Leader),
            3 => Some(Self::Official),
            4 => Some(Self::Member),
            5 => Some(Self::Worker),
            6 => Some(Self::Expert),
            7 => Some(Self::Staff),
            _ => None,
        }
    }

    /// The role of an accepted invitee of InviteeKind number `kind`: an enterprise sends its
    /// entrepreneur, a group its workers, and members, experts and officials come as themselves.
    pub fn of_invitee_kind(kind: i32) -> Option<Self> {
        match kind {
            1 => Some(Self::Entrepreneur),
            2 => Some(Self::Worker),
            3 => Some(Self::Member),
            4 => Some(Self::Expert),
            5 => Some(Self::Official),
            _ => None,
        }
    }
}

/// The kind of a contribution (发言类型): 问、答、辩 or a plain statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContributionKind {
    /// A statement (发言).
    Statement,
    /// A question (问).
    Question,
    /// An answer (答).
    Answer,
    /// A rebuttal or follow-up argument (辩).
    Rebuttal,
}

impl ContributionKind {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Statement => 1,
            Self::Question => 2,
            Self::Answer => 3,
            Self::Rebuttal => 4,
        }
    }

    /// From the contract's number; `None` for unspecified or unknown.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Statement),
            2 => Some(Self::Question),
            3 => Some(Self::Answer),
            4 => Some(Self::Rebuttal),
            _ => None,
        }
    }

    /// Whether it is part of the exchange (问、答、辩) rather than a statement.
    pub fn is_interaction(self) -> bool {
        !matches!(self, Self::Statement)
    }
}

/// A participant to add, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewParticipant {
    /// Their role.
    pub role: ParticipantRole,
    /// Name shown in the minutes.
    pub display_name: String,
    /// Their platform subject (may be empty).
    pub person_id: String,
    /// The intake enterprise an entrepreneur speaks for (empty for other roles).
    pub enterprise_id: String,
    /// Organisation or title in words (may be empty).
    pub affiliation: String,
    /// The accepted invitation they came through (may be empty).
    pub invitation_id: String,
}

/// A participant as the request gave it, before checking.
#[derive(Debug, Clone, Copy)]
pub struct ParticipantInput<'a> {
    /// ParticipantRole number.
    pub role: i32,
    /// Name shown in the minutes.
    pub display_name: &'a str,
    /// Platform subject.
    pub person_id: &'a str,
    /// Intake enterprise id.
    pub enterprise_id: &'a str,
    /// Organisation or title.
    pub affiliation: &'a str,
    /// Accepted invitation id.
    pub invitation_id: &'a str,
}

/// An identifier the service issued (a UUID), or a violation of `field`.
fn identifier(raw: &str, field: &str) -> Result<String, FieldViolation> {
    wire::parse_id(raw, field).map_err(|_| FieldViolation::new(field, "must be an identifier returned by a service"))
}

impl NewParticipant {
    /// Checks a participant, reporting each problem under `prefix.<field>` into `v`.
    pub fn parse(input: &ParticipantInput<'_>, prefix: &str, v: &mut Violations) -> Option<Self> {
        let field = |name: &str| format!("{prefix}.{name}");
        let role = ParticipantRole::from_i32(input.role);
        if role.is_none() {
            v.add(field("role"), "is required: ENTREPRENEUR, LEADER, OFFICIAL, MEMBER, WORKER, EXPERT or STAFF");
        }
        let display_name = v.check(required_text(input.display_name, MAX_DISPLAY_NAME_CHARS, &field("display_name")));
        let person_id = v.check(optional_text(input.person_id, MAX_PERSON_ID_CHARS, &field("person_id")));
        let affiliation = v.check(optional_text(input.affiliation, MAX_AFFILIATION_CHARS, &field("affiliation")));
        let enterprise_id = match input.enterprise_id.trim() {
            "" if role == Some(ParticipantRole::Entrepreneur) => {
                v.add(field("enterprise_id"), "is required for an entrepreneur: the intake enterprise they speak for");
                None
            }
            "" => Some(String::new()),
            _ if role.is_some_and(|r| r != ParticipantRole::Entrepreneur) => {
                v.add(field("enterprise_id"), "is only for an entrepreneur");
                None
            }
            raw => v.check(identifier(raw, &field("enterprise_id"))),
        };
        let invitation_id = match input.invitation_id.trim() {
            "" => Some(String::new()),
            raw => v.check(identifier(raw, &field("invitation_id"))),
        };
        Some(Self {
            role: role?,
            display_name: display_name?,
            person_id: person_id?,
            enterprise_id: enterprise_id?,
            affiliation: affiliation?,
            invitation_id: invitation_id?,
        })
    }

    /// The participant an accepted invitation brings: InviteeKind `kind`, its invitee id and name.
    /// `None` for an invitation of an unknown kind.
    pub fn from_invitation(invitation_id: &str, kind: i32, invitee_id: &str, display_name: &str) -> Option<Self> {
        let role = ParticipantRole::of_invitee_kind(kind)?;
        let name = if display_name.trim().is_empty() { invitee_id } else { display_name.trim() };
        let display_name: String = name.chars().take(MAX_DISPLAY_NAME_CHARS).collect();
        let (person_id, enterprise_id, affiliation) = match role {
            ParticipantRole::Entrepreneur => (String::new(), invitee_id.to_owned(), String::new()),
            ParticipantRole::Member => {
                (invitee_id.chars().take(MAX_PERSON_ID_CHARS).collect(), String::new(), String::new())
            }
            _ => (String::new(), String::new(), String::new()),
        };
        Some(Self {
            role,
            display_name,
            person_id,
            enterprise_id,
            affiliation,
            invitation_id: invitation_id.to_owned(),
        })
    }

    fn push_fingerprint(&self, out: &mut String) {
        push_length_prefixed(out, &self.role.as_i32().to_string());
        for part in [&self.display_name, &self.person_id, &self.enterprise_id, &self.affiliation, &self.invitation_id] {
            push_length_prefixed(out, part);
        }
    }
}

/// Checks that no two of `participants` (new ones, at positions given under `prefix[i]`) nor any of
/// them and the `existing` ones share a subject or an invitation: each person takes part once.
pub fn check_distinct_participants(
    participants: &[NewParticipant],
    existing: &[Participant],
    prefix: &str,
) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    let mut persons: HashSet<&str> = existing.iter().map(|p| p.person_id.as_str()).filter(|s| !s.is_empty()).collect();
    let mut invitations: HashSet<&str> =
        existing.iter().map(|p| p.invitation_id.as_str()).filter(|s| !s.is_empty()).collect();
    for (i, p) in participants.iter().enumerate() {
        if !p.person_id.is_empty() && !persons.insert(p.person_id.as_str()) {
            v.add(format!("{prefix}[{i}].person_id"), format!("{} already takes part in the session", p.person_id));
        }
        if !p.invitation_id.is_empty() && !invitations.insert(p.invitation_id.as_str()) {
            v.add(
                format!("{prefix}[{i}].invitation_id"),
                format!("invitation {} already brought a participant to the session", p.invitation_id),
            );
        }
    }
    v.finish()
}

/// A participant as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    /// Identifier, unique within the session.
    pub id: String,
    /// Their role.
    pub role: ParticipantRole,
    /// Name shown in the minutes.
    pub display_name: String,
    /// Their platform subject (may be empty).
    pub person_id: String,
    /// The enterprise an entrepreneur speaks for (may be empty).
    pub enterprise_id: String,
    /// Organisation or title in words (may be empty).
    pub affiliation: String,
    /// The accepted invitation they came through (may be empty).
    pub invitation_id: String,
    /// Whether they attended (set at closing).
    pub attended: bool,
}

/// A session's fields as the request gave them, before checking.
#[derive(Debug, Clone, Copy)]
pub struct SessionInput<'a> {
    /// The topic.
    pub topic_id: &'a str,
    /// Title.
    pub title: &'a str,
    /// SessionFormat number (0: the topic's).
    pub format: i32,
    /// Venue.
    pub venue: &'a str,
    /// Scheduled start.
    pub start_time: Option<DateTime<Utc>>,
    /// Scheduled end.
    pub end_time: Option<DateTime<Utc>>,
    /// Intake campaign of an online session.
    pub campaign_id: &'a str,
}

/// A session to schedule whose fields passed their own checks; the rules that depend on the topic's
/// format are applied by [`SessionDraft::resolve`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDraft {
    /// The topic.
    pub topic_id: String,
    /// Title.
    pub title: String,
    /// The format asked for (`None`: the topic's).
    pub format: Option<SessionFormat>,
    /// Venue (may be empty until the format is known).
    pub venue: String,
    /// Scheduled start.
    pub start_time: DateTime<Utc>,
    /// Scheduled end, if given.
    pub end_time: Option<DateTime<Utc>>,
    /// The campaign, if given.
    pub campaign_id: Option<String>,
}

/// The title of a session, or a violation of `field`.
pub fn session_title(raw: &str, field: &str) -> Result<String, FieldViolation> {
    required_text(raw, MAX_TITLE_CHARS, field)
}

/// A venue (may be empty), or a violation of `field`.
pub fn session_venue(raw: &str, field: &str) -> Result<String, FieldViolation> {
    optional_text(raw, MAX_VENUE_CHARS, field)
}

/// A campaign id (`None` when empty), or a violation of `field`.
pub fn campaign_ref(raw: &str, field: &str) -> Result<Option<String>, FieldViolation> {
    match raw.trim() {
        "" => Ok(None),
        raw => identifier(raw, field).map(Some),
    }
}

impl SessionDraft {
    /// Checks every field on its own, reporting each problem under `prefix.<field>`.
    pub fn parse(input: &SessionInput<'_>, prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let topic_id = match input.topic_id.trim() {
            "" => {
                v.add(field("topic_id"), "is required");
                None
            }
            raw => v.check(identifier(raw, &field("topic_id"))),
        };
        let title = v.check(session_title(input.title, &field("title")));
        let format = match input.format {
            0 => Some(None),
            n => match SessionFormat::from_i32(n) {
                Some(format) => Some(Some(format)),
                None => {
                    v.add(
                        field("format"),
                        "must be FACE_TO_FACE, INTERACTIVE or ONLINE, or unspecified for the topic's",
                    );
                    None
                }
            },
        };
        let venue = v.check(session_venue(input.venue, &field("venue")));
        if input.start_time.is_none() {
            v.add(field("start_time"), "is required");
        }
        let campaign_id = v.check(campaign_ref(input.campaign_id, &field("campaign_id")));
        if let Some(start) = input.start_time
            && let Some(end) = input.end_time
            && end <= start
        {
            v.add(field("end_time"), "must be after start_time");
        }
        v.finish()?;
        let missing = || ServiceError::internal("a checked session field is missing");
        Ok(Self {
            topic_id: topic_id.ok_or_else(missing)?,
            title: title.ok_or_else(missing)?,
            format: format.ok_or_else(missing)?,
            venue: venue.ok_or_else(missing)?,
            start_time: input.start_time.ok_or_else(missing)?,
            end_time: input.end_time,
            campaign_id: campaign_id.ok_or_else(missing)?,
        })
    }

    /// Applies the format's rules once the topic's format is known: the format defaults to the topic's;
    /// a venue is required unless online; an online session needs a campaign, and only an online one
    /// runs on a campaign.
    pub fn resolve(self, topic_format: SessionFormat, prefix: &str) -> Result<NewSession, ServiceError> {
        let format = self.format.unwrap_or(topic_format);
        check_format_fields(format, &self.venue, self.campaign_id.as_deref(), prefix)?;
        Ok(NewSession {
            topic_id: self.topic_id,
            title: self.title,
            format,
            venue: self.venue,
            start_time: self.start_time,
            end_time: self.end_time,
            campaign_id: self.campaign_id,
        })
    }
}

/// The rules a format puts on the venue and the campaign, reported under `prefix.venue` and
/// `prefix.campaign_id`.
pub fn check_format_fields(
    format: SessionFormat,
    venue: &str,
    campaign_id: Option<&str>,
    prefix: &str,
) -> Result<(), ServiceError> {
    let mut v = Violations::new();
    if format != SessionFormat::Online && venue.is_empty() {
        v.add(format!("{prefix}.venue"), format!("is required for a {format} session (only an online one has none)"));
    }
    match (format, campaign_id) {
        (SessionFormat::Online, None) => {
            v.add(format!("{prefix}.campaign_id"), "is required for an ONLINE session: the intake campaign it runs on")
        }
        (SessionFormat::Online, Some(_)) | (_, None) => {}
        (_, Some(_)) => {
            v.add(format!("{prefix}.campaign_id"), format!("is only for an ONLINE session; this one is {format}"))
        }
    }
    v.finish()
}

/// A session to schedule, every rule applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The topic.
    pub topic_id: String,
    /// Title.
    pub title: String,
    /// Format.
    pub format: SessionFormat,
    /// Venue (empty only online).
    pub venue: String,
    /// Scheduled start.
    pub start_time: DateTime<Utc>,
    /// Scheduled end, after the start.
    pub end_time: Option<DateTime<Utc>>,
    /// The intake campaign of an online session.
    pub campaign_id: Option<String>,
}

impl NewSession {
    /// A canonical text of the request (with its participants and whether accepted invitees join), kept
    /// with its request id so that a retry is told apart from a different request.
    pub fn fingerprint(&self, participants: &[NewParticipant], include_accepted_invitees: bool) -> String {
        let mut out = String::new();
        for part in [&self.topic_id, &self.title, &self.venue] {
            push_length_prefixed(&mut out, part);
        }
        push_length_prefixed(&mut out, &self.format.as_i32().to_string());
        push_length_prefixed(&mut out, &self.start_time.timestamp_micros().to_string());
        push_length_prefixed(&mut out, &self.end_time.map(|t| t.timestamp_micros().to_string()).unwrap_or_default());
        push_length_prefixed(&mut out, self.campaign_id.as_deref().unwrap_or_default());
        push_length_prefixed(&mut out, if include_accepted_invitees { "1" } else { "0" });
        for p in participants {
            p.push_fingerprint(&mut out);
        }
        out
    }
}

/// The counts an online session takes from its intake campaign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OnlineCounts {
    /// Distinct participants of the campaign.
    pub participants: i64,
    /// Posts in the campaign.
    pub posts: i64,
}

/// Changes to a session (UpdateSession), each `Some` when named in the update mask and checked on
/// its own; `campaign_id: Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionChanges {
    /// New title.
    pub title: Option<String>,
    /// New venue.
    pub venue: Option<String>,
    /// New start.
    pub start_time: Option<DateTime<Utc>>,
    /// New end (`Some(None)` clears it).
    pub end_time: Option<Option<DateTime<Utc>>>,
    /// New campaign (`Some(None)` clears it).
    pub campaign_id: Option<Option<String>>,
}

impl SessionChanges {
    /// The session's schedulable fields after the changes, with the cross-field rules checked (end after
    /// start, venue and campaign by format), reported under `prefix.<field>`.
    pub fn apply(&self, current: &Session, prefix: &str) -> Result<NewSession, ServiceError> {
        let next = NewSession {
            topic_id: current.topic_id.clone(),
            title: self.title.clone().unwrap_or_else(|| current.title.clone()),
            format: current.format,
            venue: self.venue.clone().unwrap_or_else(|| current.venue.clone()),
            start_time: self.start_time.unwrap_or(current.start_time),
            end_time: self.end_time.unwrap_or(current.end_time),
            campaign_id: self.campaign_id.clone().unwrap_or_else(|| current.campaign_id.clone()),
        };
        if let Some(end) = next.end_time
            && end <= next.start_time
        {
            return Err(ServiceError::invalid(format!("{prefix}.end_time"), "must be after start_time"));
        }
        check_format_fields(next.format, &next.venue, next.campaign_id.as_deref(), prefix)?;
        Ok(next)
    }
}

/// A contribution to record, every field checked (the speaker and the reply are checked against the
/// session when stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContribution {
    /// What kind of contribution.
    pub kind: ContributionKind,
    /// The speaker, a participant of the session.
    pub speaker_participant_id: String,
    /// What was said.
    pub text: String,
    /// The contribution of the same session it answers or rebuts, if any.
    pub reply_to_contribution_id: Option<String>,
    /// When it was said, if given (else: when recorded).
    pub speak_time: Option<DateTime<Utc>>,
}

impl NewContribution {
    /// Checks every field, reporting each problem under `prefix.<field>`.
    pub fn parse(
        kind: i32,
        speaker_participant_id: &str,
        text: &str,
        reply_to_contribution_id: &str,
        speak_time: Option<DateTime<Utc>>,
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let kind = ContributionKind::from_i32(kind);
        if kind.is_none() {
            v.add(field("kind"), "is required: STATEMENT, QUESTION, ANSWER or REBUTTAL");
        }
        let speaker = match speaker_participant_id.trim() {
            "" => {
                v.add(field("speaker_participant_id"), "is required: a participant id of the session");
                None
            }
            raw => v.check(identifier(raw, &field("speaker_participant_id"))),
        };
        let text = v.check(required_text(text, MAX_CONTRIBUTION_CHARS, &field("text")));
        let reply = match reply_to_contribution_id.trim() {
            "" => Some(None),
            raw => v.check(identifier(raw, &field("reply_to_contribution_id"))).map(Some),
        };
        v.finish()?;
        let missing = || ServiceError::internal("a checked contribution field is missing");
        Ok(Self {
            kind: kind.ok_or_else(missing)?,
            speaker_participant_id: speaker.ok_or_else(missing)?,
            text: text.ok_or_else(missing)?,
            reply_to_contribution_id: reply.ok_or_else(missing)?,
            speak_time,
        })
    }

    /// A canonical text of the request to `session_id`, kept with its request id.
    pub fn fingerprint(&self, session_id: &str) -> String {
        let mut out = String::new();
        push_length_prefixed(&mut out, session_id);
        push_length_prefixed(&mut out, &self.kind.as_i32().to_string());
        push_length_prefixed(&mut out, &self.speaker_participant_id);
        push_length_prefixed(&mut out, &self.text);
        push_length_prefixed(&mut out, self.reply_to_contribution_id.as_deref().unwrap_or_default());
        push_length_prefixed(&mut out, &self.speak_time.map(|t| t.timestamp_micros().to_string()).unwrap_or_default());
        out
    }
}

/// A contribution as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contribution {
    /// Identifier.
    pub id: String,
    /// The session.
    pub session_id: String,
    /// Position in the session, from 1, gap-free.
    pub sequence: i64,
    /// What kind of contribution.
    pub kind: ContributionKind,
    /// The speaker.
    pub speaker_participant_id: String,
    /// The speaker's role, copied.
    pub speaker_role: ParticipantRole,
    /// The speaker's name, copied.
    pub speaker_display_name: String,
    /// What was said.
    pub text: String,
    /// The contribution it answers or rebuts, if any.
    pub reply_to_contribution_id: Option<String>,
    /// When it was said.
    pub speak_time: DateTime<Utc>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When it was recorded.
    pub create_time: DateTime<Utc>,
}

/// How many contributions of one kind one speaker made: the unit from which statistics are summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionTally {
    /// What kind.
    pub kind: ContributionKind,
    /// The speaker.
    pub speaker_participant_id: String,
    /// The speaker's role.
    pub speaker_role: ParticipantRole,
    /// How many.
    pub count: i64,
}

/// Counts of a session's contributions: how much of it was real exchange (问、答、辩).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ContributionStats {
    /// Contributions.
    pub total: i64,
    /// Statements.
    pub statements: i64,
    /// Questions.
    pub questions: i64,
    /// Answers.
    pub answers: i64,
    /// Rebuttals.
    pub rebuttals: i64,
    /// Distinct participants who spoke.
    pub speakers: i64,
    /// Distinct entrepreneur participants who spoke.
    pub entrepreneur_speakers: i64,
}

impl ContributionStats {
    /// Sums tallies into statistics.
    pub fn from_tallies(tallies: &[ContributionTally]) -> Self {
        let mut stats = Self::default();
        let mut speakers = HashSet::new();
        let mut entrepreneurs = HashSet::new();
        for t in tallies {
            stats.total += t.count;
            match t.kind {
                ContributionKind::Statement => stats.statements += t.count,
                ContributionKind::Question => stats.questions += t.count,
                ContributionKind::Answer => stats.answers += t.count,
                ContributionKind::Rebuttal => stats.rebuttals += t.count,
            }
            if t.count > 0 {
                speakers.insert(t.speaker_participant_id.as_str());
                if t.speaker_role == ParticipantRole::Entrepreneur {
                    entrepreneurs.insert(t.speaker_participant_id.as_str());
                }
            }
        }
        stats.speakers = speakers.len() as i64;
        stats.entrepreneur_speakers = entrepreneurs.len() as i64;
        stats
    }

    /// Questions, answers and rebuttals.
    pub fn interactions(&self) -> i64 {
        self.questions + self.answers + self.rebuttals
    }

    /// The interaction share (questions + answers + rebuttals) / all contributions; 0 when none.
    pub fn interaction_share(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.interactions() as f64 / self.total as f64 }
    }
}

/// `Ok` when a session of `format` with `stats` may close: an interactive session (心贴心) needs at least
/// 2 entrepreneurs who spoke; FAILED_PRECONDITION saying how many did otherwise.
pub fn check_closable(format: SessionFormat, stats: &ContributionStats) -> Result<(), ServiceError> {
    if format == SessionFormat::Interactive && stats.entrepreneur_speakers < MIN_INTERACTIVE_ENTREPRENEUR_SPEAKERS {
        return Err(ServiceError::FailedPrecondition(format!(
            "an interactive session needs at least {MIN_INTERACTIVE_ENTREPRENEUR_SPEAKERS} entrepreneurs who spoke; {} did",
            stats.entrepreneur_speakers
        )));
    }
    Ok(())
}

/// What closing a session records, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    /// Minutes (纪要).
    pub minutes: String,
    /// Participants who attended, distinct, in the order given.
    pub attended_participant_ids: Vec<String>,
    /// Conclusions (协商共识), at least one.
    pub conclusions: Vec<String>,
}

impl Closing {
    /// Checks the fields of CloseSession.
    pub fn parse(minutes: &str, attended: &[String], conclusions: &[String]) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let minutes = v.check(required_text(minutes, MAX_MINUTES_CHARS, "minutes"));
        let mut ids: Vec<String> = Vec::new();
        for (i, raw) in attended.iter().enumerate() {
            if let Some(id) = v.check(identifier(raw, &format!("attended_participant_ids[{i}]")))
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        let mut texts = Vec::new();
        if conclusions.iter().all(|c| c.trim().is_empty()) {
            v.add("conclusions", "at least one conclusion (协商共识) is required");
        } else if conclusions.len() > MAX_CONCLUSIONS {
            v.add("conclusions", format!("at most {MAX_CONCLUSIONS} conclusions are allowed"));
        } else {
            for (i, raw) in conclusions.iter().enumerate() {
                if let Some(text) = v.check(required_text(raw, MAX_CONCLUSION_CHARS, &format!("conclusions[{i}]"))) {
                    texts.push(text);
                }
            }
        }
        v.finish()?;
        Ok(Self {
            minutes: minutes.ok_or_else(|| ServiceError::internal("checked minutes are missing"))?,
            attended_participant_ids: ids,
            conclusions: texts,
        })
    }
}

/// A cancellation reason, or a violation of `reason`.
pub fn cancel_reason(raw: &str) -> Result<String, ServiceError> {
    required_text(raw, MAX_REASON_CHARS, "reason").map_err(|v| ServiceError::InvalidArgument(vec![v]))
}

/// A session as stored, with its participants and statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Identifier.
    pub id: String,
    /// The topic.
    pub topic_id: String,
    /// Title.
    pub title: String,
    /// Format.
    pub format: SessionFormat,
    /// Venue (empty only online).
    pub venue: String,
    /// Scheduled start.
    pub start_time: DateTime<Utc>,
    /// Scheduled end, if any.
    pub end_time: Option<DateTime<Utc>>,
    /// Where it stands.
    pub status: SessionStatus,
    /// Participants, in the order they were added.
    pub participants: Vec<Participant>,
    /// The intake campaign of an online session.
    pub campaign_id: Option<String>,
    /// The campaign's counts as last taken from intake.
    pub online: OnlineCounts,
    /// Minutes (after closing).
    pub minutes: String,
    /// Conclusions (after closing).
    pub conclusions: Vec<String>,
    /// Participants who attended (after closing).
    pub attendee_count: i64,
    /// Contribution statistics.
    pub stats: ContributionStats,
    /// When it closed.
    pub close_time: Option<DateTime<Utc>>,
    /// Who closed it.
    pub closed_by: String,
    /// Why it was cancelled.
    pub cancel_reason: String,
    /// Revision (the etag).
    pub version: i64,
    /// Who scheduled it.
    pub created_by: String,
    /// When it was scheduled.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// The filters of ListSessions, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionFilter {
    /// Only sessions on this topic.
    pub topic_id: Option<String>,
    /// Only sessions of this format.
    pub format: Option<SessionFormat>,
    /// Only sessions in one of these statuses (any when empty).
    pub statuses: Vec<SessionStatus>,
    /// Only sessions starting in `[start, end)` (UTC bounds of an Asia/Shanghai period).
    pub start_range: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl SessionFilter {
    /// A digest of the filter, binding a page token to it.
    pub fn digest(&self) -> String {
        let mut out = String::new();
        push_length_prefixed(&mut out, self.topic_id.as_deref().unwrap_or_default());
        push_length_prefixed(&mut out, &self.format.map(|f| f.as_i32().to_string()).unwrap_or_default());
        let statuses: Vec<String> = self.statuses.iter().map(|s| s.as_i32().to_string()).collect();
        push_length_prefixed(&mut out, &statuses.join(","));
        let range = self
            .start_range
            .map(|(a, b)| {
                format!("{}..{}", a.with_timezone(&china()).date_naive(), b.with_timezone(&china()).date_naive())
            })
            .unwrap_or_default();
        push_length_prefixed(&mut out, &range);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().expect("timestamp")
    }

    fn fields(err: ServiceError) -> Vec<String> {
        match err {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected invalid argument, got {other:?}"),
        }
    }

    fn input<'a>(topic_id: &'a str, venue: &'a str, campaign_id: &'a str) -> SessionInput<'a> {
        SessionInput {
            topic_id,
            title: "远洋渔业融资难题面对面协商会",
            format: 0,
            venue,
            start_time: Some(t("2026-03-10T02:00:00Z")),
            end_time: Some(t("2026-03-10T04:00:00Z")),
            campaign_id,
        }
    }

    #[test]
    fn the_format_defaults_to_the_topics_and_decides_venue_and_campaign() {
        let topic = wire::new_id();
        let draft = SessionDraft::parse(&input(&topic, "舟山总商会政协委员会客厅", ""), "session").expect("valid");
        let session = draft.resolve(SessionFormat::Interactive, "session").expect("resolved");
        assert_eq!(session.format, SessionFormat::Interactive);

        let draft = SessionDraft::parse(&input(&topic, "", ""), "session").expect("valid");
        assert_eq!(
            fields(draft.clone().resolve(SessionFormat::FaceToFace, "session").expect_err("no venue")),
            ["session.venue"]
        );
        assert_eq!(
            fields(draft.resolve(SessionFormat::Online, "session").expect_err("no campaign")),
            ["session.campaign_id"]
        );
    }

    #[test]
    fn bad_session_fields_are_each_named() {
        let mut bad = input("", "民生议事堂", "not-an-id");
        bad.title = " ";
        bad.format = 9;
        bad.end_time = Some(t("2026-03-10T01:00:00Z"));
        let got = fields(SessionDraft::parse(&bad, "session").expect_err("invalid"));
        assert_eq!(
            got,
            ["session.topic_id", "session.title", "session.format", "session.campaign_id", "session.end_time"]
        );
    }

    #[test]
    fn an_entrepreneur_needs_an_enterprise() {
        let mut v = Violations::new();
        let input = ParticipantInput {
            role: ParticipantRole::Entrepreneur.as_i32(),
            display_name: "张海丰",
            person_id: "",
            enterprise_id: "",
            affiliation: "舟山市海丰远洋渔业有限公司",
            invitation_id: "",
        };
        assert!(NewParticipant::parse(&input, "participants[0]", &mut v).is_none());
        assert_eq!(fields(v.finish().expect_err("invalid")), ["participants[0].enterprise_id"]);
    }

    #[test]
    fn statistics_count_kinds_speakers_and_the_interaction_share() {
        let tally = |kind, speaker: &str, role, count| ContributionTally {
            kind,
            speaker_participant_id: speaker.to_owned(),
            speaker_role: role,
            count,
        };
        let stats = ContributionStats::from_tallies(&[
            tally(ContributionKind::Statement, "a", ParticipantRole::Entrepreneur, 1),
            tally(ContributionKind::Question, "a", ParticipantRole::Entrepreneur, 2),
            tally(ContributionKind::Answer, "m", ParticipantRole::Leader, 2),
            tally(ContributionKind::Rebuttal, "b", ParticipantRole::Entrepreneur, 1),
        ]);
        assert_eq!((stats.total, stats.statements, stats.questions, stats.answers, stats.rebuttals), (6, 1, 2, 2, 1));
        assert_eq!((stats.speakers, stats.entrepreneur_speakers), (3, 2));
        assert_eq!(stats.interactions(), 5);
        assert!((stats.interaction_share() - 5.0 / 6.0).abs() < 1e-12);
        assert_eq!(ContributionStats::default().interaction_share(), 0.0);
    }

    #[test]
    fn an_interactive_session_closes_only_with_two_entrepreneur_speakers() {
        let one = ContributionStats { total: 3, entrepreneur_speakers: 1, ..Default::default() };
        let ServiceError::FailedPrecondition(message) =
            check_closable(SessionFormat::Interactive, &one).expect_err("refused")
        else {
            panic!("expected failed precondition")
        };
        assert_eq!(message, "an interactive session needs at least 2 entrepreneurs who spoke; 1 did");
        assert!(check_closable(SessionFormat::FaceToFace, &one).is_ok());
        let two = ContributionStats { entrepreneur_speakers: 2, ..one };
        assert!(check_closable(SessionFormat::Interactive, &two).is_ok());
    }

    #[test]
    fn closing_needs_minutes_and_a_conclusion() {
        let got = fields(Closing::parse(" ", &["x".into()], &[]).expect_err("invalid"));
        assert_eq!(got, ["minutes", "attended_participant_ids[0]", "conclusions"]);
        let id = wire::new_id();
        let closing =
            Closing::parse("会议纪要", &[id.clone(), id.clone()], &["降低渔船抵押贷款利率".into()]).expect("valid");
        assert_eq!(closing.attended_participant_ids, [id]);
    }

    #[test]
    fn final_statuses_refuse_changes_naming_the_status() {
        let ServiceError::FailedPrecondition(message) =
            require_open("s1", SessionStatus::Closed, "take contributions").expect_err("closed")
        else {
            panic!("expected failed precondition")
        };
        assert!(message.contains("CLOSED"), "{message}");
        assert!(require_open("s1", SessionStatus::InProgress, "take contributions").is_ok());
    }
}
