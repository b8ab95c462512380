//! Rectification orders (整改通知): what a department must rectify, by when, and how it is tracked to
//! verification. Pure rules: the checked request of an issue or an update, the moves between statuses
//! (ISSUED → REPORTED → VERIFIED, a failed verification back to ISSUED, ISSUED | REPORTED → REVOKED),
//! who may change an order (the issuer kind's own API only), whether it is overdue, and who may read it.

use std::fmt;

use chrono::{DateTime, Months, SubsecRound as _, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{optional_text, push_length_prefixed, required_text};
use tingjian_runtime::wire::parse_id;

use super::case::{MAX_CODE_CHARS, MAX_DEADLINE_YEARS, MAX_NAME_CHARS, Unit};

/// Longest order title, in characters.
pub const MAX_ORDER_TITLE_CHARS: usize = 200;
/// Longest problem, requirements, report or verification comment, in characters.
pub const MAX_ORDER_TEXT_CHARS: usize = 20_000;
/// Longest revocation reason, in characters.
pub const MAX_REVOKE_REASON_CHARS: usize = 2_000;

/// Who issued an order (the contract's `RectificationIssuerKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssuerKind {
    /// The CPPCC or a supervision office, through SupervisionService.
    Supervisor,
    /// The discipline-inspection commission, through DisciplineInspectionService.
    DisciplineInspection,
}

impl IssuerKind {
    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Supervisor => 1,
            Self::DisciplineInspection => 2,
        }
    }

    /// From the contract's (or the stored) number.
    pub fn from_i32(n: i32) -> Option<Self> {
        match n {
            1 => Some(Self::Supervisor),
            2 => Some(Self::DisciplineInspection),
            _ => None,
        }
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Supervisor => "SUPERVISOR",
            Self::DisciplineInspection => "DISCIPLINE_INSPECTION",
        }
    }

    /// The API through which this issuer changes its orders, for messages.
    fn api(self) -> &'static str {
        match self {
            Self::Supervisor => "SupervisionService",
            Self::DisciplineInspection => "DisciplineInspectionService",
        }
    }
}

/// Where an order stands (the contract's `RectificationStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Issued; rectification under way (整改中).
    Issued,
    /// Reported rectified; awaiting verification (待核查).
    Reported,
    /// Verified as rectified (已核查销号). Final.
    Verified,
    /// Revoked by the issuer. Final.
    Revoked,
}

impl OrderStatus {
    /// Every status, in the contract's order.
    pub const ALL: [OrderStatus; 4] = [Self::Issued, Self::Reported, Self::Verified, Self::Revoked];

    /// The contract's number.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Issued => 1,
            Self::Reported => 2,
            Self::Verified => 3,
            Self::Revoked => 4,
        }
    }

    /// From the contract's (or the stored) number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_i32() == n)
    }

    /// The contract's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Issued => "ISSUED",
            Self::Reported => "REPORTED",
            Self::Verified => "VERIFIED",
            Self::Revoked => "REVOKED",
        }
    }

    /// Whether the order is still open: its deadline can pass.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Issued | Self::Reported)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A department's report that it rectified the problem (整改报告).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderReport {
    /// What was done.
    pub text: String,
    /// Who reported it.
    pub reported_by: String,
    /// When.
    pub report_time: DateTime<Utc>,
}

/// A verification of a reported rectification (核查).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderVerification {
    /// Whether the rectification is accepted as done.
    pub passed: bool,
    /// Findings (required when not passed).
    pub comment: String,
    /// Who verified.
    pub verifier: String,
    /// The verifying organisation.
    pub organisation: Unit,
    /// When.
    pub verify_time: DateTime<Utc>,
}

