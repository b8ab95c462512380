//! Stored topic records.

use super::Store;

impl Store {}
