//! Error types: rejections that hand the work back, task failures, and
//! configuration errors.

use std::any::Any;
use std::error::Error;
use std::fmt;

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

/// Work a bulkhead refused, handed back to the caller with the reason.
///
/// A refused closure is never dropped or run behind the caller's back:
/// [`Rejected::into_inner`] returns it so the caller can run a fallback,
/// retry, or shed it deliberately. Building a `Rejected` allocates nothing.
///
/// `Debug`, `Display` and [`std::error::Error`] are implemented for every
/// `F`, so `?` works in functions returning `Box<dyn Error>` even though
/// closures are not `Debug`.
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
}

impl<F> Rejected<F> {
    /// Wraps refused work with the reason it was refused.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// // Useful for wrappers that refuse work themselves, e.g. a circuit breaker.
    /// let rejected = Rejected::new(|| 1, RejectReason::Full);
    /// assert_eq!(rejected.reason(), RejectReason::Full);
    /// ```
    pub fn new(work: F, reason: RejectReason) -> Self {
        Rejected { work, reason }
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

    /// The refused work, given back.
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

    /// Replaces the carried work, keeping the reason.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{RejectReason, Rejected};
    ///
    /// // Drop the closure but keep the reason, e.g. to return a `Rejected<()>`.
    /// let rejected: Rejected<()> = Rejected::new(|| 1, RejectReason::Full).map(drop);
    /// assert!(rejected.is_full());
    /// ```
    pub fn map<G>(self, f: impl FnOnce(F) -> G) -> Rejected<G> {
        Rejected {
            work: f(self.work),
            reason: self.reason,
        }
    }
}

impl<F> fmt::Debug for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejected")
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl<F> fmt::Display for Rejected<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rejected: {}", self.reason)
    }
}

impl<F> Error for Rejected<F> {}

/// Why a task did not produce its value.
///
/// The variants are fixed by the bulkhead contract, so the enum is
/// exhaustive.
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
pub enum TaskError {
    /// The task panicked; the payload is what `panic!` was given.
    Panicked(Box<dyn Any + Send + 'static>),
    /// The task was admitted but never ran: the pool was shut down with
    /// `shutdown_now` (or `shutdown_timeout` ran out) while it was queued.
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
            TaskError::Cancelled => {
                f.write_str("the task was cancelled before it ran (the pool was shut down)")
            }
        }
    }
}

impl Error for TaskError {}

/// Why [`ThreadPoolBulkhead::execute`](crate::ThreadPoolBulkhead::execute)
/// did not return the task's value: it was refused at the door, or it was
/// admitted and then panicked or was cancelled.
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
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub enum ExecuteError {
    /// The pool refused the task; it did not run.
    Rejected(RejectReason),
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
    /// assert_eq!(ExecuteError::Rejected(RejectReason::Full).reject_reason(), Some(RejectReason::Full));
    /// assert_eq!(ExecuteError::Cancelled.reject_reason(), None);
    /// ```
    pub fn reject_reason(&self) -> Option<RejectReason> {
        match self {
            ExecuteError::Rejected(reason) => Some(*reason),
            _ => None,
        }
    }

    /// Whether the task was refused at the door.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ExecuteError, RejectReason};
    ///
    /// assert!(ExecuteError::Rejected(RejectReason::ShutDown).is_rejected());
    /// ```
    pub fn is_rejected(&self) -> bool {
        matches!(self, ExecuteError::Rejected(_))
    }
}

impl<F> From<Rejected<F>> for ExecuteError {
    fn from(rejected: Rejected<F>) -> Self {
        ExecuteError::Rejected(rejected.reason())
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
            ExecuteError::Rejected(reason) => f.debug_tuple("Rejected").field(reason).finish(),
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
            ExecuteError::Rejected(reason) => write!(f, "rejected: {reason}"),
            ExecuteError::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(msg) => write!(f, "the task panicked: {msg}"),
                None => f.write_str("the task panicked"),
            },
            ExecuteError::Cancelled => {
                f.write_str("the task was cancelled before it ran (the pool was shut down)")
            }
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
    /// A thread pool was asked for zero threads.
    ZeroThreads,
    /// A size was larger than a bulkhead can count (2^31 - 1 slots).
    TooLarge,
    /// The operating system refused to start a worker thread.
    Spawn,
    /// A registry already holds a bulkhead of the other kind under this name.
    KindConflict,
    /// The pool was resized after it had been shut down.
    ShutDown,
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
    /// A setting this platform cannot enforce (for example a memory limit
    /// outside Linux); the error's message names the setting.
    Unsupported,
    /// A limit with a value no program could run under (for example a
    /// memory limit of 0 bytes); the error's message names the setting.
    InvalidLimit,
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
            BuildErrorKind::ZeroThreads => write!(
                f,
                "bulkhead `{name}`: a thread pool needs at least one thread; use threads(1) or more"
            ),
            BuildErrorKind::TooLarge => write!(
                f,
                "bulkhead `{name}`: a size exceeds the maximum of {} slots",
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
        }
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
