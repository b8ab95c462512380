//! Stored suggestions (协商建议) with their common issues, recipients and response; each change with its
//! event in one transaction. Also the reads of the topic and session tables a draft is resolved against.
//!
//! Every change first bumps the suggestion's revision (which locks its row on both backends), then
//! checks the caller's etag against the revision before the bump and the status, so two concurrent
//! changes never both pass their checks.

use chrono::{DateTime, SubsecRound, Utc};
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::paging::{PageCursor, time_key};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::{FieldViolation, ServiceError, on_pool, on_tx};

use super::Store;
use crate::domain::suggestion::{
    Feedback, NewFeedback, NewSuggestion, Organisation, Recipient, Suggestion, SuggestionChanges, SuggestionFilter,
    SuggestionStatus,
};

/// The service name events are recorded under.
pub(super) const SERVICE: &str = "consultation";
/// Page-token tag of ListSuggestions.
const SUGGESTIONS_TOKEN: &str = "suggestions/1";
/// Status number of a withdrawn topic (TopicStatus.TOPIC_STATUS_WITHDRAWN).
const TOPIC_WITHDRAWN: i32 = 3;
/// Status number of a cancelled session (SessionStatus.SESSION_STATUS_CANCELLED).
const SESSION_CANCELLED: i32 = 4;

/// The current instant, at the precision both backends store.
pub(super) fn now() -> DateTime<Utc> {
    tingjian_runtime::clock::now().trunc_subsecs(6)
}

/// A page-token problem as INVALID_ARGUMENT.
pub(super) fn invalid_token(v: FieldViolation) -> ServiceError {
    ServiceError::InvalidArgument(vec![v])
}

/// Bumps the revision of row `id` of `table` (locking it) at `now`; whether the row exists.
pub(super) async fn bump_version(tx: &mut Tx, table: &str, id: &str, now: DateTime<Utc>) -> Result<bool, ServiceError> {
    let sql = format!("UPDATE {table} SET version = version + 1, update_time = $2 WHERE id = $1");
    let changed = on_tx!(tx, conn => {
        sqlx::query(&sql).bind(id).bind(now).execute(&mut **conn).await.map(|done| done.rows_affected())
    })?;
    Ok(changed > 0)
}

/// ABORTED unless the caller's etag (when given) names `version - 1`, the revision before this
/// transaction's bump.
pub(super) fn check_etag(resource: &str, id: &str, version: i64, expected: Option<i64>) -> Result<(), ServiceError> {
    match expected {
        Some(expected) if expected != version - 1 => Err(ServiceError::Aborted(format!(
            "{resource} {id} has changed since it was read (its etag is now v{}); re-read it and retry",
            version - 1
        ))),
        _ => Ok(()),
    }
}

fn not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "suggestion", id: id.to_owned() }
}

fn subject(id: &str) -> String {
    format!("suggestions/{id}")
}

