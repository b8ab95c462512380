//! What the similar-demand engine reads from the intake store: the open demands and the active common
//! issues (with their members' titles) its index is built from, page by page at start, by id after a
//! change, and by update time to catch the changes other replicas made.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use tingjian_runtime::{ServiceError, on_pool};

use super::{Arg, Store, placeholders};
use crate::domain::common_issue::CommonIssueStatus;
use crate::domain::demand::DemandStatus;

/// A demand as the index needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IndexedDemand {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
    /// Category code.
    pub category: String,
    /// DemandStatus number.
    pub status: i32,
    /// Its common issue, if any.
    pub common_issue_id: Option<String>,
    /// Its enterprise.
    pub enterprise_id: Option<String>,
    /// Revision.
    pub version: i64,
    /// Last change.
    pub update_time: DateTime<Utc>,
}

impl IndexedDemand {
    /// Whether the index should hold it: an open demand (see [`DemandStatus::OPEN`]).
    pub fn is_open(&self) -> bool {
        DemandStatus::from_i32(self.status).is_some_and(DemandStatus::is_open)
    }

    /// The text the index analyses: title, then body.
    pub fn indexed_text(&self) -> String {
        format!("{}。{}", self.title, self.text)
    }
}

/// A common issue as the index needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IndexedIssue {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// Category code.
    pub category: String,
    /// CommonIssueStatus number.
    pub status: i32,
    /// Revision.
    pub version: i64,
    /// Last change.
    pub update_time: DateTime<Utc>,
    /// Titles of its member demands, in joining order.
    #[sqlx(skip)]
    pub member_titles: Vec<String>,
}

impl IndexedIssue {
    /// Whether the index should hold it: open, adopted or assigned (not closed or dissolved).
    pub fn is_active(&self) -> bool {
        matches!(
            CommonIssueStatus::from_i32(self.status),
            Some(CommonIssueStatus::Open | CommonIssueStatus::Adopted | CommonIssueStatus::Assigned)
        )
    }

    /// The text the index analyses: title, description and the member demands' titles.
    pub fn indexed_text(&self) -> String {
        let mut text = format!("{}。{}", self.title, self.description);
        for title in &self.member_titles {
            text.push('。');
            text.push_str(title);
        }
        text
    }
}

const DEMAND_COLUMNS: &str =
    "id, title, text, category, status, common_issue_id, enterprise_id, version, update_time FROM demand";
const ISSUE_COLUMNS: &str = "id, title, description, category, status, version, update_time FROM common_issue";
/// Ids bound at most in one `IN (…)` list.
const IDS_PER_QUERY: usize = 500;

