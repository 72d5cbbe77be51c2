//! The standalone experience of issue 3: a fresh data dir gets the simulator, the `demo`
//! project with its dashboard, and GPU data for three clusters that `promtool` can query;
//! `--no-demo` turns all of it off. promtool 2.42 cannot send a bearer token, so it queries
//! through a loopback forwarder that adds the harness's token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use support::{BearerForwarder, Pharos, clean_command, get_json};

/// `promtool query instant URL QUERY`: the printed series, one line each. Panics when promtool
/// fails (server down, bad query, promtool missing): an empty answer must mean "no data".
fn promtool_query(base_url: &str, query: &str) -> Vec<String> {
    let output = clean_command("promtool")
        .args(["query", "instant", base_url, query])
        .output()
        .expect("promtool is installed by scripts/peers.sh / .ci/run");
    assert!(
        output.status.success(),
        "promtool query {query:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn clusters_with_gpu_data(base_url: &str) -> Vec<String> {
    let mut clusters: Vec<String> =
        promtool_query(base_url, "sum by (cluster) (DCGM_FI_DEV_GPU_UTIL)")
            .iter()
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
    let mut pharos = Pharos::spawn(dir.path(), &[]).await;
    let client = pharos.client();
    let forwarder = BearerForwarder::start(&pharos);
    let deadline = Instant::now() + Duration::from_secs(60);
    let clusters = loop {
        let clusters = clusters_with_gpu_data(&forwarder.base_url());
        if clusters.len() == 3 || Instant::now() > deadline {
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

    let dashboards = get_json(&client, &pharos.url("/api/v1/projects/demo/dashboards")).await;
    let dashboard = &dashboards[0];
    assert_eq!(
        dashboard["metadata"]["name"],
        pharos_sim::DEMO_DASHBOARD_NAME
    );
    // Every demo panel reads the `local` datasource, which points back at this server.
    let local = get_json(&client, &pharos.url("/api/v1/globaldatasources/local")).await;
    assert!(
        local["spec"]["plugin"]["spec"]["proxy"]["spec"]["url"]
            .as_str()
            .unwrap()
            .contains(&pharos.port.to_string())
    );
    let through_proxy = get_json(
        &client,
        &pharos.url(
            "/proxy/projects/demo/globaldatasources/local/api/v1/query?query=count(DCGM_FI_DEV_GPU_UTIL)",
        ),
    )
    .await;
    assert_eq!(through_proxy["status"], "success", "{through_proxy}");
    assert!(
        !pharos.log_text().contains("refused simulated samples"),
        "{}",
        pharos.log_text()
    );
    assert!(pharos.terminate().success());
}

/// Scrapes a closed port every second: its `up` series (0) proves that scraping has started,
/// which happens only after the simulator's history is written when the simulator runs.
const PROBE_CONFIG: &str = "scrape_configs:
  - job_name: probe
    scrape_interval: 1s
    scrape_timeout: 1s
    static_configs: [{targets: ['127.0.0.1:9']}]
";

#[tokio::test]
async fn no_demo_keeps_the_store_and_projects_empty() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("probe.yaml");
    std::fs::write(&config, PROBE_CONFIG).unwrap();
    let config = config.to_str().unwrap();
    let mut pharos = Pharos::spawn(dir.path(), &["--no-demo", "--config", config]).await;
    let forwarder = BearerForwarder::start(&pharos);
    let promtool_base = forwarder.base_url();

    // Positive control: the store answers promtool and holds scraped data...
    let deadline = Instant::now() + Duration::from_secs(60);
    while promtool_query(&promtool_base, "up{job=\"probe\"}").is_empty() {
        assert!(
            Instant::now() < deadline,
            "no probe scrape within 60 s: {}",
            pharos.log_text()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // ...but nothing simulated: with the demo on, scraping starts only after its history.
    assert_eq!(
        clusters_with_gpu_data(&promtool_base),
        Vec::<String>::new(),
        "--no-demo must not run the simulator"
    );
    // Every simulated series carries a `cluster` label; scraped ones here do not.
    let simulated = promtool_query(&promtool_base, "count({cluster=~\".+\"})");
    assert_eq!(
        simulated,
        Vec::<String>::new(),
        "no simulated series at all"
    );

    let projects = pharos
        .client()
        .get(pharos.url("/api/v1/projects"))
        .send()
        .await
        .unwrap();
    assert_eq!(projects.status(), reqwest::StatusCode::OK);
    let projects: serde_json::Value = projects.json().await.unwrap();
    assert_eq!(
        projects,
        serde_json::json!([]),
        "--no-demo creates no demo project"
    );
    assert!(!dir.path().join("demo-enabled").exists());
    assert!(pharos.terminate().success());
}
