//! `pharos eval` as a user runs it: the built-in suite against the scripted OpenAI-compatible
//! server (each scenario's `script` played in order) passes and prints its table; a model that
//! invents a fact or skips a tool fails the run with exit status 1 and says why.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use pharos_assistant::eval::{BUILTIN_SUITE, Suite};
use pharos_fakes::openai::{ScriptedLlm, Turn};

fn turns(suite: &Suite) -> Vec<Turn> {
    suite
        .scenarios
        .iter()
        .flat_map(|s| s.script.iter().cloned())
        .map(|value| serde_json::from_value::<Turn>(value).unwrap())
        .collect()
}

async fn eval(llm: &ScriptedLlm, extra: &[&str]) -> std::process::Output {
    let data = tempfile::tempdir().unwrap();
    let url = llm.base_url().to_owned();
    let mut command = support::clean_command(env!("CARGO_BIN_EXE_pharos"));
    command
        .args(["eval", "--llm-url", &url, "--model", "scripted-model"])
        .args(extra)
        .arg("--data-dir")
        .arg(data.path());
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn the_builtin_suite_passes_against_the_scripted_model() {
    let suite = Suite::parse(BUILTIN_SUITE).unwrap();
    let llm = ScriptedLlm::start(turns(&suite)).await.unwrap();
    let output = eval(&llm, &[]).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let total = suite.scenarios.len();
    assert!(
        stdout.contains(&format!("passed {total}/{total} scenarios")),
        "{stdout}"
    );
    for scenario in &suite.scenarios {
        let row = stdout
            .lines()
            .find(|l| l.starts_with(&scenario.name))
            .unwrap_or_else(|| panic!("no row for {}: {stdout}", scenario.name));
        assert!(row.contains(" pass "), "{row}");
    }
    assert_eq!(llm.remaining(), 0, "every scripted turn was asked for");
    // The recorded tool outputs reached the model as tool messages.
    let second = &llm.requests()[1];
    assert!(second["messages"].to_string().contains("gpu-node-2"));
}

#[tokio::test]
async fn invented_facts_and_skipped_tools_fail_the_run() {
    let suite = Suite::parse(BUILTIN_SUITE).unwrap();
    // pipeline-lag: the model answers without a tool and blames the wrong pipeline.
    let llm = ScriptedLlm::start(vec![Turn::text(
        "clickstream is falling behind; feature-ingest is fine.",
    )])
    .await
    .unwrap();
    let output = eval(&llm, &["--scenario", "pipeline-lag", "--json"]).await;
    assert_eq!(output.status.code(), Some(1));
    let results: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let result = &results[0];
    assert_eq!(result["passed"], false);
    assert_eq!(result["tools_missed"], serde_json::json!(["query_metrics"]));
    assert_eq!(
        result["invented"],
        serde_json::json!(["clickstream is falling behind"])
    );
    assert!(suite.scenarios.iter().any(|s| s.name == "pipeline-lag"));

    let unknown = eval(&llm, &["--scenario", "nope"]).await;
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no scenario \"nope\""));
}
