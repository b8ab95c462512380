//! The supervision domain: cases and their states. Pure rules, no transport or storage types.

use chrono::{DateTime, Utc};

/// Where a case stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseStatus {
    /// Sent to the lead unit; the clock runs from here.
    Dispatched,
    /// The lead unit took it on.
    Accepted,
    /// Sent back as wrongly assigned.
    Returned,
    /// Being handled.
    InProgress,
    /// The unit replied with a result class.
    Replied,
    /// The enterprise or proposer rated the reply.
    Evaluated,
    /// Done.
    Closed,
}

impl CaseStatus {
    /// The contract's enum number, also what is stored.
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Dispatched => 1,
            Self::Accepted => 2,
            Self::Returned => 3,
            Self::InProgress => 4,
            Self::Replied => 5,
            Self::Evaluated => 6,
            Self::Closed => 7,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Dispatched,
            2 => Self::Accepted,
            3 => Self::Returned,
            4 => Self::InProgress,
            5 => Self::Replied,
            6 => Self::Evaluated,
            7 => Self::Closed,
            _ => return None,
        })
    }
}

/// A case as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// Identifier.
    pub id: String,
    /// Title.
    pub title: String,
    /// What is to be done.
    pub description: String,
    /// Where it stands.
    pub status: CaseStatus,
    /// The lead handling unit (主办单位).
    pub lead_unit: String,
    /// When it was dispatched.
    pub dispatch_time: DateTime<Utc>,
    /// When it is due.
    pub deadline_time: DateTime<Utc>,
    /// Revision (the etag).
    pub version: i64,
    /// Who dispatched it.
    pub dispatched_by: String,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_numbers() {
        for n in 1..=7 {
            assert_eq!(CaseStatus::from_i32(n).map(CaseStatus::as_i32), Some(n));
        }
        assert_eq!(CaseStatus::from_i32(0), None);
    }
}
