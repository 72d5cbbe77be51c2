//! `GET /api/v1/projects/{project}/workloads`: metrics mode over kube-state-metrics series
//! shaped as the simulator and real clusters write them (evaluated by the embedded engine,
//! through the project's tenant enforcement), Kubernetes mode against the fake API server
//! (real list envelopes, a missing CRD, a refused list, lying answers), and access.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::http::{Method, StatusCode};
use common::{Answer, Backend, TestApp};
use pharos_fakes::kube::FakeKubeApi;
use pharos_query::{LocalMetrics, QueryOptions};
use pharos_server::{ServerSettings, router};
use pharos_tsdb::{Db, Labels, Options};
use serde_json::{Value, json};

const SERVICE_ACCOUNT_TOKEN: &str = "pharos-service-account-token";

/// One pod as kube-state-metrics reports it: owner, labels (already `label_…`), phase.
struct Pod<'a> {
    namespace: &'a str,
    name: &'a str,
    owner: (&'a str, &'a str),
    labels: &'a [(&'a str, &'a str)],
    phase: &'a str,
}

const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/// A series' labels and its two values (four minutes and one minute ago).
type TestSeries<'a> = (Vec<(&'a str, &'a str)>, f64, f64);

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Appends `(labels, value)` at two times of the last few minutes.
fn append(db: &Db, series: &[TestSeries<'_>]) {
    let mut appender = db.appender();
    let now = now_ms();
    for (labels, earlier, later) in series {
        let labels = Labels::new(labels.iter().copied()).unwrap();
        appender.append(&labels, now - 240_000, *earlier).unwrap();
        appender.append(&labels, now - 60_000, *later).unwrap();
    }
    appender.commit().unwrap();
}

fn pod_series<'a>(pod: &'a Pod<'a>) -> Vec<TestSeries<'a>> {
    let base = vec![
        ("cluster", "gpu-east"),
        ("namespace", pod.namespace),
        ("pod", pod.name),
        ("job", "kube-state-metrics"),
    ];
    let with = |name: &'a str, extra: &[(&'a str, &'a str)]| {
        let mut labels = base.clone();
        labels.push(("__name__", name));
        labels.extend_from_slice(extra);
        labels
    };
    let mut out = vec![
        (
            with(
                "kube_pod_owner",
                &[
                    ("owner_kind", pod.owner.0),
                    ("owner_name", pod.owner.1),
                    ("owner_is_controller", "true"),
                ],
            ),
            1.0,
            1.0,
        ),
        (with("kube_pod_labels", pod.labels), 1.0, 1.0),
    ];
    for phase in PHASES {
        let value = if phase == pod.phase { 1.0 } else { 0.0 };
        out.push((
            with("kube_pod_status_phase", &[("phase", phase)]),
            value,
            value,
        ));
    }
    out
}

