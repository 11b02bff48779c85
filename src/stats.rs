//! Live statistics: point-in-time snapshots of what each compartment is
//! doing.

use std::fmt;

/// A snapshot of a [`ThreadPoolBulkhead`](crate::ThreadPoolBulkhead).
///
/// Counters are read one by one without stopping the pool, so a snapshot
/// taken while tasks run may be a few tasks apart between fields. Once the
/// pool is idle (see
/// [`wait_idle`](crate::ThreadPoolBulkhead::wait_idle)) the conservation law
/// is exact:
///
/// `submitted == completed + panicked + cancelled`
///
/// Rejected tasks were never admitted and are not counted as submitted.
///
/// # Examples
///
/// ```
/// use bulkheads::ThreadPoolBulkhead;
///
/// let pool = ThreadPoolBulkhead::builder("search").threads(2).queue_capacity(8).build()?;
/// for i in 0..5 {
///     pool.submit(move || i * 2).unwrap();
/// }
/// pool.wait_idle();
/// let stats = pool.stats();
/// assert_eq!(stats.submitted, 5);
/// assert_eq!(stats.submitted, stats.completed + stats.panicked + stats.cancelled);
/// println!("{stats}");
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PoolStats {
    /// The pool's name.
    pub name: String,
    /// The configured number of worker threads (the target while a resize
    /// is settling).
    pub threads: usize,
    /// The configured queue capacity (waiting room beyond the threads).
    pub queue_capacity: usize,
    /// Tasks running right now.
    pub active: usize,
    /// Tasks admitted and waiting for a thread.
    pub queued: usize,
    /// Tasks admitted since the pool was built.
    pub submitted: usize,
    /// Tasks that ran and returned.
    pub completed: usize,
    /// Tasks that ran and panicked.
    pub panicked: usize,
    /// Tasks admitted and cancelled by a shutdown before they ran.
    pub cancelled: usize,
    /// Tasks refused at the door (full, timed out, or shut down).
    pub rejected: usize,
}

impl PoolStats {
    /// Running tasks per configured thread: `active / threads`, between 0.0
    /// and 1.0 except briefly while a shrink is settling.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("idle").threads(4).build()?;
    /// assert_eq!(pool.stats().utilization(), 0.0);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn utilization(&self) -> f64 {
        ratio(self.active, self.threads)
    }

    /// Admission capacity: `threads + queue_capacity`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("search").threads(20).queue_capacity(100).build()?;
    /// assert_eq!(pool.stats().capacity(), 120);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn capacity(&self) -> usize {
        self.threads.saturating_add(self.queue_capacity)
    }
}

impl fmt::Display for PoolStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: thread pool, {}/{} threads busy, {}/{} queued, {} submitted, {} completed, {} panicked, {} cancelled, {} rejected, {:.0}% utilized",
            self.name,
            self.active,
            self.threads,
            self.queued,
            self.queue_capacity,
            self.submitted,
            self.completed,
            self.panicked,
            self.cancelled,
            self.rejected,
            self.utilization() * 100.0
        )
    }
}

/// A snapshot of a [`SemaphoreBulkhead`](crate::SemaphoreBulkhead).
///
/// # Examples
///
/// ```
/// use bulkheads::SemaphoreBulkhead;
///
/// let checkout = SemaphoreBulkhead::new("checkout", 2);
/// let _permit = checkout.try_acquire()?;
/// let stats = checkout.stats();
/// assert_eq!((stats.active, stats.max_concurrent, stats.permitted), (1, 2, 1));
/// assert_eq!(stats.utilization(), 0.5);
/// # Ok::<(), bulkheads::Rejected<()>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SemaphoreStats {
    /// The bulkhead's name.
    pub name: String,
    /// The configured limit of concurrent calls.
    pub max_concurrent: usize,
    /// Permits held right now (may briefly exceed `max_concurrent` after a
    /// shrink, until holders release).
    pub active: usize,
    /// Callers blocked waiting for a permit.
    pub waiting: usize,
    /// Permits granted since the bulkhead was built.
    pub permitted: usize,
    /// Acquisitions refused (full, timed out).
    pub rejected: usize,
}

