//! The fact rows events merge into, their merge rules and their reads and writes.
//!
//! Every rule gives the same row whatever order the events arrive in: descriptive fields are
//! last-writer-wins by [`Stamp`] (event time, then event id), "first" times take the minimum, "latest"
//! times the maximum, flags once set stay set.

use chrono::{DateTime, Utc};
use tingjian_runtime::on_tx;
use tingjian_runtime::storage::Tx;

/// An instant.
pub type Time = DateTime<Utc>;

/// Where an event sits in the total order of events: its time, then its id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// The envelope's time.
    pub time: Time,
    /// The envelope's id.
    pub id: String,
}

impl Stamp {
    /// Whether this stamp is later than the stored (`time`, `id`) of a field; an unset field is older
    /// than any stamp.
    pub fn newer_than(&self, time: Option<Time>, id: Option<&str>) -> bool {
        match time {
            None => true,
            Some(t) => (&self.time, self.id.as_str()) > (&t, id.unwrap_or("")),
        }
    }
}

/// The earlier of a stored time and a new one.
pub fn min_time(current: Option<Time>, new: Time) -> Option<Time> {
    Some(current.map_or(new, |c| c.min(new)))
}

/// The later of a stored time and a new one.
pub fn max_time(current: Option<Time>, new: Time) -> Option<Time> {
    Some(current.map_or(new, |c| c.max(new)))
}

/// A value bound to a query, whichever the backend.
#[derive(Debug, Clone)]
pub enum Value {
    /// TEXT.
    Text(Option<String>),
    /// BIGINT.
    Big(Option<i64>),
    /// INTEGER.
    Int(Option<i32>),
    /// BOOLEAN.
    Flag(Option<bool>),
    /// An instant (TIMESTAMPTZ, or TEXT on SQLite).
    Time(Option<Time>),
    /// BYTEA / BLOB.
    Bytes(Vec<u8>),
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Self::Text(Some(v.to_owned()))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Self::Text(Some(v))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Self::Text(v)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Self::Big(Some(v))
    }
}

impl From<Option<i32>> for Value {
    fn from(v: Option<i32>) -> Self {
        Self::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Self::Int(Some(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Self::Flag(Some(v))
    }
}

impl From<Option<bool>> for Value {
    fn from(v: Option<bool>) -> Self {
        Self::Flag(v)
    }
}

impl From<Time> for Value {
    fn from(v: Time) -> Self {
        Self::Time(Some(v))
    }
}

impl From<Option<Time>> for Value {
    fn from(v: Option<Time>) -> Self {
        Self::Time(v)
    }
}

/// Binds `values`, in order, to a query of whichever backend the surrounding `on_tx!` arm is for.
macro_rules! bind_values {
    ($query:expr, $values:expr) => {{
        let mut query = $query;
        for value in $values {
            query = match value {
                Value::Text(v) => query.bind(v),
                Value::Big(v) => query.bind(v),
                Value::Int(v) => query.bind(v),
                Value::Flag(v) => query.bind(v),
                Value::Time(v) => query.bind(v),
                Value::Bytes(v) => query.bind(v),
            };
        }
        query
    }};
}
pub(crate) use bind_values;

/// Runs one statement with `values`; returns the rows it changed.
pub async fn execute(tx: &mut Tx, sql: &str, values: Vec<Value>) -> Result<u64, sqlx::Error> {
    on_tx!(tx, conn => {
        let query = bind_values!(sqlx::query(sql), values);
        query.execute(&mut **conn).await.map(|r| r.rows_affected())
    })
}

/// `INSERT INTO table (columns) VALUES (…) ON CONFLICT (key) DO UPDATE SET` every other column.
fn upsert_sql(table: &str, key: &[&str], columns: &[&str]) -> String {
    let all: Vec<&str> = key.iter().chain(columns).copied().collect();
    let placeholders: Vec<String> = (1..=all.len()).map(|i| format!("${i}")).collect();
    let sets: Vec<String> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        all.join(", "),
        placeholders.join(", "),
        key.join(", "),
        sets.join(", ")
    )
}

/// `INSERT … ON CONFLICT DO NOTHING`: for facts that never change once known.
fn insert_once_sql(table: &str, columns: &[&str]) -> String {
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    format!("INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING", columns.join(", "), placeholders.join(", "))
}

// ---------------------------------------------------------------------------------------------------
// Enterprises.

/// An enterprise's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnterpriseRow {
    pub name: Option<String>,
    pub district: Option<String>,
    pub industry: Option<String>,
    pub monitoring_point: Option<bool>,
    pub registered_time: Option<Time>,
    pub info_time: Option<Time>,
    pub info_id: Option<String>,
}

