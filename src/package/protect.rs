//! From the typed protection arguments to per-rendition encryption: keys resolved (given, from a key file or
//! generated), renditions mapped to key labels, and for each rendition its encryptor, its
//! encv/enca sample entry with sinf, its pssh boxes and its manifest signalling. Every key
//! problem is found here, before any output is written.
use super::args::ProtectionArgs;
use super::source::RenditionSource;
use crate::cenc::keys::{self, key_for_label, label_for, KeySpec};
use crate::cenc::pssh::{pssh_base64, pssh_for, DrmSystem};
use crate::cenc::{boxes, IvSource, NalFormat, SampleEncryptor, Scheme, VideoCodec, VideoLayout};
use crate::error::{Error, Result};
use crate::manifest::model::{AssetProtection, DrmSignal, RenditionProtection};
use crate::media::TrackKind;
use crate::segment::writer::{ProtectionJob, TsSetCrypto};
use vodpack_control::key_manifest::{DrmSystemEntry, KeyEntry, PsshEntry};

/// Keys and DRM data that end up in the key manifest.
#[derive(Debug, Default)]
pub struct KeyMaterial {
    /// The keys (or key references) of the labels in use.
    pub entries: Vec<KeyEntry>,
    /// Each DRM system with its pssh per key label.
    pub drm_systems: Vec<DrmSystemEntry>,
}

/// The asset's resolved protection.
#[derive(Debug)]
pub struct AssetKeys {
    /// The scheme of the segment set these keys encrypt.
    pub scheme: Scheme,
    /// Every key (given, from the key file, or generated).
    pub keys: Vec<KeySpec>,
    /// Key label of each rendition source, in order.
    pub labels: Vec<String>,
    /// The DRM systems signalled.
    pub drm: Vec<DrmSystem>,
    /// Seconds at the start left clear.
    pub clear_lead: f64,
    iv: Option<Vec<u8>>,
    iv_size: u8,
    playready_la_url: Option<String>,
    clearkey_la_url: Option<String>,
    key_references: bool,
    /// The CPIX document the keys came from (its signalling is used verbatim).
    cpix: Option<std::sync::Arc<crate::cenc::cpix::LoadedCpix>>,
    /// `--cpix-export` and its recipient.
    export: Option<(
        std::path::PathBuf,
        Option<crate::cenc::cpix::crypto::Recipient>,
    )>,
    schemes: super::args::Schemes,
    classes: keys::KeyClasses,
    asset_id: String,
}

/// The encryption of one rendition.
pub struct RenditionCrypto {
    /// What the segment writer needs: the encryptor and the clear lead.
    pub job: ProtectionJob,
    /// The encv/enca sample entry with its sinf.
    pub sample_entry: Vec<u8>,
    /// pssh boxes for the init segment.
    pub pssh: Vec<Vec<u8>>,
    /// What the manifests and the key manifest say about it.
    pub signal: RenditionProtection,
}

/// The sample structure of a video rendition for subsample encryption; `None` for audio and
/// other tracks (whole-sample encryption).
fn video_layout(src: &RenditionSource) -> Result<Option<VideoLayout>> {
    let (track, codec) = (&src.track, &src.codec);
    if codec.fourcc == "ac-4" {
        // Shaka Packager 3.8 parses each AC-4 frame's table of contents (ETSI TS 103 190-1
        // §4.2.2 ac4_toc) and protects only the substream data after it; whole-sample
        // encryption would hide the TOC a decrypting device reads. vodpack has no ac4_toc
        // parser yet (docs/audio-signalling.md).
        return Err(Error::unsupported(
            &src.path,
            format!(
                "track {} (rendition '{}'): encrypting AC-4 is not supported yet (its frames' table of contents must stay clear); it packages clear",
                track.id, src.id
            ),
        ));
    }
    if track.kind != TrackKind::Video {
        return Ok(None);
    }
    let nal = |codec_kind| {
        VideoLayout::Nal(NalFormat {
            codec: codec_kind,
            nal_length_size: codec.nal_length_size.unwrap_or(4),
            parameter_sets: codec.parameter_sets.clone(),
        })
    };
    // Dolby Vision entries by their base codec's rules (dvh1/dvhe as HEVC, dav1 as AV1).
    Ok(Some(match codec.base_fourcc() {
        "avc1" | "avc3" => nal(VideoCodec::Avc),
        "hvc1" | "hev1" => nal(VideoCodec::Hevc),
        // The av1C configOBUs are kept as the entry's one "parameter set".
        "av01" => VideoLayout::Av1 {
            config_obus: codec.parameter_sets.concat(),
        },
        "vp09" => VideoLayout::Vp9,
        "vp08" => VideoLayout::Vp8,
        other => {
            return Err(Error::unsupported(
                &src.path,
                format!(
                    "track {} (rendition '{}'): encrypting '{other}' video is not supported (H.264, HEVC, AV1, VP9, VP8 and Dolby Vision are)",
                    track.id, src.id
                ),
            ))
        }
    }))
}

