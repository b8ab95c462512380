//! The enterprise part of the intake API: enterprises and their contact people, and the conversions
//! the other areas of the adapter share (times, request ids, roles, enterprises on the wire).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::error::FieldViolation;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::{IntakeApi, has_any, read_instant};
use crate::domain::{
    ContactPerson, ContactPersonFields, ContactPersonInput, ENTERPRISE_UPDATE_PATHS, Enterprise, EnterpriseFilter,
    EnterpriseInput, EnterpriseSize, NewEnterprise, Page, PageRequest, ReferenceCatalog, ReferenceKind, checked_id,
    etag_is_stale, parse_update_mask, request_fingerprint,
};

/// Who may register and change enterprises and their contact people.
pub(super) const ENTERPRISE_WRITERS: &[Role] = &[Role::Staff, Role::Member, Role::SystemAdmin];
/// Who may read contact people's names and phone numbers unmasked (besides the enterprise itself).
const PERSONAL_DATA_READERS: &[Role] = &[Role::Staff, Role::Member, Role::SystemAdmin];
/// Longest request id (the contract: 1–64 characters).
const MAX_REQUEST_ID_CHARS: usize = 64;
/// Most ids BatchGetEnterprises takes.
const MAX_BATCH_IDS: usize = 500;

/// A single violation as INVALID_ARGUMENT.
pub(super) fn invalid(v: FieldViolation) -> ServiceError {
    ServiceError::InvalidArgument(vec![v])
}

/// The optional idempotency key of a create: empty means none; otherwise 1–64 printable ASCII
/// characters.
pub(super) fn request_id(raw: &str) -> Result<Option<String>, ServiceError> {
    let id = parse_request_id(raw, "request_id")?;
    if id.as_ref().is_some_and(|id| id.len() > MAX_REQUEST_ID_CHARS) {
        return Err(ServiceError::invalid(
            "request_id",
            format!("must be at most {MAX_REQUEST_ID_CHARS} printable ASCII characters"),
        ));
    }
    Ok(id)
}

/// A protobuf timestamp as an instant; unset is `None`, an out-of-range one INVALID_ARGUMENT on `field`.
pub(super) fn instant(ts: Option<&prost_types::Timestamp>, field: &str) -> Result<Option<DateTime<Utc>>, ServiceError> {
    read_instant(ts, field).map_err(invalid)
}

/// An enterprise on the wire.
pub(super) fn enterprise_to_proto(e: Enterprise) -> pb::Enterprise {
    pb::Enterprise {
        id: e.id,
        name: e.fields.name,
        credit_code: e.fields.credit_code.to_string(),
        district: e.fields.district,
        industry: e.fields.industry,
        size: EnterpriseSize::optional_to_i32(e.fields.size),
        monitoring_point: e.fields.monitoring_point,
        create_time: Some(timestamp(e.create_time)),
        update_time: Some(timestamp(e.update_time)),
        etag: etag(e.version),
        description: e.fields.description,
        address: e.fields.address,
        last_contact_time: e.last_contact_time.map(timestamp),
        created_by: e.created_by,
    }
}

fn enterprise_input(e: &pb::Enterprise) -> EnterpriseInput<'_> {
    EnterpriseInput {
        name: &e.name,
        credit_code: &e.credit_code,
        district: &e.district,
        industry: &e.industry,
        size: e.size,
        monitoring_point: e.monitoring_point,
        description: &e.description,
        address: &e.address,
    }
}

fn contact_person_to_proto(p: ContactPerson, masked: bool) -> pb::ContactPerson {
    let p = if masked { p.masked() } else { p };
    pb::ContactPerson {
        id: p.id,
        enterprise_id: p.enterprise_id,
        name: p.fields.name,
        phone: p.fields.phone,
        position: p.fields.position,
        primary: p.fields.primary,
        masked,
        create_time: Some(timestamp(p.create_time)),
        update_time: Some(timestamp(p.update_time)),
    }
}

fn contact_person_input(p: &pb::ContactPerson) -> ContactPersonInput<'_> {
    ContactPersonInput { name: &p.name, phone: &p.phone, position: &p.position, primary: p.primary }
}

/// Whether `caller` may read the personal data of `enterprise`'s contact people: the office's roles,
/// or the enterprise itself (its organisation is the enterprise's id or credit code).
fn reads_personal_data(caller: &Caller, enterprise: &Enterprise) -> bool {
    has_any(caller, PERSONAL_DATA_READERS)
        || (caller.has(Role::Enterprise)
            && (caller.organisation == enterprise.id || caller.organisation == enterprise.fields.credit_code.as_str()))
}

impl IntakeApi {
    /// Districts and industries, to resolve what callers write into codes.
    pub(super) async fn places_and_industries(&self) -> Result<ReferenceCatalog, ServiceError> {
        self.store.reference_catalog(&[ReferenceKind::District, ReferenceKind::Industry]).await
    }

