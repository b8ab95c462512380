//! Labels of the figures and of the keys they are grouped by, in Chinese (the default) and English: each
//! figure's short name and one-line definition (as on the Scorecard fields of the contract), the
//! dimensions, the seeded districts, industries and demand categories of the intake reference data, the
//! demand channels and the session formats.

use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::consultation::v1::SessionFormat;
use tingjian_proto::intake::v1::DemandChannel;
use tingjian_runtime::error::FieldViolation;

use pb::Metric as M;

/// The language of labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Chinese (zh), the default.
    #[default]
    Zh,
    /// English (en).
    En,
}

impl Lang {
    /// Reads `language_code`: "zh" or empty for Chinese, "en" for English; a region or script subtag
    /// ("zh-CN", "en-GB") is accepted and ignored.
    pub fn parse(raw: &str) -> Result<Self, FieldViolation> {
        let primary = raw.trim().split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "" | "zh" => Ok(Self::Zh),
            "en" => Ok(Self::En),
            _ => Err(FieldViolation::new("language_code", format!("{:?} is not supported; use \"zh\" or \"en\"", raw))),
        }
    }

    /// The language code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Zh => "zh",
            Self::En => "en",
        }
    }

    /// The Chinese or the English text.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Self::Zh => zh,
            Self::En => en,
        }
    }
}

/// What a figure's value counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Measure {
    /// A count of items.
    Count,
    /// A rate, numerator ÷ denominator.
    Rate,
    /// A duration in seconds.
    Seconds,
    /// Money in CNY fen.
    Fen,
}

/// The group of the programme a figure belongs to, in the report's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Section {
    /// 听: demands, contacts and the campaign.
    Hear,
    /// 见: sessions, suggestions and special reports.
    Consult,
    /// 商: cases, follow-ups and rectifications.
    Supervise,
    /// 成效: problems solved and money benefits.
    Results,
}

impl Section {
    /// Every section, in order.
    pub const ALL: [Section; 4] = [Self::Hear, Self::Consult, Self::Supervise, Self::Results];

    /// Its heading.
    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Self::Hear => lang.pick("听 · 诉求与联系", "Hear: demands and contacts"),
            Self::Consult => lang.pick("见 · 协商与专报", "Consult: sessions and reports"),
            Self::Supervise => lang.pick("商 · 交办与督办", "Supervise: cases"),
            Self::Results => lang.pick("成效 · 解决问题与惠企金额", "Results: problems solved and benefits"),
        }
    }
}

/// Every figure, in the scorecard's order.
pub const METRICS: [M; 35] = [
    M::DemandsReceived,
    M::DemandsMerged,
    M::CommonIssuesFormed,
    M::EnterprisesContacted,
    M::ContactsLogged,
    M::WeeklyContactCompliance,
    M::PolicyBriefingPersonTimes,
    M::CampaignParticipants,
    M::CampaignPosts,
    M::SessionsHeld,
    M::SessionsFaceToFace,
    M::SessionsInteractive,
    M::SessionsOnline,
    M::EntrepreneurSpeakers,
    M::SuggestionsSubmitted,
    M::SpecialReportsSent,
    M::InstructionRate,
    M::CasesAssigned,
    M::ResponseRate,
    M::OnTimeRate,
    M::ResolutionRate,
    M::SatisfactionRate,
    M::ReopenRate,
    M::HandlingTimeMedian,
    M::HandlingTimeP90,
    M::LongRunningCases,
    M::FollowUpCompliance,
    M::RectificationsIssued,
    M::RectificationsVerified,
    M::ProblemsSolved,
    M::InterestReduced,
    M::Subsidies,
    M::FeesWaived,
    M::OtherMoney,
    M::TotalBenefits,
];

/// The figure's stable key: its enum name without the prefix, in lower case (e.g. `response_rate`).
pub fn metric_key(m: M) -> String {
    let name = m.as_str_name();
    name.strip_prefix("METRIC_").unwrap_or(name).to_ascii_lowercase()
}

