//! Cooperative cancellation. The binary turns SIGINT/SIGTERM into a flag ([`flag`]); the
//! pipeline checks it between segments ([`check`]) and unwinds through its ordinary error path,
//! so the staging folder is removed by the same code that cleans up after any other failure.
use crate::error::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicUsize>> = OnceLock::new();

/// The flag a signal handler sets to the signal's number (0: keep going).
pub fn flag() -> Arc<AtomicUsize> {
    FLAG.get_or_init(|| Arc::new(AtomicUsize::new(0))).clone()
}

/// `Err(Error::Interrupted)` once a stop was requested.
pub fn check() -> Result<()> {
    match FLAG.get().map(|f| f.load(Ordering::Relaxed)) {
        None | Some(0) => Ok(()),
        Some(signal) => Err(Error::Interrupted {
            signal: signal as i32,
        }),
    }
}
