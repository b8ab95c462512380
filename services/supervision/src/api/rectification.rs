//! Rectification orders (整改) through both APIs: supervisors issue, update, verify and revoke theirs
//! through SupervisionService; the discipline-inspection commission issues, updates and verifies its own
//! through DisciplineInspectionService; the department reports its rectification through
//! SupervisionService.
//!
//! Who may do what:
//! - staff and supervisors issue orders as SUPERVISOR and change (update, verify, revoke) SUPERVISOR
//!   orders; the commission (role discipline_inspection) issues orders as DISCIPLINE_INSPECTION and
//!   updates and verifies its own. Changing an order of the other issuer kind is PERMISSION_DENIED: only
//!   the issuer changes an order, through its own API. A caller without the API's role is
//!   PERMISSION_DENIED too.
//! - only a handling unit of the order's department reports its rectification (staff cannot report on
//!   its behalf).
//! - staff, supervisors, leaders and analysts read every order; a handling unit reads the orders to its
//!   department; the commission reads the orders it issued and those arising from cases visible to it.
//!   An order (or a case named by an issue) outside the caller's scope is NOT_FOUND, as if it did not
//!   exist.

use tingjian_proto::common::v1::OrganisationKind;
use tingjian_proto::supervision::v1 as pb;
use tingjian_runtime::error::{Violations, checked, gather};
use tingjian_runtime::fields::{etag_version, optional_text, parse_update_mask, required_text};
use tingjian_runtime::paging::PageRequest;
use tingjian_runtime::wire::{parse_id, parse_request_id, period_range, read_instant};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::SupervisionApi;
use crate::domain::rectification::{
    Issuer, IssuerKind, MAX_ORDER_TEXT_CHARS, MAX_REVOKE_REASON_CHARS, NewOrder, OrderDraft, OrderEdit, OrderFilter,
    OrderScope, OrderStatus, OrderVerification, RectificationOrder, verification_comment,
};
use crate::domain::{MAX_CODE_CHARS, MAX_REQUEST_ID_CHARS, Unit};
use crate::store::Store;

/// Roles that issue and change orders as supervisors.
const SUPERVISORS: [Role; 2] = [Role::Staff, Role::Supervisor];
/// Roles that read every order.
const READERS: [Role; 4] = [Role::Staff, Role::Supervisor, Role::Leader, Role::Analyst];
/// Page-token name of ListRectificationOrders.
const ORDERS_LIST: &str = "rectification_orders";
/// Page-token name of ListDisciplineRectificationOrders.
const COMMISSION_LIST: &str = "discipline_rectification_orders";

/// Which orders `caller` may read through SupervisionService, or PERMISSION_DENIED.
fn scope_of(caller: &Caller) -> Result<OrderScope, ServiceError> {
    if READERS.iter().any(|r| caller.has(*r)) {
        Ok(OrderScope::All)
    } else if caller.has(Role::HandlingUnit) {
        Ok(OrderScope::Department(caller.organisation.clone()))
    } else if caller.has(Role::DisciplineInspection) {
        Ok(OrderScope::Commission(caller.organisation.clone()))
    } else {
        let mut roles: Vec<Role> = READERS.to_vec();
        roles.extend([Role::HandlingUnit, Role::DisciplineInspection]);
        caller.require_any(&roles).map(|()| OrderScope::All)
    }
}

/// The caller's organisation as an issuer or verifier of `kind`; its kind is known for the commission and
/// for the CPPCC office's staff.
fn organisation_of(caller: &Caller, kind: IssuerKind) -> Unit {
    let org_kind = match kind {
        IssuerKind::DisciplineInspection => OrganisationKind::DisciplineInspection,
        IssuerKind::Supervisor if caller.has(Role::Staff) && !caller.has(Role::Supervisor) => OrganisationKind::Cppcc,
        IssuerKind::Supervisor => OrganisationKind::Unspecified,
    };
    Unit { id: caller.organisation.clone(), name: String::new(), kind: org_kind as i32 }
}

/// The fields of an order as a request gives them; an unreadable deadline is a violation of
/// `order.deadline_time`.
fn draft_of(raw: &pb::RectificationOrder, v: &mut Violations) -> OrderDraft {
    let deadline = read_instant(raw.deadline_time.as_ref(), "order.deadline_time");
    let unreadable = deadline.is_err();
    OrderDraft {
        department: raw.department.as_ref().map(|d| Unit { id: d.id.clone(), name: d.name.clone(), kind: d.kind }),
        case_id: raw.case_id.clone(),
        title: raw.title.clone(),
        problem: raw.problem.clone(),
        requirements: raw.requirements.clone(),
        deadline_time: if unreadable {
            v.check(deadline);
            None
        } else {
            deadline.ok().flatten()
        },
    }
}

