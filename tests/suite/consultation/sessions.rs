//! Consultation: sessions.