/// The simulator's workloads (same owners, labels and runtime metrics) plus real-cluster
/// shapes: a predictor without exported labels, an Argo workflow pod, and pods that are no
/// AI workload.
fn load_cluster(db: &Db) {
    let isvc = |name: &'static str| {
        vec![
            ("label_serving_kserve_io_inferenceservice", name),
            ("label_component", "predictor"),
        ]
    };
    let llm = isvc("llm-chat");
    let embeddings = isvc("embeddings");
    let reranker = isvc("reranker");
    let transformer = vec![
        ("label_serving_kserve_io_inferenceservice", "reranker"),
        ("label_component", "transformer"),
    ];
    let pods = [
        Pod {
            namespace: "ml-serving",
            name: "llm-chat-predictor-00001-deployment-5d8f9c7b4-x2x9z",
            owner: (
                "ReplicaSet",
                "llm-chat-predictor-00001-deployment-5d8f9c7b4",
            ),
            labels: &llm,
            phase: "Running",
        },
        Pod {
            namespace: "ml-serving",
            name: "llm-chat-predictor-00001-deployment-5d8f9c7b4-k8p4q",
            owner: (
                "ReplicaSet",
                "llm-chat-predictor-00001-deployment-5d8f9c7b4",
            ),
            labels: &llm,
            phase: "Running",
        },
        Pod {
            namespace: "ml-serving",
            name: "embeddings-predictor-00001-deployment-66b7d-9fj2k",
            owner: ("ReplicaSet", "embeddings-predictor-00001-deployment-66b7d"),
            labels: &embeddings,
            phase: "Running",
        },
        Pod {
            namespace: "ml-serving",
            name: "reranker-predictor-00001-deployment-7c4f-2lq8d",
            owner: ("ReplicaSet", "reranker-predictor-00001-deployment-7c4f"),
            labels: &reranker,
            phase: "Pending",
        },
        Pod {
            namespace: "ml-serving",
            name: "reranker-transformer-00001-deployment-51a-k1k1k",
            owner: ("ReplicaSet", "reranker-transformer-00001-deployment-51a"),
            labels: &transformer,
            phase: "Running",
        },
        // Real cluster without `--metric-labels-allowlist`: only the owner tells.
        Pod {
            namespace: "ml-serving",
            name: "sentiment-predictor-6f7d8c9b5-abcde",
            owner: ("ReplicaSet", "sentiment-predictor-6f7d8c9b5"),
            labels: &[],
            phase: "Running",
        },
        Pod {
            namespace: "ml-serving",
            name: "web-7c9b8d-zzzzz",
            owner: ("ReplicaSet", "web-7c9b8d"),
            labels: &[("label_app", "web")],
            phase: "Running",
        },
        Pod {
            namespace: "ml-training",
            name: "llama-8b-finetune-master-0",
            owner: ("PyTorchJob", "llama-8b-finetune"),
            labels: &[
                ("label_training_kubeflow_org_job_name", "llama-8b-finetune"),
                ("label_training_kubeflow_org_replica_type", "master"),
            ],
            phase: "Running",
        },
        Pod {
            namespace: "ml-training",
            name: "resnet50-imagenet-chief-0",
            owner: ("TFJob", "resnet50-imagenet"),
            labels: &[("label_training_kubeflow_org_job_name", "resnet50-imagenet")],
            phase: "Succeeded",
        },
        Pod {
            namespace: "team-a",
            name: "alice-0",
            owner: ("StatefulSet", "alice"),
            labels: &[
                ("label_notebook_name", "alice"),
                ("label_statefulset", "alice"),
                ("label_app", "alice"),
            ],
            phase: "Running",
        },
        Pod {
            namespace: "team-b",
            name: "bob-0",
            owner: ("StatefulSet", "bob"),
            labels: &[
                ("label_notebook_name", "bob"),
                ("label_statefulset", "bob"),
                ("label_app", "bob"),
            ],
            phase: "Pending",
        },
        Pod {
            namespace: "team-a",
            name: "postgres-0",
            owner: ("StatefulSet", "postgres"),
            labels: &[("label_app", "postgres")],
            phase: "Running",
        },
        Pod {
            namespace: "team-a",
            name: "clickstream-etl-x7k2p-extract-1234",
            owner: ("Workflow", "clickstream-etl-x7k2p"),
            labels: &[(
                "label_workflows_argoproj_io_workflow",
                "clickstream-etl-x7k2p",
            )],
            phase: "Running",
        },
        Pod {
            namespace: "team-a",
            name: "adhoc-report-q9w8e",
            owner: ("Workflow", "adhoc-report"),
            labels: &[],
            phase: "Failed",
        },
        Pod {
            namespace: "team-a",
            name: "clickstream-etl-consumer-6c8d9f7b5-abcde",
            owner: ("ReplicaSet", "clickstream-etl-consumer-6c8d9f7b5"),
            labels: &[("label_app", "clickstream-etl-consumer")],
            phase: "Running",
        },
    ];
    for pod in &pods {
        append(db, &pod_series(pod));
    }
    let runtime = |name: &'static str, pod: &'static str, model: (&'static str, &'static str)| {
        (
            vec![
                ("__name__", name),
                ("cluster", "gpu-east"),
                ("namespace", "ml-serving"),
                ("pod", pod),
                ("job", "kserve-models"),
                model,
            ],
            3.0,
            5.0,
        )
    };
    let pipeline = |name: &'static str,
                    namespace: &'static str,
                    metric: &'static str,
                    phase: Option<&'static str>,
                    values: (f64, f64)| {
        let mut labels = vec![
            ("__name__", metric),
            ("cluster", "gpu-east"),
            ("namespace", namespace),
            ("name", name),
            ("job", "workflow-controller-metrics"),
        ];
        if let Some(phase) = phase {
            labels.push(("phase", phase));
        }
        (labels, values.0, values.1)
    };
    append(
        db,
        &[
            runtime(
                "vllm:num_requests_running",
                "llm-chat-predictor-00001-deployment-5d8f9c7b4-x2x9z",
                ("model_name", "llm-chat"),
            ),
            runtime(
                "nv_inference_request_success",
                "embeddings-predictor-00001-deployment-66b7d-9fj2k",
                ("model", "embeddings"),
            ),
            runtime(
                "request_predict_seconds_count",
                "reranker-predictor-00001-deployment-7c4f-2lq8d",
                ("model_name", "reranker"),
            ),
            pipeline(
                "clickstream-etl",
                "team-a",
                "argo_workflows_workflowtemplate_runtime_count",
                None,
                (40.0, 41.0),
            ),
            pipeline(
                "clickstream-etl",
                "team-a",
                "argo_workflows_workflowtemplate_triggered_total",
                Some("Succeeded"),
                (40.0, 41.0),
            ),
            pipeline(
                "feature-ingest",
                "team-b",
                "argo_workflows_workflowtemplate_runtime_count",
                None,
                (12.0, 12.0),
            ),
            pipeline(
                "feature-ingest",
                "team-b",
                "argo_workflows_workflowtemplate_triggered_total",
                Some("Failed"),
                (1.0, 2.0),
            ),
        ],
    );
}