/// The dimension's stable key (e.g. `unit`).
pub fn dimension_key(d: pb::Dimension) -> String {
    let name = d.as_str_name();
    name.strip_prefix("DIMENSION_").unwrap_or(name).to_ascii_lowercase()
}

/// What the figure's value counts.
pub fn measure(m: M) -> Measure {
    match m {
        M::WeeklyContactCompliance
        | M::InstructionRate
        | M::ResponseRate
        | M::OnTimeRate
        | M::ResolutionRate
        | M::SatisfactionRate
        | M::ReopenRate
        | M::FollowUpCompliance => Measure::Rate,
        M::HandlingTimeMedian | M::HandlingTimeP90 => Measure::Seconds,
        M::InterestReduced | M::Subsidies | M::FeesWaived | M::OtherMoney | M::TotalBenefits => Measure::Fen,
        _ => Measure::Count,
    }
}

/// Whether a smaller value of the figure is better.
pub fn lower_is_better(m: M) -> bool {
    matches!(m, M::ReopenRate | M::HandlingTimeMedian | M::HandlingTimeP90)
}

/// The section of the report the figure belongs to.
pub fn section(m: M) -> Section {
    match m as i32 {
        1..=9 => Section::Hear,
        10..=17 => Section::Consult,
        18..=29 => Section::Supervise,
        _ => Section::Results,
    }
}

/// The figure's short label.
pub fn metric_label(m: M, lang: Lang) -> &'static str {
    let (zh, en) = match m {
        M::Unspecified => ("未指定", "Unspecified"),
        M::DemandsReceived => ("收集诉求", "Demands received"),
        M::DemandsMerged => ("合并同类项", "Demands merged"),
        M::CommonIssuesFormed => ("共性问题", "Common issues formed"),
        M::EnterprisesContacted => ("走访企业", "Enterprises contacted"),
        M::ContactsLogged => ("联系次数", "Contacts logged"),
        M::WeeklyContactCompliance => ("一周一联系", "Weekly-contact compliance"),
        M::PolicyBriefingPersonTimes => ("宣讲人次", "Policy briefings (person-times)"),
        M::CampaignParticipants => ("参与网民和委员", "Campaign participants"),
        M::CampaignPosts => ("建言条数", "Campaign posts"),
        M::SessionsHeld => ("协商活动", "Sessions held"),
        M::SessionsFaceToFace => ("面对面", "Face-to-face sessions"),
        M::SessionsInteractive => ("心贴心", "Interactive sessions"),
        M::SessionsOnline => ("键对键", "Online sessions"),
        M::EntrepreneurSpeakers => ("企业家发言", "Entrepreneur speakers"),
        M::SuggestionsSubmitted => ("协商建议", "Suggestions submitted"),
        M::SpecialReportsSent => ("专报", "Special reports sent"),
        M::InstructionRate => ("批示率", "Instruction rate"),
        M::CasesAssigned => ("交办件", "Cases assigned"),
        M::ResponseRate => ("答复反馈率", "Response rate"),
        M::OnTimeRate => ("按时办理率", "On-time rate"),
        M::ResolutionRate => ("解决率", "Resolution rate"),
        M::SatisfactionRate => ("满意率", "Satisfaction rate"),
        M::ReopenRate => ("重办率", "Reopen rate"),
        M::HandlingTimeMedian => ("办理时长中位数", "Median handling time"),
        M::HandlingTimeP90 => ("办理时长90分位", "90th-percentile handling time"),
        M::LongRunningCases => ("跨度超过半年的事项", "Long-running cases"),
        M::FollowUpCompliance => ("季度跟踪监督率", "Quarterly follow-up compliance"),
        M::RectificationsIssued => ("整改通知", "Rectification orders issued"),
        M::RectificationsVerified => ("整改验收", "Rectification orders verified"),
        M::ProblemsSolved => ("解决问题", "Problems solved"),
        M::InterestReduced => ("减免利息", "Interest reduced"),
        M::Subsidies => ("争取补助", "Subsidies obtained"),
        M::FeesWaived => ("减免费用", "Fees waived"),
        M::OtherMoney => ("其他惠企金额", "Other money benefits"),
        M::TotalBenefits => ("惠企金额合计", "All money benefits"),
    };
    lang.pick(zh, en)
}