/// The descriptive fields an enterprise event carries.
#[derive(Debug, Clone)]
pub struct EnterpriseInfo {
    pub name: String,
    pub district: String,
    pub industry: String,
    pub monitoring_point: bool,
}

impl EnterpriseRow {
    /// Registered at `at` (the earliest registration counts) with `info`.
    pub fn registered(&mut self, at: &Stamp, info: EnterpriseInfo) {
        self.registered_time = min_time(self.registered_time, at.time);
        self.described(at, info);
    }

    /// Described by `info` as of `at` (last writer wins).
    pub fn described(&mut self, at: &Stamp, info: EnterpriseInfo) {
        if at.newer_than(self.info_time, self.info_id.as_deref()) {
            self.name = Some(info.name);
            self.district = Some(info.district);
            self.industry = Some(info.industry);
            self.monitoring_point = Some(info.monitoring_point);
            self.info_time = Some(at.time);
            self.info_id = Some(at.id.clone());
        }
    }
}

const ENTERPRISE_COLUMNS: &[&str] =
    &["name", "district", "industry", "monitoring_point", "registered_time", "info_time", "info_id"];

type EnterpriseTuple =
    (Option<String>, Option<String>, Option<String>, Option<bool>, Option<Time>, Option<Time>, Option<String>);

/// The enterprise's row, if any.
pub async fn load_enterprise(tx: &mut Tx, id: &str) -> Result<Option<EnterpriseRow>, sqlx::Error> {
    let sql = "SELECT name, district, industry, monitoring_point, registered_time, info_time, info_id \
               FROM enterprise_fact WHERE enterprise_id = $1";
    let row: Option<EnterpriseTuple> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|(name, district, industry, monitoring_point, registered_time, info_time, info_id)| EnterpriseRow {
        name,
        district,
        industry,
        monitoring_point,
        registered_time,
        info_time,
        info_id,
    }))
}

/// Writes the enterprise's row.
pub async fn save_enterprise(tx: &mut Tx, id: &str, row: &EnterpriseRow) -> Result<(), sqlx::Error> {
    let values = vec![
        id.into(),
        row.name.clone().into(),
        row.district.clone().into(),
        row.industry.clone().into(),
        row.monitoring_point.into(),
        row.registered_time.into(),
        row.info_time.into(),
        row.info_id.clone().into(),
    ];
    execute(tx, &upsert_sql("enterprise_fact", &["enterprise_id"], ENTERPRISE_COLUMNS), values).await.map(|_| ())
}

/// A contact logged (immutable once known).
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRow {
    pub enterprise_id: String,
    pub contact_time: Time,
    pub person_times: i64,
    pub district: String,
    pub industry: String,
}

/// Records a contact, unless it is known already.
pub async fn insert_contact(tx: &mut Tx, id: &str, row: &ContactRow) -> Result<(), sqlx::Error> {
    let sql = insert_once_sql(
        "contact_fact",
        &["contact_id", "enterprise_id", "contact_time", "person_times", "district", "industry"],
    );
    let values = vec![
        id.into(),
        row.enterprise_id.clone().into(),
        row.contact_time.into(),
        row.person_times.into(),
        row.district.clone().into(),
        row.industry.clone().into(),
    ];
    execute(tx, &sql, values).await.map(|_| ())
}

/// The contact's row, if any.
pub async fn load_contact(tx: &mut Tx, id: &str) -> Result<Option<ContactRow>, sqlx::Error> {
    let sql = "SELECT enterprise_id, contact_time, person_times, district, industry FROM contact_fact \
               WHERE contact_id = $1";
    let row: Option<(String, Time, i64, String, String)> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|(enterprise_id, contact_time, person_times, district, industry)| ContactRow {
        enterprise_id,
        contact_time,
        person_times,
        district,
        industry,
    }))
}

