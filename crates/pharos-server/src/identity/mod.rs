//! Identity in the server: who a request comes from ([`layer`]), what they may do ([`Caller`],
//! checked by the services), the login routes, users, and the audit trail. The rules themselves
//! (hashes, tokens, RBAC evaluation) live in `pharos-auth`; the rows in `pharos-store`.

mod audit;
mod caller;
mod external;
mod kubernetes;
pub mod layer;
mod limiter;
mod login_guard;
mod policy;
mod preferences;
mod routes;
mod tokens;
mod users;

use std::{path::Path, sync::Arc};

use chrono::Utc;
use pharos_auth::{
    opaque,
    password::PasswordCost,
    rbac::Grants,
    session::{Claims, SessionKeys, TokenKind},
};
use pharos_store::{Credential, CredentialKind, Store};

pub use audit::{AuditEvent, CreatedResource, audit_routes};
pub use caller::{Caller, TokenLimits, scope_of};
pub use external::{ExternalIdentity, ExternalProviders, routes as provider_routes};
pub use kubernetes::KubernetesAuthority;
pub use limiter::{Count, Limiter};
pub use policy::validate_rbac_spec;
pub use preferences::preference_routes;
pub use routes::routes;
pub use tokens::token_routes;
pub use users::{prepare_user_spec, present_user};

use crate::{
    config::{AuthMode, ServerSettings},
    error::{ApiError, ApiResult},
};

/// The purpose label of the session signing key derived from the deployment key.
const SESSION_KEY_PURPOSE: &str = "pharos session tokens v1";
/// The purpose label of the key that seals external login attempts.
const FLOW_KEY_PURPOSE: &str = "pharos login flow v1";

/// Which provider a session was opened with (the `pkd` and `pid` claims).
#[derive(Debug, Clone, Copy)]
struct SessionOrigin<'a> {
    kind: &'a str,
    slug: &'a str,
    /// The provider's groups of the user, carried in the session's tokens.
    groups: &'a [String],
}

const NATIVE: SessionOrigin<'static> = SessionOrigin {
    kind: "native",
    slug: "",
    groups: &[],
};

/// Login sessions, token checks and grants.
#[derive(Clone)]
pub struct IdentityService {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: Arc<ServerSettings>,
    keys: SessionKeys,
    flow_key: [u8; 32],
    external: external::ExternalProviders,
    kubernetes: Option<kubernetes::KubernetesAuthority>,
    policy: policy::PolicyCache,
    login_guard: login_guard::LoginGuard,
    limiter: limiter::Limiter,
    password_cost: PasswordCost,
    /// Random per process: the proxy sends it when it forwards to this very server (the
    /// `local` datasource), so the query it already tenant-enforced is let through.
    internal_secret: String,
    /// `http://127.0.0.1:<port>` of this server, once listening.
    local_origin: std::sync::RwLock<Option<String>>,
}

/// The header carrying [`IdentityService::internal_header_for`]'s secret.
pub const INTERNAL_HEADER: &str = "x-pharos-internal";

impl std::fmt::Debug for IdentityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityService")
            .field("auth", &self.inner.settings.security.auth)
            .finish_non_exhaustive()
    }
}

