//! The audit trail: every mutating API request (from the authentication layer) and every login
//! attempt (from the login route) becomes one row; admins search them with
//! `GET /api/v1/audit/logs`.

use axum::{
    Json, Router,
    extract::State,
    http::{Method, StatusCode},
    routing::get,
};
use chrono::{DateTime, Utc};
use pharos_auth::rbac::{Action, Scope};
use pharos_store::{AuditEntry, AuditQuery};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Caller;
use crate::{
    error::{ApiError, ApiResult},
    extract::Params,
    state::AppState,
};

/// One event to record.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    /// `create`, `update`, `delete`, `login`, `logout`, ...
    pub action: String,
    /// What it was done to: a plural kind (`dashboards`), `session`, ...
    pub resource: String,
    /// The project, when the resource lives in one.
    pub project: String,
    /// The resource's name.
    pub name: String,
    /// The answer's status.
    pub status: StatusCode,
    /// Extra facts (never secrets).
    pub detail: Value,
}

/// What a create handler made, put on its response so the audit entry of a `POST` (whose path
/// has no name) names the new resource.
#[derive(Debug, Clone)]
pub struct CreatedResource {
    /// Its project (empty for global kinds).
    pub project: String,
    /// Its name.
    pub name: String,
}

/// API writes that are reads in disguise (PromQL sent as a form or JSON) or too frequent to
/// audit one by one (remote-write and log batches, Alertmanager deliveries): left out of the trail.
const NOT_AUDITED: [&str; 9] = [
    "/api/v1/query",
    "/api/v1/query_range",
    "/api/v1/query_exemplars",
    "/api/v1/series",
    "/api/v1/labels",
    "/api/v1/write",
    "/api/v1/view",
    "/api/v1/alerts/webhook",
    "/api/v1/logs/ndjson",
];

/// Path prefixes of the same (label values, federated PromQL and the fleet datasource).
const NOT_AUDITED_PREFIXES: [&str; 3] = [
    "/api/v1/label/",
    "/api/v1/metrics/",
    "/api/v1/fleet/prometheus/",
];

fn audited_path(path: &str) -> bool {
    path.starts_with("/api/")
        && !path.starts_with("/api/auth/")
        && !path.starts_with("/api/validate/")
        && !NOT_AUDITED.contains(&path)
        && !NOT_AUDITED_PREFIXES.iter().any(|p| path.starts_with(p))
        // A project's fleet datasource: /api/v1/projects/{p}/fleet/prometheus/api/v1/...
        && !path.contains("/fleet/prometheus/api/v1/")
}

impl AuditEvent {
    /// The event for an API request, when it is one we audit (writes under `/api`, except the
    /// login routes, which record their own richer events).
    pub fn for_request(
        method: &Method,
        path: &str,
        status: StatusCode,
        created: Option<&CreatedResource>,
    ) -> Option<Self> {
        let action = match *method {
            Method::POST => "create",
            Method::PUT | Method::PATCH => "update",
            Method::DELETE => "delete",
            _ => return None,
        };
        if !audited_path(path) {
            return None;
        }
        let segments: Vec<&str> = path
            .trim_start_matches("/api/v1/")
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let (project, rest) = match segments.as_slice() {
            ["projects", project, rest @ ..] if !rest.is_empty() => ((*project).to_owned(), rest),
            ["projects", project] => ((*project).to_owned(), &segments[..1]),
            other => (String::new(), other),
        };
        let resource = rest.first().map_or_else(String::new, |s| (*s).to_owned());
        let name = rest.get(1).map_or_else(String::new, |s| (*s).to_owned());
        // `.../versions/3/restore`, `.../share`: the trailing verb says more than the method.
        let action = match rest.last() {
            Some(&"restore") => "restore",
            _ => action,
        };
        let name = if resource == "projects" && name.is_empty() {
            project.clone()
        } else {
            name
        };
        let (project, name) = match created {
            Some(made) if name.is_empty() => (
                if project.is_empty() {
                    made.project.clone()
                } else {
                    project
                },
                made.name.clone(),
            ),
            _ => (project, name),
        };
        Some(Self {
            action: action.to_owned(),
            resource,
            project,
            name,
            status,
            detail: json!({"method": method.as_str(), "path": path}),
        })
    }

    /// Appends the event; a failure is logged (the request's own answer stands).
    pub async fn record(self, state: &AppState, actor: &str, client: &str, request_id: &str) {
        let result = if self.status.is_success() || self.status.is_redirection() {
            "success"
        } else if matches!(
            self.status,
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::TOO_MANY_REQUESTS
        ) {
            "denied"
        } else {
            "failure"
        };
        let entry = AuditEntry {
            seq: 0,
            at: Utc::now(),
            request_id: request_id.to_owned(),
            actor: actor.to_owned(),
            action: self.action,
            resource: self.resource,
            project: self.project,
            name: self.name,
            result: result.to_owned(),
            status: self.status.as_u16(),
            client_ip: client.to_owned(),
            detail: self.detail,
        };
        if let Err(error) = state.resources.store().append_audit(&entry).await {
            metrics::counter!("pharos_audit_errors_total").increment(1);
            tracing::error!(%error, request_id, "cannot write the audit entry");
        }
    }
}

