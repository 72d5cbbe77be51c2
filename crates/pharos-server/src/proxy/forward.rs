//! Forwarding one request to a datasource upstream: endpoint allow-list, tenant rewrite,
//! header and secret injection, and streaming of the answer.

use axum::{
    body::Body,
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::Response,
};
use bytes::Bytes;

use super::{enforce, target::ProxyTarget};
use crate::{
    error::{ApiError, ApiResult},
    state::AppState,
};

/// The client request, as far as the upstream is concerned.
#[derive(Debug)]
pub struct Outgoing {
    /// HTTP method.
    pub method: Method,
    /// Path after the datasource name, starting with `/` (or empty).
    pub sub_path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// Client headers.
    pub headers: HeaderMap,
    /// Body (already bounded by `api.max_body_bytes`).
    pub body: Bytes,
}

/// Client headers passed on to the upstream; everything else (cookies, our own
/// `Authorization`) stays here.
const FORWARDED_HEADERS: [HeaderName; 5] = [
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    header::CONTENT_TYPE,
    header::USER_AGENT,
    header::CACHE_CONTROL,
];

/// Upstream headers not copied back: hop-by-hop ones and cookies for the upstream's domain.
const DROPPED_RESPONSE_HEADERS: [HeaderName; 7] = [
    header::CONNECTION,
    header::TRANSFER_ENCODING,
    header::TE,
    header::TRAILER,
    header::UPGRADE,
    header::PROXY_AUTHENTICATE,
    header::SET_COOKIE,
];

/// Sends `request` to `target` and streams the answer back.
#[tracing::instrument(
    name = "datasource proxy",
    skip_all,
    fields(
        datasource.kind = %target.plugin_kind,
        server.address = target.http.url.host_str().unwrap_or_default(),
        http.request.method = %request.method,
    )
)]
pub async fn forward(
    state: &AppState,
    target: &ProxyTarget,
    mut request: Outgoing,
) -> ApiResult<Response> {
    // The embedded store's rules and alerts are answered here, narrowed to the tenant: the
    // Prometheus enforcement has no way to rewrite them.
    if request.method == axum::http::Method::GET
        && target.plugin_kind == "PrometheusDatasource"
        && crate::prom_api::is_rules_path(&request.sub_path)
        && super::query::embedded_of(state, target).is_some()
    {
        check_allowed(target, &request)?;
        return Ok(crate::prom_api::rules_for_tenant(
            state,
            target.policy.as_ref(),
            &request.sub_path,
            request.query.as_deref(),
        ));
    }
    prepare(state, target, &mut request)?;
    if let Some(question) = super::query::question(target, &request) {
        return Ok(match question {
            Ok(question) => {
                let bypass = request
                    .headers
                    .get(header::CACHE_CONTROL)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.contains("no-cache") || v.contains("no-store"));
                super::query::answer(state, target, question, bypass).await
            }
            Err(refusal) => refusal,
        });
    }
    let url = upstream_url(target, &request)?;
    let internal = state.identity.internal_header_for(url.as_str());
    let mut builder = state
        .http_client
        .request(request.method.clone(), url)
        .timeout(state.settings.proxy.timeout);
    for name in FORWARDED_HEADERS {
        if let Some(value) = request.headers.get(&name) {
            builder = builder.header(name, value.clone());
        }
    }
    for (name, value) in &target.http.headers {
        // Credentials come from a Secret only (as in Perses).
        if !name.eq_ignore_ascii_case("authorization") {
            builder = builder.header(name.as_str(), value.as_str());
        }
    }
    if let Some(authorization) = &target.authorization {
        builder = builder.header(header::AUTHORIZATION, authorization.as_str());
    }
    if !request.headers.contains_key("x-forwarded-proto") {
        builder = builder.header("x-forwarded-proto", "http");
    }
    if let Some((name, value)) = internal {
        builder = builder.header(name, value);
    }
    // The upstream joins this trace (empty when tracing is off).
    for (name, value) in pharos_query::trace_context::outgoing_headers() {
        builder = builder.header(name, value);
    }
    let upstream = builder
        .body(request.body)
        .send()
        .await
        .map_err(|e| upstream_error(target, &e))?;
    Ok(stream_back(upstream))
}

/// What every request to a datasource goes through first: the endpoint allow-list and the
/// tenant rewrite.
pub fn prepare(state: &AppState, target: &ProxyTarget, request: &mut Outgoing) -> ApiResult<()> {
    if request.sub_path.is_empty() {
        request.sub_path.push('/');
    }
    check_allowed(target, request)?;
    if let Some(policy) = &target.policy {
        enforce::enforce(state, target, policy, request)?;
    }
    Ok(())
}

fn check_allowed(target: &ProxyTarget, request: &Outgoing) -> ApiResult<()> {
    let endpoints = &target.http.allowed_endpoints;
    if endpoints.is_empty()
        || endpoints
            .iter()
            .any(|e| e.allows(request.method.as_str(), &request.sub_path))
    {
        return Ok(());
    }
    Err(ApiError::Forbidden(format!(
        "you are not allowed to use this endpoint \"{}\" with the HTTP method {}",
        request.sub_path, request.method
    )))
}

/// The upstream URL: the datasource URL's path joined with the sub-path, so upstreams
/// behind a path prefix (`http://thanos/prometheus`) work.
fn upstream_url(target: &ProxyTarget, request: &Outgoing) -> ApiResult<url::Url> {
    let mut url = target.http.url.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}{}", request.sub_path));
    url.set_query(request.query.as_deref().filter(|q| !q.is_empty()));
    if url.host_str().is_none() {
        return Err(ApiError::BadGateway(format!(
            "{} has no host in its URL",
            target.label
        )));
    }
    Ok(url)
}

fn upstream_error(target: &ProxyTarget, err: &reqwest::Error) -> ApiError {
    let reason = if err.is_timeout() {
        "timeout"
    } else if err.is_connect() {
        "connect"
    } else {
        "other"
    };
    metrics::counter!("pharos_proxy_upstream_errors_total", "reason" => reason).increment(1);
    let url = &target.http.url;
    if err.is_timeout() {
        ApiError::GatewayTimeout(format!(
            "{} at {url} did not answer in time (proxy.timeout); try a shorter time range or a larger step",
            target.label
        ))
    } else if err.is_connect() {
        ApiError::BadGateway(format!(
            "cannot reach {} at {url}: {}",
            target.label,
            root_cause(err)
        ))
    } else {
        ApiError::BadGateway(format!(
            "request to {} at {url} failed: {}",
            target.label,
            root_cause(err)
        ))
    }
}

fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

fn stream_back(upstream: reqwest::Response) -> Response {
    let status =
        StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    for (name, value) in upstream.headers() {
        if !DROPPED_RESPONSE_HEADERS.contains(name) && name != header::CONTENT_LENGTH {
            headers.append(name.clone(), value.clone());
        }
    }
    if let Some(len) = upstream.content_length()
        && let Ok(value) = HeaderValue::from_str(&len.to_string())
    {
        headers.insert(header::CONTENT_LENGTH, value);
    }
    let mut response = Response::new(Body::from_stream(upstream.bytes_stream()));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
