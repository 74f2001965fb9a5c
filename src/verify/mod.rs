//! `vodpack verify OUT`: proves a packaged output is whole, consistent and protected as signalled,
//! by reading it back the way a player and a CDN would (docs/verify.md).
//!
//! It walks the HLS multivariant playlist, every media and I-frame playlist and the MPD with its
//! own small readers ([`hls`], [`mpd`]), pairs HLS and DASH renditions by their init segment, and
//! checks every init and media segment ([`fmp4`]): files and byte ranges exist, MPD and HLS agree
//! on segment count and timing, segments are contiguous, video fragments start with a sync sample,
//! codec strings match the init segments, encryption signalling matches tenc/schm, every segment
//! outside the clear lead carries senc and points at the protected sample entry, subsample maps
//! fit the NAL structure; with keys every sample is decrypted, and with sources every sample is
//! compared byte for byte (and by decode and presentation time) with the source.
//!
//! The result is a [`Report`]: findings (errors and warnings), never a panic on bad input.
pub mod fmp4;
pub mod hls;
pub mod mpd;
mod rendition;

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::media::Track;

/// A source track to compare a rendition with (`--sources`).
#[derive(Debug, Clone, Copy)]
pub struct SourceTrack<'a> {
    /// The source file's path (for messages).
    pub path: &'a Path,
    /// The open source file.
    pub file: &'a crate::storage::Source,
    /// The source track read from it.
    pub track: &'a Track,
}

/// What to check beyond the structure.
#[derive(Debug, Default)]
pub struct VerifyOptions<'a> {
    /// Content keys by KID: with them every encrypted sample is decrypted.
    pub keys: HashMap<[u8; 16], [u8; 16]>,
    /// Sources by rendition id: every sample is compared with the source's.
    pub sources: HashMap<String, SourceTrack<'a>>,
    /// Manifest names inside OUT.
    pub hls: Option<String>,
    /// The MPD's name inside OUT.
    pub dash: Option<String>,
}

/// One problem found.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// The rendition the problem is in, if one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rendition: Option<String>,
    /// OUT-relative file the problem is in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(r) = &self.rendition {
            write!(f, "{r}: ")?;
        }
        if let Some(p) = &self.file {
            write!(f, "{p}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// What was checked in one rendition.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RenditionReport {
    /// The rendition id.
    pub id: String,
    /// `video`, `audio` or `text`.
    pub kind: String,
    /// The codec string of its init segment.
    pub codec: String,
    /// `cenc`, `cbcs`... when the init segment has a protected sample entry.
    pub scheme: Option<String>,
    /// The default KID (hex) when encrypted.
    pub kid: Option<String>,
    /// Media segments checked.
    pub segments: usize,
    /// Of which in the clear lead.
    pub clear_lead_segments: usize,
    /// Presentation time the clear lead covers (0 when every segment is encrypted).
    pub clear_lead_seconds: f64,
    /// The longest segment, in seconds.
    pub longest_segment: f64,
    /// Samples read.
    pub samples: u64,
    /// Of which encrypted.
    pub encrypted_samples: u64,
    /// Of which decrypted (with keys).
    pub decrypted_samples: u64,
    /// Of which compared with the source (with sources).
    pub compared_samples: u64,
    /// Bytes of its segments.
    pub bytes: u64,
}

/// The result of a verification.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    /// The output folder verified.
    pub out: PathBuf,
    /// No errors.
    pub ok: bool,
    /// Keys were given (samples decrypted).
    pub keys_given: bool,
    /// Sources were given (samples compared).
    pub sources_given: bool,
    /// One report per rendition.
    pub renditions: Vec<RenditionReport>,
    /// The errors found.
    pub errors: Vec<Finding>,
    /// The warnings found.
    pub warnings: Vec<Finding>,
    /// Files read and their bytes.
    pub files: u64,
    /// Bytes of those files.
    pub bytes: u64,
}

impl Report {
    /// The human-readable report.
    pub fn text(&self) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        for r in &self.renditions {
            let _ = write!(
                s,
                "{}: {} {}, {} segments, {} samples",
                r.id, r.kind, r.codec, r.segments, r.samples
            );
            if let Some(scheme) = &r.scheme {
                let _ = write!(
                    s,
                    ", {scheme} (KID {}), {} encrypted, clear lead {} segments",
                    r.kid.as_deref().unwrap_or("?"),
                    r.encrypted_samples,
                    r.clear_lead_segments
                );
            }
            if self.keys_given {
                let _ = write!(s, ", {} decrypted", r.decrypted_samples);
            }
            if self.sources_given {
                let _ = write!(s, ", {} equal to the source", r.compared_samples);
            }
            s.push('\n');
        }
        for w in &self.warnings {
            let _ = writeln!(s, "warning: {w}");
        }
        for e in &self.errors {
            let _ = writeln!(s, "error: {e}");
        }
        let _ = writeln!(
            s,
            "{}: {} ({} renditions, {} files, {} bytes; {} errors, {} warnings)",
            self.out.display(),
            if self.ok { "verified" } else { "FAILED" },
            self.renditions.len(),
            self.files,
            self.bytes,
            self.errors.len(),
            self.warnings.len()
        );
        s
    }
}

