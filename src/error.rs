//! Error types: rejections that hand the work back, task failures, and
//! configuration errors.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// Why a bulkhead refused work.
///
/// The set of reasons is fixed by the bulkhead contract, so the enum is
/// exhaustive: match on it freely.
///
/// # Examples
///
/// ```
/// use bulkheads::{RejectReason, ThreadPoolBulkhead};
///
/// let pool = ThreadPoolBulkhead::builder("reports").threads(1).build()?;
/// pool.shutdown();
/// let rejected = pool.try_submit(|| 1).unwrap_err();
/// assert_eq!(rejected.reason(), RejectReason::ShutDown);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectReason {
    /// Every slot was taken (running plus queued for a pool, permits for a
    /// semaphore) and the caller asked not to wait.
    Full,
    /// The caller waited for room for as long as it allowed, and none came.
    Timeout,
    /// The bulkhead has been shut down and admits nothing any more.
    ShutDown,
}

impl RejectReason {
    fn describe(self) -> &'static str {
        match self {
            RejectReason::Full => {
                "the bulkhead is full; retry later, shed the work, or use a fallback"
            }
            RejectReason::Timeout => "no room became free within the wait allowed",
            RejectReason::ShutDown => "the bulkhead has been shut down and admits no more work",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Work a bulkhead refused, handed back to the caller with the reason and
/// the bulkhead's name.
///
/// A refused closure (or, for the `*_with` methods, the refused input) is
/// never dropped or run behind the caller's back: [`Rejected::into_inner`]
/// returns it so the caller can run a fallback, retry, answer "busy", or
/// shed it deliberately. Building a `Rejected` allocates nothing: the name
/// is a shared `Arc<str>`, cloned.
///
/// `Debug`, `Display` and [`std::error::Error`] are implemented for every
/// `F`, so `?` works in functions returning `Box<dyn Error>` even though
/// closures are not `Debug`. `Display` starts with the bulkhead's name:
/// `search: rejected, the bulkhead is full; ...`.
///
/// # Converting with `?`
///
/// `Box<dyn Error + Send + Sync>` needs the error to be `Sync`, and a
/// `Rejected<F>` is `Sync` only when `F` is; most closures are `Send` but
/// not `Sync`. [`without_work`](Rejected::without_work) drops the work and
/// keeps the reason and the name, giving a `Rejected<()>`, which is
/// `Send + Sync + 'static`. A `Rejected<F>` of any `F` also converts into
/// [`std::io::Error`] (kind `WouldBlock`, `TimedOut` or `Other`, carrying
/// the `Rejected<()>`), so `?` works in functions returning `io::Result`.
/// (A blanket `From<Rejected<F>> for Box<dyn Error + Send + Sync>` would
/// overlap the standard library's own conversion, so Rust does not allow
/// it.)
///
/// ```
/// use bulkheads::ThreadPoolBulkhead;
/// use std::error::Error;
///
/// fn search(pool: &ThreadPoolBulkhead) -> Result<u32, Box<dyn Error + Send + Sync>> {
///     let query = std::cell::Cell::new(7); // Send, not Sync
///     let handle = pool.try_submit(move || query.get()).map_err(|r| r.without_work())?;
///     Ok(handle.join().map_err(|e| e.to_string())?)
/// }
/// let pool = ThreadPoolBulkhead::builder("search").threads(1).build()?;
/// assert_eq!(search(&pool)?, 7);
/// # Ok::<(), Box<dyn Error + Send + Sync>>(())
/// ```
///
/// # Examples
///
/// ```
/// use bulkheads::{RejectReason, ThreadPoolBulkhead};
/// use std::sync::mpsc;
///
/// let pool = ThreadPoolBulkhead::builder("thumbnails").threads(1).build()?;
/// let (release, gate) = mpsc::channel::<()>();
/// let busy = pool.try_submit(move || gate.recv().ok())?; // takes the only slot
///
/// let rejected = pool.try_submit(|| "resize image").unwrap_err();
/// assert_eq!(rejected.reason(), RejectReason::Full);
/// assert_eq!(rejected.bulkhead(), "thumbnails");
/// assert!(rejected.to_string().starts_with("thumbnails: rejected, the bulkhead is full"));
/// let work = rejected.into_inner();   // the closure comes back
/// assert_eq!(work(), "resize image"); // run it inline as a fallback
///
/// release.send(()).unwrap();
/// busy.join()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Rejected<F> {
    work: F,
    reason: RejectReason,
    /// The refusing bulkhead's name, shared with it (`None` for a
    /// `Rejected` built by [`Rejected::new`] without one).
    bulkhead: Option<Arc<str>>,
}

impl<F> Rejected<F> {
    /// Wraps refused work with the reason it was refused, naming no
    /// bulkhead (see [`with_bulkhead`](Self::with_bulkhead)).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// // Useful for wrappers that refuse work themselves, e.g. a circuit breaker.
    /// let rejected = Rejected::new(|| 1, RejectReason::Full);
    /// assert_eq!(rejected.reason(), RejectReason::Full);
    /// assert_eq!(rejected.bulkhead(), "");
    /// ```
    pub fn new(work: F, reason: RejectReason) -> Self {
        Rejected {
            work,
            reason,
            bulkhead: None,
        }
    }

