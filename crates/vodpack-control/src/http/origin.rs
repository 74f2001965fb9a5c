//! File serving of the origin: which files may be served, and the HTTP caching layer around
//! hyper-staticfile's `FileResponseBuilder`, which answers `HEAD`, single byte ranges (206/416),
//! `Last-Modified` and `If-Modified-Since`, and streams the file or range from disk in bounded
//! reads (memory per connection bounded whatever the file size). The file is read through
//! `DiskFile`: straight from the page cache on the worker thread (`preadv2(RWF_NOWAIT)`),
//! tokio's blocking pool only for data that must come from the disk. This module adds what the
//! builder lacks: a strong `ETag`, `If-None-Match` (→ 304, RFC 9110 §13.1.2, taking precedence
//! over `If-Modified-Since`), `If-Unmodified-Since` (→ 412), `If-Range` (§13.1.5: a range only
//! while the validator still matches, else the whole file), multiple ranges answered with the
//! whole file (§14.2 allows ignoring `Range`), the media type of each output file and
//! `Cache-Control`.
//!
//! A file is served only when it is a regular file (never a symlink, FIFO or directory) whose
//! real path is the requested path inside the output directory (no symlinked component), and
//! never when it is the key manifest (a hard link to it inside the output directory is refused:
//! same device and inode).

use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::future::Future;
use std::io::{self, SeekFrom};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::io::AsyncSeek;
use tokio::task::JoinHandle;

use crate::playback::key_manifest::{parse_segment_template, KeyManifest, TemplatePart};

/// `Cache-Control` of manifests (they may be re-published).
pub const MANIFEST_CACHE_CONTROL: &str = "public, max-age=5";
/// `Cache-Control` of segments and init segments (immutable once written).
pub const SEGMENT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Largest read of file streaming: a 4 s segment of a typical ladder (~110 kB) in one read, while
/// 64 clients reading at once buffer at most 8 MiB.
const CHUNK: usize = 128 * 1024;

/// What kind of rendition a file belongs to (for the media type of `.mp4`/`.m4s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// A video rendition (or `other`, or unknown).
    Video,
    /// An audio rendition.
    Audio,
    /// A text (subtitle) rendition in fragmented MP4.
    Text,
}

/// The media type of an output file by extension, and whether it is a manifest; `None` for
/// anything that is not a media output (the key manifest, any `.json`, stray files).
pub fn media_type(path: &str, folder: FolderKind) -> Option<(&'static str, bool)> {
    let ext = path.rsplit_once('.')?.1;
    Some(match ext {
        "m3u8" => ("application/vnd.apple.mpegurl", true),
        "mpd" => ("application/dash+xml", true),
        "mp4" | "m4s" => match folder {
            FolderKind::Audio => ("audio/mp4", false),
            FolderKind::Text => ("application/mp4", false),
            FolderKind::Video => ("video/mp4", false),
        },
        "m4v" | "cmfv" => ("video/mp4", false),
        "m4a" | "cmfa" => ("audio/mp4", false),
        "cmft" => ("application/mp4", false),
        "vtt" | "webvtt" => ("text/vtt", false),
        // HLS over MPEG-TS (RFC 8216 §3.2).
        "ts" => ("video/mp2t", false),
        _ => return None,
    })
}

impl FolderKind {
    /// The kind of a key manifest rendition `kind` (`video`, `audio`, `text`, `other`).
    pub fn of_rendition(kind: &str) -> FolderKind {
        match kind {
            "audio" => FolderKind::Audio,
            "text" => FolderKind::Text,
            _ => FolderKind::Video,
        }
    }
}

/// Which rendition kind each output file belongs to, compiled once from the key manifest's file
/// locations (every set's `init_path` and `segment_template`), so that a request costs one
/// split of its path and one hash lookup of its directory.
///
/// Per directory (relative to OUT) it keeps the init file names, the file-name patterns of the
/// templates whose directory part is literal (`cenc/chunks/video_240p_$Time$.m4s` → directory
/// `cenc/chunks`, pattern `video_240p_<digits>.m4s`) by their literal prefix (`video_240p_`),
/// and, when every file located there is of one kind (the default layout: one folder per
/// rendition and set), that kind, answered without looking at the file name. In a directory
/// shared by kinds, a file name is looked up by its prefixes that end where a run of digits
/// starts (`video_240p_180000.m4s` → `video_240p_`), longest first: a hash lookup per run of
/// digits in the name, whatever the number of renditions. Templates with a digit field in
/// their directory part are matched whole, only for paths whose directory is not otherwise
/// known. A path none of these place falls back to the rule of files written before the
/// locations were recorded: the kind of the first rendition whose `init_path` is in the same
/// folder, else video. A digit field matches at most [`MAX_DIGITS`] digits, so a crafted long
/// name costs a bounded amount of work.
#[derive(Debug, Default)]
pub struct MediaKinds {
    dirs: HashMap<Box<str>, DirKinds>,
    /// Whole-path patterns of templates whose directory part has a digit field.
    wild: Vec<(Pattern, FolderKind)>,
    /// Pairs of templates of different kinds that can name the same file.
    ambiguities: Vec<String>,
}

#[derive(Debug, Default)]
struct DirKinds {
    /// The one kind of every file located in this directory, when they agree.
    uniform: Option<FolderKind>,
    /// Init segments (or single files) in this directory, by file name.
    files: Vec<(Box<str>, FolderKind)>,
    /// File-name patterns of templates (while building).
    patterns: Vec<(Pattern, FolderKind)>,
    /// The same patterns by [`Pattern::key`].
    by_prefix: HashMap<Box<str>, Vec<(Pattern, FolderKind)>>,
    /// Bit `n` set when a key of `n` bytes exists (bit 63: 63 bytes or more), so that a name's
    /// prefixes of other lengths are not hashed.
    key_lens: u64,
    /// The longest key, in bytes: longer prefixes of a name are not looked up.
    max_key: usize,
    /// The old folder rule: the kind of the first rendition whose `init_path` is here.
    folder: Option<FolderKind>,
    /// Kinds seen here so far (while building).
    kinds: [bool; 3],
}

