//! The key manifest: one JSON file per packaged asset, written by `vodpack package` and read by the
//! control plane (playback start, Clear Key licences, the origin). The schema is documented in
//! `docs/key-manifest.md`; these types are the single definition shared by the writer and the reader
//! so the two cannot drift.
//!
//! The file may hold raw content keys, so [`KeyManifest::write_file`] creates it with mode 0600 and
//! replaces the previous file atomically, and [`KeyEntry`]'s `Debug` never prints key bytes.

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The schema version this crate writes and the only one it reads.
pub const KEY_MANIFEST_SCHEMA_VERSION: u32 = 1;

/// Refuse to read key manifests larger than this: a real one is a few kilobytes.
pub const KEY_MANIFEST_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Common Encryption scheme names, ISO/IEC 23001-7 §4.2 (`cenc` = AES-CTR, `cbcs` = AES-CBC pattern).
pub const PROTECTION_SCHEMES: [&str; 2] = ["cenc", "cbcs"];

/// The encryption methods of an HLS-over-MPEG-TS segment set (a `schemes` entry beside a CMAF
/// set): `sample-aes` (Apple's sample encryption) and `aes-128` (whole segments).
pub const HLS_TS_METHODS: [&str; 2] = ["sample-aes", "aes-128"];

/// Rendition kinds.
pub const RENDITION_KINDS: [&str; 4] = ["video", "audio", "text", "other"];

/// DRM system names known to the control plane.
pub const DRM_SYSTEMS: [&str; 4] = ["clearkey", "widevine", "playready", "fairplay"];

/// The whole key manifest of one packaged asset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyManifest {
    /// Schema version; [`KEY_MANIFEST_SCHEMA_VERSION`] for files this crate writes.
    pub schema_version: u32,
    /// The asset id, as used in playback URLs (`/v/<asset_id>/…`).
    pub asset_id: String,
    /// `"cenc"` or `"cbcs"`; `None` when the output is clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protection_scheme: Option<String>,
    /// Target segment duration in seconds.
    pub segment_duration: f64,
    /// Presentation duration in seconds.
    pub duration: f64,
    /// Manifest paths relative to the output directory.
    pub manifests: ManifestPaths,
    /// Every rendition of the asset.
    pub renditions: Vec<RenditionEntry>,
    /// Content keys (or references to keys held in a KMS).
    pub keys: Vec<KeyEntry>,
    /// DRM systems signalled in the manifests, with their PSSH boxes.
    pub drm_systems: Vec<DrmSystemEntry>,
    /// One run, two encryption schemes (`--protection dash=cenc,hls=cbcs`): each scheme's
    /// manifests and DRM signalling. Absent (empty) for one scheme or clear output; then
    /// `protection_scheme`, `manifests` and `drm_systems` describe everything. When present,
    /// `protection_scheme` and `drm_systems` describe the DASH set (for readers that know one
    /// scheme), and `manifests` names both files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemes: Vec<SchemeEntry>,
}

/// The segment set of one encryption scheme in a two-scheme asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeEntry {
    /// `cenc` or `cbcs`.
    pub scheme: String,
    /// The manifests that reference this scheme's segments (relative to the output directory).
    pub manifests: ManifestPaths,
    /// DRM systems and PSSH boxes of this scheme's segments (a PSSH may name the scheme).
    #[serde(default)]
    pub drm_systems: Vec<DrmSystemEntry>,
    /// Where each rendition's files of this set are (its init segment and media segment
    /// template). Empty in files written before it was recorded; then only the DASH set's
    /// files are known (from `renditions[]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renditions: Vec<SchemeRendition>,
}

/// The files of one rendition in one segment set of a two-scheme asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemeRendition {
    /// The rendition's id, as in [`KeyManifest::renditions`].
    pub id: String,
    /// Its initialization segment in this set (or its single file), relative to the output
    /// directory; empty in an MPEG-TS set (`sample-aes`, `aes-128`), which has none.
    pub init_path: String,
    /// Its media segments in this set, as a template relative to the output directory (see
    /// [`RenditionEntry::segment_template`]); absent for a single file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_template: Option<String>,
}

/// Manifest paths, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ManifestPaths {
    /// The HLS multivariant playlist (e.g. `master.m3u8`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls: Option<String>,
    /// The DASH MPD (e.g. `manifest.mpd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dash: Option<String>,
}

