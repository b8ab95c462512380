//! topic.
