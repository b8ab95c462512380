//! The contact part of the intake API: the weekly cadence (一周一联系) and who is overdue under it.

use chrono::Utc;
use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::wire::timestamp;
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::IntakeApi;
use super::enterprise::{enterprise_to_proto, instant, request_id};
use crate::domain::{
    Contact, ContactFilter, ContactInput, EnterpriseFilter, NewContact, OverdueQuery, Page, PageRequest, time_key,
    whole_days_since,
};

/// Who may log contacts: the members who visit and call, and the office's staff.
const CONTACT_WRITERS: &[Role] = &[Role::Staff, Role::Member];

fn to_proto(c: Contact) -> pb::Contact {
    pb::Contact {
        id: c.id,
        enterprise_id: c.fields.enterprise_id,
        channel: c.fields.channel.as_i32(),
        contact_time: Some(timestamp(c.fields.contact_time)),
        member_ids: c.fields.member_ids,
        contact_person_ids: c.fields.contact_person_ids,
        summary: c.fields.summary,
        policies_briefed: c.fields.policies_briefed,
        briefed_person_times: c.fields.briefed_person_times,
        demand_ids: c.demand_ids,
        created_by: c.created_by,
        create_time: Some(timestamp(c.create_time)),
    }
}

/// A (time, id) cursor of a page token.
fn time_cursor(keys: Option<&[String]>) -> Result<Option<(chrono::DateTime<Utc>, String)>, ServiceError> {
    keys.map(|k| Ok((PageRequest::time_key(k, 0)?, PageRequest::text_key(k, 1)?))).transpose()
}

impl IntakeApi {
    #[tracing::instrument(skip_all, fields(contact.id, enterprise.id))]
    pub(super) async fn log_contact_impl(
        &self,
        request: Request<pb::LogContactRequest>,
    ) -> Result<Response<pb::LogContactResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(CONTACT_WRITERS)?;
        let body = request.into_inner();
        let contact = body.contact.ok_or_else(|| ServiceError::invalid("contact", "is required"))?;
        let input = ContactInput {
            enterprise_id: &contact.enterprise_id,
            channel: contact.channel,
            contact_time: instant(contact.contact_time.as_ref(), "contact.contact_time")?,
            member_ids: &contact.member_ids,
            contact_person_ids: &contact.contact_person_ids,
            summary: &contact.summary,
            policies_briefed: &contact.policies_briefed,
            briefed_person_times: contact.briefed_person_times,
        };
        let new = NewContact::parse(&input, "contact", tingjian_runtime::clock::now())?;
        let request_id = request_id(&body.request_id)?;
        tracing::Span::current().record("enterprise.id", new.enterprise_id.as_str());
        let enterprise = self.store.get_enterprise(&new.enterprise_id).await?;
        self.foreign_contact_persons(
            &new.enterprise_id,
            &new.contact_person_ids,
            &contact.contact_person_ids,
            "contact.contact_person_ids",
        )
        .await?;
        let logged = self.store.log_contact(&new, &enterprise, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("contact.id", logged.id.as_str());
        Ok(Response::new(pb::LogContactResponse { contact: Some(to_proto(logged)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn list_contacts_impl(
        &self,
        request: Request<pb::ListContactsRequest>,
    ) -> Result<Response<pb::ListContactsResponse>, Status> {
        Caller::of(&request)?;
        let body = request.into_inner();
        let range = body.time_range.unwrap_or_default();
        let filter = ContactFilter::parse(
            &body.enterprise_id,
            &body.member_id,
            body.channel,
            instant(range.start_time.as_ref(), "time_range.start_time")?,
            instant(range.end_time.as_ref(), "time_range.end_time")?,
        )?;
        let digest = filter.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, "contacts", &digest, 2)?;
        let after = time_cursor(page.after.as_deref())?;
        if let Some(enterprise_id) = &filter.enterprise_id {
            self.store.get_enterprise(enterprise_id).await?;
        }
        let rows = self.store.list_contacts(&filter, page.size + 1, after).await?;
        let result = Page::from_rows(rows, page.size, |c| vec![time_key(c.fields.contact_time), c.id.clone()]);
        Ok(Response::new(pb::ListContactsResponse {
            next_page_token: result.next_token("contacts", &digest),
            contacts: result.items.into_iter().map(to_proto).collect(),
        }))
    }

    #[tracing::instrument(skip_all, fields(overdue_days = request.get_ref().overdue_days))]
    pub(super) async fn list_overdue_enterprises_impl(
        &self,
        request: Request<pb::ListOverdueEnterprisesRequest>,
    ) -> Result<Response<pb::ListOverdueEnterprisesResponse>, Status> {
        Caller::of(&request)?;
        let body = request.into_inner();
        let catalog = self.places_and_industries().await?;
        let enterprises =
            EnterpriseFilter::parse(&body.district, &body.industry, body.monitoring_points_only, "", 0, &catalog)?;
        let query = OverdueQuery::parse(body.overdue_days, enterprises)?;
        let digest = query.digest();
        let page = PageRequest::parse(body.page_size, &body.page_token, "overdue_enterprises", &digest, 2)?;
        let after = time_cursor(page.after.as_deref())?;
        let now = tingjian_runtime::clock::now();
        let (rows, total) =
            self.store.list_overdue_enterprises(&query, query.cutoff(now), page.size + 1, after).await?;
        let since = |e: &crate::domain::Enterprise| e.last_contact_time.unwrap_or(e.create_time);
        let result = Page::from_rows(rows, page.size, |e| vec![time_key(since(e)), e.id.clone()]);
        let next_page_token = result.next_token("overdue_enterprises", &digest);
        let enterprises = result
            .items
            .into_iter()
            .map(|e| pb::OverdueEnterprise {
                last_contact_time: e.last_contact_time.map(timestamp),
                days_since_contact: whole_days_since(since(&e), now),
                enterprise: Some(enterprise_to_proto(e)),
            })
            .collect();
        Ok(Response::new(pb::ListOverdueEnterprisesResponse {
            enterprises,
            next_page_token,
            total_size: i32::try_from(total).unwrap_or(i32::MAX),
        }))
    }
}
