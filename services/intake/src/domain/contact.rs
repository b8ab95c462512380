//! Contact people of an enterprise (企业联系人: personal data, kept apart from the enterprise record) and
//! the contacts logged under the weekly cadence (一周一联系): visits, calls and online exchanges, with
//! the policies briefed and the person-times briefed (宣讲人次).

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};

use super::enterprise::{
    EnterpriseFilter, checked_id, free_text, line_text, parse_update_mask, past_time, request_fingerprint, subject_list,
};

/// Longest contact person's name, in characters.
pub const MAX_PERSON_NAME_CHARS: usize = 50;
/// Longest phone number, in characters.
pub const MAX_PHONE_CHARS: usize = 20;
/// Longest position (职务), in characters.
pub const MAX_POSITION_CHARS: usize = 50;
/// Fields UpdateContactPerson may change.
pub const CONTACT_PERSON_UPDATE_PATHS: &[&str] = &["name", "phone", "position", "primary"];

/// A contact person's fields, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPersonFields {
    /// Full name (personal data).
    pub name: String,
    /// Phone number (personal data; may be empty).
    pub phone: String,
    /// Position in the enterprise (may be empty).
    pub position: String,
    /// Whether this is the enterprise's primary contact.
    pub primary: bool,
}

/// The raw fields of a contact person as a caller sent them.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContactPersonInput<'a> {
    /// Name.
    pub name: &'a str,
    /// Phone.
    pub phone: &'a str,
    /// Position.
    pub position: &'a str,
    /// Primary flag.
    pub primary: bool,
}

fn phone(raw: &str) -> Result<String, String> {
    let value = line_text(raw, MAX_PHONE_CHARS, false)?;
    if !value.chars().all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')')) {
        return Err("may hold only digits, spaces and + - ( )".into());
    }
    if !value.is_empty() && !value.chars().any(|c| c.is_ascii_digit()) {
        return Err("has no digits".into());
    }
    Ok(value)
}

impl ContactPersonFields {
    /// Checks every field, reporting problems under `prefix.<field>`.
    pub fn parse(input: &ContactPersonInput<'_>, prefix: &str) -> Result<Self, ServiceError> {
        Self::check(input, prefix, CONTACT_PERSON_UPDATE_PATHS, None)
    }

    /// These fields with the masked `paths` taken from `input`, checked.
    pub fn with_changes(
        &self,
        input: &ContactPersonInput<'_>,
        paths: &[&str],
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        Self::check(input, prefix, paths, Some(self))
    }

    fn check(
        input: &ContactPersonInput<'_>,
        prefix: &str,
        paths: &[&str],
        base: Option<&Self>,
    ) -> Result<Self, ServiceError> {
        let field = |f: &str| format!("{prefix}.{f}");
        let masked = |f: &str| paths.contains(&f);
        let mut v = Violations::new();
        let name = if masked("name") {
            v.check(
                line_text(input.name, MAX_PERSON_NAME_CHARS, true).map_err(|e| FieldViolation::new(field("name"), e)),
            )
        } else {
            base.map(|b| b.name.clone())
        };
        let phone = if masked("phone") {
            v.check(phone(input.phone).map_err(|e| FieldViolation::new(field("phone"), e)))
        } else {
            base.map(|b| b.phone.clone())
        };
        let position = if masked("position") {
            v.check(
                line_text(input.position, MAX_POSITION_CHARS, false)
                    .map_err(|e| FieldViolation::new(field("position"), e)),
            )
        } else {
            base.map(|b| b.position.clone())
        };
        let primary = if masked("primary") { Some(input.primary) } else { base.map(|b| b.primary) };
        v.finish()?;
        match (name, phone, position, primary) {
            (Some(name), Some(phone), Some(position), Some(primary)) => Ok(Self { name, phone, position, primary }),
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// What a creation asked for, kept with its request id. A digest, so no second copy of the
    /// personal data is stored.
    pub fn fingerprint(&self, enterprise_id: &str) -> String {
        request_fingerprint(
            "contact_person",
            &[enterprise_id, &self.name, &self.phone, &self.position, if self.primary { "1" } else { "0" }],
        )
    }

    /// Checks an update mask of UpdateContactPerson.
    pub fn update_paths(paths: &[String]) -> Result<Vec<&'static str>, ServiceError> {
        parse_update_mask(paths, CONTACT_PERSON_UPDATE_PATHS)
    }
}

/// A stored contact person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPerson {
    /// Identifier.
    pub id: String,
    /// The enterprise the person works for.
    pub enterprise_id: String,
    /// The fields.
    pub fields: ContactPersonFields,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

impl ContactPerson {
    /// The record as a caller without the right to read personal data sees it: the name and phone
    /// masked ("王**", "138****0000").
    pub fn masked(mut self) -> Self {
        self.fields.name = mask_name(&self.fields.name);
        self.fields.phone = mask_phone(&self.fields.phone);
        self
    }
}

/// A name masked but for its first character: "王某某" → "王**".
pub fn mask_name(name: &str) -> String {
    let n = name.chars().count();
    match name.chars().next() {
        None => String::new(),
        Some(_) if n == 1 => "*".into(),
        Some(first) => std::iter::once(first).chain(std::iter::repeat_n('*', n - 1)).collect(),
    }
}

/// A phone number masked but for its first three and last four characters: "13800000000" →
/// "138****0000"; short numbers are masked entirely.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let (head, rest) = chars.split_at(3);
    let (middle, tail) = rest.split_at(rest.len() - 4);
    head.iter().chain(std::iter::repeat_n(&'*', middle.len())).chain(tail).collect()
}

