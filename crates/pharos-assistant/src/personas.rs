//! Personas: who the assistant is in a conversation — a system prompt, the tools it may call,
//! and optionally its own model and endpoint. Five are built in (the seed's `default`,
//! `platform-ops`, `gpu-expert`, `network-cnf`, `telco-5g`); admins add their own, stored in
//! the config store as global resources of kind [`PERSONA_KIND`]. A persona limits tools, it
//! never widens what the asking user may see: permissions are checked inside every tool.

use pharos_store::{ListQuery, NewResource, Precondition, ResourceKey, Store, StoreError};
use serde::{Deserialize, Serialize};

/// The store kind of an admin-defined persona.
pub const PERSONA_KIND: &str = "AssistantPersona";

/// Every tool the server offers (the order the docs list them in).
pub const ALL_TOOLS: [&str; 11] = [
    "query_metrics",
    "list_alerts",
    "get_gpu_nodes",
    "list_clusters",
    "get_cluster_status",
    "list_dashboards",
    "get_dashboard",
    "get_panel_data",
    "detect_anomalies",
    "explain_incident",
    "service_latency",
];

/// A persona.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    /// Its id (`[a-z0-9-]`, at most 63 characters).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// One sentence on what it is for.
    #[serde(default)]
    pub description: String,
    /// The system prompt.
    pub system_prompt: String,
    /// The tools it may call; empty: all.
    #[serde(default)]
    pub tools: Vec<String>,
    /// A model other than the endpoint's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Another OpenAI-compatible endpoint (base URL ending in `/v1`); the key is the
    /// configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Built in (cannot be changed or removed).
    #[serde(default)]
    pub builtin: bool,
}

impl Persona {
    /// The tools it may call (`None`: all).
    pub fn allowed_tools(&self) -> Option<&[String]> {
        (!self.tools.is_empty()).then_some(self.tools.as_slice())
    }

    /// Checks an admin's persona; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 63
            && self
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !id_ok {
            return Err(format!(
                "persona id \"{}\" must be 1–63 characters of a-z, 0-9 and -",
                self.id
            ));
        }
        if self.name.trim().is_empty() {
            return Err("a persona needs a name".to_owned());
        }
        if self.system_prompt.trim().is_empty() || self.system_prompt.len() > 16_384 {
            return Err("system_prompt must be 1–16,384 characters".to_owned());
        }
        if let Some(unknown) = self.tools.iter().find(|t| !ALL_TOOLS.contains(&t.as_str())) {
            return Err(format!(
                "unknown tool \"{unknown}\"; the tools are: {}",
                ALL_TOOLS.join(", ")
            ));
        }
        if let Some(t) = self.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err(format!("temperature must be between 0 and 2; got {t}"));
        }
        if let Some(endpoint) = &self.endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(format!(
                "endpoint \"{endpoint}\" must be an http(s) URL such as http://vllm:8000/v1"
            ));
        }
        Ok(())
    }
}

/// What every persona is told, before its own prompt: the rules that keep answers grounded.
const GROUNDING: &str = "You are Pharos' observability assistant for AI/ML platforms on Kubernetes. \
Answer from the tools' results only: cite the query, cluster, namespace and the numbers you used, \
and say when a tool's answer was partial (a cluster did not answer, series were cut). Never invent \
metrics, values, clusters or alerts. If the tools cannot answer, say so and suggest a query or a \
dashboard. The tools only return what the asking user may see; do not ask them for other \
namespaces or projects. Be brief: findings first, then evidence, then next steps.";

fn builtin(id: &str, name: &str, description: &str, focus: &str, tools: &[&str]) -> Persona {
    Persona {
        id: id.to_owned(),
        name: name.to_owned(),
        description: description.to_owned(),
        system_prompt: format!("{GROUNDING}\n\n{focus}"),
        tools: tools.iter().map(|t| (*t).to_owned()).collect(),
        model: None,
        endpoint: None,
        temperature: Some(0.2),
        builtin: true,
    }
}

