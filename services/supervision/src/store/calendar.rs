//! The working calendar in the store: operators' replacements of a year's schedule, which take the place
//! of the shipped one for that year.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use chrono::{DateTime, NaiveDate, Utc};
use tingjian_runtime::storage::Tx;
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::Store;
use crate::domain::{CalendarRecord, NamedDay, WorkingCalendar, YearCalendar, builtin};

/// Kind of a stored calendar day: a public holiday.
const HOLIDAY: i32 = 1;
/// Kind of a stored calendar day: a make-up working day.
const MAKE_UP_WORKDAY: i32 = 2;

#[derive(sqlx::FromRow)]
struct CalendarRow {
    year: i32,
    source: String,
    version: i64,
    updated_by: String,
    update_time: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    year: i32,
    day: String,
    kind: i32,
    name: String,
}

fn assemble(row: CalendarRow, days: Vec<DayRow>) -> Result<CalendarRecord, ServiceError> {
    let mut holidays = Vec::new();
    let mut make_up_workdays = Vec::new();
    for d in days {
        let date = NaiveDate::parse_from_str(&d.day, "%Y-%m-%d")
            .map_err(|_| ServiceError::internal(format!("stored calendar {} has a bad day {:?}", row.year, d.day)))?;
        let day = NamedDay { date, name: d.name };
        match d.kind {
            HOLIDAY => holidays.push(day),
            MAKE_UP_WORKDAY => make_up_workdays.push(day),
            other => return Err(ServiceError::internal(format!("stored calendar day has a bad kind {other}"))),
        }
    }
    holidays.sort_by_key(|d| d.date);
    make_up_workdays.sort_by_key(|d| d.date);
    Ok(CalendarRecord {
        calendar: YearCalendar { year: row.year, holidays, make_up_workdays, source: row.source },
        version: row.version,
        updated_by: row.updated_by,
        update_time: Some(row.update_time),
    })
}

