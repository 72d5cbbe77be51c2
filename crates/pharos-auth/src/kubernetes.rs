//! The Kubernetes (OpenShift) delegation bodies: a `TokenReview` (`authentication.k8s.io/v1`)
//! says who a bearer token belongs to, a `SubjectAccessReview` (`authorization.k8s.io/v1`)
//! whether that user may do a verb on a `perses.openshift.io` resource in a namespace — the
//! project. The server sends them; this module builds and reads them, so their exact shapes are
//! tested in one place.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::rbac::{Action, Scope};

/// The API group the seed's OpenShift roles grant (`dashboards`, `dashboards/share`).
pub const API_GROUP: &str = "perses.openshift.io";

/// Why a review answer cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    /// The API server says the token is not valid.
    #[error("the Kubernetes API server did not authenticate the token{}", reason_suffix(.0))]
    NotAuthenticated(String),
    /// The answer is not a review of the expected kind.
    #[error("unexpected answer from the Kubernetes API server: {0}")]
    Unexpected(String),
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(": {reason}")
    }
}

/// The user a `TokenReview` vouches for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KubeUser {
    /// e.g. `alice` or `system:serviceaccount:ns:name`.
    pub username: String,
    /// The user's uid.
    #[serde(default)]
    pub uid: String,
    /// Group memberships.
    #[serde(default)]
    pub groups: Vec<String>,
    /// Extra attributes (scopes of an OpenShift OAuth token, for example).
    #[serde(default)]
    pub extra: BTreeMap<String, Vec<String>>,
}

/// The body to `POST /apis/authentication.k8s.io/v1/tokenreviews`.
pub fn token_review_request(token: &str, audiences: &[String]) -> Value {
    let mut spec = json!({ "token": token });
    if !audiences.is_empty() {
        spec["audiences"] = json!(audiences);
    }
    json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "spec": spec,
    })
}

/// Reads a `TokenReview` answer.
pub fn read_token_review(answer: &Value) -> Result<KubeUser, ReviewError> {
    expect_kind(answer, "authentication.k8s.io/v1", "TokenReview")?;
    let status = &answer["status"];
    if status["authenticated"].as_bool() != Some(true) {
        let reason = status["error"].as_str().unwrap_or_default();
        return Err(ReviewError::NotAuthenticated(reason.to_owned()));
    }
    let user: KubeUser = serde_json::from_value(status["user"].clone())
        .map_err(|e| ReviewError::Unexpected(format!("status.user: {e}")))?;
    if user.username.is_empty() {
        return Err(ReviewError::Unexpected(
            "status.user.username is empty".to_owned(),
        ));
    }
    Ok(user)
}

/// The resource attributes a Pharos check maps to: `(verb, resource, subresource)`.
/// Sharing is `create` (revoking `delete`) on the `dashboards/share` subresource, as in the
/// seed's `dashboard-creator` role; `listing` picks `list` over `get` for reads.
pub fn resource_attributes(
    action: Action,
    scope: Scope,
    listing: bool,
) -> (&'static str, String, &'static str) {
    let resource = match scope {
        Scope::All => "*".to_owned(),
        other => format!("{}s", other.as_str().to_ascii_lowercase()),
    };
    match action {
        Action::Read if listing => ("list", resource, ""),
        Action::Read => ("get", resource, ""),
        Action::Create => ("create", resource, ""),
        Action::Update => ("update", resource, ""),
        Action::Delete => ("delete", resource, ""),
        Action::Share => ("create", "dashboards".to_owned(), "share"),
        Action::All => ("*", resource, ""),
    }
}

/// The body to `POST /apis/authorization.k8s.io/v1/subjectaccessreviews` asking whether
/// `user` may do `verb` on `resource[/subresource]` in `namespace`.
pub fn subject_access_review_request(
    user: &KubeUser,
    namespace: &str,
    verb: &str,
    resource: &str,
    subresource: &str,
) -> Value {
    let mut attributes = json!({
        "namespace": namespace,
        "verb": verb,
        "group": API_GROUP,
        "resource": resource,
    });
    if !subresource.is_empty() {
        attributes["subresource"] = json!(subresource);
    }
    json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "resourceAttributes": attributes,
            "user": user.username,
            "uid": user.uid,
            "groups": user.groups,
            "extra": user.extra,
        },
    })
}

