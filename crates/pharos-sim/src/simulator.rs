//! The simulator: the fleet, its incidents and the clock that moves them.

use pharos_tsdb::Labels;

use crate::emit::Step;
use crate::fleet::World;
use crate::incidents::{Incident, IncidentSchedule};
use crate::options::SimOptions;
use crate::rng::Rng;

/// Seconds assumed before the first tick (the usual scrape interval).
const FIRST_STEP_S: f64 = 15.0;

/// A simulated AI platform. Deterministic: the same options and the same sequence of tick
/// times give the same samples.
#[derive(Debug)]
pub struct Simulator {
    options: SimOptions,
    world: World,
    rng: Rng,
    incidents: IncidentSchedule,
    last_tick_ms: Option<i64>,
}

impl Simulator {
    /// Builds the fleet described by `options`.
    pub fn new(options: SimOptions) -> Self {
        Self {
            world: World::build(&options),
            rng: Rng::derive(options.seed, 3),
            incidents: IncidentSchedule::new(options.seed),
            options,
            last_tick_ms: None,
        }
    }

    /// The options the simulator was built with.
    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// Time of the last tick, if any.
    pub fn last_tick_ms(&self) -> Option<i64> {
        self.last_tick_ms
    }

    /// Every incident started so far, oldest first (including one in progress).
    pub fn incidents(&self) -> &[Incident] {
        self.incidents.history()
    }

    /// Advances the fleet to `now_ms` and returns every series' value at that time. A tick
    /// at or before the previous one does not advance counters.
    pub fn tick(&mut self, now_ms: i64) -> Vec<(Labels, f64)> {
        let mut samples = Vec::new();
        self.tick_with(now_ms, |labels, value| {
            samples.push((labels.clone(), value))
        });
        samples
    }

    /// Like [`Simulator::tick`], handing each sample to `sink` instead of collecting them
    /// (no label set is copied).
    pub fn tick_with(&mut self, now_ms: i64, mut sink: impl FnMut(&Labels, f64)) {
        let dt_s = match self.last_tick_ms {
            None => FIRST_STEP_S,
            Some(last) if now_ms > last => (now_ms - last) as f64 / 1000.0,
            Some(_) => 0.0,
        };
        self.last_tick_ms = Some(self.last_tick_ms.map_or(now_ms, |last| last.max(now_ms)));
        let active = self.incidents.advance(now_ms, &self.world);
        let mut step = Step {
            now_ms,
            dt_s,
            rng: &mut self.rng,
            incidents: &active,
        };
        let World {
            pods,
            gpus,
            models,
            trainings,
            notebooks,
            pipelines,
            ..
        } = &mut self.world;
        let sink: &mut dyn FnMut(&Labels, f64) = &mut sink;
        for gpu in gpus.iter_mut() {
            gpu.load = 0.0;
            gpu.memory_fraction = 0.0;
        }
        for model in models.iter_mut() {
            model.step(&mut step, pods, gpus, sink);
        }
        for training in trainings.iter_mut() {
            training.step(&mut step, pods, gpus, sink);
        }
        for notebook in notebooks.iter_mut() {
            notebook.step(&mut step, pods, gpus, sink);
        }
        for pipeline in pipelines.iter_mut() {
            pipeline.step(&mut step, pods, sink);
        }
        for gpu in gpus.iter_mut() {
            gpu.emit(&mut step, sink);
        }
        for pod in pods.iter_mut() {
            pod.emit(&mut step, sink);
        }
    }
}
