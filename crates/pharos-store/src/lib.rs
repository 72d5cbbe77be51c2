//! The config store: persistence of Perses-style resources (`{kind, metadata, spec}`) in
//! SQLite (embedded, default) or PostgreSQL (shared by several replicas) via sqlx, with
//! embedded migrations, optimistic concurrency, version history, a trash for deleted
//! resources and encryption of secret specs at rest.
//!
//! The store is model-agnostic: it keeps a kind string, an optional project, a name, the
//! server-managed metadata (timestamps, version) and the JSON spec, and never validates
//! specs; the server does that before calling it. Which kinds are versioned, trashable or
//! encrypted is configured through [`StoreOptions`].
//!
//! Beside resources it keeps the identity tables: the audit log and credentials (sessions, API
//! tokens, share links) as digests.

mod codec;
mod config;
mod crypto;
mod engine;
mod error;
mod identity;
mod ops;
mod portable;
mod resource;
mod store;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use config::{SecretKeySource, StoreConfig, StoreOptions};
pub use crypto::SecretCipher;
pub use error::StoreError;
pub use identity::{AuditEntry, AuditPage, AuditQuery, Credential, CredentialKind, MAX_AUDIT_PAGE};
pub use ops::PROJECT_KIND;
pub use portable::{
    CONFIG_FORMAT_VERSION, ColumnType, ConfigManifest, PortableError, TableManifest,
};
pub use resource::{
    ListQuery, NewResource, Precondition, ResourceKey, StoredResource, TrashedResource, VersionInfo,
};
pub use store::Store;
