//! Campaigns (网上建言献策征集 / 掌上主题议政) through the intake API, on SQLite and on PostgreSQL: the
//! window and its statuses, updates and early closing, bad inputs, posts by netizens, members and
//! enterprises with participants and posts counted at the seed's scale (420 participants, 300+ posts)
//! under concurrency, and promoting a post into a demand — once, linked both ways — with the events
//! written to the outbox in the same transaction as each change.
//!
//! Participants need identities of their own, so the service is started here with a signer the test
//! keeps (the shared support mints tokens for one subject only).

use std::time::Duration;

use chrono::{DateTime, Utc};
use prost::Message as _;
use tingjian_proto::common::v1::Event;
use tingjian_proto::intake::v1 as pb;
use tingjian_proto::intake::v1::intake_service_client::IntakeServiceClient;
use tingjian_runtime::auth::{DevSigner, TokenRequest};
use tingjian_runtime::peers::Peers;
use tingjian_runtime::server::GrpcServer;
use tingjian_runtime::settings::Settings;
use tingjian_runtime::shutdown::Shutdown;
use tingjian_runtime::storage::testing::TestDatabase;
use tingjian_runtime::{Authenticator, Role, ServiceContext, on_pool};
use tingjian_tests::{StorageBackend, assert_field_violation, on_both_backends};
use tonic::Code;
use tonic::transport::Channel;

type Client = IntakeServiceClient<Channel>;

/// The intake service with a signer for any identity.
struct Harness {
    client: Client,
    database: TestDatabase,
    signer: DevSigner,
    shutdown: Shutdown,
    _keys: tempfile::TempDir,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.trigger();
    }
}

