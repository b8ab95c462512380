//! Typed settings: built-in defaults, then an optional TOML file, then `TINGJIAN_*` environment
//! variables, each layer overriding the one before.
//!
//! Every setting has one dotted key (used in the file) and one environment variable; both go through
//! the same typed parser, so a bad value gets the same clear error wherever it came from. The loader
//! takes the environment as a map so it can be tested without touching the process environment.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A value that must never appear in logs: its `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself, for the one place that needs it (a connection, a key).
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object a line, for log collectors.
    Json,
}

/// Algorithm of the configured token verification keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// Ed25519 signatures (`EdDSA`), the default.
    EdDsa,
    /// RSA PKCS#1 v1.5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

/// Everything a service process needs to run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Name of the service these settings are for (`intake`, `consultation`, …, or `tingjian`).
    pub service: String,
    /// Address the gRPC server listens on.
    pub listen_addr: SocketAddr,
    /// The service's database.
    pub database: DatabaseSettings,
    /// The gRPC server's limits.
    pub server: ServerSettings,
    /// Logs and traces.
    pub telemetry: TelemetrySettings,
    /// Verification of callers' tokens.
    pub auth: AuthSettings,
    /// Where events travel.
    pub events: EventSettings,
    /// Where the other services of the suite listen.
    pub peers: PeerSettings,
    /// How supervision watches deadlines and long-running cases.
    pub supervision: SupervisionSettings,
    /// How intake's similar-demand engine decides and keeps up.
    pub similarity: SimilaritySettings,
}

/// How intake's similar-demand engine (合并同类项) decides what is alike and keeps its index current.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimilaritySettings {
    /// Lowest score, in (0, 1], of a likely duplicate shown on submission and by SuggestSimilar when
    /// the caller sets none. The default favours recall (the matches are a ranked list a person
    /// reads); the README's evaluation shows precision and recall at each threshold.
    pub match_threshold: f64,
    /// Lowest score, in (0, 1], of two demands grouped by a clustering proposal when the caller sets
    /// none; higher than the match threshold, so proposed groups favour precision (staff review each).
    pub cluster_threshold: f64,
    /// How often each replica reads the demands and common issues other replicas changed into its
    /// index; zero turns it off (a single replica sees its own changes at once).
    pub refresh_interval: Duration,
}

impl Default for SimilaritySettings {
    fn default() -> Self {
        Self { match_threshold: 0.2, cluster_threshold: 0.3, refresh_interval: Duration::from_secs(10) }
    }
}

/// Parses a similarity threshold: a number in (0, 1].
fn parse_threshold(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(v) if v > 0.0 && v <= 1.0 => Ok(v),
        _ => Err("expected a number above 0 and at most 1, e.g. 0.6".into()),
    }
}

/// A rung of the escalation ladder a case climbs when it stays overdue (升级督办).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EscalationRung {
    /// The head of the lead unit (一把手).
    Unit,
    /// The party/government supervision office (督查室).
    SupervisionOffice,
    /// Discipline inspection (纪检监察).
    DisciplineInspection,
}

impl EscalationRung {
    /// The rung's name in settings: `unit`, `supervision_office` or `discipline_inspection`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Unit => "unit",
            Self::SupervisionOffice => "supervision_office",
            Self::DisciplineInspection => "discipline_inspection",
        }
    }
}

/// One step of the overdue ladder: the rung reached once a case is this many working days past its
/// deadline without a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LadderStep {
    /// The rung.
    pub rung: EscalationRung,
    /// Working days past the deadline (0 = as soon as the deadline passes).
    pub after_working_days: u32,
}

/// How supervision watches deadlines and long-running cases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupervisionSettings {
    /// How often each replica runs the sweeps; zero turns the periodic sweep off (RunSweep still works).
    pub sweep_interval: Duration,
    /// Days before a quarter ends that the supervisor of a long-running case is reminded of its
    /// follow-up.
    pub reminder_days: u32,
    /// The rungs an overdue case climbs, in order, with the working days past the deadline of each.
    pub escalation_ladder: Vec<LadderStep>,
}

impl Default for SupervisionSettings {
    fn default() -> Self {
        Self {
            sweep_interval: Duration::from_secs(300),
            reminder_days: 15,
            escalation_ladder: vec![
                LadderStep { rung: EscalationRung::Unit, after_working_days: 0 },
                LadderStep { rung: EscalationRung::SupervisionOffice, after_working_days: 5 },
                LadderStep { rung: EscalationRung::DisciplineInspection, after_working_days: 10 },
            ],
        }
    }
}

