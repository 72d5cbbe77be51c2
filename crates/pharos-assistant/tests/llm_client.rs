//! The chat-completions client against the scripted OpenAI-compatible server on a real socket
//! (and, for stalls and oversized answers, a hand-written HTTP server): streamed text and tool
//! calls, the request it writes, retries, timeouts and broken answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use pharos_assistant::llm::{
    ChatMessage, ChatModel, ChatRequest, Completion, LlmClient, LlmEndpoint, LlmError, LlmTimeouts,
    StreamEvent, ToolCall, ToolSpec,
};
use pharos_fakes::openai::{ScriptedCall, ScriptedLlm, Turn};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn fake(script: Vec<Turn>) -> ScriptedLlm {
    ScriptedLlm::start(script).await.unwrap()
}

fn endpoint(base_url: &str) -> LlmEndpoint {
    LlmEndpoint {
        base_url: base_url.to_owned(),
        model: "test-model".to_owned(),
        api_key: None,
        timeouts: LlmTimeouts {
            connect: Duration::from_millis(500),
            first_byte: Duration::from_millis(500),
            idle: Duration::from_millis(500),
            total: Duration::from_secs(10),
        },
        max_retries: 2,
    }
}

fn client(endpoint: LlmEndpoint) -> LlmClient {
    let http = endpoint.timeouts.http_client().unwrap();
    LlmClient::new(endpoint, http)
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![
            ChatMessage::system("You are terse."),
            ChatMessage::user(text),
        ],
        ..ChatRequest::default()
    }
}

/// Completes `request`, returning the result and every event streamed.
async fn complete(
    client: &LlmClient,
    request: &ChatRequest,
) -> (Result<Completion, LlmError>, Vec<StreamEvent>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let result = client.complete(request, Some(&tx)).await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    (result, events)
}

fn deltas(events: &[StreamEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|e| match e {
            StreamEvent::Delta(text) => Some(text.as_str()),
            StreamEvent::ToolCallStarted { .. } => None,
        })
        .collect()
}

#[tokio::test]
async fn streams_text_deltas_in_order_and_counts_usage() {
    let fake = fake(vec![Turn::Text {
        text: "Latency is up on checkout.".to_owned(),
        chunk: Some(5),
    }])
    .await;
    let client = client(endpoint(fake.base_url()));
    let (result, events) = complete(&client, &ask("how is checkout?")).await;
    let completion = result.unwrap();
    assert_eq!(
        deltas(&events),
        ["Laten", "cy is", " up o", "n che", "ckout", "."]
    );
    assert_eq!(completion.content, "Latency is up on checkout.");
    assert_eq!(completion.finish_reason.as_deref(), Some("stop"));
    assert_eq!(completion.model, "test-model");
    assert!(completion.tool_calls.is_empty());
    let usage = completion.usage.expect("the usage chunk is read");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0);
    assert_eq!(
        usage.total_tokens,
        usage.prompt_tokens + usage.completion_tokens
    );

    let body = &fake.requests()[0];
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["stream"], true);
    assert_eq!(body["stream_options"], json!({ "include_usage": true }));
    assert_eq!(
        body["messages"],
        json!([
            { "role": "system", "content": "You are terse." },
            { "role": "user", "content": "how is checkout?" },
        ])
    );
    for absent in ["tools", "tool_choice", "temperature", "max_tokens"] {
        assert!(body.get(absent).is_none(), "{absent} is not sent: {body}");
    }
    assert_eq!(fake.authorizations(), [None]);
}

