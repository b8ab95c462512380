//! The roundtable part of the intake API: the monthly roundtable with entrepreneurs (一月一座谈).

use chrono::Utc;
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::error::FieldViolation;
use tingjian_runtime::wire::{etag, parse_id, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::IntakeApi;
use super::enterprise::{instant, request_id};
use crate::domain::{
    NewRoundtable, Page, PageRequest, ROUNDTABLE_UPDATE_PATHS, Roundtable, RoundtableFilter, RoundtableInput,
    checked_id, etag_is_stale, parse_update_mask, time_key,
};

/// Who may record and change roundtables.
const ROUNDTABLE_WRITERS: &[Role] = &[Role::Staff, Role::Member];

fn to_proto(r: Roundtable) -> pb::Roundtable {
    pb::Roundtable {
        id: r.id,
        title: r.fields.title,
        theme: r.fields.theme,
        held_time: Some(timestamp(r.fields.held_time)),
        venue: r.fields.venue,
        host_ids: r.fields.host_ids,
        invited_enterprise_ids: r.fields.invited_enterprise_ids,
        entrepreneur_count: r.fields.entrepreneur_count,
        summary: r.fields.summary,
        demand_ids: r.demand_ids,
        etag: etag(r.version),
        created_by: r.created_by,
        create_time: Some(timestamp(r.create_time)),
        update_time: Some(timestamp(r.update_time)),
    }
}

fn input<'a>(r: &'a pb::Roundtable, held_time: Option<chrono::DateTime<Utc>>) -> RoundtableInput<'a> {
    RoundtableInput {
        title: &r.title,
        theme: &r.theme,
        held_time,
        venue: &r.venue,
        host_ids: &r.host_ids,
        invited_enterprise_ids: &r.invited_enterprise_ids,
        entrepreneur_count: r.entrepreneur_count,
        summary: &r.summary,
    }
}

impl IntakeApi {
    /// INVALID_ARGUMENT naming each invited enterprise (as given at `roundtable.invited_enterprise_ids[i]`)
    /// that does not exist.
    async fn check_invitees(&self, ids: &[String], raw: &[String]) -> Result<(), ServiceError> {
        let found = self.store.enterprises_by_id(ids).await?;
        let violations: Vec<FieldViolation> = ids
            .iter()
            .filter(|id| !found.contains_key(*id))
            .map(|id| {
                let field = "roundtable.invited_enterprise_ids";
                let i = raw.iter().position(|r| checked_id(r, field).ok().as_ref() == Some(id)).unwrap_or_default();
                FieldViolation::new(format!("{field}[{i}]"), format!("enterprise {id} does not exist"))
            })
            .collect();
        if violations.is_empty() { Ok(()) } else { Err(ServiceError::InvalidArgument(violations)) }
    }

    #[tracing::instrument(skip_all, fields(roundtable.id))]
    pub(super) async fn create_roundtable_impl(
        &self,
        request: Request<pb::CreateRoundtableRequest>,
    ) -> Result<Response<pb::CreateRoundtableResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(ROUNDTABLE_WRITERS)?;
        let body = request.into_inner();
        let roundtable = body.roundtable.ok_or_else(|| ServiceError::invalid("roundtable", "is required"))?;
        let held_time = instant(roundtable.held_time.as_ref(), "roundtable.held_time")?;
        let new = NewRoundtable::parse(&input(&roundtable, held_time), "roundtable", tingjian_runtime::clock::now())?;
        let request_id = request_id(&body.request_id)?;
        self.check_invitees(&new.invited_enterprise_ids, &roundtable.invited_enterprise_ids).await?;
        let created = self.store.create_roundtable(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("roundtable.id", created.id.as_str());
        Ok(Response::new(pb::CreateRoundtableResponse { roundtable: Some(to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_roundtable_impl(
        &self,
        request: Request<pb::GetRoundtableRequest>,
    ) -> Result<Response<pb::GetRoundtableResponse>, Status> {
        Caller::of(&request)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let roundtable = self.store.get_roundtable(&id).await?;
        Ok(Response::new(pb::GetRoundtableResponse { roundtable: Some(to_proto(roundtable)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_roundtables_impl(
        &self,
        request: Request<pb::ListRoundtablesRequest>,
    ) -> Result<Response<pb::ListRoundtablesResponse>, Status> {
        Caller::of(&request)?;
        let body = request.into_inner();
        let range = body.time_range.unwrap_or_default();
        let filter = RoundtableFilter::parse(
            instant(range.start_time.as_ref(), "time_range.start_time")?,
            instant(range.end_time.as_ref(), "time_range.end_time")?,
            &body.enterprise_id,
        )?;
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, "roundtables", &digest, 2)?;
        let after = page
            .after
            .as_deref()
            .map(|k| Ok::<_, ServiceError>((PageRequest::time_key(k, 0)?, PageRequest::text_key(k, 1)?)))
            .transpose()?;
        let rows = self.store.list_roundtables(&filter, page.size + 1, after).await?;
        let result = Page::from_rows(rows, page.size, |r| vec![time_key(r.fields.held_time), r.id.clone()]);
        Ok(Response::new(pb::ListRoundtablesResponse {
            next_page_token: result.next_token("roundtables", &digest),
            roundtables: result.items.into_iter().map(to_proto).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(roundtable.id))]
    pub(super) async fn update_roundtable_impl(
        &self,
        request: Request<pb::UpdateRoundtableRequest>,
    ) -> Result<Response<pb::UpdateRoundtableResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(ROUNDTABLE_WRITERS)?;
        let body = request.into_inner();
        let roundtable = body.roundtable.ok_or_else(|| ServiceError::invalid("roundtable", "is required"))?;
        let id = parse_id(&roundtable.id, "roundtable.id")?;
        tracing::Span::current().record("roundtable.id", id.as_str());
        let paths =
            parse_update_mask(body.update_mask.as_ref().map_or(&[][..], |m| &m.paths), ROUNDTABLE_UPDATE_PATHS)?;
        let held_time = instant(roundtable.held_time.as_ref(), "roundtable.held_time")?;
        let input = input(&roundtable, held_time);
        let now = tingjian_runtime::clock::now();
        if paths.contains(&"invited_enterprise_ids") {
            // The form of the ids is checked with the other fields below; their existence here.
            let ids: Vec<String> =
                roundtable.invited_enterprise_ids.iter().filter_map(|r| checked_id(r, "").ok()).collect();
            self.check_invitees(&ids, &roundtable.invited_enterprise_ids).await?;
        }
        let updated = self
            .store
            .update_roundtable(&id, |current| {
                if etag_is_stale(&roundtable.etag, current.version) {
                    return Err(ServiceError::Aborted(format!(
                        "roundtable {id} changed since it was read (etag {:?}, now {}); re-read it and retry",
                        roundtable.etag,
                        etag(current.version)
                    )));
                }
                current.fields.with_changes(&input, &paths, "roundtable", now)
            })
            .await?;
        Ok(Response::new(pb::UpdateRoundtableResponse { roundtable: Some(to_proto(updated)) }))
    }
}
