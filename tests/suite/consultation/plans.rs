//! Consultation: plans.
