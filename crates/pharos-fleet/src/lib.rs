//! The fleet: the registry of the clusters Pharos watches (hub, spokes, edge and far edge, each
//! with its Prometheus-compatible API, optional Alertmanager, labels and region), their
//! credentials (encrypted at rest, never answered), their health (checked in the background at
//! each type's interval, with a history of transitions and Pharos metrics), their capabilities
//! (Prometheus version, DCGM GPUs, kube-state-metrics, Alertmanager) and the in-process event
//! bus that carries `CLUSTER_*` events to subscribers.
//!
//! This crate knows no HTTP server: the server's `fleet` module maps routes onto
//! [`FleetService`] and [`FleetError`] onto status codes, and implements [`Access`] with its
//! RBAC. It does make outbound HTTP calls to the clusters ([`Connection`] is also what the
//! federated fan-out will use to reach a cluster with its credentials).
//!
//! * [`model`]: the cluster's JSON shapes and their validation;
//! * [`registry`]: persistence as the `Cluster` and `ClusterCredentials` store kinds;
//! * [`probe`]: health checks and capability discovery with bounded time and memory;
//! * [`events`]: the bus, with a seam for a cross-replica relay;
//! * [`federate`]: federated PromQL — the request, its validation and the merge; the fan-out
//!   is [`FleetService::federated_query`] and [`FleetService::federated_labels`].

mod alert_delivery;
mod alert_poll;
pub mod alerts;
pub mod credentials;
pub mod embedded;
pub mod error;
pub mod events;
mod fan_out;
pub mod federate;
pub mod gpu;
mod gpu_updates;
mod health;
pub mod model;
pub mod options;
pub mod probe;
pub mod registry;
mod service;

pub use alerts::{AlertFilter, AlertState, FleetAlert, IntakeReport};
pub use credentials::{Connection, Credentials};
pub use embedded::EmbeddedStore;
pub use error::FleetError;
pub use events::{EventBus, EventRelay, EventType, FleetEvent, Received, Subscription, Topic};
pub use federate::{
    ClusterOutcome, ClusterReport, Evaluation, FederatedAnswer, FederatedInput, FederatedQuery,
    Targets,
};
pub use gpu::{GpuFleet, GpuNode};
pub use health::StatusReport;
pub use model::{
    Capabilities, ClusterInput, ClusterSpec, ClusterStatus, ClusterType, ClusterView, HealthState,
};
pub use options::{CheckTiming, FleetOptions, ListFilter};
pub use service::{Access, ClusterPage, FleetAction, FleetService};
