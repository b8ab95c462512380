//! Stored special reports (专报) with their sources, recipients and leaders' instructions (批示), and
//! the assignments (交办) of suggestions and reports to supervision; each change with its event in one
//! transaction.
//!
//! An assignment is keyed by its source, so however many calls race to assign one source, one row —
//! and one AssignedToSupervision event — results; the others read it back.

use chrono::{DateTime, NaiveDate, Utc};
use tingjian_proto::common::v1 as common;
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::paging::{PageCursor, time_key};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::Store;
use super::suggestion::{SERVICE, bump_version, check_etag, invalid_token, now, suggestion_in};
use crate::domain::report::{
    AssignableSource, Assignment, Instruction, NewInstruction, NewReport, Report, ReportStatus, SourceKind,
};
use crate::domain::suggestion::{Interval, Organisation, Person};

/// Page-token tag of ListSpecialReports.
const REPORTS_TOKEN: &str = "special_reports/1";

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "special report", id: id.to_owned() }
}

fn subject(id: &str) -> String {
    format!("special_reports/{id}")
}

fn person_ref(p: &Person) -> common::PersonRef {
    common::PersonRef {
        id: p.id.clone(),
        display_name: p.display_name.clone(),
        title: p.title.clone(),
        organisation_id: p.organisation_id.clone(),
    }
}

#[derive(sqlx::FromRow)]
struct ReportRow {
    id: String,
    title: String,
    text: String,
    category: String,
    status: i32,
    send_time: Option<DateTime<Utc>>,
    case_id: Option<String>,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_REPORT: &str = "SELECT r.id, r.title, r.text, r.category, r.status, r.send_time, r.case_id, \
     r.version, r.created_by, r.create_time, r.update_time FROM special_report r";

#[derive(sqlx::FromRow)]
struct InstructionRow {
    id: String,
    leader_id: String,
    leader_name: String,
    leader_title: String,
    leader_organisation_id: String,
    text: String,
    instruction_date: String,
    recorded_by: String,
    record_time: DateTime<Utc>,
}

impl TryFrom<InstructionRow> for Instruction {
    type Error = ServiceError;

