//! The state a pool's handle and its workers share, and its counters.

use super::job::Job;
use super::queue::Queue;
use crate::admission::{Slots, MAX_SLOTS};
use crate::error::{BuildError, BuildErrorKind};
use crate::sync::thread::{self, JoinHandle, ThreadId};
use crate::sync::{Arc, AtomicBool, AtomicUsize, CachePadded, Condvar, Mutex, Ordering};

/// Pool-wide counters, each on its own cache line: submitters write the
/// first two, cancellers the third. What workers count per task lives in
/// each worker's own [`WorkerCounters`].
#[derive(Default)]
pub(crate) struct Counters {
    /// Tasks admitted. Written by submitters.
    pub(crate) submitted: CachePadded<AtomicUsize>,
    /// Tasks refused. Written by submitters.
    pub(crate) rejected: CachePadded<AtomicUsize>,
    /// Tasks cancelled before running. Written by cancellers (a handle's
    /// `cancel`, `cancel_queued`, `shutdown_now`, an expired
    /// `shutdown_timeout`).
    pub(crate) cancelled: CachePadded<AtomicUsize>,
}

/// What one worker counts. Each field has one writer, the worker itself,
/// so it is updated with a plain load and store (no locked
/// read-modify-write) on a cache line no other thread writes; readers
/// (stats, `wait_idle`) sum over the workers.
#[derive(Default)]
pub(crate) struct WorkerCounters {
    /// The worker is handling a job: from before it runs user code until
    /// after the last of it (the closure, the result if nobody will take
    /// it) has been dropped.
    pub(crate) busy: AtomicBool,
    /// Tasks this worker ran that returned.
    pub(crate) completed: AtomicUsize,
    /// Tasks this worker ran that panicked.
    pub(crate) panicked: AtomicUsize,
}

impl WorkerCounters {
    /// Counts a task this worker ran: returned or panicked.
    pub(crate) fn count(&self, returned: bool) {
        let counter = if returned {
            &self.completed
        } else {
            &self.panicked
        };
        // Relaxed: single writer (this worker); the slot release that
        // follows (AcqRel) orders the new value before any reader that sees
        // the slot free or the pool idle.
        counter.store(counter.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
    }

    pub(crate) fn set_busy(&self, busy: bool) {
        // Release: pairs with the Acquire load in `worker_totals`, so a
        // caller of `wait_idle` that sees the worker idle also sees what
        // its job did (a published result, a dropped one).
        self.busy.store(busy, Ordering::Release);
    }
}

/// Sums of the per-worker counters.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct WorkerTotals {
    pub(crate) busy: usize,
    pub(crate) completed: usize,
    pub(crate) panicked: usize,
}

/// The worker threads and what resizing needs to know about them.
pub(crate) struct Workers {
    /// Join handles of every worker started and not yet joined (retired
    /// workers' handles are pruned when finished).
    pub(crate) handles: Vec<JoinHandle<()>>,
    /// The counters of every worker not retired, by thread index (the
    /// indices in use, so names stay `{name}-0 .. {name}-(n-1)`).
    pub(crate) counters: Vec<(usize, Arc<CachePadded<WorkerCounters>>)>,
    /// What retired workers counted, folded in when they retired.
    pub(crate) retired: WorkerTotals,
    /// The ids of the worker threads running now; each worker adds its own
    /// before it takes a job and removes it when it leaves.
    pub(crate) thread_ids: Vec<ThreadId>,
    /// Retire tokens sent and not yet honoured.
    pub(crate) pending_retire: usize,
    /// Worker threads started so far (for the spawn-failure test hook).
    #[cfg(test)]
    pub(crate) spawned: usize,
    /// A shutdown is joining the workers.
    pub(crate) joining: bool,
    /// A shutdown finished joining every worker.
    pub(crate) terminated: bool,
}

impl Workers {
    pub(crate) fn new(threads: usize) -> Self {
        Workers {
            handles: Vec::with_capacity(threads),
            counters: Vec::with_capacity(threads),
            retired: WorkerTotals::default(),
            thread_ids: Vec::with_capacity(threads),
            pending_retire: 0,
            #[cfg(test)]
            spawned: 0,
            joining: false,
            terminated: false,
        }
    }
}

