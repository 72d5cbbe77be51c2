//! External logins against a fake OpenID Connect provider speaking the real protocol on a
//! socket: the browser's authorization-code flow with PKCE (the test plays the browser,
//! following the redirects and carrying the cookies), bearer JWTs checked against the JWKS
//! (rotation, expiry, audience, `alg: none`, algorithm confusion), user sync without
//! account takeover, and the same provider used as a plain OAuth 2.0 provider.

mod common;

use axum::http::{Method, StatusCode};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use common::{Answer, Backend, TestApp};
use pharos_fakes::idp::{FakeIdp, FakeUser};
use pharos_server::{
    ServerSettings,
    config::{OAuthProvider, OidcProvider},
};
use serde_json::{Value, json};

const CLIENT: &str = "pharos";
const SECRET: &str = "client-secret-1";
const HOST: &str = "pharos.test:8080";

fn settings(idp: &FakeIdp) -> ServerSettings {
    let mut settings = ServerSettings::default();
    settings.security.providers.oidc.push(OidcProvider {
        slug_id: "corp".to_owned(),
        name: "Corporate SSO".to_owned(),
        issuer: idp.issuer().to_owned(),
        discovery_url: None,
        client_id: CLIENT.to_owned(),
        client_secret: SECRET.to_owned(),
        redirect_uri: None,
        scopes: vec![
            "openid".to_owned(),
            "profile".to_owned(),
            "email".to_owned(),
        ],
        disable_pkce: false,
        url_params: Default::default(),
        login_claim: None,
        groups_claim: None,
    });
    settings.security.providers.oauth.push(OAuthProvider {
        slug_id: "hub".to_owned(),
        name: "Code Hub".to_owned(),
        client_id: CLIENT.to_owned(),
        client_secret: SECRET.to_owned(),
        auth_url: format!("{}/authorize", idp.issuer()),
        token_url: format!("{}/token", idp.issuer()),
        user_infos_url: format!("{}/userinfo", idp.issuer()),
        redirect_uri: None,
        // The fake insists on `openid`, as many OIDC servers do for their OAuth clients too.
        scopes: vec!["openid".to_owned()],
        custom_login_property: None,
    });
    settings
}

async fn app_with_idp(backend: Backend) -> Option<(TestApp, FakeIdp)> {
    let idp = FakeIdp::start(CLIENT, SECRET).await.expect("fake idp");
    let app = TestApp::new(backend, settings(&idp)).await?;
    Some((app, idp))
}

fn set_cookies(answer: &Answer) -> Vec<String> {
    answer
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_owned)
        .collect()
}

fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies.iter().find_map(|line| {
        let pair = line.split(';').next()?;
        let (key, value) = pair.split_once('=')?;
        (key == name && !value.is_empty()).then(|| value.to_owned())
    })
}

