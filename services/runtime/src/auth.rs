//! Identity: every call carries a JWT bearer token, verified against the configured keys (issuer,
//! audience, expiry, signature); handlers receive the typed [`Caller`].
//!
//! Authorisation policy, audit and personal-data masking build on this: they read the caller from the
//! request's extensions, where the [`AuthInterceptor`] puts it. In the embedded mode a development
//! Ed25519 signing key is generated and [`DevSigner`] mints tokens for any role.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::Status;

use crate::error::ServiceError;
use crate::settings::{AuthSettings, KeyAlgorithm};

/// What a caller is, from DESIGN.md's table of users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// A company, through the app or a web front end: its own demands and list, rates replies.
    Enterprise,
    /// A public participant in online campaigns.
    Netizen,
    /// A CPPCC committee member (政协委员).
    Member,
    /// CPPCC office staff: triage, merging, campaigns, consultation.
    Staff,
    /// A chair-meeting member, party secretary or mayor: special reports and instructions (批示).
    Leader,
    /// A government department (承办单位) handling assigned cases.
    HandlingUnit,
    /// CPPCC committees and the supervision office (督查室).
    Supervisor,
    /// The discipline-inspection commission's system (纪检监察).
    DisciplineInspection,
    /// Reader of figures.
    Analyst,
    /// Operator: configuration (系统管理员).
    SystemAdmin,
    /// Operator: users and keys (安全管理员).
    SecurityAdmin,
    /// Operator: the audit log (审计管理员).
    AuditAdmin,
}

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 12] = [
        Role::Enterprise,
        Role::Netizen,
        Role::Member,
        Role::Staff,
        Role::Leader,
        Role::HandlingUnit,
        Role::Supervisor,
        Role::DisciplineInspection,
        Role::Analyst,
        Role::SystemAdmin,
        Role::SecurityAdmin,
        Role::AuditAdmin,
    ];

    /// The role's name in tokens, e.g. `handling_unit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Enterprise => "enterprise",
            Role::Netizen => "netizen",
            Role::Member => "member",
            Role::Staff => "staff",
            Role::Leader => "leader",
            Role::HandlingUnit => "handling_unit",
            Role::Supervisor => "supervisor",
            Role::DisciplineInspection => "discipline_inspection",
            Role::Analyst => "analyst",
            Role::SystemAdmin => "system_admin",
            Role::SecurityAdmin => "security_admin",
            Role::AuditAdmin => "audit_admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}; expected one of {}", role_names()))
    }
}

/// The role names, comma-separated, for messages.
pub fn role_names() -> String {
    Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
}

/// The verified identity of whoever made a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Who: the token's `sub` (a user id, an enterprise's credit code, an agency system's name).
    pub subject: String,
    /// The organisation the caller acts for (`org` claim): a unit, an enterprise, the CPPCC office.
    pub organisation: String,
    /// What the caller may act as. Unknown role names in a token are ignored.
    pub roles: BTreeSet<Role>,
    /// Who issued the token.
    pub issuer: String,
    /// Display name, if the token carries one (`name`).
    pub name: Option<String>,
}

impl Caller {
    /// Whether the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// `Ok` if the caller holds any of `roles`, else PERMISSION_DENIED naming them.
    pub fn require_any(&self, roles: &[Role]) -> Result<(), ServiceError> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            let names: Vec<_> = roles.iter().map(|r| r.as_str()).collect();
            Err(ServiceError::PermissionDenied(format!("this call needs one of the roles: {}", names.join(", "))))
        }
    }

    /// The caller of a request, as the [`AuthInterceptor`] recorded it.
    pub fn of<T>(request: &tonic::Request<T>) -> Result<&Caller, Status> {
        request
            .extensions()
            .get::<Caller>()
            .ok_or_else(|| Status::unauthenticated("the call carries no verified identity"))
    }
}