    fn try_from(row: InstructionRow) -> Result<Self, Self::Error> {
        let date = NaiveDate::parse_from_str(&row.instruction_date, "%Y-%m-%d")
            .map_err(|_| ServiceError::internal(format!("stored instruction {} has a bad date", row.id)))?;
        Ok(Instruction {
            id: row.id,
            leader: Person {
                id: row.leader_id,
                display_name: row.leader_name,
                title: row.leader_title,
                organisation_id: row.leader_organisation_id,
            },
            text: row.text,
            date,
            recorded_by: row.recorded_by,
            record_time: row.record_time,
        })
    }
}

/// A report's parts other than its own row.
#[derive(Default)]
struct ReportParts {
    suggestion_ids: Vec<String>,
    opinion_items: Vec<String>,
    recipients: Vec<Person>,
    instructions: Vec<Instruction>,
}

impl ReportRow {
    fn into_report(self, parts: ReportParts) -> Result<Report, ServiceError> {
        let status = ReportStatus::from_i32(self.status)
            .ok_or_else(|| ServiceError::internal(format!("stored special report {} has a bad status", self.id)))?;
        Ok(Report {
            id: self.id,
            title: self.title,
            text: self.text,
            suggestion_ids: parts.suggestion_ids,
            opinion_items: parts.opinion_items,
            category: self.category,
            status,
            recipients: parts.recipients,
            send_time: self.send_time,
            instructions: parts.instructions,
            case_id: self.case_id,
            version: self.version,
            created_by: self.created_by,
            create_time: self.create_time,
            update_time: self.update_time,
        })
    }
}

const SELECT_SUGGESTION_IDS: &str =
    "SELECT suggestion_id FROM report_suggestion WHERE report_id = $1 ORDER BY position";
const SELECT_OPINION_ITEMS: &str = "SELECT text FROM report_opinion_item WHERE report_id = $1 ORDER BY position";
const SELECT_RECIPIENTS: &str = "SELECT person_id, display_name, title, organisation_id FROM report_recipient \
     WHERE report_id = $1 ORDER BY position";
const SELECT_INSTRUCTIONS: &str = "SELECT id, leader_id, leader_name, leader_title, leader_organisation_id, text, \
     instruction_date, recorded_by, record_time FROM instruction WHERE report_id = $1 ORDER BY record_time, id";

type PersonRow = (String, String, String, String);

fn person_of(row: PersonRow) -> Person {
    Person { id: row.0, display_name: row.1, title: row.2, organisation_id: row.3 }
}

/// Loads the parts of report `id` through `$exec` (a pool or a transaction's connection).
macro_rules! report_parts {
    ($exec:expr, $id:expr) => {
        async {
            let suggestion_ids: Vec<String> =
                sqlx::query_scalar(SELECT_SUGGESTION_IDS).bind($id).fetch_all($exec).await?;
            let opinion_items: Vec<String> =
                sqlx::query_scalar(SELECT_OPINION_ITEMS).bind($id).fetch_all($exec).await?;
            let recipients: Vec<PersonRow> = sqlx::query_as(SELECT_RECIPIENTS).bind($id).fetch_all($exec).await?;
            let instructions: Vec<InstructionRow> =
                sqlx::query_as(SELECT_INSTRUCTIONS).bind($id).fetch_all($exec).await?;
            Ok::<_, sqlx::Error>((suggestion_ids, opinion_items, recipients, instructions))
        }
        .await
    };
}

type RawParts = (Vec<String>, Vec<String>, Vec<PersonRow>, Vec<InstructionRow>);

fn parts_of(raw: RawParts) -> Result<ReportParts, ServiceError> {
    let (suggestion_ids, opinion_items, recipients, instructions) = raw;
    Ok(ReportParts {
        suggestion_ids,
        opinion_items,
        recipients: recipients.into_iter().map(person_of).collect(),
        instructions: instructions.into_iter().map(Instruction::try_from).collect::<Result<_, _>>()?,
    })
}

/// A report as the transaction sees it.
async fn report_in(tx: &mut Tx, id: &str) -> Result<Option<Report>, ServiceError> {
    let sql = format!("{SELECT_REPORT} WHERE r.id = $1");
    let row: Option<ReportRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, ReportRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    let Some(row) = row else { return Ok(None) };
    let raw: RawParts = on_tx!(tx, conn => report_parts!(&mut **conn, id))?;
    Ok(Some(row.into_report(parts_of(raw)?)?))
}

/// Bumps a report's revision (locking it) and returns it as it is now; the caller's etag checked.
async fn lock_report(
    tx: &mut Tx,
    id: &str,
    now: DateTime<Utc>,
    expected_version: Option<i64>,
) -> Result<Report, ServiceError> {
    if !bump_version(tx, "special_report", id, now).await? {
        return Err(not_found(id));
    }
    let current = report_in(tx, id).await?.ok_or_else(|| not_found(id))?;
    check_etag("special report", id, current.version, expected_version)?;
    Ok(current)
}

#[derive(sqlx::FromRow)]
struct AssignmentRow {
    source_kind: i32,
    source_id: String,
    case_id: String,
    lead_unit_id: String,
    lead_unit_name: String,
    lead_unit_kind: i32,
    assigned_by: String,
    assign_time: DateTime<Utc>,
}

const SELECT_ASSIGNMENT: &str = "SELECT source_kind, source_id, case_id, lead_unit_id, lead_unit_name, \
     lead_unit_kind, assigned_by, assign_time FROM assignment WHERE source_kind = $1 AND source_id = $2";

impl TryFrom<AssignmentRow> for Assignment {
    type Error = ServiceError;