/// Findings of one part of the check, with a cap so a badly broken output does not print a
/// million lines (the count of the rest is reported).
#[derive(Debug, Default)]
pub(crate) struct Findings {
    rendition: Option<String>,
    pub errors: Vec<Finding>,
    pub warnings: Vec<Finding>,
    suppressed: u64,
}

const MAX_FINDINGS_PER_PART: usize = 40;

impl Findings {
    pub(crate) fn new(rendition: Option<&str>) -> Self {
        Findings {
            rendition: rendition.map(str::to_string),
            ..Default::default()
        }
    }

    pub(crate) fn error(&mut self, file: Option<&str>, message: impl Into<String>) {
        if self.errors.len() >= MAX_FINDINGS_PER_PART {
            self.suppressed += 1;
            return;
        }
        self.errors.push(Finding {
            rendition: self.rendition.clone(),
            file: file.map(str::to_string),
            message: message.into(),
        });
    }

    pub(crate) fn warning(&mut self, file: Option<&str>, message: impl Into<String>) {
        if self.warnings.len() >= MAX_FINDINGS_PER_PART {
            return;
        }
        self.warnings.push(Finding {
            rendition: self.rendition.clone(),
            file: file.map(str::to_string),
            message: message.into(),
        });
    }

    fn into_report(mut self, report: &mut Report) {
        if self.suppressed > 0 {
            let n = self.suppressed;
            self.errors.push(Finding {
                rendition: self.rendition.clone(),
                file: None,
                message: format!("{n} more errors not shown"),
            });
        }
        report.errors.extend(self.errors);
        report.warnings.extend(self.warnings);
    }
}

/// A media resource: OUT-relative path and optional byte range (offset, length).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Res {
    pub path: String,
    pub range: Option<(u64, u64)>,
}

impl Res {
    fn describe(&self) -> String {
        match self.range {
            Some((o, l)) => format!("{} (bytes {o}..{})", self.path, o.saturating_add(l)),
            None => self.path.clone(),
        }
    }
}

/// What the HLS side says about one segment.
#[derive(Debug, Clone)]
pub(crate) struct HlsSeg {
    pub res: Res,
    pub extinf: f64,
    /// Encryption methods in force (empty = clear) and their KEYIDs when given.
    pub methods: Vec<(String, Option<String>)>,
}

/// A rendition as the manifests describe it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Described {
    pub id: String,
    pub init: Option<Res>,
    /// MPD: segments with (t, d) in `timescale`, or a SegmentBase to be read from the sidx.
    pub mpd_segments: Option<Vec<(Res, u64, u64)>>,
    pub mpd_base: Option<(String, (u64, u64), u64)>,
    pub mpd_timescale: u64,
    pub mpd_codecs: Option<String>,
    pub mpd_protection: Vec<mpd::Protection>,
    pub in_mpd: bool,
    /// Which manifests the output has (a rendition must be in each).
    pub expect_mpd: bool,
    pub expect_hls: bool,
    pub hls_playlist: Option<String>,
    pub hls_segments: Option<Vec<HlsSeg>>,
}

/// A byte range of a fragment an I-frame playlist must address: (file, moof offset, end of the
/// first sample's data), from the segment walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IFrameTarget {
    pub path: String,
    pub offset: u64,
    pub end: u64,
    pub ticks: u64,
}

/// Why a file of the output could not be read or understood. Findings quote it; it never
/// stops the walk.
#[derive(Debug)]
pub enum VerifyError {
    /// The file cannot be opened (missing, permissions).
    Open(std::io::Error),
    /// Its size cannot be read.
    Stat(std::io::Error),
    /// Reading its bytes failed.
    Read(std::io::Error),
    /// A byte range whose end does not fit in 64 bits.
    RangeOverflow,
    /// A byte range that runs past the end of the file.
    PastEnd {
        /// First byte of the range.
        offset: u64,
        /// One past its last byte.
        end: u64,
        /// The file's length.
        len: u64,
    },
    /// A manifest larger than [`MAX_MANIFEST`].
    TooLarge,
    /// A URI that names no file of the output.
    Uri(hls::UriError),
    /// An HLS playlist that cannot be read.
    Hls(hls::HlsError),
    /// An MPD that cannot be read.
    Mpd(mpd::MpdError),
    /// A SegmentTemplate that cannot be expanded.
    Template(mpd::TemplateError),
}

/// The largest manifest `verify` reads (bytes).
pub const MAX_MANIFEST: u64 = 64 * 1024 * 1024;

