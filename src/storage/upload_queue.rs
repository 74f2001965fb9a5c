//! Uploads local files to objects while the run is still writing the next ones.
//!
//! An object-store output is written file by file into a local folder; each file is handed to
//! an [`UploadQueue`] as soon as it is complete and uploaded from there, a few at a time
//! ([`CONCURRENT_UPLOADS`]), then removed locally (unless asked to keep it). The queue is
//! bounded: when [`QUEUED_FILES`] files wait, [`UploadQueue::push`] blocks, so a writer faster
//! than the network waits instead of filling the disk. Memory is bounded by what is in flight
//! (a file up to `PART_SIZE`, or one part of a larger one, per upload), independent of the
//! title's length.
//!
//! The first failure stops the queue: files not yet started are not uploaded, the next `push`
//! and [`UploadQueue::finish`] return that failure (which names the object URL and the
//! service's code), and multipart uploads under way are aborted by `Bucket::upload_file`.
use super::store::{block_on, runtime, Bucket, CONCURRENT_UPLOADS};
use crate::error::{Error, Result};
use futures::StreamExt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Completed files that may wait for an upload before the writer waits.
pub const QUEUED_FILES: usize = 8;

/// One file to upload.
struct Job {
    file: PathBuf,
    key: String,
}

/// What the queue's task and its users share.
struct Shared {
    /// The first failure; later jobs are skipped.
    failed: Mutex<Option<Error>>,
    stop: AtomicBool,
    bytes: AtomicU64,
}

impl Shared {
    fn fail(&self, e: Error) {
        let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        if failed.is_none() {
            *failed = Some(e);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    fn take_failure(&self) -> Option<Error> {
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    fn failure_text(&self) -> Option<String> {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|e| e.to_string())
    }
}

/// Files uploaded to one bucket as they are pushed (see the module's overview).
pub struct UploadQueue {
    tx: Option<mpsc::Sender<Job>>,
    task: Option<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl UploadQueue {
    /// A queue uploading to `bucket`; each file is removed once uploaded unless `keep_files`.
    pub fn new(bucket: Bucket, keep_files: bool) -> UploadQueue {
        let (tx, rx) = mpsc::channel::<Job>(QUEUED_FILES);
        let shared = Arc::new(Shared {
            failed: Mutex::new(None),
            stop: AtomicBool::new(false),
            bytes: AtomicU64::new(0),
        });
        let state = shared.clone();
        let task = runtime().spawn(async move {
            let jobs = futures::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|job| (job, rx))
            });
            let bucket = &bucket;
            let state = &state;
            let uploads = jobs
                .map(|job| async move {
                    if state.stop.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                    crate::cancel::check()?;
                    let n = bucket.upload_file(&job.key, &job.file).await?;
                    state.bytes.fetch_add(n, Ordering::Relaxed);
                    if !keep_files {
                        std::fs::remove_file(&job.file).map_err(|e| Error::io(&job.file, e))?;
                    }
                    Ok::<(), Error>(())
                })
                .buffer_unordered(CONCURRENT_UPLOADS);
            let mut uploads = std::pin::pin!(uploads);
            while let Some(r) = uploads.next().await {
                if let Err(e) = r {
                    // Stops taking jobs: the receiver is dropped with the stream, so the
                    // writers' next push fails at once instead of waiting.
                    state.fail(e);
                    break;
                }
            }
        });
        UploadQueue {
            tx: Some(tx),
            task: Some(task),
            shared,
        }
    }

    /// Queues `file` for upload to `key`; waits while the queue is full. Fails with the
    /// queue's first failure once an upload failed.
    pub fn push(&self, file: PathBuf, key: String) -> Result<()> {
        if let Some(e) = self.shared.failure_text() {
            return Err(stopped(e));
        }
        let sent = match &self.tx {
            Some(tx) => tx.blocking_send(Job { file, key }).is_ok(),
            None => false,
        };
        if sent {
            return Ok(());
        }
        Err(stopped(
            self.shared
                .failure_text()
                .unwrap_or_else(|| "the upload queue is closed".into()),
        ))
    }

    /// The failure that stopped the queue, if one did (taken: `finish` no longer returns it).
    pub fn failure(&self) -> Option<Error> {
        self.shared.take_failure()
    }

    /// Bytes uploaded so far.
    pub fn uploaded_bytes(&self) -> u64 {
        self.shared.bytes.load(Ordering::Relaxed)
    }

    /// Waits until every queued file is uploaded; returns the bytes uploaded, or the first
    /// failure.
    pub fn finish(mut self) -> Result<u64> {
        self.close();
        match self.shared.take_failure() {
            Some(e) => Err(e),
            None => Ok(self.uploaded_bytes()),
        }
    }

    fn close(&mut self) {
        drop(self.tx.take());
        if let Some(task) = self.task.take() {
            // A task that panicked has uploaded what it uploaded; its panic is the caller's bug
            // report, not a reason to hang.
            if let Err(e) = block_on(task) {
                self.shared.fail(Error::Io {
                    path: PathBuf::new(),
                    source: std::io::Error::other(format!("the upload task failed: {e}")),
                });
            }
        }
    }
}

impl Drop for UploadQueue {
    /// A run that failed elsewhere: files not yet started are dropped, uploads under way end
    /// (or abort) before the local folder they read from is removed.
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.close();
    }
}

/// A push after the queue stopped: the first failure, again, as the writer's error.
fn stopped(first: String) -> Error {
    Error::layer(
        crate::ErrorKind::Io,
        None,
        format!("upload stopped: {first}"),
    )
}
