//! The rule manager over a real embedded store: recording results and `ALERTS` series land in
//! the store (and end with a stale marker), rule errors show in the rule's health, and alerts
//! are queued for Alertmanager by the resend policy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use pharos_query::{LocalMetrics, QueryOptions};
use pharos_rules::{Health, RuleManager, RulesConfig, parse_rule_file};
use pharos_tsdb::{Db, Labels, Options};

const RULES: &str = r#"
groups:
  - name: g
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
        labels: {source: rule}
      - alert: Down
        expr: up == 0
        annotations:
          summary: "{{ $labels.job }} down"
      - alert: Broken
        expr: up
        labels:
          instance: same
"#;

struct Setup {
    db: Arc<Db>,
    metrics: Arc<LocalMetrics>,
    manager: RuleManager,
    _dir: tempfile::TempDir,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
    let metrics = Arc::new(LocalMetrics::new(Arc::clone(&db), QueryOptions::default()));
    let config = RulesConfig {
        alertmanagers: vec![url::Url::parse("http://127.0.0.1:9").unwrap()],
        resend_delay: Duration::from_secs(60),
        external_labels: [("replica".to_owned(), "a".to_owned())].into(),
        ..RulesConfig::default()
    };
    let manager = RuleManager::new(
        parse_rule_file("r.yml", RULES).unwrap(),
        config,
        Arc::clone(&metrics),
    );
    Setup {
        db,
        metrics,
        manager,
        _dir: dir,
    }
}

fn up(db: &Db, t: i64, values: &[(&str, &str, f64)]) {
    let mut appender = db.appender();
    for (job, instance, v) in values {
        let labels =
            Labels::new([("__name__", "up"), ("job", job), ("instance", instance)]).unwrap();
        appender.append(&labels, t, *v).unwrap();
    }
    appender.commit().unwrap();
}

async fn count(metrics: &LocalMetrics, query: &str, t: i64) -> usize {
    let result = metrics.instant(query, t, None).await.unwrap();
    match result.value {
        pharos_promql::QueryValue::Vector(v) => v.len(),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_alerts_errors_and_sending() {
    let s = setup();
    let samples = [("api", "a", 0.0), ("api", "b", 1.0), ("db", "c", 1.0)];
    up(&s.db, 1_000, &samples);
    s.manager.evaluate_group(0, 15_000).await;

    assert_eq!(
        count(&s.metrics, r#"job:up:sum{source="rule"}"#, 15_000).await,
        2
    );
    assert_eq!(
        count(
            &s.metrics,
            r#"ALERTS{alertname="Down",alertstate="firing"}"#,
            15_000
        )
        .await,
        1
    );
    let state = s.manager.group_state(0).unwrap();
    assert_eq!(state.rules[0].health, Health::Ok);
    assert_eq!(state.rules[1].health, Health::Ok);
    assert_eq!(state.rules[2].health, Health::Err);
    assert!(
        state.rules[2]
            .last_error
            .as_deref()
            .unwrap()
            .contains("same labelset"),
        "{:?}",
        state.rules[2].last_error
    );
    assert_eq!(
        s.manager.notifier().queued(),
        1,
        "the new firing alert is queued"
    );

    // Within resend_delay: not again.
    up(&s.db, 16_000, &samples);
    s.manager.evaluate_group(0, 30_000).await;
    assert_eq!(s.manager.notifier().queued(), 1);

    // Resolved: sent once, and the ALERTS series ends at once (stale marker).
    up(
        &s.db,
        31_000,
        &[("api", "a", 1.0), ("api", "b", 1.0), ("db", "c", 1.0)],
    );
    s.manager.evaluate_group(0, 45_000).await;
    assert_eq!(s.manager.notifier().queued(), 2);
    assert_eq!(count(&s.metrics, "ALERTS", 45_000).await, 0);
    s.manager.evaluate_group(0, 60_000).await;
    assert_eq!(
        s.manager.notifier().queued(),
        2,
        "the resolution is sent once"
    );
    let alerts = s.manager.alerts_data(None);
    assert!(alerts.alerts.is_empty(), "resolved alerts are not listed");
}
