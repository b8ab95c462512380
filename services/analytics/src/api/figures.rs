//! Scorecard, series, breakdowns, rankings and enterprise profiles: every request is checked field by
//! field (all violations at once), read by the roles in [`super::READERS`], and answered from the store.

use tingjian_proto::analytics::v1 as pb;
use tingjian_proto::common::v1 as common;
use tingjian_proto::intake::v1::DemandChannel;
use tingjian_runtime::error::Violations;
use tingjian_runtime::fields::{optional_text, push_length_prefixed, required_text};
use tingjian_runtime::paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageCursor, page_size};
use tingjian_runtime::time::Period;
use tingjian_runtime::{Caller, ServiceError};
use tonic::{Request, Response, Status};

use super::AnalyticsApi;
use crate::domain::bucket::ALL;
use crate::domain::parse_period;
use crate::store::query::{RANKED, can_group, periods_between};

/// Longest code accepted in a filter (district, industry, category, unit id).
const MAX_CODE_CHARS: usize = 128;
/// Longest enterprise id accepted.
const MAX_ID_CHARS: usize = 128;
/// Most periods in a series.
pub const MAX_SERIES_PERIODS: usize = 120;
/// Page-token name of ListUnitRankings.
const RANKINGS_LIST: &str = "unit_rankings";

/// A required period, checked under `field`.
pub(super) fn required_period(v: &mut Violations, raw: Option<&common::Period>, field: &str) -> Option<Period> {
    match raw {
        None => {
            v.add(field, "is required");
            None
        }
        Some(p) => v.check(parse_period(p.kind, p.year, p.number, field)),
    }
}

/// A figure, checked under `field`; unspecified and unknown figures are violations.
pub(super) fn required_metric(v: &mut Violations, raw: i32, field: &str) -> Option<pb::Metric> {
    match pb::Metric::try_from(raw) {
        Ok(pb::Metric::Unspecified) => {
            v.add(field, "a figure is required");
            None
        }
        Ok(metric) => Some(metric),
        Err(_) => {
            v.add(field, "is not a figure of the scorecard");
            None
        }
    }
}

/// A dimension, checked under `field`.
pub(super) fn required_dimension(v: &mut Violations, raw: i32, field: &str) -> Option<pb::Dimension> {
    match pb::Dimension::try_from(raw) {
        Ok(pb::Dimension::Unspecified) => {
            v.add(field, "a dimension is required");
            None
        }
        Ok(dimension) => Some(dimension),
        Err(_) => {
            v.add(field, "is not a dimension");
            None
        }
    }
}

/// The filter, checked: codes trimmed, at most 128 characters, not '*'; the channel a known one.
pub(super) fn checked_filter(v: &mut Violations, raw: Option<&pb::ScorecardFilter>) -> pb::ScorecardFilter {
    let Some(raw) = raw else { return pb::ScorecardFilter::default() };
    let mut code = |value: &str, name: &str| -> String {
        let field = format!("filter.{name}");
        let text = v.check(optional_text(value, MAX_CODE_CHARS, &field)).unwrap_or_default();
        if text == ALL {
            v.add(field, "'*' is not a code; leave the field empty to include every value");
            return String::new();
        }
        text
    };
    let filter = pb::ScorecardFilter {
        district: code(&raw.district, "district"),
        industry: code(&raw.industry, "industry"),
        category: code(&raw.category, "category"),
        unit_id: code(&raw.unit_id, "unit_id"),
        channel: raw.channel,
    };
    if DemandChannel::try_from(raw.channel).is_err() {
        v.add("filter.channel", "is not a demand channel");
    }
    filter
}

/// Unwraps a value checked without a violation.
fn checked<T>(value: Option<T>) -> Result<T, Status> {
    value.ok_or_else(|| Status::from(ServiceError::internal("a checked field is missing without a violation")))
}

pub(super) async fn get_scorecard(
    api: &AnalyticsApi,
    request: Request<pb::GetScorecardRequest>,
) -> Result<Response<pb::GetScorecardResponse>, Status> {
    Caller::of(&request)?.require_any(super::READERS)?;
    let request = request.into_inner();
    let mut v = Violations::new();
    let period = required_period(&mut v, request.period.as_ref(), "period");
    let filter = checked_filter(&mut v, request.filter.as_ref());
    v.finish()?;
    let scorecard = api.store().scorecard(&checked(period)?, &filter).await?;
    Ok(Response::new(pb::GetScorecardResponse { scorecard: Some(scorecard) }))
}

