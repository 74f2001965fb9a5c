//! What to package: from CLI flags or a job file (TOML or JSON) — the same structure either way.
use crate::error::{Error, Result};
use crate::media::input::TrackSelector;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One input descriptor: `path[#sel]` or `in=path[#sel],lang=fr,name=Français,role=main,id=RID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Input file, optionally followed by `#video`, `#audio` or `#<track id>`.
    #[serde(rename = "in")]
    pub input: String,
    pub lang: Option<String>,
    pub name: Option<String>,
    /// Comma-free role list separated by `+` on the command line (`role=main+alternate`).
    #[serde(default)]
    pub roles: Vec<String>,
    pub id: Option<String>,
    /// Key label override for this rendition (e.g. `HD`).
    pub key_label: Option<String>,
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
    /// Parses a command-line descriptor.
    pub fn parse(s: &str) -> Result<InputSpec> {
        if !s.starts_with("in=") {
            return Ok(InputSpec {
                input: s.to_string(),
                ..Default::default()
            });
        }
        let mut spec = InputSpec::default();
        for part in s.split(',') {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                Error::Usage(format!("input descriptor '{s}': '{part}' is not key=value"))
            })?;
            match k {
                "in" => spec.input = v.to_string(),
                "lang" | "language" => spec.lang = Some(v.to_string()),
                "name" | "label" => spec.name = Some(v.to_string()),
                "role" | "roles" => spec.roles = v.split('+').map(str::to_string).collect(),
                "id" => spec.id = Some(v.to_string()),
                "key_label" | "drm_label" => spec.key_label = Some(v.to_string()),
                _ => {
                    return Err(Error::Usage(format!(
                        "input descriptor '{s}': unknown field '{k}' (expected in, lang, name, role, id, key_label)"
                    )))
                }
            }
        }
        spec.validate()?;
        Ok(spec)
    }

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

    /// The file path and the track selector.
    pub fn path_and_selector(&self) -> Result<(PathBuf, TrackSelector)> {
        let (p, sel) = match self.input.rsplit_once('#') {
            Some((p, sel)) => (p, sel),
            None => (self.input.as_str(), ""),
        };
        let sel = TrackSelector::parse(sel)
            .map_err(|e| Error::Usage(format!("input '{}': {e}", self.input)))?;
        Ok((PathBuf::from(p), sel))
    }
}

/// Encryption settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ProtectionOptions {
    /// `cenc` or `cbcs`.
    pub scheme: String,
    /// Raw keys: `label=VIDEO,kid=HEX,key=HEX`.
    #[serde(default)]
    pub keys: Vec<String>,
    pub key_file: Option<PathBuf>,
    /// `per-tier` (AUDIO, SD, HD; default) or `single`, for generated keys.
    pub key_policy: Option<String>,
    /// Fixed IV (hex) for reproducible output.
    pub iv: Option<String>,
    /// Per-sample IV size for `cenc`: 8 (default) or 16 bytes.
    pub iv_size: Option<u8>,
    #[serde(default)]
    pub clear_lead: f64,
    /// DRM systems to signal: clearkey, widevine, playready, fairplay.
    #[serde(default)]
    pub drm: Vec<String>,
    pub clearkey_license_url: Option<String>,
    pub playready_license_url: Option<String>,
    /// Write key references (KID + label) without key bytes in the key manifest.
    #[serde(default)]
    pub key_references: bool,
}

/// A whole packaging job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageJob {
    pub inputs: Vec<InputSpec>,
    pub out: PathBuf,
    #[serde(default = "default_segment_duration")]
    pub segment_duration: f64,
    #[serde(default)]
    pub single_file: bool,
    #[serde(default)]
    pub cut_at_common_keyframes: bool,
    pub asset_id: Option<String>,
    pub protection: Option<ProtectionOptions>,
    /// Where the key manifest goes (default `OUT/key-manifest.json`).
    pub key_manifest: Option<PathBuf>,
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
}

fn default_segment_duration() -> f64 {
    4.0
}

impl PackageJob {
    /// Reads a job file; `.toml` is TOML, anything else JSON. Relative paths in it are relative
    /// to the job file's folder.
    pub fn from_file(path: &Path) -> Result<PackageJob> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let mut job: PackageJob = if path.extension().is_some_and(|e| e == "toml") {
            toml::from_str(&text).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?
        } else {
            serde_json::from_str(&text)
                .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?
        };
        let base = path.parent().unwrap_or(Path::new("."));
        for i in &mut job.inputs {
            if Path::new(&i.input).is_relative() {
                i.input = base.join(&i.input).to_string_lossy().into_owned();
            }
        }
        if job.out.is_relative() {
            job.out = base.join(&job.out);
        }
        Ok(job)
    }

    /// Checks values before anything is read or written.
    pub fn validate(&self) -> Result<()> {
        if self.inputs.is_empty() {
            return Err(Error::Usage("no inputs given".into()));
        }
        if !(2.0..=6.0).contains(&self.segment_duration) || !self.segment_duration.is_finite() {
            return Err(Error::Usage(format!(
                "--segment-duration {} is out of range: segments must be 2 to 6 seconds",
                self.segment_duration
            )));
        }
        for i in &self.inputs {
            i.validate()?;
        }
        if let Some(p) = &self.protection {
            if p.scheme != "cenc" && p.scheme != "cbcs" {
                return Err(Error::Usage(format!(
                    "--protection '{}' must be 'cenc' or 'cbcs'",
                    p.scheme
                )));
            }
            if !(0.0..=3600.0).contains(&p.clear_lead) {
                return Err(Error::Usage(format!(
                    "--clear-lead {} must be between 0 and 3600 seconds",
                    p.clear_lead
                )));
            }
        }
        Ok(())
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
        job.validate().unwrap();
        let bad = PackageJob {
            segment_duration: 7.0,
            ..job
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("2 to 6 seconds"));
    }
}
