//! Semaphore isolation: [`SemaphoreBulkhead`] limits how many calls run at
//! once on the callers' own threads, with no extra threads.
//!
//! # Design
//!
//! The count of held permits and the limit live in one [`Slots`] word, so
//! an uncontended `try_acquire` is one compare-and-swap and a release one
//! `fetch_sub`: no lock, no allocation. Callers that wait park through the
//! facade (`Slots::acquire_until`), whose sleeper flag shares the word with
//! the count, so a release can never slip between a waiter's check and its
//! sleep.
//!
//! **Fair mode** (`fair(true)`) adds a FIFO queue of waiter tickets behind
//! a facade `Mutex`, one facade `Condvar` per waiter, and one invariant:
//!
//! > while the queue is not empty, `count >= limit`.
//!
//! Everything that lowers the count or raises the limit runs under the
//! queue lock and keeps the invariant: a release with a waiter queued hands
//! its permit straight to the oldest waiter (the count does not move), and
//! a grow first hands the new room to queued waiters, in order, and only
//! then raises the limit. A waiter queues itself under the same lock, only
//! after a `try_acquire` failed. So the lock-free `try_acquire` (whose CAS
//! admits only while `count < limit`) can never overtake a queued waiter:
//! no barging, and no lock on the fair `try_acquire` either. A fair
//! *release* takes the queue lock, which is the price of the hand-off.
//!
//! **Resizing** only ever changes the limit in the word. Shrinking never
//! waits: holders above the new limit keep their permits and release them
//! normally; the CAS admits nobody until the count is under the new limit.
//! Growing wakes waiters at once (the sleeper flag in unfair mode, the
//! hand-off in fair mode). No permit is created or destroyed by a resize:
//! the count is only moved by acquires and releases.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::admission::{Refused, Slots, MAX_SLOTS};
use crate::error::{BuildError, BuildErrorKind, RejectReason, Rejected};
use crate::stats::SemaphoreStats;
use crate::sync::{AtomicBool, AtomicUsize, CachePadded, Condvar, Mutex, Ordering};

/// The limit [`SemaphoreBuilder`] uses when
/// [`max_concurrent`](SemaphoreBuilder::max_concurrent) is not called (the
/// Resilience4j default).
const DEFAULT_MAX_CONCURRENT: usize = 25;

/// A bulkhead that limits concurrent calls on the caller's own thread.
///
/// Each caller takes a permit before its call and gives it back after;
/// when all `max_concurrent` permits are held, the next caller is refused
/// at once (or waits up to the configured `max_wait`, see
/// [`SemaphoreBuilder::max_wait`]) and gets a [`Rejected`] back, never a
/// panic. Permits release on drop, also while unwinding from a panic.
///
/// * [`new`](Self::new) builds a fail-fast bulkhead (no waiting, unfair);
///   [`builder`](Self::builder) configures the wait and fairness.
/// * A limit of 0 is valid: a closed compartment that refuses every call
///   until raised with [`set_max_concurrent`](Self::set_max_concurrent)
///   (a kill switch).
/// * Resizing is live and never loses or duplicates a permit; shrinking
///   never waits for holders.
///
/// # Examples
///
/// ```
/// use bulkheads::{RejectReason, SemaphoreBulkhead};
///
/// let checkout = SemaphoreBulkhead::new("checkout", 2);
/// let a = checkout.try_acquire()?;
/// let b = checkout.try_acquire()?;
/// let refused = checkout.try_acquire().unwrap_err();
/// assert_eq!(refused.reason(), RejectReason::Full);
/// drop(a); // a permit releases on drop
///
/// let total = checkout.call(|| 19 + 23);
/// assert_eq!(total.ok(), Some(42));
/// drop(b);
/// assert_eq!(checkout.stats().active, 0);
/// # Ok::<(), bulkheads::Rejected<()>>(())
/// ```
pub struct SemaphoreBulkhead {
    /// Fixed at construction; read by `name()` and `stats()`, and cloned
    /// (a reference count, no allocation) into every [`Rejected`].
    name: std::sync::Arc<str>,
    /// The packed count (permits held) and limit. The count is written by
    /// acquirers and releasers, the limit by `set_max_concurrent`; read by
    /// all of them and by `stats()`.
    slots: Slots,
    /// The FIFO hand-off of fair mode; `None` for an unfair bulkhead. Fixed
    /// at construction.
    fair: Option<Fair>,
    /// How long `call` waits for a permit. Fixed at construction.
    max_wait: Duration,
    /// Permits granted. Written by every successful acquire, read by
    /// `stats()`. On its own cache line so acquirers do not false-share it
    /// with the admission word.
    permitted: CachePadded<AtomicUsize>,
    /// Acquisitions refused. Written by refused callers, read by `stats()`.
    rejected: AtomicUsize,
}

