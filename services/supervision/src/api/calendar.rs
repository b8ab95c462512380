//! The working-calendar part of the supervision API (工作日历): reading a year's calendar in force, and
//! replacing it (system administrators), e.g. when the State Council publishes the next year's schedule.

use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::fields::etag_version;
use tingjian_runtime::time::YEARS;
use tingjian_runtime::wire::{etag, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::SupervisionApi;
use crate::convert::calendar_day;
use crate::domain::{CalendarInput, CalendarRecord, DayInput, YearCalendar};

/// Roles that replace a calendar.
const ADMINS: [Role; 1] = [Role::SystemAdmin];

fn to_proto(record: CalendarRecord) -> pb::WorkCalendar {
    pb::WorkCalendar {
        year: record.calendar.year,
        holidays: record.calendar.holidays.iter().map(calendar_day).collect(),
        make_up_workdays: record.calendar.make_up_workdays.iter().map(calendar_day).collect(),
        source: record.calendar.source,
        etag: etag(record.version),
        updated_by: record.updated_by,
        update_time: record.update_time.map(timestamp),
    }
}

fn days(days: &[pb::CalendarDay]) -> Vec<DayInput<'_>> {
    days.iter()
        .map(|d| {
            let date = d.date.unwrap_or_default();
            DayInput { year: date.year, month: date.month, day: date.day, name: &d.name }
        })
        .collect()
}

impl SupervisionApi {
    #[tracing::instrument(skip_all, fields(year))]
    pub(super) async fn get_calendar_impl(
        &self,
        request: Request<pb::GetCalendarRequest>,
    ) -> Result<Response<pb::GetCalendarResponse>, Status> {
        // Every authenticated caller may read the calendar: deadlines are counted on it.
        Caller::of(&request)?;
        let year = request.get_ref().year;
        tracing::Span::current().record("year", year);
        if !YEARS.contains(&year) {
            return Err(ServiceError::invalid(
                "year",
                format!("must be between {} and {}", YEARS.start(), YEARS.end()),
            )
            .into());
        }
        // Without one, working days are counted Monday to Friday (the store logs it when it does).
        let record = self
            .store
            .calendar(year)
            .await?
            .ok_or_else(|| ServiceError::NotFound { resource: "working calendar of year", id: year.to_string() })?;
        Ok(Response::new(pb::GetCalendarResponse { calendar: Some(to_proto(record)) }))
    }

    #[tracing::instrument(skip_all, fields(year))]
    pub(super) async fn replace_calendar_impl(
        &self,
        request: Request<pb::ReplaceCalendarRequest>,
    ) -> Result<Response<pb::ReplaceCalendarResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ADMINS)?;
        let body = request.into_inner();
        let Some(raw) = body.calendar else {
            return Err(ServiceError::invalid("calendar", "is required: the full calendar of the year").into());
        };
        tracing::Span::current().record("year", raw.year);
        let input = CalendarInput {
            year: raw.year,
            holidays: days(&raw.holidays),
            make_up_workdays: days(&raw.make_up_workdays),
            source: &raw.source,
        };
        let calendar = YearCalendar::parse(&input, "calendar")?;
        let record = self.store.replace_calendar(&calendar, etag_version(&raw.etag), &caller.subject).await?;
        tracing::info!(year = calendar.year, actor = %caller.subject, "working calendar replaced");
        Ok(Response::new(pb::ReplaceCalendarResponse { calendar: Some(to_proto(record)) }))
    }
}
