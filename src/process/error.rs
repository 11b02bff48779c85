//! What a run gives back: [`ProcessOutput`] on success, [`ProcessError`]
//! (with the output, when the child ran) otherwise, and the [`Limit`] that
//! ended a run.

use std::error::Error;
use std::fmt;
use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::Duration;

use crate::error::RejectReason;

/// What a child process left behind: its status and the output kept.
///
/// `stdout` and `stderr` each hold at most the bulkhead's `output_limit`
/// bytes, the first ones the child wrote; when it wrote more, the rest was
/// read and dropped and the matching `*_truncated` flag is set.
///
/// # Examples
///
/// ```
/// use bulkheads::ProcessBulkhead;
/// use std::process::Command;
///
/// let echo = ProcessBulkhead::builder("echo").output_limit(5).build()?;
/// let mut cmd = Command::new("echo");
/// cmd.arg("hello world");
/// let out = echo.run(cmd)?;
/// assert_eq!(out.program, "echo");
/// assert!(out.status.success());
/// assert_eq!(out.stdout, b"hello");
/// assert!(out.stdout_truncated);
/// assert!(!out.stderr_truncated);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProcessOutput {
    /// The program, as given to `Command::new`.
    pub program: String,
    /// How the child ended: its exit code, or the signal that killed it.
    pub status: ExitStatus,
    /// The first `output_limit` bytes the child wrote to stdout.
    pub stdout: Vec<u8>,
    /// The first `output_limit` bytes the child wrote to stderr.
    pub stderr: Vec<u8>,
    /// The child wrote more than `output_limit` bytes to stdout.
    pub stdout_truncated: bool,
    /// The child wrote more than `output_limit` bytes to stderr.
    pub stderr_truncated: bool,
    /// Wall-clock time from spawn to reap.
    pub elapsed: Duration,
}

/// A limit that ended a run, as [`ProcessError::limit_hit`] reports it.
///
/// # Examples
///
/// ```
/// use bulkheads::Limit;
///
/// assert_eq!(Limit::CpuTime.to_string(), "the CPU-time limit");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// The wall-clock `timeout`: the bulkhead killed the process group.
    Timeout,
    /// The `cpu_time_limit` (`RLIMIT_CPU`): the kernel sent `SIGXCPU`.
    CpuTime,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Timeout => "the wall-clock timeout",
            Limit::CpuTime => "the CPU-time limit",
        })
    }
}

/// Why [`ProcessBulkhead::run`](crate::ProcessBulkhead::run) did not return
/// a successful [`ProcessOutput`].
///
/// # Examples
///
/// ```
/// use bulkheads::{ProcessBulkhead, ProcessError};
/// use std::process::Command;
///
/// let sh = ProcessBulkhead::builder("scripts").build()?;
/// let mut cmd = Command::new("sh");
/// cmd.args(["-c", "echo oops >&2; exit 3"]);
/// match sh.run(cmd) {
///     Err(ProcessError::Failed(out)) => {
///         assert_eq!(out.status.code(), Some(3));
///         assert_eq!(out.stderr, b"oops\n");
///     }
///     other => panic!("{other:?}"),
/// }
///
/// let missing = sh.run(Command::new("no-such-program-anywhere")).unwrap_err();
/// assert!(matches!(&missing, ProcessError::Spawn(e) if e.kind() == std::io::ErrorKind::NotFound));
/// # Ok::<(), bulkheads::BuildError>(())
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum ProcessError {
    /// The bulkhead refused the run: full (no wait configured), no place
    /// freed within `max_wait`, or shut down. No process was started.
    Rejected(RejectReason),
    /// The program could not be started (not found, not executable, a
    /// limit the system refused, no thread for its pipes). The error keeps
    /// the system's [`io::ErrorKind`]; its message names the program.
    Spawn(io::Error),
    /// The child ran past the `timeout`: its whole process group was killed
    /// and reaped. The output read until then is kept.
    TimedOut(ProcessOutput),
    /// The child exited with a non-zero code or was killed by a signal
    /// (for example `SIGXCPU` from the CPU-time limit, or `SIGKILL`).
    Failed(ProcessOutput),
}

