//! Paging shared by every list: the runtime's keyset pages and opaque tokens.

pub use tingjian_runtime::paging::*;
