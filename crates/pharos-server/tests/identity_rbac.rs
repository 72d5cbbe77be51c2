//! Identity over the real router, on SQLite and PostgreSQL: two users in two projects cannot
//! read, list, query or change each other's project by any route; roles and bindings are
//! validated; sessions refresh and end; every write and login is in the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

fn dashboard(name: &str) -> Value {
    json!({"kind": "Dashboard", "metadata": {"name": name}, "spec": {
        "duration": "1h", "panels": {}, "layouts": []}})
}

fn binding(user: &str, role: &str) -> Value {
    json!({"kind": "RoleBinding", "metadata": {"name": format!("{user}-{role}")},
        "spec": {"role": role, "subjects": [{"kind": "User", "name": user}]}})
}

fn names(answer: &common::Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let mut names: Vec<String> = answer
        .body
        .as_array()
        .unwrap_or_else(|| panic!("a list: {}", answer.text))
        .iter()
        .map(|d| d["metadata"]["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// Admin makes team-a (alice edits) and team-b (bob edits), each with a datasource and a
/// dashboard; returns the two users' tokens.
async fn two_teams(app: &common::TestApp) -> (String, String) {
    app.project("team-a", &["team-a"]).await;
    app.project("team-b", &["team-b"]).await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    for (project, user) in [("team-a", "alice"), ("team-b", "bob")] {
        let bound = app
            .post(
                &format!("/api/v1/projects/{project}/rolebindings"),
                binding(user, "editor"),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
        let datasource = json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"default": true,
            "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": "http://127.0.0.1:9"}}}}}});
        let created = app
            .post(
                &format!("/api/v1/projects/{project}/datasources"),
                datasource,
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        let created = app
            .post(
                &format!("/api/v1/projects/{project}/dashboards"),
                dashboard("main"),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    }
    (alice, bob)
}

