//! System dashboard templates for AI workloads and their instantiation into project dashboards.
//!
//! Each template is a Perses `Dashboard` resource (`templates/<id>.json`, embedded at build
//! time) written against the metric names real exporters publish: vLLM, KServe and Knative,
//! Triton, NVIDIA's DCGM exporter, kube-state-metrics, cAdvisor, Jupyter Server, Kubeflow's
//! notebook controller, Argo Workflows and kafka_exporter. Queries name no datasource (the
//! project's default Prometheus datasource answers them) and the variables are
//! `PrometheusLabelValuesVariable`s chained on the previous ones, so they fill from the data.
//!
//! * [`system_templates`] lists them, [`find`] looks one up by id;
//! * [`instantiate`] turns a template (or any dashboard) into a dashboard of a project with
//!   chosen variable values;
//! * [`variables_of`] lists the variables of any dashboard, for user-saved templates.
//!
//! `docs/user/templates.md` describes every template, its panels and the metrics it needs.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// What kind of workload a template watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Classic model servers (KServe, Triton).
    ModelServing,
    /// Large-language-model servers (vLLM).
    LlmServing,
    /// Training jobs (PyTorchJob, TFJob).
    Training,
    /// Notebook servers.
    Notebook,
    /// Data pipelines (Argo Workflows, Kubeflow Pipelines).
    Pipeline,
    /// GPU fleets.
    Gpu,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 6] = [
        Self::ModelServing,
        Self::LlmServing,
        Self::Training,
        Self::Notebook,
        Self::Pipeline,
        Self::Gpu,
    ];

    /// The name used in JSON and in `?category=` (`model-serving`, `llm-serving`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ModelServing => "model-serving",
            Self::LlmServing => "llm-serving",
            Self::Training => "training",
            Self::Notebook => "notebook",
            Self::Pipeline => "pipeline",
            Self::Gpu => "gpu",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A category name that is not one of [`Category::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown template category {given:?}: use one of {}",
    valid_categories()
)]
pub struct UnknownCategory {
    /// What was given.
    pub given: String,
}

fn valid_categories() -> String {
    Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Category {
    type Err = UnknownCategory;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCategory {
                given: s.to_owned(),
            })
    }
}

/// A variable of a template: what to pass to [`instantiate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateVariable {
    /// Variable name (`namespace`, `model`, …), as used in the queries (`$model`).
    pub name: String,
    /// What the variable selects (the variable's `display.description`, else its display name).
    pub description: String,
    /// Whether [`instantiate`] needs a value for it (when the template has no default).
    pub required: bool,
    /// The template's default value (a ListVariable's `defaultValue`, several values joined
    /// with `,`; a TextVariable's `value`), if any.
    pub default: Option<String>,
}

/// A system template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    /// Stable identifier, also the dashboard's `metadata.name` (`model-serving-kserve`, …).
    pub id: String,
    /// Bumped whenever the template changes, so servers upgrade the copies they seeded.
    pub version: u32,
    /// What the template watches.
    pub category: Category,
    /// Title (the dashboard's `spec.display.name`).
    pub title: String,
    /// What it shows (the dashboard's `spec.display.description`).
    pub description: String,
    /// Kubernetes kinds of the workloads it fits (`InferenceService`, `PyTorchJob`, …); empty
    /// for fleet-wide templates.
    pub workload_kinds: Vec<String>,
    /// The variables, in dashboard order.
    pub variables: Vec<TemplateVariable>,
    /// The Perses `Dashboard` resource: `kind`, `metadata.name` (no project), `spec`.
    pub dashboard: Value,
}

/// Where each template comes from, and what the dashboard JSON does not say.
struct Entry {
    id: &'static str,
    version: u32,
    category: Category,
    workload_kinds: &'static [&'static str],
    /// Variables [`instantiate`] must be given (the workload and its namespace).
    required: &'static [&'static str],
    json: &'static str,
}

