//! Stored invitation records.

use super::Store;

impl Store {}
