//! The MCP server at `/mcp`: the assistant's tools for outside agents (Claude Desktop, VS Code,
//! the MCP SDKs) over the streamable HTTP transport, through `rmcp`. The handler is written by
//! hand because the tools come from the same runtime registry the chat uses
//! ([`super::tools::registry`]), built per request for the HTTP request's [`Caller`], so every
//! call is checked with that user's (or API token's) permissions in the service layer.
//!
//! Stateless: every POST stands alone (no `Mcp-Session-Id`, no server-to-client stream), so any
//! replica behind a load balancer answers any request (decision 0025). Before rmcp sees a
//! request, [`guard`] refuses browser pages of other origins (403) and requests without a
//! caller (401 with `WWW-Authenticate: Bearer`).

use axum::{
    Router,
    extract::{Request, State},
    http::{HeaderMap, header},
    middleware::{self, Next},
    response::{IntoResponse, Response},
};
use pharos_assistant::budget::Budget;
use pharos_assistant::tools::{ToolRegistry, ToolResult};
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, CustomRequest,
        CustomResult, Implementation, JsonObject, ListToolsResult, PaginatedRequestParams,
        ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
    transport::{
        StreamableHttpServerConfig, StreamableHttpService,
        streamable_http_server::session::never::NeverSessionManager,
    },
};
use serde_json::Value;

use crate::{config::CorsSettings, error::ApiError, identity::Caller, state::AppState};

/// Where the server is mounted.
pub(crate) const PATH: &str = "/mcp";

/// The largest request body taken (a tool call's arguments are a few hundred bytes).
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

/// What an agent reads first.
const INSTRUCTIONS: &str = "Pharos observes a fleet of Kubernetes clusters. Every metric series \
carries a `cluster` label. The tools answer with what the signed-in user (or API token) may \
see: a project member passes `project` to query_metrics and gets that project's namespaces only. \
Results are cut to a budget; a cut result says what was left out under `_cut`.";

/// The `/mcp` routes, guarded.
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let handler_state = state.clone();
    let config = StreamableHttpServerConfig::default()
        // No sessions: each POST is served on its own (decision 0025).
        .with_legacy_session_mode(false)
        // Plain JSON answers for plain request/response calls (SSE only if a handler streams).
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_REQUEST_BYTES)
        // Pharos is served under any name its operators give it (behind load balancers,
        // ingresses): the Host allow-list guards local servers against DNS rebinding, which
        // the authentication on every request and [`guard`]'s Origin check cover here.
        .disable_allowed_hosts()
        .disable_allowed_origins();
    let service = StreamableHttpService::new(
        move || Ok(PharosMcp::new(handler_state.clone())),
        std::sync::Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new()
        .nest_service(PATH, service)
        .layer(middleware::from_fn_with_state(state.clone(), guard))
}

/// Refuses what rmcp should never see: a browser page of another origin (MCP asks servers to
/// validate `Origin`; only this server's own pages and `security.cors.allowed_origins` pass,
/// clients that are not browsers send none) and a request without a caller.
async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Err(refusal) = check_origin(request.headers(), &state.settings.security.cors) {
        return refusal.into_response();
    }
    if request.extensions().get::<Caller>().is_none() {
        // `ApiError::Unauthorized` answers 401 with `WWW-Authenticate: Bearer`.
        return ApiError::Unauthorized(
            "send 'Authorization: Bearer <API token>' (POST /api/v1/tokens creates one)".to_owned(),
        )
        .into_response();
    }
    next.run(request).await
}

/// `Ok` without an `Origin`, for this server's own origin and for the listed ones.
fn check_origin(headers: &HeaderMap, cors: &CorsSettings) -> Result<(), ApiError> {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = origin.to_str().unwrap_or_default();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let same = url::Url::parse(origin).is_ok_and(|url| {
        let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
        url.host_str()
            .is_some_and(|h| !host.is_empty() && format!("{h}{port}").eq_ignore_ascii_case(host))
    });
    if same || cors.allows(origin) {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "MCP request from origin {origin:?} refused: only this server's own pages and security.cors.allowed_origins may call /mcp"
    )))
}

/// The MCP handler of one request.
#[derive(Clone)]
pub(crate) struct PharosMcp {
    state: AppState,
}

impl PharosMcp {
    fn new(state: AppState) -> Self {
        Self { state }
    }

    /// The caller of the HTTP request behind `context` (rmcp hands the request's
    /// `http::request::Parts` over in the context's extensions; the authentication layer put
    /// the caller in theirs).
    fn caller(context: &RequestContext<RoleServer>) -> Result<&Caller, ErrorData> {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Caller>())
            .ok_or_else(|| {
                ErrorData::invalid_request(
                    "no caller: send 'Authorization: Bearer <API token>'",
                    None,
                )
            })
    }

    /// The tools `caller` may call, results cut to the assistant's budget.
    fn registry(&self, caller: &Caller) -> ToolRegistry {
        let budget = Budget::tokens(self.state.settings.assistant.tool_result_tokens);
        super::tools::registry(&self.state, caller, budget)
    }

    /// Runs tool `name` as the request's caller (failures are results).
    async fn call(
        &self,
        context: &RequestContext<RoleServer>,
        name: &str,
        arguments: Value,
    ) -> Result<(ToolRegistry, ToolResult), ErrorData> {
        let caller = Self::caller(context)?;
        let registry = self.registry(caller);
        let result = registry.call(name, arguments, None).await;
        tracing::info!(
            user = caller.name(),
            tool = name,
            ok = result.ok,
            truncated = result.truncated,
            "MCP tool call"
        );
        Ok((registry, result))
    }
}

