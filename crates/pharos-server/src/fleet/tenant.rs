//! Who asks a federated question, and what they may see. A fleet operator (read on the global
//! `Cluster` scope) asks unrestricted. A project member asks "as project P" (`project` in the
//! request, or the `/api/v1/projects/{project}/fleet/prometheus` datasource path): read on P's
//! datasources is enough, and P's tenant restriction (`spec.namespaces`) is written into the
//! query — and into every `match[]` of a listing — before the fan-out, with the same enforcer
//! and the same refusals as the datasource proxy. So every cluster answers only that tenant's
//! series, and nothing the fan-out merges can come from another tenant.

use pharos_auth::rbac::{Action, Scope};
use pharos_enforce::TenantPolicy;
use pharos_fleet::{Access, FleetAction};

use super::CallerAccess;
use crate::{error::ApiError, identity::Caller, state::AppState};

/// Every series (the selector a tenant's listing is limited to when it names none).
const ANY_SERIES: &str = "{__name__=~\".+\"}";

/// Who asks.
pub(crate) enum Asker<'a> {
    /// Read on the global `Cluster` scope: unrestricted.
    Operator(CallerAccess<'a>),
    /// A member of a project, restricted to its namespaces (`None`: the project has none).
    Member(Option<TenantPolicy>),
}

impl Access for Asker<'_> {
    fn check(&self, action: FleetAction) -> Result<(), String> {
        match (self, action) {
            (Self::Operator(caller), action) => caller.check(action),
            (Self::Member(_), FleetAction::Read) => Ok(()),
            (Self::Member(_), _) => Err(
                "asking as a project member allows federated reads only: changing the registry needs the global Cluster permission"
                    .to_owned(),
            ),
        }
    }
}

fn refused(why: impl std::fmt::Display) -> ApiError {
    metrics::counter!("pharos_fleet_refused_queries_total").increment(1);
    ApiError::bad_request(format!("query refused by tenant enforcement: {why}"))
}

impl<'a> Asker<'a> {
    /// The asker of a request, after its permission check.
    pub(crate) async fn of(
        state: &AppState,
        caller: &'a Caller,
        project: Option<&str>,
    ) -> Result<Asker<'a>, ApiError> {
        let Some(project) = project else {
            caller.require(Action::Read, None, Scope::Cluster)?;
            return Ok(Self::Operator(CallerAccess(caller)));
        };
        caller.require(Action::Read, Some(project), Scope::Datasource)?;
        let policy = crate::proxy::target::project_policy(state, project).await?;
        Ok(Self::Member(policy))
    }

    /// The query every cluster is asked.
    pub(crate) fn query(&self, state: &AppState, query: &str) -> Result<String, ApiError> {
        match self {
            Self::Member(Some(policy)) => state
                .enforcer
                .enforce_query(policy, query)
                .map(|q| q.to_string())
                .map_err(refused),
            _ => Ok(query.to_owned()),
        }
    }

    /// The `match[]` parameters of a listing, restricted to the tenant (one that names none
    /// gets one matching all of the tenant's series).
    pub(super) fn list_params(
        &self,
        state: &AppState,
        mut params: Vec<(String, String)>,
    ) -> Result<Vec<(String, String)>, ApiError> {
        let Self::Member(Some(policy)) = self else {
            return Ok(params);
        };
        if !params.iter().any(|(key, _)| key == "match[]") {
            params.push(("match[]".to_owned(), ANY_SERIES.to_owned()));
        }
        for (key, value) in &mut params {
            if key == "match[]" {
                *value = state
                    .enforcer
                    .enforce_selector(policy, value)
                    .map_err(refused)?
                    .to_string();
            }
        }
        Ok(params)
    }
}