fn location(answer: &Answer) -> String {
    answer
        .headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The browser: asks Pharos to log in, follows the redirect to the provider, and returns the
/// provider's redirect back (the callback URL) plus the flow cookie Pharos set.
async fn start_login(app: &TestApp, kind: &str, slug: &str, rd: &str) -> (String, String) {
    let started = app
        .send(
            Method::GET,
            &format!("/api/auth/providers/{kind}/{slug}/login?rd={rd}"),
            None,
            &[("authorization", ""), ("host", HOST)],
        )
        .await;
    assert_eq!(started.status, StatusCode::FOUND, "{}", started.text);
    let to_provider = location(&started);
    let flow_cookie = cookie_value(&set_cookies(&started), "pharosLoginFlow").expect("flow cookie");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let at_provider = client.get(&to_provider).send().await.expect("authorize");
    assert_eq!(at_provider.status(), reqwest::StatusCode::SEE_OTHER);
    let callback = at_provider
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("redirect back")
        .to_owned();
    (callback, flow_cookie)
}

/// Delivers the provider's redirect to Pharos with the flow cookie.
async fn finish_login(app: &TestApp, callback: &str, flow_cookie: &str) -> Answer {
    let url = url::Url::parse(callback).expect("callback URL");
    assert_eq!(
        url.host_str(),
        Some("pharos.test"),
        "redirect_uri follows the Host"
    );
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    app.send(
        Method::GET,
        &path,
        None,
        &[
            ("authorization", ""),
            ("host", HOST),
            ("cookie", &format!("pharosLoginFlow={flow_cookie}")),
        ],
    )
    .await
}

async fn as_bearer(app: &TestApp, token: String) -> Answer {
    app.send(
        Method::GET,
        "/api/v1/user/whoami",
        None,
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

async fn whoami_with_cookies(app: &TestApp, cookies: &[String]) -> Answer {
    let payload = cookie_value(cookies, "jwtPayload").expect("payload cookie");
    let signature = cookie_value(cookies, "jwtSignature").expect("signature cookie");
    app.send(
        Method::GET,
        "/api/v1/user/whoami",
        None,
        &[
            ("authorization", ""),
            (
                "cookie",
                &format!("jwtPayload={payload}; jwtSignature={signature}"),
            ),
        ],
    )
    .await
}

async fn oidc_login_creates_the_user_and_opens_a_session(backend: Backend) {
    let Some((app, idp)) = app_with_idp(backend).await else {
        return;
    };
    let (callback, flow) = start_login(&app, "oidc", "corp", "/projects/ml").await;
    assert!(
        callback.contains("code=") && callback.contains("state="),
        "{callback}"
    );
    let done = finish_login(&app, &callback, &flow).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.text);
    assert_eq!(location(&done), "/projects/ml");
    let cookies = set_cookies(&done);
    let me = whoami_with_cookies(&app, &cookies).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["metadata"]["name"], "alice");
    let links = &me.body["spec"]["oauthProviders"];
    assert_eq!(links[0]["issuer"], idp.issuer());
    assert_eq!(links[0]["email"], "alice@example.test");
    // The client used PKCE and the provider checked it.
    assert_eq!(idp.verifiers().len(), 1);
    assert_eq!(idp.verifiers()[0].len(), 43);
    // The flow cookie is cleared, and the refresh token works like a native one.
    assert!(
        set_cookies(&done)
            .iter()
            .any(|c| c.starts_with("pharosLoginFlow=;"))
    );
    let refresh = cookie_value(&cookies, "jwtRefreshToken").expect("refresh cookie");
    let refreshed = app
        .anonymous(
            Method::POST,
            "/api/auth/refresh",
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    // A second login of the same person finds the same user.
    let (callback, flow) = start_login(&app, "oidc", "corp", "/").await;
    let again = finish_login(&app, &callback, &flow).await;
    assert_eq!(location(&again), "/");
    let users = app.get("/api/v1/users").await;
    let names: Vec<&str> = users
        .body
        .as_array()
        .expect("users")
        .iter()
        .filter_map(|u| u["metadata"]["name"].as_str())
        .collect();
    assert_eq!(
        names.iter().filter(|n| **n == "alice").count(),
        1,
        "{names:?}"
    );
    // The audit log has the login with its provider.
    let audit = app.get("/api/v1/audit/logs?user=alice&action=login").await;
    let entries = audit
        .body
        .get("entries")
        .or(Some(&audit.body))
        .cloned()
        .unwrap_or(Value::Null);
    assert!(audit.text.contains("oidc/corp"), "audit: {}", audit.text);
    assert!(!entries.is_null());
}

#[tokio::test]
async fn oidc_login_creates_the_user_and_opens_a_session_sqlite() {
    oidc_login_creates_the_user_and_opens_a_session(Backend::Sqlite).await;
}

#[tokio::test]
async fn oidc_login_creates_the_user_and_opens_a_session_postgres() {
    oidc_login_creates_the_user_and_opens_a_session(Backend::Postgres).await;
}

#[tokio::test]
async fn a_forged_replayed_or_foreign_callback_opens_no_session() {
    let (app, idp) = app_with_idp(Backend::Sqlite).await.expect("app");
    let (callback, flow) = start_login(&app, "oidc", "corp", "/").await;
    // Another browser (no flow cookie) cannot use the code.
    let url = url::Url::parse(&callback).expect("url");
    let path = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    let stolen = app
        .send(
            Method::GET,
            &path,
            None,
            &[("authorization", ""), ("host", HOST)],
        )
        .await;
    assert_eq!(stolen.status, StatusCode::FOUND);
    assert!(
        location(&stolen).starts_with("/login?error="),
        "{}",
        location(&stolen)
    );
    assert!(cookie_value(&set_cookies(&stolen), "jwtPayload").is_none());
    // A tampered state is refused.
    let forged = callback.replace("state=", "state=x");
    let refused = finish_login(&app, &forged, &flow).await;
    assert!(
        location(&refused).contains("state+mismatch"),
        "{}",
        location(&refused)
    );
    assert!(cookie_value(&set_cookies(&refused), "jwtPayload").is_none());
    // A tampered cookie is refused.
    let refused = finish_login(&app, &callback, &format!("{flow}x")).await;
    assert!(location(&refused).starts_with("/login?error="));
    // The genuine pair works once; the provider refuses the code the second time.
    let ok = finish_login(&app, &callback, &flow).await;
    assert!(
        cookie_value(&set_cookies(&ok), "jwtPayload").is_some(),
        "{}",
        location(&ok)
    );
    let replay = finish_login(&app, &callback, &flow).await;
    assert!(
        location(&replay).contains("invalid_grant"),
        "{}",
        location(&replay)
    );
    assert!(cookie_value(&set_cookies(&replay), "jwtPayload").is_none());
    // The provider's own refusal is shown.
    let denied = app
        .send(
            Method::GET,
            "/api/auth/providers/oidc/corp/callback?error=access_denied&error_description=user+cancelled",
            None,
            &[("authorization", ""), ("cookie", &format!("pharosLoginFlow={flow}"))],
        )
        .await;
    assert!(
        location(&denied).contains("access_denied"),
        "{}",
        location(&denied)
    );
    // Unknown providers are 404 with a hint.
    let unknown = app
        .anonymous(Method::GET, "/api/auth/providers/oidc/nope/login", None)
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(
        unknown.message().contains("security.providers.oidc"),
        "{}",
        unknown.text
    );
    // Failures are audited.
    let audit = app.get("/api/v1/audit/logs?action=login").await;
    assert!(audit.text.contains("state mismatch"), "{}", audit.text);
    assert_eq!(
        idp.token_requests(),
        2,
        "only the genuine callbacks reach the provider"
    );
}

#[tokio::test]
async fn an_existing_native_user_is_never_taken_over_by_a_provider() {
    let (app, idp) = app_with_idp(Backend::Sqlite).await.expect("app");
    let _ = app.user("bob").await;
    idp.set_user(FakeUser::named("bob"));
    let (callback, flow) = start_login(&app, "oidc", "corp", "/").await;
    let refused = finish_login(&app, &callback, &flow).await;
    assert!(
        location(&refused).contains("already+exists"),
        "{}",
        location(&refused)
    );
    assert!(cookie_value(&set_cookies(&refused), "jwtPayload").is_none());
    let bearer = app
        .send(
            Method::GET,
            "/api/v1/user/whoami",
            None,
            &[(
                "authorization",
                &format!("Bearer {}", idp.token_for(&FakeUser::named("bob"))),
            )],
        )
        .await;
    assert_eq!(bearer.status, StatusCode::FORBIDDEN, "{}", bearer.text);
    assert!(
        bearer.message().contains("spec.oauthProviders"),
        "{}",
        bearer.text
    );
}

#[tokio::test]
async fn bearer_tokens_are_checked_against_the_rotating_jwks() {
    let (app, idp) = app_with_idp(Backend::Sqlite).await.expect("app");
    let carol = FakeUser::named("carol");
    let ok = as_bearer(&app, idp.token_for(&carol)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    assert_eq!(ok.body["metadata"]["name"], "carol");
    let fetches = idp.jwks_requests();
    // Cached: a second request does not fetch the keys again.
    assert_eq!(
        as_bearer(&app, idp.token_for(&carol)).await.status,
        StatusCode::OK
    );
    assert_eq!(idp.jwks_requests(), fetches);

    let old_token = idp.token_for(&carol);
    idp.rotate_key(false);
    // An unknown key id makes Pharos refetch the keys, at most once a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let rotated = as_bearer(&app, idp.token_for(&carol)).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_eq!(
        idp.jwks_requests(),
        fetches + 1,
        "one refetch for the new key"
    );
    let retired = as_bearer(&app, old_token).await;
    assert_eq!(retired.status, StatusCode::UNAUTHORIZED, "{}", retired.text);
    assert!(
        retired.message().contains("no key with id"),
        "{}",
        retired.text
    );

    let mut claims = idp.claims_for(&carol);
    claims["exp"] = json!(pharos_fakes::idp::now() - 3600);
    let expired = as_bearer(&app, idp.sign(&claims)).await;
    assert_eq!(expired.status, StatusCode::UNAUTHORIZED);
    assert!(expired.message().contains("expired"), "{}", expired.text);

    let mut claims = idp.claims_for(&carol);
    claims["aud"] = json!("another-client");
    let foreign = as_bearer(&app, idp.sign(&claims)).await;
    assert_eq!(foreign.status, StatusCode::UNAUTHORIZED);
    assert!(foreign.message().contains("audience"), "{}", foreign.text);

    // alg: none, with the issuer of a configured provider.
    let claims = idp.claims_for(&carol);
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none", "typ": "JWT"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let none = as_bearer(&app, unsigned).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(
        none.message().contains("\"none\" is not accepted"),
        "{}",
        none.text
    );
    // HS256 "signed" with the published key: refused before any key is used.
    let confused = idp.sign_with_header(&json!({"alg": "HS256", "kid": "key-101"}), &claims);
    let hs = as_bearer(&app, confused).await;
    assert_eq!(hs.status, StatusCode::UNAUTHORIZED);
    assert!(hs.message().contains("HS256"), "{}", hs.text);
    // A flipped signature byte.
    let token = idp.token_for(&carol);
    let (head, signature) = token.rsplit_once('.').expect("jwt");
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).expect("b64");
    bytes[10] ^= 1;
    let tampered = as_bearer(&app, format!("{head}.{}", URL_SAFE_NO_PAD.encode(bytes))).await;
    assert_eq!(tampered.status, StatusCode::UNAUTHORIZED);
    assert!(
        tampered.message().contains("signature"),
        "{}",
        tampered.text
    );
}

