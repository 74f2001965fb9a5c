//! The CPIX 2.3 document model and its reader: what vodpack uses of a document, read from the
//! element tree (dom.rs) as the schema lays it out (tests/data/schemas/cpix/cpix.xsd).
use super::dom::{self, Element};
use super::{cpix_err, NS_CPIX, NS_DS, NS_ENC, NS_PSKC};
use crate::error::Result;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

/// An `enc:EncryptedValue` (or the same two children written directly under an element, as
/// DASH-IF's test vectors write the MAC key): algorithm, optional OAEP digest, the cipher value
/// and the `pskc:ValueMAC` beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptedValue {
    /// `EncryptionMethod/@Algorithm`.
    pub algorithm: String,
    /// `EncryptionMethod/ds:DigestMethod/@Algorithm`, for RSA-OAEP (SHA-1 when absent).
    pub digest: Option<String>,
    /// `CipherData/CipherValue`, decoded (for AES-256-CBC: the IV, then the ciphertext).
    pub cipher: Vec<u8>,
    /// The sibling `pskc:ValueMAC`, decoded.
    pub mac: Option<Vec<u8>>,
}

/// One `DeliveryData`: a recipient's certificate, the document key wrapped for it and the MAC
/// method with its (wrapped) key.
#[derive(Debug, Clone)]
pub struct DeliveryData {
    /// The recipient's X.509 certificate (DER), when given.
    pub certificate: Option<Vec<u8>>,
    /// The document key, encrypted for the recipient.
    pub document_key: EncryptedValue,
    /// `MACMethod/@Algorithm` and its encrypted key.
    pub mac: Option<(String, EncryptedValue)>,
}

/// A content key's value as the document carries it.
#[derive(Debug, Clone)]
pub enum KeyValue {
    /// `pskc:PlainValue`.
    Plain(Vec<u8>),
    /// `pskc:EncryptedValue` (+ `ValueMAC`).
    Encrypted(EncryptedValue),
    /// No `Data`: a request, or a document that only signals.
    Absent,
}

/// One `ContentKey`.
#[derive(Debug, Clone)]
pub struct ContentKey {
    /// The KID.
    pub kid: [u8; 16],
    /// The key as written.
    pub value: KeyValue,
    /// `@explicitIV`, decoded.
    pub explicit_iv: Option<Vec<u8>>,
    /// `@commonEncryptionScheme` (`cenc`, `cbcs`, ...).
    pub scheme: Option<String>,
}

/// One `HLSSignalingData`: the playlist it is for (`media`, `master` or unstated) and the
/// decoded text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HlsSignaling {
    /// `@playlist`.
    pub playlist: Option<String>,
    /// The decoded tag text (`#EXT-X-KEY:...`).
    pub data: String,
}

/// One `DRMSystem`: a system's signalling for one KID.
#[derive(Debug, Clone, Default)]
pub struct DrmSystemData {
    /// `@systemId`.
    pub system_id: [u8; 16],
    /// `@kid`.
    pub kid: [u8; 16],
    /// `PSSH`: a whole pssh box.
    pub pssh: Option<Vec<u8>>,
    /// `ContentProtectionData`: decoded XML children of a DASH `ContentProtection`.
    pub content_protection_data: Option<String>,
    /// `URIExtXKey`: the decoded `URI` of HLS `EXT-X-KEY`.
    pub uri_ext_x_key: Option<String>,
    /// `HLSSignalingData`, up to one per playlist type.
    pub hls: Vec<HlsSignaling>,
}

/// A `VideoFilter` (bounds inclusive, except `minFps`, which is exclusive as CPIX 2.3 says).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoFilter {
    /// `@minPixels`.
    pub min_pixels: Option<u64>,
    /// `@maxPixels`.
    pub max_pixels: Option<u64>,
    /// `@hdr`.
    pub hdr: Option<bool>,
    /// `@wcg`.
    pub wcg: Option<bool>,
    /// `@minFps`.
    pub min_fps: Option<u64>,
    /// `@maxFps`.
    pub max_fps: Option<u64>,
}

/// An `AudioFilter` (channel bounds inclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioFilter {
    /// `@minChannels`.
    pub min_channels: Option<u64>,
    /// `@maxChannels`.
    pub max_channels: Option<u64>,
}

/// A `BitrateFilter` (bits per second, bounds inclusive).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BitrateFilter {
    /// `@minBitrate`.
    pub min_bitrate: Option<u64>,
    /// `@maxBitrate`.
    pub max_bitrate: Option<u64>,
}

