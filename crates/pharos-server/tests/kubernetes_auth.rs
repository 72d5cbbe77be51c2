//! `auth: kubernetes` against a fake API server that speaks the real `TokenReview` and
//! `SubjectAccessReview` protocol on a socket: who a token belongs to, what the seed's
//! `dashboard-creator` role (`perses.openshift.io` `dashboards`, `dashboards/share`) lets a
//! user do in a project's namespace, caching of the answers, and the refusals.

mod common;

use std::time::Duration;

use axum::http::{Method, StatusCode};
use common::{Answer, Backend, TestApp};
use pharos_fakes::kube::{FakeKubeApi, Rule};
use pharos_server::{ServerSettings, config::AuthMode};
use serde_json::{Value, json};

const SERVICE_ACCOUNT_TOKEN: &str = "pharos-service-account-token";

struct Cluster {
    app: TestApp,
    api: FakeKubeApi,
    _dir: tempfile::TempDir,
}

async fn cluster(cache_ttl: Duration, own_token: &str) -> Cluster {
    let api = FakeKubeApi::start(SERVICE_ACCOUNT_TOKEN)
        .await
        .expect("fake API server");
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{own_token}\n")).expect("token file");
    let mut settings = ServerSettings::default();
    settings.security.auth = AuthMode::Kubernetes;
    settings.security.kubernetes.api_server = api.url().to_owned();
    settings.security.kubernetes.token_file = token_file;
    settings.security.kubernetes.ca_file = dir.path().join("no-ca.crt");
    settings.security.kubernetes.cache_ttl = cache_ttl;
    settings.validate().expect("valid settings");
    let app = TestApp::new(Backend::Sqlite, settings).await.expect("app");
    // A cluster administrator (ClusterRoleBinding to `*`), alice in group ml-team with the
    // seed's dashboard-creator role in team-a, bob with read access in team-b.
    api.add_user("root-token", "root", &["system:masters"]);
    api.add_user("alice-token", "alice", &["ml-team"]);
    api.add_user("bob-token", "bob", &[]);
    api.allow(Rule::new("Group:system:masters", None, &["*"], &["*"]));
    api.allow(Rule::new(
        "Group:ml-team",
        Some("team-a"),
        &["dashboards"],
        &["get", "list", "create", "update", "delete"],
    ));
    api.allow(Rule::new(
        "Group:ml-team",
        Some("team-a"),
        &["dashboards/share"],
        &["create", "delete"],
    ));
    api.allow(Rule::new(
        "User:bob",
        Some("team-b"),
        &["dashboards"],
        &["get", "list"],
    ));
    Cluster {
        app,
        api,
        _dir: dir,
    }
}

fn dashboard(name: &str) -> Value {
    json!({"kind": "Dashboard", "metadata": {"name": name}, "spec": {
        "duration": "1h", "panels": {}, "layouts": []}})
}