/// Removes a duplicate "is required" of a deadline already reported as unreadable.
fn dedupe(error: ServiceError) -> ServiceError {
    match error {
        ServiceError::InvalidArgument(mut violations) => {
            let mut seen: Vec<String> = Vec::new();
            violations.retain(|x| {
                let keep = !(x.field == "order.deadline_time" && seen.contains(&x.field));
                seen.push(x.field.clone());
                keep
            });
            ServiceError::InvalidArgument(violations)
        }
        other => other,
    }
}

/// Issues the order of an issue request as `kind`.
async fn issue(
    store: &Store,
    caller: &Caller,
    raw: Option<pb::RectificationOrder>,
    request_id: &str,
    kind: IssuerKind,
) -> Result<RectificationOrder, ServiceError> {
    let raw = raw.unwrap_or_default();
    let mut v = Violations::new();
    let request_id = gather(&mut v, parse_request_id(request_id, "request_id"))?.flatten();
    if request_id.as_ref().is_some_and(|r| r.chars().count() > MAX_REQUEST_ID_CHARS) {
        v.add("request_id", format!("must be at most {MAX_REQUEST_ID_CHARS} characters"));
    }
    let draft = draft_of(&raw, &mut v);
    let new = gather(&mut v, NewOrder::parse(&draft, store.now()))?;
    v.finish().map_err(dedupe)?;
    let new = checked(new)?;
    let issuer = Issuer { kind, organisation: organisation_of(caller, kind), subject: caller.subject.clone() };
    let commission = kind == IssuerKind::DisciplineInspection;
    let order = store.issue_rectification(&new, &issuer, request_id.as_deref(), commission).await?;
    tracing::Span::current().record("order.id", order.id.as_str());
    Ok(order)
}

/// Updates the fields named in `mask` of an order of `kind`, as `scope` sees it.
async fn update(
    store: &Store,
    raw: Option<pb::RectificationOrder>,
    mask: Option<prost_types::FieldMask>,
    scope: &OrderScope,
    kind: IssuerKind,
) -> Result<RectificationOrder, ServiceError> {
    let raw = raw.unwrap_or_default();
    let mut v = Violations::new();
    let id = gather(&mut v, parse_id(&raw.id, "order.id"))?;
    let paths = mask.map(|m| m.paths).unwrap_or_default();
    let paths = gather(&mut v, parse_update_mask(&paths, OrderEdit::FIELDS))?;
    let draft = draft_of(&raw, &mut v);
    let edit = match &paths {
        Some(paths) => gather(&mut v, OrderEdit::parse(&draft, paths, store.now()))?,
        None => None,
    };
    v.finish().map_err(dedupe)?;
    let (id, edit) = (checked(id)?, checked(edit)?);
    tracing::Span::current().record("order.id", id.as_str());
    store
        .change_rectification(&id, etag_version(&raw.etag), scope, Some(kind), |order, now| {
            order.apply_edit(&edit, now)?;
            Ok(None)
        })
        .await
}

/// Records a verification by `caller` of an order of `kind`, as `scope` sees it.
async fn verify(
    store: &Store,
    caller: &Caller,
    id: &str,
    raw: Option<pb::RectificationVerification>,
    raw_etag: &str,
    scope: &OrderScope,
    kind: IssuerKind,
) -> Result<RectificationOrder, ServiceError> {
    let raw = raw.unwrap_or_default();
    let mut v = Violations::new();
    let id = gather(&mut v, parse_id(id, "id"))?;
    let comment = gather(&mut v, verification_comment(raw.passed, &raw.comment))?;
    v.finish()?;
    let (id, comment) = (checked(id)?, checked(comment)?);
    tracing::Span::current().record("order.id", id.as_str());
    let organisation = organisation_of(caller, kind);
    store
        .change_rectification(&id, etag_version(raw_etag), scope, Some(kind), |order, now| {
            let verification = OrderVerification {
                passed: raw.passed,
                comment,
                verifier: caller.subject.clone(),
                organisation,
                verify_time: now,
            };
            let late = order.verify(verification)?;
            let payload = pb::RectificationVerified {
                order_id: order.id.clone(),
                issuer_kind: order.issuer_kind.as_i32(),
                department: Some(crate::convert::unit(&order.department)),
                passed: raw.passed,
                overdue: late,
                actor: caller.subject.clone(),
            };
            Ok(Some(order.event("rectification_verified", "tingjian.supervision.v1.RectificationVerified", &payload)))
        })
        .await
}

