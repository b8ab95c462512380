//! Annual plans (年度重大协商计划).

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::time::YEARS;

/// Longest plan title, in characters.
pub const MAX_TITLE_CHARS: usize = 200;
/// Longest plan description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 5000;
/// Fields UpdatePlan may change.
pub const UPDATABLE: &[&str] = &["title", "description"];

/// A year's plan to create (年度重大协商计划), every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPlan {
    /// The calendar year the plan covers.
    pub year: i32,
    /// Title, e.g. 2026年度政企协商计划.
    pub title: String,
    /// Description (may be empty).
    pub description: String,
}

impl NewPlan {
    /// Checks every field, reporting each problem under `prefix.<field>`.
    pub fn parse(year: i32, title: &str, description: &str, prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        if !YEARS.contains(&year) {
            v.add(field("year"), format!("year must be between {} and {}", YEARS.start(), YEARS.end()));
        }
        let title = title.trim();
        let n = title.chars().count();
        if n == 0 {
            v.add(field("title"), "is required");
        } else if n > MAX_TITLE_CHARS {
            v.add(field("title"), format!("is {n} characters long; at most {MAX_TITLE_CHARS} are allowed"));
        }
        let description = description.trim();
        let n = description.chars().count();
        if n > MAX_DESCRIPTION_CHARS {
            v.check::<()>(Err(FieldViolation::new(
                field("description"),
                format!("is {n} characters long; at most {MAX_DESCRIPTION_CHARS} are allowed"),
            )));
        }
        v.finish()?;
        Ok(Self { year, title: title.to_owned(), description: description.to_owned() })
    }
}

/// A stored plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Identifier.
    pub id: String,
    /// The checked fields.
    pub fields: NewPlan,
    /// Number of topics in the plan (all statuses).
    pub topic_count: i64,
    /// Revision (the etag).
    pub version: i64,
    /// Who created it.
    pub created_by: String,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_needs_a_year_in_range_and_a_title() {
        assert!(NewPlan::parse(2026, " 2026年度政企协商计划 ", "", "plan").is_ok());
        let ServiceError::InvalidArgument(v) = NewPlan::parse(1949, "", "", "plan").expect_err("bad") else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["plan.year", "plan.title"]);
    }
}
