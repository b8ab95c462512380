//! Consultation: experts.
