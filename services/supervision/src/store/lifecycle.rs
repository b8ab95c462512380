//! TODO(lifecycle) module doc: the verbs after dispatch.
