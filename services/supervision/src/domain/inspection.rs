//! Discipline inspection's side of supervision (纪检监察): the filters of the supervision item list
//! (监督事项清单), acknowledgements (已阅), and the checks of a matter the commission refers in (移交) with
//! the case it becomes.

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::FieldViolation;
use tingjian_runtime::fields::{optional_text, push_length_prefixed};

use super::case::{CaseDraft, CaseStatus, MAX_CODE_CHARS, MAX_NAME_CHARS, NewCase, Person, SourceKind, Unit};

/// Longest acknowledgement note, in characters.
pub const MAX_NOTE_CHARS: usize = 2_000;

/// The source id a referral's case is checked with before the referral has its own id.
const PENDING_SOURCE_ID: &str = "referral";

/// Which items ListSupervisionItems returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    /// Only items in one of these statuses (none: any).
    pub statuses: Vec<CaseStatus>,
    /// Only overdue items.
    pub overdue_only: bool,
    /// Only items not acknowledged since their last change.
    pub unacknowledged_only: bool,
    /// Only items led by this unit.
    pub unit_id: Option<String>,
}

impl ItemFilter {
    /// A short digest of the filters, which binds a page token to them.
    pub fn digest(&self) -> String {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut statuses: Vec<i32> = self.statuses.iter().map(|s| s.as_i32()).collect();
        statuses.sort_unstable();
        let statuses: Vec<String> = statuses.iter().map(ToString::to_string).collect();
        let mut text = String::new();
        for part in [
            statuses.join(",").as_str(),
            if self.overdue_only { "1" } else { "0" },
            if self.unacknowledged_only { "1" } else { "0" },
            self.unit_id.as_deref().unwrap_or(""),
        ] {
            push_length_prefixed(&mut text, part);
        }
        let hash = text.bytes().fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME));
        format!("{hash:016x}")
    }
}

/// Whether an item whose latest change has cursor `item_cursor` is acknowledged by an acknowledgement
/// taken at `ack_cursor` (if any): the acknowledgement must cover the latest change.
pub fn is_acknowledged(ack_cursor: Option<i64>, item_cursor: i64) -> bool {
    item_cursor > 0 && ack_cursor.is_some_and(|a| a >= item_cursor)
}

/// An acknowledgement's note: trimmed, at most [`MAX_NOTE_CHARS`] characters, may be empty.
pub fn parse_note(raw: &str) -> Result<String, FieldViolation> {
    optional_text(raw, MAX_NOTE_CHARS, "note")
}

/// SubmitReferral's referral as the request gives it, before its checks.
#[derive(Debug, Clone, Default)]
pub struct ReferralDraft {
    /// Title.
    pub title: String,
    /// The matter referred.
    pub description: String,
    /// The lead unit; `None` when missing.
    pub lead_unit: Option<Unit>,
    /// Co-units.
    pub co_units: Vec<Unit>,
    /// The unit head; `None` when missing.
    pub responsible_head: Option<Person>,
    /// The enterprise concerned.
    pub enterprise_id: String,
    /// Category code.
    pub category: String,
    /// The deadline as an instant, if given.
    pub deadline_time: Option<DateTime<Utc>>,
    /// The deadline in working days (0 = not given).
    pub deadline_working_days: i32,
    /// The officer who referred it, if given.
    pub referring_officer: Option<Person>,
}

/// A checked referral: the case it becomes (its source id still to be set to the referral's id), and
/// what the referral keeps of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReferral {
    /// The case to create, flagged for discipline inspection, from source DISCIPLINE_REFERRAL.
    case: NewCase,
    /// The deadline in working days as given (0 when given as an instant).
    pub deadline_working_days: i32,
    /// The officer who referred it (empty fields when not given).
    pub officer: Person,
}

/// The name in a referral of a field a case's checks named (`case.title` → `referral.title`,
/// `deadline_working_days` → `referral.deadline_working_days`).
pub fn referral_field(case_field: &str) -> String {
    match case_field.strip_prefix("case.") {
        Some(rest) => format!("referral.{rest}"),
        None => format!("referral.{case_field}"),
    }
}

