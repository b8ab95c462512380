//! The think tank (智库): experts with their fields of expertise (领域), attached to topics.

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{optional_text, push_length_prefixed, required_text};

/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 50;
/// Longest field of expertise, in characters.
pub const MAX_FIELD_CHARS: usize = 50;
/// Most fields of expertise.
pub const MAX_FIELDS: usize = 20;
/// Longest organisation, in characters.
pub const MAX_ORGANISATION_CHARS: usize = 200;
/// Longest title, in characters.
pub const MAX_TITLE_CHARS: usize = 50;
/// Longest biography, in characters.
pub const MAX_BIO_CHARS: usize = 2_000;

/// Fields UpdateExpert may change.
pub const UPDATABLE: &[&str] = &["name", "fields", "organisation", "title", "bio", "active"];

/// An expert's fields as a request gives them.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExpertInput<'a> {
    /// Name.
    pub name: &'a str,
    /// Fields of expertise.
    pub fields: &'a [String],
    /// Organisation.
    pub organisation: &'a str,
    /// Title.
    pub title: &'a str,
    /// Biography.
    pub bio: &'a str,
}

/// An expert's checked fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewExpert {
    /// Name, e.g. 李某某.
    pub name: String,
    /// Fields of expertise, e.g. 金融, 港航物流; at least one, in the order given, without duplicates.
    pub fields: Vec<String>,
    /// Organisation, e.g. 浙江海洋大学 (may be empty).
    pub organisation: String,
    /// Title, e.g. 教授 (may be empty).
    pub title: String,
    /// Short biography (may be empty).
    pub bio: String,
}

impl NewExpert {
    /// Checks every field, reporting each problem under `prefix.<field>`.
    pub fn parse(input: &ExpertInput<'_>, prefix: &str) -> Result<Self, ServiceError> {
        let field = |name: &str| format!("{prefix}.{name}");
        let mut v = Violations::new();
        let name = v.check(required_text(input.name, MAX_NAME_CHARS, &field("name")));
        let mut fields: Vec<String> = Vec::new();
        if input.fields.is_empty() {
            v.add(field("fields"), "at least one field of expertise (领域) is required, e.g. 金融");
        } else if input.fields.len() > MAX_FIELDS {
            v.add(field("fields"), format!("at most {MAX_FIELDS} fields of expertise are allowed"));
        } else {
            for (i, raw) in input.fields.iter().enumerate() {
                if let Some(f) = v.check(required_text(raw, MAX_FIELD_CHARS, &format!("{prefix}.fields[{i}]")))
                    && !fields.contains(&f)
                {
                    fields.push(f);
                }
            }
        }
        let organisation = v.check(optional_text(input.organisation, MAX_ORGANISATION_CHARS, &field("organisation")));
        let title = v.check(optional_text(input.title, MAX_TITLE_CHARS, &field("title")));
        let bio = v.check(optional_text(input.bio, MAX_BIO_CHARS, &field("bio")));
        v.finish()?;
        match (name, organisation, title, bio) {
            (Some(name), Some(organisation), Some(title), Some(bio)) => {
                Ok(Self { name, fields, organisation, title, bio })
            }
            _ => Err(ServiceError::internal("a checked expert field is missing")),
        }
    }

    /// What identifies the request that created the expert, for idempotent retries.
    pub fn fingerprint(&self) -> String {
        let mut out = String::new();
        for part in [&self.name, &self.fields.join("\u{1f}"), &self.organisation, &self.title, &self.bio] {
            push_length_prefixed(&mut out, part);
        }
        out
    }
}

/// A stored expert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expert {
    /// Identifier.
    pub id: String,
    /// The checked fields.
    pub fields: NewExpert,
    /// Topics the expert is attached to.
    pub topic_ids: Vec<String>,
    /// Whether the expert is currently in the think tank.
    pub active: bool,
    /// Revision (the etag).
    pub version: i64,
    /// When the record was created.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

impl Expert {
    /// `Ok` if the expert may be attached to a topic: only an active one.
    pub fn check_attachable(&self) -> Result<(), ServiceError> {
        if self.active {
            Ok(())
        } else {
            Err(ServiceError::FailedPrecondition(format!(
                "expert {} is inactive (no longer in the think tank) and cannot be attached",
                self.id
            )))
        }
    }
}

/// What a list of experts is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExpertFilter {
    /// Only experts with this field of expertise.
    pub field: Option<String>,
    /// Only experts attached to this topic.
    pub topic_id: Option<String>,
    /// Also inactive experts.
    pub include_inactive: bool,
}

impl ExpertFilter {
    /// A digest of the filter, binding page tokens to it.
    pub fn digest(&self) -> String {
        let mut out = String::new();
        push_length_prefixed(&mut out, self.field.as_deref().unwrap_or(""));
        push_length_prefixed(&mut out, self.topic_id.as_deref().unwrap_or(""));
        push_length_prefixed(&mut out, if self.include_inactive { "all" } else { "active" });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expert_needs_a_name_and_a_field() {
        let fields = vec!["金融".to_owned(), " 金融 ".to_owned(), "海洋经济".to_owned()];
        let input =
            ExpertInput {
                name: " 李某某 ", fields: &fields, organisation: "浙江海洋大学", ..Default::default()
            };
        let expert = NewExpert::parse(&input, "expert").expect("valid");
        assert_eq!(expert.name, "李某某");
        assert_eq!(expert.fields, ["金融", "海洋经济"]);

        let ServiceError::InvalidArgument(v) = NewExpert::parse(&ExpertInput::default(), "expert").expect_err("bad")
        else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["expert.name", "expert.fields"]);
    }
}