    /// The refusal of `work` by the bulkhead named `bulkhead`: clones the
    /// name's `Arc`, allocates nothing.
    pub(crate) fn by(work: F, reason: RejectReason, bulkhead: &Arc<str>) -> Self {
        Rejected {
            work,
            reason,
            bulkhead: Some(Arc::clone(bulkhead)),
        }
    }

    /// Names the bulkhead that refused the work (replacing any name it
    /// had).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// let rejected = Rejected::new((), RejectReason::Full).with_bulkhead("gateway");
    /// assert_eq!(rejected.bulkhead(), "gateway");
    /// assert!(rejected.to_string().starts_with("gateway: rejected, "));
    /// ```
    pub fn with_bulkhead(self, bulkhead: impl Into<Arc<str>>) -> Self {
        Rejected {
            bulkhead: Some(bulkhead.into()),
            ..self
        }
    }

    /// The name of the bulkhead that refused the work (empty for a
    /// `Rejected` built by [`Rejected::new`] and not named since).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("search").threads(1).build()?;
    /// pool.shutdown();
    /// assert_eq!(pool.try_submit(|| 1).unwrap_err().bulkhead(), "search");
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn bulkhead(&self) -> &str {
        self.bulkhead.as_deref().unwrap_or("")
    }

    /// Why the work was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// assert_eq!(Rejected::new((), RejectReason::Timeout).reason(), RejectReason::Timeout);
    /// ```
    pub fn reason(&self) -> RejectReason {
        self.reason
    }

    /// The refused work, given back: the closure, or for the `*_with`
    /// methods the input itself.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// let rejected = Rejected::new(|| "cached page", RejectReason::Full);
    /// let fallback = rejected.into_inner();
    /// assert_eq!(fallback(), "cached page");
    /// ```
    pub fn into_inner(self) -> F {
        self.work
    }

    /// A reference to the refused work.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// let rejected = Rejected::new(String::from("job-7"), RejectReason::Full);
    /// assert_eq!(rejected.get_ref(), "job-7");
    /// ```
    pub fn get_ref(&self) -> &F {
        &self.work
    }

    /// Whether the bulkhead was full.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// assert!(Rejected::new((), RejectReason::Full).is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.reason == RejectReason::Full
    }

    /// Whether the caller's wait ran out.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// assert!(Rejected::new((), RejectReason::Timeout).is_timeout());
    /// ```
    pub fn is_timeout(&self) -> bool {
        self.reason == RejectReason::Timeout
    }

    /// Whether the bulkhead was shut down.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// assert!(Rejected::new((), RejectReason::ShutDown).is_shut_down());
    /// ```
    pub fn is_shut_down(&self) -> bool {
        self.reason == RejectReason::ShutDown
    }