/// The statuses of a list request; a violation of `statuses[i]` for an unknown one.
fn statuses_of(raw: &[i32], v: &mut Violations) -> Vec<OrderStatus> {
    let mut statuses = Vec::new();
    for (i, n) in raw.iter().enumerate() {
        match OrderStatus::from_i32(*n) {
            Some(status) if !statuses.contains(&status) => statuses.push(status),
            Some(_) => {}
            None => v.add(format!("statuses[{i}]"), "must be ISSUED, REPORTED, VERIFIED or REVOKED"),
        }
    }
    statuses
}

/// An optional code filter: trimmed, empty means none.
fn code_filter(v: &mut Violations, raw: &str, field: &str) -> Option<String> {
    v.check(optional_text(raw, MAX_CODE_CHARS, field)).filter(|s| !s.is_empty())
}

/// A page of orders matching `filter`, with the token of the next page of `list`.
async fn page_of(
    store: &Store,
    filter: &OrderFilter,
    page_size: i32,
    page_token: &str,
    list: &str,
) -> Result<(Vec<pb::RectificationOrder>, String), ServiceError> {
    let digest = filter.digest();
    let page = PageRequest::parse(page_size, page_token, list, &digest, 2)?;
    let now = store.now();
    let result = store.list_rectifications(filter, &page, now).await?;
    let token = result.next_token(list, &digest);
    Ok((result.items.iter().map(|o| o.to_message(now)).collect(), token))
}