/// The FIFO queue of fair mode.
struct Fair {
    /// The waiter queue, oldest first. Written by waiters (join, give up on
    /// timeout), releasers (hand-off) and resizers (hand-off on grow), all
    /// under this lock; read under it by the same parties.
    queue: Mutex<FairQueue>,
    /// How many waiters are queued. Written under `queue` by whoever
    /// changes its length; read by `stats()` without the lock (Relaxed).
    waiting: AtomicUsize,
}

#[derive(Default)]
struct FairQueue {
    /// Waiters in arrival order.
    waiters: VecDeque<crate::sync::Arc<Waiter>>,
    /// The next ticket to hand out; identifies a waiter for removal.
    next_ticket: u64,
}

/// One parked fair waiter.
struct Waiter {
    /// Identifies this waiter in the queue. Fixed at creation.
    ticket: u64,
    /// Set when a releaser or resizer handed this waiter a permit. Written
    /// and read only under the `Fair::queue` lock, which orders every
    /// access, so Relaxed.
    granted: AtomicBool,
    /// The waiter sleeps here (with the `Fair::queue` lock); the party that
    /// grants it notifies.
    wake: Condvar,
}

impl Fair {
    fn new() -> Self {
        Fair {
            queue: Mutex::new(FairQueue::default()),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Pops the oldest waiter and hands it the permit the caller arranged
    /// for it. Must be called under the queue lock.
    fn grant_head(&self, queue: &mut FairQueue) -> bool {
        match queue.waiters.pop_front() {
            Some(waiter) => {
                // Relaxed: under the queue lock (see `Waiter::granted`).
                waiter.granted.store(true, Ordering::Relaxed);
                // Relaxed: a statistic, written under the lock.
                self.waiting.store(queue.waiters.len(), Ordering::Relaxed);
                waiter.wake.notify_one();
                true
            }
            None => false,
        }
    }

    /// Waits in line for a permit until `deadline`. The caller has already
    /// failed one lock-free `try_acquire`.
    fn acquire(&self, slots: &Slots, deadline: Option<Instant>) -> Result<(), Refused> {
        let mut queue = self.queue.lock();
        // Under the lock, so no release can run between this check and our
        // queueing: if it fails, every later release sees us in the queue.
        match slots.try_acquire() {
            Err(Refused::Full) => {}
            done => return done,
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Refused::Full);
        }
        let ticket = queue.next_ticket;
        queue.next_ticket = queue.next_ticket.wrapping_add(1);
        let waiter = crate::sync::Arc::new(Waiter {
            ticket,
            granted: AtomicBool::new(false),
            wake: Condvar::new(),
        });
        queue.waiters.push_back(waiter.clone());
        // Relaxed: a statistic, written under the lock.
        self.waiting.store(queue.waiters.len(), Ordering::Relaxed);
        loop {
            let timed_out = match deadline {
                None => {
                    queue = waiter.wake.wait(queue);
                    false
                }
                Some(deadline) => {
                    let (q, timed_out) = waiter.wake.wait_until(queue, deadline);
                    queue = q;
                    timed_out
                }
            };
            // Relaxed: under the queue lock, like the store that granted it.
            if waiter.granted.load(Ordering::Relaxed) {
                return Ok(());
            }
            if timed_out {
                // Not granted, so still queued: leave the line. Removing a
                // waiter keeps the invariant (the count is untouched).
                queue.waiters.retain(|w| w.ticket != ticket);
                // Relaxed: a statistic, written under the lock.
                self.waiting.store(queue.waiters.len(), Ordering::Relaxed);
                return Err(Refused::Full);
            }
            // A spurious wake-up: sleep again.
        }
    }

    /// Gives a permit back: to the oldest waiter if the permit would leave
    /// room under the limit, else to the counter.
    fn release(&self, slots: &Slots) {
        let mut queue = self.queue.lock();
        let now = slots.snapshot();
        // `count <= capacity` means the count after a release would be
        // under the limit: there is room, and it belongs to the head of the
        // queue. Above the limit (after a shrink) the permit is retired.
        if now.count <= now.capacity && self.grant_head(&mut queue) {
            return; // handed off: the count stays, the waiter owns the slot
        }
        slots.release();
    }

    /// Changes the limit, handing new room to queued waiters first.
    fn resize(&self, slots: &Slots, capacity: usize) {
        let mut queue = self.queue.lock();
        // While the queue is not empty, count >= old limit, so no lock-free
        // acquirer can take a slot during this loop: only we move the count.
        while !queue.waiters.is_empty() && slots.snapshot().count < capacity {
            if slots.force_acquire().is_err() {
                break; // unreachable: semaphores never close or saturate
            }
            self.grant_head(&mut queue);
        }
        // Either the queue is empty or count >= the new limit: the
        // invariant holds as the limit changes.
        slots.set_capacity(capacity);
    }
}

impl SemaphoreBulkhead {
    /// A fail-fast, unfair bulkhead named `name` admitting `max_concurrent`
    /// calls at once: [`call`](Self::call) never waits.
    ///
    /// `new` never fails: the name is used as given (an empty name is
    /// accepted here; use [`builder`](Self::builder) to have it rejected),
    /// and a limit above 2^30 - 1 is clamped to that maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::SemaphoreBulkhead;
    ///
    /// let checkout = SemaphoreBulkhead::new("checkout", 50);
    /// assert_eq!((checkout.name(), checkout.max_concurrent()), ("checkout", 50));
    /// ```
    pub fn new(name: impl Into<String>, max_concurrent: usize) -> Self {
        Self::from_parts(name.into(), max_concurrent, Duration::ZERO, false)
    }

