//! The gRPC server's behaviour through a real TCP socket: health and reflection, graceful shutdown
//! and its grace period, load shedding, the request timeout, authentication and message size limits.
//!
//! The calls go to a hand-written test service, `test.v1.SlowService`, whose one method sleeps for as
//! long as the request asks.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http::uri::PathAndQuery;
use prost::Message as _;
use tingjian_runtime::auth::{Authenticator, DevSigner, Role, TokenRequest};
use tingjian_runtime::server::{GrpcServer, ServeError, authenticated};
use tingjian_runtime::settings::{ServerSettings, Settings};
use tingjian_runtime::shutdown::Shutdown;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_prost::ProstCodec;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

const SERVICE: &str = "test.v1.SlowService";
const SLEEP: &str = "/test.v1.SlowService/Sleep";

/// `test.v1.SleepRequest`: sleep `millis`, ignoring `padding` (used to make a large message).
#[derive(Clone, PartialEq, prost::Message)]
struct SleepRequest {
    #[prost(uint64, tag = "1")]
    millis: u64,
    #[prost(bytes = "vec", tag = "2")]
    padding: Vec<u8>,
}

/// `test.v1.SleepReply`: empty.
#[derive(Clone, PartialEq, prost::Message)]
struct SleepReply {}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The test service, written the way tonic's generated servers are.
#[derive(Debug, Clone)]
struct SlowService {
    max_decoding_message_size: usize,
}

impl NamedService for SlowService {
    const NAME: &'static str = SERVICE;
}

/// The `Sleep` method.
struct SleepMethod;

impl tonic::server::UnaryService<SleepRequest> for SleepMethod {
    type Response = SleepReply;
    type Future = BoxFuture<Result<tonic::Response<SleepReply>, Status>>;

    fn call(&mut self, request: tonic::Request<SleepRequest>) -> Self::Future {
        let millis = request.into_inner().millis;
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            Ok(tonic::Response::new(SleepReply {}))
        })
    }
}

impl tower::Service<http::Request<Body>> for SlowService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        if request.uri().path() != SLEEP {
            return Box::pin(async { Ok(Status::unimplemented("no such method").into_http()) });
        }
        let limit = self.max_decoding_message_size;
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(ProstCodec::<SleepReply, SleepRequest>::default())
                .max_decoding_message_size(limit);
            Ok(grpc.unary(SleepMethod, request).await)
        })
    }
}

/// An encoded file descriptor set describing `test.v1.SlowService`, so reflection can list it.
fn slow_service_descriptor_set() -> &'static [u8] {
    use prost_types::field_descriptor_proto::{Label, Type};
    use prost_types::{
        DescriptorProto, FieldDescriptorProto, FileDescriptorProto, FileDescriptorSet, MethodDescriptorProto,
        ServiceDescriptorProto,
    };
    let field = |name: &str, number: i32, kind: Type| FieldDescriptorProto {
        name: Some(name.to_owned()),
        number: Some(number),
        label: Some(Label::Optional as i32),
        r#type: Some(kind as i32),
        json_name: Some(name.to_owned()),
        ..Default::default()
    };
    let file = FileDescriptorProto {
        name: Some("test/v1/slow.proto".to_owned()),
        package: Some("test.v1".to_owned()),
        message_type: vec![
            DescriptorProto {
                name: Some("SleepRequest".to_owned()),
                field: vec![field("millis", 1, Type::Uint64), field("padding", 2, Type::Bytes)],
                ..Default::default()
            },
            DescriptorProto { name: Some("SleepReply".to_owned()), ..Default::default() },
        ],
        service: vec![ServiceDescriptorProto {
            name: Some("SlowService".to_owned()),
            method: vec![MethodDescriptorProto {
                name: Some("Sleep".to_owned()),
                input_type: Some(".test.v1.SleepRequest".to_owned()),
                output_type: Some(".test.v1.SleepReply".to_owned()),
                ..Default::default()
            }],
            ..Default::default()
        }],
        syntax: Some("proto3".to_owned()),
        ..Default::default()
    };
    let set = FileDescriptorSet { file: vec![file] };
    Box::leak(set.encode_to_vec().into_boxed_slice())
}

