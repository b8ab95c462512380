//! Tingjian's v1 gRPC contracts: the generated protobuf messages, tonic clients and servers, and the
//! encoded file descriptor set of each package for server reflection.
//!
//! The `.proto` files under `proto/tingjian/<service>/v1/` are the source of truth and the
//! documentation other agencies read.

#![allow(missing_docs, clippy::all, clippy::pedantic, missing_debug_implementations)]

/// Generated code, one module per protobuf package.
pub mod tingjian {
    /// Types shared by every service: periods, money, dates and the event envelope.
    pub mod common {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/tingjian.common.v1.rs"));
            /// Encoded file descriptor set of `tingjian.common.v1` and its imports.
            pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tingjian.common.v1.bin"));
        }
    }
    /// intake — 听: enterprises, contacts, demands, common issues, campaigns.
    pub mod intake {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/tingjian.intake.v1.rs"));
            /// Encoded file descriptor set of `tingjian.intake.v1` and its imports.
            pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/tingjian.intake.v1.bin"));
        }
    }
    /// consultation — 见 and 舟: plans, topics, sessions, suggestions, reports, service teams.
    pub mod consultation {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/tingjian.consultation.v1.rs"));
            /// Encoded file descriptor set of `tingjian.consultation.v1` and its imports.
            pub const FILE_DESCRIPTOR_SET: &[u8] =
                include_bytes!(concat!(env!("OUT_DIR"), "/tingjian.consultation.v1.bin"));
        }
    }
    /// supervision — 商: cases, deadlines, follow-ups, rectifications, discipline inspection.
    pub mod supervision {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/tingjian.supervision.v1.rs"));
            /// Encoded file descriptor set of `tingjian.supervision.v1` and its imports.
            pub const FILE_DESCRIPTOR_SET: &[u8] =
                include_bytes!(concat!(env!("OUT_DIR"), "/tingjian.supervision.v1.bin"));
        }
    }
    /// analytics — the figures: scorecards, series, breakdowns, rankings, exports.
    pub mod analytics {
        pub mod v1 {
            include!(concat!(env!("OUT_DIR"), "/tingjian.analytics.v1.rs"));
            /// Encoded file descriptor set of `tingjian.analytics.v1` and its imports.
            pub const FILE_DESCRIPTOR_SET: &[u8] =
                include_bytes!(concat!(env!("OUT_DIR"), "/tingjian.analytics.v1.bin"));
        }
    }
}

pub use tingjian::{analytics, common, consultation, intake, supervision};