/// An app whose default datasource is the embedded store, loaded with [`load_cluster`].
async fn metrics_app() -> (TestApp, tempfile::TempDir) {
    let mut app = TestApp::new(Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    load_cluster(&db);
    let metrics = Arc::new(LocalMetrics::new(Arc::clone(&db), QueryOptions::default()));
    app.state = app.state.clone().with_metrics(metrics);
    app.app = router(app.state.clone());
    // Never contacted: the embedded store answers the `local` datasource in process.
    pharos_server::prom_api::ensure_local_datasource(&app.state, "127.0.0.1:9".parse().unwrap())
        .await
        .unwrap();
    (app, dir)
}

fn workloads(answer: &Answer) -> &Vec<Value> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["workloads"].as_array().expect("workloads")
}

fn find<'a>(answer: &'a Answer, kind: &str, name: &str) -> &'a Value {
    workloads(answer)
        .iter()
        .find(|w| w["kind"] == kind && w["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {}", answer.text))
}

fn names(answer: &Answer) -> Vec<String> {
    workloads(answer)
        .iter()
        .map(|w| {
            format!(
                "{}/{}/{}",
                w["namespace"].as_str().unwrap(),
                w["kind"].as_str().unwrap(),
                w["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn metrics_mode_finds_every_kind_with_its_template_and_variables() {
    let (app, _dir) = metrics_app().await;
    app.project("ai", &["ml-serving", "ml-training", "team-a", "team-b"])
        .await;
    let answer = app.get("/api/v1/projects/ai/workloads").await;
    assert_eq!(answer.body["source"], "metrics", "{}", answer.text);
    assert_eq!(answer.body["warnings"], json!([]), "{}", answer.text);
    assert_eq!(
        names(&answer),
        [
            "ml-serving/InferenceService/embeddings",
            "ml-serving/InferenceService/llm-chat",
            "ml-serving/InferenceService/reranker",
            "ml-serving/InferenceService/sentiment",
            "ml-training/PyTorchJob/llama-8b-finetune",
            "ml-training/TFJob/resnet50-imagenet",
            "team-a/Notebook/alice",
            "team-a/Workflow/adhoc-report",
            "team-a/WorkflowTemplate/clickstream-etl",
            "team-b/Notebook/bob",
            "team-b/WorkflowTemplate/feature-ingest",
        ]
    );
    assert_eq!(
        find(&answer, "InferenceService", "llm-chat"),
        &json!({"kind": "InferenceService", "name": "llm-chat", "namespace": "ml-serving",
            "status": "Running", "template": "llm-serving-vllm",
            "variables": {"namespace": "ml-serving", "model": "llm-chat"}, "pods": 2})
    );
    let embeddings = find(&answer, "InferenceService", "embeddings");
    assert_eq!(embeddings["template"], "model-serving-triton");
    assert_eq!(embeddings["variables"]["model"], "embeddings");
    let reranker = find(&answer, "InferenceService", "reranker");
    assert_eq!(reranker["template"], "model-serving-kserve");
    assert_eq!(reranker["status"], "Pending");
    assert_eq!(
        reranker["pods"], 1,
        "the transformer pod is not the predictor"
    );
    // No labels and no runtime metrics: the owner's name tells, KServe's server is assumed.
    let sentiment = find(&answer, "InferenceService", "sentiment");
    assert_eq!(sentiment["template"], "model-serving-kserve");
    assert_eq!(
        sentiment["variables"],
        json!({"namespace": "ml-serving", "model": "sentiment"})
    );
    let job = find(&answer, "PyTorchJob", "llama-8b-finetune");
    assert_eq!(job["template"], "training-job");
    assert_eq!(
        job["variables"],
        json!({"namespace": "ml-training", "job": "llama-8b-finetune"})
    );
    assert_eq!(job["status"], "Running");
    assert_eq!(
        find(&answer, "TFJob", "resnet50-imagenet")["status"],
        "Succeeded"
    );
    let notebook = find(&answer, "Notebook", "alice");
    assert_eq!(notebook["template"], "notebook-server");
    assert_eq!(
        notebook["variables"],
        json!({"namespace": "team-a", "notebook": "alice"})
    );
    assert_eq!(find(&answer, "Notebook", "bob")["status"], "Pending");
    let pipeline = find(&answer, "WorkflowTemplate", "clickstream-etl");
    assert_eq!(pipeline["template"], "data-pipeline");
    assert_eq!(
        pipeline["variables"],
        json!({"namespace": "team-a", "pipeline": "clickstream-etl"})
    );
    assert_eq!(pipeline["status"], "Running", "its run's pod is running");
    assert_eq!(pipeline["pods"], 1);
    assert_eq!(
        find(&answer, "WorkflowTemplate", "feature-ingest")["status"],
        "Failed"
    );
    // A workflow no WorkflowTemplate started: listed, but no template selects it.
    let adhoc = find(&answer, "Workflow", "adhoc-report");
    assert_eq!(adhoc["template"], Value::Null);
    assert_eq!(adhoc["variables"], json!({}));
    assert_eq!(adhoc["status"], "Failed");
}

#[tokio::test]
async fn metrics_mode_sees_only_the_project_namespaces() {
    let (app, _dir) = metrics_app().await;
    app.project("serving", &["ml-serving"]).await;
    let answer = app.get("/api/v1/projects/serving/workloads").await;
    let listed = names(&answer);
    assert_eq!(listed.len(), 4, "{listed:?}");
    assert!(
        listed.iter().all(|n| n.starts_with("ml-serving/")),
        "{listed:?}"
    );
    // Without namespaces a project is unrestricted, as in the proxy: everything shows.
    app.project("everything", &[]).await;
    let answer = app.get("/api/v1/projects/everything/workloads").await;
    assert_eq!(names(&answer).len(), 11, "{}", answer.text);
}

/// A Prometheus that records the queries it is asked and answers with no series.
async fn recording_prometheus() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let handler = move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let record = Arc::clone(&record);
        async move {
            let form = url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .into_owned()
                .chain(url::form_urlencoded::parse(&body).into_owned())
                .collect::<Vec<_>>();
            for (key, value) in form {
                if key == "query" {
                    record.lock().unwrap().push(value);
                }
            }
            axum::Json(json!({"status": "success", "data": {"resultType": "matrix", "result": []}}))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            axum::Router::new().fallback(axum::routing::any(handler)),
        )
        .await
    });
    (url, seen)
}

async fn project_with_datasource(app: &TestApp, project: &str, namespaces: &[&str], url: &str) {
    app.project(project, namespaces).await;
    let datasource = json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"default": true,
        "plugin": {"kind": "PrometheusDatasource", "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": url}}}}}});
    let created = app
        .post(
            &format!("/api/v1/projects/{project}/datasources"),
            datasource,
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
}

