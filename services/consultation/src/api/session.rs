//! The API of sessions (协商活动), their participants and contributions (问、答、辩).
//!
//! Staff schedule, change, close and cancel sessions and record what is said; every reader of
//! consultation reads them. An online session (键对键) runs on an intake campaign, read on behalf of the
//! caller: its participant and post counts are taken from intake when the session is scheduled or its
//! campaign changes, fetched afresh by GetSession while the session is open, and frozen when it closes.

use tingjian_proto::common::v1 as common;
use tingjian_proto::consultation::v1 as pb;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{etag_version, parse_update_mask};
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, period_range, read_instant, timestamp};
use tingjian_runtime::{Caller, ServiceError};
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status};

use super::{ConsultationApi, ORGANISERS, READERS};
use crate::domain::session::{
    Closing, Contribution, ContributionKind, ContributionStats, MAX_PARTICIPANTS_PER_REQUEST, NewContribution,
    NewParticipant, OnlineCounts, Participant, ParticipantInput, SESSION_UPDATE_FIELDS, Session, SessionChanges,
    SessionDraft, SessionFilter, SessionFormat, SessionInput, SessionStatus, campaign_ref, cancel_reason,
    session_title, session_venue,
};

fn n32(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn stats_to_proto(stats: &ContributionStats) -> pb::ContributionStats {
    pb::ContributionStats {
        total_count: n32(stats.total),
        statement_count: n32(stats.statements),
        question_count: n32(stats.questions),
        answer_count: n32(stats.answers),
        rebuttal_count: n32(stats.rebuttals),
        interaction_share: Some(common::Rate {
            numerator: stats.interactions(),
            denominator: stats.total,
            value: stats.interaction_share(),
        }),
        speaker_count: n32(stats.speakers),
        entrepreneur_speaker_count: n32(stats.entrepreneur_speakers),
    }
}

fn participant_to_proto(p: Participant) -> pb::Participant {
    pb::Participant {
        id: p.id,
        role: p.role.as_i32(),
        display_name: p.display_name,
        person_id: p.person_id,
        enterprise_id: p.enterprise_id,
        affiliation: p.affiliation,
        invitation_id: p.invitation_id,
        attended: p.attended,
    }
}

fn session_to_proto(s: Session) -> pb::Session {
    pb::Session {
        etag: etag(s.version),
        stats: Some(stats_to_proto(&s.stats)),
        id: s.id,
        topic_id: s.topic_id,
        title: s.title,
        format: s.format.as_i32(),
        venue: s.venue,
        start_time: Some(timestamp(s.start_time)),
        end_time: s.end_time.map(timestamp),
        status: s.status.as_i32(),
        participants: s.participants.into_iter().map(participant_to_proto).collect(),
        campaign_id: s.campaign_id.unwrap_or_default(),
        online_participant_count: n32(s.online.participants),
        online_post_count: n32(s.online.posts),
        minutes: s.minutes,
        conclusions: s.conclusions,
        attendee_count: n32(s.attendee_count),
        close_time: s.close_time.map(timestamp),
        closed_by: s.closed_by,
        cancel_reason: s.cancel_reason,
        created_by: s.created_by,
        create_time: Some(timestamp(s.create_time)),
        update_time: Some(timestamp(s.update_time)),
    }
}

fn contribution_to_proto(c: Contribution) -> pb::Contribution {
    pb::Contribution {
        id: c.id,
        session_id: c.session_id,
        sequence: n32(c.sequence),
        kind: c.kind.as_i32(),
        speaker_participant_id: c.speaker_participant_id,
        speaker_role: c.speaker_role.as_i32(),
        speaker_display_name: c.speaker_display_name,
        text: c.text,
        reply_to_contribution_id: c.reply_to_contribution_id.unwrap_or_default(),
        speak_time: Some(timestamp(c.speak_time)),
        recorded_by: c.recorded_by,
        create_time: Some(timestamp(c.create_time)),
    }
}

/// The participants of a request, each checked under `prefix[i]`.
fn parse_participants(raw: &[pb::Participant], prefix: &str, v: &mut Violations) -> Vec<NewParticipant> {
    raw.iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let input = ParticipantInput {
                role: p.role,
                display_name: &p.display_name,
                person_id: &p.person_id,
                enterprise_id: &p.enterprise_id,
                affiliation: &p.affiliation,
                invitation_id: &p.invitation_id,
            };
            NewParticipant::parse(&input, &format!("{prefix}[{i}]"), v)
        })
        .collect()
}

