//! Which samples of a read a query evaluator will look at: the windows of a step grid.
//!
//! A range query with `rate(x[5m])` over a week at a 35-minute step reads 5 minutes of every 35:
//! six sevenths of the samples in `[mint, maxt]` are never looked at. Handing the store that grid
//! lets it skip chunks wholly between windows and drop samples outside every window before they
//! are copied through the read path, instead of materialising the whole range.

/// The windows `(end - range, end]` for `end = first_end, first_end + step, …, <= last_end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleWindows {
    first_end: i64,
    last_end: i64,
    step: i64,
    range: i64,
}

impl SampleWindows {
    /// The grid, or `None` when its windows leave no gaps (`step <= range`, a single window, or
    /// arithmetic that would not fit in an `i64`): every sample in `[mint, maxt]` is then needed
    /// and filtering would only cost time.
    pub fn with_gaps(first_end: i64, last_end: i64, step: i64, range: i64) -> Option<Self> {
        if step <= range || range <= 0 || last_end <= first_end {
            return None;
        }
        first_end.checked_sub(range)?;
        last_end.checked_sub(first_end)?;
        Some(Self {
            first_end,
            last_end,
            step,
            range,
        })
    }

    /// Earliest timestamp inside a window (inclusive).
    pub fn mint(&self) -> i64 {
        self.first_end - self.range + 1
    }

    /// Latest timestamp inside a window (inclusive).
    pub fn maxt(&self) -> i64 {
        self.last_end
    }

    /// End of the first window whose end is at or after `t`, if any.
    fn first_end_at_or_after(&self, t: i64) -> Option<i64> {
        if t <= self.first_end {
            return Some(self.first_end);
        }
        // i128: `t` may lie anywhere in i64 (a chunk's bounds), far from the grid.
        let behind = i128::from(t) - i128::from(self.first_end);
        let steps = (behind + i128::from(self.step) - 1) / i128::from(self.step);
        let end = i128::from(self.first_end) + steps * i128::from(self.step);
        (end <= i128::from(self.last_end)).then_some(end as i64)
    }

    /// Whether any window contains a timestamp of `[min_t, max_t]`.
    pub fn overlaps(&self, min_t: i64, max_t: i64) -> bool {
        // Window starts grow with their ends, so the first window ending at or after `min_t`
        // is the only candidate.
        self.first_end_at_or_after(min_t)
            .is_some_and(|end| end - self.range < max_t && min_t <= max_t)
    }

    /// The latest timestamp a chunk ending at `max_t` can contribute: the end of the last
    /// window starting before `max_t`, or `max_t` itself when that window reaches past it. A
    /// reader decoding the chunk stops there; at a 35-minute step with 5-minute windows that
    /// skips the tail of most 30-minute chunks.
    pub fn last_needed(&self, max_t: i64) -> i64 {
        // Largest k with first_end + k·step - range < max_t, clamped to the grid.
        let reach = i128::from(max_t) + i128::from(self.range) - 1 - i128::from(self.first_end);
        if reach < 0 {
            return i64::MIN;
        }
        let end =
            i128::from(self.first_end) + reach / i128::from(self.step) * i128::from(self.step);
        let end = end.min(i128::from(self.last_end));
        if end >= i128::from(max_t) {
            max_t
        } else {
            end as i64
        }
    }

    /// A filter for timestamps visited in ascending order.
    pub fn cursor(&self) -> WindowCursor<'_> {
        WindowCursor {
            windows: self,
            end: i64::MIN,
            done: false,
        }
    }
}

/// Tells, for ascending timestamps, which lie in a window; amortised O(1) per timestamp (one
/// division per window change, none per sample).
#[derive(Debug)]
pub struct WindowCursor<'a> {
    windows: &'a SampleWindows,
    /// End of the first window ending at or after the last timestamp seen.
    end: i64,
    /// No window ends at or after the last timestamp seen.
    done: bool,
}

