//! Finished jobs' allocations, sent back to be freed by a submitting thread.
//!
//! A job is allocated by the thread that submits it and would otherwise be
//! freed by the worker that ran it. glibc's allocator (and most others)
//! returns a block freed on another thread to a shared free list, where the
//! submitter's next allocation finds it with a cache miss and an atomic
//! operation per block: in a stream of short tasks the submitter spent
//! more than half its time in `malloc`. So a worker keeps the emptied
//! allocations of the jobs it finished and hands them back in batches; the
//! next submit frees one batch on its own thread, into its own allocator
//! cache, where its next allocations find them.
//!
//! Only empty allocations travel: a spawned closure has run (and was
//! dropped) and a task's result was dropped before the job joins a batch
//! (see [`Runnable::discard`](super::handle::Runnable::discard)), so freeing
//! a batch runs no user code. A task whose handle is still alive is not
//! kept: its handle frees it.
//!
//! Batches travel in a fixed set of `Vec`s allocated with the pool, so the
//! round trip allocates nothing. A worker that finds no empty `Vec` (the
//! submitters have not come back for the last ones) frees its batch
//! itself. At most `(threads + SPARES) × BATCH` small allocations wait to
//! be freed at any time.

use super::worker::Job;
use crate::sync::queue::Bounded;

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

    /// Called by a submitting thread: frees one waiting batch, if there is
    /// one, and returns its emptied `Vec` to the workers.
    #[inline]
    pub(crate) fn free_one(&self) {
        // A cheap look first: most submits find nothing waiting.
        if self.full.is_empty() {
            return;
        }
        if let Some(mut batch) = self.full.try_recv() {
            batch.clear();
            // Never full: only as many `Vec`s circulate as the bin holds.
            let _ = self.empty.try_send(batch);
        }
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
