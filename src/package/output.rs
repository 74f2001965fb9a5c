//! Where a run's outputs go, and how they get there without harm.
//!
//! - **Nothing of the user's is destroyed.** vodpack marks every folder it writes with
//!   [`MARKER_FILE`] (the list of files it wrote). It replaces an OUT that holds only what it wrote
//!   itself; anything else is refused unless `--force`; an input is never replaced, moved or
//!   deleted, `--force` or not ([`check_targets`]).
//! - **Nothing half-written.** Every output of the run (the OUT folder, the key manifest) is
//!   written under a temporary name beside its final place and committed together at the end
//!   ([`Staging::commit`]); a failure or a signal before that leaves everything as it was.
//! - **No gap.** On Linux, OUT is swapped with `renameat2(RENAME_EXCHANGE)`: at every moment
//!   either the old or the new OUT is in place. Where the file system cannot exchange, two
//!   renames are used and OUT is missing for the time between them (documented in docs/usage.md).
//! - **No debris.** Temporary names carry the process id; a later run removes those of processes
//!   that no longer exist.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

/// The file inside OUT that lists what vodpack wrote there.
pub const MARKER_FILE: &str = ".vodpack-output.json";

/// Contents of [`MARKER_FILE`].
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    /// Always "vodpack".
    written_by: String,
    /// Every file written, relative to OUT, `/`-separated, sorted.
    files: Vec<String>,
}

/// `path` made absolute and free of `.`/`..`, resolving symbolic links of the longest existing
/// prefix (so two spellings of one place compare equal).
fn resolved(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    let mut lexical = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                lexical.pop();
            }
            Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    // Canonicalise the deepest part that exists, then re-append the rest.
    let mut rest = Vec::new();
    let mut probe = lexical.clone();
    loop {
        if let Ok(c) = std::fs::canonicalize(&probe) {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (probe.file_name().map(|n| n.to_os_string()), probe.parent()) {
            (Some(n), Some(p)) => {
                rest.push(n);
                probe = p.to_path_buf();
            }
            _ => return lexical,
        }
    }
}

/// Every file under `dir`, relative and `/`-separated (symbolic links listed, not followed).
fn list_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let rel_child = rel.join(entry.file_name());
            if entry.file_type()?.is_dir() {
                stack.push(rel_child);
            } else {
                out.push(rel_child.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// What is at OUT now, as far as replacing it is concerned.
enum Existing {
    Nothing,
    /// A folder vodpack wrote (or an empty one): replaced without asking.
    Ours,
    /// Anything else, described for the error message.
    Foreign(String),
}

fn existing(out: &Path) -> Result<Existing> {
    let meta = match std::fs::symlink_metadata(out) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Existing::Nothing),
        Err(e) => return Err(Error::io(out, e)),
    };
    if meta.file_type().is_symlink() {
        return Ok(Existing::Foreign("a symbolic link".into()));
    }
    if !meta.is_dir() {
        return Ok(Existing::Foreign("a file".into()));
    }
    let files = list_files(out).map_err(|e| Error::io(out, e))?;
    if files.is_empty() {
        return Ok(Existing::Ours);
    }
    let marker: Option<Marker> = std::fs::read(out.join(MARKER_FILE))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .filter(|m: &Marker| m.written_by == "vodpack");
    let foreign: Vec<&String> = match &marker {
        Some(m) => files
            .iter()
            .filter(|f| *f != MARKER_FILE && m.files.binary_search(f).is_err())
            .collect(),
        None => files.iter().collect(),
    };
    if foreign.is_empty() {
        return Ok(Existing::Ours);
    }
    let shown: Vec<&str> = foreign.iter().take(5).map(|s| s.as_str()).collect();
    let more = if foreign.len() > shown.len() {
        format!(" and {} more", foreign.len() - shown.len())
    } else {
        String::new()
    };
    let what = if marker.is_some() {
        "files vodpack did not write"
    } else {
        "files, and it was not written by vodpack"
    };
    Ok(Existing::Foreign(format!(
        "a folder with {} {what} ({}{more})",
        foreign.len(),
        shown.join(", ")
    )))
}

