//! The typed tool registry that chat and MCP share. A tool has a name, a description, a JSON
//! Schema for its arguments and an async body; its arguments are parsed into a Rust type
//! (unknown fields refused), so a model or an MCP client that sends the wrong shape gets an
//! error that says what to send. Every result goes through [`crate::budget`] before anyone
//! sees it. The registry does not check permissions itself: the server builds it for one
//! asking user, and each tool it registers checks that user's rights in the service layer.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::budget::{Budget, fit};
use crate::llm::ToolSpec;

/// Why a tool call failed; the message goes back to the model (or MCP client) as is, so it
/// says what to change.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ToolError {
    /// No tool of that name (or the persona does not allow it).
    #[error("{0}")]
    Unknown(String),
    /// The arguments are not JSON or do not fit the schema.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The asking user may not see this.
    #[error("not allowed: {0}")]
    Forbidden(String),
    /// What was asked for does not exist (or is not visible to the user).
    #[error("not found: {0}")]
    NotFound(String),
    /// The tool ran and failed (a backend error, a refused query).
    #[error("{0}")]
    Failed(String),
}

impl ToolError {
    /// A short machine-readable kind.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unknown(_) => "unknown_tool",
            Self::InvalidArguments(_) => "invalid_arguments",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Failed(_) => "failed",
        }
    }
}

/// What a tool produced, before budgeting.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// The result as JSON.
    pub content: Value,
    /// One line for people ("3 series, 240 points").
    pub summary: String,
}

/// One call's result as the model, the chat and MCP see it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ToolResult {
    /// Whether the tool ran.
    pub ok: bool,
    /// One line for people.
    pub summary: String,
    /// The (budgeted) result; on failure `{"error": ...}`.
    pub content: Value,
    /// Whether budgeting cut anything (what is said in `content["_cut"]`).
    pub truncated: bool,
    /// The failure, when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ToolResult {
    fn failed(error: &ToolError) -> Self {
        let message = error.to_string();
        Self {
            ok: false,
            summary: message.clone(),
            content: serde_json::json!({"error": message, "code": error.code()}),
            truncated: false,
            error: Some(message),
        }
    }

    /// The text sent back to the model as the tool message.
    pub fn to_model_text(&self) -> String {
        self.content.to_string()
    }
}

/// A tool as the registry holds it (object-safe).
pub trait Tool: Send + Sync {
    /// Name, description and argument schema.
    fn spec(&self) -> ToolSpec;
    /// Runs with JSON arguments.
    fn call(&self, args: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>>;
}

/// A tool with typed arguments; [`typed`] turns it into a [`Tool`].
pub trait TypedTool: Send + Sync + 'static {
    /// The arguments, parsed with unknown fields refused.
    type Args: DeserializeOwned + Send + 'static;
    /// The tool's name.
    const NAME: &'static str;
    /// What it does, for the model.
    const DESCRIPTION: &'static str;
    /// The JSON Schema of [`Self::Args`].
    fn schema() -> Value;
    /// Runs.
    fn run(&self, args: Self::Args) -> BoxFuture<'_, Result<ToolOutput, ToolError>>;
}

struct Typed<T>(T);

impl<T: TypedTool> Tool for Typed<T> {
    fn spec(&self) -> ToolSpec {
        spec_of::<T>()
    }

    fn call(&self, args: Value) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
        // A model may send `null` or nothing for a tool without arguments.
        let args = if args.is_null() {
            Value::Object(serde_json::Map::new())
        } else {
            args
        };
        match serde_json::from_value::<T::Args>(args) {
            Ok(parsed) => self.0.run(parsed),
            Err(e) => {
                let error =
                    ToolError::InvalidArguments(format!("{e}; {} takes {}", T::NAME, T::schema()));
                Box::pin(async move { Err(error) })
            }
        }
    }
}

/// The spec of a typed tool, without an instance (for listings and offline evaluation).
pub fn spec_of<T: TypedTool>() -> ToolSpec {
    ToolSpec {
        name: T::NAME.to_owned(),
        description: T::DESCRIPTION.to_owned(),
        parameters: T::schema(),
    }
}

/// Wraps a typed tool.
pub fn typed<T: TypedTool>(tool: T) -> Arc<dyn Tool> {
    Arc::new(Typed(tool))
}

/// The tools one user may call, by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
    budget: Budget,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolRegistry")
            .field("tools", &self.tools.keys().collect::<Vec<_>>())
            .field("budget", &self.budget)
            .finish()
    }
}

impl ToolRegistry {
    /// An empty registry whose results are cut to `budget`.
    pub fn new(budget: Budget) -> Self {
        Self {
            tools: BTreeMap::new(),
            budget,
        }
    }

    /// Adds (or replaces) a tool.
    pub fn register(&mut self, tool: Arc<dyn Tool>) {
        self.tools.insert(tool.spec().name, tool);
    }

