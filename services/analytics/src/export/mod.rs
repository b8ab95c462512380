//! Documents of the figures: CSV, and Markdown or HTML reports for the periodic report to leaders.
//!
//! The renderers are pure: they take the figures already read (a scorecard, its history series and
//! breakdowns, or one breakdown) and return the bytes of the document, the same bytes for the same
//! figures. Labels come from [`crate::domain::labels`] in the requested language.

pub mod csv;
pub mod html;
pub mod markdown;

use chrono::{DateTime, Utc};
use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::common::v1 as common;
use tingjian_runtime::time::{Period, PeriodKind, china};

use crate::domain::labels::{self, Lang, Measure};

/// The rates charted over earlier periods in a report.
pub const HISTORY_METRICS: [pb::Metric; 5] = [
    pb::Metric::ResponseRate,
    pb::Metric::OnTimeRate,
    pb::Metric::ResolutionRate,
    pb::Metric::SatisfactionRate,
    pb::Metric::WeeklyContactCompliance,
];

/// The figures a report breaks down by each requested dimension (those the dimension slices).
const BREAKDOWN_CANDIDATES: [pb::Metric; 5] = [
    pb::Metric::DemandsReceived,
    pb::Metric::CasesAssigned,
    pb::Metric::ResponseRate,
    pb::Metric::SatisfactionRate,
    pb::Metric::TotalBenefits,
];

/// Rows of a breakdown shown in a report (a breakdown export has them all).
pub const REPORT_BREAKDOWN_ROWS: usize = 20;

/// The figures a report breaks down by `dimension`.
pub fn breakdown_metrics(dimension: pb::Dimension) -> Vec<pb::Metric> {
    BREAKDOWN_CANDIDATES.into_iter().filter(|m| crate::store::query::can_group(*m, dimension)).collect()
}

/// A document format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// CSV with a byte-order mark.
    Csv,
    /// A Markdown report.
    Markdown,
    /// A self-contained HTML report.
    Html,
}

impl Format {
    /// The contract's format; `None` when unspecified or unknown.
    pub fn from_proto(format: i32) -> Option<Self> {
        match pb::ExportFormat::try_from(format).ok()? {
            pb::ExportFormat::Csv => Some(Self::Csv),
            pb::ExportFormat::Markdown => Some(Self::Markdown),
            pb::ExportFormat::Html => Some(Self::Html),
            pb::ExportFormat::Unspecified => None,
        }
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Markdown => "text/markdown; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Markdown => "md",
            Self::Html => "html",
        }
    }
}

/// A rendered document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// The bytes.
    pub content: Vec<u8>,
    /// The media type.
    pub content_type: &'static str,
    /// A suggested file name.
    pub filename: String,
}

/// One figure over earlier periods, oldest first, ending with the report's period.
#[derive(Debug, Clone, PartialEq)]
pub struct History {
    /// The figure.
    pub metric: pb::Metric,
    /// Its points.
    pub points: Vec<pb::SeriesPoint>,
}

/// One figure grouped by one dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct Breakdown {
    /// The figure.
    pub metric: pb::Metric,
    /// The grouping.
    pub dimension: pb::Dimension,
    /// Rows, largest first.
    pub rows: Vec<pb::BreakdownRow>,
    /// The figure over all rows.
    pub total: Option<pb::MetricValue>,
}

/// What a scorecard document shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ScorecardReport {
    /// The period.
    pub period: Period,
    /// The scorecard of the period.
    pub scorecard: pb::Scorecard,
    /// Main rates over earlier periods (reports only).
    pub history: Vec<History>,
    /// Breakdowns of the main figures (reports only).
    pub breakdowns: Vec<Breakdown>,
    /// Language of the labels.
    pub lang: Lang,
}

/// What a breakdown document shows.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakdownReport {
    /// The period.
    pub period: Period,
    /// The filter applied.
    pub filter: pb::ScorecardFilter,
    /// Time of the latest event included.
    pub as_of_time: Option<prost_types::Timestamp>,
    /// The breakdown.
    pub breakdown: Breakdown,
    /// Language of the labels.
    pub lang: Lang,
}

