//! The demand part of the intake API: submitting demands (诉求), reading and listing them, triage,
//! the status machine with its history, withdrawal, and each enterprise's list (一企一清单).
//!
//! Who may do what: enterprises, members and staff submit (an enterprise only for itself); staff
//! triage and move demands through their statuses; the submitter or staff withdraw. Reading is open to
//! staff, members, leaders, supervisors and analysts, and to an enterprise for its own demands. An
//! enterprise caller acts for the enterprise whose id or credit code is its token's `org` claim.

use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::wire::{etag, parse_id, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::{EDITORS, IntakeApi, READERS, gather, has_any, period_range, saturating_i32};
use crate::domain::{
    DEFAULT_PAGE_SIZE, DEFAULT_PER_GROUP, Demand, DemandChannel, DemandCursor, DemandFilter, DemandInput, DemandStatus,
    DifficultyTag, EnterpriseDemandList, HistoryEntry, MAX_PAGE_SIZE, MAX_PER_GROUP, NewDemand, TriageChange,
    age_in_days, checked_id, history_token, page_size, parse_history_token, parse_reason, resolve_category,
    submission_request_id,
};

/// Roles that submit demands.
const SUBMITTERS: [Role; 3] = [Role::Enterprise, Role::Member, Role::Staff];

/// Which demands a caller may see.
#[derive(Debug)]
enum Scope {
    /// Every demand.
    All,
    /// Only the demands of these enterprises (an enterprise caller's own).
    Enterprises(Vec<String>),
}

impl Scope {
    fn allows(&self, enterprise_id: Option<&str>) -> bool {
        match (self, enterprise_id) {
            (Self::All, _) => true,
            (Self::Enterprises(ids), Some(id)) => ids.iter().any(|own| own == id),
            (Self::Enterprises(_), None) => false,
        }
    }

    fn check(&self, enterprise_id: Option<&str>) -> Result<(), ServiceError> {
        if self.allows(enterprise_id) {
            Ok(())
        } else {
            Err(ServiceError::PermissionDenied(
                "an enterprise sees only its own demands (the enterprise whose id or credit code is the token's org)"
                    .into(),
            ))
        }
    }
}

/// A demand as the contract shows it.
pub(super) fn demand_to_proto(d: Demand) -> pb::Demand {
    pb::Demand {
        etag: etag(d.version),
        id: d.id,
        enterprise_id: d.fields.enterprise_id.unwrap_or_default(),
        title: d.fields.title,
        text: d.fields.text,
        category: d.fields.category,
        difficulty_tags: d.fields.difficulty_tags.numbers(),
        channel: d.fields.channel.as_i32(),
        status: d.status.as_i32(),
        status_reason: d.status_reason,
        submitter: d.submitter,
        origin_id: d.fields.origin_id.unwrap_or_default(),
        common_issue_id: d.common_issue_id.unwrap_or_default(),
        district: d.district,
        industry: d.industry,
        create_time: Some(timestamp(d.create_time)),
        update_time: Some(timestamp(d.update_time)),
    }
}

fn history_to_proto(e: HistoryEntry) -> pb::DemandHistoryEntry {
    pb::DemandHistoryEntry {
        demand_id: e.demand_id,
        sequence: e.sequence,
        action: e.action.as_i32(),
        from_status: e.from_status.map_or(0, DemandStatus::as_i32),
        to_status: e.to_status.as_i32(),
        from_common_issue_id: e.from_common_issue_id.unwrap_or_default(),
        to_common_issue_id: e.to_common_issue_id.unwrap_or_default(),
        reason: e.reason,
        detail: e.detail,
        actor: e.actor,
        time: Some(timestamp(e.time)),
    }
}

fn list_to_proto(list: EnterpriseDemandList) -> pb::EnterpriseDemandList {
    let now = tingjian_runtime::clock::now();
    pb::EnterpriseDemandList {
        total_count: saturating_i32(list.total_count()),
        open_count: saturating_i32(list.open_count()),
        oldest_open_create_time: list.oldest_open.map(timestamp),
        oldest_open_age_days: list.oldest_open.map_or(0, |t| age_in_days(t, now)),
        enterprise_id: list.enterprise_id,
        enterprise_name: list.enterprise_name,
        groups: list
            .groups
            .into_iter()
            .map(|g| pb::DemandStatusGroup {
                status: g.status.as_i32(),
                count: saturating_i32(g.count),
                demands: g.demands.into_iter().map(demand_to_proto).collect(),
            })
            .collect(),
    }
}

/// An optional etag: empty skips the check.
fn optional_etag(raw: &str) -> Option<&str> {
    let raw = raw.trim();
    (!raw.is_empty()).then_some(raw)
}

fn optional_id(raw: &str, field: &str) -> Result<Option<String>, FieldViolation> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    checked_id(raw, field).map(Some)
}