impl SemaphoreStats {
    /// Held permits per allowed permit: `active / max_concurrent` (0.0 for a
    /// closed compartment with a limit of 0).
    ///
    /// # Examples
    ///
    /// ```
    /// let closed = bulkheads::SemaphoreBulkhead::new("kill-switch", 0);
    /// assert_eq!(closed.stats().utilization(), 0.0);
    /// ```
    pub fn utilization(&self) -> f64 {
        ratio(self.active, self.max_concurrent)
    }
}

impl fmt::Display for SemaphoreStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: semaphore, {}/{} permits held, {} waiting, {} permitted, {} rejected, {:.0}% utilized",
            self.name,
            self.active,
            self.max_concurrent,
            self.waiting,
            self.permitted,
            self.rejected,
            self.utilization() * 100.0
        )
    }
}

/// A snapshot of a `ProcessBulkhead` (feature `process`, Unix).
///
/// Counters are read one by one while children run, so a snapshot taken
/// mid-run may be a run apart between fields. At rest (no run in progress)
/// the conservation law is exact:
///
/// `started == succeeded + failed + timed_out`
///
/// A program that could not be started counts in `spawn_failed`, not in
/// `started`; a run refused at the door counts in `rejected` only.
///
/// # Examples
///
/// ```
/// # #[cfg(all(unix, feature = "process"))]
/// # {
/// use bulkheads::ProcessBulkhead;
/// use std::process::Command;
///
/// let sh = ProcessBulkhead::builder("scripts").max_concurrent(2).build()?;
/// sh.run(Command::new("true"))?;
/// assert!(sh.run(Command::new("false")).is_err());
/// let stats = sh.stats();
/// assert_eq!((stats.started, stats.succeeded, stats.failed), (2, 1, 1));
/// assert_eq!(stats.started, stats.succeeded + stats.failed + stats.timed_out);
/// println!("{stats}");
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProcessStats {
    /// The bulkhead's name.
    pub name: String,
    /// The configured limit of children running at once.
    pub max_concurrent: usize,
    /// Runs holding a place right now (starting, running, or being reaped;
    /// may briefly exceed `max_concurrent` after a shrink).
    pub active: usize,
    /// Callers blocked waiting for a place.
    pub waiting: usize,
    /// Children started since the bulkhead was built.
    pub started: usize,
    /// Children that exited with status 0.
    pub succeeded: usize,
    /// Children that exited non-zero or were killed by a signal other than
    /// the bulkhead's own timeout kill.
    pub failed: usize,
    /// Children killed at the wall-clock timeout.
    pub timed_out: usize,
    /// Programs that could not be started (not found, not executable, a
    /// limit the system refused).
    pub spawn_failed: usize,
    /// Runs refused at the door (full, timed out waiting, or shut down).
    pub rejected: usize,
}

impl ProcessStats {
    /// Places taken per allowed place: `active / max_concurrent` (0.0 for a
    /// closed compartment with a limit of 0).
    ///
    /// # Examples
    ///
    /// ```
    /// # #[cfg(all(unix, feature = "process"))]
    /// # {
    /// let idle = bulkheads::ProcessBulkhead::builder("idle").max_concurrent(4).build()?;
    /// assert_eq!(idle.stats().utilization(), 0.0);
    /// # }
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn utilization(&self) -> f64 {
        ratio(self.active, self.max_concurrent)
    }
}

impl fmt::Display for ProcessStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: process, {}/{} children running, {} waiting, {} started, {} succeeded, {} failed, {} timed out, {} spawn failed, {} rejected, {:.0}% utilized",
            self.name,
            self.active,
            self.max_concurrent,
            self.waiting,
            self.started,
            self.succeeded,
            self.failed,
            self.timed_out,
            self.spawn_failed,
            self.rejected,
            self.utilization() * 100.0
        )
    }
}

