//! GPUs as NVIDIA's DCGM exporter reports them: the exporter's default metric names
//! (`DCGM_FI_DEV_*`, `DCGM_FI_PROF_*`) and labels (`gpu`, `UUID`, `pci_bus_id`, `device`,
//! `modelName`, `Hostname`, the `DCGM_FI_DRIVER_VERSION` label field, plus
//! `namespace`/`pod`/`container` of the pod the GPU is allocated to, as with `--kubernetes`).
//!
//! The node label is `Hostname`, as every dcgm-exporter release before the May 2026 rename to
//! `hostname` writes it (and as most published dashboards and alerts query it).

use pharos_tsdb::Labels;

use super::{Sink, Step};
use crate::fleet::{Cluster, Node, series};
use crate::incidents::IncidentKind;
use crate::rng::Rng;

/// GPU models in the fleet, with the figures DCGM would report for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GpuModel {
    A100,
    H100,
    L4,
}

impl GpuModel {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::A100 => "NVIDIA A100-SXM4-80GB",
            Self::H100 => "NVIDIA H100 80GB HBM3",
            Self::L4 => "NVIDIA L4",
        }
    }

    /// Frame buffer in MiB.
    fn memory_mib(self) -> f64 {
        match self {
            Self::A100 => 81_920.0,
            Self::H100 => 81_559.0,
            Self::L4 => 23_034.0,
        }
    }

    /// (idle, board limit) in watts.
    fn power_w(self) -> (f64, f64) {
        match self {
            Self::A100 => (55.0, 400.0),
            Self::H100 => (70.0, 700.0),
            Self::L4 => (16.0, 72.0),
        }
    }

    /// Memory clock in MHz.
    fn mem_clock_mhz(self) -> f64 {
        match self {
            Self::A100 => 1593.0,
            Self::H100 => 2619.0,
            Self::L4 => 6251.0,
        }
    }

    /// (idle, maximum) SM clock in MHz.
    fn sm_clock_mhz(self) -> (f64, f64) {
        match self {
            Self::A100 => (210.0, 1410.0),
            Self::H100 => (345.0, 1980.0),
            Self::L4 => (210.0, 2040.0),
        }
    }
}

/// The DCGM fields written for every GPU, in this order.
const FIELDS: [&str; 15] = [
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
    "DCGM_FI_DEV_GPU_TEMP",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_SM_CLOCK",
    "DCGM_FI_DEV_MEM_CLOCK",
    "DCGM_FI_DEV_MEM_COPY_UTIL",
    "DCGM_FI_DEV_XID_ERRORS",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "DCGM_FI_PROF_DRAM_ACTIVE",
    "DCGM_FI_DEV_FB_RESERVED",
];

/// Driver version reported in the `DCGM_FI_DRIVER_VERSION` label.
const DRIVER_VERSION: &str = "550.90.07";

/// XID a hung GPU reports ("GPU stopped processing").
const XID_STOPPED_PROCESSING: f64 = 43.0;

/// One GPU. Its workload sets `load` and `memory_fraction` each tick; the GPU turns them
/// into smoothed utilisation, temperature, power and clocks.
#[derive(Debug)]
pub(crate) struct Gpu {
    pub cluster: String,
    pub hostname: String,
    pub index: String,
    pub uuid: String,
    model: GpuModel,
    instance: String,
    /// Wanted utilisation in `[0, 1]`, set by the workload each tick.
    pub load: f64,
    /// Share of the frame buffer the workload holds, set each tick.
    pub memory_fraction: f64,
    /// Whether the GPU belongs to a pod.
    pub assigned: bool,
    utilisation: f64,
    temperature: f64,
    /// Value of the last XID error (0: none since the driver loaded).
    last_xid: f64,
    energy_mj: f64,
    pcie_replays: f64,
    series: Vec<Labels>,
}

impl Gpu {
    pub(crate) fn new(rng: &mut Rng, cluster: &Cluster, node: &Node, index: usize) -> Self {
        let uuid = format!(
            "GPU-{}-{}-{}-{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12)
        );
        let mut gpu = Self {
            cluster: cluster.name.clone(),
            hostname: node.name.clone(),
            index: index.to_string(),
            uuid,
            model: cluster.gpu_model,
            instance: format!("{}:9400", node.ip),
            load: 0.0,
            memory_fraction: 0.0,
            assigned: false,
            utilisation: 0.0,
            temperature: rng.range(30.0, 36.0),
            // A few GPUs remember an old fault of some user program (page fault, engine
            // exception); the gauge keeps the last XID until the driver reloads.
            last_xid: if rng.chance(0.12) {
                if rng.chance(0.5) { 13.0 } else { 31.0 }
            } else {
                0.0
            },
            energy_mj: rng.range(1e9, 5e10).round(),
            pcie_replays: rng.between(0, 3) as f64,
            series: Vec::new(),
        };
        gpu.label_series(&[]);
        gpu
    }