    /// Replaces the carried work, keeping the reason and the name.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// // Keep what the closure captured, e.g. to log the job it was for.
    /// let rejected: Rejected<&str> = Rejected::new(|| 1, RejectReason::Full).map(|_| "job-7");
    /// assert_eq!((rejected.is_full(), rejected.into_inner()), (true, "job-7"));
    /// ```
    pub fn map<G>(self, f: impl FnOnce(F) -> G) -> Rejected<G> {
        Rejected {
            work: f(self.work),
            reason: self.reason,
            bulkhead: self.bulkhead,
        }
    }

    /// Drops the work, keeping the reason and the name: a `Rejected<()>`
    /// is `Send + Sync + 'static` whatever `F` was, so it converts with `?`
    /// into `Box<dyn Error + Send + Sync>` (see the type's docs).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    /// use std::error::Error;
    ///
    /// let not_sync = std::cell::Cell::new(1);
    /// let rejected = Rejected::new(move || not_sync.get(), RejectReason::Full).with_bulkhead("search");
    /// let err: Box<dyn Error + Send + Sync> = rejected.without_work().into();
    /// assert!(err.to_string().starts_with("search: rejected"));
    /// ```
    pub fn without_work(self) -> Rejected<()> {
        self.map(drop)
    }
}

impl<F> fmt::Debug for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("bulkhead", &self.bulkhead())
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.bulkhead {
            Some(name) => write!(f, "{name}: rejected, {}", self.reason),
            None => write!(f, "rejected: {}", self.reason),
        }
    }
}

impl<F> Error for Rejected<F> {}

/// For `?` in functions returning `io::Result`: `Full` becomes
/// `WouldBlock`, `Timeout` `TimedOut`, `ShutDown` `Other`; the error
/// carries the rejection without its work.
///
/// # Examples
///
/// ```
/// use bulkheads::ThreadPoolBulkhead;
///
/// fn flush(pool: &ThreadPoolBulkhead) -> std::io::Result<()> {
///     pool.try_spawn(|| ())?;
///     Ok(())
/// }
/// let pool = ThreadPoolBulkhead::builder("flush").threads(1).build()?;
/// pool.shutdown();
/// let err = flush(&pool).unwrap_err();
/// assert!(err.to_string().starts_with("flush: rejected"));
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
impl<F> From<Rejected<F>> for std::io::Error {
    fn from(rejected: Rejected<F>) -> Self {
        let kind = match rejected.reason {
            RejectReason::Full => std::io::ErrorKind::WouldBlock,
            RejectReason::Timeout => std::io::ErrorKind::TimedOut,
            RejectReason::ShutDown => std::io::ErrorKind::Other,
        };
        std::io::Error::new(kind, rejected.without_work())
    }
}

/// Why a task did not produce its value.
///
/// `#[non_exhaustive]`: match with a wildcard arm, or use
/// [`is_panic`](Self::is_panic) and [`is_cancelled`](Self::is_cancelled).
///
/// # Examples
///
/// ```
/// use bulkheads::{TaskError, ThreadPoolBulkhead};
///
/// let pool = ThreadPoolBulkhead::builder("parser").threads(1).build()?;
/// let handle = pool.try_submit(|| -> u32 { panic!("malformed input") })?;
/// match handle.join() {
///     Err(TaskError::Panicked(payload)) => {
///         assert_eq!(payload.downcast_ref::<&str>(), Some(&"malformed input"));
///     }
///     other => unreachable!("{other:?}"),
/// }
/// // The worker survived the panic.
/// assert_eq!(pool.execute(|| 7)?, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; the payload is what `panic!` was given.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The task was admitted but never ran: it was cancelled while queued
    /// (by [`TaskHandle::cancel`](crate::TaskHandle::cancel),
    /// `cancel_queued`, `shutdown_now`, or a `shutdown_timeout` that ran
    /// out).
    Cancelled,
}

impl TaskError {
    /// Whether the task panicked.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::TaskError;
    ///
    /// assert!(TaskError::Panicked(Box::new("boom")).is_panic());
    /// assert!(!TaskError::Cancelled.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }

