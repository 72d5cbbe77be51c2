//! The Alertmanager webhook payload (version 4), checked: shape, sizes, times, and the
//! fingerprint Alertmanager would compute when one is missing. The book (`alerts.rs`) keeps what
//! these deliveries say.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::alerts::{AlertState, MAX_ALERT_BYTES};
use crate::error::FleetError;

/// One alert of a delivery, checked.
pub(crate) struct Incoming {
    pub(crate) state: AlertState,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) annotations: BTreeMap<String, String>,
    pub(crate) starts_at: Option<DateTime<Utc>>,
    pub(crate) ends_at: Option<DateTime<Utc>>,
    pub(crate) generator_url: Option<String>,
    pub(crate) fingerprint: String,
}

/// A checked delivery.
pub struct Delivery {
    pub(crate) receiver: Option<String>,
    pub(crate) alerts: Vec<Incoming>,
}

pub(crate) fn invalid(message: impl Into<String>) -> FleetError {
    FleetError::Invalid(message.into())
}

const SHAPE: &str = "send Alertmanager's webhook payload: {\"version\": \"4\", \"status\", \"receiver\", \
     \"groupLabels\", \"commonLabels\", \"alerts\": [{\"status\": \"firing\"|\"resolved\", \"labels\": {...}, \
     \"annotations\", \"startsAt\", \"endsAt\", \"generatorURL\", \"fingerprint\"}]}";

fn string_map(value: Option<&Value>, what: &str) -> Result<BTreeMap<String, String>, FleetError> {
    match value {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|v| (k.clone(), v.to_owned()))
                    .ok_or_else(|| invalid(format!("{what}.{k} is not a string; {SHAPE}")))
            })
            .collect(),
        Some(_) => Err(invalid(format!(
            "{what} is not an object of strings; {SHAPE}"
        ))),
    }
}

fn time_of(value: Option<&Value>, what: &str) -> Result<Option<DateTime<Utc>>, FleetError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => {
            let at: DateTime<Utc> = text
                .parse()
                .map_err(|_| invalid(format!("{what} \"{text}\" is not an RFC 3339 time")))?;
            // Alertmanager sends Go's zero time for "not ended".
            Ok((at.timestamp() > 0).then_some(at))
        }
        Some(_) => Err(invalid(format!("{what} is not an RFC 3339 time"))),
    }
}

/// Alertmanager's fingerprint of a label set (`model.LabelSet.Fingerprint`): FNV-1a 64 over
/// each name and value, sorted by name, each followed by the byte 0xff; 16 hex digits.
pub fn fingerprint(labels: &BTreeMap<String, String>) -> String {
    const OFFSET: u64 = 14_695_981_039_346_656_037;
    const PRIME: u64 = 1_099_511_628_211;
    let mut hash = OFFSET;
    for (name, value) in labels {
        for bytes in [name.as_bytes(), value.as_bytes()] {
            for byte in bytes.iter().chain(std::iter::once(&0xff)) {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(PRIME);
            }
        }
    }
    format!("{hash:016x}")
}

/// Checks a webhook body (already parsed JSON) against Alertmanager's payload, version 4.
pub fn parse_delivery(body: &Value, max_alerts: usize) -> Result<Delivery, FleetError> {
    let Value::Object(body) = body else {
        return Err(invalid(format!("the body is not a JSON object; {SHAPE}")));
    };
    match body.get("version") {
        Some(Value::String(v)) if v == "4" => {}
        Some(other) => {
            return Err(invalid(format!(
                "webhook payload version {other} is not supported: Pharos takes version \"4\" (Alertmanager 0.x)"
            )));
        }
        None => return Err(invalid(format!("the body has no version; {SHAPE}"))),
    }
    let Some(Value::Array(alerts)) = body.get("alerts") else {
        return Err(invalid(format!("the body has no alerts list; {SHAPE}")));
    };
    if alerts.len() > max_alerts {
        return Err(invalid(format!(
            "{} alerts in one delivery exceed the limit of {max_alerts}: set max_alerts on the webhook receiver",
            alerts.len()
        )));
    }
    let receiver = body
        .get("receiver")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut checked = Vec::with_capacity(alerts.len());
    for (i, alert) in alerts.iter().enumerate() {
        let what = format!("alerts[{i}]");
        let Value::Object(alert) = alert else {
            return Err(invalid(format!("{what} is not an object; {SHAPE}")));
        };
        let state = alert
            .get("status")
            .and_then(Value::as_str)
            .and_then(AlertState::parse)
            .ok_or_else(|| invalid(format!("{what}.status is not firing or resolved")))?;
        let labels = string_map(alert.get("labels"), &format!("{what}.labels"))?;
        if labels.is_empty() {
            return Err(invalid(format!(
                "{what}.labels is empty: an alert needs labels"
            )));
        }
        let annotations = string_map(alert.get("annotations"), &format!("{what}.annotations"))?;
        let size: usize = labels
            .iter()
            .chain(annotations.iter())
            .map(|(k, v)| k.len() + v.len())
            .sum();
        if size > MAX_ALERT_BYTES {
            return Err(invalid(format!(
                "{what} has {size} bytes of labels and annotations, more than {MAX_ALERT_BYTES}"
            )));
        }
        let fingerprint = match alert.get("fingerprint") {
            Some(Value::String(f)) if !f.is_empty() && f.len() <= 64 => f.clone(),
            None | Some(Value::Null) => fingerprint(&labels),
            Some(Value::String(f)) if f.is_empty() => fingerprint(&labels),
            Some(_) => {
                return Err(invalid(format!(
                    "{what}.fingerprint is not a string of at most 64 characters"
                )));
            }
        };
        checked.push(Incoming {
            state,
            starts_at: time_of(alert.get("startsAt"), &format!("{what}.startsAt"))?,
            ends_at: time_of(alert.get("endsAt"), &format!("{what}.endsAt"))?,
            generator_url: alert
                .get("generatorURL")
                .and_then(Value::as_str)
                .filter(|u| !u.is_empty())
                .map(|u| u.chars().take(2048).collect()),
            labels,
            annotations,
            fingerprint,
        });
    }
    Ok(Delivery {
        receiver,
        alerts: checked,
    })
}
