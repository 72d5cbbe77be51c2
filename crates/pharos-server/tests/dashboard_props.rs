//! Property test of the dashboard write path, the JSON parser that faces the network
//! (issue 7 item 9): generated documents and mutations of the Perses reference dashboards
//! never cause a 5xx or a panic; each answer is 2xx, or 4xx with a message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{cell::Cell, path::PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde_json::{Map, Value, json};

/// The reference dashboards (Perses' own dev data and examples).
fn seeds() -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/perses");
    let mut seeds = Vec::new();
    for file in [
        "9-dashboard.json",
        "dashboard.json",
        "ephemeraldashboard.json",
    ] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        match serde_json::from_str::<Value>(&text).unwrap() {
            Value::Array(items) => seeds.extend(items),
            one => seeds.push(one),
        }
    }
    seeds
        .into_iter()
        .filter(|d| d["kind"] == "Dashboard")
        .collect()
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        "[a-zA-Z0-9 _.$\\-{}\"\\\\\u{0}\u{7f}é]{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("Panel"),
            Just("TimeSeriesChart"),
            Just("Grid"),
            Just("PrometheusTimeSeriesQuery"),
            Just("ListVariable"),
            Just("5m"),
            Just("-1s"),
            Just("$var"),
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(
                (
                    prop_oneof![
                        Just("kind".to_owned()),
                        Just("spec".to_owned()),
                        Just("panels".to_owned()),
                        Just("queries".to_owned()),
                        Just("variables".to_owned()),
                        Just("layouts".to_owned()),
                        Just("plugin".to_owned()),
                        Just("display".to_owned()),
                        "[a-z]{1,6}",
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// Every JSON pointer in `value`.
fn pointers(value: &Value, prefix: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, nested) in map {
                let escaped = key.replace('~', "~0").replace('/', "~1");
                pointers(nested, format!("{prefix}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (index, nested) in items.iter().enumerate() {
                pointers(nested, format!("{prefix}/{index}"), out);
            }
        }
        _ => {}
    }
    out.push(prefix);
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    Duplicate,
}

fn mutate(document: &mut Value, at: prop::sample::Index, mutation: &Mutation) {
    let mut all = Vec::new();
    pointers(document, String::new(), &mut all);
    let pointer = all[at.index(all.len())].clone();
    match mutation {
        Mutation::Replace(value) => {
            if let Some(slot) = document.pointer_mut(&pointer) {
                *slot = value.clone();
            }
        }
        Mutation::Remove | Mutation::Duplicate => {
            let Some((parent, key)) = pointer.rsplit_once('/') else {
                return;
            };
            let copy = document.pointer(&pointer).cloned();
            let key = key.replace("~1", "/").replace("~0", "~");
            match (document.pointer_mut(parent), mutation, copy) {
                (Some(Value::Object(map)), Mutation::Remove, _) => {
                    map.remove(&key);
                }
                (Some(Value::Object(map)), Mutation::Duplicate, Some(copy)) => {
                    map.insert(format!("{key}_copy"), copy);
                }
                (Some(Value::Array(items)), Mutation::Remove, _) => {
                    if let Ok(index) = key.parse::<usize>()
                        && index < items.len()
                    {
                        items.remove(index);
                    }
                }
                (Some(Value::Array(items)), Mutation::Duplicate, Some(copy)) => items.push(copy),
                _ => {}
            }
        }
    }
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        arbitrary_json().prop_map(Mutation::Replace),
        Just(Mutation::Remove),
        Just(Mutation::Duplicate),
    ]
}

fn check(answer: &common::Answer, seen: &Cell<(usize, usize)>) -> Result<(), TestCaseError> {
    let status = answer.status.as_u16();
    let (ok, refused) = seen.get();
    seen.set(if status < 300 {
        (ok + 1, refused)
    } else {
        (ok, refused + 1)
    });
    prop_assert!(status < 500, "{status}: {}", answer.text);
    if status >= 400 {
        prop_assert!(
            !answer.message().is_empty(),
            "{status} without a message: {}",
            answer.text
        );
    }
    Ok(())
}

#[test]
fn generated_and_mutated_dashboards_never_cause_a_5xx() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut settings = pharos_server::ServerSettings::default();
    // Small caps so the generator also reaches the limit checks.
    settings.api.max_panels_per_dashboard = 40;
    settings.api.max_queries_per_dashboard = 60;
    settings.api.max_variables_per_dashboard = 10;
    let app = runtime
        .block_on(common::TestApp::new(common::Backend::Sqlite, settings))
        .unwrap();
    for project in ["perses", "testing", "p"] {
        runtime.block_on(app.project(project, &[]));
    }
    let seeds = seeds();
    assert!(!seeds.is_empty());
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    let seen = Cell::new((0, 0));
    let strategy = (
        any::<prop::sample::Index>(),
        proptest::collection::vec((any::<prop::sample::Index>(), mutation()), 1..4),
        any::<u32>(),
    );
    runner
        .run(&strategy, |(seed, mutations, serial)| {
            let mut document = seeds[seed.index(seeds.len())].clone();
            for (at, mutation) in &mutations {
                mutate(&mut document, *at, mutation);
            }
            if let Some(metadata) = document.get_mut("metadata").and_then(Value::as_object_mut) {
                metadata.insert("name".to_owned(), json!(format!("d{serial}")));
            }
            let project = document["metadata"]["project"]
                .as_str()
                .unwrap_or("p")
                .to_owned();
            let project = if ["perses", "testing"].contains(&project.as_str()) {
                project
            } else {
                "p".to_owned()
            };
            for path in [
                format!("/api/v1/projects/{project}/dashboards"),
                "/api/validate/dashboards".to_owned(),
            ] {
                check(&runtime.block_on(app.post(&path, document.clone())), &seen)?;
            }
            Ok(())
        })
        .unwrap();
    let mut runner = TestRunner::new(Config {
        cases: 300,
        ..Config::default()
    });
    runner
        .run(&arbitrary_json(), |spec| {
            let document = json!({"kind": "Dashboard", "metadata": {"name": "g", "project": "p"}, "spec": spec});
            check(&runtime.block_on(app.post("/api/validate/dashboards", document)), &seen)
        })
        .unwrap();
    // Both outcomes occur, so the generator reaches past the first validation error.
    let (ok, refused) = seen.get();
    eprintln!("{ok} accepted, {refused} refused");
    assert!(ok > 30 && refused > 30, "{ok} accepted, {refused} refused");
}
