//! The pool's shared state and its worker threads.
//!
//! # How a task flows
//!
//! 1. The submitter takes a slot from [`Slots`] (lock-free; a refusal ends
//!    here with nothing allocated), counts the submission, allocates the
//!    task once and pushes it on the unbounded queue. The queue never needs
//!    to block: admission already bounds it.
//! 2. A worker pops the task, runs it under `catch_unwind`, counts the
//!    outcome, releases the slot, and only then publishes the result. So a
//!    caller that sees the result also sees the free slot. A fire-and-forget
//!    job (`spawn`) has no result: on pools with a long queue the worker
//!    gives such slots back in batches, and always before it waits for work
//!    ([`Shared::defer_release`]).
//! 3. What is left of the job, an empty allocation (the closure ran, a
//!    detached task's result was dropped), goes back to the submitters in
//!    a batch, and a later submit reuses it for a task of the same type or
//!    frees it on its own thread (`spent.rs`).
//!
//! # How the pool stops
//!
//! Shutting down closes the slot counter: nothing new is admitted. Exactly
//! one party sees the counter closed *and* empty (the closer, if nothing was
//! in flight, or the release of the last task) and pushes a single
//! [`Job::Exit`] token behind every admitted task. A worker that pops it
//! pushes it back for the next worker and exits, so every worker stops after
//! every admitted task has run or been cancelled, whatever the number of
//! workers or resizes in between. No worker is ever asked to wait for itself,
//! which is why dropping a pool on its own worker cannot deadlock.

use std::any::Any;
use std::collections::BTreeSet;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use super::handle::Runnable;
use super::spent::{SpentBatch, SpentBins};
use crate::admission::{Slots, MAX_SLOTS};
use crate::error::{BuildError, BuildErrorKind};
use crate::sync::queue::{Nudge, Queue};
use crate::sync::thread::{self, JoinHandle};
use crate::sync::{AtomicBool, AtomicUsize, CachePadded, Condvar, Mutex, Ordering};

/// What travels on the pool's queue.
pub(crate) enum Job {
    /// A task with a handle (closure and result slot in one allocation).
    Task(Arc<dyn Runnable>),
    /// A fire-and-forget closure, in an allocation that outlives the call
    /// (see [`Once`]).
    Spawn(Box<dyn Once>),
    /// Asks one worker to retire (the pool was shrunk).
    Retire,
    /// Every admitted task is done and the pool is shut down: exit, after
    /// passing the token on.
    Exit,
    /// Wakes a worker to look at the queue's overflow; carries nothing.
    Nudge,
}

/// A fire-and-forget closure that can be called through `&mut`, leaving
/// its allocation behind, empty, to be freed elsewhere (see `spent.rs`).
/// A `Box<dyn FnOnce>` frees its allocation inside the call.
pub(crate) trait Once: Send {
    /// Calls the closure, unless it was called already.
    fn call_once(&mut self);
    /// The allocation as `Any`, so a submitter can reuse it for a closure
    /// of the same type (see `spent.rs`).
    fn into_any(self: Box<Self>) -> Box<dyn Any + Send>;
}

impl<F: FnOnce() + Send + 'static> Once for Option<F> {
    fn call_once(&mut self) {
        // The closure leaves the allocation before it runs, so a panic
        // leaves it empty too.
        if let Some(f) = self.take() {
            f();
        }
    }

    fn into_any(self: Box<Self>) -> Box<dyn Any + Send> {
        self
    }
}

impl Nudge for Job {
    fn nudge() -> Self {
        Job::Nudge
    }

    fn is_nudge(&self) -> bool {
        matches!(self, Job::Nudge)
    }
}

/// Pool-wide counters, grouped by who writes them so writers on different
/// threads do not share a cache line. What workers count per task lives in
/// each worker's own [`WorkerCounters`] instead.
#[derive(Default)]
pub(crate) struct Counters {
    /// Tasks admitted. Written by submitters.
    pub(crate) submitted: CachePadded<AtomicUsize>,
    /// Tasks refused. Written by submitters.
    pub(crate) rejected: CachePadded<AtomicUsize>,
    /// Tasks cancelled before running. Written by workers and shutdowns
    /// (rare: only after `shutdown_now` or an expired `shutdown_timeout`).
    pub(crate) cancelled: CachePadded<AtomicUsize>,
}

