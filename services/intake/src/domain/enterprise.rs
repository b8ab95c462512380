//! Enterprises (企业) and their identity, plus the checks every intake area shares (texts, ids, update
//! masks, etags, request fingerprints). Pure rules, no transport or storage types; paging is in
//! [`super::paging`].

use std::fmt;

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};

use super::reference::{ReferenceCatalog, ReferenceKind};

/// The characters of a unified social credit code, in value order (GB 32100-2015: digits and the
/// capital letters except I, O, Z, S, V).
const CODE_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weights of the first 17 characters for the check character: 3^i mod 31.
const CODE_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
/// Weights of the organisation code (GB 11714-1997) for its own check character.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// A unified social credit code (统一社会信用代码) that passed every check of GB 32100-2015: 18
/// characters from the code's alphabet, a known registration authority with one of its institution
/// types, a six-digit administrative division, a well-formed organisation code (GB 11714 check
/// character) and the right check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CreditCode(String);

/// Why a credit code is not valid, in words for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditCodeError(pub String);

impl fmt::Display for CreditCodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn code_value(c: u8) -> Option<u32> {
    CODE_CHARS.iter().position(|&x| x == c).map(|p| p as u32)
}

/// Institution types allowed for each registration authority (GB 32100-2015, table 1 and 2).
fn institution_types(authority: u8) -> Option<&'static [u8]> {
    Some(match authority {
        b'1' => b"1239",   // 机构编制
        b'2' => b"19",     // 外交
        b'3' => b"123459", // 司法行政
        b'4' => b"1239",   // 文化
        b'5' => b"1239",   // 民政
        b'6' => b"129",    // 旅游
        b'7' => b"129",    // 宗教
        b'8' => b"19",     // 工会
        b'9' => b"123",    // 工商 (市场监管)
        b'A' => b"19",     // 中央军委改革和编制办公室
        b'N' => b"12345",  // 农业
        b'Y' => b"1",      // 其他
        _ => return None,
    })
}

impl CreditCode {
    /// Parses a code, accepting lower-case letters and surrounding spaces.
    pub fn parse(raw: &str) -> Result<Self, CreditCodeError> {
        let code = raw.trim().to_ascii_uppercase();
        let bytes = code.as_bytes();
        if code.chars().count() != 18 || bytes.len() != 18 {
            return Err(CreditCodeError(format!(
                "a unified social credit code has 18 characters, this one has {}",
                raw.trim().chars().count()
            )));
        }
        if let Some(bad) = bytes.iter().position(|&c| code_value(c).is_none()) {
            return Err(CreditCodeError(format!(
                "character {} ({:?}) is not allowed: only digits and capital letters other than I, O, Z, S, V",
                bad + 1,
                bytes[bad] as char
            )));
        }
        let types = institution_types(bytes[0])
            .ok_or_else(|| CreditCodeError(format!("{:?} is not a registration authority code", bytes[0] as char)))?;
        if !types.contains(&bytes[1]) {
            return Err(CreditCodeError(format!(
                "{:?} is not an institution type of registration authority {:?}",
                bytes[1] as char, bytes[0] as char
            )));
        }
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(CreditCodeError(
                "characters 3 to 8 must be the six digits of an administrative division".into(),
            ));
        }
        let org = &bytes[8..17];
        let sum: u32 = org[..8]
            .iter()
            .zip(ORG_WEIGHTS)
            .map(|(&c, w)| {
                let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
                v * w
            })
            .sum();
        let expected_org = match 11 - sum % 11 {
            10 => b'X',
            11 => b'0',
            n => b'0' + n as u8,
        };
        if org[8] != expected_org {
            return Err(CreditCodeError(format!(
                "the organisation code (characters 9 to 17) is malformed: its check character should be {:?}",
                expected_org as char
            )));
        }
        let expected = Self::check_character(&bytes[..17]);
        if bytes[17] != expected {
            return Err(CreditCodeError(format!(
                "the check character (18th) should be {:?}, not {:?}",
                expected as char, bytes[17] as char
            )));
        }
        Ok(Self(code))
    }

    /// The GB 32100-2015 check character of the first 17 characters (which must be from the
    /// alphabet).
    pub fn check_character(first17: &[u8]) -> u8 {
        let sum: u32 = first17.iter().zip(CODE_WEIGHTS).map(|(&c, w)| code_value(c).unwrap_or(0) * w).sum();
        CODE_CHARS[((31 - sum % 31) % 31) as usize]
    }

    /// The code, upper case.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Size class of an enterprise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterpriseSize {
    /// 微型.
    Micro,
    /// 小型.
    Small,
    /// 中型.
    Medium,
    /// 大型.
    Large,
}

