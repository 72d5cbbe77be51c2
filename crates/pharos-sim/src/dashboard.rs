//! The demo dashboard: a Perses `Dashboard` in project `demo` that shows the simulated fleet
//! through the `local` datasource (the embedded store).

use serde_json::{Value, json};

/// Project the demo dashboard belongs to.
pub const DEMO_PROJECT: &str = "demo";
/// `metadata.name` of the demo dashboard.
pub const DEMO_DASHBOARD_NAME: &str = "ai-platform-overview";
/// Name of the global datasource the panels query.
pub const DEMO_DATASOURCE: &str = "local";

/// Columns of the Perses grid.
const GRID_WIDTH: u64 = 24;
const PANEL_HEIGHT: u64 = 8;

/// One panel: key, title, description, chart, queries as (PromQL, legend) and unit.
struct PanelDef {
    key: &'static str,
    title: &'static str,
    description: &'static str,
    chart: Chart,
    queries: &'static [(&'static str, &'static str)],
    unit: &'static str,
}

enum Chart {
    TimeSeries,
    /// A single number (last value) with a sparkline.
    Stat,
}

/// The panels in display order: two per row, stats in a row of their own.
const PANELS: [PanelDef; 13] = [
    PanelDef {
        key: "gpuUtilisationByCluster",
        title: "GPU utilisation by cluster",
        description: "Average DCGM GPU utilisation per cluster.",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"avg by (cluster) (DCGM_FI_DEV_GPU_UTIL{cluster=~"$cluster"})"#,
            "{{cluster}}",
        )],
        unit: "percent",
    },
    PanelDef {
        key: "gpuMemoryUsed",
        title: "GPU memory used",
        description: "Frame buffer in use as a share of the total, per cluster.",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"sum by (cluster) (DCGM_FI_DEV_FB_USED{cluster=~"$cluster"}) / sum by (cluster) (DCGM_FI_DEV_FB_USED{cluster=~"$cluster"} + DCGM_FI_DEV_FB_FREE{cluster=~"$cluster"})"#,
            "{{cluster}}",
        )],
        unit: "percent-decimal",
    },
    PanelDef {
        key: "requestRate",
        title: "Inference request rate",
        description: "Requests per second per KServe predictor, counted by Knative's queue-proxy (revision_request_count).",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"sum by (service_name) (rate(revision_request_count{cluster=~"$cluster"}[5m]))"#,
            "{{service_name}}",
        )],
        unit: "requests/sec",
    },
    PanelDef {
        key: "latencyP95",
        title: "p95 inference latency",
        description: "95th percentile of the queue-proxy's request latency histogram (revision_request_latencies, milliseconds).",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"histogram_quantile(0.95, sum by (service_name, le) (rate(revision_request_latencies_bucket{cluster=~"$cluster"}[5m])))"#,
            "{{service_name}}",
        )],
        unit: "milliseconds",
    },
    PanelDef {
        key: "errorRatio",
        title: "Inference error ratio",
        description: "Share of requests answered with a 5xx, per predictor and cluster.",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"sum by (cluster, service_name) (rate(revision_request_count{cluster=~"$cluster", response_code_class="5xx"}[5m])) / sum by (cluster, service_name) (rate(revision_request_count{cluster=~"$cluster"}[5m]))"#,
            "{{service_name}} ({{cluster}})",
        )],
        unit: "percent-decimal",
    },
    PanelDef {
        key: "llmTimeToFirstToken",
        title: "LLM time to first token (p95)",
        description: "95th percentile of vLLM's time to first token per served model and cluster.",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"histogram_quantile(0.95, sum by (cluster, model_name, le) (rate(vllm:time_to_first_token_seconds_bucket{cluster=~"$cluster"}[5m])))"#,
            "{{model_name}} ({{cluster}})",
        )],
        unit: "seconds",
    },
    PanelDef {
        key: "hottestGpus",
        // The bundled UI has no temperature unit: plain numbers, with the unit in the title.
        title: "Hottest GPUs (°C)",
        description: "The five GPUs with the highest temperature, in degrees Celsius.",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"topk(5, DCGM_FI_DEV_GPU_TEMP{cluster=~"$cluster"})"#,
            "{{Hostname}} GPU {{gpu}} ({{cluster}})",
        )],
        unit: "decimal",
    },
    PanelDef {
        key: "trainingLoss",
        title: "Training loss",
        description: "Loss each training job's pods report (training_loss, an application metric).",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"training_loss{cluster=~"$cluster"}"#,
            "{{pod}} ({{cluster}})",
        )],
        unit: "decimal",
    },
    PanelDef {
        key: "trainingThroughput",
        title: "Training throughput",
        description: "Samples per second per training pod; a stalled GPU drops it to almost zero.",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"sum by (cluster, pod) (rate(training_samples_total{cluster=~"$cluster"}[5m]))"#,
            "{{pod}} ({{cluster}})",
        )],
        unit: "decimal",
    },
    PanelDef {
        key: "pipelineLag",
        title: "Pipeline consumer lag",
        description: "Kafka records waiting for each pipeline's consumer group (kafka_consumergroup_lag, all partitions).",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"sum by (cluster, consumergroup) (kafka_consumergroup_lag{cluster=~"$cluster"})"#,
            "{{consumergroup}} ({{cluster}})",
        )],
        unit: "decimal",
    },
    PanelDef {
        key: "notebookCpu",
        title: "Notebook CPU",
        description: "CPU cores used by each Jupyter notebook.",
        chart: Chart::TimeSeries,
        queries: &[(
            r#"sum by (cluster, namespace, pod) (rate(container_cpu_usage_seconds_total{cluster=~"$cluster", pod=~"jupyter-.*"}[5m]))"#,
            "{{namespace}}/{{pod}} ({{cluster}})",
        )],
        unit: "decimal",
    },
    PanelDef {
        key: "runningPods",
        title: "Running pods",
        description: "Pods in phase Running.",
        chart: Chart::Stat,
        queries: &[(
            r#"sum(kube_pod_status_phase{cluster=~"$cluster", phase="Running"})"#,
            "running",
        )],
        unit: "decimal",
    },
    PanelDef {
        key: "pendingPods",
        title: "Pending pods",
        description: "Pods waiting to be scheduled (for example for free GPUs).",
        chart: Chart::Stat,
        queries: &[(
            r#"sum(kube_pod_status_phase{cluster=~"$cluster", phase="Pending"})"#,
            "pending",
        )],
        unit: "decimal",
    },
];

