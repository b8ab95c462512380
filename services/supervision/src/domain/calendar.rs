//! The working calendar (工作日历): which days count as working days when a deadline is given in working
//! days (the 3-working-day return window, `deadline_working_days`). Monday–Friday are working days except
//! public holidays (法定节假日); Saturday and Sunday are rest days except make-up working days (调休上班).
//! The State Council General Office's schedules for 2024–2026 are built in; operators replace a year's
//! schedule without a rebuild, and a year without any schedule counts plain Monday–Friday.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::Violations;
use tingjian_runtime::time::{YEARS, china_date, start_of_china_day};

/// Longest name of a calendar day, in characters.
pub const MAX_DAY_NAME_CHARS: usize = 50;
/// Longest description of the notice a calendar follows, in characters.
pub const MAX_SOURCE_CHARS: usize = 200;
/// Who the built-in calendars are attributed to.
pub const SYSTEM: &str = "system";

/// A named day of a calendar, e.g. 2026-02-17 "春节".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedDay {
    /// The date (Asia/Shanghai).
    pub date: NaiveDate,
    /// What it is, e.g. "春节" or "国庆节调休上班".
    pub name: String,
}

/// The schedule of one year: its public holidays and make-up working days, each sorted by date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCalendar {
    /// The year.
    pub year: i32,
    /// Public holidays (non-working days), sorted, all in `year`.
    pub holidays: Vec<NamedDay>,
    /// Make-up working days on weekends (调休上班), sorted, all in `year`.
    pub make_up_workdays: Vec<NamedDay>,
    /// The notice it follows.
    pub source: String,
}

/// A year's calendar as in force, with its revision and who last replaced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarRecord {
    /// The schedule.
    pub calendar: YearCalendar,
    /// Revision (the etag): 1 for a shipped schedule never replaced.
    pub version: i64,
    /// Who last replaced it; "system" for a shipped schedule.
    pub updated_by: String,
    /// When it was last replaced; `None` for a shipped schedule.
    pub update_time: Option<DateTime<Utc>>,
}

impl CalendarRecord {
    /// The shipped schedule of `year`, if any, as its first revision.
    pub fn builtin(year: i32) -> Option<Self> {
        Some(Self { calendar: builtin(year)?, version: 1, updated_by: SYSTEM.to_owned(), update_time: None })
    }
}

/// A day of a calendar as a request gives it: a date that may not exist, and a name.
#[derive(Debug, Clone, Copy)]
pub struct DayInput<'a> {
    /// Year of the date.
    pub year: i32,
    /// Month of the date.
    pub month: i32,
    /// Day of the month.
    pub day: i32,
    /// What the day is.
    pub name: &'a str,
}

/// A calendar as a request gives it, before its checks.
#[derive(Debug, Clone)]
pub struct CalendarInput<'a> {
    /// The year.
    pub year: i32,
    /// Public holidays.
    pub holidays: Vec<DayInput<'a>>,
    /// Make-up working days.
    pub make_up_workdays: Vec<DayInput<'a>>,
    /// The notice it follows.
    pub source: &'a str,
}

