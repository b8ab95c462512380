//! reference through the intake API.
