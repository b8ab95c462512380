//! Consultation: assignment.