const ENTRIES: [Entry; 7] = [
    Entry {
        id: "model-serving-kserve",
        version: 1,
        category: Category::ModelServing,
        workload_kinds: &["InferenceService"],
        required: &["namespace", "model"],
        json: include_str!("../templates/model-serving-kserve.json"),
    },
    Entry {
        id: "model-serving-triton",
        version: 1,
        category: Category::ModelServing,
        workload_kinds: &["InferenceService", "Deployment"],
        required: &["namespace", "model"],
        json: include_str!("../templates/model-serving-triton.json"),
    },
    Entry {
        id: "llm-serving-vllm",
        version: 1,
        category: Category::LlmServing,
        workload_kinds: &["InferenceService", "LLMInferenceService", "Deployment"],
        required: &["namespace", "model"],
        json: include_str!("../templates/llm-serving-vllm.json"),
    },
    Entry {
        id: "training-job",
        version: 1,
        category: Category::Training,
        workload_kinds: &["PyTorchJob", "TFJob"],
        required: &["namespace", "job"],
        json: include_str!("../templates/training-job.json"),
    },
    Entry {
        id: "notebook-server",
        version: 1,
        category: Category::Notebook,
        workload_kinds: &["Notebook"],
        required: &["namespace", "notebook"],
        json: include_str!("../templates/notebook-server.json"),
    },
    Entry {
        id: "data-pipeline",
        version: 1,
        category: Category::Pipeline,
        workload_kinds: &["Workflow", "WorkflowTemplate", "PipelineRun"],
        required: &["namespace", "pipeline"],
        json: include_str!("../templates/data-pipeline.json"),
    },
    Entry {
        id: "gpu-fleet",
        version: 1,
        category: Category::Gpu,
        workload_kinds: &[],
        required: &[],
        json: include_str!("../templates/gpu-fleet.json"),
    },
];

static TEMPLATES: LazyLock<Vec<Template>> = LazyLock::new(|| ENTRIES.iter().map(load).collect());

/// Parses one embedded template. The files are part of this crate and checked by its tests,
/// so a parse failure is a build defect; it yields an empty dashboard rather than a panic.
fn load(entry: &Entry) -> Template {
    let dashboard: Value = serde_json::from_str(entry.json).unwrap_or(Value::Null);
    let display = &dashboard["spec"]["display"];
    let text = |field: &str| display[field].as_str().unwrap_or_default().to_owned();
    let variables = variables_of(&dashboard)
        .into_iter()
        .map(|mut variable| {
            variable.required = entry.required.contains(&variable.name.as_str());
            variable
        })
        .collect();
    Template {
        id: entry.id.to_owned(),
        version: entry.version,
        category: entry.category,
        title: text("name"),
        description: text("description"),
        workload_kinds: entry
            .workload_kinds
            .iter()
            .map(|kind| (*kind).to_owned())
            .collect(),
        variables,
        dashboard,
    }
}

/// The system templates, parsed once.
pub fn system_templates() -> &'static [Template] {
    &TEMPLATES
}

/// The system template with this id.
pub fn find(id: &str) -> Option<&'static Template> {
    system_templates().iter().find(|template| template.id == id)
}

/// The ListVariables and TextVariables of `dashboard` (`spec.variables`), in order. Each is
/// optional (`required: false`): a dashboard saved by a user works without values, the UI
/// picks the default or the first value found. [`Template::variables`] of the system
/// templates mark the workload and its namespace as required instead.
pub fn variables_of(dashboard: &Value) -> Vec<TemplateVariable> {
    let Some(variables) = dashboard["spec"]["variables"].as_array() else {
        return Vec::new();
    };
    variables
        .iter()
        .filter(|variable| {
            matches!(
                variable["kind"].as_str(),
                Some("ListVariable" | "TextVariable")
            )
        })
        .filter_map(|variable| {
            let spec = &variable["spec"];
            let name = spec["name"].as_str()?.to_owned();
            let display = &spec["display"];
            let description = display["description"]
                .as_str()
                .or_else(|| display["name"].as_str())
                .unwrap_or_default()
                .to_owned();
            let default = if variable["kind"] == "TextVariable" {
                spec["value"].as_str().map(str::to_owned)
            } else {
                match &spec["defaultValue"] {
                    Value::String(value) => Some(value.clone()),
                    Value::Array(values) => Some(
                        values
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    _ => None,
                }
            };
            Some(TemplateVariable {
                name,
                description,
                required: false,
                default,
            })
        })
        .collect()
}

/// Why [`instantiate`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InstantiateError {
    /// A required variable was neither given nor defaulted.
    #[error("variable {0:?} is required: give it a value (e.g. \"variables\": {{\"{0}\": \"…\"}})")]
    MissingVariable(String),
    /// A value was given for a variable the template does not have.
    #[error("the template has no variable {0:?}: use one of {known}", known = known_list(.1))]
    UnknownVariable(String, Vec<String>),
    /// A value has the wrong JSON type.
    #[error("variable {name:?} must be {expected}")]
    WrongType {
        /// The variable.
        name: String,
        /// What it accepts, in words ("a string", "a string or an array of strings").
        expected: String,
    },
    /// The template itself is not a dashboard with a `spec`.
    #[error("the template is not a Perses dashboard: {0}")]
    InvalidTemplate(String),
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        "none (it has no variables)".to_owned()
    } else {
        known.join(", ")
    }
}

