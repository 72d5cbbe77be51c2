//! Crash safety of remote-write: the real binary is SIGKILLed while batches stream in, then
//! restarted on the same data directory; every batch it acknowledged with 204 must be there.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use support::{Pharos, get_json, remote_write, write_body};

const SERIES: usize = 20;
/// Stop after this many batches even if the kill never comes (keeps the range query legal and
/// every batch in the past).
const MAX_BATCHES: i64 = 1_500;

/// Where batch 0 lies: 30 minutes ago, on a whole second. The binary's own scrapes write "now"
/// into the same store, and it refuses samples more than half a block range (1 h) behind the
/// newest one, so a fixed date in the past would be refused as soon as a scrape landed first.
fn base_ms() -> i64 {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now_s - 30 * 60) * 1000
}

/// Batch `k`: one sample per series at `base + k` seconds, with the value `k`.
fn batch(base_ms: i64, k: i64) -> Vec<u8> {
    let samples: Vec<_> = (0..SERIES)
        .map(|s| {
            (
                vec![
                    ("__name__", "kill_test".to_owned()),
                    ("series", s.to_string()),
                ],
                base_ms + k * 1000,
                k as f64,
            )
        })
        .collect();
    write_body(&samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_samples_survive_sigkill_mid_stream() {
    let dir = tempfile::tempdir().unwrap();
    let base = base_ms();
    let mut pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;

    // Batches go out back to back; `acknowledged` counts the 204s (sequential, so batches
    // 0..acknowledged were all acknowledged).
    let acknowledged = Arc::new(AtomicI64::new(0));
    let sender = {
        let acknowledged = Arc::clone(&acknowledged);
        let url = pharos.url("/api/v1/write");
        let client = pharos.client();
        tokio::spawn(async move {
            for k in 0..MAX_BATCHES {
                match remote_write(&client, &url, batch(base, k)).await {
                    Some(204) => acknowledged.store(k + 1, Ordering::SeqCst),
                    Some(status) => panic!("batch {k} refused with {status}"),
                    None => return,
                }
            }
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while acknowledged.load(Ordering::SeqCst) < 50 {
        assert!(
            Instant::now() < deadline,
            "no progress: {}",
            pharos.log_text()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    pharos.kill();
    sender.await.unwrap();
    let acked = acknowledged.load(Ordering::SeqCst);
    assert!(
        acked < MAX_BATCHES,
        "the sender finished before the kill; raise MAX_BATCHES"
    );

    // The restarted binary is a new process: the harness logged in to it again.
    let pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;
    let client = pharos.client();
    let answer = get_json(
        &client,
        &format!(
            "{}?query=kill_test&start={}&end={}&step=1",
            pharos.url("/api/v1/query_range"),
            base / 1000,
            base / 1000 + acked - 1
        ),
    )
    .await;
    assert_eq!(answer["status"], "success", "{answer}");
    let result = answer["data"]["result"].as_array().unwrap();
    assert_eq!(result.len(), SERIES, "{answer}");
    for series in result {
        let values = series["values"].as_array().unwrap();
        assert_eq!(values.len() as i64, acked, "{}", series["metric"]);
        for (k, point) in values.iter().enumerate() {
            // At step k the latest sample is batch k's exactly when batch k is stored.
            assert_eq!(point[0], base / 1000 + k as i64);
            assert_eq!(
                point[1],
                k.to_string(),
                "batch {k} of {} lost after SIGKILL",
                series["metric"]
            );
        }
    }

    // The recovered store keeps accepting writes.
    let status = remote_write(
        &client,
        &pharos.url("/api/v1/write"),
        batch(base, MAX_BATCHES + 1),
    )
    .await;
    assert_eq!(status, Some(204));
}