    /// Starts configuring a bulkhead named `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::SemaphoreBulkhead;
    /// use std::time::Duration;
    ///
    /// let inventory = SemaphoreBulkhead::builder("inventory")
    ///     .max_concurrent(10)
    ///     .max_wait(Duration::from_millis(20))
    ///     .fair(true)
    ///     .build()?;
    /// assert!(inventory.is_fair());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn builder(name: impl Into<String>) -> SemaphoreBuilder {
        SemaphoreBuilder {
            name: name.into(),
            max_concurrent: DEFAULT_MAX_CONCURRENT,
            max_wait: Duration::ZERO,
            fair: false,
        }
    }

    fn from_parts(name: String, max_concurrent: usize, max_wait: Duration, fair: bool) -> Self {
        SemaphoreBulkhead {
            name: name.into(),
            slots: Slots::new(max_concurrent),
            fair: fair.then(Fair::new),
            max_wait,
            permitted: CachePadded(AtomicUsize::new(0)),
            rejected: AtomicUsize::new(0),
        }
    }

    /// The bulkhead's name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(bulkheads::SemaphoreBulkhead::new("search", 4).name(), "search");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The current limit of concurrent calls.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::SemaphoreBulkhead::new("search", 4);
    /// b.set_max_concurrent(6);
    /// assert_eq!(b.max_concurrent(), 6);
    /// ```
    pub fn max_concurrent(&self) -> usize {
        self.slots.snapshot().capacity
    }

    /// How long [`call`](Self::call) waits for a permit (zero for
    /// [`new`](Self::new)).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = bulkheads::SemaphoreBulkhead::new("search", 4);
    /// assert_eq!(b.max_wait(), Duration::ZERO);
    /// ```
    pub fn max_wait(&self) -> Duration {
        self.max_wait
    }

    /// Whether waiters are served first-come first-served.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!bulkheads::SemaphoreBulkhead::new("search", 4).is_fair());
    /// ```
    pub fn is_fair(&self) -> bool {
        self.fair.is_some()
    }

