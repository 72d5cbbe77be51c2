use super::*;

const GOOD: &str = r#"
groups:
  - name: serving
    interval: 30s
    rules:
      - record: job:requests:rate5m
        expr: sum by (job) (rate(requests_total[5m]))
        labels:
          team: ml
      - alert: HighLatency
        expr: latency_seconds > 1
        for: 5m
        keep_firing_for: 2m
        labels:
          severity: page
          priority: 2
        annotations:
          summary: "{{ $labels.job }} is slow: {{ $value | humanize }}s"
  - name: numbers
    limit: 10
    rules:
      - alert: Always
        expr: 1
"#;

fn error_of(text: &str) -> String {
    parse_rule_file("rules.yml", text).unwrap_err().to_string()
}

#[test]
fn a_good_file_parses() {
    let groups = parse_rule_file("rules.yml", GOOD).unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].interval, Some(Duration::from_secs(30)));
    let rules = &groups[0].rules;
    assert_eq!(rules[0].kind, RuleKind::Recording);
    assert_eq!(rules[1].kind, RuleKind::Alerting);
    assert_eq!(rules[1].hold, Duration::from_secs(300));
    assert_eq!(rules[1].keep_firing_for, Duration::from_secs(120));
    assert_eq!(rules[1].labels["priority"], "2");
    assert_eq!(groups[1].limit, 10);
    assert_eq!(groups[1].rules[0].expr, "1");
}

#[test]
fn bad_promql_names_file_group_and_rule() {
    let message =
        error_of("groups:\n- name: g\n  rules:\n  - alert: Broken\n    expr: sum(rate(x[5m])\n");
    assert!(message.contains("rules.yml"), "{message}");
    assert!(message.contains("\"g\""), "{message}");
    assert!(message.contains("\"Broken\""), "{message}");
    assert!(message.contains("not valid PromQL"), "{message}");
}

#[test]
fn rule_shape_errors_say_what_to_fix() {
    let cases = [
        ("- record: a\n    alert: b\n    expr: up", "not both"),
        ("- expr: up", "needs `record`"),
        ("- alert: A", "needs an `expr`"),
        ("- record: 'bad name'\n    expr: up", "not a metric name"),
        (
            "- record: r\n    expr: up\n    for: 5m",
            "alerting rules only",
        ),
        ("- alert: A\n    expr: up\n    for: soon", "for:"),
        (
            "- alert: A\n    expr: up\n    labels:\n      'bad-label': x",
            "not a usable label name",
        ),
        (
            "- alert: A\n    expr: up\n    annotations:\n      s: '{{ range .Alerts }}'",
            "not supported",
        ),
        (
            "- alert: A\n    expr: up\n    annotations:\n      s: '{{ $labels.x'",
            "without `}}`",
        ),
    ];
    for (rules, expected) in cases {
        let text = format!("groups:\n- name: g\n  rules:\n  {rules}\n");
        let message = error_of(&text);
        assert!(message.contains(expected), "{rules:?}: {message}");
        assert!(message.contains("(#1)"), "{message}");
    }
}

#[test]
fn group_and_syntax_errors() {
    assert!(error_of("groups:\n- name: g\n- name: g\n").contains("unique"));
    assert!(error_of("groups:\n- name: g\n  interval: 0s\n").contains("positive"));
    assert!(error_of("groups:\n- name: ''\n").contains("needs a `name`"));
    assert!(error_of("groups:\n- name: g\n  rulez: []\n").contains("expected `groups:"));
    assert!(error_of("groups: [").contains("rules.yml"));
}

#[test]
fn files_and_globs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yml"), GOOD).unwrap();
    std::fs::write(dir.path().join("b.yml"), "groups: []\n").unwrap();
    std::fs::write(dir.path().join("c.txt"), "not yaml: [").unwrap();
    let pattern = dir.path().join("*.yml").display().to_string();
    assert_eq!(load_files(&[pattern]).unwrap().len(), 2);
    let none = dir.path().join("*.yaml").display().to_string();
    assert!(
        load_files(&[none])
            .unwrap_err()
            .to_string()
            .contains("no file matches")
    );
    let missing = dir.path().join("missing.yml").display().to_string();
    assert!(matches!(
        load_files(&[missing]),
        Err(LoadError::Read { .. })
    ));
    assert!(wildcard_match(b"*.y?l", b"rules.yml"));
    assert!(!wildcard_match(b"*.yml", b"rules.yaml"));
}

#[test]
fn empty_files_have_no_groups() {
    assert!(parse_rule_file("e.yml", "").unwrap().is_empty());
    assert!(parse_rule_file("e.yml", "groups:\n").unwrap().is_empty());
}
