//! TODO(rectification) module doc.

use chrono::{DateTime, Utc};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::ServiceError;

use super::Store;

/// What one run of the rectification sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RectificationSweep {
    /// Due orders examined.
    pub examined: i32,
    /// Orders newly marked overdue.
    pub marked_overdue: i32,
}

impl Store {
    /// Marks open orders past their deadline as of `as_of` overdue, each once across replicas.
    pub async fn sweep_rectifications(&self, as_of: DateTime<Utc>) -> Result<RectificationSweep, ServiceError> {
        let _ = as_of;
        Ok(RectificationSweep::default()) // TODO(rectification): replace with the real sweep.
    }

    /// The rectification orders arising from case `case_id`, oldest first (for the supervision record).
    pub async fn rectifications_of_case(&self, case_id: &str) -> Result<Vec<pb::RectificationOrder>, ServiceError> {
        let _ = case_id;
        Ok(Vec::new()) // TODO(rectification): replace with the real query.
    }
}