impl ProcessError {
    /// The bulkhead limit that ended the run, if one did:
    /// [`Limit::Timeout`] for [`TimedOut`](Self::TimedOut),
    /// [`Limit::CpuTime`] for a child killed by `SIGXCPU`.
    ///
    /// A child that ran out of memory (`memory_limit`) or descriptors
    /// (`max_open_files`) is refused by the kernel and fails in its own way
    /// (usually an error message and a non-zero exit), so its failure is
    /// not attributed to a limit here: look at its status and stderr.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{Limit, ProcessBulkhead};
    /// use std::{process::Command, time::Duration};
    ///
    /// let sh = ProcessBulkhead::builder("scripts").timeout(Duration::from_millis(100)).build()?;
    /// let mut cmd = Command::new("sleep");
    /// cmd.arg("30");
    /// let err = sh.run(cmd).unwrap_err();
    /// assert_eq!(err.limit_hit(), Some(Limit::Timeout));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn limit_hit(&self) -> Option<Limit> {
        match self {
            ProcessError::TimedOut(_) => Some(Limit::Timeout),
            ProcessError::Failed(out) if out.status.signal() == Some(libc::SIGXCPU) => {
                Some(Limit::CpuTime)
            }
            _ => None,
        }
    }

    /// The child's output, when it ran ([`TimedOut`](Self::TimedOut) or
    /// [`Failed`](Self::Failed)).
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::ProcessBulkhead;
    /// use std::process::Command;
    ///
    /// let sh = ProcessBulkhead::builder("scripts").build()?;
    /// let err = sh.run(Command::new("false")).unwrap_err();
    /// assert_eq!(err.output().unwrap().status.code(), Some(1));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn output(&self) -> Option<&ProcessOutput> {
        match self {
            ProcessError::TimedOut(out) | ProcessError::Failed(out) => Some(out),
            _ => None,
        }
    }

    /// The rejection reason, if the bulkhead refused the run.
    ///
    /// # Examples
    ///
    /// ```
    /// use bulkheads::{ProcessBulkhead, RejectReason};
    /// use std::process::Command;
    ///
    /// let closed = ProcessBulkhead::builder("closed").max_concurrent(0).build()?;
    /// let err = closed.run(Command::new("true")).unwrap_err();
    /// assert_eq!(err.reject_reason(), Some(RejectReason::Full));
    /// # Ok::<(), bulkheads::BuildError>(())
    /// ```
    pub fn reject_reason(&self) -> Option<RejectReason> {
        match self {
            ProcessError::Rejected(reason) => Some(*reason),
            _ => None,
        }
    }
}

impl fmt::Display for ProcessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessError::Rejected(reason) => write!(f, "rejected: {reason}"),
            ProcessError::Spawn(e) => {
                write!(f, "{e}; check the program's name, path and permissions")
            }
            ProcessError::TimedOut(out) => write!(
                f,
                "`{}` ran past its timeout and was killed with its process group after {:.3} s ({}); raise the timeout or give it less work",
                out.program,
                out.elapsed.as_secs_f64(),
                out.status
            ),
            ProcessError::Failed(out) => {
                write!(f, "`{}` failed ({})", out.program, out.status)?;
                if self.limit_hit() == Some(Limit::CpuTime) {
                    f.write_str(": it used up its CPU-time limit; raise the limit or give it less work")?;
                }
                Ok(())
            }
        }
    }
}

impl Error for ProcessError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ProcessError::Spawn(e) => Some(e),
            _ => None,
        }
    }
}

/// The system's spawn error with the program's name: kept as the inner
/// error of the [`io::Error`] in [`ProcessError::Spawn`], whose kind is the
/// original's.
#[derive(Debug)]
struct Unstartable {
    program: String,
    source: io::Error,
}

impl fmt::Display for Unstartable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot start `{}`: {}", self.program, self.source)
    }
}

impl Error for Unstartable {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// `source`, re-made to name `program` while keeping its kind; the original
/// (with its OS error code) stays reachable as the source.
pub(crate) fn unstartable(program: &str, source: io::Error) -> io::Error {
    io::Error::new(
        source.kind(),
        Unstartable {
            program: program.to_owned(),
            source,
        },
    )
}
