//! Issue 7 items 1 and 3 against the real binary: deep, long and runaway PromQL gets a clear
//! 4xx or a 503 timeout in bounded time, the process stays up, and every refusal is counted in
//! `/metrics` by reason — on the root Prometheus API and on a tenant-restricted proxy route.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Pharos, free_port};

/// What the server answered to one query.
struct Answer {
    status: u16,
    body: Value,
    took: Duration,
}

/// POSTs `params` as a form (long queries do not fit in a URL) and times the answer.
async fn post_form(client: &reqwest::Client, url: &str, params: &[(&str, &str)]) -> Answer {
    let started = Instant::now();
    let response = client.post(url).form(params).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        body,
        took: started.elapsed(),
    }
}

/// The value of `pharos_refusals_total{reason="<reason>"}`, 0 when not yet exported.
async fn refusals(pharos: &Pharos, reason: &str) -> f64 {
    counter(
        pharos,
        &format!("pharos_refusals_total{{reason=\"{reason}\"}}"),
    )
    .await
}

async fn counter(pharos: &Pharos, series: &str) -> f64 {
    let text = reqwest::get(pharos.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
        .unwrap_or(0.0)
}

/// The process answers an ordinary query after whatever came before.
async fn assert_still_serving(client: &reqwest::Client, pharos: &mut Pharos) {
    assert!(
        pharos.child.try_wait().unwrap().is_none(),
        "pharos exited: {}",
        pharos.log_text()
    );
    let answer = post_form(client, &pharos.url("/api/v1/query"), &[("query", "1")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

fn chain(term: &str, operator: &str, terms: usize) -> String {
    vec![term; terms].join(operator)
}

/// One reported query, the refusal it must get and the reason it is counted under.
struct Case {
    name: &'static str,
    query: String,
    reason: &'static str,
    message: &'static str,
}

fn reported_cases() -> Vec<Case> {
    vec![
        Case {
            name: "2,000-term 1+1+…",
            query: chain("1", "+", 2_000),
            reason: "promql_too_deep",
            message: "256 levels",
        },
        Case {
            name: "sum( ×1,500 closed",
            query: format!("{}up{}", "sum(".repeat(1_500), ")".repeat(1_500)),
            reason: "promql_too_deep",
            message: "256 levels",
        },
        Case {
            name: "up or up ×1,500",
            query: chain("up", " or ", 1_500),
            reason: "promql_too_deep",
            message: "256 levels",
        },
        Case {
            name: "-(-(… ×5,000",
            query: format!("{}up{}", "-(".repeat(5_000), ")".repeat(5_000)),
            reason: "promql_too_complex",
            message: "more than 4096 brackets and operators",
        },
        Case {
            name: "100,000 nested (",
            query: "(".repeat(100_000),
            reason: "promql_too_long",
            message: "limit of 65536 bytes",
        },
        Case {
            name: "50,000-term 1+1+… (100 KB)",
            query: chain("1", "+", 50_000),
            reason: "promql_too_long",
            message: "limit of 65536 bytes",
        },
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_queries_on_the_root_api_are_refused_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::start(dir.path(), free_port()).await;
    let client = pharos.client();

    for case in reported_cases() {
        for endpoint in ["/api/v1/query", "/api/v1/query_range"] {
            let before = refusals(&pharos, case.reason).await;
            let answer = post_form(
                &client,
                &pharos.url(endpoint),
                &[
                    ("query", case.query.as_str()),
                    ("start", "0"),
                    ("end", "60"),
                    ("step", "15"),
                ],
            )
            .await;
            let name = case.name;
            assert_eq!(answer.status, 400, "{name} {endpoint}: {}", answer.body);
            assert_eq!(answer.body["errorType"], "bad_data", "{name}");
            let message = answer.body["error"].as_str().unwrap();
            assert!(message.contains(case.message), "{name}: {message}");
            assert!(
                answer.took < Duration::from_secs(5),
                "{name} {endpoint} took {:?}",
                answer.took
            );
            assert_eq!(
                refusals(&pharos, case.reason).await,
                before + 1.0,
                "{name} counted"
            );
            assert_still_serving(&client, &mut pharos).await;
        }
    }

    // An unclosed `sum(` ×1,500 is a plain syntax error: 400, nothing crashes.
    let answer = post_form(
        &client,
        &pharos.url("/api/v1/query"),
        &[("query", &"sum(".repeat(1_500))],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_still_serving(&client, &mut pharos).await;

    // The same budget guards match[] of the listing endpoints.
    let deep_selector = format!("{}up{}", "(".repeat(300), ")".repeat(300));
    let answer = post_form(
        &client,
        &pharos.url("/api/v1/series"),
        &[("match[]", deep_selector.as_str())],
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_still_serving(&client, &mut pharos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runaway_subqueries_are_refused_and_heavy_queries_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::start(dir.path(), free_port()).await;
    let client = pharos.client();
    let url = pharos.url("/api/v1/query");

    // Billions of inner steps: refused before the first one, with or without a timeout.
    for timeout in [None, Some("5s")] {
        let before = refusals(&pharos, "promql_subquery_steps").await;
        let mut params = vec![("query", "max_over_time(up[1y:1ms])")];
        params.extend(timeout.map(|t| ("timeout", t)));
        let answer = post_form(&client, &url, &params).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(answer.body["errorType"], "bad_data");
        let message = answer.body["error"].as_str().unwrap();
        assert!(
            message.contains("subquery step limit of 1000000"),
            "{message}"
        );
        assert!(
            answer.took < Duration::from_secs(2),
            "took {:?}",
            answer.took
        );
        assert_eq!(
            refusals(&pharos, "promql_subquery_steps").await,
            before + 1.0
        );
        assert_still_serving(&client, &mut pharos).await;
    }

    // Accepted but heavy: 249 vector additions over 950 400 subquery steps. The deadline is
    // checked inside the evaluator's loops, so the answer comes at the timeout.
    let heavy = format!(
        "sum_over_time(({})[11d:1s])",
        chain("vector(1)", " + ", 250)
    );
    let before = refusals(&pharos, "query_timeout").await;
    let answer = post_form(&client, &url, &[("query", &heavy), ("timeout", "3s")]).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.body["errorType"], "timeout");
    assert!(
        answer.took < Duration::from_secs(3) + Duration::from_secs(2),
        "a 3 s timeout answered after {:?}",
        answer.took
    );
    assert_eq!(refusals(&pharos, "query_timeout").await, before + 1.0);
    assert_still_serving(&client, &mut pharos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_max_length_comes_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pharos.yaml");
    std::fs::write(&config, "query:\n  max_length: 200\n").unwrap();
    let config = config.to_str().unwrap().to_owned();
    let mut pharos =
        Pharos::start_with(dir.path(), free_port(), &["--no-demo", "--config", &config]).await;
    let client = pharos.client();
    let url = pharos.url("/api/v1/query");

    let fits = chain("1", "+", 100);
    assert_eq!(
        post_form(&client, &url, &[("query", &fits)]).await.status,
        200
    );
    let too_long = chain("1", "+", 101);
    let answer = post_form(&client, &url, &[("query", &too_long)]).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let message = answer.body["error"].as_str().unwrap();
    assert!(message.contains("201 bytes"), "{message}");
    assert!(message.contains("limit of 200 bytes"), "{message}");
    assert_still_serving(&client, &mut pharos).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_queries_through_a_tenant_route_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut pharos = Pharos::start(dir.path(), free_port()).await;
    let client = pharos.client();
    let project = serde_json::json!({
        "kind": "Project",
        "metadata": {"name": "team-a"},
        "spec": {"display": {"name": "team-a"}, "namespaces": ["team-a"]}
    });
    let created = client
        .post(pharos.url("/api/v1/projects"))
        .json(&project)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 200);
    let url = pharos.url("/proxy/projects/team-a/globaldatasources/local/api/v1/query");

    // The route works for an ordinary query.
    let answer = post_form(&client, &url, &[("query", "up")]).await;
    assert_eq!(answer.status, 200, "{}", answer.body);

    let refused_before = counter(&pharos, "pharos_proxy_refused_queries_total").await;
    let cases = reported_cases();
    for case in &cases {
        let answer = post_form(&client, &url, &[("query", case.query.as_str())]).await;
        let name = case.name;
        assert_eq!(answer.status, 400, "{name}: {}", answer.body);
        let message = answer.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(case.message), "{name}: {message}");
        assert!(
            answer.took < Duration::from_secs(5),
            "{name}: {:?}",
            answer.took
        );
        assert_still_serving(&client, &mut pharos).await;
    }
    assert_eq!(
        counter(&pharos, "pharos_proxy_refused_queries_total").await,
        refused_before + cases.len() as f64
    );
}
