//! Service teams (一企一团队), the service menu (菜单式服务) and service lists (服务清单): an enterprise's
//! demand list turned into a list of services, each delivered by a member of its team.

use chrono::{DateTime, Duration, SubsecRound, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{optional_text, push_length_prefixed, required_text};

/// Longest subject or directory identifier of a person.
pub const MAX_PERSON_ID_CHARS: usize = 128;
/// Longest display name of a person.
pub const MAX_NAME_CHARS: usize = 50;
/// Longest position (职务) of a person.
pub const MAX_PERSON_TITLE_CHARS: usize = 100;
/// Longest special committee name (专委会).
pub const MAX_COMMITTEE_CHARS: usize = 100;
/// Longest service plan (服务方案).
pub const MAX_PLAN_CHARS: usize = 10_000;
/// Longest sector (界别).
pub const MAX_SECTOR_CHARS: usize = 50;
/// Longest description of a member's expertise.
pub const MAX_EXPERTISE_CHARS: usize = 200;
/// Most members of one team.
pub const MAX_MEMBERS: usize = 100;
/// Longest menu item title.
pub const MAX_ITEM_TITLE_CHARS: usize = 100;
/// Longest menu item description.
pub const MAX_ITEM_DESCRIPTION_CHARS: usize = 2_000;
/// Most categories of one menu item.
pub const MAX_CATEGORIES: usize = 20;
/// Longest category code.
pub const MAX_CATEGORY_CHARS: usize = 50;
/// Longest planning note of a service-list entry.
pub const MAX_NOTE_CHARS: usize = 2_000;
/// Longest delivery note.
pub const MAX_DELIVERY_NOTE_CHARS: usize = 5_000;
/// How far ahead of the server's clock a delivery time may be (clock skew between machines).
pub const DELIVERY_CLOCK_SKEW: Duration = Duration::seconds(60);

/// A person as a request names them (the fields of a `PersonRef`), unchecked.
#[derive(Debug, Clone, Copy, Default)]
pub struct PersonInput<'a> {
    /// Subject or directory identifier.
    pub id: &'a str,
    /// Display name.
    pub display_name: &'a str,
    /// Position (职务).
    pub title: &'a str,
    /// Organisation identifier.
    pub organisation_id: &'a str,
}

/// A checked reference to a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Subject or directory identifier (may be empty for a lead known only by name).
    pub id: String,
    /// Display name.
    pub display_name: String,
    /// Position (职务).
    pub title: String,
    /// Organisation identifier.
    pub organisation_id: String,
}

impl Person {
    /// Checks a person under `field`: `require_id` for a member (their id is their subject);
    /// otherwise the id or the display name must be given.
    fn parse(v: &mut Violations, raw: &PersonInput<'_>, field: &str, require_id: bool) -> Option<Self> {
        let sub = |name: &str| format!("{field}.{name}");
        let id = if require_id {
            v.check(required_text(raw.id, MAX_PERSON_ID_CHARS, &sub("id")))
        } else {
            v.check(optional_text(raw.id, MAX_PERSON_ID_CHARS, &sub("id")))
        };
        let display_name = v.check(optional_text(raw.display_name, MAX_NAME_CHARS, &sub("display_name")));
        let title = v.check(optional_text(raw.title, MAX_PERSON_TITLE_CHARS, &sub("title")));
        let organisation_id = v.check(optional_text(raw.organisation_id, MAX_PERSON_ID_CHARS, &sub("organisation_id")));
        let person = Self { id: id?, display_name: display_name?, title: title?, organisation_id: organisation_id? };
        if person.id.is_empty() && person.display_name.is_empty() {
            v.add(sub("display_name"), "is required: name the person (or give their id)");
            return None;
        }
        Some(person)
    }
}

/// A team member as a request gives them, unchecked.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemberInput<'a> {
    /// The member; `None` when the request left it out.
    pub member: Option<PersonInput<'a>>,
    /// Sector (界别).
    pub sector: &'a str,
    /// Expertise.
    pub expertise: &'a str,
}

/// A checked team member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamMember {
    /// The CPPCC member; `person.id` is their subject.
    pub person: Person,
    /// Sector (界别), e.g. 金融界.
    pub sector: String,
    /// What they are good at, e.g. 融资对接.
    pub expertise: String,
}

