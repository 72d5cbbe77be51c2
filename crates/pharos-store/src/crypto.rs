//! Encryption of secret specs at rest: AES-256-GCM with a random 96-bit nonce per write, and
//! loading (or first-time generation) of the 32-byte key.
//!
//! Sealed format (stored as text): base64(nonce || ciphertext-with-tag). The resource key
//! (kind, project, name) is bound as associated data, so a sealed spec copied onto another
//! row fails to decrypt instead of silently leaking into the wrong resource.

use std::io::Write;
use std::path::Path;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload, rand_core::RngCore};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::config::SecretKeySource;
use crate::error::StoreError;
use crate::resource::ResourceKey;

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;

/// AES-256-GCM cipher for the specs of encrypted kinds.
#[derive(Clone)]
pub struct SecretCipher {
    cipher: Aes256Gcm,
    /// HMAC-SHA256 of the key and a fixed label: the root of [`SecretCipher::derive`], so the
    /// raw encryption key is never kept outside the cipher.
    derivation_root: [u8; 32],
}

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(<key redacted>)")
    }
}

impl SecretCipher {
    /// Loads the key from the configured source, generating the key file if it is missing.
    pub fn from_source(source: &SecretKeySource) -> Result<Self, StoreError> {
        match source {
            SecretKeySource::Configured(encoded) => Self::from_base64(encoded).map_err(|why| {
                StoreError::Config(format!("the configured secret key is invalid: {why}"))
            }),
            SecretKeySource::KeyFile(path) => load_or_create_key_file(path),
        }
    }

    /// Builds a cipher from base64 (standard alphabet) of exactly 32 bytes.
    pub fn from_base64(encoded: &str) -> Result<Self, String> {
        let bytes = BASE64
            .decode(encoded.trim())
            .map_err(|err| format!("not valid base64 ({err})"))?;
        Self::from_key_bytes(&bytes)
    }

    /// Builds a cipher from the raw 32-byte key.
    pub fn from_key_bytes(key: &[u8]) -> Result<Self, String> {
        if key.len() != KEY_LEN {
            return Err(format!(
                "the key must be {KEY_LEN} bytes but is {} bytes; generate one with \
                 `head -c 32 /dev/urandom | base64`",
                key.len()
            ));
        }
        let cipher = Aes256Gcm::new_from_slice(key).map_err(|err| err.to_string())?;
        Ok(SecretCipher {
            cipher,
            derivation_root: hmac_sha256(key, b"pharos key derivation v1"),
        })
    }

    /// A 32-byte secret for `purpose` (e.g. signing session tokens), derived from the deployment
    /// key: every replica sharing the key derives the same secret, and one purpose's secret says
    /// nothing about another's or about the encryption key.
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        hmac_sha256(&self.derivation_root, purpose.as_bytes())
    }

    /// A fresh random key, base64 encoded (for `SecretKeySource::Configured` or a key file).
    pub fn generate_key_base64() -> String {
        let mut key = [0u8; KEY_LEN];
        OsRng.fill_bytes(&mut key);
        BASE64.encode(key)
    }

    /// Encrypts `plaintext` for the resource `key`, returning the sealed text form.
    pub(crate) fn seal(&self, key: &ResourceKey, plaintext: &[u8]) -> Result<String, StoreError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = associated_data(key);
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Crypto(format!("cannot encrypt the spec of {key}")))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        Ok(BASE64.encode(sealed))
    }

    /// Decrypts a sealed spec of the resource `key`. Fails (never returns garbage) if the key
    /// differs from the one used to encrypt, or the data was altered.
    pub(crate) fn open(&self, key: &ResourceKey, sealed: &str) -> Result<Vec<u8>, StoreError> {
        let bytes = BASE64.decode(sealed).map_err(|_| {
            StoreError::Corrupt(format!("the encrypted spec of {key} is not valid base64"))
        })?;
        if bytes.len() < NONCE_LEN {
            return Err(StoreError::Corrupt(format!(
                "the encrypted spec of {key} is truncated"
            )));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let aad = associated_data(key);
        self.cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| {
                StoreError::Crypto(format!(
                    "cannot decrypt the spec of {key}: the secret key differs from the one it \
                     was encrypted with (or the stored data was altered); configure the \
                     original secret key"
                ))
            })
    }
}

/// NUL-separated so that ("a", "bc") and ("ab", "c") cannot produce the same bytes.
fn associated_data(key: &ResourceKey) -> Vec<u8> {
    let mut aad = Vec::new();
    for part in [key.kind.as_str(), key.stored_project(), key.name.as_str()] {
        aad.extend_from_slice(part.as_bytes());
        aad.push(0);
    }
    aad
}