/// How a contact took place (the contract's `ContactChannel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactChannel {
    /// On-site visit (上门走访).
    Visit,
    /// Phone call (电话联系).
    Phone,
    /// Online exchange (线上沟通).
    Online,
}

impl ContactChannel {
    /// The stored number (the contract's enum value).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Visit => 1,
            Self::Phone => 2,
            Self::Online => 3,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Visit,
            2 => Self::Phone,
            3 => Self::Online,
            _ => return None,
        })
    }
}

/// Longest contact summary, in characters.
pub const MAX_SUMMARY_CHARS: usize = 5_000;
/// Most policies briefed in one contact.
pub const MAX_POLICIES: usize = 50;
/// Longest policy title, in characters.
pub const MAX_POLICY_CHARS: usize = 200;
/// Most members and staff in one contact (and hosts of a roundtable).
pub const MAX_PARTICIPANTS: usize = 50;
/// Longest caller subject, in characters.
pub const MAX_SUBJECT_CHARS: usize = 128;
/// Most contact people in one contact.
pub const MAX_CONTACT_PERSONS: usize = 50;
/// Highest person-times briefed in one contact.
pub const MAX_PERSON_TIMES: i32 = 100_000;

/// A contact to log, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    /// The enterprise contacted.
    pub enterprise_id: String,
    /// How.
    pub channel: ContactChannel,
    /// When it took place (microseconds).
    pub contact_time: DateTime<Utc>,
    /// Members and staff who took part, distinct, in order.
    pub member_ids: Vec<String>,
    /// The enterprise's contact people who took part, distinct, in order.
    pub contact_person_ids: Vec<String>,
    /// What was discussed.
    pub summary: String,
    /// Titles of the policies briefed.
    pub policies_briefed: Vec<String>,
    /// Person-times briefed.
    pub briefed_person_times: i32,
}

/// The raw fields of a contact as a caller sent them.
#[derive(Debug, Clone, Copy, Default)]
pub struct ContactInput<'a> {
    /// Enterprise id.
    pub enterprise_id: &'a str,
    /// Channel as the contract's number.
    pub channel: i32,
    /// When (unset is refused).
    pub contact_time: Option<DateTime<Utc>>,
    /// Member subjects.
    pub member_ids: &'a [String],
    /// Contact person ids.
    pub contact_person_ids: &'a [String],
    /// Summary.
    pub summary: &'a str,
    /// Policies briefed.
    pub policies_briefed: &'a [String],
    /// Person-times briefed.
    pub briefed_person_times: i32,
}

