//! Markdown reports: the figures in tables grouped by section (听, 见, 商, 成效), each with its
//! definition and, for rates, numerator and denominator; text bar charts (▇) for the main rates over
//! earlier periods and for breakdowns. Printed as it is, it also reads well in a terminal.

use std::fmt::Write as _;

use super::{
    Breakdown, BreakdownReport, ScorecardReport, Value, as_of_text, filter_text, proto_period_title, row_label,
    text_bar,
};
use crate::domain::labels::{self, Lang, Section};

/// Width of a full bar, in blocks.
const BAR_WIDTH: usize = 20;

/// The scorecard report.
pub fn scorecard(report: &ScorecardReport) -> String {
    let lang = report.lang;
    let sc = &report.scorecard;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", escape(&super::scorecard_title(&report.period, lang)));
    preamble(&mut out, sc.as_of_time.as_ref(), sc.filter.as_ref(), lang);
    let lines = super::figures(sc, lang);
    for section in Section::ALL {
        let _ = writeln!(out, "## {}\n", section.label(lang));
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |\n| --- | ---: | ---: | --- |",
            lang.pick("指标", "Figure"),
            lang.pick("数值", "Value"),
            lang.pick("分子/分母", "n/d"),
            lang.pick("定义", "Definition"),
        );
        for line in lines.iter().filter(|l| labels::section(l.metric) == section) {
            let definition = if line.key.contains(':') { "" } else { labels::metric_definition(line.metric, lang) };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                escape(&line.label),
                escape(&line.value.display(lang)),
                line.value.parts(),
                escape(definition)
            );
        }
        out.push('\n');
    }
    if !sc.not_applicable.is_empty() {
        let _ = writeln!(
            out,
            "{}\n",
            lang.pick(
                "“不适用”：该指标不能按所选筛选条件切分。",
                "\"n/a\": the figure cannot be sliced by the filter."
            )
        );
    }
    if !report.history.is_empty() {
        let _ = writeln!(out, "## {}\n", lang.pick("主要比率走势", "Main rates over time"));
        for history in &report.history {
            let _ = writeln!(out, "### {}\n", labels::metric_label(history.metric, lang));
            let _ = writeln!(
                out,
                "| {} | {} | {} | |\n| --- | ---: | ---: | --- |",
                lang.pick("周期", "Period"),
                lang.pick("数值", "Value"),
                lang.pick("分子/分母", "n/d"),
            );
            let values: Vec<Value> = history
                .points
                .iter()
                .map(|p| p.value.as_ref().map_or(Value::NotApplicable, |v| Value::of(history.metric, v)))
                .collect();
            let max = values.iter().map(Value::magnitude).fold(0.0, f64::max);
            for (point, value) in history.points.iter().zip(&values) {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    proto_period_title(point.period.as_ref(), lang),
                    value.display(lang),
                    value.parts(),
                    text_bar(value.bar_fraction(max), BAR_WIDTH)
                );
            }
            out.push('\n');
        }
    }
    let mut dimension = None;
    for b in &report.breakdowns {
        if dimension != Some(b.dimension) {
            dimension = Some(b.dimension);
            let heading = match lang {
                Lang::Zh => format!("分项：按{}", labels::dimension_label(b.dimension, lang)),
                Lang::En => format!("Breakdown by {}", labels::dimension_label(b.dimension, lang).to_lowercase()),
            };
            let _ = writeln!(out, "## {heading}\n");
        }
        let _ = writeln!(out, "### {}\n", labels::metric_label(b.metric, lang));
        breakdown_table(&mut out, b, lang);
    }
    out
}

/// The breakdown report.
pub fn breakdown(report: &BreakdownReport) -> String {
    let lang = report.lang;
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", escape(&super::breakdown_title(report)));
    preamble(&mut out, report.as_of_time.as_ref(), Some(&report.filter), lang);
    let _ = writeln!(
        out,
        "{}{}{}\n",
        labels::metric_label(report.breakdown.metric, lang),
        lang.pick("：", ": "),
        labels::metric_definition(report.breakdown.metric, lang)
    );
    breakdown_table(&mut out, &report.breakdown, lang);
    out
}

fn preamble(
    out: &mut String,
    as_of: Option<&prost_types::Timestamp>,
    filter: Option<&tingjian_proto::analytics::v1::ScorecardFilter>,
    lang: Lang,
) {
    let _ = writeln!(out, "{}\n", as_of_text(as_of, lang));
    if let Some(text) = filter.and_then(|f| filter_text(f, lang)) {
        let _ = writeln!(out, "{}{}\n", lang.pick("筛选条件：", "Filter: "), escape(&text));
    }
}

