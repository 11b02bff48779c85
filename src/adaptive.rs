//! [`Adaptive`]: moves a bulkhead's limit toward a target utilization.
//!
//! The rule (the seed's): take the mean utilization over an interval; above
//! `target + 0.1`, grow the limit by half (×1.5, rounded up); below
//! `target - 0.1`, shrink it by a fifth (×0.8, rounded down); clamp to
//! `[min, max]`. The rule is computed in integers (`⌈3n/2⌉`, `⌊4n/5⌋`), so
//! it is exact and deterministic, and every step moves by at least one.
//!
//! The limit is changed on the live bulkhead:
//! [`SemaphoreBulkhead::set_max_concurrent`] or
//! [`ThreadPoolBulkhead::set_threads`]. Neither drains nor swaps anything,
//! so no permit or task is lost or duplicated by a resize.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{BuildError, BuildErrorKind};
use crate::semaphore::SemaphoreBulkhead;
use crate::sync::{thread, Condvar, Mutex};
use crate::thread_pool::ThreadPoolBulkhead;

/// The utilization [`Adaptive`] steers toward unless told otherwise.
const DEFAULT_TARGET: f64 = 0.7;
/// How far from the target the mean may stray before the limit moves.
const BAND: f64 = 0.1;
/// Slack for floating-point rounding at the band's edges: `0.7 + 0.1` is
/// `0.7999999999999999` in `f64`, and a mean of exactly 0.8 must not grow.
const EPSILON: f64 = 1e-9;
/// How many utilization samples the driver takes per interval.
const SAMPLES_PER_TICK: u32 = 10;

/// The bulkhead whose limit is driven.
#[derive(Debug, Clone)]
enum Driven {
    Semaphore(Arc<SemaphoreBulkhead>),
    ThreadPool(Arc<ThreadPoolBulkhead>),
}

/// Samples recorded since the last tick.
#[derive(Debug, Default)]
struct Samples {
    sum: f64,
    count: u32,
}

/// Drives the limit of a [`SemaphoreBulkhead`] or the thread count of a
/// [`ThreadPoolBulkhead`] between `min` and `max` toward a target
/// utilization (default 0.7).
///
/// Feed it utilization samples with [`record`](Self::record) (or let
/// [`sample`](Self::sample) read the bulkhead's own), then call
/// [`tick`](Self::tick) once per interval: it applies the rule to the mean
/// of the samples and resizes the bulkhead:
///
/// * mean > target + 0.1: grow ×1.5 (rounded up, at least +1);
/// * mean < target − 0.1: shrink ×0.8 (rounded down, at least −1);
/// * otherwise keep the limit (the band's edges, 0.8 and 0.6 for the
///   default target, count as inside);
/// * then clamp to `[min, max]`.
///
/// Ticks are deterministic: no clock is involved, so tests need no time.
/// For production, [`start`](Self::start) runs a background thread that
/// samples ten times per interval and ticks once per interval, until its
/// [`AdaptiveDriver`] is dropped.
///
/// # Examples
///
/// ```
/// use bulkheads::{Adaptive, SemaphoreBulkhead};
/// use std::sync::Arc;
///
/// let checkout = Arc::new(SemaphoreBulkhead::new("checkout", 10));
/// let adaptive = Adaptive::for_semaphore(checkout.clone(), 2, 40).target(0.7);
///
/// adaptive.record(0.9);
/// adaptive.record(1.0);
/// assert_eq!(adaptive.tick()?, 15);         // mean 0.95 > 0.8: ×1.5
/// assert_eq!(checkout.max_concurrent(), 15);
///
/// assert_eq!(adaptive.tick_with(0.2)?, 12); // 0.2 < 0.6: ×0.8
/// assert_eq!(adaptive.tick_with(0.7)?, 12); // inside the band: kept
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
pub struct Adaptive {
    /// The bulkhead resized. Fixed at construction.
    driven: Driven,
    /// Lower bound of the limit. Fixed before the value is shared.
    min: usize,
    /// Upper bound of the limit. Fixed before the value is shared.
    max: usize,
    /// The utilization steered toward. Fixed before the value is shared.
    target: f64,
    /// Samples since the last tick. Written by `record`/`sample` (callers
    /// and the driver thread), taken and reset by `tick`; all under the lock.
    samples: Mutex<Samples>,
}

// Unwind safety: the samples change under their lock by plain arithmetic
// (no user code), the lock does not poison, and the driven bulkhead is
// unwind safe itself.
impl std::panic::UnwindSafe for Adaptive {}
impl std::panic::RefUnwindSafe for Adaptive {}

impl Adaptive {
    /// Whether the driven bulkhead can no longer be resized (a shut-down
    /// pool; a semaphore never is).
    fn driven_is_shut_down(&self) -> bool {
        match &self.driven {
            Driven::Semaphore(_) => false,
            Driven::ThreadPool(pool) => pool.is_shut_down(),
        }
    }

