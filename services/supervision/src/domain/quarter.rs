//! TODO(follow_up) module doc: quarters, long-running, compliance.
