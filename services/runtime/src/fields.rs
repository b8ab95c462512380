//! Checks shared by every service's request fields: update masks, etags, texts with length limits,
//! and length-prefixed parts for fingerprints and tokens.

use crate::ServiceError;
use crate::error::FieldViolation;

/// Appends `value` to `out` behind its length in bytes (`{len}:{value}`), so that parts written one
/// after another read back unambiguously.
pub fn push_length_prefixed(out: &mut String, value: &str) {
    out.push_str(&value.len().to_string());
    out.push(':');
    out.push_str(value);
}

/// Checks an update mask against the fields a method may change (`*` means all of them): at least
/// one path, each known; INVALID_ARGUMENT on `update_mask` otherwise. Returns the paths in `allowed`
/// order, without duplicates.
pub fn parse_update_mask(
    paths: &[String],
    allowed: &'static [&'static str],
) -> Result<Vec<&'static str>, ServiceError> {
    let listed = || allowed.join(", ");
    if paths.is_empty() {
        return Err(ServiceError::invalid(
            "update_mask",
            format!("is required: name the fields to change ({})", listed()),
        ));
    }
    if paths.iter().any(|p| p.trim() == "*") {
        return Ok(allowed.to_vec());
    }
    let unknown: Vec<&str> = paths.iter().map(|p| p.trim()).filter(|p| !allowed.contains(p)).collect();
    if !unknown.is_empty() {
        return Err(ServiceError::invalid(
            "update_mask",
            format!("cannot change {}; the fields that can be changed are {}", unknown.join(", "), listed()),
        ));
    }
    Ok(allowed.iter().copied().filter(|a| paths.iter().any(|p| p.trim() == *a)).collect())
}

/// Whether a caller's etag is stale for a record at `version`: an empty etag is never stale (no
/// check); any other value must equal the record's current etag.
pub fn etag_is_stale(etag: &str, version: i64) -> bool {
    let etag = etag.trim();
    !etag.is_empty() && etag != crate::wire::etag(version)
}

/// The expected revision an etag names: `None` for an empty etag (no check); a malformed etag names a
/// revision that never exists, so the check fails with ABORTED as for a stale one.
pub fn etag_version(etag: &str) -> Option<i64> {
    let etag = etag.trim();
    if etag.is_empty() {
        return None;
    }
    Some(etag.strip_prefix('v').and_then(|n| n.parse::<i64>().ok()).filter(|n| *n > 0).unwrap_or(-1))
}

/// A required text: trimmed, 1–`max` characters; why not, on `field`, otherwise.
pub fn required_text(raw: &str, max: usize, field: &str) -> Result<String, FieldViolation> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldViolation::new(field, "is required"));
    }
    bounded(text, max, field)
}

/// An optional text: trimmed, at most `max` characters (empty allowed).
pub fn optional_text(raw: &str, max: usize, field: &str) -> Result<String, FieldViolation> {
    bounded(raw.trim(), max, field)
}

fn bounded(text: &str, max: usize, field: &str) -> Result<String, FieldViolation> {
    let n = text.chars().count();
    if n > max {
        return Err(FieldViolation::new(field, format!("is {n} characters long; at most {max} are allowed")));
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t') {
        return Err(FieldViolation::new(field, "must not contain control characters"));
    }
    Ok(text.to_owned())
}