impl std::fmt::Display for VerifyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyError::Open(e) => write!(f, "cannot open: {e}"),
            VerifyError::Stat(e) => write!(f, "cannot stat: {e}"),
            VerifyError::Read(e) => write!(f, "cannot read: {e}"),
            VerifyError::RangeOverflow => f.write_str("byte range overflows"),
            VerifyError::PastEnd { offset, end, len } => write!(
                f,
                "byte range {offset}..{end} runs past the end of the file ({len} bytes)"
            ),
            VerifyError::TooLarge => f.write_str("manifest larger than 64 MiB"),
            VerifyError::Uri(e) => write!(f, "{e}"),
            VerifyError::Hls(e) => write!(f, "{e}"),
            VerifyError::Mpd(e) => write!(f, "{e}"),
            VerifyError::Template(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for VerifyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VerifyError::Open(e) | VerifyError::Stat(e) | VerifyError::Read(e) => Some(e),
            VerifyError::Uri(e) => Some(e),
            VerifyError::Hls(e) => Some(e),
            VerifyError::Mpd(e) => Some(e),
            VerifyError::Template(e) => Some(e),
            _ => None,
        }
    }
}

impl From<hls::UriError> for VerifyError {
    fn from(e: hls::UriError) -> Self {
        VerifyError::Uri(e)
    }
}

impl From<hls::HlsError> for VerifyError {
    fn from(e: hls::HlsError) -> Self {
        VerifyError::Hls(e)
    }
}

impl From<mpd::MpdError> for VerifyError {
    fn from(e: mpd::MpdError) -> Self {
        VerifyError::Mpd(e)
    }
}

impl From<mpd::TemplateError> for VerifyError {
    fn from(e: mpd::TemplateError) -> Self {
        VerifyError::Template(e)
    }
}

/// Reads an OUT-relative file, or a byte range of it; a missing file or a range past the end is
/// an error.
pub(crate) fn read_res(out: &Path, res: &Res) -> Result<Vec<u8>, VerifyError> {
    use std::os::unix::fs::FileExt;
    let path = out.join(&res.path);
    let file = File::open(&path).map_err(VerifyError::Open)?;
    let len = file.metadata().map_err(VerifyError::Stat)?.len();
    let (off, n) = match res.range {
        Some((o, n)) => (o, n),
        None => (0, len),
    };
    let end = off.checked_add(n).ok_or(VerifyError::RangeOverflow)?;
    if end > len {
        return Err(VerifyError::PastEnd {
            offset: off,
            end,
            len,
        });
    }
    let mut buf = vec![0u8; n as usize];
    file.read_exact_at(&mut buf, off)
        .map_err(VerifyError::Read)?;
    Ok(buf)
}

fn read_text(out: &Path, rel: &str) -> Result<String, VerifyError> {
    let p = out.join(rel);
    let meta = std::fs::metadata(&p).map_err(VerifyError::Open)?;
    if meta.len() > MAX_MANIFEST {
        return Err(VerifyError::TooLarge);
    }
    std::fs::read_to_string(&p).map_err(VerifyError::Read)
}

