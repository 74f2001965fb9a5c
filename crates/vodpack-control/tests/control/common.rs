//! The control tests' shared harness. Tests of every module run as threads of one process, so
//! Chromium runs and memory measurements take a slot here instead of relying on running in a
//! binary of their own.

use std::sync::{Condvar, Mutex};

/// A counting semaphore for tests that must not run beside each other. Its permit is a plain
/// value (no lock is held while a test runs), so async tests may keep it across `.await`.
pub struct Gate {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A slot of a [`Gate`], given back when dropped (also when the test panics).
pub struct Permit(&'static Gate);

impl Gate {
    /// A gate that lets `slots` tests through at a time.
    pub const fn new(slots: usize) -> Gate {
        Gate {
            free: Mutex::new(slots),
            freed: Condvar::new(),
        }
    }

    /// Waits for a free slot.
    pub fn enter(&'static self) -> Permit {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        self.0.freed.notify_one();
    }
}

/// One Chromium at a time in the whole binary: the machine has two cores, and players that
/// share them with another browser time out.
pub fn browser_slot() -> Permit {
    static BROWSERS: Gate = Gate::new(1);
    BROWSERS.enter()
}

/// One heavy test at a time (peak-memory measurements, signal timing, long packaging runs): with
/// the default two test threads, a heavy test shares the machine with at most one light one.
pub fn heavy_slot() -> Permit {
    static HEAVY: Gate = Gate::new(1);
    HEAVY.enter()
}
