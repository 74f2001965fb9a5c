//! What to package: from CLI flags or a job file (TOML or JSON) — the same structure either way.
use crate::error::{Error, Result};
use crate::media::input::TrackSelector;
use crate::storage::ObjectUrl;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One input descriptor: `path[#sel]` or `in=path[#sel],lang=fr,name=Français,role=main,id=RID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Input file, optionally followed by `#video`, `#audio` or `#<track id>`.
    #[serde(rename = "in")]
    pub input: String,
    /// Language (BCP 47) for the manifests.
    pub lang: Option<String>,
    /// Human-readable name (HLS NAME, DASH Label).
    pub name: Option<String>,
    /// Comma-free role list separated by `+` on the command line (`role=main+alternate`). A job
    /// file may name it `role` or `roles`, as a list or as the same `+`-separated string.
    #[serde(
        default,
        alias = "role",
        deserialize_with = "roles_from_string_or_list"
    )]
    pub roles: Vec<String>,
    /// Rendition id (its folder and manifest id) when the input yields one track.
    pub id: Option<String>,
    /// Key label override for this rendition (e.g. `HD`).
    #[serde(alias = "key-label", alias = "drm_label")]
    pub key_label: Option<String>,
}

fn protection_from_string_or_table<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<ProtectionOptions>, D::Error> {
    // A visitor rather than an untagged enum, so that an error inside the table (an unknown
    // field) keeps its message.
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Option<ProtectionOptions>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("\"cenc\", \"cbcs\" or a table with scheme and key options")
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Self::Value, E> {
            Ok(Some(ProtectionOptions {
                scheme: v.to_string(),
                ..Default::default()
            }))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            ProtectionOptions::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                .map(Some)
        }
        fn visit_unit<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> std::result::Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(
            self,
            d: D2,
        ) -> std::result::Result<Self::Value, D2::Error> {
            d.deserialize_any(V)
        }
    }
    d.deserialize_any(V)
}

fn roles_from_string_or_list<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Roles {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Roles::deserialize(d)? {
        Roles::One(s) => s.split('+').map(str::to_string).collect(),
        Roles::Many(v) => v,
    })
}

