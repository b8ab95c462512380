//! expert.
