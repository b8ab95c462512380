//! Consultation: sessions (协商活动) on topics drawn from real intake common issues, on SQLite and on
//! PostgreSQL — scheduling and its bad inputs, participants (accepted invitees included), contributions
//! (问、答、辩) numbered in order even under concurrency with their statistics and interaction share, the
//! interactive session (心贴心) that cannot close with fewer than 2 entrepreneur speakers, closing with
//! SessionClosed in the outbox, cancelling, online sessions (键对键) on an intake campaign, updates with
//! their etags, and filtered, paginated lists.

use chrono::{DateTime, Duration, Utc};
use prost::Message as _;
use prost_types::{FieldMask, Timestamp};
use tingjian_proto::common::v1::{Event, Period, PeriodKind, PersonRef};
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use tingjian_proto::intake::v1 as intake;
use tingjian_runtime::on_pool;
use tingjian_tests::suite::{Suite, leader, member, staff};
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;

type Client = ConsultationServiceClient<Channel>;

/// A session world: the three services, a plan with one topic drawn from the seed's financing issue,
/// and the three ocean-fishing enterprises behind it.
struct World {
    suite: Suite,
    client: Client,
    plan_id: String,
    topic_id: String,
    issue_id: String,
    enterprises: Vec<String>,
}

/// An instant written in RFC 3339.
fn at(s: &str) -> Timestamp {
    let t: DateTime<Utc> = s.parse().expect("timestamp");
    Timestamp { seconds: t.timestamp(), nanos: 0 }
}

fn ts(t: DateTime<Utc>) -> Timestamp {
    Timestamp { seconds: t.timestamp(), nanos: 0 }
}

/// Starts the suite and creates a plan and a topic of `format`; `None` when the backend is not
/// available.
async fn world(backend: StorageBackend, format: pb::SessionFormat, first_enterprise: u32) -> Option<World> {
    let suite = Suite::start(backend).await?;
    let mut client = suite.consultation_client();
    let (issue, enterprises) = suite.financing_issue(first_enterprise).await;
    let plan = pb::CreatePlanRequest {
        plan: Some(pb::Plan {
            year: 2026, title: "2026年度市委市政府市政协重大协商计划".into(), ..Default::default()
        }),
        request_id: String::new(),
    };
    let plan_id =
        client.create_plan(suite.as_(&staff(), plan)).await.expect("plan created").into_inner().plan.expect("plan").id;
    let topic_id = create_topic(&suite, &mut client, &plan_id, &issue.id, format).await;
    Some(World { suite, client, plan_id, topic_id, issue_id: issue.id, enterprises })
}

