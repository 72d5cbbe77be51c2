//! Runs the real `pharos` binary on a loopback port of its choosing (port 0, reported through
//! `--addr-file`) with its own data directory and a clean environment, and talks to it over
//! HTTP. Logins are on (the default `--auth native`): every spawned binary gets
//! [`ADMIN_PASSWORD`] for its first administrator, and the harness logs in as `admin` once it is
//! ready, so tests send [`Pharos::client`] (bearer as a default header) or
//! [`Pharos::auth_header`] (raw TCP requests).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pharos_ingest::{Label, Sample, TimeSeries, WriteRequest, encode_write_request};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The first administrator's login.
pub const ADMIN_LOGIN: &str = "admin";
/// The password every spawned binary gets through `PHAROS_ADMIN_PASSWORD` (see
/// [`Pharos::spawn`]); binaries started by the test itself ([`Pharos::adopt`]) must be given it
/// too.
pub const ADMIN_PASSWORD: &str = "harness-admin-password-1";

/// Numbers the binaries one test process starts, so restarts on one data dir keep every log.
static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A running `pharos serve`.
pub struct Pharos {
    pub child: Child,
    /// The port the binary bound (it listens on port 0 and reports the port it got).
    pub port: u16,
    pub log: PathBuf,
    /// The tokens of the harness's login as `admin`; `None` when started with
    /// [`Login::None`].
    pub tokens: Option<Tokens>,
}

/// The answer of a login or refresh: `{"access_token","token_type","refresh_token",
/// "expires_in"}`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

/// Whether the harness logs in once the binary is ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Login {
    /// As `admin` with [`ADMIN_PASSWORD`] (the binary must have been given it).
    Admin,
    /// Not at all: the test logs in itself, or logins are off.
    None,
}

/// A port nobody listens on right now. Racy (another process may take it before it is used):
/// `Pharos` no longer needs it, the binary binds port 0 and reports its port.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Variables a spawned binary keeps from the test's environment; everything else (above all
/// a developer's `PHAROS_*` settings, which could point the binary at a real database) is
/// dropped.
const KEPT_VARIABLES: &[&str] = &[
    "PATH",
    "HOME",
    "TMPDIR",
    "RUST_BACKTRACE",
    "LLVM_PROFILE_FILE",
];

