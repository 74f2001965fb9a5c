//! Nothing half-written: the output is assembled in a temporary folder beside OUT and renamed
//! into place only when everything succeeded; a failed run removes it and leaves OUT as it was.
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// A temporary output folder that becomes OUT on `commit`, and is removed if dropped before.
#[derive(Debug)]
pub struct StagedOutput {
    pub temp: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl StagedOutput {
    pub fn create(target: &Path) -> Result<StagedOutput> {
        let name = target
            .file_name()
            .ok_or_else(|| {
                Error::Usage(format!("output '{}' has no folder name", target.display()))
            })?
            .to_string_lossy()
            .into_owned();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
        if target.exists() && !target.is_dir() {
            return Err(Error::Usage(format!(
                "output '{}' exists and is not a folder",
                target.display()
            )));
        }
        let temp = parent.join(format!(".{name}.vodpack-tmp-{}", std::process::id()));
        if temp.exists() {
            std::fs::remove_dir_all(&temp).map_err(|e| Error::io(&temp, e))?;
        }
        std::fs::create_dir(&temp).map_err(|e| Error::io(&temp, e))?;
        Ok(StagedOutput {
            temp,
            target: target.to_path_buf(),
            committed: false,
        })
    }

    /// Moves the finished output into place (the old OUT is removed only after the swap).
    pub fn commit(mut self) -> Result<()> {
        let old = self.temp.with_file_name(format!(
            ".{}.vodpack-old-{}",
            self.target
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            std::process::id()
        ));
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old).map_err(|e| Error::io(&self.target, e))?;
        }
        if let Err(e) = std::fs::rename(&self.temp, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(Error::io(&self.target, e));
        }
        self.committed = true;
        if had_old {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        Ok(())
    }
}

impl Drop for StagedOutput {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}
