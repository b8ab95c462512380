//! Supervision's events: the case lifecycle, warnings, long-running cases and their follow-ups,
//! rectification orders, benefits.

use tingjian_proto::common::v1::{Event, OrganisationRef, Period, PeriodKind};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::storage::Tx;

use super::facts::{self, BenefitRow, CaseInfo, CaseRow, Time};
use super::{Entity, IngestError, Merge, decode, instant};

/// `YYYY-Qn` of a period that is a quarter.
fn quarter_key(period: Option<&Period>) -> Option<String> {
    let p = period?;
    (p.kind == PeriodKind::Quarter as i32 && (1..=4).contains(&p.number)).then(|| format!("{}-Q{}", p.year, p.number))
}

/// `YYYY-Qn` of the China quarter of an instant.
fn quarter_of(t: Time) -> String {
    let q = tingjian_runtime::time::Period::quarter_of(t);
    format!("{}-Q{}", q.year(), q.number())
}

/// What a case event changes besides the context.
enum Step {
    None,
    Dispatched,
    Replied { on_time: bool, class: i32 },
    Evaluated { result: i32, reopened: bool },
    Closed,
    DeadlineReached,
    LongRunning(Option<Time>),
    Followed(String),
    Missed(Option<String>),
    Benefit(pb::Benefit),
}

