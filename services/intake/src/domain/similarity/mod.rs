//! The similar-demand engine (合并同类项): finds the demands and common issues that ask for the same
//! thing as a text, and proposes groups of likely duplicates for staff to merge.
//!
//! - [`text`]: normalisation and segmentation of Chinese text into terms;
//! - [`score`]: the similarity of two texts, from a few comparisons combined by a fitted model;
//! - [`index`]: the inverted index of open demands and common issues, kept up to date as they change;
//! - [`cluster`]: groups of likely duplicates over a set of demands.
//!
//! Pure: no I/O. The service keeps one [`Index`] in memory, rebuilt from the store at start.

pub mod cluster;
pub mod index;
pub mod score;
pub mod text;

pub use cluster::{ClusterOptions, Group};
pub use index::{Hit, Index, Item, ItemKind, Probe, SearchLimits};
pub use score::{DEFAULT_MODEL, Model};
pub use text::{Analysis, analyse, normalise};