impl ServerHandler for PharosMcp {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(
                Implementation::new("pharos", env!("CARGO_PKG_VERSION")).with_title("Pharos"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let tools = self
            .registry(Self::caller(&context)?)
            .specs(None)
            .into_iter()
            .map(|spec| Tool::new(spec.name, spec.description, input_schema(spec.parameters)))
            .collect();
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = request.arguments.map_or(Value::Null, Value::Object);
        let (_, result) = self.call(&context, &request.name, arguments).await?;
        Ok(CallToolResponse::Complete(call_result(result)))
    }

    /// rmcp hands over a `tools/call` whose `arguments` is not an object (a list, a string) as
    /// an unknown request; it is answered as a tool error that says what to send, like any
    /// other bad arguments, rather than as "method not found".
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        if request.method != "tools/call" {
            return Err(ErrorData::new(
                rmcp::model::ErrorCode::METHOD_NOT_FOUND,
                request.method,
                None,
            ));
        }
        let params = request.params.unwrap_or(Value::Null);
        let Some(name) = params.get("name").and_then(Value::as_str) else {
            return Err(ErrorData::invalid_params(
                "tools/call needs params {\"name\": <tool>, \"arguments\": {...}}",
                None,
            ));
        };
        let arguments = params.get("arguments").cloned().unwrap_or(Value::Null);
        let (registry, mut result) = self.call(&context, name, arguments).await?;
        let schema = registry
            .specs(None)
            .into_iter()
            .find(|spec| spec.name == name)
            .map(|spec| spec.parameters);
        if let Some(schema) = schema.filter(|_| result.content["code"] == "invalid_arguments") {
            let message = format!(
                "{}; {name} takes {schema}",
                result.error.unwrap_or_default()
            );
            result.content["error"] = Value::String(message.clone());
            result.error = Some(message);
        }
        serde_json::to_value(call_result(result))
            .map(CustomResult::new)
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))
    }
}

/// A tool's argument schema as MCP wants it: an object schema (ours always are; anything else
/// becomes one with no properties rather than a broken listing).
fn input_schema(schema: Value) -> JsonObject {
    match schema {
        Value::Object(object) if object.get("type").and_then(Value::as_str) == Some("object") => {
            object
        }
        _ => {
            let mut object = JsonObject::new();
            object.insert("type".to_owned(), Value::String("object".to_owned()));
            object
        }
    }
}

/// A registry result as an MCP tool result: the budgeted JSON as text (and as
/// `structuredContent` when it is an object); a failure is `isError` with its message, which
/// says what to send instead.
fn call_result(result: ToolResult) -> CallToolResult {
    let structured = result.content.is_object().then(|| result.content.clone());
    let mut answer = if result.ok {
        CallToolResult::success(vec![ContentBlock::text(result.content.to_string())])
    } else {
        let message = result.error.unwrap_or(result.summary);
        CallToolResult::error(vec![ContentBlock::text(message)])
    };
    answer.structured_content = structured;
    answer
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::http::HeaderValue;
    use serde_json::json;

    #[test]
    fn other_origins_are_refused_and_clients_without_one_pass() {
        let cors = CorsSettings {
            allowed_origins: vec!["https://portal.example.com".to_owned()],
        };
        let mut headers = HeaderMap::new();
        assert!(check_origin(&headers, &cors).is_ok());
        headers.insert(header::HOST, HeaderValue::from_static("pharos:8080"));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://pharos:8080"),
        );
        assert!(check_origin(&headers, &cors).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://portal.example.com"),
        );
        assert!(check_origin(&headers, &cors).is_ok());
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("https://evil.example"),
        );
        assert!(matches!(
            check_origin(&headers, &cors),
            Err(ApiError::Forbidden(_))
        ));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(check_origin(&headers, &cors).is_err());
    }

    #[test]
    fn failures_are_tool_errors_with_their_message() {
        let failed = ToolResult {
            ok: false,
            summary: "invalid arguments: missing field `query`".to_owned(),
            content: json!({"error": "invalid arguments: missing field `query`", "code": "invalid_arguments"}),
            truncated: false,
            error: Some("invalid arguments: missing field `query`".to_owned()),
        };
        let answer = call_result(failed);
        assert_eq!(answer.is_error, Some(true));
        let text = serde_json::to_value(&answer.content).unwrap();
        assert_eq!(text[0]["text"], "invalid arguments: missing field `query`");
        assert_eq!(
            answer.structured_content.unwrap()["code"],
            "invalid_arguments"
        );
        let ok = ToolResult {
            ok: true,
            summary: "1 series".to_owned(),
            content: json!({"series": []}),
            truncated: false,
            error: None,
        };
        let answer = call_result(ok);
        assert_eq!(answer.is_error, Some(false));
        assert_eq!(answer.structured_content, Some(json!({"series": []})));
    }

    #[test]
    fn schemas_are_objects() {
        let schema = json!({"type": "object", "properties": {"query": {"type": "string"}}});
        assert_eq!(Value::Object(input_schema(schema.clone())), schema);
        assert_eq!(
            Value::Object(input_schema(json!(true))),
            json!({"type": "object"})
        );
    }
}
