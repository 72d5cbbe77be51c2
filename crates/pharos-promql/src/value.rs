//! Query results and their Prometheus HTTP API JSON form.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};

use crate::annotations::{Annotation, AnnotationKind};
use crate::labels::Labels;

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct InstantSample {
    /// Series labels.
    pub metric: Labels,
    /// Evaluation timestamp in milliseconds.
    pub t_ms: i64,
    /// Sample value.
    pub value: f64,
}

/// One series of a range vector (matrix).
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    /// Series labels.
    pub metric: Labels,
    /// Points `(timestamp ms, value)` in ascending time order.
    pub points: Vec<(i64, f64)>,
}

/// The value of a query result, one of the four PromQL result types.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    /// An instant vector (order as produced by the query, e.g. by `sort()`).
    Vector(Vec<InstantSample>),
    /// A range vector, sorted by labels.
    Matrix(Vec<RangeSeries>),
    /// A scalar at the evaluation time.
    Scalar {
        /// Evaluation timestamp in milliseconds.
        t_ms: i64,
        /// The value.
        value: f64,
    },
    /// A string at the evaluation time.
    String {
        /// Evaluation timestamp in milliseconds.
        t_ms: i64,
        /// The string.
        value: String,
    },
}

impl QueryValue {
    /// The Prometheus `resultType` name.
    pub fn result_type(&self) -> &'static str {
        match self {
            QueryValue::Vector(_) => "vector",
            QueryValue::Matrix(_) => "matrix",
            QueryValue::Scalar { .. } => "scalar",
            QueryValue::String { .. } => "string",
        }
    }
}

/// A query result: the value plus the warnings and infos Prometheus would return.
///
/// Serialises as the `data` object of the Prometheus API
/// (`{"resultType":"vector","result":[...]}`); [`QueryResult::to_api_response`] builds
/// the whole response envelope including annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// The result value.
    pub value: QueryValue,
    /// Annotations (warnings and infos), sorted and deduplicated.
    pub annotations: Vec<Annotation>,
}

impl QueryResult {
    /// Warning texts, as in the API's `warnings` field.
    pub fn warnings(&self) -> Vec<&str> {
        self.annotations_of(AnnotationKind::Warning)
    }

    /// Info texts, as in the API's `infos` field.
    pub fn infos(&self) -> Vec<&str> {
        self.annotations_of(AnnotationKind::Info)
    }

    fn annotations_of(&self, kind: AnnotationKind) -> Vec<&str> {
        self.annotations
            .iter()
            .filter(|a| a.kind == kind)
            .map(|a| a.message.as_str())
            .collect()
    }

    /// The full successful API response:
    /// `{"status":"success","data":{...},"warnings":[...],"infos":[...]}` (annotation
    /// fields omitted when empty).
    pub fn to_api_response(&self) -> serde_json::Value {
        serde_json::to_value(self.api_response()).unwrap_or(serde_json::Value::Null)
    }

    /// [`QueryResult::to_api_response`] as a value to serialize directly: a week of a
    /// thousand series is a few hundred thousand points, and building a JSON tree of them
    /// first would cost more than writing them.
    pub fn api_response(&self) -> impl Serialize + '_ {
        ApiResponse {
            status: "success",
            data: &self.value,
            warnings: self.warnings(),
            infos: self.infos(),
        }
    }
}

/// The envelope of a successful answer.
#[derive(serde::Serialize)]
struct ApiResponse<'a> {
    status: &'static str,
    data: &'a QueryValue,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    infos: Vec<&'a str>,
}

/// Formats a float like Go's `strconv.FormatFloat(f, 'f', -1, 64)`, with Prometheus'
/// spellings `+Inf`, `-Inf` and `NaN`.
pub fn format_float(f: f64) -> String {
    GoFloat(f).to_string()
}

/// A float displayed as [`format_float`] spells it; serialized as a JSON string written
/// straight into the output (a range answer has one per point, so no `String` each).
struct GoFloat(f64);