#[tokio::test]
async fn assembles_parallel_tool_calls_from_interleaved_fragments() {
    let calls = [
        (
            "query_metrics",
            r#"{"query":"rate(http_requests_total[5m])","step":"30s"}"#,
        ),
        (
            "search_logs",
            r#"{"selector":"{app=\"checkout\"}","limit":50}"#,
        ),
    ];
    let fake = fake(vec![Turn::ToolCalls {
        calls: calls
            .iter()
            .map(|(name, arguments)| ScriptedCall {
                name: (*name).to_owned(),
                arguments: (*arguments).to_owned(),
            })
            .collect(),
        fragment: Some(3),
    }])
    .await;
    let client = client(endpoint(fake.base_url()));
    let (result, events) = complete(&client, &ask("why is checkout slow?")).await;
    let completion = result.unwrap();
    assert_eq!(completion.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(completion.content, "");
    assert_eq!(completion.tool_calls.len(), 2);
    for (call, (name, arguments)) in completion.tool_calls.iter().zip(calls) {
        assert_eq!(call.name, name);
        assert_eq!(call.arguments, arguments);
        assert!(call.id.starts_with("call_"), "{}", call.id);
        serde_json::from_str::<Value>(&call.arguments).unwrap();
    }
    assert_ne!(completion.tool_calls[0].id, completion.tool_calls[1].id);
    let started: Vec<StreamEvent> = completion
        .tool_calls
        .iter()
        .enumerate()
        .map(|(index, c)| StreamEvent::ToolCallStarted {
            index,
            id: c.id.clone(),
            name: c.name.clone(),
        })
        .collect();
    assert_eq!(events, started, "one start per call, no deltas");
    assert!(completion.usage.is_some());
}

#[tokio::test]
async fn request_carries_tools_tool_results_options_and_the_bearer_key() {
    let fake = ScriptedLlm::start_with_key(vec![Turn::text("It is fine.")], "sk-test")
        .await
        .unwrap();
    let mut endpoint = endpoint(fake.base_url());
    endpoint.api_key = Some("sk-test".to_owned());
    let client = client(endpoint);
    let call = ToolCall {
        id: "call_7".to_owned(),
        name: "query_metrics".to_owned(),
        arguments: r#"{"query":"up"}"#.to_owned(),
    };
    let parameters = json!({
        "type": "object",
        "properties": { "query": { "type": "string" } },
        "required": ["query"],
    });
    let request = ChatRequest {
        model: Some("other-model".to_owned()),
        messages: vec![
            ChatMessage::user("is it up?"),
            ChatMessage::assistant_tool_calls(None, vec![call.clone()]),
            ChatMessage::tool_result("call_7", "query_metrics", r#"{"up":1}"#),
        ],
        tools: vec![ToolSpec {
            name: "query_metrics".to_owned(),
            description: "Runs a PromQL query.".to_owned(),
            parameters: parameters.clone(),
        }],
        temperature: Some(0.5),
        max_tokens: Some(256),
    };
    let (result, _) = complete(&client, &request).await;
    let completion = result.unwrap();
    assert_eq!(completion.model, "other-model");
    assert_eq!(
        completion.to_message(),
        ChatMessage::assistant("It is fine.")
    );

    assert_eq!(fake.authorizations(), [Some("Bearer sk-test".to_owned())]);
    let body = &fake.requests()[0];
    assert_eq!(body["model"], "other-model");
    assert_eq!(
        body["tools"],
        json!([{
            "type": "function",
            "function": {
                "name": "query_metrics",
                "description": "Runs a PromQL query.",
                "parameters": parameters,
            },
        }])
    );
    assert_eq!(body["tool_choice"], "auto");
    assert_eq!(body["temperature"], 0.5);
    assert_eq!(body["max_tokens"], 256);
    assert_eq!(
        body["messages"],
        json!([
            { "role": "user", "content": "is it up?" },
            {
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_7",
                    "type": "function",
                    "function": { "name": "query_metrics", "arguments": "{\"query\":\"up\"}" },
                }],
            },
            { "role": "tool", "content": "{\"up\":1}", "tool_call_id": "call_7", "name": "query_metrics" },
        ])
    );
}