/// What a team is made of, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamFields {
    /// The chair-meeting member who leads it (主席会议成员).
    pub lead: Person,
    /// The special committee responsible (专委会).
    pub committee: String,
    /// The members, at least one, each once.
    pub members: Vec<TeamMember>,
    /// Service plan in words (服务方案).
    pub plan: String,
}

/// The unchecked fields of a team, as a request gives them.
#[derive(Debug, Clone, Default)]
pub struct TeamInput<'a> {
    /// The lead; `None` when left out.
    pub lead: Option<PersonInput<'a>>,
    /// Special committee.
    pub committee: &'a str,
    /// Members.
    pub members: Vec<MemberInput<'a>>,
    /// Service plan.
    pub plan: &'a str,
}

/// Checks a lead under `field`.
pub fn parse_lead(v: &mut Violations, raw: Option<&PersonInput<'_>>, field: &str) -> Option<Person> {
    match raw {
        None => {
            v.add(field, "is required: the chair-meeting member who leads the team");
            None
        }
        Some(raw) => Person::parse(v, raw, field, false),
    }
}

/// Checks a special committee under `field`.
pub fn parse_committee(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(required_text(raw, MAX_COMMITTEE_CHARS, field))
}

/// Checks a service plan under `field`.
pub fn parse_plan(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(optional_text(raw, MAX_PLAN_CHARS, field))
}

/// Checks the members under `field`: at least one, at most [`MAX_MEMBERS`], each with an id, no
/// member twice.
pub fn parse_members(v: &mut Violations, raw: &[MemberInput<'_>], field: &str) -> Option<Vec<TeamMember>> {
    if raw.is_empty() {
        v.add(field, "is required: at least 1 member");
        return None;
    }
    if raw.len() > MAX_MEMBERS {
        v.add(field, format!("has {} members; at most {MAX_MEMBERS} are allowed", raw.len()));
        return None;
    }
    let mut out: Vec<TeamMember> = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (i, m) in raw.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let person = match &m.member {
            None => {
                v.add(format!("{at}.member"), "is required");
                None
            }
            Some(p) => Person::parse(v, p, &format!("{at}.member"), true),
        };
        let sector = v.check(optional_text(m.sector, MAX_SECTOR_CHARS, &format!("{at}.sector")));
        let expertise = v.check(optional_text(m.expertise, MAX_EXPERTISE_CHARS, &format!("{at}.expertise")));
        match (person, sector, expertise) {
            (Some(person), Some(sector), Some(expertise)) => {
                if let Some(j) = out.iter().position(|o| o.person.id == person.id) {
                    v.add(format!("{at}.member.id"), format!("{} is already members[{j}]", person.id));
                    ok = false;
                } else {
                    out.push(TeamMember { person, sector, expertise });
                }
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

impl TeamFields {
    /// Checks every field of a team, reporting each problem under `prefix.<field>`.
    pub fn parse(v: &mut Violations, raw: &TeamInput<'_>, prefix: &str) -> Option<Self> {
        let lead = parse_lead(v, raw.lead.as_ref(), &format!("{prefix}.lead"));
        let committee = parse_committee(v, raw.committee, &format!("{prefix}.committee"));
        let members = parse_members(v, &raw.members, &format!("{prefix}.members"));
        let plan = parse_plan(v, raw.plan, &format!("{prefix}.plan"));
        Some(Self { lead: lead?, committee: committee?, members: members?, plan: plan? })
    }

    /// Whether `subject` may deliver the team's services: its lead or one of its members.
    pub fn serves(&self, subject: &str) -> bool {
        !subject.is_empty() && (self.lead.id == subject || self.members.iter().any(|m| m.person.id == subject))
    }

    /// The text a request id remembers of a creation, so a retry with other content is told apart.
    pub fn fingerprint(&self, enterprise_id: &str) -> String {
        let mut out = String::new();
        let person = |out: &mut String, p: &Person| {
            for part in [&p.id, &p.display_name, &p.title, &p.organisation_id] {
                push_length_prefixed(out, part);
            }
        };
        push_length_prefixed(&mut out, enterprise_id);
        person(&mut out, &self.lead);
        push_length_prefixed(&mut out, &self.committee);
        push_length_prefixed(&mut out, &self.plan);
        for m in &self.members {
            person(&mut out, &m.person);
            push_length_prefixed(&mut out, &m.sector);
            push_length_prefixed(&mut out, &m.expertise);
        }
        out
    }
}

/// A team to form for an enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewServiceTeam {
    /// The intake enterprise it serves.
    pub enterprise_id: String,
    /// Lead, committee, members and plan.
    pub fields: TeamFields,
}

/// A stored service team.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTeam {
    /// Identifier.
    pub id: String,
    /// The intake enterprise it serves.
    pub enterprise_id: String,
    /// Lead, committee, members and plan.
    pub fields: TeamFields,
    /// Revision (the etag).
    pub version: i64,
    /// Who formed it.
    pub created_by: String,
    /// When it was formed.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// Changes to a team (UpdateServiceTeam), each `Some` when named in the update mask, already checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamChanges {
    /// New lead.
    pub lead: Option<Person>,
    /// New committee.
    pub committee: Option<String>,
    /// New members (replacing all of them).
    pub members: Option<Vec<TeamMember>>,
    /// New plan.
    pub plan: Option<String>,
}

impl TeamChanges {
    /// The fields a team's update mask may name.
    pub const PATHS: &'static [&'static str] = &["lead", "committee", "members", "plan"];

    /// `current` with the changes applied.
    pub fn apply(&self, current: &TeamFields) -> TeamFields {
        TeamFields {
            lead: self.lead.clone().unwrap_or_else(|| current.lead.clone()),
            committee: self.committee.clone().unwrap_or_else(|| current.committee.clone()),
            members: self.members.clone().unwrap_or_else(|| current.members.clone()),
            plan: self.plan.clone().unwrap_or_else(|| current.plan.clone()),
        }
    }
}

/// Page-token list name of ListServiceTeams.
pub const TEAMS_LIST: &str = "service_teams";
/// Page-token list name of ListServiceMenuItems.
pub const MENU_LIST: &str = "service_menu_items";

/// Filters of ListServiceTeams; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamFilter {
    /// Only the team of this enterprise.
    pub enterprise_id: Option<String>,
    /// Only teams this subject leads or serves in.
    pub member_id: Option<String>,
    /// Only teams of this committee.
    pub committee: Option<String>,
}

