//! Where time comes from: [`Clock`], the real [`SystemClock`] and a
//! [`ManualClock`] that only moves when told to.
//!
//! A [`Policy`](crate::Policy) reads its clock to place calls in its
//! sliding window, to tell slow calls from quick ones and to know when its
//! recovery period is over. Give it a [`ManualClock`] and every one of
//! those decisions becomes deterministic: a test advances time exactly
//! where it wants, with no sleeps.

use std::fmt::Debug;
use std::time::{Duration, Instant};

use crate::sync::{AtomicU64, Ordering};

/// A source of monotonic time.
///
/// Implementations must never go backwards: a later call to [`now`](Clock::now)
/// returns an instant equal to or after an earlier one, also across threads.
///
/// # Examples
///
/// ```
/// use bulkheads::{Clock, ManualClock, SystemClock};
/// use std::time::Duration;
///
/// let real = SystemClock;
/// assert!(real.now() <= real.now());
///
/// let manual = ManualClock::new();
/// let start = manual.now();
/// manual.advance(Duration::from_secs(5));
/// assert_eq!(manual.now() - start, Duration::from_secs(5));
/// ```
pub trait Clock: Send + Sync + Debug {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The operating system's monotonic clock ([`Instant::now`]); the default
/// clock of every policy.
///
/// # Examples
///
/// ```
/// use bulkheads::{Clock, SystemClock};
///
/// let before = SystemClock.now();
/// assert!(SystemClock.now() >= before);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that stands still until [`advance`](ManualClock::advance) moves
/// it: deterministic time for tests of policies (and anything else that
/// takes a [`Clock`]).
///
/// It is shared by reference: wrap it in an `Arc`, hand a clone to the
/// builder, keep one to advance.
///
/// # Examples
///
/// ```
/// use bulkheads::{Clock, ManualClock};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let clock = Arc::new(ManualClock::new());
/// let shared: Arc<dyn Clock> = clock.clone(); // what a builder takes
/// let before = shared.now();
/// clock.advance(Duration::from_millis(250));
/// assert_eq!(shared.now().duration_since(before), Duration::from_millis(250));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    /// The instant the clock started at; never changes.
    start: Instant,
    /// Nanoseconds advanced since `start`. Written by `advance`, read by
    /// `now`, from any thread.
    elapsed_nanos: AtomicU64,
}

impl ManualClock {
    /// A clock standing at the current real instant, to be moved only by
    /// [`advance`](ManualClock::advance).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Clock, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// assert_eq!(clock.now(), clock.now()); // it does not move by itself
    /// ```
    pub fn new() -> Self {
        ManualClock {
            start: Instant::now(),
            elapsed_nanos: AtomicU64::new(0),
        }
    }

    /// Moves the clock forward by `by`. Time adds up across calls and
    /// threads; it saturates after about 584 years instead of wrapping.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Clock, ManualClock};
    /// use std::time::Duration;
    ///
    /// let clock = ManualClock::new();
    /// let t0 = clock.now();
    /// clock.advance(Duration::from_secs(1));
    /// clock.advance(Duration::from_millis(500));
    /// assert_eq!(clock.now() - t0, Duration::from_millis(1500));
    /// ```
    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        // Relaxed: the clock is one counter; nothing else is published
        // through it, and every read sees some value of that counter.
        let _ = self
            .elapsed_nanos
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some(n.saturating_add(by))
            });
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        ManualClock::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        // Relaxed: see `advance`; a single counter, read on its own.
        let nanos = self.elapsed_nanos.load(Ordering::Relaxed);
        let offset = Duration::from_nanos(nanos);
        self.start.checked_add(offset).unwrap_or(self.start)
    }
}
