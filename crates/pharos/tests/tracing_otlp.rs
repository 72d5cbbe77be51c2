//! OpenTelemetry traces of the real binary, sent over OTLP/HTTP to the fake receiver
//! (`pharos_fakes::otlp`, protobuf on a real socket): the server span of a request (method,
//! route, status, the request id of `x-request-id`), its PromQL, proxy, log-intake and LLM
//! children under the same trace, `service.name`, a caller's `traceparent` joined, the
//! upstream datasource given the trace; and with no endpoint nothing is sent at all.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pharos_fakes::openai::{ScriptedLlm, Turn};
use pharos_fakes::otlp::{OtlpReceiver, ReceivedSpan};
use serde_json::json;
use support::{ADMIN_PASSWORD, Login, Pharos};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The caller's trace of the joined request (W3C example values).
const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

/// A Prometheus-like upstream that answers every request with an empty vector and records the
/// `traceparent` header of each (plain tokio: this crate does not depend on axum).
async fn upstream() -> (String, Arc<Mutex<Vec<Option<String>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let recorded = Arc::clone(&recorded);
            tokio::spawn(async move {
                let mut received = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    if let Some(i) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                        break i + 4;
                    }
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => received.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&received[..head_end]).to_lowercase();
                let header = |name: &str| {
                    head.lines()
                        .find_map(|line| line.strip_prefix(&format!("{name}:")))
                        .map(|v| v.trim().to_owned())
                };
                let length: usize = header("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while received.len() < head_end + length {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => received.extend_from_slice(&buf[..n]),
                    }
                }
                recorded.lock().unwrap().push(header("traceparent"));
                let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// Polls `receiver` until `done` holds for its spans; panics with what arrived at 30 s.
async fn wait_for(
    receiver: &OtlpReceiver,
    pharos: &Pharos,
    what: &str,
    done: impl Fn(&[ReceivedSpan]) -> bool,
) -> Vec<ReceivedSpan> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let spans = receiver.spans();
        if done(&spans) {
            return spans;
        }
        assert!(
            Instant::now() < deadline,
            "no {what} within 30 s; spans: {:#?}\n{}",
            spans
                .iter()
                .map(|s| (&s.name, &s.trace_id, &s.parent_span_id))
                .collect::<Vec<_>>(),
            pharos.log_text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn server_span<'a>(spans: &'a [ReceivedSpan], request_id: &str) -> Option<&'a ReceivedSpan> {
    spans
        .iter()
        .find(|s| s.kind == 2 && s.attribute("request_id") == Some(request_id))
}

fn child_of<'a>(
    spans: &'a [ReceivedSpan],
    parent: &ReceivedSpan,
    name: &str,
) -> Option<&'a ReceivedSpan> {
    spans.iter().find(|s| {
        s.name == name && s.trace_id == parent.trace_id && s.parent_span_id == parent.span_id
    })
}

