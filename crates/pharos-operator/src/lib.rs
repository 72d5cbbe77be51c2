//! The dashboard operator (`pharos operator`): owns the path from Kubernetes custom
//! resources to Pharos. It watches `PersesDashboard` and `PersesDatasource` (`perses.dev/
//! v1alpha1`, the Perses operator's shapes, so existing manifests work) and Pharos' own
//! `Dashboard` (`pharos.dev/v1alpha1`, same shape) in every namespace, applies each to Pharos
//! as a client of its HTTP API with an API token (project = namespace, name = name), writes
//! an `Available` condition to the CR's `status`, and deletes what it applied when the CR
//! goes. It owns a small Kubernetes client (list, watch with bookmarks, 410 Gone, status
//! merge-patch), the Pharos client, the reconciler and the watch loop; it knows nothing of
//! the server's internals (decision 0028).

pub mod controller;
pub mod error;
pub mod kube;
pub mod pharos;
pub mod reconcile;

pub use controller::Timing;
pub use error::{KubeError, OperatorError, PharosError};
pub use kube::{KubeClient, ResourceType};
pub use pharos::{PharosClient, Target};
pub use reconcile::Reconciler;

use std::time::Duration;

use tokio::sync::watch;

/// The types watched by default.
pub fn default_types() -> Vec<ResourceType> {
    vec![
        ResourceType::new(
            "perses.dev",
            "v1alpha1",
            "PersesDashboard",
            "persesdashboards",
            Target::Dashboard,
        ),
        ResourceType::new(
            "perses.dev",
            "v1alpha1",
            "PersesDatasource",
            "persesdatasources",
            Target::Datasource,
        ),
        ResourceType::new(
            "pharos.dev",
            "v1alpha1",
            "Dashboard",
            "dashboards",
            Target::Dashboard,
        ),
    ]
}

/// Waits until Pharos accepts the token: `Ok(user)`; a refused token (4xx) is an error at
/// once, an unreachable server is retried until `stop`.
async fn wait_for_pharos(
    pharos: &PharosClient,
    stop: &mut watch::Receiver<bool>,
) -> Result<Option<String>, PharosError> {
    let mut wait = Duration::from_millis(200);
    loop {
        match pharos.whoami().await {
            Ok(user) => return Ok(Some(user)),
            Err(error) if !error.is_transient() => return Err(error),
            Err(error) => {
                tracing::warn!(%error, ?wait, "Pharos not reachable yet");
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return Ok(None),
                }
                wait = (wait * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Runs the operator for `types` until `stop` turns true.
pub async fn run(
    kube: KubeClient,
    pharos: PharosClient,
    types: Vec<ResourceType>,
    timing: Timing,
    mut stop: watch::Receiver<bool>,
) -> Result<(), OperatorError> {
    let Some(user) = wait_for_pharos(&pharos, &mut stop).await? else {
        return Ok(());
    };
    tracing::info!(%user, types = ?types.iter().map(ResourceType::name).collect::<Vec<_>>(), "operator started");
    let reconciler = Reconciler::new(pharos, kube.clone());
    let mut tasks = tokio::task::JoinSet::new();
    for resource in types {
        tasks.spawn(controller::run(
            kube.clone(),
            reconciler.clone(),
            resource,
            timing,
            stop.clone(),
        ));
    }
    while let Some(done) = tasks.join_next().await {
        if let Err(error) = done {
            tracing::error!(%error, "a watch loop panicked");
        }
    }
    tracing::info!("operator stopped");
    Ok(())
}
