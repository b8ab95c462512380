//! The consultation suite for tests: intake, supervision and consultation as three separate servers,
//! each on its own fresh database, sharing one development key (a token is accepted by all three) and
//! wired as peers, with fixtures that put real enterprises, demands and common issues into intake.

use tingjian_proto::consultation::v1::consultation_service_client::ConsultationServiceClient;
use tingjian_proto::intake::v1 as intake;
use tingjian_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tingjian_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tingjian_runtime::Role;
use tonic::transport::Channel;

use crate::{Identity, SpawnOptions, StorageBackend, TestService, spawn_with};

/// Intake, supervision and consultation running side by side.
#[derive(Debug)]
pub struct Suite {
    /// The intake service.
    pub intake: TestService,
    /// The supervision service.
    pub supervision: TestService,
    /// The consultation service, calling the other two.
    pub consultation: TestService,
}

/// Staff of the CPPCC office (工作人员), who organise consultation.
pub fn staff() -> Identity {
    Identity::new("staff-wang", "舟山市政协办公室", &[Role::Staff])
}

/// A CPPCC member (政协委员).
pub fn member(subject: &str) -> Identity {
    Identity::new(subject, "舟山市政协经济委员会", &[Role::Member])
}

/// A leader (市长).
pub fn leader() -> Identity {
    Identity::new("leader-mayor", "舟山市人民政府", &[Role::Leader])
}

/// An enterprise's own account.
pub fn enterprise_user(enterprise_id: &str) -> Identity {
    Identity::new(&format!("enterprise-user-{enterprise_id}"), enterprise_id, &[Role::Enterprise])
}

/// Characters of a unified social credit code, in value order (GB 32100-2015).
const CODE_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A valid unified social credit code of a Zhoushan (330900) enterprise, different for each `n`.
pub fn credit_code(n: u32) -> String {
    let org = format!("{:08}", 30_000_000 + n);
    let sum: u32 = org.bytes().zip([3, 7, 9, 10, 5, 8, 4, 2]).map(|(c, w)| u32::from(c - b'0') * w).sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from(b'0' + d as u8),
    };
    let first17 = format!("91330900{org}{org_check}");
    let mut weight = 1u32;
    let mut sum = 0u32;
    for c in first17.bytes() {
        let value = CODE_CHARS.iter().position(|&x| x == c).expect("code character") as u32;
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    let check = CODE_CHARS[((31 - sum % 31) % 31) as usize] as char;
    format!("{first17}{check}")
}

impl Suite {
    /// Starts the three services on `backend`; `None` when PostgreSQL is asked for but not reachable
    /// outside CI.
    pub async fn start(backend: StorageBackend) -> Option<Self> {
        let intake = spawn_with(&tingjian_intake::MODULE, backend, SpawnOptions::default()).await?;
        let shared = SpawnOptions { keys: Some(intake.keys()), ..Default::default() };
        let supervision = spawn_with(&tingjian_supervision::MODULE, backend, shared.clone()).await?;
        let options = SpawnOptions { intake: Some(intake.addr), supervision: Some(supervision.addr), ..shared };
        let consultation = spawn_with(&tingjian_consultation::MODULE, backend, options).await?;
        Some(Self { intake, supervision, consultation })
    }

    /// A client of consultation.
    pub fn consultation_client(&self) -> ConsultationServiceClient<Channel> {
        ConsultationServiceClient::new(self.consultation.channel.clone())
    }

    /// A client of intake.
    pub fn intake_client(&self) -> IntakeServiceClient<Channel> {
        IntakeServiceClient::new(self.intake.channel.clone())
    }

    /// A client of supervision.
    pub fn supervision_client(&self) -> SupervisionServiceClient<Channel> {
        SupervisionServiceClient::new(self.supervision.channel.clone())
    }

    /// `message` as a request by `who` (any of the three services accepts it).
    pub fn as_<T>(&self, who: &Identity, message: T) -> tonic::Request<T> {
        self.consultation.request_as(message, who)
    }

    /// Registers enterprise number `n` in intake, in `industry` and `district` (codes), and returns
    /// its id.
    pub async fn enterprise(&self, n: u32, name: &str, industry: &str, district: &str) -> String {
        let request = intake::CreateEnterpriseRequest {
            enterprise: Some(intake::Enterprise {
                name: name.into(),
                credit_code: credit_code(n),
                district: district.into(),
                industry: industry.into(),
                size: intake::EnterpriseSize::Medium as i32,
                ..Default::default()
            }),
            request_id: format!("enterprise-{n}"),
        };
        self.intake_client()
            .create_enterprise(self.as_(&staff(), request))
            .await
            .expect("enterprise registered")
            .into_inner()
            .enterprise
            .expect("enterprise")
            .id
    }

    /// Submits a demand of `enterprise_id` in `category` and returns it.
    pub async fn demand(&self, enterprise_id: &str, title: &str, category: &str) -> intake::Demand {
        let request = intake::SubmitDemandRequest {
            demand: Some(intake::Demand {
                enterprise_id: enterprise_id.into(),
                title: title.into(),
                text: format!("{title}：希望有关部门协调解决。"),
                category: category.into(),
                channel: intake::DemandChannel::Visit as i32,
                ..Default::default()
            }),
            request_id: tingjian_runtime::wire::new_id(),
            similar_limit: 0,
        };
        self.intake_client()
            .submit_demand(self.as_(&member("member-li"), request))
            .await
            .expect("demand submitted")
            .into_inner()
            .demand
            .expect("demand")
    }

    /// Forms a common issue in `category` from `demand_ids` and returns it.
    pub async fn common_issue(&self, title: &str, category: &str, demand_ids: &[String]) -> intake::CommonIssue {
        let request = intake::CreateCommonIssueRequest {
            common_issue: Some(intake::CommonIssue {
                title: title.into(),
                description: format!("{title}（合并同类项）"),
                category: category.into(),
                ..Default::default()
            }),
            demand_ids: demand_ids.to_vec(),
            reason: "同类诉求，合并为共性问题".into(),
            request_id: String::new(),
        };
        self.intake_client()
            .create_common_issue(self.as_(&staff(), request))
            .await
            .expect("common issue formed")
            .into_inner()
            .common_issue
            .expect("common issue")
    }

    /// The seed's financing matter: three ocean-fishing enterprises in 普陀区, the first with two
    /// demands and the others with one, merged into one common issue. Returns the common issue and the
    /// enterprises' ids (the first has the most demands).
    pub async fn financing_issue(&self, first: u32) -> (intake::CommonIssue, Vec<String>) {
        let mut enterprises = Vec::new();
        let mut demands = Vec::new();
        for (i, name) in
            ["舟山市海丰远洋渔业有限公司", "舟山市宏润远洋渔业有限公司", "浙江普陀远洋捕捞有限公司"].iter().enumerate()
        {
            let id = self.enterprise(first + i as u32, name, "ocean_fishing", "putuo").await;
            let count = if i == 0 { 2 } else { 1 };
            for k in 0..count {
                let title = format!("渔船抵押贷款利率偏高（{}）", k + 1);
                demands.push(self.demand(&id, &title, "finance_credit").await.id);
            }
            enterprises.push(id);
        }
        let issue = self.common_issue("远洋渔业相关企业综合融资成本高", "finance_credit", &demands).await;
        (issue, enterprises)
    }
}
