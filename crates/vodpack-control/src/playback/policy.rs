//! Playback policy: entitlement, geo restrictions per asset, and the choice of protocol, scheme
//! and key system for a device. [`Policy`] is the trait a backend implements; [`FilePolicy`] is
//! the embedded default, a TOML or JSON file reloaded without restart when it changes.
//! The file format is documented in `docs/control-plane.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::playback::key_manifest::KeyManifest;
use crate::tokens::identity::IdentityClaims;

/// Largest policy file read.
pub const MAX_POLICY_BYTES: u64 = 1024 * 1024;

/// EME key system names and the key manifest's DRM system names.
pub const KEY_SYSTEMS: [(&str, &str); 4] = [
    ("org.w3.clearkey", "clearkey"),
    ("com.widevine.alpha", "widevine"),
    ("com.microsoft.playready", "playready"),
    ("com.apple.fps", "fairplay"),
];

/// The device as described in a playback start request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// Platform name, e.g. `web`, `safari`, `android`, `tv`.
    pub platform: String,
    /// Protocols the device plays: `hls`, `dash`.
    pub protocols: Vec<String>,
    /// EME key systems the device supports, e.g. `org.w3.clearkey`.
    #[serde(default)]
    pub key_systems: Vec<String>,
    /// Encryption schemes the device supports: `cenc`, `cbcs`.
    #[serde(default)]
    pub schemes: Vec<String>,
}

/// What the policy decides for one request.
pub struct PolicyContext<'a> {
    /// The verified identity.
    pub identity: &'a IdentityClaims,
    /// The asset's key manifest.
    pub asset: &'a KeyManifest,
    /// The device.
    pub device: &'a Device,
    /// ISO 3166-1 alpha-2 country, upper case, if known.
    pub country: Option<&'a str>,
}

/// A positive decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `hls` or `dash`.
    pub protocol: String,
    /// The EME key system to use; `None` for clear assets.
    pub key_system: Option<String>,
    /// Licence URLs of vendor key systems (EME name → URL) the device supports.
    pub vendor_licence_urls: BTreeMap<String, String>,
    /// How long the session's URLs and licence token stay valid, in seconds.
    pub session_ttl_secs: u64,
}

/// Why playback is refused (HTTP 403).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialReason {
    /// The subject's plans or id do not grant the asset.
    NotEntitled,
    /// The client's country is not allowed for the asset (or unknown where an allow list exists).
    GeoBlocked,
    /// No protocol, scheme or key system in common with the device.
    UnsupportedDevice,
}

impl DenialReason {
    /// The machine-readable reason.
    pub fn as_str(&self) -> &'static str {
        match self {
            DenialReason::NotEntitled => "not_entitled",
            DenialReason::GeoBlocked => "geo_blocked",
            DenialReason::UnsupportedDevice => "unsupported_device",
        }
    }
}

/// A refusal with a human-readable message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The reason.
    pub reason: DenialReason,
    /// Details for humans.
    pub message: String,
}

/// A source of playback decisions.
pub trait Policy: Send + Sync {
    /// Decides whether and how the identity may play the asset on the device.
    fn decide(&self, ctx: &PolicyContext<'_>) -> std::result::Result<Decision, Denial>;
}

/// Rules for one asset (or the default for unlisted assets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssetRule {
    /// Plans that may play; `"*"` admits every authenticated subject.
    #[serde(default)]
    pub plans: Vec<String>,
    /// Subjects that may play whatever their plans.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Countries allowed; empty means everywhere.
    #[serde(default)]
    pub geo_allow: Vec<String>,
    /// Countries refused.
    #[serde(default)]
    pub geo_deny: Vec<String>,
}

/// Preferences for devices of a platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceRule {
    /// Platform name, or `"*"` for any.
    pub platform: String,
    /// Protocols in order of preference.
    #[serde(default = "default_protocols")]
    pub protocols: Vec<String>,
    /// EME key systems in order of preference.
    #[serde(default = "default_key_systems")]
    pub key_systems: Vec<String>,
}

fn default_protocols() -> Vec<String> {
    vec!["dash".into(), "hls".into()]
}

fn default_key_systems() -> Vec<String> {
    KEY_SYSTEMS.iter().map(|(eme, _)| eme.to_string()).collect()
}

fn default_ttl() -> u64 {
    3600
}

