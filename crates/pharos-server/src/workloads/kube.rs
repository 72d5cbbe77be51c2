//! Kubernetes mode: the workload resources of each namespace, listed from the API server of
//! `security.kubernetes` with Pharos's own service-account token. A resource whose CRD is not
//! installed (404) is skipped; anything else that goes wrong (403, a timeout, an answer that
//! is too large or no Kubernetes list) becomes a warning, never a failed request.

use std::time::Duration;

use futures::StreamExt as _;
use serde_json::Value;

use super::{
    Source, WorkloadList,
    kinds::{RESOURCES, ResourceType, fold},
};
use crate::state::AppState;

/// List requests in flight at once.
const PARALLEL: usize = 8;
/// Most warnings returned (the rest are counted).
const MAX_WARNINGS: usize = 20;

/// What one list request gave.
enum Listed {
    Items(Vec<Value>),
    NotInstalled,
    Warning(String),
}

/// An HTTP client that trusts the API server's CA (the system roots when there is no CA file,
/// outside a pod).
fn client(state: &AppState) -> reqwest::Client {
    let settings = &state.settings.security.kubernetes;
    let timeout = state.settings.workloads.timeout;
    let mut builder = reqwest::Client::builder()
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none());
    if let Ok(pem) = std::fs::read(&settings.ca_file) {
        match reqwest::Certificate::from_pem_bundle(&pem) {
            Ok(certificates) => {
                for certificate in certificates {
                    builder = builder.add_root_certificate(certificate);
                }
            }
            Err(e) => {
                tracing::warn!(file = %settings.ca_file.display(), "kubernetes CA bundle unreadable: {e}");
            }
        }
    }
    builder.build().unwrap_or_default()
}

/// Reads at most `limit` bytes of the answer; `None` when it is larger.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// The `message` of a Kubernetes `Status` answer, or the start of the text.
fn reason(bytes: &[u8]) -> String {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(bytes).chars().take(200).collect())
}

async fn list_one(
    state: &AppState,
    client: &reqwest::Client,
    base: &str,
    token: Option<&str>,
    resource: &ResourceType,
    namespace: &str,
) -> Listed {
    let what = format!(
        "{} ({}.{}) in namespace {namespace}",
        resource.kind, resource.plural, resource.group
    );
    let mut request = client.get(format!("{base}{}", resource.path(namespace)));
    if let Some(selector) = resource.selector {
        request = request.query(&[("labelSelector", selector)]);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let limit = state.settings.workloads.max_list_bytes;
    let outcome = async {
        let response = request.send().await?;
        let status = response.status();
        read_bounded(response, limit).await.map(|b| (status, b))
    }
    .await;
    let (status, bytes) = match outcome {
        Ok((status, Some(bytes))) => (status, bytes),
        Ok((_, None)) => {
            return Listed::Warning(format!(
                "cannot list {what}: the answer is larger than {limit} bytes"
            ));
        }
        Err(e) if e.is_timeout() => {
            return Listed::Warning(format!(
                "cannot list {what}: no answer within {:?}",
                state.settings.workloads.timeout
            ));
        }
        Err(e) => return Listed::Warning(format!("cannot list {what}: {e}")),
    };
    match status.as_u16() {
        200 => {}
        404 => return Listed::NotInstalled,
        403 => {
            return Listed::Warning(format!(
                "Pharos's service account may not list {what} (403 Forbidden: {}); \
                 grant it list on {}.{}",
                reason(&bytes),
                resource.plural,
                resource.group
            ));
        }
        code => {
            return Listed::Warning(format!(
                "cannot list {what}: the API server answered {code}: {}",
                reason(&bytes)
            ));
        }
    }
    let list: Value = match serde_json::from_slice(&bytes) {
        Ok(list) => list,
        Err(e) => {
            return Listed::Warning(format!("cannot list {what}: the answer is not JSON ({e})"));
        }
    };
    let Some(items) = list.get("items").and_then(Value::as_array) else {
        return Listed::Warning(format!(
            "cannot list {what}: the answer is not a Kubernetes list (no \"items\")"
        ));
    };
    Listed::Items(
        items
            .iter()
            .filter(|o| {
                o.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| !n.is_empty())
            })
            .cloned()
            .collect(),
    )
}

fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// The workloads of `namespaces`, from the API server.
pub(super) async fn discover(state: &AppState, namespaces: &[String]) -> WorkloadList {
    let mut answer = WorkloadList {
        source: Source::Kubernetes,
        workloads: Vec::new(),
        warnings: Vec::new(),
    };
    let settings = &state.settings.security.kubernetes;
    let Some(base) = settings.api_server_url() else {
        answer.warnings.push(
            "workloads.kubernetes is on but no Kubernetes API server is known: set \
             security.kubernetes.api_server (or run in a pod)"
                .to_owned(),
        );
        return answer;
    };
    // Re-read per request: projected service-account tokens rotate.
    let token = std::fs::read_to_string(&settings.token_file)
        .ok()
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    if token.is_none() {
        answer.warnings.push(format!(
            "no service-account token in {}: the API server is asked anonymously",
            settings.token_file.display()
        ));
    }
    // A namespace is a DNS label; anything else could not be one and must not reach a URL.
    let namespaces: Vec<String> = namespaces
        .iter()
        .filter(|n| {
            let valid = is_dns_label(n);
            if !valid {
                answer
                    .warnings
                    .push(format!("{n:?} is not a namespace name: skipped"));
            }
            valid
        })
        .cloned()
        .collect();
    let client = client(state);
    let asks: Vec<(usize, ResourceType)> = (0..namespaces.len())
        .flat_map(|i| RESOURCES.iter().map(move |r| (i, *r)))
        .collect();
    let results: Vec<(usize, ResourceType, Listed)> = futures::stream::iter(asks)
        .map(|(i, resource)| {
            let (client, base, token) = (&client, base.as_str(), token.as_deref());
            let namespace = namespaces[i].as_str();
            async move {
                let listed = list_one(state, client, base, token, &resource, namespace).await;
                (i, resource, listed)
            }
        })
        .buffered(PARALLEL)
        .collect()
        .await;
    let mut per_namespace: Vec<Vec<(ResourceType, Vec<Value>)>> =
        namespaces.iter().map(|_| Vec::new()).collect();
    let mut warnings = Vec::new();
    for (i, resource, listed) in results {
        match listed {
            Listed::Items(items) => per_namespace[i].push((resource, items)),
            Listed::NotInstalled => {}
            Listed::Warning(warning) => warnings.push(warning),
        }
    }
    for (namespace, listed) in namespaces.iter().zip(per_namespace) {
        answer.workloads.extend(fold(namespace, listed));
    }
    if warnings.len() > MAX_WARNINGS {
        let more = warnings.len() - MAX_WARNINGS;
        warnings.truncate(MAX_WARNINGS);
        warnings.push(format!("… and {more} more warnings like these"));
    }
    answer.warnings.extend(warnings);
    answer
}