impl SupervisionApi {
    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn issue_rectification_order_impl(
        &self,
        request: Request<pb::IssueRectificationOrderRequest>,
    ) -> Result<Response<pb::IssueRectificationOrderResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&SUPERVISORS)?;
        let body = request.into_inner();
        let order = issue(&self.store, &caller, body.order, &body.request_id, IssuerKind::Supervisor).await?;
        Ok(Response::new(pb::IssueRectificationOrderResponse { order: Some(order.to_message(self.store.now())) }))
    }

    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn get_rectification_order_impl(
        &self,
        request: Request<pb::GetRectificationOrderRequest>,
    ) -> Result<Response<pb::GetRectificationOrderResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        tracing::Span::current().record("order.id", id.as_str());
        let order = self.store.get_rectification(&id, &scope).await?;
        Ok(Response::new(pb::GetRectificationOrderResponse { order: Some(order.to_message(self.store.now())) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_rectification_orders_impl(
        &self,
        request: Request<pb::ListRectificationOrdersRequest>,
    ) -> Result<Response<pb::ListRectificationOrdersResponse>, Status> {
        let scope = scope_of(Caller::of(&request)?)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let statuses = statuses_of(&body.statuses, &mut v);
        let issuer_kind = match body.issuer_kind {
            0 => None,
            n => {
                let kind = IssuerKind::from_i32(n);
                if kind.is_none() {
                    v.add("issuer_kind", "is not a RectificationIssuerKind");
                }
                kind
            }
        };
        let department_id = code_filter(&mut v, &body.department_id, "department_id");
        let case_id = match body.case_id.trim() {
            "" => None,
            raw => gather(&mut v, parse_id(raw, "case_id"))?,
        };
        let issued = v.check(period_range(body.period.as_ref())).flatten();
        v.finish()?;
        let filter = OrderFilter {
            statuses,
            issuer_kind,
            department_id,
            case_id,
            issued,
            overdue_only: body.overdue_only,
            ..OrderFilter::new(scope)
        };
        let (orders, next_page_token) =
            page_of(&self.store, &filter, body.page_size, &body.page_token, ORDERS_LIST).await?;
        Ok(Response::new(pb::ListRectificationOrdersResponse { orders, next_page_token }))
    }

    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn update_rectification_order_impl(
        &self,
        request: Request<pb::UpdateRectificationOrderRequest>,
    ) -> Result<Response<pb::UpdateRectificationOrderResponse>, Status> {
        Caller::of(&request)?.require_any(&SUPERVISORS)?;
        let body = request.into_inner();
        let order = update(&self.store, body.order, body.update_mask, &OrderScope::All, IssuerKind::Supervisor).await?;
        Ok(Response::new(pb::UpdateRectificationOrderResponse { order: Some(order.to_message(self.store.now())) }))
    }

    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn report_rectification_impl(
        &self,
        request: Request<pb::ReportRectificationRequest>,
    ) -> Result<Response<pb::ReportRectificationResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        if !caller.has(Role::HandlingUnit) {
            return Err(ServiceError::PermissionDenied(
                "only the department the order is issued to (role handling_unit) reports its rectification".into(),
            )
            .into());
        }
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let raw_text = body.report.map(|r| r.text).unwrap_or_default();
        let text = v.check(required_text(&raw_text, MAX_ORDER_TEXT_CHARS, "report.text"));
        v.finish()?;
        let (id, text) = (checked(id)?, checked(text)?);
        tracing::Span::current().record("order.id", id.as_str());
        let scope = OrderScope::Department(caller.organisation.clone());
        let order = self
            .store
            .change_rectification(&id, etag_version(&body.etag), &scope, None, |order, now| {
                order.report(&text, &caller.subject, now)?;
                let payload = pb::RectificationReported {
                    order_id: order.id.clone(),
                    issuer_kind: order.issuer_kind.as_i32(),
                    department: Some(crate::convert::unit(&order.department)),
                    actor: caller.subject.clone(),
                };
                Ok(Some(order.event(
                    "rectification_reported",
                    "tingjian.supervision.v1.RectificationReported",
                    &payload,
                )))
            })
            .await?;
        Ok(Response::new(pb::ReportRectificationResponse { order: Some(order.to_message(self.store.now())) }))
    }

    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn verify_rectification_impl(
        &self,
        request: Request<pb::VerifyRectificationRequest>,
    ) -> Result<Response<pb::VerifyRectificationResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&SUPERVISORS)?;
        let body = request.into_inner();
        let order = verify(
            &self.store,
            &caller,
            &body.id,
            body.verification,
            &body.etag,
            &OrderScope::All,
            IssuerKind::Supervisor,
        )
        .await?;
        Ok(Response::new(pb::VerifyRectificationResponse { order: Some(order.to_message(self.store.now())) }))
    }

    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn revoke_rectification_order_impl(
        &self,
        request: Request<pb::RevokeRectificationOrderRequest>,
    ) -> Result<Response<pb::RevokeRectificationOrderResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&SUPERVISORS)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let id = gather(&mut v, parse_id(&body.id, "id"))?;
        let reason = v.check(required_text(&body.reason, MAX_REVOKE_REASON_CHARS, "reason"));
        v.finish()?;
        let (id, reason) = (checked(id)?, checked(reason)?);
        tracing::Span::current().record("order.id", id.as_str());
        let order = self
            .store
            .change_rectification(
                &id,
                etag_version(&body.etag),
                &OrderScope::All,
                Some(IssuerKind::Supervisor),
                |order, _| {
                    order.revoke(&reason)?;
                    let payload = pb::RectificationOrderRevoked {
                        order_id: order.id.clone(),
                        issuer_kind: order.issuer_kind.as_i32(),
                        reason: reason.clone(),
                        actor: caller.subject.clone(),
                    };
                    Ok(Some(order.event(
                        "rectification_order_revoked",
                        "tingjian.supervision.v1.RectificationOrderRevoked",
                        &payload,
                    )))
                },
            )
            .await?;
        Ok(Response::new(pb::RevokeRectificationOrderResponse { order: Some(order.to_message(self.store.now())) }))
    }
}

/// The commission's caller, or PERMISSION_DENIED.
fn commission_of<T>(request: &Request<T>) -> Result<Caller, Status> {
    let caller = Caller::of(request)?;
    caller.require_any(&[Role::DisciplineInspection])?;
    Ok(caller.clone())
}