/// A server running on `127.0.0.1:<ephemeral port>`.
struct Running {
    addr: SocketAddr,
    shutdown: Shutdown,
    serve: JoinHandle<Result<(), ServeError>>,
    signer: DevSigner,
    _keys: tempfile::TempDir,
}

/// The default server limits; each test shortens the one it exercises.
fn server_settings() -> ServerSettings {
    Settings::defaults("test", 0).server
}

/// An authenticator trusting a fresh development key, and the signer of that key.
fn dev_keys() -> (tempfile::TempDir, Authenticator, DevSigner) {
    let dir = tempfile::tempdir().expect("a temporary directory for the key");
    let mut auth = Settings::defaults("test", 0).auth;
    auth.dev_key = Some(dir.path().join("dev.pem"));
    let authenticator = Authenticator::from_settings(&auth).expect("the development key is created");
    let signer = DevSigner::load_or_create(&dir.path().join("dev.pem"), &auth).expect("the key loads");
    (dir, authenticator, signer)
}

/// Starts a server with `settings`; `register` adds its APIs.
async fn start(settings: ServerSettings, register: impl FnOnce(&mut GrpcServer)) -> Running {
    let (keys, authenticator, signer) = dev_keys();
    let mut server = GrpcServer::new(&settings, authenticator);
    register(&mut server);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("the bound address");
    let shutdown = Shutdown::new();
    let serve = tokio::spawn(server.serve(listener, shutdown.wait()));
    Running { addr, shutdown, serve, signer, _keys: keys }
}

/// Starts a server with the plain test service.
async fn start_slow(settings: ServerSettings) -> Running {
    start(settings, |server| {
        let service = SlowService { max_decoding_message_size: server.max_message_bytes() };
        server.add_api(service, slow_service_descriptor_set());
    })
    .await
}

fn endpoint(addr: SocketAddr) -> Endpoint {
    Endpoint::from_shared(format!("http://{addr}")).expect("a valid URI").connect_timeout(Duration::from_secs(2))
}

async fn connect(addr: SocketAddr) -> Channel {
    endpoint(addr).connect().await.expect("the server accepts a connection")
}

/// Calls `Sleep`, with `padding` bytes of filler and an optional bearer token.
async fn sleep_call(channel: Channel, millis: u64, padding: usize, token: Option<&str>) -> Result<SleepReply, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unavailable(format!("channel not ready: {e}")))?;
    let mut request = tonic::Request::new(SleepRequest { millis, padding: vec![7; padding] });
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("a token is ASCII");
        request.metadata_mut().insert("authorization", value);
    }
    grpc.unary(request, PathAndQuery::from_static(SLEEP), ProstCodec::<SleepRequest, SleepReply>::default())
        .await
        .map(tonic::Response::into_inner)
}

async fn health_status(channel: Channel, service: &str) -> Result<ServingStatus, Status> {
    let response =
        HealthClient::new(channel).check(HealthCheckRequest { service: service.to_owned() }).await?.into_inner();
    Ok(ServingStatus::try_from(response.status).expect("a known serving status"))
}

async fn reflected_services(channel: Channel) -> Vec<String> {
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = ServerReflectionClient::new(channel)
        .server_reflection_info(tokio_stream::iter([request]))
        .await
        .expect("reflection answers")
        .into_inner();
    let response = responses.message().await.expect("a reflection response").expect("one response");
    match response.message_response {
        Some(MessageResponse::ListServicesResponse(list)) => list.service.into_iter().map(|s| s.name).collect(),
        other => panic!("expected a list of services, got {other:?}"),
    }
}

/// Waits for `serve` to return, failing the test if it takes longer than `limit`.
async fn stopped(serve: JoinHandle<Result<(), ServeError>>, limit: Duration) -> Result<(), ServeError> {
    tokio::time::timeout(limit, serve).await.expect("serve returns in time").expect("the serve task does not panic")
}

fn code<T: std::fmt::Debug>(result: Result<T, Status>) -> Code {
    match result {
        Ok(value) => panic!("expected an error status, got {value:?}"),
        Err(status) => status.code(),
    }
}

