//! Small conversions every gRPC adapter needs at the edge: timestamps, identifiers, request ids.

use chrono::{DateTime, Utc};

use crate::error::ServiceError;

/// Longest client-chosen request id.
pub const MAX_REQUEST_ID: usize = 128;

/// A UTC instant as a protobuf timestamp.
pub fn timestamp(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 }
}

/// A resource identifier issued by a service (a UUID), or INVALID_ARGUMENT on `field`.
pub fn parse_id(raw: &str, field: &str) -> Result<String, ServiceError> {
    uuid::Uuid::parse_str(raw.trim())
        .map(|u| u.to_string())
        .map_err(|_| ServiceError::invalid(field, "must be an identifier returned by the service (a UUID)"))
}

/// A new identifier, ordered by creation time.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// An optional client-chosen request id for idempotent creates: empty means none.
pub fn parse_request_id(raw: &str, field: &str) -> Result<Option<String>, ServiceError> {
    let raw = raw.trim();
    if raw.is_empty() {
        Ok(None)
    } else if raw.len() > MAX_REQUEST_ID || !raw.chars().all(|c| c.is_ascii_graphic()) {
        Err(ServiceError::invalid(field, format!("must be at most {MAX_REQUEST_ID} printable ASCII characters")))
    } else {
        Ok(Some(raw.to_owned()))
    }
}

/// An etag for a revision number.
pub fn etag(version: i64) -> String {
    format!("v{version}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_request_ids_are_checked() {
        assert!(parse_id("not-a-uuid", "id").is_err());
        let id = new_id();
        assert_eq!(parse_id(&format!(" {id} "), "id").expect("valid"), id);
        assert_eq!(parse_request_id("", "request_id").expect("none"), None);
        assert!(parse_request_id("重试", "request_id").is_err());
        assert!(parse_request_id(&"x".repeat(129), "request_id").is_err());
    }
}
