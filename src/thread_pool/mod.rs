//! Thread isolation: [`ThreadPoolBulkhead`], a named, fixed-size pool of OS
//! threads with a bounded queue that rejects work at the door when full.
//!
//! A task's path reads in one direction, one file a step:
//! submit (this file) → admission (`crate::admission`, a lock-free slot
//! counter) → `queue.rs` (one FIFO channel) → `worker.rs` (the loop that
//! runs `job.rs`'s jobs) → `handle.rs` ([`TaskHandle`]). `shared.rs` holds
//! the state they share, `builder.rs` the configuration, `lifecycle.rs`
//! shutdown, cancellation and resizing.

mod builder;
mod handle;
mod job;
mod lifecycle;
mod queue;
mod shared;
mod worker;

pub use builder::ThreadPoolBuilder;
#[cfg(feature = "config")]
pub(crate) use builder::MAX_STACK_SIZE;
pub use handle::TaskHandle;

use std::fmt;
use std::time::{Duration, Instant};

use crate::admission::Refused;
use crate::error::{ExecuteError, RejectReason, Rejected};
use crate::stats::PoolStats;
use crate::sync::{Arc, Ordering};
use job::{Job, SpawnJob};
use shared::Shared;

/// A named, fixed-size pool of OS threads with a bounded queue.
///
/// At most `threads + queue_capacity` tasks are admitted and unfinished at
/// any moment. Beyond that, [`try_submit`](Self::try_submit) refuses at once
/// and hands the closure back in [`Rejected`]; the admission decision is a
/// single lock-free compare-and-swap and a refusal allocates nothing.
///
/// A panicking task is caught: its worker lives on, the pool keeps its
/// size, and the task's handle reports [`TaskError::Panicked`](crate::TaskError::Panicked).
///
/// To get the input of a task back on refusal (say, the request to answer
/// with a 503) rather than a closure that captured it, submit it with
/// [`try_submit_with`](Self::try_submit_with) and its siblings. A task not
/// yet started can be cancelled on its own ([`TaskHandle::cancel`]) or
/// with every other queued one ([`cancel_queued`](Self::cancel_queued)),
/// without closing the pool or waiting for running tasks. Every
/// [`Rejected`] names the pool.
///
/// # Queue behaviour
///
/// Admitted tasks start in admission order (first in, first out), also
/// across live resizes. Worker threads are named `{name}-{index}`.
///
/// A panic in a task is caught and reported through its handle, but the
/// process's panic hook still runs first (printing the message, as for any
/// panic). To keep contained panics quiet, filter the hook by thread name:
///
/// ```
/// let default = std::panic::take_hook();
/// std::panic::set_hook(Box::new(move |info| {
///     if !std::thread::current().name().is_some_and(|n| n.starts_with("search-")) {
///         default(info);
///     }
/// }));
/// # let _ = std::panic::take_hook();
/// ```
///
/// Dropping the pool is [`shutdown`](Self::shutdown): queued tasks still run
/// and the workers are joined. Dropping it from one of its own tasks starts
/// the shutdown without waiting for that task, so it cannot deadlock.
///
/// # Examples
///
/// ```
/// use bulkheads::{RejectReason, ThreadPoolBulkhead};
///
/// let search = ThreadPoolBulkhead::builder("search")
///     .threads(4)
///     .queue_capacity(16)
///     .build()?;
///
/// let handle = search.try_submit(|| 6 * 7)?;
/// assert_eq!(handle.join()?, 42);
///
/// match search.try_submit(|| "expensive query") {
///     Ok(handle) => println!("{}", handle.join()?),
///     Err(rejected) if rejected.reason() == RejectReason::Full => {
///         let work = rejected.into_inner(); // the closure comes back
///         println!("search is saturated; serving a cached page instead of {:?}", work());
///     }
///     Err(rejected) => return Err(rejected.into()),
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ThreadPoolBulkhead {
    // The facade's `Arc`, like everything inside `Shared` that
    // synchronises and every task cell: loom checks who drops it last.
    shared: Arc<Shared>,
}