/// A snapshot of a [`ConnectionBulkhead`](crate::ConnectionBulkhead): its
/// r2d2 pool's connections and the outcomes of its callers' requests.
///
/// Every call to `get` or `try_get` ends in exactly one of `acquired`,
/// `rejected` (every connection was out) or `connect_errors` (the database
/// could not be reached), so once no caller is inside one of them,
/// `acquired + rejected + connect_errors` is the number of calls.
///
/// # Examples
///
/// ```
/// use bulkheads::ConnectionBulkhead;
/// use r2d2_sqlite::SqliteConnectionManager;
///
/// let pool = ConnectionBulkhead::builder("reports")
///     .max_size(2)
///     .build(SqliteConnectionManager::memory())?;
/// let conn = pool.get()?;
/// let stats = pool.stats();
/// assert_eq!((stats.max_size, stats.in_use, stats.acquired), (2, 1, 1));
/// assert_eq!(stats.utilization(), 0.5);
/// println!("{stats}");
/// # drop(conn);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[cfg(feature = "r2d2")]
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConnectionStats {
    /// The pool's name.
    pub name: String,
    /// The most connections the pool holds, in use and idle together.
    pub max_size: usize,
    /// Connections handed out and not yet returned.
    pub in_use: usize,
    /// Open connections waiting in the pool to be handed out.
    pub idle: usize,
    /// Callers blocked waiting for a connection.
    pub waiting: usize,
    /// Connections handed out since the pool was built.
    pub acquired: usize,
    /// Requests refused because every connection was out (at once for
    /// `try_get`, after the wait for `get`).
    pub rejected: usize,
    /// Requests refused because the database could not be reached.
    pub connect_errors: usize,
}

#[cfg(feature = "r2d2")]
impl ConnectionStats {
    /// Connections in use per allowed connection: `in_use / max_size`.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ConnectionBulkhead;
    /// use r2d2_sqlite::SqliteConnectionManager;
    ///
    /// let pool = ConnectionBulkhead::builder("idle").build(SqliteConnectionManager::memory())?;
    /// assert_eq!(pool.stats().utilization(), 0.0);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn utilization(&self) -> f64 {
        ratio(self.in_use, self.max_size)
    }
}

#[cfg(feature = "r2d2")]
impl fmt::Display for ConnectionStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: connection pool, {}/{} connections in use, {} idle, {} waiting, {} acquired, {} rejected, {} connect errors, {:.0}% utilized",
            self.name,
            self.in_use,
            self.max_size,
            self.idle,
            self.waiting,
            self.acquired,
            self.rejected,
            self.connect_errors,
            self.utilization() * 100.0
        )
    }
}

/// The statistics of any kind of bulkhead, as a
/// [`Registry`](crate::Registry) reports them.
///
/// # Examples
///
/// ```
/// use bulkheads::{BulkheadStats, Registry};
///
/// let registry = Registry::new();
/// registry.semaphore("checkout", 50)?;
/// registry.thread_pool("search", |b| b.threads(2))?;
/// let all = registry.stats();
/// assert_eq!(all.iter().map(BulkheadStats::name).collect::<Vec<_>>(), ["checkout", "search"]);
/// for line in &all {
///     println!("{line}");
/// }
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum BulkheadStats {
    /// A thread pool's statistics.
    ThreadPool(PoolStats),
    /// A semaphore's statistics.
    Semaphore(SemaphoreStats),
    /// A process bulkhead's statistics.
    Process(ProcessStats),
    /// A connection pool's statistics.
    #[cfg(feature = "r2d2")]
    Connection(ConnectionStats),
}

