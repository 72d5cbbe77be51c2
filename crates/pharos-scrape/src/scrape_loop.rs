//! The loop that scrapes one target on its schedule until told to stop.

use std::error::Error as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use tokio::sync::watch;

use crate::batch::{ScrapeReport, SeriesTracker, append_batch, build_batch};
use crate::exposition::{self, Exposition, Format};
use crate::manager::{Health, Shared, TargetState};
use crate::target::Target;
use crate::timing::{millis, next_scheduled, now_millis, phase_of, sample_timestamp};

/// Prometheus' preference order: OpenMetrics, then the text format, then anything.
const ACCEPT_HEADER: &str =
    "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1";

/// Scrapes `state`'s target every interval until `stop` turns true (or its sender is gone).
pub(crate) async fn run_target(
    shared: Arc<Shared>,
    state: Arc<TargetState>,
    mut stop: watch::Receiver<bool>,
) {
    let target = &state.target;
    let interval_ms = millis(target.interval).max(1);
    let phase = phase_of(&format!("{}|{}", target.job, target.url), interval_ms);
    let mut tracker = SeriesTracker::default();
    let mut last_timestamp = i64::MIN;
    loop {
        let now = now_millis();
        let mut scheduled = next_scheduled(now, interval_ms, phase);
        if scheduled <= last_timestamp {
            scheduled = next_scheduled(last_timestamp.saturating_add(1), interval_ms, phase);
        }
        let wait = Duration::from_millis(u64::try_from(scheduled - now).unwrap_or(0));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        let started_ms = now_millis();
        let clock = Instant::now();
        let timestamp = sample_timestamp(scheduled, started_ms);
        let result = tokio::select! {
            result = scrape(&shared.client, target) => result,
            _ = stop.changed() => return,
        };
        let duration = clock.elapsed();
        let (scraped, error) = match result {
            Ok(exposition) => {
                shared.record_metadata(&exposition.metadata);
                (Some(exposition.samples), None)
            }
            Err(error) => (None, Some(error)),
        };
        let report = ScrapeReport {
            up: scraped.is_some(),
            duration,
            samples_scraped: scraped.as_ref().map_or(0, Vec::len),
        };
        let batch = build_batch(target, &mut tracker, scraped.as_deref(), report, timestamp);
        if batch.invalid_labels > 0 {
            tracing::warn!(
                scrape_url = %target.url,
                dropped = batch.invalid_labels,
                first = batch.first_label_error.as_deref().unwrap_or_default(),
                "dropped scraped samples with invalid labels"
            );
        }
        let db = Arc::clone(&shared.db);
        let appended = tokio::task::spawn_blocking(move || append_batch(&db, &batch.samples)).await;
        match appended {
            Ok(Ok(outcome)) if outcome.rejected > 0 => tracing::warn!(
                scrape_url = %target.url,
                rejected = outcome.rejected,
                first = outcome.first_rejection.as_deref().unwrap_or_default(),
                "the store rejected scraped samples"
            ),
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::error!(scrape_url = %target.url, %error, "cannot store scraped samples")
            }
            Err(error) => {
                tracing::error!(scrape_url = %target.url, %error, "storing scraped samples failed")
            }
        }
        state.update(|health| {
            health.health = if report.up { Health::Up } else { Health::Down };
            health.last_error = error;
            health.last_scrape_ms = Some(started_ms);
            health.last_scrape_duration = duration;
            health.last_samples_scraped = report.samples_scraped;
        });
        last_timestamp = timestamp;
    }
}

/// Fetches and parses the target's metrics; the error is what `lastError` shows.
async fn scrape(client: &reqwest::Client, target: &Target) -> Result<Exposition, String> {
    let response = client
        .get(&target.url)
        .header(ACCEPT, ACCEPT_HEADER)
        .header(
            "X-Prometheus-Scrape-Timeout-Seconds",
            target.timeout.as_secs_f64().to_string(),
        )
        .timeout(target.timeout)
        .send()
        .await
        .map_err(|error| describe(&error, target.timeout))?;
    let status = response.status();
    if status != StatusCode::OK {
        return Err(format!("server returned HTTP status {status}"));
    }
    let format = Format::from_content_type(
        response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok()),
    );
    let body = response
        .text()
        .await
        .map_err(|error| describe(&error, target.timeout))?;
    exposition::parse(format, &body).map_err(|error| {
        let format = match format {
            Format::PrometheusText => "text format",
            Format::OpenMetrics => "OpenMetrics",
        };
        format!("invalid {format} exposition: {error}")
    })
}

/// A reqwest error with its causes ("connection refused" sits a few levels down).
fn describe(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("scrape timed out after {timeout:?}");
    }
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause = cause.to_string();
        if !message.contains(&cause) {
            message.push_str(": ");
            message.push_str(&cause);
        }
        source = source.and_then(|s| s.source());
    }
    message
}
