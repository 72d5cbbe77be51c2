//! Times on the wire: milliseconds inside, unix seconds (a float, like the Prometheus API)
//! in JSON.

/// Serde adapter for an `i64` of milliseconds written as unix seconds.
pub(crate) mod seconds {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(ms: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(*ms as f64 / 1000.0)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        if !seconds.is_finite() {
            return Err(serde::de::Error::custom(
                "time must be a finite number of seconds",
            ));
        }
        Ok((seconds * 1000.0).round() as i64)
    }
}

/// Serde adapter for an optional time.
pub(crate) mod seconds_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(
        ms: &Option<i64>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => serializer.serialize_some(&(*ms as f64 / 1000.0)),
            None => serializer.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<i64>, D::Error> {
        let seconds = Option::<f64>::deserialize(deserializer)?;
        match seconds {
            Some(s) if !s.is_finite() => Err(serde::de::Error::custom(
                "time must be a finite number of seconds",
            )),
            Some(s) => Ok(Some((s * 1000.0).round() as i64)),
            None => Ok(None),
        }
    }
}

/// `1h 5m`, `12m`, `45s`: a duration for people.
pub(crate) fn human_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    match (h, m, sec) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, _) => format!("{m}m"),
        (h, 0, _) => format!("{h}h"),
        (h, m, _) => format!("{h}h {m}m"),
    }
}

/// A UTC timestamp `2026-01-01 12:34` for reports (no date crate: civil-from-days).
pub(crate) fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_times_and_durations() {
        assert_eq!(utc(1_767_225_600_000), "2026-01-01 00:00Z");
        assert_eq!(utc(1_767_225_600_000 + 3_723_000), "2026-01-01 01:02Z");
        assert_eq!(human_duration(3_723_000), "1h 2m");
        assert_eq!(human_duration(45_000), "45s");
        assert_eq!(human_duration(720_000), "12m");
    }
}
