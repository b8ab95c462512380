//! Stored suggestion records.

use super::Store;

impl Store {}
