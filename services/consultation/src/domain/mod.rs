//! The consultation domain: pure rules, no transport or storage types. One module per area.

pub mod plan;
