//! The gRPC server every service runs: its APIs plus `grpc.health.v1` and server reflection, behind
//! one tower stack (tracing, load shedding, request timeout), with bounded message sizes and a
//! graceful shutdown that drains in-flight calls.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tonic::body::Body;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::server::TcpIncoming;
use tonic::{Code, Status};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tower::{Layer, Service};
use tracing::Instrument;

use crate::auth::{AuthInterceptor, Authenticator};
use crate::settings::ServerSettings;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The health service's path prefix: probes are never shed, so an overloaded replica is not also
/// reported dead.
const HEALTH_PREFIX: &str = "/grpc.health.v1.Health/";

/// Builds and runs a gRPC server.
#[derive(Debug)]
pub struct GrpcServer {
    settings: ServerSettings,
    authenticator: Authenticator,
    routes: RoutesBuilder,
    names: Vec<&'static str>,
    descriptors: Vec<&'static [u8]>,
}

/// A server that failed to run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The reflection service could not read a descriptor set.
    #[error("invalid file descriptor set for reflection: {0}")]
    Reflection(String),
    /// The transport failed.
    #[error("gRPC transport error: {0}")]
    Transport(#[from] tonic::transport::Error),
}

impl GrpcServer {
    /// A server with no APIs yet; callers' tokens are verified with `authenticator`.
    pub fn new(settings: &ServerSettings, authenticator: Authenticator) -> Self {
        Self {
            settings: settings.clone(),
            authenticator,
            routes: RoutesBuilder::default(),
            names: Vec::new(),
            descriptors: Vec::new(),
        }
    }

    /// The interceptor that verifies callers; wrap each API's generated server in it with
    /// `tonic::service::interceptor::InterceptedService::new(server, interceptor)`.
    pub fn auth_interceptor(&self) -> AuthInterceptor {
        AuthInterceptor::new(self.authenticator.clone())
    }

    /// Largest message the server decodes or encodes; set it on each generated server.
    pub fn max_message_bytes(&self) -> usize {
        self.settings.max_message_bytes
    }

    /// Adds an API. `descriptor_set` is its package's encoded file descriptor set (reflection lists
    /// the services it describes).
    pub fn add_api<S>(&mut self, service: S, descriptor_set: &'static [u8]) -> &mut Self
    where
        S: Service<http::Request<Body>, Error = Infallible, Response = http::Response<Body>>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.names.push(S::NAME);
        if !self.descriptors.contains(&descriptor_set) {
            self.descriptors.push(descriptor_set);
        }
        self.routes.add_service(service);
        self
    }

    /// Names of the APIs added so far.
    pub fn api_names(&self) -> &[&'static str] {
        &self.names
    }

