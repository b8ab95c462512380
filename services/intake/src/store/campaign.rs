//! Campaigns (网上建言献策征集 / 掌上主题议政) in the intake store: campaigns, their participants and
//! posts, and promoting a post into a demand — each change with its event in one transaction.
//!
//! A post counts itself and, for a new author, a participant in the same transaction that checks the
//! campaign is open (one conditional update), so a post never lands in a closed campaign and the
//! counts always equal the rows behind them.

use chrono::{DateTime, SubsecRound, Utc};
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::events::{self, NewEvent};
use tingjian_runtime::storage::{Tx, create_once};
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{ServiceError, on_tx};

use super::demand::insert_demand;
use super::{Arg, Conditions, SERVICE, Store, bump_version};
use crate::domain::campaign::{
    Campaign, CampaignChanges, CampaignKind, CampaignPost, CampaignStatus, NewCampaign, NewPost, PostAuthor,
    PostAuthorKind, Promotion,
};
use crate::domain::demand::{Demand, DemandChannel, NewDemand};
use crate::domain::paging::{PageCursor, time_key};

/// Page-token tag of ListCampaigns.
const CAMPAIGNS_TOKEN: &str = "campaigns/1";
/// Page-token tag of ListCampaignPosts.
const POSTS_TOKEN: &str = "campaign_posts/1";

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: String,
    kind: i32,
    title: String,
    description: String,
    start_time: DateTime<Utc>,
    end_time: DateTime<Utc>,
    close_time: Option<DateTime<Utc>>,
    participant_count: i32,
    post_count: i32,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_CAMPAIGN: &str = "SELECT c.id, c.kind, c.title, c.description, c.start_time, c.end_time, c.close_time, \
     c.participant_count, c.post_count, c.version, c.created_by, c.create_time, c.update_time FROM campaign c";

impl TryFrom<CampaignRow> for Campaign {
    type Error = ServiceError;

    fn try_from(row: CampaignRow) -> Result<Self, Self::Error> {
        let kind = CampaignKind::from_i32(row.kind)
            .ok_or_else(|| ServiceError::internal(format!("stored campaign {} has a bad kind", row.id)))?;
        Ok(Campaign {
            id: row.id,
            kind,
            title: row.title,
            description: row.description,
            start_time: row.start_time,
            end_time: row.end_time,
            close_time: row.close_time,
            participant_count: i64::from(row.participant_count),
            post_count: i64::from(row.post_count),
            version: row.version,
            created_by: row.created_by,
            create_time: row.create_time,
            update_time: row.update_time,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PostRow {
    id: String,
    campaign_id: String,
    author: String,
    author_kind: i32,
    author_display_name: String,
    enterprise_id: Option<String>,
    title: String,
    text: String,
    promoted_demand_id: Option<String>,
    create_time: DateTime<Utc>,
}

const SELECT_POST: &str = "SELECT p.id, p.campaign_id, p.author, p.author_kind, p.author_display_name, \
     p.enterprise_id, p.title, p.text, p.promoted_demand_id, p.create_time FROM campaign_post p";

impl TryFrom<PostRow> for CampaignPost {
    type Error = ServiceError;

    fn try_from(row: PostRow) -> Result<Self, Self::Error> {
        let author_kind = PostAuthorKind::from_i32(row.author_kind)
            .ok_or_else(|| ServiceError::internal(format!("stored campaign post {} has a bad author kind", row.id)))?;
        Ok(CampaignPost {
            id: row.id,
            campaign_id: row.campaign_id,
            author: row.author,
            author_kind,
            author_display_name: row.author_display_name,
            enterprise_id: row.enterprise_id,
            title: row.title,
            text: row.text,
            promoted_demand_id: row.promoted_demand_id,
            create_time: row.create_time,
        })
    }
}

/// The current instant, at the precision both backends store.
fn now() -> DateTime<Utc> {
    tingjian_runtime::clock::now().trunc_subsecs(6)
}

fn campaign_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "campaign", id: id.to_owned() }
}

fn post_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "campaign post", id: id.to_owned() }
}

fn subject(campaign_id: &str) -> String {
    format!("campaigns/{campaign_id}")
}

fn invalid_token(v: tingjian_runtime::FieldViolation) -> ServiceError {
    ServiceError::InvalidArgument(vec![v])
}