    #[tracing::instrument(skip_all, fields(enterprise.id))]
    pub(super) async fn create_enterprise_impl(
        &self,
        request: Request<pb::CreateEnterpriseRequest>,
    ) -> Result<Response<pb::CreateEnterpriseResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(ENTERPRISE_WRITERS)?;
        let body = request.into_inner();
        let enterprise = body.enterprise.ok_or_else(|| ServiceError::invalid("enterprise", "is required"))?;
        let catalog = self.places_and_industries().await?;
        let new = NewEnterprise::parse(&enterprise_input(&enterprise), "enterprise", &catalog)?;
        let request_id = request_id(&body.request_id)?;
        let created = self.store.create_enterprise(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("enterprise.id", created.id.as_str());
        Ok(Response::new(pb::CreateEnterpriseResponse { enterprise: Some(enterprise_to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_enterprise_impl(
        &self,
        request: Request<pb::GetEnterpriseRequest>,
    ) -> Result<Response<pb::GetEnterpriseResponse>, Status> {
        Caller::of(&request)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let enterprise = self.store.get_enterprise(&id).await?;
        Ok(Response::new(pb::GetEnterpriseResponse { enterprise: Some(enterprise_to_proto(enterprise)) }))
    }

    #[tracing::instrument(skip_all, fields(ids = request.get_ref().ids.len()))]
    pub(super) async fn batch_get_enterprises_impl(
        &self,
        request: Request<pb::BatchGetEnterprisesRequest>,
    ) -> Result<Response<pb::BatchGetEnterprisesResponse>, Status> {
        Caller::of(&request)?;
        let raw = &request.get_ref().ids;
        let mut violations = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        for (i, raw) in raw.iter().enumerate() {
            match checked_id(raw, format!("ids[{i}]")) {
                Ok(id) if !ids.contains(&id) => ids.push(id),
                Ok(_) => {}
                Err(v) => violations.push(v),
            }
        }
        if !violations.is_empty() {
            return Err(ServiceError::InvalidArgument(violations).into());
        }
        if ids.is_empty() || ids.len() > MAX_BATCH_IDS {
            return Err(ServiceError::invalid("ids", format!("give 1 to {MAX_BATCH_IDS} distinct ids")).into());
        }
        let mut found = self.store.enterprises_by_id(&ids).await?;
        let mut response = pb::BatchGetEnterprisesResponse::default();
        for id in ids {
            match found.remove(&id) {
                Some(e) => response.enterprises.push(enterprise_to_proto(e)),
                None => response.missing_ids.push(id),
            }
        }
        Ok(Response::new(response))
    }

    #[tracing::instrument(skip_all, fields(enterprise.id))]
    pub(super) async fn update_enterprise_impl(
        &self,
        request: Request<pb::UpdateEnterpriseRequest>,
    ) -> Result<Response<pb::UpdateEnterpriseResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(ENTERPRISE_WRITERS)?;
        let body = request.into_inner();
        let enterprise = body.enterprise.ok_or_else(|| ServiceError::invalid("enterprise", "is required"))?;
        let id = parse_id(&enterprise.id, "enterprise.id")?;
        tracing::Span::current().record("enterprise.id", id.as_str());
        let paths =
            parse_update_mask(body.update_mask.as_ref().map_or(&[][..], |m| &m.paths), ENTERPRISE_UPDATE_PATHS)?;
        let catalog = self.places_and_industries().await?;
        let input = enterprise_input(&enterprise);
        let updated = self
            .store
            .update_enterprise(&id, &caller.subject, |current| {
                if etag_is_stale(&enterprise.etag, current.version) {
                    return Err(ServiceError::Aborted(format!(
                        "enterprise {id} changed since it was read (etag {:?}, now {}); re-read it and retry",
                        enterprise.etag,
                        etag(current.version)
                    )));
                }
                current.fields.with_changes(&input, &paths, "enterprise", &catalog)
            })
            .await?;
        Ok(Response::new(pb::UpdateEnterpriseResponse { enterprise: Some(enterprise_to_proto(updated)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_enterprises_impl(
        &self,
        request: Request<pb::ListEnterprisesRequest>,
    ) -> Result<Response<pb::ListEnterprisesResponse>, Status> {
        Caller::of(&request)?;
        let body = request.into_inner();
        let catalog = self.places_and_industries().await?;
        let filter = EnterpriseFilter::parse(
            &body.district,
            &body.industry,
            body.monitoring_points_only,
            &body.name_query,
            body.size,
            &catalog,
        )?;
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, "enterprises", &digest, 2)?;
        let after = page
            .after
            .as_deref()
            .map(|k| Ok::<_, ServiceError>((PageRequest::text_key(k, 0)?, PageRequest::text_key(k, 1)?)))
            .transpose()?;
        let (rows, total) = self.store.list_enterprises(&filter, page.size + 1, after).await?;
        let result = Page::from_rows(rows, page.size, |e| vec![e.fields.name.clone(), e.id.clone()]);
        Ok(Response::new(pb::ListEnterprisesResponse {
            next_page_token: result.next_token("enterprises", &digest),
            enterprises: result.items.into_iter().map(enterprise_to_proto).collect(),
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }

    #[tracing::instrument(skip_all, fields(contact_person.id))]
    pub(super) async fn create_contact_person_impl(
        &self,
        request: Request<pb::CreateContactPersonRequest>,
    ) -> Result<Response<pb::CreateContactPersonResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(ENTERPRISE_WRITERS)?;
        let body = request.into_inner();
        let person = body.contact_person.ok_or_else(|| ServiceError::invalid("contact_person", "is required"))?;
        let enterprise_id = checked_id(&person.enterprise_id, "contact_person.enterprise_id").map_err(invalid)?;
        let fields = ContactPersonFields::parse(&contact_person_input(&person), "contact_person")?;
        let request_id = request_id(&body.request_id)?;
        let created = self.store.create_contact_person(&enterprise_id, &fields, request_id.as_deref()).await?;
        tracing::Span::current().record("contact_person.id", created.id.as_str());
        Ok(Response::new(pb::CreateContactPersonResponse {
            contact_person: Some(contact_person_to_proto(created, false)),
        }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_contact_persons_impl(
        &self,
        request: Request<pb::ListContactPersonsRequest>,
    ) -> Result<Response<pb::ListContactPersonsResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        let body = request.into_inner();
        let enterprise_id = checked_id(&body.enterprise_id, "enterprise_id").map_err(invalid)?;
        let digest = request_fingerprint("contact_persons", &[&enterprise_id]);
        let page = PageRequest::parse(body.page_size, &body.page_token, "contact_persons", &digest, 2)?;
        let after = page
            .after
            .as_deref()
            .map(|k| Ok::<_, ServiceError>((PageRequest::int_key(k, 0)?, PageRequest::text_key(k, 1)?)))
            .transpose()?;
        let enterprise = self.store.get_enterprise(&enterprise_id).await?;
        let masked = !reads_personal_data(&caller, &enterprise);
        let rows = self.store.list_contact_persons(&enterprise_id, page.size + 1, after).await?;
        let result = Page::from_rows(rows, page.size, |p| {
            vec![if p.fields.primary { "0" } else { "1" }.to_owned(), p.id.clone()]
        });
        Ok(Response::new(pb::ListContactPersonsResponse {
            next_page_token: result.next_token("contact_persons", &digest),
            contact_persons: result.items.into_iter().map(|p| contact_person_to_proto(p, masked)).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(contact_person.id))]
    pub(super) async fn update_contact_person_impl(
        &self,
        request: Request<pb::UpdateContactPersonRequest>,
    ) -> Result<Response<pb::UpdateContactPersonResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(ENTERPRISE_WRITERS)?;
        let body = request.into_inner();
        let person = body.contact_person.ok_or_else(|| ServiceError::invalid("contact_person", "is required"))?;
        let id = parse_id(&person.id, "contact_person.id")?;
        tracing::Span::current().record("contact_person.id", id.as_str());
        let paths = ContactPersonFields::update_paths(body.update_mask.as_ref().map_or(&[][..], |m| &m.paths))?;
        let input = contact_person_input(&person);
        let updated = self
            .store
            .update_contact_person(&id, |current| current.fields.with_changes(&input, &paths, "contact_person"))
            .await?;
        Ok(Response::new(pb::UpdateContactPersonResponse {
            contact_person: Some(contact_person_to_proto(updated, false)),
        }))
    }

    #[tracing::instrument(skip_all, fields(contact_person.id))]
    pub(super) async fn delete_contact_person_impl(
        &self,
        request: Request<pb::DeleteContactPersonRequest>,
    ) -> Result<Response<pb::DeleteContactPersonResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(ENTERPRISE_WRITERS)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        tracing::Span::current().record("contact_person.id", id.as_str());
        self.store.delete_contact_person(&id).await?;
        Ok(Response::new(pb::DeleteContactPersonResponse {}))
    }

    /// Which of `ids` (as given at `field[i]`) are not contact people of `enterprise_id`, as violations.
    pub(super) async fn foreign_contact_persons(
        &self,
        enterprise_id: &str,
        ids: &[String],
        raw: &[String],
        field: &str,
    ) -> Result<(), ServiceError> {
        let known: HashSet<String> = self.store.contact_persons_of(enterprise_id, ids).await?;
        let violations: Vec<FieldViolation> = ids
            .iter()
            .filter(|id| !known.contains(*id))
            .map(|id| {
                let i = raw.iter().position(|r| checked_id(r, field).ok().as_ref() == Some(id)).unwrap_or_default();
                FieldViolation::new(format!("{field}[{i}]"), format!("{id} is not a contact person of this enterprise"))
            })
            .collect();
        if violations.is_empty() { Ok(()) } else { Err(ServiceError::InvalidArgument(violations)) }
    }
}