impl IntakeApi {
    /// Which demands `caller` may read: PERMISSION_DENIED for roles that read none.
    async fn scope(&self, caller: &Caller) -> Result<Scope, ServiceError> {
        if has_any(caller, &READERS) {
            return Ok(Scope::All);
        }
        if caller.has(Role::Enterprise) {
            return Ok(Scope::Enterprises(self.store.enterprises_of_organisation(&caller.organisation).await?));
        }
        let mut roles: Vec<_> = READERS.iter().map(|r| r.as_str()).collect();
        roles.push(Role::Enterprise.as_str());
        Err(ServiceError::PermissionDenied(format!("reading demands needs one of the roles: {}", roles.join(", "))))
    }

    #[tracing::instrument(skip_all, fields(demand.id))]
    pub(super) async fn submit_demand_impl(
        &self,
        request: Request<pb::SubmitDemandRequest>,
    ) -> Result<Response<pb::SubmitDemandResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&SUBMITTERS)?;
        let body = request.into_inner();
        let demand = body.demand.ok_or_else(|| ServiceError::invalid("demand", "is required"))?;
        let categories = self.store.active_categories().await?;

        let mut v = Violations::new();
        let new = gather(
            &mut v,
            NewDemand::parse(
                &DemandInput {
                    enterprise_id: &demand.enterprise_id,
                    title: &demand.title,
                    text: &demand.text,
                    category: &demand.category,
                    difficulty_tags: &demand.difficulty_tags,
                    channel: demand.channel,
                    origin_id: &demand.origin_id,
                },
                &categories,
                "demand",
            ),
        )?;
        let request_id = v.check(submission_request_id(&body.request_id, "request_id"));
        if body.similar_limit < 0 {
            v.add("similar_limit", "must not be negative");
        }
        v.finish()?;
        let (Some(new), Some(request_id)) = (new, request_id) else {
            return Err(ServiceError::internal("a checked submission is missing without a violation").into());
        };

        let only_enterprise = !caller.has(Role::Staff) && !caller.has(Role::Member);
        if only_enterprise {
            let own = self.store.enterprises_of_organisation(&caller.organisation).await?;
            Scope::Enterprises(own).check(new.enterprise_id.as_deref())?;
        }
        let (district, industry) = match &new.enterprise_id {
            Some(id) => {
                let enterprise = self.store.get_enterprise(id).await?;
                (enterprise.fields.district, enterprise.fields.industry)
            }
            None => (String::new(), String::new()),
        };
        if let Some(origin) = &new.origin_id {
            self.store.check_origin(new.channel.origin_kind(), origin).await?;
        }
        let submitted = self.store.submit_demand(&new, &request_id, &caller.subject, &district, &industry).await?;
        tracing::Span::current().record("demand.id", submitted.id.as_str());
        let limit = usize::try_from(body.similar_limit).unwrap_or(0).min(crate::domain::MAX_SIMILAR);
        let own = if only_enterprise && limit > 0 {
            Some(self.store.enterprises_of_organisation(&caller.organisation).await?)
        } else {
            None
        };
        let text = format!("{}。{}", submitted.fields.title, submitted.fields.text);
        let similar = self.similar_to_submitted(&submitted.id, text, limit, own).await;
        Ok(Response::new(pb::SubmitDemandResponse { demand: Some(demand_to_proto(submitted)), similar }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_demand_impl(
        &self,
        request: Request<pb::GetDemandRequest>,
    ) -> Result<Response<pb::GetDemandResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let scope = self.scope(&caller).await?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let demand = self.store.get_demand(&id).await?;
        scope.check(demand.fields.enterprise_id.as_deref())?;
        Ok(Response::new(pb::GetDemandResponse { demand: Some(demand_to_proto(demand)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_demands_impl(
        &self,
        request: Request<pb::ListDemandsRequest>,
    ) -> Result<Response<pb::ListDemandsResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let scope = self.scope(&caller).await?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let mut filter = DemandFilter::default();

        let enterprise_id = v.check(optional_id(&body.enterprise_id, "enterprise_id")).flatten();
        for (i, &n) in body.statuses.iter().enumerate() {
            match DemandStatus::from_i32(n) {
                Some(status) if !filter.statuses.contains(&status) => filter.statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), format!("{n} is not a demand status")),
            }
        }
        if !body.category.trim().is_empty() {
            let categories = self.store.all_categories().await?;
            filter.category = v.check(resolve_category(&body.category, &categories, "category"));
        }
        filter.channel = match body.channel {
            0 => None,
            n => v.check(
                DemandChannel::from_i32(n)
                    .ok_or_else(|| FieldViolation::new("channel", format!("{n} is not a channel"))),
            ),
        };
        filter.difficulty_tag = match body.difficulty_tag {
            0 => None,
            n => v.check(
                DifficultyTag::from_i32(n)
                    .ok_or_else(|| FieldViolation::new("difficulty_tag", format!("{n} is not a difficulty tag"))),
            ),
        };
        if let Some(period) = &body.period {
            filter.submitted = v.check(period_range(Some(period))).flatten();
        }
        filter.common_issue_id = v.check(optional_id(&body.common_issue_id, "common_issue_id")).flatten();
        filter.unmerged_only = body.unmerged_only;
        filter.district = Some(body.district.trim().to_owned()).filter(|s| !s.is_empty());
        filter.industry = Some(body.industry.trim().to_owned()).filter(|s| !s.is_empty());
        let size = v.check(page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
        let cursor = v.check(DemandCursor::parse(&body.page_token, "page_token")).flatten();
        v.finish()?;

        filter.enterprise_ids = match (scope, enterprise_id) {
            (Scope::All, requested) => requested.map(|id| vec![id]),
            (scope @ Scope::Enterprises(_), Some(id)) => {
                scope.check(Some(&id))?;
                Some(vec![id])
            }
            (Scope::Enterprises(own), None) if own.is_empty() => {
                return Err(ServiceError::PermissionDenied(
                    "the token's org names no registered enterprise (by id or credit code)".into(),
                )
                .into());
            }
            (Scope::Enterprises(own), None) => Some(own),
        };
        let (demands, next, total) =
            self.store.list_demands(&filter, cursor.as_ref(), size.unwrap_or(DEFAULT_PAGE_SIZE)).await?;
        Ok(Response::new(pb::ListDemandsResponse {
            demands: demands.into_iter().map(demand_to_proto).collect(),
            next_page_token: next.map(|c| c.token()).unwrap_or_default(),
            total_size: saturating_i32(total),
        }))
    }

    #[tracing::instrument(skip_all, fields(demand.id))]
    pub(super) async fn update_demand_impl(
        &self,
        request: Request<pb::UpdateDemandRequest>,
    ) -> Result<Response<pb::UpdateDemandResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let demand = body.demand.ok_or_else(|| ServiceError::invalid("demand", "is required"))?;
        let categories = self.store.active_categories().await?;
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&demand.id, "demand.id"))?;
        let paths = body.update_mask.map(|m| m.paths).unwrap_or_default();
        let change = gather(
            &mut v,
            TriageChange::parse(&paths, &demand.category, &demand.difficulty_tags, &categories, "demand"),
        )?;
        let reason = v.check(parse_reason(&body.reason, "reason"));
        v.finish()?;
        let (Some(id), Some(change), Some(reason)) = (id, change, reason) else {
            return Err(ServiceError::internal("a checked update is missing without a violation").into());
        };
        tracing::Span::current().record("demand.id", id.as_str());
        let updated =
            self.store.update_demand(&id, optional_etag(&demand.etag), &change, &reason, &caller.subject).await?;
        self.reindex(std::slice::from_ref(&updated.id), &[]).await;
        Ok(Response::new(pb::UpdateDemandResponse { demand: Some(demand_to_proto(updated)) }))
    }

    #[tracing::instrument(skip_all, fields(demand.id))]
    pub(super) async fn transition_demand_impl(
        &self,
        request: Request<pb::TransitionDemandRequest>,
    ) -> Result<Response<pb::TransitionDemandResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let to = v.check(match DemandStatus::from_i32(body.to_status) {
            Some(DemandStatus::Withdrawn) => {
                Err(FieldViolation::new("to_status", "WITHDRAWN is reached through WithdrawDemand"))
            }
            Some(status) => Ok(status),
            None => Err(FieldViolation::new("to_status", "is required: the status to move to")),
        });
        let reason = v.check(parse_reason(&body.reason, "reason"));
        v.finish()?;
        let (Some(id), Some(to), Some(reason)) = (id, to, reason) else {
            return Err(ServiceError::internal("a checked transition is missing without a violation").into());
        };
        tracing::Span::current().record("demand.id", id.as_str());
        let moved = self.store.change_status(&id, optional_etag(&body.etag), to, &reason, &caller.subject).await?;
        self.reindex(std::slice::from_ref(&moved.id), &[]).await;
        Ok(Response::new(pb::TransitionDemandResponse { demand: Some(demand_to_proto(moved)) }))
    }

    #[tracing::instrument(skip_all, fields(demand.id))]
    pub(super) async fn withdraw_demand_impl(
        &self,
        request: Request<pb::WithdrawDemandRequest>,
    ) -> Result<Response<pb::WithdrawDemandResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&SUBMITTERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let reason = v.check(parse_reason(&body.reason, "reason"));
        v.finish()?;
        let (Some(id), Some(reason)) = (id, reason) else {
            return Err(ServiceError::internal("a checked withdrawal is missing without a violation").into());
        };
        tracing::Span::current().record("demand.id", id.as_str());
        let demand = self.store.get_demand(&id).await?;
        if !caller.has(Role::Staff) && demand.submitter != caller.subject {
            let own = if caller.has(Role::Enterprise) {
                self.store.enterprises_of_organisation(&caller.organisation).await?
            } else {
                Vec::new()
            };
            if !Scope::Enterprises(own).allows(demand.fields.enterprise_id.as_deref()) {
                return Err(ServiceError::PermissionDenied(
                    "only staff, the submitter or the demand's enterprise may withdraw it".into(),
                )
                .into());
            }
        }
        let withdrawn = self
            .store
            .change_status(&id, optional_etag(&body.etag), DemandStatus::Withdrawn, &reason, &caller.subject)
            .await?;
        self.reindex(std::slice::from_ref(&withdrawn.id), &[]).await;
        Ok(Response::new(pb::WithdrawDemandResponse { demand: Some(demand_to_proto(withdrawn)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_demand_history_impl(
        &self,
        request: Request<pb::ListDemandHistoryRequest>,
    ) -> Result<Response<pb::ListDemandHistoryResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let scope = self.scope(&caller).await?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.demand_id, "demand_id"))?;
        let size = v.check(page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
        let after = v.check(parse_history_token(&body.page_token, "page_token"));
        v.finish()?;
        let (Some(id), Some(size), Some(after)) = (id, size, after) else {
            return Err(ServiceError::internal("a checked history request is missing without a violation").into());
        };
        let demand = self.store.get_demand(&id).await?;
        scope.check(demand.fields.enterprise_id.as_deref())?;
        let (entries, next) = self.store.demand_history(&id, after, size).await?;
        Ok(Response::new(pb::ListDemandHistoryResponse {
            entries: entries.into_iter().map(history_to_proto).collect(),
            next_page_token: next.map(history_token).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_enterprise_demand_list_impl(
        &self,
        request: Request<pb::GetEnterpriseDemandListRequest>,
    ) -> Result<Response<pb::GetEnterpriseDemandListResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let scope = self.scope(&caller).await?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.enterprise_id, "enterprise_id"))?;
        let per_group = v.check(page_size(body.max_per_group, DEFAULT_PER_GROUP, MAX_PER_GROUP, "max_per_group"));
        v.finish()?;
        let (Some(id), Some(per_group)) = (id, per_group) else {
            return Err(ServiceError::internal("a checked list request is missing without a violation").into());
        };
        let enterprise = self.store.get_enterprise(&id).await?;
        scope.check(Some(&id))?;
        let list = self.store.enterprise_demand_list(&id, &enterprise.fields.name, per_group).await?;
        Ok(Response::new(pb::GetEnterpriseDemandListResponse { demand_list: Some(list_to_proto(list)) }))
    }
}