impl Harness {
    async fn start(backend: StorageBackend) -> Option<Self> {
        let module = &tingjian_intake::MODULE;
        let database = TestDatabase::fresh(backend, &module.migrations).await?;
        let keys = tempfile::tempdir().expect("key directory");
        let mut settings = Settings::defaults(module.name, 0);
        settings.auth.dev_key = Some(keys.path().join("dev.pem"));
        let authenticator = Authenticator::from_settings(&settings.auth).expect("development key");
        let signer = DevSigner::load_or_create(&keys.path().join("dev.pem"), &settings.auth).expect("signer");
        let mut server = GrpcServer::new(&settings.server, authenticator);
        let peers = Peers::connect_lazy(&settings.peers).expect("peer URLs");
        (module.register)(
            &mut server,
            ServiceContext {
                db: database.db.clone(),
                peers,
                supervision: Default::default(),
                similarity: Default::default(),
                clock: Default::default(),
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let shutdown = Shutdown::new();
        tokio::spawn(server.serve(listener, shutdown.wait()));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect_timeout(Duration::from_secs(5))
            .connect()
            .await
            .expect("connects");
        Some(Self { client: IntakeServiceClient::new(channel), database, signer, shutdown, _keys: keys })
    }

    /// `message` as a request by `subject` of `organisation` holding `roles`.
    fn request_as<T>(&self, message: T, subject: &str, organisation: &str, roles: &[Role]) -> tonic::Request<T> {
        let token = self
            .signer
            .mint(&TokenRequest {
                subject: subject.into(),
                organisation: organisation.into(),
                roles: roles.to_vec(),
                name: None,
                ttl: Duration::from_secs(600),
            })
            .expect("token");
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert("authorization", format!("Bearer {token}").parse().expect("ascii"));
        request
    }

    /// `message` as a request by the office's staff member.
    fn staff<T>(&self, message: T) -> tonic::Request<T> {
        self.request_as(message, "staff-1", "舟山市政协办公室", &[Role::Staff])
    }

    async fn create(&self, campaign: pb::Campaign, request_id: &str) -> Result<pb::Campaign, tonic::Status> {
        let request = pb::CreateCampaignRequest { campaign: Some(campaign), request_id: request_id.into() };
        self.client.clone().create_campaign(self.staff(request)).await.map(|r| r.into_inner().campaign.expect("c"))
    }

    async fn get(&self, id: &str) -> pb::Campaign {
        let request = self.request_as(pb::GetCampaignRequest { id: id.into() }, "netizen-0", "", &[Role::Netizen]);
        self.client.clone().get_campaign(request).await.expect("campaign").into_inner().campaign.expect("campaign")
    }

    async fn post_as(
        &self,
        campaign_id: &str,
        text: &str,
        subject: &str,
        organisation: &str,
        roles: &[Role],
    ) -> Result<pb::CampaignPost, tonic::Status> {
        let request = pb::CreateCampaignPostRequest {
            campaign_id: campaign_id.into(),
            post: Some(pb::CampaignPost { text: text.into(), ..Default::default() }),
            request_id: String::new(),
        };
        let request = self.request_as(request, subject, organisation, roles);
        self.client.clone().create_campaign_post(request).await.map(|r| r.into_inner().post.expect("post"))
    }

    async fn post(&self, campaign_id: &str, text: &str) -> Result<pb::CampaignPost, tonic::Status> {
        self.post_as(campaign_id, text, "netizen-1", "", &[Role::Netizen]).await
    }

    async fn update(&self, campaign: pb::Campaign, paths: &[&str]) -> Result<pb::Campaign, tonic::Status> {
        let request = pb::UpdateCampaignRequest {
            campaign: Some(campaign),
            update_mask: Some(prost_types::FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() }),
        };
        self.client.clone().update_campaign(self.staff(request)).await.map(|r| r.into_inner().campaign.expect("c"))
    }

    async fn close(&self, id: &str, etag: &str) -> Result<pb::Campaign, tonic::Status> {
        let request =
            pb::CloseCampaignRequest { id: id.into(), reason: "征集目标已完成".into(), etag: etag.into() };
        self.client.clone().close_campaign(self.staff(request)).await.map(|r| r.into_inner().campaign.expect("c"))
    }

    async fn promote(
        &self,
        request: pb::PromotePostToDemandRequest,
    ) -> Result<pb::PromotePostToDemandResponse, tonic::Status> {
        self.client.clone().promote_post_to_demand(self.staff(request)).await.map(tonic::Response::into_inner)
    }

    /// Every post of a campaign, following the pages, as `roles` see them.
    async fn all_posts(&self, mut request: pb::ListCampaignPostsRequest) -> Vec<pb::CampaignPost> {
        let mut posts = Vec::new();
        loop {
            let page = self.client.clone().list_campaign_posts(self.staff(request.clone())).await.expect("page");
            let page = page.into_inner();
            posts.extend(page.posts);
            if page.next_page_token.is_empty() {
                return posts;
            }
            request.page_token = page.next_page_token;
        }
    }

    /// The outbox rows (subject, event type, envelope), oldest first.
    async fn outbox(&self) -> Vec<(String, String, Event)> {
        let rows: Vec<(String, String, Vec<u8>)> = on_pool!(&self.database.db, pool => {
            sqlx::query_as("SELECT subject, event_type, envelope FROM event_outbox ORDER BY seq").fetch_all(pool).await
        })
        .expect("outbox");
        rows.into_iter().map(|(s, t, e)| (s, t, Event::decode(e.as_slice()).expect("envelope"))).collect()
    }

    async fn events_of(&self, event_type: &str) -> Vec<(String, Event)> {
        let wanted = format!("tingjian.intake.{event_type}");
        self.outbox().await.into_iter().filter(|(_, t, _)| *t == wanted).map(|(s, _, e)| (s, e)).collect()
    }

    async fn count(&self, sql: &str, bind: &str) -> i64 {
        on_pool!(&self.database.db, pool => sqlx::query_scalar(sql).bind(bind).fetch_one(pool).await).expect("count")
    }
}

fn ts(t: DateTime<Utc>) -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp { seconds: t.timestamp(), nanos: t.timestamp_subsec_nanos() as i32 })
}

fn instant(t: &Option<prost_types::Timestamp>) -> DateTime<Utc> {
    let t = t.as_ref().expect("timestamp");
    DateTime::from_timestamp(t.seconds, t.nanos as u32).expect("timestamp")
}

/// A campaign open from an hour ago for a week.
fn open_campaign() -> pb::Campaign {
    let now = Utc::now();
    pb::Campaign {
        kind: pb::CampaignKind::Solicitation as i32,
        title: "助力民营经济高质量发展网上建言献策征集".into(),
        description: "请围绕融资、物流、人才等方面建言献策。".into(),
        start_time: ts(now - chrono::Duration::hours(1)),
        end_time: ts(now + chrono::Duration::days(7)),
        ..Default::default()
    }
}

/// A valid unified social credit code (the example of GB 32100-2015).
const CODE: &str = "91350100M000100Y43";

