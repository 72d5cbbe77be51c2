//! Looking up files of the embedded bundle and choosing the precompressed variant (`.br`,
//! `.gz`, written by the UI build) that the client accepts.

use std::borrow::Cow;

use rust_embed::Embed;

/// The SPA's entry page.
pub(super) const INDEX: &str = "index.html";
/// Vite puts every content-hashed file here; these never change under the same name.
pub(super) const HASHED_DIR: &str = "assets/";

/// The built UI. Release builds embed it; debug builds read the folder at run time, so
/// `npm run build` shows up without recompiling the server.
#[derive(Embed)]
#[folder = "ui-dist/"]
pub(super) struct Bundle;

/// Content codings we store next to the originals, best first.
const ENCODINGS: [(&str, &str); 2] = [("br", ".br"), ("gzip", ".gz")];

/// How long clients may keep a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CachePolicy {
    /// Content-hashed: the name changes when the content does.
    Immutable,
    /// Must be revalidated (index.html and other unhashed files).
    Revalidate,
}

/// One file ready to send.
#[derive(Debug)]
pub(super) struct Asset {
    /// The bytes as sent (compressed when `encoding` is set).
    pub data: Cow<'static, [u8]>,
    /// MIME type of the original file.
    pub content_type: String,
    /// `Content-Encoding` of `data`, if compressed.
    pub encoding: Option<&'static str>,
    /// Whether compressed variants exist, so caches must key on `Accept-Encoding`.
    pub has_variants: bool,
    /// Strong validator of exactly these bytes.
    pub etag: String,
    /// Caching rule for this path.
    pub cache: CachePolicy,
}

impl Bundle {
    /// The file at `path` (no leading slash) in the best encoding `accept_encoding` allows.
    pub(super) fn find(path: &str, accept_encoding: &str) -> Option<Asset> {
        if !is_safe(path) {
            return None;
        }
        let original = Self::get(path)?;
        let content_type = original.metadata.mimetype().to_owned();
        let cache = if path.starts_with(HASHED_DIR) {
            CachePolicy::Immutable
        } else {
            CachePolicy::Revalidate
        };
        let mut has_variants = false;
        for (coding, suffix) in ENCODINGS {
            let Some(variant) = Self::get(&format!("{path}{suffix}")) else {
                continue;
            };
            has_variants = true;
            if accepts(accept_encoding, coding) {
                return Some(Asset {
                    etag: etag_of(&variant.metadata.sha256_hash()),
                    data: variant.data,
                    content_type,
                    encoding: Some(coding),
                    has_variants,
                    cache,
                });
            }
        }
        Some(Asset {
            etag: etag_of(&original.metadata.sha256_hash()),
            data: original.data,
            content_type,
            encoding: None,
            has_variants,
            cache,
        })
    }
}

/// Only plain relative paths; the debug build reads from disk, so `..` must never get there.
fn is_safe(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && path
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "." && segment != "..")
}

fn etag_of(hash: &[u8; 32]) -> String {
    // 16 bytes of SHA-256 are plenty to tell two builds apart and keep the header short.
    let hex: String = hash[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// Whether an `Accept-Encoding` value allows `coding` (listed, or `*`, with a non-zero q).
pub(super) fn accepts(accept_encoding: &str, coding: &str) -> bool {
    let mut wildcard = false;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let weight_is_zero = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if name.eq_ignore_ascii_case(coding) {
            return !weight_is_zero;
        }
        if name == "*" {
            wildcard = !weight_is_zero;
        }
    }
    wildcard
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_encoding_lists_and_weights_are_honoured() {
        assert!(accepts("gzip, deflate, br, zstd", "br"));
        assert!(accepts("gzip, deflate, br, zstd", "gzip"));
        assert!(!accepts("gzip, deflate", "br"));
        assert!(!accepts("br;q=0, gzip", "br"));
        assert!(accepts("br;q=0.5", "br"));
        assert!(accepts("*", "gzip"));
        assert!(!accepts("*;q=0", "gzip"));
        assert!(!accepts("", "gzip"));
        assert!(!accepts("identity", "gzip"));
    }

    #[test]
    fn traversal_and_odd_paths_are_refused() {
        assert!(is_safe("assets/index-abc.js"));
        assert!(is_safe("index.html"));
        for bad in [
            "",
            "../Cargo.toml",
            "assets/../../src/lib.rs",
            "a//b",
            "./index.html",
            "a\\b",
        ] {
            assert!(!is_safe(bad), "{bad}");
        }
        assert!(Bundle::find("../Cargo.toml", "").is_none());
    }

    #[test]
    fn precompressed_variant_is_chosen_by_preference() {
        let index = Bundle::find(INDEX, "gzip, br").expect("index.html is in the bundle");
        assert_eq!(index.cache, CachePolicy::Revalidate);
        assert!(index.content_type.starts_with("text/html"));
        // index.html is under 1 KiB and has no variants; a JS chunk has both.
        let chunk = Bundle::iter()
            .find(|p| {
                p.starts_with(HASHED_DIR)
                    && p.ends_with(".js")
                    && Bundle::get(&format!("{p}.br")).is_some()
            })
            .expect("a precompressed chunk");
        let br = Bundle::find(&chunk, "gzip, br").expect("chunk");
        let gz = Bundle::find(&chunk, "gzip").expect("chunk");
        let plain = Bundle::find(&chunk, "identity").expect("chunk");
        assert_eq!(
            (br.encoding, gz.encoding, plain.encoding),
            (Some("br"), Some("gzip"), None)
        );
        assert!(br.data.len() < plain.data.len() && gz.data.len() < plain.data.len());
        assert_ne!(
            br.etag, plain.etag,
            "each representation needs its own strong ETag"
        );
        assert_eq!(plain.cache, CachePolicy::Immutable);
        assert!(plain.has_variants);
    }
}
