//! Calls from one service to another: lazily connected channels to the peers named in the settings,
//! requests made on behalf of the caller (its bearer token and the current trace context travel
//! with them), and the mapping of a peer's failure to this service's errors.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::ServiceError;
use crate::settings::PeerSettings;

/// Channels to the other services. Connections are opened on first use and re-established after a
/// failure, so a service starts even when its peers are not up yet.
#[derive(Debug, Clone)]
pub struct Peers {
    intake: Channel,
    supervision: Channel,
}

impl Peers {
    /// Channels to the peers of `settings`; INVALID_ARGUMENT-free: the URLs were checked when read.
    pub fn connect_lazy(settings: &PeerSettings) -> Result<Self, tonic::transport::Error> {
        Ok(Self {
            intake: lazy_channel(&settings.intake_url, settings.timeout)?,
            supervision: lazy_channel(&settings.supervision_url, settings.timeout)?,
        })
    }

    /// The intake service.
    pub fn intake(&self) -> Channel {
        self.intake.clone()
    }

    /// The supervision service.
    pub fn supervision(&self) -> Channel {
        self.supervision.clone()
    }
}

fn lazy_channel(url: &str, timeout: Duration) -> Result<Channel, tonic::transport::Error> {
    Ok(Endpoint::from_shared(url.to_owned())?
        .connect_timeout(timeout)
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect_lazy())
}

/// `message` as a request to a peer on behalf of the caller whose request carried `incoming`: the same
/// bearer token (so the peer applies the caller's own rights and records who acted) and the current
/// trace context.
pub fn on_behalf_of<T>(incoming: &tonic::metadata::MetadataMap, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(bearer) = incoming.get("authorization") {
        request.metadata_mut().insert("authorization", bearer.clone());
    }
    crate::telemetry::inject_current_context(request.metadata_mut());
    request
}

/// A peer's refusal or failure as this service's error. The peer's own word is kept for what the
/// caller can act on (permissions, preconditions); transport failures and the peer's internal errors
/// become UNAVAILABLE naming the peer.
pub fn peer_error(peer: &str, status: tonic::Status) -> ServiceError {
    use tonic::Code;
    let message = status.message();
    match status.code() {
        Code::PermissionDenied => ServiceError::PermissionDenied(format!("{peer}: {message}")),
        Code::Unauthenticated => ServiceError::Unauthenticated(format!("{peer}: {message}")),
        Code::FailedPrecondition | Code::InvalidArgument | Code::OutOfRange => {
            ServiceError::FailedPrecondition(format!("{peer} refused the call: {message}"))
        }
        Code::NotFound => ServiceError::FailedPrecondition(format!("{peer}: {message}")),
        Code::AlreadyExists => ServiceError::AlreadyExists(format!("{peer}: {message}")),
        Code::Aborted => ServiceError::Aborted(format!("{peer}: {message}")),
        Code::ResourceExhausted => ServiceError::Unavailable(format!("{peer} is overloaded: {message}")),
        _ => {
            tracing::warn!(peer, code = ?status.code(), %message, "call to a peer failed");
            ServiceError::Unavailable(format!("{peer} cannot be reached or failed; try again later"))
        }
    }
}
