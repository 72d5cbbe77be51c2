//! Users as Perses `User` resources: the password lives hashed in `spec.nativeProvider.password`
//! and never leaves the server; the first administrator is created on an empty store.

use std::{io::Write as _, path::Path};

use pharos_auth::password::{PasswordCost, check_new_password, hash_password};
use pharos_model::Kind;
use pharos_store::{ListQuery, NewResource, ResourceKey, Store};
use rand::Rng as _;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};

/// The name of the first administrator and of its global role.
pub const ADMIN: &str = "admin";

fn user_key(name: &str) -> ResourceKey {
    ResourceKey {
        kind: Kind::User.as_str().to_owned(),
        project: None,
        name: name.to_owned(),
    }
}

/// The stored password hash of `login`, `None` for an unknown user or one without a password
/// (external logins only).
pub async fn password_hash(store: &Store, login: &str) -> ApiResult<Option<String>> {
    if pharos_model::validate_name(login).is_err() {
        return Ok(None);
    }
    let Some(row) = store.get(&user_key(login)).await? else {
        return Ok(None);
    };
    Ok(row
        .spec
        .as_ref()
        .and_then(|s| s.pointer("/nativeProvider/password"))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// Whether the user `name` exists.
pub async fn exists(store: &Store, name: &str) -> ApiResult<bool> {
    Ok(store.get(&user_key(name)).await?.is_some())
}

/// Whether any user exists.
pub async fn any_user(store: &Store) -> ApiResult<bool> {
    let rows = store
        .list(&ListQuery {
            kind: Kind::User.as_str().to_owned(),
            project: None,
            name_prefix: None,
            include_spec: false,
        })
        .await?;
    Ok(!rows.is_empty())
}

/// 24 characters from a 62-letter alphabet (~143 bits).
pub fn generate_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Writes the generated password readable by the owner only.
pub fn write_password_file(path: &Path, password: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{password}")?;
    file.sync_all()
}

async fn hash(password: String, cost: PasswordCost) -> ApiResult<String> {
    check_new_password(&password)
        .map_err(|e| ApiError::bad_request(format!("spec.nativeProvider.password: {e}")))?;
    tokio::task::spawn_blocking(move || hash_password(&password, &cost))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// Creates `admin`, the global role `admin` (every action on every scope) and its binding.
pub async fn create_admin(store: &Store, password: &str, cost: PasswordCost) -> ApiResult<()> {
    let hashed = hash(password.to_owned(), cost).await?;
    let global = |kind: Kind, spec: Value| NewResource {
        key: ResourceKey {
            kind: kind.as_str().to_owned(),
            project: None,
            name: ADMIN.to_owned(),
        },
        metadata_extra: json!({}),
        spec,
    };
    for resource in [
        global(
            Kind::GlobalRole,
            json!({"permissions": [{"actions": ["*"], "scopes": ["*"]}]}),
        ),
        global(
            Kind::GlobalRoleBinding,
            json!({"role": ADMIN, "subjects": [{"kind": "User", "name": ADMIN}]}),
        ),
        global(Kind::User, json!({"nativeProvider": {"password": hashed}})),
    ] {
        match store.create(resource).await {
            Ok(_) | Err(pharos_store::StoreError::AlreadyExists) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The user an external provider vouched for, created on the first login (no password; its
/// `spec.oauthProviders` links the provider's `issuer` and `subject`) and kept up to date. A
/// user of the same name that is not linked to this provider account is never taken over:
/// the login is refused until an administrator links it.
pub async fn sync_external(store: &Store, identity: &super::ExternalIdentity) -> ApiResult<String> {
    let login = identity.login.clone();
    pharos_model::validate_name(&login).map_err(|e| {
        ApiError::Forbidden(format!(
            "the provider names this user {login:?}, which cannot be a Pharos user name ({e}); set the provider's login_claim / custom_login_property to another claim"
        ))
    })?;
    let link = json!({
        "issuer": identity.issuer,
        "subject": identity.subject,
        "email": identity.email.clone().unwrap_or_default(),
    });
    let key = user_key(&login);
    let Some(row) = store.get(&key).await? else {
        let mut spec = json!({"oauthProviders": [link]});
        if let Some(name) = &identity.display_name {
            spec["firstName"] = json!(name);
        }
        return match store
            .create(NewResource {
                key,
                metadata_extra: json!({}),
                spec,
            })
            .await
        {
            // Two first logins at once: the other one created it, with the same link.
            Ok(_) | Err(pharos_store::StoreError::AlreadyExists) => Ok(login),
            Err(e) => Err(e.into()),
        };
    };
    let mut spec = row.spec.clone().unwrap_or_else(|| json!({}));
    let links = spec
        .get("oauthProviders")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let position = links.iter().position(|l| {
        l["issuer"] == json!(identity.issuer) && l["subject"] == json!(identity.subject)
    });
    let Some(position) = position else {
        return Err(ApiError::Forbidden(format!(
            "a user named {login:?} already exists and is not linked to this account of {}; an administrator can link it by adding {{\"issuer\": {:?}, \"subject\": {:?}}} to the user's spec.oauthProviders",
            identity.issuer, identity.issuer, identity.subject
        )));
    };
    if links[position] != link {
        let mut links = links;
        links[position] = link;
        spec["oauthProviders"] = Value::Array(links);
        store
            .update(
                NewResource {
                    key,
                    metadata_extra: row.metadata_extra.clone(),
                    spec,
                },
                pharos_store::Precondition::None,
            )
            .await?;
    }
    Ok(login)
}

/// Before a `User` is stored: hash a new password (checked for length first), or keep the
/// stored hash when the update sends none.
pub async fn prepare_user_spec(
    spec: &mut Value,
    stored: Option<&Value>,
    cost: PasswordCost,
) -> ApiResult<()> {
    let Some(object) = spec.as_object_mut() else {
        return Err(ApiError::bad_request("spec must be an object"));
    };
    let sent = object
        .get("nativeProvider")
        .and_then(|p| p.get("password"))
        .cloned();
    let password = match sent {
        Some(Value::String(plain)) => Some(hash(plain, cost).await?),
        Some(Value::Null) | None => stored
            .and_then(|s| s.pointer("/nativeProvider/password"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        Some(_) => {
            return Err(ApiError::bad_request(
                "spec.nativeProvider.password must be a string",
            ));
        }
    };
    if let Some(password) = password {
        let provider = object.entry("nativeProvider").or_insert_with(|| json!({}));
        if let Some(provider) = provider.as_object_mut() {
            provider.insert("password".to_owned(), Value::String(password));
        }
    }
    Ok(())
}

/// A `User` document as it leaves the server: without the password hash.
pub fn present_user(document: &mut Value) {
    if let Some(provider) = document
        .pointer_mut("/spec/nativeProvider")
        .and_then(Value::as_object_mut)
    {
        provider.remove("password");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_are_long_and_differ() {
        let (a, b) = (generate_password(), generate_password());
        assert_eq!(a.len(), 24);
        assert_ne!(a, b);
        assert!(check_new_password(&a).is_ok());
    }

    #[test]
    fn presented_users_carry_no_hash() {
        let mut doc = json!({"kind": "User", "spec": {"firstName": "A", "nativeProvider": {"password": "$argon2id$..."}}});
        present_user(&mut doc);
        assert_eq!(doc["spec"], json!({"firstName": "A", "nativeProvider": {}}));
    }

    #[tokio::test]
    async fn updates_keep_the_stored_hash_unless_a_password_is_sent() {
        let cost = PasswordCost {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        };
        let stored = json!({"nativeProvider": {"password": "$argon2id$stored"}});
        let mut spec = json!({"firstName": "B"});
        prepare_user_spec(&mut spec, Some(&stored), cost)
            .await
            .unwrap();
        assert_eq!(spec["nativeProvider"]["password"], "$argon2id$stored");
        let mut spec = json!({"nativeProvider": {"password": "a new password"}});
        prepare_user_spec(&mut spec, Some(&stored), cost)
            .await
            .unwrap();
        let hashed = spec["nativeProvider"]["password"].as_str().unwrap();
        assert!(hashed.starts_with("$argon2id$"), "{hashed}");
        let mut short = json!({"nativeProvider": {"password": "short"}});
        assert!(prepare_user_spec(&mut short, None, cost).await.is_err());
    }
}
