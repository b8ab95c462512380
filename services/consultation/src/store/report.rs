//! Stored report records.

use super::Store;

impl Store {}