/// A compiled segment template (or the file-name part of one): literals and digit runs, and
/// the template it came from (for messages).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern(Vec<TemplatePart>, Box<str>);

impl Pattern {
    /// The leading literal without its trailing digits: every name the pattern matches starts
    /// with it, followed by a digit that starts a run of digits (the literal's trailing digits
    /// or the first digit field's, which has at least one).
    fn key(&self) -> &str {
        match self.0.first() {
            Some(TemplatePart::Literal(l)) => l.trim_end_matches(|c: char| c.is_ascii_digit()),
            _ => "",
        }
    }

    fn matches(&self, name: &str) -> bool {
        matches_parts(&self.0, name.as_bytes())
    }
}

/// The most digits a `$Number$`/`$Time$` field matches: a `u64` has at most 20, and so does the
/// widest `%0Nd` padding. Bounds the backtracking of `matches_parts` on crafted names.
pub const MAX_DIGITS: usize = 20;

/// Whether `s` is exactly the parts in order; a digit run takes `max(width, 1)` to
/// [`MAX_DIGITS`] digits and backtracks when a literal that follows starts with a digit.
fn matches_parts(parts: &[TemplatePart], s: &[u8]) -> bool {
    match parts.split_first() {
        None => s.is_empty(),
        Some((TemplatePart::Literal(l), rest)) => {
            s.starts_with(l.as_bytes()) && matches_parts(rest, &s[l.len()..])
        }
        Some((TemplatePart::Digits(width), rest)) => {
            let run = s
                .iter()
                .take(MAX_DIGITS)
                .take_while(|b| b.is_ascii_digit())
                .count();
            let min = (*width).max(1);
            (min..=run).rev().any(|n| matches_parts(rest, &s[n..]))
        }
    }
}

/// Whether some file name matches both pieces lists: a search of the product of their automata
/// (a literal byte, or a run of at least `max(width, 1)` digits, counted up to that minimum).
fn overlap(a: &[TemplatePart], b: &[TemplatePart]) -> bool {
    #[derive(Clone, Copy)]
    enum Atom {
        Byte(u8),
        Digits(usize),
    }
    let atoms = |p: &[TemplatePart]| -> Vec<Atom> {
        p.iter()
            .flat_map(|part| match part {
                TemplatePart::Literal(l) => l.bytes().map(Atom::Byte).collect::<Vec<_>>(),
                TemplatePart::Digits(w) => vec![Atom::Digits((*w).max(1))],
            })
            .collect()
    };
    let (a, b) = (atoms(a), atoms(b));
    // (atom of a, digits counted in it, atom of b, digits counted in it)
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![(0usize, 0usize, 0usize, 0usize)];
    let step = |atom: Atom, at: usize, count: usize| match atom {
        Atom::Byte(_) => (at + 1, 0),
        Atom::Digits(min) => (at, (count + 1).min(min)),
    };
    while let Some(state @ (i, c, j, d)) = stack.pop() {
        if !seen.insert(state) {
            continue;
        }
        if i == a.len() && j == b.len() {
            return true;
        }
        // A digit run that has its minimum may end.
        if let Some(Atom::Digits(min)) = a.get(i) {
            if c >= *min {
                stack.push((i + 1, 0, j, d));
            }
        }
        if let Some(Atom::Digits(min)) = b.get(j) {
            if d >= *min {
                stack.push((i, c, j + 1, 0));
            }
        }
        if let (Some(&x), Some(&y)) = (a.get(i), b.get(j)) {
            let same = match (x, y) {
                (Atom::Byte(p), Atom::Byte(q)) => p == q,
                (Atom::Byte(p), Atom::Digits(_)) | (Atom::Digits(_), Atom::Byte(p)) => {
                    p.is_ascii_digit()
                }
                (Atom::Digits(_), Atom::Digits(_)) => true,
            };
            if same {
                let (i, c) = step(x, i, c);
                let (j, d) = step(y, j, d);
                stack.push((i, c, j, d));
            }
        }
    }
    false
}

/// Descriptions of the pairs of `patterns` of different kinds that can name the same file.
fn ambiguous_pairs(patterns: &[(Pattern, FolderKind)], out: &mut Vec<String>) {
    for (n, (a, ka)) in patterns.iter().enumerate() {
        for (b, kb) in &patterns[n + 1..] {
            if ka != kb && overlap(&a.0, &b.0) {
                out.push(format!(
                    "segment templates {:?} ({ka:?}) and {:?} ({kb:?}) can name the same file; \
                     such a file is typed by the one with the longer literal prefix (digits aside)",
                    a.1, b.1
                ));
            }
        }
    }
}

fn kind_index(k: FolderKind) -> usize {
    match k {
        FolderKind::Video => 0,
        FolderKind::Audio => 1,
        FolderKind::Text => 2,
    }
}

