//! What HLS `CHANNELS` and DASH `AudioChannelConfiguration` (plus Dolby's supplemental
//! properties) say about an audio rendition's channels: the same values Shaka Packager 3.8
//! writes for the same input (docs/audio-signalling.md has the table and the reasons).
//!
//! Most codecs give a plain count (ISO/IEC 23009-1 §5.8.5.4, scheme
//! `urn:mpeg:dash:23003:3:audio_channel_configuration:2011`). E-AC-3 gives its layout as an MPEG
//! ChannelConfiguration when TS 102 366 Table I.1.1 has one, else Dolby's hex channel map, and
//! flags Joint Object Coding (Atmos) with two `SupplementalProperty` descriptors (ETSI TS 103 420
//! §D.2) and `CHANNELS="<complexity>/JOC"` in HLS (Apple HLS authoring specification). DTS uses
//! DTS's own schemes.
use super::ac3::{self, Ac3Config};
use super::ac4::Ac4Config;

/// ISO/IEC 23009-1 §5.8.5.4: a count of channels.
pub const SCHEME_MPEG_COUNT: &str = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011";
/// ISO/IEC 23001-8 ChannelConfiguration (CICP).
pub const SCHEME_CICP: &str = "urn:mpeg:mpegB:cicp:ChannelConfiguration";
/// Dolby's E-AC-3 channel map, four hex digits (DASH-IF IOP §9.2.1.2).
pub const SCHEME_DOLBY: &str = "tag:dolby.com,2014:dash:audio_channel_configuration:2011";
/// ETSI TS 103 420 §D.2.2: the E-AC-3 extension type (`JOC`).
pub const SCHEME_EC3_EXTENSION_TYPE: &str = "tag:dolby.com,2018:dash:EC3_ExtensionType:2018";
/// ETSI TS 103 420 §D.2.3: the JOC complexity index.
pub const SCHEME_EC3_COMPLEXITY: &str = "tag:dolby.com,2018:dash:EC3_ExtensionComplexityIndex:2018";
/// Dolby's AC-4 channel mask, six hex digits (ETSI TS 103 190-2 Annex G, DASH-IF IOP §9.2.1.2).
pub const SCHEME_DOLBY_AC4: &str = "tag:dolby.com,2015:dash:audio_channel_configuration:2015";
/// Dolby's descriptor for pre-virtualized (immersive stereo) content, value `1` (TS 103 190-2
/// Annex G).
pub const SCHEME_DOLBY_VIRTUALIZED: &str = "tag:dolby.com,2016:dash:virtualized_content:2016";
/// DTS (`dtsc`, `dtse`, `dtsh`, `dtsl`): a count (DASH-IF IOP §9.2.2).
pub const SCHEME_DTS: &str = "tag:dts.com,2014:dash:audio_channel_configuration:2012";
/// DTS:X (`dtsx`): the 32-bit channel mask of `udts`, eight hex digits (ETSI TS 103 491 Annex B).
pub const SCHEME_DTS_UHD: &str = "tag:dts.com,2018:uhd:audio_channel_configuration";

/// One DASH descriptor: `schemeIdUri` and `value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// `schemeIdUri`.
    pub scheme: &'static str,
    /// `value`.
    pub value: String,
}

/// The channel signalling of one audio rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelSignalling {
    /// The HLS `CHANNELS` attribute value (RFC 8216bis §4.4.6.1): `2`, `6`, `16/JOC`.
    pub hls: String,
    /// The DASH `AudioChannelConfiguration`.
    pub dash: Descriptor,
    /// DASH `SupplementalProperty` descriptors of the Representation (E-AC-3 JOC).
    pub supplemental: Vec<Descriptor>,
}

impl ChannelSignalling {
    /// A plain count, in HLS and in the MPEG scheme.
    pub fn count(channels: u16) -> ChannelSignalling {
        ChannelSignalling::count_in(SCHEME_MPEG_COUNT, channels)
    }

    /// A count in another DASH scheme.
    pub fn count_in(scheme: &'static str, channels: u16) -> ChannelSignalling {
        ChannelSignalling {
            hls: channels.to_string(),
            dash: Descriptor {
                scheme,
                value: channels.to_string(),
            },
            supplemental: Vec::new(),
        }
    }

    /// DTS:X: the count in HLS, the `udts` channel mask in DASH.
    pub fn dtsx(channels: u16, channel_mask: u32) -> ChannelSignalling {
        ChannelSignalling {
            hls: channels.to_string(),
            dash: Descriptor {
                scheme: SCHEME_DTS_UHD,
                value: format!("{channel_mask:08X}"),
            },
            supplemental: Vec::new(),
        }
    }

