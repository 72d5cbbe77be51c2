//! The OpenAPI description of every route, generated from the same kind table the router
//! uses (so the two cannot drift), served at `/api/docs/openapi.json` with Swagger UI at
//! `/api/docs`.

use pharos_model::Kind;
use serde_json::{Map, Value, json};

use crate::resources::API_KINDS;

mod extensions;

/// The OpenAPI 3.1 document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for kind in API_KINDS {
        add_kind_paths(&mut paths, kind);
    }
    add_history_paths(&mut paths);
    add_proxy_paths(&mut paths);
    add_system_paths(&mut paths);
    add_prometheus_paths(&mut paths);
    extensions::add_extension_paths(&mut paths);
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Pharos API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Perses-compatible resource API, datasource proxy with tenant enforcement, \
                            and Pharos extensions (optimistic concurrency, version history, trash, identity, \
                            share links, live streams, templates, the fleet)."
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}},
                "Resource": {
                    "type": "object",
                    "required": ["kind", "metadata", "spec"],
                    "properties": {
                        "kind": {"type": "string"},
                        "metadata": {"type": "object", "properties": {
                            "name": {"type": "string", "pattern": "^[a-zA-Z0-9_.-]+$", "maxLength": 75},
                            "project": {"type": "string"},
                            "createdAt": {"type": "string", "format": "date-time"},
                            "updatedAt": {"type": "string", "format": "date-time"},
                            "version": {"type": "integer", "minimum": 0},
                            "tags": {"type": "array", "items": {"type": "string"}}
                        }},
                        "spec": {"type": "object"}
                    }
                }
            }
        }
    })
}

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn resource(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Resource"}}}})
}

fn op(summary: String, tag: &str, params: &[&str], responses: Value, body: bool) -> Value {
    let mut op = json!({
        "summary": summary,
        "tags": [tag],
        "parameters": params.iter().map(|p| json!({"name": p, "in": "path", "required": true, "schema": {"type": "string"}})).collect::<Vec<_>>(),
        "responses": responses,
    });
    if body {
        op["requestBody"] = json!({"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Resource"}}}});
    }
    op
}

fn list_params(kind: Kind) -> Vec<Value> {
    let mut params = vec![
        json!({"name": "name", "in": "query", "description": "name prefix", "schema": {"type": "string"}}),
    ];
    if kind.is_project_scoped() {
        params.push(json!({"name": "project", "in": "query", "schema": {"type": "string"}}));
    }
    if kind.supports_metadata_only() {
        params.push(json!({"name": "metadata_only", "in": "query", "schema": {"type": "boolean"}}));
    }
    if matches!(kind, Kind::Datasource | Kind::GlobalDatasource) {
        params.push(json!({"name": "kind", "in": "query", "description": "plugin kind", "schema": {"type": "string"}}));
        params.push(json!({"name": "default", "in": "query", "schema": {"type": "boolean"}}));
    }
    params
}

