//! The Pharos side: the Perses resource API (`/api/v1/projects`, `/api/v1/projects/{p}/
//! dashboards|datasources[/{name}]`) with an API token, so validation, history and audit
//! happen in the server's own service layer (decision 0028).

use std::time::Duration;

use serde_json::{Value, json};

use crate::error::PharosError;

/// Time for one request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A Pharos resource kind the operator writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A project dashboard.
    Dashboard,
    /// A project datasource.
    Datasource,
}

impl Target {
    /// The kind in documents.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Dashboard => "Dashboard",
            Self::Datasource => "Datasource",
        }
    }

    /// The plural in paths.
    pub fn plural(self) -> &'static str {
        match self {
            Self::Dashboard => "dashboards",
            Self::Datasource => "datasources",
        }
    }
}

/// The Pharos API client.
#[derive(Debug, Clone)]
pub struct PharosClient {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl PharosClient {
    /// A client for `base` (`http://pharos:8080`) sending `token` as its bearer.
    pub fn new(base: &str, token: &str) -> Result<Self, PharosError> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        Ok(Self {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn object_path(target: Target, project: &str, name: &str) -> String {
        format!("/api/v1/projects/{project}/{}/{name}", target.plural())
    }

    /// Who the token belongs to (`GET /api/v1/user/whoami`).
    pub async fn whoami(&self) -> Result<String, PharosError> {
        let user = self
            .send(self.http.get(self.url("/api/v1/user/whoami")))
            .await?;
        Ok(user["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// One resource; `None` when it does not exist.
    pub async fn get(
        &self,
        target: Target,
        project: &str,
        name: &str,
    ) -> Result<Option<Value>, PharosError> {
        let request = self
            .http
            .get(self.url(&Self::object_path(target, project, name)));
        match self.send(request).await {
            Ok(document) => Ok(Some(document)),
            Err(PharosError::Rejected { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates the project unless it exists; `true` when it was created.
    pub async fn ensure_project(&self, project: &str) -> Result<bool, PharosError> {
        let existing = self
            .send(
                self.http
                    .get(self.url(&format!("/api/v1/projects/{project}"))),
            )
            .await;
        match existing {
            Ok(_) => return Ok(false),
            Err(PharosError::Rejected { status: 404, .. }) => {}
            Err(e) => return Err(e),
        }
        let body = json!({"kind": "Project", "metadata": {"name": project}, "spec": {}});
        match self
            .send(self.http.post(self.url("/api/v1/projects")).json(&body))
            .await
        {
            Ok(_) => Ok(true),
            // Another writer (a second operator, a user) was quicker: fine.
            Err(PharosError::Rejected { status: 409, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Creates a resource in `project`.
    pub async fn create(
        &self,
        target: Target,
        project: &str,
        document: &Value,
    ) -> Result<(), PharosError> {
        let path = format!("/api/v1/projects/{project}/{}", target.plural());
        self.send(self.http.post(self.url(&path)).json(document))
            .await
            .map(drop)
    }

    /// Replaces a resource.
    pub async fn update(
        &self,
        target: Target,
        project: &str,
        name: &str,
        document: &Value,
    ) -> Result<(), PharosError> {
        let request = self
            .http
            .put(self.url(&Self::object_path(target, project, name)))
            .json(document);
        self.send(request).await.map(drop)
    }

    /// Deletes a resource (dashboards go to the trash); `false` when it was already gone.
    pub async fn delete(
        &self,
        target: Target,
        project: &str,
        name: &str,
    ) -> Result<bool, PharosError> {
        let request = self
            .http
            .delete(self.url(&Self::object_path(target, project, name)));
        match self.send(request).await {
            Ok(_) => Ok(true),
            Err(PharosError::Rejected { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Every resource of the kind the token may read, across projects, without specs where
    /// the kind allows it.
    pub async fn list(&self, target: Target) -> Result<Vec<Value>, PharosError> {
        let path = format!("/api/v1/{}?metadata_only=true", target.plural());
        match self.send(self.http.get(self.url(&path))).await? {
            Value::Array(items) => Ok(items),
            other => Err(PharosError::Decode(format!(
                "a list of {} is not an array: {other}",
                target.plural()
            ))),
        }
    }

    /// Sends with the bearer; the JSON answer (`null` for an empty body) or the error with
    /// Pharos's message.
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, PharosError> {
        let response = request.bearer_auth(&self.token).send().await?;
        let status = response.status();
        let text = response.text().await?;
        let body: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if status.is_success() {
            return Ok(body);
        }
        let message = error_message(&body);
        if status.is_client_error() {
            Err(PharosError::Rejected {
                status: status.as_u16(),
                message,
            })
        } else {
            Err(PharosError::Unavailable {
                status: status.as_u16(),
                message,
            })
        }
    }
}

/// Pharos's error text: `message`, then each validation error as `path: message`.
fn error_message(body: &Value) -> String {
    let mut message = match body {
        Value::String(text) => text.trim().to_owned(),
        _ => body["message"].as_str().unwrap_or_default().to_owned(),
    };
    for error in body["errors"].as_array().into_iter().flatten() {
        let path = error["path"].as_str().unwrap_or_default();
        let text = error["message"].as_str().unwrap_or_default();
        let line = format!("{path}: {text}");
        if !message.contains(&line) {
            message.push_str("; ");
            message.push_str(&line);
        }
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_carry_the_validation_paths() {
        let body = json!({"message": "invalid dashboard", "errors": [
            {"path": "spec.duration", "message": "invalid duration \"soon\""},
        ]});
        assert_eq!(
            error_message(&body),
            "invalid dashboard; spec.duration: invalid duration \"soon\""
        );
        assert_eq!(error_message(&json!("plain text\n")), "plain text");
    }
}
