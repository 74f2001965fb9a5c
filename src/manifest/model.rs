//! What the manifests describe: the packaged renditions, their segments on disk, and (when
//! encrypted) how they are protected. Filled by the packager after segments are written.
use crate::media::codec::ChannelSignalling;
use crate::media::time::{PresentationTime, TickDuration};
use crate::media::TrackKind;

/// A whole packaged asset: every rendition of one title.
#[derive(Debug, Clone)]
pub struct PackagedAsset {
    /// Target segment duration in seconds (the `--segment-duration`).
    pub segment_duration: f64,
    /// Presentation duration in seconds (longest rendition).
    pub duration: f64,
    /// Every rendition: media first, then text.
    pub renditions: Vec<PackagedRendition>,
    /// File names (relative to OUT) of the manifests.
    pub hls_multivariant: String,
    /// File name (relative to OUT) of the MPD.
    pub dash_mpd: String,
    /// Protection shared by the asset (scheme and DRM systems); per-rendition KIDs are in
    /// `PackagedRendition::protection`.
    pub protection: Option<AssetProtection>,
    /// Which manifests are written (`--manifests`).
    pub write_hls: bool,
    /// Write the MPD.
    pub write_dash: bool,
    /// Absolute URL (ending in `/`) the OUT folder is served from (`--base-url`): DASH BaseURL,
    /// absolute media URIs in HLS media playlists.
    pub base_url: Option<String>,
}

impl PackagedAsset {
    /// An asset with vodpack's defaults: `master.m3u8` and `manifest.mpd`, both written, clear,
    /// no base URL.
    pub fn new(
        segment_duration: f64,
        duration: f64,
        renditions: Vec<PackagedRendition>,
    ) -> PackagedAsset {
        PackagedAsset {
            segment_duration,
            duration,
            renditions,
            hls_multivariant: "master.m3u8".into(),
            dash_mpd: "manifest.mpd".into(),
            protection: None,
            write_hls: true,
            write_dash: true,
            base_url: None,
        }
    }
}

/// One rendition (one track, one CMAF track file set).
#[derive(Debug, Clone)]
pub struct PackagedRendition {
    /// Unique id, also the folder name under OUT (e.g. `video_1280x720_1500k`).
    pub id: String,
    /// Video, audio or text.
    pub kind: TrackKind,
    /// RFC 6381 codec string.
    pub codec_string: String,
    /// A supplemental codec (Dolby Vision metadata on a compatible base layer), e.g.
    /// `dvh1.08.01`, and its compatibility brand, e.g. `db1p`: HLS `SUPPLEMENTAL-CODECS`, DASH
    /// `scte214:supplementalCodecs`/`supplementalProfiles` (docs/dolby-vision.md).
    pub supplemental_codec: Option<(String, Option<String>)>,
    /// Sample entry 4CC of the source (`avc1`, `hvc1`, `mp4a`...), used for grouping.
    pub fourcc: String,
    /// BCP 47 language tag.
    pub language: Option<String>,
    /// Human-readable label (HLS NAME, DASH Label).
    pub name: Option<String>,
    /// DASH Role values (`main`, `alternate`, `commentary`...). Empty means main.
    pub roles: Vec<String>,
    /// Picture width in pixels (video).
    pub width: Option<u32>,
    /// Picture height in lines (video).
    pub height: Option<u32>,
    /// Pixel aspect ratio (h, v).
    pub sar: Option<(u32, u32)>,
    /// Frames per second as a rational (num, den), e.g. (30000, 1001).
    pub frame_rate: Option<(u32, u32)>,
    /// Transfer characteristics of a video rendition (ITU-T H.273: 16 = PQ, 18 = HLG), when
    /// stated: HDR renditions are signalled (HLS VIDEO-RANGE, DASH cicp property).
    pub transfer_characteristics: Option<u8>,
    /// Audio sample rate in Hz.
    pub sample_rate: Option<u32>,
    /// Audio channel count.
    pub channels: Option<u16>,
    /// Audio: HLS `CHANNELS` and DASH `AudioChannelConfiguration` (+ `SupplementalProperty`)
    /// values when the codec says more than a count (E-AC-3 JOC, DTS); `None` writes `channels`.
    pub channel_signalling: Option<ChannelSignalling>,
    /// Track timescale: segment starts and durations are in these ticks.
    pub timescale: u32,
    /// Peak segment bitrate and average bitrate, bits per second.
    pub peak_bandwidth: u64,
    /// Average bitrate over the rendition, bits per second.
    pub average_bandwidth: u64,
    /// Path of the init segment relative to OUT (e.g. `video_720p/init.mp4`). In single-file
    /// layout this is the single file and `init_range` is set. Empty for MPEG-TS segments,
    /// which need no init segment.
    pub init_path: String,
    /// How its segments are stored.
    pub layout: SegmentLayout,
    /// Its media segments, in order.
    pub segments: Vec<SegmentRecord>,
    /// Sync samples, for I-frame playlists (byte ranges point into the segment files).
    pub iframes: Vec<IFrameRecord>,
    /// Set when this rendition is encrypted.
    pub protection: Option<RenditionProtection>,
    /// Relative (to OUT) path of this rendition's HLS media playlist and I-frame playlist.
    pub hls_playlist: String,
    /// Video only: the I-frame playlist's path relative to OUT.
    pub hls_iframe_playlist: Option<String>,
    /// Text renditions only: the HLS WebVTT segments (`.vtt`, times in ms), which HLS uses
    /// instead of `segments` (the DASH `wvtt` fMP4 segments). Empty for audio and video.
    pub hls_text_segments: Vec<SegmentRecord>,
    /// Media renditions only: the input track it was made from and what was written (the
    /// `--json` summary reads it; text renditions have none).
    pub origin: Option<MediaOrigin>,
}