/// A date from its parts, if it exists.
pub fn date_of(year: i32, month: i32, day: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

impl YearCalendar {
    /// Checks a calendar a caller gives (fields named under `prefix`, e.g. `calendar`): the year within
    /// 2000–2100, every date real and in the year, no date twice, holidays and make-up days apart,
    /// make-up days on weekends, every day named. Returns it with both lists sorted by date.
    pub fn parse(input: &CalendarInput<'_>, prefix: &str) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        if !YEARS.contains(&input.year) {
            v.add(format!("{prefix}.year"), format!("must be between {} and {}", YEARS.start(), YEARS.end()));
        }
        let source = match tingjian_runtime::fields::optional_text(input.source, MAX_SOURCE_CHARS, "") {
            Ok(source) => source,
            Err(e) => {
                v.add(format!("{prefix}.source"), e.description);
                String::new()
            }
        };
        let mut seen: BTreeMap<NaiveDate, &str> = BTreeMap::new();
        let mut lists = [(Vec::new(), "holidays"), (Vec::new(), "make_up_workdays")];
        for (list, (days, field)) in [&input.holidays, &input.make_up_workdays].into_iter().zip(lists.iter_mut()) {
            for (i, day) in list.iter().enumerate() {
                let at = format!("{prefix}.{field}[{i}]");
                match tingjian_runtime::fields::required_text(day.name, MAX_DAY_NAME_CHARS, "") {
                    Ok(_) => {}
                    Err(e) => v.add(format!("{at}.name"), e.description),
                }
                let Some(date) = date_of(day.year, day.month, day.day) else {
                    v.add(format!("{at}.date"), "is not a valid date");
                    continue;
                };
                if date.year() != input.year {
                    v.add(format!("{at}.date"), format!("{date} is not in {}", input.year));
                    continue;
                }
                if let Some(other) = seen.insert(date, *field) {
                    let what = if other == *field { "twice".to_owned() } else { format!("also in {prefix}.{other}") };
                    v.add(format!("{at}.date"), format!("{date} is listed {what}"));
                    continue;
                }
                if *field == "make_up_workdays" && !is_weekend(date) {
                    v.add(
                        format!("{at}.date"),
                        format!("{date} is a {}; make-up working days fall on weekends", date.weekday()),
                    );
                    continue;
                }
                days.push(NamedDay { date, name: day.name.trim().to_owned() });
            }
        }
        v.finish()?;
        let [(mut holidays, _), (mut make_up_workdays, _)] = lists;
        holidays.sort_by_key(|d| d.date);
        make_up_workdays.sort_by_key(|d| d.date);
        Ok(Self { year: input.year, holidays, make_up_workdays, source })
    }
}

/// The working calendar over the years it knows: the days that break the Monday–Friday rule. A year it
/// does not know counts plain Monday–Friday.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkingCalendar {
    known_years: BTreeSet<i32>,
    holidays: BTreeSet<NaiveDate>,
    make_up_workdays: BTreeSet<NaiveDate>,
}

impl WorkingCalendar {
    /// A calendar of `years` (one schedule per year; a later one of the same year replaces an earlier).
    pub fn new(years: impl IntoIterator<Item = YearCalendar>) -> Self {
        let mut by_year: BTreeMap<i32, YearCalendar> = BTreeMap::new();
        for year in years {
            by_year.insert(year.year, year);
        }
        let mut calendar = Self::default();
        for (year, schedule) in by_year {
            calendar.known_years.insert(year);
            calendar.holidays.extend(schedule.holidays.iter().map(|d| d.date));
            calendar.make_up_workdays.extend(schedule.make_up_workdays.iter().map(|d| d.date));
        }
        calendar
    }

    /// Whether a schedule is known for `year`.
    pub fn knows(&self, year: i32) -> bool {
        self.known_years.contains(&year)
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.make_up_workdays.contains(&date) {
            return true;
        }
        !is_weekend(date) && !self.holidays.contains(&date)
    }

    /// The `n`th working day strictly after `from` (`from` itself for `n` = 0).
    pub fn working_days_after(&self, from: NaiveDate, n: u32) -> NaiveDate {
        let mut date = from;
        let mut left = n;
        while left > 0 {
            match date.checked_add_days(Days::new(1)) {
                Some(next) => date = next,
                None => return date,
            }
            if self.is_working_day(date) {
                left -= 1;
            }
        }
        date
    }

    /// The end (23:59:59 Asia/Shanghai) of the `n`th working day after the day of `start` in China.
    pub fn end_of_working_days(&self, start: DateTime<Utc>, n: u32) -> DateTime<Utc> {
        let day = self.working_days_after(china_date(start), n);
        end_of_china_day(day)
    }
}

/// The last second (23:59:59 Asia/Shanghai) of a China calendar date.
pub fn end_of_china_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.checked_add_days(Days::new(1)).unwrap_or(date);
    start_of_china_day(next) - chrono::Duration::seconds(1)
}

/// A month and day.
type MonthDay = (u32, u32);

/// A shipped schedule: holiday ranges (inclusive, month/day) and make-up working days, all in `year`.
struct Official {
    year: i32,
    source: &'static str,
    holidays: &'static [(MonthDay, MonthDay, &'static str)],
    make_up_workdays: &'static [(MonthDay, &'static str)],
}