/// Every contact of an enterprise, with its id.
pub async fn load_contacts_of(tx: &mut Tx, enterprise_id: &str) -> Result<Vec<(String, ContactRow)>, sqlx::Error> {
    let sql = "SELECT contact_id, enterprise_id, contact_time, person_times, district, industry FROM contact_fact \
               WHERE enterprise_id = $1";
    let rows: Vec<(String, String, Time, i64, String, String)> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(enterprise_id).fetch_all(&mut **conn).await)?;
    Ok(rows
        .into_iter()
        .map(|(id, enterprise_id, contact_time, person_times, district, industry)| {
            (id, ContactRow { enterprise_id, contact_time, person_times, district, industry })
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------------
// Demands and common issues.

/// A demand's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemandRow {
    pub enterprise_id: Option<String>,
    pub category: Option<String>,
    pub channel: Option<String>,
    pub district: Option<String>,
    pub industry: Option<String>,
    pub submit_time: Option<Time>,
    pub status: Option<i32>,
    pub status_time: Option<Time>,
    pub status_id: Option<String>,
    pub category_time: Option<Time>,
    pub category_id: Option<String>,
    pub first_merged_time: Option<Time>,
}

/// The reporting dimensions a demand event carries.
#[derive(Debug, Clone)]
pub struct DemandInfo {
    pub enterprise_id: String,
    pub category: String,
    pub channel: String,
    pub district: String,
    pub industry: String,
}

impl DemandRow {
    /// Submitted at `at`: the submission's dimensions are authoritative.
    pub fn submitted(&mut self, at: &Stamp, info: DemandInfo) {
        self.submit_time = min_time(self.submit_time, at.time);
        self.enterprise_id = Some(info.enterprise_id);
        self.channel = Some(info.channel);
        self.district = Some(info.district);
        self.industry = Some(info.industry);
        self.categorised(at, info.category);
    }

    /// Its category as of `at` (last writer wins).
    pub fn categorised(&mut self, at: &Stamp, category: String) {
        if at.newer_than(self.category_time, self.category_id.as_deref()) {
            self.category = Some(category);
            self.category_time = Some(at.time);
            self.category_id = Some(at.id.clone());
        }
    }

    /// Its status as of `at` (last writer wins); dimensions still unknown are taken from the event.
    pub fn status_changed(&mut self, at: &Stamp, status: i32, info: DemandInfo) {
        if at.newer_than(self.status_time, self.status_id.as_deref()) {
            self.status = Some(status);
            self.status_time = Some(at.time);
            self.status_id = Some(at.id.clone());
        }
        self.enterprise_id.get_or_insert(info.enterprise_id);
        self.category.get_or_insert(info.category);
        self.channel.get_or_insert(info.channel);
        self.district.get_or_insert(info.district);
        self.industry.get_or_insert(info.industry);
    }
}

const DEMAND_COLUMNS: &[&str] = &[
    "enterprise_id",
    "category",
    "channel",
    "district",
    "industry",
    "submit_time",
    "status",
    "status_time",
    "status_id",
    "category_time",
    "category_id",
    "first_merged_time",
];

type DemandTuple = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<Time>,
    Option<i32>,
    Option<Time>,
    Option<String>,
    Option<Time>,
    Option<String>,
    Option<Time>,
);

/// The demand's row, if any.
pub async fn load_demand(tx: &mut Tx, id: &str) -> Result<Option<DemandRow>, sqlx::Error> {
    let sql = format!("SELECT {} FROM demand_fact WHERE demand_id = $1", DEMAND_COLUMNS.join(", "));
    let row: Option<DemandTuple> = on_tx!(tx, conn => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|r| DemandRow {
        enterprise_id: r.0,
        category: r.1,
        channel: r.2,
        district: r.3,
        industry: r.4,
        submit_time: r.5,
        status: r.6,
        status_time: r.7,
        status_id: r.8,
        category_time: r.9,
        category_id: r.10,
        first_merged_time: r.11,
    }))
}

/// Writes the demand's row.
pub async fn save_demand(tx: &mut Tx, id: &str, row: &DemandRow) -> Result<(), sqlx::Error> {
    let values = vec![
        id.into(),
        row.enterprise_id.clone().into(),
        row.category.clone().into(),
        row.channel.clone().into(),
        row.district.clone().into(),
        row.industry.clone().into(),
        row.submit_time.into(),
        row.status.into(),
        row.status_time.into(),
        row.status_id.clone().into(),
        row.category_time.into(),
        row.category_id.clone().into(),
        row.first_merged_time.into(),
    ];
    execute(tx, &upsert_sql("demand_fact", &["demand_id"], DEMAND_COLUMNS), values).await.map(|_| ())
}

/// A common issue's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommonIssueRow {
    pub category: Option<String>,
    pub formed_time: Option<Time>,
    pub members_time: Option<Time>,
    pub members_id: Option<String>,
}

impl CommonIssueRow {
    /// Formed at `at` with `category`: the earliest formation counts, with its category.
    pub fn formed(&mut self, at: &Stamp, category: String) {
        if self.formed_time.is_none_or(|t| at.time < t) || self.category.is_none() {
            self.category = Some(category);
        }
        self.formed_time = min_time(self.formed_time, at.time);
    }

    /// Whether a member list stamped `at` replaces the current one (and records it so).
    pub fn take_members(&mut self, at: &Stamp) -> bool {
        if at.newer_than(self.members_time, self.members_id.as_deref()) {
            self.members_time = Some(at.time);
            self.members_id = Some(at.id.clone());
            true
        } else {
            false
        }
    }
}

