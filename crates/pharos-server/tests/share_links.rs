//! Share links over the real router, on SQLite and PostgreSQL: a link opens one dashboard
//! with its variables and range, runs only that dashboard's queries (tenant-enforced) and
//! nothing else, expires, is revoked, keeps to its IP ranges, and is audited.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

const QUERY: &str =
    r#"sum by (pod) (rate(http_requests_total{namespace="$ns", pod=~"$pod"}[$__rate_interval]))"#;

fn dashboard() -> Value {
    json!({"kind": "Dashboard", "metadata": {"name": "web"}, "spec": {
        "duration": "1h",
        "variables": [
            {"kind": "ListVariable", "spec": {"name": "ns", "defaultValue": "team-a",
                "plugin": {"kind": "StaticListVariable", "spec": {"values": ["team-a"]}}}},
            {"kind": "ListVariable", "spec": {"name": "pod", "allowMultiple": true,
                "plugin": {"kind": "StaticListVariable", "spec": {"values": ["a", "b", "c"]}}}}
        ],
        "panels": {"p": {"kind": "Panel", "spec": {"display": {"name": "Requests"},
            "plugin": {"kind": "TimeSeriesChart", "spec": {}},
            "queries": [{"kind": "TimeSeriesQuery", "spec": {"plugin": {"kind": "PrometheusTimeSeriesQuery",
                "spec": {"query": QUERY, "datasource": {"kind": "PrometheusDatasource", "name": "prom"}}}}}]}}},
        "layouts": []
    }})
}

/// team-a (restricted to namespace team-a) with a datasource at a recording upstream and the
/// dashboard; returns the link's secret.
async fn shared_dashboard(app: &common::TestApp, extra: Value) -> (String, Value) {
    let upstream = common::recording_upstream().await;
    app.project("team-a", &["team-a"]).await;
    let datasource = json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"default": true,
        "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream}}}}}});
    assert_eq!(
        app.post("/api/v1/projects/team-a/datasources", datasource)
            .await
            .status,
        StatusCode::OK
    );
    let created = app
        .post("/api/v1/projects/team-a/dashboards", dashboard())
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let mut body = json!({"expires_in": 3600, "variables": {"pod": ["a", "b"]}, "time_range": {"pastDuration": "6h"}});
    if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
        body.extend(extra.clone());
    }
    let share = app
        .send(
            Method::POST,
            "/api/v1/projects/team-a/dashboards/web/share",
            Some(body),
            &[("host", "pharos.example:8080")],
        )
        .await;
    assert_eq!(share.status, StatusCode::OK, "{}", share.text);
    let url = share.body["share_url"].as_str().unwrap();
    assert!(
        url.starts_with("http://pharos.example:8080/shared/phs_"),
        "{url}"
    );
    (url.rsplit('/').next().unwrap().to_owned(), share.body)
}

