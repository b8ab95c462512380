//! Benefits of cases (成效): what an enterprise gained, in money (integer fen) or in problems solved, by
//! category. Pure rules: the checks of a benefit as recorded, its defaults from the case, the canonical
//! text that recognises a retried request, and the filters of ListBenefits.

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{optional_text, push_length_prefixed};

use super::case::{Case, MAX_CODE_CHARS};

/// Longest description of a benefit, in characters.
pub const MAX_BENEFIT_DESCRIPTION_CHARS: usize = 2_000;
/// The only currency of the programme (人民币); an empty currency code is read as it.
pub const CNY: &str = "CNY";

/// What an enterprise gained (the contract's `BenefitKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BenefitKind {
    /// Interest reduced or financing cost lowered (减免利息).
    InterestReduced,
    /// Subsidies or awards obtained (补助 / 奖励).
    Subsidy,
    /// Fees waived or refunded (减免费用).
    FeeWaived,
    /// Other money gained.
    OtherMoney,
    /// A problem solved without a money figure.
    ProblemSolved,
}

impl BenefitKind {
    /// The contract's enum number, also what is stored.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::InterestReduced => 1,
            Self::Subsidy => 2,
            Self::FeeWaived => 3,
            Self::OtherMoney => 4,
            Self::ProblemSolved => 5,
        }
    }

    /// From the contract's number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::InterestReduced,
            2 => Self::Subsidy,
            3 => Self::FeeWaived,
            4 => Self::OtherMoney,
            5 => Self::ProblemSolved,
            _ => return None,
        })
    }

    /// Whether the benefit is an amount of money.
    pub fn is_money(self) -> bool {
        self != Self::ProblemSolved
    }
}

/// A benefit as the request gives it, before its checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BenefitDraft {
    /// The contract's `BenefitKind` number.
    pub kind: i32,
    /// The enterprise that gained (empty: the case's).
    pub enterprise_id: String,
    /// The amount as (currency code, minor units), if given.
    pub amount: Option<(String, i64)>,
    /// Problems solved.
    pub problems_solved: i32,
    /// Category code (empty: the case's).
    pub category: String,
    /// What was gained, in words.
    pub description: String,
}

/// A checked benefit to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewBenefit {
    /// What kind.
    pub kind: BenefitKind,
    /// The enterprise that gained (empty until defaulted from the case).
    pub enterprise_id: String,
    /// Amount in fen (zero for problems solved).
    pub amount_fen: i64,
    /// Problems solved (>= 0; > 0 for PROBLEM_SOLVED).
    pub problems_solved: i32,
    /// Category code (empty until defaulted from the case).
    pub category: String,
    /// What was gained.
    pub description: String,
}

impl NewBenefit {
    /// Checks a benefit, naming fields under `prefix` (e.g. `benefit` or `benefits[0]`): kind required;
    /// money kinds need a positive amount in CNY; PROBLEM_SOLVED needs problems solved and no amount.
    pub fn parse(draft: &BenefitDraft, prefix: &str) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let f = |name: &str| format!("{prefix}.{name}");
        let kind = BenefitKind::from_i32(draft.kind);
        if kind.is_none() {
            v.add(f("kind"), "is required: INTEREST_REDUCED, SUBSIDY, FEE_WAIVED, OTHER_MONEY or PROBLEM_SOLVED");
        }
        let (currency, minor) = draft.amount.clone().unwrap_or_default();
        if !currency.trim().is_empty() && currency.trim() != CNY {
            v.add(f("amount.currency_code"), "must be CNY (or empty, read as CNY)");
        }
        match kind {
            Some(k) if k.is_money() => {
                if draft.amount.is_none() {
                    v.add(f("amount"), "is required for a money benefit: the amount in fen");
                } else if minor <= 0 {
                    v.add(f("amount.minor_units"), "must be positive: the amount gained in fen");
                }
            }
            Some(_) => {
                if minor != 0 {
                    v.add(f("amount.minor_units"), "must be zero for PROBLEM_SOLVED; count problems_solved instead");
                }
                if draft.problems_solved <= 0 {
                    v.add(f("problems_solved"), "must be positive for PROBLEM_SOLVED");
                }
            }
            None => {}
        }
        if draft.problems_solved < 0 {
            v.add(f("problems_solved"), "must not be negative");
        }
        let enterprise_id = v.check(optional_text(&draft.enterprise_id, MAX_CODE_CHARS, &f("enterprise_id")));
        let category = v.check(optional_text(&draft.category, MAX_CODE_CHARS, &f("category")));
        let description = v.check(optional_text(&draft.description, MAX_BENEFIT_DESCRIPTION_CHARS, &f("description")));
        v.finish()?;
        let missing = || ServiceError::internal("a checked benefit field is missing without a violation");
        Ok(Self {
            kind: kind.ok_or_else(missing)?,
            enterprise_id: enterprise_id.ok_or_else(missing)?,
            amount_fen: minor.max(0),
            problems_solved: draft.problems_solved.max(0),
            category: category.ok_or_else(missing)?,
            description: description.ok_or_else(missing)?,
        })
    }

    /// The benefit with the case's enterprise and category where it names none.
    pub fn defaulted(mut self, case: &Case) -> Self {
        if self.enterprise_id.is_empty() {
            self.enterprise_id = case.enterprise_id.clone();
        }
        if self.category.is_empty() {
            self.category = case.category.clone();
        }
        self
    }

    /// A canonical text of the request for case `case_id`, kept with its request id so a retry with a
    /// different benefit is recognised.
    pub fn fingerprint(&self, case_id: &str) -> String {
        let mut text = String::new();
        for part in [
            case_id,
            &self.kind.as_i32().to_string(),
            &self.enterprise_id,
            &self.amount_fen.to_string(),
            &self.problems_solved.to_string(),
            &self.category,
            &self.description,
        ] {
            push_length_prefixed(&mut text, part);
        }
        text
    }
}

