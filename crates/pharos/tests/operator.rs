//! `pharos operator` (docs/user/operator.md) as a real process between a real `pharos` server
//! and the fake Kubernetes API server of `pharos_fakes::kube_watch`: custom resources become
//! dashboards and datasources through the API (history and audit as `operator`), status
//! conditions, deletes, dashboards made by hand left alone, 410 Gone → relist, bookmarks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use pharos_fakes::kube_watch::FakeKubeWatch;
use serde_json::{Value, json};
use support::{Pharos, bearer_headers, clean_command};

const KUBE_TOKEN: &str = "operator-service-account-token";
const PERSES: &str = "perses.dev/v1alpha1";
const DASHBOARDS: &str = "persesdashboards";
const DATASOURCES: &str = "persesdatasources";
const OWNER_TAG: &str = "pharos-operator:persesdashboards.perses.dev";
const OPERATOR_PASSWORD: &str = "operator-password-1";

/// A running `pharos operator`.
struct Operator {
    child: Child,
    log: PathBuf,
}

impl Operator {
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

struct Setup {
    pharos: Pharos,
    kube: FakeKubeWatch,
    operator: Operator,
    admin: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn ok_json(response: reqwest::Response, what: &str) -> Value {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "{what}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A Pharos server with a user `operator` (a global role on projects, dashboards and
/// datasources) and its API token; the fake API server with the three types installed; the
/// operator process between them.
async fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let pharos = Pharos::spawn(dir.path(), &["--no-demo"]).await;
    let admin = pharos.client();
    for (path, body) in [
        (
            "/api/v1/users",
            json!({"kind": "User", "metadata": {"name": "operator"},
            "spec": {"nativeProvider": {"password": OPERATOR_PASSWORD}}}),
        ),
        (
            "/api/v1/globalroles",
            json!({"kind": "GlobalRole", "metadata": {"name": "dashboard-operator"},
            "spec": {"permissions": [{"actions": ["*"], "scopes": ["Project", "Dashboard", "Datasource"]}]}}),
        ),
        (
            "/api/v1/globalrolebindings",
            json!({"kind": "GlobalRoleBinding", "metadata": {"name": "dashboard-operator"},
            "spec": {"role": "dashboard-operator", "subjects": [{"kind": "User", "name": "operator"}]}}),
        ),
    ] {
        ok_json(
            admin
                .post(pharos.url(path))
                .json(&body)
                .send()
                .await
                .unwrap(),
            path,
        )
        .await;
    }
    let session = pharos.login("operator", OPERATOR_PASSWORD).await;
    let made = reqwest::Client::new()
        .post(pharos.url("/api/v1/tokens"))
        .headers(bearer_headers(&session.access_token))
        .json(&json!({"name": "operator"}))
        .send()
        .await
        .unwrap();
    let token = ok_json(made, "token").await["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let kube = FakeKubeWatch::start(KUBE_TOKEN).await.unwrap();
    kube.install(PERSES, "PersesDashboard", DASHBOARDS);
    kube.install(PERSES, "PersesDatasource", DATASOURCES);
    kube.install("pharos.dev/v1alpha1", "Dashboard", "dashboards");

    let log = dir.path().join("operator.log");
    let file = std::fs::File::create(&log).unwrap();
    let child = clean_command(env!("CARGO_BIN_EXE_pharos"))
        .env("PHAROS_OPERATOR_TOKEN", token)
        .args(["operator", "--pharos-url", &pharos.base_url()])
        .args(["--kube-url", kube.url(), "--kube-token", KUBE_TOKEN])
        .args([
            "--watch-timeout-seconds",
            "60",
            "--max-backoff-seconds",
            "1",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("operator-data"))
        .args(["--log-level", "debug"])
        .stdout(Stdio::from(file.try_clone().unwrap()))
        .stderr(Stdio::from(file))
        .spawn()
        .unwrap();
    let operator = Operator { child, log };
    let setup = Setup {
        pharos,
        kube,
        operator,
        admin,
        _dir: dir,
    };
    // Watching all three types before the test starts changing things.
    setup
        .eventually("three open watches", || async {
            (setup.kube.open_watches() >= 3).then_some(())
        })
        .await;
    setup
}

impl Setup {
    /// Polls `probe` every 50 ms for up to 30 s; panics with both logs when it never answers.
    async fn eventually<T, F, Fut>(&self, what: &str, probe: F) -> T
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(value) = probe().await {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "never: {what}\n--- operator log ---\n{}",
                self.operator.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A project resource from Pharos (as the admin), `None` on 404.
    async fn resource(&self, plural: &str, project: &str, name: &str) -> Option<Value> {
        let url = self
            .pharos
            .url(&format!("/api/v1/projects/{project}/{plural}/{name}"));
        let response = self.admin.get(url).send().await.unwrap();
        if response.status() == 404 {
            return None;
        }
        Some(ok_json(response, "get").await)
    }

    async fn dashboard(&self, project: &str, name: &str) -> Option<Value> {
        self.resource("dashboards", project, name).await
    }

    /// `(version, updatedBy)` of a dashboard's history, newest first.
    async fn history(&self, project: &str, name: &str) -> Vec<(u64, String)> {
        let url = self.pharos.url(&format!(
            "/api/v1/projects/{project}/dashboards/{name}/versions"
        ));
        let versions = ok_json(self.admin.get(url).send().await.unwrap(), "versions").await;
        versions
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["version"].as_u64().unwrap(),
                    v["updatedBy"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// The CR's `Available` condition once it reports `generation` as its `observedGeneration`.
    async fn condition(&self, plural: &str, namespace: &str, name: &str, generation: i64) -> Value {
        self.eventually(
            &format!("{namespace}/{name} reports generation {generation}"),
            || async {
                let object = self.kube.object(PERSES, plural, namespace, name)?;
                object["status"]["conditions"]
                    .as_array()?
                    .iter()
                    .find(|c| c["type"] == "Available" && c["observedGeneration"] == generation)
                    .cloned()
            },
        )
        .await
    }
}

fn perses_dashboard(namespace: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": PERSES, "kind": "PersesDashboard",
        "metadata": {"name": name, "namespace": namespace}, "spec": spec})
}

fn spec(title: &str, duration: &str) -> Value {
    json!({"display": {"name": title}, "duration": duration, "panels": {}, "layouts": []})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crs_become_dashboards_and_datasources_and_follow_their_crs() {
    let s = setup().await;
    // A dashboard made by hand, in a project made by hand.
    let by_hand =
        json!({"kind": "Dashboard", "metadata": {"name": "by-hand"}, "spec": spec("Mine", "3h")});
    ok_json(
        s.admin
            .post(s.pharos.url("/api/v1/projects"))
            .json(&json!({"kind": "Project", "metadata": {"name": "team-a"}, "spec": {}}))
            .send()
            .await
            .unwrap(),
        "project",
    )
    .await;
    ok_json(
        s.admin
            .post(s.pharos.url("/api/v1/projects/team-a/dashboards"))
            .json(&by_hand)
            .send()
            .await
            .unwrap(),
        "by hand",
    )
    .await;

    // Created: the same spec, tagged, one history entry and an audit entry by `operator`.
    let first = spec("GPU", "1h");
    s.kube
        .create(DASHBOARDS, perses_dashboard("team-a", "gpu", first.clone()));
    let applied = s.condition(DASHBOARDS, "team-a", "gpu", 1).await;
    assert_eq!(
        (applied["status"].as_str(), applied["reason"].as_str()),
        (Some("True"), Some("Applied")),
        "{applied}"
    );
    let dashboard = s.dashboard("team-a", "gpu").await.expect("applied");
    assert_eq!(dashboard["spec"], first);
    assert_eq!(dashboard["metadata"]["tags"], json!([OWNER_TAG]));
    assert_eq!(
        s.history("team-a", "gpu").await,
        [(0, "operator".to_owned())]
    );
    let audit = ok_json(
        s.admin
            .get(
                s.pharos
                    .url("/api/v1/audit/logs?user=operator&resource=dashboards&project=team-a"),
            )
            .send()
            .await
            .unwrap(),
        "audit",
    )
    .await;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "gpu" && e["action"] == "create" && e["result"] == "success"),
        "{audit}"
    );

    // Modified: updated, a second version, observedGeneration 2.
    let second = spec("GPU", "6h");
    s.kube
        .update_spec(PERSES, DASHBOARDS, "team-a", "gpu", second.clone());
    let updated = s.condition(DASHBOARDS, "team-a", "gpu", 2).await;
    assert_eq!(updated["status"], "True", "{updated}");
    assert_eq!(s.dashboard("team-a", "gpu").await.unwrap()["spec"], second);

    // Invalid: Available=False with Pharos's message; Pharos keeps the last good spec.
    s.kube
        .update_spec(PERSES, DASHBOARDS, "team-a", "gpu", spec("GPU", "soon"));
    let refused = s.condition(DASHBOARDS, "team-a", "gpu", 3).await;
    assert_eq!(
        (refused["status"].as_str(), refused["reason"].as_str()),
        (Some("False"), Some("InvalidSpec")),
        "{refused}"
    );
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("spec.duration") && message.contains("soon"),
        "{message}"
    );
    assert_eq!(s.dashboard("team-a", "gpu").await.unwrap()["spec"], second);
    s.kube.create(
        DASHBOARDS,
        perses_dashboard("team-a", "broken", spec("Broken", "soon")),
    );
    let broken = s.condition(DASHBOARDS, "team-a", "broken", 1).await;
    assert_eq!(broken["status"], "False", "{broken}");
    assert!(
        s.dashboard("team-a", "broken").await.is_none(),
        "nothing applied"
    );

    // A CR named like the hand-made dashboard: refused, the dashboard untouched.
    s.kube.create(
        DASHBOARDS,
        perses_dashboard("team-a", "by-hand", spec("Theirs", "1h")),
    );
    let conflict = s.condition(DASHBOARDS, "team-a", "by-hand", 1).await;
    assert_eq!(
        (conflict["status"].as_str(), conflict["reason"].as_str()),
        (Some("False"), Some("NotOwned")),
        "{conflict}"
    );
    // Events of one type are handled in order, so by now every status write of `gpu` has
    // come back as an event too: none of them wrote a version.
    assert_eq!(
        s.history("team-a", "gpu").await,
        [(1, "operator".to_owned()), (0, "operator".to_owned())],
        "only real changes are versions"
    );

    // The sample manifest of deploy/examples/ applies as it is.
    let sample_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/examples/gpu-overview.persesdashboard.yaml"
    );
    let sample: Value =
        serde_saphyr::from_str(&std::fs::read_to_string(sample_path).unwrap()).unwrap();
    s.kube.create(DASHBOARDS, sample.clone());
    let condition = s.condition(DASHBOARDS, "team-a", "gpu-overview", 1).await;
    assert_eq!(condition["status"], "True", "{condition}");
    assert_eq!(
        s.dashboard("team-a", "gpu-overview").await.unwrap()["spec"],
        sample["spec"]
    );

    // A datasource CR (the Perses operator's `spec.config` shape) in a new project.
    let config = json!({"default": true, "plugin": {"kind": "PrometheusDatasource",
        "spec": {"proxy": {"kind": "HTTPProxy", "spec": {"url": "http://prometheus.monitoring:9090"}}}}});
    s.kube.create(
        DATASOURCES,
        json!({"apiVersion": PERSES, "kind": "PersesDatasource",
        "metadata": {"name": "prometheus", "namespace": "team-b"}, "spec": {"config": config}}),
    );
    let datasource = s.condition(DATASOURCES, "team-b", "prometheus", 1).await;
    assert_eq!(datasource["status"], "True", "{datasource}");
    let applied = s
        .resource("datasources", "team-b", "prometheus")
        .await
        .expect("datasource");
    assert_eq!(applied["spec"], config);
    assert_eq!(
        applied["metadata"]["tags"],
        json!(["pharos-operator:persesdatasources.perses.dev"])
    );

    // Deleted CRs: the operator's dashboard goes, the hand-made one stays.
    s.kube.delete(PERSES, DASHBOARDS, "team-a", "gpu");
    s.kube.delete(PERSES, DASHBOARDS, "team-a", "by-hand");
    s.eventually("gpu deleted", || async {
        s.dashboard("team-a", "gpu").await.is_none().then_some(())
    })
    .await;
    let kept = s
        .dashboard("team-a", "by-hand")
        .await
        .expect("the hand-made dashboard stays");
    assert_eq!(kept["spec"], by_hand["spec"]);
    assert!(kept["metadata"].get("tags").is_none(), "{kept}");
    s.kube.delete(PERSES, DATASOURCES, "team-b", "prometheus");
    s.eventually("datasource deleted", || async {
        s.resource("datasources", "team-b", "prometheus")
            .await
            .is_none()
            .then_some(())
    })
    .await;
}

/// Watch requests for persesdashboards recorded so far.
fn dashboard_watches(kube: &FakeKubeWatch) -> Vec<pharos_fakes::kube_watch::Recorded> {
    kube.requests()
        .into_iter()
        .filter(|r| r.is_watch() && r.path == format!("/apis/{PERSES}/{DASHBOARDS}"))
        .collect()
}

fn dashboard_lists(kube: &FakeKubeWatch) -> usize {
    kube.requests()
        .iter()
        .filter(|r| {
            !r.is_watch() && r.method == "GET" && r.path == format!("/apis/{PERSES}/{DASHBOARDS}")
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_bookmarks_and_relists_after_gone() {
    let s = setup().await;
    for name in ["a", "b"] {
        s.kube.create(
            DASHBOARDS,
            perses_dashboard("team-x", name, spec(name, "1h")),
        );
        s.condition(DASHBOARDS, "team-x", name, 1).await;
    }
    let lists = dashboard_lists(&s.kube);
    assert_eq!(lists, 1, "one list at start");

    // A bookmark carries a resourceVersion no dashboard event had (another type moved it on);
    // the next watch starts there, without a relist.
    s.kube.install("example.com/v1", "Widget", "widgets");
    s.kube.create("widgets", json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "team-x"}}));
    let bookmarked = s.kube.resource_version();
    let before = dashboard_watches(&s.kube).len();
    s.kube.bookmark();
    s.kube.close_watches();
    let next = s
        .eventually("a new dashboards watch", || async {
            dashboard_watches(&s.kube).get(before).cloned()
        })
        .await;
    assert_eq!(
        next.query.get("resourceVersion"),
        Some(&bookmarked.to_string()),
        "{:?}",
        next.query
    );
    assert_eq!(
        next.query.get("allowWatchBookmarks").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        dashboard_lists(&s.kube),
        lists,
        "a bookmark needs no relist"
    );

    // The watch is down while `a` changes, `b` is deleted and `c` is created; then the history
    // is compacted: the operator's watch gets 410 Gone, relists, and catches up.
    s.kube.refuse_watches(Some(503));
    let before = dashboard_watches(&s.kube).len();
    s.kube.close_watches();
    s.eventually("a refused watch", || async {
        (dashboard_watches(&s.kube).len() > before).then_some(())
    })
    .await;
    let changed = spec("a", "12h");
    s.kube
        .update_spec(PERSES, DASHBOARDS, "team-x", "a", changed.clone());
    s.kube.delete(PERSES, DASHBOARDS, "team-x", "b");
    s.kube
        .create(DASHBOARDS, perses_dashboard("team-x", "c", spec("c", "1h")));
    s.kube.compact();
    s.kube.refuse_watches(None);
    s.eventually("a updated", || async {
        (s.dashboard("team-x", "a").await?["spec"] == changed).then_some(())
    })
    .await;
    s.eventually("b deleted", || async {
        s.dashboard("team-x", "b").await.is_none().then_some(())
    })
    .await;
    s.eventually("c created", || async { s.dashboard("team-x", "c").await })
        .await;
    assert_eq!(
        s.condition(DASHBOARDS, "team-x", "a", 2).await["status"],
        "True"
    );
    assert_eq!(dashboard_lists(&s.kube), lists + 1, "410 Gone → one relist");

    // The same with a plain HTTP 410 on the watch request.
    s.kube.gone_as_http(true);
    s.kube.refuse_watches(Some(503));
    let before = dashboard_watches(&s.kube).len();
    s.kube.close_watches();
    s.eventually("a refused watch", || async {
        (dashboard_watches(&s.kube).len() > before).then_some(())
    })
    .await;
    s.kube.delete(PERSES, DASHBOARDS, "team-x", "c");
    s.kube.compact();
    s.kube.refuse_watches(None);
    s.eventually("c deleted", || async {
        s.dashboard("team-x", "c").await.is_none().then_some(())
    })
    .await;
    assert_eq!(dashboard_lists(&s.kube), lists + 2);
    assert!(
        s.dashboard("team-x", "a").await.is_some(),
        "a still has its CR"
    );

    // SIGTERM: a clean, prompt exit.
    let mut operator = s.operator;
    let started = Instant::now();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &operator.child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = operator.child.wait().unwrap();
    assert!(status.success(), "{status}: {}", operator.log_text());
    assert!(started.elapsed() < Duration::from_secs(10));
}