#[tokio::test]
async fn the_queries_that_go_upstream_carry_the_tenant_matcher() {
    let app = TestApp::new(Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    let (url, seen) = recording_prometheus().await;
    project_with_datasource(&app, "serving", &["ml-serving"], &url).await;
    let answer = app.get("/api/v1/projects/serving/workloads").await;
    assert_eq!(workloads(&answer).len(), 0);
    assert_eq!(answer.body["warnings"], json!([]), "{}", answer.text);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 8, "{seen:?}");
    for query in &seen {
        assert!(
            query.contains("kube_")
                || query.contains("vllm:")
                || query.contains("nv_")
                || query.contains("request_predict")
                || query.contains("argo_"),
            "{query}"
        );
        assert!(
            query.contains("namespace=\"ml-serving\"")
                || query.contains("namespace=~\"ml-serving\""),
            "no tenant matcher: {query}"
        );
    }
}

#[tokio::test]
async fn a_datasource_that_is_down_gives_an_empty_list_and_a_warning() {
    let app = TestApp::new(Backend::Sqlite, ServerSettings::default())
        .await
        .unwrap();
    // Nothing listens on port 9 of the loopback.
    project_with_datasource(&app, "serving", &["ml-serving"], "http://127.0.0.1:9").await;
    let answer = app.get("/api/v1/projects/serving/workloads").await;
    assert_eq!(workloads(&answer).len(), 0);
    let warnings = answer.body["warnings"].as_array().unwrap();
    assert_eq!(
        warnings.len(),
        1,
        "one warning, not one per query: {warnings:?}"
    );
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .contains("cannot read kube-state-metrics"),
        "{warnings:?}"
    );
}