impl EnterpriseSize {
    /// The stored number (the contract's enum value).
    pub fn as_i32(self) -> i32 {
        match self {
            Self::Micro => 1,
            Self::Small => 2,
            Self::Medium => 3,
            Self::Large => 4,
        }
    }

    /// From the stored number.
    pub fn from_i32(n: i32) -> Option<Self> {
        Some(match n {
            1 => Self::Micro,
            2 => Self::Small,
            3 => Self::Medium,
            4 => Self::Large,
            _ => return None,
        })
    }

    /// An optional size as stored: 0 when unknown.
    pub fn optional_to_i32(size: Option<Self>) -> i32 {
        size.map_or(0, Self::as_i32)
    }
}

/// Longest enterprise name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest description of the main business, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Longest address, in characters.
pub const MAX_ADDRESS_CHARS: usize = 200;
/// Longest name search text of ListEnterprises, in characters.
pub const MAX_NAME_QUERY_CHARS: usize = 200;
/// Fields UpdateEnterprise may change, in the order they are reported.
pub const ENTERPRISE_UPDATE_PATHS: &[&str] =
    &["name", "credit_code", "district", "industry", "size", "monitoring_point", "description", "address"];

/// An enterprise's fields, every one checked; district and industry are reference codes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnterprise {
    /// Registered name, e.g. 舟山市某某远洋渔业有限公司.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: CreditCode,
    /// District code (REFERENCE_KIND_DISTRICT), e.g. `daishan` for 岱山县.
    pub district: String,
    /// Industry code (REFERENCE_KIND_INDUSTRY), e.g. `ocean_fishing` for 远洋渔业.
    pub industry: String,
    /// Size class, if known.
    pub size: Option<EnterpriseSize>,
    /// Whether it is a business-environment monitoring point (营商环境监测点).
    pub monitoring_point: bool,
    /// What the enterprise does, in its own words (may be empty).
    pub description: String,
    /// Registered address (may be empty).
    pub address: String,
}

/// The raw fields of an enterprise as a caller sent them.
#[derive(Debug, Clone, Default)]
pub struct EnterpriseInput<'a> {
    /// Name.
    pub name: &'a str,
    /// Credit code.
    pub credit_code: &'a str,
    /// District: a code or a display name.
    pub district: &'a str,
    /// Industry: a code or a display name.
    pub industry: &'a str,
    /// Size as the contract's enum number (0 = unknown).
    pub size: i32,
    /// Monitoring point flag.
    pub monitoring_point: bool,
    /// Description.
    pub description: &'a str,
    /// Address.
    pub address: &'a str,
}

impl NewEnterprise {
    /// Checks every field, reporting each problem under `prefix.<field>`; district and industry must
    /// name active items of `catalog` (by code or display name) and are stored as codes.
    pub fn parse(input: &EnterpriseInput<'_>, prefix: &str, catalog: &ReferenceCatalog) -> Result<Self, ServiceError> {
        Self::check(input, prefix, catalog, ENTERPRISE_UPDATE_PATHS, None)
    }

