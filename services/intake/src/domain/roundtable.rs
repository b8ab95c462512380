//! Monthly roundtables with entrepreneurs (一月一座谈, 助企恳谈): who was invited, who hosted, how many
//! came and what was said. What they raise becomes demands whose origin is the roundtable.

use chrono::{DateTime, Utc};
use tingjian_runtime::ServiceError;
use tingjian_runtime::error::{FieldViolation, Violations};

use super::contact::{MAX_PARTICIPANTS, MAX_SUBJECT_CHARS, checked_time_range};
use super::enterprise::{checked_id, free_text, line_text, past_time, request_fingerprint, subject_list};

/// Longest roundtable title, in characters.
pub const MAX_ROUNDTABLE_TITLE_CHARS: usize = 200;
/// Longest theme, in characters.
pub const MAX_THEME_CHARS: usize = 2_000;
/// Longest venue, in characters.
pub const MAX_VENUE_CHARS: usize = 200;
/// Longest summary, in characters.
pub const MAX_ROUNDTABLE_SUMMARY_CHARS: usize = 10_000;
/// Most enterprises invited to one roundtable.
pub const MAX_INVITED: usize = 500;
/// Highest number of entrepreneurs attending.
pub const MAX_ENTREPRENEURS: i32 = 10_000;
/// Fields UpdateRoundtable may change, in the order they are reported.
pub const ROUNDTABLE_UPDATE_PATHS: &[&str] =
    &["title", "theme", "held_time", "venue", "host_ids", "invited_enterprise_ids", "entrepreneur_count", "summary"];

/// A roundtable's fields, every one checked (the invited enterprises' existence is the store's to check).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoundtable {
    /// Title.
    pub title: String,
    /// Theme put to the entrepreneurs (may be empty).
    pub theme: String,
    /// When it was held (microseconds).
    pub held_time: DateTime<Utc>,
    /// Where (may be empty).
    pub venue: String,
    /// Members and staff who hosted it, distinct, in order.
    pub host_ids: Vec<String>,
    /// Enterprises invited, distinct, in order.
    pub invited_enterprise_ids: Vec<String>,
    /// Entrepreneurs who attended.
    pub entrepreneur_count: i32,
    /// What was said (may be empty).
    pub summary: String,
}

/// The raw fields of a roundtable as a caller sent them.
#[derive(Debug, Clone, Copy, Default)]
pub struct RoundtableInput<'a> {
    /// Title.
    pub title: &'a str,
    /// Theme.
    pub theme: &'a str,
    /// When it was held (unset is refused).
    pub held_time: Option<DateTime<Utc>>,
    /// Venue.
    pub venue: &'a str,
    /// Host subjects.
    pub host_ids: &'a [String],
    /// Invited enterprise ids.
    pub invited_enterprise_ids: &'a [String],
    /// Entrepreneurs who attended.
    pub entrepreneur_count: i32,
    /// Summary.
    pub summary: &'a str,
}

impl NewRoundtable {
    /// Checks every field, reporting problems under `prefix.<field>`; `now` bounds the held time.
    pub fn parse(input: &RoundtableInput<'_>, prefix: &str, now: DateTime<Utc>) -> Result<Self, ServiceError> {
        Self::check(input, prefix, now, ROUNDTABLE_UPDATE_PATHS, None)
    }