/// The claims of a Tingjian token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Audience.
    pub aud: String,
    /// Subject.
    pub sub: String,
    /// Organisation.
    #[serde(default)]
    pub org: String,
    /// Role names.
    #[serde(default)]
    pub roles: Vec<String>,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Issued at (seconds since the epoch).
    pub iat: u64,
    /// Expires at (seconds since the epoch).
    pub exp: u64,
}

/// Why a token was refused; the message goes to the caller, so it never includes the token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `authorization` metadata.
    #[error("missing bearer token: send `authorization: Bearer <token>`")]
    Missing,
    /// Not `Bearer <token>`.
    #[error("malformed authorization header: expected `Bearer <token>`")]
    Malformed,
    /// Expired, wrong issuer or audience, bad signature…
    #[error("invalid token: {0}")]
    Invalid(String),
    /// Keys could not be loaded at start.
    #[error("cannot load token key {path}: {reason}")]
    Key {
        /// The key file.
        path: String,
        /// Why.
        reason: String,
    },
    /// No keys configured at all.
    #[error(
        "no token verification keys configured: set TINGJIAN_AUTH_PUBLIC_KEYS to PEM public key files \
         (or TINGJIAN_AUTH_DEV_KEY for local development)"
    )]
    NoKeys,
}

impl From<AuthError> for Status {
    fn from(e: AuthError) -> Self {
        Status::unauthenticated(e.to_string())
    }
}

/// Verifies bearer tokens against the configured keys.
#[derive(Clone)]
pub struct Authenticator {
    keys: Arc<Vec<(Algorithm, DecodingKey)>>,
    issuer: String,
    audience: String,
    leeway: Duration,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys.len())
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl Authenticator {
    /// Loads the keys of `settings`: each public key file, plus the development key (generated if
    /// missing) when one is configured.
    pub fn from_settings(settings: &AuthSettings) -> Result<Self, AuthError> {
        let mut keys = Vec::new();
        for path in &settings.public_keys {
            let pem = std::fs::read(path)
                .map_err(|e| AuthError::Key { path: path.display().to_string(), reason: e.to_string() })?;
            let (alg, key) = match settings.algorithm {
                KeyAlgorithm::EdDsa => (Algorithm::EdDSA, DecodingKey::from_ed_pem(&pem)),
                KeyAlgorithm::Rs256 => (Algorithm::RS256, DecodingKey::from_rsa_pem(&pem)),
                KeyAlgorithm::Es256 => (Algorithm::ES256, DecodingKey::from_ec_pem(&pem)),
            };
            let key = key.map_err(|e| AuthError::Key { path: path.display().to_string(), reason: e.to_string() })?;
            keys.push((alg, key));
        }
        if let Some(path) = &settings.dev_key {
            let signer = DevSigner::load_or_create(path, settings)?;
            keys.push((Algorithm::EdDSA, signer.decoding_key()));
        }
        if keys.is_empty() {
            return Err(AuthError::NoKeys);
        }
        Ok(Self {
            keys: Arc::new(keys),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            leeway: settings.leeway,
        })
    }

    /// Verifies a token and returns its caller.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| AuthError::Invalid(e.to_string()))?;
        let mut last = None;
        for (alg, key) in self.keys.iter().filter(|(alg, _)| *alg == header.alg) {
            let mut validation = Validation::new(*alg);
            validation.set_issuer(&[&self.issuer]);
            validation.set_audience(&[&self.audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.leeway = self.leeway.as_secs();
            match jsonwebtoken::decode::<Claims>(token, key, &validation) {
                Ok(data) => return Ok(caller_from(data.claims)),
                Err(e) => last = Some(e),
            }
        }
        Err(AuthError::Invalid(match last {
            Some(e) => e.to_string(),
            None => format!("no trusted key for algorithm {:?}", header.alg),
        }))
    }

    /// Verifies the `authorization` metadata of a call.
    pub fn verify_metadata(&self, metadata: &tonic::metadata::MetadataMap) -> Result<Caller, AuthError> {
        let value = metadata.get("authorization").ok_or(AuthError::Missing)?;
        let value = value.to_str().map_err(|_| AuthError::Malformed)?;
        let token =
            value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or(AuthError::Malformed)?.trim();
        if token.is_empty() {
            return Err(AuthError::Malformed);
        }
        self.verify(token)
    }
}

fn caller_from(claims: Claims) -> Caller {
    Caller {
        subject: claims.sub,
        organisation: claims.org,
        roles: claims.roles.iter().filter_map(|r| r.parse().ok()).collect(),
        issuer: claims.iss,
        name: claims.name,
    }
}

/// A tonic interceptor that refuses calls without a valid token (UNAUTHENTICATED) and records the
/// [`Caller`] in the request's extensions for the handler.
#[derive(Debug, Clone)]
pub struct AuthInterceptor {
    authenticator: Authenticator,
}

impl AuthInterceptor {
    /// An interceptor verifying with `authenticator`.
    pub fn new(authenticator: Authenticator) -> Self {
        Self { authenticator }
    }
}

impl tonic::service::Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        match self.authenticator.verify_metadata(request.metadata()) {
            Ok(caller) => {
                tracing::Span::current().record("caller", caller.subject.as_str());
                request.extensions_mut().insert(caller);
                Ok(request)
            }
            Err(e) => {
                tracing::info!(reason = %e, "call refused: unauthenticated");
                Err(e.into())
            }
        }
    }
}