impl TeamFilter {
    /// A digest of the filters, binding a page token to them.
    pub fn digest(&self) -> String {
        let mut out = String::new();
        for part in [&self.enterprise_id, &self.member_id, &self.committee] {
            push_length_prefixed(&mut out, part.as_deref().unwrap_or(""));
        }
        out
    }
}

/// Checks an intake category code under `field`: lower-case ASCII letters, digits and underscores.
pub fn parse_category(raw: &str, field: &str) -> Result<String, ServiceError> {
    let code = raw.trim();
    if code.is_empty() {
        return Err(ServiceError::invalid(field, "is required: an intake category code, e.g. finance_credit"));
    }
    if code.len() > MAX_CATEGORY_CHARS
        || !code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return Err(ServiceError::invalid(
            field,
            format!("must be an intake category code (lower-case letters, digits and _, at most {MAX_CATEGORY_CHARS})"),
        ));
    }
    Ok(code.to_owned())
}

/// Checks a menu item's categories under `field`: codes, at most [`MAX_CATEGORIES`], each once.
pub fn parse_categories(v: &mut Violations, raw: &[String], field: &str) -> Option<Vec<String>> {
    if raw.len() > MAX_CATEGORIES {
        v.add(field, format!("has {} categories; at most {MAX_CATEGORIES} are allowed", raw.len()));
        return None;
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (i, code) in raw.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match parse_category(code, &at) {
            Ok(code) if out.contains(&code) => {
                v.add(at, format!("{code} is listed twice"));
                ok = false;
            }
            Ok(code) => out.push(code),
            Err(ServiceError::InvalidArgument(violations)) => {
                violations.into_iter().for_each(|x| v.add(x.field, x.description));
                ok = false;
            }
            Err(_) => ok = false,
        }
    }
    ok.then_some(out)
}