/// Refuses, before anything is read or written, a run that could destroy something: an OUT or
/// key manifest that is, contains or lies inside an input (always refused), a key manifest
/// inside OUT (it would be published), and an OUT or key manifest holding something vodpack did
/// not write (refused unless `force`). Usage errors (exit 2) say what is there and what to do.
pub fn check_targets(
    out: &Path,
    key_manifest: &Path,
    inputs: &[PathBuf],
    force: bool,
) -> Result<()> {
    let out_abs = resolved(out);
    let km_abs = resolved(key_manifest);
    if out_abs.parent().is_none() {
        return Err(Error::Usage(format!(
            "output '{}' is the root folder; choose a folder to write into",
            out.display()
        )));
    }
    for input in inputs {
        let inp = resolved(input);
        if inp == out_abs || inp.starts_with(&out_abs) || out_abs.starts_with(&inp) {
            return Err(Error::Usage(format!(
                "output '{}' would replace input '{}'; choose an output folder that does not hold your inputs (--force never overwrites inputs)",
                out.display(),
                input.display()
            )));
        }
        if inp == km_abs || km_abs.starts_with(&inp) {
            return Err(Error::Usage(format!(
                "key manifest '{}' would overwrite input '{}'; choose another --key-manifest path",
                key_manifest.display(),
                input.display()
            )));
        }
    }
    if km_abs.starts_with(&out_abs) {
        return Err(Error::Usage(format!(
            "key manifest '{}' is inside the output folder '{}', which gets published; write it elsewhere (default: {})",
            key_manifest.display(),
            out.display(),
            vodpack_control::key_manifest::default_path(out).display()
        )));
    }
    if let Existing::Foreign(what) = existing(out)? {
        if !force {
            return Err(Error::Usage(format!(
                "output '{}' already holds {what}; vodpack only replaces folders it wrote itself. Choose a new or empty folder, or pass --force to replace it",
                out.display()
            )));
        }
    }
    match std::fs::symlink_metadata(key_manifest) {
        Ok(m) if m.is_dir() => {
            return Err(Error::Usage(format!(
                "key manifest '{}' is a folder; give a file path",
                key_manifest.display()
            )))
        }
        Ok(_) if !force && vodpack_control::KeyManifest::load(key_manifest).is_err() => {
            return Err(Error::Usage(format!(
                "'{}' exists and is not a vodpack key manifest; choose another --key-manifest path, or pass --force to replace it",
                key_manifest.display()
            )))
        }
        _ => {}
    }
    Ok(())
}

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn name_of(p: &Path) -> Result<String> {
    let trimmed: PathBuf = p.components().collect();
    match trimmed.file_name() {
        Some(n) => Ok(n.to_string_lossy().into_owned()),
        None => Err(Error::Usage(format!(
            "'{}' has no name to write to; give a folder name such as out/",
            p.display()
        ))),
    }
}

/// Temporary names beside `target`: `.NAME.vodpack-tmp-PID` (staging) and
/// `.NAME.vodpack-old-PID` (the previous version during a swap).
fn temp_name(target: &Path, kind: &str) -> Result<PathBuf> {
    let trimmed: PathBuf = target.components().collect();
    Ok(parent_of(&trimmed).join(format!(
        ".{}.vodpack-{kind}-{}",
        name_of(target)?,
        std::process::id()
    )))
}

fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true // cannot tell: leave it
    }
}

/// Removes the temporary files and folders that runs which no longer exist left beside `target`
/// (killed with SIGKILL, power loss).
fn remove_dead_runs_debris(target: &Path) {
    let Ok(name) = name_of(target) else { return };
    let trimmed: PathBuf = target.components().collect();
    let dir = parent_of(&trimmed);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let pid = ["tmp", "old"].iter().find_map(|kind| {
            file_name
                .strip_prefix(&format!(".{name}.vodpack-{kind}-"))
                .and_then(|p| p.parse::<u32>().ok())
        });
        if let Some(pid) = pid {
            if !process_alive(pid) {
                let p = entry.path();
                let _ = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else {
                    std::fs::remove_file(&p)
                };
            }
        }
    }
}