impl ThreadPoolBulkhead {
    /// Starts configuring a pool named `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("search").threads(2).build()?;
    /// assert_eq!(pool.name(), "search");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn builder(name: impl Into<String>) -> ThreadPoolBuilder {
        ThreadPoolBuilder::new(name)
    }

    /// The pool's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("checkout").threads(1).build()?;
    /// assert_eq!(pool.name(), "checkout");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Takes a slot for `work` (a closure, or the input of a `*_with`
    /// call), waiting as `wait` says: `Ok(work)` once admitted, or the
    /// refusal carrying `work` back, counted and named. Every submit path
    /// goes through here; a refusal allocates nothing.
    fn admit<W>(&self, wait: Wait, work: W) -> Result<W, Rejected<W>> {
        let admitted = match wait {
            Wait::No => self.shared.slots.try_acquire(),
            Wait::Until(deadline) => self.shared.slots.acquire_until(deadline),
        };
        let Err(refused) = admitted else {
            return Ok(work);
        };
        let reason = match (refused, wait) {
            (Refused::Closed, _) => RejectReason::ShutDown,
            (Refused::Full, Wait::No) => RejectReason::Full,
            (Refused::Full, Wait::Until(_)) => RejectReason::Timeout,
        };
        // Relaxed: a statistic.
        self.shared
            .counters
            .rejected
            .fetch_add(1, Ordering::Relaxed);
        Err(Rejected::by(work, reason, &self.shared.name))
    }

    /// Queues work that already holds a slot.
    fn enqueue(&self, job: Job) {
        // Relaxed: ordered before the task's completion by the queue
        // hand-off, and before any idle observer by the slot release.
        self.shared
            .counters
            .submitted
            .fetch_add(1, Ordering::Relaxed);
        self.shared.queue.send(job);
    }

    fn enqueue_task<F, T>(&self, f: F) -> TaskHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (job, handle) = TaskHandle::new(f, &self.shared);
        self.enqueue(Job::Work(Box::new(job)));
        handle
    }

    fn enqueue_spawn<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        self.enqueue(Job::Work(Box::new(SpawnJob(f))));
    }

    /// Submits a task if there is room now, without waiting.
    ///
    /// # Errors
    ///
    /// [`Rejected`] with the closure and [`RejectReason::Full`] when
    /// `threads + queue_capacity` tasks are already admitted and unfinished,
    /// or [`RejectReason::ShutDown`] after a shutdown. The refusal takes no
    /// lock and allocates nothing.
    ///
    /// A task's slot is free by the time its result is visible through the
    /// handle ([`TaskHandle::join`], [`TaskHandle::join_timeout`], or
    /// [`TaskHandle::is_finished`] returning true).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, ThreadPoolBulkhead};
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPoolBulkhead::builder("exports").threads(1).queue_capacity(1).build()?;
    /// let (go, gate) = mpsc::channel::<()>();
    /// let running = pool.try_submit(move || gate.recv().is_ok())?; // the thread
    /// let queued = pool.try_submit(|| true)?;                      // the queue
    /// let refused = pool.try_submit(|| true).unwrap_err();         // the door
    /// assert_eq!(refused.reason(), RejectReason::Full);
    /// go.send(()).unwrap();
    /// assert!(running.join()? && queued.join()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_submit<F, T>(&self, f: F) -> Result<TaskHandle<T>, Rejected<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.admit(Wait::No, f).map(|f| self.enqueue_task(f))
    }

    /// Submits a task, waiting up to `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`Rejected`] with the closure and [`RejectReason::Timeout`] if no room
    /// came in time, or [`RejectReason::ShutDown`] after a shutdown.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    /// use std::time::Duration;
    ///
    /// let pool = ThreadPoolBulkhead::builder("mail").threads(1).build()?;
    /// let handle = pool.submit_timeout(|| "sent", Duration::from_millis(50))?;
    /// assert_eq!(handle.join()?, "sent");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_timeout<F, T>(
        &self,
        f: F,
        timeout: Duration,
    ) -> Result<TaskHandle<T>, Rejected<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.admit(Wait::timeout(timeout), f)
            .map(|f| self.enqueue_task(f))
    }

    /// Submits a task, waiting as long as it takes for room: backpressure
    /// for producers that must not drop work.
    ///
    /// # Errors
    ///
    /// Only after a shutdown: [`Rejected`] with the closure and
    /// [`RejectReason::ShutDown`]. A shutdown also wakes callers already
    /// waiting here.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    ///
    /// let pool = ThreadPoolBulkhead::builder("ingest").threads(2).queue_capacity(4).build()?;
    /// let handles: Vec<_> = (0..100u64)
    ///     .map(|i| pool.submit(move || i * i).unwrap()) // waits when 6 are in flight
    ///     .collect();
    /// let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    /// assert_eq!(total, 328_350);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn submit<F, T>(&self, f: F) -> Result<TaskHandle<T>, Rejected<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.admit(Wait::Until(None), f)
            .map(|f| self.enqueue_task(f))
    }

    /// Runs a closure on the pool if there is room now, with no handle
    /// (fire and forget). Its panics are caught and counted in
    /// [`PoolStats::panicked`].
    ///
    /// When no result is needed this is the cheaper way in: one
    /// allocation (the boxed closure) instead of two, and no result cell.
    /// The closure's slot is free once it has returned (and been dropped).
    ///
    /// # Errors
    ///
    /// As [`try_submit`](Self::try_submit).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = ThreadPoolBulkhead::builder("audit-log").threads(1).queue_capacity(10).build()?;
    /// let written = Arc::new(AtomicUsize::new(0));
    /// let w = written.clone();
    /// pool.try_spawn(move || { w.fetch_add(1, Ordering::SeqCst); })?;
    /// pool.wait_idle();
    /// assert_eq!(written.load(Ordering::SeqCst), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_spawn<F>(&self, f: F) -> Result<(), Rejected<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        self.admit(Wait::No, f).map(|f| self.enqueue_spawn(f))
    }

    /// Runs a closure on the pool with no handle, waiting as long as it
    /// takes for room (fire and forget with backpressure).
    ///
    /// # Errors
    ///
    /// Only after a shutdown, as [`submit`](Self::submit).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = ThreadPoolBulkhead::builder("sum").threads(2).queue_capacity(2).build()?;
    /// let sum = Arc::new(AtomicU64::new(0));
    /// for i in 1..=1000 {
    ///     let sum = sum.clone();
    ///     pool.spawn(move || { sum.fetch_add(i, Ordering::Relaxed); }).unwrap();
    /// }
    /// pool.wait_idle();
    /// assert_eq!(sum.load(Ordering::Relaxed), 500_500);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn spawn<F>(&self, f: F) -> Result<(), Rejected<F>>
    where
        F: FnOnce() + Send + 'static,
    {
        self.admit(Wait::Until(None), f)
            .map(|f| self.enqueue_spawn(f))
    }

    /// Submits `f(input)` if there is room now, without waiting; on
    /// refusal the **input itself** comes back, not a closure that
    /// swallowed it (say, the HTTP request to answer 503 with). The task
    /// is built only once admitted, so a refusal allocates nothing and
    /// `f` is dropped unrun.
    ///
    /// # Errors
    ///
    /// As [`try_submit`](Self::try_submit): [`Rejected`] holding `input`,
    /// with [`RejectReason::Full`] or [`RejectReason::ShutDown`].
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    /// use std::sync::mpsc;
    ///
    /// let search = ThreadPoolBulkhead::builder("search").threads(1).build()?;
    /// let (go, gate) = mpsc::channel::<()>();
    /// let busy = search.try_submit(move || gate.recv().is_ok())?; // the only slot
    ///
    /// let request = String::from("GET /search?q=rust");
    /// match search.try_submit_with(request, |request| request.len()) {
    ///     Ok(handle) => println!("{} bytes", handle.join()?),
    ///     Err(rejected) => {
    ///         let request = rejected.into_inner(); // the request itself
    ///         assert_eq!(request, "GET /search?q=rust"); // answer it with a 503
    ///     }
    /// }
    /// go.send(()).unwrap();
    /// assert!(busy.join()?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_submit_with<I, F, T>(&self, input: I, f: F) -> Result<TaskHandle<T>, Rejected<I>>
    where
        I: Send + 'static,
        F: FnOnce(I) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.admit(Wait::No, input)
            .map(|input| self.enqueue_task(move || f(input)))
    }

    /// Submits `f(input)`, waiting up to `timeout` for room; on refusal the
    /// input comes back (see [`try_submit_with`](Self::try_submit_with)).
    ///
    /// # Errors
    ///
    /// As [`submit_timeout`](Self::submit_timeout), with `input` in the
    /// [`Rejected`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("mail").threads(1).build()?;
    /// let handle = pool.submit_timeout_with("hi", |m| m.len(), Duration::from_millis(50))?;
    /// assert_eq!(handle.join()?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit_timeout_with<I, F, T>(
        &self,
        input: I,
        f: F,
        timeout: Duration,
    ) -> Result<TaskHandle<T>, Rejected<I>>
    where
        I: Send + 'static,
        F: FnOnce(I) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.admit(Wait::timeout(timeout), input)
            .map(|input| self.enqueue_task(move || f(input)))
    }

    /// Submits `f(input)`, waiting as long as it takes for room
    /// (backpressure); on refusal the input comes back (see
    /// [`try_submit_with`](Self::try_submit_with)).
    ///
    /// # Errors
    ///
    /// Only after a shutdown, as [`submit`](Self::submit), with `input` in
    /// the [`Rejected`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("ingest").threads(2).queue_capacity(2).build()?;
    /// let records = vec![vec![1, 2], vec![3], vec![4, 5, 6]];
    /// let handles: Vec<_> = records
    ///     .into_iter()
    ///     .map(|record| pool.submit_with(record, |r| r.iter().sum::<i32>()).unwrap())
    ///     .collect();
    /// let sums: Vec<i32> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    /// assert_eq!(sums, [3, 3, 15]);
    ///
    /// pool.shutdown();
    /// let refused = pool.submit_with(vec![7], |r| r.len()).unwrap_err();
    /// assert_eq!(refused.into_inner(), [7]); // the record comes back
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn submit_with<I, F, T>(&self, input: I, f: F) -> Result<TaskHandle<T>, Rejected<I>>
    where
        I: Send + 'static,
        F: FnOnce(I) -> T + Send + 'static,
        T: Send + 'static,
    {
        self.admit(Wait::Until(None), input)
            .map(|input| self.enqueue_task(move || f(input)))
    }

    /// Runs `f(input)` on the pool if there is room now, with no handle
    /// (fire and forget); on refusal the input comes back (see
    /// [`try_submit_with`](Self::try_submit_with)).
    ///
    /// # Errors
    ///
    /// As [`try_spawn`](Self::try_spawn), with `input` in the [`Rejected`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("thumbs").threads(1).queue_capacity(4).build()?;
    /// let (done, finished) = mpsc::channel();
    /// pool.try_spawn_with(String::from("cat.png"), move |file| done.send(file.len()).unwrap())?;
    /// assert_eq!(finished.recv().unwrap(), 7);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn try_spawn_with<I, F>(&self, input: I, f: F) -> Result<(), Rejected<I>>
    where
        I: Send + 'static,
        F: FnOnce(I) + Send + 'static,
    {
        self.admit(Wait::No, input)
            .map(|input| self.enqueue_spawn(move || f(input)))
    }

    /// Runs `f(input)` on the pool with no handle, waiting as long as it
    /// takes for room; on refusal (only after a shutdown) the input comes
    /// back.
    ///
    /// # Errors
    ///
    /// As [`spawn`](Self::spawn), with `input` in the [`Rejected`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("count").threads(1).build()?;
    /// let total = Arc::new(AtomicUsize::new(0));
    /// for word in ["bulk", "head"] {
    ///     let total = total.clone();
    ///     pool.spawn_with(word, move |w| { total.fetch_add(w.len(), Ordering::Relaxed); }).unwrap();
    /// }
    /// pool.wait_idle();
    /// assert_eq!(total.load(Ordering::Relaxed), 8);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn spawn_with<I, F>(&self, input: I, f: F) -> Result<(), Rejected<I>>
    where
        I: Send + 'static,
        F: FnOnce(I) + Send + 'static,
    {
        self.admit(Wait::Until(None), input)
            .map(|input| self.enqueue_spawn(move || f(input)))
    }

    /// Runs a closure on the pool if there is room now and waits for its
    /// value: [`try_submit`](Self::try_submit) then
    /// [`join`](TaskHandle::join).
    ///
    /// # Errors
    ///
    /// [`ExecuteError::Rejected`] if the pool refused (the closure is
    /// dropped unrun; use `try_submit` to get it back),
    /// [`ExecuteError::Panicked`] or [`ExecuteError::Cancelled`] otherwise.
    ///
    /// Called from one of this pool's own tasks, it runs `f` inline on the
    /// calling worker (which already holds a slot of this pool) instead of
    /// queueing it behind itself, so it can never deadlock; a panic is
    /// caught and reported as [`ExecuteError::Panicked`]. Such an inline
    /// call is not counted in [`stats`](Self::stats) as a task of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("pricing").threads(1).build()?;
    /// assert_eq!(pool.execute(|| 2)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute<F, T>(&self, f: F) -> Result<T, ExecuteError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.shared.on_own_worker() {
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
                .map_err(|payload| ExecuteError::from(crate::TaskError::Panicked(payload)));
        }
        Ok(self.try_submit(f)?.join()?)
    }

    /// A snapshot of the pool's configuration and counters. Cheap: a few
    /// atomic loads per worker under an uncontended lock, and a clone of the
    /// name.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("search").threads(3).queue_capacity(7).build()?;
    /// let stats = pool.stats();
    /// assert_eq!((stats.name.as_str(), stats.threads, stats.queue_capacity), ("search", 3, 7));
    /// assert_eq!(stats.utilization(), 0.0);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn stats(&self) -> PoolStats {
        let shared = &self.shared;
        let c = &shared.counters;
        // The Acquire in `snapshot` orders the reads below after every slot
        // release it observed, so an idle pool reads exact. Relaxed loads:
        // statistics.
        let slots = shared.slots.snapshot();
        let workers = shared.worker_totals();
        let threads = shared.threads.load(Ordering::Relaxed);
        let queue_capacity = shared.queue_capacity.load(Ordering::Relaxed);
        PoolStats {
            name: shared.name.to_string(),
            threads,
            queue_capacity,
            // Read at slightly different moments, so clamped: a snapshot
            // never shows more running than threads or more queued than
            // the queue holds; exact at rest.
            active: workers.busy.min(threads),
            queued: slots.count.saturating_sub(workers.busy).min(queue_capacity),
            submitted: c.submitted.load(Ordering::Relaxed),
            completed: workers.completed,
            panicked: workers.panicked,
            cancelled: c.cancelled.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
        }
    }
}

