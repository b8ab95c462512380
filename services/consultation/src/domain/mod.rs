//! The consultation domain: pure rules, no transport or storage types. One module per area.

pub mod expert;
pub mod invitation;
pub mod plan;
pub mod report;
pub mod session;
pub mod suggestion;
pub mod team;
pub mod topic;