type CommonIssueTuple = (Option<String>, Option<Time>, Option<Time>, Option<String>);

/// The common issue's row, if any.
pub async fn load_common_issue(tx: &mut Tx, id: &str) -> Result<Option<CommonIssueRow>, sqlx::Error> {
    let sql = "SELECT category, formed_time, members_time, members_id FROM common_issue_fact \
               WHERE common_issue_id = $1";
    let row: Option<CommonIssueTuple> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|(category, formed_time, members_time, members_id)| CommonIssueRow {
        category,
        formed_time,
        members_time,
        members_id,
    }))
}

/// Writes the common issue's row.
pub async fn save_common_issue(tx: &mut Tx, id: &str, row: &CommonIssueRow) -> Result<(), sqlx::Error> {
    let sql = upsert_sql(
        "common_issue_fact",
        &["common_issue_id"],
        &["category", "formed_time", "members_time", "members_id"],
    );
    let values = vec![
        id.into(),
        row.category.clone().into(),
        row.formed_time.into(),
        row.members_time.into(),
        row.members_id.clone().into(),
    ];
    execute(tx, &sql, values).await.map(|_| ())
}

/// Replaces the members of a common issue.
pub async fn replace_members(tx: &mut Tx, issue_id: &str, demand_ids: &[String]) -> Result<(), sqlx::Error> {
    execute(tx, "DELETE FROM demand_membership WHERE common_issue_id = $1", vec![issue_id.into()]).await?;
    for demand_id in demand_ids {
        execute(
            tx,
            "INSERT INTO demand_membership (common_issue_id, demand_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            vec![issue_id.into(), demand_id.clone().into()],
        )
        .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// Campaign posts.

/// A campaign post (immutable once known).
#[derive(Debug, Clone, PartialEq)]
pub struct PostRow {
    pub campaign_id: String,
    pub author: String,
    pub post_time: Time,
    pub enterprise_id: String,
}

/// Records a post, unless it is known already.
pub async fn insert_post(tx: &mut Tx, id: &str, row: &PostRow) -> Result<(), sqlx::Error> {
    let sql = insert_once_sql("post_fact", &["post_id", "campaign_id", "author", "post_time", "enterprise_id"]);
    let values = vec![
        id.into(),
        row.campaign_id.clone().into(),
        row.author.clone().into(),
        row.post_time.into(),
        row.enterprise_id.clone().into(),
    ];
    execute(tx, &sql, values).await.map(|_| ())
}

/// The post's time, if the post is known.
pub async fn load_post_time(tx: &mut Tx, id: &str) -> Result<Option<Time>, sqlx::Error> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT post_time FROM post_fact WHERE post_id = $1")
        .bind(id)
        .fetch_optional(&mut **conn)
        .await)
}

/// The times of every post of an author.
pub async fn load_author_post_times(tx: &mut Tx, author: &str) -> Result<Vec<Time>, sqlx::Error> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT post_time FROM post_fact WHERE author = $1")
        .bind(author)
        .fetch_all(&mut **conn)
        .await)
}

// ---------------------------------------------------------------------------------------------------
// Consultation.

/// A closed session's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRow {
    pub format: i32,
    pub close_time: Time,
    pub speaker_count: i64,
}

/// Records a session closed at `close_time` in `format`: the earliest close counts, with its format.
pub async fn merge_session(tx: &mut Tx, id: &str, format: i32, close_time: Time) -> Result<(), sqlx::Error> {
    let current = load_session(tx, id).await?;
    let replace = match &current {
        None => true,
        Some(s) => (close_time, format) < (s.close_time, s.format),
    };
    if replace {
        execute(
            tx,
            "INSERT INTO session_fact (session_id, format, close_time, speaker_count) VALUES ($1, $2, $3, 0) \
             ON CONFLICT (session_id) DO UPDATE SET format = excluded.format, close_time = excluded.close_time",
            vec![id.into(), format.into(), close_time.into()],
        )
        .await?;
    }
    Ok(())
}

/// Adds the enterprises that spoke in a session and recounts them.
pub async fn add_speakers(tx: &mut Tx, id: &str, enterprise_ids: &[String]) -> Result<(), sqlx::Error> {
    for enterprise_id in enterprise_ids.iter().filter(|e| !e.is_empty()) {
        execute(
            tx,
            "INSERT INTO session_speaker (session_id, enterprise_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            vec![id.into(), enterprise_id.clone().into()],
        )
        .await?;
    }
    execute(
        tx,
        "UPDATE session_fact SET speaker_count = (SELECT count(*) FROM session_speaker WHERE session_id = $1) \
         WHERE session_id = $1",
        vec![id.into()],
    )
    .await
    .map(|_| ())
}