/// The policy document (file contents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    /// Rule for assets not listed in `assets`; absent means unlisted assets are not entitled.
    #[serde(default)]
    pub default: Option<AssetRule>,
    /// Rules per asset id.
    #[serde(default)]
    pub assets: BTreeMap<String, AssetRule>,
    /// Device preferences, first matching platform wins (then `"*"`).
    #[serde(default)]
    pub devices: Vec<DeviceRule>,
    /// Vendor licence server URLs by DRM system name (`widevine`, `playready`, `fairplay`).
    #[serde(default)]
    pub licence_servers: BTreeMap<String, String>,
    /// Session lifetime in seconds (manifest URL token, licence token).
    #[serde(default = "default_ttl")]
    pub session_ttl_secs: u64,
}

impl Default for PolicyDoc {
    /// The permissive policy of a local `vodpack serve` with no policy file: every authenticated
    /// subject may play, anywhere, DASH preferred.
    fn default() -> Self {
        PolicyDoc {
            default: Some(AssetRule {
                plans: vec!["*".into()],
                ..AssetRule::default()
            }),
            assets: BTreeMap::new(),
            devices: Vec::new(),
            licence_servers: BTreeMap::new(),
            session_ttl_secs: default_ttl(),
        }
    }
}

impl PolicyDoc {
    /// Parses a policy from TOML or JSON text.
    pub fn parse(text: &str, json: bool) -> Result<Self> {
        let doc: PolicyDoc = if json {
            serde_json::from_str(text).map_err(|e| Error::Config(format!("policy JSON: {e}")))?
        } else {
            toml::from_str(text).map_err(|e| Error::Config(format!("policy TOML: {e}")))?
        };
        doc.validate()?;
        Ok(doc)
    }

    fn validate(&self) -> Result<()> {
        let rules = self.default.iter().chain(self.assets.values());
        for rule in rules {
            for c in rule.geo_allow.iter().chain(&rule.geo_deny) {
                if !is_country(c) {
                    return Err(Error::Config(format!(
                        "policy: country {c:?} must be an ISO 3166-1 alpha-2 code in upper case"
                    )));
                }
            }
        }
        for d in &self.devices {
            for p in &d.protocols {
                if p != "hls" && p != "dash" {
                    return Err(Error::Config(format!(
                        "policy: protocol {p:?} is not hls or dash"
                    )));
                }
            }
            for k in &d.key_systems {
                if !KEY_SYSTEMS.iter().any(|(eme, _)| eme == k) {
                    return Err(Error::Config(format!(
                        "policy: key system {k:?} is unknown"
                    )));
                }
            }
        }
        for s in self.licence_servers.keys() {
            if !matches!(s.as_str(), "widevine" | "playready" | "fairplay") {
                return Err(Error::Config(format!(
                    "policy: licence_servers.{s}: only widevine, playready, fairplay (Clear Key is served by vodpack)"
                )));
            }
        }
        if self.session_ttl_secs == 0 || self.session_ttl_secs > 7 * 24 * 3600 {
            return Err(Error::Config(
                "policy: session_ttl_secs must be 1..=604800".into(),
            ));
        }
        Ok(())
    }
}

fn is_country(c: &str) -> bool {
    c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase())
}

fn deny(reason: DenialReason, message: String) -> Denial {
    Denial { reason, message }
}

