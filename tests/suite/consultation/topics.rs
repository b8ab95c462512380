//! Consultation: topics.