/// Renders a scorecard document.
pub fn render_scorecard(report: &ScorecardReport, format: Format) -> Document {
    let text = match format {
        Format::Csv => csv::scorecard(report),
        Format::Markdown => markdown::scorecard(report),
        Format::Html => html::scorecard(report),
    };
    Document {
        content: text.into_bytes(),
        content_type: format.content_type(),
        filename: format!("tingjian-scorecard-{}.{}", period_code(&report.period), format.extension()),
    }
}

/// Renders a breakdown document.
pub fn render_breakdown(report: &BreakdownReport, format: Format) -> Document {
    let text = match format {
        Format::Csv => csv::breakdown(report),
        Format::Markdown => markdown::breakdown(report),
        Format::Html => html::breakdown(report),
    };
    let b = &report.breakdown;
    Document {
        content: text.into_bytes(),
        content_type: format.content_type(),
        filename: format!(
            "tingjian-{}-by-{}-{}.{}",
            labels::metric_key(b.metric),
            labels::dimension_key(b.dimension),
            period_code(&report.period),
            format.extension()
        ),
    }
}

/// The period as a code: `2024-Q3`, `2024-09` or `2024`.
pub fn period_code(period: &Period) -> String {
    match period.kind() {
        PeriodKind::Month => format!("{}-{:02}", period.year(), period.number()),
        PeriodKind::Quarter => format!("{}-Q{}", period.year(), period.number()),
        PeriodKind::Year => period.year().to_string(),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The period in words: "2024年第3季度", "Q3 2024".
pub fn period_title(period: &Period, lang: Lang) -> String {
    match lang {
        Lang::Zh => period.to_string(),
        Lang::En => match period.kind() {
            PeriodKind::Month => format!("{} {}", MONTHS[period.number() as usize - 1], period.year()),
            PeriodKind::Quarter => format!("Q{} {}", period.number(), period.year()),
            PeriodKind::Year => period.year().to_string(),
        },
    }
}

/// A contract period in words, or as sent when it is not a valid period.
pub fn proto_period_title(period: Option<&common::Period>, lang: Lang) -> String {
    let Some(p) = period else { return String::new() };
    match crate::domain::parse_period(p.kind, p.year, p.number, "period") {
        Ok(period) => period_title(&period, lang),
        Err(_) => format!("{}-{}", p.year, p.number),
    }
}

/// A contract period as a code (`2024-Q3`), for chart axes.
pub fn proto_period_code(period: Option<&common::Period>) -> String {
    let Some(p) = period else { return String::new() };
    match crate::domain::parse_period(p.kind, p.year, p.number, "period") {
        Ok(period) => period_code(&period),
        Err(_) => format!("{}-{}", p.year, p.number),
    }
}

/// The as-of line: when the figures were exact, in China time.
pub fn as_of_text(as_of: Option<&prost_types::Timestamp>, lang: Lang) -> String {
    let instant = as_of.and_then(|t| DateTime::<Utc>::from_timestamp(t.seconds, 0));
    match instant {
        Some(t) => {
            let local = t.with_timezone(&china()).format("%Y-%m-%d %H:%M");
            match lang {
                Lang::Zh => format!("数据截至 {local}（北京时间）"),
                Lang::En => format!("Figures as of {local} China time (UTC+8)"),
            }
        }
        None => lang.pick("尚无数据", "No events yet").to_owned(),
    }
}

/// The filter in words, or `None` when nothing is filtered.
pub fn filter_text(filter: &pb::ScorecardFilter, lang: Lang) -> Option<String> {
    let channel = tingjian_proto::intake::v1::DemandChannel::try_from(filter.channel)
        .ok()
        .filter(|c| *c != tingjian_proto::intake::v1::DemandChannel::Unspecified);
    let mut parts = Vec::new();
    for (dimension, key) in [
        (pb::Dimension::District, filter.district.as_str()),
        (pb::Dimension::Industry, filter.industry.as_str()),
        (pb::Dimension::Category, filter.category.as_str()),
        (pb::Dimension::Unit, filter.unit_id.as_str()),
        (pb::Dimension::Channel, channel.map_or("", |c| c.as_str_name())),
    ] {
        if !key.is_empty() {
            let sep = lang.pick("：", ": ");
            parts.push(format!(
                "{}{sep}{}",
                labels::dimension_label(dimension, lang),
                labels::label(dimension, key, lang)
            ));
        }
    }
    if parts.is_empty() { None } else { Some(parts.join(lang.pick("；", "; "))) }
}

/// A figure's value, in its measure.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A count.
    Count(i64),
    /// A rate with its parts.
    Rate(common::Rate),
    /// A duration in seconds; `None` when there is nothing to measure.
    Seconds(Option<i64>),
    /// Money in fen.
    Fen(i64),
    /// The figure cannot be sliced by the filter.
    NotApplicable,
}

impl Value {
    /// The value of a figure as a series, breakdown or ranking reports it.
    pub fn of(metric: pb::Metric, value: &pb::MetricValue) -> Self {
        match labels::measure(metric) {
            Measure::Rate => {
                Self::Rate(value.rate.unwrap_or(common::Rate { numerator: 0, denominator: 0, value: value.value }))
            }
            Measure::Seconds => Self::Seconds(Some(value.value.round() as i64)),
            Measure::Fen => Self::Fen(value.value.round() as i64),
            Measure::Count => Self::Count(value.value.round() as i64),
        }
    }

    /// The value as a fraction of `max`, for bars (rates by their own value).
    pub fn bar_fraction(&self, max: f64) -> f64 {
        let v = match self {
            Self::Rate(rate) => return rate_value(rate).clamp(0.0, 1.0),
            Self::Count(n) | Self::Fen(n) | Self::Seconds(Some(n)) => *n as f64,
            Self::Seconds(None) | Self::NotApplicable => 0.0,
        };
        if max > 0.0 { (v / max).clamp(0.0, 1.0) } else { 0.0 }
    }

    /// The magnitude compared between rows of a chart.
    pub fn magnitude(&self) -> f64 {
        match self {
            Self::Rate(rate) => rate_value(rate),
            Self::Count(n) | Self::Fen(n) | Self::Seconds(Some(n)) => *n as f64,
            Self::Seconds(None) | Self::NotApplicable => 0.0,
        }
    }

    /// The value for a reader: "92.0%", "1,234", "19,710,000.00 元", "3天4小时".
    pub fn display(&self, lang: Lang) -> String {
        match self {
            Self::Count(n) => grouped(*n),
            Self::Rate(rate) if rate.denominator == 0 => "—".to_owned(),
            Self::Rate(rate) => format!("{:.1}%", rate_value(rate) * 100.0),
            Self::Seconds(None) => "—".to_owned(),
            Self::Seconds(Some(s)) => duration_text(*s, lang),
            Self::Fen(fen) => match lang {
                Lang::Zh => format!("{} 元", grouped_yuan(*fen)),
                Lang::En => format!("CNY {}", grouped_yuan(*fen)),
            },
            Self::NotApplicable => lang.pick("不适用", "n/a").to_owned(),
        }
    }

    /// "92/100" for a rate, empty otherwise.
    pub fn parts(&self) -> String {
        match self {
            Self::Rate(rate) => format!("{}/{}", rate.numerator, rate.denominator),
            _ => String::new(),
        }
    }
}

/// A rate's fraction, recomputed from its parts when they are present.
pub fn rate_value(rate: &common::Rate) -> f64 {
    if rate.denominator > 0 { rate.numerator as f64 / rate.denominator as f64 } else { 0.0 }
}

/// One line of the scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Stable key: the metric's key, or `problems_solved:<category>` for a category's line.
    pub key: String,
    /// The figure (`ProblemsSolved` for the category lines).
    pub metric: pb::Metric,
    /// Label in the report's language.
    pub label: String,
    /// The value.
    pub value: Value,
}

