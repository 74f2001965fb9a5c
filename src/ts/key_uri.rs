//! `--hls-key-uri`: where a player fetches the raw 16-byte key of an encrypted TS set (the
//! `URI` of `#EXT-X-KEY`, RFC 8216 §4.3.2.4). A template with `{kid}` (32 hex digits) or
//! `{label}` (the key label), so each key has its own URI; the default is the path `vodpack
//! serve` answers with the same entitlement checks as its Clear Key licence
//! (docs/control-plane.md).
use crate::error::{Error, Result};

/// The default: the control plane's key endpoint, on the host the playlist came from.
pub const DEFAULT_KEY_URI: &str = "/v1/licence/key/{kid}";

/// A checked `--hls-key-uri`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUriTemplate(String);

impl Default for KeyUriTemplate {
    fn default() -> Self {
        KeyUriTemplate(DEFAULT_KEY_URI.into())
    }
}

impl KeyUriTemplate {
    /// Checks a template: one of `{kid}`, `{label}`, no other `{…}`, and nothing that would
    /// break the quoted attribute (`"`, line breaks).
    pub fn parse(text: &str) -> Result<KeyUriTemplate> {
        let bad = |why: &str| Err(Error::Usage(format!("--hls-key-uri '{text}': {why}")));
        if text.is_empty() || text.chars().any(|c| c == '"' || c.is_control()) {
            return bad("must be a URI without quotes or control characters");
        }
        let rest = text.replace("{kid}", "").replace("{label}", "");
        if rest.contains('{') || rest.contains('}') {
            return bad("the only placeholders are {kid} and {label}");
        }
        if rest.len() == text.len() {
            return bad("needs {kid} or {label}, so that each key has its own URI");
        }
        Ok(KeyUriTemplate(text.to_string()))
    }

    /// The URI of the key with `kid` and `label`.
    pub fn render(&self, kid: &[u8; 16], label: &str) -> String {
        self.0
            .replace("{kid}", &hex::encode(kid))
            .replace("{label}", label)
    }

    /// The template as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_name_each_key() {
        let t = KeyUriTemplate::parse("https://keys.example.com/{label}/{kid}.key").unwrap();
        assert_eq!(
            t.render(&[0xab; 16], "HD"),
            format!("https://keys.example.com/HD/{}.key", "ab".repeat(16))
        );
        assert_eq!(
            KeyUriTemplate::default().render(&[1; 16], "SD"),
            format!("/v1/licence/key/{}", "01".repeat(16))
        );
        for bad in ["", "https://k/fixed.key", "https://k/{id}", "a\"{kid}"] {
            assert!(KeyUriTemplate::parse(bad).is_err(), "{bad}");
        }
    }
}