    fn try_from(row: AssignmentRow) -> Result<Self, Self::Error> {
        let kind = SourceKind::from_i32(row.source_kind)
            .ok_or_else(|| ServiceError::internal(format!("stored assignment of {} has a bad kind", row.source_id)))?;
        Ok(Assignment {
            kind,
            source_id: row.source_id,
            case_id: row.case_id,
            lead_unit: Organisation { id: row.lead_unit_id, name: row.lead_unit_name, kind: row.lead_unit_kind },
            assigned_by: row.assigned_by,
            assign_time: row.assign_time,
        })
    }
}

impl Store {
    /// Compiles a special report. Each suggestion must exist (INVALID_ARGUMENT on
    /// `special_report.suggestion_ids[i]` otherwise). A repeated `request_id` with the same request
    /// returns the first report; with a different request it is ALREADY_EXISTS.
    pub async fn create_report(
        &self,
        new: &NewReport,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Report, ServiceError> {
        let fingerprint = new.fingerprint(actor);
        let insert = async {
            let missing = self.missing_suggestions(&new.suggestion_ids).await?;
            if !missing.is_empty() {
                return Err(ServiceError::InvalidArgument(
                    missing
                        .into_iter()
                        .map(|i| {
                            tingjian_runtime::FieldViolation::new(
                                format!("special_report.suggestion_ids[{i}]"),
                                format!("suggestion {} does not exist", new.suggestion_ids[i]),
                            )
                        })
                        .collect(),
                ));
            }
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO special_report (id, title, text, category, status, version, request_id, \
                     request_payload, created_by, create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $8, $9, $9)",
                )
                .bind(&id)
                .bind(&new.title)
                .bind(&new.text)
                .bind(&new.category)
                .bind(ReportStatus::Compiled.as_i32())
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            for (position, suggestion_id) in new.suggestion_ids.iter().enumerate() {
                let position = i32::try_from(position).unwrap_or(i32::MAX);
                on_tx!(&mut tx, conn => {
                    sqlx::query("INSERT INTO report_suggestion (report_id, suggestion_id, position) VALUES ($1, $2, $3)")
                        .bind(&id)
                        .bind(suggestion_id)
                        .bind(position)
                        .execute(&mut **conn)
                        .await
                        .map(|_| ())
                })?;
            }
            for (position, item) in new.opinion_items.iter().enumerate() {
                let position = i32::try_from(position).unwrap_or(i32::MAX);
                on_tx!(&mut tx, conn => {
                    sqlx::query("INSERT INTO report_opinion_item (report_id, position, text) VALUES ($1, $2, $3)")
                        .bind(&id)
                        .bind(position)
                        .bind(item)
                        .execute(&mut **conn)
                        .await
                        .map(|_| ())
                })?;
            }
            let report = report_in(&mut tx, &id).await?.ok_or_else(|| not_found(&id))?;
            tx.commit().await?;
            Ok(report)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    let row: Option<(String, Option<String>)> = on_pool!(&self.db, pool => {
                        sqlx::query_as("SELECT id, request_payload FROM special_report WHERE request_id = $1")
                            .bind(&request_id)
                            .fetch_optional(pool)
                            .await
                    })?;
                    match row {
                        None => Ok(None),
                        Some((id, payload)) if payload.as_deref() == Some(fingerprint.as_str()) => {
                            self.get_report(&id).await.map(Some)
                        }
                        Some((id, _)) => Err(ServiceError::AlreadyExists(format!(
                            "request_id {request_id} was already used to compile special report {id} from a different request"
                        ))),
                    }
                }
            },
            insert,
            || ServiceError::AlreadyExists("the special report conflicts with an existing one".into()),
        )
        .await
    }

    /// A special report by id, with its instructions.
    pub async fn get_report(&self, id: &str) -> Result<Report, ServiceError> {
        let sql = format!("{SELECT_REPORT} WHERE r.id = $1");
        let row: Option<ReportRow> =
            on_pool!(&self.db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)?;
        let row = row.ok_or_else(|| not_found(id))?;
        let raw: RawParts = on_pool!(&self.db, pool => report_parts!(pool, id))?;
        row.into_report(parts_of(raw)?)
    }

    /// Special reports in any of `statuses` (all when empty), sent in `[start, end)` when `sent` is
    /// given, newest first; a page of at most `page_size` after `page_token`, with the next token.
    pub async fn list_reports(
        &self,
        statuses: &[ReportStatus],
        sent: Option<Interval>,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<Report>, String), ServiceError> {
        let cursor = PageCursor::decode(page_token, REPORTS_TOKEN, 2, "page_token").map_err(invalid_token)?;
        let (after_time, after_id) = match &cursor {
            Some(c) => (Some(c.time(0, "page_token").map_err(invalid_token)?), Some(c.keys[1].clone())),
            None => (None, None),
        };
        let mut clauses = vec![
            "($1 IS NULL OR r.send_time >= $1)".to_owned(),
            "($2 IS NULL OR r.send_time < $2)".to_owned(),
            "($3 IS NULL OR r.create_time < $3 OR (r.create_time = $3 AND r.id < $4))".to_owned(),
        ];
        if !statuses.is_empty() {
            let numbers: Vec<String> = statuses.iter().map(|s| s.as_i32().to_string()).collect();
            clauses.push(format!("r.status IN ({})", numbers.join(", ")));
        }
        let limit = i64::try_from(page_size + 1).unwrap_or(i64::MAX);
        let sql = format!(
            "{SELECT_REPORT} WHERE {} ORDER BY r.create_time DESC, r.id DESC LIMIT {limit}",
            clauses.join(" AND ")
        );
        let (start, end) = match sent {
            Some((start, end)) => (Some(start), Some(end)),
            None => (None, None),
        };
        let mut rows: Vec<ReportRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(start)
                .bind(end)
                .bind(after_time)
                .bind(after_id.as_deref())
                .fetch_all(pool)
                .await
        })?;
        let token =
            PageCursor::next_page(&mut rows, page_size, REPORTS_TOKEN, |r| vec![time_key(r.create_time), r.id.clone()]);
        let mut reports = Vec::with_capacity(rows.len());
        for row in rows {
            let raw: RawParts = on_pool!(&self.db, pool => report_parts!(pool, row.id.as_str()))?;
            reports.push(row.into_report(parts_of(raw)?)?);
        }
        Ok((reports, token))
    }

    /// Sends a compiled report to `leaders`, with the SpecialReportSent event.
    pub async fn send_report(
        &self,
        id: &str,
        leaders: &[Person],
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<Report, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let current = lock_report(&mut tx, id, now, expected_version).await?;
        current.check_sendable()?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE special_report SET status = $2, send_time = $3, sent_by = $4 WHERE id = $1")
                .bind(id)
                .bind(ReportStatus::Sent.as_i32())
                .bind(now)
                .bind(actor)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        for (position, leader) in leaders.iter().enumerate() {
            let position = i32::try_from(position).unwrap_or(i32::MAX);
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO report_recipient (report_id, position, person_id, display_name, title, organisation_id) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(position)
                .bind(&leader.id)
                .bind(&leader.display_name)
                .bind(&leader.title)
                .bind(&leader.organisation_id)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
        }
        let payload = pb::SpecialReportSent {
            special_report_id: id.to_owned(),
            title: current.title.clone(),
            category: current.category.clone(),
            recipients: leaders.iter().map(person_ref).collect(),
            suggestion_ids: current.suggestion_ids.clone(),
            actor: actor.to_owned(),
        };
        let event =
            NewEvent::new("special_report_sent", subject(id), "tingjian.consultation.v1.SpecialReportSent", &payload);
        events::record(&mut tx, SERVICE, event).await?;
        let sent = report_in(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        tx.commit().await?;
        Ok(sent)
    }

    /// Records a leader's instruction on a sent report (making it INSTRUCTED), with the
    /// InstructionRecorded event. A repeated `request_id` with the same request returns the report
    /// without recording twice; with a different request it is ALREADY_EXISTS.
    pub async fn record_instruction(
        &self,
        report_id: &str,
        new: &NewInstruction,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Report, ServiceError> {
        let fingerprint = new.fingerprint(report_id, actor);
        let insert = async {
            let now = now();
            let mut tx = self.db.begin().await?;
            let current = lock_report(&mut tx, report_id, now, None).await?;
            current.check_instructable(new.date, "instruction.instruction_date")?;
            let first = current.instructions.is_empty();
            let id = tingjian_runtime::wire::new_id();
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO instruction (id, report_id, leader_id, leader_name, leader_title, \
                     leader_organisation_id, text, instruction_date, request_id, request_payload, recorded_by, \
                     record_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                )
                .bind(&id)
                .bind(report_id)
                .bind(&new.leader.id)
                .bind(&new.leader.display_name)
                .bind(&new.leader.title)
                .bind(&new.leader.organisation_id)
                .bind(&new.text)
                .bind(new.date.format("%Y-%m-%d").to_string())
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            on_tx!(&mut tx, conn => {
                sqlx::query("UPDATE special_report SET status = $2 WHERE id = $1")
                    .bind(report_id)
                    .bind(ReportStatus::Instructed.as_i32())
                    .execute(&mut **conn)
                    .await
                    .map(|_| ())
            })?;
            let payload = pb::InstructionRecorded {
                special_report_id: report_id.to_owned(),
                instruction_id: id.clone(),
                leader: Some(person_ref(&new.leader)),
                instruction_date: Some(common::Date {
                    year: chrono::Datelike::year(&new.date),
                    month: i32::try_from(chrono::Datelike::month(&new.date)).unwrap_or_default(),
                    day: i32::try_from(chrono::Datelike::day(&new.date)).unwrap_or_default(),
                }),
                first_instruction: first,
                actor: actor.to_owned(),
            };
            let event = NewEvent::new(
                "instruction_recorded",
                subject(report_id),
                "tingjian.consultation.v1.InstructionRecorded",
                &payload,
            );
            events::record(&mut tx, SERVICE, event).await?;
            let report = report_in(&mut tx, report_id).await?.ok_or_else(|| not_found(report_id))?;
            tx.commit().await?;
            Ok(report)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    let row: Option<(String, Option<String>)> = on_pool!(&self.db, pool => {
                        sqlx::query_as("SELECT report_id, request_payload FROM instruction WHERE request_id = $1")
                            .bind(&request_id)
                            .fetch_optional(pool)
                            .await
                    })?;
                    match row {
                        None => Ok(None),
                        Some((id, payload)) if payload.as_deref() == Some(fingerprint.as_str()) => {
                            self.get_report(&id).await.map(Some)
                        }
                        Some(_) => Err(ServiceError::AlreadyExists(format!(
                            "request_id {request_id} was already used to record a different instruction"
                        ))),
                    }
                }
            },
            insert,
            || ServiceError::AlreadyExists("the instruction conflicts with an existing one".into()),
        )
        .await
    }

    /// The assignment of a source, if it was assigned.
    pub async fn assignment(&self, kind: SourceKind, source_id: &str) -> Result<Option<Assignment>, ServiceError> {
        let row: Option<AssignmentRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(SELECT_ASSIGNMENT).bind(kind.as_i32()).bind(source_id).fetch_optional(pool).await
        })?;
        row.map(Assignment::try_from).transpose()
    }

    /// What a source gives the case made of it, once checked assignable (a SUBMITTED or RESPONDED
    /// suggestion, a SENT or INSTRUCTED report; FAILED_PRECONDITION naming the status otherwise).
    /// NOT_FOUND when there is no such source.
    pub async fn assignable_source(&self, kind: SourceKind, id: &str) -> Result<AssignableSource, ServiceError> {
        match kind {
            SourceKind::Suggestion => {
                let s = self.get_suggestion(id).await?;
                s.check_assignable()?;
                Ok(AssignableSource { title: s.title, text: s.text, category: s.category, created_by: s.created_by })
            }
            SourceKind::SpecialReport => {
                let r = self.get_report(id).await?;
                r.check_assignable()?;
                Ok(AssignableSource { title: r.title, text: r.text, category: r.category, created_by: r.created_by })
            }
        }
    }

    /// Records that `source` became case `case_id`: the assignment, the case id on the source and the
    /// AssignedToSupervision event, in one transaction. When the source was already assigned (a
    /// concurrent call won), nothing changes and the existing assignment is returned with `false`.
    pub async fn record_assignment(
        &self,
        kind: SourceKind,
        source_id: &str,
        case_id: &str,
        lead_unit: &Organisation,
        actor: &str,
    ) -> Result<(Assignment, bool), ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let inserted = on_tx!(&mut tx, conn => {
            sqlx::query(
                "INSERT INTO assignment (source_kind, source_id, case_id, lead_unit_id, lead_unit_name, lead_unit_kind, \
                 assigned_by, assign_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT (source_kind, source_id) DO NOTHING",
            )
            .bind(kind.as_i32())
            .bind(source_id)
            .bind(case_id)
            .bind(&lead_unit.id)
            .bind(&lead_unit.name)
            .bind(lead_unit.kind)
            .bind(actor)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
        })?;
        if inserted == 0 {
            tx.rollback().await?;
            let existing = self.assignment(kind, source_id).await?.ok_or_else(|| {
                ServiceError::Aborted(format!("the assignment of {source_id} changed concurrently; retry"))
            })?;
            return Ok((existing, false));
        }
        let table = match kind {
            SourceKind::Suggestion => "suggestion",
            SourceKind::SpecialReport => "special_report",
        };
        if !bump_version(&mut tx, table, source_id, now).await? {
            return Err(ServiceError::NotFound {
                resource: match kind {
                    SourceKind::Suggestion => "suggestion",
                    SourceKind::SpecialReport => "special report",
                },
                id: source_id.to_owned(),
            });
        }
        let still_assignable = match kind {
            SourceKind::Suggestion => suggestion_in(&mut tx, source_id).await?.map(|s| s.check_assignable()),
            SourceKind::SpecialReport => report_in(&mut tx, source_id).await?.map(|r| r.check_assignable()),
        };
        still_assignable.transpose()?;
        let sql = format!("UPDATE {table} SET case_id = $2 WHERE id = $1");
        on_tx!(&mut tx, conn => {
            sqlx::query(&sql).bind(source_id).bind(case_id).execute(&mut **conn).await.map(|_| ())
        })?;
        let payload = pb::AssignedToSupervision {
            source_kind: kind.as_i32(),
            source_id: source_id.to_owned(),
            case_id: case_id.to_owned(),
            lead_unit: Some(common::OrganisationRef {
                id: lead_unit.id.clone(),
                name: lead_unit.name.clone(),
                kind: lead_unit.kind,
            }),
            actor: actor.to_owned(),
        };
        let event = NewEvent::new(
            "assigned_to_supervision",
            format!("{}/{source_id}", kind.collection()),
            "tingjian.consultation.v1.AssignedToSupervision",
            &payload,
        );
        events::record(&mut tx, SERVICE, event).await?;
        let row: AssignmentRow = on_tx!(&mut tx, conn => {
            sqlx::query_as(SELECT_ASSIGNMENT).bind(kind.as_i32()).bind(source_id).fetch_one(&mut **conn).await
        })?;
        tx.commit().await?;
        Ok((Assignment::try_from(row)?, true))
    }
}
