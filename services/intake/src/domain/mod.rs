//! The intake domain: enterprises, contacts, demands, common issues, campaigns. Pure rules, no
//! transport or storage types.

pub mod campaign;
pub mod clustering;
pub mod common_issue;
pub mod contact;
pub mod demand;
pub mod enterprise;
pub mod paging;
pub mod reference;
pub mod roundtable;
pub mod similarity;

pub use campaign::*;
pub use common_issue::*;
pub use contact::*;
pub use demand::*;
pub use enterprise::*;
pub use paging::*;
pub use reference::*;
pub use roundtable::*;