#[tokio::test]
async fn a_wrong_key_is_a_401_and_not_retried() {
    let fake = ScriptedLlm::start_with_key(vec![Turn::text("never")], "sk-right")
        .await
        .unwrap();
    let mut endpoint = endpoint(fake.base_url());
    endpoint.api_key = Some("sk-wrong".to_owned());
    let (result, events) = complete(&client(endpoint), &ask("hi")).await;
    let error = result.unwrap_err();
    let LlmError::Status { status, message } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(*status, 401);
    assert!(
        message.starts_with("Incorrect API key provided"),
        "{message}"
    );
    assert!(error.to_string().contains("API key"), "{error}");
    assert!(events.is_empty());
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.remaining(), 1);
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let fake = fake(vec![
        Turn::Error {
            status: 429,
            message: "Rate limit reached for requests".to_owned(),
            retry_after: Some(1),
        },
        Turn::text("second time lucky"),
    ])
    .await;
    let client = client(endpoint(fake.base_url()));
    let started = Instant::now();
    let (result, events) = complete(&client, &ask("hi")).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After is honoured"
    );
    assert_eq!(result.unwrap().content, "second time lucky");
    assert_eq!(
        deltas(&events).concat(),
        "second time lucky",
        "one answer, once"
    );
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn server_errors_give_up_after_max_retries() {
    let mut script = vec![Turn::error(500, "The server had an error processing your request."); 3];
    script.push(Turn::text("not reached"));
    let fake = fake(script).await;
    let client = client(endpoint(fake.base_url()));
    let started = Instant::now();
    let (result, events) = complete(&client, &ask("hi")).await;
    assert!(
        started.elapsed() >= Duration::from_millis(1500),
        "backoff 0.5 s then 1 s"
    );
    assert_eq!(
        result.unwrap_err(),
        LlmError::Status {
            status: 500,
            message: "The server had an error processing your request.".to_owned(),
        }
    );
    assert!(events.is_empty());
    assert_eq!(fake.requests().len(), 3, "one try and two retries");
    assert_eq!(fake.remaining(), 1);
}

#[tokio::test]
async fn a_hanging_server_times_out_on_the_first_byte() {
    let fake = fake(vec![Turn::Hang, Turn::text("not reached")]).await;
    let mut endpoint = endpoint(fake.base_url());
    endpoint.timeouts.first_byte = Duration::from_millis(300);
    let started = Instant::now();
    let (result, _) = complete(&client(endpoint), &ask("hi")).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(700), "{elapsed:?}");
    assert_eq!(
        result.unwrap_err(),
        LlmError::Timeout {
            phase: "first byte",
            after: Duration::from_millis(300),
        }
    );
    assert_eq!(fake.requests().len(), 1, "timeouts are not retried");
}

#[tokio::test]
async fn the_total_timeout_bounds_everything() {
    let fake = fake(vec![Turn::Hang]).await;
    let mut endpoint = endpoint(fake.base_url());
    endpoint.timeouts.first_byte = Duration::from_secs(30);
    endpoint.timeouts.total = Duration::from_millis(300);
    let (result, _) = complete(&client(endpoint), &ask("hi")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, LlmError::Timeout { phase: "total", .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_cut_off_stream_keeps_its_deltas_and_is_not_retried() {
    let fake = fake(vec![
        Turn::CutOff {
            text: "The checkout latency".to_owned(),
        },
        Turn::text("not reached"),
    ])
    .await;
    let (result, events) = complete(&client(endpoint(fake.base_url())), &ask("hi")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, LlmError::Protocol(m) if m.contains("stopped mid-answer")),
        "{error:?}"
    );
    assert_eq!(deltas(&events).concat(), "The checkout latency");
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.remaining(), 1);
}

#[tokio::test]
async fn a_garbage_answer_is_a_protocol_error() {
    let fake = fake(vec![Turn::Garbage, Turn::text("not reached")]).await;
    let (result, events) = complete(&client(endpoint(fake.base_url())), &ask("hi")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, LlmError::Protocol(m) if m.contains("event stream") && m.contains("<html>")),
        "{error:?}"
    );
    assert!(events.is_empty());
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_a_transport_error_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let mut endpoint = endpoint(&format!("http://{address}/v1"));
    endpoint.max_retries = 1;
    let started = Instant::now();
    let (result, _) = complete(&client(endpoint), &ask("hi")).await;
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "one retry after 0.5 s"
    );
    let error = result.unwrap_err();
    assert!(
        matches!(&error, LlmError::Transport(m) if m.contains("cannot connect")),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .starts_with("could not reach the model server")
    );
}

