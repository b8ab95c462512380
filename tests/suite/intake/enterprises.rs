//! enterprises through the intake API.