both_backends!(
    neither_user_reaches_the_other_project,
    |app: common::TestApp| async move {
        let (alice, bob) = two_teams(&app).await;
        let get = |token: &str, path: &str| {
            let (token, path) = (token.to_owned(), path.to_owned());
            let app = &app;
            async move { app.send_as(&token, Method::GET, &path, None).await }
        };
        // Lists show only one's own project.
        assert_eq!(names(&get(&alice, "/api/v1/projects").await), ["team-a"]);
        assert_eq!(names(&get(&bob, "/api/v1/projects").await), ["team-b"]);
        let flat = get(&alice, "/api/v1/dashboards").await;
        assert_eq!(names(&flat), ["main"]);
        assert_eq!(flat.body[0]["metadata"]["project"], "team-a");
        assert_eq!(
            names(&get(&alice, "/api/v1/dashboards?project=team-a").await),
            ["main"]
        );

        // The other project answers exactly as a project that does not exist.
        for (path, missing_project) in [
            ("/api/v1/projects/team-b", "/api/v1/projects/nope"),
            (
                "/api/v1/projects/team-b/dashboards",
                "/api/v1/projects/nope/dashboards",
            ),
            (
                "/api/v1/projects/team-b/dashboards/main",
                "/api/v1/projects/nope/dashboards/main",
            ),
            (
                "/api/v1/projects/team-b/datasources/prom",
                "/api/v1/projects/nope/datasources/prom",
            ),
            (
                "/api/v1/dashboards?project=team-b",
                "/api/v1/dashboards?project=nope",
            ),
            (
                "/api/v1/projects/team-b/dashboards/main/versions",
                "/api/v1/projects/nope/dashboards/main/versions",
            ),
            (
                "/api/v1/projects/team-b/trash/dashboards",
                "/api/v1/projects/nope/trash/dashboards",
            ),
        ] {
            let other = get(&alice, path).await;
            let missing = get(&alice, missing_project).await;
            assert_eq!(other.status, missing.status, "{path}: {}", other.text);
            assert!(other.status.is_client_error(), "{path}: {}", other.text);
            assert_eq!(
                other.text.replace("team-b", "X"),
                missing.text.replace("nope", "X"),
                "{path}: the answer must not reveal that team-b exists"
            );
        }
        // Writes into the other project change nothing.
        let created = app
            .send_as(
                &alice,
                Method::POST,
                "/api/v1/projects/team-b/dashboards",
                Some(dashboard("evil")),
            )
            .await;
        assert_eq!(created.status, StatusCode::BAD_REQUEST, "{}", created.text);
        let flat_post = app
        .send_as(&alice, Method::POST, "/api/v1/dashboards", Some(json!({"kind": "Dashboard",
            "metadata": {"name": "evil", "project": "team-b"}, "spec": {"duration": "1h", "panels": {}, "layouts": []}})))
        .await;
        assert_eq!(
            flat_post.status,
            StatusCode::BAD_REQUEST,
            "{}",
            flat_post.text
        );
        let deleted = app
            .send_as(
                &alice,
                Method::DELETE,
                "/api/v1/projects/team-b/dashboards/main",
                None,
            )
            .await;
        assert!(deleted.status.is_client_error(), "{}", deleted.text);
        let project_deleted = app
            .send_as(&alice, Method::DELETE, "/api/v1/projects/team-b", None)
            .await;
        assert_eq!(
            project_deleted.status,
            StatusCode::NOT_FOUND,
            "{}",
            project_deleted.text
        );
        assert_eq!(
            names(&get(&bob, "/api/v1/projects/team-b/dashboards").await),
            ["main"]
        );

        // Queries through the other project's proxy, and the server-wide Prometheus API.
        for path in [
            "/proxy/projects/team-b/datasources/prom/api/v1/query?query=up",
            "/proxy/projects/team-b/globaldatasources/local/api/v1/query?query=up",
            "/proxy/projects/team-b/dashboards/main/datasources/prom/api/v1/query?query=up",
        ] {
            let answer = get(&alice, path).await;
            assert_eq!(
                answer.status,
                StatusCode::NOT_FOUND,
                "{path}: {}",
                answer.text
            );
        }
        for path in [
            "/api/v1/query?query=up",
            "/api/v1/series?match[]=up",
            "/api/v1/labels",
        ] {
            let answer = get(&alice, path).await;
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                answer.text
            );
            assert!(answer.text.contains("Metrics"), "{path}: {}", answer.text);
        }
        // Global kinds need global grants; every signed-in user may read the global
        // datasources' definitions (guest permission), but not query through them unrestricted.
        assert_eq!(
            get(&alice, "/api/v1/globaldatasources").await.status,
            StatusCode::OK
        );
        let unrestricted = get(
            &alice,
            "/proxy/globaldatasources/local/api/v1/query?query=up",
        )
        .await;
        assert_eq!(
            unrestricted.status,
            StatusCode::FORBIDDEN,
            "{}",
            unrestricted.text
        );
        assert!(
            unrestricted.text.contains("Metrics"),
            "{}",
            unrestricted.text
        );
        for path in [
            "/api/v1/users",
            "/api/v1/globalsecrets",
            "/api/v1/globalroles",
            "/api/v1/users/admin",
        ] {
            let answer = get(&alice, path).await;
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{path}: {}",
                answer.text
            );
        }
        // Their own project works as an editor's should.
        let mine = app
            .send_as(
                &alice,
                Method::POST,
                "/api/v1/projects/team-a/dashboards",
                Some(dashboard("mine")),
            )
            .await;
        assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
        let role_change = app
            .send_as(
                &alice,
                Method::POST,
                "/api/v1/projects/team-a/rolebindings",
                Some(binding("bob", "owner")),
            )
            .await;
        assert_eq!(
            role_change.status,
            StatusCode::FORBIDDEN,
            "an editor cannot grant roles: {}",
            role_change.text
        );
    }
);

