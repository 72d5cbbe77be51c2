//! The parameter rewrite every kind shares: the query string and a form body are decoded,
//! each value goes through the kind's rewrite, a tenant parameter is added when the client sent
//! none, and a query string that grew too long for a URL is moved into a form POST.

use axum::http::{HeaderValue, Method, header};
use bytes::Bytes;

use super::super::forward::Outgoing;
use crate::error::{ApiError, ApiResult};

/// What to do with one parameter value.
pub(super) enum Param {
    /// Forward this value.
    Keep(String),
    /// Leave the parameter out.
    Drop,
}

/// How an endpoint's parameters are made tenant-safe.
pub(super) struct FormRules<'a> {
    /// Rewrites one `(key, value)`.
    pub rewrite: &'a dyn Fn(&str, &str) -> ApiResult<Param>,
    /// Keys whose presence means the client sent its own (now rewritten) selector.
    pub selector_keys: &'a [&'a str],
    /// Added when none of `selector_keys` was sent (with no selector keys: always added).
    pub default: Option<(&'a str, String)>,
    /// Whether the upstream serves the same endpoint as a form POST.
    pub accepts_post: bool,
    /// Longest query string sent in a URL (`proxy.max_url_query_bytes`).
    pub max_url_query_bytes: usize,
}

/// Rewrites `request`'s parameters by `rules`; only GET and form POST requests are accepted.
pub(super) fn rewrite_request(request: &mut Outgoing, rules: &FormRules<'_>) -> ApiResult<()> {
    let has_body = !request.body.is_empty();
    match request.method {
        Method::GET => {}
        Method::POST if !has_body || is_form(&request.headers) => {}
        _ => {
            return Err(ApiError::bad_request(format!(
                "{} {} through a tenant-restricted datasource must be a GET or a POST with \
                 'Content-Type: application/x-www-form-urlencoded'",
                request.method, request.sub_path
            )));
        }
    }
    let body_carries_params = request.method == Method::POST && has_body;
    let mut saw_selector = false;
    let query = request.query.take().unwrap_or_default();
    let mut query = rewrite_encoded(&query, rules, &mut saw_selector)?;
    let mut body = if body_carries_params {
        let text = std::str::from_utf8(&request.body)
            .map_err(|_| ApiError::bad_request("the form body is not valid UTF-8"))?;
        Some(rewrite_encoded(text, rules, &mut saw_selector)?)
    } else {
        None
    };
    if let (false, Some((key, value))) = (saw_selector, &rules.default) {
        let target = body.as_mut().unwrap_or(&mut query);
        append_pair(target, key, value);
    }
    if body.is_none() && query.len() > rules.max_url_query_bytes {
        if !rules.accepts_post {
            metrics::counter!("pharos_refusals_total", "reason" => "proxy_url_query_too_long")
                .increment(1);
            return Err(ApiError::bad_request(format!(
                "the tenant-enforced query string of {} is {} bytes, more than \
                 proxy.max_url_query_bytes ({}), and this endpoint cannot be sent as a POST; \
                 shorten the query",
                request.sub_path,
                query.len(),
                rules.max_url_query_bytes
            )));
        }
        // Long selectors exceed what URLs can carry (the HTTP client's own limit is 64 KiB,
        // many servers stop at 8 KiB), so send them the way Prometheus and Loki also accept.
        request.method = Method::POST;
        request.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        body = Some(std::mem::take(&mut query));
    }
    request.query = Some(query);
    if let Some(body) = body {
        request.body = Bytes::from(body);
    }
    Ok(())
}

fn rewrite_encoded(
    encoded: &str,
    rules: &FormRules<'_>,
    saw_selector: &mut bool,
) -> ApiResult<String> {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in url::form_urlencoded::parse(encoded.as_bytes()) {
        if rules.selector_keys.iter().any(|k| *k == key) {
            *saw_selector = true;
        }
        match (rules.rewrite)(&key, &value)? {
            Param::Keep(rewritten) => {
                out.append_pair(&key, &rewritten);
            }
            Param::Drop => {}
        }
    }
    Ok(out.finish())
}

fn append_pair(encoded: &mut String, key: &str, value: &str) {
    let pair = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, value)
        .finish();
    if !encoded.is_empty() {
        encoded.push('&');
    }
    encoded.push_str(&pair);
}

fn is_form(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    fn get(query: &str) -> Outgoing {
        Outgoing {
            method: Method::GET,
            sub_path: "/api/v1/series".into(),
            query: Some(query.into()),
            headers: HeaderMap::new(),
            body: Bytes::new(),
        }
    }

    fn upper(_: &str, value: &str) -> ApiResult<Param> {
        Ok(Param::Keep(value.to_uppercase()))
    }

    fn rules<'a>(
        rewrite: &'a dyn Fn(&str, &str) -> ApiResult<Param>,
        accepts_post: bool,
    ) -> FormRules<'a> {
        FormRules {
            rewrite,
            selector_keys: &["match[]"],
            default: Some(("match[]", "{t}".into())),
            accepts_post,
            max_url_query_bytes: 64,
        }
    }

    #[test]
    fn values_are_rewritten_and_a_default_added_once() {
        let mut request = get("match[]=a&start=1");
        rewrite_request(&mut request, &rules(&upper, true)).unwrap();
        assert_eq!(request.query.as_deref(), Some("match%5B%5D=A&start=1"));
        let mut without = get("start=1");
        rewrite_request(&mut without, &rules(&upper, true)).unwrap();
        assert_eq!(
            without.query.as_deref(),
            Some("start=1&match%5B%5D=%7Bt%7D")
        );
    }

    #[test]
    fn long_queries_become_form_posts_or_are_refused() {
        let long = format!("match[]={}", "x".repeat(100));
        let mut request = get(&long);
        rewrite_request(&mut request, &rules(&upper, true)).unwrap();
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.query.as_deref(), Some(""));
        assert!(request.body.starts_with(b"match%5B%5D=XXX"));
        assert_eq!(
            request.headers[header::CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        let mut refused = get(&long);
        let err = rewrite_request(&mut refused, &rules(&upper, false)).unwrap_err();
        assert_eq!(err.status(), axum::http::StatusCode::BAD_REQUEST);
        assert!(
            err.to_string().contains("proxy.max_url_query_bytes (64)"),
            "{err}"
        );
    }

    #[test]
    fn other_methods_and_bodies_are_refused() {
        let mut put = get("a=1");
        put.method = Method::PUT;
        assert!(rewrite_request(&mut put, &rules(&upper, true)).is_err());
        let mut json = get("a=1");
        json.method = Method::POST;
        json.body = Bytes::from_static(b"{}");
        assert!(rewrite_request(&mut json, &rules(&upper, true)).is_err());
    }
}
