//! Content keys: parsing `--key` arguments and JSON key files, generation with a CSPRNG, and the
//! label policy that maps renditions to keys (docs/keys.md).
//!
//! Key bytes never reach a log: `KeySpec`'s `Debug` prints the label and KID only.
use std::collections::HashMap;
use std::path::Path;

use rand::rngs::OsRng;
use rand::RngCore;

use crate::media::track::TrackKind;

/// A `Result` whose error is a [`KeyError`].
pub type Result<T, E = KeyError> = std::result::Result<T, E>;

/// What is wrong with a key, a key file, an IV or a key choice (the key layer's error; reported
/// as a key problem, exit 6, except a key file that cannot be read: I/O, exit 7).
#[derive(Debug)]
pub enum KeyError {
    /// A 16-byte value (`kid`, `key`) of key `label` is not 32 hex digits.
    BadHex16 {
        /// The key's label.
        label: String,
        /// Which value: `kid` or `key`.
        what: &'static str,
        /// The number of digits given, or `None` when they are not hexadecimal.
        digits: Option<usize>,
    },
    /// A `--key` argument is malformed (`why` says how).
    BadKeyArg {
        /// What is wrong.
        why: String,
    },
    /// A key's `kid=` or `key=` is missing.
    Missing {
        /// The key's label.
        label: String,
        /// The missing field (`kid` or `key`).
        field: &'static str,
    },
    /// A key label outside `[A-Za-z0-9_-]+`.
    BadLabel(String),
    /// A key file that is not `{"keys": [{"label", "kid", "key"}]}`.
    BadKeyFile(serde_json::Error),
    /// A key file that cannot be read.
    Read {
        /// The key file.
        path: std::path::PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// An error in the key file `path`.
    InFile {
        /// The key file.
        path: std::path::PathBuf,
        /// The problem.
        source: Box<KeyError>,
    },
    /// An error in the value of a flag (`--decryption-key`, ...).
    InFlag {
        /// The flag.
        flag: &'static str,
        /// The problem.
        source: Box<KeyError>,
    },
    /// No key at all.
    NoKeys,
    /// Two keys with one label.
    DuplicateLabel(String),
    /// One KID with two different keys.
    KidClash {
        /// The KID, hex.
        kid: String,
        /// The first key's label.
        first: String,
        /// The second key's label.
        second: String,
    },
    /// `--key-policy` is neither `per-class` nor `single`.
    BadPolicy(String),
    /// A rendition's label has no key.
    NoKeyForLabel {
        /// The rendition.
        rendition: String,
        /// The label it needs.
        label: String,
        /// The labels given.
        have: Vec<String>,
    },
    /// An IV size other than 8 or 16 bytes.
    BadIvSize(usize),
    /// `--iv` that is not hexadecimal.
    BadIvHex(String),
    /// `cbcs` with an 8-byte explicit IV.
    CbcsNeeds16ByteIv,
    /// The operating system's random generator failed.
    Random(String),
}

impl KeyError {
    /// This error, said of flag `flag`'s value.
    pub fn in_flag(self, flag: &'static str) -> KeyError {
        KeyError::InFlag {
            flag,
            source: Box::new(self),
        }
    }
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::BadHex16 {
                label,
                what,
                digits: Some(n),
            } => write!(
                f,
                "key '{label}': {what} must be 16 bytes (32 hex digits), got {n} digits"
            ),
            KeyError::BadHex16 { label, what, .. } => write!(
                f,
                "key '{label}': {what} is not hexadecimal (expected 32 hex digits)"
            ),
            KeyError::BadKeyArg { why } => write!(f, "--key{why}"),
            KeyError::Missing { label, field } => write!(f, "key '{label}': missing {field}="),
            KeyError::BadLabel(label) => write!(
                f,
                "key label '{label}' must be non-empty and use only letters, digits, '_' and '-'"
            ),
            KeyError::BadKeyFile(e) => write!(
                f,
                "key file: {e} (expected {{\"keys\": [{{\"label\", \"kid\", \"key\"}}]}})"
            ),
            KeyError::Read { path, source } => write!(f, "{}: {source}", path.display()),
            KeyError::InFile { path, source } => write!(f, "{}: {source}", path.display()),
            KeyError::InFlag { flag, source } => write!(f, "{flag}: {source}"),
            KeyError::NoKeys => write!(f, "no keys given"),
            KeyError::DuplicateLabel(l) => write!(f, "label '{l}' is given to more than one key"),
            KeyError::KidClash { kid, first, second } => write!(
                f,
                "kid {kid} is used by keys '{first}' and '{second}' with different key bytes"
            ),
            KeyError::BadPolicy(p) => write!(f, "key policy '{p}': expected per-class or single"),
            KeyError::NoKeyForLabel {
                rendition,
                label,
                have,
            } => write!(
                f,
                "rendition '{rendition}' needs a key labelled '{label}', but only [{}] were given",
                have.join(", ")
            ),
            KeyError::BadIvSize(n) => write!(f, "IV must be 8 or 16 bytes, got {n}"),
            KeyError::BadIvHex(s) => write!(f, "--iv '{s}': not hexadecimal"),
            KeyError::CbcsNeeds16ByteIv => write!(
                f,
                "cbcs needs a 16-byte constant IV; --iv must have 32 hex digits"
            ),
            KeyError::Random(e) => {
                write!(f, "the operating system's random generator failed: {e}")
            }
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::BadKeyFile(e) => Some(e),
            KeyError::Read { source, .. } => Some(source),
            KeyError::InFile { source, .. } | KeyError::InFlag { source, .. } => {
                Some(source.as_ref())
            }
            _ => None,
        }
    }
}

