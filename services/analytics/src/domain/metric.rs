//! The counters the rollups keep. Each is a row key `metric` of the `rollup` table, summed over the day
//! buckets of a period; the figures of the scorecard are these counters or ratios of two of them. Each
//! counter carries some of the five dimensions (district, industry, category, unit, channel); the others
//! are always [`ALL`](super::bucket::ALL) in its rows.

/// A dimension of the rollup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dim {
    /// District code of the enterprise.
    District,
    /// Industry code of the enterprise.
    Industry,
    /// Demand category code.
    Category,
    /// Handling unit organisation id.
    Unit,
    /// Demand channel enum name, e.g. `DEMAND_CHANNEL_VISIT`.
    Channel,
}

/// District and industry.
pub const ENTERPRISE_DIMS: &[Dim] = &[Dim::District, Dim::Industry];
/// The dimensions of demands.
pub const DEMAND_DIMS: &[Dim] = &[Dim::District, Dim::Industry, Dim::Category, Dim::Channel];
/// The dimensions of cases and benefits.
pub const CASE_DIMS: &[Dim] = &[Dim::District, Dim::Industry, Dim::Category, Dim::Unit];
/// Category only.
pub const CATEGORY_DIMS: &[Dim] = &[Dim::Category];
/// Unit only.
pub const UNIT_DIMS: &[Dim] = &[Dim::Unit];
/// None.
pub const NO_DIMS: &[Dim] = &[];

/// Demands submitted, at the month of submission. Demand dims.
pub const DEMANDS_RECEIVED: &str = "demands_received";
/// Demands that first joined a common issue, at that month. Demand dims.
pub const DEMANDS_MERGED: &str = "demands_merged";
/// Common issues formed, at the month formed. Category.
pub const COMMON_ISSUES_FORMED: &str = "common_issues_formed";
/// Enterprises registered, at the day of registration (weekly-contact due weeks). Enterprise dims.
pub const ENTERPRISES_REGISTERED: &str = "enterprises_registered";
/// Enterprise-weeks with a contact, at the week's Sunday, for enterprises registered before the week's
/// Monday. Enterprise dims.
pub const CONTACT_WEEKS: &str = "contact_weeks";
/// Distinct enterprises contacted in a month, at the month's first day. Enterprise dims.
pub const ENTERPRISES_CONTACTED_MONTH: &str = "enterprises_contacted_month";
/// Distinct enterprises contacted in a quarter, at the quarter's first day. Enterprise dims.
pub const ENTERPRISES_CONTACTED_QUARTER: &str = "enterprises_contacted_quarter";
/// Distinct enterprises contacted in a year, at the year's first day. Enterprise dims.
pub const ENTERPRISES_CONTACTED_YEAR: &str = "enterprises_contacted_year";
/// Contacts, at the month of the contact time. Enterprise dims (from the contact).
pub const CONTACTS_LOGGED: &str = "contacts_logged";
/// Person-times briefed, at the month of the contact time. Enterprise dims.
pub const BRIEFING_PERSON_TIMES: &str = "briefing_person_times";
/// Distinct campaign post authors in a month / quarter / year, at its first day. No dims.
pub const CAMPAIGN_PARTICIPANTS_MONTH: &str = "campaign_participants_month";
/// See [`CAMPAIGN_PARTICIPANTS_MONTH`].
pub const CAMPAIGN_PARTICIPANTS_QUARTER: &str = "campaign_participants_quarter";
/// See [`CAMPAIGN_PARTICIPANTS_MONTH`].
pub const CAMPAIGN_PARTICIPANTS_YEAR: &str = "campaign_participants_year";
/// Campaign posts, at the month posted. No dims.
pub const CAMPAIGN_POSTS: &str = "campaign_posts";
/// Face-to-face sessions closed, at the month closed. No dims.
pub const SESSIONS_FACE_TO_FACE: &str = "sessions_face_to_face";
/// Interactive sessions closed. No dims.
pub const SESSIONS_INTERACTIVE: &str = "sessions_interactive";
/// Online sessions closed. No dims.
pub const SESSIONS_ONLINE: &str = "sessions_online";
/// Distinct speaking entrepreneurs of each session closed, summed, at the month closed. No dims.
pub const ENTREPRENEUR_SPEAKERS: &str = "entrepreneur_speakers";
/// Suggestions submitted, at the month. Category.
pub const SUGGESTIONS_SUBMITTED: &str = "suggestions_submitted";
/// Special reports sent, at the month sent. Category.
pub const SPECIAL_REPORTS_SENT: &str = "special_reports_sent";
/// Special reports sent with at least one instruction, at the month sent. Category.
pub const SPECIAL_REPORTS_INSTRUCTED: &str = "special_reports_instructed";
/// Cohort cases (first dispatched), at the cohort month. Case dims; likewise every `cases_*` counter.
pub const CASES_ASSIGNED: &str = "cases_assigned";
/// Cohort cases with at least one reply.
pub const CASES_REPLIED: &str = "cases_replied";
/// Cohort cases that replied or reached their deadline (on-time denominator).
pub const CASES_DUE: &str = "cases_due";
/// Cohort cases whose first reply was on time.
pub const CASES_ON_TIME: &str = "cases_on_time";
/// Cohort cases whose latest reply is class A.
pub const CASES_RESOLVED: &str = "cases_resolved";
/// Cohort cases evaluated.
pub const CASES_EVALUATED: &str = "cases_evaluated";
/// Cohort cases whose latest evaluation is satisfied or basically satisfied.
pub const CASES_SATISFIED: &str = "cases_satisfied";
/// Cohort cases evaluated and reopened at least once.
pub const CASES_REOPENED: &str = "cases_reopened";
/// Histogram of dispatch-to-first-reply times of cohort cases replied, `slot` = handling slot.
pub const HANDLING_TIME: &str = "handling_time";
/// Cases that became long-running, at the month they did. Case dims.
pub const LONG_RUNNING_STARTED: &str = "long_running_started";
/// Long-running cases closed, at the month closed. Case dims.
pub const LONG_RUNNING_ENDED: &str = "long_running_ended";
/// Required (case, quarter) pairs, at the first day of the quarter's last month. Case dims.
pub const FOLLOW_UP_REQUIRED: &str = "follow_up_required";
/// Required (case, quarter) pairs with a follow-up, likewise.
pub const FOLLOW_UP_DONE: &str = "follow_up_done";
/// Rectification orders issued, at the month. Unit (the department).
pub const RECTIFICATIONS_ISSUED: &str = "rectifications_issued";
/// Rectification orders verified as passed, at the month. Unit.
pub const RECTIFICATIONS_VERIFIED: &str = "rectifications_verified";
/// Problems solved, as `problems_solved:<benefit category>`, at the month recorded. Case dims.
pub const PROBLEMS_SOLVED_PREFIX: &str = "problems_solved:";
/// Interest reduced, fen, at the month recorded. Case dims.
pub const INTEREST_REDUCED: &str = "interest_reduced";
/// Subsidies, fen. Case dims.
pub const SUBSIDIES: &str = "subsidies";
/// Fees waived, fen. Case dims.
pub const FEES_WAIVED: &str = "fees_waived";
/// Other money, fen. Case dims.
pub const OTHER_MONEY: &str = "other_money";

/// The rollup key of problems solved in a benefit category.
pub fn problems_solved(category: &str) -> String {
    format!("{PROBLEMS_SOLVED_PREFIX}{category}")
}