/// Resolves keys and labels for all renditions under `scheme`: the given keys and the key file,
/// or keys generated for the labels in use; every rendition must find its key.
pub fn resolve(
    opts: &ProtectionArgs,
    scheme: Scheme,
    sources: &[RenditionSource],
) -> Result<AssetKeys> {
    let export = match &opts.cpix_export {
        Some(path) => Some((
            path.clone(),
            opts.cpix_recipient
                .as_deref()
                .map(crate::cenc::cpix::crypto::load_certificate)
                .transpose()?,
        )),
        None => None,
    };
    if opts.cpix.is_some() || opts.speke.is_some() {
        let c = super::cpix_keys::resolve(opts, sources)?;
        for s in sources {
            video_layout(s)?;
        }
        return Ok(AssetKeys {
            scheme,
            keys: c.keys,
            labels: c.labels,
            drm: c.drm,
            clear_lead: opts.clear_lead,
            iv: opts.iv.clone(),
            iv_size: opts.iv_size,
            playready_la_url: opts.playready_license_url.clone(),
            clearkey_la_url: opts.clearkey_license_url.clone(),
            key_references: opts.key_references,
            cpix: Some(std::sync::Arc::new(c.loaded)),
            export,
            schemes: opts.schemes,
            classes: opts.classes,
            asset_id: opts.asset_id.clone(),
        });
    }
    let policy = opts.policy.unwrap_or_default();
    let mut given: Vec<KeySpec> = opts.keys.clone();
    if let Some(f) = &opts.key_file {
        given.extend(keys::load_key_file(f)?);
    }
    // A key labelled ALL (or given without a label) encrypts every rendition, like Shaka
    // Packager's empty label; otherwise renditions take the label of their class.
    let single_given =
        given.len() == 1 && given[0].label == keys::LABEL_ALL && opts.policy.is_none();
    let labels: Vec<String> = sources
        .iter()
        .map(|s| match &s.spec.key_label {
            Some(l) => l.clone(),
            None if single_given => given[0].label.clone(),
            None => label_for(
                policy,
                s.track.kind,
                s.codec.width,
                s.codec.height,
                &opts.classes,
            )
            .to_string(),
        })
        .collect();
    let keys = if given.is_empty() {
        let mut needed: Vec<&str> = Vec::new();
        for l in &labels {
            if !needed.contains(&l.as_str()) {
                needed.push(l);
            }
        }
        keys::generate_keys(&needed)?
    } else {
        keys::validate_keys(&given)?;
        given
    };
    for (s, l) in sources.iter().zip(&labels) {
        key_for_label(&keys, l, &s.id)?;
        video_layout(s)?;
    }
    Ok(AssetKeys {
        scheme,
        keys,
        labels,
        drm: opts.drm.clone(),
        clear_lead: opts.clear_lead,
        iv: opts.iv.clone(),
        iv_size: opts.iv_size,
        playready_la_url: opts.playready_license_url.clone(),
        clearkey_la_url: opts.clearkey_license_url.clone(),
        key_references: opts.key_references,
        cpix: None,
        export,
        schemes: opts.schemes,
        classes: opts.classes,
        asset_id: opts.asset_id.clone(),
    })
}

impl AssetKeys {
    /// The same keys, labels, DRM systems, clear lead and IV options under another scheme: the
    /// second segment set of a two-scheme run (`dash=cenc,hls=cbcs`) shares every KID and key.
    pub fn with_scheme(&self, scheme: Scheme) -> AssetKeys {
        AssetKeys {
            scheme,
            keys: self.keys.clone(),
            labels: self.labels.clone(),
            drm: self.drm.clone(),
            clear_lead: self.clear_lead,
            iv: self.iv.clone(),
            iv_size: self.iv_size,
            playready_la_url: self.playready_la_url.clone(),
            clearkey_la_url: self.clearkey_la_url.clone(),
            key_references: self.key_references,
            cpix: self.cpix.clone(),
            export: self.export.clone(),
            schemes: self.schemes,
            classes: self.classes,
            asset_id: self.asset_id.clone(),
        }
    }

