//! Perses-compatible resource model: kinds, metadata and name rules, and validation of
//! dashboards, datasources, variables, secrets and folders. Owns no I/O.