impl WindowCursor<'_> {
    /// Whether `t` lies in a window. Timestamps must not decrease between calls.
    pub fn contains(&mut self, t: i64) -> bool {
        if self.done {
            return false;
        }
        if t > self.end {
            match self.windows.first_end_at_or_after(t) {
                Some(end) => self.end = end,
                None => {
                    self.done = true;
                    return false;
                }
            }
        }
        t > self.end - self.windows.range
    }

    /// True once every later timestamp is past the last window.
    pub fn is_done(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Windows (5, 10], (25, 30], (45, 50].
    fn grid() -> SampleWindows {
        SampleWindows::with_gaps(10, 50, 20, 5).expect("has gaps")
    }

    #[test]
    fn gapless_grids_need_no_filter() {
        assert_eq!(SampleWindows::with_gaps(10, 50, 5, 5), None);
        assert_eq!(SampleWindows::with_gaps(10, 50, 5, 60), None);
        assert_eq!(SampleWindows::with_gaps(10, 10, 20, 5), None, "one window");
        assert_eq!(SampleWindows::with_gaps(i64::MIN + 2, 50, 20, 5), None);
    }

    #[test]
    fn cursor_keeps_exactly_the_left_open_windows() {
        let windows = grid();
        let mut cursor = windows.cursor();
        let kept: Vec<i64> = (0..=60).filter(|t| cursor.contains(*t)).collect();
        let expected: Vec<i64> = (6..=10).chain(26..=30).chain(46..=50).collect();
        assert_eq!(kept, expected);
        assert!(cursor.is_done());
        assert_eq!((windows.mint(), windows.maxt()), (6, 50));
    }

    #[test]
    fn cursor_agrees_with_brute_force_on_sparse_timestamps() {
        let windows = SampleWindows::with_gaps(1_000, 100_000, 2_100, 300).expect("gaps");
        let inside = |t: i64| {
            (0..)
                .map(|i| 1_000 + i * 2_100)
                .take_while(|end| *end <= 100_000)
                .any(|end| t > end - 300 && t <= end)
        };
        let mut cursor = windows.cursor();
        for t in (-5_000..120_000).step_by(37) {
            assert_eq!(cursor.contains(t), inside(t), "t = {t}");
        }
    }

    #[test]
    fn last_needed_is_the_end_of_the_last_window_a_chunk_reaches() {
        let windows = grid(); // (5, 10], (25, 30], (45, 50]
        assert_eq!(windows.last_needed(20), 10, "(25, 30] starts after 20");
        assert_eq!(windows.last_needed(26), 26, "(25, 30] reaches past 26");
        assert_eq!(windows.last_needed(30), 30);
        assert_eq!(windows.last_needed(31), 30);
        assert_eq!(windows.last_needed(1_000), 50);
        assert_eq!(
            windows.last_needed(5),
            i64::MIN,
            "no window starts before 5"
        );
        assert_eq!(windows.last_needed(6), 6);
        // Brute force: nothing after last_needed(max_t) and up to max_t lies in a window.
        for max_t in 0..70 {
            let stop = windows.last_needed(max_t);
            let mut cursor = windows.cursor();
            let kept_after = (0..=max_t)
                .filter(|t| cursor.contains(*t))
                .any(|t| t > stop);
            assert!(!kept_after, "max_t {max_t}, stop {stop}");
        }
    }

    #[test]
    fn overlap_finds_chunks_touching_a_window() {
        let windows = grid();
        assert!(windows.overlaps(0, 6));
        assert!(!windows.overlaps(0, 5), "(5, 10] starts after 5");
        assert!(!windows.overlaps(11, 25));
        assert!(windows.overlaps(11, 26));
        assert!(windows.overlaps(30, 40));
        assert!(!windows.overlaps(51, 1_000));
        assert!(windows.overlaps(i64::MIN, i64::MAX));
    }
}
