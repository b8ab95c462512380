//! Exports of the scorecard and of breakdowns: checks the request, reads the figures from the store and
//! renders the document (see [`crate::export`]).

use chrono::Datelike;
use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::common::v1 as common;
use tingjian_runtime::Caller;
use tingjian_runtime::error::{FieldViolation, Violations};
use tingjian_runtime::time::{Period, PeriodKind, YEARS};
use tonic::{Request, Response, Status};

use super::AnalyticsApi;
use crate::domain::labels::{self, Lang};
use crate::export::{self, Breakdown, BreakdownReport, Format, History, ScorecardReport};
use crate::store::query;

/// Earlier periods charted when the request leaves `history_periods` at 0.
const DEFAULT_HISTORY_PERIODS: u32 = 4;
/// The most earlier periods a report charts.
const MAX_HISTORY_PERIODS: u32 = 24;

pub(super) async fn export_scorecard(
    api: &AnalyticsApi,
    request: Request<pb::ExportScorecardRequest>,
) -> Result<Response<pb::ExportScorecardResponse>, Status> {
    Caller::of(&request)?.require_any(super::READERS)?;
    let request = request.into_inner();
    let checked = ScorecardExport::parse(&request)?;
    let store = api.store();
    let filter = request.filter.unwrap_or_default();
    let scorecard = store.scorecard(&checked.period, &filter).await?;
    let mut report = ScorecardReport {
        period: checked.period,
        scorecard,
        history: Vec::new(),
        breakdowns: Vec::new(),
        lang: checked.lang,
    };
    if checked.format != Format::Csv {
        let start = periods_back(&checked.period, checked.history_periods);
        for metric in export::HISTORY_METRICS {
            if report.scorecard.not_applicable.contains(&(metric as i32)) {
                continue;
            }
            let series = store.series(metric, &start, &checked.period, &filter).await?;
            report.history.push(History { metric, points: series.points });
        }
        for dimension in &checked.breakdowns {
            for metric in export::breakdown_metrics(*dimension) {
                if report.scorecard.not_applicable.contains(&(metric as i32)) {
                    continue;
                }
                let b = store
                    .breakdown(metric, &checked.period, *dimension, &filter, export::REPORT_BREAKDOWN_ROWS)
                    .await?;
                report.breakdowns.push(Breakdown { metric, dimension: *dimension, rows: b.rows, total: b.total });
            }
        }
    }
    let document = export::render_scorecard(&report, checked.format);
    Ok(Response::new(pb::ExportScorecardResponse {
        content: document.content,
        content_type: document.content_type.to_owned(),
        filename: document.filename,
    }))
}

pub(super) async fn export_breakdown(
    api: &AnalyticsApi,
    request: Request<pb::ExportBreakdownRequest>,
) -> Result<Response<pb::ExportBreakdownResponse>, Status> {
    Caller::of(&request)?.require_any(super::READERS)?;
    let request = request.into_inner();
    let checked = BreakdownExport::parse(&request)?;
    let filter = request.filter.unwrap_or_default();
    let b = api.store().breakdown(checked.metric, &checked.period, checked.dimension, &filter, 0).await?;
    let report = BreakdownReport {
        period: checked.period,
        filter,
        as_of_time: b.as_of_time,
        breakdown: Breakdown { metric: checked.metric, dimension: checked.dimension, rows: b.rows, total: b.total },
        lang: checked.lang,
    };
    let document = export::render_breakdown(&report, checked.format);
    Ok(Response::new(pb::ExportBreakdownResponse {
        content: document.content,
        content_type: document.content_type.to_owned(),
        filename: document.filename,
    }))
}

/// An ExportScorecard request, checked.
#[derive(Debug, Clone, PartialEq)]
struct ScorecardExport {
    period: Period,
    format: Format,
    lang: Lang,
    history_periods: u32,
    breakdowns: Vec<pb::Dimension>,
}

impl ScorecardExport {
    fn parse(request: &pb::ExportScorecardRequest) -> Result<Self, tingjian_runtime::ServiceError> {
        let mut v = Violations::new();
        let period = v.check(required_period(request.period.as_ref()));
        let format = v.check(format(request.format, "format"));
        let lang = v.check(Lang::parse(&request.language_code));
        let history_periods = v.check(history_periods(request.history_periods));
        let mut breakdowns = Vec::new();
        for (i, raw) in request.breakdowns.iter().enumerate() {
            if let Some(dimension) = v.check(dimension(*raw, &format!("breakdowns[{i}]")))
                && !breakdowns.contains(&dimension)
            {
                breakdowns.push(dimension);
            }
        }
        v.finish()?;
        match (period, format, lang, history_periods) {
            (Some(period), Some(format), Some(lang), Some(history_periods)) => {
                Ok(Self { period, format, lang, history_periods, breakdowns })
            }
            _ => Err(tingjian_runtime::ServiceError::internal("a checked field is missing without a violation")),
        }
    }
}