/// 国办发明电〔2023〕7号.
const CN_2024: Official = Official {
    year: 2024,
    source: "国务院办公厅关于2024年部分节假日安排的通知（国办发明电〔2023〕7号）",
    holidays: &[
        ((1, 1), (1, 1), "元旦"),
        ((2, 10), (2, 17), "春节"),
        ((4, 4), (4, 6), "清明节"),
        ((5, 1), (5, 5), "劳动节"),
        ((6, 8), (6, 10), "端午节"),
        ((9, 15), (9, 17), "中秋节"),
        ((10, 1), (10, 7), "国庆节"),
    ],
    make_up_workdays: &[
        ((2, 4), "春节调休上班"),
        ((2, 18), "春节调休上班"),
        ((4, 7), "清明节调休上班"),
        ((4, 28), "劳动节调休上班"),
        ((5, 11), "劳动节调休上班"),
        ((9, 14), "中秋节调休上班"),
        ((9, 29), "国庆节调休上班"),
        ((10, 12), "国庆节调休上班"),
    ],
};

/// 国办发明电〔2024〕12号.
const CN_2025: Official = Official {
    year: 2025,
    source: "国务院办公厅关于2025年部分节假日安排的通知（国办发明电〔2024〕12号）",
    holidays: &[
        ((1, 1), (1, 1), "元旦"),
        ((1, 28), (2, 4), "春节"),
        ((4, 4), (4, 6), "清明节"),
        ((5, 1), (5, 5), "劳动节"),
        ((5, 31), (6, 2), "端午节"),
        ((10, 1), (10, 8), "国庆节、中秋节"),
    ],
    make_up_workdays: &[
        ((1, 26), "春节调休上班"),
        ((2, 8), "春节调休上班"),
        ((4, 27), "劳动节调休上班"),
        ((9, 28), "国庆节调休上班"),
        ((10, 11), "国庆节调休上班"),
    ],
};

/// Published 2025-11-04.
const CN_2026: Official = Official {
    year: 2026,
    source: "国务院办公厅关于2026年部分节假日安排的通知",
    holidays: &[
        ((1, 1), (1, 3), "元旦"),
        ((2, 15), (2, 23), "春节"),
        ((4, 4), (4, 6), "清明节"),
        ((5, 1), (5, 5), "劳动节"),
        ((6, 19), (6, 21), "端午节"),
        ((9, 25), (9, 27), "中秋节"),
        ((10, 1), (10, 7), "国庆节"),
    ],
    make_up_workdays: &[
        ((1, 4), "元旦调休上班"),
        ((2, 14), "春节调休上班"),
        ((2, 28), "春节调休上班"),
        ((5, 9), "劳动节调休上班"),
        ((9, 20), "国庆节调休上班"),
        ((10, 10), "国庆节调休上班"),
    ],
};

const OFFICIAL: [&Official; 3] = [&CN_2024, &CN_2025, &CN_2026];

/// Years with a built-in schedule.
pub fn builtin_years() -> impl Iterator<Item = i32> {
    OFFICIAL.iter().map(|o| o.year)
}