/// Verifies the packaged output in `out`.
pub fn verify(out: &Path, opts: &VerifyOptions) -> Report {
    let mut report = Report {
        out: out.to_path_buf(),
        keys_given: !opts.keys.is_empty(),
        sources_given: !opts.sources.is_empty(),
        ..Default::default()
    };
    let mut top = Findings::new(None);
    if !out.is_dir() {
        top.error(None, format!("{} is not a folder", out.display()));
        top.into_report(&mut report);
        return report;
    }
    // The manifests: as named, else master.m3u8 / manifest.mpd, else the only .m3u8 / .mpd at
    // the top of OUT (`--hls-master`, `--mpd`); an output may have only one of them
    // (`--manifests hls|dash`).
    let at_root = |ext: &str| -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(out)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(ext))
            .collect();
        v.sort();
        v
    };
    let pick = |given: &Option<String>, default: &str, ext: &str| -> Option<String> {
        if let Some(g) = given {
            return Some(g.clone());
        }
        let found = at_root(ext);
        if found.iter().any(|n| n == default) {
            return Some(default.to_string());
        }
        (found.len() == 1).then(|| found[0].clone())
    };
    let hls_found = pick(&opts.hls, "master.m3u8", ".m3u8");
    let dash_found = pick(&opts.dash, "manifest.mpd", ".mpd");
    if hls_found.is_none() && dash_found.is_none() {
        top.error(
            None,
            "no HLS multivariant playlist (master.m3u8) and no MPD (manifest.mpd) at the top of the folder",
        );
        top.into_report(&mut report);
        return report;
    }
    let hls_name = hls_found.clone().unwrap_or_default();
    let dash_name = dash_found.clone().unwrap_or_default();
    let mut described: BTreeMap<Res, Described> = BTreeMap::new();
    let mut files = 0u64;

    // DASH.
    let dash_text = match &dash_found {
        Some(n) => read_text(out, n).and_then(|t| Ok(mpd::parse(&t)?)),
        None => Ok(mpd::Mpd::default()),
    };
    match dash_text {
        Err(e) => top.error(Some(&dash_name), e.to_string()),
        Ok(m) if dash_found.is_none() => drop(m),
        Ok(m) => {
            files += 1;
            for r in &m.representations {
                let mut d = Described {
                    id: r.id.clone(),
                    in_mpd: true,
                    mpd_codecs: r.codecs.clone(),
                    mpd_protection: r.protection.clone(),
                    ..Default::default()
                };
                // A relative MPD-level BaseURL (an object-store run's prefix) moves every
                // segment URL under it; an absolute one (`--base-url`) is matched by file.
                let base_owned = match m.base_url.as_deref() {
                    Some(b) if !b.contains("://") => {
                        hls::resolve(hls::parent(&dash_name), b).unwrap_or_default()
                    }
                    _ => hls::parent(&dash_name).to_string(),
                };
                let base = base_owned.as_str();
                let resolved =
                    |p: &str| -> Result<String, VerifyError> { Ok(resolve_uri(out, base, p)?) };
                if let Some(t) = &r.template {
                    d.mpd_timescale = t.timescale;
                    let init = mpd::expand(&t.initialization, &r.id, 0, 0)
                        .map_err(VerifyError::from)
                        .and_then(|p| resolved(&p));
                    match init {
                        Ok(p) => {
                            d.init = Some(Res {
                                path: p,
                                range: None,
                            })
                        }
                        Err(e) => {
                            top.error(Some(&dash_name), format!("{}: initialization: {e}", r.id))
                        }
                    }
                    let mut segs = Vec::new();
                    for (k, s) in t.timeline.iter().enumerate() {
                        let n = t.start_number + k as u64;
                        match mpd::expand(&t.media, &r.id, n, s.t)
                            .map_err(VerifyError::from)
                            .and_then(|p| resolved(&p))
                        {
                            Ok(p) => segs.push((
                                Res {
                                    path: p,
                                    range: None,
                                },
                                s.t,
                                s.d,
                            )),
                            Err(e) => {
                                top.error(Some(&dash_name), format!("{}: media: {e}", r.id));
                                break;
                            }
                        }
                    }
                    if t.timeline.is_empty() {
                        top.error(
                            Some(&dash_name),
                            format!("{}: SegmentTemplate without a SegmentTimeline", r.id),
                        );
                    }
                    d.mpd_segments = Some(segs);
                } else if let (Some(b), Some(url)) = (&r.segment_base, &r.base_url) {
                    d.mpd_timescale = b.timescale;
                    match (resolved(url), b.init_range, b.index_range) {
                        (Ok(p), Some(ir), Some(xr)) => {
                            d.init = Some(Res {
                                path: p.clone(),
                                range: Some((ir.0, ir.1 - ir.0 + 1)),
                            });
                            d.mpd_base = Some((p, xr, b.timescale));
                        }
                        (Err(e), ..) => {
                            top.error(Some(&dash_name), format!("{}: BaseURL: {e}", r.id))
                        }
                        _ => top.error(
                            Some(&dash_name),
                            format!(
                                "{}: SegmentBase without Initialization range or indexRange",
                                r.id
                            ),
                        ),
                    }
                } else {
                    top.error(
                        Some(&dash_name),
                        format!(
                            "{}: neither SegmentTemplate nor SegmentBase with a BaseURL",
                            r.id
                        ),
                    );
                }
                if let Some(init) = d.init.clone() {
                    if described.insert(init.clone(), d).is_some() {
                        top.error(
                            Some(&dash_name),
                            format!(
                                "two Representations use the init segment {}",
                                init.describe()
                            ),
                        );
                    }
                }
            }
            if m.representations.is_empty() {
                top.error(Some(&dash_name), "no Representation");
            }
        }
    }

    // HLS.
    let mut variant_codecs: Vec<(String, Vec<String>, Option<String>)> = Vec::new();
    let mut audio_groups: HashMap<String, Vec<String>> = HashMap::new();
    let mut iframe_lists: Vec<(String, Vec<String>)> = Vec::new();
    let mut subtitle_playlists: Vec<String> = Vec::new();
    let hls_text = match &hls_found {
        Some(n) => read_text(out, n).and_then(|t| Ok(hls::parse_multivariant(&t)?)),
        None => Ok(hls::Multivariant::default()),
    };
    match hls_text {
        Err(e) => top.error(Some(&hls_name), e.to_string()),
        Ok(mv) if hls_found.is_none() => drop(mv),
        Ok(mv) => {
            files += 1;
            let base = hls::parent(&hls_name).to_string();
            let mut playlists: Vec<String> = Vec::new();
            let mut add = |uri: &str, top: &mut Findings| match resolve_uri(out, &base, uri) {
                Ok(p) => {
                    if !playlists.contains(&p) {
                        playlists.push(p.clone());
                    }
                    Some(p)
                }
                Err(e) => {
                    top.error(Some(&hls_name), e.to_string());
                    None
                }
            };
            for v in &mv.variants {
                if let Some(p) = add(&v.uri, &mut top) {
                    variant_codecs.push((p, v.codecs.clone(), v.audio.clone()));
                }
            }
            for m in &mv.media {
                if let Some(uri) = &m.uri {
                    if m.kind == "SUBTITLES" {
                        // WebVTT playlists: checked on their own below (no init segment).
                        match resolve_uri(out, &base, uri) {
                            Ok(p) => subtitle_playlists.push(p),
                            Err(e) => top.error(Some(&hls_name), e.to_string()),
                        }
                        continue;
                    }
                    if let Some(p) = add(uri, &mut top) {
                        audio_groups.entry(m.group.clone()).or_default().push(p);
                    }
                }
            }
            for f in &mv.iframe_streams {
                if let Ok(p) = resolve_uri(out, &base, &f.uri) {
                    iframe_lists.push((p, f.codecs.clone()));
                } else {
                    top.error(
                        Some(&hls_name),
                        format!("I-frame URI '{}' is not inside the output", f.uri),
                    );
                }
            }
            if mv.variants.is_empty() {
                top.error(Some(&hls_name), "no EXT-X-STREAM-INF variant");
            }
            for p in playlists {
                match read_text(out, &p).and_then(|t| Ok(hls::parse_media_playlist(&t)?)) {
                    Err(e) => top.error(Some(&p), e.to_string()),
                    Ok(pl) => {
                        files += 1;
                        if !pl.endlist {
                            top.error(Some(&p), "no EXT-X-ENDLIST (a VOD playlist ends with it)");
                        }
                        let base = hls::parent(&p).to_string();
                        let Some(map) = &pl.map else {
                            top.error(
                                Some(&p),
                                "no EXT-X-MAP (fMP4 segments need their init segment)",
                            );
                            continue;
                        };
                        let init = match resolve_uri(out, &base, &map.uri) {
                            Ok(path) => Res {
                                path,
                                range: map.range.map(|(l, o)| (o, l)),
                            },
                            Err(e) => {
                                top.error(Some(&p), e.to_string());
                                continue;
                            }
                        };
                        let mut segs = Vec::new();
                        for s in &pl.segments {
                            match resolve_uri(out, &base, &s.resource.uri) {
                                Ok(path) => segs.push(HlsSeg {
                                    res: Res {
                                        path,
                                        range: s.resource.range.map(|(l, o)| (o, l)),
                                    },
                                    extinf: s.duration,
                                    methods: s
                                        .keys
                                        .iter()
                                        .map(|k| {
                                            (
                                                k.get("METHOD").cloned().unwrap_or_default(),
                                                k.get("KEYID").cloned(),
                                            )
                                        })
                                        .collect(),
                                }),
                                Err(e) => top.error(Some(&p), e.to_string()),
                            }
                        }
                        if let Some(td) = pl.target_duration {
                            if let Some(s) =
                                pl.segments.iter().find(|s| s.duration.round() as u64 > td)
                            {
                                top.error(
                                    Some(&p),
                                    format!(
                                        "EXTINF {} exceeds EXT-X-TARGETDURATION {td}",
                                        s.duration
                                    ),
                                );
                            }
                        }
                        let d = described.entry(init.clone()).or_insert_with(|| Described {
                            id: hls::parent(&p).to_string(),
                            init: Some(init.clone()),
                            ..Default::default()
                        });
                        if d.hls_playlist.is_some() {
                            top.error(
                                Some(&p),
                                format!(
                                    "two media playlists use the init segment {}",
                                    init.describe()
                                ),
                            );
                        }
                        d.hls_playlist = Some(p.clone());
                        d.hls_segments = Some(segs);
                    }
                }
            }
        }
    }
    report.files = files;

    for p in &subtitle_playlists {
        files += check_subtitle_playlist(out, p, &mut top);
    }
    for d in described.values_mut() {
        d.expect_mpd = dash_found.is_some();
        d.expect_hls = hls_found.is_some();
    }
    // Two schemes in one run (`--protection dash=cenc,hls=cbcs`): the MPD's init segment is
    // `<id>/<scheme>/init.mp4` and the playlist's `<id>/<other scheme>/init.mp4`; each set is
    // checked on its own (it has one manifest by design).
    let pairs: Vec<(Res, Res)> = described
        .iter()
        .filter(|(_, d)| d.in_mpd && d.hls_playlist.is_none())
        .filter_map(|(k, _)| {
            let sibling = scheme_sibling(&k.path)?;
            let other = described
                .iter()
                .find(|(k2, d2)| k2.path == sibling && !d2.in_mpd && d2.hls_playlist.is_some())?;
            Some((k.clone(), other.0.clone()))
        })
        .collect();
    for (dash_set, hls_set) in pairs {
        if let Some(d) = described.get_mut(&dash_set) {
            d.expect_hls = false;
        }
        if let Some(d) = described.get_mut(&hls_set) {
            d.expect_mpd = false;
        }
    }

    // Renditions, in parallel.
    let results: Vec<rendition::Outcome> = described
        .values()
        .collect::<Vec<_>>()
        .par_iter()
        .map(|d| rendition::check(out, d, opts))
        .collect();

    // Multivariant CODECS against the init segments.
    let codec_of: HashMap<String, String> = results
        .iter()
        .filter_map(|o| Some((o.hls_playlist.clone()?, o.report.codec.clone())))
        .collect();
    for (p, codecs, audio) in &variant_codecs {
        let mut want: Vec<&String> = codec_of.get(p).into_iter().collect();
        if let Some(g) = audio {
            match audio_groups.get(g) {
                Some(members) => want.extend(members.iter().filter_map(|m| codec_of.get(m))),
                None => top.error(
                    Some(&hls_name),
                    format!("variant {p} names AUDIO group '{g}' that has no EXT-X-MEDIA"),
                ),
            }
        }
        for c in want {
            if !codecs.contains(c) {
                top.error(
                    Some(&hls_name),
                    format!(
                        "variant {p}: CODECS \"{}\" lacks \"{c}\" of its init segment",
                        codecs.join(",")
                    ),
                );
            }
        }
    }
    // I-frame playlists against the fragments found.
    for (p, codecs) in &iframe_lists {
        rendition::check_iframe_playlist(out, p, codecs, &results, &mut top);
        files += 1;
    }
    report.files = files;

    // No key may be published with the media: every file under OUT but the media segments
    // themselves is searched for every known key, raw and in hex and base64 forms.
    if !opts.keys.is_empty() {
        let mut media: std::collections::HashSet<String> = std::collections::HashSet::new();
        for d in described.values() {
            for (r, ..) in d.mpd_segments.iter().flatten() {
                media.insert(r.path.clone());
            }
            for h in d.hls_segments.iter().flatten() {
                media.insert(h.res.path.clone());
            }
        }
        let keys: Vec<[u8; 16]> = opts.keys.values().copied().collect();
        scan_for_keys(out, out, 0, &keys, &media, &mut top);
    }

    top.into_report(&mut report);
    for o in results {
        report.files += o.files;
        report.bytes += o.bytes;
        o.findings.into_report(&mut report);
        report.renditions.push(o.report);
    }
    check_clear_leads(&mut report);
    let ids: Vec<&String> = opts.sources.keys().collect();
    for id in ids {
        if !report.renditions.iter().any(|r| &r.id == id) {
            report.errors.push(Finding {
                rendition: Some(id.clone()),
                file: None,
                message: "a source was given for this rendition but the manifests do not list it"
                    .into(),
            });
        }
    }
    report.ok = report.errors.is_empty();
    report
}

