//! The analytics domain: reporting periods and filters. Pure rules, no transport or storage types.

pub mod bucket;
pub mod labels;
pub mod metric;

use tingjian_runtime::error::FieldViolation;
use tingjian_runtime::time::{Period, PeriodKind};

/// A period as the contract sends it: kind number, year and month/quarter number.
pub fn parse_period(kind: i32, year: i32, number: i32, field: &str) -> Result<Period, FieldViolation> {
    let kind = match kind {
        1 => PeriodKind::Month,
        2 => PeriodKind::Quarter,
        3 => PeriodKind::Year,
        _ => return Err(FieldViolation::new(format!("{field}.kind"), "kind must be MONTH, QUARTER or YEAR")),
    };
    let number = u32::try_from(number)
        .map_err(|_| FieldViolation::new(format!("{field}.number"), "number must not be negative"))?;
    Period::new(kind, year, number, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_checked_field_by_field() {
        assert_eq!(parse_period(2, 2026, 4, "period").expect("valid").to_string(), "2026年第4季度");
        assert_eq!(parse_period(0, 2026, 4, "period").expect_err("kind").field, "period.kind");
        assert_eq!(parse_period(1, 2026, -1, "period").expect_err("negative").field, "period.number");
        assert_eq!(parse_period(3, 2026, 2, "period").expect_err("year has no number").field, "period.number");
    }
}