impl KeyError {
    /// True when the cause is a file that could not be read (reported as I/O).
    fn is_io(&self) -> bool {
        match self {
            KeyError::Read { .. } => true,
            KeyError::InFile { source, .. } | KeyError::InFlag { source, .. } => source.is_io(),
            _ => false,
        }
    }
}

/// A key error is a key problem (exit 6), or I/O (exit 7) when a key file cannot be read.
impl From<KeyError> for crate::Error {
    fn from(e: KeyError) -> Self {
        let kind = if e.is_io() {
            crate::ErrorKind::Io
        } else {
            crate::ErrorKind::Key
        };
        crate::Error::layer(kind, None, e)
    }
}

/// Label of the key for audio renditions under [`LabelPolicy::PerClass`].
pub const LABEL_AUDIO: &str = "AUDIO";
/// Label of the key for SD video (up to [`KeyClasses::max_sd_pixels`]).
pub const LABEL_SD: &str = "SD";
/// Label of the key for HD video (up to [`KeyClasses::max_hd_pixels`]).
pub const LABEL_HD: &str = "HD";
/// Label of the key for UHD-1 video (up to [`KeyClasses::max_uhd1_pixels`]).
pub const LABEL_UHD1: &str = "UHD1";
/// Label of the key for video above UHD-1.
pub const LABEL_UHD2: &str = "UHD2";
/// Label of the one key under [`LabelPolicy::Single`].
pub const LABEL_ALL: &str = "ALL";

/// The pixel-count thresholds of the video key classes, as Shaka Packager draws them
/// (`--max_sd_pixels` and friends): a video of width × height pixels is SD up to
/// `max_sd_pixels`, HD up to `max_hd_pixels`, UHD1 up to `max_uhd1_pixels`, UHD2 above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyClasses {
    /// Largest SD picture (default 768 × 576 = 442 368).
    pub max_sd_pixels: u64,
    /// Largest HD picture (default 1920 × 1080 = 2 073 600).
    pub max_hd_pixels: u64,
    /// Largest UHD-1 picture (default 4096 × 2160 = 8 847 360).
    pub max_uhd1_pixels: u64,
}

impl Default for KeyClasses {
    fn default() -> Self {
        KeyClasses {
            max_sd_pixels: 768 * 576,
            max_hd_pixels: 1920 * 1080,
            max_uhd1_pixels: 4096 * 2160,
        }
    }
}