/// The figure's one-line definition.
pub fn metric_definition(m: M, lang: Lang) -> &'static str {
    let (zh, en) = match m {
        M::Unspecified => ("未指定的指标。", "No figure."),
        M::DemandsReceived => ("本期提交的企业诉求数。", "Demands submitted in the period."),
        M::DemandsMerged => {
            ("本期首次并入共性问题的诉求数。", "Demands that first joined a common issue in the period.")
        }
        M::CommonIssuesFormed => ("本期形成的共性问题数。", "Common issues formed in the period."),
        M::EnterprisesContacted => {
            ("本期至少联系过一次的不同企业数。", "Distinct enterprises with at least one contact in the period.")
        }
        M::ContactsLogged => {
            ("本期发生的走访、电话、线上联系次数。", "Contacts (visits, calls, online) that took place in the period.")
        }
        M::WeeklyContactCompliance => (
            "有联系的企业周数 ÷ 应联系的企业周数（本期内结束的自然周，周一至周日，北京时间；仅计该周开始前已登记的企业）。",
            "Enterprise-weeks with a contact ÷ enterprise-weeks due, over the weeks (Monday–Sunday, UTC+8) ending in the period, for enterprises registered before the week began.",
        ),
        M::PolicyBriefingPersonTimes => {
            ("本期联系中政策宣讲的人次之和。", "Sum of person-times briefed in contacts in the period.")
        }
        M::CampaignParticipants => {
            ("本期在建言征集中发帖的不同网民和委员数。", "Distinct authors of campaign posts in the period.")
        }
        M::CampaignPosts => ("本期建言征集的发帖数。", "Campaign posts made in the period."),
        M::SessionsHeld => ("本期结束的协商活动数（各形式合计）。", "Sessions closed in the period, all formats."),
        M::SessionsFaceToFace => {
            ("本期结束的面对面协商（企业家与书记、市长面对面）数。", "Face-to-face sessions closed in the period.")
        }
        M::SessionsInteractive => {
            ("本期结束的心贴心协商（委员会客厅、民生议事堂）数。", "Interactive sessions closed in the period.")
        }
        M::SessionsOnline => ("本期结束的键对键网络协商数。", "Online sessions closed in the period."),
        M::EntrepreneurSpeakers => (
            "本期结束的各场协商中发言的不同企业家数之和。",
            "Over sessions closed in the period, the sum of distinct entrepreneurs who spoke in each.",
        ),
        M::SuggestionsSubmitted => ("本期提交的协商建议数。", "Suggestions submitted in the period."),
        M::SpecialReportsSent => ("本期报送的专报数。", "Special reports sent in the period."),
        M::InstructionRate => (
            "本期报送且已记录领导批示的专报数 ÷ 本期报送的专报数。",
            "Special reports sent in the period with at least one leader's instruction ÷ special reports sent in the period.",
        ),
        M::CasesAssigned => (
            "本期首次交办的事项数（本期批次；改派不改变批次）。",
            "The cohort: cases first dispatched in the period (reassignment keeps a case in its cohort).",
        ),
        M::ResponseRate => (
            "本期批次中至少答复一次的事项数 ÷ 本期批次事项数。",
            "Cohort cases with at least one reply ÷ cohort cases.",
        ),
        M::OnTimeRate => (
            "本期批次中首次答复不晚于办理期限的事项数 ÷ 已答复或已到期的事项数。",
            "Cohort cases whose first reply came at or before the deadline ÷ cohort cases that have replied or reached their deadline.",
        ),
        M::ResolutionRate => (
            "本期批次中最近一次答复为A类（已解决）的事项数 ÷ 已答复的事项数。",
            "Cohort cases whose latest reply is class A (solved) ÷ cohort cases replied.",
        ),
        M::SatisfactionRate => (
            "本期批次中最近一次评价为满意或基本满意的事项数 ÷ 已评价的事项数。",
            "Cohort cases whose latest evaluation is satisfied or basically satisfied ÷ cohort cases evaluated.",
        ),
        M::ReopenRate => (
            "本期批次中因不满意评价被重办过的事项数 ÷ 已评价的事项数（越低越好）。",
            "Cohort cases reopened at least once by a dissatisfied evaluation ÷ cohort cases evaluated (lower is better).",
        ),
        M::HandlingTimeMedian => (
            "本期批次已答复事项从交办到首次答复的时长中位数（最近秩法）。",
            "Median time from dispatch to first reply over cohort cases replied (nearest rank).",
        ),
        M::HandlingTimeP90 => {
            ("同一范围内办理时长的90分位数（最近秩法）。", "90th percentile of the same handling times (nearest rank).")
        }
        M::LongRunningCases => (
            "本期内某一时刻处于跨度超过半年且未办结状态的事项数。",
            "Cases long-running and open at some instant of the period.",
        ),
        M::FollowUpCompliance => (
            "本期内应跟踪的（事项，季度）中至少跟踪监督一次的个数 ÷ 应跟踪的个数。",
            "Required (case, quarter) pairs within the period with at least one follow-up ÷ required pairs.",
        ),
        M::RectificationsIssued => ("本期下发的整改通知数。", "Rectification orders issued in the period."),
        M::RectificationsVerified => {
            ("本期验收通过的整改数。", "Rectification orders verified as passed in the period.")
        }
        M::ProblemsSolved => (
            "本期记录的成效中解决问题数之和（按成效类别）。",
            "Sum of problems solved in benefits recorded in the period, by benefit category.",
        ),
        M::InterestReduced => ("本期记录的减免利息金额。", "Interest reduced, recorded in the period."),
        M::Subsidies => ("本期记录的争取补助金额。", "Subsidies obtained, recorded in the period."),
        M::FeesWaived => ("本期记录的减免费用金额。", "Fees waived, recorded in the period."),
        M::OtherMoney => ("本期记录的其他惠企金额。", "Other money benefits recorded in the period."),
        M::TotalBenefits => ("本期记录的全部惠企金额。", "All money benefits recorded in the period."),
    };
    lang.pick(zh, en)
}