pub(super) async fn merge(tx: &mut Tx, m: &mut Merge, name: &str, event: &Event) -> Result<(), IngestError> {
    let (context, step) = match name {
        "case_dispatched" => (decode::<pb::CaseDispatched>(event)?.context, Step::Dispatched),
        "case_accepted" => (decode::<pb::CaseAccepted>(event)?.context, Step::None),
        "case_returned" => (decode::<pb::CaseReturned>(event)?.context, Step::None),
        "case_reassigned" => (decode::<pb::CaseReassigned>(event)?.context, Step::None),
        "case_updated" => (decode::<pb::CaseUpdated>(event)?.context, Step::None),
        "case_progress_recorded" => (decode::<pb::CaseProgressRecorded>(event)?.context, Step::None),
        "case_escalated" => (decode::<pb::CaseEscalated>(event)?.context, Step::None),
        "follow_up_reminder_sent" => (decode::<pb::FollowUpReminderSent>(event)?.context, Step::None),
        "case_replied" => {
            let p: pb::CaseReplied = decode(event)?;
            (p.context, Step::Replied { on_time: p.on_time, class: p.result_class })
        }
        "case_evaluated" => {
            let p: pb::CaseEvaluated = decode(event)?;
            (p.context, Step::Evaluated { result: p.result, reopened: p.reopened })
        }
        "case_closed" => (decode::<pb::CaseClosed>(event)?.context, Step::Closed),
        "case_warning_raised" => {
            let p: pb::CaseWarningRaised = decode(event)?;
            let due = p.level == pb::WarningLevel::Due as i32;
            (p.context, if due { Step::DeadlineReached } else { Step::None })
        }
        "case_became_long_running" => {
            let p: pb::CaseBecameLongRunning = decode(event)?;
            let since = instant(event, p.since_time.as_ref(), "since_time")?;
            (p.context, Step::LongRunning(since))
        }
        "follow_up_recorded" => {
            let p: pb::FollowUpRecorded = decode(event)?;
            let follow_time = instant(event, p.follow_time.as_ref(), "follow_time")?.unwrap_or(m.stamp.time);
            let quarter = quarter_key(p.quarter.as_ref()).unwrap_or_else(|| quarter_of(follow_time));
            (p.context, Step::Followed(quarter))
        }
        "quarter_missed" => {
            let p: pb::QuarterMissed = decode(event)?;
            (p.context, Step::Missed(quarter_key(p.quarter.as_ref())))
        }
        "benefit_recorded" => {
            let p: pb::BenefitRecorded = decode(event)?;
            (p.context, Step::Benefit(p.benefit.unwrap_or_default()))
        }
        "rectification_order_issued" => {
            let p: pb::RectificationOrderIssued = decode(event)?;
            let unit = label(tx, m, p.department.as_ref()).await?;
            let mut row = facts::load_order(tx, &p.order_id).await?.unwrap_or_default();
            row.unit_id = Some(unit);
            row.issue_time = facts::min_time(row.issue_time, m.stamp.time);
            facts::save_order(tx, &p.order_id, &row).await?;
            m.touch(Entity::Order(p.order_id));
            return Ok(());
        }
        "rectification_verified" => {
            let p: pb::RectificationVerified = decode(event)?;
            let unit = label(tx, m, p.department.as_ref()).await?;
            if p.passed {
                let mut row = facts::load_order(tx, &p.order_id).await?.unwrap_or_default();
                row.unit_id.get_or_insert(unit);
                row.verified_time = facts::min_time(row.verified_time, m.stamp.time);
                facts::save_order(tx, &p.order_id, &row).await?;
                m.touch(Entity::Order(p.order_id));
            }
            return Ok(());
        }
        "rectification_reported" => {
            let p: pb::RectificationReported = decode(event)?;
            label(tx, m, p.department.as_ref()).await?;
            return Ok(());
        }
        _ => return Ok(()),
    };
    let Some(context) = context else {
        return Err(IngestError::Unreadable(format!("event {} ({}) carries no case context", event.id, event.r#type)));
    };
    merge_case(tx, m, event, context, step).await
}

/// Records a unit's name; returns its id ('' when the event names none).
async fn label(tx: &mut Tx, m: &Merge, unit: Option<&OrganisationRef>) -> Result<String, IngestError> {
    let Some(unit) = unit else { return Ok(String::new()) };
    facts::label_unit(tx, &unit.id, &unit.name, m.stamp.time).await?;
    Ok(unit.id.clone())
}

async fn merge_case(
    tx: &mut Tx,
    m: &mut Merge,
    event: &Event,
    context: pb::CaseContext,
    step: Step,
) -> Result<(), IngestError> {
    let case_id = context.case_id.clone();
    if case_id.is_empty() {
        return Err(IngestError::Unreadable(format!("event {} ({}) names no case", event.id, event.r#type)));
    }
    let unit_id = label(tx, m, context.lead_unit.as_ref()).await?;
    let dispatch_time = instant(event, context.dispatch_time.as_ref(), "context.dispatch_time")?;
    let info = CaseInfo {
        enterprise_id: context.enterprise_id.clone(),
        district: context.district.clone(),
        industry: context.industry.clone(),
        category: context.category.clone(),
        unit_id: unit_id.clone(),
        status: context.status,
        deadline_time: instant(event, context.deadline_time.as_ref(), "context.deadline_time")?,
    };
    let mut row: CaseRow = facts::load_case(tx, &case_id).await?.unwrap_or_default();
    row.described(&m.stamp, info);
    let time = m.stamp.time;
    match step {
        Step::None => {}
        Step::Dispatched => row.dispatched(dispatch_time.unwrap_or(time)),
        Step::Replied { on_time, class } => row.replied(time, on_time, class),
        Step::Evaluated { result, reopened } => row.evaluated(time, result, reopened),
        Step::Closed => row.closed(time),
        Step::DeadlineReached => row.deadline_reached = true,
        Step::LongRunning(since) => row.long_running(since.unwrap_or(time)),
        Step::Followed(quarter) => facts::mark_quarter(tx, &case_id, &quarter, true, false).await?,
        Step::Missed(quarter) => {
            if let Some(quarter) = quarter {
                facts::mark_quarter(tx, &case_id, &quarter, false, true).await?;
            }
        }
        Step::Benefit(benefit) => {
            let id = if benefit.id.is_empty() { event.id.clone() } else { benefit.id.clone() };
            let pick = |own: &str, fallback: &str| if own.is_empty() { fallback.to_owned() } else { own.to_owned() };
            let b = BenefitRow {
                case_id: case_id.clone(),
                enterprise_id: pick(&benefit.enterprise_id, &context.enterprise_id),
                district: context.district.clone(),
                industry: context.industry.clone(),
                category: context.category.clone(),
                unit_id,
                kind: benefit.kind,
                benefit_category: pick(&benefit.category, &context.category),
                problems_solved: i64::from(benefit.problems_solved.max(0)),
                amount_fen: benefit.amount.as_ref().map_or(0, |a| a.minor_units),
                record_time: time,
            };
            facts::insert_benefit(tx, &id, &b).await?;
            m.touch(Entity::Benefit(id));
        }
    }
    facts::save_case(tx, &case_id, &row).await?;
    m.touch(Entity::Case(case_id));
    Ok(())
}
