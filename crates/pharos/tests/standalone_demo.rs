//! The standalone experience of issue 3: a fresh data dir gets the simulator, the `demo`
//! project with its dashboard, and GPU data for three clusters that `promtool` can query;
//! `--no-demo` turns all of it off.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::{process::Command, time::Duration};

use support::{Pharos, free_port, get_json};

fn clusters_with_gpu_data(base_url: &str) -> Vec<String> {
    let output = Command::new("promtool")
        .args([
            "query",
            "instant",
            base_url,
            "sum by (cluster) (DCGM_FI_DEV_GPU_UTIL)",
        ])
        .output()
        .expect("promtool is installed by scripts/peers.sh / .ci/run");
    let text = String::from_utf8_lossy(&output.stdout);
    let mut clusters: Vec<String> = text
        .lines()
        .filter_map(|line| {
            line.split("cluster=\"")
                .nth(1)?
                .split('"')
                .next()
                .map(str::to_owned)
        })
        .collect();
    clusters.sort();
    clusters
}

#[tokio::test]
async fn a_fresh_data_dir_shows_a_simulated_fleet_within_a_minute() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::start_with(dir.path(), free_port(), &[]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let clusters = loop {
        let clusters = clusters_with_gpu_data(&pharos.base_url());
        if clusters.len() == 3 || std::time::Instant::now() > deadline {
            break clusters;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(
        clusters.len(),
        3,
        "three clusters with GPU data: {clusters:?}\n{}",
        pharos.log_text()
    );

    let dashboards = get_json(&pharos.url("/api/v1/projects/demo/dashboards")).await;
    let dashboard = &dashboards[0];
    assert_eq!(
        dashboard["metadata"]["name"],
        pharos_sim::DEMO_DASHBOARD_NAME
    );
    // Every demo panel reads the `local` datasource, which points back at this server.
    let local = get_json(&pharos.url("/api/v1/globaldatasources/local")).await;
    assert!(
        local["spec"]["plugin"]["spec"]["proxy"]["spec"]["url"]
            .as_str()
            .unwrap()
            .contains(&pharos.port.to_string())
    );
    let through_proxy = get_json(&pharos.url(
        "/proxy/projects/demo/globaldatasources/local/api/v1/query?query=count(DCGM_FI_DEV_GPU_UTIL)",
    ))
    .await;
    assert_eq!(through_proxy["status"], "success", "{through_proxy}");
    assert!(
        !pharos.log_text().contains("refused simulated samples"),
        "{}",
        pharos.log_text()
    );
    assert!(pharos.terminate().success());
}

#[tokio::test]
async fn no_demo_keeps_the_store_and_projects_empty() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::start(dir.path(), free_port()).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(clusters_with_gpu_data(&pharos.base_url()).is_empty());
    let projects = get_json(&pharos.url("/api/v1/projects")).await;
    assert_eq!(projects, serde_json::json!([]));
    assert!(pharos.terminate().success());
}
