//! The discipline-inspection API (纪检监察): the supervision item list (监督事项清单) as a snapshot with
//! its change cursor, the change stream that resumes from a cursor, a case's whole record from the
//! supervision information database (监督信息库), acknowledgements (已阅) and referrals (移交).
//!
//! Every method needs the discipline_inspection role. Only cases flagged for discipline inspection or
//! escalated to it exist here; any other id is NOT_FOUND.
//!
//! The change stream first replays every change after the request's cursor, in cursor order and in
//! batches, then polls the change log for new ones. Cursors are handed out in commit order (see the item
//! list's store), so reading "every change after the last one sent" never skips one that commits later.
//! Every change ever made is retained, so no cursor this service gave out is too old; a cursor beyond the
//! latest change is not one it gave out and is INVALID_ARGUMENT on `after_cursor`.

use std::time::Duration;

use chrono::SubsecRound as _;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::error::{Violations, checked, gather};
use tingjian_runtime::fields::optional_text;
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{parse_id, parse_request_id, period_range, read_instant};
use tingjian_runtime::{Caller, Role, ServiceError};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::DisciplineInspectionApi;
use super::case::case_statuses;
use crate::convert;
use crate::domain::inspection::{ItemFilter, NewReferral, ReferralDraft, parse_note};
use crate::domain::{MAX_CODE_CHARS, MAX_REQUEST_ID_CHARS, Person, Unit};
use crate::store::{Actor, Store, cursor_text, parse_cursor};

/// Page-token name of ListSupervisionItems.
const ITEMS_LIST: &str = "supervision_items";
/// Page-token name of ListReferrals.
const REFERRALS_LIST: &str = "referrals";
/// Changes read from the log per query.
const CHANGE_BATCH: i64 = 200;
/// How often an idle stream looks for new changes.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How long a stream stays silent before it sends a heartbeat.
const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(15);
/// Messages buffered for a slow subscriber before the stream waits for it.
const STREAM_BUFFER: usize = 64;

/// The caller, if it acts for discipline inspection; PERMISSION_DENIED otherwise.
fn inspector<T>(request: &Request<T>) -> Result<Caller, Status> {
    let caller = Caller::of(request)?;
    caller.require_any(&[Role::DisciplineInspection])?;
    Ok(caller.clone())
}

fn unit(u: tingjian_proto::common::v1::OrganisationRef) -> Unit {
    Unit { id: u.id, name: u.name, kind: u.kind }
}

fn person(p: tingjian_proto::common::v1::PersonRef) -> Person {
    Person { id: p.id, display_name: p.display_name, title: p.title, organisation_id: p.organisation_id }
}

/// Sends every change after `after` to `tx`, then the new ones as they commit, with heartbeats while
/// idle, until the subscriber goes away. `resume` is the cursor a heartbeat carries before any change.
async fn stream_changes(
    store: Store,
    mut after: i64,
    mut resume: String,
    tx: mpsc::Sender<Result<pb::SubscribeSupervisionChangesResponse, Status>>,
) {
    let mut last_sent = Instant::now();
    loop {
        let changes = match store.item_changes_after(after, CHANGE_BATCH).await {
            Ok(changes) => changes,
            Err(e) => {
                tracing::warn!(error = %e, after, "cannot read the supervision item changes; ending the stream");
                let _ = tx.send(Err(e.into())).await;
                return;
            }
        };
        let full = i64::try_from(changes.len()).is_ok_and(|n| n >= CHANGE_BATCH);
        for (cursor, change) in changes {
            let message =
                pb::SubscribeSupervisionChangesResponse { cursor: change.cursor.clone(), change: Some(change) };
            if tx.send(Ok(message)).await.is_err() {
                return;
            }
            after = cursor;
            resume = cursor_text(cursor);
            last_sent = Instant::now();
        }
        if full {
            continue;
        }
        if last_sent.elapsed() >= HEARTBEAT_INTERVAL {
            let heartbeat = pb::SubscribeSupervisionChangesResponse { change: None, cursor: resume.clone() };
            if tx.send(Ok(heartbeat)).await.is_err() {
                return;
            }
            last_sent = Instant::now();
        }
        tokio::select! {
            () = tx.closed() => return,
            () = tokio::time::sleep(POLL_INTERVAL) => {}
        }
    }
}

