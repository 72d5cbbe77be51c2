//! What the failure drills run: a private PostgreSQL (initdb + pg_ctl, so a drill may stop and
//! restart it without disturbing the shared test peers), a private Redis, a TCP proxy in front of
//! PostgreSQL that can add latency, and `pharos serve` replicas sharing them.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{ADMIN_PASSWORD, Login, Pharos, clean_command, free_port};

/// Why a drill cannot run here, or `None` when it can. Without the PostgreSQL binaries or
/// `redis-server` the drill is skipped, unless `PHAROS_REQUIRE_PEERS` says the machine must
/// have them (CI), where it fails.
pub fn missing_programs() -> Option<String> {
    let mut missing = Vec::new();
    if pg_bin().is_none() {
        missing.push("PostgreSQL 15 binaries (initdb, pg_ctl)");
    }
    if !on_path("redis-server") {
        missing.push("redis-server");
    }
    if missing.is_empty() {
        return None;
    }
    let why = format!("the failure drills need {}", missing.join(" and "));
    assert!(
        std::env::var_os("PHAROS_REQUIRE_PEERS").is_none(),
        "{why} (PHAROS_REQUIRE_PEERS is set)"
    );
    Some(why)
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn pg_bin() -> Option<PathBuf> {
    let configured = std::env::var_os("PHAROS_PEERS_PG_BIN").map(PathBuf::from);
    let mut candidates: Vec<PathBuf> = configured.into_iter().collect();
    candidates.push(PathBuf::from("/usr/lib/postgresql/15/bin"));
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        candidates.extend(entries.flatten().map(|e| e.path().join("bin")));
    }
    candidates
        .into_iter()
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
}

fn is_root() -> bool {
    // The uid of this process, without libc: /proc/self is owned by it.
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// A PostgreSQL cluster of its own, on a loopback port, trusting local connections.
pub struct Postgres {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    as_owner: Vec<String>,
}

impl Postgres {
    /// `initdb` under `dir` and start. As root it runs as the `postgres` user (PostgreSQL
    /// refuses root), which needs a directory it may enter.
    pub fn start(dir: &Path) -> Self {
        let bin = pg_bin().expect("PostgreSQL binaries");
        let cluster = if is_root() {
            // /tmp, not the test's data dir: the postgres user may not enter the caller's.
            let cluster = tempfile::Builder::new()
                .prefix("pharos-drill-pg")
                .tempdir_in("/tmp")
                .unwrap()
                .keep();
            Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(&cluster)
                .status()
                .unwrap();
            cluster
        } else {
            dir.join("pg")
        };
        let as_owner = if is_root() {
            vec![
                "runuser".into(),
                "-u".into(),
                "postgres".into(),
                "--".into(),
            ]
        } else {
            Vec::new()
        };
        let postgres = Self {
            bin,
            data: cluster.join("data"),
            port: free_port(),
            as_owner,
        };
        let log = cluster.join("initdb.log");
        let initdb = postgres
            .command("initdb")
            .arg("-D")
            .arg(&postgres.data)
            .args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(initdb.success(), "initdb failed (see {})", log.display());
        postgres.start_server();
        postgres
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = if self.as_owner.is_empty() {
            Command::new(program)
        } else {
            let mut command = Command::new(&self.as_owner[0]);
            command.args(&self.as_owner[1..]).arg(program);
            command
        };
        command.current_dir("/");
        command
    }

    /// `pg_ctl start`, waiting until it accepts connections.
    pub fn start_server(&self) {
        let options = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off \
             -c max_connections=100",
            self.port
        );
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.data.join("../postgres.log"))
            .args(["-w", "-o", &options, "start"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start failed");
    }

    /// `pg_ctl stop -m fast`: sessions are disconnected, as in a restart or a failover.
    pub fn stop_server(&self) {
        let status = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-w", "-m", "fast", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl stop failed");
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if let Some(cluster) = self.data.parent() {
            let _ = std::fs::remove_dir_all(cluster);
        }
    }
}