/// The session's row, if any.
pub async fn load_session(tx: &mut Tx, id: &str) -> Result<Option<SessionRow>, sqlx::Error> {
    let sql = "SELECT format, close_time, speaker_count FROM session_fact WHERE session_id = $1";
    let row: Option<(i32, Time, i64)> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|(format, close_time, speaker_count)| SessionRow { format, close_time, speaker_count }))
}

/// A suggestion's facts.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionRow {
    pub category: String,
    pub submit_time: Time,
}

/// Records a suggestion submitted: the earliest submission counts, with its category.
pub async fn merge_suggestion(tx: &mut Tx, id: &str, row: &SuggestionRow) -> Result<(), sqlx::Error> {
    let current = load_suggestion(tx, id).await?;
    if current.is_none_or(|c| (&row.submit_time, &row.category) < (&c.submit_time, &c.category)) {
        let sql = upsert_sql("suggestion_fact", &["suggestion_id"], &["category", "submit_time"]);
        execute(tx, &sql, vec![id.into(), row.category.clone().into(), row.submit_time.into()]).await?;
    }
    Ok(())
}

/// The suggestion's row, if any.
pub async fn load_suggestion(tx: &mut Tx, id: &str) -> Result<Option<SuggestionRow>, sqlx::Error> {
    let sql = "SELECT category, submit_time FROM suggestion_fact WHERE suggestion_id = $1";
    let row: Option<(String, Time)> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|(category, submit_time)| SuggestionRow { category, submit_time }))
}

/// A special report's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportRow {
    pub category: Option<String>,
    pub sent_time: Option<Time>,
    pub instructed: bool,
}

impl ReportRow {
    /// Sent at `time` with `category`: the earliest send counts, with its category.
    pub fn sent(&mut self, time: Time, category: String) {
        let earlier = match self.sent_time {
            None => true,
            Some(t) => time < t || (time == t && self.category.as_ref().is_none_or(|c| &category < c)),
        };
        if earlier {
            self.category = Some(category);
            self.sent_time = Some(time);
        }
    }
}

/// The report's row, if any.
pub async fn load_report(tx: &mut Tx, id: &str) -> Result<Option<ReportRow>, sqlx::Error> {
    let sql = "SELECT category, sent_time, instructed FROM special_report_fact WHERE special_report_id = $1";
    let row: Option<(Option<String>, Option<Time>, bool)> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|(category, sent_time, instructed)| ReportRow { category, sent_time, instructed }))
}

/// Writes the report's row.
pub async fn save_report(tx: &mut Tx, id: &str, row: &ReportRow) -> Result<(), sqlx::Error> {
    let sql = upsert_sql("special_report_fact", &["special_report_id"], &["category", "sent_time", "instructed"]);
    execute(tx, &sql, vec![id.into(), row.category.clone().into(), row.sent_time.into(), row.instructed.into()])
        .await
        .map(|_| ())
}

/// Records a service item delivered, unless it is known already.
pub async fn insert_delivery(tx: &mut Tx, id: &str, enterprise_id: &str, time: Time) -> Result<(), sqlx::Error> {
    let sql = insert_once_sql("delivery_fact", &["entry_id", "enterprise_id", "delivery_time"]);
    execute(tx, &sql, vec![id.into(), enterprise_id.into(), time.into()]).await.map(|_| ())
}

// ---------------------------------------------------------------------------------------------------
// Supervision.

/// A case's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseRow {
    pub enterprise_id: Option<String>,
    pub district: Option<String>,
    pub industry: Option<String>,
    pub category: Option<String>,
    pub unit_id: Option<String>,
    pub context_time: Option<Time>,
    pub context_id: Option<String>,
    pub status: Option<i32>,
    pub dispatch_time: Option<Time>,
    pub deadline_time: Option<Time>,
    pub deadline_reached: bool,
    pub first_reply_time: Option<Time>,
    pub first_reply_on_time: Option<bool>,
    pub last_reply_time: Option<Time>,
    pub last_reply_class: Option<i32>,
    pub last_eval_time: Option<Time>,
    pub last_eval_result: Option<i32>,
    pub reopened: bool,
    pub long_running_since: Option<Time>,
    pub closed_time: Option<Time>,
}

/// The facts about a case every case event carries.
#[derive(Debug, Clone, Default)]
pub struct CaseInfo {
    pub enterprise_id: String,
    pub district: String,
    pub industry: String,
    pub category: String,
    pub unit_id: String,
    pub status: i32,
    pub deadline_time: Option<Time>,
}

