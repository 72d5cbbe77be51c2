//! The process's open-files limit: raised to its hard limit at start, and the connection cap
//! kept below it so that accepting clients never takes the descriptors the store, the
//! database and upstream requests need.

/// The open-files limit before and after [`raise_open_files_limit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFilesLimit {
    /// The soft limit the process started with.
    pub before: u64,
    /// The soft limit now.
    pub soft: u64,
    /// The hard limit (the most an unprivileged process may raise the soft one to).
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (many systems start processes at 1,024
/// while allowing far more) and logs both. `None` where the limit cannot be read.
pub fn raise_open_files_limit() -> Option<OpenFilesLimit> {
    let (before, _) = rlimit::getrlimit(rlimit::Resource::NOFILE)
        .inspect_err(|error| tracing::warn!(%error, "cannot read the open-files limit"))
        .ok()?;
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(%error, "cannot raise the open-files limit");
    }
    let (soft, hard) = rlimit::getrlimit(rlimit::Resource::NOFILE).ok()?;
    tracing::info!(before, soft, hard, "open-files limit (soft raised to hard)");
    Some(OpenFilesLimit { before, soft, hard })
}

/// The current soft open-files limit, if it can be read.
pub fn current_soft_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

/// Descriptors kept free of client connections: a quarter of the limit, between 64 and 1,024
/// (store blocks and WAL, the config database, upstream and scrape connections, logs).
pub fn reserved_descriptors(soft_limit: u64) -> u64 {
    (soft_limit / 4).clamp(64, 1024)
}

/// `configured` (`http.max_connections`) lowered to fit under `soft_limit` minus the reserve;
/// never below 8 so a tiny limit still serves someone.
pub fn connection_cap(configured: usize, soft_limit: Option<u64>) -> usize {
    let Some(soft) = soft_limit else {
        return configured.max(1);
    };
    let room = soft.saturating_sub(reserved_descriptors(soft)).max(8);
    configured
        .max(1)
        .min(usize::try_from(room).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]

    use super::*;

    #[test]
    fn the_cap_stays_below_the_open_files_limit_with_a_reserve() {
        assert_eq!(connection_cap(10_000, Some(512)), 384);
        assert_eq!(connection_cap(10_000, Some(1024)), 768);
        assert_eq!(connection_cap(10_000, Some(20_000)), 10_000);
        assert_eq!(connection_cap(10_000, Some(1_048_576)), 10_000);
        assert_eq!(connection_cap(100, Some(512)), 100);
        assert_eq!(connection_cap(10_000, Some(40)), 8);
        assert_eq!(connection_cap(10_000, None), 10_000);
        assert_eq!(connection_cap(0, None), 1);
    }

    #[cfg(unix)]
    #[test]
    fn raising_never_lowers_the_limit() {
        let limit = raise_open_files_limit().expect("the limit is readable on unix");
        assert!(limit.soft >= limit.before);
        assert!(limit.soft <= limit.hard);
        assert_eq!(current_soft_limit(), Some(limit.soft));
    }
}
