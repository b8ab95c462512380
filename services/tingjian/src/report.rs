//! `tingjian report`: the scorecard (成效看板) of a period from a running suite, as readable text in the
//! terminal or as a CSV, Markdown or HTML document for the periodic report to leaders.

use std::io::Write as _;
use std::path::PathBuf;

use clap::{Args, ValueEnum};
use tingjian_analytics::domain::labels;
use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::analytics::v1::analytics_service_client::AnalyticsServiceClient;
use tingjian_proto::common::v1 as common;
use tingjian_proto::intake::v1::DemandChannel;
use tingjian_runtime::telemetry::ClientContext;

use crate::client::{ClientArgs, Output, channel, explain};

type BoxResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// `tingjian report`
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    tingjian report --period 2024-Q3\n  \
    tingjian report --period 2024-09 --district 定海区 --lang en\n  \
    tingjian report --period 2024 --format html --breakdown district,unit --out report.html\n  \
    tingjian report --period 2024-Q3 --channel visit --format csv --out scorecard.csv")]
pub struct ReportArgs {
    /// The period, in China time: a quarter (2024-Q3 or 2024Q3), a month (2024-09) or a year (2024).
    #[arg(long, value_parser = parse_period)]
    period: common::Period,
    /// Only this district: a code or its name, e.g. dinghai or 定海区.
    #[arg(long, default_value = "", hide_default_value = true)]
    district: String,
    /// Only this industry: a code or its name, e.g. ocean_fishing or 远洋渔业.
    #[arg(long, default_value = "", hide_default_value = true)]
    industry: String,
    /// Only this demand category: a code or its name, e.g. finance_credit or 金融信贷.
    #[arg(long, default_value = "", hide_default_value = true)]
    category: String,
    /// Only cases led by, and rectification orders to, this handling unit (its organisation id).
    #[arg(long, default_value = "", hide_default_value = true)]
    unit: String,
    /// Only demands that came in through this channel.
    #[arg(long, value_enum)]
    channel: Option<Channel>,
    /// Language of the labels.
    #[arg(long, value_enum, default_value_t = Language::Zh)]
    lang: Language,
    /// Document format; `text` prints the Markdown report for reading in the terminal.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Break the main figures down by these dimensions, comma-separated (reports only, not CSV).
    #[arg(long, value_enum, value_delimiter = ',')]
    breakdown: Vec<Dimension>,
    /// Earlier periods of the same kind to chart beside the main rates (0 = 4, at most 24; reports only).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i32).range(0..=24))]
    history: i32,
    /// Write the document to this file (or, for a directory, to the suggested file name in it) instead
    /// of printing it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Address of the suite or of the analytics service.
    #[arg(long, env = "TINGJIAN_ADDR", default_value = crate::DEFAULT_ADDR)]
    addr: String,
    /// Bearer token of a reader of figures (see `tingjian token`).
    #[arg(long, env = "TINGJIAN_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

/// Demand channels (来源渠道).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Channel {
    /// On-site visit (上门走访).
    Visit,
    /// Phone call (电话联系).
    Phone,
    /// Online exchange (线上沟通).
    Online,
    /// Business-environment monitoring point (营商环境监测点).
    MonitoringPoint,
    /// Monthly roundtable (一月一座谈).
    Roundtable,
    /// Online campaign post (网上建言献策).
    Campaign,
    /// The 千岛议家 app or the web front end.
    App,
}

impl Channel {
    fn proto(self) -> DemandChannel {
        match self {
            Self::Visit => DemandChannel::Visit,
            Self::Phone => DemandChannel::Phone,
            Self::Online => DemandChannel::Online,
            Self::MonitoringPoint => DemandChannel::MonitoringPoint,
            Self::Roundtable => DemandChannel::Roundtable,
            Self::Campaign => DemandChannel::Campaign,
            Self::App => DemandChannel::App,
        }
    }
}

/// Languages of the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Language {
    /// Chinese.
    Zh,
    /// English.
    En,
}

/// Document formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The Markdown report, for the terminal.
    Text,
    /// CSV (UTF-8 with a byte-order mark), one row per figure.
    Csv,
    /// A Markdown report with definitions and text charts.
    Markdown,
    /// A self-contained HTML report with inline charts.
    Html,
}

impl Format {
    fn proto(self) -> pb::ExportFormat {
        match self {
            Self::Text | Self::Markdown => pb::ExportFormat::Markdown,
            Self::Csv => pb::ExportFormat::Csv,
            Self::Html => pb::ExportFormat::Html,
        }
    }
}

/// Dimensions to break figures down by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Dimension {
    /// District (区县).
    District,
    /// Industry (行业).
    Industry,
    /// Demand category (诉求类别).
    Category,
    /// Handling unit (承办单位).
    Unit,
    /// Demand channel (来源渠道).
    Channel,
}

impl Dimension {
    fn proto(self) -> pb::Dimension {
        match self {
            Self::District => pb::Dimension::District,
            Self::Industry => pb::Dimension::Industry,
            Self::Category => pb::Dimension::Category,
            Self::Unit => pb::Dimension::Unit,
            Self::Channel => pb::Dimension::Channel,
        }
    }
}

