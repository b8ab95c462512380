//! Stored team records.

use super::Store;

impl Store {}
