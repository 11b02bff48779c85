//! Configuring a [`ThreadPoolBulkhead`].

use std::collections::BTreeSet;

use super::spent::SpentBins;
use super::worker::{release_batch, total_slots, Counters, Shared, Workers};
use super::ThreadPoolBulkhead;
use crate::admission::Slots;
use crate::error::{BuildError, BuildErrorKind};
use crate::sync::queue::Queue;
use crate::sync::{AtomicBool, AtomicUsize, Condvar, Mutex};
use std::sync::Arc;

/// Builds a [`ThreadPoolBulkhead`]; start with
/// [`ThreadPoolBulkhead::builder`].
///
/// Setters take and return the builder by value; [`build`](Self::build)
/// validates everything and starts the threads.
///
/// # Examples
///
/// ```
/// use bulkheads::ThreadPoolBulkhead;
///
/// let search = ThreadPoolBulkhead::builder("search")
///     .threads(4)
///     .queue_capacity(16)
///     .stack_size(256 * 1024)
///     .build()?;
/// assert_eq!(search.stats().threads, 4);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct ThreadPoolBuilder {
    name: String,
    threads: Option<usize>,
    queue_capacity: usize,
    stack_size: Option<usize>,
    spawn_limit: Option<usize>,
}

impl ThreadPoolBuilder {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        ThreadPoolBuilder {
            name: name.into(),
            threads: None,
            queue_capacity: 0,
            stack_size: None,
            spawn_limit: None,
        }
    }

    /// The number of worker threads. Default: the number of logical CPUs.
    /// Zero is a [`BuildError`] of kind [`BuildErrorKind::ZeroThreads`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("io").threads(8).build()?;
    /// assert_eq!(pool.stats().threads, 8);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// How many admitted tasks may wait for a thread. Default: 0, no
    /// waiting room: a task is admitted only if a thread is free for it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("batch").threads(2).queue_capacity(100).build()?;
    /// assert_eq!(pool.stats().capacity(), 102);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity;
        self
    }

    /// The stack size of each worker thread, in bytes. Default: the
    /// platform's default for spawned threads (2 MiB on most Unix systems).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("tiny").threads(1).stack_size(64 * 1024).build()?;
    /// assert_eq!(pool.execute(|| 1 + 1)?, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Test hook for fault injection: after `n` worker threads have been
    /// started over the pool's life, starting another fails as if the
    /// operating system refused.
    #[doc(hidden)]
    ///
    /// # Examples
    ///
    /// ```
    /// let err = bulkheads::ThreadPoolBulkhead::builder("t").threads(3).fail_spawn_after(1).build().unwrap_err();
    /// assert_eq!(err.kind(), bulkheads::BuildErrorKind::Spawn);
    /// ```
    pub fn fail_spawn_after(mut self, n: usize) -> Self {
        self.spawn_limit = Some(n);
        self
    }

    /// Validates the configuration and starts the worker threads.
    ///
    /// # Errors
    ///
    /// [`BuildError`] with kind [`EmptyName`](BuildErrorKind::EmptyName),
    /// [`ZeroThreads`](BuildErrorKind::ZeroThreads),
    /// [`TooLarge`](BuildErrorKind::TooLarge) (more than 2^30 - 1 slots), or
    /// [`Spawn`](BuildErrorKind::Spawn) if a thread could not be started
    /// (the threads already started are stopped again).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BuildErrorKind, ThreadPoolBulkhead};
    ///
    /// let err = ThreadPoolBulkhead::builder("").build().unwrap_err();
    /// assert_eq!(err.kind(), BuildErrorKind::EmptyName);
    /// ```
    pub fn build(self) -> Result<ThreadPoolBulkhead, BuildError> {
        if self.name.trim().is_empty() {
            return Err(BuildError::new(BuildErrorKind::EmptyName, &self.name));
        }
        let threads = self.threads.unwrap_or_else(num_cpus::get).max(
            // num_cpus never reports 0, but an explicit 0 is an error below.
            if self.threads.is_some() { 0 } else { 1 },
        );
        let capacity = total_slots(&self.name, threads, self.queue_capacity)?;

        let shared = Arc::new(Shared {
            name: self.name,
            slots: Slots::new(capacity),
            queue: Queue::with_capacity(capacity),
            spent: SpentBins::new(),
            threads: AtomicUsize::new(threads),
            queue_capacity: AtomicUsize::new(self.queue_capacity),
            cancel_queued: AtomicBool::new(false),
            abandoned: AtomicBool::new(false),
            counters: Counters::default(),
            workers: Mutex::new(Workers {
                handles: Vec::with_capacity(threads),
                counters: Vec::with_capacity(threads),
                retired: Default::default(),
                indices: BTreeSet::new(),
                pending_retire: 0,
                spawned: 0,
                joining: false,
                terminated: false,
            }),
            terminated: Condvar::new(),
            release_batch: AtomicUsize::new(release_batch(threads, capacity)),
            stack_size: self.stack_size,
            spawn_limit: self.spawn_limit,
        });
        let pool = ThreadPoolBulkhead { shared };
        {
            let mut workers = pool.shared.workers.lock();
            for index in 0..threads {
                if let Err(err) = pool.shared.spawn_worker(&mut workers, index) {
                    drop(workers);
                    // Stops and joins the threads already started.
                    pool.shutdown();
                    return Err(err);
                }
            }
        }
        Ok(pool)
    }
}
