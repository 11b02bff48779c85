//! The synchronisation facade: every atomic, lock, condition variable, thread
//! and queue the crate uses comes from here.
//!
//! Normal builds get `std`'s atomics and threads, `parking_lot`'s `Mutex` and
//! `Condvar`, and a `crossbeam-channel` queue. Built with
//! `RUSTFLAGS="--cfg loom"` the same names resolve to `loom`'s types, so the
//! model checks in `loom-tests/` explore every interleaving of the crate's
//! real sources, lock-free and lock-based code alike (the tokio approach).
//!
//! The wrappers keep one small API for both worlds: `Mutex::lock` returns the
//! guard directly (no poisoning), and `Condvar::wait` takes and returns the
//! guard by value.

// Not every build uses every item (loom builds, and modules that pick a
// subset); the facade stays complete.
#![allow(dead_code, unused_imports)]

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

/// Threads: spawning, naming, parking, thread-locals.
pub(crate) mod thread {
    #[cfg(not(loom))]
    pub(crate) use std::thread::{current, yield_now, Builder, JoinHandle};
    #[cfg(not(loom))]
    pub(crate) use std::thread_local;

    #[cfg(loom)]
    #[allow(unused_imports)]
    pub(crate) use loom::thread::{current, yield_now};
    #[cfg(loom)]
    pub(crate) use loom_thread_local as thread_local;

