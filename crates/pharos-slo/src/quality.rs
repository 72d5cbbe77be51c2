//! Data-quality checks on a service's buckets (seed 004's gates): counts are non-negative
//! (and errors no more than requests), every bucket with requests has its latency (finite,
//! non-negative, P50 ≤ P95 ≤ P99: the gauges of one schema), and there are at least
//! [`MIN_BASELINE_BUCKETS`] buckets before a baseline is compared.

use std::collections::BTreeMap;

use crate::baseline::MIN_BASELINE_BUCKETS;
use crate::latency::RawBucket;
use crate::model::{Quality, QualityCheck, QualityStatus};

/// The report over `buckets`.
pub(crate) fn report(buckets: &[RawBucket]) -> Quality {
    let negative = buckets
        .iter()
        .filter(|b| !(b.count >= 0.0 && b.errors >= 0.0 && b.errors <= b.count))
        .count();
    let missing = buckets.iter().filter(|b| !latency_ok(b)).count();
    let checks = vec![
        QualityCheck {
            name: "counts_non_negative",
            ok: negative == 0,
            detail: if negative == 0 {
                format!(
                    "{} buckets, every count ≥ 0 and errors ≤ requests",
                    buckets.len()
                )
            } else {
                format!("{negative} buckets with a negative count or more errors than requests")
            },
        },
        QualityCheck {
            name: "latency_present",
            ok: missing == 0,
            detail: if missing == 0 {
                "every bucket with requests has P50 ≤ P95 ≤ P99, all ≥ 0".to_owned()
            } else {
                format!(
                    "{missing} buckets with requests but a missing, negative or unordered latency"
                )
            },
        },
        QualityCheck {
            name: "enough_buckets",
            ok: buckets.len() >= MIN_BASELINE_BUCKETS,
            detail: format!(
                "{} buckets with requests (a baseline needs ≥ {MIN_BASELINE_BUCKETS})",
                buckets.len()
            ),
        },
    ];
    let status = if checks[..2].iter().any(|c| !c.ok) {
        QualityStatus::Failing
    } else if !checks[2].ok {
        QualityStatus::InsufficientData
    } else {
        QualityStatus::Ok
    };
    Quality {
        status,
        checks,
        rejected_lines: BTreeMap::new(),
    }
}

fn latency_ok(bucket: &RawBucket) -> bool {
    match (bucket.p50, bucket.p95, bucket.p99) {
        (Some(p50), Some(p95), Some(p99)) => {
            [p50, p95, p99].iter().all(|v| v.is_finite() && *v >= 0.0) && p50 <= p95 && p95 <= p99
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(count: f64, errors: f64, p: Option<(f64, f64, f64)>) -> RawBucket {
        RawBucket {
            start_ms: 0,
            count,
            errors,
            p50: p.map(|p| p.0),
            p95: p.map(|p| p.1),
            p99: p.map(|p| p.2),
        }
    }

    #[test]
    fn each_gate_fails_on_its_own_defect() {
        let good = bucket(100.0, 1.0, Some((50.0, 90.0, 120.0)));
        assert_eq!(report(&[good; 3]).status, QualityStatus::Ok);
        assert_eq!(report(&[good; 2]).status, QualityStatus::InsufficientData);
        let too_many_errors = bucket(10.0, 11.0, Some((50.0, 90.0, 120.0)));
        let failed = report(&[good, good, too_many_errors]);
        assert_eq!(failed.status, QualityStatus::Failing);
        assert!(!failed.checks[0].ok && failed.checks[0].detail.starts_with("1 buckets"));
        for broken in [
            bucket(100.0, 0.0, None),
            bucket(100.0, 0.0, Some((50.0, -1.0, 120.0))),
            bucket(100.0, 0.0, Some((50.0, 200.0, 120.0))),
            bucket(100.0, 0.0, Some((f64::NAN, 90.0, 120.0))),
        ] {
            let r = report(&[good, good, broken]);
            assert_eq!(r.status, QualityStatus::Failing, "{broken:?}");
            assert!(!r.checks[1].ok);
        }
    }
}