    /// AC-4 from its `dac4` and the entry's channel count: HLS the count, with `/IMSA` for
    /// immersive stereo or channel-based immersive presentations (Dolby's marker, as Shaka
    /// Packager writes it); DASH the MPEG ChannelConfiguration of the presentation's channel mask
    /// when Table G.1 has one, else the mask in Dolby's scheme, and the virtualized-content
    /// property for immersive stereo.
    pub fn ac4(config: &Ac4Config, channels: u16) -> ChannelSignalling {
        let dash = match config.mpeg_channel_configuration() {
            Some(value) => Descriptor {
                scheme: SCHEME_CICP,
                value: value.to_string(),
            },
            None => Descriptor {
                scheme: SCHEME_DOLBY_AC4,
                value: format!("{:06X}", config.signalled_mask()),
            },
        };
        let hls = if config.immersive() {
            format!("{channels}/IMSA")
        } else {
            channels.to_string()
        };
        let supplemental = if config.ims {
            vec![Descriptor {
                scheme: SCHEME_DOLBY_VIRTUALIZED,
                value: "1".into(),
            }]
        } else {
            Vec::new()
        };
        ChannelSignalling {
            hls,
            dash,
            supplemental,
        }
    }

    /// AC-3 (a count) or E-AC-3 (layout and JOC) from its `dac3`/`dec3`.
    pub fn dolby(config: &Ac3Config) -> ChannelSignalling {
        let Some(map) = config.channel_map else {
            return ChannelSignalling::count(config.channels);
        };
        let dash = match ac3::mpeg_channel_configuration(map) {
            Some(value) => Descriptor {
                scheme: SCHEME_CICP,
                value: value.to_string(),
            },
            None => Descriptor {
                scheme: SCHEME_DOLBY,
                value: format!("{map:04X}"),
            },
        };
        let mut s = ChannelSignalling {
            hls: config.channels.to_string(),
            dash,
            supplemental: Vec::new(),
        };
        if let Some(complexity) = config.joc_complexity.filter(|&c| c > 0) {
            s.hls = format!("{complexity}/JOC");
            s.supplemental = vec![
                Descriptor {
                    scheme: SCHEME_EC3_EXTENSION_TYPE,
                    value: "JOC".into(),
                },
                Descriptor {
                    scheme: SCHEME_EC3_COMPLEXITY,
                    value: complexity.to_string(),
                },
            ];
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ec3_layouts_and_joc_as_shaka_packager_writes_them() {
        let stereo = Ac3Config::parse_dec3(&[0x06, 0x00, 0x60, 0x04, 0x00]).unwrap();
        let s = ChannelSignalling::dolby(&stereo);
        assert_eq!(
            (s.hls.as_str(), s.dash.scheme, s.dash.value.as_str()),
            ("2", SCHEME_CICP, "2")
        );
        assert!(s.supplemental.is_empty());
        let joc = Ac3Config::parse_dec3(&[0x06, 0x00, 0x60, 0x04, 0x00, 0x01, 0x10]).unwrap();
        let s = ChannelSignalling::dolby(&joc);
        assert_eq!(s.hls, "16/JOC");
        assert_eq!(s.supplemental[0].value, "JOC");
        assert_eq!(s.supplemental[1].scheme, SCHEME_EC3_COMPLEXITY);
        assert_eq!(s.supplemental[1].value, "16");
        let odd = Ac3Config::parse_dec3(&[0x0e, 0x00, 0x20, 0x0f, 0x02, 0x80]).unwrap();
        let s = ChannelSignalling::dolby(&odd);
        assert_eq!(
            (s.hls.as_str(), s.dash.scheme, s.dash.value.as_str()),
            ("7", SCHEME_DOLBY, "F809")
        );
        let ac3 = Ac3Config::parse_dac3(&[0x10, 0x3d, 0xe0]).unwrap();
        let s = ChannelSignalling::dolby(&ac3);
        assert_eq!(
            (s.hls.as_str(), s.dash.scheme, s.dash.value.as_str()),
            ("6", SCHEME_MPEG_COUNT, "6")
        );
    }

    #[test]
    fn dtsx_mask_is_eight_hex_digits() {
        let s = ChannelSignalling::dtsx(6, 0x3f);
        assert_eq!((s.hls.as_str(), s.dash.value.as_str()), ("6", "0000003F"));
    }
}
