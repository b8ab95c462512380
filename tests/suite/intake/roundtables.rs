//! roundtables through the intake API.