    /// loom's `thread_local!` predates `const { .. }` initialisers (its
    /// macro is edition 2018, where `expr` does not match them); this
    /// forwards both forms to it, dropping the `const`.
    #[cfg(loom)]
    macro_rules! loom_thread_local {
        () => {};
        ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }; $($rest:tt)*) => {
            loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
            $crate::sync::thread::thread_local!($($rest)*);
        };
        ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr }) => {
            loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
        };
        ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr; $($rest:tt)*) => {
            loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
            $crate::sync::thread::thread_local!($($rest)*);
        };
        ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = $init:expr) => {
            loom::thread_local!($(#[$attr])* $vis static $name: $t = $init;);
        };
    }
    #[cfg(loom)]
    pub(crate) use loom_thread_local;

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

    /// The value, through a unique borrow: no locking, no atomic operation.
    pub(crate) fn get_mut(&mut self) -> &mut T {
        #[cfg(not(loom))]
        {
            self.inner.get_mut()
        }
        #[cfg(loom)]
        {
            self.inner.get_mut().unwrap_or_else(|e| e.into_inner())
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

/// An unbounded multi-producer multi-consumer queue.
///
/// The pool bounds it from outside (admission counts slots before anything
/// is sent), so it never needs to block a sender.
///
/// It is two channels: a preallocated bounded one sized to the pool's
/// capacity when it was built (at most
/// [`MAIN_CAPACITY_MAX`](queue::MAIN_CAPACITY_MAX)), which costs no
/// allocation per item, and an unbounded overflow that takes only what does
/// not fit (after the pool grew, or beyond the cap). Receivers block only on
/// the main channel; nudges sent through it wake them for the overflow.
/// Items in the overflow may be received out of order with those in the
/// main channel; the pool promises no order.
///
/// Normally both channels are `crossbeam-channel`s (array and list). Under
/// loom, which cannot see inside crossbeam's lock-free structures, each is a
/// `Mutex<VecDeque>` (the bounded one with a `Condvar`) built from the
/// facade's own types, with the same contract. The logic that joins the two
/// channels, where a lost wake-up would hide, is the same code in both
/// builds, so the model checks explore it.
pub(crate) mod queue {
    /// Items that can wake a receiver without carrying work.
    pub(crate) trait Nudge {
        /// An item receivers skip; sent to wake a receiver blocked on the
        /// main channel after an item went to the overflow.
        fn nudge() -> Self;
        /// Whether this item is a nudge.
        fn is_nudge(&self) -> bool;
    }

    /// A preallocated bounded channel: crossbeam's array channel, or the
    /// facade's locked deque under loom.
    pub(crate) use chan::Bounded;

    /// The largest preallocated main channel (items); the rest overflows.
    pub(crate) const MAIN_CAPACITY_MAX: usize = 4096;

    /// The two channel flavours on crossbeam.
    #[cfg(not(loom))]
    mod chan {
        use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};

        /// A preallocated array channel.
        pub(crate) struct Bounded<T> {
            tx: Sender<T>,
            rx: Receiver<T>,
        }

        impl<T> Bounded<T> {
            pub(crate) fn new(capacity: usize) -> Self {
                let (tx, rx) = crossbeam_channel::bounded(capacity);
                Bounded { tx, rx }
            }

            /// Sends unless full; gives the item back when full.
            pub(crate) fn try_send(&self, item: T) -> Result<(), T> {
                match self.tx.try_send(item) {
                    Ok(()) => Ok(()),
                    Err(TrySendError::Full(item)) => Err(item),
                    // Both ends live in this struct: never disconnected.
                    Err(TrySendError::Disconnected(_)) => {
                        unreachable!("the channel holds its own receiver")
                    }
                }
            }

            pub(crate) fn try_recv(&self) -> Option<T> {
                match self.rx.try_recv() {
                    Ok(item) => Some(item),
                    Err(TryRecvError::Empty) => None,
                    Err(TryRecvError::Disconnected) => {
                        unreachable!("the channel holds its own sender")
                    }
                }
            }

            /// Blocks until an item is there.
            pub(crate) fn recv(&self) -> T {
                match self.rx.recv() {
                    Ok(item) => item,
                    Err(_) => unreachable!("the channel holds its own sender"),
                }
            }

            pub(crate) fn len(&self) -> usize {
                self.rx.len()
            }

            pub(crate) fn is_empty(&self) -> bool {
                self.rx.is_empty()
            }
        }

        /// A linked-list channel.
        pub(super) struct Unbounded<T> {
            tx: Sender<T>,
            rx: Receiver<T>,
        }

        impl<T> Unbounded<T> {
            pub(super) fn new() -> Self {
                let (tx, rx) = crossbeam_channel::unbounded();
                Unbounded { tx, rx }
            }

            pub(super) fn send(&self, item: T) {
                if self.tx.send(item).is_err() {
                    unreachable!("the channel holds its own receiver");
                }
            }

            pub(super) fn try_recv(&self) -> Option<T> {
                self.rx.try_recv().ok()
            }

            pub(super) fn is_empty(&self) -> bool {
                self.rx.is_empty()
            }

            pub(super) fn len(&self) -> usize {
                self.rx.len()
            }
        }
    }

    /// The two channel flavours on the facade's loom-checked lock and
    /// condition variable.
    #[cfg(loom)]
    mod chan {
        use super::super::{Condvar, Mutex};
        use std::collections::VecDeque;

        /// A bounded channel: `try_send` refuses when `capacity` items wait.
        pub(crate) struct Bounded<T> {
            items: Mutex<VecDeque<T>>,
            ready: Condvar,
            capacity: usize,
        }

        impl<T> Bounded<T> {
            pub(crate) fn new(capacity: usize) -> Self {
                Bounded {
                    items: Mutex::new(VecDeque::new()),
                    ready: Condvar::new(),
                    capacity,
                }
            }

            pub(crate) fn try_send(&self, item: T) -> Result<(), T> {
                let mut items = self.items.lock();
                if items.len() >= self.capacity {
                    return Err(item);
                }
                items.push_back(item);
                drop(items);
                self.ready.notify_one();
                Ok(())
            }

            pub(crate) fn try_recv(&self) -> Option<T> {
                self.items.lock().pop_front()
            }

            pub(crate) fn recv(&self) -> T {
                let mut items = self.items.lock();
                loop {
                    if let Some(item) = items.pop_front() {
                        return item;
                    }
                    items = self.ready.wait(items);
                }
            }

            pub(crate) fn len(&self) -> usize {
                self.items.lock().len()
            }

            pub(crate) fn is_empty(&self) -> bool {
                self.items.lock().is_empty()
            }
        }

        /// An unbounded channel nobody blocks on.
        pub(super) struct Unbounded<T> {
            items: Mutex<VecDeque<T>>,
        }

        impl<T> Unbounded<T> {
            pub(super) fn new() -> Self {
                Unbounded {
                    items: Mutex::new(VecDeque::new()),
                }
            }

            pub(super) fn send(&self, item: T) {
                self.items.lock().push_back(item);
            }

            pub(super) fn try_recv(&self) -> Option<T> {
                self.items.lock().pop_front()
            }

            pub(super) fn is_empty(&self) -> bool {
                self.items.lock().is_empty()
            }

            pub(super) fn len(&self) -> usize {
                self.items.lock().len()
            }
        }
    }

    pub(crate) struct Queue<T> {
        main: chan::Bounded<T>,
        overflow: chan::Unbounded<T>,
    }

    impl<T: Nudge> Queue<T> {
        /// A queue whose main channel holds `capacity` items (clamped to
        /// `1..=MAIN_CAPACITY_MAX`) without allocating per item.
        pub(crate) fn with_capacity(capacity: usize) -> Self {
            Queue {
                main: chan::Bounded::new(capacity.clamp(1, MAIN_CAPACITY_MAX)),
                overflow: chan::Unbounded::new(),
            }
        }

        /// Never blocks.
        pub(crate) fn send(&self, item: T) {
            let Err(item) = self.main.try_send(item) else {
                return;
            };
            self.overflow.send(item);
            // Receivers block only on the main channel. If every one of them
            // emptied it and went to sleep before our item reached the
            // overflow, wake one: it skips the nudge and looks again. If the
            // main channel is full, this nudge is lost; whoever takes the
            // next item from it sees our item in the overflow and passes
            // the nudge on (`pass_on`).
            let _ = self.main.try_send(T::nudge());
        }

        /// Never blocks.
        pub(crate) fn try_recv(&self) -> Option<T> {
            let item = match self.main.try_recv() {
                Some(item) => item,
                None => self.overflow.try_recv()?,
            };
            self.pass_on(&item);
            Some(item)
        }

        /// Blocks until an item is there. May return a nudge, which the
        /// caller skips.
        pub(crate) fn recv(&self) -> T {
            if let Some(item) = self.try_recv() {
                return item;
            }
            let item = self.main.recv();
            self.pass_on(&item);
            item
        }

        /// Called by a receiver that just took `item`. The receiver may now
        /// stay away for long (a slow task) or for good (a worker told to
        /// retire), while other receivers sleep on the main channel and
        /// work waits in the overflow, whose sender's nudge found the main
        /// channel full. So whoever takes a real item and sees the overflow
        /// non-empty wakes one more receiver. A nudge's taker does not pass
        /// it on: it looks at the overflow itself next, and a nudge that
        /// woke a nudge would keep receivers spinning.
        fn pass_on(&self, item: &T) {
            if !item.is_nudge() && !self.overflow.is_empty() {
                let _ = self.main.try_send(T::nudge());
            }
        }

        pub(crate) fn len(&self) -> usize {
            self.main.len() + self.overflow.len()
        }
    }
}

/// Step `step` of an exponential busy-wait: `2^step` CPU pause hints.
/// Shared by the backoffs that spin before they yield or sleep (a blocked
/// acquire, an idle worker). Loom builds never spin.
#[cfg(not(loom))]
pub(crate) fn spin_step(step: u32) {
    for _ in 0..1u32 << step {
        std::hint::spin_loop();
    }
}

/// Round `round` of a short busy-wait on another thread's store: a CPU
/// pause hint for the first `pauses` rounds, a yield to the scheduler
/// after that. Under loom only the yield exists, so a model lets the other
/// thread run.
pub(crate) fn pause_then_yield(round: u32, pauses: u32) {
    #[cfg(not(loom))]
    if round < pauses {
        std::hint::spin_loop();
        return;
    }
    let _ = (round, pauses);
    thread::yield_now();
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
