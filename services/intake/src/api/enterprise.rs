//! The gRPC adapter of the intake service: translates between the v1 contract and the domain, checks
//! the caller, and delegates to the store.

use tingjian_proto::intake::v1 as pb;
use tingjian_proto::intake::v1::intake_service_server::IntakeService;
use tingjian_runtime::wire::{etag, parse_id, parse_request_id, timestamp};
use tingjian_runtime::{Caller, Role, ServiceError};
use tonic::{Request, Response, Status};

use crate::domain::{Enterprise, EnterpriseInput, NewEnterprise};
use crate::store::Store;

/// The intake service's gRPC API.
#[derive(Debug, Clone)]
pub struct IntakeApi {
    store: Store,
}

impl IntakeApi {
    /// An API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

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

#[tonic::async_trait]
impl IntakeService for IntakeApi {
    #[tracing::instrument(skip_all, fields(enterprise.id))]
    async fn create_enterprise(
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
    async fn get_enterprise(
        &self,
        request: Request<pb::GetEnterpriseRequest>,
    ) -> Result<Response<pb::GetEnterpriseResponse>, Status> {
        Caller::of(&request)?;
        let id = parse_id(&request.get_ref().id, "id")?;
        let enterprise = self.store.get_enterprise(&id).await?;
        Ok(Response::new(pb::GetEnterpriseResponse { enterprise: Some(to_proto(enterprise)) }))
    }
}