fn load_or_create_key_file(path: &Path) -> Result<SecretCipher, StoreError> {
    if !path.exists() {
        create_key_file(path)?;
    }
    warn_if_readable_by_others(path);
    let encoded = std::fs::read_to_string(path).map_err(|err| {
        StoreError::Config(format!(
            "cannot read the secret key file {}: {err}",
            path.display()
        ))
    })?;
    SecretCipher::from_base64(&encoded).map_err(|why| {
        StoreError::Config(format!(
            "the secret key file {} is invalid: {why}",
            path.display()
        ))
    })
}

/// Writes a new random key to a temporary file and hard-links it into place, so that
/// concurrent starts never read a half-written key and never overwrite each other's key.
fn create_key_file(path: &Path) -> Result<(), StoreError> {
    let config_err = |what: &str, err: std::io::Error| {
        StoreError::Config(format!(
            "cannot {what} the secret key file {}: {err}",
            path.display()
        ))
    };
    if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|err| config_err("create the directory of", err))?;
    }
    let mut temp_name = path.as_os_str().to_owned();
    temp_name.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let temp_path = std::path::PathBuf::from(temp_name);
    let result = write_private_file(&temp_path, SecretCipher::generate_key_base64().as_bytes())
        .map_err(|err| config_err("write", err))
        .and_then(|()| match std::fs::hard_link(&temp_path, path) {
            // Another process created it first: use theirs.
            Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            other => other.map_err(|err| config_err("create", err)),
        });
    // Best effort: a leftover temp file is harmless (it is never read).
    let _ = std::fs::remove_file(&temp_path);
    if result.is_ok() {
        tracing::info!(path = %path.display(), "generated a new secret key file");
    }
    result
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                path = %path.display(),
                "the secret key file is readable by other users; run `chmod 600` on it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(message);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ResourceKey {
        ResourceKey::project_scoped("Secret", "p1", "db")
    }

    fn cipher() -> SecretCipher {
        let encoded = SecretCipher::generate_key_base64();
        SecretCipher::from_base64(&encoded).unwrap()
    }

    #[test]
    fn seal_then_open_returns_the_plaintext_and_hides_it() {
        let cipher = cipher();
        let sealed = cipher.seal(&key(), b"hunter2").unwrap();
        assert!(!sealed.contains("hunter2"));
        assert_eq!(cipher.open(&key(), &sealed).unwrap(), b"hunter2");
    }

    #[test]
    fn each_write_uses_a_fresh_nonce() {
        let cipher = cipher();
        let a = cipher.seal(&key(), b"same").unwrap();
        let b = cipher.seal(&key(), b"same").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn wrong_key_fails_with_a_crypto_error() {
        let sealed = cipher().seal(&key(), b"hunter2").unwrap();
        let err = cipher().open(&key(), &sealed).unwrap_err();
        assert!(
            matches!(err, StoreError::Crypto(ref m) if m.contains("secret key")),
            "{err}"
        );
    }

    #[test]
    fn sealed_spec_is_bound_to_its_resource() {
        let cipher = cipher();
        let sealed = cipher.seal(&key(), b"hunter2").unwrap();
        let other = ResourceKey::project_scoped("Secret", "p1", "other");
        assert!(matches!(
            cipher.open(&other, &sealed),
            Err(StoreError::Crypto(_))
        ));
    }

    #[test]
    fn keys_of_the_wrong_length_are_rejected() {
        let err = SecretCipher::from_base64(&BASE64.encode([1u8; 16])).unwrap_err();
        assert!(err.contains("32 bytes"), "{err}");
        assert!(SecretCipher::from_base64("not base64!").is_err());
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("secret.key");
        let source = SecretKeySource::KeyFile(path.clone());
        let first = SecretCipher::from_source(&source).unwrap();
        let sealed = first.seal(&key(), b"x").unwrap();
        let second = SecretCipher::from_source(&source).unwrap();
        assert_eq!(second.open(&key(), &sealed).unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
        assert_eq!(leftovers, 1, "only the key file remains");
    }

    #[test]
    fn invalid_key_file_is_a_config_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret.key");
        std::fs::write(&path, "too short").unwrap();
        let err = SecretCipher::from_source(&SecretKeySource::KeyFile(path)).unwrap_err();
        assert!(
            matches!(err, StoreError::Config(ref m) if m.contains("secret.key")),
            "{err}"
        );
    }

    #[test]
    fn derived_secrets_depend_on_key_and_purpose() {
        let a = SecretCipher::from_key_bytes(&[1; 32]).unwrap();
        let b = SecretCipher::from_key_bytes(&[2; 32]).unwrap();
        assert_eq!(
            a.derive("sessions"),
            SecretCipher::from_key_bytes(&[1; 32])
                .unwrap()
                .derive("sessions")
        );
        assert_ne!(a.derive("sessions"), a.derive("other"));
        assert_ne!(a.derive("sessions"), b.derive("sessions"));
    }
}
