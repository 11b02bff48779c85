//! How a pool stops, cancels what is queued, waits for idle, and resizes.

use std::time::{Duration, Instant};

use super::job::Job;
use super::shared::total_slots;
use super::worker::spawn_worker;
use super::ThreadPoolBulkhead;
use crate::error::{BuildError, BuildErrorKind};
use crate::sync::Ordering;

/// How often `wait_idle` yields for a worker still finishing a job before
/// it sleeps between looks instead.
#[cfg(not(loom))]
const IDLE_YIELDS: u32 = 64;

impl ThreadPoolBulkhead {
    /// Closes the door without waiting.
    fn begin_shutdown(&self) {
        if self.shared.slots.close() == Some(true) {
            // Nothing was in flight: this call owns the "closed and empty"
            // event and releases the workers.
            self.shared.queue.send(Job::Exit);
        }
    }

    /// Stops admitting (every submit now returns
    /// [`RejectReason::ShutDown`](crate::RejectReason::ShutDown)), lets
    /// every admitted task run, and joins the worker threads. Idempotent;
    /// concurrent callers all return once the workers are joined.
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

    /// Takes every queued job off the queue and cancels it, on the calling
    /// thread; returns how many tasks this call cancelled. Control tokens
    /// are put back.
    fn drain_queue(&self) -> usize {
        let shared = &self.shared;
        let mut cancelled = 0;
        let mut tokens = Vec::new();
        while let Some(job) = shared.queue.try_recv() {
            match job {
                Job::Work(work) => cancelled += usize::from(work.cancel(shared)),
                Job::Exit => {
                    // Sent only once nothing is left: nothing follows it.
                    tokens.push(Job::Exit);
                    break;
                }
                token => tokens.push(token),
            }
        }
        for token in tokens {
            shared.queue.send(token);
        }
        cancelled
    }