/// Creates a topic of `plan_id` drawn from `issue_id`, answered by the mayor, in `format`.
async fn create_topic(
    suite: &Suite,
    client: &mut Client,
    plan_id: &str,
    issue_id: &str,
    format: pb::SessionFormat,
) -> String {
    let request = pb::CreateTopicRequest {
        topic: Some(pb::Topic {
            plan_id: plan_id.into(),
            title: "降低远洋渔业企业综合融资成本".into(),
            background: "远洋渔业企业普遍反映渔船抵押贷款利率偏高、抵押物认定难。".into(),
            common_issue_ids: vec![issue_id.into()],
            leader: Some(PersonRef { display_name: "王市长".into(), title: "市长".into(), ..Default::default() }),
            format: format as i32,
            lead_committee: "经济委员会".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    client
        .create_topic(suite.as_(&staff(), request))
        .await
        .expect("topic created")
        .into_inner()
        .topic
        .expect("topic")
        .id
}

fn entrepreneur(name: &str, enterprise_id: &str, company: &str) -> pb::Participant {
    pb::Participant {
        role: pb::ParticipantRole::Entrepreneur as i32,
        display_name: name.into(),
        enterprise_id: enterprise_id.into(),
        affiliation: company.into(),
        ..Default::default()
    }
}

fn mayor() -> pb::Participant {
    pb::Participant {
        role: pb::ParticipantRole::Leader as i32,
        display_name: "王市长".into(),
        person_id: "leader-mayor".into(),
        affiliation: "舟山市人民政府".into(),
        ..Default::default()
    }
}

/// The seed's three entrepreneurs and the mayor.
fn roster(w: &World) -> Vec<pb::Participant> {
    vec![
        entrepreneur("张海丰", &w.enterprises[0], "舟山市海丰远洋渔业有限公司"),
        entrepreneur("李宏润", &w.enterprises[1], "舟山市宏润远洋渔业有限公司"),
        entrepreneur("陈普陀", &w.enterprises[2], "浙江普陀远洋捕捞有限公司"),
        mayor(),
    ]
}

fn session(topic_id: &str, title: &str, start: &str) -> pb::Session {
    pb::Session {
        topic_id: topic_id.into(),
        title: title.into(),
        venue: "舟山总商会政协委员会客厅".into(),
        start_time: Some(at(start)),
        ..Default::default()
    }
}

async fn schedule(w: &mut World, session: pb::Session, request_id: &str) -> Result<pb::Session, tonic::Status> {
    let request = pb::ScheduleSessionRequest {
        session: Some(session),
        include_accepted_invitees: false,
        request_id: request_id.into(),
    };
    Ok(w.client.schedule_session(w.suite.as_(&staff(), request)).await?.into_inner().session.expect("session"))
}

async fn get(w: &mut World, id: &str) -> pb::Session {
    let request = pb::GetSessionRequest { id: id.into() };
    w.client
        .get_session(w.suite.as_(&member("member-li"), request))
        .await
        .expect("session")
        .into_inner()
        .session
        .expect("session")
}

async fn say(
    w: &mut World,
    session_id: &str,
    kind: pb::ContributionKind,
    speaker: &str,
    text: &str,
    reply_to: &str,
) -> Result<pb::RecordContributionResponse, tonic::Status> {
    let request = pb::RecordContributionRequest {
        session_id: session_id.into(),
        contribution: Some(pb::Contribution {
            kind: kind as i32,
            speaker_participant_id: speaker.into(),
            text: text.into(),
            reply_to_contribution_id: reply_to.into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    Ok(w.client.record_contribution(w.suite.as_(&staff(), request)).await?.into_inner())
}

fn close_request(s: &pb::Session) -> pb::CloseSessionRequest {
    pb::CloseSessionRequest {
        session_id: s.id.clone(),
        minutes: "会议纪要：企业反映渔船抵押贷款利率偏高，市长现场回应，责成市金融办牵头协调。".into(),
        attended_participant_ids: s.participants.iter().map(|p| p.id.clone()).collect(),
        conclusions: vec!["协调金融机构推出远洋渔业专项信贷产品".into(), "建立渔船抵押物价值评估机制".into()],
        etag: String::new(),
    }
}

async fn close(w: &mut World, request: pb::CloseSessionRequest) -> Result<pb::Session, tonic::Status> {
    Ok(w.client.close_session(w.suite.as_(&staff(), request)).await?.into_inner().session.expect("session"))
}

fn participant<'a>(s: &'a pb::Session, name: &str) -> &'a pb::Participant {
    s.participants.iter().find(|p| p.display_name == name).unwrap_or_else(|| panic!("{name} takes part"))
}

/// The outbox rows (subject, event type, envelope), oldest first.
async fn outbox(service: &TestService) -> Vec<(String, String, Event)> {
    let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&service.database.db, pool => {
        sqlx::query_as("SELECT subject, event_type, envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
    })
    .expect("outbox");
    rows.into_iter().map(|(s, t, e)| (s, t, Event::decode(e.as_slice()).expect("envelope"))).collect()
}

/// Scheduling a face-to-face session with its participants and reading it back: the topic's format by
/// default, every field, SCHEDULED at v1 with empty statistics, idempotent retries, and who may do it.
async fn schedule_and_read(backend: StorageBackend) {
    let Some(mut w) = world(backend, pb::SessionFormat::FaceToFace, 300).await else { return };
    let mut wanted = session(&w.topic_id, "远洋渔业企业融资降本面对面协商会", "2026-03-10T02:00:00Z");
    wanted.end_time = Some(at("2026-03-10T04:30:00Z"));
    wanted.participants = roster(&w);
    let created = schedule(&mut w, wanted.clone(), "session-1").await.expect("scheduled");
    assert_eq!(created.format, pb::SessionFormat::FaceToFace as i32, "the topic's format by default");
    assert_eq!(created.status, pb::SessionStatus::Scheduled as i32);
    assert_eq!(created.title, "远洋渔业企业融资降本面对面协商会");
    assert_eq!(created.venue, "舟山总商会政协委员会客厅");
    assert_eq!(created.start_time, Some(at("2026-03-10T02:00:00Z")));
    assert_eq!(created.end_time, Some(at("2026-03-10T04:30:00Z")));
    assert_eq!(created.etag, "v1");
    assert_eq!(created.created_by, "staff-wang");
    let names: Vec<&str> = created.participants.iter().map(|p| p.display_name.as_str()).collect();
    assert_eq!(names, ["张海丰", "李宏润", "陈普陀", "王市长"], "in the order given");
    let first = participant(&created, "张海丰");
    assert_eq!(first.role, pb::ParticipantRole::Entrepreneur as i32);
    assert_eq!(first.enterprise_id, w.enterprises[0]);
    assert_eq!(first.affiliation, "舟山市海丰远洋渔业有限公司");
    assert!(!first.attended);
    let mut ids: Vec<&str> = created.participants.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 4, "participant ids are unique");
    let stats = created.stats.expect("stats");
    assert_eq!(stats.total_count, 0);
    assert_eq!(stats.interaction_share.expect("share").denominator, 0);

    let read = get(&mut w, &created.id).await;
    assert_eq!(read, created, "a member reads what was scheduled");
    let again = schedule(&mut w, wanted.clone(), "session-1").await.expect("retried");
    assert_eq!(again.id, created.id, "the same request id returns the first session");
    let mut other = wanted.clone();
    other.title = "另一场协商会".into();
    let status = schedule(&mut w, other, "session-1").await.expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    let request = pb::ScheduleSessionRequest { session: Some(wanted), ..Default::default() };
    let status = w.client.schedule_session(w.suite.as_(&member("member-li"), request)).await.expect_err("member");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = w
        .client
        .get_session(w.suite.as_(&staff(), pb::GetSessionRequest { id: tingjian_runtime::wire::new_id() }))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound);
}

on_both_backends!(a_session_is_scheduled_and_read, super::schedule_and_read);

/// Every bad input of ScheduleSession names its field; a withdrawn topic is FAILED_PRECONDITION.
async fn bad_schedules(backend: StorageBackend) {
    let Some(mut w) = world(backend, pb::SessionFormat::Interactive, 310).await else { return };
    let good = session(&w.topic_id, "民生议事堂协商会", "2026-04-02T06:00:00Z");
    let cases: Vec<(&str, pb::Session)> = vec![
        ("session.title", pb::Session { title: " ".into(), ..good.clone() }),
        ("session.topic_id", pb::Session { topic_id: String::new(), ..good.clone() }),
        ("session.topic_id", pb::Session { topic_id: tingjian_runtime::wire::new_id(), ..good.clone() }),
        ("session.start_time", pb::Session { start_time: None, ..good.clone() }),
        ("session.end_time", pb::Session { end_time: Some(at("2026-04-02T05:00:00Z")), ..good.clone() }),
        ("session.venue", pb::Session { venue: String::new(), ..good.clone() }),
        ("session.format", pb::Session { format: 9, ..good.clone() }),
        (
            "session.campaign_id",
            pb::Session { format: pb::SessionFormat::Online as i32, venue: String::new(), ..good.clone() },
        ),
        (
            "session.campaign_id",
            pb::Session {
                format: pb::SessionFormat::Online as i32,
                campaign_id: tingjian_runtime::wire::new_id(),
                ..good.clone()
            },
        ),
        ("session.campaign_id", pb::Session { campaign_id: tingjian_runtime::wire::new_id(), ..good.clone() }),
        (
            "session.participants[0].enterprise_id",
            pb::Session { participants: vec![entrepreneur("张海丰", "", "海丰远洋")], ..good.clone() },
        ),
        (
            "session.participants[1].enterprise_id",
            pb::Session {
                participants: vec![mayor(), entrepreneur("张海丰", &tingjian_runtime::wire::new_id(), "海丰远洋")],
                ..good.clone()
            },
        ),
        (
            "session.participants[0].role",
            pb::Session {
                participants: vec![pb::Participant { display_name: "某某".into(), ..Default::default() }],
                ..good.clone()
            },
        ),
        (
            "session.participants[0].display_name",
            pb::Session {
                participants: vec![pb::Participant { role: pb::ParticipantRole::Member as i32, ..Default::default() }],
                ..good.clone()
            },
        ),
        ("session.participants[1].person_id", pb::Session { participants: vec![mayor(), mayor()], ..good.clone() }),
    ];
    for (field, bad) in cases {
        let status = schedule(&mut w, bad, "").await.expect_err(field);
        assert_field_violation(&status, field);
    }
    let request = pb::ScheduleSessionRequest { session: None, ..Default::default() };
    let status = w.client.schedule_session(w.suite.as_(&staff(), request)).await.expect_err("no session");
    assert_field_violation(&status, "session");

    let withdraw = pb::WithdrawTopicRequest {
        id: w.topic_id.clone(),
        reason: "议题合并到年度重点议题".into(),
        etag: String::new(),
    };
    w.client.withdraw_topic(w.suite.as_(&staff(), withdraw)).await.expect("withdrawn");
    let status = schedule(&mut w, good, "").await.expect_err("withdrawn topic");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("WITHDRAWN"), "{}", status.message());
    let listed = w
        .client
        .list_sessions(w.suite.as_(&staff(), pb::ListSessionsRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert!(listed.sessions.is_empty(), "no half-written session: {:?}", listed.sessions);
}

on_both_backends!(bad_schedules_name_their_field, super::bad_schedules);

/// Accepted invitees join with their roles; participants are added and removed, each person once, and
/// one who has spoken stays.
async fn participants(backend: StorageBackend) {
    let Some(mut w) = world(backend, pb::SessionFormat::FaceToFace, 320).await else { return };
    let invitees = [
        (pb::InviteeKind::Enterprise, w.enterprises[1].clone(), "舟山市宏润远洋渔业有限公司"),
        (pb::InviteeKind::Group, "skilled_talent".to_owned(), "高技能人才代表"),
        (pb::InviteeKind::Member, "member-zhao".to_owned(), "赵委员"),
    ];
    for (kind, id, name) in &invitees {
        let request = pb::AddInvitationRequest {
            topic_id: w.topic_id.clone(),
            invitation: Some(pb::Invitation {
                invitee_kind: *kind as i32,
                invitee_id: id.clone(),
                display_name: (*name).into(),
                ..Default::default()
            }),
            reason: "利益相关方".into(),
        };
        w.client.add_invitation(w.suite.as_(&staff(), request)).await.expect("invitation added");
    }
    let request = pb::ScheduleSessionRequest {
        session: Some(pb::Session {
            participants: vec![mayor()],
            ..session(&w.topic_id, "远洋渔业融资面对面协商会", "2026-05-06T01:30:00Z")
        }),
        include_accepted_invitees: true,
        request_id: String::new(),
    };
    let s = w.client.schedule_session(w.suite.as_(&staff(), request)).await.expect("scheduled").into_inner();
    let s = s.session.expect("session");
    assert_eq!(s.participants.len(), 4, "the mayor and three accepted invitees: {:?}", s.participants);
    let company = participant(&s, "舟山市宏润远洋渔业有限公司");
    assert_eq!(company.role, pb::ParticipantRole::Entrepreneur as i32);
    assert_eq!(company.enterprise_id, w.enterprises[1]);
    assert!(!company.invitation_id.is_empty(), "the invitation it came through");
    assert_eq!(participant(&s, "高技能人才代表").role, pb::ParticipantRole::Worker as i32);
    let zhao = participant(&s, "赵委员");
    assert_eq!((zhao.role, zhao.person_id.as_str()), (pb::ParticipantRole::Member as i32, "member-zhao"));

    let add =
        |participants: Vec<pb::Participant>| pb::AddParticipantsRequest { session_id: s.id.clone(), participants };
    let added = w
        .client
        .add_participants(w.suite.as_(
            &staff(),
            add(vec![
                entrepreneur("张海丰", &w.enterprises[0], "舟山市海丰远洋渔业有限公司"),
                pb::Participant {
                    role: pb::ParticipantRole::Official as i32,
                    display_name: "市金融办主任".into(),
                    affiliation: "舟山市金融工作办公室".into(),
                    ..Default::default()
                },
            ]),
        ))
        .await
        .expect("added")
        .into_inner()
        .session
        .expect("session");
    assert_eq!(added.participants.len(), 6);
    assert_eq!(added.etag, "v2");
    let status = w.client.add_participants(w.suite.as_(&staff(), add(vec![mayor()]))).await.expect_err("twice");
    assert_field_violation(&status, "participants[0].person_id");
    let status = w.client.add_participants(w.suite.as_(&staff(), add(vec![]))).await.expect_err("none");
    assert_field_violation(&status, "participants");

    let official = participant(&added, "市金融办主任").id.clone();
    let speaker = participant(&added, "张海丰").id.clone();
    say(&mut w, &s.id, pb::ContributionKind::Statement, &speaker, "企业融资成本居高不下。", "").await.expect("spoken");
    let remove = |participant_id: &str| pb::RemoveParticipantRequest {
        session_id: s.id.clone(),
        participant_id: participant_id.into(),
    };
    let status = w.client.remove_participant(w.suite.as_(&staff(), remove(&speaker))).await.expect_err("spoke");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("has spoken"), "{}", status.message());
    let left = w
        .client
        .remove_participant(w.suite.as_(&staff(), remove(&official)))
        .await
        .expect("removed")
        .into_inner()
        .session
        .expect("session");
    assert_eq!(left.participants.len(), 5);
    assert!(left.participants.iter().all(|p| p.id != official));
    let status = w.client.remove_participant(w.suite.as_(&staff(), remove(&official))).await.expect_err("gone");
    assert_eq!(status.code(), Code::NotFound);
}

on_both_backends!(participants_join_and_leave, super::participants);

/// Contributions in order with their speakers, the statistics and the interaction share, replies within
/// the session, idempotent retries, lists by kind and page, and gap-free numbering under concurrency.
async fn contributions(backend: StorageBackend) {
    let Some(mut w) = world(backend, pb::SessionFormat::Interactive, 330).await else { return };
    let mut wanted = session(&w.topic_id, "心贴心·委员会客厅", "2026-06-18T06:00:00Z");
    wanted.participants = roster(&w);
    let s = schedule(&mut w, wanted.clone(), "").await.expect("scheduled");
    let other = schedule(&mut w, wanted, "").await.expect("another session");
    let (zhang, li, wang) = (
        participant(&s, "张海丰").id.clone(),
        participant(&s, "李宏润").id.clone(),
        participant(&s, "王市长").id.clone(),
    );

    let q =
        say(&mut w, &s.id, pb::ContributionKind::Question, &zhang, "渔船抵押贷款利率能否下调？", "").await.expect("q");
    let question = q.contribution.expect("contribution");
    assert_eq!(question.sequence, 1);
    assert_eq!(question.speaker_role, pb::ParticipantRole::Entrepreneur as i32);
    assert_eq!(question.speaker_display_name, "张海丰");
    assert_eq!(question.recorded_by, "staff-wang");
    assert!(question.speak_time.is_some());
    assert_eq!(
        get(&mut w, &s.id).await.status,
        pb::SessionStatus::InProgress as i32,
        "the first contribution starts it"
    );
    let a = say(&mut w, &s.id, pb::ContributionKind::Answer, &wang, "市金融办牵头协调银行推出专项产品。", &question.id)
        .await
        .expect("a");
    let answer = a.contribution.expect("answer");
    assert_eq!((answer.sequence, answer.reply_to_contribution_id.as_str()), (2, question.id.as_str()));
    say(&mut w, &s.id, pb::ContributionKind::Rebuttal, &li, "专项产品门槛过高，中小渔企难以享受。", &answer.id)
        .await
        .expect("r");
    let last = say(&mut w, &s.id, pb::ContributionKind::Statement, &zhang, "感谢市长回应。", "").await.expect("s");
    assert_eq!(last.contribution.expect("statement").sequence, 4);
    let stats = last.stats.expect("stats");
    assert_eq!(
        (stats.total_count, stats.statement_count, stats.question_count, stats.answer_count, stats.rebuttal_count),
        (4, 1, 1, 1, 1)
    );
    assert_eq!((stats.speaker_count, stats.entrepreneur_speaker_count), (3, 2));
    let share = stats.interaction_share.expect("share");
    assert_eq!((share.numerator, share.denominator), (3, 4));
    assert!((share.value - 0.75).abs() < 1e-9, "{share:?}");
    assert_eq!(get(&mut w, &s.id).await.stats, Some(stats), "the session carries the same statistics");

    // Bad contributions.
    let status = say(&mut w, &s.id, pb::ContributionKind::Answer, &participant(&other, "王市长").id, "答复", "")
        .await
        .expect_err("a participant of another session");
    assert_field_violation(&status, "contribution.speaker_participant_id");
    let status =
        say(&mut w, &other.id, pb::ContributionKind::Answer, &participant(&other, "王市长").id, "答复", &question.id)
            .await
            .expect_err("a reply to another session's contribution");
    assert_field_violation(&status, "contribution.reply_to_contribution_id");
    let status = say(&mut w, &s.id, pb::ContributionKind::Unspecified, &zhang, "发言", "").await.expect_err("no kind");
    assert_field_violation(&status, "contribution.kind");
    let status = say(&mut w, &s.id, pb::ContributionKind::Statement, &zhang, "  ", "").await.expect_err("no text");
    assert_field_violation(&status, "contribution.text");
    let status = say(&mut w, &tingjian_runtime::wire::new_id(), pb::ContributionKind::Statement, &zhang, "发言", "")
        .await
        .expect_err("no such session");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(get(&mut w, &other.id).await.status, pb::SessionStatus::Scheduled as i32, "refused ones start nothing");

    // Idempotent retries.
    let retry = |text: &str| pb::RecordContributionRequest {
        session_id: s.id.clone(),
        contribution: Some(pb::Contribution {
            kind: pb::ContributionKind::Question as i32,
            speaker_participant_id: li.clone(),
            text: text.into(),
            ..Default::default()
        }),
        request_id: "question-li".into(),
    };
    let first =
        w.client.record_contribution(w.suite.as_(&staff(), retry("抵押物评估能否统一标准？"))).await.expect("first");
    let again =
        w.client.record_contribution(w.suite.as_(&staff(), retry("抵押物评估能否统一标准？"))).await.expect("again");
    let (first, again) = (first.into_inner().contribution.expect("c"), again.into_inner().contribution.expect("c"));
    assert_eq!((again.id.as_str(), again.sequence), (first.id.as_str(), 5));
    let status = w.client.record_contribution(w.suite.as_(&staff(), retry("别的问题"))).await.expect_err("reused");
    assert_eq!(status.code(), Code::AlreadyExists);

    // Concurrent contributions are numbered without gaps.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let mut client = w.client.clone();
        let request = w.suite.as_(
            &staff(),
            pb::RecordContributionRequest {
                session_id: s.id.clone(),
                contribution: Some(pb::Contribution {
                    kind: pb::ContributionKind::Statement as i32,
                    speaker_participant_id: if i % 2 == 0 { zhang.clone() } else { li.clone() },
                    text: format!("第{}条补充意见", i + 1),
                    ..Default::default()
                }),
                request_id: format!("concurrent-{i}"),
            },
        );
        tasks.push(tokio::spawn(async move { client.record_contribution(request).await.map(|r| r.into_inner()) }));
    }
    for task in tasks {
        task.await.expect("task").expect("recorded");
    }

    // Listed in order, by kind, by page.
    let list = |kind: pb::ContributionKind, page_size: i32, page_token: String| pb::ListContributionsRequest {
        session_id: s.id.clone(),
        kind: kind as i32,
        page_size,
        page_token,
    };
    let mut sequences = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = w
            .client
            .list_contributions(w.suite.as_(&leader(), list(pb::ContributionKind::Unspecified, 5, token)))
            .await
            .expect("page")
            .into_inner();
        pages += 1;
        sequences.extend(page.contributions.iter().map(|c| c.sequence));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(sequences, (1..=13).collect::<Vec<i32>>(), "gap-free, in order");
    assert_eq!(pages, 3);
    let questions = w
        .client
        .list_contributions(w.suite.as_(&leader(), list(pb::ContributionKind::Question, 0, String::new())))
        .await
        .expect("questions")
        .into_inner()
        .contributions;
    assert_eq!(questions.iter().map(|c| c.sequence).collect::<Vec<_>>(), [1, 5]);
    let status = w
        .client
        .list_contributions(w.suite.as_(&leader(), list(pb::ContributionKind::Question, 0, "not-a-token".into())))
        .await
        .expect_err("bad token");
    assert_field_violation(&status, "page_token");
}

on_both_backends!(contributions_are_recorded_in_order, super::contributions);

/// An interactive session cannot close with one entrepreneur speaker; with two it closes with its
/// minutes, attendance and conclusions, SessionClosed is in the outbox, and the closed session takes no
/// more contributions, changes or cancellation.
async fn interactive_close(backend: StorageBackend) {
    let Some(mut w) = world(backend, pb::SessionFormat::Interactive, 340).await else { return };
    let mut wanted = session(&w.topic_id, "心贴心·民生议事堂协商会", "2026-07-08T06:00:00Z");
    wanted.participants = roster(&w);
    let s = schedule(&mut w, wanted, "").await.expect("scheduled");
    let (zhang, li, wang) = (
        participant(&s, "张海丰").id.clone(),
        participant(&s, "李宏润").id.clone(),
        participant(&s, "王市长").id.clone(),
    );
    let q =
        say(&mut w, &s.id, pb::ContributionKind::Question, &zhang, "能否设立远洋渔业转贷基金？", "").await.expect("q");
    let question = q.contribution.expect("q").id;
    say(&mut w, &s.id, pb::ContributionKind::Answer, &wang, "市财政研究设立转贷基金。", &question).await.expect("a");

    let status = close(&mut w, close_request(&s)).await.expect_err("one entrepreneur spoke");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("an interactive session needs at least 2 entrepreneurs who spoke; 1 did"),
        "{}",
        status.message()
    );
    assert_eq!(get(&mut w, &s.id).await.status, pb::SessionStatus::InProgress as i32, "nothing changed");

    say(&mut w, &s.id, pb::ContributionKind::Rebuttal, &li, "转贷基金规模偏小，建议扩大覆盖面。", &question)
        .await
        .expect("r");
    let current = get(&mut w, &s.id).await;
    let status = close(&mut w, pb::CloseSessionRequest { etag: "v1".into(), ..close_request(&current) })
        .await
        .expect_err("stale etag");
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let status = close(&mut w, pb::CloseSessionRequest { conclusions: vec![], ..close_request(&current) })
        .await
        .expect_err("no conclusion");
    assert_field_violation(&status, "conclusions");
    let status = close(&mut w, pb::CloseSessionRequest { minutes: String::new(), ..close_request(&current) })
        .await
        .expect_err("no minutes");
    assert_field_violation(&status, "minutes");
    let stranger = tingjian_runtime::wire::new_id();
    let status = close(
        &mut w,
        pb::CloseSessionRequest { attended_participant_ids: vec![zhang.clone(), stranger], ..close_request(&current) },
    )
    .await
    .expect_err("a stranger attended");
    assert_field_violation(&status, "attended_participant_ids[1]");

    let attended = vec![zhang.clone(), li.clone(), wang.clone()];
    let closed = close(
        &mut w,
        pb::CloseSessionRequest {
            attended_participant_ids: attended.clone(),
            etag: current.etag.clone(),
            ..close_request(&current)
        },
    )
    .await
    .expect("two entrepreneurs spoke");
    assert_eq!(closed.status, pb::SessionStatus::Closed as i32);
    assert_eq!(closed.attendee_count, 3);
    assert_eq!(closed.conclusions, ["协调金融机构推出远洋渔业专项信贷产品", "建立渔船抵押物价值评估机制"]);
    assert!(closed.minutes.starts_with("会议纪要"));
    assert_eq!(closed.closed_by, "staff-wang");
    assert!(closed.close_time.is_some());
    assert!(!participant(&closed, "陈普陀").attended, "not listed: absent");
    assert!(participant(&closed, "李宏润").attended);
    assert_eq!(get(&mut w, &s.id).await, closed);

    let status = say(&mut w, &s.id, pb::ContributionKind::Statement, &zhang, "会后补充", "").await.expect_err("closed");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("CLOSED"), "{}", status.message());
    let status = close(&mut w, close_request(&closed)).await.expect_err("closed twice");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let cancel = pb::CancelSessionRequest { session_id: s.id.clone(), reason: "撤销".into(), etag: String::new() };
    let status = w.client.cancel_session(w.suite.as_(&staff(), cancel)).await.expect_err("final");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let add = pb::AddParticipantsRequest { session_id: s.id.clone(), participants: vec![mayor()] };
    let status = w.client.add_participants(w.suite.as_(&staff(), add)).await.expect_err("final");
    assert_eq!(status.code(), Code::FailedPrecondition);

    let closed_events: Vec<(String, pb::SessionClosed)> = outbox(&w.suite.consultation)
        .await
        .into_iter()
        .filter(|(_, t, _)| t == "tingjian.consultation.session_closed")
        .map(|(subject, _, e)| {
            assert_eq!(e.data_schema, "tingjian.consultation.v1.SessionClosed");
            (subject, pb::SessionClosed::decode(e.data.as_slice()).expect("payload"))
        })
        .collect();
    assert_eq!(closed_events.len(), 1, "one event, and none for the refused close");
    let (subject, event) = &closed_events[0];
    assert_eq!(subject, &format!("sessions/{}", s.id));
    assert_eq!(event.session_id, s.id);
    assert_eq!(event.topic_id, w.topic_id);
    assert_eq!(event.format, pb::SessionFormat::Interactive as i32);
    assert_eq!(event.common_issue_ids, [w.issue_id.clone()]);
    assert_eq!(event.speaking_enterprise_ids, [w.enterprises[0].clone(), w.enterprises[1].clone()]);
    assert_eq!(event.attendee_count, 3);
    assert_eq!(event.actor, "staff-wang");
    let stats = event.stats.expect("stats");
    assert_eq!((stats.total_count, stats.entrepreneur_speaker_count), (3, 2));
    assert_eq!(stats.interaction_share.expect("share").numerator, 3);
}