fn panel(def: &PanelDef) -> Value {
    let plugin = match def.chart {
        Chart::TimeSeries => json!({
            "kind": "TimeSeriesChart",
            "spec": {
                "legend": {"position": "bottom", "mode": "list"},
                "yAxis": {"format": {"unit": def.unit}},
                "visual": {"display": "line", "lineWidth": 1.25, "areaOpacity": 0.1},
            }
        }),
        Chart::Stat => json!({
            "kind": "StatChart",
            "spec": {
                "calculation": "last-number",
                "format": {"unit": def.unit},
                "sparkline": {},
            }
        }),
    };
    let queries: Vec<Value> = def
        .queries
        .iter()
        .map(|(query, legend)| {
            json!({
                "kind": "TimeSeriesQuery",
                "spec": {
                    "plugin": {
                        "kind": "PrometheusTimeSeriesQuery",
                        "spec": {
                            "datasource": {"kind": "PrometheusDatasource", "name": DEMO_DATASOURCE},
                            "query": query,
                            "seriesNameFormat": legend,
                        }
                    }
                }
            })
        })
        .collect();
    json!({
        "kind": "Panel",
        "spec": {
            "display": {"name": def.title, "description": def.description},
            "plugin": plugin,
            "queries": queries,
        }
    })
}

/// Grid items: time series two per row (half width), stats side by side in a last, lower row.
fn layout() -> Value {
    let mut items = Vec::new();
    let (mut x, mut y) = (0, 0);
    let half = GRID_WIDTH / 2;
    for def in PANELS
        .iter()
        .filter(|d| matches!(d.chart, Chart::TimeSeries))
    {
        items.push(json!({
            "x": x, "y": y, "width": half, "height": PANEL_HEIGHT,
            "content": {"$ref": format!("#/spec/panels/{}", def.key)},
        }));
        if x == 0 {
            x = half;
        } else {
            x = 0;
            y += PANEL_HEIGHT;
        }
    }
    if x != 0 {
        y += PANEL_HEIGHT;
    }
    let stats: Vec<&PanelDef> = PANELS
        .iter()
        .filter(|d| matches!(d.chart, Chart::Stat))
        .collect();
    let width = GRID_WIDTH / u64::try_from(stats.len().max(1)).unwrap_or(1);
    for (index, def) in stats.iter().enumerate() {
        items.push(json!({
            "x": u64::try_from(index).unwrap_or(0) * width, "y": y, "width": width, "height": PANEL_HEIGHT / 2,
            "content": {"$ref": format!("#/spec/panels/{}", def.key)},
        }));
    }
    json!([{
        "kind": "Grid",
        "spec": {
            "display": {"title": "AI platform", "collapse": {"open": true}},
            "items": items,
        }
    }])
}

/// The demo dashboard as a Perses `Dashboard` resource (project [`DEMO_PROJECT`], panels on
/// the global datasource [`DEMO_DATASOURCE`], a `cluster` variable to filter).
pub fn demo_dashboard() -> Value {
    let panels: serde_json::Map<String, Value> = PANELS
        .iter()
        .map(|def| (def.key.to_owned(), panel(def)))
        .collect();
    json!({
        "kind": "Dashboard",
        "metadata": {"name": DEMO_DASHBOARD_NAME, "project": DEMO_PROJECT},
        "spec": {
            "display": {
                "name": "AI platform overview",
                "description": "The built-in simulated fleet: GPUs, model serving, training, notebooks and pipelines in three clusters.",
            },
            "duration": "6h",
            "refreshInterval": "30s",
            "variables": [{
                "kind": "ListVariable",
                "spec": {
                    "name": "cluster",
                    "display": {"name": "Cluster"},
                    "allowAllValue": true,
                    "allowMultiple": true,
                    "customAllValue": ".*",
                    "defaultValue": "$__all",
                    "sort": "alphabetical-asc",
                    "plugin": {
                        "kind": "PrometheusLabelValuesVariable",
                        "spec": {
                            "datasource": {"kind": "PrometheusDatasource", "name": DEMO_DATASOURCE},
                            "labelName": "cluster",
                            "matchers": ["DCGM_FI_DEV_GPU_UTIL"],
                        }
                    }
                }
            }],
            "panels": panels,
            "layouts": layout(),
        }
    })
}