impl NewContact {
    /// Checks every field, reporting problems under `prefix.<field>`; `now` bounds the contact time.
    pub fn parse(input: &ContactInput<'_>, prefix: &str, now: DateTime<Utc>) -> Result<Self, ServiceError> {
        let field = |f: &str| format!("{prefix}.{f}");
        let mut v = Violations::new();
        let enterprise_id = v.check(checked_id(input.enterprise_id, field("enterprise_id")));
        let channel = v.check(
            ContactChannel::from_i32(input.channel)
                .ok_or_else(|| FieldViolation::new(field("channel"), "must be VISIT, PHONE or ONLINE")),
        );
        let contact_time = v.check(match input.contact_time {
            None => Err(FieldViolation::new(field("contact_time"), "is required")),
            Some(t) => past_time(t, now).map_err(|e| FieldViolation::new(field("contact_time"), e)),
        });
        let members_field = field("member_ids");
        let mut member_ids = Vec::new();
        for checked in subject_list(input.member_ids, &members_field, MAX_PARTICIPANTS, MAX_SUBJECT_CHARS) {
            if let Some(id) = v.check(checked) {
                member_ids.push(id);
            }
        }
        if input.member_ids.is_empty() {
            v.add(members_field, "at least one member or staff subject is required");
        }
        let mut contact_person_ids: Vec<String> = Vec::new();
        for (i, raw) in input.contact_person_ids.iter().enumerate() {
            if let Some(id) = v.check(checked_id(raw, format!("{}[{i}]", field("contact_person_ids"))))
                && !contact_person_ids.contains(&id)
            {
                contact_person_ids.push(id);
            }
        }
        if contact_person_ids.len() > MAX_CONTACT_PERSONS {
            v.add(field("contact_person_ids"), format!("at most {MAX_CONTACT_PERSONS} are allowed"));
        }
        let summary = v.check(
            free_text(input.summary, MAX_SUMMARY_CHARS, true).map_err(|e| FieldViolation::new(field("summary"), e)),
        );
        let mut policies_briefed = Vec::new();
        for (i, raw) in input.policies_briefed.iter().enumerate() {
            let checked = line_text(raw, MAX_POLICY_CHARS, true)
                .map_err(|e| FieldViolation::new(format!("{}[{i}]", field("policies_briefed")), e));
            if let Some(title) = v.check(checked) {
                policies_briefed.push(title);
            }
        }
        if input.policies_briefed.len() > MAX_POLICIES {
            v.add(field("policies_briefed"), format!("at most {MAX_POLICIES} policies are allowed"));
        }
        if !(0..=MAX_PERSON_TIMES).contains(&input.briefed_person_times) {
            v.add(field("briefed_person_times"), format!("must be between 0 and {MAX_PERSON_TIMES}"));
        }
        v.finish()?;
        match (enterprise_id, channel, contact_time, summary) {
            (Some(enterprise_id), Some(channel), Some(contact_time), Some(summary)) => Ok(Self {
                enterprise_id,
                channel,
                contact_time,
                member_ids,
                contact_person_ids,
                summary,
                policies_briefed,
                briefed_person_times: input.briefed_person_times,
            }),
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// What the request asked for, kept with its request id.
    pub fn fingerprint(&self) -> String {
        let time = self.contact_time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let members = self.member_ids.join("\u{1f}");
        let persons = self.contact_person_ids.join(",");
        let policies = self.policies_briefed.join("\u{1f}");
        request_fingerprint(
            "contact",
            &[
                &self.enterprise_id,
                &self.channel.as_i32().to_string(),
                &time,
                &members,
                &persons,
                &self.summary,
                &policies,
                &self.briefed_person_times.to_string(),
            ],
        )
    }
}

/// A logged contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Identifier.
    pub id: String,
    /// The fields.
    pub fields: NewContact,
    /// Who logged it.
    pub created_by: String,
    /// When it was logged.
    pub create_time: DateTime<Utc>,
    /// Demands whose origin is this contact.
    pub demand_ids: Vec<String>,
}

/// The optional bounds of a time range filter: [start, end).
pub type TimeBounds = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// Checks a time range filter: if both bounds are set, the start must come before the end.
pub fn checked_time_range(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    field: &str,
) -> Result<TimeBounds, FieldViolation> {
    match (start, end) {
        (Some(s), Some(e)) if s >= e => Err(FieldViolation::new(field, "start_time must be before end_time")),
        _ => Ok((start, end)),
    }
}

/// The filters of ListContacts, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactFilter {
    /// Only contacts with this enterprise.
    pub enterprise_id: Option<String>,
    /// Only contacts in which this subject took part.
    pub member_id: Option<String>,
    /// Only this channel.
    pub channel: Option<ContactChannel>,
    /// Only contacts at or after this instant.
    pub start: Option<DateTime<Utc>>,
    /// Only contacts before this instant.
    pub end: Option<DateTime<Utc>>,
}