#[tokio::test]
async fn no_model_is_not_configured() {
    let mut endpoint = endpoint("http://127.0.0.1:9/v1");
    endpoint.model = String::new();
    let (result, _) = complete(&client(endpoint), &ask("hi")).await;
    assert_eq!(result.unwrap_err(), LlmError::NotConfigured);
}

#[tokio::test]
async fn reply_turns_answer_by_the_last_user_message() {
    let script: Vec<Turn> = serde_json::from_value(json!([
        { "kind": "reply", "when_last_user_contains": "logs",
          "then": { "kind": "tool_calls", "calls": [{ "name": "search_logs", "arguments": "{}" }] } },
        { "kind": "text", "text": "fallback" },
    ]))
    .unwrap();
    let fake = fake(script).await;
    let mut endpoint = endpoint(fake.base_url());
    endpoint.max_retries = 0;
    let client = client(endpoint);
    let (first, _) = complete(&client, &ask("hello")).await;
    assert_eq!(first.unwrap().content, "fallback");
    let (second, _) = complete(&client, &ask("show me the logs")).await;
    assert_eq!(second.unwrap().tool_calls[0].name, "search_logs");
    let (third, _) = complete(&client, &ask("more")).await;
    let error = third.unwrap_err();
    assert!(
        matches!(&error, LlmError::Status { status: 500, message } if message.contains("no turn left")),
        "{error:?}"
    );
}

