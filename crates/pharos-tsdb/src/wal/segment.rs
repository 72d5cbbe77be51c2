//! Segment files and record framing: `[length u32 LE][crc32 u32 LE][payload]`, where the CRC
//! covers the payload. A frame whose length runs past the end of the file or whose CRC fails
//! marks where valid data ends.

use std::fs;
use std::path::{Path, PathBuf};

use super::WalError;

pub(crate) const FRAME_HEADER_LEN: usize = 8;
const CHECKPOINT_PREFIX: &str = "checkpoint.";
const TMP_SUFFIX: &str = ".tmp";

pub(crate) fn segment_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:08}"))
}

pub(crate) fn checkpoint_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{CHECKPOINT_PREFIX}{index:08}"))
}

pub(crate) fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TMP_SUFFIX);
    PathBuf::from(name)
}

/// Appends `payload` as one frame.
pub(crate) fn frame(out: &mut Vec<u8>, payload: &[u8]) -> Result<(), WalError> {
    let len = u32::try_from(payload.len()).map_err(|_| WalError::RecordTooLarge(payload.len()))?;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// Where reading a segment's frames stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FramesEnd {
    /// Every byte belonged to a valid frame.
    Clean,
    /// Valid frames end at `valid_len`; what follows is torn or corrupt.
    Damaged { valid_len: usize },
}

/// Calls `visit` with every valid frame payload in order. A payload that `visit` rejects counts
/// as damage too (a CRC collision on garbage is unlikely but possible).
pub(crate) fn read_frames<E>(
    bytes: &[u8],
    mut visit: impl FnMut(&[u8]) -> Result<(), E>,
) -> FramesEnd {
    let mut pos = 0;
    while pos < bytes.len() {
        let Some(header) = bytes.get(pos..pos + FRAME_HEADER_LEN) else {
            return FramesEnd::Damaged { valid_len: pos };
        };
        let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let start = pos + FRAME_HEADER_LEN;
        let Some(payload) = bytes.get(start..start + len) else {
            return FramesEnd::Damaged { valid_len: pos };
        };
        if crc32fast::hash(payload) != crc || visit(payload).is_err() {
            return FramesEnd::Damaged { valid_len: pos };
        }
        pos = start + len;
    }
    FramesEnd::Clean
}

/// Indexes of the segment files in `dir`, ascending.
pub(crate) fn list_segments(dir: &Path) -> Result<Vec<u64>, WalError> {
    let mut indexes: Vec<u64> = list_names(dir)?
        .iter()
        .filter(|name| !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|name| name.parse().ok())
        .collect();
    indexes.sort_unstable();
    Ok(indexes)
}

/// Indexes of the complete checkpoints in `dir`, ascending.
pub(crate) fn list_checkpoints(dir: &Path) -> Result<Vec<u64>, WalError> {
    let mut indexes: Vec<u64> = list_names(dir)?
        .iter()
        .filter_map(|name| name.strip_prefix(CHECKPOINT_PREFIX))
        .filter(|rest| !rest.ends_with(TMP_SUFFIX))
        .filter_map(|rest| rest.parse().ok())
        .collect();
    indexes.sort_unstable();
    Ok(indexes)
}

/// Removes leftovers of interrupted checkpoint writes.
pub(crate) fn remove_tmp_dirs(dir: &Path) -> Result<(), WalError> {
    for name in list_names(dir)? {
        if name.ends_with(TMP_SUFFIX) {
            let path = dir.join(&name);
            fs::remove_dir_all(&path).map_err(|e| WalError::io(&path, e))?;
        }
    }
    Ok(())
}

fn list_names(dir: &Path) -> Result<Vec<String>, WalError> {
    let entries = fs::read_dir(dir).map_err(|e| WalError::io(dir, e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| WalError::io(dir, e))?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_owned());
        }
    }
    Ok(names)
}

/// Makes a directory entry change (create, rename, delete) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), WalError> {
    fs::File::open(dir)
        .and_then(|file| file.sync_all())
        .map_err(|e| WalError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(payloads: &[&[u8]]) -> Vec<u8> {
        let mut out = Vec::new();
        for payload in payloads {
            frame(&mut out, payload).unwrap();
        }
        out
    }

    fn collect(bytes: &[u8]) -> (Vec<Vec<u8>>, FramesEnd) {
        let mut seen = Vec::new();
        let end = read_frames(bytes, |p| {
            seen.push(p.to_vec());
            Ok::<(), ()>(())
        });
        (seen, end)
    }

    #[test]
    fn every_truncation_point_keeps_exactly_the_complete_frames() {
        let bytes = frames(&[b"first", b"", b"third record"]);
        let boundaries = [0, 13, 21, bytes.len()];
        for cut in 0..=bytes.len() {
            let (seen, end) = collect(&bytes[..cut]);
            let complete = boundaries.iter().filter(|b| **b <= cut).count() - 1;
            assert_eq!(seen.len(), complete, "cut at {cut}");
            let expected_end = if boundaries.contains(&cut) {
                FramesEnd::Clean
            } else {
                FramesEnd::Damaged {
                    valid_len: boundaries[complete],
                }
            };
            assert_eq!(end, expected_end, "cut at {cut}");
        }
    }

    #[test]
    fn flipped_bit_stops_reading_at_that_frame() {
        let mut bytes = frames(&[b"first", b"second"]);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let (seen, end) = collect(&bytes);
        assert_eq!(seen, vec![b"first".to_vec()]);
        assert_eq!(end, FramesEnd::Damaged { valid_len: 13 });
    }
}
