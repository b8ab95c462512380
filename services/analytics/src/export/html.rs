//! HTML reports: one self-contained page (inline style, inline SVG charts, no scripts, nothing fetched)
//! with the same content as the Markdown report: figures by section with definitions, a line chart per
//! main rate over earlier periods, and bar charts of the breakdowns. Every text is escaped.

use std::fmt::Write as _;

use super::{
    Breakdown, BreakdownReport, ScorecardReport, Value, as_of_text, filter_text, proto_period_code, row_label,
};
use crate::domain::labels::{self, Lang, Section};

const STYLE: &str = "body{font-family:system-ui,-apple-system,\"PingFang SC\",\"Microsoft YaHei\",sans-serif;\
margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1f2933}\
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #d9e2ec;padding-bottom:.3rem}\
.meta{color:#52606d}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}\
th,td{border:1px solid #d9e2ec;padding:.35rem .5rem;text-align:left;vertical-align:top}\
th{background:#f0f4f8}td.num{text-align:right;white-space:nowrap}td.def{color:#52606d;font-size:.9em}\
tr.total td{font-weight:bold}figure{margin:1rem 0}figcaption{font-weight:bold;margin-bottom:.3rem}\
svg text{font-size:12px;fill:#1f2933}";

/// The scorecard report.
pub fn scorecard(report: &ScorecardReport) -> String {
    let lang = report.lang;
    let sc = &report.scorecard;
    let title = super::scorecard_title(&report.period, lang);
    let mut out = head(&title, lang);
    meta(&mut out, sc.as_of_time.as_ref(), sc.filter.as_ref(), lang);
    let lines = super::figures(sc, lang);
    for section in Section::ALL {
        let _ = writeln!(out, "<h2>{}</h2>", escape(section.label(lang)));
        let _ = writeln!(
            out,
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
            lang.pick("指标", "Figure"),
            lang.pick("数值", "Value"),
            lang.pick("分子/分母", "n/d"),
            lang.pick("定义", "Definition"),
        );
        for line in lines.iter().filter(|l| labels::section(l.metric) == section) {
            let definition = if line.key.contains(':') { "" } else { labels::metric_definition(line.metric, lang) };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"def\">{}</td></tr>",
                escape(&line.label),
                escape(&line.value.display(lang)),
                escape(&line.value.parts()),
                escape(definition)
            );
        }
        out.push_str("</tbody></table>\n");
    }
    if !sc.not_applicable.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"meta\">{}</p>",
            escape(lang.pick(
                "“不适用”：该指标不能按所选筛选条件切分。",
                "\"n/a\": the figure cannot be sliced by the filter."
            ))
        );
    }
    if !report.history.is_empty() {
        let _ = writeln!(out, "<h2>{}</h2>", lang.pick("主要比率走势", "Main rates over time"));
        for history in &report.history {
            let label = labels::metric_label(history.metric, lang);
            let points: Vec<(String, Value)> = history
                .points
                .iter()
                .map(|p| {
                    let value = p.value.as_ref().map_or(Value::NotApplicable, |v| Value::of(history.metric, v));
                    (proto_period_code(p.period.as_ref()), value)
                })
                .collect();
            let _ = writeln!(out, "<figure><figcaption>{}</figcaption>", escape(label));
            line_chart(&mut out, label, &points, lang);
            out.push_str("</figure>\n");
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
            let _ = writeln!(out, "<h2>{}</h2>", escape(&heading));
        }
        let _ = writeln!(out, "<h3>{}</h3>", escape(labels::metric_label(b.metric, lang)));
        breakdown_body(&mut out, b, lang);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The breakdown report.
pub fn breakdown(report: &BreakdownReport) -> String {
    let lang = report.lang;
    let mut out = head(&super::breakdown_title(report), lang);
    meta(&mut out, report.as_of_time.as_ref(), Some(&report.filter), lang);
    let _ = writeln!(
        out,
        "<p class=\"meta\">{}{}{}</p>",
        escape(labels::metric_label(report.breakdown.metric, lang)),
        lang.pick("：", ": "),
        escape(labels::metric_definition(report.breakdown.metric, lang))
    );
    breakdown_body(&mut out, &report.breakdown, lang);
    out.push_str("</body>\n</html>\n");
    out
}

fn head(title: &str, lang: Lang) -> String {
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n",
        lang.pick("zh-CN", "en"),
    )
}

fn meta(
    out: &mut String,
    as_of: Option<&prost_types::Timestamp>,
    filter: Option<&tingjian_proto::analytics::v1::ScorecardFilter>,
    lang: Lang,
) {
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", escape(&as_of_text(as_of, lang)));
    if let Some(text) = filter.and_then(|f| filter_text(f, lang)) {
        let _ = writeln!(out, "<p class=\"meta\">{}{}</p>", lang.pick("筛选条件：", "Filter: "), escape(&text));
    }
}

fn breakdown_body(out: &mut String, b: &Breakdown, lang: Lang) {
    let rows: Vec<(String, Value)> = b
        .rows
        .iter()
        .map(|r| {
            let value = r.value.as_ref().map_or(Value::NotApplicable, |v| Value::of(b.metric, v));
            (row_label(b.dimension, r, lang), value)
        })
        .collect();
    if !rows.is_empty() {
        bar_chart(out, labels::metric_label(b.metric, lang), &rows, lang);
    }
    let _ = writeln!(
        out,
        "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(labels::dimension_label(b.dimension, lang)),
        lang.pick("数值", "Value"),
        lang.pick("分子/分母", "n/d"),
    );
    for (label, value) in &rows {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(label),
            escape(&value.display(lang)),
            escape(&value.parts())
        );
    }
    if let Some(total) = &b.total {
        let value = Value::of(b.metric, total);
        let _ = writeln!(
            out,
            "<tr class=\"total\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            lang.pick("合计", "Total"),
            escape(&value.display(lang)),
            escape(&value.parts())
        );
    }
    out.push_str("</tbody></table>\n");
}

