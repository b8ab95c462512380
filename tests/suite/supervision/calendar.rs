//! The working calendar (工作日历) through the supervision API, on SQLite and on PostgreSQL: the shipped
//! 2024–2026 schedules, replacing a year (system administrators, with etags), the checks on a
//! replacement, and working-day deadlines counted on the calendar in force.

use chrono::{Datelike as _, Days, NaiveDate, Utc};
use tingjian_proto::common::v1::{Date, OrganisationRef, PersonRef};
use tingjian_proto::supervision::v1 as pb;
use tingjian_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tingjian_runtime::Role;
use tingjian_runtime::time::china_date;
use tingjian_supervision::domain::{NamedDay, WorkingCalendar, YearCalendar, builtin};
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends, spawn};
use tonic::Code;
use tonic::transport::Channel;

type Client = SupervisionServiceClient<Channel>;

async fn start(backend: StorageBackend) -> Option<(TestService, Client)> {
    let service = spawn(&tingjian_supervision::MODULE, backend).await?;
    let client = SupervisionServiceClient::new(service.channel.clone());
    Some((service, client))
}

fn date(d: NaiveDate) -> Date {
    Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

fn day(y: i32, m: u32, d: u32, name: &str) -> pb::CalendarDay {
    pb::CalendarDay { date: Some(date(NaiveDate::from_ymd_opt(y, m, d).expect("date"))), name: name.into() }
}

async fn get(service: &TestService, client: &mut Client, year: i32) -> Result<pb::WorkCalendar, tonic::Status> {
    client
        .get_calendar(service.request(pb::GetCalendarRequest { year }, &[Role::HandlingUnit]))
        .await
        .map(|r| r.into_inner().calendar.expect("calendar"))
}

async fn replace(
    service: &TestService,
    client: &mut Client,
    calendar: pb::WorkCalendar,
    roles: &[Role],
) -> Result<pb::WorkCalendar, tonic::Status> {
    client
        .replace_calendar(service.request(pb::ReplaceCalendarRequest { calendar: Some(calendar) }, roles))
        .await
        .map(|r| r.into_inner().calendar.expect("calendar"))
}

/// The 2027 schedule an operator enters once it is published (dates as an example).
fn calendar_2027() -> pb::WorkCalendar {
    pb::WorkCalendar {
        year: 2027,
        holidays: vec![day(2027, 2, 6, "春节"), day(2027, 1, 1, "元旦"), day(2027, 2, 5, "春节")],
        // 2027-02-20 is a Saturday.
        make_up_workdays: vec![day(2027, 2, 20, "春节调休上班")],
        source: "国务院办公厅关于2027年部分节假日安排的通知".into(),
        ..Default::default()
    }
}

/// The shipped calendars, their etags, unknown years and bad years.
async fn shipped_calendars(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let c2026 = get(&service, &mut client, 2026).await.expect("2026");
    assert_eq!(c2026.year, 2026);
    assert_eq!(c2026.holidays.len(), 33);
    assert_eq!(c2026.holidays[0], day(2026, 1, 1, "元旦"));
    assert_eq!(
        c2026.make_up_workdays,
        [
            day(2026, 1, 4, "元旦调休上班"),
            day(2026, 2, 14, "春节调休上班"),
            day(2026, 2, 28, "春节调休上班"),
            day(2026, 5, 9, "劳动节调休上班"),
            day(2026, 9, 20, "国庆节调休上班"),
            day(2026, 10, 10, "国庆节调休上班"),
        ]
    );
    assert_eq!((c2026.etag.as_str(), c2026.updated_by.as_str()), ("v1", "system"));
    assert!(c2026.source.contains("2026年部分节假日安排"));
    let c2025 = get(&service, &mut client, 2025).await.expect("2025");
    assert!(c2025.holidays.contains(&day(2025, 10, 8, "国庆节、中秋节")));
    assert!(c2025.make_up_workdays.contains(&day(2025, 10, 11, "国庆节调休上班")));
    let c2024 = get(&service, &mut client, 2024).await.expect("2024");
    assert!(c2024.make_up_workdays.contains(&day(2024, 2, 4, "春节调休上班")));

    let unknown = get(&service, &mut client, 2030).await.expect_err("no calendar");
    assert_eq!(unknown.code(), Code::NotFound);
    let bad = get(&service, &mut client, 1999).await.expect_err("bad year");
    assert_field_violation(&bad, "year");
}

on_both_backends!(serves_the_shipped_calendars, super::shipped_calendars);

/// Replacing a year: system administrators only, checked, with optimistic concurrency; it overrides the
/// shipped schedule, and GetCalendar returns the one in force.
async fn replace_calendars(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let status = replace(&service, &mut client, calendar_2027(), &[Role::Staff]).await.expect_err("not an admin");
    assert_eq!(status.code(), Code::PermissionDenied);

    let stored = replace(&service, &mut client, calendar_2027(), &[Role::SystemAdmin]).await.expect("stored");
    assert_eq!(stored.etag, "v1");
    assert_eq!(stored.updated_by, "test-user");
    assert!(stored.update_time.is_some());
    assert_eq!(
        stored.holidays,
        [day(2027, 1, 1, "元旦"), day(2027, 2, 5, "春节"), day(2027, 2, 6, "春节")],
        "sorted by date"
    );
    assert_eq!(get(&service, &mut client, 2027).await.expect("2027"), stored);

    // A stale etag is ABORTED; the current one replaces.
    let mut stale = calendar_2027();
    stale.etag = "v0".into();
    assert_eq!(
        replace(&service, &mut client, stale, &[Role::SystemAdmin]).await.expect_err("stale").code(),
        Code::Aborted
    );
    let mut next = calendar_2027();
    next.etag = stored.etag.clone();
    next.holidays.push(day(2027, 2, 8, "春节"));
    let replaced = replace(&service, &mut client, next, &[Role::SystemAdmin]).await.expect("replaced");
    assert_eq!(replaced.etag, "v2");
    assert_eq!(replaced.holidays.len(), 4);
    assert_eq!(get(&service, &mut client, 2027).await.expect("2027").holidays.len(), 4);

    // A shipped year is revision 1; its first replacement is 2.
    let ours = pb::WorkCalendar {
        year: 2026,
        holidays: vec![day(2026, 12, 31, "年末休假")],
        make_up_workdays: vec![],
        source: "舟山市临时调整".into(),
        etag: "v1".into(),
        ..Default::default()
    };
    let replaced = replace(&service, &mut client, ours, &[Role::SystemAdmin]).await.expect("replaced 2026");
    assert_eq!(replaced.etag, "v2");
    let now_2026 = get(&service, &mut client, 2026).await.expect("2026");
    assert_eq!(now_2026.holidays, [day(2026, 12, 31, "年末休假")]);
    assert!(now_2026.make_up_workdays.is_empty());

    // Bad replacements name the field.
    let checks: Vec<(pb::WorkCalendar, &str)> = vec![
        (pb::WorkCalendar { year: 1999, ..calendar_2027() }, "calendar.year"),
        (
            pb::WorkCalendar { holidays: vec![day(2026, 12, 31, "元旦")], ..calendar_2027() },
            "calendar.holidays[0].date",
        ),
        (
            pb::WorkCalendar {
                holidays: vec![pb::CalendarDay {
                    date: Some(Date { year: 2027, month: 2, day: 30 }),
                    name: "春节".into(),
                }],
                ..calendar_2027()
            },
            "calendar.holidays[0].date",
        ),
        (pb::WorkCalendar { holidays: vec![day(2027, 1, 1, " ")], ..calendar_2027() }, "calendar.holidays[0].name"),
        // 2027-02-22 is a Monday.
        (
            pb::WorkCalendar { make_up_workdays: vec![day(2027, 2, 22, "调休上班")], ..calendar_2027() },
            "calendar.make_up_workdays[0].date",
        ),
        (
            pb::WorkCalendar { make_up_workdays: vec![day(2027, 2, 6, "春节调休上班")], ..calendar_2027() },
            "calendar.make_up_workdays[0].date",
        ),
        (
            pb::WorkCalendar {
                holidays: vec![day(2027, 1, 1, "元旦"), day(2027, 1, 1, "元旦")], ..calendar_2027()
            },
            "calendar.holidays[1].date",
        ),
    ];
    for (calendar, field) in checks {
        let status = replace(&service, &mut client, calendar, &[Role::SystemAdmin]).await.expect_err(field);
        assert_field_violation(&status, field);
    }
    let status = client
        .replace_calendar(service.request(pb::ReplaceCalendarRequest { calendar: None }, &[Role::SystemAdmin]))
        .await
        .expect_err("no calendar");
    assert_field_violation(&status, "calendar");
}

on_both_backends!(replaces_calendars, super::replace_calendars);

/// Working-day deadlines follow the calendar in force: after the current year is replaced with one that
/// makes the next weekdays holidays, a new case's deadline and return window skip them.
async fn deadlines_follow_the_calendar(backend: StorageBackend) {
    let Some((service, mut client)) = start(backend).await else { return };
    let today = china_date(Utc::now());
    let year = today.year();
    // The next five days of this year become holidays (a week's closure for a typhoon, say).
    let closed: Vec<NaiveDate> =
        (1..=5).filter_map(|n| today.checked_add_days(Days::new(n))).filter(|d| d.year() == year).collect();
    let holidays: Vec<pb::CalendarDay> =
        closed.iter().map(|d| pb::CalendarDay { date: Some(date(*d)), name: "台风停工".into() }).collect();
    let calendar =
        pb::WorkCalendar { year, holidays, source: "舟山市防台风停工通知".into(), ..Default::default() };
    replace(&service, &mut client, calendar, &[Role::SystemAdmin]).await.expect("replaced");

    let case = pb::Case {
        title: "协调解决台风后渔港码头修复资金".into(),
        description: "台风过后，沈家门渔港码头受损，请协调修复资金。".into(),
        source: Some(pb::CaseSource {
            kind: pb::CaseSourceKind::Demand as i32,
            source_id: "demand-typhoon".into(),
            source_title: "码头修复".into(),
        }),
        lead_unit: Some(OrganisationRef { id: "zs-jtj".into(), name: "舟山市交通运输局".into(), kind: 2 }),
        responsible_head: Some(PersonRef {
            display_name: "李明".into(), title: "局长".into(), ..Default::default()
        }),
        ..Default::default()
    };
    let r = pb::CreateCaseRequest { case: Some(case), request_id: String::new(), deadline_working_days: 4 };
    let case =
        client.create_case(service.request(r, &[Role::Staff])).await.expect("created").into_inner().case.expect("case");
    let t = |x: Option<&prost_types::Timestamp>| {
        let x = x.expect("set");
        chrono::DateTime::from_timestamp(x.seconds, x.nanos as u32).expect("instant")
    };
    let dispatch = t(case.dispatch_time.as_ref());
    let mut years: Vec<YearCalendar> = (year + 1..=year + 2).filter_map(builtin).collect();
    years.push(YearCalendar {
        year,
        holidays: closed.iter().map(|d| NamedDay { date: *d, name: "台风停工".into() }).collect(),
        make_up_workdays: vec![],
        source: String::new(),
    });
    let in_force = WorkingCalendar::new(years);
    assert_eq!(t(case.deadline_time.as_ref()), in_force.end_of_working_days(dispatch, 4));
    assert_eq!(t(case.return_deadline_time.as_ref()), in_force.end_of_working_days(dispatch, 3));
    // None of the closed days counts: the return window ends after them when they all lie in this year.
    let third = china_date(t(case.return_deadline_time.as_ref()));
    if closed.len() == 5 {
        assert!(third > closed[4], "{third} should follow the closure");
    }
}

on_both_backends!(counts_deadlines_on_the_calendar_in_force, super::deadlines_follow_the_calendar);
