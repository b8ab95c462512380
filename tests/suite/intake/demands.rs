//! demands through the intake API.