impl Store {
    /// Open demands with ids after `after` (all when `None`), by id, at most `limit`.
    pub async fn open_demands_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<IndexedDemand>, ServiceError> {
        let open: Vec<Arg> = DemandStatus::OPEN.iter().map(|s| Arg::Int(s.as_i32())).collect();
        let statuses = (2..2 + open.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
        let sql = format!(
            "SELECT {DEMAND_COLUMNS} WHERE id > $1 AND status IN ({statuses}) ORDER BY id LIMIT {}",
            limit.max(1)
        );
        let mut args = vec![Arg::Text(after.unwrap_or("").to_owned())];
        args.extend(open);
        Ok(
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as::<_, IndexedDemand>(&sql), &args).fetch_all(pool).await)?,
        )
    }

    /// Active common issues with ids after `after`, by id, at most `limit`, with their members' titles.
    pub async fn active_issues_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<IndexedIssue>, ServiceError> {
        let sql = format!(
            "SELECT {ISSUE_COLUMNS} WHERE id > $1 AND status IN ($2, $3, $4) ORDER BY id LIMIT {}",
            limit.max(1)
        );
        let args = [
            Arg::Text(after.unwrap_or("").to_owned()),
            Arg::Int(CommonIssueStatus::Open.as_i32()),
            Arg::Int(CommonIssueStatus::Adopted.as_i32()),
            Arg::Int(CommonIssueStatus::Assigned.as_i32()),
        ];
        let mut issues: Vec<IndexedIssue> = on_pool!(&self.db, pool => bind_all!(sqlx::query_as::<_, IndexedIssue>(&sql), &args).fetch_all(pool).await)?;
        self.attach_member_titles(&mut issues).await?;
        Ok(issues)
    }

    /// The demands with these ids (whatever their status).
    pub async fn demands_for_index(&self, ids: &[String]) -> Result<Vec<IndexedDemand>, ServiceError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!("SELECT {DEMAND_COLUMNS} WHERE id IN ({})", placeholders(1, chunk.len()));
            let args: Vec<Arg> = chunk.iter().map(|id| Arg::Text(id.clone())).collect();
            let rows: Vec<IndexedDemand> = on_pool!(&self.db, pool => bind_all!(sqlx::query_as::<_, IndexedDemand>(&sql), &args).fetch_all(pool).await)?;
            out.extend(rows);
        }
        Ok(out)
    }

    /// The common issues with these ids (whatever their status), with their members' titles.
    pub async fn issues_for_index(&self, ids: &[String]) -> Result<Vec<IndexedIssue>, ServiceError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!("SELECT {ISSUE_COLUMNS} WHERE id IN ({})", placeholders(1, chunk.len()));
            let args: Vec<Arg> = chunk.iter().map(|id| Arg::Text(id.clone())).collect();
            let rows: Vec<IndexedIssue> = on_pool!(&self.db, pool => bind_all!(sqlx::query_as::<_, IndexedIssue>(&sql), &args).fetch_all(pool).await)?;
            out.extend(rows);
        }
        self.attach_member_titles(&mut out).await?;
        Ok(out)
    }

    /// Demands changed at or after `since` (whatever their status), oldest change first, at most
    /// `limit`, resuming after (`update_time`, `id`) when given.
    pub async fn demands_changed_since(
        &self,
        since: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &str)>,
        limit: usize,
    ) -> Result<Vec<IndexedDemand>, ServiceError> {
        let (clause, args) = changed_clause(since, after);
        let sql = format!("SELECT {DEMAND_COLUMNS} WHERE {clause} ORDER BY update_time, id LIMIT {}", limit.max(1));
        Ok(
            on_pool!(&self.db, pool => bind_all!(sqlx::query_as::<_, IndexedDemand>(&sql), &args).fetch_all(pool).await)?,
        )
    }

    /// Common issues changed at or after `since`, like [`Store::demands_changed_since`].
    pub async fn issues_changed_since(
        &self,
        since: DateTime<Utc>,
        after: Option<(DateTime<Utc>, &str)>,
        limit: usize,
    ) -> Result<Vec<IndexedIssue>, ServiceError> {
        let (clause, args) = changed_clause(since, after);
        let sql = format!("SELECT {ISSUE_COLUMNS} WHERE {clause} ORDER BY update_time, id LIMIT {}", limit.max(1));
        let mut rows: Vec<IndexedIssue> = on_pool!(&self.db, pool => bind_all!(sqlx::query_as::<_, IndexedIssue>(&sql), &args).fetch_all(pool).await)?;
        self.attach_member_titles(&mut rows).await?;
        Ok(rows)
    }

    async fn attach_member_titles(&self, issues: &mut [IndexedIssue]) -> Result<(), ServiceError> {
        let ids: Vec<String> = issues.iter().map(|i| i.id.clone()).collect();
        let mut titles: HashMap<String, Vec<String>> = HashMap::new();
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT m.common_issue_id, d.title FROM common_issue_member m JOIN demand d ON d.id = m.demand_id \
                 WHERE m.common_issue_id IN ({}) ORDER BY m.common_issue_id, m.position",
                placeholders(1, chunk.len())
            );
            let args: Vec<Arg> = chunk.iter().map(|id| Arg::Text(id.clone())).collect();
            let rows: Vec<(String, String)> = on_pool!(&self.db, pool => bind_all!(sqlx::query_as::<_, (String, String)>(&sql), &args).fetch_all(pool).await)?;
            for (issue, title) in rows {
                titles.entry(issue).or_default().push(title);
            }
        }
        for issue in issues {
            issue.member_titles = titles.remove(&issue.id).unwrap_or_default();
        }
        Ok(())
    }
}

fn changed_clause(since: DateTime<Utc>, after: Option<(DateTime<Utc>, &str)>) -> (String, Vec<Arg>) {
    match after {
        None => ("update_time >= $1".to_owned(), vec![Arg::Time(since)]),
        Some((time, id)) => (
            "update_time >= $1 AND (update_time > $2 OR (update_time = $2 AND id > $3))".to_owned(),
            vec![Arg::Time(since), Arg::Time(time), Arg::Text(id.to_owned())],
        ),
    }
}