/// A campaign's window decides its status; staff update and close it; posting outside the window is
/// FAILED_PRECONDITION saying why; lists filter by status and kind and paginate; opening and closing
/// report their events.
async fn lifecycle(backend: StorageBackend) {
    let Some(h) = Harness::start(backend).await else { return };
    let now = Utc::now();

    let first = open_campaign();
    let open = h.create(first.clone(), "campaign-1").await.expect("created");
    assert_eq!(open.status, pb::CampaignStatus::Open as i32);
    assert_eq!((open.participant_count, open.post_count), (0, 0));
    assert_eq!((open.etag.as_str(), open.created_by.as_str()), ("v1", "staff-1"));
    assert!(open.close_time.is_none());
    assert_eq!(h.get(&open.id).await, open);
    assert_eq!(h.create(first.clone(), "campaign-1").await.expect("retry").id, open.id, "a retry returns the first");
    let mut different = first.clone();
    different.title = "另一个征集".into();
    assert_eq!(h.create(different, "campaign-1").await.expect_err("reused").code(), Code::AlreadyExists);
    let opened = h.events_of("campaign_opened").await;
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].0, format!("campaigns/{}", open.id));
    let payload = pb::CampaignOpened::decode(opened[0].1.data.as_slice()).expect("payload");
    assert_eq!((payload.campaign_id.as_str(), payload.title.as_str()), (open.id.as_str(), open.title.as_str()));
    assert_eq!(payload.start_time, open.start_time);

    // Not yet open: SCHEDULED, and posting says when it opens.
    let mut later = open_campaign();
    later.kind = pb::CampaignKind::ThemedDiscussion as i32;
    later.title = "助力改善和优化我市旅游环境掌上主题议政".into();
    later.start_time = ts(now + chrono::Duration::days(1));
    let scheduled = h.create(later, "").await.expect("scheduled");
    assert_eq!(scheduled.status, pb::CampaignStatus::Scheduled as i32);
    let status = h.post(&scheduled.id, "建议增加旅游厕所").await.expect_err("not open");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("SCHEDULED"), "{status:?}");
    // A scheduled campaign's window may still move.
    let mut moved = scheduled.clone();
    moved.start_time = ts(now + chrono::Duration::days(2));
    moved.title = "助力改善和优化旅游环境".into();
    let moved = h.update(moved, &["start_time", "campaign.title"]).await.expect("updated");
    assert_eq!(moved.title, "助力改善和优化旅游环境");
    assert_eq!(instant(&moved.start_time).timestamp(), (now + chrono::Duration::days(2)).timestamp());
    assert_eq!(moved.etag, "v2");

    // An open campaign keeps its start; its end may move into the future, not the past.
    let mut change = open.clone();
    change.start_time = ts(now);
    assert_eq!(h.update(change, &["start_time"]).await.expect_err("started").code(), Code::FailedPrecondition);
    let mut change = open.clone();
    change.end_time = ts(now - chrono::Duration::minutes(1));
    assert_field_violation(&h.update(change, &["end_time"]).await.expect_err("past"), "campaign.end_time");
    let mut change = open.clone();
    change.end_time = ts(now + chrono::Duration::days(30));
    let extended = h.update(change.clone(), &["end_time"]).await.expect("extended");
    assert_eq!(extended.status, pb::CampaignStatus::Open as i32);
    assert_eq!(h.update(change, &["end_time"]).await.expect_err("stale etag").code(), Code::Aborted);
    let mut change = extended.clone();
    change.description = "述".repeat(5001);
    assert_field_violation(&h.update(change, &["description"]).await.expect_err("long"), "campaign.description");
    assert_field_violation(&h.update(extended.clone(), &[]).await.expect_err("no mask"), "update_mask");
    assert_field_violation(&h.update(extended.clone(), &["kind"]).await.expect_err("kind"), "update_mask");

    // A post, then an early close: CLOSED, counts in the event, and no more posts or changes.
    h.post(&open.id, "建议设立民营企业应急转贷资金").await.expect("posted");
    assert_eq!(h.close(&open.id, "v1").await.expect_err("stale").code(), Code::Aborted);
    let closed = h.close(&open.id, &extended.etag).await.expect("closed");
    assert_eq!(closed.status, pb::CampaignStatus::Closed as i32);
    assert!(closed.close_time.is_some());
    assert_eq!((closed.participant_count, closed.post_count), (1, 1));
    let status = h.post(&open.id, "还有一条建议").await.expect_err("closed");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("CLOSED"), "{status:?}");
    assert_eq!(h.close(&open.id, "").await.expect_err("again").code(), Code::FailedPrecondition);
    let mut change = closed.clone();
    change.title = "改名".into();
    assert_eq!(h.update(change, &["title"]).await.expect_err("closed").code(), Code::FailedPrecondition);
    let closing = h.events_of("campaign_closed").await;
    assert_eq!(closing.len(), 1);
    let payload = pb::CampaignClosed::decode(closing[0].1.data.as_slice()).expect("payload");
    assert_eq!((payload.participant_count, payload.post_count, payload.actor.as_str()), (1, 1, "staff-1"));
    assert_eq!(h.get(&open.id).await.post_count, 1, "the refused post was not counted");

    // A window that ended is CLOSED without an early close, and says so.
    let mut past = open_campaign();
    past.start_time = ts(now - chrono::Duration::days(30));
    past.end_time = ts(now - chrono::Duration::days(1));
    let ended = h.create(past, "").await.expect("past campaign");
    assert_eq!(ended.status, pb::CampaignStatus::Closed as i32);
    let status = h.post(&ended.id, "迟到的建议").await.expect_err("ended");
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(status.message().contains("window ended"), "{status:?}");

    // Lists: newest first, by status and kind, in pages.
    let list = |statuses: Vec<pb::CampaignStatus>, kind: pb::CampaignKind, page_size: i32| pb::ListCampaignsRequest {
        statuses: statuses.into_iter().map(|s| s as i32).collect(),
        kind: kind as i32,
        page_size,
        page_token: String::new(),
    };
    let mut request = list(vec![], pb::CampaignKind::Unspecified, 1);
    let mut all = Vec::new();
    loop {
        let page = h.client.clone().list_campaigns(h.staff(request.clone())).await.expect("page").into_inner();
        all.extend(page.campaigns.into_iter().map(|c| c.id));
        if page.next_page_token.is_empty() {
            break;
        }
        request.page_token = page.next_page_token;
    }
    assert_eq!(all, [ended.id.clone(), scheduled.id.clone(), open.id.clone()]);
    for (statuses, expected) in [
        (vec![pb::CampaignStatus::Closed], vec![ended.id.clone(), open.id.clone()]),
        (vec![pb::CampaignStatus::Scheduled], vec![scheduled.id.clone()]),
        (vec![pb::CampaignStatus::Open], vec![]),
        (vec![pb::CampaignStatus::Open, pb::CampaignStatus::Scheduled], vec![scheduled.id.clone()]),
    ] {
        let request = list(statuses.clone(), pb::CampaignKind::Unspecified, 0);
        let page = h.client.clone().list_campaigns(h.staff(request)).await.expect("page").into_inner();
        assert_eq!(page.campaigns.into_iter().map(|c| c.id).collect::<Vec<_>>(), expected, "{statuses:?}");
    }
    let request = list(vec![], pb::CampaignKind::ThemedDiscussion, 0);
    let page = h.client.clone().list_campaigns(h.staff(request)).await.expect("page").into_inner();
    assert_eq!(page.campaigns.into_iter().map(|c| c.id).collect::<Vec<_>>(), vec![scheduled.id]);
    let mut bad = list(vec![], pb::CampaignKind::Unspecified, 0);
    bad.page_token = "not-a-token".into();
    assert_field_violation(&h.client.clone().list_campaigns(h.staff(bad)).await.expect_err("token"), "page_token");
    let bad = pb::ListCampaignsRequest { statuses: vec![9], kind: 7, page_size: -1, page_token: String::new() };
    let status = h.client.clone().list_campaigns(h.staff(bad)).await.expect_err("bad");
    for field in ["statuses[0]", "kind", "page_size"] {
        assert_field_violation(&status, field);
    }
}
on_both_backends!(campaigns_follow_their_window, super::lifecycle);

