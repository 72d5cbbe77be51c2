//! Secret / GlobalSecret specs: validation and masking for reads.

use serde_json::Value;

use crate::check::{Checker, Fields, Need, element};

/// Placeholder that replaces every non-empty credential on read.
pub const SECRET_PLACEHOLDER: &str = "<secret>";

/// Sensitive fields, as (section, field) pairs.
const SENSITIVE_FIELDS: [(&str, &str); 6] = [
    ("basicAuth", "password"),
    ("authorization", "credentials"),
    ("oauth", "clientSecret"),
    ("tlsConfig", "ca"),
    ("tlsConfig", "cert"),
    ("tlsConfig", "key"),
];

const TLS_VERSIONS: &[&str] = &["TLS10", "TLS11", "TLS12", "TLS13"];

/// Returns a copy of a secret spec in which every non-empty sensitive value (`password`,
/// `credentials`, `clientSecret`, `tlsConfig.ca/cert/key`) is `"<secret>"`; empty stays `""`.
pub fn mask_secret_spec(spec: &Value) -> Value {
    let mut masked = spec.clone();
    for (section, field) in SENSITIVE_FIELDS {
        let value = masked
            .get_mut(section)
            .and_then(|section| section.get_mut(field));
        if let Some(value) = value {
            let is_empty =
                matches!(value, Value::String(text) if text.is_empty()) || value.is_null();
            if !is_empty {
                *value = Value::String(SECRET_PLACEHOLDER.to_string());
            }
        }
    }
    masked
}

/// Checks a secret spec; every level is closed so a misspelt credential is not ignored.
pub(crate) fn check_secret_spec(checker: &mut Checker, spec: &Fields<'_>) {
    spec.reject_unknown(
        checker,
        &["basicAuth", "authorization", "oauth", "tlsConfig"],
    );
    let modes: Vec<&str> = ["basicAuth", "authorization", "oauth"]
        .into_iter()
        .filter(|mode| spec.get(mode).is_some())
        .collect();
    if modes.len() > 1 {
        checker.report(
            &spec.path,
            format!(
                "basicAuth, authorization and oauth are mutually exclusive: keep only one (found {})",
                modes.join(", ")
            ),
        );
    }
    if let Some(basic) = spec.object(checker, "basicAuth", Need::Optional) {
        check_basic_auth(checker, &basic);
    }
    if let Some(authorization) = spec.object(checker, "authorization", Need::Optional) {
        check_authorization(checker, &authorization);
    }
    if let Some(oauth) = spec.object(checker, "oauth", Need::Optional) {
        check_oauth(checker, &oauth);
    }
    if let Some(tls) = spec.object(checker, "tlsConfig", Need::Optional) {
        check_tls_config(checker, &tls);
    }
}

/// Reports when both the inline value and the file are set, or (if `required`) neither.
fn check_value_or_file(
    checker: &mut Checker,
    section: &Fields<'_>,
    inline_key: &str,
    file_keys: &[&str],
    required: bool,
) {
    let inline = section
        .string(checker, inline_key, Need::Optional)
        .is_some_and(|text| !text.is_empty());
    let mut file = false;
    for key in file_keys {
        file |= section
            .string(checker, key, Need::Optional)
            .is_some_and(|text| !text.is_empty());
    }
    let file_key = file_keys.first().copied().unwrap_or_default();
    if inline && file {
        checker.report(
            &section.path,
            format!("set only one of {inline_key} and {file_key}"),
        );
    } else if required && !inline && !file {
        checker.report(
            &section.path,
            format!("{inline_key} or {file_key} is required"),
        );
    }
}

fn check_basic_auth(checker: &mut Checker, basic: &Fields<'_>) {
    basic.reject_unknown(
        checker,
        &["username", "password", "passwordFile", "password_file"],
    );
    basic.non_empty_string(checker, "username", Need::Required);
    check_value_or_file(
        checker,
        basic,
        "password",
        &["passwordFile", "password_file"],
        true,
    );
}

fn check_authorization(checker: &mut Checker, authorization: &Fields<'_>) {
    authorization.reject_unknown(checker, &["type", "credentials", "credentialsFile"]);
    if let Some(auth_type) = authorization.string(checker, "type", Need::Optional)
        && auth_type.trim().eq_ignore_ascii_case("basic")
    {
        checker.report(
            authorization.path_of("type"),
            "authorization type cannot be \"Basic\": use basicAuth instead",
        );
    }
    check_value_or_file(
        checker,
        authorization,
        "credentials",
        &["credentialsFile"],
        false,
    );
}

fn check_oauth(checker: &mut Checker, oauth: &Fields<'_>) {
    oauth.reject_unknown(
        checker,
        &[
            "clientID",
            "clientSecret",
            "clientSecretFile",
            "tokenURL",
            "scopes",
            "endpointParams",
            "authStyle",
        ],
    );
    oauth.non_empty_string(checker, "clientID", Need::Required);
    oauth.non_empty_string(checker, "tokenURL", Need::Required);
    check_value_or_file(checker, oauth, "clientSecret", &["clientSecretFile"], true);
    oauth.string_list(checker, "scopes");
    if let Some(params) = oauth.object(checker, "endpointParams", Need::Optional) {
        for (name, values) in params.map {
            let path = params.path_of(name);
            if let Some(values) = checker.array(&path, values) {
                for (index, value) in values.iter().enumerate() {
                    checker.string(&element(&path, index), value);
                }
            }
        }
    }
    oauth.non_negative_integer(checker, "authStyle", Need::Optional);
}

fn check_tls_config(checker: &mut Checker, tls: &Fields<'_>) {
    let text_fields = [
        "ca",
        "cert",
        "key",
        "caFile",
        "certFile",
        "keyFile",
        "serverName",
    ];
    let mut allowed = text_fields.to_vec();
    allowed.extend(["insecureSkipVerify", "minVersion", "maxVersion"]);
    tls.reject_unknown(checker, &allowed);
    for key in text_fields {
        tls.string(checker, key, Need::Optional);
    }
    tls.boolean(checker, "insecureSkipVerify");
    tls.one_of(checker, "minVersion", TLS_VERSIONS, Need::Optional);
    tls.one_of(checker, "maxVersion", TLS_VERSIONS, Need::Optional);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masks_non_empty_sensitive_values_only() {
        let spec = json!({
            "basicAuth": {"username": "u", "password": "p"},
            "tlsConfig": {"ca": "", "cert": "CERT", "key": "KEY", "serverName": "s"}
        });
        assert_eq!(
            mask_secret_spec(&spec),
            json!({
                "basicAuth": {"username": "u", "password": "<secret>"},
                "tlsConfig": {"ca": "", "cert": "<secret>", "key": "<secret>", "serverName": "s"}
            })
        );
    }

    #[test]
    fn masks_authorization_and_oauth_secrets() {
        let spec = json!({"authorization": {"type": "Bearer", "credentials": "tok"}, "oauth": {"clientID": "id", "clientSecret": "cs", "tokenURL": "u"}});
        let masked = mask_secret_spec(&spec);
        assert_eq!(masked["authorization"]["credentials"], "<secret>");
        assert_eq!(masked["authorization"]["type"], "Bearer");
        assert_eq!(masked["oauth"]["clientSecret"], "<secret>");
        assert_eq!(masked["oauth"]["clientID"], "id");
    }
}