#[tokio::test]
async fn health_reports_serving_and_reflection_lists_services() {
    let running = start_slow(server_settings()).await;
    let channel = connect(running.addr).await;

    assert_eq!(health_status(channel.clone(), "").await.expect("health check of the server"), ServingStatus::Serving);
    assert_eq!(
        health_status(channel.clone(), SERVICE).await.expect("health check of the test service"),
        ServingStatus::Serving
    );
    assert_eq!(
        code(health_status(channel.clone(), "test.v1.NoSuchService").await),
        Code::NotFound,
        "health knows only the registered APIs"
    );

    let services = reflected_services(channel.clone()).await;
    assert!(services.iter().any(|s| s == SERVICE), "reflection lists the API: {services:?}");
    assert!(services.iter().any(|s| s == "grpc.health.v1.Health"), "reflection lists health: {services:?}");

    sleep_call(channel, 0, 0, None).await.expect("the test service answers");

    running.shutdown.trigger();
    stopped(running.serve, Duration::from_secs(5)).await.expect("serve returns Ok");
}

#[tokio::test]
async fn graceful_shutdown_drains_in_flight_calls() {
    let running = start_slow(server_settings()).await;
    let channel = connect(running.addr).await;

    let started = Instant::now();
    let in_flight = tokio::spawn(sleep_call(channel, 1000, 0, None));
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.shutdown.trigger();

    let reply = tokio::time::timeout(Duration::from_secs(5), in_flight)
        .await
        .expect("the in-flight call finishes")
        .expect("the call task does not panic");
    assert!(reply.is_ok(), "the in-flight call completes normally: {reply:?}");
    assert!(started.elapsed() >= Duration::from_millis(1000), "the call ran to its end");

    stopped(running.serve, Duration::from_secs(5)).await.expect("serve returns Ok after draining");
    assert!(started.elapsed() >= Duration::from_millis(1000), "serve waited for the in-flight call");

    let again = endpoint(running.addr).connect().await;
    assert!(again.is_err(), "the server no longer accepts connections");
}

#[tokio::test]
async fn shutdown_grace_bounds_draining() {
    let mut settings = server_settings();
    settings.shutdown_grace = Duration::from_millis(300);
    let running = start_slow(settings).await;
    let channel = connect(running.addr).await;

    let in_flight = tokio::spawn(sleep_call(channel, 5000, 0, None));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let triggered = Instant::now();
    running.shutdown.trigger();

    stopped(running.serve, Duration::from_secs(2)).await.expect("serve returns Ok when the grace period ends");
    let waited = triggered.elapsed();
    assert!(waited >= Duration::from_millis(300), "serve waited for the grace period ({waited:?})");
    assert!(waited < Duration::from_secs(2), "serve did not wait for the 5 s call ({waited:?})");
    assert!(endpoint(running.addr).connect().await.is_err(), "the server no longer accepts connections");
    // The call still running when the grace period ended was ended with it, not left to run on.
    let ended = tokio::time::timeout(Duration::from_secs(1), in_flight)
        .await
        .expect("the call ends with the grace period")
        .expect("the call task does not panic");
    assert_eq!(code(ended), Code::Unavailable);
}

#[tokio::test]
async fn open_streams_end_when_draining_starts() {
    let mut settings = server_settings();
    settings.shutdown_grace = Duration::from_secs(20);
    let running = start_slow(settings).await;
    let channel = connect(running.addr).await;

    let mut watch = HealthClient::new(channel)
        .watch(HealthCheckRequest { service: String::new() })
        .await
        .expect("watch opens")
        .into_inner();
    let first = watch.message().await.expect("first status").expect("a status");
    assert_eq!(first.status(), ServingStatus::Serving);

    let triggered = Instant::now();
    running.shutdown.trigger();
    // The watcher learns NOT_SERVING, then the stream ends with UNAVAILABLE instead of holding the
    // drain open for the whole grace period.
    let mut last = None;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), watch.message()).await.expect("the stream moves") {
            Ok(Some(update)) => last = Some(update.status()),
            Ok(None) => panic!("the stream should end with a status, not silently"),
            Err(status) => {
                assert_eq!(status.code(), Code::Unavailable, "{status:?}");
                break;
            }
        }
    }
    assert_eq!(last, Some(ServingStatus::NotServing));
    stopped(running.serve, Duration::from_secs(5)).await.expect("serve returns Ok");
    assert!(triggered.elapsed() < Duration::from_secs(5), "the drain did not wait out the 20 s grace");
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_shed() {
    let mut settings = server_settings();
    settings.concurrency_limit = 2;
    let running = start_slow(settings).await;
    let channel = connect(running.addr).await;

    let first = tokio::spawn(sleep_call(channel.clone(), 1000, 0, None));
    let second = tokio::spawn(sleep_call(channel.clone(), 1000, 0, None));
    tokio::time::sleep(Duration::from_millis(200)).await;

    let shed = sleep_call(channel.clone(), 0, 0, None).await;
    assert_eq!(code(shed), Code::ResourceExhausted, "a third call is refused at once");
    assert_eq!(health_status(channel.clone(), "").await.expect("health is never shed"), ServingStatus::Serving);

    for call in [first, second] {
        call.await.expect("the call task does not panic").expect("the calls within the limit succeed");
    }
    sleep_call(channel, 0, 0, None).await.expect("a call succeeds once the slots are free");

    running.shutdown.trigger();
    stopped(running.serve, Duration::from_secs(5)).await.expect("serve returns Ok");
}