impl KeyClasses {
    /// The class label of a rendition: `AUDIO` for anything but video, else by pixel count (a
    /// video of unknown size counts as SD).
    pub fn class_of(
        &self,
        kind: TrackKind,
        width: Option<u32>,
        height: Option<u32>,
    ) -> &'static str {
        if kind != TrackKind::Video {
            return LABEL_AUDIO;
        }
        let pixels = width.unwrap_or(0) as u64 * height.unwrap_or(0) as u64;
        if pixels <= self.max_sd_pixels {
            LABEL_SD
        } else if pixels <= self.max_hd_pixels {
            LABEL_HD
        } else if pixels <= self.max_uhd1_pixels {
            LABEL_UHD1
        } else {
            LABEL_UHD2
        }
    }

    /// Checks that the thresholds rise.
    pub fn validate(&self) -> Result<()> {
        if self.max_sd_pixels == 0
            || self.max_sd_pixels >= self.max_hd_pixels
            || self.max_hd_pixels >= self.max_uhd1_pixels
        {
            return Err(KeyError::BadKeyArg {
                why: format!(
                    " classes: --max-sd-pixels {} < --max-hd-pixels {} < --max-uhd1-pixels {} must rise",
                    self.max_sd_pixels, self.max_hd_pixels, self.max_uhd1_pixels
                ),
            });
        }
        Ok(())
    }
}

/// One content key: a label that renditions refer to, the 16-byte key ID (as written in tenc and
/// pssh, ISO/IEC 23001-7 §8.2) and the AES-128 key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySpec {
    /// The label renditions refer to (`AUDIO`, `SD`, `HD`, `ALL` or the user's own).
    pub label: String,
    /// The key ID.
    pub kid: [u8; 16],
    /// The AES-128 content key.
    pub key: [u8; 16],
}

impl std::fmt::Debug for KeySpec {
    // The key bytes are deliberately left out: Debug output ends up in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySpec")
            .field("label", &self.label)
            .field("kid", &hex::encode(self.kid))
            .field("key", &"<redacted>")
            .finish()
    }
}

impl KeySpec {
    /// The KID as lowercase hex (32 digits), the form used in the key manifest and `--key`.
    pub fn kid_hex(&self) -> String {
        hex::encode(self.kid)
    }

    /// The KID in UUID form (8-4-4-4-12), as DASH's `cenc:default_KID` wants it: same byte order
    /// as tenc, no GUID byte swap (ISO/IEC 23001-7 §11.2).
    pub fn kid_uuid(&self) -> String {
        uuid_string(&self.kid)
    }
}