    /// Takes a permit: at once if `wait` is false, else waiting until
    /// `deadline` (`None`: for ever). Counts the outcome; `wait` also picks
    /// the reason for a refusal (`Full` or `Timeout`).
    fn admit(&self, deadline: Option<Instant>, wait: bool) -> Result<(), RejectReason> {
        let result = match self.slots.try_acquire() {
            Err(Refused::Full) if wait => match &self.fair {
                Some(fair) => fair.acquire(&self.slots, deadline),
                None => self.slots.acquire_until(deadline),
            },
            other => other,
        };
        match result {
            Ok(()) => {
                // Relaxed: a statistic.
                self.permitted.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(refused) => {
                // Relaxed: a statistic.
                self.rejected.fetch_add(1, Ordering::Relaxed);
                Err(match (refused, wait) {
                    (Refused::Closed, _) => RejectReason::ShutDown, // see `close`
                    (Refused::Full, false) => RejectReason::Full,
                    (Refused::Full, true) => RejectReason::Timeout,
                })
            }
        }
    }

    /// Gives one permit back (the `Drop` of both permit types).
    fn release(&self) {
        match &self.fair {
            Some(fair) => fair.release(&self.slots),
            None => {
                self.slots.release();
            }
        }
    }

    /// Takes a permit if one is free now; never waits. In fair mode it
    /// does not overtake callers already waiting.
    ///
    /// Lock-free: one load and one compare-and-swap; a refusal is a load
    /// and a counter increment, with no allocation.
    ///
    /// # Errors
    ///
    /// [`Rejected`] with [`RejectReason::Full`] when every permit is held
    /// (or the limit is 0).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::SemaphoreBulkhead;
    ///
    /// let b = SemaphoreBulkhead::new("db", 1);
    /// let permit = b.try_acquire()?;
    /// assert!(b.try_acquire().unwrap_err().is_full());
    /// drop(permit);
    /// assert!(b.try_acquire().is_ok());
    /// # Ok::<(), bulkheads::Rejected<()>>(())
    /// ```
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected<()>> {
        self.admit(None, false)
            .map(|()| Permit { bulkhead: self })
            .map_err(|reason| Rejected::by((), reason, &self.name))
    }

    /// Takes a permit, waiting up to `timeout` for one to free.
    ///
    /// # Errors
    ///
    /// [`Rejected`] with [`RejectReason::Timeout`] when no permit freed in
    /// time.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, SemaphoreBulkhead};
    /// use std::time::Duration;
    ///
    /// let b = SemaphoreBulkhead::new("db", 1);
    /// let held = b.acquire_timeout(Duration::from_secs(5))?;
    /// let late = b.acquire_timeout(Duration::from_millis(1)).unwrap_err();
    /// assert_eq!(late.reason(), RejectReason::Timeout);
    /// drop(held);
    /// # Ok::<(), bulkheads::Rejected<()>>(())
    /// ```
    pub fn acquire_timeout(&self, timeout: Duration) -> Result<Permit<'_>, Rejected<()>> {
        let deadline = Instant::now().checked_add(timeout);
        self.admit(deadline, true)
            .map(|()| Permit { bulkhead: self })
            .map_err(|reason| Rejected::by((), reason, &self.name))
    }

