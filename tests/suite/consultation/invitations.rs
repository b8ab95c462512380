//! Consultation: invitations.
