//! The embedded telemetry sink: accepted events appended as newline-delimited JSON to a file,
//! fsynced before the answer; refused batches to `<file>.rejected`, capped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::telemetry::events::{AcceptedEvent, EventSink, RejectRecord, SinkFuture};

/// Largest dead-letter file of [`FileSink`]; later rejects are dropped (and counted).
pub const MAX_REJECTED_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Appends accepted events as NDJSON to a file and fsyncs before returning; rejects go to
/// `<file>.rejected` (also NDJSON, at most [`MAX_REJECTED_FILE_BYTES`]).
pub struct FileSink {
    path: PathBuf,
    rejected_path: PathBuf,
    lock: Mutex<()>,
    rejected_limit: u64,
}

impl FileSink {
    /// A sink appending to `path` (created if missing).
    pub fn new(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref().to_path_buf();
        let mut rejected = path.clone().into_os_string();
        rejected.push(".rejected");
        FileSink {
            path,
            rejected_path: PathBuf::from(rejected),
            lock: Mutex::new(()),
            rejected_limit: MAX_REJECTED_FILE_BYTES,
        }
    }

    /// Caps the dead-letter file at `bytes` (default [`MAX_REJECTED_FILE_BYTES`]).
    pub fn with_rejected_limit(mut self, bytes: u64) -> Self {
        self.rejected_limit = bytes;
        self
    }

    /// The file of accepted events.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The dead-letter file.
    pub fn rejected_path(&self) -> &Path {
        &self.rejected_path
    }

    fn append(&self, path: &Path, text: &str, limit: Option<u64>) -> Result<(), String> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(limit) = limit {
            let len = f
                .metadata()
                .map_err(|e| format!("{}: {e}", path.display()))?
                .len();
            if len.saturating_add(text.len() as u64) > limit {
                return Err(format!(
                    "{}: the dead-letter file reached its {limit}-byte limit",
                    path.display()
                ));
            }
        }
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_data())
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

impl EventSink for FileSink {
    fn write<'a>(&'a self, events: &'a [AcceptedEvent]) -> SinkFuture<'a> {
        Box::pin(async move {
            let mut text = String::new();
            for e in events {
                text.push_str(&serde_json::to_string(e).map_err(|e| e.to_string())?);
                text.push('\n');
            }
            self.append(&self.path, &text, None)
        })
    }

    fn dead_letter<'a>(&'a self, record: &'a RejectRecord) -> SinkFuture<'a> {
        Box::pin(async move {
            let line = serde_json::to_string(record).map_err(|e| e.to_string())?;
            self.append(
                &self.rejected_path,
                &(line + "\n"),
                Some(self.rejected_limit),
            )
        })
    }
}
