//! Logins against the real binary (docs/user/authentication.md): the first administrator's
//! generated password, the request sequence of `percli login` + `percli get dashboards`, 401 for
//! anonymous requests to every protected surface, wrong credentials and forged tokens, refresh
//! and logout, and `--auth disabled`. Every server runs on a SQLite data dir in a tempdir.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::{ADMIN_LOGIN, ADMIN_PASSWORD, Login, Pharos, bearer_headers, write_body};

const LOGIN_PATH: &str = "/api/auth/providers/native/login";
/// The whole message for a wrong login or password (Perses' text, docs/user/authentication.md).
const WRONG_CREDENTIALS: &str = "bad request: wrong login or password";

/// A client without any token, that does not follow redirects.
fn anonymous() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client that sends `token` as its bearer and does not follow redirects.
fn with_token(token: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .default_headers(bearer_headers(token))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Status and body (JSON, or the text as a JSON string) of a response.
async fn answer(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

async fn get(client: &reqwest::Client, url: &str) -> (StatusCode, Value) {
    answer(client.get(url).send().await.unwrap()).await
}

async fn post_json(client: &reqwest::Client, url: &str, body: &Value) -> (StatusCode, Value) {
    answer(client.post(url).json(body).send().await.unwrap()).await
}

async fn login(pharos: &Pharos, login: &str, password: &str) -> (StatusCode, Value) {
    post_json(
        &anonymous(),
        &pharos.url(LOGIN_PATH),
        &json!({"login": login, "password": password}),
    )
    .await
}

/// `POST /api/auth/refresh` with `{"refresh_token": ...}`.
async fn refresh(pharos: &Pharos, refresh_token: &str) -> (StatusCode, Value) {
    post_json(
        &anonymous(),
        &pharos.url("/api/auth/refresh"),
        &json!({"refresh_token": refresh_token}),
    )
    .await
}

/// Asserts the token JSON of a login or refresh and returns (access, refresh).
fn tokens(status: StatusCode, body: &Value) -> (String, String) {
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer", "{body}");
    let access = body["access_token"].as_str().unwrap_or_default().to_owned();
    let refresh = body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!access.is_empty() && !refresh.is_empty(), "{body}");
    assert!(body["expires_in"].as_u64().unwrap_or(0) > 0, "{body}");
    (access, refresh)
}

/// `GET /api/v1/user/whoami` with `token`: the caller's login, panicking unless 200.
async fn whoami(pharos: &Pharos, token: &str) -> String {
    let (status, body) = get(&with_token(token), &pharos.url("/api/v1/user/whoami")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["kind"], "User", "{body}");
    body["metadata"]["name"].as_str().unwrap().to_owned()
}

/// Asserts a 401 with `WWW-Authenticate: Bearer` and a JSON `message`.
async fn assert_unauthorized(what: &str, response: reqwest::Response) {
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, body) = answer(response).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
    assert!(challenge.starts_with("Bearer"), "{what}: {challenge:?}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(!message.is_empty(), "{what}: a JSON message, got {body}");
}

/// Polls the log for up to `patience` until `needle` shows up (the line may be flushed just
/// after `/ready`).
async fn log_with(pharos: &Pharos, needle: &str, patience: Duration) -> String {
    let deadline = Instant::now() + patience;
    loop {
        let log = pharos.log_text();
        if log.contains(needle) || Instant::now() > deadline {
            return log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_admin_password_is_written_once_logged_once_and_kept_on_restart() {
    let dir = tempfile::tempdir().unwrap();
    // The harness's clean environment has no PHAROS_ADMIN_PASSWORD: the password is generated.
    let mut pharos = Pharos::spawn_custom(dir.path(), &["--no-demo"], &[], Login::None).await;
    let file = dir.path().join("admin-password");
    assert!(file.is_file(), "{} is missing", file.display());
    assert_eq!(mode(&file), 0o600, "only the owner may read it");
    let password = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert_eq!(
        password.chars().count(),
        24,
        "24 generated characters: {password:?}"
    );
    assert_ne!(password, ADMIN_PASSWORD);
    let log = log_with(&pharos, &password, Duration::from_secs(5)).await;
    assert_eq!(
        log.matches(password.as_str()).count(),
        1,
        "the password is logged exactly once: {log}"
    );
    assert!(log.contains("created the first administrator"), "{log}");

    let (status, body) = login(&pharos, ADMIN_LOGIN, &password).await;
    let (access, _) = tokens(status, &body);
    assert_eq!(whoami(&pharos, &access).await, ADMIN_LOGIN);
    assert!(pharos.terminate().success(), "{}", pharos.log_text());

    // Same data dir: the administrator exists, nothing is generated, written or logged again.
    let pharos = Pharos::spawn_custom(dir.path(), &["--no-demo"], &[], Login::None).await;
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().trim(),
        password,
        "the password file is unchanged"
    );
    assert_eq!(mode(&file), 0o600);
    let (status, body) = login(&pharos, ADMIN_LOGIN, &password).await;
    let (access, _) = tokens(status, &body);
    assert_eq!(whoami(&pharos, &access).await, ADMIN_LOGIN);
    let restart_log = pharos.log_text();
    assert!(
        !restart_log.is_empty() && !restart_log.contains(&password),
        "the restart does not log the password again: {restart_log}"
    );
    assert!(!restart_log.contains("created the first administrator"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_admin_password_is_used_and_neither_written_nor_logged() {
    let dir = tempfile::tempdir().unwrap();
    let password = "flag-given-password-42";
    let pharos = Pharos::spawn_custom(
        dir.path(),
        &["--no-demo", "--admin-password", password],
        &[],
        Login::None,
    )
    .await;
    let (status, body) = login(&pharos, ADMIN_LOGIN, password).await;
    let (access, _) = tokens(status, &body);
    assert_eq!(whoami(&pharos, &access).await, ADMIN_LOGIN);
    assert!(!dir.path().join("admin-password").exists());
    // Give a late log line the chance to appear before checking it did not.
    let log = log_with(&pharos, password, Duration::from_secs(1)).await;
    assert!(!log.contains(password), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percli_login_then_get_dashboards_works_request_by_request() {
    let dir = tempfile::tempdir().unwrap();
    let pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;
    // Something to find: a project with one dashboard, created as the harness's admin.
    let admin = pharos.client();
    let (status, body) = post_json(
        &admin,
        &pharos.url("/api/v1/projects"),
        &json!({"kind": "Project", "metadata": {"name": "observability"}, "spec": {}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = post_json(
        &admin,
        &pharos.url("/api/v1/projects/observability/dashboards"),
        &json!({"kind": "Dashboard",
                "metadata": {"name": "overview", "project": "observability"},
                "spec": {"display": {"name": "Overview"}, "duration": "1h", "panels": {}, "layouts": []}}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // percli login <url> --username admin --password ...
    let percli = anonymous();
    let (status, config) = get(&percli, &pharos.url("/api/config")).await;
    assert_eq!(status, StatusCode::OK, "{config}");
    assert_eq!(config["security"]["enable_auth"], true, "{config}");
    assert_eq!(
        config["security"]["authentication"]["providers"]["enable_native"], true,
        "{config}"
    );
    let (status, body) = post_json(
        &percli,
        &pharos.url(LOGIN_PATH),
        &json!({"login": ADMIN_LOGIN, "password": ADMIN_PASSWORD}),
    )
    .await;
    let (access, _) = tokens(status, &body);
    assert_eq!(body["expires_in"], 900, "access tokens live 15 m: {body}");
    assert_eq!(access.split('.').count(), 3, "a JWT: {access}");

    // percli whoami
    let percli = with_token(&access);
    let (status, user) = get(&percli, &pharos.url("/api/v1/user/whoami")).await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["kind"], "User", "{user}");
    assert_eq!(user["metadata"]["name"], ADMIN_LOGIN, "{user}");
    assert!(
        !user.to_string().contains(ADMIN_PASSWORD)
            && user["spec"]["nativeProvider"]["password"].is_null(),
        "never the password: {user}"
    );

    // percli project observability; percli get dashboards
    let (status, project) = get(&percli, &pharos.url("/api/v1/projects/observability")).await;
    assert_eq!(status, StatusCode::OK, "{project}");
    assert_eq!(project["metadata"]["name"], "observability", "{project}");
    let (status, dashboards) = get(
        &percli,
        &pharos.url("/api/v1/projects/observability/dashboards"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{dashboards}");
    let names: Vec<&str> = dashboards
        .as_array()
        .unwrap_or_else(|| panic!("a list: {dashboards}"))
        .iter()
        .filter_map(|d| d["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["overview"], "{dashboards}");

    // The same two reads without the token are refused.
    for path in [
        "/api/v1/projects/observability",
        "/api/v1/projects/observability/dashboards",
    ] {
        let response = anonymous().get(pharos.url(path)).send().await.unwrap();
        assert_unauthorized(path, response).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protected_routes_need_a_token_and_anonymous_routes_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let sample = || write_body(&[(vec![("__name__", "auth_probe".to_owned())], now_ms, 1.0)]);
    let write = |client: &reqwest::Client| {
        client
            .post(pharos.url("/api/v1/write"))
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "snappy")
            .header("x-prometheus-remote-write-version", "0.1.0")
            .body(sample())
    };
    let proxy = "/proxy/globaldatasources/local/api/v1/query?query=up";

    // Without a token: 401 everywhere, with a message.
    let nobody = anonymous();
    for path in ["/api/v1/projects", "/api/v1/query?query=up", proxy] {
        let response = nobody.get(pharos.url(path)).send().await.unwrap();
        assert_unauthorized(path, response).await;
    }
    assert_unauthorized("/api/v1/write", write(&nobody).send().await.unwrap()).await;
    // Nothing was written by the refused request.
    let admin = pharos.client();
    let (status, series) = get(&admin, &pharos.url("/api/v1/series?match[]=auth_probe")).await;
    assert_eq!(status, StatusCode::OK, "{series}");
    assert_eq!(series["data"], json!([]), "{series}");

    // With the token: the same requests are served.
    let (status, body) = get(&admin, &pharos.url("/api/v1/projects")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = get(&admin, &pharos.url("/api/v1/query?query=up")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success", "{body}");
    let status = write(&admin).send().await.unwrap().status();
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = get(&admin, &pharos.url(proxy)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "success", "{body}");

    // Anonymous routes stay anonymous.
    for path in [
        "/health",
        "/ready",
        "/live",
        "/api/v1/health",
        "/metrics",
        "/api/config",
        "/",
    ] {
        let response = nobody.get(pharos.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path} without a token");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_and_forged_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;

    // A wrong password and an unknown user get the same answer.
    let wrong_password = login(&pharos, ADMIN_LOGIN, "not-the-password").await;
    let unknown_user = login(&pharos, "nobody", ADMIN_PASSWORD).await;
    for (status, body) in [&wrong_password, &unknown_user] {
        assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(*body, json!({"message": WRONG_CREDENTIALS}));
    }
    // The right one still works after them.
    let (status, body) = login(&pharos, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let (access, _) = tokens(status, &body);
    assert_eq!(whoami(&pharos, &access).await, ADMIN_LOGIN);

    let segments: Vec<&str> = access.split('.').collect();
    assert_eq!(segments.len(), 3, "a JWT: {access}");
    let url = pharos.url("/api/v1/projects");

    // One character changed, in the payload and in the signature.
    for (segment, at) in [(1, segments[1].len() / 2), (2, 0)] {
        let mut forged: Vec<String> = segments.iter().map(|s| (*s).to_owned()).collect();
        let original = forged[segment].as_bytes()[at];
        let replacement = if original == b'A' { "B" } else { "A" };
        forged[segment].replace_range(at..=at, replacement);
        let forged = forged.join(".");
        assert_ne!(forged, access);
        let response = with_token(&forged).get(&url).send().await.unwrap();
        assert_unauthorized(&format!("segment {segment} changed"), response).await;
    }

    // The same claims, unsigned (`alg: none`), with and without the trailing dot.
    let header = base64url(br#"{"alg":"none","typ":"JWT"}"#);
    for unsigned in [
        format!("{header}.{}.", segments[1]),
        format!("{header}.{}", segments[1]),
    ] {
        let response = with_token(&unsigned).get(&url).send().await.unwrap();
        assert_unauthorized("alg none", response).await;
    }

    // The genuine token still works (the refusals above were about the forgeries).
    let (status, body) = get(&with_token(&access), &url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_gives_a_working_token_until_logout() {
    let dir = tempfile::tempdir().unwrap();
    let pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;
    let (status, body) = login(&pharos, ADMIN_LOGIN, ADMIN_PASSWORD).await;
    let (access, refresh_token) = tokens(status, &body);

    // A second later, so the new token's times differ from the first one's.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = refresh(&pharos, &refresh_token).await;
    let (renewed, same_refresh) = tokens(status, &body);
    assert_ne!(renewed, access, "a new access token");
    assert_eq!(same_refresh, refresh_token, "the same refresh token");
    assert_eq!(whoami(&pharos, &renewed).await, ADMIN_LOGIN);

    // Neither an access token nor garbage is a refresh token.
    for (what, not_a_refresh_token) in [("the access token", access.as_str()), ("junk", "x.y.z")] {
        let (status, body) = refresh(&pharos, not_a_refresh_token).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    }

    // Logout ends this session: its refresh token is refused from now on.
    let response = with_token(&renewed)
        .get(pharos.url("/api/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/")
    );
    let (status, body) = refresh(&pharos, &refresh_token).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].is_string(), "{body}");

    // Only that session: the harness's own login still refreshes.
    let harness = pharos.tokens.as_ref().unwrap();
    let (status, body) = refresh(&pharos, &harness.refresh_token).await;
    tokens(status, &body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_disabled_needs_no_token_by_flag_or_environment() {
    for (args, env) in [
        (&["--no-demo", "--auth", "disabled"][..], &[][..]),
        (&["--no-demo"][..], &[("PHAROS_AUTH", "disabled")][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let pharos = Pharos::spawn_custom(dir.path(), args, env, Login::None).await;
        let nobody = anonymous();
        let (status, config) = get(&nobody, &pharos.url("/api/config")).await;
        assert_eq!(status, StatusCode::OK, "{config}");
        assert_eq!(
            config["security"]["enable_auth"], false,
            "{args:?} {env:?}: {config}"
        );

        let (status, body) = get(&nobody, &pharos.url("/api/v1/projects")).await;
        assert_eq!(status, StatusCode::OK, "{args:?} {env:?}: {body}");
        let (status, body) = post_json(
            &nobody,
            &pharos.url("/api/v1/projects"),
            &json!({"kind": "Project", "metadata": {"name": "open"}, "spec": {}}),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{args:?} {env:?}: {body}");
        let (status, body) = get(&nobody, &pharos.url("/api/v1/query?query=1")).await;
        assert_eq!(status, StatusCode::OK, "{args:?} {env:?}: {body}");
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        let body = write_body(&[(vec![("__name__", "open_write".to_owned())], now_ms, 1.0)]);
        let status = support::remote_write(&nobody, &pharos.url("/api/v1/write"), body).await;
        assert_eq!(status, Some(204), "{args:?} {env:?}");
    }
}

/// Unpadded base64url (RFC 4648 §5), as in JWTs.
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

#[test]
fn base64url_matches_the_rfc_examples() {
    assert_eq!(base64url(b""), "");
    assert_eq!(base64url(b"f"), "Zg");
    assert_eq!(base64url(b"fo"), "Zm8");
    assert_eq!(base64url(b"foo"), "Zm9v");
    assert_eq!(base64url(b"foob"), "Zm9vYg");
    assert_eq!(base64url(b"fooba"), "Zm9vYmE");
    assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
    assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
}