fn request_id(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("every answer carries x-request-id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_traced_to_the_otlp_receiver() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let llm = ScriptedLlm::start(vec![Turn::text("All fine.")])
        .await
        .unwrap();
    let (upstream_url, upstream_seen) = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pharos.yaml");
    std::fs::write(
        &config,
        format!(
            "tracing:\n  otlp_endpoint: {}\n  headers:\n    x-collector-key: key-from-file\n\
             assistant:\n  llm:\n    url: {}\n    model: scripted-model\n    max_retries: 0\n",
            receiver.base_url(),
            llm.base_url()
        ),
    )
    .unwrap();
    let pharos = Pharos::spawn_custom(
        dir.path(),
        &["--no-demo", "--config", config.to_str().unwrap()],
        &[
            ("PHAROS_ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("OTEL_SERVICE_NAME", "pharos-under-test"),
            // Batches leave every 100 ms instead of 5 s: the test polls for them.
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
        Login::Admin,
    )
    .await;
    let client = pharos.client();

    // PromQL on the embedded store, inside a caller's trace.
    let joined = client
        .get(pharos.url("/api/v1/query?query=vector(1)"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(joined.status(), 200);
    let joined_id = request_id(&joined);
    // The same without one: a trace of its own.
    let own = client
        .get(pharos.url("/api/v1/query?query=vector(2)"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status(), 200);
    let own_id = request_id(&own);

    // A datasource upstream through the proxy.
    let created = client
        .post(pharos.url("/api/v1/globaldatasources"))
        .json(
            &json!({"kind": "GlobalDatasource", "metadata": {"name": "upstream"},
            "spec": {"plugin": {"kind": "PrometheusDatasource",
                "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream_url}}}}}}),
        )
        .send()
        .await
        .unwrap();
    assert!(
        created.status().is_success(),
        "{}",
        created.text().await.unwrap()
    );
    let proxied = client
        .get(pharos.url("/proxy/globaldatasources/upstream/api/v1/query?query=up"))
        .send()
        .await
        .unwrap();
    let proxied_id = request_id(&proxied);
    assert_eq!(proxied.status(), 200, "{}", proxied.text().await.unwrap());

    // Access logs in.
    let now_ns = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap()
        .to_string();
    let pushed = client
        .post(pharos.url("/loki/api/v1/push"))
        .json(&json!({"streams": [{"stream": {"job": "ingress"},
            "values": [[now_ns, "GET /x 200 0.010"]]}]}))
        .send()
        .await
        .unwrap();
    let pushed_id = request_id(&pushed);

    // A chat turn with the scripted model.
    let session = client
        .post(pharos.url("/api/v1/chat/sessions"))
        .json(&json!({"persona": "default"}))
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), 201);
    let session: serde_json::Value = session.json().await.unwrap();
    let session_id = session["id"].as_str().unwrap();
    let chat = client
        .post(pharos.url(&format!("/api/v1/chat/sessions/{session_id}/stream")))
        .json(&json!({"content": "Is anything wrong?"}))
        .send()
        .await
        .unwrap();
    let chat_id = request_id(&chat);
    let chat_text = chat.text().await.unwrap();
    assert!(chat_text.contains("All fine."), "{chat_text}");

    let spans = wait_for(&receiver, &pharos, "spans of all five requests", |spans| {
        [&joined_id, &own_id, &proxied_id, &pushed_id, &chat_id]
            .iter()
            .all(|id| server_span(spans, id).is_some())
            && spans.iter().any(|s| s.name == "llm chat completion")
            && spans.iter().any(|s| s.name == "log intake")
    })
    .await;

    // The joined request: a server span under the caller's span, with its attributes.
    let server = server_span(&spans, &joined_id).unwrap();
    assert_eq!(server.name, "GET /api/v1/query");
    assert_eq!(server.attribute("http.request.method"), Some("GET"));
    assert_eq!(server.attribute("http.route"), Some("/api/v1/query"));
    assert_eq!(server.attribute("http.response.status_code"), Some("200"));
    assert_eq!(server.trace_id, CALLER_TRACE);
    assert_eq!(server.parent_span_id, CALLER_SPAN);
    assert_eq!(server.resource["service.name"], "pharos-under-test");
    let promql = child_of(&spans, server, "promql evaluation")
        .unwrap_or_else(|| panic!("no PromQL span under {server:#?}"));
    assert_eq!(promql.attribute("promql.query"), Some("vector(1)"));
    assert_eq!(promql.attribute("promql.kind"), Some("instant"));

    // Without a traceparent: a root span of a new trace.
    let own = server_span(&spans, &own_id).unwrap();
    assert_eq!(own.parent_span_id, "");
    assert_ne!(own.trace_id, CALLER_TRACE);
    assert!(child_of(&spans, own, "promql evaluation").is_some());

    // The proxy: server span → datasource proxy → the upstream request, whose traceparent the
    // upstream received.
    let server = server_span(&spans, &proxied_id).unwrap();
    assert_eq!(
        server.attribute("http.route"),
        Some("/proxy/globaldatasources/{name}/{*path}")
    );
    let proxy = child_of(&spans, server, "datasource proxy")
        .unwrap_or_else(|| panic!("no proxy span under {server:#?}"));
    assert_eq!(proxy.attribute("server.address"), Some("127.0.0.1"));
    assert_eq!(
        proxy.attribute("datasource.kind"),
        Some("PrometheusDatasource")
    );
    let outgoing = child_of(&spans, proxy, "prometheus request")
        .unwrap_or_else(|| panic!("no upstream request span under {proxy:#?}"));
    assert_eq!(outgoing.kind, 3, "a client span");
    let traceparents = upstream_seen.lock().unwrap().clone();
    assert_eq!(
        traceparents,
        [Some(format!(
            "00-{}-{}-01",
            outgoing.trace_id, outgoing.span_id
        ))],
        "the upstream joins the trace under the request that reached it"
    );

    // The log intake under its request.
    let server = server_span(&spans, &pushed_id).unwrap();
    assert_eq!(server.attribute("http.route"), Some("/loki/api/v1/push"));
    assert!(
        child_of(&spans, server, "log intake").is_some(),
        "no log intake span under {server:#?}"
    );

    // The model call under the chat request (its turn runs in a task of its own), with the
    // model and without the prompt.
    let server = server_span(&spans, &chat_id).unwrap();
    let llm_span = spans
        .iter()
        .find(|s| s.name == "llm chat completion" && s.trace_id == server.trace_id)
        .unwrap_or_else(|| panic!("no LLM span in the chat's trace {server:#?}"));
    assert_eq!(
        llm_span.attribute("gen_ai.request.model"),
        Some("scripted-model")
    );
    assert!(
        !llm_span
            .attributes
            .values()
            .any(|v| v.contains("Is anything wrong")),
        "the prompt is not recorded: {llm_span:#?}"
    );

    // Exports are protobuf, with the configured headers.
    assert!(
        receiver
            .content_types()
            .iter()
            .all(|t| t == "application/x-protobuf"),
        "{:?}",
        receiver.content_types()
    );
    assert!(
        receiver
            .request_headers()
            .iter()
            .all(|h| h.get("x-collector-key").map(String::as_str) == Some("key-from-file"))
    );
    // The exit flushes the last batch and does not hang on the exporter.
    let mut pharos = pharos;
    assert!(pharos.terminate().success(), "{}", pharos.log_text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_nothing_is_sent() {
    let receiver = OtlpReceiver::start().await.unwrap();
    let (upstream_url, upstream_seen) = upstream().await;
    let dir = tempfile::tempdir().unwrap();
    // The receiver listens, but nothing points Pharos at it.
    let mut pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;
    let client = pharos.client();
    let answer = client
        .get(pharos.url("/api/v1/query?query=vector(1)"))
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let created = client
        .post(pharos.url("/api/v1/globaldatasources"))
        .json(
            &json!({"kind": "GlobalDatasource", "metadata": {"name": "upstream"},
            "spec": {"plugin": {"kind": "PrometheusDatasource",
                "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream_url}}}}}}),
        )
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success());
    let proxied = client
        .get(pharos.url("/proxy/globaldatasources/upstream/api/v1/query?query=up"))
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), 200);
    // The clean exit is when the last spans would be flushed.
    assert!(pharos.terminate().success());
    assert_eq!(receiver.requests(), 0);
    assert_eq!(
        upstream_seen.lock().unwrap().as_slice(),
        [None],
        "no traceparent goes upstream"
    );
    let log = pharos.log_text();
    assert!(
        !log.contains("OTLP") && !log.to_lowercase().contains("opentelemetry"),
        "tracing stays silent when off: {log}"
    );
}