impl MediaKinds {
    /// Compiles the file locations of a (validated) key manifest.
    pub fn new(asset: &KeyManifest) -> MediaKinds {
        let mut kinds = MediaKinds::default();
        let kind_of: HashMap<&str, FolderKind> = asset
            .renditions
            .iter()
            .map(|r| (r.id.as_str(), FolderKind::of_rendition(&r.kind)))
            .collect();
        for r in &asset.renditions {
            let kind = kind_of[r.id.as_str()];
            let (dir, _) = split_dir(&r.init_path);
            let entry = kinds.dirs.entry(dir.into()).or_default();
            entry.folder.get_or_insert(kind);
            kinds.add_init(&r.init_path, kind);
            if let Some(t) = &r.segment_template {
                kinds.add_template(t, kind);
            }
        }
        for set in &asset.schemes {
            for f in &set.renditions {
                let Some(&kind) = kind_of.get(f.id.as_str()) else {
                    continue; // refused by validation
                };
                kinds.add_init(&f.init_path, kind);
                if let Some(t) = &f.segment_template {
                    kinds.add_template(t, kind);
                }
            }
        }
        for d in kinds.dirs.values_mut() {
            let located = d.kinds.iter().filter(|&&k| k).count();
            let only = [FolderKind::Video, FolderKind::Audio, FolderKind::Text]
                .into_iter()
                .find(|&k| d.kinds[kind_index(k)]);
            // One kind among the files located here, and the old folder rule agrees.
            if located == 1 && d.folder.is_none_or(|f| Some(f) == only) {
                d.uniform = only;
            }
            ambiguous_pairs(&d.patterns, &mut kinds.ambiguities);
            for (p, k) in std::mem::take(&mut d.patterns) {
                d.key_lens |= 1 << p.key().len().min(63);
                d.max_key = d.max_key.max(p.key().len());
                d.by_prefix.entry(p.key().into()).or_default().push((p, k));
            }
        }
        ambiguous_pairs(&kinds.wild, &mut kinds.ambiguities);
        kinds.ambiguities.sort();
        kinds
    }

    /// Pairs of segment templates of different rendition kinds whose file names can coincide
    /// (e.g. `$RepresentationID$$Number$.m4s` with ids `a` and `a1`: `a12.m4s`), found at
    /// start; the name alone cannot tell such files apart. `vodpack serve` prints them.
    pub fn ambiguities(&self) -> &[String] {
        &self.ambiguities
    }

    fn add_init(&mut self, path: &str, kind: FolderKind) {
        let (dir, name) = split_dir(path);
        let d = self.dirs.entry(dir.into()).or_default();
        d.kinds[kind_index(kind)] = true;
        if !d.files.iter().any(|(n, _)| &**n == name) {
            d.files.push((name.into(), kind));
        }
    }

    fn add_template(&mut self, template: &str, kind: FolderKind) {
        let Ok(parts) = parse_segment_template(template) else {
            return; // refused by validation
        };
        // The directory part is literal when every digit field comes after the last '/'.
        let last_slash = parts
            .iter()
            .rposition(|p| matches!(p, TemplatePart::Literal(l) if l.contains('/')));
        let first_digits = parts
            .iter()
            .position(|p| matches!(p, TemplatePart::Digits(_)));
        match (last_slash, first_digits) {
            (Some(i), Some(j)) if i > j => {
                self.wild.push((Pattern(parts, template.into()), kind));
            }
            (None, _) => {
                let d = self.dirs.entry("".into()).or_default();
                d.kinds[kind_index(kind)] = true;
                d.patterns.push((Pattern(parts, template.into()), kind));
            }
            (Some(i), _) => {
                let TemplatePart::Literal(l) = &parts[i] else {
                    return;
                };
                let cut = l.rfind('/').unwrap_or(0);
                let mut dir: String = parts[..i]
                    .iter()
                    .map(|p| match p {
                        TemplatePart::Literal(l) => l.as_str(),
                        TemplatePart::Digits(_) => "",
                    })
                    .collect();
                dir.push_str(&l[..cut]);
                let mut name = Vec::with_capacity(parts.len() - i);
                if cut + 1 < l.len() {
                    name.push(TemplatePart::Literal(l[cut + 1..].to_string()));
                }
                name.extend_from_slice(&parts[i + 1..]);
                let d = self.dirs.entry(dir.into()).or_default();
                d.kinds[kind_index(kind)] = true;
                d.patterns.push((Pattern(name, template.into()), kind));
            }
        }
    }

    /// The kind of rendition the file at `rel` (relative to OUT) belongs to.
    pub fn kind(&self, rel: &str) -> FolderKind {
        let (dir, name) = split_dir(rel);
        if let Some(d) = self.dirs.get(dir) {
            if let Some(k) = d.uniform {
                return k;
            }
            if let Some((_, k)) = d.files.iter().find(|(n, _)| &**n == name) {
                return *k;
            }
            if !d.by_prefix.is_empty() {
                // Each prefix ending where a run of digits starts, longest first.
                let b = name.as_bytes();
                for i in (0..b.len().min(d.max_key + 1)).rev() {
                    if d.key_lens & (1 << i.min(63)) == 0
                        || !b[i].is_ascii_digit()
                        || (i > 0 && b[i - 1].is_ascii_digit())
                    {
                        continue;
                    }
                    let candidates = d.by_prefix.get(&name[..i]).into_iter().flatten();
                    for (p, k) in candidates {
                        if p.matches(name) {
                            return *k;
                        }
                    }
                }
            }
            if let Some(k) = d.folder {
                return k;
            }
        }
        self.wild
            .iter()
            .find(|(p, _)| p.matches(rel))
            .map_or(FolderKind::Video, |(_, k)| *k)
    }

    /// The media type of the output file `rel` and whether it is a manifest ([`media_type`]),
    /// looking up the rendition kind only for `.mp4`/`.m4s` files.
    pub fn media_type(&self, rel: &str) -> Option<(&'static str, bool)> {
        let kind = match rel.rsplit_once('.') {
            Some((_, "mp4" | "m4s")) => self.kind(rel),
            _ => FolderKind::Video,
        };
        media_type(rel, kind)
    }
}

/// `dir/name` → (`dir`, `name`); a path without `/` is in the directory `""`.
fn split_dir(path: &str) -> (&str, &str) {
    path.rsplit_once('/').unwrap_or(("", path))
}