    /// These fields with the masked `paths` taken from `input` (checked as on registration; the
    /// others are kept as they are), and the paths whose value actually changed.
    pub fn with_changes(
        &self,
        input: &EnterpriseInput<'_>,
        paths: &[&'static str],
        prefix: &str,
        catalog: &ReferenceCatalog,
    ) -> Result<(Self, Vec<&'static str>), ServiceError> {
        let changed = Self::check(input, prefix, catalog, paths, Some(self))?;
        let differs = |path: &str| match path {
            "name" => self.name != changed.name,
            "credit_code" => self.credit_code != changed.credit_code,
            "district" => self.district != changed.district,
            "industry" => self.industry != changed.industry,
            "size" => self.size != changed.size,
            "monitoring_point" => self.monitoring_point != changed.monitoring_point,
            "description" => self.description != changed.description,
            _ => self.address != changed.address,
        };
        let paths = ENTERPRISE_UPDATE_PATHS.iter().copied().filter(|p| paths.contains(p) && differs(p)).collect();
        Ok((changed, paths))
    }

    fn check(
        input: &EnterpriseInput<'_>,
        prefix: &str,
        catalog: &ReferenceCatalog,
        paths: &[&str],
        base: Option<&Self>,
    ) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let masked = |name: &str| paths.contains(&name);
        let mut v = Violations::new();
        let name = if masked("name") {
            v.check(line_text(input.name, MAX_NAME_CHARS, true).map_err(|e| FieldViolation::new(field("name"), e)))
        } else {
            base.map(|b| b.name.clone())
        };
        let credit_code = if masked("credit_code") {
            v.check(CreditCode::parse(input.credit_code).map_err(|e| FieldViolation::new(field("credit_code"), e.0)))
        } else {
            base.map(|b| b.credit_code.clone())
        };
        let district = if masked("district") {
            v.check(
                catalog
                    .resolve_active(ReferenceKind::District, input.district)
                    .map_err(|e| FieldViolation::new(field("district"), e)),
            )
        } else {
            base.map(|b| b.district.clone())
        };
        let industry = if masked("industry") {
            v.check(
                catalog
                    .resolve_active(ReferenceKind::Industry, input.industry)
                    .map_err(|e| FieldViolation::new(field("industry"), e)),
            )
        } else {
            base.map(|b| b.industry.clone())
        };
        let size = if masked("size") {
            match input.size {
                0 => Some(None),
                n => v.check(EnterpriseSize::from_i32(n).map(Some).ok_or_else(|| {
                    FieldViolation::new(
                        field("size"),
                        "size must be one of MICRO, SMALL, MEDIUM, LARGE (or unspecified)",
                    )
                })),
            }
        } else {
            base.map(|b| b.size)
        };
        let monitoring_point =
            if masked("monitoring_point") { Some(input.monitoring_point) } else { base.map(|b| b.monitoring_point) };
        let description = if masked("description") {
            v.check(
                free_text(input.description, MAX_DESCRIPTION_CHARS, false)
                    .map_err(|e| FieldViolation::new(field("description"), e)),
            )
        } else {
            base.map(|b| b.description.clone())
        };
        let address = if masked("address") {
            v.check(
                line_text(input.address, MAX_ADDRESS_CHARS, false)
                    .map_err(|e| FieldViolation::new(field("address"), e)),
            )
        } else {
            base.map(|b| b.address.clone())
        };
        v.finish()?;
        match (name, credit_code, district, industry, size, monitoring_point, description, address) {
            (
                Some(name),
                Some(credit_code),
                Some(district),
                Some(industry),
                Some(size),
                Some(monitoring_point),
                Some(description),
                Some(address),
            ) => Ok(Self { name, credit_code, district, industry, size, monitoring_point, description, address }),
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// What a registration asked for, kept with its request id so a retry with another payload is told
    /// apart from a true retry.
    pub fn fingerprint(&self) -> String {
        request_fingerprint(
            "enterprise",
            &[
                &self.name,
                self.credit_code.as_str(),
                &self.district,
                &self.industry,
                &EnterpriseSize::optional_to_i32(self.size).to_string(),
                if self.monitoring_point { "1" } else { "0" },
                &self.description,
                &self.address,
            ],
        )
    }
}

/// A registered enterprise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enterprise {
    /// Identifier.
    pub id: String,
    /// The checked fields.
    pub fields: NewEnterprise,
    /// When it was registered.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
    /// Revision, incremented by every change (the etag).
    pub version: i64,
    /// Who registered it.
    pub created_by: String,
    /// When the latest contact (一周一联系) with it took place, if any.
    pub last_contact_time: Option<DateTime<Utc>>,
}

/// The filters of ListEnterprises, checked; district and industry are codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnterpriseFilter {
    /// Only this district.
    pub district: Option<String>,
    /// Only this industry.
    pub industry: Option<String>,
    /// Only monitoring points.
    pub monitoring_points_only: bool,
    /// Only names containing this text (ASCII case ignored).
    pub name_query: Option<String>,
    /// Only this size class.
    pub size: Option<EnterpriseSize>,
}