on_both_backends!(an_interactive_session_needs_two_entrepreneur_speakers, super::interactive_close);

/// An online session (键对键) on an intake campaign: the campaign's counts when scheduled, fresh on Get
/// while open, frozen at closing.
async fn online(backend: StorageBackend) {
    let Some(mut w) = world(backend, pb::SessionFormat::Online, 350).await else { return };
    let now = Utc::now();
    let campaign = w
        .suite
        .intake_client()
        .create_campaign(w.suite.as_(
            &staff(),
            intake::CreateCampaignRequest {
                campaign: Some(intake::Campaign {
                    kind: intake::CampaignKind::Solicitation as i32,
                    title: "助力民营经济高质量发展网上建言献策征集".into(),
                    description: "围绕远洋渔业企业融资难题征集意见建议。".into(),
                    start_time: Some(ts(now - Duration::hours(1))),
                    end_time: Some(ts(now + Duration::days(7))),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .expect("campaign")
        .into_inner()
        .campaign
        .expect("campaign");
    let post = |w: &World, who: &str, text: &str| {
        let request = intake::CreateCampaignPostRequest {
            campaign_id: campaign.id.clone(),
            post: Some(intake::CampaignPost {
                author_display_name: format!("{who}委员"),
                title: "关于降低渔船抵押贷款利率的建议".into(),
                text: text.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        };
        let mut client = w.suite.intake_client();
        let request = w.suite.as_(&member(who), request);
        async move { client.create_campaign_post(request).await.expect("posted") }
    };
    post(&w, "member-zhao", "建议设立远洋渔业专项贷款贴息。").await;
    post(&w, "member-qian", "建议推广渔船抵押登记线上办理。").await;
    post(&w, "member-zhao", "建议扩大政策性融资担保覆盖面。").await;

    let wanted = pb::Session {
        topic_id: w.topic_id.clone(),
        title: "键对键·远洋渔业融资网上协商".into(),
        start_time: Some(ts(now)),
        campaign_id: campaign.id.clone(),
        participants: vec![mayor()],
        ..Default::default()
    };
    let s = schedule(&mut w, wanted, "").await.expect("an online session needs no venue");
    assert_eq!(s.format, pb::SessionFormat::Online as i32);
    assert_eq!(s.campaign_id, campaign.id);
    assert_eq!((s.online_participant_count, s.online_post_count), (2, 3));

    post(&w, "member-sun", "建议金融机构开设渔业服务绿色通道。").await;
    let fresh = get(&mut w, &s.id).await;
    assert_eq!((fresh.online_participant_count, fresh.online_post_count), (3, 4), "fresh from intake while open");

    let request = pb::CloseSessionRequest {
        session_id: s.id.clone(),
        minutes: "网上协商纪要：收集建议4条。".into(),
        attended_participant_ids: vec![],
        conclusions: vec!["梳理网上建议形成协商建议清单".into()],
        etag: String::new(),
    };
    let closed = close(&mut w, request).await.expect("closed");
    assert_eq!((closed.online_participant_count, closed.online_post_count), (3, 4));
    assert_eq!(closed.attendee_count, 0);
    post(&w, "member-zhou", "建议建立渔企融资需求库。").await;
    let frozen = get(&mut w, &s.id).await;
    assert_eq!((frozen.online_participant_count, frozen.online_post_count), (3, 4), "frozen at closing");
    let event = outbox(&w.suite.consultation)
        .await
        .into_iter()
        .find(|(_, t, _)| t == "tingjian.consultation.session_closed")
        .map(|(_, _, e)| pb::SessionClosed::decode(e.data.as_slice()).expect("payload"))
        .expect("SessionClosed");
    assert_eq!(event.campaign_id, campaign.id);
}

on_both_backends!(an_online_session_runs_on_a_campaign, super::online);

/// Updates by mask with their etags; cancelling with a reason; lists filtered by topic, format, status
/// and Asia/Shanghai period, newest start first, page by page.
async fn update_cancel_and_list(backend: StorageBackend) {
    let Some(mut w) = world(backend, pb::SessionFormat::FaceToFace, 360).await else { return };
    let interactive_topic =
        create_topic(&w.suite, &mut w.client, &w.plan_id.clone(), &w.issue_id.clone(), pb::SessionFormat::Interactive)
            .await;
    // 2026-03-31T15:00Z is 23:00 on 31 March in Shanghai (Q1); 17:00Z is 01:00 on 1 April (Q2).
    let starts: [(&str, &str); 5] = [
        (&w.topic_id, "2026-01-15T02:00:00Z"),
        (&w.topic_id, "2026-03-31T15:00:00Z"),
        (&interactive_topic, "2026-03-31T17:00:00Z"),
        (&interactive_topic, "2026-05-20T06:00:00Z"),
        (&w.topic_id, "2026-09-09T01:00:00Z"),
    ];
    let starts: Vec<(String, &str)> = starts.iter().map(|(t, s)| ((*t).to_owned(), *s)).collect();
    let mut ids = Vec::new();
    for (i, (topic, start)) in starts.iter().enumerate() {
        let s = schedule(&mut w, session(topic, &format!("第{}场协商会", i + 1), start), "").await.expect("scheduled");
        ids.push(s.id);
    }

    // Update.
    let update = |etag: &str, paths: &[&str], session: pb::Session| pb::UpdateSessionRequest {
        session: Some(pb::Session { id: ids[0].clone(), etag: etag.into(), ..session }),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let changed = pb::Session {
        title: "远洋渔业融资面对面协商会（改期）".into(),
        venue: "舟山市民生议事堂".into(),
        end_time: Some(at("2026-01-15T05:00:00Z")),
        ..Default::default()
    };
    let updated = w
        .client
        .update_session(w.suite.as_(&staff(), update("v1", &["title", "venue", "end_time"], changed.clone())))
        .await
        .expect("updated")
        .into_inner()
        .session
        .expect("session");
    assert_eq!(updated.title, "远洋渔业融资面对面协商会（改期）");
    assert_eq!(updated.venue, "舟山市民生议事堂");
    assert_eq!(updated.end_time, Some(at("2026-01-15T05:00:00Z")));
    assert_eq!(updated.start_time, Some(at("2026-01-15T02:00:00Z")), "not in the mask: kept");
    assert_eq!(updated.etag, "v2");
    let status = w
        .client
        .update_session(w.suite.as_(&staff(), update("v1", &["title"], changed.clone())))
        .await
        .expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let status = w
        .client
        .update_session(w.suite.as_(&staff(), update("", &["status"], changed.clone())))
        .await
        .expect_err("not updatable");
    assert_field_violation(&status, "update_mask");
    let status = w
        .client
        .update_session(w.suite.as_(&staff(), update("", &["venue"], pb::Session::default())))
        .await
        .expect_err("a face-to-face session needs a venue");
    assert_field_violation(&status, "session.venue");
    let status = w
        .client
        .update_session(w.suite.as_(
            &staff(),
            update(
                "",
                &["start_time"],
                pb::Session { start_time: Some(at("2026-01-15T06:00:00Z")), ..Default::default() },
            ),
        ))
        .await
        .expect_err("the end would come first");
    assert_field_violation(&status, "session.end_time");

    // Cancel.
    let cancel = |reason: &str, etag: &str| pb::CancelSessionRequest {
        session_id: ids[1].clone(),
        reason: reason.into(),
        etag: etag.into(),
    };
    let status = w.client.cancel_session(w.suite.as_(&staff(), cancel(" ", ""))).await.expect_err("no reason");
    assert_field_violation(&status, "reason");
    let status = w.client.cancel_session(w.suite.as_(&staff(), cancel("台风停会", "v7"))).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted);
    let cancelled = w
        .client
        .cancel_session(w.suite.as_(&staff(), cancel("台风“梅花”过境，会议取消", "v1")))
        .await
        .expect("cancelled")
        .into_inner()
        .session
        .expect("session");
    assert_eq!(cancelled.status, pb::SessionStatus::Cancelled as i32);
    assert_eq!(cancelled.cancel_reason, "台风“梅花”过境，会议取消");
    let status = w.client.cancel_session(w.suite.as_(&staff(), cancel("再次取消", ""))).await.expect_err("final");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("CANCELLED"), "{}", status.message());
    let status = w
        .client
        .update_session(w.suite.as_(
            &staff(),
            pb::UpdateSessionRequest {
                session: Some(pb::Session { id: ids[1].clone(), title: "改名".into(), ..Default::default() }),
                update_mask: Some(FieldMask { paths: vec!["title".into()] }),
            },
        ))
        .await
        .expect_err("final");
    assert_eq!(status.code(), Code::FailedPrecondition);

    // Lists.
    let list = |request: pb::ListSessionsRequest| {
        let mut client = w.client.clone();
        let request = w.suite.as_(&leader(), request);
        async move { client.list_sessions(request).await.map(|r| r.into_inner()) }
    };
    let ids_of = |r: &pb::ListSessionsResponse| r.sessions.iter().map(|s| s.id.clone()).collect::<Vec<_>>();
    let all = list(pb::ListSessionsRequest::default()).await.expect("all");
    assert_eq!(
        ids_of(&all),
        [ids[4].clone(), ids[3].clone(), ids[2].clone(), ids[1].clone(), ids[0].clone()],
        "newest start first"
    );
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(pb::ListSessionsRequest { page_size: 2, page_token: token, ..Default::default() })
            .await
            .expect("page");
        assert!(page.sessions.len() <= 2);
        paged.extend(ids_of(&page));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(paged, ids_of(&all), "the pages add up to the list");
    let by_topic = list(pb::ListSessionsRequest { topic_id: interactive_topic.clone(), ..Default::default() })
        .await
        .expect("topic");
    assert_eq!(ids_of(&by_topic), [ids[3].clone(), ids[2].clone()]);
    let by_format =
        list(pb::ListSessionsRequest { format: pb::SessionFormat::FaceToFace as i32, ..Default::default() })
            .await
            .expect("format");
    assert_eq!(ids_of(&by_format), [ids[4].clone(), ids[1].clone(), ids[0].clone()]);
    let cancelled_only =
        list(pb::ListSessionsRequest { statuses: vec![pb::SessionStatus::Cancelled as i32], ..Default::default() })
            .await
            .expect("status");
    assert_eq!(ids_of(&cancelled_only), [ids[1].clone()]);
    let quarter = |number| Period { kind: PeriodKind::Quarter as i32, year: 2026, number };
    let q1 = list(pb::ListSessionsRequest { period: Some(quarter(1)), ..Default::default() }).await.expect("Q1");
    assert_eq!(ids_of(&q1), [ids[1].clone(), ids[0].clone()], "23:00 on 31 March in Shanghai is still Q1");
    let q2 = list(pb::ListSessionsRequest {
        period: Some(quarter(2)),
        statuses: vec![pb::SessionStatus::Scheduled as i32],
        ..Default::default()
    })
    .await
    .expect("Q2");
    assert_eq!(ids_of(&q2), [ids[3].clone(), ids[2].clone()], "01:00 on 1 April in Shanghai is Q2");

    let status =
        list(pb::ListSessionsRequest { period: Some(quarter(5)), ..Default::default() }).await.expect_err("Q5");
    assert_field_violation(&status, "period.number");
    let status = list(pb::ListSessionsRequest { statuses: vec![9], ..Default::default() }).await.expect_err("status 9");
    assert_field_violation(&status, "statuses[0]");
    let status = list(pb::ListSessionsRequest { page_size: -1, ..Default::default() }).await.expect_err("negative");
    assert_field_violation(&status, "page_size");
    let first = list(pb::ListSessionsRequest { page_size: 2, ..Default::default() }).await.expect("page");
    let status = list(pb::ListSessionsRequest {
        page_size: 2,
        page_token: first.next_page_token,
        format: pb::SessionFormat::Online as i32,
        ..Default::default()
    })
    .await
    .expect_err("a token of other filters");
    assert_field_violation(&status, "page_token");
}

on_both_backends!(sessions_are_updated_cancelled_and_listed, super::update_cancel_and_list);
