//! Supervision: cases.
