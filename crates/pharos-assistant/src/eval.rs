//! Offline evaluation: a suite of scenarios — a question, a persona, the tool outputs recorded
//! from a real fleet, the tool calls a good answer needs, the facts it must contain and the
//! ones it must not invent — run through the same conversation loop as the chat, against any
//! OpenAI-compatible endpoint. Tools are replaced by their recordings, so a run needs no
//! cluster and compares models on identical evidence. The scripted turns in a scenario are
//! only for the test double that plays a model in CI; a real model ignores them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::agent::{Agent, Limits};
use crate::budget::Budget;
use crate::llm::{ChatModel, Role, ToolSpec};
use crate::personas::{Persona, builtins};
use crate::tools::{Tool, ToolError, ToolOutput, ToolRegistry};

/// The suite shipped with Pharos.
pub const BUILTIN_SUITE: &str = include_str!("../evals/suite.yaml");

/// A suite.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Its scenarios, run in order.
    pub scenarios: Vec<Scenario>,
}

/// One scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// A short unique name.
    pub name: String,
    /// The persona (a built-in id).
    #[serde(default = "default_persona")]
    pub persona: String,
    /// The question.
    pub question: String,
    /// Recorded tool outputs by tool name (tools not listed answer that there is no data).
    #[serde(default)]
    pub tools: BTreeMap<String, Value>,
    /// Tools a good answer calls.
    #[serde(default)]
    pub expect_tools: Vec<String>,
    /// Facts the answer must contain (case-insensitive).
    #[serde(default)]
    pub must_contain: Vec<String>,
    /// Facts it must not contain: what the evidence does not support.
    #[serde(default)]
    pub must_not_contain: Vec<String>,
    /// The turns a scripted test double plays for this scenario (ignored by real models).
    #[serde(default)]
    pub script: Vec<Value>,
}

fn default_persona() -> String {
    "default".to_owned()
}

impl Suite {
    /// Parses a suite (YAML or JSON) and checks it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let suite: Suite =
            serde_saphyr::from_str(text).map_err(|e| format!("the suite does not parse: {e}"))?;
        let mut names = std::collections::BTreeSet::new();
        for scenario in &suite.scenarios {
            if !names.insert(scenario.name.as_str()) {
                return Err(format!("scenario \"{}\" appears twice", scenario.name));
            }
            if !builtins().iter().any(|p| p.id == scenario.persona) {
                return Err(format!(
                    "scenario \"{}\": unknown persona \"{}\"",
                    scenario.name, scenario.persona
                ));
            }
        }
        Ok(suite)
    }
}

/// A tool that answers with its recording.
struct Recorded {
    spec: ToolSpec,
    output: Option<Value>,
}

impl Tool for Recorded {
    fn spec(&self) -> ToolSpec {
        self.spec.clone()
    }

    fn call(&self, _args: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        let output = self.output.clone();
        Box::pin(async move {
            match output {
                Some(content) => Ok(ToolOutput {
                    content,
                    summary: "recorded".to_owned(),
                }),
                None => Err(ToolError::Failed(
                    "no data: this tool returned nothing in the recorded incident".to_owned(),
                )),
            }
        })
    }
}

/// The result of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The scenario.
    pub name: String,
    /// Whether every check held.
    pub passed: bool,
    /// Expected tools that were called.
    pub tools_called: Vec<String>,
    /// Expected tools that were not.
    pub tools_missed: Vec<String>,
    /// Required facts found / required.
    pub facts_found: usize,
    /// Required facts.
    pub facts_required: usize,
    /// Facts it must not contain that it did.
    pub invented: Vec<String>,
    /// Why the turn failed, if it did.
    pub error: Option<String>,
    /// Tokens used.
    pub tokens: u64,
    /// Wall-clock time.
    pub seconds: f64,
    /// The final answer.
    pub answer: String,
}