/// The answer of a login or refresh (Perses' oauth2 token JSON).
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedTokens {
    /// The access token.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// The refresh token.
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl IdentityService {
    /// The service over `store` with `settings`.
    pub fn new(store: Store, settings: Arc<ServerSettings>) -> Self {
        let keys = SessionKeys::from_secret(&store.derive_secret(SESSION_KEY_PURPOSE))
            .unwrap_or_else(|_| unreachable!("a derived secret has 32 bytes"));
        Self {
            inner: Arc::new(Inner {
                login_guard: login_guard::LoginGuard::new(
                    settings.security.max_login_failures,
                    settings.security.login_failure_window,
                ),
                // The URL was checked by `ServerSettings::validate`; an unusable one counts
                // in process.
                limiter: limiter::Limiter::new(settings.rate_limit.redis_url.as_deref())
                    .unwrap_or_else(|_| limiter::Limiter::local()),
                flow_key: store.derive_secret(FLOW_KEY_PURPOSE),
                external: external::ExternalProviders::new(&settings.security.providers),
                kubernetes: (settings.security.auth == AuthMode::Kubernetes)
                    .then(|| kubernetes::KubernetesAuthority::new(&settings.security))
                    .flatten(),
                store,
                settings,
                keys,
                policy: policy::PolicyCache::default(),
                password_cost: PasswordCost::default(),
                internal_secret: opaque::issue("phint").secret,
                local_origin: std::sync::RwLock::default(),
            }),
        }
    }

    /// Whether callers must log in.
    pub fn enabled(&self) -> bool {
        self.inner.settings.security.auth != AuthMode::Disabled
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The grants of `user`; `generation` is the resource service's write counter, so a
    /// change to roles or bindings applies to the next request.
    pub async fn grants_for(&self, user: &str, generation: u64) -> ApiResult<Arc<Grants>> {
        self.inner
            .policy
            .grants_for(
                self.store(),
                &self.inner.settings.security.guest_permissions,
                generation,
                user,
            )
            .await
    }

    /// Checks an access token and returns the caller it stands for.
    pub async fn authenticate(&self, token: &str, generation: u64) -> ApiResult<Caller> {
        let claims = self
            .inner
            .keys
            .verify(TokenKind::Access, token, Utc::now().timestamp())
            .map_err(|e| ApiError::Unauthorized(format!("{e}; log in again")))?;
        let grants = self.grants_for(&claims.sub, generation).await?;
        let session = (!claims.sid.is_empty()).then_some(claims.sid);
        Ok(Caller::user(claims.sub, grants, session).with_groups(claims.grp))
    }

    /// Native login: checks the password and opens a session. Wrong login and wrong password
    /// get the same answer, after the same hashing time.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client: &str,
    ) -> ApiResult<IssuedTokens> {
        let inner = &self.inner;
        inner
            .login_guard
            .check(&inner.limiter, login, client)
            .await?;
        let hash = users::password_hash(self.store(), login).await?;
        let password_owned = password.to_owned();
        let cost = inner.password_cost;
        // argon2 takes tens of milliseconds of CPU: off the async workers.
        let matched = tokio::task::spawn_blocking(move || match hash {
            Some(hash) => {
                pharos_auth::password::verify_password(&password_owned, &hash).unwrap_or(false)
            }
            None => {
                pharos_auth::password::burn_verification_time(&password_owned, &cost);
                false
            }
        })
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
        if !matched {
            inner
                .login_guard
                .failed(&inner.limiter, login, client)
                .await;
            return Err(ApiError::bad_request("wrong login or password"));
        }
        inner.login_guard.succeeded(&inner.limiter, login).await;
        self.open_session(login, NATIVE).await
    }

    /// Whether password logins are offered (`auth: native` with `providers.enable_native`).
    pub fn native_logins(&self) -> bool {
        let security = &self.inner.settings.security;
        security.auth == AuthMode::Native && security.providers.enable_native
    }

    /// The external login providers.
    pub fn external(&self) -> &external::ExternalProviders {
        &self.inner.external
    }

    /// The Kubernetes API server of `auth: kubernetes`.
    pub fn kubernetes(&self) -> Option<&kubernetes::KubernetesAuthority> {
        self.inner.kubernetes.as_ref()
    }

    /// The key sealing external login attempts.
    pub fn flow_key(&self) -> [u8; 32] {
        self.inner.flow_key
    }

    /// Creates or updates the user a provider vouched for; see [`users::sync_external`].
    pub async fn sync_external_user(&self, identity: &ExternalIdentity) -> ApiResult<String> {
        users::sync_external(self.store(), identity).await
    }

    /// Opens a session for `user`, who logged in with `provider`.
    pub async fn open_external_session(
        &self,
        user: &str,
        provider: &external::Provider,
        groups: &[String],
    ) -> ApiResult<IssuedTokens> {
        let (kind, slug) = provider.origin();
        self.open_session(user, SessionOrigin { kind, slug, groups })
            .await
    }

    /// Checks a bearer JWT issued by a configured OIDC provider (`None` when no provider
    /// issued it: it is then not an external token at all).
    pub async fn authenticate_external(
        &self,
        token: &str,
        generation: u64,
    ) -> Option<ApiResult<Caller>> {
        let provider = self.inner.external.issuer_of(token)?;
        let outcome = async {
            let identity = self
                .inner
                .external
                .identify_bearer(&provider, token)
                .await?;
            let login = match self.inner.external.synced_user(&identity) {
                Some(login) => login,
                None => {
                    let login = self.sync_external_user(&identity).await?;
                    self.inner.external.remember(&identity, &login);
                    login
                }
            };
            let grants = self.grants_for(&login, generation).await?;
            Ok(Caller::user(login, grants, None).with_groups(identity.groups))
        };
        Some(outcome.await)
    }

    async fn open_session(&self, user: &str, origin: SessionOrigin<'_>) -> ApiResult<IssuedTokens> {
        let security = &self.inner.settings.security;
        let now = Utc::now();
        let secret = opaque::issue("phsess");
        let refresh_expiry = now
            + chrono::TimeDelta::from_std(security.refresh_token_ttl)
                .unwrap_or(chrono::TimeDelta::days(1));
        self.store()
            .create_credential(&Credential {
                id: secret.id.clone(),
                kind: CredentialKind::Session,
                digest: opaque::digest(&secret.id),
                owner: user.to_owned(),
                project: String::new(),
                target: String::new(),
                scope: serde_json::Value::Null,
                created_at: now,
                expires_at: Some(refresh_expiry),
                revoked_at: None,
                last_used_at: Some(now),
            })
            .await?;
        let refresh = self.sign(
            TokenKind::Refresh,
            user,
            &secret.id,
            refresh_expiry.timestamp(),
            origin,
        )?;
        self.access_tokens(user, &secret.id, refresh, origin)
    }

    fn access_tokens(
        &self,
        user: &str,
        session: &str,
        refresh_token: String,
        origin: SessionOrigin<'_>,
    ) -> ApiResult<IssuedTokens> {
        let ttl = self.inner.settings.security.access_token_ttl;
        let expires = Utc::now().timestamp() + i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX / 2);
        Ok(IssuedTokens {
            access_token: self.sign(TokenKind::Access, user, session, expires, origin)?,
            token_type: "Bearer",
            refresh_token,
            expires_in: ttl.as_secs(),
        })
    }

    fn sign(
        &self,
        kind: TokenKind,
        user: &str,
        session: &str,
        expires: i64,
        origin: SessionOrigin<'_>,
    ) -> ApiResult<String> {
        let claims = Claims {
            sub: user.to_owned(),
            exp: expires,
            nbf: Utc::now().timestamp() - 1,
            pkd: origin.kind.to_owned(),
            pid: origin.slug.to_owned(),
            sid: session.to_owned(),
            grp: origin.groups.to_vec(),
        };
        self.inner
            .keys
            .issue(kind, &claims)
            .map_err(|e| ApiError::Internal(e.to_string()))
    }

    /// A new access token for a refresh token whose session is still open.
    pub async fn refresh(&self, refresh_token: &str) -> ApiResult<IssuedTokens> {
        let invalid = |why: &str| {
            ApiError::bad_request(format!("invalid refresh token: {why}; log in again"))
        };
        let claims = self
            .inner
            .keys
            .verify(TokenKind::Refresh, refresh_token, Utc::now().timestamp())
            .map_err(|e| invalid(&e.to_string()))?;
        let session = self
            .store()
            .credential_by_digest(CredentialKind::Session, &opaque::digest(&claims.sid))
            .await?
            .filter(|s| s.owner == claims.sub)
            .ok_or_else(|| invalid("the session does not exist"))?;
        if session.revoked_at.is_some() {
            return Err(invalid("the session was logged out"));
        }
        if !users::exists(self.store(), &claims.sub).await? {
            return Err(invalid("the user no longer exists"));
        }
        self.store()
            .touch_credential(&session.id, Utc::now())
            .await?;
        let origin = SessionOrigin {
            kind: &claims.pkd,
            slug: &claims.pid,
            groups: &claims.grp,
        };
        self.access_tokens(&claims.sub, &claims.sid, refresh_token.to_owned(), origin)
    }

    /// Ends the caller's session: its refresh token stops working at once, its access token
    /// at its expiry.
    pub async fn logout(&self, caller: &Caller) -> ApiResult<()> {
        if let Some(session) = caller.session() {
            self.store()
                .revoke_credential(CredentialKind::Session, session, Utc::now())
                .await?;
        }
        Ok(())
    }

    /// Ends the session a refresh token belongs to (logout with an expired access token). An
    /// invalid token ends nothing and is not an error: the cookies are cleared anyway.
    pub async fn logout_refresh_token(&self, refresh_token: &str) -> ApiResult<()> {
        let Ok(claims) =
            self.inner
                .keys
                .verify(TokenKind::Refresh, refresh_token, Utc::now().timestamp())
        else {
            return Ok(());
        };
        self.store()
            .revoke_credential(CredentialKind::Session, &claims.sid, Utc::now())
            .await?;
        Ok(())
    }

    /// Creates the first administrator when the store has no users: `admin`, bound to the
    /// global role `admin` (everything). Returns the generated password when none was
    /// configured (the caller shows it once), `None` when nothing was created or the
    /// configured password was used.
    pub async fn bootstrap_admin(&self, data_dir: Option<&Path>) -> ApiResult<Option<String>> {
        if !self.native_logins() || users::any_user(self.store()).await? {
            return Ok(None);
        }
        let configured = self.inner.settings.security.admin_password.clone();
        let generated = configured.is_none().then(users::generate_password);
        let password = configured.or_else(|| generated.clone()).unwrap_or_default();
        users::create_admin(self.store(), &password, self.inner.password_cost).await?;
        if let (Some(password), Some(dir)) = (&generated, data_dir) {
            users::write_password_file(&dir.join("admin-password"), password).map_err(|e| {
                ApiError::Internal(format!("cannot write the admin password file: {e}"))
            })?;
        }
        Ok(generated)
    }

    /// Records this server's own origin (`http://127.0.0.1:8080`).
    pub fn set_local_origin(&self, origin: String) {
        if let Ok(mut local) = self.inner.local_origin.write() {
            *local = Some(origin);
        }
    }

    /// The header the proxy adds when `url` is this server itself: the request was already
    /// authorized and tenant-enforced by the proxy, and only needs to read metrics.
    pub fn internal_header_for(&self, url: &str) -> Option<(&'static str, &str)> {
        let local = self.inner.local_origin.read().ok()?;
        let rest = url.strip_prefix(local.as_deref()?)?;
        (rest.is_empty() || rest.starts_with('/'))
            .then_some((INTERNAL_HEADER, self.inner.internal_secret.as_str()))
    }

    /// The caller of a request that came with the internal header: metrics reads only.
    pub fn internal_caller(&self, presented: &str) -> Option<Caller> {
        use pharos_auth::rbac::{Action, Permission, Scope};
        opaque::matches(presented, &opaque::digest(&self.inner.internal_secret)).then(|| {
            let mut grants = Grants::default();
            grants.add_global(Permission::new([Action::Read], [Scope::Metrics]));
            Caller::user("pharos-proxy", Arc::new(grants), None)
        })
    }

    /// The guards' counters (shared through Redis when configured).
    pub fn limiter(&self) -> &limiter::Limiter {
        &self.inner.limiter
    }

    /// The password cost for new hashes.
    pub fn password_cost(&self) -> PasswordCost {
        self.inner.password_cost
    }
}
