//! Reference data (参考数据): the configurable lists of districts, industries and demand categories.
//! Records store an item's `code`; callers may name an item by its code or its Chinese display name.
//! Items are never deleted, only deactivated, so old records keep resolving.

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};

use super::enterprise::{line_text, parse_update_mask, request_fingerprint};

/// Longest reference code, in characters.
pub const MAX_REFERENCE_CODE_CHARS: usize = 64;
/// Longest display name (Chinese or English), in characters.
pub const MAX_REFERENCE_NAME_CHARS: usize = 100;
/// Fields UpdateReferenceItem may change.
pub const REFERENCE_UPDATE_PATHS: &[&str] = &["name", "name_en", "active", "sort_order"];

/// Which list an item belongs to (the contract's `ReferenceKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ReferenceKind {
    /// Districts and functional areas (区县/功能区).
    District,
    /// Industries (行业).
    Industry,
    /// Demand categories (诉求类别).
    Category,
}

impl ReferenceKind {
    /// The stored number (the contract's enum value).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::District => 1,
            Self::Industry => 2,
            Self::Category => 3,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::District,
            2 => Self::Industry,
            3 => Self::Category,
            _ => return None,
        })
    }

    /// The kind in words, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::District => "district",
            Self::Industry => "industry",
            Self::Category => "category",
        }
    }

    /// Checks the contract's number: unspecified or unknown is a violation of `field`.
    pub fn parse(n: i32, field: &str) -> Result<Self, FieldViolation> {
        Self::from_i32(n).ok_or_else(|| FieldViolation::new(field, "must be DISTRICT, INDUSTRY or CATEGORY"))
    }
}

/// A reference code: lower_snake_case ASCII, 1–64 characters, starting with a letter (e.g. `dinghai`,
/// `ocean_fishing`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReferenceCode(String);

