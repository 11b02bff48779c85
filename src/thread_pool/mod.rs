//! Thread isolation: [`ThreadPoolBulkhead`], a named, fixed-size pool of OS
//! threads with a bounded queue that rejects work at the door when full.
//!
//! * `builder.rs`: configuration and validation.
//! * `worker.rs`: shared state, the worker loop, how the pool stops.
//! * `handle.rs`: the task cell (closure and result in one allocation) and
//!   [`TaskHandle`].
//! * `spent.rs`: finished jobs' allocations, handed back in batches to be
//!   reused (or freed) by a submitting thread.

mod builder;
mod handle;
mod spent;
mod worker;

pub use builder::ThreadPoolBuilder;
pub use handle::TaskHandle;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::admission::Refused;
use crate::error::{BuildError, BuildErrorKind, ExecuteError, RejectReason, Rejected};
use crate::stats::PoolStats;
use crate::sync::Ordering;
use worker::{total_slots, Job, Shared};

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
/// A submitted task costs at most one allocation, and a stream of tasks of
/// one type usually none: workers hand the emptied allocations of finished
/// detached tasks and spawns back, and a submitting thread reuses them for
/// its next tasks of the same type. Each submitting thread keeps at most 32
/// such emptied allocations (of any pool) until its next submits or its
/// exit.
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
    // `std::sync::Arc` rather than the facade's: tasks are coerced to
    // `Arc<dyn Runnable>`, which loom's `Arc` cannot do on stable Rust.
    // Everything inside `Shared` that synchronises comes from the facade.
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

    fn reject<F>(&self, f: F, reason: RejectReason) -> Rejected<F> {
        // Relaxed: a statistic.
        self.shared
            .counters
            .rejected
            .fetch_add(1, Ordering::Relaxed);
        Rejected::new(f, reason)
    }

    fn reason(refused: Refused, timed: bool) -> RejectReason {
        match (refused, timed) {
            (Refused::Closed, _) => RejectReason::ShutDown,
            (Refused::Full, false) => RejectReason::Full,
            (Refused::Full, true) => RejectReason::Timeout,
        }
    }

    /// Queues a task that already holds a slot.
    fn enqueue_task<F, T>(&self, f: F) -> TaskHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        // Relaxed: ordered before the task's completion by the queue
        // hand-off, and before any idle observer by the slot release.
        self.shared
            .counters
            .submitted
            .fetch_add(1, Ordering::Relaxed);
        let (task, handle) = self.shared.spent.new_task(f, &self.shared);
        self.shared.queue.send(Job::Task(task));
        handle
    }

    fn enqueue_spawn<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        // Relaxed: as in `enqueue_task`.
        self.shared
            .counters
            .submitted
            .fetch_add(1, Ordering::Relaxed);
        self.shared
            .queue
            .send(Job::Spawn(self.shared.spent.spawn_box(f)));
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
    /// [`TaskHandle::is_finished`] returning true). On pools that give slots
    /// back in batches (see [`try_spawn`](Self::try_spawn)) the worker may
    /// still hold it then; the handle frees it itself.
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
        match self.shared.slots.try_acquire() {
            Ok(()) => Ok(self.enqueue_task(f)),
            Err(refused) => Err(self.reject(f, Self::reason(refused, false))),
        }
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
        let deadline = Instant::now().checked_add(timeout);
        match self.shared.slots.acquire_until(deadline) {
            Ok(()) => Ok(self.enqueue_task(f)),
            Err(refused) => Err(self.reject(f, Self::reason(refused, true))),
        }
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
        match self.shared.slots.acquire_until(None) {
            Ok(()) => Ok(self.enqueue_task(f)),
            Err(refused) => Err(self.reject(f, Self::reason(refused, true))),
        }
    }

    /// Runs a closure on the pool if there is room now, with no handle
    /// (fire and forget). Its panics are caught and counted in
    /// [`PoolStats::panicked`].
    ///
    /// When no result is needed this is the cheaper way in: the closure
    /// travels in one box of its own size, without the result cell,
    /// locks and reference counts a handle needs (100,000 no-op tasks
    /// took 20–45 % less time than with `submit` and the handle dropped; see
    /// BENCHMARKS.md).
    ///
    /// The closure's slot may come back a little after it returns (so may
    /// a finished task's, until its handle sees the result; see
    /// [`try_submit`](Self::try_submit)): on a pool with at least 64 slots (threads plus
    /// queue places) per thread, a worker gives such slots back in batches
    /// (a thirty-second of the slots per thread, at most 32) while it finds
    /// more work queued, and always before it waits for work. The slots
    /// held this way are under a thirty-second of the capacity in all (a
    /// worker that picks up a long task keeps its few until that task
    /// ends). So a busy stream of spawns may be refused slightly before the
    /// last slot is really in use, never admitted beyond the capacity;
    /// meanwhile [`stats`](Self::stats) counts those closures as completed,
    /// not active or queued, and [`wait_idle`](Self::wait_idle) returns
    /// only once every slot is back.
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
        match self.shared.slots.try_acquire() {
            Ok(()) => {
                self.enqueue_spawn(f);
                Ok(())
            }
            Err(refused) => Err(self.reject(f, Self::reason(refused, false))),
        }
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
        match self.shared.slots.acquire_until(None) {
            Ok(()) => {
                self.enqueue_spawn(f);
                Ok(())
            }
            Err(refused) => Err(self.reject(f, Self::reason(refused, true))),
        }
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
    /// # Deadlocks
    ///
    /// Called from one of this pool's own tasks, it waits for a task that
    /// needs a thread of the same pool; with every thread doing the same, it
    /// never returns. Use a separate pool for nested work.
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
        Ok(self.try_submit(f)?.join()?)
    }

    /// Closes the door without waiting; on a worker of this pool, the caller
    /// must not wait for itself.
    fn begin_shutdown(&self) {
        if self.shared.slots.close() == Some(true) {
            // Nothing was in flight: this call owns the "closed and empty"
            // event and releases the workers.
            self.shared.queue.send(Job::Exit);
        }
    }

    /// Stops admitting (every submit now returns
    /// [`RejectReason::ShutDown`]), lets every admitted task run, and joins
    /// the worker threads. Idempotent; concurrent callers all return once
    /// the workers are joined.
    ///
    /// Called from one of the pool's own tasks, it stops admitting and
    /// returns at once; the workers finish the queue and exit on their own.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, ThreadPoolBulkhead};
    ///
    /// let pool = ThreadPoolBulkhead::builder("reports").threads(1).queue_capacity(3).build()?;
    /// let handles: Vec<_> = (0..4).map(|i| pool.try_submit(move || i).unwrap()).collect();
    /// pool.shutdown(); // every admitted task still runs
    /// assert_eq!(handles.into_iter().map(|h| h.join().unwrap()).sum::<i32>(), 6);
    /// assert_eq!(pool.try_submit(|| 0).unwrap_err().reason(), RejectReason::ShutDown);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn shutdown(&self) {
        self.begin_shutdown();
        if !self.shared.on_own_worker() {
            self.join_workers();
        }
    }

    /// Takes queued jobs off the queue and cancels them.
    fn cancel_queued(&self) {
        self.shared.set_cancel_queued();
        while let Some(job) = self.shared.queue.try_recv() {
            let was_exit = matches!(job, Job::Exit);
            self.shared.cancel_job(job);
            if was_exit {
                break;
            }
        }
    }

    /// Stops admitting, cancels every queued task (their handles report
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled)), lets running
    /// tasks finish, and joins the workers. Returns how many tasks this
    /// shutdown cancelled.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{TaskError, ThreadPoolBulkhead};
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPoolBulkhead::builder("crawl").threads(1).queue_capacity(2).build()?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (go, gate) = mpsc::channel::<()>();
    /// let running = pool.try_submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap(); 1 })?;
    /// let queued = pool.try_submit(|| 2)?;
    /// started.recv().unwrap(); // the first task holds the only thread
    /// let releaser = std::thread::spawn(move || go.send(()).unwrap());
    /// assert_eq!(pool.shutdown_now(), 1);
    /// releaser.join().unwrap();
    /// assert_eq!(running.join()?, 1);
    /// assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown_now(&self) -> usize {
        // Relaxed: only this thread's own before/after difference matters,
        // and the join below orders the workers' cancellations before the
        // second read.
        let before = self.shared.counters.cancelled.load(Ordering::Relaxed);
        self.begin_shutdown();
        self.cancel_queued();
        if !self.shared.on_own_worker() {
            self.join_workers();
        }
        let after = self.shared.counters.cancelled.load(Ordering::Acquire);
        after - before
    }

    /// Stops admitting and lets admitted tasks run, for at most `timeout`.
    /// Past the deadline, cancels whatever is still queued and returns
    /// without waiting for tasks still running. Returns `true` if every
    /// admitted task finished in time and the workers were joined.
    ///
    /// After a `false`, dropping the pool does not wait for the stragglers;
    /// an explicit [`shutdown`](Self::shutdown) does. Called from one of the
    /// pool's own tasks, it starts the shutdown and returns `false` at once.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    /// use std::time::Duration;
    ///
    /// let pool = ThreadPoolBulkhead::builder("flush").threads(2).queue_capacity(8).build()?;
    /// for _ in 0..8 {
    ///     pool.try_spawn(|| ()).unwrap();
    /// }
    /// assert!(pool.shutdown_timeout(Duration::from_secs(10)));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn shutdown_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        self.begin_shutdown();
        if self.shared.on_own_worker() {
            return false;
        }
        if self.wait_idle_until(deadline) {
            self.join_workers();
            return true;
        }
        self.cancel_queued();
        // Release: pairs with the Acquire load in `Drop`.
        self.shared.abandoned.store(true, Ordering::Release);
        false
    }

    /// Joins every worker; concurrent callers wait for the first.
    fn join_workers(&self) {
        let mut workers = self.shared.workers.lock();
        if workers.joining {
            while !workers.terminated {
                workers = self.shared.terminated.wait(workers);
            }
            return;
        }
        workers.joining = true;
        let handles = std::mem::take(&mut workers.handles);
        drop(workers);
        for handle in handles {
            // Workers catch every panic of the tasks they run; an error here
            // could only come from the worker loop itself, and there is
            // nothing left to clean up for it.
            let _ = handle.join();
        }
        let mut workers = self.shared.workers.lock();
        workers.terminated = true;
        drop(workers);
        self.shared.terminated.notify_all();
    }

    /// Whether a shutdown has started: the pool admits nothing any more.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("x").threads(1).build()?;
    /// assert!(!pool.is_shut_down());
    /// pool.shutdown();
    /// assert!(pool.is_shut_down());
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.shared.slots.snapshot().closed
    }

    /// Blocks until nothing is queued or running: every task admitted so far
    /// has finished. Tasks admitted meanwhile by other threads are waited
    /// for too.
    ///
    /// # Deadlocks
    ///
    /// Called from one of this pool's own tasks it waits for itself and
    /// never returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("batch").threads(2).queue_capacity(100).build()?;
    /// for _ in 0..100 {
    ///     pool.try_spawn(|| ()).unwrap();
    /// }
    /// pool.wait_idle();
    /// let stats = pool.stats();
    /// assert_eq!((stats.active, stats.queued, stats.completed), (0, 0, 100));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn wait_idle(&self) {
        self.wait_idle_until(None);
    }

    fn wait_idle_until(&self, deadline: Option<Instant>) -> bool {
        loop {
            if !self.shared.slots.wait_empty(deadline) {
                return false;
            }
            if self.shared.worker_totals().busy == 0 {
                return true;
            }
            // Every slot is free but a worker is still publishing a result
            // (a store under an uncontended lock): let it finish.
            crate::sync::thread::yield_now();
        }
    }

    /// Like [`wait_idle`](Self::wait_idle), for at most `timeout`; true if
    /// the pool became idle in time.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("batch").threads(1).build()?;
    /// assert!(pool.wait_idle_timeout(Duration::from_secs(1)));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn wait_idle_timeout(&self, timeout: Duration) -> bool {
        self.wait_idle_until(Instant::now().checked_add(timeout))
    }

    /// Changes the number of worker threads, live. Growing starts threads at
    /// once and makes room for that many more tasks; shrinking lowers the
    /// capacity at once and retires threads only after their current task
    /// (queued tasks are not lost). [`PoolStats::threads`] reports the new
    /// size immediately.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`ZeroThreads`](BuildErrorKind::ZeroThreads),
    /// [`TooLarge`](BuildErrorKind::TooLarge),
    /// [`ShutDown`](BuildErrorKind::ShutDown), or
    /// [`Spawn`](BuildErrorKind::Spawn) when the OS refuses a thread (the
    /// pool keeps the threads it could start, and reports that size).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("elastic").threads(2).build()?;
    /// pool.set_threads(6)?;
    /// assert_eq!(pool.stats().threads, 6);
    /// pool.set_threads(1)?;
    /// assert_eq!(pool.stats().threads, 1);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn set_threads(&self, threads: usize) -> Result<(), BuildError> {
        let shared = &self.shared;
        if threads == 0 {
            return Err(BuildError::new(BuildErrorKind::ZeroThreads, &shared.name));
        }
        let mut workers = shared.workers.lock();
        if shared.slots.snapshot().closed {
            return Err(BuildError::new(BuildErrorKind::ShutDown, &shared.name));
        }
        // Relaxed: written only under `workers`, which we hold.
        let queue = shared.queue_capacity.load(Ordering::Relaxed);
        let old = shared.threads.load(Ordering::Relaxed);
        total_slots(&shared.name, threads, queue)?;
        if threads < old {
            // Lower the door first, then retire: no new task is admitted for
            // a thread that is about to go.
            shared.set_size(threads, queue);
            workers.pending_retire += old - threads;
            for _ in threads..old {
                shared.queue.send(Job::Retire);
            }
            return Ok(());
        }
        let mut live = old;
        let mut result = Ok(());
        // Retirements not yet carried out are simply taken back.
        let taken_back = workers.pending_retire.min(threads - old);
        workers.pending_retire -= taken_back;
        live += taken_back;
        while live < threads {
            let index = (0..).find(|i| !workers.indices.contains(i)).unwrap_or(live);
            if let Err(err) = shared.spawn_worker(&mut workers, index) {
                result = Err(err);
                break;
            }
            live += 1;
        }
        shared.set_size(live, queue);
        result
    }

    /// Changes the queue capacity (waiting room beyond the threads), live.
    /// Lowering it below what is queued keeps those tasks and admits nothing
    /// new until the queue drains under the new capacity.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`TooLarge`](BuildErrorKind::TooLarge) or
    /// [`ShutDown`](BuildErrorKind::ShutDown).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("elastic").threads(1).build()?;
    /// pool.set_queue_capacity(50)?;
    /// assert_eq!(pool.stats().queue_capacity, 50);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn set_queue_capacity(&self, capacity: usize) -> Result<(), BuildError> {
        let shared = &self.shared;
        let _workers = shared.workers.lock();
        if shared.slots.snapshot().closed {
            return Err(BuildError::new(BuildErrorKind::ShutDown, &shared.name));
        }
        // Relaxed: written only under `workers`, which we hold.
        let threads = shared.threads.load(Ordering::Relaxed);
        total_slots(&shared.name, threads, capacity)?;
        shared.set_size(threads, capacity);
        Ok(())
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
        PoolStats {
            name: shared.name.clone(),
            threads: shared.threads.load(Ordering::Relaxed),
            queue_capacity: shared.queue_capacity.load(Ordering::Relaxed),
            active: workers.busy,
            // Slots held for finished spawns (`deferred`) are neither.
            queued: slots.count.saturating_sub(workers.busy + workers.deferred),
            submitted: c.submitted.load(Ordering::Relaxed),
            completed: workers.completed,
            panicked: workers.panicked,
            cancelled: c.cancelled.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
        }
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

impl fmt::Debug for ThreadPoolBulkhead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolBulkhead")
            .field("stats", &self.stats())
            .finish()
    }
}
