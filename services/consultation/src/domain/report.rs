//! Special reports (专报) sent straight to leaders, their instructions (批示), and the assignment (交办)
//! of a suggestion or special report to supervision.
//!
//! Lifecycle of a report: COMPILED → SENT (SendSpecialReport) → INSTRUCTED (the first RecordInstruction;
//! later ones keep it INSTRUCTED). A source is assigned at most once: one case per suggestion or report.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::fields::{push_length_prefixed, required_text};

use super::suggestion::{Organisation, Person, category_code, suggestion_title};

/// Longest report body, in characters.
pub const MAX_REPORT_TEXT_CHARS: usize = 50_000;
/// Most suggestions or opinion items one report is compiled from.
pub const MAX_SOURCES: usize = 100;
/// Longest public-opinion item, in characters.
pub const MAX_OPINION_ITEM_CHARS: usize = 2_000;
/// Most leaders a report is sent to.
pub const MAX_LEADERS: usize = 20;
/// Longest instruction text, in characters.
pub const MAX_INSTRUCTION_CHARS: usize = 5_000;
/// Longest handling requirements of an assignment, in characters.
pub const MAX_REQUIREMENTS_CHARS: usize = 5_000;
/// Most co-handling units of an assignment.
pub const MAX_CO_UNITS: usize = 20;
/// Longest deadline in working days.
pub const MAX_DEADLINE_WORKING_DAYS: i32 = 250;
/// Longest case description supervision accepts, in characters.
pub const MAX_CASE_DESCRIPTION_CHARS: usize = 20_000;

/// Where a special report stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReportStatus {
    /// Compiled, not yet sent (已编报).
    Compiled,
    /// Sent to leaders (已报送).
    Sent,
    /// At least one instruction recorded (已批示).
    Instructed,
}

impl ReportStatus {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Compiled => 1,
            Self::Sent => 2,
            Self::Instructed => 3,
        }
    }

    /// The status of a contract number; `None` for unspecified or unknown numbers.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Compiled),
            2 => Some(Self::Sent),
            3 => Some(Self::Instructed),
            _ => None,
        }
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Compiled => "COMPILED",
            Self::Sent => "SENT",
            Self::Instructed => "INSTRUCTED",
        }
    }
}

/// A special report to compile, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReport {
    /// Title.
    pub title: String,
    /// Body.
    pub text: String,
    /// Suggestions it is compiled from, in order, without duplicates.
    pub suggestion_ids: Vec<String>,
    /// Public-opinion items it is compiled from, in order.
    pub opinion_items: Vec<String>,
    /// Category code (may be empty).
    pub category: String,
}

