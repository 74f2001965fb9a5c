//! Publishing a run to object storage (`-o s3://bucket/prefix`), so that players can trust it
//! (docs/object-storage.md).
//!
//! The run is written exactly as for `-o DIR` (package::run into a local staging folder), but
//! each init and media segment is uploaded as soon as it is complete ([`StreamedRun`], on the
//! storage layer's bounded `UploadQueue`) and removed locally, so the upload overlaps the
//! packaging and the local folder never holds the title. Publishing then:
//! 1. waits for every segment under `PREFIX/runs/<run id>/`, uploads what was written after the
//!    renditions (subtitle segments), then the media playlists there (a playlist never names an
//!    object that does not exist yet);
//! 2. switches: the marker `PREFIX/.vodpack-output.json` is replaced with a conditional put
//!    (If-Match on the ETag read when the run started, or If-None-Match when there was none),
//!    so of two runs that started from the same state exactly one switches; the other exits 7;
//! 3. commits the key manifest (a local file, or an object in another bucket);
//! 4. writes the multivariant playlist and the MPD at `PREFIX/`, their URIs pointing into the
//!    run's prefix (only the paths differ from a local run's manifests).
//!
//! Until step 4, players keep loading the previous manifests, whose run prefix is untouched;
//! a run that dies anywhere leaves the previous output playable. Older runs are removed only
//! `--prune-after SECONDS` after a later run replaced them.
use super::output::{Staging, MARKER_FILE};
use super::template::SegmentTemplate;
use crate::error::{Error, Result};
use crate::segment::writer::{OnWritten, WrittenFile};
use crate::storage::{Bucket, ObjectUrl, StorageError, UploadQueue};
use futures::{StreamExt, TryStreamExt};
use object_store::{PutMode, UpdateVersion};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The folder (under the output prefix) that holds every run's own prefix.
pub const RUNS: &str = "runs";
/// Uploads in flight at once.
const PARALLEL_UPLOADS: usize = 8;

/// Where a remote run goes, decided by the argument stage.
#[derive(Debug, Clone)]
pub struct RemoteOut {
    /// The output prefix (`-o`).
    pub url: ObjectUrl,
    /// The key manifest's object URL, when `--key-manifest` names one (another bucket).
    pub key_manifest: Option<ObjectUrl>,
    /// This run's id: its objects go under `PREFIX/runs/<id>/`.
    pub run_id: String,
    /// The local folder the run is written into first (removed at the end).
    pub local_root: PathBuf,
    /// `--prune-after`: runs replaced longer ago than this are removed after publishing.
    pub prune_after: Option<u64>,
}

/// One run in the marker.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's id (its prefix under `runs/`).
    pub id: String,
    /// When it was published (Unix seconds).
    pub published: u64,
    /// When a later run replaced it (Unix seconds); `None` for the current run.
    pub replaced: Option<u64>,
}

/// The marker object `PREFIX/.vodpack-output.json`: vodpack owns the prefix, which run is
/// current, which runs still exist, and the top-level files it wrote.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemoteMarker {
    /// Always "vodpack".
    pub written_by: String,
    /// The current run's id.
    pub current: String,
    /// Every run whose objects exist, oldest first.
    pub runs: Vec<RunRecord>,
    /// The manifests at the top of the prefix.
    pub files: Vec<String>,
}

/// What the output prefix held when the run started.
#[derive(Debug, Clone, Default)]
pub struct RemoteState {
    /// The marker and its ETag (the switch's precondition); `None`: no marker.
    pub marker: Option<(RemoteMarker, Option<String>)>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A new run id: sortable by time, unique across machines.
pub fn new_run_id() -> String {
    format!("{}-{:08x}", now(), rand::random::<u32>())
}

fn rel_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        key.strip_prefix(prefix)
            .and_then(|k| k.strip_prefix('/'))
            .unwrap_or(key)
            .to_string()
    }
}

