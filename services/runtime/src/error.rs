//! The one mapping from service errors to `tonic::Status`.
//!
//! Services return [`ServiceError`]; the gRPC adapter converts it with `Status::from`. Invalid input
//! carries google.rpc `BadRequest` field violations so a caller's code can point at the field; an
//! internal failure is logged with its cause and reaches the caller only as a generic message.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// One invalid field of a request: its path (e.g. `enterprise.credit_code`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field in the request message, dotted for nested fields.
    pub field: String,
    /// What is wrong with it, for a person.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// What can go wrong in a service call, in the small set of gRPC codes callers act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request is malformed; each violation names a field.
    #[error("invalid request: {}", join(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The named resource does not exist (or the caller may not know it exists).
    #[error("{resource} {id} not found")]
    NotFound {
        /// Kind of resource, e.g. `enterprise`.
        resource: &'static str,
        /// The identifier asked for.
        id: String,
    },
    /// A resource with the same identity already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// The system is not in a state that allows the operation (e.g. a transition from the wrong state).
    #[error("{0}")]
    FailedPrecondition(String),
    /// A concurrent change won: the caller's etag or version is stale.
    #[error("{0}")]
    Aborted(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials, but the caller may not do this.
    #[error("{0}")]
    PermissionDenied(String),
    /// A dependency (another service, the database) is temporarily unreachable.
    #[error("{0}")]
    Unavailable(String),
    /// A bug or an unexpected failure; the cause is logged, never sent to the caller.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

fn join(violations: &[FieldViolation]) -> String {
    violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl ServiceError {
    /// Invalid input with a single violation.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// An unexpected failure with its cause.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(cause.into())
    }

    /// The gRPC code this error maps to.
    pub fn code(&self) -> Code {
        match self {
            Self::InvalidArgument(_) => Code::InvalidArgument,
            Self::NotFound { .. } => Code::NotFound,
            Self::AlreadyExists(_) => Code::AlreadyExists,
            Self::FailedPrecondition(_) => Code::FailedPrecondition,
            Self::Aborted(_) => Code::Aborted,
            Self::Unauthenticated(_) => Code::Unauthenticated,
            Self::PermissionDenied(_) => Code::PermissionDenied,
            Self::Unavailable(_) => Code::Unavailable,
            Self::Internal(_) => Code::Internal,
        }
    }
}

impl From<ServiceError> for Status {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::InvalidArgument(violations) => {
                let message = format!("invalid request: {}", join(&violations));
                let mut details = ErrorDetails::new();
                for v in &violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = %cause, source = ?cause.source(), "internal error");
                Status::internal("internal error; the server logged the cause")
            }
            ServiceError::Unavailable(reason) => {
                tracing::warn!(%reason, "dependency unavailable");
                Status::unavailable(reason)
            }
            other => Status::new(other.code(), other.to_string()),
        }
    }
}

impl From<sqlx::Error> for ServiceError {
    /// Maps database errors by their meaning, not their backend: unique violations (SQLSTATE 23505,
    /// SQLite 2067/1555) to ALREADY_EXISTS, foreign-key violations (23503, SQLite 787) to
    /// FAILED_PRECONDITION, an exhausted pool to UNAVAILABLE, the rest to INTERNAL.
    fn from(error: sqlx::Error) -> Self {
        use sqlx::error::ErrorKind;
        match &error {
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => {
                    Self::AlreadyExists("a resource with the same identity already exists".into())
                }
                ErrorKind::ForeignKeyViolation => {
                    Self::FailedPrecondition("the operation refers to a resource that does not exist".into())
                }
                ErrorKind::CheckViolation | ErrorKind::NotNullViolation => Self::internal(error),
                _ => Self::internal(error),
            },
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::warn!(%error, "database unavailable");
                Self::Unavailable("the database is unavailable; retry later".into())
            }
            _ => Self::internal(error),
        }
    }
}

/// Collects field violations while checking a request, so the caller learns every problem at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Records the violation of a check's result, if any.
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(v) => {
                self.0.push(v);
                None
            }
        }
    }

    /// `Ok` if nothing was recorded, else INVALID_ARGUMENT with every violation.
    pub fn finish(self) -> Result<(), ServiceError> {
        if self.0.is_empty() { Ok(()) } else { Err(ServiceError::InvalidArgument(self.0)) }
    }
}

/// Adds the violations of a failed check to `v` and gives `None`; a success gives its value; other
/// errors pass through. With [`checked`], a request's fields are all checked before the first refusal.
pub fn gather<T>(v: &mut Violations, result: Result<T, ServiceError>) -> Result<Option<T>, ServiceError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(ServiceError::InvalidArgument(violations)) => {
            violations.into_iter().for_each(|x| v.add(x.field, x.description));
            Ok(None)
        }
        Err(other) => Err(other),
    }
}

/// Unwraps a value [`gather`] checked, once the violations were found empty.
pub fn checked<T>(value: Option<T>) -> Result<T, ServiceError> {
    value.ok_or_else(|| ServiceError::internal("a checked field is missing without a violation"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_field_violations() {
        let status = Status::from(ServiceError::invalid("enterprise.credit_code", "check character is wrong"));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("enterprise.credit_code"));
        let details = status.get_error_details();
        let bad = details.bad_request().expect("bad request details");
        assert_eq!(bad.field_violations.len(), 1);
        assert_eq!(bad.field_violations[0].field, "enterprise.credit_code");
    }

    #[test]
    fn internal_errors_do_not_leak_their_cause() {
        let status = Status::from(ServiceError::internal("connection to 10.0.0.5 refused: password=hunter2"));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("hunter2"));
        assert!(!status.message().contains("10.0.0.5"));
    }

    #[test]
    fn violations_collect_every_problem() {
        let mut v = Violations::new();
        v.add("a", "missing");
        v.add("b.c", "too long");
        let status = Status::from(v.finish().expect_err("invalid"));
        let details = status.get_error_details();
        let fields: Vec<_> =
            details.bad_request().expect("details").field_violations.iter().map(|f| f.field.clone()).collect();
        assert_eq!(fields, ["a", "b.c"]);
    }
}
