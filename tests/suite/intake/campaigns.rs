//! campaigns through the intake API.