async fn campaign_in(tx: &mut Tx, id: &str) -> Result<Option<Campaign>, ServiceError> {
    let sql = format!("{SELECT_CAMPAIGN} WHERE c.id = $1");
    let row: Option<CampaignRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, CampaignRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    row.map(Campaign::try_from).transpose()
}

async fn post_in(tx: &mut Tx, id: &str) -> Result<Option<CampaignPost>, ServiceError> {
    let sql = format!("{SELECT_POST} WHERE p.id = $1");
    let row: Option<PostRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, PostRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    row.map(CampaignPost::try_from).transpose()
}

/// Bumps a campaign's revision (locking it) and returns it as it is now.
async fn bump_campaign(tx: &mut Tx, id: &str, now: DateTime<Utc>) -> Result<Campaign, ServiceError> {
    if !bump_version(tx, "campaign", id, now).await? {
        return Err(campaign_not_found(id));
    }
    campaign_in(tx, id).await?.ok_or_else(|| campaign_not_found(id))
}

/// `Ok` if the caller's etag names the revision before this transaction's bump.
fn check_etag(campaign: &Campaign, expected: Option<i64>) -> Result<(), ServiceError> {
    match expected {
        Some(expected) if expected != campaign.version - 1 => Err(ServiceError::Aborted(format!(
            "campaign {} has changed since it was read (its etag is now v{}); re-read it and retry",
            campaign.id,
            campaign.version - 1
        ))),
        _ => Ok(()),
    }
}

