//! What travels on a pool's queue: a job (a spawned closure, or a task's
//! closure beside the cell its handle waits on) or a control token.
//!
//! A `spawn` is one allocation, the boxed closure. A task with a handle is
//! two: the boxed closure, which a worker consumes, and the [`TaskCell`]
//! its result goes to, shared with the [`TaskHandle`](super::TaskHandle).
//! Keeping the closure out of the cell keeps the cell generic over the
//! result type only, so the handle needs no type erasure and every
//! reference count is the `sync` facade's (loom checks them).

use std::panic::{self, AssertUnwindSafe};

use super::shared::{Shared, WorkerCounters};
use crate::error::TaskError;
use crate::sync::{Arc, AtomicBool, Condvar, Mutex, Ordering};

/// An item of the pool's queue.
pub(crate) enum Job {
    /// Admitted work: it holds one slot until it has run or been
    /// cancelled.
    Work(Box<dyn Work>),
    /// Asks one worker to retire (the pool was shrunk).
    Retire,
    /// Every admitted task is done and the pool is shut down: exit, after
    /// passing the token on.
    Exit,
}

/// Admitted work, run or cancelled exactly once.
pub(crate) trait Work: Send {
    /// Runs the work on worker `me`: counts its outcome, gives its slot
    /// back and, for a task, publishes the result (slot first, so whoever
    /// sees the result also sees the room).
    fn run(self: Box<Self>, pool: &Shared, me: &WorkerCounters);

    /// Drops the work unrun. Returns true if this cancelled a task (it was
    /// counted as cancelled and its slot freed here), false if its handle
    /// had cancelled it already.
    fn cancel(self: Box<Self>, pool: &Shared) -> bool;
}

/// Drops `value` (user code: a closure's captures, a result) so that a
/// panicking destructor cannot unwind into the pool's own code.
pub(crate) fn drop_contained<V>(value: V) {
    let _ = panic::catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// A fire-and-forget closure.
pub(crate) struct SpawnJob<F>(pub(crate) F);

impl<F: FnOnce() + Send> Work for SpawnJob<F> {
    fn run(self: Box<Self>, pool: &Shared, me: &WorkerCounters) {
        let f = self.0;
        // The closure and everything it captured are dropped inside the
        // call, so no user code runs after the slot is back.
        me.count(panic::catch_unwind(AssertUnwindSafe(f)).is_ok());
        pool.release_slot();
    }

    fn cancel(self: Box<Self>, pool: &Shared) -> bool {
        drop_contained(self.0);
        pool.finish_cancelled();
        true
    }
}

/// A task's closure, and the cell its result goes to.
pub(crate) struct TaskJob<F, T> {
    pub(crate) f: F,
    pub(crate) cell: Arc<TaskCell<T>>,
}

impl<F, T> Work for TaskJob<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(self: Box<Self>, pool: &Shared, me: &WorkerCounters) {
        let TaskJob { f, cell } = *self;
        if !cell.start() {
            // Its handle cancelled it, and freed its slot, while it was
            // queued.
            drop_contained(f);
            return;
        }
        let result = panic::catch_unwind(AssertUnwindSafe(f));
        me.count(result.is_ok());
        pool.release_slot();
        cell.publish(result.map_err(TaskError::Panicked));
        // If the handle is gone, the result is dropped here, before the
        // worker reports itself idle (`wait_idle` waits for that).
        drop_contained(cell);
    }

    fn cancel(self: Box<Self>, pool: &Shared) -> bool {
        let TaskJob { f, cell } = *self;
        drop_contained(f);
        if cell.cancel() {
            pool.finish_cancelled();
            true
        } else {
            false
        }
    }
}

/// Where a task stands.
enum Stage<T> {
    /// Admitted; its closure waits in the queue.
    Queued,
    /// A worker is running it.
    Running,
    /// Finished, panicked or cancelled; the result waits for the handle.
    Done(Result<T, TaskError>),
    /// The handle took the result.
    Taken,
}

/// The result of a task, shared by the worker that runs it and its handle.
pub(crate) struct TaskCell<T> {
    /// Written by the worker (Queued -> Running -> Done), a canceller
    /// (Queued -> Done) and the handle (Done -> Taken); read by the handle.
    stage: Mutex<Stage<T>>,
    /// Set once, after the stage became Done: lets a joiner spin briefly
    /// without the lock, and `is_finished` answer without it.
    finished: AtomicBool,
    /// Signalled when the stage becomes Done.
    done: Condvar,
}

impl<T> TaskCell<T> {
    pub(crate) fn new() -> Self {
        TaskCell {
            stage: Mutex::new(Stage::Queued),
            finished: AtomicBool::new(false),
            done: Condvar::new(),
        }
    }

    /// Queued -> Running; false if the task was cancelled first.
    fn start(&self) -> bool {
        let mut stage = self.stage.lock();
        if matches!(*stage, Stage::Queued) {
            *stage = Stage::Running;
            true
        } else {
            false
        }
    }

    /// Queued -> Done(Cancelled); false if a worker started it first (or
    /// it was cancelled already). The caller frees the slot on true.
    pub(crate) fn cancel(&self) -> bool {
        let mut stage = self.stage.lock();
        if !matches!(*stage, Stage::Queued) {
            return false;
        }
        *stage = Stage::Done(Err(TaskError::Cancelled));
        self.mark_finished(stage);
        true
    }

    fn publish(&self, result: Result<T, TaskError>) {
        let mut stage = self.stage.lock();
        *stage = Stage::Done(result);
        self.mark_finished(stage);
    }

    fn mark_finished(&self, stage: crate::sync::MutexGuard<'_, Stage<T>>) {
        // Release: pairs with the Acquire load in `is_finished`; the result
        // itself travels under the lock.
        self.finished.store(true, Ordering::Release);
        drop(stage);
        self.done.notify_all();
    }

    pub(crate) fn is_finished(&self) -> bool {
        // Acquire: pairs with the Release store in `mark_finished`.
        self.finished.load(Ordering::Acquire)
    }

    /// Takes the result, waiting until `deadline` (`None`: forever);
    /// `None` if the deadline passed first.
    pub(crate) fn take(
        &self,
        deadline: Option<std::time::Instant>,
    ) -> Option<Result<T, TaskError>> {
        self.spin_until_finished();
        let mut stage = self.stage.lock();
        loop {
            if let Stage::Done(_) = *stage {
                let Stage::Done(result) = std::mem::replace(&mut *stage, Stage::Taken) else {
                    unreachable!("matched Done above");
                };
                return Some(result);
            }
            match deadline {
                None => stage = self.done.wait(stage),
                Some(deadline) => {
                    let (s, timed_out) = self.done.wait_until(stage, deadline);
                    stage = s;
                    if timed_out && !matches!(*stage, Stage::Done(_)) {
                        return None;
                    }
                }
            }
        }
    }

    /// Spins briefly for short tasks, so a round trip on an idle pool
    /// usually avoids putting the joiner to sleep and waking it again.
    fn spin_until_finished(&self) {
        #[cfg(not(loom))]
        for round in 0..SPIN_ROUNDS {
            if self.is_finished() {
                return;
            }
            if round < SPIN_PAUSES {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// A joiner's spin before it blocks: `SPIN_PAUSES` CPU pause hints, then
/// yields up to `SPIN_ROUNDS` rounds in all.
#[cfg(not(loom))]
const SPIN_PAUSES: u32 = 64;
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = SPIN_PAUSES + 16;
