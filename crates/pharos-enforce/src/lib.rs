//! Tenant label enforcement for PromQL: rewrites every selector of a parsed query so it
//! carries the tenant matcher, with prom-label-proxy semantics for conflicting matchers.
//! The same policy is applied to the other query languages the proxy forwards: LogQL stream
//! selectors ([`enforce_logql`]), TraceQL spanset filters ([`enforce_traceql`]) and
//! Alertmanager filters ([`tenant_filter`], [`enforce_client_filter`]).
//!
//! Used by the datasource proxy: a project that owns the values `team-a`, `team-b` of label
//! `namespace` gets `namespace=~"team-a|team-b"` added to every selector at any depth, so it can
//! never read another namespace's series. Queries that cannot be enforced safely are refused
//! with an [`EnforceError`] that tells the user what to change.
//!
//! ```
//! use pharos_enforce::{ConflictMode, Enforcer, TenantPolicy};
//!
//! let policy = TenantPolicy::new("namespace", vec!["team-a".into()], ConflictMode::Replace)?;
//! let enforcer = Enforcer::new(1_000);
//! let query = enforcer.enforce_query(&policy, r#"rate(http_requests_total{job="api"}[5m])"#)?;
//! assert_eq!(
//!     &*query,
//!     r#"rate(http_requests_total{job="api",namespace="team-a"}[5m])"#
//! );
//! # Ok::<(), pharos_enforce::EnforceError>(())
//! ```

#![warn(missing_docs)]

mod alertmanager;
mod enforcer;
mod error;
mod logql;
mod policy;
mod rewrite;
mod selector;
mod text;
mod traceql;
mod walk;

pub use alertmanager::{FilterError, enforce_client_filter, tenant_filter};
pub use logql::{LogqlError, enforce_logql};
pub use traceql::{TraceqlError, enforce_traceql, tenant_condition, validate_trace_attribute};

pub use enforcer::Enforcer;
pub use error::EnforceError;
pub use pharos_promql_syntax::SyntaxLimits;
pub use policy::{ConflictMode, TenantPolicy};