both_backends!(
    unknown_and_hidden_projects_are_not_found_viewers_may_list,
    |app: TestApp| async move {
        app.project("ai", &["ml-serving"]).await;
        let missing = app.get("/api/v1/projects/nope/workloads").await;
        assert_eq!(missing.status, StatusCode::NOT_FOUND, "{}", missing.text);
        let eve = app.user("eve").await;
        let hidden = app
            .send_as(&eve, Method::GET, "/api/v1/projects/ai/workloads", None)
            .await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
        let unknown = app
            .send_as(&eve, Method::GET, "/api/v1/projects/nope/workloads", None)
            .await;
        assert_eq!(unknown.status, hidden.status);
        assert_eq!(
            unknown.body, hidden.body,
            "a hidden project answers like a missing one"
        );
        // A viewer of the project may list them (the project has no datasource: a warning).
        let bound = app
            .post(
                "/api/v1/projects/ai/rolebindings",
                json!({"kind": "RoleBinding", "metadata": {"name": "eve-viewer"},
                    "spec": {"role": "viewer", "subjects": [{"kind": "User", "name": "eve"}]}}),
            )
            .await;
        assert_eq!(bound.status, StatusCode::OK, "{}", bound.text);
        let viewed = app
            .send_as(&eve, Method::GET, "/api/v1/projects/ai/workloads", None)
            .await;
        assert_eq!(viewed.status, StatusCode::OK, "{}", viewed.text);
        assert_eq!(viewed.body["source"], "metrics");
        assert_eq!(viewed.body["workloads"], json!([]));
        let warnings = viewed.body["warnings"].as_array().map(Vec::len);
        assert_eq!(warnings, Some(1), "{}", viewed.text);
        let anonymous = app
            .anonymous(Method::GET, "/api/v1/projects/ai/workloads", None)
            .await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            anonymous.text
        );
    }
);

// ---- Kubernetes mode ----------------------------------------------------------------------

struct Cluster {
    app: TestApp,
    api: FakeKubeApi,
    _dir: tempfile::TempDir,
}

async fn cluster(tune: impl FnOnce(&mut ServerSettings)) -> Cluster {
    let api = FakeKubeApi::start(SERVICE_ACCOUNT_TOKEN).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{SERVICE_ACCOUNT_TOKEN}\n")).unwrap();
    let mut settings = ServerSettings::default();
    settings.security.kubernetes.api_server = api.url().to_owned();
    settings.security.kubernetes.token_file = token_file;
    settings.security.kubernetes.ca_file = dir.path().join("no-ca.crt");
    settings.workloads.kubernetes = true;
    tune(&mut settings);
    settings.validate().unwrap();
    let app = TestApp::new(Backend::Sqlite, settings).await.unwrap();
    Cluster {
        app,
        api,
        _dir: dir,
    }
}

