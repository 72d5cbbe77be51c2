//! WAL record payloads: new series, sample batches and (in checkpoints) whole chunks.

use crate::encoding::{ByteReader, DecodeError, put_str, put_uvarint, put_varint};
use crate::labels::{Label, Labels};

const TYPE_SERIES: u8 = 1;
const TYPE_SAMPLES: u8 = 2;
const TYPE_CHUNKS: u8 = 3;

/// One sample as logged: the series id it belongs to, timestamp and raw value bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WalSample {
    pub(crate) series: u64,
    pub(crate) t: i64,
    pub(crate) value_bits: u64,
}

/// A decoded record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record {
    /// Series created, with the id later records refer to.
    Series(Vec<(u64, Labels)>),
    /// Samples appended.
    Samples(Vec<WalSample>),
    /// Checkpoint only: a series' encoded chunks, oldest first.
    Chunks { series: u64, chunks: Vec<Vec<u8>> },
}

pub(crate) fn encode_series<'a>(
    out: &mut Vec<u8>,
    series: impl ExactSizeIterator<Item = (u64, &'a Labels)>,
) {
    out.push(TYPE_SERIES);
    put_uvarint(out, series.len() as u64);
    for (id, labels) in series {
        put_uvarint(out, id);
        put_uvarint(out, labels.len() as u64);
        for label in labels {
            put_str(out, &label.name);
            put_str(out, &label.value);
        }
    }
}

pub(crate) fn encode_samples(out: &mut Vec<u8>, samples: &[WalSample]) {
    out.push(TYPE_SAMPLES);
    put_uvarint(out, samples.len() as u64);
    // Timestamps in one batch are close together: store them relative to the first.
    let base = samples.first().map_or(0, |s| s.t);
    put_varint(out, base);
    for sample in samples {
        put_uvarint(out, sample.series);
        put_varint(out, sample.t.wrapping_sub(base));
        out.extend_from_slice(&sample.value_bits.to_le_bytes());
    }
}

pub(crate) fn encode_chunks<'a>(
    out: &mut Vec<u8>,
    series: u64,
    chunks: impl ExactSizeIterator<Item = &'a [u8]>,
) {
    out.push(TYPE_CHUNKS);
    put_uvarint(out, series);
    put_uvarint(out, chunks.len() as u64);
    for chunk in chunks {
        put_uvarint(out, chunk.len() as u64);
        out.extend_from_slice(chunk);
    }
}

/// Decodes one record payload (type byte included).
pub(crate) fn decode(payload: &[u8]) -> Result<Record, DecodeError> {
    let mut reader = ByteReader::new(payload);
    let record = match reader.u8()? {
        TYPE_SERIES => {
            let count = reader.len()?;
            let mut series = Vec::with_capacity(count);
            for _ in 0..count {
                let id = reader.uvarint()?;
                let label_count = reader.len()?;
                let mut labels = Vec::with_capacity(label_count);
                for _ in 0..label_count {
                    let name = reader.str()?.to_owned();
                    let value = reader.str()?.to_owned();
                    labels.push(Label { name, value });
                }
                let labels = Labels::from_decoded(labels).ok_or(DecodeError {
                    offset: reader.position(),
                    what: "labels not sorted, duplicated or empty",
                })?;
                series.push((id, labels));
            }
            Record::Series(series)
        }
        TYPE_SAMPLES => {
            let count = reader.len()?;
            let base = reader.varint()?;
            let mut samples = Vec::with_capacity(count);
            for _ in 0..count {
                let series = reader.uvarint()?;
                let t = base.wrapping_add(reader.varint()?);
                let value_bits = reader.u64_le()?;
                samples.push(WalSample {
                    series,
                    t,
                    value_bits,
                });
            }
            Record::Samples(samples)
        }
        TYPE_CHUNKS => {
            let series = reader.uvarint()?;
            let count = reader.len()?;
            let mut chunks = Vec::with_capacity(count);
            for _ in 0..count {
                let len = reader.len()?;
                chunks.push(reader.bytes(len)?.to_vec());
            }
            Record::Chunks { series, chunks }
        }
        _ => {
            return Err(DecodeError {
                offset: 0,
                what: "unknown WAL record type",
            });
        }
    };
    if !reader.is_empty() {
        return Err(DecodeError {
            offset: reader.position(),
            what: "trailing bytes after WAL record",
        });
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let labels = Labels::new([("__name__", "up"), ("job", "api")]).unwrap();
        let mut buf = Vec::new();
        encode_series(&mut buf, [(7u64, &labels)].into_iter());
        assert_eq!(decode(&buf).unwrap(), Record::Series(vec![(7, labels)]));

        let samples = vec![
            WalSample {
                series: 7,
                t: 1_000,
                value_bits: f64::NAN.to_bits(),
            },
            WalSample {
                series: 9,
                t: 900,
                value_bits: 2.5f64.to_bits(),
            },
        ];
        let mut buf = Vec::new();
        encode_samples(&mut buf, &samples);
        assert_eq!(decode(&buf).unwrap(), Record::Samples(samples));

        let chunks = [vec![0u8, 1, 2], vec![]];
        let mut buf = Vec::new();
        encode_chunks(&mut buf, 3, chunks.iter().map(Vec::as_slice));
        assert_eq!(
            decode(&buf).unwrap(),
            Record::Chunks {
                series: 3,
                chunks: chunks.to_vec()
            }
        );
    }

    #[test]
    fn garbage_is_rejected() {
        assert!(decode(&[]).is_err());
        assert!(decode(&[42]).is_err());
        assert!(decode(&[TYPE_SAMPLES, 5]).is_err());
        let mut buf = Vec::new();
        encode_samples(&mut buf, &[]);
        buf.push(0);
        assert!(decode(&buf).is_err());
    }
}