/// Parses a ladder such as `unit:0,supervision_office:5,discipline_inspection:10`: rungs in rising
/// order, each with the working days past the deadline at which it is reached, the days not decreasing.
pub fn parse_escalation_ladder(raw: &str) -> Result<Vec<LadderStep>, String> {
    let mut steps: Vec<LadderStep> = Vec::new();
    for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, days) = part.split_once(':').ok_or_else(|| format!("`{part}` is not rung:working_days"))?;
        let rung = match name.trim() {
            "unit" => EscalationRung::Unit,
            "supervision_office" => EscalationRung::SupervisionOffice,
            "discipline_inspection" => EscalationRung::DisciplineInspection,
            other => return Err(format!("unknown rung `{other}` (unit, supervision_office, discipline_inspection)")),
        };
        let after_working_days: u32 =
            days.trim().parse().map_err(|_| format!("`{days}` is not a whole number of working days"))?;
        if let Some(last) = steps.last() {
            if rung <= last.rung {
                return Err("rungs must rise: unit, then supervision_office, then discipline_inspection".into());
            }
            if after_working_days < last.after_working_days {
                return Err("working days must not decrease up the ladder".into());
            }
        }
        steps.push(LadderStep { rung, after_working_days });
    }
    if steps.is_empty() {
        return Err("the ladder needs at least one rung".into());
    }
    Ok(steps)
}

/// Where the other services listen, for the calls one service makes to another (consultation reads
/// intake's common issues and creates supervision's cases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerSettings {
    /// URL of the intake service, e.g. `http://intake:50051`.
    pub intake_url: String,
    /// URL of the supervision service, e.g. `http://supervision:50053`.
    pub supervision_url: String,
    /// A call to another service taking longer than this fails with UNAVAILABLE.
    pub timeout: Duration,
}

/// Where events travel: NATS JetStream when a URL is set, else the embedded bus file.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// NATS server URL (`nats://host:4222`, may carry credentials); switches the service to
    /// JetStream.
    pub nats_url: Option<Secret<String>>,
    /// SQLite file of the embedded bus, used without NATS; services on one host may share it.
    pub bus_path: PathBuf,
}

/// Where and how the service stores its data.
#[derive(Debug, Clone)]
pub struct DatabaseSettings {
    /// `sqlite://path/to/file.db` or `postgres://user:password@host/db` (may hold a password).
    pub url: Secret<String>,
    /// PostgreSQL schema holding the service's tables (default: the service name), so the services can
    /// share one database while owning their tables. Ignored for SQLite.
    pub schema: Option<String>,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// How long to wait for a connection before failing.
    pub connect_timeout: Duration,
}

/// Limits of the gRPC server.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// A call running longer than this is ended with DEADLINE_EXCEEDED.
    pub request_timeout: Duration,
    /// Calls served at once; further calls are refused with RESOURCE_EXHAUSTED.
    pub concurrency_limit: usize,
    /// Largest encoded request or response message, in bytes.
    pub max_message_bytes: usize,
    /// How long in-flight calls may run after a shutdown signal before the server stops anyway.
    pub shutdown_grace: Duration,
}

/// Logs and traces.
#[derive(Debug, Clone)]
pub struct TelemetrySettings {
    /// Human-readable or JSON log lines.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info,tingjian_intake=debug`.
    pub log_filter: String,
    /// OTLP/gRPC endpoint (e.g. `http://otel-collector:4317`); traces are exported only when set.
    pub otlp_endpoint: Option<String>,
}

/// Verification of bearer tokens.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// Required `iss` claim.
    pub issuer: String,
    /// Required `aud` claim.
    pub audience: String,
    /// Algorithm of `public_keys`.
    pub algorithm: KeyAlgorithm,
    /// PEM files of the public keys trusted to sign tokens.
    pub public_keys: Vec<PathBuf>,
    /// Development signing key (PKCS#8 PEM), generated if missing and trusted for verification.
    /// Only for the embedded suite and local work; never set it in production.
    pub dev_key: Option<PathBuf>,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
}