/// One `ContentKeyUsageRule`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UsageRule {
    /// `@kid`.
    pub kid: [u8; 16],
    /// `@intendedTrackType`.
    pub intended_track_type: Option<String>,
    /// `VideoFilter`s (any one may match).
    pub video: Vec<VideoFilter>,
    /// `AudioFilter`s.
    pub audio: Vec<AudioFilter>,
    /// `LabelFilter/@label`s.
    pub labels: Vec<String>,
    /// `BitrateFilter`s.
    pub bitrate: Vec<BitrateFilter>,
    /// The number of `KeyPeriodFilter`s (key rotation; refused).
    pub key_periods: usize,
}

/// A CPIX document, as far as vodpack reads it.
#[derive(Debug, Clone, Default)]
pub struct Document {
    /// `@contentId`.
    pub content_id: Option<String>,
    /// `@version`.
    pub version: Option<String>,
    /// `DeliveryDataList`.
    pub delivery: Vec<DeliveryData>,
    /// `ContentKeyList`.
    pub keys: Vec<ContentKey>,
    /// `DRMSystemList`.
    pub drm_systems: Vec<DrmSystemData>,
    /// `ContentKeyUsageRuleList`.
    pub rules: Vec<UsageRule>,
}

fn b64(what: &str, text: &str) -> Result<Vec<u8>> {
    BASE64
        .decode(
            text.chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>(),
        )
        .map_err(|_| cpix_err(format!("{what} is not base64")))
}

/// Parses a KID written as a UUID (`8-4-4-4-12`) or as 32 hex digits.
pub fn parse_kid(text: &str, what: &str) -> Result<[u8; 16]> {
    let digits: String = text.trim().chars().filter(|c| *c != '-').collect();
    let mut out = [0u8; 16];
    if digits.len() != 32 || hex::decode_to_slice(&digits, &mut out).is_err() {
        return Err(cpix_err(format!(
            "{what} '{text}' is not a KID (a UUID such as 00112233-4455-6677-8899-aabbccddeeff)"
        )));
    }
    Ok(out)
}

fn uint(el: &Element, name: &str) -> Result<Option<u64>> {
    el.attr(name)
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| {
                cpix_err(format!(
                    "{}/@{name} '{v}' is not a non-negative integer",
                    el.name
                ))
            })
        })
        .transpose()
}

fn boolean(el: &Element, name: &str) -> Result<Option<bool>> {
    el.attr(name)
        .map(|v| match v.trim() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            other => Err(cpix_err(format!(
                "{}/@{name} '{other}' is not a boolean",
                el.name
            ))),
        })
        .transpose()
}

/// Reads `EncryptionMethod` + `CipherData` children of `el` (and a `ValueMAC` sibling from
/// `mac_holder`).
fn encrypted_parts(el: &Element, mac_holder: &Element, what: &str) -> Result<EncryptedValue> {
    let method = el
        .child(NS_ENC, "EncryptionMethod")
        .ok_or_else(|| cpix_err(format!("{what}: no enc:EncryptionMethod")))?;
    let algorithm = method
        .attr("Algorithm")
        .ok_or_else(|| cpix_err(format!("{what}: EncryptionMethod has no Algorithm")))?
        .to_string();
    let digest = method
        .child(NS_DS, "DigestMethod")
        .and_then(|d| d.attr("Algorithm"))
        .map(str::to_string);
    let value = el
        .child(NS_ENC, "CipherData")
        .and_then(|c| c.child(NS_ENC, "CipherValue"))
        .ok_or_else(|| cpix_err(format!("{what}: no enc:CipherData/enc:CipherValue")))?;
    let mac = mac_holder
        .child(NS_PSKC, "ValueMAC")
        .map(|m| b64(&format!("{what}: ValueMAC"), &m.text))
        .transpose()?;
    Ok(EncryptedValue {
        algorithm,
        digest,
        cipher: b64(&format!("{what}: CipherValue"), &value.text)?,
        mac,
    })
}