impl ReferenceCode {
    /// Checks a code's form; a violation names `field`.
    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldViolation> {
        let code = raw.trim();
        let bad = |why: &str| FieldViolation::new(field, why.to_owned());
        if code.is_empty() {
            return Err(bad("is required"));
        }
        if code.len() > MAX_REFERENCE_CODE_CHARS {
            return Err(bad("is longer than 64 characters"));
        }
        let well_formed = code.starts_with(|c: char| c.is_ascii_lowercase())
            && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !code.ends_with('_')
            && !code.contains("__");
        if !well_formed {
            return Err(bad("must be lower_snake_case ASCII starting with a letter, e.g. \"ocean_fishing\""));
        }
        Ok(Self(code.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One stored reference item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceItem {
    /// Its list.
    pub kind: ReferenceKind,
    /// Stable code.
    pub code: String,
    /// Display name, e.g. 定海区.
    pub name: String,
    /// English display name (may be empty).
    pub name_en: String,
    /// Whether new records may use it.
    pub active: bool,
    /// Position in displayed lists.
    pub sort_order: i32,
    /// When it was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// A reference item to create, every field checked. New items are active.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReferenceItem {
    /// Its list.
    pub kind: ReferenceKind,
    /// Stable code.
    pub code: ReferenceCode,
    /// Display name.
    pub name: String,
    /// English display name (may be empty).
    pub name_en: String,
    /// Position in displayed lists.
    pub sort_order: i32,
}

impl NewReferenceItem {
    /// Checks every field, reporting each problem under `prefix.<field>`.
    pub fn parse(
        kind: i32,
        code: &str,
        name: &str,
        name_en: &str,
        sort_order: i32,
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let field = |f: &str| format!("{prefix}.{f}");
        let mut v = Violations::new();
        let kind = v.check(ReferenceKind::parse(kind, &field("kind")));
        let code = v.check(ReferenceCode::parse(code, &field("code")));
        let name =
            v.check(line_text(name, MAX_REFERENCE_NAME_CHARS, true).map_err(|e| FieldViolation::new(field("name"), e)));
        let name_en = v.check(
            line_text(name_en, MAX_REFERENCE_NAME_CHARS, false).map_err(|e| FieldViolation::new(field("name_en"), e)),
        );
        v.finish()?;
        match (kind, code, name, name_en) {
            (Some(kind), Some(code), Some(name), Some(name_en)) => Ok(Self { kind, code, name, name_en, sort_order }),
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// What the request asked for, kept with its request id so a retry with another payload is told apart.
    pub fn fingerprint(&self) -> String {
        request_fingerprint(
            "reference_item",
            &[
                &self.kind.as_i32().to_string(),
                self.code.as_str(),
                &self.name,
                &self.name_en,
                &self.sort_order.to_string(),
            ],
        )
    }
}

/// A change to a reference item's display fields: only the fields named in the update mask are set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReferenceChange {
    /// New display name.
    pub name: Option<String>,
    /// New English display name.
    pub name_en: Option<String>,
    /// Activate or deactivate.
    pub active: Option<bool>,
    /// New position.
    pub sort_order: Option<i32>,
}

impl ReferenceChange {
    /// Checks the update mask (`update_mask`) and the masked fields (`prefix.<field>`).
    pub fn parse(
        paths: &[String],
        name: &str,
        name_en: &str,
        active: bool,
        sort_order: i32,
        prefix: &str,
    ) -> Result<Self, ServiceError> {
        let paths = parse_update_mask(paths, REFERENCE_UPDATE_PATHS)?;
        let field = |f: &str| format!("{prefix}.{f}");
        let mut v = Violations::new();
        let mut change = Self::default();
        for path in paths {
            match path {
                "name" => {
                    change.name = v.check(
                        line_text(name, MAX_REFERENCE_NAME_CHARS, true)
                            .map_err(|e| FieldViolation::new(field("name"), e)),
                    );
                }
                "name_en" => {
                    change.name_en = v.check(
                        line_text(name_en, MAX_REFERENCE_NAME_CHARS, false)
                            .map_err(|e| FieldViolation::new(field("name_en"), e)),
                    );
                }
                "active" => change.active = Some(active),
                _ => change.sort_order = Some(sort_order),
            }
        }
        v.finish()?;
        Ok(change)
    }
}

/// The reference items of some kinds, to resolve what a caller wrote (a code or a display name) into
/// the code records store.
#[derive(Debug, Clone, Default)]
pub struct ReferenceCatalog {
    items: Vec<ReferenceItem>,
}

impl ReferenceCatalog {
    /// A catalog of `items` (active and inactive).
    pub fn new(items: Vec<ReferenceItem>) -> Self {
        Self { items }
    }

    /// The item of `kind` whose code (ASCII case ignored) or display name is `raw`, active or not.
    pub fn find(&self, kind: ReferenceKind, raw: &str) -> Option<&ReferenceItem> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let of_kind = || self.items.iter().filter(move |i| i.kind == kind);
        of_kind().find(|i| i.code.eq_ignore_ascii_case(raw)).or_else(|| of_kind().find(|i| i.name == raw))
    }

    /// The code of the active item of `kind` named `raw` (by code or display name), or why not, for a
    /// field violation: unknown, inactive, or missing.
    pub fn resolve_active(&self, kind: ReferenceKind, raw: &str) -> Result<String, String> {
        if raw.trim().is_empty() {
            return Err("is required".into());
        }
        match self.find(kind, raw) {
            Some(item) if item.active => Ok(item.code.clone()),
            Some(item) => Err(format!("{} {} ({}) is no longer in use", kind.noun(), item.code, item.name)),
            None => {
                let known: Vec<String> = self
                    .items
                    .iter()
                    .filter(|i| i.kind == kind && i.active)
                    .map(|i| format!("{} ({})", i.code, i.name))
                    .collect();
                Err(format!("{:?} is not a known {}; use one of: {}", raw.trim(), kind.noun(), known.join(", ")))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(kind: ReferenceKind, code: &str, name: &str, active: bool) -> ReferenceItem {
        ReferenceItem {
            kind,
            code: code.into(),
            name: name.into(),
            name_en: String::new(),
            active,
            sort_order: 0,
            create_time: tingjian_runtime::clock::now(),
            update_time: tingjian_runtime::clock::now(),
        }
    }

    #[test]
    fn codes_are_lower_snake_ascii() {
        for good in ["dinghai", "ocean_fishing", "a1", "x_2_y"] {
            assert!(ReferenceCode::parse(good, "code").is_ok(), "{good}");
        }
        for bad in ["", "Dinghai", "定海", "1abc", "a-b", "a__b", "a_", "_a", &"a".repeat(65)] {
            assert!(ReferenceCode::parse(bad, "code").is_err(), "{bad}");
        }
    }

    #[test]
    fn the_catalog_resolves_codes_and_names_of_active_items() {
        let catalog = ReferenceCatalog::new(vec![
            item(ReferenceKind::District, "putuo", "普陀区", true),
            item(ReferenceKind::District, "old", "旧区", false),
            item(ReferenceKind::Industry, "tourism", "旅游", true),
        ]);
        assert_eq!(catalog.resolve_active(ReferenceKind::District, "普陀区"), Ok("putuo".into()));
        assert_eq!(catalog.resolve_active(ReferenceKind::District, " Putuo "), Ok("putuo".into()));
        assert!(catalog.resolve_active(ReferenceKind::District, "旧区").expect_err("inactive").contains("no longer"));
        assert!(catalog.resolve_active(ReferenceKind::District, "旅游").expect_err("other kind").contains("putuo"));
        assert_eq!(catalog.resolve_active(ReferenceKind::District, " "), Err("is required".into()));
        assert_eq!(catalog.find(ReferenceKind::District, "old").map(|i| i.name.as_str()), Some("旧区"));
    }

    #[test]
    fn a_change_takes_only_the_masked_fields() {
        let change =
            ReferenceChange::parse(&["name".into(), "active".into()], "舟山新城", "", false, 9, "item").expect("valid");
        assert_eq!(
            change,
            ReferenceChange { name: Some("舟山新城".into()), name_en: None, active: Some(false), sort_order: None }
        );
        assert!(ReferenceChange::parse(&["code".into()], "", "", true, 0, "item").is_err());
        assert!(ReferenceChange::parse(&["name".into()], " ", "", true, 0, "item").is_err());
    }
}
