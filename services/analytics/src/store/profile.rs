//! An enterprise's profile (企情分析) from its facts: the demands it submitted, the contacts with it, the
//! sessions it spoke in, the services delivered to it, its cases and the benefits recorded for it, in a
//! period or over all time.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::intake::v1::DemandStatus;
use tingjian_proto::supervision::v1::{BenefitKind, EvaluationResult};
use tingjian_runtime::time::Period;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{ServiceError, on_pool};

use super::Store;
use super::query::{key_label, money, rate};

/// Whether a demand in `status` is still open (neither closed, rejected nor withdrawn).
pub fn demand_open(status: i32) -> bool {
    !matches!(
        DemandStatus::try_from(status),
        Ok(DemandStatus::Closed | DemandStatus::Rejected | DemandStatus::Withdrawn)
    )
}

/// Whether an evaluation result counts as satisfied.
pub fn satisfied(result: i32) -> bool {
    matches!(EvaluationResult::try_from(result), Ok(EvaluationResult::Satisfied | EvaluationResult::BasicallySatisfied))
}

/// The descriptive facts of an enterprise.
type EnterpriseRow = (Option<String>, Option<String>, Option<String>, Option<bool>);
/// A demand: category and current status.
type DemandRow = (Option<String>, Option<i32>);
/// A case: replied, latest evaluation result, closed.
type CaseRow = (bool, Option<i32>, bool);
/// A benefit: kind, problems solved, amount in fen.
type BenefitRow = (i32, i64, i64);