impl BulkheadStats {
    /// The bulkhead's name.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// let stats = &registry.stats()[0];
    /// assert_eq!(stats.name(), "checkout");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn name(&self) -> &str {
        match self {
            BulkheadStats::ThreadPool(s) => &s.name,
            BulkheadStats::Semaphore(s) => &s.name,
            BulkheadStats::Process(s) => &s.name,
            #[cfg(feature = "r2d2")]
            BulkheadStats::Connection(s) => &s.name,
        }
    }

    /// `"thread pool"`, `"semaphore"` or `"process"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// let stats = &registry.stats()[0];
    /// assert_eq!(stats.kind(), "semaphore");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            BulkheadStats::ThreadPool(_) => "thread pool",
            BulkheadStats::Semaphore(_) => "semaphore",
            BulkheadStats::Process(_) => "process",
            #[cfg(feature = "r2d2")]
            BulkheadStats::Connection(_) => "connection pool",
        }
    }

    /// The concurrency limit: threads for a pool, permits for a semaphore,
    /// children for a process bulkhead.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// let stats = &registry.stats()[0];
    /// assert_eq!(stats.limit(), 50);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn limit(&self) -> usize {
        match self {
            BulkheadStats::ThreadPool(s) => s.threads,
            BulkheadStats::Semaphore(s) => s.max_concurrent,
            BulkheadStats::Process(s) => s.max_concurrent,
            #[cfg(feature = "r2d2")]
            BulkheadStats::Connection(s) => s.max_size,
        }
    }

    /// Work in progress: running tasks, held permits or running children.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// let stats = &registry.stats()[0];
    /// assert_eq!(stats.active(), 0);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn active(&self) -> usize {
        match self {
            BulkheadStats::ThreadPool(s) => s.active,
            BulkheadStats::Semaphore(s) => s.active,
            BulkheadStats::Process(s) => s.active,
            #[cfg(feature = "r2d2")]
            BulkheadStats::Connection(s) => s.in_use,
        }
    }

    /// Work waiting: queued tasks or blocked callers.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// let stats = &registry.stats()[0];
    /// assert_eq!(stats.waiting(), 0);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn waiting(&self) -> usize {
        match self {
            BulkheadStats::ThreadPool(s) => s.queued,
            BulkheadStats::Semaphore(s) => s.waiting,
            BulkheadStats::Process(s) => s.waiting,
            #[cfg(feature = "r2d2")]
            BulkheadStats::Connection(s) => s.waiting,
        }
    }

    /// Work refused at the door.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// let stats = &registry.stats()[0];
    /// assert_eq!(stats.rejected(), 0);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn rejected(&self) -> usize {
        match self {
            BulkheadStats::ThreadPool(s) => s.rejected,
            BulkheadStats::Semaphore(s) => s.rejected,
            BulkheadStats::Process(s) => s.rejected,
            #[cfg(feature = "r2d2")]
            BulkheadStats::Connection(s) => s.rejected,
        }
    }

    /// `active / limit`.
    ///
    /// # Examples
    ///
    /// ```
    /// let registry = bulkheads::Registry::new();
    /// registry.semaphore("checkout", 50)?;
    /// let stats = &registry.stats()[0];
    /// assert_eq!(stats.utilization(), 0.0);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn utilization(&self) -> f64 {
        match self {
            BulkheadStats::ThreadPool(s) => s.utilization(),
            BulkheadStats::Semaphore(s) => s.utilization(),
            BulkheadStats::Process(s) => s.utilization(),
            #[cfg(feature = "r2d2")]
            BulkheadStats::Connection(s) => s.utilization(),
        }
    }
}

impl fmt::Display for BulkheadStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BulkheadStats::ThreadPool(s) => s.fmt(f),
            BulkheadStats::Semaphore(s) => s.fmt(f),
            BulkheadStats::Process(s) => s.fmt(f),
            #[cfg(feature = "r2d2")]
            BulkheadStats::Connection(s) => s.fmt(f),
        }
    }
}

impl From<PoolStats> for BulkheadStats {
    fn from(s: PoolStats) -> Self {
        BulkheadStats::ThreadPool(s)
    }
}

impl From<SemaphoreStats> for BulkheadStats {
    fn from(s: SemaphoreStats) -> Self {
        BulkheadStats::Semaphore(s)
    }
}

impl From<ProcessStats> for BulkheadStats {
    fn from(s: ProcessStats) -> Self {
        BulkheadStats::Process(s)
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
#[cfg(feature = "r2d2")]
impl From<ConnectionStats> for BulkheadStats {
    fn from(s: ConnectionStats) -> Self {
        BulkheadStats::Connection(s)
    }
}