impl CaseRow {
    /// The case as of `at` (last writer wins).
    pub fn described(&mut self, at: &Stamp, info: CaseInfo) {
        if at.newer_than(self.context_time, self.context_id.as_deref()) {
            self.enterprise_id = Some(info.enterprise_id);
            self.district = Some(info.district);
            self.industry = Some(info.industry);
            self.category = Some(info.category);
            self.unit_id = Some(info.unit_id);
            self.status = Some(info.status);
            self.deadline_time = info.deadline_time.or(self.deadline_time);
            self.context_time = Some(at.time);
            self.context_id = Some(at.id.clone());
        }
    }

    /// First dispatched at `time` (the earliest dispatch counts).
    pub fn dispatched(&mut self, time: Time) {
        self.dispatch_time = min_time(self.dispatch_time, time);
    }

    /// Replied at `time`: the earliest reply is the first (with its on-time flag), the latest gives the
    /// result class.
    pub fn replied(&mut self, time: Time, on_time: bool, class: i32) {
        match self.first_reply_time {
            Some(t) if t < time => {}
            Some(t) if t == time => {
                self.first_reply_on_time = Some(self.first_reply_on_time.unwrap_or(false) || on_time)
            }
            _ => {
                self.first_reply_time = Some(time);
                self.first_reply_on_time = Some(on_time);
            }
        }
        if self.last_reply_time.is_none_or(|t| (time, class) > (t, self.last_reply_class.unwrap_or(0))) {
            self.last_reply_time = Some(time);
            self.last_reply_class = Some(class);
        }
    }

    /// Evaluated at `time`: the latest evaluation counts; reopened once, reopened for good.
    pub fn evaluated(&mut self, time: Time, result: i32, reopened: bool) {
        if self.last_eval_time.is_none_or(|t| (time, result) > (t, self.last_eval_result.unwrap_or(0))) {
            self.last_eval_time = Some(time);
            self.last_eval_result = Some(result);
        }
        self.reopened |= reopened;
    }

    /// Became long-running at `since` (the earliest counts).
    pub fn long_running(&mut self, since: Time) {
        self.long_running_since = min_time(self.long_running_since, since);
    }

    /// Closed at `time` (the latest close counts).
    pub fn closed(&mut self, time: Time) {
        self.closed_time = max_time(self.closed_time, time);
    }
}

const CASE_COLUMNS: &[&str] = &[
    "enterprise_id",
    "district",
    "industry",
    "category",
    "unit_id",
    "context_time",
    "context_id",
    "status",
    "dispatch_time",
    "deadline_time",
    "deadline_reached",
    "first_reply_time",
    "first_reply_on_time",
    "last_reply_time",
    "last_reply_class",
    "last_eval_time",
    "last_eval_result",
    "reopened",
    "long_running_since",
    "closed_time",
];

#[derive(sqlx::FromRow)]
struct CaseRecord {
    enterprise_id: Option<String>,
    district: Option<String>,
    industry: Option<String>,
    category: Option<String>,
    unit_id: Option<String>,
    context_time: Option<Time>,
    context_id: Option<String>,
    status: Option<i32>,
    dispatch_time: Option<Time>,
    deadline_time: Option<Time>,
    deadline_reached: bool,
    first_reply_time: Option<Time>,
    first_reply_on_time: Option<bool>,
    last_reply_time: Option<Time>,
    last_reply_class: Option<i32>,
    last_eval_time: Option<Time>,
    last_eval_result: Option<i32>,
    reopened: bool,
    long_running_since: Option<Time>,
    closed_time: Option<Time>,
}

/// The case's row, if any.
pub async fn load_case(tx: &mut Tx, id: &str) -> Result<Option<CaseRow>, sqlx::Error> {
    let sql = format!("SELECT {} FROM case_fact WHERE case_id = $1", CASE_COLUMNS.join(", "));
    let row: Option<CaseRecord> = on_tx!(tx, conn => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|r| CaseRow {
        enterprise_id: r.enterprise_id,
        district: r.district,
        industry: r.industry,
        category: r.category,
        unit_id: r.unit_id,
        context_time: r.context_time,
        context_id: r.context_id,
        status: r.status,
        dispatch_time: r.dispatch_time,
        deadline_time: r.deadline_time,
        deadline_reached: r.deadline_reached,
        first_reply_time: r.first_reply_time,
        first_reply_on_time: r.first_reply_on_time,
        last_reply_time: r.last_reply_time,
        last_reply_class: r.last_reply_class,
        last_eval_time: r.last_eval_time,
        last_eval_result: r.last_eval_result,
        reopened: r.reopened,
        long_running_since: r.long_running_since,
        closed_time: r.closed_time,
    }))
}

