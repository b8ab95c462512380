//! Consultation: suggestions.