/// What one worker counts. Each field has a single writer, the worker
/// itself, so it is updated with a plain load and store (no locked
/// read-modify-write), on a cache line no other thread writes. Readers
/// (stats, `wait_idle`) sum over the workers.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    /// The worker is running a task or publishing its result.
    busy: AtomicBool,
    /// Tasks this worker ran that returned.
    completed: AtomicUsize,
    /// Tasks this worker ran that panicked.
    panicked: AtomicUsize,
    /// Slots of finished `spawn` jobs not yet given back (see
    /// [`Shared::defer_release`]).
    deferred: AtomicUsize,
}

impl WorkerCounters {
    fn bump(counter: &AtomicUsize) {
        // Relaxed: single writer (this worker); the slot release that
        // follows (AcqRel) orders the new value before any reader that sees
        // the slot free or the pool idle.
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    /// Empties `deferred`, returning what it held.
    fn take_deferred(&self) -> usize {
        // Relaxed: single writer (this worker). Zeroed before the slots are
        // given back, so a reader that sees the pool idle reads zero.
        let n = self.deferred.load(Ordering::Relaxed);
        if n > 0 {
            self.deferred.store(0, Ordering::Relaxed);
        }
        n
    }
}

/// The capacity of a pool of `threads` threads and `queue` queue places,
/// or the error that refuses that size.
pub(crate) fn total_slots(name: &str, threads: usize, queue: usize) -> Result<usize, BuildError> {
    if threads == 0 {
        return Err(BuildError::new(BuildErrorKind::ZeroThreads, name));
    }
    threads
        .checked_add(queue)
        .filter(|&c| c <= MAX_SLOTS)
        .ok_or_else(|| BuildError::new(BuildErrorKind::TooLarge, name))
}

/// The largest release batch.
const MAX_RELEASE_BATCH: usize = 32;

/// How many finished jobs a worker may hold the slots of before it gives
/// them back in one step: a thirty-second of the capacity per thread, at
/// most 32, and 1 (give back at once, and a task's slot before its result
/// is published) for pools under 64 slots a thread, where a held slot
/// would be a noticeable share of the capacity.
/// Under loom it is 2 on pools of two slots or more, so the models run the
/// batched path on those and the exact path on pools of one slot.
pub(crate) fn release_batch(threads: usize, capacity: usize) -> usize {
    #[cfg(loom)]
    {
        let _ = threads;
        capacity.clamp(1, 2)
    }
    #[cfg(not(loom))]
    {
        (capacity / threads.max(1) / 32).clamp(1, MAX_RELEASE_BATCH)
    }
}

/// What a worker holds between jobs.
pub(crate) struct Held {
    /// Finished tasks whose slot this worker has not given back yet (their
    /// handles may free it first). Never longer than the largest batch, so
    /// it never grows past the capacity it starts with.
    owed: Vec<Arc<dyn Runnable>>,
    /// Finished jobs' empty allocations, on their way to a submitter.
    spent: SpentBatch,
}

impl Held {
    fn new() -> Self {
        Held {
            owed: Vec::with_capacity(MAX_RELEASE_BATCH),
            spent: SpentBatch::new(),
        }
    }
}

/// Sums of the per-worker counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WorkerTotals {
    pub(crate) busy: usize,
    pub(crate) completed: usize,
    pub(crate) panicked: usize,
    /// Slots held for finished `spawn` jobs, not yet given back.
    pub(crate) deferred: usize,
}

