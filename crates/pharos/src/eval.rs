//! `pharos eval`: the assistant's offline evaluation suite against an OpenAI-compatible
//! endpoint (`--llm-url`/`--model`, or `assistant.llm` of the config file), printed as a table
//! (or JSON); the exit status says whether every scenario passed. Tools answer from the
//! scenarios' recordings, with the descriptions and schemas the real tools have.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, bail};
use pharos_assistant::eval::{BUILTIN_SUITE, Suite, eval_limits, run_suite, table};
use pharos_assistant::llm::{LlmClient, LlmEndpoint, LlmTimeouts};

use crate::cli::{EvalArgs, Settings};

/// Runs the suite; `Ok(false)` when a scenario failed.
pub async fn run(settings: &Settings, args: &EvalArgs) -> anyhow::Result<bool> {
    let text = match &args.suite {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the suite {}", path.display()))?,
        None => BUILTIN_SUITE.to_owned(),
    };
    let mut suite = Suite::parse(&text).map_err(anyhow::Error::msg)?;
    if let Some(name) = &args.scenario {
        suite.scenarios.retain(|s| &s.name == name);
        if suite.scenarios.is_empty() {
            bail!("the suite has no scenario \"{name}\"");
        }
    }
    let configured = settings.server.assistant.llm.as_ref();
    let Some(url) = args
        .llm_url
        .clone()
        .or_else(|| configured.map(|l| l.url.clone()))
    else {
        bail!(
            "no model to evaluate: pass --llm-url http://vllm:8000/v1 --model NAME, or set assistant.llm in --config"
        );
    };
    let Some(model) = args
        .model
        .clone()
        .or_else(|| configured.map(|l| l.model.clone()))
    else {
        bail!("name the model to evaluate with --model (vLLM's --served-model-name)");
    };
    let api_key = match (
        &args.api_key_env,
        configured.and_then(|l| l.api_key_env.as_ref()),
    ) {
        (Some(variable), _) | (None, Some(variable)) => {
            Some(std::env::var(variable).with_context(|| format!("{variable} is not set"))?)
        }
        _ => None,
    };
    let timeouts = LlmTimeouts {
        first_byte: Duration::from_secs(args.timeout_seconds),
        total: Duration::from_secs(args.timeout_seconds.saturating_mul(2)),
        ..LlmTimeouts::default()
    };
    let http = timeouts.http_client()?;
    let client = LlmClient::new(
        LlmEndpoint {
            base_url: url,
            model: model.clone(),
            api_key,
            timeouts,
            max_retries: 2,
        },
        http,
    );
    let specs = pharos_server::assistant::tool_specs();
    let outcomes = run_suite(&client, &specs, &suite, eval_limits()).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    } else {
        print!("{}", table(&outcomes, &model));
    }
    if let Some(path) = &args.report {
        write_report(path, &outcomes)?;
    }
    Ok(outcomes.iter().all(|o| o.passed))
}

fn write_report(path: &Path, outcomes: &[pharos_assistant::eval::Outcome]) -> anyhow::Result<()> {
    std::fs::write(path, serde_json::to_vec_pretty(outcomes)?)
        .with_context(|| format!("cannot write {}", path.display()))
}
