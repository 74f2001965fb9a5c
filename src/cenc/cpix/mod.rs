//! CPIX 2.3 (DASH-IF Content Protection Information Exchange) in and out, and SPEKE v2 (AWS's
//! CPIX-over-HTTP contract): content keys from a DRM service instead of generated ones.
//!
//! - [`model`]: the document model and its reader (over the small element tree of [`dom`]);
//! - [`crypto`]: document-key unwrapping (RSA-OAEP), AES-256-CBC content keys, HMAC-SHA512;
//! - [`rules`]: `ContentKeyUsageRuleList` → the key of each rendition;
//! - [`write`](mod@write): CPIX documents out (`--cpix-export`, SPEKE requests);
//! - [`speke`]: the SPEKE v2 client and the small HTTP/1.1 client it and `--cpix URL` use.
//!
//! See docs/cpix.md. Every problem with a document is a key error (exit 6).
pub mod crypto;
pub mod dom;
pub mod model;
pub mod rules;
pub mod speke;
pub mod write;

use crate::error::{Error, Result};
use std::path::Path;

/// The CPIX namespace.
pub const NS_CPIX: &str = "urn:dashif:org:cpix";
/// RFC 6030 PSKC.
pub const NS_PSKC: &str = "urn:ietf:params:xml:ns:keyprov:pskc";
/// XML Signature.
pub const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// XML Encryption.
pub const NS_ENC: &str = "http://www.w3.org/2001/04/xmlenc#";
/// AES-256-CBC (XML Encryption).
pub const ALG_AES256_CBC: &str = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
/// RSA-OAEP with MGF1 (XML Encryption 1.0).
pub const ALG_RSA_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
/// RSA-OAEP (XML Encryption 1.1).
pub const ALG_RSA_OAEP_11: &str = "http://www.w3.org/2009/xmlenc11#rsa-oaep";
/// HMAC-SHA512 (RFC 6931).
pub const ALG_HMAC_SHA512: &str = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512";

/// A CPIX problem (exit 6).
pub fn cpix_err(msg: impl std::fmt::Display) -> Error {
    Error::Key(format!("cpix: {msg}"))
}

pub use crypto::PlainKey;
pub use model::Document;

/// A document and its keys in the clear.
#[derive(Debug, Clone)]
pub struct LoadedCpix {
    /// The document (DRM signalling, usage rules).
    pub doc: Document,
    /// Its content keys, decrypted.
    pub keys: Vec<PlainKey>,
}

/// Reads `source` (a file, or an `http://` URL fetched with GET and `headers`), decrypts its
/// keys with `private_key` when they are encrypted.
pub fn load(source: &str, private_key: Option<&Path>, headers: &[String]) -> Result<LoadedCpix> {
    let text = if source.starts_with("http://") || source.starts_with("https://") {
        speke::get(source, headers)?
    } else {
        std::fs::read_to_string(source).map_err(|e| Error::io(source, e))?
    };
    from_text(&text, private_key)
}

/// Parses and decrypts a document's text.
pub fn from_text(text: &str, private_key: Option<&Path>) -> Result<LoadedCpix> {
    let doc = Document::parse(text)?;
    let pk = private_key.map(crypto::load_private_key).transpose()?;
    let keys = crypto::decrypt_keys(&doc, pk.as_ref())?;
    if keys.is_empty() {
        return Err(cpix_err("the document has no ContentKey"));
    }
    Ok(LoadedCpix { doc, keys })
}
