//! Paging shared by every list of every service: page-size clamping, trimming a fetched page, the hex encoding of
//! opaque page tokens, the text form of instants in their sort keys, and the two token layouts in use:
//! [`PageCursor`] (campaigns, posts, common issues) and [`PageRequest`]/[`Page`] (enterprises, contact
//! persons, contacts, roundtables, reference items). Demands keep their own cursors next to them.

use crate::ServiceError;
use crate::error::FieldViolation;
use crate::fields::push_length_prefixed;
use chrono::{DateTime, Utc};

/// Page size when the request says 0.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// Largest page.
pub const MAX_PAGE_SIZE: usize = 500;

/// A page size as the contract reads it: 0 means the default, larger than the maximum is capped.
pub fn page_size(raw: i32, default: usize, max: usize, field: &str) -> Result<usize, FieldViolation> {
    match raw {
        n if n < 0 => Err(FieldViolation::new(field, "must not be negative")),
        0 => Ok(default),
        n => Ok((n as usize).min(max)),
    }
}

/// Trims `rows`, fetched with a limit of `size + 1` (the extra row only says another page follows),
/// to the page; the last item kept when another page follows.
pub fn trim_page<T>(rows: &mut Vec<T>, size: usize) -> Option<&T> {
    let more = rows.len() > size;
    rows.truncate(size);
    if more { rows.last() } else { None }
}

/// A timestamp as a page-token key (RFC 3339, nanoseconds).
pub fn time_key(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true)
}

/// Reads a key written by [`time_key`] (any RFC 3339 instant).
pub fn parse_time_key(key: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(key).ok().map(|t| t.with_timezone(&Utc))
}

/// The bytes of `text` as lowercase hex: what makes a page token opaque.
pub fn to_hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Reads [`to_hex`]: `None` unless `hex` is pairs of hex digits spelling UTF-8 text.
pub fn from_hex(hex: &str) -> Option<String> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    let bytes: Option<Vec<u8>> =
        (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect();
    String::from_utf8(bytes?).ok()
}

/// Where a keyset page resumes, carried in an opaque page token: the sort key of the last item
/// returned. `kind` tags the list it belongs to, so a token from one list is refused by another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageCursor {
    /// Sort key fields of the last item returned.
    pub keys: Vec<String>,
}

impl PageCursor {
    /// Encodes the cursor of list `kind` as an opaque token.
    pub fn encode(kind: &str, keys: &[&str]) -> String {
        let mut text = String::from(kind);
        for key in keys {
            text.push('\u{1f}');
            text.push_str(key);
        }
        to_hex(&text)
    }

    /// Decodes a token of list `kind` with `n` keys; an empty token is the first page (`None`); a
    /// malformed or foreign one is INVALID_ARGUMENT on `field`.
    pub fn decode(token: &str, kind: &str, n: usize, field: &str) -> Result<Option<Self>, FieldViolation> {
        if token.is_empty() {
            return Ok(None);
        }
        let bad = || FieldViolation::new(field, "is not a page token of this list; pass next_page_token unchanged");
        if token.len() > 1024 {
            return Err(bad());
        }
        let text = from_hex(token).ok_or_else(bad)?;
        let mut parts = text.split('\u{1f}');
        if parts.next() != Some(kind) {
            return Err(bad());
        }
        let keys: Vec<String> = parts.map(str::to_owned).collect();
        if keys.len() != n {
            return Err(bad());
        }
        Ok(Some(Self { keys }))
    }

    /// Trims `rows`, fetched with a limit of `size + 1`, to the page; the token of the next page of
    /// list `kind`, after the sort key `keys` gives of the last item, empty on the last page.
    pub fn next_page<T>(rows: &mut Vec<T>, size: usize, kind: &str, keys: impl FnOnce(&T) -> Vec<String>) -> String {
        match trim_page(rows, size) {
            Some(last) => Self::encode(kind, &keys(last).iter().map(String::as_str).collect::<Vec<_>>()),
            None => String::new(),
        }
    }

    /// Key `i` as a timestamp (RFC 3339), or INVALID_ARGUMENT on `field`.
    pub fn time(&self, i: usize, field: &str) -> Result<DateTime<Utc>, FieldViolation> {
        self.keys
            .get(i)
            .and_then(|k| parse_time_key(k))
            .ok_or_else(|| FieldViolation::new(field, "is not a page token of this list"))
    }

