//! `auth: kubernetes` (OpenShift): the API server says who a bearer token belongs to
//! (TokenReview) and what that user may do in a project's namespace (SubjectAccessReview on
//! `perses.openshift.io` resources, as the seed's `dashboard-creator` role grants them).
//! Answers are cached for `security.kubernetes.cache_ttl`, so a page's burst of requests costs
//! the API server a handful of reviews, not one per request.

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use pharos_auth::{
    kubernetes::{self as review, KubeUser, ReviewError},
    opaque,
    rbac::{Action, Grants, Permission, Scope},
};
use serde_json::Value;

use crate::{
    config::SecuritySettings,
    error::{ApiError, ApiResult},
};

/// How long a refused token's answer is reused (short: a user may fix their login).
const REFUSAL_TTL: Duration = Duration::from_secs(5);
/// Entries kept per cache before it starts over.
const MAX_CACHED: usize = 50_000;
/// Pharos's own token is re-read this often (projected service-account tokens rotate).
const OWN_TOKEN_TTL: Duration = Duration::from_secs(60);
/// Largest review answer read.
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// One access check in a namespace and what it grants there when allowed.
struct Check {
    verb: &'static str,
    resource: &'static str,
    subresource: &'static str,
    actions: &'static [Action],
    scopes: &'static [Scope],
}

/// Read access: enough to see the project in lists.
const READ_CHECK: usize = 0;

/// The checks of one project. `get dashboards` opens the project for reading; the
/// dashboard verbs and `dashboards/share` map one to one; `*` on `datasources` manages the
/// project's data access (datasources, variables, secrets); `*` on `*` (a namespace admin
/// of the group) may do everything in the project, roles and bindings included.
const PROJECT_CHECKS: [Check; 7] = [
    Check {
        verb: "get",
        resource: "dashboards",
        subresource: "",
        actions: &[Action::Read],
        scopes: &[Scope::All],
    },
    Check {
        verb: "create",
        resource: "dashboards",
        subresource: "",
        actions: &[Action::Create],
        // A project's templates follow its dashboards.
        scopes: &[Scope::Dashboard, Scope::Template],
    },
    Check {
        verb: "update",
        resource: "dashboards",
        subresource: "",
        actions: &[Action::Update],
        // A project's templates follow its dashboards.
        scopes: &[Scope::Dashboard, Scope::Template],
    },
    Check {
        verb: "delete",
        resource: "dashboards",
        subresource: "",
        actions: &[Action::Delete],
        // A project's templates follow its dashboards.
        scopes: &[Scope::Dashboard, Scope::Template],
    },
    Check {
        verb: "create",
        resource: "dashboards",
        subresource: "share",
        actions: &[Action::Share],
        scopes: &[Scope::Dashboard],
    },
    Check {
        verb: "*",
        resource: "datasources",
        subresource: "",
        actions: &[Action::All],
        scopes: &[Scope::Datasource, Scope::Variable, Scope::Secret],
    },
    Check {
        verb: "*",
        resource: "*",
        subresource: "",
        actions: &[Action::All],
        scopes: &[Scope::All],
    },
];

/// The checks of the fleet, cluster-wide: `get clusters` reads the fleet (registry, federated
/// queries, GPUs, alerts, events); `*` on `clusters` manages it. Asked for global routes only.
const FLEET_CHECKS: [Check; 2] = [
    Check {
        verb: "get",
        resource: "clusters",
        subresource: "",
        actions: &[Action::Read],
        scopes: &[Scope::Cluster],
    },
    Check {
        verb: "*",
        resource: "clusters",
        subresource: "",
        actions: &[Action::All],
        scopes: &[Scope::Cluster],
    },
];

/// Which projects a request needs access answers for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectsInQuestion {
    /// None: global routes only.
    None,
    /// Everything in one project.
    One(String),
    /// Read access to each of these (a list across projects).
    ReadEach(Vec<String>),
}