/// Formats 16 bytes as a UUID string (lowercase, 8-4-4-4-12), bytes in order.
pub fn uuid_string(b: &[u8; 16]) -> String {
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Parses a 16-byte value given as 32 hex digits; dashes (UUID form) are ignored.
/// `what` names the field in the error ("kid", "key").
pub fn parse_hex16(value: &str, what: &'static str, label: &str) -> Result<[u8; 16]> {
    let digits: String = value.trim().chars().filter(|c| *c != '-').collect();
    if digits.len() != 32 {
        return Err(KeyError::BadHex16 {
            label: label.into(),
            what,
            digits: Some(digits.len()),
        });
    }
    let mut out = [0u8; 16];
    hex::decode_to_slice(&digits, &mut out).map_err(|_| KeyError::BadHex16 {
        label: label.into(),
        what,
        digits: None,
    })?;
    Ok(out)
}

/// Parses one `--key` argument: `label=VIDEO,kid=HEX,key=HEX` (fields in any order; `label`
/// may be omitted only when a single key is given, which then gets [`LABEL_ALL`]).
pub fn parse_key_arg(arg: &str) -> Result<KeySpec> {
    let mut label = None;
    let mut kid = None;
    let mut key = None;
    for part in arg.split(',') {
        let (name, value) = part.split_once('=').ok_or_else(|| KeyError::BadKeyArg {
            why: format!(" '{part}': expected name=value (label=..,kid=..,key=..)"),
        })?;
        let slot = match name.trim() {
            "label" => &mut label,
            "kid" | "key_id" => &mut kid,
            "key" => &mut key,
            other => {
                return Err(KeyError::BadKeyArg {
                    why: format!(": unknown field '{other}' (expected label, kid, key)"),
                })
            }
        };
        if slot.replace(value.trim().to_string()).is_some() {
            return Err(KeyError::BadKeyArg {
                why: format!(": field '{}' given twice", name.trim()),
            });
        }
    }
    let label = label.unwrap_or_else(|| LABEL_ALL.to_string());
    validate_label(&label)?;
    let missing = |field| KeyError::Missing {
        label: label.clone(),
        field,
    };
    let kid = kid.ok_or_else(|| missing("kid"))?;
    let key = key.ok_or_else(|| missing("key"))?;
    Ok(KeySpec {
        kid: parse_hex16(&kid, "kid", &label)?,
        key: parse_hex16(&key, "key", &label)?,
        label,
    })
}

fn validate_label(label: &str) -> Result<()> {
    if label.is_empty()
        || !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(KeyError::BadLabel(label.into()));
    }
    Ok(())
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    keys: Vec<KeyFileEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFileEntry {
    label: String,
    kid: String,
    key: String,
}

/// Parses a JSON key file (docs/keys.md):
/// `{"keys": [{"label": "SD", "kid": "<32 hex>", "key": "<32 hex>"}, ...]}`.
/// The result is validated with [`validate_keys`].
pub fn parse_key_file(json: &str) -> Result<Vec<KeySpec>> {
    let file: KeyFile = serde_json::from_str(json).map_err(KeyError::BadKeyFile)?;
    let keys = file
        .keys
        .into_iter()
        .map(|e| {
            validate_label(&e.label)?;
            Ok(KeySpec {
                kid: parse_hex16(&e.kid, "kid", &e.label)?,
                key: parse_hex16(&e.key, "key", &e.label)?,
                label: e.label,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    validate_keys(&keys)?;
    Ok(keys)
}

/// Reads and parses a JSON key file.
pub fn load_key_file(path: &Path) -> Result<Vec<KeySpec>> {
    let text = crate::storage::read_small(path)
        .and_then(|b| {
            String::from_utf8(b)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
        })
        .map_err(|source| KeyError::Read {
            path: path.into(),
            source,
        })?;
    parse_key_file(&text).map_err(|e| KeyError::InFile {
        path: path.into(),
        source: Box::new(e),
    })
}

/// Checks a key set: at least one key, labels unique, and a KID never stands for two different
/// keys (players look keys up by KID, so the second would silently decrypt wrongly).
pub fn validate_keys(keys: &[KeySpec]) -> Result<()> {
    if keys.is_empty() {
        return Err(KeyError::NoKeys);
    }
    let mut labels: HashMap<&str, ()> = HashMap::new();
    let mut kids: HashMap<[u8; 16], &KeySpec> = HashMap::new();
    for k in keys {
        if labels.insert(k.label.as_str(), ()).is_some() {
            return Err(KeyError::DuplicateLabel(k.label.clone()));
        }
        if let Some(prev) = kids.insert(k.kid, k) {
            if prev.key != k.key {
                return Err(KeyError::KidClash {
                    kid: k.kid_hex(),
                    first: prev.label.clone(),
                    second: k.label.clone(),
                });
            }
        }
    }
    Ok(())
}

/// Generates one fresh key (random KID and key from the operating system's CSPRNG) per label.
pub fn generate_keys<S: AsRef<str>>(labels: &[S]) -> Result<Vec<KeySpec>> {
    let keys: Vec<KeySpec> = labels
        .iter()
        .map(|l| {
            validate_label(l.as_ref())?;
            let mut kid = [0u8; 16];
            let mut key = [0u8; 16];
            OsRng.fill_bytes(&mut kid);
            OsRng.fill_bytes(&mut key);
            Ok(KeySpec {
                label: l.as_ref().to_string(),
                kid,
                key,
            })
        })
        .collect::<Result<_>>()?;
    validate_keys(&keys)?;
    Ok(keys)
}

/// How renditions are mapped to key labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LabelPolicy {
    /// `AUDIO` for audio (and other non-video), `SD`, `HD`, `UHD1` or `UHD2` for video by its
    /// pixel count ([`KeyClasses`]): the studios' practice of separate key classes, so a leaked
    /// SD key does not open HD and UHD can demand hardware DRM.
    #[default]
    PerClass,
    /// One key (`ALL`) for every rendition.
    Single,
}

impl LabelPolicy {
    /// Parses `per-class` / `single` (CLI and job file spelling).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "per-class" | "default" => Ok(LabelPolicy::PerClass),
            "single" => Ok(LabelPolicy::Single),
            other => Err(KeyError::BadPolicy(other.into())),
        }
    }

    /// The labels this policy uses, in a stable order (for key generation).
    pub fn labels(self) -> &'static [&'static str] {
        match self {
            LabelPolicy::PerClass => &[LABEL_AUDIO, LABEL_SD, LABEL_HD, LABEL_UHD1, LABEL_UHD2],
            LabelPolicy::Single => &[LABEL_ALL],
        }
    }
}

/// The key label of a rendition: see [`LabelPolicy`] and [`KeyClasses`].
pub fn label_for(
    policy: LabelPolicy,
    kind: TrackKind,
    width: Option<u32>,
    height: Option<u32>,
    classes: &KeyClasses,
) -> &'static str {
    match policy {
        LabelPolicy::Single => LABEL_ALL,
        LabelPolicy::PerClass => classes.class_of(kind, width, height),
    }
}