/// A rectification order as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RectificationOrder {
    /// Identifier.
    pub id: String,
    /// Who issued it.
    pub issuer_kind: IssuerKind,
    /// The issuing organisation.
    pub issuer: Unit,
    /// The department that must rectify.
    pub department: Unit,
    /// The case it arises from; empty when none.
    pub case_id: String,
    /// Title.
    pub title: String,
    /// The problem found.
    pub problem: String,
    /// What must be done.
    pub requirements: String,
    /// Deadline for rectification.
    pub deadline_time: DateTime<Utc>,
    /// Where it stands.
    pub status: OrderStatus,
    /// Reports, oldest first.
    pub reports: Vec<OrderReport>,
    /// Verifications, oldest first.
    pub verifications: Vec<OrderVerification>,
    /// Marked overdue (by the sweep, or verified after the deadline).
    pub overdue: bool,
    /// Why it was revoked; empty unless revoked.
    pub revoke_reason: String,
    /// Revision, for etags.
    pub version: i64,
    /// Who issued it.
    pub created_by: String,
    /// When it was issued.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// Who issues an order: the issuer kind (the API used), the caller's organisation and subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// The issuer kind.
    pub kind: IssuerKind,
    /// The issuing organisation.
    pub organisation: Unit,
    /// Subject of who issues it.
    pub subject: String,
}

/// Who reads orders, and so which ones they see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderScope {
    /// Every order (staff, supervisors, leaders, analysts).
    All,
    /// Orders to this department (a handling unit).
    Department(String),
    /// The commission of this organisation: the orders it issued, and those arising from cases visible to
    /// discipline inspection.
    Commission(String),
}

fn denied(message: String) -> ServiceError {
    ServiceError::PermissionDenied(message)
}

impl RectificationOrder {
    /// Whether the deadline passed before verification, as of `now`: marked, or still open with its
    /// deadline behind it.
    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.overdue || (self.status.is_open() && self.deadline_time <= now)
    }

    /// Whether `scope` may read the order; `case_visible_to_commission` says whether the case it arises
    /// from (if any) is visible to discipline inspection.
    pub fn visible_to(&self, scope: &OrderScope, case_visible_to_commission: bool) -> bool {
        match scope {
            OrderScope::All => true,
            OrderScope::Department(org) => self.department.id == *org,
            OrderScope::Commission(org) => self.issued_by_commission(org) || case_visible_to_commission,
        }
    }

    /// Whether the commission of organisation `org` issued the order.
    pub fn issued_by_commission(&self, org: &str) -> bool {
        self.issuer_kind == IssuerKind::DisciplineInspection && self.issuer.id == org
    }

    /// PERMISSION_DENIED unless the order was issued by `kind`: only the issuer changes, verifies or
    /// revokes an order, each through its own API.
    pub fn require_issuer(&self, kind: IssuerKind) -> Result<(), ServiceError> {
        if self.issuer_kind == kind {
            Ok(())
        } else {
            Err(denied(format!(
                "rectification order {} was issued by {}; only its issuer changes it, through {}",
                self.id,
                self.issuer_kind.name(),
                self.issuer_kind.api()
            )))
        }
    }

    fn wrong_status(&self, verb: &str, allowed: &str) -> ServiceError {
        ServiceError::FailedPrecondition(format!(
            "rectification order {} is {}; only {allowed} orders can be {verb}",
            self.id, self.status
        ))
    }

    /// Applies an update: the fields of `edit` that are set. Not on a final order. A deadline moved into
    /// the future (after `now`) clears the overdue mark.
    pub fn apply_edit(&mut self, edit: &OrderEdit, now: DateTime<Utc>) -> Result<(), ServiceError> {
        if !self.status.is_open() {
            return Err(self.wrong_status("updated", "ISSUED or REPORTED"));
        }
        if let Some(title) = &edit.title {
            title.clone_into(&mut self.title);
        }
        if let Some(problem) = &edit.problem {
            problem.clone_into(&mut self.problem);
        }
        if let Some(requirements) = &edit.requirements {
            requirements.clone_into(&mut self.requirements);
        }
        if let Some(deadline) = edit.deadline_time {
            self.deadline_time = deadline;
            if deadline > now {
                self.overdue = false;
            }
        }
        Ok(())
    }

    /// The department reports its rectification: ISSUED → REPORTED, the report appended.
    pub fn report(&mut self, text: &str, reported_by: &str, now: DateTime<Utc>) -> Result<(), ServiceError> {
        if self.status != OrderStatus::Issued {
            return Err(self.wrong_status("reported", "ISSUED"));
        }
        self.reports.push(OrderReport { text: text.to_owned(), reported_by: reported_by.to_owned(), report_time: now });
        self.status = OrderStatus::Reported;
        Ok(())
    }

    /// The issuer verifies the reported rectification: REPORTED → VERIFIED when `verification` passed,
    /// else back to ISSUED; appended to the verifications. Returns whether it was verified after the
    /// deadline (a passed verification after the deadline also keeps the order marked overdue).
    pub fn verify(&mut self, verification: OrderVerification) -> Result<bool, ServiceError> {
        if self.status != OrderStatus::Reported {
            return Err(self.wrong_status("verified", "REPORTED"));
        }
        let late = verification.verify_time > self.deadline_time;
        if verification.passed {
            self.status = OrderStatus::Verified;
            self.overdue = self.overdue || late;
        } else {
            self.status = OrderStatus::Issued;
        }
        self.verifications.push(verification);
        Ok(late)
    }

    /// The issuer revokes the order with `reason`: ISSUED | REPORTED → REVOKED.
    pub fn revoke(&mut self, reason: &str) -> Result<(), ServiceError> {
        if !self.status.is_open() {
            return Err(self.wrong_status("revoked", "ISSUED or REPORTED"));
        }
        self.status = OrderStatus::Revoked;
        reason.clone_into(&mut self.revoke_reason);
        Ok(())
    }
}

