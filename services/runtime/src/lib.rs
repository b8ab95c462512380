//! The shared runtime of the Tingjian services.
//!
//! Every service — intake, consultation, supervision, analytics — is built from the same parts:
//! typed [`settings`], [`telemetry`] (logs and OpenTelemetry traces), the gRPC [`server`] with its
//! tower stack, health and reflection, one [`error`] mapping to `tonic::Status`, [`storage`] on SQLite
//! or PostgreSQL with embedded migrations, and [`auth`], the caller's verified identity.

pub mod auth;
pub mod clock;
pub mod error;
pub mod events;
pub mod fields;
pub mod metrics;
pub mod paging;
pub mod peers;
pub mod settings;
pub mod shutdown;
pub mod storage;
pub mod telemetry;
pub mod time;
pub mod wire;

pub mod server;

pub use auth::{Authenticator, Caller, Role};
pub use error::{FieldViolation, ServiceError};
pub use settings::{Secret, Settings};
pub use storage::{Database, Migrations};
pub mod service;
pub use service::{ServiceContext, ServiceModule};