#[tokio::test]
async fn slow_calls_end_with_deadline_exceeded() {
    let mut settings = server_settings();
    settings.request_timeout = Duration::from_millis(200);
    let running = start_slow(settings).await;
    let channel = connect(running.addr).await;

    let started = Instant::now();
    let result = sleep_call(channel.clone(), 2000, 0, None).await;
    let took = started.elapsed();
    assert_eq!(code(result), Code::DeadlineExceeded);
    assert!(took < Duration::from_millis(1500), "the call was ended by the server's limit ({took:?})");

    sleep_call(channel, 10, 0, None).await.expect("a call within the limit succeeds");

    running.shutdown.trigger();
    stopped(running.serve, Duration::from_secs(5)).await.expect("serve returns Ok");
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let running = start(server_settings(), |server| {
        let service = SlowService { max_decoding_message_size: server.max_message_bytes() };
        let interceptor = server.auth_interceptor();
        server.add_api(authenticated(service, interceptor), slow_service_descriptor_set());
    })
    .await;
    let channel = connect(running.addr).await;

    assert_eq!(code(sleep_call(channel.clone(), 0, 0, None).await), Code::Unauthenticated, "no token");
    assert_eq!(
        code(sleep_call(channel.clone(), 0, 0, Some("not-a-jwt")).await),
        Code::Unauthenticated,
        "a garbage token"
    );

    let request = TokenRequest {
        subject: "tester".to_owned(),
        organisation: "舟山市政协办公室".to_owned(),
        roles: vec![Role::Staff],
        name: None,
        ttl: Duration::from_secs(60),
    };
    let (_other_keys, _, stranger) = dev_keys();
    let foreign = stranger.mint(&request).expect("a token signed by another key");
    assert_eq!(
        code(sleep_call(channel.clone(), 0, 0, Some(&foreign)).await),
        Code::Unauthenticated,
        "a token signed by an untrusted key"
    );

    let token = running.signer.mint(&request).expect("a valid token");
    sleep_call(channel.clone(), 0, 0, Some(&token)).await.expect("a call with a valid token succeeds");
    assert_eq!(health_status(channel, SERVICE).await.expect("health needs no token"), ServingStatus::Serving);

    running.shutdown.trigger();
    stopped(running.serve, Duration::from_secs(5)).await.expect("serve returns Ok");
}

#[tokio::test]
async fn oversized_messages_are_refused() {
    let mut settings = server_settings();
    settings.max_message_bytes = 1024;
    let running = start_slow(settings).await;
    let channel = connect(running.addr).await;

    sleep_call(channel.clone(), 0, 512, None).await.expect("a message within the limit is accepted");
    let refused = sleep_call(channel.clone(), 0, 4096, None).await;
    assert_eq!(code(refused), Code::OutOfRange, "tonic refuses a message over its decoding limit");
    sleep_call(channel, 0, 0, None).await.expect("the connection still serves calls");

    running.shutdown.trigger();
    stopped(running.serve, Duration::from_secs(5)).await.expect("serve returns Ok");
}
