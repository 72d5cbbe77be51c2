//! The `data` of a Prometheus answer kept as the JSON text it arrived as (or was produced
//! as): checked to be JSON once, then handed around behind an `Arc` and written out verbatim,
//! so a cached or proxied answer is never parsed into a tree, copied or serialised again.

use std::{fmt, sync::Arc};

use serde::{
    Deserialize, Deserializer, Serialize,
    de::{IgnoredAny, SeqAccess, Visitor},
};
use serde_json::{Value, value::RawValue};

/// `{"resultType": ..., "result": ...}` as JSON text.
#[derive(Clone)]
pub struct ResultData(Arc<RawValue>);

impl ResultData {
    /// From JSON text already known to be valid (a parsed answer's `data`).
    pub fn from_raw(raw: Box<RawValue>) -> Self {
        Self(Arc::from(raw))
    }

    /// By serialising `value` (the embedded engine's result, a test's literal).
    pub fn from_serialize<T: Serialize + ?Sized>(value: &T) -> Self {
        let text = serde_json::to_string(value).unwrap_or_else(|_| "null".to_owned());
        // `to_string` produced valid JSON, so this cannot fail.
        let raw = RawValue::from_string(text)
            .unwrap_or_else(|_| unreachable!("serde_json wrote invalid JSON"));
        Self::from_raw(raw)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// As a raw JSON value, to embed in a larger document.
    pub fn raw(&self) -> &RawValue {
        &self.0
    }

    /// Parsed, for the few consumers that look inside (alert intervals, live events).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.get()).unwrap_or(Value::Null)
    }

    /// Series in a matrix or vector answer (0 for scalars and strings), counted without
    /// building the series.
    pub fn series_count(&self) -> usize {
        #[derive(Deserialize)]
        struct Shape {
            #[serde(rename = "resultType", default)]
            result_type: String,
            #[serde(default)]
            result: Counted,
        }
        match serde_json::from_str::<Shape>(self.get()) {
            Ok(shape) if matches!(shape.result_type.as_str(), "matrix" | "vector") => {
                shape.result.0
            }
            _ => 0,
        }
    }
}

/// The length of a JSON array, its elements skipped.
#[derive(Default)]
struct Counted(usize);

impl<'de> Deserialize<'de> for Counted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Count;
        impl<'de> Visitor<'de> for Count {
            type Value = Counted;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Counted, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Counted(n))
            }
            // A scalar answer's `result` is `[time, "value"]`, a string's too: counted as an
            // array, but the result type decides.
        }
        deserializer.deserialize_any(Count).or(Ok(Counted(0)))
    }
}

impl PartialEq for ResultData {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for ResultData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.get();
        let shown: String = text.chars().take(200).collect();
        let more = if shown.len() < text.len() { "…" } else { "" };
        write!(f, "ResultData({shown}{more})")
    }
}

impl Serialize for ResultData {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw().serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn series_are_counted_without_building_them() {
        let matrix = ResultData::from_serialize(
            &json!({"resultType": "matrix", "result": [{"metric": {}, "values": []}, {"metric": {}, "values": []}]}),
        );
        assert_eq!(matrix.series_count(), 2);
        let scalar =
            ResultData::from_serialize(&json!({"resultType": "scalar", "result": [1, "2"]}));
        assert_eq!(scalar.series_count(), 0);
        assert_eq!(matrix.to_value()["resultType"], "matrix");
        assert_eq!(
            serde_json::to_string(&json!({"data": matrix.raw()}))
                .ok()
                .as_deref(),
            Some(format!("{{\"data\":{}}}", matrix.get()).as_str())
        );
    }
}
