//! Alerts from Alertmanager: `POST /api/v1/alerts/webhook` (webhook payload version 4) and
//! `GET /api/v1/fleet/alerts`.
//!
//! The webhook is anonymous to the login layer (Alertmanager has no Pharos session); when
//! `fleet.alerts.webhook_token` is set it needs `Authorization: Bearer <token>`, compared in
//! constant time. `?cluster=<name>` says whose alerts these are (one receiver per cluster);
//! without it an alert's `cluster` label decides, else `unknown`. Bodies over
//! `fleet.alerts.max_body_bytes` (1 MiB) are a 413, anything that is not Alertmanager's
//! payload a 400 naming the problem. Listing needs read on the global `Cluster` scope.

use axum::{
    Json,
    extract::{RawQuery, Request, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use pharos_fleet::AlertFilter;
use subtle::ConstantTimeEq as _;

use super::CallerAccess;
use crate::{
    error::{ApiError, ApiResult},
    extract::read_limited_counting,
    identity::Caller,
    state::AppState,
};

/// Whether `presented` (the `Authorization` header) carries `expected` as a bearer token. The
/// comparison of the tokens is constant-time (only their length may show).
fn token_matches(presented: Option<&str>, expected: &str) -> bool {
    let Some((scheme, token)) = presented.and_then(|v| v.split_once(' ')) else {
        return false;
    };
    scheme.eq_ignore_ascii_case("bearer")
        && bool::from(token.trim().as_bytes().ct_eq(expected.as_bytes()))
}

pub(super) async fn webhook(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    request: Request,
) -> ApiResult<Response> {
    let settings = &state.settings.fleet.alerts;
    if let Some(expected) = settings.webhook_token.as_deref().filter(|t| !t.is_empty()) {
        let presented = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if !token_matches(presented, expected) {
            metrics::counter!("pharos_refusals_total", "reason" => "alert_webhook_token")
                .increment(1);
            return Err(ApiError::Unauthorized(
                "the alert webhook needs 'Authorization: Bearer <fleet.alerts.webhook_token>' \
                 (Alertmanager: http_config.authorization.credentials)"
                    .to_owned(),
            ));
        }
    }
    let mut cluster = None;
    for (key, value) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if key != "cluster" {
            return Err(ApiError::bad_request(format!(
                "unknown parameter \"{key}\": the webhook takes cluster=<name>"
            )));
        }
        cluster = Some(value.into_owned());
    }
    let body =
        read_limited_counting(request, settings.max_body_bytes, "alert_webhook_too_large").await?;
    let body: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(format!(
            "the body is not JSON ({e}); send Alertmanager's webhook payload (version 4)"
        ))
    })?;
    let report = state.fleet.alert_intake(cluster.as_deref(), &body)?;
    Ok((StatusCode::OK, Json(report)).into_response())
}

pub(super) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let access = CallerAccess(&caller);
    pharos_fleet::Access::check(&access, pharos_fleet::FleetAction::Read)
        .map_err(ApiError::Forbidden)?;
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let filter = AlertFilter::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
    Ok(Json(state.fleet.alerts(&access, &filter)?).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_bearer_token_passes() {
        assert!(token_matches(Some("Bearer s3cret"), "s3cret"));
        assert!(token_matches(Some("bearer s3cret"), "s3cret"));
        assert!(!token_matches(Some("Bearer s3cre"), "s3cret"));
        assert!(!token_matches(Some("Basic s3cret"), "s3cret"));
        assert!(!token_matches(Some("s3cret"), "s3cret"));
        assert!(!token_matches(None, "s3cret"));
    }
}