impl Store {
    /// The profile of `enterprise_id` in `period` (all time when `None`); NOT_FOUND when no fact of it
    /// exists.
    pub async fn enterprise_profile(
        &self,
        enterprise_id: &str,
        period: Option<&Period>,
    ) -> Result<pb::EnterpriseProfile, ServiceError> {
        let (start, end) = match period {
            Some(p) => {
                let (s, e) = p.utc_range();
                (Some(s), Some(e))
            }
            None => (None, None),
        };
        // The period's bounds as optional binds: `$2`/`$3` NULL means unbounded.
        let within = |column: &str| format!("({column} >= $2 OR $2 IS NULL) AND ({column} < $3 OR $3 IS NULL)");
        let id = enterprise_id.to_owned();

        let enterprise: Option<EnterpriseRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(
                "SELECT name, district, industry, monitoring_point FROM enterprise_fact WHERE enterprise_id = $1",
            )
            .bind(&id)
            .fetch_optional(pool)
            .await
        })?;
        let known: bool = on_pool!(self.db(), pool => {
            sqlx::query_scalar(
                "SELECT EXISTS (SELECT 1 FROM enterprise_fact WHERE enterprise_id = $1) \
                 OR EXISTS (SELECT 1 FROM contact_fact WHERE enterprise_id = $1) \
                 OR EXISTS (SELECT 1 FROM demand_fact WHERE enterprise_id = $1) \
                 OR EXISTS (SELECT 1 FROM case_fact WHERE enterprise_id = $1) \
                 OR EXISTS (SELECT 1 FROM benefit_fact WHERE enterprise_id = $1) \
                 OR EXISTS (SELECT 1 FROM delivery_fact WHERE enterprise_id = $1) \
                 OR EXISTS (SELECT 1 FROM session_speaker WHERE enterprise_id = $1)",
            )
            .bind(&id)
            .fetch_one(pool)
            .await
        })?;
        if !known {
            return Err(ServiceError::NotFound { resource: "enterprise", id });
        }

        let demand_sql = format!(
            "SELECT category, status FROM demand_fact WHERE enterprise_id = $1 AND submit_time IS NOT NULL AND {}",
            within("submit_time")
        );
        let demands: Vec<DemandRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&demand_sql).bind(&id).bind(start).bind(end).fetch_all(pool).await
        })?;
        let issues_sql = format!(
            "SELECT COUNT(DISTINCT m.common_issue_id) FROM demand_membership m \
             JOIN demand_fact d ON d.demand_id = m.demand_id \
             WHERE d.enterprise_id = $1 AND d.submit_time IS NOT NULL AND {}",
            within("d.submit_time")
        );
        let common_issue_count: i64 = on_pool!(self.db(), pool => {
            sqlx::query_scalar(&issues_sql).bind(&id).bind(start).bind(end).fetch_one(pool).await
        })?;
        let contact_sql = format!(
            "SELECT contact_time, person_times FROM contact_fact WHERE enterprise_id = $1 AND {}",
            within("contact_time")
        );
        let contacts: Vec<(DateTime<Utc>, i64)> = on_pool!(self.db(), pool => {
            sqlx::query_as(&contact_sql).bind(&id).bind(start).bind(end).fetch_all(pool).await
        })?;
        let sessions_sql = format!(
            "SELECT COUNT(*) FROM session_speaker s JOIN session_fact f ON f.session_id = s.session_id \
             WHERE s.enterprise_id = $1 AND {}",
            within("f.close_time")
        );
        let sessions_spoken: i64 = on_pool!(self.db(), pool => {
            sqlx::query_scalar(&sessions_sql).bind(&id).bind(start).bind(end).fetch_one(pool).await
        })?;
        let deliveries_sql =
            format!("SELECT COUNT(*) FROM delivery_fact WHERE enterprise_id = $1 AND {}", within("delivery_time"));
        let services_delivered: i64 = on_pool!(self.db(), pool => {
            sqlx::query_scalar(&deliveries_sql).bind(&id).bind(start).bind(end).fetch_one(pool).await
        })?;
        let cases_sql = format!(
            "SELECT first_reply_time IS NOT NULL, last_eval_result, closed_time IS NOT NULL FROM case_fact \
             WHERE enterprise_id = $1 AND dispatch_time IS NOT NULL AND {}",
            within("dispatch_time")
        );
        let cases: Vec<CaseRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&cases_sql).bind(&id).bind(start).bind(end).fetch_all(pool).await
        })?;
        let benefits_sql = format!(
            "SELECT kind, problems_solved, amount_fen FROM benefit_fact WHERE enterprise_id = $1 AND {}",
            within("record_time")
        );
        let benefits: Vec<BenefitRow> = on_pool!(self.db(), pool => {
            sqlx::query_as(&benefits_sql).bind(&id).bind(start).bind(end).fetch_all(pool).await
        })?;

        let (name, district, industry, monitoring_point) = enterprise.unwrap_or_default();
        let mut by_status: BTreeMap<i32, i64> = BTreeMap::new();
        let mut by_category: BTreeMap<String, i64> = BTreeMap::new();
        for (category, status) in &demands {
            *by_status.entry(status.unwrap_or(0)).or_default() += 1;
            *by_category.entry(category.clone().unwrap_or_default()).or_default() += 1;
        }
        let mut demands_by_category: Vec<pb::CategoryCount> = by_category
            .into_iter()
            .map(|(category, count)| pb::CategoryCount {
                label: key_label(pb::Dimension::Category, &category),
                category,
                count,
            })
            .collect();
        demands_by_category.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.category.cmp(&b.category)));

        let replied = cases.iter().filter(|(replied, _, _)| *replied).count() as i64;
        let evaluated = cases.iter().filter(|(_, result, _)| result.is_some()).count() as i64;
        let satisfied_cases = cases.iter().filter(|(_, result, _)| result.is_some_and(satisfied)).count() as i64;
        let fen_of = |kind: BenefitKind| -> i64 {
            benefits.iter().filter(|(k, _, _)| *k == kind as i32).map(|(_, _, fen)| fen).sum()
        };
        let money_kinds =
            [BenefitKind::InterestReduced, BenefitKind::Subsidy, BenefitKind::FeeWaived, BenefitKind::OtherMoney];

        Ok(pb::EnterpriseProfile {
            enterprise_id: id,
            name: name.unwrap_or_default(),
            district: district.unwrap_or_default(),
            industry: industry.unwrap_or_default(),
            monitoring_point: monitoring_point.unwrap_or(false),
            demands_total: demands.len() as i64,
            demands_open: demands.iter().filter(|(_, status)| demand_open(status.unwrap_or(0))).count() as i64,
            demands_by_status: by_status
                .into_iter()
                .map(|(status, count)| pb::DemandStatusCount { status, count })
                .collect(),
            demands_by_category,
            common_issue_count,
            contacts_total: contacts.len() as i64,
            last_contact_time: contacts.iter().map(|(t, _)| *t).max().map(timestamp),
            policy_briefing_person_times: contacts.iter().map(|(_, n)| n).sum(),
            sessions_spoken,
            services_delivered,
            cases_total: cases.len() as i64,
            cases_open: cases.iter().filter(|(_, _, closed)| !closed).count() as i64,
            response_rate: Some(rate(replied, cases.len() as i64)),
            satisfaction_rate: Some(rate(satisfied_cases, evaluated)),
            problems_solved: benefits.iter().map(|(_, n, _)| n).sum(),
            interest_reduced: Some(money(fen_of(BenefitKind::InterestReduced))),
            subsidies: Some(money(fen_of(BenefitKind::Subsidy))),
            fees_waived: Some(money(fen_of(BenefitKind::FeeWaived))),
            total_benefits: Some(money(money_kinds.iter().map(|k| fen_of(*k)).sum())),
            as_of_time: self.as_of_time().await?.map(timestamp),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_demands_and_satisfied_evaluations() {
        assert!(demand_open(DemandStatus::InProgress as i32));
        assert!(demand_open(0));
        assert!(!demand_open(DemandStatus::Closed as i32));
        assert!(!demand_open(DemandStatus::Withdrawn as i32));
        assert!(satisfied(EvaluationResult::BasicallySatisfied as i32));
        assert!(!satisfied(EvaluationResult::Dissatisfied as i32));
    }
}
