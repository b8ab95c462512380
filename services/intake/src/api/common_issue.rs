//! The common-issue part of the intake API (共性问题, 合并同类项): forming an issue from demands, adding,
//! moving and splitting demands, renaming, reading and listing issues and their history.
//!
//! Who may do what: staff make every change, each with a reason; staff, members, leaders,
//! supervisors and analysts read. Enterprises and netizens do not read common issues (an issue names
//! every enterprise behind it); an enterprise sees its own demand's `common_issue_id`.

use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::Caller;
use tingjian_runtime::error::Violations;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tonic::{Request, Response, Status};

use super::{EDITORS, IntakeApi, READERS, checked, gather, period_range, saturating_i32};
use crate::domain::common_issue::{
    CommonIssue, CommonIssueFilter, CommonIssueHistoryEntry, CommonIssueInput, CommonIssueStatus, IssueTitle,
    MAX_ISSUE_TITLE_CHARS, NewCommonIssue, Reason, etag_version, parse_demand_ids,
};
use crate::domain::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size};

pub(super) fn issue_to_proto(issue: CommonIssue) -> pb::CommonIssue {
    pb::CommonIssue {
        etag: etag(issue.version),
        demand_count: saturating_i32(issue.demand_ids.len()),
        enterprise_count: saturating_i32(issue.enterprise_ids.len()),
        id: issue.id,
        title: issue.title,
        description: issue.description,
        category: issue.category,
        status: issue.status.as_i32(),
        demand_ids: issue.demand_ids,
        enterprise_ids: issue.enterprise_ids,
        created_by: issue.created_by,
        create_time: Some(timestamp(issue.create_time)),
        update_time: Some(timestamp(issue.update_time)),
    }
}

fn history_to_proto(entry: CommonIssueHistoryEntry) -> pb::CommonIssueHistoryEntry {
    pb::CommonIssueHistoryEntry {
        common_issue_id: entry.common_issue_id,
        sequence: entry.sequence,
        action: entry.action.as_i32(),
        demand_ids: entry.demand_ids,
        other_common_issue_id: entry.other_common_issue_id.unwrap_or_default(),
        old_title: entry.old_title,
        new_title: entry.new_title,
        status: entry.status.map_or(0, CommonIssueStatus::as_i32),
        reason: entry.reason,
        actor: entry.actor,
        time: Some(timestamp(entry.time)),
    }
}

