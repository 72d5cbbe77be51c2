//! The Perses resource API area: routes, the service that applies the Perses rules, and
//! our history/trash extension.

mod api;
mod document;
mod history;
mod portable;
mod service;

pub use api::{API_KINDS, routes};
pub use document::{SECRET_PLACEHOLDER, etag_for, parse_etag};
pub(crate) use portable::resource_name;
pub use portable::routes as portable_routes;
pub use service::{ListParams, ResourceService, Versioned};
