//! The enterprise part of the intake API: enterprises and their contact people.

use tingjian_proto::intake::v1 as pb;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use super::IntakeApi;
use crate::domain::{Enterprise, EnterpriseInput, NewEnterprise};

fn to_proto(e: Enterprise) -> pb::Enterprise {
    pb::Enterprise {
        id: e.id,
        name: e.fields.name,
        credit_code: e.fields.credit_code.to_string(),
        district: e.fields.district,
        industry: e.fields.industry,
        size: e.fields.size.as_i32(),
        monitoring_point: e.fields.monitoring_point,
        create_time: Some(timestamp(e.create_time)),
        update_time: Some(timestamp(e.update_time)),
        etag: etag(e.version),
        description: e.fields.description,
        address: e.fields.address,
        created_by: e.created_by,
        ..Default::default()
    }
}

impl IntakeApi {
    #[tracing::instrument(skip_all, fields(enterprise.id))]
    pub(super) async fn create_enterprise_impl(
        &self,
        request: Request<pb::CreateEnterpriseRequest>,
    ) -> Result<Response<pb::CreateEnterpriseResponse>, Status> {
        let caller = Caller::of(&request)?.clone();
        caller.require_any(&[Role::Staff, Role::Member, Role::SystemAdmin])?;
        let body = request.into_inner();
        let enterprise = body.enterprise.ok_or_else(|| ServiceError::invalid("enterprise", "is required"))?;
        let new = NewEnterprise::parse(
            &EnterpriseInput {
                name: &enterprise.name,
                credit_code: &enterprise.credit_code,
                district: &enterprise.district,
                industry: &enterprise.industry,
                size: enterprise.size,
                monitoring_point: enterprise.monitoring_point,
                description: &enterprise.description,
                address: &enterprise.address,
            },
            "enterprise",
        )?;
        let request_id = parse_request_id(&body.request_id, "request_id")?;
        let created = self.store.create_enterprise(&new, request_id.as_deref(), &caller.subject).await?;
        tracing::Span::current().record("enterprise.id", created.id.as_str());
        Ok(Response::new(pb::CreateEnterpriseResponse { enterprise: Some(to_proto(created)) }))
    }

    #[tracing::instrument(skip_all)]
    pub(super) async fn get_enterprise_impl(
        &self,
        request: Request<pb::GetEnterpriseRequest>,
    ) -> Result<Response<pb::GetEnterpriseResponse>, Status> {
        Caller::of(&request)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let enterprise = self.store.get_enterprise(&id).await?;
        Ok(Response::new(pb::GetEnterpriseResponse { enterprise: Some(to_proto(enterprise)) }))
    }

    pub(super) async fn batch_get_enterprises_impl(
        &self,
        _request: Request<pb::BatchGetEnterprisesRequest>,
    ) -> Result<Response<pb::BatchGetEnterprisesResponse>, Status> {
        Err(Status::unimplemented("batch_get_enterprises is not available yet"))
    }

    pub(super) async fn update_enterprise_impl(
        &self,
        _request: Request<pb::UpdateEnterpriseRequest>,
    ) -> Result<Response<pb::UpdateEnterpriseResponse>, Status> {
        Err(Status::unimplemented("update_enterprise is not available yet"))
    }

    pub(super) async fn list_enterprises_impl(
        &self,
        _request: Request<pb::ListEnterprisesRequest>,
    ) -> Result<Response<pb::ListEnterprisesResponse>, Status> {
        Err(Status::unimplemented("list_enterprises is not available yet"))
    }

    pub(super) async fn create_contact_person_impl(
        &self,
        _request: Request<pb::CreateContactPersonRequest>,
    ) -> Result<Response<pb::CreateContactPersonResponse>, Status> {
        Err(Status::unimplemented("create_contact_person is not available yet"))
    }

    pub(super) async fn list_contact_persons_impl(
        &self,
        _request: Request<pb::ListContactPersonsRequest>,
    ) -> Result<Response<pb::ListContactPersonsResponse>, Status> {
        Err(Status::unimplemented("list_contact_persons is not available yet"))
    }

    pub(super) async fn update_contact_person_impl(
        &self,
        _request: Request<pb::UpdateContactPersonRequest>,
    ) -> Result<Response<pb::UpdateContactPersonResponse>, Status> {
        Err(Status::unimplemented("update_contact_person is not available yet"))
    }

    pub(super) async fn delete_contact_person_impl(
        &self,
        _request: Request<pb::DeleteContactPersonRequest>,
    ) -> Result<Response<pb::DeleteContactPersonResponse>, Status> {
        Err(Status::unimplemented("delete_contact_person is not available yet"))
    }
}