/// Reads the output prefix before anything is written: the bucket must answer, and the prefix
/// must be empty or vodpack's (its marker, its runs, its manifests) unless `force`.
pub fn check_remote(out: &RemoteOut, force: bool) -> Result<RemoteState> {
    let bucket = Bucket::open(&out.url)?;
    let marker_key = out.url.join(MARKER_FILE).key;
    let marker = match bucket.get(&marker_key)? {
        Some((bytes, etag)) => serde_json::from_slice::<RemoteMarker>(&bytes)
            .ok()
            .filter(|m| m.written_by == "vodpack")
            .map(|m| (m, etag)),
        None => None,
    };
    let objects = bucket.list(&out.url.key)?;
    let foreign: Vec<String> = objects
        .iter()
        .map(|o| rel_key(&out.url.key, o.location.as_ref()))
        .filter(|k| match &marker {
            Some((m, _)) => {
                k != MARKER_FILE && !k.starts_with(&format!("{RUNS}/")) && !m.files.contains(k)
            }
            None => true,
        })
        .collect();
    if !foreign.is_empty() && !force {
        let shown: Vec<&str> = foreign.iter().take(5).map(String::as_str).collect();
        let more = if foreign.len() > 5 {
            format!(" and {} more", foreign.len() - 5)
        } else {
            String::new()
        };
        let whose = if marker.is_some() {
            "objects vodpack did not write"
        } else {
            "objects, and vodpack's marker is not there"
        };
        return Err(Error::Usage(format!(
            "output '{}' already holds {} {whose} ({}{more}); vodpack only publishes over a prefix it wrote itself. Choose a new prefix, or pass --force to publish over it",
            out.url,
            foreign.len(),
            shown.join(", ")
        )));
    }
    Ok(RemoteState { marker })
}