impl Store {
    /// Creates a campaign. A repeated `request_id` with the same request returns the first campaign;
    /// with a different request it is ALREADY_EXISTS.
    pub async fn create_campaign(
        &self,
        new: &NewCampaign,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Campaign, ServiceError> {
        let fingerprint = new.fingerprint();
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO campaign (id, kind, title, description, start_time, end_time, version, request_id, \
                     request_payload, created_by, create_time, update_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9, $10, $10)",
                )
                .bind(&id)
                .bind(new.kind.as_i32())
                .bind(&new.title)
                .bind(&new.description)
                .bind(new.start_time)
                .bind(new.end_time)
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            let payload = pb::CampaignOpened {
                campaign_id: id.clone(),
                kind: new.kind.as_i32(),
                title: new.title.clone(),
                start_time: Some(timestamp(new.start_time)),
                end_time: Some(timestamp(new.end_time)),
                actor: actor.to_owned(),
            };
            let event = NewEvent::new("campaign_opened", subject(&id), "tingjian.intake.v1.CampaignOpened", &payload);
            events::record(&mut tx, SERVICE, event).await?;
            let campaign = campaign_in(&mut tx, &id).await?.ok_or_else(|| campaign_not_found(&id))?;
            tx.commit().await?;
            Ok(campaign)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    match self.created_with("campaign", "request_payload", &request_id).await? {
                        None => Ok(None),
                        Some((id, payload)) if payload.as_deref() == Some(fingerprint.as_str()) => {
                            self.get_campaign(&id).await.map(Some)
                        }
                        Some((id, _)) => Err(ServiceError::AlreadyExists(format!(
                            "request_id {request_id} was already used to create campaign {id} from a different request"
                        ))),
                    }
                }
            },
            insert,
            || ServiceError::AlreadyExists("the campaign conflicts with an existing one".into()),
        )
        .await
    }

    /// A campaign by id, with its counts.
    pub async fn get_campaign(&self, id: &str) -> Result<Campaign, ServiceError> {
        let sql = format!("{SELECT_CAMPAIGN} WHERE c.id = $1");
        let row: Option<CampaignRow> = tingjian_runtime::on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| campaign_not_found(id))?.try_into()
    }

    /// Campaigns in any of `statuses` (all when empty) at `now` and of `kind` (any when `None`), newest
    /// first, a page of at most `page_size` after `page_token`; with the next page's token.
    pub async fn list_campaigns(
        &self,
        statuses: &[CampaignStatus],
        kind: Option<CampaignKind>,
        page_size: usize,
        page_token: &str,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Campaign>, String), ServiceError> {
        let cursor = PageCursor::decode(page_token, CAMPAIGNS_TOKEN, 2, "page_token").map_err(invalid_token)?;
        let mut c = Conditions::default();
        if !statuses.is_empty() {
            let p = c.arg(Arg::Time(now));
            let any: Vec<String> = statuses
                .iter()
                .map(|status| match status {
                    CampaignStatus::Scheduled => format!("(c.close_time IS NULL AND c.start_time > {p})"),
                    CampaignStatus::Open => {
                        format!("(c.close_time IS NULL AND c.start_time <= {p} AND c.end_time > {p})")
                    }
                    CampaignStatus::Closed => format!("(c.close_time IS NOT NULL OR c.end_time <= {p})"),
                })
                .collect();
            c.push(format!("({})", any.join(" OR ")));
        }
        if let Some(kind) = kind {
            let p = c.arg(Arg::Int(kind.as_i32()));
            c.push(format!("c.kind = {p}"));
        }
        if let Some(cursor) = &cursor {
            let time = cursor.time(0, "page_token").map_err(invalid_token)?;
            c.after("c.create_time", Arg::Time(time), "c.id", &cursor.keys[1], true);
        }
        let limit = i64::try_from(page_size + 1).unwrap_or(i64::MAX);
        let sql = format!("{SELECT_CAMPAIGN}{} ORDER BY c.create_time DESC, c.id DESC LIMIT {limit}", c.where_sql());
        let mut rows: Vec<CampaignRow> = tingjian_runtime::on_pool!(&self.db, pool => {
            bind_all!(sqlx::query_as::<_, CampaignRow>(&sql), c.args()).fetch_all(pool).await
        })?;
        let token = PageCursor::next_page(&mut rows, page_size, CAMPAIGNS_TOKEN, |r| {
            vec![time_key(r.create_time), r.id.clone()]
        });
        let campaigns = rows.into_iter().map(Campaign::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok((campaigns, token))
    }

    /// Changes a campaign's fields (see [`CampaignChanges::apply`]); the etag is checked when given.
    pub async fn update_campaign(
        &self,
        id: &str,
        changes: &CampaignChanges,
        expected_version: Option<i64>,
    ) -> Result<Campaign, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let current = bump_campaign(&mut tx, id, now).await?;
        check_etag(&current, expected_version)?;
        let next = changes.apply(&current, now, "campaign")?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE campaign SET title = $2, description = $3, start_time = $4, end_time = $5 WHERE id = $1")
                .bind(id)
                .bind(&next.title)
                .bind(&next.description)
                .bind(next.start_time)
                .bind(next.end_time)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        let campaign = campaign_in(&mut tx, id).await?.ok_or_else(|| campaign_not_found(id))?;
        tx.commit().await?;
        Ok(campaign)
    }

    /// Closes a campaign early; one already CLOSED is FAILED_PRECONDITION.
    pub async fn close_campaign(
        &self,
        id: &str,
        reason: &str,
        expected_version: Option<i64>,
        actor: &str,
    ) -> Result<Campaign, ServiceError> {
        let now = now();
        let mut tx = self.db.begin().await?;
        let current = bump_campaign(&mut tx, id, now).await?;
        check_etag(&current, expected_version)?;
        if current.status_at(now) == CampaignStatus::Closed {
            return Err(ServiceError::FailedPrecondition(format!("campaign {id} is already CLOSED")));
        }
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE campaign SET close_time = $2, close_reason = $3, closed_by = $4 WHERE id = $1")
                .bind(id)
                .bind(now)
                .bind(reason)
                .bind(actor)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        let campaign = campaign_in(&mut tx, id).await?.ok_or_else(|| campaign_not_found(id))?;
        let payload = pb::CampaignClosed {
            campaign_id: id.to_owned(),
            participant_count: i32::try_from(campaign.participant_count).unwrap_or(i32::MAX),
            post_count: i32::try_from(campaign.post_count).unwrap_or(i32::MAX),
            actor: actor.to_owned(),
        };
        let event = NewEvent::new("campaign_closed", subject(id), "tingjian.intake.v1.CampaignClosed", &payload);
        events::record(&mut tx, SERVICE, event).await?;
        tx.commit().await?;
        Ok(campaign)
    }

    /// Posts to an open campaign (FAILED_PRECONDITION saying why when it is not), counting the post and,
    /// for a first post by its author, a participant. A repeated `request_id` with the same request
    /// returns the first post; with a different request it is ALREADY_EXISTS.
    pub async fn create_campaign_post(
        &self,
        campaign_id: &str,
        new: &NewPost,
        author: &PostAuthor,
        request_id: Option<&str>,
    ) -> Result<CampaignPost, ServiceError> {
        let fingerprint = new.fingerprint(campaign_id, &author.subject);
        let insert = async {
            let id = tingjian_runtime::wire::new_id();
            let now = now();
            let mut tx = self.db.begin().await?;
            let counted = on_tx!(&mut tx, conn => {
                sqlx::query(
                    "UPDATE campaign SET post_count = post_count + 1 \
                     WHERE id = $1 AND close_time IS NULL AND start_time <= $2 AND end_time > $2",
                )
                .bind(campaign_id)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            if counted == 0 {
                let campaign =
                    campaign_in(&mut tx, campaign_id).await?.ok_or_else(|| campaign_not_found(campaign_id))?;
                campaign.check_open(now)?;
                return Err(ServiceError::Aborted(format!("campaign {campaign_id} changed while posting; retry")));
            }
            let first = on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO campaign_participant (campaign_id, author, first_post_time) VALUES ($1, $2, $3) \
                     ON CONFLICT (campaign_id, author) DO NOTHING",
                )
                .bind(campaign_id)
                .bind(&author.subject)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            if first > 0 {
                on_tx!(&mut tx, conn => {
                    sqlx::query("UPDATE campaign SET participant_count = participant_count + 1 WHERE id = $1")
                        .bind(campaign_id)
                        .execute(&mut **conn)
                        .await
                        .map(|_| ())
                })?;
            }
            on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO campaign_post (id, campaign_id, author, author_kind, author_display_name, \
                     enterprise_id, title, text, request_id, request_payload, create_time) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(&id)
                .bind(campaign_id)
                .bind(&author.subject)
                .bind(author.kind.as_i32())
                .bind(&new.author_display_name)
                .bind(author.enterprise_id.as_deref())
                .bind(&new.title)
                .bind(&new.text)
                .bind(request_id)
                .bind(request_id.map(|_| fingerprint.as_str()))
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
            })?;
            let payload = pb::CampaignPostCreated {
                post_id: id.clone(),
                campaign_id: campaign_id.to_owned(),
                author: author.subject.clone(),
                author_kind: author.kind.as_i32(),
                enterprise_id: author.enterprise_id.clone().unwrap_or_default(),
            };
            let event = NewEvent::new(
                "campaign_post_created",
                subject(campaign_id),
                "tingjian.intake.v1.CampaignPostCreated",
                &payload,
            );
            events::record(&mut tx, SERVICE, event).await?;
            let post = post_in(&mut tx, &id).await?.ok_or_else(|| post_not_found(&id))?;
            tx.commit().await?;
            Ok(post)
        };
        create_once(
            request_id,
            |request_id| {
                let fingerprint = fingerprint.clone();
                async move {
                    match self.created_with("campaign_post", "request_payload", &request_id).await? {
                        None => Ok(None),
                        Some((id, payload)) if payload.as_deref() == Some(fingerprint.as_str()) => {
                            self.get_campaign_post(&id).await.map(Some)
                        }
                        Some((id, _)) => Err(ServiceError::AlreadyExists(format!(
                            "request_id {request_id} was already used for campaign post {id} with a different request"
                        ))),
                    }
                }
            },
            insert,
            || ServiceError::AlreadyExists("the post conflicts with an existing one".into()),
        )
        .await
    }

    /// A campaign post by id.
    pub async fn get_campaign_post(&self, id: &str) -> Result<CampaignPost, ServiceError> {
        let sql = format!("{SELECT_POST} WHERE p.id = $1");
        let row: Option<PostRow> = tingjian_runtime::on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| post_not_found(id))?.try_into()
    }

    /// A campaign's posts, oldest first, by `author_kind` (any when `None`), only those not yet promoted
    /// when `unpromoted_only`; a page of at most `page_size` after `page_token`, with the next token.
    pub async fn list_campaign_posts(
        &self,
        campaign_id: &str,
        author_kind: Option<PostAuthorKind>,
        unpromoted_only: bool,
        page_size: usize,
        page_token: &str,
    ) -> Result<(Vec<CampaignPost>, String), ServiceError> {
        let cursor = PageCursor::decode(page_token, POSTS_TOKEN, 2, "page_token").map_err(invalid_token)?;
        self.get_campaign(campaign_id).await?;
        let mut c = Conditions::default();
        let p = c.arg(Arg::Text(campaign_id.to_owned()));
        c.push(format!("p.campaign_id = {p}"));
        if let Some(kind) = author_kind {
            let p = c.arg(Arg::Int(kind.as_i32()));
            c.push(format!("p.author_kind = {p}"));
        }
        if unpromoted_only {
            c.push("p.promoted_demand_id IS NULL");
        }
        if let Some(cursor) = &cursor {
            let time = cursor.time(0, "page_token").map_err(invalid_token)?;
            c.after("p.create_time", Arg::Time(time), "p.id", &cursor.keys[1], false);
        }
        let limit = i64::try_from(page_size + 1).unwrap_or(i64::MAX);
        let sql = format!("{SELECT_POST}{} ORDER BY p.create_time, p.id LIMIT {limit}", c.where_sql());
        let mut rows: Vec<PostRow> = tingjian_runtime::on_pool!(&self.db, pool => {
            bind_all!(sqlx::query_as::<_, PostRow>(&sql), c.args()).fetch_all(pool).await
        })?;
        let token =
            PageCursor::next_page(&mut rows, page_size, POSTS_TOKEN, |r| vec![time_key(r.create_time), r.id.clone()]);
        let posts = rows.into_iter().map(CampaignPost::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok((posts, token))
    }

    /// Promotes a post into a demand (channel CAMPAIGN, origin the post), linked both ways, with the
    /// DemandSubmitted and CampaignPostPromoted events. A post already promoted returns the first
    /// demand unchanged: the post's row is locked first, so concurrent promotions make one demand.
    pub async fn promote_post_to_demand(
        &self,
        post_id: &str,
        promotion: &Promotion,
        actor: &str,
    ) -> Result<(Demand, CampaignPost), ServiceError> {
        let post = self.get_campaign_post(post_id).await?;
        if let Some(demand_id) = &post.promoted_demand_id {
            return Ok((self.get_demand(demand_id).await?, post));
        }
        let enterprise_id = promotion.enterprise_id.clone().or_else(|| post.enterprise_id.clone());
        let (district, industry) = match &enterprise_id {
            Some(id) => {
                let enterprise = self.get_enterprise(id).await?;
                (enterprise.fields.district, enterprise.fields.industry)
            }
            None => (String::new(), String::new()),
        };
        let new = NewDemand {
            enterprise_id,
            title: post.demand_title(&promotion.title),
            text: post.text.clone(),
            category: promotion.category.clone(),
            difficulty_tags: promotion.difficulty_tags.clone(),
            channel: DemandChannel::Campaign,
            origin_id: Some(post.id.clone()),
        };
        let now = now();
        let mut tx = self.db.begin().await?;
        let locked = on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE campaign_post SET promoted_demand_id = promoted_demand_id WHERE id = $1")
                .bind(post_id)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
        })?;
        if locked == 0 {
            return Err(post_not_found(post_id));
        }
        let current = post_in(&mut tx, post_id).await?.ok_or_else(|| post_not_found(post_id))?;
        if let Some(demand_id) = &current.promoted_demand_id {
            tx.rollback().await?;
            return Ok((self.get_demand(demand_id).await?, current));
        }
        let payload = new.fingerprint(actor);
        let request = promotion.request_id.as_deref().map(|r| (r, payload.as_str()));
        let demand = insert_demand(&mut tx, &new, request, actor, &district, &industry).await.map_err(|e| match e {
            ServiceError::AlreadyExists(_) => ServiceError::AlreadyExists(format!(
                "request_id {} was already used for another demand; use a new request id",
                promotion.request_id.as_deref().unwrap_or_default()
            )),
            other => other,
        })?;
        on_tx!(&mut tx, conn => {
            sqlx::query("UPDATE campaign_post SET promoted_demand_id = $2, promoted_by = $3, promote_time = $4 WHERE id = $1")
                .bind(post_id)
                .bind(&demand.id)
                .bind(actor)
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|_| ())
        })?;
        let payload = pb::CampaignPostPromoted {
            post_id: post_id.to_owned(),
            campaign_id: current.campaign_id.clone(),
            demand_id: demand.id.clone(),
            actor: actor.to_owned(),
        };
        let event = NewEvent::new(
            "campaign_post_promoted",
            subject(&current.campaign_id),
            "tingjian.intake.v1.CampaignPostPromoted",
            &payload,
        );
        events::record(&mut tx, SERVICE, event).await?;
        let promoted = post_in(&mut tx, post_id).await?.ok_or_else(|| post_not_found(post_id))?;
        tx.commit().await?;
        Ok((demand, promoted))
    }
}
