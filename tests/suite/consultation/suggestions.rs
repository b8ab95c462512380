//! Consultation: suggestions (协商建议清单) — drafting from a topic or a session (the topic and its common
//! issues taken from them), bad inputs, idempotent drafts, edits of drafts only, submission to the party
//! committee and government, the recorded response, the suggestion list by session, topic, period and
//! status, and the events written to the outbox with each change. Also the fixtures the report and
//! assignment tests share.

use prost::Message as _;
use prost_types::{FieldMask, Timestamp};
use tingjian_proto::common::v1::{Event, OrganisationKind, OrganisationRef, Period, PeriodKind, PersonRef};
use tingjian_proto::consultation::v1 as pb;
use tingjian_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use tingjian_proto::intake::v1 as intake;
use tingjian_runtime::on_pool;
use tingjian_tests::suite::{Suite, member, staff};
use tingjian_tests::{StorageBackend, TestService, assert_field_violation, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;

/// A client of consultation.
pub(crate) type Client = ConsultationServiceClient<Channel>;

/// The three services with a plan, an adopted-or-proposed topic drawn from the seed's financing
/// common issue, and a scheduled session on it.
pub(crate) struct Setup {
    pub suite: Suite,
    pub client: Client,
    pub issue: intake::CommonIssue,
    pub topic: pb::Topic,
    pub session: pb::Session,
}

/// Starts the suite and creates the plan, topic and session; `None` when PostgreSQL is unreachable.
pub(crate) async fn setup(backend: StorageBackend) -> Option<Setup> {
    let suite = Suite::start(backend).await?;
    let mut client = suite.consultation_client();
    let (issue, _) = suite.financing_issue(300).await;
    let plan = client
        .create_plan(suite.as_(
            &staff(),
            pb::CreatePlanRequest {
                plan: Some(pb::Plan {
                    year: 2026,
                    title: "2026年度重大协商计划".into(),
                    description: "围绕营商环境开展政企协商".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .expect("plan created")
        .into_inner()
        .plan
        .expect("plan");
    let topic = client
        .create_topic(suite.as_(
            &staff(),
            pb::CreateTopicRequest {
                topic: Some(pb::Topic {
                    plan_id: plan.id.clone(),
                    title: "降低远洋渔业企业综合融资成本".into(),
                    background: "远洋渔业企业反映渔船抵押贷款利率偏高、融资难。".into(),
                    common_issue_ids: vec![issue.id.clone()],
                    leader: Some(mayor()),
                    format: pb::SessionFormat::FaceToFace as i32,
                    ..Default::default()
                }),
                request_id: String::new(),
            },
        ))
        .await
        .expect("topic created")
        .into_inner()
        .topic
        .expect("topic");
    let start = chrono::Utc::now() + chrono::Duration::days(7);
    let session = client
        .schedule_session(suite.as_(
            &staff(),
            pb::ScheduleSessionRequest {
                session: Some(pb::Session {
                    topic_id: topic.id.clone(),
                    title: "远洋渔业企业融资难题面对面协商会".into(),
                    venue: "舟山总商会政协委员会客厅".into(),
                    start_time: Some(Timestamp { seconds: start.timestamp(), nanos: 0 }),
                    ..Default::default()
                }),
                include_accepted_invitees: false,
                request_id: String::new(),
            },
        ))
        .await
        .expect("session scheduled")
        .into_inner()
        .session
        .expect("session");
    Some(Setup { suite, client, issue, topic, session })
}

/// The mayor, who answers the topic and receives reports.
pub(crate) fn mayor() -> PersonRef {
    PersonRef {
        id: "leader-mayor".into(),
        display_name: "王建华".into(),
        title: "市长".into(),
        organisation_id: String::new(),
    }
}

/// The city government's office, which answers suggestions.
pub(crate) fn government_office() -> OrganisationRef {
    OrganisationRef {
        id: "zs-szfb".into(),
        name: "舟山市人民政府办公室".into(),
        kind: OrganisationKind::Government as i32,
    }
}

/// A DraftSuggestion request on `topic_id` and/or `session_id`.
pub(crate) fn draft_request(session_id: &str, topic_id: &str, title: &str) -> pb::DraftSuggestionRequest {
    pb::DraftSuggestionRequest {
        suggestion: Some(pb::Suggestion {
            session_id: session_id.into(),
            topic_id: topic_id.into(),
            title: title.into(),
            text: format!("{title}：建议市金融办协调银行机构对符合条件的远洋渔业企业给予利率优惠。"),
            category: "finance_credit".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

impl Setup {
    /// Drafts a suggestion on the topic.
    pub(crate) async fn draft(&mut self, title: &str) -> pb::Suggestion {
        let request = self.suite.as_(&staff(), draft_request("", &self.topic.id, title));
        self.client.draft_suggestion(request).await.expect("drafted").into_inner().suggestion.expect("suggestion")
    }

    /// Submits a suggestion to the government.
    pub(crate) async fn submit(&mut self, id: &str) -> pb::Suggestion {
        let request = pb::SubmitSuggestionRequest {
            id: id.into(),
            recipients: vec![pb::SuggestionRecipient::Government as i32],
            etag: String::new(),
        };
        let request = self.suite.as_(&staff(), request);
        self.client.submit_suggestion(request).await.expect("submitted").into_inner().suggestion.expect("suggestion")
    }

    /// Drafts and submits a suggestion on the topic.
    pub(crate) async fn submitted(&mut self, title: &str) -> pb::Suggestion {
        let draft = self.draft(title).await;
        self.submit(&draft.id).await
    }

    /// A suggestion by id.
    pub(crate) async fn get(&mut self, id: &str) -> pb::Suggestion {
        let request = self.suite.as_(&staff(), pb::GetSuggestionRequest { id: id.into() });
        self.client.get_suggestion(request).await.expect("read").into_inner().suggestion.expect("suggestion")
    }
}

/// The outbox events of `event_type` (e.g. "tingjian.consultation.suggestion_submitted") with their
/// subjects, oldest first.
pub(crate) async fn outbox(service: &TestService, event_type: &str) -> Vec<(String, Event)> {
    let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&service.database.db, pool => {
        sqlx::query_as("SELECT subject, event_type, envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
    })
    .expect("outbox");
    rows.into_iter()
        .filter(|(_, t, _)| t == event_type)
        .map(|(s, _, e)| (s, Event::decode(e.as_slice()).expect("envelope")))
        .collect()
}

/// Drafting from a topic and from a session: status DRAFT, the topic and its common issues taken over,
/// who drafted it; idempotent retries; unknown or mismatched sessions and topics, missing fields and
/// unknown common issues named field by field; staff only.
async fn draft_and_read(backend: StorageBackend) {
    let Some(mut s) = setup(backend).await else { return };
    let staff = staff();

    let from_topic = s.draft("争取金融机构降低符合条件的远洋渔业相关企业综合融资成本").await;
    assert_eq!(from_topic.status, pb::SuggestionStatus::Draft as i32);
    assert_eq!(from_topic.topic_id, s.topic.id);
    assert_eq!(from_topic.session_id, "");
    assert_eq!(from_topic.common_issue_ids, vec![s.issue.id.clone()], "the topic's common issues by default");
    assert_eq!(from_topic.category, "finance_credit");
    assert_eq!(from_topic.created_by, "staff-wang");
    assert!(from_topic.recipients.is_empty());
    assert!(from_topic.submit_time.is_none());
    assert!(from_topic.feedback.is_none());
    assert_eq!(from_topic.case_id, "");
    assert!(!from_topic.etag.is_empty());
    assert_eq!(s.get(&from_topic.id).await, from_topic);

    let mut request = draft_request(&s.session.id, "", "设立远洋渔业企业应急转贷资金池");
    request.request_id = "draft-session-1".into();
    let from_session = s
        .client
        .draft_suggestion(s.suite.as_(&staff, request.clone()))
        .await
        .expect("drafted from the session")
        .into_inner()
        .suggestion
        .expect("suggestion");
    assert_eq!(from_session.session_id, s.session.id);
    assert_eq!(from_session.topic_id, s.topic.id, "the topic is the session's");
    assert_eq!(from_session.common_issue_ids, vec![s.issue.id.clone()]);

    let again = s.client.draft_suggestion(s.suite.as_(&staff, request.clone())).await.expect("retried");
    assert_eq!(again.into_inner().suggestion.expect("suggestion").id, from_session.id, "same request id, same draft");
    let mut changed = request.clone();
    changed.suggestion.as_mut().expect("suggestion").title = "另一条建议".into();
    let status = s.client.draft_suggestion(s.suite.as_(&staff, changed)).await.expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    let unknown = tingjian_runtime::wire::new_id();
    let status = s
        .client
        .draft_suggestion(s.suite.as_(&staff, draft_request(&unknown, "", "建议")))
        .await
        .expect_err("unknown session");
    assert_field_violation(&status, "suggestion.session_id");
    let status = s
        .client
        .draft_suggestion(s.suite.as_(&staff, draft_request("", &unknown, "建议")))
        .await
        .expect_err("unknown topic");
    assert_field_violation(&status, "suggestion.topic_id");
    let status = s
        .client
        .draft_suggestion(s.suite.as_(&staff, draft_request(&s.session.id, &unknown, "建议")))
        .await
        .expect_err("topic other than the session's");
    assert_field_violation(&status, "suggestion.topic_id");
    let status = s
        .client
        .draft_suggestion(s.suite.as_(&staff, draft_request("", "", "建议")))
        .await
        .expect_err("neither session nor topic");
    assert_field_violation(&status, "suggestion.session_id");

    let mut empty = draft_request("", &s.topic.id, "");
    empty.suggestion.as_mut().expect("suggestion").text = "  ".into();
    let status = s.client.draft_suggestion(s.suite.as_(&staff, empty)).await.expect_err("no title or text");
    assert_field_violation(&status, "suggestion.title");
    assert_field_violation(&status, "suggestion.text");

    let mut foreign = draft_request("", &s.topic.id, "建议");
    foreign.suggestion.as_mut().expect("suggestion").common_issue_ids = vec![s.issue.id.clone(), unknown.clone()];
    let status = s.client.draft_suggestion(s.suite.as_(&staff, foreign)).await.expect_err("unknown common issue");
    assert_field_violation(&status, "suggestion.common_issue_ids[1]");

    let status = s
        .client
        .draft_suggestion(s.suite.as_(&member("member-li"), draft_request("", &s.topic.id, "委员建议")))
        .await
        .expect_err("members do not draft");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let read = s
        .client
        .get_suggestion(s.suite.as_(&member("member-li"), pb::GetSuggestionRequest { id: from_topic.id.clone() }))
        .await
        .expect("members read");
    assert_eq!(read.into_inner().suggestion.expect("suggestion").title, from_topic.title);

    let status = s
        .client
        .get_suggestion(s.suite.as_(&staff, pb::GetSuggestionRequest { id: unknown.clone() }))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = s
        .client
        .get_suggestion(s.suite.as_(&staff, pb::GetSuggestionRequest { id: "第一条".into() }))
        .await
        .expect_err("not an id");
    assert_field_violation(&status, "id");

    let drafted = outbox(&s.suite.consultation, "tingjian.consultation.suggestion_submitted").await;
    assert!(drafted.is_empty(), "drafting emits nothing");
}

on_both_backends!(drafting_and_reading, super::draft_and_read);

/// The lifecycle: a draft is edited through an update mask (etag checked), submitted to at least one
/// recipient (SuggestionSubmitted), no longer editable, answered (SuggestionFeedbackRecorded; a later
/// response replaces the earlier one); every illegal move is FAILED_PRECONDITION naming the status.
async fn lifecycle(backend: StorageBackend) {
    let Some(mut s) = setup(backend).await else { return };
    let staff = staff();
    let draft = s.draft("降低渔船抵押贷款利率").await;

    let update = |suggestion: pb::Suggestion, paths: &[&str]| pb::UpdateSuggestionRequest {
        suggestion: Some(suggestion),
        update_mask: Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
    };
    let edited = pb::Suggestion {
        title: "争取金融机构降低符合条件的远洋渔业相关企业综合融资成本".into(),
        text: "建议由市金融办牵头，协调银行机构下调渔船抵押贷款利率。".into(),
        ..draft.clone()
    };
    let updated = s
        .client
        .update_suggestion(s.suite.as_(&staff, update(edited.clone(), &["title"])))
        .await
        .expect("updated")
        .into_inner()
        .suggestion
        .expect("suggestion");
    assert_eq!(updated.title, edited.title);
    assert_eq!(updated.text, draft.text, "fields outside the mask are unchanged");
    assert_ne!(updated.etag, draft.etag);
    let status = s
        .client
        .update_suggestion(s.suite.as_(&staff, update(edited.clone(), &["text"])))
        .await
        .expect_err("stale etag");
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let status =
        s.client.update_suggestion(s.suite.as_(&staff, update(updated.clone(), &[]))).await.expect_err("no mask");
    assert_field_violation(&status, "update_mask");
    let status = s
        .client
        .update_suggestion(s.suite.as_(&staff, update(updated.clone(), &["status"])))
        .await
        .expect_err("not updatable");
    assert_field_violation(&status, "update_mask");
    let blank = pb::Suggestion { title: String::new(), ..updated.clone() };
    let status =
        s.client.update_suggestion(s.suite.as_(&staff, update(blank, &["title"]))).await.expect_err("blank title");
    assert_field_violation(&status, "suggestion.title");

    let feedback = |id: &str, text: &str| pb::RecordSuggestionFeedbackRequest {
        id: id.into(),
        feedback: Some(pb::SuggestionFeedback {
            text: text.into(),
            responder: Some(government_office()),
            response_time: Some(Timestamp { seconds: chrono::Utc::now().timestamp() - 3600, nanos: 0 }),
            recorded_by: String::new(),
        }),
        etag: String::new(),
    };
    let status = s
        .client
        .record_suggestion_feedback(s.suite.as_(&staff, feedback(&draft.id, "已阅")))
        .await
        .expect_err("feedback on a draft");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("DRAFT"), "{status:?}");

    let submit = |recipients: Vec<i32>, etag: &str| pb::SubmitSuggestionRequest {
        id: draft.id.clone(),
        recipients,
        etag: etag.into(),
    };
    let status = s.client.submit_suggestion(s.suite.as_(&staff, submit(vec![], ""))).await.expect_err("nobody");
    assert_field_violation(&status, "recipients");
    let status = s.client.submit_suggestion(s.suite.as_(&staff, submit(vec![7], ""))).await.expect_err("unknown");
    assert_field_violation(&status, "recipients[0]");
    let status =
        s.client.submit_suggestion(s.suite.as_(&staff, submit(vec![1], &draft.etag))).await.expect_err("stale");
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let both = vec![pb::SuggestionRecipient::PartyCommittee as i32, pb::SuggestionRecipient::Government as i32];
    let submitted = s
        .client
        .submit_suggestion(s.suite.as_(&staff, submit(both.clone(), &updated.etag)))
        .await
        .expect("submitted")
        .into_inner()
        .suggestion
        .expect("suggestion");
    assert_eq!(submitted.status, pb::SuggestionStatus::Submitted as i32);
    assert_eq!(submitted.recipients, both);
    assert!(submitted.submit_time.is_some());

    let status = s
        .client
        .update_suggestion(s.suite.as_(&staff, update(submitted.clone(), &["title"])))
        .await
        .expect_err("update after submit");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("SUBMITTED"), "{status:?}");
    let status = s.client.submit_suggestion(s.suite.as_(&staff, submit(both.clone(), ""))).await.expect_err("twice");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");

    let mut missing = feedback(&draft.id, "");
    missing.feedback.as_mut().expect("feedback").response_time = None;
    let status = s.client.record_suggestion_feedback(s.suite.as_(&staff, missing)).await.expect_err("incomplete");
    assert_field_violation(&status, "feedback.text");
    assert_field_violation(&status, "feedback.response_time");
    let mut future = feedback(&draft.id, "将于下月答复");
    future.feedback.as_mut().expect("feedback").response_time =
        Some(Timestamp { seconds: chrono::Utc::now().timestamp() + 86_400, nanos: 0 });
    let status = s.client.record_suggestion_feedback(s.suite.as_(&staff, future)).await.expect_err("future");
    assert_field_violation(&status, "feedback.response_time");

    let first = "市政府已责成市金融办会同人民银行舟山市分行研究落实。";
    let responded = s
        .client
        .record_suggestion_feedback(s.suite.as_(&staff, feedback(&draft.id, first)))
        .await
        .expect("responded")
        .into_inner()
        .suggestion
        .expect("suggestion");
    assert_eq!(responded.status, pb::SuggestionStatus::Responded as i32);
    let recorded = responded.feedback.clone().expect("feedback");
    assert_eq!(recorded.text, first);
    assert_eq!(recorded.responder, Some(government_office()));
    assert_eq!(recorded.recorded_by, "staff-wang");
    let second = "已出台渔船抵押贷款贴息办法，综合融资成本下降0.8个百分点。";
    let replaced = s
        .client
        .record_suggestion_feedback(s.suite.as_(&staff, feedback(&draft.id, second)))
        .await
        .expect("a later response")
        .into_inner()
        .suggestion
        .expect("suggestion");
    assert_eq!(replaced.feedback.expect("feedback").text, second, "the later response replaces the earlier");
    assert_eq!(s.get(&draft.id).await.status, pb::SuggestionStatus::Responded as i32);

    let events = outbox(&s.suite.consultation, "tingjian.consultation.suggestion_submitted").await;
    assert_eq!(events.len(), 1);
    let (subject, event) = &events[0];
    assert_eq!(subject, &format!("suggestions/{}", draft.id));
    assert_eq!(event.data_schema, "tingjian.consultation.v1.SuggestionSubmitted");
    let payload = pb::SuggestionSubmitted::decode(event.data.as_slice()).expect("payload");
    assert_eq!(payload.suggestion_id, draft.id);
    assert_eq!(payload.topic_id, s.topic.id);
    assert_eq!(payload.title, edited.title);
    assert_eq!(payload.category, "finance_credit");
    assert_eq!(payload.common_issue_ids, vec![s.issue.id.clone()]);
    assert_eq!(payload.recipients, both);
    assert_eq!(payload.actor, "staff-wang");
    let events = outbox(&s.suite.consultation, "tingjian.consultation.suggestion_feedback_recorded").await;
    assert_eq!(events.len(), 2, "one event per recorded response");
    let payload = pb::SuggestionFeedbackRecorded::decode(events[1].1.data.as_slice()).expect("payload");
    assert_eq!(payload.suggestion_id, draft.id);
    assert_eq!(payload.responder, Some(government_office()));
    assert_eq!(payload.actor, "staff-wang");
}

on_both_backends!(draft_submit_respond, super::lifecycle);

/// The suggestion list (协商建议清单) of a session, a topic, a period of submission and statuses,
/// oldest first, page by page; bad filters and tokens named.
async fn list(backend: StorageBackend) {
    let Some(mut s) = setup(backend).await else { return };
    let staff = staff();
    let a = s.submitted("建议一：降低渔船抵押贷款利率").await;
    let b = s.draft("建议二：设立应急转贷资金池").await;
    let request = s.suite.as_(&staff, draft_request(&s.session.id, "", "建议三：扩大渔业保险覆盖面"));
    let c = s.client.draft_suggestion(request).await.expect("drafted").into_inner().suggestion.expect("suggestion");
    let c = s.submit(&c.id).await;

    let list = |request: pb::ListSuggestionsRequest| {
        let mut client = s.client.clone();
        let request = s.suite.as_(&staff, request);
        async move { client.list_suggestions(request).await }
    };
    let ids = |r: pb::ListSuggestionsResponse| r.suggestions.into_iter().map(|x| x.id).collect::<Vec<_>>();

    let all =
        list(pb::ListSuggestionsRequest { topic_id: s.topic.id.clone(), ..Default::default() }).await.expect("listed");
    assert_eq!(ids(all.into_inner()), vec![a.id.clone(), b.id.clone(), c.id.clone()], "oldest first");
    let of_session = list(pb::ListSuggestionsRequest { session_id: s.session.id.clone(), ..Default::default() })
        .await
        .expect("listed");
    assert_eq!(ids(of_session.into_inner()), vec![c.id.clone()]);
    let drafts =
        list(pb::ListSuggestionsRequest { statuses: vec![pb::SuggestionStatus::Draft as i32], ..Default::default() })
            .await
            .expect("listed");
    assert_eq!(ids(drafts.into_inner()), vec![b.id.clone()]);

    let now = chrono::Utc::now().with_timezone(&tingjian_runtime::time::china());
    let year = chrono::Datelike::year(&now);
    let month = i32::try_from(chrono::Datelike::month(&now)).expect("month");
    let this_month = Period { kind: PeriodKind::Month as i32, year, number: month };
    let in_period =
        list(pb::ListSuggestionsRequest { period: Some(this_month), ..Default::default() }).await.expect("listed");
    assert_eq!(ids(in_period.into_inner()), vec![a.id.clone(), c.id.clone()], "submitted this month; drafts excluded");
    let last_year = Period { kind: PeriodKind::Year as i32, year: year - 1, number: 0 };
    let none =
        list(pb::ListSuggestionsRequest { period: Some(last_year), ..Default::default() }).await.expect("listed");
    assert!(none.into_inner().suggestions.is_empty());

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = list(pb::ListSuggestionsRequest { page_size: 1, page_token: token, ..Default::default() })
            .await
            .expect("page")
            .into_inner();
        assert!(page.suggestions.len() <= 1);
        seen.extend(page.suggestions.into_iter().map(|x| x.id));
        token = page.next_page_token;
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen, vec![a.id.clone(), b.id.clone(), c.id.clone()], "every suggestion once, in order");

    let status = list(pb::ListSuggestionsRequest { page_token: "不是令牌".into(), ..Default::default() })
        .await
        .expect_err("bad token");
    assert_field_violation(&status, "page_token");
    let status =
        list(pb::ListSuggestionsRequest { statuses: vec![9], ..Default::default() }).await.expect_err("bad status");
    assert_field_violation(&status, "statuses[0]");
    let status = list(pb::ListSuggestionsRequest {
        period: Some(Period { kind: PeriodKind::Quarter as i32, year, number: 5 }),
        ..Default::default()
    })
    .await
    .expect_err("bad quarter");
    assert_field_violation(&status, "period.number");
    let status =
        list(pb::ListSuggestionsRequest { topic_id: "议题".into(), ..Default::default() }).await.expect_err("bad id");
    assert_field_violation(&status, "topic_id");
}

on_both_backends!(the_suggestion_list, super::list);