impl Policy for PolicyDoc {
    fn decide(&self, ctx: &PolicyContext<'_>) -> std::result::Result<Decision, Denial> {
        let asset = ctx.asset;
        let rule = self
            .assets
            .get(&asset.asset_id)
            .or(self.default.as_ref())
            .ok_or_else(|| {
                deny(
                    DenialReason::NotEntitled,
                    format!("no rule grants asset {:?}", asset.asset_id),
                )
            })?;
        let entitled = rule.subjects.contains(&ctx.identity.sub)
            || rule
                .plans
                .iter()
                .any(|p| p == "*" || ctx.identity.plans.contains(p));
        if !entitled {
            return Err(deny(
                DenialReason::NotEntitled,
                format!("subject is not entitled to asset {:?}", asset.asset_id),
            ));
        }
        if let Some(c) = ctx.country {
            if rule.geo_deny.iter().any(|d| d == c) {
                return Err(deny(
                    DenialReason::GeoBlocked,
                    format!("asset is not available in {c}"),
                ));
            }
        }
        if !rule.geo_allow.is_empty()
            && !ctx
                .country
                .is_some_and(|c| rule.geo_allow.iter().any(|a| a == c))
        {
            return Err(deny(
                DenialReason::GeoBlocked,
                match ctx.country {
                    Some(c) => format!("asset is not available in {c}"),
                    None => "asset is geo-restricted and the country is unknown".into(),
                },
            ));
        }

        let device_rule = self
            .devices
            .iter()
            .find(|d| d.platform == ctx.device.platform)
            .or_else(|| self.devices.iter().find(|d| d.platform == "*"));
        let protocols = device_rule.map_or_else(default_protocols, |d| d.protocols.clone());
        let protocol = protocols
            .iter()
            .find(|p| {
                ctx.device.protocols.contains(p)
                    && match asset.manifest_for(p) {
                        // A two-scheme asset: the manifest of a scheme the device plays.
                        Some((_, Some(scheme))) if !asset.schemes.is_empty() => {
                            ctx.device.schemes.iter().any(|s| s == scheme)
                        }
                        Some(_) => true,
                        None => false,
                    }
            })
            .ok_or_else(|| {
                deny(
                    DenialReason::UnsupportedDevice,
                    "no protocol in common between the device and the asset".into(),
                )
            })?
            .clone();

        let mut key_system = None;
        let mut vendor_licence_urls = BTreeMap::new();
        let scheme = asset
            .manifest_for(&protocol)
            .and_then(|(_, s)| s.map(str::to_string));
        if let Some(scheme) = &scheme {
            if !ctx.device.schemes.contains(scheme) {
                return Err(deny(
                    DenialReason::UnsupportedDevice,
                    format!("the device does not support the {scheme} scheme"),
                ));
            }
            // Clear Key is issued by vodpack itself, so it needs the key bytes; vendor systems
            // need their PSSH in the asset and a licence server in the policy.
            let raw_keys = !asset.keys.is_empty() && asset.keys.iter().all(|k| k.key.is_some());
            let available = |eme: &str| -> bool {
                let Some((_, system)) = KEY_SYSTEMS.iter().find(|(e, _)| *e == eme) else {
                    return false;
                };
                if *system == "clearkey" {
                    raw_keys
                } else {
                    asset
                        .drm_systems_for(scheme)
                        .iter()
                        .any(|d| d.system == *system)
                        && self.licence_servers.contains_key(*system)
                }
            };
            for (eme, system) in KEY_SYSTEMS {
                if *system != *"clearkey"
                    && available(eme)
                    && ctx.device.key_systems.iter().any(|k| k == eme)
                {
                    vendor_licence_urls
                        .insert(eme.to_string(), self.licence_servers[system].clone());
                }
            }
            let preference =
                device_rule.map_or_else(default_key_systems, |d| d.key_systems.clone());
            key_system = Some(
                preference
                    .iter()
                    .find(|k| ctx.device.key_systems.contains(k) && available(k))
                    .ok_or_else(|| {
                        deny(
                            DenialReason::UnsupportedDevice,
                            "no key system in common between the device and the asset".into(),
                        )
                    })?
                    .clone(),
            );
        }
        Ok(Decision {
            protocol,
            key_system,
            vendor_licence_urls,
            session_ttl_secs: self.session_ttl_secs,
        })
    }
}

/// How [`FilePolicy`] watches its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReloadOptions {
    /// How often the file's metadata is looked at.
    pub poll_interval: Duration,
    /// How long a changed file must stay unchanged (size, mtime, inode) before it is read.
    pub settle: Duration,
}

impl Default for ReloadOptions {
    /// Poll every 250 ms; a change must be stable for 500 ms.
    fn default() -> Self {
        ReloadOptions {
            poll_interval: Duration::from_millis(250),
            settle: Duration::from_millis(500),
        }
    }
}

/// The embedded policy source: a TOML (`.toml`) or JSON (any other extension) file, watched by a
/// background thread, so that a decision never waits for the disk. A new version is accepted
/// only when it is a regular file (a FIFO or device is never opened), not empty, no larger than
/// [`MAX_POLICY_BYTES`], unchanged for [`ReloadOptions::settle`] before and while it is read,
/// and parses and validates whole. Otherwise the reason is reported on stderr (once per version)
/// and the last good policy stays in force. Replacing the file by an atomic rename is the
/// recommended way to edit it; an in-place edit is picked up once it has been stable briefly.
pub struct FilePolicy {
    shared: Arc<Shared>,
}

struct Shared {
    path: PathBuf,
    doc: RwLock<Arc<PolicyDoc>>,
    last_error: Mutex<Option<String>>,
}

