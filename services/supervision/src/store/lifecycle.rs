//! The verbs after dispatch in the store: each locks the case, checks who calls it, the caller's etag and
//! the case's status, applies the domain's transition, appends its history entries and records its event,
//! all in one transaction (nothing is half-written).

use chrono::{DateTime, Datelike as _, Utc};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::storage::Tx;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{Caller, ServiceError};

use super::Store;
use super::benefit::{benefit_note, insert_benefit, record_benefit_event};
use super::write::{HistoryNote, NewEscalation, commit_case_change, insert_escalation, lock_case, record_case_event};
use crate::convert::context;
use crate::domain::benefit::NewBenefit;
use crate::domain::lifecycle::{
    self as rules, CaseChanges, ESCALATION_REASON_DISSATISFIED_AGAIN, ESCALATION_REASON_MANUAL,
    EVALUATION_DISSATISFIED, EvaluationInput, ReassignDraft, Reassignment, ReplyInput, Verb,
};
use crate::domain::{Case, CaseAction, Unit, WorkingCalendar};

/// What an evaluation did to the case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluated {
    /// The case after it.
    pub case: Case,
    /// Dissatisfied: the case was reopened.
    pub reopened: bool,
    /// The case was also escalated.
    pub escalated: bool,
}

/// A chrono span as a protobuf duration.
fn duration(d: chrono::TimeDelta) -> prost_types::Duration {
    prost_types::Duration { seconds: d.num_seconds(), nanos: d.subsec_nanos() }
}

/// A history note of `action` by `caller` moving the case from `before` to `after`.
fn note(action: CaseAction, before: &Case, after: &Case, caller: &Caller, now: DateTime<Utc>) -> HistoryNote {
    HistoryNote::new(action, before.status, after.status, &caller.subject, &caller.organisation, now)
}

impl Store {
    /// Begins the step `verb` on case `id` by `caller`: locks the case, then checks that the caller may act
    /// on it (NOT_FOUND when they may not even see it), their etag (`expected` revision, ABORTED when
    /// stale) and the case's status (FAILED_PRECONDITION).
    async fn begin_lifecycle_step(
        &self,
        id: &str,
        expected: Option<i64>,
        caller: &Caller,
        verb: Verb,
        now: DateTime<Utc>,
    ) -> Result<(Tx, Case), ServiceError> {
        let mut tx = self.database().begin().await?;
        let before = lock_case(&mut tx, id, None, now).await?;
        verb.authorize(&before, caller)?;
        rules::check_etag(&before, expected)?;
        verb.check_status(&before)?;
        Ok((tx, before))
    }

