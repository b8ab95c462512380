//! Time as the platform counts it: instants stored in UTC, periods (month, quarter, year) bucketed in
//! China Standard Time (Asia/Shanghai, UTC+8 all year round — China keeps no daylight saving).

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

use crate::error::FieldViolation;

/// China Standard Time, UTC+8.
pub fn china() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The calendar date in China of an instant.
pub fn china_date(instant: DateTime<Utc>) -> NaiveDate {
    instant.with_timezone(&china()).date_naive()
}

/// The UTC instant at which a China calendar date begins.
pub fn start_of_china_day(date: NaiveDate) -> DateTime<Utc> {
    china()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// The kind of a reporting period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeriodKind {
    /// A calendar month.
    Month,
    /// A calendar quarter (Q1 = January–March).
    Quarter,
    /// A calendar year.
    Year,
}

/// A calendar month, quarter or year in China Standard Time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    kind: PeriodKind,
    year: i32,
    number: u32,
}

/// Years the platform accepts in periods.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

impl Period {
    /// A period; `number` is the month (1–12), the quarter (1–4) or 0 for a year. Errors name the
    /// offending field under `field_prefix` (e.g. `period.number`).
    pub fn new(kind: PeriodKind, year: i32, number: u32, field_prefix: &str) -> Result<Self, FieldViolation> {
        let field = |name: &str| {
            if field_prefix.is_empty() { name.to_owned() } else { format!("{field_prefix}.{name}") }
        };
        if !YEARS.contains(&year) {
            return Err(FieldViolation::new(
                field("year"),
                format!("year must be between {} and {}", YEARS.start(), YEARS.end()),
            ));
        }
        let valid = match kind {
            PeriodKind::Month => (1..=12).contains(&number),
            PeriodKind::Quarter => (1..=4).contains(&number),
            PeriodKind::Year => number == 0,
        };
        if !valid {
            let expected = match kind {
                PeriodKind::Month => "a month from 1 to 12",
                PeriodKind::Quarter => "a quarter from 1 to 4",
                PeriodKind::Year => "0 for a whole year",
            };
            return Err(FieldViolation::new(field("number"), format!("number must be {expected}")));
        }
        Ok(Self { kind, year, number })
    }

    /// The quarter containing an instant, in China.
    pub fn quarter_of(instant: DateTime<Utc>) -> Self {
        let date = china_date(instant);
        Self { kind: PeriodKind::Quarter, year: date.year(), number: (date.month0() / 3) + 1 }
    }

    /// The kind.
    pub fn kind(&self) -> PeriodKind {
        self.kind
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Month, quarter, or 0 for a year.
    pub fn number(&self) -> u32 {
        self.number
    }

    /// First day (in China).
    pub fn first_day(&self) -> NaiveDate {
        let month = match self.kind {
            PeriodKind::Month => self.number,
            PeriodKind::Quarter => (self.number - 1) * 3 + 1,
            PeriodKind::Year => 1,
        };
        NaiveDate::from_ymd_opt(self.year, month, 1).expect("validated period")
    }

    /// The day after the last day (in China).
    pub fn end_day(&self) -> NaiveDate {
        let months = match self.kind {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        };
        self.first_day().checked_add_months(chrono::Months::new(months)).expect("validated period")
    }

    /// The half-open UTC interval `[start, end)` the period covers.
    pub fn utc_range(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (start_of_china_day(self.first_day()), start_of_china_day(self.end_day()))
    }

    /// Whether an instant falls in the period.
    pub fn contains(&self, instant: DateTime<Utc>) -> bool {
        let (start, end) = self.utc_range();
        start <= instant && instant < end
    }
}

impl std::fmt::Display for Period {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            PeriodKind::Month => write!(f, "{}年{}月", self.year, self.number),
            PeriodKind::Quarter => write!(f, "{}年第{}季度", self.year, self.number),
            PeriodKind::Year => write!(f, "{}年", self.year),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("timestamp")
    }

    #[test]
    fn quarters_turn_at_midnight_china_time() {
        // 2026-03-31 16:00 UTC is 2026-04-01 00:00 in Shanghai: already Q2 there.
        assert_eq!(Period::quarter_of(utc("2026-03-31T16:00:00Z")).number(), 2);
        assert_eq!(Period::quarter_of(utc("2026-03-31T15:59:59Z")).number(), 1);
        let q4 = Period::new(PeriodKind::Quarter, 2025, 4, "").expect("valid");
        let (start, end) = q4.utc_range();
        assert_eq!(start, utc("2025-09-30T16:00:00Z"));
        assert_eq!(end, utc("2025-12-31T16:00:00Z"));
        assert!(q4.contains(utc("2025-12-31T15:59:59Z")));
        assert!(!q4.contains(utc("2025-12-31T16:00:00Z")));
    }

    #[test]
    fn bad_periods_name_their_field() {
        let err = Period::new(PeriodKind::Month, 2026, 13, "period").expect_err("invalid");
        assert_eq!(err.field, "period.number");
        let err = Period::new(PeriodKind::Year, 1999, 0, "period").expect_err("invalid");
        assert_eq!(err.field, "period.year");
        assert_eq!(Period::new(PeriodKind::Quarter, 2026, 3, "").expect("valid").to_string(), "2026年第3季度");
    }
}