/// An ExportBreakdown request, checked.
#[derive(Debug, Clone, PartialEq)]
struct BreakdownExport {
    metric: pb::Metric,
    period: Period,
    dimension: pb::Dimension,
    format: Format,
    lang: Lang,
}

impl BreakdownExport {
    fn parse(request: &pb::ExportBreakdownRequest) -> Result<Self, tingjian_runtime::ServiceError> {
        let mut v = Violations::new();
        let metric = v.check(metric(request.metric));
        let period = v.check(required_period(request.period.as_ref()));
        let mut dimension = v.check(dimension(request.dimension, "dimension"));
        if let (Some(m), Some(d)) = (metric, dimension)
            && !query::can_group(m, d)
        {
            v.add(
                "dimension",
                format!(
                    "{} cannot be grouped by {}; it can be grouped by: {}",
                    labels::metric_key(m),
                    labels::dimension_key(d),
                    grouping_list(m)
                ),
            );
            dimension = None;
        }
        let format = v.check(format(request.format, "format"));
        let lang = v.check(Lang::parse(&request.language_code));
        v.finish()?;
        match (metric, period, dimension, format, lang) {
            (Some(metric), Some(period), Some(dimension), Some(format), Some(lang)) => {
                Ok(Self { metric, period, dimension, format, lang })
            }
            _ => Err(tingjian_runtime::ServiceError::internal("a checked field is missing without a violation")),
        }
    }
}

fn grouping_list(metric: pb::Metric) -> String {
    let dims: Vec<String> = [
        pb::Dimension::District,
        pb::Dimension::Industry,
        pb::Dimension::Category,
        pb::Dimension::Unit,
        pb::Dimension::Channel,
    ]
    .into_iter()
    .filter(|d| query::can_group(metric, *d))
    .map(labels::dimension_key)
    .collect();
    if dims.is_empty() { "nothing".to_owned() } else { dims.join(", ") }
}

fn required_period(period: Option<&common::Period>) -> Result<Period, FieldViolation> {
    let p = period.ok_or_else(|| FieldViolation::new("period", "is required"))?;
    crate::domain::parse_period(p.kind, p.year, p.number, "period")
}

fn format(raw: i32, field: &str) -> Result<Format, FieldViolation> {
    Format::from_proto(raw).ok_or_else(|| FieldViolation::new(field, "is required: CSV, MARKDOWN or HTML"))
}

fn metric(raw: i32) -> Result<pb::Metric, FieldViolation> {
    match pb::Metric::try_from(raw) {
        Ok(pb::Metric::Unspecified) => Err(FieldViolation::new("metric", "is required")),
        Ok(metric) => Ok(metric),
        Err(_) => Err(FieldViolation::new("metric", "is not a known figure")),
    }
}

fn dimension(raw: i32, field: &str) -> Result<pb::Dimension, FieldViolation> {
    match pb::Dimension::try_from(raw) {
        Ok(pb::Dimension::Unspecified) => Err(FieldViolation::new(field, "is required")),
        Ok(dimension) => Ok(dimension),
        Err(_) => Err(FieldViolation::new(field, "is not a known dimension")),
    }
}

/// `history_periods`: 0 = the default, capped at the maximum; negative is invalid.
fn history_periods(raw: i32) -> Result<u32, FieldViolation> {
    match u32::try_from(raw) {
        Ok(0) => Ok(DEFAULT_HISTORY_PERIODS),
        Ok(n) => Ok(n.min(MAX_HISTORY_PERIODS)),
        Err(_) => Err(FieldViolation::new("history_periods", "must not be negative")),
    }
}