fn object(api_version: &str, kind: &str, namespace: &str, name: &str, rest: Value) -> Value {
    let mut object = json!({"apiVersion": api_version, "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": {}}});
    for (key, value) in rest.as_object().unwrap() {
        if key == "metadata" {
            for (k, v) in value.as_object().unwrap() {
                object["metadata"][k] = v.clone();
            }
        } else {
            object[key] = value.clone();
        }
    }
    object
}

fn conditions(list: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = list
        .iter()
        .map(|(kind, status)| json!({"type": kind, "status": status, "lastTransitionTime": "2025-06-01T08:05:00Z"}))
        .collect();
    json!(list)
}

/// KServe, Kubeflow and Argo objects as their controllers leave them.
fn load_objects(api: &FakeKubeApi) {
    let isvc = |name: &str, predictor: Value, ready: &str| {
        object(
            "serving.kserve.io/v1beta1",
            "InferenceService",
            "ml-serving",
            name,
            json!({
            "spec": {"predictor": predictor},
            "status": {"conditions": conditions(&[("IngressReady", ready), ("PredictorReady", ready), ("Ready", ready)]),
                "url": format!("http://{name}.ml-serving.example.com")}}),
        )
    };
    api.add_object("inferenceservices", isvc("llm-chat", json!({"model": {"modelFormat": {"name": "huggingface"},
        "args": ["--served-model-name=chat", "--max-model-len=8192"], "storageUri": "hf://meta-llama/Llama-3.1-8B-Instruct"}}), "True"));
    api.add_object("inferenceservices", isvc("embeddings", json!({"model": {"modelFormat": {"name": "triton"}, "storageUri": "s3://models/embeddings"}}), "True"));
    api.add_object("inferenceservices", isvc("fraud-detector", json!({"model": {"modelFormat": {"name": "sklearn"}, "storageUri": "gs://models/fraud"}}), "False"));
    api.add_object(
        "pytorchjobs",
        object(
            "kubeflow.org/v1",
            "PyTorchJob",
            "ml-training",
            "llama-8b-finetune",
            json!({
        "spec": {"pytorchReplicaSpecs": {"Master": {"replicas": 1}, "Worker": {"replicas": 3}}},
        "status": {"conditions": conditions(&[("Created", "True"), ("Running", "True")]),
            "replicaStatuses": {"Master": {"active": 1}, "Worker": {"active": 3}}}}),
        ),
    );
    api.add_object("pytorchjobs", object("kubeflow.org/v1", "PyTorchJob", "ml-training", "bert-large-pretrain", json!({
        "status": {"conditions": conditions(&[("Created", "True"), ("Running", "False"), ("Failed", "True")]),
            "replicaStatuses": {"Master": {"failed": 1}}}})));
    api.add_object("notebooks", object("kubeflow.org/v1", "Notebook", "team-a", "alice", json!({
        "spec": {"template": {"spec": {"containers": [{"name": "alice", "image": "kubeflownotebookswg/jupyter-scipy:v1.9.2"}]}}},
        "status": {"readyReplicas": 1, "conditions": conditions(&[("Ready", "True")])}})));
    // The Notebook's own StatefulSet is not listed twice; a plain Jupyter StatefulSet is.
    api.add_object("statefulsets", object("apps/v1", "StatefulSet", "team-a", "alice", json!({
        "metadata": {"labels": {"app": "jupyter"}}, "spec": {"replicas": 1}, "status": {"replicas": 1, "readyReplicas": 1}})));
    api.add_object("statefulsets", object("apps/v1", "StatefulSet", "team-a", "lab", json!({
        "metadata": {"labels": {"app": "jupyter"}}, "spec": {"replicas": 1}, "status": {"replicas": 1, "readyReplicas": 0}})));
    api.add_object("statefulsets", object("apps/v1", "StatefulSet", "team-a", "postgres", json!({
        "metadata": {"labels": {"app": "postgres"}}, "spec": {"replicas": 1}, "status": {"replicas": 1, "readyReplicas": 1}})));
    api.add_object(
        "workflowtemplates",
        object(
            "argoproj.io/v1alpha1",
            "WorkflowTemplate",
            "team-a",
            "clickstream-etl",
            json!({
        "spec": {"entrypoint": "main", "templates": [{"name": "main"}]}}),
        ),
    );
    api.add_object("workflows", object("argoproj.io/v1alpha1", "Workflow", "team-a", "clickstream-etl-1717228800", json!({
        "metadata": {"creationTimestamp": "2025-06-01T08:00:00Z", "labels": {"workflows.argoproj.io/workflow-template": "clickstream-etl"}},
        "spec": {"workflowTemplateRef": {"name": "clickstream-etl"}}, "status": {"phase": "Failed"}})));
    api.add_object("workflows", object("argoproj.io/v1alpha1", "Workflow", "team-a", "clickstream-etl-1717229400", json!({
        "metadata": {"creationTimestamp": "2025-06-01T08:10:00Z", "labels": {"workflows.argoproj.io/workflow-template": "clickstream-etl"}},
        "spec": {"workflowTemplateRef": {"name": "clickstream-etl"}}, "status": {"phase": "Succeeded"}})));
    api.add_object(
        "workflows",
        object(
            "argoproj.io/v1alpha1",
            "Workflow",
            "team-a",
            "adhoc-x8z2q",
            json!({
        "spec": {"entrypoint": "main"}, "status": {"phase": "Running"}}),
        ),
    );
    // Elsewhere: never asked for by a project limited to its namespaces.
    api.add_object(
        "inferenceservices",
        isvc(
            "other-team-model",
            json!({"model": {"modelFormat": {"name": "sklearn"}}}),
            "True",
        ),
    );
    let mut other = isvc("secret-model", json!({}), "True");
    other["metadata"]["namespace"] = json!("other-team");
    api.add_object("inferenceservices", other);
    // TFJob's CRD is not installed here (no `tfjobs` type): its lists answer 404.
}