/// The worker threads and what resizing needs to know about them.
pub(crate) struct Workers {
    /// Join handles of every worker started and not yet joined (retired
    /// workers' handles are pruned when finished).
    pub(crate) handles: Vec<JoinHandle<()>>,
    /// The counters of every worker not retired, by thread index.
    pub(crate) counters: Vec<(usize, Arc<CachePadded<WorkerCounters>>)>,
    /// What retired workers counted, folded in when they retired.
    pub(crate) retired: WorkerTotals,
    /// Thread indices in use, so names stay `{name}-0 .. {name}-(n-1)`.
    pub(crate) indices: BTreeSet<usize>,
    /// Retire tokens sent and not yet honoured.
    pub(crate) pending_retire: usize,
    /// Worker threads started so far (for the spawn-failure test hook).
    pub(crate) spawned: usize,
    /// A shutdown is joining the workers.
    pub(crate) joining: bool,
    /// A shutdown finished joining every worker.
    pub(crate) terminated: bool,
}

/// State shared by the pool handle and its workers.
pub(crate) struct Shared {
    /// The pool's name; threads are named `{name}-{index}`.
    pub(crate) name: String,
    /// Admission: `threads + queue_capacity` slots, closed on shutdown.
    pub(crate) slots: Slots,
    /// Admitted tasks waiting for a worker, plus control tokens.
    pub(crate) queue: Queue<Job>,
    /// Finished jobs' allocations on their way back to a submitter.
    pub(crate) spent: SpentBins,
    /// The configured thread count. Written under `workers`; read by stats
    /// (Relaxed: a configuration value, not a synchronisation point).
    pub(crate) threads: AtomicUsize,
    /// The configured queue capacity. Written under `workers`; read by stats.
    pub(crate) queue_capacity: AtomicUsize,
    /// Set by `shutdown_now` and an expired `shutdown_timeout`: workers
    /// cancel what they pop instead of running it.
    pub(crate) cancel_queued: AtomicBool,
    /// Set when a `shutdown_timeout` gave up on running tasks; dropping the
    /// pool then does not wait for them again.
    pub(crate) abandoned: AtomicBool,
    /// Outcome and admission counters, for stats.
    pub(crate) counters: Counters,
    /// Worker bookkeeping; taken by resizes, retirements and shutdown, never
    /// on a task's path.
    pub(crate) workers: Mutex<Workers>,
    /// Signalled when a shutdown has joined every worker.
    pub(crate) terminated: Condvar,
    /// See [`release_batch`]. Written under `workers` with the capacity;
    /// read by workers (Relaxed: a tuning value; any value is correct).
    pub(crate) release_batch: AtomicUsize,
    /// Stack size for worker threads (`None`: the platform default).
    pub(crate) stack_size: Option<usize>,
    /// Test hook: the number of worker threads that may be started before
    /// starting one fails as if the OS refused.
    pub(crate) spawn_limit: Option<usize>,
}

