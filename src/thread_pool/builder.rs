//! Configuring a [`ThreadPoolBulkhead`].

use super::queue::Queue;
use super::shared::{total_slots, Counters, Shared, Workers};
use super::worker::spawn_worker;
use super::ThreadPoolBulkhead;
use crate::admission::Slots;
use crate::error::{check_name, BuildError, BuildErrorKind};
use crate::sync::{Arc, AtomicBool, AtomicUsize, Condvar, Mutex};

/// The largest stack a worker may ask for (2^48 bytes): more than any
/// machine has, and far from where the operating system's page rounding
/// would overflow.
pub(crate) const MAX_STACK_SIZE: usize = 1 << 48;

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
    #[cfg(test)]
    spawn_limit: Option<usize>,
}

impl ThreadPoolBuilder {
    pub(crate) fn new(name: impl Into<String>) -> Self {
        ThreadPoolBuilder {
            name: name.into(),
            threads: None,
            queue_capacity: 0,
            stack_size: None,
            #[cfg(test)]
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
    /// Above 2^48 bytes is a [`BuildError`] of kind
    /// [`TooLarge`](BuildErrorKind::TooLarge); a size the operating system
    /// refuses is one of kind [`Spawn`](BuildErrorKind::Spawn).
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

    /// Test hook: after `n` worker threads have been started over the
    /// pool's life, starting another fails as if the operating system
    /// refused.
    #[cfg(test)]
    pub(crate) fn fail_spawn_after(mut self, n: usize) -> Self {
        self.spawn_limit = Some(n);
        self
    }

    /// Validates the configuration and starts the worker threads.
    ///
    /// # Errors
    ///
    /// [`BuildError`] with kind [`EmptyName`](BuildErrorKind::EmptyName),
    /// [`InvalidName`](BuildErrorKind::InvalidName) (a NUL character),
    /// [`ZeroThreads`](BuildErrorKind::ZeroThreads),
    /// [`TooLarge`](BuildErrorKind::TooLarge) (more than 2^30 - 1 slots, or
    /// a stack above 2^48 bytes), or
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
        check_name(&self.name)?;
        let threads = self.threads.unwrap_or_else(num_cpus::get).max(
            // num_cpus never reports 0, but an explicit 0 is an error below.
            if self.threads.is_some() { 0 } else { 1 },
        );
        let capacity = total_slots(&self.name, threads, self.queue_capacity)?;
        if self.stack_size.is_some_and(|bytes| bytes > MAX_STACK_SIZE) {
            return Err(BuildError::new(BuildErrorKind::TooLarge, &self.name));
        }

        let shared = Arc::new(Shared {
            name: self.name.into(),
            slots: Slots::new(capacity),
            queue: Queue::new(),
            threads: AtomicUsize::new(threads),
            queue_capacity: AtomicUsize::new(self.queue_capacity),
            cancelling: AtomicBool::new(false),
            cancelled_by_workers: AtomicUsize::new(0),
            abandoned: AtomicBool::new(false),
            counters: Counters::default(),
            workers: Mutex::new(Workers::new(threads)),
            terminated: Condvar::new(),
            stack_size: self.stack_size,
            #[cfg(test)]
            spawn_limit: self.spawn_limit,
        });
        let pool = ThreadPoolBulkhead { shared };
        {
            let mut workers = pool.shared.workers.lock();
            for index in 0..threads {
                if let Err(err) = spawn_worker(&pool.shared, &mut workers, index) {
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

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::RejectReason;
    use std::sync::{mpsc, Barrier};

    #[test]
    fn a_thread_the_os_refuses_at_build_is_a_spawn_error_not_a_panic() {
        for started in [0, 1, 2] {
            let err = ThreadPoolBulkhead::builder("refused")
                .threads(3)
                .fail_spawn_after(started)
                .build()
                .expect_err("the third thread cannot start");
            assert_eq!(err.kind(), BuildErrorKind::Spawn);
            assert_eq!(err.name(), "refused");
        }
    }

    #[test]
    fn a_failed_grow_is_a_spawn_error_and_the_pool_works_with_the_threads_it_has() {
        let pool = ThreadPoolBulkhead::builder("grow")
            .threads(2)
            .fail_spawn_after(3)
            .build()
            .unwrap();
        let err = pool.set_threads(5).expect_err("only one more can start");
        assert_eq!(err.kind(), BuildErrorKind::Spawn);
        assert_eq!(pool.stats().threads, 3, "the pool reports the size it has");

        // Three threads really run at once (a barrier of four opens only
        // if they do), and the capacity is exactly three.
        let all_running = std::sync::Arc::new(Barrier::new(4));
        let (go, gate) = mpsc::channel::<()>();
        let gate = std::sync::Arc::new(crate::sync::Mutex::new(gate));
        let handles: Vec<_> = (0..3)
            .map(|i| {
                let (b, g) = (all_running.clone(), gate.clone());
                pool.try_submit(move || {
                    b.wait();
                    let _ = g.lock().recv();
                    i
                })
                .unwrap()
            })
            .collect();
        all_running.wait();
        assert_eq!(
            pool.try_submit(|| 9).unwrap_err().reason(),
            RejectReason::Full
        );
        for _ in 0..3 {
            go.send(()).unwrap();
        }
        let sum: i32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(sum, 3);

        pool.set_threads(1).unwrap();
        pool.set_threads(3).unwrap();
        assert_eq!(pool.stats().threads, 3);
        assert_eq!(
            pool.set_threads(4).unwrap_err().kind(),
            BuildErrorKind::Spawn
        );
        assert_eq!(pool.execute(|| 42).unwrap(), 42);
        pool.wait_idle();
        let s = pool.stats();
        assert_eq!(s.submitted, s.completed + s.panicked + s.cancelled, "{s:?}");
    }
}
