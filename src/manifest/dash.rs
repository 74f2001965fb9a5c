//! DASH MPD (ISO/IEC 23009-1), written with quick-xml from the packaged model.
//!
//! One static Period. AdaptationSets hold Representations a player may switch between freely:
//! one per content type, codec family (AVC and HEVC apart), audio language/role and — when
//! encrypted — default KID, since ContentProtection with `cenc:default_KID` belongs to the
//! AdaptationSet (DASH-IF IOP §7.7.2). Video sets of one codec family that differ only by key are
//! linked with the `urn:mpeg:dash:adaptation-set-switching:2016` property (ISO/IEC 23009-1
//! §5.3.3.5), as Shaka Packager does, so players still switch across them.
use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;

use super::drm::{pssh_data, system_urn, uuid_text, CLEARKEY_DASH_SCHEME};
use super::hls::{parent_dir, relative, resolve};
use super::model::{hdr_range, DrmSystem, PackagedAsset, PackagedRendition, SegmentLayout};
use crate::media::time::{PresentationTime, TickDuration};
use crate::media::TrackKind;

/// ISO/IEC 23009-1 §8.4: the live profile (SegmentTemplate addressing).
pub const PROFILE_LIVE: &str = "urn:mpeg:dash:profile:isoff-live:2011";
/// ISO/IEC 23009-1 §8.3: the on-demand profile (SegmentBase, one file per rendition).
pub const PROFILE_ON_DEMAND: &str = "urn:mpeg:dash:profile:isoff-on-demand:2011";
/// ISO/IEC 23009-1 §8.12: the CMAF profile.
pub const PROFILE_CMAF: &str = "urn:mpeg:dash:profile:cmaf:2019";
const NS_MPD: &str = "urn:mpeg:dash:schema:mpd:2011";
const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";
const NS_CENC: &str = "urn:mpeg:cenc:2013";
const NS_MSPR: &str = "urn:microsoft:playready";
/// DASH-IF Content Protection namespace of `dashif:Laurl` (read by dash.js for Clear Key).
const NS_DASHIF: &str = "https://dashif.org/CPS";
/// SCTE 214-1 extensions: `supplementalCodecs`/`supplementalProfiles` (Dolby Vision metadata on a
/// compatible base layer, as Shaka Packager and DASH-IF IOP signal it).
const NS_SCTE214: &str = "urn:scte:dash:scte214-extensions";
const SCHEME_MP4PROTECTION: &str = "urn:mpeg:dash:mp4protection:2011";
const SCHEME_ROLE: &str = "urn:mpeg:dash:role:2011";
const SCHEME_CHANNELS: &str = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011";
const SCHEME_SET_SWITCHING: &str = "urn:mpeg:dash:adaptation-set-switching:2016";
/// ISO/IEC 23001-8 (CICP) TransferCharacteristics, as DASH-IF IOP signals HDR.
const SCHEME_CICP_TRANSFER: &str = "urn:mpeg:mpegB:cicp:TransferCharacteristics";

/// The whole MPD for an asset (static, one Period), as UTF-8 XML text.
pub fn mpd(asset: &PackagedAsset) -> String {
    let base = parent_dir(&asset.dash_mpd);
    let sets = adaptation_sets(asset);
    let protected = asset.renditions.iter().any(|r| r.protection.is_some());
    let has_system = |s: DrmSystem| {
        asset
            .renditions
            .iter()
            .filter_map(|r| r.protection.as_ref())
            .any(|p| p.drm.iter().any(|d| d.system == s))
    };
    let clearkey_url = asset
        .protection
        .as_ref()
        .and_then(|p| p.clearkey_license_url.as_deref());

    let mut x = Xml::new();
    x.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let mut root = vec![
        ("xmlns", Cow::from(NS_MPD)),
        ("xmlns:xsi", NS_XSI.into()),
        (
            "xsi:schemaLocation",
            format!("{NS_MPD} DASH-MPD.xsd").into(),
        ),
    ];
    if protected {
        root.push(("xmlns:cenc", NS_CENC.into()));
    }
    if has_system(DrmSystem::PlayReady) {
        root.push(("xmlns:mspr", NS_MSPR.into()));
    }
    if asset
        .renditions
        .iter()
        .any(|r| r.supplemental_codec.is_some())
    {
        root.push(("xmlns:scte214", NS_SCTE214.into()));
    }
    if clearkey_url.is_some() && has_system(DrmSystem::ClearKey) {
        root.push(("xmlns:dashif", NS_DASHIF.into()));
    }
    root.push(("profiles", profiles(asset).into()));
    root.push(("type", "static".into()));
    root.push((
        "mediaPresentationDuration",
        xs_duration(asset.duration).into(),
    ));
    root.push(("minBufferTime", xs_duration(min_buffer_time(asset)).into()));
    x.start("MPD", &root);
    if let Some(url) = &asset.base_url {
        // MPD-level BaseURL (ISO/IEC 23009-1 §5.6): every segment URL resolves against it.
        x.text_element("BaseURL", &[], url);
    }
    x.start("Period", &[("id", "0".into()), ("start", "PT0S".into())]);
    for set in &sets {
        write_adaptation_set(&mut x, asset, set, &sets, &base, clearkey_url);
    }
    x.end("Period");
    x.end("MPD");
    x.finish()
}