thread::thread_local! {
    /// The pool a worker thread belongs to (the address of its `Shared`),
    /// zero on other threads. Lets a shutdown called from inside a task
    /// avoid waiting for itself.
    static CURRENT_POOL: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Shared {
    /// The identity used by `CURRENT_POOL`.
    pub(crate) fn id(self: &Arc<Self>) -> usize {
        Arc::as_ptr(self) as usize
    }

    /// Whether the calling thread is one of this pool's workers.
    pub(crate) fn on_own_worker(self: &Arc<Self>) -> bool {
        let id = self.id();
        CURRENT_POOL.with(|c| c.get() == id)
    }

    /// Runs a closure whose result nobody can see (a `spawn`, or a task
    /// whose handle was dropped) on worker `me`: counts it and drops its
    /// result (or panic payload) here. The worker then keeps its slot for a
    /// batched release ([`Shared::defer_release`]): nobody can wait on the
    /// result, so the slot need not be free before it exists.
    pub(crate) fn run_detached<T>(&self, me: &WorkerCounters, f: impl FnOnce() -> T) {
        let result = Self::run_and_count(me, f);
        // A destructor that panics must not take the worker down.
        let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(result)));
    }

    /// Marks `me` busy, runs `f` catching a panic, counts the outcome.
    pub(crate) fn run_and_count<T>(
        me: &WorkerCounters,
        f: impl FnOnce() -> T,
    ) -> Result<T, Box<dyn std::any::Any + Send + 'static>> {
        // Relaxed: a statistic until `task_done`'s Release store clears it.
        me.busy.store(true, Ordering::Relaxed);
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        if result.is_ok() {
            WorkerCounters::bump(&me.completed);
        } else {
            WorkerCounters::bump(&me.panicked);
        }
        result
    }

    /// Keeps the slot of a finished job instead of giving it back now: a
    /// `spawn` or detached task (nobody waits on its result), or, with
    /// `owed`, a task whose handle may still want its result (the handle
    /// frees the slot itself if it sees the result first; see
    /// `TaskHandle`'s `settle`). The slots come back in one `fetch_sub` for
    /// several jobs: while a producer streams tasks, the workers then write
    /// the shared admission word once per batch instead of once per job,
    /// and the producer's compare-and-swap finds the word in its own
    /// cache. They come back when the batch is full, when the worker finds
    /// the queue empty (so `wait_idle`, a waiting submitter and shutdown
    /// see them as soon as no work is queued), and when it retires.
    /// Holding a slot longer never admits more than the capacity; it can
    /// only refuse a little earlier, while work is queued.
    fn defer_release(&self, me: &WorkerCounters, held: &mut Held, owed: Option<Arc<dyn Runnable>>) {
        if let Some(task) = owed {
            held.owed.push(task);
        }
        // Relaxed: single writer (this worker); see `take_deferred`.
        let n = me.deferred.load(Ordering::Relaxed) + 1;
        me.deferred.store(n, Ordering::Relaxed);
        // Relaxed: a tuning value.
        if n >= self.release_batch.load(Ordering::Relaxed) {
            self.flush_deferred(me, held);
        }
    }

    /// Gives back every slot `me` deferred, except those of owed tasks
    /// whose handles freed them first; returns how many it freed.
    pub(crate) fn flush_deferred(&self, me: &WorkerCounters, held: &mut Held) -> usize {
        let mut n = me.take_deferred();
        let Held { owed, spent } = held;
        for task in owed.iter() {
            if !task.claim_slot() {
                n -= 1; // its handle freed it
            }
        }
        if n > 0 {
            self.release_slots(n);
        }
        for task in owed.drain(..) {
            task.slot_freed();
            self.recycle_task(spent, task);
        }
        n
    }

    /// Marks the job a worker ran as fully done: its result (if any) is
    /// published and its slot is freed or deferred. `wait_idle` waits for
    /// this too, so a handle is finished by the time the pool reports idle.
    pub(crate) fn task_done(&self, me: &WorkerCounters) {
        // Release: pairs with the Acquire loads in `worker_totals`, so a
        // caller of `wait_idle` sees the published result.
        me.busy.store(false, Ordering::Release);
    }

    /// Sums the per-worker counters (live and retired).
    pub(crate) fn worker_totals(&self) -> WorkerTotals {
        let workers = self.workers.lock();
        let mut totals = workers.retired;
        for (_, c) in &workers.counters {
            // Acquire: pairs with the Release store in `task_done`.
            totals.busy += usize::from(c.busy.load(Ordering::Acquire));
            // Relaxed: statistics, ordered for idle readers by the slot
            // release (see `WorkerCounters::bump`).
            totals.completed += c.completed.load(Ordering::Relaxed);
            totals.panicked += c.panicked.load(Ordering::Relaxed);
            totals.deferred += c.deferred.load(Ordering::Relaxed);
        }
        totals
    }

    /// Records a new size: the configured `threads` and `queue`, the
    /// admission capacity `threads + queue` and the release batch to match.
    /// Called under `workers`, after [`total_slots`] accepted the size.
    pub(crate) fn set_size(&self, threads: usize, queue: usize) {
        // Relaxed: configuration values written only under `workers`, read
        // by stats and (the batch) by workers as tuning values.
        self.threads.store(threads, Ordering::Relaxed);
        self.queue_capacity.store(queue, Ordering::Relaxed);
        self.release_batch
            .store(release_batch(threads, threads + queue), Ordering::Relaxed);
        self.slots.set_capacity(threads + queue);
    }

    /// Counts a cancellation and frees the slot.
    pub(crate) fn finish_cancelled(&self) {
        // Relaxed: ordered before readers by the slot release, as above.
        self.counters.cancelled.fetch_add(1, Ordering::Relaxed);
        self.release_slots(1);
    }

    /// Gives `n` slots back; the release that empties a closed pool sends
    /// the Exit token.
    pub(crate) fn release_slots(&self, n: usize) {
        if self.slots.release_many(n).closed_and_empty {
            self.queue.send(Job::Exit);
        }
    }

    /// Runs or cancels one job popped from the queue, on worker `me`; what
    /// is left of its allocation goes to `held.spent` if nobody else holds
    /// it.
    fn handle(&self, me: &WorkerCounters, held: &mut Held, job: Job) {
        // Acquire: pairs with the Release store in `cancel_queued()`, so a
        // worker that sees the flag also sees the shutdown that set it.
        let cancel = self.cancel_queued.load(Ordering::Acquire);
        match job {
            Job::Task(task) => self.handle_task(me, held, task, cancel),
            Job::Spawn(mut f) => {
                if cancel {
                    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(f)));
                    self.finish_cancelled();
                } else {
                    self.run_detached(me, || f.call_once());
                    self.finish_detached(me, held, Job::Spawn(f));
                }
            }
            Job::Retire | Job::Exit | Job::Nudge => {
                unreachable!("control tokens are handled by the worker loop")
            }
        }
    }

    /// The `Job::Task` arm of [`Shared::handle`], kept out of line so the
    /// spawn path stays short.
    #[inline(never)]
    fn handle_task(
        &self,
        me: &WorkerCounters,
        held: &mut Held,
        mut task: Arc<dyn Runnable>,
        cancel: bool,
    ) {
        if cancel {
            task.cancel(self);
        } else if let Some(cell) = Arc::get_mut(&mut task) {
            // The handle was dropped before the task ran: nobody
            // can see its result, so it runs as a spawn would.
            cell.run_detached(self, me);
            self.finish_detached(me, held, Job::Task(task));
            return;
        } else {
            // Relaxed: a tuning value. A batch of one gives each
            // slot back before the result is published.
            let exact = self.release_batch.load(Ordering::Relaxed) <= 1;
            if task.run(self, me, exact) && !exact {
                // The slot is still held: the batch or the handle frees it.
                self.defer_release(me, held, Some(task));
                self.task_done(me);
                return;
            }
            self.task_done(me);
        }
        self.recycle_task(&mut held.spent, task);
    }

    /// After [`Shared::run_detached`]: keeps the job's slot for a batched
    /// release, marks the worker idle, and keeps the job's empty
    /// allocation for a submitter to free.
    fn finish_detached(&self, me: &WorkerCounters, held: &mut Held, spent: Job) {
        self.defer_release(me, held, None);
        self.task_done(me);
        held.spent.push(&self.spent, spent);
    }

    /// Keeps the cell of a finished task for a submitter to free, if this
    /// is the last reference (the handle is gone), after dropping the
    /// result nobody will join. A panicking destructor must not kill the
    /// worker.
    fn recycle_task(&self, spent: &mut SpentBatch, task: Arc<dyn Runnable>) {
        let emptied = panic::catch_unwind(AssertUnwindSafe(move || {
            let mut task = task;
            let cell = Arc::get_mut(&mut task)?;
            cell.discard();
            Some(task)
        }));
        if let Ok(Some(task)) = emptied {
            spent.push(&self.spent, Job::Task(task));
        }
    }

    /// Cancels one job popped by a shutdown; returns whether it was a task.
    pub(crate) fn cancel_job(&self, job: Job) -> bool {
        match job {
            Job::Task(task) => {
                task.cancel(self);
                let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(task)));
                true
            }
            Job::Spawn(f) => {
                let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(f)));
                self.finish_cancelled();
                true
            }
            Job::Retire | Job::Nudge => false,
            Job::Exit => {
                // Not ours to eat: the workers need it to stop.
                self.queue.send(Job::Exit);
                false
            }
        }
    }

    /// Tells workers to cancel instead of run from now on.
    pub(crate) fn set_cancel_queued(&self) {
        // Release: pairs with the Acquire load in `handle`.
        self.cancel_queued.store(true, Ordering::Release);
    }

    /// Starts a worker with the given index. Called with `workers` locked.
    pub(crate) fn spawn_worker(
        self: &Arc<Self>,
        workers: &mut Workers,
        index: usize,
    ) -> Result<(), BuildError> {
        if let Some(limit) = self.spawn_limit {
            if workers.spawned >= limit {
                return Err(BuildError::spawn(
                    &self.name,
                    io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "thread limit reached (test hook)",
                    ),
                ));
            }
        }
        let mut builder = thread::Builder::new().name(format!("{}-{}", self.name, index));
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = Arc::clone(self);
        let counters = Arc::new(CachePadded(WorkerCounters::default()));
        let mine = Arc::clone(&counters);
        let handle = builder
            .spawn(move || worker_loop(shared, index, mine))
            .map_err(|e| BuildError::spawn(&self.name, e))?;
        workers.counters.push((index, counters));
        workers.spawned += 1;
        workers.indices.insert(index);
        workers.handles.retain(|h| !h.is_finished());
        workers.handles.push(handle);
        Ok(())
    }
}