/// The files an origin may serve.
pub(crate) struct FileGate {
    /// Canonical output directory.
    out_dir: PathBuf,
    /// The output directory, open (`O_PATH`) for `openat2` beneath it.
    #[cfg(target_os = "linux")]
    dir: Option<rustix::fd::OwnedFd>,
    /// The key manifest's path, and its (device, inode) when the server started.
    key_manifest: PathBuf,
    key_manifest_id: Option<(u64, u64)>,
}

/// Cleared when `openat2` is missing (Linux < 5.6) or filtered (some container sandboxes): the
/// gate then checks each path component with `lstat` before opening.
#[cfg(target_os = "linux")]
static OPENAT2_SUPPORTED: AtomicBool = AtomicBool::new(true);

impl FileGate {
    pub(crate) fn new(out_dir: PathBuf, key_manifest: PathBuf) -> Self {
        let key_manifest_id = std::fs::metadata(&key_manifest)
            .ok()
            .and_then(|m| file_id(&m));
        #[cfg(target_os = "linux")]
        let dir = {
            use rustix::fs::{Mode, OFlags};
            rustix::fs::open(
                &out_dir,
                OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .ok()
        };
        FileGate {
            out_dir,
            #[cfg(target_os = "linux")]
            dir,
            key_manifest,
            key_manifest_id,
        }
    }

    /// The file at `rel` (plain segments, already checked: no `.`/`..`/empty segments), open,
    /// with its metadata, when it may be served: a regular file reached without any symlink,
    /// and not a hard link to the key manifest.
    fn open(&self, rel: &str) -> Option<(File, Metadata)> {
        self.admit(self.open_beneath(rel)?)
    }

    /// `file` with its metadata when it is a regular file and not the key manifest.
    fn admit(&self, file: File) -> Option<(File, Metadata)> {
        let meta = file.metadata().ok()?;
        if !meta.file_type().is_file() {
            return None; // a directory, FIFO, socket or device
        }
        if links(&meta) > 1 {
            let id = file_id(&meta);
            let current = std::fs::metadata(&self.key_manifest)
                .ok()
                .and_then(|m| file_id(&m));
            if id.is_some() && (id == self.key_manifest_id || id == current) {
                return None; // a hard link to the key manifest
            }
        }
        Some((file, meta))
    }

    /// Opens `rel` beneath the output directory without following any symlink: one `openat2`
    /// (`RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`) where the kernel has it.
    #[cfg(target_os = "linux")]
    fn open_beneath(&self, rel: &str) -> Option<File> {
        use rustix::fs::{Mode, OFlags, ResolveFlags};
        use rustix::io::Errno;
        if let Some(dir) = self.dir.as_ref() {
            if OPENAT2_SUPPORTED.load(Ordering::Relaxed) {
                match rustix::fs::openat2(
                    dir,
                    rel,
                    OFlags::RDONLY
                        | OFlags::NOFOLLOW
                        | OFlags::NONBLOCK
                        | OFlags::NOCTTY
                        | OFlags::CLOEXEC,
                    Mode::empty(),
                    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
                ) {
                    Ok(fd) => return Some(File::from(fd)),
                    Err(Errno::NOSYS | Errno::PERM) => {
                        OPENAT2_SUPPORTED.store(false, Ordering::Relaxed);
                    }
                    Err(_) => return None, // missing, a symlink on the way (ELOOP), …
                }
            }
        }
        self.open_walked(rel)
    }

    #[cfg(not(target_os = "linux"))]
    fn open_beneath(&self, rel: &str) -> Option<File> {
        self.open_walked(rel)
    }

    /// Without `openat2`: `lstat` of the file and of every folder below the output directory
    /// (each a real directory, so the real path is the path asked for; the output directory
    /// itself is canonical), then an open that follows no symlink and must reach the same file.
    fn open_walked(&self, rel: &str) -> Option<File> {
        let path = self.out_dir.join(rel);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.file_type().is_file() {
            return None; // a symlink, directory, FIFO, socket or device
        }
        let mut dir = self.out_dir.clone();
        let mut segments = rel.split('/').peekable();
        while let Some(segment) = segments.next() {
            if segments.peek().is_none() {
                break;
            }
            dir.push(segment);
            if !std::fs::symlink_metadata(&dir).ok()?.file_type().is_dir() {
                return None;
            }
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = opts.open(&path).ok()?;
        let now = file.metadata().ok()?;
        (file_id(&now) == file_id(&meta)).then_some(file)
    }
}

#[cfg(unix)]
fn file_id(m: &std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    Some((m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &std::fs::Metadata) -> Option<(u64, u64)> {
    None
}

#[cfg(unix)]
fn links(m: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    m.nlink()
}

#[cfg(not(unix))]
fn links(_: &std::fs::Metadata) -> u64 {
    1
}

/// A strong entity tag from size, modification time and inode: a rewritten or replaced file
/// gets a new one.
fn entity_tag(meta: &std::fs::Metadata) -> String {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let ino = file_id(meta).map_or(0, |(_, ino)| ino);
    format!("\"{:x}-{:x}-{:x}\"", meta.len(), mtime, ino)
}

/// `If-None-Match` (weak comparison, §13.1.2): true when `tag` is listed or the value is `*`.
fn none_match_hits(value: &str, tag: &str) -> bool {
    let tag = tag.trim_start_matches("W/");
    value.trim() == "*"
        || value
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == tag)
}

/// `If-Range` (§13.1.5): a strong entity tag equal to `tag`, or the exact `Last-Modified` date.
fn if_range_holds(value: &str, tag: &str, modified: Option<SystemTime>) -> bool {
    let value = value.trim();
    if value.starts_with('"') {
        return value == tag;
    }
    if value.starts_with("W/") {
        return false; // weak tags never validate a range
    }
    match (httpdate::parse_http_date(value), modified) {
        (Ok(date), Some(m)) => httpdate::fmt_http_date(date) == httpdate::fmt_http_date(m),
        _ => false,
    }
}

fn not_found() -> Response {
    crate::http::response::error_response(&crate::playback::api::ApiError::not_found(
        "no_such_file",
        "no such file",
    ))
}

/// Serves the output file `rel` (already authorised) with type `mime`.
pub(crate) async fn serve_file(
    gate: &FileGate,
    req: Request,
    rel: &str,
    mime: &'static str,
    is_manifest: bool,
) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    // An open and a stat answered from the kernel's metadata cache: inline, since a hop to the
    // blocking pool costs more than they do (measured: docs/control-plane.md).
    let Some((file, meta)) = gate.open(rel) else {
        return not_found();
    };
    let tag = entity_tag(&meta);
    let modified = meta.modified().ok();
    let cache_control = if is_manifest {
        MANIFEST_CACHE_CONTROL
    } else {
        SEGMENT_CACHE_CONTROL
    };
    let (mut parts, _body) = req.into_parts();
    let h: &mut HeaderMap = &mut parts.headers;
    if let Some(inm) = h.get(header::IF_NONE_MATCH) {
        if none_match_hits(inm.to_str().unwrap_or(""), &tag) {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            finish(r.headers_mut(), &tag, modified, cache_control, None, None);
            return r;
        }
        // §13.2.2: If-Modified-Since is ignored when If-None-Match is present.
        h.remove(header::IF_MODIFIED_SINCE);
    }
    if let Some(ius) = h.get(header::IF_UNMODIFIED_SINCE) {
        // §13.1.4 (evaluated only without If-Match, which a GET of media never needs): the
        // date parsed by httpdate, compared in whole seconds as HTTP dates are.
        let since = ius
            .to_str()
            .ok()
            .and_then(|v| httpdate::parse_http_date(v).ok());
        if let (Some(since), Some(m)) = (since, modified) {
            if httpdate::HttpDate::from(m) > httpdate::HttpDate::from(since) {
                let mut r = StatusCode::PRECONDITION_FAILED.into_response();
                finish(r.headers_mut(), &tag, modified, cache_control, None, None);
                return r;
            }
        }
    }
    if let Some(ir) = h.remove(header::IF_RANGE) {
        if !if_range_holds(ir.to_str().unwrap_or(""), &tag, modified) {
            h.remove(header::RANGE);
        }
    }
    if h.get(header::RANGE)
        .is_some_and(|r| r.as_bytes().contains(&b','))
    {
        h.remove(header::RANGE); // several ranges: the whole file
    }
    let size = meta.len();
    let resolved = hyper_staticfile::ResolvedFile {
        handle: DiskFile::new(file),
        path: PathBuf::new(), // not used by the response builder
        size,
        modified,
        content_type: None,
        encoding: None,
    };
    let res = hyper_staticfile::util::FileResponseBuilder::new()
        .request_parts(&parts.method, &parts.headers)
        .build(resolved);
    let Ok(res) = res else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let status = res.status();
    let mut res = if status == StatusCode::RANGE_NOT_SATISFIABLE {
        res.map(|_| Body::empty()) // a sized empty body (hyper-staticfile's has no length)
    } else {
        res.map(Body::new)
    };
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        finish(
            res.headers_mut(),
            &tag,
            modified,
            cache_control,
            Some(mime),
            None,
        );
    } else if status == StatusCode::RANGE_NOT_SATISFIABLE {
        // §15.5.17: the current length, so the client can ask again.
        finish(
            res.headers_mut(),
            &tag,
            modified,
            cache_control,
            None,
            Some(size),
        );
    }
    res
}

/// The validators, `Cache-Control`, `Accept-Ranges`, the media type of a success and the
/// `Content-Range` of a 416.
fn finish(
    h: &mut HeaderMap,
    tag: &str,
    modified: Option<SystemTime>,
    cache_control: &'static str,
    mime: Option<&'static str>,
    unsatisfiable_len: Option<u64>,
) {
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    if let Some(m) = modified.filter(|_| !h.contains_key(header::LAST_MODIFIED)) {
        if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(m)) {
            h.insert(header::LAST_MODIFIED, v);
        }
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(m) = mime {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(m));
    }
    if let Some(len) = unsatisfiable_len {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
}

/// An open output file read for hyper-staticfile without tokio's blocking pool when the data is
/// in the page cache: each read is a `preadv2(RWF_NOWAIT)` on the worker thread, which the kernel
/// answers at once from cached pages or refuses with `EAGAIN`; only then is that one read handed
/// to the blocking pool. Reads are positional (`pread`), so a seek only moves an offset. Each read
/// is at most [`CHUNK`] bytes into a fresh buffer handed to hyper as is (no copy).
pub(crate) struct DiskFile {
    file: Arc<File>,
    pos: u64,
    pending: Option<JoinHandle<io::Result<Bytes>>>,
}

impl DiskFile {
    fn new(file: File) -> DiskFile {
        DiskFile {
            file: Arc::new(file),
            pos: 0,
            pending: None,
        }
    }
}

impl hyper_staticfile::vfs::IntoFileAccess for DiskFile {
    type Output = DiskFile;