/// Runs `scenario` against `model` with the tool specs of `specs` (name, description, schema)
/// answering from the recordings.
pub async fn run_scenario(
    model: &dyn ChatModel,
    specs: &[ToolSpec],
    scenario: &Scenario,
    limits: Limits,
) -> Outcome {
    let mut registry = ToolRegistry::new(Budget::default());
    for spec in specs {
        registry.register(Arc::new(Recorded {
            spec: spec.clone(),
            output: scenario.tools.get(&spec.name).cloned(),
        }));
    }
    let persona: Persona = builtins()
        .into_iter()
        .find(|p| p.id == scenario.persona)
        .unwrap_or_else(|| builtins().remove(0));
    let agent = Agent {
        model,
        tools: &registry,
        persona: &persona,
        limits,
    };
    let (events, _ignored) = tokio::sync::mpsc::unbounded_channel();
    let started = Instant::now();
    let outcome = agent
        .turn(Vec::new(), &scenario.question, None, &events)
        .await;
    let called: Vec<String> = outcome
        .messages
        .iter()
        .flat_map(|m| m.tool_calls.iter().map(|c| c.name.clone()))
        .collect();
    let answer = outcome
        .messages
        .iter()
        .rev()
        .find(|m| m.role == Role::Assistant && m.tool_calls.is_empty())
        .and_then(|m| m.content.clone())
        .unwrap_or_default();
    let lower = answer.to_lowercase();
    let facts_found = scenario
        .must_contain
        .iter()
        .filter(|f| lower.contains(&f.to_lowercase()))
        .count();
    let invented: Vec<String> = scenario
        .must_not_contain
        .iter()
        .filter(|f| lower.contains(&f.to_lowercase()))
        .cloned()
        .collect();
    let (tools_called, tools_missed): (Vec<String>, Vec<String>) = scenario
        .expect_tools
        .iter()
        .cloned()
        .partition(|t| called.contains(t));
    let error = outcome.error.map(|e| format!("{}: {}", e.code, e.message));
    let passed = error.is_none()
        && tools_missed.is_empty()
        && facts_found == scenario.must_contain.len()
        && invented.is_empty();
    Outcome {
        name: scenario.name.clone(),
        passed,
        tools_called,
        tools_missed,
        facts_found,
        facts_required: scenario.must_contain.len(),
        invented,
        error,
        tokens: outcome.total_usage.total_tokens,
        seconds: started.elapsed().as_secs_f64(),
        answer,
    }
}

/// Runs every scenario of `suite`, one after the other.
pub async fn run_suite(
    model: &dyn ChatModel,
    specs: &[ToolSpec],
    suite: &Suite,
    limits: Limits,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(suite.scenarios.len());
    for scenario in &suite.scenarios {
        outcomes.push(run_scenario(model, specs, scenario, limits).await);
    }
    outcomes
}

/// The results as a table, with totals.
pub fn table(outcomes: &[Outcome], model: &str) -> String {
    let mut out = format!(
        "model: {model}\n{:<28} {:<6} {:>7} {:>7} {:>9} {:>7} {:>7}  notes\n",
        "scenario", "result", "tools", "facts", "invented", "tokens", "secs"
    );
    for o in outcomes {
        let tools = format!(
            "{}/{}",
            o.tools_called.len(),
            o.tools_called.len() + o.tools_missed.len()
        );
        let facts = format!("{}/{}", o.facts_found, o.facts_required);
        let mut notes = Vec::new();
        if !o.tools_missed.is_empty() {
            notes.push(format!("missed {}", o.tools_missed.join(", ")));
        }
        if !o.invented.is_empty() {
            notes.push(format!("invented {}", o.invented.join(", ")));
        }
        if let Some(error) = &o.error {
            notes.push(error.clone());
        }
        out.push_str(&format!(
            "{:<28} {:<6} {:>7} {:>7} {:>9} {:>7} {:>7.1}  {}\n",
            o.name,
            if o.passed { "pass" } else { "FAIL" },
            tools,
            facts,
            o.invented.len(),
            o.tokens,
            o.seconds,
            notes.join("; ")
        ));
    }
    let passed = outcomes.iter().filter(|o| o.passed).count();
    let tokens: u64 = outcomes.iter().map(|o| o.tokens).sum();
    out.push_str(&format!(
        "passed {passed}/{} scenarios; {tokens} tokens\n",
        outcomes.len()
    ));
    out
}

/// Bounds for evaluation turns: as the chat's, with a shorter clock.
pub fn eval_limits() -> Limits {
    Limits {
        max_duration: Duration::from_secs(120),
        ..Limits::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_suite_parses_and_covers_every_persona() {
        let suite = Suite::parse(BUILTIN_SUITE).unwrap_or_else(|e| panic!("{e}"));
        assert!(suite.scenarios.len() >= 6);
        for persona in builtins() {
            assert!(
                suite.scenarios.iter().any(|s| s.persona == persona.id),
                "no scenario for {}",
                persona.id
            );
        }
        for scenario in &suite.scenarios {
            assert!(!scenario.must_contain.is_empty(), "{}", scenario.name);
            assert!(!scenario.script.is_empty(), "{}", scenario.name);
        }
    }

    #[test]
    fn duplicate_names_and_unknown_personas_are_refused() {
        let twice = "scenarios:\n- {name: a, question: q}\n- {name: a, question: q}\n";
        assert!(Suite::parse(twice).unwrap_err().contains("twice"));
        let unknown = "scenarios:\n- {name: a, question: q, persona: pirate}\n";
        assert!(Suite::parse(unknown).unwrap_err().contains("pirate"));
    }
}