impl DisciplineInspectionApi {
    #[tracing::instrument(skip_all)]
    pub(super) async fn list_supervision_items_impl(
        &self,
        request: Request<pb::ListSupervisionItemsRequest>,
    ) -> Result<Response<pb::ListSupervisionItemsResponse>, Status> {
        inspector(&request)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let statuses = case_statuses(&mut v, &body.statuses);
        let unit_id = v.check(optional_text(&body.unit_id, MAX_CODE_CHARS, "unit_id")).filter(|s| !s.is_empty());
        v.finish()?;
        let filter = ItemFilter {
            statuses,
            overdue_only: body.overdue_only,
            unacknowledged_only: body.unacknowledged_only,
            unit_id,
        };
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, ITEMS_LIST, &digest, 2)?;
        let result = self.store.list_supervision_items(&filter, &page).await?;
        Ok(Response::new(pb::ListSupervisionItemsResponse {
            next_page_token: result.page.next_token(ITEMS_LIST, &digest),
            items: result.page.items,
            change_cursor: cursor_text(result.change_cursor),
        }))
    }

    #[tracing::instrument(skip_all, fields(after_cursor))]
    pub(super) async fn subscribe_supervision_changes_impl(
        &self,
        request: Request<pb::SubscribeSupervisionChangesRequest>,
    ) -> Result<Response<super::ChangeStream>, Status> {
        inspector(&request)?;
        let raw = request.get_ref().after_cursor.trim().to_owned();
        tracing::Span::current().record("after_cursor", raw.as_str());
        let not_given_out = || {
            ServiceError::invalid(
                "after_cursor",
                "is not a cursor this service gave out; pass a cursor from a change, a heartbeat or \
                 ListSupervisionItems' change_cursor, or leave it empty to start from the beginning",
            )
        };
        let after = if raw.is_empty() { 0 } else { parse_cursor(&raw).ok_or_else(not_given_out)? };
        if after > self.store.last_item_cursor().await? {
            return Err(not_given_out().into());
        }
        let (tx, rx) = mpsc::channel(STREAM_BUFFER);
        let resume = if raw.is_empty() { String::new() } else { cursor_text(after) };
        tokio::spawn(stream_changes(self.store.clone(), after, resume, tx));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx)) as super::ChangeStream))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn get_supervision_record_impl(
        &self,
        request: Request<pb::GetSupervisionRecordRequest>,
    ) -> Result<Response<pb::GetSupervisionRecordResponse>, Status> {
        inspector(&request)?;
        let id = parse_id(&request.get_ref().case_id, "case_id")?;
        tracing::Span::current().record("case.id", id.as_str());
        let case = self.store.inspection_case(&id).await?;
        let history = self.store.history_of_case(&id).await?;
        let record = pb::SupervisionRecord {
            case: Some(convert::case(&case, self.store.now())),
            history: history.iter().map(convert::history_entry).collect(),
            follow_ups: self.store.follow_ups_of_case(&id).await?,
            follow_up_tasks: self.store.follow_up_tasks_of_case(&id).await?,
            warnings: self.store.warnings_of_case(&id).await?,
            escalations: self.store.escalations_of_case(&id).await?,
            rectification_orders: self.store.rectifications_of_case(&id).await?,
            benefits: self.store.benefits_of_case(&id).await?,
        };
        Ok(Response::new(pb::GetSupervisionRecordResponse { record: Some(record) }))
    }

    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn acknowledge_supervision_item_impl(
        &self,
        request: Request<pb::AcknowledgeSupervisionItemRequest>,
    ) -> Result<Response<pb::AcknowledgeSupervisionItemResponse>, Status> {
        let caller = inspector(&request)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.case_id, "case_id"))?;
        let note = v.check(parse_note(&body.note));
        v.finish()?;
        let (id, note) = (checked(id)?, checked(note)?);
        tracing::Span::current().record("case.id", id.as_str());
        let item = self.store.acknowledge_item(&id, &note, &caller.subject).await?;
        Ok(Response::new(pb::AcknowledgeSupervisionItemResponse { item: Some(item) }))
    }

    #[tracing::instrument(skip_all, fields(referral.id, case.id))]
    pub(super) async fn submit_referral_impl(
        &self,
        request: Request<pb::SubmitReferralRequest>,
    ) -> Result<Response<pb::SubmitReferralResponse>, Status> {
        let caller = inspector(&request)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?.flatten();
        if request_id.as_ref().is_some_and(|r| r.chars().count() > MAX_REQUEST_ID_CHARS) {
            v.add("request_id", format!("must be at most {MAX_REQUEST_ID_CHARS} characters"));
        }
        let raw = body.referral.unwrap_or_default();
        // Kept at the precision both backends store, so what is answered now is what is read later.
        let deadline_time = v
            .check(read_instant(raw.deadline_time.as_ref(), "referral.deadline_time"))
            .flatten()
            .map(|t| t.trunc_subsecs(6));
        let draft = ReferralDraft {
            title: raw.title,
            description: raw.description,
            lead_unit: raw.lead_unit.map(unit),
            co_units: raw.co_units.into_iter().map(unit).collect(),
            responsible_head: raw.responsible_head.map(person),
            enterprise_id: raw.enterprise_id,
            category: raw.category,
            deadline_time,
            deadline_working_days: raw.deadline_working_days,
            referring_officer: raw.referring_officer.map(person),
        };
        let new = gather(&mut v, NewReferral::parse(&draft))?;
        v.finish()?;
        let new = checked(new)?;
        let actor = Actor { subject: &caller.subject, organisation: &caller.organisation };
        let (referral, case) = self.store.submit_referral(&new, request_id.as_deref(), actor).await?;
        tracing::Span::current().record("referral.id", referral.id.as_str()).record("case.id", case.id.as_str());
        Ok(Response::new(pb::SubmitReferralResponse {
            referral: Some(referral),
            case: Some(convert::case(&case, self.store.now())),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_referrals_impl(
        &self,
        request: Request<pb::ListReferralsRequest>,
    ) -> Result<Response<pb::ListReferralsResponse>, Status> {
        inspector(&request)?;
        let body = request.into_inner();
        let made = period_range(body.period.as_ref()).map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
        let digest = made.map(|(s, e)| format!("{}/{}", s.to_rfc3339(), e.to_rfc3339())).unwrap_or_default();
        let page = PageRequest::parse(body.page_size, &body.page_token, REFERRALS_LIST, &digest, 2)?;
        let result = self.store.list_referrals(made, &page).await?;
        Ok(Response::new(pb::ListReferralsResponse {
            next_page_token: result.next_token(REFERRALS_LIST, &digest),
            referrals: result.items,
        }))
    }
}