impl IntakeApi {
    #[tracing::instrument(skip_all, fields(common_issue.id))]
    pub(super) async fn create_common_issue_impl(
        &self,
        request: Request<pb::CreateCommonIssueRequest>,
    ) -> Result<Response<pb::CreateCommonIssueResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let issue = body.common_issue.unwrap_or_default();
        let categories = self.store.active_categories().await?;
        let mut v = Violations::new();
        let new = gather(
            &mut v,
            NewCommonIssue::parse(
                &CommonIssueInput {
                    title: &issue.title,
                    description: &issue.description,
                    category: &issue.category,
                    demand_ids: &body.demand_ids,
                    reason: &body.reason,
                },
                &categories,
            ),
        )?;
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
        v.finish()?;
        let (new, request_id) = (checked(new)?, checked(request_id)?);
        let created = self.store.create_common_issue(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("common_issue.id", created.id.as_str());
        self.reindex(&created.demand_ids, std::slice::from_ref(&created.id)).await;
        Ok(Response::new(pb::CreateCommonIssueResponse { common_issue: Some(issue_to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_common_issue_impl(
        &self,
        request: Request<pb::GetCommonIssueRequest>,
    ) -> Result<Response<pb::GetCommonIssueResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let issue = self.store.get_common_issue(&id).await?;
        Ok(Response::new(pb::GetCommonIssueResponse { common_issue: Some(issue_to_proto(issue)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_common_issues_impl(
        &self,
        request: Request<pb::ListCommonIssuesRequest>,
    ) -> Result<Response<pb::ListCommonIssuesResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let category = match body.category.trim() {
            "" => None,
            raw => {
                // A category may be named by its code or its Chinese name.
                let categories = self.store.active_categories().await?;
                Some(categories.into_iter().find(|c| c.name == raw).map_or_else(|| raw.to_owned(), |c| c.code))
            }
        };
        let mut statuses = Vec::new();
        for (i, raw) in body.statuses.iter().enumerate() {
            match CommonIssueStatus::from_i32(*raw) {
                Some(status) if !statuses.contains(&status) => statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), "must be OPEN, ADOPTED, ASSIGNED, CLOSED or DISSOLVED"),
            }
        }
        let formed = v.check(period_range(body.period.as_ref()));
        let title_query = match body.title_query.trim() {
            "" => None,
            q if q.chars().count() > MAX_ISSUE_TITLE_CHARS => {
                v.add("title_query", format!("at most {MAX_ISSUE_TITLE_CHARS} characters are allowed"));
                None
            }
            q => Some(q.to_owned()),
        };
        let enterprise_id = match body.enterprise_id.trim() {
            "" => None,
            raw => gather(&mut v, parse_id(raw, "enterprise_id"))?,
        };
        let size = v.check(page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
        v.finish()?;
        let filter = CommonIssueFilter { category, statuses, formed: checked(formed)?, title_query, enterprise_id };
        let (issues, next_page_token, total) =
            self.store.list_common_issues(&filter, checked(size)?, &body.page_token).await?;
        Ok(Response::new(pb::ListCommonIssuesResponse {
            common_issues: issues.into_iter().map(issue_to_proto).collect(),
            next_page_token,
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }

    #[tracing::instrument(skip_all, fields(common_issue.id))]
    pub(super) async fn add_demands_to_common_issue_impl(
        &self,
        request: Request<pb::AddDemandsToCommonIssueRequest>,
    ) -> Result<Response<pb::AddDemandsToCommonIssueResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.common_issue_id, "common_issue_id"))?;
        let demand_ids = gather(&mut v, parse_demand_ids(&body.demand_ids, "demand_ids"))?;
        let reason = v.check(Reason::parse(&body.reason, "reason"));
        v.finish()?;
        let (id, demand_ids, reason) = (checked(id)?, checked(demand_ids)?, checked(reason)?);
        tracing::Span::current().record("common_issue.id", id.as_str());
        let issue = self
            .store
            .add_demands_to_common_issue(&id, &demand_ids, etag_version(&body.etag), &reason, &caller.subject)
            .await?;
        self.reindex(&demand_ids, std::slice::from_ref(&issue.id)).await;
        Ok(Response::new(pb::AddDemandsToCommonIssueResponse { common_issue: Some(issue_to_proto(issue)) }))
    }

    #[tracing::instrument(skip_all, fields(demand.id))]
    pub(super) async fn move_demand_impl(
        &self,
        request: Request<pb::MoveDemandRequest>,
    ) -> Result<Response<pb::MoveDemandResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let demand_id = gather(&mut v, parse_id(&body.demand_id, "demand_id"))?;
        let to = gather(&mut v, parse_id(&body.to_common_issue_id, "to_common_issue_id"))?;
        let reason = v.check(Reason::parse(&body.reason, "reason"));
        v.finish()?;
        let (demand_id, to, reason) = (checked(demand_id)?, checked(to)?, checked(reason)?);
        tracing::Span::current().record("demand.id", demand_id.as_str());
        let (from, to) = self.store.move_demand(&demand_id, &to, &reason, &caller.subject).await?;
        self.reindex(std::slice::from_ref(&demand_id), &[from.id.clone(), to.id.clone()]).await;
        Ok(Response::new(pb::MoveDemandResponse {
            from_common_issue: Some(issue_to_proto(from)),
            to_common_issue: Some(issue_to_proto(to)),
        }))
    }

    #[tracing::instrument(skip_all, fields(common_issue.id))]
    pub(super) async fn split_out_demands_impl(
        &self,
        request: Request<pb::SplitOutDemandsRequest>,
    ) -> Result<Response<pb::SplitOutDemandsResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.common_issue_id, "common_issue_id"))?;
        let demand_ids = gather(&mut v, parse_demand_ids(&body.demand_ids, "demand_ids"))?;
        let new_title = if body.new_title.trim().is_empty() {
            Some(None)
        } else {
            v.check(IssueTitle::parse(&body.new_title, "new_title")).map(Some)
        };
        let reason = v.check(Reason::parse(&body.reason, "reason"));
        v.finish()?;
        let (id, demand_ids, new_title, reason) =
            (checked(id)?, checked(demand_ids)?, checked(new_title)?, checked(reason)?);
        tracing::Span::current().record("common_issue.id", id.as_str());
        let split = self
            .store
            .split_out_demands(&id, &demand_ids, new_title.as_ref(), etag_version(&body.etag), &reason, &caller.subject)
            .await?;
        let mut issues = vec![split.source.id.clone()];
        issues.extend(split.formed.as_ref().map(|f| f.id.clone()));
        self.reindex(&demand_ids, &issues).await;
        Ok(Response::new(pb::SplitOutDemandsResponse {
            source_common_issue: Some(issue_to_proto(split.source)),
            new_common_issue: split.formed.map(issue_to_proto),
        }))
    }

    #[tracing::instrument(skip_all, fields(common_issue.id))]
    pub(super) async fn rename_common_issue_impl(
        &self,
        request: Request<pb::RenameCommonIssueRequest>,
    ) -> Result<Response<pb::RenameCommonIssueResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let title = v.check(IssueTitle::parse(&body.title, "title"));
        let reason = v.check(Reason::parse(&body.reason, "reason"));
        v.finish()?;
        let (id, title, reason) = (checked(id)?, checked(title)?, checked(reason)?);
        tracing::Span::current().record("common_issue.id", id.as_str());
        let issue =
            self.store.rename_common_issue(&id, &title, etag_version(&body.etag), &reason, &caller.subject).await?;
        self.reindex(&[], std::slice::from_ref(&issue.id)).await;
        Ok(Response::new(pb::RenameCommonIssueResponse { common_issue: Some(issue_to_proto(issue)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_common_issue_history_impl(
        &self,
        request: Request<pb::ListCommonIssueHistoryRequest>,
    ) -> Result<Response<pb::ListCommonIssueHistoryResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.common_issue_id, "common_issue_id"))?;
        let size = v.check(page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
        v.finish()?;
        let (entries, next_page_token) =
            self.store.list_common_issue_history(&checked(id)?, checked(size)?, &body.page_token).await?;
        Ok(Response::new(pb::ListCommonIssueHistoryResponse {
            entries: entries.into_iter().map(history_to_proto).collect(),
            next_page_token,
        }))
    }
}