/// Checks a menu item title under `field`.
pub fn parse_item_title(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(required_text(raw, MAX_ITEM_TITLE_CHARS, field))
}

/// Checks a menu item description under `field`.
pub fn parse_item_description(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(optional_text(raw, MAX_ITEM_DESCRIPTION_CHARS, field))
}

/// What a menu item offers, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItemFields {
    /// Title, e.g. 融资对接; unique among active items.
    pub title: String,
    /// What the service consists of.
    pub description: String,
    /// Intake category codes it usually answers.
    pub categories: Vec<String>,
}

impl MenuItemFields {
    /// Checks a new item's fields under `prefix.<field>`.
    pub fn parse(
        v: &mut Violations,
        title: &str,
        description: &str,
        categories: &[String],
        prefix: &str,
    ) -> Option<Self> {
        let title = parse_item_title(v, title, &format!("{prefix}.title"));
        let description = parse_item_description(v, description, &format!("{prefix}.description"));
        let categories = parse_categories(v, categories, &format!("{prefix}.categories"));
        Some(Self { title: title?, description: description?, categories: categories? })
    }

    /// The text a request id remembers of a creation.
    pub fn fingerprint(&self) -> String {
        let mut out = String::new();
        push_length_prefixed(&mut out, &self.title);
        push_length_prefixed(&mut out, &self.description);
        for c in &self.categories {
            push_length_prefixed(&mut out, c);
        }
        out
    }
}

/// A stored menu item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MenuItem {
    /// Identifier.
    pub id: String,
    /// Title, description and categories.
    pub fields: MenuItemFields,
    /// Whether it can be chosen for new entries.
    pub active: bool,
    /// Revision.
    pub version: i64,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// Changes to a menu item (UpdateServiceMenuItem), each `Some` when named in the update mask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MenuItemChanges {
    /// New title.
    pub title: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New categories.
    pub categories: Option<Vec<String>>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}

impl MenuItemChanges {
    /// The fields a menu item's update mask may name.
    pub const PATHS: &'static [&'static str] = &["title", "description", "categories", "active"];

    /// `current` with the changes applied: its fields and whether it is active.
    pub fn apply(&self, current: &MenuItem) -> (MenuItemFields, bool) {
        let fields = MenuItemFields {
            title: self.title.clone().unwrap_or_else(|| current.fields.title.clone()),
            description: self.description.clone().unwrap_or_else(|| current.fields.description.clone()),
            categories: self.categories.clone().unwrap_or_else(|| current.fields.categories.clone()),
        };
        (fields, self.active.unwrap_or(current.active))
    }
}

/// Filters of ListServiceMenuItems.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MenuFilter {
    /// Also deactivated items.
    pub include_inactive: bool,
    /// Only items answering this category.
    pub category: Option<String>,
}

impl MenuFilter {
    /// A digest of the filters, binding a page token to them.
    pub fn digest(&self) -> String {
        let mut out = String::new();
        push_length_prefixed(&mut out, if self.include_inactive { "all" } else { "active" });
        push_length_prefixed(&mut out, self.category.as_deref().unwrap_or(""));
        out
    }
}

/// Where a service-list entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryStatus {
    /// A demand is mapped to a service item and a member.
    Planned,
    /// Delivered (已服务), with a note.
    Delivered,
}

impl EntryStatus {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Planned => 1,
            Self::Delivered => 2,
        }
    }

    /// From the contract's number.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Planned),
            2 => Some(Self::Delivered),
            _ => None,
        }
    }
}

impl std::fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Planned => "PLANNED",
            Self::Delivered => "DELIVERED",
        })
    }
}

/// A mapping to record: a demand of the team's enterprise, a menu item and the member who delivers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The intake demand served.
    pub demand_id: String,
    /// The menu item.
    pub menu_item_id: String,
    /// Subject of the member who delivers it.
    pub member_id: String,
    /// Planning note.
    pub note: String,
}

impl NewEntry {
    /// The text a request id remembers of a mapping.
    pub fn fingerprint(&self, team_id: &str) -> String {
        let mut out = String::new();
        for part in [team_id, &self.demand_id, &self.menu_item_id, &self.member_id, &self.note] {
            push_length_prefixed(&mut out, part);
        }
        out
    }
}