/// A setting that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value that does not parse as its setting's type.
    #[error("invalid value {value:?} for setting `{key}` (from {source_name}): {reason}")]
    Invalid {
        /// Dotted key of the setting.
        key: String,
        /// The offending value (secrets are not echoed).
        value: String,
        /// Where the value came from: an environment variable or the file.
        source_name: String,
        /// What was expected.
        reason: String,
    },
    /// A key in the settings file that is not a setting.
    #[error("unknown setting `{key}` in {file}")]
    Unknown {
        /// The unknown dotted key.
        key: String,
        /// The file it was found in.
        file: String,
    },
    /// The settings file could not be read or is not TOML.
    #[error("cannot read settings file {file}: {reason}")]
    File {
        /// Path of the file.
        file: String,
        /// Why it failed.
        reason: String,
    },
}

/// One setting: its dotted key in the file and its environment variable.
struct Key {
    key: &'static str,
    env: &'static str,
    secret: bool,
}

const KEYS: &[Key] = &[
    Key { key: "listen_addr", env: "TINGJIAN_LISTEN_ADDR", secret: false },
    Key { key: "database.url", env: "TINGJIAN_DATABASE_URL", secret: true },
    Key { key: "database.schema", env: "TINGJIAN_DATABASE_SCHEMA", secret: false },
    Key { key: "database.max_connections", env: "TINGJIAN_DATABASE_MAX_CONNECTIONS", secret: false },
    Key { key: "database.connect_timeout", env: "TINGJIAN_DATABASE_CONNECT_TIMEOUT", secret: false },
    Key { key: "server.request_timeout", env: "TINGJIAN_REQUEST_TIMEOUT", secret: false },
    Key { key: "server.concurrency_limit", env: "TINGJIAN_CONCURRENCY_LIMIT", secret: false },
    Key { key: "server.max_message_bytes", env: "TINGJIAN_MAX_MESSAGE_BYTES", secret: false },
    Key { key: "server.shutdown_grace", env: "TINGJIAN_SHUTDOWN_GRACE", secret: false },
    Key { key: "telemetry.log_format", env: "TINGJIAN_LOG_FORMAT", secret: false },
    Key { key: "telemetry.log_filter", env: "TINGJIAN_LOG", secret: false },
    Key { key: "telemetry.otlp_endpoint", env: "TINGJIAN_OTLP_ENDPOINT", secret: false },
    Key { key: "auth.issuer", env: "TINGJIAN_AUTH_ISSUER", secret: false },
    Key { key: "auth.audience", env: "TINGJIAN_AUTH_AUDIENCE", secret: false },
    Key { key: "auth.algorithm", env: "TINGJIAN_AUTH_ALGORITHM", secret: false },
    Key { key: "auth.public_keys", env: "TINGJIAN_AUTH_PUBLIC_KEYS", secret: false },
    Key { key: "auth.dev_key", env: "TINGJIAN_AUTH_DEV_KEY", secret: false },
    Key { key: "auth.leeway", env: "TINGJIAN_AUTH_LEEWAY", secret: false },
    Key { key: "events.nats_url", env: "TINGJIAN_NATS_URL", secret: true },
    Key { key: "events.bus_path", env: "TINGJIAN_BUS_PATH", secret: false },
    Key { key: "peers.intake_url", env: "TINGJIAN_INTAKE_URL", secret: false },
    Key { key: "peers.supervision_url", env: "TINGJIAN_SUPERVISION_URL", secret: false },
    Key { key: "peers.timeout", env: "TINGJIAN_PEER_TIMEOUT", secret: false },
    Key { key: "supervision.sweep_interval", env: "TINGJIAN_SWEEP_INTERVAL", secret: false },
    Key { key: "supervision.reminder_days", env: "TINGJIAN_FOLLOW_UP_REMINDER_DAYS", secret: false },
    Key { key: "supervision.escalation_ladder", env: "TINGJIAN_ESCALATION_LADDER", secret: false },
    Key { key: "similarity.match_threshold", env: "TINGJIAN_SIMILARITY_MATCH_THRESHOLD", secret: false },
    Key { key: "similarity.cluster_threshold", env: "TINGJIAN_SIMILARITY_CLUSTER_THRESHOLD", secret: false },
    Key { key: "similarity.refresh_interval", env: "TINGJIAN_SIMILARITY_REFRESH_INTERVAL", secret: false },
];

/// Environment variable naming the optional settings file.
pub const CONFIG_ENV: &str = "TINGJIAN_CONFIG";

/// The documented list of settings: (dotted key, environment variable).
pub fn keys() -> impl Iterator<Item = (&'static str, &'static str)> {
    KEYS.iter().map(|k| (k.key, k.env))
}