/// Every file under `dir`, relative and `/`-separated.
fn files_under(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let child = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(child);
            } else {
                out.push(child.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// A URI of a top-level manifest, pointed into the run's prefix when it is relative.
fn into_run(uri: &str, run_prefix: &str) -> String {
    if uri.is_empty() || uri.contains("://") || uri.starts_with('/') || uri.starts_with("data:") {
        uri.to_string()
    } else {
        format!("{run_prefix}{uri}")
    }
}

/// The multivariant playlist with every relative URI (lines and `URI="…"`) moved into the run.
pub fn rebase_playlist(text: &str, run_prefix: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    for line in text.split_inclusive('\n') {
        let (body, nl) = match line.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (line, ""),
        };
        if body.is_empty() {
            out.push_str(line);
        } else if !body.starts_with('#') {
            out.push_str(&into_run(body, run_prefix));
            out.push_str(nl);
        } else {
            let mut rest = body;
            while let Some(at) = rest.find("URI=\"") {
                let start = at + 5;
                out.push_str(&rest[..start]);
                let end = rest[start..]
                    .find('"')
                    .map(|e| start + e)
                    .unwrap_or(rest.len());
                out.push_str(&into_run(&rest[start..end], run_prefix));
                rest = &rest[end..];
            }
            out.push_str(rest);
            out.push_str(nl);
        }
    }
    out
}

/// The MPD with the run's prefix as its MPD-level BaseURL (ISO/IEC 23009-1 §5.6): inserted
/// as the first child of `MPD` when there is none (an absolute `--base-url` already names the
/// run's prefix).
pub fn rebase_mpd(text: &str, run_prefix: &str) -> String {
    let Some(mpd) = text.find("<MPD") else {
        return text.to_string();
    };
    let Some(close) = text[mpd..].find('>').map(|c| mpd + c + 1) else {
        return text.to_string();
    };
    let after = &text[close..];
    let first_child = after.trim_start();
    if first_child.starts_with("<BaseURL>") {
        return text.to_string();
    }
    let indent_end = after.len() - first_child.len();
    let indent = &after[..indent_end];
    format!(
        "{}{indent}<BaseURL>{run_prefix}</BaseURL>{after}",
        &text[..close]
    )
}

/// The segments of a remote run, uploaded into its run prefix while the renditions are still
/// being written: each file the segment writer completes goes to the upload queue under its
/// final name (`--segment-template` applied here, since the local renaming comes after).
pub struct StreamedRun {
    queue: UploadQueue,
    run_url: ObjectUrl,
    root: PathBuf,
    template: Option<SegmentTemplate>,
    /// Every name uploaded or queued, relative to the run prefix.
    names: Mutex<HashSet<String>>,
}

impl StreamedRun {
    /// Uploads of the run written into `root` (the staging folder); with `keep_files` the local
    /// copies stay (`--verify` reads them).
    pub fn new(
        out: &RemoteOut,
        root: &Path,
        template: Option<SegmentTemplate>,
        keep_files: bool,
    ) -> Result<Arc<StreamedRun>> {
        Ok(Arc::new(StreamedRun {
            queue: UploadQueue::new(Bucket::open(&out.url)?, keep_files),
            run_url: out.url.join(&format!("{RUNS}/{}", out.run_id)),
            root: root.to_path_buf(),
            template,
            names: Mutex::new(HashSet::new()),
        }))
    }

    /// What the segment writer calls for each complete file of rendition `id`'s set in
    /// `folder` (the set's folder, as `--segment-template` names go under it).
    pub fn on_written(self: &Arc<Self>, id: &str, folder: Option<&str>) -> OnWritten {
        let run = self.clone();
        let (id, folder) = (id.to_string(), folder.map(str::to_string));
        Arc::new(move |f: WrittenFile| run.push(&id, folder.as_deref(), f))
    }

    fn push(&self, id: &str, folder: Option<&str>, f: WrittenFile) -> Result<()> {
        let name = match (&self.template, f.segment) {
            (Some(t), Some((number, start))) => {
                let name = t.render(id, number, start.clamp_non_negative());
                match folder {
                    Some(dir) => format!("{dir}/{name}"),
                    None => name,
                }
            }
            _ => f
                .path
                .strip_prefix(&self.root)
                .map_err(|_| {
                    Error::io(
                        &f.path,
                        std::io::Error::other("a written file outside the run's folder"),
                    )
                })?
                .to_string_lossy()
                .replace('\\', "/"),
        };
        let fresh = self
            .names
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.clone());
        if !fresh {
            return Err(Error::Usage(format!(
                "--segment-template gives two files the name {name}"
            )));
        }
        self.queue.push(f.path, self.run_url.join(&name).key)
    }

    /// Waits for every upload; returns the bytes uploaded and the names (relative to the run
    /// prefix) that are already there.
    pub fn finish(self: Arc<Self>) -> Result<(u64, HashSet<String>)> {
        let run = Arc::try_unwrap(self).map_err(|_| Error::Io {
            path: PathBuf::new(),
            source: std::io::Error::other("a segment writer still holds the upload queue"),
        })?;
        let names = run.names.into_inner().unwrap_or_else(|p| p.into_inner());
        Ok((run.queue.finish()?, names))
    }

    /// The failure that stopped the uploads, if one did: a rendition writer that stopped
    /// because the queue failed reports "upload stopped"; this is the failure itself.
    pub fn failure(&self) -> Option<Error> {
        self.queue.failure()
    }
}

/// Uploads `files` (relative to `dir`) to `prefix/…`, several at once; returns the bytes.
fn upload_all(bucket: &Bucket, dir: &Path, prefix: &ObjectUrl, files: &[String]) -> Result<u64> {
    let jobs = files.iter().map(|f| {
        let key = prefix.join(f).key;
        let path = dir.join(f);
        async move {
            crate::cancel::check()?;
            Ok::<u64, Error>(bucket.upload_file(&key, &path).await?)
        }
    });
    let sizes: Vec<u64> = crate::storage::store::block_on(
        futures::stream::iter(jobs)
            .buffer_unordered(PARALLEL_UPLOADS)
            .try_collect(),
    )?;
    Ok(sizes.iter().sum())
}

fn lost_switch(out: &RemoteOut, e: StorageError) -> Error {
    Error::layer(
        crate::ErrorKind::Io,
        None,
        format!(
            "{}: another vodpack run published to this output after this run started ({}: {}); this run's output was not published and the other run's stays in place. Run again to replace it",
            out.url, e.url, e.code
        ),
    )
}