    /// Whether the task was cancelled before it ran.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::TaskError;
    ///
    /// assert!(TaskError::Cancelled.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// The panic message, when the payload is a string (as it is for
    /// `panic!("...")`).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::TaskError;
    ///
    /// let err = TaskError::Panicked(Box::new(String::from("index out of bounds")));
    /// assert_eq!(err.panic_message(), Some("index out of bounds"));
    /// assert_eq!(TaskError::Panicked(Box::new(42)).panic_message(), None);
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            TaskError::Panicked(payload) => payload_message(payload.as_ref()),
            TaskError::Cancelled => None,
        }
    }

    /// The panic payload, to resume the panic on the caller's thread with
    /// [`std::panic::resume_unwind`]. `None` for a cancelled task.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::TaskError;
    ///
    /// let err = TaskError::Panicked(Box::new("boom"));
    /// let payload = err.into_panic().unwrap();
    /// // std::panic::resume_unwind(payload) would re-raise it here.
    /// assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom"));
    /// ```
    pub fn into_panic(self) -> Option<Box<dyn Any + Send + 'static>> {
        match self {
            TaskError::Panicked(payload) => Some(payload),
            TaskError::Cancelled => None,
        }
    }
}

/// `Panicked("message")` (or a placeholder for a non-string payload), the
/// `Debug` form of every error variant that carries a panic payload.
pub(crate) fn debug_panicked(
    f: &mut fmt::Formatter<'_>,
    payload: &(dyn Any + Send),
) -> fmt::Result {
    let msg = payload_message(payload).unwrap_or("<non-string payload>");
    f.debug_tuple("Panicked").field(&msg).finish()
}

pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<&'static str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(msg) => f.debug_tuple("Panicked").field(&msg).finish(),
                None => f
                    .debug_tuple("Panicked")
                    .field(&"<non-string payload>")
                    .finish(),
            },
            TaskError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(msg) => write!(f, "the task panicked: {msg}"),
                None => f.write_str("the task panicked"),
            },
            TaskError::Cancelled => f.write_str("the task was cancelled before it ran"),
        }
    }
}

impl Error for TaskError {}

/// Why [`ThreadPoolBulkhead::execute`](crate::ThreadPoolBulkhead::execute)
/// did not return the task's value: it was refused at the door (the
/// [`Rejected`] names the pool, and so does `Display`), or it was admitted
/// and then panicked or was cancelled.
///
/// `#[non_exhaustive]`: match with a wildcard arm.
///
/// # Examples
///
/// ```
/// use bulkheads::{ExecuteError, ThreadPoolBulkhead};
///
/// let pool = ThreadPoolBulkhead::builder("pricing").threads(1).build()?;
/// assert_eq!(pool.execute(|| 40 + 2)?, 42);
///
/// let err = pool.execute(|| -> u32 { panic!("bad price") }).unwrap_err();
/// assert!(matches!(err, ExecuteError::Panicked(_)));
///
/// pool.shutdown();
/// let err = pool.execute(|| 1).unwrap_err();
/// assert_eq!(err.to_string(), "pricing: rejected, the bulkhead has been shut down and admits no more work");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
pub enum ExecuteError {
    /// The pool refused the task; it did not run. The [`Rejected`] holds
    /// the reason and the pool's name (the closure was dropped).
    Rejected(Rejected<()>),
    /// The task ran and panicked; the payload is what `panic!` was given.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The task was admitted but cancelled by a shutdown before it ran.
    Cancelled,
}

