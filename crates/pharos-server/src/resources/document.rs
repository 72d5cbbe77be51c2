//! Turning stored rows into Perses documents and back: metadata assembly, ETags, name
//! normalisation and the secret-placeholder merge.

use pharos_model::{Kind, Metadata, Resource};
use pharos_store::StoredResource;
use serde_json::{Map, Value};

/// The placeholder Perses shows instead of a secret value.
pub const SECRET_PLACEHOLDER: &str = "<secret>";

/// The `ETag` of a resource at `version`.
pub fn etag_for(version: u64) -> String {
    format!("\"{version}\"")
}

/// Parses an ETag produced by [`etag_for`] (a weak `W/` prefix is tolerated).
pub fn parse_etag(text: &str) -> Option<u64> {
    let text = text.strip_prefix("W/").unwrap_or(text);
    text.strip_prefix('"')?.strip_suffix('"')?.parse().ok()
}

/// Builds the Perses document for a stored row. Secret kinds are masked; a row listed
/// without its spec gets `"spec": {}` (Perses `metadata_only`).
pub fn to_document(kind: Kind, stored: &StoredResource) -> Value {
    let spec = match &stored.spec {
        Some(spec) if kind.is_secret() => pharos_model::mask_secret_spec(spec),
        Some(spec) => spec.clone(),
        None => Value::Object(Map::new()),
    };
    let tags = stored
        .metadata_extra
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let resource = Resource {
        kind,
        metadata: Metadata {
            name: stored.key.name.clone(),
            project: stored.key.project.clone(),
            created_at: Some(stored.created_at),
            updated_at: Some(stored.updated_at),
            version: Some(stored.version),
            tags,
        },
        spec,
    };
    serde_json::to_value(&resource).unwrap_or(Value::Null)
}

/// The metadata fields we persist beside the server-managed ones.
pub fn metadata_extra(metadata: &Metadata) -> Value {
    let mut extra = Map::new();
    if !metadata.tags.is_empty() {
        extra.insert("tags".to_owned(), Value::from(metadata.tags.clone()));
    }
    Value::Object(extra)
}

/// Replaces every `"<secret>"` string in `incoming` with the value at the same place in
/// `stored`, so a client that saves back what it read does not overwrite the real secret.
pub fn keep_masked_secrets(incoming: &mut Value, stored: &Value) {
    match (incoming, stored) {
        (Value::Object(new), Value::Object(old)) => {
            for (key, value) in new.iter_mut() {
                if let Some(old_value) = old.get(key) {
                    keep_masked_secrets(value, old_value);
                }
            }
        }
        (Value::Array(new), Value::Array(old)) => {
            for (value, old_value) in new.iter_mut().zip(old) {
                keep_masked_secrets(value, old_value);
            }
        }
        (value @ Value::String(_), old) if value.as_str() == Some(SECRET_PLACEHOLDER) => {
            *value = old.clone();
        }
        _ => {}
    }
}

/// Lower-cases `metadata.name` and `metadata.project` in a request body (Perses's default,
/// case-insensitive storage).
pub fn lowercase_names(body: &mut Value) {
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in ["name", "project"] {
            if let Some(Value::String(s)) = meta.get_mut(field) {
                *s = s.to_lowercase();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn etag_round_trips_and_tolerates_weak_prefix() {
        assert_eq!(parse_etag(&etag_for(7)), Some(7));
        assert_eq!(parse_etag("W/\"12\""), Some(12));
        assert_eq!(parse_etag("12"), None);
        assert_eq!(parse_etag("\"x\""), None);
    }

    #[test]
    fn masked_values_are_replaced_by_stored_ones_only_where_masked() {
        let stored = json!({"basicAuth": {"username": "u", "password": "real"}});
        let mut incoming = json!({"basicAuth": {"username": "v", "password": "<secret>"}});
        keep_masked_secrets(&mut incoming, &stored);
        assert_eq!(
            incoming,
            json!({"basicAuth": {"username": "v", "password": "real"}})
        );

        let mut changed = json!({"basicAuth": {"username": "u", "password": "new"}});
        keep_masked_secrets(&mut changed, &stored);
        assert_eq!(changed["basicAuth"]["password"], "new");
    }

    #[test]
    fn names_are_lowercased_in_metadata_only() {
        let mut body =
            json!({"metadata": {"name": "MyDash", "project": "Team"}, "spec": {"x": "KEEP"}});
        lowercase_names(&mut body);
        assert_eq!(body["metadata"]["name"], "mydash");
        assert_eq!(body["metadata"]["project"], "team");
        assert_eq!(body["spec"]["x"], "KEEP");
    }
}