    fn into_file_access(self) -> DiskFile {
        self
    }
}

impl AsyncSeek for DiskFile {
    fn start_seek(mut self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        match position {
            SeekFrom::Start(p) if self.pending.is_none() => {
                self.pos = p;
                Ok(())
            }
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "only absolute seeks between reads",
            )),
        }
    }

    fn poll_complete(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Poll::Ready(Ok(self.pos))
    }
}

impl hyper_staticfile::vfs::FileAccess for DiskFile {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        len: usize,
    ) -> Poll<io::Result<Bytes>> {
        if self.pending.is_none() {
            let len = len.min(CHUNK);
            if len == 0 {
                return Poll::Ready(Ok(Bytes::new()));
            }
            let mut buf = Vec::with_capacity(len);
            match read_cached(&self.file, &mut buf, self.pos) {
                Ok(true) => {
                    self.pos += buf.len() as u64;
                    return Poll::Ready(Ok(Bytes::from(buf)));
                }
                Ok(false) => {
                    // Not (all) in the page cache: this read goes to the blocking pool.
                    let file = self.file.clone();
                    let pos = self.pos;
                    self.pending = Some(tokio::task::spawn_blocking(move || {
                        read_blocking(&file, buf, pos)
                    }));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        let Some(pending) = self.pending.as_mut() else {
            return Poll::Pending; // unreachable: set just above
        };
        let done = std::task::ready!(Pin::new(pending).poll(cx));
        self.pending = None;
        let bytes = done.map_err(io::Error::other)??;
        self.pos += bytes.len() as u64;
        Poll::Ready(Ok(bytes))
    }
}

/// Cleared when the kernel or file system does not support `RWF_NOWAIT` (then every read uses
/// the blocking pool, as tokio's file API would).
static NOWAIT_SUPPORTED: AtomicBool = AtomicBool::new(true);

/// Reads up to `buf.capacity()` bytes at `pos` only if the kernel can answer without waiting
/// for the disk: `Ok(true)` with `buf` filled (empty at end of file), `Ok(false)` when the read
/// would block.
#[cfg(target_os = "linux")]
fn read_cached(file: &File, buf: &mut Vec<u8>, pos: u64) -> io::Result<bool> {
    use rustix::io::{preadv2, Errno, ReadWriteFlags};
    if !NOWAIT_SUPPORTED.load(Ordering::Relaxed) {
        return Ok(false);
    }
    buf.resize(buf.capacity(), 0);
    loop {
        match preadv2(
            file,
            &mut [io::IoSliceMut::new(buf)],
            pos,
            ReadWriteFlags::NOWAIT,
        ) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(true);
            }
            Err(Errno::INTR) => continue,
            Err(Errno::AGAIN) => {
                buf.clear();
                return Ok(false);
            }
            Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => {
                NOWAIT_SUPPORTED.store(false, Ordering::Relaxed);
                buf.clear();
                return Ok(false);
            }
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn read_cached(_: &File, _: &mut Vec<u8>, _: u64) -> io::Result<bool> {
    let _ = &NOWAIT_SUPPORTED;
    Ok(false)
}

/// One positional read of up to `buf.capacity()` bytes (on the blocking pool).
fn read_blocking(file: &File, mut buf: Vec<u8>, pos: u64) -> io::Result<Bytes> {
    buf.resize(buf.capacity(), 0);
    let n = loop {
        #[cfg(unix)]
        let r = std::os::unix::fs::FileExt::read_at(file, &mut buf, pos);
        #[cfg(windows)]
        let r = std::os::windows::fs::FileExt::seek_read(file, &mut buf, pos);
        match r {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            r => break r?,
        }
    };
    buf.truncate(n);
    Ok(Bytes::from(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validators() {
        let tag = "\"10-20-30\"";
        assert!(none_match_hits(tag, tag));
        assert!(none_match_hits("\"x\", W/\"10-20-30\"", tag));
        assert!(none_match_hits("*", tag));
        assert!(!none_match_hits("\"10-20-31\"", tag));
        assert!(if_range_holds(tag, tag, None));
        assert!(!if_range_holds("W/\"10-20-30\"", tag, None));
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        assert!(if_range_holds(&httpdate::fmt_http_date(t), tag, Some(t)));
        assert!(!if_range_holds(
            "Tue, 14 Nov 2023 22:13:21 GMT",
            tag,
            Some(t)
        ));
    }

    /// Both ways of opening (one `openat2`, and the `lstat` walk used without it) refuse the
    /// same things: symlinks (of the file or of a folder), FIFOs, directories, missing files and
    /// hard links to the key manifest; and serve the same regular files.
    #[cfg(unix)]
    #[test]
    fn both_open_paths_refuse_links_fifos_and_the_key_manifest() {
        let tmp = std::env::temp_dir().join(format!("vodpack-gate-{:016x}", rand::random::<u64>()));
        let out = tmp.join("out");
        std::fs::create_dir_all(out.join("video")).unwrap();
        let km = tmp.join("out.keys.json");
        std::fs::write(&km, b"{}").unwrap();
        std::fs::write(out.join("video/seg_1.m4s"), b"media").unwrap();
        std::os::unix::fs::symlink(out.join("video/seg_1.m4s"), out.join("video/sym.m4s")).unwrap();
        std::os::unix::fs::symlink(out.join("video"), out.join("vlink")).unwrap();
        std::fs::hard_link(&km, out.join("video/km.m4s")).unwrap();
        std::fs::hard_link(out.join("video/seg_1.m4s"), out.join("video/hard.m4s")).unwrap();
        let fifo = std::process::Command::new("mkfifo")
            .arg(out.join("video/fifo.m4s"))
            .status()
            .unwrap();
        assert!(fifo.success());
        let gate = FileGate::new(out.canonicalize().unwrap(), km);
        let read = |f: File| {
            let mut v = Vec::new();
            std::io::Read::read_to_end(&mut &f, &mut v).unwrap();
            v
        };
        for (rel, ok) in [
            ("video/seg_1.m4s", true),
            ("video/hard.m4s", true),
            ("video/sym.m4s", false),
            ("vlink/seg_1.m4s", false),
            ("video/km.m4s", false),
            ("video/fifo.m4s", false),
            ("video", false),
            ("video/none.m4s", false),
        ] {
            assert_eq!(gate.open(rel).is_some(), ok, "open {rel}");
            let walked = gate.open_walked(rel).and_then(|f| gate.admit(f));
            assert_eq!(walked.is_some(), ok, "walk {rel}");
            if let Some((f, _)) = walked {
                assert_eq!(read(f), b"media");
            }
        }
        std::fs::remove_dir_all(tmp).unwrap();
    }

    /// A two-scheme key manifest whose renditions' ids prefix one another (`main`, `main_2`,
    /// `main_2x`), with the given templates (`{id}` and `{set}` filled in) and inits.
    fn two_sets(template: Option<&str>, init: &str, text_init: &str) -> KeyManifest {
        use crate::playback::key_manifest::SchemeRendition;
        let mut m = crate::playback::key_manifest::tests::sample();
        let fill = |t: &str, id: &str, set: &str| t.replace("{id}", id).replace("{set}", set);
        let mut video = m.renditions[0].clone();
        video.key_label = None;
        video.kid = None;
        m.keys.clear();
        m.drm_systems.clear();
        m.renditions.clear();
        for (id, kind) in [("main", "video"), ("main_2", "audio"), ("main_2x", "text")] {
            let mut r = video.clone();
            r.id = id.into();
            r.kind = kind.into();
            let tmpl = if kind == "text" { text_init } else { init };
            r.init_path = fill(tmpl, id, "cenc");
            r.segment_template = template.map(|t| fill(t, id, "cenc"));
            m.renditions.push(r);
        }
        m.schemes = crate::playback::key_manifest::tests::scheme_pair(&[], |set| {
            m.renditions
                .iter()
                .map(|r| SchemeRendition {
                    id: r.id.clone(),
                    init_path: if r.kind == "text" {
                        r.init_path.clone()
                    } else {
                        fill(init, &r.id, set)
                    },
                    segment_template: template
                        .map(|t| fill(t, &r.id, if r.kind == "text" { "cenc" } else { set })),
                })
                .collect()
        });
        m.validate().unwrap();
        m
    }

    use crate::playback::key_manifest::KeyManifest;

    #[test]
    fn kinds_from_the_default_two_scheme_layout() {
        use FolderKind::*;
        let m = two_sets(
            Some("{id}/{set}/seg_$Number$.m4s"),
            "{id}/{set}/init.mp4",
            "{id}/init.mp4",
        );
        let kinds = MediaKinds::new(&m);
        for (path, want) in [
            ("main/cenc/init.mp4", Video),
            ("main/cbcs/init.mp4", Video),
            ("main/cbcs/seg_12.m4s", Video),
            ("main_2/cenc/init.mp4", Audio),
            ("main_2/cbcs/init.mp4", Audio),
            ("main_2/cbcs/seg_1.m4s", Audio),
            ("main_2x/init.mp4", Text),
            ("main_2x/seg_3.m4s", Text),
            ("elsewhere/seg_3.m4s", Video),
        ] {
            assert_eq!(kinds.kind(path), want, "{path}");
        }
        assert_eq!(
            kinds.media_type("main_2/cbcs/seg_1.m4s"),
            Some(("audio/mp4", false))
        );
        assert_eq!(
            kinds.media_type("main_2x/seg_1.m4s"),
            Some(("application/mp4", false))
        );
        assert_eq!(
            kinds.media_type("main_2x/seg_1.vtt"),
            Some(("text/vtt", false))
        );
        assert_eq!(
            kinds.media_type("main_2x/ts/seg_1.ts"),
            Some(("video/mp2t", false))
        );
        assert_eq!(kinds.media_type("x.keys.json"), None);
    }

    #[test]
    fn kinds_from_templates_sharing_a_folder() {
        use FolderKind::*;
        for (template, cases) in [
            (
                "{set}/chunks/{id}_$Time$.m4s",
                vec![
                    ("cenc/chunks/main_0.m4s", Video),
                    ("cbcs/chunks/main_180000.m4s", Video),
                    ("cenc/chunks/main_2_0.m4s", Audio),
                    ("cbcs/chunks/main_2_96256.m4s", Audio),
                    ("cenc/chunks/main_2x_4000.m4s", Text),
                ],
            ),
            (
                "{set}/{id}/seg_$Number%05d$.m4s",
                vec![
                    ("cenc/main/seg_00001.m4s", Video),
                    ("cbcs/main_2/seg_00002.m4s", Audio),
                    ("cbcs/main_2/seg_123456.m4s", Audio),
                    ("cenc/main_2x/seg_00003.m4s", Text),
                ],
            ),
            (
                // Ids that prefix one another, then digits: told apart by what follows.
                "{set}/{id}$Number$-$$.m4s",
                vec![
                    ("cenc/main7-$.m4s", Video),
                    ("cbcs/main_27-$.m4s", Audio),
                    ("cenc/main_2x7-$.m4s", Text),
                ],
            ),
            (
                // A literal ending in a digit (looked up without it) …
                "{set}/c/{id}_v2$Number$.m4s",
                vec![
                    ("cenc/c/main_v217.m4s", Video),
                    ("cbcs/c/main_2_v21.m4s", Audio),
                    ("cenc/c/main_2x_v2001.m4s", Text),
                ],
            ),
            (
                // … and names that start with the digits.
                "{set}/c/$Number$_{id}.m4s",
                vec![
                    ("cenc/c/17_main.m4s", Video),
                    ("cbcs/c/3_main_2.m4s", Audio),
                    ("cenc/c/0001_main_2x.m4s", Text),
                ],
            ),
        ] {
            let m = two_sets(Some(template), "{id}/{set}/init.mp4", "{id}/init.mp4");
            let kinds = MediaKinds::new(&m);
            for (path, want) in cases {
                assert_eq!(kinds.kind(path), want, "{template}: {path}");
            }
            for (path, want) in [
                ("main/cbcs/init.mp4", Video),
                ("main_2/cbcs/init.mp4", Audio),
                ("main_2x/init.mp4", Text),
            ] {
                assert_eq!(kinds.kind(path), want, "{template}: {path}");
            }
        }
    }

    #[test]
    fn kinds_from_a_digit_field_in_the_folder_and_older_files() {
        use FolderKind::*;
        let m = two_sets(
            Some("{set}/{id}/$Number%03d$/s.m4s"),
            "{id}/{set}/init.mp4",
            "{id}/init.mp4",
        );
        let kinds = MediaKinds::new(&m);
        assert_eq!(kinds.kind("cbcs/main_2/004/s.m4s"), Audio);
        assert_eq!(kinds.kind("cenc/main_2x/1234/s.m4s"), Text);
        assert_eq!(kinds.kind("cenc/main/12/s.m4s"), Video); // too few digits: unknown
        assert_eq!(kinds.kind("cenc/main_2/12/s.m4s"), Video);

        // A key manifest without file locations: the folder of each init, as before.
        let mut old = two_sets(None, "{id}/init.mp4", "{id}/init.mp4");
        old.schemes.clear();
        let kinds = MediaKinds::new(&old);
        assert_eq!(kinds.kind("main_2/seg_4.m4s"), Audio);
        assert_eq!(kinds.kind("main_2x/seg_4.m4s"), Text);
        assert_eq!(kinds.kind("main/seg_4.m4s"), Video);
    }

    #[test]
    fn digit_runs_backtrack_and_respect_widths() {
        let p = |s: &str| Pattern(parse_segment_template(s).unwrap(), s.into());
        assert!(p("a$Number$0.m4s").matches("a120.m4s"));
        assert!(!p("a$Number$0.m4s").matches("a0.m4s"));
        assert!(p("a$Number%03d$.m4s").matches("a001.m4s"));
        assert!(p("a$Number%03d$.m4s").matches("a1234.m4s"));
        assert!(!p("a$Number%03d$.m4s").matches("a12.m4s"));
        assert!(!p("a$Time$.m4s").matches("a.m4s"));
        assert!(!p("a$Time$.m4s").matches("ax1.m4s"));
        assert!(p("a$Time$$Number$.m4s").matches("a12.m4s"));
        // At most 20 digits per field: a crafted run of digits is not searched through.
        assert!(p("a$Time$.m4s").matches(&format!("a{}.m4s", "9".repeat(20))));
        assert!(!p("a$Time$.m4s").matches(&format!("a{}.m4s", "9".repeat(21))));
        // Three fields over a 100 000-digit run: at most 20³ tries (unbounded, ~10¹⁵).
        let long = format!("a{}x.m4s", "1".repeat(100_000));
        assert!(!p("a$Time$$Number$$Number$.m4s").matches(&long));
    }

    #[test]
    fn templates_that_can_name_the_same_file_are_reported() {
        let o = |a: &str, b: &str| {
            overlap(
                &parse_segment_template(a).unwrap(),
                &parse_segment_template(b).unwrap(),
            )
        };
        assert!(o("a$Number$.m4s", "a1$Number$.m4s")); // a12.m4s
        assert!(!o("a_$Number$.m4s", "a_2_$Number$.m4s"));
        assert!(!o("main_$Time$.m4s", "main_2_$Time$.m4s"));
        assert!(o("x$Number%03d$.m4s", "x1$Number$.m4s")); // x123.m4s
        assert!(!o("v/$Number$.m4s", "v/$Number$.mp4"));
        assert!(!o("v/$Number%03d$.m4s", "v/1$Number$.m4s.x"));
        assert!(o("$Number$$Time$.m4s", "$Number$.m4s"));

        // Ids that prefix one another, with a separator after the id: nothing reported.
        let m = two_sets(
            Some("{set}/chunks/{id}_$Time$.m4s"),
            "{id}/{set}/init.mp4",
            "{id}/init.mp4",
        );
        assert!(MediaKinds::new(&m).ambiguities().is_empty());
        // Digits straight after ids `main` (video), `main1` (audio), `main2` (text):
        // `main12.m4s` may be video or audio, `main23.m4s` video or text.
        let mut m = two_sets(
            Some("{set}/{id}$Number$.m4s"),
            "{id}/{set}/init.mp4",
            "{id}/init.mp4",
        );
        for r in &mut m.renditions {
            r.segment_template = r
                .segment_template
                .as_ref()
                .map(|t| t.replace("main_2x", "main2").replace("main_2", "main1"));
        }
        m.schemes.clear();
        let kinds = MediaKinds::new(&m);
        assert_eq!(kinds.ambiguities().len(), 2, "{:?}", kinds.ambiguities());
        assert!(kinds.ambiguities()[0].contains("can name the same file"));
    }

    #[test]
    fn media_types_of_every_output() {
        use FolderKind::*;
        for (path, folder, want) in [
            ("master.m3u8", Video, "application/vnd.apple.mpegurl"),
            ("manifest.mpd", Video, "application/dash+xml"),
            ("video/init.mp4", Video, "video/mp4"),
            ("video/seg_1.m4s", Video, "video/mp4"),
            ("audio/seg_1.m4s", Audio, "audio/mp4"),
            ("audio/media.mp4", Audio, "audio/mp4"),
            ("subs/seg_1.m4s", Text, "application/mp4"),
            ("subs/seg_1.vtt", Text, "text/vtt"),
            ("a.m4a", Video, "audio/mp4"),
            ("a.m4v", Video, "video/mp4"),
        ] {
            assert_eq!(media_type(path, folder).map(|m| m.0), Some(want), "{path}");
        }
        for path in ["key-manifest.json", "x.keys.json", "README.md", "noext"] {
            assert_eq!(media_type(path, FolderKind::Video), None, "{path}");
        }
    }
}