fn remove_any(p: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(p),
        Ok(_) => std::fs::remove_file(p),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Atomically exchanges two existing paths (Linux `renameat2(RENAME_EXCHANGE)`). `Ok(false)`
/// when the file system or kernel cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use nix::errno::Errno;
    use nix::fcntl::{renameat2, RenameFlags, AT_FDCWD};
    match renameat2(AT_FDCWD, a, AT_FDCWD, b, RenameFlags::RENAME_EXCHANGE) {
        Ok(()) => Ok(true),
        Err(Errno::EINVAL | Errno::ENOSYS | Errno::ENOTSUP) => Ok(false),
        Err(e) => Err(std::io::Error::from(e)),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Every output of one run, written under temporary names until [`Staging::commit`].
#[derive(Debug)]
pub struct Staging {
    /// The folder the run writes OUT's contents into.
    pub dir: PathBuf,
    out: PathBuf,
    key_manifest: Option<(PathBuf, PathBuf)>,
    committed: bool,
}

impl Staging {
    /// Creates the staging folder beside `out` (and `out`'s parent if needed), after removing
    /// the debris of dead runs beside `out` and beside `key_manifest`.
    pub fn create(out: &Path, key_manifest: &Path) -> Result<Staging> {
        let out: PathBuf = out.components().collect();
        name_of(&out)?;
        let parent = parent_of(&out);
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        remove_dead_runs_debris(&out);
        remove_dead_runs_debris(key_manifest);
        let dir = temp_name(&out, "tmp")?;
        remove_any(&dir).map_err(|e| Error::io(&dir, e))?;
        std::fs::create_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        Ok(Staging {
            dir,
            out,
            key_manifest: None,
            committed: false,
        })
    }

    /// Writes the key manifest's bytes (mode 0600) under a temporary name beside `path`; it
    /// takes its place in [`Staging::commit`]. Fails (I/O) when `path`'s folder does not exist.
    pub fn stage_key_manifest(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
        use std::io::Write;
        let tmp = temp_name(path, "tmp")?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        // Recorded before writing, so that Drop removes a partial file too.
        self.key_manifest = Some((tmp.clone(), path.to_path_buf()));
        let mut f = options.open(&tmp).map_err(|e| Error::io(&tmp, e))?;
        f.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
        f.sync_all().map_err(|e| Error::io(&tmp, e))?;
        Ok(())
    }

    /// The staged key manifest's bytes (`None` when none was staged or it cannot be read).
    pub fn key_manifest_bytes(&self) -> Option<Vec<u8>> {
        self.key_manifest
            .as_ref()
            .and_then(|(tmp, _)| std::fs::read(tmp).ok())
    }

    /// Writes [`MARKER_FILE`] listing every file in the staging folder.
    fn write_marker(&self) -> Result<()> {
        let marker = Marker {
            written_by: "vodpack".into(),
            files: list_files(&self.dir).map_err(|e| Error::io(&self.dir, e))?,
        };
        let p = self.dir.join(MARKER_FILE);
        let text = serde_json::to_vec_pretty(&marker).expect("marker serializes");
        std::fs::write(&p, text).map_err(|e| Error::io(&p, e))
    }

    /// Puts every output in place: the key manifest first (its previous version kept aside),
    /// then OUT. If OUT cannot be put in place, the previous key manifest is restored: either
    /// everything is new or everything is as it was.
    pub fn commit(mut self) -> Result<()> {
        self.write_marker()?;
        let mut km_backup: Option<(PathBuf, PathBuf)> = None;
        let mut km_new: Option<PathBuf> = None;
        if let Some((tmp, path)) = &self.key_manifest {
            if std::fs::symlink_metadata(path).is_ok() {
                let old = temp_name(path, "old")?;
                remove_any(&old).map_err(|e| Error::io(&old, e))?;
                std::fs::hard_link(path, &old)
                    .or_else(|_| std::fs::copy(path, &old).map(|_| ()))
                    .map_err(|e| Error::io(path, e))?;
                km_backup = Some((old, path.clone()));
            }
            std::fs::rename(tmp, path).map_err(|e| Error::io(path, e))?;
            km_new = Some(path.clone());
        }
        let restore_km =
            |backup: &Option<(PathBuf, PathBuf)>, new: &Option<PathBuf>| match (backup, new) {
                (Some((old, path)), _) => {
                    let _ = std::fs::rename(old, path);
                }
                (None, Some(path)) => {
                    let _ = std::fs::remove_file(path);
                }
                _ => {}
            };
        if let Err(e) = self.swap_out() {
            restore_km(&km_backup, &km_new);
            return Err(e);
        }
        self.committed = true;
        if let Some((old, _)) = &km_backup {
            let _ = std::fs::remove_file(old);
        }
        Ok(())
    }

    /// Replaces OUT with the staging folder; afterwards the old OUT (if any) is removed.
    fn swap_out(&mut self) -> Result<()> {
        let had_old = std::fs::symlink_metadata(&self.out).is_ok();
        if !had_old {
            return std::fs::rename(&self.dir, &self.out).map_err(|e| Error::io(&self.out, e));
        }
        // After the exchange the old OUT sits at the staging name; removing it is cleanup.
        if exchange(&self.dir, &self.out).map_err(|e| Error::io(&self.out, e))? {
            let _ = remove_any(&self.dir);
            return Ok(());
        }
        let old = temp_name(&self.out, "old")?;
        remove_any(&old).map_err(|e| Error::io(&old, e))?;
        std::fs::rename(&self.out, &old).map_err(|e| Error::io(&self.out, e))?;
        if let Err(e) = std::fs::rename(&self.dir, &self.out) {
            let _ = std::fs::rename(&old, &self.out);
            return Err(Error::io(&self.out, e));
        }
        let _ = remove_any(&old);
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_any(&self.dir);
            if let Some((tmp, _)) = &self.key_manifest {
                let _ = std::fs::remove_file(tmp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("vodpack-out-{:x}", rand::random::<u64>()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn resolved_removes_dots_and_follows_existing_links() {
        let d = tempdir();
        assert_eq!(resolved(&d.join("a/../b/./c")), resolved(&d).join("b/c"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(&d, d.join("link")).unwrap();
            assert_eq!(resolved(&d.join("link/x")), resolved(&d).join("x"));
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_folder_we_wrote_is_ours_anything_else_is_not() {
        let d = tempdir();
        let out = d.join("out");
        assert!(matches!(existing(&out).unwrap(), Existing::Nothing));
        std::fs::create_dir(&out).unwrap();
        assert!(matches!(existing(&out).unwrap(), Existing::Ours));
        let mut s = Staging::create(&out, &d.join("out.keys.json")).unwrap();
        std::fs::create_dir(s.dir.join("v")).unwrap();
        std::fs::write(s.dir.join("v/seg_1.m4s"), b"x").unwrap();
        s.stage_key_manifest(&d.join("out.keys.json"), b"{}")
            .unwrap();
        s.commit().unwrap();
        assert!(matches!(existing(&out).unwrap(), Existing::Ours));
        assert_eq!(std::fs::read(d.join("out.keys.json")).unwrap(), b"{}");
        std::fs::write(out.join("notes.txt"), b"mine").unwrap();
        match existing(&out).unwrap() {
            Existing::Foreign(w) => assert!(w.contains("notes.txt"), "{w}"),
            _ => panic!("a foreign file must be noticed"),
        }
        // Only the outputs remain: no staging or backup names.
        let mut names: Vec<String> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["out", "out.keys.json"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn debris_of_dead_runs_is_removed_live_runs_kept() {
        let d = tempdir();
        let out = d.join("movie");
        // PID 0x7fff_fff0 does not exist on Linux (pid_max is at most 2^22).
        let dead = d.join(".movie.vodpack-tmp-2147483632");
        std::fs::create_dir_all(dead.join("video")).unwrap();
        let dead_km = d.join(".movie.keys.json.vodpack-tmp-2147483632");
        std::fs::write(&dead_km, b"{}").unwrap();
        let live = d.join(format!(".movie.vodpack-tmp-{}", std::process::id()));
        let s = Staging::create(&out, &d.join("movie.keys.json")).unwrap();
        assert_eq!(s.dir, live);
        assert!(!dead.exists() && !dead_km.exists());
        drop(s);
        assert!(
            !live.exists(),
            "an uncommitted staging folder is removed on drop"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
