//! Stored sessions (协商活动): the session, its participants, its contributions (问、答、辩) and the
//! conclusions recorded at closing.
//!
//! Every change starts by bumping the session's revision, which locks its row (PostgreSQL) or takes the
//! write lock (SQLite) before anything is read: changes to one session are serialised, so contribution
//! sequence numbers are gap-free and a participant cannot be removed while they are given the floor.

use std::collections::HashMap;

use chrono::{DateTime, SubsecRound, Utc};
use tingjian_proto::common::v1 as common;
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::paging::{Page, PageRequest, time_key};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::{ServiceError, on_tx};

use super::Store;
use crate::domain::session::{
    Closing, Contribution, ContributionKind, ContributionStats, ContributionTally, INVITATION_ACCEPTED,
    NewContribution, NewParticipant, NewSession, OnlineCounts, Participant, ParticipantRole, Session, SessionChanges,
    SessionFilter, SessionFormat, SessionStatus, TOPIC_WITHDRAWN, check_closable, check_distinct_participants,
    require_open,
};

/// The service name events are recorded under.
const SERVICE: &str = "consultation";
/// The list name page tokens of ListSessions are bound to.
const SESSIONS_LIST: &str = "sessions";
/// The list name page tokens of ListContributions are bound to.
const CONTRIBUTIONS_LIST: &str = "contributions";

/// A value bound to a query assembled at run time.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i32),
    BigInt(i64),
    Time(DateTime<Utc>),
}

/// Binds every [`Arg`] of a list to a sqlx query, in order.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                Arg::Text(v) => query.bind(v.as_str()),
                Arg::Int(v) => query.bind(*v),
                Arg::BigInt(v) => query.bind(*v),
                Arg::Time(v) => query.bind(*v),
            };
        }
        query
    }};
}

/// The WHERE clause of a query being assembled, with its bind values in placeholder order.
#[derive(Debug, Default)]
struct Conditions {
    clauses: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    /// Binds `arg` and returns its placeholder.
    fn arg(&mut self, arg: Arg) -> String {
        self.args.push(arg);
        format!("${}", self.args.len())
    }

    /// Adds a clause (ANDed with the others).
    fn push(&mut self, clause: impl Into<String>) {
        self.clauses.push(clause.into());
    }

    /// ` WHERE …` (or nothing).
    fn where_sql(&self) -> String {
        if self.clauses.is_empty() { String::new() } else { format!(" WHERE {}", self.clauses.join(" AND ")) }
    }
}

/// `$1, $2, …` for `n` values.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The current instant, at the precision both backends store.
fn now() -> DateTime<Utc> {
    tingjian_runtime::clock::now().trunc_subsecs(6)
}

fn session_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "session", id: id.to_owned() }
}

