//! The resource envelope (`kind`, `metadata`, `spec`) and its decoding from client JSON.

use chrono::{DateTime, Utc};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::check::{Checker, Fields, Need, element};
use crate::errors::ValidationErrors;
use crate::kind::Kind;
use crate::name::validate_name;
use crate::spec::validate_spec;
use crate::timestamp::{self, parse_timestamp};

/// Most tags one resource may carry.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const MAX_TAG_LENGTH: usize = 50;

/// Fields of the envelope; anything else is rejected so nothing a client sends is lost.
const ENVELOPE_FIELDS: [&str; 3] = ["kind", "metadata", "spec"];
/// Metadata fields of global kinds; project-scoped kinds also allow `project`.
const METADATA_FIELDS: [&str; 5] = ["name", "createdAt", "updatedAt", "version", "tags"];

/// A Perses resource. `spec` is kept verbatim (key order included) once validated.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Resource {
    /// The kind, always in canonical spelling.
    pub kind: Kind,
    /// Name, project and server-managed fields.
    pub metadata: Metadata,
    /// The kind-specific body.
    #[serde(default = "empty_object")]
    pub spec: Value,
}

/// Resource metadata with the Perses JSON field names.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// The identifier inside its scope (see [`validate_name`]).
    pub name: String,
    /// Creation time; owned by the server.
    #[serde(
        default,
        with = "timestamp::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<DateTime<Utc>>,
    /// Last update time; owned by the server.
    #[serde(
        default,
        with = "timestamp::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<DateTime<Utc>>,
    /// Incremented on every update; owned by the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<u64>,
    /// Free-form labels (at most 20, each at most 50 characters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The owning project; only for project-scoped kinds. `None` when the client left it
    /// out (or sent `""`), in which case the server takes it from the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl Metadata {
    /// Metadata with only a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Self::default()
        }
    }
}

impl Resource {
    /// Assembles a resource without validating it (see [`decode_resource`] for client input).
    pub fn new(kind: Kind, metadata: Metadata, spec: Value) -> Self {
        Self {
            kind,
            metadata,
            spec,
        }
    }

    /// The same resource with `spec: {}`, as list endpoints return for `metadata_only=true`.
    pub fn metadata_only(&self) -> Resource {
        Resource {
            kind: self.kind,
            metadata: self.metadata.clone(),
            spec: empty_object(),
        }
    }