impl super::DisciplineInspectionApi {
    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn issue_discipline_rectification_order_impl(
        &self,
        request: Request<pb::IssueDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::IssueDisciplineRectificationOrderResponse>, Status> {
        let caller = commission_of(&request)?;
        let body = request.into_inner();
        let order = issue(&self.store, &caller, body.order, &body.request_id, IssuerKind::DisciplineInspection).await?;
        Ok(Response::new(pb::IssueDisciplineRectificationOrderResponse {
            order: Some(order.to_message(self.store.now())),
        }))
    }

    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn update_discipline_rectification_order_impl(
        &self,
        request: Request<pb::UpdateDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::UpdateDisciplineRectificationOrderResponse>, Status> {
        let caller = commission_of(&request)?;
        let body = request.into_inner();
        let scope = OrderScope::Commission(caller.organisation.clone());
        let order = update(&self.store, body.order, body.update_mask, &scope, IssuerKind::DisciplineInspection).await?;
        Ok(Response::new(pb::UpdateDisciplineRectificationOrderResponse {
            order: Some(order.to_message(self.store.now())),
        }))
    }

    #[tracing::instrument(skip_all, fields(order.id))]
    pub(super) async fn verify_discipline_rectification_order_impl(
        &self,
        request: Request<pb::VerifyDisciplineRectificationOrderRequest>,
    ) -> Result<Response<pb::VerifyDisciplineRectificationOrderResponse>, Status> {
        let caller = commission_of(&request)?;
        let body = request.into_inner();
        let scope = OrderScope::Commission(caller.organisation.clone());
        let order = verify(
            &self.store,
            &caller,
            &body.id,
            body.verification,
            &body.etag,
            &scope,
            IssuerKind::DisciplineInspection,
        )
        .await?;
        Ok(Response::new(pb::VerifyDisciplineRectificationOrderResponse {
            order: Some(order.to_message(self.store.now())),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_discipline_rectification_orders_impl(
        &self,
        request: Request<pb::ListDisciplineRectificationOrdersRequest>,
    ) -> Result<Response<pb::ListDisciplineRectificationOrdersResponse>, Status> {
        let caller = commission_of(&request)?;
        let body = request.into_inner();
        let mut v = Violations::new();
        let statuses = statuses_of(&body.statuses, &mut v);
        let department_id = code_filter(&mut v, &body.department_id, "department_id");
        v.finish()?;
        let filter = OrderFilter {
            issued_by_commission: Some(caller.organisation.clone()),
            statuses,
            department_id,
            ..OrderFilter::new(OrderScope::Commission(caller.organisation.clone()))
        };
        let (orders, next_page_token) =
            page_of(&self.store, &filter, body.page_size, &body.page_token, COMMISSION_LIST).await?;
        Ok(Response::new(pb::ListDisciplineRectificationOrdersResponse { orders, next_page_token }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn caller(roles: &[Role]) -> Caller {
        Caller {
            subject: "someone".into(),
            organisation: "zs-org".into(),
            roles: roles.iter().copied().collect::<BTreeSet<_>>(),
            issuer: "test".into(),
            name: None,
        }
    }

    #[test]
    fn scopes_follow_the_roles() {
        assert_eq!(scope_of(&caller(&[Role::Leader])).ok(), Some(OrderScope::All));
        assert_eq!(scope_of(&caller(&[Role::HandlingUnit])).ok(), Some(OrderScope::Department("zs-org".into())));
        assert_eq!(
            scope_of(&caller(&[Role::DisciplineInspection])).ok(),
            Some(OrderScope::Commission("zs-org".into()))
        );
        assert!(matches!(scope_of(&caller(&[Role::Enterprise])), Err(ServiceError::PermissionDenied(_))));
    }

    #[test]
    fn issuing_organisations_carry_the_known_kinds() {
        let kind = |roles: &[Role], k| organisation_of(&caller(roles), k).kind;
        assert_eq!(kind(&[Role::DisciplineInspection], IssuerKind::DisciplineInspection), 7);
        assert_eq!(kind(&[Role::Staff], IssuerKind::Supervisor), 3);
        assert_eq!(kind(&[Role::Supervisor], IssuerKind::Supervisor), 0);
    }

    #[test]
    fn an_unreadable_deadline_is_reported_once() {
        let raw = pb::RectificationOrder {
            deadline_time: Some(prost_types::Timestamp { seconds: 0, nanos: -1 }),
            ..Default::default()
        };
        let mut v = Violations::new();
        let draft = draft_of(&raw, &mut v);
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let _ = gather(&mut v, NewOrder::parse(&draft, now));
        match v.finish().map_err(dedupe) {
            Err(ServiceError::InvalidArgument(found)) => {
                let n = found.iter().filter(|x| x.field == "order.deadline_time").count();
                assert_eq!(n, 1, "{found:?}");
            }
            other => panic!("expected INVALID_ARGUMENT, got {other:?}"),
        }
    }
}
