//! Traces reach an OTLP/gRPC collector: a span recorded through `tracing` after
//! `telemetry::init` is exported, with the service's resource, when the guard is shut down.
//!
//! `telemetry::init` installs the process-wide subscriber, so this file holds exactly one test.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::resource::v1::Resource;
use tingjian_runtime::settings::Settings;
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

/// A collector that keeps every export request it receives.
#[derive(Debug, Clone, Default)]
struct Collector {
    received: Arc<Mutex<Vec<ExportTraceServiceRequest>>>,
}

#[tonic::async_trait]
impl TraceService for Collector {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.received.lock().expect("the collector's lock is not poisoned").push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// An exported span: its name and its resource's `service.name`.
#[derive(Debug)]
struct Exported {
    span: String,
    service_name: Option<String>,
}

/// The `service.name` attribute of an exported resource.
fn service_name(resource: Option<&Resource>) -> Option<String> {
    let attribute = resource?.attributes.iter().find(|kv| kv.key == "service.name")?;
    match attribute.value.as_ref()?.value.as_ref()? {
        Value::StringValue(name) => Some(name.clone()),
        _ => None,
    }
}

fn exported(requests: &[ExportTraceServiceRequest]) -> Vec<Exported> {
    let mut spans = Vec::new();
    for resource_spans in requests.iter().flat_map(|r| &r.resource_spans) {
        let service_name = service_name(resource_spans.resource.as_ref());
        for span in resource_spans.scope_spans.iter().flat_map(|s| &s.spans) {
            spans.push(Exported { span: span.name.clone(), service_name: service_name.clone() });
        }
    }
    spans
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_are_exported_to_the_otlp_collector() {
    let collector = Collector::default();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind an ephemeral port");
    let addr = listener.local_addr().expect("the bound address");
    let receiver = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(TraceServiceServer::new(collector.clone()))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );

    let mut settings = Settings::defaults("intake", 0).telemetry;
    settings.otlp_endpoint = Some(format!("http://{addr}"));
    let mut guard = tingjian_runtime::telemetry::init("intake", &settings).expect("telemetry starts");

    {
        let span = tracing::info_span!("test-span");
        let _entered = span.enter();
        tracing::info!("inside the test span");
    }

    // The flush blocks its thread until the batch processor's own thread has exported, and that export
    // needs this Tokio runtime to drive the exporter's channel, so a runtime thread must not block on
    // it: called directly on a current-thread runtime it times out (5 s flush + 5 s shutdown) and the
    // spans are lost.
    tokio::time::timeout(Duration::from_secs(20), tokio::task::spawn_blocking(move || guard.shutdown()))
        .await
        .expect("the flush finishes in time")
        .expect("the flush does not panic");

    let received = collector.received.lock().expect("the collector's lock is not poisoned").clone();
    let spans = exported(&received);
    let span = spans.iter().find(|s| s.span == "test-span");
    let span = span.unwrap_or_else(|| panic!("the collector received the test span; it got {spans:?}"));
    assert_eq!(span.service_name.as_deref(), Some("tingjian-intake"), "the resource names the service");

    receiver.abort();
}