/// isoff-live for SegmentTemplate output, isoff-on-demand for single-file SegmentBase output
/// (ISO/IEC 23009-1 §8.4, §8.3), CMAF (§8.12) for both.
fn profiles(asset: &PackagedAsset) -> String {
    let files = asset
        .renditions
        .iter()
        .any(|r| matches!(r.layout, SegmentLayout::Files { .. }));
    let single = asset
        .renditions
        .iter()
        .any(|r| matches!(r.layout, SegmentLayout::SingleFile { .. }));
    let mut list = Vec::new();
    if files || !single {
        list.push(PROFILE_LIVE);
    }
    if single {
        list.push(PROFILE_ON_DEMAND);
    }
    list.push(PROFILE_CMAF);
    list.join(",")
}

/// The longest segment of any rendition: with bandwidth = peak segment bitrate, a client that
/// has buffered this long never stalls (ISO/IEC 23009-1 §5.3.5.2).
fn min_buffer_time(asset: &PackagedAsset) -> f64 {
    asset
        .renditions
        .iter()
        .flat_map(|r| {
            r.segments
                .iter()
                .map(move |s| s.duration.0 as f64 / f64::from(r.timescale.max(1)))
        })
        .fold(0.0, f64::max)
        .max(1.0)
}

struct Set<'a> {
    id: u32,
    kind: TrackKind,
    family: String,
    kid: Option<[u8; 16]>,
    /// `PQ` or `HLG` for HDR video (`None`: SDR or unstated); SDR and HDR never share a set.
    hdr: Option<&'static str>,
    reps: Vec<&'a PackagedRendition>,
}

/// Codec family for grouping: Representations of one AdaptationSet must be decodable by one
/// decoder configuration family (avc1/avc3 together, hvc1/hev1 together).
fn codec_family(r: &PackagedRendition) -> String {
    match r.fourcc.as_str() {
        "avc1" | "avc3" => "avc".into(),
        "hvc1" | "hev1" => "hevc".into(),
        "dvh1" | "dvhe" => "dolby-vision-hevc".into(),
        "av01" => "av1".into(),
        "vp09" => "vp9".into(),
        "vp08" => "vp8".into(),
        _ => r.codec_string.clone(),
    }
}

/// What decides AdaptationSet membership: content type order, codec family, language, roles,
/// default KID, dynamic range.
type SetKey = (
    u8,
    String,
    Option<String>,
    Vec<String>,
    Option<[u8; 16]>,
    Option<&'static str>,
);

fn adaptation_sets(asset: &PackagedAsset) -> Vec<Set<'_>> {
    let mut sets: Vec<Set> = Vec::new();
    let mut index: BTreeMap<SetKey, usize> = BTreeMap::new();
    // Video first, then audio, then the rest, each in model order.
    let order = |k: TrackKind| match k {
        TrackKind::Video => 0u8,
        TrackKind::Audio => 1,
        TrackKind::Text => 2,
        TrackKind::Other => 3,
    };
    let mut renditions: Vec<&PackagedRendition> = asset.renditions.iter().collect();
    renditions.sort_by_key(|r| order(r.kind));
    for r in renditions {
        let family = codec_family(r);
        let kid = r.protection.as_ref().map(|p| p.default_kid);
        let (lang, roles) = match r.kind {
            TrackKind::Video => (None, Vec::new()),
            _ => (r.language.clone(), r.roles.clone()),
        };
        let hdr = hdr_range(r.transfer_characteristics);
        let key = (order(r.kind), family.clone(), lang, roles, kid, hdr);
        match index.get(&key) {
            Some(&i) => sets[i].reps.push(r),
            None => {
                index.insert(key, sets.len());
                sets.push(Set {
                    id: sets.len() as u32,
                    kind: r.kind,
                    family,
                    kid,
                    hdr,
                    reps: vec![r],
                });
            }
        }
    }
    sets
}