/// Whose benefits a reader may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BenefitScope {
    /// Every benefit (staff, supervisors, leaders, analysts).
    All,
    /// Benefits of the cases this organisation leads or co-handles.
    Unit(String),
}

/// ListBenefits' filters, combined with AND.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenefitFilter {
    /// Row scope.
    pub scope: BenefitScope,
    /// Only of this case.
    pub case_id: Option<String>,
    /// Only to this enterprise.
    pub enterprise_id: Option<String>,
    /// Only of this kind.
    pub kind: Option<BenefitKind>,
    /// Only of this category.
    pub category: Option<String>,
    /// Only recorded in `[start, end)`.
    pub recorded: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

impl BenefitFilter {
    /// A canonical text of the filters, binding page tokens to them.
    pub fn digest(&self) -> String {
        let mut text = String::new();
        let scope = match &self.scope {
            BenefitScope::All => "*".to_owned(),
            BenefitScope::Unit(org) => format!("unit:{org}"),
        };
        let recorded = self.recorded.map(|(s, e)| format!("{}..{}", s.timestamp(), e.timestamp())).unwrap_or_default();
        for part in [
            scope.as_str(),
            self.case_id.as_deref().unwrap_or(""),
            self.enterprise_id.as_deref().unwrap_or(""),
            &self.kind.map_or(0, BenefitKind::as_i32).to_string(),
            self.category.as_deref().unwrap_or(""),
            &recorded,
        ] {
            push_length_prefixed(&mut text, part);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    fn money(kind: BenefitKind, fen: i64) -> BenefitDraft {
        BenefitDraft {
            kind: kind.as_i32(),
            amount: Some((String::new(), fen)),
            description: "为远洋渔业相关企业减免利息".into(),
            ..Default::default()
        }
    }

    #[test]
    fn money_benefits_need_a_positive_amount_in_cny() {
        let ok = NewBenefit::parse(&money(BenefitKind::InterestReduced, 1_971_000_000), "benefit").unwrap();
        assert_eq!(ok.amount_fen, 1_971_000_000);
        assert_eq!(
            fields(NewBenefit::parse(&money(BenefitKind::Subsidy, 0), "benefit").unwrap_err()),
            ["benefit.amount.minor_units"]
        );
        let none = BenefitDraft { amount: None, ..money(BenefitKind::FeeWaived, 1) };
        assert_eq!(fields(NewBenefit::parse(&none, "benefits[1]").unwrap_err()), ["benefits[1].amount"]);
        let usd = BenefitDraft { amount: Some(("USD".into(), 100)), ..money(BenefitKind::OtherMoney, 1) };
        assert_eq!(fields(NewBenefit::parse(&usd, "benefit").unwrap_err()), ["benefit.amount.currency_code"]);
    }

    #[test]
    fn problems_solved_need_a_count_and_no_amount() {
        let draft = BenefitDraft { kind: 5, problems_solved: 3, category: "patent".into(), ..BenefitDraft::default() };
        assert_eq!(NewBenefit::parse(&draft, "benefit").unwrap().problems_solved, 3);
        let bad = BenefitDraft { problems_solved: 0, amount: Some((CNY.into(), 5)), ..draft };
        let mut found = fields(NewBenefit::parse(&bad, "benefit").unwrap_err());
        found.sort();
        assert_eq!(found, ["benefit.amount.minor_units", "benefit.problems_solved"]);
        assert_eq!(fields(NewBenefit::parse(&BenefitDraft::default(), "benefit").unwrap_err()), ["benefit.kind"]);
        let long = BenefitDraft { description: "成".repeat(2_001), ..money(BenefitKind::Subsidy, 1) };
        assert_eq!(fields(NewBenefit::parse(&long, "benefit").unwrap_err()), ["benefit.description"]);
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let a = NewBenefit::parse(&money(BenefitKind::InterestReduced, 100), "benefit").unwrap();
        let b = NewBenefit { amount_fen: 101, ..a.clone() };
        assert_eq!(a.fingerprint("c"), a.clone().fingerprint("c"));
        assert_ne!(a.fingerprint("c"), b.fingerprint("c"));
        assert_ne!(a.fingerprint("c"), a.fingerprint("d"));
    }
}