impl std::fmt::Display for GoFloat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let value = self.0;
        if value.is_nan() {
            f.write_str("NaN")
        } else if value == f64::INFINITY {
            f.write_str("+Inf")
        } else if value == f64::NEG_INFINITY {
            f.write_str("-Inf")
        } else {
            // Rust's Display prints the shortest round-tripping digits without an exponent,
            // which is exactly what Go's 'f' format with precision -1 does.
            write!(f, "{value}")
        }
    }
}

impl Serialize for GoFloat {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// A timestamp in seconds as a JSON number: an integer when whole (`60`), otherwise a
/// decimal (`1.5`), as Prometheus writes it.
struct Seconds(i64);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % 1000 == 0 {
            serializer.serialize_i64(self.0 / 1000)
        } else {
            serializer.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

/// `[seconds, "value"]`: a timestamp and a value already in its wire form.
struct Point<V>(i64, V);

impl<V: Serialize> Serialize for Point<V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(2))?;
        seq.serialize_element(&Seconds(self.0))?;
        seq.serialize_element(&self.1)?;
        seq.end()
    }
}

impl Serialize for InstantSample {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("metric", &self.metric)?;
        map.serialize_entry("value", &Point(self.t_ms, GoFloat(self.value)))?;
        map.end()
    }
}

struct Points<'a>(&'a [(i64, f64)]);

impl Serialize for Points<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for (t, v) in self.0 {
            seq.serialize_element(&Point(*t, GoFloat(*v)))?;
        }
        seq.end()
    }
}

impl Serialize for RangeSeries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("metric", &self.metric)?;
        map.serialize_entry("values", &Points(&self.points))?;
        map.end()
    }
}

impl Serialize for QueryValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut st = serializer.serialize_struct("data", 2)?;
        st.serialize_field("resultType", self.result_type())?;
        match self {
            QueryValue::Vector(v) => st.serialize_field("result", v)?,
            QueryValue::Matrix(m) => st.serialize_field("result", m)?,
            QueryValue::Scalar { t_ms, value } => {
                st.serialize_field("result", &Point(*t_ms, GoFloat(*value)))?
            }
            QueryValue::String { t_ms, value } => {
                st.serialize_field("result", &Point(*t_ms, value))?
            }
        }
        st.end()
    }
}

impl Serialize for QueryResult {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_format_like_go() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(1.5e-7), "0.00000015");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(-0.0), "-0");
    }

    #[test]
    fn vector_serialises_in_api_shape() {
        let r = QueryResult {
            value: QueryValue::Vector(vec![InstantSample {
                metric: Labels::from_pairs([("job", "a")]),
                t_ms: 1500,
                value: 1.0,
            }]),
            annotations: vec![],
        };
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"resultType":"vector","result":[{"metric":{"job":"a"},"value":[1.5,"1"]}]}"#
        );
    }

    #[test]
    fn matrix_scalar_and_string_serialise_in_api_shape() {
        let m = QueryValue::Matrix(vec![RangeSeries {
            metric: Labels::empty(),
            points: vec![(0, f64::INFINITY), (60_000, 2.5)],
        }]);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"resultType":"matrix","result":[{"metric":{},"values":[[0,"+Inf"],[60,"2.5"]]}]}"#
        );
        let s = QueryValue::Scalar {
            t_ms: 1000,
            value: f64::NAN,
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"resultType":"scalar","result":[1,"NaN"]}"#
        );
        let s = QueryValue::String {
            t_ms: 0,
            value: "a\"b".into(),
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"resultType":"string","result":[0,"a\"b"]}"#
        );
    }

    #[test]
    fn api_response_carries_annotations() {
        let r = QueryResult {
            value: QueryValue::Scalar {
                t_ms: 0,
                value: 1.0,
            },
            annotations: vec![Annotation {
                kind: AnnotationKind::Warning,
                message: "PromQL warning: w".into(),
            }],
        };
        let v = r.to_api_response();
        assert_eq!(v["status"], "success");
        assert_eq!(v["warnings"][0], "PromQL warning: w");
        assert!(v.get("infos").is_none());
    }
}
