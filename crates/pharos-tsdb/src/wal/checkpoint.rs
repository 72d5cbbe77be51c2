//! Checkpoints: the head's series and chunks written as one file, so the segments before it can
//! be deleted. Written to a temporary directory and renamed into place once durable, so a
//! checkpoint that exists is complete.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::Path;

use super::WalError;
use super::WalSample;
use super::record::{self, Record};
use super::segment::{
    self, FramesEnd, checkpoint_path, list_checkpoints, list_segments, read_frames, segment_path,
    tmp_path,
};
use crate::head::SnapshotSeries;

const DATA_FILE: &str = "00000000";

/// Writes the checkpoint covering segments up to `through`, then deletes those segments and
/// older checkpoints.
pub(crate) fn write_checkpoint(
    dir: &Path,
    through: u64,
    series: &[SnapshotSeries],
) -> Result<(), WalError> {
    let final_dir = checkpoint_path(dir, through);
    let tmp_dir = tmp_path(&final_dir);
    if tmp_dir.exists() {
        fs::remove_dir_all(&tmp_dir).map_err(|e| WalError::io(&tmp_dir, e))?;
    }
    fs::create_dir_all(&tmp_dir).map_err(|e| WalError::io(&tmp_dir, e))?;
    let data_path = tmp_dir.join(DATA_FILE);
    let file = File::create(&data_path).map_err(|e| WalError::io(&data_path, e))?;
    let mut writer = BufWriter::new(file);
    let mut payload = Vec::new();
    let mut framed = Vec::new();
    // Series records in batches keep frames small; chunks follow per series.
    for batch in series.chunks(1000) {
        payload.clear();
        framed.clear();
        record::encode_series(
            &mut payload,
            batch.iter().map(|(id, labels, _, _)| (*id, labels)),
        );
        segment::frame(&mut framed, &payload)?;
        for (id, _, chunks, _) in batch {
            payload.clear();
            record::encode_chunks(&mut payload, *id, chunks.iter().map(|c| &c.data[..]));
            segment::frame(&mut framed, &payload)?;
        }
        // Out-of-order samples as sample records after the chunks: replayed through the same
        // append path, they land among the out-of-order samples again.
        let late: Vec<WalSample> = batch
            .iter()
            .flat_map(|(id, _, _, late)| {
                late.iter().map(|s| WalSample {
                    series: *id,
                    t: s.t,
                    value_bits: s.v.to_bits(),
                })
            })
            .collect();
        for part in late.chunks(10_000) {
            payload.clear();
            record::encode_samples(&mut payload, part);
            segment::frame(&mut framed, &payload)?;
        }
        writer
            .write_all(&framed)
            .map_err(|e| WalError::io(&data_path, e))?;
    }
    let file = writer
        .into_inner()
        .map_err(|e| WalError::io(&data_path, e.into_error()))?;
    file.sync_all().map_err(|e| WalError::io(&data_path, e))?;
    segment::sync_dir(&tmp_dir)?;
    if final_dir.exists() {
        fs::remove_dir_all(&final_dir).map_err(|e| WalError::io(&final_dir, e))?;
    }
    fs::rename(&tmp_dir, &final_dir).map_err(|e| WalError::io(&final_dir, e))?;
    segment::sync_dir(dir)?;

    for index in list_segments(dir)?.into_iter().filter(|i| *i <= through) {
        let path = segment_path(dir, index);
        fs::remove_file(&path).map_err(|e| WalError::io(&path, e))?;
    }
    for index in list_checkpoints(dir)?.into_iter().filter(|i| *i < through) {
        let path = checkpoint_path(dir, index);
        fs::remove_dir_all(&path).map_err(|e| WalError::io(&path, e))?;
    }
    segment::sync_dir(dir)
}

/// Applies every record of checkpoint `index`; returns how many there were.
pub(crate) fn load(
    dir: &Path,
    index: u64,
    apply: &mut impl FnMut(Record),
) -> Result<u64, WalError> {
    let checkpoint = checkpoint_path(dir, index);
    let data_path = checkpoint.join(DATA_FILE);
    let bytes = fs::read(&data_path).map_err(|e| WalError::io(&data_path, e))?;
    let mut records = 0;
    let end = read_frames(&bytes, |payload| {
        apply(record::decode(payload)?);
        records += 1;
        Ok::<(), crate::encoding::DecodeError>(())
    });
    match end {
        FramesEnd::Clean => Ok(records),
        FramesEnd::Damaged { valid_len } => Err(WalError::CorruptCheckpoint {
            path: checkpoint,
            reason: format!("unreadable record at byte {valid_len}"),
        }),
    }
}
