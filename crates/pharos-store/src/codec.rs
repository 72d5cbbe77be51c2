//! Conversion between the public types and the stored row form: timestamps as unix
//! nanoseconds, JSON as text, and specs of encrypted kinds sealed with the [`SecretCipher`].

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::config::StoreOptions;
use crate::crypto::SecretCipher;
use crate::engine::{ResourceRow, SpecColumn};
use crate::error::StoreError;
use crate::resource::{NewResource, ResourceKey, StoredResource};

/// Timestamps are stored as i64 unix nanoseconds (UTC): exact on both engines and valid until
/// the year 2262.
pub(crate) fn to_nanos(at: DateTime<Utc>) -> Result<i64, StoreError> {
    at.timestamp_nanos_opt().ok_or_else(|| {
        StoreError::InvalidInput(format!(
            "timestamp {at} is outside the storable range (years 1677 to 2262)"
        ))
    })
}

pub(crate) fn from_nanos(nanos: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(nanos)
}

pub(crate) fn now_nanos() -> Result<i64, StoreError> {
    to_nanos(Utc::now())
}

pub(crate) fn to_stored_version(version: u64) -> Result<i64, StoreError> {
    i64::try_from(version)
        .map_err(|_| StoreError::InvalidInput(format!("version {version} is too large")))
}

/// The version of a stored row as the API reports it.
pub(crate) fn row_version(row: &ResourceRow) -> Result<u64, StoreError> {
    u64::try_from(row.version).map_err(|_| {
        StoreError::Corrupt(format!(
            "{} has a negative version {}",
            row.key(),
            row.version
        ))
    })
}

/// Turns resources into rows and back; owns the encryption decision per kind.
#[derive(Debug, Clone)]
pub(crate) struct Codec {
    pub(crate) cipher: SecretCipher,
    pub(crate) options: StoreOptions,
}

/// The stored form of a new resource's client-owned parts.
pub(crate) struct EncodedContent {
    pub(crate) metadata_extra: String,
    pub(crate) spec: SpecColumn,
}

impl Codec {
    pub(crate) fn encode_content(&self, new: &NewResource) -> Result<EncodedContent, StoreError> {
        let metadata_extra = encode_json(&new.metadata_extra, "metadata", &new.key)?;
        let spec_json = encode_json(&new.spec, "spec", &new.key)?;
        let spec = if self.options.is_encrypted(&new.key.kind) {
            SpecColumn {
                sealed: true,
                text: self.cipher.seal(&new.key, spec_json.as_bytes())?,
            }
        } else {
            SpecColumn {
                sealed: false,
                text: spec_json,
            }
        };
        Ok(EncodedContent {
            metadata_extra,
            spec,
        })
    }

    /// Decodes a spec according to how it was stored (not the current config), so changing
    /// `encrypted_kinds` never makes existing rows unreadable.
    pub(crate) fn decode_spec(
        &self,
        key: &ResourceKey,
        column: &SpecColumn,
    ) -> Result<Value, StoreError> {
        if column.sealed {
            let plaintext = self.cipher.open(key, &column.text)?;
            serde_json::from_slice(&plaintext).map_err(|err| {
                StoreError::Corrupt(format!("the decrypted spec of {key} is not JSON: {err}"))
            })
        } else {
            decode_json(&column.text, "spec", key)
        }
    }

    /// The resource with its spec decoded if the row carries one.
    pub(crate) fn decode_resource(&self, row: &ResourceRow) -> Result<StoredResource, StoreError> {
        let mut resource = self.decode_metadata(row)?;
        resource.spec = row
            .spec
            .as_ref()
            .map(|column| self.decode_spec(&resource.key, column))
            .transpose()?;
        Ok(resource)
    }

    /// The resource without its spec (never decrypts anything).
    pub(crate) fn decode_metadata(&self, row: &ResourceRow) -> Result<StoredResource, StoreError> {
        let key = row.key();
        Ok(StoredResource {
            created_at: from_nanos(row.created_at),
            updated_at: from_nanos(row.updated_at),
            version: row_version(row)?,
            metadata_extra: decode_json(&row.metadata_extra, "metadata", &key)?,
            spec: None,
            key,
        })
    }
}

fn encode_json(value: &Value, what: &str, key: &ResourceKey) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|err| {
        StoreError::InvalidInput(format!("the {what} of {key} cannot be serialised: {err}"))
    })
}

pub(crate) fn decode_json(text: &str, what: &str, key: &ResourceKey) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|err| {
        StoreError::Corrupt(format!("the stored {what} of {key} is not JSON: {err}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codec() -> Codec {
        let key = SecretCipher::generate_key_base64();
        Codec {
            cipher: SecretCipher::from_base64(&key).unwrap(),
            options: StoreOptions::default(),
        }
    }

    #[test]
    fn nanosecond_timestamps_round_trip_exactly() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap();
        assert_eq!(from_nanos(to_nanos(at).unwrap()), at);
    }

    #[test]
    fn encrypted_kinds_are_sealed_and_others_are_plain_json() {
        let codec = codec();
        let secret = NewResource {
            key: ResourceKey::project_scoped("Secret", "p", "s"),
            metadata_extra: json!({}),
            spec: json!({"basicAuth": {"password": "hunter2"}}),
        };
        let sealed = codec.encode_content(&secret).unwrap();
        assert!(sealed.spec.sealed && !sealed.spec.text.contains("hunter2"));
        assert_eq!(
            codec.decode_spec(&secret.key, &sealed.spec).unwrap(),
            secret.spec
        );

        let dashboard = NewResource {
            key: ResourceKey::project_scoped("Dashboard", "p", "d"),
            ..secret
        };
        let plain = codec.encode_content(&dashboard).unwrap();
        assert!(!plain.spec.sealed && plain.spec.text.contains("hunter2"));
    }

    #[test]
    fn key_order_of_specs_is_preserved() {
        let codec = codec();
        let key = ResourceKey::project_scoped("Dashboard", "p", "d");
        let spec: Value = serde_json::from_str(r#"{"z": 1, "a": 2, "m": 3}"#).unwrap();
        let new = NewResource {
            key: key.clone(),
            metadata_extra: json!({}),
            spec,
        };
        let encoded = codec.encode_content(&new).unwrap();
        let back = codec.decode_spec(&key, &encoded.spec).unwrap();
        let keys: Vec<_> = back.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }
}