both_backends!(
    a_link_runs_only_its_dashboards_queries,
    |app: common::TestApp| async move {
        let (secret, _) = shared_dashboard(&app, json!({})).await;
        // Opening needs no login and gives the dashboard with the shared variables and range.
        let opened = app
            .anonymous(Method::GET, &format!("/api/v1/shared/{secret}"), None)
            .await;
        assert_eq!(opened.status, StatusCode::OK, "{}", opened.text);
        assert_eq!(opened.body["dashboard"]["metadata"]["name"], "web");
        assert_eq!(opened.body["variables"], json!({"pod": ["a", "b"]}));
        assert_eq!(opened.body["time_range"], json!({"pastDuration": "6h"}));

        // The panel's query with the shared values runs, through the tenant enforcement.
        let allowed =
            r#"sum by (pod) (rate(http_requests_total{namespace="team-a", pod=~"(a|b)"}[1m0s]))"#;
        let path = format!("/proxy/shared/{secret}/api/v1/query_range");
        let ran = app
            .anonymous(
                Method::GET,
                &format!("{path}?query={}&start=1&end=2&step=1", urlencode(allowed)),
                None,
            )
            .await;
        assert_eq!(ran.status, StatusCode::OK, "{}", ran.text);
        assert_eq!(common::echo(&ran)["path"], "/api/v1/query_range");
        let sent = common::forwarded_params(&ran);
        let upstream_query = &sent.iter().find(|(k, _)| k == "query").unwrap().1;
        assert!(
            upstream_query.contains(r#"namespace="team-a""#),
            "{upstream_query}"
        );
        assert!(
            sent.contains(&("step".to_owned(), "1".to_owned())),
            "{sent:?}"
        );
        // As a form POST too.
        let posted = app
            .send(
                Method::POST,
                &path,
                None,
                &[
                    ("authorization", ""),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
            )
            .await;
        assert_eq!(
            posted.status,
            StatusCode::BAD_REQUEST,
            "no query: {}",
            posted.text
        );

        // Anything else is refused: other PromQL, other variable values, other routes.
        for hostile in [
            "up",
            r#"sum by (pod) (rate(http_requests_total{namespace="team-b", pod=~"(a|b)"}[1m0s]))"#,
            r#"sum by (pod) (rate(http_requests_total{namespace="team-a", pod=~".+"}[1m0s]))"#,
            r#"sum by (pod) (rate(http_requests_total{namespace="team-a", pod=~"(a|b)"}[1m0s])) or secret_total"#,
        ] {
            let refused = app
                .anonymous(
                    Method::GET,
                    &format!("{path}?query={}", urlencode(hostile)),
                    None,
                )
                .await;
            assert_eq!(
                refused.status,
                StatusCode::FORBIDDEN,
                "{hostile}: {}",
                refused.text
            );
        }
        for other in [
            "api/v1/series?match[]=up",
            "api/v1/labels",
            "api/v1/label/namespace/values",
        ] {
            let refused = app
                .anonymous(
                    Method::GET,
                    &format!("/proxy/shared/{secret}/{other}"),
                    None,
                )
                .await;
            assert!(
                refused.status.is_client_error(),
                "{other}: {}",
                refused.text
            );
            assert_ne!(refused.status, StatusCode::OK);
        }
        // The secret opens nothing else: not the API, not the project.
        let as_bearer = app
            .send_as(
                &secret,
                Method::GET,
                "/api/v1/projects/team-a/dashboards",
                None,
            )
            .await;
        assert_eq!(
            as_bearer.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            as_bearer.text
        );
    }
);

both_backends!(
    links_are_listed_revoked_and_expire,
    |app: common::TestApp| async move {
        let (secret, share) = shared_dashboard(&app, json!({})).await;
        let listed = app
            .get("/api/v1/projects/team-a/dashboards/web/share")
            .await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        assert_eq!(listed.body[0]["token_id"], share["token_id"]);
        assert_eq!(listed.body[0]["created_by"], "admin");
        assert!(!listed.text.contains(&secret), "the secret is never listed");
        let id = share["token_id"].as_str().unwrap();
        let revoked = app
            .delete(&format!(
                "/api/v1/projects/team-a/dashboards/web/share/{id}"
            ))
            .await;
        assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{}", revoked.text);
        let gone = app
            .anonymous(Method::GET, &format!("/api/v1/shared/{secret}"), None)
            .await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
        let query = app
            .anonymous(
                Method::GET,
                &format!("/proxy/shared/{secret}/api/v1/query?query=up"),
                None,
            )
            .await;
        assert_eq!(query.status, StatusCode::NOT_FOUND);
        let unknown = app
            .anonymous(Method::GET, "/api/v1/shared/phs_not-a-real-one", None)
            .await;
        assert_eq!(unknown.status, StatusCode::NOT_FOUND);
        // Expiry: a link whose time is up answers 410 (the row's expiry moved into the past).
        let (secret, share) = {
            let again = app
                .post(
                    "/api/v1/projects/team-a/dashboards/web/share",
                    json!({"expires_in": 60}),
                )
                .await;
            assert_eq!(again.status, StatusCode::OK, "{}", again.text);
            (
                again.body["share_url"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                again.body,
            )
        };
        let store = app.state.resources.store();
        let mut row = store
            .credential_by_digest(
                pharos_store::CredentialKind::Share,
                &pharos_auth::opaque::digest(&secret),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.id, share["token_id"].as_str().unwrap());
        store
            .revoke_credential(
                pharos_store::CredentialKind::Share,
                &row.id,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        row.id = format!("{}x", row.id);
        row.digest = pharos_auth::opaque::digest("phs_expired");
        row.revoked_at = None;
        row.expires_at = Some(chrono::Utc::now() - chrono::TimeDelta::seconds(1));
        store.create_credential(&row).await.unwrap();
        let expired = app
            .anonymous(Method::GET, "/api/v1/shared/phs_expired", None)
            .await;
        // `phs_expired` is not shaped like a secret, so it is unknown (404) — and a real one past
        // its expiry is 410:
        assert_eq!(expired.status, StatusCode::NOT_FOUND);
        let secret = pharos_auth::opaque::issue("phs").secret;
        row.id = format!("{}y", row.id);
        row.digest = pharos_auth::opaque::digest(&secret);
        store.create_credential(&row).await.unwrap();
        let expired = app
            .anonymous(Method::GET, &format!("/api/v1/shared/{secret}"), None)
            .await;
        assert_eq!(expired.status, StatusCode::GONE, "{}", expired.text);

        // Bad requests change nothing.
        for (body, needle) in [
            (json!({"expires_in": 8 * 86400}), "expires_in"),
            (
                json!({"ip_restrictions": ["10.0.0.0/99"]}),
                "ip_restrictions[0]",
            ),
            (
                json!({"time_range": {"pastDuration": "soon"}}),
                "time_range",
            ),
            (json!({"variables": {"pod": 3}}), "variables.pod"),
        ] {
            let refused = app
                .post("/api/v1/projects/team-a/dashboards/web/share", body)
                .await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
            assert!(
                refused.message().contains(needle),
                "{needle}: {}",
                refused.text
            );
        }
    }
);

both_backends!(
    links_keep_to_their_networks_and_owners,
    |app: common::TestApp| async move {
        // In-process requests have no client address, so a restricted link refuses them.
        let (secret, _) = shared_dashboard(&app, json!({"ip_restrictions": ["10.0.0.0/8"]})).await;
        let refused = app
            .anonymous(Method::GET, &format!("/api/v1/shared/{secret}"), None)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
        // Only users with the share permission on the project create or list links.
        let viewer = app.user("viv").await;
        let bound = app
            .post(
                "/api/v1/projects/team-a/rolebindings",
                json!({"kind": "RoleBinding", "metadata": {"name": "viv"},
            "spec": {"role": "viewer", "subjects": [{"kind": "User", "name": "viv"}]}}),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK);
        let denied = app
            .send_as(
                &viewer,
                Method::POST,
                "/api/v1/projects/team-a/dashboards/web/share",
                Some(json!({})),
            )
            .await;
        assert_eq!(denied.status, StatusCode::FORBIDDEN, "{}", denied.text);
        let stranger = app.user("stan").await;
        let hidden = app
            .send_as(
                &stranger,
                Method::GET,
                "/api/v1/projects/team-a/dashboards/web/share",
                None,
            )
            .await;
        assert!(
            hidden.status.is_client_error() && hidden.status != StatusCode::FORBIDDEN,
            "{}",
            hidden.text
        );
        // Use is audited.
        let audit = app.get("/api/v1/audit/logs?resource=share").await;
        let entries = audit.body["entries"].as_array().unwrap();
        assert!(
            entries
                .iter()
                .any(|e| e["action"] == "use" && e["status"] == 403),
            "{}",
            audit.text
        );
    }
);

#[tokio::test]
async fn at_most_ten_new_links_per_dashboard_and_hour() {
    let app = common::TestApp::new(common::Backend::Sqlite, Default::default())
        .await
        .unwrap();
    shared_dashboard(&app, json!({})).await;
    for _ in 1..10 {
        let made = app
            .post("/api/v1/projects/team-a/dashboards/web/share", json!({}))
            .await;
        assert_eq!(made.status, StatusCode::OK, "{}", made.text);
    }
    let eleventh = app
        .post("/api/v1/projects/team-a/dashboards/web/share", json!({}))
        .await;
    assert_eq!(
        eleventh.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        eleventh.text
    );
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
