//! CSV documents: UTF-8 with a byte-order mark (so spreadsheet programs show Chinese), one header row,
//! CRLF line ends. Rates are fractions with their numerator and denominator, durations seconds, money
//! yuan with two decimals beside the exact fen.

use super::{BreakdownReport, Figure, ScorecardReport, Value, period_code, row_label, yuan};
use crate::domain::labels;

/// The byte-order mark that starts every CSV document.
pub const BOM: &str = "\u{feff}";

const SCORECARD_HEADER: &str = "period,figure,label,value,unit,numerator,denominator,fen,definition";
const BREAKDOWN_HEADER: &str = "period,figure,dimension,key,label,value,unit,numerator,denominator,fen";

/// The scorecard, one row per figure (problems solved also per category).
pub fn scorecard(report: &ScorecardReport) -> String {
    let lang = report.lang;
    let period = period_code(&report.period);
    let mut out = format!("{BOM}{SCORECARD_HEADER}\r\n");
    for Figure { key, metric, label, value } in super::figures(&report.scorecard, lang) {
        let mut fields = vec![period.clone(), key, label];
        fields.extend(value_fields(&value));
        fields.push(labels::metric_definition(metric, lang).to_owned());
        push_row(&mut out, &fields);
    }
    out
}

/// A breakdown, one row per key and a last row `*` for the total.
pub fn breakdown(report: &BreakdownReport) -> String {
    let lang = report.lang;
    let b = &report.breakdown;
    let period = period_code(&report.period);
    let figure = labels::metric_key(b.metric);
    let dimension = labels::dimension_key(b.dimension);
    let mut out = format!("{BOM}{BREAKDOWN_HEADER}\r\n");
    for row in &b.rows {
        let value = row.value.as_ref().map_or(Value::NotApplicable, |v| Value::of(b.metric, v));
        let mut fields =
            vec![period.clone(), figure.clone(), dimension.clone(), row.key.clone(), row_label(b.dimension, row, lang)];
        fields.extend(value_fields(&value));
        push_row(&mut out, &fields);
    }
    if let Some(total) = &b.total {
        let value = Value::of(b.metric, total);
        let mut fields = vec![period, figure, dimension, "*".to_owned(), lang.pick("合计", "Total").to_owned()];
        fields.extend(value_fields(&value));
        push_row(&mut out, &fields);
    }
    out
}

/// value, unit, numerator, denominator, fen.
fn value_fields(value: &Value) -> [String; 5] {
    let empty = String::new;
    match value {
        Value::Count(n) => [n.to_string(), "count".into(), empty(), empty(), empty()],
        Value::Rate(rate) => [
            format!("{:.4}", super::rate_value(rate)),
            "ratio".into(),
            rate.numerator.to_string(),
            rate.denominator.to_string(),
            empty(),
        ],
        Value::Seconds(Some(s)) => [s.to_string(), "seconds".into(), empty(), empty(), empty()],
        Value::Seconds(None) => [empty(), "seconds".into(), empty(), empty(), empty()],
        Value::Fen(fen) => [yuan(*fen), "CNY".into(), empty(), empty(), fen.to_string()],
        Value::NotApplicable => [empty(), "n/a".into(), empty(), empty(), empty()],
    }
}

fn push_row(out: &mut String, fields: &[String]) {
    let line: Vec<String> = fields.iter().map(|f| field(f)).collect();
    out.push_str(&line.join(","));
    out.push_str("\r\n");
}

/// One field: quoted when it holds a comma, quote or line break; text that a spreadsheet would read as
/// a formula is prefixed with an apostrophe.
fn field(raw: &str) -> String {
    let is_number = raw.parse::<f64>().is_ok();
    let text = if !is_number && raw.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{raw}")
    } else {
        raw.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures;
    use super::*;
    use crate::domain::labels::Lang;

    #[test]
    fn the_scorecard_starts_with_the_bom_and_the_header_and_has_a_row_per_figure() {
        let csv = scorecard(&fixtures::report(Lang::Zh));
        assert!(csv.starts_with("\u{feff}period,figure,label,value,unit,numerator,denominator,fen,definition\r\n"));
        assert!(csv.contains(
            "\r\n2024-Q3,response_rate,答复反馈率,0.9200,ratio,92,100,,本期批次中至少答复一次的事项数 ÷ 本期批次事项数。\r\n"
        ));
        assert!(csv.contains("\r\n2024-Q3,demands_received,收集诉求,120,count,,,,本期提交的企业诉求数。\r\n"));
        assert!(csv.contains("\r\n2024-Q3,interest_reduced,减免利息,19710000.00,CNY,,,1971000000,"));
        assert!(csv.contains("\r\n2024-Q3,total_benefits,惠企金额合计,19710000.05,CNY,,,1971000005,"));
        assert!(csv.contains("\r\n2024-Q3,problems_solved:finance_credit,解决问题 · 金融信贷,7,count,"));
        assert!(csv.contains("\r\n2024-Q3,handling_time_median,办理时长中位数,273600,seconds,"));
        // 35 figures, one category line, the header.
        assert_eq!(csv.matches("\r\n").count(), 37);
    }

    #[test]
    fn english_labels_and_definitions_with_commas_are_quoted() {
        let csv = scorecard(&fixtures::report(Lang::En));
        assert!(csv.contains(
            "\r\n2024-Q3,contacts_logged,Contacts logged,0,count,,,,\"Contacts (visits, calls, online) that took place in the period.\"\r\n"
        ));
    }

    #[test]
    fn a_breakdown_has_its_rows_and_the_total() {
        let csv = breakdown(&fixtures::breakdown(Lang::Zh));
        assert_eq!(
            csv,
            "\u{feff}period,figure,dimension,key,label,value,unit,numerator,denominator,fen\r\n\
             2024-Q3,response_rate,district,dinghai,定海区,0.9000,ratio,9,10,\r\n\
             2024-Q3,response_rate,district,putuo,普陀区,0.7500,ratio,3,4,\r\n\
             2024-Q3,response_rate,district,*,合计,0.8571,ratio,12,14,\r\n"
        );
    }

    #[test]
    fn fields_are_quoted_and_formulas_defused() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(field("-0.05"), "-0.05");
        assert_eq!(field("定海区"), "定海区");
    }
}