impl ExecuteError {
    /// The rejection reason, if the task was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ExecuteError, RejectReason};
    ///
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("pricing").threads(1).build()?;
    /// pool.shutdown();
    /// let err = pool.execute(|| 1).unwrap_err();
    /// assert_eq!(err.reject_reason(), Some(RejectReason::ShutDown));
    /// assert_eq!(ExecuteError::Cancelled.reject_reason(), None);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn reject_reason(&self) -> Option<RejectReason> {
        match self {
            ExecuteError::Rejected(rejected) => Some(rejected.reason()),
            _ => None,
        }
    }

    /// The name of the pool that refused the task, if it was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = bulkheads::ThreadPoolBulkhead::builder("pricing").threads(1).build()?;
    /// pool.shutdown();
    /// assert_eq!(pool.execute(|| 1).unwrap_err().bulkhead(), Some("pricing"));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn bulkhead(&self) -> Option<&str> {
        match self {
            ExecuteError::Rejected(rejected) => Some(rejected.bulkhead()),
            _ => None,
        }
    }

    /// Whether the task was refused at the door.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ExecuteError, RejectReason, Rejected};
    ///
    /// assert!(ExecuteError::Rejected(Rejected::new((), RejectReason::ShutDown)).is_rejected());
    /// ```
    pub fn is_rejected(&self) -> bool {
        matches!(self, ExecuteError::Rejected(_))
    }
}

impl<F> From<Rejected<F>> for ExecuteError {
    fn from(rejected: Rejected<F>) -> Self {
        ExecuteError::Rejected(rejected.without_work())
    }
}

impl From<TaskError> for ExecuteError {
    fn from(err: TaskError) -> Self {
        match err {
            TaskError::Panicked(payload) => ExecuteError::Panicked(payload),
            TaskError::Cancelled => ExecuteError::Cancelled,
        }
    }
}

impl fmt::Debug for ExecuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecuteError::Rejected(rejected) => f.debug_tuple("Rejected").field(rejected).finish(),
            ExecuteError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(msg) => f.debug_tuple("Panicked").field(&msg).finish(),
                None => f
                    .debug_tuple("Panicked")
                    .field(&"<non-string payload>")
                    .finish(),
            },
            ExecuteError::Cancelled => f.write_str("Cancelled"),
        }
    }
}

impl fmt::Display for ExecuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecuteError::Rejected(rejected) => rejected.fmt(f),
            ExecuteError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(msg) => write!(f, "the task panicked: {msg}"),
                None => f.write_str("the task panicked"),
            },
            ExecuteError::Cancelled => f.write_str("the task was cancelled before it ran"),
        }
    }
}

impl Error for ExecuteError {}

/// What kind of configuration error a [`BuildError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
///
/// # Examples
///
/// ```
/// use bulkheads::{BuildErrorKind, ThreadPoolBulkhead};
///
/// match ThreadPoolBulkhead::builder("").build() {
///     Err(e) if e.kind() == BuildErrorKind::EmptyName => {}
///     other => panic!("{other:?}"),
/// }
/// ```
pub enum BuildErrorKind {
    /// The name was empty (or only whitespace).
    EmptyName,
    /// The name holds a character no thread name can: NUL (`'\0'`).
    InvalidName,
    /// A thread pool was asked for zero threads.
    ZeroThreads,
    /// A size was larger than a bulkhead can count (2^30 - 1 slots), or a
    /// worker stack was asked above 2^48 bytes.
    TooLarge,
    /// The operating system refused to start a worker thread.
    Spawn,
    /// A registry already holds a bulkhead of the other kind under this name.
    KindConflict,
    /// The pool was resized after it had been shut down.
    ShutDown,
    /// [`Registry::replace`](crate::Registry::replace) was given a
    /// compartment named otherwise than the name it was to replace.
    NameMismatch,
    /// A setting this platform cannot enforce (for example a memory limit
    /// outside Linux); the error's message names the setting.
    Unsupported,
    /// A limit with a value no program could run under (for example a
    /// memory limit of 0 bytes); the error's message names the setting.
    InvalidLimit,
    /// A connection pool was asked for a `max_size` of zero.
    #[cfg(feature = "r2d2")]
    ZeroConnections,
    /// A connection pool's `min_idle` was larger than its `max_size`.
    #[cfg(feature = "r2d2")]
    MinIdleAboveMaxSize,
    /// A connection pool's `idle_timeout` or `max_lifetime` was zero.
    #[cfg(feature = "r2d2")]
    ZeroDuration,
    /// A policy's failure-rate or slow-call-rate threshold was not above 0
    /// and at most 1 (or was NaN).
    InvalidRate,
    /// A policy's `error_count_threshold` was 0.
    ZeroErrorCount,
    /// A policy's `half_open_calls` was 0.
    ZeroHalfOpenCalls,
    /// A policy's `window` was zero.
    ZeroWindow,
    /// A policy's operation `timeout` was set to zero.
    ZeroTimeout,
    /// A policy's `slow_call_threshold` was zero (every call would be slow).
    ZeroSlowCallThreshold,
}