/// A Redis of its own (no persistence).
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
}

impl Redis {
    pub fn start() -> Self {
        let mut redis = Self {
            child: None,
            port: free_port(),
        };
        redis.start_server();
        redis
    }

    pub fn start_server(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: Redis is gone, as when its pod dies.
    pub fn stop_server(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop_server();
    }
}

/// A TCP proxy that forwards to `upstream`, delaying each chunk the client sends by the
/// current latency (zero at first): every PostgreSQL round trip then takes that much longer.
pub struct LatencyProxy {
    pub port: u16,
    latency_ms: Arc<AtomicU64>,
}

impl LatencyProxy {
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let latency_ms = Arc::new(AtomicU64::new(0));
        let latency = Arc::clone(&latency_ms);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (upstream, latency) = (upstream.clone(), Arc::clone(&latency));
                tokio::spawn(async move {
                    // The server is down: the client sees its connection closed, as it would.
                    if let Ok(server) = TcpStream::connect(&upstream).await {
                        pipe(client, server, latency).await;
                    }
                });
            }
        });
        Self { port, latency_ms }
    }

    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms.store(
            u64::try_from(latency.as_millis()).unwrap(),
            Ordering::Relaxed,
        );
    }
}

async fn pipe(client: TcpStream, server: TcpStream, latency: Arc<AtomicU64>) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async move {
        let mut buffer = vec![0_u8; 64 * 1024];
        loop {
            let read = match client_read.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            let delay = latency.load(Ordering::Relaxed);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if server_write.write_all(&buffer[..read]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let downstream = async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upstream, downstream);
}

/// A base64 AES key shared by the replicas (they must decrypt each other's secrets and accept
/// each other's sessions).
pub const SHARED_KEY: &str = "ZHJpbGwta2V5LWZvci10aGUtdHdvLXJlcGxpY2FzISE=";

/// `pharos serve` on `database_url` and `redis_url`, with its own data dir under `dir`.
pub fn spawn_replica(dir: &Path, name: &str, database_url: &str, redis_url: &str) -> Child {
    let data = dir.join(name);
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("secret.key"), SHARED_KEY).unwrap();
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    clean_command(env!("CARGO_BIN_EXE_pharos"))
        .env("PHAROS_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .args([
            "--listen",
            "127.0.0.1:0",
            "--no-demo",
            "--log-level",
            "info",
        ])
        .arg("--addr-file")
        .arg(dir.join(format!("{name}.addr")))
        .arg("--data-dir")
        .arg(&data)
        .args(["--database-url", database_url, "--redis-url", redis_url])
        .stdout(Stdio::from(log.try_clone().unwrap()))
        .stderr(Stdio::from(log))
        .spawn()
        .unwrap()
}

/// Adopts a replica started with [`spawn_replica`] once it is ready (logged in as admin).
pub async fn adopt_replica(dir: &Path, name: &str, child: Child) -> Pharos {
    Pharos::adopt_with(
        child,
        dir.join(format!("{name}.log")),
        &dir.join(format!("{name}.addr")),
        Login::Admin,
    )
    .await
}

/// Latency figures of a set of requests.
#[derive(Debug, Default)]
pub struct Latencies {
    pub millis: Vec<f64>,
}

impl Latencies {
    pub fn record(&mut self, took: Duration) {
        self.millis.push(took.as_secs_f64() * 1_000.0);
    }

    /// The `q` quantile (nearest rank), in ms.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.millis.clone();
        sorted.sort_by(f64::total_cmp);
        if sorted.is_empty() {
            return f64::NAN;
        }
        // Nearest rank: ceil(q * n), 1-based.
        let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
        sorted[rank.min(sorted.len()) - 1]
    }

    pub fn max(&self) -> f64 {
        self.millis.iter().copied().fold(f64::NAN, f64::max)
    }
}
