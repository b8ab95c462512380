//! The supervision domain: cases, their deadlines and the working calendar. Pure rules, no transport or
//! storage types.

pub mod benefit;
pub mod calendar;
pub mod case;
pub mod deadline;
pub mod inspection;
pub mod lifecycle;
pub mod quarter;
pub mod rectification;

pub use calendar::*;
pub use case::*;
