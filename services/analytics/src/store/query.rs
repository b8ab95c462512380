//! Figures of a period from the rollups: scorecard, series, breakdowns, rankings.
//!
//! The signatures the API and the exports rely on (proto types in and out):
//! - `Store::scorecard(&self, period: &Period, filter: &pb::ScorecardFilter) -> Result<pb::Scorecard, ServiceError>`
//! - `Store::series(&self, metric: pb::Metric, start: &Period, end: &Period, filter: &pb::ScorecardFilter)
//!   -> Result<pb::GetSeriesResponse, ServiceError>`
//! - `Store::breakdown(&self, metric: pb::Metric, period: &Period, dimension: pb::Dimension,
//!   filter: &pb::ScorecardFilter, limit: usize) -> Result<pb::GetBreakdownResponse, ServiceError>`
//! - `Store::rankings(...)`, and `Store::enterprise_profile(...)` in `profile.rs`.