/// The dimension's label.
pub fn dimension_label(d: pb::Dimension, lang: Lang) -> &'static str {
    let (zh, en) = match d {
        pb::Dimension::Unspecified => ("未指定", "Unspecified"),
        pb::Dimension::District => ("区县", "District"),
        pb::Dimension::Industry => ("行业", "Industry"),
        pb::Dimension::Category => ("诉求类别", "Demand category"),
        pb::Dimension::Unit => ("承办单位", "Handling unit"),
        pb::Dimension::Channel => ("来源渠道", "Channel"),
    };
    lang.pick(zh, en)
}

/// Districts of the intake reference data: code, Chinese, English.
const DISTRICTS: &[(&str, &str, &str)] = &[
    ("dinghai", "定海区", "Dinghai District"),
    ("putuo", "普陀区", "Putuo District"),
    ("daishan", "岱山县", "Daishan County"),
    ("shengsi", "嵊泗县", "Shengsi County"),
    ("xincheng", "新城", "New City"),
];

/// Industries of the intake reference data.
const INDUSTRIES: &[(&str, &str, &str)] = &[
    ("advanced_manufacturing", "先进制造", "Advanced manufacturing"),
    ("catering_trade", "餐饮商贸", "Catering and trade"),
    ("ocean_fishing", "远洋渔业", "Ocean fishing"),
    ("port_logistics", "港航物流", "Port and shipping logistics"),
    ("tourism", "旅游", "Tourism"),
    ("shipbuilding", "船舶修造", "Shipbuilding and repair"),
    ("petrochemical", "绿色石化", "Green petrochemicals"),
    ("aquatic_processing", "水产加工", "Aquatic products processing"),
];

