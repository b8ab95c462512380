//! The campaign part of the intake API (网上建言献策征集 / 掌上主题议政): campaigns with their window,
//! posts by participants, and promoting a post into a demand.
//!
//! Who may do what: staff create, update and close campaigns and promote posts; netizens, members,
//! enterprises and staff post while a campaign is open; every authenticated caller reads campaigns
//! and posts. A post's author subject and enterprise are shown to staff, members, leaders,
//! supervisors and analysts, and to the author; others see the display name only.

use chrono::{DateTime, Utc};
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::demand::demand_to_proto;
use super::{EDITORS, IntakeApi, READERS, checked, gather, has_any, read_instant, saturating_i32};
use crate::domain::campaign::{
    CAMPAIGN_UPDATE_FIELDS, Campaign, CampaignChanges, CampaignInput, CampaignKind, CampaignPost, CampaignStatus,
    MAX_CLOSE_REASON_CHARS, NewCampaign, NewPost, PostAuthor, PostAuthorKind, Promotion, campaign_description,
    campaign_title, window_time,
};
use crate::domain::common_issue::{IssueTitle, etag_version};
use crate::domain::demand::{DifficultyTags, resolve_category};
use crate::domain::enterprise::free_text;
use crate::domain::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, page_size};

fn campaign_to_proto(c: Campaign, now: DateTime<Utc>) -> pb::Campaign {
    pb::Campaign {
        status: c.status_at(now).as_i32(),
        etag: etag(c.version),
        id: c.id,
        kind: c.kind.as_i32(),
        title: c.title,
        description: c.description,
        start_time: Some(timestamp(c.start_time)),
        end_time: Some(timestamp(c.end_time)),
        participant_count: saturating_i32(c.participant_count),
        post_count: saturating_i32(c.post_count),
        close_time: c.close_time.map(timestamp),
        created_by: c.created_by,
        create_time: Some(timestamp(c.create_time)),
        update_time: Some(timestamp(c.update_time)),
    }
}

/// A post for `caller`: the author's subject and enterprise only for those who may see them.
fn post_to_proto(p: CampaignPost, caller: &Caller) -> pb::CampaignPost {
    let reveal = p.author == caller.subject || has_any(caller, &READERS);
    pb::CampaignPost {
        id: p.id,
        campaign_id: p.campaign_id,
        author: if reveal { p.author } else { String::new() },
        author_kind: p.author_kind.as_i32(),
        author_display_name: p.author_display_name,
        enterprise_id: if reveal { p.enterprise_id.unwrap_or_default() } else { String::new() },
        title: p.title,
        text: p.text,
        promoted_demand_id: p.promoted_demand_id.unwrap_or_default(),
        create_time: Some(timestamp(p.create_time)),
    }
}

impl IntakeApi {
    /// Who `caller` posts as: an enterprise (its own, by the token's org), a member, staff or a
    /// netizen; PERMISSION_DENIED for other roles.
    async fn campaign_post_author(&self, caller: &Caller) -> Result<PostAuthor, ServiceError> {
        let author = |kind, enterprise_id| PostAuthor { subject: caller.subject.clone(), kind, enterprise_id };
        if caller.has(Role::Enterprise)
            && let Some(own) = self.store.enterprises_of_organisation(&caller.organisation).await?.into_iter().next()
        {
            return Ok(author(PostAuthorKind::Enterprise, Some(own)));
        }
        for (role, kind) in [
            (Role::Member, PostAuthorKind::Member),
            (Role::Staff, PostAuthorKind::Staff),
            (Role::Netizen, PostAuthorKind::Netizen),
        ] {
            if caller.has(role) {
                return Ok(author(kind, None));
            }
        }
        if caller.has(Role::Enterprise) {
            return Err(ServiceError::PermissionDenied(format!(
                "the caller's organisation {:?} is not a registered enterprise (by id or credit code)",
                caller.organisation
            )));
        }
        Err(ServiceError::PermissionDenied(
            "posting to a campaign needs one of the roles: netizen, member, enterprise, staff".into(),
        ))
    }

