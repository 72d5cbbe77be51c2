//! Runs the real `pharos` binary on a loopback port of its choosing (port 0, reported through
//! `--addr-file`) with its own data directory and a clean environment, and talks to it over
//! HTTP.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pharos_ingest::{Label, Sample, TimeSeries, WriteRequest, encode_write_request};

/// Numbers the binaries one test process starts, so restarts on one data dir keep every log.
static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A running `pharos serve`.
pub struct Pharos {
    pub child: Child,
    /// The port the binary bound (it listens on port 0 and reports the port it got).
    pub port: u16,
    pub log: PathBuf,
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
    /// environment; learns its port from `--addr-file` and waits until `/ready` answers.
    pub async fn spawn(data_dir: &Path, extra_args: &[&str]) -> Self {
        let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = data_dir.join(format!("pharos-{}-{run}.log", std::process::id()));
        let addr_file = data_dir.join(format!("pharos-{}-{run}.addr", std::process::id()));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = clean_command(env!("CARGO_BIN_EXE_pharos"))
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
        Self::adopt(child, log, &addr_file).await
    }

    /// Takes over a started `pharos serve` that writes its address to `addr_file` and its
    /// output to `log`; waits until it listens and `/ready` answers.
    pub async fn adopt(child: Child, log: PathBuf, addr_file: &Path) -> Self {
        let mut pharos = Self {
            child,
            port: 0,
            log,
        };
        pharos.port = pharos.wait_for_port(addr_file).await;
        pharos.wait_ready().await;
        pharos
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

/// POSTs a remote-write body; the HTTP status, or `None` when the server did not answer.
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

/// GET of a JSON document.
pub async fn get_json(url: &str) -> serde_json::Value {
    let response = reqwest::get(url).await.unwrap();
    response.json().await.unwrap()
}
