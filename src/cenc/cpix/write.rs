//! CPIX 2.3 documents out: `--cpix-export` (the keys a run used, plain or encrypted for a
//! recipient) and SPEKE v2 requests (KIDs, the DRM systems asked for, the usage rules). The
//! element order is the schema's (tests validate every written document with xmllint).
use super::crypto::{self, Recipient};
use super::dom::escape;
use super::model::{DrmSystemData, UsageRule};
use super::{ALG_AES256_CBC, ALG_HMAC_SHA512, ALG_RSA_OAEP, NS_CPIX, NS_DS, NS_ENC, NS_PSKC};
use crate::cenc::keys::uuid_string;
use crate::error::Result;
use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use std::fmt::Write as _;

/// One content key to write.
#[derive(Clone)]
pub struct OutKey {
    /// The KID.
    pub kid: [u8; 16],
    /// The key; `None` in a request.
    pub key: Option<[u8; 16]>,
    /// `@commonEncryptionScheme`.
    pub scheme: Option<String>,
    /// `@explicitIV`.
    pub explicit_iv: Option<Vec<u8>>,
}

/// What a `DRMSystem` of a request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    /// PSSH and ContentProtectionData (DASH/CMAF systems).
    Dash,
    /// HLSSignalingData for media and master playlists (FairPlay).
    Hls,
    /// Both.
    Both,
}

/// A whole document to write.
pub struct OutDocument<'a> {
    /// `@contentId`.
    pub content_id: &'a str,
    /// The content keys.
    pub keys: &'a [OutKey],
    /// Signalling to write (export), verbatim.
    pub drm: &'a [DrmSystemData],
    /// Systems to ask for (request): system id, KID, what.
    pub ask: &'a [([u8; 16], [u8; 16], Ask)],
    /// Usage rules.
    pub rules: &'a [UsageRule],
    /// Encrypt the keys for this recipient (export); in a request, the certificate the answer is
    /// to be encrypted for.
    pub recipient: Option<&'a Recipient>,
}

fn b64(b: &[u8]) -> String {
    BASE64.encode(b)
}

fn encrypted_value(out: &mut String, indent: &str, alg: &str, cipher: &[u8]) {
    let _ = write!(
        out,
        "{indent}<enc:EncryptionMethod Algorithm=\"{alg}\"/>\n{indent}<enc:CipherData>\n{indent}  <enc:CipherValue>{}</enc:CipherValue>\n{indent}</enc:CipherData>\n",
        b64(cipher)
    );
}