    /// The working calendar over the years case `id`'s deadline rules may count on: from its dispatch (or
    /// `now`) to a year past its deadline (or `later`).
    async fn lifecycle_calendar(
        &self,
        id: &str,
        later: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<WorkingCalendar, ServiceError> {
        let case = self.get_case(id).await?;
        let first = case.dispatch_time.min(now).year();
        let last = case.deadline_time.max(later).year().saturating_add(1);
        self.working_calendar(first..=last.max(first)).await
    }

    /// UpdateCase: changes the fields named in `changes` with `reason`.
    pub async fn update_case(
        &self,
        id: &str,
        expected: Option<i64>,
        changes: &CaseChanges,
        reason: &str,
        caller: &Caller,
    ) -> Result<Case, ServiceError> {
        let now = self.now();
        let new_deadline = changes.fields.contains(&"deadline_time").then_some(changes.deadline_time).flatten();
        let calendar = match new_deadline {
            Some(deadline) => self.lifecycle_calendar(id, deadline, now).await?,
            None => WorkingCalendar::new(std::iter::empty()),
        };
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::Update, now).await?;
        let mut after = before.clone();
        let outcome = rules::apply_update(&mut after, changes, now, &self.settings().escalation_ladder, &calendar)?;
        let mut notes = vec![note(CaseAction::Updated, &before, &after, caller, now).reason(reason)];
        if outcome.became_long_running {
            notes.push(note(CaseAction::BecameLongRunning, &after, &after, caller, now));
        }
        let case = commit_case_change(&mut tx, &before, &after, &notes).await?;
        let payload = pb::CaseUpdated {
            context: Some(context(&case)),
            changed_fields: outcome.changed_fields.iter().map(|f| (*f).to_owned()).collect(),
            reason: reason.to_owned(),
            actor: caller.subject.clone(),
        };
        record_case_event(&mut tx, "case_updated", &case.id, "tingjian.supervision.v1.CaseUpdated", &payload).await?;
        if outcome.became_long_running {
            let payload = pb::CaseBecameLongRunning {
                context: Some(context(&case)),
                since_time: case.long_running_since_time.map(timestamp),
            };
            record_case_event(
                &mut tx,
                "case_became_long_running",
                &case.id,
                "tingjian.supervision.v1.CaseBecameLongRunning",
                &payload,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(case)
    }

    /// AcceptCase: the lead unit accepts a dispatched case, with an optional `note`.
    pub async fn accept_case(
        &self,
        id: &str,
        expected: Option<i64>,
        text: &str,
        caller: &Caller,
    ) -> Result<Case, ServiceError> {
        let now = self.now();
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::Accept, now).await?;
        let mut after = before.clone();
        rules::accept(&mut after, now);
        let notes = [note(CaseAction::Accepted, &before, &after, caller, now).text(text)];
        let case = commit_case_change(&mut tx, &before, &after, &notes).await?;
        let payload = pb::CaseAccepted { context: Some(context(&case)), actor: caller.subject.clone() };
        record_case_event(&mut tx, "case_accepted", &case.id, "tingjian.supervision.v1.CaseAccepted", &payload).await?;
        tx.commit().await?;
        Ok(case)
    }

    /// ReturnCase: the lead unit returns a dispatched case within its return window, with `reason` and the
    /// unit it suggests instead, if any.
    pub async fn return_case(
        &self,
        id: &str,
        expected: Option<i64>,
        reason: &str,
        suggested: Option<&Unit>,
        caller: &Caller,
    ) -> Result<Case, ServiceError> {
        let now = self.now();
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::Return, now).await?;
        let mut after = before.clone();
        rules::return_case(&mut after, reason, now)?;
        let text = suggested
            .map(|u| {
                if u.name.is_empty() {
                    format!("建议改交：{}", u.id)
                } else {
                    format!("建议改交：{}（{}）", u.name, u.id)
                }
            })
            .unwrap_or_default();
        let notes = [note(CaseAction::Returned, &before, &after, caller, now).reason(reason).text(text)];
        let case = commit_case_change(&mut tx, &before, &after, &notes).await?;
        let payload = pb::CaseReturned {
            context: Some(context(&case)),
            reason: reason.to_owned(),
            actor: caller.subject.clone(),
        };
        record_case_event(&mut tx, "case_returned", &case.id, "tingjian.supervision.v1.CaseReturned", &payload).await?;
        tx.commit().await?;
        Ok(case)
    }

