//! User-facing entry points of the binary that only a real process can show: `pharos tsdb
//! import` backfills a file that the server then answers from, and every setting can come from
//! a `PHAROS_*` environment variable instead of a flag.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Stdio;

use serde_json::{Value, json};
use support::{ADMIN_PASSWORD, Pharos, clean_command, get_json};

/// Two counter series; `queue="a"` has two samples a minute apart (2024-01-01T00:00:00Z on).
const OPENMETRICS: &str = "# HELP imported_jobs Finished jobs.
# TYPE imported_jobs counter
imported_jobs_total{queue=\"a\"} 1 1704067200
imported_jobs_total{queue=\"a\"} 5 1704067260
imported_jobs_total{queue=\"b\"} 2 1704067200
# EOF
";

fn pharos_command() -> std::process::Command {
    clean_command(env!("CARGO_BIN_EXE_pharos"))
}

#[tokio::test]
async fn tsdb_import_backfills_what_the_server_then_answers() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let file = dir.path().join("backfill.om");
    std::fs::write(&file, OPENMETRICS).unwrap();

    let output = pharos_command()
        .args(["tsdb", "import"])
        .arg(&file)
        .arg("--data-dir")
        .arg(&data_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "import failed ({}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("imported 3 of 3 samples (2 series)"),
        "{stdout}"
    );

    let mut pharos = Pharos::spawn(&data_dir, &["--no-demo"]).await;
    let answer = get_json(
        &pharos.client(),
        &pharos.url("/api/v1/query?query=sort_desc(imported_jobs_total)&time=1704067260"),
    )
    .await;
    assert_eq!(answer["status"], "success", "{answer}");
    let result: Vec<(Value, Value)> = answer["data"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["metric"]["queue"].clone(), s["value"][1].clone()))
        .collect();
    assert_eq!(
        result,
        vec![(json!("a"), json!("5")), (json!("b"), json!("2"))],
        "{answer}"
    );
    assert!(pharos.terminate().success(), "{}", pharos.log_text());
}

#[test]
fn tsdb_import_refuses_a_file_without_eof_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("truncated.om");
    std::fs::write(&file, OPENMETRICS.replace("# EOF\n", "")).unwrap();
    let output = pharos_command()
        .args(["tsdb", "import"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a truncated file must fail");
    assert!(
        stderr.contains("truncated.om") && stderr.contains("EOF"),
        "{stderr}"
    );
}

#[tokio::test]
async fn every_setting_can_come_from_pharos_environment_variables() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let database = dir.path().join("elsewhere.db");
    let tsdb = dir.path().join("metrics");
    let config = dir.path().join("pharos.yaml");
    let addr_file = dir.path().join("addr");
    let log = dir.path().join("pharos.log");
    std::fs::write(
        &config,
        "tenancy:\n  label: tenant\napi:\n  max_body_bytes: 4096\n",
    )
    .unwrap();
    let log_file = std::fs::File::create(&log).unwrap();
    // No flags at all: only the environment configures this server (the harness logs in with
    // the PHAROS_ADMIN_PASSWORD given here).
    let child = pharos_command()
        .env("PHAROS_LISTEN", "127.0.0.1:0")
        .env("PHAROS_ADDR_FILE", &addr_file)
        .env("PHAROS_DATA_DIR", &data_dir)
        .env(
            "PHAROS_DATABASE_URL",
            format!("sqlite://{}?mode=rwc", database.display()),
        )
        .env("PHAROS_CONFIG", &config)
        .env("PHAROS_LOG_FORMAT", "json")
        .env("PHAROS_LOG_LEVEL", "info")
        .env("PHAROS_TSDB_PATH", &tsdb)
        .env("PHAROS_NO_DEMO", "true")
        .env("PHAROS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .stdout(Stdio::from(log_file.try_clone().unwrap()))
        .stderr(Stdio::from(log_file))
        .spawn()
        .unwrap();
    let mut pharos = Pharos::adopt(child, log, &addr_file).await;
    let client = pharos.client();

    let config = get_json(&client, &pharos.url("/api/config")).await;
    assert_eq!(config["pharos"]["tenancy"]["label"], "tenant", "{config}");
    assert_eq!(config["pharos"]["api"]["max_body_bytes"], 4096, "{config}");
    assert_eq!(config["pharos"]["store"], "sqlite", "{config}");
    assert!(database.exists(), "PHAROS_DATABASE_URL names the database");
    assert!(!data_dir.join("pharos.db").exists());
    assert!(tsdb.is_dir(), "PHAROS_TSDB_PATH names the metrics store");
    assert!(!data_dir.join("tsdb").exists());
    assert_eq!(
        get_json(&client, &pharos.url("/api/v1/projects")).await,
        json!([]),
        "PHAROS_NO_DEMO: no demo project"
    );
    let log_text = pharos.log_text();
    let first_line = log_text.lines().next().unwrap_or_default();
    let line: Value = serde_json::from_str(first_line)
        .unwrap_or_else(|e| panic!("PHAROS_LOG_FORMAT=json, got {first_line:?}: {e}"));
    assert!(line["level"].is_string(), "{line}");
    assert!(pharos.terminate().success(), "{}", pharos.log_text());
}