impl EnterpriseFilter {
    /// Checks the filters: district and industry may be given by code or display name of any item
    /// (inactive ones too, so old records stay findable); each problem is reported under its field.
    pub fn parse(
        district: &str,
        industry: &str,
        monitoring_points_only: bool,
        name_query: &str,
        size: i32,
        catalog: &ReferenceCatalog,
    ) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let reference = |kind: ReferenceKind, raw: &str, field: &str| -> Result<Option<String>, FieldViolation> {
            if raw.trim().is_empty() {
                return Ok(None);
            }
            catalog
                .find(kind, raw)
                .map(|item| Some(item.code.clone()))
                .ok_or_else(|| FieldViolation::new(field, format!("{:?} is not a known {}", raw.trim(), kind.noun())))
        };
        let district = v.check(reference(ReferenceKind::District, district, "district"));
        let industry = v.check(reference(ReferenceKind::Industry, industry, "industry"));
        let name_query = v.check(
            line_text(name_query, MAX_NAME_QUERY_CHARS, false)
                .map(|q| Some(q).filter(|q| !q.is_empty()))
                .map_err(|e| FieldViolation::new("name_query", e)),
        );
        let size = match size {
            0 => Some(None),
            n => v.check(
                EnterpriseSize::from_i32(n)
                    .map(Some)
                    .ok_or_else(|| FieldViolation::new("size", "must be MICRO, SMALL, MEDIUM, LARGE or unspecified")),
            ),
        };
        v.finish()?;
        Ok(Self {
            district: district.flatten(),
            industry: industry.flatten(),
            monitoring_points_only,
            name_query: name_query.flatten(),
            size: size.flatten(),
        })
    }

    /// A digest of the filters, carried in page tokens so a token is only valid with the same filters.
    pub fn digest(&self) -> String {
        request_fingerprint(
            "enterprise_filter",
            &[
                self.district.as_deref().unwrap_or(""),
                self.industry.as_deref().unwrap_or(""),
                if self.monitoring_points_only { "1" } else { "0" },
                self.name_query.as_deref().unwrap_or(""),
                &EnterpriseSize::optional_to_i32(self.size).to_string(),
            ],
        )
    }
}

// Checks and helpers shared by the intake areas (reference data, enterprises, contacts, roundtables).

/// Checks a one-line text: trimmed, at most `max` characters, no control characters; empty is
/// refused when `required`. Returns why not, for a field violation.
pub fn line_text(raw: &str, max: usize, required: bool) -> Result<String, String> {
    bounded_text(raw, max, required, false)
}

/// Checks a free text that may span lines (line breaks and tabs allowed, other control characters
/// not): trimmed, at most `max` characters; empty is refused when `required`.
pub fn free_text(raw: &str, max: usize, required: bool) -> Result<String, String> {
    bounded_text(raw, max, required, true)
}

fn bounded_text(raw: &str, max: usize, required: bool, multiline: bool) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return if required { Err("is required".into()) } else { Ok(String::new()) };
    }
    let n = value.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; at most {max} are allowed"));
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
}

/// Checks an identifier the service issued (a UUID), as a violation of `field`.
pub fn checked_id(raw: &str, field: impl Into<String>) -> Result<String, FieldViolation> {
    let field = field.into();
    tingjian_runtime::wire::parse_id(raw, &field)
        .map_err(|_| FieldViolation::new(field, "must be an identifier returned by the service (a UUID)"))
}