/// A `Command` for `program` with only [`KEPT_VARIABLES`] of this process's environment.
pub fn clean_command(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(program);
    command.env_clear();
    for name in KEPT_VARIABLES {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    command
}

impl Pharos {
    /// Starts the binary with `data_dir`, without the simulator (its "now" samples would make
    /// the store refuse the tests' fixed timestamps), and waits for `/ready`. The port
    /// argument is ignored (kept for existing callers): see [`Pharos::spawn`].
    pub async fn start(data_dir: &Path, _port: u16) -> Self {
        Self::spawn(data_dir, &["--no-demo"]).await
    }

    /// [`Pharos::spawn`] for callers written against the old signature; `_port` is ignored.
    pub async fn start_with(data_dir: &Path, _port: u16, extra_args: &[&str]) -> Self {
        Self::spawn(data_dir, extra_args).await
    }

    /// Starts the binary on `127.0.0.1:0` with `data_dir`, extra flags and a clean
    /// environment plus `PHAROS_ADMIN_PASSWORD=`[`ADMIN_PASSWORD`]; learns its port from
    /// `--addr-file`, waits until `/ready` answers and logs in as `admin`.
    pub async fn spawn(data_dir: &Path, extra_args: &[&str]) -> Self {
        Self::spawn_custom(
            data_dir,
            extra_args,
            &[("PHAROS_ADMIN_PASSWORD", ADMIN_PASSWORD)],
            Login::Admin,
        )
        .await
    }

    /// [`Pharos::spawn`] with only `env` added to the clean environment (no
    /// `PHAROS_ADMIN_PASSWORD` unless `env` has it) and the given `login`.
    pub async fn spawn_custom(
        data_dir: &Path,
        extra_args: &[&str],
        env: &[(&str, &str)],
        login: Login,
    ) -> Self {
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = data_dir.join(format!("pharos-{}-{run}.log", std::process::id()));
        let addr_file = data_dir.join(format!("pharos-{}-{run}.addr", std::process::id()));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = clean_command(env!("CARGO_BIN_EXE_pharos"))
            .envs(env.iter().copied())
            .args(["--listen", "127.0.0.1:0"])
            .arg("--addr-file")
            .arg(&addr_file)
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--log-level", "info"])
            .args(extra_args)
            .stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap();
        Self::adopt_with(child, log, &addr_file, login).await
    }

    /// Takes over a started `pharos serve` that writes its address to `addr_file` and its
    /// output to `log`; waits until it listens and `/ready` answers, then logs in as `admin`
    /// with [`ADMIN_PASSWORD`] (start it with `PHAROS_ADMIN_PASSWORD` set to that).
    pub async fn adopt(child: Child, log: PathBuf, addr_file: &Path) -> Self {
        Self::adopt_with(child, log, addr_file, Login::Admin).await
    }

    /// [`Pharos::adopt`] with the given `login`.
    pub async fn adopt_with(child: Child, log: PathBuf, addr_file: &Path, login: Login) -> Self {
        let mut pharos = Self {
            child,
            port: 0,
            log,
            tokens: None,
        };
        pharos.port = pharos.wait_for_port(addr_file).await;
        pharos.wait_ready().await;
        if login == Login::Admin {
            pharos.tokens = Some(pharos.login(ADMIN_LOGIN, ADMIN_PASSWORD).await);
        }
        pharos
    }

    /// `POST /api/auth/providers/native/login`; panics unless it answers 200 with tokens.
    pub async fn login(&self, login: &str, password: &str) -> Tokens {
        let response = reqwest::Client::new()
            .post(self.url("/api/auth/providers/native/login"))
            .json(&serde_json::json!({"login": login, "password": password}))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(
            status,
            200,
            "login as {login:?} refused: {text}\n{}",
            self.log_text()
        );
        let tokens: Tokens =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("login answer {text:?}: {e}"));
        assert_eq!(tokens.token_type, "Bearer", "{text}");
        assert!(!tokens.access_token.is_empty(), "{text}");
        tokens
    }

    /// The harness's access token; panics when the binary was started without a login.
    pub fn token(&self) -> &str {
        &self
            .tokens
            .as_ref()
            .expect("started with Login::None: no token")
            .access_token
    }

    /// `Authorization: Bearer <token>` as a header map.
    pub fn auth_headers(&self) -> HeaderMap {
        bearer_headers(self.token())
    }

    /// A client builder that sends the harness's bearer token on every request (add timeouts
    /// and the like, then `build()`).
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder().default_headers(self.auth_headers())
    }

    /// A client that sends the harness's bearer token on every request.
    pub fn client(&self) -> reqwest::Client {
        self.client_builder().build().unwrap()
    }

    /// The header line for raw HTTP/1.1 requests: `authorization: Bearer <token>\r\n`.
    pub fn auth_header(&self) -> String {
        format!("authorization: Bearer {}\r\n", self.token())
    }

    /// Polls for the address file the binary writes once it listens.
    async fn wait_for_port(&mut self, addr_file: &Path) -> u16 {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(text) = std::fs::read_to_string(addr_file) {
                let addr: std::net::SocketAddr = text
                    .trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("--addr-file holds {text:?}: {e}"));
                return addr.port();
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("pharos exited with {status}: {}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "pharos wrote no --addr-file within 60 s: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("pharos exited with {status}: {}", self.log_text());
            }
            let ready = client
                .get(self.url("/ready"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pharos not ready after 60 s: {}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Pharos {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One sample to send: labels, timestamp (ms), value.
pub type OwnedSample = (Vec<(&'static str, String)>, i64, f64);

/// One remote-write body: each sample as its own series entry.
pub fn write_body(samples: &[OwnedSample]) -> Vec<u8> {
    let request = WriteRequest {
        timeseries: samples
            .iter()
            .map(|(labels, t, v)| TimeSeries {
                labels: labels
                    .iter()
                    .map(|(n, v)| Label::new(*n, v.as_str()))
                    .collect(),
                samples: vec![Sample {
                    value: *v,
                    timestamp: *t,
                }],
                histograms: vec![],
            })
            .collect(),
        metadata: vec![],
    };
    encode_write_request(&request).unwrap()
}

/// `Authorization: Bearer <token>` as a header map (sensitive: never printed).
pub fn bearer_headers(token: &str) -> HeaderMap {
    let mut value = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    value.set_sensitive(true);
    let mut headers = HeaderMap::new();
    headers.insert(AUTHORIZATION, value);
    headers
}

/// POSTs a remote-write body with `client` (give it the bearer: [`Pharos::client`]); the HTTP
/// status, or `None` when the server did not answer.
pub async fn remote_write(client: &reqwest::Client, url: &str, body: Vec<u8>) -> Option<u16> {
    client
        .post(url)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body)
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

/// GET of a JSON document with `client` (give it the bearer: [`Pharos::client`]). Panics on
/// 401 and 403, so a missing or refused token is named as such.
pub async fn get_json(client: &reqwest::Client, url: &str) -> serde_json::Value {
    let response = client.get(url).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(
        status != 401 && status != 403,
        "GET {url}: {status} (token missing or refused?): {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("GET {url}: {status} {text:?}: {e}"))
}

/// A loopback HTTP forwarder to a Pharos that adds its bearer token to every request, for
/// clients that cannot send one themselves (promtool 2.42 has no `--http.config.file`). It
/// forwards method, path, query, `content-type` and body, and answers with the status,
/// `content-type` and body it got, one request per connection. It runs on its own thread and
/// runtime, so callers may block (a `promtool` child) on theirs.
pub struct BearerForwarder {
    pub port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl BearerForwarder {
    pub fn start(pharos: &Pharos) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let headers = pharos.auth_headers();
        let base = pharos.base_url();
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let client = reqwest::Client::builder()
                    .default_headers(headers)
                    .build()
                    .unwrap();
                loop {
                    tokio::select! {
                        _ = &mut stopped => return,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { return };
                            let (client, base) = (client.clone(), base.clone());
                            tokio::spawn(async move {
                                let _ = forward_one(stream, &client, &base).await;
                            });
                        }
                    }
                }
            });
        });
        Self {
            port,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for BearerForwarder {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn forward_one(
    mut stream: tokio::net::TcpStream,
    client: &reqwest::Client,
    base: &str,
) -> std::io::Result<()> {
    let mut received = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        received.extend_from_slice(&buf[..n]);
        if let Some(i) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or("GET").to_owned();
    let target = request_line.next().unwrap_or("/").to_owned();
    let mut content_type = None;
    let mut length = 0usize;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim().to_owned();
            if name.eq_ignore_ascii_case("content-type") {
                content_type = Some(value);
            } else if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            }
        }
    }
    let mut body = received[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut request = client.request(method, format!("{base}{target}")).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let (status, content_type, answer) = match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned();
            let answer = response.bytes().await.unwrap_or_default().to_vec();
            (status, content_type, answer)
        }
        Err(e) => (502, "text/plain".to_owned(), e.to_string().into_bytes()),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        answer.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&answer).await?;
    stream.shutdown().await
}