#[tokio::test]
async fn kubernetes_mode_lists_the_resources_with_templates_and_variables() {
    let cluster = cluster(|_| {}).await;
    load_objects(&cluster.api);
    let app = &cluster.app;
    app.project("ai", &["ml-serving", "ml-training", "team-a"])
        .await;
    let answer = app.get("/api/v1/projects/ai/workloads").await;
    assert_eq!(answer.body["source"], "kubernetes", "{}", answer.text);
    // The missing TFJob CRD is normal: no warning.
    assert_eq!(answer.body["warnings"], json!([]), "{}", answer.text);
    assert_eq!(
        names(&answer),
        [
            "ml-serving/InferenceService/embeddings",
            "ml-serving/InferenceService/fraud-detector",
            "ml-serving/InferenceService/llm-chat",
            "ml-serving/InferenceService/other-team-model",
            "ml-training/PyTorchJob/bert-large-pretrain",
            "ml-training/PyTorchJob/llama-8b-finetune",
            "team-a/Notebook/alice",
            "team-a/StatefulSet/lab",
            "team-a/Workflow/adhoc-x8z2q",
            "team-a/WorkflowTemplate/clickstream-etl",
        ]
    );
    assert_eq!(
        find(&answer, "InferenceService", "llm-chat"),
        &json!({"kind": "InferenceService", "name": "llm-chat", "namespace": "ml-serving",
            "status": "Ready", "template": "llm-serving-vllm",
            "variables": {"namespace": "ml-serving", "model": "chat"}, "pods": null})
    );
    assert_eq!(
        find(&answer, "InferenceService", "embeddings")["template"],
        "model-serving-triton"
    );
    let fraud = find(&answer, "InferenceService", "fraud-detector");
    assert_eq!(fraud["template"], "model-serving-kserve");
    assert_eq!(fraud["status"], "Pending");
    let job = find(&answer, "PyTorchJob", "llama-8b-finetune");
    assert_eq!(job["status"], "Running");
    assert_eq!(job["pods"], 4);
    assert_eq!(
        job["variables"],
        json!({"namespace": "ml-training", "job": "llama-8b-finetune"})
    );
    assert_eq!(
        find(&answer, "PyTorchJob", "bert-large-pretrain")["status"],
        "Failed"
    );
    let notebook = find(&answer, "Notebook", "alice");
    assert_eq!(
        (notebook["status"].as_str(), notebook["template"].as_str()),
        (Some("Running"), Some("notebook-server"))
    );
    let lab = find(&answer, "StatefulSet", "lab");
    assert_eq!(lab["template"], "notebook-server");
    assert_eq!(
        lab["variables"],
        json!({"namespace": "team-a", "notebook": "lab"})
    );
    assert_eq!(lab["status"], "Pending");
    let pipeline = find(&answer, "WorkflowTemplate", "clickstream-etl");
    assert_eq!(pipeline["status"], "Succeeded", "the newest run's phase");
    assert_eq!(
        pipeline["variables"],
        json!({"namespace": "team-a", "pipeline": "clickstream-etl"})
    );
    assert_eq!(
        find(&answer, "Workflow", "adhoc-x8z2q")["template"],
        Value::Null
    );

    // Without namespaces the project's name is its namespace.
    app.project("other-team", &[]).await;
    let answer = app.get("/api/v1/projects/other-team/workloads").await;
    assert_eq!(names(&answer), ["other-team/InferenceService/secret-model"]);
}

