//! The workloads: each module holds the state of one kind of entity, moves it forward by one
//! tick and writes its series.

pub(crate) mod gpu;
pub(crate) mod kube;
pub(crate) mod notebooks;
pub(crate) mod pipelines;
pub(crate) mod serving;
pub(crate) mod training;

use pharos_tsdb::Labels;

use crate::incidents::{Incident, IncidentKind};
use crate::rng::Rng;

/// One gibibyte.
pub(crate) const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Where samples go: the label set and value of each series at the tick's time.
pub(crate) type Sink<'a> = dyn FnMut(&Labels, f64) + 'a;

/// What every workload needs to advance by one tick.
pub(crate) struct Step<'a> {
    pub now_ms: i64,
    /// Seconds since the previous tick.
    pub dt_s: f64,
    pub rng: &'a mut Rng,
    /// Incidents in progress at `now_ms`.
    pub incidents: &'a [Incident],
}

impl Step<'_> {
    /// Whether an incident of `kind` in progress targets the entity described by `labels`.
    pub(crate) fn hit(&self, kind: IncidentKind, labels: &[(&str, &str)]) -> bool {
        self.incidents
            .iter()
            .any(|incident| incident.kind == kind && incident.targets(labels))
    }
}

/// A classic Prometheus histogram (`_bucket{le}`, `_sum`, `_count`) of one series, with
/// counts that only go up.
#[derive(Debug)]
pub(crate) struct Histogram {
    bounds: &'static [f64],
    /// Cumulative bucket counts; the last one is `+Inf` (= the count).
    buckets: Vec<f64>,
    sum: f64,
    bucket_series: Vec<Labels>,
    sum_series: Labels,
    count_series: Labels,
}

impl Histogram {
    /// A histogram `name` with `labels` and upper bounds `bounds` (`+Inf` is added), its `le`
    /// values written as Python's client (`python`) or Go's would.
    pub(crate) fn new(
        name: &str,
        labels: &[(&str, &str)],
        bounds: &'static [f64],
        python: bool,
    ) -> Self {
        let bucket_series = bounds
            .iter()
            .map(|le| crate::fleet::format_le(*le, python))
            .chain(std::iter::once("+Inf".to_owned()))
            .map(|le| {
                let mut with_le = labels.to_vec();
                with_le.push(("le", &le));
                crate::fleet::series(&format!("{name}_bucket"), &with_le)
            })
            .collect();
        Self {
            bounds,
            buckets: vec![0.0; bounds.len() + 1],
            sum: 0.0,
            bucket_series,
            sum_series: crate::fleet::series(&format!("{name}_sum"), labels),
            count_series: crate::fleet::series(&format!("{name}_count"), labels),
        }
    }

    /// Records `n` observations drawn from a log-normal distribution with this median and
    /// spread (`sigma` of the log). Rounding a monotone CDF keeps the buckets cumulative.
    pub(crate) fn observe_lognormal(&mut self, n: f64, median: f64, sigma: f64) {
        if n <= 0.0 || median <= 0.0 {
            return;
        }
        for (bucket, le) in self.buckets.iter_mut().zip(self.bounds) {
            *bucket += (n * crate::rng::normal_cdf((le / median).ln() / sigma)).round();
        }
        if let Some(inf) = self.buckets.last_mut() {
            *inf += n;
        }
        self.sum += n * median * (sigma * sigma / 2.0).exp();
    }

    /// Records one observation.
    pub(crate) fn observe(&mut self, value: f64) {
        for (bucket, le) in self.buckets.iter_mut().zip(self.bounds) {
            if value <= *le {
                *bucket += 1.0;
            }
        }
        if let Some(inf) = self.buckets.last_mut() {
            *inf += 1.0;
        }
        self.sum += value;
    }

    /// Observations so far.
    pub(crate) fn count(&self) -> f64 {
        self.buckets.last().copied().unwrap_or(0.0)
    }

    pub(crate) fn emit(&self, sink: &mut Sink<'_>) {
        for (labels, value) in self.bucket_series.iter().zip(&self.buckets) {
            sink(labels, *value);
        }
        sink(&self.sum_series, self.sum);
        sink(&self.count_series, self.count());
    }
}

/// A counter series and its value.
#[derive(Debug)]
pub(crate) struct Counter {
    pub value: f64,
    series: Labels,
}

impl Counter {
    pub(crate) fn new(name: &str, labels: &[(&str, &str)], start: f64) -> Self {
        Self {
            value: start,
            series: crate::fleet::series(name, labels),
        }
    }

    pub(crate) fn add(&mut self, by: f64) {
        self.value += by.max(0.0);
    }

    pub(crate) fn emit(&self, sink: &mut Sink<'_>) {
        sink(&self.series, self.value);
    }
}

/// `base` plus more labels.
pub(crate) fn with<'a>(
    base: &[(&'a str, &'a str)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut labels = base.to_vec();
    labels.extend_from_slice(extra);
    labels
}
