//! Stored session records.

use super::Store;

impl Store {}