/// A `pskc:Secret`'s value (plain or encrypted), from a `Data` element.
fn secret(data: &Element, what: &str) -> Result<KeyValue> {
    let Some(secret) = data.child(NS_PSKC, "Secret") else {
        return Ok(KeyValue::Absent);
    };
    if let Some(plain) = secret.child(NS_PSKC, "PlainValue") {
        return Ok(KeyValue::Plain(b64(
            &format!("{what}: PlainValue"),
            &plain.text,
        )?));
    }
    if let Some(enc) = secret.child(NS_PSKC, "EncryptedValue") {
        return Ok(KeyValue::Encrypted(encrypted_parts(enc, secret, what)?));
    }
    Err(cpix_err(format!(
        "{what}: Secret has neither PlainValue nor EncryptedValue"
    )))
}

fn delivery_data(el: &Element) -> Result<DeliveryData> {
    let certificate = el
        .child(NS_CPIX, "DeliveryKey")
        .and_then(|k| k.child(NS_DS, "X509Data"))
        .and_then(|x| x.child(NS_DS, "X509Certificate"))
        .map(|c| b64("DeliveryKey: X509Certificate", &c.text))
        .transpose()?;
    let document_key = match el
        .child(NS_CPIX, "DocumentKey")
        .and_then(|k| k.child(NS_CPIX, "Data"))
        .map(|d| secret(d, "DocumentKey"))
        .transpose()?
    {
        Some(KeyValue::Encrypted(v)) => v,
        _ => {
            return Err(cpix_err(
                "DeliveryData: the DocumentKey must be an encrypted Data/Secret/EncryptedValue",
            ))
        }
    };
    let mac = match el.child(NS_CPIX, "MACMethod") {
        None => None,
        Some(m) => {
            let algorithm = m
                .attr("Algorithm")
                .ok_or_else(|| cpix_err("MACMethod has no Algorithm"))?
                .to_string();
            // The two layouts in use: DASH-IF's test vectors put EncryptionMethod and
            // CipherData directly under cpix:Key; AWS's SPEKE reference server wraps them in a
            // pskc:EncryptedValue. RFC 6030's own pskc:MACKey is read too.
            let key = if let Some(k) = m.child(NS_CPIX, "Key") {
                match k.child(NS_PSKC, "EncryptedValue") {
                    Some(ev) => encrypted_parts(ev, k, "MACMethod/Key")?,
                    None => encrypted_parts(k, k, "MACMethod/Key")?,
                }
            } else if let Some(k) = m.child(NS_PSKC, "MACKey") {
                encrypted_parts(k, k, "MACMethod/MACKey")?
            } else {
                return Err(cpix_err("MACMethod has no encrypted Key"));
            };
            Some((algorithm, key))
        }
    };
    Ok(DeliveryData {
        certificate,
        document_key,
        mac,
    })
}

