//! A fake Loki, for the one endpoint a puller uses: `GET /loki/api/v1/query_range` over log
//! streams held in memory, answered with Loki's JSON
//! (`{"status":"success","data":{"resultType":"streams","result":[{"stream":{..},"values":[["<ns>","<line>"]]}],"stats":{..}}}`).
//!
//! As Loki: `start` inclusive and `end` exclusive (Unix ns; RFC 3339 and float seconds are not
//! taken here), `limit` (default 100) entries over all streams, the first ones in `direction`
//! (default `backward`), each stream's values in that order; a limit over the
//! `max_entries_limit_per_query` (5,000) and malformed queries answer 400 with a text body;
//! a pushed entry identical to a stored one (same stream, nanosecond and line) is dropped.
//! Queries are a stream selector (`=`, `!=`, `=~`, `!~`, regexes anchored) with line filters
//! (`|=`, `!=`, `|~`, `!~`); metric queries and pipeline stages are answered 400 (a real Loki
//! would run them). The fake can require a tenant (`X-Scope-OrgID`, 401 `no org id` as Loki)
//! and an `Authorization` value (401), fail the next requests with a status (429/503), and
//! records every request so tests can assert on paging.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use axum::{
    Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;

/// One request as the fake saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `query`.
    pub query: String,
    /// `start` as sent.
    pub start: Option<String>,
    /// `end` as sent.
    pub end: Option<String>,
    /// `limit` as sent.
    pub limit: Option<String>,
    /// `direction` as sent.
    pub direction: Option<String>,
    /// `X-Scope-OrgID`.
    pub tenant: Option<String>,
    /// `Authorization`.
    pub authorization: Option<String>,
    /// The status answered.
    pub status: u16,
}

#[derive(Debug, Default)]
struct Stream {
    labels: BTreeMap<String, String>,
    /// Sorted by timestamp; entries of one nanosecond in push order.
    entries: Vec<(i64, String)>,
}

#[derive(Debug)]
struct Inner {
    streams: Vec<Stream>,
    requests: Vec<RecordedRequest>,
    /// Statuses the next requests get, first first.
    failures: Vec<u16>,
    tenant: Option<String>,
    authorization: Option<String>,
    max_entries: usize,
}

/// A running fake Loki.
#[derive(Clone)]
pub struct FakeLoki {
    inner: Arc<Mutex<Inner>>,
    base: String,
}

fn lock(inner: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    inner
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeLoki {
    /// Starts a fake Loki without streams on an ephemeral port of 127.0.0.1.
    pub async fn start() -> std::io::Result<Self> {
        let (listener, base) = crate::listen().await?;
        let inner = Arc::new(Mutex::new(Inner {
            streams: Vec::new(),
            requests: Vec::new(),
            failures: Vec::new(),
            tenant: None,
            authorization: None,
            max_entries: 5_000,
        }));
        let router = Router::new()
            .route("/loki/api/v1/query_range", get(query_range))
            .with_state(Arc::clone(&inner));
        crate::spawn(listener, router);
        Ok(Self { inner, base })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Adds `entries` (Unix ns, line) to the stream with `labels`, as a push would.
    pub fn push<'a>(
        &self,
        labels: &[(&str, &str)],
        entries: impl IntoIterator<Item = (i64, &'a str)>,
    ) {
        let labels: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut inner = lock(&self.inner);
        let at = match inner.streams.iter().position(|s| s.labels == labels) {
            Some(at) => at,
            None => {
                inner.streams.push(Stream {
                    labels,
                    entries: Vec::new(),
                });
                inner.streams.len() - 1
            }
        };
        let stream = &mut inner.streams[at];
        for (ts, line) in entries {
            let from = stream.entries.partition_point(|(t, _)| *t < ts);
            let to = stream.entries.partition_point(|(t, _)| *t <= ts);
            if stream.entries[from..to].iter().any(|(_, l)| l == line) {
                continue;
            }
            stream.entries.insert(to, (ts, line.to_owned()));
        }
    }

    /// Entries stored over all streams.
    pub fn entries(&self) -> usize {
        lock(&self.inner)
            .streams
            .iter()
            .map(|s| s.entries.len())
            .sum()
    }

    /// The next `n` requests answer `status` (429 or 503, say) with a text body.
    pub fn fail_next(&self, n: usize, status: u16) {
        lock(&self.inner)
            .failures
            .extend(std::iter::repeat_n(status, n));
    }

    /// Requests without this `X-Scope-OrgID` answer 401 (`None`: any or none).
    pub fn require_tenant(&self, tenant: Option<&str>) {
        lock(&self.inner).tenant = tenant.map(str::to_owned);
    }

    /// Requests without exactly this `Authorization` value answer 401.
    pub fn require_authorization(&self, value: Option<&str>) {
        lock(&self.inner).authorization = value.map(str::to_owned);
    }

    /// Loki's `max_entries_limit_per_query` (5,000 by default).
    pub fn set_max_entries_limit(&self, limit: usize) {
        lock(&self.inner).max_entries = limit;
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.inner).requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.inner).requests.clear();
    }
}