    /// Takes a permit, waiting as long as it takes.
    ///
    /// On a bulkhead with a limit of 0 this waits until the limit is raised.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::SemaphoreBulkhead::new("db", 1);
    /// let permit = b.acquire();
    /// assert_eq!(b.stats().active, 1);
    /// drop(permit);
    /// ```
    pub fn acquire(&self) -> Permit<'_> {
        self.wait_for_permit();
        Permit { bulkhead: self }
    }

    /// Takes a permit with no deadline; the caller wraps it in a permit.
    fn wait_for_permit(&self) {
        // Without a deadline the only refusal would be a close, which a
        // semaphore never does; loop rather than panic all the same.
        while self.admit(None, true).is_err() {}
    }

    /// Takes a permit with the configured
    /// [`max_wait`](SemaphoreBuilder::max_wait), runs `f` on this thread,
    /// and releases the permit — also if `f` panics (the panic then
    /// continues to the caller).
    ///
    /// # Errors
    ///
    /// [`Rejected`] carrying `f`, unrun, with [`RejectReason::Full`] (no
    /// wait configured) or [`RejectReason::Timeout`] (the wait ran out).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::SemaphoreBulkhead;
    ///
    /// let b = SemaphoreBulkhead::new("pricing", 1);
    /// assert_eq!(b.call(|| 6 * 7).ok(), Some(42));
    ///
    /// let _busy = b.try_acquire()?;
    /// let rejected = b.call(|| "quote").unwrap_err();
    /// let fallback = rejected.into_inner(); // the closure comes back
    /// assert_eq!(fallback(), "quote");
    /// # Ok::<(), bulkheads::Rejected<()>>(())
    /// ```
    pub fn call<F, T>(&self, f: F) -> Result<T, Rejected<F>>
    where
        F: FnOnce() -> T,
    {
        let admitted = if self.max_wait.is_zero() {
            self.admit(None, false)
        } else {
            self.admit(Instant::now().checked_add(self.max_wait), true)
        };
        match admitted {
            Ok(()) => {
                // Released by `Drop`, so also while unwinding from `f`.
                let _permit = Permit { bulkhead: self };
                Ok(f())
            }
            Err(reason) => Err(Rejected::by(f, reason, &self.name)),
        }
    }

    /// [`try_acquire`](Self::try_acquire) for a bulkhead in an `Arc`: the
    /// permit owns a reference to the bulkhead, so it is `'static` and can
    /// move to another thread.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::SemaphoreBulkhead;
    /// use std::sync::Arc;
    ///
    /// let b = Arc::new(SemaphoreBulkhead::new("upload", 1));
    /// let permit = b.try_acquire_owned()?;
    /// std::thread::spawn(move || drop(permit)).join().unwrap();
    /// assert_eq!(b.stats().active, 0);
    /// # Ok::<(), bulkheads::Rejected<()>>(())
    /// ```
    pub fn try_acquire_owned(self: &std::sync::Arc<Self>) -> Result<OwnedPermit, Rejected<()>> {
        self.admit(None, false)
            .map(|()| OwnedPermit {
                bulkhead: std::sync::Arc::clone(self),
            })
            .map_err(|reason| Rejected::by((), reason, &self.name))
    }

    /// [`acquire_timeout`](Self::acquire_timeout) returning an
    /// [`OwnedPermit`].
    ///
    /// # Errors
    ///
    /// As [`acquire_timeout`](Self::acquire_timeout).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::SemaphoreBulkhead;
    /// use std::{sync::Arc, time::Duration};
    ///
    /// let b = Arc::new(SemaphoreBulkhead::new("upload", 1));
    /// let permit = b.acquire_owned_timeout(Duration::from_secs(1))?;
    /// assert_eq!(permit.bulkhead().name(), "upload");
    /// # Ok::<(), bulkheads::Rejected<()>>(())
    /// ```
    pub fn acquire_owned_timeout(
        self: &std::sync::Arc<Self>,
        timeout: Duration,
    ) -> Result<OwnedPermit, Rejected<()>> {
        let deadline = Instant::now().checked_add(timeout);
        self.admit(deadline, true)
            .map(|()| OwnedPermit {
                bulkhead: std::sync::Arc::clone(self),
            })
            .map_err(|reason| Rejected::by((), reason, &self.name))
    }

    /// [`acquire`](Self::acquire) returning an [`OwnedPermit`]: waits as
    /// long as it takes.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::SemaphoreBulkhead;
    /// use std::sync::Arc;
    ///
    /// let b = Arc::new(SemaphoreBulkhead::new("upload", 2));
    /// let permits: Vec<_> = (0..2).map(|_| b.acquire_owned()).collect();
    /// assert_eq!(b.stats().active, 2);
    /// drop(permits);
    /// assert_eq!(b.stats().active, 0);
    /// ```
    pub fn acquire_owned(self: &std::sync::Arc<Self>) -> OwnedPermit {
        self.wait_for_permit();
        OwnedPermit {
            bulkhead: std::sync::Arc::clone(self),
        }
    }

    /// Stops admitting for good: every later acquire, and every caller
    /// waiting for a permit now, is refused with
    /// [`RejectReason::ShutDown`]; permits held are released as usual.
    /// Only for semaphores that are not fair (a fair one's waiters sleep
    /// on their own queue, which closing does not wake): the
    /// [`ProcessBulkhead`](crate::ProcessBulkhead)'s admission.
    #[cfg_attr(not(all(unix, feature = "process")), allow(dead_code))]
    pub(crate) fn close(&self) {
        debug_assert!(self.fair.is_none(), "a fair semaphore cannot be closed");
        self.slots.close();
    }

    /// Whether [`close`](Self::close) was called.
    #[cfg_attr(not(all(unix, feature = "process")), allow(dead_code))]
    pub(crate) fn is_closed(&self) -> bool {
        self.slots.snapshot().closed
    }

    /// Changes the limit of concurrent calls, live. Returns at once.
    ///
    /// * Growing wakes waiters at once (in fair mode, the oldest first).
    /// * Shrinking never waits: holders above the new limit keep their
    ///   permits and finish; nobody new is admitted until the count of
    ///   held permits is under the new limit.
    /// * 0 closes the compartment: every call is refused until the limit is
    ///   raised again (a kill switch).
    ///
    /// No permit is lost or duplicated. A limit above 2^30 - 1 is clamped to
    /// that maximum.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::SemaphoreBulkhead;
    ///
    /// let b = SemaphoreBulkhead::new("search", 2);
    /// let (p1, p2) = (b.try_acquire()?, b.try_acquire()?);
    /// b.set_max_concurrent(1);            // returns at once
    /// drop(p1);
    /// assert!(b.try_acquire().is_err());  // 1 held, limit 1
    /// drop(p2);
    /// assert!(b.try_acquire().is_ok());
    ///
    /// b.set_max_concurrent(0);            // kill switch
    /// assert!(b.call(|| ()).is_err());
    /// # Ok::<(), bulkheads::Rejected<()>>(())
    /// ```
    pub fn set_max_concurrent(&self, max_concurrent: usize) {
        match &self.fair {
            Some(fair) => fair.resize(&self.slots, max_concurrent),
            None => {
                self.slots.set_capacity(max_concurrent);
            }
        }
    }

    /// A snapshot of the limit and counters. Cheap: a few atomic loads and
    /// a clone of the name.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::SemaphoreBulkhead::new("search", 4);
    /// let _p = b.try_acquire()?;
    /// let s = b.stats();
    /// assert_eq!((s.active, s.max_concurrent, s.permitted, s.rejected), (1, 4, 1, 0));
    /// assert_eq!(s.utilization(), 0.25);
    /// # Ok::<(), bulkheads::Rejected<()>>(())
    /// ```
    pub fn stats(&self) -> SemaphoreStats {
        let slots = self.slots.snapshot();
        let fair_waiting = self
            .fair
            .as_ref()
            // Relaxed: a statistic.
            .map_or(0, |f| f.waiting.load(Ordering::Relaxed));
        SemaphoreStats {
            name: self.name.to_string(),
            max_concurrent: slots.capacity,
            active: slots.count,
            waiting: self.slots.waiting() + fair_waiting,
            // Relaxed: statistics.
            permitted: self.permitted.load(Ordering::Relaxed),
            rejected: self.rejected.load(Ordering::Relaxed),
        }
    }
}

