//! `pharos backup` / `pharos restore` with the real binary: a SQLite data dir with dashboards
//! and their history, users, an API token, a share link, preferences, an encrypted secret
//! datasource and metric samples moves to PostgreSQL and back, and everything still works.
//! Also: a backup of a running Pharos' metrics is refused, a restore without the key or into a
//! non-empty target is refused and changes nothing, a damaged archive is refused.
//!
//! PostgreSQL comes from `PHAROS_TEST_DATABASE_URL` (`scripts/peers.sh start postgres`); the
//! test is skipped without it, and fails instead with `PHAROS_REQUIRE_POSTGRES=1`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{Pharos, bearer_headers, clean_command, get_json, remote_write, write_body};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const ERIN_PASSWORD: &str = "erin-long-password-42";

/// Runs `pharos ARGS` to completion; (success, stdout + stderr).
fn pharos(args: &[&str]) -> (bool, String) {
    let output = clean_command(env!("CARGO_BIN_EXE_pharos"))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// An upstream that answers every request with an empty Prometheus vector and remembers the
/// `authorization` headers it saw (the secret the proxy injects).
async fn recording_upstream() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0u8; 4096];
                // Headers, then as much body as content-length announces.
                loop {
                    let Ok(n) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (name, value) = l.split_once(':')?;
                                name.eq_ignore_ascii_case("content-length")
                                    .then(|| value.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            for line in text[..end].lines() {
                                if let Some((name, value)) = line.split_once(':')
                                    && name.eq_ignore_ascii_case("authorization")
                                {
                                    record.lock().unwrap().push(value.trim().to_owned());
                                }
                            }
                            break;
                        }
                    }
                }
                let body = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (url, seen)
}

fn dashboard(title: &str) -> Value {
    json!({"kind": "Dashboard", "metadata": {"name": "gpu", "project": "team-a"},
        "spec": {"display": {"name": title}, "duration": "1h", "panels": {}, "layouts": []}})
}

/// Sends `body` with `method` to `url` as the harness admin; asserts 200 and returns the JSON.
async fn send(pharos: &Pharos, method: reqwest::Method, url: &str, body: Value) -> Value {
    let response = pharos
        .client()
        .request(method.clone(), pharos.url(url))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "{method} {url}: {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// What the source holds and the restored Pharos must answer the same.
struct Content {
    upstream_seen: Arc<Mutex<Vec<String>>>,
    api_token: String,
    share_secret: String,
    sample_time: f64,
}

/// Fills a running Pharos with everything a backup must carry.
async fn fill(pharos: &Pharos) -> Content {
    let (upstream, upstream_seen) = recording_upstream().await;
    send(pharos, reqwest::Method::POST, "/api/v1/projects",
        json!({"kind": "Project", "metadata": {"name": "team-a"}, "spec": {"display": {"name": "team-a"}}})).await;
    send(
        pharos,
        reqwest::Method::POST,
        "/api/v1/projects/team-a/dashboards",
        dashboard("GPU v0"),
    )
    .await;
    for title in ["GPU v1", "GPU v2"] {
        send(
            pharos,
            reqwest::Method::PUT,
            "/api/v1/projects/team-a/dashboards/gpu",
            dashboard(title),
        )
        .await;
    }
    send(pharos, reqwest::Method::POST, "/api/v1/users",
        json!({"kind": "User", "metadata": {"name": "erin"}, "spec": {"nativeProvider": {"password": ERIN_PASSWORD}}})).await;
    let token = send(
        pharos,
        reqwest::Method::POST,
        "/api/v1/tokens",
        json!({"name": "ci", "projects": ["team-a"], "actions": ["read"], "expires_in": 86400}),
    )
    .await;
    let share = send(
        pharos,
        reqwest::Method::POST,
        "/api/v1/projects/team-a/dashboards/gpu/share",
        json!({"expires_in": 86400}),
    )
    .await;
    send(
        pharos,
        reqwest::Method::PUT,
        "/api/v1/preferences",
        json!({"timezone": "Europe/Paris", "theme": "dark"}),
    )
    .await;
    send(pharos, reqwest::Method::POST, "/api/v1/projects/team-a/secrets",
        json!({"kind": "Secret", "metadata": {"name": "prom-auth"}, "spec": {"basicAuth": {"username": "u", "password": "p"}}})).await;
    send(pharos, reqwest::Method::POST, "/api/v1/projects/team-a/datasources",
        json!({"kind": "Datasource", "metadata": {"name": "prom"}, "spec": {"plugin": {"kind": "PrometheusDatasource",
            "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": upstream, "secret": "prom-auth"}}}}}})).await;

    let now_ms = chrono::Utc::now().timestamp_millis();
    let start = now_ms - 10 * 60_000;
    let samples: Vec<_> = (0..10)
        .map(|i| {
            (
                vec![
                    ("__name__", "backup_probe".to_owned()),
                    ("job", "restore".to_owned()),
                ],
                start + i * 60_000,
                i as f64 * 1.5,
            )
        })
        .collect();
    let status = remote_write(
        &pharos.client(),
        &pharos.url("/api/v1/write"),
        write_body(&samples),
    )
    .await;
    assert_eq!(status, Some(204), "remote write");
    let share_url = share["share_url"].as_str().unwrap();
    Content {
        upstream_seen,
        api_token: token["token"].as_str().unwrap().to_owned(),
        share_secret: share_url.rsplit('/').next().unwrap().to_owned(),
        sample_time: (start + 9 * 60_000) as f64 / 1000.0,
    }
}