    /// The names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.tools.keys().cloned().collect()
    }

    /// The specs of the tools in `allowed` (all when `None`), sorted by name.
    pub fn specs(&self, allowed: Option<&[String]>) -> Vec<ToolSpec> {
        self.tools
            .iter()
            .filter(|(name, _)| allowed.is_none_or(|list| list.iter().any(|a| a == *name)))
            .map(|(_, tool)| tool.spec())
            .collect()
    }

    /// Calls `name` with `arguments` as the model sent them (JSON text, possibly broken);
    /// `allowed` limits the tools to a persona's. Never fails: failures are results.
    pub async fn call_text(
        &self,
        name: &str,
        arguments: &str,
        allowed: Option<&[String]>,
    ) -> ToolResult {
        let text = arguments.trim();
        let args = if text.is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_str::<Value>(text).map_err(|e| {
                ToolError::InvalidArguments(format!(
                    "the arguments are not valid JSON ({e}); send one JSON object"
                ))
            })
        };
        match args {
            Ok(args) => self.call(name, args, allowed).await,
            Err(error) => ToolResult::failed(&error),
        }
    }

    /// Calls `name` with parsed arguments.
    pub async fn call(&self, name: &str, args: Value, allowed: Option<&[String]>) -> ToolResult {
        let permitted = allowed.is_none_or(|list| list.iter().any(|a| a == name));
        let Some(tool) = self.tools.get(name).filter(|_| permitted) else {
            let available = self
                .specs(allowed)
                .into_iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ");
            return ToolResult::failed(&ToolError::Unknown(format!(
                "there is no tool \"{name}\" here; the tools are: {available}"
            )));
        };
        if !args.is_null() && !args.is_object() {
            return ToolResult::failed(&ToolError::InvalidArguments(format!(
                "the arguments must be a JSON object, not {args}"
            )));
        }
        match tool.call(args).await {
            Ok(output) => {
                let fitted = fit(output.content, &self.budget);
                ToolResult {
                    ok: true,
                    summary: output.summary,
                    content: fitted.value,
                    truncated: fitted.truncated,
                    error: None,
                }
            }
            Err(error) => ToolResult::failed(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct EchoArgs {
        text: String,
    }

    struct Echo;

    impl TypedTool for Echo {
        type Args = EchoArgs;
        const NAME: &'static str = "echo";
        const DESCRIPTION: &'static str = "Says it back.";
        fn schema() -> Value {
            json!({"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"], "additionalProperties": false})
        }
        fn run(&self, args: EchoArgs) -> BoxFuture<'_, Result<ToolOutput, ToolError>> {
            Box::pin(async move {
                if args.text == "secret" {
                    return Err(ToolError::Forbidden("not yours".into()));
                }
                Ok(ToolOutput {
                    content: json!({"said": args.text}),
                    summary: "said it".into(),
                })
            })
        }
    }

    fn registry() -> ToolRegistry {
        let mut registry = ToolRegistry::new(Budget::default());
        registry.register(typed(Echo));
        registry
    }

    #[tokio::test]
    async fn a_good_call_runs_and_bad_ones_say_what_to_send() {
        let registry = registry();
        let ok = registry.call_text("echo", r#"{"text":"hi"}"#, None).await;
        assert!(ok.ok);
        assert_eq!(ok.content, json!({"said": "hi"}));

        let broken = registry.call_text("echo", r#"{"text":"#, None).await;
        assert!(!broken.ok);
        assert!(
            broken.summary.contains("not valid JSON"),
            "{}",
            broken.summary
        );

        let extra = registry
            .call_text("echo", r#"{"text":"a","namespace":"team-b"}"#, None)
            .await;
        assert!(!extra.ok);
        assert!(extra.summary.contains("unknown field"), "{}", extra.summary);

        let missing = registry.call_text("echo", "{}", None).await;
        assert!(missing.summary.contains("missing field `text`"));

        let array = registry.call_text("echo", "[1]", None).await;
        assert!(array.summary.contains("must be a JSON object"));

        let refused = registry
            .call_text("echo", r#"{"text":"secret"}"#, None)
            .await;
        assert_eq!(refused.content["code"], "forbidden");
    }

    #[tokio::test]
    async fn unknown_and_disallowed_tools_name_the_available_ones() {
        let registry = registry();
        let unknown = registry.call_text("rm_rf", "{}", None).await;
        assert!(!unknown.ok);
        assert!(unknown.summary.contains("the tools are: echo"));

        let allowed = vec!["other".to_owned()];
        let refused = registry
            .call_text("echo", r#"{"text":"a"}"#, Some(&allowed))
            .await;
        assert!(!refused.ok);
        assert_eq!(refused.content["code"], "unknown_tool");
        assert!(registry.specs(Some(&allowed)).is_empty());
        assert_eq!(registry.specs(None).len(), 1);
    }
}