/// Horizontal bars, one per row, scaled to the largest (rates by their own value).
fn bar_chart(out: &mut String, title: &str, rows: &[(String, Value)], lang: Lang) {
    const LABEL_WIDTH: f64 = 180.0;
    const BAR_MAX: f64 = 300.0;
    const ROW: f64 = 24.0;
    let width = LABEL_WIDTH + BAR_MAX + 140.0;
    let height = ROW * rows.len() as f64 + 8.0;
    let max = rows.iter().map(|(_, v)| v.magnitude()).fold(0.0, f64::max);
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{width:.0}\" \
         height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\">",
        escape(title)
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let bar = BAR_MAX * value.bar_fraction(max);
        let _ = writeln!(
            out,
            "<text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <rect x=\"{LABEL_WIDTH:.0}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.0}\" fill=\"#2f80ed\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            LABEL_WIDTH - 6.0,
            y + 15.0,
            escape(label),
            y + 3.0,
            ROW - 6.0,
            LABEL_WIDTH + bar + 6.0,
            y + 15.0,
            escape(&value.display(lang))
        );
    }
    out.push_str("</svg>\n");
}

/// A line of a rate over periods, 0–100 % on the vertical axis.
fn line_chart(out: &mut String, title: &str, points: &[(String, Value)], lang: Lang) {
    const WIDTH: f64 = 520.0;
    const HEIGHT: f64 = 180.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 24.0;
    const TOP: f64 = 20.0;
    const BOTTOM: f64 = 30.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" width=\"{WIDTH:.0}\" \
         height=\"{HEIGHT:.0}\" viewBox=\"0 0 {WIDTH:.0} {HEIGHT:.0}\">",
        escape(title)
    );
    for (fraction, tick) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
        let y = TOP + plot_h * (1.0 - fraction);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT:.0}\" y1=\"{y:.1}\" x2=\"{:.0}\" y2=\"{y:.1}\" stroke=\"#d9e2ec\"/>\
             <text x=\"{:.0}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0
        );
    }
    let step = if points.len() > 1 { plot_w / (points.len() - 1) as f64 } else { 0.0 };
    let coords: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let x = if points.len() > 1 { LEFT + step * i as f64 } else { LEFT + plot_w / 2.0 };
            (x, TOP + plot_h * (1.0 - v.bar_fraction(1.0)))
        })
        .collect();
    let polyline: Vec<String> = coords.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
    let _ = writeln!(
        out,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#2f80ed\" stroke-width=\"2\"/>",
        polyline.join(" ")
    );
    for ((period, value), (x, y)) in points.iter().zip(&coords) {
        let _ = writeln!(
            out,
            "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#2f80ed\"/>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\
             <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            y - 7.0,
            escape(&value.display(lang)),
            HEIGHT - 10.0,
            escape(period)
        );
    }
    out.push_str("</svg>\n");
}

/// Text for HTML content or an attribute value.
fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
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
    fn the_report_is_a_self_contained_page_with_escaped_labels_and_charts() {
        let html = scorecard(&fixtures::report(Lang::Zh));
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"zh-CN\">\n"));
        assert!(html.contains("<title>听见 · 成效看板 · 2024年第3季度</title>"));
        assert!(html.contains("<p class=\"meta\">数据截至 2024-09-30 18:00（北京时间）</p>"));
        assert!(html.contains(
            "<tr><td>答复反馈率</td><td class=\"num\">92.0%</td><td class=\"num\">92/100</td>\
             <td class=\"def\">本期批次中至少答复一次的事项数 ÷ 本期批次事项数。</td></tr>"
        ));
        // The unit's name holds markup: escaped in the table and in the chart, never raw.
        assert!(html.contains("&lt;市经信局&gt;"));
        assert!(!html.contains("<市经信局>"));
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        // The history line: 40 % then 92 % over a 130-pixel-high plot.
        assert!(html.contains("<polyline points=\"44.0,98.0 496.0,30.4\""));
        // The largest unit gets the full bar, the other 40/60 of it.
        assert!(html.contains("width=\"300.0\""));
        assert!(html.contains("width=\"200.0\""));
        assert!(html.ends_with("</body>\n</html>\n"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn a_breakdown_page_has_the_table_and_bars() {
        let html = breakdown(&fixtures::breakdown(Lang::En));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<h1>Response rate by district · Q3 2024</h1>"));
        assert!(html.contains("<p class=\"meta\">Filter: Industry: Ocean fishing</p>"));
        assert!(
            html.contains("<tr><td>Dinghai District</td><td class=\"num\">90.0%</td><td class=\"num\">9/10</td></tr>")
        );
        assert!(html.contains(
            "<tr class=\"total\"><td>Total</td><td class=\"num\">85.7%</td><td class=\"num\">12/14</td></tr>"
        ));
        assert!(html.contains("width=\"270.0\""), "90 % of the 300-pixel bar");
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        assert_eq!(escape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
    }
}
