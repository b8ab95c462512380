//! TODO(follow_up) module doc.

use chrono::{DateTime, Utc};
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::ServiceError;

use super::Store;

/// What one run of the follow-up sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpSweep {
    /// Due cases and tasks examined.
    pub examined: i32,
    /// Cases newly marked long-running.
    pub long_running_marked: i32,
    /// Quarterly tasks created.
    pub tasks_created: i32,
    /// Reminders sent.
    pub reminders_sent: i32,
    /// Missed quarters recorded.
    pub quarters_missed: i32,
    /// Escalations made for missed quarters.
    pub escalations: i32,
}

impl Store {
    /// Runs the follow-up sweep as of `as_of`: long-running marking, quarterly tasks, reminders and missed
    /// quarters, each exactly once across replicas.
    pub async fn sweep_follow_ups(&self, as_of: DateTime<Utc>) -> Result<FollowUpSweep, ServiceError> {
        let _ = as_of;
        Ok(FollowUpSweep::default()) // TODO(follow_up): replace with the real sweep.
    }

    /// The follow-ups of case `case_id`, oldest first (for the supervision record).
    pub async fn follow_ups_of_case(&self, case_id: &str) -> Result<Vec<pb::FollowUp>, ServiceError> {
        let _ = case_id;
        Ok(Vec::new()) // TODO(follow_up): replace with the real query.
    }

    /// The quarterly tasks of case `case_id`, oldest first (for the supervision record).
    pub async fn follow_up_tasks_of_case(&self, case_id: &str) -> Result<Vec<pb::FollowUpTask>, ServiceError> {
        let _ = case_id;
        Ok(Vec::new()) // TODO(follow_up): replace with the real query.
    }
}