both_backends!(
    viewers_read_and_cannot_write,
    |app: common::TestApp| async move {
        app.project("team-a", &[]).await;
        app.post("/api/v1/projects/team-a/dashboards", dashboard("main"))
            .await;
        let carol = app.user("carol").await;
        let bound = app
            .post(
                "/api/v1/projects/team-a/rolebindings",
                binding("carol", "viewer"),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
        let read = app
            .send_as(
                &carol,
                Method::GET,
                "/api/v1/projects/team-a/dashboards/main",
                None,
            )
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        let mut changed = read.body.clone();
        changed["spec"]["duration"] = json!("6h");
        let update = app
            .send_as(
                &carol,
                Method::PUT,
                "/api/v1/projects/team-a/dashboards/main",
                Some(changed),
            )
            .await;
        assert_eq!(update.status, StatusCode::FORBIDDEN, "{}", update.text);
        assert!(
            update
                .message()
                .contains("may not update Dashboard in project \"team-a\""),
            "{}",
            update.text
        );
        let stored = app.get("/api/v1/projects/team-a/dashboards/main").await;
        assert_eq!(stored.body["spec"]["duration"], "1h", "nothing changed");

        // Her permission map says the same.
        let map = app
            .send_as(&carol, Method::GET, "/api/v1/users/carol/permissions", None)
            .await;
        assert_eq!(map.status, StatusCode::OK, "{}", map.text);
        assert_eq!(
            map.body["team-a"],
            json!([{"actions": ["read"], "scopes": ["*"]}])
        );
        assert_eq!(
            map.body["*"],
            json!([{"actions": ["read"], "scopes": ["GlobalDatasource", "GlobalVariable", "GlobalTemplate"]}]),
            "only the guest permissions: {}",
            map.text
        );
        let others = app
            .send_as(&carol, Method::GET, "/api/v1/users/admin/permissions", None)
            .await;
        assert_eq!(others.status, StatusCode::FORBIDDEN);
    }
);

both_backends!(
    roles_and_bindings_are_validated,
    |app: common::TestApp| async move {
        app.project("team-a", &[]).await;
        let refusals = [
            (
                "/api/v1/projects/team-a/rolebindings",
                binding("x", "no-such-role"),
                "\"no-such-role\" does not exist",
            ),
            (
                "/api/v1/projects/team-a/roles",
                json!({"kind": "Role", "metadata": {"name": "r"},
                    "spec": {"permissions": [{"actions": ["read"], "scopes": ["GlobalDatasource"]}]}}),
                "use a GlobalRole",
            ),
            (
                "/api/v1/globalroles",
                json!({"kind": "GlobalRole", "metadata": {"name": "r"},
                    "spec": {"permissions": [{"actions": ["fly"], "scopes": ["*"]}]}}),
                "unknown action \"fly\"",
            ),
            (
                "/api/v1/projects/team-a/rolebindings",
                json!({"kind": "RoleBinding", "metadata": {"name": "b"},
                    "spec": {"role": "viewer", "subjects": []}}),
                "subjects",
            ),
            (
                "/api/v1/users",
                json!({"kind": "User", "metadata": {"name": "dave"},
                    "spec": {"nativeProvider": {"password": "short"}}}),
                "password",
            ),
        ];
        for (path, body, needle) in refusals {
            let refused = app.post(path, body).await;
            assert_eq!(
                refused.status,
                StatusCode::BAD_REQUEST,
                "{path}: {}",
                refused.text
            );
            assert!(
                refused.message().contains(needle),
                "{needle}: {}",
                refused.text
            );
        }
        assert_eq!(
            app.get("/api/v1/users/dave").await.status,
            StatusCode::NOT_FOUND,
            "the refused user is not stored"
        );
        // The project's default roles exist, and its creator owns it.
        assert_eq!(
            names(&app.get("/api/v1/projects/team-a/roles").await),
            ["editor", "owner", "viewer"]
        );
        let owner = app.get("/api/v1/projects/team-a/rolebindings/owner").await;
        assert_eq!(
            owner.body["spec"]["subjects"],
            json!([{"kind": "User", "name": "admin"}])
        );
    }
);

both_backends!(
    password_hashes_never_leave_the_server,
    |app: common::TestApp| async move {
        let erin = app.user("erin").await;
        for answer in [
            app.get("/api/v1/users").await,
            app.get("/api/v1/users/erin").await,
            app.send_as(&erin, Method::GET, "/api/v1/user/whoami", None)
                .await,
        ] {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
            assert!(!answer.text.contains("argon2"), "{}", answer.text);
            assert!(!answer.text.contains("erin-password"), "{}", answer.text);
        }
        let me = app
            .send_as(&erin, Method::GET, "/api/v1/user/whoami", None)
            .await;
        assert_eq!(me.body["metadata"]["name"], "erin");
        // An update without a password keeps the old one.
        let user = app.get("/api/v1/users/erin").await.body;
        let mut renamed = user.clone();
        renamed["spec"]["firstName"] = json!("Erin");
        assert_eq!(
            app.put("/api/v1/users/erin", renamed).await.status,
            StatusCode::OK
        );
        app.login("erin", "erin-password").await;
    }
);

both_backends!(
    sessions_refresh_and_end_at_logout,
    |app: common::TestApp| async move {
        app.user("frank").await;
        let login = app
            .anonymous(
                Method::POST,
                "/api/auth/providers/native/login",
                Some(json!({"login": "frank", "password": "frank-password"})),
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.text);
        assert_eq!(login.body["token_type"], "Bearer");
        assert_eq!(login.body["expires_in"], 900);
        let cookies: Vec<&str> = login
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(cookies.len(), 3, "{cookies:?}");
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("jwtPayload=") && !c.contains("HttpOnly")),
            "{cookies:?}"
        );
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("jwtSignature=") && c.contains("HttpOnly")),
            "{cookies:?}"
        );
        assert!(
            cookies
                .iter()
                .any(|c| c.starts_with("jwtRefreshToken=") && c.contains("HttpOnly")),
            "{cookies:?}"
        );
        let access = login.body["access_token"].as_str().unwrap().to_owned();
        let refresh_token = login.body["refresh_token"].as_str().unwrap().to_owned();

        let refreshed = app
            .anonymous(
                Method::POST,
                "/api/auth/refresh",
                Some(json!({"refresh_token": refresh_token})),
            )
            .await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
        let renewed = refreshed.body["access_token"].as_str().unwrap().to_owned();
        assert_eq!(
            app.send_as(&renewed, Method::GET, "/api/v1/user/whoami", None)
                .await
                .status,
            StatusCode::OK
        );

        // The browser's way: the two cookies instead of a header.
        let (payload, signature) = access.rsplit_once('.').unwrap();
        let cookie = format!("jwtPayload={payload}; jwtSignature={signature}");
        let by_cookie = app
            .send(
                Method::GET,
                "/api/v1/user/whoami",
                None,
                &[("authorization", ""), ("cookie", &cookie)],
            )
            .await;
        assert_eq!(
            by_cookie.body["metadata"]["name"], "frank",
            "{}",
            by_cookie.text
        );
        // ... but not for a write coming from another site.
        let forged = app
            .send(
                Method::POST,
                "/api/v1/projects",
                Some(json!({"kind": "Project", "metadata": {"name": "x"}})),
                &[
                    ("authorization", ""),
                    ("cookie", &cookie),
                    ("origin", "https://evil.example"),
                    ("host", "pharos:8080"),
                ],
            )
            .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.text);

        let out = app
            .send_as(&access, Method::GET, "/api/auth/logout", None)
            .await;
        assert_eq!(out.status, StatusCode::FOUND);
        assert_eq!(out.headers["location"], "/");
        let cleared: Vec<&str> = out
            .headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert!(
            cleared.iter().all(|c| c.contains("Max-Age=0")) && cleared.len() == 3,
            "{cleared:?}"
        );
        let reused = app
            .anonymous(
                Method::POST,
                "/api/auth/refresh",
                Some(json!({"refresh_token": refresh_token})),
            )
            .await;
        assert_eq!(reused.status, StatusCode::BAD_REQUEST, "{}", reused.text);
        assert!(reused.message().contains("logged out"), "{}", reused.text);

        // A stale tab (access token gone, refresh cookie still there) can log out too.
        let again = app
            .anonymous(
                Method::POST,
                "/api/auth/providers/native/login",
                Some(json!({"login": "frank", "password": "frank-password"})),
            )
            .await;
        let refresh_token = again.body["refresh_token"].as_str().unwrap().to_owned();
        let stale = format!("jwtRefreshToken={refresh_token}");
        let out = app
            .send(
                Method::GET,
                "/api/auth/logout",
                None,
                &[("authorization", ""), ("cookie", &stale)],
            )
            .await;
        assert_eq!(out.status, StatusCode::FOUND, "{}", out.text);
        let reused = app
            .anonymous(
                Method::POST,
                "/api/auth/refresh",
                Some(json!({"refresh_token": refresh_token})),
            )
            .await;
        assert_eq!(reused.status, StatusCode::BAD_REQUEST, "{}", reused.text);
    }
);

