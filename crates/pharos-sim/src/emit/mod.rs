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