/// `2024-Q3` / `2024Q3` as a quarter, `2024-09` as a month, `2024` as a year.
pub(crate) fn parse_period(raw: &str) -> Result<common::Period, String> {
    let bad = || format!("{raw:?} is not a period like 2024-Q3, 2024-09 or 2024");
    let text = raw.trim();
    let (kind, year, number) = if let Some((year, quarter)) = text.split_once(['Q', 'q']) {
        let year = year.strip_suffix('-').unwrap_or(year);
        (common::PeriodKind::Quarter, year, quarter.parse::<u32>().map_err(|_| bad())?)
    } else if let Some((year, month)) = text.split_once('-') {
        (common::PeriodKind::Month, year, month.parse::<u32>().map_err(|_| bad())?)
    } else {
        (common::PeriodKind::Year, text, 0)
    };
    let year: i32 = year.parse().map_err(|_| bad())?;
    let runtime_kind = match kind {
        common::PeriodKind::Month => tingjian_runtime::time::PeriodKind::Month,
        common::PeriodKind::Quarter => tingjian_runtime::time::PeriodKind::Quarter,
        _ => tingjian_runtime::time::PeriodKind::Year,
    };
    tingjian_runtime::time::Period::new(runtime_kind, year, number, "")
        .map_err(|e| format!("{}: {}", bad(), e.description))?;
    Ok(common::Period { kind: kind as i32, year, number: number as i32 })
}

/// A code for a district, industry or category given by code or name; unknown names pass as given.
fn code(dimension: pb::Dimension, raw: &str) -> String {
    labels::code_of(dimension, raw).map_or_else(|| raw.trim().to_owned(), str::to_owned)
}

impl ReportArgs {
    fn request(&self) -> pb::ExportScorecardRequest {
        pb::ExportScorecardRequest {
            period: Some(self.period),
            filter: Some(pb::ScorecardFilter {
                district: code(pb::Dimension::District, &self.district),
                industry: code(pb::Dimension::Industry, &self.industry),
                category: code(pb::Dimension::Category, &self.category),
                unit_id: self.unit.trim().to_owned(),
                channel: self.channel.map_or(DemandChannel::Unspecified, Channel::proto) as i32,
            }),
            format: self.format.proto() as i32,
            language_code: match self.lang {
                Language::Zh => "zh",
                Language::En => "en",
            }
            .to_owned(),
            breakdowns: self.breakdown.iter().map(|d| d.proto() as i32).collect(),
            history_periods: self.history,
        }
    }
}

/// Runs `tingjian report`.
pub async fn report(args: ReportArgs) -> BoxResult<()> {
    let token =
        args.token.as_deref().ok_or("a token is needed: pass --token or set TINGJIAN_TOKEN (see `tingjian token`)")?;
    let context = ClientContext::with_token(token).map_err(|_| "the token is not valid ASCII")?;
    let connection = ClientArgs { addr: args.addr.clone(), token: args.token.clone(), output: Output::Text };
    let mut client = AnalyticsServiceClient::with_interceptor(channel(&connection).await?, context)
        .max_decoding_message_size(64 * 1024 * 1024);
    let response = client.export_scorecard(args.request()).await.map_err(explain)?.into_inner();
    match &args.out {
        Some(out) => {
            let path = if out.is_dir() { out.join(&response.filename) } else { out.clone() };
            std::fs::write(&path, &response.content).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            eprintln!("wrote {} ({} bytes, {})", path.display(), response.content.len(), response.content_type);
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&response.content)?;
            stdout.flush()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: ReportArgs,
    }

    fn parse(args: &[&str]) -> Result<ReportArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("report").chain(args.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn periods_are_quarters_months_or_years() {
        let q = |kind: common::PeriodKind, year, number| common::Period { kind: kind as i32, year, number };
        assert_eq!(parse_period("2024-Q3"), Ok(q(common::PeriodKind::Quarter, 2024, 3)));
        assert_eq!(parse_period("2024Q3"), Ok(q(common::PeriodKind::Quarter, 2024, 3)));
        assert_eq!(parse_period("2024-q4"), Ok(q(common::PeriodKind::Quarter, 2024, 4)));
        assert_eq!(parse_period("2024-09"), Ok(q(common::PeriodKind::Month, 2024, 9)));
        assert_eq!(parse_period("2024-9"), Ok(q(common::PeriodKind::Month, 2024, 9)));
        assert_eq!(parse_period("2024"), Ok(q(common::PeriodKind::Year, 2024, 0)));
        for bad in ["2024-Q5", "2024-13", "2024-00", "Q3", "abc", "", "1999", "2024-Q"] {
            assert!(parse_period(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_options_make_the_export_request() {
        let args = parse(&[
            "--period",
            "2024-Q3",
            "--district",
            "定海区",
            "--industry",
            "ocean_fishing",
            "--channel",
            "visit",
            "--lang",
            "en",
            "--format",
            "html",
            "--breakdown",
            "district,unit",
            "--history",
            "8",
            "--token",
            "t",
        ])
        .expect("valid");
        let request = args.request();
        let filter = request.filter.expect("filter");
        assert_eq!(filter.district, "dinghai");
        assert_eq!(filter.industry, "ocean_fishing");
        assert_eq!(filter.channel, DemandChannel::Visit as i32);
        assert_eq!(request.format, pb::ExportFormat::Html as i32);
        assert_eq!(request.language_code, "en");
        assert_eq!(request.breakdowns, vec![pb::Dimension::District as i32, pb::Dimension::Unit as i32]);
        assert_eq!(request.history_periods, 8);
        assert_eq!(request.period, Some(common::Period { kind: 2, year: 2024, number: 3 }));
    }

    #[test]
    fn text_is_the_markdown_report_in_chinese_by_default() {
        let request = parse(&["--period", "2024-09"]).expect("valid").request();
        assert_eq!(request.format, pb::ExportFormat::Markdown as i32);
        assert_eq!(request.language_code, "zh");
        assert_eq!(request.filter.expect("filter").channel, 0);
        assert!(parse(&[]).is_err(), "the period is required");
        assert!(parse(&["--period", "2024-Q3", "--breakdown", "planet"]).is_err());
        assert!(parse(&["--period", "2024-Q3", "--history", "25"]).is_err());
    }
}