/// The raw fields of an order as a request gives them (issue or update).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderDraft {
    /// The department that must rectify.
    pub department: Option<Unit>,
    /// The case it arises from (empty when none).
    pub case_id: String,
    /// Title.
    pub title: String,
    /// The problem found.
    pub problem: String,
    /// What must be done.
    pub requirements: String,
    /// Deadline; `None` when unset.
    pub deadline_time: Option<DateTime<Utc>>,
}

/// The checked request of an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    /// The department that must rectify.
    pub department: Unit,
    /// The case it arises from, if any (a service identifier).
    pub case_id: Option<String>,
    /// Title.
    pub title: String,
    /// The problem found.
    pub problem: String,
    /// What must be done.
    pub requirements: String,
    /// Deadline, at the precision both backends store.
    pub deadline_time: DateTime<Utc>,
}

fn missing() -> ServiceError {
    ServiceError::internal("a checked order field is missing without a violation")
}

/// Checks a deadline given at `now`: at most [`MAX_DEADLINE_YEARS`] ahead, and (when `future`) after now.
fn check_deadline(v: &mut Violations, deadline: DateTime<Utc>, now: DateTime<Utc>, future: bool, field: &str) {
    if future && deadline <= now {
        v.add(field, format!("must be in the future (after {})", now.to_rfc3339()));
    }
    let latest = now.checked_add_months(Months::new(12 * MAX_DEADLINE_YEARS));
    if latest.is_some_and(|latest| deadline > latest) {
        v.add(field, format!("must be within {MAX_DEADLINE_YEARS} years from now"));
    }
}

fn title(v: &mut Violations, raw: &str) -> Option<String> {
    v.check(required_text(raw, MAX_ORDER_TITLE_CHARS, "order.title"))
}

fn long_text(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(required_text(raw, MAX_ORDER_TEXT_CHARS, field))
}