async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// The fake's own wire: chunk envelopes, the usage chunk, `[DONE]`, non-streamed answers, models.
#[tokio::test]
async fn the_fake_speaks_the_openai_wire() {
    let fake = fake(vec![Turn::text("hey"), Turn::text("whole")]).await;
    let http = reqwest::Client::new();
    let url = format!("{}/chat/completions", fake.base_url());
    let messages = json!([{ "role": "user", "content": "hi" }]);
    let streamed = http
        .post(&url)
        .json(&json!({ "model": "m", "messages": messages, "stream": true,
                       "stream_options": { "include_usage": true } }))
        .send()
        .await
        .unwrap();
    assert!(
        streamed.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let text = streamed.text().await.unwrap();
    let events: Vec<&str> = text
        .split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").unwrap())
        .collect();
    assert_eq!(events.last(), Some(&"[DONE]"));
    let chunks: Vec<Value> = events[..events.len() - 1]
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    for chunk in &chunks {
        assert_eq!(chunk["object"], "chat.completion.chunk");
        assert_eq!(chunk["model"], "m");
        assert!(chunk["id"].as_str().unwrap().starts_with("chatcmpl-"));
    }
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let finish = &chunks[chunks.len() - 2];
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert_eq!(finish["usage"], Value::Null);
    let usage = &chunks[chunks.len() - 1];
    assert_eq!(usage["choices"], json!([]));
    assert!(usage["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let whole: Value = json_of(
        http.post(&url)
            .json(&json!({ "model": "m", "messages": messages })),
    )
    .await;
    assert_eq!(whole["object"], "chat.completion");
    assert_eq!(whole["choices"][0]["message"]["content"], "whole");
    assert_eq!(whole["choices"][0]["finish_reason"], "stop");

    let models = json_of(http.get(format!("{}/models", fake.base_url()))).await;
    assert_eq!(models["data"][0]["id"], pharos_fakes::openai::MODEL);
}

/// A hand-written server: answers one request with a 200 of `content_type` whose chunked body
/// is `parts`, then holds the connection open.
async fn raw_server(content_type: &'static str, parts: Vec<Vec<u8>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buffer = vec![0; 64 * 1024];
        let _ = socket.read(&mut buffer).await;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        for part in parts {
            let chunk = [
                format!("{:x}\r\n", part.len()).into_bytes(),
                part,
                b"\r\n".to_vec(),
            ];
            if socket.write_all(&chunk.concat()).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    format!("http://{address}/v1")
}

const SSE: &str = "text/event-stream";

fn content_chunk(text: &str) -> Vec<u8> {
    let chunk = json!({ "id": "x", "object": "chat.completion.chunk", "created": 0, "model": "raw",
                        "choices": [{ "index": 0, "delta": { "content": text }, "finish_reason": null }] });
    format!("data: {chunk}\n\n").into_bytes()
}

#[tokio::test]
async fn a_stalled_stream_times_out_when_idle() {
    let base = raw_server(SSE, vec![content_chunk("Thinking")]).await;
    let mut endpoint = endpoint(&base);
    endpoint.timeouts.idle = Duration::from_millis(200);
    let (result, events) = complete(&client(endpoint), &ask("hi")).await;
    assert_eq!(
        result.unwrap_err(),
        LlmError::Timeout {
            phase: "idle",
            after: Duration::from_millis(200),
        }
    );
    assert_eq!(deltas(&events), ["Thinking"]);
}

#[tokio::test]
async fn an_oversized_answer_is_cut_off() {
    let piece = "x".repeat(60 * 1024);
    let parts = vec![content_chunk(&piece); 80]; // about 4.7 MiB
    let base = raw_server(SSE, parts).await;
    let (result, _) = complete(&client(endpoint(&base)), &ask("hi")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, LlmError::Protocol(m) if m.contains("4 MiB")),
        "{error:?}"
    );
}

#[tokio::test]
async fn reading_stops_at_done_and_usage_may_be_missing() {
    let finish = json!({ "id": "x", "object": "chat.completion.chunk", "created": 0, "model": "raw",
                         "choices": [{ "index": 0, "delta": {}, "finish_reason": "length" }] });
    let parts = vec![
        content_chunk("Cut by max_tokens"),
        format!("data: {finish}\n\ndata: [DONE]\n\n").into_bytes(),
    ];
    let base = raw_server(SSE, parts).await;
    let started = Instant::now();
    let (result, _) = complete(&client(endpoint(&base)), &ask("hi")).await;
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "no wait for the connection to close"
    );
    let completion = result.unwrap();
    assert_eq!(completion.content, "Cut by max_tokens");
    assert_eq!(completion.finish_reason.as_deref(), Some("length"));
    assert_eq!(completion.usage, None);
    assert_eq!(completion.model, "raw");
}

#[tokio::test]
async fn an_error_event_mid_stream_is_a_protocol_error() {
    let parts = vec![
        content_chunk("Partial"),
        b"data: {\"error\":{\"message\":\"upstream overloaded\",\"type\":\"server_error\"}}\n\n"
            .to_vec(),
    ];
    let base = raw_server(SSE, parts).await;
    let (result, events) = complete(&client(endpoint(&base)), &ask("hi")).await;
    let error = result.unwrap_err();
    assert!(
        matches!(&error, LlmError::Protocol(m) if m.contains("upstream overloaded")),
        "{error:?}"
    );
    assert_eq!(deltas(&events), ["Partial"]);
}

#[tokio::test]
async fn a_server_that_ignores_stream_is_read_whole() {
    let whole = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "whole-model",
        "choices": [{ "index": 0, "finish_reason": "tool_calls", "message": {
            "role": "assistant", "content": "Looking.",
            "tool_calls": [{ "id": "call_a", "type": "function",
                             "function": { "name": "query_metrics", "arguments": "{}" } }],
        } }],
        "usage": { "prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15 },
    });
    let body = whole.to_string().into_bytes();
    let (head, tail) = body.split_at(body.len() / 2);
    let base = raw_server(
        "application/json",
        vec![head.to_vec(), tail.to_vec(), Vec::new()],
    )
    .await;
    let (result, events) = complete(&client(endpoint(&base)), &ask("hi")).await;
    let completion = result.unwrap();
    assert_eq!(completion.content, "Looking.");
    assert_eq!(completion.tool_calls[0].id, "call_a");
    assert_eq!(completion.usage.map(|u| u.total_tokens), Some(15));
    assert_eq!(completion.model, "whole-model");
    assert_eq!(events.len(), 2, "{events:?}");
}
