//! TODO(sweep) module doc: warnings and the overdue ladder.