/// Every line of a scorecard, in order: each figure, with problems solved by category after their
/// total.
pub fn figures(scorecard: &pb::Scorecard, lang: Lang) -> Vec<Figure> {
    let mut lines = Vec::with_capacity(labels::METRICS.len() + scorecard.problems_solved.len());
    for metric in labels::METRICS {
        lines.push(Figure {
            key: labels::metric_key(metric),
            metric,
            label: labels::metric_label(metric, lang).to_owned(),
            value: figure_value(scorecard, metric),
        });
        if metric == pb::Metric::ProblemsSolved && !scorecard.not_applicable.contains(&(metric as i32)) {
            for c in &scorecard.problems_solved {
                let name = match lang {
                    Lang::Zh if !c.label.is_empty() => c.label.clone(),
                    _ => labels::label(pb::Dimension::Category, &c.category, lang),
                };
                lines.push(Figure {
                    key: format!("problems_solved:{}", c.category),
                    metric,
                    label: format!("{} · {name}", labels::metric_label(metric, lang)),
                    value: Value::Count(c.count),
                });
            }
        }
    }
    lines
}

/// The value of one figure of a scorecard.
pub fn figure_value(sc: &pb::Scorecard, metric: pb::Metric) -> Value {
    use pb::Metric as M;
    if sc.not_applicable.contains(&(metric as i32)) {
        return Value::NotApplicable;
    }
    let rate = |r: &Option<common::Rate>| Value::Rate(r.unwrap_or_default());
    let fen = |m: &Option<common::Money>| Value::Fen(m.as_ref().map_or(0, |m| m.minor_units));
    let sessions = sc.sessions_held.unwrap_or_default();
    let replied = sc.response_rate.map_or(0, |r| r.numerator);
    let seconds = |d: &Option<prost_types::Duration>| {
        Value::Seconds(if replied > 0 { Some(d.map_or(0, |d| d.seconds)) } else { None })
    };
    match metric {
        M::Unspecified => Value::NotApplicable,
        M::DemandsReceived => Value::Count(sc.demands_received),
        M::DemandsMerged => Value::Count(sc.demands_merged),
        M::CommonIssuesFormed => Value::Count(sc.common_issues_formed),
        M::EnterprisesContacted => Value::Count(sc.enterprises_contacted),
        M::ContactsLogged => Value::Count(sc.contacts_logged),
        M::WeeklyContactCompliance => rate(&sc.weekly_contact_compliance),
        M::PolicyBriefingPersonTimes => Value::Count(sc.policy_briefing_person_times),
        M::CampaignParticipants => Value::Count(sc.campaign_participants),
        M::CampaignPosts => Value::Count(sc.campaign_posts),
        M::SessionsHeld => Value::Count(sessions.total),
        M::SessionsFaceToFace => Value::Count(sessions.face_to_face),
        M::SessionsInteractive => Value::Count(sessions.interactive),
        M::SessionsOnline => Value::Count(sessions.online),
        M::EntrepreneurSpeakers => Value::Count(sc.entrepreneur_speakers),
        M::SuggestionsSubmitted => Value::Count(sc.suggestions_submitted),
        M::SpecialReportsSent => Value::Count(sc.special_reports_sent),
        M::InstructionRate => rate(&sc.instruction_rate),
        M::CasesAssigned => Value::Count(sc.cases_assigned),
        M::ResponseRate => rate(&sc.response_rate),
        M::OnTimeRate => rate(&sc.on_time_rate),
        M::ResolutionRate => rate(&sc.resolution_rate),
        M::SatisfactionRate => rate(&sc.satisfaction_rate),
        M::ReopenRate => rate(&sc.reopen_rate),
        M::HandlingTimeMedian => seconds(&sc.handling_time_median),
        M::HandlingTimeP90 => seconds(&sc.handling_time_p90),
        M::LongRunningCases => Value::Count(sc.long_running_cases),
        M::FollowUpCompliance => rate(&sc.follow_up_compliance),
        M::RectificationsIssued => Value::Count(sc.rectifications_issued),
        M::RectificationsVerified => Value::Count(sc.rectifications_verified),
        M::ProblemsSolved => Value::Count(sc.problems_solved_total),
        M::InterestReduced => fen(&sc.interest_reduced),
        M::Subsidies => fen(&sc.subsidies),
        M::FeesWaived => fen(&sc.fees_waived),
        M::OtherMoney => fen(&sc.other_money),
        M::TotalBenefits => fen(&sc.total_benefits),
    }
}