/// Demand categories of the intake reference data.
const CATEGORIES: &[(&str, &str, &str)] = &[
    ("finance_credit", "金融信贷", "Finance and credit"),
    ("logistics", "物流运输", "Logistics and transport"),
    ("patent", "专利申请", "Patent applications"),
    ("approval", "审批", "Approvals"),
    ("subsidy", "补助", "Subsidies"),
    ("talent", "人才", "Talent"),
    ("land", "用地", "Land use"),
    ("project_award", "项目奖励", "Project awards"),
    ("labour", "劳动用工", "Labour and employment"),
    ("policy", "惠企政策兑现", "Business support policies"),
];

fn codes(d: pb::Dimension) -> &'static [(&'static str, &'static str, &'static str)] {
    match d {
        pb::Dimension::District => DISTRICTS,
        pb::Dimension::Industry => INDUSTRIES,
        pb::Dimension::Category => CATEGORIES,
        _ => &[],
    }
}

/// The label of a demand channel, by its enum name (e.g. `DEMAND_CHANNEL_VISIT`).
pub fn channel_label(channel: DemandChannel, lang: Lang) -> &'static str {
    let (zh, en) = match channel {
        DemandChannel::Unspecified => ("未指定", "Unspecified"),
        DemandChannel::Visit => ("上门走访", "On-site visit"),
        DemandChannel::Phone => ("电话联系", "Phone call"),
        DemandChannel::Online => ("线上沟通", "Online exchange"),
        DemandChannel::MonitoringPoint => ("营商环境监测点", "Monitoring point"),
        DemandChannel::Roundtable => ("一月一座谈", "Monthly roundtable"),
        DemandChannel::Campaign => ("网上建言献策", "Online campaign"),
        DemandChannel::App => ("千岛议家", "Qiandao Yijia app"),
    };
    lang.pick(zh, en)
}

/// The label of a session format.
pub fn session_format_label(format: SessionFormat, lang: Lang) -> &'static str {
    let (zh, en) = match format {
        SessionFormat::Unspecified => ("未指定", "Unspecified"),
        SessionFormat::FaceToFace => ("面对面", "Face-to-face"),
        SessionFormat::Interactive => ("心贴心", "Interactive"),
        SessionFormat::Online => ("键对键", "Online"),
    };
    lang.pick(zh, en)
}

/// The label of a key of `dimension`: a district, industry or category code, a channel name such as
/// `DEMAND_CHANNEL_VISIT`, or a unit id. Unknown keys (units, codes added after the seed) are shown
/// as they are; the empty key is "records without a value".
pub fn label(dimension: pb::Dimension, key: &str, lang: Lang) -> String {
    if key.is_empty() {
        return lang.pick("（未填写）", "(none)").to_owned();
    }
    if dimension == pb::Dimension::Channel
        && let Some(channel) = DemandChannel::from_str_name(key)
    {
        return channel_label(channel, lang).to_owned();
    }
    codes(dimension)
        .iter()
        .find(|(code, _, _)| *code == key)
        .map_or_else(|| key.to_owned(), |(_, zh, en)| lang.pick(zh, en).to_owned())
}

/// The code of a known district, industry or category named by its code, Chinese or English name, or
/// the channel name of a channel label; `None` when the name is not among the seeded ones.
pub fn code_of(dimension: pb::Dimension, name: &str) -> Option<&'static str> {
    let name = name.trim();
    if dimension == pb::Dimension::Channel {
        return CHANNELS
            .iter()
            .copied()
            .find(|c| {
                c.as_str_name().eq_ignore_ascii_case(name)
                    || channel_label(*c, Lang::Zh) == name
                    || channel_label(*c, Lang::En).eq_ignore_ascii_case(name)
            })
            .map(|c| c.as_str_name());
    }
    codes(dimension)
        .iter()
        .find(|(code, zh, en)| code.eq_ignore_ascii_case(name) || *zh == name || en.eq_ignore_ascii_case(name))
        .map(|(code, _, _)| *code)
}

