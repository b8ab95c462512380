//! TODO(lifecycle) module doc: the pure transition rules.