fn officer(raw: &Person, v: &mut Vec<FieldViolation>) -> Person {
    let f = |name: &str| format!("referral.referring_officer.{name}");
    let mut text = |value: &str, max: usize, name: &str| match optional_text(value, max, &f(name)) {
        Ok(value) => value,
        Err(violation) => {
            v.push(violation);
            String::new()
        }
    };
    Person {
        id: text(&raw.id, MAX_CODE_CHARS, "id"),
        display_name: text(&raw.display_name, MAX_NAME_CHARS, "display_name"),
        title: text(&raw.title, MAX_NAME_CHARS, "title"),
        organisation_id: text(&raw.organisation_id, MAX_CODE_CHARS, "organisation_id"),
    }
}

impl NewReferral {
    /// Checks SubmitReferral's referral with the rules of a new case (title 1–200 characters,
    /// description 1–20,000, lead unit, unit head and a deadline required), fields named as in the
    /// request (`referral.title`…), every problem at once.
    pub fn parse(draft: &ReferralDraft) -> Result<Self, ServiceError> {
        let case_draft = CaseDraft {
            title: draft.title.clone(),
            description: draft.description.clone(),
            source: Some((
                SourceKind::DisciplineReferral.as_i32(),
                PENDING_SOURCE_ID.to_owned(),
                draft.title.trim().to_owned(),
            )),
            lead_unit: draft.lead_unit.clone(),
            co_units: draft.co_units.clone(),
            responsible_head: draft.responsible_head.clone(),
            deadline_time: draft.deadline_time,
            deadline_working_days: draft.deadline_working_days,
            discipline_inspection: true,
            enterprise_id: draft.enterprise_id.clone(),
            category: draft.category.clone(),
            ..Default::default()
        };
        let mut violations = Vec::new();
        let case = match NewCase::parse(&case_draft) {
            Ok(case) => Some(case),
            Err(ServiceError::InvalidArgument(found)) => {
                violations.extend(
                    found
                        .into_iter()
                        // The source is the referral itself: a problem with it is one of the title.
                        .filter(|x| !x.field.starts_with("case.source"))
                        .map(|x| FieldViolation::new(referral_field(&x.field), x.description)),
                );
                None
            }
            Err(other) => return Err(other),
        };
        let officer = draft.referring_officer.as_ref().map(|p| officer(p, &mut violations)).unwrap_or_default();
        if !violations.is_empty() {
            return Err(ServiceError::InvalidArgument(violations));
        }
        let case = case.ok_or_else(|| ServiceError::internal("a checked referral has no case without a violation"))?;
        Ok(Self { case, deadline_working_days: draft.deadline_working_days, officer })
    }

    /// The case the referral becomes once it has id `referral_id`: source DISCIPLINE_REFERRAL naming the
    /// referral, flagged for discipline inspection.
    pub fn case_for(&self, referral_id: &str) -> NewCase {
        let mut case = self.case.clone();
        referral_id.clone_into(&mut case.source.source_id);
        case.discipline_inspection = true;
        case
    }

    /// The title.
    pub fn title(&self) -> &str {
        &self.case.title
    }

    /// The matter referred.
    pub fn description(&self) -> &str {
        &self.case.description
    }

    /// The enterprise concerned (may be empty).
    pub fn enterprise_id(&self) -> &str {
        &self.case.enterprise_id
    }

    /// Category code (may be empty).
    pub fn category(&self) -> &str {
        &self.case.category
    }