/// Checks a list of caller subjects (members, staff, hosts): each 1–`max_chars` characters without
/// control characters, at most `max_items` distinct ones; duplicates are dropped, order kept. Problems
/// are reported under `field[i]` (or `field` for the count).
pub fn subject_list(
    raw: &[String],
    field: &str,
    max_items: usize,
    max_chars: usize,
) -> Vec<Result<String, FieldViolation>> {
    let mut out: Vec<Result<String, FieldViolation>> = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for (i, subject) in raw.iter().enumerate() {
        match line_text(subject, max_chars, true) {
            Ok(s) if seen.contains(&s) => {}
            Ok(s) => {
                seen.push(s.clone());
                out.push(Ok(s));
            }
            Err(e) => out.push(Err(FieldViolation::new(format!("{field}[{i}]"), e))),
        }
    }
    if seen.len() > max_items {
        out.push(Err(FieldViolation::new(field, format!("{} given; at most {max_items} are allowed", seen.len()))));
    }
    out
}

/// A stable digest (FNV-1a, 128 bits, hex) of a create request's checked fields: stored with its
/// request id so a retry with the same payload is recognised and another payload is refused. Not a
/// cryptographic hash: it tells accidental reuse apart, nothing more.
pub fn request_fingerprint(kind: &str, parts: &[&str]) -> String {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    // Length-prefixed, so ("ab", "c") and ("a", "bc") differ.
    let mut text = String::new();
    for part in std::iter::once(&kind).chain(parts) {
        push_length_prefixed(&mut text, part);
    }
    let hash = text.bytes().fold(OFFSET, |hash, b| (hash ^ u128::from(b)).wrapping_mul(PRIME));
    format!("{hash:032x}")
}

pub use tingjian_runtime::fields::{etag_is_stale, parse_update_mask, push_length_prefixed};

/// An instant at microsecond precision, as both backends store it.
pub fn to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// Clock skew tolerated on times that must not be in the future.
pub const FUTURE_SKEW: Duration = Duration::minutes(5);