/// How long a submit waits for a slot.
#[derive(Clone, Copy)]
enum Wait {
    /// Not at all: full means refused.
    No,
    /// Until the deadline (`None`: for ever); a refusal for want of room
    /// is a timeout.
    Until(Option<Instant>),
}

impl Wait {
    fn timeout(timeout: Duration) -> Self {
        Wait::Until(Instant::now().checked_add(timeout))
    }
}

impl Drop for ThreadPoolBulkhead {
    fn drop(&mut self) {
        // Acquire: pairs with the Release store in `shutdown_timeout`.
        if self.shared.abandoned.load(Ordering::Acquire) {
            return;
        }
        self.shutdown();
    }
}

// Unwind safety: a panic on a caller's thread never leaves the pool
// half-updated. Its state changes are atomic operations or short critical
// sections that run no user code (tasks run, and their closures and results
// are dropped, under `catch_unwind` on the workers, outside any lock), and
// its locks do not poison. So a pool used across `catch_unwind` behaves as
// before the panic. (The auto traits are missing only because the locks
// hold `UnsafeCell`s.)
impl std::panic::UnwindSafe for ThreadPoolBulkhead {}
impl std::panic::RefUnwindSafe for ThreadPoolBulkhead {}

impl fmt::Debug for ThreadPoolBulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBulkhead")
            .field("stats", &self.stats())
            .finish()
    }
}