/// Pops the next job. An idle worker first polls for a few microseconds
/// (spinning, then yielding) before it parks: under a steady stream of
/// short tasks the queue is empty only briefly, and a parked worker costs
/// the submitter a wake-up system call. Under loom only the parking path
/// exists.
fn next_job(shared: &Shared, me: &WorkerCounters, held: &mut Held) -> Job {
    let queue = &shared.queue;
    if let Some(job) = queue.try_recv() {
        return job;
    }
    // Nothing queued: give back the slots of finished jobs before waiting
    // (see `Shared::defer_release`), and what finished jobs left behind.
    shared.flush_deferred(me, held);
    held.spent.hand_back(&shared.spent);
    #[cfg(not(loom))]
    for step in 0..IDLE_POLL_STEPS {
        if let Some(job) = queue.try_recv() {
            return job;
        }
        if step <= IDLE_SPIN_STEPS {
            crate::sync::spin_step(step);
        } else {
            thread::yield_now();
        }
    }
    queue.recv()
}

/// Polling before an idle worker parks: steps `0..=IDLE_SPIN_STEPS` spin
/// `2^step` pause hints each; the rest up to `IDLE_POLL_STEPS` yield once.
#[cfg(not(loom))]
const IDLE_SPIN_STEPS: u32 = 6;
#[cfg(not(loom))]
const IDLE_POLL_STEPS: u32 = 16;