/// Writes the case's row.
pub async fn save_case(tx: &mut Tx, id: &str, row: &CaseRow) -> Result<(), sqlx::Error> {
    let values = vec![
        id.into(),
        row.enterprise_id.clone().into(),
        row.district.clone().into(),
        row.industry.clone().into(),
        row.category.clone().into(),
        row.unit_id.clone().into(),
        row.context_time.into(),
        row.context_id.clone().into(),
        row.status.into(),
        row.dispatch_time.into(),
        row.deadline_time.into(),
        row.deadline_reached.into(),
        row.first_reply_time.into(),
        row.first_reply_on_time.into(),
        row.last_reply_time.into(),
        row.last_reply_class.into(),
        row.last_eval_time.into(),
        row.last_eval_result.into(),
        row.reopened.into(),
        row.long_running_since.into(),
        row.closed_time.into(),
    ];
    execute(tx, &upsert_sql("case_fact", &["case_id"], CASE_COLUMNS), values).await.map(|_| ())
}

/// A case's quarter of follow-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuarterRow {
    /// e.g. `2024-Q3`.
    pub quarter: String,
    pub followed: bool,
    pub missed: bool,
}

/// Marks a case's quarter followed and/or missed (flags once set stay set).
pub async fn mark_quarter(
    tx: &mut Tx,
    case_id: &str,
    quarter: &str,
    followed: bool,
    missed: bool,
) -> Result<(), sqlx::Error> {
    execute(
        tx,
        "INSERT INTO case_quarter (case_id, quarter, followed, missed) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (case_id, quarter) DO UPDATE SET followed = (case_quarter.followed OR excluded.followed), \
         missed = (case_quarter.missed OR excluded.missed)",
        vec![case_id.into(), quarter.into(), followed.into(), missed.into()],
    )
    .await
    .map(|_| ())
}

/// The quarters of a case.
pub async fn load_quarters(tx: &mut Tx, case_id: &str) -> Result<Vec<QuarterRow>, sqlx::Error> {
    let sql = "SELECT quarter, followed, missed FROM case_quarter WHERE case_id = $1";
    let rows: Vec<(String, bool, bool)> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(case_id).fetch_all(&mut **conn).await)?;
    Ok(rows.into_iter().map(|(quarter, followed, missed)| QuarterRow { quarter, followed, missed }).collect())
}

/// A rectification order's facts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OrderRow {
    pub unit_id: Option<String>,
    pub issue_time: Option<Time>,
    pub verified_time: Option<Time>,
}

/// The order's row, if any.
pub async fn load_order(tx: &mut Tx, id: &str) -> Result<Option<OrderRow>, sqlx::Error> {
    let sql = "SELECT unit_id, issue_time, verified_time FROM rectification_fact WHERE order_id = $1";
    let row: Option<(Option<String>, Option<Time>, Option<Time>)> =
        on_tx!(tx, conn => sqlx::query_as(sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|(unit_id, issue_time, verified_time)| OrderRow { unit_id, issue_time, verified_time }))
}

/// Writes the order's row.
pub async fn save_order(tx: &mut Tx, id: &str, row: &OrderRow) -> Result<(), sqlx::Error> {
    let sql = upsert_sql("rectification_fact", &["order_id"], &["unit_id", "issue_time", "verified_time"]);
    execute(tx, &sql, vec![id.into(), row.unit_id.clone().into(), row.issue_time.into(), row.verified_time.into()])
        .await
        .map(|_| ())
}

/// A benefit recorded (immutable once known).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BenefitRow {
    pub case_id: String,
    pub enterprise_id: String,
    pub district: String,
    pub industry: String,
    pub category: String,
    pub unit_id: String,
    pub kind: i32,
    pub benefit_category: String,
    pub problems_solved: i64,
    pub amount_fen: i64,
    pub record_time: Time,
}

const BENEFIT_COLUMNS: &[&str] = &[
    "case_id",
    "enterprise_id",
    "district",
    "industry",
    "category",
    "unit_id",
    "kind",
    "benefit_category",
    "problems_solved",
    "amount_fen",
    "record_time",
];

/// Records a benefit, unless it is known already.
pub async fn insert_benefit(tx: &mut Tx, id: &str, row: &BenefitRow) -> Result<(), sqlx::Error> {
    let columns: Vec<&str> = std::iter::once("benefit_id").chain(BENEFIT_COLUMNS.iter().copied()).collect();
    let values = vec![
        id.into(),
        row.case_id.clone().into(),
        row.enterprise_id.clone().into(),
        row.district.clone().into(),
        row.industry.clone().into(),
        row.category.clone().into(),
        row.unit_id.clone().into(),
        row.kind.into(),
        row.benefit_category.clone().into(),
        row.problems_solved.into(),
        row.amount_fen.into(),
        row.record_time.into(),
    ];
    execute(tx, &insert_once_sql("benefit_fact", &columns), values).await.map(|_| ())
}