/// Reads a `SubjectAccessReview` answer: allowed only when `status.allowed` is true and
/// `status.denied` is not.
pub fn read_subject_access_review(answer: &Value) -> Result<bool, ReviewError> {
    expect_kind(answer, "authorization.k8s.io/v1", "SubjectAccessReview")?;
    let status = &answer["status"];
    let allowed = status["allowed"]
        .as_bool()
        .ok_or_else(|| ReviewError::Unexpected("status.allowed is missing".to_owned()))?;
    Ok(allowed && status["denied"].as_bool() != Some(true))
}

fn expect_kind(answer: &Value, api_version: &str, kind: &str) -> Result<(), ReviewError> {
    if answer["apiVersion"] == api_version && answer["kind"] == kind {
        return Ok(());
    }
    Err(ReviewError::Unexpected(format!(
        "expected a {kind} ({api_version}), got kind {} ({})",
        answer["kind"], answer["apiVersion"]
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_review_round_trip() -> Result<(), ReviewError> {
        let request = token_review_request("sha256~abc", &["pharos".to_owned()]);
        assert_eq!(request["kind"], "TokenReview");
        assert_eq!(request["spec"]["token"], "sha256~abc");
        assert_eq!(request["spec"]["audiences"][0], "pharos");
        // The shape the API server answers with.
        let answer = json!({
            "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": {"token": "sha256~abc"},
            "status": {"authenticated": true, "user": {
                "username": "alice", "uid": "9f1c", "groups": ["system:authenticated:oauth", "ml-team"],
                "extra": {"scopes.authorization.openshift.io": ["user:full"]}},
                "audiences": ["pharos"]}
        });
        let user = read_token_review(&answer)?;
        assert_eq!(user.username, "alice");
        assert_eq!(user.groups[1], "ml-team");
        assert_eq!(
            user.extra["scopes.authorization.openshift.io"],
            ["user:full"]
        );
        Ok(())
    }

    #[test]
    fn unauthenticated_and_foreign_answers_are_refused() {
        let refused = json!({
            "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "status": {"authenticated": false, "error": "token has expired"}
        });
        assert_eq!(
            read_token_review(&refused),
            Err(ReviewError::NotAuthenticated(
                "token has expired".to_owned()
            ))
        );
        let status_object = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure"});
        assert!(matches!(
            read_token_review(&status_object),
            Err(ReviewError::Unexpected(_))
        ));
        let nameless = json!({
            "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
            "status": {"authenticated": true, "user": {"username": ""}}
        });
        assert!(matches!(
            read_token_review(&nameless),
            Err(ReviewError::Unexpected(_))
        ));
    }

    #[test]
    fn share_maps_to_the_dashboards_share_subresource() {
        assert_eq!(
            resource_attributes(Action::Share, Scope::Dashboard, false),
            ("create", "dashboards".to_owned(), "share")
        );
        assert_eq!(
            resource_attributes(Action::Read, Scope::Dashboard, true),
            ("list", "dashboards".to_owned(), "")
        );
        assert_eq!(
            resource_attributes(Action::Update, Scope::Datasource, false),
            ("update", "datasources".to_owned(), "")
        );
        let user = KubeUser {
            username: "alice".to_owned(),
            groups: vec!["ml-team".to_owned()],
            ..KubeUser::default()
        };
        let request =
            subject_access_review_request(&user, "openshift-ai", "create", "dashboards", "share");
        let attributes = &request["spec"]["resourceAttributes"];
        assert_eq!(attributes["group"], API_GROUP);
        assert_eq!(attributes["namespace"], "openshift-ai");
        assert_eq!(attributes["subresource"], "share");
        assert_eq!(request["spec"]["groups"][0], "ml-team");
    }

    #[test]
    fn access_review_answers() -> Result<(), ReviewError> {
        let answer = |status: Value| json!({"kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "status": status});
        assert!(read_subject_access_review(&answer(
            json!({"allowed": true, "reason": "RBAC: allowed by RoleBinding"})
        ))?);
        assert!(!read_subject_access_review(&answer(
            json!({"allowed": false})
        ))?);
        assert!(!read_subject_access_review(&answer(
            json!({"allowed": true, "denied": true})
        ))?);
        assert!(read_subject_access_review(&answer(json!({}))).is_err());
        Ok(())
    }
}
