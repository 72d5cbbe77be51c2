//! `pharos demo export` and `pharos demo dashboard`: the built-in simulator's history as an
//! OpenMetrics file and its dashboard as JSON, without a server (benchmarks load the same demo
//! data into Pharos and Prometheus; see `bench/tsdb-dashboard.sh`).

use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use anyhow::Context as _;
use pharos_sim::{SimOptions, Simulator};

use crate::cli::DemoExportArgs;

/// Writes the simulator's ticks in `[start, end)` (the fleet the server simulates, same seed)
/// to `--out` or standard output; a summary goes to standard error.
pub async fn export(args: &DemoExportArgs) -> anyhow::Result<()> {
    // 9999-12-31T23:59:59Z: keeps every millisecond computation below in range.
    const LAST_SECOND: i64 = 253_402_300_799;
    let times = [Some(args.start), Some(args.end), args.simulate_from];
    anyhow::ensure!(
        times
            .iter()
            .flatten()
            .all(|t| (0..=LAST_SECOND).contains(t)),
        "--start, --end and --simulate-from are seconds since 1970-01-01 (0 to {LAST_SECOND})"
    );
    anyhow::ensure!(
        args.end > args.start,
        "--end ({}) must be after --start ({})",
        args.end,
        args.start
    );
    let simulate_from = args.simulate_from.unwrap_or(args.start);
    anyhow::ensure!(
        simulate_from <= args.start
            && (args.start - simulate_from) % i64::try_from(args.step)? == 0,
        "--simulate-from ({simulate_from}) must be a whole number of --step ({} s) at or before --start ({})",
        args.step,
        args.start
    );
    let skip_from_ms = simulate_from.saturating_mul(1000);
    let from_ms = args.start.saturating_mul(1000);
    // Exclusive end: the last tick is at least a millisecond before it.
    let to_ms = args.end.saturating_mul(1000).saturating_sub(1);
    let step = Duration::from_secs(args.step);
    let out = args.out.clone().filter(|path| path != Path::new("-"));
    let summary = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut simulator = Simulator::new(SimOptions::default());
        simulator.skip_through(skip_from_ms, from_ms - 1, step);
        match &out {
            Some(path) => {
                let file = std::fs::File::create(path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                let mut writer = BufWriter::with_capacity(1 << 20, file);
                let summary = simulator
                    .export_openmetrics(&mut writer, from_ms, to_ms, step)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                writer
                    .flush()
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Ok(summary)
            }
            None => {
                let stdout = std::io::stdout();
                let mut writer = BufWriter::with_capacity(1 << 20, stdout.lock());
                simulator
                    .export_openmetrics(&mut writer, from_ms, to_ms, step)
                    .context("cannot write to standard output")
            }
        }
    })
    .await
    .context("export task failed")??;
    eprintln!(
        "exported {} samples of {} series ({} ticks every {} s from {} before {}, simulated from {simulate_from}) to {}",
        summary.samples,
        summary.series,
        summary.ticks,
        args.step,
        args.start,
        args.end,
        args.out
            .as_deref()
            .filter(|path| *path != Path::new("-"))
            .map_or_else(|| "standard output".to_owned(), |p| p.display().to_string()),
    );
    Ok(())
}

/// Prints the demo dashboard resource, as the server creates it in project `demo`.
pub fn print_dashboard() -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(&pharos_sim::demo_dashboard())?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    stdout.flush()?;
    Ok(())
}