// Unwind safety: the permit count is one atomic word, a release runs in
// `Drop` (also while unwinding), and the fair queue's critical sections run
// no user code; its lock does not poison. A panic leaves nothing
// half-updated. (The auto traits are missing only because the fair queue's
// lock holds an `UnsafeCell`.)
impl std::panic::UnwindSafe for SemaphoreBulkhead {}
impl std::panic::RefUnwindSafe for SemaphoreBulkhead {}

impl fmt::Debug for SemaphoreBulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreBulkhead")
            .field("fair", &self.is_fair())
            .field("max_wait", &self.max_wait)
            .field("stats", &self.stats())
            .finish()
    }
}

/// Configures a [`SemaphoreBulkhead`]; start with
/// [`SemaphoreBulkhead::builder`].
///
/// # Examples
///
/// ```
/// use bulkheads::SemaphoreBulkhead;
/// use std::time::Duration;
///
/// let b = SemaphoreBulkhead::builder("checkout")
///     .max_concurrent(50)
///     .max_wait(Duration::from_millis(100))
///     .build()?;
/// assert_eq!(b.max_concurrent(), 50);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct SemaphoreBuilder {
    name: String,
    max_concurrent: usize,
    max_wait: Duration,
    fair: bool,
}

impl SemaphoreBuilder {
    /// The limit of concurrent calls. Default: 25. Zero is valid (a closed
    /// compartment until raised).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::SemaphoreBulkhead::builder("db").max_concurrent(8).build()?;
    /// assert_eq!(b.max_concurrent(), 8);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n;
        self
    }

    /// How long [`call`](SemaphoreBulkhead::call) waits for a permit before
    /// refusing with [`RejectReason::Timeout`]. Default: zero, refuse at
    /// once with [`RejectReason::Full`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = bulkheads::SemaphoreBulkhead::builder("db").max_wait(Duration::from_millis(5)).build()?;
    /// assert_eq!(b.max_wait(), Duration::from_millis(5));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// Whether waiters are admitted first-come first-served. Default:
    /// false (the fastest path; a newcomer may take a freed permit before
    /// an older waiter).
    ///
    /// With `true`, a released permit goes straight to the oldest waiter
    /// and [`try_acquire`](SemaphoreBulkhead::try_acquire) never overtakes
    /// a waiter; a release then takes a short lock.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::SemaphoreBulkhead::builder("db").fair(true).build()?;
    /// assert!(b.is_fair());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn fair(mut self, fair: bool) -> Self {
        self.fair = fair;
        self
    }

    /// Validates the configuration and builds the bulkhead.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`EmptyName`](BuildErrorKind::EmptyName) or
    /// [`TooLarge`](BuildErrorKind::TooLarge) (a limit above 2^30 - 1).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BuildErrorKind, SemaphoreBulkhead};
    ///
    /// let err = SemaphoreBulkhead::builder("").build().unwrap_err();
    /// assert_eq!(err.kind(), BuildErrorKind::EmptyName);
    /// ```
    pub fn build(self) -> Result<SemaphoreBulkhead, BuildError> {
        crate::error::check_name(&self.name)?;
        if self.max_concurrent > MAX_SLOTS {
            return Err(BuildError::new(BuildErrorKind::TooLarge, &self.name));
        }
        Ok(SemaphoreBulkhead::from_parts(
            self.name,
            self.max_concurrent,
            self.max_wait,
            self.fair,
        ))
    }
}

