//! [`ProcessBuilder`]: the settings of a [`ProcessBulkhead`], validated by
//! [`build`](ProcessBuilder::build).

use std::time::Duration;

use super::limits::Limits;
use super::ProcessBulkhead;
use crate::error::{BuildError, BuildErrorKind};
use crate::semaphore::SemaphoreBulkhead;

/// Bytes of stdout and of stderr a run keeps when
/// [`output_limit`](ProcessBuilder::output_limit) is not called.
pub(crate) const DEFAULT_OUTPUT_LIMIT: usize = 16 << 20;

/// Configures a [`ProcessBulkhead`]; start with
/// [`ProcessBulkhead::builder`].
///
/// # Examples
///
/// ```
/// use bulkheads::ProcessBulkhead;
/// use std::time::Duration;
///
/// let thumbs = ProcessBulkhead::builder("thumbnails")
///     .max_concurrent(4)
///     .max_wait(Duration::from_millis(100))
///     .timeout(Duration::from_secs(30))
///     .memory_limit(512 << 20)
///     .cpu_time_limit(Duration::from_secs(10))
///     .max_open_files(256)
///     .output_limit(1 << 20)
///     .build()?;
/// assert_eq!(thumbs.max_concurrent(), 4);
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until build() is called"]
pub struct ProcessBuilder {
    name: String,
    max_concurrent: usize,
    max_wait: Duration,
    timeout: Option<Duration>,
    memory_limit: Option<u64>,
    cpu_time_limit: Option<Duration>,
    max_open_files: Option<u64>,
    output_limit: usize,
}

impl ProcessBuilder {
    pub(crate) fn new(name: String) -> Self {
        ProcessBuilder {
            name,
            max_concurrent: num_cpus::get(),
            max_wait: Duration::ZERO,
            timeout: None,
            memory_limit: None,
            cpu_time_limit: None,
            max_open_files: None,
            output_limit: DEFAULT_OUTPUT_LIMIT,
        }
    }

    /// How many children may run at once. Default: the number of CPUs.
    /// Zero is valid: a closed compartment that refuses every run until
    /// raised with [`set_max_concurrent`](ProcessBulkhead::set_max_concurrent).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").max_concurrent(2).build()?;
    /// assert_eq!(b.max_concurrent(), 2);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_concurrent(mut self, n: usize) -> Self {
        self.max_concurrent = n;
        self
    }

    /// How long a run waits for a free place before it is refused with
    /// [`RejectReason::Timeout`](crate::RejectReason::Timeout). Default:
    /// zero, refuse at once with [`RejectReason::Full`](crate::RejectReason::Full).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").max_wait(Duration::from_secs(1)).build()?;
    /// assert_eq!(b.max_wait(), Duration::from_secs(1));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }

    /// The wall-clock limit of one run, from spawn. When it passes, the
    /// child's whole process group is killed (`SIGKILL`) and reaped, and
    /// the run ends in [`ProcessError::TimedOut`](crate::ProcessError::TimedOut).
    /// Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").timeout(Duration::from_secs(30)).build()?;
    /// assert_eq!(b.timeout(), Some(Duration::from_secs(30)));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Bytes of address space each child may map (`RLIMIT_AS`); past it,
    /// the kernel refuses the child's allocations and the program fails as
    /// it does when memory runs out. Linux only: elsewhere `build()` fails
    /// with [`BuildErrorKind::Unsupported`]. Default: none (inherited).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").memory_limit(512 << 20).build()?;
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// CPU time each child may use (`RLIMIT_CPU`, rounded up to whole
    /// seconds); past it the kernel sends `SIGXCPU`, and `SIGKILL` one
    /// second later to a child that ignores it. The run then ends in
    /// [`ProcessError::Failed`](crate::ProcessError::Failed) with
    /// [`limit_hit()`](crate::ProcessError::limit_hit) =
    /// `Some(`[`Limit::CpuTime`](crate::Limit::CpuTime)`)` for `SIGXCPU`.
    /// Linux only, as [`memory_limit`](Self::memory_limit). Default: none.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").cpu_time_limit(Duration::from_secs(10)).build()?;
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn cpu_time_limit(mut self, limit: Duration) -> Self {
        self.cpu_time_limit = Some(limit);
        self
    }

    /// File descriptors each child may have open (`RLIMIT_NOFILE`).
    /// Default: none (inherited).
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").max_open_files(256).build()?;
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn max_open_files(mut self, n: u64) -> Self {
        self.max_open_files = Some(n);
        self
    }

    /// Bytes kept of stdout, and separately of stderr, per run; the child
    /// may write more, which is read (so it never blocks) and dropped, and
    /// the output's `stdout_truncated` / `stderr_truncated` flag is set.
    /// Default: 16 MiB. Zero keeps nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let b = bulkheads::ProcessBulkhead::builder("pdf").output_limit(1 << 20).build()?;
    /// assert_eq!(b.output_limit(), 1 << 20);
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn output_limit(mut self, bytes: usize) -> Self {
        self.output_limit = bytes;
        self
    }

    /// Validates the configuration and builds the bulkhead.
    ///
    /// # Errors
    ///
    /// [`BuildError`] of kind [`EmptyName`](BuildErrorKind::EmptyName),
    /// [`TooLarge`](BuildErrorKind::TooLarge) (a limit above 2^30 - 1),
    /// [`InvalidLimit`](BuildErrorKind::InvalidLimit) (a zero timeout,
    /// memory, CPU-time or open-files limit) or
    /// [`Unsupported`](BuildErrorKind::Unsupported) (a memory or CPU-time
    /// limit outside Linux); the message names the setting.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{BuildErrorKind, ProcessBulkhead};
    ///
    /// let err = ProcessBulkhead::builder("pdf").memory_limit(0).build().unwrap_err();
    /// assert_eq!(err.kind(), BuildErrorKind::InvalidLimit);
    /// assert!(err.to_string().contains("memory_limit"));
    /// ```
    pub fn build(self) -> Result<ProcessBulkhead, BuildError> {
        if self.timeout == Some(Duration::ZERO) {
            return Err(BuildError::setting(
                BuildErrorKind::InvalidLimit,
                &self.name,
                "timeout(0) would kill every child at once; give it a positive duration",
            ));
        }
        let limits = Limits::new(
            &self.name,
            self.memory_limit,
            self.cpu_time_limit,
            self.max_open_files,
        )?;
        // The admission is a semaphore's, unfair: the lock-free slot
        // counter on the fast path, `max_wait` for the slow one. It also
        // validates the name and the size.
        let admission = SemaphoreBulkhead::builder(self.name)
            .max_concurrent(self.max_concurrent)
            .max_wait(self.max_wait)
            .build()?;
        Ok(ProcessBulkhead::from_parts(
            admission,
            self.timeout,
            limits,
            self.output_limit,
        ))
    }
}