/// What `vodpack verify` was given on the command line.
#[derive(Debug, Default, Clone)]
pub struct VerifyRequest {
    /// `kid=HEX,key=HEX` (a label is allowed and ignored).
    pub keys: Vec<String>,
    /// `--key-file`: keys as `kid=HEX,key=HEX` lines.
    pub key_file: Option<PathBuf>,
    /// `--key-manifest`: the control crate's key manifest.
    pub key_manifest: Option<PathBuf>,
    /// Input descriptors, as given to `vodpack package`, in the same order.
    pub sources: Vec<crate::package::InputSpec>,
    /// Keys of encrypted sources (`--decryption-key`, as for `package`).
    pub decryption_keys: Vec<String>,
}

/// [`verify_request`] on a local folder or an object-store output (`s3://…`, `gs://…`,
/// `az://…`): the output's current run is copied into a temporary folder first
/// (package::publish::download_current), which is removed afterwards.
pub fn verify_request_at(out: &Path, req: &VerifyRequest) -> crate::Result<Report> {
    let Some(url) = crate::storage::ObjectUrl::parse(&out.to_string_lossy()) else {
        return verify_request(out, req);
    };
    let url = url.map_err(|e| crate::Error::Usage(e.to_string()))?;
    let tmp = std::env::temp_dir().join(format!(
        "vodpack-verify-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    let local = tmp.join(url.name());
    let result = crate::package::publish::download_current(&url, &local)
        .and_then(|()| verify_request(&local, req));
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// Loads keys and sources for `vodpack verify` and runs it. Without key options, the key
/// manifest at its default place beside OUT is used when it exists. Errors (bad key syntax,
/// unreadable key files, sources that do not open) are returned as such; findings are in the
/// report.
pub fn verify_request(out: &Path, req: &VerifyRequest) -> crate::Result<Report> {
    use crate::cenc::keys;
    use crate::Error;
    let mut key_map: HashMap<[u8; 16], [u8; 16]> = HashMap::new();
    let mut add = |kid: [u8; 16], key: [u8; 16]| -> crate::Result<()> {
        match key_map.insert(kid, key) {
            Some(old) if old != key => Err(Error::Key(format!(
                "two different keys given for KID {}",
                hex::encode(kid)
            ))),
            _ => Ok(()),
        }
    };
    for k in &req.keys {
        let spec = keys::parse_key_arg(k)?;
        add(spec.kid, spec.key)?;
    }
    if let Some(p) = &req.key_file {
        for spec in keys::load_key_file(p)? {
            add(spec.kid, spec.key)?;
        }
    }
    let default_manifest = vodpack_control::key_manifest::default_path(out);
    let manifest = match &req.key_manifest {
        Some(p) => Some(p.clone()),
        None if req.keys.is_empty() && req.key_file.is_none() && default_manifest.is_file() => {
            Some(default_manifest)
        }
        None => None,
    };
    if let Some(p) = &manifest {
        let m = vodpack_control::key_manifest::KeyManifest::load(p)
            .map_err(|e| Error::from(e).in_file(p))?;
        for k in &m.keys {
            let kid = k
                .kid_bytes()
                .map_err(|e| Error::Key(format!("{}: {e}", p.display())))?;
            let key = k
                .key_bytes()
                .map_err(|e| Error::Key(format!("{}: {e}", p.display())))?;
            add(kid, key)?;
        }
    }
    let (inputs, sources) = if req.sources.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let job: crate::package::PackageJob = serde_json::from_value(serde_json::json!({
            "inputs": req.sources,
            "out": out,
            "decryption_keys": req.decryption_keys,
        }))
        .map_err(|e| Error::Usage(format!("--sources: {e}")))?;
        let opened = crate::package::source::open_sources(&job)?;
        (opened.inputs, opened.sources)
    };
    let mut opts = VerifyOptions {
        keys: key_map,
        ..Default::default()
    };
    for s in &sources {
        let input = &inputs[s.input];
        opts.sources.insert(
            s.id.clone(),
            SourceTrack {
                path: &input.path,
                file: &input.file,
                track: &s.track,
            },
        );
    }
    Ok(verify(out, &opts))
}

/// `package --verify`: verifies the staged output with the run's keys and its inputs as sources
/// before it is committed; an output that fails is an [`crate::Error::Verification`] and is never
/// committed.
pub fn verify_staged(
    dir: &Path,
    inputs: &[crate::media::input::InputFile],
    sources: &[crate::package::source::RenditionSource],
    keys: &[crate::cenc::KeySpec],
) -> crate::Result<Report> {
    let mut opts = VerifyOptions::default();
    for k in keys {
        opts.keys.insert(k.kid, k.key);
    }
    for s in sources {
        let input = &inputs[s.input];
        opts.sources.insert(
            s.id.clone(),
            SourceTrack {
                path: &input.path,
                file: &input.file,
                track: &s.track,
            },
        );
    }
    let report = verify(dir, &opts);
    if !report.ok {
        let mut msg = format!(
            "the packaged output failed verification ({} errors); nothing was committed:",
            report.errors.len()
        );
        for e in report.errors.iter().take(10) {
            msg.push_str("\n  ");
            msg.push_str(&e.to_string());
        }
        return Err(crate::Error::Verification(msg));
    }
    Ok(report)
}

/// The forms a 16-byte key takes in files: raw, hex (both cases), base64 and base64url (with and
/// without padding).
fn key_forms(key: &[u8; 16]) -> Vec<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let hex = hex::encode(key);
    vec![
        key.to_vec(),
        hex.clone().into_bytes(),
        hex.to_ascii_uppercase().into_bytes(),
        STANDARD.encode(key).into_bytes(),
        STANDARD
            .encode(key)
            .trim_end_matches('=')
            .as_bytes()
            .to_vec(),
        URL_SAFE_NO_PAD.encode(key).into_bytes(),
    ]
}

fn scan_for_keys(
    out: &Path,
    dir: &Path,
    depth: usize,
    keys: &[[u8; 16]],
    media: &std::collections::HashSet<String>,
    f: &mut Findings,
) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let rel = p
            .strip_prefix(out)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            if depth < 8 {
                scan_for_keys(out, &p, depth + 1, keys, media, f);
            }
            continue;
        }
        if !meta.is_file() || media.contains(&rel) || meta.len() > 64 * 1024 * 1024 {
            continue;
        }
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        for key in keys {
            if key_forms(key)
                .iter()
                .any(|form| bytes.windows(form.len()).any(|w| w == &form[..]))
            {
                f.error(
                    Some(&rel),
                    "holds a content key (published with the media: anyone who downloads OUT can decrypt it)",
                );
                break;
            }
        }
    }
}