#[tokio::test]
async fn provider_users_get_exactly_the_projects_they_are_bound_to() {
    let (app, idp) = app_with_idp(Backend::Sqlite).await.expect("app");
    app.project("ml", &[]).await;
    app.project("finance", &[]).await;
    let dave = FakeUser::named("dave");
    let bearer = format!("Bearer {}", idp.token_for(&dave));
    let as_dave = |path: &'static str| {
        let bearer = bearer.clone();
        let app = &app;
        async move {
            app.send(Method::GET, path, None, &[("authorization", &bearer)])
                .await
        }
    };
    // Signed in, but no project yet.
    let none = as_dave("/api/v1/projects").await;
    assert_eq!(none.status, StatusCode::OK);
    assert_eq!(none.body, json!([]));
    let binding = app
        .post(
            "/api/v1/projects/ml/rolebindings",
            json!({"kind": "RoleBinding", "metadata": {"name": "dave-viewer", "project": "ml"},
                   "spec": {"role": "viewer", "subjects": [{"kind": "User", "name": "dave"}]}}),
        )
        .await;
    assert_eq!(binding.status, StatusCode::OK, "{}", binding.text);
    let listed = as_dave("/api/v1/projects").await;
    let names: Vec<&str> = listed
        .body
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    assert_eq!(names, ["ml"]);
    // Another project answers exactly as one that does not exist.
    let hidden = as_dave("/api/v1/projects/finance/dashboards").await;
    let missing = as_dave("/api/v1/projects/nowhere/dashboards").await;
    assert_eq!(hidden.status, missing.status, "{}", hidden.text);
    assert_eq!(hidden.text, missing.text.replace("nowhere", "finance"));
    assert_eq!(
        as_dave("/api/v1/projects/ml/dashboards").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_plain_oauth_provider_names_the_user_from_its_user_info() {
    let (app, idp) = app_with_idp(Backend::Sqlite).await.expect("app");
    idp.set_user(FakeUser::named("erin"));
    let (callback, flow) = start_login(&app, "oauth", "hub", "/preferences").await;
    let done = finish_login(&app, &callback, &flow).await;
    assert_eq!(location(&done), "/preferences", "{}", location(&done));
    let me = whoami_with_cookies(&app, &set_cookies(&done)).await;
    assert_eq!(me.body["metadata"]["name"], "erin", "{}", me.text);
    let link = &me.body["spec"]["oauthProviders"][0];
    assert_eq!(link["subject"], "sub-erin-4", "{}", me.text);
    assert_eq!(link["issuer"], format!("{}/authorize", idp.issuer()));
}

#[tokio::test]
async fn the_config_lists_providers_without_their_secrets() {
    let (app, _idp) = app_with_idp(Backend::Sqlite).await.expect("app");
    let config = app.anonymous(Method::GET, "/api/config", None).await;
    let providers = &config.body["security"]["authentication"]["providers"];
    assert_eq!(providers["enable_native"], true);
    assert_eq!(
        providers["oidc"],
        json!([{"slug_id": "corp", "name": "Corporate SSO"}])
    );
    assert_eq!(
        providers["oauth"],
        json!([{"slug_id": "hub", "name": "Code Hub"}])
    );
    assert!(!config.text.contains(SECRET));
}

/// The provider's `groups` claim makes a user an owner of services owned by `group:<name>`:
/// through a browser login (and after a refresh) and with the provider's ID token as bearer.
#[tokio::test]
async fn group_claims_make_users_owners_of_their_groups_services() {
    let (app, idp) = app_with_idp(Backend::Sqlite).await.expect("app");
    let put = app
        .put(
            "/api/services/checkout",
            json!({"owners": ["group:payments"]}),
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    let gina = FakeUser {
        groups: vec!["staff".to_owned(), "payments".to_owned()],
        ..FakeUser::named("gina")
    };
    idp.set_user(gina.clone());
    let (callback, flow) = start_login(&app, "oidc", "corp", "/services").await;
    let done = finish_login(&app, &callback, &flow).await;
    assert_eq!(done.status, StatusCode::FOUND, "{}", done.text);
    let cookies = set_cookies(&done);
    let owned_ids = |answer: &Answer| -> Vec<String> {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let with_token = |token: String| {
        let app = &app;
        async move {
            app.send(
                Method::GET,
                "/api/services/owned",
                None,
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await
        }
    };
    let refresh = cookie_value(&cookies, "jwtRefreshToken").expect("refresh cookie");
    let payload = cookie_value(&cookies, "jwtPayload").expect("payload cookie");
    let signature = cookie_value(&cookies, "jwtSignature").expect("signature cookie");
    let session = app
        .send(
            Method::GET,
            "/api/services/owned",
            None,
            &[
                ("authorization", ""),
                (
                    "cookie",
                    &format!("jwtPayload={payload}; jwtSignature={signature}"),
                ),
            ],
        )
        .await;
    assert_eq!(owned_ids(&session), ["checkout"]);
    assert_eq!(session.body[0]["owned"], true);
    assert_eq!(session.body[0]["can_edit"], true);
    // A refreshed access token keeps the groups of the login.
    let refreshed = app
        .anonymous(
            Method::POST,
            "/api/auth/refresh",
            Some(json!({"refresh_token": refresh})),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.text);
    let access = refreshed.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(owned_ids(&with_token(access).await), ["checkout"]);
    // The provider's own ID token as a bearer token.
    assert_eq!(
        owned_ids(&with_token(idp.token_for(&gina)).await),
        ["checkout"]
    );
    // Someone outside the group owns nothing and sees nothing.
    let hank = FakeUser {
        groups: vec!["staff".to_owned()],
        ..FakeUser::named("hank")
    };
    assert!(owned_ids(&with_token(idp.token_for(&hank)).await).is_empty());
    let all = app
        .send(
            Method::GET,
            "/api/services",
            None,
            &[("authorization", &format!("Bearer {}", idp.token_for(&hank)))],
        )
        .await;
    assert!(owned_ids(&all).is_empty());
}
