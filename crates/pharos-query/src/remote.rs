//! A remote Prometheus-compatible API (Prometheus, Thanos Query, Mimir, VictoriaMetrics) as a
//! [`MetricsBackend`]: form POSTs to `/api/v1/query` and `/api/v1/query_range` under the
//! datasource URL, with the datasource's headers and credentials, and a strict reading of the
//! answer — anything that is not a Prometheus envelope is an outage, not data.

use std::time::Duration;

use crate::ResultData;
use serde_json::{Value, value::RawValue};

use crate::backend::{
    BackendError, BackendFuture, InstantQuery, MetricsBackend, QueryAnswer, RangeQuery,
};

/// Largest answer read (a browser could not draw more anyway).
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// A Prometheus HTTP API.
#[derive(Clone)]
pub struct PrometheusHttp {
    client: reqwest::Client,
    base: url::Url,
    headers: Vec<(String, String)>,
    timeout: Duration,
    label: String,
}

impl std::fmt::Debug for PrometheusHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Headers may carry credentials: never printed.
        write!(f, "PrometheusHttp({} at {})", self.label, self.base)
    }
}

impl PrometheusHttp {
    /// The API under `base` (its path is kept: `http://thanos/prometheus`), sending `headers`
    /// (credentials included) with every request; `label` names it in messages.
    pub fn new(
        client: reqwest::Client,
        base: url::Url,
        headers: Vec<(String, String)>,
        timeout: Duration,
        label: impl Into<String>,
    ) -> Self {
        Self {
            client,
            base,
            headers,
            timeout,
            label: label.into(),
        }
    }

    fn endpoint(&self, path: &str) -> url::Url {
        let mut url = self.base.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        url.set_query(None);
        url
    }