/// The development signing key of the embedded suite: an Ed25519 key kept as PKCS#8 PEM, with its
/// public key beside it (`<file>.pub.pem`) for standalone services to trust.
#[derive(Clone)]
pub struct DevSigner {
    signing: ed25519_dalek::SigningKey,
    issuer: String,
    audience: String,
}

impl fmt::Debug for DevSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DevSigner").field("key", &"[redacted]").field("issuer", &self.issuer).finish()
    }
}

/// What a development token says about its bearer.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// `sub`.
    pub subject: String,
    /// `org`.
    pub organisation: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Display name.
    pub name: Option<String>,
    /// Lifetime.
    pub ttl: Duration,
}

impl DevSigner {
    /// Loads the key at `path`, or generates and saves a new one (mode 0600) if there is none.
    pub fn load_or_create(path: &Path, settings: &AuthSettings) -> Result<Self, AuthError> {
        let key_err = |reason: String| AuthError::Key { path: path.display().to_string(), reason };
        let signing = if path.exists() {
            let pem = std::fs::read_to_string(path).map_err(|e| key_err(e.to_string()))?;
            ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).map_err(|e| key_err(e.to_string()))?
        } else {
            let mut seed = [0u8; 32];
            getrandom::fill(&mut seed).map_err(|e| key_err(e.to_string()))?;
            let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
            if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| key_err(e.to_string()))?;
            }
            let pem = signing
                .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .map_err(|e| key_err(e.to_string()))?;
            write_private(path, pem.as_bytes()).map_err(|e| key_err(e.to_string()))?;
            let public = signing
                .verifying_key()
                .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
                .map_err(|e| key_err(e.to_string()))?;
            std::fs::write(public_key_path(path), public).map_err(|e| key_err(e.to_string()))?;
            signing
        };
        Ok(Self { signing, issuer: settings.issuer.clone(), audience: settings.audience.clone() })
    }

    fn decoding_key(&self) -> DecodingKey {
        DecodingKey::from_ed_der(self.signing.verifying_key().as_bytes())
    }

    /// Mints a signed token.
    pub fn mint(&self, request: &TokenRequest) -> Result<String, AuthError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: request.subject.clone(),
            org: request.organisation.clone(),
            roles: request.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            name: request.name.clone(),
            iat: now,
            exp: now + request.ttl.as_secs(),
        };
        let der = self.signing.to_pkcs8_der().map_err(|e| AuthError::Invalid(e.to_string()))?;
        let key = EncodingKey::from_ed_der(der.as_bytes());
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), &claims, &key)
            .map_err(|e| AuthError::Invalid(e.to_string()))
    }
}