    /// Serves on `listener` until `shutdown` completes; then reports NOT_SERVING, stops accepting
    /// connections and waits up to the configured grace period for in-flight calls to finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send,
    ) -> Result<(), ServeError> {
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &self.names {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        health.set_service_status("", ServingStatus::Serving).await;

        let mut reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        let mut reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        for set in &self.descriptors {
            reflection_v1 = reflection_v1.register_encoded_file_descriptor_set(set);
            reflection_v1alpha = reflection_v1alpha.register_encoded_file_descriptor_set(set);
        }
        let reflection_v1 = reflection_v1.build_v1().map_err(|e| ServeError::Reflection(e.to_string()))?;
        let reflection_v1alpha =
            reflection_v1alpha.build_v1alpha().map_err(|e| ServeError::Reflection(e.to_string()))?;

        let mut routes = self.routes;
        routes.add_service(health_service).add_service(reflection_v1).add_service(reflection_v1alpha);

        let grace = self.settings.shutdown_grace;
        let (phase_tx, phase_rx) = watch::channel(Phase::Serving);
        let names = self.names.clone();
        let signal = {
            let phase_tx = phase_tx.clone();
            async move {
                shutdown.await;
                tracing::info!("shutdown requested; draining in-flight calls");
                mark_not_serving(&health, &names).await;
                phase_tx.send_replace(Phase::Draining);
            }
        };

        let server = tonic::transport::Server::builder()
            // Outermost: every call gets a span (with the caller's W3C parent) and a log line with its
            // status and latency, including calls refused by the layers below.
            .layer(TraceLayer)
            // While draining, open streams end with UNAVAILABLE so clients move to another replica;
            // when the grace period is over, calls still running are ended too.
            .layer(DrainLayer { phase: phase_rx.clone() })
            // Before any work: refuse calls beyond the concurrency limit at once (RESOURCE_EXHAUSTED)
            // rather than queueing them until they time out.
            .layer(LoadShedLayer::new(self.settings.concurrency_limit))
            // Innermost: bound the time a handler may take (DEADLINE_EXCEEDED), so a stuck dependency
            // cannot pin a concurrency slot forever.
            .layer(TimeoutLayer::new(self.settings.request_timeout))
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .tcp_nodelay(true)
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(TcpIncoming::from(listener), signal);

        tokio::pin!(server);
        let mut draining = phase_rx.clone();
        tokio::select! {
            result = &mut server => result?,
            () = async {
                let _ = draining.wait_for(|p| *p != Phase::Serving).await;
                tokio::time::sleep(grace).await;
            } => {
                tracing::warn!(grace = ?grace, "calls still running after the shutdown grace period; ending them");
                phase_tx.send_replace(Phase::Stopped);
                // Let the connections' tasks observe the stop and answer their calls.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

async fn mark_not_serving(health: &HealthReporter, names: &[&'static str]) {
    for name in names {
        health.set_service_status(*name, ServingStatus::NotServing).await;
    }
    health.set_service_status("", ServingStatus::NotServing).await;
}

/// Wraps a generated server in the authentication interceptor: calls without a valid token are
/// refused with UNAUTHENTICATED before they reach the handler, which finds the [`Caller`] in the
/// request's extensions.
///
/// [`Caller`]: crate::auth::Caller
pub fn authenticated<S>(server: S, interceptor: AuthInterceptor) -> Authenticated<S> {
    Authenticated { inner: tonic::service::interceptor::InterceptedService::new(server, interceptor) }
}

/// A generated server behind the authentication interceptor; see [`authenticated`].
#[derive(Debug, Clone)]
pub struct Authenticated<S> {
    inner: tonic::service::interceptor::InterceptedService<S, AuthInterceptor>,
}

impl<S: NamedService> NamedService for Authenticated<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, ResBody> Service<http::Request<Body>> for Authenticated<S>
where
    S: Service<http::Request<Body>, Response = http::Response<ResBody>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    ResBody::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let future = self.inner.call(request);
        Box::pin(async move { future.await.map(|response| response.map(Body::new)) })
    }
}

/// Where a server is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Accepting and serving calls.
    Serving,
    /// No new connections; calls in flight may finish, open streams are ended.
    Draining,
    /// The grace period is over: whatever still runs is ended.
    Stopped,
}

/// Ends open streams when draining starts and every call when the grace period is over.
#[derive(Debug, Clone)]
struct DrainLayer {
    phase: watch::Receiver<Phase>,
}

impl<S> Layer<S> for DrainLayer {
    type Service = Drain<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Drain { inner, phase: self.phase.clone() }
    }
}

/// See [`DrainLayer`].
#[derive(Debug, Clone)]
struct Drain<S> {
    inner: S,
    phase: watch::Receiver<Phase>,
}

fn shutting_down() -> Status {
    Status::unavailable("the server is shutting down; retry on another replica")
}

impl<S, B> Service<http::Request<B>> for Drain<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let mut inner = take_ready(&mut self.inner);
        let mut stopped = self.phase.clone();
        let body_phase = self.phase.clone();
        Box::pin(async move {
            tokio::select! {
                result = inner.call(request) => {
                    result.map(|response| response.map(|body| Body::new(DrainBody::new(body, body_phase))))
                }
                _ = stopped.wait_for(|p| *p == Phase::Stopped) => Ok(shutting_down().into_http()),
            }
        })
    }
}

pin_project_lite::pin_project! {
    /// A response body that ends with UNAVAILABLE when the server starts draining while the body is
    /// waiting for more (a stream); a body whose frames are ready (a unary reply) is not cut.
    struct DrainBody {
        #[pin]
        inner: Body,
        phase: watch::Receiver<Phase>,
        draining: Option<BoxFuture<()>>,
        done: bool,
    }
}

impl DrainBody {
    fn new(inner: Body, phase: watch::Receiver<Phase>) -> Self {
        Self { inner, phase, draining: None, done: false }
    }
}

