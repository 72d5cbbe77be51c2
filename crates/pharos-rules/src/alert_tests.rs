use std::time::Duration;

use super::*;
use crate::file::parse_rule_file;

fn rule(extra: &str) -> Rule {
    let text = format!(
        "groups:\n- name: g\n  rules:\n  - alert: High\n    expr: x > 1\n{extra}    labels:\n      severity: page\n      instance: '{{{{ $labels.instance }}}}-x'\n    annotations:\n      summary: 'value {{{{ $value }}}}'\n"
    );
    parse_rule_file("t.yml", &text)
        .unwrap()
        .remove(0)
        .rules
        .remove(0)
}

fn series(instance: &str, value: f64) -> (LabelMap, f64) {
    let labels = LabelMap::from([
        ("__name__".to_owned(), "x".to_owned()),
        ("instance".to_owned(), instance.to_owned()),
    ]);
    (labels, value)
}

fn step(now_ms: i64, external: &LabelMap) -> Step<'_> {
    Step {
        now_ms,
        external_labels: external,
        limit: 0,
        validity: Duration::from_secs(240),
    }
}

fn states(set: &AlertSet) -> Vec<AlertState> {
    set.alerts().map(|a| a.state).collect()
}

const MIN: i64 = 60_000;

#[test]
fn pending_then_firing_after_for_then_resolved_and_forgotten() {
    let rule = rule("    for: 2m\n");
    let none = LabelMap::new();
    let mut set = AlertSet::default();
    set.update(&rule, vec![series("a", 5.0)], &step(0, &none))
        .unwrap();
    assert_eq!(states(&set), [AlertState::Pending]);
    let alert = set.alerts().next().unwrap();
    assert_eq!(alert.labels["alertname"], "High");
    assert_eq!(alert.labels["instance"], "a-x");
    assert!(!alert.labels.contains_key("__name__"));
    assert_eq!(alert.annotations["summary"], "value 5");
    set.update(&rule, vec![series("a", 6.0)], &step(MIN, &none))
        .unwrap();
    assert_eq!(states(&set), [AlertState::Pending]);
    set.update(&rule, vec![series("a", 7.0)], &step(2 * MIN, &none))
        .unwrap();
    assert_eq!(states(&set), [AlertState::Firing]);
    let alert = set.alerts().next().unwrap();
    assert_eq!((alert.fired_at_ms, alert.active_at_ms), (Some(2 * MIN), 0));
    assert_eq!(alert.annotations["summary"], "value 7");
    assert_eq!(alert.valid_until_ms, 2 * MIN + 240_000);
    set.update(&rule, vec![], &step(3 * MIN, &none)).unwrap();
    assert_eq!(states(&set), [AlertState::Inactive]);
    assert_eq!(set.alerts().next().unwrap().resolved_at_ms, Some(3 * MIN));
    set.update(&rule, vec![], &step(18 * MIN, &none)).unwrap();
    assert_eq!(states(&set).len(), 1, "kept 15 minutes");
    set.update(&rule, vec![], &step(18 * MIN + 1, &none))
        .unwrap();
    assert!(states(&set).is_empty());
}

#[test]
fn a_pending_alert_that_clears_is_dropped_and_starts_over() {
    let rule = rule("    for: 2m\n");
    let none = LabelMap::new();
    let mut set = AlertSet::default();
    set.update(&rule, vec![series("a", 5.0)], &step(0, &none))
        .unwrap();
    set.update(&rule, vec![], &step(MIN, &none)).unwrap();
    assert!(states(&set).is_empty());
    set.update(&rule, vec![series("a", 5.0)], &step(2 * MIN, &none))
        .unwrap();
    assert_eq!(set.alerts().next().unwrap().active_at_ms, 2 * MIN);
    assert_eq!(states(&set), [AlertState::Pending]);
}

#[test]
fn without_for_it_fires_at_once() {
    let rule = rule("");
    let none = LabelMap::new();
    let mut set = AlertSet::default();
    set.update(
        &rule,
        vec![series("a", 5.0), series("b", 2.0)],
        &step(0, &none),
    )
    .unwrap();
    assert_eq!(states(&set), [AlertState::Firing, AlertState::Firing]);
}

#[test]
fn keep_firing_for_holds_a_cleared_alert() {
    let rule = rule("    keep_firing_for: 2m\n");
    let none = LabelMap::new();
    let mut set = AlertSet::default();
    set.update(&rule, vec![series("a", 5.0)], &step(0, &none))
        .unwrap();
    assert_eq!(states(&set), [AlertState::Firing]);
    set.update(&rule, vec![], &step(MIN, &none)).unwrap();
    assert_eq!(states(&set), [AlertState::Firing]);
    assert_eq!(set.alerts().next().unwrap().keep_firing_since_ms, Some(MIN));
    // Back within the window: the count starts again.
    set.update(&rule, vec![series("a", 5.0)], &step(2 * MIN, &none))
        .unwrap();
    assert_eq!(set.alerts().next().unwrap().keep_firing_since_ms, None);
    set.update(&rule, vec![], &step(3 * MIN, &none)).unwrap();
    set.update(&rule, vec![], &step(4 * MIN, &none)).unwrap();
    assert_eq!(states(&set), [AlertState::Firing]);
    set.update(&rule, vec![], &step(5 * MIN, &none)).unwrap();
    assert_eq!(states(&set), [AlertState::Inactive]);
}

#[test]
fn duplicates_and_limits_are_errors_that_clear_the_alerts() {
    let rule = rule("");
    let none = LabelMap::new();
    let mut set = AlertSet::default();
    let mut other = series("a", 1.0);
    other.0.insert("__name__".to_owned(), "y".to_owned());
    let error = set.update(&rule, vec![series("a", 5.0), other], &step(0, &none));
    assert!(error.unwrap_err().contains("same labelset"));
    assert!(states(&set).is_empty());
    let mut limited = step(0, &none);
    limited.limit = 1;
    let error = set.update(&rule, vec![series("a", 5.0), series("b", 5.0)], &limited);
    assert!(error.unwrap_err().contains("exceeded limit of 1"));
}

#[test]
fn resend_policy() {
    let rule = rule("    for: 1m\n");
    let none = LabelMap::new();
    let resend = Duration::from_secs(60);
    let mut set = AlertSet::default();
    set.update(&rule, vec![series("a", 5.0)], &step(0, &none))
        .unwrap();
    let pending = set.alerts().next().unwrap();
    assert!(
        !pending.needs_sending(0, resend),
        "pending alerts are not sent"
    );
    set.update(&rule, vec![series("a", 5.0)], &step(MIN, &none))
        .unwrap();
    let alert = set.alerts_mut().next().unwrap();
    assert!(
        alert.needs_sending(MIN, resend),
        "sent when it starts firing"
    );
    alert.last_sent_ms = Some(MIN);
    assert!(
        !alert.needs_sending(MIN + 30_000, resend),
        "not again before resend_delay"
    );
    assert!(
        alert.needs_sending(2 * MIN, resend),
        "again after resend_delay"
    );
    alert.last_sent_ms = Some(2 * MIN);
    set.update(&rule, vec![], &step(2 * MIN + 15_000, &none))
        .unwrap();
    let alert = set.alerts_mut().next().unwrap();
    assert!(
        alert.needs_sending(2 * MIN + 15_000, resend),
        "the resolution is sent at once"
    );
    alert.last_sent_ms = Some(2 * MIN + 15_000);
    assert!(!alert.needs_sending(10 * MIN, resend), "and only once");
}
