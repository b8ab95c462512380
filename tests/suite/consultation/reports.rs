//! Consultation: special reports (专报) compiled from suggestions and public-opinion items, sent to
//! leaders, and their instructions (批示) — bad inputs, illegal moves, idempotent compiling and
//! recording, the list newest first by status and period, and the events written to the outbox.

use prost::Message as _;
use tingjian_proto::common::v1::{Date, Period, PeriodKind, PersonRef};
use tingjian_proto::consultation::v1 as pb;
use tingjian_tests::suite::{leader, member, staff};
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends};
use tonic::Code;

use crate::suggestions::{Setup, mayor, outbox, setup};

/// The party secretary.
fn secretary() -> PersonRef {
    PersonRef {
        id: "leader-secretary".into(),
        display_name: "李国强".into(),
        title: "市委书记".into(),
        organisation_id: String::new(),
    }
}

/// Today in China.
fn today() -> Date {
    let now = chrono::Utc::now().with_timezone(&tingjian_runtime::time::china());
    Date {
        year: chrono::Datelike::year(&now),
        month: i32::try_from(chrono::Datelike::month(&now)).expect("month"),
        day: i32::try_from(chrono::Datelike::day(&now)).expect("day"),
    }
}

/// A CompileSpecialReport request from `suggestion_ids` and `opinion_items`.
pub(crate) fn compile_request(
    title: &str,
    suggestion_ids: &[String],
    opinion_items: &[&str],
) -> pb::CompileSpecialReportRequest {
    pb::CompileSpecialReportRequest {
        special_report: Some(pb::SpecialReport {
            title: title.into(),
            text: format!("{title}。近期我市远洋渔业企业普遍反映融资成本偏高，建议市委市政府高度重视。"),
            suggestion_ids: suggestion_ids.to_vec(),
            opinion_items: opinion_items.iter().map(|s| (*s).to_owned()).collect(),
            category: "finance_credit".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

/// A RecordInstruction request.
fn instruction_request(
    report_id: &str,
    leader: Option<PersonRef>,
    text: &str,
    date: Date,
) -> pb::RecordInstructionRequest {
    pb::RecordInstructionRequest {
        special_report_id: report_id.into(),
        instruction: Some(pb::Instruction {
            leader,
            text: text.into(),
            instruction_date: Some(date),
            ..Default::default()
        }),
        request_id: String::new(),
    }
}

impl Setup {
    /// Compiles a report from `suggestion_ids`.
    pub(crate) async fn compile(&mut self, title: &str, suggestion_ids: &[String]) -> pb::SpecialReport {
        let request = self.suite.as_(&staff(), compile_request(title, suggestion_ids, &[]));
        let response = self.client.compile_special_report(request).await.expect("compiled");
        response.into_inner().special_report.expect("report")
    }

    /// Sends a report to the mayor.
    pub(crate) async fn send(&mut self, id: &str) -> pb::SpecialReport {
        let request = pb::SendSpecialReportRequest { id: id.into(), leaders: vec![mayor()], etag: String::new() };
        let response = self.client.send_special_report(self.suite.as_(&staff(), request)).await.expect("sent");
        response.into_inner().special_report.expect("report")
    }
}

/// Compiling from suggestions and opinion items (each suggestion must exist), sending to leaders,
/// recording instructions (not on a compiled report, not dated in the future, idempotent on the
/// request id), with SpecialReportSent and InstructionRecorded (first_instruction once).
async fn compile_send_instruct(backend: StorageBackend) {
    let Some(mut s) = setup(backend).await else { return };
    let staff = staff();
    let a = s.submitted("争取金融机构降低远洋渔业企业综合融资成本").await;
    let b = s.draft("设立远洋渔业企业应急转贷资金池").await;
    let title = "金融信贷需求弱化，我市实体经济高质量发展面临困境亟须引起重视";

    let mut request = compile_request(title, &[a.id.clone(), b.id.clone()], &["社情民意：渔船抵押登记手续繁琐"]);
    request.request_id = "report-1".into();
    let report = s
        .client
        .compile_special_report(s.suite.as_(&staff, request.clone()))
        .await
        .expect("compiled")
        .into_inner()
        .special_report
        .expect("report");
    assert_eq!(report.title, title);
    assert_eq!(report.status, pb::SpecialReportStatus::Compiled as i32);
    assert_eq!(report.suggestion_ids, vec![a.id.clone(), b.id.clone()]);
    assert_eq!(report.opinion_items, vec!["社情民意：渔船抵押登记手续繁琐".to_owned()]);
    assert_eq!(report.category, "finance_credit");
    assert_eq!(report.created_by, "staff-wang");
    assert!(report.recipients.is_empty() && report.instructions.is_empty() && report.send_time.is_none());
    let again = s.client.compile_special_report(s.suite.as_(&staff, request.clone())).await.expect("retried");
    assert_eq!(again.into_inner().special_report.expect("report").id, report.id, "same request id, same report");
    let mut other = request.clone();
    other.special_report.as_mut().expect("report").title = "另一份专报".into();
    let status = s.client.compile_special_report(s.suite.as_(&staff, other)).await.expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    let unknown = tingjian_runtime::wire::new_id();
    let status = s
        .client
        .compile_special_report(s.suite.as_(&staff, compile_request(title, &[a.id.clone(), unknown.clone()], &[])))
        .await
        .expect_err("unknown suggestion");
    assert_field_violation(&status, "special_report.suggestion_ids[1]");
    let status = s
        .client
        .compile_special_report(s.suite.as_(&staff, compile_request(title, &[], &[])))
        .await
        .expect_err("no sources");
    assert_field_violation(&status, "special_report.suggestion_ids");
    let status = s
        .client
        .compile_special_report(s.suite.as_(&staff, compile_request("", std::slice::from_ref(&a.id), &[])))
        .await
        .expect_err("no title");
    assert_field_violation(&status, "special_report.title");
    let status = s
        .client
        .compile_special_report(
            s.suite.as_(&member("member-li"), compile_request(title, std::slice::from_ref(&a.id), &[])),
        )
        .await
        .expect_err("members do not compile");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    let status = s
        .client
        .record_instruction(s.suite.as_(&staff, instruction_request(&report.id, Some(mayor()), "请研究", today())))
        .await
        .expect_err("instruction on a compiled report");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("COMPILED"), "{status:?}");

    let send = |leaders: Vec<PersonRef>, etag: &str| pb::SendSpecialReportRequest {
        id: report.id.clone(),
        leaders,
        etag: etag.into(),
    };
    let status = s.client.send_special_report(s.suite.as_(&staff, send(vec![], ""))).await.expect_err("nobody");
    assert_field_violation(&status, "leaders");
    let nameless = PersonRef { display_name: String::new(), ..mayor() };
    let status =
        s.client.send_special_report(s.suite.as_(&staff, send(vec![nameless], ""))).await.expect_err("nameless");
    assert_field_violation(&status, "leaders[0].display_name");
    let status =
        s.client.send_special_report(s.suite.as_(&staff, send(vec![mayor()], "v99"))).await.expect_err("stale etag");
    assert_eq!(status.code(), Code::Aborted, "{status:?}");
    let sent = s
        .client
        .send_special_report(s.suite.as_(&staff, send(vec![secretary(), mayor()], &report.etag)))
        .await
        .expect("sent")
        .into_inner()
        .special_report
        .expect("report");
    assert_eq!(sent.status, pb::SpecialReportStatus::Sent as i32);
    assert_eq!(sent.recipients, vec![secretary(), mayor()]);
    assert!(sent.send_time.is_some());
    let status =
        s.client.send_special_report(s.suite.as_(&staff, send(vec![mayor()], ""))).await.expect_err("sent twice");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(status.message().contains("SENT"), "{status:?}");

    let tomorrow = {
        let t = chrono::Utc::now().with_timezone(&tingjian_runtime::time::china()) + chrono::Duration::days(1);
        Date {
            year: chrono::Datelike::year(&t),
            month: i32::try_from(chrono::Datelike::month(&t)).expect("month"),
            day: i32::try_from(chrono::Datelike::day(&t)).expect("day"),
        }
    };
    let status = s
        .client
        .record_instruction(s.suite.as_(&staff, instruction_request(&report.id, Some(mayor()), "请研究", tomorrow)))
        .await
        .expect_err("dated in the future");
    assert_field_violation(&status, "instruction.instruction_date");
    let status = s
        .client
        .record_instruction(
            s.suite.as_(&staff, instruction_request(&report.id, None, "", Date { year: 2025, month: 2, day: 30 })),
        )
        .await
        .expect_err("incomplete");
    assert_field_violation(&status, "instruction.leader");
    assert_field_violation(&status, "instruction.text");
    assert_field_violation(&status, "instruction.instruction_date");
    let status = s
        .client
        .record_instruction(
            s.suite.as_(&member("member-li"), instruction_request(&report.id, Some(mayor()), "请研究", today())),
        )
        .await
        .expect_err("members do not record instructions");
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    let text = "请市金融办牵头抓紧研究，切实降低企业融资成本。";
    let mut first = instruction_request(&report.id, Some(mayor()), text, today());
    first.request_id = "instruction-1".into();
    let instructed = s
        .client
        .record_instruction(s.suite.as_(&leader(), first.clone()))
        .await
        .expect("the leader records an instruction")
        .into_inner()
        .special_report
        .expect("report");
    assert_eq!(instructed.status, pb::SpecialReportStatus::Instructed as i32);
    assert_eq!(instructed.instructions.len(), 1);
    let recorded = &instructed.instructions[0];
    assert_eq!(recorded.leader, Some(mayor()));
    assert_eq!(recorded.text, text);
    assert_eq!(recorded.instruction_date, Some(today()));
    assert_eq!(recorded.recorded_by, "leader-mayor");
    assert!(recorded.record_time.is_some() && !recorded.id.is_empty());
    let retried = s.client.record_instruction(s.suite.as_(&leader(), first.clone())).await.expect("retried");
    assert_eq!(retried.into_inner().special_report.expect("report").instructions.len(), 1, "recorded once");
    let mut reused = first.clone();
    reused.instruction.as_mut().expect("instruction").text = "另一条批示".into();
    let status = s.client.record_instruction(s.suite.as_(&leader(), reused)).await.expect_err("reused request id");
    assert_eq!(status.code(), Code::AlreadyExists, "{status:?}");

    let second = instruction_request(&report.id, Some(secretary()), "同意市长批示意见，各相关部门抓好落实。", today());
    let read = s
        .client
        .record_instruction(s.suite.as_(&staff, second))
        .await
        .expect("a second instruction")
        .into_inner()
        .special_report
        .expect("report");
    assert_eq!(read.status, pb::SpecialReportStatus::Instructed as i32);
    let leaders: Vec<_> = read.instructions.iter().map(|i| i.leader.clone().expect("leader").title).collect();
    assert_eq!(leaders, ["市长", "市委书记"], "in the order recorded");
    let got = s
        .client
        .get_special_report(s.suite.as_(&leader(), pb::GetSpecialReportRequest { id: report.id.clone() }))
        .await
        .expect("leaders read")
        .into_inner()
        .special_report
        .expect("report");
    assert_eq!(got, read);
    let status = s
        .client
        .get_special_report(s.suite.as_(&staff, pb::GetSpecialReportRequest { id: unknown.clone() }))
        .await
        .expect_err("unknown");
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    let events = outbox(&s.suite.consultation, "tingjian.consultation.special_report_sent").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, format!("special_reports/{}", report.id));
    let payload = pb::SpecialReportSent::decode(events[0].1.data.as_slice()).expect("payload");
    assert_eq!(payload.special_report_id, report.id);
    assert_eq!(payload.title, title);
    assert_eq!(payload.category, "finance_credit");
    assert_eq!(payload.recipients, vec![secretary(), mayor()]);
    assert_eq!(payload.suggestion_ids, vec![a.id.clone(), b.id.clone()]);
    assert_eq!(payload.actor, "staff-wang");
    let events = outbox(&s.suite.consultation, "tingjian.consultation.instruction_recorded").await;
    assert_eq!(events.len(), 2, "the retried instruction is recorded once");
    let payloads: Vec<_> = events
        .iter()
        .map(|(subject, e)| {
            assert_eq!(subject, &format!("special_reports/{}", report.id));
            pb::InstructionRecorded::decode(e.data.as_slice()).expect("payload")
        })
        .collect();
    assert_eq!(payloads.iter().map(|p| p.first_instruction).collect::<Vec<_>>(), [true, false]);
    assert_eq!(payloads[0].instruction_id, recorded.id);
    assert_eq!(payloads[0].leader, Some(mayor()));
    assert_eq!(payloads[0].instruction_date, Some(today()));
    assert_eq!(payloads[0].actor, "leader-mayor");
    assert_eq!(payloads[1].leader, Some(secretary()));
}

on_both_backends!(compile_send_and_instruct, super::compile_send_instruct);

/// The reports list: newest first, by status and by the period they were sent in, page by page.
async fn list(backend: StorageBackend) {
    let Some(mut s) = setup(backend).await else { return };
    let staff = staff();
    let a = s.submitted("降低渔船抵押贷款利率").await;
    let first = s.compile("专报一：远洋渔业企业融资成本偏高", std::slice::from_ref(&a.id)).await;
    let second = s.compile("专报二：渔业保险覆盖面不足", std::slice::from_ref(&a.id)).await;
    let third = s.compile("专报三：渔船抵押登记手续繁琐", std::slice::from_ref(&a.id)).await;
    s.send(&second.id).await;

    let list = |request: pb::ListSpecialReportsRequest| {
        let mut client = s.client.clone();
        let request = s.suite.as_(&staff, request);
        async move { client.list_special_reports(request).await }
    };
    let ids = |r: pb::ListSpecialReportsResponse| r.special_reports.into_iter().map(|x| x.id).collect::<Vec<_>>();
    let all = list(pb::ListSpecialReportsRequest::default()).await.expect("listed").into_inner();
    assert_eq!(ids(all), vec![third.id.clone(), second.id.clone(), first.id.clone()], "newest first");
    let sent = list(pb::ListSpecialReportsRequest {
        statuses: vec![pb::SpecialReportStatus::Sent as i32],
        ..Default::default()
    })
    .await
    .expect("listed")
    .into_inner();
    assert_eq!(ids(sent), vec![second.id.clone()]);
    let d = today();
    let this_year = Period { kind: PeriodKind::Year as i32, year: d.year, number: 0 };
    let in_year =
        list(pb::ListSpecialReportsRequest { period: Some(this_year), ..Default::default() }).await.expect("listed");
    assert_eq!(ids(in_year.into_inner()), vec![second.id.clone()], "only sent reports fall in a period");

    let page = list(pb::ListSpecialReportsRequest { page_size: 2, ..Default::default() }).await.expect("page");
    let page = page.into_inner();
    assert_eq!(page.special_reports.len(), 2);
    assert!(!page.next_page_token.is_empty());
    let rest =
        list(pb::ListSpecialReportsRequest { page_size: 2, page_token: page.next_page_token, ..Default::default() })
            .await
            .expect("next page")
            .into_inner();
    assert_eq!(ids(rest.clone()), vec![first.id.clone()]);
    assert!(rest.next_page_token.is_empty());

    let status =
        list(pb::ListSpecialReportsRequest { statuses: vec![0], ..Default::default() }).await.expect_err("bad status");
    assert_field_violation(&status, "statuses[0]");
    let status = list(pb::ListSpecialReportsRequest { page_size: -1, ..Default::default() })
        .await
        .expect_err("negative page size");
    assert_field_violation(&status, "page_size");
}

on_both_backends!(the_report_list, super::list);
