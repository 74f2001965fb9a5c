//! File serving of the origin: which files may be served, and the HTTP caching layer around
//! tower-http's [`ServeFile`], which streams files and single byte ranges from disk in 64 KiB
//! chunks (bounded memory whatever the file size) with `Last-Modified`, `If-Modified-Since` /
//! `If-Unmodified-Since` and `HEAD`. This module adds what it lacks: a strong `ETag`,
//! `If-None-Match` (→ 304, RFC 9110 §13.1.2, taking precedence over `If-Modified-Since`),
//! `If-Range` (§13.1.5: a range only while the validator still matches, else the whole file),
//! multiple ranges answered with the whole file (§14.2 allows ignoring `Range`), the media type
//! of each output file and `Cache-Control`.
//!
//! A file is served only when it is a regular file (never a symlink, FIFO or directory) whose
//! real path is the requested path inside the output directory (no symlinked component), and
//! never when it is the key manifest (a hard link to it inside the output directory is refused:
//! same device and inode).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::ServeFile;

/// `Cache-Control` of manifests (they may be re-published).
pub const MANIFEST_CACHE_CONTROL: &str = "public, max-age=5";
/// `Cache-Control` of segments and init segments (immutable once written).
pub const SEGMENT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// What kind of rendition folder a file is in (for the media type of `.mp4`/`.m4s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FolderKind {
    /// A video rendition (or unknown).
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
        _ => return None,
    })
}

/// The files an origin may serve.
pub(crate) struct FileGate {
    /// Canonical output directory.
    out_dir: PathBuf,
    /// The key manifest's path, and its (device, inode) when the server started.
    key_manifest: PathBuf,
    key_manifest_id: Option<(u64, u64)>,
}

impl FileGate {
    pub(crate) fn new(out_dir: PathBuf, key_manifest: PathBuf) -> Self {
        let key_manifest_id = std::fs::metadata(&key_manifest)
            .ok()
            .and_then(|m| file_id(&m));
        FileGate {
            out_dir,
            key_manifest,
            key_manifest_id,
        }
    }

    /// The file at `rel` (plain segments, already checked: no `.`/`..`/empty segments) when it
    /// may be served, with its metadata.
    fn check(&self, rel: &str) -> Option<(PathBuf, std::fs::Metadata)> {
        let path = self.out_dir.join(rel);
        let meta = std::fs::symlink_metadata(&path).ok()?;
        if !meta.file_type().is_file() {
            return None; // a symlink, directory, FIFO, socket or device
        }
        // No symlinked directory on the way either: the real path is the path asked for.
        if std::fs::canonicalize(&path).ok()? != path || !path.starts_with(&self.out_dir) {
            return None;
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
        Some((path, meta))
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
    crate::serve::error_response(&crate::api::ApiError::not_found(
        "no_such_file",
        "no such file",
    ))
}

/// Serves the output file `rel` (already authorised) with type `mime`.
pub(crate) async fn serve_file(
    gate: std::sync::Arc<FileGate>,
    req: Request,
    rel: String,
    mime: &'static str,
    is_manifest: bool,
) -> Response {
    let checked = {
        let gate = gate.clone();
        tokio::task::spawn_blocking(move || gate.check(&rel)).await
    };
    let Ok(Some((path, meta))) = checked else {
        return not_found();
    };
    let tag = entity_tag(&meta);
    let modified = meta.modified().ok();
    let cache_control = if is_manifest {
        MANIFEST_CACHE_CONTROL
    } else {
        SEGMENT_CACHE_CONTROL
    };
    let (mut parts, body) = req.into_parts();
    if !matches!(parts.method, Method::GET | Method::HEAD) {
        return StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    let h: &mut HeaderMap = &mut parts.headers;
    if let Some(inm) = h.get(header::IF_NONE_MATCH) {
        if none_match_hits(inm.to_str().unwrap_or(""), &tag) {
            let mut r = StatusCode::NOT_MODIFIED.into_response();
            let rh = r.headers_mut();
            if let Some(m) = modified {
                if let Ok(v) = HeaderValue::from_str(&httpdate::fmt_http_date(m)) {
                    rh.insert(header::LAST_MODIFIED, v);
                }
            }
            finish(rh, &tag, cache_control, None);
            return r;
        }
        // §13.2.2: If-Modified-Since is ignored when If-None-Match is present.
        h.remove(header::IF_MODIFIED_SINCE);
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
    let res = ServeFile::new(&path)
        .oneshot(Request::from_parts(parts, body))
        .await;
    let Ok(res) = res;
    let mut res = res.map(Body::new);
    let status = res.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        finish(res.headers_mut(), &tag, cache_control, Some(mime));
    }
    res
}

fn finish(h: &mut HeaderMap, tag: &str, cache_control: &'static str, mime: Option<&'static str>) {
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(m) = mime {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(m));
    }
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
