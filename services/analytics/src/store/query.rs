//! Figures of a period from the rollups: scorecard, series, breakdowns, rankings.