    /// Cancels every task waiting in the queue and returns how many it
    /// cancelled. The pool stays open, running tasks go on, and this call
    /// does not wait for them. The cancelled tasks' handles report
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled), their slots
    /// are free when this returns, and their closures are dropped unrun on
    /// the calling thread. Tasks admitted while it runs may be cancelled
    /// too, or stay queued.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{TaskError, ThreadPoolBulkhead};
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPoolBulkhead::builder("jobs").threads(1).queue_capacity(4).build()?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (go, gate) = mpsc::channel::<()>();
    /// let running = pool.try_submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap(); 1 })?;
    /// started.recv().unwrap();
    /// let pending: Vec<_> = (0..3).map(|i| pool.try_submit(move || i).unwrap()).collect();
    ///
    /// assert_eq!(pool.cancel_queued(), 3);
    /// for h in pending {
    ///     assert!(matches!(h.join(), Err(TaskError::Cancelled)));
    /// }
    /// go.send(()).unwrap();
    /// assert_eq!(running.join()?, 1);
    /// assert!(pool.try_submit(|| 2).is_ok()); // still open
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel_queued(&self) -> usize {
        self.drain_queue()
    }

    /// Stops admitting, cancels every queued task (their handles report
    /// [`TaskError::Cancelled`](crate::TaskError::Cancelled)), then **waits
    /// for running tasks to finish** and joins the workers. Returns how
    /// many tasks this call cancelled: those it took off the queue and
    /// those the workers cancelled for it (a concurrent `shutdown_now` or
    /// `cancel_queued` reports its own). Called from one of the pool's own
    /// tasks it does not wait, and counts what was cancelled so far.
    ///
    /// To stop without waiting for running tasks (say, on a UI thread),
    /// use [`shutdown_timeout(Duration::ZERO)`](Self::shutdown_timeout).
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
        self.begin_shutdown();
        let owner = self.start_cancelling();
        let mut cancelled = self.drain_queue();
        if !self.shared.on_own_worker() {
            self.join_workers();
        }
        if owner {
            // Acquire: the join above (or, on a worker, whatever the workers
            // have done so far) ordered their counts before this read.
            cancelled += self.shared.cancelled_by_workers.load(Ordering::Acquire);
        }
        cancelled
    }

    /// From now on workers cancel what they pop instead of running it.
    /// True for the one call that set the flag: the cancellations the
    /// workers make are reported by that call.
    fn start_cancelling(&self) -> bool {
        // AcqRel: Release pairs with the workers' Acquire load; only the
        // first caller sees `false`.
        !self.shared.cancelling.swap(true, Ordering::AcqRel)
    }

    /// Stops admitting and lets admitted tasks run, for at most `timeout`.
    /// Past the deadline, cancels whatever is still queued and returns
    /// without waiting for tasks still running. Returns `true` if every
    /// admitted task finished in time and the workers were joined.
    ///
    /// With `Duration::ZERO` it returns at once: queued tasks are
    /// cancelled, running ones finish on their own. After a `false`,
    /// dropping the pool does not wait for the stragglers; an explicit
    /// [`shutdown`](Self::shutdown) does. Called from one of the pool's own
    /// tasks, it starts the shutdown and returns `false` at once.
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
        self.start_cancelling();
        self.drain_queue();
        // Release: pairs with the Acquire load in `Drop`.
        self.shared.abandoned.store(true, Ordering::Release);
        false
    }

    /// Joins every worker; concurrent callers wait for the first.
    fn join_workers(&self) {
        let shared = &self.shared;
        let mut workers = shared.workers.lock();
        if workers.joining {
            while !workers.terminated {
                workers = shared.terminated.wait(workers);
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
        shared.workers.lock().terminated = true;
        shared.terminated.notify_all();
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

    /// Blocks until nothing is queued or running: every task admitted so
    /// far has finished, and no user code of the pool runs (a result
    /// nobody will take has been dropped). Tasks admitted meanwhile by
    /// other threads are waited for too.
    ///
    /// Called from one of this pool's own tasks, it returns at once: the
    /// pool cannot be idle while the caller runs on it.
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
        if !self.shared.on_own_worker() {
            self.wait_idle_until(None);
        }
    }

    /// Like [`wait_idle`](Self::wait_idle), for at most `timeout`; true if
    /// the pool became idle in time (false at once on the pool's own
    /// worker).
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
        !self.shared.on_own_worker() && self.wait_idle_until(Instant::now().checked_add(timeout))
    }

    pub(crate) fn wait_idle_until(&self, deadline: Option<Instant>) -> bool {
        let mut round = 0u32;
        loop {
            if !self.shared.slots.wait_empty(deadline) {
                return false;
            }
            if self.shared.worker_totals().busy == 0 {
                return true;
            }
            // Every slot is free but a worker is still finishing a job
            // (dropping a result nobody will take): wait for it.
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return false;
            }
            // Yield a while, then sleep briefly: a destructor may be slow.
            #[cfg(not(loom))]
            if round >= IDLE_YIELDS {
                std::thread::sleep(Duration::from_micros(100));
                continue;
            }
            crate::sync::thread::yield_now();
            round = round.saturating_add(1);
        }
    }

    /// Changes the number of worker threads, live. Growing starts threads at
    /// once and makes room for that many more tasks; shrinking lowers the
    /// capacity at once and retires threads only after their current task
    /// (queued tasks are not lost, and still start in admission order).
    /// [`PoolStats::threads`](crate::PoolStats::threads) reports the new
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
        // Retirements not yet carried out are simply taken back.
        let taken_back = workers.pending_retire.min(threads - old);
        workers.pending_retire -= taken_back;
        let mut live = old + taken_back;
        let mut result = Ok(());
        while live < threads {
            let index = (0..)
                .find(|i| workers.counters.iter().all(|(used, _)| used != i))
                .unwrap_or(live);
            if let Err(err) = spawn_worker(shared, &mut workers, index) {
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
}
