//! The binary run the way the container image (`Containerfile`) and the Kubernetes manifests
//! (`deploy/`) run it: only `PHAROS_*` variables and the image's `TMPDIR` (no `HOME`, no
//! `PATH`), the configuration as a read-only mounted file (a ConfigMap), a read-only working
//! directory (`readOnlyRootFilesystem`) and one writable data directory (`/data`). It must
//! start, answer `/ready`, write nothing outside the data directory and stop cleanly on SIGTERM
//! (what the kubelet sends).
//!
//! When the tests run as root, the binary runs as UID 65532 with GID 0, the image's user and
//! OpenShift's arbitrary-UID convention (any UID, root group), so the read-only modes really
//! refuse writes, and files it left in /tmp would be recognisable by their owner; as any other
//! user (or when UID 65532 cannot reach the binary) it runs as the tests' user.

#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use support::{Login, Pharos};

/// The image's user (`USER 65532:0` in the Containerfile).
const IMAGE_UID: u32 = 65532;
const IMAGE_GID: u32 = 0;

/// The mounted configuration file (the ConfigMap of `deploy/base/`, trimmed to what this test
/// observes): JSON logs show it was read.
const CONFIG: &str = "\
log: {format: json, level: info}
tsdb:
  retention: 2d
";

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every entry below `dir` (recursively) with its kind, size, mode and modification time.
fn listing(dir: &Path) -> BTreeMap<PathBuf, (bool, u64, u32, Option<SystemTime>)> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let entry = entry.unwrap();
            let metadata = entry.metadata().unwrap();
            if metadata.is_dir() {
                pending.push(entry.path());
            }
            entries.insert(
                entry.path(),
                (
                    metadata.is_dir(),
                    metadata.len(),
                    metadata.mode(),
                    metadata.modified().ok(),
                ),
            );
        }
    }
    entries
}

/// Entries directly in the machine's shared temporary directories owned by `uid` (what a
/// process ignoring `TMPDIR` would leave there: SQLite's `etilqs_*` files, for one).
fn owned_in_shared_tmp(uid: u32) -> Vec<PathBuf> {
    let mut owned = Vec::new();
    for dir in ["/tmp", "/var/tmp", "/dev/shm"] {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.metadata().is_ok_and(|m| m.uid() == uid) {
                owned.push(entry.path());
            }
        }
    }
    owned.sort();
    owned
}

