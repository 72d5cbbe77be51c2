use std::io::Write;

use super::*;
use crate::head::{Head, HeadOptions};
use crate::matcher::MatchOp;

const RANGE: i64 = 10_000;

fn labels(job: &str, instance: &str) -> Labels {
    Labels::new([("__name__", "up"), ("job", job), ("instance", instance)]).unwrap()
}

fn filled_head() -> Head {
    let head = Head::new(HeadOptions {
        chunk_range_ms: RANGE,
    });
    for t in (0..3 * RANGE).step_by(250) {
        for (job, instance) in [("api", "a"), ("api", "b"), ("db", "a")] {
            head.append(&labels(job, instance), t, (t % 1_000) as f64)
                .unwrap();
        }
    }
    head
}

fn cut(head: &Head, dir: &Path, mint: i64, maxt: i64) -> Block {
    let spec = BlockSpec {
        min_time: mint,
        max_time: maxt,
        level: 1,
        parents: vec![],
    };
    let series = head.chunks_in_range(mint, maxt).into_iter().map(Ok);
    let path = write_block(dir, spec, series).unwrap().unwrap();
    Block::open(&path).unwrap()
}

#[test]
fn block_answers_like_the_head_it_was_cut_from() {
    let head = filled_head();
    let dir = tempfile::tempdir().unwrap();
    let block = cut(&head, dir.path(), RANGE, 2 * RANGE);
    assert_eq!(block.meta().stats.num_series, 3);
    assert_eq!(block.meta().stats.num_samples, 3 * 40);

    let matcher_sets = [
        vec![],
        vec![Matcher::equal("job", "api")],
        vec![Matcher::new(MatchOp::NotRegex, "instance", "b").unwrap()],
    ];
    for matchers in &matcher_sets {
        for (mint, maxt) in [(RANGE, 2 * RANGE - 1), (12_345, 15_000), (0, i64::MAX)] {
            let from_head = head.select(matchers, mint.max(RANGE), maxt.min(2 * RANGE - 1));
            assert_eq!(block.select(matchers, mint, maxt).unwrap(), from_head);
        }
        assert_eq!(
            block.series(matchers, 0, i64::MAX),
            head.series(matchers, RANGE, 2 * RANGE - 1)
        );
    }
    let all: Vec<String> = block
        .label_names(&[], i64::MIN, i64::MAX)
        .into_iter()
        .collect();
    assert_eq!(all, ["__name__", "instance", "job"]);
    let jobs: Vec<String> = block
        .label_values(
            "job",
            &[Matcher::equal("instance", "b")],
            i64::MIN,
            i64::MAX,
        )
        .into_iter()
        .collect();
    assert_eq!(jobs, ["api"]);
    assert!(block.select(&[], 2 * RANGE, 3 * RANGE).unwrap().is_empty());
}

#[test]
fn damaged_chunks_are_reported_as_corrupt() {
    let head = filled_head();
    let dir = tempfile::tempdir().unwrap();
    let block = cut(&head, dir.path(), 0, RANGE);
    let chunks_path = block.dir().join(CHUNKS_FILE);
    let mut bytes = fs::read(&chunks_path).unwrap();
    bytes[10] ^= 0xff;
    fs::write(&chunks_path, bytes).unwrap();
    let error = block.select(&[], 0, RANGE).unwrap_err();
    assert!(matches!(error, BlockError::Corrupt { .. }), "{error}");

    let index_path = block.dir().join(INDEX_FILE);
    let mut file = fs::OpenOptions::new()
        .append(true)
        .open(&index_path)
        .unwrap();
    file.write_all(b"x").unwrap();
    assert!(matches!(
        Block::open(block.dir()),
        Err(BlockError::Corrupt { .. })
    ));
}

#[test]
fn empty_ranges_write_no_block() {
    let head = filled_head();
    let dir = tempfile::tempdir().unwrap();
    let spec = BlockSpec {
        min_time: 100 * RANGE,
        max_time: 101 * RANGE,
        level: 1,
        parents: vec![],
    };
    let series = head
        .chunks_in_range(100 * RANGE, 101 * RANGE)
        .into_iter()
        .map(Ok);
    assert!(write_block(dir.path(), spec, series).unwrap().is_none());
    assert!(open_all(dir.path()).unwrap().is_empty());
}

#[test]
fn compaction_merges_and_open_all_cleans_up() {
    let head = filled_head();
    let dir = tempfile::tempdir().unwrap();
    let first = cut(&head, dir.path(), 0, RANGE);
    let second = cut(&head, dir.path(), RANGE, 2 * RANGE);
    let merged_path = compact(&[&first, &second], dir.path()).unwrap().unwrap();
    let merged = Block::open(&merged_path).unwrap();
    assert_eq!(merged.meta().min_time, 0);
    assert_eq!(merged.meta().max_time, 2 * RANGE);
    assert_eq!(merged.meta().compaction.level, 2);
    assert_eq!(
        merged.select(&[], 0, 2 * RANGE).unwrap(),
        head.select(&[], 0, 2 * RANGE - 1)
    );

    // Crash before the parents were deleted, plus an unfinished write.
    fs::create_dir(dir.path().join(format!("junk{TMP_SUFFIX}"))).unwrap();
    let blocks = open_all(dir.path()).unwrap();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].meta().name, merged.meta().name);
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}