fn breakdown_table(out: &mut String, b: &Breakdown, lang: Lang) {
    let _ = writeln!(
        out,
        "| {} | {} | {} | |\n| --- | ---: | ---: | --- |",
        labels::dimension_label(b.dimension, lang),
        lang.pick("数值", "Value"),
        lang.pick("分子/分母", "n/d"),
    );
    let values: Vec<Value> =
        b.rows.iter().map(|r| r.value.as_ref().map_or(Value::NotApplicable, |v| Value::of(b.metric, v))).collect();
    let max = values.iter().map(Value::magnitude).fold(0.0, f64::max);
    for (row, value) in b.rows.iter().zip(&values) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            escape(&row_label(b.dimension, row, lang)),
            escape(&value.display(lang)),
            value.parts(),
            text_bar(value.bar_fraction(max), BAR_WIDTH)
        );
    }
    if let Some(total) = &b.total {
        let value = Value::of(b.metric, total);
        let _ = writeln!(
            out,
            "| **{}** | **{}** | {} | |",
            lang.pick("合计", "Total"),
            escape(&value.display(lang)),
            value.parts()
        );
    }
    out.push('\n');
}

/// Text for a table cell or a heading: no line breaks, no table pipes, no HTML, no emphasis marks.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' | '\\' | '*' | '`' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;

    #[test]
    fn the_report_has_the_title_figures_definitions_and_charts() {
        let md = scorecard(&fixtures::report(Lang::Zh));
        assert!(md.starts_with("# 听见 · 成效看板 · 2024年第3季度\n\n数据截至 2024-09-30 18:00（北京时间）\n\n"));
        assert!(md.contains("## 听 · 诉求与联系\n"));
        assert!(md.contains("## 见 · 协商与专报\n"));
        assert!(md.contains("## 商 · 交办与督办\n"));
        assert!(md.contains("## 成效 · 解决问题与惠企金额\n"));
        assert!(md.contains("| 收集诉求 | 120 |  | 本期提交的企业诉求数。 |\n"));
        assert!(md.contains("| 答复反馈率 | 92.0% | 92/100 | 本期批次中至少答复一次的事项数 ÷ 本期批次事项数。 |\n"));
        assert!(md.contains("| 办理时长中位数 | 3天4小时 |  |"));
        assert!(md.contains("| 减免利息 | 19,710,000.00 元 |  |"));
        assert!(md.contains("| 解决问题 · 金融信贷 | 7 |  |  |\n"));
        // History: the rate's own value sets the bar (40 % of 20 blocks = 8).
        assert!(md.contains("### 答复反馈率\n"));
        assert!(md.contains(&format!("| 2024年第2季度 | 40.0% | 40/100 | {} |\n", "▇".repeat(8))));
        assert!(md.contains(&format!("| 2024年第3季度 | 92.0% | 92/100 | {} |\n", "▇".repeat(18))));
        // Breakdown: counts are scaled to the largest row; labels are escaped.
        assert!(md.contains("## 分项：按承办单位\n\n### 交办件\n"));
        assert!(md.contains(&format!("| &lt;市经信局&gt; | 60 |  | {} |\n", "▇".repeat(20))));
        assert!(md.contains(&format!("| 市金融办 | 40 |  | {} |\n", "▇".repeat(13))));
        assert!(md.contains("| **合计** | **100** |  | |\n"));
    }

    #[test]
    fn the_english_report_uses_english_labels() {
        let md = scorecard(&fixtures::report(Lang::En));
        assert!(
            md.starts_with("# Tingjian scorecard · Q3 2024\n\nFigures as of 2024-09-30 18:00 China time (UTC+8)\n")
        );
        assert!(
            md.contains("| Response rate | 92.0% | 92/100 | Cohort cases with at least one reply ÷ cohort cases. |")
        );
        assert!(md.contains("| Interest reduced | CNY 19,710,000.00 |"));
        assert!(md.contains("## Breakdown by handling unit\n"));
    }

    #[test]
    fn not_applicable_figures_are_marked() {
        let mut report = fixtures::report(Lang::Zh);
        report.scorecard.not_applicable = vec![tingjian_proto::analytics::v1::Metric::CampaignPosts as i32];
        let md = scorecard(&report);
        assert!(md.contains("| 建言条数 | 不适用 |  |"));
        assert!(md.contains("“不适用”"));
    }

    #[test]
    fn a_breakdown_report_is_exact() {
        let md = breakdown(&fixtures::breakdown(Lang::Zh));
        let expected = format!(
            "# 答复反馈率（按区县）· 2024年第3季度\n\n\
             数据截至 2024-09-30 18:00（北京时间）\n\n\
             筛选条件：行业：远洋渔业\n\n\
             答复反馈率：本期批次中至少答复一次的事项数 ÷ 本期批次事项数。\n\n\
             | 区县 | 数值 | 分子/分母 | |\n| --- | ---: | ---: | --- |\n\
             | 定海区 | 90.0% | 9/10 | {} |\n\
             | 普陀区 | 75.0% | 3/4 | {} |\n\
             | **合计** | **85.7%** | 12/14 | |\n\n",
            "▇".repeat(18),
            "▇".repeat(15)
        );
        assert_eq!(md, expected);
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(escape("a|b\nc <x> *y*"), "a\\|b c &lt;x&gt; \\*y\\*");
    }
}