/// The answers that must survive a backup and restore unchanged.
async fn observe(pharos: &Pharos, content: &Content) -> Value {
    let client = pharos.client();
    let dashboard = get_json(
        &client,
        &pharos.url("/api/v1/projects/team-a/dashboards/gpu"),
    )
    .await;
    let versions = get_json(
        &client,
        &pharos.url("/api/v1/projects/team-a/dashboards/gpu/versions"),
    )
    .await;
    let old = get_json(
        &client,
        &pharos.url("/api/v1/projects/team-a/dashboards/gpu/versions/0"),
    )
    .await;
    let preferences = get_json(&client, &pharos.url("/api/v1/preferences")).await;
    let range = format!(
        "/api/v1/query_range?query=backup_probe&start={}&end={}&step=60",
        content.sample_time - 540.0,
        content.sample_time
    );
    let metrics = get_json(&client, &pharos.url(&range)).await;
    assert_eq!(
        metrics["data"]["result"][0]["values"]
            .as_array()
            .map(Vec::len),
        Some(10),
        "{metrics}"
    );
    json!({"dashboard": dashboard, "versions": versions, "version0": old,
        "preferences": preferences, "metrics": metrics["data"]})
}

/// Everything a credential or secret must still do on `pharos`.
async fn assert_credentials_work(pharos: &Pharos, content: &Content) {
    pharos.login("erin", ERIN_PASSWORD).await;
    let by_token = reqwest::Client::new()
        .get(pharos.url("/api/v1/projects/team-a/dashboards/gpu"))
        .headers(bearer_headers(&content.api_token))
        .send()
        .await
        .unwrap();
    assert_eq!(by_token.status(), 200, "the API token still works");
    let shared = reqwest::get(pharos.url(&format!("/api/v1/shared/{}", content.share_secret)))
        .await
        .unwrap();
    assert_eq!(shared.status(), 200, "the share link still opens");
    let before = content.upstream_seen.lock().unwrap().len();
    let proxied = pharos
        .client()
        .get(pharos.url("/proxy/projects/team-a/datasources/prom/api/v1/query?query=up"))
        .send()
        .await
        .unwrap();
    let status = proxied.status();
    assert_eq!(status, 200, "{}", proxied.text().await.unwrap());
    let seen = content.upstream_seen.lock().unwrap().clone();
    assert_eq!(seen.len(), before + 1, "{seen:?}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some("Basic dTpw"),
        "the secret still decrypts"
    );
}

/// The audit entries up to `seq`, oldest first (later ones are the checks' own logins).
async fn audit_until(pharos: &Pharos, seq: u64) -> Vec<Value> {
    let audit = get_json(
        &pharos.client(),
        &pharos.url("/api/v1/audit/logs?limit=1000"),
    )
    .await;
    let mut entries: Vec<Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["seq"].as_u64().is_some_and(|s| s <= seq))
        .cloned()
        .collect();
    entries.reverse();
    entries
}