/// Splits a descriptor on commas not escaped by a backslash; the parts keep their escapes.
fn split_unescaped(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut escaped) = (0, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == sep {
            parts.push(&s[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&s[start..]);
    parts
}

/// Removes the backslash escapes (`\,` `\#` `\\`) of a descriptor value.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Escapes `\`, `,` and `#` so that a literal path survives descriptor parsing.
pub fn escape_path(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if matches!(c, '\\' | ',' | '#') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

const ROLES: &[&str] = &[
    "main",
    "alternate",
    "supplementary",
    "commentary",
    "dub",
    "emergency",
    "caption",
    "subtitle",
    "sign",
    "description",
    "enhanced-audio-intelligibility",
    "karaoke",
    "forced-subtitle",
];

impl InputSpec {
    /// Parses a command-line input: a path (`a.mp4`, `a.mp4#video`) or a descriptor
    /// `in=path[#sel],lang=..,name=..,role=..,id=..,key_label=..`. In paths and values, `\,`,
    /// `\#` and `\\` stand for `,`, `#` and `\`. `path=` takes the rest of the descriptor
    /// literally (commas and `#` included), so it comes last; `track=video|audio|ID` then selects.
    pub fn parse(s: &str) -> Result<InputSpec> {
        const KEYS: &[&str] = &[
            "in",
            "path",
            "track",
            "lang",
            "language",
            "name",
            "label",
            "role",
            "roles",
            "id",
            "key_label",
            "drm_label",
        ];
        let first_key = s.split_once('=').map(|(k, _)| k);
        if !first_key.is_some_and(|k| KEYS.contains(&k)) {
            return Ok(InputSpec {
                input: s.to_string(),
                ..Default::default()
            });
        }
        let mut spec = InputSpec::default();
        let (fields, literal) = match s.find("path=") {
            Some(0) => ("", Some(&s[5..])),
            Some(i) if s[..i].ends_with(',') => (&s[..i - 1], Some(&s[i + 5..])),
            _ => (s, None),
        };
        let mut track: Option<String> = None;
        for part in split_unescaped(fields, ',')
            .into_iter()
            .filter(|p| !p.is_empty())
        {
            let (k, raw) = part.split_once('=').ok_or_else(|| {
                Error::Usage(format!("input descriptor '{s}': '{part}' is not key=value"))
            })?;
            let v = unescape(raw);
            match k {
                "in" => spec.input = raw.to_string(),
                "lang" | "language" => spec.lang = Some(v),
                "name" | "label" => spec.name = Some(v),
                "role" | "roles" => spec.roles = v.split('+').map(str::to_string).collect(),
                "id" => spec.id = Some(v),
                "key_label" | "drm_label" => spec.key_label = Some(v),
                "track" => track = Some(v),
                _ => {
                    return Err(Error::Usage(format!(
                        "input descriptor '{s}': unknown field '{k}' (expected in, path, track, lang, name, role, id, key_label)"
                    )))
                }
            }
        }
        if let Some(p) = literal {
            if !spec.input.is_empty() {
                return Err(Error::Usage(format!(
                    "input descriptor '{s}': give either in= or path=, not both"
                )));
            }
            spec.input = escape_path(p);
        }
        if let Some(t) = track {
            spec.input = format!("{}#{t}", spec.input);
        }
        spec.validate()?;
        Ok(spec)
    }

    /// Checks the descriptor's values (roles, id, language) without reading the file.
    pub fn validate(&self) -> Result<()> {
        if self.input.is_empty() {
            return Err(Error::Usage("input descriptor has an empty 'in'".into()));
        }
        for r in &self.roles {
            if !ROLES.contains(&r.as_str()) {
                return Err(Error::Usage(format!(
                    "input '{}': role '{r}' is not a DASH role ({})",
                    self.input,
                    ROLES.join(", ")
                )));
            }
        }
        if let Some(l) = &self.lang {
            let ok = !l.is_empty()
                && l.len() <= 35
                && l.split('-').all(|p| {
                    !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric())
                });
            if !ok {
                return Err(Error::Usage(format!(
                    "input '{}': language '{l}' is not a BCP 47 tag",
                    self.input
                )));
            }
        }
        if let Some(id) = &self.id {
            if id.is_empty()
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(Error::Usage(format!(
                    "input '{}': id '{id}' may only use letters, digits, '_' and '-'",
                    self.input
                )));
            }
        }
        Ok(())
    }

    /// The file path (escapes removed) and the track selector (after the last unescaped `#`).
    pub fn path_and_selector(&self) -> Result<(PathBuf, TrackSelector)> {
        let parts = split_unescaped(&self.input, '#');
        let (p, sel) = if parts.len() > 1 {
            let sel = parts[parts.len() - 1];
            (&self.input[..self.input.len() - sel.len() - 1], sel)
        } else {
            (self.input.as_str(), "")
        };
        let sel = TrackSelector::parse(sel)
            .map_err(|e| Error::Usage(format!("input '{}': {e}", self.input)))?;
        Ok((PathBuf::from(unescape(p)), sel))
    }
}

/// Encryption settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProtectionOptions {
    /// `cenc` or `cbcs`.
    pub scheme: String,
    /// Raw keys: `label=VIDEO,kid=HEX,key=HEX` (the `--key` flag; `key` is accepted too).
    #[serde(default, alias = "key")]
    pub keys: Vec<String>,
    #[serde(alias = "key-file")]
    /// JSON key file (docs/keys.md).
    pub key_file: Option<PathBuf>,
    /// `per-tier` (AUDIO, SD, HD; default) or `single`, for generated keys.
    #[serde(alias = "key-policy")]
    pub key_policy: Option<String>,
    /// Fixed IV (hex) for reproducible output.
    pub iv: Option<String>,
    /// Per-sample IV size for `cenc`: 8 (default) or 16 bytes.
    #[serde(alias = "iv-size")]
    pub iv_size: Option<u8>,
    #[serde(default, alias = "clear-lead")]
    /// Seconds at the start left clear (still signalled).
    pub clear_lead: f64,
    /// DRM systems to signal: clearkey, widevine, playready, fairplay.
    #[serde(default)]
    pub drm: Vec<String>,
    #[serde(alias = "clearkey-license-url")]
    /// Clear Key licence URL written in the MPD.
    pub clearkey_license_url: Option<String>,
    #[serde(alias = "playready-license-url")]
    /// PlayReady licence URL written in the PRO header.
    pub playready_license_url: Option<String>,
    /// Write key references (KID + label) without key bytes in the key manifest.
    #[serde(default, alias = "key-references")]
    pub key_references: bool,
    /// CPIX document (file or http(s):// URL) with the keys (docs/cpix.md).
    pub cpix: Option<String>,
    /// RSA private key (PEM) for an encrypted CPIX document.
    #[serde(alias = "cpix-private-key")]
    pub cpix_private_key: Option<PathBuf>,
    /// Our certificate (PEM), sent in a SPEKE request to get encrypted keys.
    #[serde(alias = "cpix-certificate")]
    pub cpix_certificate: Option<PathBuf>,
    /// Where to write the keys used as a CPIX document (never inside OUT).
    #[serde(alias = "cpix-export")]
    pub cpix_export: Option<PathBuf>,
    /// Recipient certificate (PEM) the exported document is encrypted for.
    #[serde(alias = "cpix-recipient")]
    pub cpix_recipient: Option<PathBuf>,
    /// SPEKE v2 key server URL.
    pub speke: Option<String>,
    /// Extra HTTP headers `Name: value` for the key server.
    #[serde(default, alias = "speke-header")]
    pub speke_headers: Vec<String>,
    /// Largest SD picture in pixels (default 768x576).
    #[serde(alias = "max-sd-pixels")]
    pub max_sd_pixels: Option<u64>,
    /// Largest HD picture in pixels (default 1920x1080).
    #[serde(alias = "max-hd-pixels")]
    pub max_hd_pixels: Option<u64>,
    /// Largest UHD-1 picture in pixels (default 4096x2160).
    #[serde(alias = "max-uhd1-pixels")]
    pub max_uhd1_pixels: Option<u64>,
}

