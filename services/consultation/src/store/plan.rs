//! Stored annual plans (年度重大协商计划).

use chrono::{DateTime, Utc};
use tingjian_runtime::storage::create_once;
use tingjian_runtime::{ServiceError, on_pool};

use super::Store;

use crate::domain::plan::{NewPlan, Plan};

#[derive(sqlx::FromRow)]
struct PlanRow {
    id: String,
    year: i32,
    title: String,
    description: String,
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
            version: row.version,
            created_by: row.created_by,
            create_time: row.create_time,
            update_time: row.update_time,
        }
    }
}

const SELECT_PLAN: &str =
    "SELECT id, year, title, description, version, created_by, create_time, update_time FROM plan";

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
        let now = Utc::now();
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
            |request_id| async move { self.plan_where("request_id", &request_id).await },
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

    /// A plan by id.
    pub async fn get_plan(&self, id: &str) -> Result<Plan, ServiceError> {
        self.plan_where("id", id).await?.ok_or_else(|| ServiceError::NotFound { resource: "plan", id: id.to_owned() })
    }
}