/// Query parameters of `GET /api/v1/audit/logs`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct AuditParams {
    user: String,
    action: String,
    resource: String,
    project: String,
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
    cursor: Option<i64>,
}

fn instant(name: &str, text: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "{name}: {t:?} is not an RFC 3339 time like 2026-12-01T10:00:00Z ({e})"
                ))
            })
    })
    .transpose()
}

async fn search(
    State(state): State<AppState>,
    caller: Caller,
    Params(params): Params<AuditParams>,
) -> ApiResult<Json<Value>> {
    caller.require(Action::Read, None, Scope::AuditLog)?;
    let query = AuditQuery {
        actor: params.user,
        action: params.action,
        resource: params.resource,
        project: params.project,
        from: instant("from", params.from.as_deref())?,
        to: instant("to", params.to.as_deref())?,
        before_seq: params.cursor,
        limit: params.limit.unwrap_or(100),
    };
    let page = state.resources.store().audit_log(&query).await?;
    let entries: Vec<Value> = page
        .entries
        .into_iter()
        .map(|e| {
            json!({
                "seq": e.seq, "time": e.at, "requestId": e.request_id, "user": e.actor,
                "action": e.action, "resource": e.resource, "project": e.project, "name": e.name,
                "result": e.result, "status": e.status, "clientIp": e.client_ip, "detail": e.detail,
            })
        })
        .collect();
    Ok(Json(
        json!({"entries": entries, "nextCursor": page.next_cursor}),
    ))
}

/// `GET /api/v1/audit/logs`.
pub fn audit_routes() -> Router<AppState> {
    Router::new().route("/api/v1/audit/logs", get(search))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_become_events_with_project_kind_and_name() {
        let event = AuditEvent::for_request(
            &Method::PUT,
            "/api/v1/projects/team-a/dashboards/gpu",
            StatusCode::OK,
            None,
        )
        .unwrap();
        assert_eq!(
            (
                event.action.as_str(),
                event.resource.as_str(),
                event.project.as_str(),
                event.name.as_str()
            ),
            ("update", "dashboards", "team-a", "gpu")
        );
        let event =
            AuditEvent::for_request(&Method::POST, "/api/v1/projects", StatusCode::OK, None)
                .unwrap();
        assert_eq!(
            (event.resource.as_str(), event.project.as_str()),
            ("projects", "")
        );
        let event = AuditEvent::for_request(
            &Method::DELETE,
            "/api/v1/projects/team-a",
            StatusCode::NO_CONTENT,
            None,
        )
        .unwrap();
        assert_eq!(
            (event.resource.as_str(), event.name.as_str()),
            ("projects", "team-a")
        );
        let event = AuditEvent::for_request(
            &Method::POST,
            "/api/v1/projects/p/dashboards/d/versions/3/restore",
            StatusCode::OK,
            None,
        )
        .unwrap();
        assert_eq!(event.action, "restore");
    }

    #[test]
    fn reads_queries_and_logins_are_not_request_events() {
        assert!(
            AuditEvent::for_request(&Method::GET, "/api/v1/projects", StatusCode::OK, None)
                .is_none()
        );
        assert!(
            AuditEvent::for_request(&Method::POST, "/api/v1/query", StatusCode::OK, None).is_none()
        );
        assert!(
            AuditEvent::for_request(&Method::POST, "/api/v1/write", StatusCode::NO_CONTENT, None)
                .is_none()
        );
        for path in [
            "/api/v1/metrics/query",
            "/api/v1/metrics/label/job/values",
            "/api/v1/fleet/prometheus/api/v1/query_range",
            "/api/v1/projects/team-a/fleet/prometheus/api/v1/query",
            "/api/v1/alerts/webhook",
            "/api/v1/logs/ndjson",
        ] {
            assert!(
                AuditEvent::for_request(&Method::POST, path, StatusCode::OK, None).is_none(),
                "{path}"
            );
        }
        // Registering a cluster is audited.
        assert!(
            AuditEvent::for_request(&Method::POST, "/api/v1/clusters", StatusCode::CREATED, None)
                .is_some()
        );
        assert!(
            AuditEvent::for_request(
                &Method::POST,
                "/api/auth/providers/native/login",
                StatusCode::OK,
                None
            )
            .is_none()
        );
        assert!(
            AuditEvent::for_request(
                &Method::POST,
                "/proxy/projects/p/datasources/d/api/v1/query",
                StatusCode::OK,
                None
            )
            .is_none()
        );
    }
}