    /// Key `i` as an integer, or INVALID_ARGUMENT on `field`.
    pub fn integer(&self, i: usize, field: &str) -> Result<i64, FieldViolation> {
        self.keys
            .get(i)
            .and_then(|k| k.parse().ok())
            .ok_or_else(|| FieldViolation::new(field, "is not a page token of this list"))
    }
}

/// Longest page token accepted.
const MAX_PAGE_TOKEN_CHARS: usize = 2_048;

/// What page of a list a request asks for: its size, and the sort key of the last item of the previous
/// page (keyset pagination), decoded from an opaque page token bound to the list and its filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Items to return (1–500).
    pub size: usize,
    /// Sort key of the item after which the page starts; `None` for the first page.
    pub after: Option<Vec<String>>,
}

impl PageRequest {
    /// Checks `page_size` (0 → 50, capped at 500, negative → INVALID_ARGUMENT) and `page_token` (it
    /// must come from the same `list` with the same `filter` digest and carry `keys` sort-key fields).
    pub fn parse(
        page_size: i32,
        page_token: &str,
        list: &str,
        filter: &str,
        keys: usize,
    ) -> Result<Self, ServiceError> {
        let size = self::page_size(page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size")
            .map_err(|v| ServiceError::InvalidArgument(vec![v]))?;
        let token = page_token.trim();
        if token.is_empty() {
            return Ok(Self { size, after: None });
        }
        let bad = || {
            ServiceError::invalid(
                "page_token",
                "is not a token of this list with these filters; pass next_page_token unchanged, with the same filters",
            )
        };
        let parts = decode_token(token).ok_or_else(bad)?;
        match parts.as_slice() {
            [version, l, f, rest @ ..] if version == "1" && l == list && f == filter && rest.len() == keys => {
                Ok(Self { size, after: Some(rest.to_vec()) })
            }
            _ => Err(bad()),
        }
    }

    /// Sort-key field `i` of the cursor as an instant.
    pub fn time_key(after: &[String], i: usize) -> Result<DateTime<Utc>, ServiceError> {
        after
            .get(i)
            .and_then(|k| parse_time_key(k))
            .ok_or_else(|| ServiceError::invalid("page_token", "is not a token of this list"))
    }

    /// Sort-key field `i` of the cursor as an integer.
    pub fn int_key(after: &[String], i: usize) -> Result<i64, ServiceError> {
        after
            .get(i)
            .and_then(|k| k.parse().ok())
            .ok_or_else(|| ServiceError::invalid("page_token", "is not a token of this list"))
    }

    /// Sort-key field `i` of the cursor as text.
    pub fn text_key(after: &[String], i: usize) -> Result<String, ServiceError> {
        after.get(i).cloned().ok_or_else(|| ServiceError::invalid("page_token", "is not a token of this list"))
    }
}

/// One page of a list: the items, and the sort key of the last one when more follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Sort key of the last item when another page follows.
    pub next: Option<Vec<String>>,
}

impl<T> Page<T> {
    /// A page from `rows` fetched with a limit of `size + 1`: the extra row only says another page
    /// follows.
    pub fn from_rows(mut rows: Vec<T>, size: usize, key: impl Fn(&T) -> Vec<String>) -> Self {
        let next = trim_page(&mut rows, size).map(key);
        Self { items: rows, next }
    }

    /// The opaque token of the next page of `list` with `filter`, empty on the last page.
    pub fn next_token(&self, list: &str, filter: &str) -> String {
        match &self.next {
            None => String::new(),
            Some(keys) => {
                let mut parts = vec!["1", list, filter];
                parts.extend(keys.iter().map(String::as_str));
                encode_token(&parts)
            }
        }
    }
}

/// Length-prefixed parts, hex-encoded: opaque to callers, unambiguous to decode.
fn encode_token(parts: &[&str]) -> String {
    let mut text = String::new();
    for part in parts {
        push_length_prefixed(&mut text, part);
    }
    to_hex(&text)
}

fn decode_token(token: &str) -> Option<Vec<String>> {
    if token.len() > MAX_PAGE_TOKEN_CHARS {
        return None;
    }
    let text = from_hex(token)?;
    let mut rest = text.as_str();
    let mut parts = Vec::new();
    while !rest.is_empty() {
        let (len, tail) = rest.split_once(':')?;
        let len: usize = len.parse().ok()?;
        parts.push(tail.get(..len)?.to_owned());
        rest = tail.get(len..)?;
    }
    Some(parts)
}
