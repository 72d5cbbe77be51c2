//! Rules for the extra headers an HTTP proxy sends upstream, checked when a datasource is
//! written: a header the HTTP client cannot send would otherwise make every later proxy call
//! fail.

use std::collections::BTreeMap;

use crate::check::{Checker, Fields};

/// Headers that describe the connection or the message framing, which the proxy manages; a
/// datasource setting them would corrupt the request (e.g. `Content-Length` on a GET).
const MANAGED_HEADERS: &[&str] = &[
    "connection",
    "content-length",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Reads `headers` (a string map) and reports every name that is not an RFC 9110 token, every
/// value with characters other than visible ASCII, space and tab, and managed headers.
pub(crate) fn check_headers(
    checker: &mut Checker,
    proxy_spec: &Fields<'_>,
) -> BTreeMap<String, String> {
    let headers_path = proxy_spec.path_of("headers");
    let mut headers = BTreeMap::new();
    for (name, value) in proxy_spec
        .string_map(checker, "headers")
        .unwrap_or_default()
    {
        let path = format!("{headers_path}[{name:?}]");
        if let Err(problem) = check_name(name) {
            checker.report(path, problem);
            continue;
        }
        if let Err(problem) = check_value(value) {
            checker.report(path, problem);
            continue;
        }
        headers.insert(name.to_owned(), value.to_owned());
    }
    headers
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a header name cannot be empty".to_owned());
    }
    if let Some(bad) = name.chars().find(|&c| !is_token_char(c)) {
        return Err(format!(
            "header name {name:?} contains {bad:?}; use letters, digits and !#$%&'*+-.^_`|~ only"
        ));
    }
    if MANAGED_HEADERS.contains(&name.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "header {name:?} is managed by the proxy and cannot be set on a datasource"
        ));
    }
    Ok(())
}

fn check_value(value: &str) -> Result<(), String> {
    match value
        .chars()
        .find(|&c| !(c == ' ' || c == '\t' || c.is_ascii_graphic()))
    {
        Some(bad) => Err(format!(
            "header value contains {bad:?}; use visible ASCII characters, spaces and tabs only \
             (no line breaks or NUL)"
        )),
        None => Ok(()),
    }
}

/// RFC 9110 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_tokens_and_not_managed() {
        assert!(check_name("X-Scope-OrgID").is_ok());
        for bad in [
            "",
            "X\r\nY",
            "a b",
            "a:b",
            "é",
            "X\0",
            "Content-Length",
            "transfer-encoding",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn values_must_be_visible_ascii_space_or_tab() {
        assert!(check_value("Bearer abc\t= 1").is_ok());
        assert!(check_value("").is_ok());
        for bad in ["a\r\nb", "a\nb", "a\0", "é", "\u{7f}"] {
            assert!(check_value(bad).is_err(), "{bad:?}");
        }
    }
}
