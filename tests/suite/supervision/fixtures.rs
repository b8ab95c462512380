//! What the supervision tests share: a service on a clock the test controls, the people who call it, and
//! a case to dispatch.

use chrono::{DateTime, TimeZone as _, Utc};
use tingjian_proto::common::v1::{OrganisationKind, OrganisationRef, PersonRef};
use tingjian_proto::supervision::v1 as pb;
use tingjian_proto::supervision::v1::discipline_inspection_service_client::DisciplineInspectionServiceClient;
use tingjian_proto::supervision::v1::supervision_service_client::SupervisionServiceClient;
use tingjian_runtime::Role;
use tingjian_runtime::clock::Clock;
use tingjian_runtime::settings::SupervisionSettings;
use tingjian_tests::{Identity, SpawnOptions, StorageBackend, TestService, spawn_with};
use tonic::transport::Channel;

/// The supervision API's client.
pub type Client = SupervisionServiceClient<Channel>;
/// The discipline-inspection API's client.
pub type Inspection = DisciplineInspectionServiceClient<Channel>;

/// A supervision service on a manual clock, with its two clients.
pub struct Harness {
    /// The running service.
    pub service: TestService,
    /// SupervisionService.
    pub client: Client,
    /// DisciplineInspectionService.
    pub inspection: Inspection,
    /// The clock the service reads; set or advance it to move time.
    pub clock: Clock,
}

/// 2024-01-15 09:00 in Asia/Shanghai: a Monday, the example dispatch of the contract.
pub fn monday_2024_01_15() -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|z| z.with_ymd_and_hms(2024, 1, 15, 9, 0, 0).single())
        .map(|t| t.with_timezone(&Utc))
        .expect("valid instant")
}

/// `y-m-d h:mi:s` in Asia/Shanghai as a UTC instant.
pub fn china(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .and_then(|z| z.with_ymd_and_hms(y, m, d, h, mi, s).single())
        .map(|t| t.with_timezone(&Utc))
        .expect("valid instant")
}

impl Harness {
    /// A service on `backend` whose clock reads `start`, with the default settings (no periodic sweep).
    pub async fn start(backend: StorageBackend, start: DateTime<Utc>) -> Option<Self> {
        Self::start_with(
            backend,
            start,
            SupervisionSettings { sweep_interval: std::time::Duration::ZERO, ..Default::default() },
        )
        .await
    }

    /// A service on `backend` whose clock reads `start`, with `settings`.
    pub async fn start_with(
        backend: StorageBackend,
        start: DateTime<Utc>,
        settings: SupervisionSettings,
    ) -> Option<Self> {
        let clock = Clock::manual(start);
        let options =
            SpawnOptions { clock: Some(clock.clone()), supervision_settings: Some(settings), ..Default::default() };
        let service = spawn_with(&tingjian_supervision::MODULE, backend, options).await?;
        let client = SupervisionServiceClient::new(service.channel.clone());
        let inspection = DisciplineInspectionServiceClient::new(service.channel.clone());
        Some(Self { service, client, inspection, clock })
    }

    /// `message` as a request by `who`.
    pub fn as_<T>(&self, who: &Identity, message: T) -> tonic::Request<T> {
        self.service.request_as(message, who)
    }

    /// Dispatches `case` as staff with a deadline of `working_days`; the case as created.
    pub async fn dispatch(&mut self, case: pb::Case, working_days: i32) -> pb::Case {
        let request =
            pb::CreateCaseRequest { case: Some(case), request_id: String::new(), deadline_working_days: working_days };
        let request = self.service.request_as(request, &staff());
        self.client.create_case(request).await.expect("case created").into_inner().case.expect("case")
    }

    /// The case `id` as staff read it now.
    pub async fn case(&mut self, id: &str) -> pb::Case {
        let request = self.service.request_as(pb::GetCaseRequest { id: id.into() }, &staff());
        self.client.get_case(request).await.expect("case read").into_inner().case.expect("case")
    }

    /// Runs every sweep now (as a supervisor); what this replica did.
    pub async fn sweep(&mut self) -> pb::SweepReport {
        let request = self.service.request_as(pb::RunSweepRequest::default(), &supervisor());
        self.client.run_sweep(request).await.expect("sweep").into_inner().report.expect("report")
    }

