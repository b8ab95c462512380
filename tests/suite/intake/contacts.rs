//! contacts through the intake API.