    /// The `data` of `GET <path>?<params>` (for example `/api/v1/rules` with `type=alert`).
    pub async fn get_data(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<Value, BackendError> {
        let request = self.client.get(self.endpoint(path)).query(params);
        self.send(request)
            .await
            .map(|answer| answer.data.to_value())
    }

    async fn post(&self, path: &str, form: &[(&str, String)]) -> Result<QueryAnswer, BackendError> {
        let request = self.client.post(self.endpoint(path)).form(form);
        self.send(request).await
    }

    #[tracing::instrument(
        name = "prometheus request",
        skip_all,
        fields(otel.kind = "client", server.address = self.base.host_str().unwrap_or_default())
    )]
    async fn send(&self, request: reqwest::RequestBuilder) -> Result<QueryAnswer, BackendError> {
        let mut request = request
            .timeout(self.timeout)
            .header(reqwest::header::ACCEPT, "application/json");
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        // The upstream joins this trace (empty when tracing is off).
        for (name, value) in crate::trace_context::outgoing_headers() {
            request = request.header(name, value);
        }
        let mut response = request.send().await.map_err(|e| {
            if e.is_timeout() {
                BackendError::Timeout(format!(
                    "{} at {} did not answer in time; try a shorter time range or a larger step",
                    self.label, self.base
                ))
            } else {
                BackendError::Unavailable(format!(
                    "cannot reach {} at {}: {}",
                    self.label,
                    self.base,
                    root_cause(&e)
                ))
            }
        })?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                        return Err(BackendError::Unavailable(format!(
                            "{} answered more than 64 MiB for one query; narrow it",
                            self.label
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    return Err(BackendError::Timeout(format!(
                        "{} at {} did not finish its answer in time",
                        self.label, self.base
                    )));
                }
                Err(e) => {
                    return Err(BackendError::Unavailable(format!(
                        "{} at {} broke off its answer: {}",
                        self.label,
                        self.base,
                        root_cause(&e)
                    )));
                }
            }
        }
        read_envelope(&self.label, status, &body)
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

/// A Prometheus answer as it arrives; `data` is kept as text.
#[derive(serde::Deserialize)]
struct Envelope {
    #[serde(default)]
    status: String,
    #[serde(default)]
    data: Option<Box<RawValue>>,
    #[serde(default)]
    warnings: Vec<String>,
    #[serde(default)]
    infos: Vec<String>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// Reads a Prometheus answer: a success envelope with a `data` object, or an error envelope
/// (its type and message are kept); anything else is an outage.
pub fn read_envelope(label: &str, status: u16, body: &[u8]) -> Result<QueryAnswer, BackendError> {
    let Ok(envelope) = serde_json::from_slice::<Envelope>(body) else {
        let text = String::from_utf8_lossy(body);
        return Err(BackendError::Unavailable(format!(
            "{label} answered HTTP {status} without a Prometheus JSON body: {}",
            text.chars().take(200).collect::<String>()
        )));
    };
    let is_object = |raw: &RawValue| raw.get().trim_start().starts_with('{');
    match envelope.status.as_str() {
        "success" if (200..300).contains(&status) => match envelope.data {
            Some(data) if is_object(&data) => Ok(QueryAnswer {
                data: ResultData::from_raw(data),
                warnings: envelope.warnings,
                infos: envelope.infos,
                served: crate::backend::Served::Backend,
            }),
            _ => Err(BackendError::Unavailable(format!(
                "{label} answered HTTP {status} with JSON that is not a Prometheus answer"
            ))),
        },
        "error" => {
            let error_type = envelope.error_type.unwrap_or_else(|| "internal".to_owned());
            let message = envelope.error.unwrap_or_else(|| "unknown error".to_owned());
            match (error_type.as_str(), status) {
                ("timeout", _) => Err(BackendError::Timeout(format!("{label}: {message}"))),
                (_, 500..) | ("unavailable" | "internal", _) => Err(BackendError::Unavailable(
                    format!("{label} failed (HTTP {status}, {error_type}): {message}"),
                )),
                _ => Err(BackendError::Refused {
                    error_type,
                    message,
                    status: if (400..500).contains(&status) {
                        status
                    } else {
                        422
                    },
                }),
            }
        }
        _ => Err(BackendError::Unavailable(format!(
            "{label} answered HTTP {status} with JSON that is not a Prometheus answer"
        ))),
    }
}

fn seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    match ms % 1000 {
        0 => format!("{sign}{}", ms / 1000),
        frac => format!("{sign}{}.{frac:03}", ms / 1000),
    }
}

fn timeout_param(timeout: Option<Duration>) -> Option<(&'static str, String)> {
    timeout.map(|t| ("timeout", format!("{}ms", t.as_millis())))
}

impl MetricsBackend for PrometheusHttp {
    fn instant<'a>(
        &'a self,
        query: &'a InstantQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
        Box::pin(async move {
            let mut form = vec![
                ("query", query.query.clone()),
                ("time", seconds(query.time_ms)),
            ];
            form.extend(timeout_param(query.timeout));
            self.post("/api/v1/query", &form).await
        })
    }

    fn range<'a>(
        &'a self,
        query: &'a RangeQuery,
    ) -> BackendFuture<'a, Result<QueryAnswer, BackendError>> {
        Box::pin(async move {
            let mut form = vec![
                ("query", query.query.clone()),
                ("start", seconds(query.start_ms)),
                ("end", seconds(query.end_ms)),
                ("step", seconds(query.step_ms)),
            ];
            form.extend(timeout_param(query.timeout));
            self.post("/api/v1/query_range", &form).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes_are_read_strictly() {
        let ok =
            br#"{"status":"success","data":{"resultType":"vector","result":[]},"warnings":["w"]}"#;
        let answer = read_envelope("prom", 200, ok).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.warnings, ["w"]);
        let bad = br#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(
            read_envelope("prom", 400, bad),
            Err(BackendError::Refused {
                error_type: "bad_data".to_owned(),
                message: "parse error".to_owned(),
                status: 400
            })
        );
        let timeout = br#"{"status":"error","errorType":"timeout","error":"query timed out"}"#;
        assert!(read_envelope("prom", 503, timeout).is_err_and(|e| e.is_outage()));
        for garbage in [
            &b"<html>502 Bad Gateway</html>"[..],
            b"{\"data\": 1}",
            b"[1,2]",
        ] {
            assert!(
                read_envelope("prom", 200, garbage).is_err_and(|e| e.is_outage()),
                "{}",
                String::from_utf8_lossy(garbage)
            );
        }
    }

    #[test]
    fn times_are_sent_as_seconds() {
        assert_eq!(seconds(1_700_000_000_000), "1700000000");
        assert_eq!(seconds(1_500), "1.500");
        assert_eq!(seconds(-1_500), "-1.500");
    }
}
