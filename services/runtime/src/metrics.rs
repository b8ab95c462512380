//! Metrics, exported over OTLP with the traces when an endpoint is configured: the events
//! backbone's lag (the relay's oldest unsent event, the consumers' pending events).

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::metrics::Gauge;

struct Instruments {
    relay_lag: Gauge<f64>,
    consumer_lag: Gauge<u64>,
}

fn instruments() -> &'static Instruments {
    static INSTRUMENTS: OnceLock<Instruments> = OnceLock::new();
    INSTRUMENTS.get_or_init(|| {
        let meter = opentelemetry::global::meter("tingjian");
        Instruments {
            relay_lag: meter
                .f64_gauge("tingjian.events.relay.lag")
                .with_unit("s")
                .with_description("Age of the oldest event in the outbox not yet published")
                .build(),
            consumer_lag: meter
                .u64_gauge("tingjian.events.consumer.pending")
                .with_unit("{event}")
                .with_description("Events published but not yet applied by the consumer")
                .build(),
        }
    })
}

/// Records the age of the oldest unsent event of `service`'s outbox.
pub fn record_relay_lag(service: &str, lag: std::time::Duration) {
    instruments().relay_lag.record(lag.as_secs_f64(), &[KeyValue::new("service", service.to_owned())]);
}

/// Records how many events `consumer` has yet to apply.
pub fn record_consumer_lag(consumer: &str, pending: u64) {
    instruments().consumer_lag.record(pending, &[KeyValue::new("consumer", consumer.to_owned())]);
}