/// The period `n` periods of the same kind before `period`, not before the first year the platform
/// accepts.
fn periods_back(period: &Period, n: u32) -> Period {
    let months_per = match period.kind() {
        PeriodKind::Month => 1,
        PeriodKind::Quarter => 3,
        PeriodKind::Year => 12,
    };
    let first = period
        .first_day()
        .checked_sub_months(chrono::Months::new(months_per * n))
        .filter(|d| YEARS.contains(&d.year()));
    let Some(first) = first else {
        let number = if period.kind() == PeriodKind::Year { 0 } else { 1 };
        return Period::new(period.kind(), *YEARS.start(), number, "period").unwrap_or(*period);
    };
    let number = match period.kind() {
        PeriodKind::Month => first.month(),
        PeriodKind::Quarter => first.month0() / 3 + 1,
        PeriodKind::Year => 0,
    };
    Period::new(period.kind(), first.year(), number, "period").unwrap_or(*period)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(kind: i32, year: i32, number: i32) -> Option<common::Period> {
        Some(common::Period { kind, year, number })
    }

    fn fields(error: tingjian_runtime::ServiceError) -> Vec<String> {
        match error {
            tingjian_runtime::ServiceError::InvalidArgument(v) => v.into_iter().map(|v| v.field).collect(),
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }

    #[test]
    fn a_scorecard_export_needs_a_format_and_checks_every_field() {
        let request = pb::ExportScorecardRequest {
            period: period(2, 2024, 3),
            format: pb::ExportFormat::Markdown as i32,
            breakdowns: vec![4, 1, 4],
            ..Default::default()
        };
        let checked = ScorecardExport::parse(&request).expect("valid");
        assert_eq!(checked.lang, Lang::Zh);
        assert_eq!(checked.history_periods, 4);
        assert_eq!(checked.breakdowns, vec![pb::Dimension::Unit, pb::Dimension::District]);

        let bad = pb::ExportScorecardRequest {
            period: period(2, 2024, 5),
            format: 0,
            language_code: "fr".into(),
            breakdowns: vec![1, 0, 9],
            history_periods: -1,
            ..Default::default()
        };
        assert_eq!(
            fields(ScorecardExport::parse(&bad).expect_err("invalid")),
            ["period.number", "format", "language_code", "history_periods", "breakdowns[1]", "breakdowns[2]"]
        );
        let missing = pb::ExportScorecardRequest { format: 1, ..Default::default() };
        assert_eq!(fields(ScorecardExport::parse(&missing).expect_err("no period")), ["period"]);
        let many = pb::ExportScorecardRequest { history_periods: 100, ..request };
        assert_eq!(ScorecardExport::parse(&many).expect("valid").history_periods, 24);
    }

    #[test]
    fn a_breakdown_export_needs_a_figure_that_the_dimension_groups() {
        let request = pb::ExportBreakdownRequest {
            metric: pb::Metric::ResponseRate as i32,
            period: period(1, 2024, 9),
            dimension: pb::Dimension::Unit as i32,
            format: pb::ExportFormat::Csv as i32,
            language_code: "en".into(),
            ..Default::default()
        };
        let checked = BreakdownExport::parse(&request).expect("valid");
        assert_eq!(
            (checked.metric, checked.dimension, checked.lang),
            (pb::Metric::ResponseRate, pb::Dimension::Unit, Lang::En)
        );
        let channel = pb::ExportBreakdownRequest { dimension: pb::Dimension::Channel as i32, ..request.clone() };
        assert_eq!(fields(BreakdownExport::parse(&channel).expect_err("not sliced")), ["dimension"]);
        let empty = pb::ExportBreakdownRequest::default();
        assert_eq!(
            fields(BreakdownExport::parse(&empty).expect_err("empty")),
            ["metric", "period", "dimension", "format"]
        );
    }

    #[test]
    fn history_starts_the_given_number_of_periods_earlier() {
        let q3 = Period::new(PeriodKind::Quarter, 2024, 3, "").expect("valid");
        assert_eq!(export::period_code(&periods_back(&q3, 4)), "2023-Q3");
        assert_eq!(export::period_code(&periods_back(&q3, 2)), "2024-Q1");
        let jan = Period::new(PeriodKind::Month, 2024, 1, "").expect("valid");
        assert_eq!(export::period_code(&periods_back(&jan, 1)), "2023-12");
        let year = Period::new(PeriodKind::Year, 2024, 0, "").expect("valid");
        assert_eq!(export::period_code(&periods_back(&year, 24)), "2000");
        let early = Period::new(PeriodKind::Quarter, 2000, 2, "").expect("valid");
        assert_eq!(export::period_code(&periods_back(&early, 4)), "2000-Q1");
    }
}