fn write_adaptation_set(
    x: &mut Xml,
    asset: &PackagedAsset,
    set: &Set,
    all: &[Set],
    base: &str,
    clearkey_url: Option<&str>,
) {
    let first = set.reps[0];
    let single_file = set
        .reps
        .iter()
        .all(|r| matches!(r.layout, SegmentLayout::SingleFile { .. }));
    let mut attrs: Vec<(&str, Cow<str>)> = vec![("id", set.id.to_string().into())];
    attrs.push(("contentType", content_type(set.kind).into()));
    if set.kind != TrackKind::Video {
        if let Some(lang) = &first.language {
            attrs.push(("lang", lang.clone().into()));
        }
    }
    if set.kind == TrackKind::Video {
        if let Some(w) = set.reps.iter().filter_map(|r| r.width).max() {
            attrs.push(("maxWidth", w.to_string().into()));
        }
        if let Some(h) = set.reps.iter().filter_map(|r| r.height).max() {
            attrs.push(("maxHeight", h.to_string().into()));
        }
        let rates: Vec<(u32, u32)> = set
            .reps
            .iter()
            .filter_map(|r| r.frame_rate)
            .filter(|&(_, d)| d > 0)
            .collect();
        if let Some(&max) = rates.iter().max_by(|a, b| {
            (u64::from(a.0) * u64::from(b.1)).cmp(&(u64::from(b.0) * u64::from(a.1)))
        }) {
            attrs.push(("maxFrameRate", frame_rate(max).into()));
        }
        // par only when every Representation shows the same picture shape (§5.3.3.2).
        let pars: Vec<Option<(u64, u64)>> = set.reps.iter().map(|r| picture_aspect(r)).collect();
        if let Some(Some(par)) = pars.first().copied() {
            if pars.iter().all(|p| *p == Some(par)) {
                attrs.push(("par", format!("{}:{}", par.0, par.1).into()));
            }
        }
    }
    attrs.push(("segmentAlignment", "true".into()));
    if single_file {
        attrs.push(("subsegmentAlignment", "true".into()));
        attrs.push(("subsegmentStartsWithSAP", "1".into()));
    }
    attrs.push(("startWithSAP", "1".into()));
    x.start("AdaptationSet", &attrs);

    // RepresentationBaseType children come first, in schema order: ContentProtection,
    // SupplementalProperty, Label; then the AdaptationSet's own: Role, Representation.
    if set.kid.is_some() {
        write_content_protection(x, asset, first, clearkey_url);
    }
    if set.kind == TrackKind::Video {
        // DASH-IF IOP v4.3: the transfer characteristics of HDR video, 16 (PQ) or 18 (HLG), as
        // a SupplementalProperty, as Shaka Packager writes it (an EssentialProperty would make
        // players that do not list the scheme drop the whole set).
        if let Some(hdr) = set.hdr {
            x.empty(
                "SupplementalProperty",
                &[
                    ("schemeIdUri", SCHEME_CICP_TRANSFER.into()),
                    ("value", if hdr == "PQ" { "16" } else { "18" }.into()),
                ],
            );
        }
        let peers: Vec<String> = all
            .iter()
            .filter(|o| {
                o.id != set.id && o.kind == set.kind && o.family == set.family && o.hdr == set.hdr
            })
            .map(|o| o.id.to_string())
            .collect();
        if !peers.is_empty() {
            x.empty(
                "SupplementalProperty",
                &[
                    ("schemeIdUri", SCHEME_SET_SWITCHING.into()),
                    ("value", peers.join(",").into()),
                ],
            );
        }
    }
    if set.kind != TrackKind::Video {
        if let Some(name) = &first.name {
            x.text_element("Label", &[], name);
        }
    }
    let roles: Vec<&str> = if first.roles.is_empty() || set.kind == TrackKind::Video {
        vec!["main"]
    } else {
        first.roles.iter().map(String::as_str).collect()
    };
    for role in roles {
        x.empty(
            "Role",
            &[("schemeIdUri", SCHEME_ROLE.into()), ("value", role.into())],
        );
    }
    for r in &set.reps {
        write_representation(x, r, base);
    }
    x.end("AdaptationSet");
}