/// The built-in personas, `default` first.
pub fn builtins() -> Vec<Persona> {
    vec![
        builtin(
            "default",
            "Default Assistant",
            "General questions about the fleet, its metrics, alerts and GPUs.",
            "Help with any question about the platform's clusters, workloads, alerts and dashboards.",
            &[],
        ),
        builtin(
            "platform-ops",
            "Platform Ops",
            "Cluster health, alerts, capacity and incidents across the fleet.",
            "You are a site reliability engineer for the platform. Start from cluster health and \
             firing alerts, look for anomalies, and explain incidents with their root cause and \
             evidence. Propose the next check or remediation, least risky first.",
            &[
                "query_metrics",
                "list_alerts",
                "list_clusters",
                "get_cluster_status",
                "get_gpu_nodes",
                "list_dashboards",
                "get_dashboard",
                "get_panel_data",
                "detect_anomalies",
                "explain_incident",
                "service_latency",
            ],
        ),
        builtin(
            "gpu-expert",
            "GPU Expert",
            "GPU utilisation, memory, temperature, power and XID errors (DCGM).",
            "You are an NVIDIA GPU specialist. Use DCGM exporter metrics (DCGM_FI_DEV_GPU_UTIL, \
             DCGM_FI_DEV_FB_USED/FB_FREE, DCGM_FI_DEV_GPU_TEMP, DCGM_FI_DEV_POWER_USAGE, \
             DCGM_FI_DEV_XID_ERRORS, DCGM_FI_PROF_*) to find idle, saturated, hot or failing GPUs \
             and the workloads on them. XID errors and a GPU pinned at 100 % with no progress are \
             hardware or driver suspects.",
            &[
                "query_metrics",
                "get_gpu_nodes",
                "list_clusters",
                "list_alerts",
                "detect_anomalies",
                "explain_incident",
            ],
        ),
        builtin(
            "network-cnf",
            "Network / CNF",
            "Cloud-native network functions: throughput, drops, latency between services.",
            "You are a network engineer for cloud-native network functions. Look at traffic, \
             errors, drops and latency between services and clusters; separate network symptoms \
             from application ones with evidence.",
            &[
                "query_metrics",
                "list_alerts",
                "list_clusters",
                "get_cluster_status",
                "detect_anomalies",
                "explain_incident",
                "service_latency",
            ],
        ),
        builtin(
            "telco-5g",
            "Telco 5G",
            "5G core and RAN workloads on edge and far-edge clusters.",
            "You are a telecom engineer running 5G core and RAN functions on edge and far-edge \
             clusters. Mind the cluster type (hub, spoke, edge, far_edge) and that edge clusters \
             answer slowly or not at all; report which sites answered.",
            &[
                "query_metrics",
                "list_alerts",
                "list_clusters",
                "get_cluster_status",
                "detect_anomalies",
                "explain_incident",
            ],
        ),
    ]
}

/// The built-in personas and the admins' ones (an admin's cannot shadow a built-in id).
pub async fn list(store: &Store) -> Result<Vec<Persona>, StoreError> {
    let mut personas = builtins();
    let stored = store
        .list(&ListQuery {
            kind: PERSONA_KIND.to_owned(),
            project: None,
            name_prefix: None,
            include_spec: true,
        })
        .await?;
    for resource in stored {
        let Some(spec) = resource.spec else { continue };
        match serde_json::from_value::<Persona>(spec) {
            Ok(mut persona) if !personas.iter().any(|p| p.id == persona.id) => {
                persona.builtin = false;
                personas.push(persona);
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, name = %resource.key.name, "skipping an unreadable persona")
            }
        }
    }
    Ok(personas)
}

/// The persona `id`, if any.
pub async fn find(store: &Store, id: &str) -> Result<Option<Persona>, StoreError> {
    Ok(list(store).await?.into_iter().find(|p| p.id == id))
}

/// Why an admin's persona could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum PersonaError {
    /// It does not validate.
    #[error("{0}")]
    Invalid(String),
    /// A built-in has that id.
    #[error("\"{0}\" is a built-in persona and cannot be changed")]
    Builtin(String),
    /// No such persona.
    #[error("there is no persona \"{0}\"")]
    NotFound(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Creates or replaces an admin's persona.
pub async fn save(store: &Store, mut persona: Persona) -> Result<Persona, PersonaError> {
    persona.validate().map_err(PersonaError::Invalid)?;
    if builtins().iter().any(|b| b.id == persona.id) {
        return Err(PersonaError::Builtin(persona.id));
    }
    persona.builtin = false;
    let key = ResourceKey::global(PERSONA_KIND, &persona.id);
    let spec = serde_json::to_value(&persona).map_err(|e| PersonaError::Invalid(e.to_string()))?;
    let new = NewResource {
        key: key.clone(),
        metadata_extra: serde_json::json!({}),
        spec,
    };
    match store.get(&key).await? {
        Some(_) => store.update(new, Precondition::None).await?,
        None => store.create(new).await?,
    };
    Ok(persona)
}

/// Removes an admin's persona.
pub async fn remove(store: &Store, id: &str) -> Result<(), PersonaError> {
    if builtins().iter().any(|b| b.id == id) {
        return Err(PersonaError::Builtin(id.to_owned()));
    }
    let key = ResourceKey::global(PERSONA_KIND, id);
    match store.delete(&key, Precondition::None).await {
        Ok(_) => {
            let _ = store.purge_from_trash(&key).await;
            Ok(())
        }
        Err(StoreError::NotFound) => Err(PersonaError::NotFound(id.to_owned())),
        Err(other) => Err(other.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtins_are_the_seeds_five_and_name_only_real_tools() {
        let ids: Vec<String> = builtins().into_iter().map(|p| p.id).collect();
        assert_eq!(
            ids,
            [
                "default",
                "platform-ops",
                "gpu-expert",
                "network-cnf",
                "telco-5g"
            ]
        );
        for persona in builtins() {
            assert_eq!(persona.validate(), Ok(()), "{}", persona.id);
        }
    }

    #[test]
    fn bad_personas_say_what_to_fix() {
        let mut persona = builtins().remove(1);
        persona.id = "Bad Id".into();
        assert!(persona.validate().unwrap_err().contains("a-z, 0-9"));
        persona.id = "mine".into();
        persona.tools = vec!["delete_cluster".into()];
        assert!(persona.validate().unwrap_err().contains("unknown tool"));
        persona.tools.clear();
        persona.temperature = Some(7.0);
        assert!(persona.validate().unwrap_err().contains("temperature"));
    }
}