/// The demand channels, without the unspecified value.
pub const CHANNELS: [DemandChannel; 7] = [
    DemandChannel::Visit,
    DemandChannel::Phone,
    DemandChannel::Online,
    DemandChannel::MonitoringPoint,
    DemandChannel::Roundtable,
    DemandChannel::Campaign,
    DemandChannel::App,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_has_labels_and_definitions_in_both_languages() {
        for m in METRICS {
            for lang in [Lang::Zh, Lang::En] {
                assert!(!metric_label(m, lang).is_empty(), "{m:?} {lang:?}");
                assert!(metric_definition(m, lang).len() > 10, "{m:?} {lang:?}");
            }
            assert_ne!(metric_label(m, Lang::Zh), metric_label(m, Lang::En), "{m:?}");
            assert!(!metric_label(m, Lang::Zh).is_ascii(), "{m:?} has a Chinese label");
            let chinese = |s: &str| s.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            assert!(!chinese(metric_definition(m, Lang::En)), "{m:?} has an English definition");
            assert!(chinese(metric_definition(m, Lang::Zh)), "{m:?} has a Chinese definition");
        }
        // Every enum value except Unspecified is listed once.
        let listed: std::collections::HashSet<i32> = METRICS.iter().map(|m| *m as i32).collect();
        assert_eq!(listed, (1..=35).collect());
        assert_eq!(metric_label(M::ResponseRate, Lang::Zh), "答复反馈率");
        assert_eq!(metric_key(M::ResponseRate), "response_rate");
    }

    #[test]
    fn measures_and_sections_follow_the_contract() {
        assert_eq!(measure(M::ResponseRate), Measure::Rate);
        assert_eq!(measure(M::HandlingTimeP90), Measure::Seconds);
        assert_eq!(measure(M::InterestReduced), Measure::Fen);
        assert_eq!(measure(M::CasesAssigned), Measure::Count);
        assert_eq!(section(M::CampaignPosts), Section::Hear);
        assert_eq!(section(M::InstructionRate), Section::Consult);
        assert_eq!(section(M::RectificationsVerified), Section::Supervise);
        assert_eq!(section(M::ProblemsSolved), Section::Results);
    }

    #[test]
    fn keys_are_labelled_and_unknown_keys_fall_back_to_themselves() {
        assert_eq!(label(pb::Dimension::District, "dinghai", Lang::Zh), "定海区");
        assert_eq!(label(pb::Dimension::District, "dinghai", Lang::En), "Dinghai District");
        assert_eq!(label(pb::Dimension::Industry, "ocean_fishing", Lang::Zh), "远洋渔业");
        assert_eq!(label(pb::Dimension::Category, "finance_credit", Lang::En), "Finance and credit");
        assert_eq!(label(pb::Dimension::Channel, "DEMAND_CHANNEL_VISIT", Lang::Zh), "上门走访");
        assert_eq!(label(pb::Dimension::Unit, "org-jxj", Lang::Zh), "org-jxj");
        assert_eq!(label(pb::Dimension::District, "new_area", Lang::En), "new_area");
        assert_eq!(label(pb::Dimension::District, "", Lang::Zh), "（未填写）");
        assert_eq!(code_of(pb::Dimension::District, "普陀区"), Some("putuo"));
        assert_eq!(code_of(pb::Dimension::Channel, "visit"), None);
        assert_eq!(code_of(pb::Dimension::Channel, "上门走访"), Some("DEMAND_CHANNEL_VISIT"));
        assert_eq!(code_of(pb::Dimension::Industry, "Tourism"), Some("tourism"));
        assert_eq!(session_format_label(SessionFormat::Interactive, Lang::Zh), "心贴心");
    }

    #[test]
    fn languages_are_zh_by_default_and_en_on_request() {
        assert_eq!(Lang::parse(""), Ok(Lang::Zh));
        assert_eq!(Lang::parse("zh"), Ok(Lang::Zh));
        assert_eq!(Lang::parse("zh-CN"), Ok(Lang::Zh));
        assert_eq!(Lang::parse("EN"), Ok(Lang::En));
        assert_eq!(Lang::parse("fr").expect_err("unsupported").field, "language_code");
    }
}
