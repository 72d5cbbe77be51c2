//! Perses-compatible resource model: kinds, metadata and name rules, and validation of
//! dashboards, datasources, variables, secrets, projects and folders. Owns no I/O.
//!
//! Entry point for client input is [`decode_resource`], which checks the envelope and the
//! kind's spec and reports every problem with its JSON path. [`proxy`] holds what the
//! datasource proxy needs (HTTP proxy settings, secret credentials).

#![warn(missing_docs)]

mod check;
pub mod duration;
pub mod errors;
pub mod kind;
pub mod name;
pub mod proxy;
pub mod resource;
pub mod spec;
pub mod timestamp;

pub use duration::{format_duration, parse_duration};
pub use errors::{ValidationError, ValidationErrors};
pub use kind::Kind;
pub use name::{MAX_NAME_LENGTH, validate_name};
pub use proxy::{
    AllowedEndpoint, HttpProxySpec, SecretSpec, datasource_is_default, datasource_plugin_kind,
    find_http_proxy,
};
pub use resource::{Metadata, Resource, decode_resource};
pub use spec::{
    DashboardSize, TEMPLATE_CATEGORIES, mask_secret_spec, project_namespaces, validate_spec_value,
};
pub use timestamp::{format_timestamp, parse_timestamp};