/// Checks when something took place: not in the future (beyond a few minutes of clock skew) and not
/// before 2000. Returns it at microsecond precision, or why not.
pub fn past_time(t: DateTime<Utc>, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let earliest = DateTime::<Utc>::from_timestamp(946_684_800, 0).unwrap_or(DateTime::<Utc>::MIN_UTC);
    if t > now + FUTURE_SKEW {
        return Err("must not be in the future".into());
    }
    if t < earliest {
        return Err("must not be before 2000".into());
    }
    Ok(to_micros(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ReferenceItem;
    use crate::domain::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page, PageRequest};

    /// Builds a valid code from 16 leading characters by adding both check characters.
    fn valid(prefix16: &str) -> String {
        let mut bytes = prefix16.as_bytes().to_vec();
        let sum: u32 = bytes[8..16]
            .iter()
            .zip(ORG_WEIGHTS)
            .map(|(&c, w)| if c.is_ascii_digit() { u32::from(c - b'0') * w } else { (u32::from(c - b'A') + 10) * w })
            .sum();
        bytes.push(match 11 - sum % 11 {
            10 => b'X',
            11 => b'0',
            n => b'0' + n as u8,
        });
        let check = CreditCode::check_character(&bytes);
        bytes.push(check);
        String::from_utf8(bytes).expect("ascii")
    }

    #[test]
    fn the_standards_example_is_valid() {
        // The example code printed in GB 32100-2015.
        assert!(CreditCode::parse("91350100M000100Y43").is_ok());
        assert_eq!(CreditCode::parse(" 91350100m000100y43 ").expect("valid").as_str(), "91350100M000100Y43");
    }

    #[test]
    fn every_single_character_change_is_caught() {
        // 9 (market regulation) 1 (enterprise), 330900 (舟山市), organisation code 79852310?.
        let code = valid("9133090079852310");
        assert!(CreditCode::parse(&code).is_ok(), "{code}");
        for i in [0usize, 1, 2, 8, 12, 16, 17] {
            for c in CODE_CHARS {
                if code.as_bytes()[i] == *c {
                    continue;
                }
                let mut changed = code.clone().into_bytes();
                changed[i] = *c;
                let changed = String::from_utf8(changed).expect("ascii");
                assert!(CreditCode::parse(&changed).is_err(), "{changed} accepted");
            }
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(CreditCode::parse("9133").expect_err("short").0.contains("18 characters"));
        assert!(CreditCode::parse("91350100M000100YI3").expect_err("I").0.contains("not allowed"));
        assert!(CreditCode::parse("B1350100M000100Y43").expect_err("authority").0.contains("registration authority"));
        assert!(CreditCode::parse("95350100M000100Y43").expect_err("type").0.contains("institution type"));
        assert!(CreditCode::parse("91350100M000100Y44").expect_err("check").0.contains("check character"));
        assert!(CreditCode::parse("９１350100M000100Y43").is_err(), "full-width digits are refused");
    }

    fn catalog() -> ReferenceCatalog {
        let item = |kind, code: &str, name: &str, active| ReferenceItem {
            kind,
            code: code.into(),
            name: name.into(),
            name_en: String::new(),
            active,
            sort_order: 0,
            create_time: tingjian_runtime::clock::now(),
            update_time: tingjian_runtime::clock::now(),
        };
        ReferenceCatalog::new(vec![
            item(ReferenceKind::District, "dinghai", "定海区", true),
            item(ReferenceKind::District, "putuo", "普陀区", true),
            item(ReferenceKind::District, "old_town", "老城区", false),
            item(ReferenceKind::Industry, "ocean_fishing", "远洋渔业", true),
            item(ReferenceKind::Industry, "tourism", "旅游", true),
        ])
    }

    fn input<'a>() -> EnterpriseInput<'a> {
        EnterpriseInput {
            name: "舟山市海之味远洋渔业有限公司",
            credit_code: "91350100M000100Y43",
            district: "定海区",
            industry: "ocean_fishing",
            size: 3,
            monitoring_point: true,
            description: "远洋捕捞\n水产品加工",
            address: "舟山市定海区",
        }
    }

    #[test]
    fn an_enterprise_reports_every_bad_field() {
        let input = EnterpriseInput {
            name: "",
            credit_code: "123",
            district: "定海区",
            industry: "",
            size: 9,
            monitoring_point: false,
            description: "",
            address: "",
        };
        let ServiceError::InvalidArgument(violations) =
            NewEnterprise::parse(&input, "enterprise", &catalog()).expect_err("bad")
        else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["enterprise.name", "enterprise.credit_code", "enterprise.industry", "enterprise.size"]);
    }

    #[test]
    fn districts_and_industries_are_stored_as_codes() {
        let parsed = NewEnterprise::parse(&input(), "enterprise", &catalog()).expect("valid");
        assert_eq!((parsed.district.as_str(), parsed.industry.as_str()), ("dinghai", "ocean_fishing"));
        assert_eq!(parsed.size, Some(EnterpriseSize::Medium));
        let unknown = EnterpriseInput { district: "杭州", industry: "旧区", ..input() };
        let ServiceError::InvalidArgument(violations) =
            NewEnterprise::parse(&unknown, "enterprise", &catalog()).expect_err("unknown")
        else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["enterprise.district", "enterprise.industry"]);
        let inactive = EnterpriseInput { district: "old_town", ..input() };
        assert!(NewEnterprise::parse(&inactive, "enterprise", &catalog()).is_err(), "an inactive district is refused");
        let no_size = EnterpriseInput { size: 0, ..input() };
        assert_eq!(NewEnterprise::parse(&no_size, "enterprise", &catalog()).expect("valid").size, None);
    }

    #[test]
    fn names_and_texts_are_bounded_in_characters() {
        let long_name = "舟".repeat(MAX_NAME_CHARS);
        assert!(NewEnterprise::parse(&EnterpriseInput { name: &long_name, ..input() }, "e", &catalog()).is_ok());
        let too_long = "舟".repeat(MAX_NAME_CHARS + 1);
        assert!(NewEnterprise::parse(&EnterpriseInput { name: &too_long, ..input() }, "e", &catalog()).is_err());
        let description = "字".repeat(MAX_DESCRIPTION_CHARS + 1);
        assert!(
            NewEnterprise::parse(&EnterpriseInput { description: &description, ..input() }, "e", &catalog()).is_err()
        );
        assert!(NewEnterprise::parse(&EnterpriseInput { name: "a\u{7}b", ..input() }, "e", &catalog()).is_err());
    }

    #[test]
    fn changes_touch_only_the_masked_fields() {
        let catalog = catalog();
        let mut current = NewEnterprise::parse(&input(), "enterprise", &catalog).expect("valid");
        // A district deactivated since registration stays on the record while other fields change.
        current.district = "old_town".into();
        let change =
            EnterpriseInput { name: "新名称", district: "", industry: "旅游", ..EnterpriseInput::default() };
        let (changed, paths) =
            current.with_changes(&change, &["name", "industry"], "enterprise", &catalog).expect("valid change");
        assert_eq!(paths, ["name", "industry"]);
        assert_eq!((changed.name.as_str(), changed.industry.as_str()), ("新名称", "tourism"));
        assert_eq!(changed.district, "old_town");
        assert_eq!(changed.credit_code, current.credit_code);
        let (_, unchanged) =
            current.with_changes(&input(), &["monitoring_point"], "enterprise", &catalog).expect("same value");
        assert!(unchanged.is_empty(), "setting a field to its value changes nothing");
        let bad = EnterpriseInput { credit_code: "91350100M000100Y44", ..input() };
        assert!(current.with_changes(&bad, &["credit_code"], "enterprise", &catalog).is_err());
    }

    #[test]
    fn update_masks_name_known_fields() {
        let paths = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            parse_update_mask(&paths(&["address", "name", "name"]), ENTERPRISE_UPDATE_PATHS).expect("valid"),
            ["name", "address"]
        );
        assert_eq!(parse_update_mask(&paths(&["*"]), ENTERPRISE_UPDATE_PATHS).expect("all"), ENTERPRISE_UPDATE_PATHS);
        for bad in [&[][..], &["id"][..], &["name", "etag"][..]] {
            let err = parse_update_mask(&paths(bad), ENTERPRISE_UPDATE_PATHS).expect_err("invalid");
            assert!(matches!(&err, ServiceError::InvalidArgument(v) if v[0].field == "update_mask"), "{err:?}");
        }
    }

    #[test]
    fn etags_are_checked_only_when_given() {
        assert!(!etag_is_stale("", 3));
        assert!(!etag_is_stale("v3", 3));
        assert!(etag_is_stale("v2", 3));
        assert!(etag_is_stale("garbage", 3));
    }

    #[test]
    fn fingerprints_tell_payloads_apart() {
        let a = request_fingerprint("x", &["ab", "c"]);
        assert_eq!(a, request_fingerprint("x", &["ab", "c"]));
        assert_ne!(a, request_fingerprint("x", &["a", "bc"]));
        assert_ne!(a, request_fingerprint("y", &["ab", "c"]));
        assert_eq!(a.len(), 32);
        let parsed = NewEnterprise::parse(&input(), "enterprise", &catalog()).expect("valid");
        let mut other = parsed.clone();
        other.monitoring_point = false;
        assert_ne!(parsed.fingerprint(), other.fingerprint());
    }

    #[test]
    fn page_tokens_round_trip_and_refuse_foreign_ones() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |n| vec![format!("名{n}"), n.to_string()]);
        assert_eq!(page.items, [1, 2]);
        let token = page.next_token("enterprises", "f1");
        let request = PageRequest::parse(0, &token, "enterprises", "f1", 2).expect("valid");
        assert_eq!(request.size, DEFAULT_PAGE_SIZE);
        assert_eq!(request.after, Some(vec!["名2".to_owned(), "2".to_owned()]));
        assert!(PageRequest::parse(10, &token, "contacts", "f1", 2).is_err(), "another list");
        assert!(PageRequest::parse(10, &token, "enterprises", "f2", 2).is_err(), "other filters");
        assert!(PageRequest::parse(10, "zz", "enterprises", "f1", 2).is_err(), "not hex");
        assert!(PageRequest::parse(10, "abc", "enterprises", "f1", 2).is_err(), "odd length");
        assert!(PageRequest::parse(-1, "", "enterprises", "f1", 2).is_err(), "negative size");
        assert_eq!(PageRequest::parse(9_999, "", "e", "f", 2).expect("capped").size, MAX_PAGE_SIZE);
        let last = Page::from_rows(vec![1, 2], 2, |n| vec![n.to_string()]);
        assert_eq!(last.next_token("enterprises", "f1"), "", "the last page has no token");
    }

    #[test]
    fn past_times_are_checked() {
        let now = tingjian_runtime::clock::now();
        assert!(past_time(now - Duration::days(3), now).is_ok());
        assert!(past_time(now + Duration::minutes(1), now).is_ok(), "clock skew is tolerated");
        assert!(past_time(now + Duration::hours(1), now).is_err());
        assert!(past_time(DateTime::<Utc>::from_timestamp(0, 0).expect("epoch"), now).is_err());
    }

    mod credit_code_properties {
        use proptest::prelude::*;

        use super::super::*;

        /// Registration authorities with their institution types (GB 32100-2015).
        const AUTHORITIES: &[(u8, &[u8])] = &[
            (b'1', b"1239"),
            (b'2', b"19"),
            (b'3', b"123459"),
            (b'4', b"1239"),
            (b'5', b"1239"),
            (b'6', b"129"),
            (b'7', b"129"),
            (b'8', b"19"),
            (b'9', b"123"),
            (b'A', b"19"),
            (b'N', b"12345"),
            (b'Y', b"1"),
        ];

        /// A valid code: an authority and one of its types, a six-digit division, an eight-character
        /// organisation body from the code's alphabet, then both check characters computed.
        fn valid_code() -> impl Strategy<Value = String> {
            let authority = (0..AUTHORITIES.len()).prop_flat_map(|a| {
                let (code, types) = AUTHORITIES[a];
                (Just(code), proptest::sample::select(types.to_vec()))
            });
            let division = proptest::collection::vec(proptest::sample::select(b"0123456789".to_vec()), 6);
            let body = proptest::collection::vec(proptest::sample::select(CODE_CHARS.to_vec()), 8);
            (authority, division, body).prop_map(|((a, t), division, body)| {
                let mut bytes = vec![a, t];
                bytes.extend(division);
                let sum: u32 = body
                    .iter()
                    .zip(ORG_WEIGHTS)
                    .map(
                        |(&c, w)| {
                            if c.is_ascii_digit() { u32::from(c - b'0') * w } else { (u32::from(c - b'A') + 10) * w }
                        },
                    )
                    .sum();
                bytes.extend(body);
                bytes.push(match 11 - sum % 11 {
                    10 => b'X',
                    11 => b'0',
                    n => b'0' + n as u8,
                });
                bytes.push(CreditCode::check_character(&bytes));
                String::from_utf8(bytes).expect("ascii")
            })
        }

        /// Characters a corruption may put in: the code's alphabet, the letters it leaves out, and
        /// characters that never belong in a code.
        fn replacement() -> impl Strategy<Value = char> {
            let mut chars: Vec<char> = CODE_CHARS.iter().map(|&c| c as char).collect();
            chars.extend(['I', 'O', 'S', 'V', 'Z', '-', '*', '中', '９']);
            proptest::sample::select(chars)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2_000))]

            #[test]
            fn every_generated_code_is_accepted(code in valid_code()) {
                let parsed = CreditCode::parse(&code);
                prop_assert!(parsed.is_ok(), "{} refused: {:?}", code, parsed);
                let parsed = parsed.expect("valid");
                prop_assert_eq!(parsed.as_str(), code.as_str());
            }

            #[test]
            fn every_single_character_corruption_is_rejected(
                code in valid_code(),
                position in 0usize..18,
                with in replacement(),
            ) {
                let mut chars: Vec<char> = code.chars().collect();
                prop_assume!(chars[position] != with);
                chars[position] = with;
                let corrupted: String = chars.into_iter().collect();
                prop_assert!(CreditCode::parse(&corrupted).is_err(), "{} (from {}) accepted", corrupted, code);
            }
        }
    }
}
