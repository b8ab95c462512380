//! Consultation: end_to_end.