impl OutDocument<'_> {
    /// The document's text. An export with a recipient carries fresh document and MAC keys,
    /// both wrapped with RSA-OAEP for the recipient's certificate (the layout of DASH-IF's test
    /// vectors); a request with a recipient carries only its certificate (and an empty
    /// `DocumentKey`, which the schema requires).
    pub fn to_xml(&self, request: bool) -> Result<String> {
        let mut x = String::new();
        let _ = writeln!(x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
        let _ = writeln!(
            x,
            "<cpix:CPIX xmlns:cpix=\"{NS_CPIX}\" xmlns:pskc=\"{NS_PSKC}\" xmlns:ds=\"{NS_DS}\" xmlns:enc=\"{NS_ENC}\" contentId=\"{}\" version=\"2.3\">",
            escape(self.content_id)
        );
        let mut secrets = None;
        if let Some(r) = self.recipient {
            x.push_str("  <cpix:DeliveryDataList>\n    <cpix:DeliveryData>\n");
            let _ = writeln!(
                x,
                "      <cpix:DeliveryKey>\n        <ds:X509Data>\n          <ds:X509Certificate>{}</ds:X509Certificate>\n        </ds:X509Data>\n      </cpix:DeliveryKey>",
                b64(&r.der)
            );
            if request {
                let _ = writeln!(
                    x,
                    "      <cpix:DocumentKey Algorithm=\"{ALG_AES256_CBC}\"/>"
                );
            } else {
                let (doc_key, mac_key) = crypto::fresh_secrets();
                let wrapped_doc = crypto::wrap_rsa(&r.public_key, &doc_key)?;
                let wrapped_mac = crypto::wrap_rsa(&r.public_key, &mac_key)?;
                let _ = writeln!(
                    x,
                    "      <cpix:DocumentKey Algorithm=\"{ALG_AES256_CBC}\">\n        <cpix:Data>\n          <pskc:Secret>\n            <pskc:EncryptedValue>"
                );
                encrypted_value(&mut x, "              ", ALG_RSA_OAEP, &wrapped_doc);
                x.push_str("            </pskc:EncryptedValue>\n          </pskc:Secret>\n        </cpix:Data>\n      </cpix:DocumentKey>\n");
                let _ = writeln!(
                    x,
                    "      <cpix:MACMethod Algorithm=\"{ALG_HMAC_SHA512}\">\n        <cpix:Key>"
                );
                encrypted_value(&mut x, "          ", ALG_RSA_OAEP, &wrapped_mac);
                x.push_str("        </cpix:Key>\n      </cpix:MACMethod>\n");
                secrets = Some((doc_key, mac_key));
            }
            x.push_str("    </cpix:DeliveryData>\n  </cpix:DeliveryDataList>\n");
        }
        x.push_str("  <cpix:ContentKeyList>\n");
        for k in self.keys {
            let _ = write!(x, "    <cpix:ContentKey kid=\"{}\"", uuid_string(&k.kid));
            if let Some(iv) = &k.explicit_iv {
                let _ = write!(x, " explicitIV=\"{}\"", b64(iv));
            }
            if let Some(s) = &k.scheme {
                let _ = write!(x, " commonEncryptionScheme=\"{}\"", escape(s));
            }
            let Some(key) = k.key else {
                x.push_str("/>\n");
                continue;
            };
            x.push_str(">\n      <cpix:Data>\n        <pskc:Secret>\n");
            match &secrets {
                None => {
                    let _ = writeln!(
                        x,
                        "          <pskc:PlainValue>{}</pskc:PlainValue>",
                        b64(&key)
                    );
                }
                Some((doc_key, mac_key)) => {
                    let cipher = crypto::aes_cbc_encrypt(doc_key, &key);
                    x.push_str("          <pskc:EncryptedValue>\n");
                    encrypted_value(&mut x, "            ", ALG_AES256_CBC, &cipher);
                    x.push_str("          </pskc:EncryptedValue>\n");
                    let _ = writeln!(
                        x,
                        "          <pskc:ValueMAC>{}</pskc:ValueMAC>",
                        b64(&crypto::hmac_sha512(mac_key, &cipher))
                    );
                }
            }
            x.push_str("        </pskc:Secret>\n      </cpix:Data>\n    </cpix:ContentKey>\n");
        }
        x.push_str("  </cpix:ContentKeyList>\n");
        if !self.drm.is_empty() || !self.ask.is_empty() {
            x.push_str("  <cpix:DRMSystemList>\n");
            for d in self.drm {
                let _ = writeln!(
                    x,
                    "    <cpix:DRMSystem systemId=\"{}\" kid=\"{}\">",
                    uuid_string(&d.system_id),
                    uuid_string(&d.kid)
                );
                if let Some(p) = &d.pssh {
                    let _ = writeln!(x, "      <cpix:PSSH>{}</cpix:PSSH>", b64(p));
                }
                if let Some(c) = &d.content_protection_data {
                    let _ = writeln!(
                        x,
                        "      <cpix:ContentProtectionData>{}</cpix:ContentProtectionData>",
                        b64(c.as_bytes())
                    );
                }
                if let Some(u) = &d.uri_ext_x_key {
                    let _ = writeln!(
                        x,
                        "      <cpix:URIExtXKey>{}</cpix:URIExtXKey>",
                        b64(u.as_bytes())
                    );
                }
                for h in &d.hls {
                    let playlist = h
                        .playlist
                        .as_deref()
                        .map(|p| format!(" playlist=\"{}\"", escape(p)))
                        .unwrap_or_default();
                    let _ = writeln!(
                        x,
                        "      <cpix:HLSSignalingData{playlist}>{}</cpix:HLSSignalingData>",
                        b64(h.data.as_bytes())
                    );
                }
                x.push_str("    </cpix:DRMSystem>\n");
            }
            for (system, kid, ask) in self.ask {
                let _ = writeln!(
                    x,
                    "    <cpix:DRMSystem systemId=\"{}\" kid=\"{}\">",
                    uuid_string(system),
                    uuid_string(kid)
                );
                if matches!(ask, Ask::Dash | Ask::Both) {
                    x.push_str("      <cpix:PSSH/>\n      <cpix:ContentProtectionData/>\n");
                }
                if matches!(ask, Ask::Hls | Ask::Both) {
                    x.push_str("      <cpix:HLSSignalingData playlist=\"media\"/>\n      <cpix:HLSSignalingData playlist=\"master\"/>\n");
                }
                x.push_str("    </cpix:DRMSystem>\n");
            }
            x.push_str("  </cpix:DRMSystemList>\n");
        }
        if !self.rules.is_empty() {
            x.push_str("  <cpix:ContentKeyUsageRuleList>\n");
            for r in self.rules {
                let _ = write!(
                    x,
                    "    <cpix:ContentKeyUsageRule kid=\"{}\"",
                    uuid_string(&r.kid)
                );
                if let Some(t) = &r.intended_track_type {
                    let _ = write!(x, " intendedTrackType=\"{}\"", escape(t));
                }
                x.push_str(">\n");
                for l in &r.labels {
                    let _ = writeln!(x, "      <cpix:LabelFilter label=\"{}\"/>", escape(l));
                }
                for f in &r.video {
                    x.push_str("      <cpix:VideoFilter");
                    for (n, v) in [
                        ("minPixels", f.min_pixels),
                        ("maxPixels", f.max_pixels),
                        ("minFps", f.min_fps),
                        ("maxFps", f.max_fps),
                    ] {
                        if let Some(v) = v {
                            let _ = write!(x, " {n}=\"{v}\"");
                        }
                    }
                    for (n, v) in [("hdr", f.hdr), ("wcg", f.wcg)] {
                        if let Some(v) = v {
                            let _ = write!(x, " {n}=\"{v}\"");
                        }
                    }
                    x.push_str("/>\n");
                }
                for f in &r.audio {
                    x.push_str("      <cpix:AudioFilter");
                    for (n, v) in [
                        ("minChannels", f.min_channels),
                        ("maxChannels", f.max_channels),
                    ] {
                        if let Some(v) = v {
                            let _ = write!(x, " {n}=\"{v}\"");
                        }
                    }
                    x.push_str("/>\n");
                }
                for f in &r.bitrate {
                    x.push_str("      <cpix:BitrateFilter");
                    for (n, v) in [("minBitrate", f.min_bitrate), ("maxBitrate", f.max_bitrate)] {
                        if let Some(v) = v {
                            let _ = write!(x, " {n}=\"{v}\"");
                        }
                    }
                    x.push_str("/>\n");
                }
                x.push_str("    </cpix:ContentKeyUsageRule>\n");
            }
            x.push_str("  </cpix:ContentKeyUsageRuleList>\n");
        }
        x.push_str("</cpix:CPIX>\n");
        Ok(x)
    }
}