impl ContactFilter {
    /// Checks the filters, each problem under its request field.
    pub fn parse(
        enterprise_id: &str,
        member_id: &str,
        channel: i32,
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
    ) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let enterprise_id =
            if enterprise_id.trim().is_empty() { None } else { v.check(checked_id(enterprise_id, "enterprise_id")) };
        let member_id = v
            .check(line_text(member_id, MAX_SUBJECT_CHARS, false).map_err(|e| FieldViolation::new("member_id", e)))
            .filter(|m| !m.is_empty());
        let channel = match channel {
            0 => None,
            n => v.check(
                ContactChannel::from_i32(n)
                    .ok_or_else(|| FieldViolation::new("channel", "must be VISIT, PHONE, ONLINE or unspecified")),
            ),
        };
        let range = v.check(checked_time_range(start, end, "time_range"));
        v.finish()?;
        let (start, end) = range.unwrap_or((None, None));
        Ok(Self { enterprise_id, member_id, channel, start, end })
    }

    /// A digest of the filters, carried in page tokens.
    pub fn digest(&self) -> String {
        let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        request_fingerprint(
            "contact_filter",
            &[
                self.enterprise_id.as_deref().unwrap_or(""),
                self.member_id.as_deref().unwrap_or(""),
                &self.channel.map_or(0, ContactChannel::as_i32).to_string(),
                &time(self.start),
                &time(self.end),
            ],
        )
    }
}

/// The weekly cadence (一周一联系): an enterprise with no contact for more than this many days is overdue.
pub const DEFAULT_OVERDUE_DAYS: u32 = 7;
/// Largest overdue threshold a request may give (ten years).
pub const MAX_OVERDUE_DAYS: u32 = 3_650;

/// The query of ListOverdueEnterprises, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueQuery {
    /// Overdue after this many days without contact.
    pub days: u32,
    /// Which enterprises (district, industry, monitoring points).
    pub enterprises: EnterpriseFilter,
}

impl OverdueQuery {
    /// Checks the threshold (0 means the weekly cadence, 7 days) and the filters.
    pub fn parse(overdue_days: i32, enterprises: EnterpriseFilter) -> Result<Self, ServiceError> {
        let days = match u32::try_from(overdue_days) {
            Ok(0) => DEFAULT_OVERDUE_DAYS,
            Ok(n) if n <= MAX_OVERDUE_DAYS => n,
            _ => {
                return Err(ServiceError::invalid(
                    "overdue_days",
                    format!(
                        "must be between 0 (the weekly cadence, {DEFAULT_OVERDUE_DAYS} days) and {MAX_OVERDUE_DAYS}"
                    ),
                ));
            }
        };
        Ok(Self { days, enterprises })
    }

    /// The instant before which the latest contact (or the registration) makes an enterprise overdue.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(self.days))
    }

    /// A digest of the query, carried in page tokens.
    pub fn digest(&self) -> String {
        request_fingerprint("overdue", &[&self.days.to_string(), &self.enterprises.digest()])
    }
}