async fn insert_days(tx: &mut Tx, year: i32, kind: i32, days: &[NamedDay]) -> Result<(), ServiceError> {
    for day in days {
        on_tx!(tx, conn => {
            sqlx::query("INSERT INTO supervision_calendar_day (year, day, kind, name) VALUES ($1, $2, $3, $4)")
                .bind(year)
                .bind(day.date.format("%Y-%m-%d").to_string())
                .bind(kind)
                .bind(day.name.as_str())
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
    }
    Ok(())
}

/// Whether this process has not yet warned that `year` has no calendar (it warns once per year, not on
/// every deadline it computes).
fn first_time_missing(year: i32) -> bool {
    static WARNED: std::sync::OnceLock<std::sync::Mutex<std::collections::BTreeSet<i32>>> = std::sync::OnceLock::new();
    let warned = WARNED.get_or_init(Default::default);
    warned.lock().map_or(true, |mut years| years.insert(year))
}

impl Store {
    /// The replaced calendars of `years` stored here.
    async fn stored_calendars(&self, years: RangeInclusive<i32>) -> Result<Vec<CalendarRecord>, ServiceError> {
        let (first, last) = (*years.start(), *years.end());
        let rows: Vec<CalendarRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT year, source, version, updated_by, update_time FROM supervision_calendar \
                 WHERE year >= $1 AND year <= $2 ORDER BY year",
            )
            .bind(first)
            .bind(last)
            .fetch_all(pool)
            .await
        })?;
        let days: Vec<DayRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(
                "SELECT year, day, kind, name FROM supervision_calendar_day WHERE year >= $1 AND year <= $2 \
                 ORDER BY year, day",
            )
            .bind(first)
            .bind(last)
            .fetch_all(pool)
            .await
        })?;
        let mut by_year: BTreeMap<i32, Vec<DayRow>> = BTreeMap::new();
        for day in days {
            by_year.entry(day.year).or_default().push(day);
        }
        rows.into_iter()
            .map(|row| {
                let days = by_year.remove(&row.year).unwrap_or_default();
                assemble(row, days)
            })
            .collect()
    }

    /// The calendar in force for `year`: the replaced one, else the shipped one; `None` when neither.
    pub async fn calendar(&self, year: i32) -> Result<Option<CalendarRecord>, ServiceError> {
        let stored = self.stored_calendars(year..=year).await?.into_iter().next();
        Ok(stored.or_else(|| CalendarRecord::builtin(year)))
    }

    /// The working calendar over `years`, each year's calendar in force; a year without one counts
    /// Monday–Friday, which is logged.
    pub async fn working_calendar(&self, years: RangeInclusive<i32>) -> Result<WorkingCalendar, ServiceError> {
        let mut schedules: BTreeMap<i32, YearCalendar> = BTreeMap::new();
        for year in years.clone() {
            if let Some(shipped) = builtin(year) {
                schedules.insert(year, shipped);
            }
        }
        for stored in self.stored_calendars(years.clone()).await? {
            schedules.insert(stored.calendar.year, stored.calendar);
        }
        for year in years {
            if !schedules.contains_key(&year) && first_time_missing(year) {
                tracing::warn!(year, "no working calendar for the year; counting Monday to Friday as working days");
            }
        }
        Ok(WorkingCalendar::new(schedules.into_values()))
    }

    /// Replaces the calendar of its year; `expected_version` (from the caller's etag) must name the
    /// calendar in force, else ABORTED. Returns the stored calendar.
    pub async fn replace_calendar(
        &self,
        calendar: &YearCalendar,
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<CalendarRecord, ServiceError> {
        let year = calendar.year;
        let now = self.now();
        let mut tx = self.db.begin().await?;
        // The first statement writes, so SQLite takes its write lock before anything is read.
        let bumped: Option<i64> = on_tx!(&mut tx, conn => {
            sqlx::query_scalar(
                "UPDATE supervision_calendar SET version = version + 1, source = $2, updated_by = $3, update_time = $4 \
                 WHERE year = $1 RETURNING version",
            )
            .bind(year)
            .bind(calendar.source.as_str())
            .bind(actor)
            .bind(now)
            .fetch_optional(&mut **conn)
            .await
        })?;
        let version = match bumped {
            Some(version) => version,
            None => {
                // Never replaced: the shipped schedule is revision 1, so the first replacement is 2.
                let version = if builtin(year).is_some() { 2 } else { 1 };
                let inserted = on_tx!(&mut tx, conn => {
                    sqlx::query(
                        "INSERT INTO supervision_calendar (year, source, version, updated_by, update_time) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(year)
                    .bind(calendar.source.as_str())
                    .bind(version)
                    .bind(actor)
                    .bind(now)
                    .execute(&mut **conn)
                    .await
                    .map(|_| ())
                });
                match inserted.map_err(ServiceError::from) {
                    Ok(_) => version,
                    Err(ServiceError::AlreadyExists(_)) => {
                        return Err(ServiceError::Aborted(format!(
                            "the {year} calendar was replaced concurrently; read it again and retry"
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        if let Some(expected) = expected_version
            && expected != version - 1
        {
            tx.rollback().await?;
            return Err(ServiceError::Aborted(format!(
                "the {year} calendar has changed since it was read (its etag is now v{}); read it again and retry",
                version - 1
            )));
        }
        on_tx!(&mut tx, conn => {
            sqlx::query("DELETE FROM supervision_calendar_day WHERE year = $1")
                .bind(year)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        insert_days(&mut tx, year, HOLIDAY, &calendar.holidays).await?;
        insert_days(&mut tx, year, MAKE_UP_WORKDAY, &calendar.make_up_workdays).await?;
        tx.commit().await?;
        Ok(CalendarRecord { calendar: calendar.clone(), version, updated_by: actor.to_owned(), update_time: Some(now) })
    }
}