impl NewReport {
    /// Checks every field, reporting each problem under `prefix.<field>`: title and text required, and
    /// suggestion_ids or opinion_items.
    pub fn parse(
        title: &str,
        text: &str,
        suggestion_ids: &[String],
        opinion_items: &[String],
        category: &str,
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let title = v.check(suggestion_title(title, &field("title")));
        let text = v.check(required_text(text, MAX_REPORT_TEXT_CHARS, &field("text")));
        let category = v.check(category_code(category, &field("category")));
        if suggestion_ids.is_empty() && opinion_items.is_empty() {
            v.add(field("suggestion_ids"), "name the suggestions or the opinion_items the report is compiled from");
        }
        if suggestion_ids.len() > MAX_SOURCES {
            v.add(field("suggestion_ids"), format!("at most {MAX_SOURCES} suggestions are allowed"));
        }
        if opinion_items.len() > MAX_SOURCES {
            v.add(field("opinion_items"), format!("at most {MAX_SOURCES} opinion items are allowed"));
        }
        let mut ids: Vec<String> = Vec::new();
        for (i, raw) in suggestion_ids.iter().enumerate() {
            let name = format!("{}[{i}]", field("suggestion_ids"));
            match tingjian_runtime::wire::parse_id(raw, &name) {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(_) => v.add(name, "must be an identifier returned by the service (a UUID)"),
            }
        }
        let mut items = Vec::new();
        for (i, raw) in opinion_items.iter().enumerate() {
            let name = format!("{}[{i}]", field("opinion_items"));
            if let Some(item) = v.check(required_text(raw, MAX_OPINION_ITEM_CHARS, &name)) {
                items.push(item);
            }
        }
        v.finish()?;
        match (title, text, category) {
            (Some(title), Some(text), Some(category)) => {
                Ok(Self { title, text, suggestion_ids: ids, opinion_items: items, category })
            }
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// A canonical text of the request by `actor`, kept with its request id.
    pub fn fingerprint(&self, actor: &str) -> String {
        let mut out = String::new();
        for part in [actor, &self.title, &self.text, &self.category] {
            push_length_prefixed(&mut out, part);
        }
        push_length_prefixed(&mut out, &self.suggestion_ids.len().to_string());
        for id in &self.suggestion_ids {
            push_length_prefixed(&mut out, id);
        }
        for item in &self.opinion_items {
            push_length_prefixed(&mut out, item);
        }
        out
    }
}

/// The leaders a report goes to: at least one, each with a display name; violations on `field` or
/// `field[i].<name>`.
pub fn parse_leaders(raw: &[(String, String, String, String)], field: &str) -> Result<Vec<Person>, ServiceError> {
    if raw.is_empty() {
        return Err(ServiceError::invalid(field, "name at least one leader"));
    }
    if raw.len() > MAX_LEADERS {
        return Err(ServiceError::invalid(field, format!("at most {MAX_LEADERS} leaders are allowed")));
    }
    let mut v = Violations::new();
    let mut out = Vec::new();
    for (i, (id, name, title, org)) in raw.iter().enumerate() {
        match Person::parse(id, name, title, org, &format!("{field}[{i}]")) {
            Ok(p) => out.push(p),
            Err(ServiceError::InvalidArgument(violations)) => {
                violations.into_iter().for_each(|x| v.add(x.field, x.description));
            }
            Err(other) => return Err(other),
        }
    }
    v.finish()?;
    Ok(out)
}

/// A calendar date of the contract (year, month, day) in China, or why not on `field`.
pub fn calendar_date(year: i32, month: i32, day: i32, field: &str) -> Result<NaiveDate, FieldViolation> {
    let years = tingjian_runtime::time::YEARS;
    if !years.contains(&year) {
        return Err(FieldViolation::new(field, format!("year must be between {} and {}", years.start(), years.end())));
    }
    let (Ok(month), Ok(day)) = (u32::try_from(month), u32::try_from(day)) else {
        return Err(FieldViolation::new(field, "is not a valid calendar date"));
    };
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| FieldViolation::new(field, "is not a valid calendar date"))
}

/// A leader's instruction to record, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstruction {
    /// The leader who gave it.
    pub leader: Person,
    /// Its text.
    pub text: String,
    /// The date on it, in China.
    pub date: NaiveDate,
}

impl NewInstruction {
    /// Checks an instruction given on `today` (in China): leader, text and a date not in the future;
    /// violations under `prefix.<field>`.
    pub fn parse(
        leader: Option<Result<Person, ServiceError>>,
        text: &str,
        date: Option<(i32, i32, i32)>,
        today: NaiveDate,
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let leader = match leader {
            None => {
                v.add(field("leader"), "is required");
                None
            }
            Some(Ok(p)) => Some(p),
            Some(Err(ServiceError::InvalidArgument(violations))) => {
                violations.into_iter().for_each(|x| v.add(x.field, x.description));
                None
            }
            Some(Err(other)) => return Err(other),
        };
        let text = v.check(required_text(text, MAX_INSTRUCTION_CHARS, &field("text")));
        let date = match date {
            None => {
                v.add(field("instruction_date"), "is required");
                None
            }
            Some((y, m, d)) => match v.check(calendar_date(y, m, d, &field("instruction_date"))) {
                Some(date) if date > today => {
                    v.add(field("instruction_date"), format!("must not be in the future (today is {today})"));
                    None
                }
                other => other,
            },
        };
        v.finish()?;
        match (leader, text, date) {
            (Some(leader), Some(text), Some(date)) => Ok(Self { leader, text, date }),
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// A canonical text of the request on `report_id` by `actor`, kept with its request id.
    pub fn fingerprint(&self, report_id: &str, actor: &str) -> String {
        let mut out = String::new();
        for part in [report_id, actor, &self.leader.canonical(), &self.text, &self.date.to_string()] {
            push_length_prefixed(&mut out, part);
        }
        out
    }
}

/// A recorded instruction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Identifier.
    pub id: String,
    /// The leader who gave it.
    pub leader: Person,
    /// Its text.
    pub text: String,
    /// The date on it, in China.
    pub date: NaiveDate,
    /// Subject of who recorded it.
    pub recorded_by: String,
    /// When it was recorded.
    pub record_time: DateTime<Utc>,
}

/// A special report as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Body.
    pub text: String,
    /// Suggestions it was compiled from, in order.
    pub suggestion_ids: Vec<String>,
    /// Public-opinion items it was compiled from, in order.
    pub opinion_items: Vec<String>,
    /// Category code (may be empty).
    pub category: String,
    /// Where it stands.
    pub status: ReportStatus,
    /// The leaders it was sent to, in order.
    pub recipients: Vec<Person>,
    /// When it was sent.
    pub send_time: Option<DateTime<Utc>>,
    /// Instructions, in the order recorded.
    pub instructions: Vec<Instruction>,
    /// The supervision case it was assigned as, if any.
    pub case_id: Option<String>,
    /// Revision (the etag).
    pub version: i64,
    /// Subject of who compiled it.
    pub created_by: String,
    /// When it was compiled.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

impl Report {
    fn refuse(&self, what: &str) -> ServiceError {
        ServiceError::FailedPrecondition(format!("special report {} is {}: {what}", self.id, self.status.name()))
    }

