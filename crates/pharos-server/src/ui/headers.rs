//! Response headers for UI files: type, encoding, caching, validators and the
//! Content-Security-Policy the bundle is built to satisfy.

use axum::http::{HeaderMap, HeaderValue, header};

use super::assets::{Asset, CachePolicy};

/// Scripts only from our origin and never `eval` (the bundle has none); inline styles are
/// allowed because Emotion (MUI, Perses) injects `<style>` elements at run time. `data:` fonts
/// and images cover what Vite inlines; `blob:` images cover chart exports. Queries only ever go
/// to our own origin, which is also what keeps a dashboard's `directUrl` from bypassing the
/// tenant-enforcing proxy.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; \
     connect-src 'self'; worker-src 'self' blob:; object-src 'none'; base-uri 'self'; \
     form-action 'self'; frame-ancestors 'none'";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// All headers for sending `asset`.
pub(super) fn for_asset(asset: &Asset) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let content_type = with_charset(&asset.content_type);
    if let Ok(value) = HeaderValue::from_str(&content_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    if let Some(encoding) = asset.encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    if asset.has_variants {
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(asset.data.len()));
    let cache = match asset.cache {
        CachePolicy::Immutable => IMMUTABLE,
        CachePolicy::Revalidate => REVALIDATE,
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&asset.etag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers
}

/// Text formats get an explicit UTF-8 charset (Vite writes UTF-8).
fn with_charset(mime: &str) -> String {
    let textual = mime.starts_with("text/")
        || mime == "application/javascript"
        || mime == "application/json"
        || mime == "image/svg+xml";
    if textual && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

/// Whether an `If-None-Match` value names `etag` (or is `*`); weak tags compare by value.
pub(super) fn etag_matches(if_none_match: &str, etag: &str) -> bool {
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_types_get_utf8() {
        assert_eq!(with_charset("text/html"), "text/html; charset=utf-8");
        assert_eq!(
            with_charset("text/javascript"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(with_charset("font/woff2"), "font/woff2");
    }

    #[test]
    fn if_none_match_lists_and_weak_tags() {
        assert!(etag_matches("\"abc\"", "\"abc\""));
        assert!(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
        assert!(etag_matches("*", "\"abc\""));
        assert!(!etag_matches("\"abd\"", "\"abc\""));
    }

    #[test]
    fn policy_forbids_eval_and_foreign_scripts() {
        let script_src = CONTENT_SECURITY_POLICY
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .expect("script-src directive");
        assert_eq!(script_src, "script-src 'self'");
        assert!(CONTENT_SECURITY_POLICY.contains("connect-src 'self'"));
        assert!(CONTENT_SECURITY_POLICY.contains("frame-ancestors 'none'"));
    }
}