/// Where the public half of a development key is written.
pub fn public_key_path(private: &Path) -> std::path::PathBuf {
    let mut name = private.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".pub.pem");
    private.with_file_name(name)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;

    fn setup() -> (tempfile::TempDir, AuthSettings) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut settings = Settings::defaults("test", 1).auth;
        settings.dev_key = Some(dir.path().join("dev.pem"));
        (dir, settings)
    }

    fn request(roles: Vec<Role>, ttl: u64) -> TokenRequest {
        TokenRequest {
            subject: "91330900MA2A0B1C2D".into(),
            organisation: "舟山市政协办公室".into(),
            roles,
            name: Some("张三".into()),
            ttl: Duration::from_secs(ttl),
        }
    }

    #[test]
    fn a_minted_token_verifies_to_its_caller() {
        let (_dir, settings) = setup();
        let auth = Authenticator::from_settings(&settings).expect("keys");
        let signer =
            DevSigner::load_or_create(settings.dev_key.as_deref().expect("dev key"), &settings).expect("signer");
        let token = signer.mint(&request(vec![Role::Staff, Role::Analyst], 60)).expect("token");
        let caller = auth.verify(&token).expect("valid");
        assert_eq!(caller.organisation, "舟山市政协办公室");
        assert!(caller.has(Role::Staff) && caller.has(Role::Analyst) && !caller.has(Role::Leader));
        assert!(caller.require_any(&[Role::Leader]).is_err());
    }

    #[test]
    fn the_key_persists_and_a_foreign_key_is_refused() {
        let (_dir, settings) = setup();
        let path = settings.dev_key.clone().expect("dev key");
        let first = DevSigner::load_or_create(&path, &settings).expect("created");
        let again = DevSigner::load_or_create(&path, &settings).expect("loaded");
        let token = first.mint(&request(vec![Role::Staff], 60)).expect("token");
        let auth = Authenticator::from_settings(&settings).expect("keys");
        assert!(auth.verify(&again.mint(&request(vec![Role::Staff], 60)).expect("token")).is_ok());
        assert!(auth.verify(&token).is_ok());
        assert!(public_key_path(&path).exists());

        let (_other_dir, other) = setup();
        let stranger = Authenticator::from_settings(&other).expect("keys");
        assert!(matches!(stranger.verify(&token), Err(AuthError::Invalid(_))));
    }

    #[test]
    fn expired_and_wrong_audience_tokens_are_refused() {
        let (_dir, mut settings) = setup();
        settings.leeway = Duration::ZERO;
        let signer =
            DevSigner::load_or_create(settings.dev_key.as_deref().expect("dev key"), &settings).expect("signer");
        let auth = Authenticator::from_settings(&settings).expect("keys");
        let expired = signer.mint(&request(vec![Role::Staff], 0)).expect("token");
        std::thread::sleep(Duration::from_millis(1100));
        assert!(auth.verify(&expired).is_err());

        settings.audience = "another-platform".into();
        let other_audience = Authenticator::from_settings(&settings).expect("keys");
        let token = signer.mint(&request(vec![Role::Staff], 60)).expect("token");
        assert!(other_audience.verify(&token).is_err());
    }

    #[test]
    fn standalone_services_trust_the_public_key_file() {
        let (_dir, settings) = setup();
        let path = settings.dev_key.clone().expect("dev key");
        let signer = DevSigner::load_or_create(&path, &settings).expect("signer");
        let mut service = settings.clone();
        service.dev_key = None;
        service.public_keys = vec![public_key_path(&path)];
        let auth = Authenticator::from_settings(&service).expect("public key loads");
        assert!(auth.verify(&signer.mint(&request(vec![Role::Staff], 60)).expect("token")).is_ok());
    }

    #[test]
    fn no_keys_is_a_clear_start_error() {
        let settings = Settings::defaults("test", 1).auth;
        assert!(matches!(Authenticator::from_settings(&settings), Err(AuthError::NoKeys)));
    }
}