/// The display label of a breakdown row: the known label in the report's language, else the row's
/// own label (unit names), else the key.
pub fn row_label(dimension: pb::Dimension, row: &pb::BreakdownRow, lang: Lang) -> String {
    let known = labels::label(dimension, &row.key, lang);
    if known != row.key || row.label.is_empty() { known } else { row.label.clone() }
}

/// `1234567` as "1,234,567".
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Fen as yuan with two decimals, without grouping: "19710000.00".
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Fen as grouped yuan with two decimals: "19,710,000.00".
pub fn grouped_yuan(fen: i64) -> String {
    let abs = fen.unsigned_abs();
    let whole = grouped(i64::try_from(abs / 100).unwrap_or(i64::MAX));
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{whole}.{:02}", abs % 100)
}

/// A duration for a reader, to the minute: "3天4小时", "5 h 12 min".
pub fn duration_text(seconds: i64, lang: Lang) -> String {
    let minutes = seconds.max(0) / 60;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    let mut parts = Vec::new();
    let units = match lang {
        Lang::Zh => ["天", "小时", "分钟"],
        Lang::En => [" d", " h", " min"],
    };
    if days > 0 {
        parts.push(format!("{days}{}", units[0]));
    }
    if hours > 0 {
        parts.push(format!("{hours}{}", units[1]));
    }
    if days == 0 && (mins > 0 || hours == 0) {
        parts.push(format!("{mins}{}", units[2]));
    }
    parts.join(lang.pick("", " "))
}

