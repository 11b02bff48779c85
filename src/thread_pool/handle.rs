//! [`TaskHandle`]: waits for a task's result, or cancels it while queued.

use std::fmt;
use std::time::{Duration, Instant};

use super::job::{TaskCell, TaskJob};
use super::shared::Shared;
use crate::error::TaskError;
use crate::sync::Arc;

/// A handle to a task submitted to a [`ThreadPoolBulkhead`](crate::ThreadPoolBulkhead).
///
/// Dropping the handle detaches the task: it still runs, and its result is
/// dropped on the worker thread.
///
/// # Examples
///
/// ```
/// use bulkheads::ThreadPoolBulkhead;
/// use std::time::Duration;
///
/// let pool = ThreadPoolBulkhead::builder("render").threads(2).queue_capacity(4).build()?;
/// let handle = pool.try_submit(|| (1..=10).sum::<u32>())?;
/// match handle.join_timeout(Duration::from_secs(5)) {
///     Ok(result) => assert_eq!(result?, 55),
///     Err(handle) => drop(handle), // still running: detach it
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a TaskHandle detaches the task; call join() to get its result"]
pub struct TaskHandle<T> {
    cell: Arc<TaskCell<T>>,
    /// The pool, so that `cancel` can free the task's slot and count it.
    pool: Arc<Shared>,
}

impl<T: Send + 'static> TaskHandle<T> {
    /// The queue's job for `f` and its handle.
    pub(crate) fn new<F>(f: F, pool: &Arc<Shared>) -> (TaskJob<F, T>, Self)
    where
        F: FnOnce() -> T + Send + 'static,
    {
        let cell = Arc::new(TaskCell::new());
        let job = TaskJob {
            f,
            cell: Arc::clone(&cell),
        };
        let handle = TaskHandle {
            cell,
            pool: Arc::clone(pool),
        };
        (job, handle)
    }

    /// Waits for the task and returns its value, or why there is none:
    /// [`TaskError::Panicked`] with the panic payload, or
    /// [`TaskError::Cancelled`] if it was cancelled before it ran.
    ///
    /// By the time `join` returns, the task's slot in the pool is already
    /// free: a caller that submits one task at a time and joins each is
    /// never rejected.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    ///
    /// let pool = ThreadPoolBulkhead::builder("math").threads(1).build()?;
    /// for i in 0..100 {
    ///     // One slot, one task at a time: never rejected.
    ///     assert_eq!(pool.try_submit(move || i + 1)?.join()?, i + 1);
    /// }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        match self.cell.take(None) {
            Some(result) => result,
            None => unreachable!("an untimed wait returns only with a result"),
        }
    }

    /// Waits up to `timeout` for the task. On time, returns `Ok` with what
    /// [`join`](TaskHandle::join) would have returned; otherwise gives the
    /// handle back in `Err` so the caller can wait again, cancel or
    /// detach.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    /// use std::sync::mpsc;
    /// use std::time::Duration;
    ///
    /// let pool = ThreadPoolBulkhead::builder("slow").threads(1).build()?;
    /// let (go, gate) = mpsc::channel::<()>();
    /// let handle = pool.try_submit(move || gate.recv().map(|_| 5).unwrap_or(0))?;
    /// let handle = handle.join_timeout(Duration::from_millis(1)).unwrap_err(); // not yet
    /// go.send(()).unwrap();
    /// assert_eq!(handle.join()?, 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, TaskHandle<T>> {
        let deadline = Instant::now().checked_add(timeout);
        match self.cell.take(deadline) {
            Some(result) => Ok(result),
            None => Err(self),
        }
    }

    /// Whether the task has finished (ran, panicked or was cancelled), so
    /// that [`join`](TaskHandle::join) would not block. Never blocks. Once
    /// it returns true, the task's slot in the pool is free.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ThreadPoolBulkhead;
    ///
    /// let pool = ThreadPoolBulkhead::builder("quick").threads(1).build()?;
    /// let handle = pool.try_submit(|| 1)?;
    /// pool.wait_idle();
    /// assert!(handle.is_finished());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.cell.is_finished()
    }

    /// Cancels the task if it has not started: returns true, its slot is
    /// free when this returns (the next `try_submit` finds room), it will
    /// never run, and [`join`](TaskHandle::join) reports
    /// [`TaskError::Cancelled`]. Its closure is dropped, unrun, when a
    /// worker reaches it in the queue. A task that has started (or
    /// finished, or was cancelled already) is left alone: returns false.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{TaskError, ThreadPoolBulkhead};
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPoolBulkhead::builder("ui-jobs").threads(1).queue_capacity(1).build()?;
    /// let (started_tx, started) = mpsc::channel();
    /// let (go, gate) = mpsc::channel::<()>();
    /// let running = pool.try_submit(move || { started_tx.send(()).unwrap(); gate.recv().unwrap(); })?;
    /// started.recv().unwrap();
    /// let queued = pool.try_submit(|| "never runs")?;
    ///
    /// assert!(queued.cancel());                  // had not started
    /// assert!(!running.cancel());                // running: left alone
    /// let next = pool.try_submit(|| "has room")?; // the slot was freed at once
    /// assert!(matches!(queued.join(), Err(TaskError::Cancelled)));
    /// go.send(()).unwrap();
    /// running.join()?;
    /// assert_eq!(next.join()?, "has room");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) -> bool {
        if self.cell.cancel() {
            self.pool.finish_cancelled();
            true
        } else {
            false
        }
    }
}

// Unwind safety, for any `T`: the handle never lends out a `&T` (the value
// moves out of the cell once, in `join`), and the cell's stage changes run
// no user code under its lock; see `ThreadPoolBulkhead`'s impls for the
// pool it refers to.
impl<T> std::panic::UnwindSafe for TaskHandle<T> {}
impl<T> std::panic::RefUnwindSafe for TaskHandle<T> {}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("finished", &self.cell.is_finished())
            .finish()
    }
}