/// An invalid bulkhead configuration, or a worker thread the operating
/// system would not start. Never a panic.
///
/// # Examples
///
/// ```
/// use bulkheads::{BuildErrorKind, ThreadPoolBulkhead};
///
/// let err = ThreadPoolBulkhead::builder("search").threads(0).build().unwrap_err();
/// assert_eq!(err.kind(), BuildErrorKind::ZeroThreads);
/// println!("{err}"); // says what is wrong and how to fix it
/// ```
pub struct BuildError {
    kind: BuildErrorKind,
    name: String,
    source: Option<std::io::Error>,
}

impl BuildError {
    pub(crate) fn new(kind: BuildErrorKind, name: &str) -> Self {
        BuildError {
            kind,
            name: name.to_owned(),
            source: None,
        }
    }

    pub(crate) fn spawn(name: &str, source: std::io::Error) -> Self {
        BuildError {
            kind: BuildErrorKind::Spawn,
            name: name.to_owned(),
            source: Some(source),
        }
    }

    /// A configuration error of `kind` about one setting, described by
    /// `detail` (kept as the error's source).
    #[cfg_attr(not(all(unix, feature = "process")), allow(dead_code))]
    pub(crate) fn setting(kind: BuildErrorKind, name: &str, detail: &'static str) -> Self {
        let io_kind = match kind {
            BuildErrorKind::Unsupported => std::io::ErrorKind::Unsupported,
            _ => std::io::ErrorKind::InvalidInput,
        };
        BuildError {
            kind,
            name: name.to_owned(),
            source: Some(std::io::Error::new(io_kind, detail)),
        }
    }

    /// What is wrong.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BuildErrorKind, ThreadPoolBulkhead};
    ///
    /// let err = ThreadPoolBulkhead::builder("x").threads(0).build().unwrap_err();
    /// assert_eq!(err.kind(), BuildErrorKind::ZeroThreads);
    /// ```
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }

    /// The name of the bulkhead being built.
    ///
    /// # Examples
    ///
    /// ```
    /// let err = bulkheads::ThreadPoolBulkhead::builder("search").threads(0).build().unwrap_err();
    /// assert_eq!(err.name(), "search");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }
}

// Unwind safety: a `BuildError` is immutable data; its source is an
// operating-system error or a fixed message built by this crate.
impl std::panic::UnwindSafe for BuildError {}
impl std::panic::RefUnwindSafe for BuildError {}