/// One rendition (one track of one bitrate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RenditionEntry {
    /// Rendition id, unique in the asset.
    pub id: String,
    /// `video`, `audio`, `text` or `other`.
    pub kind: String,
    /// RFC 6381 codec string (e.g. `avc1.64001f`).
    pub codec: String,
    /// Peak bandwidth in bit/s (HLS `BANDWIDTH`, DASH `@bandwidth`).
    pub bandwidth: u64,
    /// Average bandwidth in bit/s (HLS `AVERAGE-BANDWIDTH`).
    pub average_bandwidth: u64,
    /// Width in pixels (video only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// Height in pixels (video only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    /// BCP 47 language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Human-readable name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Label of the key in [`KeyManifest::keys`] that encrypts this rendition; `None` when clear.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_label: Option<String>,
    /// The rendition's default KID (32 lowercase hex digits), equal to its key's KID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// The rendition's HLS media playlist, relative to the output directory.
    pub hls_playlist: String,
    /// The rendition's DASH `Representation@id`.
    pub dash_representation_id: String,
    /// The rendition's initialization segment, relative to the output directory (in the
    /// single-file layout, the one file holding everything).
    pub init_path: String,
    /// Where the rendition's media segments are: a DASH-style template relative to the output
    /// directory with the rendition id filled in, `$Number$`, `$Number%0Nd$`, `$Time$` or
    /// `$Time%0Nd$` standing for decimal digits and `$$` for a `$` (e.g.
    /// `video_240p/seg_$Number$.m4s`, `cenc/chunks/video_240p_$Time$.m4s`); see
    /// [`parse_segment_template`]. Absent for the single-file layout and in files written before
    /// it was recorded. With two schemes, the DASH set's (as `init_path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment_template: Option<String>,
}

/// One piece of a [`RenditionEntry::segment_template`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplatePart {
    /// Literal text (a `$$` of the template already turned into `$`).
    Literal(String),
    /// `$Number$`, `$Time$` (width 0) or `$Number%0Nd$`, `$Time%0Nd$` (width N): one or more
    /// decimal digits, at least `width` of them (ISO/IEC 23009-1 §5.3.9.4.4 zero padding).
    Digits(usize),
}

/// One token of a DASH segment template (ISO/IEC 23009-1 §5.3.9.4.4): literal text (a `$$`
/// already turned into `$`) or an identifier `$Name$` / `$Name%0Nd$` with its width (0 when none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateToken<'a> {
    /// Literal text.
    Literal(String),
    /// An identifier and its `%0Nd` width (N from 1 to 20; 0 without a format).
    Identifier(&'a str, usize),
}

/// Splits a DASH segment template into literals and identifiers, for the key manifest's
/// templates here and `vodpack package --segment-template` (which knows other identifiers).
/// The error says what is wrong: an unclosed `$`, or a width format other than `%0Nd`.
pub fn template_tokens(s: &str) -> std::result::Result<Vec<TemplateToken<'_>>, &'static str> {
    let mut tokens = Vec::new();
    let mut lit = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        lit.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let j = after.find('$').ok_or("unclosed '$'")?;
        let ident = &after[..j];
        rest = &after[j + 1..];
        if ident.is_empty() {
            lit.push('$');
            continue;
        }
        let (name, width) = match ident.split_once('%') {
            Some((name, format)) => {
                let width = format
                    .strip_prefix('0')
                    .and_then(|f| f.strip_suffix('d'))
                    .and_then(|w| w.parse::<usize>().ok())
                    .filter(|w| (1..=20).contains(w))
                    .ok_or("width format must be %0Nd (N from 1 to 20)")?;
                (name, width)
            }
            None => (ident, 0),
        };
        if !lit.is_empty() {
            tokens.push(TemplateToken::Literal(std::mem::take(&mut lit)));
        }
        tokens.push(TemplateToken::Identifier(name, width));
    }
    lit.push_str(rest);
    if !lit.is_empty() {
        tokens.push(TemplateToken::Literal(lit));
    }
    Ok(tokens)
}

/// Parses a segment template of the key manifest into its pieces: literals and digit fields.
/// Refused: an unclosed `$`, an identifier other than `Number`/`Time` (the rendition id is
/// filled in by the writer), a width other than `%0Nd` with N from 1 to 20, no digit field (the
/// segments would share one name), or a path that is not relative inside the output directory.
pub fn parse_segment_template(s: &str) -> Result<Vec<TemplatePart>> {
    let bad = |why: &str| Error::KeyManifest(format!("segment_template {s:?}: {why}"));
    let mut parts = Vec::new();
    for token in template_tokens(s).map_err(bad)? {
        parts.push(match token {
            TemplateToken::Literal(l) => TemplatePart::Literal(l),
            TemplateToken::Identifier("Number" | "Time", width) => TemplatePart::Digits(width),
            TemplateToken::Identifier(name, _) => {
                return Err(bad(&format!(
                    "unknown identifier ${name}$ (only $Number$ and $Time$ stay in a template)"
                )))
            }
        });
    }
    if !parts.iter().any(|p| matches!(p, TemplatePart::Digits(_))) {
        return Err(bad("needs $Number$ or $Time$"));
    }
    let sample: String = parts
        .iter()
        .map(|p| match p {
            TemplatePart::Literal(l) => l.as_str(),
            TemplatePart::Digits(_) => "1",
        })
        .collect();
    check_relative_path("segment_template", &sample)?;
    Ok(parts)
}