    fn new(driven: Driven, min: usize, max: usize) -> Self {
        Adaptive {
            driven,
            min,
            max: max.max(min),
            target: DEFAULT_TARGET,
            samples: Mutex::new(Samples::default()),
        }
    }

    /// Drives `bulkhead`'s limit ([`SemaphoreBulkhead::set_max_concurrent`])
    /// between `min` and `max`. A `max` below `min` is raised to `min`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Adaptive, SemaphoreBulkhead};
    /// use std::sync::Arc;
    ///
    /// let db = Arc::new(SemaphoreBulkhead::new("db", 8));
    /// let adaptive = Adaptive::for_semaphore(db, 4, 32);
    /// assert_eq!((adaptive.min(), adaptive.max(), adaptive.limit()), (4, 32, 8));
    /// ```
    pub fn for_semaphore(bulkhead: Arc<SemaphoreBulkhead>, min: usize, max: usize) -> Self {
        Self::new(Driven::Semaphore(bulkhead), min, max)
    }

    /// Drives `pool`'s thread count ([`ThreadPoolBulkhead::set_threads`])
    /// between `min` and `max`. A pool needs a thread, so a `min` of 0 is
    /// raised to 1, and a `max` below `min` to `min`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Adaptive, ThreadPoolBulkhead};
    /// use std::sync::Arc;
    ///
    /// let pool = Arc::new(ThreadPoolBulkhead::builder("search").threads(4).build()?);
    /// let adaptive = Adaptive::for_thread_pool(pool.clone(), 0, 16);
    /// assert_eq!(adaptive.min(), 1);
    /// assert_eq!(adaptive.tick_with(1.0)?, 6);
    /// assert_eq!(pool.stats().threads, 6);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn for_thread_pool(pool: Arc<ThreadPoolBulkhead>, min: usize, max: usize) -> Self {
        Self::new(Driven::ThreadPool(pool), min.max(1), max)
    }

    /// The utilization to steer toward, between 0.0 and 1.0. Default: 0.7.
    /// Values outside are clamped; NaN keeps the default.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Adaptive, SemaphoreBulkhead};
    /// use std::sync::Arc;
    ///
    /// let b = Arc::new(SemaphoreBulkhead::new("db", 10));
    /// let adaptive = Adaptive::for_semaphore(b, 1, 100).target(0.5);
    /// assert_eq!(adaptive.target_utilization(), 0.5);
    /// assert_eq!(adaptive.tick_with(0.65)?, 15); // above 0.5 + 0.1
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn target(mut self, utilization: f64) -> Self {
        if !utilization.is_nan() {
            self.target = utilization.clamp(0.0, 1.0);
        }
        self
    }

    /// The lower bound of the limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// assert_eq!(bulkheads::Adaptive::for_semaphore(b, 3, 9).min(), 3);
    /// ```
    pub fn min(&self) -> usize {
        self.min
    }

    /// The upper bound of the limit.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// assert_eq!(bulkheads::Adaptive::for_semaphore(b, 3, 9).max(), 9);
    /// ```
    pub fn max(&self) -> usize {
        self.max
    }

    /// The utilization steered toward.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// assert_eq!(bulkheads::Adaptive::for_semaphore(b, 1, 9).target_utilization(), 0.7);
    /// ```
    pub fn target_utilization(&self) -> f64 {
        self.target
    }

    /// The driven bulkhead's current limit: permits for a semaphore,
    /// configured threads for a pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// assert_eq!(bulkheads::Adaptive::for_semaphore(b, 1, 20).limit(), 10);
    /// ```
    pub fn limit(&self) -> usize {
        match &self.driven {
            Driven::Semaphore(b) => b.max_concurrent(),
            Driven::ThreadPool(p) => p.stats().threads,
        }
    }

    /// The driven bulkhead's name.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// assert_eq!(bulkheads::Adaptive::for_semaphore(b, 1, 20).name(), "db");
    /// ```
    pub fn name(&self) -> &str {
        match &self.driven {
            Driven::Semaphore(b) => b.name(),
            Driven::ThreadPool(p) => p.name(),
        }
    }

    /// Records one utilization sample (e.g. 0.85 for 85%) for the next
    /// [`tick`](Self::tick). NaN is ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// let adaptive = bulkheads::Adaptive::for_semaphore(b, 1, 20);
    /// adaptive.record(0.1);
    /// adaptive.record(0.3);
    /// assert_eq!(adaptive.tick()?, 8); // mean 0.2: shrink
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn record(&self, utilization: f64) {
        if utilization.is_nan() {
            return;
        }
        let mut samples = self.samples.lock();
        samples.sum += utilization;
        samples.count = samples.count.saturating_add(1);
    }

    /// Reads the bulkhead's utilization now (its `stats().utilization()`),
    /// records it as a sample, and returns it.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Adaptive, SemaphoreBulkhead};
    /// use std::sync::Arc;
    ///
    /// let b = Arc::new(SemaphoreBulkhead::new("db", 4));
    /// let adaptive = Adaptive::for_semaphore(b.clone(), 1, 8);
    /// let held: Vec<_> = (0..4).map(|_| b.acquire()).collect();
    /// assert_eq!(adaptive.sample(), 1.0);
    /// drop(held);
    /// assert_eq!(adaptive.tick()?, 6); // the recorded 1.0: grow
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn sample(&self) -> f64 {
        let utilization = self.current_utilization();
        self.record(utilization);
        utilization
    }

    fn current_utilization(&self) -> f64 {
        match &self.driven {
            Driven::Semaphore(b) => b.stats().utilization(),
            Driven::ThreadPool(p) => p.stats().utilization(),
        }
    }

    /// The limit the rule picks for a bulkhead at limit `current` with mean
    /// utilization `mean`, clamped to `[min, max]`. Pure: changes nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// let adaptive = bulkheads::Adaptive::for_semaphore(b, 2, 40);
    /// assert_eq!(adaptive.next_limit(10, 0.95), 15);
    /// assert_eq!(adaptive.next_limit(10, 0.10), 8);
    /// assert_eq!(adaptive.next_limit(10, 0.70), 10);
    /// assert_eq!(adaptive.next_limit(30, 0.95), 40); // clamped to max
    /// assert_eq!(adaptive.next_limit(2, 0.0), 2);    // clamped to min
    /// ```
    pub fn next_limit(&self, current: usize, mean: f64) -> usize {
        let next = if mean > self.target + BAND + EPSILON {
            // ⌈1.5 n⌉, and at least n + 1 so a limit of 0 or 1 can grow.
            let grown = current.saturating_mul(3).saturating_add(1) / 2;
            grown.max(current.saturating_add(1))
        } else if mean < self.target - BAND - EPSILON {
            // ⌊0.8 n⌋, and at least n - 1 so small limits still shrink.
            let shrunk = (current as u128 * 4 / 5) as usize;
            shrunk.min(current.saturating_sub(1))
        } else {
            current
        };
        next.clamp(self.min, self.max)
    }

    /// Applies the rule to the mean of the samples recorded since the last
    /// tick (with none recorded, to one [`sample`](Self::sample) taken
    /// now), resizes the bulkhead if the limit changes, forgets the
    /// samples, and returns the new limit.
    ///
    /// # Errors
    ///
    /// Only for a thread pool: what [`ThreadPoolBulkhead::set_threads`]
    /// reports (the pool was shut down, or a thread could not be started).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// let adaptive = bulkheads::Adaptive::for_semaphore(b.clone(), 1, 12);
    /// adaptive.record(1.0);
    /// assert_eq!(adaptive.tick()?, 12); // 15, clamped to max
    /// assert_eq!(b.max_concurrent(), 12);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn tick(&self) -> Result<usize, BuildError> {
        let taken = std::mem::take(&mut *self.samples.lock());
        let mean = if taken.count == 0 {
            self.current_utilization()
        } else {
            taken.sum / f64::from(taken.count)
        };
        let current = self.limit();
        let next = self.next_limit(current, mean);
        if next != current {
            match &self.driven {
                Driven::Semaphore(b) => b.set_max_concurrent(next),
                Driven::ThreadPool(p) => p.set_threads(next)?,
            }
        }
        Ok(next)
    }

    /// Records `utilization` and ticks: with no other samples recorded,
    /// the rule applies to this one value.
    ///
    /// # Errors
    ///
    /// As [`tick`](Self::tick).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// let adaptive = bulkheads::Adaptive::for_semaphore(b, 1, 100);
    /// assert_eq!(adaptive.tick_with(0.9)?, 15);
    /// assert_eq!(adaptive.tick_with(0.9)?, 23);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn tick_with(&self, utilization: f64) -> Result<usize, BuildError> {
        self.record(utilization);
        self.tick()
    }

    /// Starts a background thread named `{bulkhead}-adaptive` that takes
    /// ten [`sample`](Self::sample)s per `interval` and
    /// [`tick`](Self::tick)s once per `interval`. It stops when the
    /// returned [`AdaptiveDriver`] is dropped (within one sampling step,
    /// never a whole interval late), or when the driven pool is shut down.
    /// An interval under 10 ms is raised to 10 ms.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`Spawn`](BuildErrorKind::Spawn) if the
    /// thread could not be started.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Adaptive, SemaphoreBulkhead};
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let b = Arc::new(SemaphoreBulkhead::new("db", 10));
    /// let driver = Adaptive::for_semaphore(b.clone(), 2, 50).start(Duration::from_secs(1))?;
    /// assert_eq!(driver.adaptive().name(), "db");
    /// drop(driver); // stops and joins the thread promptly
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn start(self, interval: Duration) -> Result<AdaptiveDriver, BuildError> {
        let adaptive = Arc::new(self);
        let stop = Arc::new(Stop {
            stopped: Mutex::new(false),
            wake: Condvar::new(),
        });
        let step = interval.max(Duration::from_millis(10)) / SAMPLES_PER_TICK;
        let name = adaptive.name().to_owned();
        let thread = {
            let adaptive = Arc::clone(&adaptive);
            let stop = Arc::clone(&stop);
            thread::Builder::new()
                // `SemaphoreBulkhead::new` takes any name; a NUL would make
                // std's thread builder panic, so it is left out here.
                .name(format!("{}-adaptive", name.replace('\0', "")))
                .spawn(move || drive(&adaptive, &stop, step))
                .map_err(|err| BuildError::spawn(&name, err))?
        };
        Ok(AdaptiveDriver {
            adaptive,
            stop,
            thread: Some(thread),
        })
    }
}

