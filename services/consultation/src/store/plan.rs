//! Stored annual plans (年度重大协商计划).

use chrono::{DateTime, Utc};
use tingjian_runtime::paging::{Page, PageRequest};
use tingjian_runtime::storage::create_once;
use tingjian_runtime::{ServiceError, on_pool, on_tx};

use super::Store;
use super::topic::now;

use crate::domain::plan::{NewPlan, Plan};

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: String,
    year: i32,
    title: String,
    description: String,
    topic_count: i64,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

impl From<PlanRow> for Plan {
    fn from(row: PlanRow) -> Self {
        Plan {
            id: row.id,
            fields: NewPlan { year: row.year, title: row.title, description: row.description },
            topic_count: row.topic_count,
            version: row.version,
            created_by: row.created_by,
            create_time: row.create_time,
            update_time: row.update_time,
        }
    }
}

const SELECT_PLAN: &str = "SELECT p.id, p.year, p.title, p.description, \
     (SELECT COUNT(*) FROM topic t WHERE t.plan_id = p.id) AS topic_count, \
     p.version, p.created_by, p.create_time, p.update_time FROM plan p";

fn plan_not_found(id: &str) -> ServiceError {
    ServiceError::NotFound { resource: "plan", id: id.to_owned() }
}

impl Store {
    /// Creates a year's plan. A repeated `request_id` returns the first call's plan; a second plan
    /// for the same year is ALREADY_EXISTS.
    pub async fn create_plan(
        &self,
        new: &NewPlan,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Plan, ServiceError> {
        let id = tingjian_runtime::wire::new_id();
        let now = now();
        let insert = async {
            on_pool!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO plan (id, year, title, description, request_id, created_by, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(&id)
            .bind(new.year)
            .bind(&new.title)
            .bind(&new.description)
            .bind(request_id)
            .bind(actor)
            .bind(now)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
            })?;
            self.get_plan(&id).await
        };
        create_once(
            request_id,
            |request_id| async move { self.plan_where("p.request_id", &request_id).await },
            insert,
            || ServiceError::AlreadyExists(format!("the plan for {} already exists", new.year)),
        )
        .await
    }

    async fn plan_where(&self, column: &'static str, value: &str) -> Result<Option<Plan>, ServiceError> {
        let sql = format!("{SELECT_PLAN} WHERE {column} = $1");
        let row: Option<PlanRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(value).fetch_optional(pool).await
        })?;
        Ok(row.map(Plan::from))
    }

    /// A plan by id, with its number of topics.
    pub async fn get_plan(&self, id: &str) -> Result<Plan, ServiceError> {
        self.plan_where("p.id", id).await?.ok_or_else(|| plan_not_found(id))
    }

    /// Plans, newest year first (only `year`'s when given), one page.
    pub async fn list_plans(&self, year: Option<i32>, page: &PageRequest) -> Result<Page<Plan>, ServiceError> {
        let after = match &page.after {
            Some(after) => Some(
                i32::try_from(PageRequest::int_key(after, 0)?)
                    .map_err(|_| ServiceError::invalid("page_token", "is not a token of this list"))?,
            ),
            None => None,
        };
        let sql = format!(
            "{SELECT_PLAN} WHERE ($1 IS NULL OR p.year = $1) AND ($2 IS NULL OR p.year < $2) \
             ORDER BY p.year DESC LIMIT {}",
            page.size + 1
        );
        let rows: Vec<PlanRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(year).bind(after).fetch_all(pool).await
        })?;
        let page = Page::from_rows(rows, page.size, |r| vec![r.year.to_string()]);
        Ok(Page { items: page.items.into_iter().map(Plan::from).collect(), next: page.next })
    }

    /// Changes the fields of `paths` (title, description) to their values in `new`; ABORTED when
    /// `expected` is stale.
    pub async fn update_plan(
        &self,
        id: &str,
        new: &NewPlan,
        paths: &[&str],
        expected: Option<i64>,
    ) -> Result<Plan, ServiceError> {
        let mut tx = self.db.begin().await?;
        let version: Option<i64> = on_tx!(&mut tx, conn => {
            sqlx::query_scalar("UPDATE plan SET version = version + 1, update_time = $2 WHERE id = $1 RETURNING version")
                .bind(id)
                .bind(now())
                .fetch_optional(&mut **conn)
                .await
        })?;
        let version = version.ok_or_else(|| plan_not_found(id))?;
        if let Some(expected) = expected
            && expected != version - 1
        {
            return Err(ServiceError::Aborted(format!(
                "plan {id} has changed since it was read (its etag is now v{}); re-read it and retry",
                version - 1
            )));
        }
        for path in paths {
            let (sql, value) = match *path {
                "title" => ("UPDATE plan SET title = $2 WHERE id = $1", &new.title),
                "description" => ("UPDATE plan SET description = $2 WHERE id = $1", &new.description),
                other => return Err(ServiceError::internal(format!("plan field {other} cannot be updated"))),
            };
            on_tx!(&mut tx, conn => {
                sqlx::query(sql).bind(id).bind(value).execute(&mut **conn).await.map(|_| ())
            })?;
        }
        tx.commit().await?;
        self.get_plan(id).await
    }
}
