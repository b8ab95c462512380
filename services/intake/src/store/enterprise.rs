//! Enterprises in the intake store.

use chrono::{DateTime, Utc};
use tingjian_runtime::storage::create_once;
use tingjian_runtime::{ServiceError, on_pool};

use super::Store;
use crate::domain::{CreditCode, Enterprise, EnterpriseSize, NewEnterprise};

#[derive(sqlx::FromRow)]
struct EnterpriseRow {
    id: String,
    name: String,
    credit_code: String,
    district: String,
    industry: String,
    size: i32,
    monitoring_point: bool,
    description: String,
    address: String,
    version: i64,
    created_by: String,
    create_time: DateTime<Utc>,
    update_time: DateTime<Utc>,
}

impl TryFrom<EnterpriseRow> for Enterprise {
    type Error = ServiceError;

    fn try_from(row: EnterpriseRow) -> Result<Self, Self::Error> {
        let corrupt = |what: &str| ServiceError::internal(format!("stored enterprise {} has a bad {what}", row.id));
        Ok(Enterprise {
            fields: NewEnterprise {
                name: row.name.clone(),
                credit_code: CreditCode::parse(&row.credit_code).map_err(|_| corrupt("credit code"))?,
                district: row.district.clone(),
                industry: row.industry.clone(),
                size: EnterpriseSize::from_i32(row.size).ok_or_else(|| corrupt("size"))?,
                monitoring_point: row.monitoring_point,
                description: row.description.clone(),
                address: row.address.clone(),
            },
            version: row.version,
            created_by: row.created_by.clone(),
            id: row.id,
            create_time: row.create_time,
            update_time: row.update_time,
        })
    }
}

const SELECT_ENTERPRISE: &str = "SELECT id, name, credit_code, district, industry, size, monitoring_point, \
     description, address, version, created_by, create_time, update_time FROM enterprise";

impl Store {
    /// Registers an enterprise. A repeated `request_id` returns the enterprise the first call
    /// registered; a credit code already registered is ALREADY_EXISTS.
    pub async fn create_enterprise(
        &self,
        new: &NewEnterprise,
        request_id: Option<&str>,
        actor: &str,
    ) -> Result<Enterprise, ServiceError> {
        let id = tingjian_runtime::wire::new_id();
        let now = Utc::now();
        let insert = async {
            on_pool!(&self.db, pool => {
            sqlx::query(
                "INSERT INTO enterprise (id, name, credit_code, district, industry, size, monitoring_point, \
                 description, address, request_id, created_by, create_time, update_time) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(&id)
            .bind(&new.name)
            .bind(new.credit_code.as_str())
            .bind(&new.district)
            .bind(&new.industry)
            .bind(new.size.as_i32())
            .bind(new.monitoring_point)
            .bind(&new.description)
            .bind(&new.address)
            .bind(request_id)
            .bind(actor)
            .bind(now)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
            })?;
            self.get_enterprise(&id).await
        };
        create_once(
            request_id,
            |request_id| async move { self.enterprise_by_request(&request_id).await },
            insert,
            || {
                ServiceError::AlreadyExists(format!(
                    "an enterprise with credit code {} is already registered",
                    new.credit_code
                ))
            },
        )
        .await
    }

    async fn enterprise_by_request(&self, request_id: &str) -> Result<Option<Enterprise>, ServiceError> {
        let sql = format!("{SELECT_ENTERPRISE} WHERE request_id = $1");
        let row: Option<EnterpriseRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(request_id).fetch_optional(pool).await
        })?;
        row.map(Enterprise::try_from).transpose()
    }

    /// An enterprise by id.
    pub async fn get_enterprise(&self, id: &str) -> Result<Enterprise, ServiceError> {
        let sql = format!("{SELECT_ENTERPRISE} WHERE id = $1");
        let row: Option<EnterpriseRow> = on_pool!(&self.db, pool => {
            sqlx::query_as(&sql).bind(id).fetch_optional(pool).await
        })?;
        row.ok_or_else(|| ServiceError::NotFound { resource: "enterprise", id: id.to_owned() })?.try_into()
    }
}