both_backends!(
    bad_credentials_are_refused_and_audited,
    |app: common::TestApp| async move {
        app.user("gina").await;
        let wrong = app
            .anonymous(
                Method::POST,
                "/api/auth/providers/native/login",
                Some(json!({"login": "gina", "password": "not-her-password"})),
            )
            .await;
        let unknown = app
            .anonymous(
                Method::POST,
                "/api/auth/providers/native/login",
                Some(json!({"login": "nobody", "password": "whatever-it-is"})),
            )
            .await;
        for answer in [&wrong, &unknown] {
            assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.text);
            assert_eq!(answer.message(), "bad request: wrong login or password");
        }
        let token = app.admin_token.clone();
        let mut tampered = token.clone().into_bytes();
        let last = tampered.len() - 5;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        let payload = token.split('.').nth(1).unwrap();
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{payload}.");
        for bad in [tampered.as_str(), unsigned.as_str(), "not-a-token"] {
            let answer = app
                .send_as(bad, Method::GET, "/api/v1/projects", None)
                .await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{bad}: {}",
                answer.text
            );
            assert_eq!(answer.headers["www-authenticate"], "Bearer");
        }
        let none = app.anonymous(Method::GET, "/api/v1/projects", None).await;
        assert_eq!(none.status, StatusCode::UNAUTHORIZED);
        assert!(none.message().contains("log in first"), "{}", none.text);
        // Anonymous routes stay open.
        for path in ["/api/config", "/api/v1/health", "/health"] {
            assert!(
                app.anonymous(Method::GET, path, None)
                    .await
                    .status
                    .is_success(),
                "{path}"
            );
        }

        // The audit log has the failed logins and the admin's writes, with request ids.
        let created = app
            .send(
                Method::POST,
                "/api/v1/projects",
                Some(json!({"kind": "Project", "metadata": {"name": "audited"}})),
                &[("x-request-id", "req-123")],
            )
            .await;
        assert_eq!(created.headers["x-request-id"], "req-123");
        let logins = app.get("/api/v1/audit/logs?action=login&user=gina").await;
        assert_eq!(logins.status, StatusCode::OK, "{}", logins.text);
        let entries = logins.body["entries"].as_array().unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e["result"] == "failure" && e["status"] == 400),
            "{}",
            logins.text
        );
        let writes = app
            .get("/api/v1/audit/logs?resource=projects&user=admin")
            .await;
        let entry = writes.body["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == "audited")
            .cloned();
        let entry = entry.unwrap_or_else(|| panic!("no entry for the project: {}", writes.text));
        assert_eq!(
            (
                entry["action"].as_str(),
                entry["result"].as_str(),
                entry["requestId"].as_str()
            ),
            (Some("create"), Some("success"), Some("req-123"))
        );
        let gina = app.login("gina", "gina-password").await;
        let refused = app
            .send_as(&gina, Method::GET, "/api/v1/audit/logs", None)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        let bad_time = app.get("/api/v1/audit/logs?from=yesterday").await;
        assert_eq!(bad_time.status, StatusCode::BAD_REQUEST);
        assert!(bad_time.message().contains("RFC 3339"), "{}", bad_time.text);
    }
);

