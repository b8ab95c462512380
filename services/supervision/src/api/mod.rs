//! The gRPC adapter of the supervision service: translates between the v1 contract and the domain,
//! checks the caller, and delegates to the store. One file per area; this one routes the contract's
//! methods to them. Methods not built yet keep the contract's default answer, UNIMPLEMENTED.

mod calendar;
mod case;

use chrono::{DateTime, Utc};
use tingjian_proto::common::v1 as common;
use tingjian_proto::supervision::v1 as pb;
use tingjian_proto::supervision::v1::supervision_service_server::SupervisionService;
use tingjian_runtime::error::FieldViolation;
use tingjian_runtime::time::{Period, PeriodKind};
use tonic::{Request, Response, Status};

use crate::store::Store;

/// The supervision service's gRPC API.
#[derive(Debug, Clone)]
pub struct SupervisionApi {
    store: Store,
}

impl SupervisionApi {
    /// An API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

/// A half-open UTC interval `[start, end)`.
type Interval = (DateTime<Utc>, DateTime<Utc>);

/// A protobuf timestamp as a UTC instant; `None` when unset, a violation of `field` when out of range.
fn read_instant(raw: Option<&prost_types::Timestamp>, field: &str) -> Result<Option<DateTime<Utc>>, FieldViolation> {
    let Some(t) = raw else { return Ok(None) };
    u32::try_from(t.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(t.seconds, nanos))
        .map(Some)
        .ok_or_else(|| FieldViolation::new(field, "is not a valid timestamp"))
}

/// The UTC interval `[start, end)` a requested period covers; `None` for an unspecified kind (no
/// restriction).
fn period_range(period: &common::Period, field: &str) -> Result<Option<Interval>, FieldViolation> {
    let kind = match common::PeriodKind::try_from(period.kind) {
        Ok(common::PeriodKind::Unspecified) => return Ok(None),
        Ok(common::PeriodKind::Month) => PeriodKind::Month,
        Ok(common::PeriodKind::Quarter) => PeriodKind::Quarter,
        Ok(common::PeriodKind::Year) => PeriodKind::Year,
        Err(_) => return Err(FieldViolation::new(format!("{field}.kind"), "must be MONTH, QUARTER or YEAR")),
    };
    let number = u32::try_from(period.number)
        .map_err(|_| FieldViolation::new(format!("{field}.number"), "must not be negative"))?;
    Ok(Some(Period::new(kind, period.year, number, field)?.utc_range()))
}

#[tonic::async_trait]
impl SupervisionService for SupervisionApi {
    async fn create_case(
        &self,
        request: Request<pb::CreateCaseRequest>,
    ) -> Result<Response<pb::CreateCaseResponse>, Status> {
        self.create_case_impl(request).await
    }
    async fn get_case(&self, request: Request<pb::GetCaseRequest>) -> Result<Response<pb::GetCaseResponse>, Status> {
        self.get_case_impl(request).await
    }
    async fn list_cases(
        &self,
        request: Request<pb::ListCasesRequest>,
    ) -> Result<Response<pb::ListCasesResponse>, Status> {
        self.list_cases_impl(request).await
    }
    async fn list_case_history(
        &self,
        request: Request<pb::ListCaseHistoryRequest>,
    ) -> Result<Response<pb::ListCaseHistoryResponse>, Status> {
        self.list_case_history_impl(request).await
    }
    async fn get_calendar(
        &self,
        request: Request<pb::GetCalendarRequest>,
    ) -> Result<Response<pb::GetCalendarResponse>, Status> {
        self.get_calendar_impl(request).await
    }
    async fn replace_calendar(
        &self,
        request: Request<pb::ReplaceCalendarRequest>,
    ) -> Result<Response<pb::ReplaceCalendarResponse>, Status> {
        self.replace_calendar_impl(request).await
    }
}

/// The discipline-inspection commission's API (纪检监察): the supervision item list, the supervision
/// information database and rectification orders. Served beside the supervision API so reflection,
/// health and routing agree; its methods answer UNIMPLEMENTED until they are built.
#[derive(Debug, Clone)]
pub struct DisciplineInspectionApi {
    #[allow(dead_code)]
    store: Store,
}

impl DisciplineInspectionApi {
    /// An API over `store`.
    pub fn new(store: Store) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl tingjian_proto::supervision::v1::discipline_inspection_service_server::DisciplineInspectionService
    for DisciplineInspectionApi
{
}