/// Where a media rendition came from, and how much of it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaOrigin {
    /// The input file, as given.
    pub source: String,
    /// The input track's track_ID.
    pub track_id: u32,
    /// The input track's duration in seconds.
    pub track_duration: f64,
    /// Bytes written for the rendition (init and media segments of its main set).
    pub bytes: u64,
}

/// How segments are stored on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentLayout {
    /// One file per segment: `<rendition>/<prefix><number>.m4s`. `template` is the DASH
    /// media template relative to the rendition folder, e.g. `seg_$Number$.m4s`.
    Files {
        /// The DASH media template, relative to the rendition folder.
        template: String,
        /// The number of the first segment.
        start_number: u64,
    },
    /// One file per rendition (init + sidx + fragments); DASH SegmentBase, HLS EXT-X-BYTERANGE.
    SingleFile {
        /// Inclusive byte range of the init segment (ftyp+moov).
        init_range: (u64, u64),
        /// Inclusive byte range of the sidx.
        index_range: (u64, u64),
    },
}

/// One media segment as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRecord {
    /// Segment number (starts at 1 for `Files`).
    pub number: u64,
    /// Earliest presentation time of the segment, in track timescale ticks (what the
    /// SegmentTimeline `t` says; equals the tfdt for video without composition offsets); never
    /// negative (manifests start at 0).
    pub start: PresentationTime,
    /// Duration in timescale ticks (SegmentTimeline `d`).
    pub duration: TickDuration,
    /// Bytes of the segment.
    pub size: u64,
    /// Path relative to OUT.
    pub path: String,
    /// Byte offset within `path` (single-file layout); 0 for one file per segment.
    pub offset: u64,
    /// True when the segment is left clear in an encrypted rendition (clear lead).
    pub clear: bool,
}

/// A sync sample addressed by byte range, for HLS I-frame playlists: the range covers the
/// fragment's moof, the mdat header and the sync sample's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IFrameRecord {
    /// File relative to OUT.
    pub path: String,
    /// Byte offset in the file.
    pub offset: u64,
    /// Length in bytes.
    pub length: u64,
    /// Presentation time of the sync sample in timescale ticks; never negative.
    pub start: PresentationTime,
    /// Duration until the next sync sample, in the rendition's timescale.
    pub duration: TickDuration,
}

/// Asset-wide protection: the scheme and the DRM systems signalled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetProtection {
    /// `cenc` or `cbcs`; a TS set's `sample-aes` or `aes-128`.
    pub scheme: String,
    /// Clear Key licence URL to put in the MPD (dash.js reads it there), when given.
    pub clearkey_license_url: Option<String>,
    /// An encrypted TS set: the IV written in every key tag (`--iv` of 16 bytes); `None`: each
    /// segment's media sequence number.
    pub hls_iv: Option<[u8; 16]>,
}

/// A rendition's key and its DRM signalling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionProtection {
    /// The label of the key that encrypts it.
    pub key_label: String,
    /// Its default KID (tenc).
    pub default_kid: [u8; 16],
    /// One entry per DRM system signalled (Clear Key/common, Widevine, PlayReady, FairPlay).
    pub drm: Vec<DrmSignal>,
    /// An encrypted TS set: the `#EXT-X-KEY` URI of the raw key (`--hls-key-uri`).
    pub hls_key_uri: Option<String>,
}

/// Which DRM system a signal is for (the same enum `--drm` parses).
pub use crate::cenc::pssh::DrmSystem;

/// One DRM system's signalling data for a rendition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrmSignal {
    /// The system (its SystemID is `system.system_id()`).
    pub system: DrmSystem,
    /// The whole pssh box, when the system has one (FairPlay has none).
    pub pssh: Option<Vec<u8>>,
    /// A CPIX document's `ContentProtectionData`: the XML children of this system's DASH
    /// `ContentProtection`, written verbatim instead of vodpack's own (docs/cpix.md).
    pub content_protection_data: Option<String>,
    /// A CPIX document's `HLSSignalingData` (media playlist) as an attribute list: this
    /// system's `EXT-X-KEY` / `EXT-X-SESSION-KEY` attributes, verbatim.
    pub hls_key: Option<String>,
    /// A CPIX document's `URIExtXKey`: the `URI` of this system's `EXT-X-KEY`.
    pub hls_uri: Option<String>,
}

/// The dynamic range a player must handle, from H.273 transfer characteristics: `PQ` (16,
/// SMPTE ST 2084) or `HLG` (18, ARIB STD-B67); `None` for SDR or unstated.
pub fn hdr_range(transfer: Option<u8>) -> Option<&'static str> {
    match transfer? {
        16 => Some("PQ"),
        18 => Some("HLG"),
        _ => None,
    }
}