impl fmt::Debug for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BuildError")
            .field("kind", &self.kind)
            .field("name", &self.name)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = &self.name;
        match self.kind {
            BuildErrorKind::EmptyName => {
                f.write_str("a bulkhead needs a non-empty name; name it for the work it isolates")
            }
            BuildErrorKind::InvalidName => write!(
                f,
                "bulkhead {name:?}: a name cannot contain a NUL character; remove it"
            ),
            BuildErrorKind::ZeroThreads => write!(
                f,
                "bulkhead `{name}`: a thread pool needs at least one thread; use threads(1) or more"
            ),
            BuildErrorKind::TooLarge => write!(
                f,
                "bulkhead `{name}`: a size exceeds the maximum ({} slots, or a 2^48-byte stack)",
                crate::admission::MAX_SLOTS
            ),
            BuildErrorKind::Spawn => match &self.source {
                Some(source) => write!(
                    f,
                    "bulkhead `{name}`: the operating system refused to start a worker thread: {source}; lower the thread count or the stack size"
                ),
                None => write!(f, "bulkhead `{name}`: a worker thread could not be started"),
            },
            BuildErrorKind::KindConflict => write!(
                f,
                "bulkhead `{name}` already exists as a different kind; pick another name"
            ),
            BuildErrorKind::ShutDown => write!(
                f,
                "bulkhead `{name}` has been shut down and can no longer be resized"
            ),
            BuildErrorKind::NameMismatch => write!(
                f,
                "bulkhead `{name}` can only be replaced by a compartment built with the same name"
            ),
            BuildErrorKind::Unsupported => match &self.source {
                Some(detail) => write!(
                    f,
                    "bulkhead `{name}`: {detail}; remove that setting on this platform"
                ),
                None => write!(f, "bulkhead `{name}`: a setting is not supported here"),
            },
            BuildErrorKind::InvalidLimit => match &self.source {
                Some(detail) => write!(f, "bulkhead `{name}`: {detail}"),
                None => write!(f, "bulkhead `{name}`: a limit is out of range"),
            },
            #[cfg(feature = "r2d2")]
            BuildErrorKind::ZeroConnections => write!(
                f,
                "bulkhead `{name}`: a connection pool needs at least one connection; use max_size(1) or more"
            ),
            #[cfg(feature = "r2d2")]
            BuildErrorKind::MinIdleAboveMaxSize => write!(
                f,
                "bulkhead `{name}`: min_idle is larger than max_size; lower min_idle or raise max_size"
            ),
            #[cfg(feature = "r2d2")]
            BuildErrorKind::ZeroDuration => write!(
                f,
                "bulkhead `{name}`: idle_timeout and max_lifetime must be longer than zero; use None to never close connections for that reason"
            ),
            BuildErrorKind::InvalidRate => write!(
                f,
                "policy `{name}`: a rate threshold must be above 0 and at most 1; write 0.5 for 50%"
            ),
            BuildErrorKind::ZeroErrorCount => write!(
                f,
                "policy `{name}`: error_count_threshold must be at least 1 (0 would keep the gate open)"
            ),
            BuildErrorKind::ZeroHalfOpenCalls => write!(
                f,
                "policy `{name}`: half_open_calls must be at least 1, or the gate could never close again"
            ),
            BuildErrorKind::ZeroWindow => write!(
                f,
                "policy `{name}`: the window must be longer than zero; 60s is the default"
            ),
            BuildErrorKind::ZeroTimeout => write!(
                f,
                "policy `{name}`: an operation timeout of zero would fail every pool call; set a positive timeout or none"
            ),
            BuildErrorKind::ZeroSlowCallThreshold => write!(
                f,
                "policy `{name}`: a slow_call_threshold of zero makes every call slow; 5s is the default"
            ),
        }
    }
}

/// Checks that a name is not empty or only whitespace
/// ([`BuildErrorKind::EmptyName`]).
pub(crate) fn check_not_blank(name: &str) -> Result<(), BuildError> {
    if name.trim().is_empty() {
        Err(BuildError::new(BuildErrorKind::EmptyName, name))
    } else {
        Ok(())
    }
}

/// Checks a bulkhead's name: not blank, and usable as a thread name (no
/// NUL, which std's thread builder would panic on).
pub(crate) fn check_name(name: &str) -> Result<(), BuildError> {
    check_not_blank(name)?;
    if name.contains('\0') {
        Err(BuildError::new(BuildErrorKind::InvalidName, name))
    } else {
        Ok(())
    }
}

impl Error for BuildError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source.as_ref().map(|e| e as &(dyn Error + 'static))
    }
}

impl From<BuildError> for std::io::Error {
    fn from(err: BuildError) -> Self {
        let kind = match err.kind {
            BuildErrorKind::Spawn => std::io::ErrorKind::Other,
            _ => std::io::ErrorKind::InvalidInput,
        };
        std::io::Error::new(kind, err)
    }
}