/// State shared by the pool handle and its workers.
pub(crate) struct Shared {
    /// The pool's name; threads are named `{name}-{index}`.
    /// (`std`'s `Arc`: shared with every `Rejected` this pool hands out.)
    pub(crate) name: std::sync::Arc<str>,
    /// Admission: `threads + queue_capacity` slots, closed on shutdown.
    pub(crate) slots: Slots,
    /// Admitted work waiting for a worker, in admission order, plus
    /// control tokens.
    pub(crate) queue: Queue<Job>,
    /// The configured thread count. Written under `workers`; read by stats
    /// (Relaxed: a configuration value, not a synchronisation point).
    pub(crate) threads: AtomicUsize,
    /// The configured queue capacity. Written under `workers`; read by stats.
    pub(crate) queue_capacity: AtomicUsize,
    /// Set by `shutdown_now` and an expired `shutdown_timeout`: workers
    /// cancel what they pop instead of running it.
    pub(crate) cancelling: AtomicBool,
    /// Tasks workers cancelled because of `cancelling`; reported by the
    /// `shutdown_now` call that set the flag.
    pub(crate) cancelled_by_workers: AtomicUsize,
    /// Set when a `shutdown_timeout` gave up on running tasks; dropping the
    /// pool then does not wait for them again.
    pub(crate) abandoned: AtomicBool,
    /// Outcome and admission counters, for stats.
    pub(crate) counters: Counters,
    /// Worker bookkeeping; taken by resizes, retirements, stats and
    /// shutdown, never on a task's path.
    pub(crate) workers: Mutex<Workers>,
    /// Signalled when a shutdown has joined every worker.
    pub(crate) terminated: Condvar,
    /// Stack size for worker threads (`None`: the platform default).
    pub(crate) stack_size: Option<usize>,
    /// Test hook: how many worker threads may be started before starting
    /// one fails as if the operating system refused.
    #[cfg(test)]
    pub(crate) spawn_limit: Option<usize>,
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

impl Shared {
    /// Whether the calling thread is one of this pool's workers (so a
    /// call from inside a task can avoid waiting for itself).
    /// Workers are named `{name}-{index}`: a thread without that prefix
    /// is answered without the `workers` lock (`execute` asks on every
    /// call); one with it is checked by id, since other threads may carry
    /// such a name too.
    pub(crate) fn on_own_worker(&self) -> bool {
        let me = thread::current();
        let named_like_ours = me
            .name()
            .and_then(|n| n.strip_prefix(&*self.name))
            .is_some_and(|rest| rest.starts_with('-'));
        named_like_ours && self.workers.lock().thread_ids.contains(&me.id())
    }

    /// Sums the per-worker counters (live and retired).
    pub(crate) fn worker_totals(&self) -> WorkerTotals {
        let workers = self.workers.lock();
        let mut totals = workers.retired;
        for (_, c) in &workers.counters {
            // Acquire: pairs with the Release store in `set_busy`.
            totals.busy += usize::from(c.busy.load(Ordering::Acquire));
            // Relaxed: statistics, ordered for idle readers by the slot
            // release (see `WorkerCounters::count`).
            totals.completed += c.completed.load(Ordering::Relaxed);
            totals.panicked += c.panicked.load(Ordering::Relaxed);
        }
        totals
    }

    /// Records a new size: the configured `threads` and `queue` and the
    /// admission capacity `threads + queue`. Called under `workers`, after
    /// [`total_slots`] accepted the size.
    pub(crate) fn set_size(&self, threads: usize, queue: usize) {
        // Relaxed: configuration values written only under `workers` and
        // read by stats.
        self.threads.store(threads, Ordering::Relaxed);
        self.queue_capacity.store(queue, Ordering::Relaxed);
        self.slots.set_capacity(threads + queue);
    }

    /// Gives one slot back; the release that empties a closed pool sends
    /// the Exit token.
    pub(crate) fn release_slot(&self) {
        if self.slots.release().closed_and_empty {
            self.queue.send(Job::Exit);
        }
    }

    /// Counts a cancellation and frees its slot.
    pub(crate) fn finish_cancelled(&self) {
        // Relaxed: ordered before idle readers by the slot release.
        self.counters.cancelled.fetch_add(1, Ordering::Relaxed);
        self.release_slot();
    }
}