/// Bad campaigns and posts name their fields; unknown ids are NOT_FOUND; only staff run campaigns and
/// only participants post; nothing refused leaves a row or an event.
async fn bad_inputs(backend: StorageBackend) {
    let Some(h) = Harness::start(backend).await else { return };
    let now = Utc::now();
    let cases: Vec<(pb::Campaign, &[&str])> = vec![
        (pb::Campaign { title: " ".into(), ..open_campaign() }, &["campaign.title"]),
        (pb::Campaign { title: "征".repeat(201), ..open_campaign() }, &["campaign.title"]),
        (pb::Campaign { description: "述".repeat(5001), ..open_campaign() }, &["campaign.description"]),
        (pb::Campaign { kind: 0, ..open_campaign() }, &["campaign.kind"]),
        (
            pb::Campaign { start_time: None, end_time: None, ..open_campaign() },
            &["campaign.start_time", "campaign.end_time"],
        ),
        (pb::Campaign { end_time: ts(now - chrono::Duration::days(1)), ..open_campaign() }, &["campaign.end_time"]),
        (
            pb::Campaign { start_time: Some(prost_types::Timestamp { seconds: 0, nanos: -5 }), ..open_campaign() },
            &["campaign.start_time"],
        ),
    ];
    for (campaign, fields) in cases {
        let status = h.create(campaign, "").await.expect_err("invalid");
        for field in fields {
            assert_field_violation(&status, field);
        }
    }
    assert_field_violation(&h.create(open_campaign(), "重试").await.expect_err("request id"), "request_id");
    let request = pb::CreateCampaignRequest { campaign: None, request_id: String::new() };
    assert_field_violation(
        &h.client.clone().create_campaign(h.staff(request)).await.expect_err("none"),
        "campaign.title",
    );
    for roles in [&[Role::Netizen][..], &[Role::Member], &[Role::Enterprise]] {
        let request = pb::CreateCampaignRequest { campaign: Some(open_campaign()), request_id: String::new() };
        let status = h.client.clone().create_campaign(h.request_as(request, "x", "", roles)).await.expect_err("role");
        assert_eq!(status.code(), Code::PermissionDenied, "{roles:?}");
    }
    let status = h
        .client
        .clone()
        .create_campaign(tonic::Request::new(pb::CreateCampaignRequest::default()))
        .await
        .expect_err("anonymous");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(h.count("SELECT COUNT(*) FROM campaign WHERE id <> $1", "").await, 0);
    assert!(h.outbox().await.is_empty(), "refused calls record no event");

    let campaign = h.create(open_campaign(), "").await.expect("created");
    let events = h.outbox().await.len();
    assert_field_violation(&h.post(&campaign.id, " ").await.expect_err("empty"), "post.text");
    assert_field_violation(&h.post(&campaign.id, &"建".repeat(5001)).await.expect_err("long"), "post.text");
    let request = pb::CreateCampaignPostRequest {
        campaign_id: "nope".into(),
        post: Some(pb::CampaignPost {
            author_display_name: "网".repeat(51),
            title: "题".repeat(201),
            text: "建议".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let status =
        h.client.clone().create_campaign_post(h.request_as(request, "n", "", &[Role::Netizen])).await.expect_err("bad");
    for field in ["campaign_id", "post.author_display_name", "post.title"] {
        assert_field_violation(&status, field);
    }
    let nowhere = tingjian_runtime::wire::new_id();
    assert_eq!(h.post(&nowhere, "建议").await.expect_err("unknown").code(), Code::NotFound);
    let status = h.post_as(&campaign.id, "建议", "leader-1", "", &[Role::Leader]).await.expect_err("leader");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = h
        .post_as(&campaign.id, "建议", "e-1", "91330900MA00000000", &[Role::Enterprise])
        .await
        .expect_err("unregistered");
    assert_eq!(status.code(), Code::PermissionDenied, "an enterprise caller must be a registered enterprise");
    assert_eq!(h.get(&campaign.id).await.post_count, 0);
    assert_eq!(h.outbox().await.len(), events);

    let request = h.request_as(pb::GetCampaignRequest { id: nowhere.clone() }, "n", "", &[Role::Netizen]);
    assert_eq!(h.client.clone().get_campaign(request).await.expect_err("unknown").code(), Code::NotFound);
    let request = h.request_as(pb::GetCampaignRequest { id: "x".into() }, "n", "", &[Role::Netizen]);
    assert_field_violation(&h.client.clone().get_campaign(request).await.expect_err("bad"), "id");
    let request = pb::ListCampaignPostsRequest { campaign_id: nowhere.clone(), ..Default::default() };
    assert_eq!(
        h.client.clone().list_campaign_posts(h.staff(request)).await.expect_err("unknown").code(),
        Code::NotFound
    );
    let request = pb::ListCampaignPostsRequest {
        campaign_id: campaign.id.clone(),
        page_token: "zz".into(),
        author_kind: 9,
        ..Default::default()
    };
    let status = h.client.clone().list_campaign_posts(h.staff(request)).await.expect_err("bad");
    assert_field_violation(&status, "author_kind");
    let request = pb::ListCampaignPostsRequest {
        campaign_id: campaign.id.clone(),
        page_token: "zz".into(),
        ..Default::default()
    };
    assert_field_violation(
        &h.client.clone().list_campaign_posts(h.staff(request)).await.expect_err("bad"),
        "page_token",
    );
    let update = pb::Campaign { id: nowhere.clone(), title: "新".into(), ..Default::default() };
    assert_eq!(h.update(update, &["title"]).await.expect_err("unknown").code(), Code::NotFound);
    assert_eq!(h.close(&nowhere, "").await.expect_err("unknown").code(), Code::NotFound);
    let request = pb::CloseCampaignRequest { id: campaign.id.clone(), reason: "因".repeat(2001), etag: String::new() };
    assert_field_violation(&h.client.clone().close_campaign(h.staff(request)).await.expect_err("long"), "reason");
    let request = pb::CloseCampaignRequest { id: campaign.id.clone(), ..Default::default() };
    let status =
        h.client.clone().close_campaign(h.request_as(request, "m", "", &[Role::Member])).await.expect_err("role");
    assert_eq!(status.code(), Code::PermissionDenied);
}
on_both_backends!(bad_campaigns_and_posts_are_refused, super::bad_inputs);

/// The seed's scale: 420 distinct participants (netizens and members) post 450 suggestions, many at
/// once; the counts equal the rows, pages hold every post once in order, each post reported one event,
/// an enterprise posts as itself, retries are idempotent, and authors are shown only to those who may
/// see them.
async fn participants_and_posts(backend: StorageBackend) {
    let Some(h) = Harness::start(backend).await else { return };
    let campaign = h.create(open_campaign(), "").await.expect("created");

    let h = std::sync::Arc::new(h);
    let workers: Vec<_> = (0..8)
        .map(|w| {
            let h = h.clone();
            let campaign_id = campaign.id.clone();
            tokio::spawn(async move {
                for n in (w..450).step_by(8) {
                    let person = n % 420;
                    let (subject, role) = if person % 5 == 0 {
                        (format!("member-{person}"), Role::Member)
                    } else {
                        (format!("netizen-{person}"), Role::Netizen)
                    };
                    let text = format!("第{n}条建议：优化营商环境，降低企业融资成本。");
                    h.post_as(&campaign_id, &text, &subject, "", &[role]).await.expect("posted");
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    let counted = h.get(&campaign.id).await;
    assert_eq!((counted.participant_count, counted.post_count), (420, 450), "420 participants, 300+ posts");
    assert_eq!(counted.etag, campaign.etag, "posts do not change the campaign's revision");
    assert_eq!(h.count("SELECT COUNT(*) FROM campaign_post WHERE campaign_id = $1", &campaign.id).await, 450);
    assert_eq!(h.events_of("campaign_post_created").await.len(), 450, "one event per post");

    let request =
        pb::ListCampaignPostsRequest { campaign_id: campaign.id.clone(), page_size: 100, ..Default::default() };
    let posts = h.all_posts(request).await;
    assert_eq!(posts.len(), 450);
    let mut ids: Vec<_> = posts.iter().map(|p| p.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 450, "no post twice");
    assert!(posts.windows(2).all(|w| instant(&w[0].create_time) <= instant(&w[1].create_time)), "oldest first");
    let request = pb::ListCampaignPostsRequest {
        campaign_id: campaign.id.clone(),
        author_kind: pb::PostAuthorKind::Member as i32,
        page_size: 500,
        ..Default::default()
    };
    let by_members = h.all_posts(request).await;
    assert_eq!(by_members.len(), 90);
    assert!(by_members.iter().all(|p| p.author.starts_with("member-")));

    // An enterprise posts as itself (its token's org is its credit code).
    let request = pb::CreateEnterpriseRequest {
        enterprise: Some(pb::Enterprise {
            name: "舟山市海之味远洋渔业有限公司".into(),
            credit_code: CODE.into(),
            district: "putuo".into(),
            industry: "ocean_fishing".into(),
            size: pb::EnterpriseSize::Medium as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let enterprise = h.client.clone().create_enterprise(h.staff(request)).await.expect("enterprise").into_inner();
    let enterprise_id = enterprise.enterprise.expect("enterprise").id;
    let request = pb::CreateCampaignPostRequest {
        campaign_id: campaign.id.clone(),
        post: Some(pb::CampaignPost {
            title: "渔船抵押贷款".into(),
            text: "建议扩大渔船抵押贷款范围。".into(),
            author_display_name: "海之味".into(),
            author: "spoofed".into(),
            enterprise_id: "spoofed".into(),
            ..Default::default()
        }),
        request_id: "post-1".into(),
    };
    let as_enterprise = |r| h.request_as(r, "enterprise-user-1", CODE, &[Role::Enterprise]);
    let post = h.client.clone().create_campaign_post(as_enterprise(request.clone())).await.expect("posted");
    let post = post.into_inner().post.expect("post");
    assert_eq!(post.author, "enterprise-user-1", "the author comes from the identity, not the request");
    assert_eq!(post.author_kind, pb::PostAuthorKind::Enterprise as i32);
    assert_eq!(post.enterprise_id, enterprise_id);
    let again = h.client.clone().create_campaign_post(as_enterprise(request.clone())).await.expect("retried");
    assert_eq!(again.into_inner().post.expect("post"), post, "a retry returns the first post");
    let mut changed = request.clone();
    changed.post.as_mut().expect("post").text = "另一条建议".into();
    let status = h.client.clone().create_campaign_post(as_enterprise(changed)).await.expect_err("reused id");
    assert_eq!(status.code(), Code::AlreadyExists);
    let counted = h.get(&campaign.id).await;
    assert_eq!((counted.participant_count, counted.post_count), (421, 451));

    // Others see display names, not subjects; the author sees their own.
    let request = pb::ListCampaignPostsRequest {
        campaign_id: campaign.id.clone(),
        author_kind: pb::PostAuthorKind::Enterprise as i32,
        ..Default::default()
    };
    let mut client = h.client.clone();
    let seen = client.list_campaign_posts(h.request_as(request.clone(), "netizen-1", "", &[Role::Netizen]));
    let seen = seen.await.expect("listed").into_inner().posts;
    assert_eq!((seen[0].author.as_str(), seen[0].enterprise_id.as_str()), ("", ""));
    assert_eq!(seen[0].author_display_name, "海之味");
    let own = client.list_campaign_posts(h.request_as(request, "enterprise-user-1", CODE, &[Role::Enterprise]));
    let own = own.await.expect("listed").into_inner().posts;
    assert_eq!(own[0].author, "enterprise-user-1");
}
on_both_backends!(participants_and_posts_are_counted, super::participants_and_posts);

/// Promoting a post creates one demand (channel CAMPAIGN, origin the post) linked both ways, with
/// DemandSubmitted and CampaignPostPromoted; promoting again — even concurrently — returns the first
/// demand; a netizen's post becomes a demand without an enterprise and with a title from its text.
async fn promotion(backend: StorageBackend) {
    let Some(h) = Harness::start(backend).await else { return };
    let campaign = h.create(open_campaign(), "").await.expect("created");
    let request = pb::CreateEnterpriseRequest {
        enterprise: Some(pb::Enterprise {
            name: "舟山市海之味远洋渔业有限公司".into(),
            credit_code: CODE.into(),
            district: "putuo".into(),
            industry: "ocean_fishing".into(),
            size: pb::EnterpriseSize::Medium as i32,
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let enterprise = h.client.clone().create_enterprise(h.staff(request)).await.expect("enterprise").into_inner();
    let enterprise_id = enterprise.enterprise.expect("enterprise").id;
    let request = pb::CreateCampaignPostRequest {
        campaign_id: campaign.id.clone(),
        post: Some(pb::CampaignPost {
            title: "远洋渔业融资成本高".into(),
            text: "建议金融机构降低远洋渔业企业综合融资成本。".into(),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let mut client = h.client.clone();
    let post = client.create_campaign_post(h.request_as(request, "enterprise-user-1", CODE, &[Role::Enterprise]));
    let post = post.await.expect("posted").into_inner().post.expect("post");
    let netizen_post = h
        .post(
            &campaign.id,
            "景区停车位太少，节假日游客找不到停车的地方，建议在主要景区周边增设临时停车场并提供接驳车。",
        )
        .await
        .expect("posted");

    // Bad requests first: nothing is created.
    let promote = |post_id: &str, category: &str| pb::PromotePostToDemandRequest {
        post_id: post_id.into(),
        category: category.into(),
        ..Default::default()
    };
    let status = h
        .promote(pb::PromotePostToDemandRequest {
            title: "题".repeat(201),
            difficulty_tags: vec![9],
            ..promote("x", "fishing")
        })
        .await
        .expect_err("bad");
    for field in ["post_id", "category", "title", "difficulty_tags"] {
        assert_field_violation(&status, field);
    }
    let nowhere = tingjian_runtime::wire::new_id();
    assert_eq!(h.promote(promote(&nowhere, "finance_credit")).await.expect_err("unknown").code(), Code::NotFound);
    let status = h
        .promote(pb::PromotePostToDemandRequest {
            enterprise_id: nowhere.clone(),
            ..promote(&netizen_post.id, "tourism_env")
        })
        .await
        .expect_err("category");
    assert_field_violation(&status, "category");
    let status = h
        .promote(pb::PromotePostToDemandRequest {
            enterprise_id: nowhere.clone(),
            ..promote(&netizen_post.id, "approval")
        })
        .await
        .expect_err("unknown enterprise");
    assert_eq!(status.code(), Code::NotFound);
    let request = h.request_as(promote(&post.id, "finance_credit"), "member-1", "", &[Role::Member]);
    assert_eq!(
        h.client.clone().promote_post_to_demand(request).await.expect_err("role").code(),
        Code::PermissionDenied
    );
    assert_eq!(h.count("SELECT COUNT(*) FROM demand WHERE id <> $1", "").await, 0);

    // The enterprise's post: the demand is the enterprise's, titled like the post, linked both ways.
    let request = pb::PromotePostToDemandRequest {
        difficulty_tags: vec![pb::DifficultyTag::HighFrequency as i32],
        request_id: "promote-1".into(),
        ..promote(&post.id, "金融信贷")
    };
    let promoted = h.promote(request.clone()).await.expect("promoted");
    let (demand, linked) = (promoted.demand.expect("demand"), promoted.post.expect("post"));
    assert_eq!(demand.channel, pb::DemandChannel::Campaign as i32);
    assert_eq!(demand.origin_id, post.id);
    assert_eq!(demand.enterprise_id, enterprise_id);
    assert_eq!((demand.title.as_str(), demand.text.as_str()), (post.title.as_str(), post.text.as_str()));
    assert_eq!(demand.category, "finance_credit");
    assert_eq!(demand.difficulty_tags, [pb::DifficultyTag::HighFrequency as i32]);
    assert_eq!(demand.status, pb::DemandStatus::Submitted as i32);
    assert_eq!((demand.district.as_str(), demand.industry.as_str()), ("putuo", "ocean_fishing"));
    assert_eq!(linked.promoted_demand_id, demand.id);
    let request_get = pb::GetDemandRequest { id: demand.id.clone() };
    let stored =
        h.client.clone().get_demand(h.staff(request_get)).await.expect("demand").into_inner().demand.expect("d");
    assert_eq!(stored, demand);

    // Twice (or with other parameters, or many at once): the first demand, nothing new.
    let again =
        h.promote(pb::PromotePostToDemandRequest { title: "另一个标题".into(), ..promote(&post.id, "logistics") });
    assert_eq!(again.await.expect("again").demand.expect("demand"), demand);
    assert_eq!(h.promote(request).await.expect("retry").demand.expect("demand").id, demand.id);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let mut client = h.client.clone();
            let request = h.staff(promote(&netizen_post.id, "approval"));
            tokio::spawn(async move { client.promote_post_to_demand(request).await.map(|r| r.into_inner()) })
        })
        .collect();
    let mut demands = Vec::new();
    for task in tasks {
        demands.push(task.await.expect("task").expect("promoted").demand.expect("demand").id);
    }
    demands.dedup();
    assert_eq!(demands.len(), 1, "concurrent promotions make one demand");
    assert_eq!(h.count("SELECT COUNT(*) FROM demand WHERE origin_id = $1", &post.id).await, 1);
    assert_eq!(h.count("SELECT COUNT(*) FROM demand WHERE origin_id = $1", &netizen_post.id).await, 1);
    assert_eq!(h.events_of("campaign_post_promoted").await.len(), 2);
    assert_eq!(h.events_of("demand_submitted").await.len(), 2);
    let promoted_events = h.events_of("campaign_post_promoted").await;
    let payload = pb::CampaignPostPromoted::decode(promoted_events[0].1.data.as_slice()).expect("payload");
    assert_eq!((payload.post_id.as_str(), payload.demand_id.as_str()), (post.id.as_str(), demand.id.as_str()));
    assert_eq!(promoted_events[0].0, format!("campaigns/{}", campaign.id));

    // The netizen's demand has no enterprise and a title from the start of its text.
    let request_get = pb::GetDemandRequest { id: demands[0].clone() };
    let netizen_demand =
        h.client.clone().get_demand(h.staff(request_get)).await.expect("demand").into_inner().demand.expect("d");
    assert_eq!(netizen_demand.enterprise_id, "");
    assert!(netizen_demand.title.starts_with("景区停车位太少"));
    assert!(netizen_demand.title.chars().count() <= 50);
    assert_eq!(netizen_demand.text, netizen_post.text);

    // Promoted posts drop out of the unpromoted list.
    let request =
        pb::ListCampaignPostsRequest { campaign_id: campaign.id.clone(), unpromoted_only: true, ..Default::default() };
    assert!(h.all_posts(request).await.is_empty());
    let request = pb::ListCampaignPostsRequest { campaign_id: campaign.id.clone(), ..Default::default() };
    assert!(h.all_posts(request).await.iter().all(|p| !p.promoted_demand_id.is_empty()));
}
on_both_backends!(posts_are_promoted_once, super::promotion);
