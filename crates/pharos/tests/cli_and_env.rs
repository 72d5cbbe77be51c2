//! User-facing entry points of the binary that only a real process can show: `pharos tsdb
//! import` backfills a file that the server then answers from, `pharos demo export` writes the
//! simulator's history as a file that import reads back, and every setting can come from a
//! `PHAROS_*` environment variable instead of a flag.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
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

/// 2026-01-01T00:00:07Z: off the 15 s grid, as the benchmarks export it.
const DEMO_START_S: i64 = 1_767_225_607;

#[test]
fn demo_export_writes_the_simulators_ticks_as_openmetrics_that_import_reads() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("demo.om");
    // 5 minutes at 15 s: 20 ticks, the end exclusive.
    let output = pharos_command()
        .args(["demo", "export", "--start"])
        .arg(DEMO_START_S.to_string())
        .arg("--end")
        .arg((DEMO_START_S + 300).to_string())
        .arg("--out")
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "export failed ({}): {stderr}",
        output.status
    );

    // The fleet the server simulates: the same series and, at the first tick, the same values.
    let mut simulator = pharos_sim::Simulator::new(pharos_sim::SimOptions::default());
    let first_tick = simulator.tick(DEMO_START_S * 1000);
    let series_count = first_tick.len();
    assert!(
        series_count > 500,
        "the demo has ~3,600 series, got {series_count}"
    );
    assert!(
        stderr.contains(&format!(
            "exported {} samples of {series_count} series (20 ticks",
            series_count * 20
        )),
        "{stderr}"
    );

    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.ends_with("\n# EOF\n"), "ends with # EOF");
    let mut series: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut first_values = Vec::new();
    for line in text.lines().filter(|line| *line != "# EOF") {
        assert!(!line.starts_with('#'), "no other comment lines: {line}");
        // Label values may hold blanks (GPU model names); value and timestamp do not.
        let mut fields = line.rsplitn(3, ' ');
        let (timestamp, value, name) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        let timestamp: i64 = timestamp.parse().unwrap();
        let value: f64 = value.parse().unwrap();
        if timestamp == DEMO_START_S {
            first_values.push(value.to_bits());
        }
        series.entry(name).or_default().push(timestamp);
    }
    assert_eq!(series.len(), series_count);
    let ticks: Vec<i64> = (0..20).map(|i| DEMO_START_S + 15 * i).collect();
    for (name, times) in &series {
        assert_eq!(times, &ticks, "{name}: one sample per tick, in time order");
    }
    let mut expected: Vec<u64> = first_tick.iter().map(|(_, v)| v.to_bits()).collect();
    expected.sort_unstable();
    first_values.sort_unstable();
    assert_eq!(first_values, expected, "the simulator's values, exactly");

    let output = pharos_command()
        .args(["tsdb", "import"])
        .arg(&file)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "import failed ({}): {stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let samples = series_count * 20;
    assert!(
        stdout.contains(&format!(
            "imported {samples} of {samples} samples ({series_count} series)"
        )),
        "{stdout}"
    );
}

#[test]
fn demo_export_explains_bad_time_ranges() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["--start", "100", "--end", "100"],
            "--end (100) must be after --start (100)",
        ),
        (
            &["--start=-9223372036854775808", "--end", "10"],
            "seconds since 1970-01-01",
        ),
        (
            &["--start", "100", "--end", "200", "--simulate-from", "93"],
            "must be a whole number of --step (15 s)",
        ),
    ];
    for (args, expected) in cases {
        let output = pharos_command()
            .args(["demo", "export"])
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn demo_dashboard_prints_the_dashboard_the_demo_creates() {
    let output = pharos_command()
        .args(["demo", "dashboard"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, pharos_sim::demo_dashboard());
    assert_eq!(printed["metadata"]["name"], "ai-platform-overview");
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
