//! `pharos tsdb import FILE`: OpenMetrics backfill into the embedded store of the data dir.

use std::{fs::File, io::BufReader, path::Path};

use anyhow::Context as _;

use crate::cli::Settings;

/// Imports `file` into the store configured in `settings`, printing a summary.
pub async fn run(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let reader = BufReader::new(
        File::open(file).with_context(|| format!("cannot open {}", file.display()))?,
    );
    let db = crate::tsdb::open(&settings.tsdb)
        .await
        .context("cannot open the metrics store (is a pharos server running on this data dir?)")?;
    let summary = {
        let db = std::sync::Arc::clone(&db);
        tokio::task::spawn_blocking(move || pharos_scrape::import_openmetrics(&db, reader))
            .await
            .context("import task failed")?
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
    };
    crate::tsdb::close(db).await;
    println!(
        "imported {} of {} samples ({} series) from {}; {} refused as older than data already stored",
        summary.samples_stored,
        summary.samples_read,
        summary.series,
        file.display(),
        summary.rejected
    );
    Ok(())
}