/// A clear lead is counted in presentation time from the start of the presentation, the same for
/// every encrypted rendition: one rendition clear for a segment while another is encrypted from
/// the start (e.g. audio whose edit list starts inside the media) leaves content clear that was
/// meant to be protected.
fn check_clear_leads(report: &mut Report) {
    let protected: Vec<&RenditionReport> = report
        .renditions
        .iter()
        .filter(|r| r.scheme.is_some())
        .collect();
    let Some(min) = protected
        .iter()
        .map(|r| r.clear_lead_seconds)
        .min_by(f64::total_cmp)
    else {
        return;
    };
    let mut found = Vec::new();
    for r in &protected {
        let unencrypted_at_start = r.clear_lead_segments > 0;
        let others_from_start = protected
            .iter()
            .find(|o| o.id != r.id && o.clear_lead_segments == 0);
        let slack = protected
            .iter()
            .map(|o| o.longest_segment)
            .fold(0.0, f64::max);
        if let (true, Some(o)) = (unencrypted_at_start, others_from_start) {
            found.push(Finding {
                rendition: Some(r.id.clone()),
                file: None,
                message: format!(
                    "its first {} segment(s) ({:.3} s) are clear while {} is encrypted from the start: a clear lead must cover the same presentation time in every rendition",
                    r.clear_lead_segments, r.clear_lead_seconds, o.id
                ),
            });
        } else if r.clear_lead_seconds - min > slack + 1e-6 {
            found.push(Finding {
                rendition: Some(r.id.clone()),
                file: None,
                message: format!(
                    "its clear lead lasts {:.3} s, more than a segment beyond the shortest ({min:.3} s)",
                    r.clear_lead_seconds
                ),
            });
        }
    }
    report.errors.extend(found);
}