    /// ReassignCase: a returned case goes to another lead unit; the clock restarts now.
    pub async fn reassign_case(
        &self,
        id: &str,
        expected: Option<i64>,
        draft: &ReassignDraft,
        caller: &Caller,
    ) -> Result<Case, ServiceError> {
        let now = self.now();
        let calendar = self.working_calendar(now.year()..=now.year() + 2).await?;
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::Reassign, now).await?;
        let reassignment = Reassignment::parse(&before, draft)?;
        let schedule = rules::reassignment_schedule(&reassignment, now, &calendar)?;
        let mut after = before.clone();
        let previous = rules::reassign(&mut after, &reassignment, &schedule);
        let notes = [note(CaseAction::Reassigned, &before, &after, caller, now).reason(reassignment.reason.as_str())];
        let case = commit_case_change(&mut tx, &before, &after, &notes).await?;
        let payload = pb::CaseReassigned {
            context: Some(context(&case)),
            previous_lead_unit: Some(crate::convert::unit(&previous)),
            reason: reassignment.reason.clone(),
            actor: caller.subject.clone(),
        };
        record_case_event(&mut tx, "case_reassigned", &case.id, "tingjian.supervision.v1.CaseReassigned", &payload)
            .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// RecordProgress: the lead unit records what it did.
    pub async fn record_progress(
        &self,
        id: &str,
        expected: Option<i64>,
        text: &str,
        caller: &Caller,
    ) -> Result<Case, ServiceError> {
        let now = self.now();
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::RecordProgress, now).await?;
        let mut after = before.clone();
        rules::record_progress(&mut after, now);
        let notes = [note(CaseAction::ProgressRecorded, &before, &after, caller, now).text(text)];
        let case = commit_case_change(&mut tx, &before, &after, &notes).await?;
        let payload = pb::CaseProgressRecorded {
            context: Some(context(&case)),
            text: text.to_owned(),
            actor: caller.subject.clone(),
        };
        record_case_event(
            &mut tx,
            "case_progress_recorded",
            &case.id,
            "tingjian.supervision.v1.CaseProgressRecorded",
            &payload,
        )
        .await?;
        tx.commit().await?;
        Ok(case)
    }

    /// ReplyToCase: the lead unit replies, recording `benefits` with the reply.
    pub async fn reply_to_case(
        &self,
        id: &str,
        expected: Option<i64>,
        input: &ReplyInput,
        benefits: &[NewBenefit],
        caller: &Caller,
    ) -> Result<(Case, Vec<pb::Benefit>), ServiceError> {
        let now = self.now();
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::Reply, now).await?;
        let mut after = before.clone();
        let unit = before.lead_unit.clone();
        let outcome = rules::reply(&mut after, input, unit, &caller.subject, now);
        let benefits: Vec<NewBenefit> = benefits.iter().cloned().map(|b| b.defaulted(&after)).collect();
        let mut replied = note(CaseAction::Replied, &before, &after, caller, now).text(input.text.as_str());
        replied.reason = input.reason.clone();
        replied.result_class = input.result_class;
        let mut notes = vec![replied];
        notes.extend(benefits.iter().map(|b| benefit_note(&after, b, caller, now)));
        let case = commit_case_change(&mut tx, &before, &after, &notes).await?;
        let payload = pb::CaseReplied {
            context: Some(context(&case)),
            result_class: input.result_class,
            reason: input.reason.clone(),
            first_reply: outcome.first_reply,
            on_time: outcome.on_time,
            handling_duration: Some(duration(outcome.handling_duration)),
            actor: caller.subject.clone(),
        };
        record_case_event(&mut tx, "case_replied", &case.id, "tingjian.supervision.v1.CaseReplied", &payload).await?;
        let mut recorded = Vec::with_capacity(benefits.len());
        for benefit in &benefits {
            let stored = insert_benefit(&mut tx, &case.id, benefit, &caller.subject, None, now).await?;
            record_benefit_event(&mut tx, &case, &stored, &caller.subject).await?;
            recorded.push(stored);
        }
        tx.commit().await?;
        Ok((case, recorded))
    }

    /// EvaluateCase: the evaluator (or staff on their behalf) rates the reply; dissatisfied reopens the
    /// case and, from the second time, escalates it one rung up the configured ladder.
    pub async fn evaluate_case(
        &self,
        id: &str,
        expected: Option<i64>,
        input: &EvaluationInput,
        caller: &Caller,
    ) -> Result<Evaluated, ServiceError> {
        let now = self.now();
        let calendar = if input.result == EVALUATION_DISSATISFIED {
            self.lifecycle_calendar(id, now, now).await?
        } else {
            WorkingCalendar::new(std::iter::empty())
        };
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::Evaluate, now).await?;
        let mut after = before.clone();
        let ladder = &self.settings().escalation_ladder;
        let outcome = rules::evaluate(&mut after, input, &caller.subject, now, ladder, &calendar);
        let action = if outcome.reopened { CaseAction::Reopened } else { CaseAction::Evaluated };
        let mut evaluated = note(action, &before, &after, caller, now).text(input.comment.as_str());
        evaluated.evaluation_result = input.result;
        let mut notes = vec![evaluated];
        let mut escalation = None;
        if let Some(level) = outcome.escalate_to {
            let detail = format!("第{}次评价不满意，升级督办", after.reopen_count);
            let new = NewEscalation {
                level,
                reason: ESCALATION_REASON_DISSATISFIED_AGAIN,
                detail: detail.clone(),
                actor: caller.subject.clone(),
                time: now,
                cause_key: Some(format!("dissatisfied:{}:{}", after.id, after.reopen_count)),
            };
            match insert_escalation(&mut tx, &after, &new).await? {
                Some(done) => {
                    let mut escalated = note(CaseAction::Escalated, &after, &after, caller, now).reason(detail);
                    escalated.escalation_level = level;
                    notes.push(escalated);
                    escalation = Some(done);
                }
                None => after.escalation_level = before.escalation_level,
            }
        }
        let case = commit_case_change(&mut tx, &before, &after, &notes).await?;
        let payload = pb::CaseEvaluated {
            context: Some(context(&case)),
            result: input.result,
            reopened: outcome.reopened,
            escalated: escalation.is_some(),
            reopen_count: case.reopen_count,
            actor: caller.subject.clone(),
        };
        record_case_event(&mut tx, "case_evaluated", &case.id, "tingjian.supervision.v1.CaseEvaluated", &payload)
            .await?;
        if let Some(done) = &escalation {
            record_escalated(&mut tx, &case, done).await?;
        }
        tx.commit().await?;
        Ok(Evaluated { case, reopened: outcome.reopened, escalated: escalation.is_some() })
    }

    /// CloseCase: closes a replied or evaluated case (a replied one needs `reason`).
    pub async fn close_case(
        &self,
        id: &str,
        expected: Option<i64>,
        reason: &str,
        caller: &Caller,
    ) -> Result<Case, ServiceError> {
        let now = self.now();
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::Close, now).await?;
        let mut after = before.clone();
        rules::close(&mut after, reason, now)?;
        let notes = [note(CaseAction::Closed, &before, &after, caller, now).reason(reason)];
        let case = commit_case_change(&mut tx, &before, &after, &notes).await?;
        let payload = pb::CaseClosed {
            context: Some(context(&case)),
            result_class: case.reply.as_ref().map_or(0, |r| r.result_class),
            evaluation_result: case.evaluation.as_ref().map_or(0, |e| e.result),
            long_running: case.long_running,
            reason: reason.to_owned(),
            actor: caller.subject.clone(),
        };
        record_case_event(&mut tx, "case_closed", &case.id, "tingjian.supervision.v1.CaseClosed", &payload).await?;
        tx.commit().await?;
        Ok(case)
    }

    /// EscalateCase: a supervisor or staff escalates an open case one rung up the ladder by hand.
    pub async fn escalate_case(
        &self,
        id: &str,
        expected: Option<i64>,
        reason: &str,
        caller: &Caller,
    ) -> Result<(Case, pb::Escalation), ServiceError> {
        let now = self.now();
        let (mut tx, before) = self.begin_lifecycle_step(id, expected, caller, Verb::Escalate, now).await?;
        let mut after = before.clone();
        let level = rules::escalate(&mut after, &self.settings().escalation_ladder)?;
        let new = NewEscalation {
            level,
            reason: ESCALATION_REASON_MANUAL,
            detail: reason.to_owned(),
            actor: caller.subject.clone(),
            time: now,
            cause_key: None,
        };
        let escalation = insert_escalation(&mut tx, &after, &new)
            .await?
            .ok_or_else(|| ServiceError::internal("a manual escalation was not recorded"))?;
        let mut escalated = note(CaseAction::Escalated, &before, &after, caller, now).reason(reason);
        escalated.escalation_level = level;
        let case = commit_case_change(&mut tx, &before, &after, &[escalated]).await?;
        record_escalated(&mut tx, &case, &escalation).await?;
        tx.commit().await?;
        Ok((case, escalation))
    }
}

/// Records CaseEscalated for `escalation` of `case`.
async fn record_escalated(tx: &mut Tx, case: &Case, escalation: &pb::Escalation) -> Result<(), ServiceError> {
    let payload = pb::CaseEscalated {
        context: Some(context(case)),
        level: escalation.level,
        reason: escalation.reason,
        detail: escalation.detail.clone(),
        actor: escalation.actor.clone(),
    };
    record_case_event(tx, "case_escalated", &case.id, "tingjian.supervision.v1.CaseEscalated", &payload).await
}