/// The CPIX, SPEKE and key-class flags of `vodpack package` (docs/cpix.md); they override the
/// job file's values.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct CpixFlags {
    /// CPIX 2.3 document with the keys: a file or an http(s):// URL (docs/cpix.md).
    #[arg(long)]
    pub cpix: Option<String>,
    /// RSA private key (PEM) that opens an encrypted CPIX document or SPEKE answer.
    #[arg(long)]
    pub cpix_private_key: Option<PathBuf>,
    /// Our certificate (PEM), sent in the SPEKE request so the keys come back encrypted.
    #[arg(long)]
    pub cpix_certificate: Option<PathBuf>,
    /// Write the keys used as a CPIX 2.3 document here (never inside OUT).
    #[arg(long)]
    pub cpix_export: Option<PathBuf>,
    /// Encrypt the --cpix-export document for this certificate (PEM).
    #[arg(long)]
    pub cpix_recipient: Option<PathBuf>,
    /// SPEKE v2 key server URL: the keys are asked for there.
    #[arg(long)]
    pub speke: Option<String>,
    /// HTTP header `Name: value` for the key server (repeatable), e.g. authentication.
    #[arg(long = "speke-header")]
    pub speke_headers: Vec<String>,
    /// Largest SD picture in pixels (default 442368 = 768x576).
    #[arg(long)]
    pub max_sd_pixels: Option<u64>,
    /// Largest HD picture in pixels (default 2073600 = 1920x1080).
    #[arg(long)]
    pub max_hd_pixels: Option<u64>,
    /// Largest UHD-1 picture in pixels (default 8847360 = 4096x2160).
    #[arg(long)]
    pub max_uhd1_pixels: Option<u64>,
}

impl CpixFlags {
    /// True when any flag is given.
    pub fn any(&self) -> bool {
        self.cpix.is_some()
            || self.cpix_private_key.is_some()
            || self.cpix_certificate.is_some()
            || self.cpix_export.is_some()
            || self.cpix_recipient.is_some()
            || self.speke.is_some()
            || !self.speke_headers.is_empty()
            || self.max_sd_pixels.is_some()
            || self.max_hd_pixels.is_some()
            || self.max_uhd1_pixels.is_some()
    }

    /// Puts the given flags into `p`.
    pub fn apply(&self, p: &mut ProtectionOptions) {
        fn set<T: Clone>(slot: &mut Option<T>, v: &Option<T>) {
            if v.is_some() {
                *slot = v.clone();
            }
        }
        set(&mut p.cpix, &self.cpix);
        set(&mut p.cpix_private_key, &self.cpix_private_key);
        set(&mut p.cpix_certificate, &self.cpix_certificate);
        set(&mut p.cpix_export, &self.cpix_export);
        set(&mut p.cpix_recipient, &self.cpix_recipient);
        set(&mut p.speke, &self.speke);
        p.speke_headers.extend(self.speke_headers.iter().cloned());
        set(&mut p.max_sd_pixels, &self.max_sd_pixels);
        set(&mut p.max_hd_pixels, &self.max_hd_pixels);
        set(&mut p.max_uhd1_pixels, &self.max_uhd1_pixels);
    }
}