/// The loop every worker thread runs.
fn worker_loop(shared: Arc<Shared>, index: usize, me: Arc<CachePadded<WorkerCounters>>) {
    let id = shared.id();
    CURRENT_POOL.with(|c| c.set(id));
    let mut held = Held::new();
    loop {
        match next_job(&shared, &me, &mut held) {
            Job::Exit => {
                // Exit is sent once every slot is free: any task this
                // worker still owes a slot for had it freed by its handle,
                // so this frees nothing; it only lets go of those tasks.
                let freed = shared.flush_deferred(&me, &mut held);
                debug_assert_eq!(freed, 0, "a slot was still held at Exit");
                // Pass the token on so every other worker sees it too.
                shared.queue.send(Job::Exit);
                break;
            }
            Job::Retire => {
                shared.flush_deferred(&me, &mut held);
                let mut workers = shared.workers.lock();
                if workers.pending_retire > 0 {
                    workers.pending_retire -= 1;
                    workers.indices.remove(&index);
                    // Fold this worker's counts into the retired totals.
                    // Relaxed: single writer (this thread), read under the
                    // `workers` lock we hold.
                    workers.retired.completed += me.completed.load(Ordering::Relaxed);
                    workers.retired.panicked += me.panicked.load(Ordering::Relaxed);
                    workers.counters.retain(|(i, _)| *i != index);
                    break;
                }
                // A later grow took this retirement back: keep working.
            }
            Job::Nudge => {} // look at the queue again
            job => shared.handle(&me, &mut held, job),
        }
    }
    CURRENT_POOL.with(|c| c.set(0));
}
