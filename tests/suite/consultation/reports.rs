//! Consultation: reports.