/// Finds the key for a label; `rendition` names the rendition in the error.
pub fn key_for_label<'a>(keys: &'a [KeySpec], label: &str, rendition: &str) -> Result<&'a KeySpec> {
    keys.iter()
        .find(|k| k.label == label)
        .ok_or_else(|| KeyError::NoKeyForLabel {
            rendition: rendition.into(),
            label: label.into(),
            have: keys.iter().map(|k| k.label.clone()).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KID: &str = "00112233445566778899aabbccddeeff";
    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn msg(r: Result<impl std::fmt::Debug>) -> String {
        match r {
            Err(e) => e.to_string(),
            other => panic!("expected a key error, got {other:?}"),
        }
    }

    #[test]
    fn parses_key_argument() {
        let k = parse_key_arg(&format!("label=SD,kid={KID},key={KEY}")).unwrap();
        assert_eq!(k.label, "SD");
        assert_eq!(k.kid_hex(), KID);
        assert_eq!(hex::encode(k.key), KEY);
        assert_eq!(k.kid_uuid(), "00112233-4455-6677-8899-aabbccddeeff");
        // UUID form and any field order are accepted; a missing label means the single key.
        let k = parse_key_arg(&format!(
            "key={KEY},kid=00112233-4455-6677-8899-aabbccddeeff"
        ))
        .unwrap();
        assert_eq!(k.label, LABEL_ALL);
        assert_eq!(k.kid_hex(), KID);
    }

    #[test]
    fn rejects_bad_key_arguments() {
        assert!(msg(parse_key_arg(&format!("label=SD,kid={KID},key=0123")))
            .contains("32 hex digits), got 4 digits"));
        assert!(msg(parse_key_arg(&format!(
            "label=SD,kid={KID},key={}",
            "zz".repeat(16)
        )))
        .contains("not hexadecimal"));
        assert!(msg(parse_key_arg(&format!("label=SD,kid={KID}"))).contains("missing key"));
        assert!(msg(parse_key_arg(&format!(
            "label=SD,kid={KID},key={KEY},iv=00"
        )))
        .contains("unknown field 'iv'"));
        assert!(
            msg(parse_key_arg(&format!("label=S D,kid={KID},key={KEY}"))).contains("label 'S D'")
        );
        assert!(msg(parse_key_arg("label=SD")).contains("missing kid"));
    }

    #[test]
    fn debug_never_prints_key_bytes() {
        let k = parse_key_arg(&format!("label=SD,kid={KID},key={KEY}")).unwrap();
        let d = format!("{k:?}");
        assert!(!d.contains(KEY), "{d}");
        assert!(d.contains(KID) && d.contains("<redacted>"), "{d}");
    }

    #[test]
    fn parses_and_validates_key_file() {
        let json = format!(
            r#"{{"keys": [{{"label": "SD", "kid": "{KID}", "key": "{KEY}"}},
                          {{"label": "HD", "kid": "ffeeddccbbaa99887766554433221100", "key": "{KEY}"}}]}}"#
        );
        let keys = parse_key_file(&json).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].label, "HD");
        // Same KID with different key bytes is refused.
        let dup = format!(
            r#"{{"keys": [{{"label": "SD", "kid": "{KID}", "key": "{KEY}"}},
                          {{"label": "HD", "kid": "{KID}", "key": "{}"}}]}}"#,
            "ab".repeat(16)
        );
        assert!(msg(parse_key_file(&dup))
            .contains("used by keys 'SD' and 'HD' with different key bytes"));
        let same_label = format!(
            r#"{{"keys": [{{"label": "SD", "kid": "{KID}", "key": "{KEY}"}},
                          {{"label": "SD", "kid": "{}", "key": "{KEY}"}}]}}"#,
            "ab".repeat(16)
        );
        assert!(msg(parse_key_file(&same_label)).contains("more than one key"));
        assert!(msg(parse_key_file(r#"{"keys": []}"#)).contains("no keys"));
        assert!(msg(parse_key_file(r#"{"keys": [{"label": "SD"}]}"#)).contains("key file"));
        assert!(msg(parse_key_file("not json")).contains("key file"));
    }

    #[test]
    fn generated_keys_are_distinct_and_random() {
        let a = generate_keys(LabelPolicy::PerClass.labels()).unwrap();
        let b = generate_keys(LabelPolicy::PerClass.labels()).unwrap();
        assert_eq!(
            a.iter().map(|k| k.label.as_str()).collect::<Vec<_>>(),
            ["AUDIO", "SD", "HD", "UHD1", "UHD2"]
        );
        for (x, y) in a.iter().zip(&b) {
            assert_ne!(x.kid, y.kid);
            assert_ne!(x.key, y.key);
            assert_ne!(x.key, [0u8; 16]);
        }
        assert_ne!(a[0].kid, a[1].kid);
    }

    #[test]
    fn label_policy_maps_renditions() {
        let p = LabelPolicy::PerClass;
        let c = KeyClasses::default();
        let v = |w, h| label_for(p, TrackKind::Video, Some(w), Some(h), &c);
        assert_eq!(label_for(p, TrackKind::Audio, None, None, &c), "AUDIO");
        assert_eq!(v(426, 240), "SD");
        assert_eq!(v(768, 576), "SD");
        // 576 lines at 16:9 (1024 x 576) is more than 768 x 576 pixels: HD.
        assert_eq!(v(1024, 576), "HD");
        assert_eq!(v(1280, 720), "HD");
        assert_eq!(v(1920, 1080), "HD");
        assert_eq!(v(3840, 2160), "UHD1");
        assert_eq!(v(4096, 2160), "UHD1");
        assert_eq!(v(7680, 4320), "UHD2");
        assert_eq!(label_for(p, TrackKind::Video, None, None, &c), "SD");
        let custom = KeyClasses {
            max_sd_pixels: 640 * 360,
            ..c
        };
        assert_eq!(
            label_for(p, TrackKind::Video, Some(768), Some(432), &custom),
            "HD"
        );
        assert!(KeyClasses {
            max_hd_pixels: 1,
            ..c
        }
        .validate()
        .is_err());
        assert_eq!(
            label_for(
                LabelPolicy::Single,
                TrackKind::Video,
                Some(3840),
                Some(2160),
                &c
            ),
            "ALL"
        );
        assert_eq!(LabelPolicy::parse("single").unwrap(), LabelPolicy::Single);
        assert!(msg(LabelPolicy::parse("x")).contains("per-class or single"));
    }

    #[test]
    fn missing_label_for_rendition_is_an_error() {
        let keys = vec![parse_key_arg(&format!("label=SD,kid={KID},key={KEY}")).unwrap()];
        assert_eq!(
            key_for_label(&keys, "SD", "video_240p").unwrap().label,
            "SD"
        );
        let m = msg(key_for_label(&keys, "HD", "video_1080p"));
        assert!(
            m.contains("'video_1080p' needs a key labelled 'HD'") && m.contains("[SD]"),
            "{m}"
        );
    }
}
