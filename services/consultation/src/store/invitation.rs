//! Stored invitations. Every change first takes the topic's row lock (so proposals, decisions and a
//! withdrawal of the topic never interleave), then writes the invitations.

use chrono::{DateTime, Utc};
use tingjian_runtime::paging::{Page, PageRequest};
use tingjian_runtime::storage::Tx;
use tingjian_runtime::{ServiceError, on_tx};

use super::Store;
use super::topic::{Bind, hold_topic, now, topic_not_found};
use crate::domain::invitation::{Basis, Invitation, InvitationStatus, InviteeKind, NewInvitee, Proposal};
use crate::domain::topic::TopicStatus;

#[derive(sqlx::FromRow)]
struct InvitationRow {
    id: String,
    topic_id: String,
    invitee_kind: i32,
    invitee_id: String,
    display_name: String,
    basis: i32,
    reason: String,
    rank: i32,
    status: i32,
    decided_by: String,
    decision_reason: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

const SELECT_INVITATION: &str = "SELECT i.id, i.topic_id, i.invitee_kind, i.invitee_id, i.display_name, i.basis, \
     i.reason, i.rank, i.status, i.decided_by, i.decision_reason, i.create_time, i.update_time FROM invitation i";

/// The list order: proposals by rank, then staff additions (rank 0) in the order they were added.
const ORDER_KEY: &str = "(CASE WHEN i.rank = 0 THEN 2147483647 ELSE i.rank END)";

impl TryFrom<InvitationRow> for Invitation {
    type Error = ServiceError;

    fn try_from(row: InvitationRow) -> Result<Self, Self::Error> {
        let bad = |what: &str| ServiceError::internal(format!("stored invitation {} has a bad {what}", row.id));
        Ok(Invitation {
            invitee_kind: InviteeKind::from_i32(row.invitee_kind).ok_or_else(|| bad("invitee kind"))?,
            basis: Basis::from_i32(row.basis).ok_or_else(|| bad("basis"))?,
            status: InvitationStatus::from_i32(row.status).ok_or_else(|| bad("status"))?,
            id: row.id,
            topic_id: row.topic_id,
            invitee_id: row.invitee_id,
            display_name: row.display_name,
            reason: row.reason,
            rank: row.rank,
            decided_by: row.decided_by,
            decision_reason: row.decision_reason,
            create_time: row.create_time,
            update_time: row.update_time,
        })
    }
}

fn invitation_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "invitation", id: id.to_owned() }
}

