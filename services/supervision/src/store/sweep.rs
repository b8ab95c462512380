//! TODO(sweep) module doc.

use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::ServiceError;

use super::Store;

impl Store {
    /// The deadline warnings of case `case_id`, oldest first (for the supervision record).
    pub async fn warnings_of_case(&self, case_id: &str) -> Result<Vec<pb::DeadlineWarning>, ServiceError> {
        let _ = case_id;
        Ok(Vec::new()) // TODO(sweep): replace with the real query.
    }

    /// The escalations of case `case_id`, oldest first (for the supervision record).
    pub async fn escalations_of_case(&self, case_id: &str) -> Result<Vec<pb::Escalation>, ServiceError> {
        let _ = case_id;
        Ok(Vec::new()) // TODO(sweep): replace with the real query.
    }
}