impl ConsultationApi {
    /// Checks that every enterprise an entrepreneur speaks for exists in intake, reporting each unknown
    /// one under `prefix[i].enterprise_id`.
    async fn check_enterprises(
        &self,
        md: &MetadataMap,
        participants: &[NewParticipant],
        prefix: &str,
    ) -> Result<(), ServiceError> {
        let mut v = Violations::new();
        let mut known: Vec<&str> = Vec::new();
        for (i, p) in participants.iter().enumerate() {
            if p.enterprise_id.is_empty() || known.contains(&p.enterprise_id.as_str()) {
                continue;
            }
            if self.intake.enterprise(md, &p.enterprise_id).await?.is_some() {
                known.push(&p.enterprise_id);
            } else {
                v.add(
                    format!("{prefix}[{i}].enterprise_id"),
                    format!("enterprise {} does not exist in intake", p.enterprise_id),
                );
            }
        }
        v.finish()
    }

    /// The counts of intake campaign `id`; INVALID_ARGUMENT on `field` when intake does not know it.
    async fn campaign_counts(&self, md: &MetadataMap, id: &str, field: &str) -> Result<OnlineCounts, ServiceError> {
        match self.intake.campaign(md, id).await? {
            Some(c) => {
                Ok(OnlineCounts { participants: i64::from(c.participant_count), posts: i64::from(c.post_count) })
            }
            None => Err(ServiceError::invalid(field, format!("campaign {id} does not exist in intake"))),
        }
    }