fn add_kind_paths(paths: &mut Map<String, Value>, kind: Kind) {
    let name = kind.as_str();
    let plural = kind.plural();
    let tag = plural;
    let write_errors = |ok: &str| {
        json!({
            "200": resource(ok),
            "400": error("invalid resource; `errors` lists each problem with its JSON path"),
            "409": error("already exists, or metadata.version is older than the stored one"),
            "412": error("If-Match does not match the current ETag"),
            "413": error("body larger than api.max_body_bytes"),
            "415": error("Content-Type is not application/json"),
        })
    };
    let mut list = op(
        format!("List {name} resources"),
        tag,
        &[],
        json!({"200": {"description": "JSON array of resources"}, "400": error("bad parameters or unknown project")}),
        false,
    );
    list["parameters"] = Value::from(list_params(kind));
    let create = op(
        format!("Create a {name}"),
        tag,
        &[],
        write_errors("created"),
        true,
    );
    let mut collection = json!({"get": list, "post": create});
    let item_params: &[&str] = if kind.is_project_scoped() {
        &["project", "name"]
    } else {
        &["name"]
    };
    let item = json!({
        "get": op(format!("Get a {name} (with ETag)"), tag, item_params, json!({"200": resource("the resource"), "404": error("not found")}), false),
        "put": op(format!("Replace a {name} (If-Match supported)"), tag, item_params, write_errors("updated"), true),
        "delete": op(format!("Delete a {name}"), tag, item_params, json!({"204": {"description": "deleted"}, "404": error("not found"), "412": error("stale If-Match")}), false),
    });
    if kind.is_project_scoped() {
        paths.insert(format!("/api/v1/{plural}"), collection.clone());
        if let Some(post) = collection.get_mut("post") {
            post["parameters"] = json!([{"name": "project", "in": "path", "required": true, "schema": {"type": "string"}}]);
        }
        paths.insert(format!("/api/v1/projects/{{project}}/{plural}"), collection);
        paths.insert(
            format!("/api/v1/projects/{{project}}/{plural}/{{name}}"),
            item,
        );
    } else {
        paths.insert(format!("/api/v1/{plural}"), collection);
        paths.insert(format!("/api/v1/{plural}/{{name}}"), item);
    }
}

fn add_history_paths(paths: &mut Map<String, Value>) {
    let tag = "dashboard history";
    let base = "/api/v1/projects/{project}/dashboards/{name}";
    paths.insert(format!("{base}/versions"), json!({"get": op("List versions of a dashboard, newest first".into(), tag, &["project", "name"], json!({"200": {"description": "[{version, updatedAt, current}]"}}), false)}));
    paths.insert(format!("{base}/versions/{{version}}"), json!({"get": op("Get one version".into(), tag, &["project", "name", "version"], json!({"200": resource("the dashboard at that version"), "404": error("no such version")}), false)}));
    paths.insert(format!("{base}/versions/{{version}}/restore"), json!({"post": op("Restore a version as a new version".into(), tag, &["project", "name", "version"], json!({"200": resource("the new current dashboard"), "412": error("stale If-Match")}), false)}));
    paths.insert("/api/v1/projects/{project}/trash/dashboards".into(), json!({"get": op("List deleted dashboards".into(), tag, &["project"], json!({"200": {"description": "resources with trash.deletedAt and trash.purgeAt"}}), false)}));
    paths.insert("/api/v1/projects/{project}/trash/dashboards/{name}".into(), json!({"delete": op("Purge a deleted dashboard".into(), tag, &["project", "name"], json!({"204": {"description": "purged"}, "404": error("not in the trash")}), false)}));
    paths.insert("/api/v1/projects/{project}/trash/dashboards/{name}/restore".into(), json!({"post": op("Restore a deleted dashboard".into(), tag, &["project", "name"], json!({"200": resource("restored"), "409": error("a dashboard with that name exists")}), false)}));
}

fn add_proxy_paths(paths: &mut Map<String, Value>) {
    let tag = "datasource proxy";
    let responses = json!({
        "200": {"description": "the upstream answer, streamed"},
        "400": error("query refused by tenant enforcement"),
        "403": error("endpoint not allowed"),
        "404": error("datasource not found"),
        "502": error("upstream unreachable"),
        "504": error("upstream timeout"),
    });
    for (path, params) in [
        (
            "/proxy/globaldatasources/{name}/{path}",
            vec!["name", "path"],
        ),
        (
            "/proxy/projects/{project}/globaldatasources/{name}/{path}",
            vec!["project", "name", "path"],
        ),
        (
            "/proxy/projects/{project}/datasources/{name}/{path}",
            vec!["project", "name", "path"],
        ),
        (
            "/proxy/projects/{project}/dashboards/{dashboard}/datasources/{name}/{path}",
            vec!["project", "dashboard", "name", "path"],
        ),
    ] {
        let get = op(
            format!("Proxy to the datasource upstream ({path})"),
            tag,
            &params,
            responses.clone(),
            false,
        );
        let post = op(
            "Proxy a form-encoded POST".to_owned(),
            tag,
            &params,
            responses.clone(),
            false,
        );
        paths.insert(path.to_owned(), json!({"get": get, "post": post}));
    }
    for (path, params) in [
        ("/proxy/unsaved/globaldatasources/{path}", vec!["path"]),
        (
            "/proxy/unsaved/projects/{project}/datasources/{path}",
            vec!["project", "path"],
        ),
        (
            "/proxy/unsaved/projects/{project}/dashboards/{dashboard}/datasources/{path}",
            vec!["project", "dashboard", "path"],
        ),
    ] {
        paths.insert(path.to_owned(), json!({"post": op("Proxy through a datasource spec sent as {method, body (base64), spec}".into(), tag, &params, responses.clone(), false)}));
    }
}