/// Checks a planning note under `field`.
pub fn parse_note(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(optional_text(raw, MAX_NOTE_CHARS, field))
}

/// Checks a member subject under `field`.
pub fn parse_member_id(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(required_text(raw, MAX_PERSON_ID_CHARS, field))
}

/// A stored service-list entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// Identifier.
    pub id: String,
    /// The team.
    pub team_id: String,
    /// The enterprise.
    pub enterprise_id: String,
    /// The demand, menu item, member and note.
    pub fields: NewEntry,
    /// Where it stands.
    pub status: EntryStatus,
    /// What was delivered.
    pub delivery_note: String,
    /// When it was delivered.
    pub deliver_time: Option<DateTime<Utc>>,
    /// Who recorded the delivery.
    pub delivered_by: String,
    /// Revision.
    pub version: i64,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

impl ServiceEntry {
    /// Whether the entry maps the same demand to the same item and member as `new` (a repeated
    /// mapping, answered with the existing entry).
    pub fn same_mapping(&self, team_id: &str, new: &NewEntry) -> bool {
        self.team_id == team_id
            && self.fields.demand_id == new.demand_id
            && self.fields.menu_item_id == new.menu_item_id
            && self.fields.member_id == new.member_id
    }

    /// The answer to mapping this entry's demand again: the entry itself for the same mapping,
    /// ALREADY_EXISTS naming it for a different one.
    pub fn answer_repeat(self, team_id: &str, new: &NewEntry) -> Result<Self, ServiceError> {
        if self.same_mapping(team_id, new) {
            Ok(self)
        } else {
            Err(ServiceError::AlreadyExists(format!(
                "demand {} is already on the service list as entry {} (menu item {}, member {}); one entry per demand",
                self.fields.demand_id, self.id, self.fields.menu_item_id, self.fields.member_id
            )))
        }
    }
}

/// What a demand looks like to the service list: its enterprise and whether it is still open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandView<'a> {
    /// The demand's id.
    pub id: &'a str,
    /// Its enterprise.
    pub enterprise_id: &'a str,
    /// Whether it is open (submitted, accepted, in progress or replied).
    pub open: bool,
    /// Its status, for messages.
    pub status: &'a str,
}

/// Checks that a demand may be mapped on `team_enterprise_id`'s service list.
///
/// A demand of another enterprise is a wrong reference: INVALID_ARGUMENT on `entry.demand_id`,
/// whatever its state. A demand of the right enterprise that is no longer open (resolved, closed,
/// rejected or withdrawn) is FAILED_PRECONDITION naming its status: the request was right when the
/// demand was open, and the state is what changed.
pub fn check_demand(demand: &DemandView<'_>, team_enterprise_id: &str) -> Result<(), ServiceError> {
    if demand.enterprise_id != team_enterprise_id {
        return Err(ServiceError::invalid(
            "entry.demand_id",
            format!("demand {} is not a demand of enterprise {team_enterprise_id}, whom the team serves", demand.id),
        ));
    }
    if !demand.open {
        return Err(ServiceError::FailedPrecondition(format!(
            "demand {} is {}: only an open demand can be put on the service list",
            demand.id, demand.status
        )));
    }
    Ok(())
}

/// Who records a delivery, as far as the rules need to know.
#[derive(Debug, Clone, Copy)]
pub struct Deliverer<'a> {
    /// The caller's subject.
    pub subject: &'a str,
    /// Whether the caller is staff.
    pub is_staff: bool,
    /// Whether the caller is a member.
    pub is_member: bool,
}

/// Whether a caller may record the delivery of an entry: staff for any entry, a member only for
/// their own.
pub fn may_deliver(by: &Deliverer<'_>, entry: &ServiceEntry) -> bool {
    by.is_staff || (by.is_member && entry.fields.member_id == by.subject)
}

/// A delivery to record, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// What was delivered.
    pub note: String,
    /// When it was delivered.
    pub time: DateTime<Utc>,
}

