//! Where a fact is counted: rollup buckets are China calendar days, numbered from 1970-01-01; figures of a
//! month, quarter or year sum the buckets of its days. Handling times are counted in slots.

use chrono::{DateTime, Datelike, NaiveDate, TimeDelta, Utc};
use tingjian_runtime::time::{Period, china_date};

/// The dimension value of "every value" in a rollup key, and of a dimension a figure does not carry.
pub const ALL: &str = "*";

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// The bucket of a China calendar day.
pub fn day_number(date: NaiveDate) -> i64 {
    (date - epoch()).num_days()
}

/// The China calendar day of a bucket.
pub fn date_of(day: i64) -> NaiveDate {
    epoch() + TimeDelta::days(day)
}

/// The bucket of the China calendar day of `instant`.
pub fn day_of(instant: DateTime<Utc>) -> i64 {
    day_number(china_date(instant))
}

/// The bucket of the first day of the China month of `instant`: facts counted per month sit there.
pub fn month_of(instant: DateTime<Utc>) -> i64 {
    let date = china_date(instant);
    day_number(date.with_day(1).unwrap_or(date))
}

/// The bucket of the first day of the China quarter of `instant`.
pub fn quarter_of(instant: DateTime<Utc>) -> i64 {
    let date = china_date(instant);
    let month = (date.month0() / 3) * 3 + 1;
    day_number(NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date))
}

/// The bucket of the first day of the China year of `instant`.
pub fn year_of(instant: DateTime<Utc>) -> i64 {
    let date = china_date(instant);
    day_number(NaiveDate::from_ymd_opt(date.year(), 1, 1).unwrap_or(date))
}

/// The Monday starting the week (Monday–Sunday, China time) of `date`.
pub fn week_monday(date: NaiveDate) -> NaiveDate {
    date - TimeDelta::days(i64::from(date.weekday().num_days_from_monday()))
}

/// The first and last day buckets (inclusive) of a period.
pub fn period_days(period: &Period) -> (i64, i64) {
    // `end_day` is the day after the period.
    (day_number(period.first_day()), day_number(period.end_day()) - 1)
}

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;
/// Handling times under this many hours are counted to the hour; longer ones to the day.
const HOURLY_SLOTS: i64 = 7 * 24;
/// The last slot: handling times of ten years or more share it.
const LAST_SLOT: i64 = HOURLY_SLOTS + 3_650 - 7;

/// The slot of a handling time: whole hours below 7 days (slots 0–167), whole days from 7 days (slot 168
/// is day 7), rounded down; negative times count as zero.
pub fn handling_slot(seconds: i64) -> i64 {
    let seconds = seconds.max(0);
    if seconds < HOURLY_SLOTS * HOUR { seconds / HOUR } else { (HOURLY_SLOTS + seconds / DAY - 7).min(LAST_SLOT) }
}

/// The handling time a slot stands for: its lower bound in seconds.
pub fn slot_seconds(slot: i64) -> i64 {
    if slot < HOURLY_SLOTS { slot.max(0) * HOUR } else { (slot - HOURLY_SLOTS + 7) * DAY }
}

/// The nearest-rank `p`-quantile (0 < p ≤ 1) of a histogram of (slot, count), in seconds; `None` when it
/// is empty.
pub fn quantile_seconds(histogram: &[(i64, i64)], p: f64) -> Option<i64> {
    let mut slots: Vec<(i64, i64)> = histogram.iter().copied().filter(|(_, n)| *n > 0).collect();
    slots.sort_unstable();
    let total: i64 = slots.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = ((p * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for (slot, n) in slots {
        seen += n;
        if seen >= rank {
            return Some(slot_seconds(slot));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use tingjian_runtime::time::PeriodKind;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("valid instant").with_timezone(&Utc)
    }

    #[test]
    fn buckets_follow_china_time() {
        // 2024-03-31 17:00 UTC is 2024-04-01 01:00 in China: April, Q2.
        let t = at("2024-03-31T17:00:00Z");
        assert_eq!(date_of(day_of(t)), NaiveDate::from_ymd_opt(2024, 4, 1).expect("date"));
        assert_eq!(date_of(month_of(t)), NaiveDate::from_ymd_opt(2024, 4, 1).expect("date"));
        assert_eq!(date_of(quarter_of(t)), NaiveDate::from_ymd_opt(2024, 4, 1).expect("date"));
        assert_eq!(date_of(year_of(t)), NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"));
        let q1 = Period::new(PeriodKind::Quarter, 2024, 1, "period").expect("period");
        let (first, last) = period_days(&q1);
        assert!(day_of(t) > last);
        assert_eq!(last - first + 1, 91, "2024-Q1 has 91 days in a leap year");
        assert_eq!(week_monday(NaiveDate::from_ymd_opt(2024, 9, 1).expect("Sunday")).day(), 26);
    }

    #[test]
    fn handling_times_are_counted_to_the_hour_then_to_the_day() {
        assert_eq!(handling_slot(-5), 0);
        assert_eq!(handling_slot(3_599), 0);
        assert_eq!(slot_seconds(handling_slot(5 * HOUR + 59)), 5 * HOUR);
        assert_eq!(slot_seconds(handling_slot(7 * DAY - 1)), 7 * DAY - HOUR);
        assert_eq!(slot_seconds(handling_slot(7 * DAY)), 7 * DAY);
        assert_eq!(slot_seconds(handling_slot(30 * DAY + 5 * HOUR)), 30 * DAY);
        assert_eq!(handling_slot(100 * 365 * DAY), LAST_SLOT);
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        let h = [(handling_slot(HOUR), 1), (handling_slot(2 * HOUR), 1), (handling_slot(10 * DAY), 2)];
        assert_eq!(quantile_seconds(&h, 0.5), Some(2 * HOUR));
        assert_eq!(quantile_seconds(&h, 0.9), Some(10 * DAY));
        assert_eq!(quantile_seconds(&[], 0.5), None);
    }
}