    /// A canonical text of the referral, kept with its request id so a retry with a different referral
    /// is recognised.
    pub fn fingerprint(&self) -> String {
        let mut text = String::new();
        let o = &self.officer;
        for part in [self.case.fingerprint().as_str(), &o.id, &o.display_name, &o.title, &o.organisation_id] {
            push_length_prefixed(&mut text, part);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::case::DeadlineRequest;

    fn draft() -> ReferralDraft {
        ReferralDraft {
            title: "某企业项目奖励申请久拖未办".into(),
            description: "企业反映其技改项目奖励申请提交后逾六个月未获答复，请督促主办单位限期办理。".into(),
            lead_unit: Some(Unit { id: "zs-jxj".into(), name: "舟山市经济和信息化局".into(), kind: 2 }),
            co_units: vec![Unit { id: "zs-czj".into(), name: "舟山市财政局".into(), kind: 2 }],
            responsible_head: Some(Person {
                display_name: "李明".into(), title: "局长".into(), ..Default::default()
            }),
            deadline_working_days: 10,
            referring_officer: Some(Person {
                id: "jw-officer-chen".into(),
                display_name: "陈立".into(),
                title: "监督检查室主任".into(),
                organisation_id: "zs-jw".into(),
            }),
            ..Default::default()
        }
    }

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|x| x.field).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_referral_becomes_a_flagged_case_from_its_own_id() {
        let referral = NewReferral::parse(&draft()).expect("valid");
        let case = referral.case_for("0193a1c2-0000-7000-8000-0000000000aa");
        assert_eq!(case.source.kind, SourceKind::DisciplineReferral);
        assert_eq!(case.source.source_id, "0193a1c2-0000-7000-8000-0000000000aa");
        assert_eq!(case.source.source_title, "某企业项目奖励申请久拖未办");
        assert!(case.discipline_inspection);
        assert_eq!(case.deadline, DeadlineRequest::WorkingDays(10));
        assert_eq!(case.co_units.len(), 1);
        assert_eq!(referral.deadline_working_days, 10);
        assert_eq!(referral.officer.display_name, "陈立");
        assert_eq!(referral.title(), "某企业项目奖励申请久拖未办");
    }

    #[test]
    fn missing_fields_are_named_as_in_the_referral() {
        let e = NewReferral::parse(&ReferralDraft::default()).expect_err("empty");
        let f = fields(e);
        for expected in [
            "referral.title",
            "referral.description",
            "referral.lead_unit",
            "referral.responsible_head",
            "referral.deadline_time",
        ] {
            assert!(f.contains(&expected.to_owned()), "{expected} missing from {f:?}");
        }
        assert!(f.iter().all(|x| x.starts_with("referral.")), "{f:?}");
    }

    #[test]
    fn limits_are_checked() {
        let mut d = draft();
        d.title = "久".repeat(201);
        d.description = "拖".repeat(20_001);
        d.deadline_working_days = 400;
        d.referring_officer = Some(Person { display_name: "陈".repeat(201), ..Default::default() });
        let f = fields(NewReferral::parse(&d).expect_err("too long"));
        assert!(f.contains(&"referral.title".to_owned()), "{f:?}");
        assert!(f.contains(&"referral.description".to_owned()), "{f:?}");
        assert!(f.contains(&"referral.deadline_working_days".to_owned()), "{f:?}");
        assert!(f.contains(&"referral.referring_officer.display_name".to_owned()), "{f:?}");
        let mut d = draft();
        d.title = "久".repeat(200);
        assert!(NewReferral::parse(&d).is_ok());
    }

    #[test]
    fn fingerprints_tell_referrals_apart() {
        let a = NewReferral::parse(&draft()).expect("valid");
        assert_eq!(a.fingerprint(), NewReferral::parse(&draft()).expect("valid").fingerprint());
        let mut d = draft();
        d.description.push('。');
        assert_ne!(a.fingerprint(), NewReferral::parse(&d).expect("valid").fingerprint());
        let mut d = draft();
        d.referring_officer = None;
        assert_ne!(a.fingerprint(), NewReferral::parse(&d).expect("valid").fingerprint());
    }

    #[test]
    fn acknowledgement_covers_the_latest_change_only() {
        assert!(!is_acknowledged(None, 5));
        assert!(!is_acknowledged(Some(4), 5));
        assert!(is_acknowledged(Some(5), 5));
        assert!(is_acknowledged(Some(7), 5));
        assert!(!is_acknowledged(Some(3), 0));
    }

    #[test]
    fn notes_and_filters() {
        assert_eq!(parse_note("  已阅，请持续关注。 ").expect("ok"), "已阅，请持续关注。");
        assert_eq!(parse_note("阅".repeat(2_001).as_str()).expect_err("long").field, "note");
        let a = ItemFilter { statuses: vec![CaseStatus::Dispatched, CaseStatus::Replied], ..Default::default() };
        let b = ItemFilter { statuses: vec![CaseStatus::Replied, CaseStatus::Dispatched], ..Default::default() };
        assert_eq!(a.digest(), b.digest());
        let c = ItemFilter { unacknowledged_only: true, ..a.clone() };
        assert_ne!(a.digest(), c.digest());
        assert_eq!(referral_field("case.lead_unit.id"), "referral.lead_unit.id");
        assert_eq!(referral_field("deadline_working_days"), "referral.deadline_working_days");
    }
}
