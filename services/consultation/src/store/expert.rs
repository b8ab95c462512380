//! Stored expert records.

use super::Store;

impl Store {}