pub(super) async fn get_series(
    api: &AnalyticsApi,
    request: Request<pb::GetSeriesRequest>,
) -> Result<Response<pb::GetSeriesResponse>, Status> {
    Caller::of(&request)?.require_any(super::READERS)?;
    let request = request.into_inner();
    let mut v = Violations::new();
    let metric = required_metric(&mut v, request.metric, "metric");
    let start = required_period(&mut v, request.start_period.as_ref(), "start_period");
    let end = required_period(&mut v, request.end_period.as_ref(), "end_period");
    let filter = checked_filter(&mut v, request.filter.as_ref());
    if let (Some(start), Some(end)) = (start, end) {
        if start.kind() != end.kind() {
            v.add("end_period", "must be of the same kind as start_period");
        } else if end.first_day() < start.first_day() {
            v.add("end_period", "must not be before start_period");
        } else if periods_between(&start, &end).len() > MAX_SERIES_PERIODS {
            v.add("end_period", format!("a series has at most {MAX_SERIES_PERIODS} periods"));
        }
    }
    v.finish()?;
    let response = api.store().series(checked(metric)?, &checked(start)?, &checked(end)?, &filter).await?;
    Ok(Response::new(response))
}

pub(super) async fn get_breakdown(
    api: &AnalyticsApi,
    request: Request<pb::GetBreakdownRequest>,
) -> Result<Response<pb::GetBreakdownResponse>, Status> {
    Caller::of(&request)?.require_any(super::READERS)?;
    let request = request.into_inner();
    let mut v = Violations::new();
    let metric = required_metric(&mut v, request.metric, "metric");
    let period = required_period(&mut v, request.period.as_ref(), "period");
    let dimension = required_dimension(&mut v, request.dimension, "dimension");
    let filter = checked_filter(&mut v, request.filter.as_ref());
    if let (Some(metric), Some(dimension)) = (metric, dimension)
        && !can_group(metric, dimension)
    {
        v.add("dimension", format!("{} cannot be grouped by {}", metric.as_str_name(), dimension.as_str_name()));
    }
    let limit = usize::try_from(request.limit).ok();
    if limit.is_none() {
        v.add("limit", "must not be negative");
    }
    v.finish()?;
    let response = api
        .store()
        .breakdown(checked(metric)?, &checked(period)?, checked(dimension)?, &filter, limit.unwrap_or(0))
        .await?;
    Ok(Response::new(response))
}

