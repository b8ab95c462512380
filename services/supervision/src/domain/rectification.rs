//! TODO(rectification) module doc.