/// Publishes the staged run (see the module's overview); returns the bytes uploaded.
/// `top` names the top-level manifests (relative to the staging folder); `streamed` the files
/// already uploaded into the run's prefix while it was written, and their bytes.
pub fn publish(
    staged: Staging,
    out: &RemoteOut,
    state: &RemoteState,
    top: &[String],
    streamed: (u64, HashSet<String>),
) -> Result<u64> {
    let bucket = Bucket::open(&out.url)?;
    let dir = staged.dir.clone();
    let run_rel = format!("{RUNS}/{}/", out.run_id);
    let run_url = out.url.join(&format!("{RUNS}/{}", out.run_id));
    let all = files_under(&dir).map_err(|e| Error::io(&dir, e))?;
    let (playlists, media): (Vec<String>, Vec<String>) = all
        .into_iter()
        .filter(|f| f != MARKER_FILE && !top.contains(f) && !streamed.1.contains(f))
        .partition(|f| f.ends_with(".m3u8") || f.ends_with(".mpd"));
    let mut uploaded = streamed.0 + upload_all(&bucket, &dir, &run_url, &media)?;
    uploaded += upload_all(&bucket, &dir, &run_url, &playlists)?;

    // The switch: exactly one of the runs that started from the same marker wins.
    let published = now();
    let mut runs: Vec<RunRecord> = state
        .marker
        .as_ref()
        .map(|(m, _)| m.runs.clone())
        .unwrap_or_default();
    for r in runs.iter_mut().filter(|r| r.replaced.is_none()) {
        r.replaced = Some(published);
    }
    runs.push(RunRecord {
        id: out.run_id.clone(),
        published,
        replaced: None,
    });
    let marker = RemoteMarker {
        written_by: "vodpack".into(),
        current: out.run_id.clone(),
        runs,
        files: top.to_vec(),
    };
    let marker_bytes = serde_json::to_vec_pretty(&marker).expect("marker serializes");
    let mode = match &state.marker {
        Some((_, etag)) => PutMode::Update(UpdateVersion {
            e_tag: etag.clone(),
            version: None,
        }),
        None => PutMode::Create,
    };
    let marker_key = out.url.join(MARKER_FILE).key;
    crate::cancel::check()?;
    match bucket.put(&marker_key, marker_bytes.clone().into(), mode) {
        Ok(_) => {}
        Err(e) if e.kind == crate::storage::StorageErrorKind::Precondition => {
            // Ours is not the output: leave the other run's alone, remove our own objects.
            remove_prefix(&bucket, &run_url.key);
            return Err(lost_switch(out, e));
        }
        Err(e) => {
            remove_prefix(&bucket, &run_url.key);
            return Err(e.into());
        }
    }
    uploaded += marker_bytes.len() as u64;

    // The key manifest, then the manifests players load first.
    let key_manifest_bytes = staged.key_manifest_bytes();
    staged.commit()?;
    if let (Some(url), Some(bytes)) = (&out.key_manifest, key_manifest_bytes) {
        let km = Bucket::open(url)?;
        km.put(&url.key, bytes.into(), PutMode::Overwrite)?;
    }
    let local_out = out.local_root.join(out.url.name());
    for name in top {
        let path = local_out.join(name);
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let rebased = if name.ends_with(".mpd") {
            rebase_mpd(&text, &run_rel)
        } else {
            rebase_playlist(&text, &run_rel)
        };
        uploaded += rebased.len() as u64;
        bucket.put(
            &out.url.join(name).key,
            rebased.into_bytes().into(),
            PutMode::Overwrite,
        )?;
    }
    if let Some(grace) = out.prune_after {
        prune(&bucket, out, &marker_key, grace)?;
    }
    Ok(uploaded)
}

/// Removes every object under `prefix` (best effort: used to clean up after a lost switch).
fn remove_prefix(bucket: &Bucket, prefix: &str) {
    if let Ok(objects) = bucket.list(prefix) {
        for o in objects {
            let _ = bucket.delete(o.location.as_ref());
        }
    }
}

