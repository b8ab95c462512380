//! TODO(benefit) module doc.