    /// The history of case `id`, oldest first.
    pub async fn history(&mut self, id: &str) -> Vec<pb::CaseHistoryEntry> {
        let request = pb::ListCaseHistoryRequest { case_id: id.into(), page_size: 500, ..Default::default() };
        let request = self.service.request_as(request, &supervisor());
        self.client.list_case_history(request).await.expect("history").into_inner().entries
    }
}

/// A handling unit reference.
pub fn unit(id: &str, name: &str) -> OrganisationRef {
    OrganisationRef { id: id.into(), name: name.into(), kind: OrganisationKind::HandlingUnit as i32 }
}

/// 舟山市人民政府金融工作办公室.
pub fn jrb() -> OrganisationRef {
    unit("zs-jrb", "舟山市人民政府金融工作办公室")
}

/// 舟山市经济和信息化局.
pub fn jxj() -> OrganisationRef {
    unit("zs-jxj", "舟山市经济和信息化局")
}

/// 舟山市交通运输局.
pub fn jtj() -> OrganisationRef {
    unit("zs-jtj", "舟山市交通运输局")
}

/// The head of 舟山市人民政府金融工作办公室.
pub fn jrb_head() -> PersonRef {
    PersonRef {
        id: "zs-jrb-head".into(),
        display_name: "王建国".into(),
        title: "主任".into(),
        organisation_id: "zs-jrb".into(),
    }
}

/// CPPCC staff (政协办公室).
pub fn staff() -> Identity {
    Identity::new("staff-li", "zs-zxb", &[Role::Staff])
}

/// A supervisor of the supervision office (督查室).
pub fn supervisor() -> Identity {
    Identity::new("supervisor-zhao", "zs-dcs", &[Role::Supervisor])
}

/// A handling unit's officer of `org`.
pub fn unit_officer(org: &str) -> Identity {
    Identity::new(&format!("officer-{org}"), org, &[Role::HandlingUnit])
}

/// The finance office's officer (the lead unit of [`case_of`]).
pub fn jrb_officer() -> Identity {
    unit_officer("zs-jrb")
}

/// The discipline-inspection commission's system (纪检监察).
pub fn inspector() -> Identity {
    Identity::new("jw-system", "zs-jw", &[Role::DisciplineInspection])
}

/// The enterprise user who evaluates the reply of [`case_of`].
pub fn evaluator() -> Identity {
    Identity::new(EVALUATOR, "0193a1c2-0000-7000-8000-00000000e001", &[Role::Enterprise])
}

/// Subject of [`evaluator`].
pub const EVALUATOR: &str = "91330900MA28K1234X";

/// The title of [`case_of`].
pub const TITLE: &str = "争取金融机构降低符合条件的远洋渔业相关企业综合融资成本";

/// A case from a source, led by the finance office with the economy bureau co-handling.
pub fn case_of(kind: pb::CaseSourceKind, source_id: &str) -> pb::Case {
    pb::Case {
        title: TITLE.into(),
        description: "协调辖区金融机构对舟山市海丰远洋渔业有限公司等远洋渔业企业实行优惠利率，降低综合融资成本。"
            .into(),
        source: Some(pb::CaseSource {
            kind: kind as i32,
            source_id: source_id.into(),
            source_title: "关于降低远洋渔业企业融资成本的建议".into(),
        }),
        lead_unit: Some(jrb()),
        co_units: vec![jxj()],
        responsible_head: Some(jrb_head()),
        requirements: "请于期限内书面答复，并抄送市政协办公室。".into(),
        enterprise_id: "0193a1c2-0000-7000-8000-00000000e001".into(),
        evaluator_id: EVALUATOR.into(),
        category: "finance_credit".into(),
        district: "putuo".into(),
        industry: "ocean_fishing".into(),
        ..Default::default()
    }
}

/// A timestamp as a UTC instant.
pub fn instant(t: Option<&prost_types::Timestamp>) -> DateTime<Utc> {
    let t = t.expect("timestamp set");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("valid timestamp")
}