/// Removes the runs replaced more than `grace` seconds ago, and drops them from the marker
/// (a conditional put again: a run that published meanwhile keeps its own marker).
fn prune(bucket: &Bucket, out: &RemoteOut, marker_key: &str, grace: u64) -> Result<()> {
    let Some((bytes, etag)) = bucket.get(marker_key)? else {
        return Ok(());
    };
    let Ok(mut marker) = serde_json::from_slice::<RemoteMarker>(&bytes) else {
        return Ok(());
    };
    let t = now();
    let (old, keep): (Vec<RunRecord>, Vec<RunRecord>) = marker
        .runs
        .into_iter()
        .partition(|r| r.id != marker.current && r.replaced.is_some_and(|at| t >= at + grace));
    if old.is_empty() {
        marker.runs = keep;
        return Ok(());
    }
    marker.runs = keep;
    let new = serde_json::to_vec_pretty(&marker).expect("marker serializes");
    let mode = PutMode::Update(UpdateVersion {
        e_tag: etag,
        version: None,
    });
    // The marker forgets the runs first: a crash after this leaves unlisted objects, never a
    // listed run whose objects are gone.
    match bucket.put(marker_key, new.into(), mode) {
        Ok(_) => {}
        Err(e) if e.kind == crate::storage::StorageErrorKind::Precondition => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    for r in old {
        remove_prefix(bucket, &out.url.join(&format!("{RUNS}/{}", r.id)).key);
    }
    Ok(())
}

/// Copies the current run of a published output (its top manifests and its run's objects,
/// under the same relative keys) into `dest`, for `vodpack verify URL`. Objects are written to
/// disk part by part, never held whole in memory.
pub fn download_current(url: &ObjectUrl, dest: &Path) -> Result<()> {
    let bucket = Bucket::open(url)?;
    let marker_key = url.join(MARKER_FILE).key;
    let marker = match bucket.get(&marker_key)? {
        Some((bytes, _)) => serde_json::from_slice::<RemoteMarker>(&bytes).map_err(|e| {
            Error::layer(
                crate::ErrorKind::InvalidInput,
                None,
                format!(
                    "{}: not a vodpack output marker: {e}",
                    url.join(MARKER_FILE)
                ),
            )
        })?,
        None => {
            return Err(Error::layer(
                crate::ErrorKind::Io,
                None,
                format!(
                    "{}: NoSuchKey: no vodpack output here (its marker is missing)",
                    url.join(MARKER_FILE)
                ),
            ))
        }
    };
    let run_prefix = url.join(&format!("{RUNS}/{}", marker.current)).key;
    let mut objects: Vec<(String, u64)> = bucket
        .list(&run_prefix)?
        .into_iter()
        .map(|o| (o.location.to_string(), o.size))
        .collect();
    for f in &marker.files {
        objects.push((url.join(f).key, 0));
    }
    for (key, _) in objects {
        let rel = rel_key(&url.key, &key);
        let path = dest.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let meta = bucket.head(&key)?.ok_or_else(|| {
            Error::layer(
                crate::ErrorKind::Io,
                None,
                format!(
                    "{}: NoSuchKey: named by the marker but missing",
                    bucket.url(&key)
                ),
            )
        })?;
        use std::io::Write;
        let mut file = std::fs::File::create(&path).map_err(|e| Error::io(&path, e))?;
        let mut at = 0u64;
        while at < meta.size {
            let end = (at + crate::storage::store::PART_SIZE as u64).min(meta.size);
            let bytes = bucket.get_range(&key, at..end)?;
            file.write_all(&bytes).map_err(|e| Error::io(&path, e))?;
            at = end;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn playlist_uris_move_into_the_run() {
        let master = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"aac/playlist.m3u8\"\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nv/playlist.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"v/iframes.m3u8\"\n";
        let r = rebase_playlist(master, "runs/7/");
        assert_eq!(r, "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"runs/7/aac/playlist.m3u8\"\n#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,URI=\"skd://k\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nruns/7/v/playlist.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI=\"runs/7/v/iframes.m3u8\"\n");
    }

    #[test]
    fn mpd_gets_a_base_url_unless_it_has_one() {
        let mpd = "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\">\n  <Period/>\n</MPD>\n";
        assert_eq!(
            rebase_mpd(mpd, "runs/7/"),
            "<?xml version=\"1.0\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\">\n  <BaseURL>runs/7/</BaseURL>\n  <Period/>\n</MPD>\n"
        );
        let with = "<MPD>\n  <BaseURL>https://cdn/x/</BaseURL>\n</MPD>";
        assert_eq!(rebase_mpd(with, "runs/7/"), with);
    }
}
