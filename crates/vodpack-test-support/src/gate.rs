//! The counting semaphore that keeps tests apart which used to be apart by running in binaries
//! of their own (docs/testing.md, "one test binary per crate").

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

#[cfg(test)]
mod tests {
    use super::Gate;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::thread;
    use std::time::Duration;

    /// A two-slot gate: a third comer waits until a permit is dropped, a permit held by a
    /// panicking thread comes back, and eight threads never have more than two inside at once.
    #[test]
    fn lets_at_most_its_slots_through_and_survives_a_panic() {
        static GATE: Gate = Gate::new(2);
        static ENTERED: AtomicBool = AtomicBool::new(false);
        let first = GATE.enter();
        let second = GATE.enter();
        let third = thread::spawn(|| {
            let _permit = GATE.enter();
            ENTERED.store(true, Ordering::SeqCst);
        });
        thread::sleep(Duration::from_millis(200));
        assert!(
            !ENTERED.load(Ordering::SeqCst),
            "a third test got through a two-slot gate"
        );
        drop(first);
        third.join().unwrap();
        assert!(ENTERED.load(Ordering::SeqCst));
        drop(second);

        let panicked = thread::spawn(|| {
            let _permit = GATE.enter();
            panic!("a failing test holding a permit");
        })
        .join();
        assert!(panicked.is_err());
        // Both slots are free again: two permits at once do not block.
        let both = (GATE.enter(), GATE.enter());
        drop(both);

        static INSIDE: AtomicUsize = AtomicUsize::new(0);
        static MOST: AtomicUsize = AtomicUsize::new(0);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                thread::spawn(|| {
                    let _permit = GATE.enter();
                    let now = INSIDE.fetch_add(1, Ordering::SeqCst) + 1;
                    MOST.fetch_max(now, Ordering::SeqCst);
                    thread::sleep(Duration::from_millis(10));
                    INSIDE.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(MOST.load(Ordering::SeqCst) <= 2, "{MOST:?} inside at once");
    }
}
