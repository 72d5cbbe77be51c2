//! The Pharos routes beyond the Perses resource API and the proxy, as one table: identity,
//! shares, live streams, templates, workloads, the fleet and the embedded store's rules. Path
//! parameters are read from the `{…}` in each path. A unit test checks that every route the
//! router mounts is in the document.

use serde_json::{Map, Value, json};

use super::error;

/// One operation: method, path, tag, summary, responses (status, description).
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const OK_JSON: (&str, &str) = ("200", "JSON answer");
const BAD: (&str, &str) = ("400", "bad input; the message says what to send");
const DENIED: (&str, &str) = (
    "403",
    "the caller lacks the permission named in the message",
);
const MISSING: (&str, &str) = ("404", "not found");
const PROM_OK: (&str, &str) = (
    "200",
    "Prometheus envelope {status, data, warnings?, infos?}; per-cluster status as warnings",
);
const FEDERATED_OK: (&str, &str) = (
    "200",
    "{status, data: {resultType, result}, clusters: {<name>: {status, latency_ms, error?}}, warnings?}",
);
const NO_CLUSTER: (&str, &str) = ("502", "no asked cluster answered (errorType unavailable)");

const IDENTITY: &str = "identity";
const SHARES: &str = "share links";
const LIVE: &str = "live";
const TEMPLATES: &str = "templates and import";
const FLEET: &str = "fleet";
const ASSISTANT: &str = "assistant";
const SLO: &str = "latency SLOs";
const FEDERATION: &str = "fleet federation";
const EMBEDDED: &str = "prometheus API (embedded store)";
const LOGS: &str = "log intake";

