//! Where time comes from: [`Clock`], the real [`SystemClock`] and a
//! [`ManualClock`] that only moves when told to.
//!
//! A [`Policy`](crate::Policy) reads its clock to place calls in its
//! sliding window, to tell slow calls from quick ones and to know when its
//! recovery period is over. Give it a [`ManualClock`] and every one of
//! those decisions becomes deterministic: a test advances time exactly
//! where it wants, with no sleeps. A [`CoarseClock`] trades precision for
//! speed: reading it is one atomic load.

use std::fmt::{self, Debug};
use std::time::{Duration, Instant};

use crate::error::BuildError;
use crate::sync::{thread, Arc, AtomicU64, Condvar, Mutex, Ordering};

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

/// A clock read from memory: a background thread stores the time every
/// `resolution`, and [`now`](Clock::now) is one atomic load. Readings lag
/// the real time by up to `resolution` (plus scheduling delays) and move
/// in steps; they never go backwards.
///
/// For policies on hot paths where two reads of the system clock per call
/// cost more than the call: slow calls are then measured to within
/// `resolution`, which is plenty for thresholds of seconds. One clock (and
/// one thread, named `bulkheads-clock`) can serve every policy: share it in
/// an `Arc`. The thread stops when the clock is dropped.
///
/// # Examples
///
/// ```
/// use bulkheads::{Clock, CoarseClock, Policy};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let clock = Arc::new(CoarseClock::start(Duration::from_millis(1))?);
/// let policy = Policy::builder("search").clock(clock.clone()).build()?;
/// assert_eq!(policy.call(|| Ok::<_, ()>(1)).ok(), Some(1));
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
pub struct CoarseClock {
    /// The time the ticker stores and readers load.
    ticks: Arc<Ticks>,
    /// Tells the ticker to stop.
    stop: Arc<Stop>,
    /// The ticker, joined on drop.
    ticker: Option<thread::JoinHandle<()>>,
}

/// What the ticker shares with readers.
struct Ticks {
    /// The instant readings count from; never changes.
    start: Instant,
    /// Nanoseconds from `start` at the last tick. Written by the ticker
    /// only, read by every `now`.
    nanos: AtomicU64,
}

/// The ticker's stop signal.
struct Stop {
    /// Set once by the clock's `Drop`; read by the ticker.
    stopped: Mutex<bool>,
    /// The ticker sleeps here between ticks; `Drop` notifies.
    wake: Condvar,
}

impl CoarseClock {
    /// The shortest resolution; shorter ones are raised to it.
    pub const MIN_RESOLUTION: Duration = Duration::from_micros(100);

    /// Starts the ticker thread, storing the time every `resolution` (at
    /// least [`MIN_RESOLUTION`](Self::MIN_RESOLUTION)).
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`Spawn`](crate::BuildErrorKind::Spawn) when
    /// the thread could not be started.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Clock, CoarseClock};
    /// use std::time::Duration;
    ///
    /// let clock = CoarseClock::start(Duration::from_millis(1))?;
    /// let t0 = clock.now();
    /// while clock.now() == t0 {
    ///     std::thread::yield_now(); // the ticker moves it
    /// }
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn start(resolution: Duration) -> Result<CoarseClock, BuildError> {
        let resolution = resolution.max(Self::MIN_RESOLUTION);
        let ticks = Arc::new(Ticks {
            start: Instant::now(),
            nanos: AtomicU64::new(0),
        });
        let stop = Arc::new(Stop {
            stopped: Mutex::new(false),
            wake: Condvar::new(),
        });
        let ticker = {
            let (ticks, stop) = (Arc::clone(&ticks), Arc::clone(&stop));
            thread::Builder::new()
                .name(String::from("bulkheads-clock"))
                .spawn(move || tick(&ticks, &stop, resolution))
                .map_err(|err| BuildError::spawn("bulkheads-clock", err))?
        };
        Ok(CoarseClock {
            ticks,
            stop,
            ticker: Some(ticker),
        })
    }
}

/// The ticker's loop: store the time every `resolution` until stopped. A
/// resolution too long to add to an instant means no tick ever comes due:
/// the ticker then only waits to be stopped.
fn tick(ticks: &Ticks, stop: &Stop, resolution: Duration) {
    let mut next = Instant::now().checked_add(resolution);
    let mut stopped = stop.stopped.lock();
    while !*stopped {
        let Some(due) = next else {
            stopped = stop.wake.wait(stopped);
            continue;
        };
        let (guard, timed_out) = stop.wake.wait_until(stopped, due);
        stopped = guard;
        if timed_out {
            let now = Instant::now();
            let nanos = now.saturating_duration_since(ticks.start).as_nanos();
            // Relaxed: one writer storing growing values; readers want the
            // value alone and publish nothing through it.
            ticks
                .nanos
                .store(u64::try_from(nanos).unwrap_or(u64::MAX), Ordering::Relaxed);
            next = due.checked_add(resolution).map(|n| n.max(now));
        }
    }
}

impl Clock for CoarseClock {
    fn now(&self) -> Instant {
        // Relaxed: see `tick`.
        let nanos = self.ticks.nanos.load(Ordering::Relaxed);
        self.ticks.start + Duration::from_nanos(nanos)
    }
}

impl Drop for CoarseClock {
    fn drop(&mut self) {
        *self.stop.stopped.lock() = true;
        self.stop.wake.notify_all();
        if let Some(ticker) = self.ticker.take() {
            // The ticker only waits and stores; it cannot panic, and a
            // debug build checks that it did not.
            let joined = ticker.join();
            debug_assert!(joined.is_ok(), "the clock's ticker panicked");
        }
    }
}

impl Debug for CoarseClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CoarseClock")
            .field("now", &self.now())
            .finish()
    }
}