/// Whether a user who owns nothing on the way may run `binary`: it and every directory above
/// it have the "others" execute bit.
fn others_can_run(binary: &Path) -> bool {
    binary.ancestors().all(|path| {
        path.as_os_str().is_empty() || std::fs::metadata(path).is_ok_and(|m| m.mode() & 0o001 != 0)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_serves_and_stops_like_in_the_image() {
    let root = tempfile::tempdir().unwrap();
    let binary = Path::new(env!("CARGO_BIN_EXE_pharos"));
    // As UID 65532 only when the tests run as root and that user can reach the binary (a
    // checkout under a 0700 directory cannot; then the check runs as root, where the
    // read-only modes do not stop writes but the before/after listings still catch them).
    let as_root = std::fs::metadata(root.path()).unwrap().uid() == 0 && others_can_run(binary);
    // tempdir() is 0700: the image's user must be able to walk into it.
    set_mode(root.path(), 0o755);

    // The "image": a read-only working directory (the root filesystem) and a read-only
    // config mount, like a ConfigMap volume (files 0444 in a directory nobody may write).
    let workdir = root.path().join("rootfs");
    std::fs::create_dir(&workdir).unwrap();
    set_mode(&workdir, 0o555);
    let config_dir = root.path().join("etc-pharos");
    std::fs::create_dir(&config_dir).unwrap();
    let config = config_dir.join("config.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    set_mode(&config, 0o444);
    set_mode(&config_dir, 0o555);
    // The one writable volume, owned by the image's user and the root group like an emptyDir
    // or a PVC with fsGroup 0 on OpenShift.
    let data = root.path().join("data");
    std::fs::create_dir(&data).unwrap();
    set_mode(&data, 0o770);
    // What the container runtime does with stdout/stderr: outside the container.
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("pharos.log");
    let log_file = std::fs::File::create(&log).unwrap();

    let mut command = Command::new(binary);
    command.env_clear();
    if as_root {
        std::os::unix::fs::chown(&data, Some(IMAGE_UID), Some(IMAGE_GID)).unwrap();
        command.uid(IMAGE_UID).gid(IMAGE_GID);
    }
    let addr_file = data.join("pharos.addr");
    command
        .current_dir(&workdir)
        // The image's ENV, with a port of the system's choosing instead of 0.0.0.0:8080.
        .env("PHAROS_LISTEN", "127.0.0.1:0")
        .env("PHAROS_DATA_DIR", &data)
        .env("TMPDIR", &data)
        // The deployment's env (deploy/base/deployment.yaml).
        .env("PHAROS_CONFIG", config)
        .env("PHAROS_NO_DEMO", "true")
        .env("PHAROS_ADDR_FILE", &addr_file)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file.try_clone().unwrap()))
        .stderr(Stdio::from(log_file));

    let outside_before = listing(root.path());
    // Only files of UID 65532 can be told apart from those of the tests running alongside.
    let shared_tmp_before = as_root.then(|| owned_in_shared_tmp(IMAGE_UID));

    let starting = Instant::now();
    let child = command.spawn().unwrap();
    let mut pharos = Pharos::adopt_with(child, log.clone(), &addr_file, Login::None).await;
    eprintln!(
        "container-like start: ready after {:?} (as {})",
        starting.elapsed(),
        if as_root {
            "UID 65532, GID 0"
        } else {
            "the current user: not root, or UID 65532 cannot reach the binary"
        }
    );

    let client = reqwest::Client::new();
    for path in ["/live", "/ready"] {
        let response = client.get(pharos.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "GET {path}: {}", pharos.log_text());
    }
    // The mounted file was read: its log format is JSON.
    let text = pharos.log_text();
    let first = text.lines().next().unwrap_or_default();
    assert!(
        serde_json::from_str::<serde_json::Value>(first).is_ok(),
        "the first log line is not JSON, so the mounted config was not applied: {text}"
    );

    // SIGTERM, as the kubelet sends it; the pod's grace period is 30 s. Nothing holds the
    // shutdown: streams are told to reconnect, and the metrics store is closed with its
    // checkpoint (not abandoned to a WAL replay on the next start).
    let stopping = Instant::now();
    let status = pharos.terminate();
    let took = stopping.elapsed();
    eprintln!("container-like stop: SIGTERM to exit {took:?}");
    let text = pharos.log_text();
    assert!(status.success(), "exit after SIGTERM: {status}\n{text}");
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM took {took:?} to stop the server\n{text}"
    );
    assert!(
        text.contains("metrics store closed"),
        "the metrics store was not closed cleanly\n{text}"
    );

    // The state is in the data dir ...
    for name in ["pharos.db", "secret.key", "admin-password", "tsdb"] {
        assert!(
            data.join(name).exists(),
            "{name} missing in the data dir (has: {:?})\n{text}",
            std::fs::read_dir(&data)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect::<Vec<_>>()
        );
    }
    // ... and nothing else changed: the working directory, the config mount and the shared
    // temporary directories are as before.
    let mut outside_after = listing(root.path());
    let mut outside_before = outside_before;
    outside_after.retain(|path, _| !path.starts_with(&data));
    outside_before.retain(|path, _| !path.starts_with(&data));
    // The data dir's own entry (its mtime changes as files are added) is allowed to change.
    outside_after.remove(&data);
    outside_before.remove(&data);
    assert_eq!(
        outside_after, outside_before,
        "pharos wrote outside its data dir"
    );
    if let Some(before) = shared_tmp_before {
        assert_eq!(
            owned_in_shared_tmp(IMAGE_UID),
            before,
            "pharos left files in the shared temporary directories"
        );
    }

    // Let TempDir clean up (a non-root owner cannot delete inside 0555 directories).
    set_mode(&workdir, 0o755);
    set_mode(&config_dir, 0o755);
}