fn text(status: u16, body: impl Into<String>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, body.into()).into_response()
}

async fn query_range(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut inner = lock(&inner);
    let mut record = RecordedRequest {
        query: params.get("query").cloned().unwrap_or_default(),
        start: params.get("start").cloned(),
        end: params.get("end").cloned(),
        limit: params.get("limit").cloned(),
        direction: params.get("direction").cloned(),
        tenant: header("x-scope-orgid"),
        authorization: header("authorization"),
        status: 200,
    };
    let response = answer(&mut inner, &record);
    record.status = response.status().as_u16();
    inner.requests.push(record);
    response
}

fn answer(inner: &mut Inner, request: &RecordedRequest) -> Response {
    if !inner.failures.is_empty() {
        let status = inner.failures.remove(0);
        let body = if status == 429 {
            "Ingestion rate limit exceeded (fake)"
        } else {
            "the fake Loki fails this request as told"
        };
        return text(status, body);
    }
    if let Some(tenant) = &inner.tenant
        && request.tenant.as_deref() != Some(tenant.as_str())
    {
        return text(401, "no org id");
    }
    if let Some(value) = &inner.authorization
        && request.authorization.as_deref() != Some(value.as_str())
    {
        return text(401, "Unauthorized");
    }
    let parse_ns = |name: &str, value: &Option<String>, default: i64| match value {
        None => Ok(default),
        Some(v) => v.parse::<i64>().map_err(|_| {
            format!(
                "invalid {name} parameter: cannot parse \"{v}\" (the fake takes Unix nanoseconds)"
            )
        }),
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
    let end = match parse_ns("end", &request.end, now) {
        Ok(v) => v,
        Err(message) => return text(400, message),
    };
    let start = match parse_ns("start", &request.start, end - 3_600_000_000_000) {
        Ok(v) => v,
        Err(message) => return text(400, message),
    };
    if end <= start {
        return text(
            400,
            "end timestamp must not be before or equal to start time",
        );
    }
    let limit = match request.limit.as_deref().map(str::parse::<usize>) {
        None => 100,
        Some(Ok(limit)) => limit,
        Some(Err(_)) => return text(400, "invalid limit: must be a positive integer"),
    };
    if limit > inner.max_entries {
        return text(
            400,
            format!(
                "max entries limit per query exceeded, limit > max_entries_limit ({limit} > {})",
                inner.max_entries
            ),
        );
    }
    let forward = match request.direction.as_deref().map(str::to_ascii_lowercase) {
        None => false,
        Some(d) if d == "forward" => true,
        Some(d) if d == "backward" => false,
        Some(d) => return text(400, format!("invalid direction \"{d}\"")),
    };
    let query = match selector::parse(&request.query) {
        Ok(query) => query,
        Err(message) => return text(400, message),
    };
    // (timestamp, stream, position in stream) of every match, in the asked order.
    let mut hits: Vec<(i64, usize, usize)> = Vec::new();
    for (s, stream) in inner.streams.iter().enumerate() {
        if !query.matches_labels(&stream.labels) {
            continue;
        }
        let from = stream.entries.partition_point(|(t, _)| *t < start);
        let to = stream.entries.partition_point(|(t, _)| *t < end);
        for (i, (t, line)) in stream.entries[from..to].iter().enumerate() {
            if query.matches_line(line) {
                hits.push((*t, s, from + i));
            }
        }
    }
    hits.sort_unstable();
    if !forward {
        hits.reverse();
    }
    hits.truncate(limit);
    let mut result: Vec<(usize, Vec<serde_json::Value>)> = Vec::new();
    for (t, s, i) in &hits {
        let line = &inner.streams[*s].entries[*i].1;
        match result.iter_mut().find(|(stream, _)| stream == s) {
            Some((_, values)) => values.push(json!([t.to_string(), line])),
            None => result.push((*s, vec![json!([t.to_string(), line])])),
        }
    }
    let result: Vec<_> = result
        .into_iter()
        .map(|(s, values)| json!({"stream": inner.streams[s].labels, "values": values}))
        .collect();
    Json(json!({
        "status": "success",
        "data": {
            "resultType": "streams",
            "result": result,
            "stats": {
                "summary": {
                    "bytesProcessedPerSecond": 0,
                    "linesProcessedPerSecond": 0,
                    "totalBytesProcessed": 0,
                    "totalLinesProcessed": hits.len(),
                    "totalEntriesReturned": hits.len(),
                    "execTime": 0.001,
                    "queueTime": 0,
                    "subqueries": 0,
                    "totalPostFilterLines": hits.len(),
                }
            }
        }
    }))
    .into_response()
}

/// The fake's LogQL subset: a stream selector with line filters.
mod selector {
    use std::collections::BTreeMap;

    use regex::Regex;

    enum Op {
        Eq(String),
        Ne(String),
        Re(Regex),
        NotRe(Regex),
    }

    pub(super) struct Parsed {
        matchers: Vec<(String, Op)>,
        filters: Vec<Op>,
    }

    impl Parsed {
        pub(super) fn matches_labels(&self, labels: &BTreeMap<String, String>) -> bool {
            self.matchers.iter().all(|(name, op)| {
                let value = labels.get(name).map_or("", String::as_str);
                match op {
                    Op::Eq(v) => value == v,
                    Op::Ne(v) => value != v,
                    Op::Re(r) => r.is_match(value),
                    Op::NotRe(r) => !r.is_match(value),
                }
            })
        }

        pub(super) fn matches_line(&self, line: &str) -> bool {
            self.filters.iter().all(|op| match op {
                Op::Eq(v) => line.contains(v.as_str()),
                Op::Ne(v) => !line.contains(v.as_str()),
                Op::Re(r) => r.is_match(line),
                Op::NotRe(r) => !r.is_match(line),
            })
        }
    }

    fn syntax(col: usize, what: &str) -> String {
        format!(
            "parse error at line 1, col {}: syntax error: {what}",
            col + 1
        )
    }

    fn regex(pattern: &str, anchored: bool) -> Result<Regex, String> {
        let pattern = if anchored {
            format!("^(?:{pattern})$")
        } else {
            pattern.to_owned()
        };
        Regex::new(&pattern).map_err(|e| format!("parse error: invalid regex: {e}"))
    }

    /// A quoted string at `text[at..]`: value and the index after it.
    fn string(text: &str, at: usize) -> Option<(String, usize)> {
        let rest = &text[at..];
        let quote = rest.chars().next()?;
        if quote != '"' && quote != '`' {
            return None;
        }
        let mut value = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            if c == quote {
                return Some((value, at + i + 1));
            }
            if c == '\\' && quote == '"' {
                value.push(chars.next()?.1);
            } else {
                value.push(c);
            }
        }
        None
    }

    fn skip_ws(text: &str, mut at: usize) -> usize {
        while text[at..].starts_with(char::is_whitespace) {
            at += text[at..].chars().next().map_or(1, char::len_utf8);
        }
        at
    }

    pub(super) fn parse(query: &str) -> Result<Parsed, String> {
        let mut at = skip_ws(query, 0);
        if !query[at..].starts_with('{') {
            return Err(if query.trim().is_empty() {
                syntax(at, "unexpected $end")
            } else {
                syntax(
                    at,
                    "unexpected IDENTIFIER (the fake Loki answers log queries only)",
                )
            });
        }
        at += 1;
        let mut matchers = Vec::new();
        loop {
            at = skip_ws(query, at);
            if matchers.is_empty() && query[at..].starts_with('}') {
                return Err(syntax(at, "unexpected }"));
            }
            let len = query[at..]
                .find(|c: char| !(c == '_' || c.is_ascii_alphanumeric()))
                .unwrap_or(query.len() - at);
            if len == 0 {
                return Err(syntax(at, "unexpected character, expecting IDENTIFIER"));
            }
            let name = query[at..at + len].to_owned();
            at = skip_ws(query, at + len);
            let op = ["=~", "!~", "!=", "="]
                .into_iter()
                .find(|op| query[at..].starts_with(op))
                .ok_or_else(|| syntax(at, "unexpected character, expecting = or != or =~ or !~"))?;
            at = skip_ws(query, at + op.len());
            let (value, next) = string(query, at)
                .ok_or_else(|| syntax(at, "unexpected IDENTIFIER, expecting STRING"))?;
            at = skip_ws(query, next);
            matchers.push((
                name,
                match op {
                    "=" => Op::Eq(value),
                    "!=" => Op::Ne(value),
                    "=~" => Op::Re(regex(&value, true)?),
                    _ => Op::NotRe(regex(&value, true)?),
                },
            ));
            if query[at..].starts_with(',') {
                at += 1;
            } else if query[at..].starts_with('}') {
                at += 1;
                break;
            } else {
                return Err(syntax(at, "unexpected character, expecting , or }"));
            }
        }
        let empty_compatible = matchers.iter().all(|(_, op)| match op {
            Op::Eq(v) => v.is_empty(),
            Op::Re(r) => r.is_match(""),
            _ => true,
        });
        if empty_compatible {
            return Err("parse error : queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will".to_owned());
        }
        let mut filters = Vec::new();
        loop {
            at = skip_ws(query, at);
            if at >= query.len() {
                return Ok(Parsed { matchers, filters });
            }
            let op = ["|=", "!=", "|~", "!~"]
                .into_iter()
                .find(|op| query[at..].starts_with(op))
                .ok_or_else(|| {
                    syntax(
                        at,
                        "unexpected stage (the fake Loki takes line filters only)",
                    )
                })?;
            at = skip_ws(query, at + op.len());
            let (value, next) = string(query, at)
                .ok_or_else(|| syntax(at, "unexpected IDENTIFIER, expecting STRING"))?;
            at = next;
            filters.push(match op {
                "|=" => Op::Eq(value),
                "!=" => Op::Ne(value),
                "|~" => Op::Re(regex(&value, false)?),
                _ => Op::NotRe(regex(&value, false)?),
            });
        }
    }
}