/// One content key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// Label that renditions refer to (e.g. `AUDIO`, `SD`, `HD`).
    pub label: String,
    /// Key id, 32 hex digits.
    pub kid: String,
    /// The 16-byte AES key, 32 hex digits; `None` when the key lives in a KMS (`key_ref`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// A reference to the key in a KMS, when the key bytes are not in this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ref: Option<String>,
    /// An HLS-over-TS set encrypted with this key (`sample-aes`, `aes-128`): the `#EXT-X-KEY`
    /// URI its playlists name, where a key server must answer the raw 16 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hls_key_uri: Option<String>,
}

impl fmt::Debug for KeyEntry {
    // Keys must never reach logs: print only whether the key is present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyEntry")
            .field("label", &self.label)
            .field("kid", &self.kid)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("key_ref", &self.key_ref)
            .field("hls_key_uri", &self.hls_key_uri)
            .finish()
    }
}

/// One DRM system signalled in the manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DrmSystemEntry {
    /// `clearkey`, `widevine`, `playready` or `fairplay`.
    pub system: String,
    /// The DRM SystemID as UUID text (e.g. `1077efec-c0b2-4d02-ace3-3c1e52e2fb4b`).
    pub system_id: String,
    /// The PSSH boxes written for this system, one per key.
    pub pssh: Vec<PsshEntry>,
}

/// One PSSH box (ISO/IEC 23001-7 §8.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PsshEntry {
    /// Label of the key the box was made for.
    pub key_label: String,
    /// Base64 (standard alphabet, padded) of the whole `pssh` box, header included.
    pub data: String,
}

impl KeyManifest {
    /// The manifest path for `protocol` (`hls` or `dash`) and the scheme of the segments it
    /// references: from `schemes` when the asset has two, else `manifests` and
    /// `protection_scheme`. `None` when the asset has no such manifest.
    pub fn manifest_for(&self, protocol: &str) -> Option<(&str, Option<&str>)> {
        let pick = |m: &ManifestPaths| match protocol {
            "hls" => m.hls.is_some(),
            _ => m.dash.is_some(),
        };
        if !self.schemes.is_empty() {
            let s = self.schemes.iter().find(|s| pick(&s.manifests))?;
            let path = match protocol {
                "hls" => s.manifests.hls.as_deref(),
                _ => s.manifests.dash.as_deref(),
            }?;
            return Some((path, Some(s.scheme.as_str())));
        }
        let path = match protocol {
            "hls" => self.manifests.hls.as_deref(),
            _ => self.manifests.dash.as_deref(),
        }?;
        Some((path, self.protection_scheme.as_deref()))
    }

    /// The DRM systems signalled in the segments of `scheme` (all of them for one scheme).
    pub fn drm_systems_for(&self, scheme: &str) -> &[DrmSystemEntry] {
        self.schemes
            .iter()
            .find(|s| s.scheme == scheme)
            .map_or(self.drm_systems.as_slice(), |s| s.drm_systems.as_slice())
    }

    /// Parses and validates a key manifest from JSON text.
    pub fn from_json(text: &str) -> Result<Self> {
        let manifest: KeyManifest = serde_json::from_str(text)
            .map_err(|e| Error::KeyManifest(format!("invalid JSON: {e}")))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// Validates, then serialises as pretty-printed JSON (with a trailing newline).
    pub fn to_json_pretty(&self) -> Result<String> {
        self.validate()?;
        let mut text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::KeyManifest(format!("cannot serialise: {e}")))?;
        text.push('\n');
        Ok(text)
    }