/// A WebVTT media playlist: every segment exists, lies inside its file and is WebVTT. Returns
/// the number of files read.
fn check_subtitle_playlist(out: &Path, playlist: &str, top: &mut Findings) -> u64 {
    let pl = match read_text(out, playlist).and_then(|t| Ok(hls::parse_media_playlist(&t)?)) {
        Ok(p) => p,
        Err(e) => {
            top.error(Some(playlist), e.to_string());
            return 0;
        }
    };
    let mut files = 1;
    if !pl.endlist {
        top.error(
            Some(playlist),
            "no EXT-X-ENDLIST (a VOD playlist ends with it)",
        );
    }
    if pl.segments.is_empty() {
        top.error(Some(playlist), "no segments");
    }
    let base = hls::parent(playlist).to_string();
    for (i, s) in pl.segments.iter().enumerate() {
        let res = match resolve_uri(out, &base, &s.resource.uri) {
            Ok(path) => Res {
                path,
                range: s.resource.range.map(|(l, o)| (o, l)),
            },
            Err(e) => {
                top.error(Some(playlist), e.to_string());
                continue;
            }
        };
        match read_res(out, &res) {
            Ok(b) => {
                files += 1;
                let text = b.strip_prefix("\u{feff}".as_bytes()).unwrap_or(&b);
                if !text.starts_with(b"WEBVTT") {
                    top.error(
                        Some(&res.path),
                        format!("subtitle segment {} is not WebVTT", i + 1),
                    );
                }
            }
            Err(e) => top.error(Some(&res.path), format!("subtitle segment {}: {e}", i + 1)),
        }
    }
    files
}

