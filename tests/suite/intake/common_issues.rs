//! common issues through the intake API.