/// The built-in schedule of `year`, if one is shipped.
pub fn builtin(year: i32) -> Option<YearCalendar> {
    let official = OFFICIAL.iter().find(|o| o.year == year)?;
    let day = |(m, d): MonthDay| NaiveDate::from_ymd_opt(year, m, d);
    let mut holidays = Vec::new();
    for &(first, last, name) in official.holidays {
        let (mut date, last) = (day(first)?, day(last)?);
        while date <= last {
            holidays.push(NamedDay { date, name: name.to_owned() });
            date = date.succ_opt()?;
        }
    }
    let make_up_workdays = official
        .make_up_workdays
        .iter()
        .map(|&(at, name)| Some(NamedDay { date: day(at)?, name: name.to_owned() }))
        .collect::<Option<Vec<_>>>()?;
    Some(YearCalendar { year, holidays, make_up_workdays, source: official.source.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    fn shipped() -> WorkingCalendar {
        WorkingCalendar::new(builtin_years().filter_map(builtin))
    }

    /// 09:30 China time on a date, as an instant.
    fn morning(date: NaiveDate) -> DateTime<Utc> {
        start_of_china_day(date) + chrono::Duration::minutes(9 * 60 + 30)
    }

    #[test]
    fn shipped_schedules_are_consistent() {
        for year in builtin_years() {
            let cal = builtin(year).expect("shipped");
            for day in &cal.make_up_workdays {
                assert!(is_weekend(day.date), "{} is not a weekend", day.date);
                assert!(!cal.holidays.iter().any(|h| h.date == day.date));
            }
            assert!(cal.holidays.iter().chain(&cal.make_up_workdays).all(|x| x.date.year() == year));
            assert!(cal.holidays.windows(2).all(|w| w[0].date < w[1].date));
        }
        assert_eq!(builtin(2026).expect("2026").holidays.len(), 3 + 9 + 3 + 5 + 3 + 3 + 7);
        assert_eq!(builtin(2025).expect("2025").holidays.len(), 1 + 8 + 3 + 5 + 3 + 8);
        assert!(builtin(2023).is_none());
    }

    #[test]
    fn national_day_2026_with_its_make_up_saturday() {
        let cal = shipped();
        // 10-01..10-07 off, 10-08 Thu and 10-09 Fri working, 10-10 Sat a make-up working day.
        let dispatch = morning(d(2026, 9, 30));
        assert_eq!(cal.working_days_after(d(2026, 9, 30), 3), d(2026, 10, 10));
        let end = cal.end_of_working_days(dispatch, 3);
        assert_eq!(end, start_of_china_day(d(2026, 10, 11)) - chrono::Duration::seconds(1));
        assert_eq!(end.to_rfc3339(), "2026-10-10T15:59:59+00:00");
    }

    #[test]
    fn new_year_crossing() {
        let cal = shipped();
        // 2025-12-31 Wed → 2026-01-01..03 off, 01-04 Sun make-up, 01-05 Mon, 01-06 Tue.
        assert_eq!(cal.working_days_after(d(2025, 12, 31), 1), d(2026, 1, 4));
        assert_eq!(cal.working_days_after(d(2025, 12, 31), 3), d(2026, 1, 6));
        // 2024-12-31 Tue → 2025-01-01 off; 01-02 Thu, 01-03 Fri, 01-06 Mon.
        assert_eq!(cal.working_days_after(d(2024, 12, 31), 3), d(2025, 1, 6));
    }

    #[test]
    fn spring_festival_crossing() {
        let cal = shipped();
        // 2026-02-13 Fri → 02-14 Sat make-up, 02-15..23 off, 02-24 Tue, 02-25 Wed.
        assert_eq!(cal.working_days_after(d(2026, 2, 13), 1), d(2026, 2, 14));
        assert_eq!(cal.working_days_after(d(2026, 2, 13), 3), d(2026, 2, 25));
        // 2025-01-27 Mon → 01-28..02-04 off; 02-05 Wed, 02-06 Thu, 02-07 Fri, 02-08 Sat make-up.
        assert_eq!(cal.working_days_after(d(2025, 1, 27), 3), d(2025, 2, 7));
        assert_eq!(cal.working_days_after(d(2025, 1, 27), 4), d(2025, 2, 8));
        // 2024: 02-09 Fri → 02-10..17 off, 02-18 Sun make-up, 02-19 Mon, 02-20 Tue.
        assert_eq!(cal.working_days_after(d(2024, 2, 9), 3), d(2024, 2, 20));
    }

    #[test]
    fn dispatch_on_a_holiday_counts_from_the_next_working_day() {
        let cal = shipped();
        // Dispatched on 2026-10-03 (a holiday): 10-08, 10-09, 10-10 (make-up).
        assert_eq!(cal.working_days_after(d(2026, 10, 3), 3), d(2026, 10, 10));
        // Dispatched on 2026-05-02 (a holiday): 05-06 Wed, 05-07 Thu, 05-08 Fri.
        assert_eq!(cal.working_days_after(d(2026, 5, 2), 3), d(2026, 5, 8));
        assert!(!cal.is_working_day(d(2026, 10, 3)));
        assert!(cal.is_working_day(d(2026, 5, 9)));
    }

    #[test]
    fn leap_day_2024() {
        let cal = shipped();
        // 2024-02-29 Thu: 03-01 Fri, 03-04 Mon, 03-05 Tue.
        assert!(cal.is_working_day(d(2024, 2, 29)));
        assert_eq!(cal.working_days_after(d(2024, 2, 28), 1), d(2024, 2, 29));
        assert_eq!(cal.working_days_after(d(2024, 2, 29), 3), d(2024, 3, 5));
    }

    #[test]
    fn unknown_years_count_monday_to_friday() {
        let cal = shipped();
        assert!(!cal.knows(2030));
        // 2030-01-01 is a Tuesday: no holiday known, so it is a working day.
        assert!(cal.is_working_day(d(2030, 1, 1)));
        // 2030-01-04 Fri → 01-07 Mon, 01-08 Tue, 01-09 Wed.
        assert_eq!(cal.working_days_after(d(2030, 1, 4), 3), d(2030, 1, 9));
    }

    #[test]
    fn end_of_a_china_day_is_a_second_before_its_midnight() {
        assert_eq!(end_of_china_day(d(2026, 1, 6)).to_rfc3339(), "2026-01-06T15:59:59+00:00");
    }

    fn input<'a>(holidays: Vec<DayInput<'a>>, make_up: Vec<DayInput<'a>>) -> CalendarInput<'a> {
        CalendarInput {
            year: 2027,
            holidays,
            make_up_workdays: make_up,
            source: "国务院办公厅关于2027年部分节假日安排的通知",
        }
    }

    fn day(m: i32, d: i32, name: &str) -> DayInput<'_> {
        DayInput { year: 2027, month: m, day: d, name }
    }

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::InvalidArgument(v) => v.into_iter().map(|x| x.field).collect(),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn replacement_calendars_are_checked() {
        let ok = YearCalendar::parse(
            &input(vec![day(2, 8, "春节"), day(1, 1, "元旦")], vec![day(2, 20, "春节调休上班")]),
            "calendar",
        )
        .expect("valid");
        assert_eq!(ok.holidays.iter().map(|h| h.date).collect::<Vec<_>>(), [d(2027, 1, 1), d(2027, 2, 8)]);
        // 2027-02-20 is a Saturday.
        assert_eq!(ok.make_up_workdays[0].date, d(2027, 2, 20));

        let bad = YearCalendar::parse(
            &input(
                vec![day(2, 30, "春节"), day(1, 1, ""), DayInput { year: 2026, month: 12, day: 31, name: "元旦" }],
                vec![day(2, 22, "春节调休上班"), day(1, 4, "元旦调休上班")],
            ),
            "calendar",
        )
        .expect_err("invalid");
        assert_eq!(
            fields(bad),
            [
                "calendar.holidays[0].date",
                "calendar.holidays[1].name",
                "calendar.holidays[2].date",
                "calendar.make_up_workdays[0].date",
                "calendar.make_up_workdays[1].date",
            ]
        );
        let overlap =
            YearCalendar::parse(&input(vec![day(2, 20, "春节")], vec![day(2, 20, "春节调休上班")]), "calendar")
                .expect_err("overlap");
        assert_eq!(fields(overlap), ["calendar.make_up_workdays[0].date"]);
    }

    #[test]
    fn a_replaced_year_overrides_the_shipped_one() {
        let mut years: Vec<YearCalendar> = builtin_years().filter_map(builtin).collect();
        years.push(YearCalendar {
            year: 2026,
            holidays: vec![NamedDay { date: d(2026, 3, 2), name: "临时休假".into() }],
            make_up_workdays: vec![],
            source: String::new(),
        });
        let cal = WorkingCalendar::new(years);
        assert!(!cal.is_working_day(d(2026, 3, 2)));
        assert!(cal.is_working_day(d(2026, 10, 8)));
        assert!(cal.is_working_day(d(2026, 10, 1)), "the shipped 2026 holidays no longer apply");
    }
}