    /// These fields with the masked `paths` taken from `input` (checked as on creation), and the
    /// paths whose value actually changed.
    pub fn with_changes(
        &self,
        input: &RoundtableInput<'_>,
        paths: &[&'static str],
        prefix: &str,
        now: DateTime<Utc>,
    ) -> Result<(Self, Vec<&'static str>), ServiceError> {
        let changed = Self::check(input, prefix, now, paths, Some(self))?;
        let differs = |path: &str| match path {
            "title" => self.title != changed.title,
            "theme" => self.theme != changed.theme,
            "held_time" => self.held_time != changed.held_time,
            "venue" => self.venue != changed.venue,
            "host_ids" => self.host_ids != changed.host_ids,
            "invited_enterprise_ids" => self.invited_enterprise_ids != changed.invited_enterprise_ids,
            "entrepreneur_count" => self.entrepreneur_count != changed.entrepreneur_count,
            _ => self.summary != changed.summary,
        };
        let paths = ROUNDTABLE_UPDATE_PATHS.iter().copied().filter(|p| paths.contains(p) && differs(p)).collect();
        Ok((changed, paths))
    }

    fn check(
        input: &RoundtableInput<'_>,
        prefix: &str,
        now: DateTime<Utc>,
        paths: &[&str],
        base: Option<&Self>,
    ) -> Result<Self, ServiceError> {
        let field = |f: &str| format!("{prefix}.{f}");
        let masked = |f: &str| paths.contains(&f);
        let mut v = Violations::new();
        let text = |v: &mut Violations, name: &str, raw: &str, max: usize, required: bool, multiline: bool| {
            let checked = if multiline { free_text(raw, max, required) } else { line_text(raw, max, required) };
            v.check(checked.map_err(|e| FieldViolation::new(field(name), e)))
        };
        let title = if masked("title") {
            text(&mut v, "title", input.title, MAX_ROUNDTABLE_TITLE_CHARS, true, false)
        } else {
            base.map(|b| b.title.clone())
        };
        let theme = if masked("theme") {
            text(&mut v, "theme", input.theme, MAX_THEME_CHARS, false, true)
        } else {
            base.map(|b| b.theme.clone())
        };
        let held_time = if masked("held_time") {
            v.check(match input.held_time {
                None => Err(FieldViolation::new(field("held_time"), "is required")),
                Some(t) => past_time(t, now).map_err(|e| FieldViolation::new(field("held_time"), e)),
            })
        } else {
            base.map(|b| b.held_time)
        };
        let venue = if masked("venue") {
            text(&mut v, "venue", input.venue, MAX_VENUE_CHARS, false, false)
        } else {
            base.map(|b| b.venue.clone())
        };
        let host_ids = if masked("host_ids") {
            let checked = subject_list(input.host_ids, &field("host_ids"), MAX_PARTICIPANTS, MAX_SUBJECT_CHARS);
            Some(checked.into_iter().filter_map(|c| v.check(c)).collect())
        } else {
            base.map(|b| b.host_ids.clone())
        };
        let invited_enterprise_ids = if masked("invited_enterprise_ids") {
            let mut ids: Vec<String> = Vec::new();
            for (i, raw) in input.invited_enterprise_ids.iter().enumerate() {
                if let Some(id) = v.check(checked_id(raw, format!("{}[{i}]", field("invited_enterprise_ids"))))
                    && !ids.contains(&id)
                {
                    ids.push(id);
                }
            }
            if ids.len() > MAX_INVITED {
                v.add(field("invited_enterprise_ids"), format!("at most {MAX_INVITED} enterprises may be invited"));
            }
            Some(ids)
        } else {
            base.map(|b| b.invited_enterprise_ids.clone())
        };
        let entrepreneur_count = if masked("entrepreneur_count") {
            v.check(if (0..=MAX_ENTREPRENEURS).contains(&input.entrepreneur_count) {
                Ok(input.entrepreneur_count)
            } else {
                Err(FieldViolation::new(
                    field("entrepreneur_count"),
                    format!("must be between 0 and {MAX_ENTREPRENEURS}"),
                ))
            })
        } else {
            base.map(|b| b.entrepreneur_count)
        };
        let summary = if masked("summary") {
            text(&mut v, "summary", input.summary, MAX_ROUNDTABLE_SUMMARY_CHARS, false, true)
        } else {
            base.map(|b| b.summary.clone())
        };
        v.finish()?;
        match (title, theme, held_time, venue, host_ids, invited_enterprise_ids, entrepreneur_count, summary) {
            (
                Some(title),
                Some(theme),
                Some(held_time),
                Some(venue),
                Some(host_ids),
                Some(invited_enterprise_ids),
                Some(entrepreneur_count),
                Some(summary),
            ) => Ok(Self {
                title,
                theme,
                held_time,
                venue,
                host_ids,
                invited_enterprise_ids,
                entrepreneur_count,
                summary,
            }),
            _ => Err(ServiceError::internal("a checked field is missing without a violation")),
        }
    }

    /// What the request asked for, kept with its request id.
    pub fn fingerprint(&self) -> String {
        let time = self.held_time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        request_fingerprint(
            "roundtable",
            &[
                &self.title,
                &self.theme,
                &time,
                &self.venue,
                &self.host_ids.join("\u{1f}"),
                &self.invited_enterprise_ids.join(","),
                &self.entrepreneur_count.to_string(),
                &self.summary,
            ],
        )
    }
}

/// A recorded roundtable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roundtable {
    /// Identifier.
    pub id: String,
    /// The fields.
    pub fields: NewRoundtable,
    /// Demands whose origin is this roundtable, oldest first.
    pub demand_ids: Vec<String>,
    /// Revision, incremented by every change (the etag).
    pub version: i64,
    /// Who recorded it.
    pub created_by: String,
    /// When it was recorded.
    pub create_time: DateTime<Utc>,
    /// When it last changed.
    pub update_time: DateTime<Utc>,
}