impl NewOrder {
    /// Checks the order of an issue request at `now` (fields named as in the request: `order.title`,
    /// `order.department.id`…), reporting every problem at once. `case_id` is only checked for shape here;
    /// whether the case exists is the store's to say.
    pub fn parse(draft: &OrderDraft, now: DateTime<Utc>) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let department = match &draft.department {
            None => {
                v.add("order.department", "is required: the department that must rectify (整改单位)");
                None
            }
            Some(raw) => {
                let id = v.check(required_text(&raw.id, MAX_CODE_CHARS, "order.department.id"));
                let name = v.check(optional_text(&raw.name, MAX_NAME_CHARS, "order.department.name"));
                if !(0..=8).contains(&raw.kind) {
                    v.add("order.department.kind", "is not an OrganisationKind");
                }
                match (id, name) {
                    (Some(id), Some(name)) => Some(Unit { id, name, kind: raw.kind }),
                    _ => None,
                }
            }
        };
        let case_id = match draft.case_id.trim() {
            "" => Some(None),
            raw => match parse_id(raw, "order.case_id") {
                Ok(id) => Some(Some(id)),
                Err(_) => {
                    v.add("order.case_id", "must be the identifier of a case (a UUID), or empty");
                    None
                }
            },
        };
        let title = title(&mut v, &draft.title);
        let problem = long_text(&mut v, &draft.problem, "order.problem");
        let requirements = long_text(&mut v, &draft.requirements, "order.requirements");
        let deadline_time = match draft.deadline_time {
            None => {
                v.add("order.deadline_time", "is required: the deadline for rectification");
                None
            }
            Some(at) => {
                let at = at.trunc_subsecs(6);
                check_deadline(&mut v, at, now, true, "order.deadline_time");
                Some(at)
            }
        };
        v.finish()?;
        Ok(Self {
            department: department.ok_or_else(missing)?,
            case_id: case_id.ok_or_else(missing)?,
            title: title.ok_or_else(missing)?,
            problem: problem.ok_or_else(missing)?,
            requirements: requirements.ok_or_else(missing)?,
            deadline_time: deadline_time.ok_or_else(missing)?,
        })
    }

    /// A canonical text of the request as `issuer_kind` of `issuer_id` made it, kept with its request id
    /// so a retry with a different request is recognised.
    pub fn fingerprint(&self, issuer_kind: IssuerKind, issuer_id: &str) -> String {
        let mut text = String::new();
        for part in [
            issuer_kind.name(),
            issuer_id,
            &self.department.id,
            &self.department.name,
            &self.department.kind.to_string(),
            self.case_id.as_deref().unwrap_or(""),
            &self.title,
            &self.problem,
            &self.requirements,
            &self.deadline_time.to_rfc3339(),
        ] {
            push_length_prefixed(&mut text, part);
        }
        text
    }
}

/// The checked changes of an update: the fields named in the mask, with their new values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderEdit {
    /// New title.
    pub title: Option<String>,
    /// New problem.
    pub problem: Option<String>,
    /// New requirements.
    pub requirements: Option<String>,
    /// New deadline, at the precision both backends store.
    pub deadline_time: Option<DateTime<Utc>>,
}

impl OrderEdit {
    /// The fields an update may change, as the mask names them.
    pub const FIELDS: &'static [&'static str] = &["title", "problem", "requirements", "deadline_time"];

    /// Checks the new values of the `paths` (from [`Self::FIELDS`]) at `now`. A new deadline need not be in
    /// the future, but at most [`MAX_DEADLINE_YEARS`] ahead.
    pub fn parse(draft: &OrderDraft, paths: &[&str], now: DateTime<Utc>) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let mut edit = Self::default();
        for path in paths {
            match *path {
                "title" => edit.title = title(&mut v, &draft.title),
                "problem" => edit.problem = long_text(&mut v, &draft.problem, "order.problem"),
                "requirements" => edit.requirements = long_text(&mut v, &draft.requirements, "order.requirements"),
                "deadline_time" => match draft.deadline_time {
                    None => v.add("order.deadline_time", "is required when update_mask names it"),
                    Some(at) => {
                        let at = at.trunc_subsecs(6);
                        check_deadline(&mut v, at, now, false, "order.deadline_time");
                        edit.deadline_time = Some(at);
                    }
                },
                other => v.add("update_mask", format!("cannot change {other}")),
            }
        }
        v.finish()?;
        Ok(edit)
    }
}

/// Checks a verification's comment: required when it did not pass.
pub fn verification_comment(passed: bool, raw: &str) -> Result<String, ServiceError> {
    let field = "verification.comment";
    let comment =
        optional_text(raw, MAX_ORDER_TEXT_CHARS, field).map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
    if !passed && comment.is_empty() {
        return Err(ServiceError::invalid(
            field,
            "is required when the verification did not pass: say what is missing",
        ));
    }
    Ok(comment)
}

