//! Who a caller is and what they may do, without any transport or storage: argon2id password
//! hashes, signed session tokens (Perses-compatible HS512 JWTs), opaque secrets for API and share
//! tokens (only their digests are ever stored), external OIDC tokens checked against a JWKS, the
//! Kubernetes TokenReview/SubjectAccessReview bodies, and the Perses RBAC model (roles, bindings,
//! global roles, guest permissions) with its evaluation.
//!
//! The server owns the routes, cookies and audit trail; the config store owns the rows. This
//! crate owns the rules both must agree on, so they live (and are tested) in one place.
//!
//! ```
//! use pharos_auth::rbac::{Action, Grants, Permission, Scope};
//!
//! let mut grants = Grants::default();
//! grants.add_project("team-a", Permission::new([Action::Read], [Scope::All]));
//! assert!(grants.allows(Action::Read, Some("team-a"), Scope::Dashboard));
//! assert!(!grants.allows(Action::Read, Some("team-b"), Scope::Dashboard));
//! assert!(!grants.allows(Action::Update, Some("team-a"), Scope::Dashboard));
//! ```

#![warn(missing_docs)]

pub mod external;
pub mod kubernetes;
pub mod login_flow;
pub mod opaque;
pub mod password;
pub mod rbac;
pub mod session;