fn bad_stored(what: &str, id: &str) -> ServiceError {
    ServiceError::internal(format!("stored {what} {id} has a value outside the contract"))
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: String,
    topic_id: String,
    title: String,
    format: i32,
    venue: String,
    start_time: DateTime<Utc>,
    end_time: Option<DateTime<Utc>>,
    status: i32,
    campaign_id: String,
    online_participant_count: i32,
    online_post_count: i32,
    minutes: String,
    attendee_count: i32,
    close_time: Option<DateTime<Utc>>,
    closed_by: String,
    cancel_reason: String,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_SESSION: &str = "SELECT s.id, s.topic_id, s.title, s.format, s.venue, s.start_time, s.end_time, s.status, \
     s.campaign_id, s.online_participant_count, s.online_post_count, s.minutes, s.attendee_count, s.close_time, \
     s.closed_by, s.cancel_reason, s.version, s.created_by, s.create_time, s.update_time FROM session s";

impl SessionRow {
    fn status(&self) -> Result<SessionStatus, ServiceError> {
        SessionStatus::from_i32(self.status).ok_or_else(|| bad_stored("session", &self.id))
    }

    fn format(&self) -> Result<SessionFormat, ServiceError> {
        SessionFormat::from_i32(self.format).ok_or_else(|| bad_stored("session", &self.id))
    }

    /// `Ok` if the caller's etag names the revision before this transaction's bump.
    fn check_etag(&self, expected: Option<i64>) -> Result<(), ServiceError> {
        match expected {
            Some(expected) if expected != self.version - 1 => Err(ServiceError::Aborted(format!(
                "session {} has changed since it was read (its etag is now v{}); re-read it and retry",
                self.id,
                self.version - 1
            ))),
            _ => Ok(()),
        }
    }
}

#[derive(sqlx::FromRow)]
struct ParticipantRow {
    session_id: String,
    id: String,
    role: i32,
    display_name: String,
    person_id: String,
    enterprise_id: String,
    affiliation: String,
    invitation_id: String,
    attended: bool,
}

impl TryFrom<ParticipantRow> for Participant {
    type Error = ServiceError;

    fn try_from(row: ParticipantRow) -> Result<Self, Self::Error> {
        Ok(Self {
            role: ParticipantRole::from_i32(row.role).ok_or_else(|| bad_stored("participant", &row.id))?,
            id: row.id,
            display_name: row.display_name,
            person_id: row.person_id,
            enterprise_id: row.enterprise_id,
            affiliation: row.affiliation,
            invitation_id: row.invitation_id,
            attended: row.attended,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TallyRow {
    session_id: String,
    kind: i32,
    speaker_participant_id: String,
    speaker_role: i32,
    count: i64,
}

impl TryFrom<TallyRow> for ContributionTally {
    type Error = ServiceError;

    fn try_from(row: TallyRow) -> Result<Self, Self::Error> {
        let bad = || bad_stored("contribution of session", &row.session_id);
        Ok(Self {
            kind: ContributionKind::from_i32(row.kind).ok_or_else(bad)?,
            speaker_role: ParticipantRole::from_i32(row.speaker_role).ok_or_else(bad)?,
            speaker_participant_id: row.speaker_participant_id,
            count: row.count,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ConclusionRow {
    session_id: String,
    text: String,
}

#[derive(sqlx::FromRow)]
struct ContributionRow {
    id: String,
    session_id: String,
    sequence: i32,
    kind: i32,
    speaker_participant_id: String,
    speaker_role: i32,
    speaker_display_name: String,
    text: String,
    reply_to_contribution_id: Option<String>,
    speak_time: DateTime<Utc>,
    recorded_by: String,
    create_time: DateTime<Utc>,
}

const SELECT_CONTRIBUTION: &str = "SELECT c.id, c.session_id, c.sequence, c.kind, c.speaker_participant_id, \
     c.speaker_role, c.speaker_display_name, c.text, c.reply_to_contribution_id, c.speak_time, c.recorded_by, \
     c.create_time FROM contribution c";

impl TryFrom<ContributionRow> for Contribution {
    type Error = ServiceError;

    fn try_from(row: ContributionRow) -> Result<Self, Self::Error> {
        Ok(Self {
            kind: ContributionKind::from_i32(row.kind).ok_or_else(|| bad_stored("contribution", &row.id))?,
            speaker_role: ParticipantRole::from_i32(row.speaker_role)
                .ok_or_else(|| bad_stored("contribution", &row.id))?,
            id: row.id,
            session_id: row.session_id,
            sequence: i64::from(row.sequence),
            speaker_participant_id: row.speaker_participant_id,
            speaker_display_name: row.speaker_display_name,
            text: row.text,
            reply_to_contribution_id: row.reply_to_contribution_id,
            speak_time: row.speak_time,
            recorded_by: row.recorded_by,
            create_time: row.create_time,
        })
    }
}

/// An accepted invitation of a topic, as a session takes its invitees.
#[derive(sqlx::FromRow)]
struct InviteeRow {
    id: String,
    invitee_kind: i32,
    invitee_id: String,
    display_name: String,
}

async fn session_row(tx: &mut Tx, id: &str) -> Result<Option<SessionRow>, ServiceError> {
    let sql = format!("{SELECT_SESSION} WHERE s.id = $1");
    Ok(on_tx!(tx, conn => sqlx::query_as::<_, SessionRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?)
}

/// Bumps a session's revision (locking it) and returns it as it is now.
async fn bump_session(tx: &mut Tx, id: &str, now: DateTime<Utc>) -> Result<SessionRow, ServiceError> {
    let changed = on_tx!(tx, conn => {
        sqlx::query("UPDATE session SET version = version + 1, update_time = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut **conn)
            .await
            .map(|done| done.rows_affected())
    })?;
    if changed == 0 {
        return Err(session_not_found(id));
    }
    session_row(tx, id).await?.ok_or_else(|| session_not_found(id))
}

/// Rows of `sql` (whose only placeholders are the ids, `IN ({ids})`) for each of `ids`.
async fn children<R>(tx: &mut Tx, sql: &str, ids: &[&str]) -> Result<Vec<R>, ServiceError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = sql.replace("{ids}", &placeholders(ids.len()));
    let rows: Vec<R> = on_tx!(tx, conn => {
        let mut query = sqlx::query_as::<_, R>(&sql);
        for id in ids {
            query = query.bind(*id);
        }
        query.fetch_all(&mut **conn).await
    })?;
    Ok(rows)
}

/// The sessions of `rows`, each with its participants, conclusions and statistics.
async fn assemble(tx: &mut Tx, rows: Vec<SessionRow>) -> Result<Vec<Session>, ServiceError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let participants: Vec<ParticipantRow> = children(
        tx,
        "SELECT session_id, id, role, display_name, person_id, enterprise_id, affiliation, invitation_id, attended \
         FROM session_participant WHERE session_id IN ({ids}) ORDER BY session_id, position",
        &ids,
    )
    .await?;
    let tallies: Vec<TallyRow> = children(
        tx,
        "SELECT session_id, kind, speaker_participant_id, speaker_role, COUNT(*) AS count FROM contribution \
         WHERE session_id IN ({ids}) GROUP BY session_id, kind, speaker_participant_id, speaker_role",
        &ids,
    )
    .await?;
    let conclusions: Vec<ConclusionRow> = children(
        tx,
        "SELECT session_id, text FROM session_conclusion WHERE session_id IN ({ids}) ORDER BY session_id, position",
        &ids,
    )
    .await?;
    let mut participants_by: HashMap<String, Vec<Participant>> = HashMap::new();
    for row in participants {
        participants_by.entry(row.session_id.clone()).or_default().push(row.try_into()?);
    }
    let mut tallies_by: HashMap<String, Vec<ContributionTally>> = HashMap::new();
    for row in tallies {
        let session_id = row.session_id.clone();
        tallies_by.entry(session_id).or_default().push(row.try_into()?);
    }
    let mut conclusions_by: HashMap<String, Vec<String>> = HashMap::new();
    for row in conclusions {
        conclusions_by.entry(row.session_id).or_default().push(row.text);
    }
    rows.into_iter()
        .map(|row| {
            Ok(Session {
                status: row.status()?,
                format: row.format()?,
                participants: participants_by.remove(&row.id).unwrap_or_default(),
                stats: ContributionStats::from_tallies(&tallies_by.remove(&row.id).unwrap_or_default()),
                conclusions: conclusions_by.remove(&row.id).unwrap_or_default(),
                campaign_id: Some(row.campaign_id).filter(|c| !c.is_empty()),
                online: OnlineCounts {
                    participants: i64::from(row.online_participant_count),
                    posts: i64::from(row.online_post_count),
                },
                id: row.id,
                topic_id: row.topic_id,
                title: row.title,
                venue: row.venue,
                start_time: row.start_time,
                end_time: row.end_time,
                minutes: row.minutes,
                attendee_count: i64::from(row.attendee_count),
                close_time: row.close_time,
                closed_by: row.closed_by,
                cancel_reason: row.cancel_reason,
                version: row.version,
                created_by: row.created_by,
                create_time: row.create_time,
                update_time: row.update_time,
            })
        })
        .collect()
}

async fn load_session(tx: &mut Tx, id: &str) -> Result<Session, ServiceError> {
    let row = session_row(tx, id).await?.ok_or_else(|| session_not_found(id))?;
    assemble(tx, vec![row]).await?.pop().ok_or_else(|| session_not_found(id))
}

async fn participants_of(tx: &mut Tx, session_id: &str) -> Result<Vec<Participant>, ServiceError> {
    let rows: Vec<ParticipantRow> = children(
        tx,
        "SELECT session_id, id, role, display_name, person_id, enterprise_id, affiliation, invitation_id, attended \
         FROM session_participant WHERE session_id IN ({ids}) ORDER BY position",
        &[session_id],
    )
    .await?;
    rows.into_iter().map(Participant::try_from).collect()
}

async fn stats_of(tx: &mut Tx, session_id: &str) -> Result<ContributionStats, ServiceError> {
    let rows: Vec<TallyRow> = children(
        tx,
        "SELECT session_id, kind, speaker_participant_id, speaker_role, COUNT(*) AS count FROM contribution \
         WHERE session_id IN ({ids}) GROUP BY session_id, kind, speaker_participant_id, speaker_role",
        &[session_id],
    )
    .await?;
    let tallies = rows.into_iter().map(ContributionTally::try_from).collect::<Result<Vec<_>, _>>()?;
    Ok(ContributionStats::from_tallies(&tallies))
}

/// The accepted invitations of a topic: proposals by rank, then staff additions, each by age.
async fn accepted_invitations(tx: &mut Tx, topic_id: &str) -> Result<Vec<InviteeRow>, ServiceError> {
    Ok(on_tx!(tx, conn => {
        sqlx::query_as::<_, InviteeRow>(
            "SELECT id, invitee_kind, invitee_id, display_name FROM invitation WHERE topic_id = $1 AND status = $2 \
             ORDER BY CASE WHEN rank = 0 THEN 1 ELSE 0 END, rank, create_time, id",
        )
        .bind(topic_id)
        .bind(INVITATION_ACCEPTED)
        .fetch_all(&mut **conn)
        .await
    })?)
}

/// Checks that every invitation a new participant names is an accepted invitation of the topic,
/// reporting each other one under `prefix[i].invitation_id`.
fn check_invitations(
    participants: &[NewParticipant],
    accepted: &[InviteeRow],
    prefix: &str,
) -> Result<(), ServiceError> {
    let mut v = tingjian_runtime::error::Violations::new();
    for (i, p) in participants.iter().enumerate() {
        if !p.invitation_id.is_empty() && !accepted.iter().any(|a| a.id == p.invitation_id) {
            v.add(
                format!("{prefix}[{i}].invitation_id"),
                format!("invitation {} is not an accepted invitation of the session's topic", p.invitation_id),
            );
        }
    }
    v.finish()
}

/// Appends `participants` to a session, after those it has.
async fn insert_participants(
    tx: &mut Tx,
    session_id: &str,
    participants: &[NewParticipant],
) -> Result<(), ServiceError> {
    let first: i64 = on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(MAX(position), 0) + 1 AS BIGINT) FROM session_participant WHERE session_id = $1",
        )
        .bind(session_id)
        .fetch_one(&mut **conn)
        .await
    })?;
    for (i, p) in participants.iter().enumerate() {
        let id = tingjian_runtime::wire::new_id();
        let position = i32::try_from(first + i as i64)
            .map_err(|_| ServiceError::FailedPrecondition(format!("session {session_id} has too many participants")))?;
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO session_participant (session_id, id, position, role, display_name, person_id, \
                 enterprise_id, affiliation, invitation_id, attended) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(session_id)
            .bind(&id)
            .bind(position)
            .bind(p.role.as_i32())
            .bind(&p.display_name)
            .bind(&p.person_id)
            .bind(&p.enterprise_id)
            .bind(&p.affiliation)
            .bind(&p.invitation_id)
            .bind(false)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
    }
    Ok(())
}

/// The stored campaign counts of a session.
async fn set_online_counts(tx: &mut Tx, id: &str, counts: OnlineCounts) -> Result<(), ServiceError> {
    let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    on_tx!(tx, conn => {
        sqlx::query("UPDATE session SET online_participant_count = $2, online_post_count = $3 WHERE id = $1")
            .bind(id)
            .bind(clamp(counts.participants))
            .bind(clamp(counts.posts))
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    Ok(())
}

/// The statistics as the contract writes them.
fn stats_message(stats: &ContributionStats) -> pb::ContributionStats {
    let n = |v: i64| i32::try_from(v).unwrap_or(i32::MAX);
    pb::ContributionStats {
        total_count: n(stats.total),
        statement_count: n(stats.statements),
        question_count: n(stats.questions),
        answer_count: n(stats.answers),
        rebuttal_count: n(stats.rebuttals),
        interaction_share: Some(common::Rate {
            numerator: stats.interactions(),
            denominator: stats.total,
            value: stats.interaction_share(),
        }),
        speaker_count: n(stats.speakers),
        entrepreneur_speaker_count: n(stats.entrepreneur_speakers),
    }
}

/// Records SessionClosed for `session`, with its topic's common issues and the enterprises whose
/// entrepreneurs spoke (in the order they first spoke).
async fn record_closed(tx: &mut Tx, session: &Session, actor: &str) -> Result<(), ServiceError> {
    let common_issue_ids: Vec<String> = on_tx!(tx, conn => {
        sqlx::query_scalar("SELECT common_issue_id FROM topic_common_issue WHERE topic_id = $1 ORDER BY position")
            .bind(&session.topic_id)
            .fetch_all(&mut **conn)
            .await
    })?;
    let speakers: Vec<String> = on_tx!(tx, conn => {
        sqlx::query_scalar(
            "SELECT p.enterprise_id FROM contribution c JOIN session_participant p \
             ON p.session_id = c.session_id AND p.id = c.speaker_participant_id \
             WHERE c.session_id = $1 AND p.role = $2 AND p.enterprise_id <> '' ORDER BY c.sequence",
        )
        .bind(&session.id)
        .bind(ParticipantRole::Entrepreneur.as_i32())
        .fetch_all(&mut **conn)
        .await
    })?;
    let mut speaking_enterprise_ids: Vec<String> = Vec::new();
    for id in speakers {
        if !speaking_enterprise_ids.contains(&id) {
            speaking_enterprise_ids.push(id);
        }
    }
    let payload = pb::SessionClosed {
        session_id: session.id.clone(),
        topic_id: session.topic_id.clone(),
        format: session.format.as_i32(),
        common_issue_ids,
        stats: Some(stats_message(&session.stats)),
        attendee_count: i32::try_from(session.attendee_count).unwrap_or(i32::MAX),
        speaking_enterprise_ids,
        campaign_id: session.campaign_id.clone().unwrap_or_default(),
        actor: actor.to_owned(),
    };
    let event = NewEvent::new(
        "session_closed",
        format!("sessions/{}", session.id),
        "tingjian.consultation.v1.SessionClosed",
        &payload,
    );
    events::record(tx, SERVICE, event).await?;
    Ok(())
}

impl Store {
    /// The format of a topic a session may be scheduled on (`None` when it has none): an unknown topic
    /// is INVALID_ARGUMENT on `field`, a withdrawn one FAILED_PRECONDITION.
    pub async fn session_topic_format(
        &self,
        topic_id: &str,
        field: &str,
    ) -> Result<Option<SessionFormat>, ServiceError> {
        let found: Option<(i32, i32)> = tingjian_runtime::on_pool!(&self.db, pool => {
            sqlx::query_as("SELECT format, status FROM topic WHERE id = $1").bind(topic_id).fetch_optional(pool).await
        })?;
        match found {
            None => Err(ServiceError::invalid(field, format!("topic {topic_id} does not exist"))),
            Some((_, TOPIC_WITHDRAWN)) => Err(ServiceError::FailedPrecondition(format!(
                "topic {topic_id} is WITHDRAWN: no session can be scheduled on it"
            ))),
            Some((format, _)) => Ok(SessionFormat::from_i32(format)),
        }
    }

    /// Schedules a session with `participants` and, when `include_accepted_invitees`, every accepted
    /// invitee of the topic not already among them. A repeated `request_id` with the same request
    /// returns the first session; with a different request it is ALREADY_EXISTS.
    pub async fn schedule_session(
        &self,
        new: &NewSession,
        participants: &[NewParticipant],
        include_accepted_invitees: bool,
        online: OnlineCounts,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Session, ServiceError> {
        let fingerprint = new.fingerprint(participants, include_accepted_invitees);
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            // Take the topic's row lock (without changing it) so that it cannot be withdrawn meanwhile.
            let topic_status: Option<i32> = on_tx!(&mut tx, conn => {
                sqlx::query_scalar("UPDATE topic SET status = status WHERE id = $1 RETURNING status")
                    .bind(&new.topic_id)
                    .fetch_optional(&mut **conn)
                    .await
            })?;
            match topic_status {
                None => {
                    return Err(ServiceError::invalid(
                        "session.topic_id",
                        format!("topic {} does not exist", new.topic_id),
                    ));
                }
                Some(TOPIC_WITHDRAWN) => {
                    return Err(ServiceError::FailedPrecondition(format!(
                        "topic {} is WITHDRAWN: no session can be scheduled on it",
                        new.topic_id
                    )));
                }
                Some(_) => {}
            }
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO session (id, topic_id, title, format, venue, start_time, end_time, status, campaign_id, \
                     online_participant_count, online_post_count, version, request_id, request_payload, created_by, \
                     create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, $15, $15)",
                )
                .bind(&id)
                .bind(&new.topic_id)
                .bind(&new.title)
                .bind(new.format.as_i32())
                .bind(&new.venue)
                .bind(new.start_time)
                .bind(new.end_time)
                .bind(SessionStatus::Scheduled.as_i32())
                .bind(new.campaign_id.as_deref().unwrap_or_default())
                .bind(i32::try_from(online.participants).unwrap_or(i32::MAX))
                .bind(i32::try_from(online.posts).unwrap_or(i32::MAX))
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            let accepted = accepted_invitations(&mut tx, &new.topic_id).await?;
            check_invitations(participants, &accepted, "session.participants")?;
            check_distinct_participants(participants, &[], "session.participants")?;
            let mut all = participants.to_vec();
            if include_accepted_invitees {
                for invitation in &accepted {
                    let Some(invitee) = NewParticipant::from_invitation(
                        &invitation.id,
                        invitation.invitee_kind,
                        &invitation.invitee_id,
                        &invitation.display_name,
                    ) else {
                        continue;
                    };
                    let present = all.iter().any(|p| {
                        p.invitation_id == invitee.invitation_id
                            || (!invitee.person_id.is_empty() && p.person_id == invitee.person_id)
                    });
                    if !present {
                        all.push(invitee);
                    }
                }
            }
            insert_participants(&mut tx, &id, &all).await?;
            let session = load_session(&mut tx, &id).await?;
            tx.commit().await?;
            Ok(session)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    let found: Option<(String, Option<String>)> = tingjian_runtime::on_pool!(&self.db, pool => {
                        sqlx::query_as("SELECT id, request_payload FROM session WHERE request_id = $1")
                            .bind(&request_id)
                            .fetch_optional(pool)
                            .await
                    })?;
                    match found {
                        None => Ok(None),
                        Some((id, payload)) if payload.as_deref() == Some(fingerprint.as_str()) => {
                            self.get_session(&id).await.map(Some)
                        }
                        Some((id, _)) => Err(ServiceError::AlreadyExists(format!(
                            "request_id {request_id} was already used to schedule session {id} from a different request"
                        ))),
                    }
                }
            },
            insert,
            || ServiceError::AlreadyExists("the session conflicts with an existing one".into()),
        )
        .await
    }

    /// A session by id, with its participants, conclusions and statistics.
    pub async fn get_session(&self, id: &str) -> Result<Session, ServiceError> {
        let mut tx = self.db.begin().await?;
        let session = load_session(&mut tx, id).await;
        tx.rollback().await?;
        session
    }

    /// Sessions matching `filter`, newest start first, one page; with the next page's token.
    pub async fn list_sessions(
        &self,
        filter: &SessionFilter,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Session>, String), ServiceError> {
        let digest = filter.digest();
        let page = PageRequest::parse(page_size, page_token, SESSIONS_LIST, &digest, 2)?;
        let mut c = Conditions::default();
        if let Some(topic_id) = &filter.topic_id {
            let p = c.arg(Arg::Text(topic_id.clone()));
            c.push(format!("s.topic_id = {p}"));
        }
        if let Some(format) = filter.format {
            let p = c.arg(Arg::Int(format.as_i32()));
            c.push(format!("s.format = {p}"));
        }
        if !filter.statuses.is_empty() {
            let ps: Vec<String> = filter.statuses.iter().map(|s| c.arg(Arg::Int(s.as_i32()))).collect();
            c.push(format!("s.status IN ({})", ps.join(", ")));
        }
        if let Some((start, end)) = filter.start_range {
            let a = c.arg(Arg::Time(start));
            let b = c.arg(Arg::Time(end));
            c.push(format!("s.start_time >= {a} AND s.start_time < {b}"));
        }
        if let Some(after) = &page.after {
            let time = PageRequest::time_key(after, 0)?;
            let id = PageRequest::text_key(after, 1)?;
            let t = c.arg(Arg::Time(time));
            let i = c.arg(Arg::Text(id));
            c.push(format!("(s.start_time < {t} OR (s.start_time = {t} AND s.id < {i}))"));
        }
        let limit = c.arg(Arg::BigInt(i64::try_from(page.size + 1).unwrap_or(i64::MAX)));
        let sql = format!("{SELECT_SESSION}{} ORDER BY s.start_time DESC, s.id DESC LIMIT {limit}", c.where_sql());
        let mut tx = self.db.begin().await?;
        let rows: Vec<SessionRow> = on_tx!(&mut tx, conn => {
            bind_args!(sqlx::query_as::<_, SessionRow>(&sql), &c.args).fetch_all(&mut **conn).await
        })?;
        let rows = Page::from_rows(rows, page.size, |r| vec![time_key(r.start_time), r.id.clone()]);
        let token = rows.next_token(SESSIONS_LIST, &digest);
        let sessions = assemble(&mut tx, rows.items).await;
        tx.rollback().await?;
        Ok((sessions?, token))
    }

    /// Changes a session's schedule (see [`SessionChanges::apply`]); an open session only. The etag is
    /// checked when given; `online` replaces the stored campaign counts when given.
    pub async fn update_session(
        &self,
        id: &str,
        changes: &SessionChanges,
        online: Option<OnlineCounts>,
        expected_version: Option<i64>,
    ) -> Result<Session, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let current_row = bump_session(&mut tx, id, now).await?;
        current_row.check_etag(expected_version)?;
        require_open(id, current_row.status()?, "change")?;
        let current = load_session(&mut tx, id).await?;
        let next = changes.apply(&current, "session")?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE session SET title = $2, venue = $3, start_time = $4, end_time = $5, campaign_id = $6 WHERE id = $1")
                .bind(id)
                .bind(&next.title)
                .bind(&next.venue)
                .bind(next.start_time)
                .bind(next.end_time)
                .bind(next.campaign_id.as_deref().unwrap_or_default())
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        if let Some(counts) = online {
            set_online_counts(&mut tx, id, counts).await?;
        }
        let session = load_session(&mut tx, id).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Adds participants to an open session (each person, and each invitation, once).
    pub async fn add_participants(&self, id: &str, participants: &[NewParticipant]) -> Result<Session, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let row = bump_session(&mut tx, id, now).await?;
        require_open(id, row.status()?, "take new participants")?;
        let existing = participants_of(&mut tx, id).await?;
        check_distinct_participants(participants, &existing, "participants")?;
        if participants.iter().any(|p| !p.invitation_id.is_empty()) {
            let accepted = accepted_invitations(&mut tx, &row.topic_id).await?;
            check_invitations(participants, &accepted, "participants")?;
        }
        insert_participants(&mut tx, id, participants).await?;
        let session = load_session(&mut tx, id).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Removes a participant who has not spoken from an open session.
    pub async fn remove_participant(&self, id: &str, participant_id: &str) -> Result<Session, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let row = bump_session(&mut tx, id, now).await?;
        require_open(id, row.status()?, "lose participants")?;
        if !participants_of(&mut tx, id).await?.iter().any(|p| p.id == participant_id) {
            return Err(ServiceError::NotFound { resource: "participant", id: participant_id.to_owned() });
        }
        let spoken: i64 = on_tx!(&mut tx, conn => {
            sqlx::query_scalar("SELECT COUNT(*) FROM contribution WHERE session_id = $1 AND speaker_participant_id = $2")
                .bind(id)
                .bind(participant_id)
                .fetch_one(&mut **conn)
                .await
        })?;
        if spoken > 0 {
            return Err(ServiceError::FailedPrecondition(format!(
                "participant {participant_id} has spoken in session {id} ({spoken} contributions) and cannot be removed"
            )));
        }
        on_tx!(&mut tx, conn => {
            sqlx::query("DELETE FROM session_participant WHERE session_id = $1 AND id = $2")
                .bind(id)
                .bind(participant_id)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        let session = load_session(&mut tx, id).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Records a contribution to an open session, numbered after the last one; the first one puts a
    /// SCHEDULED session IN_PROGRESS. A repeated `request_id` with the same request returns the first
    /// contribution; with a different request it is ALREADY_EXISTS. Returns it with the session's
    /// statistics after it.
    pub async fn record_contribution(
        &self,
        session_id: &str,
        new: &NewContribution,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<(Contribution, ContributionStats), ServiceError> {
        let fingerprint = new.fingerprint(session_id);
        let insert = async {
            let now = now();
            let mut tx = self.db.begin().await?;
            let row = bump_session(&mut tx, session_id, now).await?;
            let status = row.status()?;
            require_open(session_id, status, "take contributions")?;
            let speaker = participants_of(&mut tx, session_id)
                .await?
                .into_iter()
                .find(|p| p.id == new.speaker_participant_id)
                .ok_or_else(|| {
                    ServiceError::invalid(
                        "contribution.speaker_participant_id",
                        format!("{} is not a participant of session {session_id}", new.speaker_participant_id),
                    )
                })?;
            if let Some(reply_to) = &new.reply_to_contribution_id {
                let found: Option<String> = on_tx!(&mut tx, conn => {
                    sqlx::query_scalar("SELECT id FROM contribution WHERE id = $1 AND session_id = $2")
                        .bind(reply_to)
                        .bind(session_id)
                        .fetch_optional(&mut **conn)
                        .await
                })?;
                if found.is_none() {
                    return Err(ServiceError::invalid(
                        "contribution.reply_to_contribution_id",
                        format!("{reply_to} is not a contribution of session {session_id}"),
                    ));
                }
            }
            let sequence: i64 = on_tx!(&mut tx, conn => {
                sqlx::query_scalar(
                    "SELECT CAST(COALESCE(MAX(sequence), 0) + 1 AS BIGINT) FROM contribution WHERE session_id = $1",
                )
                .bind(session_id)
                .fetch_one(&mut **conn)
                .await
            })?;
            let sequence = i32::try_from(sequence).map_err(|_| {
                ServiceError::FailedPrecondition(format!("session {session_id} has too many contributions"))
            })?;
            let id = tingjian_runtime::wire::new_id();
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO contribution (id, session_id, sequence, kind, speaker_participant_id, speaker_role, \
                     speaker_display_name, text, reply_to_contribution_id, speak_time, recorded_by, request_id, \
                     request_payload, create_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                )
                .bind(&id)
                .bind(session_id)
                .bind(sequence)
                .bind(new.kind.as_i32())
                .bind(&speaker.id)
                .bind(speaker.role.as_i32())
                .bind(&speaker.display_name)
                .bind(&new.text)
                .bind(new.reply_to_contribution_id.as_deref())
                .bind(new.speak_time.map(|t| t.trunc_subsecs(6)).unwrap_or(now))
                .bind(actor)
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            if status == SessionStatus::Scheduled {
                on_tx!(&mut tx, conn => {
                    sqlx::query("UPDATE session SET status = $2 WHERE id = $1")
                        .bind(session_id)
                        .bind(SessionStatus::InProgress.as_i32())
                        .execute(&mut **conn)
                        .await
                        .map(|_| ())
                })?;
            }
            let contribution = contribution_in(&mut tx, &id).await?;
            let stats = stats_of(&mut tx, session_id).await?;
            tx.commit().await?;
            Ok((contribution, stats))
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    let mut tx = self.db.begin().await?;
                    let found: Option<(String, String, Option<String>)> = on_tx!(&mut tx, conn => {
                        sqlx::query_as("SELECT id, session_id, request_payload FROM contribution WHERE request_id = $1")
                            .bind(&request_id)
                            .fetch_optional(&mut **conn)
                            .await
                    })?;
                    let result = match found {
                        None => Ok(None),
                        Some((id, session, payload)) if payload.as_deref() == Some(fingerprint.as_str()) => {
                            let contribution = contribution_in(&mut tx, &id).await?;
                            Ok(Some((contribution, stats_of(&mut tx, &session).await?)))
                        }
                        Some((id, _, _)) => Err(ServiceError::AlreadyExists(format!(
                            "request_id {request_id} was already used to record contribution {id} from a different request"
                        ))),
                    };
                    tx.rollback().await?;
                    result
                }
            },
            insert,
            || ServiceError::AlreadyExists("the contribution conflicts with an existing one".into()),
        )
        .await
    }

    /// A session's contributions of `kind` (any when `None`), in sequence order, one page; with the
    /// next page's token.
    pub async fn list_contributions(
        &self,
        session_id: &str,
        kind: Option<ContributionKind>,
        page_size: i32,
        page_token: &str,
    ) -> Result<(Vec<Contribution>, String), ServiceError> {
        let digest = format!("{session_id}/{}", kind.map_or(0, ContributionKind::as_i32));
        let page = PageRequest::parse(page_size, page_token, CONTRIBUTIONS_LIST, &digest, 1)?;
        let mut tx = self.db.begin().await?;
        if session_row(&mut tx, session_id).await?.is_none() {
            tx.rollback().await?;
            return Err(session_not_found(session_id));
        }
        let mut c = Conditions::default();
        let p = c.arg(Arg::Text(session_id.to_owned()));
        c.push(format!("c.session_id = {p}"));
        if let Some(kind) = kind {
            let p = c.arg(Arg::Int(kind.as_i32()));
            c.push(format!("c.kind = {p}"));
        }
        if let Some(after) = &page.after {
            let sequence = i32::try_from(PageRequest::int_key(after, 0)?)
                .map_err(|_| ServiceError::invalid("page_token", "is not a token of this list"))?;
            let p = c.arg(Arg::Int(sequence));
            c.push(format!("c.sequence > {p}"));
        }
        let limit = c.arg(Arg::BigInt(i64::try_from(page.size + 1).unwrap_or(i64::MAX)));
        let sql = format!("{SELECT_CONTRIBUTION}{} ORDER BY c.sequence LIMIT {limit}", c.where_sql());
        let rows: Vec<ContributionRow> = on_tx!(&mut tx, conn => {
            bind_args!(sqlx::query_as::<_, ContributionRow>(&sql), &c.args).fetch_all(&mut **conn).await
        })?;
        tx.rollback().await?;
        let page = Page::from_rows(rows, page.size, |r| vec![r.sequence.to_string()]);
        let token = page.next_token(CONTRIBUTIONS_LIST, &digest);
        let contributions = page.items.into_iter().map(Contribution::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok((contributions, token))
    }

    /// Closes an open session with minutes, attendance and conclusions, and records SessionClosed in the
    /// same transaction. An interactive session with fewer than 2 entrepreneurs who spoke is
    /// FAILED_PRECONDITION; `online` freezes the campaign counts when given.
    pub async fn close_session(
        &self,
        id: &str,
        closing: &Closing,
        online: Option<OnlineCounts>,
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<Session, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let row = bump_session(&mut tx, id, now).await?;
        row.check_etag(expected_version)?;
        require_open(id, row.status()?, "close")?;
        let participants = participants_of(&mut tx, id).await?;
        let mut v = tingjian_runtime::error::Violations::new();
        for (i, attended) in closing.attended_participant_ids.iter().enumerate() {
            if !participants.iter().any(|p| &p.id == attended) {
                v.add(
                    format!("attended_participant_ids[{i}]"),
                    format!("{attended} is not a participant of session {id}"),
                );
            }
        }
        v.finish()?;
        check_closable(row.format()?, &stats_of(&mut tx, id).await?)?;
        let attendee_count = i32::try_from(closing.attended_participant_ids.len()).unwrap_or(i32::MAX);
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE session SET status = $2, minutes = $3, attendee_count = $4, close_time = $5, closed_by = $6 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(SessionStatus::Closed.as_i32())
            .bind(&closing.minutes)
            .bind(attendee_count)
            .bind(now)
            .bind(actor)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
        if let Some(counts) = online {
            set_online_counts(&mut tx, id, counts).await?;
        }
        for attended in &closing.attended_participant_ids {
            on_tx!(&mut tx, conn => {
                sqlx::query("UPDATE session_participant SET attended = $3 WHERE session_id = $1 AND id = $2")
                    .bind(id)
                    .bind(attended)
                    .bind(true)
                    .execute(&mut **conn)
                    .await
                    .map(|_| ())
            })?;
        }
        for (position, text) in closing.conclusions.iter().enumerate() {
            on_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO session_conclusion (session_id, position, text) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(i32::try_from(position + 1).unwrap_or(i32::MAX))
                    .bind(text)
                    .execute(&mut **conn)
                    .await
                    .map(|_| ())
            })?;
        }
        let session = load_session(&mut tx, id).await?;
        record_closed(&mut tx, &session, actor).await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Cancels an open session with a reason.
    pub async fn cancel_session(
        &self,
        id: &str,
        reason: &str,
        expected_version: Option<i64>,
    ) -> Result<Session, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let row = bump_session(&mut tx, id, now).await?;
        row.check_etag(expected_version)?;
        require_open(id, row.status()?, "be cancelled")?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE session SET status = $2, cancel_reason = $3 WHERE id = $1")
                .bind(id)
                .bind(SessionStatus::Cancelled.as_i32())
                .bind(reason)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        let session = load_session(&mut tx, id).await?;
        tx.commit().await?;
        Ok(session)
    }
}

async fn contribution_in(tx: &mut Tx, id: &str) -> Result<Contribution, ServiceError> {
    let sql = format!("{SELECT_CONTRIBUTION} WHERE c.id = $1");
    let row: Option<ContributionRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, ContributionRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    row.ok_or_else(|| ServiceError::NotFound { resource: "contribution", id: id.to_owned() })?.try_into()
}
