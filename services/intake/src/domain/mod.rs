//! The intake domain: enterprises, contacts, demands, common issues, campaigns. Pure rules, no
//! transport or storage types.

pub mod enterprise;

pub use enterprise::*;