#[tokio::test]
async fn repeated_failures_are_throttled() {
    let mut settings = pharos_server::ServerSettings::default();
    settings.security.max_login_failures = 3;
    let app = common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap();
    let attempt = |password: &'static str| {
        let app = &app;
        async move {
            app.anonymous(
                Method::POST,
                "/api/auth/providers/native/login",
                Some(json!({"login": "admin", "password": password})),
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("wrong-password").await.status,
            StatusCode::BAD_REQUEST
        );
    }
    // Even the right password waits now: a brute force cannot find out it guessed right.
    let throttled = attempt(common::ADMIN_PASSWORD).await;
    assert_eq!(
        throttled.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        throttled.text
    );
    assert!(throttled.headers.contains_key("retry-after"));
    assert!(
        throttled.message().contains("security.max_login_failures"),
        "{}",
        throttled.text
    );
}

#[tokio::test]
async fn disabled_auth_needs_no_login_and_says_so() {
    let mut settings = pharos_server::ServerSettings::default();
    settings.security.auth = pharos_server::config::AuthMode::Disabled;
    let app = common::TestApp::new(common::Backend::Sqlite, settings)
        .await
        .unwrap();
    let created = app
        .anonymous(
            Method::POST,
            "/api/v1/projects",
            Some(json!({"kind": "Project", "metadata": {"name": "dev"}})),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let config = app.anonymous(Method::GET, "/api/config", None).await;
    assert_eq!(config.body["security"]["enable_auth"], false);
    let whoami = app
        .anonymous(Method::GET, "/api/v1/user/whoami", None)
        .await;
    assert_eq!(whoami.status, StatusCode::UNAUTHORIZED);
    let users = app.anonymous(Method::GET, "/api/v1/users", None).await;
    assert_eq!(
        names(&users),
        Vec::<String>::new(),
        "no administrator is created"
    );
}

both_backends!(
    api_tokens_act_within_their_limits,
    |app: common::TestApp| async move {
        app.project("team-a", &[]).await;
        app.project("team-b", &[]).await;
        app.post("/api/v1/projects/team-a/dashboards", dashboard("main"))
            .await;
        // A read-only token for team-a.
        let made = app
        .post("/api/v1/tokens", json!({"name": "ci", "projects": ["team-a"], "actions": ["read"], "expires_in": 3600}))
        .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.text);
        let token = made.body["token"].as_str().unwrap().to_owned();
        let id = made.body["token_id"].as_str().unwrap().to_owned();
        assert!(token.starts_with("pht_"), "{token}");
        let read = app
            .send_as(
                &token,
                Method::GET,
                "/api/v1/projects/team-a/dashboards/main",
                None,
            )
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text);
        assert_eq!(
            names(
                &app.send_as(&token, Method::GET, "/api/v1/projects", None)
                    .await
            ),
            ["team-a"]
        );
        let write = app
            .send_as(
                &token,
                Method::POST,
                "/api/v1/projects/team-a/dashboards",
                Some(dashboard("x")),
            )
            .await;
        assert_eq!(write.status, StatusCode::FORBIDDEN, "{}", write.text);
        let other = app
            .send_as(&token, Method::GET, "/api/v1/projects/team-b", None)
            .await;
        assert_eq!(other.status, StatusCode::NOT_FOUND, "{}", other.text);
        let mint = app
            .send_as(
                &token,
                Method::POST,
                "/api/v1/tokens",
                Some(json!({"name": "more"})),
            )
            .await;
        assert_eq!(
            mint.status,
            StatusCode::FORBIDDEN,
            "a token cannot mint tokens: {}",
            mint.text
        );
        // Listed without the secret, with its last use; then revoked.
        let listed = app.get("/api/v1/tokens").await;
        assert_eq!(listed.status, StatusCode::OK);
        assert!(!listed.text.contains(&token), "{}", listed.text);
        assert_eq!(listed.body[0]["name"], "ci");
        assert!(
            listed.body[0]["last_used_at"].is_string(),
            "{}",
            listed.text
        );
        assert_eq!(
            app.delete(&format!("/api/v1/tokens/{id}")).await.status,
            StatusCode::NO_CONTENT
        );
        let after = app
            .send_as(&token, Method::GET, "/api/v1/projects", None)
            .await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        assert!(after.message().contains("revoked"), "{}", after.text);
        // A metrics writer token (what a Prometheus remote_write section is given).
        let writer = app
            .post(
                "/api/v1/tokens",
                json!({"name": "prometheus", "actions": ["create"]}),
            )
            .await;
        let writer = writer.body["token"].as_str().unwrap().to_owned();
        let query = app
            .send_as(&writer, Method::GET, "/api/v1/projects", None)
            .await;
        assert_eq!(
            names(&query),
            Vec::<String>::new(),
            "a create-only token reads nothing"
        );
        let bad = app
            .post("/api/v1/tokens", json!({"name": "x", "expires_in": 10}))
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    }
);