/// The driver thread's loop: sample every `step`, tick every
/// `SAMPLES_PER_TICK` samples, until stopped.
fn drive(adaptive: &Adaptive, stop: &Stop, step: Duration) {
    let mut next = Instant::now() + step;
    let mut taken = 0;
    loop {
        let mut stopped = stop.stopped.lock();
        while !*stopped {
            let (guard, timed_out) = stop.wake.wait_until(stopped, next);
            stopped = guard;
            if timed_out {
                break;
            }
        }
        if *stopped {
            return;
        }
        drop(stopped);
        if adaptive.driven_is_shut_down() {
            return; // nothing left to size
        }
        adaptive.sample();
        taken += 1;
        if taken == SAMPLES_PER_TICK {
            taken = 0;
            if let Err(err) = adaptive.tick() {
                if err.kind() == BuildErrorKind::ShutDown {
                    return; // nothing left to size
                }
                // A refused thread spawn: try again next interval.
            }
        }
        // Schedule from the previous deadline (no drift), but never in
        // the past after a slow step.
        next = (next + step).max(Instant::now());
    }
}

/// The driver's stop signal.
struct Stop {
    /// Set once by the driver handle's `Drop`; read by the driver thread.
    stopped: Mutex<bool>,
    /// The driver thread sleeps here between samples; `Drop` notifies.
    wake: Condvar,
}