    fn label_series(&mut self, pod_labels: &[(&str, &str)]) {
        let device = format!("nvidia{}", self.index);
        let bus = format!(
            "00000000:{:02X}:00.0",
            7 + 16 * self.index.parse::<u32>().unwrap_or(0)
        );
        let mut labels = vec![
            ("cluster", self.cluster.as_str()),
            ("gpu", self.index.as_str()),
            ("UUID", self.uuid.as_str()),
            ("pci_bus_id", bus.as_str()),
            ("device", device.as_str()),
            ("modelName", self.model.name()),
            ("Hostname", self.hostname.as_str()),
            ("DCGM_FI_DRIVER_VERSION", DRIVER_VERSION),
            ("job", "dcgm-exporter"),
            ("instance", self.instance.as_str()),
        ];
        labels.extend_from_slice(pod_labels);
        self.series = FIELDS.iter().map(|field| series(field, &labels)).collect();
    }

    /// Allocates the GPU to a pod: DCGM's Kubernetes mapping adds the pod's labels.
    pub(crate) fn assign(&mut self, namespace: &str, pod: &str, container: &str) {
        self.assigned = true;
        self.label_series(&[
            ("namespace", namespace),
            ("pod", pod),
            ("container", container),
        ]);
    }

    /// Whether a "GPU stuck at 100 %" incident holds this GPU.
    pub(crate) fn is_stuck(&self, step: &Step<'_>) -> bool {
        step.hit(
            IncidentKind::GpuStuck,
            &[
                ("cluster", &self.cluster),
                ("Hostname", &self.hostname),
                ("gpu", &self.index),
                ("UUID", &self.uuid),
            ],
        )
    }

    pub(crate) fn emit(&mut self, step: &mut Step<'_>, sink: &mut Sink<'_>) {
        let stuck = self.is_stuck(step);
        let wanted = if stuck {
            100.0
        } else {
            (self.load * 100.0 + 3.0 * step.rng.normal() * self.load.sqrt()).clamp(0.0, 100.0)
        };
        // Utilisation follows the load within a few seconds; temperature within minutes.
        self.utilisation += (wanted - self.utilisation) * (step.dt_s / 10.0).min(1.0);
        if stuck {
            self.utilisation = 100.0;
        }
        let heat_target = 31.0 + 0.5 * self.utilisation + if stuck { 10.0 } else { 0.0 };
        self.temperature += (heat_target - self.temperature) * (step.dt_s / 180.0).min(1.0)
            + 0.3 * step.rng.normal();
        let total = self.model.memory_mib();
        let used = if self.assigned {
            (self.memory_fraction * total + 64.0 * step.rng.normal()).clamp(300.0, total - 256.0)
        } else {
            step.rng.range(0.0, 4.0)
        };
        let (idle_w, limit_w) = self.model.power_w();
        let busy = self.utilisation / 100.0;
        let power = (idle_w + (limit_w - idle_w) * busy * step.rng.range(0.88, 0.98)).min(limit_w);
        let (idle_mhz, max_mhz) = self.model.sm_clock_mhz();
        let clock = if self.utilisation < 1.0 {
            idle_mhz
        } else {
            // Boost clocks step in 15 MHz and back off a little when hot.
            (max_mhz - 15.0 * step.rng.between(0, 3) as f64).max(idle_mhz)
        };
        if stuck {
            self.last_xid = XID_STOPPED_PROCESSING;
        }
        self.energy_mj += (power * 1000.0 * step.dt_s).round();
        if step.rng.chance(step.dt_s / 86_400.0) {
            self.pcie_replays += 1.0;
        }
        // Profiling ratios: the engine is busy about as often as DCGM's utilisation says,
        // tensor cores and DRAM for a share of that which depends on the work.
        let engine = (busy * step.rng.range(0.85, 0.98)).clamp(0.0, 1.0);
        let tensor = if self.assigned {
            engine * step.rng.range(0.25, 0.45)
        } else {
            0.0
        };
        let dram = engine * step.rng.range(0.3, 0.6);
        let mem_clock = if self.utilisation < 1.0 {
            405.0
        } else {
            self.model.mem_clock_mhz()
        };
        let reserved = (total * 0.006).round();
        let values = [
            self.utilisation.round(),
            used.round(),
            (total - used - reserved).round(),
            self.temperature.round(),
            (power * 1000.0).round() / 1000.0,
            clock,
            mem_clock,
            (dram * 100.0).round(),
            self.last_xid,
            self.energy_mj,
            self.pcie_replays,
            (engine * 1e4).round() / 1e4,
            (tensor * 1e4).round() / 1e4,
            (dram * 1e4).round() / 1e4,
            reserved,
        ];
        for (labels, value) in self.series.iter().zip(values) {
            sink(labels, value);
        }
    }
}