both_backends!(
    preferences_follow_the_user,
    |app: common::TestApp| async move {
        let hana = app.user("hana").await;
        let defaults = app
            .send_as(&hana, Method::GET, "/api/v1/preferences", None)
            .await;
        assert_eq!(defaults.status, StatusCode::OK, "{}", defaults.text);
        assert_eq!(defaults.body["theme"], "system");
        let mine = json!({"timezone": "Europe/Paris", "theme": "dark", "refresh_interval": "30s", "time_range": "6h",
        "home_dashboard": {"project": "p", "dashboard": "d"}, "favourites": [{"project": "p", "dashboard": "d"}]});
        let saved = app
            .send_as(
                &hana,
                Method::PUT,
                "/api/v1/preferences",
                Some(mine.clone()),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text);
        // Another session of the same user (another device) sees them; another user does not.
        let elsewhere = app.login("hana", "hana-password").await;
        assert_eq!(
            app.send_as(&elsewhere, Method::GET, "/api/v1/preferences", None)
                .await
                .body,
            mine
        );
        assert_eq!(app.get("/api/v1/preferences").await.body["theme"], "system");
        let bad = app
            .send_as(
                &hana,
                Method::PUT,
                "/api/v1/preferences",
                Some(json!({"theme": "pink"})),
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert!(bad.message().contains("theme"), "{}", bad.text);
        let unknown = app
            .send_as(
                &hana,
                Method::PUT,
                "/api/v1/preferences",
                Some(json!({"colour": "red"})),
            )
            .await;
        assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
        assert_eq!(
            app.send_as(&hana, Method::GET, "/api/v1/preferences", None)
                .await
                .body,
            mine,
            "nothing changed"
        );
    }
);

both_backends!(
    versions_record_their_authors,
    |app: common::TestApp| async move {
        app.project("team-a", &[]).await;
        app.post("/api/v1/projects/team-a/dashboards", dashboard("main"))
            .await;
        let ivy = app.user("ivy").await;
        let bound = app
            .post(
                "/api/v1/projects/team-a/rolebindings",
                binding("ivy", "editor"),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK);
        let mut changed = app
            .get("/api/v1/projects/team-a/dashboards/main")
            .await
            .body;
        changed["spec"]["duration"] = json!("6h");
        let updated = app
            .send_as(
                &ivy,
                Method::PUT,
                "/api/v1/projects/team-a/dashboards/main",
                Some(changed),
            )
            .await;
        assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
        assert!(
            updated.body["metadata"].get("updatedBy").is_none(),
            "not part of the Perses document"
        );
        let versions = app
            .get("/api/v1/projects/team-a/dashboards/main/versions")
            .await;
        assert_eq!(versions.status, StatusCode::OK, "{}", versions.text);
        let authors: Vec<(u64, String)> = versions
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_u64().unwrap(),
                    v["updatedBy"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        assert_eq!(authors, [(1, "ivy".to_owned()), (0, "admin".to_owned())]);
    }
);