impl Settings {
    /// Built-in defaults for `service`, listening on `127.0.0.1:<port>` with a SQLite file
    /// `<service>.db` in the working directory.
    pub fn defaults(service: &str, port: u16) -> Self {
        Self {
            service: service.to_owned(),
            listen_addr: SocketAddr::from(([127, 0, 0, 1], port)),
            database: DatabaseSettings {
                url: Secret::new(format!("sqlite://{service}.db")),
                schema: None,
                max_connections: 8,
                connect_timeout: Duration::from_secs(10),
            },
            server: ServerSettings {
                request_timeout: Duration::from_secs(30),
                concurrency_limit: 512,
                max_message_bytes: 4 * 1024 * 1024,
                shutdown_grace: Duration::from_secs(20),
            },
            telemetry: TelemetrySettings {
                log_format: LogFormat::Human,
                log_filter: "info".to_owned(),
                otlp_endpoint: None,
            },
            auth: AuthSettings {
                issuer: "tingjian".to_owned(),
                audience: "tingjian".to_owned(),
                algorithm: KeyAlgorithm::EdDsa,
                public_keys: Vec::new(),
                dev_key: None,
                leeway: Duration::from_secs(30),
            },
            events: EventSettings { nats_url: None, bus_path: PathBuf::from("bus.db") },
            peers: PeerSettings {
                intake_url: "http://127.0.0.1:50051".to_owned(),
                supervision_url: "http://127.0.0.1:50053".to_owned(),
                timeout: Duration::from_secs(10),
            },
            supervision: SupervisionSettings::default(),
            similarity: SimilaritySettings::default(),
        }
    }

    /// Layers the settings file named by `TINGJIAN_CONFIG` (if any) and then the `TINGJIAN_*`
    /// variables of `env` over `self`.
    pub fn load(mut self, env: &HashMap<String, String>) -> Result<Self, SettingsError> {
        if let Some(path) = env.get(CONFIG_ENV).filter(|p| !p.is_empty()) {
            let text = std::fs::read_to_string(path)
                .map_err(|e| SettingsError::File { file: path.clone(), reason: e.to_string() })?;
            self = self.apply_toml(&text, path)?;
        }
        if let Some(filter) = env.get("RUST_LOG").filter(|v| !v.is_empty()) {
            self.telemetry.log_filter = filter.clone();
        }
        for key in KEYS {
            if let Some(value) = env.get(key.env) {
                self.set(key, value, key.env)?;
            }
        }
        Ok(self)
    }

    /// Layers the process environment over `self`.
    pub fn load_from_process_env(self) -> Result<Self, SettingsError> {
        let env: HashMap<String, String> = std::env::vars().collect();
        self.load(&env)
    }

    /// Layers the settings of a TOML document over `self`; `origin` names it in errors.
    pub fn apply_toml(mut self, text: &str, origin: &str) -> Result<Self, SettingsError> {
        let table: toml::Table =
            toml::from_str(text).map_err(|e| SettingsError::File { file: origin.to_owned(), reason: e.to_string() })?;
        let mut flat = Vec::new();
        flatten("", &toml::Value::Table(table), &mut flat);
        for (dotted, value) in flat {
            let key = KEYS
                .iter()
                .find(|k| k.key == dotted)
                .ok_or_else(|| SettingsError::Unknown { key: dotted.clone(), file: origin.to_owned() })?;
            self.set(key, &value, origin)?;
        }
        Ok(self)
    }

