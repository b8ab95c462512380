//! Merging one event into the facts, contributions and rollups.
