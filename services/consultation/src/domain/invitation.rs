//! invitation.
