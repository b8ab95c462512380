//! The API of invitations by the stakeholder principle (利益涉及谁就和谁商量): the service proposes
//! invitees from what intake knows (demand holders, enterprises of the affected industries and
//! districts) and the groups a topic names; staff accept, drop or add.
//!
//! Who may do what: staff write; staff, members, leaders, supervisors and analysts read.

use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::error::Violations;
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{parse_id, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::topic::first_violation;
use super::{ConsultationApi, ORGANISERS, READERS};
use crate::domain::invitation::{
    Basis, Invitation, InvitationStatus, InviteeKind, NewInvitee, Proposal, Proposals, demand_holders, demand_reason,
    district_reason, group_display_name, group_reason, industry_reason, optional_reason, proposal_limit,
    required_reason,
};
use crate::domain::topic::{StakeholderKind, Topic};

/// Most enterprises asked of intake for one affected industry or district.
const MAX_CANDIDATES: usize = 2_000;

fn invitation_to_proto(invitation: Invitation) -> pb::Invitation {
    pb::Invitation {
        id: invitation.id,
        topic_id: invitation.topic_id,
        invitee_kind: invitation.invitee_kind.as_i32(),
        invitee_id: invitation.invitee_id,
        display_name: invitation.display_name,
        basis: invitation.basis.as_i32(),
        reason: invitation.reason,
        rank: invitation.rank,
        status: invitation.status.as_i32(),
        decided_by: invitation.decided_by,
        decision_reason: invitation.decision_reason,
        create_time: Some(timestamp(invitation.create_time)),
        update_time: Some(timestamp(invitation.update_time)),
    }
}

impl ConsultationApi {
    /// The proposals of one round for `topic`, in the stakeholder principle's order.
    async fn propose(&self, md: &MetadataMap, topic: &Topic, round: &mut Proposals) -> Result<(), ServiceError> {
        // 1. Enterprises with demands in the topic's common issues, most demands first.
        let mut issues = Vec::new();
        for issue in &topic.fields.common_issues {
            let demands = self.intake.demands_in_common_issue(md, &issue.common_issue_id).await?;
            issues.push((issue.title.clone(), demands.into_iter().map(|d| d.enterprise_id).collect::<Vec<_>>()));
        }
        for holder in demand_holders(&issues) {
            if round.is_full() {
                return Ok(());
            }
            if round.has(InviteeKind::Enterprise, &holder.enterprise_id) {
                continue;
            }
            let name = self.intake.enterprise(md, &holder.enterprise_id).await?.map(|e| e.name);
            round.offer(Proposal {
                invitee_kind: InviteeKind::Enterprise,
                display_name: name.unwrap_or_else(|| holder.enterprise_id.clone()),
                basis: Basis::DemandInCommonIssue,
                reason: demand_reason(&holder),
                invitee_id: holder.enterprise_id,
            });
        }
        // 2. and 3. Enterprises of the affected industries, then of the affected districts.
        for (kind, basis) in
            [(StakeholderKind::Industry, Basis::AffectedIndustry), (StakeholderKind::District, Basis::AffectedDistrict)]
        {
            for stakeholder in topic.fields.stakeholders.iter().filter(|s| s.kind == kind) {
                if round.is_full() {
                    return Ok(());
                }
                let (industry, district) = match kind {
                    StakeholderKind::Industry => (stakeholder.code.as_str(), ""),
                    _ => ("", stakeholder.code.as_str()),
                };
                let enterprises = self.intake.enterprises(md, industry, district, MAX_CANDIDATES).await?;
                let reason = match basis {
                    Basis::AffectedIndustry => industry_reason(stakeholder.label()),
                    _ => district_reason(stakeholder.label()),
                };
                for enterprise in enterprises {
                    round.offer(Proposal {
                        invitee_kind: InviteeKind::Enterprise,
                        invitee_id: enterprise.id,
                        display_name: enterprise.name,
                        basis,
                        reason: reason.clone(),
                    });
                }
            }
        }
        // 4. The named groups.
        for stakeholder in topic.fields.stakeholders.iter().filter(|s| s.kind == StakeholderKind::Group) {
            round.offer(Proposal {
                invitee_kind: InviteeKind::Group,
                invitee_id: stakeholder.code.clone(),
                display_name: group_display_name(stakeholder.label()),
                basis: Basis::NamedGroup,
                reason: group_reason(stakeholder.label()),
            });
        }
        Ok(())
    }

    /// Every invitation of a topic, by rank.
    async fn all_invitations(&self, topic_id: &str) -> Result<Vec<pb::Invitation>, ServiceError> {
        let everything = PageRequest { size: 100_000, after: None };
        let page = self.store.list_invitations(topic_id, &[], &everything).await?;
        Ok(page.items.into_iter().map(invitation_to_proto).collect())
    }

    #[tracing::instrument(skip_all, fields(topic.id))]
    pub(super) async fn propose_invitations_impl(
        &self,
        request: Request<pb::ProposeInvitationsRequest>,
    ) -> Result<Response<pb::ProposeInvitationsResponse>, Status> {
        Caller::of(&request)?.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let mut v = Violations::new();
        let topic_id = v.check(parse_id(&body.topic_id, "topic_id").map_err(first_violation));
        let limit = v.check(proposal_limit(body.limit, "limit").map_err(first_violation));
        v.finish()?;
        let (Some(topic_id), Some(limit)) = (topic_id, limit) else {
            return Err(ServiceError::internal("a checked field is missing").into());
        };
        tracing::Span::current().record("topic.id", topic_id.as_str());
        let topic = self.store.get_topic(&topic_id).await?;
        topic.status.check_open(&topic_id)?;
        let mut round = Proposals::new(self.store.invitees(&topic_id).await?, limit);
        self.propose(&md, &topic, &mut round).await?;
        self.store.add_proposals(&topic_id, &round.items).await?;
        let invitations = self.all_invitations(&topic_id).await?;
        Ok(Response::new(pb::ProposeInvitationsResponse { invitations }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_invitations_impl(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let topic_id = v.check(parse_id(&body.topic_id, "topic_id").map_err(first_violation));
        let mut statuses = Vec::new();
        for (i, raw) in body.statuses.iter().enumerate() {
            match InvitationStatus::from_i32(*raw) {
                Some(status) if !statuses.contains(&status) => statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), "must be PROPOSED, ACCEPTED or DROPPED"),
            }
        }
        v.finish()?;
        let Some(topic_id) = topic_id else {
            return Err(ServiceError::internal("a checked field is missing").into());
        };
        let digest =
            format!("{topic_id}|{}", statuses.iter().map(|s| s.as_i32().to_string()).collect::<Vec<_>>().join(","));
        let page = PageRequest::parse(body.page_size, &body.page_token, "invitations", &digest, 2)?;
        let page = self.store.list_invitations(&topic_id, &statuses, &page).await?;
        let next_page_token = page.next_token("invitations", &digest);
        Ok(Response::new(pb::ListInvitationsResponse {
            invitations: page.items.into_iter().map(invitation_to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(invitation.id))]
    pub(super) async fn accept_invitation_impl(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::AcceptInvitationResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        tracing::Span::current().record("invitation.id", id.as_str());
        let invitation = self.store.accept_invitation(&id, &caller.subject).await?;
        Ok(Response::new(pb::AcceptInvitationResponse { invitation: Some(invitation_to_proto(invitation)) }))
    }

    #[tracing::instrument(skip_all, fields(invitation.id))]
    pub(super) async fn drop_invitation_impl(
        &self,
        request: Request<pb::DropInvitationRequest>,
    ) -> Result<Response<pb::DropInvitationResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = v.check(parse_id(&body.id, "id").map_err(first_violation));
        let reason = v.check(required_reason(&body.reason, "reason").map_err(first_violation));
        v.finish()?;
        let (Some(id), Some(reason)) = (id, reason) else {
            return Err(ServiceError::internal("a checked field is missing").into());
        };
        tracing::Span::current().record("invitation.id", id.as_str());
        let invitation = self.store.drop_invitation(&id, &reason, &caller.subject).await?;
        Ok(Response::new(pb::DropInvitationResponse { invitation: Some(invitation_to_proto(invitation)) }))
    }

    #[tracing::instrument(skip_all, fields(topic.id))]
    pub(super) async fn add_invitation_impl(
        &self,
        request: Request<pb::AddInvitationRequest>,
    ) -> Result<Response<pb::AddInvitationResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let topic_id = parse_id(&body.topic_id, "topic_id")?;
        tracing::Span::current().record("topic.id", topic_id.as_str());
        let raw = body.invitation.ok_or_else(|| ServiceError::invalid("invitation", "is required"))?;
        let mut invitee = NewInvitee::parse(raw.invitee_kind, &raw.invitee_id, &raw.display_name, "invitation")?;
        let reason = optional_reason(&body.reason, "reason")?;
        let topic = self.store.get_topic(&topic_id).await?;
        topic.status.check_open(&topic_id)?;
        let unknown = |what: &str| {
            ServiceError::invalid("invitation.invitee_id", format!("{what} {} does not exist", invitee.id))
        };
        match invitee.kind {
            InviteeKind::Enterprise => {
                let enterprise =
                    self.intake.enterprise(&md, &invitee.id).await?.ok_or_else(|| unknown("enterprise"))?;
                if invitee.display_name.is_empty() {
                    invitee.display_name = enterprise.name;
                }
            }
            InviteeKind::Expert => {
                let expert = match self.store.get_expert(&invitee.id).await {
                    Err(ServiceError::NotFound { .. }) => return Err(unknown("expert").into()),
                    other => other?,
                };
                if invitee.display_name.is_empty() {
                    invitee.display_name = expert.fields.name;
                }
            }
            InviteeKind::Group => {
                if invitee.display_name.is_empty() {
                    let named = topic
                        .fields
                        .stakeholders
                        .iter()
                        .find(|s| s.kind == StakeholderKind::Group && s.code == invitee.id)
                        .map_or(invitee.id.as_str(), |s| s.label());
                    invitee.display_name = group_display_name(named);
                }
            }
            InviteeKind::Member | InviteeKind::Official => {
                if invitee.display_name.is_empty() {
                    invitee.display_name = invitee.id.clone();
                }
            }
        }
        let invitation = self.store.add_invitation(&topic_id, &invitee, &reason, &caller.subject).await?;
        Ok(Response::new(pb::AddInvitationResponse { invitation: Some(invitation_to_proto(invitation)) }))
    }
}
