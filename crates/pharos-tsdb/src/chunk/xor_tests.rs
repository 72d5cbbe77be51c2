use proptest::prelude::*;

use super::*;
use crate::sample::{STALE_NAN, is_stale_nan};

fn encode(samples: &[Sample]) -> XorChunk {
    let mut chunk = XorChunk::new();
    for sample in samples {
        chunk.append(sample.t, sample.v).unwrap();
    }
    chunk
}

#[test]
fn regular_scrape_compresses_to_about_two_bits_per_timestamp() {
    let samples: Vec<Sample> = (0..120).map(|i| Sample::new(i * 15_000, 1.0)).collect();
    let chunk = encode(&samples);
    // 2 header + 1 varint + 8 value + 3 delta varint bytes, then ~2 bits per sample.
    assert!(
        chunk.bytes().len() < 50,
        "got {} bytes",
        chunk.bytes().len()
    );
    assert_eq!(decode(chunk.bytes()).unwrap(), samples);
}

#[test]
fn special_values_round_trip_bit_exactly() {
    let values = [
        STALE_NAN,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        f64::MIN_POSITIVE,
        f64::MAX,
        f64::from_bits(0xfff8_0000_0000_0001),
    ];
    let samples: Vec<Sample> = values
        .iter()
        .enumerate()
        .map(|(i, v)| Sample::new(i as i64, *v))
        .collect();
    let decoded = decode(encode(&samples).bytes()).unwrap();
    assert_eq!(decoded, samples);
    assert!(is_stale_nan(decoded[0].v));
    assert!(!is_stale_nan(decoded[1].v));
}

#[test]
fn equal_or_decreasing_timestamps_are_rejected() {
    let mut chunk = XorChunk::new();
    chunk.append(100, 1.0).unwrap();
    assert_eq!(
        chunk.append(100, 2.0),
        Err(ChunkError::NonIncreasingTimestamp {
            last: 100,
            got: 100
        })
    );
    assert!(chunk.append(99, 2.0).is_err());
    assert_eq!(chunk.num_samples(), 1);
    chunk.append(101, 2.0).unwrap();
    assert_eq!(decode(chunk.bytes()).unwrap().len(), 2);
}

#[test]
fn extreme_gaps_use_the_64_bit_bucket() {
    let samples = vec![
        Sample::new(i64::MIN, 1.0),
        Sample::new(-1, 2.0),
        Sample::new(0, 3.0),
        Sample::new(i64::MAX - 1, 4.0),
        Sample::new(i64::MAX, 5.0),
    ];
    assert_eq!(decode(encode(&samples).bytes()).unwrap(), samples);
}

#[test]
fn reopened_chunk_continues_identically() {
    let samples: Vec<Sample> = (0..50)
        .map(|i| Sample::new(1_000 + i * 15_000 + (i % 3), (i as f64).sqrt()))
        .collect();
    let whole = encode(&samples);
    let mut reopened = XorChunk::from_bytes(encode(&samples[..20]).into_bytes()).unwrap();
    for sample in &samples[20..] {
        reopened.append(sample.t, sample.v).unwrap();
    }
    assert_eq!(reopened.bytes(), whole.bytes());
    assert_eq!(reopened.min_time(), Some(1_000));
    assert_eq!(reopened.last(), samples.last().copied());
}

#[test]
fn empty_chunk_reopens_and_reports_no_times() {
    let chunk = XorChunk::from_bytes(XorChunk::new().into_bytes()).unwrap();
    assert!(chunk.is_empty());
    assert_eq!(chunk.min_time(), None);
    assert_eq!(chunk.last(), None);
}

#[test]
fn corrupt_bytes_are_reported_not_panicked() {
    let samples: Vec<Sample> = (0..30)
        .map(|i| Sample::new(i * 7, i as f64 * 1.5))
        .collect();
    let bytes = encode(&samples).into_bytes();
    for cut in 0..bytes.len() {
        let truncated = bytes[..cut].to_vec();
        assert!(decode(&truncated).is_err(), "truncated at {cut} must fail");
        assert!(XorChunk::from_bytes(truncated).is_err());
    }
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(XorChunk::from_bytes(extra).is_err());
}

#[test]
fn fullness_follows_sample_and_byte_caps() {
    let mut regular = XorChunk::new();
    for i in 0..MAX_SAMPLES_PER_CHUNK as i64 {
        assert!(!regular.is_full());
        regular.append(i * 1000, 0.0).unwrap();
    }
    assert!(regular.is_full());

    let mut noisy = XorChunk::new();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let (mut appended, mut t) = (0, 0i64);
    while !noisy.is_full() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        // Irregular gaps of up to 2^30 ms force 64-bit timestamp buckets next to random values.
        t += 1 + (state >> 34) as i64;
        noisy.append(t, f64::from_bits(state)).unwrap();
        appended += 1;
    }
    assert!(
        appended < MAX_SAMPLES_PER_CHUNK,
        "incompressible data hits the byte cap first"
    );
    assert!(noisy.bytes().len() >= MAX_CHUNK_BYTES);
}

fn arbitrary_value() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        Just(STALE_NAN),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(0.0),
        (0i32..1000).prop_map(f64::from),
        any::<u64>().prop_map(f64::from_bits),
    ]
}

fn arbitrary_gap() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(15_000u64),
        14_990u64..15_010,
        1u64..10,
        1u64..(1 << 20),
        1u64..(1 << 40),
        1u64..=u64::MAX / 4,
    ]
}

proptest! {
    #[test]
    fn arbitrary_series_round_trip(
        start in any::<i64>(),
        steps in proptest::collection::vec((arbitrary_gap(), arbitrary_value()), 1..300),
    ) {
        let mut samples = Vec::new();
        let mut t = start;
        for (gap, value) in steps {
            samples.push(Sample::new(t, value));
            match t.checked_add_unsigned(gap) {
                Some(next) => t = next,
                None => break,
            }
        }
        let chunk = encode(&samples);
        prop_assert_eq!(chunk.num_samples(), samples.len());
        prop_assert_eq!(decode(chunk.bytes()).unwrap(), samples.clone());
        let reopened = XorChunk::from_bytes(chunk.bytes().to_vec()).unwrap();
        prop_assert_eq!(reopened.last(), samples.last().copied());
        prop_assert_eq!(reopened.max_time(), samples.last().map(|s| s.t));
    }

    #[test]
    fn repeated_timestamp_is_always_rejected(t in any::<i64>(), v in arbitrary_value(), w in arbitrary_value()) {
        let mut chunk = XorChunk::new();
        chunk.append(t, v).unwrap();
        prop_assert!(chunk.append(t, w).is_err());
        prop_assert_eq!(decode(chunk.bytes()).unwrap(), vec![Sample::new(t, v)]);
    }
}
