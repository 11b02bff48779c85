//! Finished jobs' allocations, sent back to be reused by a submitting
//! thread.
//!
//! A job is allocated by the thread that submits it and would otherwise be
//! freed by the worker that ran it. glibc's allocator (and most others)
//! returns a block freed on another thread to a shared free list, where the
//! submitter's next allocation finds it with a cache miss and an atomic
//! operation per block: in a stream of short tasks the submitter spent
//! more than half its time in `malloc`. So a worker keeps the emptied
//! allocations of the jobs it finished and hands them back in batches.
//!
//! A submitting thread takes one batch at a time into a thread-local
//! stash and reuses its allocations: a new task whose closure and result
//! have the same types as an emptied cell is written into that cell (a
//! spawned closure likewise into an emptied box), so a steady stream of
//! one kind of task allocates and frees almost nothing. The reused cells
//! also keep their places in memory: where a cell sits relative to cache
//! lines matters to how fast it travels between threads (BENCHMARKS.md,
//! sections 11 and 13), and a cell that is reused does not move. An
//! allocation of another type is freed on the submitting thread, into its
//! own allocator cache.
//!
//! Only empty allocations travel: a spawned closure has run (and was
//! dropped) and a task's result was dropped before the job joins a batch
//! (see [`Runnable::discard`](super::handle::Runnable::discard)), so
//! reusing or freeing one runs no user code. A task whose handle is still
//! alive is not kept: its handle frees it.
//!
//! Batches travel in a fixed set of `Vec`s allocated with the pool (and one
//! per submitting thread's stash, allocated the first time it takes a
//! batch), so the round trip allocates nothing. A worker that finds no
//! empty `Vec` (the submitters have not come back for the last ones) frees
//! its batch itself. At most `(threads + SPARES) × BATCH` small
//! allocations wait in the bins, and `BATCH` in each submitting thread's
//! stash until its next submits or its exit.

#[cfg(not(loom))]
use std::cell::RefCell;
use std::sync::Arc;

use super::handle::{self, NewTask};
use super::worker::{Job, Once, Shared};
use crate::sync::queue::Bounded;
#[cfg(not(loom))]
use crate::sync::thread;

#[cfg(not(loom))]
thread::thread_local! {
    /// Emptied allocations this thread took from a pool's full bin, for
    /// its next submits to reuse. At most `BATCH` of them, of any pool;
    /// they hold nothing of the user's and no reference to a pool, and are
    /// freed when the thread exits.
    static STASH: RefCell<Vec<Job>> = const { RefCell::new(Vec::new()) };
}

/// Jobs a worker collects before it hands them back.
#[cfg(not(loom))]
pub(crate) const BATCH: usize = 32;
#[cfg(loom)]
pub(crate) const BATCH: usize = 2;

/// Batches that can be on their way back at once (besides the one each
/// worker fills).
#[cfg(not(loom))]
const SPARES: usize = 2;
#[cfg(loom)]
const SPARES: usize = 1;

/// The two directions a batch travels: full ones to the submitters, empty
/// ones back to the workers.
pub(crate) struct SpentBins {
    /// Full batches, waiting for a submitter to free them.
    full: Bounded<Vec<Job>>,
    /// Emptied batches, waiting for a worker to fill them.
    empty: Bounded<Vec<Job>>,
}

impl SpentBins {
    /// Both bins, with `SPARES` empty batches allocated now.
    pub(crate) fn new() -> Self {
        let bins = SpentBins {
            full: Bounded::new(SPARES),
            empty: Bounded::new(SPARES),
        };
        for _ in 0..SPARES {
            let _ = bins.empty.try_send(Vec::with_capacity(BATCH));
        }
        bins
    }

    /// Called by a submitting thread for a new task: the queue's view of
    /// its cell and its handle, in an emptied cell of the same types from
    /// this thread's stash if there is one (see [`handle::new_task`]).
    #[inline]
    pub(crate) fn new_task<F, T>(&self, f: F, pool: &Arc<Shared>) -> NewTask<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let spent = match self.take() {
            Some(Job::Task(cell)) => Some(cell),
            _ => None,
        };
        handle::new_task(spent, f, pool)
    }

    /// As [`SpentBins::new_task`], for a fire-and-forget closure.
    #[inline]
    pub(crate) fn spawn_box<F>(&self, f: F) -> Box<dyn Once>
    where
        F: FnOnce() + Send + 'static,
    {
        if let Some(Job::Spawn(spent)) = self.take() {
            if let Ok(mut empty) = spent.into_any().downcast::<Option<F>>() {
                *empty = Some(f);
                return empty;
            }
        }
        Box::new(Some(f))
    }

    /// The next emptied allocation of this thread's stash, refilled from
    /// the full bin when it ran dry. An allocation of the wrong type is
    /// dropped by the caller: freed here, on the submitting thread, as
    /// before there was reuse.
    #[cfg(not(loom))]
    #[inline]
    fn take(&self) -> Option<Job> {
        // `try_with`: a submit from a thread-local's destructor finds the
        // stash gone and allocates. `try_borrow_mut`: nothing here runs
        // user code, so the stash is never borrowed twice; if it were, a
        // fresh allocation is the safe answer.
        STASH
            .try_with(|stash| {
                let mut stash = stash.try_borrow_mut().ok()?;
                if let Some(job) = stash.pop() {
                    return Some(job);
                }
                // A cheap look first: most submits find nothing waiting.
                if self.full.is_empty() {
                    return None;
                }
                let mut batch = self.full.try_recv()?;
                if stash.capacity() < BATCH {
                    // This thread's first batch: its stash gets room once,
                    // so the `Vec` it hands to the workers never grows.
                    stash.reserve_exact(BATCH);
                }
                std::mem::swap(&mut *stash, &mut batch);
                // Never full: only as many `Vec`s circulate as the bin
                // holds.
                let _ = self.empty.try_send(batch);
                stash.pop()
            })
            .ok()
            .flatten()
    }

    /// Under loom there is no stash: a cell holds loom's lock and condition
    /// variable, which must not outlive the model's run in a thread-local.
    /// A waiting batch is freed here instead, so its `Vec` still returns to
    /// the workers.
    #[cfg(loom)]
    fn take(&self) -> Option<Job> {
        if let Some(mut batch) = self.full.try_recv() {
            batch.clear();
            let _ = self.empty.try_send(batch);
        }
        None
    }
}

/// The batch a worker is filling.
pub(crate) struct SpentBatch {
    jobs: Vec<Job>,
}

impl SpentBatch {
    /// An empty batch with room for `BATCH` jobs (allocated once, when the
    /// worker starts).
    pub(crate) fn new() -> Self {
        SpentBatch {
            jobs: Vec::with_capacity(BATCH),
        }
    }

    /// Adds a finished job whose allocation holds nothing of the user's any
    /// more; hands the batch back when it is full.
    pub(crate) fn push(&mut self, bins: &SpentBins, job: Job) {
        self.jobs.push(job);
        if self.jobs.len() >= BATCH {
            self.hand_back(bins);
        }
    }

    /// Sends the jobs collected so far to the submitters, or frees them
    /// here if no empty `Vec` is there to take their place.
    pub(crate) fn hand_back(&mut self, bins: &SpentBins) {
        if self.jobs.is_empty() {
            return;
        }
        match bins.empty.try_recv() {
            Some(fresh) => {
                let full = std::mem::replace(&mut self.jobs, fresh);
                // Never full, as in `free_one`; if it were, free them here.
                if let Err(mut full) = bins.full.try_send(full) {
                    full.clear();
                }
            }
            None => self.jobs.clear(),
        }
    }
}