fn add_system_paths(paths: &mut Map<String, Value>) {
    let tag = "system";
    let simple = |summary: &str, method: &str| json!({ method: op(summary.to_owned(), tag, &[], json!({"200": {"description": "ok"}, "503": error("database unavailable")}), false) });
    paths.insert(
        "/api/config".into(),
        simple("Server configuration as the Perses UI reads it", "get"),
    );
    paths.insert(
        "/api/v1/health".into(),
        simple("Perses health: version and database status", "get"),
    );
    paths.insert(
        "/api/v1/plugins".into(),
        simple(
            "Plugin modules (empty: plugins are built into the UI)",
            "get",
        ),
    );
    paths.insert(
        "/api/v1/view".into(),
        simple("Dashboard view beacon", "post"),
    );
    paths.insert("/api/validate/{plural}".into(), json!({"post": op("Validate a resource without storing it".into(), tag, &["plural"], json!({"200": {"description": "valid"}, "400": error("invalid")}), true)}));
    paths.insert(
        "/health".into(),
        simple("Health with per-component checks", "get"),
    );
    paths.insert("/ready".into(), simple("Readiness probe", "get"));
    paths.insert("/live".into(), simple("Liveness probe", "get"));
    paths.insert(
        "/metrics".into(),
        simple("Self-monitoring metrics, Prometheus text format", "get"),
    );
}

fn add_prometheus_paths(paths: &mut Map<String, Value>) {
    let tag = "prometheus API (embedded store)";
    let answers = json!({
        "200": {"description": "{status: success, data, warnings?}"},
        "400": {"description": "{status: error, errorType: bad_data, error}"},
        "422": {"description": "{status: error, errorType: execution, error}"},
        "503": {"description": "{status: error, errorType: timeout, error}"},
    });
    for (path, summary, post) in [
        ("/api/v1/query", "Instant query (time, timeout)", true),
        (
            "/api/v1/query_range",
            "Range query (start, end, step, timeout)",
            true,
        ),
        ("/api/v1/series", "Series matching match[]", true),
        ("/api/v1/labels", "Label names", true),
        ("/api/v1/label/{name}/values", "Values of one label", false),
        ("/api/v1/metadata", "Metric metadata", false),
        ("/api/v1/status/tsdb", "Head cardinality statistics", false),
        ("/api/v1/status/buildinfo", "Build information", false),
    ] {
        let params: &[&str] = if path.contains("{name}") {
            &["name"]
        } else {
            &[]
        };
        let mut item = json!({"get": op(summary.to_owned(), tag, params, answers.clone(), false)});
        if post {
            item["post"] = op(
                format!("{summary}, form-encoded"),
                tag,
                params,
                answers.clone(),
                false,
            );
        }
        paths.insert(path.to_owned(), item);
    }
    paths.insert(
        "/api/v1/write".to_owned(),
        json!({"post": op(
            "Remote-write 1.0 (snappy + protobuf WriteRequest); 204 once durable".to_owned(),
            tag,
            &[],
            json!({"204": {"description": "all samples stored"}, "400": {"description": "bad body, a remote_write limit exceeded, or rejected samples (the good ones are kept)"}, "413": {"description": "body longer than any that decompresses within remote_write.max_decompressed_bytes"}, "415": {"description": "wrong content type or encoding"}}),
            false,
        )}),
    );
}
