//! What one request to a demo service looks like: its latency (log-normal around the service's
//! median, a mild daily cycle, rare slow outliers), its status (mostly 200, a few 4xx, about
//! 0.5 % 5xx), and what the simulator's incidents do to both.

use crate::fleet::{diurnal, utc_offset_of};
use crate::incidents::{Incident, IncidentKind};
use crate::rng::Rng;

use super::DemoLogService;

/// How a service behaves when nothing is wrong.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Profile {
    /// Median latency (ms) over a day.
    pub median_ms: f64,
    /// Spread of the log-normal (its P95 is `median · e^(1.645 σ)`).
    pub sigma: f64,
    /// Requests per second at the daily peak (live lines).
    pub peak_rps: f64,
}

/// Share of requests answered 5xx in normal times.
const ERROR_RATE: f64 = 0.005;
/// Share answered 5xx during an error burst on the service's model.
const BURST_ERROR_RATE: f64 = 0.25;
/// Share answered 4xx (bad input, unknown model version, rate limits).
const CLIENT_ERROR_RATE: f64 = 0.02;
/// Share of slow outliers (cold cache, a GC pause): moves P99, not P95.
const OUTLIER_RATE: f64 = 0.005;
/// Where the log-normal's tail is cut, in standard deviations.
pub(crate) const MAX_Z: f64 = 2.6;
/// Latency factor of a latency spike (the metrics' spike is six-fold).
const SPIKE_FACTOR: (f64, f64) = (5.0, 6.0);

/// One request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Request {
    pub latency_ms: f64,
    pub status: u16,
}

/// The incidents in progress at `t_ms` that hit `service`'s model in its cluster.
pub(crate) struct Hits {
    pub spike: bool,
    pub burst: bool,
}

/// Whether an incident of the model serving `service` is in progress at `t_ms`.
pub(crate) fn hits(service: &DemoLogService, t_ms: i64, incidents: &[Incident]) -> Hits {
    let target = [
        ("cluster", service.cluster),
        ("namespace", service.namespace),
        ("model_name", service.model),
        ("model", service.model),
    ];
    let active = |kind: IncidentKind| {
        incidents
            .iter()
            .any(|i| i.kind == kind && i.is_active(t_ms) && i.targets(&target))
    };
    Hits {
        spike: active(IncidentKind::LatencySpike),
        burst: active(IncidentKind::ErrorBurst),
    }
}

/// Traffic at `t_ms` relative to the daily peak, in `[0, 1]` (0 at night, 1 mid-afternoon in
/// the service's cluster).
pub(crate) fn load(service: &DemoLogService, t_ms: i64) -> f64 {
    ((diurnal(t_ms, utc_offset_of(service.cluster)) - 0.35) / 0.65).clamp(0.0, 1.0)
}

/// Draws one request to `service` at `t_ms`.
pub(crate) fn draw(
    service: &DemoLogService,
    t_ms: i64,
    incidents: &[Incident],
    rng: &mut Rng,
) -> Request {
    let profile = service.profile;
    let hits = hits(service, t_ms, incidents);
    // Busier hours are a little slower: ±8 % over the day.
    let daily = 0.92 + 0.16 * load(service, t_ms);
    // The log-normal's far tail is cut (at 2.6 σ, which every service keeps under 300 ms):
    // slow requests come from the outliers, so a normal bucket's P95 never breaches the
    // demo's 300 ms by chance, however few requests it has.
    let z = rng.normal().clamp(-3.0, MAX_Z);
    let mut latency_ms = profile.median_ms * daily * (profile.sigma * z).exp();
    if rng.chance(OUTLIER_RATE) {
        latency_ms *= rng.range(1.5, 3.0);
    }
    if hits.spike {
        latency_ms *= rng.range(SPIKE_FACTOR.0, SPIKE_FACTOR.1);
    }
    let error_rate = if hits.burst {
        BURST_ERROR_RATE
    } else {
        ERROR_RATE
    };
    let roll = rng.unit();
    let status = if roll < error_rate {
        match rng.between(0, 3) {
            // The upstream refused or was gone: answered at once.
            0 => {
                latency_ms *= 0.1;
                503
            }
            1 => 502,
            _ => 500,
        }
    } else if roll < error_rate + CLIENT_ERROR_RATE {
        // Rejected before the model ran.
        latency_ms *= 0.15;
        match rng.between(0, 4) {
            0 => 404,
            1 => 429,
            2 => 422,
            _ => 400,
        }
    } else {
        200
    };
    Request {
        // Both formats write milliseconds (nginx as seconds with three decimals).
        latency_ms: latency_ms.max(1.0).round(),
        status,
    }
}
