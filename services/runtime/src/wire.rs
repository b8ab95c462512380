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

/// A half-open UTC interval `[start, end)`.
pub type Interval = (DateTime<Utc>, DateTime<Utc>);

/// A protobuf timestamp as a UTC instant; `None` when unset, a violation of `field` when out of range.
pub fn read_instant(
    raw: Option<&prost_types::Timestamp>,
    field: &str,
) -> Result<Option<DateTime<Utc>>, crate::error::FieldViolation> {
    let Some(t) = raw else { return Ok(None) };
    u32::try_from(t.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .map(Some)
        .ok_or_else(|| crate::error::FieldViolation::new(field, "is not a valid timestamp"))
}

/// The UTC interval a requested period (month, quarter or year in Asia/Shanghai) covers; `None` when no
/// period is given or its kind is unspecified (no restriction); a violation of `period.*` otherwise.
pub fn period_range(
    period: Option<&tingjian_proto::common::v1::Period>,
) -> Result<Option<Interval>, crate::error::FieldViolation> {
    use crate::error::FieldViolation;
    use crate::time::{Period, PeriodKind};
    use tingjian_proto::common::v1 as common;
    let Some(period) = period else { return Ok(None) };
    let kind = match common::PeriodKind::try_from(period.kind) {
        Ok(common::PeriodKind::Unspecified) => return Ok(None),
        Ok(common::PeriodKind::Month) => PeriodKind::Month,
        Ok(common::PeriodKind::Quarter) => PeriodKind::Quarter,
        Ok(common::PeriodKind::Year) => PeriodKind::Year,
        Err(_) => return Err(FieldViolation::new("period.kind", "must be MONTH, QUARTER or YEAR")),
    };
    let number =
        u32::try_from(period.number).map_err(|_| FieldViolation::new("period.number", "must not be negative"))?;
    Ok(Some(Period::new(kind, period.year, number, "period")?.utc_range()))
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