type Cached<T> = Mutex<HashMap<String, (T, Instant)>>;

/// The API server and the cached review answers.
pub struct KubernetesAuthority {
    api_server: String,
    client: reqwest::Client,
    token_file: PathBuf,
    own_token: Mutex<Option<(String, Instant)>>,
    audiences: Vec<String>,
    ttl: Duration,
    guest: Vec<Permission>,
    users: Cached<Result<KubeUser, String>>,
    access: Cached<bool>,
}

impl std::fmt::Debug for KubernetesAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KubernetesAuthority({})", self.api_server)
    }
}

fn cached<T: Clone>(cache: &Cached<T>, key: &str) -> Option<T> {
    let cache = cache.lock().ok()?;
    let (value, expires) = cache.get(key)?;
    (Instant::now() < *expires).then(|| value.clone())
}

fn remember<T>(cache: &Cached<T>, key: String, value: T, ttl: Duration) {
    if let Ok(mut cache) = cache.lock() {
        if cache.len() >= MAX_CACHED {
            cache.clear();
        }
        cache.insert(key, (value, Instant::now() + ttl));
    }
}

impl KubernetesAuthority {
    /// The authority of `security.kubernetes`; `None` without an API server URL (refused
    /// earlier by the settings' validation).
    pub fn new(security: &SecuritySettings) -> Option<Self> {
        let settings = &security.kubernetes;
        let api_server = settings.api_server_url()?;
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10));
        // Outside a pod (tests, a plain-HTTP proxy) there is no CA file; the system roots
        // then decide.
        if let Ok(pem) = std::fs::read(&settings.ca_file) {
            match reqwest::Certificate::from_pem_bundle(&pem) {
                Ok(certificates) => {
                    for certificate in certificates {
                        builder = builder.add_root_certificate(certificate);
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %settings.ca_file.display(), "kubernetes CA bundle unreadable: {e}")
                }
            }
        }
        Some(Self {
            api_server,
            client: builder.build().unwrap_or_default(),
            token_file: settings.token_file.clone(),
            own_token: Mutex::default(),
            audiences: settings.audiences.clone(),
            ttl: settings.cache_ttl,
            guest: security.guest_permissions.clone(),
            users: Mutex::default(),
            access: Mutex::default(),
        })
    }

    fn own_token(&self) -> Option<String> {
        if let Ok(guard) = self.own_token.lock()
            && let Some((token, read)) = guard.as_ref()
            && read.elapsed() < OWN_TOKEN_TTL
        {
            return Some(token.clone());
        }
        let token = std::fs::read_to_string(&self.token_file)
            .ok()?
            .trim()
            .to_owned();
        if let Ok(mut guard) = self.own_token.lock() {
            *guard = Some((token.clone(), Instant::now()));
        }
        Some(token)
    }

    async fn post(&self, path: &str, body: &Value) -> ApiResult<Value> {
        let unavailable = |why: String| {
            ApiError::Unavailable(format!(
                "cannot check the login with the Kubernetes API server ({}): {why}",
                self.api_server
            ))
        };
        let mut request = self
            .client
            .post(format!("{}{path}", self.api_server))
            .json(body);
        if let Some(token) = self.own_token() {
            request = request.bearer_auth(token);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| unavailable(e.to_string()))?
        {
            if bytes.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(unavailable("the answer is too large".to_owned()));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            // 401/403 here mean Pharos's own service account lacks the
            // `system:auth-delegator` role: an operator's problem, not the caller's.
            let text = String::from_utf8_lossy(&bytes);
            return Err(unavailable(format!(
                "{status}: {}",
                text.chars().take(300).collect::<String>()
            )));
        }
        serde_json::from_slice(&bytes).map_err(|e| unavailable(format!("not JSON: {e}")))
    }

    /// Who `token` belongs to.
    pub async fn authenticate(&self, token: &str) -> ApiResult<KubeUser> {
        let key = opaque::digest(token);
        let refused =
            |why: String| ApiError::Unauthorized(format!("{why}; log in to the cluster again"));
        if let Some(answer) = cached(&self.users, &key) {
            return answer.map_err(refused);
        }
        let answer = self
            .post(
                "/apis/authentication.k8s.io/v1/tokenreviews",
                &review::token_review_request(token, &self.audiences),
            )
            .await?;
        match review::read_token_review(&answer) {
            Ok(user) => {
                remember(&self.users, key, Ok(user.clone()), self.ttl);
                Ok(user)
            }
            Err(refusal @ ReviewError::NotAuthenticated(_)) => {
                let why = refusal.to_string();
                remember(
                    &self.users,
                    key,
                    Err(why.clone()),
                    REFUSAL_TTL.min(self.ttl),
                );
                Err(refused(why))
            }
            Err(other) => Err(ApiError::Unavailable(other.to_string())),
        }
    }

    async fn allowed(&self, user: &KubeUser, namespace: &str, check: &Check) -> ApiResult<bool> {
        let key = format!(
            "{}\u{0}{}\u{0}{namespace}\u{0}{}\u{0}{}\u{0}{}",
            user.username,
            user.groups.join(","),
            check.verb,
            check.resource,
            check.subresource
        );
        if let Some(allowed) = cached(&self.access, &key) {
            return Ok(allowed);
        }
        let body = review::subject_access_review_request(
            user,
            namespace,
            check.verb,
            check.resource,
            check.subresource,
        );
        let answer = self
            .post("/apis/authorization.k8s.io/v1/subjectaccessreviews", &body)
            .await?;
        let allowed = review::read_subject_access_review(&answer)
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        remember(&self.access, key, allowed, self.ttl);
        Ok(allowed)
    }

    /// The grants of `user` for one request: the guest permissions, everything for a
    /// cluster-wide admin of the group, and what the reviews allow in `projects`.
    pub async fn grants(
        &self,
        user: &KubeUser,
        projects: &ProjectsInQuestion,
    ) -> ApiResult<Grants> {
        let cluster_admin = Check {
            verb: "*",
            resource: "*",
            subresource: "",
            actions: &[],
            scopes: &[],
        };
        if self.allowed(user, "", &cluster_admin).await? {
            return Ok(Grants::everything());
        }
        let mut grants = Grants::default();
        for permission in &self.guest {
            grants.add_global(permission.clone());
        }
        let asks: Vec<(&str, &Check)> = match projects {
            ProjectsInQuestion::None => FLEET_CHECKS.iter().map(|c| ("", c)).collect(),
            ProjectsInQuestion::One(project) => PROJECT_CHECKS
                .iter()
                .map(|c| (project.as_str(), c))
                .collect(),
            // Lists across projects are global routes too (`/api/v1/clusters`, a user's
            // permissions for the UI's navigation).
            ProjectsInQuestion::ReadEach(list) => list
                .iter()
                .map(|p| (p.as_str(), &PROJECT_CHECKS[READ_CHECK]))
                .chain(FLEET_CHECKS.iter().map(|c| ("", c)))
                .collect(),
        };
        let answers = futures::future::try_join_all(
            asks.iter()
                .map(|(project, check)| self.allowed(user, project, check)),
        )
        .await?;
        for ((project, check), allowed) in asks.iter().zip(answers) {
            let permission =
                Permission::new(check.actions.iter().copied(), check.scopes.iter().copied());
            if allowed && project.is_empty() {
                grants.add_global(permission);
            } else if allowed {
                grants.add_project(project, permission);
            }
        }
        Ok(grants)
    }
}

/// The caller of a Kubernetes-authenticated request.
pub fn caller(user: &KubeUser, grants: Grants) -> super::Caller {
    super::Caller::user(user.username.clone(), Arc::new(grants), None)
        .with_groups(user.groups.clone())
}