    /// The `--cpix-export` path and document of this set's run (`signals`: its renditions').
    pub fn cpix_export(
        &self,
        signals: &[Option<RenditionProtection>],
    ) -> Result<Option<(std::path::PathBuf, String)>> {
        let Some((path, recipient)) = &self.export else {
            return Ok(None);
        };
        let text = super::cpix_keys::export_document(
            &self.asset_id,
            &self.keys,
            self.schemes,
            signals,
            self.cpix.as_deref(),
            &self.classes,
            recipient.as_ref(),
        )?;
        Ok(Some((path.clone(), text)))
    }

    /// The document's explicit IV for the key of rendition `index`, when it gives one.
    fn explicit_iv(&self, index: usize) -> Option<Vec<u8>> {
        let c = self.cpix.as_ref()?;
        let key = self.keys.iter().find(|k| k.label == self.labels[index])?;
        c.keys
            .iter()
            .find(|p| p.kid == key.kid)
            .and_then(|p| p.explicit_iv.clone())
    }

    /// The asset-wide protection the manifests signal.
    pub fn asset_protection(&self) -> AssetProtection {
        AssetProtection {
            scheme: self.scheme.as_str().into(),
            clearkey_license_url: self.clearkey_la_url.clone(),
            hls_iv: None,
        }
    }

    /// The keys of a TS set encrypted with `method`: SAMPLE-AES gets one IV for every segment,
    /// written in the key tag (`--iv` of 16 bytes, else random), because ffmpeg's HLS demuxer
    /// decrypts the last frame of a segment once it reads the next segment, with that segment's
    /// IV; AES-128 keeps `--iv` of 16 bytes, else each segment's media sequence number.
    pub fn for_ts(&self, method: crate::ts::encrypt::TsMethod) -> AssetKeys {
        let mut k = self.with_scheme(self.scheme);
        let given = k.iv.as_ref().is_some_and(|iv| iv.len() == 16);
        if method == crate::ts::encrypt::TsMethod::SampleAes && !given {
            k.iv = Some(rand::random::<[u8; 16]>().to_vec());
        }
        k
    }

    /// The protection a TS set's manifests signal: its method, and the IV of `--iv` when it
    /// has 16 bytes.
    pub fn ts_asset_protection(&self, method: crate::ts::encrypt::TsMethod) -> AssetProtection {
        AssetProtection {
            scheme: method.as_str().into(),
            clearkey_license_url: None,
            hls_iv: self
                .iv
                .as_deref()
                .and_then(|iv| <[u8; 16]>::try_from(iv).ok()),
        }
    }

    /// The IV source of rendition `index`: random, or derived from `--iv` so that renditions
    /// sharing a key never share IVs (the rendition index is added to the IV's first byte).
    fn iv_source(&self, index: usize) -> Result<IvSource> {
        if let Some(iv) = self.explicit_iv(index) {
            return Ok(IvSource::explicit(&iv)?);
        }
        match &self.iv {
            // cbcs: a random constant 16-byte IV; cenc: random per-sample IVs of iv_size bytes.
            None => Ok(IvSource::random(if self.scheme == Scheme::Cbcs {
                16
            } else {
                self.iv_size
            })?),
            Some(iv) => {
                let mut bytes = iv.clone();
                if let Some(first) = bytes.first_mut() {
                    *first = first.wrapping_add(index as u8);
                }
                Ok(IvSource::explicit(&bytes)?)
            }
        }
    }

    /// Every KID the asset uses, in key order. Each pssh lists them all (as Shaka Packager does):
    /// a CDM session opened from any rendition's init data then asks for every key, which players
    /// that keep one Clear Key session (hls.js 1.7) need when audio and video use different keys.
    fn asset_kids(&self) -> Vec<[u8; 16]> {
        self.keys
            .iter()
            .filter(|k| self.labels.contains(&k.label))
            .map(|k| k.kid)
            .collect()
    }

