//! The real binary as a Prometheus: `promtool query instant|range` against it, the `local`
//! datasource it registers, and a clean SIGTERM shutdown that keeps the data for the next
//! start (on another port, which the datasource follows). promtool 2.42 cannot send a bearer
//! token, so it talks to Pharos through a loopback forwarder that adds the harness's token.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;

use support::{BearerForwarder, Pharos, get_json, remote_write, write_body};

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

fn promtool(args: &[&str]) -> String {
    let output = Command::new("promtool").args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "promtool {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promtool_queries_pharos_like_a_prometheus() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;
    let client = pharos.client();
    // Two samples per series, 15 s apart, the last one a second ago, on whole seconds so the
    // range query's steps hit them exactly.
    let last = (now_ms() / 1000 - 1) * 1000;
    let mut samples = Vec::new();
    for t in [last - 15_000, last] {
        samples.push((
            vec![("__name__", "up".into()), ("job", "api".into())],
            t,
            1.0,
        ));
        samples.push((
            vec![("__name__", "up".into()), ("job", "web".into())],
            t,
            0.0,
        ));
    }
    let status = remote_write(&client, &pharos.url("/api/v1/write"), write_body(&samples)).await;
    assert_eq!(status, Some(204));

    let base = pharos.base_url();
    // promtool's own HTTP client, with the bearer added on the way.
    let forwarder = BearerForwarder::start(&pharos);
    let promtool_base = forwarder.base_url();
    let instant = tokio::task::spawn_blocking({
        let base = promtool_base.clone();
        move || promtool(&["query", "instant", &base, "up"])
    })
    .await
    .unwrap();
    assert!(instant.contains(r#"up{job="api"} => 1 @["#), "{instant}");
    assert!(instant.contains(r#"up{job="web"} => 0 @["#), "{instant}");

    let (start, end) = ((last - 15_000) / 1000, last / 1000);
    let range = tokio::task::spawn_blocking({
        let base = promtool_base.clone();
        move || {
            promtool(&[
                "query",
                "range",
                &format!("--start={start}"),
                &format!("--end={end}"),
                "--step=15s",
                "-o",
                "json",
                &base,
                "sum(up)",
            ])
        }
    })
    .await
    .unwrap();
    let matrix: serde_json::Value = serde_json::from_str(&range).unwrap();
    assert_eq!(matrix[0]["values"].as_array().unwrap().len(), 2, "{range}");
    assert_eq!(matrix[0]["values"][1][1], "1", "{range}");

    // The embedded store is registered as the default global datasource.
    let local = get_json(&client, &pharos.url("/api/v1/globaldatasources/local")).await;
    assert_eq!(
        local["spec"]["plugin"]["spec"]["proxy"]["spec"]["url"],
        base.as_str()
    );
    assert_eq!(local["spec"]["default"], true);

    // SIGTERM closes the store cleanly; the next start (on another port) has the data and
    // the datasource follows the port.
    let status = pharos.terminate();
    assert!(status.success(), "{}", pharos.log_text());
    assert!(pharos.log_text().contains("metrics store closed"));
    drop(forwarder);
    let pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;
    let client = pharos.client();
    let after = get_json(
        &client,
        &format!(
            "{}?query=count(up)&time={}",
            pharos.url("/api/v1/query"),
            last / 1000
        ),
    )
    .await;
    assert_eq!(after["data"]["result"][0]["value"][1], "2", "{after}");
    let local = get_json(&client, &pharos.url("/api/v1/globaldatasources/local")).await;
    assert_eq!(
        local["spec"]["plugin"]["spec"]["proxy"]["spec"]["url"],
        pharos.base_url().as_str()
    );
}