    /// The resource as JSON (what the API returns).
    pub fn to_value(&self) -> Value {
        // Serializing plain strings, numbers and maps into a Value cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut envelope = serializer.serialize_struct("Resource", 3)?;
        envelope.serialize_field("kind", &self.kind)?;
        if self.kind.is_project_scoped() || self.metadata.project.is_none() {
            envelope.serialize_field("metadata", &self.metadata)?;
        } else {
            // Global kinds never show a project, even if one was set by mistake.
            let global = Metadata {
                project: None,
                ..self.metadata.clone()
            };
            envelope.serialize_field("metadata", &global)?;
        }
        envelope.serialize_field("spec", &self.spec)?;
        envelope.end()
    }
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// Decodes and validates a resource sent by a client for the endpoint of `expected`.
///
/// Checks the envelope (kind, metadata, unknown fields), then the kind's spec, and returns
/// every problem found. On success the kind is canonical and the spec is kept verbatim.
pub fn decode_resource(expected: Kind, body: &Value) -> Result<Resource, ValidationErrors> {
    let mut checker = Checker::new();
    let Value::Object(map) = body else {
        checker.report(
            "",
            "the request body must be a JSON object with kind, metadata and spec",
        );
        return Err(checker.into_errors());
    };
    let envelope = Fields {
        map,
        path: String::new(),
    };
    envelope.reject_unknown(&mut checker, &ENVELOPE_FIELDS);
    check_kind(&mut checker, expected, &envelope);
    let metadata = envelope
        .object(&mut checker, "metadata", Need::Required)
        .map(|fields| decode_metadata(&mut checker, expected, &fields))
        .unwrap_or_default();
    let spec = match envelope.get("spec") {
        None => empty_object(),
        Some(spec @ Value::Object(_)) => spec.clone(),
        Some(other) => {
            checker.wrong_type("spec", "an object", other);
            empty_object()
        }
    };
    if let Value::Object(spec_map) = &spec {
        let fields = Fields {
            map: spec_map,
            path: "spec".to_string(),
        };
        validate_spec(&mut checker, expected, &fields);
    }
    if checker.has_errors() {
        return Err(checker.into_errors());
    }
    Ok(Resource {
        kind: expected,
        metadata,
        spec,
    })
}

fn check_kind(checker: &mut Checker, expected: Kind, envelope: &Fields<'_>) {
    let Some(text) = envelope.string(checker, "kind", Need::Required) else {
        return;
    };
    match Kind::parse(text) {
        Some(kind) if kind == expected => {}
        Some(kind) => checker.report(
            "kind",
            format!("kind {kind} does not match this endpoint, which expects {expected}"),
        ),
        None => checker.report(
            "kind",
            format!("unknown kind {text:?}; this endpoint expects {expected}"),
        ),
    }
}

fn decode_metadata(checker: &mut Checker, kind: Kind, fields: &Fields<'_>) -> Metadata {
    for key in fields.map.keys() {
        if METADATA_FIELDS.contains(&key.as_str()) {
            continue;
        }
        if key == "project" {
            if !kind.is_project_scoped() {
                checker.report(
                    fields.path_of(key),
                    format!("{kind} is a global resource and cannot belong to a project; remove metadata.project"),
                );
            }
            continue;
        }
        let allowed = if kind.is_project_scoped() {
            "name, project, createdAt, updatedAt, version, tags"
        } else {
            "name, createdAt, updatedAt, version, tags"
        };
        checker.report(
            fields.path_of(key),
            format!("unknown field {key:?} (allowed: {allowed})"),
        );
    }

    let name = fields
        .string(checker, "name", Need::Required)
        .unwrap_or_default();
    if fields.get("name").is_some_and(Value::is_string)
        && let Err(message) = validate_name(name)
    {
        checker.report(fields.path_of("name"), message);
    }
    let project = if kind.is_project_scoped() {
        decode_project(checker, fields)
    } else {
        None
    };
    Metadata {
        name: name.to_string(),
        project,
        created_at: decode_timestamp(checker, fields, "createdAt"),
        updated_at: decode_timestamp(checker, fields, "updatedAt"),
        version: fields.non_negative_integer(checker, "version", Need::Optional),
        tags: decode_tags(checker, fields),
    }
}

fn decode_project(checker: &mut Checker, fields: &Fields<'_>) -> Option<String> {
    let project = fields.string(checker, "project", Need::Optional)?;
    // An empty project means "take it from the URL", as the Go server does.
    if project.is_empty() {
        return None;
    }
    if let Err(message) = validate_name(project) {
        checker.report(fields.path_of("project"), message);
    }
    Some(project.to_string())
}

fn decode_timestamp(
    checker: &mut Checker,
    fields: &Fields<'_>,
    key: &str,
) -> Option<DateTime<Utc>> {
    let text = fields.string(checker, key, Need::Optional)?;
    match parse_timestamp(text) {
        Ok(timestamp) => Some(timestamp),
        Err(message) => {
            checker.report(fields.path_of(key), message);
            None
        }
    }
}

fn decode_tags(checker: &mut Checker, fields: &Fields<'_>) -> Vec<String> {
    let Some(tags) = fields.string_list(checker, "tags") else {
        return Vec::new();
    };
    let path = fields.path_of("tags");
    if tags.len() > MAX_TAGS {
        checker.report(
            &path,
            format!("cannot have more than {MAX_TAGS} tags (got {})", tags.len()),
        );
    }
    for (index, tag) in tags.iter().enumerate() {
        let problem = if tag.is_empty() {
            Some("tag cannot be empty".to_string())
        } else if tag.chars().count() > MAX_TAG_LENGTH {
            Some(format!(
                "tag cannot be longer than {MAX_TAG_LENGTH} characters"
            ))
        } else if tag.trim() != *tag {
            Some(format!("tag {tag:?} cannot start or end with whitespace"))
        } else {
            None
        };
        if let Some(message) = problem {
            checker.report(element(&path, index), message);
        }
    }
    tags.into_iter().map(str::to_string).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serializes_metadata_with_perses_field_names() {
        let resource = decode_resource(
            Kind::Project,
            &json!({"kind": "project", "metadata": {"name": "demo", "createdAt": "2025-02-11T14:26:42.808358355Z", "version": 2, "tags": ["a"]}, "spec": {}}),
        )
        .unwrap();
        assert_eq!(
            resource.to_value(),
            json!({"kind": "Project", "metadata": {"name": "demo", "createdAt": "2025-02-11T14:26:42.808358355Z", "version": 2, "tags": ["a"]}, "spec": {}})
        );
    }

    #[test]
    fn omits_empty_tags_and_project_of_global_kinds() {
        let mut metadata = Metadata::new("prom");
        metadata.project = Some("stray".into());
        let global = Resource::new(Kind::GlobalDatasource, metadata.clone(), json!({}));
        assert_eq!(global.to_value()["metadata"], json!({"name": "prom"}));
        let scoped = Resource::new(Kind::Datasource, metadata, json!({}));
        assert_eq!(
            scoped.to_value()["metadata"],
            json!({"name": "prom", "project": "stray"})
        );
    }

    #[test]
    fn metadata_only_empties_the_spec() {
        let resource = Resource::new(Kind::Dashboard, Metadata::new("d"), json!({"a": 1}));
        assert_eq!(resource.metadata_only().spec, json!({}));
        assert_eq!(resource.metadata_only().metadata, resource.metadata);
    }

    #[test]
    fn deserializes_stored_json_back_into_the_same_resource() {
        let stored = json!({"kind": "Dashboard", "metadata": {"name": "d", "project": "p", "updatedAt": "2026-03-18T00:00:00Z", "version": 1}, "spec": {"panels": {}}});
        let resource: Resource = serde_json::from_value(stored.clone()).unwrap();
        assert_eq!(resource.to_value(), stored);
    }
}