#[derive(sqlx::FromRow)]
struct BenefitRecord {
    case_id: String,
    enterprise_id: String,
    district: String,
    industry: String,
    category: String,
    unit_id: String,
    kind: i32,
    benefit_category: String,
    problems_solved: i64,
    amount_fen: i64,
    record_time: Time,
}

/// The benefit's row, if any.
pub async fn load_benefit(tx: &mut Tx, id: &str) -> Result<Option<BenefitRow>, sqlx::Error> {
    let sql = format!("SELECT {} FROM benefit_fact WHERE benefit_id = $1", BENEFIT_COLUMNS.join(", "));
    let row: Option<BenefitRecord> =
        on_tx!(tx, conn => sqlx::query_as(&sql).bind(id).fetch_optional(&mut **conn).await)?;
    Ok(row.map(|r| BenefitRow {
        case_id: r.case_id,
        enterprise_id: r.enterprise_id,
        district: r.district,
        industry: r.industry,
        category: r.category,
        unit_id: r.unit_id,
        kind: r.kind,
        benefit_category: r.benefit_category,
        problems_solved: r.problems_solved,
        amount_fen: r.amount_fen,
        record_time: r.record_time,
    }))
}

/// Records the name of a handling unit as of `time` (the latest name wins).
pub async fn label_unit(tx: &mut Tx, unit_id: &str, name: &str, time: Time) -> Result<(), sqlx::Error> {
    if unit_id.is_empty() || name.is_empty() {
        return Ok(());
    }
    let current: Option<(String, Time)> = on_tx!(tx, conn => sqlx::query_as(
        "SELECT name, label_time FROM unit_label WHERE unit_id = $1")
        .bind(unit_id)
        .fetch_optional(&mut **conn)
        .await)?;
    if current.is_none_or(|(n, t)| (time, name) > (t, n.as_str())) {
        let sql = upsert_sql("unit_label", &["unit_id"], &["name", "label_time"]);
        execute(tx, &sql, vec![unit_id.into(), name.into(), time.into()]).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str, id: &str) -> Stamp {
        Stamp { time: DateTime::parse_from_rfc3339(s).expect("instant").with_timezone(&Utc), id: id.to_owned() }
    }

    fn case_info(unit: &str) -> CaseInfo {
        CaseInfo { unit_id: unit.to_owned(), status: 1, ..CaseInfo::default() }
    }

    type Step<'a> = Box<dyn Fn(&mut CaseRow) + 'a>;

    #[test]
    fn case_merges_do_not_depend_on_order() {
        let dispatch = at("2024-03-01T02:00:00Z", "a");
        let reply = at("2024-03-05T02:00:00Z", "b");
        let second_reply = at("2024-03-09T02:00:00Z", "c");
        let steps: Vec<Step<'_>> = vec![
            Box::new(|c: &mut CaseRow| {
                c.described(&dispatch, case_info("u1"));
                c.dispatched(dispatch.time);
            }),
            Box::new(|c: &mut CaseRow| {
                c.described(&reply, case_info("u2"));
                c.replied(reply.time, true, 2);
            }),
            Box::new(|c: &mut CaseRow| {
                c.described(&second_reply, case_info("u3"));
                c.replied(second_reply.time, false, 1);
            }),
        ];
        let mut forward = CaseRow::default();
        steps.iter().for_each(|s| s(&mut forward));
        let mut backward = CaseRow::default();
        steps.iter().rev().for_each(|s| s(&mut backward));
        assert_eq!(forward, backward);
        assert_eq!(forward.unit_id.as_deref(), Some("u3"));
        assert_eq!(forward.first_reply_time, Some(reply.time));
        assert_eq!(forward.first_reply_on_time, Some(true));
        assert_eq!(forward.last_reply_class, Some(1));
        assert_eq!(forward.dispatch_time, Some(dispatch.time));
    }

    #[test]
    fn ties_in_time_are_broken_by_event_id() {
        let early = at("2024-03-01T02:00:00Z", "a");
        let late = at("2024-03-01T02:00:00Z", "b");
        let mut row = DemandRow::default();
        row.categorised(&late, "finance".to_owned());
        row.categorised(&early, "land".to_owned());
        assert_eq!(row.category.as_deref(), Some("finance"));
    }
}