    /// `session` with its campaign counts fetched afresh from intake while it is open; the stored ones
    /// when intake cannot answer.
    async fn with_fresh_counts(&self, md: &MetadataMap, mut session: Session) -> Session {
        if session.status.is_open()
            && session.format == SessionFormat::Online
            && let Some(campaign_id) = session.campaign_id.as_deref()
        {
            match self.intake.campaign(md, campaign_id).await {
                Ok(Some(c)) => {
                    session.online =
                        OnlineCounts { participants: i64::from(c.participant_count), posts: i64::from(c.post_count) };
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, session.id = %session.id, "campaign counts unavailable; stored ones returned");
                }
            }
        }
        session
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn schedule_session_impl(
        &self,
        request: Request<pb::ScheduleSessionRequest>,
    ) -> Result<Response<pb::ScheduleSessionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let session = body.session.ok_or_else(|| ServiceError::invalid("session", "is required"))?;
        let mut v = Violations::new();
        let start_time = v.check(read_instant(session.start_time.as_ref(), "session.start_time")).flatten();
        let end_time = v.check(read_instant(session.end_time.as_ref(), "session.end_time")).flatten();
        v.finish()?;
        let draft = SessionDraft::parse(
            &SessionInput {
                topic_id: &session.topic_id,
                title: &session.title,
                format: session.format,
                venue: &session.venue,
                start_time,
                end_time,
                campaign_id: &session.campaign_id,
            },
            "session",
        )?;
        let mut v = Violations::new();
        if session.participants.len() > MAX_PARTICIPANTS_PER_REQUEST {
            v.add("session.participants", format!("at most {MAX_PARTICIPANTS_PER_REQUEST} participants at once"));
        }
        let participants = parse_participants(&session.participants, "session.participants", &mut v);
        v.finish()?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let topic_format = self.store.session_topic_format(&draft.topic_id, "session.topic_id").await?;
        let Some(format) = draft.format.or(topic_format) else {
            return Err(ServiceError::invalid(
                "session.format",
                "is required: the topic names no format to default to",
            )
            .into());
        };
        let new = draft.resolve(format, "session")?;
        let online = match new.campaign_id.as_deref() {
            Some(campaign_id) => self.campaign_counts(&md, campaign_id, "session.campaign_id").await?,
            None => OnlineCounts::default(),
        };
        self.check_enterprises(&md, &participants, "session.participants").await?;
        let created = self
            .store
            .schedule_session(
                &new,
                &participants,
                body.include_accepted_invitees,
                online,
                request_id.as_deref(),
                &caller.subject,
            )
            .await?;
        tracing::Span::current().record("session.id", created.id.as_str());
        Ok(Response::new(pb::ScheduleSessionResponse { session: Some(session_to_proto(created)) }))
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn get_session_impl(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Result<Response<pb::GetSessionResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        tracing::Span::current().record("session.id", id.as_str());
        let session = self.store.get_session(&id).await?;
        let session = self.with_fresh_counts(request.metadata(), session).await;
        Ok(Response::new(pb::GetSessionResponse { session: Some(session_to_proto(session)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_sessions_impl(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let topic_id = match body.topic_id.trim() {
            "" => None,
            raw => match parse_id(raw, "topic_id") {
                Ok(id) => Some(id),
                Err(_) => {
                    v.add("topic_id", "must be a topic id returned by the service");
                    None
                }
            },
        };
        let format = match body.format {
            0 => None,
            n => {
                let format = SessionFormat::from_i32(n);
                if format.is_none() {
                    v.add("format", "must be FACE_TO_FACE, INTERACTIVE or ONLINE, or unspecified for any");
                }
                format
            }
        };
        let mut statuses = Vec::new();
        for (i, raw) in body.statuses.iter().enumerate() {
            match SessionStatus::from_i32(*raw) {
                Some(status) if !statuses.contains(&status) => statuses.push(status),
                Some(_) => {}
                None => v.add(format!("statuses[{i}]"), "must be SCHEDULED, IN_PROGRESS, CLOSED or CANCELLED"),
            }
        }
        statuses.sort_by_key(|s| s.as_i32());
        let start_range = match &body.period {
            Some(period) => v.check(period_range(Some(period))).flatten(),
            None => None,
        };
        v.finish()?;
        let filter = SessionFilter { topic_id, format, statuses, start_range };
        let (sessions, next_page_token) = self.store.list_sessions(&filter, body.page_size, &body.page_token).await?;
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: sessions.into_iter().map(session_to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn update_session_impl(
        &self,
        request: Request<pb::UpdateSessionRequest>,
    ) -> Result<Response<pb::UpdateSessionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let session = body.session.ok_or_else(|| ServiceError::invalid("session", "is required"))?;
        let id = parse_id(&session.id, "session.id")?;
        tracing::Span::current().record("session.id", id.as_str());
        let paths: Vec<String> = body
            .update_mask
            .map(|m| m.paths)
            .unwrap_or_default()
            .iter()
            .map(|p| p.trim().strip_prefix("session.").unwrap_or(p.trim()).to_owned())
            .collect();
        let fields = parse_update_mask(&paths, &SESSION_UPDATE_FIELDS)?;
        let mut v = Violations::new();
        let mut changes = SessionChanges::default();
        for field in fields {
            match field {
                "title" => changes.title = v.check(session_title(&session.title, "session.title")),
                "venue" => changes.venue = v.check(session_venue(&session.venue, "session.venue")),
                "start_time" => match v.check(read_instant(session.start_time.as_ref(), "session.start_time")) {
                    Some(Some(t)) => changes.start_time = Some(t),
                    Some(None) => v.add("session.start_time", "is required"),
                    None => {}
                },
                "end_time" => {
                    changes.end_time = v.check(read_instant(session.end_time.as_ref(), "session.end_time"));
                }
                "campaign_id" => {
                    changes.campaign_id = v.check(campaign_ref(&session.campaign_id, "session.campaign_id"));
                }
                _ => {}
            }
        }
        v.finish()?;
        let online = match &changes.campaign_id {
            Some(Some(campaign_id)) => Some(self.campaign_counts(&md, campaign_id, "session.campaign_id").await?),
            Some(None) => Some(OnlineCounts::default()),
            None => None,
        };
        let updated = self.store.update_session(&id, &changes, online, etag_version(&session.etag)).await?;
        Ok(Response::new(pb::UpdateSessionResponse { session: Some(session_to_proto(updated)) }))
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn add_participants_impl(
        &self,
        request: Request<pb::AddParticipantsRequest>,
    ) -> Result<Response<pb::AddParticipantsResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let id = parse_id(&body.session_id, "session_id")?;
        tracing::Span::current().record("session.id", id.as_str());
        let mut v = Violations::new();
        if body.participants.is_empty() {
            v.add("participants", "at least one participant is required");
        } else if body.participants.len() > MAX_PARTICIPANTS_PER_REQUEST {
            v.add("participants", format!("at most {MAX_PARTICIPANTS_PER_REQUEST} participants at once"));
        }
        let participants = parse_participants(&body.participants, "participants", &mut v);
        v.finish()?;
        self.check_enterprises(&md, &participants, "participants").await?;
        let session = self.store.add_participants(&id, &participants).await?;
        Ok(Response::new(pb::AddParticipantsResponse { session: Some(session_to_proto(session)) }))
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn remove_participant_impl(
        &self,
        request: Request<pb::RemoveParticipantRequest>,
    ) -> Result<Response<pb::RemoveParticipantResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let id = parse_id(&body.session_id, "session_id")?;
        let participant_id = parse_id(&body.participant_id, "participant_id")?;
        tracing::Span::current().record("session.id", id.as_str());
        let session = self.store.remove_participant(&id, &participant_id).await?;
        Ok(Response::new(pb::RemoveParticipantResponse { session: Some(session_to_proto(session)) }))
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn record_contribution_impl(
        &self,
        request: Request<pb::RecordContributionRequest>,
    ) -> Result<Response<pb::RecordContributionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let id = parse_id(&body.session_id, "session_id")?;
        tracing::Span::current().record("session.id", id.as_str());
        let contribution = body.contribution.ok_or_else(|| ServiceError::invalid("contribution", "is required"))?;
        let speak_time = read_instant(contribution.speak_time.as_ref(), "contribution.speak_time")
            .map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
        let new = NewContribution::parse(
            contribution.kind,
            &contribution.speaker_participant_id,
            &contribution.text,
            &contribution.reply_to_contribution_id,
            speak_time,
            "contribution",
        )?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let (recorded, stats) =
            self.store.record_contribution(&id, &new, request_id.as_deref(), &caller.subject).await?;
        Ok(Response::new(pb::RecordContributionResponse {
            contribution: Some(contribution_to_proto(recorded)),
            stats: Some(stats_to_proto(&stats)),
        }))
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn list_contributions_impl(
        &self,
        request: Request<pb::ListContributionsRequest>,
    ) -> Result<Response<pb::ListContributionsResponse>, Status> {
        Caller::of(&request)?.require_any(&READERS)?;
        let body = request.into_inner();
        let id = parse_id(&body.session_id, "session_id")?;
        tracing::Span::current().record("session.id", id.as_str());
        let kind = match body.kind {
            0 => None,
            n => Some(ContributionKind::from_i32(n).ok_or_else(|| {
                ServiceError::invalid("kind", "must be STATEMENT, QUESTION, ANSWER or REBUTTAL, or unspecified for any")
            })?),
        };
        let (contributions, next_page_token) =
            self.store.list_contributions(&id, kind, body.page_size, &body.page_token).await?;
        Ok(Response::new(pb::ListContributionsResponse {
            contributions: contributions.into_iter().map(contribution_to_proto).collect(),
            next_page_token,
        }))
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn close_session_impl(
        &self,
        request: Request<pb::CloseSessionRequest>,
    ) -> Result<Response<pb::CloseSessionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let md = request.metadata().clone();
        let body = request.into_inner();
        let id = parse_id(&body.session_id, "session_id")?;
        tracing::Span::current().record("session.id", id.as_str());
        let closing = Closing::parse(&body.minutes, &body.attended_participant_ids, &body.conclusions)?;
        let current = self.store.get_session(&id).await?;
        let online = match current.campaign_id.as_deref() {
            Some(campaign_id) if current.status.is_open() && current.format == SessionFormat::Online => self
                .intake
                .campaign(&md, campaign_id)
                .await?
                .map(|c| OnlineCounts { participants: i64::from(c.participant_count), posts: i64::from(c.post_count) }),
            _ => None,
        };
        let closed = self.store.close_session(&id, &closing, online, etag_version(&body.etag), &caller.subject).await?;
        Ok(Response::new(pb::CloseSessionResponse { session: Some(session_to_proto(closed)) }))
    }

    #[tracing::instrument(skip_all, fields(session.id))]
    pub(super) async fn cancel_session_impl(
        &self,
        request: Request<pb::CancelSessionRequest>,
    ) -> Result<Response<pb::CancelSessionResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&ORGANISERS)?;
        let body = request.into_inner();
        let id = parse_id(&body.session_id, "session_id")?;
        tracing::Span::current().record("session.id", id.as_str());
        let reason = cancel_reason(&body.reason)?;
        let cancelled = self.store.cancel_session(&id, &reason, etag_version(&body.etag)).await?;
        Ok(Response::new(pb::CancelSessionResponse { session: Some(session_to_proto(cancelled)) }))
    }
}
