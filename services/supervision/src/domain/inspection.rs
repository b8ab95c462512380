//! TODO(inspection) module doc.