/// Whole days from `since` to `now` (0 for a later `since`).
pub fn whole_days_since(since: DateTime<Utc>, now: DateTime<Utc>) -> i32 {
    i32::try_from((now - since).num_days().max(0)).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn id(n: u8) -> String {
        format!("01930000-0000-7000-8000-0000000000{n:02}")
    }

    #[test]
    fn personal_data_is_masked() {
        assert_eq!(mask_name("王某某"), "王**");
        assert_eq!(mask_name("王"), "*");
        assert_eq!(mask_name(""), "");
        assert_eq!(mask_phone("13800000000"), "138****0000");
        assert_eq!(mask_phone("0580-2021234"), "058*****1234");
        assert_eq!(mask_phone("12345"), "*****");
    }

    #[test]
    fn contact_people_are_checked() {
        let ok =
            ContactPersonInput { name: "王某某", phone: "138 0000 0000", position: "财务总监", primary: true };
        assert_eq!(ContactPersonFields::parse(&ok, "p").expect("valid").name, "王某某");
        let bad = ContactPersonInput { name: "", phone: "call me", position: &"长".repeat(51), primary: false };
        let ServiceError::InvalidArgument(v) = ContactPersonFields::parse(&bad, "p").expect_err("bad") else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["p.name", "p.phone", "p.position"]);
        let current = ContactPersonFields::parse(&ok, "p").expect("valid");
        let changed = current
            .with_changes(&ContactPersonInput { phone: "0580-1234567", ..Default::default() }, &["phone"], "p")
            .expect("valid");
        assert_eq!((changed.name.as_str(), changed.phone.as_str()), ("王某某", "0580-1234567"));
    }

    #[test]
    fn a_contact_reports_every_bad_field() {
        let now = tingjian_runtime::clock::now();
        let members = vec![String::new()];
        let persons = vec!["x".to_owned()];
        let policies = vec!["增值税留抵退税".to_owned(), " ".to_owned()];
        let input = ContactInput {
            enterprise_id: "企业",
            channel: 0,
            contact_time: Some(now + Duration::days(1)),
            member_ids: &members,
            contact_person_ids: &persons,
            summary: "",
            policies_briefed: &policies,
            briefed_person_times: -1,
        };
        let ServiceError::InvalidArgument(v) = NewContact::parse(&input, "contact", now).expect_err("bad") else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "contact.enterprise_id",
                "contact.channel",
                "contact.contact_time",
                "contact.member_ids[0]",
                "contact.contact_person_ids[0]",
                "contact.summary",
                "contact.policies_briefed[1]",
                "contact.briefed_person_times",
            ]
        );
    }

    #[test]
    fn a_contact_keeps_distinct_participants_in_order() {
        let now = tingjian_runtime::clock::now();
        let members = vec!["member-2".to_owned(), "member-1".to_owned(), "member-2".to_owned()];
        let persons = vec![id(2), id(1), id(2)];
        let input = ContactInput {
            enterprise_id: &id(9),
            channel: 1,
            contact_time: Some(now - Duration::hours(2)),
            member_ids: &members,
            contact_person_ids: &persons,
            summary: "走访企业，了解融资需求",
            policies_briefed: &[],
            briefed_person_times: 0,
        };
        let contact = NewContact::parse(&input, "contact", now).expect("valid");
        assert_eq!(contact.member_ids, ["member-2", "member-1"]);
        assert_eq!(contact.contact_person_ids, [id(2), id(1)]);
        let none = ContactInput { member_ids: &[], ..input };
        assert!(NewContact::parse(&none, "contact", now).is_err(), "at least one member");
    }

    #[test]
    fn overdue_thresholds_default_to_a_week() {
        assert_eq!(OverdueQuery::parse(0, EnterpriseFilter::default()).expect("default").days, 7);
        assert_eq!(OverdueQuery::parse(30, EnterpriseFilter::default()).expect("valid").days, 30);
        assert!(OverdueQuery::parse(-1, EnterpriseFilter::default()).is_err());
        assert!(OverdueQuery::parse(4_000, EnterpriseFilter::default()).is_err());
        let now = tingjian_runtime::clock::now();
        assert_eq!(whole_days_since(now - Duration::hours(49), now), 2);
        assert_eq!(whole_days_since(now + Duration::hours(1), now), 0);
    }

    #[test]
    fn time_ranges_must_be_ordered() {
        let now = tingjian_runtime::clock::now();
        assert!(checked_time_range(Some(now), Some(now), "r").is_err());
        assert!(checked_time_range(Some(now), None, "r").is_ok());
        assert!(ContactFilter::parse("", "", 0, Some(now), Some(now - Duration::days(1))).is_err());
    }
}
