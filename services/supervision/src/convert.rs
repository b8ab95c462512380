//! Conversions between the domain and the v1 contract's messages, shared by the gRPC adapter and the
//! event payloads the store records.

use chrono::{Datelike, NaiveDate};
use tingjian_proto::common::v1 as common;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::wire::{etag, timestamp};

use crate::domain::{Case, CaseHistoryEntry, CaseSource, CaseStatus, NamedDay, Person, Unit};

/// A date as the contract's `Date`.
pub fn date(d: NaiveDate) -> common::Date {
    common::Date { year: d.year(), month: d.month() as i32, day: d.day() as i32 }
}

/// A unit as the contract's `OrganisationRef`.
pub fn unit(u: &Unit) -> common::OrganisationRef {
    common::OrganisationRef { id: u.id.clone(), name: u.name.clone(), kind: u.kind }
}

/// A person as the contract's `PersonRef`.
pub fn person(p: &Person) -> common::PersonRef {
    common::PersonRef {
        id: p.id.clone(),
        display_name: p.display_name.clone(),
        title: p.title.clone(),
        organisation_id: p.organisation_id.clone(),
    }
}

/// A source as the contract's `CaseSource`.
pub fn source(s: &CaseSource) -> pb::CaseSource {
    pb::CaseSource { kind: s.kind.as_i32(), source_id: s.source_id.clone(), source_title: s.source_title.clone() }
}

/// A case as the contract's `Case`; `overdue` as of `now`.
pub fn case(c: &Case, now: chrono::DateTime<chrono::Utc>) -> pb::Case {
    let t = |x: Option<chrono::DateTime<chrono::Utc>>| x.map(timestamp);
    pb::Case {
        id: c.id.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        source: Some(source(&c.source)),
        lead_unit: Some(unit(&c.lead_unit)),
        co_units: c.co_units.iter().map(unit).collect(),
        responsible_head: Some(person(&c.responsible_head)),
        status: c.status.as_i32(),
        dispatch_time: Some(timestamp(c.dispatch_time)),
        deadline_time: Some(timestamp(c.deadline_time)),
        planned_completion_date: c.planned_completion_date.map(date),
        joint_supervision: c.joint_supervision,
        discipline_inspection: c.discipline_inspection,
        requirements: c.requirements.clone(),
        enterprise_id: c.enterprise_id.clone(),
        evaluator_id: c.evaluator_id.clone(),
        category: c.category.clone(),
        district: c.district.clone(),
        industry: c.industry.clone(),
        warning_level: c.warning_level,
        escalation_level: c.escalation_level,
        overdue: c.is_overdue(now),
        long_running: c.long_running,
        long_running_since_time: t(c.long_running_since_time),
        reply: c.reply.as_ref().map(|r| pb::CaseReply {
            result_class: r.result_class,
            text: r.text.clone(),
            reason: r.reason.clone(),
            replying_unit: Some(unit(&r.unit)),
            replied_by: r.replied_by.clone(),
            reply_time: Some(timestamp(r.reply_time)),
            on_time: r.on_time,
        }),
        evaluation: c.evaluation.as_ref().map(|e| pb::CaseEvaluation {
            result: e.result,
            comment: e.comment.clone(),
            evaluator: e.evaluator.clone(),
            evaluate_time: Some(timestamp(e.evaluate_time)),
        }),
        reopen_count: c.reopen_count,
        last_progress_time: t(c.last_progress_time),
        accept_time: t(c.accept_time),
        return_deadline_time: t(c.return_deadline_time),
        return_reason: c.return_reason.clone(),
        close_time: t(c.close_time),
        next_follow_up_due_time: t(c.next_follow_up_due_time),
        dispatched_by: c.dispatched_by.clone(),
        etag: etag(c.version),
        create_time: Some(timestamp(c.create_time)),
        update_time: Some(timestamp(c.update_time)),
    }
}

/// The reporting dimensions every case event carries, as they stand.
pub fn context(c: &Case) -> pb::CaseContext {
    pb::CaseContext {
        case_id: c.id.clone(),
        source: Some(source(&c.source)),
        lead_unit: Some(unit(&c.lead_unit)),
        enterprise_id: c.enterprise_id.clone(),
        category: c.category.clone(),
        district: c.district.clone(),
        industry: c.industry.clone(),
        dispatch_time: Some(timestamp(c.dispatch_time)),
        deadline_time: Some(timestamp(c.deadline_time)),
        status: c.status.as_i32(),
        discipline_inspection: c.discipline_inspection,
    }
}

/// A history entry as the contract's `CaseHistoryEntry`.
pub fn history_entry(e: &CaseHistoryEntry) -> pb::CaseHistoryEntry {
    pb::CaseHistoryEntry {
        case_id: e.case_id.clone(),
        sequence: e.sequence,
        action: e.action.as_i32(),
        from_status: e.from_status.map_or(0, CaseStatus::as_i32),
        to_status: e.to_status.as_i32(),
        reason: e.reason.clone(),
        text: e.text.clone(),
        result_class: e.result_class,
        evaluation_result: e.evaluation_result,
        warning_level: e.warning_level,
        escalation_level: e.escalation_level,
        actor: e.actor.clone(),
        actor_organisation_id: e.actor_organisation_id.clone(),
        time: Some(timestamp(e.time)),
    }
}

/// A calendar day as the contract's `CalendarDay`.
pub fn calendar_day(d: &NamedDay) -> pb::CalendarDay {
    pb::CalendarDay { date: Some(date(d.date)), name: d.name.clone() }
}

/// A case as a line of the discipline-inspection item list, with the ids of its rectification orders and
/// its latest acknowledgement (cursor, time), if any.
pub fn item(
    c: &Case,
    rectification_order_ids: Vec<String>,
    ack: Option<(i64, chrono::DateTime<chrono::Utc>)>,
    now: chrono::DateTime<chrono::Utc>,
) -> pb::SupervisionItem {
    pb::SupervisionItem {
        case_id: c.id.clone(),
        title: c.title.clone(),
        source: Some(source(&c.source)),
        lead_unit: Some(unit(&c.lead_unit)),
        co_units: c.co_units.iter().map(unit).collect(),
        responsible_head: Some(person(&c.responsible_head)),
        status: c.status.as_i32(),
        dispatch_time: Some(timestamp(c.dispatch_time)),
        deadline_time: Some(timestamp(c.deadline_time)),
        overdue: c.is_overdue(now),
        warning_level: c.warning_level,
        escalation_level: c.escalation_level,
        long_running: c.long_running,
        result_class: c.reply.as_ref().map_or(0, |r| r.result_class),
        evaluation_result: c.evaluation.as_ref().map_or(0, |e| e.result),
        rectification_order_ids,
        acknowledged: ack.is_some_and(|(cursor, _)| cursor >= c.item_cursor && c.item_cursor > 0),
        acknowledge_time: ack.map(|(_, t)| timestamp(t)),
        cursor: crate::store::cursor_text(c.item_cursor),
        update_time: Some(timestamp(c.update_time)),
    }
}
