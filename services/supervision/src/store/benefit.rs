//! TODO(benefit) module doc.

use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::ServiceError;

use super::Store;

impl Store {
    /// The benefits of case `case_id`, oldest first (for the supervision record).
    pub async fn benefits_of_case(&self, case_id: &str) -> Result<Vec<pb::Benefit>, ServiceError> {
        let _ = case_id;
        Ok(Vec::new()) // TODO(benefit): replace with the real query.
    }
}
