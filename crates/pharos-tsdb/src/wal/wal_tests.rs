use std::fs::OpenOptions;
use std::sync::Arc;

use super::*;
use crate::chunk::StoredChunk;

fn labels(job: &str) -> Labels {
    Labels::new([("__name__", "up"), ("job", job)]).unwrap()
}

fn sample(series: u64, t: i64) -> WalSample {
    WalSample {
        series,
        t,
        value_bits: (t as f64).to_bits(),
    }
}

fn replay(dir: &Path) -> (Vec<Record>, ReplayReport) {
    let mut records = Vec::new();
    let (_, report) = Wal::open(dir, DEFAULT_SEGMENT_SIZE, |r| records.push(r)).unwrap();
    (records, report)
}

fn replayed_samples(records: &[Record]) -> Vec<i64> {
    records
        .iter()
        .flat_map(|r| match r {
            Record::Samples(samples) => samples.iter().map(|s| s.t).collect(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn logged_commits_replay_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, report) = Wal::open(dir.path(), DEFAULT_SEGMENT_SIZE, |_| {}).unwrap();
    assert_eq!(report, ReplayReport::default());
    let api = labels("api");
    wal.log(&[(1, &api)], &[sample(1, 10), sample(1, 20)])
        .unwrap();
    wal.log(&[], &[sample(1, 30)]).unwrap();
    drop(wal);

    let (records, report) = replay(dir.path());
    assert_eq!(records[0], Record::Series(vec![(1, api)]));
    assert_eq!(replayed_samples(&records), [10, 20, 30]);
    assert_eq!(report.records, 3);
    assert_eq!(report.torn_bytes_truncated, 0);
}

#[test]
fn torn_tail_is_truncated_and_later_writes_stay_readable() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), DEFAULT_SEGMENT_SIZE, |_| {}).unwrap();
    wal.log(&[(1, &labels("api"))], &[sample(1, 10)]).unwrap();
    wal.log(&[], &[sample(1, 20)]).unwrap();
    let path = segment_path(dir.path(), wal.index);
    drop(wal);
    // Simulate a crash in the middle of writing the second commit.
    let len = fs::metadata(&path).unwrap().len();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len - 3)
        .unwrap();

    let mut records = Vec::new();
    let (mut wal, report) =
        Wal::open(dir.path(), DEFAULT_SEGMENT_SIZE, |r| records.push(r)).unwrap();
    assert_eq!(replayed_samples(&records), [10]);
    assert!(report.torn_bytes_truncated > 0);
    wal.log(&[], &[sample(1, 30)]).unwrap();
    drop(wal);

    let (records, report) = replay(dir.path());
    assert_eq!(replayed_samples(&records), [10, 30]);
    assert_eq!(report.torn_bytes_truncated, 0);
}

#[test]
fn garbage_appended_after_the_last_record_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), DEFAULT_SEGMENT_SIZE, |_| {}).unwrap();
    wal.log(&[(1, &labels("api"))], &[sample(1, 10)]).unwrap();
    let path = segment_path(dir.path(), wal.index);
    drop(wal);
    let mut file = OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(&[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 1, 2, 3])
        .unwrap();
    drop(file);
    let (records, report) = replay(dir.path());
    assert_eq!(replayed_samples(&records), [10]);
    assert_eq!(report.torn_bytes_truncated, 11);
}

#[test]
fn segments_roll_over_at_the_size_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), 200, |_| {}).unwrap();
    wal.log(&[(1, &labels("api"))], &[]).unwrap();
    for t in 0..50 {
        wal.log(&[], &[sample(1, t)]).unwrap();
    }
    assert!(segment::list_segments(dir.path()).unwrap().len() > 3);
    drop(wal);
    let (records, report) = replay(dir.path());
    assert_eq!(replayed_samples(&records), (0..50).collect::<Vec<_>>());
    assert!(report.segments > 3);
}

#[test]
fn checkpoint_replaces_older_segments() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), DEFAULT_SEGMENT_SIZE, |_| {}).unwrap();
    let api = labels("api");
    wal.log(&[(1, &api)], &[sample(1, 10)]).unwrap();
    let through = wal.cut_segment().unwrap();
    wal.log(&[], &[sample(1, 20)]).unwrap();

    let mut chunk = crate::chunk::XorChunk::new();
    chunk.append(10, 10.0).unwrap();
    let stored = StoredChunk {
        min_t: 10,
        max_t: 10,
        num_samples: 1,
        data: Arc::from(chunk.bytes()),
    };
    write_checkpoint(
        dir.path(),
        through,
        &[(1, api.clone(), vec![stored], Vec::new())],
    )
    .unwrap();
    assert_eq!(segment::list_segments(dir.path()).unwrap(), [through + 1]);
    drop(wal);

    let (records, report) = replay(dir.path());
    assert_eq!(report.checkpoint, Some(through));
    assert_eq!(records[0], Record::Series(vec![(1, api)]));
    assert!(matches!(&records[1], Record::Chunks { series: 1, chunks } if chunks.len() == 1));
    assert_eq!(replayed_samples(&records), [20]);
}

#[test]
fn corruption_in_an_older_segment_drops_the_rest_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), DEFAULT_SEGMENT_SIZE, |_| {}).unwrap();
    wal.log(&[(1, &labels("api"))], &[sample(1, 10)]).unwrap();
    let first = wal.cut_segment().unwrap();
    wal.log(&[], &[sample(1, 20)]).unwrap();
    drop(wal);
    let path = segment_path(dir.path(), first);
    let mut bytes = fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    fs::write(&path, bytes).unwrap();

    let (records, report) = replay(dir.path());
    assert_eq!(report.segments_dropped_after_corruption, 1);
    assert!(replayed_samples(&records).is_empty());
}

#[test]
fn one_fsync_covers_every_commit_written_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut wal, _) = Wal::open(dir.path(), 1024, |_| {}).unwrap();
    let sync = wal.group_sync();
    let first = wal.write(&[(1, &labels("api"))], &[sample(1, 10)]).unwrap();
    let second = wal.write(&[], &[sample(1, 20)]).unwrap();
    assert!(second.end > first.end);
    sync.sync_through(first).unwrap();
    assert_eq!(sync.fsyncs(), 1);
    // The second commit was written before that fsync started: it is durable already.
    sync.sync_through(second).unwrap();
    assert_eq!(sync.fsyncs(), 1);
    let third = wal.write(&[], &[sample(1, 30)]).unwrap();
    sync.sync_through(third).unwrap();
    assert_eq!(sync.fsyncs(), 2);
    // A segment cut fsyncs the old segment: positions in it need no further fsync.
    let old_segment = third;
    wal.cut_segment().unwrap();
    sync.sync_through(old_segment).unwrap();
    assert_eq!(sync.fsyncs(), 2);
    drop(wal);
    let (records, _) = replay(dir.path());
    assert_eq!(replayed_samples(&records), [10, 20, 30]);
}
