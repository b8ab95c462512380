//! Recomputing every rollup from the retained event history.