/// A text bar of `fraction` of `width` blocks.
pub fn text_bar(fraction: f64, width: usize) -> String {
    let blocks = (fraction.clamp(0.0, 1.0) * width as f64).round() as usize;
    if blocks == 0 && fraction > 0.0 { "▏".to_owned() } else { "▇".repeat(blocks) }
}

/// The title of a scorecard document.
pub fn scorecard_title(period: &Period, lang: Lang) -> String {
    match lang {
        Lang::Zh => format!("听见 · 成效看板 · {}", period_title(period, lang)),
        Lang::En => format!("Tingjian scorecard · {}", period_title(period, lang)),
    }
}

/// The title of a breakdown document.
pub fn breakdown_title(report: &BreakdownReport) -> String {
    let lang = report.lang;
    let b = &report.breakdown;
    match lang {
        Lang::Zh => format!(
            "{}（按{}）· {}",
            labels::metric_label(b.metric, lang),
            labels::dimension_label(b.dimension, lang),
            period_title(&report.period, lang)
        ),
        Lang::En => format!(
            "{} by {} · {}",
            labels::metric_label(b.metric, lang),
            labels::dimension_label(b.dimension, lang).to_lowercase(),
            period_title(&report.period, lang)
        ),
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Small figures the renderers' tests share.

    use super::*;

    pub fn quarter() -> Period {
        Period::new(PeriodKind::Quarter, 2024, 3, "period").expect("valid")
    }

    fn rate(numerator: i64, denominator: i64) -> Option<common::Rate> {
        Some(common::Rate { numerator, denominator, value: numerator as f64 / denominator as f64 })
    }

    fn money(minor_units: i64) -> Option<common::Money> {
        Some(common::Money { currency_code: "CNY".into(), minor_units })
    }

    pub fn scorecard() -> pb::Scorecard {
        pb::Scorecard {
            period: Some(common::Period { kind: 2, year: 2024, number: 3 }),
            filter: Some(pb::ScorecardFilter::default()),
            // 2024-09-30T10:00:00Z = 18:00 in China.
            as_of_time: Some(prost_types::Timestamp { seconds: 1_727_690_400, nanos: 0 }),
            demands_received: 120,
            demands_merged: 30,
            cases_assigned: 100,
            response_rate: rate(92, 100),
            satisfaction_rate: rate(45, 50),
            handling_time_median: Some(prost_types::Duration { seconds: 3 * 86_400 + 4 * 3600, nanos: 0 }),
            problems_solved: vec![pb::CategoryCount {
                category: "finance_credit".into(),
                label: "金融信贷".into(),
                count: 7,
            }],
            problems_solved_total: 7,
            interest_reduced: money(1_971_000_000),
            total_benefits: money(1_971_000_005),
            ..Default::default()
        }
    }

    fn point(number: i32, numerator: i64, denominator: i64) -> pb::SeriesPoint {
        let r = rate(numerator, denominator);
        pb::SeriesPoint {
            period: Some(common::Period { kind: 2, year: 2024, number }),
            value: Some(pb::MetricValue {
                metric: pb::Metric::ResponseRate as i32,
                value: numerator as f64 / denominator as f64,
                rate: r,
            }),
        }
    }

    pub fn report(lang: Lang) -> ScorecardReport {
        let unit_rows = vec![
            pb::BreakdownRow {
                key: "org-a".into(),
                label: "<市经信局>".into(),
                value: Some(pb::MetricValue { metric: pb::Metric::CasesAssigned as i32, value: 60.0, rate: None }),
            },
            pb::BreakdownRow {
                key: "org-b".into(),
                label: "市金融办".into(),
                value: Some(pb::MetricValue { metric: pb::Metric::CasesAssigned as i32, value: 40.0, rate: None }),
            },
        ];
        ScorecardReport {
            period: quarter(),
            scorecard: scorecard(),
            history: vec![History {
                metric: pb::Metric::ResponseRate,
                points: vec![point(2, 40, 100), point(3, 92, 100)],
            }],
            breakdowns: vec![Breakdown {
                metric: pb::Metric::CasesAssigned,
                dimension: pb::Dimension::Unit,
                rows: unit_rows,
                total: Some(pb::MetricValue { metric: pb::Metric::CasesAssigned as i32, value: 100.0, rate: None }),
            }],
            lang,
        }
    }

    pub fn breakdown(lang: Lang) -> BreakdownReport {
        let row = |key: &str, n: i64, d: i64| pb::BreakdownRow {
            key: key.into(),
            label: String::new(),
            value: Some(pb::MetricValue {
                metric: pb::Metric::ResponseRate as i32,
                value: n as f64 / d as f64,
                rate: rate(n, d),
            }),
        };
        BreakdownReport {
            period: quarter(),
            filter: pb::ScorecardFilter { industry: "ocean_fishing".into(), ..Default::default() },
            as_of_time: Some(prost_types::Timestamp { seconds: 1_727_690_400, nanos: 0 }),
            breakdown: Breakdown {
                metric: pb::Metric::ResponseRate,
                dimension: pb::Dimension::District,
                rows: vec![row("dinghai", 9, 10), row("putuo", 3, 4)],
                total: Some(pb::MetricValue {
                    metric: pb::Metric::ResponseRate as i32,
                    value: 12.0 / 14.0,
                    rate: rate(12, 14),
                }),
            },
            lang,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_money_and_durations_read_well() {
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(grouped(-1000), "-1,000");
        assert_eq!(grouped(999), "999");
        assert_eq!(yuan(1_971_000_005), "19710000.05");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(grouped_yuan(1_971_000_005), "19,710,000.05");
        assert_eq!(duration_text(3 * 86_400 + 4 * 3600 + 59, Lang::Zh), "3天4小时");
        assert_eq!(duration_text(5 * 3600 + 12 * 60, Lang::En), "5 h 12 min");
        assert_eq!(duration_text(30, Lang::En), "0 min");
        assert_eq!(text_bar(0.5, 10), "▇▇▇▇▇");
        assert_eq!(text_bar(0.01, 10), "▏");
        assert_eq!(text_bar(0.0, 10), "");
    }

    #[test]
    fn periods_are_named_and_coded() {
        let q = fixtures::quarter();
        assert_eq!(period_code(&q), "2024-Q3");
        assert_eq!(period_title(&q, Lang::Zh), "2024年第3季度");
        assert_eq!(period_title(&q, Lang::En), "Q3 2024");
        let m = Period::new(PeriodKind::Month, 2024, 9, "").expect("valid");
        assert_eq!(period_code(&m), "2024-09");
        assert_eq!(period_title(&m, Lang::En), "September 2024");
        let y = Period::new(PeriodKind::Year, 2024, 0, "").expect("valid");
        assert_eq!(period_code(&y), "2024");
    }

    #[test]
    fn file_names_and_types_follow_the_contract() {
        let doc = render_scorecard(&fixtures::report(Lang::Zh), Format::Csv);
        assert_eq!(doc.filename, "tingjian-scorecard-2024-Q3.csv");
        assert_eq!(doc.content_type, "text/csv; charset=utf-8");
        let mut b = fixtures::breakdown(Lang::Zh);
        b.breakdown.dimension = pb::Dimension::Unit;
        let doc = render_breakdown(&b, Format::Html);
        assert_eq!(doc.filename, "tingjian-response_rate-by-unit-2024-Q3.html");
        assert_eq!(doc.content_type, "text/html; charset=utf-8");
        assert_eq!(Format::from_proto(2), Some(Format::Markdown));
        assert_eq!(Format::from_proto(0), None);
        assert_eq!(Format::from_proto(99), None);
    }

    #[test]
    fn scorecard_lines_carry_every_figure_and_the_not_applicable_ones() {
        let mut sc = fixtures::scorecard();
        sc.not_applicable = vec![pb::Metric::CampaignPosts as i32];
        let lines = figures(&sc, Lang::Zh);
        assert_eq!(lines.len(), 36);
        let find = |key: &str| lines.iter().find(|l| l.key == key).expect(key).value.clone();
        assert_eq!(find("campaign_posts"), Value::NotApplicable);
        assert_eq!(find("demands_received"), Value::Count(120));
        assert_eq!(find("problems_solved:finance_credit"), Value::Count(7));
        assert_eq!(find("handling_time_median"), Value::Seconds(Some(3 * 86_400 + 4 * 3600)));
        assert_eq!(find("response_rate").display(Lang::Zh), "92.0%");
        assert_eq!(find("on_time_rate").display(Lang::Zh), "—");
        assert_eq!(find("interest_reduced").display(Lang::Zh), "19,710,000.00 元");
        assert_eq!(filter_text(&fixtures::breakdown(Lang::Zh).filter, Lang::Zh).as_deref(), Some("行业：远洋渔业"));
        assert_eq!(filter_text(&pb::ScorecardFilter::default(), Lang::En), None);
        assert_eq!(as_of_text(sc.as_of_time.as_ref(), Lang::Zh), "数据截至 2024-09-30 18:00（北京时间）");
    }

    #[test]
    fn report_breakdowns_use_figures_the_dimension_slices() {
        assert_eq!(breakdown_metrics(pb::Dimension::Channel), vec![pb::Metric::DemandsReceived]);
        assert!(!breakdown_metrics(pb::Dimension::Unit).contains(&pb::Metric::DemandsReceived));
        assert_eq!(breakdown_metrics(pb::Dimension::District).len(), 5);
    }
}