    /// `Ok` when it may be sent (COMPILED).
    pub fn check_sendable(&self) -> Result<(), ServiceError> {
        match self.status {
            ReportStatus::Compiled => Ok(()),
            _ => Err(self.refuse("only a COMPILED report can be sent")),
        }
    }

    /// `Ok` when an instruction dated `date` may be recorded: the report is SENT or INSTRUCTED, and the
    /// date is not before the day it was sent (INVALID_ARGUMENT on `date_field`).
    pub fn check_instructable(&self, date: NaiveDate, date_field: &str) -> Result<(), ServiceError> {
        match self.status {
            ReportStatus::Sent | ReportStatus::Instructed => {}
            ReportStatus::Compiled => {
                return Err(self.refuse("an instruction can only be recorded on a SENT or INSTRUCTED report"));
            }
        }
        if let Some(sent) = self.send_time.map(tingjian_runtime::time::china_date)
            && date < sent
        {
            return Err(ServiceError::invalid(
                date_field,
                format!("must not be before the day the report was sent ({sent})"),
            ));
        }
        Ok(())
    }

    /// `Ok` when it may be assigned to supervision (SENT or INSTRUCTED).
    pub fn check_assignable(&self) -> Result<(), ServiceError> {
        match self.status {
            ReportStatus::Sent | ReportStatus::Instructed => Ok(()),
            ReportStatus::Compiled => {
                Err(self.refuse("only a SENT or INSTRUCTED report can be assigned to supervision"))
            }
        }
    }
}

/// What is assigned to supervision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A suggestion (协商建议).
    Suggestion,
    /// A special report (专报).
    SpecialReport,
}

impl SourceKind {
    /// The contract's number (the same in consultation's AssignmentSourceKind and supervision's
    /// CaseSourceKind).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Suggestion => 1,
            Self::SpecialReport => 2,
        }
    }

    /// The kind of a contract number; `None` for unspecified or unknown numbers.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Suggestion),
            2 => Some(Self::SpecialReport),
            _ => None,
        }
    }

    /// The collection of its events' subjects.
    pub fn collection(self) -> &'static str {
        match self {
            Self::Suggestion => "suggestions",
            Self::SpecialReport => "special_reports",
        }
    }

    /// The request id of the CreateCase call for source `id`: the same on every attempt, so a retry
    /// after a failure finds the case the first attempt made.
    pub fn case_request_id(self, id: &str) -> String {
        match self {
            Self::Suggestion => format!("assign-suggestion-{id}"),
            Self::SpecialReport => format!("assign-special-report-{id}"),
        }
    }
}

/// What a source gives the case made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignableSource {
    /// Title of the source (the case's title).
    pub title: String,
    /// Text of the source (the case's description, cut to what supervision accepts).
    pub text: String,
    /// Category code (may be empty).
    pub category: String,
    /// Subject of who drafted or compiled it (the proposer, who evaluates the reply).
    pub created_by: String,
}

