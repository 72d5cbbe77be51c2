//! Which system template fits a workload, and the values of its required variables: each
//! value is the one the template's variable selects (`model` → the runtime's model label,
//! `job` / `notebook` → `kube_pod_owner`'s `owner_name`, `pipeline` → the WorkflowTemplate).

use std::collections::BTreeMap;

use serde_json::Value;

/// What serves an InferenceService's model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    Vllm,
    Triton,
    KServe,
}

impl Runtime {
    fn template(self) -> &'static str {
        match self {
            Self::Vllm => "llm-serving-vllm",
            Self::Triton => "model-serving-triton",
            Self::KServe => "model-serving-kserve",
        }
    }

    /// From a serving runtime's name or a model format (KServe's built-in runtimes:
    /// `kserve-vllm`/`huggingface` for LLMs, `kserve-tritonserver` for `triton`, `tensorrt`,
    /// `onnx`; `vllm-runtime` and the like on OpenShift AI).
    fn from_word(word: &str) -> Option<Self> {
        let word = word.to_ascii_lowercase();
        if word.contains("vllm") || word.contains("huggingface") {
            Some(Self::Vllm)
        } else if word.contains("triton") || word == "tensorrt" || word == "onnx" {
            Some(Self::Triton)
        } else if word.is_empty() {
            None
        } else {
            Some(Self::KServe)
        }
    }

    /// The runtime of an InferenceService resource: its predictor's `runtime`, then its
    /// `modelFormat.name`, then the legacy predictor fields and container images.
    pub(crate) fn of_inference_service(resource: &Value) -> Self {
        let predictor = &resource["spec"]["predictor"];
        let model = &predictor["model"];
        if let Some(runtime) = model["runtime"].as_str().and_then(Self::from_word) {
            return runtime;
        }
        if let Some(format) = model
            .pointer("/modelFormat/name")
            .and_then(Value::as_str)
            .and_then(Self::from_word)
        {
            return format;
        }
        if predictor.get("triton").is_some() || predictor.get("onnx").is_some() {
            return Self::Triton;
        }
        if predictor.get("huggingface").is_some() {
            return Self::Vllm;
        }
        let images = predictor["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["image"].as_str());
        for image in images {
            if image.contains("vllm") {
                return Self::Vllm;
            }
            if image.contains("tritonserver") {
                return Self::Triton;
            }
        }
        Self::KServe
    }
}

/// The model name an InferenceService's runtime reports: `--served-model-name` (vLLM) or
/// `--model_name` (KServe's servers) among the predictor's arguments, else the resource's
/// name (what KServe passes by default).
pub(crate) fn served_model_name(resource: &Value, name: &str) -> String {
    let predictor = &resource["spec"]["predictor"];
    let args = predictor["model"]["args"]
        .as_array()
        .into_iter()
        .chain(
            predictor["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["args"].as_array()),
        )
        .flatten()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>();
    const FLAGS: [&str; 3] = ["--served-model-name", "--model_name", "--model-name"];
    for (i, arg) in args.iter().enumerate() {
        for flag in FLAGS {
            if let Some(value) = arg.strip_prefix(flag).and_then(|r| r.strip_prefix('=')) {
                return value.to_owned();
            }
            if *arg == flag
                && let Some(value) = args.get(i + 1)
            {
                return (*value).to_owned();
            }
        }
    }
    name.to_owned()
}

/// The template and variables of a workload. `value` is what the template's workload variable
/// selects (the model name, the job, the notebook, the WorkflowTemplate); `None` means no
/// template fits (a Workflow that no WorkflowTemplate started).
pub(crate) fn fit(
    kind: &str,
    namespace: &str,
    runtime: Option<Runtime>,
    value: Option<&str>,
) -> (Option<&'static str>, BTreeMap<String, String>) {
    let (template, variable) = match kind {
        "InferenceService" => (runtime.unwrap_or(Runtime::KServe).template(), "model"),
        "PyTorchJob" | "TFJob" => ("training-job", "job"),
        "Notebook" => ("notebook-server", "notebook"),
        "Workflow" | "WorkflowTemplate" => ("data-pipeline", "pipeline"),
        _ => return (None, BTreeMap::new()),
    };
    let Some(value) = value else {
        return (None, BTreeMap::new());
    };
    // Only a template that exists, fits the kind and asks for these variables is offered.
    let fits = pharos_templates::find(template).is_some_and(|t| {
        t.workload_kinds.iter().any(|k| k == kind)
            && t.variables
                .iter()
                .filter(|v| v.required)
                .all(|v| v.name == "namespace" || v.name == variable)
    });
    if !fits {
        return (None, BTreeMap::new());
    }
    let variables = BTreeMap::from([
        ("namespace".to_owned(), namespace.to_owned()),
        (variable.to_owned(), value.to_owned()),
    ]);
    (Some(template), variables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn runtimes_from_runtime_format_and_images() {
        let isvc = |predictor: Value| json!({"spec": {"predictor": predictor}});
        let of = |p: Value| Runtime::of_inference_service(&isvc(p));
        assert_eq!(
            of(json!({"model": {"modelFormat": {"name": "huggingface"}}})),
            Runtime::Vllm
        );
        assert_eq!(
            of(json!({"model": {"modelFormat": {"name": "pytorch"}, "runtime": "vllm-runtime"}})),
            Runtime::Vllm
        );
        assert_eq!(
            of(json!({"model": {"modelFormat": {"name": "onnx"}}})),
            Runtime::Triton
        );
        assert_eq!(
            of(json!({"model": {"modelFormat": {"name": "sklearn"}}})),
            Runtime::KServe
        );
        assert_eq!(
            of(json!({"containers": [{"image": "nvcr.io/nvidia/tritonserver:25.06-py3"}]})),
            Runtime::Triton
        );
        assert_eq!(of(json!({})), Runtime::KServe);
    }

    #[test]
    fn served_model_name_from_arguments() {
        let isvc = json!({"spec": {"predictor": {"model": {"args": ["--served-model-name=chat", "--dtype", "half"]}}}});
        assert_eq!(served_model_name(&isvc, "llm-chat"), "chat");
        let isvc = json!({"spec": {"predictor": {"model": {"args": ["--model_name", "fraud"]}}}});
        assert_eq!(served_model_name(&isvc, "x"), "fraud");
        assert_eq!(served_model_name(&json!({}), "x"), "x");
    }

    #[test]
    fn templates_and_variables() {
        let (template, variables) = fit("PyTorchJob", "ml-training", None, Some("resnet"));
        assert_eq!(template, Some("training-job"));
        assert_eq!(variables["job"], "resnet");
        assert_eq!(variables["namespace"], "ml-training");
        let (template, _) = fit("InferenceService", "ns", Some(Runtime::Vllm), Some("m"));
        assert_eq!(template, Some("llm-serving-vllm"));
        assert_eq!(fit("Workflow", "ns", None, None).0, None);
        assert_eq!(fit("Deployment", "ns", None, Some("x")).0, None);
    }
}