/// A whole packaging job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageJob {
    /// The inputs, in order.
    pub inputs: Vec<InputSpec>,
    /// The output folder.
    pub out: PathBuf,
    #[serde(default = "default_segment_duration", alias = "segment-duration")]
    /// Target segment duration in seconds (2–6).
    pub segment_duration: f64,
    #[serde(default, alias = "single-file")]
    /// One file per rendition with a sidx.
    pub single_file: bool,
    #[serde(default, alias = "cut-at-common-keyframes")]
    /// Cut only where every video rendition has a keyframe.
    pub cut_at_common_keyframes: bool,
    #[serde(alias = "asset-id")]
    /// Asset id in the key manifest (default: OUT's name).
    pub asset_id: Option<String>,
    /// `protection = "cenc"` (as the flag) or a table with `scheme` and the key options.
    #[serde(default, deserialize_with = "protection_from_string_or_table")]
    pub protection: Option<ProtectionOptions>,
    /// Where the key manifest goes (default `<OUT>.keys.json`, beside OUT: never inside the
    /// folder that gets published).
    #[serde(alias = "key-manifest")]
    pub key_manifest: Option<PathBuf>,
    /// Replace an OUT (or key manifest) that holds something vodpack did not write. Inputs are
    /// never replaced, whatever this says.
    #[serde(default)]
    pub force: bool,
    /// Run `vodpack verify` (with the run's keys and inputs) on the staged output before it is
    /// committed.
    #[serde(default)]
    pub verify: bool,
    /// Keys of encrypted inputs: `kid=HEX,key=HEX` (docs/keys.md).
    #[serde(default)]
    pub decryption_keys: Vec<String>,
    /// JSON key file with the keys of encrypted inputs.
    #[serde(default)]
    pub decryption_key_file: Option<PathBuf>,
    /// Which manifests to write: `hls`, `dash` or `hls,dash` (default both).
    pub manifests: Option<String>,
    /// File name of the HLS multivariant playlist (default `master.m3u8`).
    #[serde(alias = "hls-master")]
    pub hls_master: Option<String>,
    /// File name of the MPD (default `manifest.mpd`).
    pub mpd: Option<String>,
    /// Media segment names relative to OUT, with `$RepresentationID$`, `$Number$`,
    /// `$Number%0Nd$`, `$Time$` (default `$RepresentationID$/seg_$Number$.m4s`).
    #[serde(alias = "segment-template")]
    pub segment_template: Option<String>,
    /// Absolute URL the segments are served from (DASH BaseURL, absolute HLS media URIs).
    #[serde(alias = "base-url")]
    pub base_url: Option<String>,
    /// The HLS playlists' segments: `cmaf` (default, shared with DASH) or `ts` (MPEG-TS
    /// segments of their own, docs/mpeg-ts.md).
    #[serde(default, alias = "hls-segments")]
    pub hls_segments: Option<String>,
    /// The `#EXT-X-KEY` URI of an encrypted TS set, with `{kid}` or `{label}`
    /// (default `/v1/licence/key/{kid}`, which `vodpack serve` answers; docs/mpeg-ts.md).
    #[serde(default, alias = "hls-key-uri")]
    pub hls_key_uri: Option<String>,
    /// With `hls_segments: ts`: audio-only renditions as packed audio (`.aac`, `.ac3`, `.ec3`
    /// with an ID3 timestamp tag) instead of TS (docs/mpeg-ts.md).
    #[serde(default, alias = "hls-packed-audio")]
    pub hls_packed_audio: bool,
    /// With an object-store OUT: runs replaced more than this many seconds ago are removed
    /// after publishing (docs/object-storage.md).
    #[serde(alias = "prune-after")]
    pub prune_after: Option<u64>,
}

fn is_object_url(s: &str) -> bool {
    ObjectUrl::is_object_url(s)
}

impl Default for PackageJob {
    fn default() -> Self {
        PackageJob {
            inputs: Vec::new(),
            out: PathBuf::new(),
            segment_duration: default_segment_duration(),
            single_file: false,
            cut_at_common_keyframes: false,
            asset_id: None,
            protection: None,
            key_manifest: None,
            manifests: None,
            hls_master: None,
            mpd: None,
            segment_template: None,
            base_url: None,
            hls_segments: None,
            hls_key_uri: None,
            hls_packed_audio: false,
            prune_after: None,
            force: false,
            verify: false,
            decryption_keys: Vec::new(),
            decryption_key_file: None,
        }
    }
}

fn default_segment_duration() -> f64 {
    4.0
}