/// A short digest of a ranking request's parameters, which binds a page token to them.
fn digest(parts: &[&str]) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut text = String::new();
    for part in parts {
        push_length_prefixed(&mut text, part);
    }
    let hash = text.bytes().fold(OFFSET, |hash, b| (hash ^ u64::from(b)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

pub(super) async fn list_unit_rankings(
    api: &AnalyticsApi,
    request: Request<pb::ListUnitRankingsRequest>,
) -> Result<Response<pb::ListUnitRankingsResponse>, Status> {
    Caller::of(&request)?.require_any(super::READERS)?;
    let request = request.into_inner();
    let mut v = Violations::new();
    let period = required_period(&mut v, request.period.as_ref(), "period");
    let metric = required_metric(&mut v, request.metric, "metric");
    if let Some(m) = metric
        && !RANKED.contains(&m)
    {
        v.add("metric", "units are ranked by the response, on-time, resolution, satisfaction or reopen rate, or the median handling time");
    }
    let mut filter = checked_filter(&mut v, request.filter.as_ref());
    filter.unit_id.clear();
    if request.min_cases < 0 {
        v.add("min_cases", "must not be negative");
    }
    let size = v.check(page_size(request.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, "page_size"));
    let bound = digest(&[
        &request.period.as_ref().map(|p| format!("{}:{}:{}", p.kind, p.year, p.number)).unwrap_or_default(),
        &request.metric.to_string(),
        &filter.district,
        &filter.industry,
        &filter.category,
        &filter.channel.to_string(),
        &request.min_cases.to_string(),
    ]);
    let offset = match v.check(PageCursor::decode(&request.page_token, RANKINGS_LIST, 2, "page_token")) {
        Some(Some(cursor)) if cursor.keys[1] == bound => v.check(cursor.integer(0, "page_token")).unwrap_or(0),
        Some(Some(_)) => {
            v.add(
                "page_token",
                "belongs to a ranking with other parameters; pass next_page_token with the same request",
            );
            0
        }
        _ => 0,
    };
    let offset = usize::try_from(offset).unwrap_or(0);
    v.finish()?;
    let size = checked(size)?;
    let all = api.store().rankings(checked(metric)?, &checked(period)?, &filter, i64::from(request.min_cases)).await?;
    let next_page_token = if offset + size < all.len() {
        PageCursor::encode(RANKINGS_LIST, &[&(offset + size).to_string(), &bound])
    } else {
        String::new()
    };
    let rankings = all.into_iter().skip(offset).take(size).collect();
    let as_of_time = api.store().as_of_time().await.map_err(ServiceError::from)?.map(tingjian_runtime::wire::timestamp);
    Ok(Response::new(pb::ListUnitRankingsResponse { rankings, next_page_token, as_of_time }))
}

pub(super) async fn get_enterprise_profile(
    api: &AnalyticsApi,
    request: Request<pb::GetEnterpriseProfileRequest>,
) -> Result<Response<pb::GetEnterpriseProfileResponse>, Status> {
    Caller::of(&request)?.require_any(super::READERS)?;
    let request = request.into_inner();
    let mut v = Violations::new();
    let enterprise_id = v.check(required_text(&request.enterprise_id, MAX_ID_CHARS, "enterprise_id"));
    let period = match request.period.as_ref() {
        Some(p) if p.kind != common::PeriodKind::Unspecified as i32 => {
            v.check(parse_period(p.kind, p.year, p.number, "period"))
        }
        _ => None,
    };
    v.finish()?;
    let profile = api.store().enterprise_profile(&checked(enterprise_id)?, period.as_ref()).await?;
    Ok(Response::new(pb::GetEnterpriseProfileResponse { profile: Some(profile) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(v: Violations) -> Vec<String> {
        match v.finish() {
            Ok(()) => vec![],
            Err(ServiceError::InvalidArgument(list)) => list.into_iter().map(|f| f.field).collect(),
            Err(other) => vec![other.to_string()],
        }
    }

    #[test]
    fn periods_metrics_and_dimensions_name_their_field() {
        let mut v = Violations::new();
        assert!(required_period(&mut v, None, "period").is_none());
        let bad = common::Period { kind: 2, year: 2024, number: 5 };
        assert!(required_period(&mut v, Some(&bad), "start_period").is_none());
        assert!(required_metric(&mut v, 0, "metric").is_none());
        assert!(required_metric(&mut v, 999, "metric").is_none());
        assert!(required_dimension(&mut v, 9, "dimension").is_none());
        assert_eq!(fields(v), ["period", "start_period.number", "metric", "metric", "dimension"]);
    }

    #[test]
    fn filters_are_checked() {
        let mut v = Violations::new();
        let filter = checked_filter(
            &mut v,
            Some(&pb::ScorecardFilter {
                district: " dinghai ".into(),
                industry: "*".into(),
                unit_id: "x".repeat(129),
                channel: 42,
                ..Default::default()
            }),
        );
        assert_eq!(filter.district, "dinghai");
        assert_eq!(fields(v), ["filter.industry", "filter.unit_id", "filter.channel"]);
    }

    #[test]
    fn ranking_tokens_are_bound_to_the_request() {
        assert_ne!(digest(&["a", "bc"]), digest(&["ab", "c"]));
        let token = PageCursor::encode(RANKINGS_LIST, &["50", "abc"]);
        let cursor = PageCursor::decode(&token, RANKINGS_LIST, 2, "page_token").expect("valid").expect("a cursor");
        assert_eq!(cursor.integer(0, "page_token").expect("offset"), 50);
        assert!(PageCursor::decode("zz", RANKINGS_LIST, 2, "page_token").is_err());
    }
}
