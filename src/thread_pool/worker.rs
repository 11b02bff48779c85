//! The worker threads: how one is started and the loop it runs.
//!
//! A worker pops the oldest job and runs it (see [`Work::run`]: the slot is
//! given back before a task's result is published), marked busy from
//! before the job's user code until after the last of it has run. Two
//! control tokens travel on the same queue:
//!
//! * [`Job::Retire`] (the pool was shrunk): the first worker to pop it
//!   leaves, after the jobs queued before it started.
//! * [`Job::Exit`]: shutting down closes the slot counter, and exactly one
//!   party sees it closed *and* empty (the closer, if nothing was in
//!   flight, or the release of the last slot) and sends a single Exit
//!   behind every admitted job. A worker that pops it sends it on for the
//!   next worker and exits, so every worker stops after every admitted
//!   task has run or been cancelled, whatever the number of workers or
//!   resizes in between. No worker ever waits for itself, which is why
//!   dropping a pool on its own worker cannot deadlock.
//!
//! [`Work::run`]: super::job::Work::run

use super::job::Job;
use super::shared::{Shared, WorkerCounters, Workers};
use crate::error::BuildError;
use crate::sync::thread;
use crate::sync::{Arc, CachePadded, Ordering};

/// Starts a worker of `shared` with the given index. Called with
/// `workers` locked.
pub(crate) fn spawn_worker(
    shared: &Arc<Shared>,
    workers: &mut Workers,
    index: usize,
) -> Result<(), BuildError> {
    #[cfg(test)]
    if let Some(limit) = shared.spawn_limit {
        if workers.spawned >= limit {
            return Err(BuildError::spawn(
                &shared.name,
                std::io::Error::new(std::io::ErrorKind::WouldBlock, "thread limit (test hook)"),
            ));
        }
    }
    let mut builder = thread::Builder::new().name(format!("{}-{}", shared.name, index));
    if let Some(size) = shared.stack_size {
        builder = builder.stack_size(size);
    }
    let for_worker = Arc::clone(shared);
    let counters = Arc::new(CachePadded(WorkerCounters::default()));
    let mine = Arc::clone(&counters);
    let handle = builder
        .spawn(move || worker_loop(for_worker, index, mine))
        .map_err(|e| BuildError::spawn(&shared.name, e))?;
    workers.counters.push((index, counters));
    #[cfg(test)]
    {
        workers.spawned += 1;
    }
    workers.handles.retain(|h| !h.is_finished());
    workers.handles.push(handle);
    Ok(())
}

/// The loop every worker thread runs.
fn worker_loop(shared: Arc<Shared>, index: usize, me: Arc<CachePadded<WorkerCounters>>) {
    let id = thread::current().id();
    shared.workers.lock().thread_ids.push(id);
    loop {
        match shared.queue.recv() {
            Job::Work(work) => {
                me.set_busy(true);
                // Acquire: pairs with the Release in `start_cancelling`, so
                // a worker that sees the flag also sees the shutdown.
                if shared.cancelling.load(Ordering::Acquire) {
                    if work.cancel(&shared) {
                        // Relaxed: read after the workers are joined.
                        shared.cancelled_by_workers.fetch_add(1, Ordering::Relaxed);
                    }
                } else {
                    work.run(&shared, &me);
                }
                me.set_busy(false);
            }
            Job::Exit => {
                // Pass the token on so every other worker sees it too.
                shared.queue.send(Job::Exit);
                break;
            }
            Job::Retire => {
                let mut workers = shared.workers.lock();
                if workers.pending_retire > 0 {
                    workers.pending_retire -= 1;
                    workers.thread_ids.retain(|t| *t != id);
                    // Fold this worker's counts into the retired totals.
                    // Relaxed: single writer (this thread), read under the
                    // `workers` lock we hold.
                    workers.retired.completed += me.completed.load(Ordering::Relaxed);
                    workers.retired.panicked += me.panicked.load(Ordering::Relaxed);
                    workers.counters.retain(|(i, _)| *i != index);
                    return;
                }
                // A later grow took this retirement back: keep working.
            }
        }
    }
    shared.workers.lock().thread_ids.retain(|t| *t != id);
}