/// A copy of `dashboard` as a `Dashboard` of `project` named `name`, each variable given in
/// `given` set as the ListVariable's `defaultValue` (a TextVariable's `value`).
///
/// * `metadata` is exactly `{name, project}` (no server-managed fields);
/// * `spec.display.name` is the template's title, followed by the values given for the
///   required variables (`LLM serving: vLLM — ml-serving / llm-chat`) so that dashboards made
///   from one template can be told apart;
/// * a value is a string, or an array of strings for a variable with `allowMultiple`;
/// * a required variable (per `variables`) without a value and without a default is
///   [`InstantiateError::MissingVariable`]; a name not in `variables` is
///   [`InstantiateError::UnknownVariable`]; a number, boolean, object or null, an array for a
///   single-value variable or an array holding anything but strings is
///   [`InstantiateError::WrongType`].
pub fn instantiate(
    dashboard: &Value,
    variables: &[TemplateVariable],
    project: &str,
    name: &str,
    given: &BTreeMap<String, Value>,
) -> Result<Value, InstantiateError> {
    let Some(spec) = dashboard.get("spec").and_then(Value::as_object) else {
        return Err(InstantiateError::InvalidTemplate(
            "it has no spec object".to_owned(),
        ));
    };
    let known: Vec<String> = variables.iter().map(|v| v.name.clone()).collect();
    if let Some(unknown) = given.keys().find(|key| !known.contains(key)) {
        return Err(InstantiateError::UnknownVariable(unknown.clone(), known));
    }
    for variable in variables {
        if variable.required && variable.default.is_none() && !given.contains_key(&variable.name) {
            return Err(InstantiateError::MissingVariable(variable.name.clone()));
        }
    }
    let mut spec = spec.clone();
    if let Some(Value::Array(list)) = spec.get_mut("variables") {
        for variable in list.iter_mut() {
            set_variable(variable, given)?;
        }
    }
    let title = dashboard["spec"]["display"]["name"]
        .as_str()
        .or_else(|| dashboard["metadata"]["name"].as_str())
        .unwrap_or(name)
        .to_owned();
    let chosen: Vec<String> = variables
        .iter()
        .filter(|v| v.required)
        .filter_map(|v| given.get(&v.name).map(display_value))
        .collect();
    let display_name = if chosen.is_empty() {
        title
    } else {
        format!("{title} — {}", chosen.join(" / "))
    };
    let display = spec
        .entry("display")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(display) = display {
        display.insert("name".to_owned(), Value::String(display_name));
    }
    Ok(json!({
        "kind": "Dashboard",
        "metadata": {"name": name, "project": project},
        "spec": spec,
    }))
}

fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(values) => values
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

/// Writes the given value, if any, into one dashboard variable after checking its type.
fn set_variable(
    variable: &mut Value,
    given: &BTreeMap<String, Value>,
) -> Result<(), InstantiateError> {
    let kind = variable["kind"].as_str().unwrap_or_default().to_owned();
    let Some(spec) = variable.get_mut("spec").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    let Some(name) = spec.get("name").and_then(Value::as_str).map(str::to_owned) else {
        return Ok(());
    };
    let Some(value) = given.get(&name) else {
        return Ok(());
    };
    let wrong = |expected: &str| InstantiateError::WrongType {
        name: name.clone(),
        expected: expected.to_owned(),
    };
    if kind == "TextVariable" {
        let Value::String(text) = value else {
            return Err(wrong("a string"));
        };
        spec.insert("value".to_owned(), Value::String(text.clone()));
        return Ok(());
    }
    let multiple = spec
        .get("allowMultiple")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let expected = if multiple {
        "a string or an array of strings"
    } else {
        "a string (the variable takes one value)"
    };
    match value {
        Value::String(_) => {}
        Value::Array(values) if multiple && values.iter().all(Value::is_string) => {}
        _ => return Err(wrong(expected)),
    }
    spec.insert("defaultValue".to_owned(), value.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_parse_and_print_in_kebab_case() {
        for category in Category::ALL {
            assert_eq!(category.as_str().parse::<Category>(), Ok(category));
            assert_eq!(
                serde_json::to_value(category).ok(),
                Some(Value::String(category.to_string()))
            );
        }
        let error = "gpus".parse::<Category>().err().map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "unknown template category \"gpus\": use one of model-serving, llm-serving, training, notebook, pipeline, gpu"
            )
        );
    }
}