impl fmt::Debug for Adaptive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Adaptive")
            .field("bulkhead", &self.name())
            .field("min", &self.min)
            .field("max", &self.max)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

/// The handle of an [`Adaptive`] background driver from
/// [`Adaptive::start`]. Dropping it stops the driver thread and waits for
/// it to finish (at most one sampling step).
///
/// # Examples
///
/// ```
/// use bulkheads::{Adaptive, ThreadPoolBulkhead};
/// use std::{sync::Arc, time::Duration};
///
/// let pool = Arc::new(ThreadPoolBulkhead::builder("search").threads(2).build()?);
/// let driver = Adaptive::for_thread_pool(pool, 1, 8).start(Duration::from_millis(100))?;
/// // Manual ticks still work while the driver runs.
/// driver.adaptive().tick_with(0.7)?;
/// driver.stop();
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
pub struct AdaptiveDriver {
    /// Shared with the driver thread, which samples and ticks it.
    adaptive: Arc<Adaptive>,
    /// Shared with the driver thread: the stop signal.
    stop: Arc<Stop>,
    /// The driver thread, joined on drop.
    thread: Option<thread::JoinHandle<()>>,
}

impl AdaptiveDriver {
    /// The [`Adaptive`] being driven, for inspection or manual ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// let driver = bulkheads::Adaptive::for_semaphore(b, 1, 20).start(Duration::from_secs(1))?;
    /// assert_eq!(driver.adaptive().max(), 20);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn adaptive(&self) -> &Adaptive {
        &self.adaptive
    }

    /// Stops the driver thread and waits for it (the same as dropping the
    /// handle).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{sync::Arc, time::Duration};
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 10));
    /// let driver = bulkheads::Adaptive::for_semaphore(b, 1, 20).start(Duration::from_secs(60))?;
    /// driver.stop(); // returns promptly, not after a minute
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for AdaptiveDriver {
    fn drop(&mut self) {
        *self.stop.stopped.lock() = true;
        self.stop.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            // A panic in the driver (none is expected) is not re-raised
            // from a destructor.
            let _ = thread.join();
        }
    }
}

impl fmt::Debug for AdaptiveDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdaptiveDriver")
            .field("adaptive", &self.adaptive)
            .finish_non_exhaustive()
    }
}