/// The filters of a list of orders, checked; they combine with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderFilter {
    /// Row scope of the reader.
    pub scope: OrderScope,
    /// Only orders the commission of this organisation issued (its own list).
    pub issued_by_commission: Option<String>,
    /// Only these statuses (any when empty).
    pub statuses: Vec<OrderStatus>,
    /// Only this issuer kind.
    pub issuer_kind: Option<IssuerKind>,
    /// Only orders to this department.
    pub department_id: Option<String>,
    /// Only orders arising from this case.
    pub case_id: Option<String>,
    /// Only orders issued in `[start, end)`.
    pub issued: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Only overdue orders.
    pub overdue_only: bool,
}

impl OrderFilter {
    /// A filter with no restriction but the reader's scope.
    pub fn new(scope: OrderScope) -> Self {
        Self {
            scope,
            issued_by_commission: None,
            statuses: Vec::new(),
            issuer_kind: None,
            department_id: None,
            case_id: None,
            issued: None,
            overdue_only: false,
        }
    }

    /// A short digest of the filters, which binds a page token to them.
    pub fn digest(&self) -> String {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let scope = match &self.scope {
            OrderScope::All => "all".to_owned(),
            OrderScope::Department(org) => format!("department:{org}"),
            OrderScope::Commission(org) => format!("commission:{org}"),
        };
        let statuses: Vec<String> = self.statuses.iter().map(|s| s.as_i32().to_string()).collect();
        let issued = self.issued.map(|(s, e)| format!("{}/{}", s.to_rfc3339(), e.to_rfc3339()));
        let mut text = String::new();
        for part in [
            scope.as_str(),
            self.issued_by_commission.as_deref().unwrap_or(""),
            &statuses.join(","),
            &self.issuer_kind.map_or(0, IssuerKind::as_i32).to_string(),
            self.department_id.as_deref().unwrap_or(""),
            self.case_id.as_deref().unwrap_or(""),
            issued.as_deref().unwrap_or(""),
            if self.overdue_only { "1" } else { "0" },
        ] {
            push_length_prefixed(&mut text, part);
        }
        let hash = text.bytes().fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME));
        format!("{hash:016x}")
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 1, 15, 1, 0, 0).single().expect("valid instant")
    }

    fn draft() -> OrderDraft {
        OrderDraft {
            department: Some(Unit { id: "zs-jxj".into(), name: "舟山市经济和信息化局".into(), kind: 2 }),
            case_id: String::new(),
            title: "复工复产审批流程不畅问题整改".into(),
            problem: "企业复工复产审批环节多、时限长。".into(),
            requirements: "精简审批材料，压缩办理时限至3个工作日。".into(),
            deadline_time: Some(now() + Duration::days(30)),
        }
    }

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    fn order() -> RectificationOrder {
        let new = NewOrder::parse(&draft(), now()).expect("valid");
        RectificationOrder {
            id: "0190f000-0000-7000-8000-000000000001".into(),
            issuer_kind: IssuerKind::Supervisor,
            issuer: Unit { id: "zs-dcs".into(), ..Default::default() },
            department: new.department,
            case_id: String::new(),
            title: new.title,
            problem: new.problem,
            requirements: new.requirements,
            deadline_time: new.deadline_time,
            status: OrderStatus::Issued,
            reports: Vec::new(),
            verifications: Vec::new(),
            overdue: false,
            revoke_reason: String::new(),
            version: 1,
            created_by: "supervisor-zhao".into(),
            create_time: now(),
            update_time: now(),
        }
    }

    fn verification(passed: bool, at: DateTime<Utc>) -> OrderVerification {
        OrderVerification {
            passed,
            comment: if passed { String::new() } else { "审批时限仍超过3个工作日".into() },
            verifier: "supervisor-zhao".into(),
            organisation: Unit { id: "zs-dcs".into(), ..Default::default() },
            verify_time: at,
        }
    }

    #[test]
    fn a_valid_issue_is_trimmed_and_kept() {
        let mut d = draft();
        d.title = "  复工复产审批流程不畅问题整改 ".into();
        d.case_id = " 0190F000-0000-7000-8000-0000000000AA ".into();
        let new = NewOrder::parse(&d, now()).expect("valid");
        assert_eq!(new.title, "复工复产审批流程不畅问题整改");
        assert_eq!(new.case_id.as_deref(), Some("0190f000-0000-7000-8000-0000000000aa"));
        assert_eq!(new.department.id, "zs-jxj");
    }

    #[test]
    fn every_bad_field_is_named_at_once() {
        let d = OrderDraft {
            department: Some(Unit { id: " ".into(), name: String::new(), kind: 42 }),
            case_id: "not-a-case".into(),
            title: "题".repeat(201),
            problem: String::new(),
            requirements: "  ".into(),
            deadline_time: Some(now() - Duration::hours(1)),
        };
        let got = fields(NewOrder::parse(&d, now()).expect_err("invalid"));
        for field in [
            "order.department.id",
            "order.department.kind",
            "order.case_id",
            "order.title",
            "order.problem",
            "order.requirements",
            "order.deadline_time",
        ] {
            assert!(got.iter().any(|f| f == field), "{field} missing in {got:?}");
        }
        let got = fields(NewOrder::parse(&OrderDraft::default(), now()).expect_err("invalid"));
        assert!(got.contains(&"order.department".to_owned()));
        assert!(got.contains(&"order.deadline_time".to_owned()));
    }

    #[test]
    fn deadlines_are_bounded() {
        let mut d = draft();
        d.deadline_time = Some(now());
        assert_eq!(fields(NewOrder::parse(&d, now()).expect_err("now is not future")), ["order.deadline_time"]);
        d.deadline_time = Some(now() + Duration::days(366 * 5 + 2));
        assert_eq!(fields(NewOrder::parse(&d, now()).expect_err("too far")), ["order.deadline_time"]);
        d.deadline_time = Some(now() + Duration::days(365 * 5));
        assert!(NewOrder::parse(&d, now()).is_ok());
        // An update may set a past deadline, not a far one.
        d.deadline_time = Some(now() - Duration::days(1));
        assert!(OrderEdit::parse(&d, &["deadline_time"], now()).is_ok());
        d.deadline_time = None;
        assert_eq!(
            fields(OrderEdit::parse(&d, &["deadline_time"], now()).expect_err("missing")),
            ["order.deadline_time"]
        );
    }

    #[test]
    fn fingerprints_tell_requests_and_issuers_apart() {
        let a = NewOrder::parse(&draft(), now()).expect("valid");
        let mut d = draft();
        d.requirements.push('。');
        let b = NewOrder::parse(&d, now()).expect("valid");
        let f = |n: &NewOrder, k| n.fingerprint(k, "zs-dcs");
        assert_eq!(f(&a, IssuerKind::Supervisor), f(&a.clone(), IssuerKind::Supervisor));
        assert_ne!(f(&a, IssuerKind::Supervisor), f(&b, IssuerKind::Supervisor));
        assert_ne!(f(&a, IssuerKind::Supervisor), f(&a, IssuerKind::DisciplineInspection));
    }

    #[test]
    fn an_edit_checks_only_the_masked_fields() {
        let d = OrderDraft { title: "新标题".into(), ..Default::default() };
        let edit = OrderEdit::parse(&d, &["title"], now()).expect("valid");
        assert_eq!(edit, OrderEdit { title: Some("新标题".into()), ..Default::default() });
        let got = fields(OrderEdit::parse(&d, &["title", "problem"], now()).expect_err("problem empty"));
        assert_eq!(got, ["order.problem"]);
    }

    #[test]
    fn the_full_cycle_moves_through_the_statuses() {
        let mut o = order();
        o.report("已精简审批材料。", "officer-zs-jxj", now()).expect("reported");
        assert_eq!(o.status, OrderStatus::Reported);
        let late = o.verify(verification(false, now() + Duration::days(1))).expect("verified");
        assert!(!late);
        assert_eq!(o.status, OrderStatus::Issued);
        let refused = o.verify(verification(true, now()));
        assert!(matches!(refused, Err(ServiceError::FailedPrecondition(m)) if m.contains("ISSUED")));
        o.report("审批时限已压缩至3个工作日。", "officer-zs-jxj", now()).expect("reported again");
        let late = o.verify(verification(true, o.deadline_time + Duration::days(1))).expect("verified");
        assert!(late);
        assert!(o.overdue, "verified after the deadline stays overdue");
        assert_eq!(o.status, OrderStatus::Verified);
        assert_eq!((o.reports.len(), o.verifications.len()), (2, 2));
        assert!(
            matches!(o.report("x", "y", now()), Err(ServiceError::FailedPrecondition(m)) if m.contains("VERIFIED"))
        );
        assert!(o.revoke("不再需要").is_err());
        assert!(o.apply_edit(&OrderEdit::default(), now()).is_err());
    }

    #[test]
    fn revoking_is_final() {
        let mut o = order();
        o.revoke("问题已由其他渠道解决").expect("revoked");
        assert_eq!((o.status, o.revoke_reason.as_str()), (OrderStatus::Revoked, "问题已由其他渠道解决"));
        assert!(matches!(o.revoke("again"), Err(ServiceError::FailedPrecondition(m)) if m.contains("REVOKED")));
    }

    #[test]
    fn a_later_deadline_clears_overdue() {
        let mut o = order();
        let after = o.deadline_time + Duration::days(1);
        assert!(!o.is_overdue(now()));
        assert!(o.is_overdue(o.deadline_time));
        o.overdue = true;
        o.apply_edit(&OrderEdit { deadline_time: Some(after - Duration::hours(30)), ..Default::default() }, after)
            .expect("edited");
        assert!(o.overdue, "a deadline still behind keeps it overdue");
        o.apply_edit(&OrderEdit { deadline_time: Some(after + Duration::days(7)), ..Default::default() }, after)
            .expect("edited");
        assert!(!o.overdue);
        assert!(!o.is_overdue(after));
    }

    #[test]
    fn only_the_issuer_kind_changes_an_order_and_scopes_limit_reading() {
        let mut o = order();
        assert!(o.require_issuer(IssuerKind::Supervisor).is_ok());
        assert!(matches!(o.require_issuer(IssuerKind::DisciplineInspection), Err(ServiceError::PermissionDenied(_))));
        assert!(o.visible_to(&OrderScope::All, false));
        assert!(o.visible_to(&OrderScope::Department("zs-jxj".into()), false));
        assert!(!o.visible_to(&OrderScope::Department("zs-jtj".into()), false));
        assert!(!o.visible_to(&OrderScope::Commission("zs-jw".into()), false));
        assert!(o.visible_to(&OrderScope::Commission("zs-jw".into()), true));
        o.issuer_kind = IssuerKind::DisciplineInspection;
        o.issuer.id = "zs-jw".into();
        assert!(o.visible_to(&OrderScope::Commission("zs-jw".into()), false));
    }

    #[test]
    fn verification_comments_are_required_when_failed() {
        assert_eq!(verification_comment(true, "  ").expect("optional"), "");
        assert!(verification_comment(false, " ").is_err());
        assert_eq!(verification_comment(false, " 未完成 ").expect("given"), "未完成");
    }

    #[test]
    fn digests_follow_the_filters() {
        let a = OrderFilter::new(OrderScope::All);
        let mut b = a.clone();
        b.overdue_only = true;
        assert_ne!(a.digest(), b.digest());
        assert_eq!(a.digest(), OrderFilter::new(OrderScope::All).digest());
        assert_eq!(IssuerKind::from_i32(2), Some(IssuerKind::DisciplineInspection));
        assert_eq!(OrderStatus::from_i32(0), None);
        // The store's sweep and partial index name the open statuses by number.
        let open: Vec<i32> = OrderStatus::ALL.iter().filter(|s| s.is_open()).map(|s| s.as_i32()).collect();
        assert_eq!(open, [1, 2]);
    }
}
