//! Benefits (成效) in the supervision API: RecordBenefit and ListBenefits.
//!
//! The lead unit, staff and supervisors record a benefit on a replied, evaluated or closed case
//! (idempotent on request_id). Staff, supervisors, leaders and analysts list every benefit; a handling
//! unit lists those of the cases it leads or co-handles.

use tingjian_proto::common::v1::Money;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::error::{Violations, checked, gather};
use tingjian_runtime::fields::optional_text;
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{parse_id, parse_request_id, period_range};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::SupervisionApi;
use crate::domain::benefit::{BenefitDraft, BenefitFilter, BenefitKind, BenefitScope, CNY, NewBenefit};
use crate::domain::lifecycle::Verb;
use crate::domain::{MAX_CODE_CHARS, MAX_REQUEST_ID_CHARS};

/// Roles that read every benefit.
const READERS: [Role; 4] = [Role::Staff, Role::Supervisor, Role::Leader, Role::Analyst];
/// Page-token name of ListBenefits.
const BENEFITS_LIST: &str = "benefits";
/// Most benefits recorded with one reply.
const MAX_BENEFITS_PER_REPLY: usize = 50;

/// A benefit as the request gives it.
fn draft(b: &pb::Benefit) -> BenefitDraft {
    BenefitDraft {
        kind: b.kind,
        enterprise_id: b.enterprise_id.clone(),
        amount: b.amount.as_ref().map(|m| (m.currency_code.clone(), m.minor_units)),
        problems_solved: b.problems_solved,
        category: b.category.clone(),
        description: b.description.clone(),
    }
}

/// Checks the benefits recorded with a reply (fields `benefits[i].…`), adding problems to `v`.
pub(super) fn benefit_drafts(raw: &[pb::Benefit], v: &mut Violations) -> Result<Vec<NewBenefit>, ServiceError> {
    if raw.len() > MAX_BENEFITS_PER_REPLY {
        v.add("benefits", format!("at most {MAX_BENEFITS_PER_REPLY} benefits can be recorded with a reply"));
    }
    let mut out = Vec::with_capacity(raw.len());
    for (i, b) in raw.iter().enumerate() {
        if let Some(b) = gather(v, NewBenefit::parse(&draft(b), &format!("benefits[{i}]")))? {
            out.push(b);
        }
    }
    Ok(out)
}

/// An optional code filter: trimmed, empty means none.
fn code_filter(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(optional_text(raw, MAX_CODE_CHARS, field)).filter(|s| !s.is_empty())
}

impl SupervisionApi {
    #[tracing::instrument(skip_all, fields(case.id))]
    pub(super) async fn record_benefit_impl(
        &self,
        request: Request<pb::RecordBenefitRequest>,
    ) -> Result<Response<pb::RecordBenefitResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        Verb::RecordBenefit.gate(&caller)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let case_id = gather(&mut v, parse_id(&body.case_id, "case_id"))?;
        let request_id = gather(&mut v, parse_request_id(&body.request_id, "request_id"))?.flatten();
        if request_id.as_ref().is_some_and(|r| r.chars().count() > MAX_REQUEST_ID_CHARS) {
            v.add("request_id", format!("must be at most {MAX_REQUEST_ID_CHARS} characters"));
        }
        let benefit = match &body.benefit {
            None => {
                v.add("benefit", "is required: its kind, and the amount for money kinds");
                None
            }
            Some(b) => gather(&mut v, NewBenefit::parse(&draft(b), "benefit"))?,
        };
        v.finish()?;
        let case_id = checked(case_id)?;
        tracing::Span::current().record("case.id", case_id.as_str());
        let benefit = self.store.record_benefit(&case_id, &checked(benefit)?, request_id.as_deref(), &caller).await?;
        Ok(Response::new(pb::RecordBenefitResponse { benefit: Some(benefit) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_benefits_impl(
        &self,
        request: Request<pb::ListBenefitsRequest>,
    ) -> Result<Response<pb::ListBenefitsResponse>, Status> {
        let caller = Caller::of(&request)?;
        let scope = if READERS.iter().any(|r| caller.has(*r)) {
            BenefitScope::All
        } else if caller.has(Role::HandlingUnit) {
            BenefitScope::Unit(caller.organisation.clone())
        } else {
            let mut roles = READERS.to_vec();
            roles.push(Role::HandlingUnit);
            caller.require_any(&roles)?;
            BenefitScope::All
        };
        let body = request.into_inner();
        let mut v = Violations::new();
        let case_id =
            if body.case_id.trim().is_empty() { None } else { gather(&mut v, parse_id(&body.case_id, "case_id"))? };
        let enterprise_id = code_filter(&mut v, &body.enterprise_id, "enterprise_id");
        let kind = match body.kind {
            0 => None,
            n => {
                let kind = BenefitKind::from_i32(n);
                if kind.is_none() {
                    v.add("kind", "is not a BenefitKind");
                }
                kind
            }
        };
        let category = code_filter(&mut v, &body.category, "category");
        let recorded = v.check(period_range(body.period.as_ref())).flatten();
        v.finish()?;
        let filter = BenefitFilter { scope, case_id, enterprise_id, kind, category, recorded };
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, BENEFITS_LIST, &digest, 2)?;
        let (result, amount, problems) = self.store.list_benefits(&filter, &page).await?;
        Ok(Response::new(pb::ListBenefitsResponse {
            next_page_token: result.next_token(BENEFITS_LIST, &digest),
            benefits: result.items,
            total_amount: Some(Money { currency_code: CNY.to_owned(), minor_units: amount }),
            total_problems_solved: i32::try_from(problems).unwrap_or(i32::MAX),
        }))
    }
}