/// A permit of a [`SemaphoreBulkhead`], borrowed from it; released on drop.
///
/// # Examples
///
/// ```
/// let b = bulkheads::SemaphoreBulkhead::new("db", 1);
/// {
///     let _permit = b.try_acquire()?;
///     assert_eq!(b.stats().active, 1);
/// } // released here
/// assert_eq!(b.stats().active, 0);
/// # Ok::<(), bulkheads::Rejected<()>>(())
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct Permit<'a> {
    bulkhead: &'a SemaphoreBulkhead,
}

impl Permit<'_> {
    /// The bulkhead this permit belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::SemaphoreBulkhead::new("db", 1);
    /// assert_eq!(b.try_acquire()?.bulkhead().name(), "db");
    /// # Ok::<(), bulkheads::Rejected<()>>(())
    /// ```
    pub fn bulkhead(&self) -> &SemaphoreBulkhead {
        self.bulkhead
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.bulkhead.release();
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("bulkhead", &self.bulkhead.name)
            .finish()
    }
}

/// A `'static` permit of a [`SemaphoreBulkhead`] held in an `Arc`: it can
/// move across threads and outlive the caller's borrow. Released on drop.
///
/// # Examples
///
/// ```
/// use bulkheads::SemaphoreBulkhead;
/// use std::sync::Arc;
///
/// let b = Arc::new(SemaphoreBulkhead::new("render", 1));
/// let permit = b.acquire_owned();
/// let worker = std::thread::spawn(move || {
///     let _permit = permit; // held while the worker runs
///     "done"
/// });
/// assert_eq!(worker.join().unwrap(), "done");
/// assert_eq!(b.stats().active, 0);
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct OwnedPermit {
    bulkhead: std::sync::Arc<SemaphoreBulkhead>,
}

impl OwnedPermit {
    /// The bulkhead this permit belongs to.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// let b = Arc::new(bulkheads::SemaphoreBulkhead::new("db", 1));
    /// let permit = b.acquire_owned();
    /// assert!(Arc::ptr_eq(permit.bulkhead(), &b));
    /// ```
    pub fn bulkhead(&self) -> &std::sync::Arc<SemaphoreBulkhead> {
        &self.bulkhead
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        self.bulkhead.release();
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("bulkhead", &self.bulkhead.name)
            .finish()
    }
}