impl http_body::Body for DrainBody {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let draining = this.draining.get_or_insert_with(|| {
            let mut phase = this.phase.clone();
            Box::pin(async move {
                let _ = phase.wait_for(|p| *p != Phase::Serving).await;
            })
        });
        if draining.as_mut().poll(cx).is_ready() {
            *this.done = true;
            let mut trailers = http::HeaderMap::new();
            return match shutting_down().add_header(&mut trailers) {
                Ok(()) => Poll::Ready(Some(Ok(http_body::Frame::trailers(trailers)))),
                Err(status) => Poll::Ready(Some(Err(status))),
            };
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Records a span and a log line per call.
#[derive(Debug, Clone, Copy)]
pub struct TraceLayer;

impl<S> Layer<S> for TraceLayer {
    type Service = Traced<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Traced { inner }
    }
}

/// See [`TraceLayer`].
#[derive(Debug, Clone)]
pub struct Traced<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for Traced<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request.uri().path().to_owned();
        let span = tracing::info_span!(
            "grpc",
            otel.name = %method,
            otel.kind = "server",
            rpc.system = "grpc",
            rpc.method = %method,
            caller = tracing::field::Empty,
            rpc.grpc.status_code = tracing::field::Empty,
        );
        crate::telemetry::adopt_remote_parent(&span, request.headers());
        let mut inner = take_ready(&mut self.inner);
        let started = Instant::now();
        Box::pin(
            async move {
                let result = inner.call(request).await;
                if let Ok(response) = &result {
                    // A unary call that failed answers with its status in the headers
                    // ("trailers-only"); otherwise the status follows in the trailers as OK or a
                    // streaming error.
                    let code = response
                        .headers()
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<i32>().ok())
                        .map_or(Code::Ok, Code::from_i32);
                    let span = tracing::Span::current();
                    span.record("rpc.grpc.status_code", code as i32);
                    let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
                    if method.starts_with(HEALTH_PREFIX) {
                        tracing::debug!(grpc.code = ?code, elapsed_ms, "call finished");
                    } else {
                        tracing::info!(grpc.code = ?code, elapsed_ms, "call finished");
                    }
                }
                result
            }
            .instrument(span),
        )
    }
}

/// Refuses calls beyond a fixed number in flight with RESOURCE_EXHAUSTED.
#[derive(Debug, Clone)]
pub struct LoadShedLayer {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl LoadShedLayer {
    /// At most `limit` calls at once across all connections.
    pub fn new(limit: usize) -> Self {
        Self { permits: Arc::new(Semaphore::new(limit)), limit }
    }
}

impl<S> Layer<S> for LoadShedLayer {
    type Service = LoadShed<S>;
    fn layer(&self, inner: S) -> Self::Service {
        LoadShed { inner, permits: self.permits.clone(), limit: self.limit }
    }
}

/// See [`LoadShedLayer`].
#[derive(Debug, Clone)]
pub struct LoadShed<S> {
    inner: S,
    permits: Arc<Semaphore>,
    limit: usize,
}

impl<S, B> Service<http::Request<B>> for LoadShed<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let permit = if request.uri().path().starts_with(HEALTH_PREFIX) {
            None
        } else {
            match self.permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    tracing::warn!(limit = self.limit, "call shed: concurrency limit reached");
                    let status = Status::resource_exhausted(format!(
                        "the server is handling its limit of {} concurrent calls; retry with backoff",
                        self.limit
                    ));
                    return Box::pin(std::future::ready(Ok(status.into_http())));
                }
            }
        };
        let mut inner = take_ready(&mut self.inner);
        Box::pin(async move {
            let _permit = permit;
            inner.call(request).await
        })
    }
}

/// Ends calls that take longer than a fixed time with DEADLINE_EXCEEDED.
#[derive(Debug, Clone, Copy)]
pub struct TimeoutLayer {
    timeout: Duration,
}

impl TimeoutLayer {
    /// Calls may take at most `timeout`.
    pub fn new(timeout: Duration) -> Self {
        Self { timeout }
    }
}

impl<S> Layer<S> for TimeoutLayer {
    type Service = Timeout<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Timeout { inner, timeout: self.timeout }
    }
}

/// See [`TimeoutLayer`].
#[derive(Debug, Clone)]
pub struct Timeout<S> {
    inner: S,
    timeout: Duration,
}

impl<S, B> Service<http::Request<B>> for Timeout<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let timeout = self.timeout;
        let mut inner = take_ready(&mut self.inner);
        Box::pin(async move {
            match tokio::time::timeout(timeout, inner.call(request)).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(?timeout, "call exceeded the server's time limit");
                    Ok(Status::deadline_exceeded(format!(
                        "the call took longer than the server's limit of {}",
                        humantime::format_duration(timeout)
                    ))
                    .into_http())
                }
            }
        })
    }
}

/// Takes the service that was just polled ready, leaving a fresh clone in its place (the tower idiom
/// for calling a cloned service from a `'static` future).
fn take_ready<S: Clone>(slot: &mut S) -> S {
    let clone = slot.clone();
    std::mem::replace(slot, clone)
}

/// Binds `addr`, naming the address in the error.
pub async fn bind(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}