fn write_representation(x: &mut Xml, r: &PackagedRendition, base: &str) {
    let mut attrs: Vec<(&str, Cow<str>)> = vec![
        ("id", r.id.as_str().into()),
        ("bandwidth", r.peak_bandwidth.to_string().into()),
        ("codecs", r.codec_string.as_str().into()),
        (
            "mimeType",
            match r.kind {
                // ISO BMFF text tracks (wvtt, stpp) are application/mp4 (DASH-IF IOP §6.4.5).
                TrackKind::Text => "application/mp4".into(),
                k => format!("{}/mp4", content_type(k)).into(),
            },
        ),
    ];
    if let Some((codec, brand)) = &r.supplemental_codec {
        attrs.push(("scte214:supplementalCodecs", codec.as_str().into()));
        if let Some(brand) = brand {
            attrs.push(("scte214:supplementalProfiles", brand.as_str().into()));
        }
    }
    if let (Some(w), Some(h)) = (r.width, r.height) {
        attrs.push(("width", w.to_string().into()));
        attrs.push(("height", h.to_string().into()));
    }
    if let Some(rate) = r.frame_rate.filter(|&(_, d)| d > 0) {
        attrs.push(("frameRate", frame_rate(rate).into()));
    }
    if let Some((h, v)) = r.sar {
        attrs.push(("sar", format!("{h}:{v}").into()));
    }
    if let Some(rate) = r.sample_rate {
        attrs.push(("audioSamplingRate", rate.to_string().into()));
    }
    x.start("Representation", &attrs);
    // RepresentationBaseType order: AudioChannelConfiguration, then SupplementalProperty.
    if let Some(s) = &r.channel_signalling {
        x.empty(
            "AudioChannelConfiguration",
            &[
                ("schemeIdUri", s.dash.scheme.into()),
                ("value", s.dash.value.as_str().into()),
            ],
        );
        for d in &s.supplemental {
            x.empty(
                "SupplementalProperty",
                &[
                    ("schemeIdUri", d.scheme.into()),
                    ("value", d.value.as_str().into()),
                ],
            );
        }
    } else if let Some(ch) = r.channels {
        x.empty(
            "AudioChannelConfiguration",
            &[
                ("schemeIdUri", SCHEME_CHANNELS.into()),
                ("value", ch.to_string().into()),
            ],
        );
    }
    match &r.layout {
        SegmentLayout::SingleFile {
            init_range,
            index_range,
        } => {
            x.text_element("BaseURL", &[], &relative(base, &r.init_path));
            x.start(
                "SegmentBase",
                &[
                    ("timescale", r.timescale.to_string().into()),
                    (
                        "indexRange",
                        format!("{}-{}", index_range.0, index_range.1).into(),
                    ),
                    ("indexRangeExact", "true".into()),
                ],
            );
            x.empty(
                "Initialization",
                &[("range", format!("{}-{}", init_range.0, init_range.1).into())],
            );
            x.end("SegmentBase");
        }
        SegmentLayout::Files {
            template,
            start_number,
        } => {
            // Templates are checked not to leave OUT (package::template), so this always resolves.
            let media =
                resolve(&parent_dir(&r.init_path), template).unwrap_or_else(|| template.clone());
            x.start(
                "SegmentTemplate",
                &[
                    ("timescale", r.timescale.to_string().into()),
                    ("initialization", relative(base, &r.init_path).into()),
                    ("media", relative(base, &media).into()),
                    ("startNumber", start_number.to_string().into()),
                ],
            );
            x.start("SegmentTimeline", &[]);
            for s in timeline(r) {
                let mut a: Vec<(&str, Cow<str>)> = Vec::new();
                if let Some(t) = s.t {
                    a.push(("t", t.0.to_string().into()));
                }
                a.push(("d", s.d.0.to_string().into()));
                if s.r > 0 {
                    a.push(("r", s.r.to_string().into()));
                }
                x.empty("S", &a);
            }
            x.end("SegmentTimeline");
            x.end("SegmentTemplate");
        }
    }
    x.end("Representation");
}