/// The filters of ListRoundtables, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundtableFilter {
    /// Only roundtables held at or after this instant.
    pub start: Option<DateTime<Utc>>,
    /// Only roundtables held before this instant.
    pub end: Option<DateTime<Utc>>,
    /// Only roundtables this enterprise was invited to.
    pub enterprise_id: Option<String>,
}

impl RoundtableFilter {
    /// Checks the filters, each problem under its request field.
    pub fn parse(
        start: Option<DateTime<Utc>>,
        end: Option<DateTime<Utc>>,
        enterprise_id: &str,
    ) -> Result<Self, ServiceError> {
        let mut v = Violations::new();
        let range = v.check(checked_time_range(start, end, "time_range"));
        let enterprise_id =
            if enterprise_id.trim().is_empty() { None } else { v.check(checked_id(enterprise_id, "enterprise_id")) };
        v.finish()?;
        let (start, end) = range.unwrap_or((None, None));
        Ok(Self { start, end, enterprise_id })
    }

    /// A digest of the filters, carried in page tokens.
    pub fn digest(&self) -> String {
        let time = |t: Option<DateTime<Utc>>| t.map(|t| t.to_rfc3339()).unwrap_or_default();
        request_fingerprint(
            "roundtable_filter",
            &[&time(self.start), &time(self.end), self.enterprise_id.as_deref().unwrap_or("")],
        )
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn id(n: u8) -> String {
        format!("01930000-0000-7000-8000-0000000000{n:02}")
    }

    fn input<'a>(hosts: &'a [String], invited: &'a [String], now: DateTime<Utc>) -> RoundtableInput<'a> {
        RoundtableInput {
            title: "市企业综合服务中心知晓度提升座谈会",
            theme: "企业综合服务中心如何让更多企业知道、用好",
            held_time: Some(now - Duration::days(2)),
            venue: "舟山总商会政协委员会客厅",
            host_ids: hosts,
            invited_enterprise_ids: invited,
            entrepreneur_count: 15,
            summary: "企业家反映融资难、物流成本高",
        }
    }

    #[test]
    fn a_roundtable_is_checked() {
        let now = tingjian_runtime::clock::now();
        let hosts = vec!["member-1".to_owned(), "member-1".to_owned()];
        let invited = vec![id(1), id(2), id(1)];
        let roundtable = NewRoundtable::parse(&input(&hosts, &invited, now), "roundtable", now).expect("valid");
        assert_eq!(roundtable.host_ids, ["member-1"]);
        assert_eq!(roundtable.invited_enterprise_ids, [id(1), id(2)]);

        let bad_invited = vec!["企业".to_owned()];
        let long_title = "座".repeat(MAX_ROUNDTABLE_TITLE_CHARS + 1);
        let bad = RoundtableInput {
            title: &long_title,
            held_time: None,
            entrepreneur_count: -1,
            ..input(&hosts, &bad_invited, now)
        };
        let ServiceError::InvalidArgument(v) = NewRoundtable::parse(&bad, "roundtable", now).expect_err("bad") else {
            panic!("expected invalid argument")
        };
        let fields: Vec<_> = v.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "roundtable.title",
                "roundtable.held_time",
                "roundtable.invited_enterprise_ids[0]",
                "roundtable.entrepreneur_count"
            ]
        );
    }

    #[test]
    fn changes_report_what_changed() {
        let now = tingjian_runtime::clock::now();
        let hosts = vec!["member-1".to_owned()];
        let invited = vec![id(1)];
        let current = NewRoundtable::parse(&input(&hosts, &invited, now), "roundtable", now).expect("valid");
        let more = vec![id(1), id(3)];
        let change = RoundtableInput { entrepreneur_count: 15, invited_enterprise_ids: &more, ..Default::default() };
        let (changed, paths) = current
            .with_changes(&change, &["invited_enterprise_ids", "entrepreneur_count"], "roundtable", now)
            .expect("valid");
        assert_eq!(paths, ["invited_enterprise_ids"]);
        assert_eq!(changed.invited_enterprise_ids, more);
        assert_eq!(changed.title, current.title);
    }
}