#[derive(sqlx::FromRow)]
struct SuggestionRow {
    id: String,
    session_id: Option<String>,
    topic_id: String,
    title: String,
    text: String,
    category: String,
    status: i32,
    submit_time: Option<DateTime<Utc>>,
    feedback_text: Option<String>,
    responder_id: String,
    responder_name: String,
    responder_kind: i32,
    response_time: Option<DateTime<Utc>>,
    feedback_recorded_by: Option<String>,
    case_id: Option<String>,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_SUGGESTION: &str = "SELECT s.id, s.session_id, s.topic_id, s.title, s.text, s.category, s.status, \
     s.submit_time, s.feedback_text, s.responder_id, s.responder_name, s.responder_kind, s.response_time, \
     s.feedback_recorded_by, s.case_id, s.version, s.created_by, s.create_time, s.update_time FROM suggestion s";

impl SuggestionRow {
    fn into_suggestion(
        self,
        common_issue_ids: Vec<String>,
        recipients: Vec<Recipient>,
    ) -> Result<Suggestion, ServiceError> {
        let status = SuggestionStatus::from_i32(self.status)
            .ok_or_else(|| ServiceError::internal(format!("stored suggestion {} has a bad status", self.id)))?;
        let feedback = match (self.feedback_text, self.response_time) {
            (Some(text), Some(response_time)) => Some(Feedback {
                text,
                responder: Organisation { id: self.responder_id, name: self.responder_name, kind: self.responder_kind },
                response_time,
                recorded_by: self.feedback_recorded_by.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(Suggestion {
            id: self.id,
            session_id: self.session_id,
            topic_id: self.topic_id,
            title: self.title,
            text: self.text,
            category: self.category,
            common_issue_ids,
            recipients,
            status,
            submit_time: self.submit_time,
            feedback,
            case_id: self.case_id,
            version: self.version,
            created_by: self.created_by,
            create_time: self.create_time,
            update_time: self.update_time,
        })
    }
}

/// `SELECT … WHERE <column> IN ($1, …)` over `ids`, ordered by `order`.
fn in_list(select: &str, column: &str, n: usize, order: &str) -> String {
    let marks = (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    format!("{select} WHERE {column} IN ({marks}) ORDER BY {order}")
}

/// The suggestions of `rows` with their common issues and recipients, in the order of `rows`.
async fn hydrate_pool(store: &Store, rows: Vec<SuggestionRow>) -> Result<Vec<Suggestion>, ServiceError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let issues_sql = in_list(
        "SELECT suggestion_id, common_issue_id FROM suggestion_common_issue",
        "suggestion_id",
        ids.len(),
        "suggestion_id, position",
    );
    let recipients_sql = in_list(
        "SELECT suggestion_id, recipient FROM suggestion_recipient",
        "suggestion_id",
        ids.len(),
        "suggestion_id, position",
    );
    let issues: Vec<(String, String)> = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_as(&issues_sql);
        for id in &ids {
            q = q.bind(id);
        }
        q.fetch_all(pool).await
    })?;
    let recipients: Vec<(String, i32)> = on_pool!(&store.db, pool => {
        let mut q = sqlx::query_as(&recipients_sql);
        for id in &ids {
            q = q.bind(id);
        }
        q.fetch_all(pool).await
    })?;
    assemble(rows, &issues, &recipients)
}

fn assemble(
    rows: Vec<SuggestionRow>,
    issues: &[(String, String)],
    recipients: &[(String, i32)],
) -> Result<Vec<Suggestion>, ServiceError> {
    rows.into_iter()
        .map(|row| {
            let own_issues = issues.iter().filter(|(s, _)| *s == row.id).map(|(_, i)| i.clone()).collect();
            let own_recipients = recipients
                .iter()
                .filter(|(s, _)| *s == row.id)
                .map(|(_, r)| {
                    Recipient::from_i32(*r).ok_or_else(|| {
                        ServiceError::internal(format!("stored suggestion {} has a bad recipient", row.id))
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            row.into_suggestion(own_issues, own_recipients)
        })
        .collect()
}

/// A suggestion as the transaction sees it.
pub(super) async fn suggestion_in(tx: &mut Tx, id: &str) -> Result<Option<Suggestion>, ServiceError> {
    let sql = format!("{SELECT_SUGGESTION} WHERE s.id = $1");
    let row: Option<SuggestionRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, SuggestionRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    let Some(row) = row else { return Ok(None) };
    let issues: Vec<(String, String)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "SELECT suggestion_id, common_issue_id FROM suggestion_common_issue WHERE suggestion_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&mut **conn)
        .await
    })?;
    let recipients: Vec<(String, i32)> = on_tx!(tx, conn => {
        sqlx::query_as("SELECT suggestion_id, recipient FROM suggestion_recipient WHERE suggestion_id = $1 ORDER BY position")
            .bind(id)
            .fetch_all(&mut **conn)
            .await
    })?;
    Ok(assemble(vec![row], &issues, &recipients)?.pop())
}

/// Bumps a suggestion's revision (locking it) and returns it as it is now; the caller's etag checked.
async fn lock_suggestion(
    tx: &mut Tx,
    id: &str,
    now: DateTime<Utc>,
    expected_version: Option<i64>,
) -> Result<Suggestion, ServiceError> {
    if !bump_version(tx, "suggestion", id, now).await? {
        return Err(not_found(id));
    }
    let current = suggestion_in(tx, id).await?.ok_or_else(|| not_found(id))?;
    check_etag("suggestion", id, current.version, expected_version)?;
    Ok(current)
}

async fn write_common_issues(tx: &mut Tx, id: &str, common_issue_ids: &[String]) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query("DELETE FROM suggestion_common_issue WHERE suggestion_id = $1")
            .bind(id)
            .execute(&mut **conn)
            .await
            .map(|_| ())
    })?;
    for (position, issue) in common_issue_ids.iter().enumerate() {
        let position = i32::try_from(position).unwrap_or(i32::MAX);
        on_tx!(tx, conn => {
            sqlx::query(
                "INSERT INTO suggestion_common_issue (suggestion_id, common_issue_id, position) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(issue)
            .bind(position)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
    }
    Ok(())
}

/// What a draft is resolved against: a topic's status and common issues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicBasis {
    /// TopicStatus number of the contract.
    pub status: i32,
    /// The topic's common issues, in order.
    pub common_issue_ids: Vec<String>,
}

impl TopicBasis {
    /// Whether the topic was withdrawn.
    pub fn withdrawn(&self) -> bool {
        self.status == TOPIC_WITHDRAWN
    }
}

impl Store {
    /// A topic's status and common issues; `None` when there is no such topic.
    pub async fn topic_basis(&self, topic_id: &str) -> Result<Option<TopicBasis>, ServiceError> {
        let status: Option<i32> = on_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT status FROM topic WHERE id = $1").bind(topic_id).fetch_optional(pool).await
        })?;
        let Some(status) = status else { return Ok(None) };
        let common_issue_ids: Vec<String> = on_pool!(&self.db, pool => {
            sqlx::query_scalar("SELECT common_issue_id FROM topic_common_issue WHERE topic_id = $1 ORDER BY position")
                .bind(topic_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(Some(TopicBasis { status, common_issue_ids }))
    }

    /// A session's topic and whether it was cancelled; `None` when there is no such session.
    pub async fn session_topic(&self, session_id: &str) -> Result<Option<(String, bool)>, ServiceError> {
        let row: Option<(String, i32)> = on_pool!(&self.db, pool => {
            sqlx::query_as("SELECT topic_id, status FROM session WHERE id = $1").bind(session_id).fetch_optional(pool).await
        })?;
        Ok(row.map(|(topic, status)| (topic, status == SESSION_CANCELLED)))
    }

    /// Drafts a suggestion. A repeated `request_id` with the same request (`fingerprint`) returns the
    /// first suggestion; with a different request it is ALREADY_EXISTS.
    pub async fn create_suggestion(
        &self,
        new: &NewSuggestion,
        fingerprint: &str,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Suggestion, ServiceError> {
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO suggestion (id, session_id, topic_id, title, text, category, status, version, \
                     request_id, request_payload, created_by, create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9, $10, $11, $11)",
                )
                .bind(&id)
                .bind(new.session_id.as_deref())
                .bind(&new.topic_id)
                .bind(&new.title)
                .bind(&new.text)
                .bind(&new.category)
                .bind(SuggestionStatus::Draft.as_i32())
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            write_common_issues(&mut tx, &id, &new.common_issue_ids).await?;
            let suggestion = suggestion_in(&mut tx, &id).await?.ok_or_else(|| not_found(&id))?;
            tx.commit().await?;
            Ok(suggestion)
        };
        create_once(
            request_id,
            |request_id| async move { self.suggestion_by_request(&request_id, fingerprint).await },
            insert,
            || ServiceError::AlreadyExists("the suggestion conflicts with an existing one".into()),
        )
        .await
    }

    /// The suggestion drafted with `request_id`, if any, when it was drafted from the same request
    /// (`fingerprint`); ALREADY_EXISTS when the request id was used for a different request.
    pub async fn suggestion_by_request(
        &self,
        request_id: &str,
        fingerprint: &str,
    ) -> Result<Option<Suggestion>, ServiceError> {
        match self.created_for_request("suggestion", "draft suggestion", request_id, fingerprint).await? {
            Some(id) => self.get_suggestion(&id).await.map(Some),
            None => Ok(None),
        }
    }

    /// A suggestion by id.
    pub async fn get_suggestion(&self, id: &str) -> Result<Suggestion, ServiceError> {
        let sql = format!("{SELECT_SUGGESTION} WHERE s.id = $1");
        let row: Option<SuggestionRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        let row = row.ok_or_else(|| not_found(id))?;
        hydrate_pool(self, vec![row]).await?.pop().ok_or_else(|| not_found(id))
    }

    /// Which of `ids` are not suggestions, by their index in `ids`.
    pub async fn missing_suggestions(&self, ids: &[String]) -> Result<Vec<usize>, ServiceError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = in_list("SELECT id FROM suggestion", "id", ids.len(), "id");
        let found: Vec<String> = on_pool!(&self.db, pool => {
            let mut q = sqlx::query_scalar(&sql);
            for id in ids {
                q = q.bind(id);
            }
            q.fetch_all(pool).await
        })?;
        Ok(ids.iter().enumerate().filter(|(_, id)| !found.contains(id)).map(|(i, _)| i).collect())
    }

    /// Suggestions matching `filter`, oldest first, a page of at most `page_size` after `page_token`;
    /// with the next page's token.
    pub async fn list_suggestions(
        &self,
        filter: &SuggestionFilter,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<Suggestion>, String), ServiceError> {
        let cursor = PageCursor::decode(page_token, SUGGESTIONS_TOKEN, 2, "page_token").map_err(invalid_token)?;
        let after = match &cursor {
            Some(c) => Some((c.time(0, "page_token").map_err(invalid_token)?, c.keys[1].clone())),
            None => None,
        };
        let mut clauses = vec![
            "($1 IS NULL OR s.session_id = $1)".to_owned(),
            "($2 IS NULL OR s.topic_id = $2)".to_owned(),
            "($3 IS NULL OR s.submit_time >= $3)".to_owned(),
            "($4 IS NULL OR s.submit_time < $4)".to_owned(),
            "($5 IS NULL OR s.create_time > $5 OR (s.create_time = $5 AND s.id > $6))".to_owned(),
        ];
        if !filter.statuses.is_empty() {
            let numbers: Vec<String> = filter.statuses.iter().map(|s| s.as_i32().to_string()).collect();
            clauses.push(format!("s.status IN ({})", numbers.join(", ")));
        }
        let limit = i64::try_from(page_size + 1).unwrap_or(i64::MAX);
        let sql =
            format!("{SELECT_SUGGESTION} WHERE {} ORDER BY s.create_time, s.id LIMIT {limit}", clauses.join(" AND "));
        let (start, end) = match filter.submitted {
            Some((start, end)) => (Some(start), Some(end)),
            None => (None, None),
        };
        let (after_time, after_id) = match after {
            Some((t, id)) => (Some(t), Some(id)),
            None => (None, None),
        };
        let mut rows: Vec<SuggestionRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql)
                .bind(filter.session_id.as_deref())
                .bind(filter.topic_id.as_deref())
                .bind(start)
                .bind(end)
                .bind(after_time)
                .bind(after_id.as_deref())
                .fetch_all(pool)
                .await
        })?;
        let token = PageCursor::next_page(&mut rows, page_size, SUGGESTIONS_TOKEN, |r| {
            vec![time_key(r.create_time), r.id.clone()]
        });
        Ok((hydrate_pool(self, rows).await?, token))
    }

    /// Changes a draft suggestion (see [`SuggestionChanges::apply`]); the etag is checked when given.
    pub async fn update_suggestion(
        &self,
        id: &str,
        changes: &SuggestionChanges,
        expected_version: Option<i64>,
    ) -> Result<Suggestion, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let current = lock_suggestion(&mut tx, id, now, expected_version).await?;
        let next = changes.apply(&current)?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE suggestion SET title = $2, text = $3, category = $4 WHERE id = $1")
                .bind(id)
                .bind(&next.title)
                .bind(&next.text)
                .bind(&next.category)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        if changes.common_issue_ids.is_some() {
            write_common_issues(&mut tx, id, &next.common_issue_ids).await?;
        }
        let updated = suggestion_in(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        tx.commit().await?;
        Ok(updated)
    }

    /// Submits a draft suggestion to `recipients`, with the SuggestionSubmitted event.
    pub async fn submit_suggestion(
        &self,
        id: &str,
        recipients: &[Recipient],
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<Suggestion, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let current = lock_suggestion(&mut tx, id, now, expected_version).await?;
        current.check_draft("only a DRAFT suggestion can be submitted")?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE suggestion SET status = $2, submit_time = $3, submitted_by = $4 WHERE id = $1")
                .bind(id)
                .bind(SuggestionStatus::Submitted.as_i32())
                .bind(now)
                .bind(actor)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        for (position, recipient) in recipients.iter().enumerate() {
            let position = i32::try_from(position).unwrap_or(i32::MAX);
            on_tx!(&mut tx, conn => {
                sqlx::query("INSERT INTO suggestion_recipient (suggestion_id, recipient, position) VALUES ($1, $2, $3)")
                    .bind(id)
                    .bind(recipient.as_i32())
                    .bind(position)
                    .execute(&mut **conn)
                    .await
                    .map(|_| ())
            })?;
        }
        let payload = pb::SuggestionSubmitted {
            suggestion_id: id.to_owned(),
            session_id: current.session_id.clone().unwrap_or_default(),
            topic_id: current.topic_id.clone(),
            title: current.title.clone(),
            category: current.category.clone(),
            common_issue_ids: current.common_issue_ids.clone(),
            recipients: recipients.iter().map(|r| r.as_i32()).collect(),
            actor: actor.to_owned(),
        };
        let event = NewEvent::new(
            "suggestion_submitted",
            subject(id),
            "tingjian.consultation.v1.SuggestionSubmitted",
            &payload,
        );
        events::record(&mut tx, SERVICE, event).await?;
        let submitted = suggestion_in(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        tx.commit().await?;
        Ok(submitted)
    }

    /// Records the response to a submitted suggestion (replacing an earlier one), with the
    /// SuggestionFeedbackRecorded event.
    pub async fn record_suggestion_feedback(
        &self,
        id: &str,
        feedback: &NewFeedback,
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<Suggestion, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let current = lock_suggestion(&mut tx, id, now, expected_version).await?;
        current.check_can_respond()?;
        on_tx!(&mut tx, conn => {
            sqlx::query(
                "UPDATE suggestion SET status = $2, feedback_text = $3, responder_id = $4, responder_name = $5, \
                 responder_kind = $6, response_time = $7, feedback_recorded_by = $8 WHERE id = $1",
            )
            .bind(id)
            .bind(SuggestionStatus::Responded.as_i32())
            .bind(&feedback.text)
            .bind(&feedback.responder.id)
            .bind(&feedback.responder.name)
            .bind(feedback.responder.kind)
            .bind(feedback.response_time)
            .bind(actor)
            .execute(&mut **conn)
            .await
            .map(|_| ())
        })?;
        let payload = pb::SuggestionFeedbackRecorded {
            suggestion_id: id.to_owned(),
            responder: Some(tingjian_proto::common::v1::OrganisationRef {
                id: feedback.responder.id.clone(),
                name: feedback.responder.name.clone(),
                kind: feedback.responder.kind,
            }),
            actor: actor.to_owned(),
        };
        let event = NewEvent::new(
            "suggestion_feedback_recorded",
            subject(id),
            "tingjian.consultation.v1.SuggestionFeedbackRecorded",
            &payload,
        );
        events::record(&mut tx, SERVICE, event).await?;
        let responded = suggestion_in(&mut tx, id).await?.ok_or_else(|| not_found(id))?;
        tx.commit().await?;
        Ok(responded)
    }
}