/// The usage rule vodpack writes for a key class label: `intendedTrackType` the class, with the
/// class's VideoFilter pixel range or an AudioFilter; any other label gets a `LabelFilter`.
pub fn rule_for_label(
    kid: [u8; 16],
    label: &str,
    classes: &crate::cenc::keys::KeyClasses,
) -> UsageRule {
    use super::model::{AudioFilter, VideoFilter};
    let video = |min: Option<u64>, max: Option<u64>| {
        vec![VideoFilter {
            min_pixels: min,
            max_pixels: max,
            ..Default::default()
        }]
    };
    let mut rule = UsageRule {
        kid,
        intended_track_type: Some(label.to_string()),
        ..Default::default()
    };
    match label {
        "AUDIO" => rule.audio = vec![AudioFilter::default()],
        "SD" => rule.video = video(None, Some(classes.max_sd_pixels)),
        "HD" => rule.video = video(Some(classes.max_sd_pixels + 1), Some(classes.max_hd_pixels)),
        "UHD1" => {
            rule.video = video(
                Some(classes.max_hd_pixels + 1),
                Some(classes.max_uhd1_pixels),
            )
        }
        "UHD2" => rule.video = video(Some(classes.max_uhd1_pixels + 1), None),
        "ALL" => rule.intended_track_type = Some("ALL".into()),
        other => {
            rule.intended_track_type = None;
            rule.labels = vec![other.to_string()];
        }
    }
    rule
}