async fn as_token(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> Answer {
    app.send(
        method,
        path,
        body,
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

async fn with_projects(cluster: &Cluster) {
    for project in ["team-a", "team-b"] {
        let created = as_token(
            &cluster.app,
            "root-token",
            Method::POST,
            "/api/v1/projects",
            Some(json!({"kind": "Project", "metadata": {"name": project}, "spec": {}})),
        )
        .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        let created = as_token(
            &cluster.app,
            "root-token",
            Method::POST,
            &format!("/api/v1/projects/{project}/dashboards"),
            Some(dashboard("overview")),
        )
        .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    }
}

fn names(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer
        .body
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", answer.text))
        .iter()
        .filter_map(|d| d["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn namespace_roles_decide_what_each_user_may_do_in_each_project() {
    let cluster = cluster(Duration::from_secs(30), SERVICE_ACCOUNT_TOKEN).await;
    with_projects(&cluster).await;
    let app = &cluster.app;

    let me = as_token(app, "alice-token", Method::GET, "/api/v1/user/whoami", None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["metadata"]["name"], "alice");

    // Lists show each user the namespaces they have a role in.
    let alice_projects = as_token(app, "alice-token", Method::GET, "/api/v1/projects", None).await;
    assert_eq!(names(&alice_projects), ["team-a"]);
    let bob_projects = as_token(app, "bob-token", Method::GET, "/api/v1/projects", None).await;
    assert_eq!(names(&bob_projects), ["team-b"]);
    let root_projects = as_token(app, "root-token", Method::GET, "/api/v1/projects", None).await;
    assert_eq!(names(&root_projects), ["team-a", "team-b"]);

    // The dashboard-creator role: create, update, share in team-a.
    let created = as_token(
        app,
        "alice-token",
        Method::POST,
        "/api/v1/projects/team-a/dashboards",
        Some(dashboard("training")),
    )
    .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let shared = app
        .send(
            Method::POST,
            "/api/v1/projects/team-a/dashboards/training/share",
            Some(json!({"expires_in": 3600})),
            &[
                ("authorization", "Bearer alice-token"),
                ("host", "pharos.example"),
            ],
        )
        .await;
    assert_eq!(shared.status, StatusCode::OK, "{}", shared.text);
    // …but not the project's datasources (no rule on them).
    let datasource = json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"default": true,
        "plugin": {"kind": "PrometheusDatasource", "spec": {"directUrl": "http://127.0.0.1:9"}}}});
    let refused = as_token(
        app,
        "alice-token",
        Method::POST,
        "/api/v1/projects/team-a/datasources",
        Some(datasource),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(
        refused
            .message()
            .contains("\"alice\" may not create Datasource"),
        "{}",
        refused.text
    );

    // team-b does not exist for alice: the same answer as a project that does not exist.
    let hidden = as_token(
        app,
        "alice-token",
        Method::GET,
        "/api/v1/projects/team-b/dashboards",
        None,
    )
    .await;
    let missing = as_token(
        app,
        "alice-token",
        Method::GET,
        "/api/v1/projects/nowhere/dashboards",
        None,
    )
    .await;
    assert_eq!(hidden.status, missing.status);
    assert_eq!(hidden.text, missing.text.replace("nowhere", "team-b"));

    // bob reads team-b and may not write or share there.
    let read = as_token(
        app,
        "bob-token",
        Method::GET,
        "/api/v1/projects/team-b/dashboards/overview",
        None,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    let write = as_token(
        app,
        "bob-token",
        Method::PUT,
        "/api/v1/projects/team-b/dashboards/overview",
        Some(dashboard("overview")),
    )
    .await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "{}", write.text);
    let share = as_token(
        app,
        "bob-token",
        Method::POST,
        "/api/v1/projects/team-b/dashboards/overview/share",
        Some(json!({"expires_in": 3600})),
    )
    .await;
    assert_eq!(share.status, StatusCode::FORBIDDEN, "{}", share.text);
    // The root Prometheus API needs a cluster-wide grant.
    let query = as_token(
        app,
        "bob-token",
        Method::GET,
        "/api/v1/query?query=up",
        None,
    )
    .await;
    assert_eq!(query.status, StatusCode::FORBIDDEN, "{}", query.text);
}

#[tokio::test]
async fn review_answers_are_cached_and_expire() {
    let cluster = cluster(Duration::from_secs(1), SERVICE_ACCOUNT_TOKEN).await;
    with_projects(&cluster).await;
    let (app, api) = (&cluster.app, &cluster.api);
    let path = "/api/v1/projects/team-a/dashboards";
    assert_eq!(
        as_token(app, "alice-token", Method::GET, path, None)
            .await
            .status,
        StatusCode::OK
    );
    let (token_reviews, access_reviews) = (api.token_reviews(), api.access_reviews());
    for _ in 0..5 {
        assert_eq!(
            as_token(app, "alice-token", Method::GET, path, None)
                .await
                .status,
            StatusCode::OK
        );
    }
    assert_eq!(
        api.token_reviews(),
        token_reviews,
        "the token review is reused"
    );
    assert_eq!(
        api.access_reviews(),
        access_reviews,
        "the access reviews are reused"
    );

    // The cluster takes the role away; after the cache's lifetime Pharos follows.
    api.revoke("Group:ml-team");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let after = as_token(app, "alice-token", Method::GET, path, None).await;
    assert_ne!(after.status, StatusCode::OK, "{}", after.text);
    assert!(api.access_reviews() > access_reviews);
}

#[tokio::test]
async fn tokens_the_cluster_does_not_know_are_refused() {
    let cluster = cluster(Duration::from_secs(30), SERVICE_ACCOUNT_TOKEN).await;
    let app = &cluster.app;
    let unknown = as_token(app, "stolen-token", Method::GET, "/api/v1/projects", None).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(
        unknown.message().contains("invalid bearer token"),
        "{}",
        unknown.text
    );
    let none = app.anonymous(Method::GET, "/api/v1/projects", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    // An OpenShift OAuth proxy in front passes the user's token in its own header.
    let proxied = app
        .send(
            Method::GET,
            "/api/v1/user/whoami",
            None,
            &[
                ("authorization", ""),
                ("x-forwarded-access-token", "alice-token"),
            ],
        )
        .await;
    assert_eq!(proxied.status, StatusCode::OK, "{}", proxied.text);
    assert_eq!(proxied.body["metadata"]["name"], "alice");
    // No passwords in this mode.
    let login = app
        .anonymous(
            Method::POST,
            "/api/auth/providers/native/login",
            Some(json!({"login": "admin", "password": "whatever-password"})),
        )
        .await;
    assert_eq!(login.status, StatusCode::BAD_REQUEST);
    assert!(
        login.message().contains("password logins are off"),
        "{}",
        login.text
    );
    let config = app.anonymous(Method::GET, "/api/config", None).await;
    let providers = &config.body["security"]["authentication"]["providers"];
    assert_eq!(providers["enable_native"], false);
    assert_eq!(providers["kubernetes"]["enable"], true);
}

#[tokio::test]
async fn a_service_account_the_api_server_refuses_is_an_operator_error_not_a_login_error() {
    let cluster = cluster(Duration::from_secs(30), "wrong-service-account-token").await;
    let refused = as_token(
        &cluster.app,
        "alice-token",
        Method::GET,
        "/api/v1/projects",
        None,
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text
    );
    assert!(refused.message().contains("401"), "{}", refused.text);
}

#[tokio::test]
async fn cluster_wide_rights_on_clusters_open_the_fleet() {
    let cluster = cluster(Duration::from_secs(30), SERVICE_ACCOUNT_TOKEN).await;
    let (app, api) = (&cluster.app, &cluster.api);
    // carol may read clusters cluster-wide (a ClusterRole on `clusters` with get); dave may
    // manage them; bob has only his namespace.
    api.add_user("carol-token", "carol", &["fleet-readers"]);
    api.add_user("dave-token", "dave", &[]);
    api.allow(Rule::new(
        "Group:fleet-readers",
        None,
        &["clusters"],
        &["get"],
    ));
    api.allow(Rule::new("User:dave", None, &["clusters"], &["*"]));
    let register = json!({"name": "east", "type": "hub", "prometheus_url": "http://127.0.0.1:9"});

    let refused = as_token(app, "bob-token", Method::GET, "/api/v1/clusters", None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let refused = as_token(
        app,
        "carol-token",
        Method::POST,
        "/api/v1/clusters",
        Some(register.clone()),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    let created = as_token(
        app,
        "dave-token",
        Method::POST,
        "/api/v1/clusters",
        Some(register),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let listed = as_token(app, "carol-token", Method::GET, "/api/v1/clusters", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert!(listed.text.contains("\"east\""), "{}", listed.text);
    let summary = as_token(
        app,
        "carol-token",
        Method::GET,
        "/api/v1/fleet/summary",
        None,
    )
    .await;
    assert_eq!(summary.status, StatusCode::OK, "{}", summary.text);
}