fn drm_system(el: &Element) -> Result<DrmSystemData> {
    let system_id = parse_kid(
        el.attr("systemId")
            .ok_or_else(|| cpix_err("DRMSystem has no systemId"))?,
        "DRMSystem/@systemId",
    )?;
    let kid = parse_kid(
        el.attr("kid")
            .ok_or_else(|| cpix_err("DRMSystem has no kid"))?,
        "DRMSystem/@kid",
    )?;
    let text = |name: &str| -> Result<Option<String>> {
        el.child(NS_CPIX, name)
            .map(|c| {
                let bytes = b64(&format!("DRMSystem/{name}"), &c.text)?;
                String::from_utf8(bytes)
                    .map_err(|_| cpix_err(format!("DRMSystem/{name} is not UTF-8 text")))
            })
            .transpose()
    };
    let pssh = el
        .child(NS_CPIX, "PSSH")
        .map(|c| b64("DRMSystem/PSSH", &c.text))
        .transpose()?
        .filter(|b| !b.is_empty());
    let hls = el
        .all(NS_CPIX, "HLSSignalingData")
        .map(|h| {
            let bytes = b64("DRMSystem/HLSSignalingData", &h.text)?;
            Ok(HlsSignaling {
                playlist: h.attr("playlist").map(str::to_string),
                data: String::from_utf8(bytes)
                    .map_err(|_| cpix_err("DRMSystem/HLSSignalingData is not UTF-8 text"))?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(DrmSystemData {
        system_id,
        kid,
        pssh,
        content_protection_data: text("ContentProtectionData")?.filter(|s| !s.trim().is_empty()),
        uri_ext_x_key: text("URIExtXKey")?.filter(|s| !s.trim().is_empty()),
        hls: hls
            .into_iter()
            .filter(|h| !h.data.trim().is_empty())
            .collect(),
    })
}

fn usage_rule(el: &Element) -> Result<UsageRule> {
    let kid = parse_kid(
        el.attr("kid")
            .ok_or_else(|| cpix_err("ContentKeyUsageRule has no kid"))?,
        "ContentKeyUsageRule/@kid",
    )?;
    Ok(UsageRule {
        kid,
        intended_track_type: el.attr("intendedTrackType").map(str::to_string),
        video: el
            .all(NS_CPIX, "VideoFilter")
            .map(|f| {
                Ok(VideoFilter {
                    min_pixels: uint(f, "minPixels")?,
                    max_pixels: uint(f, "maxPixels")?,
                    hdr: boolean(f, "hdr")?,
                    wcg: boolean(f, "wcg")?,
                    min_fps: uint(f, "minFps")?,
                    max_fps: uint(f, "maxFps")?,
                })
            })
            .collect::<Result<_>>()?,
        audio: el
            .all(NS_CPIX, "AudioFilter")
            .map(|f| {
                Ok(AudioFilter {
                    min_channels: uint(f, "minChannels")?,
                    max_channels: uint(f, "maxChannels")?,
                })
            })
            .collect::<Result<_>>()?,
        labels: el
            .all(NS_CPIX, "LabelFilter")
            .map(|f| {
                f.attr("label")
                    .map(str::to_string)
                    .ok_or_else(|| cpix_err("LabelFilter has no label"))
            })
            .collect::<Result<_>>()?,
        bitrate: el
            .all(NS_CPIX, "BitrateFilter")
            .map(|f| {
                Ok(BitrateFilter {
                    min_bitrate: uint(f, "minBitrate")?,
                    max_bitrate: uint(f, "maxBitrate")?,
                })
            })
            .collect::<Result<_>>()?,
        key_periods: el.all(NS_CPIX, "KeyPeriodFilter").count(),
    })
}

impl Document {
    /// Parses a CPIX document. Checks its shape (root `cpix:CPIX`, KIDs, base64 values) and
    /// that no KID is listed twice; the keys stay as written (see `crypto::decrypt_keys`).
    pub fn parse(xml: &str) -> Result<Document> {
        let root = dom::parse(xml).map_err(cpix_err)?;
        if root.ns != NS_CPIX || root.name != "CPIX" {
            return Err(cpix_err(format!(
                "the root element is {{{}}}{}, not cpix:CPIX ({NS_CPIX})",
                root.ns, root.name
            )));
        }
        let list = |name: &'static str, item: &'static str| {
            root.child(NS_CPIX, name)
                .into_iter()
                .flat_map(move |l| l.all(NS_CPIX, item))
        };
        let delivery = list("DeliveryDataList", "DeliveryData")
            .map(delivery_data)
            .collect::<Result<Vec<_>>>()?;
        let mut keys: Vec<ContentKey> = Vec::new();
        for k in list("ContentKeyList", "ContentKey") {
            let kid = parse_kid(
                k.attr("kid")
                    .ok_or_else(|| cpix_err("ContentKey has no kid"))?,
                "ContentKey/@kid",
            )?;
            if keys.iter().any(|o| o.kid == kid) {
                return Err(cpix_err(format!(
                    "KID {} is listed twice in ContentKeyList",
                    crate::cenc::keys::uuid_string(&kid)
                )));
            }
            let what = format!("ContentKey {}", crate::cenc::keys::uuid_string(&kid));
            let value = match k.child(NS_CPIX, "Data") {
                Some(d) => secret(d, &what)?,
                None => KeyValue::Absent,
            };
            keys.push(ContentKey {
                kid,
                value,
                explicit_iv: k
                    .attr("explicitIV")
                    .map(|v| b64(&format!("{what}: explicitIV"), v))
                    .transpose()?,
                scheme: k.attr("commonEncryptionScheme").map(str::to_string),
            });
        }
        Ok(Document {
            content_id: root.attr("contentId").map(str::to_string),
            version: root.attr("version").map(str::to_string),
            delivery,
            keys,
            drm_systems: list("DRMSystemList", "DRMSystem")
                .map(drm_system)
                .collect::<Result<_>>()?,
            rules: list("ContentKeyUsageRuleList", "ContentKeyUsageRule")
                .map(usage_rule)
                .collect::<Result<_>>()?,
        })
    }

    /// The DRM system data for `system_id` and `kid`.
    pub fn drm_system(&self, system_id: &[u8; 16], kid: &[u8; 16]) -> Option<&DrmSystemData> {
        self.drm_systems
            .iter()
            .find(|d| &d.system_id == system_id && &d.kid == kid)
    }
}
