//! Runs the real `pharos` binary on a loopback port with its own data directory, and talks to
//! it over HTTP.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pharos_ingest::{Label, Sample, TimeSeries, WriteRequest, encode_write_request};

/// A running `pharos serve`.
pub struct Pharos {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

impl Pharos {
    /// Starts the binary on `port` with `data_dir`, without the simulator (its "now" samples
    /// would make the store refuse the tests' fixed timestamps), and waits for `/ready`.
    pub async fn start(data_dir: &Path, port: u16) -> Self {
        Self::start_with(data_dir, port, &["--no-demo"]).await
    }

    /// Starts the binary with extra flags and waits until `/ready` answers.
    pub async fn start_with(data_dir: &Path, port: u16, extra_args: &[&str]) -> Self {
        let log = data_dir.join(format!("pharos-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_pharos"))
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--log-level", "info"])
            .args(extra_args)
            .stdout(Stdio::from(log_file.try_clone().unwrap()))
            .stderr(Stdio::from(log_file))
            .spawn()
            .unwrap();
        let mut pharos = Self { child, port, log };
        pharos.wait_ready().await;
        pharos
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