/// Waits until `dir` is no longer locked by a stopping Pharos (the harness waits for the exit;
/// this only guards against a slow file-system release).
fn wait_unlocked(archive: &Path, args: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, out) = pharos(args);
        if ok {
            return out;
        }
        assert!(Instant::now() < deadline && out.contains("in use"), "{out}");
        let _ = std::fs::remove_file(archive);
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_data_dir_moves_to_postgres_and_back() {
    let Some(postgres) = pharos_store::testing::fresh_postgres_database().await else {
        eprintln!("skipped: PHAROS_TEST_DATABASE_URL is not set");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let (sqlite_dir, pg_dir, back_dir) = (
        work.path().join("a"),
        work.path().join("b"),
        work.path().join("c"),
    );
    std::fs::create_dir_all(&sqlite_dir).unwrap();
    let archive = work.path().join("a.tar.gz");

    // The source: SQLite in the data dir.
    let mut source = Pharos::start(&sqlite_dir, 0).await;
    let content = fill(&source).await;
    let expected = observe(&source, &content).await;
    assert_credentials_work(&source, &content).await;
    let audited = audit_until(&source, u64::MAX).await;
    let last_seq = audited.last().unwrap()["seq"].as_u64().unwrap();
    let actions: Vec<&str> = audited
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert!(
        actions.contains(&"update") && actions.contains(&"use"),
        "{actions:?}"
    );

    // The metrics store is locked by the running server: refused, saying what to do.
    let (ok, out) = pharos(&[
        "backup",
        "--data-dir",
        path(&sqlite_dir),
        "--output",
        path(&archive),
    ]);
    assert!(
        !ok && out.contains("stop Pharos") && out.contains("--no-tsdb"),
        "{out}"
    );
    assert!(!archive.exists());
    // The config store alone is fine while it runs.
    let online = work.path().join("online.tar.gz");
    let (ok, out) = pharos(&[
        "backup",
        "--data-dir",
        path(&sqlite_dir),
        "--no-tsdb",
        "--output",
        path(&online),
    ]);
    assert!(ok && out.contains("metrics: not included"), "{out}");
    assert!(source.terminate().success());

    let args = [
        "backup",
        "--data-dir",
        path(&sqlite_dir),
        "--output",
        path(&archive),
    ];
    let out = wait_unlocked(&archive, &args);
    assert!(
        out.contains("resource_versions") && out.contains("samples"),
        "{out}"
    );

    // Without the key the encrypted secret could not be read: refused, nothing written.
    let restore = [
        "restore",
        "--input",
        path(&archive),
        "--data-dir",
        path(&pg_dir),
        "--database-url",
        &postgres,
    ];
    let (ok, out) = pharos(&restore);
    assert!(
        !ok && out.contains("secret.key") && out.contains("nothing was changed"),
        "{out}"
    );
    assert!(
        !pg_dir.exists(),
        "a refused restore leaves no data dir behind"
    );
    std::fs::create_dir_all(&pg_dir).unwrap();
    std::fs::copy(sqlite_dir.join("secret.key"), pg_dir.join("secret.key")).unwrap();
    let (ok, out) = pharos(&restore);
    assert!(ok, "{out}");

    let mut migrated = Pharos::spawn(&pg_dir, &["--no-demo", "--database-url", &postgres]).await;
    assert!(
        migrated.log_text().contains("postgres"),
        "runs on PostgreSQL"
    );
    assert_eq!(observe(&migrated, &content).await, expected);
    assert_credentials_work(&migrated, &content).await;
    assert_eq!(
        audit_until(&migrated, last_seq).await,
        audited,
        "the audit log came along"
    );

    // A second restore into the same database is refused and changes nothing.
    let (ok, out) = pharos(&[
        "restore",
        "--input",
        path(&archive),
        "--data-dir",
        path(&pg_dir),
        "--database-url",
        &postgres,
        "--no-tsdb",
    ]);
    assert!(
        !ok && out.contains("not empty") && out.contains("nothing was changed"),
        "{out}"
    );
    assert_eq!(observe(&migrated, &content).await, expected);

    // A truncated or corrupted archive is refused before anything is touched.
    let bytes = std::fs::read(&archive).unwrap();
    let damaged = work.path().join("damaged.tar.gz");
    for broken in [bytes[..bytes.len() / 2].to_vec(), {
        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0xff;
        flipped
    }] {
        std::fs::write(&damaged, broken).unwrap();
        let fresh = work.path().join("fresh");
        let (ok, out) = pharos(&[
            "restore",
            "--input",
            path(&damaged),
            "--data-dir",
            path(&fresh),
        ]);
        assert!(!ok && out.contains("not a readable Pharos backup"), "{out}");
        assert!(!fresh.exists());
    }
    assert!(migrated.terminate().success());

    // And back: PostgreSQL → SQLite.
    let back_archive = work.path().join("b.tar.gz");
    let args = [
        "backup",
        "--data-dir",
        path(&pg_dir),
        "--database-url",
        &postgres,
        "--output",
        path(&back_archive),
    ];
    let out = wait_unlocked(&back_archive, &args);
    assert!(out.contains("from postgres"), "{out}");
    std::fs::create_dir_all(&back_dir).unwrap();
    std::fs::copy(pg_dir.join("secret.key"), back_dir.join("secret.key")).unwrap();
    let (ok, out) = pharos(&[
        "restore",
        "--input",
        path(&back_archive),
        "--data-dir",
        path(&back_dir),
    ]);
    assert!(ok, "{out}");
    let back = Pharos::start(&back_dir, 0).await;
    assert_eq!(observe(&back, &content).await, expected);
    assert_credentials_work(&back, &content).await;
    assert_eq!(audit_until(&back, last_seq).await, audited);
}