impl Delivery {
    /// Checks a delivery: the note is required; the time defaults to `now` and must not be in the
    /// future.
    pub fn parse(note: &str, time: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let note = v.check(required_text(note, MAX_DELIVERY_NOTE_CHARS, "delivery_note"));
        let time = time.unwrap_or(now).trunc_subsecs(6);
        if time > now + DELIVERY_CLOCK_SKEW {
            v.add("deliver_time", "must not be in the future");
        }
        v.finish()?;
        let note = note.ok_or_else(|| ServiceError::internal("delivery note missing without a violation"))?;
        Ok(Self { note, time })
    }
}

/// The open demands not yet on the service list, in the order given.
pub fn unmapped<'a>(open: impl IntoIterator<Item = &'a str>, mapped: &[&str]) -> Vec<String> {
    open.into_iter().filter(|id| !mapped.contains(id)).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member<'a>(id: &'a str, name: &'a str) -> MemberInput<'a> {
        MemberInput {
            member: Some(PersonInput { id, display_name: name, ..Default::default() }),
            sector: "经济界",
            expertise: "融资对接",
        }
    }

    fn fields(v: &mut Violations, members: Vec<MemberInput<'_>>) -> Option<TeamFields> {
        let lead =
            PersonInput {
                id: "member-zhou", display_name: "周某某", title: "市政协副主席", ..Default::default()
            };
        TeamFields::parse(
            v,
            &TeamInput { lead: Some(lead), committee: "经济委员会", members, plan: "每季度走访一次" },
            "team",
        )
    }

    #[test]
    fn a_team_needs_members_each_once() {
        let mut v = Violations::new();
        let team = fields(&mut v, vec![member("member-li", "李某某"), member("member-chen", "陈某某")]).expect("valid");
        assert!(v.finish().is_ok());
        assert!(team.serves("member-zhou"));
        assert!(team.serves("member-chen"));
        assert!(!team.serves("member-wu"));

        let mut v = Violations::new();
        assert!(fields(&mut v, vec![member("member-li", "李某某"), member("member-li", "李某某")]).is_none());
        let ServiceError::InvalidArgument(found) = v.finish().expect_err("duplicate") else { panic!("invalid") };
        assert_eq!(found[0].field, "team.members[1].member.id");

        let mut v = Violations::new();
        assert!(fields(&mut v, vec![]).is_none());
        let ServiceError::InvalidArgument(found) = v.finish().expect_err("empty") else { panic!("invalid") };
        assert_eq!(found[0].field, "team.members");
    }

    #[test]
    fn categories_are_codes_each_once() {
        let mut v = Violations::new();
        let ok = parse_categories(&mut v, &["finance_credit".into(), "logistics".into()], "item.categories");
        assert_eq!(ok.expect("valid"), ["finance_credit", "logistics"]);
        let mut v = Violations::new();
        assert!(
            parse_categories(&mut v, &["金融".into(), "patent".into(), "patent".into()], "item.categories").is_none()
        );
        let ServiceError::InvalidArgument(found) = v.finish().expect_err("bad") else { panic!("invalid") };
        let fields: Vec<_> = found.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["item.categories[0]", "item.categories[2]"]);
    }

    #[test]
    fn a_demand_must_be_open_and_of_the_enterprise() {
        let open = DemandView { id: "d1", enterprise_id: "e1", open: true, status: "SUBMITTED" };
        assert!(check_demand(&open, "e1").is_ok());
        assert!(matches!(check_demand(&open, "e2"), Err(ServiceError::InvalidArgument(_))));
        let withdrawn = DemandView { open: false, status: "WITHDRAWN", ..open };
        assert!(
            matches!(check_demand(&withdrawn, "e1"), Err(ServiceError::FailedPrecondition(m)) if m.contains("WITHDRAWN"))
        );
    }

    #[test]
    fn a_delivery_is_not_in_the_future() {
        let now = tingjian_runtime::clock::now();
        assert_eq!(Delivery::parse(" 已对接三家银行 ", None, now).expect("valid").note, "已对接三家银行");
        assert!(Delivery::parse("", None, now).is_err());
        assert!(Delivery::parse("已对接", Some(now + Duration::days(1)), now).is_err());
        assert!(Delivery::parse("已对接", Some(now - Duration::days(1)), now).is_ok());
    }

    #[test]
    fn unmapped_demands_keep_their_order() {
        assert_eq!(unmapped(["a", "b", "c"], &["b"]), ["a", "c"]);
    }
}
