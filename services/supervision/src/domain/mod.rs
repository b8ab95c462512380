//! The supervision domain: cases, their deadlines and the working calendar. Pure rules, no transport or
//! storage types.

pub mod calendar;
pub mod case;

pub use calendar::*;
pub use case::*;