/// Resolves a manifest URI to an OUT-relative path. Relative URIs resolve against the folder of
/// the manifest that holds them; an absolute `http(s)://` URI (`--base-url`) maps to the longest
/// tail of its path that names a file in OUT (`https://cdn/movie/v/seg_1.m4s` → `v/seg_1.m4s`).
pub(crate) fn resolve_uri(out: &Path, base: &str, uri: &str) -> Result<String, hls::UriError> {
    let Some((_, rest)) = uri.split_once("://") else {
        return hls::resolve(base, uri);
    };
    let path = rest.split_once('/').map(|(_, p)| p).unwrap_or("");
    let path = path.split(['?', '#']).next().unwrap_or("");
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for i in 0..parts.len() {
        let tail = parts[i..].join("/");
        if parts[i..].iter().all(|p| *p != "..") && out.join(&tail).is_file() {
            return Ok(tail);
        }
    }
    Err(hls::UriError::NoFileInOutput(uri.to_string()))
}

/// `<id>/cenc/F` ↔ `<id>/cbcs/F`: the same file of the other scheme's set (two-scheme output).
fn scheme_sibling(path: &str) -> Option<String> {
    let (dir, file) = path.rsplit_once('/')?;
    let (parent, set) = dir.rsplit_once('/')?;
    let other = match set {
        "cenc" => "cbcs",
        "cbcs" => "cenc",
        _ => return None,
    };
    Some(format!("{parent}/{other}/{file}"))
}