async fn invitation(tx: &mut Tx, id: &str) -> Result<Invitation, ServiceError> {
    let sql = format!("{SELECT_INVITATION} WHERE i.id = $1");
    let row: Option<InvitationRow> =
        on_tx!(tx, conn => sqlx::query_as::<_, InvitationRow>(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    row.map(Invitation::try_from).transpose()?.ok_or_else(|| invitation_not_found(id))
}

/// The topic's invitation of `kind`/`invitee_id`, if any.
async fn invitation_of(
    tx: &mut Tx,
    topic_id: &str,
    kind: InviteeKind,
    invitee_id: &str,
) -> Result<Option<Invitation>, ServiceError> {
    let sql = format!("{SELECT_INVITATION} WHERE i.topic_id = $1 AND i.invitee_kind = $2 AND i.invitee_id = $3");
    let row: Option<InvitationRow> = on_tx!(tx, conn => {
        sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(topic_id)
            .bind(kind.as_i32())
            .bind(invitee_id)
            .fetch_optional(&mut **conn)
            .await
    })?;
    row.map(Invitation::try_from).transpose()
}

/// Takes the row lock of the topic of invitation `id`; the topic's id and status.
async fn hold_topic_of(tx: &mut Tx, id: &str) -> Result<(String, TopicStatus), ServiceError> {
    let found: Option<(String, i32)> = on_tx!(tx, conn => {
        sqlx::query_as(
            "UPDATE topic SET status = status WHERE id = (SELECT topic_id FROM invitation WHERE id = $1) \
             RETURNING id, status",
        )
        .bind(id)
        .fetch_optional(&mut **conn)
        .await
    })?;
    let (topic_id, status) = found.ok_or_else(|| invitation_not_found(id))?;
    let status = TopicStatus::from_i32(status)
        .ok_or_else(|| ServiceError::internal(format!("stored topic {topic_id} has a bad status")))?;
    Ok((topic_id, status))
}

async fn set_decision(
    tx: &mut Tx,
    id: &str,
    status: InvitationStatus,
    actor: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    on_tx!(tx, conn => {
        sqlx::query(
            "UPDATE invitation SET status = $2, decided_by = $3, decision_reason = $4, update_time = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(status.as_i32())
        .bind(actor)
        .bind(reason)
        .bind(now)
        .execute(&mut **conn)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

impl Store {
    /// Every invitee of a topic (any decision): who may not be proposed again.
    pub async fn invitees(&self, topic_id: &str) -> Result<Vec<(InviteeKind, String)>, ServiceError> {
        let rows: Vec<(i32, String)> = tingjian_runtime::on_pool!(&self.db, pool => {
            sqlx::query_as("SELECT invitee_kind, invitee_id FROM invitation WHERE topic_id = $1")
                .bind(topic_id)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().filter_map(|(kind, id)| InviteeKind::from_i32(kind).map(|kind| (kind, id))).collect())
    }

    /// Records new proposals after the topic's existing ones (ranks continue from the highest); an
    /// invitee invited meanwhile is skipped. FAILED_PRECONDITION when the topic is withdrawn.
    pub async fn add_proposals(&self, topic_id: &str, proposals: &[Proposal]) -> Result<(), ServiceError> {
        let mut tx = self.db.begin().await?;
        hold_topic(&mut tx, topic_id).await?.check_open(topic_id)?;
        let mut rank: i32 = on_tx!(&mut tx, conn => {
            sqlx::query_scalar("SELECT COALESCE(MAX(rank), 0) FROM invitation WHERE topic_id = $1")
                .bind(topic_id)
                .fetch_one(&mut **conn)
                .await
        })?;
        let now = now();
        for proposal in proposals {
            let id = tingjian_runtime::wire::new_id();
            let inserted = on_tx!(&mut tx, conn => {
                sqlx::query(
                    "INSERT INTO invitation (id, topic_id, invitee_kind, invitee_id, display_name, basis, reason, rank, \
                     status, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                     ON CONFLICT (topic_id, invitee_kind, invitee_id) DO NOTHING",
                )
                .bind(&id)
                .bind(topic_id)
                .bind(proposal.invitee_kind.as_i32())
                .bind(&proposal.invitee_id)
                .bind(&proposal.display_name)
                .bind(proposal.basis.as_i32())
                .bind(&proposal.reason)
                .bind(rank + 1)
                .bind(InvitationStatus::Proposed.as_i32())
                .bind(now)
                .execute(&mut **conn)
                .await
                .map(|done| done.rows_affected())
            })?;
            if inserted > 0 {
                rank += 1;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A topic's invitations in one of `statuses` (any when empty), by rank with staff additions
    /// last, one page. NOT_FOUND when the topic does not exist.
    pub async fn list_invitations(
        &self,
        topic_id: &str,
        statuses: &[InvitationStatus],
        page: &PageRequest,
    ) -> Result<Page<Invitation>, ServiceError> {
        let mut tx = self.db.begin().await?;
        let exists: Option<String> = on_tx!(&mut tx, conn => {
            sqlx::query_scalar("SELECT id FROM topic WHERE id = $1").bind(topic_id).fetch_optional(&mut **conn).await
        })?;
        if exists.is_none() {
            tx.rollback().await?;
            return Err(topic_not_found(topic_id));
        }
        let mut binds = vec![Bind::Text(topic_id.to_owned())];
        let mut clauses = vec!["i.topic_id = $1".to_owned()];
        if !statuses.is_empty() {
            let list: Vec<String> = statuses
                .iter()
                .map(|s| {
                    binds.push(Bind::Int(s.as_i32()));
                    format!("${}", binds.len())
                })
                .collect();
            clauses.push(format!("i.status IN ({})", list.join(", ")));
        }
        if let Some(after) = &page.after {
            let key = i32::try_from(PageRequest::int_key(after, 0)?)
                .map_err(|_| ServiceError::invalid("page_token", "is not a token of this list"))?;
            let id = PageRequest::text_key(after, 1)?;
            binds.push(Bind::Int(key));
            let k = binds.len();
            binds.push(Bind::Text(id));
            let i = binds.len();
            clauses.push(format!("({ORDER_KEY} > ${k} OR ({ORDER_KEY} = ${k} AND i.id > ${i}))"));
        }
        let sql = format!(
            "{SELECT_INVITATION} WHERE {} ORDER BY {ORDER_KEY}, i.id LIMIT {}",
            clauses.join(" AND "),
            page.size + 1
        );
        let rows: Vec<InvitationRow> = on_tx!(&mut tx, conn => {
            let mut query = sqlx::query_as::<_, InvitationRow>(&sql);
            for bind in &binds {
                query = match bind {
                    Bind::Text(v) => query.bind(v.as_str()),
                    Bind::Int(v) => query.bind(*v),
                    Bind::Time(v) => query.bind(*v),
                };
            }
            query.fetch_all(&mut **conn).await
        })?;
        tx.rollback().await?;
        let page = Page::from_rows(rows, page.size, |r| {
            vec![if r.rank == 0 { i32::MAX.to_string() } else { r.rank.to_string() }, r.id.clone()]
        });
        let items = page.items.into_iter().map(Invitation::try_from).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next: page.next })
    }

    /// Accepts a proposed or dropped invitation; FAILED_PRECONDITION when it is already accepted or
    /// its topic is withdrawn.
    pub async fn accept_invitation(&self, id: &str, actor: &str) -> Result<Invitation, ServiceError> {
        let mut tx = self.db.begin().await?;
        let (topic_id, topic_status) = hold_topic_of(&mut tx, id).await?;
        topic_status.check_open(&topic_id)?;
        let current = invitation(&mut tx, id).await?;
        let status = current.status.accept(id)?;
        set_decision(&mut tx, id, status, actor, "", now()).await?;
        let invitation = invitation(&mut tx, id).await?;
        tx.commit().await?;
        Ok(invitation)
    }

    /// Drops a proposed or accepted invitation with a reason; FAILED_PRECONDITION when it is already
    /// dropped.
    pub async fn drop_invitation(&self, id: &str, reason: &str, actor: &str) -> Result<Invitation, ServiceError> {
        let mut tx = self.db.begin().await?;
        hold_topic_of(&mut tx, id).await?;
        let current = invitation(&mut tx, id).await?;
        let status = current.status.drop_out(id)?;
        set_decision(&mut tx, id, status, actor, reason, now()).await?;
        let invitation = invitation(&mut tx, id).await?;
        tx.commit().await?;
        Ok(invitation)
    }

    /// Invites `invitee` by hand: ACCEPTED with basis ADDED_BY_STAFF, or, when the topic already has
    /// an invitation for the same invitee, that one accepted (an accepted one is returned unchanged).
    /// FAILED_PRECONDITION when the topic is withdrawn.
    pub async fn add_invitation(
        &self,
        topic_id: &str,
        invitee: &NewInvitee,
        reason: &str,
        actor: &str,
    ) -> Result<Invitation, ServiceError> {
        let mut tx = self.db.begin().await?;
        hold_topic(&mut tx, topic_id).await?.check_open(topic_id)?;
        let existing = invitation_of(&mut tx, topic_id, invitee.kind, &invitee.id).await?;
        let now = now();
        let id = match existing {
            Some(found) if found.status == InvitationStatus::Accepted => found.id,
            Some(found) => {
                set_decision(&mut tx, &found.id, InvitationStatus::Accepted, actor, reason, now).await?;
                found.id
            }
            None => {
                let id = tingjian_runtime::wire::new_id();
                on_tx!(&mut tx, conn => {
                    sqlx::query(
                        "INSERT INTO invitation (id, topic_id, invitee_kind, invitee_id, display_name, basis, reason, \
                         rank, status, decided_by, decision_reason, create_time, update_time) \
                         VALUES ($1, $2, $3, $4, $5, $6, '', 0, $7, $8, $9, $10, $10)",
                    )
                    .bind(&id)
                    .bind(topic_id)
                    .bind(invitee.kind.as_i32())
                    .bind(&invitee.id)
                    .bind(&invitee.display_name)
                    .bind(Basis::AddedByStaff.as_i32())
                    .bind(InvitationStatus::Accepted.as_i32())
                    .bind(actor)
                    .bind(reason)
                    .bind(now)
                    .execute(&mut **conn)
                    .await
                    .map(|_| ())
                })?;
                id
            }
        };
        let invitation = invitation(&mut tx, &id).await?;
        tx.commit().await?;
        Ok(invitation)
    }
}