/// ContentProtection elements for a key (DASH-IF IOP §7.7.2, ISO/IEC 23001-7 §11): the
/// mp4protection scheme with `cenc:default_KID`, then one element per DRM system with its pssh.
fn write_content_protection(
    x: &mut Xml,
    asset: &PackagedAsset,
    r: &PackagedRendition,
    clearkey_url: Option<&str>,
) {
    let Some(p) = &r.protection else { return };
    let scheme = asset
        .protection
        .as_ref()
        .map_or("cenc", |a| a.scheme.as_str());
    x.empty(
        "ContentProtection",
        &[
            ("schemeIdUri", SCHEME_MP4PROTECTION.into()),
            ("value", scheme.into()),
            ("cenc:default_KID", uuid_text(&p.default_kid).into()),
        ],
    );
    for signal in &p.drm {
        let pssh_b64 = signal.pssh.as_ref().map(|b| BASE64.encode(b));
        match signal.system {
            DrmSystem::ClearKey => {
                // DASH-IF IOP §7.6.2.4: the Clear Key scheme with the licence URL, and no pssh.
                // Its key ids are `cenc:default_KID`; the W3C common pssh stays in the init
                // segments. No element of the common system (1077efec…) either: dash.js maps it
                // to Clear Key too, prefers it whenever the app gives protection data (a licence
                // server), and then hands its pssh to the CDM as "keyids" initData, which fails
                // (error 113) — docs/drm-signalling.md, "What a player app needs". For the same
                // reason a CPIX document's ContentProtectionData for Clear Key is not copied here.
                x.start(
                    "ContentProtection",
                    &[
                        ("schemeIdUri", CLEARKEY_DASH_SCHEME.into()),
                        ("value", "ClearKey1.0".into()),
                    ],
                );
                if let Some(url) = clearkey_url {
                    x.text_element("dashif:Laurl", &[], url);
                }
                x.end("ContentProtection");
            }
            DrmSystem::Widevine => {
                x.start(
                    "ContentProtection",
                    &[("schemeIdUri", system_urn(DrmSystem::Widevine).into())],
                );
                if let Some(cpd) = &signal.content_protection_data {
                    x.raw(cpd);
                } else if let Some(b) = &pssh_b64 {
                    x.text_element("cenc:pssh", &[], b);
                }
                x.end("ContentProtection");
            }
            DrmSystem::PlayReady => {
                x.start(
                    "ContentProtection",
                    &[
                        ("schemeIdUri", system_urn(DrmSystem::PlayReady).into()),
                        ("value", "MSPR 2.0".into()),
                    ],
                );
                if let Some(cpd) = &signal.content_protection_data {
                    x.raw(cpd);
                } else {
                    if let Some(b) = &pssh_b64 {
                        x.text_element("cenc:pssh", &[], b);
                    }
                    // The PlayReady Object alone, as older PlayReady clients read it.
                    if let Some(pro) = signal.pssh.as_deref().and_then(pssh_data) {
                        x.text_element("mspr:pro", &[], &BASE64.encode(pro));
                    }
                }
                x.end("ContentProtection");
            }
            // FairPlay is signalled in HLS only; DASH has no FairPlay client.
            DrmSystem::FairPlay => {}
        }
    }
}

/// One `S` element: start (only where it does not follow on), duration, repeat count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// `S@t`: the start, when it does not follow the previous entry.
    pub t: Option<PresentationTime>,
    /// `S@d`: the duration of each segment of the run.
    pub d: TickDuration,
    /// `S@r`: how many more segments of the same duration follow.
    pub r: u64,
}

