//! `GET/PUT /api/v1/preferences`: what the UI applies for a user on every device (seed 000
//! FR-016): timezone, theme, default refresh interval and time range, home dashboard and
//! favourite dashboards.

use axum::{Json, Router, extract::State, routing::get};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Caller;
use crate::{
    error::{ApiError, ApiResult},
    extract::JsonBody,
    state::AppState,
};

/// Most favourites one user keeps.
const MAX_FAVOURITES: usize = 200;

/// A dashboard named by project and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardRef {
    /// Its project.
    pub project: String,
    /// Its name.
    pub dashboard: String,
}

/// The preferences document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Preferences {
    /// `browser` (the default), `UTC`, or an IANA zone such as `Europe/Paris`.
    pub timezone: String,
    /// `system` (the default), `light` or `dark`.
    pub theme: String,
    /// Default refresh interval of dashboards (`""` = off, else a duration like `30s`).
    pub refresh_interval: String,
    /// Default time range, a duration back from now (`1h`).
    pub time_range: String,
    /// Opened at `/`.
    pub home_dashboard: Option<DashboardRef>,
    /// Starred dashboards.
    pub favourites: Vec<DashboardRef>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            timezone: "browser".to_owned(),
            theme: "system".to_owned(),
            refresh_interval: String::new(),
            time_range: "1h".to_owned(),
            home_dashboard: None,
            favourites: Vec::new(),
        }
    }
}

fn is_zone_name(text: &str) -> bool {
    // IANA names: Area/Location[/Sub], letters, digits, `_`, `-`, `+`.
    let parts: Vec<&str> = text.split('/').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 32
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'+'))
        })
}

impl Preferences {
    /// Checks every field; the error names the field and what it accepts.
    pub fn validate(&self) -> Result<(), String> {
        if !(matches!(self.timezone.as_str(), "browser" | "UTC") || is_zone_name(&self.timezone)) {
            return Err(format!(
                "timezone: {:?} is not \"browser\", \"UTC\" or an IANA zone like \"Europe/Paris\"",
                self.timezone
            ));
        }
        if !matches!(self.theme.as_str(), "system" | "light" | "dark") {
            return Err(format!(
                "theme: {:?} is not one of system, light, dark",
                self.theme
            ));
        }
        if !self.refresh_interval.is_empty()
            && pharos_model::parse_duration(&self.refresh_interval).is_err()
        {
            return Err(format!(
                "refresh_interval: {:?} is not a duration like 30s (or \"\" for off)",
                self.refresh_interval
            ));
        }
        if pharos_model::parse_duration(&self.time_range).is_err() {
            return Err(format!(
                "time_range: {:?} is not a duration like 1h",
                self.time_range
            ));
        }
        if self.favourites.len() > MAX_FAVOURITES {
            return Err(format!("favourites: at most {MAX_FAVOURITES} dashboards"));
        }
        for (field, reference) in self
            .home_dashboard
            .iter()
            .map(|r| ("home_dashboard".to_owned(), r))
            .chain(
                self.favourites
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("favourites[{i}]"), r)),
            )
        {
            pharos_model::validate_name(&reference.project)
                .and_then(|()| pharos_model::validate_name(&reference.dashboard))
                .map_err(|e| format!("{field}: {e}"))?;
        }
        Ok(())
    }
}

async fn read(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let stored = state.resources.store().preferences(caller.name()).await?;
    Ok(Json(stored.unwrap_or_else(|| {
        serde_json::to_value(Preferences::default()).unwrap_or_default()
    })))
}

async fn write(
    State(state): State<AppState>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> ApiResult<Json<Value>> {
    let preferences: Preferences = serde_json::from_value(body)
        .map_err(|e| ApiError::bad_request(format!("preferences: {e}")))?;
    preferences.validate().map_err(ApiError::BadRequest)?;
    let document =
        serde_json::to_value(&preferences).map_err(|e| ApiError::Internal(e.to_string()))?;
    state
        .resources
        .store()
        .put_preferences(caller.name(), &document, chrono::Utc::now())
        .await?;
    Ok(Json(document))
}

/// `GET/PUT /api/v1/preferences` (the caller's own).
pub fn preference_routes() -> Router<AppState> {
    Router::new().route("/api/v1/preferences", get(read).put(write))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_fields_are_named() {
        assert!(Preferences::default().validate().is_ok());
        let zone = Preferences {
            timezone: "Europe/Paris".to_owned(),
            ..Preferences::default()
        };
        assert!(zone.validate().is_ok());
        for (broken, field) in [
            (
                Preferences {
                    timezone: "Mars".to_owned(),
                    ..Preferences::default()
                },
                "timezone",
            ),
            (
                Preferences {
                    theme: "pink".to_owned(),
                    ..Preferences::default()
                },
                "theme",
            ),
            (
                Preferences {
                    refresh_interval: "often".to_owned(),
                    ..Preferences::default()
                },
                "refresh_interval",
            ),
            (
                Preferences {
                    favourites: vec![DashboardRef {
                        project: "p".to_owned(),
                        dashboard: "no spaces".to_owned(),
                    }],
                    ..Preferences::default()
                },
                "favourites[0]",
            ),
        ] {
            let error = broken.validate().unwrap_err();
            assert!(error.starts_with(field), "{error}");
        }
    }
}