    fn set(&mut self, key: &Key, raw: &str, origin: &str) -> Result<(), SettingsError> {
        let invalid = |reason: String| SettingsError::Invalid {
            key: key.key.to_owned(),
            value: if key.secret { "[redacted]".to_owned() } else { raw.to_owned() },
            source_name: origin.to_owned(),
            reason,
        };
        let raw = raw.trim();
        match key.key {
            "listen_addr" => {
                self.listen_addr = raw.parse().map_err(|_| invalid("expected host:port, e.g. 0.0.0.0:50051".into()))?
            }
            "database.url" => {
                if !(raw.starts_with("sqlite:") || raw.starts_with("postgres:") || raw.starts_with("postgresql:")) {
                    return Err(invalid("expected a sqlite:// or postgres:// URL".into()));
                }
                self.database.url = Secret::new(raw.to_owned());
            }
            "database.schema" => {
                if raw.is_empty() {
                    self.database.schema = None;
                } else if raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !raw.starts_with(|c: char| c.is_ascii_digit())
                {
                    self.database.schema = Some(raw.to_owned());
                } else {
                    return Err(invalid("expected a schema name of letters, digits and _".into()));
                }
            }
            "database.max_connections" => self.database.max_connections = parse_positive(raw).map_err(invalid)?,
            "database.connect_timeout" => self.database.connect_timeout = parse_duration(raw).map_err(invalid)?,
            "server.request_timeout" => self.server.request_timeout = parse_duration(raw).map_err(invalid)?,
            "server.concurrency_limit" => self.server.concurrency_limit = parse_positive(raw).map_err(invalid)?,
            "server.max_message_bytes" => self.server.max_message_bytes = parse_positive(raw).map_err(invalid)?,
            "server.shutdown_grace" => self.server.shutdown_grace = parse_duration(raw).map_err(invalid)?,
            "telemetry.log_format" => {
                self.telemetry.log_format = match raw.to_ascii_lowercase().as_str() {
                    "human" | "text" | "pretty" => LogFormat::Human,
                    "json" => LogFormat::Json,
                    _ => return Err(invalid("expected `human` or `json`".into())),
                }
            }
            "telemetry.log_filter" => {
                tracing_subscriber::EnvFilter::try_new(raw)
                    .map_err(|e| invalid(format!("not a tracing filter: {e}")))?;
                self.telemetry.log_filter = raw.to_owned();
            }
            "telemetry.otlp_endpoint" => {
                self.telemetry.otlp_endpoint = if raw.is_empty() {
                    None
                } else if raw.starts_with("http://") || raw.starts_with("https://") {
                    Some(raw.to_owned())
                } else {
                    return Err(invalid("expected an http:// or https:// URL".into()));
                }
            }
            "auth.issuer" => self.auth.issuer = non_empty(raw).map_err(invalid)?,
            "auth.audience" => self.auth.audience = non_empty(raw).map_err(invalid)?,
            "auth.algorithm" => {
                self.auth.algorithm = match raw {
                    "EdDSA" | "eddsa" => KeyAlgorithm::EdDsa,
                    "RS256" | "rs256" => KeyAlgorithm::Rs256,
                    "ES256" | "es256" => KeyAlgorithm::Es256,
                    _ => return Err(invalid("expected EdDSA, RS256 or ES256".into())),
                }
            }
            "auth.public_keys" => {
                self.auth.public_keys =
                    raw.split(',').map(str::trim).filter(|p| !p.is_empty()).map(PathBuf::from).collect()
            }
            "auth.dev_key" => self.auth.dev_key = if raw.is_empty() { None } else { Some(PathBuf::from(raw)) },
            "auth.leeway" => self.auth.leeway = parse_duration(raw).map_err(invalid)?,
            "events.nats_url" => {
                self.events.nats_url = if raw.is_empty() {
                    None
                } else if raw.starts_with("nats://") || raw.starts_with("tls://") {
                    Some(Secret::new(raw.to_owned()))
                } else {
                    return Err(invalid("expected a nats:// or tls:// URL".into()));
                }
            }
            "events.bus_path" => self.events.bus_path = PathBuf::from(non_empty(raw).map_err(invalid)?),
            "peers.intake_url" => self.peers.intake_url = parse_http_url(raw).map_err(invalid)?,
            "peers.supervision_url" => self.peers.supervision_url = parse_http_url(raw).map_err(invalid)?,
            "peers.timeout" => self.peers.timeout = parse_duration(raw).map_err(invalid)?,
            "supervision.sweep_interval" => self.supervision.sweep_interval = parse_duration(raw).map_err(invalid)?,
            "supervision.reminder_days" => {
                self.supervision.reminder_days = match raw.parse::<u32>() {
                    Ok(days) if days <= 90 => days,
                    _ => return Err(invalid("expected a whole number of days from 0 to 90".into())),
                }
            }
            "supervision.escalation_ladder" => {
                self.supervision.escalation_ladder = parse_escalation_ladder(raw).map_err(invalid)?
            }
            "similarity.match_threshold" => self.similarity.match_threshold = parse_threshold(raw).map_err(invalid)?,
            "similarity.cluster_threshold" => {
                self.similarity.cluster_threshold = parse_threshold(raw).map_err(invalid)?
            }
            "similarity.refresh_interval" => self.similarity.refresh_interval = parse_duration(raw).map_err(invalid)?,
            other => unreachable!("setting {other} has no parser"),
        }
        Ok(())
    }
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut Vec<(String, String)>) {
    match value {
        toml::Value::Table(table) => {
            for (k, v) in table {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        toml::Value::String(s) => out.push((prefix.to_owned(), s.clone())),
        toml::Value::Array(items) => {
            let joined = items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
            out.push((prefix.to_owned(), joined));
        }
        other => out.push((prefix.to_owned(), other.to_string())),
    }
}

fn parse_duration(raw: &str) -> Result<Duration, String> {
    humantime::parse_duration(raw).map_err(|e| format!("expected a duration such as 30s or 5m: {e}"))
}

fn parse_positive<T: std::str::FromStr + PartialOrd + Default>(raw: &str) -> Result<T, String> {
    match raw.parse::<T>() {
        Ok(v) if v > T::default() => Ok(v),
        _ => Err("expected a positive whole number".to_owned()),
    }
}

fn parse_http_url(raw: &str) -> Result<String, String> {
    let rest = raw.strip_prefix("http://").or_else(|| raw.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => {
            Ok(raw.trim_end_matches('/').to_owned())
        }
        _ => Err("expected an http:// or https:// URL, e.g. http://intake:50051".into()),
    }
}

fn non_empty(raw: &str) -> Result<String, String> {
    if raw.is_empty() { Err("must not be empty".to_owned()) } else { Ok(raw.to_owned()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn defaults_then_file_then_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("tingjian.toml");
        std::fs::write(
            &file,
            "listen_addr = \"0.0.0.0:6000\"\n[server]\nrequest_timeout = \"5s\"\nconcurrency_limit = 7\n",
        )
        .expect("write");
        let settings = Settings::defaults("intake", 50051)
            .load(&env(&[
                (CONFIG_ENV, file.to_str().expect("utf-8 path")),
                ("TINGJIAN_CONCURRENCY_LIMIT", "9"),
                ("TINGJIAN_LOG_FORMAT", "json"),
            ]))
            .expect("loads");
        assert_eq!(settings.listen_addr, "0.0.0.0:6000".parse().expect("addr"));
        assert_eq!(settings.server.request_timeout, Duration::from_secs(5));
        assert_eq!(settings.server.concurrency_limit, 9, "environment wins over the file");
        assert_eq!(settings.telemetry.log_format, LogFormat::Json);
        assert_eq!(settings.server.max_message_bytes, 4 * 1024 * 1024, "default kept");
    }

    #[test]
    fn bad_value_names_the_variable_and_the_setting() {
        let err = Settings::defaults("intake", 50051)
            .load(&env(&[("TINGJIAN_REQUEST_TIMEOUT", "soon")]))
            .expect_err("rejected");
        let text = err.to_string();
        assert!(text.contains("server.request_timeout"), "{text}");
        assert!(text.contains("TINGJIAN_REQUEST_TIMEOUT"), "{text}");
        assert!(text.contains("soon"), "{text}");
    }

    #[test]
    fn unknown_file_key_is_refused() {
        let err = Settings::defaults("intake", 50051)
            .apply_toml("[server]\nrequest_timout = \"5s\"\n", "test.toml")
            .expect_err("rejected");
        assert!(err.to_string().contains("server.request_timout"), "{err}");
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_errors() {
        let settings = Settings::defaults("intake", 50051)
            .load(&env(&[("TINGJIAN_DATABASE_URL", "postgres://u:hunter2@db/tingjian")]))
            .expect("loads");
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("[redacted]"));

        let err = Settings::defaults("intake", 50051)
            .load(&env(&[("TINGJIAN_DATABASE_URL", "mysql://u:hunter2@db/x")]))
            .expect_err("rejected");
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }

    #[test]
    fn the_shipped_example_file_is_valid() {
        let text = include_str!("../../../deploy/tingjian.example.toml");
        let settings = Settings::defaults("intake", 50051)
            .apply_toml(text, "deploy/tingjian.example.toml")
            .expect("valid example");
        assert_eq!(settings.listen_addr, "0.0.0.0:50051".parse().expect("addr"));
        assert_eq!(settings.database.schema.as_deref(), Some("intake"));
        assert_eq!(settings.telemetry.log_format, LogFormat::Json);
        assert_eq!(settings.auth.public_keys, [PathBuf::from("/etc/tingjian/keys/issuer.pem")]);
    }

    #[test]
    fn the_escalation_ladder_and_sweep_settings_are_read_and_checked() {
        let settings = Settings::defaults("supervision", 50053)
            .load(&env(&[
                ("TINGJIAN_ESCALATION_LADDER", "unit:2, discipline_inspection:7"),
                ("TINGJIAN_SWEEP_INTERVAL", "0s"),
                ("TINGJIAN_FOLLOW_UP_REMINDER_DAYS", "10"),
            ]))
            .expect("loads");
        assert_eq!(
            settings.supervision.escalation_ladder,
            [
                LadderStep { rung: EscalationRung::Unit, after_working_days: 2 },
                LadderStep { rung: EscalationRung::DisciplineInspection, after_working_days: 7 },
            ]
        );
        assert_eq!(settings.supervision.sweep_interval, Duration::ZERO);
        assert_eq!(settings.supervision.reminder_days, 10);
        for bad in ["", "unit", "unit:x", "mayor:1", "supervision_office:1,unit:2", "unit:5,supervision_office:3"] {
            let err = Settings::defaults("supervision", 50053)
                .load(&env(&[("TINGJIAN_ESCALATION_LADDER", bad)]))
                .expect_err("rejected");
            assert!(err.to_string().contains("supervision.escalation_ladder"), "{bad}: {err}");
        }
        assert!(
            Settings::defaults("supervision", 50053).load(&env(&[("TINGJIAN_FOLLOW_UP_REMINDER_DAYS", "91")])).is_err()
        );
        let example = include_str!("../../../deploy/tingjian.example.toml");
        let settings = Settings::defaults("supervision", 50053).apply_toml(example, "example").expect("valid example");
        assert_eq!(settings.supervision, SupervisionSettings::default());
    }

    #[test]
    fn similarity_thresholds_are_read_and_checked() {
        let settings = Settings::defaults("intake", 50051)
            .load(&env(&[
                ("TINGJIAN_SIMILARITY_MATCH_THRESHOLD", "0.55"),
                ("TINGJIAN_SIMILARITY_CLUSTER_THRESHOLD", "1"),
                ("TINGJIAN_SIMILARITY_REFRESH_INTERVAL", "0s"),
            ]))
            .expect("loads");
        assert_eq!(settings.similarity.match_threshold, 0.55);
        assert_eq!(settings.similarity.cluster_threshold, 1.0);
        assert_eq!(settings.similarity.refresh_interval, Duration::ZERO);
        for bad in ["0", "-0.2", "1.01", "NaN", "high"] {
            let err = Settings::defaults("intake", 50051)
                .load(&env(&[("TINGJIAN_SIMILARITY_MATCH_THRESHOLD", bad)]))
                .expect_err("rejected");
            assert!(err.to_string().contains("similarity.match_threshold"), "{bad}: {err}");
        }
        let example = include_str!("../../../deploy/tingjian.example.toml");
        let settings = Settings::defaults("intake", 50051).apply_toml(example, "example").expect("valid example");
        assert_eq!(settings.similarity, SimilaritySettings::default());
    }

    #[test]
    fn nats_switches_the_bus_and_its_credentials_stay_secret() {
        let settings = Settings::defaults("intake", 50051)
            .load(&env(&[
                ("TINGJIAN_NATS_URL", "nats://tingjian:s3cret@nats:4222"),
                ("TINGJIAN_BUS_PATH", "/var/lib/bus.db"),
            ]))
            .expect("loads");
        assert_eq!(
            settings.events.nats_url.as_ref().map(|u| u.expose().as_str()),
            Some("nats://tingjian:s3cret@nats:4222")
        );
        assert_eq!(settings.events.bus_path, PathBuf::from("/var/lib/bus.db"));
        assert!(!format!("{settings:?}").contains("s3cret"));
        let err = Settings::defaults("intake", 50051)
            .load(&env(&[("TINGJIAN_NATS_URL", "http://nats:4222")]))
            .expect_err("not nats");
        assert!(err.to_string().contains("events.nats_url"), "{err}");
    }

    #[test]
    fn zero_and_negative_limits_are_refused() {
        for value in ["0", "-1", "many"] {
            let err = Settings::defaults("intake", 50051)
                .load(&env(&[("TINGJIAN_CONCURRENCY_LIMIT", value)]))
                .expect_err("rejected");
            assert!(err.to_string().contains("positive"), "{err}");
        }
    }
}