    /// Everything needed to encrypt and signal rendition `index`.
    pub fn rendition(
        &self,
        index: usize,
        src: &RenditionSource,
        segment_starts_secs: &[f64],
    ) -> Result<RenditionCrypto> {
        let label = &self.labels[index];
        let key = key_for_label(&self.keys, label, &src.id)?;
        let encryptor = SampleEncryptor::new(
            self.scheme,
            key.key,
            self.iv_source(index)?,
            video_layout(src)?,
        )
        .map_err(|e| e.in_file(&src.path))?;
        let tenc = encryptor.tenc_params(key.kid);
        let sinf = boxes::sinf(src.track.fourcc(), self.scheme, &tenc);
        let sample_entry = boxes::encrypt_sample_entry(
            &src.track.sample_entry,
            src.track.kind == TrackKind::Video,
            &sinf,
        )
        .map_err(|e| e.in_file(&src.path))?;
        let mut pssh = Vec::new();
        let mut drm = Vec::new();
        for &system in &self.drm {
            // A CPIX document's signalling for this system and key is used as it is.
            let doc_system = self
                .cpix
                .as_ref()
                .and_then(|c| c.doc.drm_system(&system.system_id(), &key.kid));
            let from_doc = doc_system.and_then(|d| d.pssh.clone());
            let b = match from_doc {
                Some(b) => Some(b),
                None => pssh_for(
                    system,
                    &self.asset_kids(),
                    self.scheme,
                    self.playready_la_url.as_deref(),
                ),
            };
            if let Some(b) = &b {
                pssh.push(b.clone());
            }
            drm.push(DrmSignal {
                system,
                pssh: b,
                content_protection_data: doc_system.and_then(|d| d.content_protection_data.clone()),
                hls_key: doc_system.and_then(super::cpix_keys::hls_key_attributes),
                hls_uri: doc_system.and_then(|d| d.uri_ext_x_key.clone()),
            });
        }
        let clear_lead_segments = self.clear_lead_segments(segment_starts_secs);
        Ok(RenditionCrypto {
            job: ProtectionJob {
                encryptor,
                clear_lead_segments,
            },
            sample_entry,
            pssh,
            signal: RenditionProtection {
                key_label: label.clone(),
                default_kid: key.kid,
                drm,
                hls_key_uri: None,
            },
        })
    }

    /// Clear lead: segments that start before `clear_lead` seconds of presentation stay
    /// clear. Times count from the start of the presentation: a first segment that starts
    /// "before 0" (AAC priming cut by the edit list) starts at 0, so no clear lead means
    /// no clear segment at all.
    fn clear_lead_segments(&self, segment_starts_secs: &[f64]) -> usize {
        if self.clear_lead <= 0.0 {
            0
        } else {
            segment_starts_secs
                .iter()
                .filter(|&&t| t.max(0.0) < self.clear_lead - 1e-9)
                .count()
        }
    }

    /// The encryption of rendition `index` in a TS set (`method`; docs/mpeg-ts.md): its key,
    /// the IV every segment uses when `--iv` gives 16 bytes (written in the key tag; else each
    /// segment's media sequence number), the clear lead, and the key tag's URI.
    pub fn ts_rendition(
        &self,
        index: usize,
        src: &RenditionSource,
        segment_starts_secs: &[f64],
        method: crate::ts::encrypt::TsMethod,
        key_uri: &crate::ts::key_uri::KeyUriTemplate,
    ) -> Result<(TsSetCrypto, RenditionProtection)> {
        let label = &self.labels[index];
        let key = key_for_label(&self.keys, label, &src.id)?;
        let iv = self
            .iv
            .as_deref()
            .and_then(|iv| <[u8; 16]>::try_from(iv).ok());
        let uri = key_uri.render(&key.kid, label);
        Ok((
            TsSetCrypto {
                method,
                key: key.key,
                iv,
                clear_lead_segments: self.clear_lead_segments(segment_starts_secs),
            },
            RenditionProtection {
                key_label: label.clone(),
                default_kid: key.kid,
                drm: Vec::new(),
                hls_key_uri: Some(uri),
            },
        ))
    }

    /// Keys and DRM data for the key manifest (keys as references with `--key-references`).
    pub fn key_material(&self, signals: &[Option<RenditionProtection>]) -> KeyMaterial {
        let used: Vec<&KeySpec> = self
            .keys
            .iter()
            .filter(|k| self.labels.contains(&k.label))
            .collect();
        let entries = used
            .iter()
            .map(|k| KeyEntry {
                label: k.label.clone(),
                kid: k.kid_hex(),
                key: (!self.key_references).then(|| hex::encode(k.key)),
                key_ref: self.key_references.then(|| format!("kid:{}", k.kid_hex())),
                hls_key_uri: None,
            })
            .collect();
        let drm_systems = self
            .drm
            .iter()
            .map(|&system| {
                let mut pssh: Vec<PsshEntry> = Vec::new();
                for sig in signals.iter().flatten() {
                    let found = sig
                        .drm
                        .iter()
                        .find(|d| d.system == system)
                        .and_then(|d| d.pssh.as_ref());
                    if let Some(b) = found {
                        if !pssh.iter().any(|p| p.key_label == sig.key_label) {
                            pssh.push(PsshEntry {
                                key_label: sig.key_label.clone(),
                                data: pssh_base64(b),
                            });
                        }
                    }
                }
                DrmSystemEntry {
                    system: system.as_str().into(),
                    system_id: keys::uuid_string(&system.system_id()),
                    pssh,
                }
            })
            .collect();
        KeyMaterial {
            entries,
            drm_systems,
        }
    }
}
