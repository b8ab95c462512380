//! Exports: the scorecard as CSV (UTF-8 with a byte-order mark) and as a Markdown report.

use tingjian_proto::analytics::v1::{self as pb, ExportFormat};
use tingjian_tests::{StorageBackend, on_both_backends};

use super::fixtures::*;

async fn export(h: &mut Harness, format: ExportFormat, language: &str) -> pb::ExportScorecardResponse {
    let request = pb::ExportScorecardRequest {
        period: Some(month(2024, 3)),
        filter: None,
        format: format as i32,
        language_code: language.into(),
        breakdowns: vec![pb::Dimension::Unit as i32],
        history_periods: 0,
    };
    let request = h.as_(&analyst(), request);
    h.client.export_scorecard(request).await.expect("exported").into_inner()
}

async fn scorecard_exports(backend: StorageBackend) {
    let Some(mut h) = Harness::start(backend).await else { return };
    h.feed(&super::cases::events()).await;

    let csv = export(&mut h, ExportFormat::Csv, "").await;
    assert!(csv.content.starts_with(&[0xEF, 0xBB, 0xBF]), "a UTF-8 byte-order mark first");
    assert!(csv.content_type.starts_with("text/csv"), "{}", csv.content_type);
    assert!(csv.filename.ends_with(".csv"), "{}", csv.filename);
    let text = String::from_utf8(csv.content[3..].to_vec()).expect("UTF-8");
    // March: 6 of 10 cases replied.
    let row =
        text.lines().find(|l| l.contains("答复反馈率")).unwrap_or_else(|| panic!("no response-rate row in\n{text}"));
    let cells: Vec<&str> = row.split(',').map(|c| c.trim_matches('"')).collect();
    assert!(cells.contains(&"6") && cells.contains(&"10"), "6 of 10 in {row}");

    let markdown = export(&mut h, ExportFormat::Markdown, "zh").await;
    assert!(markdown.content_type.starts_with("text/markdown"), "{}", markdown.content_type);
    let text = String::from_utf8(markdown.content).expect("UTF-8");
    assert!(text.contains("答复反馈率"), "{text}");
    assert!(text.contains("舟山市人民政府金融工作办公室"), "the unit breakdown names units:\n{text}");
}
on_both_backends!(scorecard_exports_as_csv_and_markdown, super::scorecard_exports);
