//! The synchronisation facade: every atomic, lock, condition variable, thread
//! and queue the crate uses comes from here.
//!
//! Normal builds get `std`'s atomics and threads and `parking_lot`'s `Mutex`
//! and `Condvar`. Built with
//! `RUSTFLAGS="--cfg loom"` the same names resolve to `loom`'s types, so the
//! model checks in `loom-tests/` explore every interleaving of the crate's
//! real sources, lock-free and lock-based code alike (the tokio approach).
//!
//! The wrappers keep one small API for both worlds: `Mutex::lock` returns the
//! guard directly (no poisoning), and `Condvar::wait` takes and returns the
//! guard by value.

use std::fmt;
use std::time::Instant;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
#[cfg(loom)]
#[allow(unused_imports)]
pub(crate) use loom::sync::Arc;

/// Threads: spawning, naming, yielding, identity.
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, yield_now, Builder, JoinHandle, ThreadId};

    #[cfg(loom)]
    #[allow(unused_imports)]
    pub(crate) use loom::thread::{current, yield_now, ThreadId};

    /// loom's `JoinHandle` has no `is_finished`; this wrapper answers
    /// `false` (the handle is kept and joined at shutdown, which is always
    /// correct, only less thrifty than pruning it early).
    #[cfg(loom)]
    pub(crate) struct JoinHandle<T>(loom::thread::JoinHandle<T>);

    #[cfg(loom)]
    impl<T> JoinHandle<T> {
        pub(crate) fn is_finished(&self) -> bool {
            false
        }

        pub(crate) fn join(self) -> std::thread::Result<T> {
            self.0.join()
        }
    }

    /// loom's thread builder, returning the wrapper above.
    #[cfg(loom)]
    pub(crate) struct Builder(loom::thread::Builder);

    #[cfg(loom)]
    impl Builder {
        pub(crate) fn new() -> Self {
            Builder(loom::thread::Builder::new())
        }

        pub(crate) fn name(self, name: String) -> Self {
            Builder(self.0.name(name))
        }

        pub(crate) fn stack_size(self, size: usize) -> Self {
            Builder(self.0.stack_size(size))
        }

        pub(crate) fn spawn<F, T>(self, f: F) -> std::io::Result<JoinHandle<T>>
        where
            F: FnOnce() -> T + Send + 'static,
            T: Send + 'static,
        {
            self.0.spawn(f).map(JoinHandle)
        }
    }
}

/// A mutual-exclusion lock without poisoning: a panic while the lock is held
/// never makes the lock unusable for the pool's other threads.
pub(crate) struct Mutex<T> {
    #[cfg(not(loom))]
    inner: parking_lot::Mutex<T>,
    #[cfg(loom)]
    inner: loom::sync::Mutex<T>,
}

/// The guard of a [`Mutex`].
#[cfg(not(loom))]
pub(crate) type MutexGuard<'a, T> = parking_lot::MutexGuard<'a, T>;
/// The guard of a [`Mutex`].
#[cfg(loom)]
pub(crate) type MutexGuard<'a, T> = loom::sync::MutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex {
            #[cfg(not(loom))]
            inner: parking_lot::Mutex::new(value),
            #[cfg(loom)]
            inner: loom::sync::Mutex::new(value),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        #[cfg(not(loom))]
        {
            self.inner.lock()
        }
        #[cfg(loom)]
        {
            self.inner.lock().unwrap_or_else(|e| e.into_inner())
        }
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Mutex::new(T::default())
    }
}

impl<T> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Mutex { .. }")
    }
}

/// A condition variable paired with [`Mutex`].
#[derive(Default)]
pub(crate) struct Condvar {
    #[cfg(not(loom))]
    inner: parking_lot::Condvar,
    #[cfg(loom)]
    inner: loom::sync::Condvar,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Blocks until notified; spurious wake-ups are possible, so callers
    /// re-check their condition in a loop.
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        #[cfg(not(loom))]
        {
            let mut guard = guard;
            self.inner.wait(&mut guard);
            guard
        }
        #[cfg(loom)]
        {
            self.inner.wait(guard).unwrap_or_else(|e| e.into_inner())
        }
    }

    /// Blocks until notified or until `deadline`; returns the guard and
    /// whether the deadline passed. Under loom, time does not exist: the wait
    /// behaves like [`Condvar::wait`], so models never rely on a timeout.
    pub(crate) fn wait_until<'a, T>(
        &self,
        guard: MutexGuard<'a, T>,
        deadline: Instant,
    ) -> (MutexGuard<'a, T>, bool) {
        #[cfg(not(loom))]
        {
            let mut guard = guard;
            let timed_out = self.inner.wait_until(&mut guard, deadline).timed_out();
            (guard, timed_out)
        }
        #[cfg(loom)]
        {
            let _ = deadline;
            (self.wait(guard), false)
        }
    }

    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}

impl fmt::Debug for Condvar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Condvar { .. }")
    }
}

/// Pads and aligns a value to its own cache line (128 bytes covers the
/// adjacent-line prefetcher on x86_64 and the 128-byte lines of Apple
/// silicon), so counters written by different threads do not false-share.
#[derive(Default)]
#[repr(align(128))]
pub(crate) struct CachePadded<T>(pub(crate) T);

impl<T> std::ops::Deref for CachePadded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: fmt::Debug> fmt::Debug for CachePadded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
