//! Consultation: teams.