    /// Reads, parses and validates the key manifest at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let io_err = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
        let len = std::fs::metadata(path).map_err(io_err)?.len();
        if len > KEY_MANIFEST_MAX_BYTES {
            return Err(Error::KeyManifest(format!(
                "{}: {len} bytes is larger than the {KEY_MANIFEST_MAX_BYTES}-byte limit",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(io_err)?;
        Self::from_json(&text)
            .map_err(|e| Error::KeyManifest(format!("{}: {}", path.display(), e.detail())))
    }

    /// Validates and writes the manifest to `path` atomically: a temporary file in the same
    /// directory created with mode 0600 (it may hold keys), fsynced, then renamed over `path`.
    pub fn write_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let text = self.to_json_pretty()?;
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let file_name = path
            .file_name()
            .ok_or_else(|| Error::Io(format!("{}: not a file path", path.display())))?;
        let tmp = dir.join(format!(
            ".{}.tmp-{:016x}",
            file_name.to_string_lossy(),
            rand::random::<u64>()
        ));
        let io_err = |p: &Path, e: std::io::Error| Error::Io(format!("{}: {e}", p.display()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let result = (|| {
            let mut file = options.open(&tmp).map_err(|e| io_err(&tmp, e))?;
            file.write_all(text.as_bytes())
                .map_err(|e| io_err(&tmp, e))?;
            file.sync_all().map_err(|e| io_err(&tmp, e))?;
            std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    }

    /// Checks every rule of the schema (see `docs/key-manifest.md`).
    pub fn validate(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::KeyManifest(msg));
        if self.schema_version != KEY_MANIFEST_SCHEMA_VERSION {
            return bad(format!(
                "schema_version {} is not supported (this build reads {KEY_MANIFEST_SCHEMA_VERSION})",
                self.schema_version
            ));
        }
        if !is_valid_asset_id(&self.asset_id) {
            return bad(format!(
                "asset_id {:?} must be 1-128 characters of [A-Za-z0-9_.-], not starting with '.'",
                self.asset_id
            ));
        }
        if let Some(scheme) = &self.protection_scheme {
            if !PROTECTION_SCHEMES.contains(&scheme.as_str()) {
                return bad(format!(
                    "protection_scheme {scheme:?} must be \"cenc\" or \"cbcs\""
                ));
            }
        }
        if !(self.segment_duration.is_finite() && self.segment_duration > 0.0) {
            return bad(format!(
                "segment_duration {} must be a positive number of seconds",
                self.segment_duration
            ));
        }
        if !(self.duration.is_finite() && self.duration >= 0.0) {
            return bad(format!(
                "duration {} must be a non-negative number of seconds",
                self.duration
            ));
        }
        for (field, value) in [
            ("manifests.hls", &self.manifests.hls),
            ("manifests.dash", &self.manifests.dash),
        ] {
            if let Some(p) = value {
                check_relative_path(field, p)?;
            }
        }

        let mut labels: HashMap<&str, &KeyEntry> = HashMap::new();
        let mut kid_to_key: HashMap<String, Option<&str>> = HashMap::new();
        for key in &self.keys {
            if key.label.is_empty() {
                return bad("a key has an empty label".into());
            }
            if labels.insert(key.label.as_str(), key).is_some() {
                return bad(format!("key label {:?} appears twice", key.label));
            }
            if !is_hex16(&key.kid) {
                return bad(format!(
                    "key {:?}: kid {:?} must be 32 hex digits",
                    key.label, key.kid
                ));
            }
            match (&key.key, &key.key_ref) {
                (Some(k), None) => {
                    if !is_hex16(k) {
                        // Never echo key material in an error.
                        return bad(format!(
                            "key {:?}: key must be 32 hex digits (16 bytes)",
                            key.label
                        ));
                    }
                }
                (None, Some(r)) => {
                    if r.is_empty() {
                        return bad(format!("key {:?}: key_ref is empty", key.label));
                    }
                }
                (Some(_), Some(_)) => {
                    return bad(format!(
                        "key {:?}: has both key and key_ref; give exactly one",
                        key.label
                    ))
                }
                (None, None) => {
                    return bad(format!("key {:?}: has neither key nor key_ref", key.label))
                }
            }
            let kid = key.kid.to_ascii_lowercase();
            let value = key.key.as_deref();
            if let Some(previous) = kid_to_key.get(&kid) {
                let same = match (previous, value) {
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => false,
                };
                if !same {
                    return bad(format!(
                        "kid {kid} is used by two keys with different key material (label {:?})",
                        key.label
                    ));
                }
            } else {
                kid_to_key.insert(kid, value);
            }
        }
        if self.protection_scheme.is_none() && !self.keys.is_empty() {
            return bad("keys are listed but protection_scheme is absent (clear output)".into());
        }

        let mut rendition_ids = std::collections::HashSet::new();
        for r in &self.renditions {
            if r.id.is_empty() {
                return bad("a rendition has an empty id".into());
            }
            if !rendition_ids.insert(r.id.as_str()) {
                return bad(format!("rendition id {:?} appears twice", r.id));
            }
            if !RENDITION_KINDS.contains(&r.kind.as_str()) {
                return bad(format!(
                    "rendition {:?}: kind {:?} must be one of video, audio, text, other",
                    r.id, r.kind
                ));
            }
            check_relative_path(
                &format!("rendition {:?} hls_playlist", r.id),
                &r.hls_playlist,
            )?;
            check_relative_path(&format!("rendition {:?} init_path", r.id), &r.init_path)?;
            if let Some(t) = &r.segment_template {
                parse_segment_template(t).map_err(|e| {
                    Error::KeyManifest(format!("rendition {:?}: {}", r.id, e.detail()))
                })?;
            }
            if let Some(kid) = &r.kid {
                if !is_hex16(kid) || kid.bytes().any(|b| b.is_ascii_uppercase()) {
                    return bad(format!(
                        "rendition {:?}: kid {kid:?} must be 32 lowercase hex digits",
                        r.id
                    ));
                }
            }
            match (&r.key_label, &r.kid) {
                (Some(label), kid) => {
                    let Some(key) = labels.get(label.as_str()) else {
                        return bad(format!(
                            "rendition {:?}: key_label {label:?} is not in keys",
                            r.id
                        ));
                    };
                    if let Some(kid) = kid {
                        if !key.kid.eq_ignore_ascii_case(kid) {
                            return bad(format!(
                                "rendition {:?}: kid {kid} differs from key {label:?}'s kid {}",
                                r.id, key.kid
                            ));
                        }
                    }
                }
                (None, Some(_)) => {
                    return bad(format!("rendition {:?}: has a kid but no key_label", r.id))
                }
                (None, None) => {}
            }
        }

        if !self.schemes.is_empty() {
            let Some(main) = &self.protection_scheme else {
                return bad("schemes are listed but protection_scheme is absent".into());
            };
            if self.schemes.len() != 2 || self.schemes[0].scheme == self.schemes[1].scheme {
                return bad("schemes must list two different schemes".into());
            }
            if !self.schemes.iter().any(|s| &s.scheme == main) {
                return bad(format!(
                    "protection_scheme {main:?} is not one of the schemes listed"
                ));
            }
            for entry in &self.schemes {
                let scheme = entry.scheme.as_str();
                if !PROTECTION_SCHEMES.contains(&scheme) && !HLS_TS_METHODS.contains(&scheme) {
                    return bad(format!(
                        "schemes: {:?} must be \"cenc\", \"cbcs\", \"sample-aes\" or \"aes-128\"",
                        entry.scheme
                    ));
                }
                for (field, value) in [
                    ("hls", &entry.manifests.hls),
                    ("dash", &entry.manifests.dash),
                ] {
                    if let Some(p) = value {
                        check_relative_path(&format!("schemes.{}.{field}", entry.scheme), p)?;
                    }
                }
                let mut listed = std::collections::HashSet::new();
                for f in &entry.renditions {
                    let what = format!("schemes.{}: rendition {:?}", entry.scheme, f.id);
                    if !rendition_ids.contains(f.id.as_str()) {
                        return bad(format!("{what} is not in renditions"));
                    }
                    if !listed.insert(f.id.as_str()) {
                        return bad(format!("{what} appears twice"));
                    }
                    // An MPEG-TS set has no init segment (every segment starts with its tables).
                    let ts = HLS_TS_METHODS.contains(&entry.scheme.as_str());
                    if !(ts && f.init_path.is_empty()) {
                        check_relative_path(&format!("{what} init_path"), &f.init_path)?;
                    }
                    if let Some(t) = &f.segment_template {
                        parse_segment_template(t)
                            .map_err(|e| Error::KeyManifest(format!("{what}: {}", e.detail())))?;
                    }
                }
                // The scheme's DRM systems follow the rules of the top-level ones.
                let mut one = self.clone();
                one.schemes = Vec::new();
                one.drm_systems = entry.drm_systems.clone();
                one.validate().map_err(|e| match e {
                    Error::KeyManifest(m) => {
                        Error::KeyManifest(format!("schemes.{}: {m}", entry.scheme))
                    }
                    other => other,
                })?;
            }
            for protocol in ["hls", "dash"] {
                let n = self
                    .schemes
                    .iter()
                    .filter(|s| match protocol {
                        "hls" => s.manifests.hls.is_some(),
                        _ => s.manifests.dash.is_some(),
                    })
                    .count();
                if n > 1 {
                    return bad(format!("schemes: two schemes name a {protocol} manifest"));
                }
            }
        }

        for system in &self.drm_systems {
            if !DRM_SYSTEMS.contains(&system.system.as_str()) {
                return bad(format!(
                    "drm system {:?} must be one of clearkey, widevine, playready, fairplay",
                    system.system
                ));
            }
            if parse_uuid(&system.system_id).is_none() {
                return bad(format!(
                    "drm system {:?}: system_id {:?} is not a UUID",
                    system.system, system.system_id
                ));
            }
            for pssh in &system.pssh {
                if !labels.contains_key(pssh.key_label.as_str()) {
                    return bad(format!(
                        "drm system {:?}: pssh key_label {:?} is not in keys",
                        system.system, pssh.key_label
                    ));
                }
                let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&pssh.data) else {
                    return bad(format!(
                        "drm system {:?}: pssh data for {:?} is not base64",
                        system.system, pssh.key_label
                    ));
                };
                // ISO/IEC 14496-12 §4.2 box header: 32-bit size then the 4CC `pssh`.
                if bytes.len() < 32
                    || &bytes[4..8] != b"pssh"
                    || u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize
                        != bytes.len()
                {
                    return bad(format!(
                        "drm system {:?}: pssh data for {:?} is not one whole pssh box",
                        system.system, pssh.key_label
                    ));
                }
            }
        }
        Ok(())
    }

    /// The key entry with this KID (16 bytes), if any.
    pub fn key_by_kid(&self, kid: &[u8; 16]) -> Option<&KeyEntry> {
        let kid_hex = hex::encode(kid);
        self.keys
            .iter()
            .find(|k| k.kid.eq_ignore_ascii_case(&kid_hex))
    }

    /// The rendition with this id, if any.
    pub fn rendition(&self, id: &str) -> Option<&RenditionEntry> {
        self.renditions.iter().find(|r| r.id == id)
    }
}

impl KeyEntry {
    /// The KID as 16 bytes (the manifest has been validated, so this only fails on hand-built
    /// entries).
    pub fn kid_bytes(&self) -> Result<[u8; 16]> {
        decode_hex16(&self.kid)
            .ok_or_else(|| Error::KeyManifest(format!("key {:?}: bad kid", self.label)))
    }

    /// The key as 16 bytes; an error when the entry only holds a KMS reference.
    pub fn key_bytes(&self) -> Result<[u8; 16]> {
        match &self.key {
            Some(k) => decode_hex16(k)
                .ok_or_else(|| Error::KeyManifest(format!("key {:?}: bad key", self.label))),
            None => Err(Error::KeyManifest(format!(
                "key {:?} is a KMS reference; its bytes are not in the key manifest",
                self.label
            ))),
        }
    }
}

/// Whether `s` is 32 hex digits (either case).
fn is_hex16(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Decodes 32 hex digits into 16 bytes.
pub(crate) fn decode_hex16(s: &str) -> Option<[u8; 16]> {
    if !is_hex16(s) {
        return None;
    }
    let mut out = [0u8; 16];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Parses UUID text `8-4-4-4-12` hex digits into 16 bytes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let groups: Vec<&str> = s.split('-').collect();
    if groups.len() != 5 || groups.iter().map(|g| g.len()).collect::<Vec<_>>() != [8, 4, 4, 4, 12] {
        return None;
    }
    decode_hex16(&groups.concat())
}

/// Where the key manifest of a packaged output folder lives by default: beside the folder, never
/// inside it (`movie/` → `movie.keys.json`), so that publishing the folder never publishes keys.
pub fn default_path(out_dir: &std::path::Path) -> std::path::PathBuf {
    use std::path::PathBuf;
    let trimmed: PathBuf = out_dir.components().collect();
    if let (Some(name), Some(parent)) = (trimmed.file_name(), trimmed.parent()) {
        let mut file = name.to_os_string();
        file.push(".keys.json");
        return parent.join(file);
    }
    // `.`, `..` or `/`: name the file after the folder it resolves to.
    let resolved = std::fs::canonicalize(&trimmed).unwrap_or(trimmed);
    let mut file = resolved
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "vodpack-output".into());
    file.push(".keys.json");
    match resolved.parent() {
        Some(p) => p.join(file),
        None => PathBuf::from(file),
    }
}

/// Asset ids appear in URL paths and file names, so they are restricted to a safe alphabet.
pub fn is_valid_asset_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// A path in the manifest must stay inside the output directory: relative, `/`-separated, with no
/// empty, `.` or `..` segment and no backslash.
fn check_relative_path(field: &str, p: &str) -> Result<()> {
    let ok = !p.is_empty()
        && !p.starts_with('/')
        && !p.contains('\\')
        && !p.contains('\0')
        && p.split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if ok {
        Ok(())
    } else {
        Err(Error::KeyManifest(format!(
            "{field} {p:?} must be a relative path inside the output directory"
        )))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The two segment sets of a `dash=cenc,hls=cbcs` asset: the MPD on `cenc`, the playlists on
    /// `cbcs`, each with `drm_systems` and the renditions `renditions(scheme)` gives.
    pub(crate) fn scheme_pair(
        drm_systems: &[DrmSystemEntry],
        renditions: impl Fn(&str) -> Vec<SchemeRendition>,
    ) -> Vec<SchemeEntry> {
        ["cenc", "cbcs"]
            .iter()
            .map(|s| SchemeEntry {
                scheme: s.to_string(),
                manifests: ManifestPaths {
                    hls: (*s == "cbcs").then(|| "master.m3u8".into()),
                    dash: (*s == "cenc").then(|| "manifest.mpd".into()),
                },
                drm_systems: drm_systems.to_vec(),
                renditions: renditions(s),
            })
            .collect()
    }

    pub(crate) fn sample() -> KeyManifest {
        // A real Clear Key common-format pssh (v1, one KID) so the box check is exercised.
        let kid = [0x11u8; 16];
        let mut pssh = Vec::new();
        pssh.extend_from_slice(&52u32.to_be_bytes());
        pssh.extend_from_slice(b"pssh");
        pssh.extend_from_slice(&[1, 0, 0, 0]);
        pssh.extend_from_slice(&parse_uuid("1077efec-c0b2-4d02-ace3-3c1e52e2fb4b").unwrap());
        pssh.extend_from_slice(&1u32.to_be_bytes());
        pssh.extend_from_slice(&kid);
        pssh.extend_from_slice(&0u32.to_be_bytes());
        assert_eq!(pssh.len(), 52);
        KeyManifest {
            schema_version: KEY_MANIFEST_SCHEMA_VERSION,
            asset_id: "movie_123".into(),
            protection_scheme: Some("cenc".into()),
            segment_duration: 4.0,
            duration: 10.0,
            manifests: ManifestPaths {
                hls: Some("master.m3u8".into()),
                dash: Some("manifest.mpd".into()),
            },
            renditions: vec![
                RenditionEntry {
                    id: "video_360p".into(),
                    kind: "video".into(),
                    codec: "avc1.64001e".into(),
                    bandwidth: 800_000,
                    average_bandwidth: 700_000,
                    width: Some(640),
                    height: Some(360),
                    language: None,
                    name: None,
                    key_label: Some("SD".into()),
                    kid: Some(hex::encode(kid)),
                    hls_playlist: "video_360p/playlist.m3u8".into(),
                    dash_representation_id: "video_360p".into(),
                    init_path: "video_360p/init.mp4".into(),
                    segment_template: Some("video_360p/seg_$Number$.m4s".into()),
                },
                RenditionEntry {
                    id: "audio_en".into(),
                    kind: "audio".into(),
                    codec: "mp4a.40.2".into(),
                    bandwidth: 128_000,
                    average_bandwidth: 128_000,
                    width: None,
                    height: None,
                    language: Some("en".into()),
                    name: Some("English".into()),
                    key_label: Some("AUDIO".into()),
                    kid: Some("22222222222222222222222222222222".into()),
                    hls_playlist: "audio_en/playlist.m3u8".into(),
                    dash_representation_id: "audio_en".into(),
                    init_path: "audio_en/init.mp4".into(),
                    segment_template: None,
                },
            ],
            keys: vec![
                KeyEntry {
                    label: "SD".into(),
                    kid: hex::encode(kid),
                    key: Some("00112233445566778899aabbccddeeff".into()),
                    key_ref: None,
                    hls_key_uri: None,
                },
                KeyEntry {
                    label: "AUDIO".into(),
                    kid: "22222222222222222222222222222222".into(),
                    key: None,
                    key_ref: Some("kms://keys/audio".into()),
                    hls_key_uri: None,
                },
            ],
            drm_systems: vec![DrmSystemEntry {
                system: "clearkey".into(),
                system_id: "1077efec-c0b2-4d02-ace3-3c1e52e2fb4b".into(),
                pssh: vec![PsshEntry {
                    key_label: "SD".into(),
                    data: base64::engine::general_purpose::STANDARD.encode(&pssh),
                }],
            }],
            schemes: Vec::new(),
        }
    }

    #[test]
    fn default_path_is_beside_the_folder() {
        use std::path::Path;
        assert_eq!(default_path(Path::new("out")), Path::new("out.keys.json"));
        assert_eq!(default_path(Path::new("out/")), Path::new("out.keys.json"));
        assert_eq!(
            default_path(Path::new("/srv/media/movie_1")),
            Path::new("/srv/media/movie_1.keys.json")
        );
        let cwd = std::env::current_dir().unwrap();
        let expect = cwd.parent().unwrap().join(format!(
            "{}.keys.json",
            cwd.file_name().unwrap().to_string_lossy()
        ));
        assert_eq!(default_path(Path::new(".")), expect);
    }

    #[test]
    fn round_trip_json_and_file() {
        let m = sample();
        let text = m.to_json_pretty().unwrap();
        assert_eq!(KeyManifest::from_json(&text).unwrap(), m);
        // Option fields that are None are omitted, not written as null.
        assert!(!text.contains("null"));
        assert_eq!(text.matches("\"width\"").count(), 1);

        let dir = std::env::temp_dir().join(format!("vodpack-km-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("key-manifest.json");
        m.write_file(&path).unwrap();
        m.write_file(&path).unwrap(); // replacing works too
        assert_eq!(KeyManifest::load(&path).unwrap(), m);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // No temporary files left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn documented_example_is_valid() {
        let doc = include_str!("../../../../docs/key-manifest.md");
        let start = doc.find("```json\n").expect("docs example") + "```json\n".len();
        let end = start + doc[start..].find("```").expect("end of docs example");
        let m = KeyManifest::from_json(&doc[start..end]).unwrap();
        assert_eq!(m.asset_id, "movie_123");
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let m = sample();
        let dbg = format!("{m:?}");
        assert!(!dbg.contains("00112233445566778899aabbccddeeff"));
        assert!(dbg.contains("<redacted>"));
    }

    fn expect_err(m: KeyManifest, needle: &str) {
        let err = m.validate().unwrap_err().to_string();
        assert!(
            err.contains(needle),
            "error {err:?} should mention {needle:?}"
        );
        // Key material never appears in errors.
        assert!(!err.contains("00112233445566778899aabbccddeeff"), "{err}");
    }

    #[test]
    fn rejects_invalid_manifests() {
        let mut m = sample();
        m.schema_version = 2;
        expect_err(m, "schema_version 2");

        let mut m = sample();
        m.keys[0].kid = "1234".into();
        expect_err(m, "kid \"1234\" must be 32 hex");

        let mut m = sample();
        m.keys[0].key = Some("zz112233445566778899aabbccddeeff".into());
        expect_err(m, "key must be 32 hex digits");

        let mut m = sample();
        m.renditions[0].key_label = Some("HD".into());
        expect_err(m, "key_label \"HD\" is not in keys");

        let mut m = sample();
        m.keys.push(KeyEntry {
            label: "HD".into(),
            kid: m.keys[0].kid.clone(),
            key: Some("ffeeddccbbaa99887766554433221100".into()),
            key_ref: None,
            hls_key_uri: None,
        });
        expect_err(m, "used by two keys with different key material");

        // The same KID with the same key under two labels is allowed.
        let mut m = sample();
        let mut dup = m.keys[0].clone();
        dup.label = "HD".into();
        m.keys.push(dup);
        m.validate().unwrap();

        let mut m = sample();
        m.protection_scheme = Some("cens".into());
        expect_err(m, "protection_scheme \"cens\"");

        let mut m = sample();
        m.renditions[0].init_path = "../secret".into();
        expect_err(m, "must be a relative path");

        let mut m = sample();
        m.renditions[0].kid = Some("33333333333333333333333333333333".into());
        expect_err(m, "differs from key");

        let mut m = sample();
        m.asset_id = "../x".into();
        expect_err(m, "asset_id");

        let mut m = sample();
        m.drm_systems[0].pssh[0].data = "AAAA".into();
        expect_err(m, "not one whole pssh box");

        let mut m = sample();
        m.keys[1].key = Some("00112233445566778899aabbccddeeff".into());
        expect_err(m, "both key and key_ref");
    }

    #[test]
    fn segment_templates_parse_into_literals_and_digits() {
        use TemplatePart::*;
        let lit = |s: &str| Literal(s.into());
        assert_eq!(
            parse_segment_template("cenc/v/seg_$Number%05d$.m4s").unwrap(),
            [lit("cenc/v/seg_"), Digits(5), lit(".m4s")]
        );
        assert_eq!(
            parse_segment_template("a$$b/$Time$$Number$").unwrap(),
            [lit("a$b/"), Digits(0), Digits(0)]
        );
        for bad in [
            "v/seg.m4s",
            "v/seg_$Number.m4s",
            "v/$RepresentationID$_$Number$.m4s",
            "v/$Bandwidth$.m4s",
            "v/$Number%5d$.m4s",
            "v/$Number%021d$.m4s",
            "../v/$Number$.m4s",
            "/v/$Number$.m4s",
            "v//$Number$.m4s",
        ] {
            assert!(parse_segment_template(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn scheme_renditions_are_checked() {
        let two = || {
            let mut m = sample();
            m.schemes = scheme_pair(&m.drm_systems, |s| {
                vec![SchemeRendition {
                    id: "audio_en".into(),
                    init_path: format!("audio_en/{s}/init.mp4"),
                    segment_template: Some(format!("{s}/audio_en/seg_$Number%05d$.m4s")),
                }]
            });
            m
        };
        let m = two();
        m.validate().unwrap();
        let text = m.to_json_pretty().unwrap();
        assert_eq!(KeyManifest::from_json(&text).unwrap(), m);

        let mut m = two();
        m.schemes[1].renditions[0].id = "audio_fr".into();
        expect_err(
            m,
            "schemes.cbcs: rendition \"audio_fr\" is not in renditions",
        );
        let mut m = two();
        let dup = m.schemes[0].renditions[0].clone();
        m.schemes[0].renditions.push(dup);
        expect_err(m, "appears twice");
        let mut m = two();
        m.schemes[1].renditions[0].init_path = "../x/init.mp4".into();
        expect_err(m, "must be a relative path");
        let mut m = two();
        m.schemes[1].renditions[0].segment_template = Some("cbcs/$Bandwidth$.m4s".into());
        expect_err(m, "unknown identifier $Bandwidth$");
        let mut m = sample();
        m.renditions[0].segment_template = Some("video_360p/seg.m4s".into());
        expect_err(m, "rendition \"video_360p\": segment_template");
    }

    /// A key manifest written before `segment_template` and `schemes[].renditions` existed
    /// still loads (both are optional).
    #[test]
    fn older_files_without_file_locations_load() {
        let mut v: serde_json::Value = serde_json::to_value(sample()).unwrap();
        v["renditions"][0]
            .as_object_mut()
            .unwrap()
            .remove("segment_template");
        v["schemes"] = serde_json::json!([
            {"scheme": "cenc", "manifests": {"dash": "manifest.mpd"}},
            {"scheme": "cbcs", "manifests": {"hls": "master.m3u8"}}
        ]);
        let m = KeyManifest::from_json(&v.to_string()).unwrap();
        assert_eq!(m.renditions[0].segment_template, None);
        assert!(m.schemes.iter().all(|s| s.renditions.is_empty()));
    }

    #[test]
    fn rejects_bad_json_clearly() {
        let err = KeyManifest::from_json("{").unwrap_err().to_string();
        assert!(err.contains("invalid JSON"), "{err}");
        let mut v: serde_json::Value = serde_json::to_value(sample()).unwrap();
        v["surprise"] = 1.into();
        let err = KeyManifest::from_json(&v.to_string())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field"), "{err}");
    }
}