impl AssignableSource {
    /// The case description: the source's text, cut at [`MAX_CASE_DESCRIPTION_CHARS`] with "…".
    pub fn description(&self) -> String {
        if self.text.chars().count() <= MAX_CASE_DESCRIPTION_CHARS {
            return self.text.clone();
        }
        let mut cut: String = self.text.chars().take(MAX_CASE_DESCRIPTION_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

/// The deadline asked of a case: an instant, or working days from dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    /// Reply by this instant.
    At(DateTime<Utc>),
    /// Reply within this many working days of dispatch.
    WorkingDays(i32),
}

impl Deadline {
    /// Checks the deadline at `now`: exactly one of an instant in the future or 1–250 working days.
    pub fn parse(time: Option<DateTime<Utc>>, working_days: i32, now: DateTime<Utc>) -> Result<Self, FieldViolation> {
        match (time, working_days) {
            (None, 0) => {
                Err(FieldViolation::new("deadline_time", "either deadline_time or deadline_working_days is required"))
            }
            (Some(_), n) if n != 0 => Err(FieldViolation::new(
                "deadline_working_days",
                "give either deadline_time or deadline_working_days, not both",
            )),
            (Some(t), _) if t <= now => Err(FieldViolation::new("deadline_time", "must be in the future")),
            (Some(t), _) => Ok(Self::At(t)),
            (None, n) if !(1..=MAX_DEADLINE_WORKING_DAYS).contains(&n) => Err(FieldViolation::new(
                "deadline_working_days",
                format!("must be between 1 and {MAX_DEADLINE_WORKING_DAYS} working days"),
            )),
            (None, n) => Ok(Self::WorkingDays(n)),
        }
    }
}

/// What AssignToSupervision asks for, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentOrder {
    /// What is assigned.
    pub kind: SourceKind,
    /// Id of the suggestion or report.
    pub source_id: String,
    /// The lead handling unit (主办).
    pub lead_unit: Organisation,
    /// Co-handling units (协办).
    pub co_units: Vec<Organisation>,
    /// The unit head who answers for it.
    pub responsible_head: Person,
    /// The deadline to reply.
    pub deadline: Deadline,
    /// Planned completion date (计划办结日期), in China.
    pub planned_completion_date: Option<NaiveDate>,
    /// Jointly supervised with the supervision offices.
    pub joint_supervision: bool,
    /// Visible to discipline inspection.
    pub discipline_inspection: bool,
    /// Handling requirements (may be empty).
    pub requirements: String,
}

/// A planned completion date must not lie before today (in China); INVALID_ARGUMENT on `field`.
pub fn planned_completion(date: NaiveDate, today: NaiveDate, field: &str) -> Result<NaiveDate, FieldViolation> {
    if date < today {
        return Err(FieldViolation::new(field, format!("must not be in the past (today is {today})")));
    }
    if date.year() > today.year() + 10 {
        return Err(FieldViolation::new(field, "must be within ten years"));
    }
    Ok(date)
}

/// The link between a source and the case it became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// What was assigned.
    pub kind: SourceKind,
    /// Id of the suggestion or report.
    pub source_id: String,
    /// Id of the case in supervision.
    pub case_id: String,
    /// The lead handling unit.
    pub lead_unit: Organisation,
    /// Subject of who assigned it.
    pub assigned_by: String,
    /// When it was assigned.
    pub assign_time: DateTime<Utc>,
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
    fn a_report_needs_sources() {
        let e = NewReport::parse("专报", "正文", &[], &[], "", "special_report").expect_err("no sources");
        assert_eq!(fields(e), ["special_report.suggestion_ids"]);
        let e = NewReport::parse("", "正文", &["x".into()], &[" ".into()], "", "special_report").expect_err("bad");
        assert_eq!(
            fields(e),
            ["special_report.title", "special_report.suggestion_ids[0]", "special_report.opinion_items[0]"]
        );
        let id = tingjian_runtime::wire::new_id();
        let report = NewReport::parse("专报", "正文", &[id.clone(), id.clone()], &[], "", "r").expect("valid");
        assert_eq!(report.suggestion_ids, [id]);
    }

    #[test]
    fn an_instruction_is_not_dated_in_the_future() {
        let today = NaiveDate::from_ymd_opt(2025, 6, 1).expect("date");
        let leader = Person { display_name: "王市长".into(), title: "市长".into(), ..Default::default() };
        let e = NewInstruction::parse(Some(Ok(leader.clone())), "请研究", Some((2025, 6, 2)), today, "instruction")
            .expect_err("future");
        assert_eq!(fields(e), ["instruction.instruction_date"]);
        let e = NewInstruction::parse(None, "", Some((2025, 2, 30)), today, "instruction").expect_err("bad");
        assert_eq!(fields(e), ["instruction.leader", "instruction.text", "instruction.instruction_date"]);
        let ok = NewInstruction::parse(Some(Ok(leader)), "请研究", Some((2025, 6, 1)), today, "instruction");
        assert_eq!(ok.expect("valid").date, today);
    }

    #[test]
    fn a_deadline_is_one_of_two_forms() {
        let now: DateTime<Utc> = "2025-06-01T00:00:00Z".parse().expect("time");
        assert_eq!(Deadline::parse(None, 0, now).expect_err("none").field, "deadline_time");
        assert_eq!(Deadline::parse(Some(now), 5, now).expect_err("both").field, "deadline_working_days");
        assert_eq!(Deadline::parse(Some(now), 0, now).expect_err("past").field, "deadline_time");
        assert_eq!(Deadline::parse(None, -1, now).expect_err("negative").field, "deadline_working_days");
        assert_eq!(Deadline::parse(None, 15, now).expect("days"), Deadline::WorkingDays(15));
    }

    #[test]
    fn case_request_ids_fit_supervision() {
        let id = tingjian_runtime::wire::new_id();
        for kind in [SourceKind::Suggestion, SourceKind::SpecialReport] {
            let request_id = kind.case_request_id(&id);
            assert!(request_id.len() <= 64, "{request_id}");
            assert_eq!(request_id, kind.case_request_id(&id));
        }
    }
}