    #[tracing::instrument(skip_all, fields(campaign.id))]
    pub(super) async fn create_campaign_impl(
        &self,
        request: Request<pb::CreateCampaignRequest>,
    ) -> Result<Response<pb::CreateCampaignResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let campaign = body.campaign.unwrap_or_default();
        let mut v = Violations::new();
        let start_time = v.check(read_instant(campaign.start_time.as_ref(), "campaign.start_time")).flatten();
        let end_time = v.check(read_instant(campaign.end_time.as_ref(), "campaign.end_time")).flatten();
        v.finish()?;
        let mut v = Violations::new();
        let new = gather(
            &mut v,
            NewCampaign::parse(
                &CampaignInput {
                    kind: campaign.kind,
                    title: &campaign.title,
                    description: &campaign.description,
                    start_time,
                    end_time,
                },
                "campaign",
            ),
        )?;
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
        v.finish()?;
        let (new, request_id) = (checked(new)?, checked(request_id)?);
        let created = self.store.create_campaign(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("campaign.id", created.id.as_str());
        Ok(Response::new(pb::CreateCampaignResponse {
            campaign: Some(campaign_to_proto(created, tingjian_runtime::clock::now())),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_campaign_impl(
        &self,
        request: Request<pb::GetCampaignRequest>,
    ) -> Result<Response<pb::GetCampaignResponse>, Status> {
        Caller::of(&request)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let campaign = self.store.get_campaign(&id).await?;
        Ok(Response::new(pb::GetCampaignResponse {
            campaign: Some(campaign_to_proto(campaign, tingjian_runtime::clock::now())),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_campaigns_impl(
        &self,
        request: Request<pb::ListCampaignsRequest>,
    ) -> Result<Response<pb::ListCampaignsResponse>, Status> {
        Caller::of(&request)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let mut statuses = Vec::new();
        for (i, raw) in body.statuses.iter().enumerate() {
            match CampaignStatus::from_i32(*raw) {
                Some(status) if !statuses.contains(&status) => statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), "must be SCHEDULED, OPEN or CLOSED"),
            }
        }
        let kind = match body.kind {
            0 => None,
            n => {
                let kind = CampaignKind::from_i32(n);
                if kind.is_none() {
                    v.add("kind", "must be SOLICITATION or THEMED_DISCUSSION, or unspecified for any");
                }
                kind
            }
        };
        let size = v.check(page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
        v.finish()?;
        let now = tingjian_runtime::clock::now();
        let (campaigns, next_page_token) =
            self.store.list_campaigns(&statuses, kind, checked(size)?, &body.page_token, now).await?;
        Ok(Response::new(pb::ListCampaignsResponse {
            campaigns: campaigns.into_iter().map(|c| campaign_to_proto(c, now)).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(campaign.id))]
    pub(super) async fn update_campaign_impl(
        &self,
        request: Request<pb::UpdateCampaignRequest>,
    ) -> Result<Response<pb::UpdateCampaignResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let campaign = body.campaign.unwrap_or_default();
        let paths = body.update_mask.map(|m| m.paths).unwrap_or_default();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&campaign.id, "campaign.id"))?;
        if paths.is_empty() {
            v.add(
                "update_mask",
                format!("is required: name the fields to change ({})", CAMPAIGN_UPDATE_FIELDS.join(", ")),
            );
        }
        let mut changes = CampaignChanges::default();
        for path in &paths {
            let name = path.trim().strip_prefix("campaign.").unwrap_or(path.trim());
            match name {
                "title" => changes.title = v.check(campaign_title(&campaign.title, "campaign.title")),
                "description" => {
                    changes.description = v.check(campaign_description(&campaign.description, "campaign.description"))
                }
                "start_time" => {
                    let t = v.check(read_instant(campaign.start_time.as_ref(), "campaign.start_time")).flatten();
                    changes.start_time = v.check(window_time(t, "campaign.start_time"));
                }
                "end_time" => {
                    let t = v.check(read_instant(campaign.end_time.as_ref(), "campaign.end_time")).flatten();
                    changes.end_time = v.check(window_time(t, "campaign.end_time"));
                }
                other => v.add(
                    "update_mask",
                    format!("{other:?} cannot be changed; updatable fields: {}", CAMPAIGN_UPDATE_FIELDS.join(", ")),
                ),
            }
        }
        v.finish()?;
        let id = checked(id)?;
        tracing::Span::current().record("campaign.id", id.as_str());
        let updated = self.store.update_campaign(&id, &changes, etag_version(&campaign.etag)).await?;
        Ok(Response::new(pb::UpdateCampaignResponse {
            campaign: Some(campaign_to_proto(updated, tingjian_runtime::clock::now())),
        }))
    }

    #[tracing::instrument(skip_all, fields(campaign.id))]
    pub(super) async fn close_campaign_impl(
        &self,
        request: Request<pb::CloseCampaignRequest>,
    ) -> Result<Response<pb::CloseCampaignResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let reason = v.check(
            free_text(&body.reason, MAX_CLOSE_REASON_CHARS, false).map_err(|e| FieldViolation::new("reason", e)),
        );
        v.finish()?;
        let (id, reason) = (checked(id)?, checked(reason)?);
        tracing::Span::current().record("campaign.id", id.as_str());
        let closed = self.store.close_campaign(&id, &reason, etag_version(&body.etag), &caller.subject).await?;
        Ok(Response::new(pb::CloseCampaignResponse {
            campaign: Some(campaign_to_proto(closed, tingjian_runtime::clock::now())),
        }))
    }

    #[tracing::instrument(skip_all, fields(campaign.id))]
    pub(super) async fn create_campaign_post_impl(
        &self,
        request: Request<pb::CreateCampaignPostRequest>,
    ) -> Result<Response<pb::CreateCampaignPostResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let author = self.campaign_post_author(&caller).await?;
        let body = request.into_inner();
        let post = body.post.unwrap_or_default();
        let mut v = Violations::new();
        let campaign_id = gather(&mut v, parse_id(&body.campaign_id, "campaign_id"))?;
        let new = gather(&mut v, NewPost::parse(&post.author_display_name, &post.title, &post.text, "post"))?;
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
        v.finish()?;
        let (campaign_id, new, request_id) = (checked(campaign_id)?, checked(new)?, checked(request_id)?);
        tracing::Span::current().record("campaign.id", campaign_id.as_str());
        let created = self.store.create_campaign_post(&campaign_id, &new, &author, request_id.as_deref()).await?;
        Ok(Response::new(pb::CreateCampaignPostResponse { post: Some(post_to_proto(created, &caller)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_campaign_posts_impl(
        &self,
        request: Request<pb::ListCampaignPostsRequest>,
    ) -> Result<Response<pb::ListCampaignPostsResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let body = request.into_inner();
        let mut v = Violations::new();
        let campaign_id = gather(&mut v, parse_id(&body.campaign_id, "campaign_id"))?;
        let author_kind = match body.author_kind {
            0 => None,
            n => {
                let kind = PostAuthorKind::from_i32(n);
                if kind.is_none() {
                    v.add("author_kind", "must be NETIZEN, MEMBER, ENTERPRISE or STAFF, or unspecified for any");
                }
                kind
            }
        };
        let size = v.check(page_size(body.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
        v.finish()?;
        let (posts, next_page_token) = self
            .store
            .list_campaign_posts(
                &checked(campaign_id)?,
                author_kind,
                body.unpromoted_only,
                checked(size)?,
                &body.page_token,
            )
            .await?;
        Ok(Response::new(pb::ListCampaignPostsResponse {
            posts: posts.into_iter().map(|p| post_to_proto(p, &caller)).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(campaign_post.id))]
    pub(super) async fn promote_post_to_demand_impl(
        &self,
        request: Request<pb::PromotePostToDemandRequest>,
    ) -> Result<Response<pb::PromotePostToDemandResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&EDITORS)?;
        let body = request.into_inner();
        let categories = self.store.active_categories().await?;
        let mut v = Violations::new();
        let post_id = gather(&mut v, parse_id(&body.post_id, "post_id"))?;
        let enterprise_id = match body.enterprise_id.trim() {
            "" => Some(None),
            raw => gather(&mut v, parse_id(raw, "enterprise_id"))?.map(Some),
        };
        let category = v.check(resolve_category(&body.category, &categories, "category"));
        let title = if body.title.trim().is_empty() {
            Some(String::new())
        } else {
            v.check(IssueTitle::parse(&body.title, "title")).map(|t| t.as_str().to_owned())
        };
        let difficulty_tags = v.check(DifficultyTags::parse(&body.difficulty_tags, "difficulty_tags"));
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?;
        v.finish()?;
        let post_id = checked(post_id)?;
        tracing::Span::current().record("campaign_post.id", post_id.as_str());
        let promotion = Promotion {
            enterprise_id: checked(enterprise_id)?,
            category: checked(category)?,
            title: checked(title)?,
            difficulty_tags: checked(difficulty_tags)?,
            request_id: checked(request_id)?,
        };
        let (demand, post) = self.store.promote_post_to_demand(&post_id, &promotion, &caller.subject).await?;
        self.reindex(std::slice::from_ref(&demand.id), &[]).await;
        Ok(Response::new(pb::PromotePostToDemandResponse {
            demand: Some(demand_to_proto(demand)),
            post: Some(post_to_proto(post, &caller)),
        }))
    }
}
