//! Logs and traces: `tracing-subscriber` (human lines locally, JSON with `TINGJIAN_LOG_FORMAT=json`),
//! OpenTelemetry spans exported over OTLP/gRPC when `TINGJIAN_OTLP_ENDPOINT` is set, and the W3C
//! trace context (`traceparent`, `tracestate`) carried through gRPC metadata and event envelopes.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::settings::{LogFormat, TelemetrySettings};

/// Flushes and shuts down the trace exporter when dropped; keep it alive for the life of `main`.
///
/// The flush blocks its thread until the exporter answers, and the OTLP exporter needs the Tokio
/// runtime to make progress: drop the guard outside the runtime, on a multi-thread runtime, or from
/// `spawn_blocking` — never on the only thread of a current-thread runtime.
#[must_use = "dropping the guard stops trace export"]
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    meters: Option<opentelemetry_sdk::metrics::SdkMeterProvider>,
}

impl TelemetryGuard {
    /// Exports every span still buffered and stops the exporter.
    pub fn shutdown(&mut self) {
        if let Some(meters) = self.meters.take()
            && let Err(e) = meters.shutdown()
        {
            eprintln!("metric exporter shutdown failed: {e}");
        }
        if let Some(provider) = self.provider.take() {
            if let Err(e) = provider.force_flush() {
                eprintln!("trace export flush failed: {e}");
            }
            if let Err(e) = provider.shutdown() {
                eprintln!("trace exporter shutdown failed: {e}");
            }
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A telemetry set-up that could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter could not be built.
    #[error("cannot build the OTLP trace exporter for {endpoint}: {reason}")]
    Exporter {
        /// The endpoint.
        endpoint: String,
        /// Why.
        reason: String,
    },
    /// A global subscriber is already installed.
    #[error("telemetry is already initialised in this process")]
    AlreadyInitialised,
}

/// Installs the global subscriber for `service` and, when an OTLP endpoint is configured, the trace
/// exporter. Must be called from within a Tokio runtime when OTLP export is on.
pub fn init(service: &str, settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());

    let filter = EnvFilter::try_new(&settings.log_filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let fmt = match settings.log_format {
        // Logs go to standard error, leaving standard output to what a command prints for people.
        LogFormat::Human => tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_target(true).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };

    // Spans are always recorded with OpenTelemetry ids, so the trace context of an incoming call
    // reaches outgoing calls and events even when nothing is exported; export only when configured.
    let resource = opentelemetry_sdk::Resource::builder().with_service_name(format!("tingjian-{service}")).build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &settings.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|e| TelemetryError::Exporter { endpoint: endpoint.clone(), reason: e.to_string() })?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    let tracer = provider.tracer("tingjian");
    opentelemetry::global::set_tracer_provider(provider.clone());
    let mut guard = TelemetryGuard { provider: Some(provider), meters: None };
    if let Some(endpoint) = &settings.otlp_endpoint {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint.clone())
            .build()
            .map_err(|e| TelemetryError::Exporter { endpoint: endpoint.clone(), reason: e.to_string() })?;
        let meters = opentelemetry_sdk::metrics::SdkMeterProvider::builder()
            .with_periodic_exporter(exporter)
            .with_resource(
                opentelemetry_sdk::Resource::builder().with_service_name(format!("tingjian-{service}")).build(),
            )
            .build();
        opentelemetry::global::set_meter_provider(meters.clone());
        guard.meters = Some(meters);
    }
    let otel = tracing_opentelemetry::layer().with_tracer(tracer);

    tracing_subscriber::registry()
        .with(filter)
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|_| TelemetryError::AlreadyInitialised)?;
    Ok(guard)
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

struct MetadataInjector<'a>(&'a mut tonic::metadata::MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            tonic::metadata::MetadataKey::from_bytes(key.as_bytes()),
            tonic::metadata::MetadataValue::try_from(value.as_str()),
        ) {
            self.0.insert(key, value);
        }
    }
}

/// Sets the parent of `span` to the W3C trace context found in the request headers, if any.
pub fn adopt_remote_parent(span: &tracing::Span, headers: &http::HeaderMap) {
    let cx = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    let _ = span.set_parent(cx);
}

/// Writes the current span's W3C trace context into outgoing gRPC metadata.
pub fn inject_current_context(metadata: &mut tonic::metadata::MetadataMap) {
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut MetadataInjector(metadata));
}

/// The current span's W3C trace context as (`traceparent`, `tracestate`), for event envelopes.
pub fn current_trace_headers() -> (String, String) {
    let mut map = std::collections::HashMap::new();
    let cx = tracing::Span::current().context();
    TraceContextPropagator::new().inject_context(&cx, &mut map);
    (map.remove("traceparent").unwrap_or_default(), map.remove("tracestate").unwrap_or_default())
}

/// A client interceptor that adds the current trace context (and a bearer token, if given) to every
/// outgoing call, so a trace follows a request from one service to the next.
#[derive(Clone, Default)]
pub struct ClientContext {
    bearer: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
}

impl std::fmt::Debug for ClientContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientContext").field("bearer", &self.bearer.as_ref().map(|_| "[redacted]")).finish()
    }
}

impl ClientContext {
    /// Propagates the trace context and sends `token` as the bearer.
    pub fn with_token(token: &str) -> Result<Self, tonic::metadata::errors::InvalidMetadataValue> {
        Ok(Self { bearer: Some(format!("Bearer {token}").parse()?) })
    }
}

impl tonic::service::Interceptor for ClientContext {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        inject_current_context(request.metadata_mut());
        if let Some(bearer) = &self.bearer {
            request.metadata_mut().insert("authorization", bearer.clone());
        }
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incoming_trace_context_reaches_outgoing_calls_and_events() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
            let mut headers = http::HeaderMap::new();
            headers.insert("traceparent", incoming.parse().expect("header"));
            let span = tracing::info_span!("grpc");
            adopt_remote_parent(&span, &headers);
            let _entered = span.enter();

            let (traceparent, _) = current_trace_headers();
            let parts: Vec<_> = traceparent.split('-').collect();
            assert_eq!(parts.len(), 4, "{traceparent}");
            assert_eq!(parts[1], "4bf92f3577b34da6a3ce929d0e0e4736", "same trace");
            assert_ne!(parts[2], "00f067aa0ba902b7", "our own span is the new parent");

            let mut metadata = tonic::metadata::MetadataMap::new();
            inject_current_context(&mut metadata);
            let sent = metadata.get("traceparent").expect("traceparent sent").to_str().expect("ascii");
            assert_eq!(sent, traceparent);
        });
    }

    #[test]
    fn without_a_parent_a_new_trace_starts() {
        let provider = SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("grpc");
            adopt_remote_parent(&span, &http::HeaderMap::new());
            let _entered = span.enter();
            let (traceparent, _) = current_trace_headers();
            assert!(traceparent.starts_with("00-") && traceparent.len() == 55, "{traceparent}");
        });
    }
}
