//! The intake domain: enterprises and their identity. Pure rules, no transport or storage types.

use std::fmt;

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};

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
}

/// Longest enterprise name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest free-text description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest district or industry name, in characters.
pub const MAX_LABEL_CHARS: usize = 64;

/// An enterprise to register, every field checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnterprise {
    /// Registered name, e.g. 舟山市某某远洋渔业有限公司.
    pub name: String,
    /// Unified social credit code.
    pub credit_code: CreditCode,
    /// District, e.g. 定海区.
    pub district: String,
    /// Industry, e.g. 远洋渔业.
    pub industry: String,
    /// Size class.
    pub size: EnterpriseSize,
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
    /// District.
    pub district: &'a str,
    /// Industry.
    pub industry: &'a str,
    /// Size as the contract's enum number.
    pub size: i32,
    /// Monitoring point flag.
    pub monitoring_point: bool,
    /// Description.
    pub description: &'a str,
    /// Address.
    pub address: &'a str,
}

impl NewEnterprise {
    /// Checks every field, reporting each problem under `prefix.<field>`.
    pub fn parse(input: &EnterpriseInput<'_>, prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let name = v.check(label(input.name, MAX_NAME_CHARS).map_err(|e| FieldViolation::new(field("name"), e)));
        let credit_code =
            v.check(CreditCode::parse(input.credit_code).map_err(|e| FieldViolation::new(field("credit_code"), e.0)));
        let district =
            v.check(label(input.district, MAX_LABEL_CHARS).map_err(|e| FieldViolation::new(field("district"), e)));
        let industry =
            v.check(label(input.industry, MAX_LABEL_CHARS).map_err(|e| FieldViolation::new(field("industry"), e)));
        let size = v.check(
            EnterpriseSize::from_i32(input.size)
                .ok_or_else(|| FieldViolation::new(field("size"), "size must be one of MICRO, SMALL, MEDIUM, LARGE")),
        );
        let description = v.check(
            optional_text(input.description, MAX_DESCRIPTION_CHARS)
                .map_err(|e| FieldViolation::new(field("description"), e)),
        );
        let address =
            v.check(optional_text(input.address, MAX_NAME_CHARS).map_err(|e| FieldViolation::new(field("address"), e)));
        v.finish()?;
        match (name, credit_code, district, industry, size, description, address) {
            (
                Some(name),
                Some(credit_code),
                Some(district),
                Some(industry),
                Some(size),
                Some(description),
                Some(address),
            ) => Ok(Self {
                name,
                credit_code,
                district,
                industry,
                size,
                monitoring_point: input.monitoring_point,
                description,
                address,
            }),
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }
}

fn optional_text(raw: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    let n = value.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; at most {max} are allowed"));
    }
    Ok(value.to_owned())
}

fn label(raw: &str, max: usize) -> Result<String, String> {
    let value = raw.trim();
    if value.is_empty() {
        return Err("is required".into());
    }
    let n = value.chars().count();
    if n > max {
        return Err(format!("is {n} characters long; at most {max} are allowed"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(value.to_owned())
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let ServiceError::InvalidArgument(violations) = NewEnterprise::parse(&input, "enterprise").expect_err("bad")
        else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["enterprise.name", "enterprise.credit_code", "enterprise.industry", "enterprise.size"]);
    }
}