impl PackageJob {
    /// Reads a job file: `.toml` is TOML, `.json` JSON, any other extension an error. Relative
    /// paths in it are relative to the job file's folder.
    pub fn from_file(path: &Path) -> Result<PackageJob> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        let toml = match ext.as_deref() {
            Some("toml") => true,
            Some("json") => false,
            _ => {
                return Err(Error::Usage(format!(
                    "{}: a job file must end in .toml or .json",
                    path.display()
                )))
            }
        };
        // A local file or an object (`s3://…`): relative inputs are then relative to its prefix.
        let text = crate::storage::read_small(path)
            .and_then(|b| {
                String::from_utf8(b)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
            })
            .map_err(|e| Error::io(path, e))?;
        let mut job: PackageJob = if toml {
            toml::from_str(&text).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?
        } else {
            serde_json::from_str(&text)
                .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        for i in &mut job.inputs {
            if Path::new(&i.input).is_relative()
                && !base.as_os_str().is_empty()
                && !is_object_url(&i.input)
            {
                i.input = escape_path(&base.to_string_lossy()) + "/" + &i.input;
            }
        }
        let local = |p: &PathBuf| p.is_relative() && !is_object_url(&p.to_string_lossy());
        if local(&job.out) {
            job.out = base.join(&job.out);
        }
        if let Some(f) = job.decryption_key_file.as_mut().filter(|f| local(f)) {
            *f = base.join(&*f);
        }
        if let Some(k) = job.key_manifest.as_mut().filter(|k| local(k)) {
            *k = base.join(&*k);
        }
        if let Some(p) = job.protection.as_mut() {
            for f in [
                &mut p.key_file,
                &mut p.cpix_private_key,
                &mut p.cpix_certificate,
                &mut p.cpix_export,
                &mut p.cpix_recipient,
            ] {
                if let Some(f) = f.as_mut().filter(|f| local(f)) {
                    *f = base.join(&*f);
                }
            }
            // `cpix` is a file or a URL: a relative file is relative to the job file too.
            if let Some(c) = p
                .cpix
                .as_mut()
                .filter(|c| !c.contains("://") && Path::new(c.as_str()).is_relative())
            {
                *c = base.join(&*c).to_string_lossy().into_owned();
            }
        }
        Ok(job)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_fields() {
        let s = InputSpec::parse("in=a.mp4#audio,lang=fr,name=Français,role=main+dub,id=audio_fr")
            .unwrap();
        assert_eq!(s.input, "a.mp4#audio");
        assert_eq!(s.name.as_deref(), Some("Français"));
        assert_eq!(s.roles, vec!["main", "dub"]);
        assert!(InputSpec::parse("in=a.mp4,colour=red").is_err());
        assert!(InputSpec::parse("in=a.mp4,role=hero").is_err());
        let (p, sel) = InputSpec::parse("x/y.mp4#2")
            .unwrap()
            .path_and_selector()
            .unwrap();
        assert_eq!((p, sel), (PathBuf::from("x/y.mp4"), TrackSelector::Id(2)));
    }

    #[test]
    fn job_file_toml() {
        let job: PackageJob = toml::from_str(
            "out = \"o\"\nsegment_duration = 2\n[[inputs]]\nin = \"a.mp4\"\nlang = \"en\"\n",
        )
        .unwrap();
        assert_eq!(job.inputs[0].lang.as_deref(), Some("en"));
    }

    #[test]
    fn paths_with_commas_and_hashes() {
        let s = InputSpec::parse(r"in=a\,b\#c.mp4#video,lang=fr").unwrap();
        let (p, sel) = s.path_and_selector().unwrap();
        assert_eq!(p, PathBuf::from("a,b#c.mp4"));
        assert_eq!(sel, TrackSelector::Kind(crate::media::TrackKind::Video));
        assert!(InputSpec::parse("in=a.mp4,lang=fr,path=x, y#1.mp4").is_err());
        let s = InputSpec::parse("path=x.mp4").unwrap();
        assert_eq!(s.input, "x.mp4");
        let s = InputSpec::parse(r"in=a\\b.mp4").unwrap();
        assert_eq!(s.path_and_selector().unwrap().0, PathBuf::from(r"a\b.mp4"));
        let s = InputSpec::parse("path=x, y#1.mp4").unwrap();
        assert_eq!(
            s.path_and_selector().unwrap().0,
            PathBuf::from("x, y#1.mp4")
        );
        let s = InputSpec::parse("path=dir/a#b.mp4").unwrap();
        assert_eq!(s.path_and_selector().unwrap().1, TrackSelector::All);
        let job: PackageJob =
            toml::from_str("out = \"o\"\n[[inputs]]\nin = \"a.mp4\"\nrole = \"main+dub\"\n")
                .unwrap();
        assert_eq!(job.inputs[0].roles, vec!["main", "dub"]);
    }
}