/// SegmentTimeline entries (ISO/IEC 23009-1 §5.3.9.6): equal durations that follow each other
/// are folded into `r`; `t` is written for the first entry and after any gap or overlap.
pub fn timeline(r: &PackagedRendition) -> Vec<TimelineEntry> {
    let mut out: Vec<TimelineEntry> = Vec::new();
    let mut next_start: Option<PresentationTime> = None;
    for s in &r.segments {
        let contiguous = next_start == Some(s.start);
        match out.last_mut() {
            Some(last) if contiguous && last.d == s.duration => last.r += 1,
            _ => out.push(TimelineEntry {
                t: (!contiguous).then_some(s.start),
                d: s.duration,
                r: 0,
            }),
        }
        // A start past the 64-bit range cannot be followed on: the next entry then says its `t`.
        next_start = s.start.checked_add(s.duration).ok();
    }
    out
}

fn content_type(kind: TrackKind) -> &'static str {
    match kind {
        TrackKind::Video => "video",
        TrackKind::Audio => "audio",
        TrackKind::Text => "text",
        TrackKind::Other => "application",
    }
}

/// FrameRateType (§5.3.12.2): an integer, or `num/den`.
fn frame_rate((num, den): (u32, u32)) -> String {
    if den == 1 || (den > 0 && num.is_multiple_of(den)) {
        (num / den).to_string()
    } else {
        format!("{num}/{den}")
    }
}

/// Picture aspect ratio: width × sar_h : height × sar_v, reduced.
fn picture_aspect(r: &PackagedRendition) -> Option<(u64, u64)> {
    let (w, h) = (u64::from(r.width?), u64::from(r.height?));
    let (sh, sv) = r.sar.map_or((1, 1), |(a, b)| (u64::from(a), u64::from(b)));
    let (a, b) = (w * sh, h * sv);
    if a == 0 || b == 0 {
        return None;
    }
    let g = gcd(a, b);
    Some((a / g, b / g))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// xs:duration in seconds with millisecond precision, e.g. `PT30.5S`, `PT4S`.
fn xs_duration(seconds: f64) -> String {
    let millis = (seconds.max(0.0) * 1000.0).round() as u64;
    if millis.is_multiple_of(1000) {
        format!("PT{}S", millis / 1000)
    } else {
        let frac = format!("{:03}", millis % 1000);
        format!("PT{}.{}S", millis / 1000, frac.trim_end_matches('0'))
    }
}

/// A thin layer over quick-xml's Writer for the few shapes the MPD needs. Writing into a Vec
/// cannot fail, so the io::Result of each event is an invariant, not an input error.
struct Xml {
    w: Writer<Vec<u8>>,
}

impl Xml {
    fn new() -> Self {
        Xml {
            w: Writer::new_with_indent(Vec::new(), b' ', 2),
        }
    }

    fn event(&mut self, e: Event) {
        self.w
            .write_event(e)
            .expect("writing XML into memory cannot fail");
    }

    fn element<'a>(name: &'a str, attrs: &'a [(&'a str, Cow<'a, str>)]) -> BytesStart<'a> {
        let mut e = BytesStart::new(name);
        for (k, v) in attrs {
            e.push_attribute((*k, v.as_ref()));
        }
        e
    }

    fn start(&mut self, name: &str, attrs: &[(&str, Cow<str>)]) {
        self.event(Event::Start(Self::element(name, attrs)));
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, Cow<str>)]) {
        self.event(Event::Empty(Self::element(name, attrs)));
    }

    fn end(&mut self, name: &str) {
        self.event(Event::End(BytesEnd::new(name)));
    }

    /// XML written as it is (a CPIX document's ContentProtectionData, checked to be XML when
    /// the document was read).
    fn raw(&mut self, xml: &str) {
        self.event(Event::Text(BytesText::from_escaped(xml)));
    }

    fn text_element(&mut self, name: &str, attrs: &[(&str, Cow<str>)], text: &str) {
        self.start(name, attrs);
        self.event(Event::Text(BytesText::new(text)));
        self.end(name);
    }

    fn finish(self) -> String {
        let mut s =
            String::from_utf8(self.w.into_inner()).expect("quick-xml writes UTF-8 from &str input");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xs_durations() {
        assert_eq!(xs_duration(30.5), "PT30.5S");
        assert_eq!(xs_duration(4.0), "PT4S");
        assert_eq!(xs_duration(0.0213), "PT0.021S");
    }

    #[test]
    fn frame_rates() {
        assert_eq!(frame_rate((30, 1)), "30");
        assert_eq!(frame_rate((30000, 1001)), "30000/1001");
        assert_eq!(frame_rate((15360, 512)), "30");
    }
}
