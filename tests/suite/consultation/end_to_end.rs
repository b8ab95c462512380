//! The seed's loop across three servers: intake, consultation and supervision each run as their own
//! server on their own database. A topic is planned from a real common issue fetched from intake,
//! invitees are proposed from the enterprises behind it (those with demands first), the session is
//! run with their entrepreneurs and the mayor, a suggestion comes out of it and is assigned to
//! supervision as a case — once, however often it is asked — with the link kept both ways.

use tingjian_proto::common::v1 as common;
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::supervision::v1 as sv;
use tingjian_tests::suite::{Suite, leader, staff};
use tingjian_tests::{StorageBackend, on_both_backends, outbox, outbox_payloads};

async fn from_common_issue_to_supervised_case(backend: StorageBackend) {
    let Some(suite) = Suite::start(backend).await else { return };
    let mut consultation = suite.consultation_client();
    let (issue, enterprises) = suite.financing_issue(900).await;
    let bystander = suite.enterprise(910, "舟山市东海远洋渔业有限公司", "ocean_fishing", "dinghai").await;
    let elsewhere = suite.enterprise(911, "舟山市临港装备制造有限公司", "advanced_manufacturing", "dinghai").await;

    // The plan and a topic drawn from the common issue.
    let plan = consultation
        .create_plan(suite.as_(
            &staff(),
            pb::CreatePlanRequest {
                plan: Some(pb::Plan {
                    year: 2026,
                    title: "2026年度市委市政府市政协重大协商计划".into(),
                    ..Default::default()
                }),
                request_id: "plan-2026".into(),
            },
        ))
        .await
        .expect("plan")
        .into_inner()
        .plan
        .expect("plan");
    let topic = consultation
        .create_topic(suite.as_(
            &staff(),
            pb::CreateTopicRequest {
                topic: Some(pb::Topic {
                    plan_id: plan.id.clone(),
                    title: "降低远洋渔业企业综合融资成本".into(),
                    background: "远洋渔业企业普遍反映渔船抵押贷款利率偏高。".into(),
                    common_issue_ids: vec![issue.id.clone()],
                    leader: Some(common::PersonRef { title: "市长".into(), ..Default::default() }),
                    format: pb::SessionFormat::FaceToFace as i32,
                    stakeholders: vec![
                        pb::Stakeholder {
                            kind: pb::StakeholderKind::Industry as i32,
                            code: "ocean_fishing".into(),
                            name: String::new(),
                        },
                        pb::Stakeholder {
                            kind: pb::StakeholderKind::Group as i32,
                            code: "skilled_talent".into(),
                            name: "高技能人才".into(),
                        },
                    ],
                    ..Default::default()
                }),
                request_id: "topic-financing".into(),
            },
        ))
        .await
        .expect("topic")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(topic.common_issue_ids, std::slice::from_ref(&issue.id));
    let topic = consultation
        .adopt_topic(suite.as_(&staff(), pb::AdoptTopicRequest { id: topic.id.clone(), etag: topic.etag.clone() }))
        .await
        .expect("adopted")
        .into_inner()
        .topic
        .expect("topic");
    assert_eq!(topic.status, pb::TopicStatus::Adopted as i32);

    // Invitees by the stakeholder principle: the enterprises behind the issue first, the one with two
    // demands ahead; then the industry's other enterprise; then the named group; never the unrelated one.
    let invitations = consultation
        .propose_invitations(
            suite.as_(&staff(), pb::ProposeInvitationsRequest { topic_id: topic.id.clone(), limit: 0 }),
        )
        .await
        .expect("proposals")
        .into_inner()
        .invitations;
    let order: Vec<&str> = invitations.iter().map(|i| i.invitee_id.as_str()).collect();
    assert_eq!(order[0], enterprises[0], "{invitations:#?}");
    assert!(order[1..3].contains(&enterprises[1].as_str()) && order[1..3].contains(&enterprises[2].as_str()));
    assert_eq!(invitations[0].basis, pb::InvitationBasis::DemandInCommonIssue as i32);
    assert!(
        invitations[0].reason.contains('2') && invitations[0].reason.contains(&issue.title),
        "{}",
        invitations[0].reason
    );
    let by_industry = invitations.iter().position(|i| i.invitee_id == bystander).expect("the industry's enterprise");
    assert_eq!(invitations[by_industry].basis, pb::InvitationBasis::AffectedIndustry as i32);
    assert!(by_industry >= 3);
    let group = invitations.iter().position(|i| i.invitee_kind == pb::InviteeKind::Group as i32).expect("the group");
    assert!(group > by_industry);
    assert!(!order.contains(&elsewhere.as_str()), "an unaffected enterprise is not proposed");

    for invitation in invitations.iter().filter(|i| enterprises.contains(&i.invitee_id)) {
        consultation
            .accept_invitation(suite.as_(&staff(), pb::AcceptInvitationRequest { id: invitation.id.clone() }))
            .await
            .expect("accepted");
    }

    // The session: the accepted entrepreneurs and the mayor; questions and answers; closed.
    let session = consultation
        .schedule_session(suite.as_(
            &staff(),
            pb::ScheduleSessionRequest {
                session: Some(pb::Session {
                    topic_id: topic.id.clone(),
                    title: "远洋渔业企业融资降本面对面协商会".into(),
                    venue: "舟山市民生议事堂".into(),
                    start_time: Some(prost_types::Timestamp { seconds: 1_796_000_000, nanos: 0 }),
                    ..Default::default()
                }),
                include_accepted_invitees: true,
                request_id: "session-financing".into(),
            },
        ))
        .await
        .expect("scheduled")
        .into_inner()
        .session
        .expect("session");
    assert_eq!(session.format, pb::SessionFormat::FaceToFace as i32, "the topic's format by default");
    let speakers: Vec<&pb::Participant> =
        session.participants.iter().filter(|p| p.role == pb::ParticipantRole::Entrepreneur as i32).collect();
    assert_eq!(speakers.len(), 3);
    let mut spoken_for: Vec<&str> = speakers.iter().map(|p| p.enterprise_id.as_str()).collect();
    spoken_for.sort_unstable();
    let mut expected: Vec<&str> = enterprises.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(spoken_for, expected);
    let session = consultation
        .add_participants(suite.as_(
            &staff(),
            pb::AddParticipantsRequest {
                session_id: session.id.clone(),
                participants: vec![pb::Participant {
                    role: pb::ParticipantRole::Leader as i32,
                    display_name: "王市长".into(),
                    affiliation: "舟山市人民政府".into(),
                    ..Default::default()
                }],
            },
        ))
        .await
        .expect("the mayor joins")
        .into_inner()
        .session
        .expect("session");
    let mayor = session.participants.iter().find(|p| p.display_name == "王市长").expect("mayor").id.clone();
    let question = consultation
        .record_contribution(suite.as_(
            &staff(),
            pb::RecordContributionRequest {
                session_id: session.id.clone(),
                contribution: Some(pb::Contribution {
                    kind: pb::ContributionKind::Question as i32,
                    speaker_participant_id: speakers[0].id.clone(),
                    text: "渔船抵押贷款利率比一般工商贷款高，能否协调下调？".into(),
                    ..Default::default()
                }),
                request_id: "q1".into(),
            },
        ))
        .await
        .expect("question")
        .into_inner()
        .contribution
        .expect("contribution");
    let answered = consultation
        .record_contribution(suite.as_(
            &staff(),
            pb::RecordContributionRequest {
                session_id: session.id.clone(),
                contribution: Some(pb::Contribution {
                    kind: pb::ContributionKind::Answer as i32,
                    speaker_participant_id: mayor.clone(),
                    text: "市金融办牵头，协调银行推出远洋渔业专项信贷产品。".into(),
                    reply_to_contribution_id: question.id.clone(),
                    ..Default::default()
                }),
                request_id: "a1".into(),
            },
        ))
        .await
        .expect("answer")
        .into_inner();
    assert_eq!(answered.contribution.expect("answer").sequence, 2);
    let stats = answered.stats.expect("stats");
    assert_eq!((stats.question_count, stats.answer_count, stats.total_count), (1, 1, 2));
    let closed = consultation
        .close_session(suite.as_(
            &staff(),
            pb::CloseSessionRequest {
                session_id: session.id.clone(),
                minutes: "会议纪要：企业反映融资成本偏高，市长现场回应。".into(),
                attended_participant_ids: session.participants.iter().map(|p| p.id.clone()).collect(),
                conclusions: vec!["协调金融机构推出远洋渔业专项信贷产品".into()],
                etag: String::new(),
            },
        ))
        .await
        .expect("closed")
        .into_inner()
        .session
        .expect("session");
    assert_eq!(closed.status, pb::SessionStatus::Closed as i32);
    assert_eq!(closed.attendee_count, 4);

    // The suggestion list of the session, submitted to the government.
    let suggestion = consultation
        .draft_suggestion(suite.as_(
            &staff(),
            pb::DraftSuggestionRequest {
                suggestion: Some(pb::Suggestion {
                    session_id: session.id.clone(),
                    title: "争取金融机构降低符合条件的远洋渔业相关企业综合融资成本".into(),
                    text: "建议市政府协调金融机构，对符合条件的远洋渔业企业下调渔船抵押贷款利率。".into(),
                    category: "finance_credit".into(),
                    ..Default::default()
                }),
                request_id: "suggestion-financing".into(),
            },
        ))
        .await
        .expect("drafted")
        .into_inner()
        .suggestion
        .expect("suggestion");
    assert_eq!(suggestion.topic_id, topic.id, "the topic comes from the session");
    assert_eq!(suggestion.common_issue_ids, std::slice::from_ref(&issue.id), "the topic's common issues by default");
    let suggestion = consultation
        .submit_suggestion(suite.as_(
            &staff(),
            pb::SubmitSuggestionRequest {
                id: suggestion.id.clone(),
                recipients: vec![pb::SuggestionRecipient::Government as i32],
                etag: suggestion.etag.clone(),
            },
        ))
        .await
        .expect("submitted")
        .into_inner()
        .suggestion
        .expect("suggestion");

    // Assigned to supervision: a case whose source is the suggestion; asked again, the same case.
    let assign = || pb::AssignToSupervisionRequest {
        source_kind: pb::AssignmentSourceKind::Suggestion as i32,
        source_id: suggestion.id.clone(),
        lead_unit: Some(common::OrganisationRef {
            id: "zs-finance-office".into(),
            name: "舟山市金融工作办公室".into(),
            kind: common::OrganisationKind::HandlingUnit as i32,
        }),
        co_units: vec![common::OrganisationRef {
            id: "zs-ocean-fishery".into(),
            name: "舟山市海洋与渔业局".into(),
            kind: common::OrganisationKind::HandlingUnit as i32,
        }],
        responsible_head: Some(common::PersonRef {
            display_name: "李主任".into(),
            title: "主任".into(),
            ..Default::default()
        }),
        deadline_working_days: 15,
        requirements: "15个工作日内答复办理结果。".into(),
        ..Default::default()
    };
    let first = consultation.assign_to_supervision(suite.as_(&staff(), assign())).await.expect("assigned").into_inner();
    assert!(first.newly_created);
    let assignment = first.assignment.expect("assignment");
    let again = consultation.assign_to_supervision(suite.as_(&staff(), assign())).await.expect("again").into_inner();
    assert!(!again.newly_created, "a second assignment of the same suggestion creates no second case");
    assert_eq!(again.assignment.expect("assignment").case_id, assignment.case_id);

    let case = suite
        .supervision_client()
        .get_case(suite.as_(&staff(), sv::GetCaseRequest { id: assignment.case_id.clone() }))
        .await
        .expect("the case exists in supervision")
        .into_inner()
        .case
        .expect("case");
    let source = case.source.expect("source");
    assert_eq!(
        (source.kind, source.source_id.as_str()),
        (sv::CaseSourceKind::Suggestion as i32, suggestion.id.as_str())
    );
    assert_eq!(case.lead_unit.expect("lead unit").name, "舟山市金融工作办公室");
    let cases = suite
        .supervision_client()
        .list_cases(suite.as_(
            &staff(),
            sv::ListCasesRequest {
                source_kind: sv::CaseSourceKind::Suggestion as i32,
                source_id: suggestion.id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("cases")
        .into_inner()
        .cases;
    assert_eq!(cases.len(), 1, "one case for the suggestion");
    let linked = consultation
        .get_suggestion(suite.as_(&leader(), pb::GetSuggestionRequest { id: suggestion.id.clone() }))
        .await
        .expect("suggestion")
        .into_inner()
        .suggestion
        .expect("suggestion");
    assert_eq!(linked.case_id, assignment.case_id, "the link is kept on the suggestion too");

    // The facts others need, written with each change.
    let kinds: Vec<String> = outbox(&suite.consultation).await.into_iter().map(|(_, kind, _)| kind).collect();
    for kind in ["topic_adopted", "session_closed", "suggestion_submitted", "assigned_to_supervision"] {
        let full = format!("tingjian.consultation.{kind}");
        assert_eq!(kinds.iter().filter(|k| **k == full).count(), 1, "{full} once in {kinds:?}");
    }
    let closed_events: Vec<(String, pb::SessionClosed)> =
        outbox_payloads(&suite.consultation, "tingjian.consultation.session_closed").await;
    assert_eq!(closed_events[0].1.common_issue_ids, std::slice::from_ref(&issue.id));
    assert_eq!(closed_events[0].1.speaking_enterprise_ids, [enterprises[0].clone()]);
    let dispatched = outbox(&suite.supervision).await;
    assert_eq!(dispatched.iter().filter(|(_, kind, _)| kind == "tingjian.supervision.case_dispatched").count(), 1);
}

on_both_backends!(a_common_issue_becomes_a_supervised_case, super::from_common_issue_to_supervised_case);