#[rustfmt::skip]
const ROWS: &[Row] = &[
    ("post", "/api/auth/providers/native/login", IDENTITY, "Log in with a native account ({login, password}); access and refresh tokens", &[OK_JSON, ("401", "wrong login or password"), ("429", "too many attempts")]),
    ("post", "/api/auth/refresh", IDENTITY, "A new access token from the refresh token", &[OK_JSON, ("401", "refresh token invalid or expired")]),
    ("get", "/api/auth/logout", IDENTITY, "Log out (clears the session cookies)", &[("200", "logged out")]),
    ("get", "/api/auth/providers/{kind}/{slug}/login", IDENTITY, "Start an OIDC/OAuth login (redirect to the provider)", &[("302", "to the provider"), MISSING]),
    ("get", "/api/auth/providers/{kind}/{slug}/callback", IDENTITY, "The provider's redirect back (code exchange, then the session)", &[("302", "into the UI"), BAD]),
    ("get", "/api/v1/user/whoami", IDENTITY, "The caller: name, provider, roles", &[OK_JSON, ("401", "not logged in")]),
    ("get", "/api/v1/users/{name}/permissions", IDENTITY, "A user's effective permissions per project", &[OK_JSON, DENIED]),
    ("get", "/api/v1/tokens", IDENTITY, "The caller's API tokens (never their secrets)", &[OK_JSON]),
    ("post", "/api/v1/tokens", IDENTITY, "Create an API token ({name, expires_in?}); the secret is shown once", &[OK_JSON, BAD]),
    ("delete", "/api/v1/tokens/{id}", IDENTITY, "Revoke an API token", &[("204", "revoked"), MISSING]),
    ("get", "/api/v1/preferences", IDENTITY, "The caller's preferences (theme, timezone, home dashboard, …)", &[OK_JSON]),
    ("put", "/api/v1/preferences", IDENTITY, "Replace the caller's preferences", &[OK_JSON, BAD]),
    ("get", "/api/v1/audit/logs", IDENTITY, "The audit log (filters: user, action, resource, project, from, to; paged)", &[OK_JSON, DENIED]),
    ("get", "/api/v1/projects/{project}/dashboards/{dashboard}/share", SHARES, "The dashboard's share links", &[OK_JSON, DENIED]),
    ("post", "/api/v1/projects/{project}/dashboards/{dashboard}/share", SHARES, "Create an expiring read-only share link ({expires_in})", &[OK_JSON, BAD, DENIED]),
    ("delete", "/api/v1/projects/{project}/dashboards/{dashboard}/share/{id}", SHARES, "Revoke a share link", &[("204", "revoked"), MISSING]),
    ("get", "/api/v1/shared/{token}", SHARES, "The shared dashboard (no login)", &[OK_JSON, ("404", "unknown"), ("410", "expired or revoked")]),
    ("get", "/proxy/shared/{token}/api/v1/query", SHARES, "An instant query of a shared dashboard's panel", &[PROM_OK, ("403", "not one of the dashboard's queries"), ("410", "expired or revoked")]),
    ("get", "/proxy/shared/{token}/api/v1/query_range", SHARES, "A range query of a shared dashboard's panel", &[PROM_OK, ("403", "not one of the dashboard's queries"), ("410", "expired or revoked")]),
    ("get", "/api/v1/projects/{project}/dashboards/{dashboard}/stream", LIVE, "Live panel answers (server-sent events) at the refresh interval", &[("200", "text/event-stream"), DENIED, ("429", "too many streams")]),
    ("get", "/api/v1/dashboards/{dashboard}/stream", LIVE, "The same for the one readable project that has this dashboard", &[("200", "text/event-stream"), MISSING, ("409", "several projects have it")]),
    ("get", "/api/v1/projects/{project}/dashboards/{dashboard}/alerts", LIVE, "Alert rules matched to the dashboard's panels, with pending/firing intervals", &[OK_JSON, DENIED]),
    ("get", "/api/v1/projects/{project}/dashboards/{name}/export", TEMPLATES, "The dashboard as a portable Perses document", &[OK_JSON, MISSING]),
    ("post", "/api/v1/projects/{project}/dashboards/{name}/clone", TEMPLATES, "Clone a dashboard ({project?, name})", &[("201", "the new dashboard"), BAD, DENIED]),
    ("get", "/api/v1/templates", TEMPLATES, "Dashboard templates (?category=, ?project=)", &[OK_JSON]),
    ("get", "/api/v1/templates/{id}", TEMPLATES, "One template with its variables", &[OK_JSON, MISSING]),
    ("post", "/api/v1/projects/{project}/dashboards/from-template", TEMPLATES, "Create a dashboard from a template ({template, name, variables})", &[("201", "the new dashboard"), BAD, DENIED]),
    ("post", "/api/migrate", TEMPLATES, "Convert a Grafana dashboard to Perses (?report=true lists what did not carry over)", &[OK_JSON, BAD]),
    ("get", "/api/v1/projects/{project}/workloads", TEMPLATES, "The project's AI workloads (model servers, training jobs, notebooks, pipelines)", &[OK_JSON, DENIED]),
    ("get", "/api/v1/clusters", FLEET, "List clusters (filters: type, status, region, label=k=v; limit, offset)", &[OK_JSON, BAD, DENIED]),
    ("post", "/api/v1/clusters", FLEET, "Register a cluster ({name, type, prometheus_url, alertmanager_url?, labels?, region?})", &[("201", "the cluster with status and capabilities"), BAD, DENIED, ("409", "already registered")]),
    ("get", "/api/v1/clusters/{id}", FLEET, "One cluster", &[OK_JSON, MISSING]),
    ("put", "/api/v1/clusters/{id}", FLEET, "Replace a cluster's spec", &[OK_JSON, BAD, MISSING]),
    ("delete", "/api/v1/clusters/{id}", FLEET, "Remove a cluster and its credentials", &[("204", "removed"), MISSING]),
    ("get", "/api/v1/clusters/{id}/status", FLEET, "Current health and its history of transitions", &[OK_JSON, MISSING]),
    ("post", "/api/v1/clusters/{id}/credentials", FLEET, "Set credentials (bearer, basic or mTLS; encrypted at rest, never answered)", &[("204", "stored"), BAD, MISSING]),
    ("post", "/api/v1/clusters/{id}/refresh", FLEET, "Discover capabilities and check health now", &[OK_JSON, MISSING]),
    ("get", "/api/v1/fleet/summary", FLEET, "Clusters by status and type, GPUs, firing alerts", &[OK_JSON, DENIED]),
    ("get", "/api/v1/fleet/alerts", FLEET, "Alerts from Alertmanager webhooks and polls (filters: cluster, severity, state, namespace, since, limit)", &[OK_JSON, BAD, DENIED]),
    ("post", "/api/v1/alerts/webhook", FLEET, "Alertmanager webhook receiver (payload version 4; ?cluster=; bearer secret when configured)", &[OK_JSON, BAD, ("401", "wrong webhook secret"), ("413", "body too large"), ("429", "too many deliveries")]),
    ("get", "/api/v1/gpu/nodes", FLEET, "GPU nodes across the fleet (DCGM): model, count, utilisation, memory, temperature, power, XID errors", &[FEDERATED_OK, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/gpu/summary", FLEET, "GPUs by cluster and model", &[FEDERATED_OK, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/events", FLEET, "Fleet events as server-sent events (?topics=clusters,alerts,gpu,anomalies)", &[("200", "text/event-stream"), DENIED]),
    ("get", "/ws", FLEET, "Fleet events over a WebSocket (subscribe/unsubscribe messages, heartbeat every 30 s)", &[("101", "switching protocols"), DENIED, ("403", "origin not allowed")]),
    ("post", "/api/v1/metrics/query", FEDERATION, "Federated instant query ({query, time?, clusters? | cluster_selector?, timeout?, project?})", &[FEDERATED_OK, BAD, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/metrics/query", FEDERATION, "Federated instant query, as URL parameters", &[FEDERATED_OK, BAD, DENIED, NO_CLUSTER]),
    ("post", "/api/v1/metrics/query_range", FEDERATION, "Federated range query ({query, start, end, step, clusters?, …})", &[FEDERATED_OK, BAD, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/metrics/query_range", FEDERATION, "Federated range query, as URL parameters", &[FEDERATED_OK, BAD, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/metrics/labels", FEDERATION, "Label names across the fleet", &[FEDERATED_OK, DENIED]),
    ("post", "/api/v1/metrics/labels", FEDERATION, "Label names across the fleet, form or JSON", &[FEDERATED_OK, DENIED]),
    ("get", "/api/v1/metrics/label/{name}/values", FEDERATION, "One label's values across the fleet", &[FEDERATED_OK, DENIED]),
    ("post", "/api/v1/metrics/label/{name}/values", FEDERATION, "One label's values across the fleet, form or JSON", &[FEDERATED_OK, DENIED]),
    ("get", "/api/v1/fleet/prometheus/api/v1/query", FEDERATION, "The fleet as a Prometheus datasource: instant query", &[PROM_OK, BAD, DENIED, NO_CLUSTER]),
    ("post", "/api/v1/fleet/prometheus/api/v1/query", FEDERATION, "The fleet as a Prometheus datasource: instant query, form", &[PROM_OK, BAD, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/fleet/prometheus/api/v1/query_range", FEDERATION, "The fleet as a Prometheus datasource: range query", &[PROM_OK, BAD, DENIED, NO_CLUSTER]),
    ("post", "/api/v1/fleet/prometheus/api/v1/query_range", FEDERATION, "The fleet as a Prometheus datasource: range query, form", &[PROM_OK, BAD, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/fleet/prometheus/api/v1/labels", FEDERATION, "The fleet as a Prometheus datasource: label names", &[PROM_OK, DENIED]),
    ("post", "/api/v1/fleet/prometheus/api/v1/labels", FEDERATION, "The fleet as a Prometheus datasource: label names, form", &[PROM_OK, DENIED]),
    ("get", "/api/v1/fleet/prometheus/api/v1/label/{name}/values", FEDERATION, "The fleet as a Prometheus datasource: label values", &[PROM_OK, DENIED]),
    ("post", "/api/v1/fleet/prometheus/api/v1/label/{name}/values", FEDERATION, "The fleet as a Prometheus datasource: label values, form", &[PROM_OK, DENIED]),
    ("get", "/api/v1/projects/{project}/fleet/prometheus/api/v1/query", FEDERATION, "The fleet for one project (its namespaces enforced): instant query", &[PROM_OK, BAD, DENIED, NO_CLUSTER]),
    ("post", "/api/v1/projects/{project}/fleet/prometheus/api/v1/query", FEDERATION, "The fleet for one project: instant query, form", &[PROM_OK, BAD, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/projects/{project}/fleet/prometheus/api/v1/query_range", FEDERATION, "The fleet for one project: range query", &[PROM_OK, BAD, DENIED, NO_CLUSTER]),
    ("post", "/api/v1/projects/{project}/fleet/prometheus/api/v1/query_range", FEDERATION, "The fleet for one project: range query, form", &[PROM_OK, BAD, DENIED, NO_CLUSTER]),
    ("get", "/api/v1/projects/{project}/fleet/prometheus/api/v1/labels", FEDERATION, "The fleet for one project: label names", &[PROM_OK, DENIED]),
    ("post", "/api/v1/projects/{project}/fleet/prometheus/api/v1/labels", FEDERATION, "The fleet for one project: label names, form", &[PROM_OK, DENIED]),
    ("get", "/api/v1/projects/{project}/fleet/prometheus/api/v1/label/{name}/values", FEDERATION, "The fleet for one project: label values", &[PROM_OK, DENIED]),
    ("post", "/api/v1/projects/{project}/fleet/prometheus/api/v1/label/{name}/values", FEDERATION, "The fleet for one project: label values, form", &[PROM_OK, DENIED]),
    ("get", "/api/v1/rules", EMBEDDED, "Recording and alerting rules with their state (?type=alert|record)", &[PROM_OK, DENIED]),
    ("get", "/api/v1/alerts", EMBEDDED, "Active alerts of the embedded rules", &[PROM_OK, DENIED]),
    ("post", "/loki/api/v1/push", LOGS, "Loki push API (JSON, or protobuf + snappy; gzip/deflate bodies; ?source=): access-log lines become per-service latency buckets (pharos_service_* metrics)", &[("204", "every line taken"), ("400", "some lines rejected (text: counts per reason and sampled lines; the good lines are kept) or the body is malformed"), DENIED, ("413", "body or decompressed body over the logs.* limit"), ("415", "content type or encoding not accepted"), ("503", "log intake off")]),
    ("post", "/api/v1/logs/ndjson", LOGS, "Access-log records as NDJSON, one JSON object per line with a service field (?source=)", &[("200", "{source, accepted, rejected: {reason: count}, samples: [{reason, service?, line}]}"), BAD, DENIED, ("413", "body or decompressed body over the logs.* limit"), ("415", "content type or encoding not accepted"), ("503", "log intake off")]),
    ("get", "/api/services", SLO, "Services the caller may read, owned first: threshold, last bucket, baseline, breaches in 24 h, data quality", &[OK_JSON]),
    ("get", "/api/services/owned", SLO, "Services the caller owns (by name or group; administrators: all)", &[OK_JSON]),
    ("get", "/api/services/rules", SLO, "The breach alerts of the caller's services as a Prometheus rule file (YAML)", &[("200", "application/yaml")]),
    ("get", "/api/services/{id}", SLO, "One service", &[OK_JSON, MISSING]),
    ("put", "/api/services/{id}", SLO, "Set a service's project, owners or objective ({project?, owners?, objective?, clear_objective?}); registers a service seen only in logs", &[OK_JSON, BAD, DENIED, MISSING]),
    ("get", "/api/services/{id}/latency", SLO, "5-minute buckets (?from=&to=&step=, 7 days by default): count, errors, p50/p95/p99, baseline, breach", &[OK_JSON, BAD, MISSING, ("503", "no embedded store")]),
    ("get", "/api/services/{id}/alert-threshold", SLO, "The P95 threshold, who set it and its history", &[OK_JSON, MISSING]),
    ("post", "/api/services/{id}/alert-threshold", SLO, "Set the threshold ({threshold_ms}: 50–1000); owners, project editors, administrators", &[OK_JSON, BAD, DENIED, MISSING]),
    ("get", "/api/v1/personas", ASSISTANT, "Personas (built-in and administrators') with their tools, and whether a language model is configured ({personas, llm: {configured, model}})", &[OK_JSON]),
    ("post", "/api/v1/personas", ASSISTANT, "Add a persona ({id, name, description?, system_prompt, tools?, model?, endpoint?, temperature?}); administrators", &[("201", "the persona"), BAD, DENIED, ("409", "the id exists")]),
    ("get", "/api/v1/personas/{id}", ASSISTANT, "One persona", &[OK_JSON, MISSING]),
    ("put", "/api/v1/personas/{id}", ASSISTANT, "Replace an administrator's persona (built-ins cannot change)", &[OK_JSON, BAD, DENIED, ("409", "a built-in persona")]),
    ("delete", "/api/v1/personas/{id}", ASSISTANT, "Remove an administrator's persona", &[("204", "removed"), DENIED, MISSING, ("409", "a built-in persona")]),
    ("get", "/api/v1/chat/sessions", ASSISTANT, "The caller's chat sessions, most recent first ({sessions})", &[OK_JSON]),
    ("post", "/api/v1/chat/sessions", ASSISTANT, "Start a session ({persona?: default, title?})", &[("201", "the session"), BAD]),
    ("get", "/api/v1/chat/sessions/{id}", ASSISTANT, "A session of the caller with its messages", &[OK_JSON, MISSING]),
    ("delete", "/api/v1/chat/sessions/{id}", ASSISTANT, "Delete a session of the caller and its messages", &[("204", "deleted"), MISSING]),
    ("post", "/api/v1/chat/sessions/{id}/messages", ASSISTANT, "Ask ({content}); answers the turn's stored messages ({messages, usage, rounds, error?})", &[OK_JSON, BAD, MISSING]),
    ("post", "/api/v1/chat/sessions/{id}/stream", ASSISTANT, "Ask ({content}) and stream the turn as Server-Sent Events: user_message, delta, tool_call, tool_result, message, error, done", &[("200", "text/event-stream"), BAD, MISSING]),
    ("post", "/api/v1/analysis/anomaly", ASSISTANT, "Anomalies of a query's series over a window, no model involved ({query, start, end, step?, project?} → {anomalies: [{labels, start, end, score, method, summary}]})", &[OK_JSON, BAD, DENIED]),
    ("post", "/api/v1/analysis/rca", ASSISTANT, "Root-cause analysis over a window ({start?, end?, project?, format?: json|markdown}): ranked suspects with evidence", &[OK_JSON, BAD, DENIED]),
];

/// The path parameters of `path` (`{name}` and `{*name}`).
fn path_params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let name = name.trim_start_matches('*');
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect()
}

/// Adds every row of the table.
pub(super) fn add_extension_paths(paths: &mut Map<String, Value>) {
    for (method, path, tag, summary, responses) in ROWS {
        let responses: Map<String, Value> = responses
            .iter()
            .map(|(status, description)| {
                let answer = if status.starts_with('4') || status.starts_with('5') {
                    error(description)
                } else {
                    json!({"description": description})
                };
                ((*status).to_owned(), answer)
            })
            .collect();
        let operation = json!({
            "summary": summary,
            "tags": [tag],
            "parameters": path_params(path),
            "responses": responses,
        });
        let item = paths.entry((*path).to_owned()).or_insert_with(|| json!({}));
        item[*method] = operation;
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Every `.route("…", method(…))` in the server's sources (tests excluded).
    fn mounted_routes(dir: &Path, found: &mut Vec<(String, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                mounted_routes(&path, found);
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".rs") || name == "tests.rs" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let text = text.split("#[cfg(test)]").next().unwrap_or("");
            let mut rest = text;
            while let Some(at) = rest.find(".route(") {
                rest = &rest[at + ".route(".len()..];
                let Some(literal) = rest.trim_start().strip_prefix('"') else {
                    continue;
                };
                let Some(end) = literal.find('"') else {
                    continue;
                };
                let route = literal[..end].replace("{*", "{");
                let call = route_call(&literal[end..]);
                for method in ["get", "post", "put", "delete"] {
                    if calls(call, method) {
                        found.push((method.to_owned(), route.clone()));
                    }
                }
            }
        }
    }

    /// The rest of one `.route(` call: up to its closing parenthesis.
    fn route_call(rest: &str) -> &str {
        let mut depth = 1;
        for (at, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                return &rest[..at];
            }
        }
        rest
    }

    /// Whether `text` calls `method(` as a word (not `target(` for `get(`).
    fn calls(text: &str, method: &str) -> bool {
        let pattern = format!("{method}(");
        text.match_indices(&pattern).any(|(at, _)| {
            !text[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    }

    #[test]
    fn every_mounted_route_is_documented() {
        let document = crate::openapi::document();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut mounted = Vec::new();
        mounted_routes(&src, &mut mounted);
        assert!(mounted.len() > 80, "the scan found the router: {mounted:?}");
        let missing: Vec<String> = mounted
            .iter()
            // Resource routes are generated from the kind table; proxy routes take any method.
            .filter(|(_, route)| !route.contains("{plural}") && !route.starts_with("/proxy/"))
            .filter(|(method, route)| document["paths"][route.as_str()].get(method).is_none())
            .map(|(method, route)| format!("{method} {route}"))
            .collect();
        assert!(
            missing.is_empty(),
            "not in the OpenAPI document: {missing:#?}"
        );
    }

    #[test]
    fn parameters_come_from_the_path() {
        let params =
            path_params("/api/v1/projects/{project}/fleet/prometheus/api/v1/label/{name}/values");
        let names: Vec<&str> = params.iter().filter_map(|p| p["name"].as_str()).collect();
        assert_eq!(names, ["project", "name"]);
    }
}
