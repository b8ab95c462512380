//! The services consultation calls: intake (common issues, the demands and enterprises behind them,
//! campaigns) and supervision (cases). Every call is made on behalf of the caller, so the peer applies
//! the caller's own rights.

use tingjian_proto::intake::v1 as intake;
use tingjian_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tingjian_proto::supervision::v1 as supervision;
use tingjian_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tingjian_runtime::ServiceError;
use tingjian_runtime::peers::{Peers, on_behalf_of, peer_error};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

/// Largest page asked of a peer's list.
const PAGE: i32 = 500;
/// Most items gathered from a peer's list for one request.
const MAX_GATHERED: usize = 20_000;

/// The intake service, as consultation reads it.
#[derive(Debug, Clone)]
pub struct Intake {
    client: IntakeServiceClient<Channel>,
}

/// `Ok(None)` for NOT_FOUND, the value for OK, the peer's error otherwise.
fn found<T>(result: Result<tonic::Response<T>, tonic::Status>) -> Result<Option<T>, ServiceError> {
    match result {
        Ok(response) => Ok(Some(response.into_inner())),
        Err(status) if status.code() == tonic::Code::NotFound => Ok(None),
        Err(status) => Err(peer_error("intake", status)),
    }
}

impl Intake {
    /// Intake over `peers`.
    pub fn new(peers: &Peers) -> Self {
        Self { client: IntakeServiceClient::new(peers.intake()) }
    }

    /// A common issue; `None` when intake does not know it.
    pub async fn common_issue(&self, md: &MetadataMap, id: &str) -> Result<Option<intake::CommonIssue>, ServiceError> {
        let request = on_behalf_of(md, intake::GetCommonIssueRequest { id: id.to_owned() });
        Ok(found(self.client.clone().get_common_issue(request).await)?.and_then(|r| r.common_issue))
    }

    /// An enterprise; `None` when intake does not know it.
    pub async fn enterprise(&self, md: &MetadataMap, id: &str) -> Result<Option<intake::Enterprise>, ServiceError> {
        let request = on_behalf_of(md, intake::GetEnterpriseRequest { id: id.to_owned() });
        Ok(found(self.client.clone().get_enterprise(request).await)?.and_then(|r| r.enterprise))
    }

    /// A demand; `None` when intake does not know it.
    pub async fn demand(&self, md: &MetadataMap, id: &str) -> Result<Option<intake::Demand>, ServiceError> {
        let request = on_behalf_of(md, intake::GetDemandRequest { id: id.to_owned() });
        Ok(found(self.client.clone().get_demand(request).await)?.and_then(|r| r.demand))
    }

    /// A campaign; `None` when intake does not know it.
    pub async fn campaign(&self, md: &MetadataMap, id: &str) -> Result<Option<intake::Campaign>, ServiceError> {
        let request = on_behalf_of(md, intake::GetCampaignRequest { id: id.to_owned() });
        Ok(found(self.client.clone().get_campaign(request).await)?.and_then(|r| r.campaign))
    }

    /// Demands matching `filter` (its page fields are ignored), every page, up to a safety bound.
    pub async fn demands(
        &self,
        md: &MetadataMap,
        filter: intake::ListDemandsRequest,
    ) -> Result<Vec<intake::Demand>, ServiceError> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = intake::ListDemandsRequest { page_size: PAGE, page_token: token, ..filter.clone() };
            let response = self.client.clone().list_demands(on_behalf_of(md, page)).await;
            let response = response.map_err(|s| peer_error("intake", s))?.into_inner();
            out.extend(response.demands);
            token = response.next_page_token;
            if token.is_empty() || out.len() >= MAX_GATHERED {
                return Ok(out);
            }
        }
    }

    /// The demands merged into a common issue.
    pub async fn demands_in_common_issue(
        &self,
        md: &MetadataMap,
        common_issue_id: &str,
    ) -> Result<Vec<intake::Demand>, ServiceError> {
        self.demands(
            md,
            intake::ListDemandsRequest { common_issue_id: common_issue_id.to_owned(), ..Default::default() },
        )
        .await
    }

    /// An enterprise's open demands: submitted, accepted, in progress or replied.
    pub async fn open_demands(
        &self,
        md: &MetadataMap,
        enterprise_id: &str,
    ) -> Result<Vec<intake::Demand>, ServiceError> {
        let statuses = OPEN_DEMAND_STATUSES.iter().map(|s| *s as i32).collect();
        self.demands(
            md,
            intake::ListDemandsRequest { enterprise_id: enterprise_id.to_owned(), statuses, ..Default::default() },
        )
        .await
    }

    /// Enterprises of an industry and/or a district (codes; empty means any), at most `limit`.
    pub async fn enterprises(
        &self,
        md: &MetadataMap,
        industry: &str,
        district: &str,
        limit: usize,
    ) -> Result<Vec<intake::Enterprise>, ServiceError> {
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let page = intake::ListEnterprisesRequest {
                industry: industry.to_owned(),
                district: district.to_owned(),
                page_size: PAGE,
                page_token: token,
                ..Default::default()
            };
            let response = self.client.clone().list_enterprises(on_behalf_of(md, page)).await;
            let response = response.map_err(|s| peer_error("intake", s))?.into_inner();
            out.extend(response.enterprises);
            token = response.next_page_token;
            if token.is_empty() || out.len() >= limit {
                out.truncate(limit);
                return Ok(out);
            }
        }
    }
}

/// Demand statuses that count as open (still to be served).
pub const OPEN_DEMAND_STATUSES: [intake::DemandStatus; 4] = [
    intake::DemandStatus::Submitted,
    intake::DemandStatus::Accepted,
    intake::DemandStatus::InProgress,
    intake::DemandStatus::Replied,
];

/// The supervision service, as consultation calls it.
#[derive(Debug, Clone)]
pub struct Supervision {
    client: SupervisionServiceClient<Channel>,
}

impl Supervision {
    /// Supervision over `peers`.
    pub fn new(peers: &Peers) -> Self {
        Self { client: SupervisionServiceClient::new(peers.supervision()) }
    }

    /// Creates (or finds, for the same source) a case.
    pub async fn create_case(
        &self,
        md: &MetadataMap,
        request: supervision::CreateCaseRequest,
    ) -> Result<supervision::CreateCaseResponse, ServiceError> {
        let response = self.client.clone().create_case(on_behalf_of(md, request)).await;
        Ok(response.map_err(|s| peer_error("supervision", s))?.into_inner())
    }
}
