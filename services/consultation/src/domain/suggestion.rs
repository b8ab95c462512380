//! suggestion.