/// What identifies a version of the file.
type Stamp = (Option<SystemTime>, u64, u64);

impl FilePolicy {
    /// Loads the policy at `path` and starts watching it with the default [`ReloadOptions`]; an
    /// invalid file (or one that is not a regular file) is an error here.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        Self::load_with(path, ReloadOptions::default())
    }

    /// [`FilePolicy::load`] with explicit reload options.
    pub fn load_with(path: impl AsRef<Path>, options: ReloadOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let (stamp, doc) = read_policy(&path)?;
        let shared = Arc::new(Shared {
            path,
            doc: RwLock::new(Arc::new(doc)),
            last_error: Mutex::new(None),
        });
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("vodpack-policy-watch".into())
            .spawn(move || watch(weak, stamp, options))
            .map_err(|e| Error::Io(format!("policy watcher thread: {e}")))?;
        Ok(FilePolicy { shared })
    }

    /// The policy in force (never touches the disk).
    pub fn current(&self) -> Arc<PolicyDoc> {
        self.shared
            .doc
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The error of the last refused version, if the file currently holds one.
    pub fn last_error(&self) -> Option<String> {
        self.shared
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Policy for FilePolicy {
    fn decide(&self, ctx: &PolicyContext<'_>) -> std::result::Result<Decision, Denial> {
        self.current().decide(ctx)
    }
}

/// The watcher: runs until the [`FilePolicy`] is dropped.
fn watch(shared: Weak<Shared>, mut loaded: Stamp, options: ReloadOptions) {
    // A changed stamp and when it was first seen unchanged.
    let mut candidate: Option<(Stamp, Instant)> = None;
    let mut reported: Option<Stamp> = None;
    loop {
        std::thread::sleep(options.poll_interval);
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let report = |stamp: Stamp, reported: &mut Option<Stamp>, msg: String| {
            if *reported != Some(stamp) {
                eprintln!("vodpack: policy reload refused, keeping the previous policy: {msg}");
                *reported = Some(stamp);
            }
            *shared.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(msg);
        };
        let stamp = match stat(&shared.path) {
            Ok(s) => s,
            Err(e) => {
                // Missing for now (e.g. mid-rename): keep the policy, wait for it.
                report(
                    (None, 0, 0),
                    &mut reported,
                    format!("{}: {e}", shared.path.display()),
                );
                candidate = None;
                continue;
            }
        };
        if stamp == loaded {
            candidate = None;
            continue;
        }
        match candidate {
            Some((c, since)) if c == stamp => {
                if since.elapsed() < options.settle {
                    continue;
                }
            }
            _ => {
                candidate = Some((stamp, Instant::now()));
                continue;
            }
        }
        // Stable long enough: read it (off the request path), and accept it only if it did not
        // change while being read.
        match read_policy(&shared.path) {
            Ok((read_stamp, doc))
                if read_stamp == stamp && stat(&shared.path).ok() == Some(stamp) =>
            {
                *shared.doc.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(doc);
                *shared.last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
                loaded = stamp;
                candidate = None;
                reported = None;
            }
            Ok(_) => candidate = None,
            Err(e) => {
                report(stamp, &mut reported, e.to_string());
                // Do not retry this version; wait for the next change.
                loaded = stamp;
                candidate = None;
            }
        }
    }
}

fn stat(path: &Path) -> std::io::Result<Stamp> {
    let m = std::fs::metadata(path)?;
    Ok((m.modified().ok(), m.len(), inode(&m)))
}

#[cfg(unix)]
fn inode(m: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    m.ino()
}

#[cfg(not(unix))]
fn inode(_: &std::fs::Metadata) -> u64 {
    0
}

fn read_policy(path: &Path) -> Result<(Stamp, PolicyDoc)> {
    use std::io::Read;
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
    let before = std::fs::metadata(path).map_err(io)?;
    // Never open a FIFO, socket or device: opening a FIFO blocks until a writer appears.
    if !before.is_file() {
        return Err(Error::Config(format!(
            "{}: the policy must be a regular file",
            path.display()
        )));
    }
    if before.len() == 0 {
        return Err(Error::Config(format!(
            "{}: the policy file is empty (an edit in progress?)",
            path.display()
        )));
    }
    if before.len() > MAX_POLICY_BYTES {
        return Err(Error::Config(format!(
            "{}: policy larger than {MAX_POLICY_BYTES} bytes",
            path.display()
        )));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    // The file opened must be the regular file looked at (not swapped in between).
    let opened = file.metadata().map_err(io)?;
    if !opened.is_file() || inode(&opened) != inode(&before) {
        return Err(Error::Config(format!(
            "{}: the policy file changed while being opened",
            path.display()
        )));
    }
    let mut text = String::new();
    file.take(MAX_POLICY_BYTES + 1)
        .read_to_string(&mut text)
        .map_err(io)?;
    let stamp = (opened.modified().ok(), text.len() as u64, inode(&opened));
    let json = path.extension().is_none_or(|e| e != "toml");
    let doc = PolicyDoc::parse(&text, json)
        .map_err(|e| Error::Config(format!("{}: {}", path.display(), e.detail())))?;
    Ok((stamp, doc))
}

#[cfg(test)]
mod two_scheme_tests {
    use super::*;
    use crate::playback::key_manifest::{KeyManifest, ManifestPaths};

    /// The sample asset as a `dash=cenc,hls=cbcs` output, every key given (Clear Key possible).
    fn two_scheme_asset() -> KeyManifest {
        let mut m = crate::playback::key_manifest::tests::sample();
        m.keys.retain(|k| k.key.is_some());
        let label = m.keys[0].label.clone();
        for r in &mut m.renditions {
            if r.key_label.is_some() {
                r.key_label = Some(label.clone());
                r.kid = None;
            }
        }
        m.manifests = ManifestPaths {
            hls: Some("master.m3u8".into()),
            dash: Some("manifest.mpd".into()),
        };
        m.protection_scheme = Some("cenc".into());
        m.schemes =
            crate::playback::key_manifest::tests::scheme_pair(&m.drm_systems, |_| Vec::new());
        m.validate().unwrap();
        m
    }

    fn decide(asset: &KeyManifest, schemes: &[&str]) -> std::result::Result<Decision, Denial> {
        let identity = IdentityClaims {
            sub: "u".into(),
            aud: "a".into(),
            exp: u64::MAX,
            iat: 0,
            plans: Vec::new(),
        };
        let device = Device {
            platform: "web".into(),
            protocols: vec!["dash".into(), "hls".into()],
            key_systems: vec!["org.w3.clearkey".into()],
            schemes: schemes.iter().map(|s| s.to_string()).collect(),
        };
        PolicyDoc::default().decide(&PolicyContext {
            identity: &identity,
            asset,
            device: &device,
            country: None,
        })
    }

    #[test]
    fn the_manifest_follows_the_device_scheme() {
        let asset = two_scheme_asset();
        // DASH is preferred; a cenc device gets the MPD (cenc set).
        let d = decide(&asset, &["cenc"]).unwrap();
        assert_eq!(d.protocol, "dash");
        assert_eq!(
            asset.manifest_for(&d.protocol),
            Some(("manifest.mpd", Some("cenc")))
        );
        // A cbcs-only device gets the playlists (cbcs set), though it also plays DASH.
        let d = decide(&asset, &["cbcs"]).unwrap();
        assert_eq!(d.protocol, "hls");
        assert_eq!(
            asset.manifest_for(&d.protocol),
            Some(("master.m3u8", Some("cbcs")))
        );
        // Neither scheme: refused.
        let e = decide(&asset, &[]).unwrap_err();
        assert_eq!(e.reason, DenialReason::UnsupportedDevice);
    }

    #[test]
    fn scheme_lists_are_checked_and_old_files_load() {
        let good = two_scheme_asset();
        let mut m = good.clone();
        m.schemes[1].scheme = "cenc".into();
        assert!(m.validate().is_err());
        let mut m = good.clone();
        m.protection_scheme = Some("cbcs".into());
        m.schemes.truncate(1);
        assert!(m.validate().is_err());
        let mut m = good.clone();
        m.schemes[0].manifests.hls = Some("other.m3u8".into());
        assert!(m
            .validate()
            .unwrap_err()
            .to_string()
            .contains("two schemes"));
        // A one-scheme file (no `schemes`) reads as before, and a two-scheme one round-trips.
        let one = crate::playback::key_manifest::tests::sample();
        let text = one.to_json_pretty().unwrap();
        assert!(!text.contains("\"schemes\""));
        let back: KeyManifest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, one);
        assert_eq!(
            one.manifest_for("dash").map(|(_, s)| s),
            Some(one.protection_scheme.as_deref())
        );
        let text = good.to_json_pretty().unwrap();
        let back: KeyManifest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, good);
    }
}