#[tokio::test]
async fn kubernetes_mode_turns_refusals_and_lies_into_warnings() {
    let cluster = cluster(|settings| {
        settings.workloads.timeout = Duration::from_millis(500);
        settings.workloads.max_list_bytes = 64 * 1024;
    })
    .await;
    load_objects(&cluster.api);
    let api = &cluster.api;
    api.forbid_list("workflows", "team-a");
    api.answer_raw(
        "/apis/kubeflow.org/v1/namespaces/ml-training/pytorchjobs",
        200,
        "<html>proxy error</html>",
        Duration::ZERO,
    );
    api.answer_raw(
        "/apis/kubeflow.org/v1/namespaces/team-a/notebooks",
        200,
        r#"{"kind": "Status", "items": 3}"#,
        Duration::ZERO,
    );
    let huge = format!(
        r#"{{"kind": "WorkflowTemplateList", "items": [], "padding": "{}"}}"#,
        "x".repeat(200 * 1024)
    );
    api.answer_raw(
        "/apis/argoproj.io/v1alpha1/namespaces/team-a/workflowtemplates",
        200,
        &huge,
        Duration::ZERO,
    );
    api.answer_raw(
        "/apis/apps/v1/namespaces/team-a/statefulsets",
        200,
        r#"{"items": []}"#,
        Duration::from_secs(3),
    );
    api.answer_raw(
        "/apis/serving.kserve.io/v1beta1/namespaces/ml-training/inferenceservices",
        500,
        r#"{"kind": "Status", "message": "etcdserver: request timed out"}"#,
        Duration::ZERO,
    );
    let app = &cluster.app;
    app.project("ai", &["ml-serving", "ml-training", "team-a"])
        .await;
    let started = std::time::Instant::now();
    let answer = app.get("/api/v1/projects/ai/workloads").await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a slow list must not hold the request"
    );
    // What answered properly is still listed.
    assert_eq!(names(&answer).len(), 4, "{}", answer.text);
    let warnings: Vec<&str> = answer.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let has = |needle: &[&str]| {
        warnings
            .iter()
            .any(|w| needle.iter().all(|n| w.contains(n)))
    };
    assert!(
        has(&["Workflow", "team-a", "403", "forbidden"]),
        "{warnings:#?}"
    );
    assert!(
        has(&["PyTorchJob", "ml-training", "not JSON"]),
        "{warnings:#?}"
    );
    assert!(
        has(&["Notebook", "team-a", "not a Kubernetes list"]),
        "{warnings:#?}"
    );
    assert!(
        has(&["WorkflowTemplate", "team-a", "larger than"]),
        "{warnings:#?}"
    );
    assert!(
        has(&["StatefulSet", "team-a", "no answer within"]),
        "{warnings:#?}"
    );
    assert!(
        has(&["InferenceService", "ml-training", "500", "etcdserver"]),
        "{warnings:#?}"
    );
    assert_eq!(warnings.len(), 6, "{warnings:#?}");
}

#[tokio::test]
async fn kubernetes_mode_with_a_token_the_api_server_refuses_warns() {
    let cluster = cluster(|settings| {
        let file = settings.security.kubernetes.token_file.clone();
        std::fs::write(file, "stale-token\n").unwrap();
    })
    .await;
    load_objects(&cluster.api);
    let app = &cluster.app;
    app.project("ai", &["ml-serving"]).await;
    let answer = app.get("/api/v1/projects/ai/workloads").await;
    assert_eq!(workloads(&answer).len(), 0);
    let warnings = answer.body["warnings"].as_array().unwrap();
    assert!(
        !warnings.is_empty() && warnings.iter().all(|w| w.as_str().unwrap().contains("401")),
        "{warnings:?}"
    );
}
